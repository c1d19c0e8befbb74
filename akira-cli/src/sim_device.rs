//! `akira sim-device`: a simulated device with file-backed flash that
//! takes pushed apps over TCP, installs them in the OTA store and runs
//! them on the simulated board.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use akira_bridge::Board;
use akira_bridge::OtaMailbox;
use akira_device::{Device, DeviceConfig, Note};
use akira_ota::block_on;
use akira_ota::command::DeviceId;
use akira_ota::package::{Rights, TrustPolicy, TrustedKey};
use akira_ota::store::{BlockingFlash, Region, Store, StoreConfig};
use akira_ota::testing::FileFlash;
use akira_sandbox::Event;
use akira_sim::{OTA_APPS, SimBoard, What};
use clap::Args;

use crate::run::load_policy;
use crate::{Failure, parse_duration};

type Flash = FileFlash<4, 4096>;

/// Arguments of `akira sim-device`.
#[derive(Args)]
pub struct SimDeviceArgs {
    /// Address to listen on for `akira push` and `akira device`.
    #[arg(long, value_name = "HOST:PORT", required_unless_present = "mqtt", conflicts_with = "mqtt")]
    tcp: Option<String>,
    /// The flash image file (created erased if missing). With `--mqtt`,
    /// each device's flash is in memory.
    #[arg(long, value_name = "FILE", required_unless_present = "mqtt")]
    flash: Option<PathBuf>,
    #[command(flatten)]
    pub fleet: crate::sim_fleet::FleetArgs,
    /// Trust this public key (from `akira keygen`), repeatable. After a
    /// colon, what it may do (`release.pub:install,remove`; names:
    /// install, take-over, remove, rollback, confirm, downgrade, policy,
    /// list, skip-validation, or owner / all). Default: owner (install and
    /// every management command).
    #[arg(long, value_name = "KEY.pub[:RIGHTS]")]
    trust_key: Vec<String>,
    /// This device's id (16 hex digits), which signed commands name.
    /// Default: derived from the flash file's path.
    #[arg(long, value_name = "HEX")]
    device_id: Option<String>,
    /// Answer the app list only to a signed request (`akira device list --key`).
    #[arg(long)]
    list_needs_signature: bool,
    /// Also take packages in the old format 1 (wasm authenticated only after its last byte).
    #[arg(long)]
    accept_v1: bool,
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
    pub(crate) slots: u32,
    /// Bytes per slot, in KiB.
    #[arg(long, default_value_t = 128)]
    slot_kib: u32,
    /// Let packages at or below an app's anti-rollback floor in (device owner only).
    #[arg(long)]
    allow_downgrade: bool,
    /// Boots a version on trial may run in, counting the one that installed
    /// it; at the boot after the last, an unconfirmed version is reverted.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..))]
    max_trial_boots: u8,
}

/// Turns what the device did into board records (printed as they happen).
pub(crate) fn record(board: &SimBoard, note: Note<'_>) {
    let note_text = |text: String| board.record(None, What::Note(text));
    match note {
        Note::Started { name, version, trial } => {
            note_text(format!("{name} {version} started{}", if trial { ", on trial" } else { "" }))
        }
        Note::Installed { name, version, bytes, validated } => note_text(format!(
            "installed {name} {version} ({bytes} bytes{})",
            if validated { "" } else { ", from a trusted signer: not validated" }
        )),
        Note::Confirmed { name } => note_text(format!("{name}: confirmed")),
        Note::RolledBack { name, to } => note_text(format!("{name}: rolled back to {to}")),
        Note::TrialExpired { name, version } => {
            note_text(format!("{name} {version}: still on trial at this boot, not confirmed: reverting"))
        }
        Note::Removed { name } => note_text(format!("removed {name}")),
        Note::Corrupt { name, version } => note_text(format!("{name} {version}: image corrupt in flash")),
        Note::NotStarted { name, error } => note_text(format!("{name}: not started: {error}")),
        Note::NativeCode { name } => note_text(format!(
            "{name}: native code from a signer trusted with it (a Cortex-M device runs it; here it runs interpreted)"
        )),
        Note::Store(e) => note_text(format!("store: {e}")),
        Note::App { app, event } => {
            let what = match event {
                Event::Started => What::Started,
                Event::Exited(code) => What::Exited(*code),
                Event::Faulted(fault) => What::Faulted(fault.to_string()),
                Event::Restarting(at) => What::Restarting(*at),
                Event::CrashLoop { faults } => What::CrashLoop(*faults),
                Event::RestartFailed(e) => What::Faulted(format!("restart failed: {e}")),
                _ => return,
            };
            board.record(Some(app), what);
        }
        _ => {}
    }
}

