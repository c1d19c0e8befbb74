//! Fleet rollouts against a real Mosquitto broker: `akira sim-device
//! --mqtt --count N` (N devices, each running the akira-fleet agent with
//! its own connection) and `akira fleet rollout`.
//!
//! They need a broker: `.ci/run` starts Mosquitto on a free loopback port
//! and runs them with `AKIRA_TEST_MQTT=127.0.0.1:<port> cargo test -p
//! akira-cli --test fleet --test fleet_recovery -- --ignored`. Each test
//! has its own group and device ids, so they share one broker.

#[path = "common/fleet.rs"]
mod fleet;

use std::time::Instant;

use fleet::*;

#[test]
#[ignore = "needs a Mosquitto broker: AKIRA_TEST_MQTT=HOST:PORT (.ci/run starts one)"]
fn two_hundred_devices_take_a_good_version_in_four_gated_waves() {
    let dir = setup("waves");
    let v1 = pack(&dir, HEALTHY, "1.0.0");
    let fleet = Fleet::start(&dir, "waves", 200);
    let started = Instant::now();
    let out = ok(&fleet.rollout(&dir, &v1, &["--waves", "1,10%,50%,100%"]));
    println!("rollout of 200 devices took {:.1} s", started.elapsed().as_secs_f64());
    for wave in ["wave 1/4: 1 device(s): 1 confirmed", "wave 2/4: 19 device(s): 19 confirmed"] {
        assert!(out.contains(wave), "{out}");
    }
    assert!(
        out.contains("wave 3/4: 80 device(s): 80 confirmed") && out.contains("wave 4/4: 100 device(s): 100 confirmed")
    );
    assert!(out.contains("200 confirmed, 0 failed, 0 missed"), "{out}");

    // Gating: no device of a wave installed before every device of the
    // wave before it confirmed (the devices print in one thread, in order).
    let lines = fleet.lines();
    let order = rollout_order("waves", 200);
    let at = |id: &String, what: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(id.as_str()) && l.contains(what))
            .unwrap_or_else(|| panic!("{id}: no {what}"))
    };
    let mut from = 0;
    let mut last_confirmed = None;
    for size in [1, 19, 80, 100] {
        let wave = &order[from..from + size];
        let first_installed = wave.iter().map(|id| at(id, "installed sensor 1.0.0")).min().unwrap();
        if let Some(confirmed) = last_confirmed {
            assert!(
                first_installed > confirmed,
                "a device of the wave at {from} installed before the previous wave confirmed"
            );
        }
        last_confirmed = Some(wave.iter().map(|id| at(id, "sensor confirmed")).max().unwrap());
        from += size;
    }
    assert_eq!(fleet.count("installed sensor 1.0.0"), 200, "each device installed it once");

    let devices = ok(&akira(&dir, &["fleet", "devices", "--mqtt", &broker(), "--group", "waves"]));
    assert_eq!(devices.lines().filter(|l| l.contains("sensor 1.0.0") && l.contains("confirmed")).count(), 200);
    let status = ok(&akira(&dir, &["fleet", "status", "--mqtt", &broker(), "--group", "waves"]));
    assert!(status.contains(": done") && status.contains("200  confirmed"), "{status}");
}

#[test]
#[ignore = "needs a Mosquitto broker: AKIRA_TEST_MQTT=HOST:PORT (.ci/run starts one)"]
fn a_crash_looping_version_rolls_back_on_the_canary_and_halts_the_rollout() {
    let dir = setup("canary");
    let v1 = pack(&dir, HEALTHY, "1.0.0");
    let bad = pack(&dir, CRASHING, "1.1.0");
    let fleet = Fleet::start(&dir, "canary", 30);
    ok(&fleet.rollout(&dir, &v1, &["--waves", "100%"]));

    let halted = fleet.rollout(&dir, &bad, &["--waves", "1,10%,50%,100%", "--max-failures", "2%"]);
    assert_eq!(halted.status.code(), Some(1), "{}", text(&halted));
    let out = text(&halted);
    assert!(out.contains("wave 1/4: 1 device(s): 0 confirmed, 1 failed"), "{out}");
    assert!(
        out.contains("rolled back") && out.contains("halted at wave 1") && out.contains("29 device(s) never got it")
    );
    // Only the canary ever installed the bad version, and it went back.
    let canary = &rollout_order("canary", 30)[0];
    assert_eq!(fleet.count("installed sensor 1.1.0"), 1);
    assert_eq!(fleet.count(&format!("{canary}: installed sensor 1.1.0")), 1);
    assert_eq!(fleet.count(&format!("{canary}: sensor rolled back to 1.0.0")), 1);

    let devices = ok(&akira(&dir, &["fleet", "devices", "--mqtt", &broker(), "--group", "canary"]));
    assert_eq!(devices.lines().filter(|l| l.contains("sensor 1.0.0")).count(), 30, "{devices}");
    let status = ok(&akira(&dir, &["fleet", "status", "--mqtt", &broker(), "--group", "canary"]));
    assert!(status.contains(": halted (wave 1 of 4)") && status.contains("29  not assigned"), "{status}");
}

