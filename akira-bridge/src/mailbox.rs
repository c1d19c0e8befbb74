//! The queue behind the bus mailboxes ([`I2cMailbox`], [`SpiMailbox`]):
//! one transfer per app, in up to `SLOTS` slots of `BUF`-byte buffers,
//! taken in the order they were queued by a firmware task that runs them
//! on the bus.
//!
//! A slot goes Free -> Queued ([`Mailbox::start`]) -> Running (the serving
//! task took it) -> Done (the task finished it) -> Free ([`Mailbox::poll`]
//! collected it). A slot left Done because its app stopped waiting (a
//! timeout) is recycled by that app's next `start`. A detached job
//! ([`Mailbox::start_detached`], or one whose app went away,
//! [`Mailbox::forget`]) has no app to collect it: its slot is freed when
//! it finishes.
//!
//! [`I2cMailbox`]: crate::I2cMailbox
//! [`SpiMailbox`]: crate::SpiMailbox

use core::cell::RefCell;
use core::future::poll_fn;
use core::task::Poll;

use critical_section::Mutex;

use crate::errno::Errno;
use crate::wake::{Changes, WakerSlot};

/// Where a slot's transfer is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Free,
    Queued,
    Running,
    Done(Result<(), Errno>),
}

/// One app's transfer: its job, its write bytes, then its read bytes, in
/// `buf`.
#[derive(Clone, Copy)]
struct Slot<J, const BUF: usize> {
    phase: Phase,
    app: u16,
    /// Nobody collects the outcome: freed when done.
    detached: bool,
    seq: u32,
    job: J,
    wlen: usize,
    rlen: usize,
    buf: [u8; BUF],
}

struct Slots<J, const SLOTS: usize, const BUF: usize> {
    slots: [Slot<J, BUF>; SLOTS],
    next_seq: u32,
}

/// A bus's queue of transfers. `J` describes a transfer besides its bytes
/// (the I2C address, the SPI operation); write and read are at most `BUF`
/// bytes each.
pub(crate) struct Mailbox<J, const SLOTS: usize, const BUF: usize> {
    slots: Mutex<RefCell<Slots<J, SLOTS, BUF>>>,
    /// Bumped when a transfer finishes, so `changed` can tell new from old.
    finished: Changes,
    serve_waker: WakerSlot,
}

impl<J: Copy, const SLOTS: usize, const BUF: usize> Mailbox<J, SLOTS, BUF> {
    /// An empty mailbox; `blank` fills the free slots' jobs.
    pub(crate) const fn new(blank: J) -> Self {
        let free =
            Slot { phase: Phase::Free, app: 0, detached: false, seq: 0, job: blank, wlen: 0, rlen: 0, buf: [0; BUF] };
        Mailbox {
            slots: Mutex::new(RefCell::new(Slots { slots: [free; SLOTS], next_seq: 0 })),
            finished: Changes::new(),
            serve_waker: WakerSlot::new(),
        }
    }

    /// Queues app `app`'s transfer `job`: write the bytes of `write` (its
    /// two parts back to back), read `read_len` bytes. [`Errno::TooLarge`]
    /// beyond the buffers, [`Errno::Busy`] if the app's previous transfer
    /// is queued or running or every slot is taken.
    pub(crate) fn start(&self, app: u16, job: J, write: [&[u8]; 2], read_len: usize) -> Result<(), Errno> {
        let wlen = write[0].len() + write[1].len();
        if wlen > BUF || read_len > BUF {
            return Err(Errno::TooLarge);
        }
        critical_section::with(|cs| {
            let mut s = self.slots.borrow_ref_mut(cs);
            if let Some(mine) = s.slots.iter_mut().find(|t| t.phase != Phase::Free && !t.detached && t.app == app) {
                match mine.phase {
                    // Finished after its app stopped waiting: recycled.
                    Phase::Done(_) => mine.phase = Phase::Free,
                    _ => return Err(Errno::Busy),
                }
            }
            let seq = s.next_seq;
            let slot = s.slots.iter_mut().find(|t| t.phase == Phase::Free).ok_or(Errno::Busy)?;
            slot.buf[..write[0].len()].copy_from_slice(write[0]);
            slot.buf[write[0].len()..wlen].copy_from_slice(write[1]);
            *slot = Slot { phase: Phase::Queued, app, detached: false, seq, job, wlen, rlen: read_len, buf: slot.buf };
            s.next_seq = seq.wrapping_add(1);
            Ok(())
        })?;
        self.serve_waker.wake();
        Ok(())
    }

