//! [`BleMailbox`]: the jobs and scan reports of one BLE controller, queued
//! by apps and served by a firmware task over a [`BleRadio`].

use core::cell::RefCell;
use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::Poll;

use critical_section::Mutex;
use embedded_hal_async::delay::DelayNs;

use super::adv::{ADV_TURN, AdvConfig, AdvData};
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
    /// Its app's advertising, while it advertises: its entry in the
    /// rotation of the controller's one advertising set.
    advertising: Option<AdvConfig>,
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
        advertising: None,
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
    /// Whose advertising the controller sends: its app and slot.
    on_air: Option<(u16, usize)>,
    /// Clean-up jobs after apps that stopped running, by queue order:
    /// hand the advertising set on (or stop it), stop scanning.
    cleanup: [Option<u32>; 2],
}

/// What the task serving a [`BleMailbox`] tells the controller about the
/// advertising set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AdvAction {
    /// Nothing to change.
    Keep,
    /// Send this slot's app's advertising.
    Send(u16, usize, AdvConfig),
    /// Nobody advertises any more.
    Stop,
}

impl<const SLOTS: usize, const QUEUE: usize> Slots<SLOTS, QUEUE> {
    /// Apps advertising, in the rotation.
    fn advertisers(&self) -> usize {
        self.slots.iter().filter(|s| s.advertising.is_some()).count()
    }

    /// The advertiser after slot `after` in slot order (wrapping round,
    /// ending at `after` itself), if any.
    fn next_advertiser(&self, after: usize) -> Option<(u16, usize, AdvConfig)> {
        (1..=SLOTS).map(|k| (after + k) % SLOTS).find_map(|i| {
            let slot = &self.slots[i];
            Some((slot.app?, i, slot.advertising?))
        })
    }

    /// What the controller must do after an advertiser left: nothing
    /// while the one on air still advertises, else the next one's
    /// advertising, or stop.
    fn hand_on(&self) -> AdvAction {
        let Some((app, i)) = self.on_air else { return AdvAction::Keep };
        if self.slots[i].app == Some(app) && self.slots[i].advertising.is_some() {
            return AdvAction::Keep;
        }
        match self.next_advertiser(i) {
            Some((app, i, config)) => AdvAction::Send(app, i, config),
            None => AdvAction::Stop,
        }
    }

