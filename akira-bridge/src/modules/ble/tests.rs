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

/// What the test GATT server was asked, and the events centrals cause.
#[derive(Default)]
struct Host {
    log: Vec<String>,
    events: VecDeque<GattEvent>,
}

/// A GATT server that logs what it is asked; events arrive when the
/// test queues them.
struct LogServer(Rc<StdRefCell<Host>>);

impl GattServer for LogServer {
    async fn start(&self, table: &gatt::GattTable, adv: &AdvConfig) -> Result<(), Errno> {
        let chars: Vec<String> =
            table.characteristics().iter().map(|c| format!("{}/{:#04x}/{}", c.uuid, c.properties, c.max_len)).collect();
        let services: Vec<String> = table.services().iter().map(|u| u.to_string()).collect();
        self.0.borrow_mut().log.push(format!("start {services:?} {chars:?} every {} ms", adv.interval_ms));
        Ok(())
    }
    async fn stop(&self) -> Result<(), Errno> {
        self.0.borrow_mut().log.push("stop".into());
        Ok(())
    }
    async fn set_value(&self, handle: u8, value: &[u8]) -> Result<(), Errno> {
        self.0.borrow_mut().log.push(format!("set {handle} {value:02x?}"));
        Ok(())
    }
    async fn notify(&self, handle: u8, value: &[u8]) -> Result<(), Errno> {
        self.0.borrow_mut().log.push(format!("notify {handle} {value:02x?}"));
        Ok(())
    }
    async fn next_event(&self) -> Result<GattEvent, Errno> {
        poll_fn(|_| match self.0.borrow_mut().events.pop_front() {
            Some(e) => Poll::Ready(Ok(e)),
            None => Poll::Pending,
        })
        .await
    }
}

struct GattTask {
    serve: core::pin::Pin<Box<dyn Future<Output = core::convert::Infallible>>>,
    host: Rc<StdRefCell<Host>>,
}

impl GattTask {
    fn new<const S: usize, const Q: usize>(mailbox: &'static BleMailbox<S, Q>) -> GattTask {
        let host = Rc::new(StdRefCell::new(Host::default()));
        let server = LogServer(host.clone());
        let mut task = GattTask { serve: Box::pin(async move { mailbox.serve_gatt(server).await }), host };
        task.step();
        task
    }

    fn step(&mut self) {
        let mut cx = Context::from_waker(Waker::noop());
        assert!(self.serve.as_mut().poll(&mut cx).is_pending());
    }

    fn log(&self) -> Vec<String> {
        self.host.borrow().log.clone()
    }

    fn central(&mut self, events: &[GattEvent]) {
        self.host.borrow_mut().events.extend(events.iter().copied());
        self.step();
    }
}

/// Memory holding the UUIDs 0x181a (at 0), 0x2a6e (at 2), 0x2a1f (at
/// 4) and a 128-bit one (at 16), and a value at 40.
fn gatt_memory() -> [u8; 128] {
    let mut m = [0u8; 128];
    m[..6].copy_from_slice(&[0x1a, 0x18, 0x6e, 0x2a, 0x1f, 0x2a]);
    m[16..32].copy_from_slice(&[0xab; 16]);
    m[40..42].copy_from_slice(&[0x34, 0x08]);
    m
}

fn service(mem: &mut GuestMemory<'_>, s: &mut AppState<Board1>, ptr: u32, len: u32) -> i32 {
    code(gatt_declare(mem, s, None, (ptr, len), 0, 0))
}

fn characteristic(mem: &mut GuestMemory<'_>, s: &mut AppState<Board1>, uuid: u32, props: u8, max: u32) -> i32 {
    code(gatt_declare(mem, s, Some(0), (uuid, 2), props.into(), max))
}

fn gatt_done(s: &mut AppState<Board1>, mem: &mut GuestMemory<'_>) -> Option<i32> {
    BleModule.poll_wait_with_memory(mem, s, OP_GATT_JOB, 0)
}

