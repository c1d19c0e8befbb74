//! The GATT peripheral of `akira:ble`: an app's attribute table, the jobs
//! and events between the module and the controller's host stack, and
//! [`GattServer`], the Akira trait a host stack implements.
//!
//! An app declares at run time up to [`MAX_SERVICES`] services and
//! [`MAX_CHARACTERISTICS`] characteristics holding at most [`VALUE_BYTES`]
//! value bytes in all ([`GattTable`]; beyond: [`Errno::NoSpace`]), then
//! starts serving it with connectable advertising. A central's connection,
//! disconnection, writes and subscriptions reach it as [`GattEvent`]s.
//!
//! Boards implement the per-app side in [`crate::Ble`]'s `gatt_*` methods;
//! [`crate::BleMailbox`] implements them for a host stack served by a
//! firmware task ([`crate::BleMailbox::serve_gatt`]) over any
//! [`GattServer`] (a vendor adapter implements it over its Bluetooth host,
//! such as `trouble-host`; no host-stack type appears here). The
//! controller serves one table at a time: the first app to declare owns
//! it until it calls `gatt_stop` (another gets [`Errno::Busy`]).

use core::cell::RefCell;
use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::Poll;

use critical_section::Mutex;

use super::ble::AdvConfig;
use crate::errno::Errno;
use crate::mailbox::Mailbox;
use crate::wake::Changes;

/// Services an app may declare.
pub const MAX_SERVICES: usize = 2;

/// Characteristics an app may declare, over all its services.
pub const MAX_CHARACTERISTICS: usize = 8;

/// Longest characteristic value, in bytes.
pub const MAX_VALUE: usize = 64;

/// Value bytes (the sum of the characteristics' maximum lengths) an app's
/// table may hold.
pub const VALUE_BYTES: usize = 256;

/// Bytes of an event before its payload: kind, characteristic, payload
/// length, zero.
pub const EVENT_HEADER: usize = 4;

/// Longest event an app can receive, in bytes.
pub const MAX_EVENT: usize = EVENT_HEADER + MAX_VALUE;

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
    /// significant byte first; other lengths are [`Errno::Invalid`].
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
            Uuid::Long(b) => {
                for (i, byte) in b.iter().rev().enumerate() {
                    if matches!(i, 4 | 6 | 8 | 10) {
                        f.write_str("-")?;
                    }
                    write!(f, "{byte:02x}")?;
                }
                Ok(())
            }
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

/// Up to [`MAX_VALUE`] bytes of a characteristic value.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Value {
    len: u8,
    bytes: [u8; MAX_VALUE],
}

impl Value {
    /// No bytes.
    pub const EMPTY: Value = Value { len: 0, bytes: [0; MAX_VALUE] };

    /// Copies `bytes`, or [`Errno::TooLarge`] beyond [`MAX_VALUE`].
    pub fn new(bytes: &[u8]) -> Result<Value, Errno> {
        let mut v = Value::EMPTY;
        v.bytes.get_mut(..bytes.len()).ok_or(Errno::TooLarge)?.copy_from_slice(bytes);
        v.len = bytes.len() as u8;
        Ok(v)
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl core::fmt::Debug for Value {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:02x?}", self.as_bytes())
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Value {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{=[u8]:02x}", self.as_bytes())
    }
}

/// Something a central did to the app's GATT server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum GattEvent {
    /// A central connected.
    Connected {
        /// Its address, least significant byte first.
        address: [u8; 6],
        /// 0 public, 1 random.
        address_kind: u8,
    },
    /// The central disconnected (or the link was lost).
    Disconnected {
        /// The HCI reason code (0x13: the central ended it, 0x08: timeout).
        reason: u8,
    },
    /// The central wrote characteristic `characteristic`.
    Written {
        /// Its handle.
        characteristic: u8,
        /// The bytes written.
        value: Value,
    },
    /// The central subscribed to notifications of `characteristic`.
    Subscribed {
        /// Its handle.
        characteristic: u8,
    },
    /// The central unsubscribed from `characteristic`.
    Unsubscribed {
        /// Its handle.
        characteristic: u8,
    },
}

impl GattEvent {
    /// The event's kind number, as apps receive it.
    pub fn kind(&self) -> u8 {
        match self {
            GattEvent::Connected { .. } => 1,
            GattEvent::Disconnected { .. } => 2,
            GattEvent::Written { .. } => 3,
            GattEvent::Subscribed { .. } => 4,
            GattEvent::Unsubscribed { .. } => 5,
        }
    }

    /// The characteristic it is about (0 for connections).
    pub fn characteristic(&self) -> u8 {
        match self {
            GattEvent::Written { characteristic, .. }
            | GattEvent::Subscribed { characteristic }
            | GattEvent::Unsubscribed { characteristic } => *characteristic,
            _ => 0,
        }
    }

