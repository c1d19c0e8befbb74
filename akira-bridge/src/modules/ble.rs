//! `akira:ble`: Bluetooth Low Energy advertising and scanning, guarded by
//! role, advertising interval and advertising data change rate.
//!
//! An app advertises legacy advertising data (up to [`MAX_ADV_DATA`]
//! bytes, with an optional scan response) at an interval it chooses, and
//! scans for other devices' advertisements, which reach it as reports in
//! a bounded queue it reads with `next_report` (suspending until one
//! arrives or its timeout passes).
//!
//! Every call checks the app's role ([`akira_caps::scope::ble`]: a bit
//! test); `advertise` also checks the interval against the app's floor
//! ([`akira_caps::Guard::adv_interval`], a compare) and counts the data
//! change against the app's cap over a rolling second
//! ([`akira_caps::Guard::adv_change`], constant time), refusing it with
//! [`Errno::NoSpace`] beyond. A refused call never reaches the controller.
//!
//! Bluetooth host stacks are async, so the module never drives the
//! controller itself: boards implement [`Ble`], which queues a job and
//! reports when it is done. [`BleMailbox`] is that queue for one
//! controller: a `static` a firmware task serves ([`BleMailbox::serve`])
//! with any [`BleRadio`], the Akira trait a controller driver implements
//! (the `akira-radio` crate implements it over `bt-hci`'s controller
//! traits, so any HCI controller works; no `bt-hci` type appears here).
//! The scheduler's idle future awaits [`BleMailbox::changed`].
//!
//! The controller has one legacy advertising set: one app advertises at a
//! time (another gets [`Errno::Busy`]). Scanning is shared: the first
//! scanning app sets the scan parameters, later ones join, every scanning
//! app gets every report, and the controller stops scanning when the last
//! one stops.
//!
//! An app granted the `peripheral` role serves a GATT table
//! ([`super::gatt`]): it declares services and characteristics, starts
//! serving them with connectable advertising (`gatt_start`), sets and
//! notifies values, and reads what centrals do from a bounded event queue
//! with `gatt_next_event` (suspending like `next_report`).

use core::cell::RefCell;
use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::Poll;
use core::time::Duration;

use akira_caps::scope::ble as role;
use akira_caps::{Capability, ModuleCapability, ModuleSpec, imports::builtin_import};
use critical_section::Mutex;
use wasmi::{Caller, Linker};

use super::gatt::{self, Characteristic, GattDeclaration, GattEvent, GattJob, GattMailbox, GattServer, Uuid};
use super::{experimental, sig};
use crate::board::{Board, Trace};
use crate::errno::Errno;
use crate::memory::GuestMemory;
use crate::module::{HostModule, LinkContext, LinkError};
use crate::state::{AppState, ModuleIndex, Refusal, Wait, WaitKind, memory_and_state, reply};
use crate::time::Instant;
use crate::wake::{Changes, WakerSlot};

/// Longest legacy advertising data or scan response, in bytes.
pub const MAX_ADV_DATA: usize = 31;

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

/// Shortest and longest advertising interval, in milliseconds (HCI: 20 ms
/// to 10.24 s).
pub const ADV_INTERVAL_MS: core::ops::RangeInclusive<u32> = 20..=10_240;

/// Up to [`MAX_ADV_DATA`] bytes of advertising data (AD structures).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AdvData {
    len: u8,
    bytes: [u8; MAX_ADV_DATA],
}

impl AdvData {
    /// No data.
    pub const EMPTY: AdvData = AdvData { len: 0, bytes: [0; MAX_ADV_DATA] };

    /// Copies `data`, or [`Errno::TooLarge`] beyond [`MAX_ADV_DATA`] bytes.
    pub fn new(data: &[u8]) -> Result<Self, Errno> {
        let mut d = AdvData::EMPTY;
        d.bytes.get_mut(..data.len()).ok_or(Errno::TooLarge)?.copy_from_slice(data);
        d.len = data.len() as u8;
        Ok(d)
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The bytes padded with zeros to 31, as HCI carries them.
    pub fn padded(&self) -> [u8; MAX_ADV_DATA] {
        self.bytes
    }
}

impl core::fmt::Debug for AdvData {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:02x?}", self.as_bytes())
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for AdvData {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{=[u8]:02x}", self.as_bytes())
    }
}

/// Legacy advertising as an app asked for it: non-connectable, scannable
/// when it has a scan response, on all three advertising channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AdvConfig {
    /// Advertising interval in milliseconds (within [`ADV_INTERVAL_MS`]).
    pub interval_ms: u16,
    /// Advertising data.
    pub data: AdvData,
    /// Scan response data; `None` advertises non-scannable.
    pub scan_response: Option<AdvData>,
}

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

