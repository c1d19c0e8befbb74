//! The radio air shared by simulated devices in separate processes (or
//! threads), over TCP on loopback.
//!
//! A [`Hub`] holds the medium: one [`SimAir`] (LoRa) and one [`SimBle`]
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

use std::collections::BTreeSet;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::time::Duration;

use akira_bridge::modules::ble::{ADV_INTERVAL_MS, AdvData, ReportKind};
use akira_bridge::modules::rf::{Job, Outcome};
use akira_bridge::{AdvConfig, BleJob, Errno, Instant, LoraConfig, PacketInfo, ScanConfig, ScanReport};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::ble::SimBle;
use crate::rf::{SimAir, radio_id};

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

/// What the hub says a device does next ([`Link::turn`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Turn {
    /// Run the apps at this instant.
    Run(Instant),
    /// Nothing will ever happen again on any device nor on the air.
    Stalled,
    /// The hub's time limit was reached.
    TimeLimit,
}

/// A device's connection to a [`Hub`]. A [`SimBoard`](crate::SimBoard)
/// that joined with one ([`SimBoard::join_air`](crate::SimBoard::join_air))
/// forwards its radio calls here, and [`Simulation::run`](crate::Simulation::run)
/// takes its turns from it.
pub struct Link {
    stream: TcpStream,
    device: u16,
    /// The hub's delivery count in its last message.
    deliveries: u64,
    /// Set when the hub was lost; calls then fail at once.
    failed: Option<AirError>,
    left: bool,
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Link").field("device", &self.device).field("failed", &self.failed).finish()
    }
}

impl Link {
    /// Joins the hub at `addr` (`127.0.0.1:PORT`) as device number
    /// `device`, or the lowest free number with `None`.
    pub fn connect(addr: &str, device: Option<u16>) -> Result<Link, AirError> {
        let connect_error = |e: io::Error| AirError::Connect { addr: addr.to_string(), reason: e.to_string() };
        let addrs: Vec<SocketAddr> = addr.to_socket_addrs().map_err(connect_error)?.collect();
        let mut stream = TcpStream::connect(&addrs[..]).map_err(connect_error)?;
        stream.set_nodelay(true).map_err(connect_error)?;
        stream.set_read_timeout(Some(HANDSHAKE)).map_err(connect_error)?;
        send(&mut stream, &Up::Hello { magic: MAGIC, version: PROTOCOL, device }).map_err(connect_error)?;
        let welcome: Down = recv(&mut stream).map_err(|e| AirError::NotAHub(e.to_string()))?;
        match welcome {
            Down::Welcome { magic: HUB_MAGIC, version: PROTOCOL, device } => {
                stream.set_read_timeout(None).map_err(connect_error)?;
                Ok(Link { stream, device, deliveries: 0, failed: None, left: false })
            }
            Down::Welcome { magic: HUB_MAGIC, version, .. }
            | Down::Refused { magic: HUB_MAGIC, version, why: Refusal::Version } => {
                Err(AirError::Version { hub: version, device: PROTOCOL })
            }
            Down::Refused { magic: HUB_MAGIC, why: Refusal::DeviceTaken(n), .. } => Err(AirError::DeviceTaken(n)),
            _ => Err(AirError::NotAHub("unexpected answer to hello".into())),
        }
    }

    /// This device's number on the air.
    pub fn device(&self) -> u16 {
        self.device
    }

    /// Packets and reports delivered on the air, and BLE jobs done, so
    /// far (all devices): when it moves, a suspended app may go on.
    pub fn deliveries(&self) -> u64 {
        self.deliveries
    }

    /// Why the hub was lost, if it was.
    pub fn error(&self) -> Option<&AirError> {
        self.failed.as_ref()
    }

    fn fail(&mut self, why: String) -> AirError {
        let e = AirError::HubGone(why);
        self.failed.get_or_insert(e).clone()
    }

