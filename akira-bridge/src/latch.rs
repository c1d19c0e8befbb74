//! Input pins watched by firmware tasks: levels and edges latched in
//! atomics, for boards on an async HAL.
//!
//! An app's `gpio.wait_edge` is completed by the scheduler polling the
//! board, never by a host call holding a pin across an await. On an async
//! HAL (embassy, esp-hal) the firmware runs one small task per input pin:
//! [`InputLatch::watch`] owns the pin, awaits its edges
//! (`embedded_hal_async::digital::Wait`) and records them here; the board's
//! [`Gpio`](crate::Gpio) implementation reads levels with
//! [`LatchedInput`] and takes edges with [`InputLatch::take_edge`]; the
//! scheduler's idle future awaits [`InputLatch::changed`] beside its timer.
//! Nothing here depends on an executor.

use core::sync::atomic::{AtomicU32, Ordering};

use embedded_hal::digital::{ErrorType, InputPin};

use crate::modules::gpio::{Edge, Edges};
use crate::wake::Changes;

/// Levels and latched edges of up to 32 input pins (by logical number).
pub struct InputLatch {
    level: AtomicU32,
    rising: AtomicU32,
    falling: AtomicU32,
    /// Bumped on every edge, so `changed` can tell a new one from an old.
    changes: Changes,
}

impl Default for InputLatch {
    fn default() -> Self {
        Self::new()
    }
}

impl InputLatch {
    /// A latch with every pin low and no edge.
    pub const fn new() -> Self {
        InputLatch {
            level: AtomicU32::new(0),
            rising: AtomicU32::new(0),
            falling: AtomicU32::new(0),
            changes: Changes::new(),
        }
    }

    fn bit(pin: u32) -> u32 {
        if pin < 32 { 1 << pin } else { 0 }
    }

    /// Records `pin`'s new level, latching the edge if it changed.
    pub fn record(&self, pin: u32, high: bool) {
        let bit = Self::bit(pin);
        let was = self.level.load(Ordering::Relaxed) & bit != 0;
        if high {
            self.level.fetch_or(bit, Ordering::Relaxed);
        } else {
            self.level.fetch_and(!bit, Ordering::Relaxed);
        }
        if was != high {
            let edges = if high { &self.rising } else { &self.falling };
            edges.fetch_or(bit, Ordering::Relaxed);
            self.changes.bump();
        }
    }

    /// `pin`'s last recorded level.
    pub fn level(&self, pin: u32) -> bool {
        self.level.load(Ordering::Relaxed) & Self::bit(pin) != 0
    }

    /// Takes one latched edge of the kinds in `edges`.
    pub fn take_edge(&self, pin: u32, edges: Edges) -> Option<Edge> {
        let bit = Self::bit(pin);
        if edges.rising() && self.rising.fetch_and(!bit, Ordering::Relaxed) & bit != 0 {
            return Some(Edge::Rising);
        }
        if edges.falling() && self.falling.fetch_and(!bit, Ordering::Relaxed) & bit != 0 {
            return Some(Edge::Falling);
        }
        None
    }

    /// Forgets `pin`'s latched edges (what `gpio.configure` does).
    pub fn clear(&self, pin: u32) {
        let bit = Self::bit(pin);
        self.rising.fetch_and(!bit, Ordering::Relaxed);
        self.falling.fetch_and(!bit, Ordering::Relaxed);
    }

    /// Resolves at the next edge on any pin (one waiter: the scheduler's
    /// idle future).
    pub async fn changed(&self) {
        self.changes.changed().await
    }

    /// The counter behind [`InputLatch::changed`], for idle futures that
    /// wait on inputs and peripherals at once.
    pub(crate) fn changes(&self) -> &Changes {
        &self.changes
    }

    /// Owns `input` and records its level and edges forever: run it as a
    /// firmware task per input pin.
    pub async fn watch<P>(&self, pin: u32, mut input: P) -> !
    where
        P: embedded_hal_async::digital::Wait + InputPin,
    {
        loop {
            let high = input.is_high().unwrap_or(false);
            self.record(pin, high);
            // A failing wait (a broken pin) is retried; the level read above
            // keeps the latch honest either way.
            let _ = input.wait_for_any_edge().await;
        }
    }

    /// An embedded-hal input pin that reads `pin`'s level from this latch,
    /// for the board's [`PinBank`](crate::PinBank).
    pub fn input(&'static self, pin: u32) -> LatchedInput {
        LatchedInput { latch: self, pin }
    }
}

/// An input pin whose level comes from an [`InputLatch`].
#[derive(Clone, Copy)]
pub struct LatchedInput {
    latch: &'static InputLatch,
    pin: u32,
}

impl ErrorType for LatchedInput {
    type Error = core::convert::Infallible;
}

impl InputPin for LatchedInput {
    fn is_high(&mut self) -> Result<bool, Self::Error> {
        Ok(self.latch.level(self.pin))
    }

    fn is_low(&mut self) -> Result<bool, Self::Error> {
        Ok(!self.latch.level(self.pin))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::pin::pin;
    use core::task::{Context, Waker};
    use std::future::Future;

    #[test]
    fn edges_latch_and_wake_the_idle_future() {
        static LATCH: InputLatch = InputLatch::new();
        let mut cx = Context::from_waker(Waker::noop());
        let mut changed = pin!(LATCH.changed());
        assert!(changed.as_mut().poll(&mut cx).is_pending());
        LATCH.record(3, true);
        assert!(changed.as_mut().poll(&mut cx).is_ready());
        assert!(LATCH.level(3));
        let mut input = LATCH.input(3);
        assert_eq!(input.is_high(), Ok(true));
        LATCH.record(3, true); // no change, no edge
        LATCH.record(3, false);
        assert_eq!(LATCH.take_edge(3, Edges::FALLING), Some(Edge::Falling));
        assert_eq!(LATCH.take_edge(3, Edges::ANY), Some(Edge::Rising));
        assert_eq!(LATCH.take_edge(3, Edges::ANY), None);
        LATCH.record(3, true);
        LATCH.clear(3);
        assert_eq!(LATCH.take_edge(3, Edges::ANY), None);
        assert!(!LATCH.level(40) && LATCH.take_edge(40, Edges::ANY).is_none(), "pins beyond 31 are never set");
    }
}
