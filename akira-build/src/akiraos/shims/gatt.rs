//! The BLE GATT peripheral shims: AkiraOS's Arduino-style API over
//! `akira:ble`'s GATT server.
//!
//! AkiraOS names UUIDs as strings, creates a characteristic apart from
//! its service and reads values back by handle; `akira:ble` takes UUID
//! bytes, declares each characteristic on its service and reports writes
//! as events. So the shims parse each UUID string (helper
//! [`Helper::Uuid`]) and keep a table in wasm globals ([`State::Gatt`]):
//! the local name, each service's UUID, and for each of up to 8 characteristics AkiraOS
//! created its UUID, properties, maximum length, the Akira handle once
//! `ble_service_add_char` declared it on its service (`gatt_characteristic`
//! needs the service, so declaring waits for that call) and its last value
//! (up to 64 bytes), which `ble_char_read` reads back. Values written
//! before serving are set once `ble_advertise` starts the server.

use wasm_encoder::{BlockType, Instruction as I, MemArg, ValType};

use super::{A1, EFAULT, EINVAL, ENOMEM, Gen, Helper, Need, Spec, State, spec};
use Helper::{Errno, Fits, Strlen, Uuid};

const A8: MemArg = MemArg { offset: 0, align: 3, memory_index: 0 };
/// Zephyr's `E2BIG`.
const E2BIG: i32 = 7;
/// Akira's timeout: no event queued.
const AKIRA_ETIMEDOUT: i32 = -7;
/// The advertising interval `ble_advertise` asks for.
const ADV_INTERVAL_MS: i32 = 100;
/// The property bits Akira serves (read, write without response, write,
/// notify); AkiraOS's indicate (0x20) is not among them.
const PROPS: i32 = 0x1e;
const NOTIFY: i32 = 0x10;
/// The largest value Akira's characteristics hold.
const MAX_VALUE: i32 = 64;
/// An Akira GATT event: 4 header bytes and up to 64 of payload.
const EVENT: i32 = 68;

// The globals of [`State::Gatt`].
/// Services declared (i32).
const SERVICES: u32 = 0;
/// Bit 0: serving; bit 1: a central connected (as the events popped tell).
const FLAGS: u32 = 1;
/// The service `ble_set_advertised_service` chose (-1: none).
const ADVERTISED: u32 = 2;
/// Characteristics created (i32).
const CHARS: u32 = 3;
/// The local name's length, then its bytes (four i64).
const NAME_LEN: u32 = 4;
const NAME: u32 = 5;
/// The longest local name AkiraOS takes.
const NAME_MAX: i32 = 29;
/// The services' UUIDs: two i64 and the length (2 or 16), per service.
const SERVICE0: u32 = 9;
const SERVICE_SLOTS: u32 = 2;
/// Per characteristic: its UUID (two i64), `INFO` (properties, maximum
/// length << 8, 1 << 16 for a 16-bit UUID, the Akira handle + 1 << 24, 0
/// until declared), the value's length and the value (eight i64).
const CHAR0: u32 = SERVICE0 + 3 * SERVICE_SLOTS;
const CHAR_SLOTS: u32 = 8;
const CHAR_GLOBALS: u32 = 12;
const INFO: u32 = 2;
const VLEN: u32 = 3;
const VALUE: u32 = 4;

/// The globals' types and start values.
pub(super) fn globals() -> Vec<(ValType, i64)> {
    let mut g = vec![(ValType::I32, 0), (ValType::I32, 0), (ValType::I32, -1), (ValType::I32, 0), (ValType::I32, 0)];
    g.extend([(ValType::I64, 0); 4]);
    g.extend([(ValType::I64, 0), (ValType::I64, 0), (ValType::I32, 0)].repeat(SERVICE_SLOTS as usize));
    let mut slot = vec![(ValType::I64, 0), (ValType::I64, 0), (ValType::I32, 0), (ValType::I32, 0)];
    slot.extend([(ValType::I64, 0); 8]);
    g.extend(slot.repeat(CHAR_SLOTS as usize));
    g
}

