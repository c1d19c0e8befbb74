use super::*;
use akira_bridge::modules::ble::AdvData;

fn beacon(interval_ms: u16, rsp: Option<&[u8]>) -> BleJob {
    BleJob::Advertise(AdvConfig {
        interval_ms,
        data: AdvData::new(b"\x02\x01\x06").unwrap(),
        scan_response: rsp.map(|r| AdvData::new(r).unwrap()),
    })
}

fn at(ms: u64) -> Instant {
    Instant::from_micros(ms * 1000)
}

#[test]
fn advertisements_reach_other_scanners_each_interval() {
    let mut air = SimBle::default();
    air.start(2, at(0), BleJob::Scan(ScanConfig::new(1, 100, 100).unwrap())).unwrap();
    assert_eq!(air.next_event(), None, "nobody advertises");
    air.start(1, at(10), beacon(100, Some(b"\x02\x09x"))).unwrap();
    assert_eq!(air.poll(1), Some(Ok(())));
    // The first event at once: the advertisement and, scanning
    // actively, the scan response.
    let r = air.next_report(2, at(10)).unwrap().unwrap();
    assert_eq!((r.address, r.rssi_dbm, r.kind), (address(1), -50, ReportKind::AdvScanInd));
    assert_eq!(air.next_report(2, at(10)).unwrap().unwrap().kind, ReportKind::ScanRsp);
    assert_eq!(air.next_report(2, at(109)).unwrap(), None);
    assert_eq!(air.next_event(), Some(at(110)));
    assert!(air.next_report(2, at(110)).unwrap().is_some());
    assert_eq!(air.next_report(1, at(110)), Err(Errno::Invalid), "not scanning");
    // An hour later the queue holds the newest QUEUE reports.
    air.next_report(2, at(3_600_000)).unwrap();
    let left = std::iter::from_fn(|| air.next_report(2, at(3_600_000)).unwrap()).count();
    assert_eq!(left, QUEUE - 1);
    air.start(2, at(3_600_000), BleJob::StopScanning).unwrap();
    assert_eq!(air.next_event(), None, "nobody scans");
}

#[test]
fn advertisers_of_one_device_share_its_set_by_turns() {
    let mut air = SimBle::default();
    let data = |b: &[u8]| AdvData::new(b).unwrap();
    let adv = |b: &[u8]| BleJob::Advertise(AdvConfig { interval_ms: 100, data: data(b), scan_response: None });
    air.start(9, at(0), BleJob::Scan(ScanConfig::new(0, 100, 100).unwrap())).unwrap();
    air.start(1, at(0), adv(b"one")).unwrap();
    // Who the scanner hears over 2 s, app 2 advertising from 50 ms.
    let mut heard = Vec::new();
    for ms in (0..2000).step_by(10) {
        if ms == 50 {
            air.start(2, at(50), adv(b"two")).unwrap();
            assert_eq!(air.poll(2), Some(Ok(())), "no EBUSY: the set is shared");
        }
        while let Some(r) = air.next_report(9, at(ms)).unwrap() {
            heard.push((ms, r.data.as_bytes()[1]));
        }
    }
    let from =
        |app: u8, range: std::ops::Range<u64>| heard.iter().filter(|(t, a)| *a == app && range.contains(t)).count();
    // app 1 from 0 until app 2's advertise at 50 ms; app 2's turn to
    // 550; then 500 ms each.
    assert_eq!((from(b'n', 0..50), from(b'w', 0..50)), (1, 0));
    assert_eq!((from(b'n', 50..550), from(b'w', 50..550)), (0, 5));
    assert_eq!((from(b'n', 550..1050), from(b'w', 550..1050)), (5, 0));
    assert_eq!((from(b'n', 1050..1550), from(b'w', 1050..1550)), (0, 5));
    assert_eq!(air.next_event(), Some(at(2050)), "app 2's turn ends at 2 050 ms");
    // App 2 stops running: app 1 has the set to itself, past any turn.
    assert_eq!(air.forget(2), None);
    heard.clear();
    for ms in (2000..4000).step_by(10) {
        while let Some(r) = air.next_report(9, at(ms)).unwrap() {
            heard.push((ms, r.data.as_bytes()[1]));
        }
    }
    assert_eq!(heard.len(), 20, "every 100 ms: {heard:?}");
    assert!(heard.iter().all(|(_, a)| *a == b'n'));
}

