//! `akira:ble`: Bluetooth Low Energy advertising and scanning, guarded by
//! role, advertising interval and advertising data change rate.
//!
//! An app advertises legacy advertising data (up to [`MAX_ADV_DATA`]
//! bytes, with an optional scan response) at an interval it chooses, and
//! scans for other devices' advertisements, which reach it as reports in
//! a bounded queue it reads with `next_report` (suspending until one
//! arrives or its timeout passes).
//!
//! Every call checks the app's role ([`akira_caps::scope::ble`]: a bit
//! test); `advertise` also checks the interval against the app's floor
//! ([`akira_caps::Guard::adv_interval`], a compare) and counts the data
//! change against the app's cap over a rolling second
//! ([`akira_caps::Guard::adv_change`], constant time), refusing it with
//! [`Errno::NoSpace`] beyond. A refused call never reaches the controller.
//!
//! Bluetooth host stacks are async, so the module never drives the
//! controller itself: boards implement [`Ble`], which queues a job and
//! reports when it is done. [`BleMailbox`] is that queue for one
//! controller: a `static` a firmware task serves ([`BleMailbox::serve`])
//! with any [`BleRadio`], the Akira trait a controller driver implements
//! (the `akira-radio` crate implements it over `bt-hci`'s controller
//! traits, so any HCI controller works; no `bt-hci` type appears here).
//! The scheduler's idle future awaits [`BleMailbox::changed`].
//!
//! The controller has one legacy advertising set, shared by time: every
//! advertising app's data goes on air in turn, for [`ADV_TURN`] (or one
//! of its intervals if longer) each, so with `n` advertisers each one is
//! on air again within `n - 1` turns. An app's `advertise` puts its data
//! on air at once (its turn starts); the number of changes an app may make
//! is capped per second, so it cannot keep the set by re-advertising. The
//! rotation holds one entry per app (the mailbox's slot). Scanning is shared: the first
//! scanning app sets the scan parameters, later ones join, every scanning
//! app gets every report, and the controller stops scanning when the last
//! one stops.
//!
//! An app granted the `peripheral` role serves a GATT table
//! ([`super::gatt`]): it declares services and characteristics, starts
//! serving them with connectable advertising (`gatt_start`), sets and
//! notifies values, and reads what centrals do from a bounded event queue
//! with `gatt_next_event` (suspending like `next_report`). Two apps may
//! serve at once: their tables are merged into the one the controller
//! serves, each app keeping its own handles ([`super::gatt`]).

use core::time::Duration;

use crate::host::{Caller, Linker};
use akira_caps::scope::ble as role;
use akira_caps::{Capability, ModuleCapability, ModuleSpec};

use super::gatt::{self, Characteristic, GattDeclaration, GattEvent, GattJob, Uuid};
use crate::board::{Board, Trace};
use crate::charge::counted;
use crate::errno::Errno;
use crate::host_fn;
use crate::memory::GuestMemory;
use crate::module::{HostModule, LinkContext, LinkError};
use crate::state::{AppState, ModuleIndex, Refusal, Wait, WaitKind, memory_and_state, reply};
use crate::time::Instant;

mod adv;
mod mailbox;
mod radio;
#[cfg(test)]
mod tests;

pub use adv::{ADV_INTERVAL_MS, ADV_TURN, AdvConfig, AdvData, MAX_ADV_DATA};
pub use mailbox::BleMailbox;
pub use radio::{
    Ble, BleJob, BleRadio, COMMAND_TIMEOUT, MAX_REPORT, REPORT_HEADER, ReportKind, SCAN_MS, ScanConfig, ScanReport,
};

/// The module's spec.
pub static SPEC: ModuleSpec = ModuleSpec {
    import: akira_abi::BLE.import,
    capability: ModuleCapability::Builtin(Capability::Ble),
    functions: akira_abi::BLE.functions,
};

/// The `akira:ble` module; the board must implement [`Ble`].
#[derive(Clone, Copy, Debug, Default)]
pub struct BleModule;

/// Wait operation codes.
const OP_JOB: u32 = 1;
const OP_REPORT: u32 = 2;
const OP_GATT_JOB: u32 = 3;
const OP_GATT_EVENT: u32 = 4;

fn pack(ptr: u32, len: u32) -> u64 {
    u64::from(len) << 32 | u64::from(ptr)
}

fn unpack(arg: u64) -> (u32, u32) {
    (arg as u32, (arg >> 32) as u32)
}

/// Queues `job` and suspends the app until the controller has done it.
fn run<B: Board + Ble>(state: &mut AppState<B>, module: ModuleIndex, job: BleJob) -> Result<i32, Refusal> {
    let app = state.info().id;
    let deadline = state.board().now().saturating_add(COMMAND_TIMEOUT);
    state.board_mut().start(app, job, deadline)?;
    Err(state.suspend(Wait { until: deadline, kind: WaitKind::Module { module, op: OP_JOB, arg: 0 } }))
}