impl Gen<'_> {
    fn gatt(&self, at: u32) -> u32 {
        self.cx.state(State::Gatt) + at
    }

    fn char_global(&self, k: u32, field: u32) -> u32 {
        self.gatt(CHAR0 + k * CHAR_GLOBALS + field)
    }

    fn get_char(&mut self, k: u32, field: u32) -> &mut Self {
        let at = self.char_global(k, field);
        self.o(I::GlobalGet(at))
    }

    fn set_char(&mut self, k: u32, field: u32) -> &mut Self {
        let at = self.char_global(k, field);
        self.o(I::GlobalSet(at))
    }

    fn get_gatt(&mut self, field: u32) -> &mut Self {
        let at = self.gatt(field);
        self.o(I::GlobalGet(at))
    }

    fn set_gatt(&mut self, field: u32) -> &mut Self {
        let at = self.gatt(field);
        self.o(I::GlobalSet(at))
    }

    /// Runs `body` for slot `k` when local `slot` is `k`, for each of `n`
    /// slots (globals are indexed statically: a branch per slot).
    fn each_slot(&mut self, slot: u32, n: u32, body: impl Fn(&mut Self, u32)) -> &mut Self {
        for k in 0..n {
            self.o(I::LocalGet(slot)).c(k as i32).o(I::I32Eq).o(I::If(BlockType::Empty));
            body(self, k);
            self.o(I::End);
        }
        self
    }

    /// The UUID string at param `i`, parsed into new locals (its bytes,
    /// least significant first, as two i64, and its length 2 or 16), or
    /// `-EINVAL` / `-EFAULT` returned.
    fn uuid(&mut self, i: u32) -> [u32; 3] {
        let [lo, hi] = [self.local(ValType::I64), self.local(ValType::I64)];
        let len = self.local(ValType::I32);
        let s = self.alloc(16);
        self.p(i).o(I::LocalGet(s)).h(Uuid).o(I::LocalSet(len));
        self.o(I::LocalGet(s)).o(I::I64Load(A8)).o(I::LocalSet(lo));
        self.o(I::LocalGet(s)).o(I::I64Load(MemArg { offset: 8, ..A8 })).o(I::LocalSet(hi));
        self.free(16);
        self.o(I::LocalGet(len)).c(0).o(I::I32LtS);
        self.o(I::If(BlockType::Empty)).o(I::LocalGet(len)).o(I::Return).o(I::End);
        [lo, hi, len]
    }

    /// Stores the UUID in locals `lo`, `hi` at local `at`.
    fn put_uuid(&mut self, at: u32, [lo, hi]: [u32; 2]) -> &mut Self {
        self.o(I::LocalGet(at)).o(I::LocalGet(lo)).o(I::I64Store(A8));
        self.o(I::LocalGet(at)).o(I::LocalGet(hi)).o(I::I64Store(MemArg { offset: 8, ..A8 }))
    }

    /// Returns `-EINVAL` unless param `i` is a characteristic AkiraOS
    /// created; leaves its `INFO` in a new local.
    fn created_char(&mut self, i: u32) -> u32 {
        let info = self.local(ValType::I32);
        self.p(i).get_gatt(CHARS).o(I::I32LtU).or_fail(EINVAL);
        self.each_slot(i, CHAR_SLOTS, |g, k| {
            g.get_char(k, INFO).o(I::LocalSet(info));
        });
        info
    }

    /// As [`Gen::created_char`], and declared on a service: its Akira
    /// handle in a new local.
    fn declared_char(&mut self, i: u32) -> [u32; 2] {
        let info = self.created_char(i);
        let handle = self.local(ValType::I32);
        self.o(I::LocalGet(info)).c(24).o(I::I32ShrU).o(I::LocalTee(handle)).or_fail(EINVAL);
        self.o(I::LocalGet(handle)).c(1).o(I::I32Sub).o(I::LocalSet(handle));
        [info, handle]
    }

    /// Keeps the `len` (local, at most 64) bytes at local `from` (64
    /// readable bytes) as slot `slot`'s value.
    fn keep_value(&mut self, slot: u32, from: u32, len: u32) -> &mut Self {
        self.each_slot(slot, CHAR_SLOTS, |g, k| {
            for j in 0..8 {
                g.o(I::LocalGet(from)).o(I::I64Load(MemArg { offset: 8 * u64::from(j), ..A8 }));
                g.set_char(k, VALUE + j);
            }
            g.o(I::LocalGet(len)).set_char(k, VLEN);
        })
    }

    /// Writes slot `slot`'s value at local `to` (64 bytes); its length in
    /// local `len`.
    fn value_of(&mut self, slot: u32, to: u32, len: u32) -> &mut Self {
        self.each_slot(slot, CHAR_SLOTS, |g, k| {
            for j in 0..8 {
                g.o(I::LocalGet(to)).get_char(k, VALUE + j);
                g.o(I::I64Store(MemArg { offset: 8 * u64::from(j), ..A8 }));
            }
            g.get_char(k, VLEN).o(I::LocalSet(len));
        })
    }

    /// `return errno(r)` if local `r` is negative.
    fn fail_if_negative(&mut self, r: u32) -> &mut Self {
        self.o(I::LocalGet(r)).c(0).o(I::I32LtS).o(I::If(BlockType::Empty));
        self.o(I::LocalGet(r)).errno().o(I::Return).o(I::End)
    }
}

