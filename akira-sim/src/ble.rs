//! The simulated BLE air: every app on the board has its own controller
//! in range of the others', so two apps are two devices side by side.
//!
//! An advertising app sends an advertising event at its start and then
//! every interval, while its data is on air: the apps of one device share
//! its one advertising set by turns, as [`akira_bridge::BleMailbox`]
//! shares a controller's ([`AdvConfig::turn`]: `advertise` puts an app's
//! data on air at once, then every advertiser's turn comes in app order).
//! Each event reaches every other app scanning at that
//! moment as a report (at [`RSSI_DBM`], from the advertiser's address
//! [`address`]), followed by its scan response when the scanner scans
//! actively. Commands complete at once. Reports wait in each scanner's
//! queue of [`QUEUE`]; beyond it the oldest is dropped. The simulation
//! wakes at each advertising event while someone scans
//! ([`SimBle::next_event`]).
//!
//! GATT: as on a device ([`akira_bridge::BleMailbox`]), up to
//! [`GATT_APPS`] apps of a device hold tables, and the tables of those
//! serving are merged into the one the device serves, each app keeping its
//! own handles; the device advertises connectable (`ADV_IND` reports to
//! scanners, with the first serving app's data) while no central is
//! connected. One simulated central, "the phone" at [`PHONE`], is driven
//! by the script ([`CentralOp`], `akira run --gatt-client
//! 500ms:connect`): it connects to the device of the lowest-numbered app
//! serving, reads, writes, subscribes and disconnects, naming
//! characteristics by UUID in the merged table (its writes reach the app
//! that declared the characteristic). An app starting or stopping serving
//! changes the table: the phone is disconnected and the other serving apps
//! get `Disconnected` with reason [`TABLE_CHANGED`]. What it sees (values read, notifications) is
//! returned for the board to record. Events wait in each server's queue of
//! [`QUEUE`]; beyond it the oldest is dropped.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use akira_bridge::modules::ble::ReportKind;
use akira_bridge::modules::gatt::{GATT_APPS, TABLE_CHANGED, Uuid, Value, property};
use akira_bridge::{
    AdvConfig, BleJob, Errno, GattDeclaration, GattEvent, GattJob, GattTable, Instant, ScanConfig, ScanReport,
};

use crate::record::Hex;
use crate::rf::RadioId;

/// Signal strength of every simulated report.
pub const RSSI_DBM: i8 = -50;

/// Reports an app's queue holds before dropping the oldest.
pub const QUEUE: usize = 8;

/// The simulated address of radio `radio` ([`crate::rf::RadioId`]: on
/// its own board the app id, on the air of [`crate::air`] the device
/// number and app id): a random static address (top two bits set), least
/// significant byte first, `c0:de:` then the device number and the app
/// id (`c0:de:00:00:00:00` for app 0 of device 0).
pub fn address(radio: RadioId) -> [u8; 6] {
    let [a0, a1, d0, d1] = radio.to_le_bytes();
    [a0, a1, d0, d1, 0xde, 0xc0]
}

/// The simulated phone's address (random static), least significant byte
/// first: `ca:fe:00:00:00:01`.
pub const PHONE: [u8; 6] = [0x01, 0x00, 0x00, 0x00, 0xfe, 0xca];

/// The HCI reason a disconnection by the phone gives: remote user
/// terminated the connection.
pub const PHONE_DISCONNECTED: u8 = 0x13;

/// Something the scripted central does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CentralOp {
    /// Connect to the first app serving GATT.
    Connect,
    /// Disconnect.
    Disconnect,
    /// Read the characteristic with this UUID.
    Read(Uuid),
    /// Write these bytes to the characteristic with this UUID.
    Write(Uuid, Vec<u8>),
    /// Subscribe to notifications of the characteristic with this UUID.
    Subscribe(Uuid),
    /// Unsubscribe.
    Unsubscribe(Uuid),
}

