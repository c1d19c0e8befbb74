//! `akira:spi` on an async HAL, end to end: the app's full-duplex transfer
//! suspends it, a firmware task runs the transaction on an
//! embedded-hal-async `SpiDevice`, and the scheduler resumes the app with
//! the bytes received in its memory.

use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Waker};

use akira_sandbox::akira_bridge::embedded_hal_async::spi::{ErrorKind, ErrorType, Operation, SpiDevice};
use akira_sandbox::akira_bridge::{
    AppInfo, AsyncSpi, AsyncSpiModule, Board, Bridge, Errno, Instant, Level, Log, SpiMailbox, SpiOp,
};
use akira_sandbox::akira_caps::{Manifest, Policy, Version, manifest::AppName};
use akira_sandbox::{Event, RestartPolicy, Runtime, RuntimeConfig, Scheduler, Status};

static FLASH: SpiMailbox<4, 32> = SpiMailbox::new();

#[derive(Clone)]
struct AsyncBoard {
    now: Rc<Cell<u64>>,
    devices: [&'static SpiMailbox<4, 32>; 1],
}

impl Board for AsyncBoard {
    fn now(&self) -> Instant {
        Instant::from_micros(self.now.get())
    }
    fn log(&mut self, _: &AppInfo, _: Level, _: &str) {}
}

impl AsyncSpi for AsyncBoard {
    fn start(&mut self, app: u16, device: u32, op: SpiOp, write: &[u8], read_len: usize) -> Result<(), Errno> {
        self.devices.start(app, device, op, write, read_len)
    }
    fn poll(&mut self, app: u16, device: u32, read: &mut [u8]) -> Option<Result<(), Errno>> {
        self.devices.poll(app, device, read)
    }
}

/// A W25Q-style flash on an async SPI device: it answers JEDEC ID
/// (0x9f) with ef 40 18 and records each transaction.
struct Flash(Vec<String>);

impl ErrorType for Flash {
    type Error = ErrorKind;
}

impl SpiDevice<u8> for Flash {
    async fn transaction(&mut self, operations: &mut [Operation<'_, u8>]) -> Result<(), ErrorKind> {
        for op in operations {
            match op {
                Operation::Transfer(read, write) => {
                    let id = [0xff, 0xef, 0x40, 0x18];
                    read.copy_from_slice(&id[..read.len()]);
                    self.0.push(format!("transfer {write:02x?} -> {read:02x?}"));
                }
                _ => return Err(ErrorKind::Other),
            }
        }
        Ok(())
    }
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
    let mut manifest = Manifest::new(AppName::try_from("async").unwrap(), Version::new(1, 0, 0));
    manifest.capabilities.spi = Some([0].into_iter().collect());
    let mut wasm = wat::parse_str(wat).unwrap();
    wasm.extend(manifest.custom_section());

    let bridge: Bridge<AsyncBoard> = Bridge::new().with(Log).unwrap().with(AsyncSpiModule).unwrap();
    let runtime = Runtime::new(RuntimeConfig::default(), bridge, Policy::development());
    let app = runtime.load(&wasm).unwrap();
    let board = AsyncBoard { now: Rc::new(Cell::new(0)), devices: [&FLASH] };
    let mut scheduler = Scheduler::new(runtime);
    let id = scheduler.spawn(app, board.clone(), RestartPolicy::never()).unwrap();

    let mut exited = None;
    let mut on_event = |_: &AppInfo, e: &Event| {
        if let Event::Exited(code) = e {
            exited = Some(*code);
        }
    };
    let round = scheduler.poll(Instant::ZERO, &mut on_event);
    assert_eq!(scheduler.status(id), Some(&Status::Waiting), "suspended in transfer");
    assert!(!round.busy);
    scheduler.poll(Instant::from_micros(10), &mut on_event);
    assert_eq!(scheduler.status(id), Some(&Status::Waiting), "the device task has not run yet");

    // The firmware's device task runs the queued transaction.
    let mut flash = Flash(Vec::new());
    {
        let mut task = pin!(FLASH.serve(&mut flash));
        assert!(task.as_mut().poll(&mut Context::from_waker(Waker::noop())).is_pending());
    }
    assert_eq!(flash.0, ["transfer [9f, 00, 00, 00] -> [ff, ef, 40, 18]"]);

    scheduler.poll(Instant::from_micros(20), &mut on_event);
    assert_eq!(exited, Some(0x40ef), "the bytes ef 40 were in the app's memory when it resumed");
}