/// `ble_service_create(uuid)`: `gatt_service` with the parsed UUID; its
/// handle, which AkiraOS's handle is.
fn service_create(g: &mut Gen<'_>) {
    let [lo, hi, len] = g.uuid(0);
    let r = g.local(ValType::I32);
    let s = g.alloc(16);
    g.put_uuid(s, [lo, hi]).o(I::LocalGet(s)).o(I::LocalGet(len)).call("akira:ble", "gatt_service");
    g.o(I::LocalSet(r)).free(16).fail_if_negative(r);
    g.each_slot(r, SERVICE_SLOTS, |g, k| {
        let at = g.gatt(SERVICE0 + 3 * k);
        g.o(I::LocalGet(lo)).o(I::GlobalSet(at)).o(I::LocalGet(hi)).o(I::GlobalSet(at + 1));
        g.o(I::LocalGet(len)).o(I::GlobalSet(at + 2));
    });
    let services = g.gatt(SERVICES);
    g.o(I::LocalGet(r)).c(1).o(I::I32Add).o(I::GlobalSet(services)).o(I::LocalGet(r));
}

/// `ble_char_create(uuid, props, max_len)`: keeps the characteristic in
/// the next free slot (`-ENOMEM` past 8) until `ble_service_add_char`.
fn char_create(g: &mut Gen<'_>) {
    g.p(1).c(!PROPS).o(I::I32And).o(I::I32Eqz).p(1).c(0).o(I::I32Ne).o(I::I32And).or_fail(EINVAL);
    g.p(2).c(1).o(I::I32Sub).c(MAX_VALUE).o(I::I32LtU).or_fail(EINVAL);
    let [lo, hi, len] = g.uuid(0);
    let (chars, slot) = (g.gatt(CHARS), g.local(ValType::I32));
    g.o(I::GlobalGet(chars)).o(I::LocalTee(slot)).c(CHAR_SLOTS as i32).o(I::I32LtU).or_fail(ENOMEM);
    g.each_slot(slot, CHAR_SLOTS, |g, k| {
        g.o(I::LocalGet(lo)).set_char(k, 0);
        g.o(I::LocalGet(hi)).set_char(k, 1);
        g.p(1).p(2).c(8).o(I::I32Shl).o(I::I32Or).o(I::LocalGet(len)).c(2).o(I::I32Eq).c(16).o(I::I32Shl);
        g.o(I::I32Or).set_char(k, INFO);
        g.c(0).set_char(k, VLEN);
    });
    g.o(I::LocalGet(slot)).c(1).o(I::I32Add).o(I::GlobalSet(chars)).o(I::LocalGet(slot));
}

