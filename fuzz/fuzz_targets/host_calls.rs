//! Host calls with random arguments: an app importing any of the
//! simulated board's bridge functions calls them in a fuzzer-chosen order
//! with fuzzer-chosen arguments (small numbers, addresses inside its
//! memory, or any 64-bit value) over fuzzer-chosen memory contents, then
//! runs 100 ms of virtual time on the simulated board. Besides not
//! panicking: the run ends, and the app is charged at least the declared
//! fixed cost of every call it got to make.
//!
//! `akira:net` (the host's real sockets) is left out (see `common.rs`).

#![no_main]

use std::time::Duration;

#[path = "common.rs"]
mod common;

use akira_caps::manifest::AppName;
use akira_caps::scope::{I2cScope, StorageScope};
use akira_caps::sets::AddrSet;
use akira_caps::{CapabilitySet, FnSpec, Manifest, Ret, Version};
use akira_sandbox::RestartPolicy;
use akira_sim::{SimBoard, Simulation};
use arbitrary::{Arbitrary, Unstructured};
use common::{APPS, runtime, val};
use libfuzzer_sys::fuzz_target;
use wasm_encoder::{
    CodeSection, ConstExpr, DataSection, EntityType, ExportKind, ExportSection, Function, FunctionSection,
    ImportSection, Instruction, MemorySection, MemoryType, Module, TypeSection, ValType,
};

#[derive(Arbitrary, Debug)]
struct Call {
    function: u16,
    args: [i64; 7],
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    calls: Vec<Call>,
    memory: &'a [u8],
}

/// An argument: the low two bits pick a small number, an address in the
/// app's memory or the raw value.
fn argument(a: i64) -> i64 {
    match a & 3 {
        0 => (a >> 2).rem_euclid(64),
        1 => (a >> 2).rem_euclid(65536),
        _ => a >> 2,
    }
}

fn app(functions: &[(&'static str, &'static FnSpec)], input: &Input<'_>) -> (Vec<u8>, u64) {
    let mut types = TypeSection::new();
    let mut imports = ImportSection::new();
    let chosen: Vec<_> =
        input.calls.iter().map(|c| (functions[usize::from(c.function) % functions.len()], c)).collect();
    for (i, ((module, f), _)) in chosen.iter().enumerate() {
        types.ty().function(f.wasm_params().map(val), f.result.wasm().iter().copied().map(val));
        imports.import(module, f.name, EntityType::Function(i as u32));
    }
    let main_type = chosen.len() as u32;
    types.ty().function([], []);
    let mut body = Function::new([]);
    let mut declared = 0;
    for (i, ((_, f), call)) in chosen.iter().enumerate() {
        for (p, a) in f.wasm_params().zip(call.args) {
            let a = argument(a);
            body.instruction(&match val(p) {
                ValType::I32 => Instruction::I32Const(a as i32),
                ValType::I64 => Instruction::I64Const(a),
                ValType::F32 => Instruction::F32Const((a as f32).into()),
                _ => Instruction::F64Const((a as f64).into()),
            });
        }
        body.instruction(&Instruction::Call(i as u32));
        declared += u64::from(f.cost.call());
        if f.result == Ret::Never {
            break;
        }
        for _ in f.result.wasm() {
            body.instruction(&Instruction::Drop);
        }
    }
    body.instruction(&Instruction::End);
    let mut functions = FunctionSection::new();
    functions.function(main_type);
    let mut memories = MemorySection::new();
    memories.memory(MemoryType { minimum: 1, maximum: Some(1), memory64: false, shared: false, page_size_log2: None });
    let mut exports = ExportSection::new();
    exports.export("akira_main", ExportKind::Func, chosen.len() as u32);
    exports.export("memory", ExportKind::Memory, 0);
    let mut code = CodeSection::new();
    code.function(&body);
    let mut data = DataSection::new();
    let bytes = &input.memory[..input.memory.len().min(65536)];
    data.active(0, &ConstExpr::i32_const(0), bytes.iter().copied());
    let mut module = Module::new();
    module.section(&types).section(&imports).section(&functions).section(&memories);
    module.section(&exports).section(&code).section(&data);
    let mut wasm = module.finish();
    let mut manifest = Manifest::new(AppName::try_from("fuzz").unwrap(), Version::new(1, 0, 0));
    manifest.capabilities = CapabilitySet::everything();
    manifest.capabilities.storage = Some(StorageScope::with_quota(4096));
    manifest.capabilities.net = None;
    // Every device address (the full set holds reserved ones).
    let devices: AddrSet = (0x08..=0x77).collect();
    manifest.capabilities.i2c = Some(I2cScope { buses: [devices; 4] });
    wasm.extend(manifest.custom_section());
    (wasm, declared)
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else { return };
    if input.calls.is_empty() || input.calls.len() > 64 {
        return;
    }
    let runtime = runtime();
    let functions: Vec<(&'static str, &'static FnSpec)> =
        runtime.bridge().specs().iter().flat_map(|s| s.functions.iter().map(move |f| (s.import, f))).collect();
    let (wasm, declared) = app(&functions, &input);
    let app = runtime.load(&wasm).unwrap_or_else(|e| panic!("the probe app does not load: {e}"));
    let mut sim = Simulation::new(runtime, SimBoard::virtual_time());
    sim.serve_apps(&APPS);
    let id = sim.spawn(app, RestartPolicy::never()).expect("the probe app spawns");
    sim.run(Some(Duration::from_millis(100)));
    let usage = sim.scheduler().usage(id);
    // Every call made was charged its fixed part; the app may have ended
    // early (a fault, an exit), so only a finished run is checked.
    if let Some(usage) = usage
        && matches!(sim.scheduler().status(id), Some(akira_sandbox::Status::Exited(0)))
    {
        assert!(usage.fuel >= declared, "paid {} for calls declaring {declared}", usage.fuel);
    }
    sim.remove(id);
});
