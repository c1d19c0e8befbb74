//! The bridge's [`BleRadio`] and [`GattServer`] over the `trouble-host`
//! Bluetooth host (feature `trouble`), for any controller trouble-host
//! drives (bt-hci 0.10: nrf-sdc 0.4, esp-radio's `BleConnector` in a
//! bt-hci `ExternalController`, a controller over UART).
//!
//! trouble-host's runner owns the controller's event stream, so
//! [`HciBle`](crate::ble::HciBle) cannot run beside it: [`TroubleBle`]
//! does both sides of `akira:ble` (apps' advertising and scanning, and the
//! GATT server) through trouble-host's peripheral, central and GATT
//! server. One firmware task serves it with the board's
//! [`BleMailbox`]:
//!
//! ```rust,ignore
//! static BLE: akira_bridge::BleController = akira_bridge::BleController::new();
//!
//! #[embassy_executor::task]
//! async fn ble(controller: ExternalController<BleConnector<'static>, 4>) -> ! {
//!     // One central, the signalling and ATT channels.
//!     let mut resources: HostResources<DefaultPacketPool, 1, 2> = HostResources::new();
//!     let stack = trouble_host::new(controller, &mut resources).build();
//!     TroubleBle::new(stack).serve(&BLE, embassy_time::Delay).await
//! }
//! ```
//!
//! No trouble-host or bt-hci type crosses into the bridge: apps' tables
//! ([`GattTable`]) are built into a trouble-host attribute table when an
//! app starts serving, with value storage in the serving task's frame
//! ([`VALUE_BYTES`]) and at most [`ATTRIBUTES`] attributes; nothing is
//! allocated. The controller has one legacy advertising set: apps that
//! advertise share it by turns (the [`BleMailbox`]'s rotation, each turn
//! an `advertise` here); while an app serves GATT (connectable `ADV_IND`,
//! again after each disconnection), another app's advertising gets
//! [`Errno::Busy`], and the other way round. One central at a time.

use core::pin::pin;

use akira_bridge::modules::ble::AdvData;
use akira_bridge::modules::gatt::GattEvent as AppEvent;
use akira_bridge::modules::gatt::{MAX_CHARACTERISTICS, MAX_SERVICES, VALUE_BYTES, Value};
use akira_bridge::{AdvConfig, BleMailbox, BleRadio, Errno, GattServer, GattTable, ScanConfig, ScanReport};
use embassy_futures::select::{Either, Either4, select, select4};
use embassy_sync::blocking_mutex::raw::{CriticalSectionRawMutex, NoopRawMutex};
use embassy_sync::channel::Channel;
use embassy_sync::mutex::Mutex;
use embassy_sync::signal::Signal;
use trouble_host::Controller;
use trouble_host::prelude::{
    Advertisement, AdvertisementParameters, AttributeServer, AttributeTable, Connection, DefaultPacketPool,
    EventHandler, GattConnection, GattConnectionEvent, GattEvent as HostEvent, PacketPool, Scanner, Stack,
};
use trouble_host::scan::ScanSession;

use crate::ble::report_kind;

mod table;
pub use table::{Handles, build_table, host_props, host_uuid};

/// Attributes an app's table can take: a declaration per service, and a
/// declaration, a value and a client configuration per characteristic.
pub const ATTRIBUTES: usize = MAX_SERVICES + 3 * MAX_CHARACTERISTICS;

/// Scan reports held between the runner and the serving task.
const REPORTS: usize = 8;

/// GATT events held between the GATT side and the bridge.
const EVENTS: usize = 8;

type Table<'v> = AttributeTable<'v, NoopRawMutex, ATTRIBUTES>;
type Server<'v, P> = AttributeServer<'v, NoopRawMutex, P, ATTRIBUTES, 1>;

/// What the bridge asks of the host task (one at a time, in a channel of
/// one: the table travels by value rather than in an allocation).
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy)]
enum Request {
    Advertise(AdvConfig),
    StopAdvertising,
    Scan(ScanConfig),
    StopScanning,
    GattStart(GattTable, AdvConfig),
    GattStop,
    SetValue(u8, Value),
    Notify(u8, Value),
}

