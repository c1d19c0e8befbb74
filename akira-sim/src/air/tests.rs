use super::*;
use std::net::TcpListener;
use std::thread::JoinHandle;

use akira_bridge::Instant;
use akira_bridge::modules::rf::{Job, Outcome};

use crate::rf::radio_id;

fn ms(ms: u64) -> Instant {
    Instant::from_micros(ms * 1000)
}

/// A hub for `devices` devices in a thread: its address, and its end
/// with what it logged.
fn hub(devices: usize, limit: Option<Duration>) -> (String, JoinHandle<(HubEnd, Vec<HubEvent>)>) {
    let hub = Hub::bind("127.0.0.1:0").unwrap();
    let addr = hub.local_addr().unwrap().to_string();
    let thread = std::thread::spawn(move || {
        let mut log = Vec::new();
        let end = hub.run(devices, limit, |e| log.push(e.clone())).unwrap();
        (end, log)
    });
    (addr, thread)
}

fn lora() -> LoraConfig {
    LoraConfig::new(868_100_000, 9, 125_000, 5, 14).unwrap()
}

#[test]
fn time_moves_to_the_earliest_next_event_of_any_device() {
    let (addr, hub) = hub(2, None);
    let mut a = Link::connect(&addr, Some(0)).unwrap();
    let mut b = Link::connect(&addr, Some(1)).unwrap();
    // Turns go in device order; both move to the earlier of their
    // next events, the later one waits its turn at each.
    let mut seen = Vec::new();
    for (next_a, next_b) in [(Some(ms(100)), Some(ms(300))), (Some(ms(200)), Some(ms(300))), (None, Some(ms(300)))] {
        seen.push((a.turn().unwrap(), b.turn_after(&mut a, next_a)));
        b.done(next_b).unwrap();
    }
    assert_eq!(
        seen,
        [
            (Turn::Run(ms(0)), Turn::Run(ms(0))),
            (Turn::Run(ms(100)), Turn::Run(ms(100))),
            (Turn::Run(ms(200)), Turn::Run(ms(200))),
        ]
    );
    assert_eq!(a.turn().unwrap(), Turn::Run(ms(300)));
    a.done(None).unwrap();
    assert_eq!(b.turn().unwrap(), Turn::Run(ms(300)));
    b.done(None).unwrap();
    // Nothing left on either device nor the air: both are told.
    assert_eq!((a.turn().unwrap(), b.turn().unwrap()), (Turn::Stalled, Turn::Stalled));
    assert_eq!(hub.join().unwrap().0, HubEnd::Stalled(ms(300)));
}

impl Link {
    /// Ends `other`'s turn, then waits for this link's.
    fn turn_after(&mut self, other: &mut Link, next: Option<Instant>) -> Turn {
        other.done(next).unwrap();
        self.turn().unwrap()
    }
}

