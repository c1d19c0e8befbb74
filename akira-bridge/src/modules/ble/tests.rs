use super::*;
use crate::modules::gatt::GattServer;
use crate::state::AppLimits;
use crate::testing::{Recorder, VirtualDelay, code, recorder_board};
use akira_caps::manifest::{AppName, Version};
use akira_caps::scope::BleScope;
use akira_caps::{CapabilitySet, Grants, Guard};
use core::future::poll_fn;
use core::task::{Context, Poll, Waker};
use std::cell::{Cell, RefCell as StdRefCell};
use std::collections::VecDeque;
use std::rc::Rc;

mod gatt_server;
use gatt_server::{GattTask, gatt_memory, service, thermometer};

/// What the test controller was asked, and the reports it will hear.
#[derive(Default)]
struct Air {
    log: Vec<String>,
    heard: VecDeque<Vec<ScanReport>>,
    /// Commands hang (never complete) while set.
    stuck: bool,
}

/// A controller that logs what it is asked; reports arrive when the
/// test queues them.
struct LogRadio(Rc<StdRefCell<Air>>);

impl LogRadio {
    async fn command(&self, what: String) -> Result<(), Errno> {
        self.0.borrow_mut().log.push(what);
        poll_fn(|_| if self.0.borrow().stuck { Poll::Pending } else { Poll::Ready(Ok(())) }).await
    }
}

impl BleRadio for LogRadio {
    async fn advertise(&self, c: &AdvConfig) -> Result<(), Errno> {
        self.command(format!("advertise {} ms {:?} rsp {:?}", c.interval_ms, c.data, c.scan_response)).await
    }
    async fn stop_advertising(&self) -> Result<(), Errno> {
        self.command("stop advertising".into()).await
    }
    async fn scan(&self, c: &ScanConfig) -> Result<(), Errno> {
        self.command(format!("scan active={} {}/{} ms", c.active, c.interval_ms, c.window_ms)).await
    }
    async fn stop_scanning(&self) -> Result<(), Errno> {
        self.command("stop scanning".into()).await
    }
    async fn read_reports(&self, sink: &mut dyn FnMut(&ScanReport)) -> Result<(), Errno> {
        let event = poll_fn(|_| match self.0.borrow_mut().heard.pop_front() {
            Some(e) => Poll::Ready(e),
            None => Poll::Pending,
        })
        .await;
        event.iter().for_each(sink);
        Ok(())
    }
}

struct Task {
    serve: core::pin::Pin<Box<dyn Future<Output = core::convert::Infallible>>>,
    air: Rc<StdRefCell<Air>>,
    clock: Rc<Cell<u64>>,
}

impl Task {
    fn new<const S: usize, const Q: usize>(mailbox: &'static BleMailbox<S, Q>) -> Task {
        let air = Rc::new(StdRefCell::new(Air::default()));
        let clock = Rc::new(Cell::new(0));
        let (radio, delay) = (LogRadio(air.clone()), VirtualDelay(clock.clone()));
        Task { serve: Box::pin(async move { mailbox.serve(radio, delay).await }), air, clock }
    }

    /// Moves the task's clock to `ms` and lets it run.
    fn at_ms(&mut self, ms: u64) {
        self.clock.set(ms * 1000);
        self.step();
    }

    fn step(&mut self) {
        let mut cx = Context::from_waker(Waker::noop());
        assert!(self.serve.as_mut().poll(&mut cx).is_pending());
    }

    fn log(&self) -> Vec<String> {
        self.air.borrow().log.clone()
    }

    fn hear(&self, reports: &[ScanReport]) {
        self.air.borrow_mut().heard.push_back(reports.to_vec());
    }
}

struct Board1 {
    rec: Recorder,
    ble: &'static BleMailbox<2, 3>,
}
recorder_board!(Board1);

impl Ble for Board1 {
    fn start(&mut self, app: u16, job: BleJob, deadline: Instant) -> Result<(), Errno> {
        self.ble.start(app, job, deadline)
    }
    fn poll(&mut self, app: u16, now: Instant) -> Option<Result<(), Errno>> {
        self.ble.poll(app, now)
    }
    fn next_report(&mut self, app: u16, now: Instant) -> Result<Option<ScanReport>, Errno> {
        self.ble.next_report(app, now)
    }
    fn release(&mut self, app: u16) {
        self.ble.release(app)
    }
    fn gatt_declare(&mut self, app: u16, d: GattDeclaration) -> Result<u8, Errno> {
        self.ble.gatt_declare(app, d)
    }
    fn gatt_start(&mut self, app: u16, job: GattJob, value: &[u8], deadline: Instant) -> Result<bool, Errno> {
        self.ble.gatt_start(app, job, value, deadline)
    }
    fn gatt_poll(&mut self, app: u16, now: Instant) -> Option<Result<(), Errno>> {
        self.ble.gatt_poll(app, now)
    }
    fn gatt_next_event(&mut self, app: u16, now: Instant) -> Result<Option<GattEvent>, Errno> {
        self.ble.gatt_next_event(app, now)
    }
}

