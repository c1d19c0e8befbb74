//! What centrals do, as apps receive it, and [`GattServer`], the trait a
//! host stack implements.

use super::table::{GattTable, MAX_VALUE};
use crate::errno::Errno;
use crate::modules::ble::AdvConfig;

/// Bytes of an event before its payload: kind, characteristic, payload
/// length, zero.
pub const EVENT_HEADER: usize = 4;

/// Longest event an app can receive, in bytes.
pub const MAX_EVENT: usize = EVENT_HEADER + MAX_VALUE;
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
    /// each disconnection, until [`GattServer::stop`]. `table` is the
    /// serving apps' tables merged: handles in [`GattServer::set_value`],
    /// [`GattServer::notify`] and events are its handles (the mailbox maps
    /// them to each app's). A change of table is a stop, then a start.
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
