//! The shims: one wasm function per AkiraOS `env` import, over Akira
//! imports, with the same signature as the import it replaces.

use wasm_encoder::{BlockType, Instruction as I, MemArg, ValType};

mod ble;
mod crypto;
mod display;
mod gatt;
mod hid;
mod mem;
mod names;
mod rf;
mod sensor;
mod storage;

/// An Akira capability a shim calls into (granted with an empty scope when
/// the app's manifest does not grant it, so a call is denied and counted,
/// as AkiraOS answers a call without its capability).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Need {
    Log,
    Timer,
    Sys,
    Gpio,
    Display,
    Storage,
    Files,
    /// WASI's clocks (part `clock`).
    Clock,
    Uart,
    I2c,
    Pwm,
    Adc,
    Sensor,
    Rf,
    Rng,
    Hid,
    Ble,
    Ipc,
    App,
}

/// The helper functions shims call (generated once per module).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Helper {
    /// `(code) -> code`: an Akira error code as AkiraOS's `-errno`.
    Errno,
    /// `(errno) -> code`: a WASI errno as AkiraOS's `-errno` (0 stays 0).
    WasiErrno,
    /// `(ptr) -> len`: a NUL-terminated string's length, -1 if it runs
    /// past memory.
    Strlen,
    /// `(ptr, len) -> bool`: whether the range lies inside memory.
    Fits,
    /// `(str, out) -> len`: a UUID string's bytes at `out`, least
    /// significant first; 2 or 16, or `-EINVAL` / `-EFAULT`.
    Uuid,
    /// `(raw pin) -> pin`: the board profile's Akira pin, -1 if unmapped.
    Pin,
}

/// Shim-time context: where imports, helpers, globals and the stack
/// pointer are.
pub(super) trait Cx {
    fn import(&self, module: &str, name: &str) -> u32;
    fn helper(&self, h: Helper) -> u32;
    /// The stack pointer global (`__stack_pointer`), for scratch memory.
    fn stack_pointer(&self) -> u32;
    /// The first of the globals the shims keep `state` in.
    fn state(&self, state: State) -> u32;
    /// AkiraOS button ids and their Akira pins.
    fn buttons(&self) -> Vec<(u32, u32)>;
    /// Zephyr sensor channels and the Akira channels that measure them.
    fn sensors(&self) -> Vec<(u32, u32)>;
    /// The board's radio settings (only asked by the RF shims, which
    /// translate only with a radio in the profile).
    fn radio(&self) -> super::profile::Radio;
    /// AkiraOS UART port `n`'s Akira port.
    fn uart_port(&self, n: u32) -> Option<u32>;
    /// The IPC topics the app is granted (the board profile's `[ipc]
    /// names` with `ipc`, else none), in its grant's order.
    fn topics(&self) -> Vec<String>;
    /// The apps the app may control (the profile's `[app] names` with
    /// `app.control`, else none), in its grant's order.
    fn apps(&self) -> Vec<String>;
    /// Where the app's heap starts: past its static data and stack.
    fn heap_start(&self) -> u32;
    /// The log2 of the memory's page size.
    fn page_log2(&self) -> u32;
}

/// What the shims of one module keep between calls, in globals added to
/// the app (one set per app, zero or -1 at start).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum State {
    /// The timers: used mask (i32), then four starts and four stops (i64,
    /// -1: not yet).
    Timers,
    /// HID: held mouse buttons, gamepad buttons, four sticks, keyboard
    /// modifiers and six held keys (all i32).
    Hid,
    /// Input: the buttons held at the last `input_poll_event` (i32).
    Input,
    /// RF: the frequency, power, spreading factor, bandwidth and coding
    /// rate the app set (i32, 0: not yet).
    Rf,
    /// The allocator: whether its heap is laid out (i32).
    Heap,
    /// HID's named shortcuts: eight slots of a name (up to 15 bytes, NUL
    /// padded, in two i64), modifiers and key (i32, key 0: a free slot).
    Actions,
    /// The BLE GATT table AkiraOS apps build (see `shims/gatt.rs`).
    Gatt,
}