/// App `id` granted `roles`, a 100 ms floor and 2 changes a second.
fn app(id: u16, ble: &'static BleMailbox<2, 3>, roles: &[u32]) -> AppState<Board1> {
    let scope = BleScope { roles: roles.iter().copied().collect(), min_adv_interval_ms: 100, adv_changes_per_s: 2 };
    let caps = CapabilitySet { ble: Some(scope), ..Default::default() };
    let info = crate::AppInfo { id, name: AppName::try_from("t").unwrap(), version: Version::new(1, 0, 0) };
    let guard = Guard::new(Grants::compile(&caps));
    AppState::new(info, guard, Board1 { rec: Recorder::default(), ble }, AppLimits::new(65536, 16))
}

const M: ModuleIndex = ModuleIndex(0);
const BEACON: &[u8] = b"\x02\x01\x06\x05\x09akir";

/// Polls the app's job wait.
fn done(s: &mut AppState<Board1>, mem: &mut GuestMemory<'_>) -> Option<i32> {
    BleModule.poll_wait_with_memory(mem, s, OP_JOB, 0)
}

fn report(last: u8, rssi: i8, data: &[u8]) -> ScanReport {
    ScanReport {
        address: [last, 2, 3, 4, 5, 0xc6],
        address_kind: 1,
        rssi_dbm: rssi,
        kind: ReportKind::AdvNonconnInd,
        data: AdvData::new(data).unwrap(),
    }
}

#[test]
fn advertise_suspends_until_the_controller_advertises() {
    static BLE: BleMailbox<2, 3> = BleMailbox::new();
    let mut task = Task::new(&BLE);
    let mut s = app(1, &BLE, &[role::ADVERTISE]);
    let mut backing = [0u8; 64];
    backing[..BEACON.len()].copy_from_slice(BEACON);
    backing[32..35].copy_from_slice(b"rsp");
    let mut mem = GuestMemory::new(&mut backing);
    let Err(Refusal::Trap(_)) = advertise(&mut mem, &mut s, M, [0, 9, 32, 3, 250]) else { panic!("not suspended") };
    let wait = s.take_wait().unwrap();
    assert_eq!(wait.until, Instant::ZERO.saturating_add(COMMAND_TIMEOUT));
    assert_eq!(done(&mut s, &mut mem), None, "the task has not run");
    task.step();
    assert_eq!(task.log(), ["advertise 250 ms [02, 01, 06, 05, 09, 61, 6b, 69, 72] rsp Some([72, 73, 70])"]);
    assert_eq!(done(&mut s, &mut mem), Some(0));
    assert!(s.board().rec.events[0].starts_with("BleAdvertising { interval_ms: 250"));
    // Stopping frees it; stopping again has nothing to tell the controller.
    let Err(Refusal::Trap(_)) = run(&mut s, M, BleJob::StopAdvertising) else { panic!() };
    task.step();
    assert_eq!(done(&mut s, &mut mem), Some(0));
    let Err(Refusal::Trap(_)) = run(&mut s, M, BleJob::StopAdvertising) else { panic!() };
    assert_eq!(done(&mut s, &mut mem), Some(0));
    task.step();
    assert_eq!(task.log().len(), 2);
    assert_eq!(task.log()[1], "stop advertising");
}

