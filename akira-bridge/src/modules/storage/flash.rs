//! [`FlashKv`]: the key-value store on a NOR flash region, with
//! `sequential-storage`'s map.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

use akira_caps::manifest::{AppName, MAX_APP_NAME_LEN};
use embedded_storage::nor_flash::{NorFlash, ReadNorFlash};
use sequential_storage::Error as SsError;
use sequential_storage::cache::{Cache, Uncached};
use sequential_storage::map::{Key, MapConfig, MapStorage, SerializationError};

use super::{KvStore, MAX_KEY, MAX_VALUE};
use crate::errno::Errno;

/// A map key: the app's name, then its key, each after its length byte.
/// The name is kept whole (not hashed), so two apps can never share a
/// namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
struct AppKey {
    app: heapless::Vec<u8, MAX_APP_NAME_LEN>,
    key: heapless::Vec<u8, MAX_KEY>,
}

impl AppKey {
    fn new(app: &str, key: &[u8]) -> Result<AppKey, Errno> {
        Ok(AppKey {
            app: heapless::Vec::from_slice(app.as_bytes()).map_err(|_| Errno::Invalid)?,
            key: heapless::Vec::from_slice(key).map_err(|_| Errno::TooLarge)?,
        })
    }
}

/// Serialized: `[app len][app][key len][key]`.
const KEY_BYTES: usize = 2 + MAX_APP_NAME_LEN + MAX_KEY;

impl Key for AppKey {
    fn serialize_into(&self, buffer: &mut [u8]) -> Result<usize, SerializationError> {
        let (a, k) = (self.app.len(), self.key.len());
        let out = buffer.get_mut(..2 + a + k).ok_or(SerializationError::BufferTooSmall)?;
        out[0] = a as u8;
        out[1..1 + a].copy_from_slice(&self.app);
        out[1 + a] = k as u8;
        out[2 + a..].copy_from_slice(&self.key);
        Ok(2 + a + k)
    }

    fn deserialize_from(buffer: &[u8]) -> Result<(Self, usize), SerializationError> {
        let part = |at: usize| -> Result<&[u8], SerializationError> {
            let len = usize::from(*buffer.get(at).ok_or(SerializationError::BufferTooSmall)?);
            buffer.get(at + 1..at + 1 + len).ok_or(SerializationError::BufferTooSmall)
        };
        let app = part(0)?;
        let key = part(1 + app.len())?;
        let len = 2 + app.len() + key.len();
        let app = heapless::Vec::from_slice(app).map_err(|_| SerializationError::InvalidFormat)?;
        let key = heapless::Vec::from_slice(key).map_err(|_| SerializationError::InvalidFormat)?;
        Ok((AppKey { app, key }, len))
    }
}

/// The stored value: `Some(bytes)`, or `None` for a removed key (see
/// [`FlashKv`]).
type Stored<'a> = Option<&'a [u8]>;

/// The largest item's data (key, value tag, value), rounded up to the
/// largest flash word `sequential-storage` supports (32 bytes).
const DATA_BYTES: usize = (KEY_BYTES + 1 + MAX_VALUE).next_multiple_of(32);

/// The work buffer, aligned for flashes that write from aligned RAM.
#[repr(align(32))]
struct Buffer([u8; DATA_BYTES]);

/// A blocking `NorFlash` seen through embedded-storage-async: every
/// future is ready when first polled.
struct Blocking<F>(F);

impl<F: embedded_storage::nor_flash::ErrorType> embedded_storage_async::nor_flash::ErrorType for Blocking<F> {
    type Error = F::Error;
}

impl<F: ReadNorFlash> embedded_storage_async::nor_flash::ReadNorFlash for Blocking<F> {
    const READ_SIZE: usize = F::READ_SIZE;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        self.0.read(offset, bytes)
    }

    fn capacity(&self) -> usize {
        self.0.capacity()
    }
}

