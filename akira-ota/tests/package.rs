//! The `.akpkg` format 2: building, streaming verification chunk by chunk,
//! what the reader hands out when bytes are missing or flipped.
//! (Refusals: `package_refusals.rs`; format 1: `package_v1.rs`.)
#![cfg(feature = "alloc")]

mod pkg_fixture;

use akira_caps::ABI_VERSION;
use akira_ota::package::{
    DIGEST_LEN, HEADER_LEN, Header, MAGIC, PackageError, PackageReader, Rights, SEAL_LEN, TrustPolicy, TrustedKey,
    build, build_chunked,
};
use pkg_fixture::*;
use proptest::prelude::*;
use sha2::{Digest, Sha256};

// ------------------------------------------------------------- round trip

#[test]
fn round_trip_signed_and_unsigned() {
    let w = World::new();
    let keys = w.keys();
    let trust = w.trust(&keys, Some(&w.dev));
    let signed = package(&manifest(), Some(&w.a));
    let unsigned = package(&manifest(), None);
    // Five chunks, four links between them.
    let m = manifest().encode().len();
    assert_eq!(signed.len(), HEADER_LEN + m + SEAL_LEN + wasm().len() + 4 * DIGEST_LEN);

    for (pkg, signer) in [(&signed, Some(id_of(&w.a))), (&unsigned, None)] {
        // One slice.
        let out = run(pkg, &trust, 4096);
        assert_verified(&out, pkg, signer);
        assert_eq!(out.wasm_events, 5, "one event per chunk");
        // Byte by byte.
        assert_verified(&drive(&mut PackageReader::new(&trust, 4096), pkg.chunks(1)), pkg, signer);
        // Irregular pieces, straddling every boundary.
        for sizes in [&[3, 7, 1][..], &[31, 2, 64], &[33], &[100, 1], &[95, 97]] {
            assert_verified(&drive(&mut PackageReader::new(&trust, 4096), chunks(pkg, sizes)), pkg, signer);
        }
    }
}

#[test]
fn every_chunk_size_round_trips() {
    let w = World::new();
    let keys = w.keys();
    let trust = w.trust(&keys, None);
    for log2 in 6..=10 {
        // Lengths around the chunk boundaries, and the default build.
        let chunk = 1usize << log2;
        for len in [8, chunk - 1, chunk, chunk + 1, 3 * chunk, 3 * chunk + 5] {
            let module: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let pkg = build_chunked(&manifest(), &module, Some(&w.a), log2);
            let header = Header::parse(pkg[..HEADER_LEN].try_into().unwrap()).unwrap();
            assert_eq!((header.chunk_log2, header.chunks() as usize), (log2, len.div_ceil(chunk)));
            let out = run(&pkg, &trust, 1 << 20);
            assert_eq!((out.error, out.wasm), (None, module), "chunk {chunk}, {len} bytes");
        }
    }
    let pkg = build(&manifest(), &wasm(), Some(&w.a));
    assert_eq!(pkg[24], 10, "1 KiB chunks by default");
    assert_verified(&run(&pkg, &trust, 4096), &pkg, Some(id_of(&w.a)));
}

#[test]
fn header_round_trip() {
    let pkg = package(&manifest(), Some(&key(1)));
    let header = Header::parse(pkg[..HEADER_LEN].try_into().unwrap()).unwrap();
    assert!(header.is_signed());
    assert_eq!((header.format, header.chunk_log2), (2, LOG2));
    assert_eq!(header.key_id, Some(id_of(&key(1))));
    assert_eq!(header.abi, ABI_VERSION);
    assert_eq!(header.wasm_len as usize, wasm().len());
    assert_eq!(header.to_bytes()[..], pkg[..HEADER_LEN]);
    assert_eq!(&pkg[..4], &MAGIC);
}

