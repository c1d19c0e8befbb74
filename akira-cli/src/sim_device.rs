//! `akira sim-device`: a simulated device with file-backed flash that
//! takes pushed apps over TCP, installs them in the OTA store and runs
//! them on the simulated board.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use akira_bridge::{Board, Instant};
use akira_caps::Policy;
use akira_caps::manifest::AppName;
use akira_ota::frame::{self, FrameDecoder, MAX_FRAME};
use akira_ota::package::{Accepted, TrustPolicy, TrustedKey};
use akira_ota::protocol::{Detail, ErrorCode, Request, Response};
use akira_ota::server::{Outcome, Session, Verifier};
use akira_ota::store::{BlockingFlash, BlockingStore, Region, Staging, Store, StoreConfig};
use akira_ota::testing::FileFlash;
use akira_sandbox::{AppId, RestartPolicy, Runtime};
use akira_sim::{Record, SimBoard, Simulation, What};
use clap::Args;

use crate::run::load_policy;
use crate::{Failure, parse_duration};

type Flash = FileFlash<4, 4096>;

/// Arguments of `akira sim-device`.
#[derive(Args)]
pub struct SimDeviceArgs {
    /// Address to listen on.
    #[arg(long, value_name = "HOST:PORT")]
    tcp: String,
    /// The flash image file (created erased if missing).
    #[arg(long, value_name = "FILE")]
    flash: PathBuf,
    /// Trust packages signed by this public key (from `akira keygen`);
    /// repeatable.
    #[arg(long, value_name = "KEY.pub")]
    trust_key: Vec<PathBuf>,
    /// Development: also take unsigned packages (granted at most --policy).
    #[arg(long)]
    allow_unsigned: bool,
    /// What apps may be granted (per signer); default: every built-in capability.
    #[arg(long, value_name = "POLICY_TOML")]
    policy: Option<PathBuf>,
    /// Confirm a version on trial after it ran this long without a fault.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "10s")]
    confirm_after: Duration,
    /// App slots (each holds one version of one app).
    #[arg(long, default_value_t = 4)]
    slots: u32,
    /// Bytes per slot, in KiB.
    #[arg(long, default_value_t = 128)]
    slot_kib: u32,
    /// Let packages at or below an app's anti-rollback floor in (device owner only).
    #[arg(long)]
    allow_downgrade: bool,
}

/// The install-time check of the simulated firmware: the sandbox's full
/// load (validation, grant under the signer's policy, imports), and the
/// wasm's embedded manifest must be the package's.
struct SandboxCheck {
    runtime: Runtime<SimBoard>,
    policy: Policy,
}

fn detail(text: impl std::fmt::Display) -> Detail {
    let mut d = Detail::new();
    for ch in text.to_string().chars() {
        if d.push(ch).is_err() {
            break;
        }
    }
    d
}

impl Verifier<BlockingFlash<Flash>> for SandboxCheck {
    async fn verify(
        &mut self,
        store: &mut Store<BlockingFlash<Flash>>,
        staging: &mut Staging,
        app: &Accepted,
    ) -> Result<(), Detail> {
        let mut wasm = vec![0; staging.len() as usize];
        store.read_staged(staging, 0, &mut wasm).await.map_err(detail)?;
        let loaded = self.runtime.load_with_policy(&wasm, &self.policy).map_err(detail)?;
        if loaded.manifest() != &app.manifest {
            return Err(detail("the manifest inside the wasm differs from the package's"));
        }
        Ok(())
    }
}

struct Running {
    id: AppId,
    healthy_since: Instant,
}

struct Device {
    store: BlockingStore<Flash>,
    sim: Simulation,
    policy: Policy,
    running: HashMap<AppName, Running>,
    seen_records: usize,
    confirm_after: Duration,
}

impl Device {
    fn note(&self, text: String) {
        self.sim.board().record(None, What::Note(text));
    }

