use akira_bridge::GattDeclaration;
use akira_bridge::modules::gatt::Characteristic as AppCharacteristic;
use akira_bridge::modules::gatt::{Uuid as AppUuid, property};
use trouble_host::att::AttErrorCode;
use trouble_host::prelude::Uuid as HostUuid;

use super::*;

const PRIMARY_SERVICE: u16 = 0x2800;
const CHARACTERISTIC: u16 = 0x2803;
const CLIENT_CONFIGURATION: u16 = 0x2902;

fn long() -> [u8; 16] {
    core::array::from_fn(|i| i as u8)
}

/// Environmental sensing (0x181a) and a vendor service with a 128-bit
/// UUID, the characteristics declared interleaved.
fn app_table() -> GattTable {
    let mut t = GattTable::EMPTY;
    let chr = |service, uuid, properties, max_len| {
        GattDeclaration::Characteristic(AppCharacteristic { service, uuid, properties, max_len })
    };
    t.declare(GattDeclaration::Service(AppUuid::Short(0x181a))).unwrap();
    t.declare(GattDeclaration::Service(AppUuid::Long(long()))).unwrap();
    // 0: temperature, read and notify, on service 0.
    t.declare(chr(0, AppUuid::Short(0x2a6e), property::READ | property::NOTIFY, 2)).unwrap();
    // 1: a vendor command, writes only, on service 1.
    t.declare(chr(1, AppUuid::Long([0xee; 16]), property::WRITE | property::WRITE_WITHOUT_RESPONSE, 8)).unwrap();
    // 2: humidity, read, on service 0.
    t.declare(chr(0, AppUuid::Short(0x2a6f), property::READ, 64)).unwrap();
    t
}

fn read(attributes: &Table<'_>, handle: u16) -> heapless::Vec<u8, 64> {
    let mut buf = [0u8; 64];
    let n = attributes.read(handle, 0, &mut buf).unwrap();
    heapless::Vec::from_slice(&buf[..n]).unwrap()
}

#[test]
fn an_app_table_becomes_services_characteristics_and_configurations() {
    let mut store = [0u8; VALUE_BYTES];
    let mut attributes: Table<'_> = AttributeTable::new();
    let handles = build_table(&app_table(), &mut store, &mut attributes).unwrap();
    // Service 0 (1), temperature (2 declaration, 3 value, 4
    // configuration), humidity (5, 6), service 1 (7), command (8, 9).
    assert_eq!(attributes.len(), 9);
    assert_eq!(handles.att(0), Some((3, Some(4))));
    assert_eq!(handles.att(2), Some((6, None)), "no notifications, no configuration");
    assert_eq!(handles.att(1), Some((9, None)));
    assert_eq!(handles.att(3), None);
    let uuid = |h| attributes.uuid(h).unwrap();
    assert_eq!(uuid(1), HostUuid::new_short(PRIMARY_SERVICE));
    assert_eq!(uuid(7), HostUuid::new_short(PRIMARY_SERVICE));
    for h in [2, 5, 8] {
        assert_eq!(uuid(h), HostUuid::new_short(CHARACTERISTIC));
    }
    assert_eq!(uuid(4), HostUuid::new_short(CLIENT_CONFIGURATION));
    assert_eq!(uuid(3), HostUuid::new_short(0x2a6e));
    assert_eq!(uuid(9), HostUuid::new_long([0xee; 16]));
    // A service declaration's value is its UUID as ATT carries it,
    // least significant byte first, as apps give it.
    assert_eq!(read(&attributes, 1)[..], [0x1a, 0x18]);
    assert_eq!(read(&attributes, 7)[..], long());
    // A characteristic declaration: properties, value handle, UUID.
    assert_eq!(read(&attributes, 2)[..], [0x12, 3, 0, 0x6e, 0x2a]);
    assert_eq!(read(&attributes, 5)[..], [0x02, 6, 0, 0x6f, 0x2a]);
    let command = read(&attributes, 8);
    assert_eq!(command[..3], [0x0c, 9, 0]);
    assert_eq!(command[3..], [0xee; 16]);
    // Values start empty; reads and writes as the properties allow.
    assert!(read(&attributes, 3).is_empty());
    let permissions = |h| attributes.permissions(h).unwrap();
    assert_eq!(permissions(3).read, trouble_host::prelude::PermissionLevel::Allowed);
    assert_eq!(permissions(3).write, trouble_host::prelude::PermissionLevel::NotAllowed);
    assert_eq!(permissions(9).read, trouble_host::prelude::PermissionLevel::NotAllowed);
    assert_eq!(permissions(9).write, trouble_host::prelude::PermissionLevel::Allowed);
    // Each value holds its characteristic's maximum length.
    assert!(attributes.write(6, 0, &[7; 64]).is_ok());
    assert!(attributes.write(3, 0, &[1, 2, 3]).is_err(), "temperature holds 2 bytes");
    assert!(attributes.write(3, 0, &[1, 2]).is_ok());
    assert_eq!(read(&attributes, 3)[..], [1, 2]);
    assert_eq!(read(&attributes, 6)[..], [7; 64]);
}