fn advertise<B: Board + Ble>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    module: ModuleIndex,
    args: [u32; 5],
) -> Result<i32, Refusal> {
    let [data_ptr, data_len, rsp_ptr, rsp_len, interval_ms] = args;
    state.guarded(|g| g.id(Capability::Ble, role::ADVERTISE))?;
    state.guarded(|g| g.adv_interval(interval_ms))?;
    if !ADV_INTERVAL_MS.contains(&interval_ms) {
        return Err(Errno::Invalid.into());
    }
    let data = AdvData::new(memory.bytes(data_ptr, data_len)?)?;
    let scan_response = match rsp_len {
        0 => None,
        _ => Some(AdvData::new(memory.bytes(rsp_ptr, rsp_len)?)?),
    };
    let now = state.board().now();
    if state.guard_mut().adv_change(now.as_micros()).is_err() {
        return Err(Errno::NoSpace.into());
    }
    let config = AdvConfig { interval_ms: interval_ms as u16, data, scan_response };
    let result = run(state, module, BleJob::Advertise(config));
    if matches!(result, Err(Refusal::Trap(_))) {
        state.trace(Trace::BleAdvertising { interval_ms: config.interval_ms, data: config.data.as_bytes() });
    }
    result
}

fn scan<B: Board + Ble>(state: &mut AppState<B>, module: ModuleIndex, args: [u32; 3]) -> Result<i32, Refusal> {
    state.guarded(|g| g.id(Capability::Ble, role::SCAN))?;
    let [active, interval_ms, window_ms] = args;
    let config = ScanConfig::new(active, interval_ms, window_ms)?;
    run(state, module, BleJob::Scan(config))
}

fn next_report<B: Board + Ble>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    module: ModuleIndex,
    ptr: u32,
    len: u32,
    timeout_us: i64,
) -> Result<i32, Refusal> {
    state.guarded(|g| g.id(Capability::Ble, role::SCAN))?;
    if (len as usize) < REPORT_HEADER {
        return Err(Errno::Invalid.into());
    }
    let len = len.min(MAX_REPORT as u32);
    let buf = memory.bytes_mut(ptr, len)?;
    let app = state.info().id;
    let now = state.board().now();
    if let Some(report) = state.board_mut().next_report(app, now)? {
        let n = report.encode(buf);
        state.trace(Trace::BleReport {
            address: report.address,
            rssi_dbm: report.rssi_dbm,
            data: &buf[REPORT_HEADER..n],
        });
        return Ok(n as i32);
    }
    let until = match u64::try_from(timeout_us) {
        Ok(0) => return Err(Errno::TimedOut.into()),
        Ok(us) => now.saturating_add(Duration::from_micros(us)),
        Err(_) => Instant::MAX,
    };
    Err(state.suspend(Wait { until, kind: WaitKind::Module { module, op: OP_REPORT, arg: pack(ptr, len) } }))
}

/// The peripheral role check every GATT call starts with.
fn peripheral<B: Board>(state: &mut AppState<B>) -> Result<(), Refusal> {
    state.guarded(|g| g.id(Capability::Ble, role::PERIPHERAL))
}

fn gatt_declare<B: Board + Ble>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    service: Option<u32>,
    uuid: (u32, u32),
    properties: u32,
    max_len: u32,
) -> Result<i32, Refusal> {
    peripheral(state)?;
    let uuid = Uuid::from_le_bytes(memory.bytes(uuid.0, uuid.1)?)?;
    let declaration = match service {
        None => GattDeclaration::Service(uuid),
        Some(service) => {
            if max_len as usize > gatt::MAX_VALUE {
                return Err(Errno::TooLarge.into());
            }
            let service = u8::try_from(service).map_err(|_| Errno::Invalid)?;
            let properties = u8::try_from(properties).map_err(|_| Errno::Invalid)?;
            GattDeclaration::Characteristic(Characteristic { service, uuid, properties, max_len: max_len as u8 })
        }
    };
    let app = state.info().id;
    Ok(i32::from(state.board_mut().gatt_declare(app, declaration)?))
}

/// Queues a GATT job with `value` and suspends the app until the server
/// has done it (at once when there is nothing to do).
fn gatt_run<B: Board + Ble>(
    state: &mut AppState<B>,
    module: ModuleIndex,
    job: GattJob,
    value: &[u8],
) -> Result<i32, Refusal> {
    let app = state.info().id;
    let deadline = state.board().now().saturating_add(COMMAND_TIMEOUT);
    if !state.board_mut().gatt_start(app, job, value, deadline)? {
        return Ok(0);
    }
    Err(state.suspend(Wait { until: deadline, kind: WaitKind::Module { module, op: OP_GATT_JOB, arg: 0 } }))
}

