use super::*;

fn pins(list: &[u32]) -> PinSet {
    list.iter().copied().collect()
}

#[test]
fn gpio_beyond_policy_names_pin_and_direction() {
    let want =
        CapabilitySet { gpio: Some(GpioScope::new(pins(&[0]), pins(&[2, 7]), PinSet::EMPTY)), ..Default::default() };
    let allow =
        CapabilitySet { gpio: Some(GpioScope::new(pins(&[0]), pins(&[2]), PinSet::EMPTY)), ..Default::default() };
    let err = want.check_within(&allow).unwrap_err();
    assert_eq!(err.capability, "gpio");
    assert_eq!(err.detail, "output pin 7");
}

#[test]
fn absent_in_policy_is_refused() {
    let want = CapabilitySet { log: true, timer: true, ..Default::default() };
    let allow = CapabilitySet { log: true, ..Default::default() };
    let err = want.check_within(&allow).unwrap_err();
    assert_eq!(err.capability, "timer");
    assert!(err.detail.is_empty());
}

#[test]
fn edge_pins_are_inputs() {
    let g = GpioScope::new(PinSet::EMPTY, PinSet::EMPTY, pins(&[3]));
    assert!(g.input.contains(3));
}

#[test]
fn everything_allows_any_builtin_request() {
    let mut endpoints = heapless::Vec::new();
    endpoints.push(Endpoint { host: HostName::try_from("example.com").unwrap(), port: 443 }).unwrap();
    let want = CapabilitySet {
        gpio: Some(GpioScope::new(pins(&[1]), pins(&[63]), pins(&[5]))),
        storage: Some(StorageScope::with_quota(4096)),
        net: Some(Box::new(NetScope { endpoints, ..Default::default() })),
        display: Some(DisplayScope { x: 10, y: 10, width: 50, height: 20 }),
        log: true,
        ..Default::default()
    };
    want.check_within(&CapabilitySet::everything()).unwrap();
}

#[test]
fn vendor_needs_policy_by_name() {
    let mut want = CapabilitySet::default();
    want.vendor.push(VendorScope { name: short_name("acme:valve"), ids: [0, 1].into_iter().collect() }).unwrap();
    let err = want.check_within(&CapabilitySet::everything()).unwrap_err();
    assert_eq!(err.capability, "acme:valve");
    let mut allow = CapabilitySet::default();
    allow.vendor.push(VendorScope { name: short_name("acme:valve"), ids: [0].into_iter().collect() }).unwrap();
    let err = want.check_within(&allow).unwrap_err();
    assert_eq!(err.detail, "id 1");
}

#[test]
fn ble_beyond_policy_names_role_floor_or_rate() {
    let policy = BleScope { roles: [ble::SCAN].into_iter().collect(), ..Default::default() };
    let allow = CapabilitySet { ble: Some(policy), ..Default::default() };
    let ask = |b: BleScope| CapabilitySet { ble: Some(b), ..Default::default() }.check_within(&allow);
    assert_eq!(ask(BleScope::with_roles([ble::ADVERTISE].into_iter().collect())).unwrap_err().detail, "advertise");
    let scan = BleScope::with_roles([ble::SCAN].into_iter().collect());
    ask(scan).unwrap();
    ask(BleScope { min_adv_interval_ms: 500, ..scan }).unwrap();
    let e = ask(BleScope { min_adv_interval_ms: 20, ..scan }).unwrap_err();
    assert_eq!(e.detail, "advertising interval 20 ms (policy allows 100 ms and up)");
    let e = ask(BleScope { adv_changes_per_s: 5, ..scan }).unwrap_err();
    assert_eq!(e.detail, "5 advertising data changes per second (policy allows 1)");
    let everything = BleScope { adv_changes_per_s: 1000, min_adv_interval_ms: 20, ..scan };
    CapabilitySet { ble: Some(everything), ..Default::default() }.check_within(&CapabilitySet::everything()).unwrap();
}

#[test]
fn display_region_containment() {
    let screen = DisplayScope { x: 0, y: 0, width: 240, height: 135 };
    assert!(screen.contains_rect(0, 0, 240, 135));
    assert!(!screen.contains_rect(1, 0, 240, 135));
    assert!(!screen.contains_rect(u32::MAX, 0, 2, 2), "no overflow");
}
