//! `akira:ble`: Bluetooth Low Energy advertising and scanning. Needs the
//! `ble` capability with the roles the app takes, and optionally its
//! advertising interval floor and data change rate:
//!
//! ```toml
//! [capabilities]
//! ble = { roles = ["advertise", "scan"], min-adv-interval-ms = 100, adv-changes-per-second = 1 }
//! ```
//!
//! Every call suspends only this app while the controller works.
//! [`Error::NO_SPACE`] from [`advertise`] means the app changed its
//! advertising data more often than its grant allows; try again a moment
//! later.
//!
//! ```ignore
//! use akira_app::ble::{self, AdvData};
//! let data = AdvData::new().flags(0x06).name("akira-beacon").manufacturer(0xffff, b"\x01");
//! ble::advertise(&data, None, Duration::from_millis(100))?;
//! ble::scan(ble::Scan::passive())?;
//! let report = ble::next_report(Some(Duration::from_secs(1)))?;
//! ```
//!
//! A GATT peripheral (role `peripheral`) declares its table, serves it and
//! reads what centrals do:
//!
//! ```ignore
//! use akira_app::ble::{self, gatt, Uuid};
//! let service = gatt::service(Uuid::Short(0x181a))?;
//! let temp = gatt::characteristic(service, Uuid::Short(0x2a6e), gatt::READ | gatt::NOTIFY, 2)?;
//! let setpoint = gatt::characteristic(service, Uuid::Short(0x2a1f), gatt::WRITE, 2)?;
//! gatt::start(&AdvData::new().flags(0x06).name("thermo"), Duration::from_millis(200))?;
//! gatt::notify(temp, &2150i16.to_le_bytes())?;
//! match gatt::next_event(None)? {
//!     gatt::Event::Written(c, value) if c == setpoint => { /* value.as_bytes() */ }
//!     _ => {}
//! }
//! ```

use core::time::Duration;

use crate::{Error, Result};

/// Longest advertising data or scan response, in bytes.
pub const MAX_ADV_DATA: usize = 31;

/// Bytes of a report, header and the longest data.
pub const MAX_REPORT: usize = 10 + MAX_ADV_DATA;

use crate::imports::ble as ffi;

/// Advertising data: AD structures (length, type, value), built up to
/// [`MAX_ADV_DATA`] bytes. A structure that does not fit is left out
/// ([`AdvData::is_truncated`] tells).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdvData {
    len: u8,
    truncated: bool,
    bytes: [u8; MAX_ADV_DATA],
}

impl Default for AdvData {
    fn default() -> Self {
        Self::new()
    }
}

impl AdvData {
    /// AD type: flags.
    pub const FLAGS: u8 = 0x01;
    /// AD type: complete local name.
    pub const COMPLETE_NAME: u8 = 0x09;
    /// AD type: manufacturer specific data.
    pub const MANUFACTURER: u8 = 0xff;

    /// No data.
    pub const fn new() -> AdvData {
        AdvData { len: 0, truncated: false, bytes: [0; MAX_ADV_DATA] }
    }

    /// Appends an AD structure of type `ad_type` with `value`.
    pub fn with(mut self, ad_type: u8, value: &[u8]) -> AdvData {
        let at = usize::from(self.len);
        let end = at + 2 + value.len();
        if end > MAX_ADV_DATA {
            self.truncated = true;
            return self;
        }
        self.bytes[at] = value.len() as u8 + 1;
        self.bytes[at + 1] = ad_type;
        self.bytes[at + 2..end].copy_from_slice(value);
        self.len = end as u8;
        self
    }

    /// Appends the flags structure (`0x06`: general discoverable, no
    /// BR/EDR).
    pub fn flags(self, flags: u8) -> AdvData {
        self.with(Self::FLAGS, &[flags])
    }

    /// Appends the complete local name.
    pub fn name(self, name: &str) -> AdvData {
        self.with(Self::COMPLETE_NAME, name.as_bytes())
    }

