#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod adc;
pub mod ble;
mod board;
pub mod display;
pub mod hid;
pub mod i2c;
pub mod pwm;
mod record;
pub mod rf;
pub mod rng;
pub mod sensor;
mod simulation;
pub mod spi;
pub mod uart;

pub use board::{Clock, INPUTS, OTA_APPS, PINS, STORAGE_SECTORS, SimBoard, SimPin};
pub use record::{Record, What};
pub use simulation::{End, PRESS, Simulation};

use akira_bridge::Bridge;
use akira_caps::Policy;
use akira_sandbox::{Runtime, RuntimeConfig};

/// The bridge modules the simulated board offers: every module of
/// `akira-bridge` ([`Bridge::with_all`]), `akira:rf` on the simulated
/// air ([`rf`]) and `akira:ble` on the simulated BLE air ([`ble`]).
pub fn bridge() -> Bridge<SimBoard> {
    let mut bridge = Bridge::with_all();
    // A name `with_all` does not register: cannot fail.
    let _ = bridge.register(akira_bridge::RfModule);
    let _ = bridge.register(akira_bridge::BleModule);
    bridge
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
