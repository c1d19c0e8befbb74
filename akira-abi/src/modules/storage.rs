//! `akira:storage`.

use crate::Ret;
use crate::Stability::Experimental;
use crate::Type::{Ptr, U32};
use crate::{CItem, Cost, Function, Module, Param, Pointee};

/// The `akira:storage` module.
pub static STORAGE: Module = Module {
    name: "storage",
    import: "akira:storage",
    capability: "storage",
    scope: r#""#,
    doc: r#"A key-value store of the app's own, kept in the board's flash across
resets and app updates. Keys are 1–32 bytes (`AKIRA_EINVAL` for an empty
key, `AKIRA_E2BIG` beyond), values 0–256 bytes (`AKIRA_E2BIG`), both
arbitrary bytes. Each app has its own namespace (its app name): an app
can neither read, overwrite nor remove another app's keys, even ones with
the same name. The manifest grants a byte quota
(`storage = { quota = "4 KiB" }`): the key and value bytes the app holds
may not pass it, so a `set` that would is `AKIRA_ENOSPC` (a `set` that
does not grow the holding is always allowed); `AKIRA_ENOSPC` also when
the board's storage is full. A removed key keeps counting its key bytes
until it is set again (plain NOR flash keeps a removal marker for it).
Writes are power-loss safe: a `set` cut by a reset leaves the old value or
the new one. Calls run inside the host call: a write that erases a flash
sector blocks the firmware for milliseconds. A storage failure is
`AKIRA_EIO`."#,
    functions: &[
        Function {
            name: "get",
            params: &[
                Param::new("key", Ptr(Pointee::ConstVoid)),
                Param::new("key_len", U32),
                Param::new("buf", Ptr(Pointee::Void)),
                Param::new("buf_len", U32),
            ],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::bytes(2000, 1, 16),
            #[cfg(feature = "docs")]
            doc: r#"`get(key, key_len, buf, buf_len)`: copies up to `buf_len` bytes of the key's value to `buf` and returns the value's full length (a larger result than `buf_len` means the value was cut). `AKIRA_ENORES` if the key is not set."#,
            #[cfg(feature = "docs")]
            c_doc: r#"Copies up to buf_len bytes of the value; returns its full length
(AKIRA_ENORES if the key is not set)."#,
        },
        Function {
            name: "set",
            params: &[
                Param::new("key", Ptr(Pointee::ConstVoid)),
                Param::new("key_len", U32),
                Param::new("value", Ptr(Pointee::ConstVoid)),
                Param::new("value_len", U32),
            ],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::flash(2000, 32, 1),
            #[cfg(feature = "docs")]
            doc: r#"`set(key, key_len, value, value_len)`: stores the value under the key, replacing any old one. Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#"AKIRA_ENOSPC past the app's quota."#,
        },
        Function {
            name: "remove",
            params: &[Param::new("key", Ptr(Pointee::ConstVoid)), Param::new("key_len", U32)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::flash(2000, 32, 1),
            #[cfg(feature = "docs")]
            doc: r#"`remove(key, key_len)`: removes the key; `AKIRA_ENORES` if it is not set. Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "used",
            params: &[],
            result: Ret::I64,
            stability: Experimental,
            cost: Cost::fixed(100),
            #[cfg(feature = "docs")]
            doc: r#"The bytes the app holds: key and value bytes of its keys, plus the key bytes of keys it removed."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "quota",
            params: &[],
            result: Ret::I64,
            stability: Experimental,
            cost: Cost::CHEAP,
            #[cfg(feature = "docs")]
            doc: r#"The app's quota in bytes (as granted: the manifest's, within the device's policy)."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
    ],
    c_items: &[
        CItem::Text(r#"/* The app's own key-value store: keys 1-32 bytes, values 0-256 bytes. */"#),
        CItem::Define { name: "AKIRA_STORAGE_MAX_KEY", value: "32", comment: r#""# },
        CItem::Define { name: "AKIRA_STORAGE_MAX_VALUE", value: "256", comment: r#""# },
        CItem::Blank,
        CItem::Import("get"),
        CItem::Import("set"),
        CItem::Import("remove"),
        CItem::Import("used"),
        CItem::Import("quota"),
    ],
};