/// Declares the thermometer (temperature read+notify at handle 0,
/// setpoint write at 1) and starts serving it.
fn thermometer(mem: &mut GuestMemory<'_>, s: &mut AppState<Board1>, task: &mut GattTask) {
    assert_eq!(service(mem, s, 0, 2), 0);
    assert_eq!(characteristic(mem, s, 2, gatt::property::READ | gatt::property::NOTIFY, 2), 0);
    assert_eq!(characteristic(mem, s, 4, gatt::property::WRITE, 2), 1);
    let Err(Refusal::Trap(_)) = gatt_start(mem, s, M, [0, 3, 200]) else { panic!("not suspended") };
    assert_eq!(gatt_done(s, mem), None, "the task has not run");
    task.step();
    assert_eq!(gatt_done(s, mem), Some(0));
}

#[test]
fn a_gatt_server_starts_sets_notifies_and_hears_centrals() {
    static BLE: BleMailbox<2, 3> = BleMailbox::new();
    let mut task = GattTask::new(&BLE);
    let mut s = app(1, &BLE, &[role::PERIPHERAL]);
    let mut backing = gatt_memory();
    let mut mem = GuestMemory::new(&mut backing);
    thermometer(&mut mem, &mut s, &mut task);
    assert_eq!(task.log(), ["start [\"181a\"] [\"2a6e/0x12/2\", \"2a1f/0x08/2\"] every 200 ms"]);
    // Declaring while serving is refused; an app that does not serve has
    // no values to set.
    assert_eq!(service(&mut mem, &mut s, 0, 2), Errno::Busy.code());
    let mut other = app(2, &BLE, &[role::PERIPHERAL]);
    assert_eq!(code(gatt_value(&mut mem, &mut other, M, false, [0, 40, 2])), Errno::Invalid.code());
    // Values go to the server; notify needs a notifiable characteristic.
    let Err(Refusal::Trap(_)) = gatt_value(&mut mem, &mut s, M, false, [0, 40, 2]) else { panic!() };
    task.step();
    assert_eq!(gatt_done(&mut s, &mut mem), Some(0));
    let Err(Refusal::Trap(_)) = gatt_value(&mut mem, &mut s, M, true, [0, 40, 2]) else { panic!() };
    task.step();
    assert_eq!(gatt_done(&mut s, &mut mem), Some(0));
    assert_eq!(code(gatt_value(&mut mem, &mut s, M, true, [1, 40, 2])), Errno::Invalid.code(), "write-only");
    assert_eq!(code(gatt_value(&mut mem, &mut s, M, false, [0, 40, 3])), Errno::TooLarge.code());
    assert_eq!(code(gatt_value(&mut mem, &mut s, M, false, [9, 40, 2])), Errno::Invalid.code());
    assert_eq!(task.log()[1..], ["set 0 [34, 08]", "notify 0 [34, 08]"]);
    // The app waits for an event until a central connects.
    let Err(Refusal::Trap(_)) = gatt_next_event(&mut mem, &mut s, M, 64, 64, -1) else { panic!() };
    let wait = s.take_wait().unwrap();
    assert_eq!(wait.until, Instant::MAX);
    let WaitKind::Module { op, arg, .. } = wait.kind else { panic!() };
    assert_eq!(BleModule.poll_wait_with_memory(&mut mem, &mut s, op, arg), None);
    task.central(&[GattEvent::Connected { address: [1, 2, 3, 4, 5, 6], address_kind: 1 }]);
    assert_eq!(BleModule.poll_wait_with_memory(&mut mem, &mut s, op, arg), Some(11));
    assert_eq!(mem.bytes(64, 11).unwrap(), &[1, 0, 7, 0, 1, 2, 3, 4, 5, 6, 1]);
    let written = GattEvent::Written { characteristic: 1, value: gatt::Value::new(&[0xe8, 0x03]).unwrap() };
    task.central(&[written, GattEvent::Subscribed { characteristic: 0 }]);
    assert_eq!(code(gatt_next_event(&mut mem, &mut s, M, 64, 64, 0)), 6);
    assert_eq!(mem.bytes(64, 6).unwrap(), &[3, 1, 2, 0, 0xe8, 0x03]);
    assert!(s.board().rec.events.last().unwrap().starts_with("GattEvent { kind: 3, characteristic: 1"));
    assert_eq!(code(gatt_next_event(&mut mem, &mut s, M, 64, 64, 0)), 4);
    assert_eq!(mem.bytes(64, 4).unwrap(), &[4, 0, 0, 0]);
    assert_eq!(code(gatt_next_event(&mut mem, &mut s, M, 64, 64, 0)), Errno::TimedOut.code());
    // Stopping frees the server for another app; stopping again is a no-op.
    let Err(Refusal::Trap(_)) = gatt_run(&mut s, M, GattJob::Stop, &[]) else { panic!() };
    task.step();
    assert_eq!(gatt_done(&mut s, &mut mem), Some(0));
    assert_eq!(code(gatt_run(&mut s, M, GattJob::Stop, &[])), 0);
    assert_eq!(task.log().last().unwrap(), "stop");
    assert_eq!(code(gatt_next_event(&mut mem, &mut s, M, 64, 64, 0)), Errno::Invalid.code(), "not serving");
    assert_eq!(service(&mut mem, &mut other, 16, 16), 0, "a 128-bit service");
}

