//! Fair sharing between apps on one board: an app that loops on flash
//! writes, floods the console, never reads its mailbox or grabs every
//! socket is held to its share, and the apps beside it keep working.

mod common;

use std::net::TcpListener;
use std::time::Duration;

use akira_caps::scope::{Endpoint, HostName, IpcScope, NetScope, StorageScope, Topic};
use akira_caps::{Capability, GrantError, Policy};
use akira_sandbox::{Fault, LoadError, RestartPolicy, Runtime, Status};
use akira_sim::{End, SimBoard, Simulation, What};
use common::wasm;

fn sim() -> (Simulation, SimBoard) {
    let board = SimBoard::virtual_time();
    let runtime = Runtime::new(akira_sim::config(), akira_sim::bridge(), Policy::development());
    (Simulation::new(runtime, board.clone()), board)
}

/// Toggles pin 2 every 500 ms, ten times.
const BLINKY: &str = r#"(module
    (import "akira:gpio" "configure" (func $configure (param i32 i32) (result i32)))
    (import "akira:gpio" "toggle" (func $toggle (param i32) (result i32)))
    (import "akira:timer" "now_us" (func $now (param) (result i64)))
    (import "akira:timer" "sleep_until_us" (func $until (param i64) (result i32)))
    (func (export "akira_main") (local $n i32) (local $t i64)
        (drop (call $configure (i32.const 2) (i32.const 1)))
        (local.set $t (call $now))
        (loop $blink
            (local.set $t (i64.add (local.get $t) (i64.const 500000)))
            (drop (call $until (local.get $t)))
            (drop (call $toggle (i32.const 2)))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))
            (br_if $blink (i32.lt_u (local.get $n) (i32.const 10))))))"#;

fn blinky(sim: &mut Simulation) {
    let app = sim.scheduler().runtime().load(&wasm(BLINKY, "blinky", |m| {
        m.capabilities.gpio =
            Some(akira_caps::scope::GpioScope::new(Default::default(), [2].into_iter().collect(), Default::default()));
        m.capabilities.timer = true;
    }));
    sim.spawn(app.unwrap(), RestartPolicy::never()).unwrap();
}

/// Blinky's toggles, in microseconds.
fn toggles(board: &SimBoard) -> Vec<u64> {
    board.records().iter().filter(|r| matches!(r.what, What::Pin { pin: 2, .. })).map(|r| r.at.as_micros()).collect()
}

#[test]
fn a_storage_loop_beside_blinky_is_stopped_by_its_budgets_and_blinky_keeps_its_timing() {
    // Sets a 4-byte key to a 256-byte value, forever, ignoring errors.
    let looping = r#"(module
        (import "akira:storage" "set" (func $set (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 0) "key!")
        (func (export "akira_main")
            (loop $forever (drop (call $set (i32.const 0) (i32.const 4) (i32.const 16) (i32.const 256))) (br $forever))))"#;
    let (mut sim, board) = sim();
    blinky(&mut sim);
    let app = sim.scheduler().runtime().load(&wasm(looping, "storage-loop", |m| {
        m.capabilities.storage = Some(StorageScope::with_quota(4096));
    }));
    let looper = sim.spawn(app.unwrap(), RestartPolicy::never()).unwrap();
    assert_eq!(sim.run(Some(Duration::from_secs(6))), End::AllStopped);

    // The CPU budget stopped it: each write, refused ones too, pays fuel.
    let status = sim.scheduler().status(looper).cloned();
    assert!(matches!(status, Some(Status::Failed(Fault::CpuBudget { .. }))), "{status:?}");
    // The flash write budget held its writes to 32 KiB an hour: 16 bytes
    // of bookkeeping, its name, the key and the value are 288 bytes each.
    let writes =
        board.records().iter().filter(|r| matches!(&r.what, What::Storage { result: Ok(()), .. })).count() as u32;
    assert_eq!(writes, StorageScope::DEFAULT_WRITES_PER_HOUR / (16 + 12 + 4 + 256), "writes within the budget");
    let denials = sim.scheduler().instance(looper).unwrap().state().guard().denials(Capability::Storage);
    assert!(denials > 1000, "the writes past the budget were refused (AKIRA_EBUSY) and counted: {denials}");

    // Blinky toggled ten times, each within a millisecond of its time.
    let at = toggles(&board);
    assert_eq!(at.len(), 10, "{at:?}");
    for (n, t) in at.iter().enumerate() {
        let due = (n as u64 + 1) * 500_000;
        assert!((due..due + 1_500).contains(t), "toggle {n} at {t} us, due at {due}: {at:?}");
    }
    let late = at.iter().enumerate().map(|(n, t)| t - (n as u64 + 1) * 500_000).max().unwrap_or(0);
    let fuel = sim.scheduler().usage(looper).map_or(0, |u| u.fuel);
    println!(
        "fair: storage loop: {writes} writes accepted, {denials} refused, stopped by its CPU budget after {fuel} \
         fuel; blinky: {} toggles, at most {late} us late",
        at.len()
    );
}

