//! Cost of the capability guard: one check on its own, and a guarded host
//! call from wasm compared with a bare wasmi host call.
//!
//! Run with `cargo bench -p akira-sandbox --bench guard`; the figures and
//! how to read them are in `BENCHMARKS.md` at the workspace root.
//!
//! - `guard/*`: one [`Guard`] check (a bit test), on a guard behind
//!   `black_box` so the grants are loaded from memory as in a host call.
//!   `guard/harness` is the same loop without the check: criterion's
//!   per-iteration cost, to subtract.
//! - `host_call/*` and `loop/empty`: one run of an app whose `akira_main`
//!   loops [`CALLS`] times. The loops are the same wasm apart from the call
//!   (the empty loop folds the loop counter into the accumulator where the
//!   others fold the call's result), so the differences between them are
//!   the calls. Times are per run; criterion's throughput figure is calls
//!   per second, and time / [`CALLS`] is the cost of one iteration.
//!   Instantiation is setup, outside the timed part.

use std::hint::black_box;
use std::time::Duration;

use akira_sandbox::akira_bridge::wasmi::{self, Caller, Linker, Module, ResumableCall, Store, Val};
use akira_sandbox::akira_bridge::{AppInfo, Board, Bridge, Edge, Edges, Errno, Gpio, Instant, Level, PinMode};
use akira_sandbox::akira_caps::manifest::AppName;
use akira_sandbox::akira_caps::scope::{GpioScope, I2cScope};
use akira_sandbox::akira_caps::sets::{AddrSet, IdSet, PinSet};
use akira_sandbox::akira_caps::{
    Capability, CapabilitySet, Denial, Grants, Guard, Manifest, PinAccess, Policy, Version,
};
use akira_sandbox::{AppInstance, LoadedApp, Runtime, RuntimeConfig, Step};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

/// Host calls (loop iterations) per app run.
const CALLS: u32 = 10_000;

/// The pin the app is granted as an output.
const GRANTED_PIN: u32 = 2;

/// A pin the app is not granted.
const DENIED_PIN: u32 = 3;

/// Fuel for one run, and the slice: enough to finish in one slice.
const FUEL: u64 = 1_000_000_000;

/// A board whose peripherals do nothing.
#[derive(Clone, Copy)]
struct NopBoard;

impl Board for NopBoard {
    fn now(&self) -> Instant {
        Instant::ZERO
    }
    fn log(&mut self, _app: &AppInfo, _level: Level, _message: &str) {}
}

impl Gpio for NopBoard {
    fn configure(&mut self, _pin: u32, _mode: PinMode) -> Result<(), Errno> {
        Ok(())
    }
    fn read(&mut self, _pin: u32) -> Result<bool, Errno> {
        Ok(false)
    }
    fn write(&mut self, _pin: u32, _high: bool) -> Result<(), Errno> {
        Ok(())
    }
    fn toggle(&mut self, _pin: u32) -> Result<bool, Errno> {
        Ok(false)
    }
    fn take_edge(&mut self, _pin: u32, _edges: Edges) -> Result<Option<Edge>, Errno> {
        Ok(None)
    }
}

/// Output pin 2, I2C bus 0 address 0x48, UART port 1.
fn guard() -> Guard {
    let mut buses = [AddrSet::EMPTY; akira_sandbox::akira_caps::scope::MAX_I2C_BUSES];
    buses[0].insert(0x48);
    let caps = CapabilitySet {
        gpio: Some(GpioScope::new(PinSet::EMPTY, [GRANTED_PIN].into_iter().collect(), PinSet::EMPTY)),
        i2c: Some(I2cScope { buses }),
        uart: Some([1].into_iter().collect::<IdSet>()),
        ..Default::default()
    };
    Guard::new(Grants::compile(&caps))
}

fn guard_checks(c: &mut Criterion) {
    let mut g = c.benchmark_group("guard");
    let mut guard = guard();
    assert!(guard.pin(GRANTED_PIN, PinAccess::Output).is_ok());
    assert!(guard.pin(DENIED_PIN, PinAccess::Output).is_err());
    assert!(guard.i2c(0, 0x48).is_ok());
    assert!(guard.id(Capability::Uart, 1).is_ok());
    // The harness alone: the same black-boxed guard and pin, and an `Ok`
    // of the same type, without the check. Subtract it from the others.
    g.bench_function("harness", |b| {
        b.iter(|| {
            let _ = black_box(&mut guard);
            let _ = black_box(GRANTED_PIN);
            Ok::<(), Denial>(())
        })
    });
    g.bench_function("pin_allowed", |b| {
        b.iter(|| black_box(&mut guard).pin(black_box(GRANTED_PIN), PinAccess::Output))
    });
    g.bench_function("pin_denied", |b| b.iter(|| black_box(&mut guard).pin(black_box(DENIED_PIN), PinAccess::Output)));
    g.bench_function("i2c_allowed", |b| b.iter(|| black_box(&mut guard).i2c(black_box(0), black_box(0x48))));
    g.bench_function("id_allowed", |b| b.iter(|| black_box(&mut guard).id(black_box(Capability::Uart), black_box(1))));
    g.finish();
}