    /// Starts (or restarts) `name`'s active version.
    fn start(&mut self, name: &AppName) {
        self.stop(name);
        let Some(app) = self.store.app(name).cloned() else { return };
        match self.store.verify(&app.active) {
            Ok(true) => {}
            Ok(false) | Err(_) => {
                self.note(format!("{name} {}: image corrupt in flash", app.active.version));
                if app.previous.is_some() && self.store.rollback(name).is_ok() {
                    self.note(format!("{name}: rolled back"));
                    return self.start(name);
                }
                return;
            }
        }
        let mut wasm = vec![0; app.active.len as usize];
        if let Err(e) = self.store.read(&app.active, 0, &mut wasm) {
            return self.note(format!("{name}: cannot read its image: {e}"));
        }
        let loaded = match self.sim.scheduler().runtime().load_with_policy(&wasm, &self.policy) {
            Ok(loaded) => loaded,
            Err(e) => return self.note(format!("{name}: refused: {e}")),
        };
        match self.sim.spawn(loaded, RestartPolicy::default()) {
            Ok(id) => {
                let healthy_since = self.sim.board().now();
                let trial = if app.confirmed { "" } else { ", on trial" };
                self.note(format!("{name} {} started{trial}", app.active.version));
                self.running.insert(name.clone(), Running { id, healthy_since });
            }
            Err(e) => self.note(format!("{name}: cannot start: {e}")),
        }
    }

    fn stop(&mut self, name: &AppName) {
        if let Some(r) = self.running.remove(name) {
            self.sim.remove(r.id);
        }
    }

    fn apply(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Installed { name, image } => {
                self.note(format!("installed {name} {} ({} bytes)", image.version, image.len));
                self.start(&name);
            }
            Outcome::RolledBack { name, image } => {
                self.note(format!("{name}: rolled back to {}", image.version));
                self.start(&name);
            }
            Outcome::Removed { name } => {
                self.stop(&name);
                self.note(format!("removed {name}"));
            }
            Outcome::Confirmed { name } => self.note(format!("{name}: confirmed")),
        }
    }

    /// Acts on what the apps did: a crash loop of a version on trial rolls
    /// it back; a fault restarts the healthy clock; a healthy run confirms.
    fn supervise(&mut self) {
        let records: Vec<Record> = self.sim.board().records_from(self.seen_records);
        self.seen_records += records.len();
        for record in records {
            let Some(app) = record.app.as_deref().and_then(|a| AppName::try_from(a).ok()) else { continue };
            match record.what {
                What::Faulted(_) => {
                    if let Some(r) = self.running.get_mut(&app) {
                        r.healthy_since = Instant::MAX;
                    }
                }
                What::Started => {
                    if let Some(r) = self.running.get_mut(&app) {
                        r.healthy_since = record.at;
                    }
                }
                What::CrashLoop(_) => {
                    let trial = self.store.app(&app).is_some_and(|a| !a.confirmed && a.previous.is_some());
                    if trial {
                        match self.store.rollback(&app) {
                            Ok(image) => self.apply(Outcome::RolledBack { name: app, image }),
                            Err(e) => self.note(format!("{app}: rollback failed: {e}")),
                        }
                    }
                }
                _ => {}
            }
        }
        let now = self.sim.board().now();
        let due: Vec<AppName> = self
            .running
            .iter()
            .filter(|(name, r)| {
                r.healthy_since != Instant::MAX
                    && now.saturating_since(r.healthy_since) >= self.confirm_after
                    && self.store.app(name).is_some_and(|a| !a.confirmed)
            })
            .map(|(name, _)| name.clone())
            .collect();
        for name in due {
            match self.store.confirm(&name) {
                Ok(()) => self.note(format!("{name}: healthy for {:?}, confirmed", self.confirm_after)),
                Err(e) => self.note(format!("{name}: confirm failed: {e}")),
            }
        }
    }
}

/// Serves one client's bytes; `false` when the client is gone.
fn serve(
    client: &mut TcpStream,
    decoder: &mut FrameDecoder<MAX_FRAME>,
    session: &mut Session<'_>,
    device: &mut Device,
    check: &mut SandboxCheck,
) -> bool {
    let mut buf = [0u8; 2048];
    let n = match client.read(&mut buf) {
        Ok(0) => return false,
        Ok(n) => n,
        Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
        Err(_) => return false,
    };
    let mut data = &buf[..n];
    while !data.is_empty() {
        let (used, frame_done) = decoder.push(data);
        data = &data[used..];
        let response = match frame_done {
            None => continue,
            Some(Err(e)) => (Response::error(ErrorCode::BadFrame, &e.to_string()), None),
            Some(Ok(_)) => match frame::decode::<Request<'_>>(decoder.frame()) {
                Err(e) => (Response::error(ErrorCode::BadFrame, &e.to_string()), None),
                Ok(request) => akira_ota::block_on(session.handle(request, device.store.as_async(), check)),
            },
        };
        let mut out = [0u8; MAX_FRAME];
        let Ok(len) = frame::encode(&response.0, &mut out) else { return false };
        if client.set_nonblocking(false).is_err() || client.write_all(&out[..len]).is_err() {
            return false;
        }
        let _ = client.set_nonblocking(true);
        if let Some(outcome) = response.1 {
            device.apply(outcome);
        }
    }
    true
}

