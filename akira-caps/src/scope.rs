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

/// Storage scope: the app's byte quota in its key-value store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StorageScope {
    /// Bytes of keys and values the app may keep.
    pub quota: u32,
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

/// Network scope: the endpoints the app may open sockets to. Apps name an
/// endpoint by its index in this list, so the call-time check is a bit test.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NetScope {
    /// Allowed endpoints.
    pub endpoints: heapless::Vec<Endpoint, MAX_NET_ENDPOINTS>,
}

impl NetScope {
    fn check_within(&self, policy: &Self) -> Result<(), Excess> {
        for e in &self.endpoints {
            if !policy.endpoints.iter().any(|p| p.allows(e)) {
                return Err(excess(format_args!("endpoint {}:{}", e.host, e.port)));
            }
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

/// A set of capabilities with their scopes: what a manifest requests, what
/// a policy allows, or what an app was granted.
///
/// A capability that is `None` / `false` is absent: its module is never
/// linked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CapabilitySet {
    /// `gpio`.
    pub gpio: Option<GpioScope>,
    /// `i2c`.
    pub i2c: Option<I2cScope>,
    /// `spi`: board-defined SPI device ids.
    pub spi: Option<IdSet>,
    /// `uart`: port numbers.
    pub uart: Option<IdSet>,
    /// `pwm`: channel numbers.
    pub pwm: Option<IdSet>,
    /// `adc`: channel numbers.
    pub adc: Option<IdSet>,
    /// `timer`.
    pub timer: bool,
    /// `sensor`: channel numbers.
    pub sensor: Option<IdSet>,
    /// `storage`.
    pub storage: Option<StorageScope>,
    /// `display`.
    pub display: Option<DisplayScope>,
    /// `hid`: device kinds, see [`hid`].
    pub hid: Option<IdSet>,
    /// `ble`: roles, advertising interval floor and data change rate.
    pub ble: Option<BleScope>,
    /// `rf`.
    pub rf: Option<RfScope>,
    /// `net` (on the heap: endpoint names are large and rarely granted).
    pub net: Option<Box<NetScope>>,
    /// `ipc` (on the heap, as `net`).
    pub ipc: Option<Box<IpcScope>>,
    /// `ota`: the app's own update state.
    pub ota: bool,
    /// `rng`.
    pub rng: bool,
    /// `sys`.
    pub sys: bool,
    /// `log`.
    pub log: bool,
    /// `app`: the apps it may control (on the heap, as `net`).
    pub app: Option<Box<AppScope>>,
    /// Capabilities of custom modules.
    pub vendor: VendorScopes,
}

/// The vendor capabilities of a [`CapabilitySet`]: at most
/// [`MAX_VENDOR_CAPS`], in order. They live on the heap once there is one,
/// so a set without any costs a pointer: a set is copied into every
/// manifest, policy and grant, and a product firmware counts its stack in
/// kilobytes. Reads go through the slice it derefs to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VendorScopes(Option<Box<heapless::Vec<VendorScope, MAX_VENDOR_CAPS>>>);

impl VendorScopes {
    /// No vendor capability.
    pub const fn new() -> VendorScopes {
        VendorScopes(None)
    }

    /// Adds `scope` at the end; gives it back when [`MAX_VENDOR_CAPS`] are
    /// already there.
    pub fn push(&mut self, scope: VendorScope) -> Result<(), VendorScope> {
        self.0.get_or_insert_with(Default::default).push(scope)
    }
}

impl core::ops::Deref for VendorScopes {
    type Target = [VendorScope];

    fn deref(&self) -> &[VendorScope] {
        self.0.as_deref().map_or(&[], |v| v.as_slice())
    }
}

impl<'a> IntoIterator for &'a VendorScopes {
    type Item = &'a VendorScope;
    type IntoIter = core::slice::Iter<'a, VendorScope>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for VendorScopes {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{}", &**self)
    }
}

/// A request that goes beyond what a policy allows.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BeyondPolicy {
    /// The capability's manifest name (built-in or vendor).
    pub capability: VendorName,
    /// The first item not allowed, e.g. `output pin 7`; empty when the
    /// policy does not allow the capability at all.
    pub detail: Excess,
}

impl fmt::Display for BeyondPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.detail.is_empty() {
            write!(f, "capability `{}` is not allowed by the device policy", self.capability)
        } else {
            write!(f, "capability `{}`: {} is not allowed by the device policy", self.capability, self.detail)
        }
    }
}