#[test]
fn storage_quotas_are_granted_only_within_the_stores_capacity() {
    // The simulated store: 16 sectors of 4 KiB, two kept free, and as
    // much bookkeeping as data: 28 KiB of keys and values.
    let empty = r#"(module (func (export "akira_main")))"#;
    let (mut sim, _) = sim();
    let asking = |sim: &Simulation, name: &str, quota: u32| {
        let app = wasm(empty, name, |m| m.capabilities.storage = Some(StorageScope::with_quota(quota)));
        sim.scheduler().runtime().load(&app).unwrap()
    };
    sim.spawn(asking(&sim, "first", 20 * 1024), RestartPolicy::never()).unwrap();
    let e = sim.spawn(asking(&sim, "second", 20 * 1024), RestartPolicy::never()).unwrap_err();
    assert!(matches!(e, LoadError::StorageQuota { asked: 20480, free: 8192 }), "{e:?}");
    assert!(e.to_string().contains("leave 8192 bytes"), "{e}");
    // The development policy allows any quota; the store does not.
    let e = sim.spawn(asking(&sim, "greedy", 1024 * 1024), RestartPolicy::never()).unwrap_err();
    assert!(matches!(e, LoadError::StorageQuota { .. }));
    sim.spawn(asking(&sim, "third", 8 * 1024), RestartPolicy::never()).unwrap();
    // A new version of an app replaces its old quota.
    sim.spawn(asking(&sim, "first", 20 * 1024), RestartPolicy::never()).unwrap();
}

