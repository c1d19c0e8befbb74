use super::*;

#[test]
fn every_translated_import_has_a_shim_and_no_other_does() {
    for i in akiraos::IMPORTS {
        assert_eq!(shims::shim(i.name).is_some(), i.support.translated(), "{}", i.name);
    }
}

#[test]
fn every_shim_uses_only_abi_functions() {
    for i in akiraos::IMPORTS.iter().filter(|i| i.support.translated()) {
        for (m, f) in shims::shim(i.name).iter().flat_map(|s| s.imports()) {
            let _ = import_type(m, f);
        }
    }
}

/// Reads of inputs and clocks yield first, and the table says so.
#[test]
fn polling_shims_yield_and_the_table_says_which() {
    let polling: Vec<&str> =
        akiraos::IMPORTS.iter().filter(|i| shims::shim(i.name).is_some_and(|s| s.polls)).map(|i| i.name).collect();
    assert_eq!(
        polling,
        [
            "gpio_read",
            "sensor_read",
            "ble_event_pop",
            "msg_try_recv",
            "msg_pending",
            "rf_get_rssi",
            "timer_elapsed",
            "uart_read",
            "i2c_read_reg",
            "adc_read",
            "adc_read_mv",
            "input_get_buttons",
            "input_poll_event",
            "ble_scan_pop",
            "rf_recv_pop"
        ]
    );
    for i in akiraos::IMPORTS {
        let says = matches!(i.support, Support::Shim(d) | Support::Partly(d) if d.contains("yield_now"));
        assert_eq!(says, polling.contains(&i.name), "{}: the table's text", i.name);
    }
    for name in polling {
        let spec = shims::shim(name).unwrap();
        assert!(spec.imports().any(|i| *i == shims::YIELD), "{name}");
        assert!(spec.capabilities().any(|n| *n == Need::Sys), "{name}");
    }
}

#[test]
fn sensor_maps_with_bad_numbers_are_refused() {
    let profile = |sensor: &str| Profile::from_toml(&format!("[board]\nname = \"b\"\n[sensor]\n{sensor}"));
    assert!(profile("channels = { 13 = 0 }").is_ok());
    for bad in ["channels = { temp = 0 }", "channels = { 13 = 32 }"] {
        let e = profile(bad).unwrap_err().to_string();
        assert!(e.contains("sensor.channels"), "{bad}: {e}");
    }
}

#[test]
fn profile_app_and_topic_names_are_checked() {
    let profile = |t: &str| Profile::from_toml(&format!("[board]\nname = \"b\"\n{t}"));
    assert!(profile("[ipc]\nnames = [\"ping\"]\n[app]\nnames = [\"blinky\"]").is_ok());
    let nine = "[ipc]\nnames = [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", \"h\", \"i\"]";
    for bad in ["[ipc]\nnames = [\"\"]", "[app]\nnames = [\"Not An App\"]", nine] {
        let e = profile(bad).unwrap_err().to_string();
        assert!(e.contains(".names: "), "{bad}: {e}");
    }
}

#[test]
fn the_simulator_profile_reads() {
    let p = Profile::simulator();
    assert_eq!(p.pin(2), Some(2));
    assert_eq!(p.buttons().collect::<Vec<_>>(), [(6, 0), (7, 1)]);
}
