//! Every host function of every module the simulated board offers pays
//! its declared cost (`akira-abi`'s `Cost`): the fixed part on every call,
//! refused ones included, and the work part for the work it does.
//!
//! Each function is called from a small app, and the app's fuel compared
//! with the same app calling a wasm function of the same signature
//! instead: the difference is what the host call charged.

use std::fmt::Write as _;
use std::net::TcpListener;
use std::time::Duration;

use akira_caps::manifest::AppName;
use akira_caps::scope::{Endpoint, HostName, I2cScope, NetScope, StorageScope};
use akira_caps::sets::AddrSet;
use akira_caps::{CapabilitySet, FnSpec, Manifest, Policy, Ret, ValType, Version};
use akira_sandbox::{RestartPolicy, Runtime};
use akira_sim::{SimBoard, Simulation};

/// What a call to a wasm function costs beyond a host call's charge: the
/// wasm callee's own instructions (the control app's extra).
const CALLEE_FUEL: u64 = 2;

/// A call: the arguments, as wasm constants.
type Args = &'static [i64];

/// A call that does work: calls to make first (same module), the measured
/// call's arguments, and the units of work it does.
struct Work {
    import: &'static str,
    name: &'static str,
    prelude: &'static [(&'static str, Args)],
    args: Args,
    units: u64,
}

/// Where the apps keep their data: a key, a value, text, bytes.
const DATA: u32 = 1024;
/// Where output buffers start.
const OUT: i64 = 8192;

const fn w(
    import: &'static str,
    name: &'static str,
    prelude: &'static [(&'static str, Args)],
    args: Args,
    units: u64,
) -> Work {
    Work { import, name, prelude, args, units }
}

/// WASI iovecs: 64 bytes at `DATA` (to write), 64 bytes at `OUT` (to
/// read into).
const IOV_IN: i64 = DATA as i64 + 304;
const IOV_OUT: i64 = DATA as i64 + 312;
/// Where WASI calls write their counts.
const COUNT: i64 = OUT + 512;

const WASI: &str = "wasi_snapshot_preview1";
/// Creates file `a` (fd 4) in WASI's preopened directory (fd 3).
const CREATE: (&str, Args) = ("path_open", &[3, 0, DATA as i64, 1, 1, 2 | 64, 0, 0, COUNT]);

/// RFC 8032's first test key (a valid curve point).
const ED25519_KEY: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

const LORA: (&str, Args) = ("configure", &[868_100_000, 9, 125_000, 5, 14]);
const CONNECT: (&str, Args) = ("connect", &[0, 0, 0, -1]);
/// A GATT server of one readable, notifiable characteristic (UUID 0x6261,
/// the bytes at `DATA`), started.
const GATT: &[(&str, Args)] = &[
    ("gatt_service", &[DATA as i64, 2]),
    ("gatt_characteristic", &[0, DATA as i64, 2, 0x12, 8]),
    ("gatt_start", &[DATA as i64, 0, 500]),
];

