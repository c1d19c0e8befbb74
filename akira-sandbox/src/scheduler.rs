//! Running several apps on one firmware thread.
//!
//! [`Scheduler::poll`] does one round: every app that can run gets one
//! slice; waiting apps whose wait is over are resumed; faulted apps are
//! restarted by their [`RestartPolicy`]. It never blocks. It returns when
//! the next timed event is due, so a superloop or an executor can sleep
//! until then (or until an interrupt latches an edge).
//!
//! [`Scheduler::run`] is the async wrapper: it polls, yields to the
//! executor between rounds, and awaits a firmware-supplied `idle` future
//! when no app can run. It needs no particular executor.

use alloc::vec::Vec;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll as TaskPoll};

use akira_bridge::{AppInfo, AppStatus, Board, Control, Instant, Lifecycle, WaitKind};

use crate::error::{Fault, LoadError};
use crate::instance::{AppInstance, Step, Usage};
use crate::restart::{Decision, RestartPolicy, Supervisor};
use crate::runtime::{LoadedApp, Runtime};

/// A scheduler's handle for one of its apps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AppId(pub u16);

/// Where an app is.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Status {
    /// Running or ready to run.
    Running,
    /// Suspended in a host call until its wait is over.
    Waiting,
    /// Faulted; restarts at this time.
    BackingOff(Instant),
    /// Returned or called `sys.exit` with this code.
    Exited(i32),
    /// Faulted and not restarted (policy `Never`).
    Failed(Fault),
    /// Faulted too often: stopped for good (the OTA store rolls back).
    CrashLoop,
    /// Could not be restarted.
    RestartFailed,
    /// Stopped by a controlling app (`akira:app.stop`) or the firmware
    /// ([`Scheduler::stop`]); runs again when started.
    Stopped,
}

impl Status {
    /// Whether the app will run again without outside help.
    pub fn is_live(&self) -> bool {
        matches!(self, Status::Running | Status::Waiting | Status::BackingOff(_))
    }
}

/// What happened to an app, for the firmware's log or UI.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Event {
    /// The app (re)started.
    Started,
    /// The app was stopped ([`Scheduler::stop`], or `akira:app.stop`).
    Stopped,
    /// The app exited with a code.
    Exited(i32),
    /// The app faulted.
    Faulted(Fault),
    /// The app will restart at this time.
    Restarting(Instant),
    /// The app is in a crash loop and stays stopped.
    CrashLoop {
        /// Faults counted in the policy's window.
        faults: u32,
    },
    /// Re-instantiating the app failed.
    RestartFailed(LoadError),
}

/// The result of one [`Scheduler::poll`] round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Round {
    /// Some app can run right away: poll again soon.
    pub busy: bool,
    /// The earliest deadline among waiting and backing-off apps, if any
    /// (edge waits without a timeout have none: they end by interrupt).
    pub next_wake: Option<Instant>,
    /// Apps that will run again (running, waiting or backing off).
    pub live: usize,
    /// Fuel used in the round (instructions and host calls) by apps that
    /// can run again at once: their slice ended, they yielded or slept
    /// zero. While apps compete for the CPU this way, a simulator on
    /// virtual time advances its clock by it.
    pub busy_fuel: u64,
}

struct Slot<B: Board> {
    id: AppId,
    app: LoadedApp,
    board: B,
    instance: Option<AppInstance<B>>,
    status: Status,
    supervisor: Supervisor,
    info: AppInfo,
}

/// Several apps on one runtime.
pub struct Scheduler<B: Board + Clone> {
    runtime: Runtime<B>,
    slots: Vec<Slot<B>>,
    next_id: u16,
    lifecycle: Option<&'static dyn Lifecycle>,
    storage_capacity: Option<u32>,
}

/// What `akira:app.status` reports for a scheduler status.
fn app_status(status: &Status) -> AppStatus {
    match status {
        Status::Running => AppStatus::Running,
        Status::Waiting => AppStatus::Waiting,
        Status::BackingOff(_) => AppStatus::Restarting,
        Status::Exited(_) => AppStatus::Exited,
        Status::Stopped => AppStatus::Stopped,
        Status::Failed(_) | Status::CrashLoop | Status::RestartFailed => AppStatus::Failed,
    }
}

