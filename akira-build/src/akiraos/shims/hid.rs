//! The HID shims. AkiraOS keeps which keys and buttons an app holds and
//! sends a report per change; `akira:hid` takes whole reports, so the
//! shims keep that state in globals of their own (one set per app) and
//! send the whole report on each press, release or move.

use wasm_encoder::{BlockType, Instruction as I, MemArg, ValType};

use super::{EINVAL, ENOMEM, Gen, Helper, Need, Spec, State, spec};
use Helper::{Errno, Strlen};
use Need::Hid;

/// Held mouse buttons (bit 0 left, 1 right, 2 middle).
const MOUSE: u32 = 0;
/// Held gamepad buttons (16 bits).
const PAD: u32 = 1;
/// The sticks x, y, rx, ry (-127..127).
const STICKS: u32 = 2;
/// The left stick's x and y for each d-pad direction (centre, then N
/// clockwise to NW; y grows downwards, as HID's does).
const DPAD_X: [i32; 9] = [0, 0, 127, 127, 127, 0, -127, -127, -127];
const DPAD_Y: [i32; 9] = [0, -127, -127, 0, 127, 127, 127, 0, -127];
/// Keyboard modifier bits (left ctrl, shift, alt, gui, then right).
const MODS: u32 = 6;
/// Six held key usage ids (0: a free slot).
const KEYS: u32 = 7;

const MOUSE_REPORT: &[(&str, &str)] = &[("akira:hid", "mouse")];
const PAD_REPORT: &[(&str, &str)] = &[("akira:hid", "gamepad")];
const KEY_REPORT: &[(&str, &str)] = &[("akira:hid", "keyboard")];

/// A shim that keeps HID state.
const fn stateful(uses: &'static [(&'static str, &'static str)], write: fn(&mut Gen<'_>)) -> Spec {
    Spec { states: &[State::Hid], ..spec(uses, &[Errno], &[Hid], write) }
}

impl Gen<'_> {
    fn state(&mut self, at: u32) -> &mut Self {
        let g = self.cx.state(State::Hid) + at;
        self.o(I::GlobalGet(g))
    }
    fn set_state(&mut self, at: u32) -> &mut Self {
        let g = self.cx.state(State::Hid) + at;
        self.o(I::GlobalSet(g))
    }
    /// `-EINVAL` unless param `i` has no bit outside `mask`.
    fn only_bits(&mut self, i: u32, mask: i32) -> &mut Self {
        self.p(i).c(!mask).o(I::I32And).o(I::I32Eqz).or_fail(EINVAL)
    }
    /// Sends the mouse report: held buttons, then `dx, dy, wheel` pushed
    /// by `motion`.
    fn mouse_report(&mut self, motion: impl FnOnce(&mut Self)) -> &mut Self {
        self.state(MOUSE);
        motion(self);
        self.call("akira:hid", "mouse").errno()
    }
    fn pad_report(&mut self) -> &mut Self {
        self.state(PAD);
        for stick in 0..4 {
            self.state(STICKS + stick);
        }
        self.call("akira:hid", "gamepad").errno()
    }
    /// Sends the keyboard report: the modifiers and the held keys, packed
    /// in scratch on the app's stack.
    fn key_report(&mut self) -> &mut Self {
        let s = self.alloc(8);
        let n = self.local(ValType::I32);
        for slot in 0..6 {
            self.state(KEYS + slot).o(I::If(BlockType::Empty));
            self.o(I::LocalGet(s)).o(I::LocalGet(n)).o(I::I32Add).state(KEYS + slot);
            self.o(I::I32Store8(MemArg { offset: 0, align: 0, memory_index: 0 }));
            self.o(I::LocalGet(n)).c(1).o(I::I32Add).o(I::LocalSet(n)).o(I::End);
        }
        self.state(MODS).o(I::LocalGet(s)).o(I::LocalGet(n)).call("akira:hid", "keyboard").errno();
        self.free(8)
    }
    /// Whether param 0 is a modifier key (usage 0xE0..0xE7), on the
    /// stack.
    fn is_modifier(&mut self) -> &mut Self {
        self.p(0).c(0xE0).o(I::I32Sub).c(8).o(I::I32LtU)
    }
    /// The modifier bit of key param 0, on the stack.
    fn modifier_bit(&mut self) -> &mut Self {
        self.c(1).p(0).c(0xE0).o(I::I32Sub).o(I::I32Shl)
    }
}

