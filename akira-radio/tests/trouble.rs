//! `TroubleBle` end to end on the host: an app's GATT table served
//! through trouble-host over bt-hci's `ExternalController` on a scripted
//! HCI transport. The transport answers every command (Command Complete,
//! or Command Status for the asynchronous ones) and records the bytes the
//! host sends; the test plays a central's connection and ATT requests as
//! HCI packets and checks the exact advertising commands, the ATT
//! responses and notifications on the link, and the events the app gets
//! through the board's `BleMailbox`.
#![cfg(feature = "trouble")]

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::rc::Rc;
use std::task::{Poll, Waker};

use akira_bridge::modules::ble::AdvData;
use akira_bridge::modules::gatt::{Characteristic, GattEvent, Uuid, Value, property};
use akira_bridge::time::Instant;
use akira_bridge::{AdvConfig, Ble, BleMailbox, Errno, GattDeclaration, GattJob};
use akira_radio::trouble::TroubleBle;
use bt_hci::controller::ExternalController;
use bt_hci::transport::{PacketKind, PacketToController, PacketToHost, Transport, WithIndicator};
use embassy_futures::select::{Either, select};
use trouble_host::prelude::{DefaultPacketPool, HostResources};

/// The scripted controller's side of the transport.
#[derive(Default)]
struct Air {
    to_host: RefCell<VecDeque<Vec<u8>>>,
    /// What the host sent, indicator byte first.
    sent: RefCell<Vec<Vec<u8>>>,
    waker: RefCell<Option<Waker>>,
}

impl Air {
    fn push(&self, packet: Vec<u8>) {
        self.to_host.borrow_mut().push_back(packet);
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
    }

    /// HCI commands sent, as (opcode, parameters).
    fn commands(&self) -> Vec<(u16, Vec<u8>)> {
        let sent = self.sent.borrow();
        sent.iter().filter(|p| p[0] == 1).map(|p| (u16::from_le_bytes([p[1], p[2]]), p[4..].to_vec())).collect()
    }

    /// ATT PDUs sent on the link (ACL, L2CAP channel 4).
    fn att(&self) -> Vec<Vec<u8>> {
        let sent = self.sent.borrow();
        sent.iter().filter(|p| p[0] == 2 && p[7..9] == [4, 0]).map(|p| p[9..].to_vec()).collect()
    }
}

#[derive(Debug)]
struct Broken;

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("broken HCI packet")
    }
}

impl std::error::Error for Broken {}

impl embedded_io::Error for Broken {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::Other
    }
}

impl<E: embedded_io::Error> From<bt_hci::ReadHciError<E>> for Broken {
    fn from(_: bt_hci::ReadHciError<E>) -> Self {
        Broken
    }
}

struct Scripted(Rc<Air>);

impl embedded_io::ErrorType for Scripted {
    type Error = Broken;
}

/// Asynchronous commands: answered with Command Status.
const ASYNC: [u16; 5] = [0x0406, 0x200d, 0x2013, 0x2016, 0x2032];

const CONN: u16 = 0x0040;

