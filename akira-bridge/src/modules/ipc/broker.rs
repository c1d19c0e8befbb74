//! [`IpcBroker`]: topics, subscriptions and per-app mailboxes in a
//! `static`, behind the [`Broker`] trait the module calls.

use core::cell::RefCell;
use core::fmt;

use akira_caps::scope::{IpcScope, MAX_IPC_TOPICS, Topic};
use critical_section::Mutex;

use crate::errno::Errno;
use crate::wake::Changes;

/// Marks an unused entry of a topic table.
pub(super) const NO_TOPIC: u8 = u8::MAX;

/// An app's place in a broker, found once when it is linked: its mailbox
/// slot and the broker's topic id for each entry of its `publish` list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Attachment {
    /// The app's mailbox.
    pub slot: u8,
    /// Broker topic id per index of the app's `publish` list.
    pub publish: [u8; MAX_IPC_TOPICS],
}

/// A message taken from a mailbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Received {
    /// The topic's index in the receiving app's `subscribe` list.
    pub topic: u8,
    /// The message's length in bytes.
    pub len: usize,
}

/// Why an app could not be given a mailbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum AttachError {
    /// Every app slot is taken.
    NoAppSlot,
    /// The topic table is full.
    NoTopicSlot,
}

impl fmt::Display for AttachError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AttachError::NoAppSlot => "every IPC mailbox is taken",
            AttachError::NoTopicSlot => "the IPC topic table is full",
        })
    }
}

impl core::error::Error for AttachError {}

/// What [`IpcModule`](crate::IpcModule) needs from a broker. [`IpcBroker`] implements it;
/// a firmware may bring its own (a broker that also forwards topics to a
/// radio link).
pub trait Broker: Sync {
    /// Gives app `app` a mailbox (the same one again when the app is
    /// restarted: emptied, with no subscriptions) and interns the topic
    /// names of its scope. Runs when the app is linked, never on the call
    /// path. A restarted app's new scope that no longer fits (others took
    /// the topics its old one gave back) leaves it without a mailbox.
    fn attach(&self, app: u16, scope: &IpcScope) -> Result<Attachment, AttachError>;
    /// Frees app `app`'s mailbox and the topics no other app lists
    /// ([`IpcModule`](crate::IpcModule) calls this when the app stops;
    /// its restart attaches again).
    fn detach(&self, app: u16);
    /// Subscribes (`on`) or unsubscribes mailbox `slot` to the topic at
    /// index `topic` of its app's `subscribe` list.
    fn set_subscribed(&self, slot: u8, topic: u8, on: bool) -> Result<(), Errno>;
    /// Copies `data` into the mailbox of every subscriber of broker topic
    /// `topic`; a full mailbox drops its oldest message to take it, and
    /// counts the loss for its app ([`Broker::take_lost`]), so a slow
    /// subscriber never blocks the others. [`Errno::TooLarge`] beyond
    /// [`Broker::max_message`]. Returns the number of subscribers reached.
    fn publish(&self, topic: u8, data: &[u8]) -> Result<usize, Errno>;
    /// Messages mailbox `slot` dropped (oldest first, when full) since the
    /// last call.
    fn take_lost(&self, slot: u8) -> u32;
    /// Takes the oldest message of mailbox `slot` into `buf`: `Ok(None)`
    /// when there is none; [`Errno::TooLarge`] (the message stays queued)
    /// when `buf` is shorter than the message.
    fn receive(&self, slot: u8, buf: &mut [u8]) -> Result<Option<Received>, Errno>;
    /// Messages waiting in mailbox `slot`.
    fn pending(&self, slot: u8) -> usize;
    /// The largest message, in bytes.
    fn max_message(&self) -> usize;
    /// A counter that moves on every delivery.
    fn changes(&self) -> u32;
}

/// One queued message, in a fixed slot.
struct Message<const SIZE: usize> {
    /// Index in the receiver's `subscribe` list.
    topic: u8,
    len: u16,
    data: [u8; SIZE],
}

/// One app's mailbox.
struct Mailbox<const DEPTH: usize, const SIZE: usize> {
    app: u16,
    /// Broker topic id per index of the app's `publish` list (its
    /// references to the topic table, given back when it is detached).
    publish: [u8; MAX_IPC_TOPICS],
    /// Broker topic id per index of the app's `subscribe` list.
    subscribe: [u8; MAX_IPC_TOPICS],
    queue: heapless::Deque<Message<SIZE>, DEPTH>,
    /// Messages dropped because the queue was full.
    lost: u32,
}

