//! One running app: a store, its entry function, and where it stopped.
//!
//! An app runs in time slices. [`AppInstance::step`] runs at most one
//! slice of fuel and returns why it stopped: the slice ended, the app is
//! waiting (sleep, edge, yield), it exited, or it faulted. A waiting app is
//! resumed with [`AppInstance::resume`] once its wait is over. Nothing here
//! blocks or needs an executor; [`crate::Scheduler`] drives several apps,
//! and its async wrapper lets a firmware executor run them beside its own
//! tasks.

#[cfg(feature = "wasmi")]
use core::mem;

use akira_bridge::{AppState, Board, Bridge, GuestMemory, Instant, Wait};
#[cfg(feature = "wasmi")]
use akira_bridge::{DeniedFault, Suspend};
#[cfg(feature = "wasmi")]
use wasmi::{Func, ResumableCall, ResumableCallHostTrap, ResumableCallOutOfFuel, Store, Val};

use crate::error::Fault;

/// What a native run's host calls work on: the app's wasmi store, or
/// (a firmware without the interpreter) its state alone.
#[cfg(feature = "wasmi")]
pub(crate) type Context<B> = Store<AppState<B>>;
/// What a native run's host calls work on: the app's wasmi store, or
/// (a firmware without the interpreter) its state alone.
#[cfg(not(feature = "wasmi"))]
pub(crate) type Context<B> = AppState<B>;

/// Why [`AppInstance::step`] returned.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Step {
    /// The slice's fuel ran out; the app is ready to run again.
    Yielded,
    /// The app waits; call [`AppInstance::resume`] when the wait is over.
    Waiting(Wait),
    /// The app returned from `akira_main` or called `sys.exit`.
    Exited(i32),
    /// The app was stopped.
    Faulted(Fault),
}

#[cfg(feature = "wasmi")]
enum Run {
    /// Not started yet.
    Ready,
    /// Ran out of slice fuel; resume when scheduled.
    Paused(ResumableCallOutOfFuel),
    /// Suspended in a host call; `result` is set by `resume`.
    Waiting { call: ResumableCallHostTrap, wait: Wait, result: Option<i32> },
    /// Exited or faulted; stays so.
    Done(Step),
    /// Transient state while a step runs.
    Running,
}

/// Fuel and memory figures of one instance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Usage {
    /// Fuel consumed since the instance started.
    pub fuel: u64,
    /// Fuel consumed since the app last waited.
    pub fuel_since_wait: u64,
    /// Slices run.
    pub slices: u64,
    /// Waits the app entered.
    pub waits: u64,
}

/// An app's share of the CPU, kept the same way whichever tier runs it:
/// slices of `slice` fuel, at most `budget` since its last wait, and the
/// fuel its host calls charged beyond the slices they ran in.
#[cfg_attr(not(feature = "wasmi"), allow(dead_code))]
pub(crate) struct Meter {
    budget: u64,
    slice: u64,
    pub(crate) usage: Usage,
    /// Fuel host calls charged beyond the slices they ran in (each call's
    /// fixed cost, work past a slice's end): taken out of the next
    /// slices, so an app's share of the CPU counts its host calls.
    owed: u64,
}

#[cfg_attr(not(feature = "wasmi"), allow(dead_code))]
impl Meter {
    /// The app's CPU budget (fuel between two waits).
    #[cfg_attr(not(all(feature = "aot", native_code)), allow(dead_code))]
    pub(crate) fn budget(&self) -> u64 {
        self.budget
    }

    /// What is left of the budget since the app's last wait.
    #[cfg_attr(not(all(feature = "aot", native_code)), allow(dead_code))]
    pub(crate) fn left(&self) -> u64 {
        self.budget.saturating_sub(self.usage.fuel_since_wait)
    }

    /// Fuel for one slice, less what the app owes (at most three quarters
    /// of the slice, so it always gets on), at least `required`, within
    /// what is left of the budget.
    pub(crate) fn arm(&mut self, required: u64) -> u64 {
        let pay = self.owed.min(self.slice - self.slice / 4);
        self.owed -= pay;
        (self.slice - pay).max(required).min(self.left())
    }

    /// Counts `burnt` fuel and the `debt` host calls charged (owed to the
    /// next slices).
    pub(crate) fn charge(&mut self, burnt: u64, debt: u64) {
        self.owed = self.owed.saturating_add(debt);
        let used = burnt.saturating_add(debt);
        self.usage.fuel = self.usage.fuel.saturating_add(used);
        self.usage.fuel_since_wait = self.usage.fuel_since_wait.saturating_add(used);
    }

    /// The app's wait ended: its budget starts afresh.
    pub(crate) fn waited(&mut self) {
        self.usage.fuel_since_wait = 0;
    }

    /// Whether the app may run another slice now that its slice's fuel ran
    /// out (it needs `required` fuel to get on): yes while its budget has
    /// that much left; otherwise its fault.
    pub(crate) fn slice_over(&self, required: u64) -> Result<(), Fault> {
        if self.left() < required.max(1) { Err(Fault::CpuBudget { budget: self.budget }) } else { Ok(()) }
    }
}

