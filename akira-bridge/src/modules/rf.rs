//! `akira:rf`: LoRa on a sub-GHz radio, guarded by band, transmit power
//! and duty cycle.
//!
//! An app sets its modulation once (`configure`: frequency, spreading
//! factor, bandwidth, coding rate, transmit power), then sends and
//! receives packets of up to [`MAX_PACKET`] bytes. Both suspend the app
//! until the radio is done; other apps and firmware tasks run meanwhile.
//!
//! Every `configure` and every `send` checks the frequency against the
//! app's bands and the power against its cap ([`akira_caps::Guard::frequency`],
//! [`akira_caps::Guard::power`]: a few compares on the app's grants); a
//! `send` then charges the packet's time on air ([`LoraConfig::time_on_air_us`],
//! Semtech's formula) to the app's duty cycle ([`akira_caps::Guard::airtime`],
//! 1 % of a rolling hour unless the manifest says otherwise), refusing it
//! with [`Errno::NoSpace`] when the budget is spent. A refused call never
//! reaches the radio.
//!
//! Radio drivers are async, so the module never drives the radio itself:
//! boards implement [`Rf`], which queues a job and reports when it is
//! done. [`RfMailbox`] is that queue for one radio: a `static` a firmware
//! task serves ([`RfMailbox::serve`]) with any [`Radio`], the Akira trait a
//! radio driver implements (the `akira-radio` crate implements it over
//! `lora-phy` for SX126x and SX127x chips). The scheduler's idle future
//! awaits [`RfMailbox::changed`] beside its timer.

use core::cell::RefCell;
use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::Poll;
use core::time::Duration;

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
use crate::wake::{Changes, WakerSlot};

/// Largest LoRa payload, in bytes.
pub const MAX_PACKET: usize = 255;

/// How long a `send` may take beyond its time on air before the app gets
/// `AKIRA_ETIMEDOUT` (the radio is then put in standby).
pub const SEND_MARGIN: Duration = Duration::from_secs(1);

/// Preamble length, in symbols, of every packet (the LoRaWAN value).
pub const PREAMBLE_SYMBOLS: u16 = 8;

/// The LoRa bandwidths a radio offers, in Hz (SX126x and SX127x).
pub const BANDWIDTHS_HZ: [u32; 10] = [7_810, 10_420, 15_630, 20_830, 31_250, 41_670, 62_500, 125_000, 250_000, 500_000];

/// An app's LoRa modulation and transmit power. Packets use an explicit
/// header, a CRC and an 8-symbol preamble.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LoraConfig {
    /// Carrier frequency, in Hz.
    pub frequency_hz: u32,
    /// Spreading factor, 7 to 12.
    pub spreading_factor: u8,
    /// Bandwidth in Hz, one of [`BANDWIDTHS_HZ`].
    pub bandwidth_hz: u32,
    /// Coding rate denominator: 5 to 8 for 4/5 to 4/8.
    pub coding_rate: u8,
    /// Transmit power, in dBm.
    pub power_dbm: i8,
}

impl LoraConfig {
    /// Builds a configuration from an app's arguments, or
    /// [`Errno::Invalid`] for a spreading factor, bandwidth, coding rate or
    /// power no LoRa radio takes.
    pub fn new(frequency_hz: u32, sf: u32, bandwidth_hz: u32, coding_rate: u32, power_dbm: i32) -> Result<Self, Errno> {
        if !(7..=12).contains(&sf)
            || !BANDWIDTHS_HZ.contains(&bandwidth_hz)
            || !(5..=8).contains(&coding_rate)
            || !(-40..=40).contains(&power_dbm)
        {
            return Err(Errno::Invalid);
        }
        Ok(LoraConfig {
            frequency_hz,
            spreading_factor: sf as u8,
            bandwidth_hz,
            coding_rate: coding_rate as u8,
            power_dbm: power_dbm as i8,
        })
    }

    /// Whether the radio must use low data rate optimisation: symbols
    /// longer than 16 ms (SF11 and SF12 at 125 kHz and below).
    pub fn low_data_rate_optimize(&self) -> bool {
        (1u64 << self.spreading_factor) * 1000 > 16 * u64::from(self.bandwidth_hz)
    }

