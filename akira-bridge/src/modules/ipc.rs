//! `akira:ipc`: publish/subscribe between apps by topic.
//!
//! Topics are names in the manifest (`ipc = { publish = ["weather/temp"],
//! subscribe = ["ui/refresh"] }`); an app names a topic by its index in its
//! own `publish` or `subscribe` list, so each call checks it with one bit
//! test ([`akira_caps::Guard::id`] for publish, [`akira_caps::Guard::subscribe`]
//! for subscribe). The names are turned into the broker's topic ids once,
//! when the app is linked ([`Broker::attach`]): two apps that list the same
//! name meet on the same topic, and no call ever compares a string.
//!
//! The broker is one firmware-level object shared by every app: an
//! [`IpcBroker`] in a `static` (its state lives in a critical-section
//! cell), handed to [`IpcModule::new`]. It holds one mailbox per app, a
//! bounded queue of fixed-size message slots (`DEPTH` messages of at most
//! `SIZE` bytes), so publishing copies the message into each subscriber's
//! slot and never allocates. A publish that finds a subscriber's queue
//! full delivers to nobody and returns `AKIRA_ENOSPC` at once: a sender is
//! never blocked by a slow receiver. `receive` suspends the app (a module
//! wait, as a UART read) until a message arrives or its timeout passes,
//! then copies the message straight into the app's buffer.
//!
//! The scheduler sees new messages through [`HostModule::activity`] (a
//! counter that moves on every delivery); a firmware on an async executor
//! awaits [`IpcBroker::changed`] in its idle future beside its timer.

use core::cell::RefCell;
use core::fmt;

use akira_caps::scope::{IpcScope, MAX_IPC_TOPICS, Topic};
use akira_caps::{Capability, ModuleCapability, ModuleSpec, imports::builtin_import};
use critical_section::Mutex;
use wasmi::{Caller, Linker};

use super::{experimental, sig};
use crate::board::{Board, Trace};
use crate::errno::Errno;
use crate::memory::GuestMemory;
use crate::module::{HostModule, LinkContext, LinkError};
use crate::state::{AppState, ModuleIndex, Refusal, Wait, WaitKind, memory_and_state, reply};
use crate::time::Instant;
use crate::wake::Changes;

/// Marks an unused entry of a topic table.
const NO_TOPIC: u8 = u8::MAX;

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

/// What [`IpcModule`] needs from a broker. [`IpcBroker`] implements it;
/// a firmware may bring its own (a broker that also forwards topics to a
/// radio link).
pub trait Broker: Sync {
    /// Gives app `app` a mailbox (the same one again when the app is
    /// restarted: emptied, with no subscriptions) and interns the topic
    /// names of its scope. Runs when the app is linked, never on the call
    /// path.
    fn attach(&self, app: u16, scope: &IpcScope) -> Result<Attachment, AttachError>;
    /// Frees app `app`'s mailbox (the firmware calls this when it removes
    /// an app for good).
    fn detach(&self, app: u16);
    /// Subscribes (`on`) or unsubscribes mailbox `slot` to the topic at
    /// index `topic` of its app's `subscribe` list.
    fn set_subscribed(&self, slot: u8, topic: u8, on: bool) -> Result<(), Errno>;
    /// Copies `data` into the mailbox of every subscriber of broker topic
    /// `topic`, or into none when one of them is full
    /// ([`Errno::NoSpace`]); [`Errno::TooLarge`] beyond
    /// [`Broker::max_message`]. Returns the number of subscribers reached.
    fn publish(&self, topic: u8, data: &[u8]) -> Result<usize, Errno>;
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
    /// Broker topic id per index of the app's `subscribe` list.
    subscribe: [u8; MAX_IPC_TOPICS],
    queue: heapless::Deque<Message<SIZE>, DEPTH>,
}

struct Inner<const APPS: usize, const TOPICS: usize, const DEPTH: usize, const SIZE: usize> {
    topics: heapless::Vec<Topic, TOPICS>,
    /// Per broker topic: the mailbox slots subscribed to it, one bit each.
    subscribers: [u32; TOPICS],
    mailboxes: [Option<Mailbox<DEPTH, SIZE>>; APPS],
}

