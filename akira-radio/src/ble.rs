//! The bridge's [`BleRadio`] over bt-hci's controller traits: legacy
//! advertising and scanning in plain HCI commands, so any controller
//! bt-hci drives works (an external one over UART or SPI through
//! `ExternalController`, or a vendor's in-chip controller that implements
//! the traits).
//!
//! The firmware wraps its controller in an [`HciBle`] and hands that to
//! the task serving the board's [`BleMailbox`](akira_bridge::BleMailbox):
//!
//! ```rust,ignore
//! let controller: ExternalController<_, 4> = ExternalController::new(transport);
//! BLE.serve(HciBle::new(controller, AddrKind::PUBLIC), embassy_time::Delay).await
//! ```
//!
//! The serving task reads the controller's events while it awaits a
//! command ([`BleRadio::read_reports`]), as bt-hci's `ExternalController`
//! needs to complete commands. bt-hci types stay in this crate: the
//! bridge sees only its own [`AdvConfig`], [`ScanConfig`] and
//! [`ScanReport`].
//!
//! Command sequences (Bluetooth Core, Vol 4, Part E, 7.8):
//! - advertise: `LE Set Advertising Enable (off)` if already advertising,
//!   `LE Set Advertising Parameters` (interval min = max, `ADV_SCAN_IND`
//!   with a scan response else `ADV_NONCONN_IND`, all three channels, no
//!   filter), `LE Set Advertising Data`, `LE Set Scan Response Data` (with
//!   a scan response), `LE Set Advertising Enable (on)`;
//! - scan: `LE Set Scan Enable (off)` if already scanning, `LE Set Scan
//!   Parameters`, `LE Set Scan Enable (on, no duplicate filtering)`;
//! - stops: `LE Set Advertising Enable (off)`, `LE Set Scan Enable (off)`.

use core::cell::Cell;

use akira_bridge::modules::ble::{AdvData, ReportKind};
use akira_bridge::{AdvConfig, BleRadio, Errno, ScanConfig, ScanReport};
use bt_hci::ControllerToHostPacket;
use bt_hci::cmd::SyncCmd;
use bt_hci::cmd::le::{
    LeSetAdvData, LeSetAdvEnable, LeSetAdvParams, LeSetScanEnable, LeSetScanParams, LeSetScanResponseData,
};
use bt_hci::controller::{Controller, ControllerCmdSync};
use bt_hci::event::Event;
use bt_hci::event::le::LeEvent;
use bt_hci::param::{
    AddrKind, AdvChannelMap, AdvFilterPolicy, AdvKind, BdAddr, Duration, LeAdvEventKind, LeScanKind,
    ScanningFilterPolicy,
};

/// Hands `sink` the advertising reports of an HCI event (`event`: its
/// code, length and parameters, the bytes after the packet indicator), as
/// [`HciBle::read_reports`] does for each event the controller sends.
/// Events of other kinds, and bytes bt-hci cannot parse, carry none; a
/// malformed report ends the event (the ones before it were delivered);
/// data beyond legacy advertising's 31 bytes is cut. Returns whether the
/// event was an advertising report event.
pub fn scan_reports(event: &[u8], sink: &mut dyn FnMut(&ScanReport)) -> bool {
    use bt_hci::FromHciBytes;
    match bt_hci::event::EventPacket::from_hci_bytes(event) {
        Ok((packet, _)) => reports_of(packet, sink),
        Err(_) => false,
    }
}

fn reports_of(event: bt_hci::event::EventPacket<'_>, sink: &mut dyn FnMut(&ScanReport)) -> bool {
    let Ok(Event::Le(LeEvent::LeAdvertisingReport(e))) = Event::try_from(event) else { return false };
    for report in e.reports.iter() {
        let Ok(r) = report else { break };
        let mut address = [0; 6];
        address.copy_from_slice(r.addr.raw());
        sink(&ScanReport {
            address,
            address_kind: r.addr_kind.into_inner(),
            rssi_dbm: r.rssi,
            kind: report_kind(r.event_kind),
            data: AdvData::new(&r.data[..r.data.len().min(31)]).unwrap_or(AdvData::EMPTY),
        });
    }
    true
}

/// The bridge's [`BleRadio`] over a bt-hci controller.
pub struct HciBle<C> {
    controller: C,
    own_addr_kind: AddrKind,
    advertising: Cell<bool>,
    scanning: Cell<bool>,
}

impl<C> HciBle<C> {
    /// Wraps a controller the firmware has reset and configured (event
    /// mask with LE Advertising Report, and a random address set if
    /// `own_addr_kind` is [`AddrKind::RANDOM`]).
    pub fn new(controller: C, own_addr_kind: AddrKind) -> Self {
        HciBle { controller, own_addr_kind, advertising: Cell::new(false), scanning: Cell::new(false) }
    }

