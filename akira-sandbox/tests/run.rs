//! Running apps: slices, waits, guard at call time, faults, scheduling.

mod common;

use akira_sandbox::akira_bridge::{Edge, Errno, Instant, WaitKind};
use akira_sandbox::akira_caps::scope::GpioScope;
use akira_sandbox::akira_caps::sets::PinSet;
use akira_sandbox::akira_caps::{Capability, Denied, PinAccess, Policy, Resource};
use akira_sandbox::{AppInstance, Event, Fault, Restart, RestartPolicy, RuntimeConfig, Scheduler, Status, Step, Trap};
use common::*;

fn pins(list: &[u32]) -> PinSet {
    list.iter().copied().collect()
}

fn instance(wat: &str, m: &akira_sandbox::akira_caps::Manifest) -> (AppInstance<TestBoard>, TestBoard) {
    let rt = runtime();
    let app = rt.load(&wasm(wat, Some(m))).unwrap();
    let board = TestBoard::new();
    (rt.instantiate(&app, 0, board.clone()).unwrap(), board)
}

/// Steps until the app stops or waits.
fn run(i: &mut AppInstance<TestBoard>) -> Step {
    loop {
        match i.step() {
            Step::Yielded => continue,
            other => return other,
        }
    }
}

const GPIO: &str = r#"
    (import "akira:gpio" "write" (func $write (param i32 i32) (result i32)))
    (import "akira:gpio" "read" (func $read (param i32) (result i32)))
    (import "akira:gpio" "wait_edge" (func $wait_edge (param i32 i32 i64) (result i32)))
    (import "akira:timer" "sleep_us" (func $sleep (param i64) (result i32)))
    (import "akira:timer" "now_us" (func $now (result i64)))
    (import "akira:sys" "exit" (func $exit (param i32)))
    (import "akira:sys" "denials" (func $denials (result i32)))
"#;

fn gpio_manifest(output: &[u32], edge: &[u32]) -> akira_sandbox::akira_caps::Manifest {
    manifest("pins", |m| {
        m.capabilities.gpio = Some(GpioScope::new(PinSet::EMPTY, pins(output), pins(edge)));
        m.capabilities.timer = true;
        m.capabilities.sys = true;
    })
}

#[test]
fn granted_pin_is_driven_and_ungranted_pin_is_denied_and_counted() {
    let wat = format!(
        r#"(module {GPIO}
        (func (export "akira_main") (result i32)
            (if (i32.ne (call $write (i32.const 2) (i32.const 1)) (i32.const 0)) (then (return (i32.const 10))))
            ;; pin 3 is an output on the board but not granted to this app
            (if (i32.ne (call $write (i32.const 3) (i32.const 1)) (i32.const -1)) (then (return (i32.const 11))))
            (if (i32.ne (call $write (i32.const 3) (i32.const 1)) (i32.const -1)) (then (return (i32.const 12))))
            (call $denials)))"#
    );
    let (mut i, board) = instance(&wat, &gpio_manifest(&[2], &[]));
    assert_eq!(run(&mut i), Step::Exited(2), "two denials, seen by the app too");
    assert!(board.output(2));
    assert!(!board.output(3), "the denied write never reached the pin");
    assert_eq!(i.state().guard().denials(Capability::Gpio), 2);
    assert_eq!(board.0.borrow().denials, vec!["pins: gpio: output pin 3 is not granted"; 2]);
}

#[test]
fn strict_mode_turns_a_denial_into_a_fault() {
    let wat =
        format!(r#"(module {GPIO} (func (export "akira_main") (drop (call $write (i32.const 3) (i32.const 1)))))"#);
    let rt = runtime_with(RuntimeConfig { strict_denials: true, ..Default::default() }, Policy::development());
    let app = rt.load(&wasm(&wat, Some(&gpio_manifest(&[2], &[])))).unwrap();
    let mut i = rt.instantiate(&app, 0, TestBoard::new()).unwrap();
    match run(&mut i) {
        Step::Faulted(Fault::Denied(d)) => {
            assert_eq!(d.capability, Denied::Builtin(Capability::Gpio));
            assert_eq!(d.resource, Resource::Pin { pin: 3, access: PinAccess::Output });
        }
        s => panic!("{s:?}"),
    }
}

#[test]
fn sleep_suspends_and_resumes_with_the_result() {
    let wat = format!(
        r#"(module {GPIO}
        (func (export "akira_main") (result i32)
            (drop (call $sleep (i64.const 500000)))
            (i32.wrap_i64 (call $now))))"#
    );
    let (mut i, board) = instance(&wat, &gpio_manifest(&[], &[]));
    board.set_us(1_000);
    let Step::Waiting(wait) = run(&mut i) else { panic!() };
    assert_eq!(wait.kind, WaitKind::Sleep);
    assert_eq!(wait.until, Instant::from_micros(501_000));
    assert_eq!(i.step(), Step::Waiting(wait), "still waiting until resumed");
    board.set_us(501_000);
    i.resume(0);
    assert_eq!(run(&mut i), Step::Exited(501_000));
    assert_eq!(i.usage().waits, 1);
}

