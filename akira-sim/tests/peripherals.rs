//! Apps (in WAT) using the peripheral modules on the simulated board:
//! every call goes through the sandbox, the guard and the simulated
//! hardware, and the results the app saw are checked.

use std::time::Duration;

use akira_caps::scope::I2cScope;
use akira_caps::{Manifest, Policy, Version, manifest::AppName};
use akira_sim::{End, SimBoard, Simulation, What};

/// Runs `wat` on `board` with the capabilities `caps` sets; returns the
/// board and the app's exit code.
fn run_on(board: SimBoard, wat: &str, caps: impl FnOnce(&mut Manifest)) -> (SimBoard, i32) {
    let mut manifest = Manifest::new(AppName::try_from("t").unwrap(), Version::new(0, 1, 0));
    caps(&mut manifest);
    let mut wasm = wat::parse_str(wat).unwrap();
    wasm.extend(manifest.custom_section());
    let runtime = akira_sim::runtime(Policy::development());
    let app = runtime.load(&wasm).unwrap();
    let mut sim = Simulation::new(runtime, board.clone());
    sim.spawn(app, Default::default()).unwrap();
    assert_eq!(sim.run(Some(Duration::from_secs(10))), End::AllStopped);
    let code = board
        .records()
        .iter()
        .find_map(|r| match r.what {
            What::Exited(c) => Some(c),
            _ => None,
        })
        .expect("the app exited");
    (board, code)
}

/// `$expect(got, want, n)`: the app checks each result itself and exits
/// with the number of the last wrong check (0 when all were right).
const CHECKS: &str = r#"
    (func $expect (param $got i32) (param $want i32) (param $n i32)
        (if (i32.ne (local.get $got) (local.get $want)) (then (global.set $failed (local.get $n)))))
    (global $failed (mut i32) (i32.const 0))
"#;