    /// The controller, for firmware code that uses it directly.
    pub fn controller(&self) -> &C {
        &self.controller
    }
}

/// A duration in milliseconds as HCI's 0.625 ms units.
fn units(ms: u16) -> Duration<625> {
    // At most 10240 ms: 16384 units, within u16.
    Duration::from_u16((u32::from(ms) * 8 / 5) as u16)
}

/// The code an app sees for a failed command: the transport's or the
/// controller's error, `AKIRA_EIO` either way.
fn io<E>(_: E) -> Errno {
    Errno::Io
}

impl<C> HciBle<C>
where
    C: Controller,
{
    async fn exec<T: SyncCmd<Return = ()>>(&self, cmd: T) -> Result<(), Errno>
    where
        C: ControllerCmdSync<T>,
    {
        self.controller.exec(&cmd).await.map_err(io)
    }
}

/// The bridge's report kind for an HCI advertising event type (shared
/// with `TroubleBle`).
pub(crate) fn report_kind(kind: LeAdvEventKind) -> ReportKind {
    match kind {
        LeAdvEventKind::AdvInd => ReportKind::AdvInd,
        LeAdvEventKind::AdvDirectInd => ReportKind::AdvDirectInd,
        LeAdvEventKind::AdvScanInd => ReportKind::AdvScanInd,
        LeAdvEventKind::AdvNonconnInd => ReportKind::AdvNonconnInd,
        LeAdvEventKind::ScanRsp => ReportKind::ScanRsp,
    }
}

impl<C> BleRadio for HciBle<C>
where
    C: Controller
        + ControllerCmdSync<LeSetAdvParams>
        + ControllerCmdSync<LeSetAdvData>
        + ControllerCmdSync<LeSetScanResponseData>
        + ControllerCmdSync<LeSetAdvEnable>
        + ControllerCmdSync<LeSetScanParams>
        + ControllerCmdSync<LeSetScanEnable>,
{
    async fn advertise(&self, config: &AdvConfig) -> Result<(), Errno> {
        if self.advertising.get() {
            self.exec(LeSetAdvEnable::new(false)).await?;
            self.advertising.set(false);
        }
        let interval = units(config.interval_ms);
        let kind = if config.scan_response.is_some() { AdvKind::AdvScanInd } else { AdvKind::AdvNonconnInd };
        self.exec(LeSetAdvParams::new(
            interval,
            interval,
            kind,
            self.own_addr_kind,
            AddrKind::PUBLIC,
            BdAddr::new([0; 6]),
            AdvChannelMap::ALL,
            AdvFilterPolicy::Unfiltered,
        ))
        .await?;
        let data = config.data;
        self.exec(LeSetAdvData::new(data.as_bytes().len() as u8, data.padded())).await?;
        if let Some(rsp) = config.scan_response {
            self.exec(LeSetScanResponseData::new(rsp.as_bytes().len() as u8, rsp.padded())).await?;
        }
        self.exec(LeSetAdvEnable::new(true)).await?;
        self.advertising.set(true);
        Ok(())
    }

    async fn stop_advertising(&self) -> Result<(), Errno> {
        self.exec(LeSetAdvEnable::new(false)).await?;
        self.advertising.set(false);
        Ok(())
    }

    async fn scan(&self, config: &ScanConfig) -> Result<(), Errno> {
        if self.scanning.get() {
            self.exec(LeSetScanEnable::new(false, false)).await?;
            self.scanning.set(false);
        }
        let kind = if config.active { LeScanKind::Active } else { LeScanKind::Passive };
        self.exec(LeSetScanParams::new(
            kind,
            units(config.interval_ms),
            units(config.window_ms),
            self.own_addr_kind,
            ScanningFilterPolicy::BasicUnfiltered,
        ))
        .await?;
        self.exec(LeSetScanEnable::new(true, false)).await?;
        self.scanning.set(true);
        Ok(())
    }

    async fn stop_scanning(&self) -> Result<(), Errno> {
        self.exec(LeSetScanEnable::new(false, false)).await?;
        self.scanning.set(false);
        Ok(())
    }

    async fn read_reports(&self, sink: &mut dyn FnMut(&ScanReport)) -> Result<(), Errno> {
        loop {
            let mut buf = self.controller.alloc_buf().map_err(io)?;
            let packet = self.controller.read(&mut buf).await.map_err(io)?;
            let ControllerToHostPacket::Event(event) = packet else { continue };
            // Events bt-hci cannot parse, and other events, are skipped.
            if reports_of(event, sink) {
                return Ok(());
            }
        }
    }
}