struct Inner<const APPS: usize, const TOPICS: usize, const DEPTH: usize, const SIZE: usize> {
    /// Topic names by broker id; `None` is a free entry.
    topics: [Option<Topic>; TOPICS],
    /// Per broker topic: how many entries of attached apps' lists name it.
    /// A topic no attached app lists is freed, so apps that went away
    /// (or came back with other names) leave the table to the others.
    refs: [u16; TOPICS],
    /// Per broker topic: the mailbox slots subscribed to it, one bit each.
    subscribers: [u32; TOPICS],
    mailboxes: [Option<Mailbox<DEPTH, SIZE>>; APPS],
}

impl<const APPS: usize, const TOPICS: usize, const DEPTH: usize, const SIZE: usize> Inner<APPS, TOPICS, DEPTH, SIZE> {
    fn position(&self, name: &Topic) -> Option<usize> {
        self.topics.iter().position(|t| t.as_ref() == Some(name))
    }

    /// The id of topic `name`, interned if new, with one more reference.
    fn intern(&mut self, name: &Topic) -> Result<u8, AttachError> {
        let id = match self.position(name) {
            Some(id) => id,
            None => {
                let id = self.topics.iter().position(Option::is_none).ok_or(AttachError::NoTopicSlot)?;
                self.topics[id] = Some(name.clone());
                id
            }
        };
        self.refs[id] += 1;
        Ok(id as u8)
    }

    /// Frees mailbox `slot`: its subscriptions and its references to
    /// topics (a topic left without any is freed).
    fn free(&mut self, slot: usize) {
        for mask in &mut self.subscribers {
            *mask &= !(1 << slot);
        }
        let Some(m) = self.mailboxes[slot].take() else { return };
        for id in m.publish.iter().chain(m.subscribe.iter()).filter(|id| **id != NO_TOPIC) {
            let id = usize::from(*id);
            self.refs[id] -= 1;
            if self.refs[id] == 0 {
                self.topics[id] = None;
            }
        }
    }
}

/// The firmware's message broker: `APPS` mailboxes (at most 32) of
/// `DEPTH` messages of at most `SIZE` bytes, and up to `TOPICS` distinct
/// topic names (at most 255). Put one in a `static`:
///
/// ```rust,ignore
/// static BROKER: IpcBroker = IpcBroker::new();
/// bridge.register(IpcModule::new(&BROKER))?;
/// ```
///
/// The defaults (8 apps, 16 topics, 4 messages of 64 bytes) take about
/// 2.3 KiB of RAM.
pub struct IpcBroker<const APPS: usize = 8, const TOPICS: usize = 16, const DEPTH: usize = 4, const SIZE: usize = 64> {
    inner: Mutex<RefCell<Inner<APPS, TOPICS, DEPTH, SIZE>>>,
    changes: Changes,
}

impl<const APPS: usize, const TOPICS: usize, const DEPTH: usize, const SIZE: usize> Default
    for IpcBroker<APPS, TOPICS, DEPTH, SIZE>
{
    fn default() -> Self {
        Self::new()
    }
}

impl<const APPS: usize, const TOPICS: usize, const DEPTH: usize, const SIZE: usize>
    IpcBroker<APPS, TOPICS, DEPTH, SIZE>
{
    const FITS: () = assert!(
        APPS >= 1 && APPS <= 32 && TOPICS >= 1 && TOPICS < NO_TOPIC as usize && DEPTH >= 1 && SIZE <= u16::MAX as usize,
        "an IpcBroker has 1 to 32 app slots, 1 to 254 topics, queues of at least one message of at most 65535 bytes"
    );

    /// An empty broker, for a `static`.
    pub const fn new() -> Self {
        let () = Self::FITS;
        IpcBroker {
            inner: Mutex::new(RefCell::new(Inner {
                topics: [const { None }; TOPICS],
                refs: [0; TOPICS],
                subscribers: [0; TOPICS],
                mailboxes: [const { None }; APPS],
            })),
            changes: Changes::new(),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner<APPS, TOPICS, DEPTH, SIZE>) -> R) -> R {
        critical_section::with(|cs| f(&mut self.inner.borrow_ref_mut(cs)))
    }

    /// Resolves when a message is delivered (one waiter: the scheduler's
    /// idle future).
    pub async fn changed(&self) {
        self.changes.changed().await
    }
}

