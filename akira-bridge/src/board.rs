//! What the firmware provides: the board.
//!
//! A board is a cheap handle the firmware gives to each app's store (one
//! clone per app), through which host functions reach the clock, the console
//! and the peripherals. The base trait is [`Board`]; each bridge module that
//! touches hardware adds its own trait (GPIO: [`crate::modules::gpio::Gpio`]),
//! so a board implements only what it has and a module that needs a
//! peripheral the board lacks does not compile into that firmware.
//!
//! Because every app holds a clone, a board handle usually wraps shared
//! state: `&'static` cells on a microcontroller, `Rc<RefCell<..>>` in a
//! simulator. Host calls are short and never hold the handle across a wait:
//! waits are data ([`crate::Wait`]) that the scheduler completes.

use core::fmt;

use akira_caps::Denial;
use akira_caps::manifest::{AppName, Version};

use crate::time::Instant;

/// A running app's identity, as host functions and boards see it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AppInfo {
    /// Small number the firmware chose for this app instance.
    pub id: u16,
    /// The manifest's app name.
    pub name: AppName,
    /// The manifest's version.
    pub version: Version,
}

/// Console message severity (the `level` argument of `akira:log.write`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Level {
    /// Something failed.
    Error = 0,
    /// Something is wrong but the app goes on.
    Warn = 1,
    /// Normal operation.
    Info = 2,
    /// Detail for developers.
    Debug = 3,
    /// Very fine detail.
    Trace = 4,
}

