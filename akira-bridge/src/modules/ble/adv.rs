//! Legacy advertising as apps ask for it: the data and the parameters,
//! shared by advertising ([`super::BleJob::Advertise`]) and the GATT
//! server's connectable advertising ([`crate::modules::gatt::GattJob`]).

use core::time::Duration;

use crate::errno::Errno;

/// Longest legacy advertising data or scan response, in bytes.
pub const MAX_ADV_DATA: usize = 31;

/// Shortest and longest advertising interval, in milliseconds (HCI: 20 ms
/// to 10.24 s).
pub const ADV_INTERVAL_MS: core::ops::RangeInclusive<u32> = 20..=10_240;

/// How long an app's advertising stays on air, at least, while other apps
/// share the controller's one advertising set: each advertiser's turn
/// lasts this, or one of its intervals and 10 ms (the most the
/// controller's random advertising delay adds) if longer, so every turn
/// has an advertising event ([`AdvConfig::turn`]).
pub const ADV_TURN: Duration = Duration::from_millis(500);

/// Up to [`MAX_ADV_DATA`] bytes of advertising data (AD structures).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AdvData {
    len: u8,
    bytes: [u8; MAX_ADV_DATA],
}

impl AdvData {
    /// No data.
    pub const EMPTY: AdvData = AdvData { len: 0, bytes: [0; MAX_ADV_DATA] };

    /// Copies `data`, or [`Errno::TooLarge`] beyond [`MAX_ADV_DATA`] bytes.
    pub fn new(data: &[u8]) -> Result<Self, Errno> {
        let mut d = AdvData::EMPTY;
        d.bytes.get_mut(..data.len()).ok_or(Errno::TooLarge)?.copy_from_slice(data);
        d.len = data.len() as u8;
        Ok(d)
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The bytes padded with zeros to 31, as HCI carries them.
    pub fn padded(&self) -> [u8; MAX_ADV_DATA] {
        self.bytes
    }
}

impl core::fmt::Debug for AdvData {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:02x?}", self.as_bytes())
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for AdvData {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{=[u8]:02x}", self.as_bytes())
    }
}

/// Legacy advertising as an app asked for it: non-connectable, scannable
/// when it has a scan response, on all three advertising channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AdvConfig {
    /// Advertising interval in milliseconds (within [`ADV_INTERVAL_MS`]).
    pub interval_ms: u16,
    /// Advertising data.
    pub data: AdvData,
    /// Scan response data; `None` advertises non-scannable.
    pub scan_response: Option<AdvData>,
}

impl AdvConfig {
    /// This advertising's turn on a shared advertising set (see
    /// [`ADV_TURN`]).
    pub fn turn(&self) -> Duration {
        ADV_TURN.max(Duration::from_millis(u64::from(self.interval_ms) + 10))
    }
}
