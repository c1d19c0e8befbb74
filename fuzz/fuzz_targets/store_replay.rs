//! The OTA store's `Store::open` and journal replay over corrupted flash:
//! a store is built by a few real operations (installs, confirms, boots,
//! rollbacks, removals), then fuzzer-chosen bytes are written over its
//! flash (torn writes, bit flips, foreign data) and it is opened again.
//! Besides not panicking: opening gives an error or a state, and a state
//! that opened replays to itself (opening the same flash again gives the
//! same state), also after the operations a boot makes.

#![no_main]

use akira_caps::Version;
use akira_caps::manifest::AppName;
use akira_ota::store::{Allow, BlockingStore, Region, StoreConfig};
use akira_ota::testing::SimFlash;
use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;

const SECTOR: usize = 4096;
const SECTORS: usize = 2 + 3 * 2;
const CONFIG: StoreConfig = StoreConfig { meta_sectors: 2, slots: 3 };
const REGION: Region = Region { offset: 0, size: (SECTORS * SECTOR) as u32 };
const NAMES: [&str; 2] = ["blinky", "logger"];

#[derive(Arbitrary, Debug)]
enum Op {
    Install { app: u8, minor: u8, len: u16 },
    Confirm(u8),
    Boot(u8),
    Rollback(u8),
    Remove(u8),
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    ops: Vec<Op>,
    damage: Vec<(u16, &'a [u8])>,
}

fn name(i: u8) -> AppName {
    AppName::try_from(NAMES[usize::from(i) % NAMES.len()]).unwrap()
}

fn apply(store: &mut BlockingStore<SimFlash>, op: &Op) {
    match *op {
        Op::Install { app, minor, len } => {
            let version = Version::new(1, u16::from(minor), 0);
            let wasm: Vec<u8> = (0..usize::from(len % 6000)).map(|i| i as u8).collect();
            if let Ok(mut staging) = store.begin(&name(app), version, wasm.len() as u32, None, Allow::default()) {
                if store.write(&mut staging, &wasm).is_ok() {
                    let _ = store.commit(staging);
                } else {
                    store.abort(staging);
                }
            }
        }
        Op::Confirm(app) => drop(store.confirm(&name(app))),
        Op::Boot(app) => drop(store.boot(&name(app), 3)),
        Op::Rollback(app) => drop(store.rollback(&name(app))),
        Op::Remove(app) => drop(store.remove(&name(app))),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else { return };
    let mut store =
        BlockingStore::open(SimFlash::<4, 4096>::new(SECTORS), REGION, CONFIG).expect("an erased store opens");
    for op in input.ops.iter().take(16) {
        apply(&mut store, op);
    }
    let mut bytes = store.into_flash().bytes().to_vec();
    for (at, chunk) in &input.damage {
        let at = usize::from(*at) * 8 % bytes.len();
        let n = chunk.len().min(bytes.len() - at);
        bytes[at..at + n].copy_from_slice(&chunk[..n]);
    }
    let Ok(store) = BlockingStore::open(SimFlash::<4, 4096>::from_bytes(bytes), REGION, CONFIG) else { return };
    let state = store.state().clone();
    let mut again = BlockingStore::open(store.into_flash(), REGION, CONFIG).expect("a store that opened opens again");
    assert_eq!(again.state(), &state, "replaying the same journal gives the same state");
    // What a boot does is journalled: the state in memory is what the
    // flash replays to.
    for app in 0..NAMES.len() as u8 {
        let _ = again.boot(&name(app), 3);
    }
    let state = again.state().clone();
    let reopened = BlockingStore::open(again.into_flash(), REGION, CONFIG).expect("a store that opened opens again");
    assert_eq!(reopened.state(), &state, "the state after boots is what the journal replays to");
});
