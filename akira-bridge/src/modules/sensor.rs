//! `akira:sensor`: typed sensor channels in fixed-point units.
//!
//! The board decides what each channel (0–31) measures, usually with a
//! driver crate for the part on its I2C or SPI bus, and implements
//! [`Sensors`]: a channel's [`SensorKind`] and a [`Reading`] of it. Values
//! are integers in the kind's unit, chosen so that no reading needs a
//! float and ordinary ranges fit an `i32`:
//!
//! | kind | code | values | unit |
//! |---|---|---|---|
//! | temperature | 1 | 1 | milli-degree Celsius (m°C) |
//! | relative humidity | 2 | 1 | milli-percent (0.001 %RH) |
//! | pressure | 3 | 1 | pascal (Pa) |
//! | acceleration | 4 | 3: x, y, z | mm/s² |
//! | angular rate | 5 | 3: x, y, z | milli-degree per second |
//! | magnetic field | 6 | 3: x, y, z | nanotesla (nT) |
//! | illuminance | 7 | 1 | millilux (mlx) |
//! | distance | 8 | 1 | millimetre (mm) |
//! | CO₂ concentration | 9 | 1 | parts per million (ppm) |
//! | voltage | 10 | 1 | millivolt (mV) |
//! | current | 11 | 1 | milliampere (mA) |
//!
//! Every call checks its channel with one bit test
//! ([`akira_caps::Guard::id`]) before the board is asked. Values can be
//! negative, so `read` returns them through the app's memory, never as
//! the call's result.

use crate::host::{Caller, Linker};
use akira_caps::{Capability, ModuleCapability, ModuleSpec};

use crate::board::{Board, Trace};
use crate::errno::Errno;
use crate::host_fn;
use crate::memory::GuestMemory;
use crate::module::{HostModule, LinkContext, LinkError};
use crate::state::{AppState, Refusal, memory_and_state, reply};

pub(crate) mod kind;

pub use kind::SensorKind;

/// Most values one reading has.
pub const MAX_VALUES: usize = 3;

/// One reading of a channel: its kind and [`SensorKind::values`] values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Reading {
    kind: SensorKind,
    values: [i32; MAX_VALUES],
}

impl Reading {
    /// A reading of a one-value kind; `None` for a three-axis kind.
    pub const fn scalar(kind: SensorKind, value: i32) -> Option<Reading> {
        if kind.values() == 1 { Some(Reading { kind, values: [value, 0, 0] }) } else { None }
    }

    /// A reading of a three-axis kind; `None` for a one-value kind.
    pub const fn axes(kind: SensorKind, x: i32, y: i32, z: i32) -> Option<Reading> {
        if kind.values() == 3 { Some(Reading { kind, values: [x, y, z] }) } else { None }
    }

    /// What was measured.
    pub const fn kind(&self) -> SensorKind {
        self.kind
    }

    /// The values, in the kind's unit.
    pub fn values(&self) -> &[i32] {
        &self.values[..self.kind.values()]
    }
}

/// A board's sensor channels, by number (0–31). Errors are the codes apps
/// see: [`Errno::NoSuchResource`] for a channel the board does not have,
/// [`Errno::Io`] when the sensor does not answer, [`Errno::Busy`] when no
/// fresh measurement is ready and the driver cannot wait.
pub trait Sensors {
    /// What `channel` measures.
    fn kind(&mut self, channel: u32) -> Result<SensorKind, Errno>;
    /// Measures `channel` now (or returns its latest measurement).
    fn read(&mut self, channel: u32) -> Result<Reading, Errno>;
}

/// The module's spec.
pub static SPEC: ModuleSpec = ModuleSpec {
    import: akira_abi::SENSOR.import,
    capability: ModuleCapability::Builtin(Capability::Sensor),
    functions: akira_abi::SENSOR.functions,
};

/// The `akira:sensor` module; the board must implement [`Sensors`].
#[derive(Clone, Copy, Debug, Default)]
pub struct SensorModule;

fn kind<B: Board + Sensors>(state: &mut AppState<B>, channel: u32) -> Result<i32, Refusal> {
    state.guarded(|g| g.id(Capability::Sensor, channel))?;
    Ok(i32::from(state.board_mut().kind(channel)?.code()))
}

fn read<B: Board + Sensors>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    channel: u32,
    ptr: u32,
    len: u32,
) -> Result<i32, Refusal> {
    state.guarded(|g| g.id(Capability::Sensor, channel))?;
    // The buffer is checked before the sensor is asked: a bad one costs
    // no measurement.
    let buf = memory.bytes_mut(ptr, len)?;
    let reading = state.board_mut().read(channel)?;
    let values = reading.values();
    let out = buf.get_mut(..values.len() * 4).ok_or(Errno::NoSpace)?;
    for (chunk, v) in out.chunks_exact_mut(4).zip(values) {
        chunk.copy_from_slice(&v.to_le_bytes());
    }
    state.work(out.len() as u64);
    state.trace(Trace::Sensor { channel, kind: reading.kind(), values });
    Ok(values.len() as i32)
}

