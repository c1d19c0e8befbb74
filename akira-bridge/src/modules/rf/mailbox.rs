//! [`RfMailbox`]: the jobs of one LoRa radio, queued by apps and served by
//! a firmware task over a [`Radio`].

use core::cell::RefCell;
use core::future::{Future, pending, poll_fn};
use core::pin::{Pin, pin};
use core::task::Poll;
use core::time::Duration;

use critical_section::Mutex;
use embedded_hal_async::delay::DelayNs;

use super::radio::{Job, LoraConfig, MAX_PACKET, Outcome, PacketInfo, Radio, Rf};
use crate::errno::Errno;
use crate::time::Instant;
use crate::wake::{Changes, WakerSlot};

/// Where a slot's job is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Idle,
    Queued,
    Running,
    /// Its app stopped waiting; the serving task drops it.
    Cancelling,
    Done(Result<Outcome, Errno>),
}

/// One app's radio state: its configuration, its job, its last packet.
struct Slot<const BUF: usize> {
    app: Option<u16>,
    config: Option<LoraConfig>,
    phase: Phase,
    send: bool,
    len: usize,
    deadline: Instant,
    seq: u32,
    last: Option<PacketInfo>,
    buf: [u8; BUF],
}

impl<const BUF: usize> Slot<BUF> {
    const FREE: Slot<BUF> = Slot {
        app: None,
        config: None,
        phase: Phase::Idle,
        send: false,
        len: 0,
        deadline: Instant::ZERO,
        seq: 0,
        last: None,
        buf: [0; BUF],
    };
}

struct Slots<const SLOTS: usize, const BUF: usize> {
    slots: [Slot<BUF>; SLOTS],
    next_seq: u32,
}

impl<const SLOTS: usize, const BUF: usize> Slots<SLOTS, BUF> {
    fn find(&mut self, app: u16) -> Option<&mut Slot<BUF>> {
        self.slots.iter_mut().find(|s| s.app == Some(app))
    }
}

/// How long a receive holds the radio, beyond the time on air of a packet
/// of its length, while another app's receive waits: then it stands aside
/// and listens again behind that one. A second listener gets the radio
/// within this plus one packet's time on air (and the sends queued before
/// it).
pub const LISTEN_WINDOW: Duration = Duration::from_secs(1);

/// One radio's jobs, served by a firmware task: up to `SLOTS` apps with
/// one job each, packets of up to `BUF` bytes (at most [`MAX_PACKET`]).
/// Jobs run one at a time in the order they were queued; a receive stands
/// aside for a send at once, and for another receive after its listening
/// window ([`LISTEN_WINDOW`]).
pub struct RfMailbox<const SLOTS: usize, const BUF: usize> {
    slots: Mutex<RefCell<Slots<SLOTS, BUF>>>,
    /// Bumped when a job finishes, so `changed` can tell new from old.
    finished: Changes,
    serve_waker: WakerSlot,
}

impl<const SLOTS: usize, const BUF: usize> Default for RfMailbox<SLOTS, BUF> {
    fn default() -> Self {
        Self::new()
    }
}

