//! Human descriptions of manifests, capabilities and sizes.

use std::fmt::Write;

use akira_caps::CapabilitySet;
use akira_caps::scope::{ble, hid};
use akira_caps::sets::IdSet;

/// `5120` -> `5.0 KiB` (IEC units, written by bytesize).
pub fn bytes(n: u64) -> String {
    bytesize::ByteSize::b(n).display().iec().to_string()
}

fn named(set: IdSet, names: &[&str]) -> String {
    let list: Vec<&str> = set.iter().filter_map(|m| names.get(m as usize).copied()).collect();
    list.join(", ")
}

/// One line per capability: `(name, scope)`.
pub fn capabilities(c: &CapabilitySet) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut put = |name: &str, scope: String| out.push((name.to_string(), scope));
    if let Some(g) = c.gpio {
        let mut s = String::new();
        for (what, set) in [("input", g.input), ("output", g.output), ("edge", g.edge)] {
            if !set.is_empty() {
                let _ = write!(s, "{}{what} {set}", if s.is_empty() { "" } else { "; " });
            }
        }
        put("gpio", s);
    }
    if let Some(i) = c.i2c {
        let buses: Vec<String> = i
            .buses
            .iter()
            .enumerate()
            .filter(|(_, a)| !a.is_empty())
            .map(|(bus, a)| {
                let addrs: Vec<String> = a.iter().map(|x| format!("{x:#04x}")).collect();
                format!("bus {bus}: {}", addrs.join(", "))
            })
            .collect();
        put("i2c", buses.join("; "));
    }
    for (name, set) in [("spi", c.spi), ("uart", c.uart), ("pwm", c.pwm), ("adc", c.adc), ("sensor", c.sensor)] {
        if let Some(s) = set {
            put(name, s.to_string());
        }
    }
    if let Some(s) = c.storage {
        put("storage", format!("quota {}", bytes(s.quota.into())));
    }
    if let Some(d) = c.display {
        if d == akira_caps::scope::DisplayScope::WHOLE {
            put("display", "whole screen".into());
        } else {
            put("display", format!("{}x{} at ({}, {})", d.width, d.height, d.x, d.y));
        }
    }
    if let Some(h) = c.hid {
        put("hid", named(h, &hid::NAMES));
    }
    if let Some(b) = c.ble {
        put(
            "ble",
            format!(
                "{}; interval >= {} ms; {} data changes/s",
                named(b.roles, &ble::NAMES),
                b.min_adv_interval_ms,
                b.adv_changes_per_s
            ),
        );
    }
    if let Some(rf) = &c.rf {
        let bands: Vec<String> = rf.bands.iter().map(|b| format!("{}..={} Hz", b.from_hz, b.to_hz)).collect();
        put(
            "rf",
            format!(
                "{}; max {} dBm; duty cycle {} permille",
                bands.join(", "),
                rf.max_power_dbm,
                rf.duty_cycle_permille
            ),
        );
    }
    if let Some(n) = &c.net {
        let list: Vec<String> = n.endpoints.iter().map(|e| format!("{}:{}", e.host, e.port)).collect();
        put("net", list.join(", "));
    }
    if let Some(i) = &c.ipc {
        put("ipc", format!("publish {:?}; subscribe {:?}", i.publish, i.subscribe));
    }
    if let Some(a) = &c.app {
        let list: Vec<&str> = a.apps.iter().map(|n| n.as_str()).collect();
        put("app", list.join(", "));
    }
    if let Some(w) = &c.wasi {
        let strings = |list: &[u8]| -> Vec<String> {
            list.split(|b| *b == 0).filter(|s| !s.is_empty()).map(|s| String::from_utf8_lossy(s).into_owned()).collect()
        };
        let mut scope = named(w.parts, &akira_caps::scope::wasi::NAMES);
        if let Some(port) = w.stdin_port {
            scope += &format!("; stdin uart {port}");
        }
        if !w.args.is_empty() {
            scope += &format!("; args {:?}", strings(&w.args));
        }
        if !w.env.is_empty() {
            scope += &format!("; env {:?}", strings(&w.env));
        }
        put("wasi", scope);
    }
    for (name, on) in [("timer", c.timer), ("ota", c.ota), ("rng", c.rng), ("sys", c.sys), ("log", c.log)] {
        if on {
            put(name, String::new());
        }
    }
    for v in &c.vendor {
        put(&v.name, format!("ids {}", v.ids));
    }
    out
}

/// `gpio (output {2}), timer, log`.
pub fn capabilities_line(c: &CapabilitySet) -> String {
    let list: Vec<String> = capabilities(c)
        .into_iter()
        .map(|(name, scope)| if scope.is_empty() { name } else { format!("{name} ({scope})") })
        .collect();
    if list.is_empty() { "nothing".into() } else { list.join(", ") }
}

/// Which ABI a module's imports are written against: the Akira ABI, WASI
/// preview 1, or AkiraOS's `env` (refused until `akira build` translates
/// it; a translated app says so in its `akira.origin` section).
pub fn abi<'a>(modules: impl Iterator<Item = &'a str>, wasm: &[u8]) -> String {
    let (mut akira, mut wasi, mut env, mut other) = (false, false, false, false);
    for m in modules {
        match m {
            "wasi_snapshot_preview1" => wasi = true,
            "env" => env = true,
            m if m.starts_with("akira:") => akira = true,
            _ => other = true,
        }
    }
    let translated = akira_build::origin(wasm).ok().flatten();
    let mut names = Vec::new();
    if akira {
        names.push(match &translated {
            Some(origin) => format!("Akira (translated from {origin} by `akira build`)"),
            None => "Akira".to_string(),
        });
    }
    if wasi {
        names.push("WASI preview 1 (wasi_snapshot_preview1)".into());
    }
    if env {
        names.push("AkiraOS env (run `akira build` / `akira pack` to translate it)".into());
    }
    if other {
        names.push("vendor modules".into());
    }
    if names.is_empty() { "none (the app imports nothing)".into() } else { names.join(" + ") }
}
