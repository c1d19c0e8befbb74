//! Whole apps as akira-aot tasks (phase 2) on their own stacks: every
//! host call switches back here, where the guard's check runs on the
//! main stack; fuel runs out at the end of each time slice and the app is
//! refuelled or, past its CPU budget, dropped. The faults end the task,
//! never the firmware.

use akira_aot::format::{Blob, Import, ImportKind};
use akira_aot::link::LinkError;
use akira_aot::task::{self, Run};
use akira_aot::{AotError, Limits, Module, Trap};

use crate::{Region, fail, gpio_write, println, rt};

macro_rules! app {
    ($name:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/", $name, ".aot"))
    };
}

/// A region and a stack for one app at a time.
static mut APP_REGION: Region = Region([0; 96 * 1024]);
#[repr(C, align(16))]
struct Stack([u8; 24 * 1024]);
static mut STACK: Stack = Stack([0; 24 * 1024]);

/// Fuel per time slice (native units: function entries and loop iterations).
const SLICE: i32 = 10_000;

/// How an app ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    Exited(i32),
    Trapped(Trap),
    /// Dropped when its CPU budget was spent.
    OverBudget,
}

/// What the host side saw of an app's run.
#[derive(Debug, Default)]
struct Seen {
    host_calls: u32,
    slices: u32,
    slept_us: u64,
}

/// The imports an app may be granted: each bound to its task stub; the
/// rest are refused at load (the module does not load).
fn bind_granted(blob: &Blob<'_>) -> impl FnMut(&Import<'_>) -> Option<usize> {
    move |import| {
        let granted = matches!(
            (import.module, import.name),
            ("akira:gpio", "write") | ("akira:timer", "sleep_us") | ("test", "split")
        );
        if import.kind != ImportKind::WasmFunction || !granted {
            return None;
        }
        let index = blob.imports().position(|i| i.module == import.module && i.name == import.name)?;
        task::host_call_stub(index)
    }
}

/// Carries out one host call of `blob`'s import `import`.
fn host_call(blob: &Blob<'_>, import: u16, args: &[u64], seen: &mut Seen) -> u64 {
    seen.host_calls += 1;
    let Some(import) = blob.imports().nth(usize::from(import)) else { fail("a host call to no import") };
    let result = match (import.name, args) {
        ("write", &[pin, level]) => gpio_write(pin as u32, level as u32),
        ("sleep_us", &[us]) => {
            seen.slept_us += us;
            0
        }
        // The i64 straddles a7 and the stack: every argument must arrive.
        ("split", &[1, 2, 3, 4, 5, 6, 0x1122_3344_5566_7788, 7]) => 0,
        ("split", other) => {
            println!("split called with {other:x?}");
            1
        }
        _ => fail("an unexpected host call"),
    };
    u64::from(result)
}

/// Loads `bytes` and runs its `akira_main` as a task with `budget` units
/// of CPU, slice by slice.
fn run_app(bytes: &[u8], budget: u32) -> Result<(End, Seen), AotError> {
    let Ok(blob) = Blob::parse(bytes) else { fail("an app's blob") };
    // SAFETY: one app at a time uses the region and the stack.
    let region = unsafe { &mut (*core::ptr::addr_of_mut!(APP_REGION)).0 };
    let stack = unsafe { &mut (*core::ptr::addr_of_mut!(STACK)).0 };
    let limits = Limits { max_stack: blob.header.stack_bound, memory: 16 * 1024 };
    let module = Module::load(blob, region, limits, bind_granted(&blob))?;
    if stack.len() < task::stack_len(blob.header.stack_bound) {
        fail("the task stack is smaller than the blob needs");
    }
    let mut app = module.task("akira_main", &[], SLICE, stack)?;
    drive(&mut app, &module, &blob, budget)
}

/// What an untouched byte of the task's stack holds.
const PAINT: u8 = 0xa5;

/// The task's deepest stack use (from the buffer's end down to the lowest
/// byte it changed; the canary word at the bottom excluded) must fit in
/// what `task::stack_len` gives it without the interrupt allowance (no
/// interrupts are enabled here): the blob's bound, the switch's bytes,
/// the first frame and the context. A bound too small fails here.
fn check_stack_use(bytes: &[u8]) {
    let Ok(blob) = Blob::parse(bytes) else { fail("an app's blob") };
    let bound = blob.header.stack_bound;
    // SAFETY: the task that used the stack is gone.
    let stack = unsafe { &(*core::ptr::addr_of!(STACK)).0 };
    let lowest = stack[8..].iter().position(|&b| b != PAINT).map_or(stack.len(), |i| i + 8);
    let used = stack.len() - lowest;
    let allowed = task::stack_len(bound) - task::INTERRUPT_BYTES as usize;
    println!("  task stack: {used} B used, {allowed} B allowed (bound {bound} B)");
    if used > allowed {
        fail("a task used more stack than its blob's bound allows");
    }
}

