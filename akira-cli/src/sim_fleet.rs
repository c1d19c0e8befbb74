//! `akira sim-device --mqtt HOST:PORT --count N`: N simulated devices in
//! one process, each with its own flash (in memory), board, device loop and
//! fleet agent (`akira-fleet`, the agent firmware runs) with its own MQTT
//! connection to the broker. One thread runs them all: 200 devices fit a
//! 2-core machine.

use std::rc::Rc;
use std::time::Duration;

use akira_bridge::Board;
use akira_device::{Device, Note};
use akira_fleet::topic::device_name;
use akira_fleet::{Agent, AgentConfig};
use akira_ota::command::DeviceId;
use akira_ota::package::TrustedKey;
use akira_ota::store::{BlockingFlash, Region, Store, StoreConfig};
use akira_ota::testing::SimFlash;
use akira_sandbox::Event;
use akira_sim::SimBoard;
use clap::Args;
use embedded_io_adapters::tokio_1::FromTokio;
use rustls::pki_types::ServerName;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsConnector;

use crate::Failure;
use crate::fleet::TlsArgs;
use crate::sim_device::{SimDeviceArgs, device_config, sectors, trust_args, trust_policy};

/// `akira sim-device`'s fleet arguments.
#[derive(Args)]
pub struct FleetArgs {
    /// Connect to this MQTT broker as fleet devices (`akira fleet`)
    /// instead of listening on `--tcp`.
    #[arg(long, value_name = "HOST:PORT")]
    pub mqtt: Option<String>,
    /// How many devices to simulate (with `--mqtt`).
    #[arg(long, default_value_t = 1, requires = "mqtt")]
    pub count: u32,
    /// The devices' group (with `--mqtt`).
    #[arg(long, default_value = "default", requires = "mqtt")]
    pub group: String,
    /// Device ids are the first 8 bytes of `SHA-256("<seed>/<n>")` (with `--mqtt`).
    #[arg(long, default_value = "sim", requires = "mqtt")]
    pub id_seed: String,
    /// The broker's user name (with `--mqtt`).
    #[arg(long, requires = "mqtt")]
    pub mqtt_user: Option<String>,
    /// The broker's password (with `--mqtt`).
    #[arg(long, requires = "mqtt_user")]
    pub mqtt_password: Option<String>,
    /// MQTT keep-alive: the broker marks a silent device offline after 1.5 times this.
    #[arg(long, value_name = "DURATION", value_parser = crate::parse_duration, default_value = "10s")]
    pub keep_alive: Duration,
    /// TLS to the broker (with `--mqtt`): every simulated device presents
    /// the same client certificate (a product gives each its own).
    #[command(flatten)]
    pub tls: TlsArgs,
}

/// Simulated device `n`'s id.
pub fn sim_device_id(seed: &str, n: u32) -> DeviceId {
    let hash = Sha256::digest(format!("{seed}/{n}").as_bytes());
    let mut id = [0u8; 8];
    id.copy_from_slice(&hash[..8]);
    id
}

/// Prints what a device did that a fleet operator cares about.
fn note(name: &str, note: Note<'_>) {
    match note {
        Note::Installed { name: app, version, .. } => println!("{name}: installed {app} {version}, on trial"),
        Note::Confirmed { name: app } => println!("{name}: {app} confirmed"),
        Note::RolledBack { name: app, to } => println!("{name}: {app} rolled back to {to}"),
        Note::Removed { name: app } => println!("{name}: {app} removed"),
        Note::NotStarted { name: app, error } => println!("{name}: {app} not started: {error}"),
        Note::Store(e) => println!("{name}: store: {e}"),
        Note::App { app, event: Event::CrashLoop { faults } } => {
            println!("{name}: {} crash-looping ({faults} faults)", app.name)
        }
        _ => {}
    }
}