#[test]
fn i2c_reads_the_tmp102_within_its_grant_only() {
    let wat = format!(
        r#"(module
        (import "akira:i2c" "read_reg" (func $read_reg (param i32 i32 i32 i32 i32) (result i32)))
        (import "akira:i2c" "write_reg" (func $write_reg (param i32 i32 i32 i32 i32) (result i32)))
        (import "akira:i2c" "write" (func $write (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        {CHECKS}
        (func (export "akira_main") (result i32)
            ;; temperature register of the TMP102 at 0x48: 25 °C = 0x19 0x00
            (call $expect (call $read_reg (i32.const 0) (i32.const 0x48) (i32.const 0) (i32.const 16) (i32.const 2)) (i32.const 0) (i32.const 1))
            (call $expect (i32.load16_u (i32.const 16)) (i32.const 0x0019) (i32.const 2))
            ;; the EEPROM at 0x50 is on the bus but not granted
            (call $expect (call $write_reg (i32.const 0) (i32.const 0x50) (i32.const 0) (i32.const 16) (i32.const 2)) (i32.const -1) (i32.const 3))
            ;; granted but absent: nobody acknowledges
            (call $expect (call $write (i32.const 1) (i32.const 0x48) (i32.const 0) (i32.const 0)) (i32.const -2) (i32.const 4))
            ;; a buffer past the end of memory
            (call $expect (call $read_reg (i32.const 0) (i32.const 0x48) (i32.const 0) (i32.const 65535) (i32.const 2)) (i32.const -4) (i32.const 5))
            (global.get $failed)))"#
    );
    let board = SimBoard::virtual_time();
    board.set_temperature(Some(25_000));
    let (board, code) = run_on(board, &wat, |m| {
        let mut scope = I2cScope::default();
        scope.buses[0].insert(0x48);
        scope.buses[1].insert(0x48);
        m.capabilities.i2c = Some(scope);
    });
    assert_eq!(code, 0, "check {code} failed");
    let lines: Vec<String> = board.records().iter().map(|r| r.to_string()).collect();
    let text = lines.join("\n");
    assert!(text.contains("t            i2c0 0x48 reg 0x00 read [19 00]"), "{text}");
    assert!(text.contains("t            DENIED i2c: bus 0 address 0x50 is not granted"), "{text}");
    assert!(text.contains("i2c1 0x48 write [] -> no such resource on this board (AKIRA_ENORES)"), "{text}");
}

#[test]
fn spi_reads_the_flash_id_and_is_denied_other_devices() {
    let wat = format!(
        r#"(module
        (import "akira:spi" "write_then_read" (func $wtr (param i32 i32 i32 i32 i32) (result i32)))
        (import "akira:spi" "transfer" (func $transfer (param i32 i32 i32 i32 i32) (result i32)))
        (import "akira:spi" "write" (func $write (param i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 0) "\9f")
        {CHECKS}
        (func (export "akira_main") (result i32)
            (call $expect (call $wtr (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16) (i32.const 3)) (i32.const 0) (i32.const 1))
            ;; ef 40 14, little-endian in an i32 load
            (call $expect (i32.and (i32.load (i32.const 16)) (i32.const 0xffffff)) (i32.const 0x1440ef) (i32.const 2))
            ;; the loopback (device 1) is not granted
            (call $expect (call $transfer (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16) (i32.const 1)) (i32.const -1) (i32.const 3))
            ;; overlapping buffers
            (call $expect (call $transfer (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 2) (i32.const 4)) (i32.const -3) (i32.const 4))
            ;; past the end of memory
            (call $expect (call $write (i32.const 0) (i32.const 65534) (i32.const 4)) (i32.const -4) (i32.const 5))
            (global.get $failed)))"#
    );
    let (board, code) =
        run_on(SimBoard::virtual_time(), &wat, |m| m.capabilities.spi = Some([0].into_iter().collect()));
    assert_eq!(code, 0, "check {code} failed");
    let text: Vec<String> = board.records().iter().map(|r| r.to_string()).collect();
    let text = text.join("\n");
    assert!(text.contains("t            spi0 write [9f] read [ef 40 14]"), "{text}");
    assert!(text.contains("t            DENIED spi: id 1 is not granted"), "{text}");
}

#[test]
fn uart_read_suspends_until_timeout_or_bytes() {
    let wat = format!(
        r#"(module
        (import "akira:uart" "read" (func $read (param i32 i32 i32 i64) (result i32)))
        (import "akira:uart" "write" (func $write (param i32 i32 i32 i64) (result i32)))
        (import "akira:timer" "now_us" (func $now (result i64)))
        (memory (export "memory") 1)
        (data (i32.const 0) "abc")
        {CHECKS}
        (func (export "akira_main") (result i32)
            ;; nothing received: suspended until the 250 ms timeout
            (call $expect (call $read (i32.const 0) (i32.const 16) (i32.const 8) (i64.const 250000)) (i32.const -7) (i32.const 1))
            (call $expect (i32.wrap_i64 (call $now)) (i32.const 250000) (i32.const 2))
            ;; the loopback: written bytes come back at once
            (call $expect (call $write (i32.const 0) (i32.const 0) (i32.const 3) (i64.const -1)) (i32.const 3) (i32.const 3))
            (call $expect (call $read (i32.const 0) (i32.const 16) (i32.const 8) (i64.const -1)) (i32.const 3) (i32.const 4))
            (call $expect (i32.load8_u (i32.const 18)) (i32.const 0x63) (i32.const 5))
            ;; port 1 (the terminal) gets "hi" from the script at 1 s
            (call $expect (call $read (i32.const 1) (i32.const 16) (i32.const 8) (i64.const -1)) (i32.const 2) (i32.const 6))
            (call $expect (i32.wrap_i64 (call $now)) (i32.const 1000000) (i32.const 7))
            (call $expect (i32.load16_u (i32.const 16)) (i32.const 0x6968) (i32.const 8))
            ;; denied, and a bad buffer
            (call $expect (call $read (i32.const 2) (i32.const 16) (i32.const 8) (i64.const 0)) (i32.const -1) (i32.const 9))
            (call $expect (call $write (i32.const 1) (i32.const 65530) (i32.const 8) (i64.const 0)) (i32.const -4) (i32.const 10))
            (global.get $failed)))"#
    );
    let mut manifest = Manifest::new(AppName::try_from("t").unwrap(), Version::new(0, 1, 0));
    manifest.capabilities.uart = Some([0, 1].into_iter().collect());
    manifest.capabilities.timer = true;
    let mut wasm = wat::parse_str(&wat).unwrap();
    wasm.extend(manifest.custom_section());
    let runtime = akira_sim::runtime(Policy::development());
    let app = runtime.load(&wasm).unwrap();
    let board = SimBoard::virtual_time();
    let mut sim = Simulation::new(runtime, board.clone());
    sim.spawn(app, Default::default()).unwrap();
    sim.uart_input_at(1, b"hi", Duration::from_secs(1));
    assert_eq!(sim.run(Some(Duration::from_secs(10))), End::AllStopped);
    let text: Vec<String> = board.records().iter().map(|r| r.to_string()).collect();
    let text = text.join("\n");
    assert!(text.contains("exited with code 0"), "{text}");
    assert!(text.contains("[   1.000000s] t            uart1 rx \"hi\""), "{text}");
}

#[test]
fn pwm_sets_duty_and_only_the_buzzer_takes_a_frequency() {
    let wat = format!(
        r#"(module
        (import "akira:pwm" "max_duty" (func $max (param i32) (result i32)))
        (import "akira:pwm" "set_duty" (func $duty (param i32 i32) (result i32)))
        (import "akira:pwm" "set_frequency" (func $freq (param i32 i32) (result i32)))
        {CHECKS}
        (func (export "akira_main") (result i32)
            (call $expect (call $max (i32.const 0)) (i32.const 1000) (i32.const 1))
            (call $expect (call $duty (i32.const 0) (i32.const 250)) (i32.const 0) (i32.const 2))
            (call $expect (call $duty (i32.const 0) (i32.const 1001)) (i32.const -3) (i32.const 3))
            (call $expect (call $freq (i32.const 0) (i32.const 440)) (i32.const -9) (i32.const 4))
            (call $expect (call $freq (i32.const 3) (i32.const 440)) (i32.const 0) (i32.const 5))
            (call $expect (call $duty (i32.const 1) (i32.const 1)) (i32.const -1) (i32.const 6))
            (global.get $failed)))"#
    );
    let (board, code) =
        run_on(SimBoard::virtual_time(), &wat, |m| m.capabilities.pwm = Some([0, 3].into_iter().collect()));
    assert_eq!(code, 0, "check {code} failed");
    assert_eq!(board.pwm_duty(0), Some((250, 1000)));
    assert_eq!(board.buzzer_hz(), 440);
    let text: Vec<String> = board.records().iter().map(|r| r.to_string()).collect();
    let text = text.join("\n");
    assert!(text.contains("t            pwm0 duty 250/1000 (25.0%)"), "{text}");
    assert!(text.contains("t            pwm3 frequency 440 Hz"), "{text}");
}

