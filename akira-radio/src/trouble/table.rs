//! An app's GATT table as trouble-host's attribute table, and the ATT
//! handles that map centrals' writes back to the app's characteristics.

use akira_bridge::modules::gatt::{GattEvent as AppEvent, Uuid as AppUuid};
use akira_bridge::modules::gatt::{MAX_CHARACTERISTICS, MAX_VALUE, Value, property};
use akira_bridge::{Errno, GattTable};
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use trouble_host::att::AttErrorCode;
use trouble_host::prelude::{
    AttributeTable, Characteristic, CharacteristicProp, CharacteristicProps, Service, Uuid as HostUuid,
};

/// An app's UUID as trouble-host's: both carry 128-bit UUIDs least
/// significant byte first, as ATT does.
pub fn host_uuid(uuid: &AppUuid) -> HostUuid {
    match uuid {
        AppUuid::Short(u) => HostUuid::new_short(*u),
        AppUuid::Long(bytes) => HostUuid::new_long(*bytes),
    }
}

/// An app's [`property`] bits as trouble-host's characteristic properties.
pub fn host_props(properties: u8) -> CharacteristicProps {
    let all = [
        (property::READ, CharacteristicProp::Read),
        (property::WRITE_WITHOUT_RESPONSE, CharacteristicProp::WriteWithoutResponse),
        (property::WRITE, CharacteristicProp::Write),
        (property::NOTIFY, CharacteristicProp::Notify),
    ];
    let mut props = [CharacteristicProp::Read; 4];
    let mut n = 0;
    for (bit, prop) in all {
        if properties & bit != 0 {
            props[n] = prop;
            n += 1;
        }
    }
    CharacteristicProps::from(&props[..n])
}

/// The ATT handles of an app's characteristics, by Akira handle.
#[derive(Debug, Default)]
pub struct Handles {
    characteristics: [Option<Characteristic<[u8]>>; MAX_CHARACTERISTICS],
    lengths: [u8; MAX_CHARACTERISTICS],
}

impl Handles {
    /// Characteristic `handle`'s value handle and client configuration
    /// handle (`None` for one without notifications).
    pub fn att(&self, handle: u8) -> Option<(u16, Option<u16>)> {
        let c = self.characteristics.get(usize::from(handle))?.as_ref()?;
        Some((c.handle, c.cccd_handle))
    }

    pub(super) fn get(&self, handle: u8) -> Result<&Characteristic<[u8]>, Errno> {
        self.characteristics.get(usize::from(handle)).and_then(Option::as_ref).ok_or(Errno::Invalid)
    }

    /// What a central's write of `data` at `offset` to ATT handle
    /// `att` means for the app: `Ok(None)` for a handle that is not an
    /// app's value or configuration, or a configuration write that sets
    /// nothing it reads. `Err` carries the ATT error for a value longer
    /// than the characteristic or a write at an offset.
    pub fn write(&self, att: u16, offset: usize, data: &[u8]) -> Result<Option<AppEvent>, AttErrorCode> {
        for (i, c) in self.characteristics.iter().enumerate() {
            let Some(c) = c else { continue };
            let characteristic = i as u8;
            if c.handle == att {
                if offset != 0 {
                    return Err(AttErrorCode::INVALID_OFFSET);
                }
                if data.len() > usize::from(self.lengths[i]) {
                    return Err(AttErrorCode::INVALID_ATTRIBUTE_VALUE_LENGTH);
                }
                let value = Value::new(data).map_err(|_| AttErrorCode::INVALID_ATTRIBUTE_VALUE_LENGTH)?;
                return Ok(Some(AppEvent::Written { characteristic, value }));
            }
            if c.cccd_handle == Some(att) {
                // Bit 0 of the configuration: notifications.
                return Ok(match data.first() {
                    Some(b) if b & 1 != 0 => Some(AppEvent::Subscribed { characteristic }),
                    Some(_) => Some(AppEvent::Unsubscribed { characteristic }),
                    None => None,
                });
            }
        }
        Ok(None)
    }
}

/// Builds an app's table into `attributes`, giving each characteristic
/// its maximum length of `store` (values start empty). Services keep
/// their order; each service's characteristics follow it in the order
/// declared. [`Errno::NoSpace`] if `store` or the attribute table is too
/// small for it.
pub fn build_table<'v, const N: usize>(
    table: &GattTable,
    mut store: &'v mut [u8],
    attributes: &mut AttributeTable<'v, NoopRawMutex, N>,
) -> Result<Handles, Errno> {
    let needed = table.services().len()
        + table.characteristics().iter().map(|c| if c.has(property::NOTIFY) { 3 } else { 2 }).sum::<usize>();
    if needed + attributes.len() > N {
        return Err(Errno::NoSpace);
    }
    let mut handles = Handles::default();
    for (s, uuid) in table.services().iter().enumerate() {
        let mut service = attributes.add_service(Service::new(host_uuid(uuid)));
        for (i, c) in table.characteristics().iter().enumerate() {
            if usize::from(c.service) != s {
                continue;
            }
            let len = usize::from(c.max_len);
            if len > store.len() {
                return Err(Errno::NoSpace);
            }
            let (slot, rest) = core::mem::take(&mut store).split_at_mut(len);
            store = rest;
            let empty: heapless::Vec<u8, MAX_VALUE> = heapless::Vec::new();
            let built =
                service.add_characteristic(host_uuid(&c.uuid), host_props(c.properties), empty, slot).build().to_raw();
            handles.characteristics[i] = Some(built);
            handles.lengths[i] = c.max_len;
        }
        service.build();
    }
    Ok(handles)
}
