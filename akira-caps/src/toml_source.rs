//! Reading `Akira.toml`, the human source of a manifest, and policy files.
//!
//! Host tools only (feature `toml`). Every error names the key it is about,
//! as a dotted path such as `capabilities.gpio.output[1]`; an unknown key or
//! capability is an error, never ignored.

extern crate std;

use std::boxed::Box;
use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

use toml::{Table, Value};

use crate::capability::{Capability, is_vendor_name};
use crate::manifest::{ABI_VERSION, AppName, Manifest, Version, is_app_name, short_name};
use crate::policy::Policy;
use crate::scope::{
    AppScope, Band, BleScope, CapabilitySet, DisplayScope, Endpoint, GpioScope, HostName, I2cScope, IpcScope,
    MAX_I2C_BUSES, MAX_WASI_STRINGS, NetScope, RfScope, StorageScope, Topic, VendorScope, WasiScope, ble, hid, wasi,
};
use crate::sets::{AddrSet, IdSet, PinSet};

/// Why an `Akira.toml` or policy file was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceError {
    /// Not valid TOML.
    Syntax(String),
    /// A required key is missing.
    Missing(String),
    /// A key this format does not have.
    UnknownKey(String),
    /// A capability name that is neither built in nor a vendor name.
    UnknownCapability(String),
    /// A value of the wrong type or out of range.
    Invalid {
        /// Dotted path of the value.
        path: String,
        /// What was expected.
        expected: String,
    },
    /// `app.version` differs from the version of the package the app is
    /// built from (see [`manifest_from_toml_in_package`]).
    VersionMismatch {
        /// `app.version`.
        manifest: Version,
        /// The package's version.
        package: Version,
    },
}

impl core::fmt::Display for SourceError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SourceError::Syntax(m) => write!(f, "not valid TOML: {m}"),
            SourceError::Missing(p) => write!(f, "`{p}` is missing"),
            SourceError::UnknownKey(p) => write!(f, "unknown key `{p}`"),
            SourceError::UnknownCapability(n) => write!(
                f,
                "unknown capability `{n}` (built-in: {}; custom modules use `namespace:module`)",
                Capability::ALL.map(Capability::name).join(", ")
            ),
            SourceError::Invalid { path, expected } => write!(f, "`{path}`: expected {expected}"),
            SourceError::VersionMismatch { manifest, package } => write!(
                f,
                "`app.version` is {manifest} but the package's version is {package}: \
                 leave `app.version` out to use the package's"
            ),
        }
    }
}

impl std::error::Error for SourceError {}

type Result<T> = core::result::Result<T, SourceError>;

fn invalid<T>(path: &str, expected: &str) -> Result<T> {
    Err(SourceError::Invalid { path: path.to_string(), expected: expected.to_string() })
}

/// Refuses keys of `table` that are not in `known`.
fn only_keys(table: &Table, path: &str, known: &[&str]) -> Result<()> {
    match table.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(SourceError::UnknownKey(join(path, k))),
        None => Ok(()),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

fn table<'a>(v: &'a Value, path: &str) -> Result<&'a Table> {
    v.as_table().map_or_else(|| invalid(path, "a table"), Ok)
}

fn string<'a>(v: &'a Value, path: &str) -> Result<&'a str> {
    v.as_str().map_or_else(|| invalid(path, "a string"), Ok)
}

fn array<'a>(v: &'a Value, path: &str) -> Result<&'a [Value]> {
    v.as_array().map_or_else(|| invalid(path, "an array"), |a| Ok(a.as_slice()))
}

fn int_in(v: &Value, path: &str, lo: i64, hi: i64) -> Result<i64> {
    match v.as_integer() {
        Some(n) if (lo..=hi).contains(&n) => Ok(n),
        _ => invalid(path, &format!("an integer from {lo} to {hi}")),
    }
}

/// A byte size: an integer, or a string as bytesize parses it, such as
/// `"16 KiB"`, `"4KiB"`, `"1 MiB"`, `"512"` (IEC units are powers of 1024,
/// SI units such as `"4 kB"` powers of 1000).
fn size(v: &Value, path: &str) -> Result<u32> {
    const EXPECTED: &str = "a byte size such as 4096, \"16 KiB\" or \"1 MiB\"";
    if let Some(n) = v.as_integer() {
        return u32::try_from(n).or_else(|_| invalid(path, EXPECTED));
    }
    let Some(text) = v.as_str() else { return invalid(path, EXPECTED) };
    match text.trim().parse::<bytesize::ByteSize>().map(|size| u32::try_from(size.as_u64())) {
        Ok(Ok(bytes)) => Ok(bytes),
        _ => invalid(path, EXPECTED),
    }
}

