//! The hub: the shared medium, the devices that joined it, and the turns
//! it hands out in simulated time.

use std::collections::BTreeSet;
use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::Duration;

use akira_bridge::modules::rf::{Job, Outcome};
use akira_bridge::{Errno, Instant};

use super::*;
use crate::ble::SimBle;
use crate::rf::{SimAir, radio_id};

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
        self.leave_apps(peer.device, &peer.apps);
    }

    fn leave_apps(&mut self, device: u16, apps: &BTreeSet<u16>) {
        for app in apps {
            self.air.remove(radio_id(device, *app));
            self.ble.remove(radio_id(device, *app));
        }
    }

    /// Answers a radio call from an app of device `device`, whose apps
    /// that used the air are `apps`.
    fn answer(&mut self, device: u16, apps: &mut BTreeSet<u16>, call: Up) -> Option<Reply> {
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
        apps.insert(app);
        let radio = radio_id(device, app);
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
            let Some(reply) = self.answer(peer.device, &mut peer.apps, call) else {
                return Err("protocol error: unexpected message during its turn".into());
            };
            let reply = Down::Reply { deliveries: self.deliveries(), reply };
            send(&mut peer.stream, &reply).map_err(|e| format!("disconnected ({e})"))?;
        }
    }
}

/// How long a hub waits for a device's answers during its turn before
/// it counts the device as gone.
const TURN_TIMEOUT: Duration = Duration::from_secs(60);

/// How often the hub looks for new connections while handshakes run.
const ACCEPT_POLL: Duration = Duration::from_millis(5);

/// The medium simulated devices share: accepts devices, keeps their
/// clocks in lockstep and carries their radios' traffic (see the
/// [module docs](super)).
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

    /// Reads a new connection's hello (at most [`HANDSHAKE`] of waiting):
    /// the device number it asks for, or why it is not a device. Runs on
    /// a thread of its own, so a silent connection delays no one.
    fn hello(stream: &mut TcpStream) -> Result<Option<u16>, String> {
        let _ = stream.set_nodelay(true);
        // Accepted sockets block whatever the listener does.
        stream.set_nonblocking(false).map_err(|e| e.to_string())?;
        stream.set_read_timeout(Some(HANDSHAKE)).map_err(|e| e.to_string())?;
        let hello = recv::<Up>(stream).map_err(|e| format!("no hello: {e}"))?;
        let Up::Hello { magic: MAGIC, version, device } = hello else {
            return Err("not an akira device".into());
        };
        if version != PROTOCOL {
            let _ = send(stream, &Down::Refused { magic: HUB_MAGIC, version: PROTOCOL, why: Refusal::Version });
            return Err(format!("device speaks protocol version {version}, the hub {PROTOCOL}"));
        }
        Ok(device)
    }

    /// Gives a device that said hello its number (the one it asked for,
    /// or the lowest free one), or refuses it.
    fn admit(stream: &mut TcpStream, asked: Option<u16>, peers: &[Peer]) -> Result<u16, String> {
        let taken = |n: u16| peers.iter().any(|p| p.device == n);
        let device = match asked {
            Some(n) if taken(n) => {
                let why = Refusal::DeviceTaken(n);
                let _ = send(stream, &Down::Refused { magic: HUB_MAGIC, version: PROTOCOL, why });
                return Err(format!("device number {n} is taken"));
            }
            Some(n) => n,
            None => (0..=u16::MAX).find(|n| !taken(*n)).ok_or("no device number left")?,
        };
        send(stream, &Down::Welcome { magic: HUB_MAGIC, version: PROTOCOL, device }).map_err(|e| e.to_string())?;
        // From now on a device that does not answer within its turn's
        // timeout leaves the air, rather than stopping everyone's clock.
        stream.set_read_timeout(Some(TURN_TIMEOUT)).map_err(|e| e.to_string())?;
        Ok(device)
    }

    /// Accepts connections until `devices` devices have joined. Each
    /// connection's hello is read on its own thread: peers are served
    /// concurrently, and one that stays silent is dropped after
    /// [`HANDSHAKE`] without holding up the others.
    fn gather(&self, devices: usize, log: &mut impl FnMut(&HubEvent)) -> io::Result<Vec<Peer>> {
        let (tx, rx) = mpsc::channel();
        let mut peers: Vec<Peer> = Vec::new();
        self.listener.set_nonblocking(true)?;
        while peers.len() < devices {
            match self.listener.accept() {
                Ok((mut stream, _)) => {
                    let tx = tx.clone();
                    std::thread::spawn(move || {
                        let hello = Hub::hello(&mut stream);
                        let _ = tx.send((stream, hello));
                    });
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            match rx.recv_timeout(ACCEPT_POLL) {
                Ok((mut stream, Ok(asked))) => match Hub::admit(&mut stream, asked, &peers) {
                    Ok(device) => {
                        log(&HubEvent::Joined { device });
                        peers.push(Peer { device, stream, next: Some(Instant::ZERO), apps: BTreeSet::new() });
                    }
                    Err(reason) => log(&HubEvent::Refused { reason }),
                },
                Ok((_, Err(reason))) => log(&HubEvent::Refused { reason }),
                Err(_) => {}
            }
        }
        Ok(peers)
    }

    /// Waits for `devices` devices, then runs the air until they all
    /// leave, nothing is left to happen, or `limit` (virtual time) passes.
    /// `log` hears joins and leaves. Errors are the listener's.
    pub fn run(self, devices: usize, limit: Option<Duration>, mut log: impl FnMut(&HubEvent)) -> io::Result<HubEnd> {
        let mut peers = self.gather(devices, &mut log)?;
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

/// Runs a hub's side of the protocol over untrusted bytes, for the fuzz
/// target `air_protocol` (not an API): `input` is a sequence of frames,
/// each a little-endian `u16` length and the frame. Each frame is decoded
/// as a device's message and answered as a hub answers it (the reply
/// encoded as it would be sent), and decoded as a hub's message as a
/// device would; time moves a millisecond per frame.
#[doc(hidden)]
pub fn fuzz_frames(input: &[u8]) {
    let mut medium = Medium::default();
    let mut apps = BTreeSet::new();
    let mut rest = input;
    while let [a, b, tail @ ..] = rest {
        let len = usize::from(u16::from_le_bytes([*a, *b])).min(tail.len());
        let (frame, tail) = tail.split_at(len);
        rest = tail;
        if let Ok(call) = postcard::from_bytes::<Up>(frame)
            && let Some(reply) = medium.answer(0, &mut apps, call)
        {
            let reply = Down::Reply { deliveries: medium.deliveries(), reply };
            postcard::to_allocvec(&reply).expect("a reply encodes");
        }
        if let Ok(down) = postcard::from_bytes::<Down>(frame) {
            postcard::to_allocvec(&down).expect("a decoded message encodes again");
        }
        medium.now = medium.now.saturating_add(Duration::from_millis(1));
        medium.settle();
    }
    medium.leave_apps(0, &apps);
}