/// `akira:ble` over a trouble-host [`Stack`]: [`BleRadio`] and
/// [`GattServer`] are implemented for `&TroubleBle`, and
/// [`TroubleBle::serve`] runs the host, the requests and a
/// [`BleMailbox`]'s both sides in one task.
pub struct TroubleBle<'d, C: Controller, P: PacketPool = DefaultPacketPool> {
    stack: Stack<'d, C, P>,
    /// One request in flight at a time (the radio and GATT sides both ask).
    client: Mutex<CriticalSectionRawMutex, ()>,
    requests: Channel<CriticalSectionRawMutex, Request, 1>,
    replies: Signal<CriticalSectionRawMutex, Result<(), Errno>>,
    reports: Channel<CriticalSectionRawMutex, ScanReport, REPORTS>,
    events: Channel<CriticalSectionRawMutex, AppEvent, EVENTS>,
}

/// A host or controller error: `AKIRA_EIO` for apps.
fn io<E>(_: E) -> Errno {
    Errno::Io
}

/// The runner's handler: advertising reports to the serving task.
struct Reports<'a>(&'a Channel<CriticalSectionRawMutex, ScanReport, REPORTS>);

impl EventHandler for Reports<'_> {
    fn on_adv_reports(&self, reports: trouble_host::scan::LeAdvReportsIter<'_>) {
        for report in reports {
            // A malformed report ends the event; the ones before it were
            // delivered.
            let Ok(r) = report else { break };
            let mut address = [0; 6];
            address.copy_from_slice(r.addr.raw());
            // A full queue drops the report, as a busy air would.
            let _ = self.0.try_send(ScanReport {
                address,
                address_kind: r.addr_kind.into_inner(),
                rssi_dbm: r.rssi,
                kind: report_kind(r.event_kind),
                data: AdvData::new(&r.data[..r.data.len().min(31)]).unwrap_or(AdvData::EMPTY),
            });
        }
    }
}

/// An interval in milliseconds as trouble-host's duration.
fn ms(ms: u16) -> embassy_time::Duration {
    embassy_time::Duration::from_millis(u64::from(ms))
}

/// The app's advertising or scanning, owned by the host task.
struct Radio<'s, C: Controller, P: PacketPool> {
    advertiser: Option<trouble_host::prelude::Advertiser<'s, C, P>>,
    scan: Option<ScanSession<'s, false>>,
}

impl<'d, C: Controller, P: PacketPool> TroubleBle<'d, C, P> {
    /// Wraps a built stack (its random address set, if any, through
    /// trouble-host's `StackBuilder`).
    pub fn new(stack: Stack<'d, C, P>) -> Self {
        TroubleBle {
            stack,
            client: Mutex::new(()),
            requests: Channel::new(),
            replies: Signal::new(),
            reports: Channel::new(),
            events: Channel::new(),
        }
    }