impl<const APPS: usize, const TOPICS: usize, const DEPTH: usize, const SIZE: usize> Inner<APPS, TOPICS, DEPTH, SIZE> {
    fn intern(&mut self, name: &Topic) -> Result<u8, AttachError> {
        if let Some(i) = self.topics.iter().position(|t| t == name) {
            return Ok(i as u8);
        }
        self.topics.push(name.clone()).map_err(|_| AttachError::NoTopicSlot)?;
        Ok((self.topics.len() - 1) as u8)
    }

    fn unsubscribe_all(&mut self, slot: usize) {
        for mask in &mut self.subscribers {
            *mask &= !(1 << slot);
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
                topics: heapless::Vec::new(),
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
            // Refuse before interning anything, so a failed attach changes
            // nothing.
            let names = || scope.publish.iter().chain(scope.subscribe.iter());
            let new = names()
                .enumerate()
                .filter(|(i, n)| !s.topics.contains(n) && !names().take(*i).any(|m| m == *n))
                .count();
            if s.topics.len() + new > TOPICS {
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
            // A (re)started app begins with an empty mailbox and no
            // subscriptions.
            s.unsubscribe_all(slot);
            s.mailboxes[slot] = Some(Mailbox { app, subscribe, queue: heapless::Deque::new() });
            Ok(Attachment { slot: slot as u8, publish })
        })
    }