    /// App `app`'s outcome: `None` while its transfer is queued or
    /// running; once done, the bytes read are copied to `read` and the
    /// slot is freed. `Some(Err(Invalid))` if it has no transfer.
    pub(crate) fn poll(&self, app: u16, read: &mut [u8]) -> Option<Result<(), Errno>> {
        critical_section::with(|cs| {
            let mut s = self.slots.borrow_ref_mut(cs);
            let Some(slot) = s.slots.iter_mut().find(|t| t.phase != Phase::Free && !t.detached && t.app == app) else {
                return Some(Err(Errno::Invalid));
            };
            let Phase::Done(result) = slot.phase else { return None };
            let n = read.len().min(slot.rlen);
            read[..n].copy_from_slice(&slot.buf[..n]);
            slot.phase = Phase::Free;
            Some(result)
        })
    }

    /// Queues `job` with `write` on behalf of no app (a clean-up after
    /// one): it runs in turn and its outcome is dropped.
    /// [`Errno::Busy`] if every slot is taken.
    #[cfg_attr(not(feature = "ble"), allow(dead_code))] // GATT clean-ups only
    pub(crate) fn start_detached(&self, app: u16, job: J, write: &[u8]) -> Result<(), Errno> {
        if write.len() > BUF {
            return Err(Errno::TooLarge);
        }
        critical_section::with(|cs| {
            let mut s = self.slots.borrow_ref_mut(cs);
            let seq = s.next_seq;
            let slot = s.slots.iter_mut().find(|t| t.phase == Phase::Free).ok_or(Errno::Busy)?;
            slot.buf[..write.len()].copy_from_slice(write);
            *slot =
                Slot { phase: Phase::Queued, app, detached: true, seq, job, wlen: write.len(), rlen: 0, buf: slot.buf };
            s.next_seq = seq.wrapping_add(1);
            Ok(())
        })?;
        self.serve_waker.wake();
        Ok(())
    }

    /// App `app` went away: its finished transfer is freed, a queued one
    /// still runs (in order) and a running one finishes, each then freed.
    #[cfg_attr(not(any(feature = "ble", feature = "i2c", feature = "spi")), allow(dead_code))]
    pub(crate) fn forget(&self, app: u16) {
        critical_section::with(|cs| {
            for slot in self.slots.borrow_ref_mut(cs).slots.iter_mut().filter(|t| t.app == app) {
                match slot.phase {
                    Phase::Done(_) => slot.phase = Phase::Free,
                    Phase::Queued | Phase::Running => slot.detached = true,
                    Phase::Free => {}
                }
            }
        })
    }

    /// Resolves when a transfer finishes (one waiter: the scheduler's idle
    /// future).
    #[cfg_attr(not(any(feature = "i2c", feature = "spi")), allow(dead_code))] // the bus mailboxes' idle futures
    pub(crate) async fn changed(&self) {
        self.finished.changed().await
    }

    /// The counter of finished jobs.
    pub(crate) fn finished(&self) -> &Changes {
        &self.finished
    }

    /// Takes the oldest queued transfer: its slot, job and lengths, with
    /// its write bytes copied to `out`.
    fn next(&self, out: &mut [u8; BUF]) -> Option<(usize, J, usize, usize)> {
        critical_section::with(|cs| {
            let mut s = self.slots.borrow_ref_mut(cs);
            let (i, slot) =
                s.slots.iter_mut().enumerate().filter(|(_, t)| t.phase == Phase::Queued).min_by_key(|(_, t)| t.seq)?;
            out[..slot.wlen].copy_from_slice(&slot.buf[..slot.wlen]);
            slot.phase = Phase::Running;
            Some((i, slot.job, slot.wlen, slot.rlen))
        })
    }