    /// Writes the event as apps receive it (see `docs/abi.md`): kind,
    /// characteristic, payload length, 0, then the payload (the address
    /// and its kind, the reason, or the bytes written) cut to `out`.
    /// Returns the bytes written; `out` must hold [`EVENT_HEADER`].
    pub fn encode(&self, out: &mut [u8]) -> usize {
        if out.len() < EVENT_HEADER {
            return 0;
        }
        let mut address = [0u8; 7];
        let payload: &[u8] = match self {
            GattEvent::Connected { address: a, address_kind } => {
                address[..6].copy_from_slice(a);
                address[6] = *address_kind;
                &address
            }
            GattEvent::Disconnected { reason } => core::slice::from_ref(reason),
            GattEvent::Written { value, .. } => value.as_bytes(),
            GattEvent::Subscribed { .. } | GattEvent::Unsubscribed { .. } => &[],
        };
        let n = payload.len().min(out.len() - EVENT_HEADER);
        out[..EVENT_HEADER].copy_from_slice(&[self.kind(), self.characteristic(), n as u8, 0]);
        out[EVENT_HEADER..EVENT_HEADER + n].copy_from_slice(&payload[..n]);
        EVENT_HEADER + n
    }
}

/// A Bluetooth host stack's GATT server, as the firmware task serving a
/// [`crate::BleMailbox`]'s GATT side drives it
/// ([`crate::BleMailbox::serve_gatt`]). Methods take `&self`: the task
/// awaits a command while it keeps reading events
/// ([`GattServer::next_event`]). Errors are the codes apps see
/// ([`Errno::Io`] for a host or controller error).
#[allow(async_fn_in_trait)]
pub trait GattServer {
    /// Builds the attribute table from `table` (characteristic values
    /// empty until set) and advertises connectable with `adv`, again after
    /// each disconnection, until [`GattServer::stop`].
    /// The controller's advertising set is shared with
    /// [`crate::BleRadio::advertise`]: an adapter that cannot advertise
    /// both at once answers [`Errno::Busy`].
    async fn start(&self, table: &GattTable, adv: &AdvConfig) -> Result<(), Errno>;
    /// Stops advertising, disconnects any central and drops the table.
    async fn stop(&self) -> Result<(), Errno>;
    /// Sets characteristic `handle`'s value.
    async fn set_value(&self, handle: u8, value: &[u8]) -> Result<(), Errno>;
    /// Sets characteristic `handle`'s value and notifies the connected
    /// central if it subscribed (nothing is sent otherwise).
    async fn notify(&self, handle: u8, value: &[u8]) -> Result<(), Errno>;
    /// Waits for the next thing a central does.
    async fn next_event(&self) -> Result<GattEvent, Errno>;
}

/// The GATT server's owner, table and event queue.
struct Server<const QUEUE: usize> {
    owner: Option<u16>,
    table: GattTable,
    serving: bool,
    /// A task serves the GATT side ([`crate::BleMailbox::serve_gatt`]).
    served: bool,
    events: [GattEvent; QUEUE],
    head: usize,
    len: usize,
    dropped: u32,
}

/// The GATT side of a [`crate::BleMailbox`]: one table and one event
/// queue of `QUEUE`, and a job queue: the owner's job, one its previous
/// owner stopped waiting for, and the stop after an owner that went away.
pub(crate) struct GattMailbox<const QUEUE: usize> {
    server: Mutex<RefCell<Server<QUEUE>>>,
    jobs: Mailbox<GattJob, 3, MAX_VALUE>,
}