impl<F: NorFlash> embedded_storage_async::nor_flash::NorFlash for Blocking<F> {
    const WRITE_SIZE: usize = F::WRITE_SIZE;
    const ERASE_SIZE: usize = F::ERASE_SIZE;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        self.0.erase(from, to)
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        self.0.write(offset, bytes)
    }
}

/// Runs a `sequential-storage` future over a [`Blocking`] flash: it
/// completes on its first poll, since nothing below it ever waits. (A
/// future that did pend would be a bug here; it is reported as
/// [`Errno::Io`] rather than spun on.)
fn run<T, E>(future: impl Future<Output = Result<T, SsError<E>>>) -> Result<T, Errno> {
    let mut future = pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(result) => result.map_err(errno),
        Poll::Pending => Err(Errno::Io),
    }
}

fn errno<E>(e: SsError<E>) -> Errno {
    match e {
        SsError::FullStorage => Errno::NoSpace,
        SsError::ItemTooBig => Errno::TooLarge,
        _ => Errno::Io,
    }
}

/// Why [`FlashKv::new`] refused a region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum FlashKvError {
    /// The region does not start and end on sector boundaries.
    NotAligned,
    /// The region is smaller than two sectors, or past the flash's end.
    TooSmall,
    /// The flash's sectors or words do not suit the store (sectors too
    /// small for the largest item, words over 32 bytes).
    UnsuitableFlash,
}

impl fmt::Display for FlashKvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FlashKvError::NotAligned => "the storage region is not aligned to the flash's sectors",
            FlashKvError::TooSmall => "the storage region needs at least two sectors inside the flash",
            FlashKvError::UnsuitableFlash => "the flash's sector or word size does not suit the key-value store",
        })
    }
}

impl core::error::Error for FlashKvError {}

/// A [`KvStore`] on a region of a blocking embedded-storage `NorFlash`,
/// power-loss safe.
///
/// Items are `sequential-storage` map items keyed by app name and key
/// (the name kept whole, so namespaces cannot collide), appended to the
/// region's pages and CRC-checked; a page is erased only after its live
/// items are copied on, so a power cut at any point leaves each key with
/// its old value or its new one (the store repairs a half-written item or
/// a half-erased page on its next operation).
///
/// `sequential-storage` is async; `FlashKv` drives it over the blocking
/// flash with a poll-once executor, which is sound only because every
/// flash operation completes at once. Firmware whose flash driver is
/// async-only needs a flash task and a mailbox instead (not provided).
///
/// **Removal** writes a marker item (the flash is plain NOR: an item
/// cannot be cleared in place), which the store keeps until the key is
/// set again. So [`KvStore::used`] counts, per app, the key and value
/// bytes of its keys **and the key bytes of keys it removed**: an app
/// cannot fill the flash with markers beyond its quota by setting and
/// removing ever new keys. Per-item flash overhead (headers, padding to
/// the flash word, the app name) is not counted: size the region for the
/// sum of the apps' quotas plus about 2 × (16 + name length) bytes per
/// key, plus two sectors of slack.
///
/// Each app's usage is counted by one scan of the region the first time
/// it is asked for (per app, per boot) and kept up to date after.
/// Without a cache, every `get` and `set` reads the region's items: fine
/// for the few kilobytes an app store holds.
pub struct FlashKv<F: NorFlash> {
    map: MapStorage<AppKey, Blocking<F>, Cache<Uncached, Uncached, Uncached, AppKey>>,
    buf: Buffer,
    usage: Vec<(AppName, u32)>,
    region_bytes: u32,
}