    /// Records slot `i`'s outcome with the bytes `read`, for its app to
    /// collect, and wakes the scheduler.
    fn finish(&self, i: usize, read: &[u8], result: Result<(), Errno>) {
        critical_section::with(|cs| {
            let mut s = self.slots.borrow_ref_mut(cs);
            let slot = &mut s.slots[i];
            slot.buf[..read.len()].copy_from_slice(read);
            slot.phase = if slot.detached { Phase::Free } else { Phase::Done(result) };
        });
        self.finished.bump();
    }

    /// Runs the queued transfers forever, in order: `run(job, write,
    /// read)` does one on the bus, with `write` the bytes to send and
    /// `read` (of the transfer's read length, zeroed or left from earlier
    /// transfers) where the bytes received go.
    pub(crate) async fn serve(&self, mut run: impl AsyncFnMut(J, &[u8], &mut [u8]) -> Result<(), Errno>) -> ! {
        let mut write = [0u8; BUF];
        let mut read = [0u8; BUF];
        loop {
            let (i, job, wlen, rlen) = poll_fn(|cx| {
                if let Some(next) = self.next(&mut write) {
                    return Poll::Ready(next);
                }
                self.serve_waker.register(cx.waker());
                match self.next(&mut write) {
                    Some(next) => Poll::Ready(next),
                    None => Poll::Pending,
                }
            })
            .await;
            let result = run(job, &write[..wlen], &mut read[..rlen]).await;
            self.finish(i, &read[..rlen], result);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfers_are_taken_in_queue_order_not_slot_order() {
        let mailbox: Mailbox<u8, 2, 4> = Mailbox::new(0);
        let mut out = [0u8; 4];
        mailbox.start(1, 0xa, [&[1], &[]], 0).unwrap();
        mailbox.start(2, 0xb, [&[2], &[3]], 1).unwrap();
        assert_eq!(mailbox.next(&mut out), Some((0, 0xa, 1, 0)));
        mailbox.finish(0, &[], Ok(()));
        assert_eq!(mailbox.poll(1, &mut []), Some(Ok(())));
        // App 1's next transfer takes the freed first slot, behind app 2's.
        mailbox.start(1, 0xc, [&[], &[]], 2).unwrap();
        assert_eq!(mailbox.next(&mut out), Some((1, 0xb, 2, 1)));
        assert_eq!(out[..2], [2, 3]);
        mailbox.finish(1, &[9], Err(Errno::Io));
        assert_eq!(mailbox.next(&mut out), Some((0, 0xc, 0, 2)));
        assert_eq!(mailbox.next(&mut out), None);
        let mut read = [0u8; 1];
        assert_eq!(mailbox.poll(2, &mut read), Some(Err(Errno::Io)));
        assert_eq!(read, [9], "bytes read are handed over with the outcome");
        assert_eq!(mailbox.poll(1, &mut read), None, "still running");
    }

    #[test]
    fn detached_and_forgotten_jobs_free_their_slots_when_done() {
        let mailbox: Mailbox<u8, 2, 4> = Mailbox::new(0);
        let mut out = [0u8; 4];
        mailbox.start(1, 0xa, [&[1], &[]], 0).unwrap();
        mailbox.start_detached(1, 0xb, &[2]).unwrap();
        assert_eq!(mailbox.start_detached(2, 0xc, &[]), Err(Errno::Busy), "both slots taken");
        assert_eq!(mailbox.next(&mut out), Some((0, 0xa, 1, 0)));
        // App 1 goes away while its transfer runs: nobody collects it.
        mailbox.forget(1);
        mailbox.finish(0, &[], Ok(()));
        assert_eq!(mailbox.poll(1, &mut []), Some(Err(Errno::Invalid)), "freed, not handed over");
        assert_eq!(mailbox.next(&mut out), Some((1, 0xb, 1, 0)), "the detached job runs in turn");
        assert_eq!(out[0], 2);
        mailbox.finish(1, &[], Ok(()));
        // Both slots are free again.
        mailbox.start(2, 0xd, [&[], &[]], 0).unwrap();
        mailbox.start(3, 0xe, [&[], &[]], 0).unwrap();
    }
}