    /// Appends manufacturer data: the company id (little-endian) then
    /// `data`.
    pub fn manufacturer(self, company: u16, data: &[u8]) -> AdvData {
        let mut value = [0u8; MAX_ADV_DATA];
        let n = data.len().min(MAX_ADV_DATA - 2);
        value[..2].copy_from_slice(&company.to_le_bytes());
        value[2..2 + n].copy_from_slice(&data[..n]);
        if n < data.len() {
            let mut s = self;
            s.truncated = true;
            return s;
        }
        self.with(Self::MANUFACTURER, &value[..2 + n])
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// Whether a structure was left out for lack of room.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }
}

/// Finds the value of the first AD structure of type `ad_type` in
/// advertising data `data`.
pub fn find_ad(data: &[u8], ad_type: u8) -> Option<&[u8]> {
    let mut rest = data;
    while let [len, tail @ ..] = rest {
        let len = usize::from(*len);
        if len == 0 || len > tail.len() {
            return None;
        }
        if tail[0] == ad_type {
            return Some(&tail[1..len]);
        }
        rest = &tail[len..];
    }
    None
}

/// Starts (or updates) advertising `data`, with `scan_response` for
/// active scanners, every `interval` (20 ms to 10.24 s, and at least the
/// app's granted floor, else [`Error::DENIED`]).
pub fn advertise(data: &AdvData, scan_response: Option<&AdvData>, interval: Duration) -> Result<()> {
    let d = data.as_bytes();
    let r = scan_response.map_or(&[][..], |r| r.as_bytes());
    let ms = interval.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: the host reads the two byte ranges, which the borrowed data
    // own; it checks them against the app's memory.
    let code = unsafe { ffi::advertise(d.as_ptr(), d.len() as i32, r.as_ptr(), r.len() as i32, ms) };
    Error::check(code).map(|_| ())
}

/// Stops advertising.
pub fn advertise_stop() -> Result<()> {
    // SAFETY: no arguments.
    Error::check(unsafe { ffi::advertise_stop() }).map(|_| ())
}

/// Scan settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scan {
    /// Send scan requests (and receive scan responses).
    pub active: bool,
    /// Scan interval (2.5 ms to 10.24 s).
    pub interval: Duration,
    /// Scan window, at most the interval.
    pub window: Duration,
}

impl Scan {
    /// Passive, listening all the time (100 ms interval and window).
    pub const fn passive() -> Scan {
        Scan { active: false, interval: Duration::from_millis(100), window: Duration::from_millis(100) }
    }

    /// Active, listening all the time.
    pub const fn active() -> Scan {
        Scan { active: true, ..Self::passive() }
    }
}

/// Starts scanning; reports queue up for [`next_report`].
pub fn scan(s: Scan) -> Result<()> {
    let ms = |d: Duration| d.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: plain integers.
    Error::check(unsafe { ffi::scan(s.active.into(), ms(s.interval), ms(s.window)) }).map(|_| ())
}

/// Stops scanning and drops the queued reports.
pub fn scan_stop() -> Result<()> {
    // SAFETY: no arguments.
    Error::check(unsafe { ffi::scan_stop() }).map(|_| ())
}

/// What kind of packet a report is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportKind {
    /// Connectable advertising (`ADV_IND`).
    Connectable,
    /// Directed advertising (`ADV_DIRECT_IND`).
    Directed,
    /// Scannable advertising (`ADV_SCAN_IND`).
    Scannable,
    /// Non-connectable advertising (`ADV_NONCONN_IND`).
    NonConnectable,
    /// A scan response.
    ScanResponse,
}

/// An advertisement a scan heard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Report {
    /// The advertiser's address, most significant byte first (as
    /// written `c0:de:...`).
    pub address: [u8; 6],
    /// Whether the address is random (else public).
    pub random: bool,
    /// Signal strength in dBm.
    pub rssi_dbm: i8,
    /// What kind of packet it was.
    pub kind: ReportKind,
    len: u8,
    data: [u8; MAX_ADV_DATA],
}