#[test]
fn key_id_is_a_sha256_prefix() {
    let k = key(9);
    let hash = Sha256::digest(public(&k));
    assert_eq!(id_of(&k)[..], hash[..8]);
    let w = World::new();
    let keys = w.keys();
    let trust = w.trust(&keys, None);
    assert_eq!(trust.find(&id_of(&w.b)).map(|k| k.name), Some("ci"));
    assert!(trust.find(&id_of(&w.stranger)).is_none());
    assert_eq!(trust.rights(Some(&id_of(&w.b))), Rights::INSTALL);
    assert_eq!(trust.rights(Some(&id_of(&w.stranger))), Rights::NONE);
    assert_eq!(trust.rights(None), Rights::NONE, "unsigned: nothing without a development policy");
}

#[test]
fn a_checkpoint_resumes() {
    let w = World::new();
    let keys = w.keys();
    let trust = w.trust(&keys, None);
    let pkg = package(&manifest(), Some(&w.a));
    for cut in [10, HEADER_LEN + 5, seal_at(&pkg) + 40, pkg.len() - 50, pkg.len() - 1] {
        let mut reader = PackageReader::new(&trust, 4096);
        let first = drive(&mut reader, [&pkg[..cut]]);
        assert!(first.error == Some(PackageError::Truncated { received: cut as u64 }));
        let mut resumed = reader.clone();
        let rest = drive_from(&mut resumed, [&pkg[cut..]], first);
        assert_verified(&rest, &pkg, Some(id_of(&w.a)));
        // The original reader is untouched by its clone's progress.
        assert_eq!(reader.position(), cut as u64);
        assert!(!reader.is_done());
    }
}

#[test]
fn truncated_at_every_length() {
    let w = World::new();
    let keys = w.keys();
    let trust = w.trust(&keys, Some(&w.dev));
    for pkg in [package(&manifest(), Some(&w.a)), package(&manifest(), None)] {
        for cut in 0..pkg.len() {
            for out in
                [run(&pkg[..cut], &trust, 4096), drive(&mut PackageReader::new(&trust, 4096), pkg[..cut].chunks(1))]
            {
                assert!(out.verified.is_none(), "verified when cut at {cut}");
                assert_eq!(out.error, Some(PackageError::Truncated { received: cut as u64 }), "cut at {cut}");
                assert_eq!(out.wasm[..], wasm()[..out.wasm.len()], "only whole verified chunks");
            }
        }
    }
}

/// The property format 2 exists for: whatever bit is flipped, the reader
/// hands out only bytes of the signed module, in order, and refuses the
/// package at the chunk (or before the first chunk) that holds the flip.
#[test]
fn every_flipped_bit_is_caught_before_its_chunk_is_handed_out() {
    let w = World::new();
    let keys = w.keys();
    let with_dev = w.trust(&keys, Some(&w.dev));
    for pkg in [package(&manifest(), Some(&w.a)), package(&manifest(), None)] {
        let body = seal_at(&pkg) + SEAL_LEN;
        for i in 0..pkg.len() {
            // Every bit of the header, one bit per byte elsewhere.
            let bits = if i < HEADER_LEN { 0..8 } else { i % 8..i % 8 + 1 };
            for bit in bits {
                let mut bad = pkg.clone();
                bad[i] ^= 1 << bit;
                let out = run(&bad, &with_dev, 4096);
                assert!(out.verified.is_none(), "verified with byte {i} bit {bit} flipped");
                assert!(out.error.is_some(), "no error with byte {i} bit {bit} flipped");
                assert_eq!(out.wasm[..], wasm()[..out.wasm.len()], "byte {i} bit {bit}: a corrupt byte was handed out");
                if i < body {
                    assert_eq!(out.wasm_events, 0, "byte {i} bit {bit}: {:?}", out.error);
                } else {
                    // Chunk k starts at body + k * (64 + 32).
                    let k = ((i - body) / 96) as u32;
                    assert_eq!(out.error, Some(PackageError::BadChunk { index: k }), "byte {i} bit {bit}");
                    assert_eq!(out.wasm_events, k as usize);
                }
            }
        }
    }
}