#[test]
fn set_values_are_what_a_central_reads() {
    let mut store = [0u8; VALUE_BYTES];
    let mut attributes: Table<'_> = AttributeTable::new();
    let handles = build_table(&app_table(), &mut store, &mut attributes).unwrap();
    let server: Server<'_, DefaultPacketPool> = AttributeServer::new(attributes);
    assert_eq!(set(&server, &handles, 2, &Value::new(b"55%").unwrap()), Ok(()));
    assert_eq!(set(&server, &handles, 0, &Value::new(&[0x10, 0x09]).unwrap()), Ok(()));
    assert_eq!(set(&server, &handles, 0, &Value::new(&[1, 2, 3]).unwrap()), Err(Errno::Io), "too long");
    assert_eq!(set(&server, &handles, 3, &Value::EMPTY), Err(Errno::Invalid), "no such characteristic");
    assert_eq!(read(server.table(), 6)[..], *b"55%");
    assert_eq!(read(server.table(), 3)[..], [0x10, 0x09]);
    // A shorter value replaces a longer one.
    assert_eq!(set(&server, &handles, 2, &Value::new(b"7").unwrap()), Ok(()));
    assert_eq!(read(server.table(), 6)[..], *b"7");
}

#[test]
fn writes_and_subscriptions_become_app_events() {
    let mut store = [0u8; VALUE_BYTES];
    let mut attributes: Table<'_> = AttributeTable::new();
    let handles = build_table(&app_table(), &mut store, &mut attributes).unwrap();
    let written = handles.write(9, 0, b"go").unwrap().unwrap();
    assert_eq!(written, AppEvent::Written { characteristic: 1, value: Value::new(b"go").unwrap() });
    assert_eq!(handles.write(9, 0, &[0; 9]), Err(AttErrorCode::INVALID_ATTRIBUTE_VALUE_LENGTH));
    assert_eq!(handles.write(9, 1, b"o"), Err(AttErrorCode::INVALID_OFFSET));
    assert_eq!(handles.write(4, 0, &[1, 0]), Ok(Some(AppEvent::Subscribed { characteristic: 0 })));
    assert_eq!(handles.write(4, 0, &[0, 0]), Ok(Some(AppEvent::Unsubscribed { characteristic: 0 })));
    assert_eq!(handles.write(4, 0, &[2, 0]), Ok(Some(AppEvent::Unsubscribed { characteristic: 0 })), "indicate");
    assert_eq!(handles.write(4, 0, &[]), Ok(None));
    assert_eq!(handles.write(1, 0, &[0]), Ok(None), "not an app's attribute");
    assert_eq!(handles.write(40, 0, &[0]), Ok(None));
}

#[test]
fn properties_map_bit_for_bit() {
    for bits in 1..=property::ALL {
        if bits & !property::ALL != 0 {
            continue;
        }
        assert_eq!(host_props(bits).to_raw(), bits, "{bits:#04x}");
    }
    assert!(host_props(property::NOTIFY).has_cccd());
    assert!(!host_props(property::READ | property::WRITE).has_cccd());
}

#[test]
fn uuids_keep_their_byte_order() {
    assert_eq!(host_uuid(&AppUuid::Short(0x181a)).as_raw(), [0x1a, 0x18]);
    assert_eq!(host_uuid(&AppUuid::Long(long())).as_raw(), long());
    let from_app = AppUuid::from_le_bytes(&long()).unwrap();
    assert_eq!(host_uuid(&from_app), HostUuid::new_long(long()));
}

#[test]
fn a_table_beyond_the_bounds_is_refused_without_a_panic() {
    let mut t = GattTable::EMPTY;
    t.declare(GattDeclaration::Service(AppUuid::Short(1))).unwrap();
    for _ in 0..MAX_CHARACTERISTICS {
        t.declare(GattDeclaration::Characteristic(AppCharacteristic {
            service: 0,
            uuid: AppUuid::Short(2),
            properties: property::NOTIFY,
            max_len: 32,
        }))
        .unwrap();
    }
    // The largest table fits the bounds.
    let mut store = [0u8; VALUE_BYTES];
    let mut attributes: Table<'_> = AttributeTable::new();
    assert!(build_table(&t, &mut store, &mut attributes).is_ok());
    assert_eq!(attributes.len(), 1 + 3 * MAX_CHARACTERISTICS);
    // Less storage or fewer attributes than it needs.
    let mut small = [0u8; VALUE_BYTES - 1];
    let mut attributes: Table<'_> = AttributeTable::new();
    assert_eq!(build_table(&t, &mut small, &mut attributes).err(), Some(Errno::NoSpace));
    let mut store = [0u8; VALUE_BYTES];
    let mut few: AttributeTable<'_, NoopRawMutex, 24> = AttributeTable::new();
    assert_eq!(build_table(&t, &mut store, &mut few).err(), Some(Errno::NoSpace));
    assert_eq!(few.len(), 0, "nothing added");
}
