//! The simulated board: 16 logical pins, a clock, a console.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use akira_bridge::modules::rf::{Job, Outcome};
use akira_bridge::{
    Adc, AppInfo, Ble, BleJob, Board, Display, Edge, Edges, Errno, Event, FlashKv, GattDeclaration, GattEvent, GattJob,
    Gpio, Hid, I2c, I2cBuses, Instant, KvStore, Level, LoraConfig, MemoryPin, Net, OtaControl, OtaMailbox, OtaRequest,
    OtaStatus, PacketInfo, PinBank, PinMode, PinSlot, PowerHint, Pwm, PwmChannels, Reading, Report, ResetReason, Rf,
    Rng, ScanReport, SensorKind, Sensors, Spi, SpiDevices, Trace, Transport, Uart,
};
use akira_ota::testing::{FileFlash, SimFlash};
use embedded_hal::i2c::Operation;
use embedded_hal::spi::Operation as SpiOperation;

use crate::display::{Frame, SimFramebuffer, SimScreen};
use crate::i2c::{Eeprom24c02, Env, SimI2cBus, Tmp102};
use crate::pwm::SimPwmChannel;
use crate::record::{Record, What};
use crate::spi::{Loopback, SimSpiDevice, SpiFlash};
use crate::uart::SimUarts;

/// Number of logical pins on the simulated board.
pub const PINS: usize = 16;
/// Pins `0..INPUTS` are buttons (inputs, pulled up: idle high, pressed
/// low); the rest are LEDs (outputs).
pub const INPUTS: u32 = 2;

/// A simulated pin: the bridge's [`MemoryPin`], an embedded-hal 1.0 input
/// and output pin that remembers its level. The board drives inputs from
/// its script.
pub type SimPin = MemoryPin;

/// Where the board's time comes from.
#[derive(Clone, Copy, Debug)]
pub enum Clock {
    /// Wall-clock time since the board was made: sleeps take real time.
    Real(std::time::Instant),
    /// Time that moves only when the simulation moves it: sleeps are
    /// instant, runs are repeatable.
    Virtual(u64),
}

/// Sectors of the simulated storage flash (4 KiB each): 64 KiB.
pub const STORAGE_SECTORS: usize = 16;

/// Store-managed apps the simulated board's `akira:ota` tracks.
pub const OTA_APPS: usize = 8;

/// Where records go as they happen.
type Sink = Box<dyn FnMut(&Record)>;

/// Where flushed frames go.
type FrameSink = Box<dyn FnMut(&Frame)>;

struct State {
    clock: Clock,
    pins: PinBank<SimPin, SimPin, PINS>,
    i2c: I2cBuses<SimI2cBus, 2>,
    spi: SpiDevices<SimSpiDevice, 2>,
    uarts: SimUarts,
    net: crate::net::SimNet,
    air: crate::rf::SimAir,
    ble: crate::ble::SimBle,
    pwm: PwmChannels<SimPwmChannel, { crate::pwm::CHANNELS }>,
    buzzer_hz: u32,
    rng: crate::rng::SimRng,
    adc_mv: [Option<u32>; crate::adc::CHANNELS],
    temperature_mc: Option<i32>,
    storage: Box<dyn KvStore>,
    ota: Option<&'static OtaMailbox<OTA_APPS>>,
    screen: SimScreen,
    frames: u32,
    frame_sink: Option<FrameSink>,
    hid: crate::hid::SimHid,
    /// The shared air this board joined, if any: radio calls go there.
    link: Option<crate::air::Link>,
    records: Vec<Record>,
    sink: Option<Sink>,
}

/// The simulated board. Cheap to clone: clones share the same hardware,
/// as each app's store holds one.
#[derive(Clone)]
pub struct SimBoard(Rc<RefCell<State>>);