#[test]
fn adc_reads_the_potentiometer_within_its_grant_only() {
    let wat = format!(
        r#"(module
        (import "akira:adc" "resolution" (func $bits (param i32) (result i32)))
        (import "akira:adc" "read_raw" (func $raw (param i32) (result i32)))
        (import "akira:adc" "read_mv" (func $mv (param i32) (result i32)))
        {CHECKS}
        (func (export "akira_main") (result i32)
            (call $expect (call $bits (i32.const 0)) (i32.const 12) (i32.const 1))
            (call $expect (call $raw (i32.const 0)) (i32.const 1241) (i32.const 2))
            (call $expect (call $mv (i32.const 0)) (i32.const 1000) (i32.const 3))
            (call $expect (call $mv (i32.const 1)) (i32.const -1) (i32.const 4))
            (global.get $failed)))"#
    );
    let board = SimBoard::virtual_time();
    board.set_adc_mv(0, Some(1000)).unwrap();
    let (board, code) = run_on(board, &wat, |m| m.capabilities.adc = Some([0].into_iter().collect()));
    assert_eq!(code, 0, "check {code} failed");
    let text: Vec<String> = board.records().iter().map(|r| r.to_string()).collect();
    let text = text.join("\n");
    assert!(text.contains("t            adc0 raw 1241\n"), "{text}");
    assert!(text.contains("t            adc0 1000 mV"), "{text}");
    assert!(text.contains("DENIED adc: id 1 is not granted"), "{text}");
}

