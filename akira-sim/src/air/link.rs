//! A device's end of the air: [`Link`], and the [`Turn`]s the hub gives it.

use std::fmt;
use std::io::{self};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};

use akira_bridge::modules::rf::{Job, Outcome};
use akira_bridge::{BleJob, Errno, Instant, LoraConfig, PacketInfo, ScanReport};

use super::*;

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
    pub(super) stream: TcpStream,
    device: u16,
    /// The hub's delivery count in its last message.
    deliveries: u64,
    /// Set when the hub was lost; calls then fail at once.
    failed: Option<AirError>,
    pub(super) left: bool,
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
    pub(super) fn call(&mut self, msg: Up) -> Option<Reply> {
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
