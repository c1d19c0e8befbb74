//! The radio air shared by simulated devices in separate processes (or
//! threads), over TCP on loopback.
//!
//! A [`Hub`] holds the medium: one [`SimAir`](crate::rf::SimAir) (LoRa) and one [`SimBle`](crate::ble::SimBle)
//! (BLE advertising and scanning) for every device, radios keyed by
//! device number and app id ([`crate::rf::radio_id`]). Each device is a
//! [`SimBoard`](crate::SimBoard) of its own (its own pins, log, storage
//! and policy) that joined with a [`Link`] ([`SimBoard::join_air`](crate::SimBoard::join_air)):
//! its apps' `akira:rf` and `akira:ble` calls go to the hub, and an app
//! that stops takes its radio and controller off the air. GATT servers
//! and the scripted central (`--gatt-client`) stay on their own board:
//! the phone is a device's neighbour, not one of the air's devices.
//!
//! # Time
//!
//! Devices run on virtual time, kept in lockstep by the hub, so runs are
//! repeatable whatever the machines' speed. The hub waits for the number
//! of devices it was told, then gives turns: every device, in the order of
//! its number, runs its apps at the same instant until they have nothing
//! left to do now and tells the hub when its next local event is (a timer,
//! a scripted input, its time limit). When a turn delivered something on
//! the air, every device gets another turn at the same instant. Then the
//! hub moves everyone to the earliest next event, its own included (the
//! end of a transmission, the next advertising event someone hears).
//! Nobody runs ahead, so no packet reaches a device in its past.
//!
//! A device that leaves (its apps stopped, its time limit, its process
//! killed, a protocol error) takes its radios off the air; the others go
//! on. The hub ends when every device left, when no device nor the air has
//! anything left to happen (every device is told it stalled), or at its
//! own time limit.
//!
//! # Protocol
//!
//! Frames are a little-endian `u32` length and a postcard message. A
//! device says hello (magic, [`PROTOCOL`] version, the device number it
//! wants); the hub welcomes it or refuses it with a reason. Then the hub
//! sends turns and ends; during its turn a device sends radio calls, each
//! answered, and ends its turn with its next event.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use akira_bridge::modules::ble::{ADV_INTERVAL_MS, AdvData, ReportKind};
use akira_bridge::{AdvConfig, BleJob, Errno, LoraConfig, ScanConfig, ScanReport};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

mod hub;
mod link;
#[cfg(test)]
mod tests;

pub use hub::{Hub, HubEnd, HubEvent, fuzz_frames};
pub use link::{Link, Turn};

/// The protocol version a hub and its devices must share.
pub const PROTOCOL: u16 = 1;

/// What a device says first, so a hub knows it is one.
const MAGIC: [u8; 8] = *b"akiraair";

/// What a hub answers first, so a device knows it is one.
const HUB_MAGIC: [u8; 8] = *b"akirahub";

/// The largest frame either side accepts.
const MAX_FRAME: usize = 64 * 1024;

/// The largest packet a radio call carries (LoRa packets are at most 255
/// bytes).
const MAX_PACKET: usize = 1024;

/// How long a hub waits for a new connection's hello, and a device for
/// the hub's answer: a guard against a peer that is not one.
const HANDSHAKE: Duration = Duration::from_secs(30);

/// Why a device could not join the air, or lost it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AirError {
    /// Nothing accepted the connection at that address.
    Connect {
        /// The address given.
        addr: String,
        /// What the system said.
        reason: String,
    },
    /// The peer does not speak the air protocol (not a hub).
    NotAHub(String),
    /// The hub speaks another version of the protocol.
    Version {
        /// The hub's version.
        hub: u16,
        /// This device's version ([`PROTOCOL`]).
        device: u16,
    },
    /// Another device already has this number.
    DeviceTaken(u16),
    /// The hub closed the connection or its messages stopped making sense.
    HubGone(String),
}

