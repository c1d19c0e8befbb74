//! The bridge links exactly the ABI: each built-in module's spec is
//! `akira-abi`'s module of that name, with the capability the ABI names.

use akira_bridge::Errno;
use akira_bridge::akira_caps::ModuleSpec;
use akira_bridge::modules::{
    adc, app, ble, crypto, display, gpio, hid, i2c, ipc, log, net, ota, pwm, rf, rng, sensor, spi, storage, sys, timer,
    uart,
};

/// Every module of the crate, in the ABI's order.
const SPECS: [&ModuleSpec; 21] = [
    &log::SPEC,
    &timer::SPEC,
    &gpio::SPEC,
    &sys::SPEC,
    &i2c::SPEC,
    &spi::SPEC,
    &uart::SPEC,
    &pwm::SPEC,
    &adc::SPEC,
    &sensor::SPEC,
    &rng::SPEC,
    &crypto::SPEC,
    &storage::SPEC,
    &ota::SPEC,
    &display::SPEC,
    &hid::SPEC,
    &rf::SPEC,
    &ble::SPEC,
    &ipc::SPEC,
    &net::SPEC,
    &app::SPEC,
];

#[test]
fn every_abi_module_is_a_spec_with_its_capability_and_functions() {
    for (spec, abi) in SPECS.iter().zip(akira_abi::MODULES) {
        assert_eq!(spec.import, abi.import);
        assert_eq!(spec.capability.name(), abi.capability, "{}: capability", abi.import);
        assert_eq!(spec.functions, abi.functions, "{}: functions are the ABI's", abi.import);
    }
    assert_eq!(SPECS.len(), akira_abi::MODULES.len());
}

/// `Errno` is the firmware's side of the ABI's error table.
#[test]
fn errno_is_the_abi_error_table() {
    assert_eq!(Errno::ALL.len(), akira_abi::ERRORS.len());
    for (e, abi) in Errno::ALL.iter().zip(&akira_abi::ERRORS) {
        assert_eq!((e.code(), e.name(), e.describe()), (abi.code, abi.name, abi.meaning));
    }
}

/// The WASI module links exactly `akira-abi`'s WASI preview 1.
#[cfg(feature = "wasi")]
#[test]
fn the_wasi_module_is_the_abis() {
    let spec = &akira_bridge::modules::wasi::SPEC;
    assert_eq!(spec.import, akira_abi::WASI.import);
    assert_eq!(spec.capability.name(), akira_abi::WASI.capability);
    assert_eq!(spec.functions, akira_abi::WASI.functions);
    assert_eq!(spec.functions.len(), 46, "every function of preview 1");
}