impl<B: Board + Clone> Scheduler<B> {
    /// A scheduler with no apps.
    pub fn new(runtime: Runtime<B>) -> Self {
        Scheduler { runtime, slots: Vec::new(), next_id: 0, lifecycle: None, storage_capacity: None }
    }

    /// The key-value store's capacity in bytes of keys and values
    /// (`akira_bridge::KvStore::capacity`): from now on an app is spawned
    /// only if its storage quota fits beside those of the apps already
    /// here (one quota per app name: an app's new version replaces its
    /// old one), so every app can always use its whole quota, whatever
    /// the others store ([`LoadError::StorageQuota`]).
    pub fn set_storage_capacity(&mut self, bytes: u32) {
        self.storage_capacity = Some(bytes);
    }

    /// Whether `app`'s storage quota fits beside the other apps' quotas.
    fn check_quota(&self, app: &LoadedApp) -> Result<(), LoadError> {
        let Some(capacity) = self.storage_capacity else { return Ok(()) };
        let name = &app.manifest().name;
        let mut taken: Vec<(&str, u32)> = Vec::new();
        for slot in self.slots.iter().filter(|s| s.app.manifest().name != *name) {
            let other = slot.app.manifest();
            if !taken.iter().any(|(n, _)| *n == other.name.as_str()) {
                taken.push((other.name.as_str(), slot.app.grants().storage_quota()));
            }
        }
        let used = taken.iter().fold(0u32, |sum, (_, q)| sum.saturating_add(*q));
        let free = capacity.saturating_sub(used);
        let asked = app.grants().storage_quota();
        if asked > free { Err(LoadError::StorageQuota { asked, free }) } else { Ok(()) }
    }

    /// Serves `table`, the one the firmware's `akira:app` module
    /// ([`akira_bridge::AppModule`]) uses: each round starts by applying
    /// the start and stop requests apps posted there, and every app's
    /// status is published there.
    pub fn set_lifecycle(&mut self, table: &'static dyn Lifecycle) {
        self.lifecycle = Some(table);
        for slot in &self.slots {
            table.set_status(&slot.info.name, app_status(&slot.status));
        }
    }

    fn publish(&self, slot: usize) {
        if let (Some(table), Some(slot)) = (self.lifecycle, self.slots.get(slot)) {
            table.set_status(&slot.info.name, app_status(&slot.status));
        }
    }

    /// Stops an app: its instance is dropped (the firmware reclaims its
    /// memory) and it stays [`Status::Stopped`] until
    /// [`Scheduler::start`]. `false` if there is no such app.
    pub fn stop(&mut self, id: AppId) -> bool {
        let Some(i) = self.slots.iter().position(|s| s.id == id) else { return false };
        let slot = &mut self.slots[i];
        // An app that exited or faulted was released then.
        if slot.instance.take().is_some() && slot.status.is_live() {
            self.runtime.bridge().app_stopped(&mut slot.board, slot.id.0);
        }
        slot.status = Status::Stopped;
        self.publish(i);
        true
    }

    /// Starts an app afresh at `now` if it is not live (stopped, exited,
    /// failed); a live app is left as it is. `Err` if it cannot be
    /// instantiated (it is then [`Status::RestartFailed`]).
    pub fn start(&mut self, id: AppId, now: Instant) -> Result<bool, LoadError> {
        let Some(i) = self.slots.iter().position(|s| s.id == id) else { return Ok(false) };
        let slot = &mut self.slots[i];
        if slot.status.is_live() {
            return Ok(true);
        }
        let result = match self.runtime.instantiate(&slot.app, slot.id.0, slot.board.clone()) {
            Ok(instance) => {
                slot.instance = Some(instance);
                slot.status = Status::Running;
                slot.supervisor = Supervisor::new(*slot.supervisor.policy(), now);
                Ok(true)
            }
            Err(e) => {
                slot.status = Status::RestartFailed;
                Err(e)
            }
        };
        self.publish(i);
        result
    }