type SimDevice<'t> = Device<'t, SimBoard, BlockingFlash<Flash>>;

/// The apps' `akira:ota` status and requests, between the board and the
/// device loop.
static OTA: OtaMailbox<OTA_APPS> = OtaMailbox::new();

/// Serves one client's bytes; `false` when the client is gone.
fn serve(client: &mut TcpStream, device: &mut SimDevice<'_>, board: &SimBoard) -> bool {
    let mut buf = [0u8; 2048];
    let n = match client.read(&mut buf) {
        Ok(0) => return false,
        Ok(n) => n,
        Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
        Err(_) => return false,
    };
    let mut data = &buf[..n];
    while !data.is_empty() {
        let (used, reply) = block_on(device.receive(data, |note| record(board, note)));
        data = &data[used..];
        if let Some(frame) = reply {
            if client.set_nonblocking(false).is_err() || client.write_all(&frame).is_err() {
                return false;
            }
            let _ = client.set_nonblocking(true);
        }
    }
    true
}

/// The keys `--trust-key` names, with their rights.
pub(crate) type Keys = Vec<([u8; 32], String, Rights)>;

/// Reads the policy and the keys the device trusts.
pub(crate) fn trust_args(args: &SimDeviceArgs) -> Result<(akira_caps::Policy, Keys), Failure> {
    let policy = load_policy(args.policy.as_deref())?;
    let mut keys = Vec::new();
    for entry in &args.trust_key {
        let (path, rights) = match entry.rsplit_once(':') {
            Some((path, rights)) if !rights.contains(['/', '\\']) => (path, Some(rights)),
            _ => (entry.as_str(), None),
        };
        let rights = match rights {
            None => Rights::OWNER,
            Some(text) => Rights::parse(text).map_err(|bad| {
                Failure::Usage(format!("--trust-key {entry}: unknown right `{bad}` (see akira sim-device --help)"))
            })?,
        };
        let path = std::path::Path::new(path);
        let name = path.file_stem().map_or("key".into(), |s| s.to_string_lossy().into_owned());
        keys.push((crate::ota::read_key(path)?, name, rights));
    }
    if keys.is_empty() && !args.allow_unsigned {
        return Err(Failure::Usage(
            "trust a key (--trust-key KEY.pub) or allow unsigned packages (--allow-unsigned)".into(),
        ));
    }
    Ok((policy, keys))
}

/// The device configuration the arguments ask for, for device `id`.
pub(crate) fn device_config(args: &SimDeviceArgs, id: DeviceId) -> DeviceConfig {
    DeviceConfig {
        confirm_after: args.confirm_after,
        allow_downgrade: args.allow_downgrade,
        max_trial_boots: args.max_trial_boots,
        device: id,
        ..DeviceConfig::default()
    }
}

/// The store's sectors (4 KiB each): two for the journal, then the slots.
pub(crate) fn sectors(args: &SimDeviceArgs) -> u32 {
    2 + args.slots * args.slot_kib.div_ceil(4).max(1)
}

/// The trust policy over `keys`.
pub(crate) fn trust_policy<'a>(
    args: &SimDeviceArgs,
    policy: &'a akira_caps::Policy,
    trusted: &'a [TrustedKey<'a>],
) -> TrustPolicy<'a> {
    TrustPolicy {
        keys: trusted,
        unsigned: args.allow_unsigned.then_some(policy),
        accept_v1: args.accept_v1,
        list_needs_signature: args.list_needs_signature,
    }
}