#[test]
fn advertisers_take_turns_on_the_one_advertising_set() {
    static BLE: BleMailbox<2, 3> = BleMailbox::new();
    let mut task = Task::new(&BLE);
    let mut a = app(1, &BLE, &[role::ADVERTISE]);
    let mut b = app(2, &BLE, &[role::ADVERTISE]);
    let mut backing = [0u8; 64];
    backing[..2].copy_from_slice(b"AB");
    let mut mem = GuestMemory::new(&mut backing);
    let on_air = |data: &str| format!("advertise 250 ms {data} rsp None");
    let (data_a, data_b) = ("[41]", "[42]");
    // Both advertise: the second's data goes on air at once, no EBUSY.
    let Err(Refusal::Trap(_)) = advertise(&mut mem, &mut a, M, [0, 1, 0, 0, 250]) else { panic!() };
    task.at_ms(0);
    let Err(Refusal::Trap(_)) = advertise(&mut mem, &mut b, M, [1, 1, 0, 0, 250]) else { panic!("not shared") };
    task.at_ms(100);
    assert_eq!((done(&mut a, &mut mem), done(&mut b, &mut mem)), (Some(0), Some(0)));
    assert_eq!(task.log(), [on_air(data_a), on_air(data_b)]);
    // Then they take turns of ADV_TURN (500 ms; an interval of 250 ms
    // fits).
    task.at_ms(599);
    assert_eq!(task.log().len(), 2, "b's turn is not over");
    task.at_ms(600);
    task.at_ms(1100);
    task.at_ms(1600);
    assert_eq!(task.log()[2..], [on_air(data_a), on_air(data_b), on_air(data_a)]);
    // b leaves while not on air: nothing to tell the controller; a
    // alone keeps the set past its turn.
    let Err(Refusal::Trap(_)) = run(&mut b, M, BleJob::StopAdvertising) else { panic!() };
    assert_eq!(done(&mut b, &mut mem), Some(0));
    task.at_ms(5_000);
    assert_eq!(task.log().len(), 5);
    // b back, on air; when its app stops, the set goes back to a.
    let Err(Refusal::Trap(_)) = advertise(&mut mem, &mut b, M, [1, 1, 0, 0, 250]) else { panic!() };
    task.at_ms(5_100);
    BleModule.app_stopped(b.board_mut(), 2);
    task.at_ms(5_200);
    assert_eq!(task.log()[5..], [on_air(data_b), on_air(data_a)]);
    task.at_ms(10_000);
    // The last advertiser stops: the controller stops advertising.
    let Err(Refusal::Trap(_)) = run(&mut a, M, BleJob::StopAdvertising) else { panic!() };
    task.step();
    assert_eq!(done(&mut a, &mut mem), Some(0));
    assert_eq!(task.log()[7..], ["stop advertising"]);
}

#[test]
fn refused_advertising_never_reaches_the_controller() {
    static BLE: BleMailbox<2, 3> = BleMailbox::new();
    let mut task = Task::new(&BLE);
    let mut backing = [0u8; 64];
    let mut mem = GuestMemory::new(&mut backing);
    let mut scanner = app(1, &BLE, &[role::SCAN]);
    assert_eq!(code(advertise(&mut mem, &mut scanner, M, [0, 9, 0, 0, 250])), Errno::Denied.code(), "role");
    let mut s = app(2, &BLE, &[role::ADVERTISE]);
    assert_eq!(code(advertise(&mut mem, &mut s, M, [0, 9, 0, 0, 99])), Errno::Denied.code(), "below the floor");
    assert_eq!(s.guard().denials(Capability::Ble), 1);
    assert_eq!(code(advertise(&mut mem, &mut s, M, [0, 9, 0, 0, 20_000])), Errno::Invalid.code());
    assert_eq!(code(advertise(&mut mem, &mut s, M, [0, 32, 0, 0, 100])), Errno::TooLarge.code());
    assert_eq!(code(advertise(&mut mem, &mut s, M, [60, 9, 0, 0, 100])), Errno::Fault.code());
    assert_eq!(code(advertise(&mut mem, &mut s, M, [0, 9, 60, 9, 100])), Errno::Fault.code());
    // Two changes within a second pass, the third does not.
    for t in [0, 400_000] {
        s.board_mut().rec.now = t;
        let Err(Refusal::Trap(_)) = advertise(&mut mem, &mut s, M, [0, 9, 0, 0, 100]) else { panic!() };
        task.step();
        assert_eq!(done(&mut s, &mut mem), Some(0));
    }
    s.board_mut().rec.now = 900_000;
    assert_eq!(code(advertise(&mut mem, &mut s, M, [0, 9, 0, 0, 100])), Errno::NoSpace.code());
    task.step();
    assert_eq!(task.log().len(), 2, "only the two allowed changes reached the controller");
    assert_eq!(s.guard().denials(Capability::Ble), 1, "a rate refusal is not a denial");
    s.board_mut().rec.now = 1_100_000;
    let Err(Refusal::Trap(_)) = advertise(&mut mem, &mut s, M, [0, 9, 0, 0, 100]) else { panic!("not back") };
}

