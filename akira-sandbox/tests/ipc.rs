//! `akira:ipc` between apps on the scheduler: one app suspended in
//! `receive` until another publishes, the guard on topic indices, and a
//! full mailbox refusing a sender without blocking it.

mod common;

use akira_sandbox::akira_bridge::{AppInfo, Bridge, Broker, Errno, Instant, IpcBroker, IpcModule};
use akira_sandbox::akira_caps::scope::{IpcScope, Topic};
use akira_sandbox::akira_caps::{Capability, Manifest, Policy};
use akira_sandbox::{Event, RestartPolicy, Runtime, RuntimeConfig, Scheduler, Status};
use common::*;

const IMPORTS: &str = r#"
    (import "akira:ipc" "publish" (func $publish (param i32 i32 i32) (result i32)))
    (import "akira:ipc" "subscribe" (func $subscribe (param i32) (result i32)))
    (import "akira:ipc" "receive" (func $receive (param i32 i32 i64) (result i32)))
    (import "akira:ipc" "pending" (func $pending (result i32)))
    (memory (export "memory") 1)
"#;

fn topics(names: &[&str]) -> IpcScope {
    let mut scope = IpcScope::default();
    for n in names {
        scope.publish.push(Topic::try_from(*n).unwrap()).unwrap();
    }
    scope
}

fn ipc_manifest(name: &str, publish: &[&str], subscribe: &[&str]) -> Manifest {
    manifest(name, |m| {
        m.capabilities.ipc =
            Some(Box::new(IpcScope { publish: topics(publish).publish, subscribe: topics(subscribe).publish }))
    })
}

/// A scheduler whose bridge has the builtins and `akira:ipc` over a fresh
/// broker with 4-message mailboxes.
fn scheduler() -> (Scheduler<TestBoard>, &'static IpcBroker) {
    let broker: &'static IpcBroker = Box::leak(Box::new(IpcBroker::new()));
    let bridge = Bridge::with_builtins().with(IpcModule::new(broker)).unwrap();
    (Scheduler::new(Runtime::new(RuntimeConfig::default(), bridge, Policy::development())), broker)
}

fn spawn(s: &mut Scheduler<TestBoard>, wat: &str, m: &Manifest, board: &TestBoard) -> akira_sandbox::AppId {
    let app = s.runtime().load(&wasm(wat, Some(m))).unwrap();
    s.spawn(app, board.clone(), RestartPolicy::never()).unwrap()
}

#[test]
fn pong_sleeps_in_receive_until_ping_publishes_and_answers() {
    // pong: subscribe to "ping", wait for a message, send it back on
    // "pong" reversed in case, exit with what receive returned.
    let pong = format!(
        r#"(module {IMPORTS}
        (func (export "akira_main") (result i32) (local $r i32)
            (drop (call $subscribe (i32.const 0)))
            (local.set $r (call $receive (i32.const 100) (i32.const 64) (i64.const -1)))
            (drop (call $publish (i32.const 0) (i32.const 100) (i32.and (local.get $r) (i32.const 0xffff))))
            (local.get $r)))"#
    );
    // ping: subscribe to "pong", publish "hello" on "ping" (topic 1 of its
    // list), then wait for the answer; exits with the answer's length if
    // it is the same bytes, else -100.
    let ping = format!(
        r#"(module {IMPORTS}
        (data (i32.const 0) "hello")
        (func (export "akira_main") (result i32) (local $r i32)
            (drop (call $subscribe (i32.const 0)))
            (if (i32.ne (call $publish (i32.const 1) (i32.const 0) (i32.const 5)) (i32.const 1))
                (then (return (i32.const -200))))
            (local.set $r (call $receive (i32.const 200) (i32.const 64) (i64.const 1000000)))
            (if (i32.ne (i32.load (i32.const 200)) (i32.load (i32.const 0))) (then (return (i32.const -100))))
            (local.get $r)))"#
    );
    let (mut s, broker) = scheduler();
    let board = TestBoard::new();
    let pong_id = spawn(&mut s, &pong, &ipc_manifest("pong", &["pong"], &["ping"]), &board);
    let ping_id = spawn(&mut s, &ping, &ipc_manifest("ping", &["log", "ping"], &["pong"]), &board);
    let mut exits = Vec::new();
    let mut on_event = |info: &AppInfo, e: &Event| {
        if let Event::Exited(code) = e {
            exits.push((info.name.to_string(), *code));
        }
    };

    // Round 1: pong runs first and finds nothing: suspended. ping then
    // publishes, which moves the bridge's activity counter.
    let before = s.runtime().bridge().activity();
    let round = s.poll(Instant::ZERO, &mut on_event);
    assert_eq!(s.status(pong_id), Some(&Status::Waiting));
    assert_eq!(s.status(ping_id), Some(&Status::Waiting));
    assert!(!round.busy);
    assert_ne!(s.runtime().bridge().activity(), before, "a delivery happened during the round");
    assert_eq!(s.usage(pong_id).unwrap().waits, 1);
    let pong_fuel = s.usage(pong_id).unwrap().fuel;

    // Round 2, same time: pong wakes with "hello", answers and exits;
    // ping wakes with the answer.
    s.poll(Instant::ZERO, &mut on_event);
    s.poll(Instant::ZERO, &mut on_event);
    assert_eq!(exits, [("pong".to_string(), 5), ("ping".to_string(), 5)], "topic 0, 5 bytes each way");
    assert!(s.usage(pong_id).unwrap().fuel < pong_fuel + 1000, "pong used no fuel while it waited");
    assert_eq!(broker.pending(0) + broker.pending(1), 0);
}

