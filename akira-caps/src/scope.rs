//! The scope of each capability, and a whole set of capabilities with scopes.
//!
//! The same [`CapabilitySet`] type describes what an app's manifest asks for
//! and what a device policy allows, so "is this request within the policy" is
//! one subset test per capability ([`CapabilitySet::check_within`]).

use alloc::boxed::Box;
use core::fmt::{self, Write as _};
use serde::{Deserialize, Serialize};

use crate::capability::Capability;
use crate::manifest::{AppName, is_app_name, short_name};
use crate::sets::{AddrSet, IdSet, PinSet};

/// Number of I2C buses a scope can name (`0..MAX_I2C_BUSES`).
pub const MAX_I2C_BUSES: usize = 4;
/// Number of RF bands one scope can list.
pub const MAX_RF_BANDS: usize = 4;
/// Number of network endpoints one scope can list.
pub const MAX_NET_ENDPOINTS: usize = 8;
/// Number of IPC topics one scope can list per direction.
pub const MAX_IPC_TOPICS: usize = 8;
/// Number of apps one `app` scope can name.
pub const MAX_CONTROLLED_APPS: usize = 8;
/// Number of vendor capabilities one set can hold.
pub const MAX_VENDOR_CAPS: usize = 8;
/// Longest network host name, in bytes.
pub const MAX_HOST_LEN: usize = 64;
/// Longest IPC topic name, in bytes.
pub const MAX_TOPIC_LEN: usize = 32;
/// Longest vendor capability name (`namespace:module`), in bytes.
pub const MAX_VENDOR_NAME_LEN: usize = 49;
/// Bytes of WASI arguments, and of WASI environment entries, one scope can
/// hold (each string NUL-terminated).
pub const MAX_WASI_STRINGS: usize = 256;

/// A network host name (or `*` in a policy: any host).
pub type HostName = heapless::String<MAX_HOST_LEN>;
/// An IPC topic name (or `*` in a policy: any topic).
pub type Topic = heapless::String<MAX_TOPIC_LEN>;
/// A vendor capability name, `namespace:module`.
pub type VendorName = heapless::String<MAX_VENDOR_NAME_LEN>;

/// Why a request goes beyond a policy: a short human description of the
/// first item that is not allowed, such as `output pin 7`.
pub type Excess = heapless::String<80>;

fn excess(args: fmt::Arguments<'_>) -> Excess {
    let mut s = Excess::new();
    // Overlong descriptions are cut, never an error.
    let _ = s.write_fmt(args);
    s
}

/// GPIO scope: which logical pins the app may read, drive, and wait on.
///
/// An edge pin is always an input pin too ([`GpioScope::new`] and the
/// manifest reader add it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GpioScope {
    /// Pins the app may configure as inputs and read.
    pub input: PinSet,
    /// Pins the app may configure as outputs and drive.
    pub output: PinSet,
    /// Pins the app may wait on for an edge.
    pub edge: PinSet,
}

impl GpioScope {
    /// A scope whose edge pins are also input pins.
    pub const fn new(input: PinSet, output: PinSet, edge: PinSet) -> Self {
        GpioScope { input: input.union(edge), output, edge }
    }

    fn check_within(&self, policy: &Self) -> Result<(), Excess> {
        for (want, allow, what) in [
            (self.input, policy.input, "input"),
            (self.output, policy.output, "output"),
            (self.edge, policy.edge, "edge-wait"),
        ] {
            if let Some(pin) = want.first_outside(allow) {
                return Err(excess(format_args!("{what} pin {pin}")));
            }
        }
        Ok(())
    }
}

/// I2C scope: per bus, the 7-bit device addresses the app may talk to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct I2cScope {
    /// Addresses per bus number.
    pub buses: [AddrSet; MAX_I2C_BUSES],
}

impl I2cScope {
    /// Whether an address is a usable 7-bit device address (0x08..=0x77);
    /// the others are reserved by the I2C specification (general call,
    /// 10-bit prefixes, ...).
    pub const fn is_device_address(addr: u32) -> bool {
        addr >= 0x08 && addr <= 0x77
    }

    fn check_within(&self, policy: &Self) -> Result<(), Excess> {
        for (bus, (want, allow)) in self.buses.iter().zip(policy.buses.iter()).enumerate() {
            if let Some(addr) = want.first_outside(*allow) {
                return Err(excess(format_args!("bus {bus} address {addr:#04x}")));
            }
        }
        Ok(())
    }

