//! An app's attribute table: its services and characteristics, within the
//! bounds apps share, and the jobs checked against it.

use crate::errno::Errno;
use crate::modules::ble::AdvConfig;

/// Services an app may declare.
pub const MAX_SERVICES: usize = 2;

/// Characteristics an app may declare, over all its services.
pub const MAX_CHARACTERISTICS: usize = 8;

/// Longest characteristic value, in bytes.
pub const MAX_VALUE: usize = 64;

/// Value bytes (the sum of the characteristics' maximum lengths) an app's
/// table may hold.
pub const VALUE_BYTES: usize = 256;

/// Characteristic property bits, as the Bluetooth core specification
/// numbers them (Vol 3, Part G, 3.3.1.1).
pub mod property {
    /// The central may read the value.
    pub const READ: u8 = 0x02;
    /// The central may write the value without a response.
    pub const WRITE_WITHOUT_RESPONSE: u8 = 0x04;
    /// The central may write the value (with a response).
    pub const WRITE: u8 = 0x08;
    /// The central may subscribe to notifications of the value.
    pub const NOTIFY: u8 = 0x10;
    /// Every property Akira supports.
    pub const ALL: u8 = READ | WRITE_WITHOUT_RESPONSE | WRITE | NOTIFY;
}

/// A service or characteristic UUID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Uuid {
    /// A 16-bit UUID assigned by the Bluetooth SIG (e.g. `0x181a`,
    /// Environmental Sensing).
    Short(u16),
    /// A 128-bit UUID, least significant byte first (as ATT carries it).
    Long([u8; 16]),
}

impl Uuid {
    /// A UUID from the bytes an app passes: 2 (a 16-bit UUID) or 16, least
    /// significant byte first; other lengths are [`Errno::Invalid`]. (The
    /// `uuid` crate knows neither SIG-assigned 16-bit UUIDs nor ATT's
    /// byte order, so this length check stays here; it formats the
    /// 128-bit form, below.)
    pub fn from_le_bytes(bytes: &[u8]) -> Result<Uuid, Errno> {
        match bytes {
            [lo, hi] => Ok(Uuid::Short(u16::from_le_bytes([*lo, *hi]))),
            _ => bytes.try_into().map(Uuid::Long).map_err(|_| Errno::Invalid),
        }
    }
}

impl core::fmt::Display for Uuid {
    /// `181a`, or `12345678-9abc-def0-1234-56789abcdef0`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Uuid::Short(u) => write!(f, "{u:04x}"),
            // ATT carries the 128 bits least significant byte first.
            Uuid::Long(b) => core::fmt::Display::fmt(&uuid::Uuid::from_u128(u128::from_le_bytes(*b)), f),
        }
    }
}

/// A characteristic as an app declared it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Characteristic {
    /// The service it belongs to (its index in the table).
    pub service: u8,
    /// Its UUID.
    pub uuid: Uuid,
    /// [`property`] bits.
    pub properties: u8,
    /// Longest value, 1 to [`MAX_VALUE`] bytes.
    pub max_len: u8,
}

impl Characteristic {
    /// Whether it has all the [`property`] bits in `bits`.
    pub fn has(&self, bits: u8) -> bool {
        self.properties & bits == bits
    }
}

const NO_CHARACTERISTIC: Characteristic =
    Characteristic { service: 0, uuid: Uuid::Short(0), properties: 0, max_len: 0 };

/// What an app declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum GattDeclaration {
    /// A primary service.
    Service(Uuid),
    /// A characteristic on a declared service.
    Characteristic(Characteristic),
}

/// An app's attribute table: its services and characteristics, in the
/// order declared. A characteristic's handle, as apps and events name it,
/// is its index in [`GattTable::characteristics`]; how that maps to ATT
/// handles is the host stack's business.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GattTable {
    services: [Uuid; MAX_SERVICES],
    service_count: u8,
    characteristics: [Characteristic; MAX_CHARACTERISTICS],
    characteristic_count: u8,
    value_bytes: u16,
}

impl Default for GattTable {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl GattTable {
    /// No services.
    pub const EMPTY: GattTable = GattTable {
        services: [Uuid::Short(0); MAX_SERVICES],
        service_count: 0,
        characteristics: [NO_CHARACTERISTIC; MAX_CHARACTERISTICS],
        characteristic_count: 0,
        value_bytes: 0,
    };

