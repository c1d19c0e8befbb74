//! `HciBle` over a test controller that implements bt-hci's controller
//! traits and records every command as the bytes it would put on the HCI
//! transport: the exact command sequences of advertise, scan and their
//! stops, advertising reports parsed from raw HCI events, and, end to end
//! through the sandbox, that calls the guard refuses send nothing.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use akira_bridge::modules::ble::{AdvData, ReportKind};
use akira_bridge::{
    AdvConfig, AppInfo, Ble, BleJob, BleMailbox, BleModule, BleRadio, Board, Bridge, Errno, Instant, Level, ScanConfig,
    ScanReport,
};
use akira_caps::scope::{BleScope, ble};
use akira_caps::{Manifest, Policy, Version, manifest::AppName};
use akira_radio::ble::HciBle;
use akira_sandbox::{Event, RestartPolicy, Runtime, RuntimeConfig, Scheduler, Status};
use bt_hci::cmd::{self, SyncCmd};
use bt_hci::controller::{Controller, ControllerCmdSync};
use bt_hci::data::{AclPacket, IsoPacket, SyncPacket};
use bt_hci::param::{AddrKind, Status as HciStatus};
use bt_hci::{ControllerToHostPacket, FromHciBytes, WriteHci};
use embedded_hal_mock::eh1::delay::NoopDelay;

/// What the controller saw and will say.
#[derive(Default)]
struct State {
    /// Every command, as HCI command packet bytes (opcode, length,
    /// parameters).
    commands: Vec<Vec<u8>>,
    /// Raw HCI event packets (packet indicator 0x04 first) to deliver.
    events: VecDeque<Vec<u8>>,
    /// Commands with this opcode fail with Command Disallowed.
    refuse: Option<u16>,
}

/// A controller that records commands and completes them at once.
#[derive(Clone, Default)]
struct TestController(Rc<RefCell<State>>);

impl TestController {
    fn commands(&self) -> Vec<Vec<u8>> {
        self.0.borrow().commands.clone()
    }
}

impl embedded_io::ErrorType for TestController {
    type Error = Infallible;
}

impl Controller for TestController {
    type Buffer<'a> = [u8; 259];

    fn alloc_buf(&self) -> Result<[u8; 259], Infallible> {
        Ok([0; 259])
    }

    async fn write_acl_data(&self, _: &AclPacket<'_>) -> Result<(), Infallible> {
        self.0.borrow_mut().commands.push(b"acl".to_vec());
        Ok(())
    }

    async fn write_sync_data(&self, _: &SyncPacket<'_>) -> Result<(), Infallible> {
        self.0.borrow_mut().commands.push(b"sync".to_vec());
        Ok(())
    }

    async fn write_iso_data(&self, _: &IsoPacket<'_>) -> Result<(), Infallible> {
        self.0.borrow_mut().commands.push(b"iso".to_vec());
        Ok(())
    }

    async fn read<'a>(&self, buf: &'a mut Self::Buffer<'_>) -> Result<ControllerToHostPacket<'a>, Infallible> {
        let bytes = poll_fn(|_| match self.0.borrow_mut().events.pop_front() {
            Some(b) => Poll::Ready(b),
            None => Poll::Pending,
        })
        .await;
        buf[..bytes.len()].copy_from_slice(&bytes);
        Ok(ControllerToHostPacket::from_hci_bytes_complete(&buf[..bytes.len()]).expect("a well-formed test event"))
    }
}

impl<C: SyncCmd<Return = ()>> ControllerCmdSync<C> for TestController {
    async fn exec(&self, cmd: &C) -> Result<(), cmd::Error<Infallible>> {
        let mut bytes = vec![0u8; WriteHci::size(cmd)];
        WriteHci::write_hci(cmd, &mut bytes[..]).expect("sized buffer");
        let mut s = self.0.borrow_mut();
        s.commands.push(bytes);
        if s.refuse == Some(C::OPCODE.to_raw()) {
            return Err(cmd::Error::Hci(HciStatus::new(0x0c).to_result().unwrap_err()));
        }
        Ok(())
    }
}

fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the test controller completes commands at once"),
    }
}

/// An HCI command packet: opcode (OGF 0x08, LE), length, parameters.
fn le(ocf: u8, params: &[u8]) -> Vec<u8> {
    let mut v = vec![ocf, 0x20, params.len() as u8];
    v.extend_from_slice(params);
    v
}

/// Parameters of LE Set Advertising Data / Scan Response Data: length
/// then 31 bytes, zero-padded.
fn data31(data: &[u8]) -> Vec<u8> {
    let mut v = vec![data.len() as u8];
    v.extend_from_slice(data);
    v.resize(32, 0);
    v
}

const BEACON: &[u8] = b"\x02\x01\x06\x05\x09akir";

fn adv(interval_ms: u16, rsp: Option<&[u8]>) -> AdvConfig {
    AdvConfig { interval_ms, data: AdvData::new(BEACON).unwrap(), scan_response: rsp.map(|r| AdvData::new(r).unwrap()) }
}