    /// Waits for the hub's word: run at an instant, or stop.
    pub fn turn(&mut self) -> Result<Turn, AirError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        match recv::<Down>(&mut self.stream) {
            Ok(Down::Turn { now, deliveries }) => {
                self.deliveries = deliveries;
                Ok(Turn::Run(Instant::from_micros(now)))
            }
            Ok(Down::End { stalled: true }) => Ok(Turn::Stalled),
            Ok(Down::End { stalled: false }) => Ok(Turn::TimeLimit),
            Ok(_) => Err(self.fail("unexpected message while waiting for a turn".into())),
            Err(e) => Err(self.fail(e.to_string())),
        }
    }

    /// Ends this device's turn: its next local event, if it has one.
    pub fn done(&mut self, next: Option<Instant>) -> Result<(), AirError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        send(&mut self.stream, &Up::Done { next: next.map(Instant::as_micros) }).map_err(|e| self.fail(e.to_string()))
    }

    /// Leaves the air: this device's radios go off it. Also done when the
    /// link is dropped.
    pub fn leave(&mut self) {
        if !self.left {
            self.left = true;
            let _ = send(&mut self.stream, &Up::Leave);
            let _ = self.stream.shutdown(std::net::Shutdown::Both);
        }
    }

    /// A radio call and its answer; `None` once the hub is lost.
    fn call(&mut self, msg: Up) -> Option<Reply> {
        if self.failed.is_some() {
            return None;
        }
        if let Err(e) = send(&mut self.stream, &msg) {
            self.fail(e.to_string());
            return None;
        }
        match recv::<Down>(&mut self.stream) {
            Ok(Down::Reply { deliveries, reply }) => {
                self.deliveries = deliveries;
                Some(reply)
            }
            Ok(_) => {
                self.fail("unexpected message during a turn".into());
                None
            }
            Err(e) => {
                self.fail(e.to_string());
                None
            }
        }
    }

    fn mismatch(&mut self) -> Errno {
        self.fail("an answer of the wrong kind".into());
        Errno::Io
    }

    /// [`akira_bridge::Rf::configure`] on the air.
    pub fn rf_configure(&mut self, app: u16, config: &LoraConfig) -> Result<(), Errno> {
        match self.call(Up::RfConfigure { app, config: config.into() }) {
            Some(Reply::Done(r)) => r.map_err(errno),
            None => Err(Errno::Io),
            Some(_) => Err(self.mismatch()),
        }
    }

    /// [`akira_bridge::Rf::config`] on the air.
    pub fn rf_config(&mut self, app: u16) -> Option<LoraConfig> {
        match self.call(Up::RfConfig { app }) {
            Some(Reply::Config(None)) | None => None,
            Some(Reply::Config(Some(c))) => match c.config() {
                Some(c) => Some(c),
                None => {
                    self.mismatch();
                    None
                }
            },
            Some(_) => {
                self.mismatch();
                None
            }
        }
    }

    /// [`akira_bridge::Rf::start`] on the air.
    pub fn rf_start(&mut self, app: u16, job: Job<'_>, deadline: Instant) -> Result<(), Errno> {
        let deadline = deadline.as_micros();
        let msg = match job {
            Job::Send(data) => Up::RfSend { app, data: data.to_vec(), deadline },
            Job::Receive { max_len } => Up::RfReceive { app, max_len: max_len as u32, deadline },
        };
        match self.call(msg) {
            Some(Reply::Done(r)) => r.map_err(errno),
            None => Err(Errno::Io),
            Some(_) => Err(self.mismatch()),
        }
    }

    /// [`akira_bridge::Rf::poll`] on the air.
    pub fn rf_poll(&mut self, app: u16, buf: &mut [u8]) -> Option<Result<Outcome, Errno>> {
        match self.call(Up::RfPoll { app, max_len: buf.len() as u32 }) {
            Some(Reply::RfPoll(r)) => Some(match r? {
                Ok(None) => Ok(Outcome::Sent),
                Ok(Some((bytes, rssi_dbm, snr_db))) => {
                    let n = bytes.len().min(buf.len());
                    buf[..n].copy_from_slice(&bytes[..n]);
                    Ok(Outcome::Received { len: n, packet: PacketInfo { rssi_dbm, snr_db } })
                }
                Err(code) => Err(errno(code)),
            }),
            None => Some(Err(Errno::Io)),
            Some(_) => Some(Err(self.mismatch())),
        }
    }

    /// [`akira_bridge::Rf::last_packet`] on the air.
    pub fn rf_last_packet(&mut self, app: u16) -> Option<PacketInfo> {
        match self.call(Up::RfLastPacket { app }) {
            Some(Reply::Packet(p)) => p.map(|(rssi_dbm, snr_db)| PacketInfo { rssi_dbm, snr_db }),
            None => None,
            Some(_) => {
                self.mismatch();
                None
            }
        }
    }

    /// [`akira_bridge::Ble::start`] on the air.
    pub fn ble_start(&mut self, app: u16, job: BleJob) -> Result<(), Errno> {
        match self.call(Up::BleStart { app, job: (&job).into() }) {
            Some(Reply::Done(r)) => r.map_err(errno),
            None => Err(Errno::Io),
            Some(_) => Err(self.mismatch()),
        }
    }

    /// [`akira_bridge::Ble::poll`] on the air.
    pub fn ble_poll(&mut self, app: u16) -> Option<Result<(), Errno>> {
        match self.call(Up::BlePoll { app }) {
            Some(Reply::BlePoll(r)) => r.map(|r| r.map_err(errno)),
            None => Some(Err(Errno::Io)),
            Some(_) => Some(Err(self.mismatch())),
        }
    }

    /// [`akira_bridge::Rf::release`] on the air: app `app` stopped, its
    /// radio leaves the air.
    pub fn rf_release(&mut self, app: u16) {
        self.release(Up::RfRelease { app });
    }

    /// [`akira_bridge::Ble::release`] on the air: app `app` stopped, its
    /// controller leaves the air.
    pub fn ble_release(&mut self, app: u16) {
        self.release(Up::BleRelease { app });
    }

    fn release(&mut self, call: Up) {
        match self.call(call) {
            Some(Reply::Done(_)) | None => {}
            Some(_) => {
                self.mismatch();
            }
        }
    }

    /// [`akira_bridge::Ble::next_report`] on the air.
    pub fn ble_next_report(&mut self, app: u16) -> Result<Option<ScanReport>, Errno> {
        match self.call(Up::BleNextReport { app }) {
            Some(Reply::Report(Ok(Some(r)))) => match r.report() {
                Some(r) => Ok(Some(r)),
                None => Err(self.mismatch()),
            },
            Some(Reply::Report(r)) => r.map(|_| None).map_err(errno),
            None => Err(Errno::Io),
            Some(_) => Err(self.mismatch()),
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.leave();
    }
}

