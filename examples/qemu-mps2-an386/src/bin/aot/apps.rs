//! Phase 2 on the device: whole apps whose native code the sandbox's
//! scheduler runs on their own stacks, beside interpreted copies of the
//! same apps; then the device loop, which installs packages from UART1
//! and runs the native code of those signed by a key trusted with it.

use akira_aot::format::find_in_wasm;
use akira_bridge::Bridge;
use akira_caps::Policy;
use akira_caps::scope::{CapabilitySet, GpioScope};
use akira_device::{Device, DeviceConfig, log};
use akira_ota::package::{Rights, TrustPolicy, TrustedKey};
use akira_ota::store::{BlockingFlash, Region, Store, StoreConfig};
use akira_qemu_mps2_an386::uart::{UART1, Uart};
use akira_qemu_mps2_an386::{block_on, board::Mps2, clock, idle, ram_flash};
use akira_sandbox::{
    AppId, Event, Fault, LoadedApp, Restart, RestartPolicy, Runtime, RuntimeConfig, Scheduler, Trap, Usage,
};
use alloc::vec::Vec;
use defmt::{error, info};

use crate::{TEST_SIGNER, fail};

macro_rules! app {
    ($name:literal) => {
        ($name, include_bytes!(concat!(env!("OUT_DIR"), "/", $name, ".wasm")).as_slice())
    };
}

/// Built by build.rs: WAT apps with their native code in `akira.aot`.
pub(crate) const APPS: [(&str, &[u8]); 6] = [
    app!("aot-sleeper"),
    app!("aot-bursts"),
    app!("aot-runaway"),
    app!("aot-oob"),
    app!("aot-recurse"),
    app!("aot-denied"),
];

/// 10 000 guarded `akira:gpio.write` calls in a loop, then exit 0.
pub(crate) const CALLS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/aot-calls.wasm"));
/// 4 000 000 loop iterations without a wait (CPU budget 5 000 000);
/// exits with the low 15 bits of the sum of 0..4 000 000.
pub(crate) const COMPUTE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/aot-compute.wasm"));
/// Logs and sleeps 1 ms ten times; exits with its worst lateness (us).
pub(crate) const TICKER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/aot-ticker.wasm"));

/// What [`COMPUTE`] exits with.
fn compute_result() -> i32 {
    ((0..4_000_000u32).fold(0u32, u32::wrapping_add) & 0x7fff) as i32
}

/// What the apps may have: LED 2, the timer, the console.
fn policy() -> Policy {
    let allow = CapabilitySet {
        gpio: Some(GpioScope::new(Default::default(), [2].into_iter().collect(), Default::default())),
        timer: true,
        log: true,
        ..CapabilitySet::default()
    };
    Policy { allow, max_memory: 64 * 1024, max_cpu_budget: 10_000_000, ..Policy::deny_all() }
}

fn now() -> akira_bridge::Instant {
    akira_bridge::Instant::from_micros(clock::micros())
}

/// Polls `sched` until no app is left to run, sleeping (`wfi`) until the
/// next deadline when none can run; each app's end (exit or fault) in the
/// order they came, with the microseconds since `start`.
fn run_to_end(sched: &mut Scheduler<Mps2>, start: u64) -> Vec<(AppId, Event, u64)> {
    let mut ends = Vec::new();
    loop {
        let round = sched.poll(now(), |info, event| {
            if matches!(event, Event::Exited(_) | Event::Faulted(_)) {
                ends.push((AppId(info.id), event.clone(), clock::micros() - start));
            }
        });
        if round.live == 0 {
            return ends;
        }
        if !round.busy {
            let wake = round.next_wake.unwrap_or(now());
            while now() < wake {
                cortex_m::asm::wfi();
            }
        }
    }
}

