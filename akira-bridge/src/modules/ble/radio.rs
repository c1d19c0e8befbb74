//! What a board offers `akira:ble`: the advertising and scanning
//! parameters, scan reports, the [`Ble`] trait the module calls per app,
//! and [`BleRadio`], the trait a controller driver implements.

use core::time::Duration;

use super::adv::{AdvConfig, AdvData, MAX_ADV_DATA};
use crate::errno::Errno;
use crate::modules::gatt::{GattDeclaration, GattEvent, GattJob};
use crate::time::Instant;

/// Bytes of a report before its advertising data: address (6), address
/// kind, RSSI, event kind, data length.
pub const REPORT_HEADER: usize = 10;

/// Longest report an app can receive, in bytes.
pub const MAX_REPORT: usize = REPORT_HEADER + MAX_ADV_DATA;

/// How long the controller may take to carry out a command sequence
/// before the app gets `AKIRA_ETIMEDOUT`.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(1);

/// Shortest and longest scan interval and window, in milliseconds (HCI:
/// 2.5 ms to 10.24 s in 0.625 ms units).
pub const SCAN_MS: core::ops::RangeInclusive<u32> = 3..=10_240;

/// Scanning as an app asked for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ScanConfig {
    /// Active scanning (sends scan requests, gets scan responses) or
    /// passive (listens only).
    pub active: bool,
    /// Scan interval in milliseconds (within [`SCAN_MS`]).
    pub interval_ms: u16,
    /// Scan window in milliseconds, at most the interval.
    pub window_ms: u16,
}

impl ScanConfig {
    /// Builds a scan configuration from an app's arguments, or
    /// [`Errno::Invalid`] for values HCI does not take.
    pub fn new(active: u32, interval_ms: u32, window_ms: u32) -> Result<Self, Errno> {
        if active > 1 || !SCAN_MS.contains(&interval_ms) || !SCAN_MS.contains(&window_ms) || window_ms > interval_ms {
            return Err(Errno::Invalid);
        }
        Ok(ScanConfig { active: active == 1, interval_ms: interval_ms as u16, window_ms: window_ms as u16 })
    }
}

/// What kind of packet a report is (the HCI advertising report event
/// types).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum ReportKind {
    /// Connectable, scannable undirected advertising (`ADV_IND`).
    AdvInd = 0,
    /// Connectable directed advertising (`ADV_DIRECT_IND`).
    AdvDirectInd = 1,
    /// Scannable undirected advertising (`ADV_SCAN_IND`).
    AdvScanInd = 2,
    /// Non-connectable, non-scannable advertising (`ADV_NONCONN_IND`).
    AdvNonconnInd = 3,
    /// A scan response (`SCAN_RSP`).
    ScanRsp = 4,
}

/// One advertisement (or scan response) a scan heard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ScanReport {
    /// The advertiser's address, least significant byte first (as HCI
    /// carries it).
    pub address: [u8; 6],
    /// Its kind: 0 public, 1 random (HCI address types).
    pub address_kind: u8,
    /// Received signal strength in dBm.
    pub rssi_dbm: i8,
    /// What was received.
    pub kind: ReportKind,
    /// The advertising data.
    pub data: AdvData,
}

impl ScanReport {
    /// Writes the report as apps receive it (see `docs/abi.md`): address,
    /// address kind, RSSI, kind, data length, then the data cut to `out`.
    /// Returns the bytes written; `out` must hold [`REPORT_HEADER`].
    pub fn encode(&self, out: &mut [u8]) -> usize {
        let data = self.data.as_bytes();
        let n = data.len().min(out.len().saturating_sub(REPORT_HEADER));
        if out.len() < REPORT_HEADER {
            return 0;
        }
        out[..6].copy_from_slice(&self.address);
        out[6] = self.address_kind;
        out[7] = self.rssi_dbm as u8;
        out[8] = self.kind as u8;
        out[9] = n as u8;
        out[REPORT_HEADER..REPORT_HEADER + n].copy_from_slice(&data[..n]);
        REPORT_HEADER + n
    }
}

