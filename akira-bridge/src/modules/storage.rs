//! `akira:storage`: a per-app key-value store with a byte quota.
//!
//! Each app has its own namespace: the module passes the running app's
//! name with every call, so an app can neither name nor see another app's
//! keys, and the key-value store keeps the namespaces apart (an app's
//! update keeps its data: the name stays). The manifest's `storage`
//! capability grants a byte quota (`storage = { quota = "4 KiB" }`); the
//! module is linked only for apps granted it, and every write is checked
//! against the quota: the key and value bytes the app holds
//! (see [`KvStore::used`]) may not pass it ([`Errno::NoSpace`]).
//!
//! Boards implement [`KvStore`]. [`FlashKv`] (feature `flash-kv`, on by
//! default) is one over any blocking embedded-storage `NorFlash` region,
//! power-loss safe: it stores the items with the `sequential-storage`
//! crate's map (append-only pages, CRC-checked items, wear levelling,
//! repair after a cut). Calls run inside the host call: a write that has
//! to erase a sector blocks the firmware for the erase (milliseconds),
//! like an SPI transfer.
//!
//! Limits: keys are 1 to [`MAX_KEY`] bytes, values 0 to [`MAX_VALUE`]
//! bytes, both arbitrary bytes.

use crate::host::{Caller, Linker};
use akira_caps::{Capability, ModuleCapability, ModuleSpec};

use crate::board::{Board, Trace};
use crate::errno::Errno;
use crate::host_fn;
use crate::memory::GuestMemory;
use crate::module::{HostModule, LinkContext, LinkError};
use crate::state::{AppState, Refusal, memory_and_state, reply};

#[cfg(feature = "flash-kv")]
mod flash;
#[cfg(feature = "flash-kv")]
pub use flash::{FlashKv, FlashKvError};

/// Longest key, in bytes.
pub const MAX_KEY: usize = 32;
/// Longest value, in bytes.
pub const MAX_VALUE: usize = 256;

/// Bytes of bookkeeping a write puts on flash beside the app's name, key
/// and value (an item header, lengths, a tag, padding to the flash word):
/// what [`flash_bytes`] adds per write.
pub const ITEM_OVERHEAD: u32 = 16;

/// The bytes a write of `key` and `value` (`None`: a removal marker) by
/// app `app` puts on flash: what the write is charged ([`crate::charge`])
/// and counts against the app's flash write budget.
pub fn flash_bytes(app: &str, key: &[u8], value: Option<&[u8]>) -> u32 {
    ITEM_OVERHEAD + (app.len() + key.len() + value.map_or(0, <[u8]>::len)) as u32
}

/// The board's key-value store, shared by every app and kept apart by app
/// name. Errors are the codes apps see: [`Errno::NoSpace`] when a write
/// would pass the app's quota or the store is full, [`Errno::Io`] when
/// the storage fails. The module checks key and value lengths
/// ([`MAX_KEY`], [`MAX_VALUE`]) before calling.
pub trait KvStore {
    /// Copies app `app`'s value for `key` into `buf` (at most `buf.len()`
    /// bytes) and returns the value's full length; `None` if the key is
    /// not set.
    fn get(&mut self, app: &str, key: &[u8], buf: &mut [u8]) -> Result<Option<usize>, Errno>;

    /// Sets app `app`'s `key` to `value`, unless that would take the bytes
    /// the app holds ([`KvStore::used`]) past `quota` ([`Errno::NoSpace`];
    /// a write that does not grow them is always allowed). A write cut by
    /// a power loss leaves the old value or the new one.
    fn set(&mut self, app: &str, key: &[u8], value: &[u8], quota: u32) -> Result<(), Errno>;

    /// Removes app `app`'s `key`; `false` if it was not set.
    fn remove(&mut self, app: &str, key: &[u8]) -> Result<bool, Errno>;

    /// The bytes app `app` holds: the key and value bytes of its keys (an
    /// implementation may count more, such as the keys of removed items
    /// it still keeps; [`FlashKv`] documents what it counts).
    fn used(&mut self, app: &str) -> Result<u32, Errno>;

    /// The key and value bytes the store holds for sure, whatever the
    /// apps write: the sum of the quotas granted may not pass it (the
    /// scheduler checks, `akira_sandbox::Scheduler::set_storage_capacity`).
    /// [`FlashKv`] documents how it counts.
    fn capacity(&mut self) -> Result<u32, Errno>;
}

pub use crate::board::StorageOp;

/// The module's spec.
pub static SPEC: ModuleSpec = ModuleSpec {
    import: akira_abi::STORAGE.import,
    capability: ModuleCapability::Builtin(Capability::Storage),
    functions: akira_abi::STORAGE.functions,
};

/// The `akira:storage` module; the board must implement [`KvStore`].
#[derive(Clone, Copy, Debug, Default)]
pub struct StorageModule;

