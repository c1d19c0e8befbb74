//! The vendor adapters' `Peripherals` end to end, on a `SharedBoard` as a
//! firmware builds it: an app's UART read suspends it until the receive
//! task has pumped bytes in, its write reaches the wire through the
//! transmit task, PWM and ADC channels go to the routed driver outputs,
//! and the guard refuses every port and channel outside the app's grant
//! before any driver is touched.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Waker};

use akira_sandbox::akira_bridge::{
    Adc, AdcModule, AdcRoute, AppInfo, BoardCell, Bridge, Errno, Instant, Log, MemoryPin, NoRng, Peripherals, PinSlot,
    Pwm, PwmModule, PwmRoute, Shared, SharedBoard, UartModule, UartPort,
};
use akira_sandbox::akira_caps::{Manifest, Policy, Version, manifest::AppName};
use akira_sandbox::{AppId, Event, RestartPolicy, Runtime, RuntimeConfig, Scheduler, Status};

type TestBoard = SharedBoard<MemoryPin, 1, Peripherals<NoRng>>;

/// A PWM driver with four outputs (max duty 1000) recording each call.
struct RecordingPwm(Vec<String>);

impl Pwm for RecordingPwm {
    fn max_duty(&mut self, _: u32) -> Result<u16, Errno> {
        Ok(1000)
    }
    fn set_duty(&mut self, channel: u32, duty: u16) -> Result<(), Errno> {
        self.0.push(format!("output {channel} duty {duty}"));
        Ok(())
    }
}

/// A 12-bit converter over 3.3 V that records each conversion.
struct RecordingAdc(Vec<u32>);

impl Adc for RecordingAdc {
    fn resolution(&mut self, _: u32) -> Result<u8, Errno> {
        Ok(12)
    }
    fn read_raw(&mut self, channel: u32) -> Result<u16, Errno> {
        self.0.push(channel);
        Ok(1241)
    }
    fn full_scale_mv(&mut self, _: u32) -> Result<u32, Errno> {
        Ok(3300)
    }
}

static CELL: BoardCell<MemoryPin, 1> = BoardCell::new();
static PORT_0: UartPort = UartPort::new();
static PORT_1: UartPort = UartPort::new();
static TIMER: Shared<RecordingPwm> = Shared::new();
static CONVERTER: Shared<RecordingAdc> = Shared::new();

/// The board every test shares (one cell): ports 0 and 1, PWM channels
/// 0-1 on timer outputs 2-3, ADC channels 0-1 on converter inputs 5-6.
fn board() -> TestBoard {
    static ONCE: std::sync::OnceLock<TestBoard> = std::sync::OnceLock::new();
    *ONCE.get_or_init(|| {
        let timer = TIMER.init(RecordingPwm(Vec::new())).unwrap();
        let converter = CONVERTER.init(RecordingAdc(Vec::new())).unwrap();
        let mut extra = Peripherals::default();
        extra.uart[0] = Some(&PORT_0);
        extra.uart[1] = Some(&PORT_1);
        extra.pwm[0] = Some(PwmRoute::pwm(timer, 2));
        extra.pwm[1] = Some(PwmRoute::pwm(timer, 3));
        extra.adc[0] = Some(AdcRoute::adc(converter, 5));
        extra.adc[1] = Some(AdcRoute::adc(converter, 6));
        SharedBoard::init(&CELL, [PinSlot::Unused], || Instant::ZERO, |_, _, _| {}).unwrap().with_peripherals(extra)
    })
}

fn scheduler(wat: &str, manifest: Manifest, bridge: Bridge<TestBoard>) -> (Scheduler<TestBoard>, AppId) {
    let mut wasm = wat::parse_str(wat).unwrap();
    wasm.extend(manifest.custom_section());
    let runtime = Runtime::new(RuntimeConfig::default(), bridge, Policy::development());
    let app = runtime.load(&wasm).unwrap();
    let mut scheduler = Scheduler::new(runtime);
    let id = scheduler.spawn(app, board(), RestartPolicy::never()).unwrap();
    (scheduler, id)
}

/// One round at `t` µs: the app's exit code, if it exited.
fn round(scheduler: &mut Scheduler<TestBoard>, t: u64) -> Option<i32> {
    let mut exited = None;
    scheduler.poll(Instant::from_micros(t), |_: &AppInfo, e: &Event| {
        if let Event::Exited(code) = e {
            exited = Some(*code);
        }
    });
    exited
}

fn manifest() -> Manifest {
    Manifest::new(AppName::try_from("periph").unwrap(), Version::new(1, 0, 0))
}