#[test]
fn sensor_values_go_through_memory_and_negative_ones_survive() {
    let wat = format!(
        r#"(module
        (import "akira:sensor" "kind" (func $kind (param i32) (result i32)))
        (import "akira:sensor" "read" (func $read (param i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        {CHECKS}
        (func (export "akira_main") (result i32)
            (call $expect (call $kind (i32.const 0)) (i32.const 1) (i32.const 1))
            (call $expect (call $read (i32.const 0) (i32.const 16) (i32.const 4)) (i32.const 1) (i32.const 2))
            (call $expect (i32.load (i32.const 16)) (i32.const -5000) (i32.const 3))
            (call $expect (call $read (i32.const 3) (i32.const 32) (i32.const 12)) (i32.const 3) (i32.const 4))
            (call $expect (i32.load (i32.const 40)) (i32.const 9807) (i32.const 5))
            (call $expect (call $read (i32.const 3) (i32.const 32) (i32.const 8)) (i32.const -8) (i32.const 6))
            (call $expect (call $read (i32.const 1) (i32.const 32) (i32.const 4)) (i32.const -1) (i32.const 7))
            (call $expect (call $read (i32.const 0) (i32.const 65534) (i32.const 4)) (i32.const -4) (i32.const 8))
            (global.get $failed)))"#
    );
    let board = SimBoard::virtual_time();
    board.set_temperature(Some(-5_000));
    let (board, code) = run_on(board, &wat, |m| m.capabilities.sensor = Some([0, 3].into_iter().collect()));
    assert_eq!(code, 0, "check {code} failed");
    let text: Vec<String> = board.records().iter().map(|r| r.to_string()).collect();
    assert!(text.join("\n").contains("t            sensor0 temperature -5000 m°C"), "{text:?}");
}

#[test]
fn rng_fills_the_app_buffer_repeatably() {
    let wat = format!(
        r#"(module
        (import "akira:rng" "fill" (func $fill (param i32 i32) (result i32)))
        (memory (export "memory") 1)
        {CHECKS}
        (func (export "akira_main") (result i32)
            (call $expect (call $fill (i32.const 16) (i32.const 16)) (i32.const 0) (i32.const 1))
            ;; the bytes around the buffer are untouched
            (call $expect (i32.load (i32.const 12)) (i32.const 0) (i32.const 2))
            (call $expect (i32.load (i32.const 32)) (i32.const 0) (i32.const 3))
            (call $expect (i32.eqz (i64.eqz (i64.load (i32.const 16)))) (i32.const 1) (i32.const 4))
            (call $expect (call $fill (i32.const 65530) (i32.const 16)) (i32.const -4) (i32.const 5))
            (i32.wrap_i64 (i64.load (i32.const 16)))))"#
    );
    let (_, first) = run_on(SimBoard::virtual_time(), &wat, |m| m.capabilities.rng = true);
    let (_, again) = run_on(SimBoard::virtual_time(), &wat, |m| m.capabilities.rng = true);
    assert_eq!(first, again, "the same seed draws the same bytes");
    let board = SimBoard::virtual_time();
    board.seed_rng(7);
    let (board, other) = run_on(board, &wat, |m| m.capabilities.rng = true);
    assert_ne!(first, other);
    let text: Vec<String> = board.records().iter().map(|r| r.to_string()).collect();
    assert!(text.join("\n").contains("t            rng 16 bytes"), "{text:?}");
}

#[test]
fn crypto_hashes_natively_and_charges_fuel_for_it() {
    // Hashes 60 000 bytes of memory ten times; the native work is charged
    // as fuel, so the app's usage shows it.
    let wat = r#"(module
        (import "akira:crypto" "sha256" (func $sha (param i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "akira_main") (result i32)
            (local $i i32)
            (loop $again
                (drop (call $sha (i32.const 0) (i32.const 60000) (i32.const 60000)))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $again (i32.lt_u (local.get $i) (i32.const 10))))
            (call $sha (i32.const 0) (i32.const 1) (i32.const 65535))))"#;
    let mut manifest = Manifest::new(AppName::try_from("t").unwrap(), Version::new(0, 1, 0));
    manifest.capabilities.sys = true;
    let mut wasm = wat::parse_str(wat).unwrap();
    wasm.extend(manifest.custom_section());
    let runtime = akira_sim::runtime(Policy::development());
    let app = runtime.load(&wasm).unwrap();
    let mut sim = Simulation::new(runtime, SimBoard::virtual_time());
    let id = sim.spawn(app, Default::default()).unwrap();
    assert_eq!(sim.run(Some(Duration::from_secs(1))), End::AllStopped);
    let code = sim.board().records().iter().find_map(|r| match r.what {
        What::Exited(c) => Some(c),
        _ => None,
    });
    assert_eq!(code, Some(-4), "the last output runs past the end of memory");
    let fuel = sim.scheduler().usage(id).map(|u| u.fuel).unwrap_or(0);
    assert!(fuel >= 600_000, "native hashing is charged: {fuel} fuel");

    // Under a CPU budget of 200 000 fuel, the same loop is stopped.
    manifest.cpu_budget = 200_000;
    let mut wasm = wat::parse_str(wat).unwrap();
    wasm.extend(manifest.custom_section());
    let runtime = akira_sim::runtime(Policy::development());
    let app = runtime.load(&wasm).unwrap();
    let mut sim = Simulation::new(runtime, SimBoard::virtual_time());
    sim.spawn(app, akira_sandbox::RestartPolicy::never()).unwrap();
    sim.run(Some(Duration::from_secs(1)));
    let text: Vec<String> = sim.board().records().iter().map(|r| r.to_string()).collect();
    assert!(text.join("\n").contains("FAULT cpu budget exceeded"), "{text:?}");
}