#[test]
fn a_subscriber_that_never_reads_blocks_neither_the_publisher_nor_the_others() {
    // Publishes ten messages; exits with the number refused.
    let publisher = r#"(module
        (import "akira:ipc" "publish" (func $publish (param i32 i32 i32) (result i32)))
        (import "akira:timer" "sleep_us" (func $sleep (param i64) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 0) "ping")
        (func (export "akira_main") (result i32) (local $n i32) (local $refused i32)
            (drop (call $sleep (i64.const 1000)))
            (loop $send
                (if (i32.lt_s (call $publish (i32.const 0) (i32.const 0) (i32.const 4)) (i32.const 1))
                    (then (local.set $refused (i32.add (local.get $refused) (i32.const 1)))))
                (drop (call $sleep (i64.const 1000)))
                (local.set $n (i32.add (local.get $n) (i32.const 1)))
                (br_if $send (i32.lt_u (local.get $n) (i32.const 10))))
            (local.get $refused)))"#;
    // Subscribes, then sleeps (`slow`) or receives as messages come; exits
    // with received * 100 + lost.
    let subscriber = |slow: bool| {
        let nap = if slow { 100_000 } else { 0 };
        format!(
            r#"(module
            (import "akira:ipc" "subscribe" (func $subscribe (param i32) (result i32)))
            (import "akira:ipc" "receive" (func $receive (param i32 i32 i64) (result i32)))
            (import "akira:ipc" "lost" (func $lost (result i32)))
            (import "akira:timer" "sleep_us" (func $sleep (param i64) (result i32)))
            (memory (export "memory") 1)
            (func (export "akira_main") (result i32) (local $got i32)
                (drop (call $subscribe (i32.const 0)))
                (drop (call $sleep (i64.const {nap})))
                (loop $take
                    (if (i32.ge_s (call $receive (i32.const 64) (i32.const 64) (i64.const 50000)) (i32.const 0))
                        (then (local.set $got (i32.add (local.get $got) (i32.const 1))) (br $take))))
                (i32.add (i32.mul (local.get $got) (i32.const 100)) (call $lost))))"#
        )
    };
    let (mut sim, _) = sim();
    let load = |sim: &Simulation, wat: &str, name: &str, publish: bool| {
        let app = wasm(wat, name, |m| {
            m.capabilities.timer = true;
            let mut scope = IpcScope::default();
            let list = if publish { &mut scope.publish } else { &mut scope.subscribe };
            list.push(Topic::try_from("ping").unwrap()).unwrap();
            m.capabilities.ipc = Some(Box::new(scope));
        });
        sim.scheduler().runtime().load(&app).unwrap()
    };
    let slow = sim.spawn(load(&sim, &subscriber(true), "slow", false), RestartPolicy::never()).unwrap();
    let fast = sim.spawn(load(&sim, &subscriber(false), "fast", false), RestartPolicy::never()).unwrap();
    let publisher = sim.spawn(load(&sim, publisher, "publisher", true), RestartPolicy::never()).unwrap();
    assert_eq!(sim.run(Some(Duration::from_secs(2))), End::AllStopped);
    let status = |id| sim.scheduler().status(id).cloned();
    assert_eq!(status(publisher), Some(Status::Exited(0)), "no publish refused");
    assert_eq!(status(fast), Some(Status::Exited(1000)), "fast got all ten, lost none");
    // The default broker's mailbox holds 4: slow kept the newest 4 and
    // was told it lost 6.
    assert_eq!(status(slow), Some(Status::Exited(406)));
}

/// An app that connects to its endpoint 0 `times` times, closing nothing;
/// it exits with the number of sockets it got.
fn connects(times: u32) -> String {
    format!(
        r#"(module
        (import "akira:net" "connect" (func $connect (param i32 i32 i32 i64) (result i32)))
        (func (export "akira_main") (result i32) (local $n i32) (local $got i32)
            (loop $open
                (if (i32.ge_s (call $connect (i32.const 0) (i32.const 0) (i32.const 0) (i64.const 1000000)) (i32.const 0))
                    (then (local.set $got (i32.add (local.get $got) (i32.const 1)))))
                (local.set $n (i32.add (local.get $n) (i32.const 1)))
                (br_if $open (i32.lt_u (local.get $n) (i32.const {times}))))
            (local.get $got)))"#
    )
}

#[test]
fn an_app_that_opens_every_socket_it_can_leaves_sockets_for_the_others() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Connects sixteen times; exits with the number of sockets it got.
    let greedy = &connects(16);
    let modest = r#"(module
        (import "akira:net" "connect" (func $connect (param i32 i32 i32 i64) (result i32)))
        (import "akira:timer" "sleep_us" (func $sleep (param i64) (result i32)))
        (func (export "akira_main") (result i32)
            (drop (call $sleep (i64.const 200000)))
            (call $connect (i32.const 0) (i32.const 0) (i32.const 0) (i64.const 1000000))))"#;
    let (mut sim, _) = sim();
    let load = |sim: &Simulation, wat: &str, name: &str| {
        let app = wasm(wat, name, |m| {
            m.capabilities.timer = true;
            let mut net = NetScope::default();
            net.endpoints.push(Endpoint { host: HostName::try_from("127.0.0.1").unwrap(), port }).unwrap();
            m.capabilities.net = Some(Box::new(net));
        });
        sim.scheduler().runtime().load(&app).unwrap()
    };
    let greedy = sim.spawn(load(&sim, greedy, "greedy"), RestartPolicy::never()).unwrap();
    let modest = sim.spawn(load(&sim, modest, "modest"), RestartPolicy::never()).unwrap();
    assert_eq!(sim.run(Some(Duration::from_secs(3))), End::AllStopped);
    let share = i32::from(NetScope::DEFAULT_SOCKETS);
    assert_eq!(sim.scheduler().status(greedy).cloned(), Some(Status::Exited(share)), "its share, no more");
    let got = sim.scheduler().status(modest).cloned();
    assert!(matches!(got, Some(Status::Exited(id)) if id >= 0), "the other app got a socket: {got:?}");
    drop(listener);
}

