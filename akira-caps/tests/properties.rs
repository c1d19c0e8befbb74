//! Untrusted manifests: any bytes give a result, never a panic; any valid
//! manifest survives a round trip.

#![cfg(feature = "alloc")]

use akira_caps::manifest::AppName;
use akira_caps::scope::{GpioScope, I2cScope, StorageScope};
use akira_caps::sets::{AddrSet, IdSet, PinSet};
use akira_caps::{Manifest, Version};
use proptest::prelude::*;

fn manifest() -> impl Strategy<Value = Manifest> {
    (
        "[a-z0-9_-]{1,32}",
        any::<(u16, u16, u16)>(),
        any::<(u32, u32, u32, u64)>(),
        any::<(u64, u64, u64)>(),
        proptest::collection::vec(0x08u32..=0x77, 0..6),
        any::<(Option<u32>, Option<u32>, bool, bool)>(),
    )
        .prop_map(|(name, (a, b, c), (mem, stack, heap, cpu), (i, o, e), addrs, (spi, quota, log, timer))| {
            let mut m = Manifest::new(AppName::try_from(name.as_str()).unwrap(), Version::new(a, b, c));
            m.memory_limit = mem;
            m.stack_size = stack;
            m.heap_size = heap;
            m.cpu_budget = cpu;
            m.capabilities.gpio =
                Some(GpioScope::new(PinSet::from_bits(i), PinSet::from_bits(o), PinSet::from_bits(e)));
            let mut buses = [AddrSet::EMPTY; 4];
            buses[0] = addrs.into_iter().collect();
            m.capabilities.i2c = Some(I2cScope { buses });
            m.capabilities.spi = spi.map(IdSet::from_bits);
            m.capabilities.storage = quota.map(StorageScope::with_quota);
            m.capabilities.log = log;
            m.capabilities.timer = timer;
            m
        })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = Manifest::decode(&bytes);
    }

    #[test]
    fn valid_manifests_round_trip(m in manifest()) {
        prop_assert_eq!(Manifest::decode(&m.encode()).unwrap(), m);
    }

    #[test]
    fn corrupted_manifests_never_panic(m in manifest(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = m.encode();
        let i = at.index(bytes.len());
        bytes[i] = byte;
        let _ = Manifest::decode(&bytes);
    }
}