    /// The stack, for firmware code that uses it directly.
    pub fn stack(&self) -> &Stack<'d, C, P> {
        &self.stack
    }

    async fn ask(&self, request: Request) -> Result<(), Errno> {
        let _one = self.client.lock().await;
        self.replies.reset();
        self.requests.send(request).await;
        self.replies.wait().await
    }

    fn reply(&self, result: Result<(), Errno>) {
        self.replies.signal(result);
    }

    fn deliver(&self, event: AppEvent) {
        // A full queue drops the newest: the bridge's own queue drops the
        // oldest and counts it, this one only bridges the two tasks.
        let _ = self.events.try_send(event);
    }

    /// Runs the host, the requests and both sides of `mailbox` (its
    /// [`BleMailbox::serve`], with `delay` timing the advertisers' turns,
    /// and [`BleMailbox::serve_gatt`]), forever. Call it once:
    /// trouble-host hands out one runner per stack.
    pub async fn serve<const SLOTS: usize, const QUEUE: usize>(
        &self,
        mailbox: &BleMailbox<SLOTS, QUEUE>,
        delay: impl embedded_hal_async::delay::DelayNs,
    ) -> !
    where
        C: bt_hci::controller::ControllerCmdSync<bt_hci::cmd::le::LeSetAdvData>
            + bt_hci::controller::ControllerCmdSync<bt_hci::cmd::le::LeSetAdvParams>
            + bt_hci::controller::ControllerCmdSync<bt_hci::cmd::le::LeSetAdvEnable>
            + bt_hci::controller::ControllerCmdSync<bt_hci::cmd::le::LeSetScanResponseData>
            + bt_hci::controller::ControllerCmdSync<bt_hci::cmd::le::LeSetScanParams>,
    {
        let mut runner = self.stack.runner();
        let handler = Reports(&self.reports);
        let run = async {
            loop {
                // A controller error: let the rest of the firmware run.
                if runner.run_with_handler(&handler).await.is_err() {
                    akira_bridge_yield().await;
                }
            }
        };
        match select4(run, self.host(), mailbox.serve(self, delay), mailbox.serve_gatt(self)).await {
            Either4::First(n) | Either4::Second(n) => n,
            Either4::Third(n) | Either4::Fourth(n) => n,
        }
    }

    /// Serves requests, forever.
    async fn host(&self) -> !
    where
        C: bt_hci::controller::ControllerCmdSync<bt_hci::cmd::le::LeSetAdvData>
            + bt_hci::controller::ControllerCmdSync<bt_hci::cmd::le::LeSetAdvParams>
            + bt_hci::controller::ControllerCmdSync<bt_hci::cmd::le::LeSetAdvEnable>
            + bt_hci::controller::ControllerCmdSync<bt_hci::cmd::le::LeSetScanResponseData>
            + bt_hci::controller::ControllerCmdSync<bt_hci::cmd::le::LeSetScanParams>,
    {
        let mut peripheral = self.stack.peripheral();
        let mut central = self.stack.central();
        let mut scanner = Scanner::new(&mut central);
        let mut radio = Radio { advertiser: None, scan: None };
        loop {
            let result = match self.requests.receive().await {
                Request::GattStart(table, adv) if radio.advertiser.is_none() => {
                    self.gatt(&mut peripheral, &mut scanner, &mut radio, &table, &adv).await;
                    continue;
                }
                Request::GattStart(..) => Err(Errno::Busy),
                // Nothing served: nothing to stop.
                Request::GattStop => Ok(()),
                Request::SetValue(..) | Request::Notify(..) => Err(Errno::Invalid),
                Request::Advertise(config) => {
                    radio.advertiser = None;
                    let data = config.data;
                    let rsp = config.scan_response;
                    let adv = match &rsp {
                        Some(rsp) => Advertisement::NonconnectableScannableUndirected {
                            adv_data: data.as_bytes(),
                            scan_data: rsp.as_bytes(),
                        },
                        None => Advertisement::NonconnectableNonscannableUndirected { adv_data: data.as_bytes() },
                    };
                    let params = AdvertisementParameters {
                        interval_min: ms(config.interval_ms),
                        interval_max: ms(config.interval_ms),
                        ..Default::default()
                    };
                    match peripheral.advertise(&params, adv).await {
                        Ok(a) => {
                            radio.advertiser = Some(a);
                            Ok(())
                        }
                        Err(e) => Err(io(e)),
                    }
                }
                Request::StopAdvertising => {
                    radio.advertiser = None;
                    Ok(())
                }
                request @ (Request::Scan(_) | Request::StopScanning) => {
                    self.scan(&mut scanner, &mut radio, request).await
                }
            };
            self.reply(result);
        }
    }

    async fn scan<'s>(
        &self,
        scanner: &mut Scanner<'_, 's, C, P>,
        radio: &mut Radio<'s, C, P>,
        request: Request,
    ) -> Result<(), Errno>
    where
        C: bt_hci::controller::ControllerCmdSync<bt_hci::cmd::le::LeSetScanParams>,
    {
        if let Some(session) = radio.scan.take() {
            session.stop().await;
        }
        let Request::Scan(config) = request else { return Ok(()) };
        let config = trouble_host::prelude::ScanConfig {
            active: config.active,
            interval: ms(config.interval_ms),
            window: ms(config.window_ms),
            timeout: embassy_time::Duration::from_ticks(0),
            ..Default::default()
        };
        radio.scan = Some(scanner.scan(&config).await.map_err(io)?);
        Ok(())
    }

    /// Serves an app's table until `GattStop`; replies to the start.
    async fn gatt<'s>(
        &'s self,
        peripheral: &mut trouble_host::prelude::Peripheral<'s, C, P>,
        scanner: &mut Scanner<'_, 's, C, P>,
        radio: &mut Radio<'s, C, P>,
        table: &GattTable,
        adv: &AdvConfig,
    ) where
        C: bt_hci::controller::ControllerCmdSync<bt_hci::cmd::le::LeSetAdvData>
            + bt_hci::controller::ControllerCmdSync<bt_hci::cmd::le::LeSetAdvParams>
            + bt_hci::controller::ControllerCmdSync<bt_hci::cmd::le::LeSetAdvEnable>
            + bt_hci::controller::ControllerCmdSync<bt_hci::cmd::le::LeSetScanResponseData>
            + bt_hci::controller::ControllerCmdSync<bt_hci::cmd::le::LeSetScanParams>,
    {
        let mut store = [0u8; VALUE_BYTES];
        let mut attributes: Table<'_> = AttributeTable::new();
        let handles = match build_table(table, &mut store, &mut attributes) {
            Ok(h) => h,
            Err(e) => return self.reply(Err(e)),
        };
        let server: Server<'_, P> = AttributeServer::new(attributes);
        let mut started = false;
        loop {
            // Connectable advertising, again after each disconnection.
            let data = adv.data;
            let rsp = adv.scan_response.unwrap_or(AdvData::EMPTY);
            let params = AdvertisementParameters {
                interval_min: ms(adv.interval_ms),
                interval_max: ms(adv.interval_ms),
                ..Default::default()
            };
            let advertisement =
                Advertisement::ConnectableScannableUndirected { adv_data: data.as_bytes(), scan_data: rsp.as_bytes() };
            let advertiser = match peripheral.advertise(&params, advertisement).await {
                Ok(a) => a,
                Err(e) if !started => return self.reply(Err(io(e))),
                Err(_) => {
                    // Serve requests without advertising until the next
                    // one, then try again.
                    let request = self.requests.receive().await;
                    match self.in_session(request, &server, &handles, scanner, radio, None).await {
                        Some(result) => {
                            self.reply(result);
                            continue;
                        }
                        None => return self.reply(Ok(())),
                    }
                }
            };
            if !started {
                started = true;
                self.reply(Ok(()));
            }
            let mut accept = pin!(advertiser.accept());
            let connection = loop {
                match select(accept.as_mut(), self.requests.receive()).await {
                    Either::First(Ok(c)) => break Some(c),
                    // Advertising ended (the controller stopped it).
                    Either::First(Err(_)) => break None,
                    Either::Second(request) => {
                        match self.in_session(request, &server, &handles, scanner, radio, None).await {
                            Some(result) => self.reply(result),
                            None => return self.reply(Ok(())),
                        }
                    }
                }
            };
            let Some(connection) = connection else { continue };
            if self.connected(connection, &server, &handles, scanner, radio).await.is_none() {
                return self.reply(Ok(()));
            }
        }
    }

    /// Serves a central until it disconnects (`Some`) or the app stops
    /// serving (`None`, the central disconnected).
    async fn connected<'s>(
        &'s self,
        connection: Connection<'s, P>,
        server: &Server<'_, P>,
        handles: &Handles,
        scanner: &mut Scanner<'_, 's, C, P>,
        radio: &mut Radio<'s, C, P>,
    ) -> Option<()>
    where
        C: bt_hci::controller::ControllerCmdSync<bt_hci::cmd::le::LeSetScanParams>,
    {
        let peer = connection.peer_address();
        let Ok(gatt) = connection.with_attribute_server(server) else { return Some(()) };
        let mut address = [0; 6];
        address.copy_from_slice(peer.addr.raw());
        self.deliver(AppEvent::Connected { address, address_kind: peer.kind.into_inner() });
        loop {
            match select(gatt.next(), self.requests.receive()).await {
                Either::First(GattConnectionEvent::Disconnected { reason }) => {
                    self.deliver(AppEvent::Disconnected { reason: reason.into_inner() });
                    return Some(());
                }
                Either::First(GattConnectionEvent::Gatt { event }) => self.on_gatt(event, handles).await,
                // Only a central is asked (trouble-host); a peripheral
                // takes what the central proposes.
                Either::First(GattConnectionEvent::RequestConnectionParams(request)) => {
                    let _ = request.accept(None, &self.stack).await;
                }
                Either::First(_) => {}
                Either::Second(request) => {
                    match self.in_session(request, server, handles, scanner, radio, Some(&gatt)).await {
                        Some(result) => self.reply(result),
                        None => {
                            gatt.raw().disconnect();
                            return None;
                        }
                    }
                }
            }
        }
    }

    async fn on_gatt(&self, event: HostEvent<'_, '_, P>, handles: &Handles) {
        let reply = match event {
            HostEvent::Write(write) => {
                let att = write.handle();
                match write.with_data(|offset, data| handles.write(att, offset, data)) {
                    Ok(app) => {
                        let reply = write.accept();
                        if let (Ok(_), Some(app)) = (&reply, app) {
                            self.deliver(app);
                        }
                        reply
                    }
                    Err(code) => write.reject(code),
                }
            }
            other => other.accept(),
        };
        if let Ok(reply) = reply {
            reply.send().await;
        }
    }

    /// A request while serving: `None` for `GattStop`.
    async fn in_session<'s>(
        &self,
        request: Request,
        server: &Server<'_, P>,
        handles: &Handles,
        scanner: &mut Scanner<'_, 's, C, P>,
        radio: &mut Radio<'s, C, P>,
        gatt: Option<&GattConnection<'_, '_, P>>,
    ) -> Option<Result<(), Errno>>
    where
        C: bt_hci::controller::ControllerCmdSync<bt_hci::cmd::le::LeSetScanParams>,
    {
        Some(match request {
            Request::GattStop => return None,
            // The advertising set serves the table.
            Request::GattStart(..) | Request::Advertise(_) => Err(Errno::Busy),
            Request::StopAdvertising => Ok(()),
            Request::SetValue(h, value) => set(server, handles, h, &value),
            Request::Notify(h, value) => match (set(server, handles, h, &value), gatt) {
                (Ok(()), Some(gatt)) => match handles.get(h) {
                    Ok(c) => c.notify(gatt, value.as_bytes(), false).await.map_err(io),
                    Err(e) => Err(e),
                },
                (result, _) => result,
            },
            request @ (Request::Scan(_) | Request::StopScanning) => self.scan(scanner, radio, request).await,
        })
    }
}