/// Copies the app's key out of its memory, checking its length.
fn key(memory: &GuestMemory<'_>, ptr: u32, len: u32) -> Result<([u8; MAX_KEY], usize), Errno> {
    if len == 0 {
        return Err(Errno::Invalid);
    }
    if len as usize > MAX_KEY {
        return Err(Errno::TooLarge);
    }
    let mut out = [0u8; MAX_KEY];
    out[..len as usize].copy_from_slice(memory.bytes(ptr, len)?);
    Ok((out, len as usize))
}

/// Charges a write of `bytes` to the app's hourly flash write budget: past
/// it the write is refused with [`Errno::Busy`] (the denial counted and
/// reported; no strict-mode fault: the app was granted storage, it only
/// writes too often).
fn budgeted<B: Board>(state: &mut AppState<B>, bytes: u32) -> Result<(), Refusal> {
    let now = state.board().now().as_micros();
    state.shared(|g| g.flash_write(now, bytes))
}

fn traced<B: Board>(state: &mut AppState<B>, op: StorageOp, key: &[u8], len: usize, result: Result<(), Errno>) {
    state.trace(Trace::Storage { op, key, len: len as u32, result });
}

fn get<B: Board + KvStore>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    (kptr, klen): (u32, u32),
    (bptr, blen): (u32, u32),
) -> Result<i32, Refusal> {
    let (k, n) = key(memory, kptr, klen)?;
    let buf = memory.bytes_mut(bptr, blen)?;
    let app = state.info().name.clone();
    let got = state.board_mut().get(&app, &k[..n], buf);
    let result = got.and_then(|len| len.ok_or(Errno::NoSuchResource));
    if let Ok(len) = result {
        state.work(len.min(buf.len()) as u64);
    }
    traced(state, StorageOp::Get, &k[..n], *result.as_ref().unwrap_or(&0), result.map(|_| ()));
    Ok(result? as i32)
}

fn set<B: Board + KvStore>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    (kptr, klen): (u32, u32),
    (vptr, vlen): (u32, u32),
) -> Result<i32, Refusal> {
    let (k, n) = key(memory, kptr, klen)?;
    if vlen as usize > MAX_VALUE {
        return Err(Errno::TooLarge.into());
    }
    let value = memory.bytes(vptr, vlen)?;
    let app = state.info().name.clone();
    let bytes = flash_bytes(&app, &k[..n], Some(value));
    budgeted(state, bytes)?;
    let quota = state.guard().grants().storage_quota();
    let result = state.board_mut().set(&app, &k[..n], value, quota);
    traced(state, StorageOp::Set, &k[..n], value.len(), result);
    result?;
    state.work(bytes.into());
    Ok(0)
}

fn remove<B: Board + KvStore>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    kptr: u32,
    klen: u32,
) -> Result<i32, Refusal> {
    let (k, n) = key(memory, kptr, klen)?;
    let app = state.info().name.clone();
    // A removal writes a marker: charged as one.
    let bytes = flash_bytes(&app, &k[..n], None);
    budgeted(state, bytes)?;
    let result =
        state.board_mut().remove(&app, &k[..n]).and_then(|found| found.then_some(()).ok_or(Errno::NoSuchResource));
    traced(state, StorageOp::Remove, &k[..n], 0, result);
    result?;
    state.work(bytes.into());
    Ok(0)
}

fn used<B: Board + KvStore>(state: &mut AppState<B>) -> i64 {
    let app = state.info().name.clone();
    state.board_mut().used(&app).map_or_else(|e| i64::from(e.code()), i64::from)
}

impl<B: Board + KvStore> HostModule<B> for StorageModule {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn link(&self, linker: &mut Linker<AppState<B>>, _: &LinkContext<'_>) -> Result<(), LinkError> {
        host_fn!(linker, SPEC, "get", |c: Caller<'_, AppState<B>>, kp: u32, kl: u32, bp: u32, bl: u32| {
            reply(memory_and_state(&mut c).and_then(|(mut mem, s)| get(&mut mem, s, (kp, kl), (bp, bl))))
        })?;
        host_fn!(linker, SPEC, "set", |c: Caller<'_, AppState<B>>, kp: u32, kl: u32, vp: u32, vl: u32| {
            reply(memory_and_state(&mut c).and_then(|(mut mem, s)| set(&mut mem, s, (kp, kl), (vp, vl))))
        })?;
        host_fn!(linker, SPEC, "remove", |c: Caller<'_, AppState<B>>, kp: u32, kl: u32| {
            reply(memory_and_state(&mut c).and_then(|(mut mem, s)| remove(&mut mem, s, kp, kl)))
        })?;
        host_fn!(linker, SPEC, "used", |c: Caller<'_, AppState<B>>| used(c.data_mut()))?;
        host_fn!(linker, SPEC, "quota", |c: Caller<'_, AppState<B>>| i64::from(
            c.data().guard().grants().storage_quota()
        ))?;
        Ok(())
    }
}

