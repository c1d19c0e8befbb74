//! `akira:rf`: LoRa on a sub-GHz radio, guarded by band, transmit power
//! and duty cycle.
//!
//! An app sets its modulation once (`configure`: frequency, spreading
//! factor, bandwidth, coding rate, transmit power), then sends and
//! receives packets of up to [`MAX_PACKET`] bytes. Both suspend the app
//! until the radio is done; other apps and firmware tasks run meanwhile.
//!
//! Every `configure` and every `send` checks the frequency against the
//! app's bands and the power against its cap ([`akira_caps::Guard::frequency`],
//! [`akira_caps::Guard::power`]: a few compares on the app's grants); a
//! `send` then charges the packet's time on air ([`LoraConfig::time_on_air_us`],
//! Semtech's formula) to the app's duty cycle ([`akira_caps::Guard::airtime`],
//! 1 % of a rolling hour unless the manifest says otherwise), refusing it
//! with [`Errno::NoSpace`] when the budget is spent. A refused call never
//! reaches the radio.
//!
//! Radio drivers are async, so the module never drives the radio itself:
//! boards implement [`Rf`], which queues a job and reports when it is
//! done. [`RfMailbox`] is that queue for one radio, shared fairly: one
//! slot per app (an app cannot take more), jobs in queue order, and a
//! receive gives the radio up to a send queued meanwhile, and to another
//! app's receive once it has listened for its window ([`LISTEN_WINDOW`]
//! plus one packet's time on air), listening again after it, so an app
//! listening without end cannot keep the others from sending or
//! listening. It is a `static` a firmware task serves
//! ([`RfMailbox::serve`], with a timer for the windows) with any [`Radio`], the Akira trait a
//! radio driver implements (the `akira-radio` crate implements it over
//! `lora-phy` for SX126x and SX127x chips). The scheduler's idle future
//! awaits [`RfMailbox::changed`] beside its timer.

use core::time::Duration;

use crate::host::{Caller, Linker};
use akira_caps::{Capability, ModuleCapability, ModuleSpec};

use crate::board::{Board, Trace};
use crate::charge::counted;
use crate::errno::Errno;
use crate::host_fn;
use crate::memory::GuestMemory;
use crate::module::{HostModule, LinkContext, LinkError};
use crate::state::{AppState, ModuleIndex, Refusal, Wait, WaitKind, memory_and_state, reply};
use crate::time::Instant;

mod mailbox;
mod radio;
#[cfg(test)]
mod tests;

pub use mailbox::{LISTEN_WINDOW, RfMailbox};
pub use radio::{
    BANDWIDTHS_HZ, Job, LoraConfig, MAX_PACKET, Outcome, PREAMBLE_SYMBOLS, PacketInfo, Radio, Rf, SEND_MARGIN,
};

/// The module's spec.
pub static SPEC: ModuleSpec = ModuleSpec {
    import: akira_abi::RF.import,
    capability: ModuleCapability::Builtin(Capability::Rf),
    functions: akira_abi::RF.functions,
};

/// The `akira:rf` module; the board must implement [`Rf`].
#[derive(Clone, Copy, Debug, Default)]
pub struct RfModule;

/// Wait operation codes.
const OP_SEND: u32 = 1;
const OP_RECEIVE: u32 = 2;

fn pack(ptr: u32, len: u32) -> u64 {
    u64::from(len) << 32 | u64::from(ptr)
}

fn unpack(arg: u64) -> (u32, u32) {
    (arg as u32, (arg >> 32) as u32 & 0xff)
}

fn configure<B: Board + Rf>(state: &mut AppState<B>, args: [u32; 5]) -> Result<i32, Refusal> {
    let [frequency_hz, sf, bandwidth_hz, coding_rate, power] = args;
    let power = power as i32;
    state.guarded(|g| g.frequency(frequency_hz))?;
    state.guarded(|g| g.power(power))?;
    let config = LoraConfig::new(frequency_hz, sf, bandwidth_hz, coding_rate, power)?;
    let app = state.info().id;
    state.board_mut().configure(app, &config)?;
    Ok(0)
}

/// The app's configuration, checked again against its grant.
fn granted_config<B: Board + Rf>(state: &mut AppState<B>) -> Result<LoraConfig, Refusal> {
    let app = state.info().id;
    let config = state.board().config(app).ok_or(Errno::Invalid)?;
    state.guarded(|g| g.frequency(config.frequency_hz))?;
    state.guarded(|g| g.power(config.power_dbm.into()))?;
    Ok(config)
}

