//! Helpers for the modules' unit tests: app state over a test board with
//! given grants, and an app memory.

use akira_caps::manifest::{AppName, Version};
use akira_caps::{CapabilitySet, Grants, Guard};

use crate::board::{AppInfo, Board, Level, Trace};
use crate::state::{AppLimits, AppState, Refusal};
use crate::time::Instant;

/// A board that keeps console lines and traces as text; the test board of
/// each module wraps one.
#[derive(Default)]
pub struct Recorder {
    /// Board time in microseconds.
    pub now: u64,
    /// Console lines and traces, formatted.
    pub events: Vec<String>,
}

impl Board for Recorder {
    fn now(&self) -> Instant {
        Instant::from_micros(self.now)
    }
    fn log(&mut self, _: &AppInfo, level: Level, message: &str) {
        self.events.push(format!("{level}: {message}"));
    }
    fn trace(&mut self, _: &AppInfo, event: Trace<'_>) {
        self.events.push(format!("{event:?}"));
    }
}

/// A firmware task's timer on virtual time (microseconds the test sets):
/// a delay ends once the clock has passed it (poll the task again after
/// moving the clock).
pub struct VirtualDelay(pub std::rc::Rc<core::cell::Cell<u64>>);

impl embedded_hal_async::delay::DelayNs for VirtualDelay {
    async fn delay_ns(&mut self, ns: u32) {
        self.delay_us(ns.div_ceil(1000)).await
    }
    async fn delay_us(&mut self, us: u32) {
        let until = self.0.get() + u64::from(us);
        core::future::poll_fn(|_| {
            if self.0.get() >= until { core::task::Poll::Ready(()) } else { core::task::Poll::Pending }
        })
        .await
    }
}

/// App state for `board` with the grants of `caps`.
pub fn state<B: Board>(board: B, caps: &CapabilitySet) -> AppState<B> {
    let info = AppInfo { id: 1, name: AppName::try_from("test").unwrap(), version: Version::new(1, 0, 0) };
    AppState::new(info, Guard::new(Grants::compile(caps)), board, AppLimits::new(65536, 16))
}

/// The code an app would see for a host function's outcome.
pub fn code(r: Result<i32, Refusal>) -> i32 {
    match r {
        Ok(v) => v,
        Err(Refusal::Errno(e)) => e.code(),
        Err(Refusal::Trap(t)) => panic!("unexpected trap: {t}"),
    }
}

/// Implements [`Board`] for a test board struct with a `rec: Recorder`
/// field.
macro_rules! recorder_board {
    ($t:ty) => {
        impl $crate::board::Board for $t {
            fn now(&self) -> $crate::time::Instant {
                $crate::board::Board::now(&self.rec)
            }
            fn log(&mut self, app: &$crate::board::AppInfo, level: $crate::board::Level, message: &str) {
                $crate::board::Board::log(&mut self.rec, app, level, message)
            }
            fn trace(&mut self, app: &$crate::board::AppInfo, event: $crate::board::Trace<'_>) {
                $crate::board::Board::trace(&mut self.rec, app, event)
            }
        }
    };
}
pub(crate) use recorder_board;
