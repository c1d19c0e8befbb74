use super::*;
use crate::board::Board;
use crate::errno::Errno;
use crate::modules::adc::Adc;
use crate::modules::ble::{Ble, BleJob, ScanReport};
use crate::modules::gpio::MemoryPin;
use crate::modules::gpio::{Edge, Edges, Gpio, PinMode, PinSlot};
use crate::modules::i2c_async::AsyncI2c;
use crate::modules::pwm::Pwm;
use crate::modules::rf::{Job, LoraConfig, Outcome, PacketInfo, Rf};
use crate::modules::rng::Rng;
use crate::modules::spi::SpiOp;
use crate::modules::spi_async::AsyncSpi;
use crate::modules::storage::KvStore;
use crate::modules::uart::Uart;
use crate::time::Instant;

static CELL: BoardCell<MemoryPin, 4> = BoardCell::new();

fn clock() -> Instant {
    Instant::from_micros(42)
}

#[test]
fn a_shared_board_drives_outputs_and_takes_latched_edges() {
    let pins = [CELL.input(0), PinSlot::Output(MemoryPin::new(false)), PinSlot::Unused, PinSlot::Unused];
    let mut board = SharedBoard::init(&CELL, pins, clock, |_, _, _| {}).unwrap();
    assert_eq!(
        SharedBoard::init(&CELL, core::array::from_fn(|_| PinSlot::Unused), clock, |_, _, _| {}).err(),
        Some(AlreadyInitialised)
    );
    assert_eq!(board.now(), Instant::from_micros(42));
    board.write(1, true).unwrap();
    assert_eq!(board.read(1), Ok(true));
    assert_eq!(board.write(0, true), Err(Errno::Unsupported), "inputs cannot be driven");
    CELL.latch().record(0, true);
    assert_eq!(board.read(0), Ok(true));
    assert_eq!(board.take_edge(0, Edges::RISING), Ok(Some(Edge::Rising)));
    assert_eq!(board.take_edge(1, Edges::ANY), Err(Errno::Unsupported));
    CELL.latch().record(0, false);
    board.configure(0, PinMode::Input).unwrap();
    assert_eq!(board.take_edge(0, Edges::ANY), Ok(None), "configure clears latched edges");
    let copy = board;
    assert!(core::ptr::eq(copy.latch(), board.latch()));
}

static ADAPTER: AdapterCell<MemoryPin, 2, NoRng> = AdapterCell::new();
static ADAPTER_PORT: UartPort = UartPort::new();

#[test]
fn an_adapter_cell_sets_the_board_up_once_and_wakes_on_inputs_and_peripherals() {
    use core::future::Future;
    use core::pin::pin;
    use core::task::{Context, Waker};

    let mut cx = Context::from_waker(Waker::noop());
    let extra: Peripherals<NoRng> = Peripherals { uart: [Some(&ADAPTER_PORT), None, None, None], ..Default::default() };
    let board = ADAPTER.init([ADAPTER.input(0), PinSlot::Unused], clock, |_, _, _| {}, extra).unwrap();
    let again = ADAPTER.init([PinSlot::Unused, PinSlot::Unused], clock, |_, _, _| {}, Peripherals::default());
    assert_eq!(again.err(), Some(AlreadyInitialised));
    assert!(board.peripherals().uart[0].is_some(), "the handle carries the peripherals");

    let mut idle = pin!(ADAPTER.changed());
    assert!(idle.as_mut().poll(&mut cx).is_pending());
    ADAPTER.latch().record(0, true);
    assert!(idle.as_mut().poll(&mut cx).is_ready(), "an input edge wakes it");

    let mut idle = pin!(ADAPTER.changed());
    assert!(idle.as_mut().poll(&mut cx).is_pending());
    ADAPTER_PORT.receive(b"hi");
    assert!(idle.as_mut().poll(&mut cx).is_ready(), "bytes on a port the board was given wake it");
}

/// A counting "generator" for the forwarding test.
struct Counter(u8);

