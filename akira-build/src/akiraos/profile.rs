//! Board profiles, and AkiraOS's JSON manifest translated through one.

use std::collections::BTreeMap;

use akira_caps::manifest::{AppName, Version, is_app_name};
use akira_caps::scope::{
    AppScope, Band, DisplayScope, GpioScope, I2cScope, IpcScope, MAX_CONTROLLED_APPS, MAX_I2C_BUSES, MAX_IPC_TOPICS,
    MAX_TOPIC_LEN, RfScope, StorageScope, Topic, WasiScope, ble, hid, wasi,
};
use akira_caps::sets::{AddrSet, IdSet, PinSet};
use akira_caps::{CapabilitySet, Manifest};
use serde::Deserialize;

use super::TranslateError;

/// How an AkiraOS app's raw numbers (SoC pin numbers, ports, buses) map
/// onto one board's Akira resources, and what its capabilities grant
/// there. Read from TOML ([`Profile::from_toml`]); `akira run` uses
/// [`Profile::simulator`].
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The board.
    pub board: Board,
    /// Pins.
    #[serde(default)]
    pub gpio: Gpio,
    /// Serial ports.
    #[serde(default)]
    pub uart: Ports,
    /// I2C devices an app may address: bus number (as a string key) to
    /// 7-bit addresses.
    #[serde(default)]
    pub i2c: BTreeMap<String, Vec<u32>>,
    /// PWM channels.
    #[serde(default)]
    pub pwm: Channels,
    /// ADC channels.
    #[serde(default)]
    pub adc: Channels,
    /// Sensor channels: Zephyr's channel numbers (`sensor_read`'s) to
    /// Akira's.
    #[serde(default)]
    pub sensor: Sensors,
    /// The LoRa radio: what `rf.transceive` grants, and the settings the
    /// `rf_*` calls do not name.
    pub rf: Option<Radio>,
    /// The key-value store.
    #[serde(default)]
    pub storage: Storage,
    /// Memory beyond static data and stack.
    #[serde(default)]
    pub memory: Memory,
    /// The IPC topics AkiraOS apps on this device may name: `ipc` grants
    /// publishing and subscribing to each.
    #[serde(default)]
    pub ipc: Names,
    /// The apps AkiraOS apps on this device may name: `app.control`
    /// grants querying, starting and stopping each.
    #[serde(default)]
    pub app: Names,
}

/// `[ipc]` and `[app]`: names, in the order the grant lists them.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Names {
    /// The names.
    #[serde(default)]
    pub names: Vec<String>,
}

/// `[board]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Board {
    /// Its name, for messages.
    pub name: String,
    /// Whether wildcards (`gpio.*`, `*`) are granted, as this profile's
    /// explicit scopes; refused otherwise.
    #[serde(default)]
    pub wildcards: bool,
}

/// `[gpio]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gpio {
    /// AkiraOS pin number (a string key) to Akira logical pin.
    #[serde(default)]
    pub pins: BTreeMap<String, u32>,
    /// AkiraOS pins `gpio.read` grants.
    #[serde(default)]
    pub input: Vec<u32>,
    /// AkiraOS pins `gpio.write` grants.
    #[serde(default)]
    pub output: Vec<u32>,
    /// AkiraOS button id (a string key) to Akira input pin.
    #[serde(default)]
    pub buttons: BTreeMap<String, u32>,
}

/// `[uart]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ports {
    /// AkiraOS port `n` is Akira port `ports[n]`.
    #[serde(default)]
    pub ports: Vec<u32>,
}

/// `[pwm]`, `[adc]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Channels {
    /// The channels the capability grants (the same numbers on both).
    #[serde(default)]
    pub channels: Vec<u32>,
}

/// `[sensor]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sensors {
    /// Zephyr sensor channel (a string key: 13 is the ambient
    /// temperature, 0–2 the acceleration's axes) to the Akira sensor
    /// channel that measures it; `sensor.read` grants these.
    #[serde(default)]
    pub channels: BTreeMap<String, u32>,
}

/// `[rf]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Radio {
    /// Bands `rf.transceive` grants: `[from_hz, to_hz]` each.
    pub bands: Vec<[u32; 2]>,
    /// Highest transmit power `rf.transceive` grants, in dBm.
    pub max_power_dbm: i8,
    /// Airtime an app may use, in thousandths of any rolling hour.
    pub duty_cycle_permille: u16,
    /// The frequency until the app sets one, in Hz.
    pub frequency_hz: u32,
    /// The power until the app sets one, in dBm.
    pub power_dbm: i8,
    /// LoRa settings AkiraOS's calls do not name.
    pub spreading_factor: u32,
    /// In Hz.
    pub bandwidth_hz: u32,
    /// 5 to 8 (4/5 to 4/8).
    pub coding_rate: u32,
}