#[test]
fn edge_wait_completes_from_a_latched_edge_or_times_out() {
    let wat = format!(
        r#"(module {GPIO}
        (func (export "akira_main") (result i32)
            (local $first i32)
            (local.set $first (call $wait_edge (i32.const 0) (i32.const 1) (i64.const -1)))
            (i32.add (i32.mul (local.get $first) (i32.const 100))
                     (call $wait_edge (i32.const 0) (i32.const 1) (i64.const 1000)))))"#
    );
    let rt = runtime();
    let app = rt.load(&wasm(&wat, Some(&gpio_manifest(&[], &[0])))).unwrap();
    let board = TestBoard::new();
    let mut i = rt.instantiate(&app, 0, board.clone()).unwrap();
    let Step::Waiting(wait) = run(&mut i) else { panic!() };
    assert_eq!(wait.until, Instant::MAX, "no timeout");
    let bridge = rt.bridge();
    assert_eq!(i.poll_wait(bridge, Instant::from_micros(10)), None);
    board.0.borrow_mut().pins.record_edge(0, Edge::Rising);
    let result = i.poll_wait(bridge, Instant::from_micros(10)).unwrap();
    assert_eq!(result, 1);
    i.resume(result);
    let Step::Waiting(second) = run(&mut i) else { panic!() };
    assert_eq!(second.until, Instant::from_micros(1000));
    let timeout = i.poll_wait(bridge, Instant::from_micros(1000)).unwrap();
    assert_eq!(timeout, Errno::TimedOut.code());
    i.resume(timeout);
    assert_eq!(run(&mut i), Step::Exited(100 + Errno::TimedOut.code()));
}

#[test]
fn long_computation_runs_in_slices() {
    let m = manifest("sum", |m| m.cpu_budget = 10_000_000);
    let wat = r#"(module (func (export "akira_main") (result i32)
        (local $i i32) (local $acc i32)
        (loop $l
            (local.set $acc (i32.add (local.get $acc) (local.get $i)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $l (i32.lt_u (local.get $i) (i32.const 100000))))
        (local.get $acc)))"#;
    let (mut i, _) = instance(wat, &m);
    let mut slices = 0;
    let code = loop {
        match i.step() {
            Step::Yielded => slices += 1,
            Step::Exited(c) => break c,
            s => panic!("{s:?}"),
        }
    };
    assert_eq!(code, (0..100_000i32).fold(0i32, |a, b| a.wrapping_add(b)));
    assert!(slices >= 10, "{slices} slices of 10k fuel");
    assert!(i.usage().fuel > 100_000, "{:?}", i.usage());
}

const SPIN: &str = r#"(module (func (export "akira_main") (loop $l (br $l))))"#;

#[test]
fn endless_loop_is_stopped_at_its_budget() {
    let m = manifest("spin", |m| m.cpu_budget = 50_000);
    let (mut i, _) = instance(SPIN, &m);
    assert_eq!(run(&mut i), Step::Faulted(Fault::CpuBudget { budget: 50_000 }));
    // Stopped when the next instruction no longer fits in the budget.
    let fuel = i.usage().fuel;
    assert!((49_990..=50_000).contains(&fuel), "stopped at the budget, not before: {fuel}");
    assert_eq!(i.step(), Step::Faulted(Fault::CpuBudget { budget: 50_000 }), "stays stopped");
}

#[test]
fn waiting_refills_the_budget() {
    // Spends ~27k fuel between sleeps, ten times: ~270k in all, more than
    // five budgets of 50k, yet never 50k without waiting.
    let wat = format!(
        r#"(module {GPIO}
        (func (export "akira_main") (local $n i32) (local $i i32)
            (loop $outer
                (local.set $i (i32.const 0))
                (loop $inner
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br_if $inner (i32.lt_u (local.get $i) (i32.const 3000))))
                (drop (call $sleep (i64.const 1)))
                (local.set $n (i32.add (local.get $n) (i32.const 1)))
                (br_if $outer (i32.lt_u (local.get $n) (i32.const 10))))))"#
    );
    let mut m = gpio_manifest(&[], &[]);
    m.cpu_budget = 50_000;
    let (mut i, _) = instance(&wat, &m);
    loop {
        match run(&mut i) {
            Step::Waiting(_) => i.resume(0),
            Step::Exited(0) => break,
            s => panic!("{s:?}"),
        }
    }
    assert!(i.usage().fuel > 5 * 50_000, "{:?}", i.usage());
}

