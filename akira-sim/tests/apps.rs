//! Apps that talk to or control each other on the simulated board.

mod common;

use std::time::Duration;

use akira_caps::Policy;
use akira_caps::manifest::AppName;
use akira_caps::scope::AppScope;
use akira_sandbox::{RestartPolicy, Runtime};
use akira_sim::{End, SimBoard, Simulation};
use common::wasm;

#[test]
fn a_supervisor_stops_a_blinking_worker_and_starts_it_again() {
    let worker = r#"(module
        (import "akira:timer" "sleep_us" (func $sleep (param i64) (result i32)))
        (func (export "akira_main")
            (loop $forever (drop (call $sleep (i64.const 100000))) (br $forever))))"#;
    // Stops the worker at 0.25 s, starts it at 0.5 s, exits with its
    // status then (0 running or 1 waiting).
    let supervisor = r#"(module
        (import "akira:timer" "sleep_us" (func $sleep (param i64) (result i32)))
        (import "akira:app" "status" (func $status (param i32) (result i32)))
        (import "akira:app" "start" (func $start (param i32) (result i32)))
        (import "akira:app" "stop" (func $stop (param i32) (result i32)))
        (func (export "akira_main") (result i32)
            (drop (call $sleep (i64.const 250000)))
            (if (i32.ne (call $stop (i32.const 0)) (i32.const 0)) (then (return (i32.const -100))))
            (drop (call $sleep (i64.const 250000)))
            (if (i32.ne (call $status (i32.const 0)) (i32.const 2)) (then (return (i32.const -101))))
            (if (i32.ne (call $start (i32.const 0)) (i32.const 0)) (then (return (i32.const -102))))
            (call $status (i32.const 0))))"#;
    let (bridge, apps) = akira_sim::bridge_with_apps();
    let runtime = Runtime::new(akira_sim::config(), bridge, Policy::development());
    let worker = runtime.load(&wasm(worker, "worker", |m| m.capabilities.timer = true)).unwrap();
    let supervisor = runtime
        .load(&wasm(supervisor, "supervisor", |m| {
            m.capabilities.timer = true;
            let mut scope = AppScope::default();
            scope.apps.push(AppName::try_from("worker").unwrap()).unwrap();
            m.capabilities.app = Some(Box::new(scope));
        }))
        .unwrap();
    let board = SimBoard::virtual_time();
    let mut sim = Simulation::new(runtime, board.clone());
    sim.serve_apps(apps);
    let worker_id = sim.spawn(worker, RestartPolicy::never()).unwrap();
    sim.spawn(supervisor, RestartPolicy::never()).unwrap();
    assert_eq!(sim.run(Some(Duration::from_secs(1))), End::TimeLimit);
    let log: Vec<String> = board.records().iter().map(|r| r.to_string()).collect();
    let line = |text: &str| log.iter().any(|l| l.contains(text));
    assert!(line("[   0.250000s] worker       stopped"), "{log:#?}");
    assert!(line("[   0.500000s] worker       started"), "{log:#?}");
    assert!(line("[   0.500000s] supervisor   exited with code 1"), "the worker sleeps again: {log:#?}");
    assert!(sim.scheduler().status(worker_id).is_some_and(|s| s.is_live()));
}
