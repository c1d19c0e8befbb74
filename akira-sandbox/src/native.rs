//! The AOT tier inside the sandbox (feature `aot`): an app whose package
//! carries native code from a signer trusted with it runs that code as an
//! `akira_aot::task::Task` on its own stack.
//!
//! Each host call the native code makes reaches the very bridge function
//! the interpreter would call, with the app's guard, grants, waits and
//! state. How depends on the firmware:
//! - with the interpreter (feature `wasmi`), the app keeps its wasmi
//!   store, instance and memory: the native code's linear memory *is* the
//!   instance's memory, and each call goes through wasmi's `Func::call`
//!   on a small shim module that imports the app's imports and exports
//!   them ([`shim`]);
//! - without it, the bridge linked its functions into akira-bridge's
//!   native `Linker`; the sandbox owns the app's linear memory and calls
//!   them directly ([`direct`]).
//!
//! A host call that suspends parks the task; the scheduler resumes it
//! when the wait is over.
//!
//! Native code runs in time slices as interpreted code does: each step
//! gives the task one slice of fuel ([`Meter::arm`]); when it runs out,
//! the compiled code's fuel check switches back to the host
//! (`akira_aot::task::Run::OutOfFuel`) and the step yields while the app's
//! CPU budget since its last wait lasts, and faults with
//! [`Fault::CpuBudget`] once it is spent. Native fuel counts function
//! entries and loop iterations (one unit each), not instructions: a unit
//! is worth several of wasmi's, so the same `slice_fuel` and CPU budget
//! give native code more work per slice (see `BENCHMARKS.md`).

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use akira_aot::format::{Blob, ImportKind};
use akira_bridge::{Board, Wait};

use crate::error::{Fault, LoadError, Trap};
use crate::instance::{Context, Meter, Step};

#[cfg(not(feature = "wasmi"))]
mod direct;
#[cfg(feature = "wasmi")]
mod shim;

#[cfg(not(feature = "wasmi"))]
pub(crate) use direct::Calls;
#[cfg(feature = "wasmi")]
pub(crate) use shim::Calls;

/// Bytes of the region kept after the image for the module's tables.
fn table_bytes(max_table_elements: usize) -> u32 {
    (max_table_elements as u32).saturating_mul(16).saturating_add(256)
}

/// Fuel for the native code's counter, capped to what it holds.
fn native_fuel(fuel: u64) -> i32 {
    i32::try_from(fuel).unwrap_or(i32::MAX)
}

/// The app's state, which host calls charge their fuel to.
#[cfg(feature = "wasmi")]
fn state<B: Board>(context: &mut Context<B>) -> &mut akira_bridge::AppState<B> {
    context.data_mut()
}

/// The app's state, which host calls charge their fuel to.
#[cfg(not(feature = "wasmi"))]
fn state<B: Board>(context: &mut Context<B>) -> &mut akira_bridge::AppState<B> {
    context
}

/// A load failure, in the sandbox's terms.
fn load_error(e: &dyn core::fmt::Display) -> LoadError {
    LoadError::Instantiate(alloc::format!("native code: {e}"))
}

/// How a host call ended the native code's run, if it did not return.
pub(crate) enum HostOutcome {
    Wait(Wait),
    Stop(Step),
}

/// An app's native code, loaded and running as a task. Fields drop in
/// order: the task and the module (which borrow the buffers below) first.
pub(crate) struct NativeRun<B: Board> {
    task: akira_aot::task::Task<'static>,
    module: akira_aot::Module<'static, 'static>,
    /// How the blob's imports reach the bridge.
    calls: Calls<B>,
    /// The wait a host call suspended the task on; `resume_with` its result.
    wait: Option<Wait>,
    resume_with: Option<i32>,
    done: Option<Step>,
    /// Whether the blob's fuel checks end time slices (it imports
    /// `akira_aot_out_of_fuel`); blobs built before run on their whole
    /// budget, running out of it being a trap.
    sliced: bool,
    _stack: Vec<u64>,
    _region: Vec<u64>,
    _blob: Arc<[u8]>,
}

