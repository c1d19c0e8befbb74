//! The built-in modules linked into the native [`Linker`] and called as
//! akira-aot's native code calls them: the guard, waits, exits, memory
//! loans and costs are the interpreter's.

use akira_caps::scope::GpioScope;
use akira_caps::sets::PinSet;
use akira_caps::{Capability, CapabilitySet, Denied, ValType};

use super::{Caller, Error, Linker};
use crate::board::{AppInfo, Board, Level};
use crate::errno::Errno;
use crate::modules::gpio::{Edge, Edges, Gpio, PinMode};
use crate::state::{AppState, WaitKind};
use crate::testing::{Recorder, state};
use crate::{Bridge, Instant};

#[derive(Default)]
struct Pins {
    rec: Recorder,
    high: [bool; 4],
}

impl Board for Pins {
    fn now(&self) -> Instant {
        self.rec.now()
    }
    fn log(&mut self, app: &AppInfo, level: Level, message: &str) {
        self.rec.log(app, level, message)
    }
}

impl Gpio for Pins {
    fn configure(&mut self, pin: u32, _: PinMode) -> Result<(), Errno> {
        self.high.get(pin as usize).map(|_| ()).ok_or(Errno::NoSuchResource)
    }
    fn read(&mut self, pin: u32) -> Result<bool, Errno> {
        self.high.get(pin as usize).copied().ok_or(Errno::NoSuchResource)
    }
    fn write(&mut self, pin: u32, high: bool) -> Result<(), Errno> {
        *self.high.get_mut(pin as usize).ok_or(Errno::NoSuchResource)? = high;
        Ok(())
    }
    fn toggle(&mut self, pin: u32) -> Result<bool, Errno> {
        let level = self.high.get_mut(pin as usize).ok_or(Errno::NoSuchResource)?;
        *level = !*level;
        Ok(*level)
    }
    fn take_edge(&mut self, _: u32, _: Edges) -> Result<Option<Edge>, Errno> {
        Ok(None)
    }
}

type App = AppState<Pins>;

/// An app granted `caps`, with the built-in modules linked for it.
fn app(caps: CapabilitySet) -> (App, Linker<App>) {
    let state = state(Pins::default(), &caps);
    let mut linker = Linker::new();
    let (info, grants) = (state.info().clone(), state.guard().grants().clone());
    Bridge::with_builtins().link(&mut linker, &info, &caps, &grants).unwrap();
    (state, linker)
}

/// An app granted output pin 2, the timer and sys.
fn pin_app() -> (App, Linker<App>) {
    let mut output = PinSet::EMPTY;
    output.insert(2);
    app(CapabilitySet {
        gpio: Some(GpioScope::new(PinSet::EMPTY, output, PinSet::EMPTY)),
        timer: true,
        sys: true,
        ..Default::default()
    })
}

/// Calls `f` with `args` as native code does; the app's memory holds
/// "hello" at 8.
fn call(linker: &Linker<App>, state: &mut App, f: (&str, &str), args: &[u64]) -> Result<u64, Error> {
    let at = linker.position(f.0, f.1).expect("linked");
    let (mut memory, mut fuel) = ([0u8; 64], 1_000);
    memory[8..13].copy_from_slice(b"hello");
    linker.call(at, Caller::new(state, &mut memory, &mut fuel), args).expect("in range")
}

fn code(errno: Errno) -> Result<u64, Error> {
    Ok(u64::from(errno.code() as u32))
}

#[test]
fn a_granted_call_reaches_the_board_and_pays_its_cost() {
    let (mut state, linker) = pin_app();
    let write = ("akira:gpio", "write");
    let signature = linker.signature(linker.position(write.0, write.1).unwrap());
    assert_eq!(signature, Some((&[ValType::I32, ValType::I32][..], &[ValType::I32][..])));
    assert_eq!(call(&linker, &mut state, ("akira:gpio", "configure"), &[2, 1]), Ok(0));
    assert_eq!(call(&linker, &mut state, write, &[2, 1]), Ok(0));
    assert!(state.board().high[2]);
    assert!(state.take_fuel_debt() > 0, "each call charges its fixed cost");
}

#[test]
fn a_denied_call_returns_the_code_or_stops_a_strict_app() {
    let (mut state, linker) = pin_app();
    assert_eq!(call(&linker, &mut state, ("akira:gpio", "write"), &[3, 1]), code(Errno::Denied));
    assert!(!state.board().high[3]);
    state.set_strict(true);
    let stopped = call(&linker, &mut state, ("akira:gpio", "write"), &[3, 1]);
    assert!(
        matches!(stopped, Err(Error::Denied(d)) if d.capability == Denied::Builtin(Capability::Gpio)),
        "{stopped:?}"
    );
}

#[test]
fn sleeps_suspend_and_exits_end_the_call() {
    let (mut state, linker) = pin_app();
    assert_eq!(call(&linker, &mut state, ("akira:timer", "sleep_us"), &[500]), Err(Error::Suspended));
    let wait = state.take_wait().expect("the wait is recorded");
    assert!(matches!(wait.kind, WaitKind::Sleep));
    assert_eq!(wait.until, Instant::from_micros(500));
    assert_eq!(call(&linker, &mut state, ("akira:sys", "exit"), &[u64::from((-3i32) as u32)]), Err(Error::Exit(-3)));
}

#[test]
fn ungranted_modules_are_not_linked_and_definitions_are_unique() {
    let (_, mut linker) = pin_app();
    assert!(linker.position("akira:log", "write").is_none(), "log was not granted");
    assert!(linker.position("akira:gpio", "nope").is_none());
    let again = linker.func_wrap("akira:gpio", "write", |_: Caller<'_, App>, _: u32, _: u32| 0i32);
    assert!(again.is_err(), "a second definition is refused");
}

#[test]
fn host_functions_borrow_the_apps_memory() {
    let (mut state, linker) = app(CapabilitySet { log: true, ..Default::default() });
    assert_eq!(call(&linker, &mut state, ("akira:log", "write"), &[2, 8, 5]), Ok(0));
    assert_eq!(call(&linker, &mut state, ("akira:log", "write"), &[2, 60, 5]), code(Errno::Fault));
    assert!(state.board().rec.events.iter().any(|e| e.ends_with("hello")), "{:?}", state.board().rec.events);
}
