//! The capability vocabulary: one capability per bridge module.

use core::fmt;

/// A built-in capability: the right to link one bridge module.
///
/// Every bridge module an app imports from needs its capability in the app's
/// manifest; each capability carries a scope (see [`crate::scope`]) that the
/// guard checks on every call. Capabilities of custom modules live in the
/// vendor namespace instead (see [`crate::scope::VendorScope`]).
///
/// The names are the ones used in `Akira.toml`, in the binary manifest and in
/// error messages; they never change once published.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
#[non_exhaustive]
pub enum Capability {
    /// Digital pins: configure, read, write, wait for an edge.
    Gpio = 0,
    /// I2C buses and 7-bit device addresses.
    I2c = 1,
    /// SPI devices defined by the board.
    Spi = 2,
    /// UART ports.
    Uart = 3,
    /// PWM channels.
    Pwm = 4,
    /// ADC channels.
    Adc = 5,
    /// Monotonic time and sleeping.
    Timer = 6,
    /// Typed sensor channels.
    Sensor = 7,
    /// A per-app key-value store with a byte quota.
    Storage = 8,
    /// The display, whole or a region.
    Display = 9,
    /// HID reports (keyboard, mouse, gamepad, ...).
    Hid = 10,
    /// Bluetooth Low Energy roles.
    Ble = 11,
    /// Sub-GHz / LoRa radio within frequency bands and a power cap.
    Rf = 12,
    /// Network sockets to an allow-list of endpoints.
    Net = 13,
    /// Publish/subscribe between apps by topic.
    Ipc = 14,
    /// The app's own over-the-air update state.
    Ota = 15,
    /// Random numbers.
    Rng = 16,
    /// App information, yield and exit.
    Sys = 17,
    /// Console output.
    Log = 18,
    /// Controlling other apps (status, start, stop), limited to the apps
    /// named in the scope.
    App = 19,
    /// The WASI preview 1 module (`wasi_snapshot_preview1`), limited to the
    /// parts named in the scope (console, clocks, files, ...).
    Wasi = 20,
}

impl Capability {
    /// Number of built-in capabilities.
    pub const COUNT: usize = 21;

    /// Every built-in capability, in discriminant order.
    pub const ALL: [Capability; Self::COUNT] = [
        Capability::Gpio,
        Capability::I2c,
        Capability::Spi,
        Capability::Uart,
        Capability::Pwm,
        Capability::Adc,
        Capability::Timer,
        Capability::Sensor,
        Capability::Storage,
        Capability::Display,
        Capability::Hid,
        Capability::Ble,
        Capability::Rf,
        Capability::Net,
        Capability::Ipc,
        Capability::Ota,
        Capability::Rng,
        Capability::Sys,
        Capability::Log,
        Capability::App,
        Capability::Wasi,
    ];

    /// The capability's name as written in manifests.
    pub const fn name(self) -> &'static str {
        match self {
            Capability::Gpio => "gpio",
            Capability::I2c => "i2c",
            Capability::Spi => "spi",
            Capability::Uart => "uart",
            Capability::Pwm => "pwm",
            Capability::Adc => "adc",
            Capability::Timer => "timer",
            Capability::Sensor => "sensor",
            Capability::Storage => "storage",
            Capability::Display => "display",
            Capability::Hid => "hid",
            Capability::Ble => "ble",
            Capability::Rf => "rf",
            Capability::Net => "net",
            Capability::Ipc => "ipc",
            Capability::Ota => "ota",
            Capability::Rng => "rng",
            Capability::Sys => "sys",
            Capability::Log => "log",
            Capability::App => "app",
            Capability::Wasi => "wasi",
        }
    }

    /// Looks a capability up by its manifest name; `None` for an unknown name.
    ///
    /// This runs when a manifest is read, never on the call path.
    pub fn from_name(name: &str) -> Option<Capability> {
        Self::ALL.iter().copied().find(|c| c.name() == name)
    }

    /// The capability's bit in a [`CapabilityMask`].
    pub const fn bit(self) -> u32 {
        1 << (self as u32)
    }

    /// Index into per-capability tables such as denial counters.
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of built-in capabilities, one bit each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CapabilityMask(u32);

impl CapabilityMask {
    /// The empty set.
    pub const EMPTY: CapabilityMask = CapabilityMask(0);

    /// Whether `cap` is in the set.
    #[inline(always)]
    pub const fn contains(self, cap: Capability) -> bool {
        self.0 & cap.bit() != 0
    }

    /// Adds `cap` to the set.
    pub fn insert(&mut self, cap: Capability) {
        self.0 |= cap.bit();
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The capabilities in the set, in discriminant order.
    pub fn iter(self) -> impl Iterator<Item = Capability> {
        Capability::ALL.into_iter().filter(move |c| self.contains(*c))
    }
}

/// Whether `name` is a vendor capability name: `namespace:module`, each part
/// 1 to 24 characters of `a-z`, `0-9`, `-` or `_`.
///
/// Vendor names are the capabilities of modules a product team adds to the
/// bridge; the namespace keeps them apart from built-in names and from other
/// vendors.
pub fn is_vendor_name(name: &str) -> bool {
    let Some((namespace, module)) = name.split_once(':') else {
        return false;
    };
    let part_ok = |p: &str| {
        (1..=24).contains(&p.len())
            && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    };
    part_ok(namespace) && part_ok(module) && namespace != "akira"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        for (i, cap) in Capability::ALL.iter().enumerate() {
            assert_eq!(cap.index(), i);
            assert_eq!(Capability::from_name(cap.name()), Some(*cap));
        }
        assert_eq!(Capability::from_name("gpio.write"), None);
        assert_eq!(Capability::from_name("GPIO"), None);
    }

    #[test]
    fn vendor_names() {
        assert!(is_vendor_name("acme:valve"));
        assert!(is_vendor_name("acme-co:valve_2"));
        assert!(!is_vendor_name("valve"));
        assert!(!is_vendor_name("acme:"));
        assert!(!is_vendor_name(":valve"));
        assert!(!is_vendor_name("Acme:valve"));
        assert!(!is_vendor_name("akira:gpio"), "the akira namespace is reserved");
        assert!(!is_vendor_name("a:b:c"));
    }
}