/// `ble_service_add_char(svc, char)`: declares the characteristic on the
/// service (`gatt_characteristic`); once only (`-EINVAL` after).
fn add_char(g: &mut Gen<'_>) {
    let info = g.created_char(1);
    g.o(I::LocalGet(info)).c(24).o(I::I32ShrU).o(I::I32Eqz).or_fail(EINVAL);
    let [lo, hi, r] = [g.local(ValType::I64), g.local(ValType::I64), g.local(ValType::I32)];
    g.each_slot(1, CHAR_SLOTS, |g, k| {
        g.get_char(k, 0).o(I::LocalSet(lo));
        g.get_char(k, 1).o(I::LocalSet(hi));
    });
    let s = g.alloc(16);
    g.p(0).o(I::LocalGet(s)).put_uuid(s, [lo, hi]);
    // 2 bytes for a 16-bit UUID, else 16.
    g.c(2).c(16).o(I::LocalGet(info)).c(1 << 16).o(I::I32And).o(I::Select);
    g.o(I::LocalGet(info)).c(0xff).o(I::I32And).o(I::LocalGet(info)).c(8).o(I::I32ShrU).c(0xff).o(I::I32And);
    g.call("akira:ble", "gatt_characteristic").o(I::LocalSet(r)).free(16).fail_if_negative(r);
    g.each_slot(1, CHAR_SLOTS, |g, k| {
        g.o(I::LocalGet(info)).o(I::LocalGet(r)).c(1).o(I::I32Add).c(24).o(I::I32Shl).o(I::I32Or);
        g.set_char(k, INFO);
    });
    g.c(0);
}

/// `ble_advertise()`: serves the table (`gatt_start`), advertising the
/// flags and the chosen service's UUID, then sets the values the app
/// wrote before.
fn advertise(g: &mut Gen<'_>) {
    let [n, r, len, slot, info] = [(); 5].map(|()| g.local(ValType::I32));
    let s = g.alloc(MAX_VALUE);
    // Flags: LE general discoverable, no BR/EDR.
    for (at, byte) in [2, 1, 6].into_iter().enumerate() {
        g.o(I::LocalGet(s)).c(byte).o(I::I32Store8(MemArg { offset: at as u64, ..A1 }));
    }
    g.c(3).o(I::LocalSet(n));
    let advertised = g.gatt(ADVERTISED);
    g.o(I::GlobalGet(advertised)).o(I::LocalSet(slot));
    g.each_slot(slot, SERVICE_SLOTS, |g, k| {
        let at = g.gatt(SERVICE0 + 3 * k);
        // `[len + 1, complete 16-bit (3) or 128-bit (7) list, UUID]`.
        g.o(I::GlobalGet(at + 2)).o(I::LocalTee(len)).c(1).o(I::I32Add).o(I::LocalSet(r));
        g.o(I::LocalGet(s)).o(I::LocalGet(r)).o(I::I32Store8(MemArg { offset: 3, ..A1 }));
        g.o(I::LocalGet(s)).c(3).c(7).o(I::LocalGet(len)).c(2).o(I::I32Eq).o(I::Select);
        g.o(I::I32Store8(MemArg { offset: 4, ..A1 }));
        g.o(I::LocalGet(s)).o(I::GlobalGet(at)).o(I::I64Store(MemArg { offset: 5, align: 0, memory_index: 0 }));
        g.o(I::LocalGet(s)).o(I::GlobalGet(at + 1)).o(I::I64Store(MemArg { offset: 13, align: 0, memory_index: 0 }));
        g.o(I::LocalGet(len)).c(5).o(I::I32Add).o(I::LocalSet(n));
    });
    // The local name in what is left: complete (9) if it fits, else
    // shortened (8) and cut.
    g.c(31 - 2).o(I::LocalGet(n)).o(I::I32Sub).o(I::LocalSet(r)).get_gatt(NAME_LEN).o(I::LocalSet(len));
    g.o(I::LocalGet(len)).o(I::If(BlockType::Empty));
    g.o(I::LocalGet(s)).o(I::LocalGet(n)).o(I::I32Add).o(I::LocalSet(slot));
    for j in 0..4 {
        g.o(I::LocalGet(slot)).get_gatt(NAME + j);
        g.o(I::I64Store(MemArg { offset: 2 + 8 * u64::from(j), align: 0, memory_index: 0 }));
    }
    g.o(I::LocalGet(slot)).c(8).c(9).o(I::LocalGet(len)).o(I::LocalGet(r)).o(I::I32GtS).o(I::Select);
    g.o(I::I32Store8(MemArg { offset: 1, ..A1 })).at_most(len, r);
    g.o(I::LocalGet(slot)).o(I::LocalGet(len)).c(1).o(I::I32Add).o(I::I32Store8(A1));
    g.o(I::LocalGet(n)).o(I::LocalGet(len)).o(I::I32Add).c(2).o(I::I32Add).o(I::LocalSet(n));
    g.o(I::End);
    g.o(I::LocalGet(s)).o(I::LocalGet(n)).c(ADV_INTERVAL_MS).call("akira:ble", "gatt_start").o(I::LocalSet(r));
    g.o(I::Block(BlockType::Empty)).o(I::LocalGet(r)).c(0).o(I::I32LtS).o(I::BrIf(0));
    let flags = g.gatt(FLAGS);
    g.o(I::GlobalGet(flags)).c(1).o(I::I32Or).o(I::GlobalSet(flags));
    for k in 0..CHAR_SLOTS {
        g.c(k as i32).o(I::LocalSet(slot));
        g.c(k as i32).get_gatt(CHARS).o(I::I32LtU).o(I::If(BlockType::Empty));
        g.get_char(k, INFO).o(I::LocalTee(info)).c(24).o(I::I32ShrU).o(I::LocalTee(n));
        g.get_char(k, VLEN).o(I::I32Eqz).o(I::I32Eqz).o(I::I32And);
        g.o(I::If(BlockType::Empty)).value_of(slot, s, len);
        g.o(I::LocalGet(n)).c(1).o(I::I32Sub).o(I::LocalGet(s)).o(I::LocalGet(len));
        g.call("akira:ble", "gatt_set_value").o(I::LocalTee(r)).c(0).o(I::I32LtS).o(I::BrIf(2));
        g.o(I::End).o(I::End);
    }
    g.o(I::End);
    g.free(MAX_VALUE).o(I::LocalGet(r)).errno();
}

