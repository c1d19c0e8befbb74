//! The AOT tier inside the sandbox (feature `aot`): an app whose package
//! carries native code from a signer trusted with it runs that code as an
//! `akira_aot::task::Task` on its own stack, beside interpreted apps.
//!
//! The app still gets its wasmi store, instance and memory: the native
//! code's linear memory *is* the instance's memory, and each of its host
//! calls is carried out by calling the very function wasmi would (the
//! bridge's guarded host function, reached through a small shim module
//! that imports the app's imports and exports them). So the guard, the
//! grants, the waits and the app's state are the interpreter's; only the
//! app's own instructions run natively. A host call that suspends parks
//! the task; the scheduler resumes it when the wait is over.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use akira_aot::format::{Blob, ImportKind, ValType};
use akira_bridge::{AppState, Board, DeniedFault, Suspend, Wait};
use wasmi::{Func, Linker, Module, Store, Val};

use crate::error::{Fault, LoadError, Trap};
use crate::instance::{Step, Usage};

/// Bytes of the region kept after the image for the module's tables.
fn table_bytes(max_table_elements: usize) -> u32 {
    (max_table_elements as u32).saturating_mul(16).saturating_add(256)
}

/// Fuel a native run gets: the manifest's CPU budget, counted in the
/// native code's units (function entries and loop iterations, fewer than
/// wasmi's per instruction), capped to what the counter holds.
fn native_fuel(budget: u64) -> i32 {
    i32::try_from(budget).unwrap_or(i32::MAX)
}

/// A shim module that imports `blob`'s wasm imports and exports each as
/// its index in decimal: instantiated with the app's linker, it hands out
/// the bridge's functions as `Func`s.
fn shim_module(blob: &Blob<'_>) -> Vec<u8> {
    fn leb(out: &mut Vec<u8>, mut v: u32) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    fn name(out: &mut Vec<u8>, s: &[u8]) {
        leb(out, s.len() as u32);
        out.extend_from_slice(s);
    }
    fn section(out: &mut Vec<u8>, id: u8, body: &[u8]) {
        out.push(id);
        leb(out, body.len() as u32);
        out.extend_from_slice(body);
    }
    let val = |t: ValType| if t == ValType::I64 { 0x7e } else { 0x7f };
    let imports: Vec<_> = blob.imports().filter(|i| i.kind == ImportKind::WasmFunction).collect();
    let (mut types, mut import_section, mut exports) = (Vec::new(), Vec::new(), Vec::new());
    leb(&mut types, imports.len() as u32);
    leb(&mut import_section, imports.len() as u32);
    leb(&mut exports, imports.len() as u32);
    for (i, import) in imports.iter().enumerate() {
        types.push(0x60);
        leb(&mut types, import.params.len() as u32);
        types.extend(import.params.iter().map(val));
        leb(&mut types, import.results.len() as u32);
        types.extend(import.results.iter().map(val));
        name(&mut import_section, import.module.as_bytes());
        name(&mut import_section, import.name.as_bytes());
        import_section.push(0x00);
        leb(&mut import_section, i as u32);
        let mut digits = [0u8; 10];
        name(&mut exports, decimal(i as u32, &mut digits));
        exports.push(0x00);
        leb(&mut exports, i as u32);
    }
    let mut wasm = vec![0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    section(&mut wasm, 1, &types);
    section(&mut wasm, 2, &import_section);
    section(&mut wasm, 7, &exports);
    wasm
}

/// `v` in decimal, in `buf`.
fn decimal(mut v: u32, buf: &mut [u8; 10]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            return &buf[at..];
        }
    }
}

/// An app's native code, loaded and running as a task. Fields drop in
/// order: the task and the module (which borrow the buffers below) first.
pub(crate) struct NativeRun {
    task: akira_aot::task::Task<'static>,
    module: akira_aot::Module<'static, 'static>,
    /// Per blob import: for a wasm import, the bridge function, its
    /// result type and which parameters are i64 (bit i); `None` for the
    /// runtime's own imports.
    funcs: Vec<Option<(Func, Option<ValType>, u16)>>,
    /// The wait a host call suspended the task on; `resume_with` its result.
    wait: Option<Wait>,
    resume_with: Option<i32>,
    done: Option<Step>,
    _stack: Vec<u64>,
    _region: Vec<u64>,
    _blob: Arc<[u8]>,
}

