//! The device session: packages streamed into the store through the
//! protocol, resume, rejections that leave the store unchanged, commands.

#![cfg(feature = "std")]

use akira_caps::manifest::AppName;
use akira_caps::scope::GpioScope;
use akira_caps::{Manifest, Policy, Version};
use akira_ota::command::{ANY_DEVICE, Action, COMMAND_LEN, Command};
use akira_ota::package::{self, Rights, TrustPolicy, TrustedKey};
use akira_ota::protocol::{ErrorCode, Request, Response};
use akira_ota::server::{AcceptAll, Outcome, Session, SessionConfig, Verifier};
use akira_ota::store::{BlockingFlash, BlockingStore, Region, Staging, Store, StoreConfig};
use akira_ota::testing::SimFlash;
use akira_ota::{block_on, protocol::Detail};
use ed25519_dalek::SigningKey;

type Flash = SimFlash;
type AsyncStore = Store<BlockingFlash<Flash>>;

const SECTORS: usize = 2 + 4 * 8;

fn store() -> BlockingStore<Flash> {
    BlockingStore::open(
        SimFlash::new(SECTORS),
        Region { offset: 0, size: (SECTORS * 4096) as u32 },
        StoreConfig { meta_sectors: 2, slots: 4 },
    )
    .unwrap()
}

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn manifest(name: &str, minor: u16, outputs: &[u32]) -> Manifest {
    let mut m = Manifest::new(AppName::try_from(name).unwrap(), Version::new(1, minor, 0));
    m.capabilities.gpio =
        Some(GpioScope::new(Default::default(), outputs.iter().copied().collect(), Default::default()));
    m
}

/// Bytes standing in for a module (the session does not parse wasm; the
/// verifier does).
fn wasm(seed: u8, len: usize) -> Vec<u8> {
    let mut w = b"\0asm\x01\0\0\0".to_vec();
    w.extend((0..len).map(|i| (i as u8).wrapping_mul(31) ^ seed));
    w
}

/// A signer allowed output pins 2 and 3.
fn signer_policy() -> Policy {
    let mut p = Policy::development();
    p.allow.gpio = Some(GpioScope::new(Default::default(), [2, 3].into_iter().collect(), Default::default()));
    p
}

fn id_of(pkg: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(pkg).into()
}

fn ask<V: Verifier<BlockingFlash<Flash>>>(
    session: &mut Session<'_>,
    store: &mut BlockingStore<Flash>,
    verifier: &mut V,
    request: Request<'_>,
) -> (Response, Option<Outcome>) {
    block_on(session.handle(request, 0, store.as_async(), verifier))
}

/// Pushes `pkg` in chunks; returns the last response.
fn push(session: &mut Session<'_>, store: &mut BlockingStore<Flash>, pkg: &[u8]) -> (Response, Option<Outcome>) {
    let (r, _) = ask(session, store, &mut AcceptAll, Request::Begin { size: pkg.len() as u32, id: id_of(pkg) });
    let Response::Resume { offset } = r else { return (r, None) };
    let mut at = offset as usize;
    loop {
        let end = (at + 512).min(pkg.len());
        let (r, outcome) =
            ask(session, store, &mut AcceptAll, Request::Chunk { offset: at as u32, data: &pkg[at..end] });
        match r {
            Response::Ack { next } => at = next as usize,
            other => return (other, outcome),
        }
    }
}

/// A signed command from the release key (key 1) for any device.
struct Signed([u8; COMMAND_LEN]);

impl Signed {
    fn as_request(&self) -> Request<'_> {
        Request::Command { blob: &self.0 }
    }
}

fn command(action: Action, counter: u64) -> Signed {
    Signed(Command { action, device: ANY_DEVICE, counter }.sign(&key(1)))
}

macro_rules! trust {
    ($policy:expr, $keys:ident, $trust:ident) => {
        let policy = $policy;
        let $keys = [TrustedKey {
            name: "release",
            public_key: key(1).verifying_key().to_bytes(),
            policy: &policy,
            rights: Rights::OWNER,
        }];
        let $trust = TrustPolicy { keys: &$keys, ..TrustPolicy::default() };
    };
}