/// `ble_char_write(char, data, len)`: the value centrals read
/// (`gatt_notify` for a notify characteristic, else `gatt_set_value`;
/// kept until serving when not yet), and the one `ble_char_read` reads.
fn char_write(g: &mut Gen<'_>) {
    let [info, handle] = g.declared_char(0);
    g.p(1).p(2).h(Fits).or_fail(EFAULT);
    g.p(2).o(I::LocalGet(info)).c(8).o(I::I32ShrU).c(0xff).o(I::I32And).o(I::I32LeU).or_fail(E2BIG);
    let [r, zero] = [g.local(ValType::I32), g.local(ValType::I32)];
    g.get_gatt(FLAGS).c(1).o(I::I32And).o(I::If(BlockType::Empty));
    g.o(I::LocalGet(info)).c(NOTIFY).o(I::I32And).o(I::If(BlockType::Result(ValType::I32)));
    g.o(I::LocalGet(handle)).p(1).p(2).call("akira:ble", "gatt_notify").o(I::Else);
    g.o(I::LocalGet(handle)).p(1).p(2).call("akira:ble", "gatt_set_value").o(I::End);
    g.o(I::LocalSet(r)).fail_if_negative(r).o(I::End);
    let s = g.alloc(MAX_VALUE);
    g.copy_bytes([s, zero], [1, zero], 2).keep_value(0, s, 2).free(MAX_VALUE).c(0);
}

/// `ble_char_read(char, buf, len)`: the characteristic's last value, cut
/// to `len`; the bytes copied.
fn char_read(g: &mut Gen<'_>) {
    g.created_char(0);
    g.p(1).p(2).h(Fits).or_fail(EFAULT);
    let [n, zero] = [g.local(ValType::I32), g.local(ValType::I32)];
    let s = g.alloc(MAX_VALUE);
    g.value_of(0, s, n).at_most(n, 2).copy_bytes([1, zero], [s, zero], n).free(MAX_VALUE).o(I::LocalGet(n));
}