impl SimBoard {
    /// A board with the given clock; buttons idle high, LEDs off.
    pub fn new(clock: Clock) -> SimBoard {
        let pins = PinBank::new(std::array::from_fn(|n| {
            if (n as u32) < INPUTS { PinSlot::Input(SimPin::new(true)) } else { PinSlot::Output(SimPin::new(false)) }
        }));
        let i2c = I2cBuses::new([
            SimI2cBus::new().with(0x48, Tmp102::default()).with(0x50, Eeprom24c02::default()),
            SimI2cBus::new(),
        ]);
        let spi = SpiDevices::new([SimSpiDevice::new(SpiFlash::default()), SimSpiDevice::new(Loopback)]);
        SimBoard(Rc::new(RefCell::new(State {
            clock,
            pins,
            i2c,
            spi,
            uarts: SimUarts::default(),
            net: crate::net::SimNet::default(),
            air: crate::rf::SimAir::default(),
            ble: crate::ble::SimBle::default(),
            pwm: PwmChannels::new(Default::default()),
            buzzer_hz: 2_000,
            rng: crate::rng::SimRng::default(),
            adc_mv: [None; crate::adc::CHANNELS],
            temperature_mc: None,
            storage: Box::new(Self::ram_storage()),
            ota: None,
            screen: crate::display::screen(),
            frames: 0,
            frame_sink: None,
            hid: crate::hid::SimHid::default(),
            link: None,
            records: Vec::new(),
            sink: None,
        })))
    }

    /// The default storage: an erased flash in RAM, forgotten at exit.
    fn ram_storage() -> FlashKv<SimFlash> {
        let bytes = (STORAGE_SECTORS * 4096) as u32;
        // A whole, sector-aligned region of a flash that size: accepted.
        FlashKv::new(SimFlash::new(STORAGE_SECTORS), 0..bytes).expect("the storage region fits its flash")
    }

    /// Keeps `akira:storage` in the file `path` (a flash image of
    /// [`STORAGE_SECTORS`] sectors, created erased if missing), so apps'
    /// values persist across runs. Every write goes through to the file,
    /// so a killed run leaves it as a power cut leaves flash.
    pub fn use_storage_file(&self, path: &std::path::Path) -> std::io::Result<()> {
        let flash = FileFlash::<4, 4096>::open(path, STORAGE_SECTORS)?;
        let bytes = (STORAGE_SECTORS * 4096) as u32;
        let kv = FlashKv::new(flash, 0..bytes).map_err(std::io::Error::other)?;
        self.0.borrow_mut().storage = Box::new(kv);
        Ok(())
    }

    /// Answers `akira:ota` from `mailbox`, which a device loop serves
    /// (`akira_device::Device::serve_app_requests`). Without one every app
    /// is unmanaged: never on trial, no previous version.
    pub fn set_ota(&self, mailbox: &'static OtaMailbox<OTA_APPS>) {
        self.0.borrow_mut().ota = Some(mailbox);
    }

    /// A board on virtual time, starting at zero.
    pub fn virtual_time() -> SimBoard {
        SimBoard::new(Clock::Virtual(0))
    }

    /// A board on wall-clock time, starting now.
    pub fn real_time() -> SimBoard {
        SimBoard::new(Clock::Real(std::time::Instant::now()))
    }

    /// Calls `sink` with every record as it happens (the CLI prints them).
    pub fn set_sink(&self, sink: impl FnMut(&Record) + 'static) {
        self.0.borrow_mut().sink = Some(Box::new(sink));
    }

    /// Calls `sink` with every frame the apps flush to the screen (`akira
    /// run --display-out` saves them).
    pub fn set_frame_sink(&self, sink: impl FnMut(&Frame) + 'static) {
        self.0.borrow_mut().frame_sink = Some(Box::new(sink));
    }

    /// What the screen's buffer holds now (drawn, maybe not yet flushed),
    /// numbered as the next frame.
    pub fn screen(&self) -> Frame {
        let s = self.0.borrow();
        Frame::capture(s.frames + 1, s.screen.target())
    }

    /// How many frames were flushed.
    pub fn frames(&self) -> u32 {
        self.0.borrow().frames
    }

    /// An input event arrives for the HID device (the buttons make their
    /// own); `false` when the queue was full and it was dropped.
    pub fn hid_event(&self, event: Event) -> bool {
        self.0.borrow_mut().hid.events.push(event)
    }

    /// Whether time is virtual.
    pub fn is_virtual(&self) -> bool {
        matches!(self.0.borrow().clock, Clock::Virtual(_))
    }

    /// Moves virtual time forward to `t` (never back); waits for real time
    /// to reach `t`.
    pub fn advance_to(&self, t: Instant) {
        let clock = self.0.borrow().clock;
        match clock {
            Clock::Virtual(now) => {
                self.0.borrow_mut().clock = Clock::Virtual(now.max(t.as_micros()));
            }
            Clock::Real(_) => {
                let now = self.now();
                if t > now {
                    std::thread::sleep(t.saturating_since(now).min(Duration::from_secs(3600)));
                }
            }
        }
    }