#[test]
fn a_signed_package_installs_and_commands_work() {
    trust!(signer_policy(), keys, trust);
    let mut store = store();
    let mut session = Session::new(&trust, SessionConfig::default());
    let (hello, _) = ask(&mut session, &mut store, &mut AcceptAll, Request::Hello);
    assert!(matches!(hello, Response::Hello { protocol: 2, abi: 1, free_slots: 4, apps: 0, counter: 0, .. }));

    let w1 = wasm(1, 20_000);
    let pkg = package::build(&manifest("led", 1, &[2]), &w1, Some(&key(1)));
    let (r, outcome) = push(&mut session, &mut store, &pkg);
    assert_eq!(r, Response::Installed { name: "led".try_into().unwrap(), version: Version::new(1, 1, 0) });
    let Some(Outcome::Installed { image, .. }) = outcome else { panic!() };
    assert_eq!(image.signer, Some(package::key_id(&key(1).verifying_key().to_bytes())));
    let mut back = vec![0; w1.len()];
    store.read(&image, 0, &mut back).unwrap();
    assert_eq!(back, w1, "the wasm, exactly, is in the slot");

    let (r, _) = ask(&mut session, &mut store, &mut AcceptAll, Request::List);
    let Response::Apps(list) = r else { panic!() };
    assert_eq!((list.len(), list[0].confirmed, list[0].bytes), (1, false, w1.len() as u32));

    let name: AppName = "led".try_into().unwrap();
    let (r, o) = ask(&mut session, &mut store, &mut AcceptAll, command(Action::Confirm(name.clone()), 1).as_request());
    assert_eq!((r, o), (Response::Done, Some(Outcome::Confirmed { name: name.clone() })));
    let (r, _) =
        push(&mut session, &mut store, &package::build(&manifest("led", 2, &[2]), &wasm(2, 300), Some(&key(1))));
    assert!(matches!(r, Response::Installed { .. }));
    let (r, o) = ask(&mut session, &mut store, &mut AcceptAll, command(Action::Rollback(name.clone()), 2).as_request());
    assert_eq!(r, Response::Done);
    assert!(matches!(o, Some(Outcome::RolledBack { image, .. }) if image.version == Version::new(1, 1, 0)));
    let (r, _) = ask(&mut session, &mut store, &mut AcceptAll, command(Action::Rollback(name.clone()), 3).as_request());
    assert!(matches!(r, Response::Error { code: ErrorCode::NothingToRollBack, .. }));
    let (r, _) = ask(&mut session, &mut store, &mut AcceptAll, command(Action::Remove(name.clone()), 4).as_request());
    assert_eq!(r, Response::Done);
    let (r, _) = ask(&mut session, &mut store, &mut AcceptAll, command(Action::Remove(name), 5).as_request());
    assert!(matches!(r, Response::Error { code: ErrorCode::NotFound, .. }));
}

