//! Every translated AkiraOS `env` call, run on the simulated board after
//! `akira build`'s translation: inside its grant (the result AkiraOS
//! documents), outside it (denied, counted, `-EPERM`), and with bad
//! pointers and lengths (`-EFAULT`, `-EINVAL`). The app checks each result
//! itself and exits with 0, or 1000 times the number of the first wrong
//! check plus the result it got (`6005`: check 6 returned 5; `2995`:
//! check 3 returned -5).

use std::time::Duration;

use akira_abi::akiraos::IMPORTS;
use akira_build::akiraos::{Profile, translate};
use akira_caps::Policy;
use akira_sim::{End, SimBoard, Simulation, What};

#[path = "akiraos_guard/adapters.rs"]
mod adapters;
#[path = "akiraos_guard/gatt.rs"]
mod gatt;

/// Data every test app has: strings at fixed addresses.
const DATA: &str = r#"(data (i32.const 1024) "hello\00")
    (data (i32.const 1040) "f.txt\00")
    (data (i32.const 1056) "greeting\00")
    (data (i32.const 1072) "missing.txt\00")
    (data (i32.const 1100) "\00\f8\00\f8\00\f8\00\f8")
    (data (i32.const 1120) "ping\00")
    (data (i32.const 1136) "pong\00")
    (data (i32.const 1152) "blinky\00")
    (data (i32.const 1168) "180d\00")
    (data (i32.const 1176) "0x2A37\00")
    (data (i32.const 1184) "12345678-1234-5678-1234-56789abcdef0\00")
    (data (i32.const 1224) "12345678-1234-5678-1234-56789abcdef1\00")
    (data (i32.const 1264) "xyz\00")
    (data (i32.const 1268) "12345678-1234-5678-1234-56789abcdefg\00")
    (data (i32.const 1308) "123456789-234-5678-1234-56789abcdef0\00")"#;
/// A pointer past the end of the translated app's memory.
const BAD: &str = "(i32.const 0x7fff0000)";

/// Builds an AkiraOS app whose `main` runs `body` (checks with
/// `$expect`), with the JSON capabilities `caps`, declaring each `env`
/// import the body calls (`$name`) with the SDK's signature (the later
/// header's, where it changed, with `later`).
fn app(body: &str, caps: &str, later: bool) -> Vec<u8> {
    let mut imports = String::new();
    for i in IMPORTS {
        if body.contains(&format!("${} ", i.name)) || body.contains(&format!("${})", i.name)) {
            let sig = if later { i.later_sig.unwrap_or(i.sig) } else { i.sig };
            let params: Vec<&str> = akira_abi::akiraos::params(sig).map(|t| t.name()).collect();
            let result: Vec<&str> = akira_abi::akiraos::results(sig).map(|t| t.name()).collect();
            imports.push_str(&format!(
                r#"(import "env" "{0}" (func ${0} (param {1}) (result {2})))"#,
                i.name,
                params.join(" "),
                result.join(" ")
            ));
        }
    }
    let wat = format!(
        r#"(module {imports}
            (memory (export "memory") 1 1)
            (global $sp (mut i32) (i32.const 8192))
            {DATA}
            (global $failed (mut i32) (i32.const 0))
            (global $fd (mut i32) (i32.const 0))
            (func $expect (param $got i32) (param $want i32) (param $n i32)
                (if (i32.and (i32.ne (local.get $got) (local.get $want)) (i32.eqz (global.get $failed)))
                    (then (global.set $failed (i32.add (i32.mul (local.get $n) (i32.const 1000)) (local.get $got))))))
            (func $at_least (param $got i32) (param $min i32) (param $n i32)
                (if (i32.and (i32.lt_s (local.get $got) (local.get $min)) (i32.eqz (global.get $failed)))
                    (then (global.set $failed (i32.add (i32.mul (local.get $n) (i32.const 1000)) (local.get $got))))))
            (func (export "main") (param i32 i32) (result i32)
                {body}
                (global.get $failed)))"#
    )
    .replace("(result )", "");
    let mut wasm = wat::parse_str(&wat).unwrap_or_else(|e| panic!("{e}\n{wat}"));
    let json = format!(r#"{{"name":"t","version":"1.0.0","capabilities":[{caps}]}}"#);
    let mut section = wasm_encoder_custom(".akira.manifest", json.as_bytes());
    wasm.append(&mut section);
    wasm
}

/// A custom section, encoded by hand (a name and bytes).
fn wasm_encoder_custom(name: &str, data: &[u8]) -> Vec<u8> {
    fn leb(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            out.push(if n > 0 { b | 0x80 } else { b });
            if n == 0 {
                break;
            }
        }
    }
    let mut body = Vec::new();
    leb(name.len(), &mut body);
    body.extend(name.as_bytes());
    body.extend(data);
    let mut out = vec![0];
    leb(body.len(), &mut out);
    out.extend(body);
    out
}

/// Translates and runs the app; returns its exit code, the number of
/// denied calls and the board's records as text.
fn run(body: &str, caps: &str) -> (i32, usize, String) {
    run_pressing(body, caps, &[], false)
}

/// As [`run`], pressing the simulator's button on Akira pin 0 (AkiraOS
/// button 6) at each of `presses`.
fn run_pressing(body: &str, caps: &str, presses: &[Duration], later: bool) -> (i32, usize, String) {
    run_beside(body, caps, presses, later, &[])
}

/// As [`run_pressing`], with the Akira apps `others` (modules with their
/// manifests) installed and started beside the test app.
fn run_beside(body: &str, caps: &str, presses: &[Duration], later: bool, others: &[Vec<u8>]) -> (i32, usize, String) {
    let t = translate(&app(body, caps, later), &Profile::simulator()).unwrap_or_else(|e| panic!("translate: {e}"));
    let wasm = akira_build::embed_manifest(&t.wasm, &t.manifest).unwrap();
    let (bridge, apps) = akira_sim::bridge_with_apps();
    let runtime = akira_sandbox::Runtime::new(akira_sim::config(), bridge, Policy::development());
    let loaded = runtime.load(&wasm).unwrap_or_else(|e| panic!("load: {e}"));
    let others: Vec<_> = others.iter().map(|o| runtime.load(o).unwrap_or_else(|e| panic!("load: {e}"))).collect();
    let board = SimBoard::virtual_time();
    board.set_temperature(Some(25_000));
    let mut sim = Simulation::new(runtime, board.clone());
    sim.serve_apps(apps);
    // The others first: an app's grant names the apps installed before it.
    for other in others {
        sim.spawn(other, Default::default()).unwrap();
    }
    sim.spawn(loaded, Default::default()).unwrap();
    for at in presses {
        sim.press(0, *at);
    }
    assert_eq!(sim.run(Some(Duration::from_secs(10))), End::AllStopped);
    let records = board.records();
    let text: Vec<String> = records.iter().map(|r| r.to_string()).collect();
    let code = records
        .iter()
        .filter(|r| r.app.as_deref() == Some("t"))
        .find_map(|r| match &r.what {
            What::Exited(c) => Some(*c),
            What::Faulted(f) => panic!("the app faulted: {f}\n{}", text.join("\n")),
            _ => None,
        })
        .expect("the app exited");
    let denied = records.iter().filter(|r| r.app.as_deref() == Some("t") && matches!(r.what, What::Denied(_))).count();
    (code, denied, text.join("\n"))
}

/// One family of calls: checks inside the grant, then the same calls
/// outside it (each denied), then bad pointers and lengths.
struct Family {
    caps: &'static str,
    granted: &'static str,
    denied: &'static str,
    /// Calls the denied body makes that reach the guard.
    denials: usize,
    bad: &'static str,
}

