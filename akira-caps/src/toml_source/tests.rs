use super::*;

const BLINKY: &str = r#"
[app]
name = "blinky"
version = "0.1.0"

[limits]
memory = "16 KiB"
stack = "4KiB"
cpu-budget = 200_000

[capabilities]
log = true
timer = true
gpio = { output = [2], edge = [0] }
i2c = [{ bus = 1, addresses = [0x48, 0x76] }]
storage = { quota = "4 KiB" }
display = { x = 0, y = 0, width = 120, height = 60 }
ble = ["advertise"]
rf = { bands = [[863000000, 870000000]], max-power-dbm = 14 }
net = ["api.example.com:443"]
ipc = { publish = ["temp"] }
app = ["weather", "ui-2"]
"acme:valve" = [0, 1]
"#;

#[test]
fn reads_every_kind_of_scope() {
    let m = manifest_from_toml(BLINKY).unwrap();
    assert_eq!(m.name, "blinky");
    assert_eq!(m.version, Version::new(0, 1, 0));
    assert_eq!(m.memory_limit, 16 * 1024);
    assert_eq!(m.stack_size, 4096);
    assert_eq!(m.cpu_budget, 200_000);
    let c = &m.capabilities;
    assert!(c.log && c.timer && !c.sys);
    let g = c.gpio.unwrap();
    assert!(g.output.contains(2) && g.input.contains(0) && g.edge.contains(0));
    assert!(c.i2c.unwrap().buses[1].contains(0x76));
    assert_eq!(c.storage.unwrap().quota, 4096);
    assert_eq!(c.display.unwrap().width, 120);
    let b = c.ble.unwrap();
    assert!(b.roles.contains(ble::ADVERTISE));
    assert_eq!((b.min_adv_interval_ms, b.adv_changes_per_s), (100, 1), "defaults for the list form");
    assert_eq!(c.rf.as_ref().unwrap().max_power_dbm, 14);
    assert_eq!(c.rf.as_ref().unwrap().duty_cycle_permille, 10, "1 % unless the manifest says otherwise");
    assert_eq!(c.net.as_ref().unwrap().endpoints[0].port, 443);
    assert_eq!(c.ipc.as_ref().unwrap().publish[0], "temp");
    assert_eq!(c.app.as_ref().unwrap().apps, ["weather", "ui-2"]);
    assert!(c.vendor("acme:valve").unwrap().ids.contains(1));
    // And the binary form carries all of it.
    assert_eq!(Manifest::decode(&m.encode()).unwrap(), m);
}

fn err(caps: &str) -> String {
    let text = format!("[app]\nname = \"a\"\nversion = \"1.0.0\"\n[capabilities]\n{caps}\n");
    manifest_from_toml(&text).unwrap_err().to_string()
}

#[test]
fn app_scopes_name_apps_and_policies_may_say_any() {
    assert!(
        err("app = [\"Weather\"]").contains("`capabilities.app[0]`: expected an app name"),
        "{}",
        err("app = [\"Weather\"]")
    );
    assert!(err("app = \"weather\"").contains("`capabilities.app`: expected an array"));
    let nine = (0..9).map(|i| format!("\"a{i}\"")).collect::<Vec<_>>().join(", ");
    assert!(err(&format!("app = [{nine}]")).contains("at most 8 apps"));
    let want = manifest_from_toml("[app]\nname = \"s\"\nversion = \"1.0.0\"\n[capabilities]\napp = [\"worker\"]\n")
        .unwrap()
        .capabilities;
    let only_ui = policy_from_toml("[allow]\napp = [\"ui\"]\n").unwrap().allow;
    let err = want.check_within(&only_ui).unwrap_err();
    assert_eq!(err.to_string(), "capability `app`: app \"worker\" is not allowed by the device policy");
    want.check_within(&policy_from_toml("[allow]\napp = [\"*\"]\n").unwrap().allow).unwrap();
    want.check_within(&CapabilitySet::everything()).unwrap();
    let mut star = want.clone();
    star.app.as_mut().unwrap().apps[0] = AppName::try_from("*").unwrap();
    assert!(star.check_within(&only_ui).is_err(), "`*` in a request is only within `*`");
}

