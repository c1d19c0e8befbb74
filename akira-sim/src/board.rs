//! The simulated board: 16 logical pins, a clock, a console.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

use akira_bridge::{
    AppInfo, Board, Edge, Errno, Event, FlashKv, Gpio, I2cBuses, Instant, KvStore, MemoryPin, OtaMailbox, PinBank,
    PinSlot, PwmChannels, SpiDevices,
};
use akira_ota::testing::{FileFlash, SimFlash};

use crate::display::{Frame, SimScreen};
use crate::i2c::{Eeprom24c02, SimI2cBus, Tmp102};
use crate::pwm::SimPwmChannel;
use crate::record::{Record, What};
use crate::spi::{Loopback, SimSpiDevice, SpiFlash};
use crate::uart::SimUarts;

mod modules;

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
    records: Records,
    sink: Option<Sink>,
}

/// How many records a board keeps by default (the newest; about 10 MB).
pub const RECORDS_KEPT: usize = 100_000;

/// The newest records, in a bounded ring: a long run's memory stays
/// flat, and the sink still hears every record as it happens.
struct Records {
    ring: VecDeque<Record>,
    /// Records the ring let go of, oldest first.
    dropped: usize,
    kept: usize,
}

impl Records {
    fn push(&mut self, record: Record) {
        if self.kept == 0 {
            self.dropped += 1;
            return;
        }
        if self.ring.len() == self.kept {
            self.ring.pop_front();
            self.dropped += 1;
        }
        self.ring.push_back(record);
    }
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
            records: Records { ring: VecDeque::new(), dropped: 0, kept: RECORDS_KEPT },
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
    /// to reach `t`. What the air carried by then (advertising events,
    /// packets whose transmission ended) reaches the apps' queues, whether
    /// or not an app is calling the radio: an app asleep in a timer while
    /// it scans would otherwise leave a past event at the head of the
    /// air's schedule, and the simulation would spin at that instant.
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
        let now = self.now();
        let mut s = self.0.borrow_mut();
        s.air.settle(now);
        s.ble.settle(now);
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

    /// How many records there have been (the ring keeps the newest
    /// [`SimBoard::set_records_kept`]; the count includes those it let go).
    pub fn record_count(&self) -> usize {
        let records = &self.0.borrow().records;
        records.dropped + records.ring.len()
    }

    /// How many of the oldest records the ring let go of.
    pub fn records_dropped(&self) -> usize {
        self.0.borrow().records.dropped
    }

    /// Keeps at most the newest `kept` records from now on ([`RECORDS_KEPT`]
    /// by default), letting the oldest go.
    pub fn set_records_kept(&self, kept: usize) {
        let records = &mut self.0.borrow_mut().records;
        records.kept = kept;
        while records.ring.len() > kept {
            records.ring.pop_front();
            records.dropped += 1;
        }
    }

    /// The records numbered `from` on (numbered from 0 in the order they
    /// happened, as [`SimBoard::record_count`] counts them); those the
    /// ring let go of are missing.
    pub fn records_from(&self, from: usize) -> Vec<Record> {
        let records = &self.0.borrow().records;
        records.ring.iter().skip(from.saturating_sub(records.dropped)).cloned().collect()
    }

    /// The records kept: everything recorded so far, unless the ring let
    /// the oldest go.
    pub fn records(&self) -> Vec<Record> {
        self.0.borrow().records.ring.iter().cloned().collect()
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