#[test]
fn a_body_from_another_package_is_refused_at_its_first_chunk() {
    let w = World::new();
    let keys = w.keys();
    let trust = w.trust(&keys, None);
    let pkg = package(&manifest(), Some(&w.a));
    let mut other_wasm = wasm();
    other_wasm[100] ^= 1;
    let other = build_chunked(&manifest(), &other_wasm, Some(&w.a), LOG2);
    let body = seal_at(&pkg) + SEAL_LEN;
    let mut spliced = pkg[..body].to_vec();
    spliced.extend_from_slice(&other[body..]);
    let out = run(&spliced, &trust, 4096);
    // Chunk 0 is the same in both; chunk 1 differs and so does its link.
    assert_eq!(out.error, Some(PackageError::BadChunk { index: 0 }));
    assert_eq!(out.wasm_events, 0);
}

#[cfg(feature = "std")]
#[test]
fn generated_keys_sign_packages() {
    let a = akira_ota::package::generate_signing_key().unwrap();
    let b = akira_ota::package::generate_signing_key().unwrap();
    assert_ne!(a.to_bytes(), b.to_bytes());
    let policy = signer_policy();
    let keys = [TrustedKey { name: "fresh", public_key: public(&a), policy: &policy, rights: Rights::INSTALL }];
    let trust = TrustPolicy { keys: &keys, ..TrustPolicy::default() };
    let pkg = package(&manifest(), Some(&a));
    assert_verified(&run(&pkg, &trust, 4096), &pkg, Some(id_of(&a)));
}

#[test]
fn rights_parse_and_print() {
    assert_eq!(Rights::parse("install, remove"), Ok(Rights::INSTALL | Rights::REMOVE));
    assert_eq!(Rights::parse("owner"), Ok(Rights::OWNER));
    assert!(Rights::parse("all").unwrap().contains(Rights::SKIP_VALIDATION | Rights::TAKE_OVER));
    assert_eq!(Rights::parse("install,fly"), Err("fly"));
    assert_eq!((Rights::INSTALL | Rights::SKIP_VALIDATION).to_string(), "install,skip-validation");
    assert_eq!(Rights::NONE.to_string(), "none");
    assert!(!Rights::OWNER.contains(Rights::SKIP_VALIDATION) && !Rights::OWNER.contains(Rights::TAKE_OVER));
    assert_eq!(Rights::from_bits(Rights::ALL.bits()), Some(Rights::ALL));
    assert_eq!(Rights::from_bits(1 << 9), Some(Rights::NATIVE_CODE));
    assert_eq!(Rights::parse("install,native-code"), Ok(Rights::INSTALL | Rights::NATIVE_CODE));
    assert!(!Rights::OWNER.contains(Rights::NATIVE_CODE), "native code is given explicitly");
    assert_eq!(Rights::from_bits(1 << 10), None, "bits 10-15 are unknown");
}

// ------------------------------------------------------------- properties

fn sizes() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..200, 1..20)
}