impl State {
    /// The globals' types and start values.
    pub fn globals(self) -> Vec<(ValType, i64)> {
        match self {
            State::Timers => {
                let mut g = vec![(ValType::I32, 0)];
                g.extend([(ValType::I64, -1); 8]);
                g
            }
            State::Hid => vec![(ValType::I32, 0); 13],
            State::Input => vec![(ValType::I32, 0)],
            State::Rf => vec![(ValType::I32, 0); 5],
            State::Heap => vec![(ValType::I32, 0)],
            State::Actions => [(ValType::I64, 0), (ValType::I64, 0), (ValType::I32, 0), (ValType::I32, 0)].repeat(8),
            State::Gatt => gatt::globals(),
        }
    }
}

/// A shim body being written.
pub(in crate::akiraos) struct Gen<'a> {
    pub ins: Vec<I<'static>>,
    pub locals: Vec<ValType>,
    params: u32,
    cx: &'a dyn Cx,
}

const A4: MemArg = MemArg { offset: 0, align: 2, memory_index: 0 };
const A1: MemArg = MemArg { offset: 0, align: 0, memory_index: 0 };

/// Zephyr error numbers AkiraOS apps compare against.
const EINVAL: i32 = 22;
const EFAULT: i32 = 14;
const ENODEV: i32 = 19;
const ENOMEM: i32 = 12;

impl<'a> Gen<'a> {
    pub fn new(params: u32, cx: &'a dyn Cx) -> Self {
        Gen { ins: Vec::new(), locals: Vec::new(), params, cx }
    }
    fn o(&mut self, i: I<'static>) -> &mut Self {
        self.ins.push(i);
        self
    }
    fn p(&mut self, i: u32) -> &mut Self {
        self.o(I::LocalGet(i))
    }
    fn c(&mut self, v: i32) -> &mut Self {
        self.o(I::I32Const(v))
    }
    fn call(&mut self, m: &str, f: &str) -> &mut Self {
        let i = self.cx.import(m, f);
        self.o(I::Call(i))
    }
    fn h(&mut self, h: Helper) -> &mut Self {
        let i = self.cx.helper(h);
        self.o(I::Call(i))
    }
    fn local(&mut self, ty: ValType) -> u32 {
        self.locals.push(ty);
        self.params + self.locals.len() as u32 - 1
    }
    /// `if <top> == 0 { return -e }`.
    fn or_fail(&mut self, e: i32) -> &mut Self {
        self.o(I::I32Eqz).o(I::If(BlockType::Empty)).c(-e).o(I::Return).o(I::End)
    }
    /// Returns the Akira call's result as `-errno`.
    fn errno(&mut self) -> &mut Self {
        self.h(Helper::Errno)
    }
    /// The string at param `i` and its length (in a new local), or
    /// `-EFAULT`.
    fn str_len(&mut self, i: u32) -> u32 {
        let len = self.local(ValType::I32);
        self.p(i).h(Helper::Strlen).o(I::LocalTee(len)).c(0).o(I::I32GeS).or_fail(EFAULT);
        len
    }
    /// Scratch of `n` bytes on the app's shadow stack; its address in a
    /// new local. Release with [`Gen::free`].
    fn alloc(&mut self, n: i32) -> u32 {
        let sp = self.cx.stack_pointer();
        let at = self.local(ValType::I32);
        self.o(I::GlobalGet(sp)).c(n).o(I::I32Sub).o(I::LocalTee(at)).o(I::GlobalSet(sp));
        at
    }
    fn free(&mut self, n: i32) -> &mut Self {
        let sp = self.cx.stack_pointer();
        self.o(I::GlobalGet(sp)).c(n).o(I::I32Add).o(I::GlobalSet(sp))
    }
    /// The profile's pin for raw pin param `i`, in a new local, or
    /// `-ENODEV`.
    fn pin(&mut self, i: u32) -> u32 {
        let pin = self.local(ValType::I32);
        self.p(i).h(Helper::Pin).o(I::LocalTee(pin)).c(0).o(I::I32GeS).or_fail(ENODEV);
        pin
    }
    /// The board profile's buttons held now, as AkiraOS's mask (bit n:
    /// button id n), in a new local. Buttons are pulled up: pressed
    /// reads low (as on the simulator and most boards); a pin the app may
    /// not read counts as released.
    fn buttons(&mut self) -> u32 {
        let mask = self.local(ValType::I32);
        for (id, pin) in self.cx.buttons() {
            self.c(pin as i32).call("akira:gpio", "read").o(I::I32Eqz).c(id as i32).o(I::I32Shl);
            self.o(I::LocalGet(mask)).o(I::I32Or).o(I::LocalSet(mask));
        }
        mask
    }