#[test]
fn display_draws_into_the_frame_buffer_within_the_region_and_flushes_frames() {
    use akira_caps::scope::DisplayScope;
    let wat = format!(
        r#"(module
        (import "akira:display" "size" (func $size (result i32)))
        (import "akira:display" "fill" (func $fill (param i32) (result i32)))
        (import "akira:display" "pixel" (func $pixel (param i32 i32 i32) (result i32)))
        (import "akira:display" "text" (func $text (param i32 i32 i32 i32 i32) (result i32)))
        (import "akira:display" "blit" (func $blit (param i32 i32 i32 i32 i32 i32) (result i32)))
        (import "akira:display" "flush" (func $flush (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 16) "Akira")
        ;; a 2 x 1 image: green, blue
        (data (i32.const 32) "\e0\07\1f\00")
        {CHECKS}
        (func (export "akira_main") (result i32)
            (call $expect (call $size) (i32.const 0x00f00087) (i32.const 1))
            (call $expect (call $fill (i32.const 0xf800)) (i32.const 0) (i32.const 2))
            (call $expect (call $text (i32.const 2) (i32.const 2) (i32.const 16) (i32.const 5) (i32.const 0xffff)) (i32.const 0) (i32.const 3))
            (call $expect (call $blit (i32.const 40) (i32.const 20) (i32.const 2) (i32.const 1) (i32.const 32) (i32.const 4)) (i32.const 0) (i32.const 4))
            ;; outside the 100 x 50 region: refused
            (call $expect (call $pixel (i32.const 100) (i32.const 0) (i32.const 0)) (i32.const -1) (i32.const 5))
            ;; the image's bytes past the end of memory, a wrong length
            (call $expect (call $blit (i32.const 0) (i32.const 0) (i32.const 2) (i32.const 1) (i32.const 65534) (i32.const 4)) (i32.const -4) (i32.const 6))
            (call $expect (call $blit (i32.const 0) (i32.const 0) (i32.const 2) (i32.const 1) (i32.const 32) (i32.const 3)) (i32.const -3) (i32.const 7))
            (call $expect (call $flush) (i32.const 0) (i32.const 8))
            (global.get $failed)))"#
    );
    let board = SimBoard::virtual_time();
    let frames = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let sink = frames.clone();
    board.set_frame_sink(move |f| sink.borrow_mut().push(f.clone()));
    let region = DisplayScope { x: 0, y: 0, width: 100, height: 50 };
    let (board, code) = run_on(board, &wat, |m| m.capabilities.display = Some(region));
    assert_eq!(code, 0, "check {code} failed");
    let frames = frames.borrow();
    assert_eq!(frames.len(), 1);
    let f = &frames[0];
    assert_eq!(f.number, 1);
    assert_eq!(f.pixel(0, 0), Some(0xf800), "filled");
    assert_eq!(f.pixel(99, 49), Some(0xf800), "the region's last pixel");
    assert_eq!(f.pixel(100, 0), Some(0), "the fill stopped at the region's edge");
    assert_eq!(f.pixel(0, 50), Some(0));
    assert_eq!((f.pixel(40, 20), f.pixel(41, 20)), (Some(0x07e0), Some(0x001f)), "blitted");
    let white = (2..32).flat_map(|x| (2..12).map(move |y| (x, y))).filter(|&(x, y)| f.pixel(x, y) == Some(0xffff));
    assert!(white.count() > 20, "the text is drawn");
    assert_eq!(board.frames(), 1);
    let text: Vec<String> = board.records().iter().map(|r| r.to_string()).collect();
    let text = text.join("\n");
    assert!(text.contains("t            display fill 100x50 at (0, 0)"), "{text}");
    assert!(text.contains("t            display text 30x10 at (2, 2)"), "{text}");
    assert!(text.contains("t            DENIED display: region 1x1 at (100, 0) is not granted"), "{text}");
    assert!(text.contains("t            display frame 1 shown"), "{text}");
}