impl Radio {
    /// No radio: every setting zero (`akira:rf.configure` refuses them).
    pub const NONE: Radio = Radio {
        bands: Vec::new(),
        max_power_dbm: 0,
        duty_cycle_permille: 0,
        frequency_hz: 0,
        power_dbm: 0,
        spreading_factor: 0,
        bandwidth_hz: 0,
        coding_rate: 0,
    };
}

/// `[storage]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Storage {
    /// The quota `storage.*` and `settings.*` grant (`"4 KiB"` or bytes).
    pub quota: Option<toml::Value>,
}

/// `[memory]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Memory {
    /// Heap beyond static data and stack (`"4 KiB"` or bytes).
    pub heap: Option<toml::Value>,
}

fn bytes(v: &Option<toml::Value>, what: &str) -> Result<u32, TranslateError> {
    let bad = || TranslateError::Profile(format!("{what}: expected a byte size such as 4096 or \"4 KiB\""));
    match v {
        None => Ok(0),
        Some(toml::Value::Integer(n)) => u32::try_from(*n).map_err(|_| bad()),
        Some(toml::Value::String(s)) => {
            let (number, unit) = s.trim().split_once(' ').unwrap_or((s.trim(), "B"));
            let n: u32 = number.parse().map_err(|_| bad())?;
            let scale = match unit {
                "B" => 1,
                "KiB" => 1024,
                "MiB" => 1024 * 1024,
                _ => return Err(bad()),
            };
            n.checked_mul(scale).ok_or_else(bad)
        }
        Some(_) => Err(bad()),
    }
}

impl Profile {
    /// Reads a profile.
    ///
    /// # Errors
    ///
    /// [`TranslateError::Profile`] naming what is wrong.
    pub fn from_toml(text: &str) -> Result<Profile, TranslateError> {
        let profile: Profile = toml::from_str(text).map_err(|e| TranslateError::Profile(e.to_string()))?;
        for (raw, pin) in &profile.gpio.pins {
            raw.parse::<u32>()
                .map_err(|_| TranslateError::Profile(format!("gpio.pins: `{raw}` is not a pin number")))?;
            if *pin >= PinSet::CAPACITY {
                return Err(TranslateError::Profile(format!("gpio.pins.{raw}: no Akira pin {pin}")));
            }
        }
        for pin in profile.gpio.input.iter().chain(&profile.gpio.output) {
            profile.pin(*pin).ok_or_else(|| {
                TranslateError::Profile(format!("gpio: pin {pin} is granted but not mapped in gpio.pins"))
            })?;
        }
        bytes(&profile.storage.quota, "storage.quota")?;
        bytes(&profile.memory.heap, "memory.heap")?;
        profile.sensors()?;
        profile.ipc_scope()?;
        profile.app_scope()?;
        Ok(profile)
    }

    /// The profile of `akira run`'s simulated board.
    pub fn simulator() -> Profile {
        // The file is part of this crate and tested.
        Profile::from_toml(include_str!("simulator.toml")).unwrap_or_else(|e| panic!("simulator profile: {e}"))
    }

    /// The Akira pin of AkiraOS pin `raw`.
    pub fn pin(&self, raw: u32) -> Option<u32> {
        self.gpio.pins.get(&raw.to_string()).copied()
    }

    /// AkiraOS button ids and their Akira input pins.
    pub fn buttons(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.gpio.buttons.iter().filter_map(|(id, pin)| Some((id.parse().ok()?, *pin)))
    }

    /// Zephyr sensor channels and the Akira channels that measure them.
    ///
    /// # Errors
    ///
    /// [`TranslateError::Profile`] for a key that is not a channel number
    /// or an Akira channel past 31.
    pub fn sensors(&self) -> Result<Vec<(u32, u32)>, TranslateError> {
        let mut out = Vec::new();
        for (zephyr, channel) in &self.sensor.channels {
            let z = zephyr.parse::<u32>().map_err(|_| {
                TranslateError::Profile(format!("sensor.channels: `{zephyr}` is not a Zephyr channel number"))
            })?;
            if *channel >= IdSet::CAPACITY {
                return Err(TranslateError::Profile(format!("sensor.channels.{zephyr}: no Akira channel {channel}")));
            }
            out.push((z, *channel));
        }
        Ok(out)
    }

    fn pins(&self, raw: &[u32]) -> PinSet {
        raw.iter().filter_map(|p| self.pin(*p)).collect()
    }