    /// Sets an input pin's level, latching the edge if it changed.
    pub fn set_input(&self, pin: u32, high: bool) -> Result<(), Errno> {
        if pin >= INPUTS {
            return Err(if (pin as usize) < PINS { Errno::Unsupported } else { Errno::NoSuchResource });
        }
        let changed = {
            let mut s = self.0.borrow_mut();
            let Some(PinSlot::Input(p)) = s.pins.slot_mut(pin) else { return Err(Errno::NoSuchResource) };
            let changed = p.high != high;
            p.high = high;
            if changed {
                s.pins.record_edge(pin, if high { Edge::Rising } else { Edge::Falling });
                // The buttons are also the HID device's buttons.
                let code = pin as u16;
                s.hid.events.push(if high { Event::released(code) } else { Event::pressed(code) });
            }
            changed
        };
        if changed {
            self.record(None, What::Input { pin, high });
        }
        Ok(())
    }

    /// Fixes the board's temperature (milli-degrees Celsius), or with
    /// `None` returns to the default: 22.5 °C ± 2.5 °C, a sine of board
    /// time with a 60 s period (0 s: 22.5 °C, 15 s: 25 °C).
    pub fn set_temperature(&self, mc: Option<i32>) {
        self.0.borrow_mut().temperature_mc = mc;
    }

    /// The board's temperature now, in milli-degrees Celsius: what the
    /// TMP102 on I2C bus 0 and the temperature sensor channel measure.
    pub fn temperature_mc(&self) -> i32 {
        let fixed = self.0.borrow().temperature_mc;
        fixed.unwrap_or_else(|| {
            let t = self.now().as_micros() as f64 / 1e6;
            (22_500.0 + 2_500.0 * (t * std::f64::consts::TAU / 60.0).sin()).round() as i32
        })
    }

    /// Bytes arrive on serial port `port` (the script's `--uart-input`).
    pub fn uart_input(&self, port: u32, bytes: &[u8]) -> Result<(), Errno> {
        let dropped = self.0.borrow_mut().uarts.receive(port, bytes)?;
        self.record(None, What::UartInput { port, bytes: bytes.to_vec() });
        if dropped > 0 {
            self.record(None, What::Note(format!("uart{port}: receive buffer full, {dropped} bytes dropped")));
        }
        Ok(())
    }

    /// The scripted central ("the phone", `--gatt-client`) does `op`; what
    /// it sees is recorded.
    pub fn gatt_central(&self, op: &crate::ble::CentralOp) {
        let now = self.now();
        let seen = self.0.borrow_mut().ble.central(op, now);
        match seen {
            Ok(seen) => self.record(None, What::GattCentral(seen)),
            Err(why) => self.record(None, What::Note(format!("script: gatt central: {why}"))),
        }
    }

    /// A counter that moves whenever something arrives that a suspended
    /// app may be waiting for (serial bytes, radio packets): the
    /// simulation runs another round at the same time when it moved.
    pub fn arrivals(&self) -> u64 {
        let s = self.0.borrow();
        let shared = s.link.as_ref().map_or(0, crate::air::Link::deliveries);
        s.uarts.arrivals() + s.air.deliveries() + s.ble.deliveries() + shared
    }

    /// When the next radio transmission on the simulated air ends, or the
    /// next BLE advertising event someone may hear.
    pub fn next_air_event(&self) -> Option<Instant> {
        let s = self.0.borrow();
        [s.air.next_event(), s.ble.next_event()].into_iter().flatten().min()
    }

    /// Joins the air of a [`crate::air::Hub`]: from now on the apps'
    /// `akira:rf` and `akira:ble` calls go to the hub's medium, shared
    /// with the other devices on it, and [`crate::Simulation::run`] takes
    /// its time from the hub (the board must be on virtual time).
    pub fn join_air(&self, link: crate::air::Link) {
        self.0.borrow_mut().link = Some(link);
    }

    /// This board's number on the air it joined.
    pub fn air_device(&self) -> Option<u16> {
        self.0.borrow().link.as_ref().map(crate::air::Link::device)
    }

    /// Whether the board joined an air.
    pub(crate) fn on_air(&self) -> bool {
        self.0.borrow().link.is_some()
    }

