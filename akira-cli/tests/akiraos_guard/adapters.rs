//! The adapters over Akira modules that serve AkiraOS calls with another
//! shape: the allocator over the app's own heap, Unix time over WASI's
//! realtime clock, file metadata over WASI's files, the LoRa settings and
//! receiving over `akira:rf`, the d-pad over `akira:hid`'s gamepad, IPC
//! topics and other apps named by string over `akira:ipc` and `akira:app`
//! (the simulator's profile names the topics `ping` and `pong`, at 1120
//! and 1136 in the test apps, and the app `blinky`, at 1152).

use super::{Family, run, run_beside};

/// The simulator's wall clock starts at 2026-01-01 00:00 UTC.
const NEW_YEAR_2026: &str = "1767225600";

pub(super) fn families() -> Vec<Family> {
    vec![
        Family {
            caps: "",
            // The test apps' stack ends at 8192: the heap is past it.
            granted: "(global.set $fd (call $mem_alloc (i32.const 100)))
                (call $at_least (global.get $fd) (i32.const 8200) (i32.const 1))
                (call $expect (i32.and (global.get $fd) (i32.const 7)) (i32.const 0) (i32.const 2))
                (i32.store (global.get $fd) (i32.const 0x12345678))
                (local.set 0 (call $mem_alloc (i32.const 100)))
                (call $at_least (local.get 0) (i32.add (global.get $fd) (i32.const 100)) (i32.const 3))
                (call $expect (i32.load (global.get $fd)) (i32.const 0x12345678) (i32.const 4))
                (call $mem_free (global.get $fd))
                (call $expect (call $mem_alloc (i32.const 50)) (global.get $fd) (i32.const 5))
                (call $expect (call $mem_alloc (i32.const 100000)) (i32.const 0) (i32.const 6))
                (call $expect (call $mem_alloc (i32.const 0)) (i32.const 0) (i32.const 7))
                (call $mem_free (global.get $fd))
                (call $mem_free (local.get 0))
                (call $expect (call $mem_alloc (i32.const 3000)) (global.get $fd) (i32.const 8))",
            denied: "",
            denials: 0,
            // Pointers the allocator did not return change nothing; a
            // header the app overwrote ends the walk.
            bad: "(call $mem_free BAD)
                (call $mem_free (i32.const 0))
                (call $mem_free (i32.const 1024))
                (call $expect (call $mem_alloc (i32.const -1)) (i32.const 0) (i32.const 1))
                (call $expect (call $mem_alloc (i32.const 0x7fffffff)) (i32.const 0) (i32.const 2))
                (global.set $fd (call $mem_alloc (i32.const 16)))
                (call $at_least (global.get $fd) (i32.const 8200) (i32.const 3))
                (i32.store (i32.sub (global.get $fd) (i32.const 8)) (i32.const 3))
                (call $expect (call $mem_alloc (i32.const 16)) (i32.const 0) (i32.const 4))
                (call $mem_free (global.get $fd))",
        },
        Family {
            caps: r#""rtc.read""#,
            granted: "(call $at_least (call $rtc_get_unix_time) (i32.const NEW_YEAR) (i32.const 1))",
            denied: "(call $expect (call $rtc_get_unix_time) (i32.const -1) (i32.const 1))",
            denials: 1,
            bad: "",
        },
        Family {
            caps: r#""fs.read", "fs.write""#,
            granted: "(global.set $fd (call $fs_open (i32.const 1040) (i32.const 9)))
                (drop (call $fs_write (global.get $fd) (i32.const 1024) (i32.const 5)))
                (drop (call $fs_close (global.get $fd)))
                (i64.store (i32.const 2008) (i64.const -1))
                (call $expect (call $fs_stat (i32.const 1040) (i32.const 2000)) (i32.const 0) (i32.const 1))
                (call $expect (i32.load (i32.const 2000)) (i32.const 5) (i32.const 2))
                (call $expect (i32.load (i32.const 2004)) (i32.const 0) (i32.const 3))
                (call $expect (i32.wrap_i64 (i64.load (i32.const 2008))) (i32.const 0) (i32.const 4))
                (i32.store16 (i32.const 2100) (i32.const 0x2e))
                (call $expect (call $fs_stat (i32.const 2100) (i32.const 2000)) (i32.const 0) (i32.const 5))
                (call $expect (i32.load (i32.const 2004)) (i32.const 1) (i32.const 6))
                (call $expect (call $fs_stat (i32.const 1072) (i32.const 2000)) (i32.const -2) (i32.const 7))",
            denied: "(call $expect (call $fs_stat (i32.const 1040) (i32.const 2000)) (i32.const -1) (i32.const 1))",
            denials: 1,
            bad: "(call $expect (call $fs_stat BAD (i32.const 2000)) (i32.const -14) (i32.const 1))
                (call $expect (call $fs_stat (i32.const 1040) BAD) (i32.const -14) (i32.const 2))",
        },
        Family {
            caps: r#""rf.transceive""#,
            // Nothing is on the air: receiving times out.
            granted: "(call $expect (call $rf_set_spreading_factor (i32.const 9)) (i32.const 0) (i32.const 1))
                (call $expect (call $rf_set_bandwidth (i32.const 250000)) (i32.const 0) (i32.const 2))
                (call $expect (call $rf_set_coding_rate (i32.const 8)) (i32.const 0) (i32.const 3))
                (call $expect (call $rf_set_modulation (i32.const 5)) (i32.const 0) (i32.const 4))
                (call $expect (call $rf_receive (i32.const 2000) (i32.const 64) (i32.const 0)) (i32.const -110) (i32.const 5))
                (call $expect (call $rf_recv_pop (i32.const 2000) (i32.const 64) (i32.const 0)) (i32.const -42) (i32.const 6))
                (call $expect (call $rf_send (i32.const 1024) (i32.const 5)) (i32.const 0) (i32.const 7))",
            // Choosing LoRa touches no radio.
            denied: "(call $expect (call $rf_set_spreading_factor (i32.const 9)) (i32.const -1) (i32.const 1))
                (call $expect (call $rf_set_bandwidth (i32.const 250000)) (i32.const -1) (i32.const 2))
                (call $expect (call $rf_set_coding_rate (i32.const 8)) (i32.const -1) (i32.const 3))
                (call $expect (call $rf_set_modulation (i32.const 5)) (i32.const 0) (i32.const 4))
                (call $expect (call $rf_receive (i32.const 2000) (i32.const 64) (i32.const 0)) (i32.const -1) (i32.const 5))
                (call $expect (call $rf_recv_pop (i32.const 2000) (i32.const 64) (i32.const 0)) (i32.const -1) (i32.const 6))",
            denials: 5,
            // Settings the radio refuses are not kept: a send after them
            // still goes out.
            bad: "(call $expect (call $rf_set_spreading_factor (i32.const 6)) (i32.const -22) (i32.const 1))
                (call $expect (call $rf_set_spreading_factor (i32.const 0)) (i32.const -22) (i32.const 2))
                (call $expect (call $rf_set_bandwidth (i32.const 123)) (i32.const -22) (i32.const 3))
                (call $expect (call $rf_set_coding_rate (i32.const 9)) (i32.const -22) (i32.const 4))
                (call $expect (call $rf_set_modulation (i32.const 2)) (i32.const -134) (i32.const 5))
                (call $expect (call $rf_receive BAD (i32.const 64) (i32.const 0)) (i32.const -14) (i32.const 6))
                (call $expect (call $rf_recv_pop BAD (i32.const 64) (i32.const 0)) (i32.const -14) (i32.const 7))
                (call $expect (call $rf_send (i32.const 1024) (i32.const 5)) (i32.const 0) (i32.const 8))",
        },
        Family {
            caps: r#""ipc", "app.control""#,
            // The app hears its own messages; `blinky` is not installed.
            granted: "(call $expect (call $msg_subscribe (i32.const 1120)) (i32.const 0) (i32.const 1))
                (call $expect (call $msg_publish (i32.const 1120) (i32.const 1024) (i32.const 5)) (i32.const 1) (i32.const 2))
                (call $expect (call $msg_pending (i32.const 1120)) (i32.const 1) (i32.const 3))
                (call $expect (call $msg_try_recv (i32.const 1120) (i32.const 2000) (i32.const 64)) (i32.const 5) (i32.const 4))
                (call $expect (i32.load (i32.const 2000)) (i32.const 0x6c6c6568) (i32.const 5))
                (call $expect (call $msg_try_recv (i32.const 1120) (i32.const 2000) (i32.const 64)) (i32.const -11) (i32.const 6))
                (call $expect (call $msg_recv (i32.const 1120) (i32.const 2000) (i32.const 64) (i32.const 10)) (i32.const -11) (i32.const 7))
                (call $expect (call $msg_publish (i32.const 1120) (i32.const 1056) (i32.const 8)) (i32.const 1) (i32.const 8))
                (call $expect (call $msg_recv (i32.const 1120) (i32.const 2000) (i32.const 64) (i32.const -1)) (i32.const 8) (i32.const 9))
                (call $expect (call $msg_unsubscribe (i32.const 1120)) (i32.const 0) (i32.const 10))
                (call $expect (call $msg_publish (i32.const 1120) (i32.const 1024) (i32.const 5)) (i32.const 0) (i32.const 11))
                (call $expect (call $msg_publish (i32.const 1136) (i32.const 1024) (i32.const 5)) (i32.const 0) (i32.const 12))
                (call $expect (call $msg_pending (i32.const 1136)) (i32.const 0) (i32.const 13))
                (call $expect (call $app_get_status (i32.const 1152)) (i32.const -2) (i32.const 14))
                (call $expect (call $app_start (i32.const 1152)) (i32.const -2) (i32.const 15))
                (call $expect (call $app_stop (i32.const 1152)) (i32.const -2) (i32.const 16))
                (call $expect (call $app_switch (i32.const 1152)) (i32.const -2) (i32.const 17))
                (i32.store8 (i32.const 2000) (i32.const 7))
                (call $expect (call $app_list (i32.const 2000) (i32.const 64)) (i32.const 0) (i32.const 18))
                (call $expect (i32.load8_u (i32.const 2000)) (i32.const 0) (i32.const 19))",
            denied: "(call $expect (call $msg_subscribe (i32.const 1120)) (i32.const -1) (i32.const 1))
                (call $expect (call $msg_unsubscribe (i32.const 1120)) (i32.const -1) (i32.const 2))
                (call $expect (call $msg_publish (i32.const 1120) (i32.const 1024) (i32.const 5)) (i32.const -1) (i32.const 3))
                (call $expect (call $msg_recv (i32.const 1120) (i32.const 2000) (i32.const 64) (i32.const 0)) (i32.const -1) (i32.const 4))
                (call $expect (call $msg_try_recv (i32.const 1120) (i32.const 2000) (i32.const 64)) (i32.const -1) (i32.const 5))
                (call $expect (call $msg_pending (i32.const 1120)) (i32.const -1) (i32.const 6))
                (call $expect (call $app_get_status (i32.const 1152)) (i32.const -1) (i32.const 7))
                (call $expect (call $app_start (i32.const 1152)) (i32.const -1) (i32.const 8))
                (call $expect (call $app_stop (i32.const 1152)) (i32.const -1) (i32.const 9))
                (call $expect (call $app_switch (i32.const 1152)) (i32.const -1) (i32.const 10))
                (call $expect (call $app_list (i32.const 2000) (i32.const 64)) (i32.const -1) (i32.const 11))",
            denials: 11,
            // Names the profile does not list are denied as outside the
            // grant; a message beyond the simulator's 64-byte slots.
            bad: "(call $expect (call $msg_subscribe BAD) (i32.const -14) (i32.const 1))
                (call $expect (call $msg_publish BAD (i32.const 1024) (i32.const 5)) (i32.const -14) (i32.const 2))
                (call $expect (call $msg_publish (i32.const 1120) BAD (i32.const 5)) (i32.const -14) (i32.const 3))
                (call $expect (call $msg_publish (i32.const 1120) (i32.const 1024) (i32.const 65)) (i32.const -7) (i32.const 4))
                (call $expect (call $msg_recv BAD (i32.const 2000) (i32.const 64) (i32.const 0)) (i32.const -14) (i32.const 5))
                (call $expect (call $msg_try_recv (i32.const 1120) BAD (i32.const 64)) (i32.const -14) (i32.const 6))
                (call $expect (call $msg_pending BAD) (i32.const -14) (i32.const 7))
                (call $expect (call $app_start BAD) (i32.const -14) (i32.const 8))
                (call $expect (call $app_get_status BAD) (i32.const -14) (i32.const 9))
                (call $expect (call $msg_subscribe (i32.const 1072)) (i32.const -1) (i32.const 10))
                (call $expect (call $msg_recv (i32.const 1072) (i32.const 2000) (i32.const 64) (i32.const 0)) (i32.const -1) (i32.const 11))
                (call $expect (call $app_stop (i32.const 1072)) (i32.const -1) (i32.const 12))
                (call $expect (call $app_list BAD (i32.const 64)) (i32.const -14) (i32.const 13))
                (call $expect (call $app_list (i32.const 2000) (i32.const 0x7fffffff)) (i32.const -14) (i32.const 14))",
        },
        Family {
            caps: r#""ble.scan""#,
            // Nothing advertises: no report.
            granted: "(call $expect (call $ble_scan_start (i32.const 1)) (i32.const 0) (i32.const 1))
                (call $expect (call $ble_scan_pop (i32.const 2000) (i32.const 59)) (i32.const 0) (i32.const 2))
                (call $expect (call $ble_scan_stop) (i32.const 0) (i32.const 3))",
            denied: "(call $expect (call $ble_scan_start (i32.const 1)) (i32.const -1) (i32.const 1))
                (call $expect (call $ble_scan_pop (i32.const 2000) (i32.const 59)) (i32.const -1) (i32.const 2))
                (call $expect (call $ble_scan_stop) (i32.const -1) (i32.const 3))",
            denials: 3,
            // Popping while not scanning is invalid.
            bad: "(call $expect (call $ble_scan_pop BAD (i32.const 59)) (i32.const -14) (i32.const 1))
                (call $expect (call $ble_scan_pop (i32.const 2000) (i32.const 58)) (i32.const -22) (i32.const 2))
                (call $expect (call $ble_scan_pop (i32.const 2000) (i32.const 59)) (i32.const -22) (i32.const 3))",
        },
        Family {
            caps: r#""hid""#,
            // Shortcuts named `ping` (Ctrl+C) and not `pong`.
            granted: "(call $expect (call $hid_gamepad_set_dpad (i32.const 3)) (i32.const 0) (i32.const 1))
                (call $expect (call $hid_gamepad_set_dpad (i32.const 0)) (i32.const 0) (i32.const 2))
                (call $expect (call $hid_action_register (i32.const 1120) (i32.const 1) (i32.const 6)) (i32.const 0) (i32.const 3))
                (call $expect (call $hid_action_trigger (i32.const 1120)) (i32.const 0) (i32.const 4))
                (call $expect (call $hid_action_trigger (i32.const 1136)) (i32.const -2) (i32.const 5))",
            // Registering sends nothing: only the trigger reaches the guard.
            denied: "(call $expect (call $hid_gamepad_set_dpad (i32.const 3)) (i32.const -1) (i32.const 1))
                (call $expect (call $hid_action_register (i32.const 1120) (i32.const 1) (i32.const 6)) (i32.const 0) (i32.const 2))
                (call $expect (call $hid_action_trigger (i32.const 1120)) (i32.const -1) (i32.const 3))",
            denials: 2,
            // Nine names (the tails of `missing.txt`): eight slots.
            bad: "(call $expect (call $hid_gamepad_set_dpad (i32.const 9)) (i32.const -22) (i32.const 1))
                (call $expect (call $hid_gamepad_set_dpad (i32.const -1)) (i32.const -22) (i32.const 2))
                (call $expect (call $hid_action_register BAD (i32.const 1) (i32.const 6)) (i32.const -14) (i32.const 3))
                (call $expect (call $hid_action_register (i32.const 1120) (i32.const 0x100) (i32.const 6)) (i32.const -22) (i32.const 4))
                (call $expect (call $hid_action_register (i32.const 1120) (i32.const 1) (i32.const 0)) (i32.const -22) (i32.const 5))
                (call $expect (call $hid_action_register (i32.const 1029) (i32.const 1) (i32.const 6)) (i32.const -22) (i32.const 6))
                (call $expect (call $hid_action_trigger BAD) (i32.const -14) (i32.const 7))
                (local.set 0 (i32.const 1072))
                (block (loop
                    (br_if 1 (i32.ge_u (local.get 0) (i32.const 1080)))
                    (call $expect (call $hid_action_register (local.get 0) (i32.const 0) (i32.const 4)) (i32.const 0) (i32.const 8))
                    (local.set 0 (i32.add (local.get 0) (i32.const 1)))
                    (br 0)))
                (call $expect (call $hid_action_register (i32.const 1080) (i32.const 0) (i32.const 4)) (i32.const -12) (i32.const 9))
                (call $expect (call $hid_action_register (i32.const 1072) (i32.const 0) (i32.const 5)) (i32.const 0) (i32.const 10))",
        },
    ]
    .into_iter()
    .map(|f| Family { granted: leak(f.granted.replace("NEW_YEAR", NEW_YEAR_2026)), ..f })
    .collect()
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// The d-pad moves the left stick to full deflection, N clockwise to NW.
#[test]
fn dpad_directions_move_the_left_stick() {
    let body = "(drop (call $hid_gamepad_set_dpad (i32.const 2)))
        (drop (call $hid_gamepad_set_dpad (i32.const 7)))
        (drop (call $hid_gamepad_set_dpad (i32.const 0)))";
    let (code, denied, out) = run(body, r#""hid""#);
    assert_eq!((code, denied), (0, 0), "{out}");
    let reports: Vec<&str> = out.lines().filter_map(|l| l.split_once(" hid ").map(|(_, r)| r)).collect();
    assert_eq!(reports, ["gamepad [00 00 7f 81 00 00]", "gamepad [00 00 81 00 00 00]", "gamepad [00 00 00 00 00 00]"]);
}

/// A named shortcut presses its modifiers and key, then releases them.
#[test]
fn hid_shortcuts_press_and_release_their_keys() {
    let body = "(drop (call $hid_action_register (i32.const 1120) (i32.const 1) (i32.const 6)))
        (drop (call $hid_key_press (i32.const 4)))
        (drop (call $hid_action_trigger (i32.const 1120)))";
    let (code, denied, out) = run(body, r#""hid""#);
    assert_eq!((code, denied), (0, 0), "{out}");
    let reports: Vec<&str> = out.lines().filter_map(|l| l.split_once(" hid ").map(|(_, r)| r)).collect();
    // Ctrl+C, then back to the A the app holds.
    assert_eq!(reports.len(), 3, "{out}");
    assert!(reports[1].starts_with("keyboard [01 00 06 00 00 00 00 00]"), "{out}");
    assert!(reports[2].starts_with("keyboard [00 00 04 00 00 00 00 00]"), "{out}");
}

/// The allocator hands out blocks until the heap is full, never two that
/// overlap, and as many again once they are all freed.
#[test]
fn the_allocator_fills_and_empties_the_heap() {
    // Blocks of 40 bytes into a 4 KiB heap: their pointers at 4096 (below
    // the stack), each block holding its number. `$fd` counts them, local
    // 0 walks them, local 1 is the newest.
    let fill = "(global.set $fd (i32.const 0))
        (block (loop
            (local.set 1 (call $mem_alloc (i32.const 40)))
            (br_if 1 (i32.eqz (local.get 1)))
            (i32.store (local.get 1) (global.get $fd))
            (i32.store (i32.add (i32.const 4096) (i32.shl (global.get $fd) (i32.const 2))) (local.get 1))
            (global.set $fd (i32.add (global.get $fd) (i32.const 1)))
            (br 0)))";
    let walk = |each: &str| {
        format!(
            "(local.set 0 (i32.const 0))
            (block (loop
                (br_if 1 (i32.ge_u (local.get 0) (global.get $fd)))
                (local.set 1 (i32.load (i32.add (i32.const 4096) (i32.shl (local.get 0) (i32.const 2)))))
                {each}
                (local.set 0 (i32.add (local.get 0) (i32.const 1)))
                (br 0)))"
        )
    };
    let body = format!(
        "{fill}
        (call $at_least (global.get $fd) (i32.const 80) (i32.const 1))
        {}
        (i32.store (i32.const 4000) (global.get $fd))
        {}
        {fill}
        (call $expect (global.get $fd) (i32.load (i32.const 4000)) (i32.const 3))",
        walk("(call $expect (i32.load (local.get 1)) (local.get 0) (i32.const 2))"),
        walk("(call $mem_free (local.get 1))"),
    );
    let (code, denied, out) = run(&body, "");
    assert_eq!((code, denied), (0, 0), "check {code} failed:\n{out}");
}

/// An Akira app (to run beside the test app): `wat` with a manifest
/// naming it `name` and granting `capabilities` (TOML lines).
fn akira_app(wat: &str, name: &str, capabilities: &str) -> Vec<u8> {
    let wasm = wat::parse_str(wat).unwrap();
    let toml = format!("[app]\nname = \"{name}\"\nversion = \"1.0.0\"\n[capabilities]\n{capabilities}\n");
    let manifest = akira_caps::toml_source::manifest_from_toml(&toml).unwrap();
    akira_build::embed_manifest(&wasm, &manifest).unwrap()
}

/// `app.control` over the app the profile names: its status, stopped and
/// started again by name while it runs beside the test app, and listed
/// (`blinky:RUNNING`); an app the profile does not name is denied.
#[test]
fn apps_named_by_the_profile_are_queried_stopped_and_started() {
    let blinky = akira_app(
        r#"(module (import "akira:timer" "sleep_us" (func $sleep (param i64) (result i32)))
            (func (export "akira_main") (drop (call $sleep (i64.const 1000000)))))"#,
        "blinky",
        "timer = true",
    );
    let body = "(call $expect (call $app_get_status (i32.const 1152)) (i32.const 2) (i32.const 1))
        (call $expect (call $app_stop (i32.const 1152)) (i32.const 0) (i32.const 2))
        (call $expect (call $app_get_status (i32.const 1152)) (i32.const 3) (i32.const 3))
        (call $expect (call $app_switch (i32.const 1152)) (i32.const 0) (i32.const 4))
        (call $expect (call $app_get_status (i32.const 1152)) (i32.const 2) (i32.const 5))
        (call $expect (call $app_start (i32.const 1072)) (i32.const -1) (i32.const 6))
        (call $expect (call $app_list (i32.const 2000) (i32.const 64)) (i32.const 1) (i32.const 7))
        (call $expect (i32.load (i32.const 2000)) (i32.const 0x6e696c62) (i32.const 8))
        (call $expect (i32.load8_u (i32.const 2007)) (i32.const 82) (i32.const 9))
        (call $expect (i32.load8_u (i32.const 2014)) (i32.const 10) (i32.const 10))
        (call $expect (i32.load8_u (i32.const 2015)) (i32.const 0) (i32.const 11))
        (call $expect (call $app_list (i32.const 2000) (i32.const 10)) (i32.const 0) (i32.const 12))";
    let (code, denied, out) = run_beside(body, r#""app.control""#, &[], false, &[blinky]);
    assert_eq!((code, denied), (0, 1), "check {code} failed:\n{out}");
    assert!(out.contains("blinky"), "{out}");
}

/// An AkiraOS scanner pops the advertisements of an Akira beacon beside it
/// in AkiraOS's report layout, its local name found in the data.
#[test]
fn ble_scan_reports_come_in_akiraos_layout() {
    let beacon = akira_app(
        r#"(module
            (import "akira:ble" "advertise" (func $adv (param i32 i32 i32 i32 i32) (result i32)))
            (import "akira:timer" "sleep_us" (func $sleep (param i64) (result i32)))
            (memory (export "memory") 1)
            (data (i32.const 0) "\02\01\06\05\09akir\03\ff\01\02")
            (func (export "akira_main")
                (drop (call $adv (i32.const 0) (i32.const 13) (i32.const 0) (i32.const 0) (i32.const 100)))
                (drop (call $sleep (i64.const 1000000)))))"#,
        "beacon",
        "timer = true\nble = [\"advertise\"]",
    );
    // RSSI -50 dBm (0xce); the name `akir`, NUL-terminated; 13 bytes of
    // data, the last (2) at 28 + 12.
    // It polls, as AkiraOS apps do (each poll yields).
    let body = "(call $expect (call $ble_scan_start (i32.const 0)) (i32.const 0) (i32.const 1))
        (block (loop
            (br_if 1 (call $ble_scan_pop (i32.const 2000) (i32.const 64)))
            (br 0)))
        (call $expect (i32.load8_u (i32.const 2006)) (i32.const 0xce) (i32.const 3))
        (call $expect (i32.load (i32.const 2007)) (i32.const 0x72696b61) (i32.const 4))
        (call $expect (i32.load8_u (i32.const 2011)) (i32.const 0) (i32.const 5))
        (call $expect (i32.load8_u (i32.const 2027)) (i32.const 13) (i32.const 6))
        (call $expect (i32.load8_u (i32.const 2040)) (i32.const 2) (i32.const 7))
        (call $expect (call $ble_scan_stop) (i32.const 0) (i32.const 8))";
    let (code, denied, out) = run_beside(body, r#""ble.scan""#, &[], false, &[beacon]);
    assert_eq!((code, denied), (0, 0), "check {code} failed:\n{out}");
}