#[test]
fn scan_reports_reach_the_app_through_a_bounded_queue() {
    static BLE: BleMailbox<2, 3> = BleMailbox::new();
    let mut task = Task::new(&BLE);
    let mut s = app(1, &BLE, &[role::SCAN]);
    let mut backing = [0u8; 64];
    let mut mem = GuestMemory::new(&mut backing);
    assert_eq!(code(next_report(&mut mem, &mut s, M, 0, 41, 1000)), Errno::Invalid.code(), "not scanning");
    assert_eq!(code(scan(&mut s, M, [2, 100, 50])), Errno::Invalid.code());
    assert_eq!(code(scan(&mut s, M, [1, 100, 150])), Errno::Invalid.code(), "window beyond interval");
    let Err(Refusal::Trap(_)) = scan(&mut s, M, [1, 100, 50]) else { panic!("not suspended") };
    task.step();
    assert_eq!(done(&mut s, &mut mem), Some(0));
    assert_eq!(task.log(), ["scan active=true 100/50 ms"]);
    // Nothing heard yet: the app waits.
    assert_eq!(code(next_report(&mut mem, &mut s, M, 0, 41, 0)), Errno::TimedOut.code());
    assert_eq!(code(next_report(&mut mem, &mut s, M, 0, 9, 1000)), Errno::Invalid.code(), "shorter than a header");
    assert_eq!(code(next_report(&mut mem, &mut s, M, 40, 41, 1000)), Errno::Fault.code());
    let Err(Refusal::Trap(_)) = next_report(&mut mem, &mut s, M, 0, 12, 1_000_000) else { panic!() };
    let WaitKind::Module { op, arg, .. } = s.take_wait().unwrap().kind else { panic!() };
    assert_eq!(BleModule.poll_wait_with_memory(&mut mem, &mut s, op, arg), None);
    task.hear(&[report(1, -40, b"\x03\xff\x34\x12")]);
    task.step();
    assert_eq!(BleModule.poll_wait_with_memory(&mut mem, &mut s, op, arg), Some(12), "cut to the buffer");
    assert_eq!(mem.bytes(0, 12).unwrap(), &[1, 2, 3, 4, 5, 0xc6, 1, 0xd8, 3, 2, 3, 0xff]);
    // Four reports in one event, three places: the oldest goes.
    task.hear(&[report(2, -1, b"a"), report(3, -2, b"b"), report(4, -3, b"c"), report(5, -4, b"d")]);
    task.step();
    assert_eq!(BLE.dropped_reports(1), 1);
    for (addr, data) in [(3, b'b'), (4, b'c'), (5, b'd')] {
        assert_eq!(code(next_report(&mut mem, &mut s, M, 0, 41, 0)), 11);
        assert_eq!((mem.bytes(0, 1).unwrap()[0], mem.bytes(10, 1).unwrap()[0]), (addr, data));
    }
    assert!(
        s.board().rec.events.last().unwrap().starts_with("BleReport { address: [5, 2, 3, 4, 5, 198], rssi_dbm: -4")
    );
}

#[test]
fn scanning_is_shared_and_stops_with_the_last_scanner() {
    static BLE: BleMailbox<2, 3> = BleMailbox::new();
    let mut task = Task::new(&BLE);
    let mut a = app(1, &BLE, &[role::SCAN]);
    let mut b = app(2, &BLE, &[role::SCAN, role::ADVERTISE]);
    let mut backing = [0u8; 64];
    let mut mem = GuestMemory::new(&mut backing);
    let Err(Refusal::Trap(_)) = scan(&mut a, M, [0, 200, 100]) else { panic!() };
    task.step();
    assert_eq!(done(&mut a, &mut mem), Some(0));
    let Err(Refusal::Trap(_)) = scan(&mut b, M, [0, 100, 100]) else { panic!() };
    assert_eq!(done(&mut b, &mut mem), Some(0), "joined without a command");
    task.hear(&[report(9, -50, b"x")]);
    task.step();
    for s in [&mut a, &mut b] {
        assert_eq!(code(next_report(&mut mem, s, M, 0, 41, 0)), 11);
    }
    let Err(Refusal::Trap(_)) = run(&mut a, M, BleJob::StopScanning) else { panic!() };
    assert_eq!(done(&mut a, &mut mem), Some(0));
    assert_eq!(code(next_report(&mut mem, &mut a, M, 0, 41, 0)), Errno::Invalid.code());
    let Err(Refusal::Trap(_)) = run(&mut b, M, BleJob::StopScanning) else { panic!() };
    task.step();
    assert_eq!(done(&mut b, &mut mem), Some(0));
    assert_eq!(task.log(), ["scan active=false 200/100 ms", "stop scanning"]);
}