#[test]
fn advertise_is_params_data_response_enable_and_restarts_with_a_disable() {
    let c = TestController::default();
    let radio = HciBle::new(c.clone(), AddrKind::PUBLIC);
    block_on(radio.advertise(&adv(250, Some(b"\x04\x09rsp")))).unwrap();
    // 250 ms = 400 units of 0.625 ms = 0x0190.
    let params = [0x90, 0x01, 0x90, 0x01, 0x02, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0x07, 0x00];
    assert_eq!(
        c.commands(),
        [le(0x06, &params), le(0x08, &data31(BEACON)), le(0x09, &data31(b"\x04\x09rsp")), le(0x0a, &[0x01]),]
    );
    // Already advertising: disabled first; no scan response, so
    // non-connectable and no scan response data.
    c.0.borrow_mut().commands.clear();
    block_on(radio.advertise(&adv(20, None))).unwrap();
    let params = [0x20, 0x00, 0x20, 0x00, 0x03, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0x07, 0x00];
    assert_eq!(c.commands(), [le(0x0a, &[0x00]), le(0x06, &params), le(0x08, &data31(BEACON)), le(0x0a, &[0x01])]);
    c.0.borrow_mut().commands.clear();
    block_on(radio.stop_advertising()).unwrap();
    assert_eq!(c.commands(), [le(0x0a, &[0x00])]);
}

#[test]
fn scan_is_params_then_enable_without_duplicate_filtering() {
    let c = TestController::default();
    let radio = HciBle::new(c.clone(), AddrKind::RANDOM);
    let config = ScanConfig::new(1, 100, 50).unwrap();
    block_on(radio.scan(&config)).unwrap();
    // Active, interval 160 units (100 ms), window 80 (50 ms), random own
    // address, accept all advertisements.
    assert_eq!(c.commands(), [le(0x0b, &[0x01, 0xa0, 0x00, 0x50, 0x00, 0x01, 0x00]), le(0x0c, &[0x01, 0x00])]);
    c.0.borrow_mut().commands.clear();
    block_on(radio.scan(&ScanConfig::new(0, 10_240, 3).unwrap())).unwrap();
    assert_eq!(
        c.commands(),
        [le(0x0c, &[0x00, 0x00]), le(0x0b, &[0x00, 0x00, 0x40, 0x04, 0x00, 0x01, 0x00]), le(0x0c, &[0x01, 0x00])],
        "restart: disabled first; 10.24 s is 0x4000 units, 3 ms is 4 (2.5 ms)"
    );
    c.0.borrow_mut().commands.clear();
    block_on(radio.stop_scanning()).unwrap();
    assert_eq!(c.commands(), [le(0x0c, &[0x00, 0x00])]);
}

#[test]
fn a_refused_command_is_an_io_error_and_ends_the_sequence() {
    let c = TestController::default();
    c.0.borrow_mut().refuse = Some(0x2006);
    let radio = HciBle::new(c.clone(), AddrKind::PUBLIC);
    assert_eq!(block_on(radio.advertise(&adv(100, None))), Err(Errno::Io));
    assert_eq!(c.commands().len(), 1, "nothing after the refused parameters");
    c.0.borrow_mut().refuse = None;
    block_on(radio.advertise(&adv(100, None))).unwrap();
    assert_eq!(c.commands()[1][..2], [0x06, 0x20], "not advertising: no disable first");
}

#[test]
fn advertising_report_events_become_scan_reports() {
    let c = TestController::default();
    let radio = HciBle::new(c.clone(), AddrKind::PUBLIC);
    // An unrelated event first (Disconnection Complete), then an LE
    // Advertising Report with two reports: ADV_NONCONN_IND from a random
    // address with 3 bytes at -60 dBm, SCAN_RSP from a public one, empty,
    // at -75 dBm.
    c.0.borrow_mut().events.push_back(vec![0x04, 0x05, 0x04, 0x00, 0x01, 0x00, 0x13]);
    let mut event = vec![0x04, 0x3e, 0, 0x02, 2];
    event.extend([0x03, 0x01, 1, 2, 3, 4, 5, 0xc6, 3, 0x02, 0x01, 0x06, 0xc4]);
    event.extend([0x04, 0x00, 9, 8, 7, 6, 5, 4, 0, 0xb5]);
    event[2] = (event.len() - 3) as u8;
    c.0.borrow_mut().events.push_back(event);
    let mut got = Vec::new();
    block_on(radio.read_reports(&mut |r| got.push(*r))).unwrap();
    assert_eq!(
        got,
        [
            ScanReport {
                address: [1, 2, 3, 4, 5, 0xc6],
                address_kind: 1,
                rssi_dbm: -60,
                kind: ReportKind::AdvNonconnInd,
                data: AdvData::new(&[0x02, 0x01, 0x06]).unwrap(),
            },
            ScanReport {
                address: [9, 8, 7, 6, 5, 4],
                address_kind: 0,
                rssi_dbm: -75,
                kind: ReportKind::ScanRsp,
                data: AdvData::EMPTY,
            },
        ]
    );
    assert!(c.commands().is_empty());
}