#[test]
fn gatt_calls_outside_the_peripheral_role_never_reach_the_server() {
    static BLE: BleMailbox<2, 3> = BleMailbox::new();
    let mut task = GattTask::new(&BLE);
    let mut s = app(1, &BLE, &[role::ADVERTISE, role::SCAN]);
    let mut backing = gatt_memory();
    let mut mem = GuestMemory::new(&mut backing);
    assert_eq!(service(&mut mem, &mut s, 0, 2), Errno::Denied.code());
    assert_eq!(characteristic(&mut mem, &mut s, 2, gatt::property::READ, 2), Errno::Denied.code());
    assert_eq!(code(gatt_start(&mut mem, &mut s, M, [0, 3, 200])), Errno::Denied.code());
    assert_eq!(code(gatt_value(&mut mem, &mut s, M, true, [0, 40, 2])), Errno::Denied.code());
    assert_eq!(code(gatt_next_event(&mut mem, &mut s, M, 64, 64, 0)), Errno::Denied.code());
    assert_eq!(s.guard().denials(Capability::Ble), 5);
    task.step();
    assert!(task.log().is_empty());
    // The owner-to-be was never made one: another app may declare.
    let mut p = app(2, &BLE, &[role::PERIPHERAL]);
    assert_eq!(service(&mut mem, &mut p, 0, 2), 0);
    // Below the advertising floor is a denial too, and queues nothing.
    assert_eq!(characteristic(&mut mem, &mut p, 2, gatt::property::READ, 2), 0);
    assert_eq!(code(gatt_start(&mut mem, &mut p, M, [0, 3, 50])), Errno::Denied.code());
    task.step();
    assert!(task.log().is_empty());
}

