//! `akira:hid`.

use crate::Ret;
use crate::Stability::Experimental;
use crate::Type::{I32, I64, Ptr, U32};
use crate::{CItem, Cost, Function, Module, Param, Pointee};

/// The `akira:hid` module.
pub static HID: Module = Module {
    name: "hid",
    import: "akira:hid",
    capability: "hid",
    scope: r#"device kinds"#,
    doc: r#"The board as a USB or BLE HID device. The manifest grants device kinds
(`hid = ["keyboard", "mouse"]`; also `gamepad`, `consumer`, `raw`); each
report call checks its kind with one bit test. Reports use the standard
boot-protocol layouts: keyboard `[modifiers, 0, key1..key6]` (HID usage
ids, page 0x07; modifier bits 0x01 left Ctrl, 0x02 left Shift, 0x04 left
Alt, 0x08 left GUI, 0x10..0x80 the right ones), mouse `[buttons, dx, dy,
wheel]`, gamepad `[buttons lo, buttons hi, x, y, rx, ry]`, consumer
`[usage lo, usage hi]`. Axis values are -127..127 (`AKIRA_EINVAL`
otherwise). When the board's HID stack cannot take a report now (the host
has not polled the earlier ones) the app is suspended until it can, at
most 1 s (`AKIRA_ETIMEDOUT`). A device kind the board lacks is
`AKIRA_ENORES`; a link that is down (USB not enumerated, no BLE
connection) `AKIRA_EIO`.

Input events (buttons of the device, the keyboard LEDs the host sets) wait
in a bounded queue on the board (the newest are dropped when it is full);
`next_event` takes the oldest. It needs the capability (any kind) and no
per-call check: events are input to the app. An event is 8 bytes,
little-endian: `kind` u16 (1 button pressed, 2 released, 3 keyboard LEDs),
`code` u16 (the button), `value` i32 (LED bits: 1 Num Lock, 2 Caps Lock,
4 Scroll Lock)."#,
    functions: &[
        Function {
            name: "keyboard",
            params: &[Param::new("modifiers", U32), Param::new("keys", Ptr(Pointee::ConstU8)), Param::new("n", U32)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::fixed(50),
            #[cfg(feature = "docs")]
            doc: r#"`keyboard(modifiers, keys, n)`: one keyboard report: the modifier bits (0–255) and the `n` key usage ids at `keys` held down (`n` at most 6, `AKIRA_E2BIG`); `keyboard(0, 0, 0)` releases everything. Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#"One keyboard report holding n (<= 6) keys (HID usage ids)."#,
        },
        Function {
            name: "type_text",
            params: &[Param::new("text", Ptr(Pointee::ConstChar)), Param::new("len", U32)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::bytes(50, 4, 1),
            #[cfg(feature = "docs")]
            doc: r#"`type_text(ptr, len)`: types ASCII text (at most 256 bytes, `AKIRA_E2BIG`) on a US layout, each character a press and a release report; letters, digits, punctuation, space, `\n`, `\t` and backspace (0x08); any other byte is `AKIRA_EINVAL` before anything is typed. Types the whole characters the stack has room for, suspending until it has room for one. Returns the number typed (`>= 1`; 0 for `len` 0): call again for the rest."#,
            #[cfg(feature = "docs")]
            c_doc: r#"Types ASCII (US layout); returns the characters typed (>= 1): loop for the rest."#,
        },
        Function {
            name: "mouse",
            params: &[
                Param::new("buttons", U32),
                Param::new("dx", I32),
                Param::new("dy", I32),
                Param::new("wheel", I32),
            ],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::fixed(50),
            #[cfg(feature = "docs")]
            doc: r#"`mouse(buttons, dx, dy, wheel)`: one mouse report (buttons bit 0 left, 1 right, 2 middle). Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#"dx, dy, wheel in -127..127; buttons bit 0 left, 1 right, 2 middle."#,
        },
        Function {
            name: "gamepad",
            params: &[
                Param::new("buttons", U32),
                Param::new("x", I32),
                Param::new("y", I32),
                Param::new("rx", I32),
                Param::new("ry", I32),
            ],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::fixed(50),
            #[cfg(feature = "docs")]
            doc: r#"`gamepad(buttons, x, y, rx, ry)`: one gamepad report, 16 buttons (bit n: button n+1) and two sticks. Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "consumer",
            params: &[Param::new("usage", U32)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::fixed(50),
            #[cfg(feature = "docs")]
            doc: r#"`consumer(usage)`: one consumer-control report (page 0x0C usage, e.g. 0xE9 volume up; 0 releases). Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "raw",
            params: &[Param::new("report", Ptr(Pointee::ConstVoid)), Param::new("len", U32)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::bytes(50, 1, 16),
            #[cfg(feature = "docs")]
            doc: r#"`raw(ptr, len)`: one vendor-defined report of `len` bytes (at most 64, `AKIRA_E2BIG`). Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "next_event",
            params: &[
                Param::new("event", Ptr(Pointee::HidEvent)),
                Param::new("len", U32),
                Param::new("timeout_us", I64),
            ],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::fixed(20),
            #[cfg(feature = "docs")]
            doc: r#"`next_event(ptr, len, timeout_us)`: writes the oldest input event (8 bytes; `len` below 8 is `AKIRA_EINVAL`) at `ptr`; if none is waiting, suspends until one arrives or `timeout_us` passes (`< 0` no timeout, `0` do not wait; `AKIRA_ETIMEDOUT`). Returns 8."#,
            #[cfg(feature = "docs")]
            c_doc: r#"Suspends until an event arrives (timeout_us < 0: no timeout); returns 8."#,
        },
    ],
    c_items: &[
        CItem::Text(r#"/* Reports wait (suspended) up to 1 s for the host to take earlier ones. */"#),
        CItem::Define { name: "AKIRA_HID_LEFT_CTRL", value: "0x01", comment: r#""# },
        CItem::Define { name: "AKIRA_HID_LEFT_SHIFT", value: "0x02", comment: r#""# },
        CItem::Define { name: "AKIRA_HID_LEFT_ALT", value: "0x04", comment: r#""# },
        CItem::Define { name: "AKIRA_HID_LEFT_GUI", value: "0x08", comment: r#""# },
        CItem::Import("keyboard"),
        CItem::Import("type_text"),
        CItem::Import("mouse"),
        CItem::Import("gamepad"),
        CItem::Import("consumer"),
        CItem::Import("raw"),
        CItem::Text(
            r#"/* An input event: kind 1 pressed, 2 released (code: button), 3 keyboard LEDs (value). */
typedef struct {
    uint16_t kind;
    uint16_t code;
    int32_t value;
} akira_hid_event_t;"#,
        ),
        CItem::Import("next_event"),
    ],
};