    /// Runs `f` on the link, if the board joined an air.
    pub(crate) fn with_link<R>(&self, f: impl FnOnce(&mut crate::air::Link) -> R) -> Option<R> {
        self.0.borrow_mut().link.as_mut().map(f)
    }

    /// Why the board lost its air, if it did.
    pub fn air_error(&self) -> Option<crate::air::AirError> {
        self.0.borrow().link.as_ref().and_then(|l| l.error().cloned())
    }

    /// Sockets open on the simulated network: while there are any, a
    /// simulation on virtual time waits for real time to pass.
    pub fn open_sockets(&self) -> usize {
        self.0.borrow().net.open_count()
    }

    /// A PWM channel's duty and the duty meaning 100 %.
    pub fn pwm_duty(&self, channel: u32) -> Option<(u16, u16)> {
        self.0.borrow_mut().pwm.channel_mut(channel).map(|c| (c.duty, c.max))
    }

    /// The buzzer's (PWM channel 3) frequency in hertz.
    pub fn buzzer_hz(&self) -> u32 {
        self.0.borrow().buzzer_hz
    }

    /// Fixes analog input `channel` at `mv` millivolts, or with `None`
    /// returns it to its default (see [`crate::adc`]).
    pub fn set_adc_mv(&self, channel: u32, mv: Option<u32>) -> Result<(), Errno> {
        let mut s = self.0.borrow_mut();
        *s.adc_mv.get_mut(channel as usize).ok_or(Errno::NoSuchResource)? = mv;
        Ok(())
    }

    fn adc_input(&self, channel: u32) -> Result<u32, Errno> {
        let fixed = *self.0.borrow().adc_mv.get(channel as usize).ok_or(Errno::NoSuchResource)?;
        Ok(fixed.unwrap_or_else(|| crate::adc::default_mv(channel, self.now())))
    }

    /// Reseeds the random number generator (runs with the same seed draw
    /// the same bytes).
    pub fn seed_rng(&self, seed: u64) {
        self.0.borrow_mut().rng = crate::rng::SimRng::new(seed);
    }

    /// The level of any pin.
    pub fn level(&self, pin: u32) -> Result<bool, Errno> {
        self.0.borrow_mut().pins.read(pin)
    }

    /// How many records there are.
    pub fn record_count(&self) -> usize {
        self.0.borrow().records.len()
    }

    /// The records from index `from` on.
    pub fn records_from(&self, from: usize) -> Vec<Record> {
        self.0.borrow().records.get(from..).map(<[Record]>::to_vec).unwrap_or_default()
    }

    /// Everything recorded so far.
    pub fn records(&self) -> Vec<Record> {
        self.0.borrow().records.clone()
    }

    /// Records something at the current time.
    pub fn record(&self, app: Option<&AppInfo>, what: What) {
        let at = self.now();
        let record = Record { at, app: app.map(|a| a.name.to_string()), what };
        // Take the sink out while calling it, so it may use the board.
        let sink = self.0.borrow_mut().sink.take();
        if let Some(mut sink) = sink {
            sink(&record);
            self.0.borrow_mut().sink = Some(sink);
        }
        self.0.borrow_mut().records.push(record);
    }
}

impl Board for SimBoard {
    fn reset_reason(&self) -> ResetReason {
        ResetReason::PowerOn
    }

    fn power_hint(&mut self, app: &AppInfo, hint: PowerHint) {
        self.record(Some(app), What::Note(format!("sleep hint: {hint:?}")));
    }

