use super::*;
use crate::testing::{Recorder, VirtualDelay, code, recorder_board, state};
use akira_caps::CapabilitySet;
use akira_caps::scope::{Band, RfScope};
use core::future::poll_fn;
use core::task::Poll;
use core::task::{Context, Waker};
use std::cell::{Cell, RefCell as StdRefCell};
use std::collections::VecDeque;
use std::rc::Rc;

const EU868: u32 = 868_100_000;

/// What the test radio was asked, and the packets it will receive.
#[derive(Default)]
struct Air {
    log: Vec<String>,
    incoming: VecDeque<(Vec<u8>, PacketInfo)>,
}

/// A radio that logs what it is asked; packets arrive when the test
/// queues them (until then `receive` stays pending).
struct LogRadio(Rc<StdRefCell<Air>>);

impl Radio for LogRadio {
    async fn transmit(&mut self, config: &LoraConfig, data: &[u8]) -> Result<(), Errno> {
        self.0.borrow_mut().log.push(format!("tx {} {data:?}", config.frequency_hz));
        Ok(())
    }
    async fn receive(&mut self, config: &LoraConfig, buf: &mut [u8]) -> Result<(usize, PacketInfo), Errno> {
        self.0.borrow_mut().log.push(format!("rx {} max {}", config.frequency_hz, buf.len()));
        let (bytes, info) = poll_fn(|_| match self.0.borrow_mut().incoming.pop_front() {
            Some(p) => Poll::Ready(p),
            None => Poll::Pending,
        })
        .await;
        let n = bytes.len().min(buf.len());
        buf[..n].copy_from_slice(&bytes[..n]);
        Ok((n, info))
    }
    async fn standby(&mut self) -> Result<(), Errno> {
        self.0.borrow_mut().log.push("standby".into());
        Ok(())
    }
}

/// The firmware task serving `mailbox`, the air its radio sees, and its
/// clock.
struct Task {
    serve: core::pin::Pin<Box<dyn Future<Output = core::convert::Infallible>>>,
    air: Rc<StdRefCell<Air>>,
    clock: Rc<Cell<u64>>,
}

impl Task {
    fn new<const S: usize, const B: usize>(mailbox: &'static RfMailbox<S, B>) -> Task {
        let air = Rc::new(StdRefCell::new(Air::default()));
        let clock = Rc::new(Cell::new(0));
        let radio = LogRadio(air.clone());
        let delay = VirtualDelay(clock.clone());
        Task { serve: Box::pin(async move { mailbox.serve(radio, delay).await }), air, clock }
    }

    /// Moves the task's clock to `us` and lets it run.
    fn at(&mut self, us: u64) {
        self.clock.set(us);
        self.step();
    }

    /// Lets the task run queued jobs as far as they go.
    fn step(&mut self) {
        let mut cx = Context::from_waker(Waker::noop());
        assert!(self.serve.as_mut().poll(&mut cx).is_pending());
    }

    fn log(&self) -> Vec<String> {
        self.air.borrow().log.clone()
    }
}

struct Board1 {
    rec: Recorder,
    radio: &'static RfMailbox<2, 64>,
}
recorder_board!(Board1);

impl Rf for Board1 {
    fn configure(&mut self, app: u16, config: &LoraConfig) -> Result<(), Errno> {
        self.radio.configure(app, config)
    }
    fn config(&self, app: u16) -> Option<LoraConfig> {
        self.radio.config(app)
    }
    fn start(&mut self, app: u16, job: Job<'_>, deadline: Instant) -> Result<(), Errno> {
        self.radio.start(app, job, deadline)
    }
    fn poll(&mut self, app: u16, now: Instant, buf: &mut [u8]) -> Option<Result<Outcome, Errno>> {
        self.radio.poll(app, now, buf)
    }
    fn last_packet(&self, app: u16) -> Option<PacketInfo> {
        self.radio.last_packet(app)
    }
    fn release(&mut self, app: u16) {
        self.radio.release(app)
    }
}

