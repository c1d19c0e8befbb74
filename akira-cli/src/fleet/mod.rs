//! `akira fleet`: devices, packages and rollouts on an MQTT broker
//! (`docs/fleet.md`). The broker holds everything (devices' states,
//! packages, rollouts' records, all retained); this command is a client
//! that can stop and start again.

mod broker;
mod control;
mod owner;
mod record;
mod restore;
mod rollout;
mod tls;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use akira_caps::Manifest;
use akira_fleet::message::{Phase, State};
use akira_fleet::topic;
use akira_ota::command::DeviceId;
use akira_ota::package::{HEADER_LEN, Header};
use clap::Subcommand;
use sha2::{Digest, Sha256};

use crate::Failure;
pub use broker::{Broker, BrokerArgs};
use record::Command;
pub use tls::TlsArgs;

/// `akira fleet` subcommands.
#[derive(Subcommand)]
pub enum FleetCmd {
    /// List the devices the broker knows: group, online, apps and versions, health, rollout.
    Devices {
        #[command(flatten)]
        broker: BrokerArgs,
        /// Only this group.
        #[arg(long)]
        group: Option<String>,
    },
    /// Store a package in the broker (retained chunks) for devices to fetch.
    Publish {
        #[command(flatten)]
        broker: BrokerArgs,
        /// The signed `.akpkg` (from `akira pack`).
        package: PathBuf,
        /// Bytes per chunk message (devices take up to 4 KiB).
        #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u32).range(512..=4096))]
        chunk: u32,
    },
    /// Roll a package out to a group in waves, gated on the devices' health.
    Rollout(rollout::RolloutArgs),
    /// Show a group's rollout: its record in the broker and its devices' progress.
    Status {
        #[command(flatten)]
        broker: BrokerArgs,
        /// The group.
        #[arg(long, default_value = "default")]
        group: String,
    },
    /// Pause a group's rollout: the running wave finishes, no new wave starts.
    Pause(Control),
    /// Resume a paused rollout.
    Resume(Control),
    /// Abort a group's rollout: withdraw unfinished assignments, then
    /// return the devices that took the version, by signed commands only
    /// (a rollback; with --previous, a downgrade permission and that package).
    Abort {
        #[command(flatten)]
        control: Control,
        /// Sign the commands with this secret key (the devices' trust
        /// policy must give its public key the `rollback` right).
        #[arg(long, value_name = "KEY")]
        key: PathBuf,
        /// Devices that confirmed the version keep no earlier one: give
        /// them this package (the version before, signed as any package)
        /// after a signed one-time downgrade permission (the key needs the
        /// `downgrade` right too).
        #[arg(long, value_name = "PACKAGE")]
        previous: Option<PathBuf>,
        /// Wait this long for the devices' answers (and for each step of
        /// reinstalling --previous).
        #[arg(long, value_name = "DURATION", value_parser = crate::parse_duration, default_value = "60s")]
        wait: Duration,
    },
}

/// Which rollout `pause`, `resume` and `abort` act on.
#[derive(clap::Args)]
pub struct Control {
    #[command(flatten)]
    broker: BrokerArgs,
    /// The group whose rollout it is.
    #[arg(long, default_value = "default")]
    group: String,
}

/// Runs an `akira fleet` command.
pub fn fleet(cmd: FleetCmd) -> Result<u8, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Usage(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async {
        match cmd {
            FleetCmd::Devices { broker, group } => devices(&broker, group.as_deref()).await,
            FleetCmd::Publish { broker, package, chunk } => {
                let mut b = Broker::connect(&broker).await?;
                let pkg = Package::read(&package, chunk)?;
                pkg.publish(&mut b).await?;
                println!(
                    "published {} {} as {} ({} bytes, {} chunks)",
                    pkg.app,
                    pkg.version,
                    hex::encode(pkg.id),
                    pkg.bytes.len(),
                    pkg.chunks()
                );
                Ok(0)
            }
            FleetCmd::Rollout(args) => rollout::rollout(args).await,
            FleetCmd::Status { broker, group } => status(&broker, &group).await,
            FleetCmd::Pause(c) => {
                control::request(&c.broker, &c.group, Command::Pause, None, None, Duration::ZERO).await
            }
            FleetCmd::Resume(c) => {
                control::request(&c.broker, &c.group, Command::Resume, None, None, Duration::ZERO).await
            }
            FleetCmd::Abort { control: c, key, previous, wait } => {
                control::request(&c.broker, &c.group, Command::Abort, Some(&key), previous.as_deref(), wait).await
            }
        }
    })
}

/// A package read from a file, ready to publish.
pub struct Package {
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// SHA-256 of the file: its id.
    pub id: [u8; 32],
    /// The app it holds (from its manifest: devices check it again).
    pub app: akira_caps::manifest::AppName,
    /// Its version.
    pub version: akira_caps::Version,
    /// Bytes per chunk message.
    pub chunk: u32,
}