#[test]
fn errors_name_the_culprit() {
    assert!(err("lidar = true").starts_with("unknown capability `lidar`"));
    assert_eq!(err("gpio = { output = [64] }"), "`capabilities.gpio.output[0]`: expected an integer from 0 to 63");
    assert_eq!(err("gpio = { outptu = [1] }"), "unknown key `capabilities.gpio.outptu`");
    assert_eq!(
        err("i2c = [{ addresses = [0x00] }]"),
        "`capabilities.i2c[0].addresses[0]`: expected a 7-bit device address from 0x08 to 0x77"
    );
    assert_eq!(err("ble = [\"sniff\"]"), "`capabilities.ble[0]`: expected one of advertise, scan, peripheral, central");
    assert_eq!(
        err("ble = { roles = [\"scan\"], min-adv-interval-ms = 10 }"),
        "`capabilities.ble.min-adv-interval-ms`: expected an integer from 20 to 10240"
    );
    assert_eq!(err("ble = { min-adv-interval-ms = 100 }"), "`capabilities.ble.roles` is missing");
    assert_eq!(err("ble = { roles = [], rate = 1 }"), "unknown key `capabilities.ble.rate`");
    assert_eq!(err("log = 3"), "`capabilities.log`: expected true, false or {}");
    assert!(err("net = [\"nohost\"]").starts_with("`capabilities.net[0]`"));
    assert_eq!(err("storage = {}"), "`capabilities.storage.quota` is missing");
    assert!(err("rf = { bands = [[2, 1]], max-power-dbm = 0 }").contains("from_hz <= to_hz"));
    assert_eq!(
        err("rf = { bands = [], max-power-dbm = 0, duty-cycle-permille = 1001 }"),
        "`capabilities.rf.duty-cycle-permille`: expected an integer from 0 to 1000"
    );
}

#[test]
fn ble_table_form_sets_floor_and_change_rate() {
    let text = "[app]\nname = \"a\"\nversion = \"1.0.0\"\n[capabilities]\n\
                ble = { roles = [\"advertise\", \"scan\"], min-adv-interval-ms = 250, adv-changes-per-second = 4 }\n";
    let m = manifest_from_toml(text).unwrap();
    let b = m.capabilities.ble.unwrap();
    assert!(b.roles.contains(ble::ADVERTISE) && b.roles.contains(ble::SCAN) && !b.roles.contains(ble::PERIPHERAL));
    assert_eq!((b.min_adv_interval_ms, b.adv_changes_per_s), (250, 4));
    let decoded = Manifest::decode(&m.encode()).unwrap();
    assert_eq!(decoded.capabilities.ble, Some(b), "the binary form keeps the scope");
}

#[test]
fn app_section_errors() {
    assert_eq!(manifest_from_toml("").unwrap_err(), SourceError::Missing("app".into()));
    let e = manifest_from_toml("[app]\nname = \"Bad Name\"\nversion = \"1.0.0\"").unwrap_err();
    assert!(e.to_string().starts_with("`app.name`"));
    let e = manifest_from_toml("[app]\nname = \"a\"\nversion = \"1\"").unwrap_err();
    assert!(e.to_string().starts_with("`app.version`"));
    let e = manifest_from_toml("[app]\nname = \"a\"\nversion = \"1.0.0\"\n[limit]").unwrap_err();
    assert_eq!(e, SourceError::UnknownKey("limit".into()));
    assert!(matches!(manifest_from_toml("[app"), Err(SourceError::Syntax(_))));
}

#[test]
fn sizes() {
    let v = |s: &str| size(&Value::String(s.into()), "x");
    assert_eq!(v("512"), Ok(512));
    assert_eq!(v("16 KiB"), Ok(16384));
    assert_eq!(v("1MiB"), Ok(1 << 20));
    assert_eq!(v("4 kB"), Ok(4000));
    assert_eq!(v("1 GiB"), Ok(1 << 30));
    assert!(v("4 GiB").is_err(), "more than u32::MAX");
    assert!(v("16 parsecs").is_err());
    assert!(v("-1").is_err());
    assert!(v("99999999 MiB").is_err());
    assert_eq!(size(&Value::Integer(7), "x"), Ok(7));
    assert!(size(&Value::Integer(-7), "x").is_err());
}

#[test]
fn policy_file() {
    let p = policy_from_toml(
        "[limits]\nmemory = \"64 KiB\"\ncpu-budget = 1000\n[allow]\nlog = true\ngpio = { output = [2] }\n",
    )
    .unwrap();
    assert_eq!(p.max_memory, 65536);
    assert!(p.allow.log);
    assert!(p.allow.gpio.unwrap().output.contains(2));
    assert!(policy_from_toml("[allow]\nfoo = 1").is_err());
    assert_eq!(p.max_ipc_topics, crate::Policy::DEFAULT_IPC_TOPICS, "the default share");
    assert_eq!(policy_from_toml("[limits]\nipc-topics = 2\n").unwrap().max_ipc_topics, 2);
    let e = policy_from_toml("[limits]\nipc-topics = 17\n").unwrap_err().to_string();
    assert_eq!(e, "`limits.ipc-topics`: expected an integer from 0 to 16");
}

