//! The example apps (examples/apps) on the simulated board, each doing
//! what its README says.

use super::*;

#[test]
fn blinky_toggles_the_led_on_the_simulated_board() {
    let o = akira(&["run", app("blinky").to_str().unwrap(), "--virtual-time", "--for", "2s"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    let toggles: Vec<&str> = out.lines().filter(|l| l.contains("blinky") && l.contains("gpio 2 ->")).collect();
    assert_eq!(toggles.len(), 4, "on at 0, 1 s; off at 0.5, 1.5 s:\n{out}");
    assert!(toggles[0].contains("0.000000s") && toggles[0].contains("high"));
    assert!(toggles[1].contains("0.500000s") && toggles[1].contains("low"));
    assert!(out.contains("info: LED on"));
    assert!(err.contains("memory 64.0 KiB -> "), "memory shrunk to a custom page size:\n{err}");
    assert!(err.contains("time limit reached at 2.000000s"));
}

#[test]
fn a_malformed_wasm_among_several_apps_is_refused_alone() {
    let broken = tmp("broken.wasm");
    // A wasm header, then a section that runs past the end of the file.
    std::fs::write(&broken, b"\0asm\x01\0\0\0\x00\xff\x01").unwrap();
    let o = akira(&["run", broken.to_str().unwrap(), app("blinky").to_str().unwrap(), "--virtual-time", "--for", "2s"]);
    let (out, err) = text(&o);
    std::fs::remove_file(&broken).unwrap();
    // Exit 4: an app was refused; blinky ran its two seconds all the same.
    assert_eq!(o.status.code(), Some(4), "{out}\n{err}");
    assert!(err.contains("REFUSED at install") && err.contains("broken.wasm"), "{err}");
    assert_eq!(out.lines().filter(|l| l.contains("blinky") && l.contains("gpio 2 ->")).count(), 4, "{out}");
    assert!(err.contains("time limit reached at 2.000000s"), "{err}");
}

#[test]
fn misbehaving_app_is_contained_while_blinky_keeps_running() {
    let o = akira(&[
        "run",
        app("misbehave").to_str().unwrap(),
        app("blinky").to_str().unwrap(),
        "--virtual-time",
        "--for",
        "1200ms",
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(3), "a fault gives exit code 3:\n{out}\n{err}");
    assert!(out.contains("misbehave    DENIED gpio: output pin 7 is not granted"), "{out}");
    assert!(out.contains("misbehave    error: pin 7 refused: not granted to this app (-1)"), "{out}");
    assert!(out.contains("misbehave    FAULT cpu budget exceeded: ran 100000 fuel without waiting"), "{out}");
    let after_fault = out.split("FAULT").nth(1).unwrap();
    assert!(after_fault.contains("[   1.000000s] blinky       gpio 2"), "blinky runs on:\n{out}");
    assert!(err.contains("misbehave    stopped: cpu budget"), "{err}");
}

#[test]
fn button_presses_wake_the_edge_wait() {
    let o = akira(&[
        "run",
        app("button-led").to_str().unwrap(),
        "--virtual-time",
        "--press",
        "0@300ms",
        "--press",
        "0@900ms",
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains("[   0.300000s] button-led   info: press 1: LED on"), "{out}");
    assert!(out.contains("[   0.900000s] button-led   info: press 2: LED off"), "{out}");
    assert!(err.contains("every app waits for input no one will give"), "{err}");
}

#[test]
fn thermometer_reads_the_simulated_tmp102_over_i2c() {
    let o = akira(&["run", app("thermometer").to_str().unwrap(), "--virtual-time"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains("[   0.000000s] thermometer  i2c0 0x48 reg 0x03 write [1e 00]"), "{out}");
    assert!(out.contains("thermometer  info: T_HIGH = 30000 m°C"), "{out}");
    // 22.5 °C + 2.5 °C sin(2π t / 60 s), in 1/16 °C steps.
    assert!(out.contains("[   0.000000s] thermometer  i2c0 0x48 write [00] read [16 80]"), "{out}");
    assert!(out.contains("[   0.000000s] thermometer  info: temperature 22.500 °C"), "{out}");
    assert!(out.contains("[   4.000000s] thermometer  info: temperature 23.500 °C"), "{out}");
    assert!(err.contains("granted i2c (bus 0: 0x48), timer, log"), "{err}");
    assert!(out.contains("[   5.000000s] thermometer  exited with code 0"), "{out}");
}

#[test]
fn spi_flash_programs_and_reads_back_the_simulated_nor_flash() {
    let o = akira(&["run", app("spi-flash").to_str().unwrap(), "--virtual-time"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains("spi-flash    spi0 write [9f] read [ef 40 14]"), "{out}");
    assert!(out.contains("spi-flash    spi0 write [20 00 10 00]"), "sector erase:\n{out}");
    assert!(out.contains("spi-flash    spi0 write [03 00 10 00] read [68 65 6c 6c 6f 2c 20 66 6c 61 73 68]"), "{out}");
    assert!(out.contains("spi-flash    info: read back \"hello, flash\""), "{out}");
}

#[test]
fn uart_echo_waits_suspended_for_input_and_echoes_it() {
    let o = akira(&[
        "run",
        app("uart-echo").to_str().unwrap(),
        "--virtual-time",
        "--uart-input",
        "1@500ms:hello\\r\\n",
        "--uart-input",
        "1@2s:quit\\n",
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains("[   0.000000s] uart-echo    uart0 tx \"ping\""), "{out}");
    assert!(out.contains("[   0.000000s] uart-echo    uart0 rx \"ping\""), "loopback:\n{out}");
    assert!(out.contains("[   0.000000s] uart-echo    uart1 tx \"echo ready\\r\\n\""), "{out}");
    assert!(out.contains("[   0.500000s] board        uart1 <- \"hello\\r\\n\""), "{out}");
    assert!(out.contains("[   0.500000s] uart-echo    uart1 rx \"hello\\r\\n\""), "woken at once:\n{out}");
    assert!(out.contains("[   0.500000s] uart-echo    uart1 tx \"HELLO\\r\\n\""), "{out}");
    assert!(out.contains("[   2.000000s] uart-echo    info: bye"), "{out}");
    // Suspended between inputs: the fuel used is the work done, not the
    // time waited.
    let fuel: u64 = err
        .lines()
        .find(|l| l.contains("uart-echo") && l.contains("exited (0)"))
        .and_then(|l| l.split_whitespace().nth(4))
        .and_then(|f| f.parse().ok())
        .expect("summary line");
    assert!(fuel < 20_000, "{fuel} fuel:\n{err}");
}

#[test]
fn lora_ping_and_pong_talk_over_the_simulated_air() {
    let o = akira(&["run", app("lora-pong").to_str().unwrap(), app("lora-ping").to_str().unwrap(), "--virtual-time"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains("lora-ping    DENIED rf: frequency 869525000 Hz is not granted"), "{out}");
    // Each packet arrives when its 123.9 ms on air (SF9, 6 bytes) ends.
    assert!(out.contains("[   0.000000s] lora-ping    rf tx 868.1 MHz \"ping 1\" (123.9 ms on air)"), "{out}");
    assert!(out.contains("[   0.123904s] lora-pong    rf rx 868.1 MHz \"ping 1\" (-60 dBm, SNR 9 dB)"), "{out}");
    assert!(out.contains("[   0.247808s] lora-ping    info: got \"pong 1\" (-60 dBm, SNR 9 dB)"), "{out}");
    assert!(out.contains("lora-pong    info: answered five pings"), "{out}");
    // Its five packets of 123.904 ms charged to its 36 s an hour (1 %).
    assert!(out.contains("lora-ping    info: 5/5 answered; airtime left 35380 ms"), "{out}");
}

#[test]
fn ble_beacon_and_scanner_meet_on_the_simulated_air() {
    let o =
        akira(&["run", app("ble-beacon").to_str().unwrap(), app("ble-scanner").to_str().unwrap(), "--virtual-time"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    // Below its 100 ms floor: a denial; a second change at once: refused.
    assert!(out.contains("ble-beacon   DENIED ble: advertising interval 20 ms is not granted"), "{out}");
    assert!(out.contains("[   0.000000s] ble-beacon   info: a second change within a second: refused"), "{out}");
    // Its advertisements, every 500 ms, are the scanner's reports.
    let data = "02 01 06 0d 09 61 6b 69 72 61 2d 62 65 61 63 6f 6e 04 ff ff ff 01";
    assert!(out.contains(&format!("[   0.000000s] ble-beacon   ble advertising every 500 ms [{data}]")), "{out}");
    assert!(
        out.contains(&format!("[   0.500000s] ble-scanner  ble report from c0:de:00:00:00:00 (-50 dBm) [{data}]")),
        "{out}"
    );
    // The scanner's work on two reports at 2 s (about 10 000 fuel) fits in
    // one time slice (30 000 fuel): the virtual clock moves only for apps
    // that keep the CPU busy past their slice (see akira-sim's fair tests).
    assert!(
        out.contains("[   2.000000s] ble-scanner  info: akira-beacon c0:de:00:00:00:00 count 2 (-50 dBm)"),
        "{out}"
    );
    assert!(out.contains("[   4.000000s] ble-scanner  info: saw counts 1 to 3"), "{out}");
    assert!(out.contains("[   6.000000s] ble-beacon   info: stopped"), "{out}");
}

#[test]
fn ble_gatt_thermometer_serves_a_scripted_phone() {
    let setpoint = "12345678-1234-5678-1234-56789abcdef0";
    let script = [
        "500ms:connect".to_string(),
        "1200ms:subscribe:2a6e".into(),
        format!("1500ms:write:{setpoint}=d007"),
        format!("2500ms:read:{setpoint}"),
        "2600ms:read:2a6e".into(),
        "3500ms:disconnect".into(),
    ];
    let mut args = vec!["run".to_string(), app("ble-gatt").to_str().unwrap().into(), "--virtual-time".into()];
    for op in &script {
        args.extend(["--gatt-client".to_string(), op.clone()]);
    }
    let o = akira(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    // Both sides of the connection, the write and the notifications.
    for line in [
        "[   0.500000s] board        gatt central: connected to c0:de:00:00:00:00",
        "[   0.500000s] ble-gatt     info: central ca:fe:00:00:00:01 connected",
        "[   1.000000s] ble-gatt     info: temperature 2275 (setpoint 2100)",
        "[   1.200000s] ble-gatt     info: central subscribed to the temperature",
        "[   1.500000s] board        gatt central: wrote 12345678-1234-5678-1234-56789abcdef0 [d0 07]",
        "[   1.500000s] ble-gatt     gatt event written (characteristic 1) [d0 07]",
        "[   1.500000s] ble-gatt     info: setpoint written: 2000",
        "[   2.000000s] board        gatt central: notified 2a6e [fc 08]",
        "[   2.500000s] board        gatt central: read 12345678-1234-5678-1234-56789abcdef0 [d0 07]",
        "[   2.600000s] board        gatt central: read 2a6e [fc 08]",
        "[   3.000000s] board        gatt central: notified 2a6e [15 09]",
        "[   3.500000s] ble-gatt     info: central disconnected (reason 0x13)",
        "[   3.500000s] ble-gatt     info: stopped",
    ] {
        assert!(out.contains(line), "missing {line:?} in\n{out}");
    }
    // Before the phone subscribed, the 1 s notification reached nobody.
    assert!(!out.contains("[   1.000000s] board        gatt central: notified"), "{out}");
}

#[test]
fn bad_gatt_client_ops_are_usage_errors_or_notes() {
    let o = akira(&["run", app("ble-gatt").to_str().unwrap(), "--gatt-client", "1s:fly"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("expected connect, disconnect"), "{err}");
    let o = akira(&["run", app("ble-gatt").to_str().unwrap(), "--gatt-client", "1s:read:2a6"]);
    assert_eq!(o.status.code(), Some(2));
    // A read before connecting is noted, not fatal.
    let o = akira(&[
        "run",
        app("ble-gatt").to_str().unwrap(),
        "--virtual-time",
        "--for",
        "2s",
        "--gatt-client",
        "500ms:read:2a6e",
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains("[   0.500000s] board        script: gatt central: not connected"), "{out}");
}

#[test]
fn bad_uart_input_is_a_usage_error() {
    let o = akira(&["run", app("uart-echo").to_str().unwrap(), "--uart-input", "5@1s:x"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("the simulated board's serial ports are 0..2"), "{err}");
    let o = akira(&["run", app("uart-echo").to_str().unwrap(), "--uart-input", "1@1s:\\q"]);
    let (_, err) = text(&o);
    assert!(err.contains("unknown escape `\\q`"), "{err}");
}

#[test]
fn dimmer_follows_the_simulated_potentiometer() {
    let o = akira(&["run", app("dimmer").to_str().unwrap(), "--virtual-time"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains("[   0.000000s] dimmer       adc0 0 mV"), "{out}");
    assert!(out.contains("[   2.500000s] dimmer       adc0 1650 mV"), "{out}");
    assert!(out.contains("[   2.500000s] dimmer       pwm0 duty 500/1000 (50.0%)"), "{out}");
    assert!(out.contains("[   2.500000s] dimmer       info: knob 1650 mV -> LED 50%"), "{out}");
    assert!(out.contains("[   5.000000s] dimmer       pwm3 frequency 440 Hz"), "{out}");
    assert!(out.contains("[   5.200000s] dimmer       pwm3 duty 0/1000 (0.0%)"), "{out}");
}

#[test]
fn weather_reads_typed_sensor_channels() {
    let o = akira(&["run", app("weather").to_str().unwrap(), "--virtual-time"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains("weather      sensor0 temperature 22500 m°C"), "{out}");
    assert!(out.contains("weather      info: 22.5 °C, 45.0 %RH, 1013.25 hPa"), "{out}");
    assert!(out.contains("weather      sensor3 acceleration [0, 0, 9807] mm/s²"), "{out}");
    assert!(out.contains("weather      info: acceleration 0 0 9807 mm/s²: lying flat"), "{out}");
}

#[test]
fn signed_hello_verifies_signatures_and_answers_a_random_challenge_natively() {
    let o = akira(&["run", app("signed-hello").to_str().unwrap(), "--virtual-time"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains("signed-hello info: signature of the message: valid; of another: invalid"), "{out}");
    assert!(out.contains("signed-hello rng 16 bytes"), "{out}");
    assert!(out.contains("signed-hello info: challenge answered: "), "{out}");
    assert!(out.contains("signed-hello info: sha256(\"abc\") starts ba78"), "{out}");
    // Two signature checks are charged 100 000 fuel each.
    let fuel: u64 = err
        .lines()
        .find(|l| l.contains("signed-hello") && l.contains("exited (0)"))
        .and_then(|l| l.split_whitespace().nth(4))
        .and_then(|f| f.parse().ok())
        .expect("summary line");
    assert!(fuel > 200_000, "{fuel} fuel:\n{err}");
}

#[test]
fn counter_store_counts_boots_across_runs_in_its_storage_file() {
    let flash = tmp("counter-store.flash");
    let _ = std::fs::remove_file(&flash);
    let run = || {
        let o = akira(&[
            "run",
            app("counter-store").to_str().unwrap(),
            "--virtual-time",
            "--storage",
            flash.to_str().unwrap(),
        ]);
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
        out
    };
    let first = run();
    assert!(first.contains("counter-store info: boot count: 1"), "{first}");
    assert!(first.contains("storage get \"boots\" -> no such resource on this board (AKIRA_ENORES)"), "{first}");
    assert!(first.contains("storage set \"too-big\" 64 bytes -> no space left (AKIRA_ENOSPC)"), "{first}");
    assert!(first.contains("counter-store info: using 9 of 64 bytes"), "{first}");
    let second = run();
    assert!(second.contains("storage get \"boots\" -> 4 bytes"), "{second}");
    assert!(second.contains("counter-store info: boot count: 2"), "{second}");
    // Without the file, the store starts empty again.
    let o = akira(&["run", app("counter-store").to_str().unwrap(), "--virtual-time"]);
    assert!(text(&o).0.contains("boot count: 1"));
    let _ = std::fs::remove_file(&flash);
}

#[test]
fn display_demo_saves_its_flushed_frame_as_a_png() {
    let dir = tmp("display-out");
    let _ = std::fs::remove_dir_all(&dir);
    let o = akira(&[
        "run",
        app("display-demo").to_str().unwrap(),
        "--virtual-time",
        "--display-out",
        dir.to_str().unwrap(),
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains("display-demo info: screen 240 x 135"), "{out}");
    assert!(out.contains("display-demo display blit 16x16 at (200, 100)"), "{out}");
    assert!(out.contains("display-demo display frame 1 shown"), "{out}");
    assert!(err.contains("1 display frame(s) saved in"), "{err}");
    let png = std::fs::read(dir.join("frame-0001.png")).expect("the frame was saved");
    let mut reader = png::Decoder::new(std::io::Cursor::new(png)).read_info().unwrap();
    let mut rgb = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut rgb).unwrap();
    assert_eq!((info.width, info.height, info.color_type), (240, 135, png::ColorType::Rgb));
    let at = |x: usize, y: usize| [rgb[(y * 240 + x) * 3], rgb[(y * 240 + x) * 3 + 1], rgb[(y * 240 + x) * 3 + 2]];
    assert_eq!(at(0, 0), [255, 255, 255], "the white frame around the screen");
    assert_eq!(at(239, 134), [255, 255, 255]);
    assert_eq!(at(10, 10), [255, 0, 0], "the filled red rectangle");
    assert_eq!(at(69, 49), [255, 0, 0]);
    assert_eq!(at(80, 10), [255, 255, 0], "the yellow outline");
    let background = at(5, 120);
    assert_eq!(at(100, 30), background, "inside the outline");
    assert_ne!(background, [0, 0, 0], "the background was filled");
    assert_eq!((at(150, 10), at(229, 49)), ([0, 255, 0], [0, 255, 0]), "the green line's ends");
    assert_eq!((at(150, 49), at(229, 10)), ([0, 255, 255], [0, 255, 255]), "the cyan line's ends");
    assert_eq!(at(200, 100), [255, 0, 255], "the blitted checkerboard");
    assert_eq!(at(204, 100), [255, 255, 255]);
    assert_eq!(at(204, 104), [255, 0, 255]);
    let lit = (10..40).flat_map(|x| (62..72).map(move |y| (x, y))).filter(|&(x, y)| at(x, y) == [255, 255, 255]);
    assert!(lit.count() > 30, "\"Akira\" in white");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hid_keys_types_a_line_when_the_button_event_arrives() {
    let o = akira(&[
        "run",
        app("hid-keys").to_str().unwrap(),
        "--virtual-time",
        "--press",
        "0@200ms",
        "--press",
        "1@500ms",
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(err.contains("granted hid (keyboard, consumer), log"), "{err}");
    let reports: Vec<&str> = out.lines().filter(|l| l.contains("hid-keys     hid ")).collect();
    assert_eq!(reports.len(), 2 * 18 + 2, "a press and a release per character, two media reports:\n{out}");
    assert!(reports.iter().take(36).all(|l| l.starts_with("[   0.200000s]")), "typed when button 0 went down:\n{out}");
    assert_eq!(reports[0], "[   0.200000s] hid-keys     hid keyboard [02 00 0b 00 00 00 00 00] types 'H'");
    assert_eq!(reports[1], "[   0.200000s] hid-keys     hid keyboard [00 00 00 00 00 00 00 00]");
    assert_eq!(reports[35], "[   0.200000s] hid-keys     hid keyboard [00 00 00 00 00 00 00 00]");
    let typed: String = reports
        .iter()
        .filter_map(|l| l.split_once(" types ").map(|(_, c)| c.trim_matches('\'')))
        .map(|c| if c == "\\n" { "\n" } else { c })
        .collect();
    assert_eq!(typed, "Hello from Akira!\n", "what the host sees");
    assert_eq!(
        reports[36..],
        ["[   0.500000s] hid-keys     hid consumer [e9 00]", "[   0.500000s] hid-keys     hid consumer [00 00]"]
    );
    assert!(out.contains("[   0.500000s] hid-keys     info: volume up"), "{out}");
    assert!(err.contains("every app waits for input no one will give"), "{err}");
}