/// `ble_event_pop(buf, len)`: the oldest GATT event, in AkiraOS's layout
/// (type, characteristic, payload length LE, payload cut to the buffer):
/// its type, or 0 when none is queued or the app does not serve.
/// Subscriptions (which AkiraOS does not report) are skipped; a write is
/// kept as the characteristic's value.
fn event_pop(g: &mut Gen<'_>) {
    g.p(1).c(4).o(I::I32GeU).or_fail(EINVAL);
    g.p(0).p(1).h(Fits).or_fail(EFAULT);
    let flags = g.gatt(FLAGS);
    g.o(I::GlobalGet(flags)).c(1).o(I::I32And).o(I::I32Eqz).o(I::If(BlockType::Empty)).c(0).o(I::Return).o(I::End);
    let [r, kind, slot, n, handle, at, payload] = [(); 7].map(|()| g.local(ValType::I32));
    let s = g.alloc(EVENT + 4);
    g.o(I::Block(BlockType::Empty)).o(I::Loop(BlockType::Empty));
    g.o(I::LocalGet(s)).c(EVENT).o(I::I64Const(0)).call("akira:ble", "gatt_next_event").o(I::LocalSet(r));
    g.o(I::LocalGet(r)).c(AKIRA_ETIMEDOUT).o(I::I32Eq).o(I::If(BlockType::Empty)).c(0).o(I::LocalSet(r));
    g.o(I::Br(2)).o(I::End);
    g.o(I::LocalGet(r)).c(0).o(I::I32LtS).o(I::If(BlockType::Empty)).o(I::LocalGet(r)).errno().o(I::LocalSet(r));
    g.o(I::Br(2)).o(I::End);
    g.o(I::LocalGet(s)).o(I::I32Load8U(A1)).o(I::LocalTee(kind)).c(4).o(I::I32Eq);
    g.o(I::LocalGet(kind)).c(5).o(I::I32Eq).o(I::I32Or).o(I::BrIf(0));
    g.o(I::LocalGet(kind)).c(1).o(I::I32Eq).o(I::If(BlockType::Empty));
    g.o(I::GlobalGet(flags)).c(2).o(I::I32Or).o(I::GlobalSet(flags)).o(I::End);
    g.o(I::LocalGet(kind)).c(2).o(I::I32Eq).o(I::If(BlockType::Empty));
    g.o(I::GlobalGet(flags)).c(!2).o(I::I32And).o(I::GlobalSet(flags)).o(I::End);
    g.c(0).o(I::LocalSet(slot)).c(0).o(I::LocalSet(n));
    g.o(I::LocalGet(kind)).c(3).o(I::I32Eq).o(I::If(BlockType::Empty));
    // The slot whose Akira handle the write names.
    g.o(I::LocalGet(s)).o(I::I32Load8U(MemArg { offset: 1, ..A1 })).c(1).o(I::I32Add).o(I::LocalSet(handle));
    g.c(-1).o(I::LocalSet(slot));
    for k in 0..CHAR_SLOTS {
        g.get_char(k, INFO).c(24).o(I::I32ShrU).o(I::LocalGet(handle)).o(I::I32Eq);
        g.o(I::If(BlockType::Empty)).c(k as i32).o(I::LocalSet(slot)).o(I::End);
    }
    g.o(I::LocalGet(slot)).c(0).o(I::I32LtS).o(I::BrIf(1));
    g.o(I::LocalGet(s)).o(I::I32Load8U(MemArg { offset: 2, ..A1 })).o(I::LocalSet(n));
    g.o(I::LocalGet(s)).c(4).o(I::I32Add).o(I::LocalSet(payload)).keep_value(slot, payload, n);
    g.o(I::End);
    g.p(0).o(I::LocalGet(kind)).o(I::I32Store8(A1));
    g.p(0).o(I::LocalGet(slot)).o(I::I32Store8(MemArg { offset: 1, ..A1 }));
    g.p(1).c(4).o(I::I32Sub).o(I::LocalSet(handle)).at_most(n, handle);
    g.p(0).o(I::LocalGet(n)).o(I::I32Store16(MemArg { offset: 2, align: 0, memory_index: 0 }));
    g.c(4).o(I::LocalSet(at)).copy_bytes([0, at], [s, at], n);
    g.o(I::LocalGet(kind)).o(I::LocalSet(r));
    g.o(I::End).o(I::End);
    g.free(EVENT + 4).o(I::LocalGet(r));
}

/// `ble_set_local_name(name)`: kept (at most 29 bytes, else `-EINVAL`)
/// for `ble_advertise`.
fn set_local_name(g: &mut Gen<'_>) {
    let len = g.str_len(0);
    g.o(I::LocalGet(len)).c(NAME_MAX).o(I::I32LeS).or_fail(EINVAL);
    let zero = g.local(ValType::I32);
    let s = g.alloc(32);
    g.copy_bytes([s, zero], [0, zero], len);
    for j in 0..4 {
        g.o(I::LocalGet(s)).o(I::I64Load(MemArg { offset: 8 * u64::from(j), ..A8 })).set_gatt(NAME + j);
    }
    g.free(32).o(I::LocalGet(len)).set_gatt(NAME_LEN).c(0);
}