impl fmt::Display for AirError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AirError::Connect { addr, reason } => write!(f, "cannot connect to the air at {addr}: {reason}"),
            AirError::NotAHub(why) => write!(f, "not an akira air hub: {why}"),
            AirError::Version { hub, device } => {
                write!(f, "the air hub speaks protocol version {hub}, this device version {device}")
            }
            AirError::DeviceTaken(n) => write!(f, "device number {n} is already on the air"),
            AirError::HubGone(why) => write!(f, "lost the air hub: {why}"),
        }
    }
}

impl std::error::Error for AirError {}

/// A LoRa configuration on the wire.
#[derive(Serialize, Deserialize)]
struct WireLora {
    frequency_hz: u32,
    spreading_factor: u8,
    bandwidth_hz: u32,
    coding_rate: u8,
    power_dbm: i8,
}

impl From<&LoraConfig> for WireLora {
    fn from(c: &LoraConfig) -> Self {
        WireLora {
            frequency_hz: c.frequency_hz,
            spreading_factor: c.spreading_factor,
            bandwidth_hz: c.bandwidth_hz,
            coding_rate: c.coding_rate,
            power_dbm: c.power_dbm,
        }
    }
}

impl WireLora {
    /// The configuration, if a radio takes it (a peer's word is checked:
    /// the air computes with it).
    fn config(&self) -> Option<LoraConfig> {
        let c = self;
        // Its checks: the spreading factor, bandwidth, coding rate and
        // power a LoRa radio takes.
        LoraConfig::new(
            c.frequency_hz,
            c.spreading_factor.into(),
            c.bandwidth_hz,
            c.coding_rate.into(),
            c.power_dbm.into(),
        )
        .ok()
    }
}

/// A BLE job on the wire.
#[derive(Serialize, Deserialize)]
enum WireBleJob {
    Advertise { interval_ms: u16, data: Vec<u8>, scan_response: Option<Vec<u8>> },
    StopAdvertising,
    Scan { active: bool, interval_ms: u16, window_ms: u16 },
    StopScanning,
}

impl From<&BleJob> for WireBleJob {
    fn from(job: &BleJob) -> Self {
        match job {
            BleJob::Advertise(c) => WireBleJob::Advertise {
                interval_ms: c.interval_ms,
                data: c.data.as_bytes().to_vec(),
                scan_response: c.scan_response.map(|r| r.as_bytes().to_vec()),
            },
            BleJob::StopAdvertising => WireBleJob::StopAdvertising,
            BleJob::Scan(c) => {
                WireBleJob::Scan { active: c.active, interval_ms: c.interval_ms, window_ms: c.window_ms }
            }
            BleJob::StopScanning => WireBleJob::StopScanning,
        }
    }
}

impl WireBleJob {
    /// The job, or [`Errno::Invalid`] for data too long.
    fn job(self) -> Result<BleJob, Errno> {
        Ok(match self {
            WireBleJob::Advertise { interval_ms, .. } if !ADV_INTERVAL_MS.contains(&u32::from(interval_ms)) => {
                return Err(Errno::Invalid);
            }
            WireBleJob::Advertise { interval_ms, data, scan_response } => BleJob::Advertise(AdvConfig {
                interval_ms,
                data: AdvData::new(&data)?,
                scan_response: scan_response.map(|r| AdvData::new(&r)).transpose()?,
            }),
            WireBleJob::StopAdvertising => BleJob::StopAdvertising,
            WireBleJob::Scan { active, interval_ms, window_ms } => {
                BleJob::Scan(ScanConfig::new(active.into(), interval_ms.into(), window_ms.into())?)
            }
            WireBleJob::StopScanning => BleJob::StopScanning,
        })
    }
}

/// A scan report on the wire.
#[derive(Serialize, Deserialize)]
struct WireReport {
    address: [u8; 6],
    address_kind: u8,
    rssi_dbm: i8,
    kind: u8,
    data: Vec<u8>,
}

fn report_kind(kind: u8) -> Option<ReportKind> {
    Some(match kind {
        0 => ReportKind::AdvInd,
        1 => ReportKind::AdvDirectInd,
        2 => ReportKind::AdvScanInd,
        3 => ReportKind::AdvNonconnInd,
        4 => ReportKind::ScanRsp,
        _ => return None,
    })
}