#[test]
fn an_app_flooding_the_console_is_rate_limited_and_the_others_lines_get_through() {
    // A thousand lines at once; exits with the count dropped.
    let flood = r#"(module
        (import "akira:log" "write" (func $write (param i32 i32 i32) (result i32)))
        (import "akira:log" "dropped" (func $dropped (result i64)))
        (memory (export "memory") 1)
        (data (i32.const 0) "flood")
        (func (export "akira_main") (result i32) (local $n i32)
            (loop $line
                (drop (call $write (i32.const 2) (i32.const 0) (i32.const 5)))
                (local.set $n (i32.add (local.get $n) (i32.const 1)))
                (br_if $line (i32.lt_u (local.get $n) (i32.const 1000))))
            (i32.wrap_i64 (call $dropped))))"#;
    let quiet = r#"(module
        (import "akira:log" "write" (func $write (param i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 0) "still here")
        (func (export "akira_main") (result i32) (call $write (i32.const 2) (i32.const 0) (i32.const 10))))"#;
    let (mut sim, board) = sim();
    let load = |sim: &Simulation, wat: &str, name: &str| {
        sim.scheduler().runtime().load(&wasm(wat, name, |m| m.capabilities.log = true)).unwrap()
    };
    let flood = sim.spawn(load(&sim, flood, "flood"), RestartPolicy::never()).unwrap();
    let quiet = sim.spawn(load(&sim, quiet, "quiet"), RestartPolicy::never()).unwrap();
    assert_eq!(sim.run(Some(Duration::from_secs(1))), End::AllStopped);
    let limit = akira_caps::guard::CONSOLE_LINES_PER_S as i32;
    assert_eq!(sim.scheduler().status(flood).cloned(), Some(Status::Exited(1000 - limit)));
    assert_eq!(sim.scheduler().status(quiet).cloned(), Some(Status::Exited(0)));
    let lines = |app: &str| {
        board.records().iter().filter(|r| r.app.as_deref() == Some(app) && matches!(r.what, What::Log { .. })).count()
    };
    assert_eq!((lines("flood"), lines("quiet")), (limit as usize, 1));
}

