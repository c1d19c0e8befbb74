//! The BLE observer shims: AkiraOS scans and pops its reports in its own
//! layout; `akira:ble.scan` and `next_report` give Akira's, which the shim
//! rewrites.

use wasm_encoder::{BlockType, Instruction as I, MemArg, ValType};

use super::{A1, EFAULT, EINVAL, Gen, Helper, Need, Spec, spec};
use Helper::{Errno, Fits};

/// The scan every `ble_scan_start` asks for: 100 ms windows, back to back.
const SCAN_INTERVAL_MS: i32 = 100;
/// AkiraOS's `akira_ble_scan_report_t`: address (6 bytes), RSSI (1), name
/// (20, NUL-terminated), data length (1), data (31).
const REPORT: i32 = 59;
const NAME_AT: u64 = 7;
const NAME_MAX: i32 = 19;
const DATA_LEN_AT: u64 = 27;
const DATA_AT: u64 = 28;
/// Akira's report: address (6), address type, RSSI, packet type, data
/// length, data (at most 31).
const AKIRA_REPORT: i32 = 41;
const AKIRA_RSSI_AT: u64 = 7;
const AKIRA_LEN_AT: u64 = 9;
const AKIRA_DATA_AT: u64 = 10;
/// Akira's timeout: no report queued.
const AKIRA_ETIMEDOUT: i32 = -7;
/// AD types of a complete and a shortened local name.
const COMPLETE_NAME: i32 = 9;
const SHORT_NAME: i32 = 8;

const fn byte(offset: u64) -> MemArg {
    MemArg { offset, ..A1 }
}

impl Gen<'_> {
    /// Copies `len` (a local) bytes from `from + from_at` to `to + to_at`
    /// (locals), one at a time.
    pub(super) fn copy_bytes(&mut self, [to, to_at]: [u32; 2], [from, from_at]: [u32; 2], len: u32) -> &mut Self {
        let i = self.local(ValType::I32);
        self.o(I::Block(BlockType::Empty)).o(I::Loop(BlockType::Empty));
        self.o(I::LocalGet(i)).o(I::LocalGet(len)).o(I::I32GeU).o(I::BrIf(1));
        self.o(I::LocalGet(to)).o(I::LocalGet(to_at)).o(I::I32Add).o(I::LocalGet(i)).o(I::I32Add);
        self.o(I::LocalGet(from)).o(I::LocalGet(from_at)).o(I::I32Add).o(I::LocalGet(i)).o(I::I32Add);
        self.o(I::I32Load8U(byte(0))).o(I::I32Store8(byte(0)));
        self.o(I::LocalGet(i)).c(1).o(I::I32Add).o(I::LocalSet(i)).o(I::Br(0));
        self.o(I::End).o(I::End)
    }
}

