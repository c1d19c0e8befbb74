//! `akira:pwm`: PWM channels by number: duty cycle, and frequency where the
//! board supports it.
//!
//! Boards implement [`Pwm`]; most forward to a [`PwmChannels`] of the
//! HAL's embedded-hal 1.0 `SetDutyCycle` channels (which have no frequency
//! control: [`Pwm::set_frequency`] is [`Errno::Unsupported`] unless the
//! board implements it). Every call checks its channel with one bit test
//! ([`akira_caps::Guard::id`]) before touching it.

use crate::host::{Caller, Linker};
use akira_caps::{Capability, ModuleCapability, ModuleSpec};
use embedded_hal::pwm::SetDutyCycle;

use crate::board::{Board, Trace};
use crate::errno::Errno;
use crate::host_fn;
use crate::module::{HostModule, LinkContext, LinkError};
use crate::state::{AppState, Refusal, reply};

/// A board's PWM channels, by number (0–31). Errors are the codes apps
/// see: [`Errno::NoSuchResource`] for a channel the board does not have,
/// [`Errno::Io`] when the driver fails.
pub trait Pwm {
    /// The duty value that means 100 % on `channel` (at least 1).
    fn max_duty(&mut self, channel: u32) -> Result<u16, Errno>;
    /// Sets the duty of `channel` to `duty` out of [`Pwm::max_duty`]
    /// (`duty` is at most that; the module checks).
    fn set_duty(&mut self, channel: u32, duty: u16) -> Result<(), Errno>;
    /// Sets the frequency of `channel` in hertz; the default: not
    /// supported.
    fn set_frequency(&mut self, channel: u32, hz: u32) -> Result<(), Errno> {
        let _ = (channel, hz);
        Err(Errno::Unsupported)
    }
}

/// Numbered PWM channels over embedded-hal 1.0 `SetDutyCycle`: channel `n`
/// is `channels[n]`, up to 32 of them, all of one type.
pub struct PwmChannels<P, const N: usize> {
    channels: [P; N],
}

impl<P: SetDutyCycle, const N: usize> PwmChannels<P, N> {
    const FITS: () = assert!(N <= 32, "a PwmChannels holds at most 32 channels");

    /// Channels `0..N`.
    pub fn new(channels: [P; N]) -> Self {
        let () = Self::FITS;
        PwmChannels { channels }
    }

    /// Channel `channel`, for firmware code that uses it directly.
    pub fn channel_mut(&mut self, channel: u32) -> Option<&mut P> {
        self.channels.get_mut(channel as usize)
    }

    fn get(&mut self, channel: u32) -> Result<&mut P, Errno> {
        self.channels.get_mut(channel as usize).ok_or(Errno::NoSuchResource)
    }
}

impl<P: SetDutyCycle, const N: usize> Pwm for PwmChannels<P, N> {
    fn max_duty(&mut self, channel: u32) -> Result<u16, Errno> {
        Ok(self.get(channel)?.max_duty_cycle())
    }

    fn set_duty(&mut self, channel: u32, duty: u16) -> Result<(), Errno> {
        self.get(channel)?.set_duty_cycle(duty).map_err(|_| Errno::Io)
    }
}

/// The module's spec.
pub static SPEC: ModuleSpec = ModuleSpec {
    import: akira_abi::PWM.import,
    capability: ModuleCapability::Builtin(Capability::Pwm),
    functions: akira_abi::PWM.functions,
};

/// The `akira:pwm` module; the board must implement [`Pwm`].
#[derive(Clone, Copy, Debug, Default)]
pub struct PwmModule;

fn max_duty<B: Board + Pwm>(state: &mut AppState<B>, channel: u32) -> Result<i32, Refusal> {
    state.guarded(|g| g.id(Capability::Pwm, channel))?;
    Ok(i32::from(state.board_mut().max_duty(channel)?))
}

fn set_duty<B: Board + Pwm>(state: &mut AppState<B>, channel: u32, duty: u32) -> Result<i32, Refusal> {
    state.guarded(|g| g.id(Capability::Pwm, channel))?;
    let max = state.board_mut().max_duty(channel)?;
    let duty = u16::try_from(duty).ok().filter(|d| *d <= max).ok_or(Errno::Invalid)?;
    state.board_mut().set_duty(channel, duty)?;
    state.trace(Trace::PwmDuty { channel, duty, max });
    Ok(0)
}

