//! The device loop's test helpers: apps in text format, a store on
//! simulated flash, a host pushing a package frame by frame, virtual time.
#![allow(dead_code)]

use std::time::Duration;

use akira_bridge::Board;
use akira_caps::Policy;
use akira_device::{Device, DeviceConfig};
use akira_ota::block_on;
use akira_ota::frame::{self, MAX_FRAME};
use akira_ota::package::TrustPolicy;
use akira_ota::protocol::{Request, Response};
use akira_ota::store::{BlockingFlash, Region, Store, StoreConfig};
use akira_ota::testing::SimFlash;
use akira_sim::SimBoard;

/// Blinks pin 2 every 100 ms forever.
pub const BLINK: &str = r#"(module
    (import "akira:gpio" "toggle" (func $toggle (param i32) (result i32)))
    (import "akira:timer" "sleep_us" (func $sleep (param i64) (result i32)))
    (func (export "akira_main") (loop $l (drop (call $toggle (i32.const 2))) (drop (call $sleep (i64.const 100000))) (br $l))))"#;
/// Traps at once.
pub const CRASH: &str = r#"(module (import "akira:timer" "sleep_us" (func (param i64) (result i32))) (func (export "akira_main") unreachable))"#;

pub const SECTORS: usize = 2 + 4 * 4;

pub type Dev<'t> = Device<'t, SimBoard, BlockingFlash<SimFlash>>;

pub fn frames(requests: &[Request<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in requests {
        let mut buf = [0u8; MAX_FRAME];
        let n = frame::encode(r, &mut buf).unwrap();
        out.extend_from_slice(&buf[..n]);
    }
    out
}

/// Sends `pkg` as the host would and returns the device's last answer.
pub fn push(device: &mut Dev<'_>, pkg: &[u8], log: &mut Vec<String>) -> Response {
    let mut requests = vec![Request::Begin { size: pkg.len() as u32, id: [7; 32] }];
    for (i, chunk) in pkg.chunks(512).enumerate() {
        requests.push(Request::Chunk { offset: (i * 512) as u32, data: chunk });
    }
    let bytes = frames(&requests);
    let mut data = bytes.as_slice();
    let mut last = None;
    while !data.is_empty() {
        let (used, reply) = block_on(device.receive(data, |n| log.push(format!("{n:?}"))));
        data = &data[used..];
        if let Some(mut frame) = reply {
            let len = frame.len() - 1; // without the delimiter
            last = Some(frame::decode::<Response>(&mut frame[..len]).unwrap());
        }
    }
    last.unwrap()
}

/// Runs the device for `d` of virtual time.
pub fn run_for(device: &mut Dev<'_>, board: &SimBoard, d: Duration, log: &mut Vec<String>) {
    let end = board.now().saturating_add(d);
    while board.now() < end {
        let round = block_on(device.round(board.now(), |n| log.push(format!("{n:?}"))));
        if !round.busy {
            board.advance_to(round.next_wake.map_or(end, |w| w.min(end)));
        }
    }
}

pub fn open_store(flash: SimFlash) -> Store<BlockingFlash<SimFlash>> {
    block_on(Store::open(
        BlockingFlash(flash),
        Region { offset: 0, size: (SECTORS * 4096) as u32 },
        StoreConfig { meta_sectors: 2, slots: 4 },
    ))
    .unwrap()
}

/// Boots a device on `flash` with the simulated board's runtime under
/// `policy`, logging its notes into `log`.
pub fn boot<'t>(
    flash: SimFlash,
    policy: &Policy,
    board: &SimBoard,
    trust: &'t TrustPolicy<'t>,
    config: DeviceConfig,
    log: &mut Vec<String>,
) -> Dev<'t> {
    let runtime = akira_sim::runtime(policy.clone());
    block_on(Device::new(open_store(flash), runtime, board.clone(), trust, config, |n| log.push(format!("{n:?}"))))
}
