//! What the bridge's documentation tests check against.

use akira_bridge::akira_caps::ModuleSpec;
use akira_bridge::modules::{
    adc, app, ble, crypto, display, gpio, hid, i2c, ipc, log, net, ota, pwm, rf, rng, sensor, spi, storage, sys, timer,
    uart,
};

/// Every module of the crate: those of `Bridge::with_all`, in its order
/// (the sandbox's install test checks that order against a real
/// `with_all` bridge), then the modules a firmware registers itself: the
/// radio (`akira:rf` over its radio task), and those over a firmware object
/// (`akira:ipc` over its broker, `akira:net` over its socket table,
/// `akira:app` over its lifecycle table).
pub const SPECS: &[&ModuleSpec] = &[
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