/// An app granted 863–870 MHz at up to 14 dBm, with 1 % duty cycle.
fn app(radio: &'static RfMailbox<2, 64>) -> AppState<Board1> {
    let mut bands = heapless::Vec::new();
    bands.push(Band { from_hz: 863_000_000, to_hz: 870_000_000 }).unwrap();
    let caps =
        CapabilitySet { rf: Some(RfScope { bands, max_power_dbm: 14, duty_cycle_permille: 10 }), ..Default::default() };
    state(Board1 { rec: Recorder::default(), radio }, &caps)
}

/// Another app with the same grant, beside [`app`]'s on the same radio.
fn other_app(radio: &'static RfMailbox<2, 64>) -> AppState<Board1> {
    let first = app(radio);
    let info = crate::AppInfo { id: 2, name: "other".try_into().unwrap(), version: Default::default() };
    let guard = akira_caps::Guard::new(first.guard().grants().clone());
    AppState::new(info, guard, Board1 { rec: Recorder::default(), radio }, crate::state::AppLimits::new(65536, 16))
}

const M: ModuleIndex = ModuleIndex(0);

#[test]
fn time_on_air_matches_semtechs_calculator() {
    let cfg = |sf, bw| LoraConfig::new(EU868, sf, bw, 5, 14).unwrap();
    assert_eq!(cfg(7, 125_000).time_on_air_us(10), 41_216);
    assert_eq!(cfg(12, 125_000).time_on_air_us(10), 991_232, "low data rate optimisation on");
    assert!(cfg(12, 125_000).low_data_rate_optimize() && !cfg(10, 125_000).low_data_rate_optimize());
    assert_eq!(cfg(9, 125_000).time_on_air_us(51), 328_704);
    assert_eq!(cfg(7, 250_000).time_on_air_us(0), 12_928, "header-only packet");
}

#[test]
fn configure_is_checked_against_band_and_power_before_the_board_sees_it() {
    static RADIO: RfMailbox<2, 64> = RfMailbox::new();
    let mut s = app(&RADIO);
    let args = |freq: u32, power: i32| [freq, 7, 125_000, 5, power as u32];
    assert_eq!(code(configure(&mut s, args(915_000_000, 14))), Errno::Denied.code(), "out of band");
    assert_eq!(code(configure(&mut s, args(EU868, 20))), Errno::Denied.code(), "too much power");
    assert_eq!(s.guard().denials(Capability::Rf), 2);
    assert_eq!((&RADIO).config(1), None, "nothing reached the board");
    assert_eq!(code(configure(&mut s, [EU868, 6, 125_000, 5, 14])), Errno::Invalid.code(), "SF6");
    assert_eq!(code(configure(&mut s, [EU868, 7, 100_000, 5, 14])), Errno::Invalid.code(), "bandwidth");
    assert_eq!(code(configure(&mut s, [EU868, 7, 125_000, 9, 14])), Errno::Invalid.code(), "coding rate");
    assert_eq!(code(configure(&mut s, args(EU868, -3))), 0);
    assert_eq!((&RADIO).config(1).unwrap().power_dbm, -3);
}