impl<F: NorFlash> FlashKv<F> {
    /// A store on `region` (byte offsets, whole sectors, at least two) of
    /// `flash`. Nothing is read until the first call; an erased region is
    /// an empty store.
    pub fn new(flash: F, region: Range<u32>) -> Result<Self, FlashKvError> {
        use sequential_storage::map::MapConfigError as E;
        let region_bytes = region.end.saturating_sub(region.start);
        if region.end as usize > flash.capacity() {
            return Err(FlashKvError::TooSmall);
        }
        let config = MapConfig::<Blocking<F>>::try_new(region).map_err(|e| match e {
            E::StartRangeNotAtPageBoundary | E::EndRangeNotAtPageBoundary => FlashKvError::NotAligned,
            E::RangeTooSmall => FlashKvError::TooSmall,
            _ => FlashKvError::UnsuitableFlash,
        })?;
        Ok(FlashKv {
            map: MapStorage::new(Blocking(flash), config, Cache::new_uncached()),
            buf: Buffer([0; DATA_BYTES]),
            usage: Vec::new(),
            region_bytes,
        })
    }

    /// Gives the flash back.
    pub fn into_flash(self) -> F {
        self.map.destroy().0.0
    }

    /// The flash.
    pub fn flash(&mut self) -> &mut F {
        &mut self.map.flash().0
    }

    /// What app `app`'s `key` costs now: its key and value bytes, its key
    /// bytes if removed, 0 if never set; and the value's length if set.
    fn cost(&mut self, key: &AppKey) -> Result<(u32, Option<usize>), Errno> {
        let found = run(self.map.fetch_item::<Stored<'_>>(&mut self.buf.0, key))?;
        let k = key.key.len() as u32;
        Ok(match found {
            None => (0, None),
            Some(None) => (k, None),
            Some(Some(v)) => (k + v.len() as u32, Some(v.len())),
        })
    }

    fn usage_mut(&mut self, app: &str) -> Option<&mut u32> {
        self.usage.iter_mut().find(|(name, _)| name.as_str() == app).map(|(_, used)| used)
    }

    /// Counts app `app`'s usage from the flash: the last item of each of
    /// its keys.
    fn scan(&mut self, app: &str) -> Result<u32, Errno> {
        let mut latest: BTreeMap<heapless::Vec<u8, MAX_KEY>, u32> = BTreeMap::new();
        let buf = &mut self.buf.0;
        let mut items = run(self.map.fetch_all_items(buf))?;
        while let Some((key, value)) = run(items.next::<Stored<'_>>(buf))? {
            if key.app.as_slice() == app.as_bytes() {
                let cost = key.key.len() + value.map_or(0, <[u8]>::len);
                latest.insert(key.key, cost as u32);
            }
        }
        Ok(latest.values().sum())
    }

    /// Records app `app`'s usage after a write; a failed write forgets it
    /// (the next call scans the flash again).
    fn settle(&mut self, app: &str, used: Result<u32, Errno>) {
        match (used, self.usage_mut(app)) {
            (Ok(n), Some(u)) => *u = n,
            (Ok(n), None) => {
                if let Ok(name) = AppName::try_from(app) {
                    self.usage.push((name, n));
                }
            }
            (Err(_), _) => self.usage.retain(|(name, _)| name.as_str() != app),
        }
    }
}

impl<F: NorFlash> KvStore for FlashKv<F> {
    fn get(&mut self, app: &str, key: &[u8], buf: &mut [u8]) -> Result<Option<usize>, Errno> {
        let key = AppKey::new(app, key)?;
        match run(self.map.fetch_item::<Stored<'_>>(&mut self.buf.0, &key))? {
            Some(Some(value)) => {
                let n = value.len().min(buf.len());
                buf[..n].copy_from_slice(&value[..n]);
                Ok(Some(value.len()))
            }
            _ => Ok(None),
        }
    }

    fn set(&mut self, app: &str, key: &[u8], value: &[u8], quota: u32) -> Result<(), Errno> {
        if value.len() > MAX_VALUE {
            return Err(Errno::TooLarge);
        }
        let key = AppKey::new(app, key)?;
        let used = self.used(app)?;
        let (old, _) = self.cost(&key)?;
        let new = (key.key.len() + value.len()) as u32;
        let after = used.saturating_sub(old).saturating_add(new);
        if after > quota && new > old {
            return Err(Errno::NoSpace);
        }
        let stored: Stored<'_> = Some(value);
        let result = run(self.map.store_item(&mut self.buf.0, &key, &stored));
        self.settle(app, result.map(|()| after));
        result
    }

