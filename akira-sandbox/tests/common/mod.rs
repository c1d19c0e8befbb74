//! A minimal board and helpers for the sandbox's tests.
#![allow(dead_code)]

use std::cell::RefCell;
use std::rc::Rc;

use akira_sandbox::akira_bridge::embedded_graphics::{mock_display::MockDisplay, pixelcolor::Rgb565};
use akira_sandbox::akira_bridge::embedded_hal::i2c::Operation;
use akira_sandbox::akira_bridge::embedded_hal::spi::Operation as SpiOperation;
use akira_sandbox::akira_bridge::{
    Adc, AppInfo, Board, Bridge, Edge, Edges, Errno, Gpio, I2c, Instant, KvStore, Level, MemoryPin as Pin, OtaControl,
    OtaRequest, OtaStatus, PinBank, PinMode, PinSlot, Pwm, Reading, Report, Rng, Screen, SensorKind, Sensors, Spi,
    Trace, Uart,
};
use akira_sandbox::akira_caps::{Manifest, Policy, Version, manifest::AppName};
use akira_sandbox::{LoadedApp, Runtime, RuntimeConfig};

pub struct Inner {
    pub now: u64,
    pub pins: PinBank<Pin, Pin, 4>,
    pub log: Vec<String>,
    pub denials: Vec<String>,
    pub writes: Vec<(String, u32, bool)>,
    pub screen: Screen<MockDisplay<Rgb565>>,
}

/// Pins 0 and 1 are inputs, 2 and 3 outputs. Time only moves when a test
/// moves it.
#[derive(Clone)]
pub struct TestBoard(pub Rc<RefCell<Inner>>);

impl TestBoard {
    pub fn new() -> Self {
        let pins = PinBank::new([
            PinSlot::Input(Pin::new(false)),
            PinSlot::Input(Pin::new(false)),
            PinSlot::Output(Pin::new(false)),
            PinSlot::Output(Pin::new(false)),
        ]);
        TestBoard(Rc::new(RefCell::new(Inner {
            now: 0,
            pins,
            log: Vec::new(),
            denials: Vec::new(),
            writes: Vec::new(),
            screen: Screen::new(MockDisplay::new()),
        })))
    }
    pub fn advance_us(&self, us: u64) {
        self.0.borrow_mut().now += us;
    }
    pub fn set_us(&self, us: u64) {
        self.0.borrow_mut().now = us;
    }
    pub fn log(&self) -> Vec<String> {
        self.0.borrow().log.clone()
    }
    pub fn output(&self, pin: u32) -> bool {
        self.0.borrow_mut().pins.read(pin).unwrap()
    }
}

impl Board for TestBoard {
    fn now(&self) -> Instant {
        Instant::from_micros(self.0.borrow().now)
    }
    fn log(&mut self, app: &AppInfo, level: Level, message: &str) {
        self.0.borrow_mut().log.push(format!("{} {level}: {message}", app.name));
    }
    fn trace(&mut self, app: &AppInfo, event: Trace<'_>) {
        let mut inner = self.0.borrow_mut();
        match event {
            Trace::Denied(d) => inner.denials.push(format!("{}: {d}", app.name)),
            Trace::PinWritten { pin, high } => inner.writes.push((app.name.to_string(), pin, high)),
            _ => {}
        }
    }
}

impl Gpio for TestBoard {
    fn configure(&mut self, pin: u32, mode: PinMode) -> Result<(), Errno> {
        self.0.borrow_mut().pins.configure(pin, mode)
    }
    fn read(&mut self, pin: u32) -> Result<bool, Errno> {
        self.0.borrow_mut().pins.read(pin)
    }
    fn write(&mut self, pin: u32, high: bool) -> Result<(), Errno> {
        self.0.borrow_mut().pins.write(pin, high)
    }
    fn toggle(&mut self, pin: u32) -> Result<bool, Errno> {
        self.0.borrow_mut().pins.toggle(pin)
    }
    fn take_edge(&mut self, pin: u32, edges: Edges) -> Result<Option<Edge>, Errno> {
        self.0.borrow_mut().pins.take_edge(pin, edges)
    }
}

