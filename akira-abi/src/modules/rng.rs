//! `akira:rng`.

use crate::Ret;
use crate::Stability::Experimental;
use crate::Type::{Ptr, U32};
use crate::{CItem, Cost, Function, Module, Param, Pointee};

/// The `akira:rng` module.
pub static RNG: Module = Module {
    name: "rng",
    import: "akira:rng",
    capability: "rng",
    scope: r#""#,
    doc: r#"Random bytes from the board's generator (a hardware TRNG, or a CSPRNG
seeded from one). `rng` has no scope: the module is linked only for apps
granted it, so calls need no per-call check."#,
    functions: &[Function {
        name: "fill",
        params: &[Param::new("buf", Ptr(Pointee::Void)), Param::new("len", U32)],
        result: Ret::I32,
        stability: Experimental,
        cost: Cost::bytes(20, 1, 4),
        #[cfg(feature = "docs")]
        doc: r#"`fill(ptr, len)`: writes `len` random bytes at `ptr` (at most 4096, `AKIRA_E2BIG`); `AKIRA_EIO` if the generator fails its health test. Returns 0."#,
        #[cfg(feature = "docs")]
        c_doc: r#""#,
    }],
    c_items: &[CItem::Import("fill")],
};
