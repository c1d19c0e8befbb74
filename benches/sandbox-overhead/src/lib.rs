//! What the Akira sandbox costs over raw wasmi on compute, measured by
//! running the same kernel on each engine below and counting instructions
//! with callgrind (`callgrind.sh` beside this crate; figures and how to
//! read them in `BENCHMARKS.md` at the workspace root).
//!
//! A kernel is a wasm module without imports that exports
//! `akira_main() -> i32`; every call does the same work (it sets up its own
//! data) and returns a checksum, which must be the same on every engine.
//!
//! Each engine first sets the kernel up (compile, instantiate, and one
//! warm-up call where the engine compiles lazily), then runs it once inside
//! [`overhead_measured`], the one function callgrind counts
//! (`--toggle-collect=overhead_measured`).

use std::fmt;
use std::str::FromStr;

use akira_caps::manifest::AppName;
use akira_caps::{Manifest, Policy, Version};
use akira_sandbox::akira_bridge::wasmi::{self, Config, Engine as WasmiEngine, Linker, Module, ResumableCall, Store};
use akira_sandbox::akira_bridge::{AppInfo, Board, Bridge, Instant, Level};
use akira_sandbox::{Event, LoadedApp, RestartPolicy, Runtime, RuntimeConfig, Scheduler, Status, Step};

/// The export every kernel has.
pub const ENTRY: &str = "akira_main";

/// Linear memory a kernel may have in the sandbox.
const KERNEL_MEMORY: u32 = 16 * 1024 * 1024;

/// Where a kernel runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// wasmi 2.0 with `Config::default()`: no fuel, lazy translation. One
    /// `call`.
    Wasmi,
    /// The same with `consume_fuel(true)` and fuel that never runs out:
    /// what fuel metering alone costs.
    WasmiFuel,
    /// `WasmiFuel` run in slices as the sandbox runs apps: `call_resumable`
    /// with one slice of fuel, then `resume` with another each time it runs
    /// out. What wasmi's own pause and resume cost, without Akira's code.
    WasmiSliced,
    /// A `Store<()>` on the sandbox runtime's own engine (its config: fuel,
    /// eager compilation, stack limits) with fuel that never runs out, one
    /// `call_resumable`: the sandbox's engine settings without its
    /// stepping.
    WasmiAkiraConfig,
    /// The sandbox: `Runtime::load`, `instantiate`, then
    /// `AppInstance::step` until the app exits, one slice per step.
    Sandbox,
    /// The sandbox under `Scheduler::poll`, one slice per round, as a
    /// firmware runs its apps.
    Scheduler,
    /// wasm3 0.3.1 (feature `wasm3`), for comparison.
    Wasm3,
}

impl Engine {
    /// Every engine, in table order.
    pub const ALL: [Engine; 7] = [
        Engine::Wasmi,
        Engine::WasmiFuel,
        Engine::WasmiAkiraConfig,
        Engine::WasmiSliced,
        Engine::Sandbox,
        Engine::Scheduler,
        Engine::Wasm3,
    ];

    /// The engine's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Wasmi => "wasmi",
            Engine::WasmiFuel => "wasmi-fuel",
            Engine::WasmiAkiraConfig => "wasmi-akira-config",
            Engine::WasmiSliced => "wasmi-sliced",
            Engine::Sandbox => "sandbox",
            Engine::Scheduler => "scheduler",
            Engine::Wasm3 => "wasm3",
        }
    }

    /// Whether this build can run the engine (wasm3 needs the `wasm3`
    /// feature).
    pub fn available(self) -> bool {
        self != Engine::Wasm3 || cfg!(feature = "wasm3")
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Engine {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Engine::ALL.into_iter().find(|e| e.name() == s).ok_or_else(|| {
            let names: Vec<_> = Engine::ALL.iter().map(|e| e.name()).collect();
            format!("unknown engine `{s}` (one of: {})", names.join(", "))
        })
    }
}

/// The figures of one measured run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The kernel's checksum.
    pub result: i32,
    /// Time slices the sandbox ran (1 for the raw engines).
    pub slices: u64,
    /// Fuel the kernel used (0 where fuel is off).
    pub fuel: u64,
}

/// Runs `run` once: the only code callgrind counts.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn overhead_measured(run: &mut dyn FnMut() -> Result<Outcome, String>) -> Result<Outcome, String> {
    run()
}