/// Runs `--count` devices until the process is stopped.
pub fn run(args: &SimDeviceArgs, broker: &str) -> Result<u8, Failure> {
    let (policy, keys) = trust_args(args)?;
    // The devices live as long as the process: their trust is leaked once.
    let policy: &'static akira_caps::Policy = Box::leak(Box::new(policy));
    let keys: &'static crate::sim_device::Keys = Box::leak(Box::new(keys));
    let trusted: &'static [TrustedKey<'static>] = Box::leak(
        keys.iter()
            .map(|(k, n, rights)| TrustedKey { name: n, public_key: *k, policy, rights: *rights })
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    );
    let trust = Box::leak(Box::new(trust_policy(args, policy, trusted)));
    if akira_fleet::message::Group::try_from(args.fleet.group.as_str()).is_err() {
        return Err(Failure::Usage(format!("--group {}: at most 32 bytes", args.fleet.group)));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Usage(format!("cannot start the runtime: {e}")))?;
    let local = tokio::task::LocalSet::new();
    let fleet = &args.fleet;
    let broker: Rc<str> = broker.into();
    eprintln!(
        "akira sim-device: {} devices in group {} connecting to {broker} (ids from seed {:?})",
        fleet.count, fleet.group, fleet.id_seed
    );
    let sectors = sectors(args);
    let tls = match fleet.tls.client_config()? {
        Some(config) => {
            let host = broker.rsplit_once(':').map_or(&*broker, |(host, _)| host);
            let name = ServerName::try_from(host.to_string())
                .map_err(|_| Failure::Usage(format!("--mqtt {broker}: not a host name or address for TLS")))?;
            Some((TlsConnector::from(config), name))
        }
        None => None,
    };
    for n in 0..fleet.count {
        let id = sim_device_id(&fleet.id_seed, n);
        let config = device_config(args, id);
        let sim = SimDevice {
            id,
            broker: broker.clone(),
            group: fleet.group.clone(),
            user: fleet.mqtt_user.clone(),
            password: fleet.mqtt_password.clone(),
            keep_alive: fleet.keep_alive,
            tls: tls.clone(),
            slots: args.slots,
            sectors,
        };
        local.spawn_local(sim.run(trust, policy.clone(), config));
    }
    local.block_on(&runtime, std::future::pending::<()>());
    Ok(0)
}

/// One simulated fleet device.
struct SimDevice {
    id: DeviceId,
    broker: Rc<str>,
    group: String,
    user: Option<String>,
    password: Option<String>,
    keep_alive: Duration,
    /// TLS over the TCP connection, checked against this server name.
    tls: Option<(TlsConnector, ServerName<'static>)>,
    slots: u32,
    sectors: u32,
}

/// A connection to the broker, plain or TLS.
trait Stream: AsyncRead + AsyncWrite + Unpin {}
impl<T: AsyncRead + AsyncWrite + Unpin> Stream for T {}

impl SimDevice {
    async fn run(
        self,
        trust: &'static akira_ota::package::TrustPolicy<'static>,
        policy: akira_caps::Policy,
        config: akira_device::DeviceConfig,
    ) {
        let name = device_name(&self.id);
        let flash = SimFlash::<4, 4096>::new(self.sectors as usize);
        let region = Region { offset: 0, size: self.sectors * 4096 };
        let store =
            match Store::open(BlockingFlash(flash), region, StoreConfig { meta_sectors: 2, slots: self.slots }).await {
                Ok(store) => store,
                Err(e) => return println!("{name}: store: {e}"),
            };
        let board = SimBoard::real_time();
        let mut device =
            Device::new(store, akira_sim::runtime(policy), board.clone(), trust, config, |n| note(&name, n)).await;
        let Ok(mut agent) = Agent::new(&self.group) else { return };
        let agent_config = AgentConfig {
            group: &self.group,
            user: self.user.as_deref(),
            password: self.password.as_deref().map(str::as_bytes),
            keep_alive: self.keep_alive,
            ..AgentConfig::default()
        };
        // Devices start together: spread their first connections a little.
        let jitter = Duration::from_millis(u64::from(self.id[0]) * 4);
        tokio::time::sleep(jitter).await;
        loop {
            match self.connect().await {
                Ok(stream) => {
                    let idle = |wake: Option<akira_bridge::Instant>| {
                        let now = board.now();
                        let wait = wake.map_or(Duration::from_millis(100), |w| w.saturating_since(now));
                        tokio::time::sleep(wait.min(Duration::from_millis(100)))
                    };
                    let result =
                        agent.run(&mut device, FromTokio::new(stream), &agent_config, idle, |n| note(&name, n)).await;
                    if let Err(e) = result {
                        println!("{name}: {e}; reconnecting");
                    }
                }
                Err(e) => println!("{name}: cannot reach {}: {e}; retrying", self.broker),
            }
            tokio::time::sleep(Duration::from_millis(500) + jitter).await;
        }
    }

    /// A TCP connection to the broker, with TLS over it if asked for.
    async fn connect(&self) -> std::io::Result<Box<dyn Stream>> {
        let stream = tokio::net::TcpStream::connect(&*self.broker).await?;
        let _ = stream.set_nodelay(true);
        Ok(match &self.tls {
            Some((connector, name)) => Box::new(connector.connect(name.clone(), stream).await?),
            None => Box::new(stream),
        })
    }
}