impl Report {
    /// The advertising data.
    pub fn data(&self) -> &[u8] {
        &self.data[..usize::from(self.len)]
    }

    /// The complete local name, if the data carries one in UTF-8.
    pub fn name(&self) -> Option<&str> {
        find_ad(self.data(), AdvData::COMPLETE_NAME).and_then(|n| core::str::from_utf8(n).ok())
    }

    fn parse(buf: &[u8]) -> Result<Report> {
        let [a0, a1, a2, a3, a4, a5, addr_kind, rssi, kind, len, data @ ..] = buf else { return Err(Error::INVALID) };
        let kind = match kind {
            0 => ReportKind::Connectable,
            1 => ReportKind::Directed,
            2 => ReportKind::Scannable,
            3 => ReportKind::NonConnectable,
            _ => ReportKind::ScanResponse,
        };
        let n = usize::from(*len).min(data.len()).min(MAX_ADV_DATA);
        let mut bytes = [0u8; MAX_ADV_DATA];
        bytes[..n].copy_from_slice(&data[..n]);
        Ok(Report {
            address: [*a5, *a4, *a3, *a2, *a1, *a0],
            random: *addr_kind == 1,
            rssi_dbm: *rssi as i8,
            kind,
            len: n as u8,
            data: bytes,
        })
    }
}

/// Takes the oldest queued report, waiting for one up to `timeout` (then
/// [`Error::TIMED_OUT`]; `None` waits for ever). [`Error::INVALID`] if
/// the app is not scanning.
pub fn next_report(timeout: Option<Duration>) -> Result<Report> {
    let mut buf = [0u8; MAX_REPORT];
    let us = timeout.map_or(-1, |t| t.as_micros().min(i64::MAX as u128) as i64);
    // SAFETY: the host writes at most `buf.len()` bytes into `buf`,
    // borrowed exclusively; nothing else touches it while the app is
    // suspended.
    let n = Error::check(unsafe { ffi::next_report(buf.as_mut_ptr(), buf.len() as i32, us) })?;
    Report::parse(&buf[..n as usize])
}

/// A service or characteristic UUID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Uuid {
    /// A 16-bit UUID assigned by the Bluetooth SIG.
    Short(u16),
    /// A 128-bit UUID, most significant byte first (as written
    /// `12345678-...`).
    Long([u8; 16]),
}

impl Uuid {
    /// The UUID as the host takes it: least significant byte first.
    fn le_bytes(&self) -> ([u8; 16], usize) {
        let mut out = [0u8; 16];
        match self {
            Uuid::Short(u) => {
                out[..2].copy_from_slice(&u.to_le_bytes());
                (out, 2)
            }
            Uuid::Long(b) => {
                out.copy_from_slice(b);
                out.reverse();
                (out, 16)
            }
        }
    }
}

/// A GATT peripheral: the app's services and characteristics, served to
/// one central at a time. Needs the `peripheral` role.
pub mod gatt {
    use super::{AdvData, Duration, Error, Result, Uuid, ffi};

    /// Property: the central may read the value.
    pub const READ: u8 = 0x02;
    /// Property: the central may write the value without a response.
    pub const WRITE_WITHOUT_RESPONSE: u8 = 0x04;
    /// Property: the central may write the value.
    pub const WRITE: u8 = 0x08;
    /// Property: the central may subscribe to notifications.
    pub const NOTIFY: u8 = 0x10;

    /// Longest characteristic value, in bytes.
    pub const MAX_VALUE: usize = 64;

    /// Bytes of an event, header and the longest payload.
    pub const MAX_EVENT: usize = 4 + MAX_VALUE;

    /// A declared service.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Service(u8);

    /// A declared characteristic.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub struct Characteristic(pub u8);

    /// Declares a primary service ([`Error::NO_SPACE`] beyond two).
    pub fn service(uuid: Uuid) -> Result<Service> {
        let (bytes, n) = uuid.le_bytes();
        // SAFETY: the host reads `n` bytes of `bytes`, owned here.
        let handle = Error::check(unsafe { ffi::gatt_service(bytes.as_ptr(), n as i32) })?;
        Ok(Service(handle as u8))
    }

