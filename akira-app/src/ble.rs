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

use core::time::Duration;

use crate::{Error, Result};

/// Longest advertising data or scan response, in bytes.
pub const MAX_ADV_DATA: usize = 31;

/// Bytes of a report, header and the longest data.
pub const MAX_REPORT: usize = 10 + MAX_ADV_DATA;

mod ffi {
    #[link(wasm_import_module = "akira:ble")]
    unsafe extern "C" {
        pub fn advertise(data: *const u8, data_len: i32, rsp: *const u8, rsp_len: i32, interval_ms: i32) -> i32;
        pub fn advertise_stop() -> i32;
        pub fn scan(active: i32, interval_ms: i32, window_ms: i32) -> i32;
        pub fn scan_stop() -> i32;
        pub fn next_report(ptr: *mut u8, len: i32, timeout_us: i64) -> i32;
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

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