#[test]
fn send_suspends_until_the_task_has_transmitted() {
    static RADIO: RfMailbox<2, 64> = RfMailbox::new();
    let mut task = Task::new(&RADIO);
    let mut s = app(&RADIO);
    s.board_mut().rec.now = 7;
    let mut backing = *b"..ping..";
    let mut mem = GuestMemory::new(&mut backing);
    assert_eq!(code(send(&mut mem, &mut s, M, 2, 4)), Errno::Invalid.code(), "not configured");
    assert_eq!(code(configure(&mut s, [EU868, 7, 125_000, 5, 14])), 0);
    let Err(Refusal::Trap(_)) = send(&mut mem, &mut s, M, 2, 4) else { panic!("not suspended") };
    let wait = s.take_wait().unwrap();
    let airtime = LoraConfig::new(EU868, 7, 125_000, 5, 14).unwrap().time_on_air_us(4);
    let expected = Instant::from_micros(7 + u64::from(airtime)).saturating_add(SEND_MARGIN);
    assert_eq!(wait.until, expected);
    let WaitKind::Module { op, arg, .. } = wait.kind else { panic!() };
    assert_eq!(RfModule.poll_wait_with_memory(&mut mem, &mut s, op, arg), None, "the task has not run");
    task.step();
    assert_eq!(task.log(), ["tx 868100000 [112, 105, 110, 103]"]);
    assert_eq!(RfModule.poll_wait_with_memory(&mut mem, &mut s, op, arg), Some(0));
    assert!(s.board().rec.events[0].starts_with("RfSent { frequency_hz: 868100000, power_dbm: 14"));
    assert_eq!(s.guard_mut().airtime_left(7), 36_000_000 - u64::from(airtime), "airtime charged");
}

#[test]
fn receive_copies_the_packet_into_the_app_and_keeps_its_signal_quality() {
    static RADIO: RfMailbox<2, 64> = RfMailbox::new();
    let mut task = Task::new(&RADIO);
    let mut s = app(&RADIO);
    let mut backing = [0u8; 16];
    let mut mem = GuestMemory::new(&mut backing);
    assert_eq!(code(configure(&mut s, [EU868, 9, 125_000, 5, 14])), 0);
    assert_eq!(code(last_packet(&mut mem, &mut s, 12)), 0, "nothing received yet");
    assert_eq!(code(receive(&mut mem, &mut s, M, 4, 8, 0)), Errno::TimedOut.code(), "timeout 0 polls");
    assert_eq!(code(receive(&mut mem, &mut s, M, 12, 8, -1)), Errno::Fault.code());
    let Err(Refusal::Trap(_)) = receive(&mut mem, &mut s, M, 4, 8, 2_000_000) else { panic!("not suspended") };
    let wait = s.take_wait().unwrap();
    assert_eq!(wait.until, Instant::from_micros(2_000_000));
    let WaitKind::Module { op, arg, .. } = wait.kind else { panic!() };
    task.step();
    assert_eq!(RfModule.poll_wait_with_memory(&mut mem, &mut s, op, arg), None, "listening");
    task.air.borrow_mut().incoming.push_back((b"pong and more".to_vec(), PacketInfo { rssi_dbm: -87, snr_db: 9 }));
    task.step();
    assert_eq!(RfModule.poll_wait_with_memory(&mut mem, &mut s, op, arg), Some(8), "cut to the buffer");
    assert_eq!(mem.bytes(4, 8).unwrap(), b"pong and");
    assert_eq!(code(last_packet(&mut mem, &mut s, 12)), 1);
    assert_eq!(mem.bytes(12, 4).unwrap(), &[0xa9, 0xff, 9, 0], "-87 dBm, 9 dB");
    assert_eq!(task.log(), ["rx 868100000 max 8"]);
    assert!(s.board().rec.events[0].contains("rssi_dbm: -87"));
}

#[test]
fn a_receive_past_its_deadline_is_cancelled_and_the_radio_put_in_standby() {
    static RADIO: RfMailbox<2, 64> = RfMailbox::new();
    let mut task = Task::new(&RADIO);
    let mut s = app(&RADIO);
    let mut backing = [0u8; 16];
    let mut mem = GuestMemory::new(&mut backing);
    assert_eq!(code(configure(&mut s, [EU868, 7, 125_000, 5, 14])), 0);
    let Err(Refusal::Trap(_)) = receive(&mut mem, &mut s, M, 0, 16, 500) else { panic!() };
    let wait = s.take_wait().unwrap();
    let WaitKind::Module { op, arg, .. } = wait.kind else { panic!() };
    task.step();
    s.board_mut().rec.now = 500;
    let bridge: crate::Bridge<Board1> = crate::Bridge::new().with(RfModule).unwrap();
    assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, Instant::from_micros(500)), Some(Errno::TimedOut.code()));
    task.step();
    assert_eq!(task.log(), ["rx 868100000 max 16", "standby"]);
    // The app's next job goes ahead.
    let Err(Refusal::Trap(_)) = send(&mut mem, &mut s, M, 0, 1) else { panic!() };
    task.step();
    assert_eq!(RfModule.poll_wait_with_memory(&mut mem, &mut s, OP_SEND, pack(0, 1)), Some(0));
    let _ = (op, arg);
}

