//! The app manifest and its binary form.
//!
//! A manifest travels inside the app's wasm as a custom section named
//! [`SECTION_NAME`]. Its binary form is postcard: a header with the app's
//! identity and resource limits, then one `(name, scope bytes)` entry per
//! capability. Capabilities are named by string, not by enum index, so a
//! device that meets a capability it does not know reports it by name
//! ([`ManifestError::UnknownCapability`]) instead of a number, and each scope
//! is length-delimited so a malformed one is reported against its
//! capability.

use alloc::boxed::Box;
use core::fmt;
use serde::{Deserialize, Serialize};

use crate::capability::{Capability, is_vendor_name};
use crate::scope::{CapabilitySet, MAX_VENDOR_CAPS, VendorName, VendorScope};
use crate::sets::IdSet;

/// Name of the wasm custom section that holds the binary manifest.
pub const SECTION_NAME: &str = "akira.manifest";

/// The app ABI this crate describes (see `docs/abi.md`). An app built for
/// a newer ABI is refused by older firmware.
pub const ABI_VERSION: u16 = 1;

/// Version of the binary manifest format this crate reads and writes.
pub const FORMAT_VERSION: u8 = 1;

/// Most capability entries one manifest may hold.
pub const MAX_CAPABILITIES: usize = Capability::COUNT + MAX_VENDOR_CAPS;

/// Longest app name, in bytes.
pub const MAX_APP_NAME_LEN: usize = 32;

/// Default linear-memory limit when a manifest states none: 64 KiB.
pub const DEFAULT_MEMORY_LIMIT: u32 = 64 * 1024;
/// Default stack size for the build step: 8 KiB.
pub const DEFAULT_STACK_SIZE: u32 = 8 * 1024;
/// Default CPU budget: fuel (about one unit per wasm instruction) an app may
/// spend between two waits before it is stopped as a runaway.
pub const DEFAULT_CPU_BUDGET: u64 = 5_000_000;

/// An app name: 1 to 32 characters of `a-z`, `0-9`, `-` and `_`.
pub type AppName = heapless::String<MAX_APP_NAME_LEN>;

/// Whether `name` is a valid app name.
pub fn is_app_name(name: &str) -> bool {
    (1..=MAX_APP_NAME_LEN).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// An app version, ordered (the OTA store uses it to refuse downgrades).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Version {
    /// Incompatible changes.
    pub major: u16,
    /// Compatible additions.
    pub minor: u16,
    /// Fixes.
    pub patch: u16,
}

impl Version {
    /// A version from its three parts.
    pub const fn new(major: u16, minor: u16, patch: u16) -> Self {
        Version { major, minor, patch }
    }

    /// Parses `major.minor.patch`.
    pub fn parse(text: &str) -> Option<Version> {
        let mut parts = text.split('.');
        let mut next = || parts.next()?.parse::<u16>().ok();
        let v = Version::new(next()?, next()?, next()?);
        if parts.next().is_some() { None } else { Some(v) }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// What an app declares about itself: identity, resource limits and the
/// capabilities it needs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Manifest {
    /// The app's name.
    pub name: AppName,
    /// The app's version.
    pub version: Version,
    /// The app ABI the app was built against.
    pub abi: u16,
    /// Most bytes of linear memory the app may have.
    pub memory_limit: u32,
    /// Stack bytes the app was linked with (informational on the device; the
    /// build step uses it to size memory).
    pub stack_size: u32,
    /// Heap bytes the app needs beyond its static data and stack.
    pub heap_size: u32,
    /// Fuel the app may spend between two waits (sleep, edge wait, yield)
    /// before it is stopped as a runaway.
    pub cpu_budget: u64,
    /// The capabilities requested, with scopes.
    pub capabilities: CapabilitySet,
}

impl Manifest {
    /// A manifest with default limits and no capabilities.
    pub fn new(name: AppName, version: Version) -> Self {
        Manifest {
            name,
            version,
            abi: ABI_VERSION,
            memory_limit: DEFAULT_MEMORY_LIMIT,
            stack_size: DEFAULT_STACK_SIZE,
            heap_size: 0,
            cpu_budget: DEFAULT_CPU_BUDGET,
            capabilities: CapabilitySet::default(),
        }
    }
}

/// Why a binary manifest was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ManifestError {
    /// The bytes are not a manifest (truncated, corrupt, trailing bytes).
    Malformed,
    /// The manifest uses a binary format this crate does not read.
    UnsupportedFormat(u8),
    /// The app name is empty, too long or has characters outside `a-z0-9-_`.
    InvalidName,
    /// A capability name this firmware does not know.
    UnknownCapability(VendorName),
    /// A capability's scope could not be read or breaks an invariant.
    MalformedScope(VendorName),
    /// The same capability is listed twice.
    DuplicateCapability(VendorName),
    /// More capability entries than [`MAX_CAPABILITIES`] or vendor entries
    /// than the set can hold.
    TooManyCapabilities,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ManifestError::Malformed => f.write_str("manifest is malformed"),
            ManifestError::UnsupportedFormat(v) => {
                write!(f, "manifest format {v} is not supported (this firmware reads {FORMAT_VERSION})")
            }
            ManifestError::InvalidName => f.write_str("app name must be 1 to 32 characters of a-z, 0-9, '-' or '_'"),
            ManifestError::UnknownCapability(n) => write!(f, "unknown capability `{n}`"),
            ManifestError::MalformedScope(n) => write!(f, "malformed scope for capability `{n}`"),
            ManifestError::DuplicateCapability(n) => write!(f, "capability `{n}` is listed twice"),
            ManifestError::TooManyCapabilities => {
                write!(f, "too many capabilities (at most {MAX_CAPABILITIES})")
            }
        }
    }
}