/// Something that happened on a hub, for its log.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HubEvent {
    /// A device joined.
    Joined {
        /// Its number.
        device: u16,
    },
    /// A connection was refused.
    Refused {
        /// Why.
        reason: String,
    },
    /// Every expected device joined: time starts.
    Started {
        /// How many.
        devices: usize,
    },
    /// A device left the air.
    Left {
        /// Its number.
        device: u16,
        /// When.
        at: Instant,
        /// Why: it said so, it disconnected, or a protocol error.
        reason: String,
    },
}

impl fmt::Display for HubEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HubEvent::Joined { device } => write!(f, "device {device} joined"),
            HubEvent::Refused { reason } => write!(f, "refused a connection: {reason}"),
            HubEvent::Started { devices } => write!(f, "{devices} device(s) on the air: time starts"),
            HubEvent::Left { device, at, reason } => write!(f, "device {device} left at {at}: {reason}"),
        }
    }
}

/// Why [`Hub::run`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HubEnd {
    /// Every device left.
    AllLeft(Instant),
    /// No device nor the air had anything left to happen; the devices
    /// were told.
    Stalled(Instant),
    /// The hub's time limit was reached; the devices were told.
    TimeLimit(Instant),
}

/// A device on the hub.
struct Peer {
    device: u16,
    stream: TcpStream,
    /// Its next local event, from its last turn.
    next: Option<Instant>,
    /// The apps that used its radios.
    apps: BTreeSet<u16>,
}

/// The medium: both airs, at one instant.
#[derive(Default)]
struct Medium {
    air: SimAir,
    ble: SimBle,
    now: Instant,
}

impl Medium {
    fn deliveries(&self) -> u64 {
        self.air.deliveries() + self.ble.deliveries()
    }

    fn next_event(&self) -> Option<Instant> {
        [self.air.next_event(), self.ble.next_event()].into_iter().flatten().min()
    }

    fn settle(&mut self) {
        self.air.settle(self.now);
        self.ble.settle(self.now);
    }

    fn leave(&mut self, peer: &Peer) {
        for app in &peer.apps {
            self.air.remove(radio_id(peer.device, *app));
            self.ble.remove(radio_id(peer.device, *app));
        }
    }

