//! `akira:log`.

use crate::Ret;
use crate::Stability::Experimental;
use crate::Stability::Stable;
use crate::Type::{I32, Ptr, U32};
use crate::{CItem, Cost, Function, Module, Param, Pointee};

/// The `akira:log` module.
pub static LOG: Module = Module {
    name: "log",
    import: "akira:log",
    capability: "log",
    scope: r#""#,
    doc: r#"The console is shared: each app may write 50 lines over any rolling
second; lines past that are dropped (`write` returns `AKIRA_EBUSY`) and
counted (`dropped`), so one app cannot flood the console nor bury the
others' lines."#,
    functions: &[
        Function {
            name: "write",
            params: &[Param::new("level", I32), Param::new("text", Ptr(Pointee::ConstChar)), Param::new("len", U32)],
            result: Ret::I32,
            stability: Stable,
            cost: Cost::bytes(50, 1, 8),
            #[cfg(feature = "docs")]
            doc: r#"`write(level, ptr, len)`: one console line of UTF-8 text at `level` 0 error, 1 warn, 2 info, 3 debug, 4 trace. At most 1024 bytes (`AKIRA_E2BIG`); a bad level is `AKIRA_EINVAL`. Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#"One console line of UTF-8 text (at most 1024 bytes)."#,
        },
        Function {
            name: "dropped",
            params: &[],
            result: Ret::I64,
            stability: Experimental,
            cost: Cost::CHEAP,
            #[cfg(feature = "docs")]
            doc: r#"`dropped()`: the app's console lines dropped by the rate limit since it started."#,
            #[cfg(feature = "docs")]
            c_doc: r#"Console lines dropped by the rate limit since the app started."#,
        },
    ],
    c_items: &[
        CItem::Define { name: "AKIRA_LOG_ERROR", value: "0", comment: r#""# },
        CItem::Define { name: "AKIRA_LOG_WARN", value: "1", comment: r#""# },
        CItem::Define { name: "AKIRA_LOG_INFO", value: "2", comment: r#""# },
        CItem::Define { name: "AKIRA_LOG_DEBUG", value: "3", comment: r#""# },
        CItem::Define { name: "AKIRA_LOG_TRACE", value: "4", comment: r#""# },
        CItem::Blank,
        CItem::Import("write"),
        CItem::Import("dropped"),
    ],
};