fn send<B: Board + Rf>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    module: ModuleIndex,
    ptr: u32,
    len: u32,
) -> Result<i32, Refusal> {
    let config = granted_config(state)?;
    if len as usize > MAX_PACKET {
        return Err(Errno::TooLarge.into());
    }
    let data = memory.bytes(ptr, len)?;
    let airtime_us = config.time_on_air_us(data.len());
    let now = state.board().now();
    if state.guard_mut().airtime(now.as_micros(), airtime_us).is_err() {
        return Err(Errno::NoSpace.into());
    }
    let app = state.info().id;
    let deadline = now.saturating_add(Duration::from_micros(airtime_us.into())).saturating_add(SEND_MARGIN);
    state.board_mut().start(app, Job::Send(data), deadline)?;
    state.trace(Trace::RfSent {
        frequency_hz: config.frequency_hz,
        power_dbm: config.power_dbm,
        bytes: data,
        airtime_us,
    });
    Err(state.suspend(Wait { until: deadline, kind: WaitKind::Module { module, op: OP_SEND, arg: pack(ptr, len) } }))
}

fn receive<B: Board + Rf>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    module: ModuleIndex,
    ptr: u32,
    len: u32,
    timeout_us: i64,
) -> Result<i32, Refusal> {
    granted_config(state)?;
    // Checked now, so the suspended call holds a valid loan.
    memory.bytes(ptr, len)?;
    let len = len.min(MAX_PACKET as u32);
    let deadline = match u64::try_from(timeout_us) {
        Ok(0) => return Err(Errno::TimedOut.into()),
        Ok(us) => state.board().now().saturating_add(Duration::from_micros(us)),
        Err(_) => Instant::MAX,
    };
    let app = state.info().id;
    state.board_mut().start(app, Job::Receive { max_len: len as usize }, deadline)?;
    Err(state.suspend(Wait { until: deadline, kind: WaitKind::Module { module, op: OP_RECEIVE, arg: pack(ptr, len) } }))
}

fn last_packet<B: Board + Rf>(memory: &mut GuestMemory<'_>, state: &mut AppState<B>, ptr: u32) -> Result<i32, Refusal> {
    let buf = memory.bytes_mut(ptr, 4)?;
    let Some(p) = state.board().last_packet(state.info().id) else { return Ok(0) };
    buf[..2].copy_from_slice(&p.rssi_dbm.to_le_bytes());
    buf[2..].copy_from_slice(&p.snr_db.to_le_bytes());
    Ok(1)
}

impl<B: Board + Rf> HostModule<B> for RfModule {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn app_stopped(&self, board: &mut B, app: u16) {
        board.release(app);
    }

    fn link(&self, linker: &mut Linker<AppState<B>>, cx: &LinkContext<'_>) -> Result<(), LinkError> {
        type C<'a, B> = Caller<'a, AppState<B>>;
        let module = cx.module;
        host_fn!(linker, SPEC, "configure", |c: C<'_, B>, freq: u32, sf: u32, bw: u32, cr: u32, power: u32| {
            reply(configure(c.data_mut(), [freq, sf, bw, cr, power]))
        },)?;
        host_fn!(linker, SPEC, "send", move |c: C<'_, B>, ptr: u32, len: u32| {
            reply(memory_and_state(&mut c).and_then(|(mut mem, s)| {
                let result = send(&mut mem, s, module, ptr, len);
                counted(s, u64::from(len), result)
            }))
        })?;
        host_fn!(linker, SPEC, "receive", move |c: C<'_, B>, ptr: u32, len: u32, timeout_us: i64| {
            reply(memory_and_state(&mut c).and_then(|(mut mem, s)| {
                let result = receive(&mut mem, s, module, ptr, len, timeout_us);
                counted(s, u64::from(len), result)
            }))
        })?;
        host_fn!(linker, SPEC, "last_packet", |c: C<'_, B>, ptr: u32| {
            reply(memory_and_state(&mut c).and_then(|(mut mem, s)| last_packet(&mut mem, s, ptr)))
        })?;
        host_fn!(linker, SPEC, "airtime_left", |c: C<'_, B>| -> i64 {
            let s = c.data_mut();
            let now = s.board().now().as_micros();
            i64::try_from(s.guard_mut().airtime_left(now)).unwrap_or(i64::MAX)
        })?;
        Ok(())
    }

    fn poll_wait_with_memory(
        &self,
        memory: &mut GuestMemory<'_>,
        state: &mut AppState<B>,
        op: u32,
        arg: u64,
    ) -> Option<i32> {
        if op != OP_SEND && op != OP_RECEIVE {
            return Some(Errno::Invalid.code());
        }
        let (ptr, len) = unpack(arg);
        let app = state.info().id;
        let now = state.board().now();
        let buf: &mut [u8] = if op == OP_RECEIVE {
            match memory.bytes_mut(ptr, len) {
                Ok(buf) => buf,
                Err(e) => return Some(e.code()),
            }
        } else {
            &mut []
        };
        let result = state.board_mut().poll(app, now, buf)?;
        Some(match result {
            Ok(Outcome::Sent) => 0,
            Ok(Outcome::Received { len, packet }) => {
                let len = len.min(buf.len());
                let frequency_hz = state.board().config(app).map_or(0, |c| c.frequency_hz);
                state.trace(Trace::RfReceived {
                    frequency_hz,
                    bytes: &buf[..len],
                    rssi_dbm: packet.rssi_dbm,
                    snr_db: packet.snr_db,
                });
                len as i32
            }
            Err(e) => e.code(),
        })
    }
}
