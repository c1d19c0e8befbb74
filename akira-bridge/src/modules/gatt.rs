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
//! controller serves one attribute table, shared: up to [`GATT_APPS`]
//! apps declare tables, and the tables of the apps serving are merged into
//! the one the host stack serves, each app keeping its own handles (the
//! mailbox maps them both ways: jobs to the merged table, centrals'
//! writes and subscriptions to their app). A table that does not fit
//! beside the others' is refused with [`Errno::NoSpace`](crate::Errno::NoSpace). When an app starts or
//! stops serving, the server restarts with the new table: a connected
//! central is disconnected (every serving app gets `Disconnected` with
//! reason [`TABLE_CHANGED`]) and sees the new table when it reconnects.

mod event;
mod mailbox;
mod table;
#[cfg(test)]
mod tests;

pub use event::{EVENT_HEADER, GattEvent, GattServer, MAX_EVENT, Value};
pub use mailbox::{GATT_APPS, TABLE_CHANGED};
pub(crate) use mailbox::{GattMailbox, yield_now};
pub use table::{
    Characteristic, GattDeclaration, GattJob, GattTable, MAX_CHARACTERISTICS, MAX_SERVICES, MAX_VALUE, Uuid,
    VALUE_BYTES, property,
};