/// Runs the simulated device until the process is stopped.
pub fn sim_device(args: SimDeviceArgs) -> Result<u8, Failure> {
    let policy = load_policy(args.policy.as_deref())?;
    let keys: Vec<[u8; 32]> = args.trust_key.iter().map(|p| crate::ota::read_key(p)).collect::<Result<_, _>>()?;
    let names: Vec<String> = args
        .trust_key
        .iter()
        .map(|p| p.file_stem().map_or("key".into(), |s| s.to_string_lossy().into_owned()))
        .collect();
    let trusted: Vec<TrustedKey<'_>> =
        keys.iter().zip(&names).map(|(k, n)| TrustedKey { name: n, public_key: *k, policy: &policy }).collect();
    if trusted.is_empty() && !args.allow_unsigned {
        return Err(Failure::Usage(
            "trust a key (--trust-key KEY.pub) or allow unsigned packages (--allow-unsigned)".into(),
        ));
    }
    let trust = TrustPolicy { keys: &trusted, unsigned: args.allow_unsigned.then_some(&policy) };

    let slot_sectors = args.slot_kib.div_ceil(4).max(1);
    let sectors = 2 + args.slots * slot_sectors;
    let flash = Flash::open(&args.flash, sectors as usize)
        .map_err(|e| Failure::Usage(format!("flash file {}: {e}", args.flash.display())))?;
    let store = BlockingStore::open(
        flash,
        Region { offset: 0, size: sectors * 4096 },
        StoreConfig { meta_sectors: 2, slots: args.slots },
    )
    .map_err(|e| Failure::Usage(format!("store: {e}")))?;

    let board = SimBoard::real_time();
    board.set_sink(|record| println!("{record}"));
    let sim = Simulation::new(akira_sim::runtime(policy.clone()), board);
    let mut check = SandboxCheck { runtime: akira_sim::runtime(policy.clone()), policy: policy.clone() };
    let mut device = Device {
        store,
        sim,
        policy: policy.clone(),
        running: HashMap::new(),
        seen_records: 0,
        confirm_after: args.confirm_after,
    };
    let installed: Vec<AppName> = device.store.apps().iter().map(|a| a.name.clone()).collect();
    for name in &installed {
        device.start(name);
    }

    let listener =
        TcpListener::bind(&args.tcp).map_err(|e| Failure::Usage(format!("cannot listen on {}: {e}", args.tcp)))?;
    listener.set_nonblocking(true).map_err(|e| Failure::Usage(e.to_string()))?;
    let c = device.store.capacity();
    let address = listener.local_addr().map_or(args.tcp.clone(), |a| a.to_string());
    eprintln!(
        "akira sim-device: listening on {address}; flash {} ({} of {} slots free, {} per slot); {} apps installed",
        args.flash.display(),
        c.free_slots,
        c.slots,
        crate::describe::bytes(c.slot_bytes.into()),
        c.apps
    );
    let mut session = Session::new(&trust, args.allow_downgrade);
    let mut client: Option<(TcpStream, FrameDecoder<MAX_FRAME>)> = None;
    let tick = Duration::from_millis(10);
    loop {
        // One host at a time; a new connection replaces a silent old one
        // (a host that vanished without closing, as links do).
        if let Ok((stream, peer)) = listener.accept() {
            let _ = stream.set_nonblocking(true);
            let _ = stream.set_nodelay(true);
            if client.is_some() {
                device.note("host replaced by a new connection".into());
            }
            device.note(format!("host {peer} connected"));
            client = Some((stream, FrameDecoder::new()));
        }
        if let Some((stream, decoder)) = client.as_mut()
            && !serve(stream, decoder, &mut session, &mut device, &mut check)
        {
            let held = session
                .transfer_progress()
                .map_or(String::new(), |(got, of)| format!(" (holding {got} of {of} bytes)"));
            device.note(format!("host disconnected{held}"));
            client = None;
        }
        let until = device.sim.board().now().saturating_add(tick);
        // With no app to run (none, or all waiting for input) the run
        // returns at once: wait a tick for the network instead.
        if device.sim.run(Some(Duration::from_micros(until.as_micros()))) != akira_sim::End::TimeLimit {
            std::thread::sleep(tick);
        }
        device.supervise();
    }
}
