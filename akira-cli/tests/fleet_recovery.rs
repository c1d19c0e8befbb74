//! Fleet rollouts when things go wrong or an operator steps in, against a
//! real Mosquitto broker (see tests/fleet.rs): pause, resume and abort; a
//! device offline during its wave; the CLI killed mid-rollout; the broker
//! killed mid-download.

#[path = "common/fleet.rs"]
mod fleet;

use std::time::Duration;

use fleet::*;

#[test]
#[ignore = "needs a Mosquitto broker: AKIRA_TEST_MQTT=HOST:PORT (.ci/run starts one)"]
fn pause_lets_the_running_wave_finish_and_holds_the_next_until_resumed() {
    let dir = setup("pause");
    let v1 = pack(&dir, HEALTHY, "1.0.0");
    let fleet = Fleet::start(&dir, "pause", 6);

    // Paused during its first wave (or the soak after it): the wave
    // finishes, the second does not start until resumed.
    let cli = fleet.spawn_rollout(&dir, &v1, &["--waves", "2,100%", "--soak", "8s"]);
    fleet.wait_status(&dir, "1.0.0 to group pause: running (wave 1 of 2)");
    let paused = ok(&fleet.fleet(&dir, "pause", &[]));
    assert!(paused.contains(": paused"), "{paused}");
    fleet.wait_status(&dir, "1.0.0 to group pause: paused (wave 2 of 2)");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(fleet.count("installed sensor 1.0.0"), 2, "only the first wave while paused");
    let resumed = ok(&fleet.fleet(&dir, "resume", &[]));
    assert!(resumed.contains(": running"), "{resumed}");
    let out = cli.wait_with_output().unwrap();
    assert!(text(&out).contains("6 confirmed, 0 failed, 0 missed"), "{}", text(&out));
    assert_eq!(fleet.count("installed sensor 1.0.0"), 6);
    assert_eq!(fleet.fleet(&dir, "pause", &[]).status.code(), Some(2), "a finished rollout cannot be paused");
}

#[test]
#[ignore = "needs a Mosquitto broker: AKIRA_TEST_MQTT=HOST:PORT (.ci/run starts one)"]
fn abort_stops_the_rollout_and_rolls_the_devices_back_with_signed_commands_only() {
    let dir = setup("abort");
    ok(&akira(&dir, &["keygen", "-o", "ops"]));
    ok(&akira(&dir, &["keygen", "-o", "rogue"]));
    let v1 = pack(&dir, HEALTHY, "1.0.0");
    let v2 = pack(&dir, HEALTHY, "2.0.0");
    // The operators' key may roll back, nothing else. A trial of 15 s: the
    // abort comes while the canaries try the new version.
    let trust = ["--trust-key", "release.pub", "--trust-key", "ops.pub:rollback", "--confirm-after", "15s"];
    let fleet = Fleet::start_with(&dir, "abort", "abort", 4, &trust);
    ok(&fleet.rollout(&dir, &v1, &["--waves", "100%"]));

    let cli = fleet.spawn_rollout(&dir, &v2, &["--waves", "2,100%"]);
    wait_for("the canaries to install 2.0.0", Duration::from_secs(60), || fleet.count("installed sensor 2.0.0") == 2);
    // First with a key the devices do not trust for it: refused, nothing
    // changes; the rollout stops all the same.
    let rogue = fleet.fleet(&dir, "abort", &["--key", "rogue.key", "--wait", "10s"]);
    assert_eq!(rogue.status.code(), Some(1), "{}", text(&rogue));
    assert_eq!(text(&rogue).matches("refused the rollback").count(), 2, "{}", text(&rogue));
    assert!(text(&rogue).contains("rolled back 0 of 2"), "{}", text(&rogue));
    let out = cli.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("aborted by"), "{}", text(&out));
    assert_eq!(fleet.count("rolled back"), 0, "an untrusted key changes nothing");

    let abort = ok(&fleet.fleet(&dir, "abort", &["--key", "ops.key"]));
    assert!(abort.contains("rolled back 2 of 2"), "{abort}");
    assert_eq!(fleet.count("sensor rolled back to 1.0.0"), 2);
    assert_eq!(fleet.count("installed sensor 2.0.0"), 2, "no device beyond the first wave got it");
    let devices = ok(&fleet.fleet(&dir, "devices", &[]));
    assert_eq!(devices.lines().filter(|l| l.contains("sensor 1.0.0")).count(), 4, "{devices}");
    assert!(ok(&fleet.fleet(&dir, "status", &[])).contains("2.0.0 to group abort: aborted"));
    // There is no unsigned way, and an aborted rollout stays so.
    assert_eq!(fleet.fleet(&dir, "abort", &[]).status.code(), Some(2));
    assert_eq!(fleet.fleet(&dir, "resume", &[]).status.code(), Some(2));
}