#[test]
fn an_app_that_stops_mid_receive_leaves_the_radio_in_standby_and_its_slot_free() {
    static RADIO: RfMailbox<2, 64> = RfMailbox::new();
    let mut task = Task::new(&RADIO);
    let mut s = app(&RADIO);
    let id = s.info().id;
    let mut backing = [0u8; 16];
    let mut mem = GuestMemory::new(&mut backing);
    assert_eq!(code(configure(&mut s, [EU868, 7, 125_000, 5, 14])), 0);
    let Err(Refusal::Trap(_)) = receive(&mut mem, &mut s, M, 0, 16, -1) else { panic!() };
    task.step();
    RfModule.app_stopped(s.board_mut(), id);
    task.step();
    assert_eq!(task.log(), ["rx 868100000 max 16", "standby"]);
    assert_eq!((&RADIO).config(id), None, "its configuration is forgotten");
    // Its restart starts afresh: configures and sends.
    assert_eq!(code(configure(&mut s, [EU868, 7, 125_000, 5, 14])), 0);
    let Err(Refusal::Trap(_)) = send(&mut mem, &mut s, M, 0, 1) else { panic!() };
    task.step();
    assert_eq!(RfModule.poll_wait_with_memory(&mut mem, &mut s, OP_SEND, pack(0, 1)), Some(0));
    // Releasing an app with nothing running sends nothing.
    RfModule.app_stopped(s.board_mut(), id);
    task.step();
    assert_eq!(task.log().len(), 3);
}

#[test]
fn the_duty_cycle_refuses_sends_beyond_the_budget_before_the_radio() {
    static RADIO: RfMailbox<2, 64> = RfMailbox::new();
    let mut task = Task::new(&RADIO);
    let mut s = app(&RADIO);
    let mut backing = [0u8; 64];
    let mut mem = GuestMemory::new(&mut backing);
    // SF12: a 64-byte packet is about 2.8 s on air; 1 % of an hour is
    // 36 s, so 12 fit.
    assert_eq!(code(configure(&mut s, [EU868, 12, 125_000, 5, 14])), 0);
    let airtime = u64::from((&RADIO).config(1).unwrap().time_on_air_us(64));
    assert_eq!(airtime, 2_793_472);
    for i in 0..12 {
        s.board_mut().rec.now = i * 10_000_000;
        let Err(Refusal::Trap(_)) = send(&mut mem, &mut s, M, 0, 64) else { panic!("send {i} refused") };
        task.step();
        assert_eq!(RfModule.poll_wait_with_memory(&mut mem, &mut s, OP_SEND, pack(0, 64)), Some(0));
    }
    s.board_mut().rec.now = 200_000_000;
    assert_eq!(code(send(&mut mem, &mut s, M, 0, 64)), Errno::NoSpace.code());
    assert_eq!(task.log().len(), 12, "the refused packet never reached the radio");
    assert_eq!(s.guard().denials(Capability::Rf), 0, "out of airtime is not a denial");
    // An hour and five minutes later the budget is back.
    s.board_mut().rec.now = 3_900_000_000;
    let Err(Refusal::Trap(_)) = send(&mut mem, &mut s, M, 0, 64) else { panic!("budget not restored") };
}

