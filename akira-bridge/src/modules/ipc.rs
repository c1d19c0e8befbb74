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
//! full drops that subscriber's oldest message to make room and counts the
//! loss for it (`lost`): a slow receiver never blocks a sender nor the
//! other receivers. `receive` suspends the app (a module
//! wait, as a UART read) until a message arrives or its timeout passes,
//! then copies the message straight into the app's buffer.
//!
//! The scheduler sees new messages through [`HostModule::activity`] (a
//! counter that moves on every delivery); a firmware on an async executor
//! awaits [`IpcBroker::changed`] in its idle future beside its timer.

use core::fmt;

use crate::host::{Caller, Linker};
use akira_caps::{Capability, ModuleCapability, ModuleSpec};

use crate::board::{Board, Trace};
use crate::errno::Errno;
use crate::host_fn;
use crate::memory::GuestMemory;
use crate::module::{HostModule, LinkContext, LinkError};
use crate::state::{AppState, ModuleIndex, Refusal, Wait, WaitKind, memory_and_state, reply};
use crate::time::Instant;

mod broker;
#[cfg(test)]
mod tests;

use broker::NO_TOPIC;
pub use broker::{AttachError, Attachment, Broker, IpcBroker, Received};

/// The module's spec.
pub static SPEC: ModuleSpec = ModuleSpec {
    import: akira_abi::IPC.import,
    capability: ModuleCapability::Builtin(Capability::Ipc),
    functions: akira_abi::IPC.functions,
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
    // One copy per mailbox reached.
    state.work(u64::from(len) * delivered as u64);
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
    state.work(u64::from(cap));
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

    fn app_stopped(&self, _board: &mut B, app: u16) {
        // Its mailbox and the topics no other app lists are freed: apps
        // that exit, or are removed or updated (a new version is a new
        // app id), do not fill the broker for the others. A restart
        // attaches again when it is linked.
        self.broker.detach(app);
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
        host_fn!(linker, SPEC, "publish", move |c: C<'_, B>, topic: u32, ptr: u32, len: u32| {
            reply(memory_and_state(&mut c).and_then(|(mem, s)| publish(broker, &at, &mem, s, topic, ptr, len)))
        })?;
        host_fn!(linker, SPEC, "subscribe", move |c: C<'_, B>, topic: u32| {
            reply(subscribe(broker, slot, c.data_mut(), topic, true))
        })?;
        host_fn!(linker, SPEC, "unsubscribe", move |c: C<'_, B>, topic: u32| {
            reply(subscribe(broker, slot, c.data_mut(), topic, false))
        })?;
        host_fn!(linker, SPEC, "receive", move |c: C<'_, B>, ptr: u32, cap: u32, timeout_us: i64| {
            reply(
                memory_and_state(&mut c)
                    .and_then(|(mut mem, s)| receive(broker, module, slot, &mut mem, s, ptr, cap, timeout_us)),
            )
        })?;
        host_fn!(linker, SPEC, "lost", move |c: C<'_, B>| -> i32 {
            broker.take_lost(slot).min(i32::MAX as u32) as i32
        })?;
        host_fn!(linker, SPEC, "pending", move |c: C<'_, B>| -> i32 {
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