/// Each app of [`APPS`] twice on one scheduler, natively and interpreted,
/// until all have ended: each pair must end the same way (the expected
/// exit or fault), the native one with its native code running.
pub fn containment(board: Mps2) {
    let runtime = Runtime::new(Default::default(), Bridge::with_builtins(), policy());
    let mut sched = Scheduler::new(runtime);
    let never = RestartPolicy { restart: Restart::Never, ..RestartPolicy::default() };
    let mut ids: Vec<(&str, AppId, AppId)> = Vec::new();
    for (name, wasm) in APPS {
        let load = || match sched.runtime().load(wasm) {
            Ok(app) => app,
            Err(e) => {
                error!("{=str}: {}", name, e);
                fail("an app did not load")
            }
        };
        let interpreted = load();
        let Ok(Some(blob)) = find_in_wasm(wasm) else { fail("no native code in the app") };
        let Ok(native) = load().with_native_code(blob) else { fail("native code refused") };
        let spawn = |sched: &mut Scheduler<Mps2>, app: LoadedApp| match sched.spawn(app, board, never) {
            Ok(id) => id,
            Err(e) => {
                error!("{=str}: {}", name, e);
                fail("an app did not start")
            }
        };
        let n = spawn(&mut sched, native);
        let i = spawn(&mut sched, interpreted);
        if !sched.instance(n).is_some_and(|x| x.is_native()) || sched.instance(i).is_some_and(|x| x.is_native()) {
            fail("the native copy does not run native code");
        }
        ids.push((name, n, i));
    }
    let start = clock::micros();
    let ends = run_to_end(&mut sched, start);
    let end = |id| ends.iter().find(|(i, ..)| *i == id).map(|(_, e, _)| e.clone());
    let budget = 1_000_000;
    let expected = [
        Event::Exited(0),
        Event::Exited(0),
        Event::Faulted(Fault::CpuBudget { budget }),
        Event::Faulted(Fault::Trap(Trap::MemoryOutOfBounds)),
        Event::Faulted(Fault::Trap(Trap::StackOverflow)),
        Event::Exited(-1),
    ];
    for ((name, n, i), want) in ids.into_iter().zip(expected) {
        let (native, interpreted) = (end(n), end(i));
        if native.as_ref() != Some(&want) || interpreted.as_ref() != Some(&want) {
            error!("{=str}: native {}, interpreted {}, expected {}", name, native, interpreted, want);
            fail("a whole app ended differently natively");
        }
        info!("{=str}: native and interpreted both ended with {}", name, want);
    }
    info!("whole apps: 6 natively beside their interpreted copies in {=u64} us", clock::micros() - start);
}

/// Loads `wasm` into `runtime`, with its native code if `native`.
fn load(runtime: &Runtime<Mps2>, wasm: &[u8], native: bool) -> LoadedApp {
    let Ok(app) = runtime.load(wasm) else { fail("an app did not load") };
    if !native {
        return app;
    }
    let Ok(Some(blob)) = find_in_wasm(wasm) else { fail("no native code in the app") };
    let Ok(with_native) = app.with_native_code(blob) else { fail("native code refused") };
    with_native
}

/// Runs `wasm` alone (natively or interpreted) on a fresh scheduler with
/// `config` until it ends; its last event, its usage and the virtual
/// nanoseconds (= instructions) from spawn to end.
fn run_alone(wasm: &[u8], native: bool, config: RuntimeConfig, board: Mps2) -> (Option<Event>, Usage, u64) {
    let runtime = Runtime::new(config, Bridge::with_builtins(), policy());
    let app = load(&runtime, wasm, native);
    let mut sched = Scheduler::new(runtime);
    let never = RestartPolicy { restart: Restart::Never, ..RestartPolicy::default() };
    let start = clock::micros();
    let Ok(id) = sched.spawn(app, board, never) else { fail("an app did not start") };
    let mut last = None;
    while sched.poll(now(), |_, event| last = Some(event.clone())).live > 0 {}
    let ns = (clock::micros() - start) * 1000;
    let usage = sched.instance(id).map(|x| x.usage()).unwrap_or_default();
    (last, usage, ns)
}

/// Time slices of native code: a compute-bound native app (4 000 000
/// iterations, no wait) beside a native app that logs and sleeps 1 ms ten
/// times. The compute app must yield at its slices' ends (more than one
/// slice), so the sleeper ends first and wakes on time: at most 1 ms later
/// than alone (SysTick's 1 ms makes it up to 1 ms late even then;
/// holding the CPU to the end would make it tens of ms late); the compute
/// app still finishes with its result.
pub fn time_slices(board: Mps2) {
    let (alone, _, _) = run_alone(TICKER, true, RuntimeConfig::default(), board);
    let Some(Event::Exited(late_alone_us)) = alone else { fail("the ticker alone did not exit") };
    let runtime = Runtime::new(Default::default(), Bridge::with_builtins(), policy());
    let compute = load(&runtime, COMPUTE, true);
    let ticker = load(&runtime, TICKER, true);
    let mut sched = Scheduler::new(runtime);
    let never = RestartPolicy { restart: Restart::Never, ..RestartPolicy::default() };
    let (Ok(c), Ok(t)) = (sched.spawn(compute, board, never), sched.spawn(ticker, board, never)) else {
        fail("the time-slice apps did not start")
    };
    if !(sched.instance(c).is_some_and(|x| x.is_native()) && sched.instance(t).is_some_and(|x| x.is_native())) {
        fail("the time-slice apps do not run native code");
    }
    let ends = run_to_end(&mut sched, clock::micros());
    let usage = |id| sched.instance(id).map(|x| x.usage()).unwrap_or_default();
    let (compute_usage, ticker_usage) = (usage(c), usage(t));
    let [(first, ticker_end, ticker_us), (second, compute_end, compute_us)] = &ends[..] else {
        fail("the time-slice apps did not both end")
    };
    let &Event::Exited(late_us) = ticker_end else { fail("the ticker did not exit") };
    info!(
        "time slices: compute app {} after {=u64} us in {=u64} slices; ticker {} after {=u64} us, at most {=i32} us late ({=i32} us alone)",
        compute_end, compute_us, compute_usage.slices, ticker_end, ticker_us, late_us, late_alone_us
    );
    if *first != t || *second != c {
        fail("the sleeping app did not end before the compute-bound one");
    }
    if *compute_end != Event::Exited(compute_result()) {
        fail("the compute-bound app did not finish with its result");
    }
    if compute_usage.slices < 2 || ticker_usage.waits != 10 {
        fail("the compute-bound app did not yield");
    }
    if late_us > late_alone_us + 1000 {
        fail("the sleeping app woke late beside a compute-bound native app");
    }
}

