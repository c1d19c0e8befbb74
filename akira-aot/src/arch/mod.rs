//! What differs per instruction set: the assembly that enters compiled
//! code, leaves it on a trap and switches between a task's stack and the
//! host's, and the call ABI details the Rust side needs (argument
//! registers, stack alignment, the first switch's frame, the barrier after
//! writing code). Everything else in `run` and `task` is shared.

#[cfg(target_arch = "arm")]
mod arm;
#[cfg(target_arch = "arm")]
pub(crate) use arm::*;

#[cfg(target_arch = "riscv32")]
mod riscv32;
#[cfg(target_arch = "riscv32")]
pub(crate) use riscv32::*;