    /// Declares a characteristic on `service` with `properties` ([`READ`],
    /// [`WRITE`], ... or-ed) and values of up to `max_len` bytes (1 to
    /// [`MAX_VALUE`]). [`Error::NO_SPACE`] beyond eight characteristics
    /// or 256 value bytes.
    pub fn characteristic(service: Service, uuid: Uuid, properties: u8, max_len: usize) -> Result<Characteristic> {
        let (bytes, n) = uuid.le_bytes();
        let max_len = max_len.min(i32::MAX as usize) as i32;
        // SAFETY: the host reads `n` bytes of `bytes`, owned here.
        let handle = Error::check(unsafe {
            ffi::gatt_characteristic(service.0.into(), bytes.as_ptr(), n as i32, properties.into(), max_len)
        })?;
        Ok(Characteristic(handle as u8))
    }

    /// Serves the declared table, advertising connectable with `data`
    /// every `interval` (and again after each disconnection).
    pub fn start(data: &AdvData, interval: Duration) -> Result<()> {
        let d = data.as_bytes();
        let ms = interval.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: the host reads the bytes of `data`, borrowed here.
        Error::check(unsafe { ffi::gatt_start(d.as_ptr(), d.len() as i32, ms) }).map(|_| ())
    }

    /// Stops serving: no more advertising, the central is disconnected and
    /// the table forgotten.
    pub fn stop() -> Result<()> {
        // SAFETY: no arguments.
        Error::check(unsafe { ffi::gatt_stop() }).map(|_| ())
    }

    /// Sets the value centrals read.
    pub fn set_value(c: Characteristic, value: &[u8]) -> Result<()> {
        // SAFETY: the host reads `value`, borrowed here.
        Error::check(unsafe { ffi::gatt_set_value(c.0.into(), value.as_ptr(), value.len() as i32) }).map(|_| ())
    }

    /// Sets the value and notifies the central if it subscribed.
    pub fn notify(c: Characteristic, value: &[u8]) -> Result<()> {
        // SAFETY: the host reads `value`, borrowed here.
        Error::check(unsafe { ffi::gatt_notify(c.0.into(), value.as_ptr(), value.len() as i32) }).map(|_| ())
    }

    /// Bytes a central wrote, up to [`MAX_VALUE`].
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Value {
        len: u8,
        bytes: [u8; MAX_VALUE],
    }

    impl Value {
        /// The bytes.
        pub fn as_bytes(&self) -> &[u8] {
            &self.bytes[..usize::from(self.len)]
        }
    }