/// A `true`/`false` flag of a unit capability.
fn flag(v: &Value, path: &str) -> Result<bool> {
    match v {
        Value::Boolean(b) => Ok(*b),
        Value::Table(t) if t.is_empty() => Ok(true),
        _ => invalid(path, "true, false or {}"),
    }
}

/// A list of members of a bit set with `capacity` members.
fn members(v: &Value, path: &str, capacity: u32) -> Result<Vec<u32>> {
    array(v, path)?
        .iter()
        .enumerate()
        .map(|(i, m)| int_in(m, &format!("{path}[{i}]"), 0, i64::from(capacity) - 1).map(|n| n as u32))
        .collect()
}

fn pin_set(v: &Value, path: &str) -> Result<PinSet> {
    Ok(members(v, path, PinSet::CAPACITY)?.into_iter().collect())
}

fn id_set(v: &Value, path: &str) -> Result<IdSet> {
    Ok(members(v, path, IdSet::CAPACITY)?.into_iter().collect())
}

/// A list of names from `names`, as members numbered by position.
fn named_set(v: &Value, path: &str, names: &[&str]) -> Result<IdSet> {
    let mut set = IdSet::EMPTY;
    for (i, item) in array(v, path)?.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let name = string(item, &p)?;
        match names.iter().position(|n| *n == name) {
            Some(m) => {
                set.insert(m as u32);
            }
            None => return invalid(&p, &format!("one of {}", names.join(", "))),
        }
    }
    Ok(set)
}

fn gpio(v: &Value, path: &str) -> Result<GpioScope> {
    let t = table(v, path)?;
    only_keys(t, path, &["input", "output", "edge"])?;
    let get = |k: &str| t.get(k).map_or(Ok(PinSet::EMPTY), |v| pin_set(v, &join(path, k)));
    Ok(GpioScope::new(get("input")?, get("output")?, get("edge")?))
}

fn i2c(v: &Value, path: &str) -> Result<I2cScope> {
    let mut buses = [AddrSet::EMPTY; MAX_I2C_BUSES];
    for (i, dev) in array(v, path)?.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let t = table(dev, &p)?;
        only_keys(t, &p, &["bus", "addresses"])?;
        let bus = t.get("bus").map_or(Ok(0), |b| int_in(b, &join(&p, "bus"), 0, MAX_I2C_BUSES as i64 - 1))?;
        let key = join(&p, "addresses");
        let list = t.get("addresses").ok_or_else(|| SourceError::Missing(key.clone()))?;
        for (j, a) in array(list, &key)?.iter().enumerate() {
            let ap = format!("{key}[{j}]");
            let addr =
                int_in(a, &ap, 0x08, 0x77).or_else(|_| invalid(&ap, "a 7-bit device address from 0x08 to 0x77"))?;
            buses[bus as usize].insert(addr as u32);
        }
    }
    Ok(I2cScope { buses })
}

/// `storage = { quota = "4 KiB", writes-per-hour = "16 KiB" }`.
fn storage(v: &Value, path: &str) -> Result<StorageScope> {
    let t = table(v, path)?;
    only_keys(t, path, &["quota", "writes-per-hour"])?;
    let key = join(path, "quota");
    let quota = t.get("quota").ok_or_else(|| SourceError::Missing(key.clone()))?;
    let mut scope = StorageScope::with_quota(size(quota, &key)?);
    if let Some(w) = t.get("writes-per-hour") {
        scope.writes_per_hour = size(w, &join(path, "writes-per-hour"))?;
    }
    Ok(scope)
}