/// `ble_deinit()`: `gatt_stop`, and the table forgotten.
fn deinit(g: &mut Gen<'_>) {
    g.call("akira:ble", "gatt_stop");
    for (at, start) in [(SERVICES, 0), (FLAGS, 0), (ADVERTISED, -1), (CHARS, 0)] {
        g.c(start).set_gatt(at);
    }
    g.errno();
}

const STATE: &[State] = &[State::Gatt];

fn gatt(uses: &'static [(&'static str, &'static str)], helpers: &'static [Helper], write: fn(&mut Gen<'_>)) -> Spec {
    Spec { scratch: true, states: STATE, ..spec(uses, helpers, &[Need::Ble], write) }
}

/// The GATT shim for `name`, if Akira translates it.
pub(super) fn shim(name: &str) -> Option<Spec> {
    Some(match name {
        "ble_init" => gatt(&[], &[], |g| {
            g.c(0);
        }),
        "ble_deinit" => gatt(&[("akira:ble", "gatt_stop")], &[Errno], deinit),
        "ble_set_local_name" => gatt(&[], &[Strlen], set_local_name),
        "ble_service_create" => gatt(&[("akira:ble", "gatt_service")], &[Uuid, Errno], service_create),
        "ble_char_create" => gatt(&[], &[Uuid], char_create),
        "ble_service_add_char" => gatt(&[("akira:ble", "gatt_characteristic")], &[Errno], add_char),
        // The service was declared whole by `ble_service_add_char`.
        "ble_add_service" => gatt(&[], &[], |g| {
            g.p(0).get_gatt(SERVICES).o(I::I32LtU).or_fail(EINVAL).c(0);
        }),
        "ble_set_advertised_service" => gatt(&[], &[], |g| {
            g.p(0).get_gatt(SERVICES).o(I::I32LtU).or_fail(EINVAL);
            g.p(0).set_gatt(ADVERTISED).c(0);
        }),
        "ble_advertise" => gatt(&[("akira:ble", "gatt_start"), ("akira:ble", "gatt_set_value")], &[Errno], advertise),
        "ble_is_connected" => gatt(&[], &[], |g| {
            g.get_gatt(FLAGS).c(1).o(I::I32ShrU).c(1).o(I::I32And);
        }),
        "ble_char_write" => {
            gatt(&[("akira:ble", "gatt_notify"), ("akira:ble", "gatt_set_value")], &[Fits, Errno], char_write)
        }
        "ble_char_read" => gatt(&[], &[Fits], char_read),
        "ble_event_pop" => gatt(&[("akira:ble", "gatt_next_event")], &[Fits, Errno], event_pop).polling(),
        _ => return None,
    })
}

/// The body of [`Helper::Uuid`], `(str, out) -> len`: parses the
/// NUL-terminated UUID string at `str` (`180d`, `0x180D`, or
/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, hex digits of either case)
/// into its bytes at `out`, least significant first; returns 2 or 16,
/// `-EINVAL` for another string, `-EFAULT` if it runs past memory.
pub(super) fn uuid_helper(page_log2: u32) -> (Vec<ValType>, Vec<I<'static>>) {
    let (s, out) = (0, 1);
    let [end, len, i, c, j, d, bytes, at] = [2, 3, 4, 5, 6, 7, 8, 9];
    let b1 = MemArg { offset: 0, align: 0, memory_index: 0 };
    let mut f = vec![I::MemorySize(0), I::I32Const(page_log2 as i32), I::I32Shl, I::LocalSet(end)];
    f.extend([I::LocalGet(s), I::LocalGet(end), I::I32GeU, I::If(BlockType::Empty)]);
    f.extend([I::I32Const(-EFAULT), I::Return, I::End]);
    // The length: a NUL within 37 bytes, inside memory.
    f.extend([I::Block(BlockType::Empty), I::Loop(BlockType::Empty)]);
    f.extend([I::LocalGet(end), I::LocalGet(s), I::I32Sub, I::LocalGet(len), I::I32LeU, I::If(BlockType::Empty)]);
    f.extend([I::I32Const(-EFAULT), I::Return, I::End]);
    f.extend([I::LocalGet(s), I::LocalGet(len), I::I32Add, I::I32Load8U(b1), I::I32Eqz, I::BrIf(1)]);
    f.extend([I::LocalGet(len), I::I32Const(1), I::I32Add, I::LocalTee(len), I::I32Const(36), I::I32GtU]);
    f.extend([I::If(BlockType::Empty), I::I32Const(-EINVAL), I::Return, I::End, I::Br(0), I::End, I::End]);
    // The form: 36 characters, 4, or 6 starting `0x`.
    f.extend([I::I32Const(2), I::LocalSet(bytes)]);
    f.extend([I::LocalGet(len), I::I32Const(36), I::I32Eq, I::If(BlockType::Empty)]);
    f.extend([I::I32Const(16), I::LocalSet(bytes), I::Else]);
    f.extend([I::LocalGet(len), I::I32Const(6), I::I32Eq, I::If(BlockType::Empty)]);
    f.extend([I::LocalGet(s), I::I32Load8U(b1), I::I32Const(b'0' as i32), I::I32Eq]);
    f.extend([I::LocalGet(s), I::I32Load8U(MemArg { offset: 1, ..b1 }), I::I32Const(0x20), I::I32Or]);
    f.extend([I::I32Const(b'x' as i32), I::I32Eq, I::I32And, I::I32Eqz, I::If(BlockType::Empty)]);
    f.extend([I::I32Const(-EINVAL), I::Return, I::End, I::I32Const(2), I::LocalSet(i), I::Else]);
    f.extend([I::LocalGet(len), I::I32Const(4), I::I32Ne, I::If(BlockType::Empty)]);
    f.extend([I::I32Const(-EINVAL), I::Return, I::End, I::End, I::End]);
    // The digits, most significant first; the dashes of the long form.
    f.extend([I::Block(BlockType::Empty), I::Loop(BlockType::Empty)]);
    f.extend([I::LocalGet(i), I::LocalGet(len), I::I32GeU, I::BrIf(1)]);
    f.extend([I::LocalGet(s), I::LocalGet(i), I::I32Add, I::I32Load8U(b1), I::LocalSet(c)]);
    f.extend([I::LocalGet(len), I::I32Const(36), I::I32Eq, I::I32Const(0)]);
    for dash in [8, 13, 18, 23] {
        f.extend([I::LocalGet(i), I::I32Const(dash), I::I32Eq, I::I32Or]);
    }
    f.extend([I::I32And, I::If(BlockType::Empty)]);
    f.extend([I::LocalGet(c), I::I32Const(b'-' as i32), I::I32Ne, I::If(BlockType::Empty)]);
    f.extend([I::I32Const(-EINVAL), I::Return, I::End, I::Else]);
    f.extend([I::LocalGet(c), I::I32Const(b'0' as i32), I::I32Sub, I::LocalTee(d), I::I32Const(10), I::I32GeU]);
    f.extend([I::If(BlockType::Empty), I::LocalGet(c), I::I32Const(0x20), I::I32Or]);
    f.extend([I::I32Const(b'a' as i32 - 10), I::I32Sub, I::LocalTee(d), I::I32Const(10), I::I32Sub]);
    f.extend([I::I32Const(6), I::I32GeU, I::If(BlockType::Empty), I::I32Const(-EINVAL), I::Return, I::End, I::End]);
    f.extend([I::LocalGet(out), I::LocalGet(bytes), I::I32Add, I::I32Const(1), I::I32Sub]);
    f.extend([I::LocalGet(j), I::I32Const(1), I::I32ShrU, I::I32Sub, I::LocalSet(at)]);
    f.extend([I::LocalGet(j), I::I32Const(1), I::I32And, I::If(BlockType::Empty)]);
    f.extend([I::LocalGet(at), I::LocalGet(at), I::I32Load8U(b1), I::LocalGet(d), I::I32Or, I::I32Store8(b1)]);
    f.extend([I::Else, I::LocalGet(at), I::LocalGet(d), I::I32Const(4), I::I32Shl, I::I32Store8(b1), I::End]);
    f.extend([I::LocalGet(j), I::I32Const(1), I::I32Add, I::LocalSet(j), I::End]);
    f.extend([I::LocalGet(i), I::I32Const(1), I::I32Add, I::LocalSet(i), I::Br(0), I::End, I::End]);
    f.push(I::LocalGet(bytes));
    (vec![ValType::I32; 8], f)
}