    fn validate(&self) -> bool {
        self.buses.iter().all(|set| set.iter().all(Self::is_device_address))
    }
}

/// Storage scope: the app's byte quota in its key-value store, and how
/// many bytes it may write to flash per hour (its share of the flash's
/// wear: a write past it is refused with `AKIRA_EBUSY` and counted).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StorageScope {
    /// Bytes of keys and values the app may keep.
    pub quota: u32,
    /// Bytes the app may write to flash over any rolling hour (keys,
    /// values and their bookkeeping).
    pub writes_per_hour: u32,
}

impl StorageScope {
    /// The write budget a manifest or policy gets when it names none:
    /// 32 KiB an hour (a 64 KiB region of 100 000-cycle NOR flash lasts
    /// over 20 years at that rate).
    pub const DEFAULT_WRITES_PER_HOUR: u32 = 32 * 1024;

    /// A scope of `quota` bytes and the default write budget.
    pub const fn with_quota(quota: u32) -> Self {
        StorageScope { quota, writes_per_hour: Self::DEFAULT_WRITES_PER_HOUR }
    }

    fn check_within(&self, policy: &Self) -> Result<(), Excess> {
        if self.quota > policy.quota {
            return Err(excess(format_args!("quota {} bytes (policy allows {})", self.quota, policy.quota)));
        }
        if self.writes_per_hour > policy.writes_per_hour {
            return Err(excess(format_args!(
                "{} bytes of flash writes per hour (policy allows {})",
                self.writes_per_hour, policy.writes_per_hour
            )));
        }
        Ok(())
    }
}

impl Default for StorageScope {
    fn default() -> Self {
        Self::with_quota(0)
    }
}

/// Display scope: a rectangle of the screen the app may draw in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DisplayScope {
    /// Left edge, in pixels.
    pub x: u16,
    /// Top edge, in pixels.
    pub y: u16,
    /// Width in pixels.
    pub width: u16,
    /// Height in pixels.
    pub height: u16,
}

impl DisplayScope {
    /// The whole screen, whatever its size.
    pub const WHOLE: DisplayScope = DisplayScope { x: 0, y: 0, width: u16::MAX, height: u16::MAX };

    fn end(start: u16, len: u16) -> u32 {
        u32::from(start) + u32::from(len)
    }

    /// Whether the pixel rectangle `(x, y, w, h)` lies inside this region.
    pub fn contains_rect(&self, x: u32, y: u32, w: u32, h: u32) -> bool {
        x >= u32::from(self.x)
            && y >= u32::from(self.y)
            && x.saturating_add(w) <= Self::end(self.x, self.width)
            && y.saturating_add(h) <= Self::end(self.y, self.height)
    }

    fn check_within(&self, policy: &Self) -> Result<(), Excess> {
        if policy.contains_rect(self.x.into(), self.y.into(), self.width.into(), self.height.into()) {
            Ok(())
        } else {
            Err(excess(format_args!("region {}x{} at ({}, {})", self.width, self.height, self.x, self.y)))
        }
    }
}

impl Default for DisplayScope {
    fn default() -> Self {
        Self::WHOLE
    }
}

/// Member numbers of the HID scope's [`IdSet`].
pub mod hid {
    /// Keyboard reports.
    pub const KEYBOARD: u32 = 0;
    /// Mouse reports.
    pub const MOUSE: u32 = 1;
    /// Gamepad reports.
    pub const GAMEPAD: u32 = 2;
    /// Consumer-control reports (media keys).
    pub const CONSUMER: u32 = 3;
    /// Raw reports.
    pub const RAW: u32 = 4;
    /// Manifest names, indexed by member number.
    pub const NAMES: [&str; 5] = ["keyboard", "mouse", "gamepad", "consumer", "raw"];
}

/// Member numbers of the BLE scope's [`IdSet`].
pub mod ble {
    /// Legacy advertising.
    pub const ADVERTISE: u32 = 0;
    /// Scanning for advertisements.
    pub const SCAN: u32 = 1;
    /// GATT peripheral (accepting connections).
    pub const PERIPHERAL: u32 = 2;
    /// Central (initiating connections).
    pub const CENTRAL: u32 = 3;
    /// Manifest names, indexed by member number.
    pub const NAMES: [&str; 4] = ["advertise", "scan", "peripheral", "central"];
}