    /// The time on air of a `len`-byte packet, in microseconds, by
    /// Semtech's formula (AN1200.13): `(preamble + 4.25) * Tsym` plus
    /// `8 + max(ceil((8 PL - 4 SF + 28 + 16 CRC) / (4 (SF - 2 DE))) * CR, 0)`
    /// payload symbols, explicit header, CRC on.
    pub fn time_on_air_us(&self, len: usize) -> u32 {
        let sf = i64::from(self.spreading_factor);
        let de = i64::from(self.low_data_rate_optimize());
        let numerator = 8 * len as i64 - 4 * sf + 28 + 16;
        let denominator = 4 * (sf - 2 * de);
        let blocks = if numerator > 0 { (numerator + denominator - 1) / denominator } else { 0 };
        let payload_symbols = 8 + blocks as u64 * u64::from(self.coding_rate);
        // In quarter symbols, so the preamble's 4.25 stays exact.
        let quarters = 4 * u64::from(PREAMBLE_SYMBOLS) + 17 + 4 * payload_symbols;
        let ns = quarters * (1u64 << self.spreading_factor) * 1_000_000_000 / (4 * u64::from(self.bandwidth_hz));
        u32::try_from(ns.div_ceil(1000)).unwrap_or(u32::MAX)
    }
}

/// Signal quality of a received packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PacketInfo {
    /// Received signal strength, in dBm.
    pub rssi_dbm: i16,
    /// Signal-to-noise ratio, in dB.
    pub snr_db: i16,
}

/// A radio driver, as the firmware task serving an [`RfMailbox`] drives
/// it. Errors are the codes apps see ([`Errno::Io`] for a driver error,
/// [`Errno::Invalid`] for a setting the chip does not take).
#[allow(async_fn_in_trait)]
pub trait Radio {
    /// Transmits `data` with `config`, returning when it is on the air and
    /// done.
    async fn transmit(&mut self, config: &LoraConfig, data: &[u8]) -> Result<(), Errno>;
    /// Listens with `config` until a packet arrives; copies it to the
    /// start of `buf` (cut to its length) and returns its length and
    /// signal quality. The future may be dropped (the app's timeout);
    /// [`Radio::standby`] follows.
    async fn receive(&mut self, config: &LoraConfig, buf: &mut [u8]) -> Result<(usize, PacketInfo), Errno>;
    /// Stops whatever the radio was doing.
    async fn standby(&mut self) -> Result<(), Errno>;
}

/// A radio job an app queues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Job<'a> {
    /// Transmit these bytes.
    Send(&'a [u8]),
    /// Receive one packet of up to `max_len` bytes.
    Receive {
        /// The app's buffer length.
        max_len: usize,
    },
}

/// How a job ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The packet was sent.
    Sent,
    /// A packet arrived: its length (its bytes are in the poll's buffer)
    /// and signal quality.
    Received {
        /// Bytes received.
        len: usize,
        /// Signal quality.
        packet: PacketInfo,
    },
}

/// A board's LoRa radio as the `akira:rf` module uses it, per app. No
/// method blocks: jobs run elsewhere (a firmware task, a simulated medium)
/// and are polled. [`RfMailbox`] implements it for a radio served by a
/// firmware task.
pub trait Rf {
    /// Records app `app`'s configuration (already checked by the guard).
    fn configure(&mut self, app: u16, config: &LoraConfig) -> Result<(), Errno>;
    /// App `app`'s configuration, if it made one.
    fn config(&self, app: u16) -> Option<LoraConfig>;
    /// Queues a job for app `app` with its configuration; it must end by
    /// `deadline`. [`Errno::Busy`] if the app already has one running.
    fn start(&mut self, app: u16, job: Job<'_>, deadline: Instant) -> Result<(), Errno>;
    /// App `app`'s job at time `now`: `None` while it runs; once done, a
    /// received packet's bytes are copied to `buf`. Past the job's
    /// deadline the job is cancelled and the result is
    /// [`Errno::TimedOut`].
    fn poll(&mut self, app: u16, now: Instant, buf: &mut [u8]) -> Option<Result<Outcome, Errno>>;
    /// Signal quality of the last packet app `app` received.
    fn last_packet(&self, app: u16) -> Option<PacketInfo>;
    /// App `app` stopped running (it exited, faulted or was stopped):
    /// cancel its job (the radio goes to standby) and forget its
    /// configuration. The default does nothing.
    fn release(&mut self, app: u16) {
        let _ = app;
    }
}

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

/// One radio's jobs, served by a firmware task: up to `SLOTS` apps with
/// one job each, packets of up to `BUF` bytes (at most [`MAX_PACKET`]).
/// Jobs run one at a time in the order they were queued.
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