#[test]
fn a_command_past_its_deadline_times_out_and_the_slot_recovers() {
    static BLE: BleMailbox<2, 3> = BleMailbox::new();
    let mut task = Task::new(&BLE);
    let mut s = app(1, &BLE, &[role::SCAN]);
    let mut backing = [0u8; 8];
    let mut mem = GuestMemory::new(&mut backing);
    task.air.borrow_mut().stuck = true;
    let Err(Refusal::Trap(_)) = scan(&mut s, M, [0, 100, 100]) else { panic!() };
    let wait = s.take_wait().unwrap();
    task.step();
    assert_eq!(code(scan(&mut s, M, [0, 100, 100])), Errno::Busy.code(), "one job at a time");
    s.board_mut().rec.now = 1_000_000;
    let bridge: crate::Bridge<Board1> = crate::Bridge::new().with(BleModule).unwrap();
    assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, Instant::from_micros(1_000_000)), Some(-7));
    assert_eq!(code(scan(&mut s, M, [0, 100, 100])), Errno::Busy.code(), "still running at the controller");
    task.air.borrow_mut().stuck = false;
    task.step();
    let Err(Refusal::Trap(_)) = scan(&mut s, M, [0, 100, 100]) else { panic!("slot not recovered") };
}

#[test]
fn an_app_that_stops_leaves_no_advertising_scanning_or_gatt_server_behind() {
    static BLE: BleMailbox<2, 3> = BleMailbox::new();
    let mut task = Task::new(&BLE);
    let mut gatt_task = GattTask::new(&BLE);
    let mut a = app(1, &BLE, &[role::ADVERTISE, role::SCAN, role::PERIPHERAL]);
    let mut b = app(2, &BLE, &[role::ADVERTISE, role::SCAN, role::PERIPHERAL]);
    let mut backing = gatt_memory();
    let mut mem = GuestMemory::new(&mut backing);
    thermometer(&mut mem, &mut a, &mut gatt_task);
    for s in [&mut a, &mut b] {
        let Err(Refusal::Trap(_)) = scan(s, M, [0, 100, 100]) else { panic!() };
        task.step();
        assert_eq!(done(s, &mut mem), Some(0));
    }
    // App 1's advertising is still queued when it goes away: it runs,
    // then the clean-up stops it.
    let Err(Refusal::Trap(_)) = advertise(&mut mem, &mut a, M, [0, 3, 0, 0, 250]) else { panic!() };
    BleModule.app_stopped(a.board_mut(), 1);
    task.step();
    gatt_task.step();
    assert_eq!(
        task.log(),
        ["scan active=false 100/100 ms", "advertise 250 ms [1a, 18, 6e] rsp None", "stop advertising"]
    );
    assert_eq!(gatt_task.log().last().unwrap(), "stop");
    assert_eq!(done(&mut a, &mut mem), Some(Errno::Invalid.code()), "its job was dropped with it");
    // App 2 still scans; the advertising set and the GATT server are free.
    task.hear(&[report(3, -60, b"z")]);
    task.step();
    assert_eq!(code(next_report(&mut mem, &mut b, M, 64, 41, 0)), 11);
    let Err(Refusal::Trap(_)) = advertise(&mut mem, &mut b, M, [0, 3, 0, 0, 250]) else { panic!("set not freed") };
    assert_eq!(service(&mut mem, &mut b, 0, 2), 0, "server not freed");
    // When the last scanner goes, scanning stops.
    task.step();
    BleModule.app_stopped(b.board_mut(), 2);
    task.step();
    assert_eq!(task.log()[3..], ["advertise 250 ms [1a, 18, 6e] rsp None", "stop advertising", "stop scanning"]);
    // Releasing an app that holds nothing sends nothing.
    BleModule.app_stopped(b.board_mut(), 2);
    task.step();
    gatt_task.step();
    assert_eq!(task.log().len(), 6);
    assert_eq!(gatt_task.log().iter().filter(|l| *l == "stop").count(), 1, "b never served");
}

#[test]
fn report_encoding_and_wait_args() {
    let mut out = [0u8; MAX_REPORT];
    assert_eq!(report(7, -100, &[0xaa; 31]).encode(&mut out), MAX_REPORT);
    assert_eq!(&out[..10], &[7, 2, 3, 4, 5, 0xc6, 1, 0x9c, 3, 31]);
    assert_eq!(report(7, 0, b"x").encode(&mut out[..5]), 0);
    assert_eq!(unpack(pack(u32::MAX, 41)), (u32::MAX, 41));
    assert_eq!(AdvData::new(&[0; 32]), Err(Errno::TooLarge));
}
