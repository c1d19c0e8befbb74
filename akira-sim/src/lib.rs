#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod adc;
pub mod air;
pub mod ble;
mod board;
pub mod display;
pub mod hid;
pub mod i2c;
pub mod net;
pub mod pwm;
mod record;
pub mod rf;
pub mod rng;
pub mod sensor;
mod simulation;
pub mod spi;
pub mod uart;

// The critical-section implementation the bridge's broker and the
// `akira:ota` mailbox need on a host.
use critical_section as _;

pub use board::{Clock, INPUTS, OTA_APPS, PINS, RECORDS_KEPT, STORAGE_SECTORS, SimBoard, SimPin};
pub use record::{Record, What};
pub use simulation::{CPU_FUEL_PER_US, End, PRESS, Simulation};

use akira_bridge::{AppModule, AppTable, Bridge, IpcBroker, IpcModule, NetModule, NetSockets};
use akira_caps::Policy;
use akira_sandbox::{Runtime, RuntimeConfig};

/// The simulator's IPC broker: the default [`IpcBroker`] (8 apps, 16
/// topics, mailboxes of 4 messages of at most 64 bytes).
pub type SimBroker = IpcBroker;

/// The simulator's app table for `akira:app` (16 apps).
pub type SimApps = AppTable<16>;

/// The bridge modules the simulated board offers: every module of
/// `akira-bridge` ([`Bridge::with_all`]), `akira:rf` on the simulated air
/// ([`rf`]), `akira:ble` on the simulated BLE air ([`ble`]), `akira:ipc` over a broker of
/// its own ([`SimBroker`], one per bridge, so simulations never share
/// mailboxes), `akira:net` over the host's sockets ([`net`]) and
/// `akira:app` over an app table nobody serves: a supervisor's `start`
/// and `stop` time out; and `wasi_snapshot_preview1` (WASI preview 1). Use [`bridge_with_apps`] and
/// [`Simulation::serve_apps`] to serve it.
pub fn bridge() -> Bridge<SimBoard> {
    bridge_with_apps().0
}

/// [`bridge`], and the app table of its `akira:app` module, for
/// [`Simulation::serve_apps`].
pub fn bridge_with_apps() -> (Bridge<SimBoard>, &'static SimApps) {
    let mut bridge = Bridge::with_all();
    // Names `with_all` does not register: registration cannot fail.
    let _ = bridge.register(akira_bridge::RfModule);
    let _ = bridge.register(akira_bridge::BleModule);
    // A few KiB per runtime, kept for the life of the process: host
    // tools make a handful of runtimes.
    let broker: &'static SimBroker = Box::leak(Box::new(SimBroker::new()));
    let _ = bridge.register(IpcModule::new(broker));
    let sockets: &'static NetSockets<{ net::SOCKETS }> = Box::leak(Box::new(NetSockets::new()));
    let _ = bridge.register(NetModule::new(sockets));
    let apps: &'static SimApps = Box::leak(Box::new(SimApps::new()));
    let _ = bridge.register(AppModule::new(apps));
    let _ = bridge.register(akira_bridge::WasiModule);
    (bridge, apps)
}

/// The runtime configuration of the simulated board: the defaults, with
/// room for host-built apps (a larger stack and module size than a
/// microcontroller default).
pub fn config() -> RuntimeConfig {
    RuntimeConfig { max_stack_bytes: 256 * 1024, max_module_bytes: 4 * 1024 * 1024, ..RuntimeConfig::default() }
}

/// A runtime for the simulated board under `policy`, with [`config`].
pub fn runtime(policy: Policy) -> Runtime<SimBoard> {
    Runtime::new(config(), bridge(), policy)
}