/// A BLE controller, as the firmware task serving a [`BleMailbox`] drives
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
/// air) and are polled. [`BleMailbox`] implements it for a controller
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
    /// returning the handle ([`gatt::GattTable::declare`]); [`Errno::Busy`]
    /// if another app owns the server or the app already serves. Boards
    /// without a GATT server keep the default, [`Errno::Unsupported`].
    fn gatt_declare(&mut self, app: u16, declaration: GattDeclaration) -> Result<u8, Errno> {
        let _ = (app, declaration);
        Err(Errno::Unsupported)
    }
    /// Queues app `app`'s GATT job with the value bytes `value`
    /// ([`gatt::GattTable::check`]); `Ok(false)` when there is nothing to
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

/// Where a slot's job is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Idle,
    Queued,
    Running,
    /// Its app stopped waiting; the serving task finishes it for nobody.
    Abandoned,
    Done(Result<(), Errno>),
}

const NO_REPORT: ScanReport =
    ScanReport { address: [0; 6], address_kind: 0, rssi_dbm: 0, kind: ReportKind::AdvInd, data: AdvData::EMPTY };

/// One app's controller state: its job and its report queue.
struct Slot<const QUEUE: usize> {
    app: Option<u16>,
    phase: Phase,
    job: BleJob,
    deadline: Instant,
    seq: u32,
    scanning: bool,
    queue: [ScanReport; QUEUE],
    head: usize,
    len: usize,
    dropped: u32,
    /// Its app stopped running: the slot is freed when its job ends.
    orphan: bool,
}

impl<const QUEUE: usize> Slot<QUEUE> {
    const FREE: Slot<QUEUE> = Slot {
        app: None,
        phase: Phase::Idle,
        job: BleJob::StopScanning,
        deadline: Instant::ZERO,
        seq: 0,
        scanning: false,
        queue: [NO_REPORT; QUEUE],
        head: 0,
        len: 0,
        dropped: 0,
        orphan: false,
    };

    /// Queues a report, dropping the oldest when full (the newest tells
    /// more about what is around).
    fn push(&mut self, report: &ScanReport) {
        if self.len == QUEUE {
            self.head = (self.head + 1) % QUEUE;
            self.len -= 1;
            self.dropped = self.dropped.saturating_add(1);
        }
        self.queue[(self.head + self.len) % QUEUE] = *report;
        self.len += 1;
    }

    fn pop(&mut self) -> Option<ScanReport> {
        if self.len == 0 {
            return None;
        }
        let r = self.queue[self.head];
        self.head = (self.head + 1) % QUEUE;
        self.len -= 1;
        Some(r)
    }
}

struct Slots<const SLOTS: usize, const QUEUE: usize> {
    slots: [Slot<QUEUE>; SLOTS],
    next_seq: u32,
    advertiser: Option<u16>,
    /// Clean-up jobs after apps that stopped running, by queue order:
    /// stop advertising, stop scanning.
    cleanup: [Option<u32>; 2],
}

impl<const SLOTS: usize, const QUEUE: usize> Slots<SLOTS, QUEUE> {
    fn find(&mut self, app: u16) -> Option<&mut Slot<QUEUE>> {
        self.slots.iter_mut().find(|s| s.app == Some(app))
    }

    fn find_or_claim(&mut self, app: u16) -> Result<&mut Slot<QUEUE>, Errno> {
        let i = match self.slots.iter().position(|s| s.app == Some(app)) {
            Some(i) => i,
            None => self.slots.iter().position(|s| s.app.is_none()).ok_or(Errno::NoSpace)?,
        };
        self.slots[i].app = Some(app);
        Ok(&mut self.slots[i])
    }
}

/// One BLE controller's jobs and scan reports, served by a firmware task:
/// up to `SLOTS` apps, each with one job at a time and a queue of up to
/// `QUEUE` reports. Jobs run one at a time in the order they were queued.
pub struct BleMailbox<const SLOTS: usize, const QUEUE: usize> {
    slots: Mutex<RefCell<Slots<SLOTS, QUEUE>>>,
    /// Bumped when a job finishes or a report arrives.
    changes: Changes,
    serve_waker: WakerSlot,
    /// The GATT server's side, served by [`BleMailbox::serve_gatt`].
    gatt: GattMailbox<QUEUE>,
}

impl<const SLOTS: usize, const QUEUE: usize> Default for BleMailbox<SLOTS, QUEUE> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const SLOTS: usize, const QUEUE: usize> BleMailbox<SLOTS, QUEUE> {
    const SOUND: () = assert!(SLOTS > 0 && QUEUE > 0, "a BleMailbox needs a slot and a report queue");

    /// An empty mailbox.
    pub const fn new() -> Self {
        let () = Self::SOUND;
        BleMailbox {
            slots: Mutex::new(RefCell::new(Slots {
                slots: [Slot::FREE; SLOTS],
                next_seq: 0,
                advertiser: None,
                cleanup: [None; 2],
            })),
            changes: Changes::new(),
            serve_waker: WakerSlot::new(),
            gatt: GattMailbox::new(),
        }
    }