const EPERM: i32 = -1;

fn families() -> Vec<Family> {
    let mut all = core_families();
    all.extend(adapters::families());
    all.extend(gatt::families());
    all
}

fn core_families() -> Vec<Family> {
    vec![
        Family {
            caps: "",
            granted: "(call $expect (call $printf_native (i32.const 1024)) (i32.const 0) (i32.const 1))
                (call $expect (call $delay (i32.const 1000)) (i32.const 0) (i32.const 2))
                (call $expect (call $app_get_self_name (i32.const 2000) (i32.const 16)) (i32.const 1) (i32.const 3))
                (call $expect (i32.load8_u (i32.const 2000)) (i32.const 116) (i32.const 4))
                (call $expect (call $wdt_pet) (i32.const 0) (i32.const 5))
                (call $expect (call $power_get_mode) (i32.const 0) (i32.const 6))
                (call $expect (call $power_get_battery_level) (i32.const -19) (i32.const 7))
                (call $expect (call $power_get_battery_status (i32.const 2000) (i32.const 2004)) (i32.const -19) (i32.const 8))
                (call $expect (call $power_set_low_power (i32.const 1)) (i32.const 0) (i32.const 9))",
            denied: "",
            denials: 0,
            bad: "(call $expect (call $printf_native BAD) (i32.const -14) (i32.const 1))
                (call $expect (call $app_get_self_name BAD (i32.const 16)) (i32.const -14) (i32.const 2))
                (call $expect (call $app_get_self_name (i32.const 2000) (i32.const 0x7fffffff)) (i32.const -14) (i32.const 3))",
        },
        Family {
            caps: r#""display.write""#,
            granted: "(call $expect (call $display_clear (i32.const 0)) (i32.const 0) (i32.const 1))
                (call $expect (call $display_pixel (i32.const 1) (i32.const 1) (i32.const 0xffff)) (i32.const 0) (i32.const 2))
                (call $expect (call $display_rect (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 4) (i32.const 1)) (i32.const 0) (i32.const 3))
                (call $expect (call $display_rect_outline (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 4) (i32.const 1)) (i32.const 0) (i32.const 4))
                (call $expect (call $display_hline (i32.const 0) (i32.const 9) (i32.const 20) (i32.const 1)) (i32.const 0) (i32.const 5))
                (call $expect (call $display_vline (i32.const 9) (i32.const 0) (i32.const 20) (i32.const 1)) (i32.const 0) (i32.const 6))
                (call $expect (call $display_line (i32.const 0) (i32.const 0) (i32.const 9) (i32.const 9) (i32.const 1)) (i32.const 0) (i32.const 7))
                (call $expect (call $display_triangle (i32.const 0) (i32.const 0) (i32.const 9) (i32.const 0) (i32.const 0) (i32.const 9) (i32.const 1)) (i32.const 0) (i32.const 8))
                (call $expect (call $display_text (i32.const 0) (i32.const 0) (i32.const 1024) (i32.const 0xffff)) (i32.const 0) (i32.const 9))
                (call $expect (call $display_text_large (i32.const 0) (i32.const 0) (i32.const 1024) (i32.const 0xffff)) (i32.const 0) (i32.const 10))
                (call $expect (call $display_bitmap (i32.const 0) (i32.const 0) (i32.const 2) (i32.const 2) (i32.const 1100) (i32.const 8)) (i32.const 0) (i32.const 11))
                (call $expect (call $display_raw_write (i32.const 0) (i32.const 0) (i32.const 2) (i32.const 2) (i32.const 1100) (i32.const 8)) (i32.const 0) (i32.const 12))
                (call $expect (call $display_get_size (i32.const 2000) (i32.const 2004)) (i32.const 0) (i32.const 13))
                (call $expect (i32.load (i32.const 2000)) (i32.const 240) (i32.const 14))
                (call $expect (i32.load (i32.const 2004)) (i32.const 135) (i32.const 15))
                (call $expect (call $display_flush) (i32.const 0) (i32.const 16))
                (call $expect (call $display_circle (i32.const 20) (i32.const 20) (i32.const 5) (i32.const 0xffff)) (i32.const 0) (i32.const 17))
                (call $expect (call $display_circle_fill (i32.const 20) (i32.const 20) (i32.const 5) (i32.const 1)) (i32.const 0) (i32.const 18))
                (call $expect (call $display_rounded_rect (i32.const 0) (i32.const 0) (i32.const 20) (i32.const 10) (i32.const 3) (i32.const 1)) (i32.const 0) (i32.const 19))
                (call $expect (call $display_rounded_rect_fill (i32.const 0) (i32.const 0) (i32.const 20) (i32.const 10) (i32.const 3) (i32.const 1)) (i32.const 0) (i32.const 20))
                (call $expect (call $display_progress_bar (i32.const 0) (i32.const 0) (i32.const 50) (i32.const 8) (i32.const 30) (i32.const 100) (i32.const 0xffff) (i32.const 0)) (i32.const 0) (i32.const 21))
                (call $expect (call $display_number (i32.const 0) (i32.const 0) (i32.const -1234) (i32.const 1)) (i32.const 0) (i32.const 22))
                (call $expect (call $display_bitmap_transparent (i32.const 0) (i32.const 0) (i32.const 2) (i32.const 2) (i32.const 1100) (i32.const 8) (i32.const 0)) (i32.const 0) (i32.const 23))
                (call $expect (call $display_circle_fill (i32.const 0) (i32.const 0) (i32.const 5) (i32.const 1)) (i32.const 0) (i32.const 24))
                (call $expect (call $display_triangle_fill (i32.const 0) (i32.const 0) (i32.const 9) (i32.const 0) (i32.const 0) (i32.const 9) (i32.const 1)) (i32.const 0) (i32.const 25))
                (call $expect (call $display_text_huge (i32.const 0) (i32.const 0) (i32.const 1024) (i32.const 0xffff)) (i32.const 0) (i32.const 26))",
            denied: "(call $expect (call $display_clear (i32.const 0)) (i32.const -1) (i32.const 1))
                (call $expect (call $display_pixel (i32.const 1) (i32.const 1) (i32.const 0xffff)) (i32.const -1) (i32.const 2))
                (call $expect (call $display_rect (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 4) (i32.const 1)) (i32.const -1) (i32.const 3))
                (call $expect (call $display_rect_outline (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 4) (i32.const 1)) (i32.const -1) (i32.const 4))
                (call $expect (call $display_hline (i32.const 0) (i32.const 9) (i32.const 20) (i32.const 1)) (i32.const -1) (i32.const 5))
                (call $expect (call $display_vline (i32.const 9) (i32.const 0) (i32.const 20) (i32.const 1)) (i32.const -1) (i32.const 6))
                (call $expect (call $display_line (i32.const 0) (i32.const 0) (i32.const 9) (i32.const 9) (i32.const 1)) (i32.const -1) (i32.const 7))
                (call $expect (call $display_triangle (i32.const 0) (i32.const 0) (i32.const 9) (i32.const 0) (i32.const 0) (i32.const 9) (i32.const 1)) (i32.const -1) (i32.const 8))
                (call $expect (call $display_text (i32.const 0) (i32.const 0) (i32.const 1024) (i32.const 0xffff)) (i32.const -1) (i32.const 9))
                (call $expect (call $display_text_large (i32.const 0) (i32.const 0) (i32.const 1024) (i32.const 0xffff)) (i32.const -1) (i32.const 10))
                (call $expect (call $display_bitmap (i32.const 0) (i32.const 0) (i32.const 2) (i32.const 2) (i32.const 1100) (i32.const 8)) (i32.const -1) (i32.const 11))
                (call $expect (call $display_raw_write (i32.const 0) (i32.const 0) (i32.const 2) (i32.const 2) (i32.const 1100) (i32.const 8)) (i32.const -1) (i32.const 12))
                (call $expect (call $display_get_size (i32.const 2000) (i32.const 2004)) (i32.const 0) (i32.const 13))
                (call $expect (call $display_flush) (i32.const 0) (i32.const 16))
                (call $expect (call $display_circle (i32.const 20) (i32.const 20) (i32.const 5) (i32.const 0xffff)) (i32.const -1) (i32.const 17))
                (call $expect (call $display_circle_fill (i32.const 20) (i32.const 20) (i32.const 5) (i32.const 1)) (i32.const -1) (i32.const 18))
                (call $expect (call $display_rounded_rect (i32.const 0) (i32.const 0) (i32.const 20) (i32.const 10) (i32.const 3) (i32.const 1)) (i32.const -1) (i32.const 19))
                (call $expect (call $display_rounded_rect_fill (i32.const 0) (i32.const 0) (i32.const 20) (i32.const 10) (i32.const 3) (i32.const 1)) (i32.const -1) (i32.const 20))
                (call $expect (call $display_progress_bar (i32.const 0) (i32.const 0) (i32.const 50) (i32.const 8) (i32.const 30) (i32.const 100) (i32.const 0xffff) (i32.const 0)) (i32.const -1) (i32.const 21))
                (call $expect (call $display_number (i32.const 0) (i32.const 0) (i32.const -1234) (i32.const 1)) (i32.const -1) (i32.const 22))
                (call $expect (call $display_bitmap_transparent (i32.const 0) (i32.const 0) (i32.const 2) (i32.const 2) (i32.const 1100) (i32.const 8) (i32.const 0)) (i32.const -1) (i32.const 23))
                (call $expect (call $display_triangle_fill (i32.const 0) (i32.const 0) (i32.const 9) (i32.const 0) (i32.const 0) (i32.const 9) (i32.const 1)) (i32.const -1) (i32.const 25))
                (call $expect (call $display_text_huge (i32.const 0) (i32.const 0) (i32.const 1024) (i32.const 0xffff)) (i32.const -1) (i32.const 26))",
            // The triangle's three lines are three calls; the size is no
            // secret, and flushing an empty region draws nothing; a shape
            // drawn in boxes stops at its first denied box.
            denials: 23,
            bad: "(call $expect (call $display_text (i32.const 0) (i32.const 0) BAD (i32.const 0xffff)) (i32.const -14) (i32.const 1))
                (call $expect (call $display_bitmap (i32.const 0) (i32.const 0) (i32.const 2) (i32.const 2) BAD (i32.const 8)) (i32.const -14) (i32.const 2))
                (call $expect (call $display_bitmap (i32.const 0) (i32.const 0) (i32.const 2) (i32.const 2) (i32.const 1100) (i32.const 6)) (i32.const -22) (i32.const 3))
                (call $expect (call $display_get_size BAD (i32.const 2004)) (i32.const -14) (i32.const 4))
                (call $expect (call $display_get_size (i32.const 2000) BAD) (i32.const -14) (i32.const 5))
                (call $expect (call $display_circle (i32.const 9) (i32.const 9) (i32.const -1) (i32.const 1)) (i32.const -22) (i32.const 6))
                (call $expect (call $display_rounded_rect_fill (i32.const 0) (i32.const 0) (i32.const 9) (i32.const 9) (i32.const -1) (i32.const 1)) (i32.const -22) (i32.const 7))
                (call $expect (call $display_progress_bar (i32.const 0) (i32.const 0) (i32.const 9) (i32.const 9) (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 0)) (i32.const -22) (i32.const 8))
                (call $expect (call $display_bitmap_transparent (i32.const 0) (i32.const 0) (i32.const 2) (i32.const 2) BAD (i32.const 8) (i32.const 0)) (i32.const -14) (i32.const 9))
                (call $expect (call $display_bitmap_transparent (i32.const 0) (i32.const 0) (i32.const 2) (i32.const 2) (i32.const 1100) (i32.const 6) (i32.const 0)) (i32.const -22) (i32.const 10))
                (call $expect (call $display_bitmap_transparent (i32.const 0) (i32.const 0) (i32.const 0x10000) (i32.const 0x10000) (i32.const 1100) (i32.const -1) (i32.const 0)) (i32.const -22) (i32.const 11))
                (call $expect (call $display_rounded_rect (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 9) (i32.const 2) (i32.const 1)) (i32.const 0) (i32.const 12))",
        },
        Family {
            caps: r#""gpio.read", "gpio.write", "input.read""#,
            granted: "(call $expect (call $gpio_configure (i32.const 2) (i32.const 2)) (i32.const 0) (i32.const 1))
                (call $expect (call $gpio_write (i32.const 2) (i32.const 1)) (i32.const 0) (i32.const 2))
                (call $expect (call $gpio_read (i32.const 0)) (i32.const 1) (i32.const 3))
                (call $expect (call $input_get_buttons) (i32.const 0) (i32.const 4))
                (call $expect (call $input_poll_event (i32.const 2000)) (i32.const 0) (i32.const 5))",
            denied: "(call $expect (call $gpio_configure (i32.const 2) (i32.const 2)) (i32.const -1) (i32.const 1))
                (call $expect (call $gpio_write (i32.const 2) (i32.const 1)) (i32.const -1) (i32.const 2))
                (call $expect (call $gpio_read (i32.const 0)) (i32.const -1) (i32.const 3))
                (call $expect (call $input_get_buttons) (i32.const 0) (i32.const 4))
                (call $expect (call $input_poll_event (i32.const 2000)) (i32.const 0) (i32.const 5))",
            // The buttons read as released: each of the two reads of
            // each input call is denied and counted.
            denials: 7,
            // A pin the board profile does not map.
            bad: "(call $expect (call $gpio_write (i32.const 99) (i32.const 1)) (i32.const -19) (i32.const 1))
                (call $expect (call $gpio_read (i32.const -1)) (i32.const -19) (i32.const 2))
                (call $expect (call $gpio_configure (i32.const 99) (i32.const 2)) (i32.const -19) (i32.const 3))
                (call $expect (call $input_poll_event BAD) (i32.const -14) (i32.const 4))",
        },
        Family {
            caps: r#""hid""#,
            granted: "(call $expect (call $hid_init (i32.const 0) (i32.const 1)) (i32.const 0) (i32.const 1))
                (call $expect (call $hid_enable) (i32.const 0) (i32.const 2))
                (call $expect (call $hid_is_connected) (i32.const 1) (i32.const 3))
                (call $expect (call $hid_set_transport (i32.const 0)) (i32.const 0) (i32.const 4))
                (call $expect (call $hid_set_device_types (i32.const 1)) (i32.const 0) (i32.const 5))
                (call $expect (call $hid_type_string (i32.const 1024)) (i32.const 0) (i32.const 6))
                (call $expect (call $hid_key_release_all) (i32.const 0) (i32.const 7))
                (call $expect (call $hid_mouse_move (i32.const 3) (i32.const -3)) (i32.const 0) (i32.const 8))
                (call $expect (call $hid_mouse_scroll (i32.const 1)) (i32.const 0) (i32.const 9))
                (call $expect (call $hid_gamepad_reset) (i32.const 0) (i32.const 10))
                (call $expect (call $hid_consumer_send (i32.const 0xe9)) (i32.const 0) (i32.const 11))
                (call $expect (call $hid_send_raw_report (i32.const 1) (i32.const 1100) (i32.const 8)) (i32.const 0) (i32.const 12))
                (call $expect (call $hid_disable) (i32.const 0) (i32.const 13))
                (call $expect (call $hid_key_press (i32.const 0xe1)) (i32.const 0) (i32.const 14))
                (call $expect (call $hid_key_press (i32.const 4)) (i32.const 0) (i32.const 15))
                (call $expect (call $hid_key_press (i32.const 4)) (i32.const 0) (i32.const 16))
                (call $expect (call $hid_key_release (i32.const 4)) (i32.const 0) (i32.const 17))
                (call $expect (call $hid_key_release (i32.const 0xe1)) (i32.const 0) (i32.const 18))
                (call $expect (call $hid_mouse_btn_press (i32.const 1)) (i32.const 0) (i32.const 19))
                (call $expect (call $hid_mouse_btn_release (i32.const 1)) (i32.const 0) (i32.const 20))
                (call $expect (call $hid_gamepad_press (i32.const 3)) (i32.const 0) (i32.const 21))
                (call $expect (call $hid_gamepad_set_axis (i32.const 1) (i32.const -32768)) (i32.const 0) (i32.const 22))
                (call $expect (call $hid_gamepad_release (i32.const 1)) (i32.const 0) (i32.const 23))
                (call $expect (call $hid_set_modifiers (i32.const 2)) (i32.const 0) (i32.const 24))
                (call $expect (call $hid_gamepad_send_report (i32.const 1) (i32.const 0) (i32.const 32767) (i32.const -32768) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)) (i32.const 0) (i32.const 25))",
            denied: "(call $expect (call $hid_type_string (i32.const 1024)) (i32.const -1) (i32.const 6))
                (call $expect (call $hid_key_release_all) (i32.const -1) (i32.const 7))
                (call $expect (call $hid_mouse_move (i32.const 3) (i32.const -3)) (i32.const -1) (i32.const 8))
                (call $expect (call $hid_mouse_scroll (i32.const 1)) (i32.const -1) (i32.const 9))
                (call $expect (call $hid_gamepad_reset) (i32.const -1) (i32.const 10))
                (call $expect (call $hid_consumer_send (i32.const 0xe9)) (i32.const -1) (i32.const 11))
                (call $expect (call $hid_send_raw_report (i32.const 1) (i32.const 1100) (i32.const 8)) (i32.const -1) (i32.const 12))
                (call $expect (call $hid_key_press (i32.const 4)) (i32.const -1) (i32.const 15))
                (call $expect (call $hid_key_release (i32.const 4)) (i32.const -1) (i32.const 17))
                (call $expect (call $hid_mouse_btn_press (i32.const 1)) (i32.const -1) (i32.const 19))
                (call $expect (call $hid_mouse_btn_release (i32.const 1)) (i32.const -1) (i32.const 20))
                (call $expect (call $hid_gamepad_press (i32.const 3)) (i32.const -1) (i32.const 21))
                (call $expect (call $hid_gamepad_set_axis (i32.const 1) (i32.const 5)) (i32.const -1) (i32.const 22))
                (call $expect (call $hid_gamepad_release (i32.const 1)) (i32.const -1) (i32.const 23))
                (call $expect (call $hid_set_modifiers (i32.const 2)) (i32.const -1) (i32.const 24))
                (call $expect (call $hid_gamepad_send_report (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)) (i32.const -1) (i32.const 25))",
            // The consumer key's press and release are two calls.
            denials: 17,
            // Out-of-range keys, buttons and axes; a seventh held key.
            bad: "(call $expect (call $hid_type_string BAD) (i32.const -14) (i32.const 1))
                (call $expect (call $hid_send_raw_report (i32.const 1) BAD (i32.const 8)) (i32.const -14) (i32.const 2))
                (call $expect (call $hid_key_press (i32.const 0)) (i32.const -22) (i32.const 3))
                (call $expect (call $hid_key_press (i32.const 0x100)) (i32.const -22) (i32.const 4))
                (call $expect (call $hid_mouse_btn_press (i32.const 8)) (i32.const -22) (i32.const 5))
                (call $expect (call $hid_gamepad_press (i32.const 0x10000)) (i32.const -22) (i32.const 6))
                (call $expect (call $hid_gamepad_set_axis (i32.const 4) (i32.const 0)) (i32.const -22) (i32.const 7))
                (call $expect (call $hid_gamepad_set_axis (i32.const 0) (i32.const 40000)) (i32.const -22) (i32.const 8))
                (call $expect (call $hid_key_press (i32.const 4)) (i32.const 0) (i32.const 9))
                (call $expect (call $hid_key_press (i32.const 5)) (i32.const 0) (i32.const 10))
                (call $expect (call $hid_key_press (i32.const 6)) (i32.const 0) (i32.const 11))
                (call $expect (call $hid_key_press (i32.const 7)) (i32.const 0) (i32.const 12))
                (call $expect (call $hid_key_press (i32.const 8)) (i32.const 0) (i32.const 13))
                (call $expect (call $hid_key_press (i32.const 9)) (i32.const 0) (i32.const 14))
                (call $expect (call $hid_key_press (i32.const 10)) (i32.const -12) (i32.const 15))
                (call $expect (call $hid_set_modifiers (i32.const 0x100)) (i32.const -22) (i32.const 16))
                (call $expect (call $hid_gamepad_send_report (i32.const 0x10000) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)) (i32.const -22) (i32.const 17))",
        },
        Family {
            caps: r#""timer""#,
            granted: "(global.set $fd (call $timer_create))
                (call $expect (global.get $fd) (i32.const 0) (i32.const 1))
                (call $expect (call $timer_start (global.get $fd)) (i32.const 0) (i32.const 2))
                (drop (call $delay (i32.const 5000)))
                (call $expect (call $timer_stop (global.get $fd)) (i32.const 0) (i32.const 3))
                (call $at_least (call $timer_elapsed (global.get $fd)) (i32.const 5) (i32.const 4))
                (call $expect (call $timer_free (global.get $fd)) (i32.const 0) (i32.const 5))
                (call $expect (call $timer_create) (i32.const 0) (i32.const 6))
                (call $expect (call $timer_create) (i32.const 1) (i32.const 7))
                (call $expect (call $timer_create) (i32.const 2) (i32.const 8))
                (call $expect (call $timer_create) (i32.const 3) (i32.const 9))
                (call $expect (call $timer_create) (i32.const -12) (i32.const 10))",
            denied: "",
            denials: 0,
            // Handles that were never created, or out of range.
            bad: "(call $expect (call $timer_start (i32.const 0)) (i32.const -22) (i32.const 1))
                (call $expect (call $timer_elapsed (i32.const 7)) (i32.const -22) (i32.const 2))
                (call $expect (call $timer_stop (i32.const -1)) (i32.const -22) (i32.const 3))
                (call $expect (call $timer_free (i32.const 2)) (i32.const -22) (i32.const 4))",
        },
        Family {
            caps: r#""uart""#,
            granted: "(global.set $fd (call $uart_open (i32.const 0) (i32.const 115200)))
                (call $expect (global.get $fd) (i32.const 1) (i32.const 1))
                (call $expect (call $uart_write (global.get $fd) (i32.const 1024) (i32.const 5)) (i32.const 5) (i32.const 2))
                (call $at_least (call $uart_read (global.get $fd) (i32.const 2000) (i32.const 8)) (i32.const 0) (i32.const 3))
                (call $expect (call $uart_close (global.get $fd)) (i32.const 0) (i32.const 4))",
            denied: "(call $expect (call $uart_write (i32.const 1) (i32.const 1024) (i32.const 5)) (i32.const -1) (i32.const 2))
                (call $expect (call $uart_read (i32.const 1) (i32.const 2000) (i32.const 8)) (i32.const -1) (i32.const 3))",
            denials: 2,
            bad: "(call $expect (call $uart_open (i32.const 5) (i32.const 9600)) (i32.const -19) (i32.const 1))
                (call $expect (call $uart_write (i32.const 1) BAD (i32.const 5)) (i32.const -14) (i32.const 2))
                (call $expect (call $uart_read (i32.const 1) BAD (i32.const 5)) (i32.const -14) (i32.const 3))",
        },
        Family {
            caps: r#""i2c""#,
            granted: "(call $expect (call $i2c_read_reg (i32.const 0) (i32.const 0x48) (i32.const 0) (i32.const 2000) (i32.const 2)) (i32.const 2) (i32.const 1))
                (call $expect (i32.load8_u (i32.const 2000)) (i32.const 0x19) (i32.const 2))
                (call $expect (call $i2c_write_reg (i32.const 0) (i32.const 0x48) (i32.const 1) (i32.const 1100) (i32.const 2)) (i32.const 0) (i32.const 3))",
            denied: "(call $expect (call $i2c_read_reg (i32.const 0) (i32.const 0x48) (i32.const 0) (i32.const 2000) (i32.const 2)) (i32.const -1) (i32.const 1))
                (call $expect (call $i2c_write_reg (i32.const 0) (i32.const 0x48) (i32.const 1) (i32.const 1100) (i32.const 2)) (i32.const -1) (i32.const 3))",
            denials: 2,
            bad: "(call $expect (call $i2c_read_reg (i32.const 0) (i32.const 0x48) (i32.const 0) BAD (i32.const 2)) (i32.const -14) (i32.const 1))
                (call $expect (call $i2c_write_reg (i32.const 0) (i32.const 0x48) (i32.const 0) (i32.const 1100) (i32.const 0x7fffffff)) (i32.const -7) (i32.const 2))",
        },
        Family {
            caps: r#""pwm", "adc""#,
            granted: "(call $expect (call $pwm_set (i32.const 3) (i32.const 1000) (i32.const 50)) (i32.const 0) (i32.const 1))
                (call $expect (call $pwm_disable (i32.const 3)) (i32.const 0) (i32.const 2))
                (call $at_least (call $adc_read (i32.const 0)) (i32.const 0) (i32.const 3))
                (call $at_least (call $adc_read_mv (i32.const 0)) (i32.const 0) (i32.const 4))",
            denied: "(call $expect (call $pwm_set (i32.const 3) (i32.const 1000) (i32.const 50)) (i32.const -1) (i32.const 1))
                (call $expect (call $pwm_disable (i32.const 3)) (i32.const -1) (i32.const 2))
                (call $expect (call $adc_read (i32.const 0)) (i32.const -1) (i32.const 3))
                (call $expect (call $adc_read_mv (i32.const 0)) (i32.const -1) (i32.const 4))",
            denials: 4,
            bad: "(call $expect (call $pwm_set (i32.const 3) (i32.const 1000) (i32.const 101)) (i32.const -22) (i32.const 1))
                (call $expect (call $pwm_set (i32.const 3) (i32.const 1000) (i32.const -1)) (i32.const -22) (i32.const 2))",
        },
        Family {
            // Digests, random bytes and the uptime need no AkiraOS grant
            // in Akira: nothing to deny.
            caps: r#""crypto", "rtc.read""#,
            granted: "(call $expect (call $crypto_sha256 (i32.const 1024) (i32.const 5) (i32.const 2000)) (i32.const 0) (i32.const 1))
                (call $expect (i32.load (i32.const 2000)) (i32.const 0xba4df22c) (i32.const 2))
                (call $expect (call $crypto_hmac_sha256 (i32.const 1056) (i32.const 8) (i32.const 1024) (i32.const 5) (i32.const 2100)) (i32.const 0) (i32.const 3))
                (call $expect (call $crypto_random (i32.const 2200) (i32.const 16)) (i32.const 0) (i32.const 4))
                (call $at_least (call $rtc_get_uptime_ms) (i32.const 0) (i32.const 5))",
            denied: "",
            denials: 0,
            bad: "(call $expect (call $crypto_sha256 BAD (i32.const 5) (i32.const 2000)) (i32.const -14) (i32.const 1))
                (call $expect (call $crypto_sha256 (i32.const 1024) (i32.const 5) BAD) (i32.const -14) (i32.const 2))
                (call $expect (call $crypto_hmac_sha256 (i32.const 1056) (i32.const 8) BAD (i32.const 5) (i32.const 2100)) (i32.const -14) (i32.const 3))
                (call $expect (call $crypto_random (i32.const 2200) (i32.const 5000)) (i32.const -7) (i32.const 4))
                (call $expect (call $crypto_random BAD (i32.const 16)) (i32.const -14) (i32.const 5))",
        },
        Family {
            caps: r#""sensor.read""#,
            // The simulator at 25 °C (`run`): the profile maps Zephyr's
            // ambient temperature, humidity, pressure and acceleration.
            granted: "(call $expect (call $sensor_read (i32.const 13)) (i32.const 25000) (i32.const 1))
                (call $expect (call $sensor_read (i32.const 16)) (i32.const 45000) (i32.const 2))
                (call $expect (call $sensor_read (i32.const 14)) (i32.const 101325) (i32.const 3))
                (call $expect (call $sensor_read (i32.const 2)) (i32.const 9807) (i32.const 4))
                (call $expect (call $sensor_read (i32.const 0)) (i32.const 0) (i32.const 5))",
            denied: "(call $expect (call $sensor_read (i32.const 13)) (i32.const -2147483648) (i32.const 1))",
            denials: 1,
            // Channels the profile does not map.
            bad: "(call $expect (call $sensor_read (i32.const 23)) (i32.const -2147483648) (i32.const 1))
                (call $expect (call $sensor_read (i32.const -1)) (i32.const -2147483648) (i32.const 2))",
        },
        Family {
            caps: r#""rf.transceive""#,
            // The simulator's profile: EU868 up to 14 dBm. No packet was
            // received, so there is no RSSI yet.
            granted: "(call $expect (call $rf_set_frequency (i32.const 869525000)) (i32.const 0) (i32.const 1))
                (call $expect (call $rf_set_power (i32.const 10)) (i32.const 0) (i32.const 2))
                (call $expect (call $rf_send (i32.const 1024) (i32.const 5)) (i32.const 0) (i32.const 3))
                (call $expect (call $rf_get_rssi (i32.const 2000)) (i32.const -61) (i32.const 4))",
            denied: "(call $expect (call $rf_set_frequency (i32.const 869525000)) (i32.const -1) (i32.const 1))
                (call $expect (call $rf_set_power (i32.const 10)) (i32.const -1) (i32.const 2))
                (call $expect (call $rf_send (i32.const 1024) (i32.const 5)) (i32.const -1) (i32.const 3))
                (call $expect (call $rf_get_rssi (i32.const 2000)) (i32.const -61) (i32.const 4))",
            // The last packet's RSSI is the app's own (never received
            // without the grant): no denial.
            denials: 3,
            // Outside the band or above the power (denied, and not kept:
            // a send after them still goes out), bad pointers.
            bad: "(call $expect (call $rf_set_frequency (i32.const 915000000)) (i32.const -1) (i32.const 1))
                (call $expect (call $rf_set_power (i32.const 20)) (i32.const -1) (i32.const 2))
                (call $expect (call $rf_send (i32.const 1024) (i32.const 5)) (i32.const 0) (i32.const 3))
                (call $expect (call $rf_send BAD (i32.const 5)) (i32.const -14) (i32.const 4))
                (call $expect (call $rf_get_rssi BAD) (i32.const -14) (i32.const 5))",
        },
        Family {
            caps: r#""storage.*", "settings.*""#,
            granted: "(global.set $fd (call $storage_open (i32.const 1040) (i32.const 1)))
                (call $at_least (global.get $fd) (i32.const 3) (i32.const 1))
                (call $expect (call $storage_write (global.get $fd) (i32.const 1024) (i32.const 5)) (i32.const 5) (i32.const 2))
                (call $storage_close (global.get $fd))
                (call $expect (call $storage_list (i32.const 1029) (i32.const 2100) (i32.const 64)) (i32.const 7) (i32.const 15))
                (call $expect (i32.load (i32.const 2100)) (i32.const 0x78742e66) (i32.const 16))
                (call $expect (i32.load16_u (i32.const 2104)) (i32.const 0x0a74) (i32.const 17))
                (call $expect (i32.load8_u (i32.const 2106)) (i32.const 0) (i32.const 18))
                (call $expect (call $storage_list (i32.const 1029) (i32.const 2100) (i32.const 6)) (i32.const 1) (i32.const 19))
                (global.set $fd (call $storage_open (i32.const 1040) (i32.const 0)))
                (call $expect (call $storage_read (global.get $fd) (i32.const 2000) (i32.const 16)) (i32.const 5) (i32.const 3))
                (call $expect (i32.load8_u (i32.const 2004)) (i32.const 111) (i32.const 4))
                (call $storage_close (global.get $fd))
                (call $expect (call $storage_delete (i32.const 1040)) (i32.const 0) (i32.const 5))
                (call $expect (call $storage_open (i32.const 1072) (i32.const 0)) (i32.const -2) (i32.const 6))
                (call $expect (call $settings_set (i32.const 1056) (i32.const 1024)) (i32.const 0) (i32.const 7))
                (call $expect (call $settings_get (i32.const 1056) (i32.const 2000) (i32.const 16)) (i32.const 0) (i32.const 8))
                (call $expect (i32.load (i32.const 2000)) (i32.const 0x6c6c6568) (i32.const 9))
                (call $expect (i32.load16_u (i32.const 2004)) (i32.const 0x006f) (i32.const 10))
                (call $expect (call $settings_get (i32.const 1056) (i32.const 2000) (i32.const 3)) (i32.const 0) (i32.const 11))
                (call $expect (i32.load8_u (i32.const 2002)) (i32.const 0) (i32.const 12))
                (call $expect (call $settings_delete (i32.const 1056)) (i32.const 0) (i32.const 13))
                (call $expect (call $settings_get (i32.const 1056) (i32.const 2000) (i32.const 16)) (i32.const -2) (i32.const 14))
                (global.set $fd (call $storage_open (i32.const 1040) (i32.const 1)))
                (call $expect (call $fs_write (global.get $fd) (i32.const 1024) (i32.const 5)) (i32.const 5) (i32.const 20))
                (call $storage_close (global.get $fd))
                (global.set $fd (call $storage_open (i32.const 1040) (i32.const 0)))
                (call $expect (call $fs_read (global.get $fd) (i32.const 2000) (i32.const 16)) (i32.const 5) (i32.const 21))
                (call $storage_close (global.get $fd))
                (call $expect (call $fs_readdir (i32.const 1029) (i32.const 2100) (i32.const 64)) (i32.const 7) (i32.const 22))
                (call $expect (call $fs_unlink (i32.const 1040)) (i32.const 0) (i32.const 23))
                (global.set $fd (call $fs_open (i32.const 1040) (i32.const 9)))
                (call $at_least (global.get $fd) (i32.const 3) (i32.const 24))
                (call $expect (call $fs_write (global.get $fd) (i32.const 1024) (i32.const 5)) (i32.const 5) (i32.const 25))
                (call $expect (call $fs_tell (global.get $fd)) (i32.const 5) (i32.const 26))
                (call $expect (call $fs_seek (global.get $fd) (i32.const 1) (i32.const 0)) (i32.const 1) (i32.const 27))
                (call $expect (call $fs_close (global.get $fd)) (i32.const 0) (i32.const 28))
                (global.set $fd (call $fs_open (i32.const 1040) (i32.const 0)))
                (call $expect (call $fs_seek (global.get $fd) (i32.const -2) (i32.const 2)) (i32.const 3) (i32.const 29))
                (call $expect (call $fs_read (global.get $fd) (i32.const 2000) (i32.const 16)) (i32.const 2) (i32.const 30))
                (call $expect (i32.load16_u (i32.const 2000)) (i32.const 0x6f6c) (i32.const 31))
                (call $expect (call $fs_close (global.get $fd)) (i32.const 0) (i32.const 32))
                (call $expect (call $fs_open (i32.const 1072) (i32.const 0)) (i32.const -2) (i32.const 33))
                (call $expect (call $fs_open (i32.const 1072) (i32.const 1)) (i32.const -2) (i32.const 34))",
            // Without `storage.*` the app's store has no quota and WASI no
            // `files` part: opening is denied, nothing is open, and the
            // store can be read (it is empty) but not written.
            denied: "(call $expect (call $storage_open (i32.const 1040) (i32.const 1)) (i32.const -1) (i32.const 1))
                (call $expect (call $storage_write (i32.const 3) (i32.const 1024) (i32.const 5)) (i32.const -9) (i32.const 2))
                (call $expect (call $storage_read (i32.const 3) (i32.const 2000) (i32.const 16)) (i32.const -9) (i32.const 3))
                (call $storage_close (i32.const 3))
                (call $expect (call $storage_delete (i32.const 1040)) (i32.const -1) (i32.const 5))
                (call $expect (call $storage_list (i32.const 1029) (i32.const 2100) (i32.const 64)) (i32.const -1) (i32.const 6))
                (call $expect (call $fs_write (i32.const 3) (i32.const 1024) (i32.const 5)) (i32.const -9) (i32.const 20))
                (call $expect (call $fs_read (i32.const 3) (i32.const 2000) (i32.const 16)) (i32.const -9) (i32.const 21))
                (call $expect (call $fs_readdir (i32.const 1029) (i32.const 2100) (i32.const 64)) (i32.const -1) (i32.const 22))
                (call $expect (call $fs_unlink (i32.const 1040)) (i32.const -1) (i32.const 23))
                (call $expect (call $fs_open (i32.const 1040) (i32.const 9)) (i32.const -1) (i32.const 24))
                (call $expect (call $fs_tell (i32.const 9)) (i32.const -1) (i32.const 26))
                (call $expect (call $fs_seek (i32.const 9) (i32.const 0) (i32.const 0)) (i32.const -1) (i32.const 27))
                (call $expect (call $fs_close (i32.const 9)) (i32.const -1) (i32.const 28))
                (call $expect (call $settings_set (i32.const 1056) (i32.const 1024)) (i32.const -28) (i32.const 7))
                (call $expect (call $settings_get (i32.const 1056) (i32.const 2000) (i32.const 16)) (i32.const -2) (i32.const 8))
                (call $expect (call $settings_delete (i32.const 1056)) (i32.const -2) (i32.const 13))",
            // Without the `files` part `fs_tell`, `fs_seek` and `fs_close`
            // are denied too (the reads and writes above name descriptor
            // 3, the directory: -EBADF comes first).
            denials: 9,
            bad: "(call $expect (call $storage_open BAD (i32.const 1)) (i32.const -14) (i32.const 1))
                (call $expect (call $fs_unlink BAD) (i32.const -14) (i32.const 13))
                (call $expect (call $fs_readdir BAD (i32.const 2100) (i32.const 8)) (i32.const -14) (i32.const 14))
                (call $expect (call $fs_open BAD (i32.const 0)) (i32.const -14) (i32.const 15))
                (global.set $fd (call $fs_open (i32.const 1040) (i32.const 9)))
                (call $expect (call $fs_seek (global.get $fd) (i32.const -100) (i32.const 0)) (i32.const -22) (i32.const 16))
                (call $expect (call $fs_seek (global.get $fd) (i32.const 0) (i32.const 7)) (i32.const -22) (i32.const 17))
                (call $expect (call $fs_tell (i32.const 77)) (i32.const -9) (i32.const 18))
                (drop (call $fs_close (global.get $fd)))
                (call $expect (call $storage_list BAD (i32.const 2100) (i32.const 8)) (i32.const -14) (i32.const 9))
                (call $expect (call $storage_list (i32.const 1029) BAD (i32.const 8)) (i32.const -14) (i32.const 10))
                (call $expect (call $storage_list (i32.const 1029) (i32.const 2100) (i32.const 0)) (i32.const -22) (i32.const 11))
                (call $expect (call $storage_list (i32.const 1040) (i32.const 2100) (i32.const 8)) (i32.const -2) (i32.const 12))
                (global.set $fd (call $storage_open (i32.const 1040) (i32.const 3)))
                (call $expect (call $storage_write (global.get $fd) BAD (i32.const 5)) (i32.const -14) (i32.const 2))
                (call $expect (call $storage_write (global.get $fd) (i32.const 2000) (i32.const 0x7fffffff)) (i32.const -28) (i32.const 3))
                (call $storage_close (global.get $fd))
                (call $expect (call $storage_read (i32.const 77) (i32.const 2000) (i32.const 4)) (i32.const -9) (i32.const 4))
                (call $expect (call $settings_set BAD (i32.const 1024)) (i32.const -14) (i32.const 5))
                (call $expect (call $settings_get (i32.const 1056) (i32.const 2000) (i32.const 0)) (i32.const -22) (i32.const 6))
                (call $expect (call $settings_get (i32.const 1056) BAD (i32.const 8)) (i32.const -14) (i32.const 7))
                (call $expect (call $storage_delete BAD) (i32.const -14) (i32.const 8))",
        },
    ]
}