/// A UART receiver that has `bytes` and then nothing more.
struct Incoming(&'static [u8]);

impl embedded_io_async::ErrorType for Incoming {
    type Error = core::convert::Infallible;
}

impl embedded_io_async::Read for Incoming {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        if self.0.is_empty() {
            return std::future::pending().await;
        }
        let n = buf.len().min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

/// A UART transmitter that keeps what it was given.
struct Wire(Vec<u8>);

impl embedded_io_async::ErrorType for Wire {
    type Error = core::convert::Infallible;
}

impl embedded_io_async::Write for Wire {
    async fn write(&mut self, data: &[u8]) -> Result<usize, Self::Error> {
        self.0.extend_from_slice(data);
        Ok(data.len())
    }
    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Polls a pump task once: it moves what it can and waits for more.
fn run_task<T>(task: impl Future<Output = T>) {
    let mut task = pin!(task);
    assert!(task.as_mut().poll(&mut Context::from_waker(Waker::noop())).is_pending());
}

#[test]
fn a_uart_read_suspends_the_app_until_the_receive_task_has_bytes_and_its_echo_reaches_the_wire() {
    // Port 1 granted; port 0 exists on the board but is not the app's.
    let wat = r#"(module
        (import "akira:uart" "read" (func $read (param i32 i32 i32 i64) (result i32)))
        (import "akira:uart" "write" (func $write (param i32 i32 i32 i64) (result i32)))
        (memory (export "memory") 1)
        (func (export "akira_main") (result i32) (local $n i32)
            (if (i32.ne (call $write (i32.const 0) (i32.const 0) (i32.const 1) (i64.const 0)) (i32.const -1))
                (then (return (i32.const -100))))
            (if (i32.ne (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i64.const 0)) (i32.const -1))
                (then (return (i32.const -101))))
            (local.set $n (call $read (i32.const 1) (i32.const 16) (i32.const 8) (i64.const 1000000)))
            (if (i32.le_s (local.get $n) (i32.const 0)) (then (return (local.get $n))))
            (drop (call $write (i32.const 1) (i32.const 16) (local.get $n) (i64.const 1000000)))
            (local.get $n)))"#;
    let mut manifest = manifest();
    manifest.capabilities.uart = Some([1].into_iter().collect());
    let bridge = Bridge::new().with(Log).unwrap().with(UartModule).unwrap();
    let (mut scheduler, id) = scheduler(wat, manifest, bridge);
    assert_eq!(round(&mut scheduler, 0), None);
    assert_eq!(round(&mut scheduler, 10), None);
    assert_eq!(scheduler.status(id), Some(&Status::Waiting), "nothing received: suspended in the read");

    // The firmware's receive task pumps "ping" off the wire into port 1.
    run_task(PORT_1.pump_rx(Incoming(b"ping")));
    assert_eq!(round(&mut scheduler, 20), Some(4), "the app read the 4 bytes when it resumed");
    let mut wire = Wire(Vec::new());
    run_task(PORT_1.pump_tx(&mut wire));
    assert_eq!(wire.0, b"ping", "its echo went out on port 1");
    let mut untouched = Wire(Vec::new());
    run_task(PORT_0.pump_tx(&mut untouched));
    assert!(untouched.0.is_empty(), "the refused write to port 0 queued nothing");
}

#[test]
fn pwm_and_adc_calls_reach_the_routed_outputs_and_the_guard_stops_the_rest() {
    // PWM channel 1 and ADC channel 0 granted; PWM 0 and ADC 1 are fitted
    // but not the app's.
    let wat = r#"(module
        (import "akira:pwm" "set_duty" (func $set_duty (param i32 i32) (result i32)))
        (import "akira:adc" "read_mv" (func $read_mv (param i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "akira_main") (result i32)
            (if (i32.ne (call $set_duty (i32.const 0) (i32.const 1)) (i32.const -1)) (then (return (i32.const -100))))
            (if (i32.ne (call $read_mv (i32.const 1)) (i32.const -1)) (then (return (i32.const -101))))
            (if (i32.ne (call $set_duty (i32.const 1) (i32.const 250)) (i32.const 0)) (then (return (i32.const -102))))
            (call $read_mv (i32.const 0))))"#;
    let mut manifest = manifest();
    manifest.capabilities.pwm = Some([1].into_iter().collect());
    manifest.capabilities.adc = Some([0].into_iter().collect());
    let bridge = Bridge::new().with(Log).unwrap().with(PwmModule).unwrap().with(AdcModule).unwrap();
    let (mut scheduler, _) = scheduler(wat, manifest, bridge);
    // 1241 of 4095 over 3300 mV.
    assert_eq!(round(&mut scheduler, 0), Some(1000));
    assert_eq!(TIMER.with(|t| t.0.clone()).unwrap(), ["output 3 duty 250"], "app channel 1 is timer output 3");
    assert_eq!(CONVERTER.with(|c| c.0.clone()).unwrap(), [5], "app channel 0 is input 5, read once");
}