impl Rng for Counter {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Errno> {
        for b in buf {
            self.0 += 1;
            *b = self.0;
        }
        Ok(())
    }
}

static PERIPHERALS_CELL: BoardCell<MemoryPin, 1> = BoardCell::new();
static RNG: Shared<Counter> = Shared::new();

#[test]
fn peripherals_are_forwarded_and_shared_by_every_copy() {
    let board = SharedBoard::init(&PERIPHERALS_CELL, [PinSlot::Unused], clock, |_, _, _| {}).unwrap();
    let mut board = board.with_peripherals(&RNG);
    let mut buf = [0u8; 3];
    assert_eq!(board.fill(&mut buf), Err(Errno::Unsupported), "no driver in the cell yet");
    RNG.init(Counter(0)).unwrap();
    assert!(RNG.init(Counter(9)).is_err(), "a cell takes one driver");
    board.fill(&mut buf).unwrap();
    assert_eq!(buf, [1, 2, 3]);
    let mut copy = board;
    copy.fill(&mut buf).unwrap();
    assert_eq!(buf, [4, 5, 6], "copies share the driver");
    assert_eq!(board.now(), Instant::from_micros(42), "the base board still works");
}

static BUS_2: I2cBus = I2cBus::new();
static FLASH_1: SpiDev = SpiDev::new();
static ADAPTER_CELL: BoardCell<MemoryPin, 1> = BoardCell::new();
static PERIPHERALS_RNG: Shared<Counter> = Shared::new();

#[test]
fn adapter_peripherals_route_buses_and_devices_and_wake_the_idle_future() {
    use core::future::Future;
    use core::pin::pin;
    use core::task::{Context, Waker};
    use embedded_hal_mock::eh1::i2c::{Mock, Transaction};
    use embedded_hal_mock::eh1::spi::{Mock as SpiMock, Transaction as SpiTransaction};

    let mut extra = Peripherals { rng: Some(PERIPHERALS_RNG.init(Counter(0)).unwrap()), ..Default::default() };
    extra.i2c[2] = Some(&BUS_2);
    extra.spi[1] = Some(&FLASH_1);
    let mut cx = Context::from_waker(Waker::noop());
    let mut idle = pin!(extra.changed());
    assert!(idle.as_mut().poll(&mut cx).is_pending());

    // Through the board, as the modules see it.
    let board = SharedBoard::init(&ADAPTER_CELL, [PinSlot::Unused], clock, |_, _, _| {}).unwrap();
    let mut board = board.with_peripherals(extra);

    assert_eq!(
        AsyncI2c::start(&mut board, 1, 0, 0x48, [&[0], &[]], 2),
        Err(Errno::NoSuchResource),
        "bus 0 is not fitted"
    );
    assert_eq!(AsyncI2c::poll(&mut board, 1, 9, &mut []), Some(Err(Errno::NoSuchResource)));
    AsyncI2c::start(&mut board, 1, 2, 0x48, [&[0], &[]], 2).unwrap();
    let mut bus = Mock::new(&[Transaction::write_read(0x48, vec![0], vec![0x19, 0x40])]);
    assert!(pin!(BUS_2.serve(&mut bus)).poll(&mut cx).is_pending(), "served, then waiting for more");
    assert!(idle.as_mut().poll(&mut cx).is_ready(), "the finished transfer on bus 2 wakes the board");
    let mut read = [0u8; 2];
    assert_eq!(AsyncI2c::poll(&mut board, 1, 2, &mut read), Some(Ok(())));
    assert_eq!(read, [0x19, 0x40]);
    bus.done();

    // SPI device 1 only; the JEDEC id of a W25Q80, as one transaction.
    let mut idle = pin!(extra.changed());
    assert!(idle.as_mut().poll(&mut cx).is_pending(), "the I2C transfer is old news");
    let jedec = [0x9f];
    assert_eq!(
        AsyncSpi::start(&mut board, 1, 0, SpiOp::WriteThenRead, &jedec, 3),
        Err(Errno::NoSuchResource),
        "device 0 is not fitted"
    );
    assert_eq!(AsyncSpi::start(&mut board, 1, 4, SpiOp::Write, &jedec, 0), Err(Errno::NoSuchResource));
    assert_eq!(AsyncSpi::poll(&mut board, 1, 4, &mut []), Some(Err(Errno::NoSuchResource)));
    assert_eq!(
        AsyncSpi::start(&mut board, 1, 1, SpiOp::Write, &[0; SPI_BUF + 1], 0),
        Err(Errno::TooLarge),
        "beyond the adapters' buffers"
    );
    AsyncSpi::start(&mut board, 1, 1, SpiOp::WriteThenRead, &jedec, 3).unwrap();
    let mut read = [0u8; 3];
    assert_eq!(AsyncSpi::poll(&mut board, 1, 1, &mut read), None, "not served yet");
    let mut device = SpiMock::new(&[
        SpiTransaction::transaction_start(),
        SpiTransaction::write_vec(vec![0x9f]),
        SpiTransaction::read_vec(vec![0xef, 0x40, 0x14]),
        SpiTransaction::transaction_end(),
    ]);
    assert!(idle.as_mut().poll(&mut cx).is_pending());
    assert!(pin!(FLASH_1.serve(&mut device)).poll(&mut cx).is_pending(), "served, then waiting for more");
    assert!(idle.as_mut().poll(&mut cx).is_ready(), "the finished call on SPI device 1 wakes the board");
    assert_eq!(AsyncSpi::poll(&mut board, 1, 1, &mut read), Some(Ok(())));
    assert_eq!(read, [0xef, 0x40, 0x14]);
    device.done();

    let mut buf = [0u8; 2];
    extra.fill(&mut buf).unwrap();
    assert_eq!(buf, [1, 2]);
    let mut none: Peripherals<NoRng> = Peripherals::default();
    assert_eq!(none.fill(&mut buf), Err(Errno::Unsupported));
    assert_eq!(AsyncSpi::start(&mut none, 1, 0, SpiOp::Write, &jedec, 0), Err(Errno::NoSuchResource));
    let mut nothing = pin!(none.changed());
    assert!(nothing.as_mut().poll(&mut cx).is_pending(), "no bus or device: idle waits on the rest");
}

