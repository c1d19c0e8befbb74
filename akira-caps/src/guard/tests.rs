use super::*;
use crate::scope::{BleScope, GpioScope, IpcScope, RfScope, Topic, VendorScope, ble};

fn guard() -> Guard {
    let mut caps = CapabilitySet {
        gpio: Some(GpioScope::new([0].into_iter().collect(), [2].into_iter().collect(), [4].into_iter().collect())),
        uart: Some([1].into_iter().collect()),
        ..Default::default()
    };
    let mut bands = heapless::Vec::new();
    bands.push(Band { from_hz: 863_000_000, to_hz: 870_000_000 }).unwrap();
    caps.rf = Some(RfScope { bands, max_power_dbm: 14, duty_cycle_permille: 10 });
    let mut ipc = IpcScope::default();
    ipc.publish.push(Topic::try_from("temp").unwrap()).unwrap();
    caps.ipc = Some(Box::new(ipc));
    caps.vendor
        .push(VendorScope { name: crate::manifest::short_name("acme:valve"), ids: [7].into_iter().collect() })
        .unwrap();
    Guard::new(Grants::compile(&caps))
}

#[test]
fn pins_by_direction() {
    let mut g = guard();
    assert!(g.pin(2, PinAccess::Output).is_ok());
    assert!(g.pin(0, PinAccess::Input).is_ok());
    assert!(g.pin(4, PinAccess::Input).is_ok(), "edge pins are inputs");
    assert!(g.pin(4, PinAccess::Edge).is_ok());
    assert!(g.pin(2, PinAccess::Read).is_ok(), "outputs can be read back");
    assert!(g.pin(0, PinAccess::Read).is_ok());
    let d = g.pin(0, PinAccess::Output).unwrap_err();
    assert_eq!(d.resource, Resource::Pin { pin: 0, access: PinAccess::Output });
    assert!(g.pin(64, PinAccess::Output).is_err());
    assert!(g.pin(u32::MAX, PinAccess::Input).is_err());
    assert_eq!(g.denials(Capability::Gpio), 3);
    assert_eq!(g.total_denials(), 3);
}

#[test]
fn ids_are_per_capability() {
    let mut g = guard();
    assert!(g.id(Capability::Uart, 1).is_ok());
    assert!(g.id(Capability::Uart, 0).is_err());
    assert!(g.id(Capability::Spi, 1).is_err(), "uart grant does not leak to spi");
    assert!(g.id(Capability::Ipc, 0).is_ok(), "publish topic 0");
    assert!(g.subscribe(0).is_err(), "no subscribe topics");
    assert!(g.id(Capability::Ota, 0).is_err(), "ota has no id scope");
    assert_eq!(g.denials(Capability::Uart), 1);
    assert_eq!(g.denials(Capability::Ipc), 1);
}

#[test]
fn radio_band_and_power() {
    let mut g = guard();
    assert!(g.frequency(868_100_000).is_ok());
    assert!(g.frequency(915_000_000).is_err());
    assert!(g.power(14).is_ok());
    assert!(g.power(15).is_err());
    assert_eq!(g.denials(Capability::Rf), 2);
}

#[test]
fn duty_cycle_over_a_rolling_hour() {
    const MIN: u64 = 60_000_000;
    let mut g = guard();
    assert_eq!(g.grants().rf_airtime_budget_us(), 36_000_000, "1 % of an hour");
    // 30 s at minute 1, 6 s at minute 30: the budget is spent.
    g.airtime(MIN, 30_000_000).unwrap();
    g.airtime(30 * MIN, 6_000_000).unwrap();
    let e = g.airtime(31 * MIN, 1).unwrap_err();
    assert_eq!(e, AirtimeExhausted { asked_us: 1, used_us: 36_000_000, budget_us: 36_000_000 });
    assert_eq!(g.denials(Capability::Rf), 0, "not a denial: the grant allows rf");
    // Still within an hour of minute 1.
    assert!(g.airtime(60 * MIN, 1).is_err());
    assert_eq!(g.airtime_left(64 * MIN), 0);
    // Minute 1's bucket (0..5 min) leaves the window after 65 minutes.
    assert_eq!(g.airtime_left(65 * MIN), 30_000_000);
    g.airtime(65 * MIN, 30_000_000).unwrap();
    // Long silence: everything is forgotten.
    assert_eq!(g.airtime_left(1000 * MIN), 36_000_000);
    // A transmission never fits a budget smaller than itself.
    assert!(g.airtime(1000 * MIN, 36_000_001).is_err());
    assert_eq!(g.airtime_left(1000 * MIN), 36_000_000, "a refused transmission is not charged");
}

