//! `akira:adc`.

use crate::Ret;
use crate::Stability::Experimental;
use crate::Type::I32;
use crate::{CItem, Cost, Function, Module, Param};

/// The `akira:adc` module.
pub static ADC: Module = Module {
    name: "adc",
    import: "akira:adc",
    capability: "adc",
    scope: r#"channels"#,
    doc: r#"Analog inputs by channel number 0–31 (each board documents its channel
table); the manifest grants channels (`adc = [0]`). Each call checks its
channel with one bit test and runs one conversion (microseconds; the call
blocks). Millivolts are at the pin: the board applies its reference,
input divider and calibration."#,
    functions: &[
        Function {
            name: "resolution",
            params: &[Param::new("channel", I32)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::CHEAP,
            #[cfg(feature = "docs")]
            doc: r#"`resolution(channel)`: bits per conversion (1–16)."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "read_raw",
            params: &[Param::new("channel", I32)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::fixed(50),
            #[cfg(feature = "docs")]
            doc: r#"`read_raw(channel)`: one conversion, a code from 0 to `2^resolution - 1`."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "read_mv",
            params: &[Param::new("channel", I32)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::fixed(50),
            #[cfg(feature = "docs")]
            doc: r#"`read_mv(channel)`: one conversion in millivolts at the pin (`>= 0`)."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
    ],
    c_items: &[CItem::Import("resolution"), CItem::Import("read_raw"), CItem::Import("read_mv")],
};