#[test]
fn each_call_works_inside_its_grant() {
    for f in families() {
        let (code, denied, out) = run(f.granted, f.caps);
        assert_eq!((code, denied), (0, 0), "{}: check {code} failed (or denied):\n{out}", f.caps);
    }
}

#[test]
fn each_call_outside_its_grant_is_denied_and_counted() {
    for f in families().into_iter().filter(|f| !f.denied.is_empty()) {
        let (code, denied, out) = run(f.denied, "");
        assert_eq!(code, 0, "without {}: check {code} failed:\n{out}", f.caps);
        assert_eq!(denied, f.denials, "without {}: denials:\n{out}", f.caps);
        assert!(out.contains("DENIED"), "{out}");
    }
    assert_eq!(EPERM, -1, "a denial is AkiraOS's -EPERM");
}

#[test]
fn bad_pointers_and_lengths_are_errors_not_traps() {
    for f in families() {
        let body = f.bad.replace("BAD", BAD);
        let (code, _, out) = run(&body, f.caps);
        assert_eq!(code, 0, "{}: check {code} failed:\n{out}", f.caps);
    }
}

/// A shim added without a check here fails this test.
#[test]
fn every_translated_import_is_checked_here() {
    let all: String = families().iter().flat_map(|f| [f.granted, f.denied, f.bad]).collect();
    let unchecked: Vec<&str> = IMPORTS
        .iter()
        .filter(|i| i.support.translated())
        .map(|i| i.name)
        .filter(|n| !all.contains(&format!("${n} ")) && !all.contains(&format!("${n})")))
        .collect();
    assert!(unchecked.is_empty(), "add checks for these: {unchecked:?}");
}