fn display(v: &Value, path: &str) -> Result<DisplayScope> {
    if v.as_str() == Some("whole") {
        return Ok(DisplayScope::WHOLE);
    }
    let t = table(v, path).or_else(|_| invalid(path, "\"whole\" or { x, y, width, height }"))?;
    only_keys(t, path, &["x", "y", "width", "height"])?;
    let get = |k: &str| {
        let key = join(path, k);
        let v = t.get(k).ok_or_else(|| SourceError::Missing(key.clone()))?;
        int_in(v, &key, 0, i64::from(u16::MAX)).map(|n| n as u16)
    };
    Ok(DisplayScope { x: get("x")?, y: get("y")?, width: get("width")?, height: get("height")? })
}

/// `ble = ["advertise", ...]` (roles, default floor and change rate) or
/// `ble = { roles = [...], min-adv-interval-ms = 100, adv-changes-per-second = 1 }`.
fn ble_scope(v: &Value, path: &str) -> Result<BleScope> {
    if v.is_array() {
        return Ok(BleScope::with_roles(named_set(v, path, &ble::NAMES)?));
    }
    let t = table(v, path)?;
    only_keys(t, path, &["roles", "min-adv-interval-ms", "adv-changes-per-second"])?;
    let key = join(path, "roles");
    let roles = t.get("roles").ok_or_else(|| SourceError::Missing(key.clone()))?;
    let mut scope = BleScope::with_roles(named_set(roles, &key, &ble::NAMES)?);
    if let Some(ms) = t.get("min-adv-interval-ms") {
        let (lo, hi) = (BleScope::MIN_ADV_INTERVAL_MS, BleScope::MAX_ADV_INTERVAL_MS);
        scope.min_adv_interval_ms = int_in(ms, &join(path, "min-adv-interval-ms"), lo.into(), hi.into())? as u16;
    }
    if let Some(n) = t.get("adv-changes-per-second") {
        scope.adv_changes_per_s = int_in(n, &join(path, "adv-changes-per-second"), 0, u16::MAX.into())? as u16;
    }
    Ok(scope)
}

fn rf(v: &Value, path: &str) -> Result<RfScope> {
    let t = table(v, path)?;
    only_keys(t, path, &["bands", "max-power-dbm", "duty-cycle-permille"])?;
    let mut scope = RfScope::default();
    let key = join(path, "bands");
    let bands = t.get("bands").ok_or_else(|| SourceError::Missing(key.clone()))?;
    for (i, b) in array(bands, &key)?.iter().enumerate() {
        let p = format!("{key}[{i}]");
        let pair = array(b, &p)?;
        let [lo, hi] = pair else { return invalid(&p, "[from_hz, to_hz]") };
        let lo = int_in(lo, &p, 0, i64::from(u32::MAX))? as u32;
        let hi = int_in(hi, &p, 0, i64::from(u32::MAX))? as u32;
        if lo > hi {
            return invalid(&p, "from_hz <= to_hz");
        }
        scope
            .bands
            .push(Band { from_hz: lo, to_hz: hi })
            .or_else(|_| invalid(&key, &format!("at most {} bands", crate::scope::MAX_RF_BANDS)))?;
    }
    let key = join(path, "max-power-dbm");
    let power = t.get("max-power-dbm").ok_or_else(|| SourceError::Missing(key.clone()))?;
    scope.max_power_dbm = int_in(power, &key, -40, 40)? as i8;
    if let Some(duty) = t.get("duty-cycle-permille") {
        let key = join(path, "duty-cycle-permille");
        scope.duty_cycle_permille = int_in(duty, &key, 0, i64::from(RfScope::NO_DUTY_CYCLE_LIMIT))? as u16;
    }
    Ok(scope)
}

/// `net = ["host:port", ...]` (the default socket share) or
/// `net = { endpoints = [...], sockets = 4 }`.
fn net(v: &Value, path: &str) -> Result<NetScope> {
    if let Some(t) = v.as_table() {
        only_keys(t, path, &["endpoints", "sockets"])?;
        let key = join(path, "endpoints");
        let endpoints = t.get("endpoints").ok_or_else(|| SourceError::Missing(key.clone()))?;
        let mut scope = net(endpoints, &key)?;
        if let Some(n) = t.get("sockets") {
            scope.sockets = int_in(n, &join(path, "sockets"), 1, u8::MAX.into())? as u8;
        }
        return Ok(scope);
    }
    let mut scope = NetScope::default();
    for (i, e) in array(v, path)?.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let text = string(e, &p)?;
        let expected = "\"host:port\" (host up to 64 bytes, port 0..65535; 0 = any in policies)";
        let Some((host, port)) = text.rsplit_once(':') else { return invalid(&p, expected) };
        let (Ok(host), Ok(port)) = (HostName::try_from(host), port.parse::<u16>()) else {
            return invalid(&p, expected);
        };
        if host.is_empty() {
            return invalid(&p, expected);
        }
        scope
            .endpoints
            .push(Endpoint { host, port })
            .or_else(|_| invalid(path, &format!("at most {} endpoints", crate::scope::MAX_NET_ENDPOINTS)))?;
    }
    Ok(scope)
}