/// One call doing work for each function whose cost has a work part.
/// `DATA` holds 256 bytes of printable text, then the Ed25519 key at
/// `DATA + 256`.
const WORK: &[Work] = &[
    w("akira:log", "write", &[], &[2, DATA as i64, 64], 64),
    w("akira:sys", "app_name", &[], &[OUT, 32], 5),
    w("akira:i2c", "write", &[], &[0, 0x50, DATA as i64, 8], 8),
    w("akira:i2c", "read", &[], &[0, 0x48, OUT, 2], 2),
    w("akira:i2c", "write_read", &[], &[0, 0x50, DATA as i64, 1, OUT, 2], 3),
    w("akira:i2c", "read_reg", &[], &[0, 0x48, 0, OUT, 2], 3),
    w("akira:i2c", "write_reg", &[], &[0, 0x50, 0, DATA as i64, 4], 5),
    w("akira:spi", "write", &[], &[1, DATA as i64, 16], 16),
    w("akira:spi", "read", &[], &[1, OUT, 16], 16),
    w("akira:spi", "transfer", &[], &[1, DATA as i64, 16, OUT, 16], 32),
    w("akira:spi", "transfer_in_place", &[], &[1, OUT, 16], 16),
    w("akira:spi", "write_then_read", &[], &[1, DATA as i64, 4, OUT, 4], 8),
    w("akira:uart", "write", &[], &[0, DATA as i64, 16, -1], 16),
    w("akira:uart", "read", &[], &[0, OUT, 16, -1], 16),
    w("akira:sensor", "read", &[], &[0, OUT, 16], 4),
    w("akira:rng", "fill", &[], &[OUT, 64], 64),
    w("akira:crypto", "sha256", &[], &[DATA as i64, 64, OUT], 64),
    w("akira:crypto", "hmac_sha256", &[], &[DATA as i64, 16, DATA as i64, 48, OUT], 64),
    w("akira:crypto", "ed25519_verify", &[], &[DATA as i64 + 256, DATA as i64, 64, DATA as i64], 64),
    w("akira:storage", "set", &[], &[DATA as i64, 1, DATA as i64, 200], 16 + 5 + 1 + 200),
    w("akira:storage", "get", &[("set", &[DATA as i64, 1, DATA as i64, 200])], &[DATA as i64, 1, OUT, 256], 200),
    w("akira:storage", "remove", &[("set", &[DATA as i64, 1, DATA as i64, 200])], &[DATA as i64, 1], 16 + 5 + 1),
    w("akira:display", "fill", &[], &[0x1234], 240 * 135),
    w("akira:display", "pixel", &[], &[1, 1, 0x1234], 1),
    w("akira:display", "line", &[], &[0, 0, 9, 0, 0x1234], 10),
    w("akira:display", "rect", &[], &[0, 0, 10, 10, 0x1234, 1], 100),
    w("akira:display", "text", &[], &[0, 0, DATA as i64, 2, 0x1234], 2 * 6 * 10),
    w("akira:display", "blit", &[], &[0, 0, 2, 2, DATA as i64, 8], 4),
    w("akira:hid", "type_text", &[], &[DATA as i64, 4], 4),
    w("akira:hid", "raw", &[], &[DATA as i64, 8], 8),
    w("akira:rf", "send", &[LORA], &[DATA as i64, 8], 8),
    w("akira:rf", "receive", &[LORA], &[OUT, 16, -1], 16),
    w("akira:ble", "advertise", &[], &[DATA as i64, 8, 0, 0, 500], 8),
    w("akira:ble", "next_report", &[("scan", &[0, 100, 100])], &[OUT, 64, -1], 64),
    w("akira:ble", "gatt_set_value", GATT, &[0, DATA as i64, 8], 8),
    w("akira:ble", "gatt_notify", GATT, &[0, DATA as i64, 8], 8),
    w("akira:ble", "gatt_next_event", GATT, &[OUT, 64, -1], 64),
    w("akira:ipc", "publish", &[("subscribe", &[0])], &[0, DATA as i64, 8], 8),
    w("akira:ipc", "receive", &[("subscribe", &[0]), ("publish", &[0, DATA as i64, 8])], &[OUT, 64, 0], 64),
    w("akira:net", "send", &[CONNECT], &[0, DATA as i64, 8, -1], 8),
    w("akira:net", "receive", &[CONNECT], &[0, OUT, 16, -1], 16),
    // A file write pays for flash: 256 units a byte (see `fd_write`).
    w(WASI, "fd_write", &[CREATE], &[4, IOV_IN, 1, COUNT], 64 * 256),
    w(
        WASI,
        "fd_read",
        &[CREATE, ("fd_write", &[4, IOV_IN, 1, COUNT]), ("fd_seek", &[4, 0, 0, COUNT])],
        &[4, IOV_OUT, 1, COUNT],
        64,
    ),
    // One entry: 24 bytes and the name.
    w(WASI, "fd_readdir", &[CREATE], &[3, OUT, 256, 0, COUNT], 25),
    w(WASI, "random_get", &[], &[OUT, 64], 64),
    // `probe` and `x`, and two pointers.
    w(WASI, "args_get", &[], &[OUT, OUT + 64], 6 + 2 + 8),
    // `K=v` and its pointer.
    w(WASI, "environ_get", &[], &[OUT, OUT + 64], 4 + 4),
];

/// The manifest of every probe: every capability, a storage quota and a
/// network endpoint the test listens on.
fn manifest(port: u16) -> Manifest {
    let mut m = Manifest::new(AppName::try_from("probe").unwrap(), Version::new(0, 1, 0));
    let mut caps = CapabilitySet::everything();
    caps.storage = Some(StorageScope::with_quota(4096));
    // Every device address (a policy's FULL set has reserved ones).
    let devices: AddrSet = (0x08..=0x77).collect();
    caps.i2c = Some(I2cScope { buses: [devices; 4] });
    let mut net = NetScope::default();
    net.endpoints.push(Endpoint { host: HostName::try_from("127.0.0.1").unwrap(), port }).unwrap();
    caps.net = Some(Box::new(net));
    if let Some(wasi) = caps.wasi.as_mut() {
        wasi.args.extend_from_slice(b"x\0").unwrap();
        wasi.env.extend_from_slice(b"K=v\0").unwrap();
    }
    m.capabilities = caps;
    m
}

fn wasm_type(t: ValType) -> &'static str {
    t.name()
}

fn signature(f: &FnSpec) -> String {
    let mut sig = String::new();
    for p in f.wasm_params() {
        write!(sig, " (param {})", wasm_type(p)).unwrap();
    }
    for r in f.result.wasm() {
        write!(sig, " (result {})", wasm_type(*r)).unwrap();
    }
    sig
}

fn call(out: &mut String, callee: &str, f: &FnSpec, args: Args) {
    for (i, t) in f.wasm_params().enumerate() {
        let v = args.get(i).copied().unwrap_or(0);
        write!(out, " ({}.const {v})", wasm_type(t)).unwrap();
    }
    write!(out, " call {callee}").unwrap();
    if f.result != Ret::Never && !f.result.wasm().is_empty() {
        out.push_str(" drop");
    }
}