#[test]
fn traps_become_typed_faults() {
    let m = manifest("trap", |m| m.memory_limit = 65536);
    for (body, trap) in [
        ("(unreachable)", Trap::Unreachable),
        ("(drop (i32.load (i32.const 65536)))", Trap::MemoryOutOfBounds),
        ("(drop (i32.div_u (i32.const 1) (i32.const 0)))", Trap::DivisionByZero),
        ("(call $recurse)", Trap::StackOverflow),
    ] {
        let wat = format!(
            r#"(module (memory (export "memory") 1)
                (func $recurse (call $recurse))
                (func (export "akira_main") {body}))"#
        );
        let (mut i, _) = instance(&wat, &m);
        assert_eq!(run(&mut i), Step::Faulted(Fault::Trap(trap)), "{body}");
    }
}

#[test]
fn wild_pointers_get_an_error_code_not_a_crash() {
    let m = manifest("wild", |m| {
        m.capabilities.log = true;
        m.capabilities.sys = true;
    });
    let wat = r#"(module
        (import "akira:log" "write" (func $log (param i32 i32 i32) (result i32)))
        (import "akira:sys" "app_name" (func $name (param i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 0) "\ff\fe")
        (func (export "akira_main") (result i32)
            (if (i32.ne (call $log (i32.const 2) (i32.const 65535) (i32.const 2)) (i32.const -4)) (then (return (i32.const 1))))
            (if (i32.ne (call $log (i32.const 2) (i32.const -1) (i32.const -1)) (i32.const -10)) (then (return (i32.const 2))))
            (if (i32.ne (call $log (i32.const 2) (i32.const 0) (i32.const 2)) (i32.const -3)) (then (return (i32.const 3))))
            (if (i32.ne (call $log (i32.const 9) (i32.const 0) (i32.const 0)) (i32.const -3)) (then (return (i32.const 4))))
            (if (i32.ne (call $name (i32.const 65534) (i32.const 4)) (i32.const -4)) (then (return (i32.const 5))))
            (call $name (i32.const 100) (i32.const 2))))"#;
    let (mut i, board) = instance(wat, &m);
    assert_eq!(run(&mut i), Step::Exited(4), "the name's full length after all refusals");
    assert!(board.log().is_empty());
}

#[test]
fn memory_grow_beyond_the_limit_fails_for_the_app_only() {
    let m = manifest("bomb", |m| m.memory_limit = 3 * 65536);
    let wat = r#"(module (memory (export "memory") 1)
        (func (export "akira_main") (result i32)
            (local $n i32)
            (block $done (loop $l
                (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
                (local.set $n (i32.add (local.get $n) (i32.const 1)))
                (br $l)))
            (local.get $n)))"#;
    let (mut i, _) = instance(wat, &m);
    assert_eq!(run(&mut i), Step::Exited(2), "grew to the 3-page limit, then -1");
    assert_eq!(i.state().limits().memory_peak(), 3 * 65536);
    assert_eq!(i.state().limits().refused_memory(), Some(4 * 65536));
}

#[test]
fn exit_codes() {
    let m = manifest("exit", |m| m.capabilities.sys = true);
    let (mut i, _) = instance(
        r#"(module (import "akira:sys" "exit" (func $exit (param i32)))
            (func (export "akira_main") (call $exit (i32.const 7)) (unreachable)))"#,
        &m,
    );
    assert_eq!(run(&mut i), Step::Exited(7));
    let (mut i, _) = instance(r#"(module (func (export "akira_main")))"#, &m);
    assert_eq!(run(&mut i), Step::Exited(0));
}

#[test]
fn a_runaway_app_is_stopped_while_another_keeps_running() {
    let rt = runtime();
    let spin = rt.load(&wasm(SPIN, Some(&manifest("spin", |m| m.cpu_budget = 100_000)))).unwrap();
    let wat = format!(
        r#"(module {GPIO}
        (func (export "akira_main") (local $n i32)
            (loop $l
                (drop (call $write (i32.const 2) (i32.and (local.get $n) (i32.const 1))))
                (drop (call $sleep (i64.const 100000)))
                (local.set $n (i32.add (local.get $n) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $n) (i32.const 20))))))"#
    );
    let blinky = rt.load(&wasm(&wat, Some(&gpio_manifest(&[2], &[])))).unwrap();
    let board = TestBoard::new();
    let mut sched = Scheduler::new(rt);
    let spin_id = sched.spawn(spin, board.clone(), RestartPolicy::never()).unwrap();
    let blinky_id = sched.spawn(blinky, board.clone(), RestartPolicy::never()).unwrap();
    let mut events = Vec::new();
    for _ in 0..10_000 {
        let now = board.0.borrow().now;
        let round = sched.poll(Instant::from_micros(now), |info, e| events.push((info.name.to_string(), e.clone())));
        if round.live == 0 {
            break;
        }
        if !round.busy {
            board.set_us(round.next_wake.unwrap().as_micros());
        }
    }
    assert_eq!(sched.status(spin_id), Some(&Status::Failed(Fault::CpuBudget { budget: 100_000 })));
    assert_eq!(sched.status(blinky_id), Some(&Status::Exited(0)));
    let writes = board.0.borrow().writes.len();
    assert_eq!(writes, 20, "blinky wrote its pin 20 times while spin was stopped");
    assert!(events.contains(&("spin".into(), Event::Faulted(Fault::CpuBudget { budget: 100_000 }))));
    assert!(events.contains(&("pins".into(), Event::Exited(0))));
}

