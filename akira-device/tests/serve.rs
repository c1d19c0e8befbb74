//! `Device::serve`, the receive-and-run loop, over a scripted link on the
//! simulated board with virtual time: a package pushed through it is
//! installed and runs while the loop idles; the loop ends with the link,
//! and a failed link leaves no half frame behind.

use std::collections::VecDeque;
use std::time::Duration;

use akira_bridge::{Board, Instant};
use akira_caps::manifest::AppName;
use akira_caps::scope::GpioScope;
use akira_caps::{Manifest, Policy, Version};
use akira_device::{Device, DeviceConfig};
use akira_ota::block_on;
use akira_ota::frame;
use akira_ota::package::{self, Rights, TrustPolicy, TrustedKey};
use akira_ota::protocol::{Request, Response};
use akira_ota::store::{BlockingFlash, Region, Store, StoreConfig};
use akira_ota::testing::SimFlash;
use akira_sim::{SimBoard, What};
use ed25519_dalek::SigningKey;

mod common;
use common::frames;

const SECTORS: usize = 2 + 2 * 4;

type Dev<'t> = Device<'t, SimBoard, BlockingFlash<SimFlash>>;

/// What the link does at each `read`.
enum Step {
    /// These bytes arrive (in reads of at most the caller's buffer).
    Bytes(Vec<u8>),
    /// Nothing arrives: the read waits until the device's idle wait ends
    /// first and drops it.
    Quiet,
    /// The read fails.
    Fail,
}

#[derive(Debug, PartialEq)]
struct LinkError;

impl core::fmt::Display for LinkError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("the link failed")
    }
}

impl core::error::Error for LinkError {}

impl embedded_io_async::Error for LinkError {
    fn kind(&self) -> embedded_io_async::ErrorKind {
        embedded_io_async::ErrorKind::Other
    }
}

/// A link that plays `script`, then ends (reads 0), and keeps what the
/// device writes.
struct Link {
    script: VecDeque<Step>,
    written: Vec<u8>,
    fail_writes: bool,
}

impl Link {
    fn new(script: impl IntoIterator<Item = Step>) -> Link {
        Link { script: script.into_iter().collect(), written: Vec::new(), fail_writes: false }
    }

    /// The responses the device wrote, decoded.
    fn responses(&mut self) -> Vec<Response> {
        let mut out = Vec::new();
        for frame in self.written.split_mut(|&b| b == 0).filter(|f| !f.is_empty()) {
            out.push(frame::decode::<Response>(frame).unwrap());
        }
        out
    }
}

impl embedded_io_async::ErrorType for Link {
    type Error = LinkError;
}

impl embedded_io_async::Read for Link {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, LinkError> {
        match self.script.pop_front() {
            None => Ok(0),
            Some(Step::Fail) => Err(LinkError),
            Some(Step::Quiet) => core::future::pending().await,
            Some(Step::Bytes(mut bytes)) => {
                let n = bytes.len().min(buf.len());
                buf[..n].copy_from_slice(&bytes[..n]);
                if n < bytes.len() {
                    self.script.push_front(Step::Bytes(bytes.split_off(n)));
                }
                Ok(n)
            }
        }
    }
}

impl embedded_io_async::Write for Link {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, LinkError> {
        if self.fail_writes {
            return Err(LinkError);
        }
        self.written.extend_from_slice(buf);
        Ok(buf.len())
    }

    async fn flush(&mut self) -> Result<(), LinkError> {
        Ok(())
    }
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&[5; 32])
}

/// An app that toggles pin 2 every 100 ms: its manifest, and its wasm with
/// the manifest embedded.
fn blink() -> (Manifest, Vec<u8>) {
    let mut m = Manifest::new(AppName::try_from("led").unwrap(), Version::new(1, 0, 0));
    m.capabilities.gpio = Some(GpioScope::new(Default::default(), [2].into_iter().collect(), Default::default()));
    m.capabilities.timer = true;
    let mut wasm = wat::parse_str(
        r#"(module
        (import "akira:gpio" "toggle" (func $toggle (param i32) (result i32)))
        (import "akira:timer" "sleep_us" (func $sleep (param i64) (result i32)))
        (func (export "akira_main") (loop $l (drop (call $toggle (i32.const 2))) (drop (call $sleep (i64.const 100000))) (br $l))))"#,
    )
    .unwrap();
    wasm.extend(m.custom_section());
    (m, wasm)
}

/// A signed package of [`blink`].
fn blink_package() -> Vec<u8> {
    let (m, wasm) = blink();
    package::build(&m, &wasm, Some(&key()))
}

fn push_frames(pkg: &[u8]) -> Vec<u8> {
    let mut requests = vec![Request::Begin { size: pkg.len() as u32, id: [9; 32] }];
    for (i, chunk) in pkg.chunks(512).enumerate() {
        requests.push(Request::Chunk { offset: (i * 512) as u32, data: chunk });
    }
    frames(&requests)
}

