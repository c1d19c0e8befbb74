//! The key-value store (`FlashKv`, sequential-storage's map) over
//! arbitrary flash contents, then arbitrary operations from a few apps.
//! Besides not panicking: opening either fails with an error or gives a
//! store whose reads answer; a value set is read back exactly until it is
//! removed or overwritten, a removed key reads as absent, and a set never
//! takes an app's usage past its quota. (That the quotas fit the store's
//! capacity is checked when apps are installed, not here.)

#![no_main]

use std::collections::BTreeMap;

use akira_bridge::{FlashKv, KvStore};
use akira_ota::testing::SimFlash;
use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;

const SECTOR: usize = 4096;
const APPS: [&str; 3] = ["blinky", "logger", "a"];

#[derive(Arbitrary, Debug)]
enum Op<'a> {
    Set { app: u8, key: &'a [u8], value: &'a [u8], quota: u16 },
    Get { app: u8, key: &'a [u8] },
    Remove { app: u8, key: &'a [u8] },
    Reopen,
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    sectors: u8,
    /// Written over the start of the erased region: a torn or foreign
    /// image, or half a store.
    image: Vec<(u16, &'a [u8])>,
    ops: Vec<Op<'a>>,
}

fn open(flash: SimFlash, size: u32) -> Option<FlashKv<SimFlash>> {
    FlashKv::new(flash, 0..size).ok()
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else { return };
    let sectors = usize::from(input.sectors % 4) + 2;
    let size = sectors * SECTOR;
    let mut bytes = vec![0xFF; size];
    for (at, chunk) in input.image {
        let at = usize::from(at) * 4 % size;
        let n = chunk.len().min(size - at);
        bytes[at..at + n].copy_from_slice(&chunk[..n]);
    }
    let Some(mut kv) = open(SimFlash::<4, 4096>::from_bytes(bytes), size as u32) else { return };
    // What this run wrote, as it must read back.
    let mut model: BTreeMap<(&str, &[u8]), Option<&[u8]>> = BTreeMap::new();
    let mut buf = [0u8; 512];
    for op in input.ops {
        match op {
            Op::Set { app, key, value, quota } => {
                let app = APPS[usize::from(app) % APPS.len()];
                let before = kv.used(app);
                match kv.set(app, key, value, u32::from(quota)) {
                    Ok(()) => {
                        model.insert((app, key), Some(value));
                        // A set never takes an app past its quota (one
                        // that shrinks it is let through).
                        if let (Ok(before), Ok(after)) = (before, kv.used(app)) {
                            assert!(
                                after <= before.max(u32::from(quota)),
                                "{app}: {before} -> {after} bytes, quota {quota}"
                            );
                        }
                    }
                    // A failed set leaves the old value or, for a flash
                    // failure, an unknown one.
                    Err(_) => {
                        model.remove(&(app, key));
                    }
                }
            }
            Op::Get { app, key } => {
                let app = APPS[usize::from(app) % APPS.len()];
                let got = kv.get(app, key, &mut buf);
                if let Some(expected) = model.get(&(app, key)) {
                    match (expected, got) {
                        (Some(v), Ok(Some(n))) if v.len() <= buf.len() => {
                            assert_eq!(&buf[..n], *v, "a value set reads back")
                        }
                        (None, Ok(found)) => assert_eq!(found, None, "a removed key reads as absent"),
                        _ => {}
                    }
                }
            }
            Op::Remove { app, key } => {
                let app = APPS[usize::from(app) % APPS.len()];
                match kv.remove(app, key) {
                    Ok(_) => {
                        model.insert((app, key), None);
                    }
                    Err(_) => {
                        model.remove(&(app, key));
                    }
                }
            }
            Op::Reopen => match open(kv.into_flash(), size as u32) {
                Some(k) => kv = k,
                None => panic!("a store this run opened does not open again"),
            },
        }
    }
});
