//! Per-app state in the wasmi `Store`, waits, and how host functions answer.

use akira_caps::{Denial, Guard};
#[cfg(feature = "wasmi")]
use wasmi::{Memory, ResourceLimiter};
#[cfg(feature = "wasmi")]
use wasmi_core::LimiterError;

use crate::board::{AppInfo, Board, Trace};
use crate::errno::Errno;
use crate::host::Caller;
use crate::memory::GuestMemory;
use crate::time::Instant;

/// Which registered module suspended an app; given to a module when it is
/// linked ([`crate::LinkContext::module`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ModuleIndex(pub(crate) u8);

/// What a suspended app waits for. Waits are plain data: the scheduler
/// completes them (polling modules, or when `until` passes), so no host
/// call ever holds the board across a wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Wait {
    /// When the wait ends anyway: a sleep's deadline, or a module wait's
    /// timeout (the app then gets [`Errno::TimedOut`]). [`Instant::MAX`]
    /// for none.
    pub until: Instant,
    /// What ends it earlier.
    pub kind: WaitKind,
}

/// The kinds of [`Wait`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum WaitKind {
    /// Sleep until `until`; the app gets `0`.
    Sleep,
    /// Let other apps and tasks run, then continue; the app gets `0`.
    Yield,
    /// A module-defined wait (an edge, a bus transfer, a message), finished
    /// when the module's [`crate::HostModule::poll_wait`] returns a result.
    Module {
        /// The module that suspended the app.
        module: ModuleIndex,
        /// Module-defined operation.
        op: u32,
        /// Module-defined argument.
        arg: u64,
    },
}

pub use crate::host::{DeniedFault, Suspend};

/// Why a host function did not return a value: an error code for the app,
/// or a trap that stops it (exit, suspension, strict denial).
#[derive(Debug)]
pub enum Refusal {
    /// Return this code to the app.
    Errno(Errno),
    /// Unwind the app's call with this error.
    Trap(crate::host::Error),
}

impl From<Errno> for Refusal {
    fn from(e: Errno) -> Self {
        Refusal::Errno(e)
    }
}

/// Turns a host function's outcome into what the engine expects: codes go back
/// to the app, traps unwind it.
#[inline]
pub fn reply(result: Result<i32, Refusal>) -> Result<i32, crate::host::Error> {
    match result {
        Ok(v) => Ok(v),
        Err(Refusal::Errno(e)) => Ok(e.code()),
        Err(Refusal::Trap(t)) => Err(t),
    }
}

/// An app's data in its wasmi `Store`: identity, guard, board handle,
/// memory handle, resource limits and the wait it is suspended on.
pub struct AppState<B> {
    info: AppInfo,
    guard: Guard,
    board: B,
    #[cfg(feature = "wasmi")]
    memory: Option<Memory>,
    wait: Option<Wait>,
    limits: AppLimits,
    strict: bool,
    fuel_debt: u64,
    work: u64,
}

impl<B: Board> AppState<B> {
    /// State for a new app instance.
    pub fn new(info: AppInfo, guard: Guard, board: B, limits: AppLimits) -> Self {
        AppState {
            info,
            guard,
            board,
            #[cfg(feature = "wasmi")]
            memory: None,
            wait: None,
            limits,
            strict: false,
            fuel_debt: 0,
            work: 0,
        }
    }

    /// The app's identity.
    pub fn info(&self) -> &AppInfo {
        &self.info
    }

    /// The app's guard.
    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// The app's guard, mutably: for checks that are not denials, such as
    /// charging airtime to the app's duty cycle
    /// ([`akira_caps::Guard::airtime`]). Resource checks go through
    /// [`AppState::guarded`], which reports denials.
    pub fn guard_mut(&mut self) -> &mut Guard {
        &mut self.guard
    }

    /// The board handle.
    pub fn board(&self) -> &B {
        &self.board
    }

    /// The board handle, mutably.
    pub fn board_mut(&mut self) -> &mut B {
        &mut self.board
    }