/// Runs the simulated device until the process is stopped.
pub fn sim_device(args: SimDeviceArgs) -> Result<u8, Failure> {
    if let Some(mqtt) = args.fleet.mqtt.clone() {
        return crate::sim_fleet::run(&args, &mqtt);
    }
    let (Some(tcp), Some(flash_path)) = (args.tcp.clone(), args.flash.clone()) else {
        return Err(Failure::Usage("give --tcp and --flash, or --mqtt".into()));
    };
    let (policy, keys) = trust_args(&args)?;
    let trusted: Vec<TrustedKey<'_>> = keys
        .iter()
        .map(|(k, n, rights)| TrustedKey { name: n, public_key: *k, policy: &policy, rights: *rights })
        .collect();
    let trust = trust_policy(&args, &policy, &trusted);
    let device_id: DeviceId = match &args.device_id {
        Some(text) => hex::decode(text.trim())
            .ok()
            .and_then(|b| DeviceId::try_from(b).ok())
            .ok_or_else(|| Failure::Usage(format!("--device-id {text}: expected 16 hex digits")))?,
        None => {
            use sha2::{Digest, Sha256};
            let path = std::fs::canonicalize(&flash_path).unwrap_or_else(|_| flash_path.clone());
            let hash = Sha256::digest(path.to_string_lossy().as_bytes());
            hash[..8].try_into().unwrap_or_default()
        }
    };

    let sectors = sectors(&args);
    let flash = Flash::open(&flash_path, sectors as usize)
        .map_err(|e| Failure::Usage(format!("flash file {}: {e}", flash_path.display())))?;
    let store = block_on(Store::open(
        BlockingFlash(flash),
        Region { offset: 0, size: sectors * 4096 },
        StoreConfig { meta_sectors: 2, slots: args.slots },
    ))
    .map_err(|e| Failure::Usage(format!("store: {e}")))?;

    let board = SimBoard::real_time();
    board.set_sink(|record| println!("{record}"));
    board.set_ota(&OTA);
    let config = device_config(&args, device_id);
    let runtime = akira_sim::runtime(policy.clone());
    let mut device: SimDevice<'_> =
        block_on(Device::new(store, runtime, board.clone(), &trust, config, |note| record(&board, note)));
    device.serve_app_requests(&OTA);

    let listener = TcpListener::bind(&tcp).map_err(|e| Failure::Usage(format!("cannot listen on {tcp}: {e}")))?;
    listener.set_nonblocking(true).map_err(|e| Failure::Usage(e.to_string()))?;
    let c = device.store().capacity();
    let address = listener.local_addr().map_or(tcp.clone(), |a| a.to_string());
    eprintln!(
        "akira sim-device: listening on {address}; device {}; flash {} ({} of {} slots free, {} per slot); {} apps installed",
        hex::encode(device_id),
        flash_path.display(),
        c.free_slots,
        c.slots,
        crate::describe::bytes(c.slot_bytes.into()),
        c.apps
    );
    let mut client: Option<TcpStream> = None;
    let tick = Duration::from_millis(10);
    loop {
        // One host at a time; a new connection replaces a silent old one
        // (a host that vanished without closing, as links do).
        if let Ok((stream, peer)) = listener.accept() {
            let _ = stream.set_nonblocking(true);
            let _ = stream.set_nodelay(true);
            if client.is_some() {
                board.record(None, What::Note("host replaced by a new connection".into()));
            }
            board.record(None, What::Note(format!("host {peer} connected")));
            device.link_reset();
            client = Some(stream);
        }
        if let Some(stream) = client.as_mut()
            && !serve(stream, &mut device, &board)
        {
            let held =
                device.transfer_progress().map_or(String::new(), |(got, of)| format!(" (holding {got} of {of} bytes)"));
            board.record(None, What::Note(format!("host disconnected{held}")));
            client = None;
        }
        let now = board.now();
        let round = block_on(device.round(now, |note| record(&board, note)));
        if !round.busy {
            // Wait for the next deadline, but look at the network every tick.
            let until = round.next_wake.map_or(now.saturating_add(tick), |w| w.min(now.saturating_add(tick)));
            board.advance_to(until);
        }
    }
}