    /// Something a central did.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Event {
        /// A central connected.
        Connected {
            /// Its address, most significant byte first.
            address: [u8; 6],
            /// Whether the address is random (else public).
            random: bool,
        },
        /// The central disconnected.
        Disconnected {
            /// The HCI reason: 0x13 the central ended it, 0x08 the link
            /// was lost.
            reason: u8,
        },
        /// The central wrote this value to the characteristic.
        Written(Characteristic, Value),
        /// The central subscribed to notifications.
        Subscribed(Characteristic),
        /// The central unsubscribed.
        Unsubscribed(Characteristic),
    }

    impl Event {
        pub(super) fn parse(buf: &[u8]) -> Result<Event> {
            let [kind, handle, len, _, payload @ ..] = buf else { return Err(Error::INVALID) };
            let payload = &payload[..usize::from(*len).min(payload.len())];
            let c = Characteristic(*handle);
            Ok(match (kind, payload) {
                (1, [a0, a1, a2, a3, a4, a5, kind, ..]) => {
                    Event::Connected { address: [*a5, *a4, *a3, *a2, *a1, *a0], random: *kind == 1 }
                }
                (2, [reason, ..]) => Event::Disconnected { reason: *reason },
                (3, value) => {
                    let mut bytes = [0u8; MAX_VALUE];
                    let n = value.len().min(MAX_VALUE);
                    bytes[..n].copy_from_slice(&value[..n]);
                    Event::Written(c, Value { len: n as u8, bytes })
                }
                (4, _) => Event::Subscribed(c),
                (5, _) => Event::Unsubscribed(c),
                _ => return Err(Error::INVALID),
            })
        }
    }

    /// Takes the oldest event, waiting up to `timeout` (then
    /// [`Error::TIMED_OUT`]; `None` waits for ever). [`Error::INVALID`]
    /// if the app does not serve.
    pub fn next_event(timeout: Option<Duration>) -> Result<Event> {
        let mut buf = [0u8; MAX_EVENT];
        let us = timeout.map_or(-1, |t| t.as_micros().min(i64::MAX as u128) as i64);
        // SAFETY: the host writes at most `buf.len()` bytes into `buf`,
        // borrowed exclusively while the app is suspended.
        let n = Error::check(unsafe { ffi::gatt_next_event(buf.as_mut_ptr(), buf.len() as i32, us) })?;
        Event::parse(&buf[..n as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gatt_events_and_uuids_follow_the_abi_layout() {
        let e = gatt::Event::parse(&[1, 0, 7, 0, 1, 2, 3, 4, 5, 6, 1]).unwrap();
        assert_eq!(e, gatt::Event::Connected { address: [6, 5, 4, 3, 2, 1], random: true });
        let gatt::Event::Written(c, v) = gatt::Event::parse(&[3, 1, 2, 0, 0xe8, 0x03]).unwrap() else { panic!() };
        assert_eq!((c, v.as_bytes()), (gatt::Characteristic(1), &[0xe8, 0x03][..]));
        assert_eq!(gatt::Event::parse(&[2, 0, 1, 0, 0x13]).unwrap(), gatt::Event::Disconnected { reason: 0x13 });
        assert_eq!(gatt::Event::parse(&[4, 2, 0, 0]).unwrap(), gatt::Event::Subscribed(gatt::Characteristic(2)));
        assert_eq!(gatt::Event::parse(&[9, 0, 0, 0]), Err(Error::INVALID));
        assert_eq!(gatt::Event::parse(&[1, 0, 0]), Err(Error::INVALID));
        assert_eq!(Uuid::Short(0x181a).le_bytes().1, 2);
        let mut long = [0u8; 16];
        long[0] = 0x12;
        let (bytes, n) = Uuid::Long(long).le_bytes();
        assert_eq!((bytes[15], n), (0x12, 16));
    }

    #[test]
    fn ad_structures_build_and_parse() {
        let d = AdvData::new().flags(0x06).name("akira").manufacturer(0xffff, b"\x07");
        assert_eq!(d.as_bytes(), b"\x02\x01\x06\x06\x09akira\x04\xff\xff\xff\x07");
        assert_eq!(find_ad(d.as_bytes(), AdvData::COMPLETE_NAME), Some(&b"akira"[..]));
        assert_eq!(find_ad(d.as_bytes(), AdvData::MANUFACTURER), Some(&b"\xff\xff\x07"[..]));
        assert_eq!(find_ad(b"\x05\x09ab", AdvData::COMPLETE_NAME), None, "length beyond the data");
        let full = AdvData::new().name("a name of exactly twenty-nine").flags(6);
        assert_eq!((full.as_bytes().len(), full.is_truncated()), (31, true));
    }

    #[test]
    fn reports_parse_the_abi_layout() {
        let r = Report::parse(&[1, 0, 0, 0, 0xde, 0xc0, 1, 0xce, 3, 4, 3, 9, b'h', b'i']).unwrap();
        assert_eq!(r.address, [0xc0, 0xde, 0, 0, 0, 1]);
        assert!(r.random);
        assert_eq!((r.rssi_dbm, r.kind, r.name()), (-50, ReportKind::NonConnectable, Some("hi")));
        assert_eq!(Report::parse(&[0; 9]), Err(Error::INVALID));
    }
}