    fn now(&self) -> Instant {
        match self.0.borrow().clock {
            Clock::Virtual(us) => Instant::from_micros(us),
            Clock::Real(start) => Instant::from_micros(u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX)),
        }
    }

    fn log(&mut self, app: &AppInfo, level: Level, message: &str) {
        self.record(Some(app), What::Log { level, message: message.to_string() });
    }

    fn trace(&mut self, app: &AppInfo, event: Trace<'_>) {
        let what = match event {
            Trace::Denied(d) => What::Denied(d.to_string()),
            Trace::PinConfigured { pin, output } => What::Configured { pin, output },
            Trace::PinWritten { pin, high } => What::Pin { pin, high },
            Trace::I2c { bus, addr, reg, wrote, read, result } => What::I2c {
                bus,
                addr,
                reg,
                wrote: wrote.to_vec(),
                read: if result.is_ok() { read.to_vec() } else { Vec::new() },
                result,
            },
            Trace::PwmDuty { channel, duty, max } => What::PwmDuty { channel, duty, max },
            Trace::PwmFrequency { channel, hz } => What::PwmFrequency { channel, hz },
            Trace::Adc { channel, value, millivolts } => What::Adc { channel, value, millivolts },
            Trace::Sensor { channel, kind, values } => What::Sensor { channel, kind, values: values.to_vec() },
            Trace::Random { len } => What::Random { len },
            Trace::Storage { op, key, len, result } => What::Storage { op, key: key.to_vec(), len, result },
            Trace::Uart { port, transmitted, bytes } => What::Uart { port, transmitted, bytes: bytes.to_vec() },
            Trace::Ipc { topic, published, bytes, subscribers } => {
                What::Ipc { topic, published, bytes: bytes.to_vec(), subscribers }
            }
            Trace::NetOpen { endpoint, host, port, result } => {
                What::NetOpen { endpoint, host: host.to_string(), port, result }
            }
            Trace::Net { socket, sent, bytes } => What::Net { socket, sent, bytes: bytes.to_vec() },
            Trace::Spi { device, wrote, read, result } => {
                What::Spi { device, wrote: wrote.to_vec(), read: read.to_vec(), result }
            }
            Trace::RfSent { frequency_hz, bytes, airtime_us, .. } => {
                What::RfSent { frequency_hz, bytes: bytes.to_vec(), airtime_us }
            }
            Trace::RfReceived { frequency_hz, bytes, rssi_dbm, snr_db } => {
                What::RfReceived { frequency_hz, bytes: bytes.to_vec(), rssi_dbm, snr_db }
            }
            Trace::Drawn { op, x, y, width, height } => What::Drawn { op, x, y, width, height },
            Trace::Flushed => What::Flushed { frame: self.frames() },
            Trace::HidReport { kind, bytes } => {
                let typed = if kind == akira_caps::scope::hid::KEYBOARD {
                    self.0.borrow_mut().hid.host_sees(bytes)
                } else {
                    None
                };
                What::HidReport { kind, bytes: bytes.to_vec(), typed }
            }
            Trace::BleAdvertising { interval_ms, data } => What::BleAdvertising { interval_ms, data: data.to_vec() },
            Trace::BleReport { address, rssi_dbm, data } => What::BleReport { address, rssi_dbm, data: data.to_vec() },
            Trace::GattEvent { kind, characteristic, data } => {
                What::GattEvent { kind, characteristic, data: data.to_vec() }
            }
            _ => return,
        };
        self.record(Some(app), what);
    }
}

