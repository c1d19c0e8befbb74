#![doc = include_str!("../README.md")]
#![cfg_attr(not(test), no_std)]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod board;
pub mod errno;
pub mod latch;
pub mod memory;
pub mod module;
pub mod modules;
pub mod state;
pub mod time;

pub use akira_caps;
pub use wasmi;

pub use board::{AppInfo, Board, Level, Trace};
pub use errno::Errno;
pub use latch::{InputLatch, LatchedInput};
pub use memory::GuestMemory;
pub use module::{Bridge, HostModule, LinkContext, LinkError};
pub use modules::gpio::{Edge, Edges, Gpio, GpioModule, MemoryPin, PinBank, PinMode, PinSlot};
pub use modules::{log::Log, sys::Sys, timer::Timer};
pub use state::{
    AppLimits, AppState, DeniedFault, ModuleIndex, Refusal, Suspend, Wait, WaitKind, memory_and_state, reply,
};
pub use time::Instant;

impl<B: Board + Gpio> Bridge<B> {
    /// A bridge with the built-in modules of this crate: `akira:log`,
    /// `akira:timer`, `akira:gpio` and `akira:sys`.
    pub fn with_builtins() -> Self {
        let mut bridge = Bridge::new();
        // Four distinct import names: registration cannot fail.
        let _ = bridge.register(Log);
        let _ = bridge.register(Timer);
        let _ = bridge.register(GpioModule);
        let _ = bridge.register(Sys);
        bridge
    }
}