/// Named shortcuts kept: slots of four globals (name low and high 8
/// bytes, modifiers, key).
const ACTIONS: u32 = 8;
/// Zephyr's `ENOENT`: no shortcut by that name.
const ENOENT: i32 = 2;

impl Gen<'_> {
    /// The shortcut name at param 0 (1 to 15 bytes, else `-EINVAL`) as two
    /// i64 locals, NUL padded, through 16 bytes of scratch.
    fn action_name(&mut self) -> [u32; 2] {
        let len = self.str_len(0);
        self.o(I::LocalGet(len)).c(1).o(I::I32Sub).c(15).o(I::I32LtU).or_fail(EINVAL);
        let s = self.alloc(16);
        let i = self.local(ValType::I32);
        let name = [self.local(ValType::I64), self.local(ValType::I64)];
        let wide = MemArg { offset: 0, align: 3, memory_index: 0 };
        self.o(I::LocalGet(s)).o(I::I64Const(0)).o(I::I64Store(wide));
        self.o(I::LocalGet(s)).o(I::I64Const(0)).o(I::I64Store(MemArg { offset: 8, ..wide }));
        self.o(I::Block(BlockType::Empty)).o(I::Loop(BlockType::Empty));
        self.o(I::LocalGet(i)).o(I::LocalGet(len)).o(I::I32GeU).o(I::BrIf(1));
        self.o(I::LocalGet(s)).o(I::LocalGet(i)).o(I::I32Add).p(0).o(I::LocalGet(i)).o(I::I32Add);
        let byte = MemArg { offset: 0, align: 0, memory_index: 0 };
        self.o(I::I32Load8U(byte)).o(I::I32Store8(byte));
        self.o(I::LocalGet(i)).c(1).o(I::I32Add).o(I::LocalSet(i)).o(I::Br(0));
        self.o(I::End).o(I::End);
        self.o(I::LocalGet(s)).o(I::I64Load(wide)).o(I::LocalSet(name[0]));
        self.o(I::LocalGet(s)).o(I::I64Load(MemArg { offset: 8, ..wide })).o(I::LocalSet(name[1]));
        self.free(16);
        name
    }

    /// The slot holding shortcut `name`, in a new local (-1: none).
    fn action_slot(&mut self, name: [u32; 2]) -> u32 {
        let base = self.cx.state(State::Actions);
        let slot = self.local(ValType::I32);
        self.c(-1).o(I::LocalSet(slot));
        for k in 0..ACTIONS {
            let g = base + k * 4;
            self.o(I::GlobalGet(g + 3)).c(0).o(I::I32Ne);
            self.o(I::GlobalGet(g)).o(I::LocalGet(name[0])).o(I::I64Eq).o(I::I32And);
            self.o(I::GlobalGet(g + 1)).o(I::LocalGet(name[1])).o(I::I64Eq).o(I::I32And);
            self.o(I::If(BlockType::Empty)).c(k as i32).o(I::LocalSet(slot)).o(I::End);
        }
        slot
    }
}

