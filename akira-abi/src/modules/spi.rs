//! `akira:spi`.

use crate::Ret;
use crate::Stability::Experimental;
use crate::Type::{I32, Ptr, U32};
use crate::{CItem, Cost, Function, Module, Param, Pointee};

/// The `akira:spi` module.
pub static SPI: Module = Module {
    name: "spi",
    import: "akira:spi",
    capability: "spi",
    scope: r#"device ids"#,
    doc: r#"SPI devices the board defines (a bus, a mode, a clock and a chip select
each), by id 0–31 (each board documents its device table); the manifest
grants ids (`spi = [0]`). Each call checks its device with one bit test
before the bus is touched and is one transaction: chip select asserted for
the whole call. Buffers are at most 4096 bytes each (`AKIRA_E2BIG`).
Depending on the firmware, like I2C, a transfer runs inside the call
(blocking HALs; bounded by that size) or in a firmware task while the app
is suspended (async HALs; `AKIRA_ETIMEDOUT` after 1 s, `AKIRA_EBUSY` if the
app's previous transfer on the device is still running or the device's
queue is full, `AKIRA_E2BIG` beyond the queue's buffers); the app sees the
same functions either way. Bus errors are `AKIRA_EIO`."#,
    functions: &[
        Function {
            name: "write",
            params: &[Param::new("device", I32), Param::new("data", Ptr(Pointee::ConstVoid)), Param::new("len", U32)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::bytes(50, 1, 1),
            #[cfg(feature = "docs")]
            doc: r#"`write(device, ptr, len)`: clocks out `len` bytes, ignoring what comes back. Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "read",
            params: &[Param::new("device", I32), Param::new("buf", Ptr(Pointee::Void)), Param::new("len", U32)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::bytes(50, 1, 1),
            #[cfg(feature = "docs")]
            doc: r#"`read(device, ptr, len)`: clocks in `len` bytes (the bus's idle byte sent). Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "transfer",
            params: &[
                Param::new("device", I32),
                Param::new("data", Ptr(Pointee::ConstVoid)),
                Param::new("len", U32),
                Param::new("buf", Ptr(Pointee::Void)),
                Param::new("buf_len", U32),
            ],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::bytes(50, 1, 1),
            #[cfg(feature = "docs")]
            doc: r#"`transfer(device, wptr, wlen, rptr, rlen)`: full duplex for `max(wlen, rlen)` clocks; zeros are sent past `wlen`, bytes past `rlen` dropped. The buffers must not overlap (`AKIRA_EINVAL`). Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "transfer_in_place",
            params: &[Param::new("device", I32), Param::new("buf", Ptr(Pointee::Void)), Param::new("len", U32)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::bytes(50, 1, 1),
            #[cfg(feature = "docs")]
            doc: r#"`transfer_in_place(device, ptr, len)`: full duplex in one buffer; each received byte replaces the one sent. Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "write_then_read",
            params: &[
                Param::new("device", I32),
                Param::new("data", Ptr(Pointee::ConstVoid)),
                Param::new("len", U32),
                Param::new("buf", Ptr(Pointee::Void)),
                Param::new("buf_len", U32),
            ],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::bytes(50, 1, 1),
            #[cfg(feature = "docs")]
            doc: r#"`write_then_read(device, wptr, wlen, rptr, rlen)`: writes `wlen` bytes (a command), then reads `rlen` bytes, under one chip select. The buffers must not overlap. Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
    ],
    c_items: &[
        CItem::Import("write"),
        CItem::Import("read"),
        CItem::Import("transfer"),
        CItem::Import("transfer_in_place"),
        CItem::Import("write_then_read"),
    ],
};