impl Level {
    /// The level for an app-supplied number, if valid.
    pub fn from_u32(n: u32) -> Option<Level> {
        Some(match n {
            0 => Level::Error,
            1 => Level::Warn,
            2 => Level::Info,
            3 => Level::Debug,
            4 => Level::Trace,
            _ => return None,
        })
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Something a bridge module did for an app, reported to the board so a
/// simulator or a debug build can show it. Firmware that does not care
/// keeps the default no-op [`Board::trace`], which compiles away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Trace<'a> {
    /// The guard refused a call.
    Denied(&'a Denial),
    /// A pin was configured (`output` = true for output).
    PinConfigured {
        /// Logical pin.
        pin: u32,
        /// Output (true) or input (false).
        output: bool,
    },
    /// An output pin was driven.
    PinWritten {
        /// Logical pin.
        pin: u32,
        /// New level.
        high: bool,
    },
    /// An I2C transaction ran (or failed).
    I2c {
        /// Bus number.
        bus: u32,
        /// 7-bit device address.
        addr: u8,
        /// The register number written first, for `read_reg`/`write_reg`.
        reg: Option<u8>,
        /// The bytes written (after the register number).
        wrote: &'a [u8],
        /// The bytes read (unspecified if the transfer failed).
        read: &'a [u8],
        /// How it ended.
        result: Result<(), crate::errno::Errno>,
    },
    /// A PWM channel's duty was set.
    PwmDuty {
        /// Channel.
        channel: u32,
        /// New duty.
        duty: u16,
        /// The duty meaning 100 %.
        max: u16,
    },
    /// A PWM channel's frequency was set.
    PwmFrequency {
        /// Channel.
        channel: u32,
        /// Hertz.
        hz: u32,
    },
    /// An analog input was converted.
    Adc {
        /// Channel.
        channel: u32,
        /// The raw code, or millivolts.
        value: u32,
        /// Whether `value` is in millivolts.
        millivolts: bool,
    },
    /// A sensor channel was read.
    #[cfg(feature = "sensor")]
    Sensor {
        /// Channel.
        channel: u32,
        /// What it measures.
        kind: crate::modules::sensor::kind::SensorKind,
        /// The values, in the kind's unit.
        values: &'a [i32],
    },
    /// Random bytes were drawn.
    Random {
        /// How many.
        len: u32,
    },
    /// Bytes moved on a serial port.
    Uart {
        /// Port number.
        port: u32,
        /// Queued for transmission (true) or received (false).
        transmitted: bool,
        /// The bytes.
        bytes: &'a [u8],
    },
    /// A message was published (`published`) or taken from the app's
    /// mailbox.
    Ipc {
        /// The topic's index in the app's `publish` or `subscribe` list.
        topic: u32,
        /// Published (true) or received (false).
        published: bool,
        /// The message.
        bytes: &'a [u8],
        /// For a publish, how many subscribers it reached.
        subscribers: u32,
    },
    /// An app opened a socket to an endpoint of its grant (or failed to).
    NetOpen {
        /// The endpoint's index in the app's `net` list.
        endpoint: u32,
        /// The granted host.
        host: &'a str,
        /// The port.
        port: u16,
        /// How the board's `open` ended.
        result: Result<(), crate::errno::Errno>,
    },
    /// Bytes moved on a socket.
    Net {
        /// The app's socket id.
        socket: u32,
        /// Sent (true) or received (false).
        sent: bool,
        /// The bytes.
        bytes: &'a [u8],
    },
    /// An SPI transaction ran (or failed).
    Spi {
        /// Device id.
        device: u32,
        /// The bytes written (empty for a read).
        wrote: &'a [u8],
        /// The bytes received (empty for a write).
        read: &'a [u8],
        /// How it ended.
        result: Result<(), crate::errno::Errno>,
    },
    /// An app used its key-value store.
    Storage {
        /// What it did.
        op: StorageOp,
        /// The key (in the app's own namespace).
        key: &'a [u8],
        /// The value's length (read or written; 0 for a removal or a
        /// failed read).
        len: u32,
        /// How it ended.
        result: Result<(), crate::errno::Errno>,
    },
    /// A LoRa packet was queued for transmission (its airtime charged).
    RfSent {
        /// Carrier frequency in Hz.
        frequency_hz: u32,
        /// Transmit power in dBm.
        power_dbm: i8,
        /// The payload.
        bytes: &'a [u8],
        /// Time on air, in microseconds.
        airtime_us: u32,
    },
    /// A LoRa packet was received.
    RfReceived {
        /// Carrier frequency in Hz.
        frequency_hz: u32,
        /// The payload.
        bytes: &'a [u8],
        /// Received signal strength in dBm.
        rssi_dbm: i16,
        /// Signal-to-noise ratio in dB.
        snr_db: i16,
    },
    /// A primitive was drawn on the display (`fill`, `pixel`, `line`,
    /// `rect`, `text`, `blit`), within this bounding box.
    Drawn {
        /// The function that drew it.
        op: &'static str,
        /// Left edge.
        x: u32,
        /// Top edge.
        y: u32,
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
    /// The display was flushed: what was drawn is shown.
    Flushed,
    /// A HID report was sent to the host.
    HidReport {
        /// The device kind ([`akira_caps::scope::hid`] number).
        kind: u32,
        /// The report's bytes ([`crate::modules::hid::Report::encode`]).
        bytes: &'a [u8],
    },
    /// An app started (or updated) BLE advertising.
    BleAdvertising {
        /// Advertising interval in milliseconds.
        interval_ms: u16,
        /// The advertising data.
        data: &'a [u8],
    },
    /// An app received a BLE scan report.
    BleReport {
        /// The advertiser's address, least significant byte first.
        address: [u8; 6],
        /// Received signal strength in dBm.
        rssi_dbm: i8,
        /// The advertising data (as far as the app's buffer held it).
        data: &'a [u8],
    },
    /// An app received a GATT event (`akira:ble.gatt_next_event`).
    GattEvent {
        /// The event's kind number (1 connected, 2 disconnected, 3
        /// written, 4 subscribed, 5 unsubscribed).
        kind: u8,
        /// The characteristic's handle (0 for connections).
        characteristic: u8,
        /// The payload (as far as the app's buffer held it).
        data: &'a [u8],
    },
}

/// What a storage call did, for [`Trace::Storage`] (`akira:storage`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum StorageOp {
    /// A value was read.
    Get,
    /// A value was written.
    Set,
    /// A key was removed.
    Remove,
}

/// Why the device last reset (`akira:sys.reset_reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
#[non_exhaustive]
pub enum ResetReason {
    /// The board cannot tell.
    Unknown = 0,
    /// Power was applied.
    PowerOn = 1,
    /// The reset pin.
    Pin = 2,
    /// The firmware asked for it.
    Software = 3,
    /// A watchdog expired.
    Watchdog = 4,
    /// The supply dropped too low.
    Brownout = 5,
    /// A CPU fault (lockup).
    Fault = 6,
    /// Woken from deep sleep.
    Wakeup = 7,
}

/// How deeply the device may sleep while an app waits
/// (`akira:sys.sleep_hint`): the app's tolerance for wake-up latency. The
/// firmware combines the hints of all apps (the shallowest wins).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum PowerHint {
    /// Stay ready: the app needs fast wake-ups (the default).
    Active = 0,
    /// Light sleep is fine: wake-ups may take a little longer, peripherals
    /// keep their state.
    Light = 1,
    /// Deep sleep is fine between the app's deadlines: only its timers and
    /// edge waits need to wake it.
    Deep = 2,
}

impl PowerHint {
    /// The hint for an app-supplied number, if valid.
    pub fn from_u32(n: u32) -> Option<PowerHint> {
        Some(match n {
            0 => PowerHint::Active,
            1 => PowerHint::Light,
            2 => PowerHint::Deep,
            _ => return None,
        })
    }
}

/// The board a firmware lends to its apps.
pub trait Board: 'static {
    /// The monotonic clock.
    fn now(&self) -> Instant;

    /// Time since the device started, in microseconds. The default is the
    /// clock's reading, for boards whose clock starts at boot.
    fn uptime_us(&self) -> u64 {
        self.now().as_micros()
    }

    /// Why the device last reset; the default is
    /// [`ResetReason::Unknown`].
    fn reset_reason(&self) -> ResetReason {
        ResetReason::Unknown
    }

    /// Records app `app`'s low-power hint; the firmware's idle loop reads
    /// the hints to choose how deeply to sleep. The default ignores it.
    fn power_hint(&mut self, app: &AppInfo, hint: PowerHint) {
        let _ = (app, hint);
    }

    /// Writes one console line from an app.
    fn log(&mut self, app: &AppInfo, level: Level, message: &str);

    /// Reports what a module did for an app; the default ignores it.
    #[inline(always)]
    fn trace(&mut self, app: &AppInfo, event: Trace<'_>) {
        let _ = (app, event);
    }
}