#[test]
fn an_unlisted_topic_is_denied_and_a_full_mailbox_does_not_block_the_sender() {
    // listener subscribes and then sleeps in receive with a timeout it
    // never reaches; it never takes anything.
    let listener = format!(
        r#"(module {IMPORTS}
        (func (export "akira_main") (result i32)
            (drop (call $subscribe (i32.const 0)))
            (call $receive (i32.const 0) (i32.const 0) (i64.const -1))))"#
    );
    // spammer: topic 1 is not in its publish list, subscribe 0 is not
    // granted at all; then it publishes ten messages and exits with how
    // many reached the listener.
    let spammer = format!(
        r#"(module {IMPORTS}
        (func (export "akira_main") (result i32) (local $n i32) (local $r i32)
            (if (i32.ne (call $publish (i32.const 1) (i32.const 0) (i32.const 1)) (i32.const -1))
                (then (return (i32.const -300))))
            (if (i32.ne (call $subscribe (i32.const 0)) (i32.const -1)) (then (return (i32.const -301))))
            (if (i32.ne (call $publish (i32.const 0) (i32.const 65535) (i32.const 2)) (i32.const -4))
                (then (return (i32.const -302))))
            (if (i32.ne (call $publish (i32.const 0) (i32.const 0) (i32.const 65)) (i32.const -10))
                (then (return (i32.const -303))))
            (loop $again
                (local.set $r (i32.add (local.get $r) (call $publish (i32.const 0) (i32.const 0) (i32.const 64))))
                (local.set $n (i32.add (local.get $n) (i32.const 1)))
                (br_if $again (i32.lt_u (local.get $n) (i32.const 10))))
            (local.get $r)))"#
    );
    let (mut s, broker) = scheduler();
    let board = TestBoard::new();
    let listener_id = spawn(&mut s, &listener, &ipc_manifest("listener", &[], &["t"]), &board);
    // The listener's receive buffer is empty (cap 0): it waits with the
    // message queued, so its mailbox fills.
    let spammer_id = spawn(&mut s, &spammer, &ipc_manifest("spammer", &["t"], &[]), &board);
    s.poll(Instant::ZERO, |_, _| {});
    assert_eq!(s.status(spammer_id), Some(&Status::Exited(10)), "every message reached the listener's mailbox");
    // It holds 4: the 6 oldest were dropped, and counted for it alone.
    assert_eq!((broker.pending(0), broker.take_lost(0)), (4, 6));
    assert_eq!(s.instance(spammer_id).unwrap().state().guard().denials(Capability::Ipc), 2);
    s.poll(Instant::ZERO, |_, _| {});
    assert_eq!(
        s.status(listener_id),
        Some(&Status::Exited(Errno::TooLarge.code())),
        "a 0-byte buffer cannot take a 64-byte message; it stays queued"
    );
    // Exited, the listener gave its mailbox back to the other apps.
    assert_eq!(broker.pending(0), 0);
    assert_eq!(board.0.borrow().denials, ["spammer: ipc: id 1 is not granted", "spammer: ipc: id 0 is not granted"]);
}
