//! BLE advertising and scanning for apps (feature `ble`): Nordic's
//! SoftDevice Controller (nrf-sdc) under the multiprotocol service layer
//! (MPSL), driven by `akira-radio`'s `HciBle` in the task serving the
//! board's [`BleController`]. Apps reach it through `akira:ble`.
//!
//! MPSL owns RTC0, TIMER0, TEMP, the RADIO, the clock, PPI channels 17–31
//! and interrupt priority 0: the firmware's other interrupts run at
//! priority 2 ([`lower_priorities`]), its critical sections are MPSL's
//! (they leave the radio's interrupts on), and flash goes through MPSL's
//! timeslots (`nrf_mpsl::Flash`).

use akira_bridge::BleController;
#[cfg(not(feature = "gatt"))]
use akira_radio::ble::HciBle;
#[cfg(not(feature = "gatt"))]
use bt_hci::cmd::controller_baseband::SetEventMask;
#[cfg(not(feature = "gatt"))]
use bt_hci::cmd::le::{LeSetEventMask, LeSetRandomAddr};
#[cfg(not(feature = "gatt"))]
use bt_hci::controller::ControllerCmdSync;
#[cfg(not(feature = "gatt"))]
use bt_hci::param::{AddrKind, BdAddr, EventMask, LeEventMask};
use defmt::{info, warn};
use embassy_executor::Spawner;
use embassy_nrf::interrupt::{self, InterruptExt, Priority};
use nrf_sdc::mpsl::{MultiprotocolServiceLayer, raw as mpsl_raw};
use nrf_sdc::{self as sdc, SoftdeviceController};
use static_cell::StaticCell;

/// The controller's job queue, app `akira:ble` calls in, HCI commands out.
pub static BLE: BleController = BleController::new();

/// Memory for the SoftDevice Controller: one legacy advertiser and a
/// scanner, with `gatt` one peripheral link and its buffers (the builder
/// checks it is enough at boot).
const SDC_MEM: usize = if cfg!(feature = "gatt") { 8192 } else { 4096 };

/// ACL buffers per link (`gatt`): trouble-host's default packet pool's
/// 251-byte packets, three each way.
#[cfg(feature = "gatt")]
const LINK_BUFFERS: u8 = 3;

/// The firmware's own interrupts, below MPSL's priority 0.
pub fn lower_priorities() {
    for irq in [interrupt::UARTE0, interrupt::UARTE1, interrupt::TWISPI0, interrupt::SPI2, interrupt::SAADC] {
        irq.set_priority(Priority::P2);
    }
}

/// The SoftDevice Controller's random numbers: the RNG peripheral, shared
/// with the apps' `akira:rng`.
pub struct SdcRng;

impl rand_core::RngCore for SdcRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        if crate::RNG.with(|rng| akira_bridge::Rng::fill(rng, dst)).is_err() {
            panic!("the RNG is set up before the SoftDevice Controller");
        }
    }
}

impl rand_core::CryptoRng for SdcRng {}

#[embassy_executor::task]
async fn mpsl_task(mpsl: &'static MultiprotocolServiceLayer<'static>) -> ! {
    mpsl.run().await
}

/// Serves the apps' advertising, scanning and GATT server (feature
/// `gatt`) through trouble-host, with a random static address from the
/// chip's FICR, forever (trouble-host sets the controller up).
#[cfg(feature = "gatt")]
#[embassy_executor::task]
async fn ble_task(sdc: SoftdeviceController<'static>) -> ! {
    use trouble_host::prelude::{Address, DefaultPacketPool, HostResources};
    // One connection; its signalling and ATT channels.
    let mut resources: HostResources<DefaultPacketPool, 1, 2> = HostResources::new();
    let stack = trouble_host::new(sdc, &mut resources).set_random_address(Address::random(static_address())).build();
    info!("BLE host ready");
    akira_radio::trouble::TroubleBle::new(stack).serve(&BLE, embassy_time::Delay).await
}

/// Configures the controller (events, a random static address from the
/// chip's FICR) and serves the apps' jobs forever.
#[cfg(not(feature = "gatt"))]
#[embassy_executor::task]
async fn ble_task(sdc: SoftdeviceController<'static>) -> ! {
    let setup = async {
        sdc.exec(&SetEventMask::new(EventMask::new().enable_le_meta(true))).await?;
        sdc.exec(&LeSetEventMask::new(LeEventMask::new().enable_le_adv_report(true))).await?;
        sdc.exec(&LeSetRandomAddr::new(BdAddr::new(static_address()))).await
    };
    if let Err(e) = setup.await {
        warn!("BLE controller setup: {}", defmt::Debug2Format(&e));
    }
    info!("BLE controller ready");
    BLE.serve(HciBle::new(sdc, AddrKind::RANDOM), embassy_time::Delay).await
}

/// The chip's random static address (FICR DEVICEADDR, the two top bits
/// set), least significant byte first.
fn static_address() -> [u8; 6] {
    let low = embassy_nrf::pac::FICR.deviceaddr(0).read().to_le_bytes();
    let high = embassy_nrf::pac::FICR.deviceaddr(1).read().to_le_bytes();
    [low[0], low[1], low[2], low[3], high[0], high[1] | 0xc0]
}

/// Starts MPSL and the SoftDevice Controller (advertiser and scanner)
/// and spawns their tasks; the controller for [`Peripherals::ble`]
/// (`None` if it did not start).
///
/// [`Peripherals::ble`]: akira_bridge::Peripherals::ble
pub fn start(
    spawner: &Spawner,
    mpsl: &'static MultiprotocolServiceLayer<'static>,
    p: sdc::Peripherals<'static>,
) -> Option<&'static BleController> {
    static RNG: StaticCell<SdcRng> = StaticCell::new();
    static MEM: StaticCell<sdc::Mem<SDC_MEM>> = StaticCell::new();
    let built = sdc::Builder::new().and_then(|b| b.support_adv().support_scan().adv_count(1));
    #[cfg(feature = "gatt")]
    let built = built
        .and_then(|b| b.support_peripheral().peripheral_count(1)?.buffer_cfg(251, 251, LINK_BUFFERS, LINK_BUFFERS));
    let built = built.and_then(|b| b.build(p, RNG.init(SdcRng), mpsl, MEM.init(sdc::Mem::new())));
    let sdc = match built {
        Ok(sdc) => sdc,
        Err(e) => {
            warn!("SoftDevice Controller: {}", defmt::Debug2Format(&e));
            return None;
        }
    };
    match (mpsl_task(mpsl), ble_task(sdc)) {
        (Ok(mpsl), Ok(ble)) => {
            spawner.spawn(mpsl);
            spawner.spawn(ble);
            Some(&BLE)
        }
        _ => {
            warn!("BLE not served: task pool full");
            None
        }
    }
}

/// The low-frequency clock for MPSL: the internal RC oscillator,
/// calibrated every 4 s (every 8 s at the latest), as embassy-nrf's
/// default configuration starts it (the DK's 32.768 kHz crystal is the
/// alternative: `MPSL_CLOCK_LF_SRC_XTAL` here and embassy-nrf's
/// `lfclk_source`).
pub const LFCLK: mpsl_raw::mpsl_clock_lfclk_cfg_t = mpsl_raw::mpsl_clock_lfclk_cfg_t {
    source: mpsl_raw::MPSL_CLOCK_LF_SRC_RC as u8,
    rc_ctiv: 16,
    rc_temp_ctiv: 2,
    accuracy_ppm: mpsl_raw::MPSL_WORST_CLOCK_ACCURACY_PPM as u16,
    skip_wait_lfclk_started: false,
};