#[test]
fn a_packet_crosses_devices_and_wakes_the_air_when_it_lands() {
    let (addr, hub) = hub(2, None);
    let mut ping = Link::connect(&addr, Some(0)).unwrap();
    let mut pong = Link::connect(&addr, Some(1)).unwrap();
    assert_eq!(ping.turn().unwrap(), Turn::Run(ms(0)));
    ping.rf_configure(0, &lora()).unwrap();
    assert_eq!(ping.rf_config(0), Some(lora()));
    ping.rf_start(0, Job::Send(b"ping"), ms(5000)).unwrap();
    ping.done(None).unwrap();
    assert_eq!(pong.turn().unwrap(), Turn::Run(ms(0)));
    assert_eq!(pong.rf_config(0), None, "device 1's app 0 is another radio");
    pong.rf_configure(0, &lora()).unwrap();
    pong.rf_start(0, Job::Receive { max_len: 32 }, ms(5000)).unwrap();
    let mut buf = [0u8; 32];
    assert_eq!(pong.rf_poll(0, &mut buf), None, "on the air");
    pong.done(None).unwrap();
    // Neither device has a timer: the end of the transmission (4
    // bytes at SF9, 113.664 ms) is the next event.
    let landed = Instant::from_micros(u64::from(lora().time_on_air_us(4)));
    assert_eq!(ping.turn().unwrap(), Turn::Run(landed));
    assert_eq!(ping.rf_poll(0, &mut buf), Some(Ok(Outcome::Sent)));
    ping.done(None).unwrap();
    assert_eq!(pong.turn().unwrap(), Turn::Run(landed));
    let got = pong.rf_poll(0, &mut buf);
    assert_eq!(got, Some(Ok(Outcome::Received { len: 4, packet: crate::rf::QUALITY })));
    assert_eq!(&buf[..4], b"ping");
    assert_eq!(pong.rf_last_packet(0), Some(crate::rf::QUALITY));
    assert!(pong.deliveries() > 0);
    // Its app done, the device leaves in its turn; nothing is left
    // to happen for the other.
    drop(pong);
    assert_eq!(ping.turn().unwrap(), Turn::Stalled);
    let (end, log) = hub.join().unwrap();
    assert_eq!(end, HubEnd::Stalled(landed));
    assert!(log.contains(&HubEvent::Left { device: 1, at: landed, reason: "left the air".into() }), "{log:?}");
}

#[test]
fn advertisements_reach_a_scanner_on_another_device_from_its_address() {
    let (addr, hub) = hub(2, None);
    let mut beacon = Link::connect(&addr, Some(3)).unwrap();
    let mut scanner = Link::connect(&addr, Some(7)).unwrap();
    let adv = AdvConfig { interval_ms: 500, data: AdvData::new(b"\x02\x01\x06").unwrap(), scan_response: None };
    assert_eq!(beacon.turn().unwrap(), Turn::Run(ms(0)));
    beacon.ble_start(1, BleJob::Advertise(adv)).unwrap();
    assert_eq!(beacon.ble_poll(1), Some(Ok(())));
    beacon.done(None).unwrap();
    assert_eq!(scanner.turn().unwrap(), Turn::Run(ms(0)));
    assert_eq!(scanner.ble_next_report(2), Err(Errno::Invalid), "not scanning");
    scanner.ble_start(2, BleJob::Scan(ScanConfig { active: false, interval_ms: 100, window_ms: 100 })).unwrap();
    assert_eq!(scanner.ble_next_report(2), Ok(None));
    scanner.done(None).unwrap();
    // Jobs completed on the air in that pass: another at the same
    // instant, as on one board.
    assert_eq!(beacon.turn().unwrap(), Turn::Run(ms(0)));
    beacon.done(None).unwrap();
    assert_eq!(scanner.turn().unwrap(), Turn::Run(ms(0)));
    scanner.done(None).unwrap();
    // The next advertising event wakes both.
    assert_eq!(beacon.turn().unwrap(), Turn::Run(ms(500)));
    beacon.done(None).unwrap();
    assert_eq!(scanner.turn().unwrap(), Turn::Run(ms(500)));
    let report = scanner.ble_next_report(2).unwrap().unwrap();
    assert_eq!(report.address, crate::ble::address(radio_id(3, 1)));
    assert_eq!(report.address, [1, 0, 3, 0, 0xde, 0xc0]);
    assert_eq!((report.kind, report.data.as_bytes()), (ReportKind::AdvNonconnInd, &b"\x02\x01\x06"[..]));
    // The scanner leaves: nobody hears the beacon, nothing is left to
    // happen.
    drop(scanner);
    assert_eq!(beacon.turn().unwrap(), Turn::Stalled);
    assert_eq!(hub.join().unwrap().0, HubEnd::Stalled(ms(500)));
}