impl core::error::Error for ManifestError {}

/// Copies at most [`VendorName`]'s capacity of `name`, on a char boundary.
pub(crate) fn short_name(name: &str) -> VendorName {
    let mut s = VendorName::new();
    for ch in name.chars() {
        if s.push(ch).is_err() {
            break;
        }
    }
    s
}

#[derive(Debug, Serialize, Deserialize)]
struct WireEntry<'a> {
    #[serde(borrow)]
    name: &'a str,
    /// Postcard writes a byte slice as its length and the bytes, the same
    /// whether serialised as a sequence or read back borrowed as bytes.
    #[serde(borrow)]
    scope: &'a [u8],
}

#[derive(Serialize, Deserialize)]
struct WireManifest<'a> {
    format: u8,
    #[serde(borrow)]
    name: &'a str,
    version: Version,
    abi: u16,
    memory_limit: u32,
    stack_size: u32,
    heap_size: u32,
    cpu_budget: u64,
    #[serde(borrow)]
    capabilities: heapless::Vec<WireEntry<'a>, MAX_CAPABILITIES>,
}

/// Decodes one scope, requiring that it uses all its bytes.
fn scope<'a, T: Deserialize<'a>>(bytes: &'a [u8], name: &str) -> Result<T, ManifestError> {
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((value, [])) => Ok(value),
        _ => Err(ManifestError::MalformedScope(short_name(name))),
    }
}

/// Decodes a scope that gained a field, from its current form or, for
/// manifests built before, its first form (`T`'s fields then take their
/// defaults through `upgrade`).
fn scope_or_first<'a, T: Deserialize<'a>, F: Deserialize<'a>>(
    bytes: &'a [u8],
    name: &str,
    upgrade: fn(F) -> T,
) -> Result<T, ManifestError> {
    scope(bytes, name).or_else(|_| scope(bytes, name).map(upgrade))
}

fn unit(bytes: &[u8], name: &str) -> Result<bool, ManifestError> {
    if bytes.is_empty() { Ok(true) } else { Err(ManifestError::MalformedScope(short_name(name))) }
}

