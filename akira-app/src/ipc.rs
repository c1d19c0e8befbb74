//! `akira:ipc`: publish/subscribe between apps. Needs the `ipc`
//! capability with the topics the app publishes to and subscribes to:
//!
//! ```toml
//! [capabilities]
//! ipc = { publish = ["ping"], subscribe = ["pong"] }
//! ```
//!
//! A topic is named by its index in the app's own list: here
//! `Publisher::new(0)` publishes on `ping` and `subscribe(0)` subscribes to
//! `pong`. Two apps that list the same name talk on the same topic.
//!
//! ```ignore
//! use akira_app::ipc::{self, Publisher};
//! # fn run() -> akira_app::Result<()> {
//! ipc::subscribe(0)?;                                  // "pong"
//! Publisher::new(0).publish(b"hello")?;               // "ping"
//! let mut buf = [0u8; ipc::MAX_MESSAGE];
//! let msg = ipc::receive(&mut buf, None)?;             // waits, suspended
//! let reply = &buf[..msg.len];
//! # Ok(()) }
//! ```

use core::time::Duration;

use crate::{Error, Result};

/// The message size every firmware's broker takes at least (the
/// simulator's and the default broker's size); a larger message may be
/// refused with [`Error::TOO_LARGE`].
pub const MAX_MESSAGE: usize = 64;

use crate::imports::ipc as ffi;

/// Publishes `data` on topic `topic` (an index of the app's `publish`
/// list). Returns how many subscribers got it; [`Error::NO_SPACE`] (nobody
/// got it) when a subscriber's mailbox is full.
pub fn publish(topic: u8, data: &[u8]) -> Result<usize> {
    let len = i32::try_from(data.len()).map_err(|_| Error::TOO_LARGE)?;
    // SAFETY: the host reads at most `len` bytes at the pointer, which
    // `data` owns; it checks the range against the app's memory.
    let r = unsafe { ffi::publish(topic.into(), data.as_ptr(), len) };
    Error::check(r).map(|n| n as usize)
}

/// Starts receiving topic `topic` (an index of the app's `subscribe`
/// list).
pub fn subscribe(topic: u8) -> Result<()> {
    // SAFETY: no pointers.
    Error::check(unsafe { ffi::subscribe(topic.into()) }).map(drop)
}

/// Stops receiving topic `topic`.
pub fn unsubscribe(topic: u8) -> Result<()> {
    // SAFETY: no pointers.
    Error::check(unsafe { ffi::unsubscribe(topic.into()) }).map(drop)
}

/// A message taken by [`receive`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message {
    /// The topic's index in the app's `subscribe` list.
    pub topic: u8,
    /// The message's length: it is `buf[..len]`.
    pub len: usize,
}

/// Takes the oldest message for this app into `buf`, waiting (suspended)
/// until one arrives, up to `timeout` ([`Error::TIMED_OUT`]; `None` waits
/// for ever, `Some(Duration::ZERO)` does not wait). A message longer than
/// `buf` is [`Error::TOO_LARGE`] and stays queued.
pub fn receive(buf: &mut [u8], timeout: Option<Duration>) -> Result<Message> {
    let cap = buf.len().min(i32::MAX as usize) as i32;
    let timeout = timeout.map_or(-1, |t| t.as_micros().min(i64::MAX as u128) as i64);
    // SAFETY: the host writes at most `cap` bytes into `buf`, which is
    // borrowed exclusively; it checks the range against the app's memory,
    // and while the app is suspended nothing else touches `buf`.
    let r = Error::check(unsafe { ffi::receive(buf.as_mut_ptr(), cap, timeout) })?;
    Ok(Message { topic: (r >> 16) as u8, len: (r & 0xffff) as usize })
}

/// Messages waiting for this app.
pub fn pending() -> usize {
    // SAFETY: no pointers.
    unsafe { ffi::pending() }.max(0) as usize
}

/// A topic the app publishes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Publisher {
    topic: u8,
}

impl Publisher {
    /// Topic `topic` of the app's `publish` list.
    pub const fn new(topic: u8) -> Publisher {
        Publisher { topic }
    }

    /// See [`publish()`].
    pub fn publish(&self, data: &[u8]) -> Result<usize> {
        publish(self.topic, data)
    }
}