impl NativeRun {
    /// Loads `bytes` (an AOT blob) for the app in `store`, whose memory
    /// the native code shares, binding its imports to the functions
    /// `linker` defines for the app (the granted ones: an import it does
    /// not define refuses the load, as in the interpreter).
    pub(crate) fn load<B: Board>(
        bytes: Arc<[u8]>,
        store: &mut Store<AppState<B>>,
        linker: &Linker<AppState<B>>,
        entry: &str,
        budget: u64,
        max_table_elements: usize,
    ) -> Result<NativeRun, LoadError> {
        let err = |e: &dyn core::fmt::Display| LoadError::Instantiate(alloc::format!("native code: {e}"));
        // SAFETY (lifetimes below): `bytes`, `region` and `stack` are heap
        // buffers owned by the returned value, never moved or freed before
        // the module and the task that borrow them (field order).
        let blob_bytes: &'static [u8] = unsafe { core::slice::from_raw_parts(bytes.as_ptr(), bytes.len()) };
        let blob = Blob::parse(blob_bytes).map_err(|e| err(&e))?;
        let shim = shim_module(&blob);
        // SAFETY: the shim is valid by construction (types, imports and
        // exports sections only, each index in range).
        let shim = unsafe { Module::new_unchecked(store.engine(), &shim) }.map_err(|e| err(&e))?;
        let shim = linker.instantiate_and_start(&mut *store, &shim).map_err(|e| err(&e))?;
        let mut funcs = Vec::new();
        let mut digits = [0u8; 10];
        let mut wasm_index = 0;
        for import in blob.imports() {
            if import.kind != ImportKind::WasmFunction {
                funcs.push(None);
                continue;
            }
            let export = core::str::from_utf8(decimal(wasm_index, &mut digits)).unwrap_or("");
            wasm_index += 1;
            let func = shim.get_func(&*store, export).ok_or_else(|| err(&"an import is not linked"))?;
            let wide = import.params.iter().enumerate().filter(|(_, t)| *t == ValType::I64);
            funcs.push(Some((func, import.results.iter().next(), wide.fold(0, |m, (i, _)| m | 1 << i))));
        }
        let memory = store.data().memory().ok_or_else(|| err(&"the app exports no memory"))?;
        let data = memory.data_mut(&mut *store);
        let (memory_at, memory_len) = (data.as_mut_ptr(), data.len());
        let h = &blob.header;
        let tables = table_bytes(max_table_elements);
        let region_len = h.image_len as usize + h.bss_len as usize + h.image_align as usize + tables as usize;
        let mut region = vec![0u64; region_len.div_ceil(8)];
        // SAFETY: see above.
        let region_bytes: &'static mut [u8] =
            unsafe { core::slice::from_raw_parts_mut(region.as_mut_ptr().cast::<u8>(), region.len() * 8) };
        let limits = akira_aot::Limits { max_stack: h.stack_bound, memory: tables };
        // SAFETY: the memory is the app's wasmi memory, which does not
        // move or grow while the app runs (the native code's memory.grow
        // fails; the bridge never grows it); only the native code and the
        // host functions it calls (while it is parked) touch it.
        let module = unsafe {
            akira_aot::Module::load_with_memory(blob, region_bytes, limits, memory_at, memory_len, |import| {
                let index = blob.imports().position(|i| i.module == import.module && i.name == import.name)?;
                akira_aot::task::host_call_stub(index)
            })
        }
        .map_err(|e| err(&e))?;
        let stack_len = h.stack_bound as usize + akira_aot::task::SWITCH_BYTES as usize + 512;
        let mut stack = vec![0u64; stack_len.div_ceil(8)];
        // SAFETY: see above.
        let stack_bytes: &'static mut [u8] =
            unsafe { core::slice::from_raw_parts_mut(stack.as_mut_ptr().cast::<u8>(), stack.len() * 8) };
        let task = module.task(entry, &[], native_fuel(budget), stack_bytes).map_err(|e| err(&e))?;
        Ok(NativeRun {
            task,
            module,
            funcs,
            wait: None,
            resume_with: None,
            done: None,
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

    /// Runs the native code until it waits, exits or faults; host calls
    /// that return at once are carried out on the way.
    pub(crate) fn step<B: Board>(
        &mut self,
        store: &mut Store<AppState<B>>,
        usage: &mut Usage,
        returns_code: bool,
        budget: u64,
    ) -> Step {
        if let Some(step) = &self.done {
            return step.clone();
        }
        let mut value = match (self.wait, self.resume_with.take()) {
            (Some(wait), None) => return Step::Waiting(wait),
            (Some(_), Some(result)) => {
                self.wait = None;
                // The wait ended: the CPU budget starts afresh, as the
                // interpreter's does.
                usage.fuel_since_wait = 0;
                self.task.set_fuel(native_fuel(budget));
                u64::from(result as u32)
            }
            (None, _) => 0,
        };
        usage.slices += 1;
        let step = loop {
            let before = self.task.fuel();
            let run = self.task.resume(&self.module, value);
            let used = u64::from(before.saturating_sub(self.task.fuel()).max(0) as u32);
            usage.fuel = usage.fuel.saturating_add(used);
            usage.fuel_since_wait = usage.fuel_since_wait.saturating_add(used);
            match run {
                Ok(akira_aot::task::Run::Finished(v)) => break Step::Exited(if returns_code { v as i32 } else { 0 }),
                Ok(akira_aot::task::Run::HostCall { import, args, count }) => {
                    match self.host_call(store, usize::from(import), &args[..count]) {
                        Ok(v) => value = v,
                        Err(HostOutcome::Wait(wait)) => {
                            usage.waits += 1;
                            self.wait = Some(wait);
                            return Step::Waiting(wait);
                        }
                        Err(HostOutcome::Stop(step)) => break step,
                    }
                }
                Err(akira_aot::AotError::Trap(trap)) => break Step::Faulted(fault(trap, budget)),
                Err(e) => break Step::Faulted(Fault::Host(alloc::format!("native code: {e}"))),
            }
        };
        self.done = Some(step.clone());
        step
    }

    /// Calls the bridge function bound to blob import `index`.
    fn host_call<B: Board>(
        &mut self,
        store: &mut Store<AppState<B>>,
        index: usize,
        args: &[u64],
    ) -> Result<u64, HostOutcome> {
        let Some(&Some((func, result, wide))) = self.funcs.get(index) else {
            return Err(HostOutcome::Stop(Step::Faulted(Fault::Host("native code called an unbound import".into()))));
        };
        let mut params = [const { Val::I32(0) }; 16];
        for (i, (param, &arg)) in params.iter_mut().zip(args).enumerate() {
            *param = if wide & (1 << i) != 0 { Val::I64(arg as i64) } else { Val::I32(arg as u32 as i32) };
        }
        let mut results = [match result {
            Some(ValType::I64) => Val::I64(0),
            _ => Val::I32(0),
        }];
        let n = usize::from(result.is_some());
        // Host functions charge fuel to the store (work they do for the
        // app); the native code's own fuel is separate.
        let _ = store.set_fuel(u64::MAX / 2);
        match func.call(&mut *store, &params[..args.len()], &mut results[..n]) {
            Ok(()) => Ok(match results[0] {
                Val::I64(v) => v as u64,
                Val::I32(v) => u64::from(v as u32),
                _ => 0,
            }),
            Err(error) => Err(if let Some(code) = error.i32_exit_status() {
                HostOutcome::Stop(Step::Exited(code))
            } else if error.downcast_ref::<Suspend>().is_some() {
                match store.data_mut().take_wait() {
                    Some(wait) => HostOutcome::Wait(wait),
                    None => HostOutcome::Stop(Step::Faulted(Fault::Host("suspended without a wait".into()))),
                }
            } else if let Some(DeniedFault(denial)) = error.downcast_ref::<DeniedFault>() {
                HostOutcome::Stop(Step::Faulted(Fault::Denied(*denial)))
            } else {
                HostOutcome::Stop(Step::Faulted(Fault::from_error(&error)))
            }),
        }
    }
}

enum HostOutcome {
    Wait(Wait),
    Stop(Step),
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