impl<B: Board> NativeRun<B> {
    /// Loads `bytes` (an AOT blob) with its imports bound through `calls`
    /// (each import the app was not granted refuses the load, as in the
    /// interpreter) and its linear memory at `memory` (`memory_len`
    /// bytes, which must stay put while the run lives: the interpreter's
    /// memory, or one `calls` owns).
    pub(crate) fn load(
        bytes: Arc<[u8]>,
        calls: Calls<B>,
        memory: (*mut u8, usize),
        entry: &str,
        max_table_elements: usize,
    ) -> Result<NativeRun<B>, LoadError> {
        // SAFETY (lifetimes below): `bytes`, `region` and `stack` are heap
        // buffers owned by the returned value, never moved or freed before
        // the module and the task that borrow them (field order).
        let blob_bytes: &'static [u8] = unsafe { core::slice::from_raw_parts(bytes.as_ptr(), bytes.len()) };
        let blob = Blob::parse(blob_bytes).map_err(|e| load_error(&e))?;
        let h = &blob.header;
        let tables = table_bytes(max_table_elements);
        let region_len = h.image_len as usize + h.bss_len as usize + h.image_align as usize + tables as usize;
        let mut region = vec![0u64; region_len.div_ceil(8)];
        // SAFETY: see above.
        let region_bytes: &'static mut [u8] =
            unsafe { core::slice::from_raw_parts_mut(region.as_mut_ptr().cast::<u8>(), region.len() * 8) };
        let limits = akira_aot::Limits { max_stack: h.stack_bound, memory: tables };
        let bind = |import: &akira_aot::format::Import<'_>| {
            let index = blob.imports().position(|i| i.module == import.module && i.name == import.name)?;
            akira_aot::task::host_call_stub(index)
        };
        let sliced = blob.imports().any(|i| i.kind == ImportKind::Runtime && i.name == "akira_aot_out_of_fuel");
        // A module without a linear memory takes none from the device.
        let takes_memory = blob.imports().any(|i| i.kind == ImportKind::Runtime && i.name == "akira_aot_memory");
        let module = if takes_memory || memory.1 > 0 {
            // SAFETY: the memory does not move or grow while the app runs
            // (the native code's memory.grow fails; the bridge never grows
            // it); only the native code and the host functions it calls
            // (while it is parked) touch it.
            unsafe { akira_aot::Module::load_with_memory(blob, region_bytes, limits, memory.0, memory.1, bind) }
        } else {
            akira_aot::Module::load(blob, region_bytes, limits, bind)
        }
        .map_err(|e| load_error(&e))?;
        let stack_len = akira_aot::task::stack_len(h.stack_bound);
        let mut stack = vec![0u64; stack_len.div_ceil(8)];
        // SAFETY: see above.
        let stack_bytes: &'static mut [u8] =
            unsafe { core::slice::from_raw_parts_mut(stack.as_mut_ptr().cast::<u8>(), stack.len() * 8) };
        // Each step gives the task its slice's fuel.
        let task = module.task(entry, &[], 0, stack_bytes).map_err(|e| load_error(&e))?;
        Ok(NativeRun {
            task,
            module,
            calls,
            wait: None,
            resume_with: None,
            done: None,
            sliced,
            _stack: stack,
            _region: region,
            _blob: bytes,
        })
    }

    pub(crate) fn wait(&self) -> Option<&Wait> {
        self.wait.as_ref().filter(|_| self.resume_with.is_none())
    }

    pub(crate) fn is_done(&self) -> bool {
        self.done.is_some()
    }

    pub(crate) fn resume(&mut self, result: i32) {
        if self.wait.is_some() && self.resume_with.is_none() {
            self.resume_with = Some(result);
        }
    }

    /// The app's linear memory, when the run owns it (no interpreter).
    #[cfg(not(feature = "wasmi"))]
    pub(crate) fn memory(&mut self) -> &mut [u8] {
        self.calls.memory()
    }

    /// Runs the native code for at most one slice of fuel: until the slice
    /// ends, it waits, exits or faults; host calls that return at once
    /// are carried out on the way.
    pub(crate) fn step(&mut self, context: &mut Context<B>, meter: &mut Meter, returns_code: bool) -> Step {
        if let Some(step) = &self.done {
            return step.clone();
        }
        let mut value = match (self.wait, self.resume_with.take()) {
            (Some(wait), None) => return Step::Waiting(wait),
            (Some(_), Some(result)) => {
                self.wait = None;
                // The wait ended: the CPU budget starts afresh, as the
                // interpreter's does.
                meter.waited();
                u64::from(result as u32)
            }
            // The first step, or the next slice (the task is parked in its
            // out-of-fuel call, which returns nothing).
            (None, _) => 0,
        };
        let fuel = if self.sliced { meter.arm(0) } else { meter.left() };
        self.task.set_fuel(native_fuel(fuel));
        meter.usage.slices += 1;
        let step = loop {
            let before = self.task.fuel();
            let run = self.task.resume(&self.module, value);
            // The counter ends at -1 when the slice ran out: the check that
            // found it empty counts too (the code got past it).
            let burnt = u64::from(before.saturating_sub(self.task.fuel()).max(0) as u32);
            meter.charge(burnt, state(context).take_fuel_debt());
            match run {
                Ok(akira_aot::task::Run::Finished(v)) => break Step::Exited(if returns_code { v as i32 } else { 0 }),
                Ok(akira_aot::task::Run::HostCall { import, args, count }) => {
                    match self.calls.call(context, usize::from(import), &args[..count]) {
                        Ok(v) => value = v,
                        Err(HostOutcome::Wait(wait)) => {
                            meter.usage.waits += 1;
                            self.wait = Some(wait);
                            return Step::Waiting(wait);
                        }
                        Err(HostOutcome::Stop(step)) => break step,
                    }
                }
                Ok(akira_aot::task::Run::OutOfFuel) => match meter.slice_over(1) {
                    Ok(()) => return Step::Yielded,
                    Err(fault) => break Step::Faulted(fault),
                },
                Ok(_) => break Step::Faulted(Fault::Host("native code stopped for an unknown reason".into())),
                Err(akira_aot::AotError::Trap(trap)) => break Step::Faulted(fault(trap, meter.budget())),
                Err(e) => break Step::Faulted(Fault::Host(alloc::format!("native code: {e}"))),
            }
        };
        self.done = Some(step.clone());
        step
    }
}

/// The sandbox's fault for a native trap, as the interpreter reports the
/// same event.
fn fault(trap: akira_aot::Trap, budget: u64) -> Fault {
    use akira_aot::Trap as T;
    Fault::Trap(match trap {
        T::OutOfFuel => return Fault::CpuBudget { budget },
        T::OutOfBounds => Trap::MemoryOutOfBounds,
        T::IntegerOverflow => Trap::IntegerOverflow,
        T::DivisionByZero => Trap::DivisionByZero,
        T::InvalidConversion => Trap::BadConversion,
        T::Unreachable => Trap::Unreachable,
        T::IndirectCall => Trap::BadSignature,
        T::CallDepth | T::StackOverflow => Trap::StackOverflow,
        T::OutOfMemory => Trap::OutOfSystemMemory,
        _ => Trap::Unreachable,
    })
}