/// BLE scope: the roles the app may take (members of [`ble`]), the
/// shortest advertising interval it may ask for, and how often it may
/// change its advertising data (no spamming the 2.4 GHz band).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BleScope {
    /// Roles, by [`ble`] member number.
    pub roles: IdSet,
    /// Shortest advertising interval, in milliseconds (at least
    /// [`BleScope::MIN_ADV_INTERVAL_MS`]).
    pub min_adv_interval_ms: u16,
    /// Most advertising data changes (each `advertise` call) over any
    /// second.
    pub adv_changes_per_s: u16,
}

impl Default for BleScope {
    fn default() -> Self {
        BleScope {
            roles: IdSet::EMPTY,
            min_adv_interval_ms: BleScope::DEFAULT_MIN_ADV_INTERVAL_MS,
            adv_changes_per_s: BleScope::DEFAULT_ADV_CHANGES_PER_S,
        }
    }
}

impl BleScope {
    /// The shortest advertising interval Bluetooth allows: 20 ms.
    pub const MIN_ADV_INTERVAL_MS: u16 = 20;
    /// The longest legacy advertising interval: 10.24 s.
    pub const MAX_ADV_INTERVAL_MS: u16 = 10_240;
    /// The interval floor a manifest or policy gets when it names none:
    /// 100 ms.
    pub const DEFAULT_MIN_ADV_INTERVAL_MS: u16 = 100;
    /// The advertising data changes per second a manifest or policy gets
    /// when it names none: 1.
    pub const DEFAULT_ADV_CHANGES_PER_S: u16 = 1;

    /// A scope with these roles and the default floor and change rate.
    pub fn with_roles(roles: IdSet) -> Self {
        BleScope { roles, ..Default::default() }
    }

    fn check_within(&self, policy: &Self) -> Result<(), Excess> {
        if let Some(role) = self.roles.first_outside(policy.roles) {
            return Err(excess(format_args!("{}", ble::NAMES.get(role as usize).copied().unwrap_or("unknown role"))));
        }
        if self.min_adv_interval_ms < policy.min_adv_interval_ms {
            return Err(excess(format_args!(
                "advertising interval {} ms (policy allows {} ms and up)",
                self.min_adv_interval_ms, policy.min_adv_interval_ms
            )));
        }
        if self.adv_changes_per_s > policy.adv_changes_per_s {
            return Err(excess(format_args!(
                "{} advertising data changes per second (policy allows {})",
                self.adv_changes_per_s, policy.adv_changes_per_s
            )));
        }
        Ok(())
    }

    fn validate(&self) -> bool {
        (Self::MIN_ADV_INTERVAL_MS..=Self::MAX_ADV_INTERVAL_MS).contains(&self.min_adv_interval_ms)
            && self.roles.iter().all(|r| (r as usize) < ble::NAMES.len())
    }
}

/// A radio frequency band, in hertz, inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Band {
    /// Lowest frequency, in Hz.
    pub from_hz: u32,
    /// Highest frequency, in Hz.
    pub to_hz: u32,
}

impl Band {
    /// Whether `other` lies inside this band.
    pub const fn covers(&self, other: &Band) -> bool {
        other.from_hz >= self.from_hz && other.to_hz <= self.to_hz
    }

    /// Whether the frequency `hz` lies inside this band.
    pub const fn contains(&self, hz: u32) -> bool {
        hz >= self.from_hz && hz <= self.to_hz
    }
}

/// RF scope: the bands the app may use, its transmit power cap and its
/// duty cycle (share of airtime over a rolling hour, EU868 style).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RfScope {
    /// Allowed frequency bands.
    pub bands: heapless::Vec<Band, MAX_RF_BANDS>,
    /// Highest transmit power, in dBm.
    pub max_power_dbm: i8,
    /// Airtime the app may use, in thousandths of the time over any rolling
    /// hour: `10` is 1 % (36 s an hour, the EU868 g1 sub-band limit),
    /// `1000` is no limit.
    pub duty_cycle_permille: u16,
}

impl Default for RfScope {
    fn default() -> Self {
        RfScope {
            bands: heapless::Vec::new(),
            max_power_dbm: 0,
            duty_cycle_permille: RfScope::DEFAULT_DUTY_CYCLE_PERMILLE,
        }
    }
}

impl RfScope {
    /// The duty cycle a manifest or policy gets when it names none: 1 %.
    pub const DEFAULT_DUTY_CYCLE_PERMILLE: u16 = 10;
    /// The duty cycle meaning "no limit".
    pub const NO_DUTY_CYCLE_LIMIT: u16 = 1000;