    /// `[ipc] names` as an IPC grant: publishing and subscribing to each.
    ///
    /// # Errors
    ///
    /// [`TranslateError::Profile`] for an empty or too long name, or too
    /// many.
    pub fn ipc_scope(&self) -> Result<IpcScope, TranslateError> {
        let mut scope = IpcScope::default();
        let what = format!("a topic of 1 to {MAX_TOPIC_LEN} bytes");
        for topic in checked_names(&self.ipc.names, "ipc", &what, MAX_IPC_TOPICS, |t: &Topic| !t.is_empty())? {
            // Within capacity: `checked_names` counted them.
            let _ = scope.publish.push(topic.clone());
            let _ = scope.subscribe.push(topic);
        }
        Ok(scope)
    }

    /// `[app] names` as an app-control grant.
    ///
    /// # Errors
    ///
    /// [`TranslateError::Profile`] for a name that is no app name, or too
    /// many.
    pub fn app_scope(&self) -> Result<AppScope, TranslateError> {
        let mut scope = AppScope::default();
        for app in
            checked_names(&self.app.names, "app", "an app name", MAX_CONTROLLED_APPS, |a: &AppName| is_app_name(a))?
        {
            let _ = scope.apps.push(app);
        }
        Ok(scope)
    }

    /// The heap the app gets beyond its static data and stack.
    pub fn heap(&self) -> u32 {
        bytes(&self.memory.heap, "memory.heap").unwrap_or(0)
    }
}

/// The names of `[section] names`, each converted and checked by `ok`,
/// at most `max`.
fn checked_names<T: for<'a> TryFrom<&'a str>>(
    names: &[String],
    section: &str,
    what: &str,
    max: usize,
    ok: impl Fn(&T) -> bool,
) -> Result<Vec<T>, TranslateError> {
    if names.len() > max {
        return Err(TranslateError::Profile(format!("{section}.names: more than {max}")));
    }
    names
        .iter()
        .map(|name| {
            T::try_from(name.as_str())
                .ok()
                .filter(&ok)
                .ok_or_else(|| TranslateError::Profile(format!("{section}.names: `{name}` is not {what}")))
        })
        .collect()
}

/// AkiraOS's manifest (JSON in `.akira.manifest`).
#[derive(Debug, Deserialize)]
struct AkiraOsManifest {
    name: String,
    version: String,
    #[serde(default)]
    capabilities: Vec<String>,
    #[serde(default)]
    memory_quota: Option<u32>,
}

/// The capabilities of AkiraOS that have an Akira translation.
const KNOWN: &[&str] = &[
    "gpio.read",
    "gpio.write",
    "gpio.*",
    "display.write",
    "display.*",
    "storage.read",
    "storage.write",
    "storage.*",
    "settings.*",
    "fs.read",
    "fs.write",
    "crypto",
    "rtc.read",
    "timer",
    "uart",
    "i2c",
    "pwm",
    "adc",
    "sensor.read",
    "rf.transceive",
    "hid",
    "input.read",
    "wdt",
    "power.read",
    "power.control",
    "ipc",
    "app.control",
    "ble",
    "ble.scan",
    "*",
];