fn set<P: PacketPool>(server: &Server<'_, P>, handles: &Handles, handle: u8, value: &Value) -> Result<(), Errno> {
    handles.get(handle)?.set(server, value.as_bytes()).map_err(io)
}

/// Lets other tasks run once.
async fn akira_bridge_yield() {
    let mut yielded = false;
    core::future::poll_fn(|cx| {
        if yielded {
            return core::task::Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        core::task::Poll::Pending
    })
    .await
}

impl<C: Controller, P: PacketPool> BleRadio for &TroubleBle<'_, C, P> {
    async fn advertise(&self, config: &AdvConfig) -> Result<(), Errno> {
        self.ask(Request::Advertise(*config)).await
    }

    async fn stop_advertising(&self) -> Result<(), Errno> {
        self.ask(Request::StopAdvertising).await
    }

    async fn scan(&self, config: &ScanConfig) -> Result<(), Errno> {
        self.ask(Request::Scan(*config)).await
    }

    async fn stop_scanning(&self) -> Result<(), Errno> {
        self.ask(Request::StopScanning).await
    }

    async fn read_reports(&self, sink: &mut dyn FnMut(&ScanReport)) -> Result<(), Errno> {
        sink(&self.reports.receive().await);
        while let Ok(report) = self.reports.try_receive() {
            sink(&report);
        }
        Ok(())
    }
}

impl<C: Controller, P: PacketPool> GattServer for &TroubleBle<'_, C, P> {
    async fn start(&self, table: &GattTable, adv: &AdvConfig) -> Result<(), Errno> {
        // Events of an earlier session are stale.
        self.events.clear();
        self.ask(Request::GattStart(*table, *adv)).await
    }

    async fn stop(&self) -> Result<(), Errno> {
        self.ask(Request::GattStop).await
    }

    async fn set_value(&self, handle: u8, value: &[u8]) -> Result<(), Errno> {
        self.ask(Request::SetValue(handle, Value::new(value)?)).await
    }

    async fn notify(&self, handle: u8, value: &[u8]) -> Result<(), Errno> {
        self.ask(Request::Notify(handle, Value::new(value)?)).await
    }

    async fn next_event(&self) -> Result<AppEvent, Errno> {
        Ok(self.events.receive().await)
    }
}

#[cfg(test)]
mod tests;