/// A PWM driver with four outputs (max duty 1000) recording each call.
struct RecordingPwm(Vec<String>);

impl Pwm for RecordingPwm {
    fn max_duty(&mut self, channel: u32) -> Result<u16, Errno> {
        if channel < 4 { Ok(1000) } else { Err(Errno::NoSuchResource) }
    }
    fn set_duty(&mut self, channel: u32, duty: u16) -> Result<(), Errno> {
        self.0.push(format!("output {channel} duty {duty}"));
        Ok(())
    }
    fn set_frequency(&mut self, channel: u32, hz: u32) -> Result<(), Errno> {
        self.0.push(format!("output {channel} {hz} Hz"));
        Ok(())
    }
}

/// A 12-bit converter over 3.3 V whose inputs read fixed codes.
struct FixedAdc([u16; 2]);

impl Adc for FixedAdc {
    fn resolution(&mut self, _: u32) -> Result<u8, Errno> {
        Ok(12)
    }
    fn read_raw(&mut self, channel: u32) -> Result<u16, Errno> {
        self.0.get(channel as usize).copied().ok_or(Errno::NoSuchResource)
    }
    fn full_scale_mv(&mut self, _: u32) -> Result<u32, Errno> {
        Ok(3300)
    }
}

static TIMER_A: Shared<RecordingPwm> = Shared::new();
static TIMER_B: Shared<RecordingPwm> = Shared::new();
static CONVERTER: Shared<FixedAdc> = Shared::new();
static UNSET_CONVERTER: Shared<FixedAdc> = Shared::new();