/// Every I2C transfer succeeds; reads return zeros.
impl I2c for TestBoard {
    fn transaction(&mut self, _bus: u32, _addr: u8, ops: &mut [Operation<'_>]) -> Result<(), Errno> {
        for op in ops {
            if let Operation::Read(buf) = op {
                buf.fill(0);
            }
        }
        Ok(())
    }
}

/// SPI devices read zeros.
impl Spi for TestBoard {
    fn transaction(&mut self, _device: u32, ops: &mut [SpiOperation<'_, u8>]) -> Result<(), Errno> {
        for op in ops {
            match op {
                SpiOperation::Read(buf) | SpiOperation::TransferInPlace(buf) | SpiOperation::Transfer(buf, _) => {
                    buf.fill(0)
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Serial ports receive nothing and take every write.
impl Uart for TestBoard {
    fn read(&mut self, _port: u32, _buf: &mut [u8]) -> Result<usize, Errno> {
        Ok(0)
    }
    fn write(&mut self, _port: u32, data: &[u8]) -> Result<usize, Errno> {
        Ok(data.len())
    }
}

/// Four PWM channels, duty 0..=255.
impl Pwm for TestBoard {
    fn max_duty(&mut self, channel: u32) -> Result<u16, Errno> {
        if channel < 4 { Ok(255) } else { Err(Errno::NoSuchResource) }
    }
    fn set_duty(&mut self, _channel: u32, _duty: u16) -> Result<(), Errno> {
        Ok(())
    }
}

/// Two 12-bit channels reading mid-scale.
impl Adc for TestBoard {
    fn resolution(&mut self, _channel: u32) -> Result<u8, Errno> {
        Ok(12)
    }
    fn read_raw(&mut self, channel: u32) -> Result<u16, Errno> {
        if channel < 2 { Ok(2048) } else { Err(Errno::NoSuchResource) }
    }
    fn full_scale_mv(&mut self, _channel: u32) -> Result<u32, Errno> {
        Ok(3300)
    }
}

/// One thermometer at 21 °C.
impl Sensors for TestBoard {
    fn kind(&mut self, channel: u32) -> Result<SensorKind, Errno> {
        if channel == 0 { Ok(SensorKind::Temperature) } else { Err(Errno::NoSuchResource) }
    }
    fn read(&mut self, channel: u32) -> Result<Reading, Errno> {
        self.kind(channel)?;
        Reading::scalar(SensorKind::Temperature, 21_000).ok_or(Errno::Io)
    }
}

/// Random bytes that are all 4 (chosen by fair dice roll).
impl Rng for TestBoard {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Errno> {
        buf.fill(4);
        Ok(())
    }
}

/// A store that holds nothing and refuses writes (the sandbox's tests only
/// link `akira:storage`; its behaviour is tested in akira-bridge).
impl KvStore for TestBoard {
    fn get(&mut self, _app: &str, _key: &[u8], _buf: &mut [u8]) -> Result<Option<usize>, Errno> {
        Ok(None)
    }
    fn set(&mut self, _app: &str, _key: &[u8], _value: &[u8], _quota: u32) -> Result<(), Errno> {
        Err(Errno::NoSpace)
    }
    fn remove(&mut self, _app: &str, _key: &[u8]) -> Result<bool, Errno> {
        Ok(false)
    }
    fn used(&mut self, _app: &str) -> Result<u32, Errno> {
        Ok(0)
    }
    fn capacity(&mut self) -> Result<u32, Errno> {
        Ok(0)
    }
}

/// No app is managed by an OTA store.
impl OtaControl for TestBoard {
    fn status(&mut self, _app: &str) -> OtaStatus {
        OtaStatus::default()
    }
    fn request(&mut self, _app: &str, _request: OtaRequest) -> Result<(), Errno> {
        Err(Errno::NoSuchResource)
    }
}

/// A runtime with every module of the bridge ([`Bridge::with_all`]).
pub fn runtime_all() -> Runtime<TestBoard> {
    Runtime::new(RuntimeConfig::default(), Bridge::with_all(), Policy::development())
}

pub fn runtime_with(config: RuntimeConfig, policy: Policy) -> Runtime<TestBoard> {
    Runtime::new(config, Bridge::with_builtins(), policy)
}

pub fn runtime() -> Runtime<TestBoard> {
    runtime_with(RuntimeConfig::default(), Policy::development())
}

/// A manifest named `name` with the capabilities set by `f`.
pub fn manifest(name: &str, f: impl FnOnce(&mut Manifest)) -> Manifest {
    let mut m = Manifest::new(AppName::try_from(name).unwrap(), Version::new(1, 0, 0));
    m.memory_limit = 64 * 1024;
    f(&mut m);
    m
}

/// Compiles WAT and embeds `manifest` (if any).
pub fn wasm(wat: &str, manifest: Option<&Manifest>) -> Vec<u8> {
    let mut bytes = wat::parse_str(wat).expect("test WAT parses");
    if let Some(m) = manifest {
        bytes.extend_from_slice(&m.custom_section());
    }
    bytes
}

pub fn load(wat: &str, manifest: Option<&Manifest>) -> LoadedApp {
    runtime().load(&wasm(wat, manifest)).expect("app loads")
}

/// A 64 x 64 screen that records pixels.
impl akira_sandbox::akira_bridge::Display for TestBoard {
    type Target = MockDisplay<Rgb565>;
    fn draw<R>(&mut self, f: impl FnOnce(&mut Self::Target) -> R) -> Result<R, Errno> {
        self.0.borrow_mut().screen.draw(f)
    }
    fn flush(&mut self) -> Result<(), Errno> {
        self.0.borrow_mut().screen.flush()
    }
}

/// A HID stack that always has room and no input events.
impl akira_sandbox::akira_bridge::Hid for TestBoard {
    fn room(&mut self, _kind: u32) -> Result<usize, Errno> {
        Ok(8)
    }
    fn send(&mut self, _report: &Report<'_>) -> Result<(), Errno> {
        Ok(())
    }
    fn next_event(&mut self) -> Option<akira_sandbox::akira_bridge::Event> {
        None
    }
}