    /// Resolves when a job finishes, a report arrives or a GATT event
    /// arrives (one waiter: the scheduler's idle future).
    pub async fn changed(&self) {
        Changes::any([Some(&self.changes), Some(self.gatt.changes())]).await
    }

    /// GATT events the serving app lost because its queue of `QUEUE` was
    /// full.
    pub fn dropped_gatt_events(&self) -> u32 {
        self.gatt.dropped()
    }

    /// Runs the GATT jobs on `server` and reads its events, forever: run
    /// it as a firmware task owning the host stack's GATT server (the
    /// task may be the one running [`BleMailbox::serve`], joined). Until
    /// a task serves it, `gatt_*` calls get [`Errno::Unsupported`].
    pub async fn serve_gatt<S: GattServer>(&self, server: S) -> ! {
        self.gatt.serve(server).await
    }

    /// The counter behind [`BleMailbox::changed`], for idle futures that
    /// wait on several peripherals at once.
    pub(crate) fn changes(&self) -> &Changes {
        &self.changes
    }

    /// Reports app `app` lost because its queue was full.
    pub fn dropped_reports(&self, app: u16) -> u32 {
        critical_section::with(|cs| self.slots.borrow_ref_mut(cs).find(app).map_or(0, |s| s.dropped))
    }

    fn changed_now(&self) {
        self.changes.bump();
    }

    /// Takes the oldest queued job: its slot (`None` for a clean-up) and
    /// the job.
    fn next(&self) -> Option<(Option<usize>, BleJob)> {
        critical_section::with(|cs| {
            let mut s = self.slots.borrow_ref_mut(cs);
            let queued =
                s.slots.iter().enumerate().filter(|(_, t)| t.phase == Phase::Queued).min_by_key(|(_, t)| t.seq);
            let queued = queued.map(|(i, t)| (t.seq, Some(i)));
            let cleanup = s.cleanup.iter().enumerate().filter_map(|(k, seq)| seq.map(|seq| (seq, k))).min();
            match (queued, cleanup) {
                // Queue order, across a wrap of the sequence numbers.
                (Some((seq, Some(i))), c) if c.is_none_or(|(cseq, _)| (seq.wrapping_sub(cseq) as i32) < 0) => {
                    s.slots[i].phase = Phase::Running;
                    Some((Some(i), s.slots[i].job))
                }
                (_, Some((_, k))) => {
                    s.cleanup[k] = None;
                    Some((None, if k == 0 { BleJob::StopAdvertising } else { BleJob::StopScanning }))
                }
                _ => None,
            }
        })
    }

    /// Records how slot `i`'s job ended (nothing for a clean-up, `None`).
    fn finish(&self, i: Option<usize>, job: BleJob, result: Result<(), Errno>) {
        let Some(i) = i else {
            self.changed_now();
            return;
        };
        critical_section::with(|cs| {
            let mut s = self.slots.borrow_ref_mut(cs);
            let app = s.slots[i].app;
            if result.is_err() {
                // Undo what `start` assumed.
                match job {
                    BleJob::Advertise(_) if s.advertiser == app => s.advertiser = None,
                    BleJob::Scan(_) => s.slots[i].scanning = false,
                    _ => {}
                }
            }
            let slot = &mut s.slots[i];
            if slot.orphan {
                *slot = Slot::FREE;
            } else {
                slot.phase = if slot.phase == Phase::Abandoned { Phase::Idle } else { Phase::Done(result) };
            }
        });
        self.changed_now();
    }

    /// App `app` stopped running: queues stopping its advertising and (if
    /// it scanned last) scanning after its pending job, and releases its
    /// GATT server.
    fn release(&self, app: u16) {
        let queued = critical_section::with(|cs| {
            let mut s = self.slots.borrow_ref_mut(cs);
            let others_scanning = s.slots.iter().filter(|t| t.scanning && t.app != Some(app)).count();
            let mut stop = [false; 2];
            if s.advertiser == Some(app) {
                s.advertiser = None;
                stop[0] = true;
            }
            if let Some(slot) = s.find(app) {
                stop[1] = slot.scanning && others_scanning == 0;
                match slot.phase {
                    Phase::Queued | Phase::Running | Phase::Abandoned => {
                        slot.orphan = true;
                        slot.scanning = false;
                        slot.len = 0;
                    }
                    Phase::Idle | Phase::Done(_) => *slot = Slot::FREE,
                }
            }
            for (k, _) in stop.iter().enumerate().filter(|(_, stop)| **stop) {
                let seq = s.next_seq;
                s.cleanup[k] = Some(seq);
                s.next_seq = seq.wrapping_add(1);
            }
            stop.contains(&true)
        });
        if queued {
            self.serve_waker.wake();
        }
        self.gatt.release(app);
    }

    /// Hands a report to every scanning app.
    fn deliver(&self, report: &ScanReport) {
        critical_section::with(|cs| {
            for slot in self.slots.borrow_ref_mut(cs).slots.iter_mut().filter(|s| s.scanning) {
                slot.push(report);
            }
        });
        self.changed_now();
    }