    fn detach(&self, app: u16) {
        self.with(|s| {
            if let Some(slot) = s.mailboxes.iter().position(|m| m.as_ref().is_some_and(|m| m.app == app)) {
                s.unsubscribe_all(slot);
                s.mailboxes[slot] = None;
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
            let subscribed = || (0..APPS).filter(move |slot| mask & (1 << slot) != 0);
            // All or nothing: a full mailbox refuses the message for
            // everyone, so a retry never duplicates it.
            if subscribed().any(|slot| s.mailboxes[slot].as_ref().is_some_and(|m| m.queue.is_full())) {
                return Err(Errno::NoSpace);
            }
            let mut delivered = 0;
            for slot in subscribed() {
                let Some(m) = s.mailboxes[slot].as_mut() else { continue };
                let Some(local) = m.subscribe.iter().position(|id| *id == topic) else { continue };
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

/// The module's spec.
pub static SPEC: ModuleSpec = ModuleSpec {
    import: builtin_import(Capability::Ipc),
    capability: ModuleCapability::Builtin(Capability::Ipc),
    functions: &[
        experimental(
            "publish",
            sig::III,
            sig::I,
            "publish(topic, ptr, len): copy a message to every subscriber, or to none if one is full; subscribers reached",
        ),
        experimental("subscribe", sig::I, sig::I, "subscribe(topic): start receiving a topic of the subscribe list; 0"),
        experimental("unsubscribe", sig::I, sig::I, "unsubscribe(topic): stop receiving it; 0"),
        experimental(
            "receive",
            sig::IIL,
            sig::I,
            "receive(ptr, cap, timeout_us): take the oldest message, suspending until one arrives; topic << 16 | len",
        ),
        experimental("pending", sig::NONE, sig::I, "pending(): messages waiting for this app"),
    ],
};

/// The `akira:ipc` module over a firmware's [`Broker`].
#[derive(Clone, Copy)]
pub struct IpcModule {
    broker: &'static dyn Broker,
}

impl fmt::Debug for IpcModule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IpcModule").finish_non_exhaustive()
    }
}

impl IpcModule {
    /// The module over `broker`, shared by every app.
    pub const fn new(broker: &'static dyn Broker) -> Self {
        IpcModule { broker }
    }

    /// The broker.
    pub fn broker(&self) -> &'static dyn Broker {
        self.broker
    }
}

/// The wait operation of `receive`.
const OP_RECEIVE: u32 = 1;

/// A suspended receive's mailbox and buffer, packed into a wait's `arg`.
fn pack(slot: u8, ptr: u32, cap: u32) -> u64 {
    u64::from(slot) << 56 | u64::from(cap & 0x00ff_ffff) << 32 | u64::from(ptr)
}

fn unpack(arg: u64) -> (u8, u32, u32) {
    ((arg >> 56) as u8, arg as u32, (arg >> 32) as u32 & 0x00ff_ffff)
}

/// What `receive` returns for a message.
fn result(r: Received) -> i32 {
    i32::from(r.topic) << 16 | r.len as i32
}

fn publish<B: Board>(
    broker: &dyn Broker,
    at: &Attachment,
    memory: &GuestMemory<'_>,
    state: &mut AppState<B>,
    topic: u32,
    ptr: u32,
    len: u32,
) -> Result<i32, Refusal> {
    state.guarded(|g| g.id(Capability::Ipc, topic))?;
    if len as usize > broker.max_message() {
        return Err(Errno::TooLarge.into());
    }
    let data = memory.bytes(ptr, len)?;
    // The guard admitted `topic`, so it indexes the publish list.
    let id = at.publish.get(topic as usize).copied().unwrap_or(NO_TOPIC);
    let delivered = broker.publish(id, data)?;
    state.trace(Trace::Ipc { topic, published: true, bytes: data, subscribers: delivered as u32 });
    Ok(delivered as i32)
}

fn subscribe<B: Board>(
    broker: &dyn Broker,
    slot: u8,
    state: &mut AppState<B>,
    topic: u32,
    on: bool,
) -> Result<i32, Refusal> {
    state.guarded(|g| g.subscribe(topic))?;
    broker.set_subscribed(slot, topic as u8, on)?;
    Ok(0)
}

fn take<B: Board>(
    broker: &dyn Broker,
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    slot: u8,
    ptr: u32,
    cap: u32,
) -> Result<Option<i32>, Errno> {
    let buf = memory.bytes_mut(ptr, cap)?;
    let Some(r) = broker.receive(slot, buf)? else { return Ok(None) };
    state.trace(Trace::Ipc { topic: r.topic.into(), published: false, bytes: &buf[..r.len], subscribers: 0 });
    Ok(Some(result(r)))
}

#[allow(clippy::too_many_arguments)]
fn receive<B: Board>(
    broker: &dyn Broker,
    module: ModuleIndex,
    slot: u8,
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    ptr: u32,
    cap: u32,
    timeout_us: i64,
) -> Result<i32, Refusal> {
    // No bigger message exists; the wait's argument holds 24 bits.
    let cap = cap.min(broker.max_message() as u32);
    // Checked now, so a suspended call holds a valid loan.
    memory.bytes(ptr, cap)?;
    if let Some(code) = take(broker, memory, state, slot, ptr, cap)? {
        return Ok(code);
    }
    let until = match u64::try_from(timeout_us) {
        Ok(0) => return Err(Errno::TimedOut.into()),
        Ok(us) => state.board().now().saturating_add(core::time::Duration::from_micros(us)),
        Err(_) => Instant::MAX,
    };
    Err(state.suspend(Wait { until, kind: WaitKind::Module { module, op: OP_RECEIVE, arg: pack(slot, ptr, cap) } }))
}

impl<B: Board> HostModule<B> for IpcModule {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn link(&self, linker: &mut Linker<AppState<B>>, cx: &LinkContext<'_>) -> Result<(), LinkError> {
        type C<'a, B> = Caller<'a, AppState<B>>;
        let scope = cx.granted.ipc.as_ref().ok_or(LinkError::NotGranted)?;
        let at = self.broker.attach(cx.app.id, scope).map_err(|e| {
            LinkError::Exhausted(match e {
                AttachError::NoAppSlot => "the IPC broker's mailbox table",
                _ => "the IPC broker's topic table",
            })
        })?;
        let (broker, module, slot) = (self.broker, cx.module, at.slot);
        let m = SPEC.import;
        linker.func_wrap(m, "publish", move |mut c: C<'_, B>, topic: u32, ptr: u32, len: u32| {
            reply(memory_and_state(&mut c).and_then(|(mem, s)| publish(broker, &at, &mem, s, topic, ptr, len)))
        })?;
        for (name, on) in [("subscribe", true), ("unsubscribe", false)] {
            linker.func_wrap(m, name, move |mut c: C<'_, B>, topic: u32| {
                reply(subscribe(broker, slot, c.data_mut(), topic, on))
            })?;
        }
        linker.func_wrap(m, "receive", move |mut c: C<'_, B>, ptr: u32, cap: u32, timeout_us: i64| {
            reply(
                memory_and_state(&mut c)
                    .and_then(|(mut mem, s)| receive(broker, module, slot, &mut mem, s, ptr, cap, timeout_us)),
            )
        })?;
        linker.func_wrap(m, "pending", move |_: C<'_, B>| -> i32 {
            broker.pending(slot).min(i32::MAX as usize) as i32
        })?;
        Ok(())
    }

    fn poll_wait_with_memory(
        &self,
        memory: &mut GuestMemory<'_>,
        state: &mut AppState<B>,
        op: u32,
        arg: u64,
    ) -> Option<i32> {
        if op != OP_RECEIVE {
            return Some(Errno::Invalid.code());
        }
        let (slot, ptr, cap) = unpack(arg);
        match take(self.broker, memory, state, slot, ptr, cap) {
            Ok(None) => None,
            Ok(Some(code)) => Some(code),
            Err(e) => Some(e.code()),
        }
    }

    fn activity(&self) -> u32 {
        self.broker.changes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Bridge;
    use crate::testing::{Recorder, code, state};
    use akira_caps::CapabilitySet;
    use core::task::Waker;

    fn topics(names: &[&str]) -> heapless::Vec<Topic, MAX_IPC_TOPICS> {
        names.iter().map(|n| Topic::try_from(*n).unwrap()).collect()
    }

    fn scope(publish: &[&str], subscribe: &[&str]) -> IpcScope {
        IpcScope { publish: topics(publish), subscribe: topics(subscribe) }
    }

    /// A fresh broker with 2-message queues of 8 bytes, for one test.
    fn broker() -> &'static IpcBroker<3, 4, 2, 8> {
        Box::leak(Box::new(IpcBroker::new()))
    }

    #[test]
    fn names_meet_on_one_topic_whatever_their_index_in_each_list() {
        let b = broker();
        let sensor = b.attach(1, &scope(&["log", "temp"], &[])).unwrap();
        let ui = b.attach(2, &scope(&[], &["alarm", "temp"])).unwrap();
        assert_ne!(sensor.slot, ui.slot);
        let temp = sensor.publish[1];
        assert_eq!(b.publish(temp, b"21.5").unwrap(), 0, "nobody subscribed yet");
        b.set_subscribed(ui.slot, 1, true).unwrap();
        assert_eq!(b.publish(temp, b"21.5").unwrap(), 1);
        assert_eq!(b.publish(sensor.publish[0], b"x").unwrap(), 0, "another topic");
        let mut buf = [0u8; 8];
        assert_eq!(b.receive(ui.slot, &mut buf).unwrap(), Some(Received { topic: 1, len: 4 }), "ui's own index");
        assert_eq!(&buf[..4], b"21.5");
        assert_eq!(b.receive(ui.slot, &mut buf).unwrap(), None);
        b.set_subscribed(ui.slot, 1, false).unwrap();
        assert_eq!(b.publish(temp, b"22").unwrap(), 0, "unsubscribed");
    }

    #[test]
    fn a_full_mailbox_refuses_the_message_for_everyone_at_once() {
        let b = broker();
        let p = b.attach(1, &scope(&["t"], &[])).unwrap();
        let fast = b.attach(2, &scope(&[], &["t"])).unwrap();
        let slow = b.attach(3, &scope(&[], &["t"])).unwrap();
        b.set_subscribed(fast.slot, 0, true).unwrap();
        b.set_subscribed(slow.slot, 0, true).unwrap();
        assert_eq!(b.publish(p.publish[0], b"1"), Ok(2));
        let mut buf = [0u8; 8];
        b.receive(fast.slot, &mut buf).unwrap();
        assert_eq!(b.publish(p.publish[0], b"2"), Ok(2));
        assert_eq!(b.publish(p.publish[0], b"3"), Err(Errno::NoSpace), "slow holds 2 of 2");
        assert_eq!((b.pending(fast.slot), b.pending(slow.slot)), (1, 2), "fast did not get 3 either");
        b.receive(slow.slot, &mut buf).unwrap();
        assert_eq!(b.publish(p.publish[0], b"3"), Ok(2));
        assert_eq!(b.receive(slow.slot, &mut buf).unwrap().map(|r| buf[..r.len].to_vec()), Some(b"2".to_vec()));
    }

    #[test]
    fn sizes_are_bounded_and_a_short_buffer_keeps_the_message() {
        let b = broker();
        let p = b.attach(1, &scope(&["t"], &["t"])).unwrap();
        b.set_subscribed(p.slot, 0, true).unwrap();
        assert_eq!(b.publish(p.publish[0], &[0; 9]), Err(Errno::TooLarge));
        assert_eq!(b.publish(p.publish[0], b"12345678"), Ok(1), "an app may receive its own topic");
        let mut short = [0u8; 4];
        assert_eq!(b.receive(p.slot, &mut short), Err(Errno::TooLarge));
        assert_eq!(b.pending(p.slot), 1);
        let mut buf = [0u8; 8];
        assert_eq!(b.receive(p.slot, &mut buf).unwrap().unwrap().len, 8);
    }

    #[test]
    fn a_restarted_app_gets_its_mailbox_back_empty_and_slots_run_out() {
        let b = broker();
        let first = b.attach(7, &scope(&["t"], &["t"])).unwrap();
        b.set_subscribed(first.slot, 0, true).unwrap();
        b.publish(first.publish[0], b"old").unwrap();
        let again = b.attach(7, &scope(&["t"], &["t"])).unwrap();
        assert_eq!(again.slot, first.slot);
        assert_eq!(b.pending(again.slot), 0);
        assert_eq!(b.publish(again.publish[0], b"new"), Ok(0), "subscriptions start afresh");
        b.attach(8, &scope(&[], &[])).unwrap();
        b.attach(9, &scope(&[], &[])).unwrap();
        assert_eq!(b.attach(10, &scope(&[], &[])), Err(AttachError::NoAppSlot));
        b.detach(8);
        assert_eq!(b.attach(10, &scope(&["a", "b", "c", "d"], &["t"])), Err(AttachError::NoTopicSlot), "4 at most");
        b.attach(10, &scope(&["a", "b", "c"], &["a", "t"])).unwrap();
    }

    /// Module-level tests: an app granted `publish = ["ping"]`,
    /// `subscribe = ["pong"]` in mailbox `at`.
    fn app(b: &'static IpcBroker<3, 4, 2, 8>) -> (AppState<Recorder>, Attachment) {
        let s = scope(&["ping"], &["pong"]);
        let at = b.attach(1, &s).unwrap();
        (state(Recorder::default(), &CapabilitySet { ipc: Some(Box::new(s)), ..Default::default() }), at)
    }

    const M: ModuleIndex = ModuleIndex(0);

    #[test]
    fn the_guard_checks_topic_indices_and_bad_buffers_fail_before_anything_is_sent() {
        let b = broker();
        let (mut s, at) = app(b);
        let peer = b.attach(2, &scope(&["pong"], &["ping"])).unwrap();
        b.set_subscribed(peer.slot, 0, true).unwrap();
        let mut backing = *b"ping....";
        let mut mem = GuestMemory::new(&mut backing);
        assert_eq!(code(publish(b, &at, &mem, &mut s, 1, 0, 4)), Errno::Denied.code(), "only one publish topic");
        assert_eq!(code(publish(b, &at, &mem, &mut s, 31, 0, 4)), Errno::Denied.code());
        assert_eq!(code(subscribe(b, at.slot, &mut s, 1, true)), Errno::Denied.code(), "one subscribe topic");
        assert_eq!(s.guard().denials(Capability::Ipc), 3);
        assert_eq!(code(publish(b, &at, &mem, &mut s, 0, 6, 4)), Errno::Fault.code());
        assert_eq!(code(publish(b, &at, &mem, &mut s, 0, u32::MAX, 1)), Errno::Fault.code());
        assert_eq!(code(publish(b, &at, &mem, &mut s, 0, 0, 9)), Errno::TooLarge.code());
        assert_eq!(b.pending(peer.slot), 0, "nothing was sent");
        assert_eq!(code(publish(b, &at, &mem, &mut s, 0, 0, 4)), 1);
        assert_eq!(code(receive(b, M, at.slot, &mut mem, &mut s, 6, 4, -1)), Errno::Fault.code());
        assert!(s.take_wait().is_none());
        assert_eq!(s.board().events.len(), 4, "three denials and the publish");
        assert!(s.board().events[3].contains("Ipc { topic: 0, published: true, bytes: [112, 105, 110, 103]"));
    }

    #[test]
    fn receive_suspends_until_a_message_arrives_then_copies_it_into_the_app() {
        let b = broker();
        let (mut s, at) = app(b);
        let peer = b.attach(2, &scope(&["pong"], &["ping"])).unwrap();
        assert_eq!(code(subscribe(b, at.slot, &mut s, 0, true)), 0);
        s.board_mut().now = 1_000;
        let mut backing = [0u8; 16];
        let mut mem = GuestMemory::new(&mut backing);
        assert_eq!(code(receive(b, M, at.slot, &mut mem, &mut s, 4, 8, 0)), Errno::TimedOut.code(), "0 polls");
        let Err(Refusal::Trap(_)) = receive(b, M, at.slot, &mut mem, &mut s, 4, 8, 500) else {
            panic!("not suspended")
        };
        let wait = s.take_wait().unwrap();
        assert_eq!(wait.until, Instant::from_micros(1_500));
        let bridge: Bridge<Recorder> = Bridge::new().with(IpcModule::new(b)).unwrap();
        let before = bridge.activity();
        assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, Instant::from_micros(1_200)), None);
        assert_eq!(b.publish(peer.publish[0], b"pong"), Ok(1));
        assert_ne!(bridge.activity(), before, "the scheduler sees the delivery");
        assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, Instant::from_micros(1_300)), Some(4));
        assert_eq!(mem.bytes(4, 4).unwrap(), b"pong", "copied into the buffer the app passed");
        // Nothing arrives: the deadline ends the wait.
        let Err(Refusal::Trap(_)) = receive(b, M, at.slot, &mut mem, &mut s, 4, 8, 500) else { panic!() };
        let wait = s.take_wait().unwrap();
        assert_eq!(
            bridge.poll_wait(&mut mem, &mut s, &wait, Instant::from_micros(1_500)),
            Some(Errno::TimedOut.code())
        );
    }

    #[test]
    fn receive_returns_the_topic_index_and_length() {
        assert_eq!(result(Received { topic: 3, len: 64 }), 3 << 16 | 64);
        assert_eq!(unpack(pack(31, u32::MAX, 0x00ff_ffff)), (31, u32::MAX, 0x00ff_ffff));
    }

    #[test]
    fn changed_wakes_on_delivery() {
        use core::pin::pin;
        use core::task::Context;
        use std::future::Future;
        let b = broker();
        let p = b.attach(1, &scope(&["t"], &["t"])).unwrap();
        b.set_subscribed(p.slot, 0, true).unwrap();
        let mut cx = Context::from_waker(Waker::noop());
        let mut changed = pin!(b.changed());
        assert!(changed.as_mut().poll(&mut cx).is_pending());
        b.publish(p.publish[0], b"x").unwrap();
        assert!(changed.as_mut().poll(&mut cx).is_ready());
    }
}
