//! The GATT peripheral of `akira:ble`: an app's attribute table, the jobs
//! and events between the module and the controller's host stack, and
//! [`GattServer`], the Akira trait a host stack implements.
//!
//! An app declares at run time up to [`MAX_SERVICES`] services and
//! [`MAX_CHARACTERISTICS`] characteristics holding at most [`VALUE_BYTES`]
//! value bytes in all ([`GattTable`]; beyond: [`Errno::NoSpace`](crate::Errno::NoSpace)), then
//! starts serving it with connectable advertising. A central's connection,
//! disconnection, writes and subscriptions reach it as [`GattEvent`]s.
//!
//! Boards implement the per-app side in [`crate::Ble`]'s `gatt_*` methods;
//! [`crate::BleMailbox`] implements them for a host stack served by a
//! firmware task ([`crate::BleMailbox::serve_gatt`]) over any
//! [`GattServer`] (a vendor adapter implements it over its Bluetooth host,
//! such as `trouble-host`; no host-stack type appears here). The
//! controller serves one table at a time: the first app to declare owns
//! it until it calls `gatt_stop` (another gets [`Errno::Busy`](crate::Errno::Busy)).

mod event;
mod mailbox;
mod table;
#[cfg(test)]
mod tests;

pub use event::{EVENT_HEADER, GattEvent, GattServer, MAX_EVENT, Value};
pub(crate) use mailbox::{GattMailbox, yield_now};
pub use table::{
    Characteristic, GattDeclaration, GattJob, GattTable, MAX_CHARACTERISTICS, MAX_SERVICES, MAX_VALUE, Uuid,
    VALUE_BYTES, property,
};
