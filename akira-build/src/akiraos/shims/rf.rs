//! The RF shims. AkiraOS sets the frequency and the power one call at a
//! time and sends with what was set; `akira:rf.configure` takes every
//! LoRa setting at once. The shims keep the app's frequency and power
//! (0 until set: the board profile's), take the rest from the profile, and
//! configure before each send.

use wasm_encoder::{BlockType, Instruction as I, MemArg, ValType};

use super::{A4, EFAULT, Gen, Helper, Need, Spec, State, spec};
use Helper::{Errno, Fits};

/// Zephyr's `ENODATA`: no packet received yet.
const ENODATA: i32 = 61;
/// The state: frequency (Hz, 0: the profile's), power (dBm + 1000, 0:
/// the profile's).
const FREQUENCY: u32 = 0;
const POWER: u32 = 1;

const CONFIGURE: &[(&str, &str)] = &[("akira:rf", "configure")];

impl Gen<'_> {
    /// `akira:rf.configure` with the kept frequency and power (or the
    /// profile's) and the profile's other settings; its result on the
    /// stack.
    fn configure(&mut self) -> &mut Self {
        let radio = self.cx.radio();
        let state = self.cx.state(State::Rf);
        for (at, default) in [(FREQUENCY, radio.frequency_hz as i32), (POWER, i32::from(radio.power_dbm))] {
            self.o(I::GlobalGet(state + at)).o(I::I32Eqz).o(I::If(BlockType::Result(ValType::I32)));
            self.c(default).o(I::Else).o(I::GlobalGet(state + at));
            if at == POWER {
                self.c(1000).o(I::I32Sub);
            }
            self.o(I::End);
            if at == FREQUENCY {
                self.c(radio.spreading_factor as i32).c(radio.bandwidth_hz as i32).c(radio.coding_rate as i32);
            }
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

const fn stateful(uses: &'static [(&'static str, &'static str)], write: fn(&mut Gen<'_>)) -> Spec {
    Spec { state: Some(State::Rf), ..spec(uses, &[Errno], &[Need::Rf], write) }
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