/// `input_poll_event` reports a scripted press and its release to an app
/// that polls for them (each poll a yield, so virtual time moves).
#[test]
fn button_edges_are_polled_as_events() {
    let body = "(block $done (loop $poll
            (br_if $done (i32.eq (global.get $fd) (i32.const 2)))
            (if (i32.eq (call $input_poll_event (i32.add (i32.const 3000) (i32.mul (global.get $fd) (i32.const 8)))) (i32.const 1))
                (then (global.set $fd (i32.add (global.get $fd) (i32.const 1)))))
            (br $poll)))
        (call $expect (i32.load (i32.const 3000)) (i32.const 6) (i32.const 1))
        (call $expect (i32.load (i32.const 3004)) (i32.const 1) (i32.const 2))
        (call $expect (i32.load (i32.const 3008)) (i32.const 6) (i32.const 3))
        (call $expect (i32.load (i32.const 3012)) (i32.const 0) (i32.const 4))";
    let (code, denied, out) = run_pressing(body, r#""input.read""#, &[Duration::from_millis(100)], false);
    assert_eq!((code, denied), (0, 0), "check {code} failed:\n{out}");
    let exited = out.lines().find(|l| l.contains("exited")).unwrap();
    assert!(exited.starts_with("[   0.15"), "after the release (100 ms + 50 ms): {exited}");
}