impl CapabilitySet {
    /// Whether the built-in capability `cap` is present.
    pub fn has(&self, cap: Capability) -> bool {
        match cap {
            Capability::Gpio => self.gpio.is_some(),
            Capability::I2c => self.i2c.is_some(),
            Capability::Spi => self.spi.is_some(),
            Capability::Uart => self.uart.is_some(),
            Capability::Pwm => self.pwm.is_some(),
            Capability::Adc => self.adc.is_some(),
            Capability::Timer => self.timer,
            Capability::Sensor => self.sensor.is_some(),
            Capability::Storage => self.storage.is_some(),
            Capability::Display => self.display.is_some(),
            Capability::Hid => self.hid.is_some(),
            Capability::Ble => self.ble.is_some(),
            Capability::Rf => self.rf.is_some(),
            Capability::Net => self.net.is_some(),
            Capability::Ipc => self.ipc.is_some(),
            Capability::Ota => self.ota,
            Capability::Rng => self.rng,
            Capability::Sys => self.sys,
            Capability::Log => self.log,
            Capability::App => self.app.is_some(),
        }
    }

    /// The vendor capability named `name`, if present.
    pub fn vendor(&self, name: &str) -> Option<&VendorScope> {
        self.vendor.iter().find(|v| v.name == name)
    }

    /// Whether no capability at all is present.
    pub fn is_empty(&self) -> bool {
        self.vendor.is_empty() && !Capability::ALL.iter().any(|c| self.has(*c))
    }

    /// Checks that every requested capability and scope lies within
    /// `policy`; the error names the first one that does not.
    pub fn check_within(&self, policy: &CapabilitySet) -> Result<(), BeyondPolicy> {
        fn scoped<S>(
            cap: Capability,
            want: &Option<S>,
            allow: &Option<S>,
            within: impl Fn(&S, &S) -> Result<(), Excess>,
        ) -> Result<(), BeyondPolicy> {
            let beyond = |detail| BeyondPolicy { capability: short_name(cap.name()), detail };
            match (want, allow) {
                (None, _) => Ok(()),
                (Some(_), None) => Err(beyond(Excess::new())),
                (Some(w), Some(a)) => within(w, a).map_err(beyond),
            }
        }
        fn ids(what: &'static str) -> impl Fn(&IdSet, &IdSet) -> Result<(), Excess> {
            move |w, a| match w.first_outside(*a) {
                None => Ok(()),
                Some(id) => Err(excess(format_args!("{what} {id}"))),
            }
        }
        fn named(names: &'static [&'static str]) -> impl Fn(&IdSet, &IdSet) -> Result<(), Excess> {
            move |w, a| match w.first_outside(*a) {
                None => Ok(()),
                Some(id) => {
                    Err(excess(format_args!("{}", names.get(id as usize).copied().unwrap_or("unknown member"))))
                }
            }
        }
        let unit = |cap: Capability, want: bool, allow: bool| {
            let as_opt = |b: bool| b.then_some(());
            scoped(cap, &as_opt(want), &as_opt(allow), |_, _| Ok(()))
        };