    /// Runs the queued jobs on `radio` and reads its reports, forever:
    /// run it as a firmware task owning the controller driver.
    pub async fn serve<R: BleRadio>(&self, radio: R) -> ! {
        let radio = &radio;
        let commands = async {
            loop {
                let (i, job) = poll_fn(|cx| {
                    if let Some(job) = self.next() {
                        return Poll::Ready(job);
                    }
                    self.serve_waker.register(cx.waker());
                    match self.next() {
                        Some(job) => Poll::Ready(job),
                        None => Poll::Pending,
                    }
                })
                .await;
                let result = match &job {
                    BleJob::Advertise(c) => radio.advertise(c).await,
                    BleJob::StopAdvertising => radio.stop_advertising().await,
                    BleJob::Scan(c) => radio.scan(c).await,
                    BleJob::StopScanning => radio.stop_scanning().await,
                };
                self.finish(i, job, result);
            }
        };
        let reports = async {
            loop {
                if radio.read_reports(&mut |r| self.deliver(r)).await.is_err() {
                    // A transport error: let the rest of the firmware run
                    // before reading again.
                    gatt::yield_now().await;
                }
            }
        };
        let mut commands = pin!(commands);
        let mut reports = pin!(reports);
        poll_fn(|cx| {
            let _ = commands.as_mut().poll(cx);
            let _ = reports.as_mut().poll(cx);
            Poll::Pending
        })
        .await
    }
}

impl<const SLOTS: usize, const QUEUE: usize> Ble for &'static BleMailbox<SLOTS, QUEUE> {
    fn start(&mut self, app: u16, job: BleJob, deadline: Instant) -> Result<(), Errno> {
        let queued = critical_section::with(|cs| {
            let mut s = self.slots.borrow_ref_mut(cs);
            let seq = s.next_seq;
            let advertiser = s.advertiser;
            let others_scanning = s.slots.iter().filter(|t| t.scanning && t.app != Some(app)).count();
            let slot = s.find_or_claim(app)?;
            match slot.phase {
                Phase::Idle | Phase::Done(_) => {}
                Phase::Queued | Phase::Running | Phase::Abandoned => return Err(Errno::Busy),
            }
            // Jobs with nothing to do at the controller end at once.
            let queue = match job {
                BleJob::Advertise(_) if advertiser.is_some_and(|a| a != app) => return Err(Errno::Busy),
                BleJob::Advertise(_) => true,
                BleJob::StopAdvertising => advertiser == Some(app),
                BleJob::Scan(_) => {
                    slot.scanning = true;
                    others_scanning == 0
                }
                BleJob::StopScanning => {
                    let was = slot.scanning;
                    slot.scanning = false;
                    slot.len = 0;
                    was && others_scanning == 0
                }
            };
            slot.job = job;
            slot.deadline = deadline;
            slot.phase = if queue { Phase::Queued } else { Phase::Done(Ok(())) };
            if queue {
                slot.seq = seq;
                s.next_seq = seq.wrapping_add(1);
            }
            match job {
                BleJob::Advertise(_) => s.advertiser = Some(app),
                BleJob::StopAdvertising if advertiser == Some(app) => s.advertiser = None,
                _ => {}
            }
            Ok(queue)
        })?;
        if queued {
            self.serve_waker.wake();
        }
        Ok(())
    }

    fn poll(&mut self, app: u16, now: Instant) -> Option<Result<(), Errno>> {
        critical_section::with(|cs| {
            let mut s = self.slots.borrow_ref_mut(cs);
            let Some(slot) = s.find(app) else { return Some(Err(Errno::Invalid)) };
            match slot.phase {
                Phase::Done(result) => {
                    slot.phase = Phase::Idle;
                    Some(result)
                }
                Phase::Queued | Phase::Running if now >= slot.deadline => {
                    // A queued job is dropped; a running one finishes for
                    // nobody (HCI commands are not cancelled halfway).
                    slot.phase = if slot.phase == Phase::Running { Phase::Abandoned } else { Phase::Idle };
                    Some(Err(Errno::TimedOut))
                }
                Phase::Queued | Phase::Running => None,
                Phase::Idle | Phase::Abandoned => Some(Err(Errno::Invalid)),
            }
        })
    }

    fn next_report(&mut self, app: u16, _now: Instant) -> Result<Option<ScanReport>, Errno> {
        critical_section::with(|cs| {
            let mut s = self.slots.borrow_ref_mut(cs);
            let slot = s.find(app).filter(|s| s.scanning).ok_or(Errno::Invalid)?;
            Ok(slot.pop())
        })
    }

    fn release(&mut self, app: u16) {
        BleMailbox::release(self, app)
    }

    fn gatt_declare(&mut self, app: u16, declaration: GattDeclaration) -> Result<u8, Errno> {
        self.gatt.declare(app, declaration)
    }

    fn gatt_start(&mut self, app: u16, job: GattJob, value: &[u8], _deadline: Instant) -> Result<bool, Errno> {
        self.gatt.start(app, job, value)
    }

    fn gatt_poll(&mut self, app: u16, _now: Instant) -> Option<Result<(), Errno>> {
        self.gatt.poll(app)
    }

    fn gatt_next_event(&mut self, app: u16, _now: Instant) -> Result<Option<GattEvent>, Errno> {
        self.gatt.next_event(app)
    }
}