/// A running app.
// On a CPU akira-aot does not compile for, without the interpreter,
// nothing is instantiated.
#[cfg_attr(not(feature = "wasmi"), allow(dead_code))]
pub struct AppInstance<B: Board> {
    /// The app's store (wasmi), or its state (without the interpreter).
    context: Context<B>,
    #[cfg(feature = "wasmi")]
    entry: Func,
    entry_returns_code: bool,
    #[cfg(feature = "wasmi")]
    run: Run,
    meter: Meter,
    /// The app's native code, run instead of interpreting it (feature `aot`).
    #[cfg(all(feature = "aot", native_code))]
    native: Option<alloc::boxed::Box<crate::native::NativeRun<B>>>,
}

impl<B: Board> AppInstance<B> {
    #[cfg_attr(not(feature = "wasmi"), allow(dead_code))]
    pub(crate) fn new(
        context: Context<B>,
        #[cfg(feature = "wasmi")] entry: Func,
        entry_returns_code: bool,
        budget: u64,
        slice: u64,
    ) -> Self {
        AppInstance {
            context,
            #[cfg(feature = "wasmi")]
            entry,
            entry_returns_code,
            #[cfg(feature = "wasmi")]
            run: Run::Ready,
            meter: Meter { budget, slice: slice.max(1), usage: Usage::default(), owed: 0 },
            #[cfg(all(feature = "aot", native_code))]
            native: None,
        }
    }

    #[cfg(all(feature = "aot", native_code))]
    pub(crate) fn with_native(mut self, native: crate::native::NativeRun<B>) -> Self {
        self.native = Some(alloc::boxed::Box::new(native));
        self
    }

    /// Whether the app's native code runs (feature `aot`, on the CPU the
    /// code was compiled for) rather than the interpreter.
    pub fn is_native(&self) -> bool {
        #[cfg(all(feature = "aot", native_code))]
        return self.native.is_some();
        #[cfg(not(all(feature = "aot", native_code)))]
        false
    }

    /// The app's store data: identity, guard (with denial counts), board
    /// handle, limits.
    pub fn state(&self) -> &AppState<B> {
        #[cfg(feature = "wasmi")]
        return self.context.data();
        #[cfg(not(feature = "wasmi"))]
        &self.context
    }

    /// The app's store data, mutably.
    pub fn state_mut(&mut self) -> &mut AppState<B> {
        #[cfg(feature = "wasmi")]
        return self.context.data_mut();
        #[cfg(not(feature = "wasmi"))]
        &mut self.context
    }

    /// Polls the app's wait (if it is suspended) through `bridge` at time
    /// `now`: `Some(result)` when the wait is over (then call
    /// [`AppInstance::resume`] with it). Modules may write the app's memory
    /// to complete a wait (a UART read).
    pub fn poll_wait(&mut self, bridge: &Bridge<B>, now: Instant) -> Option<i32> {
        let wait = *self.wait()?;
        #[cfg(feature = "wasmi")]
        return match self.context.data().memory() {
            Some(memory) => {
                let (bytes, state) = memory.data_and_store_mut(&mut self.context);
                bridge.poll_wait(&mut GuestMemory::new(bytes), state, &wait, now)
            }
            None => bridge.poll_wait(&mut GuestMemory::new(&mut []), self.context.data_mut(), &wait, now),
        };
        #[cfg(not(feature = "wasmi"))]
        {
            #[cfg(all(feature = "aot", native_code))]
            if let Some(native) = &mut self.native {
                return bridge.poll_wait(&mut GuestMemory::new(native.memory()), &mut self.context, &wait, now);
            }
            bridge.poll_wait(&mut GuestMemory::new(&mut []), &mut self.context, &wait, now)
        }
    }

    /// Fuel and wait counts.
    pub fn usage(&self) -> Usage {
        self.meter.usage
    }

    /// The wait the app is suspended on, if any.
    pub fn wait(&self) -> Option<&Wait> {
        #[cfg(all(feature = "aot", native_code))]
        if let Some(native) = &self.native {
            return native.wait();
        }
        #[cfg(feature = "wasmi")]
        return match &self.run {
            Run::Waiting { wait, result: None, .. } => Some(wait),
            _ => None,
        };
        #[cfg(not(feature = "wasmi"))]
        None
    }

    /// Whether the app exited or faulted.
    pub fn is_done(&self) -> bool {
        #[cfg(all(feature = "aot", native_code))]
        if let Some(native) = &self.native {
            return native.is_done();
        }
        #[cfg(feature = "wasmi")]
        return matches!(self.run, Run::Done(_));
        #[cfg(not(feature = "wasmi"))]
        true
    }