#[test]
fn bad_buffers_and_oversized_packets_are_refused() {
    static RADIO: RfMailbox<2, 64> = RfMailbox::new();
    let mut s = app(&RADIO);
    let mut backing = [0u8; 16];
    let mut mem = GuestMemory::new(&mut backing);
    assert_eq!(code(configure(&mut s, [EU868, 7, 125_000, 5, 14])), 0);
    assert_eq!(code(send(&mut mem, &mut s, M, 10, 7)), Errno::Fault.code());
    assert_eq!(code(send(&mut mem, &mut s, M, 0, 256)), Errno::TooLarge.code());
    assert_eq!(code(last_packet(&mut mem, &mut s, 13)), Errno::Fault.code());
    assert_eq!(s.guard_mut().airtime_left(0), 36_000_000, "nothing charged");
}

#[test]
fn wait_args_round_trip() {
    assert_eq!(unpack(pack(u32::MAX, 255)), (u32::MAX, 255));
}

#[test]
fn an_app_listening_forever_gives_the_radio_up_to_another_apps_send() {
    static RADIO: RfMailbox<2, 64> = RfMailbox::new();
    let mut task = Task::new(&RADIO);
    let mut listener = app(&RADIO);
    let mut sender = other_app(&RADIO);
    let mut backing = *b"ping............";
    let mut mem = GuestMemory::new(&mut backing);
    assert_eq!(code(configure(&mut listener, [EU868, 7, 125_000, 5, 14])), 0);
    assert_eq!(code(configure(&mut sender, [EU868, 9, 125_000, 5, 14])), 0);
    let Err(Refusal::Trap(_)) = receive(&mut mem, &mut listener, M, 8, 8, -1) else { panic!("not suspended") };
    task.step();
    let Err(Refusal::Trap(_)) = send(&mut mem, &mut sender, M, 0, 4) else { panic!("not suspended") };
    let send_wait = sender.take_wait().unwrap();
    task.step();
    // The receive stood aside, the send went out, and the receive listens
    // again: the sender did not wait for the listener's (endless) receive.
    assert_eq!(
        task.log(),
        ["rx 868100000 max 8", "standby", "tx 868100000 [112, 105, 110, 103]", "rx 868100000 max 8"]
    );
    assert_eq!(RfModule.poll_wait_with_memory(&mut mem, &mut sender, OP_SEND, pack(0, 4)), Some(0), "sent");
    assert!(send_wait.until > Instant::ZERO);
    assert_eq!(RfModule.poll_wait_with_memory(&mut mem, &mut listener, OP_RECEIVE, pack(8, 8)), None, "listening");
    task.air.borrow_mut().incoming.push_back((b"pong".to_vec(), PacketInfo { rssi_dbm: -70, snr_db: 8 }));
    task.step();
    assert_eq!(RfModule.poll_wait_with_memory(&mut mem, &mut listener, OP_RECEIVE, pack(8, 8)), Some(4));
    assert_eq!(mem.bytes(8, 4).unwrap(), b"pong", "the listener still got its packet");
    // A receive does not stand aside for another receive before its
    // listening window ends.
    let Err(Refusal::Trap(_)) = receive(&mut mem, &mut listener, M, 8, 8, -1) else { panic!() };
    let Err(Refusal::Trap(_)) = receive(&mut mem, &mut sender, M, 12, 4, -1) else { panic!() };
    task.step();
    assert_eq!(task.log().len(), 5, "only the first receive runs: {:?}", task.log());
}