/// Runs `job` until it finishes (`Some`) or `cancelled` resolves (`None`).
async fn unless<T>(job: impl Future<Output = T>, cancelled: impl Future<Output = ()>) -> Option<T> {
    let mut job = pin!(job);
    let mut cancelled = pin!(cancelled);
    poll_fn(|cx| {
        if let Poll::Ready(v) = job.as_mut().poll(cx) {
            return Poll::Ready(Some(v));
        }
        if cancelled.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}

impl<const SLOTS: usize, const BUF: usize> RfMailbox<SLOTS, BUF> {
    const SOUND: () = assert!(
        SLOTS > 0 && BUF > 0 && BUF <= MAX_PACKET,
        "an RfMailbox needs a slot and a buffer of at most 255 bytes"
    );

    /// An empty mailbox.
    pub const fn new() -> Self {
        let () = Self::SOUND;
        RfMailbox {
            slots: Mutex::new(RefCell::new(Slots { slots: [Slot::FREE; SLOTS], next_seq: 0 })),
            finished: Changes::new(),
            serve_waker: WakerSlot::new(),
        }
    }

    /// Resolves when a job finishes (one waiter: the scheduler's idle
    /// future).
    pub async fn changed(&self) {
        self.finished.changed().await
    }

    /// The counter behind [`RfMailbox::changed`], for idle futures that
    /// wait on several peripherals at once.
    pub(crate) fn finished(&self) -> &Changes {
        &self.finished
    }

    /// Takes the oldest queued job: its slot, configuration, kind and
    /// length, with the bytes to send copied to `out`.
    fn next(&self, out: &mut [u8; BUF]) -> Option<(usize, LoraConfig, bool, usize)> {
        critical_section::with(|cs| {
            let mut s = self.slots.borrow_ref_mut(cs);
            let (i, slot) =
                s.slots.iter_mut().enumerate().filter(|(_, t)| t.phase == Phase::Queued).min_by_key(|(_, t)| t.seq)?;
            let config = slot.config?;
            if slot.send {
                out[..slot.len].copy_from_slice(&slot.buf[..slot.len]);
            }
            slot.phase = Phase::Running;
            Some((i, config, slot.send, slot.len))
        })
    }

    /// Resolves when slot `i`'s app stops waiting for its job, or (with
    /// `to_sends`, for a receive) when another app queues a send, or a
    /// receive once `window` has elapsed: the receive gives the radio up
    /// to it.
    async fn cancelled(&self, i: usize, to_sends: bool, mut window: Pin<&mut impl Future<Output = ()>>) {
        let mut elapsed = false;
        poll_fn(|cx| {
            elapsed = elapsed || window.as_mut().poll(cx).is_ready();
            let gone = || {
                critical_section::with(|cs| {
                    let s = self.slots.borrow_ref(cs);
                    s.slots[i].phase == Phase::Cancelling
                        || to_sends && s.slots.iter().any(|t| t.phase == Phase::Queued && (t.send || elapsed))
                })
            };
            if gone() {
                return Poll::Ready(());
            }
            self.serve_waker.register(cx.waker());
            if gone() { Poll::Ready(()) } else { Poll::Pending }
        })
        .await
    }

    /// Runs the queued jobs on `radio` forever: run it as a firmware task
    /// owning the radio driver, with `delay` (the firmware's timer, e.g.
    /// `embassy_time::Delay`) timing the listening windows. A job whose
    /// app stopped waiting is dropped and the radio put in standby.
    pub async fn serve<R: Radio, D: DelayNs>(&self, mut radio: R, mut delay: D) -> ! {
        let mut data = [0u8; BUF];
        loop {
            let (i, config, send, len) = poll_fn(|cx| {
                if let Some(job) = self.next(&mut data) {
                    return Poll::Ready(job);
                }
                self.serve_waker.register(cx.waker());
                match self.next(&mut data) {
                    Some(job) => Poll::Ready(job),
                    None => Poll::Pending,
                }
            })
            .await;
            // A send is short (its time on air, within its app's duty
            // cycle); a receive may listen for as long as its app likes,
            // so it gives the radio up to any send queued meanwhile, and
            // to another app's receive after its window, and listens
            // again after it: one app listening cannot keep the others
            // from transmitting or listening.
            let result = if send {
                let never = pin!(pending());
                unless(radio.transmit(&config, &data[..len]), self.cancelled(i, false, never))
                    .await
                    .map(|r| r.map(|()| None))
            } else {
                let window_us = u64::from(config.time_on_air_us(len))
                    .saturating_add(LISTEN_WINDOW.as_micros() as u64)
                    .min(u64::from(u32::MAX));
                let window = pin!(delay.delay_us(window_us as u32));
                unless(radio.receive(&config, &mut data[..len]), self.cancelled(i, true, window))
                    .await
                    .map(|r| r.map(Some))
            };
            let Some(result) = result else {
                // Nobody waits for an error here; the next job starts
                // from standby anyway.
                let _ = radio.standby().await;
                critical_section::with(|cs| {
                    let mut s = self.slots.borrow_ref_mut(cs);
                    let seq = s.next_seq;
                    let slot = &mut s.slots[i];
                    if slot.phase == Phase::Cancelling {
                        slot.phase = Phase::Idle;
                    } else {
                        // Given up to a send or another listener: queued
                        // again behind it, its deadline unchanged (it
                        // counts from when the app queued the receive).
                        slot.phase = Phase::Queued;
                        slot.seq = seq;
                        s.next_seq = seq.wrapping_add(1);
                    }
                });
                continue;
            };
            critical_section::with(|cs| {
                let mut s = self.slots.borrow_ref_mut(cs);
                let slot = &mut s.slots[i];
                if slot.phase == Phase::Cancelling {
                    // Finished as its app gave up: nobody collects it.
                    slot.phase = Phase::Idle;
                    return;
                }
                slot.phase = Phase::Done(match result {
                    Ok(None) => Ok(Outcome::Sent),
                    Ok(Some((n, packet))) => {
                        let n = n.min(len);
                        slot.buf[..n].copy_from_slice(&data[..n]);
                        slot.last = Some(packet);
                        Ok(Outcome::Received { len: n, packet })
                    }
                    Err(e) => Err(e),
                });
            });
            self.finished.bump();
        }
    }
}

impl<const SLOTS: usize, const BUF: usize> Rf for &'static RfMailbox<SLOTS, BUF> {
    fn release(&mut self, app: u16) {
        let cancel = critical_section::with(|cs| {
            let mut s = self.slots.borrow_ref_mut(cs);
            let Some(slot) = s.find(app) else { return false };
            // A running job is dropped by the serving task, which then
            // marks the slot idle; the slot is free for other apps now.
            let running = matches!(slot.phase, Phase::Running | Phase::Cancelling);
            *slot = Slot { phase: if running { Phase::Cancelling } else { Phase::Idle }, ..Slot::FREE };
            running
        });
        if cancel {
            self.serve_waker.wake();
        }
    }

    fn configure(&mut self, app: u16, config: &LoraConfig) -> Result<(), Errno> {
        critical_section::with(|cs| {
            let mut s = self.slots.borrow_ref_mut(cs);
            let slot = match s.slots.iter().position(|t| t.app == Some(app)) {
                Some(i) => &mut s.slots[i],
                None => {
                    let slot = s.slots.iter_mut().find(|t| t.app.is_none()).ok_or(Errno::NoSpace)?;
                    slot.app = Some(app);
                    slot
                }
            };
            slot.config = Some(*config);
            Ok(())
        })
    }

    fn config(&self, app: u16) -> Option<LoraConfig> {
        critical_section::with(|cs| self.slots.borrow_ref_mut(cs).find(app).and_then(|t| t.config))
    }

    fn start(&mut self, app: u16, job: Job<'_>, deadline: Instant) -> Result<(), Errno> {
        critical_section::with(|cs| {
            let mut s = self.slots.borrow_ref_mut(cs);
            let seq = s.next_seq;
            let slot = s.find(app).ok_or(Errno::Invalid)?;
            match slot.phase {
                Phase::Idle => {}
                // Finished after its app stopped waiting: recycled.
                Phase::Done(_) => slot.phase = Phase::Idle,
                Phase::Queued | Phase::Running | Phase::Cancelling => return Err(Errno::Busy),
            }
            let (send, len) = match job {
                Job::Send(data) => {
                    let dst = slot.buf.get_mut(..data.len()).ok_or(Errno::TooLarge)?;
                    dst.copy_from_slice(data);
                    (true, data.len())
                }
                Job::Receive { max_len } => (false, max_len.min(BUF)),
            };
            slot.send = send;
            slot.len = len;
            slot.deadline = deadline;
            slot.seq = seq;
            slot.phase = Phase::Queued;
            s.next_seq = seq.wrapping_add(1);
            Ok(())
        })?;
        self.serve_waker.wake();
        Ok(())
    }

    fn poll(&mut self, app: u16, now: Instant, buf: &mut [u8]) -> Option<Result<Outcome, Errno>> {
        let (result, cancel) = critical_section::with(|cs| {
            let mut s = self.slots.borrow_ref_mut(cs);
            let Some(slot) = s.find(app) else { return (Some(Err(Errno::Invalid)), false) };
            match slot.phase {
                Phase::Done(result) => {
                    if let Ok(Outcome::Received { len, .. }) = result {
                        let n = len.min(buf.len());
                        buf[..n].copy_from_slice(&slot.buf[..n]);
                    }
                    slot.phase = Phase::Idle;
                    (Some(result), false)
                }
                Phase::Queued | Phase::Running if now >= slot.deadline => {
                    let running = slot.phase == Phase::Running;
                    slot.phase = if running { Phase::Cancelling } else { Phase::Idle };
                    (Some(Err(Errno::TimedOut)), running)
                }
                Phase::Queued | Phase::Running => (None, false),
                Phase::Idle | Phase::Cancelling => (Some(Err(Errno::Invalid)), false),
            }
        });
        if cancel {
            self.serve_waker.wake();
        }
        result
    }

    fn last_packet(&self, app: u16) -> Option<PacketInfo> {
        critical_section::with(|cs| self.slots.borrow_ref_mut(cs).find(app).and_then(|t| t.last))
    }
}