fn gatt_start<B: Board + Ble>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    module: ModuleIndex,
    args: [u32; 3],
) -> Result<i32, Refusal> {
    let [data_ptr, data_len, interval_ms] = args;
    peripheral(state)?;
    state.guarded(|g| g.adv_interval(interval_ms))?;
    if !ADV_INTERVAL_MS.contains(&interval_ms) {
        return Err(Errno::Invalid.into());
    }
    let data = AdvData::new(memory.bytes(data_ptr, data_len)?)?;
    let now = state.board().now();
    if state.guard_mut().adv_change(now.as_micros()).is_err() {
        return Err(Errno::NoSpace.into());
    }
    let config = AdvConfig { interval_ms: interval_ms as u16, data, scan_response: None };
    let result = gatt_run(state, module, GattJob::Start(config), &[]);
    if matches!(result, Err(Refusal::Trap(_))) {
        state.trace(Trace::BleAdvertising { interval_ms: config.interval_ms, data: config.data.as_bytes() });
    }
    result
}

fn gatt_value<B: Board + Ble>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    module: ModuleIndex,
    notify: bool,
    args: [u32; 3],
) -> Result<i32, Refusal> {
    let [handle, ptr, len] = args;
    peripheral(state)?;
    let handle = u8::try_from(handle).map_err(|_| Errno::Invalid)?;
    let value = memory.bytes(ptr, len)?;
    let job = if notify { GattJob::Notify(handle) } else { GattJob::SetValue(handle) };
    gatt_run(state, module, job, value)
}

/// Writes `event` into the app's buffer `buf` and traces it.
fn give_event<B: Board>(state: &mut AppState<B>, event: &GattEvent, buf: &mut [u8]) -> i32 {
    let n = event.encode(buf);
    state.trace(Trace::GattEvent {
        kind: event.kind(),
        characteristic: event.characteristic(),
        data: &buf[gatt::EVENT_HEADER..n],
    });
    n as i32
}

fn gatt_next_event<B: Board + Ble>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    module: ModuleIndex,
    ptr: u32,
    len: u32,
    timeout_us: i64,
) -> Result<i32, Refusal> {
    peripheral(state)?;
    if (len as usize) < gatt::EVENT_HEADER {
        return Err(Errno::Invalid.into());
    }
    let len = len.min(gatt::MAX_EVENT as u32);
    let buf = memory.bytes_mut(ptr, len)?;
    let app = state.info().id;
    let now = state.board().now();
    if let Some(event) = state.board_mut().gatt_next_event(app, now)? {
        return Ok(give_event(state, &event, buf));
    }
    let until = match u64::try_from(timeout_us) {
        Ok(0) => return Err(Errno::TimedOut.into()),
        Ok(us) => now.saturating_add(Duration::from_micros(us)),
        Err(_) => Instant::MAX,
    };
    Err(state.suspend(Wait { until, kind: WaitKind::Module { module, op: OP_GATT_EVENT, arg: pack(ptr, len) } }))
}

