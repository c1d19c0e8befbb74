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

use akira_bridge::{AppInfo, Board, Instant, WaitKind};

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
}

impl<B: Board + Clone> Scheduler<B> {
    /// A scheduler with no apps.
    pub fn new(runtime: Runtime<B>) -> Self {
        Scheduler { runtime, slots: Vec::new(), next_id: 0 }
    }

    /// The runtime.
    pub fn runtime(&self) -> &Runtime<B> {
        &self.runtime
    }

    /// Instantiates `app` on `board` and adds it; it runs from the next
    /// round.
    pub fn spawn(&mut self, app: LoadedApp, board: B, policy: RestartPolicy) -> Result<AppId, LoadError> {
        let id = AppId(self.next_id);
        let now = board.now();
        let instance = self.runtime.instantiate(&app, id.0, board.clone())?;
        let info = instance.state().info().clone();
        self.next_id = self.next_id.wrapping_add(1);
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
        let before = self.slots.len();
        self.slots.retain(|s| s.id != id);
        self.slots.len() != before
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
        let mut round = Round { busy: false, next_wake: None, live: 0 };
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
            let step = instance.step();
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
                    on_event(&slot.info, &Event::Exited(code));
                    let decision = slot.supervisor.exited(now);
                    after_stop(slot, decision, Status::Exited(code), &mut on_event)
                }
                Step::Faulted(fault) => {
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