    /// The app's exported linear memory, once instantiated.
    #[cfg(feature = "wasmi")]
    pub fn memory(&self) -> Option<Memory> {
        self.memory
    }

    /// Records the app's exported linear memory (the sandbox does this once
    /// after instantiation, so host calls never look it up by name).
    #[cfg(feature = "wasmi")]
    pub fn set_memory(&mut self, memory: Option<Memory>) {
        self.memory = memory;
    }

    /// The app's resource limits and memory figures.
    pub fn limits(&self) -> &AppLimits {
        &self.limits
    }

    /// The app's resource limits, for `Store::limiter`.
    pub fn limits_mut(&mut self) -> &mut AppLimits {
        &mut self.limits
    }

    /// Strict mode: a denied call stops the app with a fault instead of
    /// returning [`Errno::Denied`].
    pub fn set_strict(&mut self, strict: bool) {
        self.strict = strict;
    }

    /// Fuel host calls charged that the app's time slice did not pay:
    /// every call's fixed part ([`AppState::charge_call`]) and work beyond
    /// what was left of the slice ([`charge_fuel`]). The sandbox takes it
    /// here when a slice ends, adds it to the app's usage and takes it out
    /// of the app's next slices.
    pub fn take_fuel_debt(&mut self) -> u64 {
        core::mem::take(&mut self.fuel_debt)
    }

    /// Charges a call's fixed cost: `host_fn!` does this on entry of every
    /// host function, with the function's declared cost folded in as a
    /// constant (one add: the cheapest calls stay cheap).
    #[inline(always)]
    pub fn charge_call(&mut self, fuel: u32) {
        self.fuel_debt = self.fuel_debt.wrapping_add(u64::from(fuel));
    }

    /// Counts `units` of work the current call did, in its cost's unit
    /// (bytes moved, pixels drawn, bytes written to flash): `host_fn!`
    /// charges them at the function's declared rate when it returns.
    #[inline]
    pub fn work(&mut self, units: u64) {
        self.work = self.work.saturating_add(units);
    }

    /// Takes the work the current call counted (see [`AppState::work`]).
    pub fn take_work(&mut self) -> u64 {
        core::mem::take(&mut self.work)
    }

    /// Takes the wait a suspending host call recorded.
    pub fn take_wait(&mut self) -> Option<Wait> {
        self.wait.take()
    }

    /// Runs a guard check; on denial reports it to the board and refuses
    /// the call (an error code, or a fault in strict mode).
    #[inline]
    pub fn guarded(&mut self, check: impl FnOnce(&mut Guard) -> Result<(), Denial>) -> Result<(), Refusal> {
        match check(&mut self.guard) {
            Ok(()) => Ok(()),
            Err(denial) => Err(self.denied(denial)),
        }
    }

    /// Runs a check of one of the app's shares (its flash write budget,
    /// its entries of a firmware-wide table); past it, reports the
    /// denial the guard counted to the board and answers
    /// [`Errno::Busy`]: never a fault, even in strict mode, as the share
    /// comes back (the budget refills, entries are given back).
    #[inline]
    pub fn shared(&mut self, check: impl FnOnce(&mut Guard) -> Result<(), Denial>) -> Result<(), Refusal> {
        match check(&mut self.guard) {
            Ok(()) => Ok(()),
            Err(denial) => Err(self.busy(denial)),
        }
    }

    #[cold]
    fn busy(&mut self, denial: Denial) -> Refusal {
        self.board.trace(&self.info, Trace::Denied(&denial));
        Refusal::Errno(Errno::Busy)
    }

    #[cold]
    fn denied(&mut self, denial: Denial) -> Refusal {
        self.board.trace(&self.info, Trace::Denied(&denial));
        if self.strict { Refusal::Trap(crate::host::denied(denial)) } else { Refusal::Errno(Errno::Denied) }
    }

