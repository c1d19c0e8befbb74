//! What happened on the simulated board, in order, with timestamps.

use std::fmt;

use akira_bridge::{Errno, Instant, Level, SensorKind};

/// One thing that happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// When, on the board's clock.
    pub at: Instant,
    /// The app it concerns (`None` for the board and the simulation).
    pub app: Option<String>,
    /// What happened.
    pub what: What,
}

/// The kinds of [`Record`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum What {
    /// A console line.
    Log {
        /// Its level.
        level: Level,
        /// The text.
        message: String,
    },
    /// A pin was configured.
    Configured {
        /// Logical pin.
        pin: u32,
        /// As output (or input).
        output: bool,
    },
    /// An output pin was driven.
    Pin {
        /// Logical pin.
        pin: u32,
        /// New level.
        high: bool,
    },
    /// The script changed an input pin.
    Input {
        /// Logical pin.
        pin: u32,
        /// New level.
        high: bool,
    },
    /// An I2C transaction.
    I2c {
        /// Bus number.
        bus: u32,
        /// 7-bit address.
        addr: u8,
        /// Register number written first (`read_reg`, `write_reg`).
        reg: Option<u8>,
        /// Bytes written (after the register number).
        wrote: Vec<u8>,
        /// Bytes read.
        read: Vec<u8>,
        /// How it ended.
        result: Result<(), Errno>,
    },
    /// An SPI transaction.
    Spi {
        /// Device id.
        device: u32,
        /// Bytes written.
        wrote: Vec<u8>,
        /// Bytes received.
        read: Vec<u8>,
        /// How it ended.
        result: Result<(), Errno>,
    },
    /// A PWM channel's duty was set.
    PwmDuty {
        /// Channel.
        channel: u32,
        /// Duty.
        duty: u16,
        /// Duty meaning 100 %.
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
        /// Raw code, or millivolts.
        value: u32,
        /// Whether `value` is millivolts.
        millivolts: bool,
    },
    /// A sensor channel was read.
    Sensor {
        /// Channel.
        channel: u32,
        /// What it measures.
        kind: SensorKind,
        /// Values in the kind's unit.
        values: Vec<i32>,
    },
    /// An app used its key-value store.
    Storage {
        /// What it did.
        op: akira_bridge::StorageOp,
        /// The key.
        key: Vec<u8>,
        /// The value's length.
        len: u32,
        /// How it ended.
        result: Result<(), akira_bridge::Errno>,
    },
    /// Random bytes were drawn.
    Random {
        /// How many.
        len: u32,
    },
    /// An app moved bytes on a serial port.
    Uart {
        /// Port number.
        port: u32,
        /// Written (true) or read (false) by the app.
        transmitted: bool,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// An app published a message or took one from its mailbox.
    Ipc {
        /// The topic's index in the app's `publish` or `subscribe` list.
        topic: u32,
        /// Published (true) or received (false).
        published: bool,
        /// The message.
        bytes: Vec<u8>,
        /// For a publish, the subscribers it reached.
        subscribers: u32,
    },
    /// An app opened a socket (or failed to).
    NetOpen {
        /// The endpoint's index in the app's `net` list.
        endpoint: u32,
        /// The host.
        host: String,
        /// The port.
        port: u16,
        /// How it went.
        result: Result<(), Errno>,
    },
    /// An app moved bytes on a socket.
    Net {
        /// The app's socket id.
        socket: u32,
        /// Sent (true) or received (false).
        sent: bool,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// An app sent a LoRa packet.
    RfSent {
        /// Frequency in Hz.
        frequency_hz: u32,
        /// The payload.
        bytes: Vec<u8>,
        /// Time on air in microseconds.
        airtime_us: u32,
    },
    /// An app received a LoRa packet.
    RfReceived {
        /// Frequency in Hz.
        frequency_hz: u32,
        /// The payload.
        bytes: Vec<u8>,
        /// Signal strength in dBm.
        rssi_dbm: i16,
        /// Signal-to-noise ratio in dB.
        snr_db: i16,
    },
    /// An app started or updated BLE advertising.
    BleAdvertising {
        /// Interval in milliseconds.
        interval_ms: u16,
        /// The advertising data.
        data: Vec<u8>,
    },
    /// An app received a BLE scan report.
    BleReport {
        /// The advertiser's address, least significant byte first.
        address: [u8; 6],
        /// Signal strength in dBm.
        rssi_dbm: i8,
        /// The advertising data.
        data: Vec<u8>,
    },
    /// An app received a GATT event.
    GattEvent {
        /// Kind (1 connected, 2 disconnected, 3 written, 4 subscribed, 5
        /// unsubscribed).
        kind: u8,
        /// The characteristic's handle.
        characteristic: u8,
        /// The payload.
        data: Vec<u8>,
    },
    /// What the scripted GATT central (`--gatt-client`) did or saw.
    GattCentral(String),
    /// The script sent bytes to a serial port.
    UartInput {
        /// Port number.
        port: u32,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// An app drew on the screen.
    Drawn {
        /// The function (`fill`, `pixel`, `line`, `rect`, `text`, `blit`).
        op: &'static str,
        /// Left edge of the bounding box.
        x: u32,
        /// Top edge.
        y: u32,
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
    /// An app flushed the screen: frame `frame` is shown.
    Flushed {
        /// The frame's number, from 1.
        frame: u32,
    },
    /// An app sent a HID report to the (simulated) host.
    HidReport {
        /// Device kind ([`akira_caps::scope::hid`] number).
        kind: u32,
        /// The report's bytes.
        bytes: Vec<u8>,
        /// For a keyboard report, the character the host sees typed (a key
        /// newly held down), if it is ASCII.
        typed: Option<char>,
    },
    /// The guard refused a call.
    Denied(String),
    /// The app started.
    Started,
    /// The app was stopped by a supervisor app.
    Stopped,
    /// The app exited.
    Exited(i32),
    /// The app was stopped by a fault.
    Faulted(String),
    /// The app will restart.
    Restarting(Instant),
    /// The app is in a crash loop.
    CrashLoop(u32),
    /// A note from the simulation itself.
    Note(String),
}

impl fmt::Display for Record {
    /// `[   1.500000s] blinky      gpio 2 -> high`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who = self.app.as_deref().unwrap_or("board");
        write!(f, "[{:>12}] {who:<12} ", self.at.to_string())?;
        match &self.what {
            What::Log { level, message } => write!(f, "{level}: {message}"),
            What::Configured { pin, output } => {
                write!(f, "gpio {pin} configured as {}", if *output { "output" } else { "input" })
            }
            What::Pin { pin, high } => {
                write!(f, "gpio {pin} -> {}", if *high { "high  (LED on)" } else { "low   (LED off)" })
            }
            What::Input { pin, high } => {
                write!(f, "button on gpio {pin} {}", if *high { "released (high)" } else { "pressed (low)" })
            }
            What::I2c { bus, addr, reg, wrote, read, result } => {
                write!(f, "i2c{bus} {addr:#04x}")?;
                if let Some(reg) = reg {
                    write!(f, " reg {reg:#04x}")?;
                }
                if !wrote.is_empty() || (reg.is_none() && read.is_empty()) {
                    write!(f, " write {}", Hex(wrote))?;
                }
                if !read.is_empty() {
                    write!(f, " read {}", Hex(read))?;
                }
                match result {
                    Ok(()) => Ok(()),
                    Err(e) => write!(f, " -> {} ({})", e.describe(), e.name()),
                }
            }
            What::Spi { device, wrote, read, result } => {
                write!(f, "spi{device}")?;
                if !wrote.is_empty() {
                    write!(f, " write {}", Hex(wrote))?;
                }
                if !read.is_empty() {
                    write!(f, " read {}", Hex(read))?;
                }
                match result {
                    Ok(()) => Ok(()),
                    Err(e) => write!(f, " -> {} ({})", e.describe(), e.name()),
                }
            }
            What::PwmDuty { channel, duty, max } => {
                let percent = f64::from(*duty) * 100.0 / f64::from((*max).max(1));
                write!(f, "pwm{channel} duty {duty}/{max} ({percent:.1}%)")
            }
            What::PwmFrequency { channel, hz } => write!(f, "pwm{channel} frequency {hz} Hz"),
            What::Adc { channel, value, millivolts: true } => write!(f, "adc{channel} {value} mV"),
            What::Adc { channel, value, millivolts: false } => write!(f, "adc{channel} raw {value}"),
            What::Sensor { channel, kind, values } => match values.as_slice() {
                [v] => write!(f, "sensor{channel} {} {v} {}", kind.name(), kind.unit()),
                vs => write!(f, "sensor{channel} {} {vs:?} {}", kind.name(), kind.unit()),
            },
            What::Random { len } => write!(f, "rng {len} bytes"),
            What::Storage { op, key, len, result } => {
                let key = String::from_utf8_lossy(key);
                let key = key.escape_debug();
                match op {
                    akira_bridge::StorageOp::Get => write!(f, "storage get \"{key}\"")?,
                    akira_bridge::StorageOp::Set => write!(f, "storage set \"{key}\" {len} bytes")?,
                    _ => write!(f, "storage remove \"{key}\"")?,
                }
                match result {
                    Ok(()) if *op == akira_bridge::StorageOp::Get => write!(f, " -> {len} bytes"),
                    Ok(()) => Ok(()),
                    Err(e) => write!(f, " -> {} ({})", e.describe(), e.name()),
                }
            }
            What::Uart { port, transmitted, bytes } => {
                let dir = if *transmitted { "tx" } else { "rx" };
                write!(f, "uart{port} {dir} \"{}\"", String::from_utf8_lossy(bytes).escape_debug())
            }
            What::Ipc { topic, published: true, bytes, subscribers } => write!(
                f,
                "ipc publish topic {topic} \"{}\" -> {subscribers} subscriber(s)",
                String::from_utf8_lossy(bytes).escape_debug()
            ),
            What::Ipc { topic, published: false, bytes, .. } => {
                write!(f, "ipc receive topic {topic} \"{}\"", String::from_utf8_lossy(bytes).escape_debug())
            }
            What::NetOpen { endpoint, host, port, result: Ok(()) } => {
                write!(f, "net connect endpoint {endpoint} ({host}:{port})")
            }
            What::NetOpen { endpoint, host, port, result: Err(e) } => {
                write!(f, "net connect endpoint {endpoint} ({host}:{port}) failed: {e}")
            }
            What::Net { socket, sent, bytes } => {
                let dir = if *sent { "send" } else { "receive" };
                write!(f, "net socket {socket} {dir} \"{}\"", String::from_utf8_lossy(bytes).escape_debug())
            }
            What::RfSent { frequency_hz, bytes, airtime_us } => write!(
                f,
                "rf tx {:.1} MHz \"{}\" ({:.1} ms on air)",
                *frequency_hz as f64 / 1e6,
                String::from_utf8_lossy(bytes).escape_debug(),
                *airtime_us as f64 / 1e3
            ),
            What::RfReceived { frequency_hz, bytes, rssi_dbm, snr_db } => write!(
                f,
                "rf rx {:.1} MHz \"{}\" ({rssi_dbm} dBm, SNR {snr_db} dB)",
                *frequency_hz as f64 / 1e6,
                String::from_utf8_lossy(bytes).escape_debug()
            ),
            What::BleAdvertising { interval_ms, data } => {
                write!(f, "ble advertising every {interval_ms} ms {}", Hex(data))
            }
            What::BleReport { address, rssi_dbm, data } => {
                let a = address.iter().rev().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":");
                write!(f, "ble report from {a} ({rssi_dbm} dBm) {}", Hex(data))
            }
            What::GattEvent { kind, characteristic, data } => {
                let name = ["?", "connected", "disconnected", "written", "subscribed", "unsubscribed"];
                let name = name.get(usize::from(*kind)).copied().unwrap_or("?");
                write!(f, "gatt event {name} (characteristic {characteristic}) {}", Hex(data))
            }
            What::GattCentral(seen) => write!(f, "gatt central: {seen}"),
            What::UartInput { port, bytes } => {
                write!(f, "uart{port} <- \"{}\"", String::from_utf8_lossy(bytes).escape_debug())
            }
            What::Drawn { op, x, y, width, height } => write!(f, "display {op} {width}x{height} at ({x}, {y})"),
            What::Flushed { frame } => write!(f, "display frame {frame} shown"),
            What::HidReport { kind, bytes, typed } => {
                let name = akira_caps::scope::hid::NAMES.get(*kind as usize).copied().unwrap_or("?");
                write!(f, "hid {name} {}", Hex(bytes))?;
                match typed {
                    Some(c) => write!(f, " types {:?}", c),
                    None => Ok(()),
                }
            }
            What::Denied(d) => write!(f, "DENIED {d}"),
            What::Started => f.write_str("started"),
            What::Stopped => f.write_str("stopped"),
            What::Exited(code) => write!(f, "exited with code {code}"),
            What::Faulted(why) => write!(f, "FAULT {why}"),
            What::Restarting(at) => write!(f, "restarting at {at}"),
            What::CrashLoop(n) => write!(f, "CRASH LOOP after {n} faults: not restarted"),
            What::Note(n) => f.write_str(n),
        }
    }
}

/// Bytes as `[19 60]`.
pub(crate) struct Hex<'a>(pub(crate) &'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{b:02x}")?;
        }
        f.write_str("]")
    }
}
