//! The GATT server's side of the module's tests: a logging host stack,
//! and apps declaring, serving and hearing centrals.

use super::*;

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

pub(super) struct GattTask {
    serve: core::pin::Pin<Box<dyn Future<Output = core::convert::Infallible>>>,
    host: Rc<StdRefCell<Host>>,
}

impl GattTask {
    pub(super) fn new<const S: usize, const Q: usize>(mailbox: &'static BleMailbox<S, Q>) -> GattTask {
        let host = Rc::new(StdRefCell::new(Host::default()));
        let server = LogServer(host.clone());
        let mut task = GattTask { serve: Box::pin(async move { mailbox.serve_gatt(server).await }), host };
        task.step();
        task
    }

    pub(super) fn step(&mut self) {
        let mut cx = Context::from_waker(Waker::noop());
        assert!(self.serve.as_mut().poll(&mut cx).is_pending());
    }

    pub(super) fn log(&self) -> Vec<String> {
        self.host.borrow().log.clone()
    }

    fn central(&mut self, events: &[GattEvent]) {
        self.host.borrow_mut().events.extend(events.iter().copied());
        self.step();
    }
}

/// Memory holding the UUIDs 0x181a (at 0), 0x2a6e (at 2), 0x2a1f (at
/// 4) and a 128-bit one (at 16), and a value at 40.
pub(super) fn gatt_memory() -> [u8; 128] {
    let mut m = [0u8; 128];
    m[..6].copy_from_slice(&[0x1a, 0x18, 0x6e, 0x2a, 0x1f, 0x2a]);
    m[16..32].copy_from_slice(&[0xab; 16]);
    m[40..42].copy_from_slice(&[0x34, 0x08]);
    m
}

pub(super) fn service(mem: &mut GuestMemory<'_>, s: &mut AppState<Board1>, ptr: u32, len: u32) -> i32 {
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
pub(super) fn thermometer(mem: &mut GuestMemory<'_>, s: &mut AppState<Board1>, task: &mut GattTask) {
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