impl Transport for Scripted {
    async fn read<'a, P: PacketToHost<'a>>(&self, rx: &'a mut [u8]) -> Result<P, Broken> {
        let packet = poll_fn(|cx| match self.0.to_host.borrow_mut().pop_front() {
            Some(p) => Poll::Ready(p),
            None => {
                *self.0.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await;
        let mut reader = &packet[..];
        let kind = PacketKind::read(&mut reader)?;
        Ok(P::read_hci(kind, &mut reader, rx)?)
    }

    async fn write<P: PacketToController>(&self, tx: &P) -> Result<(), Broken> {
        let mut buf = [0u8; 512];
        let mut w = &mut buf[..];
        WithIndicator::new(tx).write_hci(&mut w).map_err(|_| Broken)?;
        let n = 512 - w.len();
        let bytes = buf[..n].to_vec();
        match bytes[0] {
            1 => {
                let op = [bytes[1], bytes[2]];
                let opcode = u16::from_le_bytes(op);
                if ASYNC.contains(&opcode) {
                    self.0.push(vec![4, 0x0f, 4, 0, 1, op[0], op[1]]);
                } else {
                    let ret: &[u8] = match opcode {
                        // LE Read Buffer Size: 251-byte ACL, 3 of them.
                        0x2002 => &[251, 0, 3],
                        // LE Read Filter Accept List Size.
                        0x200f => &[8],
                        // Read BD_ADDR.
                        0x1009 => &[1, 2, 3, 4, 5, 6],
                        _ => &[],
                    };
                    let mut event = vec![4, 0x0e, 4 + ret.len() as u8, 1, op[0], op[1], 0];
                    event.extend_from_slice(ret);
                    self.0.push(event);
                }
            }
            2 => {
                // Number Of Completed Packets: the controller sent it.
                let h = CONN.to_le_bytes();
                self.0.push(vec![4, 0x13, 5, 1, h[0], h[1], 1, 0]);
            }
            _ => {}
        }
        self.0.sent.borrow_mut().push(bytes);
        Ok(())
    }
}

/// An ATT PDU from the central on the link.
/// The central's address, least significant byte first.
const PEER: [u8; 6] = [0x11, 0x22, 0x33, 0x44, 0x55, 0xc6];

/// LE Connection Complete from `peer`, the device in the peripheral role.
fn connection_complete(peer: [u8; 6]) -> Vec<u8> {
    let h = CONN.to_le_bytes();
    let mut complete = vec![4, 0x3e, 19, 0x01, 0, h[0], h[1], 1, 1];
    complete.extend_from_slice(&peer);
    complete.extend_from_slice(&[24, 0, 0, 0, 0x48, 0, 0]);
    complete
}

fn att_from_central(pdu: &[u8]) -> Vec<u8> {
    let h = (CONN | 0x2000).to_le_bytes();
    let l2cap_len = (pdu.len() as u16).to_le_bytes();
    let acl_len = (pdu.len() as u16 + 4).to_le_bytes();
    let mut p = vec![2, h[0], h[1], acl_len[0], acl_len[1], l2cap_len[0], l2cap_len[1], 4, 0];
    p.extend_from_slice(pdu);
    p
}

/// Polls `f` between turns of the other futures until it has something.
async fn until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    for _ in 0..100_000 {
        if let Some(t) = f() {
            return t;
        }
        embassy_futures::yield_now().await;
    }
    panic!("no {what} after 100 000 turns");
}

const APP: u16 = 1;

/// Runs `app` (given the scripted air and the board's mailbox) beside a
/// TroubleBle host over that air, serving the mailbox, until it ends. The
/// tests have one legacy advertiser at most: no turns to time.
fn with_host<F: Future<Output = ()>>(app: impl FnOnce(Rc<Air>, &'static BleMailbox<2, 4>) -> F) {
    let air = Rc::new(Air::default());
    let controller: ExternalController<_, 4> = ExternalController::new(Scripted(air.clone()));
    let mut resources: HostResources<DefaultPacketPool, 1, 2> = HostResources::new();
    let stack = trouble_host::new(controller, &mut resources).build();
    let host = TroubleBle::new(stack);
    let mailbox: &'static BleMailbox<2, 4> = Box::leak(Box::new(BleMailbox::new()));
    let serve = Box::pin(host.serve(mailbox, embedded_hal_mock::eh1::delay::NoopDelay));
    match embassy_futures::block_on(select(serve, Box::pin(app(air, mailbox)))) {
        Either::First(never) => never,
        Either::Second(()) => {}
    }
}

#[test]
fn an_app_serves_its_table_to_a_central_through_trouble_host() {
    with_host(|air, mut board| async move {
        let now = Instant::ZERO;
        // The GATT side is served once the task runs.
        let service =
            until("GATT server", || board.gatt_declare(APP, GattDeclaration::Service(Uuid::Short(0x181a))).ok()).await;
        assert_eq!(service, 0);
        let chr = |uuid, properties, max_len| {
            GattDeclaration::Characteristic(Characteristic { service: 0, uuid, properties, max_len })
        };
        assert_eq!(board.gatt_declare(APP, chr(Uuid::Short(0x2a6e), property::READ | property::NOTIFY, 2)), Ok(0));
        assert_eq!(board.gatt_declare(APP, chr(Uuid::Long([0xee; 16]), property::WRITE, 8)), Ok(1));
        let adv = AdvConfig { interval_ms: 100, data: AdvData::new(&[2, 1, 6]).unwrap(), scan_response: None };
        assert_eq!(board.gatt_start(APP, GattJob::Start(adv), &[], now), Ok(true));
        assert_eq!(until("start", || board.gatt_poll(APP, now)).await, Ok(()));

        // Connectable undirected advertising every 100 ms (160 units)
        // on all three channels, then the app's data, then enable.
        let commands = air.commands();
        let adv_params = commands.iter().position(|(op, _)| *op == 0x2006).expect("LE Set Advertising Parameters");
        assert_eq!(commands[adv_params].1, [160, 0, 160, 0, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0]);
        let tail: Vec<_> = commands[adv_params + 1..].iter().collect();
        assert_eq!(tail[0].0, 0x2008, "LE Set Advertising Data");
        assert_eq!(tail[0].1[..4], [3, 2, 1, 6]);
        assert_eq!(*tail[1], (0x200a, vec![1]), "LE Set Advertising Enable");

        // A central connects: LE Connection Complete, peripheral role.
        air.push(connection_complete(PEER));
        let connected = until("connection", || board.gatt_next_event(APP, now).ok().flatten()).await;
        assert_eq!(connected, GattEvent::Connected { address: PEER, address_kind: 1 });

        // The app sets a value; the central reads it (handle 3).
        assert_eq!(board.gatt_start(APP, GattJob::SetValue(0), &[0x10, 0x09], now), Ok(true));
        assert_eq!(until("set", || board.gatt_poll(APP, now)).await, Ok(()));
        air.push(att_from_central(&[0x0a, 3, 0]));
        until("read response", || air.att().contains(&vec![0x0b, 0x10, 0x09]).then_some(())).await;

        // The central writes the command characteristic (handle 6).
        air.push(att_from_central(&[0x12, 6, 0, b'g', b'o']));
        let written = until("write", || board.gatt_next_event(APP, now).ok().flatten()).await;
        assert_eq!(written, GattEvent::Written { characteristic: 1, value: Value::new(b"go").unwrap() });
        until("write response", || air.att().contains(&vec![0x13]).then_some(())).await;
        // Longer than the characteristic: refused, no event.
        air.push(att_from_central(&[0x12, 6, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]));
        until("error response", || air.att().contains(&vec![0x01, 0x12, 6, 0, 0x0d]).then_some(())).await;

        // It subscribes to the temperature (configuration, handle 4); a
        // notify goes out on the link.
        air.push(att_from_central(&[0x12, 4, 0, 1, 0]));
        let subscribed = until("subscription", || board.gatt_next_event(APP, now).ok().flatten()).await;
        assert_eq!(subscribed, GattEvent::Subscribed { characteristic: 0 });
        assert_eq!(board.gatt_start(APP, GattJob::Notify(0), &[0x11, 0x09], now), Ok(true));
        assert_eq!(until("notify", || board.gatt_poll(APP, now)).await, Ok(()));
        until("notification", || air.att().contains(&vec![0x1b, 3, 0, 0x11, 0x09]).then_some(())).await;

        // The central leaves (0x13: remote user terminated).
        let h = CONN.to_le_bytes();
        air.push(vec![4, 0x05, 4, 0, h[0], h[1], 0x13]);
        let left = until("disconnection", || board.gatt_next_event(APP, now).ok().flatten()).await;
        assert_eq!(left, GattEvent::Disconnected { reason: 0x13 });
        // Advertising again: a second enable.
        until("advertising again", || {
            (air.commands().iter().filter(|c| **c == (0x200a, vec![1])).count() == 2).then_some(())
        })
        .await;

        // Another app cannot advertise while one serves GATT: the set is
        // the server's.
        let other = akira_bridge::BleJob::Advertise(adv);
        match board.start(2, other, Instant::from_micros(1_000_000)) {
            Ok(()) => assert_eq!(until("advertise", || board.poll(2, now)).await, Err(Errno::Busy)),
            Err(e) => assert_eq!(e, Errno::Busy),
        }
        assert_eq!(board.gatt_start(APP, GattJob::Stop, &[], now), Ok(true));
        assert_eq!(until("stop", || board.gatt_poll(APP, now)).await, Ok(()));
        until("advertising off", || air.commands().last().filter(|c| **c == (0x200a, vec![0])).map(|_| ())).await;
    });
}

#[test]
fn apps_advertise_and_scan_through_trouble_host() {
    use akira_bridge::modules::ble::ReportKind;
    use akira_bridge::{BleJob, ScanConfig};

    with_host(|air, mut board| async move {
        let now = Instant::ZERO;
        let deadline = Instant::from_micros(1_000_000);
        // A beacon with a scan response: scannable, not connectable
        // (ADV_SCAN_IND), every 250 ms (400 units).
        let adv = AdvConfig {
            interval_ms: 250,
            data: AdvData::new(&[2, 1, 6]).unwrap(),
            scan_response: Some(AdvData::new(&[3, 9, b'a', b'k']).unwrap()),
        };
        assert_eq!(board.start(APP, BleJob::Advertise(adv), deadline), Ok(()));
        assert_eq!(until("advertise", || board.poll(APP, now)).await, Ok(()));
        let commands = air.commands();
        let at = commands.iter().position(|(op, _)| *op == 0x2006).expect("LE Set Advertising Parameters");
        assert_eq!(commands[at].1[..5], [0x90, 1, 0x90, 1, 0x02]);
        assert_eq!(commands[at + 1].1[..4], [3, 2, 1, 6], "LE Set Advertising Data");
        assert_eq!(commands[at + 2].0, 0x2009, "LE Set Scan Response Data");
        assert_eq!(commands[at + 2].1[..5], [4, 3, 9, b'a', b'k']);
        assert_eq!(commands[at + 3], (0x200a, vec![1]));
        // While it advertises, nobody can serve GATT.
        assert_eq!(board.gatt_declare(2, GattDeclaration::Service(Uuid::Short(0x181a))), Ok(0));
        let gatt = AdvConfig { scan_response: None, ..adv };
        assert_eq!(board.gatt_start(2, GattJob::Start(gatt), &[], deadline), Ok(true));
        assert_eq!(until("refused start", || board.gatt_poll(2, now)).await, Err(Errno::Busy));

        // Active scanning, 100 ms interval, 50 ms window (160 and 80 units).
        let scan = ScanConfig::new(1, 100, 50).unwrap();
        assert_eq!(board.start(APP, BleJob::Scan(scan), deadline), Ok(()));
        assert_eq!(until("scan", || board.poll(APP, now)).await, Ok(()));
        let commands = air.commands();
        let at = commands.iter().position(|(op, _)| *op == 0x200b).expect("LE Set Scan Parameters");
        assert_eq!(commands[at].1, [1, 160, 0, 80, 0, 0, 0]);
        assert_eq!(commands[at + 1], (0x200c, vec![1, 0]), "LE Set Scan Enable, duplicates kept");

        // An LE Advertising Report reaches the app.
        let mut report = vec![4, 0x3e, 15, 0x02, 1, 0x03, 1, 6, 5, 4, 3, 2, 0xc1, 3, 2, 1, 6];
        report.push(-60i8 as u8);
        air.push(report);
        let heard = until("report", || board.next_report(APP, now).ok().flatten()).await;
        assert_eq!(heard.address, [6, 5, 4, 3, 2, 0xc1]);
        assert_eq!(heard.address_kind, 1);
        assert_eq!(heard.rssi_dbm, -60);
        assert_eq!(heard.kind, ReportKind::AdvNonconnInd);
        assert_eq!(heard.data.as_bytes(), [2, 1, 6]);

        // Stops: scanning off, advertising off.
        assert_eq!(board.start(APP, BleJob::StopScanning, deadline), Ok(()));
        assert_eq!(until("stop scanning", || board.poll(APP, now)).await, Ok(()));
        until("scan off", || air.commands().contains(&(0x200c, vec![0, 0])).then_some(())).await;
        assert_eq!(board.start(APP, BleJob::StopAdvertising, deadline), Ok(()));
        assert_eq!(until("stop advertising", || board.poll(APP, now)).await, Ok(()));
        until("advertising off", || air.commands().contains(&(0x200a, vec![0])).then_some(())).await;
    });
}

#[test]
fn two_apps_serve_one_merged_table_through_trouble_host() {
    with_host(|air, mut board| async move {
        const OTHER: u16 = 2;

        let now = Instant::ZERO;
        let chr = |uuid, properties| {
            GattDeclaration::Characteristic(Characteristic {
                service: 0,
                uuid: Uuid::Short(uuid),
                properties,
                max_len: 2,
            })
        };
        let adv = AdvConfig { interval_ms: 100, data: AdvData::new(&[2, 1, 6]).unwrap(), scan_response: None };
        // The first app: a readable temperature; the second: a writable
        // setpoint, each at its handle 0.
        until("GATT server", || board.gatt_declare(APP, GattDeclaration::Service(Uuid::Short(0x181a))).ok()).await;
        assert_eq!(board.gatt_declare(APP, chr(0x2a6e, property::READ)), Ok(0));
        assert_eq!(board.gatt_start(APP, GattJob::Start(adv), &[], now), Ok(true));
        assert_eq!(until("first start", || board.gatt_poll(APP, now)).await, Ok(()));
        assert_eq!(board.gatt_declare(OTHER, GattDeclaration::Service(Uuid::Short(0x1815))), Ok(0));
        assert_eq!(board.gatt_declare(OTHER, chr(0x2a1f, property::WRITE)), Ok(0));
        assert_eq!(board.gatt_start(OTHER, GattJob::Start(adv), &[], now), Ok(true));
        assert_eq!(until("second start", || board.gatt_poll(OTHER, now)).await, Ok(()));
        // The server restarted with both tables: advertising off, then on.
        let enables: Vec<_> = air.commands().into_iter().filter(|(op, _)| *op == 0x200a).map(|(_, p)| p).collect();
        assert_eq!(enables, [vec![1], vec![0], vec![1]]);

        // A central connects; both apps hear of it.
        air.push(connection_complete(PEER));
        for app in [APP, OTHER] {
            let connected = until("connection", || board.gatt_next_event(app, now).ok().flatten()).await;
            assert_eq!(connected, GattEvent::Connected { address: PEER, address_kind: 1 });
        }
        // The first app's value (attribute handle 3) reads back; the
        // write to the second app's setpoint (handle 6) reaches the second
        // app as its handle 0.
        assert_eq!(board.gatt_start(APP, GattJob::SetValue(0), &[0x10, 0x09], now), Ok(true));
        assert_eq!(until("set", || board.gatt_poll(APP, now)).await, Ok(()));
        air.push(att_from_central(&[0x0a, 3, 0]));
        until("read response", || air.att().contains(&vec![0x0b, 0x10, 0x09]).then_some(())).await;
        air.push(att_from_central(&[0x12, 6, 0, 0xe8, 0x03]));
        let written = until("write", || board.gatt_next_event(OTHER, now).ok().flatten()).await;
        assert_eq!(written, GattEvent::Written { characteristic: 0, value: Value::new(&[0xe8, 0x03]).unwrap() });
        assert_eq!(board.gatt_next_event(APP, now), Ok(None), "not the first app's");
    });
}
