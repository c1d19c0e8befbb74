//! `akira:app` on the scheduler: a supervisor app stops and restarts
//! another app through the firmware's lifecycle table; apps it does not
//! list are out of reach.

mod common;

use akira_sandbox::akira_bridge::{AppInfo, AppModule, AppTable, Bridge, Instant, Lifecycle};
use akira_sandbox::akira_caps::manifest::AppName;
use akira_sandbox::akira_caps::scope::AppScope;
use akira_sandbox::akira_caps::{Capability, Policy};
use akira_sandbox::{Event, RestartPolicy, Runtime, RuntimeConfig, Scheduler, Status};
use common::*;

const WORKER: &str = r#"(module
    (import "akira:timer" "sleep_us" (func $sleep (param i64) (result i32)))
    (func (export "akira_main")
        (loop $forever (drop (call $sleep (i64.const 1000))) (br $forever))))"#;

/// Checks each step and exits with 42, or with the number of the step
/// that went wrong.
const SUPERVISOR: &str = r#"(module
    (import "akira:app" "status" (func $status (param i32) (result i32)))
    (import "akira:app" "start" (func $start (param i32) (result i32)))
    (import "akira:app" "stop" (func $stop (param i32) (result i32)))
    (func (export "akira_main") (result i32)
        ;; worker ran first and sleeps: waiting (1)
        (if (i32.ne (call $status (i32.const 0)) (i32.const 1)) (then (return (i32.const 1))))
        ;; "ghost" is listed but not installed; index 2 is not listed
        (if (i32.ne (call $status (i32.const 1)) (i32.const -2)) (then (return (i32.const 2))))
        (if (i32.ne (call $stop (i32.const 2)) (i32.const -1)) (then (return (i32.const 3))))
        (if (i32.ne (call $stop (i32.const 0)) (i32.const 0)) (then (return (i32.const 4))))
        ;; stopped (2)
        (if (i32.ne (call $status (i32.const 0)) (i32.const 2)) (then (return (i32.const 5))))
        (if (i32.ne (call $start (i32.const 0)) (i32.const 0)) (then (return (i32.const 6))))
        ;; live again: it ran in this round before the supervisor resumed,
        ;; so running (0) or, asleep, waiting (1)
        (if (i32.gt_u (call $status (i32.const 0)) (i32.const 1)) (then (return (i32.const 7))))
        (i32.const 42)))"#;

fn names(list: &[&str]) -> AppScope {
    let mut scope = AppScope::default();
    for n in list {
        scope.apps.push(AppName::try_from(*n).unwrap()).unwrap();
    }
    scope
}

#[test]
fn a_supervisor_stops_and_restarts_a_listed_app() {
    let table: &'static AppTable<4> = Box::leak(Box::new(AppTable::new()));
    let bridge = Bridge::with_builtins().with(AppModule::new(table)).unwrap();
    let runtime = Runtime::new(RuntimeConfig::default(), bridge, Policy::development());
    let worker = runtime.load(&wasm(WORKER, Some(&manifest("worker", |m| m.capabilities.timer = true)))).unwrap();
    let supervisor = runtime
        .load(&wasm(
            SUPERVISOR,
            Some(&manifest("supervisor", |m| m.capabilities.app = Some(Box::new(names(&["worker", "ghost"]))))),
        ))
        .unwrap();
    let mut s = Scheduler::new(runtime);
    let board = TestBoard::new();
    let worker_id = s.spawn(worker, board.clone(), RestartPolicy::never()).unwrap();
    let supervisor_id = s.spawn(supervisor, board.clone(), RestartPolicy::never()).unwrap();
    s.set_lifecycle(table);
    assert_eq!(table.status("worker"), Some(akira_sandbox::akira_bridge::AppStatus::Running));

    let mut events = Vec::new();
    let mut on_event = |info: &AppInfo, e: &Event| events.push(format!("{} {e:?}", info.name));
    // Round 1: the worker sleeps; the supervisor checks, asks to stop it
    // and is suspended until the scheduler has.
    s.poll(Instant::ZERO, &mut on_event);
    assert_eq!(s.status(supervisor_id), Some(&Status::Waiting));
    assert_eq!(s.status(worker_id), Some(&Status::Waiting), "not stopped inside the round");
    // Round 2 applies the stop; the supervisor resumes and asks to start.
    s.poll(Instant::ZERO, &mut on_event);
    assert_eq!(s.status(worker_id), Some(&Status::Stopped));
    assert!(s.instance(worker_id).is_none(), "a stopped app's instance is dropped");
    // Round 3 starts it afresh; the supervisor finishes its checks.
    s.poll(Instant::ZERO, &mut on_event);
    s.poll(Instant::ZERO, &mut on_event);
    assert_eq!(s.status(supervisor_id), Some(&Status::Exited(42)), "{events:?}");
    assert_eq!(s.status(worker_id), Some(&Status::Waiting), "the worker runs again");
    assert_eq!(events, ["worker Stopped", "worker Started", "supervisor Exited(42)"]);
    assert_eq!(s.instance(supervisor_id).unwrap().state().guard().denials(Capability::App), 1);
    assert_eq!(board.0.borrow().denials, ["supervisor: app: id 2 is not granted"]);
}

#[test]
fn without_a_scheduler_serving_the_table_a_request_times_out() {
    let table: &'static AppTable<4> = Box::leak(Box::new(AppTable::new()));
    table.set_status("worker", akira_sandbox::akira_bridge::AppStatus::Running);
    let bridge = Bridge::with_builtins().with(AppModule::new(table)).unwrap();
    let runtime = Runtime::new(RuntimeConfig::default(), bridge, Policy::development());
    let wat = r#"(module
        (import "akira:app" "stop" (func $stop (param i32) (result i32)))
        (func (export "akira_main") (result i32) (call $stop (i32.const 0))))"#;
    let app = runtime
        .load(&wasm(wat, Some(&manifest("sup", |m| m.capabilities.app = Some(Box::new(names(&["worker"])))))))
        .unwrap();
    let mut s = Scheduler::new(runtime);
    let id = s.spawn(app, TestBoard::new(), RestartPolicy::never()).unwrap();
    s.poll(Instant::ZERO, |_, _| {});
    s.poll(Instant::from_micros(999_999), |_, _| {});
    assert_eq!(s.status(id), Some(&Status::Waiting));
    s.poll(Instant::from_micros(1_000_000), |_, _| {});
    assert_eq!(s.status(id), Some(&Status::Exited(-7)), "AKIRA_ETIMEDOUT");
}
