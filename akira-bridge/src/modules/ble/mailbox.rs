//! [`BleMailbox`]: the jobs and scan reports of one BLE controller, queued
//! by apps and served by a firmware task over a [`BleRadio`].

use core::cell::RefCell;
use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::Poll;

use critical_section::Mutex;

use super::adv::AdvData;
use super::radio::{Ble, BleJob, BleRadio, ReportKind, ScanReport};
use crate::errno::Errno;
use crate::modules::gatt::{self, GattDeclaration, GattEvent, GattJob, GattMailbox, GattServer};
use crate::time::Instant;
use crate::wake::{Changes, WakerSlot};

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
