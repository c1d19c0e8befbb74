//! Radio input from the air and the controller: HCI events (advertising
//! reports among them) through `akira_radio::ble::scan_reports`, and a
//! central's GATT writes to an app's table built into trouble-host's
//! attribute table (`Handles::write`). The first byte picks which.
//! Besides not panicking: every report carries at most 31 bytes of
//! advertising data, and a write the app hears is never longer than its
//! characteristic.

#![no_main]

use akira_bridge::modules::gatt::{Characteristic, GattEvent, Uuid};
use akira_bridge::{GattDeclaration, GattTable};
use akira_radio::ble::scan_reports;
use akira_radio::trouble::build_table;
use arbitrary::{Arbitrary, Unstructured};
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use libfuzzer_sys::fuzz_target;
use trouble_host::prelude::AttributeTable;

#[derive(Arbitrary, Debug)]
enum Declare {
    Service(u16),
    LongService([u8; 16]),
    Characteristic { service: u8, uuid: u16, properties: u8, max_len: u8 },
}

#[derive(Arbitrary, Debug)]
struct Write<'a> {
    att: u16,
    offset: u8,
    data: &'a [u8],
}

#[derive(Arbitrary, Debug)]
struct Gatt<'a> {
    declarations: Vec<Declare>,
    writes: Vec<Write<'a>>,
}

fn gatt(input: Gatt<'_>) {
    let mut table = GattTable::EMPTY;
    for d in input.declarations {
        let declaration = match d {
            Declare::Service(u) => GattDeclaration::Service(Uuid::Short(u)),
            Declare::LongService(u) => GattDeclaration::Service(Uuid::Long(u)),
            Declare::Characteristic { service, uuid, properties, max_len } => {
                GattDeclaration::Characteristic(Characteristic {
                    service,
                    uuid: Uuid::Short(uuid),
                    properties,
                    max_len,
                })
            }
        };
        let _ = table.declare(declaration);
    }
    let mut store = [0u8; 1024];
    let mut attributes = AttributeTable::<NoopRawMutex, 64>::new();
    let Ok(handles) = build_table(&table, &mut store, &mut attributes) else { return };
    for w in input.writes {
        if let Ok(Some(GattEvent::Written { characteristic, value })) =
            handles.write(w.att, usize::from(w.offset), w.data)
        {
            let c = table.characteristic(characteristic).expect("a write names a declared characteristic");
            assert!(value.as_bytes().len() <= usize::from(c.max_len), "a write longer than its characteristic");
            assert_eq!(value.as_bytes(), w.data);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode & 1 == 0 {
        scan_reports(rest, &mut |report| assert!(report.data.as_bytes().len() <= 31));
    } else if let Ok(input) = Gatt::arbitrary_take_rest(Unstructured::new(rest)) {
        gatt(input);
    }
});
