//! The OTA session and the store's state machine, driven by an untrusted
//! link: fuzzer-chosen requests (raw frames decoded as requests, or
//! structured: hello, list, begin, chunks of three real packages at
//! fuzzer-chosen offsets and lengths, some with a flipped bit, aborts,
//! signed and unsigned management commands, reboots, time passing).
//! Besides not panicking: an app the session reports installed holds
//! exactly its package's wasm (a tampered chunk never reaches an
//! installed image), and the flash always replays to the store's state in
//! memory.

#![no_main]

use std::sync::OnceLock;

use akira_caps::manifest::AppName;
use akira_caps::{Manifest, Policy, Version};
use akira_ota::block_on;
use akira_ota::command::{ANY_DEVICE, Action, Command};
use akira_ota::package::{self, Rights, TrustPolicy, TrustedKey};
use akira_ota::protocol::{Request, Response};
use akira_ota::server::{AcceptAll, Session, SessionConfig};
use akira_ota::store::{BlockingStore, Region, StoreConfig};
use akira_ota::testing::SimFlash;
use arbitrary::{Arbitrary, Unstructured};
use ed25519_dalek::SigningKey;
use libfuzzer_sys::fuzz_target;

const SECTORS: usize = 2 + 3 * 2;
const CONFIG: StoreConfig = StoreConfig { meta_sectors: 2, slots: 3 };
const REGION: Region = Region { offset: 0, size: (SECTORS * 4096) as u32 };
const NAMES: [&str; 2] = ["blinky", "logger"];

type Flash = SimFlash<4, 4096>;

struct Package {
    name: &'static str,
    version: Version,
    wasm: Vec<u8>,
    bytes: Vec<u8>,
    id: [u8; 32],
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

/// Signed blinky 1.1 and 1.2 (3 000 and 5 000 bytes), unsigned logger 1.0.
fn packages() -> &'static [Package] {
    static PACKAGES: OnceLock<Vec<Package>> = OnceLock::new();
    PACKAGES.get_or_init(|| {
        [("blinky", 1, 3000, true), ("blinky", 2, 5000, true), ("logger", 0, 1500, false)]
            .into_iter()
            .map(|(name, minor, len, signed)| {
                let version = Version::new(1, minor, 0);
                let manifest = Manifest::new(AppName::try_from(name).unwrap(), version);
                let mut wasm = b"\0asm\x01\0\0\0".to_vec();
                wasm.extend((0..len).map(|i| (i as u8).wrapping_mul(31) ^ minor as u8));
                let bytes = package::build(&manifest, &wasm, signed.then(key).as_ref());
                use sha2::{Digest, Sha256};
                let id = Sha256::digest(&bytes).into();
                Package { name, version, wasm, bytes, id }
            })
            .collect()
    })
}

#[derive(Arbitrary, Debug)]
enum Op<'a> {
    Raw(&'a [u8]),
    Hello,
    List,
    Abort,
    Begin(u8),
    /// Package bytes from where the device asked (minus `back`), `len`
    /// of them, with byte `flip` changed if it is inside.
    Chunk {
        package: u8,
        back: u16,
        len: u16,
        flip: Option<u16>,
    },
    Command {
        action: u8,
        app: u8,
        counter: u8,
        signed: bool,
    },
    Reboot,
    Wait(u16),
}

fn name(i: u8) -> AppName {
    AppName::try_from(NAMES[usize::from(i) % NAMES.len()]).unwrap()
}

fn policy() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(Policy::development)
}

fn check_replay(store: BlockingStore<Flash>) -> BlockingStore<Flash> {
    let state = store.state().clone();
    let store = BlockingStore::open(store.into_flash(), REGION, CONFIG).expect("a store that opened opens again");
    assert_eq!(store.state(), &state, "the flash replays to the state in memory");
    store
}

fuzz_target!(|data: &[u8]| {
    let Ok(ops) = Vec::<Op<'_>>::arbitrary_take_rest(Unstructured::new(data)) else { return };
    let keys = [TrustedKey {
        name: "fuzz",
        public_key: key().verifying_key().to_bytes(),
        policy: policy(),
        rights: Rights::ALL,
    }];
    let trust = TrustPolicy { keys: &keys, unsigned: Some(policy()), ..TrustPolicy::default() };
    let mut store = BlockingStore::open(Flash::new(SECTORS), REGION, CONFIG).expect("an erased store opens");
    let mut session = Session::new(&trust, SessionConfig::default());
    let mut now_ms = 0u64;
    let mut chunk = Vec::new();
    let mut blob: [u8; akira_ota::command::COMMAND_LEN];
    for op in ops.iter().take(64) {
        let request = match op {
            Op::Raw(bytes) => match postcard::from_bytes::<Request<'_>>(bytes) {
                Ok(r) => r,
                Err(_) => continue,
            },
            Op::Hello => Request::Hello,
            Op::List => Request::List,
            Op::Abort => Request::Abort,
            Op::Begin(p) => {
                let p = &packages()[usize::from(*p) % packages().len()];
                Request::Begin { size: p.bytes.len() as u32, id: p.id }
            }
            Op::Chunk { package, back, len, flip } => {
                let p = &packages()[usize::from(*package) % packages().len()];
                let at = session.transfer_progress().map_or(0, |(received, _)| received as usize);
                let at = at.saturating_sub(usize::from(*back)).min(p.bytes.len());
                let end = (at + usize::from(*len % 600)).min(p.bytes.len());
                chunk.clear();
                chunk.extend_from_slice(&p.bytes[at..end]);
                if let Some(i) = flip.map(usize::from).filter(|i| *i < chunk.len()) {
                    chunk[i] ^= 0x40;
                }
                Request::Chunk { offset: at as u32, data: &chunk }
            }
            Op::Command { action, app, counter, signed } => {
                let action = match action % 5 {
                    0 => Action::List,
                    1 => Action::Remove(name(*app)),
                    2 => Action::Rollback(name(*app)),
                    3 => Action::Confirm(name(*app)),
                    _ => Action::AllowDowngrade(name(*app), Version::new(1, 1, 0)),
                };
                let command = Command { action, device: ANY_DEVICE, counter: u64::from(*counter) };
                blob = command.sign(&if *signed { key() } else { SigningKey::from_bytes(&[9; 32]) });
                Request::Command { blob: &blob }
            }
            Op::Reboot => {
                store = check_replay(store);
                session = Session::new(&trust, SessionConfig::default());
                continue;
            }
            Op::Wait(ms) => {
                now_ms += u64::from(*ms) * 100;
                continue;
            }
        };
        let (response, _) = block_on(session.handle(request, now_ms, store.as_async(), &mut AcceptAll));
        if let Response::Installed { name, version } = response {
            let p = packages().iter().find(|p| p.name == name.as_str() && p.version == version);
            let p = p.expect("an installed app is one of the packages");
            let image = store.app(name.as_str()).expect("an installed app is in the store").active.clone();
            let mut back = vec![0; image.len as usize];
            store.read(&image, 0, &mut back).expect("an installed image reads");
            assert_eq!(back, p.wasm, "an installed app holds exactly its package's wasm");
        }
    }
    check_replay(store);
});
