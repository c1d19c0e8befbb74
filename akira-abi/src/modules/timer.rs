//! `akira:timer`.

use crate::Ret;
use crate::Stability::Stable;
use crate::Type::I64;
use crate::{CItem, Cost, Function, Module, Param};

/// The `akira:timer` module.
pub static TIMER: Module = Module {
    name: "timer",
    import: "akira:timer",
    capability: "timer",
    scope: r#""#,
    doc: r#""#,
    functions: &[
        Function {
            name: "now_us",
            params: &[],
            result: Ret::I64,
            stability: Stable,
            cost: Cost::CHEAP,
            #[cfg(feature = "docs")]
            doc: r#"Microseconds since the board booted (monotonic)."#,
            #[cfg(feature = "docs")]
            c_doc: r#"Microseconds since the board booted."#,
        },
        Function {
            name: "sleep_us",
            params: &[Param::new("us", I64)],
            result: Ret::I32,
            stability: Stable,
            cost: Cost::CHEAP,
            #[cfg(feature = "docs")]
            doc: r#"`sleep_us(us)`: suspends the app for `us` microseconds (`us < 0`: `AKIRA_EINVAL`). Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#"Suspends the app for `us` microseconds."#,
        },
        Function {
            name: "sleep_until_us",
            params: &[Param::new("t", I64)],
            result: Ret::I32,
            stability: Stable,
            cost: Cost::CHEAP,
            #[cfg(feature = "docs")]
            doc: r#"`sleep_until_us(t)`: suspends until `now_us() >= t`. A time that has passed (a negative one too) is no error: the call returns at the next scheduling round, as `yield_now` does. Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#"Suspends the app until now_us() >= t."#,
        },
    ],
    c_items: &[CItem::Import("now_us"), CItem::Import("sleep_us"), CItem::Import("sleep_until_us")],
};
