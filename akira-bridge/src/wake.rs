//! Waking firmware tasks from host calls and from other tasks, without
//! depending on an executor: a waker slot, and a change counter with one
//! waiter (the scheduler's idle future), shared by every mailbox and
//! buffer that bus tasks serve.

use core::future::poll_fn;
use core::sync::atomic::{AtomicU32, Ordering};
use core::task::Poll;

/// One task's waker, which interrupt handlers, tasks and host calls can
/// all wake: embassy-sync's `AtomicWaker` (`register` keeps the waker,
/// replacing any earlier one; `wake` wakes it). Measured on the
/// NUCLEO-F429ZI firmware (text + rodata): 112 bytes less than the slot
/// this crate kept by hand; the `atomic-waker` crate's lock-free slot cost
/// 704 bytes more. embassy-sync 0.8 is the version the vendor adapters
/// link already.
pub(crate) use embassy_sync::waitqueue::AtomicWaker as WakerSlot;

/// A count of events (a transfer finished, bytes arrived, a message was
/// delivered) with one waiter.
///
/// [`Changes::changed`] resolves once the count moves past its value when
/// the future was first polled. On a single-threaded executor nothing
/// runs between a scheduler round and its idle future's first poll, so no
/// event is missed; events from other cores or threads in that gap are
/// seen at the next one.
pub(crate) struct Changes {
    count: AtomicU32,
    waiter: WakerSlot,
}

impl Changes {
    /// No events yet.
    pub(crate) const fn new() -> Self {
        Changes { count: AtomicU32::new(0), waiter: WakerSlot::new() }
    }

    /// Events so far (wrapping).
    pub(crate) fn count(&self) -> u32 {
        self.count.load(Ordering::Acquire)
    }

    /// Counts an event and wakes the waiter.
    pub(crate) fn bump(&self) {
        self.count.fetch_add(1, Ordering::Release);
        self.waiter.wake();
    }

    /// Resolves at the next event on any of `changes` (each waiter slot
    /// gets the caller's waker; `None`s are skipped).
    pub(crate) async fn any<const N: usize>(changes: [Option<&Changes>; N]) {
        let seen = changes.map(|c| c.map(Changes::count));
        let moved = || {
            changes.iter().zip(&seen).any(|(c, seen)| matches!((c, seen), (Some(c), Some(seen)) if c.count() != *seen))
        };
        poll_fn(|cx| {
            if moved() {
                return Poll::Ready(());
            }
            for c in changes.iter().flatten() {
                c.waiter.register(cx.waker());
            }
            // An event between the check and the registration wakes us anyway.
            if moved() { Poll::Ready(()) } else { Poll::Pending }
        })
        .await
    }

    /// Resolves at the next event.
    pub(crate) async fn changed(&self) {
        let seen = self.count();
        poll_fn(|cx| {
            if self.count() != seen {
                return Poll::Ready(());
            }
            self.waiter.register(cx.waker());
            // An event between the check and the registration wakes us anyway.
            if self.count() != seen { Poll::Ready(()) } else { Poll::Pending }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::pin::pin;
    use core::task::{Context, Waker};
    use std::future::Future;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn changed_resolves_at_the_next_event_and_wakes_its_waiter() {
        let changes = Changes::new();
        changes.bump();
        let woken = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(woken.clone());
        let mut cx = Context::from_waker(&waker);
        let mut next = pin!(changes.changed());
        assert!(next.as_mut().poll(&mut cx).is_pending(), "an event before the call does not count");
        changes.bump();
        assert_eq!(woken.0.load(Ordering::SeqCst), 1, "the waiter is woken");
        assert!(next.as_mut().poll(&mut cx).is_ready());
        assert_eq!(changes.count(), 2);
    }
}