    /// Ends the app's current wait: its host call returns `result`. Does
    /// nothing unless the app is waiting.
    pub fn resume(&mut self, result: i32) {
        #[cfg(all(feature = "aot", native_code))]
        if let Some(native) = &mut self.native {
            return native.resume(result);
        }
        #[cfg(feature = "wasmi")]
        if let Run::Waiting { result: slot @ None, .. } = &mut self.run {
            *slot = Some(result);
        }
        #[cfg(not(feature = "wasmi"))]
        let _ = result;
    }

    /// Runs the app for at most one slice of fuel.
    pub fn step(&mut self) -> Step {
        #[cfg(all(feature = "aot", native_code))]
        if let Some(native) = &mut self.native {
            return native.step(&mut self.context, &mut self.meter, self.entry_returns_code);
        }
        #[cfg(not(feature = "wasmi"))]
        return Step::Faulted(Fault::Host("no native code to run and no interpreter".into()));
        #[cfg(feature = "wasmi")]
        self.interpret()
    }

    /// Interprets the app for at most one slice of fuel.
    #[cfg(feature = "wasmi")]
    fn interpret(&mut self) -> Step {
        match mem::replace(&mut self.run, Run::Running) {
            Run::Done(step) => {
                self.run = Run::Done(step.clone());
                step
            }
            Run::Waiting { call, wait, result: None } => {
                self.run = Run::Waiting { call, wait, result: None };
                Step::Waiting(wait)
            }
            Run::Waiting { call, result: Some(value), .. } => {
                // The app waited: its budget starts afresh.
                self.meter.waited();
                let fuel = self.arm(0);
                let mut out = self.outputs();
                let n = self.results();
                let r = call.resume(&mut self.context, &[Val::I32(value)], &mut out[..n]);
                self.finish(fuel, r, out)
            }
            Run::Paused(call) => {
                let fuel = self.arm(call.required_fuel());
                let mut out = self.outputs();
                let n = self.results();
                let r = call.resume(&mut self.context, &mut out[..n]);
                self.finish(fuel, r, out)
            }
            Run::Ready => {
                let fuel = self.arm(0);
                let mut out = self.outputs();
                let n = self.results();
                let r = self.entry.call_resumable(&mut self.context, &[], &mut out[..n]);
                self.finish(fuel, r, out)
            }
            Run::Running => Step::Faulted(Fault::Host("re-entered step".into())),
        }
    }

    #[cfg(feature = "wasmi")]
    fn outputs(&self) -> [Val; 1] {
        [Val::I32(0)]
    }

    #[cfg(feature = "wasmi")]
    /// How many of [`Self::outputs`] the entry function fills.
    fn results(&self) -> usize {
        usize::from(self.entry_returns_code)
    }

    #[cfg(feature = "wasmi")]
    /// Gives the store fuel for one slice ([`Meter::arm`]); returns the
    /// fuel given.
    fn arm(&mut self, required: u64) -> u64 {
        let fuel = self.meter.arm(required);
        // Fuel metering is always on in the runtime's engine.
        let _ = self.context.set_fuel(fuel);
        fuel
    }

    #[cfg(feature = "wasmi")]
    fn finish(&mut self, fuel: u64, result: Result<ResumableCall, wasmi::Error>, out: [Val; 1]) -> Step {
        // Fuel burnt by instructions, plus what host calls charged that
        // the slice did not pay (see `Meter`).
        let debt = self.context.data_mut().take_fuel_debt();
        let burnt = fuel.saturating_sub(self.context.get_fuel().unwrap_or(0));
        self.meter.charge(burnt, debt);
        self.meter.usage.slices += 1;
        let step = match result {
            Ok(ResumableCall::Finished) => {
                let code = match (self.entry_returns_code, &out[0]) {
                    (true, Val::I32(code)) => *code,
                    _ => 0,
                };
                Step::Exited(code)
            }
            Ok(ResumableCall::OutOfFuel(call)) => match self.meter.slice_over(call.required_fuel()) {
                Err(fault) => Step::Faulted(fault),
                Ok(()) => {
                    self.run = Run::Paused(call);
                    return Step::Yielded;
                }
            },
            Ok(ResumableCall::HostTrap(call)) => {
                let error = call.host_error();
                if let Some(code) = error.i32_exit_status() {
                    Step::Exited(code)
                } else if error.downcast_ref::<Suspend>().is_some() {
                    match self.context.data_mut().take_wait() {
                        Some(wait) => {
                            self.meter.usage.waits += 1;
                            self.run = Run::Waiting { call, wait, result: None };
                            return Step::Waiting(wait);
                        }
                        None => Step::Faulted(Fault::Host("suspended without a wait".into())),
                    }
                } else if let Some(DeniedFault(denial)) = error.downcast_ref::<DeniedFault>() {
                    Step::Faulted(Fault::Denied(*denial))
                } else {
                    Step::Faulted(Fault::from_error(error))
                }
            }
            Err(error) => match error.i32_exit_status() {
                Some(code) => Step::Exited(code),
                None => Step::Faulted(Fault::from_error(&error)),
            },
        };
        self.run = Run::Done(step.clone());
        step
    }
}
