//! `Akira.toml` and device policy files: arbitrary text, and TOML built
//! from the keys the formats know (structure-aware: the first byte picks
//! the mode). Besides not panicking, a manifest that reads must survive
//! its binary form (encode, decode: the same manifest), and be granted or
//! refused under the policy read from the same text without panicking.

#![no_main]

use akira_caps::toml_source::{manifest_from_toml, policy_from_toml};
use akira_caps::{Manifest, grant};
use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;

const KEYS: &[&str] = &[
    "app",
    "name",
    "version",
    "abi",
    "limits",
    "memory",
    "stack",
    "heap",
    "cpu-budget",
    "capabilities",
    "allow",
    "gpio",
    "input",
    "output",
    "edge",
    "i2c",
    "bus",
    "addresses",
    "spi",
    "uart",
    "pwm",
    "adc",
    "timer",
    "sensor",
    "storage",
    "quota",
    "writes-per-hour",
    "display",
    "x",
    "y",
    "width",
    "height",
    "hid",
    "ble",
    "roles",
    "min-adv-interval-ms",
    "adv-changes-per-second",
    "rf",
    "bands",
    "max-power-dbm",
    "duty-cycle-permille",
    "net",
    "endpoints",
    "sockets",
    "ipc",
    "publish",
    "subscribe",
    "ota",
    "rng",
    "sys",
    "log",
    "app",
    "acme:valve",
];

const STRINGS: &[&str] = &[
    "blinky",
    "1.2.3",
    "4 KiB",
    "1 MiB",
    "16KiB",
    "whole",
    "advertise",
    "scan",
    "peripheral",
    "keyboard",
    "api.example.com:443",
    "127.0.0.1:0",
    "*",
    "t",
    "",
    "0.1",
    "a:b",
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
];

#[derive(Arbitrary, Debug)]
enum Item {
    Int(i64),
    Small(u8),
    Bool(bool),
    Str(u8),
    Array(Vec<Item>),
    Table(Vec<(u8, Item)>),
}

fn write(out: &mut String, item: &Item, depth: u32) {
    match item {
        Item::Int(n) => out.push_str(&n.to_string()),
        Item::Small(n) => out.push_str(&n.to_string()),
        Item::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Item::Str(i) => out.push_str(&format!("{:?}", STRINGS[usize::from(*i) % STRINGS.len()])),
        Item::Array(items) if depth < 4 => {
            out.push('[');
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write(out, it, depth + 1);
            }
            out.push(']');
        }
        Item::Table(entries) if depth < 4 => {
            out.push('{');
            for (i, (k, it)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&format!("{:?} = ", KEYS[usize::from(*k) % KEYS.len()]));
                write(out, it, depth + 1);
            }
            out.push('}');
        }
        _ => out.push('0'),
    }
}

/// A document of `[section]`s of `key = value` lines from the formats'
/// vocabulary.
fn document(u: &mut Unstructured<'_>) -> arbitrary::Result<String> {
    let sections: Vec<(u8, Vec<(u8, Item)>)> = u.arbitrary()?;
    let mut text = String::new();
    for (section, entries) in sections {
        text.push_str(&format!("[{}]\n", KEYS[usize::from(section) % KEYS.len()]));
        for (key, item) in entries {
            text.push_str(&format!("{:?} = ", KEYS[usize::from(key) % KEYS.len()]));
            write(&mut text, &item, 0);
            text.push('\n');
        }
    }
    Ok(text)
}

fn check(text: &str) {
    let manifest = manifest_from_toml(text);
    let policy = policy_from_toml(text);
    if let Ok(m) = &manifest {
        let bytes = m.encode();
        assert_eq!(Manifest::decode(&bytes).as_ref(), Ok(m), "a manifest survives its binary form");
        if let Ok(p) = &policy {
            let _ = grant(m, p);
        }
    }
    for result in [manifest.err().map(|e| e.to_string()), policy.err().map(|e| e.to_string())] {
        if let Some(e) = result {
            assert!(!e.is_empty());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode & 1 == 0 {
        if let Ok(text) = std::str::from_utf8(rest) {
            check(text);
        }
    } else if let Ok(text) = document(&mut Unstructured::new(rest)) {
        check(&text);
    }
});