    /// Resolves when slot `i`'s app stops waiting for its job.
    async fn cancelled(&self, i: usize) {
        poll_fn(|cx| {
            let gone = || critical_section::with(|cs| self.slots.borrow_ref(cs).slots[i].phase == Phase::Cancelling);
            if gone() {
                return Poll::Ready(());
            }
            self.serve_waker.register(cx.waker());
            if gone() { Poll::Ready(()) } else { Poll::Pending }
        })
        .await
    }

    /// Runs the queued jobs on `radio` forever: run it as a firmware task
    /// owning the radio driver. A job whose app stopped waiting is dropped
    /// and the radio put in standby.
    pub async fn serve<R: Radio>(&self, mut radio: R) -> ! {
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
            let result = if send {
                unless(radio.transmit(&config, &data[..len]), self.cancelled(i)).await.map(|r| r.map(|()| None))
            } else {
                unless(radio.receive(&config, &mut data[..len]), self.cancelled(i)).await.map(|r| r.map(Some))
            };
            let Some(result) = result else {
                // Nobody waits for an error here; the next job starts
                // from standby anyway.
                let _ = radio.standby().await;
                critical_section::with(|cs| self.slots.borrow_ref_mut(cs).slots[i].phase = Phase::Idle);
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

/// The module's spec.
pub static SPEC: ModuleSpec = ModuleSpec {
    import: builtin_import(Capability::Rf),
    capability: ModuleCapability::Builtin(Capability::Rf),
    functions: &[
        experimental(
            "configure",
            sig::IIIII,
            sig::I,
            "configure(frequency_hz, spreading_factor, bandwidth_hz, coding_rate, power_dbm): LoRa settings; 0",
        ),
        experimental("send", sig::II, sig::I, "send(ptr, len): transmit a packet, suspending until sent; 0"),
        experimental(
            "receive",
            sig::IIL,
            sig::I,
            "receive(ptr, len, timeout_us): wait for a packet, suspending; bytes received",
        ),
        experimental(
            "last_packet",
            sig::I,
            sig::I,
            "last_packet(ptr): RSSI and SNR (i16 each) of the last packet at ptr; 1, or 0 if none yet",
        ),
        experimental("airtime_left", sig::NONE, sig::L, "airtime_left(): microseconds of airtime left this hour"),
    ],
};

/// The `akira:rf` module; the board must implement [`Rf`].
#[derive(Clone, Copy, Debug, Default)]
pub struct RfModule;

/// Wait operation codes.
const OP_SEND: u32 = 1;
const OP_RECEIVE: u32 = 2;

fn pack(ptr: u32, len: u32) -> u64 {
    u64::from(len) << 32 | u64::from(ptr)
}

fn unpack(arg: u64) -> (u32, u32) {
    (arg as u32, (arg >> 32) as u32 & 0xff)
}

fn configure<B: Board + Rf>(state: &mut AppState<B>, args: [u32; 5]) -> Result<i32, Refusal> {
    let [frequency_hz, sf, bandwidth_hz, coding_rate, power] = args;
    let power = power as i32;
    state.guarded(|g| g.frequency(frequency_hz))?;
    state.guarded(|g| g.power(power))?;
    let config = LoraConfig::new(frequency_hz, sf, bandwidth_hz, coding_rate, power)?;
    let app = state.info().id;
    state.board_mut().configure(app, &config)?;
    Ok(0)
}

/// The app's configuration, checked again against its grant.
fn granted_config<B: Board + Rf>(state: &mut AppState<B>) -> Result<LoraConfig, Refusal> {
    let app = state.info().id;
    let config = state.board().config(app).ok_or(Errno::Invalid)?;
    state.guarded(|g| g.frequency(config.frequency_hz))?;
    state.guarded(|g| g.power(config.power_dbm.into()))?;
    Ok(config)
}

fn send<B: Board + Rf>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    module: ModuleIndex,
    ptr: u32,
    len: u32,
) -> Result<i32, Refusal> {
    let config = granted_config(state)?;
    if len as usize > MAX_PACKET {
        return Err(Errno::TooLarge.into());
    }
    let data = memory.bytes(ptr, len)?;
    let airtime_us = config.time_on_air_us(data.len());
    let now = state.board().now();
    if state.guard_mut().airtime(now.as_micros(), airtime_us).is_err() {
        return Err(Errno::NoSpace.into());
    }
    let app = state.info().id;
    let deadline = now.saturating_add(Duration::from_micros(airtime_us.into())).saturating_add(SEND_MARGIN);
    state.board_mut().start(app, Job::Send(data), deadline)?;
    state.trace(Trace::RfSent {
        frequency_hz: config.frequency_hz,
        power_dbm: config.power_dbm,
        bytes: data,
        airtime_us,
    });
    Err(state.suspend(Wait { until: deadline, kind: WaitKind::Module { module, op: OP_SEND, arg: pack(ptr, len) } }))
}

fn receive<B: Board + Rf>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    module: ModuleIndex,
    ptr: u32,
    len: u32,
    timeout_us: i64,
) -> Result<i32, Refusal> {
    granted_config(state)?;
    // Checked now, so the suspended call holds a valid loan.
    memory.bytes(ptr, len)?;
    let len = len.min(MAX_PACKET as u32);
    let deadline = match u64::try_from(timeout_us) {
        Ok(0) => return Err(Errno::TimedOut.into()),
        Ok(us) => state.board().now().saturating_add(Duration::from_micros(us)),
        Err(_) => Instant::MAX,
    };
    let app = state.info().id;
    state.board_mut().start(app, Job::Receive { max_len: len as usize }, deadline)?;
    Err(state.suspend(Wait { until: deadline, kind: WaitKind::Module { module, op: OP_RECEIVE, arg: pack(ptr, len) } }))
}

fn last_packet<B: Board + Rf>(memory: &mut GuestMemory<'_>, state: &mut AppState<B>, ptr: u32) -> Result<i32, Refusal> {
    let buf = memory.bytes_mut(ptr, 4)?;
    let Some(p) = state.board().last_packet(state.info().id) else { return Ok(0) };
    buf[..2].copy_from_slice(&p.rssi_dbm.to_le_bytes());
    buf[2..].copy_from_slice(&p.snr_db.to_le_bytes());
    Ok(1)
}

impl<B: Board + Rf> HostModule<B> for RfModule {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn app_stopped(&self, board: &mut B, app: u16) {
        board.release(app);
    }