impl<B: Board + Sensors> HostModule<B> for SensorModule {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn link(&self, linker: &mut Linker<AppState<B>>, _: &LinkContext<'_>) -> Result<(), LinkError> {
        type C<'a, B> = Caller<'a, AppState<B>>;
        host_fn!(linker, SPEC, "kind", |c: C<'_, B>, ch: u32| reply(kind(c.data_mut(), ch)))?;
        host_fn!(linker, SPEC, "read", |c: C<'_, B>, ch: u32, ptr: u32, len: u32| {
            reply(memory_and_state(&mut c).and_then(|(mut mem, s)| read(&mut mem, s, ch, ptr, len)))
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Recorder, code, recorder_board, state};
    use akira_caps::CapabilitySet;

    /// Channel 0 a thermometer at -12.5 °C, 1 an accelerometer, 2 broken.
    struct Board3 {
        rec: Recorder,
        reads: u32,
    }
    recorder_board!(Board3);

    impl Sensors for Board3 {
        fn kind(&mut self, channel: u32) -> Result<SensorKind, Errno> {
            match channel {
                0 => Ok(SensorKind::Temperature),
                1 => Ok(SensorKind::Acceleration),
                2 => Ok(SensorKind::Humidity),
                _ => Err(Errno::NoSuchResource),
            }
        }
        fn read(&mut self, channel: u32) -> Result<Reading, Errno> {
            self.reads += 1;
            match channel {
                0 => Reading::scalar(SensorKind::Temperature, -12_500).ok_or(Errno::Io),
                1 => Reading::axes(SensorKind::Acceleration, 12, -34, 9_807).ok_or(Errno::Io),
                2 => Err(Errno::Io),
                _ => Err(Errno::NoSuchResource),
            }
        }
    }

    fn app(granted: &[u32]) -> AppState<Board3> {
        let caps = CapabilitySet { sensor: Some(granted.iter().copied().collect()), ..Default::default() };
        state(Board3 { rec: Recorder::default(), reads: 0 }, &caps)
    }

    fn i32s(mem: &GuestMemory<'_>, ptr: u32, n: u32) -> Vec<i32> {
        mem.bytes(ptr, n * 4).unwrap().chunks(4).map(|c| i32::from_le_bytes(c.try_into().unwrap())).collect()
    }

    #[test]
    fn readings_are_written_as_little_endian_values() {
        let mut s = app(&[0, 1, 2]);
        let mut backing = [0u8; 32];
        let mut mem = GuestMemory::new(&mut backing);
        assert_eq!(code(kind(&mut s, 0)), 1);
        assert_eq!(code(kind(&mut s, 1)), 4);
        assert_eq!(code(read(&mut mem, &mut s, 0, 0, 4)), 1);
        assert_eq!(i32s(&mem, 0, 1), [-12_500], "negative values go through memory");
        assert_eq!(code(read(&mut mem, &mut s, 1, 8, 12)), 3);
        assert_eq!(i32s(&mem, 8, 3), [12, -34, 9_807]);
        assert_eq!(code(read(&mut mem, &mut s, 1, 8, 11)), Errno::NoSpace.code(), "three values need 12 bytes");
        assert_eq!(code(read(&mut mem, &mut s, 2, 0, 4)), Errno::Io.code());
        assert_eq!(s.board().rec.events[1], "Sensor { channel: 1, kind: Acceleration, values: [12, -34, 9807] }");
    }

    #[test]
    fn the_guard_and_the_buffer_are_checked_before_the_sensor_is_asked() {
        let mut s = app(&[1]);
        let mut backing = [0u8; 16];
        let mut mem = GuestMemory::new(&mut backing);
        assert_eq!(code(kind(&mut s, 0)), Errno::Denied.code());
        assert_eq!(code(read(&mut mem, &mut s, 0, 0, 4)), Errno::Denied.code());
        assert_eq!(code(read(&mut mem, &mut s, 40, 0, 4)), Errno::Denied.code());
        assert_eq!(code(read(&mut mem, &mut s, 1, 8, 12)), Errno::Fault.code());
        assert_eq!(code(read(&mut mem, &mut s, 1, u32::MAX, 12)), Errno::Fault.code());
        assert_eq!(s.board().reads, 0);
        assert_eq!(s.guard().denials(Capability::Sensor), 3);
    }

    #[test]
    fn kinds_and_readings_agree() {
        for (i, k) in SensorKind::ALL.iter().enumerate() {
            assert_eq!(usize::from(k.code()), i + 1);
            assert_eq!(Reading::scalar(*k, 1).is_some(), k.values() == 1);
            assert_eq!(Reading::axes(*k, 1, 2, 3).is_some(), k.values() == 3);
        }
    }
}