#[test]
#[ignore = "needs a Mosquitto broker: AKIRA_TEST_MQTT=HOST:PORT (.ci/run starts one)"]
fn a_tampered_package_is_refused_by_every_device_and_changes_nothing() {
    let dir = setup("tamper");
    let v1 = pack(&dir, HEALTHY, "1.0.0");
    let v2 = pack(&dir, HEALTHY, "1.1.0");
    // The broker is untrusted: what the devices fetch is not what was
    // signed (one bit of the wasm flipped).
    let mut bytes = std::fs::read(dir.join(&v2)).unwrap();
    let last = bytes.len() - 10;
    bytes[last] ^= 1;
    std::fs::write(dir.join("tampered.akpkg"), bytes).unwrap();
    let fleet = Fleet::start(&dir, "tamper", 20);
    ok(&fleet.rollout(&dir, &v1, &["--waves", "100%"]));

    // No gate: every device gets it, and no device installs it.
    let out = ok(&fleet.rollout(&dir, "tampered.akpkg", &["--waves", "100%", "--max-failures", "100%"]));
    assert_eq!(fleet.count("installed sensor 1.1.0"), 0);
    let (confirmed, failed, missed) = wave_counts(&out);
    assert_eq!(confirmed, 0, "{out}");
    // Every device reports, and every one refused it for the right reason.
    assert_eq!((failed, missed), (20, 0), "{out}");
    let devices = ok(&akira(&dir, &["fleet", "devices", "--mqtt", &broker(), "--group", "tamper"]));
    let refused = devices
        .lines()
        .filter(|l| l.contains("sensor 1.0.0") && l.contains("refused: chunk does not match its signed hash"));
    assert_eq!(refused.count(), failed, "{devices}");
}

/// The broker's certificate, the devices' and the operator's, signed by a
/// test CA, written under `dir/tls`.
fn certificates(dir: &std::path::Path) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let tls = dir.join("tls");
    std::fs::create_dir_all(&tls).unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "akira test CA");
    let ca = ca.self_signed(&ca_key).unwrap();
    std::fs::write(tls.join("ca.pem"), ca.pem()).unwrap();
    for (name, names) in [("broker", vec!["127.0.0.1".to_string()]), ("devices", vec![]), ("operator", vec![])] {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(names).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
        std::fs::write(tls.join(format!("{name}.pem")), cert.pem()).unwrap();
        std::fs::write(tls.join(format!("{name}.key")), key.serialize_pem()).unwrap();
    }
}

#[test]
#[ignore = "needs Mosquitto (this test starts its own, with TLS; .ci/run passes its path)"]
fn over_tls_with_client_certificates_a_rollout_reaches_every_device_and_a_client_without_one_is_turned_away() {
    let dir = setup("tls");
    certificates(&dir);
    let tls = dir.join("tls");
    let listener = format!(
        "cafile {0}/ca.pem\ncertfile {0}/broker.pem\nkeyfile {0}/broker.key\nrequire_certificate true\n\
         use_identity_as_username true\n",
        tls.display()
    );
    let broker = Mosquitto::start_with(&dir, &listener);
    let v1 = pack(&dir, HEALTHY, "1.0.0");

    let device_tls = ["--mqtt-ca", "tls/ca.pem", "--mqtt-cert", "tls/devices.pem", "--mqtt-key", "tls/devices.key"];
    let trust = [&["--trust-key", "release.pub"][..], &device_tls[..]].concat();
    let mut fleet = Fleet::spawn(&dir, "tls", "tls", 3, &trust, &broker.address());
    fleet.cli = ["--mqtt-ca", "tls/ca.pem", "--mqtt-cert", "tls/operator.pem", "--mqtt-key", "tls/operator.key"]
        .map(String::from)
        .to_vec();
    fleet.wait_online(&dir, 3);
    // Devices that trust the CA but present no certificate, and a CLI
    // without TLS: the broker turns both away.
    let strangers = Fleet::spawn(
        &dir,
        "tls",
        "strangers",
        2,
        &["--trust-key", "release.pub", "--mqtt-ca", "tls/ca.pem"],
        &broker.address(),
    );
    let plain = akira(&dir, &["fleet", "devices", "--mqtt", &broker.address()]);
    assert_ne!(plain.status.code(), Some(0), "a CLI without TLS: {}", text(&plain));

    let out = ok(&fleet.rollout(&dir, &v1, &["--waves", "1,100%"]));
    assert!(out.contains("3 confirmed, 0 failed, 0 missed"), "{out}");
    assert_eq!(fleet.count("installed sensor 1.0.0"), 3, "each device installed it once");
    let devices = ok(&fleet.fleet(&dir, "devices", &[]));
    assert_eq!(devices.lines().filter(|l| l.split_whitespace().nth(2) == Some("yes")).count(), 3, "{devices}");
    assert!(strangers.count("reconnecting") + strangers.count("cannot reach") > 0, "{:?}", strangers.lines());
    assert_eq!(strangers.count("installed"), 0);
}
