//! `akira:adc`: analog inputs by channel number, raw and in millivolts.
//!
//! embedded-hal 1.0 has no ADC trait, so this is an Akira one: [`Adc`].
//! A board implements `resolution`, `read_raw` and `full_scale_mv` over
//! its HAL's ADC driver (or an external converter on I2C or SPI); the
//! millivolt reading is the raw code scaled linearly to the full scale
//! ([`scale`]) unless the board overrides [`Adc::read_millivolts`] with a
//! calibrated one. Every call checks its channel with one bit test
//! ([`akira_caps::Guard::id`]) before converting. A conversion takes
//! microseconds: calls block, like register reads.

use crate::host::{Caller, Linker};
use akira_caps::{Capability, ModuleCapability, ModuleSpec};

use crate::board::{Board, Trace};
use crate::errno::Errno;
use crate::host_fn;
use crate::module::{HostModule, LinkContext, LinkError};
use crate::state::{AppState, Refusal, reply};

/// A board's analog inputs, by channel number (0–31). Errors are the codes
/// apps see: [`Errno::NoSuchResource`] for a channel the board does not
/// have, [`Errno::Io`] when a conversion fails.
pub trait Adc {
    /// Bits per conversion on `channel` (1–16).
    fn resolution(&mut self, channel: u32) -> Result<u8, Errno>;
    /// One conversion: a code from 0 to `2^resolution - 1`.
    fn read_raw(&mut self, channel: u32) -> Result<u16, Errno>;
    /// The input, in millivolts at the pin, that reads the full-scale
    /// code (the reference voltage times the input divider or gain).
    fn full_scale_mv(&mut self, channel: u32) -> Result<u32, Errno>;
    /// One conversion in millivolts at the pin. The default scales
    /// [`Adc::read_raw`] linearly ([`scale`]); boards with calibration
    /// data override it.
    fn read_millivolts(&mut self, channel: u32) -> Result<u32, Errno> {
        let bits = self.resolution(channel)?;
        let full = self.full_scale_mv(channel)?;
        Ok(scale(self.read_raw(channel)?, bits, full))
    }
}

/// `raw` out of `2^bits - 1` as a share of `full_scale_mv`, rounded to the
/// nearest millivolt.
pub fn scale(raw: u16, bits: u8, full_scale_mv: u32) -> u32 {
    let max = (1u64 << bits.clamp(1, 16)) - 1;
    let raw = u64::from(raw).min(max);
    ((raw * u64::from(full_scale_mv) + max / 2) / max) as u32
}

/// The module's spec.
pub static SPEC: ModuleSpec = ModuleSpec {
    import: akira_abi::ADC.import,
    capability: ModuleCapability::Builtin(Capability::Adc),
    functions: akira_abi::ADC.functions,
};

/// The `akira:adc` module; the board must implement [`Adc`].
#[derive(Clone, Copy, Debug, Default)]
pub struct AdcModule;

/// What a call asks for.
#[derive(Clone, Copy)]
enum Ask {
    Resolution,
    Raw,
    Millivolts,
}

fn call<B: Board + Adc>(state: &mut AppState<B>, ask: Ask, channel: u32) -> Result<i32, Refusal> {
    state.guarded(|g| g.id(Capability::Adc, channel))?;
    let adc = state.board_mut();
    match ask {
        Ask::Resolution => Ok(i32::from(adc.resolution(channel)?)),
        Ask::Raw => {
            let raw = adc.read_raw(channel)?;
            state.trace(Trace::Adc { channel, value: raw.into(), millivolts: false });
            Ok(i32::from(raw))
        }
        Ask::Millivolts => {
            let mv = adc.read_millivolts(channel)?;
            state.trace(Trace::Adc { channel, value: mv, millivolts: true });
            i32::try_from(mv).map_err(|_| Errno::Io.into())
        }
    }
}

impl<B: Board + Adc> HostModule<B> for AdcModule {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn link(&self, linker: &mut Linker<AppState<B>>, _: &LinkContext<'_>) -> Result<(), LinkError> {
        type C<'a, B> = Caller<'a, AppState<B>>;
        host_fn!(linker, SPEC, "resolution", |c: C<'_, B>, ch: u32| reply(call(c.data_mut(), Ask::Resolution, ch)))?;
        host_fn!(linker, SPEC, "read_raw", |c: C<'_, B>, ch: u32| reply(call(c.data_mut(), Ask::Raw, ch)))?;
        host_fn!(linker, SPEC, "read_mv", |c: C<'_, B>, ch: u32| reply(call(c.data_mut(), Ask::Millivolts, ch)))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Recorder, code, recorder_board, state};
    use akira_caps::CapabilitySet;

    /// Two 12-bit channels with a 3.3 V reference; channel 1 fails.
    struct Board2 {
        rec: Recorder,
        raw: u16,
        conversions: u32,
    }
    recorder_board!(Board2);

    impl Adc for Board2 {
        fn resolution(&mut self, channel: u32) -> Result<u8, Errno> {
            if channel < 2 { Ok(12) } else { Err(Errno::NoSuchResource) }
        }
        fn read_raw(&mut self, channel: u32) -> Result<u16, Errno> {
            self.conversions += 1;
            match channel {
                0 => Ok(self.raw),
                1 => Err(Errno::Io),
                _ => Err(Errno::NoSuchResource),
            }
        }
        fn full_scale_mv(&mut self, _: u32) -> Result<u32, Errno> {
            Ok(3300)
        }
    }

    fn app(granted: &[u32]) -> AppState<Board2> {
        let caps = CapabilitySet { adc: Some(granted.iter().copied().collect()), ..Default::default() };
        state(Board2 { rec: Recorder::default(), raw: 2048, conversions: 0 }, &caps)
    }

    #[test]
    fn raw_and_millivolts() {
        let mut s = app(&[0, 1, 5]);
        assert_eq!(code(call(&mut s, Ask::Resolution, 0)), 12);
        assert_eq!(code(call(&mut s, Ask::Raw, 0)), 2048);
        assert_eq!(code(call(&mut s, Ask::Millivolts, 0)), 1650, "2048/4095 of 3300 mV, rounded");
        s.board_mut().raw = 4095;
        assert_eq!(code(call(&mut s, Ask::Millivolts, 0)), 3300);
        assert_eq!(code(call(&mut s, Ask::Raw, 1)), Errno::Io.code());
        assert_eq!(code(call(&mut s, Ask::Raw, 5)), Errno::NoSuchResource.code(), "granted, but not on this board");
        assert_eq!(s.board().rec.events[0], "Adc { channel: 0, value: 2048, millivolts: false }");
    }

    #[test]
    fn the_guard_checks_the_channel_before_converting() {
        let mut s = app(&[1]);
        assert_eq!(code(call(&mut s, Ask::Raw, 0)), Errno::Denied.code());
        assert_eq!(code(call(&mut s, Ask::Millivolts, 32)), Errno::Denied.code());
        assert_eq!(code(call(&mut s, Ask::Resolution, u32::MAX)), Errno::Denied.code());
        assert_eq!(s.board().conversions, 0);
        assert_eq!(s.guard().denials(Capability::Adc), 3);
    }

    #[test]
    fn scaling_rounds_and_clamps() {
        assert_eq!(scale(0, 12, 3300), 0);
        assert_eq!(scale(1, 12, 3300), 1, "0.806 mV rounds up");
        assert_eq!(scale(u16::MAX, 12, 3300), 3300, "codes past the resolution clamp");
        assert_eq!(scale(512, 10, 3600), 1802);
        assert_eq!(scale(u16::MAX, 16, u32::MAX), u32::MAX);
    }
}
