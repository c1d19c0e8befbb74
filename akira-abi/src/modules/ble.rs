//! `akira:ble`.

use crate::Ret;
use crate::Stability::Experimental;
use crate::Type::{I32, I64, Ptr, U32};
use crate::{CItem, Cost, Function, Module, Param, Pointee};

/// The `akira:ble` module.
pub static BLE: Module = Module {
    name: "ble",
    import: "akira:ble",
    capability: "ble",
    scope: r#""#,
    doc: r#"Bluetooth Low Energy advertising, scanning and a GATT peripheral on the
board's controller.
The manifest grants roles and two limits
(`ble = { roles = ["advertise", "scan"], min-adv-interval-ms = 100, adv-changes-per-second = 1 }`,
or just the list of roles with those defaults). Every call checks its role
(`advertise` and `advertise_stop`: `advertise`; `scan`, `scan_stop` and
`next_report`: `scan`); `advertise` also checks the interval against the
floor (`AKIRA_EDENIED`, counted) and counts one advertising data change
against the cap over any rolling second, kept in 100 ms buckets: beyond it
the call is `AKIRA_ENOSPC` (not a denial: the app may advertise again a
moment later). A refused call never reaches the controller.

Advertising is legacy advertising on the three advertising channels:
non-connectable, and scannable when the app gives a scan response. The
controller has one advertising set, shared by time: when several apps
advertise, each app's data is on air in turn for 500 ms (or one of its
intervals plus 10 ms, if longer), in app order, so each is on air again
within the other advertisers' turns. `advertise` puts the app's data on
air at once (its turn starts); calling it again updates the data and
interval. The firmware's table holds one entry per app. Scanning is shared: the first scanning app's interval and
window apply, later ones join, every scanning app receives every report,
and the controller stops when the last one calls `scan_stop`. Each app's
reports wait in a bounded queue (the firmware chooses its length); when
it is full the oldest report is dropped. `advertise`, `advertise_stop`,
`scan` and `scan_stop` suspend the app until the controller has carried
them out (`AKIRA_ETIMEDOUT` after one second); controller errors are
`AKIRA_EIO`.

A report, as `next_report` writes it: bytes 0–5 the advertiser's address
(least significant byte first), 6 its type (0 public, 1 random), 7 the
RSSI in dBm (`i8`), 8 the packet type (0 `ADV_IND`, 1 `ADV_DIRECT_IND`,
2 `ADV_SCAN_IND`, 3 `ADV_NONCONN_IND`, 4 `SCAN_RSP`), 9 the data length
`n`, then `n` bytes of advertising data (at most 31, cut to the buffer).

**GATT peripheral** (role `peripheral`, checked by every `gatt_*` call).
An app declares its attribute table at run time, then serves it:
`gatt_service` declares a primary service and `gatt_characteristic` a
characteristic on one, each returning its handle (0, 1, ... in the order
declared). A UUID is 2 bytes (a 16-bit SIG UUID) or 16 bytes (128-bit),
least significant byte first (other lengths `AKIRA_EINVAL`). Properties
are the Bluetooth bits: `0x02` read, `0x04` write without response,
`0x08` write, `0x10` notify (others, or none, `AKIRA_EINVAL`). An app's
table holds at most 2 services, 8 characteristics and 256 value bytes (the
sum of the characteristics' `max_len`, each 1–64; beyond 64 `AKIRA_E2BIG`);
beyond the bounds `AKIRA_ENOSPC`. The controller serves one attribute
table, shared: two apps may hold tables at once (a third app's declaration
gets `AKIRA_EBUSY` until one calls `gatt_stop` or stops running), and the
serving apps' tables are merged into the one the controller serves (the
same bounds in all: a table that does not fit beside the others' makes
`gatt_start` answer `AKIRA_ENOSPC`). Each app keeps its own handles; a
central's writes and subscriptions reach the app whose characteristic it
used, connections and disconnections reach every serving app. The merged
server advertises with the first serving app's data. When an app starts
or stops serving, the server restarts with the new table: a connected
central is disconnected (each serving app gets a disconnection with reason
`0x16`) and finds the new table when it reconnects. A serving app cannot
declare more (`AKIRA_EBUSY`).
`gatt_start` advertises connectable (checked like `advertise`: the floor,
and one data change against the cap) and advertises again after each
disconnection. A board without a GATT server answers `AKIRA_ENOTSUP`.
`gatt_start`, `gatt_stop`, `gatt_set_value` and `gatt_notify` suspend until
the server has carried them out (`AKIRA_ETIMEDOUT` after one second).

When an app stops running (it exits, faults or is stopped), the firmware
stops its advertising, its scanning (if no other app scans) and its GATT
server, after any command it left pending.

