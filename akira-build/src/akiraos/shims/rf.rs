//! The RF shims. AkiraOS sets the frequency, the power and the LoRa
//! settings one call at a time and sends and receives with what was set;
//! `akira:rf.configure` takes every LoRa setting at once. The shims keep
//! the app's settings (0 until set: the board profile's) and configure
//! before each send and receive.

use wasm_encoder::{BlockType, Instruction as I, MemArg, ValType};

use super::{A4, EFAULT, EINVAL, Gen, Helper, Need, Spec, State, spec};
use Helper::{Errno, Fits};

/// Zephyr's `ENODATA`: no packet received yet.
const ENODATA: i32 = 61;
/// Akira's timeout, and Zephyr's.
const AKIRA_ETIMEDOUT: i32 = -7;
const ETIMEDOUT: i32 = 110;
/// Zephyr's `ENOTSUP` and `ENOMSG`.
const ENOTSUP: i32 = 134;
const ENOMSG: i32 = 42;
/// AkiraOS's `RADIO_MOD_LORA`, the one modulation `akira:rf` has.
const LORA: i32 = 5;
/// The state, each 0 until set (the profile's): frequency (Hz), power
/// (dBm + 1000), spreading factor, bandwidth (Hz), coding rate (5-8).
const FREQUENCY: u32 = 0;
const POWER: u32 = 1;
const SPREADING_FACTOR: u32 = 2;
const BANDWIDTH: u32 = 3;
const CODING_RATE: u32 = 4;

const CONFIGURE: &[(&str, &str)] = &[("akira:rf", "configure")];

impl Gen<'_> {
    /// `akira:rf.configure` with the kept settings (the profile's where
    /// the app set none); its result on the stack.
    fn configure(&mut self) -> &mut Self {
        let radio = self.cx.radio();
        let state = self.cx.state(State::Rf);
        // In `configure`'s order: frequency, spreading factor, bandwidth,
        // coding rate, power.
        let settings = [
            (FREQUENCY, radio.frequency_hz as i32),
            (SPREADING_FACTOR, radio.spreading_factor as i32),
            (BANDWIDTH, radio.bandwidth_hz as i32),
            (CODING_RATE, radio.coding_rate as i32),
            (POWER, i32::from(radio.power_dbm)),
        ];
        for (at, default) in settings {
            self.o(I::GlobalGet(state + at)).o(I::I32Eqz).o(I::If(BlockType::Result(ValType::I32)));
            self.c(default).o(I::Else).o(I::GlobalGet(state + at));
            if at == POWER {
                self.c(1000).o(I::I32Sub);
            }
            self.o(I::End);
        }
        self.call("akira:rf", "configure")
    }

    /// Keeps `value` (on the stack) as setting `at` if configuring with it
    /// succeeds; the previous one stays otherwise.
    fn set_and_configure(&mut self, at: u32) -> &mut Self {
        let state = self.cx.state(State::Rf);
        let [value, old] = [(); 2].map(|()| self.local(ValType::I32));
        self.o(I::LocalSet(value)).o(I::GlobalGet(state + at)).o(I::LocalSet(old));
        self.o(I::LocalGet(value)).o(I::GlobalSet(state + at)).configure().o(I::LocalTee(value));
        self.o(I::If(BlockType::Empty)).o(I::LocalGet(old)).o(I::GlobalSet(state + at)).o(I::End);
        self.o(I::LocalGet(value)).errno()
    }
}

const RECEIVE: &[(&str, &str)] = &[("akira:rf", "configure"), ("akira:rf", "receive")];

/// `akira:rf.configure` with the kept settings, then `akira:rf.receive`
/// of params `(buf, len, timeout_ms)`: the bytes received, or `-empty`
/// when nothing came in time.
fn receive(g: &mut Gen<'_>, empty: i32) {
    let r = g.local(ValType::I32);
    g.configure().o(I::LocalTee(r)).o(I::If(BlockType::Empty)).o(I::LocalGet(r)).errno().o(I::Return).o(I::End);
    g.p(0).p(1).p(2).o(I::I64ExtendI32U).o(I::I64Const(1000)).o(I::I64Mul).call("akira:rf", "receive");
    g.o(I::LocalTee(r)).c(AKIRA_ETIMEDOUT).o(I::I32Eq).o(I::If(BlockType::Empty)).c(-empty).o(I::Return).o(I::End);
    g.o(I::LocalGet(r)).errno();
}