/// `ble_scan_pop(buf, len)`: Akira's oldest report, rewritten at `buf`
/// with the local name found in its AD structures; 1, or 0 when none is
/// queued.
fn pop(g: &mut Gen<'_>) {
    g.p(1).c(REPORT).o(I::I32GeU).or_fail(EINVAL);
    g.p(0).c(REPORT).h(Fits).or_fail(EFAULT);
    let s = g.alloc(AKIRA_REPORT + 3);
    let [r, n, at, ad, kind, zero, name_len, data] = [(); 8].map(|()| g.local(ValType::I32));
    g.o(I::LocalGet(s)).c(AKIRA_REPORT).o(I::I64Const(0)).call("akira:ble", "next_report").o(I::LocalSet(r));
    g.o(I::Block(BlockType::Empty));
    // None queued: 0; another error as -errno.
    g.o(I::LocalGet(r)).c(AKIRA_ETIMEDOUT).o(I::I32Eq).o(I::If(BlockType::Empty)).c(0).o(I::LocalSet(r));
    g.o(I::Br(1)).o(I::End);
    g.o(I::LocalGet(r)).c(0).o(I::I32LtS).o(I::If(BlockType::Empty));
    g.o(I::LocalGet(r)).errno().o(I::LocalSet(r)).o(I::Br(1)).o(I::End);
    // The address, the RSSI, the data and its length; the name empty.
    g.c(6).o(I::LocalSet(n)).copy_bytes([0, zero], [s, zero], n);
    g.p(0).o(I::LocalGet(s)).o(I::I32Load8U(byte(AKIRA_RSSI_AT))).o(I::I32Store8(byte(6)));
    g.o(I::LocalGet(s)).o(I::I32Load8U(byte(AKIRA_LEN_AT))).o(I::LocalTee(n)).c(31).o(I::I32GtU);
    g.o(I::If(BlockType::Empty)).c(31).o(I::LocalSet(n)).o(I::End);
    g.p(0).o(I::LocalGet(n)).o(I::I32Store8(byte(DATA_LEN_AT)));
    g.c(DATA_AT as i32).o(I::LocalSet(at)).c(AKIRA_DATA_AT as i32).o(I::LocalSet(data));
    g.copy_bytes([0, at], [s, data], n);
    g.p(0).c(0).o(I::I32Store8(byte(NAME_AT)));
    // The AD structures `[length, type, value]`: the first name, cut to
    // 19 bytes.
    g.o(I::Block(BlockType::Empty)).o(I::Loop(BlockType::Empty));
    g.o(I::LocalGet(ad)).c(2).o(I::I32Add).o(I::LocalGet(n)).o(I::I32GtU).o(I::BrIf(1));
    g.o(I::LocalGet(s)).o(I::LocalGet(ad)).o(I::I32Add).o(I::I32Load8U(byte(AKIRA_DATA_AT))).o(I::LocalSet(r));
    g.o(I::LocalGet(r)).o(I::I32Eqz).o(I::BrIf(1));
    g.o(I::LocalGet(ad)).o(I::LocalGet(r)).o(I::I32Add).c(1).o(I::I32Add).o(I::LocalGet(n)).o(I::I32GtU).o(I::BrIf(1));
    g.o(I::LocalGet(s)).o(I::LocalGet(ad)).o(I::I32Add).o(I::I32Load8U(byte(AKIRA_DATA_AT + 1))).o(I::LocalSet(kind));
    g.o(I::LocalGet(kind)).c(COMPLETE_NAME).o(I::I32Eq).o(I::LocalGet(kind)).c(SHORT_NAME).o(I::I32Eq).o(I::I32Or);
    g.o(I::If(BlockType::Empty));
    g.o(I::LocalGet(r)).c(1).o(I::I32Sub).o(I::LocalTee(name_len)).c(NAME_MAX).o(I::I32GtU);
    g.o(I::If(BlockType::Empty)).c(NAME_MAX).o(I::LocalSet(name_len)).o(I::End);
    g.c(NAME_AT as i32).o(I::LocalSet(at)).o(I::LocalGet(ad)).c(AKIRA_DATA_AT as i32 + 2).o(I::I32Add);
    g.o(I::LocalSet(data)).copy_bytes([0, at], [s, data], name_len);
    g.p(0).o(I::LocalGet(name_len)).o(I::I32Add).c(0).o(I::I32Store8(byte(NAME_AT)));
    g.o(I::Br(2)).o(I::End);
    g.o(I::LocalGet(ad)).o(I::LocalGet(r)).o(I::I32Add).c(1).o(I::I32Add).o(I::LocalSet(ad)).o(I::Br(0));
    g.o(I::End).o(I::End);
    g.c(1).o(I::LocalSet(r));
    g.o(I::End);
    g.free(AKIRA_REPORT + 3);
    g.o(I::LocalGet(r));
}

/// The BLE shim for `name`, if Akira translates it.
pub(super) fn shim(name: &str) -> Option<Spec> {
    Some(match name {
        "ble_scan_start" => spec(&[("akira:ble", "scan")], &[Errno], &[Need::Ble], |g| {
            g.p(0).c(0).o(I::I32Ne).c(SCAN_INTERVAL_MS).c(SCAN_INTERVAL_MS).call("akira:ble", "scan").errno();
        }),
        "ble_scan_stop" => spec(&[("akira:ble", "scan_stop")], &[Errno], &[Need::Ble], |g| {
            g.call("akira:ble", "scan_stop").errno();
        }),
        "ble_scan_pop" => {
            Spec { scratch: true, ..spec(&[("akira:ble", "next_report")], &[Fits, Errno], &[Need::Ble], pop) }.polling()
        }
        _ => return None,
    })
}