/// The module's spec.
pub static SPEC: ModuleSpec = ModuleSpec {
    import: builtin_import(Capability::Ble),
    capability: ModuleCapability::Builtin(Capability::Ble),
    functions: &[
        experimental(
            "advertise",
            sig::IIIII,
            sig::I,
            "advertise(data_ptr, data_len, rsp_ptr, rsp_len, interval_ms): start or update legacy advertising, suspending until the controller has it; 0",
        ),
        experimental("advertise_stop", sig::NONE, sig::I, "advertise_stop(): stop advertising, suspending; 0"),
        experimental(
            "scan",
            sig::III,
            sig::I,
            "scan(active, interval_ms, window_ms): start scanning, suspending until the controller scans; 0",
        ),
        experimental("scan_stop", sig::NONE, sig::I, "scan_stop(): stop scanning and drop queued reports; 0"),
        experimental(
            "next_report",
            sig::IIL,
            sig::I,
            "next_report(ptr, len, timeout_us): wait for a scan report, suspending; bytes written",
        ),
        experimental(
            "gatt_service",
            sig::II,
            sig::I,
            "gatt_service(uuid_ptr, uuid_len): declare a primary service (2- or 16-byte UUID); its handle",
        ),
        experimental(
            "gatt_characteristic",
            sig::IIIII,
            sig::I,
            "gatt_characteristic(service, uuid_ptr, uuid_len, properties, max_len): declare a characteristic; its handle",
        ),
        experimental(
            "gatt_start",
            sig::III,
            sig::I,
            "gatt_start(data_ptr, data_len, interval_ms): serve the table, advertising connectable, suspending; 0",
        ),
        experimental("gatt_stop", sig::NONE, sig::I, "gatt_stop(): stop serving and forget the table, suspending; 0"),
        experimental(
            "gatt_set_value",
            sig::III,
            sig::I,
            "gatt_set_value(handle, ptr, len): set a characteristic's value, suspending; 0",
        ),
        experimental(
            "gatt_notify",
            sig::III,
            sig::I,
            "gatt_notify(handle, ptr, len): set a value and notify a subscribed central, suspending; 0",
        ),
        experimental(
            "gatt_next_event",
            sig::IIL,
            sig::I,
            "gatt_next_event(ptr, len, timeout_us): wait for a GATT event, suspending; bytes written",
        ),
    ],
};

/// The `akira:ble` module; the board must implement [`Ble`].
#[derive(Clone, Copy, Debug, Default)]
pub struct BleModule;

/// Wait operation codes.
const OP_JOB: u32 = 1;
const OP_REPORT: u32 = 2;
const OP_GATT_JOB: u32 = 3;
const OP_GATT_EVENT: u32 = 4;

fn pack(ptr: u32, len: u32) -> u64 {
    u64::from(len) << 32 | u64::from(ptr)
}

fn unpack(arg: u64) -> (u32, u32) {
    (arg as u32, (arg >> 32) as u32)
}

/// Queues `job` and suspends the app until the controller has done it.
fn run<B: Board + Ble>(state: &mut AppState<B>, module: ModuleIndex, job: BleJob) -> Result<i32, Refusal> {
    let app = state.info().id;
    let deadline = state.board().now().saturating_add(COMMAND_TIMEOUT);
    state.board_mut().start(app, job, deadline)?;
    Err(state.suspend(Wait { until: deadline, kind: WaitKind::Module { module, op: OP_JOB, arg: 0 } }))
}

fn advertise<B: Board + Ble>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    module: ModuleIndex,
    args: [u32; 5],
) -> Result<i32, Refusal> {
    let [data_ptr, data_len, rsp_ptr, rsp_len, interval_ms] = args;
    state.guarded(|g| g.id(Capability::Ble, role::ADVERTISE))?;
    state.guarded(|g| g.adv_interval(interval_ms))?;
    if !ADV_INTERVAL_MS.contains(&interval_ms) {
        return Err(Errno::Invalid.into());
    }
    let data = AdvData::new(memory.bytes(data_ptr, data_len)?)?;
    let scan_response = match rsp_len {
        0 => None,
        _ => Some(AdvData::new(memory.bytes(rsp_ptr, rsp_len)?)?),
    };
    let now = state.board().now();
    if state.guard_mut().adv_change(now.as_micros()).is_err() {
        return Err(Errno::NoSpace.into());
    }
    let config = AdvConfig { interval_ms: interval_ms as u16, data, scan_response };
    let result = run(state, module, BleJob::Advertise(config));
    if matches!(result, Err(Refusal::Trap(_))) {
        state.trace(Trace::BleAdvertising { interval_ms: config.interval_ms, data: config.data.as_bytes() });
    }
    result
}