/// Translates AkiraOS's JSON manifest through `profile` into an Akira
/// manifest. `needs` are the Akira capabilities the app's shims use
/// without an AkiraOS capability (the console, the clock, yielding).
pub(super) fn manifest(json: &[u8], profile: &Profile, needs: &CapabilitySet) -> Result<Manifest, TranslateError> {
    let m: AkiraOsManifest =
        serde_json::from_slice(json).map_err(|e| TranslateError::Manifest(format!("not AkiraOS's JSON: {e}")))?;
    let name = m.name.to_lowercase().replace(' ', "-");
    if !is_app_name(&name) {
        return Err(TranslateError::Manifest(format!(
            "app name `{}`: Akira names are 1-32 of a-z, 0-9, - and _",
            m.name
        )));
    }
    let version = Version::parse(&m.version)
        .ok_or_else(|| TranslateError::Manifest(format!("version `{}`: expected major.minor.patch", m.version)))?;
    let mut out = Manifest::new(AppName::try_from(name.as_str()).unwrap_or_default(), version);
    if let Some(quota) = m.memory_quota {
        out.memory_limit = out.memory_limit.max(quota);
    }
    out.heap_size = profile.heap();
    let mut caps = needs.clone();
    let all = m.capabilities.iter().any(|c| c == "*");
    for cap in &m.capabilities {
        if !KNOWN.contains(&cap.as_str()) {
            return Err(TranslateError::Capability(cap.clone()));
        }
        if cap.ends_with('*')
            && cap != "storage.*"
            && cap != "settings.*"
            && cap != "display.*"
            && !profile.board.wildcards
        {
            return Err(TranslateError::Wildcard { capability: cap.clone(), board: profile.board.name.clone() });
        }
    }
    let has = |names: &[&str]| all || m.capabilities.iter().any(|c| names.contains(&c.as_str()));
    let mut gpio = GpioScope::default();
    if has(&["gpio.read", "gpio.*"]) {
        gpio.input = profile.pins(&profile.gpio.input);
    }
    if has(&["gpio.write", "gpio.*"]) {
        gpio.output = profile.pins(&profile.gpio.output);
    }
    if has(&["input.read"]) {
        gpio.input = gpio.input.union(profile.buttons().map(|(_, pin)| pin).collect());
    }
    if gpio != GpioScope::default() {
        caps.gpio = Some(gpio);
    }
    if has(&["display.write", "display.*"]) {
        caps.display = Some(DisplayScope::WHOLE);
    }
    if has(&["storage.read", "storage.write", "storage.*", "settings.*", "fs.read", "fs.write"]) {
        let quota = bytes(&profile.storage.quota, "storage.quota")?;
        caps.storage = Some(StorageScope::with_quota(quota));
        let mut w = caps.wasi.take().unwrap_or_default();
        w.parts.insert(wasi::FILES);
        caps.wasi = Some(w);
    }
    if has(&["rtc.read"]) {
        let mut w = caps.wasi.take().unwrap_or_default();
        w.parts.insert(wasi::CLOCK);
        caps.wasi = Some(w);
    }
    if has(&["timer"]) {
        caps.timer = true;
    }
    if has(&["uart"]) {
        caps.uart = Some(profile.uart.ports.iter().copied().collect::<IdSet>());
    }
    if has(&["i2c"]) {
        let mut buses = [AddrSet::EMPTY; MAX_I2C_BUSES];
        for (bus, addresses) in &profile.i2c {
            let slot = bus.parse::<usize>().ok().and_then(|b| buses.get_mut(b)).ok_or_else(|| {
                TranslateError::Profile(format!("i2c: `{bus}` is not a bus number below {MAX_I2C_BUSES}"))
            })?;
            *slot = addresses.iter().copied().collect();
        }
        caps.i2c = Some(I2cScope { buses });
    }
    if has(&["pwm"]) {
        caps.pwm = Some(profile.pwm.channels.iter().copied().collect());
    }
    if has(&["adc"]) {
        caps.adc = Some(profile.adc.channels.iter().copied().collect());
    }
    if has(&["sensor.read"]) {
        caps.sensor = Some(profile.sensors()?.into_iter().map(|(_, channel)| channel).collect());
    }
    if has(&["rf.transceive"]) {
        let radio = profile.rf.as_ref().ok_or_else(|| TranslateError::Capability("rf.transceive".into()))?;
        let mut rf = RfScope {
            max_power_dbm: radio.max_power_dbm,
            duty_cycle_permille: radio.duty_cycle_permille,
            ..RfScope::default()
        };
        for [from_hz, to_hz] in &radio.bands {
            rf.bands
                .push(Band { from_hz: *from_hz, to_hz: *to_hz })
                .map_err(|_| TranslateError::Profile("rf.bands: too many bands".into()))?;
        }
        caps.rf = Some(rf);
    }
    if has(&["hid"]) {
        caps.hid = Some((0..hid::NAMES.len() as u32).collect());
    }
    if has(&["power.control"]) {
        caps.sys = true;
    }
    if has(&["ble"]) {
        // AkiraOS's GATT server: advertising connectable and serving.
        let mut scope = caps.ble.take().unwrap_or_default();
        scope.roles.insert(ble::ADVERTISE);
        scope.roles.insert(ble::PERIPHERAL);
        caps.ble = Some(scope);
    }
    if has(&["ble.scan"]) {
        let mut scope = caps.ble.take().unwrap_or_default();
        scope.roles.insert(ble::SCAN);
        caps.ble = Some(scope);
    }
    if has(&["ipc"]) {
        caps.ipc = Some(Box::new(profile.ipc_scope()?));
    }
    if has(&["app.control"]) {
        caps.app = Some(Box::new(profile.app_scope()?));
    }
    out.capabilities = caps;
    Ok(out)
}

/// A WASI scope of `parts`, for shims that use WASI.
pub(super) fn wasi_parts(parts: &[u32]) -> Box<WasiScope> {
    Box::new(WasiScope::with_parts(parts.iter().copied().collect()))
}