    /// Adds `declaration`, returning the new service's or characteristic's
    /// handle. [`Errno::NoSpace`] beyond the bounds, [`Errno::Invalid`] for
    /// a characteristic on an undeclared service, with no or unknown
    /// properties or a zero length, [`Errno::TooLarge`] for a length beyond
    /// [`MAX_VALUE`].
    pub fn declare(&mut self, declaration: GattDeclaration) -> Result<u8, Errno> {
        match declaration {
            GattDeclaration::Service(uuid) => {
                let n = usize::from(self.service_count);
                *self.services.get_mut(n).ok_or(Errno::NoSpace)? = uuid;
                self.service_count += 1;
                Ok(n as u8)
            }
            GattDeclaration::Characteristic(c) => {
                if c.service >= self.service_count || c.properties == 0 || c.properties & !property::ALL != 0 {
                    return Err(Errno::Invalid);
                }
                match usize::from(c.max_len) {
                    0 => return Err(Errno::Invalid),
                    n if n > MAX_VALUE => return Err(Errno::TooLarge),
                    _ => {}
                }
                let n = usize::from(self.characteristic_count);
                let bytes = self.value_bytes + u16::from(c.max_len);
                if usize::from(bytes) > VALUE_BYTES {
                    return Err(Errno::NoSpace);
                }
                *self.characteristics.get_mut(n).ok_or(Errno::NoSpace)? = c;
                self.characteristic_count += 1;
                self.value_bytes = bytes;
                Ok(n as u8)
            }
        }
    }

    /// The services' UUIDs, by handle.
    pub fn services(&self) -> &[Uuid] {
        &self.services[..usize::from(self.service_count)]
    }

    /// The characteristics, by handle.
    pub fn characteristics(&self) -> &[Characteristic] {
        &self.characteristics[..usize::from(self.characteristic_count)]
    }

    /// Characteristic `handle`.
    pub fn characteristic(&self, handle: u8) -> Option<&Characteristic> {
        self.characteristics().get(usize::from(handle))
    }

    /// The handle of the first characteristic with UUID `uuid`.
    pub fn find(&self, uuid: &Uuid) -> Option<u8> {
        self.characteristics().iter().position(|c| c.uuid == *uuid).map(|i| i as u8)
    }

    /// Adds `other`'s services and characteristics after this table's
    /// (its handle `h` becomes `h` plus this table's characteristics), as
    /// several apps' tables are merged into the one a controller serves;
    /// [`Errno::NoSpace`] when they do not fit, this table then partly
    /// extended.
    pub fn append(&mut self, other: &GattTable) -> Result<(), Errno> {
        let services = self.service_count;
        for uuid in other.services() {
            self.declare(GattDeclaration::Service(*uuid))?;
        }
        for c in other.characteristics() {
            self.declare(GattDeclaration::Characteristic(Characteristic { service: c.service + services, ..*c }))?;
        }
        Ok(())
    }

    /// Whether `job` with a value of `value_len` bytes fits the table:
    /// [`Errno::Invalid`] for an empty table or a characteristic that is
    /// not there (or cannot notify, for [`GattJob::Notify`]),
    /// [`Errno::TooLarge`] for a value beyond the characteristic's length.
    pub fn check(&self, job: &GattJob, value_len: usize) -> Result<(), Errno> {
        let (handle, needs) = match job {
            GattJob::Start(_) if self.service_count == 0 => return Err(Errno::Invalid),
            GattJob::Start(_) | GattJob::Stop => return Ok(()),
            GattJob::SetValue(h) => (*h, 0),
            GattJob::Notify(h) => (*h, property::NOTIFY),
        };
        let c = self.characteristic(handle).filter(|c| c.has(needs)).ok_or(Errno::Invalid)?;
        if value_len > usize::from(c.max_len) {
            return Err(Errno::TooLarge);
        }
        Ok(())
    }
}

/// A job an app queues for the GATT server; a value's bytes travel beside
/// it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum GattJob {
    /// Serve the app's table, advertising connectable with this data and
    /// interval (and again after each disconnection).
    Start(AdvConfig),
    /// Stop advertising, disconnect the central, forget the table.
    Stop,
    /// Set characteristic `handle`'s value (what a central reads).
    SetValue(u8),
    /// Set characteristic `handle`'s value and notify a subscribed central.
    Notify(u8),
}