fn scan<B: Board + Ble>(state: &mut AppState<B>, module: ModuleIndex, args: [u32; 3]) -> Result<i32, Refusal> {
    state.guarded(|g| g.id(Capability::Ble, role::SCAN))?;
    let [active, interval_ms, window_ms] = args;
    let config = ScanConfig::new(active, interval_ms, window_ms)?;
    run(state, module, BleJob::Scan(config))
}

fn next_report<B: Board + Ble>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    module: ModuleIndex,
    ptr: u32,
    len: u32,
    timeout_us: i64,
) -> Result<i32, Refusal> {
    state.guarded(|g| g.id(Capability::Ble, role::SCAN))?;
    if (len as usize) < REPORT_HEADER {
        return Err(Errno::Invalid.into());
    }
    let len = len.min(MAX_REPORT as u32);
    let buf = memory.bytes_mut(ptr, len)?;
    let app = state.info().id;
    let now = state.board().now();
    if let Some(report) = state.board_mut().next_report(app, now)? {
        let n = report.encode(buf);
        state.trace(Trace::BleReport {
            address: report.address,
            rssi_dbm: report.rssi_dbm,
            data: &buf[REPORT_HEADER..n],
        });
        return Ok(n as i32);
    }
    let until = match u64::try_from(timeout_us) {
        Ok(0) => return Err(Errno::TimedOut.into()),
        Ok(us) => now.saturating_add(Duration::from_micros(us)),
        Err(_) => Instant::MAX,
    };
    Err(state.suspend(Wait { until, kind: WaitKind::Module { module, op: OP_REPORT, arg: pack(ptr, len) } }))
}

/// The peripheral role check every GATT call starts with.
fn peripheral<B: Board>(state: &mut AppState<B>) -> Result<(), Refusal> {
    state.guarded(|g| g.id(Capability::Ble, role::PERIPHERAL))
}

fn gatt_declare<B: Board + Ble>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    service: Option<u32>,
    uuid: (u32, u32),
    properties: u32,
    max_len: u32,
) -> Result<i32, Refusal> {
    peripheral(state)?;
    let uuid = Uuid::from_le_bytes(memory.bytes(uuid.0, uuid.1)?)?;
    let declaration = match service {
        None => GattDeclaration::Service(uuid),
        Some(service) => {
            if max_len as usize > gatt::MAX_VALUE {
                return Err(Errno::TooLarge.into());
            }
            let service = u8::try_from(service).map_err(|_| Errno::Invalid)?;
            let properties = u8::try_from(properties).map_err(|_| Errno::Invalid)?;
            GattDeclaration::Characteristic(Characteristic { service, uuid, properties, max_len: max_len as u8 })
        }
    };
    let app = state.info().id;
    Ok(i32::from(state.board_mut().gatt_declare(app, declaration)?))
}

/// Queues a GATT job with `value` and suspends the app until the server
/// has done it (at once when there is nothing to do).
fn gatt_run<B: Board + Ble>(
    state: &mut AppState<B>,
    module: ModuleIndex,
    job: GattJob,
    value: &[u8],
) -> Result<i32, Refusal> {
    let app = state.info().id;
    let deadline = state.board().now().saturating_add(COMMAND_TIMEOUT);
    if !state.board_mut().gatt_start(app, job, value, deadline)? {
        return Ok(0);
    }
    Err(state.suspend(Wait { until: deadline, kind: WaitKind::Module { module, op: OP_GATT_JOB, arg: 0 } }))
}

fn gatt_start<B: Board + Ble>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    module: ModuleIndex,
    args: [u32; 3],
) -> Result<i32, Refusal> {
    let [data_ptr, data_len, interval_ms] = args;
    peripheral(state)?;
    state.guarded(|g| g.adv_interval(interval_ms))?;
    if !ADV_INTERVAL_MS.contains(&interval_ms) {
        return Err(Errno::Invalid.into());
    }
    let data = AdvData::new(memory.bytes(data_ptr, data_len)?)?;
    let now = state.board().now();
    if state.guard_mut().adv_change(now.as_micros()).is_err() {
        return Err(Errno::NoSpace.into());
    }
    let config = AdvConfig { interval_ms: interval_ms as u16, data, scan_response: None };
    let result = gatt_run(state, module, GattJob::Start(config), &[]);
    if matches!(result, Err(Refusal::Trap(_))) {
        state.trace(Trace::BleAdvertising { interval_ms: config.interval_ms, data: config.data.as_bytes() });
    }
    result
}