impl<B: Board + Ble> HostModule<B> for BleModule {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn link(&self, linker: &mut Linker<AppState<B>>, cx: &LinkContext<'_>) -> Result<(), LinkError> {
        type C<'a, B> = Caller<'a, AppState<B>>;
        let module = cx.module;
        host_fn!(linker, SPEC, "advertise", move |c: C<'_, B>,
                                                  data_ptr: u32,
                                                  data_len: u32,
                                                  rsp_ptr: u32,
                                                  rsp_len: u32,
                                                  interval_ms: u32| {
            let args = [data_ptr, data_len, rsp_ptr, rsp_len, interval_ms];
            let bytes = u64::from(data_len) + u64::from(rsp_len);
            reply(memory_and_state(&mut c).and_then(|(mut mem, s)| {
                let result = advertise(&mut mem, s, module, args);
                counted(s, bytes, result)
            }))
        },)?;
        host_fn!(linker, SPEC, "advertise_stop", move |c: C<'_, B>| {
            let s = c.data_mut();
            reply(
                s.guarded(|g| g.id(Capability::Ble, role::ADVERTISE))
                    .and_then(|()| run(s, module, BleJob::StopAdvertising)),
            )
        })?;
        host_fn!(linker, SPEC, "scan", move |c: C<'_, B>, active: u32, interval: u32, window: u32| {
            reply(scan(c.data_mut(), module, [active, interval, window]))
        })?;
        host_fn!(linker, SPEC, "scan_stop", move |c: C<'_, B>| {
            let s = c.data_mut();
            reply(s.guarded(|g| g.id(Capability::Ble, role::SCAN)).and_then(|()| run(s, module, BleJob::StopScanning)))
        })?;
        host_fn!(linker, SPEC, "next_report", move |c: C<'_, B>, ptr: u32, len: u32, timeout_us: i64| {
            reply(memory_and_state(&mut c).and_then(|(mut mem, s)| {
                let result = next_report(&mut mem, s, module, ptr, len, timeout_us);
                counted(s, u64::from(len), result)
            }))
        })?;
        host_fn!(linker, SPEC, "gatt_service", move |c: C<'_, B>, uuid_ptr: u32, uuid_len: u32| {
            reply(
                memory_and_state(&mut c)
                    .and_then(|(mut mem, s)| gatt_declare(&mut mem, s, None, (uuid_ptr, uuid_len), 0, 0)),
            )
        })?;
        host_fn!(
            linker,
            SPEC,
            "gatt_characteristic",
            move |c: C<'_, B>, service: u32, uuid_ptr: u32, uuid_len: u32, properties: u32, max_len: u32| {
                reply(memory_and_state(&mut c).and_then(|(mut mem, s)| {
                    gatt_declare(&mut mem, s, Some(service), (uuid_ptr, uuid_len), properties, max_len)
                }))
            },
        )?;
        host_fn!(linker, SPEC, "gatt_start", move |c: C<'_, B>, ptr: u32, len: u32, interval: u32| {
            reply(
                memory_and_state(&mut c).and_then(|(mut mem, s)| gatt_start(&mut mem, s, module, [ptr, len, interval])),
            )
        })?;
        host_fn!(linker, SPEC, "gatt_stop", move |c: C<'_, B>| {
            let s = c.data_mut();
            reply(peripheral(s).and_then(|()| gatt_run(s, module, GattJob::Stop, &[])))
        })?;
        host_fn!(linker, SPEC, "gatt_set_value", move |c: C<'_, B>, handle: u32, ptr: u32, len: u32| {
            reply(memory_and_state(&mut c).and_then(|(mut mem, s)| {
                let result = gatt_value(&mut mem, s, module, false, [handle, ptr, len]);
                counted(s, u64::from(len), result)
            }))
        })?;
        host_fn!(linker, SPEC, "gatt_notify", move |c: C<'_, B>, handle: u32, ptr: u32, len: u32| {
            reply(memory_and_state(&mut c).and_then(|(mut mem, s)| {
                let result = gatt_value(&mut mem, s, module, true, [handle, ptr, len]);
                counted(s, u64::from(len), result)
            }))
        })?;
        host_fn!(linker, SPEC, "gatt_next_event", move |c: C<'_, B>, ptr: u32, len: u32, timeout_us: i64| {
            reply(memory_and_state(&mut c).and_then(|(mut mem, s)| {
                let result = gatt_next_event(&mut mem, s, module, ptr, len, timeout_us);
                counted(s, u64::from(len), result)
            }))
        },)?;
        Ok(())
    }

    fn app_stopped(&self, board: &mut B, app: u16) {
        board.release(app);
    }

    fn poll_wait_with_memory(
        &self,
        memory: &mut GuestMemory<'_>,
        state: &mut AppState<B>,
        op: u32,
        arg: u64,
    ) -> Option<i32> {
        let app = state.info().id;
        let now = state.board().now();
        match op {
            OP_JOB => state.board_mut().poll(app, now).map(|r| r.map_or_else(|e| e.code(), |()| 0)),
            OP_REPORT => {
                let (ptr, len) = unpack(arg);
                let report = match state.board_mut().next_report(app, now) {
                    Ok(Some(report)) => report,
                    Ok(None) => return None,
                    Err(e) => return Some(e.code()),
                };
                let buf = match memory.bytes_mut(ptr, len) {
                    Ok(buf) => buf,
                    Err(e) => return Some(e.code()),
                };
                let n = report.encode(buf);
                state.trace(Trace::BleReport {
                    address: report.address,
                    rssi_dbm: report.rssi_dbm,
                    data: &buf[REPORT_HEADER..n],
                });
                Some(n as i32)
            }
            OP_GATT_JOB => state.board_mut().gatt_poll(app, now).map(|r| r.map_or_else(|e| e.code(), |()| 0)),
            OP_GATT_EVENT => {
                let (ptr, len) = unpack(arg);
                let event = match state.board_mut().gatt_next_event(app, now) {
                    Ok(Some(event)) => event,
                    Ok(None) => return None,
                    Err(e) => return Some(e.code()),
                };
                let buf = match memory.bytes_mut(ptr, len) {
                    Ok(buf) => buf,
                    Err(e) => return Some(e.code()),
                };
                Some(give_event(state, &event, buf))
            }
            _ => Some(Errno::Invalid.code()),
        }
    }
}