#[test]
fn pwm_and_adc_channels_are_routed_to_their_driver_outputs() {
    TIMER_A.init(RecordingPwm(Vec::new())).unwrap();
    TIMER_B.init(RecordingPwm(Vec::new())).unwrap();
    CONVERTER.init(FixedAdc([0, 2048])).unwrap();
    let mut extra: Peripherals<NoRng> = Peripherals::default();
    // App channels 0-1 are outputs 2-3 of timer A, channel 5 output 0 of timer B.
    extra.pwm[0] = Some(PwmRoute::pwm(&TIMER_A, 2));
    extra.pwm[1] = Some(PwmRoute::pwm(&TIMER_A, 3));
    extra.pwm[5] = Some(PwmRoute::pwm(&TIMER_B, 0));
    extra.pwm[7] = Some(PwmRoute::pwm(&TIMER_B, 4));
    extra.adc[0] = Some(AdcRoute::adc(&CONVERTER, 1));
    extra.adc[1] = Some(AdcRoute::adc(&UNSET_CONVERTER, 0));

    assert_eq!(extra.max_duty(0), Ok(1000));
    extra.set_duty(0, 250).unwrap();
    extra.set_duty(1, 1000).unwrap();
    extra.set_duty(5, 0).unwrap();
    extra.set_frequency(5, 440).unwrap();
    assert_eq!(extra.set_duty(2, 1), Err(Errno::NoSuchResource), "channel 2 is not fitted");
    assert_eq!(extra.set_frequency(PWM_CHANNELS as u32, 1), Err(Errno::NoSuchResource));
    assert_eq!(extra.max_duty(u32::MAX), Err(Errno::NoSuchResource));
    assert_eq!(extra.max_duty(7), Err(Errno::NoSuchResource), "the driver's own refusal comes through");
    assert_eq!(TIMER_A.with(|t| t.0.clone()).unwrap(), ["output 2 duty 250", "output 3 duty 1000"]);
    assert_eq!(TIMER_B.with(|t| t.0.clone()).unwrap(), ["output 0 duty 0", "output 0 440 Hz"]);

    // Through the board, as the modules see it.
    static ADC_CELL: BoardCell<MemoryPin, 1> = BoardCell::new();
    let board = SharedBoard::init(&ADC_CELL, [PinSlot::Unused], clock, |_, _, _| {}).unwrap();
    let mut board = board.with_peripherals(extra);
    assert_eq!(Adc::resolution(&mut board, 0), Ok(12));
    assert_eq!(Adc::full_scale_mv(&mut board, 0), Ok(3300));
    assert_eq!(Adc::read_raw(&mut board, 0), Ok(2048), "app channel 0 is input 1");
    assert_eq!(Adc::read_millivolts(&mut board, 0), Ok(1650));
    assert_eq!(Adc::read_raw(&mut board, 1), Err(Errno::Unsupported), "a driver cell never filled");
    assert_eq!(Adc::read_raw(&mut board, 2), Err(Errno::NoSuchResource));
    Pwm::set_duty(&mut board, 1, 500).unwrap();
    assert_eq!(TIMER_A.with(|t| t.0.last().cloned()).unwrap().as_deref(), Some("output 3 duty 500"));
}

static PORT_0: UartPort = UartPort::new();
static PORT_2: UartPort = UartPort::new();

/// A UART transmitter that keeps what it was given.
struct Sent(Vec<u8>);

impl embedded_io_async::ErrorType for Sent {
    type Error = core::convert::Infallible;
}