static BLE: BleMailbox<2, 4> = BleMailbox::new();

#[derive(Clone)]
struct BleBoard {
    now: Rc<Cell<u64>>,
}

impl Board for BleBoard {
    fn now(&self) -> Instant {
        Instant::from_micros(self.now.get())
    }
    fn log(&mut self, _: &AppInfo, _: Level, _: &str) {}
}

impl Ble for BleBoard {
    fn start(&mut self, app: u16, job: BleJob, deadline: Instant) -> Result<(), Errno> {
        (&BLE).start(app, job, deadline)
    }
    fn poll(&mut self, app: u16, now: Instant) -> Option<Result<(), Errno>> {
        (&BLE).poll(app, now)
    }
    fn next_report(&mut self, app: u16, now: Instant) -> Result<Option<ScanReport>, Errno> {
        (&BLE).next_report(app, now)
    }
}

#[test]
fn an_app_without_the_role_below_the_floor_or_over_the_change_rate_sends_nothing() {
    // An app granted advertising only, 100 ms floor, one change a second:
    // scan (denied: no role), advertise at 50 ms (denied: below the
    // floor), at 200 ms (advertises), again at once (AKIRA_ENOSPC). Exit
    // code: the four results, each + 16, in 5-bit fields.
    let wat = r#"(module
        (import "akira:ble" "advertise" (func $adv (param i32 i32 i32 i32 i32) (result i32)))
        (import "akira:ble" "scan" (func $scan (param i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 16) "\02\01\06\05\09akir")
        (func $f (param i32 i32) (result i32)
            (i32.or (i32.shl (local.get 0) (i32.const 5)) (i32.add (local.get 1) (i32.const 16))))
        (func (export "akira_main") (result i32)
            (local $r i32)
            (local.set $r (i32.add (i32.const 16) (call $scan (i32.const 0) (i32.const 100) (i32.const 100))))
            (local.set $r (call $f (local.get $r)
                (call $adv (i32.const 16) (i32.const 9) (i32.const 0) (i32.const 0) (i32.const 50))))
            (local.set $r (call $f (local.get $r)
                (call $adv (i32.const 16) (i32.const 9) (i32.const 0) (i32.const 0) (i32.const 200))))
            (call $f (local.get $r)
                (call $adv (i32.const 16) (i32.const 9) (i32.const 0) (i32.const 0) (i32.const 200)))))"#;
    let mut manifest = Manifest::new(AppName::try_from("beacon").unwrap(), Version::new(1, 0, 0));
    manifest.capabilities.ble = Some(BleScope {
        roles: [ble::ADVERTISE].into_iter().collect(),
        min_adv_interval_ms: 100,
        adv_changes_per_s: 1,
    });
    let mut wasm = wat::parse_str(wat).unwrap();
    wasm.extend(manifest.custom_section());

    let bridge: Bridge<BleBoard> = Bridge::new().with(BleModule).unwrap();
    let runtime = Runtime::new(RuntimeConfig::default(), bridge, Policy::development());
    let app = runtime.load(&wasm).unwrap();
    let board = BleBoard { now: Rc::new(Cell::new(0)) };
    let mut scheduler = Scheduler::new(runtime);
    let id = scheduler.spawn(app, board.clone(), RestartPolicy::never()).unwrap();
    let mut exited = None;
    let mut on_event = |_: &AppInfo, e: &Event| {
        if let Event::Exited(code) = e {
            exited = Some(*code);
        }
    };
    let controller = TestController::default();
    // One advertiser: no turns to time.
    let mut task = Box::pin(BLE.serve(HciBle::new(controller.clone(), AddrKind::PUBLIC), NoopDelay));

    scheduler.poll(Instant::ZERO, &mut on_event);
    assert_eq!(scheduler.status(id), Some(&Status::Waiting), "suspended in advertise");
    assert!(task.as_mut().poll(&mut Context::from_waker(Waker::noop())).is_pending());
    scheduler.poll(Instant::ZERO, &mut on_event);
    let field = |e: i32| (e + 16) as u32;
    let d = field(Errno::Denied.code());
    let expected = [d, d, field(0), field(Errno::NoSpace.code())].iter().fold(0, |acc, f| acc << 5 | f);
    assert_eq!(exited, Some(expected as i32));
    // Only the one allowed advertise reached the controller.
    let opcodes: Vec<u8> = controller.commands().iter().map(|c| c[0]).collect();
    assert_eq!(opcodes, [0x06, 0x08, 0x0a]);
    assert_eq!(controller.commands()[0][3..5], [0x40, 0x01], "200 ms = 320 units");
}