/// Parses a UUID as written: 4 hex digits (`2a6e`) or 32 (dashes allowed,
/// `12345678-9abc-...`), most significant first.
pub fn parse_uuid(text: &str) -> Result<Uuid, String> {
    let digits: String = text.chars().filter(|c| *c != '-').collect();
    let bytes = parse_hex(&digits).map_err(|_| format!("`{text}` is not a UUID"))?;
    match bytes.len() {
        2 => Ok(Uuid::Short(u16::from_be_bytes([bytes[0], bytes[1]]))),
        16 => {
            let mut le = [0u8; 16];
            for (i, b) in bytes.iter().rev().enumerate() {
                le[i] = *b;
            }
            Ok(Uuid::Long(le))
        }
        _ => Err(format!("`{text}`: a UUID has 4 or 32 hex digits")),
    }
}

fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    hex::decode(text).map_err(|e| format!("`{text}` is not hex bytes: {e}"))
}

impl std::str::FromStr for CentralOp {
    type Err = String;

    /// `connect`, `disconnect`, `read:UUID`, `write:UUID=HEX`,
    /// `subscribe:UUID`, `unsubscribe:UUID`.
    fn from_str(text: &str) -> Result<CentralOp, String> {
        let (op, arg) = text.split_once(':').unwrap_or((text, ""));
        Ok(match (op, arg) {
            ("connect", "") => CentralOp::Connect,
            ("disconnect", "") => CentralOp::Disconnect,
            ("read", uuid) => CentralOp::Read(parse_uuid(uuid)?),
            ("subscribe", uuid) => CentralOp::Subscribe(parse_uuid(uuid)?),
            ("unsubscribe", uuid) => CentralOp::Unsubscribe(parse_uuid(uuid)?),
            ("write", arg) => {
                let (uuid, value) = arg.split_once('=').ok_or_else(|| format!("`{text}`: expected write:UUID=HEX"))?;
                CentralOp::Write(parse_uuid(uuid)?, parse_hex(value)?)
            }
            _ => {
                return Err(format!(
                    "`{text}`: expected connect, disconnect, read:UUID, write:UUID=HEX, subscribe:UUID or unsubscribe:UUID"
                ));
            }
        })
    }
}

/// One app's GATT server.
#[derive(Default)]
struct AppServer {
    table: GattTable,
    serving: bool,
    /// Its connectable advertising, and when its next event is (`None`
    /// while the phone is connected to it).
    advertising: Option<(AdvConfig, Option<Instant>)>,
    values: Vec<Vec<u8>>,
    events: VecDeque<GattEvent>,
    done: Option<Result<(), Errno>>,
}

/// The phone's connection: the device it is connected to, and the
/// characteristics it subscribed to (app, handle).
#[derive(Default)]
struct Phone {
    connected_to: Option<u16>,
    subscribed: Vec<(RadioId, u8)>,
}

#[derive(Default)]
struct AppController {
    /// Advertising, and when its next event is.
    advertising: Option<(AdvConfig, Instant)>,
    scanning: Option<ScanConfig>,
    queue: VecDeque<ScanReport>,
    /// The result of the app's last job, until it collects it.
    done: Option<Result<(), Errno>>,
}

/// The apps' controllers and the air between them.
#[derive(Default)]
pub struct SimBle {
    apps: BTreeMap<RadioId, AppController>,
    /// Each device's advertising set: whose advertising is on air, and
    /// when its turn ends.
    sets: BTreeMap<u16, (RadioId, Instant)>,
    /// The latest time settled.
    now: Instant,
    servers: BTreeMap<RadioId, AppServer>,
    phone: Phone,
    /// Bumped when a report reaches a scanner or a job completes.
    deliveries: u64,
}

impl SimBle {
    /// Reports delivered to scanning apps and jobs completed so far: when
    /// it moves, a suspended app may go on.
    pub fn deliveries(&self) -> u64 {
        self.deliveries
    }