impl embedded_io_async::Write for Sent {
    async fn write(&mut self, data: &[u8]) -> Result<usize, Self::Error> {
        self.0.extend_from_slice(data);
        Ok(data.len())
    }
    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// A UART receiver that has `bytes` and then nothing more.
struct Incoming(&'static [u8]);

impl embedded_io_async::ErrorType for Incoming {
    type Error = core::convert::Infallible;
}

impl embedded_io_async::Read for Incoming {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        if self.0.is_empty() {
            return core::future::pending().await;
        }
        let n = buf.len().min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn uart_ports_move_bytes_between_apps_and_the_pump_tasks_and_wake_the_idle_future() {
    use core::future::Future;
    use core::pin::pin;
    use core::task::{Context, Waker};

    let mut extra: Peripherals<NoRng> = Peripherals::default();
    extra.uart[0] = Some(&PORT_0);
    extra.uart[2] = Some(&PORT_2);
    let mut cx = Context::from_waker(Waker::noop());
    let mut idle = pin!(extra.changed());
    assert!(idle.as_mut().poll(&mut cx).is_pending());

    let mut buf = [0u8; 8];
    assert_eq!(Uart::read(&mut extra, 2, &mut buf), Ok(0), "nothing received yet");
    assert_eq!(Uart::read(&mut extra, 1, &mut buf), Err(Errno::NoSuchResource), "port 1 is not fitted");
    assert_eq!(Uart::write(&mut extra, UART_PORTS as u32, b"x"), Err(Errno::NoSuchResource));

    // The receive task reads "hello" off the wire into port 2.
    assert!(pin!(PORT_2.pump_rx(Incoming(b"hello"))).poll(&mut cx).is_pending());
    assert!(idle.as_mut().poll(&mut cx).is_ready(), "bytes on port 2 wake the board");
    assert_eq!(Uart::read(&mut extra, 2, &mut buf[..3]), Ok(3));
    assert_eq!(&buf[..3], b"hel");
    assert_eq!(Uart::read(&mut extra, 2, &mut buf), Ok(2));
    assert_eq!(&buf[..2], b"lo");
    assert_eq!(Uart::read(&mut extra, 0, &mut buf), Ok(0), "ports are apart");

    // An app queues more than the transmit ring holds: it takes what fits.
    let long = [0x55u8; UART_TX + 10];
    assert_eq!(Uart::write(&mut extra, 0, &long), Ok(UART_TX));
    assert_eq!(Uart::write(&mut extra, 0, b"!"), Ok(0), "full until the task sends");
    let mut idle = pin!(extra.changed());
    assert!(idle.as_mut().poll(&mut cx).is_pending());
    let mut wire = Sent(Vec::new());
    assert!(pin!(PORT_0.pump_tx(&mut wire)).poll(&mut cx).is_pending());
    assert_eq!(wire.0, [0x55; UART_TX], "the task sent the queued bytes in order");
    assert!(idle.as_mut().poll(&mut cx).is_ready(), "room on port 0 wakes the board");
    assert_eq!(Uart::write(&mut extra, 0, b"!"), Ok(1));
}

type Flash = akira_ota::testing::SimFlash<4, 1024>;
static KV: Shared<crate::FlashKv<Flash>> = Shared::new();

#[test]
fn the_key_value_store_is_shared_by_every_copy_and_absent_without_one() {
    let mut none: Peripherals<NoRng> = Peripherals::default();
    let mut buf = [0u8; 8];
    assert_eq!(KvStore::get(&mut none, "a", b"k", &mut buf), Err(Errno::Unsupported));
    assert_eq!(KvStore::set(&mut none, "a", b"k", b"v", 64), Err(Errno::Unsupported));

    let kv = KV.init(crate::FlashKv::new(Flash::new(4), 0..4096).unwrap()).unwrap();
    let mut extra: Peripherals<NoRng> = Peripherals { storage: Some(kv), ..Default::default() };
    let mut copy = extra;
    KvStore::set(&mut extra, "weather", b"unit", b"C", 64).unwrap();
    assert_eq!(KvStore::get(&mut copy, "weather", b"unit", &mut buf), Ok(Some(1)));
    assert_eq!(&buf[..1], b"C");
    assert_eq!(KvStore::get(&mut copy, "other", b"unit", &mut buf), Ok(None), "apps are apart");
    assert_eq!(KvStore::set(&mut copy, "weather", b"log", &[0; 100], 64), Err(Errno::NoSpace), "past the quota");
    assert_eq!(KvStore::used(&mut copy, "weather"), Ok(5));
    assert_eq!(KvStore::remove(&mut extra, "weather", b"unit"), Ok(true));
    assert_eq!(KvStore::get(&mut copy, "weather", b"unit", &mut buf), Ok(None));
}

static RADIO: LoraRadio = LoraRadio::new();
static RF_CELL: BoardCell<MemoryPin, 1> = BoardCell::new();

/// A radio that "sends" by recording the bytes and "receives" a fixed
/// packet.
struct Loopback(std::rc::Rc<core::cell::RefCell<std::vec::Vec<std::vec::Vec<u8>>>>);

impl crate::Radio for Loopback {
    async fn transmit(&mut self, _: &LoraConfig, data: &[u8]) -> Result<(), Errno> {
        self.0.borrow_mut().push(data.to_vec());
        Ok(())
    }

    async fn receive(&mut self, _: &LoraConfig, buf: &mut [u8]) -> Result<(usize, PacketInfo), Errno> {
        let n = buf.len().min(3);
        buf[..n].copy_from_slice(&b"pong"[..n]);
        Ok((n, PacketInfo { rssi_dbm: -70, snr_db: 9 }))
    }

    async fn standby(&mut self) -> Result<(), Errno> {
        Ok(())
    }
}

#[test]
fn the_lora_radio_is_routed_through_the_board_and_wakes_the_idle_future() {
    use core::future::Future;
    use core::pin::pin;
    use core::task::{Context, Waker};

    let config = LoraConfig {
        frequency_hz: 868_100_000,
        spreading_factor: 7,
        bandwidth_hz: 125_000,
        coding_rate: 5,
        power_dbm: 14,
    };
    let deadline = Instant::from_micros(1_000_000);
    let mut none: Peripherals<NoRng> = Peripherals::default();
    assert_eq!(Rf::configure(&mut none, 1, &config), Err(Errno::Unsupported), "no radio fitted");
    assert_eq!(Rf::poll(&mut none, 1, Instant::ZERO, &mut []), Some(Err(Errno::Unsupported)));
    assert_eq!(none.config(1), None);

    let extra: Peripherals<NoRng> = Peripherals { rf: Some(&RADIO), ..Default::default() };
    let board = SharedBoard::init(&RF_CELL, [PinSlot::Unused], clock, |_, _, _| {}).unwrap();
    let mut board = board.with_peripherals(extra);
    let mut cx = Context::from_waker(Waker::noop());
    let mut idle = pin!(extra.changed());
    assert!(idle.as_mut().poll(&mut cx).is_pending());

    Rf::configure(&mut board, 1, &config).unwrap();
    assert_eq!(board.config(1), Some(config));
    Rf::start(&mut board, 1, Job::Send(b"ping"), deadline).unwrap();
    assert_eq!(Rf::start(&mut board, 1, Job::Send(b"again"), deadline), Err(Errno::Busy), "one job per app");
    let mut buf = [0u8; 8];
    assert_eq!(Rf::poll(&mut board, 1, Instant::ZERO, &mut buf), None, "not served yet");

    let sent = std::rc::Rc::new(core::cell::RefCell::new(std::vec::Vec::new()));
    {
        let delay = crate::testing::VirtualDelay(std::rc::Rc::default());
        let mut task = pin!(RADIO.serve(Loopback(sent.clone()), delay));
        assert!(task.as_mut().poll(&mut cx).is_pending(), "served, then waiting for more");
        assert!(idle.as_mut().poll(&mut cx).is_ready(), "the finished send wakes the board");
        assert_eq!(Rf::poll(&mut board, 1, Instant::ZERO, &mut buf), Some(Ok(Outcome::Sent)));

        Rf::start(&mut board, 1, Job::Receive { max_len: 8 }, deadline).unwrap();
        assert!(task.as_mut().poll(&mut cx).is_pending());
        let got = Rf::poll(&mut board, 1, Instant::ZERO, &mut buf);
        let packet = PacketInfo { rssi_dbm: -70, snr_db: 9 };
        assert_eq!(got, Some(Ok(Outcome::Received { len: 3, packet })));
        assert_eq!(&buf[..3], b"pon");
        assert_eq!(board.last_packet(1), Some(packet));
    }
    assert_eq!(*sent.borrow(), [b"ping".to_vec()], "the app's bytes went to the radio");
}

static CONTROLLER: BleController = BleController::new();
static BLE_CELL: BoardCell<MemoryPin, 1> = BoardCell::new();

/// A controller that records the advertising data it is given (an
/// empty entry for a stop) and never reports.
struct Recorder(std::rc::Rc<core::cell::RefCell<std::vec::Vec<std::vec::Vec<u8>>>>);

impl crate::BleRadio for Recorder {
    async fn advertise(&self, config: &crate::AdvConfig) -> Result<(), Errno> {
        self.0.borrow_mut().push(config.data.as_bytes().to_vec());
        Ok(())
    }

    async fn stop_advertising(&self) -> Result<(), Errno> {
        self.0.borrow_mut().push(std::vec::Vec::new());
        Ok(())
    }

    async fn scan(&self, _: &crate::ScanConfig) -> Result<(), Errno> {
        Ok(())
    }

    async fn stop_scanning(&self) -> Result<(), Errno> {
        Ok(())
    }

    async fn read_reports(&self, _: &mut dyn FnMut(&ScanReport)) -> Result<(), Errno> {
        core::future::pending().await
    }
}

#[test]
fn the_ble_controller_is_routed_through_the_board_and_wakes_the_idle_future() {
    use core::future::Future;
    use core::pin::pin;
    use core::task::{Context, Waker};

    let config =
        crate::AdvConfig { interval_ms: 100, data: crate::AdvData::new(&[2, 1, 6]).unwrap(), scan_response: None };
    let deadline = Instant::from_micros(1_000_000);
    let mut none: Peripherals<NoRng> = Peripherals::default();
    assert_eq!(Ble::start(&mut none, 1, BleJob::Advertise(config), deadline), Err(Errno::Unsupported));
    assert_eq!(Ble::poll(&mut none, 1, Instant::ZERO), Some(Err(Errno::Unsupported)));
    assert_eq!(none.next_report(1, Instant::ZERO), Err(Errno::Unsupported));

    let extra: Peripherals<NoRng> = Peripherals { ble: Some(&CONTROLLER), ..Default::default() };
    let board = SharedBoard::init(&BLE_CELL, [PinSlot::Unused], clock, |_, _, _| {}).unwrap();
    let mut board = board.with_peripherals(extra);
    let mut cx = Context::from_waker(Waker::noop());
    let mut idle = pin!(extra.changed());
    assert!(idle.as_mut().poll(&mut cx).is_pending());

    Ble::start(&mut board, 1, BleJob::Advertise(config), deadline).unwrap();
    assert_eq!(Ble::poll(&mut board, 1, Instant::ZERO), None, "not served yet");
    let advertised = std::rc::Rc::new(core::cell::RefCell::new(std::vec::Vec::new()));
    let delay = crate::testing::VirtualDelay(std::rc::Rc::default());
    let mut task = pin!(CONTROLLER.serve(Recorder(advertised.clone()), delay));
    assert!(task.as_mut().poll(&mut cx).is_pending(), "served, then waiting for more");
    assert!(idle.as_mut().poll(&mut cx).is_ready(), "the finished job wakes the board");
    assert_eq!(Ble::poll(&mut board, 1, Instant::ZERO), Some(Ok(())));
    assert_eq!(*advertised.borrow(), [std::vec![2, 1, 6]], "the app's data went to the controller");

    // The board hands the app's clean-up to the controller too.
    Ble::release(&mut board, 1);
    assert!(task.as_mut().poll(&mut cx).is_pending());
    assert_eq!(*advertised.borrow(), [std::vec![2, 1, 6], std::vec![]], "the app stopped: advertising stops");
    let table = crate::modules::gatt::GattDeclaration::Service(crate::modules::gatt::Uuid::Short(0x180f));
    assert_eq!(none.gatt_declare(1, table), Err(Errno::Unsupported), "no controller, no GATT");
}