#[test]
#[ignore = "needs a Mosquitto broker: AKIRA_TEST_MQTT=HOST:PORT (.ci/run starts one)"]
fn abort_after_devices_confirmed_reinstalls_the_previous_package_by_a_signed_downgrade() {
    let dir = setup("downgrade");
    ok(&akira(&dir, &["keygen", "-o", "ops"]));
    let v1 = pack(&dir, HEALTHY, "1.0.0");
    let v2 = pack(&dir, HEALTHY, "2.0.0");
    let trust = ["--trust-key", "release.pub:install", "--trust-key", "ops.pub:rollback,downgrade"];
    let fleet = Fleet::start_with(&dir, "downgrade", "downgrade", 3, &trust);
    ok(&fleet.rollout(&dir, &v1, &["--waves", "100%"]));
    ok(&fleet.rollout(&dir, &v2, &["--waves", "100%"]));

    // Confirmed: nothing on the devices to roll back to.
    let without = fleet.fleet(&dir, "abort", &["--key", "ops.key"]);
    assert_eq!(without.status.code(), Some(1), "{}", text(&without));
    assert_eq!(text(&without).matches("keeps no earlier version").count(), 3, "{}", text(&without));
    // With the previous package: a signed one-time downgrade permission,
    // then the package, checked as any package.
    let abort = ok(&fleet.fleet(&dir, "abort", &["--key", "ops.key", "--previous", &v1]));
    assert!(abort.contains("reinstalled sensor 1.0.0 on 3 of 3"), "{abort}");
    assert_eq!(fleet.count("installed sensor 1.0.0"), 6, "the first rollout, then the way back");
    let devices = ok(&fleet.fleet(&dir, "devices", &[]));
    assert_eq!(devices.lines().filter(|l| l.contains("sensor 1.0.0")).count(), 3, "{devices}");
}

#[test]
#[ignore = "needs a Mosquitto broker: AKIRA_TEST_MQTT=HOST:PORT (.ci/run starts one)"]
fn a_device_offline_during_its_wave_is_missed_and_gets_the_version_when_back_unless_withdrawn() {
    let dir = setup("offline");
    let v1 = pack(&dir, HEALTHY, "1.0.0");
    let v2 = pack(&dir, HEALTHY, "2.0.0");
    let trust = ["--trust-key", "release.pub"];
    let fleet = Fleet::start_with(&dir, "offline", "offline", 3, &trust);
    // One more device of the group, in a process of its own.
    let late = || {
        let late = Fleet::spawn(&dir, "offline", "offline-late", 1, &trust, &broker());
        late.wait_online(&dir, 4);
        late
    };
    let gone = |device: Fleet| {
        drop(device);
        fleet.wait_online(&dir, 3);
    };
    gone(late());

    // `--missed keep` (the default): its assignment stays for it. (The
    // online devices need about 2 s: a trial of 1 s; 10 s leaves room on
    // a loaded machine.)
    let out = ok(&fleet.rollout(&dir, &v1, &["--waves", "100%", "--wave-timeout", "10s"]));
    assert!(out.contains("3 confirmed, 0 failed, 1 missed"), "{out}");
    let back = late();
    wait_for("the late device to confirm 1.0.0", Duration::from_secs(30), || back.count("sensor confirmed") == 1);
    assert_eq!(back.count("installed sensor 1.0.0"), 1);
    gone(back);

    // `--missed withdraw`: nothing waits for it.
    let out = ok(&fleet.rollout(&dir, &v2, &["--waves", "100%", "--wave-timeout", "10s", "--missed", "withdraw"]));
    assert!(out.contains("3 confirmed, 0 failed, 1 missed"), "{out}");
    assert!(out.contains("1 missed device(s): assignment withdrawn"), "{out}");
    let back = late();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(back.count("installed sensor"), 0, "{:?}", back.lines());
    assert_eq!(fleet.count("installed sensor 2.0.0"), 3);
}

