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
#[path = "akiraos_guard/direct.rs"]
mod direct;
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
    let mut all = direct::families();
    all.extend(adapters::families());
    all.extend(gatt::families());
    all
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