#[cfg(all(test, feature = "flash-kv"))]
mod tests {
    use super::*;
    use crate::board::AppInfo;
    use crate::state::AppLimits;
    use crate::testing::{Recorder, code, recorder_board};
    use akira_caps::manifest::{AppName, Version};
    use akira_caps::scope::StorageScope;
    use akira_caps::{CapabilitySet, Grants, Guard};
    use akira_ota::testing::SimFlash;
    use std::cell::RefCell;
    use std::rc::Rc;

    type Shared = Rc<RefCell<FlashKv<SimFlash<4, 1024>>>>;

    /// A board whose store is shared by every app, as on a device.
    struct Kv {
        rec: Recorder,
        kv: Shared,
    }
    recorder_board!(Kv);

    impl KvStore for Kv {
        fn get(&mut self, app: &str, key: &[u8], buf: &mut [u8]) -> Result<Option<usize>, Errno> {
            self.kv.borrow_mut().get(app, key, buf)
        }
        fn set(&mut self, app: &str, key: &[u8], value: &[u8], quota: u32) -> Result<(), Errno> {
            self.kv.borrow_mut().set(app, key, value, quota)
        }
        fn remove(&mut self, app: &str, key: &[u8]) -> Result<bool, Errno> {
            self.kv.borrow_mut().remove(app, key)
        }
        fn used(&mut self, app: &str) -> Result<u32, Errno> {
            self.kv.borrow_mut().used(app)
        }
        fn capacity(&mut self) -> Result<u32, Errno> {
            self.kv.borrow_mut().capacity()
        }
    }

    fn store() -> Shared {
        Rc::new(RefCell::new(FlashKv::new(SimFlash::new(4), 0..4096).unwrap()))
    }

    fn app_on(kv: &Shared, name: &str, quota: u32) -> AppState<Kv> {
        let caps = CapabilitySet { storage: Some(StorageScope::with_quota(quota)), ..Default::default() };
        let info = AppInfo { id: 1, name: AppName::try_from(name).unwrap(), version: Version::new(1, 0, 0) };
        let board = Kv { rec: Recorder::default(), kv: kv.clone() };
        AppState::new(info, Guard::new(Grants::compile(&caps)), board, AppLimits::new(65536, 16))
    }

    fn app(name: &str, quota: u32) -> AppState<Kv> {
        app_on(&store(), name, quota)
    }

    #[test]
    fn set_get_remove_through_app_memory() {
        let mut s = app("counter", 64);
        let mut backing = [0u8; 64];
        let mut mem = GuestMemory::new(&mut backing);
        mem.write(0, b"boots").unwrap();
        mem.write(8, &7u32.to_le_bytes()).unwrap();
        assert_eq!(code(get(&mut mem, &mut s, (0, 5), (32, 4))), Errno::NoSuchResource.code(), "not set yet");
        assert_eq!(code(set(&mut mem, &mut s, (0, 5), (8, 4))), 0);
        assert_eq!(used(&mut s), 9, "five key bytes and four value bytes");
        assert_eq!(code(get(&mut mem, &mut s, (0, 5), (32, 4))), 4);
        assert_eq!(mem.bytes(32, 4).unwrap(), &7u32.to_le_bytes());
        assert_eq!(code(get(&mut mem, &mut s, (0, 5), (40, 2))), 4, "a short buffer gets a prefix and the length");
        assert_eq!(mem.bytes(40, 2).unwrap(), &[7, 0]);
        assert_eq!(code(remove(&mut mem, &mut s, 0, 5)), 0);
        assert_eq!(code(get(&mut mem, &mut s, (0, 5), (32, 4))), Errno::NoSuchResource.code());
        assert_eq!(code(remove(&mut mem, &mut s, 0, 5)), Errno::NoSuchResource.code(), "already removed");
        let events = &s.board().rec.events;
        assert!(
            events[1].starts_with("Storage { op: Set, key: [98, 111, 111, 116, 115], len: 4, result: Ok(())"),
            "{events:?}"
        );
    }

