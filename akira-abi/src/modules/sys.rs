//! `akira:sys`.

use crate::Ret;
use crate::Stability::{Experimental, Stable};
use crate::Type::{I32, Ptr, U32};
use crate::{CItem, Cost, Function, Module, Param, Pointee};

/// The `akira:sys` module.
pub static SYS: Module = Module {
    name: "sys",
    import: "akira:sys",
    capability: "sys",
    scope: r#""#,
    doc: r#"The app's own runtime services, and the device's power state (uptime,
reset reason, low-power hint), which every board provides (boards that
cannot tell report `0`, unknown)."#,
    functions: &[
        Function {
            name: "exit",
            params: &[Param::new("code", I32)],
            result: Ret::Never,
            stability: Stable,
            cost: Cost::CHEAP,
            #[cfg(feature = "docs")]
            doc: r#"`exit(code)`: ends the app with `code`; does not return."#,
            #[cfg(feature = "docs")]
            c_doc: r#"Ends the app with `code`; does not return."#,
        },
        Function {
            name: "yield_now",
            params: &[],
            result: Ret::I32,
            stability: Stable,
            cost: Cost::CHEAP,
            #[cfg(feature = "docs")]
            doc: r#"Lets other apps and firmware tasks run, then continues (also refills the CPU budget, like any wait). Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "app_name",
            params: &[Param::new("buf", Ptr(Pointee::Char)), Param::new("cap", U32)],
            result: Ret::I32,
            stability: Stable,
            cost: Cost::bytes(10, 1, 16),
            #[cfg(feature = "docs")]
            doc: r#"`app_name(ptr, cap)`: copies up to `cap` bytes of the app's name to `ptr`; returns the name's full length."#,
            #[cfg(feature = "docs")]
            c_doc: r#"Copies up to `cap` bytes of the app's name; returns its full length."#,
        },
        Function {
            name: "app_version",
            params: &[],
            result: Ret::I64,
            stability: Stable,
            cost: Cost::CHEAP,
            #[cfg(feature = "docs")]
            doc: r#"The manifest's version as `major << 32 \| minor << 16 \| patch`."#,
            #[cfg(feature = "docs")]
            c_doc: r#"major << 32 | minor << 16 | patch"#,
        },
        Function {
            name: "abi_version",
            params: &[],
            result: Ret::I32,
            stability: Stable,
            cost: Cost::CHEAP,
            #[cfg(feature = "docs")]
            doc: r#"The ABI version the firmware provides (1)."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "denials",
            params: &[],
            result: Ret::I32,
            stability: Stable,
            cost: Cost::CHEAP,
            #[cfg(feature = "docs")]
            doc: r#"How many of this app's calls the guard refused."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "uptime_us",
            params: &[],
            result: Ret::I64,
            stability: Experimental,
            cost: Cost::CHEAP,
            #[cfg(feature = "docs")]
            doc: r#"Microseconds since the device started (across app restarts)."#,
            #[cfg(feature = "docs")]
            c_doc: r#"Microseconds since the device started."#,
        },
        Function {
            name: "reset_reason",
            params: &[],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::CHEAP,
            #[cfg(feature = "docs")]
            doc: r#"Why the device last reset: 0 unknown, 1 power-on, 2 reset pin, 3 software, 4 watchdog, 5 brown-out, 6 CPU fault, 7 wake from deep sleep."#,
            #[cfg(feature = "docs")]
            c_doc: r#"0 unknown, 1 power-on, 2 pin, 3 software, 4 watchdog, 5 brown-out, 6 fault, 7 wake-up."#,
        },
        Function {
            name: "sleep_hint",
            params: &[Param::new("level", I32)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::CHEAP,
            #[cfg(feature = "docs")]
            doc: r#"`sleep_hint(level)`: how deeply the device may sleep while this app waits: 0 stay ready (the default), 1 light sleep, 2 deep sleep between the app's deadlines. The firmware combines the hints of all apps (the shallowest wins); a board without low-power modes ignores it. Another level is `AKIRA_EINVAL`. Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#"0 stay ready, 1 light sleep, 2 deep sleep between this app's deadlines."#,
        },
    ],
    c_items: &[
        CItem::Import("exit"),
        CItem::Import("yield_now"),
        CItem::Import("app_name"),
        CItem::Import("app_version"),
        CItem::Import("abi_version"),
        CItem::Import("denials"),
        CItem::Import("uptime_us"),
        CItem::Import("reset_reason"),
        CItem::Import("sleep_hint"),
    ],
};
