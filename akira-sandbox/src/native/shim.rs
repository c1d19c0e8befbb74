//! Host calls from native code through wasmi (a firmware with the
//! interpreter): each import is the `Func` a shim module hands out.

use alloc::vec;
use alloc::vec::Vec;
use core::marker::PhantomData;

use akira_aot::format::{Blob, ImportKind, ValType};
use akira_bridge::{AppState, Board, DeniedFault, Suspend};
use wasmi::{Func, Linker, Module, Store, Val};

use super::{HostOutcome, load_error};
use crate::error::{Fault, LoadError};
use crate::instance::Step;

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

/// Per blob import: for a wasm import, the bridge function, its result
/// type and which parameters are i64 (bit i); `None` for the runtime's
/// own imports.
pub(crate) struct Calls<B> {
    funcs: Vec<Option<(Func, Option<ValType>, u16)>>,
    _board: PhantomData<fn(B)>,
}

impl<B: Board> Calls<B> {
    /// Binds `blob`'s wasm imports to the functions `linker` defines for
    /// the app in `store` (the granted ones: an import it does not define
    /// refuses the load, as in the interpreter).
    pub(crate) fn link(
        blob: &Blob<'_>,
        store: &mut Store<AppState<B>>,
        linker: &Linker<AppState<B>>,
    ) -> Result<Calls<B>, LoadError> {
        let shim = shim_module(blob);
        // SAFETY: the shim is valid by construction (types, imports and
        // exports sections only, each index in range).
        let shim = unsafe { Module::new_unchecked(store.engine(), &shim) }.map_err(|e| load_error(&e))?;
        let shim = linker.instantiate_and_start(&mut *store, &shim).map_err(|e| load_error(&e))?;
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
            let func = shim.get_func(&*store, export).ok_or_else(|| load_error(&"an import is not linked"))?;
            let wide = import.params.iter().enumerate().filter(|(_, t)| *t == ValType::I64);
            funcs.push(Some((func, import.results.iter().next(), wide.fold(0, |m, (i, _)| m | 1 << i))));
        }
        Ok(Calls { funcs, _board: PhantomData })
    }

    /// Calls the bridge function bound to blob import `index`.
    pub(crate) fn call(
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