impl Package {
    /// Reads `path` and its manifest.
    pub fn read(path: &std::path::Path, chunk: u32) -> Result<Package, Failure> {
        let bytes = std::fs::read(path).map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))?;
        let bad = |what: String| Failure::Usage(format!("{}: not a package: {what}", path.display()));
        let header: &[u8; HEADER_LEN] =
            bytes.get(..HEADER_LEN).and_then(|h| h.try_into().ok()).ok_or_else(|| bad("too short".into()))?;
        let header = Header::parse(header).map_err(|e| bad(e.to_string()))?;
        let manifest = bytes
            .get(HEADER_LEN..HEADER_LEN + header.manifest_len as usize)
            .ok_or_else(|| bad("manifest cut short".into()))?;
        let manifest = Manifest::decode(manifest).map_err(|e| bad(e.to_string()))?;
        let id = Sha256::digest(&bytes).into();
        Ok(Package { id, app: manifest.name, version: manifest.version, chunk, bytes })
    }

    /// The encoded assignment of this package for rollout `rollout`.
    pub fn assignment(&self, rollout: u32) -> Result<Vec<u8>, Failure> {
        let assignment = akira_fleet::message::Assignment {
            rollout,
            package: self.id,
            size: self.bytes.len() as u32,
            chunk: self.chunk,
            app: self.app.clone(),
            version: self.version,
        };
        let mut payload = [0u8; 128];
        let n = akira_fleet::message::encode(&assignment, &mut payload).map_err(|e| Failure::Usage(e.to_string()))?;
        Ok(payload[..n].to_vec())
    }

    /// Chunk messages.
    pub fn chunks(&self) -> u32 {
        self.bytes.len().div_ceil(self.chunk as usize) as u32
    }

    /// Stores the package's chunks in the broker, retained.
    pub async fn publish(&self, broker: &mut Broker) -> Result<(), Failure> {
        for (n, data) in self.bytes.chunks(self.chunk as usize).enumerate() {
            broker.publish(topic::chunk(&self.id, n as u32).as_str(), true, data.to_vec()).await?;
        }
        broker.flush().await
    }
}

/// Every device's retained state, by id.
pub async fn read_states(broker: &mut Broker) -> Result<BTreeMap<DeviceId, State>, Failure> {
    broker.subscribe("akira/v1/+/state").await?;
    let mut states = BTreeMap::new();
    // Retained messages come right after the subscription: wait until
    // they stop.
    while let Some((t, payload)) = broker.next(Duration::from_millis(400)).await? {
        absorb(&mut states, &t, &payload);
    }
    Ok(states)
}

/// Takes in a device's state report, if `t` is one.
pub fn absorb(states: &mut BTreeMap<DeviceId, State>, t: &str, payload: &[u8]) {
    if let Some((id, topic::Leaf::State)) = topic::parse_device(t)
        && let Ok(state) = akira_fleet::message::decode::<State>(payload)
    {
        states.insert(id, state);
    }
}

/// A rollout phase as people read it.
pub fn phase_text(phase: Phase) -> String {
    match phase {
        Phase::Downloading { received } => format!("downloading ({received} bytes)"),
        Phase::Trial => "on trial".into(),
        Phase::Confirmed => "confirmed".into(),
        Phase::RolledBack => "rolled back".into(),
        Phase::Refused { code } => format!("refused: {}", akira_ota::protocol::ErrorCode::from_u16(code)),
        Phase::Missing => "package missing in the broker".into(),
    }
}

async fn devices(args: &BrokerArgs, group: Option<&str>) -> Result<u8, Failure> {
    let mut broker = Broker::connect(args).await?;
    let states = read_states(&mut broker).await?;
    println!(
        "{:<16}  {:<12} {:<7} {:<28} {:>6} {:>8} {:>9} {:>8}  rollout",
        "device", "group", "online", "apps", "faults", "restarts", "rollbacks", "uptime"
    );
    let mut shown = 0;
    for (id, s) in states.iter().filter(|(_, s)| group.is_none_or(|g| s.group.as_str() == g)) {
        let apps: Vec<String> = s
            .apps
            .iter()
            .map(|a| format!("{} {}{}", a.name, a.version, if a.confirmed { "" } else { " (trial)" }))
            .collect();
        let rollout = s.rollout.map_or(String::from("-"), |r| format!("{}: {}", r.rollout, phase_text(r.phase)));
        println!(
            "{:<16}  {:<12} {:<7} {:<28} {:>6} {:>8} {:>9} {:>7}s  {rollout}",
            hex::encode(id),
            s.group.as_str(),
            if s.online { "yes" } else { "no" },
            if apps.is_empty() { "-".into() } else { apps.join(", ") },
            s.health.faults,
            s.health.restarts,
            s.health.rollbacks,
            s.health.uptime_s,
        );
        shown += 1;
    }
    println!("{shown} device(s)");
    Ok(0)
}

async fn status(args: &BrokerArgs, group: &str) -> Result<u8, Failure> {
    let mut broker = Broker::connect(args).await?;
    let Some(record) = record::Record::read(&mut broker, group).await? else {
        println!("no rollout recorded for group {group}");
        return Ok(0);
    };
    let states = read_states(&mut broker).await?;
    println!(
        "rollout {} of {} {} to group {group}: {} (wave {} of {})",
        record.rollout,
        record.app,
        record.version,
        record.state,
        record.wave + 1,
        record.waves.len()
    );
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for s in states.values().filter(|s| s.group.as_str() == group) {
        let text = match s.rollout.filter(|r| r.rollout == record.rollout) {
            Some(r) => phase_text(r.phase),
            None => "not assigned".into(),
        };
        let key = if text.starts_with("downloading") { "downloading".into() } else { text };
        *counts.entry(key).or_default() += 1;
    }
    for (what, n) in counts {
        println!("  {n:>5}  {what}");
    }
    Ok(0)
}
