//! A microsecond clock from SysTick (the core runs at 25 MHz on MPS2).

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;

/// Core clock, Hz.
const CLOCK: u32 = 25_000_000;
/// SysTick interrupts every millisecond (so `wfi` wakes for sleeps).
const RELOAD: u32 = CLOCK / 1000;

static MILLIS: AtomicU32 = AtomicU32::new(0);

/// Starts the clock.
pub fn start(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(RELOAD - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
    // The counter keeps running once `syst` is dropped; reads go through
    // `SYST::get_current`.
}

#[exception]
fn SysTick() {
    MILLIS.fetch_add(1, Ordering::Relaxed);
}

/// Microseconds since `start`.
pub fn micros() -> u64 {
    loop {
        let before = MILLIS.load(Ordering::Relaxed);
        let current = SYST::get_current();
        if MILLIS.load(Ordering::Relaxed) == before {
            let into = (RELOAD - 1 - current) / (CLOCK / 1_000_000);
            return u64::from(before) * 1000 + u64::from(into);
        }
    }
}
