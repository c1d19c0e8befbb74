//! The BLE GATT peripheral adapters (`ble_service_create` ...
//! `ble_event_pop`) over `akira:ble`'s GATT server: UUID strings parsed
//! by the shim (at 1168 `180d`, 1176 `0x2A37`, 1184 and 1224 128-bit
//! UUIDs ending `...def0` and `...def1`, 1264 `xyz`, 1268 a 128-bit UUID
//! with a `g`, 1308 one with a dash out of place), a handle table in
//! wasm globals, and a simulated central writing to an app's
//! characteristic.

use std::process::Command;

use super::{Family, app};

pub(super) fn families() -> Vec<Family> {
    vec![Family {
        caps: r#""ble""#,
        // A service with a read/write characteristic (4 bytes) and a
        // read/notify one (2 bytes); a value written before serving is
        // set once serving; no central comes.
        granted: "(call $expect (call $ble_init) (i32.const 0) (i32.const 1))
            (call $expect (call $ble_service_create (i32.const 1184)) (i32.const 0) (i32.const 2))
            (call $expect (call $ble_char_create (i32.const 1224) (i32.const 0x0a) (i32.const 4)) (i32.const 0) (i32.const 3))
            (call $expect (call $ble_char_create (i32.const 1168) (i32.const 0x12) (i32.const 2)) (i32.const 1) (i32.const 4))
            (call $expect (call $ble_char_write (i32.const 0) (i32.const 1024) (i32.const 3)) (i32.const -22) (i32.const 5))
            (call $expect (call $ble_service_add_char (i32.const 0) (i32.const 0)) (i32.const 0) (i32.const 6))
            (call $expect (call $ble_service_add_char (i32.const 0) (i32.const 1)) (i32.const 0) (i32.const 7))
            (call $expect (call $ble_service_add_char (i32.const 0) (i32.const 1)) (i32.const -22) (i32.const 8))
            (call $expect (call $ble_add_service (i32.const 0)) (i32.const 0) (i32.const 9))
            (call $expect (call $ble_add_service (i32.const 1)) (i32.const -22) (i32.const 10))
            (call $expect (call $ble_set_advertised_service (i32.const 0)) (i32.const 0) (i32.const 11))
            (call $expect (call $ble_char_write (i32.const 0) (i32.const 1024) (i32.const 3)) (i32.const 0) (i32.const 12))
            (call $expect (call $ble_char_write (i32.const 0) (i32.const 1024) (i32.const 5)) (i32.const -7) (i32.const 13))
            (call $expect (call $ble_event_pop (i32.const 2000) (i32.const 16)) (i32.const 0) (i32.const 14))
            (call $expect (call $ble_advertise) (i32.const 0) (i32.const 15))
            (call $expect (call $ble_is_connected) (i32.const 0) (i32.const 16))
            (call $expect (call $ble_char_write (i32.const 1) (i32.const 1024) (i32.const 2)) (i32.const 0) (i32.const 17))
            (call $expect (call $ble_char_read (i32.const 0) (i32.const 2000) (i32.const 16)) (i32.const 3) (i32.const 18))
            (call $expect (i32.load8_u (i32.const 2002)) (i32.const 0x6c) (i32.const 19))
            (call $expect (call $ble_char_read (i32.const 1) (i32.const 2000) (i32.const 1)) (i32.const 1) (i32.const 20))
            (call $expect (call $ble_event_pop (i32.const 2000) (i32.const 16)) (i32.const 0) (i32.const 21))
            (call $expect (call $ble_stop_advertise) (i32.const 0) (i32.const 22))
            (call $expect (call $ble_deinit) (i32.const 0) (i32.const 23))
            (call $expect (call $ble_char_read (i32.const 0) (i32.const 2000) (i32.const 16)) (i32.const -22) (i32.const 24))
            (call $expect (call $ble_set_local_name (i32.const 1024)) (i32.const 0) (i32.const 25))",
        // Creating a characteristic touches no radio; declaring it does.
        denied: "(call $expect (call $ble_service_create (i32.const 1184)) (i32.const -1) (i32.const 1))
            (call $expect (call $ble_char_create (i32.const 1168) (i32.const 2) (i32.const 1)) (i32.const 0) (i32.const 2))
            (call $expect (call $ble_service_add_char (i32.const 0) (i32.const 0)) (i32.const -1) (i32.const 3))
            (call $expect (call $ble_advertise) (i32.const -1) (i32.const 4))
            (call $expect (call $ble_stop_advertise) (i32.const -1) (i32.const 5))
            (call $expect (call $ble_deinit) (i32.const -1) (i32.const 6))",
        denials: 5,
        // The last: a UUID string running past the end of memory (12 KiB
        // once translated: 8 KiB of data and stack, the simulator
        // profile's 4 KiB heap).
        bad: "(call $expect (call $ble_service_create BAD) (i32.const -14) (i32.const 1))
            (call $expect (call $ble_service_create (i32.const 1264)) (i32.const -22) (i32.const 2))
            (call $expect (call $ble_service_create (i32.const 1268)) (i32.const -22) (i32.const 3))
            (call $expect (call $ble_service_create (i32.const 1308)) (i32.const -22) (i32.const 4))
            (call $expect (call $ble_char_create (i32.const 1024) (i32.const 2) (i32.const 4)) (i32.const -22) (i32.const 5))
            (call $expect (call $ble_char_create (i32.const 1168) (i32.const 0x20) (i32.const 4)) (i32.const -22) (i32.const 6))
            (call $expect (call $ble_char_create (i32.const 1168) (i32.const 2) (i32.const 65)) (i32.const -22) (i32.const 7))
            (call $expect (call $ble_char_create BAD (i32.const 2) (i32.const 4)) (i32.const -14) (i32.const 8))
            (call $expect (call $ble_char_create (i32.const 1176) (i32.const 0x0a) (i32.const 4)) (i32.const 0) (i32.const 9))
            (call $expect (call $ble_service_create (i32.const 1176)) (i32.const 0) (i32.const 10))
            (call $expect (call $ble_service_add_char (i32.const 0) (i32.const 7)) (i32.const -22) (i32.const 11))
            (call $expect (call $ble_service_add_char (i32.const 0) (i32.const 0)) (i32.const 0) (i32.const 12))
            (call $expect (call $ble_char_write (i32.const 0) BAD (i32.const 2)) (i32.const -14) (i32.const 13))
            (call $expect (call $ble_char_read (i32.const 0) BAD (i32.const 2)) (i32.const -14) (i32.const 14))
            (call $expect (call $ble_char_read (i32.const 9) (i32.const 2000) (i32.const 2)) (i32.const -22) (i32.const 15))
            (call $expect (call $ble_set_advertised_service (i32.const 5)) (i32.const -22) (i32.const 16))
            (call $expect (call $ble_advertise) (i32.const 0) (i32.const 17))
            (call $expect (call $ble_event_pop BAD (i32.const 16)) (i32.const -14) (i32.const 18))
            (call $expect (call $ble_event_pop (i32.const 2000) (i32.const 3)) (i32.const -22) (i32.const 19))
            (call $expect (call $ble_set_local_name BAD) (i32.const -14) (i32.const 20))
            (call $expect (call $ble_set_local_name (i32.const 1184)) (i32.const -22) (i32.const 21))
            (i32.store8 (i32.const 12287) (i32.const 0x31))
            (call $expect (call $ble_service_create (i32.const 12287)) (i32.const -14) (i32.const 22))",
    }]
}