impl Manifest {
    /// Reads a binary manifest (the content of the [`SECTION_NAME`] custom
    /// section).
    ///
    /// Every capability name must be known to this firmware, appear once,
    /// and carry a well-formed scope; otherwise the error names it.
    pub fn decode(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        let wire = match postcard::take_from_bytes::<WireManifest<'_>>(bytes) {
            Ok((wire, [])) => wire,
            // An unsupported format may not parse at all: report the format
            // byte when it is there.
            _ if bytes.first().is_some_and(|v| *v != FORMAT_VERSION) => {
                return Err(ManifestError::UnsupportedFormat(bytes[0]));
            }
            _ => return Err(ManifestError::Malformed),
        };
        if wire.format != FORMAT_VERSION {
            return Err(ManifestError::UnsupportedFormat(wire.format));
        }
        if !is_app_name(wire.name) {
            return Err(ManifestError::InvalidName);
        }
        let mut caps = CapabilitySet::default();
        let mut seen = crate::capability::CapabilityMask::EMPTY;
        for WireEntry { name, scope: bytes } in wire.capabilities.iter() {
            let (name, bytes) = (*name, *bytes);
            if is_vendor_name(name) {
                if caps.vendor(name).is_some() {
                    return Err(ManifestError::DuplicateCapability(short_name(name)));
                }
                let ids: IdSet = scope(bytes, name)?;
                caps.vendor
                    .push(VendorScope { name: short_name(name), ids })
                    .map_err(|_| ManifestError::TooManyCapabilities)?;
                continue;
            }
            let cap = Capability::from_name(name).ok_or_else(|| ManifestError::UnknownCapability(short_name(name)))?;
            if seen.contains(cap) {
                return Err(ManifestError::DuplicateCapability(short_name(name)));
            }
            seen.insert(cap);
            match cap {
                Capability::Gpio => {
                    let g: crate::scope::GpioScope = scope(bytes, name)?;
                    caps.gpio = Some(crate::scope::GpioScope::new(g.input, g.output, g.edge));
                }
                Capability::I2c => caps.i2c = Some(scope(bytes, name)?),
                Capability::Spi => caps.spi = Some(scope(bytes, name)?),
                Capability::Uart => caps.uart = Some(scope(bytes, name)?),
                Capability::Pwm => caps.pwm = Some(scope(bytes, name)?),
                Capability::Adc => caps.adc = Some(scope(bytes, name)?),
                Capability::Timer => caps.timer = unit(bytes, name)?,
                Capability::Sensor => caps.sensor = Some(scope(bytes, name)?),
                Capability::Storage => {
                    // Before the write budget: the quota alone.
                    caps.storage = Some(scope_or_first(bytes, name, crate::scope::StorageScope::with_quota)?);
                }
                Capability::Display => caps.display = Some(scope(bytes, name)?),
                Capability::Hid => caps.hid = Some(scope(bytes, name)?),
                Capability::Ble => caps.ble = Some(scope(bytes, name)?),
                Capability::Rf => caps.rf = Some(scope(bytes, name)?),
                Capability::Net => {
                    // Before the socket share: the endpoints alone.
                    let first = |endpoints| crate::scope::NetScope { endpoints, ..Default::default() };
                    caps.net = Some(Box::new(scope_or_first(bytes, name, first)?));
                }
                Capability::Ipc => caps.ipc = Some(Box::new(scope(bytes, name)?)),
                Capability::Ota => caps.ota = unit(bytes, name)?,
                Capability::Rng => caps.rng = unit(bytes, name)?,
                Capability::Sys => caps.sys = unit(bytes, name)?,
                Capability::Log => caps.log = unit(bytes, name)?,
                Capability::App => caps.app = Some(Box::new(scope(bytes, name)?)),
                #[cfg(feature = "wasi")]
                Capability::Wasi => caps.wasi = Some(Box::new(scope(bytes, name)?)),
                // A firmware without WASI refuses apps that ask for it.
                #[cfg(not(feature = "wasi"))]
                Capability::Wasi => return Err(ManifestError::UnknownCapability(short_name(name))),
            }
        }
        caps.validate().map_err(|cap| ManifestError::MalformedScope(short_name(cap.name())))?;
        Ok(Manifest {
            name: AppName::try_from(wire.name).map_err(|_| ManifestError::InvalidName)?,
            version: wire.version,
            abi: wire.abi,
            memory_limit: wire.memory_limit,
            stack_size: wire.stack_size,
            heap_size: wire.heap_size,
            cpu_budget: wire.cpu_budget,
            capabilities: caps,
        })
    }

    /// Writes the binary manifest, ready to be stored in the
    /// [`SECTION_NAME`] custom section.
    ///
    /// Only host tools write manifests, so this needs the `alloc` feature.
    #[cfg(feature = "alloc")]
    pub fn encode(&self) -> alloc::vec::Vec<u8> {
        use alloc::vec::Vec;
        fn bytes<T: Serialize>(v: &T) -> Vec<u8> {
            // Serialising plain data into a growable buffer cannot fail.
            postcard::to_allocvec(v).unwrap_or_default()
        }
        let c = &self.capabilities;
        let mut scopes: Vec<(&str, Vec<u8>)> = Vec::new();
        let mut put = |cap: Capability, scope: Option<Vec<u8>>| {
            if let Some(s) = scope {
                scopes.push((cap.name(), s));
            }
        };
        let unit = |present: bool| present.then(Vec::new);
        put(Capability::Gpio, c.gpio.as_ref().map(bytes));
        put(Capability::I2c, c.i2c.as_ref().map(bytes));
        put(Capability::Spi, c.spi.as_ref().map(bytes));
        put(Capability::Uart, c.uart.as_ref().map(bytes));
        put(Capability::Pwm, c.pwm.as_ref().map(bytes));
        put(Capability::Adc, c.adc.as_ref().map(bytes));
        put(Capability::Timer, unit(c.timer));
        put(Capability::Sensor, c.sensor.as_ref().map(bytes));
        put(Capability::Storage, c.storage.as_ref().map(bytes));
        put(Capability::Display, c.display.as_ref().map(bytes));
        put(Capability::Hid, c.hid.as_ref().map(bytes));
        put(Capability::Ble, c.ble.as_ref().map(bytes));
        put(Capability::Rf, c.rf.as_ref().map(bytes));
        put(Capability::Net, c.net.as_ref().map(bytes));
        put(Capability::Ipc, c.ipc.as_ref().map(bytes));
        put(Capability::Ota, unit(c.ota));
        put(Capability::Rng, unit(c.rng));
        put(Capability::Sys, unit(c.sys));
        put(Capability::Log, unit(c.log));
        put(Capability::App, c.app.as_ref().map(bytes));
        #[cfg(feature = "wasi")]
        put(Capability::Wasi, c.wasi.as_ref().map(bytes));
        for v in &c.vendor {
            scopes.push((v.name.as_str(), bytes(&v.ids)));
        }
        let mut entries = heapless::Vec::new();
        for (name, scope) in &scopes {
            // The set holds at most one entry per built-in capability plus
            // MAX_VENDOR_CAPS vendor entries, which is the wire capacity.
            let _ = entries.push(WireEntry { name, scope });
        }
        bytes(&WireManifest {
            format: FORMAT_VERSION,
            name: &self.name,
            version: self.version,
            abi: self.abi,
            memory_limit: self.memory_limit,
            stack_size: self.stack_size,
            heap_size: self.heap_size,
            cpu_budget: self.cpu_budget,
            capabilities: entries,
        })
    }
}