#[test]
fn a_dropped_link_resumes_where_the_device_stopped() {
    trust!(signer_policy(), keys, trust);
    let mut store = store();
    let mut session = Session::new(&trust, SessionConfig::default());
    let pkg = package::build(&manifest("led", 1, &[2]), &wasm(1, 10_000), Some(&key(1)));
    let id = id_of(&pkg);
    let begin = Request::Begin { size: pkg.len() as u32, id };
    assert_eq!(ask(&mut session, &mut store, &mut AcceptAll, begin.clone()).0, Response::Resume { offset: 0 });
    for at in (0..4096).step_by(512) {
        let r = ask(
            &mut session,
            &mut store,
            &mut AcceptAll,
            Request::Chunk { offset: at, data: &pkg[at as usize..at as usize + 512] },
        );
        assert_eq!(r.0, Response::Ack { next: at + 512 });
    }
    // The link drops; the host reconnects and begins again.
    assert_eq!(ask(&mut session, &mut store, &mut AcceptAll, begin).0, Response::Resume { offset: 4096 });
    // A resent chunk is acknowledged, a gap is refused.
    let r = ask(&mut session, &mut store, &mut AcceptAll, Request::Chunk { offset: 3584, data: &pkg[3584..4096] });
    assert_eq!(r.0, Response::Ack { next: 4096 });
    let r = ask(&mut session, &mut store, &mut AcceptAll, Request::Chunk { offset: 5000, data: &pkg[5000..5100] });
    assert!(matches!(r.0, Response::Error { code: ErrorCode::BadOffset, .. }));
    let (r, _) = push(&mut session, &mut store, &pkg);
    assert!(matches!(r, Response::Installed { .. }), "{r:?}");
    // A chunk without a transfer.
    let r = ask(&mut session, &mut store, &mut AcceptAll, Request::Chunk { offset: 0, data: &pkg[..4] });
    assert!(matches!(r.0, Response::Error { code: ErrorCode::NoTransfer, .. }));
}

/// Pushes a bad package over an installed confirmed app and checks the
/// refusal code and that the store's apps and floors are unchanged.
fn refused(pkg: &[u8], trust: &TrustPolicy<'_>, code: ErrorCode) -> String {
    let mut store = store();
    let mut session = Session::new(trust, SessionConfig::default());
    let good = package::build(&manifest("led", 5, &[2]), &wasm(9, 3000), Some(&key(1)));
    assert!(matches!(push(&mut session, &mut store, &good).0, Response::Installed { .. }));
    store.confirm(&"led".try_into().unwrap()).unwrap();
    let before = (store.state().apps.clone(), store.state().floors.clone());
    let (r, outcome) = push(&mut session, &mut store, pkg);
    let Response::Error { code: got, detail } = r else { panic!("accepted: {r:?}") };
    assert_eq!(got, code, "{detail}");
    assert_eq!(outcome, None);
    assert_eq!((store.state().apps.clone(), store.state().floors.clone()), before, "store unchanged");
    let active = store.app("led").unwrap().active.clone();
    assert!(store.verify(&active).unwrap());
    assert_eq!(store.capacity().free_slots, 3, "the staged slot was released");
    detail.to_string()
}