impl Gpio for SimBoard {
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

impl I2c for SimBoard {
    fn transaction(&mut self, bus: u32, addr: u8, ops: &mut [Operation<'_>]) -> Result<(), Errno> {
        let env = Env { temperature_mc: self.temperature_mc() };
        let mut s = self.0.borrow_mut();
        if let Some(b) = s.i2c.bus_mut(bus) {
            b.set_env(env);
        }
        s.i2c.transaction(bus, addr, ops)
    }
}

impl Spi for SimBoard {
    fn transaction(&mut self, device: u32, ops: &mut [SpiOperation<'_, u8>]) -> Result<(), Errno> {
        self.0.borrow_mut().spi.transaction(device, ops)
    }
}

impl Uart for SimBoard {
    fn read(&mut self, port: u32, buf: &mut [u8]) -> Result<usize, Errno> {
        self.0.borrow_mut().uarts.read(port, buf)
    }
    fn write(&mut self, port: u32, data: &[u8]) -> Result<usize, Errno> {
        self.0.borrow_mut().uarts.write(port, data)
    }
}

impl Net for SimBoard {
    fn open(&mut self, transport: Transport, host: &str, port: u16) -> Result<u32, Errno> {
        self.0.borrow_mut().net.open(transport, host, port)
    }
    fn is_open(&mut self, socket: u32) -> Result<bool, Errno> {
        self.0.borrow_mut().net.is_open(socket)
    }
    fn send(&mut self, socket: u32, data: &[u8]) -> Result<usize, Errno> {
        self.0.borrow_mut().net.send(socket, data)
    }
    fn receive(&mut self, socket: u32, buf: &mut [u8]) -> Result<Option<usize>, Errno> {
        self.0.borrow_mut().net.receive(socket, buf)
    }
    fn close(&mut self, socket: u32) {
        self.0.borrow_mut().net.close(socket)
    }
}

impl Pwm for SimBoard {
    fn max_duty(&mut self, channel: u32) -> Result<u16, Errno> {
        self.0.borrow_mut().pwm.max_duty(channel)
    }
    fn set_duty(&mut self, channel: u32, duty: u16) -> Result<(), Errno> {
        self.0.borrow_mut().pwm.set_duty(channel, duty)
    }
    fn set_frequency(&mut self, channel: u32, hz: u32) -> Result<(), Errno> {
        crate::pwm::check_frequency(channel, hz)?;
        self.0.borrow_mut().buzzer_hz = hz;
        Ok(())
    }
}

impl Adc for SimBoard {
    fn resolution(&mut self, channel: u32) -> Result<u8, Errno> {
        self.adc_input(channel)?;
        Ok(crate::adc::BITS)
    }
    fn read_raw(&mut self, channel: u32) -> Result<u16, Errno> {
        Ok(crate::adc::code(self.adc_input(channel)?))
    }
    fn full_scale_mv(&mut self, channel: u32) -> Result<u32, Errno> {
        self.adc_input(channel)?;
        Ok(crate::adc::FULL_SCALE_MV)
    }
}

impl Sensors for SimBoard {
    fn kind(&mut self, channel: u32) -> Result<SensorKind, Errno> {
        crate::sensor::kind(channel)
    }
    fn read(&mut self, channel: u32) -> Result<Reading, Errno> {
        if channel != 0 {
            return crate::sensor::fixed(channel);
        }
        // The temperature channel is the TMP102 on bus 0, read as its
        // driver would.
        let mut raw = [0u8; 2];
        I2c::transaction(self, 0, 0x48, &mut [Operation::Write(&[0x00]), Operation::Read(&mut raw)])?;
        Reading::scalar(SensorKind::Temperature, Tmp102::decode(u16::from_be_bytes(raw))).ok_or(Errno::Io)
    }
}

impl Rng for SimBoard {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Errno> {
        self.0.borrow_mut().rng.fill(buf);
        Ok(())
    }
}

impl KvStore for SimBoard {
    fn get(&mut self, app: &str, key: &[u8], buf: &mut [u8]) -> Result<Option<usize>, Errno> {
        self.0.borrow_mut().storage.get(app, key, buf)
    }
    fn set(&mut self, app: &str, key: &[u8], value: &[u8], quota: u32) -> Result<(), Errno> {
        self.0.borrow_mut().storage.set(app, key, value, quota)
    }
    fn remove(&mut self, app: &str, key: &[u8]) -> Result<bool, Errno> {
        self.0.borrow_mut().storage.remove(app, key)
    }
    fn used(&mut self, app: &str) -> Result<u32, Errno> {
        self.0.borrow_mut().storage.used(app)
    }
}

impl OtaControl for SimBoard {
    fn status(&mut self, app: &str) -> OtaStatus {
        self.0.borrow().ota.map(|m| m.status(app)).unwrap_or_default()
    }
    fn request(&mut self, app: &str, request: OtaRequest) -> Result<(), Errno> {
        match self.0.borrow().ota {
            Some(m) => m.request(app, request),
            None if request == OtaRequest::Rollback => Err(Errno::NoSuchResource),
            None => Ok(()),
        }
    }
}

impl Rf for SimBoard {
    fn configure(&mut self, app: u16, config: &LoraConfig) -> Result<(), Errno> {
        let mut s = self.0.borrow_mut();
        match s.link.as_mut() {
            Some(link) => link.rf_configure(app, config),
            None => {
                s.air.configure(app.into(), config);
                Ok(())
            }
        }
    }
    fn config(&self, app: u16) -> Option<LoraConfig> {
        let mut s = self.0.borrow_mut();
        match s.link.as_mut() {
            Some(link) => link.rf_config(app),
            None => s.air.config(app.into()),
        }
    }
    fn start(&mut self, app: u16, job: Job<'_>, deadline: Instant) -> Result<(), Errno> {
        let now = self.now();
        let mut s = self.0.borrow_mut();
        match s.link.as_mut() {
            Some(link) => link.rf_start(app, job, deadline),
            None => s.air.start(app.into(), now, job, deadline),
        }
    }
    fn poll(&mut self, app: u16, now: Instant, buf: &mut [u8]) -> Option<Result<Outcome, Errno>> {
        let mut s = self.0.borrow_mut();
        match s.link.as_mut() {
            Some(link) => link.rf_poll(app, buf),
            None => s.air.poll(app.into(), now, buf),
        }
    }
    fn last_packet(&self, app: u16) -> Option<PacketInfo> {
        let mut s = self.0.borrow_mut();
        match s.link.as_mut() {
            Some(link) => link.rf_last_packet(app),
            None => s.air.last_packet(app.into()),
        }
    }
    fn release(&mut self, app: u16) {
        let mut s = self.0.borrow_mut();
        match s.link.as_mut() {
            Some(link) => link.rf_release(app),
            None => s.air.remove(app.into()),
        }
    }
}

impl Display for SimBoard {
    type Target = SimFramebuffer;
    fn draw<R>(&mut self, f: impl FnOnce(&mut Self::Target) -> R) -> Result<R, Errno> {
        self.0.borrow_mut().screen.draw(f)
    }
    /// Numbers the frame and hands it to the frame sink.
    fn flush(&mut self) -> Result<(), Errno> {
        let (frame, sink) = {
            let mut s = self.0.borrow_mut();
            s.frames += 1;
            (Frame::capture(s.frames, s.screen.target()), s.frame_sink.take())
        };
        // Called with the board released, so it may use the board.
        if let Some(mut sink) = sink {
            sink(&frame);
            self.0.borrow_mut().frame_sink = Some(sink);
        }
        Ok(())
    }
}

impl Hid for SimBoard {
    fn room(&mut self, kind: u32) -> Result<usize, Errno> {
        crate::hid::SimHid::room(kind)
    }
    fn send(&mut self, _report: &Report<'_>) -> Result<(), Errno> {
        // The host takes every report at once; the bridge's trace records it.
        Ok(())
    }
    fn next_event(&mut self) -> Option<Event> {
        self.0.borrow_mut().hid.events.pop()
    }
}

impl Ble for SimBoard {
    fn start(&mut self, app: u16, job: BleJob, _deadline: Instant) -> Result<(), Errno> {
        let now = self.now();
        let mut s = self.0.borrow_mut();
        match s.link.as_mut() {
            Some(link) => link.ble_start(app, job),
            None => s.ble.start(app.into(), now, job),
        }
    }
    fn poll(&mut self, app: u16, _now: Instant) -> Option<Result<(), Errno>> {
        let mut s = self.0.borrow_mut();
        match s.link.as_mut() {
            Some(link) => link.ble_poll(app),
            None => s.ble.poll(app.into()),
        }
    }
    fn next_report(&mut self, app: u16, now: Instant) -> Result<Option<ScanReport>, Errno> {
        let mut s = self.0.borrow_mut();
        match s.link.as_mut() {
            Some(link) => link.ble_next_report(app),
            None => s.ble.next_report(app.into(), now),
        }
    }
    fn release(&mut self, app: u16) {
        if let Some(link) = self.0.borrow_mut().link.as_mut() {
            link.ble_release(app);
        }
        // GATT servers and the phone stay on the board, joined or not.
        let seen = self.0.borrow_mut().ble.forget(app.into());
        if let Some(seen) = seen {
            self.record(None, What::GattCentral(seen));
        }
    }
    fn gatt_declare(&mut self, app: u16, declaration: GattDeclaration) -> Result<u8, Errno> {
        self.0.borrow_mut().ble.gatt_declare(app.into(), declaration)
    }
    fn gatt_start(&mut self, app: u16, job: GattJob, value: &[u8], _deadline: Instant) -> Result<bool, Errno> {
        let now = self.now();
        let (queued, seen) = self.0.borrow_mut().ble.gatt_start(app.into(), now, job, value)?;
        if let Some(seen) = seen {
            self.record(None, What::GattCentral(seen));
        }
        Ok(queued)
    }
    fn gatt_poll(&mut self, app: u16, _now: Instant) -> Option<Result<(), Errno>> {
        self.0.borrow_mut().ble.gatt_poll(app.into())
    }
    fn gatt_next_event(&mut self, app: u16, _now: Instant) -> Result<Option<GattEvent>, Errno> {
        self.0.borrow_mut().ble.gatt_next_event(app.into())
    }
}