#[test]
fn hid_waits_for_a_button_event_then_types_and_the_host_sees_the_reports() {
    use akira_caps::scope::hid::KEYBOARD;
    let wat = format!(
        r#"(module
        (import "akira:hid" "next_event" (func $next (param i32 i32 i64) (result i32)))
        (import "akira:hid" "type_text" (func $type (param i32 i32) (result i32)))
        (import "akira:hid" "mouse" (func $mouse (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 32) "Ok!")
        {CHECKS}
        (func (export "akira_main") (result i32)
            ;; suspended until the button on pin 1 goes down
            (call $expect (call $next (i32.const 16) (i32.const 8) (i64.const -1)) (i32.const 8) (i32.const 1))
            (call $expect (i32.load16_u (i32.const 16)) (i32.const 1) (i32.const 2))
            (call $expect (i32.load16_u (i32.const 18)) (i32.const 1) (i32.const 3))
            (call $expect (call $type (i32.const 32) (i32.const 3)) (i32.const 3) (i32.const 4))
            ;; the mouse is not granted
            (call $expect (call $mouse (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 0)) (i32.const -1) (i32.const 5))
            ;; the release comes 50 ms later
            (call $expect (call $next (i32.const 16) (i32.const 8) (i64.const 100000)) (i32.const 8) (i32.const 6))
            (call $expect (i32.load16_u (i32.const 16)) (i32.const 2) (i32.const 7))
            ;; nothing more: a zero timeout does not wait; a bad buffer
            (call $expect (call $next (i32.const 16) (i32.const 8) (i64.const 0)) (i32.const -7) (i32.const 8))
            (call $expect (call $next (i32.const 65530) (i32.const 8) (i64.const 0)) (i32.const -4) (i32.const 9))
            (global.get $failed)))"#
    );
    let mut manifest = Manifest::new(AppName::try_from("t").unwrap(), Version::new(0, 1, 0));
    manifest.capabilities.hid = Some([KEYBOARD].into_iter().collect());
    let mut wasm = wat::parse_str(&wat).unwrap();
    wasm.extend(manifest.custom_section());
    let runtime = akira_sim::runtime(Policy::development());
    let app = runtime.load(&wasm).unwrap();
    let board = SimBoard::virtual_time();
    let mut sim = Simulation::new(runtime, board.clone());
    sim.spawn(app, Default::default()).unwrap();
    sim.press(1, Duration::from_millis(300));
    assert_eq!(sim.run(Some(Duration::from_secs(2))), End::AllStopped);
    let text: Vec<String> = board.records().iter().map(|r| r.to_string()).collect();
    let text = text.join("\n");
    assert!(text.contains("exited with code 0"), "{text}");
    let reports: Vec<&str> = text.lines().filter(|l| l.contains(" hid ")).collect();
    assert_eq!(
        reports,
        [
            "[   0.300000s] t            hid keyboard [02 00 12 00 00 00 00 00] types 'O'",
            "[   0.300000s] t            hid keyboard [00 00 00 00 00 00 00 00]",
            "[   0.300000s] t            hid keyboard [00 00 0e 00 00 00 00 00] types 'k'",
            "[   0.300000s] t            hid keyboard [00 00 00 00 00 00 00 00]",
            "[   0.300000s] t            hid keyboard [02 00 1e 00 00 00 00 00] types '!'",
            "[   0.300000s] t            hid keyboard [00 00 00 00 00 00 00 00]",
        ],
        "typed when the press arrived, not before:\n{text}"
    );
    assert!(text.contains("t            DENIED hid: id 1 is not granted"), "{text}");
    assert!(text.contains("[   0.350000s] t            exited with code 0"), "woken by the release:\n{text}");
}

