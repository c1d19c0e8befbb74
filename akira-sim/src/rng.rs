//! The simulated random number generator: xorshift64*, seeded with a
//! fixed value so runs are repeatable ([`crate::SimBoard::seed_rng`] picks
//! another). Not for real keys: the simulator is for trying apps.

/// The default seed.
pub const SEED: u64 = 0x00a1_c1a5_eed5_0001;

/// A xorshift64* generator.
#[derive(Clone, Copy, Debug)]
pub struct SimRng(u64);

impl Default for SimRng {
    fn default() -> Self {
        SimRng::new(SEED)
    }
}

impl SimRng {
    /// A generator seeded with `seed` (0 is replaced by the default).
    pub fn new(seed: u64) -> SimRng {
        SimRng(if seed == 0 { SEED } else { seed })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Fills `buf`.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeatable_and_not_constant() {
        let (mut a, mut b) = (SimRng::default(), SimRng::default());
        let (mut x, mut y) = ([0u8; 20], [0u8; 20]);
        a.fill(&mut x);
        b.fill(&mut y);
        assert_eq!(x, y);
        assert_ne!(x[..8], x[8..16]);
        assert_ne!(SimRng::new(1).next_u64(), SimRng::new(2).next_u64());
    }
}
