//! `akira:rng`: random bytes from the board's generator.
//!
//! Boards implement [`Rng`] over their hardware TRNG (or a CSPRNG seeded
//! from it). `rng` is a capability without a scope: an app granted it may
//! ask for bytes, one without it cannot import the module at all, so a
//! call needs no per-call check.

use crate::host::{Caller, Linker};
use akira_caps::{Capability, ModuleCapability, ModuleSpec};

use crate::board::{Board, Trace};
use crate::errno::Errno;
use crate::host_fn;
use crate::memory::GuestMemory;
use crate::module::{HostModule, LinkContext, LinkError};
use crate::state::{AppState, Refusal, memory_and_state, reply};

/// Most bytes one call fills.
pub const MAX_FILL: u32 = 4096;

/// The board's random number generator. [`Errno::Io`] when the hardware
/// fails (a health test of the entropy source).
pub trait Rng {
    /// Fills `buf` with random bytes, suitable for keys and nonces.
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Errno>;
}

/// The module's spec.
pub static SPEC: ModuleSpec = ModuleSpec {
    import: akira_abi::RNG.import,
    capability: ModuleCapability::Builtin(Capability::Rng),
    functions: akira_abi::RNG.functions,
};

/// The `akira:rng` module; the board must implement [`Rng`].
#[derive(Clone, Copy, Debug, Default)]
pub struct RngModule;

fn fill<B: Board + Rng>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    ptr: u32,
    len: u32,
) -> Result<i32, Refusal> {
    if len > MAX_FILL {
        return Err(Errno::TooLarge.into());
    }
    let buf = memory.bytes_mut(ptr, len)?;
    state.board_mut().fill(buf)?;
    state.work(u64::from(len));
    state.trace(Trace::Random { len });
    Ok(0)
}

impl<B: Board + Rng> HostModule<B> for RngModule {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn link(&self, linker: &mut Linker<AppState<B>>, _: &LinkContext<'_>) -> Result<(), LinkError> {
        host_fn!(linker, SPEC, "fill", |c: Caller<'_, AppState<B>>, ptr: u32, len: u32| {
            reply(memory_and_state(&mut c).and_then(|(mut mem, s)| fill(&mut mem, s, ptr, len)))
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Recorder, code, recorder_board, state};
    use akira_caps::CapabilitySet;

    struct Counter {
        rec: Recorder,
        next: u8,
        broken: bool,
    }
    recorder_board!(Counter);

    impl Rng for Counter {
        fn fill(&mut self, buf: &mut [u8]) -> Result<(), Errno> {
            if self.broken {
                return Err(Errno::Io);
            }
            for b in buf {
                *b = self.next;
                self.next = self.next.wrapping_add(1);
            }
            Ok(())
        }
    }

    #[test]
    fn fills_the_app_buffer_and_only_it() {
        let caps = CapabilitySet { rng: true, ..Default::default() };
        let mut s = state(Counter { rec: Recorder::default(), next: 1, broken: false }, &caps);
        let mut backing = [0u8; 8];
        let mut mem = GuestMemory::new(&mut backing);
        assert_eq!(code(fill(&mut mem, &mut s, 2, 4)), 0);
        assert_eq!(mem.bytes(0, 8).unwrap(), &[0, 0, 1, 2, 3, 4, 0, 0]);
        assert_eq!(code(fill(&mut mem, &mut s, 6, 3)), Errno::Fault.code());
        assert_eq!(code(fill(&mut mem, &mut s, 0, MAX_FILL + 1)), Errno::TooLarge.code());
        assert_eq!(s.board().next, 5, "nothing drawn for refused calls");
        s.board_mut().broken = true;
        assert_eq!(code(fill(&mut mem, &mut s, 0, 1)), Errno::Io.code());
        assert_eq!(s.board().rec.events, ["Random { len: 4 }"]);
    }
}