#[test]
fn a_radio_app_that_traps_stops_advertising_and_serving_gatt() {
    use akira_caps::scope::{BleScope, ble};
    let load = |runtime: &akira_sandbox::Runtime<SimBoard>, name: &str, roles: &[u32], wat: &str| {
        let mut manifest = Manifest::new(AppName::try_from(name).unwrap(), Version::new(0, 1, 0));
        let roles = roles.iter().copied().collect();
        manifest.capabilities.ble = Some(BleScope { roles, adv_changes_per_s: 2, ..BleScope::default() });
        let mut wasm = wat::parse_str(wat).unwrap();
        wasm.extend(manifest.custom_section());
        runtime.load(&wasm).unwrap()
    };
    // Counts the reports it hears until two seconds pass without one.
    let scanner = r#"(module
        (import "akira:ble" "scan" (func $scan (param i32 i32 i32) (result i32)))
        (import "akira:ble" "next_report" (func $next (param i32 i32 i64) (result i32)))
        (memory (export "memory") 1)
        (func (export "akira_main") (result i32) (local $n i32)
            (drop (call $scan (i32.const 0) (i32.const 100) (i32.const 100)))
            (loop $l
                (if (i32.gt_s (call $next (i32.const 64) (i32.const 41) (i64.const 2000000)) (i32.const 0))
                    (then (local.set $n (i32.add (local.get $n) (i32.const 1))) (br $l))))
            (local.get $n)))"#;
    // Serves a GATT table and advertises every 100 ms, then traps.
    let beacon = r#"(module
        (import "akira:ble" "advertise" (func $adv (param i32 i32 i32 i32 i32) (result i32)))
        (import "akira:ble" "gatt_service" (func $svc (param i32 i32) (result i32)))
        (import "akira:ble" "gatt_characteristic" (func $chr (param i32 i32 i32 i32 i32) (result i32)))
        (import "akira:ble" "gatt_start" (func $start (param i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 0) "\1a\18\6e\2a")
        (data (i32.const 8) "\02\01\06")
        (func (export "akira_main") (result i32)
            (if (i32.ne (call $svc (i32.const 0) (i32.const 2)) (i32.const 0)) (then (return (i32.const 1))))
            (if (i32.ne (call $chr (i32.const 0) (i32.const 2) (i32.const 2) (i32.const 0x12) (i32.const 2)) (i32.const 0))
                (then (return (i32.const 2))))
            (if (i32.ne (call $start (i32.const 8) (i32.const 3) (i32.const 100)) (i32.const 0)) (then (return (i32.const 3))))
            (if (i32.ne (call $adv (i32.const 8) (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 100)) (i32.const 0))
                (then (return (i32.const 4))))
            unreachable))"#;
    let runtime = akira_sim::runtime(Policy::development());
    let scanner = load(&runtime, "scanner", &[ble::SCAN], scanner);
    let beacon = load(&runtime, "beacon", &[ble::ADVERTISE, ble::PERIPHERAL], beacon);
    let board = SimBoard::virtual_time();
    let mut sim = Simulation::new(runtime, board.clone());
    sim.spawn(scanner, Default::default()).unwrap();
    sim.spawn(beacon, akira_sandbox::RestartPolicy::never()).unwrap();
    sim.gatt_client_at("connect".parse().unwrap(), Duration::from_millis(500));
    assert_eq!(sim.run(Some(Duration::from_secs(10))), End::AllStopped);
    let records = board.records();
    let faulted = records.iter().any(|r| r.app.as_deref() == Some("beacon") && matches!(r.what, What::Faulted(_)));
    assert!(faulted, "{records:#?}");
    // The scanner heard the first event of each advertising (the GATT
    // server's connectable one and the legacy one) only: the trap stopped
    // the rest.
    let exited = records.iter().find_map(|r| match (r.app.as_deref(), &r.what) {
        (Some("scanner"), What::Exited(c)) => Some(*c),
        _ => None,
    });
    assert_eq!(exited, Some(2), "{records:#?}");
    // Nobody serves GATT any more.
    assert!(records.iter().any(|r| r.what == What::Note("script: gatt central: no app serves GATT".into())));
}
