//! `akira:crypto`.

use crate::Ret;
use crate::Stability::Experimental;
use crate::Type::{Ptr, U32};
use crate::{CItem, Cost, Function, Module, Param, Pointee};

/// The `akira:crypto` module.
pub static CRYPTO: Module = Module {
    name: "crypto",
    import: "akira:crypto",
    capability: "sys",
    scope: r#""#,
    doc: r#"SHA-256, HMAC-SHA-256 and Ed25519 signature verification done natively by
the firmware (an interpreted Ed25519 check costs millions of
instructions). The module touches no hardware and nothing but the app's
own memory, so it has no resource to guard and no capability of its own:
it is unlocked by `sys`, the capability of the app's own runtime services.
(A dedicated `crypto` capability would need a new name in the capability
vocabulary and the manifest format; ABI 1 does without.) Each call charges
the app fuel for the native work, about one unit per byte hashed plus 100
per call, and 100 000 per signature check, so the CPU budget keeps its
meaning (a charge larger than the time slice ends the slice and counts in
full). Outputs are checked before any
work is done; an input may overlap the output (hashing in place)."#,
    functions: &[
        Function {
            name: "sha256",
            params: &[
                Param::new("data", Ptr(Pointee::ConstVoid)),
                Param::new("len", U32),
                Param::new("out32", Ptr(Pointee::U8)),
            ],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::bytes(100, 1, 1),
            #[cfg(feature = "docs")]
            doc: r#"`sha256(ptr, len, out)`: writes the 32-byte SHA-256 digest of `ptr..ptr+len` at `out`. Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "hmac_sha256",
            params: &[
                Param::new("key", Ptr(Pointee::ConstVoid)),
                Param::new("key_len", U32),
                Param::new("msg", Ptr(Pointee::ConstVoid)),
                Param::new("msg_len", U32),
                Param::new("out32", Ptr(Pointee::U8)),
            ],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::bytes(100, 1, 1),
            #[cfg(feature = "docs")]
            doc: r#"`hmac_sha256(key, key_len, msg, msg_len, out)`: writes the 32-byte HMAC-SHA-256 (RFC 2104) of the message under the key at `out`. Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "ed25519_verify",
            params: &[
                Param::new("key32", Ptr(Pointee::ConstU8)),
                Param::new("msg", Ptr(Pointee::ConstVoid)),
                Param::new("msg_len", U32),
                Param::new("sig64", Ptr(Pointee::ConstU8)),
            ],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::bytes(100_100, 1, 1),
            #[cfg(feature = "docs")]
            doc: r#"`ed25519_verify(key, msg, msg_len, sig)`: checks the 64-byte signature at `sig` of the message by the 32-byte public key at `key` (strict RFC 8032 verification). Returns 1 if valid, 0 if not; `AKIRA_EINVAL` if the key is not a curve point."#,
            #[cfg(feature = "docs")]
            c_doc: r#"1 valid, 0 not."#,
        },
    ],
    c_items: &[CItem::Import("sha256"), CItem::Import("hmac_sha256"), CItem::Import("ed25519_verify")],
};