impl SimBle {
    fn central_at(&mut self, op: &CentralOp) -> Result<String, String> {
        self.central(op, at(0))
    }
}

#[test]
fn the_phone_connects_writes_reads_and_is_notified() {
    use akira_bridge::modules::gatt::Characteristic;
    let mut air = SimBle::default();
    let op = |t: &str| t.parse::<CentralOp>().unwrap();
    assert_eq!(air.central_at(&op("connect")), Err("no app serves GATT".into()));
    air.gatt_declare(1, GattDeclaration::Service(Uuid::Short(0x181a))).unwrap();
    let chr = |uuid, properties| {
        GattDeclaration::Characteristic(Characteristic { service: 0, uuid: Uuid::Short(uuid), properties, max_len: 2 })
    };
    assert_eq!(air.gatt_declare(1, chr(0x2a6e, property::READ | property::NOTIFY)), Ok(0));
    assert_eq!(air.gatt_declare(1, chr(0x2a1f, property::WRITE)), Ok(1));
    let adv = AdvConfig { interval_ms: 100, data: AdvData::EMPTY, scan_response: None };
    assert_eq!(air.gatt_start(1, at(0), GattJob::Start(adv), &[]), Ok((true, None)));
    assert_eq!(air.gatt_poll(1), Some(Ok(())));
    air.gatt_start(1, at(0), GattJob::SetValue(0), &[0x66, 0x08]).unwrap();
    assert_eq!(air.central_at(&op("connect")), Ok("connected to c0:de:00:00:00:01".into()));
    assert_eq!(air.central_at(&op("read:2a6e")), Ok("read 2a6e [66 08]".into()));
    assert_eq!(air.central_at(&op("read:2a1f")), Err("2a1f: not permitted".into()));
    assert_eq!(air.central_at(&op("write:2a1f=e80300")), Err("write 2a1f: 3 bytes, at most 2".into()));
    assert_eq!(air.central_at(&op("write:2a1f=e803")), Ok("wrote 2a1f [e8 03]".into()));
    // Not subscribed yet: a notification reaches nobody.
    assert_eq!(air.gatt_start(1, at(0), GattJob::Notify(0), &[1, 2]), Ok((true, None)));
    assert_eq!(air.central_at(&op("subscribe:2a6e")), Ok("subscribed to 2a6e".into()));
    assert_eq!(air.gatt_start(1, at(0), GattJob::Notify(0), &[3, 4]), Ok((true, Some("notified 2a6e [03 04]".into()))));
    assert_eq!(air.central_at(&op("disconnect")), Ok("disconnected".into()));
    let events: Vec<u8> = std::iter::from_fn(|| air.gatt_next_event(1).unwrap()).map(|e| e.kind()).collect();
    assert_eq!(events, [1, 3, 4, 2]);
    assert_eq!(air.gatt_next_event(2), Err(Errno::Invalid), "not serving");
    assert!("write:2a1f".parse::<CentralOp>().is_err());
    assert!("fly".parse::<CentralOp>().is_err());
    let long = "12345678-9abc-def0-1234-56789abcdef0";
    assert_eq!(parse_uuid(long).unwrap().to_string(), long);
}