    fn check_within(&self, policy: &Self) -> Result<(), Excess> {
        for band in &self.bands {
            if !policy.bands.iter().any(|allowed| allowed.covers(band)) {
                return Err(excess(format_args!("band {}..={} Hz", band.from_hz, band.to_hz)));
            }
        }
        if self.max_power_dbm > policy.max_power_dbm {
            return Err(excess(format_args!(
                "transmit power {} dBm (policy allows {} dBm)",
                self.max_power_dbm, policy.max_power_dbm
            )));
        }
        if self.duty_cycle_permille > policy.duty_cycle_permille {
            return Err(excess(format_args!(
                "duty cycle {} permille (policy allows {} permille)",
                self.duty_cycle_permille, policy.duty_cycle_permille
            )));
        }
        Ok(())
    }

    fn validate(&self) -> bool {
        self.bands.iter().all(|b| b.from_hz <= b.to_hz) && self.duty_cycle_permille <= Self::NO_DUTY_CYCLE_LIMIT
    }
}

/// A network endpoint: host and port. In a policy, host `*` matches any
/// host and port `0` any port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Endpoint {
    /// Host name or address literal.
    pub host: HostName,
    /// TCP/UDP port.
    pub port: u16,
}

impl Endpoint {
    fn allows(&self, wanted: &Endpoint) -> bool {
        (self.host == "*" || self.host == wanted.host) && (self.port == 0 || self.port == wanted.port)
    }
}

/// Network scope: the endpoints the app may open sockets to, and how many
/// sockets it may hold at once (its share of the firmware's socket
/// table). Apps name an endpoint by its index in this list, so the
/// call-time check is a bit test.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NetScope {
    /// Allowed endpoints.
    pub endpoints: heapless::Vec<Endpoint, MAX_NET_ENDPOINTS>,
    /// Most sockets open at once.
    pub sockets: u8,
}

impl Default for NetScope {
    fn default() -> Self {
        NetScope { endpoints: heapless::Vec::new(), sockets: NetScope::DEFAULT_SOCKETS }
    }
}

impl NetScope {
    /// The sockets a manifest or policy gets when it names none: 2.
    pub const DEFAULT_SOCKETS: u8 = 2;

    fn check_within(&self, policy: &Self) -> Result<(), Excess> {
        for e in &self.endpoints {
            if !policy.endpoints.iter().any(|p| p.allows(e)) {
                return Err(excess(format_args!("endpoint {}:{}", e.host, e.port)));
            }
        }
        if self.sockets > policy.sockets {
            return Err(excess(format_args!("{} sockets (policy allows {})", self.sockets, policy.sockets)));
        }
        Ok(())
    }

    fn validate(&self) -> bool {
        self.endpoints.iter().all(|e| !e.host.is_empty())
    }
}

/// IPC scope: the topics the app may publish to and subscribe to. In a
/// policy, topic `*` matches any topic.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct IpcScope {
    /// Topics the app may publish to.
    pub publish: heapless::Vec<Topic, MAX_IPC_TOPICS>,
    /// Topics the app may subscribe to.
    pub subscribe: heapless::Vec<Topic, MAX_IPC_TOPICS>,
}

impl IpcScope {
    /// Distinct topic names in both lists: the entries the app takes in
    /// the firmware's topic table, bounded by the policy's
    /// [`crate::Policy::max_ipc_topics`]. Checked at install, not per call.
    pub fn topic_count(&self) -> u8 {
        self.topics().count() as u8
    }

    /// The distinct topic names of both lists, each once.
    pub fn topics(&self) -> impl Iterator<Item = &Topic> {
        let names = || self.publish.iter().chain(self.subscribe.iter());
        names().enumerate().filter(move |(i, t)| !names().take(*i).any(|u| u == *t)).map(|(_, t)| t)
    }

    fn check_within(&self, policy: &Self) -> Result<(), Excess> {
        let allowed = |list: &[Topic], t: &Topic| list.iter().any(|p| p == "*" || p == t);
        for (want, allow, what) in
            [(&self.publish, &policy.publish, "publish"), (&self.subscribe, &policy.subscribe, "subscribe")]
        {
            if let Some(t) = want.iter().find(|t| !allowed(allow, t)) {
                return Err(excess(format_args!("{what} topic {t:?}")));
            }
        }
        Ok(())
    }

    fn validate(&self) -> bool {
        self.publish.iter().chain(self.subscribe.iter()).all(|t| !t.is_empty())
    }
}

