//! `akira:i2c` on an async HAL, end to end: the app's register read
//! suspends it, a firmware task runs the transfer on an
//! embedded-hal-async bus, and the scheduler resumes the app with the
//! bytes in its memory.

use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Waker};

use akira_sandbox::akira_bridge::embedded_hal_async::i2c::{ErrorKind, ErrorType, I2c, Operation};
use akira_sandbox::akira_bridge::{
    AppInfo, AsyncI2c, AsyncI2cModule, Board, Bridge, Errno, I2cMailbox, Instant, Level, Log,
};
use akira_sandbox::akira_caps::scope::I2cScope;
use akira_sandbox::akira_caps::{Manifest, Policy, Version, manifest::AppName};
use akira_sandbox::{Event, RestartPolicy, Runtime, RuntimeConfig, Scheduler, Status};

static BUS0: I2cMailbox<4, 32> = I2cMailbox::new();

#[derive(Clone)]
struct AsyncBoard {
    now: Rc<Cell<u64>>,
    buses: [&'static I2cMailbox<4, 32>; 1],
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

/// A TMP102 at 0x48 on an async bus, reading 22.5 °C; it records what it
/// was asked.
struct Tmp102Bus(Vec<String>);

impl ErrorType for Tmp102Bus {
    type Error = ErrorKind;
}

impl I2c for Tmp102Bus {
    async fn transaction(&mut self, address: u8, operations: &mut [Operation<'_>]) -> Result<(), ErrorKind> {
        for op in operations {
            match op {
                Operation::Write(w) => self.0.push(format!("{address:#04x} write {w:02x?}")),
                Operation::Read(r) => {
                    r.copy_from_slice(&[0x16, 0x80][..r.len()]);
                    self.0.push(format!("{address:#04x} read {}", r.len()));
                }
            }
        }
        Ok(())
    }
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
    let mut manifest = Manifest::new(AppName::try_from("async").unwrap(), Version::new(1, 0, 0));
    let mut scope = I2cScope::default();
    scope.buses[0].insert(0x48);
    manifest.capabilities.i2c = Some(scope);
    let mut wasm = wat::parse_str(wat).unwrap();
    wasm.extend(manifest.custom_section());

    let bridge: Bridge<AsyncBoard> = Bridge::new().with(Log).unwrap().with(AsyncI2cModule).unwrap();
    let runtime = Runtime::new(RuntimeConfig::default(), bridge, Policy::development());
    let app = runtime.load(&wasm).unwrap();
    let board = AsyncBoard { now: Rc::new(Cell::new(0)), buses: [&BUS0] };
    let mut scheduler = Scheduler::new(runtime);
    let id = scheduler.spawn(app, board.clone(), RestartPolicy::never()).unwrap();

    let mut exited = None;
    let mut on_event = |_: &AppInfo, e: &Event| {
        if let Event::Exited(code) = e {
            exited = Some(*code);
        }
    };
    let round = scheduler.poll(Instant::ZERO, &mut on_event);
    assert_eq!(scheduler.status(id), Some(&Status::Waiting), "suspended in read_reg");
    assert!(!round.busy);
    scheduler.poll(Instant::from_micros(10), &mut on_event);
    assert_eq!(scheduler.status(id), Some(&Status::Waiting), "the bus task has not run yet");

    // The firmware's bus task runs the queued transfer.
    let mut bus = Tmp102Bus(Vec::new());
    {
        let mut task = pin!(BUS0.serve(&mut bus));
        assert!(task.as_mut().poll(&mut Context::from_waker(Waker::noop())).is_pending());
    }
    assert_eq!(bus.0, ["0x48 write [00]", "0x48 read 2"]);

    scheduler.poll(Instant::from_micros(20), &mut on_event);
    assert_eq!(exited, Some(0x8016), "the bytes 16 80 were in the app's memory when it resumed");
}