fn device<'t>(trust: &'t TrustPolicy<'t>, policy: &Policy, board: &SimBoard) -> Dev<'t> {
    let store = block_on(Store::open(
        BlockingFlash(SimFlash::new(SECTORS)),
        Region { offset: 0, size: (SECTORS * 4096) as u32 },
        StoreConfig { meta_sectors: 2, slots: 2 },
    ))
    .unwrap();
    block_on(Device::new(
        store,
        akira_sim::runtime(policy.clone()),
        board.clone(),
        trust,
        DeviceConfig::default(),
        |_| {},
    ))
}

/// The board's wait: virtual time jumps to the next wake-up.
fn idle(board: &SimBoard) -> impl FnMut(Option<Instant>) -> std::future::Ready<()> + '_ {
    move |wake| {
        if let Some(wake) = wake {
            board.advance_to(wake);
        }
        std::future::ready(())
    }
}

fn toggles(board: &SimBoard) -> usize {
    board.records().iter().filter(|r| matches!(r.what, What::Pin { pin: 2, .. })).count()
}

#[test]
fn a_package_pushed_through_serve_is_installed_and_runs_while_it_idles() {
    let policy = Policy::development();
    let keys = [TrustedKey {
        name: "k",
        public_key: key().verifying_key().to_bytes(),
        policy: &policy,
        rights: Rights::OWNER,
    }];
    let trust = TrustPolicy { keys: &keys, ..TrustPolicy::default() };
    let board = SimBoard::virtual_time();
    let mut device = device(&trust, &policy, &board);
    // The package arrives, then the host is quiet for ten of the app's
    // wake-ups, then closes the link.
    let mut link =
        Link::new([Step::Bytes(push_frames(&blink_package()))].into_iter().chain((0..10).map(|_| Step::Quiet)));
    let mut notes = Vec::new();
    let start = board.now();
    let ended = block_on(device.serve(&mut link, idle(&board), |n| notes.push(format!("{n:?}"))));
    assert_eq!(ended, Ok(()), "the link ended");
    assert!(matches!(link.responses().last(), Some(Response::Installed { .. })), "{:?}", link.responses());
    assert!(notes.iter().any(|n| n.starts_with("Installed")), "{notes:#?}");
    assert!(notes.iter().any(|n| n.starts_with("Started")), "{notes:#?}");
    // While the link was quiet the apps ran, waking when they asked to.
    assert!(toggles(&board) >= 10, "{} toggles", toggles(&board));
    assert!(board.now().saturating_since(start) >= Duration::from_millis(900), "idle let virtual time pass");
}

#[test]
fn a_failed_link_ends_serve_and_the_next_serve_starts_from_a_clean_frame() {
    let policy = Policy::development();
    let trust = TrustPolicy::default();
    let board = SimBoard::virtual_time();
    let mut device = device(&trust, &policy, &board);
    let hello = frames(&[Request::Hello]);

    // Half a frame, then the read fails: serve returns the link's error.
    let mut link = Link::new([Step::Bytes(hello[..hello.len() / 2].to_vec()), Step::Fail]);
    assert_eq!(block_on(device.serve(&mut link, idle(&board), |_| {})), Err(LinkError));
    assert!(link.written.is_empty());

    // On the next link a whole frame is answered: the half was forgotten.
    let mut link = Link::new([Step::Bytes(hello.clone())]);
    assert_eq!(block_on(device.serve(&mut link, idle(&board), |_| {})), Ok(()));
    assert!(matches!(link.responses().as_slice(), [Response::Hello { .. }]), "{:?}", link.responses());

    // A reply that cannot be written ends serve with the error too.
    let mut link = Link::new([Step::Bytes(hello)]);
    link.fail_writes = true;
    assert_eq!(block_on(device.serve(&mut link, idle(&board), |_| {})), Err(LinkError));
}

#[test]
fn run_until_runs_the_apps_while_the_firmware_waits_and_returns_what_it_waited_for() {
    let policy = Policy::development();
    let trust = TrustPolicy::default();
    let board = SimBoard::virtual_time();
    let mut device = device(&trust, &policy, &board);
    device.run_builtin(&blink().1, &policy).unwrap();
    // What the firmware waits for: ready at its tenth poll (a network
    // that comes up), with a value.
    let mut polls = 0;
    let link_up = std::future::poll_fn(|cx| {
        polls += 1;
        if polls < 10 {
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready("connected")
        }
    });
    let start = board.now();
    assert_eq!(block_on(device.run_until(link_up, idle(&board), |_| {})), "connected");
    // Each wait let virtual time run to the app's next wake-up: it blinked.
    assert!(toggles(&board) >= 9, "{} toggles", toggles(&board));
    assert!(board.now().saturating_since(start) >= Duration::from_millis(800), "idle let virtual time pass");
}