#[cfg(feature = "alloc")]
impl Manifest {
    /// The whole wasm custom section (id, size, name, payload) holding
    /// this manifest; appending it to a module that has none embeds the
    /// manifest.
    pub fn custom_section(&self) -> alloc::vec::Vec<u8> {
        use wasm_encoder::{CustomSection, Encode, Section};
        let section = CustomSection { name: SECTION_NAME.into(), data: self.encode().into() };
        let mut out = alloc::vec![section.id()];
        section.encode(&mut out);
        out
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;
    use crate::scope::{GpioScope, I2cScope, StorageScope};
    use crate::sets::{AddrSet, PinSet};
    use alloc::vec::Vec;

    fn sample() -> Manifest {
        let mut m = Manifest::new(AppName::try_from("blinky").unwrap(), Version::new(1, 2, 3));
        m.capabilities.gpio = Some(GpioScope::new(PinSet::EMPTY, [2].into_iter().collect(), PinSet::EMPTY));
        let mut buses = [AddrSet::EMPTY; 4];
        buses[1] = [0x48].into_iter().collect();
        m.capabilities.i2c = Some(I2cScope { buses });
        m.capabilities.storage = Some(StorageScope { quota: 4096, writes_per_hour: 8192 });
        m.capabilities.timer = true;
        m.capabilities.log = true;
        m.capabilities
            .vendor
            .push(VendorScope { name: short_name("acme:valve"), ids: [3].into_iter().collect() })
            .unwrap();
        m
    }

    #[test]
    fn round_trip() {
        let m = sample();
        assert_eq!(Manifest::decode(&m.encode()).unwrap(), m);
    }

    /// A manifest asking for everything a policy can grant (device
    /// addresses only on I2C: the full set holds reserved ones) is a valid
    /// manifest: tests and fuzz targets build their probes from it.
    #[test]
    fn everything_round_trips() {
        let mut m = sample();
        m.capabilities = crate::CapabilitySet::everything();
        let devices: AddrSet = (0x08..=0x77).collect();
        m.capabilities.i2c = Some(I2cScope { buses: [devices; 4] });
        assert_eq!(Manifest::decode(&m.encode()).unwrap(), m);
    }

    fn raw(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut list = heapless::Vec::new();
        for (name, scope) in entries {
            list.push(WireEntry { name, scope }).unwrap();
        }
        postcard::to_allocvec(&WireManifest {
            format: FORMAT_VERSION,
            name: "x",
            version: Version::new(0, 1, 0),
            abi: ABI_VERSION,
            memory_limit: 4096,
            stack_size: 1024,
            heap_size: 0,
            cpu_budget: 1000,
            capabilities: list,
        })
        .unwrap()
    }

    #[test]
    fn unknown_capability_is_named() {
        let err = Manifest::decode(&raw(&[("log", &[]), ("lidar", &[])])).unwrap_err();
        assert_eq!(err, ManifestError::UnknownCapability(short_name("lidar")));
        assert_eq!(err.to_string(), "unknown capability `lidar`");
    }

    #[test]
    fn malformed_scope_is_named() {
        // A unit capability with scope bytes, and a truncated gpio scope.
        assert_eq!(
            Manifest::decode(&raw(&[("log", &[1])])).unwrap_err(),
            ManifestError::MalformedScope(short_name("log"))
        );
        assert_eq!(
            Manifest::decode(&raw(&[("gpio", &[4])])).unwrap_err(),
            ManifestError::MalformedScope(short_name("gpio"))
        );
        // Reserved I2C address 0x00 (general call).
        let mut buses = [AddrSet::EMPTY; 4];
        buses[0] = [0].into_iter().collect();
        let scope = postcard::to_allocvec(&I2cScope { buses }).unwrap();
        assert_eq!(
            Manifest::decode(&raw(&[("i2c", &scope)])).unwrap_err(),
            ManifestError::MalformedScope(short_name("i2c"))
        );
    }

    #[test]
    fn scopes_of_earlier_manifests_read_with_defaults() {
        use crate::scope::{Endpoint, NetScope};
        // The storage scope before the write budget: its quota alone.
        let old = postcard::to_allocvec(&4096u32).unwrap();
        let m = Manifest::decode(&raw(&[("storage", &old)])).unwrap();
        assert_eq!(m.capabilities.storage, Some(StorageScope::with_quota(4096)));
        // The network scope before the socket share: its endpoints.
        let mut endpoints: heapless::Vec<Endpoint, 8> = heapless::Vec::new();
        endpoints.push(Endpoint { host: "a.example".try_into().unwrap(), port: 80 }).unwrap();
        let old = postcard::to_allocvec(&endpoints).unwrap();
        let m = Manifest::decode(&raw(&[("net", &old)])).unwrap();
        assert_eq!(m.capabilities.net.as_deref(), Some(&NetScope { endpoints, sockets: NetScope::DEFAULT_SOCKETS }));
    }

    #[test]
    fn duplicates_are_refused() {
        assert_eq!(
            Manifest::decode(&raw(&[("log", &[]), ("log", &[])])).unwrap_err(),
            ManifestError::DuplicateCapability(short_name("log"))
        );
    }

    #[test]
    fn truncation_and_trailing_bytes_are_malformed() {
        let bytes = sample().encode();
        for cut in 0..bytes.len() {
            assert!(Manifest::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(Manifest::decode(&longer).unwrap_err(), ManifestError::Malformed);
    }

    #[test]
    fn format_version_is_checked() {
        let mut bytes = sample().encode();
        bytes[0] = 9;
        assert_eq!(Manifest::decode(&bytes).unwrap_err(), ManifestError::UnsupportedFormat(9));
    }

    #[test]
    fn version_parse() {
        assert_eq!(Version::parse("1.20.3"), Some(Version::new(1, 20, 3)));
        assert_eq!(Version::parse("1.2"), None);
        assert_eq!(Version::parse("1.2.3.4"), None);
        assert_eq!(Version::parse("1.x.3"), None);
        assert!(Version::new(1, 10, 0) > Version::new(1, 9, 9));
    }
}
