//! `sensor_read`: a Zephyr sensor channel through the board profile's map
//! to an Akira sensor channel, in Zephyr's units times 1000.

use wasm_encoder::{BlockType, Instruction as I, MemArg, ValType};

use super::{A4, Gen, Need, Spec, spec};

/// What `sensor_read` returns for a channel it cannot read
/// (`AKIRA_SENSOR_ERROR` in AkiraOS's header).
const SENSOR_ERROR: i32 = i32::MIN;

/// The sensor shim for `name`, if Akira translates it.
pub(super) fn shim(name: &str) -> Option<Spec> {
    Some(match name {
        "sensor_read" => {
            Spec { scratch: true, ..spec(&[("akira:sensor", "read")], &[], &[Need::Sensor], read) }.polling()
        }
        _ => return None,
    })
}

/// Akira's units are Zephyr's times 1000 (m°C, Pa for kPa, 0.001 %RH,
/// mm/s², mV, mA) except the gyroscope's (milli-degrees/s, to mrad/s) and
/// the magnetometer's (nT, to milligauss).
fn read(g: &mut Gen<'_>) {
    let s = g.alloc(12);
    let [channel, n, axis, r] = [(); 4].map(|()| g.local(ValType::I32));
    let v = g.local(ValType::I64);
    g.c(SENSOR_ERROR).o(I::LocalSet(r)).c(-1).o(I::LocalSet(channel));
    for (zephyr, akira) in g.cx.sensors() {
        g.p(0).c(zephyr as i32).o(I::I32Eq).o(I::If(BlockType::Empty));
        g.c(akira as i32).o(I::LocalSet(channel)).o(I::End);
    }
    g.o(I::Block(BlockType::Empty));
    g.o(I::LocalGet(channel)).c(0).o(I::I32LtS).o(I::BrIf(0));
    g.o(I::LocalGet(channel)).o(I::LocalGet(s)).c(12).call("akira:sensor", "read").o(I::LocalTee(n));
    g.c(1).o(I::I32LtS).o(I::BrIf(0));
    // Axes: Zephyr's x, y, z are channels 0-2 (acceleration), 4-6
    // (gyroscope), 8-10 (magnetometer); a one-value reading is axis 0.
    g.p(0).c(11).o(I::I32LtU).p(0).c(3).o(I::I32And).c(3).o(I::I32LtU).o(I::I32And);
    g.o(I::If(BlockType::Empty)).p(0).c(3).o(I::I32And).o(I::LocalSet(axis)).o(I::End);
    g.o(I::LocalGet(axis)).o(I::LocalGet(n)).o(I::I32GeU);
    g.o(I::If(BlockType::Empty)).c(0).o(I::LocalSet(axis)).o(I::End);
    g.o(I::LocalGet(s)).o(I::LocalGet(axis)).c(2).o(I::I32Shl).o(I::I32Add);
    g.o(I::I32Load(MemArg { offset: 0, ..A4 })).o(I::I64ExtendI32S).o(I::LocalSet(v));
    for (first, (mul, div)) in [(4, (17_453, 1_000_000)), (8, (1, 100))] {
        g.p(0).c(first).o(I::I32Sub).c(3).o(I::I32LtU).o(I::If(BlockType::Empty));
        g.o(I::LocalGet(v)).o(I::I64Const(mul)).o(I::I64Mul).o(I::I64Const(div)).o(I::I64DivS).o(I::LocalSet(v));
        g.o(I::End);
    }
    g.o(I::LocalGet(v)).o(I::I32WrapI64).o(I::LocalSet(r));
    g.o(I::End);
    g.free(12).o(I::LocalGet(r));
}