/// Two apps on `radio` listening without a timeout (the first at SF7
/// into memory 0..8, listening; the second at SF`sf` into 8..16, queued).
fn two_listeners(
    radio: &'static RfMailbox<2, 64>,
    mem: &mut GuestMemory<'_>,
    sf: u32,
) -> (Task, AppState<Board1>, AppState<Board1>) {
    let mut task = Task::new(radio);
    let (mut first, mut second) = (app(radio), other_app(radio));
    assert_eq!(code(configure(&mut first, [EU868, 7, 125_000, 5, 14])), 0);
    assert_eq!(code(configure(&mut second, [EU868, sf, 125_000, 5, 14])), 0);
    let Err(Refusal::Trap(_)) = receive(mem, &mut first, M, 0, 8, -1) else { panic!() };
    task.step();
    let Err(Refusal::Trap(_)) = receive(mem, &mut second, M, 8, 8, -1) else { panic!() };
    (task, first, second)
}

#[test]
fn two_listeners_take_turns_within_the_listening_window_and_both_receive() {
    static RADIO: RfMailbox<2, 64> = RfMailbox::new();
    let mut backing = [0u8; 16];
    let mut mem = GuestMemory::new(&mut backing);
    let (mut task, mut first, mut second) = two_listeners(&RADIO, &mut mem, 9);
    let window = |sf| {
        let airtime = LoraConfig::new(EU868, sf, 125_000, 5, 14).unwrap().time_on_air_us(8);
        LISTEN_WINDOW.as_micros() as u64 + u64::from(airtime)
    };
    task.at(window(7) - 1);
    assert_eq!(task.log(), ["rx 868100000 max 8"], "the first listener keeps its window");
    // The first listener's window ends: the second gets the radio.
    task.at(window(7));
    assert_eq!(task.log(), ["rx 868100000 max 8", "standby", "rx 868100000 max 8"]);
    task.air.borrow_mut().incoming.push_back((b"to-2".to_vec(), PacketInfo { rssi_dbm: -70, snr_db: 8 }));
    task.step();
    assert_eq!(RfModule.poll_wait_with_memory(&mut mem, &mut second, OP_RECEIVE, pack(8, 8)), Some(4));
    assert_eq!(RfModule.poll_wait_with_memory(&mut mem, &mut first, OP_RECEIVE, pack(0, 8)), None);
    // The first listens again at once (nobody else waits) and gets its
    // packet too.
    assert_eq!(task.log().len(), 4, "{:?}", task.log());
    task.air.borrow_mut().incoming.push_back((b"to-1!".to_vec(), PacketInfo { rssi_dbm: -70, snr_db: 8 }));
    task.step();
    assert_eq!(RfModule.poll_wait_with_memory(&mut mem, &mut first, OP_RECEIVE, pack(0, 8)), Some(5));
    assert_eq!((mem.bytes(0, 5).unwrap(), mem.bytes(8, 4).unwrap()), (&b"to-1!"[..], &b"to-2"[..]));
    // Alone on the radio, a listener keeps it past any window.
    let Err(Refusal::Trap(_)) = receive(&mut mem, &mut first, M, 0, 8, -1) else { panic!() };
    task.at(10 * window(9));
    task.at(20 * window(9));
    assert_eq!(task.log().len(), 5, "{:?}", task.log());
}

#[test]
fn a_listener_that_stops_gives_its_turn_back() {
    static RADIO: RfMailbox<2, 64> = RfMailbox::new();
    let mut backing = [0u8; 16];
    let mut mem = GuestMemory::new(&mut backing);
    let (mut task, mut first, mut second) = two_listeners(&RADIO, &mut mem, 7);
    // The second stops while it waits for its turn: the first keeps
    // listening past its window, with nobody to stand aside for.
    let id = second.info().id;
    RfModule.app_stopped(second.board_mut(), id);
    task.at(60_000_000);
    assert_eq!(task.log(), ["rx 868100000 max 8"]);
    task.air.borrow_mut().incoming.push_back((b"hi".to_vec(), PacketInfo { rssi_dbm: -70, snr_db: 8 }));
    task.step();
    assert_eq!(RfModule.poll_wait_with_memory(&mut mem, &mut first, OP_RECEIVE, pack(0, 8)), Some(2));
}