/// A BLE controller, as the firmware task serving a [`BleMailbox`](crate::BleMailbox) drives
/// it. Methods take `&self`: the task awaits a command while it keeps
/// reading the controller's events ([`BleRadio::read_reports`]), which
/// HCI controllers need to complete commands. Errors are the codes apps
/// see ([`Errno::Io`] for a transport or controller error).
#[allow(async_fn_in_trait)]
pub trait BleRadio {
    /// Starts legacy advertising with `config`; if already advertising,
    /// restarts it with the new parameters and data.
    async fn advertise(&self, config: &AdvConfig) -> Result<(), Errno>;
    /// Stops advertising.
    async fn stop_advertising(&self) -> Result<(), Errno>;
    /// Starts scanning with `config` (restarting it if already scanning).
    async fn scan(&self, config: &ScanConfig) -> Result<(), Errno>;
    /// Stops scanning.
    async fn stop_scanning(&self) -> Result<(), Errno>;
    /// Waits for the next controller event carrying advertising reports
    /// and hands each to `sink`; other events are consumed (and complete
    /// commands awaiting them).
    async fn read_reports(&self, sink: &mut dyn FnMut(&ScanReport)) -> Result<(), Errno>;
}

/// A job an app queues for the controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BleJob {
    /// Start (or update) advertising.
    Advertise(AdvConfig),
    /// Stop advertising.
    StopAdvertising,
    /// Start scanning.
    Scan(ScanConfig),
    /// Stop scanning.
    StopScanning,
}

/// A board's BLE controller as the `akira:ble` module uses it, per app.
/// No method blocks: jobs run elsewhere (a firmware task, a simulated
/// air) and are polled. [`BleMailbox`](crate::BleMailbox) implements it for a controller
/// served by a firmware task.
pub trait Ble {
    /// Queues a job for app `app` (already checked by the guard); it must
    /// end by `deadline`. [`Errno::Busy`] if the app already has one
    /// running or another app advertises.
    fn start(&mut self, app: u16, job: BleJob, deadline: Instant) -> Result<(), Errno>;
    /// App `app`'s job at time `now`: `None` while it runs. Past its
    /// deadline the result is [`Errno::TimedOut`].
    fn poll(&mut self, app: u16, now: Instant) -> Option<Result<(), Errno>>;
    /// Takes the oldest report queued for app `app` at time `now`:
    /// `Ok(None)` if none yet, [`Errno::Invalid`] if the app is not
    /// scanning.
    fn next_report(&mut self, app: u16, now: Instant) -> Result<Option<ScanReport>, Errno>;

    /// App `app` stopped running (it exited, faulted or was stopped):
    /// stop its advertising, its scanning (if no other app scans) and its
    /// GATT server, and forget its queues. The default does nothing.
    fn release(&mut self, app: u16) {
        let _ = app;
    }

    /// Adds to app `app`'s GATT table (already checked by the guard),
    /// returning the handle ([`GattTable::declare`](crate::modules::gatt::GattTable::declare)); [`Errno::Busy`]
    /// if another app owns the server or the app already serves. Boards
    /// without a GATT server keep the default, [`Errno::Unsupported`].
    fn gatt_declare(&mut self, app: u16, declaration: GattDeclaration) -> Result<u8, Errno> {
        let _ = (app, declaration);
        Err(Errno::Unsupported)
    }
    /// Queues app `app`'s GATT job with the value bytes `value`
    /// ([`GattTable::check`](crate::modules::gatt::GattTable::check)); `Ok(false)` when there is nothing to
    /// do (stopping a server the app does not own).
    fn gatt_start(&mut self, app: u16, job: GattJob, value: &[u8], deadline: Instant) -> Result<bool, Errno> {
        let _ = (app, job, value, deadline);
        Err(Errno::Unsupported)
    }
    /// App `app`'s GATT job at time `now`: `None` while it runs.
    fn gatt_poll(&mut self, app: u16, now: Instant) -> Option<Result<(), Errno>> {
        let _ = (app, now);
        Some(Err(Errno::Unsupported))
    }
    /// Takes the oldest GATT event for app `app` at time `now`: `Ok(None)`
    /// if none yet, [`Errno::Invalid`] if the app does not serve.
    fn gatt_next_event(&mut self, app: u16, now: Instant) -> Result<Option<GattEvent>, Errno> {
        let _ = (app, now);
        Err(Errno::Unsupported)
    }
}