        scoped(Capability::Gpio, &self.gpio, &policy.gpio, GpioScope::check_within)?;
        scoped(Capability::I2c, &self.i2c, &policy.i2c, I2cScope::check_within)?;
        scoped(Capability::Spi, &self.spi, &policy.spi, ids("device"))?;
        scoped(Capability::Uart, &self.uart, &policy.uart, ids("port"))?;
        scoped(Capability::Pwm, &self.pwm, &policy.pwm, ids("channel"))?;
        scoped(Capability::Adc, &self.adc, &policy.adc, ids("channel"))?;
        unit(Capability::Timer, self.timer, policy.timer)?;
        scoped(Capability::Sensor, &self.sensor, &policy.sensor, ids("channel"))?;
        scoped(Capability::Storage, &self.storage, &policy.storage, |w, a| {
            if w.quota <= a.quota {
                Ok(())
            } else {
                Err(excess(format_args!("quota {} bytes (policy allows {})", w.quota, a.quota)))
            }
        })?;
        scoped(Capability::Display, &self.display, &policy.display, DisplayScope::check_within)?;
        scoped(Capability::Hid, &self.hid, &policy.hid, named(&hid::NAMES))?;
        scoped(Capability::Ble, &self.ble, &policy.ble, BleScope::check_within)?;
        scoped(Capability::Rf, &self.rf, &policy.rf, RfScope::check_within)?;
        scoped(Capability::Net, &self.net, &policy.net, |w, a| w.check_within(a))?;
        scoped(Capability::Ipc, &self.ipc, &policy.ipc, |w, a| w.check_within(a))?;
        unit(Capability::Ota, self.ota, policy.ota)?;
        unit(Capability::Rng, self.rng, policy.rng)?;
        unit(Capability::Sys, self.sys, policy.sys)?;
        unit(Capability::Log, self.log, policy.log)?;
        scoped(Capability::App, &self.app, &policy.app, |w, a| w.check_within(a))?;
        for want in &self.vendor {
            let beyond = |detail| BeyondPolicy { capability: want.name.clone(), detail };
            let allow = policy.vendor(&want.name).ok_or_else(|| beyond(Excess::new()))?;
            ids("id")(&want.ids, &allow.ids).map_err(beyond)?;
        }
        Ok(())
    }

    /// Checks the invariants a parser cannot express in types (reserved I2C
    /// addresses, empty names, inverted bands). `Err` names the capability.
    pub(crate) fn validate(&self) -> Result<(), Capability> {
        let bad = |ok: bool, cap| if ok { Ok(()) } else { Err(cap) };
        bad(self.i2c.as_ref().is_none_or(I2cScope::validate), Capability::I2c)?;
        bad(self.ble.as_ref().is_none_or(BleScope::validate), Capability::Ble)?;
        bad(self.rf.as_ref().is_none_or(RfScope::validate), Capability::Rf)?;
        bad(self.net.as_deref().is_none_or(NetScope::validate), Capability::Net)?;
        bad(self.ipc.as_deref().is_none_or(IpcScope::validate), Capability::Ipc)?;
        bad(self.app.as_deref().is_none_or(AppScope::validate), Capability::App)?;
        Ok(())
    }

    /// A set that allows everything a scope can express: every pin, bus
    /// address, id, the whole display, every BLE role down to the 20 ms
    /// interval without a change-rate limit, any band up to `+30 dBm`
    /// without a duty-cycle limit, any endpoint, any topic, control of any
    /// app. Meant for development policies and simulators,
    /// never for devices in the field. Vendor capabilities must still be
    /// listed by name.
    pub fn everything() -> CapabilitySet {
        let mut any_host = HostName::new();
        let _ = any_host.push('*');
        let mut any_topic = Topic::new();
        let _ = any_topic.push('*');
        let mut endpoints = heapless::Vec::new();
        let _ = endpoints.push(Endpoint { host: any_host, port: 0 });
        let mut topics = heapless::Vec::new();
        let _ = topics.push(any_topic);
        let mut bands = heapless::Vec::new();
        let _ = bands.push(Band { from_hz: 0, to_hz: u32::MAX });
        CapabilitySet {
            gpio: Some(GpioScope::new(PinSet::FULL, PinSet::FULL, PinSet::FULL)),
            i2c: Some(I2cScope { buses: [AddrSet::FULL; MAX_I2C_BUSES] }),
            spi: Some(IdSet::FULL),
            uart: Some(IdSet::FULL),
            pwm: Some(IdSet::FULL),
            adc: Some(IdSet::FULL),
            timer: true,
            sensor: Some(IdSet::FULL),
            storage: Some(StorageScope { quota: u32::MAX }),
            display: Some(DisplayScope::WHOLE),
            hid: Some(IdSet::FULL),
            ble: Some(BleScope {
                roles: (0..ble::NAMES.len() as u32).collect(),
                min_adv_interval_ms: BleScope::MIN_ADV_INTERVAL_MS,
                adv_changes_per_s: u16::MAX,
            }),
            rf: Some(RfScope { bands, max_power_dbm: 30, duty_cycle_permille: RfScope::NO_DUTY_CYCLE_LIMIT }),
            net: Some(Box::new(NetScope { endpoints })),
            ipc: Some(Box::new(IpcScope { publish: topics.clone(), subscribe: topics })),
            ota: true,
            rng: true,
            sys: true,
            log: true,
            app: Some(Box::new(AppScope { apps: heapless::Vec::from_iter(AppName::try_from("*").ok()) })),
            vendor: VendorScopes::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pins(list: &[u32]) -> PinSet {
        list.iter().copied().collect()
    }

    #[test]
    fn gpio_beyond_policy_names_pin_and_direction() {
        let want = CapabilitySet {
            gpio: Some(GpioScope::new(pins(&[0]), pins(&[2, 7]), PinSet::EMPTY)),
            ..Default::default()
        };
        let allow =
            CapabilitySet { gpio: Some(GpioScope::new(pins(&[0]), pins(&[2]), PinSet::EMPTY)), ..Default::default() };
        let err = want.check_within(&allow).unwrap_err();
        assert_eq!(err.capability, "gpio");
        assert_eq!(err.detail, "output pin 7");
    }

    #[test]
    fn absent_in_policy_is_refused() {
        let want = CapabilitySet { log: true, timer: true, ..Default::default() };
        let allow = CapabilitySet { log: true, ..Default::default() };
        let err = want.check_within(&allow).unwrap_err();
        assert_eq!(err.capability, "timer");
        assert!(err.detail.is_empty());
    }

    #[test]
    fn edge_pins_are_inputs() {
        let g = GpioScope::new(PinSet::EMPTY, PinSet::EMPTY, pins(&[3]));
        assert!(g.input.contains(3));
    }

    #[test]
    fn everything_allows_any_builtin_request() {
        let mut endpoints = heapless::Vec::new();
        endpoints.push(Endpoint { host: HostName::try_from("example.com").unwrap(), port: 443 }).unwrap();
        let want = CapabilitySet {
            gpio: Some(GpioScope::new(pins(&[1]), pins(&[63]), pins(&[5]))),
            storage: Some(StorageScope { quota: 4096 }),
            net: Some(Box::new(NetScope { endpoints })),
            display: Some(DisplayScope { x: 10, y: 10, width: 50, height: 20 }),
            log: true,
            ..Default::default()
        };
        want.check_within(&CapabilitySet::everything()).unwrap();
    }

    #[test]
    fn vendor_needs_policy_by_name() {
        let mut want = CapabilitySet::default();
        want.vendor.push(VendorScope { name: short_name("acme:valve"), ids: [0, 1].into_iter().collect() }).unwrap();
        let err = want.check_within(&CapabilitySet::everything()).unwrap_err();
        assert_eq!(err.capability, "acme:valve");
        let mut allow = CapabilitySet::default();
        allow.vendor.push(VendorScope { name: short_name("acme:valve"), ids: [0].into_iter().collect() }).unwrap();
        let err = want.check_within(&allow).unwrap_err();
        assert_eq!(err.detail, "id 1");
    }

    #[test]
    fn ble_beyond_policy_names_role_floor_or_rate() {
        let policy = BleScope { roles: [ble::SCAN].into_iter().collect(), ..Default::default() };
        let allow = CapabilitySet { ble: Some(policy), ..Default::default() };
        let ask = |b: BleScope| CapabilitySet { ble: Some(b), ..Default::default() }.check_within(&allow);
        assert_eq!(ask(BleScope::with_roles([ble::ADVERTISE].into_iter().collect())).unwrap_err().detail, "advertise");
        let scan = BleScope::with_roles([ble::SCAN].into_iter().collect());
        ask(scan).unwrap();
        ask(BleScope { min_adv_interval_ms: 500, ..scan }).unwrap();
        let e = ask(BleScope { min_adv_interval_ms: 20, ..scan }).unwrap_err();
        assert_eq!(e.detail, "advertising interval 20 ms (policy allows 100 ms and up)");
        let e = ask(BleScope { adv_changes_per_s: 5, ..scan }).unwrap_err();
        assert_eq!(e.detail, "5 advertising data changes per second (policy allows 1)");
        let everything = BleScope { adv_changes_per_s: 1000, min_adv_interval_ms: 20, ..scan };
        CapabilitySet { ble: Some(everything), ..Default::default() }
            .check_within(&CapabilitySet::everything())
            .unwrap();
    }

    #[test]
    fn display_region_containment() {
        let screen = DisplayScope { x: 0, y: 0, width: 240, height: 135 };
        assert!(screen.contains_rect(0, 0, 240, 135));
        assert!(!screen.contains_rect(1, 0, 240, 135));
        assert!(!screen.contains_rect(u32::MAX, 0, 2, 2), "no overflow");
    }
}