#[test]
fn gatt_bad_pointers_lengths_and_a_full_table() {
    static BLE: BleMailbox<2, 3> = BleMailbox::new();
    let mut task = GattTask::new(&BLE);
    let mut s = app(1, &BLE, &[role::PERIPHERAL]);
    let mut backing = gatt_memory();
    let mut mem = GuestMemory::new(&mut backing);
    assert_eq!(service(&mut mem, &mut s, 127, 2), Errno::Fault.code());
    assert_eq!(service(&mut mem, &mut s, 0, 3), Errno::Invalid.code(), "a UUID is 2 or 16 bytes");
    assert_eq!(code(gatt_start(&mut mem, &mut s, M, [0, 3, 200])), Errno::Invalid.code(), "nothing declared");
    assert_eq!(service(&mut mem, &mut s, 0, 2), 0);
    assert_eq!(characteristic(&mut mem, &mut s, 200, gatt::property::READ, 2), Errno::Fault.code());
    assert_eq!(characteristic(&mut mem, &mut s, 2, gatt::property::READ, 65), Errno::TooLarge.code());
    assert_eq!(code(gatt_declare(&mut mem, &mut s, Some(1), (2, 2), 2, 2)), Errno::Invalid.code());
    assert_eq!(code(gatt_declare(&mut mem, &mut s, Some(0), (2, 2), 0x102, 2)), Errno::Invalid.code());
    for handle in 0..4 {
        assert_eq!(characteristic(&mut mem, &mut s, 2, gatt::property::READ, 64), handle);
    }
    assert_eq!(characteristic(&mut mem, &mut s, 2, gatt::property::READ, 1), Errno::NoSpace.code());
    assert_eq!(service(&mut mem, &mut s, 16, 16), 1);
    assert_eq!(service(&mut mem, &mut s, 16, 16), Errno::NoSpace.code());
    assert_eq!(code(gatt_start(&mut mem, &mut s, M, [120, 9, 200])), Errno::Fault.code());
    assert_eq!(code(gatt_start(&mut mem, &mut s, M, [0, 32, 200])), Errno::TooLarge.code());
    let Err(Refusal::Trap(_)) = gatt_start(&mut mem, &mut s, M, [0, 3, 200]) else { panic!() };
    task.step();
    assert_eq!(gatt_done(&mut s, &mut mem), Some(0));
    assert_eq!(code(gatt_value(&mut mem, &mut s, M, false, [0, 100, 64])), Errno::Fault.code());
    assert_eq!(code(gatt_next_event(&mut mem, &mut s, M, 0, 3, 0)), Errno::Invalid.code(), "shorter than a header");
    assert_eq!(code(gatt_next_event(&mut mem, &mut s, M, 126, 8, 0)), Errno::Fault.code());
    assert_eq!(task.log().len(), 1, "only the start reached the server");
}

/// The app's next GATT event, as it reads it.
fn next(mem: &mut GuestMemory<'_>, s: &mut AppState<Board1>) -> Vec<u8> {
    let n = code(gatt_next_event(mem, s, M, 64, 64, 0));
    mem.bytes(64, n as u32).unwrap().to_vec()
}