#[test]
fn a_device_that_vanishes_mid_turn_leaves_the_air_and_the_others_go_on() {
    let (addr, hub) = hub(2, None);
    let mut sender = Link::connect(&addr, Some(0)).unwrap();
    let mut other = Link::connect(&addr, Some(1)).unwrap();
    assert_eq!(sender.turn().unwrap(), Turn::Run(ms(0)));
    sender.rf_configure(0, &lora()).unwrap();
    sender.rf_start(0, Job::Send(b"lost"), ms(5000)).unwrap();
    // Killed in its turn: the connection closes without a word.
    sender.stream.shutdown(std::net::Shutdown::Both).unwrap();
    sender.left = true;
    drop(sender);
    // The other device still gets its turns; the vanished device's
    // packet left the air with it, so time goes straight to the
    // other's timer.
    assert_eq!(other.turn().unwrap(), Turn::Run(ms(0)));
    other.done(Some(ms(1000))).unwrap();
    assert_eq!(other.turn().unwrap(), Turn::Run(ms(1000)));
    other.done(None).unwrap();
    assert_eq!(other.turn().unwrap(), Turn::Stalled);
    let (end, log) = hub.join().unwrap();
    assert_eq!(end, HubEnd::Stalled(ms(1000)));
    assert!(log.contains(&HubEvent::Left { device: 0, at: ms(0), reason: "disconnected".into() }), "{log:?}");
}

#[test]
fn the_hub_time_limit_ends_every_device() {
    let (addr, hub) = hub(1, Some(Duration::from_millis(250)));
    let mut link = Link::connect(&addr, None).unwrap();
    assert_eq!(link.device(), 0, "the lowest free number");
    assert_eq!(link.turn().unwrap(), Turn::Run(ms(0)));
    link.done(Some(ms(1000))).unwrap();
    // As on one board, nothing runs at the limit.
    assert_eq!(link.turn().unwrap(), Turn::TimeLimit);
    assert_eq!(hub.join().unwrap().0, HubEnd::TimeLimit(ms(250)));
}

#[test]
fn bad_peers_are_refused_with_typed_errors_and_the_hub_waits_on() {
    let (addr, hub) = hub(1, None);
    // Not a device: garbage, then a hello of another version.
    // Each hello is read on a thread of its own; the hub closes a refused
    // connection after logging it, so each peer waits for that close
    // before the next one comes (the log's order is then the test's).
    let closed_by_hub = |mut stream: TcpStream| {
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut rest = Vec::new();
        // A close with the junk unread arrives as a reset.
        if let Err(e) = stream.read_to_end(&mut rest) {
            assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "the hub closes a refused connection");
        }
    };
    let mut junk = TcpStream::connect(&addr).unwrap();
    junk.write_all(&[0xff; 16]).unwrap();
    junk.shutdown(std::net::Shutdown::Write).unwrap();
    closed_by_hub(junk);
    let mut old = TcpStream::connect(&addr).unwrap();
    send(&mut old, &Up::Hello { magic: MAGIC, version: PROTOCOL + 1, device: None }).unwrap();
    assert!(matches!(recv::<Down>(&mut old), Ok(Down::Refused { why: Refusal::Version, .. })));
    closed_by_hub(old);
    // A device on the hub's version takes number 5; a second asking
    // for it would be refused, but the hub starts with the first.
    let mut link = Link::connect(&addr, Some(5)).unwrap();
    assert_eq!(link.turn().unwrap(), Turn::Run(ms(0)));
    link.done(None).unwrap();
    assert_eq!(link.turn().unwrap(), Turn::Stalled);
    let (_, log) = hub.join().unwrap();
    let refused = log.iter().filter(|e| matches!(e, HubEvent::Refused { .. })).count();
    assert_eq!(refused, 2, "{log:?}");
}