/// An app that makes the `prelude` calls, then calls `f` with `args`
/// (`host`: the bridge's function; otherwise a wasm function of the same
/// signature that does nothing).
fn app(import: &str, f: &FnSpec, prelude: &[(&FnSpec, Args)], args: Args, host: bool, port: u16) -> Vec<u8> {
    let mut text = String::from("(module");
    for (i, (p, _)) in prelude.iter().enumerate() {
        write!(text, " (import \"{import}\" \"{}\" (func $p{i}{}))", p.name, signature(p)).unwrap();
    }
    write!(text, " (import \"{import}\" \"{}\" (func $host{}))", f.name, signature(f)).unwrap();
    let zeros: String = f.result.wasm().iter().map(|t| format!(" ({}.const 0)", wasm_type(*t))).collect();
    write!(text, " (func $wasm{}{zeros})", signature(f)).unwrap();
    text.push_str(" (memory (export \"memory\") 1)");
    let printable: String = (0..256).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    write!(text, " (data (i32.const {DATA}) \"{printable}\")").unwrap();
    let key: String = hex::decode(ED25519_KEY).unwrap().iter().map(|b| format!("\\{b:02x}")).collect();
    write!(text, " (data (i32.const {}) \"{key}\")", DATA + 256).unwrap();
    let iovecs: String =
        [DATA, 64, OUT as u32, 64].iter().flat_map(|v| v.to_le_bytes()).map(|b| format!("\\{b:02x}")).collect();
    write!(text, " (data (i32.const {IOV_IN}) \"{iovecs}\")").unwrap();
    text.push_str(" (func (export \"akira_main\")");
    for (i, (p, a)) in prelude.iter().enumerate() {
        call(&mut text, &format!("$p{i}"), p, a);
    }
    call(&mut text, if host { "$host" } else { "$wasm" }, f, args);
    text.push_str("))");
    let mut wasm = wat::parse_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    wasm.extend(manifest(port).custom_section());
    wasm
}

/// The fuel an app uses in 50 ms of virtual time on a fresh board.
fn fuel(wasm: &[u8]) -> u64 {
    let (bridge, apps) = akira_sim::bridge_with_apps();
    let runtime = Runtime::new(akira_sim::config(), bridge, Policy::development());
    let app = runtime.load(wasm).unwrap_or_else(|e| panic!("{e}"));
    let mut sim = Simulation::new(runtime, SimBoard::virtual_time());
    sim.serve_apps(apps);
    let id = sim.spawn(app, RestartPolicy::never()).unwrap();
    sim.run(Some(Duration::from_millis(50)));
    sim.scheduler().usage(id).expect("the probe's instance").fuel
}

/// What calling `f` (after `prelude`) charged beyond a wasm call.
fn charged(import: &str, f: &FnSpec, prelude: &[(&FnSpec, Args)], args: Args, port: u16) -> u64 {
    let host = fuel(&app(import, f, prelude, args, true, port));
    let wasm = fuel(&app(import, f, prelude, args, false, port));
    (host + CALLEE_FUEL).saturating_sub(wasm)
}

#[test]
fn every_host_function_pays_its_declared_cost() {
    // A peer for `akira:net`'s probes; connections are accepted by the
    // system and never read.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let bridge = akira_sim::bridge();
    let mut checked = 0;
    let mut short = Vec::new();
    for spec in bridge.specs() {
        for f in spec.functions {
            // Zero arguments: most calls are refused or do nothing, and pay
            // the fixed part.
            let paid = charged(spec.import, f, &[], &[], port);
            if paid < u64::from(f.cost.call()) {
                short.push(format!("{}.{}: paid {paid}, declares {}", spec.import, f.name, f.cost));
            }
            checked += 1;
        }
    }
    assert!(checked >= 95, "only {checked} functions");
    assert!(short.is_empty(), "functions that do not pay their fixed cost:\n{}", short.join("\n"));
}

#[test]
fn every_host_function_with_work_pays_for_it() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let bridge = akira_sim::bridge();
    let mut short = Vec::new();
    let mut missing = Vec::new();
    for spec in bridge.specs() {
        for f in spec.functions.iter().filter(|f| f.cost.work(1) > 0) {
            let Some(work) = WORK.iter().find(|w| w.import == spec.import && w.name == f.name) else {
                missing.push(format!("{}.{}", spec.import, f.name));
                continue;
            };
            let prelude: Vec<(&FnSpec, Args)> =
                work.prelude.iter().map(|(name, args)| (spec.function(name).unwrap(), *args)).collect();
            let paid = charged(spec.import, f, &prelude, work.args, port);
            let owed = f.cost.total(work.units);
            if paid < owed {
                short.push(format!(
                    "{}.{}: paid {paid} for {} units, owes {owed} ({})",
                    spec.import, f.name, work.units, f.cost
                ));
            }
        }
    }
    drop(listener);
    assert!(missing.is_empty(), "functions whose cost has a work part but no call doing work here: {missing:?}");
    assert!(short.is_empty(), "functions that do not pay for their work:\n{}", short.join("\n"));
}