    /// Reports a module event to the board.
    #[inline]
    pub fn trace(&mut self, event: Trace<'_>) {
        self.board.trace(&self.info, event);
    }

    /// Suspends the app on `wait`: record it and return the refusal that
    /// unwinds the call to the scheduler. The app later sees the value the
    /// wait completes with as the host function's result.
    pub fn suspend(&mut self, wait: Wait) -> Refusal {
        self.wait = Some(wait);
        Refusal::Trap(crate::host::suspended())
    }
}

/// The app's memory and state at once, for host functions that read or
/// write app buffers. Fails with [`Errno::Fault`] when the app exports no
/// memory.
pub fn memory_and_state<'a, B: Board>(
    caller: &'a mut Caller<'_, AppState<B>>,
) -> Result<(GuestMemory<'a>, &'a mut AppState<B>), Refusal> {
    #[cfg(feature = "wasmi")]
    let (bytes, state) = caller.data().memory.ok_or(Errno::Fault)?.data_and_store_mut(caller);
    #[cfg(not(feature = "wasmi"))]
    let (bytes, state) = caller.memory_and_data();
    Ok((GuestMemory::new(bytes), state))
}

/// Charges the calling app `fuel` for native work a host call did on its
/// behalf (hashing, decoding), so its CPU budget counts that work like the
/// instructions it replaces. What the time slice has left is taken at
/// once (the app then yields at its next instruction); the rest is
/// recorded and added to the app's usage when the slice ends, so a charge
/// larger than a slice counts in full.
pub fn charge_fuel<B: Board>(caller: &mut Caller<'_, AppState<B>>, fuel: u64) {
    // Without fuel metering there is no slice to take from; the whole
    // charge is recorded.
    let left = caller.get_fuel().unwrap_or(0);
    let now = fuel.min(left);
    if now > 0 {
        let _ = caller.set_fuel(left - now);
    }
    let data = caller.data_mut();
    data.fuel_debt = data.fuel_debt.saturating_add(fuel - now);
}

/// Per-app resource limits: one memory of at most `memory_bytes`, one
/// table of at most `table_elements`, one instance. Records the peak
/// memory and the last refused request, so a refusal can be reported with
/// its size.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AppLimits {
    memory_bytes: usize,
    table_elements: usize,
    memory_peak: usize,
    refused_memory: Option<usize>,
}

impl AppLimits {
    /// Limits of `memory_bytes` of linear memory and `table_elements`
    /// table entries.
    pub fn new(memory_bytes: usize, table_elements: usize) -> Self {
        AppLimits { memory_bytes, table_elements, memory_peak: 0, refused_memory: None }
    }

    /// The memory limit in bytes.
    pub fn memory_limit(&self) -> usize {
        self.memory_bytes
    }

    /// The largest size the app's memory reached, in bytes.
    pub fn memory_peak(&self) -> usize {
        self.memory_peak
    }

    /// The size of the last memory request refused, in bytes.
    pub fn refused_memory(&self) -> Option<usize> {
        self.refused_memory
    }
}

#[cfg(feature = "wasmi")]
impl ResourceLimiter for AppLimits {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool, LimiterError> {
        if desired > self.memory_bytes || maximum.is_some_and(|max| desired > max) {
            // Refusing makes `memory.grow` return -1 (wasm semantics) or
            // fails instantiation; the app is not trapped for asking.
            self.refused_memory = Some(desired);
            return Ok(false);
        }
        self.memory_peak = self.memory_peak.max(desired);
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, maximum: Option<usize>) -> Result<bool, LimiterError> {
        Ok(desired <= self.table_elements && maximum.is_none_or(|max| desired <= max))
    }

    fn instances(&self) -> usize {
        // The app's module, and the sandbox's import shim when the app's
        // native code runs (akira-sandbox's `aot`): apps cannot
        // instantiate anything themselves.
        2
    }

    fn tables(&self) -> usize {
        1
    }

    fn memories(&self) -> usize {
        1
    }
}
