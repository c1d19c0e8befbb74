use super::*;
use crate::errno::Errno;

fn chr(service: u8, properties: u8, max_len: u8) -> GattDeclaration {
    GattDeclaration::Characteristic(Characteristic { service, uuid: Uuid::Short(0x2a6e), properties, max_len })
}

#[test]
fn the_table_is_bounded() {
    let mut t = GattTable::EMPTY;
    assert_eq!(t.declare(chr(0, property::READ, 4)), Err(Errno::Invalid), "no service yet");
    assert_eq!(t.declare(GattDeclaration::Service(Uuid::Short(0x181a))), Ok(0));
    assert_eq!(t.declare(GattDeclaration::Service(Uuid::Long([7; 16]))), Ok(1));
    assert_eq!(t.declare(GattDeclaration::Service(Uuid::Short(1))), Err(Errno::NoSpace));
    assert_eq!(t.declare(chr(2, property::READ, 4)), Err(Errno::Invalid), "no such service");
    assert_eq!(t.declare(chr(0, 0, 4)), Err(Errno::Invalid), "no properties");
    assert_eq!(t.declare(chr(0, 0x01, 4)), Err(Errno::Invalid), "broadcast is not supported");
    assert_eq!(t.declare(chr(0, property::READ, 0)), Err(Errno::Invalid));
    assert_eq!(t.declare(chr(0, property::READ, 65)), Err(Errno::TooLarge));
    for i in 0..4 {
        assert_eq!(t.declare(chr(i % 2, property::READ | property::NOTIFY, 64)), Ok(i));
    }
    assert_eq!(t.declare(chr(0, property::READ, 1)), Err(Errno::NoSpace), "256 value bytes used");
    assert_eq!(t.characteristics().len(), 4);
    let mut t = GattTable::EMPTY;
    t.declare(GattDeclaration::Service(Uuid::Short(0x181a))).unwrap();
    for i in 0..8 {
        assert_eq!(t.declare(chr(0, property::WRITE, 1)), Ok(i));
    }
    assert_eq!(t.declare(chr(0, property::WRITE, 1)), Err(Errno::NoSpace), "eight characteristics");
    assert_eq!(t.check(&GattJob::SetValue(7), 1), Ok(()));
    assert_eq!(t.check(&GattJob::SetValue(7), 2), Err(Errno::TooLarge));
    assert_eq!(t.check(&GattJob::SetValue(8), 0), Err(Errno::Invalid));
    assert_eq!(t.check(&GattJob::Notify(0), 1), Err(Errno::Invalid), "not notifiable");
}

#[test]
fn uuids_and_event_encoding() {
    assert_eq!(Uuid::from_le_bytes(&[0x1a, 0x18]), Ok(Uuid::Short(0x181a)));
    assert_eq!(Uuid::from_le_bytes(&[0; 3]), Err(Errno::Invalid));
    let mut long = [0u8; 16];
    long[15] = 0x12;
    long[0] = 0xf0;
    let u = Uuid::from_le_bytes(&long).unwrap();
    assert_eq!(u.to_string(), "12000000-0000-0000-0000-0000000000f0");
    assert_eq!(Uuid::Short(0x2a6e).to_string(), "2a6e");
    let mut out = [0u8; MAX_EVENT];
    let connected = GattEvent::Connected { address: [1, 2, 3, 4, 5, 6], address_kind: 1 };
    assert_eq!(connected.encode(&mut out), 11);
    assert_eq!(out[..11], [1, 0, 7, 0, 1, 2, 3, 4, 5, 6, 1]);
    let written = GattEvent::Written { characteristic: 3, value: Value::new(b"abc").unwrap() };
    assert_eq!(written.encode(&mut out[..6]), 6, "cut to the buffer");
    assert_eq!(out[..6], [3, 3, 2, 0, b'a', b'b']);
    assert_eq!(GattEvent::Disconnected { reason: 0x13 }.encode(&mut out), 5);
    assert_eq!(out[..5], [2, 0, 1, 0, 0x13]);
    assert_eq!(GattEvent::Unsubscribed { characteristic: 2 }.encode(&mut out[..3]), 0);
}