fn topics(v: &Value, path: &str) -> Result<heapless::Vec<Topic, { crate::scope::MAX_IPC_TOPICS }>> {
    let mut out = heapless::Vec::new();
    for (i, t) in array(v, path)?.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let topic = string(t, &p)?;
        let Ok(topic) = Topic::try_from(topic) else { return invalid(&p, "a topic of 1 to 32 bytes") };
        if topic.is_empty() {
            return invalid(&p, "a topic of 1 to 32 bytes");
        }
        out.push(topic).or_else(|_| invalid(path, &format!("at most {} topics", crate::scope::MAX_IPC_TOPICS)))?;
    }
    Ok(out)
}

fn ipc(v: &Value, path: &str) -> Result<IpcScope> {
    let t = table(v, path)?;
    only_keys(t, path, &["publish", "subscribe"])?;
    let get = |k: &str| t.get(k).map_or(Ok(heapless::Vec::new()), |v| topics(v, &join(path, k)));
    Ok(IpcScope { publish: get("publish")?, subscribe: get("subscribe")? })
}

fn app(v: &Value, path: &str) -> Result<AppScope> {
    let mut scope = AppScope::default();
    for (i, a) in array(v, path)?.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let name = string(a, &p)?;
        let expected = "an app name (1 to 32 characters of a-z, 0-9, '-' or '_'), or \"*\" in a policy";
        if name != "*" && !is_app_name(name) {
            return invalid(&p, expected);
        }
        let Ok(name) = AppName::try_from(name) else { return invalid(&p, expected) };
        scope
            .apps
            .push(name)
            .or_else(|_| invalid(path, &format!("at most {} apps", crate::scope::MAX_CONTROLLED_APPS)))?;
    }
    Ok(scope)
}

/// Appends `text` and a NUL to a WASI string list.
fn push_wasi_string(list: &mut heapless::Vec<u8, MAX_WASI_STRINGS>, text: &str, path: &str) -> Result<()> {
    if text.contains('\0') {
        return invalid(path, "a string without NUL characters");
    }
    match list.extend_from_slice(text.as_bytes()).ok().and_then(|()| list.push(0).ok()) {
        Some(()) => Ok(()),
        None => invalid(path, &format!("at most {MAX_WASI_STRINGS} bytes of strings in all")),
    }
}

/// `wasi = ["console", "clock"]`, or a table with `parts` and the app's
/// `stdin` port, `args` and `env`.
fn wasi_scope(v: &Value, path: &str) -> Result<WasiScope> {
    let Value::Table(t) = v else { return Ok(WasiScope::with_parts(named_set(v, path, &wasi::NAMES)?)) };
    only_keys(t, path, &["parts", "stdin", "args", "env"])?;
    let parts_path = join(path, "parts");
    let parts = t.get("parts").ok_or_else(|| SourceError::Missing(parts_path.clone()))?;
    let mut scope = WasiScope::with_parts(named_set(parts, &parts_path, &wasi::NAMES)?);
    if let Some(port) = t.get("stdin") {
        scope.stdin_port = Some(int_in(port, &join(path, "stdin"), 0, 31)? as u8);
    }
    if let Some(args) = t.get("args") {
        let p = join(path, "args");
        for (i, a) in array(args, &p)?.iter().enumerate() {
            let item = format!("{p}[{i}]");
            push_wasi_string(&mut scope.args, string(a, &item)?, &item)?;
        }
    }
    if let Some(env) = t.get("env") {
        let p = join(path, "env");
        for (key, value) in table(env, &p)? {
            let item = join(&p, key);
            if key.is_empty() || key.contains('=') {
                return invalid(&item, "a variable name without `=`");
            }
            push_wasi_string(&mut scope.env, &format!("{key}={}", string(value, &item)?), &item)?;
        }
    }
    Ok(scope)
}