/// Sets `wasm` up on `engine` (slices of `slice_fuel` for the sandbox) and
/// runs it once through [`overhead_measured`].
pub fn run(engine: Engine, wasm: &[u8], slice_fuel: u64) -> Result<Outcome, String> {
    match engine {
        Engine::Wasmi => raw_wasmi(&Config::default(), wasm),
        Engine::WasmiFuel => {
            let mut config = Config::default();
            config.consume_fuel(true);
            raw_wasmi(&config, wasm)
        }
        Engine::WasmiAkiraConfig => akira_config(wasm),
        Engine::WasmiSliced => wasmi_sliced(wasm, slice_fuel),
        Engine::Sandbox => sandbox(wasm, slice_fuel),
        Engine::Scheduler => scheduler(wasm, slice_fuel),
        Engine::Wasm3 => wasm3(wasm),
    }
}

fn err(what: &str) -> impl Fn(wasmi::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// A raw wasmi instance of `wasm` under `config`; a warm-up call compiles
/// what lazy translation left, then the measured call.
fn raw_wasmi(config: &Config, wasm: &[u8]) -> Result<Outcome, String> {
    let engine = WasmiEngine::new(config);
    let module = Module::new(&engine, wasm).map_err(err("compile"))?;
    let mut store = Store::new(&engine, ());
    let fuel = config_fuel(&mut store);
    let instance = Linker::new(&engine).instantiate_and_start(&mut store, &module).map_err(err("instantiate"))?;
    let main = instance.get_typed_func::<(), i32>(&store, ENTRY).map_err(err("entry"))?;
    main.call(&mut store, ()).map_err(err("warm-up"))?;
    let before = store.get_fuel().unwrap_or(0);
    let mut measured =
        || main.call(&mut store, ()).map_err(err("run")).map(|result| Outcome { result, slices: 1, fuel: 0 });
    let mut outcome = overhead_measured(&mut measured)?;
    if fuel {
        outcome.fuel = before - store.get_fuel().unwrap_or(0);
    }
    Ok(outcome)
}

/// Gives `store` fuel that never runs out if its engine meters fuel.
fn config_fuel(store: &mut Store<()>) -> bool {
    store.set_fuel(u64::MAX).is_ok()
}

/// The sandbox runtime's engine, without the sandbox: one resumable call
/// with fuel that never runs out.
fn akira_config(wasm: &[u8]) -> Result<Outcome, String> {
    let rt = runtime(u64::MAX);
    let module = Module::new(rt.engine(), wasm).map_err(err("compile"))?;
    let mut store = Store::new(rt.engine(), ());
    config_fuel(&mut store);
    let instance = Linker::new(rt.engine()).instantiate_and_start(&mut store, &module).map_err(err("instantiate"))?;
    let main = instance.get_func(&store, ENTRY).ok_or("no entry")?;
    let mut out = [wasmi::Val::I32(0)];
    let mut measured = || match main.call_resumable(&mut store, &[], &mut out) {
        Ok(ResumableCall::Finished) => Ok(Outcome { result: out[0].i32().unwrap_or(0), slices: 1, fuel: 0 }),
        Ok(_) => Err("the kernel suspended".to_string()),
        Err(e) => Err(format!("run: {e}")),
    };
    let mut outcome = overhead_measured(&mut measured)?;
    outcome.fuel = u64::MAX - store.get_fuel().unwrap_or(0);
    Ok(outcome)
}

/// Raw wasmi with fuel, run in slices of `slice_fuel` through
/// `call_resumable` and `ResumableCallOutOfFuel::resume`.
fn wasmi_sliced(wasm: &[u8], slice_fuel: u64) -> Result<Outcome, String> {
    let mut config = Config::default();
    config.consume_fuel(true);
    let engine = WasmiEngine::new(&config);
    let module = Module::new(&engine, wasm).map_err(err("compile"))?;
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine).instantiate_and_start(&mut store, &module).map_err(err("instantiate"))?;
    let main = instance.get_func(&store, ENTRY).ok_or("no entry")?;
    // Warm-up: lazy translation compiles what the kernel calls.
    config_fuel(&mut store);
    main.call(&mut store, &[], &mut [wasmi::Val::I32(0)]).map_err(err("warm-up"))?;
    let mut out = [wasmi::Val::I32(0)];
    let (mut slices, mut fuel) = (0, 0);
    let mut measured = || {
        store.set_fuel(slice_fuel).map_err(err("fuel"))?;
        let mut given = slice_fuel;
        let mut call = main.call_resumable(&mut store, &[], &mut out);
        loop {
            slices += 1;
            fuel += given - store.get_fuel().unwrap_or(0);
            match call.map_err(err("run"))? {
                ResumableCall::Finished => {
                    return Ok(Outcome { result: out[0].i32().unwrap_or(0), slices: 0, fuel: 0 });
                }
                ResumableCall::OutOfFuel(paused) => {
                    given = slice_fuel.max(paused.required_fuel());
                    store.set_fuel(given).map_err(err("fuel"))?;
                    call = paused.resume(&mut store, &mut out);
                }
                ResumableCall::HostTrap(_) => return Err("the kernel called the host".into()),
            }
        }
    };
    let mut outcome = overhead_measured(&mut measured)?;
    (outcome.slices, outcome.fuel) = (slices, fuel);
    Ok(outcome)
}