/// App-control scope: the apps the app may query, start and stop, by
/// name. In a policy, `*` matches any app.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AppScope {
    /// App names (the other apps' manifest names).
    pub apps: heapless::Vec<AppName, MAX_CONTROLLED_APPS>,
}

impl AppScope {
    fn check_within(&self, policy: &Self) -> Result<(), Excess> {
        match self.apps.iter().find(|a| !policy.apps.iter().any(|p| p == "*" || p == *a)) {
            Some(a) => Err(excess(format_args!("app {a:?}"))),
            None => Ok(()),
        }
    }

    fn validate(&self) -> bool {
        self.apps.iter().all(|a| a == "*" || is_app_name(a))
    }
}

/// Member numbers of the WASI scope's parts: which calls of
/// `wasi_snapshot_preview1` an app may make (see `docs/abi.md`).
pub mod wasi {
    /// `fd_write` to stdout and stderr: the app console.
    pub const CONSOLE: u32 = 0;
    /// `fd_read` from stdin: a UART port of the app's `uart` grant.
    pub const STDIN: u32 = 1;
    /// `clock_time_get`, `clock_res_get` and `poll_oneoff` on clocks.
    pub const CLOCK: u32 = 2;
    /// `random_get` (the manifest must also ask for `rng`).
    pub const RANDOM: u32 = 3;
    /// Files in the app's key-value store (the manifest must also ask for
    /// `storage`, whose quota they count against).
    pub const FILES: u32 = 4;
    /// Manifest names, indexed by member number.
    pub const NAMES: [&str; 5] = ["console", "stdin", "clock", "random", "files"];
}

/// WASI scope: the parts of WASI the app may use (members of [`wasi`]),
/// the UART port its stdin reads, and its arguments and environment. Only
/// the parts are a right (checked against a policy); arguments and
/// environment are the app's own configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct WasiScope {
    /// Parts, by [`wasi`] member number.
    pub parts: IdSet,
    /// The UART port stdin reads from (with part `stdin`; the port must be
    /// in the manifest's `uart` grant).
    pub stdin_port: Option<u8>,
    /// The arguments after `argv[0]` (the app's name), each NUL-terminated.
    pub args: heapless::Vec<u8, MAX_WASI_STRINGS>,
    /// The environment, `KEY=VALUE` entries each NUL-terminated.
    pub env: heapless::Vec<u8, MAX_WASI_STRINGS>,
}

impl WasiScope {
    /// A scope of these parts, without stdin port, arguments or
    /// environment.
    pub fn with_parts(parts: IdSet) -> Self {
        WasiScope { parts, ..Default::default() }
    }

    /// Whether `strings` is a list of NUL-terminated strings without empty
    /// entries; with `entries`, each has a `=` after a non-empty key.
    #[cfg(feature = "wasi")]
    fn strings_ok(strings: &[u8], entries: bool) -> bool {
        if strings.last().is_some_and(|b| *b != 0) {
            return false;
        }
        strings.split(|b| *b == 0).rev().skip(1).all(|s| {
            core::str::from_utf8(s).is_ok() && (!entries || s.iter().position(|b| *b == b'=').is_some_and(|i| i > 0))
        })
    }

    /// Checks what a manifest's WASI scope needs from the rest of the set:
    /// `random` needs `rng`, `files` needs `storage`, `stdin` needs a
    /// stdin port in the `uart` grant.
    #[cfg(feature = "wasi")]
    pub(crate) fn validate(&self, caps: &CapabilitySet) -> bool {
        let has = |part| self.parts.contains(part);
        let stdin_ok = match (has(wasi::STDIN), self.stdin_port) {
            (true, Some(port)) => caps.uart.is_some_and(|u| u.contains(port.into())),
            (false, None) => true,
            _ => false,
        };
        self.parts.iter().all(|p| (p as usize) < wasi::NAMES.len())
            && (!has(wasi::RANDOM) || caps.rng)
            && (!has(wasi::FILES) || caps.storage.is_some())
            && stdin_ok
            && Self::strings_ok(&self.args, false)
            && Self::strings_ok(&self.env, true)
    }
}

/// A capability of a custom (vendor) module, with the resource ids the app
/// may use in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct VendorScope {
    /// The capability name, `namespace:module`.
    pub name: VendorName,
    /// Resource ids the module's calls are checked against.
    pub ids: IdSet,
}

mod set;

pub use set::{BeyondPolicy, CapabilitySet, VendorScopes};

#[cfg(test)]
mod tests;
