//! `akira:uart`.

use crate::Ret;
use crate::Stability::Experimental;
use crate::Type::{I32, I64, Ptr, U32};
use crate::{CItem, Cost, Function, Module, Param, Pointee};

/// The `akira:uart` module.
pub static UART: Module = Module {
    name: "uart",
    import: "akira:uart",
    capability: "uart",
    scope: r#"ports"#,
    doc: r#"Serial ports by number 0–31 (each board documents its port table); the
manifest grants ports (`uart = [1]`). Each call checks its port with one
bit test. These calls wait without blocking the firmware: when nothing
has arrived (or the transmit buffer is full) the app is suspended and the
call completes, copying straight into or out of the app's buffer, as soon
as the board has bytes (or room). `timeout_us` bounds the wait: `< 0` no
timeout, `0` do not wait (`AKIRA_ETIMEDOUT` at once). Buffers are at most
4096 bytes (`AKIRA_E2BIG`); `len` 0 returns 0 at once. Driver errors
(framing, overrun) are `AKIRA_EIO`."#,
    functions: &[
        Function {
            name: "write",
            params: &[
                Param::new("port", I32),
                Param::new("data", Ptr(Pointee::ConstVoid)),
                Param::new("len", U32),
                Param::new("timeout_us", I64),
            ],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::bytes(20, 1, 4),
            #[cfg(feature = "docs")]
            doc: r#"`write(port, ptr, len, timeout_us)`: queues as many of the `len` bytes as the port takes now; if it takes none, suspends until it takes some or `timeout_us` passes (`AKIRA_ETIMEDOUT`). Returns the number queued (`>= 1`)."#,
            #[cfg(feature = "docs")]
            c_doc: r#"Both suspend the app until some bytes move; they return how many
(timeout_us < 0: no timeout; 0: do not wait)."#,
        },
        Function {
            name: "read",
            params: &[
                Param::new("port", I32),
                Param::new("buf", Ptr(Pointee::Void)),
                Param::new("len", U32),
                Param::new("timeout_us", I64),
            ],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::bytes(20, 1, 4),
            #[cfg(feature = "docs")]
            doc: r#"`read(port, ptr, len, timeout_us)`: takes up to `len` received bytes; if none are waiting, suspends until some arrive or `timeout_us` passes (`AKIRA_ETIMEDOUT`). Returns the number read (`>= 1`)."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
    ],
    c_items: &[CItem::Import("write"), CItem::Import("read")],
};