    /// The next advertising event, or the next turn of a shared
    /// advertising set, if some app advertises and another scans.
    pub fn next_event(&self) -> Option<Instant> {
        let scanners = self.apps.iter().filter(|(_, a)| a.scanning.is_some()).count();
        let scans = |id: &RadioId| self.apps.get(id).is_some_and(|a| a.scanning.is_some());
        let legacy = self.sets.values().filter_map(|(id, _)| Some((id, self.apps.get(id)?.advertising?.1)));
        let gatt = self.servers.iter().filter_map(|(id, s)| Some((id, s.advertising?.1?)));
        let event = legacy.chain(gatt).filter(|(id, _)| scanners > usize::from(scans(id))).map(|(_, next)| next);
        let turns = self.shared_sets().map(|(_, end)| end).filter(|_| scanners > 0);
        event.chain(turns).min()
    }

    /// The apps of `device` that advertise, in app order.
    fn advertisers(&self, device: u16) -> impl Iterator<Item = RadioId> + '_ {
        self.apps.iter().filter(move |(id, a)| device_of(**id) == device && a.advertising.is_some()).map(|(id, _)| *id)
    }

    /// The advertising sets several apps share, with when their turn ends.
    fn shared_sets(&self) -> impl Iterator<Item = (u16, Instant)> + '_ {
        self.sets.iter().filter(|(d, _)| self.advertisers(**d).nth(1).is_some()).map(|(d, (_, end))| (*d, *end))
    }

    /// Puts the advertiser after `from` (in app order, wrapping) on
    /// `device`'s set at `at`, or takes the set off the air when nobody
    /// advertises.
    fn hand_on(&mut self, device: u16, from: RadioId, at: Instant) {
        let next = self.advertisers(device).find(|id| *id > from).or_else(|| self.advertisers(device).next());
        let Some(next) = next else {
            self.sets.remove(&device);
            return;
        };
        let Some((config, event)) = self.apps.get_mut(&next).and_then(|a| a.advertising.as_mut()) else { return };
        *event = at;
        let end = at.saturating_add(config.turn());
        self.sets.insert(device, (next, end));
    }

    /// App `app` stops advertising at `at`: its set goes to the next
    /// advertiser if its data was on air.
    fn leave_set(&mut self, app: RadioId, at: Instant) {
        let device = device_of(app);
        if self.sets.get(&device).is_some_and(|(on_air, _)| *on_air == app) {
            self.hand_on(device, app, at);
        }
    }

    /// Takes radio `radio`'s controller off the air (a device that left).
    pub fn remove(&mut self, radio: RadioId) {
        self.apps.remove(&radio);
        self.leave_set(radio, self.now);
    }

    /// Delivers the advertising events due by `now`, and hands shared
    /// advertising sets on at the end of each turn.
    pub fn settle(&mut self, now: Instant) {
        loop {
            let turn = self.shared_sets().map(|(d, end)| (end, d)).filter(|(end, _)| *end <= now).min();
            // The turn's last event is before its end: the next one's
            // first is at it.
            self.deliver(turn.map_or(now, |(end, _)| Instant::from_micros(end.as_micros().saturating_sub(1))));
            let Some((end, device)) = turn else { break };
            let from = self.sets[&device].0;
            self.hand_on(device, from, end);
        }
        self.now = self.now.max(now);
    }

    /// Delivers the advertising events due by `now` of the advertising on
    /// air.
    fn deliver(&mut self, now: Instant) {
        let mut events = Vec::new();
        for (id, a) in &mut self.apps {
            let on_air = self.sets.get(&device_of(*id)).is_some_and(|(on_air, _)| on_air == id);
            if let (Some((config, next)), true) = (&mut a.advertising, on_air) {
                due(*id, config, next, now, false, &mut events);
            }
        }
        for (id, s) in &mut self.servers {
            if let Some((config, Some(next))) = &mut s.advertising {
                due(*id, config, next, now, true, &mut events);
            }
        }
        for (from, config, connectable) in events {
            let kind = match (connectable, config.scan_response) {
                (true, _) => ReportKind::AdvInd,
                (false, Some(_)) => ReportKind::AdvScanInd,
                (false, None) => ReportKind::AdvNonconnInd,
            };
            let report =
                |kind, data| ScanReport { address: address(from), address_kind: 1, rssi_dbm: RSSI_DBM, kind, data };
            for (id, a) in &mut self.apps {
                let Some(scan) = a.scanning else { continue };
                if *id == from {
                    continue;
                }
                let mut reports = vec![report(kind, config.data)];
                if let (true, Some(rsp)) = (scan.active, config.scan_response) {
                    reports.push(report(ReportKind::ScanRsp, rsp));
                }
                for r in reports {
                    if a.queue.len() == QUEUE {
                        a.queue.pop_front();
                    }
                    a.queue.push_back(r);
                    self.deliveries += 1;
                }
            }
        }
    }

    /// Carries out app `app`'s job at `now`.
    pub fn start(&mut self, app: RadioId, now: Instant, job: BleJob) -> Result<(), Errno> {
        self.settle(now);
        let a = self.apps.entry(app).or_default();
        match job {
            BleJob::Advertise(config) => {
                // On air at once: its turn starts.
                a.advertising = Some((config, now));
                self.sets.insert(device_of(app), (app, now.saturating_add(config.turn())));
            }
            BleJob::StopAdvertising => {
                a.advertising = None;
                self.leave_set(app, now);
            }
            BleJob::Scan(config) => a.scanning = Some(config),
            BleJob::StopScanning => {
                a.scanning = None;
                a.queue.clear();
            }
        }
        if let Some(a) = self.apps.get_mut(&app) {
            a.done = Some(Ok(()));
        }
        self.deliveries += 1;
        // An advertising event due now reaches the scanners at once.
        self.settle(now);
        Ok(())
    }

    /// App `app`'s job result.
    pub fn poll(&mut self, app: RadioId) -> Option<Result<(), Errno>> {
        Some(self.apps.get_mut(&app).and_then(|a| a.done.take()).unwrap_or(Err(Errno::Invalid)))
    }

    /// Forgets app `app`'s controller (it stopped running): its
    /// advertising, scanning and GATT server; returns what the phone saw.
    pub fn forget(&mut self, app: RadioId) -> Option<String> {
        self.apps.remove(&app);
        self.leave_set(app, self.now);
        self.forget_server(app)
    }

    /// The oldest report queued for app `app` at `now`.
    pub fn next_report(&mut self, app: RadioId, now: Instant) -> Result<Option<ScanReport>, Errno> {
        self.settle(now);
        let a = self.apps.get_mut(&app).filter(|a| a.scanning.is_some()).ok_or(Errno::Invalid)?;
        Ok(a.queue.pop_front())
    }
}

/// The device of radio `radio` ([`crate::rf::radio_id`]).
fn device_of(radio: RadioId) -> u16 {
    (radio >> 16) as u16
}

/// Collects the advertising events of `app` due by `now` (at most the
/// last [`QUEUE`], which is all a queue can hold) and moves `next` on.
fn due(
    app: RadioId,
    config: &AdvConfig,
    next: &mut Instant,
    now: Instant,
    connectable: bool,
    events: &mut Vec<(RadioId, AdvConfig, bool)>,
) {
    let interval = Duration::from_millis(config.interval_ms.into());
    let behind = (now.as_micros().saturating_sub(next.as_micros()) / interval.as_micros() as u64) as usize;
    if *next <= now && behind > QUEUE {
        *next = next.saturating_add(interval * (behind - QUEUE) as u32);
    }
    while *next <= now {
        events.push((app, *config, connectable));
        *next = next.saturating_add(interval);
    }
}

mod gatt;
#[cfg(test)]
mod tests;