    /// Applies the requests posted to the lifecycle table.
    fn serve_lifecycle(&mut self, now: Instant, on_event: &mut impl FnMut(&AppInfo, &Event)) {
        let Some(table) = self.lifecycle else { return };
        while let Some((name, control)) = table.take_request() {
            let ids: Vec<AppId> = self.slots.iter().filter(|s| s.info.name == name).map(|s| s.id).collect();
            for id in ids {
                let Some(info) = self.info(id).cloned() else { continue };
                match control {
                    Control::Stop => {
                        if self.status(id) != Some(&Status::Stopped) {
                            self.stop(id);
                            on_event(&info, &Event::Stopped);
                        }
                    }
                    Control::Start => {
                        let live = self.status(id).is_some_and(Status::is_live);
                        match self.start(id, now) {
                            Ok(_) if !live => on_event(&info, &Event::Started),
                            Ok(_) => {}
                            Err(e) => on_event(&info, &Event::RestartFailed(e)),
                        }
                    }
                }
            }
            // Marks the request applied, also when no app had the name.
            table.set_status(&name, table.status(&name).unwrap_or(AppStatus::Stopped));
        }
    }

    /// The runtime.
    pub fn runtime(&self) -> &Runtime<B> {
        &self.runtime
    }

    /// Instantiates `app` on `board` and adds it; it runs from the next
    /// round.
    pub fn spawn(&mut self, app: LoadedApp, board: B, policy: RestartPolicy) -> Result<AppId, LoadError> {
        self.check_quota(&app)?;
        let id = AppId(self.next_id);
        let now = board.now();
        let instance = self.runtime.instantiate(&app, id.0, board.clone())?;
        let info = instance.state().info().clone();
        self.next_id = self.next_id.wrapping_add(1);
        if let Some(table) = self.lifecycle {
            table.set_status(&info.name, AppStatus::Running);
        }
        self.slots.push(Slot {
            id,
            app,
            board,
            instance: Some(instance),
            status: Status::Running,
            supervisor: Supervisor::new(policy, now),
            info,
        });
        Ok(id)
    }

    /// Removes an app, whatever its state; `false` if there is none.
    pub fn remove(&mut self, id: AppId) -> bool {
        let Some(i) = self.slots.iter().position(|s| s.id == id) else { return false };
        let mut slot = self.slots.remove(i);
        if slot.instance.is_some() && slot.status.is_live() {
            self.runtime.bridge().app_stopped(&mut slot.board, slot.id.0);
        }
        let name = slot.info.name.clone();
        if let Some(table) = self.lifecycle
            && !self.slots.iter().any(|s| s.info.name == name)
        {
            table.remove(&name);
        }
        true
    }

