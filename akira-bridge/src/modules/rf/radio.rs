//! What a board offers `akira:rf`: LoRa settings and their time on air,
//! received-packet details, the [`Rf`] trait the module calls per app, and
//! [`Radio`], the trait a radio driver implements.

use core::time::Duration;

use crate::errno::Errno;
use crate::time::Instant;

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
    //
    // Not `lora-modulation`'s `time_on_air_us` (0.1.5, which lora-phy
    // brings), for two measured faults that the duty-cycle guard would
    // inherit (akira-radio's tests/sx1262.rs compares the two):
    // - its ceiling counts one payload block when there is none (a
    //   numerator in -n..=0): SF12, 125 kHz, 4/5, empty packet: 827 392 us
    //   where the formula gives 663 552 (+25 %, the app's airtime wasted);
    // - it truncates the symbol time to whole microseconds, so airtime is
    //   undercounted at bandwidths that do not divide 2^SF s: SF7,
    //   41.67 kHz, 255 bytes: 1 198 457 us for 1 198 753 (the regulatory
    //   budget overrun by 296 us per packet). Ours is exact, rounded up.
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

/// A radio driver, as the firmware task serving an [`RfMailbox`](crate::RfMailbox) drives
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
/// and are polled. [`RfMailbox`](crate::RfMailbox) implements it for a radio served by a
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
