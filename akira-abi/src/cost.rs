//! What each call costs the calling app in fuel.

use core::fmt;

/// What a unit of a call's work is (see [`Cost`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Unit {
    /// The call does a fixed amount of work: its fixed part is all it
    /// costs.
    None,
    /// A byte moved between the app's memory and the firmware, a bus or a
    /// radio (a buffer read or written, a message copied).
    Byte,
    /// A pixel a drawing primitive can cover.
    Pixel,
    /// A byte written to flash, with its share of the erases that writing
    /// leads to.
    FlashByte,
}

impl Unit {
    const ALL: [Unit; 4] = [Unit::None, Unit::Byte, Unit::Pixel, Unit::FlashByte];

    /// Its name, as the docs write it: singular (`byte`) or plural
    /// (`bytes`).
    pub const fn name(self, plural: bool) -> &'static str {
        match (self, plural) {
            (Unit::None, _) => "nothing",
            (Unit::Byte, false) => "byte",
            (Unit::Byte, true) => "bytes",
            (Unit::Pixel, false) => "pixel",
            (Unit::Pixel, true) => "pixels",
            (Unit::FlashByte, false) => "byte written to flash",
            (Unit::FlashByte, true) => "bytes written to flash",
        }
    }
}

/// What a call costs the calling app in fuel (the unit of its CPU budget
/// and time slices, about one wasm instruction), on top of its `call`
/// instruction: a fixed part every call pays, refused calls included, and
/// a part per unit of the work it does ([`Unit`]: bytes moved, pixels
/// drawn, bytes written to flash), so native work counts against the app
/// like the instructions it replaces.
///
/// Declared once, with the function ([`crate::Function::cost`]); the
/// firmware charges the fixed part on every call and the work part as the
/// call does it (`akira-bridge`'s `host_fn!`).
///
/// Four bytes: a firmware keeps one per function it links. The fixed part
/// is below 2²⁰; the work part is `fuel` (below 64) per started `per`
/// units (a power of two up to 2¹⁵).
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Cost(u32);

const CALL_BITS: u32 = 20;
const UNIT_SHIFT: u32 = CALL_BITS;
const FUEL_SHIFT: u32 = UNIT_SHIFT + 2;
const PER_SHIFT: u32 = FUEL_SHIFT + 6;

impl Cost {
    /// The fixed part of a call that does little native work (reads a
    /// clock, drives a pin): 10.
    pub const CHEAP: Cost = Cost::fixed(10);

    const fn packed(call: u32, unit: Unit, fuel: u32, per: u32) -> Cost {
        assert!(call < 1 << CALL_BITS, "a call's fixed fuel is below 2^20");
        assert!(fuel < 64, "the fuel per unit is below 64");
        assert!(per.is_power_of_two() && per <= 1 << 15, "units are counted per a power of two up to 2^15");
        Cost(call | (unit as u32) << UNIT_SHIFT | fuel << FUEL_SHIFT | per.trailing_zeros() << PER_SHIFT)
    }

    /// `call` fuel, whatever the call does.
    pub const fn fixed(call: u32) -> Cost {
        Cost::packed(call, Unit::None, 0, 1)
    }

    /// `call` fuel, and `fuel` per started `per` bytes moved.
    pub const fn bytes(call: u32, fuel: u32, per: u32) -> Cost {
        Cost::packed(call, Unit::Byte, fuel, per)
    }

    /// `call` fuel, and `fuel` per started `per` pixels drawn.
    pub const fn pixels(call: u32, fuel: u32, per: u32) -> Cost {
        Cost::packed(call, Unit::Pixel, fuel, per)
    }

    /// `call` fuel, and `fuel` per started `per` bytes written to flash.
    pub const fn flash(call: u32, fuel: u32, per: u32) -> Cost {
        Cost::packed(call, Unit::FlashByte, fuel, per)
    }

    /// The fixed part, charged on every call.
    pub const fn call(self) -> u32 {
        self.0 & ((1 << CALL_BITS) - 1)
    }

    /// What the work part counts.
    pub const fn unit(self) -> Unit {
        Unit::ALL[(self.0 >> UNIT_SHIFT & 3) as usize]
    }

    /// Fuel per [`Cost::per`] units of work (0 for [`Unit::None`]).
    pub const fn fuel_per(self) -> u32 {
        self.0 >> FUEL_SHIFT & 63
    }

    /// How many units [`Cost::fuel_per`] pays for (rounded up: a started
    /// group of units pays whole).
    pub const fn per(self) -> u32 {
        1 << (self.0 >> PER_SHIFT & 15)
    }

    /// The fuel for `units` of work, on top of the fixed part.
    #[inline]
    pub const fn work(self, units: u64) -> u64 {
        let groups = units.div_ceil(self.per() as u64);
        groups.saturating_mul(self.fuel_per() as u64)
    }

    /// The whole charge of a call that did `units` of work.
    pub const fn total(self, units: u64) -> u64 {
        (self.call() as u64).saturating_add(self.work(units))
    }
}

impl fmt::Debug for Cost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cost({self})")
    }
}

/// As the docs write it: `10`, `50 + 1 per 16 bytes`.
impl fmt::Display for Cost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.call())?;
        match (self.unit(), self.per()) {
            (Unit::None, _) => Ok(()),
            (unit, 1) => write!(f, " + {} per {}", self.fuel_per(), unit.name(false)),
            (unit, per) => write!(f, " + {} per {per} {}", self.fuel_per(), unit.name(true)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_and_charges() {
        let c = Cost::bytes(50, 1, 16);
        assert_eq!((c.call(), c.unit(), c.fuel_per(), c.per()), (50, Unit::Byte, 1, 16));
        assert_eq!(c.work(0), 0);
        assert_eq!(c.work(1), 1, "a started group pays whole");
        assert_eq!(c.work(32), 2);
        assert_eq!(c.total(33), 53);
        let f = Cost::flash(2000, 32, 1);
        assert_eq!((f.call(), f.unit(), f.work(10)), (2000, Unit::FlashByte, 320));
        assert_eq!(Cost::fixed(100_100).work(1 << 40), 0);
        assert_eq!(Cost::fixed(100_100).call(), 100_100);
        assert_eq!(Cost::pixels(20, 1, 1).work(u64::MAX), u64::MAX, "saturates");
    }

    #[test]
    fn displays_as_the_docs_write_it() {
        extern crate std;
        use std::string::ToString;
        assert_eq!(Cost::CHEAP.to_string(), "10");
        assert_eq!(Cost::bytes(50, 1, 16).to_string(), "50 + 1 per 16 bytes");
        assert_eq!(Cost::pixels(20, 1, 1).to_string(), "20 + 1 per pixel");
        assert_eq!(Cost::flash(2000, 32, 1).to_string(), "2000 + 32 per byte written to flash");
    }
}