    fn link(&self, linker: &mut Linker<AppState<B>>, cx: &LinkContext<'_>) -> Result<(), LinkError> {
        type C<'a, B> = Caller<'a, AppState<B>>;
        let module = cx.module;
        linker.func_wrap(
            SPEC.import,
            "configure",
            |mut c: C<'_, B>, freq: u32, sf: u32, bw: u32, cr: u32, power: u32| {
                reply(configure(c.data_mut(), [freq, sf, bw, cr, power]))
            },
        )?;
        linker.func_wrap(SPEC.import, "send", move |mut c: C<'_, B>, ptr: u32, len: u32| {
            reply(memory_and_state(&mut c).and_then(|(mut mem, s)| send(&mut mem, s, module, ptr, len)))
        })?;
        linker.func_wrap(SPEC.import, "receive", move |mut c: C<'_, B>, ptr: u32, len: u32, timeout_us: i64| {
            reply(memory_and_state(&mut c).and_then(|(mut mem, s)| receive(&mut mem, s, module, ptr, len, timeout_us)))
        })?;
        linker.func_wrap(SPEC.import, "last_packet", |mut c: C<'_, B>, ptr: u32| {
            reply(memory_and_state(&mut c).and_then(|(mut mem, s)| last_packet(&mut mem, s, ptr)))
        })?;
        linker.func_wrap(SPEC.import, "airtime_left", |mut c: C<'_, B>| -> i64 {
            let s = c.data_mut();
            let now = s.board().now().as_micros();
            i64::try_from(s.guard_mut().airtime_left(now)).unwrap_or(i64::MAX)
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
        if op != OP_SEND && op != OP_RECEIVE {
            return Some(Errno::Invalid.code());
        }
        let (ptr, len) = unpack(arg);
        let app = state.info().id;
        let now = state.board().now();
        let buf: &mut [u8] = if op == OP_RECEIVE {
            match memory.bytes_mut(ptr, len) {
                Ok(buf) => buf,
                Err(e) => return Some(e.code()),
            }
        } else {
            &mut []
        };
        let result = state.board_mut().poll(app, now, buf)?;
        Some(match result {
            Ok(Outcome::Sent) => 0,
            Ok(Outcome::Received { len, packet }) => {
                let len = len.min(buf.len());
                let frequency_hz = state.board().config(app).map_or(0, |c| c.frequency_hz);
                state.trace(Trace::RfReceived {
                    frequency_hz,
                    bytes: &buf[..len],
                    rssi_dbm: packet.rssi_dbm,
                    snr_db: packet.snr_db,
                });
                len as i32
            }
            Err(e) => e.code(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Recorder, code, recorder_board, state};
    use akira_caps::CapabilitySet;
    use akira_caps::scope::{Band, RfScope};
    use core::task::{Context, Waker};
    use std::cell::RefCell as StdRefCell;
    use std::collections::VecDeque;
    use std::rc::Rc;

    const EU868: u32 = 868_100_000;

    /// What the test radio was asked, and the packets it will receive.
    #[derive(Default)]
    struct Air {
        log: Vec<String>,
        incoming: VecDeque<(Vec<u8>, PacketInfo)>,
    }

    /// A radio that logs what it is asked; packets arrive when the test
    /// queues them (until then `receive` stays pending).
    struct LogRadio(Rc<StdRefCell<Air>>);

    impl Radio for LogRadio {
        async fn transmit(&mut self, config: &LoraConfig, data: &[u8]) -> Result<(), Errno> {
            self.0.borrow_mut().log.push(format!("tx {} {data:?}", config.frequency_hz));
            Ok(())
        }
        async fn receive(&mut self, config: &LoraConfig, buf: &mut [u8]) -> Result<(usize, PacketInfo), Errno> {
            self.0.borrow_mut().log.push(format!("rx {} max {}", config.frequency_hz, buf.len()));
            let (bytes, info) = poll_fn(|_| match self.0.borrow_mut().incoming.pop_front() {
                Some(p) => Poll::Ready(p),
                None => Poll::Pending,
            })
            .await;
            let n = bytes.len().min(buf.len());
            buf[..n].copy_from_slice(&bytes[..n]);
            Ok((n, info))
        }
        async fn standby(&mut self) -> Result<(), Errno> {
            self.0.borrow_mut().log.push("standby".into());
            Ok(())
        }
    }

    /// The firmware task serving `mailbox`, and the air its radio sees.
    struct Task {
        serve: core::pin::Pin<Box<dyn Future<Output = core::convert::Infallible>>>,
        air: Rc<StdRefCell<Air>>,
    }

    impl Task {
        fn new<const S: usize, const B: usize>(mailbox: &'static RfMailbox<S, B>) -> Task {
            let air = Rc::new(StdRefCell::new(Air::default()));
            let radio = LogRadio(air.clone());
            Task { serve: Box::pin(async move { mailbox.serve(radio).await }), air }
        }

        /// Lets the task run queued jobs as far as they go.
        fn step(&mut self) {
            let mut cx = Context::from_waker(Waker::noop());
            assert!(self.serve.as_mut().poll(&mut cx).is_pending());
        }

        fn log(&self) -> Vec<String> {
            self.air.borrow().log.clone()
        }
    }

    struct Board1 {
        rec: Recorder,
        radio: &'static RfMailbox<2, 64>,
    }
    recorder_board!(Board1);

    impl Rf for Board1 {
        fn configure(&mut self, app: u16, config: &LoraConfig) -> Result<(), Errno> {
            self.radio.configure(app, config)
        }
        fn config(&self, app: u16) -> Option<LoraConfig> {
            self.radio.config(app)
        }
        fn start(&mut self, app: u16, job: Job<'_>, deadline: Instant) -> Result<(), Errno> {
            self.radio.start(app, job, deadline)
        }
        fn poll(&mut self, app: u16, now: Instant, buf: &mut [u8]) -> Option<Result<Outcome, Errno>> {
            self.radio.poll(app, now, buf)
        }
        fn last_packet(&self, app: u16) -> Option<PacketInfo> {
            self.radio.last_packet(app)
        }
        fn release(&mut self, app: u16) {
            self.radio.release(app)
        }
    }

    /// An app granted 863–870 MHz at up to 14 dBm, with 1 % duty cycle.
    fn app(radio: &'static RfMailbox<2, 64>) -> AppState<Board1> {
        let mut bands = heapless::Vec::new();
        bands.push(Band { from_hz: 863_000_000, to_hz: 870_000_000 }).unwrap();
        let caps = CapabilitySet {
            rf: Some(RfScope { bands, max_power_dbm: 14, duty_cycle_permille: 10 }),
            ..Default::default()
        };
        state(Board1 { rec: Recorder::default(), radio }, &caps)
    }

    const M: ModuleIndex = ModuleIndex(0);

    #[test]
    fn time_on_air_matches_semtechs_calculator() {
        let cfg = |sf, bw| LoraConfig::new(EU868, sf, bw, 5, 14).unwrap();
        assert_eq!(cfg(7, 125_000).time_on_air_us(10), 41_216);
        assert_eq!(cfg(12, 125_000).time_on_air_us(10), 991_232, "low data rate optimisation on");
        assert!(cfg(12, 125_000).low_data_rate_optimize() && !cfg(10, 125_000).low_data_rate_optimize());
        assert_eq!(cfg(9, 125_000).time_on_air_us(51), 328_704);
        assert_eq!(cfg(7, 250_000).time_on_air_us(0), 12_928, "header-only packet");
    }

    #[test]
    fn configure_is_checked_against_band_and_power_before_the_board_sees_it() {
        static RADIO: RfMailbox<2, 64> = RfMailbox::new();
        let mut s = app(&RADIO);
        let args = |freq: u32, power: i32| [freq, 7, 125_000, 5, power as u32];
        assert_eq!(code(configure(&mut s, args(915_000_000, 14))), Errno::Denied.code(), "out of band");
        assert_eq!(code(configure(&mut s, args(EU868, 20))), Errno::Denied.code(), "too much power");
        assert_eq!(s.guard().denials(Capability::Rf), 2);
        assert_eq!((&RADIO).config(1), None, "nothing reached the board");
        assert_eq!(code(configure(&mut s, [EU868, 6, 125_000, 5, 14])), Errno::Invalid.code(), "SF6");
        assert_eq!(code(configure(&mut s, [EU868, 7, 100_000, 5, 14])), Errno::Invalid.code(), "bandwidth");
        assert_eq!(code(configure(&mut s, [EU868, 7, 125_000, 9, 14])), Errno::Invalid.code(), "coding rate");
        assert_eq!(code(configure(&mut s, args(EU868, -3))), 0);
        assert_eq!((&RADIO).config(1).unwrap().power_dbm, -3);
    }

    #[test]
    fn send_suspends_until_the_task_has_transmitted() {
        static RADIO: RfMailbox<2, 64> = RfMailbox::new();
        let mut task = Task::new(&RADIO);
        let mut s = app(&RADIO);
        s.board_mut().rec.now = 7;
        let mut backing = *b"..ping..";
        let mut mem = GuestMemory::new(&mut backing);
        assert_eq!(code(send(&mut mem, &mut s, M, 2, 4)), Errno::Invalid.code(), "not configured");
        assert_eq!(code(configure(&mut s, [EU868, 7, 125_000, 5, 14])), 0);
        let Err(Refusal::Trap(_)) = send(&mut mem, &mut s, M, 2, 4) else { panic!("not suspended") };
        let wait = s.take_wait().unwrap();
        let airtime = LoraConfig::new(EU868, 7, 125_000, 5, 14).unwrap().time_on_air_us(4);
        let expected = Instant::from_micros(7 + u64::from(airtime)).saturating_add(SEND_MARGIN);
        assert_eq!(wait.until, expected);
        let WaitKind::Module { op, arg, .. } = wait.kind else { panic!() };
        assert_eq!(RfModule.poll_wait_with_memory(&mut mem, &mut s, op, arg), None, "the task has not run");
        task.step();
        assert_eq!(task.log(), ["tx 868100000 [112, 105, 110, 103]"]);
        assert_eq!(RfModule.poll_wait_with_memory(&mut mem, &mut s, op, arg), Some(0));
        assert!(s.board().rec.events[0].starts_with("RfSent { frequency_hz: 868100000, power_dbm: 14"));
        assert_eq!(s.guard_mut().airtime_left(7), 36_000_000 - u64::from(airtime), "airtime charged");
    }

    #[test]
    fn receive_copies_the_packet_into_the_app_and_keeps_its_signal_quality() {
        static RADIO: RfMailbox<2, 64> = RfMailbox::new();
        let mut task = Task::new(&RADIO);
        let mut s = app(&RADIO);
        let mut backing = [0u8; 16];
        let mut mem = GuestMemory::new(&mut backing);
        assert_eq!(code(configure(&mut s, [EU868, 9, 125_000, 5, 14])), 0);
        assert_eq!(code(last_packet(&mut mem, &mut s, 12)), 0, "nothing received yet");
        assert_eq!(code(receive(&mut mem, &mut s, M, 4, 8, 0)), Errno::TimedOut.code(), "timeout 0 polls");
        assert_eq!(code(receive(&mut mem, &mut s, M, 12, 8, -1)), Errno::Fault.code());
        let Err(Refusal::Trap(_)) = receive(&mut mem, &mut s, M, 4, 8, 2_000_000) else { panic!("not suspended") };
        let wait = s.take_wait().unwrap();
        assert_eq!(wait.until, Instant::from_micros(2_000_000));
        let WaitKind::Module { op, arg, .. } = wait.kind else { panic!() };
        task.step();
        assert_eq!(RfModule.poll_wait_with_memory(&mut mem, &mut s, op, arg), None, "listening");
        task.air.borrow_mut().incoming.push_back((b"pong and more".to_vec(), PacketInfo { rssi_dbm: -87, snr_db: 9 }));
        task.step();
        assert_eq!(RfModule.poll_wait_with_memory(&mut mem, &mut s, op, arg), Some(8), "cut to the buffer");
        assert_eq!(mem.bytes(4, 8).unwrap(), b"pong and");
        assert_eq!(code(last_packet(&mut mem, &mut s, 12)), 1);
        assert_eq!(mem.bytes(12, 4).unwrap(), &[0xa9, 0xff, 9, 0], "-87 dBm, 9 dB");
        assert_eq!(task.log(), ["rx 868100000 max 8"]);
        assert!(s.board().rec.events[0].contains("rssi_dbm: -87"));
    }

    #[test]
    fn a_receive_past_its_deadline_is_cancelled_and_the_radio_put_in_standby() {
        static RADIO: RfMailbox<2, 64> = RfMailbox::new();
        let mut task = Task::new(&RADIO);
        let mut s = app(&RADIO);
        let mut backing = [0u8; 16];
        let mut mem = GuestMemory::new(&mut backing);
        assert_eq!(code(configure(&mut s, [EU868, 7, 125_000, 5, 14])), 0);
        let Err(Refusal::Trap(_)) = receive(&mut mem, &mut s, M, 0, 16, 500) else { panic!() };
        let wait = s.take_wait().unwrap();
        let WaitKind::Module { op, arg, .. } = wait.kind else { panic!() };
        task.step();
        s.board_mut().rec.now = 500;
        let bridge: crate::Bridge<Board1> = crate::Bridge::new().with(RfModule).unwrap();
        assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, Instant::from_micros(500)), Some(Errno::TimedOut.code()));
        task.step();
        assert_eq!(task.log(), ["rx 868100000 max 16", "standby"]);
        // The app's next job goes ahead.
        let Err(Refusal::Trap(_)) = send(&mut mem, &mut s, M, 0, 1) else { panic!() };
        task.step();
        assert_eq!(RfModule.poll_wait_with_memory(&mut mem, &mut s, OP_SEND, pack(0, 1)), Some(0));
        let _ = (op, arg);
    }

    #[test]
    fn an_app_that_stops_mid_receive_leaves_the_radio_in_standby_and_its_slot_free() {
        static RADIO: RfMailbox<2, 64> = RfMailbox::new();
        let mut task = Task::new(&RADIO);
        let mut s = app(&RADIO);
        let id = s.info().id;
        let mut backing = [0u8; 16];
        let mut mem = GuestMemory::new(&mut backing);
        assert_eq!(code(configure(&mut s, [EU868, 7, 125_000, 5, 14])), 0);
        let Err(Refusal::Trap(_)) = receive(&mut mem, &mut s, M, 0, 16, -1) else { panic!() };
        task.step();
        RfModule.app_stopped(s.board_mut(), id);
        task.step();
        assert_eq!(task.log(), ["rx 868100000 max 16", "standby"]);
        assert_eq!((&RADIO).config(id), None, "its configuration is forgotten");
        // Its restart starts afresh: configures and sends.
        assert_eq!(code(configure(&mut s, [EU868, 7, 125_000, 5, 14])), 0);
        let Err(Refusal::Trap(_)) = send(&mut mem, &mut s, M, 0, 1) else { panic!() };
        task.step();
        assert_eq!(RfModule.poll_wait_with_memory(&mut mem, &mut s, OP_SEND, pack(0, 1)), Some(0));
        // Releasing an app with nothing running sends nothing.
        RfModule.app_stopped(s.board_mut(), id);
        task.step();
        assert_eq!(task.log().len(), 3);
    }

    #[test]
    fn the_duty_cycle_refuses_sends_beyond_the_budget_before_the_radio() {
        static RADIO: RfMailbox<2, 64> = RfMailbox::new();
        let mut task = Task::new(&RADIO);
        let mut s = app(&RADIO);
        let mut backing = [0u8; 64];
        let mut mem = GuestMemory::new(&mut backing);
        // SF12: a 64-byte packet is about 2.8 s on air; 1 % of an hour is
        // 36 s, so 12 fit.
        assert_eq!(code(configure(&mut s, [EU868, 12, 125_000, 5, 14])), 0);
        let airtime = u64::from((&RADIO).config(1).unwrap().time_on_air_us(64));
        assert_eq!(airtime, 2_793_472);
        for i in 0..12 {
            s.board_mut().rec.now = i * 10_000_000;
            let Err(Refusal::Trap(_)) = send(&mut mem, &mut s, M, 0, 64) else { panic!("send {i} refused") };
            task.step();
            assert_eq!(RfModule.poll_wait_with_memory(&mut mem, &mut s, OP_SEND, pack(0, 64)), Some(0));
        }
        s.board_mut().rec.now = 200_000_000;
        assert_eq!(code(send(&mut mem, &mut s, M, 0, 64)), Errno::NoSpace.code());
        assert_eq!(task.log().len(), 12, "the refused packet never reached the radio");
        assert_eq!(s.guard().denials(Capability::Rf), 0, "out of airtime is not a denial");
        // An hour and five minutes later the budget is back.
        s.board_mut().rec.now = 3_900_000_000;
        let Err(Refusal::Trap(_)) = send(&mut mem, &mut s, M, 0, 64) else { panic!("budget not restored") };
    }

    #[test]
    fn bad_buffers_and_oversized_packets_are_refused() {
        static RADIO: RfMailbox<2, 64> = RfMailbox::new();
        let mut s = app(&RADIO);
        let mut backing = [0u8; 16];
        let mut mem = GuestMemory::new(&mut backing);
        assert_eq!(code(configure(&mut s, [EU868, 7, 125_000, 5, 14])), 0);
        assert_eq!(code(send(&mut mem, &mut s, M, 10, 7)), Errno::Fault.code());
        assert_eq!(code(send(&mut mem, &mut s, M, 0, 256)), Errno::TooLarge.code());
        assert_eq!(code(last_packet(&mut mem, &mut s, 13)), Errno::Fault.code());
        assert_eq!(s.guard_mut().airtime_left(0), 36_000_000, "nothing charged");
    }

    #[test]
    fn wait_args_round_trip() {
        assert_eq!(unpack(pack(u32::MAX, 255)), (u32::MAX, 255));
    }
}