/// Checks what a manifest's WASI parts need from its other capabilities,
/// naming what is missing.
fn check_wasi_needs(caps: &CapabilitySet) -> Result<()> {
    let Some(w) = caps.wasi.as_deref() else { return Ok(()) };
    let needs = |part: u32, ok: bool, what: &str| {
        if w.parts.contains(part) && !ok {
            invalid(&format!("capabilities.wasi: part `{}`", wasi::NAMES[part as usize]), what)
        } else {
            Ok(())
        }
    };
    needs(wasi::RANDOM, caps.rng, "the `rng` capability too")?;
    needs(wasi::FILES, caps.storage.is_some(), "the `storage` capability too (its quota bounds the files)")?;
    match (w.parts.contains(wasi::STDIN), w.stdin_port) {
        (true, None) => invalid("capabilities.wasi.stdin", "the UART port stdin reads (part `stdin` is granted)"),
        (false, Some(_)) => invalid("capabilities.wasi.parts", "part `stdin` with a stdin port"),
        (true, Some(port)) if !caps.uart.is_some_and(|u| u.contains(port.into())) => {
            invalid("capabilities.wasi.stdin", &format!("a port of the `uart` capability (port {port} is not)"))
        }
        _ => Ok(()),
    }
}

/// Reads a `[capabilities]` table (also the `allow` table of a policy).
fn capabilities(t: &Table, path: &str) -> Result<CapabilitySet> {
    let mut caps = CapabilitySet::default();
    for (name, v) in t {
        let p = join(path, name);
        if is_vendor_name(name) {
            caps.vendor.push(VendorScope { name: short_name(name), ids: id_set(v, &p)? }).or_else(|_| {
                invalid(path, &format!("at most {} vendor capabilities", crate::scope::MAX_VENDOR_CAPS))
            })?;
            continue;
        }
        let Some(cap) = Capability::from_name(name) else {
            return Err(SourceError::UnknownCapability(name.clone()));
        };
        match cap {
            Capability::Gpio => caps.gpio = Some(gpio(v, &p)?),
            Capability::I2c => caps.i2c = Some(i2c(v, &p)?),
            Capability::Spi => caps.spi = Some(id_set(v, &p)?),
            Capability::Uart => caps.uart = Some(id_set(v, &p)?),
            Capability::Pwm => caps.pwm = Some(id_set(v, &p)?),
            Capability::Adc => caps.adc = Some(id_set(v, &p)?),
            Capability::Timer => caps.timer = flag(v, &p)?,
            Capability::Sensor => caps.sensor = Some(id_set(v, &p)?),
            Capability::Storage => caps.storage = Some(storage(v, &p)?),
            Capability::Display => caps.display = Some(display(v, &p)?),
            Capability::Hid => caps.hid = Some(named_set(v, &p, &hid::NAMES)?),
            Capability::Ble => caps.ble = Some(ble_scope(v, &p)?),
            Capability::Rf => caps.rf = Some(rf(v, &p)?),
            Capability::Net => caps.net = Some(Box::new(net(v, &p)?)),
            Capability::Ipc => caps.ipc = Some(Box::new(ipc(v, &p)?)),
            Capability::Ota => caps.ota = flag(v, &p)?,
            Capability::Rng => caps.rng = flag(v, &p)?,
            Capability::Sys => caps.sys = flag(v, &p)?,
            Capability::Log => caps.log = flag(v, &p)?,
            Capability::App => caps.app = Some(Box::new(app(v, &p)?)),
            Capability::Wasi => caps.wasi = Some(Box::new(wasi_scope(v, &p)?)),
        }
    }
    Ok(caps)
}

fn parse_table(text: &str) -> Result<Table> {
    text.parse::<Table>().map_err(|e| SourceError::Syntax(e.to_string().trim().to_string()))
}

/// Reads an `Akira.toml` into a [`Manifest`]. See `docs/manifest.md` for
/// the format.
pub fn manifest_from_toml(text: &str) -> Result<Manifest> {
    manifest_with_version(text, None)
}