impl WireReport {
    fn report(self) -> Option<ScanReport> {
        Some(ScanReport {
            address: self.address,
            address_kind: self.address_kind,
            rssi_dbm: self.rssi_dbm,
            kind: report_kind(self.kind)?,
            data: AdvData::new(&self.data).ok()?,
        })
    }
}

/// A device's message to the hub.
#[derive(Serialize, Deserialize)]
enum Up {
    Hello {
        magic: [u8; 8],
        version: u16,
        device: Option<u16>,
    },
    RfConfigure {
        app: u16,
        config: WireLora,
    },
    RfConfig {
        app: u16,
    },
    RfSend {
        app: u16,
        data: Vec<u8>,
        deadline: u64,
    },
    RfReceive {
        app: u16,
        max_len: u32,
        deadline: u64,
    },
    RfPoll {
        app: u16,
        max_len: u32,
    },
    RfLastPacket {
        app: u16,
    },
    BleStart {
        app: u16,
        job: WireBleJob,
    },
    BlePoll {
        app: u16,
    },
    BleNextReport {
        app: u16,
    },
    /// The app stopped running: its LoRa radio leaves the air.
    RfRelease {
        app: u16,
    },
    /// The app stopped running: its BLE controller leaves the air.
    BleRelease {
        app: u16,
    },
    /// The turn is over; the device's next local event.
    Done {
        next: Option<u64>,
    },
    Leave,
}

/// Why a hub refused a device.
#[derive(Serialize, Deserialize)]
enum Refusal {
    Version,
    DeviceTaken(u16),
}

/// The hub's message to a device.
#[derive(Serialize, Deserialize)]
enum Down {
    Welcome {
        magic: [u8; 8],
        version: u16,
        device: u16,
    },
    Refused {
        magic: [u8; 8],
        version: u16,
        why: Refusal,
    },
    /// Run at this instant.
    Turn {
        now: u64,
        deliveries: u64,
    },
    /// The air ended: every device stalled, or the hub's time limit.
    End {
        stalled: bool,
    },
    Reply {
        deliveries: u64,
        reply: Reply,
    },
}

/// A received packet on the wire: its bytes, RSSI and SNR.
type WirePacket = (Vec<u8>, i16, i16);

/// The answer to a radio call; errors are `Errno` codes.
#[derive(Serialize, Deserialize)]
enum Reply {
    Done(Result<(), i32>),
    Config(Option<WireLora>),
    RfPoll(Option<Result<Option<WirePacket>, i32>>),
    Packet(Option<(i16, i16)>),
    BlePoll(Option<Result<(), i32>>),
    Report(Result<Option<WireReport>, i32>),
}

/// Why a frame could not be read.
enum FrameError {
    Closed,
    Io(io::Error),
    Malformed(String),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Closed => f.write_str("connection closed"),
            FrameError::Io(e) => write!(f, "{e}"),
            FrameError::Malformed(why) => write!(f, "malformed message: {why}"),
        }
    }
}

fn send<T: Serialize>(stream: &mut TcpStream, msg: &T) -> io::Result<()> {
    let body = postcard::to_allocvec(msg).map_err(io::Error::other)?;
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&(body.len() as u32).to_le_bytes());
    frame.extend_from_slice(&body);
    stream.write_all(&frame)?;
    stream.flush()
}

fn recv<T: DeserializeOwned>(stream: &mut TcpStream) -> Result<T, FrameError> {
    let io = |e: io::Error| match e.kind() {
        io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => {
            FrameError::Closed
        }
        _ => FrameError::Io(e),
    };
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).map_err(io)?;
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(FrameError::Malformed(format!("a frame of {len} bytes (at most {MAX_FRAME})")));
    }
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).map_err(io)?;
    postcard::from_bytes(&body).map_err(|e| FrameError::Malformed(e.to_string()))
}

fn errno(code: i32) -> Errno {
    Errno::from_code(code).unwrap_or(Errno::Io)
}