#[test]
#[ignore = "needs a Mosquitto broker: AKIRA_TEST_MQTT=HOST:PORT (.ci/run starts one)"]
fn the_cli_killed_mid_rollout_carries_on_when_started_again_and_one_cli_at_a_time_runs_it() {
    let dir = setup("lease");
    let v1 = pack(&dir, HEALTHY, "1.0.0");
    let v2 = pack(&dir, HEALTHY, "2.0.0");
    let fleet = Fleet::start(&dir, "lease", 10);

    // Killed while it soaks the canary's wave.
    let mut cli = fleet.spawn_rollout(&dir, &v1, &["--waves", "1,50%,100%", "--soak", "60s"]);
    wait_for("the canary to confirm", Duration::from_secs(60), || fleet.count("sensor confirmed") == 1);
    cli.kill().unwrap();
    cli.wait().unwrap();
    // Its lease holds until it expires: a second CLI is refused...
    let refused = fleet.rollout(&dir, &v1, &[]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(text(&refused).contains("is running (held by"), "{}", text(&refused));
    // ...and once it expired, a CLI started again carries it on at its
    // wave (the canary, done already, is not asked to install again).
    std::thread::sleep(Duration::from_secs(20));
    let out = ok(&fleet.rollout(&dir, &v1, &["--soak", "0s"]));
    assert!(out.contains("continuing rollout") && out.contains("at wave 1 of 3"), "{out}");
    assert!(out.contains("10 confirmed, 0 failed, 0 missed"), "{out}");
    assert_eq!(fleet.count("installed sensor 1.0.0"), 10, "each device installed it once");

    // Two CLIs started at once: one runs the rollout, the other stops.
    let a = fleet.spawn_rollout(&dir, &v2, &["--waves", "100%"]);
    let b = fleet.spawn_rollout(&dir, &v2, &["--waves", "100%"]);
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let codes = [a.status.code(), b.status.code()];
    assert!(codes.contains(&Some(0)) && codes.contains(&Some(2)), "{}\n---\n{}", text(&a), text(&b));
    let winner = if a.status.success() { &a } else { &b };
    assert!(text(winner).contains("10 confirmed, 0 failed, 0 missed"), "{}", text(winner));
    assert_eq!(fleet.count("installed sensor 2.0.0"), 10, "each device installed it once");
}

/// A healthy app carrying `kib` KiB of data, so its package takes many
/// chunks.
fn big_app(kib: usize) -> String {
    let mut data = String::new();
    let mut x: u32 = 0x1234_5678;
    for _ in 0..kib * 1024 {
        // xorshift: bytes that do not repeat.
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        data.push_str(&format!("\\{:02x}", x as u8));
    }
    HEALTHY.replace(
        "(func (export",
        &format!("(memory {}) (data (i32.const 0) \"{data}\") (func (export", (kib * 1024).div_ceil(65536)),
    )
}

#[test]
#[ignore = "needs Mosquitto installed (it starts its own: .ci/run installs it)"]
fn the_broker_killed_mid_download_devices_resume_and_nothing_is_installed_twice() {
    let dir = setup("restart");
    let mut broker = Mosquitto::start(&dir);
    let v1 = pack(&dir, &big_app(48), "1.0.0");
    let trust = ["--trust-key", "release.pub", "--slot-kib", "64"];
    let fleet = Fleet::spawn(&dir, "restart", "restart", 8, &trust, &broker.address());
    fleet.wait_online(&dir, 8);

    // 96 chunks of 512 bytes per device: killed once the devices are a few
    // chunks in (the broker's log shows each chunk it sends).
    // The package is in the broker (and saved to its disk) before.
    ok(&akira(&dir, &["fleet", "publish", &v1, "--chunk", "512", "--mqtt", &broker.address()]));
    let saves = || broker.log().matches("Saving in-memory database").count();
    let before = saves();
    wait_for("the broker to save its database", Duration::from_secs(10), || saves() >= before + 2);
    let cli = fleet.spawn_rollout(&dir, &v1, &["--waves", "100%", "--chunk", "512"]);
    wait_for("the devices to fetch chunks", Duration::from_secs(60), || broker.sent("/3', ... (512 bytes))") > 0);
    broker.kill();
    assert_eq!(fleet.count("installed sensor"), 0, "killed mid-download");
    std::thread::sleep(Duration::from_secs(2));
    broker.restart();

    let out = cli.wait_with_output().unwrap();
    assert!(out.status.success() && text(&out).contains("8 confirmed, 0 failed, 0 missed"), "{}", text(&out));
    assert_eq!(fleet.count("installed sensor 1.0.0"), 8, "each device installed it once");
    assert!(fleet.count("reconnecting") >= 8, "every device lost the broker: {:?}", fleet.lines());
    // They resumed: the chunks a device held were not sent to it again.
    assert_eq!(broker.sent("/0', ... (512 bytes))"), 8, "chunk 0 went to each device once");
}