fn wasi_manifest(caps: &str) -> Result<Manifest> {
    manifest_from_toml(&format!("[app]\nname = \"w\"\nversion = \"0.1.0\"\n[capabilities]\n{caps}\n"))
}

#[test]
fn wasi_parts_stdin_args_and_environment() {
    let m = wasi_manifest(
        r#"rng = true
storage = { quota = "2 KiB" }
uart = [1]
wasi = { parts = ["console", "stdin", "clock", "random", "files"], stdin = 1, args = ["-v", "data.txt"], env = { MODE = "demo" } }"#,
    )
    .unwrap();
    let w = m.capabilities.wasi.as_deref().unwrap();
    assert_eq!(w.parts.iter().count(), wasi::NAMES.len());
    assert_eq!(w.stdin_port, Some(1));
    assert_eq!(&w.args[..], b"-v\0data.txt\0");
    assert_eq!(&w.env[..], b"MODE=demo\0");
    // The binary manifest carries all of it.
    assert_eq!(Manifest::decode(&m.encode()).unwrap(), m);
    // The short form lists parts only.
    let m = wasi_manifest(r#"wasi = ["console", "clock"]"#).unwrap();
    let w = m.capabilities.wasi.as_deref().unwrap();
    assert!(w.parts.contains(wasi::CONSOLE) && w.parts.contains(wasi::CLOCK) && !w.parts.contains(wasi::FILES));
    assert!(w.args.is_empty() && w.env.is_empty(), "empty by default");
}

#[test]
fn wasi_parts_need_their_capabilities() {
    let err = |caps: &str| wasi_manifest(caps).unwrap_err().to_string();
    assert!(err(r#"wasi = ["random"]"#).contains("part `random``: expected the `rng` capability too"));
    assert!(err(r#"wasi = ["files"]"#).contains("part `files``: expected the `storage` capability too"));
    assert!(err(r#"wasi = ["stdin"]"#).contains("`capabilities.wasi.stdin`: expected the UART port"));
    assert!(err(r#"wasi = { parts = ["stdin"], stdin = 2 }"#).contains("port 2 is not"));
    assert!(
        err(r#"uart = [2]
wasi = { parts = ["console"], stdin = 2 }"#)
        .contains("part `stdin` with a stdin port")
    );
    assert!(err(r#"wasi = ["sockets"]"#).contains("`capabilities.wasi[0]`: expected one of console, stdin"));
    assert!(err(r#"wasi = { parts = [], env = { "A=B" = "c" } }"#).contains("without `=`"));
    assert!(err(r#"wasi = { parts = [], argv = [] }"#).contains("unknown key `capabilities.wasi.argv`"));
    let long = format!(r#"wasi = {{ parts = [], args = ["{}"] }}"#, "x".repeat(300));
    assert!(err(&long).contains("at most 256 bytes"));
}

#[test]
fn wasi_parts_are_checked_against_the_policy() {
    let policy = policy_from_toml("[allow]\nwasi = [\"console\", \"clock\"]\nlog = true\n").unwrap();
    let asks = |caps: &str| {
        let m = wasi_manifest(caps).unwrap();
        m.capabilities.check_within(&policy.allow).map_err(|e| e.to_string())
    };
    assert_eq!(asks(r#"wasi = { parts = ["clock"], args = ["x"] }"#), Ok(()), "arguments are not a right");
    assert_eq!(
        asks(
            r#"storage = { quota = 16 }
wasi = ["console", "files"]"#
        ),
        Err("capability `storage` is not allowed by the device policy".into())
    );
    assert_eq!(
        asks(
            r#"rng = true
wasi = ["console", "random"]"#
        ),
        Err("capability `rng` is not allowed by the device policy".into())
    );
}

#[test]
fn an_app_in_a_package_has_the_package_version() {
    let package = Version::new(0, 2, 0);
    let without = "[app]\nname = \"a\"\n";
    assert_eq!(manifest_from_toml_in_package(without, package).unwrap().version, package);
    assert_eq!(manifest_from_toml(without), Err(SourceError::Missing("app.version".into())));
    let same = "[app]\nname = \"a\"\nversion = \"0.2.0\"\n";
    assert_eq!(manifest_from_toml_in_package(same, package).unwrap().version, package);
    let other = "[app]\nname = \"a\"\nversion = \"0.1.0\"\n";
    let e = manifest_from_toml_in_package(other, package).unwrap_err();
    assert_eq!(e, SourceError::VersionMismatch { manifest: Version::new(0, 1, 0), package });
    assert!(e.to_string().starts_with("`app.version` is 0.1.0 but the package's version is 0.2.0"), "{e}");
}
