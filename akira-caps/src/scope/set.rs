//! [`CapabilitySet`]: every capability with its scope, and how a request
//! is checked against a policy and intersected with it.

use super::*;

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
    /// `wasi`: its parts, stdin port, arguments and environment (on the
    /// heap, as `net`).
    #[cfg(feature = "wasi")]
    pub wasi: Option<Box<WasiScope>>,
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
            #[cfg(feature = "wasi")]
            Capability::Wasi => self.wasi.is_some(),
            #[cfg(not(feature = "wasi"))]
            Capability::Wasi => false,
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
        scoped(Capability::Storage, &self.storage, &policy.storage, StorageScope::check_within)?;
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
        #[cfg(feature = "wasi")]
        scoped(Capability::Wasi, &self.wasi, &policy.wasi, |w, a| named(&wasi::NAMES)(&w.parts, &a.parts))?;
        for want in &self.vendor {
            let beyond = |detail| BeyondPolicy { capability: want.name.clone(), detail };
            let allow = policy.vendor(&want.name).ok_or_else(|| beyond(Excess::new()))?;
            ids("id")(&want.ids, &allow.ids).map_err(beyond)?;
        }
        Ok(())
    }

    /// Checks the invariants a parser cannot express in types (reserved I2C
    /// addresses, empty names, inverted bands, WASI parts without the
    /// capabilities they need). `Err` names the capability.
    pub(crate) fn validate(&self) -> Result<(), Capability> {
        let bad = |ok: bool, cap| if ok { Ok(()) } else { Err(cap) };
        bad(self.i2c.as_ref().is_none_or(I2cScope::validate), Capability::I2c)?;
        bad(self.ble.as_ref().is_none_or(BleScope::validate), Capability::Ble)?;
        bad(self.rf.as_ref().is_none_or(RfScope::validate), Capability::Rf)?;
        bad(self.net.as_deref().is_none_or(NetScope::validate), Capability::Net)?;
        bad(self.ipc.as_deref().is_none_or(IpcScope::validate), Capability::Ipc)?;
        bad(self.app.as_deref().is_none_or(AppScope::validate), Capability::App)?;
        #[cfg(feature = "wasi")]
        bad(self.wasi.as_deref().is_none_or(|w| w.validate(self)), Capability::Wasi)?;
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
            storage: Some(StorageScope { quota: u32::MAX, writes_per_hour: u32::MAX }),
            display: Some(DisplayScope::WHOLE),
            hid: Some(IdSet::FULL),
            ble: Some(BleScope {
                roles: (0..ble::NAMES.len() as u32).collect(),
                min_adv_interval_ms: BleScope::MIN_ADV_INTERVAL_MS,
                adv_changes_per_s: u16::MAX,
            }),
            rf: Some(RfScope { bands, max_power_dbm: 30, duty_cycle_permille: RfScope::NO_DUTY_CYCLE_LIMIT }),
            net: Some(Box::new(NetScope { endpoints, sockets: u8::MAX })),
            ipc: Some(Box::new(IpcScope { publish: topics.clone(), subscribe: topics })),
            ota: true,
            rng: true,
            sys: true,
            log: true,
            app: Some(Box::new(AppScope { apps: heapless::Vec::from_iter(AppName::try_from("*").ok()) })),
            #[cfg(feature = "wasi")]
            // Every part; stdin reads UART port 0 (a stdin part without a
            // port does not make a valid manifest).
            wasi: Some(Box::new(WasiScope {
                stdin_port: Some(0),
                ..WasiScope::with_parts((0..wasi::NAMES.len() as u32).collect())
            })),
            vendor: VendorScopes::new(),
        }
    }
}