#[test]
fn faulting_app_is_restarted_with_backoff_then_declared_a_crash_loop() {
    let rt = runtime();
    let app = rt
        .load(&wasm(r#"(module (func (export "akira_main") (unreachable)))"#, Some(&manifest("crash", |_| {}))))
        .unwrap();
    let board = TestBoard::new();
    let mut sched = Scheduler::new(rt);
    let policy = RestartPolicy { restart: Restart::OnFault, crash_loop_faults: 3, ..Default::default() };
    let id = sched.spawn(app, board.clone(), policy).unwrap();
    let mut events = Vec::new();
    let mut wakes = Vec::new();
    for _ in 0..100 {
        let now = Instant::from_micros(board.0.borrow().now);
        let round = sched.poll(now, |_, e| events.push(e.clone()));
        if round.live == 0 {
            break;
        }
        if let (false, Some(t)) = (round.busy, round.next_wake) {
            wakes.push(t.saturating_since(now).as_millis());
            board.set_us(t.as_micros());
        }
    }
    assert_eq!(sched.status(id), Some(&Status::CrashLoop));
    assert_eq!(wakes, vec![100, 200], "backoff doubles");
    let faults = events.iter().filter(|e| matches!(e, Event::Faulted(_))).count();
    let starts = events.iter().filter(|e| matches!(e, Event::Started)).count();
    assert_eq!((faults, starts), (3, 2));
    assert!(matches!(events.last(), Some(Event::CrashLoop { faults: 3 })));
}

#[test]
fn async_wrapper_runs_apps_to_completion_without_an_executor_crate() {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};

    let rt = runtime();
    let wat = format!(
        r#"(module {GPIO}
        (func (export "akira_main") (drop (call $sleep (i64.const 1000))) (drop (call $write (i32.const 2) (i32.const 1)))))"#
    );
    let app = rt.load(&wasm(&wat, Some(&gpio_manifest(&[2], &[])))).unwrap();
    let board = TestBoard::new();
    let mut sched = Scheduler::new(rt);
    sched.spawn(app, board.clone(), RestartPolicy::never()).unwrap();
    let clock_board = board.clone();
    let idle_board = board.clone();
    let mut idles = 0;
    let mut run = Box::pin(sched.run(
        move || Instant::from_micros(clock_board.0.borrow().now),
        async |wake: Option<Instant>| {
            idles += 1;
            idle_board.set_us(wake.unwrap().as_micros());
        },
        |_, _| {},
    ));
    let mut cx = Context::from_waker(Waker::noop());
    let mut polls = 0;
    while run.as_mut().poll(&mut cx) == Poll::Pending {
        polls += 1;
        assert!(polls < 100);
    }
    drop(run);
    assert_eq!(idles, 1, "idled once, for the sleep");
    assert!(board.output(2));
}

#[test]
fn slice_boundaries_never_kill_an_app_whose_functions_compile_late() {
    // Many calls to not-yet-run functions with a tiny slice: every slice
    // boundary falls somewhere new, including on first calls.
    let mut funcs = String::new();
    let mut calls = String::new();
    for n in 0..50 {
        funcs.push_str(&format!(
            "(func $f{n} (result i32) (local $i i32)
                (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br_if $l (i32.lt_u (local.get $i) (i32.const {n}))))
                (local.get $i))"
        ));
        calls.push_str(&format!("(drop (call $f{n}))"));
    }
    let wat = format!(r#"(module {funcs} (func (export "akira_main") (result i32) {calls} (i32.const 5)))"#);
    for slice in [1, 7, 50, 333] {
        let rt = runtime_with(RuntimeConfig { slice_fuel: slice, ..Default::default() }, Policy::development());
        let app = rt.load(&wasm(&wat, Some(&manifest("late", |_| {})))).unwrap();
        let mut i = rt.instantiate(&app, 0, TestBoard::new()).unwrap();
        assert_eq!(run(&mut i), Step::Exited(5), "slice {slice}");
    }
}