impl<const APPS: usize, const TOPICS: usize, const DEPTH: usize, const SIZE: usize> Broker
    for IpcBroker<APPS, TOPICS, DEPTH, SIZE>
{
    fn attach(&self, app: u16, scope: &IpcScope) -> Result<Attachment, AttachError> {
        self.with(|s| {
            let slot = match s.mailboxes.iter().position(|m| m.as_ref().is_some_and(|m| m.app == app)) {
                Some(slot) => slot,
                None => s.mailboxes.iter().position(Option::is_none).ok_or(AttachError::NoAppSlot)?,
            };
            // A (re)started app begins with an empty mailbox and no
            // subscriptions, and gives back the topics its last instance
            // (perhaps an older version, with other names) listed.
            s.free(slot);
            // Refuse before interning anything, so a failed attach takes
            // nothing.
            let new = scope.topics().filter(|n| s.position(n).is_none()).count();
            if s.topics.iter().filter(|t| t.is_some()).count() + new > TOPICS {
                return Err(AttachError::NoTopicSlot);
            }
            let mut publish = [NO_TOPIC; MAX_IPC_TOPICS];
            for (id, name) in publish.iter_mut().zip(scope.publish.iter()) {
                *id = s.intern(name)?;
            }
            let mut subscribe = [NO_TOPIC; MAX_IPC_TOPICS];
            for (id, name) in subscribe.iter_mut().zip(scope.subscribe.iter()) {
                *id = s.intern(name)?;
            }
            s.mailboxes[slot] = Some(Mailbox { app, publish, subscribe, queue: heapless::Deque::new(), lost: 0 });
            Ok(Attachment { slot: slot as u8, publish })
        })
    }

    fn detach(&self, app: u16) {
        self.with(|s| {
            if let Some(slot) = s.mailboxes.iter().position(|m| m.as_ref().is_some_and(|m| m.app == app)) {
                s.free(slot);
            }
        })
    }

    fn set_subscribed(&self, slot: u8, topic: u8, on: bool) -> Result<(), Errno> {
        self.with(|s| {
            let mailbox = s.mailboxes.get(usize::from(slot)).and_then(Option::as_ref).ok_or(Errno::Invalid)?;
            let id = *mailbox.subscribe.get(usize::from(topic)).ok_or(Errno::Invalid)?;
            let mask = s.subscribers.get_mut(usize::from(id)).ok_or(Errno::Invalid)?;
            if on {
                *mask |= 1 << slot;
            } else {
                *mask &= !(1 << slot);
            }
            Ok(())
        })
    }

    fn publish(&self, topic: u8, data: &[u8]) -> Result<usize, Errno> {
        if data.len() > SIZE {
            return Err(Errno::TooLarge);
        }
        let delivered = self.with(|s| {
            let mask = *s.subscribers.get(usize::from(topic)).ok_or(Errno::Invalid)?;
            let mut delivered = 0;
            for slot in (0..APPS).filter(|slot| mask & (1 << slot) != 0) {
                let Some(m) = s.mailboxes[slot].as_mut() else { continue };
                let Some(local) = m.subscribe.iter().position(|id| *id == topic) else { continue };
                // A full mailbox makes room: its subscriber is slow, and
                // loses its oldest message rather than hold up the
                // publisher and the other subscribers.
                if m.queue.is_full() {
                    m.queue.pop_front();
                    m.lost = m.lost.saturating_add(1);
                }
                let mut message = Message { topic: local as u8, len: data.len() as u16, data: [0; SIZE] };
                message.data[..data.len()].copy_from_slice(data);
                if m.queue.push_back(message).is_ok() {
                    delivered += 1;
                }
            }
            Ok(delivered)
        })?;
        if delivered > 0 {
            self.changes.bump();
        }
        Ok(delivered)
    }

    fn receive(&self, slot: u8, buf: &mut [u8]) -> Result<Option<Received>, Errno> {
        self.with(|s| {
            let m = s.mailboxes.get_mut(usize::from(slot)).and_then(Option::as_mut).ok_or(Errno::Invalid)?;
            let Some(front) = m.queue.front() else { return Ok(None) };
            let len = usize::from(front.len);
            if len > buf.len() {
                return Err(Errno::TooLarge);
            }
            buf[..len].copy_from_slice(&front.data[..len]);
            let topic = front.topic;
            m.queue.pop_front();
            Ok(Some(Received { topic, len }))
        })
    }

    fn take_lost(&self, slot: u8) -> u32 {
        self.with(|s| {
            s.mailboxes.get_mut(usize::from(slot)).and_then(Option::as_mut).map_or(0, |m| core::mem::take(&mut m.lost))
        })
    }

    fn pending(&self, slot: u8) -> usize {
        self.with(|s| s.mailboxes.get(usize::from(slot)).and_then(Option::as_ref).map_or(0, |m| m.queue.len()))
    }

    fn max_message(&self) -> usize {
        SIZE
    }

    fn changes(&self) -> u32 {
        self.changes.count()
    }
}