/// An AkiraOS app serves a characteristic, advertising its service and
/// name; `akira run --gatt-client`'s
/// simulated central connects and writes `2a` to it; the app pops the
/// events until the write, reads the value back by its AkiraOS handle and
/// exits with it (42).
#[test]
fn a_central_writes_what_an_akiraos_app_reads_back() {
    let body = "(call $expect (call $ble_service_create (i32.const 1184)) (i32.const 0) (i32.const 1))
        (call $expect (call $ble_char_create (i32.const 1168) (i32.const 0x02) (i32.const 1)) (i32.const 0) (i32.const 2))
        (call $expect (call $ble_char_create (i32.const 1224) (i32.const 0x0a) (i32.const 4)) (i32.const 1) (i32.const 3))
        (call $expect (call $ble_service_add_char (i32.const 0) (i32.const 1)) (i32.const 0) (i32.const 4))
        (call $expect (call $ble_service_add_char (i32.const 0) (i32.const 0)) (i32.const 0) (i32.const 5))
        (call $expect (call $ble_add_service (i32.const 0)) (i32.const 0) (i32.const 6))
        (call $expect (call $ble_set_local_name (i32.const 1024)) (i32.const 0) (i32.const 12))
        (call $expect (call $ble_set_advertised_service (i32.const 0)) (i32.const 0) (i32.const 13))
        (call $expect (call $ble_advertise) (i32.const 0) (i32.const 7))
        (block (loop
            (br_if 1 (i32.eq (call $ble_event_pop (i32.const 2000) (i32.const 16)) (i32.const 3)))
            (br 0)))
        (call $expect (call $ble_is_connected) (i32.const 1) (i32.const 8))
        (call $expect (i32.load8_u (i32.const 2001)) (i32.const 1) (i32.const 9))
        (call $expect (i32.load16_u (i32.const 2002)) (i32.const 1) (i32.const 10))
        (call $expect (call $ble_char_read (i32.const 1) (i32.const 3000) (i32.const 4)) (i32.const 1) (i32.const 11))
        (if (i32.eqz (global.get $failed)) (then (global.set $failed (i32.load8_u (i32.const 3000)))))";
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("akiraos-gatt");
    std::fs::create_dir_all(&dir).unwrap();
    let wasm = dir.join("gatt.wasm");
    std::fs::write(&wasm, app(body, r#""ble""#, false)).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_akira"))
        .args(["run", wasm.to_str().unwrap(), "--virtual-time"])
        .args(["--gatt-client", "300ms:connect"])
        .args(["--gatt-client", "600ms:write:12345678-1234-5678-1234-56789abcdef1=2a"])
        .output()
        .unwrap();
    let out = format!("{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("gatt central: wrote 12345678-1234-5678-1234-56789abcdef1 [2a]"), "{out}");
    assert!(out.contains("exited with code 42"), "{out}");
    // The flags, the service's 128-bit UUID and the name `hello`.
    let uuid = "f0 de bc 9a 78 56 34 12 78 56 34 12 78 56 34 12";
    let advertised = format!("ble advertising every 100 ms [02 01 06 11 07 {uuid} 06 09 68 65 6c 6c 6f]");
    assert!(out.contains(&advertised), "{out}");
}
