//! `akira:pwm`.

use crate::Ret;
use crate::Stability::Experimental;
use crate::Type::I32;
use crate::{CItem, Cost, Function, Module, Param};

/// The `akira:pwm` module.
pub static PWM: Module = Module {
    name: "pwm",
    import: "akira:pwm",
    capability: "pwm",
    scope: r#"channels"#,
    doc: r#"PWM channels by number 0–31 (each board documents its channel table); the
manifest grants channels (`pwm = [0, 3]`). Each call checks its channel
with one bit test. Duty is an integer out of the channel's `max_duty`
(the embedded-hal `SetDutyCycle` model); frequency is settable only where
the board supports it."#,
    functions: &[
        Function {
            name: "max_duty",
            params: &[Param::new("channel", I32)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::CHEAP,
            #[cfg(feature = "docs")]
            doc: r#"`max_duty(channel)`: the duty value that means 100 % (at least 1)."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "set_duty",
            params: &[Param::new("channel", I32), Param::new("duty", I32)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::fixed(20),
            #[cfg(feature = "docs")]
            doc: r#"`set_duty(channel, duty)`: sets the duty, `0 <= duty <= max_duty` (else `AKIRA_EINVAL`). Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "set_frequency",
            params: &[Param::new("channel", I32), Param::new("hz", I32)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::fixed(50),
            #[cfg(feature = "docs")]
            doc: r#"`set_frequency(channel, hz)`: sets the channel's frequency (`hz >= 1`); `AKIRA_ENOTSUP` where the board cannot, `AKIRA_EINVAL` outside its range. Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
    ],
    c_items: &[CItem::Import("max_duty"), CItem::Import("set_duty"), CItem::Import("set_frequency")],
};