#[test]
fn two_apps_serve_one_merged_table_each_with_its_own_handles() {
    static BLE: BleMailbox<2, 3> = BleMailbox::new();
    let mut task = GattTask::new(&BLE);
    let mut a = app(1, &BLE, &[role::PERIPHERAL]);
    let mut b = app(2, &BLE, &[role::PERIPHERAL]);
    let mut backing = gatt_memory();
    let mut mem = GuestMemory::new(&mut backing);
    thermometer(&mut mem, &mut a, &mut task);
    // b declares a 128-bit service with one writable characteristic: its
    // handle 0, merged after a's two.
    assert_eq!(service(&mut mem, &mut b, 16, 16), 0);
    assert_eq!(characteristic(&mut mem, &mut b, 4, gatt::property::WRITE, 2), 0);
    let Err(Refusal::Trap(_)) = gatt_start(&mut mem, &mut b, M, [0, 3, 300]) else { panic!("not shared") };
    task.step();
    assert_eq!(gatt_done(&mut b, &mut mem), Some(0));
    let long = "abababab-abab-abab-abab-abababababab";
    assert_eq!(
        task.log()[1..],
        [
            "stop".to_string(),
            format!(r#"start ["181a", "{long}"] ["2a6e/0x12/2", "2a1f/0x08/2", "2a1f/0x08/2"] every 200 ms"#)
        ]
    );
    // A third app finds the table of apps full.
    let mut third = app(3, &BLE, &[role::PERIPHERAL]);
    assert_eq!(service(&mut mem, &mut third, 0, 2), Errno::Busy.code());
    // Each app's values go to its own characteristics.
    let Err(Refusal::Trap(_)) = gatt_value(&mut mem, &mut b, M, false, [0, 40, 2]) else { panic!() };
    task.step();
    let Err(Refusal::Trap(_)) = gatt_value(&mut mem, &mut a, M, true, [0, 40, 2]) else { panic!() };
    task.step();
    assert_eq!(task.log()[3..], ["set 2 [34, 08]", "notify 0 [34, 08]"]);
    // A central's connection reaches both; each write reaches its owner
    // in the owner's handles.
    let written = |c, v: &[u8]| GattEvent::Written { characteristic: c, value: gatt::Value::new(v).unwrap() };
    task.central(&[GattEvent::Connected { address: [9; 6], address_kind: 0 }, written(2, b"bb"), written(1, b"aa")]);
    assert_eq!(next(&mut mem, &mut a)[..2], [1, 0], "a: connected");
    assert_eq!(next(&mut mem, &mut a), [3, 1, 2, 0, b'a', b'a'], "a: its setpoint, handle 1");
    assert_eq!(next(&mut mem, &mut b)[..2], [1, 0], "b: connected");
    assert_eq!(next(&mut mem, &mut b), [3, 0, 2, 0, b'b', b'b'], "b: its handle 0");
    // a stops serving: the server restarts with b's table alone; the
    // central was disconnected by the change.
    let Err(Refusal::Trap(_)) = gatt_run(&mut a, M, GattJob::Stop, &[]) else { panic!() };
    task.step();
    assert_eq!(gatt_done(&mut a, &mut mem), Some(0));
    assert_eq!(task.log()[5..], ["stop".to_string(), format!("start [\"{long}\"] [\"2a1f/0x08/2\"] every 300 ms")]);
    assert_eq!(next(&mut mem, &mut b), [2, 0, 1, 0, gatt::TABLE_CHANGED]);
    let Err(Refusal::Trap(_)) = gatt_value(&mut mem, &mut b, M, false, [0, 40, 2]) else { panic!() };
    task.step();
    assert_eq!(task.log()[7], "set 0 [34, 08]", "b's handle 0 is merged handle 0 now");
    // b stops running: nobody serves, the server stops.
    BleModule.app_stopped(b.board_mut(), 2);
    task.step();
    assert_eq!(task.log()[8..], ["stop"]);
    assert_eq!(service(&mut mem, &mut third, 0, 2), 0, "its entry was freed");
}

#[test]
fn gatt_events_queue_is_bounded_and_unserved_gatt_is_unsupported() {
    static BLE: BleMailbox<2, 3> = BleMailbox::new();
    let mut s = app(1, &BLE, &[role::PERIPHERAL]);
    let mut backing = gatt_memory();
    let mut mem = GuestMemory::new(&mut backing);
    assert_eq!(service(&mut mem, &mut s, 0, 2), Errno::Unsupported.code(), "no task serves GATT");
    let mut task = GattTask::new(&BLE);
    thermometer(&mut mem, &mut s, &mut task);
    let sub = |c| GattEvent::Subscribed { characteristic: c };
    task.central(&[GattEvent::Connected { address: [9; 6], address_kind: 0 }, sub(0), sub(1), sub(1)]);
    assert_eq!(BLE.dropped_gatt_events(), 1, "three places: the oldest went");
    for c in [0, 1, 1] {
        assert_eq!(code(gatt_next_event(&mut mem, &mut s, M, 64, 64, 0)), 4);
        assert_eq!(mem.bytes(64, 2).unwrap(), &[4, c]);
    }
    // A timed wait ends with ETIMEDOUT at its deadline.
    let Err(Refusal::Trap(_)) = gatt_next_event(&mut mem, &mut s, M, 64, 64, 5_000) else { panic!() };
    let wait = s.take_wait().unwrap();
    assert_eq!(wait.until, Instant::from_micros(5_000));
    let bridge: crate::Bridge<Board1> = crate::Bridge::new().with(BleModule).unwrap();
    assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, Instant::from_micros(5_000)), Some(-7));
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