    /// The next advertiser's turn, when several share the set (the first
    /// one's if none is on air).
    fn rotate(&self) -> AdvAction {
        let i = self.on_air.map_or(SLOTS - 1, |(_, i)| i);
        match self.next_advertiser(i) {
            Some((app, j, config)) if j != i => AdvAction::Send(app, j, config),
            _ => AdvAction::Keep,
        }
    }

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

/// An advertiser's turn with `config`, in milliseconds.
fn turn_ms(config: Option<AdvConfig>) -> u32 {
    config.map_or(ADV_TURN, |c| c.turn()).as_millis() as u32
}

/// One BLE controller's jobs and scan reports, served by a firmware task:
/// up to `SLOTS` apps, each with one job at a time and a queue of up to
/// `QUEUE` reports. Jobs run one at a time in the order they were queued.
/// The one legacy advertising set is shared by time: every advertising
/// app's data goes on air in turn ([`ADV_TURN`](super::ADV_TURN)).
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
                on_air: None,
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
    /// the job (a clean-up's `StopAdvertising` hands the set on).
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
            if result.is_err() {
                // Undo what `start` assumed.
                match job {
                    BleJob::Advertise(_) => s.slots[i].advertising = None,
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
            let on_air = s.on_air.is_some_and(|(a, _)| a == app);
            let mut stop = [false; 2];
            if let Some(slot) = s.find(app) {
                // On air, or about to be: the set goes to the next
                // advertiser, or stops.
                stop[0] = on_air || slot.advertising.take().is_some();
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

    /// Tells the controller what `action` says about the advertising set,
    /// and records whose advertising is on air.
    async fn advertise_as<R: BleRadio>(&self, radio: &R, action: AdvAction) -> Result<(), Errno> {
        let on_air = match action {
            AdvAction::Keep => return Ok(()),
            AdvAction::Send(app, i, config) => {
                radio.advertise(&config).await?;
                Some((app, i))
            }
            AdvAction::Stop => {
                radio.stop_advertising().await?;
                None
            }
        };
        critical_section::with(|cs| self.slots.borrow_ref_mut(cs).on_air = on_air);
        Ok(())
    }

    /// Runs the queued jobs on `radio` and reads its reports, forever:
    /// run it as a firmware task owning the controller driver, with
    /// `delay` (the firmware's timer, e.g. `embassy_time::Delay`) timing
    /// the advertisers' turns.
    pub async fn serve<R: BleRadio, D: DelayNs>(&self, radio: R, mut delay: D) -> ! {
        let radio = &radio;
        let with =
            |f: &dyn Fn(&Slots<SLOTS, QUEUE>) -> AdvAction| critical_section::with(|cs| f(&self.slots.borrow_ref(cs)));
        let commands = async {
            loop {
                // One turn of the advertising set: until the data on air
                // changes (a job), or its time is up while others wait.
                let turn = critical_section::with(|cs| {
                    let s = self.slots.borrow_ref(cs);
                    turn_ms(s.on_air.and_then(|(_, i)| s.slots[i].advertising))
                });
                let mut turn_over = pin!(delay.delay_ms(turn));
                loop {
                    let job = poll_fn(|cx| {
                        if let Some(job) = self.next() {
                            return Poll::Ready(Some(job));
                        }
                        let shared = critical_section::with(|cs| self.slots.borrow_ref(cs).advertisers() > 1);
                        if shared && turn_over.as_mut().poll(cx).is_ready() {
                            return Poll::Ready(None);
                        }
                        self.serve_waker.register(cx.waker());
                        self.next().map_or(Poll::Pending, |job| Poll::Ready(Some(job)))
                    })
                    .await;
                    let Some((i, job)) = job else {
                        // Nobody waits for an error here; the next turn
                        // tries again.
                        let _ = self.advertise_as(radio, with(&|s| s.rotate())).await;
                        break;
                    };
                    let result = match &job {
                        BleJob::Advertise(c) => {
                            let app =
                                critical_section::with(|cs| i.and_then(|i| self.slots.borrow_ref(cs).slots[i].app));
                            match (app, i) {
                                (Some(app), Some(i)) => self.advertise_as(radio, AdvAction::Send(app, i, *c)).await,
                                _ => Ok(()),
                            }
                        }
                        BleJob::StopAdvertising => self.advertise_as(radio, with(&|s| s.hand_on())).await,
                        BleJob::Scan(c) => radio.scan(c).await,
                        BleJob::StopScanning => radio.stop_scanning().await,
                    };
                    self.finish(i, job, result);
                    if matches!(job, BleJob::Advertise(_) | BleJob::StopAdvertising) {
                        break;
                    }
                }
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
            let on_air = s.on_air.is_some_and(|(a, _)| a == app);
            let others_scanning = s.slots.iter().filter(|t| t.scanning && t.app != Some(app)).count();
            let slot = s.find_or_claim(app)?;
            match slot.phase {
                Phase::Idle | Phase::Done(_) => {}
                Phase::Queued | Phase::Running | Phase::Abandoned => return Err(Errno::Busy),
            }
            // Jobs with nothing to do at the controller end at once.
            let queue = match job {
                // Into the rotation (on air at once, for its turn).
                BleJob::Advertise(config) => {
                    slot.advertising = Some(config);
                    true
                }
                // Out of it; the controller hears of it if it is on air.
                BleJob::StopAdvertising => slot.advertising.take().is_some() && on_air,
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