const fn stateful(uses: &'static [(&'static str, &'static str)], write: fn(&mut Gen<'_>)) -> Spec {
    Spec { states: &[State::Rf], ..spec(uses, &[Errno], &[Need::Rf], write) }
}

/// The RF shim for `name`, if Akira translates it.
pub(super) fn shim(name: &str) -> Option<Spec> {
    Some(match name {
        "rf_set_frequency" => stateful(CONFIGURE, |g| {
            g.p(0).set_and_configure(FREQUENCY);
        }),
        "rf_set_power" => stateful(CONFIGURE, |g| {
            // An `int8_t`: the low byte, sign-extended.
            g.p(0).o(I::I32Extend8S).c(1000).o(I::I32Add).set_and_configure(POWER);
        }),
        // 0 would read as "the profile's": it is no valid setting either.
        "rf_set_spreading_factor" => stateful(CONFIGURE, |g| {
            g.p(0).or_fail(EINVAL).p(0).set_and_configure(SPREADING_FACTOR);
        }),
        "rf_set_bandwidth" => stateful(CONFIGURE, |g| {
            g.p(0).or_fail(EINVAL).p(0).set_and_configure(BANDWIDTH);
        }),
        "rf_set_coding_rate" => stateful(CONFIGURE, |g| {
            g.p(0).or_fail(EINVAL).p(0).set_and_configure(CODING_RATE);
        }),
        "rf_set_modulation" => spec(&[], &[], &[Need::Rf], |g| {
            g.p(0).c(LORA).o(I::I32Eq).or_fail(ENOTSUP).c(0);
        }),
        // (buf, len, timeout_ms): listens for the timeout.
        "rf_receive" => stateful(RECEIVE, |g| receive(g, ETIMEDOUT)),
        // The same, polled: AkiraOS pops a queue filled in the background.
        "rf_recv_pop" => stateful(RECEIVE, |g| receive(g, ENOMSG)).polling(),
        "rf_send" => stateful(&[("akira:rf", "configure"), ("akira:rf", "send")], |g| {
            let r = g.local(ValType::I32);
            g.configure().o(I::LocalTee(r)).o(I::If(BlockType::Empty)).o(I::LocalGet(r)).errno().o(I::Return);
            g.o(I::End).p(0).p(1).call("akira:rf", "send").errno();
        }),
        "rf_get_rssi" => Spec {
            scratch: true,
            ..spec(&[("akira:rf", "last_packet")], &[Fits, Errno], &[Need::Rf], |g| {
                // The last received packet's RSSI (an `int16_t`), stored
                // at the pointer (0 returned) or, by the later header's
                // `rf_get_rssi()`, returned; `-ENODATA` before the first.
                let stores = g.params == 1;
                if stores {
                    g.p(0).c(2).h(Fits).or_fail(EFAULT);
                }
                let s = g.alloc(4);
                let r = g.local(ValType::I32);
                g.o(I::LocalGet(s)).call("akira:rf", "last_packet").o(I::LocalTee(r)).c(0).o(I::I32LtS);
                g.o(I::If(BlockType::Result(ValType::I32))).o(I::LocalGet(r)).errno().o(I::Else);
                g.o(I::LocalGet(r)).o(I::If(BlockType::Result(ValType::I32)));
                if stores {
                    g.p(0).o(I::LocalGet(s)).o(I::I32Load16S(MemArg { align: 1, ..A4 }));
                    g.o(I::I32Store16(MemArg { align: 1, ..A4 })).c(0);
                } else {
                    g.o(I::LocalGet(s)).o(I::I32Load16S(MemArg { align: 1, ..A4 }));
                }
                g.o(I::Else).c(-ENODATA).o(I::End).o(I::End);
                g.free(4);
            })
        }
        .polling(),
        _ => return None,
    })
}