    /// The ids of all apps, in spawn order.
    pub fn ids(&self) -> impl Iterator<Item = AppId> + '_ {
        self.slots.iter().map(|s| s.id)
    }

    fn slot(&self, id: AppId) -> Option<&Slot<B>> {
        self.slots.iter().find(|s| s.id == id)
    }

    /// An app's status.
    pub fn status(&self, id: AppId) -> Option<&Status> {
        self.slot(id).map(|s| &s.status)
    }

    /// An app's identity.
    pub fn info(&self, id: AppId) -> Option<&AppInfo> {
        self.slot(id).map(|s| &s.info)
    }

    /// An app's current instance (absent while backing off).
    pub fn instance(&self, id: AppId) -> Option<&AppInstance<B>> {
        self.slot(id).and_then(|s| s.instance.as_ref())
    }

    /// An app's fuel and wait figures for its current instance.
    pub fn usage(&self, id: AppId) -> Option<Usage> {
        self.instance(id).map(AppInstance::usage)
    }

    /// Runs one round at time `now` (the boards' clock), reporting what
    /// happens to `on_event`.
    pub fn poll(&mut self, now: Instant, mut on_event: impl FnMut(&AppInfo, &Event)) -> Round {
        self.serve_lifecycle(now, &mut on_event);
        let mut round = Round { busy: false, next_wake: None, live: 0, busy_fuel: 0 };
        let wake = |t: Instant, round: &mut Round| {
            round.next_wake = Some(round.next_wake.map_or(t, |w| w.min(t)));
        };
        for slot in &mut self.slots {
            if let Status::BackingOff(at) = slot.status {
                if now < at {
                    round.live += 1;
                    wake(at, &mut round);
                    continue;
                }
                match self.runtime.instantiate(&slot.app, slot.id.0, slot.board.clone()) {
                    Ok(instance) => {
                        slot.instance = Some(instance);
                        slot.status = Status::Running;
                        slot.supervisor.started(now);
                        on_event(&slot.info, &Event::Started);
                    }
                    Err(e) => {
                        slot.status = Status::RestartFailed;
                        on_event(&slot.info, &Event::RestartFailed(e));
                        continue;
                    }
                }
            }
            let Some(instance) = slot.instance.as_mut() else { continue };
            if !slot.status.is_live() {
                continue;
            }
            if let Some(wait) = instance.wait().copied() {
                match instance.poll_wait(self.runtime.bridge(), now) {
                    Some(result) => instance.resume(result),
                    None => {
                        round.live += 1;
                        if wait.until != Instant::MAX {
                            wake(wait.until, &mut round);
                        }
                        continue;
                    }
                }
            }
            let before = instance.usage().fuel;
            let step = instance.step();
            let runnable = match &step {
                Step::Yielded => true,
                Step::Waiting(w) => w.kind == WaitKind::Yield || (w.kind == WaitKind::Sleep && w.until <= now),
                _ => false,
            };
            if runnable {
                let used = instance.usage().fuel.saturating_sub(before);
                round.busy_fuel = round.busy_fuel.saturating_add(used);
            }
            let status = match step {
                Step::Yielded => {
                    round.busy = true;
                    Status::Running
                }
                Step::Waiting(wait) => {
                    if wait.kind == WaitKind::Yield || wait.until <= now {
                        round.busy = true;
                    } else if wait.until != Instant::MAX {
                        wake(wait.until, &mut round);
                    }
                    Status::Waiting
                }
                Step::Exited(code) => {
                    self.runtime.bridge().app_stopped(&mut slot.board, slot.id.0);
                    on_event(&slot.info, &Event::Exited(code));
                    let decision = slot.supervisor.exited(now);
                    after_stop(slot, decision, Status::Exited(code), &mut on_event)
                }
                Step::Faulted(fault) => {
                    self.runtime.bridge().app_stopped(&mut slot.board, slot.id.0);
                    on_event(&slot.info, &Event::Faulted(fault.clone()));
                    let decision = slot.supervisor.fault(now);
                    after_stop(slot, decision, Status::Failed(fault), &mut on_event)
                }
            };
            if let Status::BackingOff(at) = status {
                wake(at, &mut round);
            }
            if status.is_live() {
                round.live += 1;
            }
            if let Some(table) = self.lifecycle {
                table.set_status(&slot.info.name, app_status(&status));
            }
            slot.status = status;
        }
        round
    }

    /// Runs the apps until none is live. `clock` reads the boards' clock;
    /// `idle(next_wake)` is awaited when no app can run and should return
    /// at `next_wake` or when an interrupt latched something (a GPIO edge):
    /// on embassy, `select(Timer::at(..), EDGE_SIGNAL.wait())`. Between
    /// busy rounds the executor gets control back, so firmware tasks run
    /// beside the apps.
    pub async fn run<C, I>(&mut self, clock: C, mut idle: I, mut on_event: impl FnMut(&AppInfo, &Event))
    where
        C: Fn() -> Instant,
        I: AsyncFnMut(Option<Instant>),
    {
        loop {
            let round = self.poll(clock(), &mut on_event);
            if round.live == 0 {
                return;
            }
            if round.busy {
                YieldNow(false).await;
            } else {
                idle(round.next_wake).await;
            }
        }
    }
}

fn after_stop<B: Board>(
    slot: &mut Slot<B>,
    decision: Decision,
    stopped: Status,
    on_event: &mut impl FnMut(&AppInfo, &Event),
) -> Status {
    match decision {
        Decision::RestartAt(at) => {
            slot.instance = None;
            on_event(&slot.info, &Event::Restarting(at));
            Status::BackingOff(at)
        }
        Decision::Stop => stopped,
        Decision::CrashLoop { faults } => {
            on_event(&slot.info, &Event::CrashLoop { faults });
            Status::CrashLoop
        }
    }
}

/// Returns `Pending` once (after waking itself), so the executor runs its
/// other tasks before the next round.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> TaskPoll<()> {
        if self.0 {
            TaskPoll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            TaskPoll::Pending
        }
    }
}