    /// Answers a radio call from `peer`'s app.
    fn answer(&mut self, peer: &mut Peer, call: Up) -> Option<Reply> {
        let now = self.now;
        let code = |r: Result<(), Errno>| r.map_err(Errno::code);
        let app = match &call {
            Up::RfConfigure { app, .. }
            | Up::RfConfig { app }
            | Up::RfSend { app, .. }
            | Up::RfReceive { app, .. }
            | Up::RfPoll { app, .. }
            | Up::RfLastPacket { app }
            | Up::BleStart { app, .. }
            | Up::BlePoll { app }
            | Up::BleNextReport { app }
            | Up::RfRelease { app }
            | Up::BleRelease { app } => *app,
            Up::Hello { .. } | Up::Done { .. } | Up::Leave => return None,
        };
        peer.apps.insert(app);
        let radio = radio_id(peer.device, app);
        let deadline = |us: u64| Instant::from_micros(us);
        Some(match call {
            Up::RfConfigure { config, .. } => match config.config() {
                Some(config) => {
                    self.air.configure(radio, &config);
                    Reply::Done(Ok(()))
                }
                None => Reply::Done(Err(Errno::Invalid.code())),
            },
            Up::RfConfig { .. } => Reply::Config(self.air.config(radio).as_ref().map(WireLora::from)),
            Up::RfSend { data, .. } if data.len() > akira_bridge::modules::rf::MAX_PACKET => {
                Reply::Done(Err(Errno::TooLarge.code()))
            }
            Up::RfSend { data, deadline: d, .. } => {
                Reply::Done(code(self.air.start(radio, now, Job::Send(&data), deadline(d))))
            }
            Up::RfReceive { max_len, deadline: d, .. } => {
                let job = Job::Receive { max_len: (max_len as usize).min(MAX_PACKET) };
                Reply::Done(code(self.air.start(radio, now, job, deadline(d))))
            }
            Up::RfPoll { max_len, .. } => {
                let mut buf = vec![0u8; (max_len as usize).min(MAX_PACKET)];
                Reply::RfPoll(self.air.poll(radio, now, &mut buf).map(|r| match r {
                    Ok(Outcome::Sent) => Ok(None),
                    Ok(Outcome::Received { len, packet }) => {
                        buf.truncate(len);
                        Ok(Some((buf, packet.rssi_dbm, packet.snr_db)))
                    }
                    Err(e) => Err(e.code()),
                }))
            }
            Up::RfLastPacket { .. } => Reply::Packet(self.air.last_packet(radio).map(|p| (p.rssi_dbm, p.snr_db))),
            Up::BleStart { job, .. } => Reply::Done(code(job.job().and_then(|job| self.ble.start(radio, now, job)))),
            Up::BlePoll { .. } => Reply::BlePoll(self.ble.poll(radio).map(code)),
            Up::BleNextReport { .. } => Reply::Report(
                self.ble
                    .next_report(radio, now)
                    .map(|r| {
                        r.map(|r| WireReport {
                            address: r.address,
                            address_kind: r.address_kind,
                            rssi_dbm: r.rssi_dbm,
                            kind: r.kind as u8,
                            data: r.data.as_bytes().to_vec(),
                        })
                    })
                    .map_err(Errno::code),
            ),
            Up::RfRelease { .. } => {
                self.air.remove(radio);
                Reply::Done(Ok(()))
            }
            Up::BleRelease { .. } => {
                self.ble.forget(radio);
                Reply::Done(Ok(()))
            }
            Up::Hello { .. } | Up::Done { .. } | Up::Leave => return None,
        })
    }

    /// Gives `peer` its turn at the medium's instant and answers its calls
    /// until it is done: its next event, or why it left.
    fn turn(&mut self, peer: &mut Peer) -> Result<Option<Instant>, String> {
        let turn = Down::Turn { now: self.now.as_micros(), deliveries: self.deliveries() };
        send(&mut peer.stream, &turn).map_err(|e| format!("disconnected ({e})"))?;
        loop {
            let call = match recv::<Up>(&mut peer.stream) {
                Ok(Up::Done { next }) => return Ok(next.map(Instant::from_micros)),
                Ok(Up::Leave) => return Err("left the air".into()),
                Ok(call) => call,
                Err(FrameError::Closed) => return Err("disconnected".into()),
                Err(e) => return Err(format!("protocol error: {e}")),
            };
            let Some(reply) = self.answer(peer, call) else {
                return Err("protocol error: unexpected message during its turn".into());
            };
            let reply = Down::Reply { deliveries: self.deliveries(), reply };
            send(&mut peer.stream, &reply).map_err(|e| format!("disconnected ({e})"))?;
        }
    }
}

/// The medium simulated devices share: accepts devices, keeps their
/// clocks in lockstep and carries their radios' traffic (see the
/// [module docs](self)).
pub struct Hub {
    listener: TcpListener,
}

