//! `akira:gpio`.

use crate::Ret;
use crate::Stability::Stable;
use crate::Type::{I32, I64};
use crate::{CItem, Cost, Function, Module, Param};

/// The `akira:gpio` module.
pub static GPIO: Module = Module {
    name: "gpio",
    import: "akira:gpio",
    capability: "gpio",
    scope: r#""#,
    doc: r#"Pins are the board's logical pin numbers (0–63; each board documents its pin
table). The manifest grants pins per direction: `input`, `output`, `edge`
(edge pins are inputs too). Each call checks its pin with one bit test."#,
    functions: &[
        Function {
            name: "configure",
            params: &[Param::new("pin", I32), Param::new("mode", I32)],
            result: Ret::I32,
            stability: Stable,
            cost: Cost::fixed(20),
            #[cfg(feature = "docs")]
            doc: r#"`configure(pin, mode)`: mode 0 input (needs `input`), 1 output (needs `output`). Clears the pin's latched edges. `AKIRA_ENOTSUP` if the board's pin cannot take that direction. Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "read",
            params: &[Param::new("pin", I32)],
            result: Ret::I32,
            stability: Stable,
            cost: Cost::CHEAP,
            #[cfg(feature = "docs")]
            doc: r#"`read(pin)`: the level, 0 or 1. Allowed on granted input and output pins (an output reads back what it drives)."#,
            #[cfg(feature = "docs")]
            c_doc: r#"The level, 0 or 1."#,
        },
        Function {
            name: "write",
            params: &[Param::new("pin", I32), Param::new("level", I32)],
            result: Ret::I32,
            stability: Stable,
            cost: Cost::CHEAP,
            #[cfg(feature = "docs")]
            doc: r#"`write(pin, level)`: drives an output pin low (0) or high (any other value). Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "toggle",
            params: &[Param::new("pin", I32)],
            result: Ret::I32,
            stability: Stable,
            cost: Cost::CHEAP,
            #[cfg(feature = "docs")]
            doc: r#"`toggle(pin)`: inverts an output pin; returns the new level."#,
            #[cfg(feature = "docs")]
            c_doc: r#"The new level."#,
        },
        Function {
            name: "wait_edge",
            params: &[Param::new("pin", I32), Param::new("edges", I32), Param::new("timeout_us", I64)],
            result: Ret::I32,
            stability: Stable,
            cost: Cost::fixed(20),
            #[cfg(feature = "docs")]
            doc: r#"`wait_edge(pin, edges, timeout_us)`: `edges` 1 rising, 2 falling, 3 either (needs `edge`). Returns at once if such an edge was latched since `configure` or the last `wait_edge`, else suspends the app until one happens: returns 1 (rising) or 2 (falling), or `AKIRA_ETIMEDOUT` after `timeout_us` (`timeout_us < 0`: no timeout)."#,
            #[cfg(feature = "docs")]
            c_doc: r#"Suspends until an edge of `edges`: AKIRA_EDGE_RISING or _FALLING, or
AKIRA_ETIMEDOUT (timeout_us < 0: none)."#,
        },
    ],
    c_items: &[
        CItem::Define { name: "AKIRA_GPIO_INPUT", value: "0", comment: r#""# },
        CItem::Define { name: "AKIRA_GPIO_OUTPUT", value: "1", comment: r#""# },
        CItem::Define { name: "AKIRA_EDGE_RISING", value: "1", comment: r#""# },
        CItem::Define { name: "AKIRA_EDGE_FALLING", value: "2", comment: r#""# },
        CItem::Define { name: "AKIRA_EDGE_ANY", value: "3", comment: r#""# },
        CItem::Blank,
        CItem::Import("configure"),
        CItem::Import("read"),
        CItem::Import("write"),
        CItem::Import("toggle"),
        CItem::Import("wait_edge"),
    ],
};
