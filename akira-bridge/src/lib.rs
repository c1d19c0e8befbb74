#![doc = include_str!("../README.md")]
#![cfg_attr(not(test), no_std)]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod board;
pub mod charge;
pub mod errno;
pub mod host;
pub mod latch;
#[cfg(any(feature = "i2c", feature = "spi", feature = "ble"))]
mod mailbox;
pub mod memory;
pub mod module;
pub mod modules;
pub mod shared;
pub mod state;
#[cfg(test)]
mod testing;
pub mod time;
mod wake;

pub use akira_caps;
#[cfg(feature = "display")]
pub use embedded_graphics;
pub use embedded_hal;
pub use embedded_hal_async;
#[cfg(feature = "wasmi")]
pub use wasmi;

pub use board::{AppInfo, Board, Level, PowerHint, ResetReason, StorageOp, Trace};
pub use charge::{Cost, Unit};
pub use errno::Errno;
pub use latch::{InputLatch, LatchedInput};
pub use memory::GuestMemory;
pub use module::{Bridge, HostModule, LinkContext, LinkError};
#[cfg(feature = "adc")]
pub use modules::adc::{Adc, AdcModule};
#[cfg(feature = "app")]
pub use modules::app::{AppModule, AppStatus, AppTable, Control, Lifecycle};
#[cfg(feature = "ble")]
pub use modules::ble::{AdvConfig, AdvData, Ble, BleJob, BleMailbox, BleModule, BleRadio, ScanConfig, ScanReport};
#[cfg(feature = "crypto")]
pub use modules::crypto::CryptoModule;
#[cfg(feature = "display")]
pub use modules::display::{Display, DisplayModule, Screen};
#[cfg(feature = "ble")]
pub use modules::gatt::{GattDeclaration, GattEvent, GattJob, GattServer, GattTable};
pub use modules::gpio::{Edge, Edges, Gpio, GpioModule, MemoryPin, PinBank, PinMode, PinSlot};
#[cfg(feature = "hid")]
pub use modules::hid::{Event, EventKind, EventQueue, Hid, HidModule, Report};
#[cfg(feature = "i2c")]
pub use modules::i2c::{I2c, I2cBuses, I2cModule};
#[cfg(feature = "i2c")]
pub use modules::i2c_async::{AsyncI2c, AsyncI2cModule, I2cMailbox};
#[cfg(feature = "ipc")]
pub use modules::ipc::{AttachError, Attachment, Broker, IpcBroker, IpcModule, Received};
#[cfg(feature = "net")]
pub use modules::net::{Net, NetModule, NetSockets, SocketTable, Transport};
#[cfg(feature = "ota")]
pub use modules::ota::{OtaControl, OtaMailbox, OtaModule, OtaRequest, OtaRequests, OtaStatus};
#[cfg(feature = "pwm")]
pub use modules::pwm::{Pwm, PwmChannels, PwmModule};
#[cfg(feature = "rf")]
pub use modules::rf::{LoraConfig, PacketInfo, Radio, Rf, RfMailbox, RfModule};
#[cfg(feature = "rng")]
pub use modules::rng::{Rng, RngModule};
#[cfg(feature = "sensor")]
pub use modules::sensor::{Reading, SensorKind, SensorModule, Sensors};
#[cfg(feature = "spi")]
pub use modules::spi::{Spi, SpiDevices, SpiModule, SpiOp};
#[cfg(feature = "spi")]
pub use modules::spi_async::{AsyncSpi, AsyncSpiModule, SpiMailbox};
#[cfg(feature = "flash-kv")]
pub use modules::storage::{FlashKv, FlashKvError};
#[cfg(feature = "storage")]
pub use modules::storage::{KvStore, StorageModule};
#[cfg(feature = "uart")]
pub use modules::uart::{SerialBuffer, Uart, UartModule, UartPorts};
#[cfg(feature = "wasi")]
pub use modules::wasi::{WasiHost, WasiModule};
pub use modules::{log::Log, sys::Sys, timer::Timer};
#[cfg(feature = "ble")]
pub use shared::BleController;
#[cfg(feature = "i2c")]
pub use shared::I2cBus;
#[cfg(feature = "rf")]
pub use shared::LoraRadio;
#[cfg(feature = "storage")]
pub use shared::SharedKv;
#[cfg(feature = "spi")]
pub use shared::SpiDev;
#[cfg(feature = "uart")]
pub use shared::UartPort;
pub use shared::{AdapterCell, AlreadyInitialised, BoardCell, NoRng, Peripherals, Route, Shared, SharedBoard};
#[cfg(feature = "adc")]
pub use shared::{AdcRoute, SharedAdc};
#[cfg(feature = "pwm")]
pub use shared::{PwmRoute, SharedPwm};
pub use state::{
    AppLimits, AppState, DeniedFault, ModuleIndex, Refusal, Suspend, Wait, WaitKind, charge_fuel, memory_and_state,
    reply,
};
pub use time::Instant;

impl<B: Board + Gpio> Bridge<B> {
    /// A bridge with the built-in modules of this crate: `akira:log`,
    /// `akira:timer`, `akira:gpio` and `akira:sys`.
    pub fn with_builtins() -> Self {
        let mut bridge = Bridge::new();
        // Four distinct import names: registration cannot fail.
        let _ = bridge.register(Log);
        let _ = bridge.register(Timer);
        let _ = bridge.register(GpioModule);
        let _ = bridge.register(Sys);
        bridge
    }
}

#[cfg(all(
    feature = "i2c",
    feature = "spi",
    feature = "uart",
    feature = "pwm",
    feature = "adc",
    feature = "sensor",
    feature = "rng",
    feature = "storage",
    feature = "ota",
    feature = "display",
    feature = "hid"
))]
impl<B: Board + Gpio + I2c + Spi + Uart + Pwm + Adc + Sensors + Rng + KvStore + OtaControl + Display + Hid> Bridge<B> {
    /// A bridge with every module of this crate: the built-in four
    /// ([`Bridge::with_builtins`]) and the peripheral modules (`akira:i2c`,
    /// `akira:spi`, `akira:uart`, `akira:pwm`, `akira:adc`, `akira:sensor`,
    /// `akira:rng`, `akira:storage`, `akira:ota`, `akira:display`, `akira:hid`) and, with the `crypto` feature,
    /// `akira:crypto`.
    /// The board must implement every module's trait; firmware for a board
    /// without some peripheral starts from [`Bridge::with_builtins`] and
    /// registers the modules it has (`bridge.register(I2cModule)`). Needs
    /// the features of those modules (all of them but `crypto` are on by
    /// default).
    pub fn with_all() -> Self {
        let mut bridge = Bridge::with_builtins();
        // Distinct import names: registration cannot fail.
        let _ = bridge.register(I2cModule);
        let _ = bridge.register(SpiModule);
        let _ = bridge.register(UartModule);
        let _ = bridge.register(PwmModule);
        let _ = bridge.register(AdcModule);
        let _ = bridge.register(SensorModule);
        let _ = bridge.register(RngModule);
        #[cfg(feature = "crypto")]
        let _ = bridge.register(CryptoModule);
        let _ = bridge.register(StorageModule);
        let _ = bridge.register(OtaModule);
        let _ = bridge.register(DisplayModule);
        let _ = bridge.register(HidModule);
        bridge
    }
}