/// An app that loops [`CALLS`] times; each iteration ORs `value` into an
/// accumulator it returns. `value` is the call, or the loop counter for the
/// empty loop.
fn app_wat(value: &str) -> String {
    format!(
        r#"(module
        (import "akira:gpio" "write" (func $write (param i32 i32) (result i32)))
        (func (export "akira_main") (result i32)
            (local $i i32) (local $acc i32)
            (loop $l
                (local.set $acc (i32.or (local.get $acc) {value}))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $i) (i32.const {CALLS}))))
            (local.get $acc)))"#
    )
}

fn call_wat(pin: u32) -> String {
    app_wat(&format!("(call $write (i32.const {pin}) (i32.const 1))"))
}

fn runtime() -> Runtime<NopBoard> {
    let config = RuntimeConfig { slice_fuel: FUEL, ..Default::default() };
    Runtime::new(config, Bridge::with_builtins(), Policy::development())
}

/// Loads `wat` with a manifest granting output pin [`GRANTED_PIN`].
fn load(rt: &Runtime<NopBoard>, wat: &str) -> LoadedApp {
    let mut m = Manifest::new(AppName::try_from("bench").unwrap(), Version::new(1, 0, 0));
    m.memory_limit = 64 * 1024;
    m.cpu_budget = FUEL;
    m.capabilities.gpio = Some(GpioScope::new(PinSet::EMPTY, [GRANTED_PIN].into_iter().collect(), PinSet::EMPTY));
    let mut wasm = wat::parse_str(wat).expect("bench WAT parses");
    wasm.extend_from_slice(&m.custom_section());
    rt.load(&wasm).expect("bench app loads")
}

/// Runs an instance to its exit.
fn run(mut i: AppInstance<NopBoard>) -> i32 {
    loop {
        match i.step() {
            Step::Yielded => continue,
            Step::Exited(code) => return code,
            s => panic!("bench app stopped: {s:?}"),
        }
    }
}

/// A bare wasmi instance of `module` on the runtime's engine (same config:
/// fuel metering on), in a `Store<()>`, with `akira:gpio.write` a plain
/// host function that returns 0. Returns the store and `akira_main`.
fn bare_instance(rt: &Runtime<NopBoard>, module: &Module) -> (Store<()>, wasmi::Func) {
    let mut store = Store::new(rt.engine(), ());
    let mut linker = Linker::<()>::new(rt.engine());
    linker.func_wrap("akira:gpio", "write", |_c: Caller<'_, ()>, _pin: u32, _level: u32| -> i32 { 0 }).unwrap();
    let instance = linker.instantiate_and_start(&mut store, module).unwrap();
    let main = instance.get_func(&store, "akira_main").unwrap();
    store.set_fuel(FUEL).unwrap();
    (store, main)
}

/// Runs a bare instance the way `AppInstance::step` runs an app: one
/// resumable call with the fuel set up front.
fn run_bare((mut store, main): (Store<()>, wasmi::Func)) -> i32 {
    let mut out = [Val::I32(0)];
    match main.call_resumable(&mut store, &[], &mut out) {
        Ok(ResumableCall::Finished) => match out[0] {
            Val::I32(code) => code,
            _ => unreachable!(),
        },
        _ => panic!("bare app did not finish"),
    }
}

fn host_calls(c: &mut Criterion) {
    let rt = runtime();
    let granted = load(&rt, &call_wat(GRANTED_PIN));
    let denied = load(&rt, &call_wat(DENIED_PIN));
    let empty = load(&rt, &app_wat("(local.get $i)"));
    let bare_module = Module::new(rt.engine(), wat::parse_str(call_wat(GRANTED_PIN)).unwrap()).unwrap();

    // What each variant returns: the OR of its values.
    let denied_code = Errno::Denied.code();
    assert_eq!(run_bare(bare_instance(&rt, &bare_module)), 0);
    assert_eq!(run(rt.instantiate(&granted, 0, NopBoard).unwrap()), 0);
    assert_eq!(run(rt.instantiate(&denied, 0, NopBoard).unwrap()), denied_code);
    assert_eq!(run(rt.instantiate(&empty, 0, NopBoard).unwrap()), (0..CALLS as i32).fold(0, |a, i| a | i));
    let mut i = rt.instantiate(&denied, 0, NopBoard).unwrap();
    while i.step() == Step::Yielded {}
    assert_eq!(i.state().guard().denials(Capability::Gpio), CALLS, "every denied call is counted");

    let mut g = c.benchmark_group("host_call");
    // Runs take ~0.5 ms: 50 samples fit the 2 s measurement time.
    g.sample_size(50);
    g.throughput(Throughput::Elements(u64::from(CALLS)));
    g.bench_function("bare_wasmi", |b| {
        b.iter_batched(|| bare_instance(&rt, &bare_module), run_bare, BatchSize::SmallInput)
    });
    let app = |app: &LoadedApp| {
        let rt = &rt;
        let app = app.clone();
        move |b: &mut criterion::Bencher<'_>| {
            b.iter_batched(|| rt.instantiate(&app, 0, NopBoard).unwrap(), run, BatchSize::SmallInput)
        }
    };
    g.bench_function("guarded_gpio_write", app(&granted));
    g.bench_function("denied_gpio_write", app(&denied));
    g.finish();

    let mut g = c.benchmark_group("loop");
    g.sample_size(50);
    g.throughput(Throughput::Elements(u64::from(CALLS)));
    g.bench_function("empty", app(&empty));
    g.finish();
}

fn config() -> Criterion {
    Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = guard_checks, host_calls
}
criterion_main!(benches);
