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

use core::cell::RefCell;
use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::Poll;
use core::time::Duration;

use akira_caps::scope::ble as role;
use akira_caps::{Capability, ModuleCapability, ModuleSpec, imports::builtin_import};
use critical_section::Mutex;
use wasmi::{Caller, Linker};

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
}

impl<const SLOTS: usize, const QUEUE: usize> Default for BleMailbox<SLOTS, QUEUE> {
    fn default() -> Self {
        Self::new()
    }
}

/// Lets other tasks run once.
async fn yield_now() {
    let mut yielded = false;
    poll_fn(|cx| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await
}

impl<const SLOTS: usize, const QUEUE: usize> BleMailbox<SLOTS, QUEUE> {
    const SOUND: () = assert!(SLOTS > 0 && QUEUE > 0, "a BleMailbox needs a slot and a report queue");

    /// An empty mailbox.
    pub const fn new() -> Self {
        let () = Self::SOUND;
        BleMailbox {
            slots: Mutex::new(RefCell::new(Slots { slots: [Slot::FREE; SLOTS], next_seq: 0, advertiser: None })),
            changes: Changes::new(),
            serve_waker: WakerSlot::new(),
        }
    }

    /// Resolves when a job finishes or a report arrives (one waiter: the
    /// scheduler's idle future).
    pub async fn changed(&self) {
        self.changes.changed().await
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

    /// Takes the oldest queued job: its slot and the job.
    fn next(&self) -> Option<(usize, BleJob)> {
        critical_section::with(|cs| {
            let mut s = self.slots.borrow_ref_mut(cs);
            let (i, slot) =
                s.slots.iter_mut().enumerate().filter(|(_, t)| t.phase == Phase::Queued).min_by_key(|(_, t)| t.seq)?;
            slot.phase = Phase::Running;
            Some((i, slot.job))
        })
    }

    /// Records how slot `i`'s job ended.
    fn finish(&self, i: usize, job: BleJob, result: Result<(), Errno>) {
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
            slot.phase = if slot.phase == Phase::Abandoned { Phase::Idle } else { Phase::Done(result) };
        });
        self.changed_now();
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
                    yield_now().await;
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
    ],
};

/// The `akira:ble` module; the board must implement [`Ble`].
#[derive(Clone, Copy, Debug, Default)]
pub struct BleModule;

/// Wait operation codes.
const OP_JOB: u32 = 1;
const OP_REPORT: u32 = 2;

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
        Ok(())
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