#[test]
fn every_bad_package_is_refused_with_the_store_unchanged() {
    trust!(signer_policy(), keys, trust);
    let good = package::build(&manifest("led", 6, &[2]), &wasm(1, 5000), Some(&key(1)));

    // Truncated: the transfer claims the full size, so cut packages are
    // sent as complete transfers of their shorter length.
    for cut in [10, 31, 32, 100, good.len() / 2, good.len() - 96, good.len() - 1] {
        let pkg = &good[..cut];
        let mut store = store();
        let mut session = Session::new(&trust, SessionConfig::default());
        let (r, _) = push(&mut session, &mut store, pkg);
        assert!(matches!(r, Response::Error { .. }), "cut at {cut}: {r:?}");
        assert!(store.apps().is_empty());
    }
    // A flipped bit anywhere (every 97th byte, all bits of the header).
    let mut positions: Vec<usize> = (0..32).collect();
    positions.extend((32..good.len()).step_by(97));
    positions.push(good.len() - 1);
    for at in positions {
        let mut bad = good.clone();
        bad[at] ^= 0x10;
        let mut store = store();
        let mut session = Session::new(&trust, SessionConfig::default());
        let (r, _) = push(&mut session, &mut store, &bad);
        assert!(matches!(r, Response::Error { .. }), "flip at {at} accepted");
        assert!(store.apps().is_empty());
    }

    // Wrong key claiming a trusted id, and an unknown key.
    // (An attacker signs with their key, claims the trusted key's id and
    // recomputes the digest.)
    let mut forged = package::build(&manifest("led", 6, &[2]), &wasm(1, 500), Some(&key(2)));
    forged[16..24].copy_from_slice(&package::key_id(&key(1).verifying_key().to_bytes()));
    let seal = 32 + u32::from_le_bytes(forged[8..12].try_into().unwrap()) as usize;
    let digest: [u8; 32] = {
        use sha2::{Digest, Sha256};
        Sha256::digest(&forged[..seal + 32]).into()
    };
    use ed25519_dalek::Signer;
    let signature = key(2).sign(&package::signed_message(&digest));
    forged[seal + 32..seal + 96].copy_from_slice(&signature.to_bytes());
    refused(&forged, &trust, ErrorCode::BadSignature);
    let unknown = package::build(&manifest("led", 6, &[2]), &wasm(1, 500), Some(&key(2)));
    let d = refused(&unknown, &trust, ErrorCode::UnknownKey);
    assert!(d.contains("unknown key"), "{d}");
    // Unsigned, without a development policy.
    refused(&package::build(&manifest("led", 6, &[2]), &wasm(1, 500), None), &trust, ErrorCode::Unsigned);
    // Downgrade below the installed 1.5.0.
    let d =
        refused(&package::build(&manifest("led", 4, &[2]), &wasm(1, 500), Some(&key(1))), &trust, ErrorCode::Downgrade);
    assert!(d.contains("anti-rollback"), "{d}");
    // Oversize: larger than a slot.
    let big = package::build(&manifest("led", 6, &[2]), &wasm(1, 8 * 4096 + 1), Some(&key(1)));
    refused(&big, &trust, ErrorCode::TooLarge);
    // Wrong ABI.
    let mut m = manifest("led", 6, &[2]);
    m.abi = 2;
    refused(&package::build(&m, &wasm(1, 500), Some(&key(1))), &trust, ErrorCode::WrongAbi);
    // A capability beyond the signer's policy (pin 7).
    let d = refused(
        &package::build(&manifest("led", 6, &[7]), &wasm(1, 500), Some(&key(1))),
        &trust,
        ErrorCode::NotAllowed,
    );
    assert!(d.contains("output pin 7"), "{d}");
}

#[test]
fn the_verifier_has_the_last_word() {
    struct NoEnv;
    impl Verifier<BlockingFlash<Flash>> for NoEnv {
        async fn verify(
            &mut self,
            store: &mut AsyncStore,
            staging: &mut Staging,
            _: &package::Accepted,
            _: Option<&package::Vouched>,
        ) -> Result<(), Detail> {
            let mut head = [0u8; 8];
            store.read_staged(staging, 0, &mut head).await.map_err(|_| Detail::try_from("read failed").unwrap())?;
            if head.starts_with(b"\0asm") {
                Err(Detail::try_from("import `env.blink`: no bridge module").unwrap())
            } else {
                Ok(())
            }
        }
    }
    trust!(signer_policy(), keys, trust);
    let mut store = store();
    let mut session = Session::new(&trust, SessionConfig::default());
    let pkg = package::build(&manifest("led", 1, &[2]), &wasm(1, 100), Some(&key(1)));
    ask(&mut session, &mut store, &mut NoEnv, Request::Begin { size: pkg.len() as u32, id: id_of(&pkg) });
    let (r, _) = ask(&mut session, &mut store, &mut NoEnv, Request::Chunk { offset: 0, data: &pkg });
    assert_eq!(
        r,
        Response::Error {
            code: ErrorCode::Refused,
            detail: "import `env.blink`: no bridge module".try_into().unwrap()
        }
    );
    assert!(store.apps().is_empty());
    assert_eq!(store.capacity().free_slots, 4);
}

