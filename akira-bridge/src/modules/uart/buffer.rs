//! [`SerialBuffer`]: a serial port's receive and transmit rings, filled
//! and drained by firmware tasks over embedded-io-async.

use core::cell::RefCell;
use core::future::poll_fn;
use core::sync::atomic::{AtomicU32, Ordering};
use core::task::Poll;

use critical_section::Mutex;
use heapless::Deque;

use crate::wake::{Changes, WakerSlot};

/// A fixed ring of bytes: heapless's `Deque` (128 bytes more flash than
/// the ring this file kept by hand, NUCLEO-F429ZI firmware, text +
/// rodata).
type Ring<const N: usize> = Deque<u8, N>;

/// Queues as many bytes of `data` as fit in `ring`; how many.
fn push<const N: usize>(ring: &mut Ring<N>, data: &[u8]) -> usize {
    let n = data.len().min(N - ring.len());
    for &b in &data[..n] {
        // Cannot fail: the room was counted above.
        let _ = ring.push_back(b);
    }
    n
}

/// Takes as many bytes from `ring` as `buf` holds; how many.
fn pop<const N: usize>(ring: &mut Ring<N>, buf: &mut [u8]) -> usize {
    let mut n = 0;
    for (slot, b) in buf.iter_mut().zip(core::iter::from_fn(|| ring.pop_front())) {
        *slot = b;
        n += 1;
    }
    n
}

/// One serial port's receive and transmit rings (`RX` and `TX` bytes), for
/// boards on an async HAL. A firmware task runs [`SerialBuffer::pump_rx`]
/// on the port's embedded-io-async reader and one runs
/// [`SerialBuffer::pump_tx`] on its writer; the board's [`Uart`](crate::Uart)
/// implementation calls [`SerialBuffer::take`] and [`SerialBuffer::queue`].
/// Received bytes that do not fit are dropped and counted
/// ([`SerialBuffer::dropped`]).
pub struct SerialBuffer<const RX: usize, const TX: usize> {
    rx: Mutex<RefCell<Ring<RX>>>,
    tx: Mutex<RefCell<Ring<TX>>>,
    dropped: AtomicU32,
    /// Counts bytes arriving, bytes queued and room appearing, for the
    /// scheduler's idle future.
    activity: Changes,
    rx_waker: WakerSlot,
    tx_waker: WakerSlot,
}

impl<const RX: usize, const TX: usize> Default for SerialBuffer<RX, TX> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const RX: usize, const TX: usize> SerialBuffer<RX, TX> {
    const NOT_EMPTY: () = assert!(RX > 0 && TX > 0, "a SerialBuffer's rings hold at least one byte");

    /// Empty rings.
    pub const fn new() -> Self {
        let () = Self::NOT_EMPTY;
        SerialBuffer {
            rx: Mutex::new(RefCell::new(Deque::new())),
            tx: Mutex::new(RefCell::new(Deque::new())),
            dropped: AtomicU32::new(0),
            activity: Changes::new(),
            rx_waker: WakerSlot::new(),
            tx_waker: WakerSlot::new(),
        }
    }

    /// Records received bytes (from a task or an interrupt handler); what
    /// does not fit is dropped and counted.
    pub fn receive(&self, data: &[u8]) {
        let n = critical_section::with(|cs| push(&mut self.rx.borrow_ref_mut(cs), data));
        if n < data.len() {
            self.dropped.fetch_add((data.len() - n) as u32, Ordering::Relaxed);
        }
        if n > 0 {
            self.activity.bump();
        }
    }

    /// Takes up to `buf.len()` received bytes (for the board's
    /// [`Uart::read`](crate::Uart::read)).
    pub fn take(&self, buf: &mut [u8]) -> usize {
        let n = critical_section::with(|cs| pop(&mut self.rx.borrow_ref_mut(cs), buf));
        if n > 0 {
            self.rx_waker.wake();
        }
        n
    }

    /// Queues as much of `data` as fits for transmission (for the board's
    /// [`Uart::write`](crate::Uart::write)).
    pub fn queue(&self, data: &[u8]) -> usize {
        let n = critical_section::with(|cs| push(&mut self.tx.borrow_ref_mut(cs), data));
        if n > 0 {
            self.tx_waker.wake();
        }
        n
    }

    /// Received bytes dropped because the receive ring was full.
    pub fn dropped(&self) -> u32 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Resolves when bytes arrive or transmit room appears (one waiter:
    /// the scheduler's idle future).
    pub async fn changed(&self) {
        self.activity.changed().await
    }

    /// The activity counter behind [`SerialBuffer::changed`], for idle
    /// futures that wait on several ports at once.
    pub(crate) fn activity(&self) -> &Changes {
        &self.activity
    }

    /// Reads the port forever into the receive ring: run it as a firmware
    /// task. While the ring is full it waits for the app to take bytes
    /// rather than read more (a driver with flow control then holds the
    /// sender off). Read errors (framing, overrun) are skipped.
    pub async fn pump_rx<R: embedded_io_async::Read>(&self, mut rx: R) -> ! {
        let mut chunk = [0u8; 32];
        loop {
            let room = poll_fn(|cx| {
                let room = critical_section::with(|cs| {
                    let ring = self.rx.borrow_ref(cs);
                    RX - ring.len()
                });
                if room > 0 {
                    return Poll::Ready(room);
                }
                self.rx_waker.register(cx.waker());
                let again = critical_section::with(|cs| RX - self.rx.borrow_ref(cs).len());
                if again > 0 { Poll::Ready(again) } else { Poll::Pending }
            })
            .await;
            let want = room.min(chunk.len());
            if let Ok(n) = rx.read(&mut chunk[..want]).await {
                self.receive(&chunk[..n]);
            }
        }
    }

    /// Writes the transmit ring to the port forever: run it as a firmware
    /// task. Write errors drop the chunk.
    pub async fn pump_tx<W: embedded_io_async::Write>(&self, mut tx: W) -> ! {
        let mut chunk = [0u8; 32];
        loop {
            let n = poll_fn(|cx| {
                let n = critical_section::with(|cs| pop(&mut self.tx.borrow_ref_mut(cs), &mut chunk));
                if n > 0 {
                    return Poll::Ready(n);
                }
                self.tx_waker.register(cx.waker());
                let n = critical_section::with(|cs| pop(&mut self.tx.borrow_ref_mut(cs), &mut chunk));
                if n > 0 { Poll::Ready(n) } else { Poll::Pending }
            })
            .await;
            self.activity.bump();
            let _ = tx.write_all(&chunk[..n]).await;
        }
    }
}