/// Figure: what a slice boundary of native code costs (switching to the
/// host at the fuel check, the scheduler's round, switching back): the
/// compute app alone in slices of 1 000 native units against one slice
/// (its whole budget).
pub fn slice_figure(board: Mps2) {
    let one = RuntimeConfig { slice_fuel: 10_000_000, ..RuntimeConfig::default() };
    let small = RuntimeConfig { slice_fuel: 1_000, ..RuntimeConfig::default() };
    let (one_end, one_usage, one_ns) = run_alone(COMPUTE, true, one, board);
    let (small_end, small_usage, small_ns) = run_alone(COMPUTE, true, small, board);
    let want = Some(Event::Exited(compute_result()));
    // Each slice spends its 1 000 units and the check that found it empty.
    if one_end != want || small_end != want || one_usage.slices != 1 || small_usage.slices < 3_990 {
        error!("one slice: {}, {}; small slices: {}, {}", one_end, one_usage, small_end, small_usage);
        fail("the compute app in slices");
    }
    let boundaries = small_usage.slices - one_usage.slices;
    defmt::println!(
        "figure aot-slice-boundary-ns {=u64} ({=u64} slices of 1 000 units: {=u64} ns; one slice: {=u64} ns)",
        small_ns.saturating_sub(one_ns) / boundaries,
        small_usage.slices,
        small_ns,
        one_ns
    );
}

/// Whole-app figure: the same app (a loop of guarded host calls), native
/// and interpreted, from spawn (the native code's load included) to exit.
pub fn host_call_figure(board: Mps2) {
    board.set_quiet(true);
    let (native_end, _, native_ns) = run_alone(CALLS, true, RuntimeConfig::default(), board);
    let (interpreted_end, _, interpreted_ns) = run_alone(CALLS, false, RuntimeConfig::default(), board);
    board.set_quiet(false);
    if native_end != Some(Event::Exited(0)) || interpreted_end != Some(Event::Exited(0)) {
        fail("the calls app ended differently");
    }
    defmt::println!(
        "figure aot-app-10k-calls-ns {=u64} interp {=u64} (spawn to exit, 10 000 guarded gpio.write)",
        native_ns,
        interpreted_ns
    );
}

/// The device loop on UART1: the test key may ship native code, so the
/// native code of its `akira pack --aot` packages runs; packages without
/// it run interpreted. Never returns.
pub fn serve(board: Mps2) -> ! {
    let policy = policy();
    let keys = [TrustedKey {
        name: "test-signer",
        public_key: TEST_SIGNER,
        policy: &policy,
        rights: Rights::OWNER | Rights::NATIVE_CODE,
    }];
    let trust = TrustPolicy { keys: &keys, ..TrustPolicy::default() };
    let region = Region { offset: 0, size: 64 * 1024 };
    let runtime = Runtime::new(Default::default(), Bridge::with_builtins(), policy.clone());
    block_on(async {
        let flash = BlockingFlash(ram_flash!(64 * 1024));
        let Ok(store) = Store::open(flash, region, StoreConfig { meta_sectors: 2, slots: 4 }).await else {
            fail("store")
        };
        let mut device = Device::new(store, runtime, board, &trust, DeviceConfig::default(), log::note).await;
        let mut uart = Uart::new(UART1);
        uart.wake_on_receive();
        info!("aot: waiting for packages on UART1");
        loop {
            let _ = device.serve(&mut uart, idle, log::note).await;
        }
    })
}