fn set_frequency<B: Board + Pwm>(state: &mut AppState<B>, channel: u32, hz: u32) -> Result<i32, Refusal> {
    state.guarded(|g| g.id(Capability::Pwm, channel))?;
    if hz == 0 || hz > i32::MAX as u32 {
        return Err(Errno::Invalid.into());
    }
    state.board_mut().set_frequency(channel, hz)?;
    state.trace(Trace::PwmFrequency { channel, hz });
    Ok(0)
}

impl<B: Board + Pwm> HostModule<B> for PwmModule {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn link(&self, linker: &mut Linker<AppState<B>>, _: &LinkContext<'_>) -> Result<(), LinkError> {
        type C<'a, B> = Caller<'a, AppState<B>>;
        host_fn!(linker, SPEC, "max_duty", |c: C<'_, B>, ch: u32| reply(max_duty(c.data_mut(), ch)))?;
        host_fn!(linker, SPEC, "set_duty", |c: C<'_, B>, ch: u32, duty: u32| reply(set_duty(c.data_mut(), ch, duty)))?;
        host_fn!(linker, SPEC, "set_frequency", |c: C<'_, B>, ch: u32, hz: u32| {
            reply(set_frequency(c.data_mut(), ch, hz))
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Recorder, code, recorder_board, state};
    use akira_caps::CapabilitySet;
    use embedded_hal_mock::eh1::pwm::{Mock, Transaction as T};

    struct Board2 {
        rec: Recorder,
        pwm: PwmChannels<Mock, 2>,
    }
    recorder_board!(Board2);

    impl Pwm for Board2 {
        fn max_duty(&mut self, channel: u32) -> Result<u16, Errno> {
            self.pwm.max_duty(channel)
        }
        fn set_duty(&mut self, channel: u32, duty: u16) -> Result<(), Errno> {
            self.pwm.set_duty(channel, duty)
        }
    }

    /// An app granted channel 1 only.
    fn app(ch1: &[T]) -> AppState<Board2> {
        let caps = CapabilitySet { pwm: Some([1].into_iter().collect()), ..Default::default() };
        state(Board2 { rec: Recorder::default(), pwm: PwmChannels::new([Mock::new(&[]), Mock::new(ch1)]) }, &caps)
    }

    fn done(mut s: AppState<Board2>) -> Vec<String> {
        for ch in s.board_mut().pwm.channels.iter_mut() {
            ch.done();
        }
        core::mem::take(&mut s.board_mut().rec.events)
    }

    #[test]
    fn duty_goes_to_the_channel_within_its_range() {
        let mut s = app(&[T::max_duty_cycle(1000), T::set_duty_cycle(250)]);
        assert_eq!(code(set_duty(&mut s, 1, 250)), 0);
        let events = done(s);
        assert_eq!(events, ["PwmDuty { channel: 1, duty: 250, max: 1000 }"]);
    }

    #[test]
    fn out_of_range_duty_and_frequency_are_refused() {
        let mut s = app(&[T::max_duty_cycle(1000)]);
        assert_eq!(code(set_duty(&mut s, 1, 1001)), Errno::Invalid.code());
        assert_eq!(code(set_frequency(&mut s, 1, 0)), Errno::Invalid.code());
        assert_eq!(code(set_frequency(&mut s, 1, 440)), Errno::Unsupported.code(), "SetDutyCycle has no frequency");
        let mut s2 = app(&[T::max_duty_cycle(1000)]);
        assert_eq!(code(max_duty(&mut s2, 1)), 1000);
        done(s);
        done(s2);
    }

    #[test]
    fn the_guard_checks_the_channel_before_it_is_touched() {
        let mut s = app(&[]);
        assert_eq!(code(set_duty(&mut s, 0, 1)), Errno::Denied.code(), "channel 0 exists");
        assert_eq!(code(max_duty(&mut s, 7)), Errno::Denied.code());
        assert_eq!(code(set_frequency(&mut s, u32::MAX, 1)), Errno::Denied.code());
        assert_eq!(s.guard().denials(Capability::Pwm), 3);
        done(s);
    }
}
