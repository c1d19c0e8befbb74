//! Fixed-size bit sets: the representation of every numeric scope.
//!
//! A scope such as "output pins 2 and 5" is stored as the bits of one
//! integer, so a call-time check is a shift and a mask, and intersecting a
//! request with the device policy is an `&`.

use core::fmt;
use serde::{Deserialize, Serialize};

// A set is stored as 32-bit words, so that a call-time check on a 32-bit
// core is one indexed word load and a shift by at most 31: a variable shift
// of a 64- or 128-bit integer takes a dozen instructions on a Cortex-M4,
// and LLVM turns a word select back into one. The API speaks the integer
// (`from_bits`, `bits`) and serializes as it, so the manifest encoding is
// unchanged.

macro_rules! bit_set {
    ($(#[$doc:meta])* $name:ident, $int:ty, $words:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
        pub struct $name([u32; $words]);

        impl $name {
            /// Number of members the set can hold (members are `0..CAPACITY`).
            pub const CAPACITY: u32 = <$int>::BITS;
            /// The empty set.
            pub const EMPTY: $name = $name([0; $words]);
            /// Every member `0..CAPACITY`.
            pub const FULL: $name = $name([u32::MAX; $words]);

            /// A set from its raw bits (bit `n` = member `n`).
            pub const fn from_bits(bits: $int) -> Self {
                let mut words = [0; $words];
                let mut i = 0;
                while i < $words {
                    words[i] = (bits >> (32 * i)) as u32;
                    i += 1;
                }
                $name(words)
            }

            /// The raw bits (bit `n` = member `n`).
            pub const fn bits(self) -> $int {
                let mut bits: $int = 0;
                let mut i = 0;
                while i < $words {
                    bits |= (self.0[i] as $int) << (32 * i);
                    i += 1;
                }
                bits
            }

            /// Whether `member` is in the set; members beyond the capacity never are.
            #[inline(always)]
            pub const fn contains(&self, member: u32) -> bool {
                member < Self::CAPACITY && (self.0[(member / 32) as usize] >> (member % 32)) & 1 == 1
            }

            /// Adds `member`; returns `false` (and changes nothing) when it is
            #[doc = concat!("beyond the capacity of ", stringify!($int), " ", $what, ".")]
            pub fn insert(&mut self, member: u32) -> bool {
                if member >= Self::CAPACITY {
                    return false;
                }
                self.0[(member / 32) as usize] |= 1 << (member % 32);
                true
            }

            /// Whether the set has no members.
            pub const fn is_empty(self) -> bool {
                self.bits() == 0
            }

            /// Whether every member of `self` is in `other`.
            pub const fn is_subset(self, other: Self) -> bool {
                self.bits() & !other.bits() == 0
            }

            /// The smallest member of `self` that is not in `other`, if any.
            pub const fn first_outside(self, other: Self) -> Option<u32> {
                let extra = self.bits() & !other.bits();
                if extra == 0 { None } else { Some(extra.trailing_zeros()) }
            }

            /// Members in both sets.
            pub const fn intersection(self, other: Self) -> Self {
                Self::from_bits(self.bits() & other.bits())
            }

            /// Members in either set.
            pub const fn union(self, other: Self) -> Self {
                Self::from_bits(self.bits() | other.bits())
            }

            /// The members, smallest first.
            pub fn iter(self) -> impl Iterator<Item = u32> {
                (0..Self::CAPACITY).filter(move |m| self.contains(*m))
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                self.bits().serialize(serializer)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                <$int>::deserialize(deserializer).map(Self::from_bits)
            }
        }

        impl FromIterator<u32> for $name {
            /// Collects members; members beyond the capacity are dropped, so
            /// parsers must check with [`Self::insert`] instead.
            fn from_iter<I: IntoIterator<Item = u32>>(iter: I) -> Self {
                let mut set = Self::EMPTY;
                for member in iter {
                    set.insert(member);
                }
                set
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_set().entries(self.iter()).finish()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("{")?;
                for (i, m) in self.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{m}")?;
                }
                f.write_str("}")
            }
        }

        #[cfg(feature = "defmt")]
        impl defmt::Format for $name {
            fn format(&self, f: defmt::Formatter<'_>) {
                defmt::write!(f, "{=?}", self.bits())
            }
        }
    };
}

bit_set!(
    /// A set of logical pin numbers `0..64`.
    PinSet, u64, 2, "pins"
);
bit_set!(
    /// A set of small resource ids `0..32`: SPI devices, UART ports, PWM,
    /// ADC and sensor channels, vendor resources.
    IdSet, u32, 1, "ids"
);
bit_set!(
    /// A set of 7-bit I2C addresses `0..128`.
    AddrSet, u128, 4, "addresses"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_and_bounds() {
        let mut s = PinSet::EMPTY;
        assert!(s.insert(0));
        assert!(s.insert(63));
        assert!(!s.insert(64), "beyond capacity is refused");
        assert!(s.contains(0) && s.contains(63));
        assert!(!s.contains(1) && !s.contains(64) && !s.contains(u32::MAX));
        assert_eq!(s.iter().collect::<heapless::Vec<u32, 4>>().as_slice(), &[0, 63]);
    }

    #[test]
    fn subset_reports_first_excess() {
        let want: IdSet = [1, 4, 9].into_iter().collect();
        let allow: IdSet = [1, 9].into_iter().collect();
        assert!(!want.is_subset(allow));
        assert_eq!(want.first_outside(allow), Some(4));
        assert_eq!(allow.first_outside(want), None);
        assert!(allow.is_subset(want));
    }

    #[test]
    fn display_lists_members() {
        let s: AddrSet = [0x48, 0x76].into_iter().collect();
        let mut out = heapless::String::<32>::new();
        core::fmt::write(&mut out, format_args!("{s}")).unwrap();
        assert_eq!(out.as_str(), "{72, 118}");
    }
}