fn drive(
    app: &mut task::Task<'_>,
    module: &Module<'_, '_>,
    blob: &Blob<'_>,
    budget: u32,
) -> Result<(End, Seen), AotError> {
    let mut seen = Seen::default();
    let (mut value, mut spent) = (0, 0u32);
    loop {
        let before = app.fuel();
        let run = app.resume(module, value);
        spent = spent.saturating_add(before.saturating_sub(app.fuel()).max(0) as u32);
        match run {
            Ok(Run::Finished(v)) => return Ok((End::Exited(v as i32), seen)),
            Ok(Run::HostCall { import, args, count }) => value = host_call(blob, import, &args[..count], &mut seen),
            Ok(Run::OutOfFuel) if spent >= budget => return Ok((End::OverBudget, seen)),
            Ok(Run::OutOfFuel) => {
                seen.slices += 1;
                app.set_fuel(SLICE);
                value = 0;
            }
            Ok(_) => fail("a task stopped for an unknown reason"),
            Err(AotError::Trap(trap)) => return Ok((End::Trapped(trap), seen)),
            Err(e) => return Err(e),
        }
    }
}

fn check(name: &str, bytes: &[u8], budget: u32, expected: End) -> Seen {
    // SAFETY: no task holds the stack between runs.
    unsafe { (*core::ptr::addr_of_mut!(STACK)).0.fill(PAINT) };
    let (result, instructions) = rt::counted(|| run_app(bytes, budget));
    check_stack_use(bytes);
    match result {
        Ok((end, seen)) if end == expected => {
            println!(
                "{name}: {end:?} after {} host calls, {} slices ({instructions} instructions)",
                seen.host_calls, seen.slices
            );
            seen
        }
        other => {
            println!("{name}: {other:?}, expected {expected:?}");
            fail("an app did not end as expected")
        }
    }
}

pub fn tasks() {
    crate::GRANTED_PINS.store(1 << 2, core::sync::atomic::Ordering::Relaxed);
    // Host calls with i32 and i64 arguments, one split between a7 and the
    // stack; the guard writes pin 2, six times.
    let seen = check("app-calls", app!("app-calls"), 1_000_000, End::Exited(0));
    if seen.host_calls != 13 || seen.slept_us != 6 * 20_000 {
        fail("the host calls' arguments");
    }
    // A compute-bound app in time slices: 4 000 000 iterations, the sum's
    // low 15 bits.
    let expected = (0..4_000_000u32).fold(0u32, u32::wrapping_add) & 0x7fff;
    let seen = check("app-compute", app!("app-compute"), 5_000_000, End::Exited(expected as i32));
    if seen.slices < 390 {
        fail("the compute-bound app ran in fewer slices than its fuel allows");
    }
    // Containment: a runaway loop is dropped at its budget, an access out
    // of bounds and a runaway recursion trap, a refused call returns -1.
    check("app-runaway", app!("app-runaway"), 1_000_000, End::OverBudget);
    check("app-oob", app!("app-oob"), 1_000_000, End::Trapped(Trap::OutOfBounds));
    check("app-recurse", app!("app-recurse"), 1_000_000, End::Trapped(Trap::CallDepth));
    check("app-denied", app!("app-denied"), 1_000_000, End::Exited(-1));
    if crate::LEDS[7].load(core::sync::atomic::Ordering::Relaxed) != 0 {
        fail("the guard let pin 7 through");
    }
    // An import never granted: the module does not load.
    match run_app(app!("app-ungranted"), 1_000_000) {
        Err(AotError::Link(LinkError::Unbound(_))) => println!("app-ungranted: refused at load"),
        other => {
            println!("app-ungranted: {:?}", other.map(|(end, _)| end));
            fail("a module with an ungranted import loaded")
        }
    }
    // A stack smaller than the blob's bound is refused, not overrun.
    let Ok(blob) = Blob::parse(app!("app-recurse")) else { fail("app-recurse") };
    // SAFETY: as in run_app; the apps above are done.
    let region = unsafe { &mut (*core::ptr::addr_of_mut!(APP_REGION)).0 };
    let limits = Limits { max_stack: blob.header.stack_bound, memory: 16 * 1024 };
    let Ok(module) = Module::load(blob, region, limits, bind_granted(&blob)) else { fail("app-recurse load") };
    let mut small = [0u8; 512];
    match module.task("akira_main", &[], SLICE, &mut small) {
        Err(AotError::StackTooSmall) => println!("a task stack below the bound: refused (StackTooSmall)"),
        _ => fail("a too small task stack was taken"),
    }
}