fn gatt_value<B: Board + Ble>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    module: ModuleIndex,
    notify: bool,
    args: [u32; 3],
) -> Result<i32, Refusal> {
    let [handle, ptr, len] = args;
    peripheral(state)?;
    let handle = u8::try_from(handle).map_err(|_| Errno::Invalid)?;
    let value = memory.bytes(ptr, len)?;
    let job = if notify { GattJob::Notify(handle) } else { GattJob::SetValue(handle) };
    gatt_run(state, module, job, value)
}

/// Writes `event` into the app's buffer `buf` and traces it.
fn give_event<B: Board>(state: &mut AppState<B>, event: &GattEvent, buf: &mut [u8]) -> i32 {
    let n = event.encode(buf);
    state.trace(Trace::GattEvent {
        kind: event.kind(),
        characteristic: event.characteristic(),
        data: &buf[gatt::EVENT_HEADER..n],
    });
    n as i32
}

fn gatt_next_event<B: Board + Ble>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    module: ModuleIndex,
    ptr: u32,
    len: u32,
    timeout_us: i64,
) -> Result<i32, Refusal> {
    peripheral(state)?;
    if (len as usize) < gatt::EVENT_HEADER {
        return Err(Errno::Invalid.into());
    }
    let len = len.min(gatt::MAX_EVENT as u32);
    let buf = memory.bytes_mut(ptr, len)?;
    let app = state.info().id;
    let now = state.board().now();
    if let Some(event) = state.board_mut().gatt_next_event(app, now)? {
        return Ok(give_event(state, &event, buf));
    }
    let until = match u64::try_from(timeout_us) {
        Ok(0) => return Err(Errno::TimedOut.into()),
        Ok(us) => now.saturating_add(Duration::from_micros(us)),
        Err(_) => Instant::MAX,
    };
    Err(state.suspend(Wait { until, kind: WaitKind::Module { module, op: OP_GATT_EVENT, arg: pack(ptr, len) } }))
}