#[test]
fn two_apps_serve_one_merged_table_and_the_phone_reaches_both() {
    use akira_bridge::modules::gatt::Characteristic;
    let mut air = SimBle::default();
    let op = |t: &str| t.parse::<CentralOp>().unwrap();
    let chr = |uuid, properties| {
        GattDeclaration::Characteristic(Characteristic { service: 0, uuid: Uuid::Short(uuid), properties, max_len: 2 })
    };
    let adv = AdvConfig { interval_ms: 100, data: AdvData::EMPTY, scan_response: None };
    // App 1: a thermometer (2a6e notify at its handle 0); app 2: a
    // setpoint (2a1f write at its handle 0) in a service of its own.
    for (app, service, c) in
        [(1, 0x181a, chr(0x2a6e, property::READ | property::NOTIFY)), (2, 0x1815, chr(0x2a1f, property::WRITE))]
    {
        air.gatt_declare(app, GattDeclaration::Service(Uuid::Short(service))).unwrap();
        assert_eq!(air.gatt_declare(app, c), Ok(0), "each app has its own handles");
        assert_eq!(air.gatt_start(app, at(0), GattJob::Start(adv), &[]), Ok((true, None)), "no EBUSY");
    }
    assert_eq!(air.gatt_declare(3, GattDeclaration::Service(Uuid::Short(1))), Err(Errno::Busy), "two tables at most");
    assert_eq!(air.central_at(&op("connect")), Ok("connected to c0:de:00:00:00:01".into()));
    // The write reaches app 2, the subscription app 1.
    assert_eq!(air.central_at(&op("write:2a1f=e803")), Ok("wrote 2a1f [e8 03]".into()));
    assert_eq!(air.central_at(&op("subscribe:2a6e")), Ok("subscribed to 2a6e".into()));
    assert_eq!(air.gatt_start(1, at(0), GattJob::Notify(0), &[3, 4]), Ok((true, Some("notified 2a6e [03 04]".into()))));
    let events = |air: &mut SimBle, app| std::iter::from_fn(|| air.gatt_next_event(app).unwrap()).collect::<Vec<_>>();
    assert_eq!(
        events(&mut air, 1),
        [GattEvent::Connected { address: PHONE, address_kind: 1 }, GattEvent::Subscribed { characteristic: 0 }]
    );
    let written = GattEvent::Written { characteristic: 0, value: Value::new(&[0xe8, 3]).unwrap() };
    assert_eq!(events(&mut air, 2), [GattEvent::Connected { address: PHONE, address_kind: 1 }, written]);
    // App 1 stops running: the table changes, the phone is disconnected
    // and app 2 told; reconnected, it finds app 2's characteristic only.
    assert_eq!(air.forget(1), Some("disconnected by the peripheral: its table changed".into()));
    assert_eq!(events(&mut air, 2), [GattEvent::Disconnected { reason: TABLE_CHANGED }]);
    assert_eq!(air.central_at(&op("connect")), Ok("connected to c0:de:00:00:00:02".into()));
    assert_eq!(air.central_at(&op("read:2a6e")), Err("no characteristic 2a6e".into()));
    assert_eq!(air.gatt_declare(3, GattDeclaration::Service(Uuid::Short(1))), Ok(0), "app 1's place is free");
}

#[test]
fn a_gatt_server_advertises_connectable_until_the_phone_connects() {
    let mut air = SimBle::default();
    air.start(2, at(0), BleJob::Scan(ScanConfig::new(0, 100, 100).unwrap())).unwrap();
    air.gatt_declare(1, GattDeclaration::Service(Uuid::Short(0x181a))).unwrap();
    let adv = AdvConfig { interval_ms: 200, data: AdvData::new(b"\x02\x01\x06").unwrap(), scan_response: None };
    air.gatt_start(1, at(0), GattJob::Start(adv), &[]).unwrap();
    let r = air.next_report(2, at(0)).unwrap().unwrap();
    assert_eq!((r.address, r.kind), (address(1), ReportKind::AdvInd));
    assert_eq!(air.next_event(), Some(at(200)));
    air.central(&"connect".parse().unwrap(), at(250)).unwrap();
    assert!(air.next_report(2, at(250)).unwrap().is_some(), "the 200 ms event");
    assert_eq!(air.next_event(), None, "connected: no more advertising");
    assert_eq!(air.next_report(2, at(1000)).unwrap(), None);
    air.central(&"disconnect".parse().unwrap(), at(1000)).unwrap();
    assert!(air.next_report(2, at(1000)).unwrap().is_some(), "advertising again at once");
    assert_eq!(air.next_event(), Some(at(1200)));
}