#[test]
fn a_peers_bad_radio_settings_are_refused_and_bad_frames_end_it() {
    let (addr, hub) = hub(1, None);
    let mut link = Link::connect(&addr, None).unwrap();
    assert_eq!(link.turn().unwrap(), Turn::Run(ms(0)));
    let refused = |reply: Option<Reply>, errno: Errno| matches!(reply, Some(Reply::Done(Err(c))) if c == errno.code());
    // Settings no radio takes (a zero bandwidth would divide by zero).
    let bad =
        WireLora { frequency_hz: 868_100_000, spreading_factor: 70, bandwidth_hz: 0, coding_rate: 0, power_dbm: 1 };
    assert!(refused(link.call(Up::RfConfigure { app: 0, config: bad }), Errno::Invalid));
    assert_eq!(link.rf_config(0), None);
    link.rf_configure(0, &lora()).unwrap();
    let long = Up::RfSend { app: 0, data: vec![0; 300], deadline: u64::MAX };
    assert!(refused(link.call(long), Errno::TooLarge));
    let adv = WireBleJob::Advertise { interval_ms: 0, data: vec![], scan_response: None };
    assert!(refused(link.call(Up::BleStart { app: 0, job: adv }), Errno::Invalid));
    let scan = WireBleJob::Scan { active: true, interval_ms: 10, window_ms: 20 };
    assert!(refused(link.call(Up::BleStart { app: 0, job: scan }), Errno::Invalid));
    // A frame that does not decode: the device is dropped.
    link.stream.write_all(&[2, 0, 0, 0, 0xff, 0xff]).unwrap();
    assert!(matches!(link.turn(), Err(AirError::HubGone(_))));
    let (end, log) = hub.join().unwrap();
    assert_eq!(end, HubEnd::AllLeft(ms(0)));
    let reason = log.iter().find_map(|e| match e {
        HubEvent::Left { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    assert!(reason.is_some_and(|r| r.starts_with("protocol error: malformed message")), "{log:?}");
}

#[test]
fn a_taken_device_number_is_refused() {
    let (addr, hub) = hub(2, None);
    let mut first = Link::connect(&addr, Some(1)).unwrap();
    assert_eq!(Link::connect(&addr, Some(1)).unwrap_err(), AirError::DeviceTaken(1));
    let mut second = Link::connect(&addr, None).unwrap();
    assert_eq!(second.device(), 0);
    assert_eq!(second.turn().unwrap(), Turn::Run(ms(0)));
    second.done(None).unwrap();
    assert_eq!(first.turn().unwrap(), Turn::Run(ms(0)));
    first.done(None).unwrap();
    drop((first, second));
    hub.join().unwrap();
}

#[test]
fn a_device_reports_what_it_reached_that_is_not_a_hub() {
    // Nothing listening.
    let free = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = free.local_addr().unwrap().to_string();
    drop(free);
    assert!(matches!(Link::connect(&addr, None), Err(AirError::Connect { .. })));
    // Something that answers another protocol: an echo of the hello.
    let echo = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = echo.local_addr().unwrap().to_string();
    let server = std::thread::spawn(move || {
        let (mut s, _) = echo.accept().unwrap();
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).unwrap();
        s.write_all(&buf[..n]).unwrap();
    });
    assert!(matches!(Link::connect(&addr, None), Err(AirError::NotAHub(_))));
    server.join().unwrap();
    // A hub that speaks another version.
    let (addr, other) = fake_hub(|s| {
        let _ = send(s, &Down::Refused { magic: HUB_MAGIC, version: 9, why: Refusal::Version });
    });
    assert_eq!(Link::connect(&addr, None).unwrap_err(), AirError::Version { hub: 9, device: PROTOCOL });
    other.join().unwrap();
    // A hub that welcomes, then goes away.
    let (addr, gone) = fake_hub(|s| {
        let _ = send(s, &Down::Welcome { magic: HUB_MAGIC, version: PROTOCOL, device: 0 });
    });
    let mut link = Link::connect(&addr, None).unwrap();
    gone.join().unwrap();
    assert!(matches!(link.turn(), Err(AirError::HubGone(_))));
    assert_eq!(link.rf_configure(0, &lora()), Err(Errno::Io), "calls fail once the hub is lost");
    assert!(link.error().is_some());
}

/// A listener that reads one hello and answers with `answer`.
fn fake_hub(answer: impl FnOnce(&mut TcpStream) + Send + 'static) -> (String, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let thread = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let _ = recv::<Up>(&mut s);
        answer(&mut s);
    });
    (addr, thread)
}