    /// Yields: a polling call is a scheduling point.
    pub fn yield_now(&mut self) -> &mut Self {
        self.call("akira:sys", "yield_now").o(I::Drop)
    }
}

/// What a shim needs and how it is written.
pub(super) struct Spec {
    /// Akira imports it calls (module, function).
    pub uses: &'static [(&'static str, &'static str)],
    /// Helpers it calls.
    pub helpers: &'static [Helper],
    /// Capabilities it calls into.
    pub needs: &'static [Need],
    /// Whether it uses the stack pointer.
    pub scratch: bool,
    /// The sets of globals it keeps state in.
    pub states: &'static [State],
    /// Whether apps call it in a busy loop (reads of inputs and clocks):
    /// the shim yields (`akira:sys.yield_now`) before its work, so such a
    /// loop shares the CPU and waits count against no CPU budget.
    pub polls: bool,
    /// Writes the body (the function's params are the import's).
    pub write: fn(&mut Gen<'_>),
}

const fn spec(
    uses: &'static [(&'static str, &'static str)],
    helpers: &'static [Helper],
    needs: &'static [Need],
    write: fn(&mut Gen<'_>),
) -> Spec {
    Spec { uses, helpers, needs, scratch: false, states: &[], polls: false, write }
}

/// The import every polling shim calls first.
pub(super) const YIELD: (&str, &str) = ("akira:sys", "yield_now");

impl Spec {
    /// A polling shim (see [`Spec::polls`]).
    const fn polling(self) -> Spec {
        Spec { polls: true, ..self }
    }

    /// Every Akira import the shim calls.
    pub fn imports(&self) -> impl Iterator<Item = &(&'static str, &'static str)> {
        self.uses.iter().chain(self.polls.then_some(&YIELD))
    }

    /// Every capability the shim calls into.
    pub fn capabilities(&self) -> impl Iterator<Item = &Need> {
        self.needs.iter().chain(self.polls.then_some(&Need::Sys))
    }

    /// Writes the body: the yield of a polling shim, then its work.
    pub fn body(&self, g: &mut Gen<'_>) {
        if self.polls {
            g.yield_now();
        }
        (self.write)(g);
    }
}

use Helper::{Errno, Fits, Pin, Strlen};

const LOG: &[(&str, &str)] = &[("akira:log", "write")];
const SLEEP: &[(&str, &str)] = &[("akira:timer", "sleep_us")];
const NOW: &[(&str, &str)] = &[("akira:timer", "now_us")];

/// A timer handle's slot check: `0 <= h < 4` and allocated, else
/// `-EINVAL`.
fn timer_slot(g: &mut Gen<'_>) {
    let t = g.cx.state(State::Timers);
    g.p(0).c(4).o(I::I32LtU).or_fail(EINVAL);
    g.o(I::GlobalGet(t)).c(1).p(0).o(I::I32Shl).o(I::I32And).or_fail(EINVAL);
}

/// `global.set` of timer field `base + h` (four globals per field) from
/// the i64 on the stack, by handle param 0 (a branch per slot).
fn timer_set(g: &mut Gen<'_>, field: u32) {
    let t = g.cx.state(State::Timers);
    let v = g.local(ValType::I64);
    g.o(I::LocalSet(v));
    for slot in 0..4 {
        g.p(0).c(slot as i32).o(I::I32Eq).o(I::If(BlockType::Empty));
        g.o(I::LocalGet(v)).o(I::GlobalSet(t + 1 + field * 4 + slot)).o(I::End);
    }
}

fn timer_get(g: &mut Gen<'_>, field: u32) {
    let t = g.cx.state(State::Timers);
    let v = g.local(ValType::I64);
    for slot in 0..4 {
        g.p(0).c(slot as i32).o(I::I32Eq).o(I::If(BlockType::Empty));
        g.o(I::GlobalGet(t + 1 + field * 4 + slot)).o(I::LocalSet(v)).o(I::End);
    }
    g.o(I::LocalGet(v));
}

/// The shim for AkiraOS import `name`, if Akira translates it.
pub(super) fn shim(name: &str) -> Option<Spec> {
    use Need::*;
    Some(match name {
        "printf_native" => spec(LOG, &[Strlen, Errno], &[Log], |g| {
            let len = g.str_len(0);
            g.c(2).p(0).o(I::LocalGet(len)).call("akira:log", "write").errno();
        }),
        "delay" => spec(SLEEP, &[Errno], &[Timer], |g| {
            g.p(0).o(I::I64ExtendI32U).call("akira:timer", "sleep_us").errno();
        }),
        "gpio_configure" => {
            spec(&[("akira:gpio", "configure"), ("akira:gpio", "write")], &[Pin, Errno], &[Gpio], |g| {
                // GPIO_OUTPUT is bit 1; GPIO_OUTPUT_INIT_HIGH bit 3.
                let pin = g.pin(0);
                let r = g.local(ValType::I32);
                g.o(I::LocalGet(pin)).p(1).c(1).o(I::I32ShrU).c(1).o(I::I32And).call("akira:gpio", "configure");
                g.o(I::LocalTee(r)).o(I::I32Eqz).p(1).c(3).o(I::I32ShrU).c(1).o(I::I32And).o(I::I32And);
                g.o(I::If(BlockType::Empty)).o(I::LocalGet(pin)).c(1).call("akira:gpio", "write").o(I::LocalSet(r));
                g.o(I::End).o(I::LocalGet(r)).errno();
            })
        }
        "gpio_read" => spec(&[("akira:gpio", "read")], &[Pin, Errno], &[Gpio], |g| {
            let pin = g.pin(0);
            g.o(I::LocalGet(pin)).call("akira:gpio", "read").errno();
        })
        .polling(),
        "gpio_write" => spec(&[("akira:gpio", "write")], &[Pin, Errno], &[Gpio], |g| {
            let pin = g.pin(0);
            g.o(I::LocalGet(pin)).p(1).call("akira:gpio", "write").errno();
        }),
        "input_get_buttons" => spec(&[("akira:gpio", "read")], &[], &[Gpio], |g| {
            let mask = g.buttons();
            g.o(I::LocalGet(mask));
        })
        .polling(),
        "input_poll_event" => Spec {
            states: &[State::Input],
            ..spec(&[("akira:gpio", "read")], &[Fits], &[Gpio], |g| {
                // The lowest button whose state changed since the last
                // poll: `{button_id, pressed}` at the pointer, 1; 0 when
                // none did.
                let last = g.cx.state(State::Input);
                if g.params == 2 {
                    // The later header's `(evt, evt_len)`.
                    g.p(1).c(8).o(I::I32GeU).or_fail(EINVAL);
                }
                g.p(0).c(8).h(Fits).or_fail(EFAULT);
                let now = g.buttons();
                let [changed, bit] = [(); 2].map(|()| g.local(ValType::I32));
                g.o(I::LocalGet(now)).o(I::GlobalGet(last)).o(I::I32Xor).o(I::LocalTee(changed));
                g.o(I::I32Eqz).o(I::If(BlockType::Empty)).c(0).o(I::Return).o(I::End);
                g.o(I::LocalGet(changed)).o(I::I32Ctz).o(I::LocalSet(bit));
                g.p(0).o(I::LocalGet(bit)).o(I::I32Store(A4));
                g.p(0).o(I::LocalGet(now)).o(I::LocalGet(bit)).o(I::I32ShrU).c(1).o(I::I32And);
                g.o(I::I32Store(MemArg { offset: 4, ..A4 }));
                g.o(I::GlobalGet(last)).c(1).o(I::LocalGet(bit)).o(I::I32Shl).o(I::I32Xor).o(I::GlobalSet(last)).c(1);
            })
        }
        .polling(),
        "ble_stop_advertise" => spec(&[("akira:ble", "advertise_stop")], &[Errno], &[Ble], |g| {
            g.call("akira:ble", "advertise_stop").errno();
        }),
        "app_get_self_name" => spec(&[("akira:sys", "app_name")], &[Fits], &[Sys], |g| {
            // The name, NUL-terminated when it fits; its length.
            g.p(0).p(1).h(Fits).or_fail(EFAULT);
            let n = g.local(ValType::I32);
            g.p(0).p(1).call("akira:sys", "app_name").o(I::LocalTee(n)).p(1).o(I::I32LtU);
            g.o(I::If(BlockType::Empty)).p(0).o(I::LocalGet(n)).o(I::I32Add).c(0).o(I::I32Store8(A1)).o(I::End);
            g.o(I::LocalGet(n));
        }),
        "timer_create" => Spec {
            states: &[State::Timers],
            ..spec(&[], &[], &[Timer], |g| {
                let t = g.cx.state(State::Timers);
                for slot in 0..4 {
                    g.o(I::GlobalGet(t)).c(1 << slot).o(I::I32And).o(I::I32Eqz).o(I::If(BlockType::Empty));
                    g.o(I::GlobalGet(t)).c(1 << slot).o(I::I32Or).o(I::GlobalSet(t)).c(slot).o(I::Return).o(I::End);
                }
                g.c(-ENOMEM);
            })
        },
        "timer_start" => Spec {
            states: &[State::Timers],
            ..spec(NOW, &[], &[Timer], |g| {
                timer_slot(g);
                g.call("akira:timer", "now_us");
                timer_set(g, 0);
                g.o(I::I64Const(-1));
                timer_set(g, 1);
                g.c(0);
            })
        },
        "timer_stop" => Spec {
            states: &[State::Timers],
            ..spec(NOW, &[], &[Timer], |g| {
                timer_slot(g);
                g.call("akira:timer", "now_us");
                timer_set(g, 1);
                g.c(0);
            })
        },
        "timer_elapsed" => Spec {
            states: &[State::Timers],
            ..spec(NOW, &[], &[Timer], |g| {
                timer_slot(g);
                let end = g.local(ValType::I64);
                timer_get(g, 1);
                g.o(I::LocalTee(end)).o(I::I64Const(0)).o(I::I64LtS).o(I::If(BlockType::Empty));
                g.call("akira:timer", "now_us").o(I::LocalSet(end)).o(I::End);
                g.o(I::LocalGet(end));
                timer_get(g, 0);
                g.o(I::I64Sub).o(I::I64Const(1000)).o(I::I64DivU).o(I::I32WrapI64);
            })
        }
        .polling(),
        "timer_free" => Spec {
            states: &[State::Timers],
            ..spec(&[], &[], &[Timer], |g| {
                let t = g.cx.state(State::Timers);
                timer_slot(g);
                g.o(I::GlobalGet(t)).c(1).p(0).o(I::I32Shl).c(-1).o(I::I32Xor).o(I::I32And).o(I::GlobalSet(t)).c(0);
            })
        },
        "uart_open" => spec(&[], &[], &[Uart], |g| {
            // The handle is the Akira port.
            let ports: Vec<(u32, u32)> = (0..32).filter_map(|n| Some((n, g.cx.uart_port(n)?))).collect();
            for (n, port) in ports {
                g.p(0).c(n as i32).o(I::I32Eq).o(I::If(BlockType::Empty)).c(port as i32).o(I::Return).o(I::End);
            }
            g.c(-ENODEV);
        }),
        "uart_write" => spec(&[("akira:uart", "write")], &[Errno], &[Uart], |g| {
            let r = g.local(ValType::I32);
            g.p(0).p(1).p(2).o(I::I64Const(0)).call("akira:uart", "write").o(I::LocalTee(r));
            // Nothing fit: 0 bytes written, as AkiraOS says it.
            g.c(-7).o(I::I32Eq).o(I::If(BlockType::Empty)).c(0).o(I::Return).o(I::End).o(I::LocalGet(r)).errno();
        }),
        "uart_read" => spec(&[("akira:uart", "read")], &[Errno], &[Uart], |g| {
            let r = g.local(ValType::I32);
            g.p(0).p(1).p(2).o(I::I64Const(0)).call("akira:uart", "read").o(I::LocalTee(r));
            g.c(-7).o(I::I32Eq).o(I::If(BlockType::Empty)).c(0).o(I::Return).o(I::End).o(I::LocalGet(r)).errno();
        })
        .polling(),
        "uart_close" => spec(&[], &[], &[Uart], |g| {
            g.c(0);
        }),
        "i2c_write_reg" => spec(&[("akira:i2c", "write_reg")], &[Errno], &[I2c], |g| {
            g.p(0).p(1).p(2).p(3).p(4).call("akira:i2c", "write_reg").errno();
        }),
        "i2c_read_reg" => spec(&[("akira:i2c", "read_reg")], &[Errno], &[I2c], |g| {
            let r = g.local(ValType::I32);
            g.p(0).p(1).p(2).p(3).p(4).call("akira:i2c", "read_reg").o(I::LocalTee(r));
            g.o(I::I32Eqz).o(I::If(BlockType::Empty)).p(4).o(I::Return).o(I::End).o(I::LocalGet(r)).errno();
        })
        .polling(),
        "pwm_set" => spec(
            &[("akira:pwm", "set_frequency"), ("akira:pwm", "max_duty"), ("akira:pwm", "set_duty")],
            &[Errno],
            &[Pwm],
            |g| {
                let r = g.local(ValType::I32);
                g.p(2).c(0).o(I::I32LtS).p(2).c(100).o(I::I32GtS).o(I::I32Or).o(I::I32Eqz).or_fail(EINVAL);
                g.p(0).p(1).call("akira:pwm", "set_frequency").o(I::LocalTee(r)).c(0).o(I::I32LtS);
                g.o(I::If(BlockType::Empty)).o(I::LocalGet(r)).errno().o(I::Return).o(I::End);
                g.p(0).p(0).call("akira:pwm", "max_duty").o(I::LocalTee(r)).c(0).o(I::I32LtS);
                g.o(I::If(BlockType::Empty)).o(I::LocalGet(r)).errno().o(I::Return).o(I::End);
                g.o(I::LocalGet(r)).o(I::I64ExtendI32U).p(2).o(I::I64ExtendI32U).o(I::I64Mul);
                g.o(I::I64Const(100)).o(I::I64DivU).o(I::I32WrapI64).call("akira:pwm", "set_duty").errno();
            },
        ),
        "pwm_disable" => spec(&[("akira:pwm", "set_duty")], &[Errno], &[Pwm], |g| {
            g.p(0).c(0).call("akira:pwm", "set_duty").errno();
        }),
        "adc_read" => spec(&[("akira:adc", "read_raw")], &[Errno], &[Adc], |g| {
            g.p(0).call("akira:adc", "read_raw").errno();
        })
        .polling(),
        "adc_read_mv" => spec(&[("akira:adc", "read_mv")], &[Errno], &[Adc], |g| {
            g.p(0).call("akira:adc", "read_mv").errno();
        })
        .polling(),
        "wdt_pet" | "power_get_mode" => spec(&[], &[], &[], |g| {
            g.c(0);
        }),
        "power_get_battery_level" | "power_get_battery_status" => spec(&[], &[], &[], |g| {
            g.c(-ENODEV);
        }),
        "power_set_low_power" => spec(&[("akira:sys", "sleep_hint")], &[Errno], &[Sys], |g| {
            g.p(0).c(0).o(I::I32Ne).call("akira:sys", "sleep_hint").errno();
        }),
        _ => {
            let families: [fn(&str) -> Option<Spec>; 10] = [
                hid::shim,
                display::shim,
                storage::shim,
                sensor::shim,
                rf::shim,
                crypto::shim,
                mem::shim,
                names::shim,
                ble::shim,
                gatt::shim,
            ];
            return families.iter().find_map(|family| family(name));
        }
    })
}

/// The helpers' signatures `(params, results)`.
pub(super) fn helper_type(h: Helper) -> (&'static [ValType], &'static [ValType]) {
    const I32: ValType = ValType::I32;
    match h {
        Helper::Errno | Helper::WasiErrno | Helper::Strlen | Helper::Pin => (&[I32], &[I32]),
        Helper::Fits | Helper::Uuid => (&[I32, I32], &[I32]),
    }
}

/// Akira's error codes (-1..-10) as Zephyr's `-errno`.
const AKIRA_ERRNO: [i32; 10] = [-1, -2, -22, -14, -5, -16, -110, -28, -134, -7];

/// WASI errno values as Zephyr's `-errno`.
const WASI_ERRNO: [(i32, i32); 16] = [
    (76, -1),
    (2, -13),
    (63, -1),
    (44, -2),
    (8, -9),
    (28, -22),
    (21, -14),
    (29, -5),
    (20, -17),
    (31, -21),
    (54, -20),
    (51, -28),
    (33, -24),
    (37, -36),
    (52, -88),
    (22, -27),
];

/// A helper's body. `page_log2` is the memory's page size; `pins` the
/// profile's raw-to-Akira pin map.
pub(super) fn helper_body(h: Helper, page_log2: u32, pins: &[(u32, u32)]) -> (Vec<ValType>, Vec<I<'static>>) {
    let mut f = Vec::new();
    let mut locals = Vec::new();
    match h {
        Helper::Errno => {
            f.extend([I::LocalGet(0), I::I32Const(0), I::I32GeS, I::If(BlockType::Empty)]);
            f.extend([I::LocalGet(0), I::Return, I::End]);
            for (n, z) in AKIRA_ERRNO.iter().enumerate() {
                f.extend([I::LocalGet(0), I::I32Const(-(n as i32) - 1), I::I32Eq, I::If(BlockType::Empty)]);
                f.extend([I::I32Const(*z), I::Return, I::End]);
            }
            f.push(I::I32Const(-5));
        }
        Helper::WasiErrno => {
            f.extend([I::LocalGet(0), I::I32Eqz, I::If(BlockType::Empty), I::I32Const(0), I::Return, I::End]);
            for (w, z) in WASI_ERRNO {
                f.extend([I::LocalGet(0), I::I32Const(w), I::I32Eq, I::If(BlockType::Empty)]);
                f.extend([I::I32Const(z), I::Return, I::End]);
            }
            f.push(I::I32Const(-5));
        }
        Helper::Fits => {
            // ptr + len <= memory size, in 64 bits.
            f.extend([I::LocalGet(0), I::I64ExtendI32U, I::LocalGet(1), I::I64ExtendI32U, I::I64Add]);
            f.extend([I::MemorySize(0), I::I64ExtendI32U, I::I64Const(page_log2.into()), I::I64Shl, I::I64LeU]);
        }
        Helper::Strlen => {
            // Scans up to the end of memory (at most 4096 bytes): -1 if no
            // NUL comes first.
            locals.extend([ValType::I32, ValType::I32]);
            let (end, i) = (1, 2);
            f.extend([I::MemorySize(0), I::I32Const(page_log2 as i32), I::I32Shl, I::LocalSet(end)]);
            f.extend([I::LocalGet(0), I::LocalGet(end), I::I32GeU, I::If(BlockType::Empty)]);
            f.extend([I::I32Const(-1), I::Return, I::End]);
            f.extend([I::LocalGet(end), I::LocalGet(0), I::I32Sub, I::I32Const(4096), I::LocalGet(end)]);
            f.extend([I::LocalGet(0), I::I32Sub, I::I32Const(4096), I::I32LtU, I::Select, I::LocalSet(end)]);
            f.extend([I::Block(BlockType::Empty), I::Loop(BlockType::Empty)]);
            f.extend([I::LocalGet(i), I::LocalGet(end), I::I32GeU, I::BrIf(1)]);
            f.extend([I::LocalGet(0), I::LocalGet(i), I::I32Add, I::I32Load8U(A1), I::I32Eqz]);
            f.extend([I::If(BlockType::Empty), I::LocalGet(i), I::Return, I::End]);
            f.extend([I::LocalGet(i), I::I32Const(1), I::I32Add, I::LocalSet(i), I::Br(0), I::End, I::End]);
            f.push(I::I32Const(-1));
        }
        Helper::Uuid => (locals, f) = gatt::uuid_helper(page_log2),
        Helper::Pin => {
            for (raw, pin) in pins {
                f.extend([I::LocalGet(0), I::I32Const(*raw as i32), I::I32Eq, I::If(BlockType::Empty)]);
                f.extend([I::I32Const(*pin as i32), I::Return, I::End]);
            }
            f.push(I::I32Const(-1));
        }
    }
    f.push(I::End);
    (locals, f)
}
