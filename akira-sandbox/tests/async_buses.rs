//! `akira:i2c` and `akira:spi` on an async HAL, end to end: the app's
//! call suspends it, a firmware task runs the transfer on an
//! embedded-hal-async bus or `SpiDevice`, and the scheduler resumes the
//! app with the bytes received in its memory.

use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Waker};

use akira_sandbox::akira_bridge::embedded_hal_async::i2c::{self, I2c};
use akira_sandbox::akira_bridge::embedded_hal_async::spi::{self, SpiDevice};
use akira_sandbox::akira_bridge::{
    AppInfo, AsyncI2c, AsyncI2cModule, AsyncSpi, AsyncSpiModule, Board, Bridge, Errno, I2cMailbox, Instant, Level, Log,
    SpiMailbox, SpiOp,
};
use akira_sandbox::akira_caps::scope::I2cScope;
use akira_sandbox::akira_caps::{Manifest, Policy, Version, manifest::AppName};
use akira_sandbox::{AppId, Event, RestartPolicy, Runtime, RuntimeConfig, Scheduler, Status};

static BUS0: I2cMailbox<4, 32> = I2cMailbox::new();
static FLASH: SpiMailbox<4, 32> = SpiMailbox::new();

/// I2C bus 0 and SPI device 0, each a mailbox a firmware task serves.
#[derive(Clone)]
struct AsyncBoard {
    now: Rc<Cell<u64>>,
    buses: [&'static I2cMailbox<4, 32>; 1],
    devices: [&'static SpiMailbox<4, 32>; 1],
}

impl Board for AsyncBoard {
    fn now(&self) -> Instant {
        Instant::from_micros(self.now.get())
    }
    fn log(&mut self, _: &AppInfo, _: Level, _: &str) {}
}

impl AsyncI2c for AsyncBoard {
    fn start(&mut self, app: u16, bus: u32, addr: u8, write: [&[u8]; 2], read_len: usize) -> Result<(), Errno> {
        self.buses.start(app, bus, addr, write, read_len)
    }
    fn poll(&mut self, app: u16, bus: u32, read: &mut [u8]) -> Option<Result<(), Errno>> {
        self.buses.poll(app, bus, read)
    }
}

impl AsyncSpi for AsyncBoard {
    fn start(&mut self, app: u16, device: u32, op: SpiOp, write: &[u8], read_len: usize) -> Result<(), Errno> {
        self.devices.start(app, device, op, write, read_len)
    }
    fn poll(&mut self, app: u16, device: u32, read: &mut [u8]) -> Option<Result<(), Errno>> {
        self.devices.poll(app, device, read)
    }
}

/// A TMP102 at 0x48 on an async bus, reading 22.5 °C; it records what it
/// was asked.
struct Tmp102Bus(Vec<String>);

impl i2c::ErrorType for Tmp102Bus {
    type Error = i2c::ErrorKind;
}

impl I2c for Tmp102Bus {
    async fn transaction(&mut self, address: u8, operations: &mut [i2c::Operation<'_>]) -> Result<(), i2c::ErrorKind> {
        for op in operations {
            match op {
                i2c::Operation::Write(w) => self.0.push(format!("{address:#04x} write {w:02x?}")),
                i2c::Operation::Read(r) => {
                    r.copy_from_slice(&[0x16, 0x80][..r.len()]);
                    self.0.push(format!("{address:#04x} read {}", r.len()));
                }
            }
        }
        Ok(())
    }
}

/// A W25Q-style flash on an async SPI device: it answers JEDEC ID
/// (0x9f) with ef 40 18 and records each transaction.
struct Flash(Vec<String>);

impl spi::ErrorType for Flash {
    type Error = spi::ErrorKind;
}

impl SpiDevice<u8> for Flash {
    async fn transaction(&mut self, operations: &mut [spi::Operation<'_, u8>]) -> Result<(), spi::ErrorKind> {
        for op in operations {
            match op {
                spi::Operation::Transfer(read, write) => {
                    let id = [0xff, 0xef, 0x40, 0x18];
                    read.copy_from_slice(&id[..read.len()]);
                    self.0.push(format!("transfer {write:02x?} -> {read:02x?}"));
                }
                _ => return Err(spi::ErrorKind::Other),
            }
        }
        Ok(())
    }
}

/// Loads `wat` with `manifest` embedded on a bridge of `log` and `module`,
/// and runs it until it waits for a bus task: asserts it stays suspended
/// across a second round, since no task has run yet.
fn suspended_in_a_transfer(
    wat: &str,
    manifest: &Manifest,
    bridge: Bridge<AsyncBoard>,
) -> (Scheduler<AsyncBoard>, AppId) {
    let mut wasm = wat::parse_str(wat).unwrap();
    wasm.extend(manifest.custom_section());
    let runtime = Runtime::new(RuntimeConfig::default(), bridge, Policy::development());
    let app = runtime.load(&wasm).unwrap();
    let board = AsyncBoard { now: Rc::new(Cell::new(0)), buses: [&BUS0], devices: [&FLASH] };
    let mut scheduler = Scheduler::new(runtime);
    let id = scheduler.spawn(app, board, RestartPolicy::never()).unwrap();
    let round = scheduler.poll(Instant::ZERO, |_, _| {});
    assert_eq!(scheduler.status(id), Some(&Status::Waiting), "suspended in the transfer");
    assert!(!round.busy);
    scheduler.poll(Instant::from_micros(10), |_, _| {});
    assert_eq!(scheduler.status(id), Some(&Status::Waiting), "the bus task has not run yet");
    (scheduler, id)
}

/// Polls a bus task once: it runs every queued transfer and waits for more.
fn run_task<T>(task: impl Future<Output = T>) {
    let mut task = pin!(task);
    assert!(task.as_mut().poll(&mut Context::from_waker(Waker::noop())).is_pending());
}

/// The next round, after the task ran: the app's exit code.
fn resumed(scheduler: &mut Scheduler<AsyncBoard>) -> Option<i32> {
    let mut exited = None;
    scheduler.poll(Instant::from_micros(20), |_: &AppInfo, e: &Event| {
        if let Event::Exited(code) = e {
            exited = Some(*code);
        }
    });
    exited
}

fn manifest() -> Manifest {
    Manifest::new(AppName::try_from("async").unwrap(), Version::new(1, 0, 0))
}

#[test]
fn a_register_read_suspends_the_app_until_the_bus_task_has_run_it() {
    let wat = r#"(module
        (import "akira:i2c" "read_reg" (func $read_reg (param i32 i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "akira_main") (result i32)
            (if (i32.ne (call $read_reg (i32.const 0) (i32.const 0x48) (i32.const 0) (i32.const 16) (i32.const 2))
                        (i32.const 0))
                (then (return (i32.const -1))))
            (i32.load16_u (i32.const 16))))"#;
    let mut manifest = manifest();
    let mut scope = I2cScope::default();
    scope.buses[0].insert(0x48);
    manifest.capabilities.i2c = Some(scope);
    let bridge = Bridge::new().with(Log).unwrap().with(AsyncI2cModule).unwrap();
    let (mut scheduler, _) = suspended_in_a_transfer(wat, &manifest, bridge);

    // The firmware's bus task runs the queued transfer.
    let mut bus = Tmp102Bus(Vec::new());
    run_task(BUS0.serve(&mut bus));
    assert_eq!(bus.0, ["0x48 write [00]", "0x48 read 2"]);
    assert_eq!(resumed(&mut scheduler), Some(0x8016), "the bytes 16 80 were in the app's memory when it resumed");
}

#[test]
fn a_transfer_suspends_the_app_until_the_device_task_has_run_it() {
    let wat = r#"(module
        (import "akira:spi" "transfer" (func $transfer (param i32 i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 0) "\9f\00\00\00")
        (func (export "akira_main") (result i32)
            (if (i32.ne (call $transfer (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 16) (i32.const 4))
                        (i32.const 0))
                (then (return (i32.const -1))))
            (i32.load16_u (i32.const 17))))"#;
    let mut manifest = manifest();
    manifest.capabilities.spi = Some([0].into_iter().collect());
    let bridge = Bridge::new().with(Log).unwrap().with(AsyncSpiModule).unwrap();
    let (mut scheduler, _) = suspended_in_a_transfer(wat, &manifest, bridge);

    // The firmware's device task runs the queued transaction.
    let mut flash = Flash(Vec::new());
    run_task(FLASH.serve(&mut flash));
    assert_eq!(flash.0, ["transfer [9f, 00, 00, 00] -> [ff, ef, 40, 18]"]);
    assert_eq!(resumed(&mut scheduler), Some(0x40ef), "the bytes ef 40 were in the app's memory when it resumed");
}