A GATT event, as `gatt_next_event` writes it: byte 0 the kind (1
connected, 2 disconnected, 3 written, 4 subscribed, 5 unsubscribed), 1 the
characteristic's handle (0 for connections), 2 the payload length `n`, 3
zero, then `n` bytes of payload: for connected the central's address
(least significant byte first) and its type (7 bytes), for disconnected the
HCI reason (1 byte: `0x13` the central ended it, `0x08` link lost), for
written the bytes written (at most 64, cut to the buffer). Each serving
app's events wait in a bounded queue (the firmware chooses its length;
the simulator keeps 8); when it is full the oldest is dropped."#,
    functions: &[
        Function {
            name: "advertise",
            params: &[
                Param::new("data", Ptr(Pointee::ConstVoid)),
                Param::new("data_len", U32),
                Param::new("rsp", Ptr(Pointee::ConstVoid)),
                Param::new("rsp_len", U32),
                Param::new("interval_ms", U32),
            ],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::bytes(100, 1, 16),
            #[cfg(feature = "docs")]
            doc: r#"`advertise(data_ptr, data_len, rsp_ptr, rsp_len, interval_ms)`: advertises the `data_len <= 31` bytes at `data_ptr` (AD structures), with the `rsp_len <= 31` bytes at `rsp_ptr` as scan response (`rsp_len` 0: none), every `interval_ms` (20–10240, else `AKIRA_EINVAL`; longer than 31 bytes `AKIRA_E2BIG`). Returns 0 once the app's data is on air (its turn; then in turn with other advertising apps)."#,
            #[cfg(feature = "docs")]
            c_doc: r#"Legacy advertising: up to 31 bytes of AD structures, an optional scan
response (rsp_len 0: none), interval 20-10240 ms. Suspends until the
controller advertises; AKIRA_ENOSPC beyond the data change cap."#,
        },
        Function {
            name: "advertise_stop",
            params: &[],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::fixed(50),
            #[cfg(feature = "docs")]
            doc: r#"`advertise_stop()`: stops the app's advertising. Returns 0 (also when it was not advertising)."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "scan",
            params: &[Param::new("active", I32), Param::new("interval_ms", U32), Param::new("window_ms", U32)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::fixed(100),
            #[cfg(feature = "docs")]
            doc: r#"`scan(active, interval_ms, window_ms)`: starts scanning, active (1: scan requests, scan responses reported) or passive (0); interval 3–10240 ms, window 3 ms up to the interval, else `AKIRA_EINVAL`. Returns 0 once scanning."#,
            #[cfg(feature = "docs")]
            c_doc: r#"active 1 or 0; interval and window 3-10240 ms, window <= interval."#,
        },
        Function {
            name: "scan_stop",
            params: &[],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::fixed(50),
            #[cfg(feature = "docs")]
            doc: r#"`scan_stop()`: stops the app's scanning and drops its queued reports. Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "next_report",
            params: &[Param::new("buf", Ptr(Pointee::Void)), Param::new("len", U32), Param::new("timeout_us", I64)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::bytes(50, 1, 16),
            #[cfg(feature = "docs")]
            doc: r#"`next_report(ptr, len, timeout_us)`: takes the oldest queued report, or suspends until one arrives or `timeout_us` passes (`AKIRA_ETIMEDOUT`; `< 0` no timeout, `0` at once), and writes it at `ptr` (`len >= 10`, else `AKIRA_EINVAL`; 41 holds any report). Returns the bytes written. `AKIRA_EINVAL` if the app is not scanning."#,
            #[cfg(feature = "docs")]
            c_doc: r#"Writes address[6], address type, int8_t rssi, packet type, data length,
data (AKIRA_BLE_MAX_REPORT holds any report); suspends until one
arrives. Returns the bytes written."#,
        },
        Function {
            name: "gatt_service",
            params: &[Param::new("uuid", Ptr(Pointee::ConstVoid)), Param::new("uuid_len", U32)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::fixed(100),
            #[cfg(feature = "docs")]
            doc: r#"`gatt_service(uuid_ptr, uuid_len)`: declares a primary service with the 2- or 16-byte UUID at `uuid_ptr`. Returns its handle."#,
            #[cfg(feature = "docs")]
            c_doc: r#"GATT peripheral (role `peripheral`): declare services and
characteristics (UUIDs of 2 or 16 bytes, least significant byte first),
each call returning a handle; at most 2 services, 8 characteristics,
256 value bytes (AKIRA_ENOSPC)."#,
        },
        Function {
            name: "gatt_characteristic",
            params: &[
                Param::new("service", U32),
                Param::new("uuid", Ptr(Pointee::ConstVoid)),
                Param::new("uuid_len", U32),
                Param::new("properties", U32),
                Param::new("max_len", U32),
            ],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::fixed(100),
            #[cfg(feature = "docs")]
            doc: r#"`gatt_characteristic(service, uuid_ptr, uuid_len, properties, max_len)`: declares a characteristic on service handle `service` (undeclared: `AKIRA_EINVAL`) with the UUID at `uuid_ptr`, the property bits and a value of at most `max_len` bytes (1–64). Its value is empty until set. Returns its handle."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "gatt_start",
            params: &[
                Param::new("data", Ptr(Pointee::ConstVoid)),
                Param::new("data_len", U32),
                Param::new("interval_ms", U32),
            ],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::fixed(200),
            #[cfg(feature = "docs")]
            doc: r#"`gatt_start(data_ptr, data_len, interval_ms)`: serves the declared table (none: `AKIRA_EINVAL`), advertising connectable with the `data_len <= 31` bytes at `data_ptr` every `interval_ms` (20–10240). Returns 0 once serving."#,
            #[cfg(feature = "docs")]
            c_doc: r#"Serves the table, advertising connectable; suspends until serving."#,
        },
        Function {
            name: "gatt_stop",
            params: &[],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::fixed(100),
            #[cfg(feature = "docs")]
            doc: r#"`gatt_stop()`: stops advertising, disconnects any central, forgets the table and drops queued events. Returns 0 (also when the app had declared nothing)."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "gatt_set_value",
            params: &[Param::new("handle", U32), Param::new("value", Ptr(Pointee::ConstVoid)), Param::new("len", U32)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::bytes(50, 1, 16),
            #[cfg(feature = "docs")]
            doc: r#"`gatt_set_value(handle, ptr, len)`: sets the value centrals read (at most the characteristic's `max_len`, else `AKIRA_E2BIG`). `AKIRA_EINVAL` for an unknown handle or when not serving. Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "gatt_notify",
            params: &[Param::new("handle", U32), Param::new("value", Ptr(Pointee::ConstVoid)), Param::new("len", U32)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::bytes(50, 1, 16),
            #[cfg(feature = "docs")]
            doc: r#"`gatt_notify(handle, ptr, len)`: sets the value and notifies the connected central if it subscribed (nothing is sent otherwise); the characteristic must have the notify property (`AKIRA_EINVAL`). Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#"Sets the value and notifies a subscribed central."#,
        },
        Function {
            name: "gatt_next_event",
            params: &[Param::new("buf", Ptr(Pointee::Void)), Param::new("len", U32), Param::new("timeout_us", I64)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::bytes(50, 1, 16),
            #[cfg(feature = "docs")]
            doc: r#"`gatt_next_event(ptr, len, timeout_us)`: takes the oldest GATT event, or suspends until one arrives or `timeout_us` passes (`AKIRA_ETIMEDOUT`; `< 0` no timeout, `0` at once), and writes it at `ptr` (`len >= 4`, else `AKIRA_EINVAL`; 68 holds any event). Returns the bytes written. `AKIRA_EINVAL` if the app does not serve."#,
            #[cfg(feature = "docs")]
            c_doc: r#"Writes kind, handle, payload length, 0, payload (AKIRA_GATT_MAX_EVENT
holds any event); suspends until one arrives. Returns the bytes written."#,
        },
    ],
    c_items: &[
        CItem::Import("advertise"),
        CItem::Import("advertise_stop"),
        CItem::Import("scan"),
        CItem::Import("scan_stop"),
        CItem::Import("next_report"),
        CItem::Define { name: "AKIRA_BLE_MAX_REPORT", value: "41", comment: r#""# },
        CItem::Import("gatt_service"),
        CItem::Import("gatt_characteristic"),
        CItem::Define { name: "AKIRA_GATT_READ", value: "0x02", comment: r#""# },
        CItem::Define { name: "AKIRA_GATT_WRITE_WITHOUT_RESPONSE", value: "0x04", comment: r#""# },
        CItem::Define { name: "AKIRA_GATT_WRITE", value: "0x08", comment: r#""# },
        CItem::Define { name: "AKIRA_GATT_NOTIFY", value: "0x10", comment: r#""# },
        CItem::Import("gatt_start"),
        CItem::Import("gatt_stop"),
        CItem::Import("gatt_set_value"),
        CItem::Import("gatt_notify"),
        CItem::Import("gatt_next_event"),
        CItem::Define { name: "AKIRA_GATT_MAX_EVENT", value: "68", comment: r#""# },
        CItem::Define { name: "AKIRA_GATT_CONNECTED", value: "1", comment: r#""# },
        CItem::Define { name: "AKIRA_GATT_DISCONNECTED", value: "2", comment: r#""# },
        CItem::Define { name: "AKIRA_GATT_WRITTEN", value: "3", comment: r#""# },
        CItem::Define { name: "AKIRA_GATT_SUBSCRIBED", value: "4", comment: r#""# },
        CItem::Define { name: "AKIRA_GATT_UNSUBSCRIBED", value: "5", comment: r#""# },
    ],
};