#[test]
fn ble_interval_floor_and_change_rate() {
    let scope =
        BleScope { roles: [ble::ADVERTISE].into_iter().collect(), min_adv_interval_ms: 100, adv_changes_per_s: 2 };
    let mut g = Guard::new(Grants::compile(&CapabilitySet { ble: Some(scope), ..Default::default() }));
    assert!(g.id(Capability::Ble, ble::ADVERTISE).is_ok());
    assert!(g.id(Capability::Ble, ble::SCAN).is_err());
    assert!(g.adv_interval(100).is_ok());
    assert_eq!(g.adv_interval(99).unwrap_err().resource, Resource::AdvInterval(99));
    assert_eq!(g.denials(Capability::Ble), 2);
    // Two changes in a second, then refused until the first leaves
    // the rolling second.
    g.adv_change(50_000).unwrap();
    g.adv_change(950_000).unwrap();
    assert_eq!(g.adv_change(1_050_000), Err(TooManyAdvChanges { per_second: 2 }));
    assert_eq!(g.denials(Capability::Ble), 2, "a rate refusal is not a denial");
    // The 0..100 ms bucket leaves the window 1.1 s in.
    g.adv_change(1_100_000).unwrap();
    assert!(g.adv_change(1_200_000).is_err());
    g.adv_change(100_000_000).unwrap();
}

#[test]
fn no_ble_grant_no_advertising() {
    let mut g = Guard::new(Grants::none());
    assert!(g.adv_interval(10_240).is_err());
    assert!(g.adv_change(0).is_err());
}

#[test]
fn no_rf_grant_no_airtime() {
    let mut g = Guard::new(Grants::none());
    assert!(g.airtime(0, 1).is_err());
    assert_eq!(g.airtime_left(0), 0);
}

#[test]
fn vendor_slots() {
    let mut g = guard();
    let slot = g.grants().vendor_slot("acme:valve").unwrap();
    assert!(g.grants().vendor_slot("acme:pump").is_none());
    assert!(g.vendor(slot, 7).is_ok());
    assert!(g.vendor(slot, 6).is_err());
    assert_eq!(g.vendor_denials(slot), 1);
}

#[test]
fn nothing_granted_denies_everything() {
    let mut g = Guard::new(Grants::none());
    assert!(g.grants().modules().is_empty());
    assert!(g.pin(0, PinAccess::Input).is_err());
    assert!(g.i2c(0, 0x48).is_err());
    assert!(g.display(0, 0, 1, 1).is_err());
    assert!(g.power(-10).is_err());
    assert!(g.frequency(0).is_err());
}

#[test]
fn denial_message() {
    let mut g = guard();
    let d = g.pin(7, PinAccess::Output).unwrap_err();
    let mut s = heapless::String::<64>::new();
    core::fmt::write(&mut s, format_args!("{d}")).unwrap();
    assert_eq!(s.as_str(), "gpio: output pin 7 is not granted");
}

#[test]
#[cfg(feature = "wasi")]
fn wasi_parts_are_checked_and_denials_counted() {
    use crate::scope::{WasiScope, wasi};
    let caps = CapabilitySet {
        wasi: Some(alloc::boxed::Box::new(WasiScope::with_parts([wasi::CONSOLE, wasi::CLOCK].into_iter().collect()))),
        ..Default::default()
    };
    let mut g = Guard::new(Grants::compile(&caps));
    assert!(g.grants().modules().contains(Capability::Wasi));
    assert!(g.id(Capability::Wasi, wasi::CONSOLE).is_ok());
    assert!(g.id(Capability::Wasi, wasi::CLOCK).is_ok());
    let d = g.id(Capability::Wasi, wasi::FILES).unwrap_err();
    assert_eq!(d.to_string(), "wasi: part files is not granted");
    assert_eq!(g.denials(Capability::Wasi), 1);
}

#[test]
fn an_app_holds_at_most_its_share_of_a_table() {
    let net = crate::scope::NetScope { sockets: 2, ..Default::default() };
    let mut g = Guard::new(Grants::compile(&CapabilitySet { net: Some(Box::new(net)), ..Default::default() }));
    assert_eq!(g.grants().share(Table::Sockets), 2);
    assert!(g.take(Table::Sockets).is_ok());
    assert!(g.take(Table::Sockets).is_ok());
    let d = g.take(Table::Sockets).unwrap_err();
    assert_eq!(d, Denial { capability: Denied::Builtin(Capability::Net), resource: Resource::Entry(Table::Sockets) });
    assert_eq!(d.to_string(), "net: a socket past the app's share is not granted");
    assert_eq!((g.held(Table::Sockets), g.denials(Capability::Net)), (2, 1), "nothing taken, the denial counted");
    g.give_back(Table::Sockets);
    assert!(g.take(Table::Sockets).is_ok(), "an entry given back can be taken again");
    // Without the capability the share is none.
    assert!(guard().take(Table::Sockets).is_err());
}
