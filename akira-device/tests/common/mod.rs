//! What the device tests share: apps in text format.

/// Blinks pin 2 every 100 ms forever.
pub const BLINK: &str = r#"(module
    (import "akira:gpio" "toggle" (func $toggle (param i32) (result i32)))
    (import "akira:timer" "sleep_us" (func $sleep (param i64) (result i32)))
    (func (export "akira_main") (loop $l (drop (call $toggle (i32.const 2))) (drop (call $sleep (i64.const 100000))) (br $l))))"#;
/// Traps at once.
pub const CRASH: &str = r#"(module (import "akira:timer" "sleep_us" (func (param i64) (result i32))) (func (export "akira_main") unreachable))"#;