/// The imports whose signature changed in the SDK's later header are
/// translated with it too.
#[test]
fn later_header_signatures_are_translated() {
    let body = "(call $expect (call $input_poll_event (i32.const 2000) (i32.const 8)) (i32.const 0) (i32.const 1))
        (call $expect (call $input_poll_event (i32.const 2000) (i32.const 4)) (i32.const -22) (i32.const 2))
        (call $expect (call $input_poll_event BAD (i32.const 8)) (i32.const -14) (i32.const 3))
        (call $expect (call $rf_get_rssi) (i32.const -61) (i32.const 4))"
        .replace("BAD", BAD);
    let (code, denied, out) = run_pressing(&body, r#""input.read", "rf.transceive""#, &[], true);
    assert_eq!((code, denied), (0, 0), "check {code} failed:\n{out}");
    // Another signature still names the import.
    let mut other = wat::parse_str(
        r#"(module (import "env" "rf_get_rssi" (func (param i32 i32) (result i32)))
            (memory 1) (global (mut i32) (i32.const 4096))
            (func (export "main") (param i32 i32) (result i32) (i32.const 0)))"#,
    )
    .unwrap();
    other.extend(wasm_encoder_custom(".akira.manifest", br#"{"name":"t","version":"1.0.0","capabilities":[]}"#));
    let e = translate(&other, &Profile::simulator()).unwrap_err().to_string();
    assert!(e.contains("rf_get_rssi") && e.contains("signature"), "{e}");
}

/// The pixels the app's `akira:display.rect` calls covered.
fn drawn(body: &str) -> std::collections::BTreeSet<(i32, i32)> {
    let (code, denied, out) = run(body, r#""display.write""#);
    assert_eq!((code, denied), (0, 0), "{out}");
    let mut pixels = std::collections::BTreeSet::new();
    for line in out.lines() {
        let Some((_, rect)) = line.split_once("display rect ") else { continue };
        let (size, at) = rect.split_once(" at (").unwrap();
        let (w, h) = size.split_once('x').unwrap();
        let (x, y) = at.trim_end_matches(')').split_once(", ").unwrap();
        let [w, h, x, y]: [i32; 4] = [w, h, x, y].map(|v| v.parse().unwrap());
        pixels.extend((x..x + w).flat_map(|px| (y..y + h).map(move |py| (px, py))));
    }
    pixels
}

/// The shapes Akira has no primitive for are drawn right, and cut to the
/// screen.
#[test]
fn shapes_drawn_in_boxes_cover_the_right_pixels() {
    // A radius-2 circle at (10, 10): its ring, then its disc.
    let ring: Vec<(i32, i32)> = vec![
        (8, 9),
        (8, 10),
        (8, 11),
        (9, 8),
        (9, 12),
        (10, 8),
        (10, 12),
        (11, 8),
        (11, 12),
        (12, 9),
        (12, 10),
        (12, 11),
    ];
    let circle = drawn("(drop (call $display_circle (i32.const 10) (i32.const 10) (i32.const 2) (i32.const 1)))");
    assert_eq!(circle.into_iter().collect::<Vec<_>>(), ring);
    let disc = drawn("(drop (call $display_circle_fill (i32.const 10) (i32.const 10) (i32.const 2) (i32.const 1)))");
    let inside = |(x, y): (i32, i32)| (x - 10) * (x - 10) + (y - 10) * (y - 10) <= 5;
    let want: std::collections::BTreeSet<_> =
        (8..=12).flat_map(|x| (8..=12).map(move |y| (x, y))).filter(|p| inside(*p)).collect();
    assert_eq!(disc, want);
    // Partly off the screen: only its visible quarter, no denial.
    let corner = drawn("(drop (call $display_circle_fill (i32.const 0) (i32.const 0) (i32.const 2) (i32.const 1)))");
    assert_eq!(corner, want.iter().map(|(x, y)| (x - 10, y - 10)).filter(|(x, y)| *x >= 0 && *y >= 0).collect());
    // A 10 x 6 rounded rectangle, radius 2, at (1, 1): the corner pixel
    // of each 3 x 3 corner cut (as from a radius-2 disc), its edges whole.
    let filled = drawn(
        "(drop (call $display_rounded_rect_fill (i32.const 1) (i32.const 1) (i32.const 10) (i32.const 6) (i32.const 2) (i32.const 1)))",
    );
    assert_eq!(filled.len(), 10 * 6 - 4, "{filled:?}");
    assert!(!filled.contains(&(1, 1)) && !filled.contains(&(10, 6)) && filled.contains(&(3, 1)));
    let outline = drawn(
        "(drop (call $display_rounded_rect (i32.const 1) (i32.const 1) (i32.const 10) (i32.const 6) (i32.const 2) (i32.const 1)))",
    );
    assert!(outline.is_subset(&filled) && outline.contains(&(1, 3)) && !outline.contains(&(5, 3)), "{outline:?}");
    // A bar 30 % done: its background, 15 of 50 pixels, an outline.
    let (_, _, out) = run(
        "(drop (call $display_progress_bar (i32.const 0) (i32.const 0) (i32.const 50) (i32.const 8) (i32.const 30) (i32.const 100) (i32.const 0xffff) (i32.const 0)))",
        r#""display.write""#,
    );
    for rect in ["display rect 50x8 at (0, 0)", "display rect 15x8 at (0, 0)"] {
        assert!(out.contains(rect), "{rect}: {out}");
    }
    // A right triangle with legs of 5 at (2, 2), listed in any order:
    // rows 2..=6, each from x = 2 to its hypotenuse; one flat on a row.
    let want: std::collections::BTreeSet<_> = (2..=6).flat_map(|y| (2..=8 - y).map(move |x| (x, y))).collect();
    for order in [
        "2) (i32.const 2) (i32.const 6) (i32.const 2) (i32.const 2) (i32.const 6",
        "2) (i32.const 6) (i32.const 6) (i32.const 2) (i32.const 2) (i32.const 2",
    ] {
        let body = format!("(drop (call $display_triangle_fill (i32.const {order}) (i32.const 1)))");
        assert_eq!(drawn(&body), want, "{order}");
    }
    let flat = drawn(
        "(drop (call $display_triangle_fill (i32.const 7) (i32.const 3) (i32.const 1) (i32.const 3) (i32.const 4) (i32.const 3) (i32.const 1)))",
    );
    assert_eq!(flat, (1..=7).map(|x| (x, 3)).collect());
    // A colour-keyed 2 x 2 bitmap: the key's pixels are not drawn.
    let keyed = drawn(
        "(i32.store (i32.const 3000) (i32.const 0x0000f800)) (i32.store (i32.const 3004) (i32.const 0xf8000000))
        (drop (call $display_bitmap_transparent (i32.const 5) (i32.const 5) (i32.const 2) (i32.const 2) (i32.const 3000) (i32.const 8) (i32.const 0)))",
    );
    assert_eq!(keyed.into_iter().collect::<Vec<_>>(), [(5, 5), (6, 6)]);
}

/// `display_number` draws the decimal digits of any int.
#[test]
fn numbers_are_drawn_as_text() {
    let (code, _, out) = run(
        "(drop (call $display_number (i32.const 0) (i32.const 0) (i32.const -2147483648) (i32.const 1)))
        (drop (call $display_number (i32.const 0) (i32.const 20) (i32.const 0) (i32.const 1)))",
        r#""display.write""#,
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("display text 66x10 at (0, 0)"), "11 characters: {out}");
    assert!(out.contains("display text 6x10 at (0, 20)"), "one: {out}");
}

/// The HID shims keep what the app holds: each report carries the keys,
/// buttons and sticks still held.
#[test]
fn hid_reports_carry_what_the_app_holds() {
    let body = "(drop (call $hid_key_press (i32.const 0xe1)))
        (drop (call $hid_key_press (i32.const 4)))
        (drop (call $hid_key_press (i32.const 5)))
        (drop (call $hid_key_release (i32.const 4)))
        (drop (call $hid_key_release_all))
        (drop (call $hid_mouse_btn_press (i32.const 1)))
        (drop (call $hid_mouse_move (i32.const 3) (i32.const -3)))
        (drop (call $hid_mouse_btn_release (i32.const 1)))
        (drop (call $hid_gamepad_press (i32.const 5)))
        (drop (call $hid_gamepad_set_axis (i32.const 0) (i32.const 32767)))
        (drop (call $hid_gamepad_set_axis (i32.const 3) (i32.const -32768)))
        (drop (call $hid_gamepad_release (i32.const 1)))";
    let (code, denied, out) = run(body, r#""hid""#);
    assert_eq!((code, denied), (0, 0), "{out}");
    let reports: Vec<&str> = out.lines().filter_map(|l| l.split_once(" hid ").map(|(_, r)| r)).collect();
    assert_eq!(
        reports,
        [
            // Shift, then A and B with it, A released, all released.
            "keyboard [02 00 00 00 00 00 00 00]",
            "keyboard [02 00 04 00 00 00 00 00] types 'A'",
            "keyboard [02 00 04 05 00 00 00 00] types 'B'",
            "keyboard [02 00 05 00 00 00 00 00]",
            "keyboard [00 00 00 00 00 00 00 00]",
            // A drag: the left button held while moving.
            "mouse [01 00 00 00]",
            "mouse [01 03 fd 00]",
            "mouse [00 00 00 00]",
            // Buttons 1 and 3; x full right, ry full up (-32768 is -127).
            "gamepad [05 00 00 00 00 00]",
            "gamepad [05 00 7f 00 00 00]",
            "gamepad [05 00 7f 00 00 81]",
            "gamepad [04 00 7f 00 00 81]",
        ],
        "{out}"
    );
}
