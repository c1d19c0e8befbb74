//! [`NetSockets`]: the table of open sockets in a `static`, behind the
//! [`SocketTable`] trait the module calls.

use core::cell::RefCell;

use critical_section::Mutex;

/// The table of open sockets: which app owns each app-visible socket id,
/// and the board's handle behind it. A socket is *connecting* from
/// [`SocketTable::insert`] until [`SocketTable::connected`].
pub trait SocketTable: Sync {
    /// Records a connecting socket of app `app`; its id, or `None` when
    /// the table is full.
    fn insert(&self, app: u16, handle: u32) -> Option<u32>;
    /// Marks socket `id` of app `app` connected.
    fn connected(&self, app: u16, id: u32);
    /// The board handle of socket `id` if app `app` owns it and it is
    /// connected (`connecting` false), or still connecting (`true`).
    fn get(&self, app: u16, id: u32, connecting: bool) -> Option<u32>;
    /// Forgets socket `id` of app `app`; its board handle.
    fn remove(&self, app: u16, id: u32) -> Option<u32>;
    /// Marks every socket of app `app` as left behind (the app was
    /// restarted or removed).
    fn orphan(&self, app: u16);
    /// Removes one socket to close: one left behind, or one of app `app`
    /// still connecting (its `connect` timed out: the app, which runs one
    /// call at a time, no longer waits for it). Its board handle, and
    /// whether it was app `app`'s (its share's entry comes back).
    fn take_stale(&self, app: u16) -> Option<(u32, bool)>;
}

/// Marks a socket left behind by an app that was restarted or removed.
const ORPHAN: u16 = u16::MAX;

/// One socket: owner, board handle, connected.
type Entry = Option<(u16, u32, bool)>;

/// A firmware's socket table of `N` sockets (at most 255), for a
/// `static`: `static SOCKETS: NetSockets<8> = NetSockets::new();`.
pub struct NetSockets<const N: usize> {
    slots: Mutex<RefCell<[Entry; N]>>,
}

impl<const N: usize> Default for NetSockets<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> NetSockets<N> {
    const FITS: () = assert!(N >= 1 && N <= 255, "a NetSockets holds 1 to 255 sockets");

    /// An empty table.
    pub const fn new() -> Self {
        let () = Self::FITS;
        NetSockets { slots: Mutex::new(RefCell::new([None; N])) }
    }

    fn with<R>(&self, f: impl FnOnce(&mut [Entry; N]) -> R) -> R {
        critical_section::with(|cs| f(&mut self.slots.borrow_ref_mut(cs)))
    }
}

impl<const N: usize> SocketTable for NetSockets<N> {
    fn insert(&self, app: u16, handle: u32) -> Option<u32> {
        self.with(|s| {
            let free = s.iter().position(Option::is_none)?;
            s[free] = Some((app, handle, false));
            Some(free as u32)
        })
    }

    fn connected(&self, app: u16, id: u32) {
        self.with(|s| {
            if let Some(Some((owner, _, open))) = s.get_mut(id as usize)
                && *owner == app
            {
                *open = true;
            }
        })
    }

    fn get(&self, app: u16, id: u32, connecting: bool) -> Option<u32> {
        self.with(|s| match s.get(id as usize) {
            Some(Some((owner, handle, open))) if *owner == app && app != ORPHAN && *open != connecting => Some(*handle),
            _ => None,
        })
    }

    fn remove(&self, app: u16, id: u32) -> Option<u32> {
        self.with(|s| {
            let slot = s.get_mut(id as usize)?;
            match *slot {
                Some((owner, handle, _)) if owner == app && app != ORPHAN => {
                    *slot = None;
                    Some(handle)
                }
                _ => None,
            }
        })
    }

    fn orphan(&self, app: u16) {
        self.with(|s| {
            for (owner, _, _) in s.iter_mut().flatten() {
                if *owner == app {
                    *owner = ORPHAN;
                }
            }
        })
    }

    fn take_stale(&self, app: u16) -> Option<(u32, bool)> {
        self.with(|s| {
            let slot =
                s.iter_mut().find(|e| matches!(e, Some((o, _, open)) if *o == ORPHAN || (*o == app && !open)))?;
            slot.take().map(|(owner, handle, _)| (handle, owner == app))
        })
    }
}