/// A board without peripherals: kernels import nothing.
#[derive(Clone, Copy)]
pub struct BareBoard;

impl Board for BareBoard {
    fn now(&self) -> Instant {
        Instant::ZERO
    }
    fn log(&mut self, _app: &AppInfo, _level: Level, _message: &str) {}
}

/// A runtime with the default configuration but `slice_fuel`, under a
/// policy that lets a kernel compute without waiting.
fn runtime(slice_fuel: u64) -> Runtime<BareBoard> {
    let policy = Policy { max_memory: KERNEL_MEMORY, max_cpu_budget: u64::MAX, ..Policy::deny_all() };
    Runtime::new(RuntimeConfig { slice_fuel, ..RuntimeConfig::default() }, Bridge::new(), policy)
}

/// `wasm` with a manifest that grants nothing and lets it compute for ever.
fn load(rt: &Runtime<BareBoard>, wasm: &[u8]) -> Result<LoadedApp, String> {
    let name = AppName::try_from("kernel").map_err(|_| "app name")?;
    let mut manifest = Manifest::new(name, Version::new(1, 0, 0));
    manifest.memory_limit = KERNEL_MEMORY;
    manifest.cpu_budget = u64::MAX;
    let mut app = wasm.to_vec();
    app.extend_from_slice(&manifest.custom_section());
    rt.load(&app).map_err(|e| format!("load: {e}"))
}

fn sandbox(wasm: &[u8], slice_fuel: u64) -> Result<Outcome, String> {
    let rt = runtime(slice_fuel);
    let app = load(&rt, wasm)?;
    let mut instance = rt.instantiate(&app, 0, BareBoard).map_err(|e| format!("instantiate: {e}"))?;
    let mut measured = || loop {
        match instance.step() {
            Step::Yielded => continue,
            Step::Exited(result) => return Ok(Outcome { result, slices: 0, fuel: 0 }),
            other => return Err(format!("the kernel stopped: {other:?}")),
        }
    };
    let mut outcome = overhead_measured(&mut measured)?;
    let usage = instance.usage();
    (outcome.slices, outcome.fuel) = (usage.slices, usage.fuel);
    Ok(outcome)
}

fn scheduler(wasm: &[u8], slice_fuel: u64) -> Result<Outcome, String> {
    let rt = runtime(slice_fuel);
    let app = load(&rt, wasm)?;
    let mut scheduler = Scheduler::new(rt);
    let id = scheduler.spawn(app, BareBoard, RestartPolicy::never()).map_err(|e| format!("spawn: {e}"))?;
    let mut rounds = 0;
    let mut measured = || {
        let mut exit = None;
        while scheduler.poll(Instant::ZERO, |_, event| exit = Some(event.clone())).live > 0 {
            rounds += 1;
        }
        match (exit, scheduler.status(id)) {
            (Some(Event::Exited(result)), Some(Status::Exited(_))) => Ok(Outcome { result, slices: 0, fuel: 0 }),
            (event, status) => Err(format!("the kernel stopped: {event:?}, {status:?}")),
        }
    };
    let mut outcome = overhead_measured(&mut measured)?;
    // The round in which the app exited ended with no app live.
    outcome.slices = rounds + 1;
    outcome.fuel = scheduler.usage(id).map_or(0, |u| u.fuel);
    Ok(outcome)
}

#[cfg(feature = "wasm3")]
fn wasm3(wasm: &[u8]) -> Result<Outcome, String> {
    let env = wasm3::Environment::new().map_err(|e| format!("wasm3: {e}"))?;
    // Stack in slots; 64 Ki slots is wasm3's own command-line default.
    let rt = env.create_runtime(64 * 1024).map_err(|e| format!("wasm3: {e}"))?;
    let module = rt.parse_and_load_module(wasm.to_vec()).map_err(|e| format!("wasm3 load: {e}"))?;
    let main = module.find_function::<(), i32>(ENTRY).map_err(|e| format!("wasm3 entry: {e}"))?;
    // wasm3 compiles a function on its first call.
    main.call().map_err(|e| format!("wasm3 warm-up: {e}"))?;
    let mut measured =
        || main.call().map(|result| Outcome { result, slices: 1, fuel: 0 }).map_err(|e| format!("wasm3 run: {e}"));
    overhead_measured(&mut measured)
}

#[cfg(not(feature = "wasm3"))]
fn wasm3(_wasm: &[u8]) -> Result<Outcome, String> {
    Err("built without wasm3 (cargo build --features wasm3)".into())
}