#[test]
fn an_app_listing_many_topics_is_held_to_its_share_of_the_topic_table() {
    // Publishes to, and receives from, each of its topics; exits with the
    // number of messages it got back.
    let echo = |topics: u32| {
        format!(
            r#"(module
            (import "akira:ipc" "publish" (func $publish (param i32 i32 i32) (result i32)))
            (import "akira:ipc" "subscribe" (func $subscribe (param i32) (result i32)))
            (import "akira:ipc" "receive" (func $receive (param i32 i32 i64) (result i32)))
            (memory (export "memory") 1)
            (func (export "akira_main") (result i32) (local $n i32) (local $got i32)
                (loop $each
                    (drop (call $subscribe (local.get $n)))
                    (drop (call $publish (local.get $n) (i32.const 0) (i32.const 1)))
                    (if (i32.ge_s (call $receive (i32.const 64) (i32.const 64) (i64.const 0)) (i32.const 0))
                        (then (local.set $got (i32.add (local.get $got) (i32.const 1)))))
                    (local.set $n (i32.add (local.get $n) (i32.const 1)))
                    (br_if $each (i32.lt_u (local.get $n) (i32.const {topics}))))
                (local.get $got)))"#
        )
    };
    // Each app's topics are its own names, in both lists.
    let app = |name: &str, topics: u32| {
        wasm(&echo(topics), name, |m| {
            let mut scope = IpcScope::default();
            for n in 0..topics {
                let topic = Topic::try_from(format!("{name}/{n}").as_str()).unwrap();
                scope.publish.push(topic.clone()).unwrap();
                scope.subscribe.push(topic).unwrap();
            }
            m.capabilities.ipc = Some(Box::new(scope));
        })
    };
    // The simulator's broker has 16 topics: a policy of 8 per app leaves
    // a second app its 8 whatever the first takes.
    let board = SimBoard::virtual_time();
    let mut policy = Policy::development();
    policy.max_ipc_topics = 8;
    let runtime = Runtime::new(akira_sim::config(), akira_sim::bridge(), policy);
    let mut sim = Simulation::new(runtime, board);
    // Beyond its share, an app is refused at install, naming the key.
    let wide = app("wide", 8);
    let greedy = wasm(&echo(8), "greedy", |m| {
        let mut scope = IpcScope::default();
        for n in 0..8 {
            scope.publish.push(Topic::try_from(format!("greedy/p{n}").as_str()).unwrap()).unwrap();
            scope.subscribe.push(Topic::try_from(format!("greedy/s{n}").as_str()).unwrap()).unwrap();
        }
        m.capabilities.ipc = Some(Box::new(scope));
    });
    let e = sim.scheduler().runtime().load(&greedy).unwrap_err();
    assert!(
        matches!(&e, LoadError::Grant(g) if matches!(**g, GrantError::IpcTopics { asked: 16, allowed: 8 })),
        "{e:?}"
    );
    assert!(e.to_string().contains("16 topics are beyond the device policy's ipc-topics (8)"), "{e}");
    // Within its share, the first app takes all of it; the second still
    // gets all of its own.
    let first = sim.spawn(sim.scheduler().runtime().load(&wide).unwrap(), RestartPolicy::never()).unwrap();
    let second = sim.spawn(sim.scheduler().runtime().load(&app("other", 8)).unwrap(), RestartPolicy::never()).unwrap();
    assert_eq!(sim.run(Some(Duration::from_secs(1))), End::AllStopped);
    assert_eq!(sim.scheduler().status(first).cloned(), Some(Status::Exited(8)));
    assert_eq!(sim.scheduler().status(second).cloned(), Some(Status::Exited(8)));
}

#[test]
fn apps_that_exit_leave_their_sockets_and_mailboxes_to_the_apps_after_them() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Opens its share of sockets, never closes them, and exits with the
    // number it got.
    let leaver = &connects(2);
    let late = r#"(module
        (import "akira:net" "connect" (func $connect (param i32 i32 i32 i64) (result i32)))
        (func (export "akira_main") (result i32)
            (call $connect (i32.const 0) (i32.const 0) (i32.const 0) (i64.const 1000000))))"#;
    let (mut sim, _) = sim();
    // Each with a socket share, an IPC mailbox and a topic of its own.
    let load = |sim: &Simulation, wat: &str, name: &str| {
        let app = wasm(wat, name, |m| {
            let mut net = NetScope::default();
            net.endpoints.push(Endpoint { host: HostName::try_from("127.0.0.1").unwrap(), port }).unwrap();
            m.capabilities.net = Some(Box::new(net));
            let mut ipc = IpcScope::default();
            ipc.publish.push(Topic::try_from(name).unwrap()).unwrap();
            m.capabilities.ipc = Some(Box::new(ipc));
        });
        sim.scheduler().runtime().load(&app).unwrap()
    };
    // Eight apps take the simulator's 16 sockets and 8 mailboxes between
    // them, and exit.
    let leavers: Vec<_> = (0..8)
        .map(|n| sim.spawn(load(&sim, leaver, &format!("leaver-{n}")), RestartPolicy::never()).unwrap())
        .collect();
    assert_eq!(sim.run(Some(Duration::from_secs(2))), End::AllStopped);
    for id in leavers {
        assert_eq!(sim.scheduler().status(id).cloned(), Some(Status::Exited(2)), "each got its share");
    }
    // The app after them gets a mailbox (it links) and a socket.
    let late = sim.spawn(load(&sim, late, "late"), RestartPolicy::never()).expect("a mailbox is free");
    assert_eq!(sim.run(Some(Duration::from_secs(2))), End::AllStopped);
    let got = sim.scheduler().status(late).cloned();
    assert!(matches!(got, Some(Status::Exited(id)) if id >= 0), "a socket is free: {got:?}");
    drop(listener);
}