/// The HID shim for `name`, if Akira translates it.
pub(super) fn shim(name: &str) -> Option<Spec> {
    Some(match name {
        "hid_enable" | "hid_disable" | "hid_set_transport" | "hid_set_device_types" | "hid_init" => {
            spec(&[], &[], &[Hid], |g| {
                g.c(0);
            })
        }
        "hid_is_connected" => spec(&[], &[], &[Hid], |g| {
            g.c(1);
        }),
        "hid_type_string" => spec(&[("akira:hid", "type_text")], &[Strlen, Errno], &[Hid], |g| {
            // `type_text` types what it can at once: call again for the
            // rest, and return 0 once all of it is typed.
            let len = g.str_len(0);
            let done = g.local(ValType::I32);
            let r = g.local(ValType::I32);
            g.o(I::Block(BlockType::Empty)).o(I::Loop(BlockType::Empty));
            g.o(I::LocalGet(done)).o(I::LocalGet(len)).o(I::I32GeU).o(I::BrIf(1));
            g.p(0).o(I::LocalGet(done)).o(I::I32Add).o(I::LocalGet(len)).o(I::LocalGet(done)).o(I::I32Sub);
            g.call("akira:hid", "type_text").o(I::LocalTee(r)).c(0).o(I::I32LeS);
            g.o(I::If(BlockType::Empty)).o(I::LocalGet(r)).errno().o(I::Return).o(I::End);
            g.o(I::LocalGet(done)).o(I::LocalGet(r)).o(I::I32Add).o(I::LocalSet(done)).o(I::Br(0));
            g.o(I::End).o(I::End).c(0);
        }),
        "hid_consumer_send" => spec(&[("akira:hid", "consumer")], &[Errno], &[Hid], |g| {
            let r = g.local(ValType::I32);
            g.p(0).call("akira:hid", "consumer").o(I::LocalSet(r)).c(0).call("akira:hid", "consumer").o(I::Drop);
            g.o(I::LocalGet(r)).errno();
        }),
        "hid_send_raw_report" => spec(&[("akira:hid", "raw")], &[Errno], &[Hid], |g| {
            g.p(1).p(2).call("akira:hid", "raw").errno();
        }),
        // The mouse: buttons held across moves (a drag).
        "hid_mouse_move" => stateful(MOUSE_REPORT, |g| {
            g.mouse_report(|g| {
                g.p(0).p(1).c(0);
            });
        }),
        "hid_mouse_scroll" => stateful(MOUSE_REPORT, |g| {
            g.mouse_report(|g| {
                g.c(0).c(0).p(0);
            });
        }),
        "hid_mouse_btn_press" => stateful(MOUSE_REPORT, |g| {
            g.only_bits(0, 7).state(MOUSE).p(0).o(I::I32Or).set_state(MOUSE);
            g.mouse_report(|g| {
                g.c(0).c(0).c(0);
            });
        }),
        "hid_mouse_btn_release" => stateful(MOUSE_REPORT, |g| {
            g.only_bits(0, 7).state(MOUSE).p(0).c(-1).o(I::I32Xor).o(I::I32And).set_state(MOUSE);
            g.mouse_report(|g| {
                g.c(0).c(0).c(0);
            });
        }),
        // The gamepad: 16 buttons and two sticks.
        "hid_gamepad_press" => stateful(PAD_REPORT, |g| {
            g.only_bits(0, 0xffff).state(PAD).p(0).o(I::I32Or).set_state(PAD).pad_report();
        }),
        "hid_gamepad_release" => stateful(PAD_REPORT, |g| {
            g.only_bits(0, 0xffff).state(PAD).p(0).c(-1).o(I::I32Xor).o(I::I32And).set_state(PAD).pad_report();
        }),
        "hid_gamepad_set_axis" => stateful(PAD_REPORT, |g| {
            // Axes 0..3 are x, y, rx, ry; AkiraOS's -32768..32767 is
            // `akira:hid`'s -127..127 (the top byte, -128 held at -127).
            g.p(0).c(4).o(I::I32LtU).or_fail(EINVAL);
            g.p(1).c(-32768).o(I::I32LtS).p(1).c(32767).o(I::I32GtS).o(I::I32Or).o(I::I32Eqz).or_fail(EINVAL);
            let v = g.local(ValType::I32);
            g.p(1).c(8).o(I::I32ShrS).o(I::LocalTee(v)).c(-127).o(I::I32LtS);
            g.o(I::If(BlockType::Empty)).c(-127).o(I::LocalSet(v)).o(I::End);
            for stick in 0..4 {
                g.p(0).c(stick as i32).o(I::I32Eq).o(I::If(BlockType::Empty));
                g.o(I::LocalGet(v)).set_state(STICKS + stick).o(I::End);
            }
            g.pad_report();
        }),
        "hid_gamepad_set_dpad" => stateful(PAD_REPORT, |g| {
            // 0 centre, 1-8 N, NE, E, SE, S, SW, W, NW: the report has no
            // hat switch, so the left stick (x, y) at full deflection.
            g.p(0).c(9).o(I::I32LtU).or_fail(EINVAL);
            for (stick, axis) in [(0, DPAD_X), (1, DPAD_Y)] {
                for (direction, value) in axis.iter().enumerate() {
                    g.p(0).c(direction as i32).o(I::I32Eq).o(I::If(BlockType::Empty));
                    g.c(*value).set_state(STICKS + stick).o(I::End);
                }
            }
            g.pad_report();
        }),
        "hid_gamepad_reset" => stateful(PAD_REPORT, |g| {
            for at in PAD..STICKS + 4 {
                g.c(0).set_state(at);
            }
            g.pad_report();
        }),
        // The keyboard: modifiers and up to six held keys.
        "hid_key_press" => Spec {
            scratch: true,
            ..stateful(KEY_REPORT, |g| {
                g.p(0).c(1).o(I::I32Sub).c(0xff).o(I::I32LtU).or_fail(EINVAL);
                g.is_modifier().o(I::If(BlockType::Empty));
                g.state(MODS).modifier_bit().o(I::I32Or).set_state(MODS);
                g.o(I::Else);
                // Held already: nothing changes; else the first free slot.
                let slot = g.local(ValType::I32);
                g.c(-1).o(I::LocalSet(slot));
                for k in (0..6).rev() {
                    g.state(KEYS + k).p(0).o(I::I32Eq).o(I::If(BlockType::Empty)).c(0).o(I::Return).o(I::End);
                    g.state(KEYS + k).o(I::I32Eqz).o(I::If(BlockType::Empty));
                    g.c(k as i32).o(I::LocalSet(slot)).o(I::End);
                }
                g.o(I::LocalGet(slot)).c(0).o(I::I32GeS).or_fail(ENOMEM);
                for k in 0..6 {
                    g.o(I::LocalGet(slot)).c(k as i32).o(I::I32Eq).o(I::If(BlockType::Empty));
                    g.p(0).set_state(KEYS + k).o(I::End);
                }
                g.o(I::End).key_report();
            })
        },
        "hid_key_release" => Spec {
            scratch: true,
            ..stateful(KEY_REPORT, |g| {
                g.is_modifier().o(I::If(BlockType::Empty));
                g.state(MODS).modifier_bit().c(-1).o(I::I32Xor).o(I::I32And).set_state(MODS);
                g.o(I::Else);
                for k in 0..6 {
                    g.state(KEYS + k).p(0).o(I::I32Eq).o(I::If(BlockType::Empty));
                    g.c(0).set_state(KEYS + k).o(I::End);
                }
                g.o(I::End).key_report();
            })
        },
        "hid_set_modifiers" => Spec {
            scratch: true,
            ..stateful(KEY_REPORT, |g| {
                g.only_bits(0, 0xff).p(0).set_state(MODS).key_report();
            })
        },
        "hid_gamepad_send_report" => stateful(PAD_REPORT, |g| {
            // (buttons, hat, a0..a5): the buttons and the two sticks; the
            // hat and the triggers have no place in `akira:hid`'s report.
            g.only_bits(0, 0xffff).p(0).set_state(PAD);
            for stick in 0..4 {
                g.p(2 + stick).c(8).o(I::I32ShrS).set_state(STICKS + stick);
                g.state(STICKS + stick).c(-127).o(I::I32LtS).o(I::If(BlockType::Empty));
                g.c(-127).set_state(STICKS + stick).o(I::End);
                g.state(STICKS + stick).c(127).o(I::I32GtS).o(I::If(BlockType::Empty));
                g.c(127).set_state(STICKS + stick).o(I::End);
            }
            g.pad_report();
        }),
        // (name, modifiers, key): kept in the shim's slots; a name again
        // replaces its shortcut. No report is sent.
        "hid_action_register" => Spec {
            scratch: true,
            states: &[State::Actions],
            ..spec(&[], &[Strlen], &[Hid], |g| {
                let base = g.cx.state(State::Actions);
                g.only_bits(1, 0xff).p(2).c(1).o(I::I32Sub).c(0xff).o(I::I32LtU).or_fail(EINVAL);
                let name = g.action_name();
                let slot = g.action_slot(name);
                // Else the first free slot.
                for k in 0..ACTIONS {
                    g.o(I::LocalGet(slot))
                        .c(0)
                        .o(I::I32LtS)
                        .o(I::GlobalGet(base + k * 4 + 3))
                        .o(I::I32Eqz)
                        .o(I::I32And);
                    g.o(I::If(BlockType::Empty)).c(k as i32).o(I::LocalSet(slot)).o(I::End);
                }
                g.o(I::LocalGet(slot)).c(0).o(I::I32GeS).or_fail(ENOMEM);
                for k in 0..ACTIONS {
                    let at = base + k * 4;
                    g.o(I::LocalGet(slot)).c(k as i32).o(I::I32Eq).o(I::If(BlockType::Empty));
                    g.o(I::LocalGet(name[0])).o(I::GlobalSet(at)).o(I::LocalGet(name[1])).o(I::GlobalSet(at + 1));
                    g.p(1).o(I::GlobalSet(at + 2)).p(2).o(I::GlobalSet(at + 3)).o(I::End);
                }
                g.c(0);
            })
        },
        // Presses the shortcut (its modifiers and key), then releases it:
        // the report goes back to what the app holds.
        "hid_action_trigger" => Spec {
            scratch: true,
            states: &[State::Actions, State::Hid],
            ..spec(KEY_REPORT, &[Strlen, Errno], &[Hid], |g| {
                let base = g.cx.state(State::Actions);
                let name = g.action_name();
                let slot = g.action_slot(name);
                g.o(I::LocalGet(slot)).c(0).o(I::I32GeS).or_fail(ENOENT);
                let [modifiers, r] = [g.local(ValType::I32), g.local(ValType::I32)];
                let s = g.alloc(8);
                for k in 0..ACTIONS {
                    let at = base + k * 4;
                    g.o(I::LocalGet(slot)).c(k as i32).o(I::I32Eq).o(I::If(BlockType::Empty));
                    g.o(I::GlobalGet(at + 2)).o(I::LocalSet(modifiers));
                    g.o(I::LocalGet(s)).o(I::GlobalGet(at + 3)).o(I::I32Store8(MemArg {
                        offset: 0,
                        align: 0,
                        memory_index: 0,
                    }));
                    g.o(I::End);
                }
                g.o(I::LocalGet(modifiers)).o(I::LocalGet(s)).c(1).call("akira:hid", "keyboard").o(I::LocalSet(r));
                g.free(8);
                g.o(I::LocalGet(r)).o(I::If(BlockType::Empty)).o(I::LocalGet(r)).errno().o(I::Return).o(I::End);
                g.key_report();
            })
        },
        "hid_key_release_all" => stateful(KEY_REPORT, |g| {
            for at in MODS..KEYS + 6 {
                g.c(0).set_state(at);
            }
            g.c(0).c(0).c(0).call("akira:hid", "keyboard").errno();
        }),
        _ => return None,
    })
}