proptest! {
    #[test]
    fn any_chunking_round_trips(sizes in sizes(), signed in any::<bool>()) {
        let w = World::new();
        let keys = w.keys();
        let trust = w.trust(&keys, Some(&w.dev));
        let signer = signed.then_some(&w.a);
        let pkg = package(&manifest(), signer);
        let out = drive(&mut PackageReader::new(&trust, 4096), chunks(&pkg, &sizes));
        assert_verified(&out, &pkg, signer.map(id_of));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600), sizes in sizes()) {
        let w = World::new();
        let keys = w.keys();
        let trust = w.trust(&keys, Some(&w.dev));
        let out = drive(&mut PackageReader::new(&trust, u32::MAX), chunks(&bytes, &sizes));
        prop_assert!(out.verified.is_none());
    }

    #[test]
    fn arbitrary_header_then_bytes_never_panic(
        header in prop::array::uniform32(any::<u8>()),
        tail in prop::collection::vec(any::<u8>(), 0..300),
        format in 1u8..=2,
    ) {
        // A header with valid magic and version, the rest arbitrary, so the
        // reader gets past the first check.
        let w = World::new();
        let keys = w.keys();
        let trust = TrustPolicy { accept_v1: true, ..w.trust(&keys, Some(&w.dev)) };
        let mut bytes = header.to_vec();
        bytes[..4].copy_from_slice(&MAGIC);
        bytes[4] = format;
        bytes.extend(tail);
        let out = run(&bytes, &trust, u32::MAX);
        prop_assert!(out.verified.is_none());
    }

    #[test]
    fn mutated_packages_verify_only_when_unchanged(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let w = World::new();
        let keys = w.keys();
        let trust = w.trust(&keys, Some(&w.dev));
        let pkg = package(&manifest(), Some(&w.a));
        let mut bad = pkg.clone();
        for (at, value) in edits {
            bad[at.index(pkg.len())] = value;
        }
        if truncate {
            bad.truncate(cut.index(pkg.len()));
        }
        let out = run(&bad, &trust, 4096);
        prop_assert_eq!(&out.wasm[..], &wasm()[..out.wasm.len()]);
        if out.verified.is_some() {
            prop_assert_eq!(&bad, &pkg);
        } else {
            prop_assert!(out.error.is_some());
        }
    }
}

#[test]
fn public_keys_parse_from_hex_at_compile_time() {
    const KEY: [u8; 32] =
        akira_ota::package::public_key_from_hex("  00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\n");
    assert_eq!(KEY[0], 0x00);
    assert_eq!(KEY[1], 0x11);
    assert_eq!(KEY[15], 0xff);
    assert_eq!(KEY[31], 0xff);
}

/// A module carrying `blob` in an `akira.aot` custom section, as
/// `akira_aot_build::embed` writes it.
fn wasm_with_native_code(blob: &[u8]) -> Vec<u8> {
    let mut wasm = wat::parse_str(r#"(module (func (export "f") (result i32) (i32.const 7)))"#).unwrap();
    let name = akira_aot::format::SECTION_NAME.as_bytes();
    let len = 1 + name.len() + blob.len();
    wasm.push(0);
    wasm.extend([(len & 0x7f) as u8 | 0x80, (len >> 7) as u8]);
    wasm.push(name.len() as u8);
    wasm.extend_from_slice(name);
    wasm.extend_from_slice(blob);
    wasm
}

#[test]
fn native_code_arrives_through_the_chain_and_only_its_right_may_run_it() {
    let w = World::new();
    let blob: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
    let wasm = wasm_with_native_code(&blob);
    let pkg = akira_ota::package::build_chunked(&manifest(), &wasm, Some(&w.a), LOG2);
    let owner = [TrustedKey { name: "release", public_key: public(&w.a), policy: &w.policy, rights: Rights::OWNER }];
    let native = [TrustedKey {
        name: "release",
        public_key: public(&w.a),
        policy: &w.policy,
        rights: Rights::OWNER | Rights::NATIVE_CODE,
    }];
    for (keys, may_run) in [(&owner, false), (&native, true)] {
        let out = run(&pkg, &w.trust(keys, None), 1 << 16);
        assert!(out.error.is_none(), "{:?}", out.error);
        // The blob is in the verified wasm, byte for byte.
        assert_eq!(out.wasm, wasm);
        assert_eq!(akira_aot::format::find_in_wasm(&out.wasm), Ok(Some(&blob[..])));
        let rights = out.accepted.unwrap().rights;
        assert_eq!(rights.contains(Rights::NATIVE_CODE), may_run);
    }
    // One byte of the blob altered in transit: the chunk is refused before
    // anything of it is handed out.
    let mut tampered = pkg.clone();
    let at = tampered.len() - 10;
    tampered[at] ^= 1;
    let out = run(&tampered, &w.trust(&native, None), 1 << 16);
    assert!(out.error.is_some());
    assert!(out.wasm.len() < wasm.len(), "the altered chunk was not handed out");
}
