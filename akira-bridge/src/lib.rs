#![doc = include_str!("../README.md")]
#![cfg_attr(not(test), no_std)]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod board;
pub mod errno;
pub mod latch;
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
pub use embedded_graphics;
pub use embedded_hal;
pub use embedded_hal_async;
pub use wasmi;

pub use board::{AppInfo, Board, Level, PowerHint, ResetReason, Trace};
pub use errno::Errno;
pub use latch::{InputLatch, LatchedInput};
pub use memory::GuestMemory;
pub use module::{Bridge, HostModule, LinkContext, LinkError};
pub use modules::adc::{Adc, AdcModule};
pub use modules::app::{AppModule, AppStatus, AppTable, Control, Lifecycle};
pub use modules::ble::{AdvConfig, AdvData, Ble, BleJob, BleMailbox, BleModule, BleRadio, ScanConfig, ScanReport};
#[cfg(feature = "crypto")]
pub use modules::crypto::CryptoModule;
pub use modules::display::{Display, DisplayModule, Screen};
pub use modules::gatt::{GattDeclaration, GattEvent, GattJob, GattServer, GattTable};
pub use modules::gpio::{Edge, Edges, Gpio, GpioModule, MemoryPin, PinBank, PinMode, PinSlot};
pub use modules::hid::{Event, EventKind, EventQueue, Hid, HidModule, Report};
pub use modules::i2c::{I2c, I2cBuses, I2cModule};
pub use modules::i2c_async::{AsyncI2c, AsyncI2cModule, I2cMailbox};
pub use modules::ipc::{AttachError, Attachment, Broker, IpcBroker, IpcModule, Received};
pub use modules::net::{Net, NetModule, NetSockets, SocketTable, Transport};
pub use modules::ota::{OtaControl, OtaMailbox, OtaModule, OtaRequest, OtaRequests, OtaStatus};
pub use modules::pwm::{Pwm, PwmChannels, PwmModule};
pub use modules::rf::{LoraConfig, PacketInfo, Radio, Rf, RfMailbox, RfModule};
pub use modules::rng::{Rng, RngModule};
pub use modules::sensor::{Reading, SensorKind, SensorModule, Sensors};
pub use modules::spi::{Spi, SpiDevices, SpiModule, SpiOp};
pub use modules::spi_async::{AsyncSpi, AsyncSpiModule, SpiMailbox};
#[cfg(feature = "flash-kv")]
pub use modules::storage::{FlashKv, FlashKvError};
pub use modules::storage::{KvStore, StorageModule, StorageOp};
pub use modules::uart::{SerialBuffer, Uart, UartModule, UartPorts};
pub use modules::{log::Log, sys::Sys, timer::Timer};
pub use shared::{
    AdapterCell, AdcRoute, AlreadyInitialised, BleController, BoardCell, I2cBus, LoraRadio, NoRng, Peripherals,
    PwmRoute, Route, Shared, SharedAdc, SharedBoard, SharedKv, SharedPwm, SpiDev, UartPort,
};
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

impl<B: Board + Gpio + I2c + Spi + Uart + Pwm + Adc + Sensors + Rng + KvStore + OtaControl + Display + Hid> Bridge<B> {
    /// A bridge with every module of this crate: the built-in four
    /// ([`Bridge::with_builtins`]) and the peripheral modules (`akira:i2c`,
    /// `akira:spi`, `akira:uart`, `akira:pwm`, `akira:adc`, `akira:sensor`,
    /// `akira:rng`, `akira:storage`, `akira:ota`, `akira:display`, `akira:hid`) and, with the `crypto` feature,
    /// `akira:crypto`.
    /// The board must implement every module's trait; firmware for a board
    /// without some peripheral starts from [`Bridge::with_builtins`] and
    /// registers the modules it has (`bridge.register(I2cModule)`).
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