impl<B: Board + Ble> HostModule<B> for BleModule {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn link(&self, linker: &mut Linker<AppState<B>>, cx: &LinkContext<'_>) -> Result<(), LinkError> {
        type C<'a, B> = Caller<'a, AppState<B>>;
        let module = cx.module;
        linker.func_wrap(
            SPEC.import,
            "advertise",
            move |mut c: C<'_, B>, data_ptr: u32, data_len: u32, rsp_ptr: u32, rsp_len: u32, interval_ms: u32| {
                let args = [data_ptr, data_len, rsp_ptr, rsp_len, interval_ms];
                reply(memory_and_state(&mut c).and_then(|(mut mem, s)| advertise(&mut mem, s, module, args)))
            },
        )?;
        linker.func_wrap(SPEC.import, "advertise_stop", move |mut c: C<'_, B>| {
            let s = c.data_mut();
            reply(
                s.guarded(|g| g.id(Capability::Ble, role::ADVERTISE))
                    .and_then(|()| run(s, module, BleJob::StopAdvertising)),
            )
        })?;
        linker.func_wrap(SPEC.import, "scan", move |mut c: C<'_, B>, active: u32, interval: u32, window: u32| {
            reply(scan(c.data_mut(), module, [active, interval, window]))
        })?;
        linker.func_wrap(SPEC.import, "scan_stop", move |mut c: C<'_, B>| {
            let s = c.data_mut();
            reply(s.guarded(|g| g.id(Capability::Ble, role::SCAN)).and_then(|()| run(s, module, BleJob::StopScanning)))
        })?;
        linker.func_wrap(SPEC.import, "next_report", move |mut c: C<'_, B>, ptr: u32, len: u32, timeout_us: i64| {
            reply(
                memory_and_state(&mut c)
                    .and_then(|(mut mem, s)| next_report(&mut mem, s, module, ptr, len, timeout_us)),
            )
        })?;
        linker.func_wrap(SPEC.import, "gatt_service", move |mut c: C<'_, B>, uuid_ptr: u32, uuid_len: u32| {
            reply(
                memory_and_state(&mut c)
                    .and_then(|(mut mem, s)| gatt_declare(&mut mem, s, None, (uuid_ptr, uuid_len), 0, 0)),
            )
        })?;
        linker.func_wrap(
            SPEC.import,
            "gatt_characteristic",
            move |mut c: C<'_, B>, service: u32, uuid_ptr: u32, uuid_len: u32, properties: u32, max_len: u32| {
                reply(memory_and_state(&mut c).and_then(|(mut mem, s)| {
                    gatt_declare(&mut mem, s, Some(service), (uuid_ptr, uuid_len), properties, max_len)
                }))
            },
        )?;
        linker.func_wrap(SPEC.import, "gatt_start", move |mut c: C<'_, B>, ptr: u32, len: u32, interval: u32| {
            reply(
                memory_and_state(&mut c).and_then(|(mut mem, s)| gatt_start(&mut mem, s, module, [ptr, len, interval])),
            )
        })?;
        linker.func_wrap(SPEC.import, "gatt_stop", move |mut c: C<'_, B>| {
            let s = c.data_mut();
            reply(peripheral(s).and_then(|()| gatt_run(s, module, GattJob::Stop, &[])))
        })?;
        linker.func_wrap(SPEC.import, "gatt_set_value", move |mut c: C<'_, B>, handle: u32, ptr: u32, len: u32| {
            reply(
                memory_and_state(&mut c)
                    .and_then(|(mut mem, s)| gatt_value(&mut mem, s, module, false, [handle, ptr, len])),
            )
        })?;
        linker.func_wrap(SPEC.import, "gatt_notify", move |mut c: C<'_, B>, handle: u32, ptr: u32, len: u32| {
            reply(
                memory_and_state(&mut c)
                    .and_then(|(mut mem, s)| gatt_value(&mut mem, s, module, true, [handle, ptr, len])),
            )
        })?;
        linker.func_wrap(
            SPEC.import,
            "gatt_next_event",
            move |mut c: C<'_, B>, ptr: u32, len: u32, timeout_us: i64| {
                reply(
                    memory_and_state(&mut c)
                        .and_then(|(mut mem, s)| gatt_next_event(&mut mem, s, module, ptr, len, timeout_us)),
                )
            },
        )?;
        Ok(())
    }

    fn app_stopped(&self, board: &mut B, app: u16) {
        board.release(app);
    }

    fn poll_wait_with_memory(
        &self,
        memory: &mut GuestMemory<'_>,
        state: &mut AppState<B>,
        op: u32,
        arg: u64,
    ) -> Option<i32> {
        let app = state.info().id;
        let now = state.board().now();
        match op {
            OP_JOB => state.board_mut().poll(app, now).map(|r| r.map_or_else(|e| e.code(), |()| 0)),
            OP_REPORT => {
                let (ptr, len) = unpack(arg);
                let report = match state.board_mut().next_report(app, now) {
                    Ok(Some(report)) => report,
                    Ok(None) => return None,
                    Err(e) => return Some(e.code()),
                };
                let buf = match memory.bytes_mut(ptr, len) {
                    Ok(buf) => buf,
                    Err(e) => return Some(e.code()),
                };
                let n = report.encode(buf);
                state.trace(Trace::BleReport {
                    address: report.address,
                    rssi_dbm: report.rssi_dbm,
                    data: &buf[REPORT_HEADER..n],
                });
                Some(n as i32)
            }
            OP_GATT_JOB => state.board_mut().gatt_poll(app, now).map(|r| r.map_or_else(|e| e.code(), |()| 0)),
            OP_GATT_EVENT => {
                let (ptr, len) = unpack(arg);
                let event = match state.board_mut().gatt_next_event(app, now) {
                    Ok(Some(event)) => event,
                    Ok(None) => return None,
                    Err(e) => return Some(e.code()),
                };
                let buf = match memory.bytes_mut(ptr, len) {
                    Ok(buf) => buf,
                    Err(e) => return Some(e.code()),
                };
                Some(give_event(state, &event, buf))
            }
            _ => Some(Errno::Invalid.code()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::AppLimits;
    use crate::testing::{Recorder, code, recorder_board};
    use akira_caps::manifest::{AppName, Version};
    use akira_caps::scope::BleScope;
    use akira_caps::{CapabilitySet, Grants, Guard};
    use core::task::{Context, Waker};
    use std::cell::RefCell as StdRefCell;
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
    }

    impl Task {
        fn new<const S: usize, const Q: usize>(mailbox: &'static BleMailbox<S, Q>) -> Task {
            let air = Rc::new(StdRefCell::new(Air::default()));
            let radio = LogRadio(air.clone());
            Task { serve: Box::pin(async move { mailbox.serve(radio).await }), air }
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
        // Another app cannot take the advertising set meanwhile.
        let mut other = app(2, &BLE, &[role::ADVERTISE]);
        assert_eq!(code(advertise(&mut mem, &mut other, M, [0, 9, 0, 0, 250])), Errno::Busy.code());
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
            let chars: Vec<String> = table
                .characteristics()
                .iter()
                .map(|c| format!("{}/{:#04x}/{}", c.uuid, c.properties, c.max_len))
                .collect();
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
        // Declaring while serving, or another app serving, is refused.
        assert_eq!(service(&mut mem, &mut s, 0, 2), Errno::Busy.code());
        let mut other = app(2, &BLE, &[role::PERIPHERAL]);
        assert_eq!(service(&mut mem, &mut other, 0, 2), Errno::Busy.code());
        assert_eq!(code(gatt_start(&mut mem, &mut other, M, [0, 3, 200])), Errno::Busy.code());
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
        task.central(&[GattEvent::Connected { address: [9; 6], address_kind: 0 }, sub(0), sub(1), sub(2)]);
        assert_eq!(BLE.dropped_gatt_events(), 1, "three places: the oldest went");
        for c in 0..3 {
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
}