/// Reads the `Akira.toml` of an app built from a package with a version of
/// its own (a Rust app's `Cargo.toml`), so that the app has one version:
/// `app.version` may be left out and is then `package_version`; when given,
/// it must be `package_version` ([`SourceError::VersionMismatch`]).
pub fn manifest_from_toml_in_package(text: &str, package_version: Version) -> Result<Manifest> {
    manifest_with_version(text, Some(package_version))
}

fn manifest_with_version(text: &str, package_version: Option<Version>) -> Result<Manifest> {
    let root = parse_table(text)?;
    only_keys(&root, "", &["app", "limits", "capabilities"])?;
    let app = table(root.get("app").ok_or_else(|| SourceError::Missing("app".into()))?, "app")?;
    only_keys(app, "app", &["name", "version", "abi"])?;

    let name = string(app.get("name").ok_or_else(|| SourceError::Missing("app.name".into()))?, "app.name")?;
    if !is_app_name(name) {
        return invalid("app.name", "1 to 32 characters of a-z, 0-9, '-' or '_'");
    }
    let version = match (app.get("version"), package_version) {
        (None, Some(package)) => package,
        (None, None) => return Err(SourceError::Missing("app.version".into())),
        (Some(text), package) => {
            let Some(version) = Version::parse(string(text, "app.version")?) else {
                return invalid("app.version", "\"major.minor.patch\"");
            };
            match package {
                Some(package) if package != version => {
                    return Err(SourceError::VersionMismatch { manifest: version, package });
                }
                _ => version,
            }
        }
    };
    let name = AppName::try_from(name).or_else(|_| invalid("app.name", "at most 32 bytes"))?;
    let mut m = Manifest::new(name, version);
    if let Some(abi) = app.get("abi") {
        m.abi = int_in(abi, "app.abi", 1, i64::from(u16::MAX))? as u16;
    } else {
        m.abi = ABI_VERSION;
    }

    if let Some(limits) = root.get("limits") {
        let t = table(limits, "limits")?;
        only_keys(t, "limits", &["memory", "stack", "heap", "cpu-budget"])?;
        if let Some(v) = t.get("memory") {
            m.memory_limit = size(v, "limits.memory")?;
        }
        if let Some(v) = t.get("stack") {
            m.stack_size = size(v, "limits.stack")?;
        }
        if let Some(v) = t.get("heap") {
            m.heap_size = size(v, "limits.heap")?;
        }
        if let Some(v) = t.get("cpu-budget") {
            m.cpu_budget = int_in(v, "limits.cpu-budget", 1, i64::MAX)? as u64;
        }
    }
    if let Some(caps) = root.get("capabilities") {
        m.capabilities = capabilities(table(caps, "capabilities")?, "capabilities")?;
        check_wasi_needs(&m.capabilities)?;
    }
    Ok(m)
}

/// Reads a device policy file:
///
/// ```toml
/// [limits]
/// memory = "256 KiB"      # most memory per app
/// cpu-budget = 50_000_000 # largest budget per app
/// ipc-topics = 4          # most distinct IPC topics per app (default 4)
///
/// [allow]                 # same format as an app's [capabilities]
/// log = true
/// gpio = { output = [2, 3], input = [0] }
/// ```
pub fn policy_from_toml(text: &str) -> Result<Policy> {
    let root = parse_table(text)?;
    only_keys(&root, "", &["limits", "allow"])?;
    let mut policy = Policy::deny_all();
    if let Some(limits) = root.get("limits") {
        let t = table(limits, "limits")?;
        only_keys(t, "limits", &["memory", "cpu-budget", "ipc-topics"])?;
        if let Some(v) = t.get("memory") {
            policy.max_memory = size(v, "limits.memory")?;
        }
        if let Some(v) = t.get("cpu-budget") {
            policy.max_cpu_budget = int_in(v, "limits.cpu-budget", 0, i64::MAX)? as u64;
        }
        if let Some(v) = t.get("ipc-topics") {
            let most = 2 * crate::scope::MAX_IPC_TOPICS as i64;
            policy.max_ipc_topics = int_in(v, "limits.ipc-topics", 0, most)? as u8;
        }
    }
    if let Some(allow) = root.get("allow") {
        policy.allow = capabilities(table(allow, "allow")?, "allow")?;
    }
    Ok(policy)
}

#[cfg(test)]
mod tests;