    #[test]
    fn one_app_never_sees_another_apps_keys() {
        let kv = store();
        let mut a = app_on(&kv, "alpha", 64);
        let mut b = app_on(&kv, "beta", 64);
        let mut backing = [0u8; 64];
        let mut mem = GuestMemory::new(&mut backing);
        mem.write(0, b"secret").unwrap();
        mem.write(8, b"AAAA").unwrap();
        assert_eq!(code(set(&mut mem, &mut a, (0, 6), (8, 4))), 0);
        assert_eq!(code(get(&mut mem, &mut b, (0, 6), (16, 4))), Errno::NoSuchResource.code(), "same key, other app");
        assert_eq!(code(remove(&mut mem, &mut b, 0, 6)), Errno::NoSuchResource.code(), "nor remove it");
        mem.write(8, b"BB").unwrap();
        assert_eq!(code(set(&mut mem, &mut b, (0, 6), (8, 2))), 0, "b's own key of the same name");
        assert_eq!(code(get(&mut mem, &mut a, (0, 6), (16, 8))), 4);
        assert_eq!(mem.bytes(16, 4).unwrap(), b"AAAA", "a's value is untouched");
        assert_eq!(code(get(&mut mem, &mut b, (0, 6), (24, 8))), 2);
        assert_eq!(mem.bytes(24, 2).unwrap(), b"BB");
        assert_eq!((used(&mut a), used(&mut b)), (10, 8), "quotas are counted per app");
    }

    #[test]
    fn bad_pointers_and_lengths_never_reach_the_store() {
        let mut s = app("a", 1024);
        let mut backing = [0u8; 300];
        let mut mem = GuestMemory::new(&mut backing);
        assert_eq!(code(set(&mut mem, &mut s, (0, 0), (0, 1))), Errno::Invalid.code(), "empty key");
        assert_eq!(code(set(&mut mem, &mut s, (0, 33), (0, 1))), Errno::TooLarge.code(), "key too long");
        assert_eq!(code(set(&mut mem, &mut s, (0, 1), (0, 257))), Errno::TooLarge.code(), "value too long");
        assert_eq!(code(set(&mut mem, &mut s, (299, 2), (0, 1))), Errno::Fault.code(), "key outside memory");
        assert_eq!(code(set(&mut mem, &mut s, (0, 1), (200, 101))), Errno::Fault.code(), "value outside memory");
        assert_eq!(code(get(&mut mem, &mut s, (0, 1), (u32::MAX, 2))), Errno::Fault.code(), "buffer outside memory");
        assert_eq!(code(remove(&mut mem, &mut s, 300, 1)), Errno::Fault.code());
        assert_eq!(used(&mut s), 0, "nothing was written");
        assert!(s.board().rec.events.is_empty(), "refused before the store: {:?}", s.board().rec.events);
        // The largest key and value fit.
        assert_eq!(code(set(&mut mem, &mut s, (0, 32), (32, 256))), 0);
        assert_eq!(code(get(&mut mem, &mut s, (0, 32), (0, 0))), 256);
    }

    #[test]
    fn writes_past_the_quota_are_refused() {
        let mut s = app("a", 16);
        let mut backing = [0u8; 64];
        let mut mem = GuestMemory::new(&mut backing);
        mem.write(0, b"k1k2").unwrap();
        assert_eq!(code(set(&mut mem, &mut s, (0, 2), (8, 10))), 0, "12 of 16 bytes");
        assert_eq!(code(set(&mut mem, &mut s, (2, 2), (8, 3))), Errno::NoSpace.code(), "17 > 16");
        assert_eq!(code(set(&mut mem, &mut s, (2, 2), (8, 2))), 0, "exactly 16");
        assert_eq!(used(&mut s), 16);
        assert_eq!(code(set(&mut mem, &mut s, (0, 2), (8, 11))), Errno::NoSpace.code(), "growing a value counts");
        assert_eq!(code(set(&mut mem, &mut s, (0, 2), (8, 4))), 0, "shrinking it frees room");
        assert_eq!(used(&mut s), 10);
        assert_eq!(code(get(&mut mem, &mut s, (0, 2), (0, 0))), 4, "the refused write left the smaller value");
    }

    #[test]
    fn writes_past_the_hourly_budget_are_busy_and_counted() {
        let mut s = app("a", 4096);
        let caps =
            CapabilitySet { storage: Some(StorageScope { quota: 4096, writes_per_hour: 300 }), ..Default::default() };
        *s.guard_mut() = Guard::new(Grants::compile(&caps));
        let mut backing = [0u8; 300];
        let mut mem = GuestMemory::new(&mut backing);
        // 16 bytes of bookkeeping, the name, the key and 200 value bytes.
        assert_eq!(flash_bytes("a", b"k", Some(&[0; 200])), 218);
        assert_eq!(code(set(&mut mem, &mut s, (0, 1), (8, 200))), 0, "218 of 300 bytes this hour");
        assert_eq!(code(set(&mut mem, &mut s, (0, 1), (8, 200))), Errno::Busy.code(), "436 > 300");
        assert_eq!(code(remove(&mut mem, &mut s, 0, 1)), 0, "a marker (18 bytes) still fits");
        assert_eq!(s.guard().total_denials(), 1, "the refused write is counted");
        assert_eq!(
            code(get(&mut mem, &mut s, (0, 1), (0, 0))),
            Errno::NoSuchResource.code(),
            "the removal was written"
        );
    }
}
