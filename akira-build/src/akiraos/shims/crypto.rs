//! The crypto and clock shims of the SDK's later header: digests and
//! random bytes over `akira:crypto` and `akira:rng`, uptime over
//! `akira:sys`.

use wasm_encoder::Instruction as I;

use super::{Helper, Need, Spec, spec};
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
        _ => return None,
    })
}
