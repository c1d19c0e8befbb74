//! `akira:i2c`.

use crate::Ret;
use crate::Stability::Experimental;
use crate::Type::{I32, Ptr, U32};
use crate::{CItem, Cost, Function, Module, Param, Pointee};

/// The `akira:i2c` module.
pub static I2C: Module = Module {
    name: "i2c",
    import: "akira:i2c",
    capability: "i2c",
    scope: r#"bus and 7-bit address"#,
    doc: r#"I2C devices by bus number (0–3) and 7-bit address. The manifest grants
addresses per bus (`i2c = [{ bus = 0, addresses = [0x48] }]`); each call
checks its bus and address with one bit test before the bus is touched.
Buffers are `(ptr, len)` loans of at most 1024 bytes each
(`AKIRA_E2BIG`). Depending on the firmware, a transfer runs inside the
call (blocking HALs; bounded by that size) or in a firmware task while the
app is suspended (async HALs; `AKIRA_ETIMEDOUT` after 1 s, `AKIRA_EBUSY` if
the app's previous transfer is still on the bus or the bus's queue is
full, `AKIRA_E2BIG` beyond the queue's buffers); the app sees the same
functions either way.
An address no device acknowledges is `AKIRA_ENORES`, lost arbitration
`AKIRA_EBUSY`, any other bus error `AKIRA_EIO`."#,
    functions: &[
        Function {
            name: "write",
            params: &[
                Param::new("bus", I32),
                Param::new("addr", I32),
                Param::new("data", Ptr(Pointee::ConstVoid)),
                Param::new("len", U32),
            ],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::bytes(50, 8, 1),
            #[cfg(feature = "docs")]
            doc: r#"`write(bus, addr, ptr, len)`: one write transfer of `len` bytes; `len` 0 probes the address. Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "read",
            params: &[
                Param::new("bus", I32),
                Param::new("addr", I32),
                Param::new("buf", Ptr(Pointee::Void)),
                Param::new("len", U32),
            ],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::bytes(50, 8, 1),
            #[cfg(feature = "docs")]
            doc: r#"`read(bus, addr, ptr, len)`: one read transfer of `len >= 1` bytes into `ptr`. Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "write_read",
            params: &[
                Param::new("bus", I32),
                Param::new("addr", I32),
                Param::new("data", Ptr(Pointee::ConstVoid)),
                Param::new("len", U32),
                Param::new("buf", Ptr(Pointee::Void)),
                Param::new("buf_len", U32),
            ],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::bytes(50, 8, 1),
            #[cfg(feature = "docs")]
            doc: r#"`write_read(bus, addr, wptr, wlen, rptr, rlen)`: writes `wlen >= 1` bytes, repeated start, reads `rlen >= 1` bytes, one transaction. The two buffers must not overlap (`AKIRA_EINVAL`). Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "read_reg",
            params: &[
                Param::new("bus", I32),
                Param::new("addr", I32),
                Param::new("reg", I32),
                Param::new("buf", Ptr(Pointee::Void)),
                Param::new("len", U32),
            ],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::bytes(50, 8, 1),
            #[cfg(feature = "docs")]
            doc: r#"`read_reg(bus, addr, reg, ptr, len)`: writes the register number `reg` (0–255), repeated start, reads `len >= 1` bytes. Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "write_reg",
            params: &[
                Param::new("bus", I32),
                Param::new("addr", I32),
                Param::new("reg", I32),
                Param::new("data", Ptr(Pointee::ConstVoid)),
                Param::new("len", U32),
            ],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::bytes(50, 8, 1),
            #[cfg(feature = "docs")]
            doc: r#"`write_reg(bus, addr, reg, ptr, len)`: writes `reg` then the `len` bytes at `ptr` in one transfer. Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
    ],
    c_items: &[
        CItem::Import("write"),
        CItem::Import("read"),
        CItem::Import("write_read"),
        CItem::Import("read_reg"),
        CItem::Import("write_reg"),
    ],
};