    fn remove(&mut self, app: &str, key: &[u8]) -> Result<bool, Errno> {
        let key = AppKey::new(app, key)?;
        let used = self.used(app)?;
        let (old, Some(len)) = self.cost(&key)? else { return Ok(false) };
        let _ = old;
        let stored: Stored<'_> = None;
        let result = run(self.map.store_item(&mut self.buf.0, &key, &stored));
        self.settle(app, result.map(|()| used.saturating_sub(len as u32)));
        result.map(|()| true)
    }

    /// Two sectors are kept free (one for the map's garbage collection,
    /// one for items cut at a sector's end), and each key's bookkeeping
    /// (item header, the app's name, lengths, padding: up to about 50
    /// bytes) is assumed to be at most as large as its key and value: half
    /// of the other sectors.
    fn capacity(&mut self) -> Result<u32, Errno> {
        let sectors = self.region_bytes / F::ERASE_SIZE as u32;
        Ok((sectors.saturating_sub(2) * F::ERASE_SIZE as u32) / 2)
    }

    fn used(&mut self, app: &str) -> Result<u32, Errno> {
        if let Some(used) = self.usage_mut(app) {
            return Ok(*used);
        }
        let used = self.scan(app)?;
        self.settle(app, Ok(used));
        Ok(used)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use akira_ota::testing::SimFlash;

    type Flash = SimFlash<4, 1024>;

    fn open(flash: Flash) -> FlashKv<Flash> {
        FlashKv::new(flash, 0..4096).unwrap()
    }

    fn value(kv: &mut FlashKv<Flash>, app: &str, key: &[u8]) -> Option<Vec<u8>> {
        let mut buf = [0u8; MAX_VALUE];
        kv.get(app, key, &mut buf).unwrap().map(|n| buf[..n].to_vec())
    }

    #[test]
    fn regions_are_checked() {
        assert_eq!(FlashKv::new(Flash::new(4), 0..1024).err(), Some(FlashKvError::TooSmall));
        assert_eq!(FlashKv::new(Flash::new(4), 0..3000).err(), Some(FlashKvError::NotAligned));
        assert_eq!(FlashKv::new(Flash::new(4), 0..8192).err(), Some(FlashKvError::TooSmall), "past the end");
        assert!(FlashKv::new(Flash::new(4), 1024..4096).is_ok());
    }

    #[test]
    fn values_and_usage_persist_across_reopening() {
        let mut kv = open(Flash::new(4));
        kv.set("a", b"boots", &[3], 100).unwrap();
        kv.set("a", b"name", b"akira", 100).unwrap();
        kv.set("b", b"boots", &[9, 9], 100).unwrap();
        assert!(kv.remove("a", b"name").unwrap());
        kv.set("a", b"boots", &[4], 100).unwrap();
        let mut kv = open(kv.into_flash());
        assert_eq!(value(&mut kv, "a", b"boots"), Some(vec![4]));
        assert_eq!(value(&mut kv, "a", b"name"), None);
        assert_eq!(value(&mut kv, "b", b"boots"), Some(vec![9, 9]));
        assert_eq!(kv.used("a").unwrap(), 6 + 4, "boots + its value, and the removed key's marker");
        assert_eq!(kv.used("b").unwrap(), 7);
        assert_eq!(kv.used("c").unwrap(), 0);
    }

    #[test]
    fn removed_keys_count_until_set_again() {
        let mut kv = open(Flash::new(4));
        kv.set("a", b"k", &[0; 10], 11).unwrap();
        assert!(kv.remove("a", b"k").unwrap());
        assert!(!kv.remove("a", b"k").unwrap(), "already removed");
        assert_eq!(kv.used("a").unwrap(), 1, "the marker's key byte");
        assert_eq!(kv.set("a", b"other", &[0; 6], 11), Err(Errno::NoSpace), "1 + 11 > 11");
        kv.set("a", b"k", &[0; 10], 11).unwrap();
        assert_eq!(kv.used("a").unwrap(), 11);
    }

    #[test]
    fn many_overwrites_wrap_the_pages_and_keep_every_app_value() {
        // Far more data than the region: pages are erased and live items
        // carried on.
        let mut kv = open(Flash::new(4));
        kv.set("keep", b"x", b"kept value", 1000).unwrap();
        for i in 0u32..400 {
            kv.set("busy", b"counter", &i.to_le_bytes(), 1000).unwrap();
        }
        let flash = kv.into_flash();
        assert!(flash.erase_counts().iter().all(|n| *n >= 2), "wrapped: {:?}", flash.erase_counts());
        assert_eq!(flash.violations(), 0, "never wrote over programmed bytes");
        let mut kv = open(flash);
        assert_eq!(value(&mut kv, "busy", b"counter"), Some(399u32.to_le_bytes().to_vec()));
        assert_eq!(value(&mut kv, "keep", b"x"), Some(b"kept value".to_vec()));
        assert_eq!(kv.used("busy").unwrap(), 11);
    }

    #[test]
    fn a_full_region_is_no_space() {
        let mut kv = open(Flash::new(4));
        let mut stored = 0u32;
        let result = loop {
            let key = stored.to_le_bytes();
            match kv.set("big", &key, &[0xa5; MAX_VALUE], u32::MAX) {
                Ok(()) => stored += 1,
                Err(e) => break e,
            }
        };
        assert_eq!(result, Errno::NoSpace);
        assert!(stored >= 4, "{stored} items fit");
        let mut kv = open(kv.into_flash());
        for i in 0..stored {
            assert_eq!(value(&mut kv, "big", &i.to_le_bytes()).map(|v| v.len()), Some(MAX_VALUE), "item {i}");
        }
    }

    /// Cuts the power at every write and erase of an update in turn; after
    /// each cut the store reopens with the old value or the new one, and
    /// the other keys intact.
    #[test]
    fn a_power_cut_keeps_the_old_or_the_new_value() {
        let mut base = open(Flash::new(4));
        base.set("a", b"other", b"stays", 1000).unwrap();
        // Fill most of the region so the update also has to move pages.
        for i in 0u32..30 {
            base.set("a", b"k", &[i as u8; 100], 1000).unwrap();
        }
        let base = base.into_flash();
        let old = vec![29u8; 100];
        let new = vec![0xeeu8; 120];
        let mut cut = 1;
        let mut saw_old = false;
        loop {
            let mut flash = base.clone();
            flash.cut_after(cut);
            let mut kv = open(flash);
            let result = kv.set("a", b"k", &new, 1000);
            let mut flash = kv.into_flash();
            let powered = flash.is_powered();
            flash.power_on();
            let mut kv = open(flash);
            let got = value(&mut kv, "a", b"k").expect("the key survives");
            assert!(got == old || got == new, "cut {cut}: {got:?}");
            assert_eq!(value(&mut kv, "a", b"other"), Some(b"stays".to_vec()), "cut {cut}");
            if got == old {
                saw_old = true;
                assert!(!powered, "cut {cut}: an update that completed reads back new");
            }
            let used = kv.used("a").unwrap();
            assert_eq!(used, 5 + 5 + 1 + got.len() as u32, "cut {cut}: usage recounted from flash");
            // The store keeps working after the cut.
            kv.set("a", b"after", &[1], 1000).unwrap();
            if powered {
                assert!(result.is_ok());
                break;
            }
            cut += 1;
        }
        assert!(saw_old && cut > 2, "the cuts hit the update ({cut} operations)");
    }
}