/// Lets other tasks run once.
pub(crate) async fn yield_now() {
    let mut yielded = false;
    poll_fn(|cx| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await
}

impl<const QUEUE: usize> GattMailbox<QUEUE> {
    /// Nothing declared, nobody serving.
    pub(crate) const fn new() -> Self {
        GattMailbox {
            server: Mutex::new(RefCell::new(Server {
                owner: None,
                table: GattTable::EMPTY,
                serving: false,
                served: false,
                events: [GattEvent::Disconnected { reason: 0 }; QUEUE],
                head: 0,
                len: 0,
                dropped: 0,
            })),
            jobs: Mailbox::new(GattJob::Stop),
        }
    }

    /// Bumped when a job finishes or an event arrives.
    pub(crate) fn changes(&self) -> &Changes {
        self.jobs.finished()
    }

    /// Events the owner lost because its queue was full.
    pub(crate) fn dropped(&self) -> u32 {
        critical_section::with(|cs| self.server.borrow_ref(cs).dropped)
    }

    /// Adds to app `app`'s table, making it the owner.
    pub(crate) fn declare(&self, app: u16, declaration: GattDeclaration) -> Result<u8, Errno> {
        critical_section::with(|cs| {
            let mut s = self.server.borrow_ref_mut(cs);
            if !s.served {
                return Err(Errno::Unsupported);
            }
            match s.owner {
                Some(owner) if owner != app => return Err(Errno::Busy),
                _ if s.serving => return Err(Errno::Busy),
                _ => {}
            }
            let handle = s.table.declare(declaration)?;
            s.owner = Some(app);
            Ok(handle)
        })
    }

    /// Queues app `app`'s job with `value`; `Ok(false)` when there is
    /// nothing to do (stopping a server the app does not own).
    pub(crate) fn start(&self, app: u16, job: GattJob, value: &[u8]) -> Result<bool, Errno> {
        let check = critical_section::with(|cs| {
            let s = self.server.borrow_ref(cs);
            if !s.served {
                return Err(Errno::Unsupported);
            }
            match (s.owner, job) {
                (Some(owner), _) if owner == app => {}
                (_, GattJob::Stop) => return Ok(false),
                (Some(_), GattJob::Start(_)) => return Err(Errno::Busy),
                _ => return Err(Errno::Invalid),
            }
            s.table.check(&job, value.len())?;
            match job {
                GattJob::Start(_) if s.serving => Err(Errno::Busy),
                GattJob::SetValue(_) | GattJob::Notify(_) if !s.serving => Err(Errno::Invalid),
                _ => Ok(true),
            }
        })?;
        if !check {
            return Ok(false);
        }
        // Only the owner queues jobs, and only from its own host calls: the
        // state checked above cannot change before this.
        self.jobs.start(app, job, [value, &[]], 0)?;
        critical_section::with(|cs| {
            let mut s = self.server.borrow_ref_mut(cs);
            match job {
                GattJob::Start(_) => s.serving = true,
                GattJob::Stop => {
                    s.owner = None;
                    s.serving = false;
                    s.table = GattTable::EMPTY;
                    s.len = 0;
                }
                _ => {}
            }
        });
        Ok(true)
    }

    /// App `app` stopped running: if it owned the server, the server is
    /// stopped (after its pending job) and freed for other apps.
    pub(crate) fn release(&self, app: u16) {
        self.jobs.forget(app);
        let was_serving = critical_section::with(|cs| {
            let mut s = self.server.borrow_ref_mut(cs);
            if s.owner != Some(app) {
                return false;
            }
            let serving = s.serving;
            s.owner = None;
            s.serving = false;
            s.table = GattTable::EMPTY;
            s.len = 0;
            serving
        });
        if was_serving {
            // Every slot taken by jobs of apps that went away: the stop is
            // dropped and the server runs until the next owner's `gatt_stop`.
            let _ = self.jobs.start_detached(app, GattJob::Stop, &[]);
        }
    }

    /// App `app`'s job outcome: `None` while it runs.
    pub(crate) fn poll(&self, app: u16) -> Option<Result<(), Errno>> {
        self.jobs.poll(app, &mut [])
    }

    /// The oldest event for app `app`: [`Errno::Invalid`] unless it serves.
    pub(crate) fn next_event(&self, app: u16) -> Result<Option<GattEvent>, Errno> {
        critical_section::with(|cs| {
            let mut s = self.server.borrow_ref_mut(cs);
            if s.owner != Some(app) || !s.serving {
                return Err(Errno::Invalid);
            }
            if s.len == 0 {
                return Ok(None);
            }
            let e = s.events[s.head];
            s.head = (s.head + 1) % QUEUE;
            s.len -= 1;
            Ok(Some(e))
        })
    }

    /// Queues an event for the serving app, dropping the oldest when full.
    fn deliver(&self, event: GattEvent) {
        critical_section::with(|cs| {
            let mut s = self.server.borrow_ref_mut(cs);
            if !s.serving {
                return;
            }
            if s.len == QUEUE {
                s.head = (s.head + 1) % QUEUE;
                s.len -= 1;
                s.dropped = s.dropped.saturating_add(1);
            }
            let at = (s.head + s.len) % QUEUE;
            s.events[at] = event;
            s.len += 1;
        });
        self.changes().bump();
    }

    /// Runs the queued jobs on `server` and reads its events, forever.
    pub(crate) async fn serve<S: GattServer>(&self, server: S) -> ! {
        critical_section::with(|cs| self.server.borrow_ref_mut(cs).served = true);
        let server = &server;
        let jobs = self.jobs.serve(async |job, value: &[u8], _read: &mut [u8]| match job {
            GattJob::Start(adv) => {
                let table = critical_section::with(|cs| self.server.borrow_ref(cs).table);
                if table.services().is_empty() {
                    // Its app went away before the server got to it.
                    return Err(Errno::Invalid);
                }
                let result = server.start(&table, &adv).await;
                if result.is_err() {
                    critical_section::with(|cs| self.server.borrow_ref_mut(cs).serving = false);
                }
                result
            }
            GattJob::Stop => server.stop().await,
            GattJob::SetValue(h) => server.set_value(h, value).await,
            GattJob::Notify(h) => server.notify(h, value).await,
        });
        let events = async {
            loop {
                match server.next_event().await {
                    Ok(event) => self.deliver(event),
                    // A host error: let the rest of the firmware run first.
                    Err(_) => yield_now().await,
                }
            }
        };
        let mut jobs = pin!(jobs);
        let mut events = pin!(events);
        poll_fn(|cx| {
            let _ = jobs.as_mut().poll(cx);
            let _ = events.as_mut().poll(cx);
            Poll::Pending
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chr(service: u8, properties: u8, max_len: u8) -> GattDeclaration {
        GattDeclaration::Characteristic(Characteristic { service, uuid: Uuid::Short(0x2a6e), properties, max_len })
    }

    #[test]
    fn the_table_is_bounded() {
        let mut t = GattTable::EMPTY;
        assert_eq!(t.declare(chr(0, property::READ, 4)), Err(Errno::Invalid), "no service yet");
        assert_eq!(t.declare(GattDeclaration::Service(Uuid::Short(0x181a))), Ok(0));
        assert_eq!(t.declare(GattDeclaration::Service(Uuid::Long([7; 16]))), Ok(1));
        assert_eq!(t.declare(GattDeclaration::Service(Uuid::Short(1))), Err(Errno::NoSpace));
        assert_eq!(t.declare(chr(2, property::READ, 4)), Err(Errno::Invalid), "no such service");
        assert_eq!(t.declare(chr(0, 0, 4)), Err(Errno::Invalid), "no properties");
        assert_eq!(t.declare(chr(0, 0x01, 4)), Err(Errno::Invalid), "broadcast is not supported");
        assert_eq!(t.declare(chr(0, property::READ, 0)), Err(Errno::Invalid));
        assert_eq!(t.declare(chr(0, property::READ, 65)), Err(Errno::TooLarge));
        for i in 0..4 {
            assert_eq!(t.declare(chr(i % 2, property::READ | property::NOTIFY, 64)), Ok(i));
        }
        assert_eq!(t.declare(chr(0, property::READ, 1)), Err(Errno::NoSpace), "256 value bytes used");
        assert_eq!(t.characteristics().len(), 4);
        let mut t = GattTable::EMPTY;
        t.declare(GattDeclaration::Service(Uuid::Short(0x181a))).unwrap();
        for i in 0..8 {
            assert_eq!(t.declare(chr(0, property::WRITE, 1)), Ok(i));
        }
        assert_eq!(t.declare(chr(0, property::WRITE, 1)), Err(Errno::NoSpace), "eight characteristics");
        assert_eq!(t.check(&GattJob::SetValue(7), 1), Ok(()));
        assert_eq!(t.check(&GattJob::SetValue(7), 2), Err(Errno::TooLarge));
        assert_eq!(t.check(&GattJob::SetValue(8), 0), Err(Errno::Invalid));
        assert_eq!(t.check(&GattJob::Notify(0), 1), Err(Errno::Invalid), "not notifiable");
    }

    #[test]
    fn uuids_and_event_encoding() {
        assert_eq!(Uuid::from_le_bytes(&[0x1a, 0x18]), Ok(Uuid::Short(0x181a)));
        assert_eq!(Uuid::from_le_bytes(&[0; 3]), Err(Errno::Invalid));
        let mut long = [0u8; 16];
        long[15] = 0x12;
        long[0] = 0xf0;
        let u = Uuid::from_le_bytes(&long).unwrap();
        assert_eq!(u.to_string(), "12000000-0000-0000-0000-0000000000f0");
        assert_eq!(Uuid::Short(0x2a6e).to_string(), "2a6e");
        let mut out = [0u8; MAX_EVENT];
        let connected = GattEvent::Connected { address: [1, 2, 3, 4, 5, 6], address_kind: 1 };
        assert_eq!(connected.encode(&mut out), 11);
        assert_eq!(out[..11], [1, 0, 7, 0, 1, 2, 3, 4, 5, 6, 1]);
        let written = GattEvent::Written { characteristic: 3, value: Value::new(b"abc").unwrap() };
        assert_eq!(written.encode(&mut out[..6]), 6, "cut to the buffer");
        assert_eq!(out[..6], [3, 3, 2, 0, b'a', b'b']);
        assert_eq!(GattEvent::Disconnected { reason: 0x13 }.encode(&mut out), 5);
        assert_eq!(out[..5], [2, 0, 1, 0, 0x13]);
        assert_eq!(GattEvent::Unsubscribed { characteristic: 2 }.encode(&mut out[..3]), 0);
    }
}
