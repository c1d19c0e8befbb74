//! Host calls from native code without an interpreter: the bridge linked
//! the app's granted functions into akira-bridge's native `Linker`, and
//! each call is a direct call with the app's state, its linear memory
//! (owned here) and its fuel.

use alloc::vec;
use alloc::vec::Vec;

use akira_aot::format::{Blob, ImportKind};
use akira_bridge::host::{Caller, Error, Linker};
use akira_bridge::{AppState, Board};

use super::{HostOutcome, load_error};
use crate::error::{Fault, LoadError};
use crate::instance::Step;
use crate::runtime::caps_types;

/// The app's functions, its linear memory, and per blob import the
/// position of its function in the linker (`None` for the runtime's own
/// imports), looked up once at load.
pub(crate) struct Calls<B: Board> {
    linker: Linker<AppState<B>>,
    positions: Vec<Option<usize>>,
    memory: Vec<u64>,
    memory_len: usize,
}

impl<B: Board> Calls<B> {
    /// Binds `blob`'s wasm imports to `linker`'s functions (the granted
    /// ones: an import it does not define, or defines with another
    /// signature, refuses the load) and gives the app `memory_len` bytes
    /// of zeroed linear memory.
    pub(crate) fn link(blob: &Blob<'_>, linker: Linker<AppState<B>>, memory_len: usize) -> Result<Calls<B>, LoadError> {
        let mut positions = Vec::new();
        for import in blob.imports() {
            if import.kind != ImportKind::WasmFunction {
                positions.push(None);
                continue;
            }
            let position = linker
                .position(import.module, import.name)
                .ok_or_else(|| load_error(&format_args!("`{}`.`{}` is not linked", import.module, import.name)))?;
            let (params, results) = (caps_types(import.params.iter()), caps_types(import.results.iter()));
            if linker.signature(position) != Some((&params[..], &results[..])) {
                return Err(load_error(&format_args!("`{}`.`{}` has another signature", import.module, import.name)));
            }
            positions.push(Some(position));
        }
        Ok(Calls { linker, positions, memory: vec![0u64; memory_len.div_ceil(8)], memory_len })
    }

    /// The app's linear memory: where it starts and its length.
    pub(crate) fn memory_at(&mut self) -> (*mut u8, usize) {
        (self.memory.as_mut_ptr().cast::<u8>(), self.memory_len)
    }

    /// The app's linear memory.
    pub(crate) fn memory(&mut self) -> &mut [u8] {
        bytes(&mut self.memory, self.memory_len)
    }

    /// Calls the bridge function bound to blob import `index`.
    pub(crate) fn call(&mut self, state: &mut AppState<B>, index: usize, args: &[u64]) -> Result<u64, HostOutcome> {
        let Some(&Some(position)) = self.positions.get(index) else {
            return Err(unbound());
        };
        // Host functions may take fuel from the slice for work they did
        // for the app (they record it as debt too); the native code's own
        // fuel is separate, as with the interpreter's shim.
        let mut fuel = u64::MAX / 2;
        // The native code is parked while its host call runs: nothing else
        // touches the memory.
        let memory = bytes(&mut self.memory, self.memory_len);
        match self.linker.call(position, Caller::new(state, memory, &mut fuel), args) {
            Some(Ok(value)) => Ok(value),
            Some(Err(Error::Exit(code))) => Err(HostOutcome::Stop(Step::Exited(code))),
            Some(Err(Error::Suspended)) => Err(match state.take_wait() {
                Some(wait) => HostOutcome::Wait(wait),
                None => HostOutcome::Stop(Step::Faulted(Fault::Host("suspended without a wait".into()))),
            }),
            Some(Err(Error::Denied(denial))) => Err(HostOutcome::Stop(Step::Faulted(Fault::Denied(denial)))),
            Some(Err(e)) => Err(HostOutcome::Stop(Step::Faulted(Fault::Host(alloc::format!("{e}"))))),
            None => Err(unbound()),
        }
    }
}

/// Native code called an import nothing is bound to: its blob was linked
/// against other specs than this firmware's (the loader refuses such a
/// blob; this is the guard behind it).
fn unbound() -> HostOutcome {
    HostOutcome::Stop(Step::Faulted(Fault::Host("native code called an unbound import".into())))
}

/// The first `len` bytes of `words` (`len` at most 8 per word).
fn bytes(words: &mut [u64], len: usize) -> &mut [u8] {
    let len = len.min(words.len() * 8);
    // SAFETY: `len` bytes lie inside `words`, borrowed mutably for the
    // result's lifetime; any bytes are valid `u8`s.
    unsafe { core::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), len) }
}