impl Hub {
    /// A hub listening on `addr` (`127.0.0.1:0` for any free port).
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<Hub> {
        Ok(Hub { listener: TcpListener::bind(addr)? })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Waits for a new connection's hello; the device number it gets, or
    /// why it was refused.
    fn admit(stream: &mut TcpStream, peers: &[Peer]) -> Result<u16, String> {
        let _ = stream.set_nodelay(true);
        stream.set_read_timeout(Some(HANDSHAKE)).map_err(|e| e.to_string())?;
        let hello = recv::<Up>(stream).map_err(|e| format!("no hello: {e}"))?;
        let Up::Hello { magic: MAGIC, version, device } = hello else {
            return Err("not an akira device".into());
        };
        let refuse =
            |stream: &mut TcpStream, why| send(stream, &Down::Refused { magic: HUB_MAGIC, version: PROTOCOL, why });
        if version != PROTOCOL {
            let _ = refuse(stream, Refusal::Version);
            return Err(format!("device speaks protocol version {version}, the hub {PROTOCOL}"));
        }
        let taken = |n: u16| peers.iter().any(|p| p.device == n);
        let device = match device {
            Some(n) if taken(n) => {
                let _ = refuse(stream, Refusal::DeviceTaken(n));
                return Err(format!("device number {n} is taken"));
            }
            Some(n) => n,
            None => (0..=u16::MAX).find(|n| !taken(*n)).ok_or("no device number left")?,
        };
        send(stream, &Down::Welcome { magic: HUB_MAGIC, version: PROTOCOL, device }).map_err(|e| e.to_string())?;
        stream.set_read_timeout(None).map_err(|e| e.to_string())?;
        Ok(device)
    }

    /// Waits for `devices` devices, then runs the air until they all
    /// leave, nothing is left to happen, or `limit` (virtual time) passes.
    /// `log` hears joins and leaves. Errors are the listener's.
    pub fn run(self, devices: usize, limit: Option<Duration>, mut log: impl FnMut(&HubEvent)) -> io::Result<HubEnd> {
        let mut peers: Vec<Peer> = Vec::new();
        while peers.len() < devices {
            let (mut stream, _) = self.listener.accept()?;
            match Hub::admit(&mut stream, &peers) {
                Ok(device) => {
                    log(&HubEvent::Joined { device });
                    peers.push(Peer { device, stream, next: Some(Instant::ZERO), apps: BTreeSet::new() });
                }
                Err(reason) => log(&HubEvent::Refused { reason }),
            }
        }
        // Latecomers are refused by the system from now on.
        drop(self.listener);
        peers.sort_by_key(|p| p.device);
        log(&HubEvent::Started { devices: peers.len() });
        let limit = limit.map(|l| Instant::ZERO.saturating_add(l));
        let mut medium = Medium::default();
        loop {
            if limit.is_some_and(|l| medium.now >= l) {
                Hub::end(&mut peers, false);
                return Ok(HubEnd::TimeLimit(medium.now));
            }
            // Turns at this instant until nothing moves on the air.
            loop {
                medium.settle();
                let before = medium.deliveries();
                let mut i = 0;
                while i < peers.len() {
                    match medium.turn(&mut peers[i]) {
                        Ok(next) => {
                            peers[i].next = next;
                            i += 1;
                        }
                        Err(reason) => {
                            let peer = peers.remove(i);
                            medium.leave(&peer);
                            log(&HubEvent::Left { device: peer.device, at: medium.now, reason });
                        }
                    }
                }
                if peers.is_empty() {
                    return Ok(HubEnd::AllLeft(medium.now));
                }
                if medium.deliveries() == before {
                    break;
                }
            }
            let next = peers.iter().filter_map(|p| p.next).chain(medium.next_event()).chain(limit).min();
            match next {
                Some(t) => medium.now = medium.now.max(t),
                None => {
                    Hub::end(&mut peers, true);
                    return Ok(HubEnd::Stalled(medium.now));
                }
            }
        }
    }

    fn end(peers: &mut [Peer], stalled: bool) {
        for p in peers {
            let _ = send(&mut p.stream, &Down::End { stalled });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread::JoinHandle;

    fn ms(ms: u64) -> Instant {
        Instant::from_micros(ms * 1000)
    }

    /// A hub for `devices` devices in a thread: its address, and its end
    /// with what it logged.
    fn hub(devices: usize, limit: Option<Duration>) -> (String, JoinHandle<(HubEnd, Vec<HubEvent>)>) {
        let hub = Hub::bind("127.0.0.1:0").unwrap();
        let addr = hub.local_addr().unwrap().to_string();
        let thread = std::thread::spawn(move || {
            let mut log = Vec::new();
            let end = hub.run(devices, limit, |e| log.push(e.clone())).unwrap();
            (end, log)
        });
        (addr, thread)
    }

    fn lora() -> LoraConfig {
        LoraConfig::new(868_100_000, 9, 125_000, 5, 14).unwrap()
    }

    #[test]
    fn time_moves_to_the_earliest_next_event_of_any_device() {
        let (addr, hub) = hub(2, None);
        let mut a = Link::connect(&addr, Some(0)).unwrap();
        let mut b = Link::connect(&addr, Some(1)).unwrap();
        // Turns go in device order; both move to the earlier of their
        // next events, the later one waits its turn at each.
        let mut seen = Vec::new();
        for (next_a, next_b) in [(Some(ms(100)), Some(ms(300))), (Some(ms(200)), Some(ms(300))), (None, Some(ms(300)))]
        {
            seen.push((a.turn().unwrap(), b.turn_after(&mut a, next_a)));
            b.done(next_b).unwrap();
        }
        assert_eq!(
            seen,
            [
                (Turn::Run(ms(0)), Turn::Run(ms(0))),
                (Turn::Run(ms(100)), Turn::Run(ms(100))),
                (Turn::Run(ms(200)), Turn::Run(ms(200))),
            ]
        );
        assert_eq!(a.turn().unwrap(), Turn::Run(ms(300)));
        a.done(None).unwrap();
        assert_eq!(b.turn().unwrap(), Turn::Run(ms(300)));
        b.done(None).unwrap();
        // Nothing left on either device nor the air: both are told.
        assert_eq!((a.turn().unwrap(), b.turn().unwrap()), (Turn::Stalled, Turn::Stalled));
        assert_eq!(hub.join().unwrap().0, HubEnd::Stalled(ms(300)));
    }

    impl Link {
        /// Ends `other`'s turn, then waits for this link's.
        fn turn_after(&mut self, other: &mut Link, next: Option<Instant>) -> Turn {
            other.done(next).unwrap();
            self.turn().unwrap()
        }
    }

    #[test]
    fn a_packet_crosses_devices_and_wakes_the_air_when_it_lands() {
        let (addr, hub) = hub(2, None);
        let mut ping = Link::connect(&addr, Some(0)).unwrap();
        let mut pong = Link::connect(&addr, Some(1)).unwrap();
        assert_eq!(ping.turn().unwrap(), Turn::Run(ms(0)));
        ping.rf_configure(0, &lora()).unwrap();
        assert_eq!(ping.rf_config(0), Some(lora()));
        ping.rf_start(0, Job::Send(b"ping"), ms(5000)).unwrap();
        ping.done(None).unwrap();
        assert_eq!(pong.turn().unwrap(), Turn::Run(ms(0)));
        assert_eq!(pong.rf_config(0), None, "device 1's app 0 is another radio");
        pong.rf_configure(0, &lora()).unwrap();
        pong.rf_start(0, Job::Receive { max_len: 32 }, ms(5000)).unwrap();
        let mut buf = [0u8; 32];
        assert_eq!(pong.rf_poll(0, &mut buf), None, "on the air");
        pong.done(None).unwrap();
        // Neither device has a timer: the end of the transmission (4
        // bytes at SF9, 113.664 ms) is the next event.
        let landed = Instant::from_micros(u64::from(lora().time_on_air_us(4)));
        assert_eq!(ping.turn().unwrap(), Turn::Run(landed));
        assert_eq!(ping.rf_poll(0, &mut buf), Some(Ok(Outcome::Sent)));
        ping.done(None).unwrap();
        assert_eq!(pong.turn().unwrap(), Turn::Run(landed));
        let got = pong.rf_poll(0, &mut buf);
        assert_eq!(got, Some(Ok(Outcome::Received { len: 4, packet: crate::rf::QUALITY })));
        assert_eq!(&buf[..4], b"ping");
        assert_eq!(pong.rf_last_packet(0), Some(crate::rf::QUALITY));
        assert!(pong.deliveries() > 0);
        // Its app done, the device leaves in its turn; nothing is left
        // to happen for the other.
        drop(pong);
        assert_eq!(ping.turn().unwrap(), Turn::Stalled);
        let (end, log) = hub.join().unwrap();
        assert_eq!(end, HubEnd::Stalled(landed));
        assert!(log.contains(&HubEvent::Left { device: 1, at: landed, reason: "left the air".into() }), "{log:?}");
    }

    #[test]
    fn advertisements_reach_a_scanner_on_another_device_from_its_address() {
        let (addr, hub) = hub(2, None);
        let mut beacon = Link::connect(&addr, Some(3)).unwrap();
        let mut scanner = Link::connect(&addr, Some(7)).unwrap();
        let adv = AdvConfig { interval_ms: 500, data: AdvData::new(b"\x02\x01\x06").unwrap(), scan_response: None };
        assert_eq!(beacon.turn().unwrap(), Turn::Run(ms(0)));
        beacon.ble_start(1, BleJob::Advertise(adv)).unwrap();
        assert_eq!(beacon.ble_poll(1), Some(Ok(())));
        beacon.done(None).unwrap();
        assert_eq!(scanner.turn().unwrap(), Turn::Run(ms(0)));
        assert_eq!(scanner.ble_next_report(2), Err(Errno::Invalid), "not scanning");
        scanner.ble_start(2, BleJob::Scan(ScanConfig { active: false, interval_ms: 100, window_ms: 100 })).unwrap();
        assert_eq!(scanner.ble_next_report(2), Ok(None));
        scanner.done(None).unwrap();
        // Jobs completed on the air in that pass: another at the same
        // instant, as on one board.
        assert_eq!(beacon.turn().unwrap(), Turn::Run(ms(0)));
        beacon.done(None).unwrap();
        assert_eq!(scanner.turn().unwrap(), Turn::Run(ms(0)));
        scanner.done(None).unwrap();
        // The next advertising event wakes both.
        assert_eq!(beacon.turn().unwrap(), Turn::Run(ms(500)));
        beacon.done(None).unwrap();
        assert_eq!(scanner.turn().unwrap(), Turn::Run(ms(500)));
        let report = scanner.ble_next_report(2).unwrap().unwrap();
        assert_eq!(report.address, crate::ble::address(radio_id(3, 1)));
        assert_eq!(report.address, [1, 0, 3, 0, 0xde, 0xc0]);
        assert_eq!((report.kind, report.data.as_bytes()), (ReportKind::AdvNonconnInd, &b"\x02\x01\x06"[..]));
        // The scanner leaves: nobody hears the beacon, nothing is left to
        // happen.
        drop(scanner);
        assert_eq!(beacon.turn().unwrap(), Turn::Stalled);
        assert_eq!(hub.join().unwrap().0, HubEnd::Stalled(ms(500)));
    }

    #[test]
    fn a_device_that_vanishes_mid_turn_leaves_the_air_and_the_others_go_on() {
        let (addr, hub) = hub(2, None);
        let mut sender = Link::connect(&addr, Some(0)).unwrap();
        let mut other = Link::connect(&addr, Some(1)).unwrap();
        assert_eq!(sender.turn().unwrap(), Turn::Run(ms(0)));
        sender.rf_configure(0, &lora()).unwrap();
        sender.rf_start(0, Job::Send(b"lost"), ms(5000)).unwrap();
        // Killed in its turn: the connection closes without a word.
        sender.stream.shutdown(std::net::Shutdown::Both).unwrap();
        sender.left = true;
        drop(sender);
        // The other device still gets its turns; the vanished device's
        // packet left the air with it, so time goes straight to the
        // other's timer.
        assert_eq!(other.turn().unwrap(), Turn::Run(ms(0)));
        other.done(Some(ms(1000))).unwrap();
        assert_eq!(other.turn().unwrap(), Turn::Run(ms(1000)));
        other.done(None).unwrap();
        assert_eq!(other.turn().unwrap(), Turn::Stalled);
        let (end, log) = hub.join().unwrap();
        assert_eq!(end, HubEnd::Stalled(ms(1000)));
        assert!(log.contains(&HubEvent::Left { device: 0, at: ms(0), reason: "disconnected".into() }), "{log:?}");
    }

    #[test]
    fn the_hub_time_limit_ends_every_device() {
        let (addr, hub) = hub(1, Some(Duration::from_millis(250)));
        let mut link = Link::connect(&addr, None).unwrap();
        assert_eq!(link.device(), 0, "the lowest free number");
        assert_eq!(link.turn().unwrap(), Turn::Run(ms(0)));
        link.done(Some(ms(1000))).unwrap();
        // As on one board, nothing runs at the limit.
        assert_eq!(link.turn().unwrap(), Turn::TimeLimit);
        assert_eq!(hub.join().unwrap().0, HubEnd::TimeLimit(ms(250)));
    }

    #[test]
    fn bad_peers_are_refused_with_typed_errors_and_the_hub_waits_on() {
        let (addr, hub) = hub(1, None);
        // Not a device: garbage, then a hello of another version.
        let mut junk = TcpStream::connect(&addr).unwrap();
        junk.write_all(&[0xff; 16]).unwrap();
        drop(junk);
        let mut old = TcpStream::connect(&addr).unwrap();
        send(&mut old, &Up::Hello { magic: MAGIC, version: PROTOCOL + 1, device: None }).unwrap();
        assert!(matches!(recv::<Down>(&mut old), Ok(Down::Refused { why: Refusal::Version, .. })));
        // A device on the hub's version takes number 5; a second asking
        // for it would be refused, but the hub starts with the first.
        let mut link = Link::connect(&addr, Some(5)).unwrap();
        assert_eq!(link.turn().unwrap(), Turn::Run(ms(0)));
        link.done(None).unwrap();
        assert_eq!(link.turn().unwrap(), Turn::Stalled);
        let (_, log) = hub.join().unwrap();
        let refused = log.iter().filter(|e| matches!(e, HubEvent::Refused { .. })).count();
        assert_eq!(refused, 2, "{log:?}");
    }

    #[test]
    fn a_peers_bad_radio_settings_are_refused_and_bad_frames_end_it() {
        let (addr, hub) = hub(1, None);
        let mut link = Link::connect(&addr, None).unwrap();
        assert_eq!(link.turn().unwrap(), Turn::Run(ms(0)));
        let refused =
            |reply: Option<Reply>, errno: Errno| matches!(reply, Some(Reply::Done(Err(c))) if c == errno.code());
        // Settings no radio takes (a zero bandwidth would divide by zero).
        let bad =
            WireLora { frequency_hz: 868_100_000, spreading_factor: 70, bandwidth_hz: 0, coding_rate: 0, power_dbm: 1 };
        assert!(refused(link.call(Up::RfConfigure { app: 0, config: bad }), Errno::Invalid));
        assert_eq!(link.rf_config(0), None);
        link.rf_configure(0, &lora()).unwrap();
        let long = Up::RfSend { app: 0, data: vec![0; 300], deadline: u64::MAX };
        assert!(refused(link.call(long), Errno::TooLarge));
        let adv = WireBleJob::Advertise { interval_ms: 0, data: vec![], scan_response: None };
        assert!(refused(link.call(Up::BleStart { app: 0, job: adv }), Errno::Invalid));
        let scan = WireBleJob::Scan { active: true, interval_ms: 10, window_ms: 20 };
        assert!(refused(link.call(Up::BleStart { app: 0, job: scan }), Errno::Invalid));
        // A frame that does not decode: the device is dropped.
        link.stream.write_all(&[2, 0, 0, 0, 0xff, 0xff]).unwrap();
        assert!(matches!(link.turn(), Err(AirError::HubGone(_))));
        let (end, log) = hub.join().unwrap();
        assert_eq!(end, HubEnd::AllLeft(ms(0)));
        let reason = log.iter().find_map(|e| match e {
            HubEvent::Left { reason, .. } => Some(reason.clone()),
            _ => None,
        });
        assert!(reason.is_some_and(|r| r.starts_with("protocol error: malformed message")), "{log:?}");
    }

    #[test]
    fn a_taken_device_number_is_refused() {
        let (addr, hub) = hub(2, None);
        let mut first = Link::connect(&addr, Some(1)).unwrap();
        assert_eq!(Link::connect(&addr, Some(1)).unwrap_err(), AirError::DeviceTaken(1));
        let mut second = Link::connect(&addr, None).unwrap();
        assert_eq!(second.device(), 0);
        assert_eq!(second.turn().unwrap(), Turn::Run(ms(0)));
        second.done(None).unwrap();
        assert_eq!(first.turn().unwrap(), Turn::Run(ms(0)));
        first.done(None).unwrap();
        drop((first, second));
        hub.join().unwrap();
    }

    #[test]
    fn a_device_reports_what_it_reached_that_is_not_a_hub() {
        // Nothing listening.
        let free = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = free.local_addr().unwrap().to_string();
        drop(free);
        assert!(matches!(Link::connect(&addr, None), Err(AirError::Connect { .. })));
        // Something that answers another protocol: an echo of the hello.
        let echo = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = echo.local_addr().unwrap().to_string();
        let server = std::thread::spawn(move || {
            let (mut s, _) = echo.accept().unwrap();
            let mut buf = [0u8; 64];
            let n = s.read(&mut buf).unwrap();
            s.write_all(&buf[..n]).unwrap();
        });
        assert!(matches!(Link::connect(&addr, None), Err(AirError::NotAHub(_))));
        server.join().unwrap();
        // A hub that speaks another version.
        let (addr, other) = fake_hub(|s| {
            let _ = send(s, &Down::Refused { magic: HUB_MAGIC, version: 9, why: Refusal::Version });
        });
        assert_eq!(Link::connect(&addr, None).unwrap_err(), AirError::Version { hub: 9, device: PROTOCOL });
        other.join().unwrap();
        // A hub that welcomes, then goes away.
        let (addr, gone) = fake_hub(|s| {
            let _ = send(s, &Down::Welcome { magic: HUB_MAGIC, version: PROTOCOL, device: 0 });
        });
        let mut link = Link::connect(&addr, None).unwrap();
        gone.join().unwrap();
        assert!(matches!(link.turn(), Err(AirError::HubGone(_))));
        assert_eq!(link.rf_configure(0, &lora()), Err(Errno::Io), "calls fail once the hub is lost");
        assert!(link.error().is_some());
    }

    /// A listener that reads one hello and answers with `answer`.
    fn fake_hub(answer: impl FnOnce(&mut TcpStream) + Send + 'static) -> (String, JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let thread = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let _ = recv::<Up>(&mut s);
            answer(&mut s);
        });
        (addr, thread)
    }
}