#[test]
fn unsigned_packages_get_only_the_development_policy() {
    let dev = signer_policy();
    let trust = TrustPolicy { unsigned: Some(&dev), ..TrustPolicy::default() };
    let mut store = store();
    let mut session = Session::new(&trust, SessionConfig::default());
    let (r, _) = push(&mut session, &mut store, &package::build(&manifest("led", 1, &[3]), &wasm(1, 100), None));
    assert!(matches!(r, Response::Installed { .. }), "{r:?}");
    assert_eq!(store.app("led").unwrap().active.signer, None);
    let (r, _) = push(&mut session, &mut store, &package::build(&manifest("led", 2, &[9]), &wasm(1, 100), None));
    assert!(matches!(r, Response::Error { code: ErrorCode::NotAllowed, .. }), "{r:?}");
}

/// A byte stream: scripted input, collected output, reads in small pieces
/// as a UART delivers them.
struct Duplex<'a> {
    input: &'a [u8],
    output: Vec<u8>,
}

impl embedded_io::ErrorType for Duplex<'_> {
    type Error = core::convert::Infallible;
}

impl embedded_io::Read for Duplex<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = buf.len().min(self.input.len()).min(37);
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input = &self.input[n..];
        Ok(n)
    }
}

impl embedded_io::Write for Duplex<'_> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

impl embedded_io_async::Read for Duplex<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        embedded_io::Read::read(self, buf)
    }
}

impl embedded_io_async::Write for Duplex<'_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        embedded_io::Write::write(self, buf)
    }
    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// The frames of a whole push plus a List, as a host would send them,
/// with a garbled frame in the middle.
fn script(pkg: &[u8]) -> Vec<u8> {
    use akira_ota::frame::{MAX_FRAME, encode};
    let mut out = Vec::new();
    let put = |out: &mut Vec<u8>, r: &Request<'_>| {
        let mut buf = [0u8; MAX_FRAME];
        let n = encode(r, &mut buf).unwrap();
        out.extend_from_slice(&buf[..n]);
    };
    put(&mut out, &Request::Hello);
    put(&mut out, &Request::Begin { size: pkg.len() as u32, id: id_of(pkg) });
    for (i, chunk) in pkg.chunks(512).enumerate() {
        put(&mut out, &Request::Chunk { offset: (i * 512) as u32, data: chunk });
    }
    out.extend_from_slice(b"\x05garbage\x00");
    put(&mut out, &Request::List);
    out
}

fn responses(bytes: &mut [u8]) -> Vec<Response> {
    bytes
        .split_mut(|b| *b == 0)
        .filter(|f| !f.is_empty())
        .map(|f| akira_ota::frame::decode::<Response>(f).unwrap())
        .collect()
}

#[test]
fn serve_loops_run_the_protocol_over_a_byte_stream() {
    trust!(signer_policy(), keys, trust);
    let pkg = package::build(&manifest("led", 1, &[2]), &wasm(1, 3000), Some(&key(1)));
    let input = script(&pkg);
    for asynchronous in [false, true] {
        let mut store = store();
        let mut session = Session::new(&trust, SessionConfig::default());
        let mut io = Duplex { input: &input, output: Vec::new() };
        let mut outcomes = Vec::new();
        let result = if asynchronous {
            block_on(akira_ota::server::serve_async(
                &mut io,
                &mut session,
                store.as_async(),
                &mut AcceptAll,
                || 0,
                |o| outcomes.push(o),
            ))
        } else {
            akira_ota::server::serve(
                &mut io,
                &mut session,
                store.as_async(),
                &mut AcceptAll,
                || 0,
                |o| outcomes.push(o),
            )
        };
        assert!(result.is_ok(), "the stream closed cleanly");
        let answers = responses(&mut io.output);
        assert!(matches!(answers[0], Response::Hello { .. }));
        assert!(answers.iter().any(|r| matches!(r, Response::Installed { .. })));
        assert!(
            answers.iter().any(|r| matches!(r, Response::Error { code: ErrorCode::BadFrame, .. })),
            "garbage answered"
        );
        assert!(matches!(answers.last(), Some(Response::Apps(list)) if list.len() == 1), "and the loop went on");
        assert!(matches!(outcomes.as_slice(), [Outcome::Installed { .. }]));
        assert_eq!(store.apps().len(), 1);
    }
}
