//! The crypto and clock shims of the SDK's later header: digests and
//! random bytes over `akira:crypto` and `akira:rng`, uptime over
//! `akira:sys`, Unix time over WASI's realtime clock.

use wasm_encoder::{BlockType, Instruction as I, MemArg, ValType};

use super::{Gen, Helper, Need, Spec, spec};
use Helper::Errno;

/// The shim for `name`, if Akira translates it.
pub(super) fn shim(name: &str) -> Option<Spec> {
    Some(match name {
        "crypto_sha256" => spec(&[("akira:crypto", "sha256")], &[Errno], &[Need::Sys], |g| {
            g.p(0).p(1).p(2).call("akira:crypto", "sha256").errno();
        }),
        "crypto_hmac_sha256" => spec(&[("akira:crypto", "hmac_sha256")], &[Errno], &[Need::Sys], |g| {
            g.p(0).p(1).p(2).p(3).p(4).call("akira:crypto", "hmac_sha256").errno();
        }),
        "crypto_random" => spec(&[("akira:rng", "fill")], &[Errno], &[Need::Rng], |g| {
            g.p(0).p(1).call("akira:rng", "fill").errno();
        }),
        "rtc_get_uptime_ms" => spec(&[("akira:sys", "uptime_us")], &[], &[Need::Sys], |g| {
            // Milliseconds, wrapping as AkiraOS's int32 does.
            g.call("akira:sys", "uptime_us").o(I::I64Const(1000)).o(I::I64DivU).o(I::I32WrapI64);
        }),
        "rtc_get_unix_time" => Spec {
            scratch: true,
            ..spec(&[("wasi_snapshot_preview1", "clock_time_get")], &[], &[Need::Clock], unix_time)
        },
        _ => return None,
    })
}

/// Seconds since 1970 from WASI's realtime clock (part `clock`, which
/// `rtc.read` grants); -1, as AkiraOS answers an RTC that is not set,
/// where the board has no wall clock, and for a denial (`-EPERM` is -1
/// too).
fn unix_time(g: &mut Gen<'_>) {
    let s = g.alloc(8);
    g.c(0).o(I::I64Const(1000)).o(I::LocalGet(s)).call("wasi_snapshot_preview1", "clock_time_get");
    g.o(I::If(BlockType::Result(ValType::I32))).c(-1).o(I::Else);
    g.o(I::LocalGet(s)).o(I::I64Load(MemArg { offset: 0, align: 3, memory_index: 0 }));
    g.o(I::I64Const(1_000_000_000)).o(I::I64DivU).o(I::I32WrapI64).o(I::End);
    g.free(8);
}
