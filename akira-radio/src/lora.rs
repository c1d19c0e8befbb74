//! The bridge's [`Radio`] over lora-phy, for SX126x and SX127x chips.
//!
//! The firmware builds a lora-phy [`LoRa`] from its chip (an
//! `Sx126x` or `Sx127x` over an async `SpiDevice` and an
//! `InterfaceVariant` with the reset, busy and DIO1 pins), wraps it in a
//! [`LoraPhyRadio`] and hands that to the task serving the board's
//! [`RfMailbox`](akira_bridge::RfMailbox):
//!
//! ```rust,ignore
//! let iv = GenericSx126xInterfaceVariant::new(reset, dio1, busy, None, None)?;
//! let config = sx126x::Config { chip: Sx1262, tcxo_ctrl: Some(TcxoCtrlVoltage::Ctrl1V7), use_dcdc: true, rx_boost: false };
//! let lora = LoRa::new(Sx126x::new(spi, iv, config), false, delay).await?;
//! RADIO.serve(LoraPhyRadio::new(lora), embassy_time::Delay).await
//! ```
//!
//! Every job sets the app's modulation, packet format (explicit header,
//! CRC, 8-symbol preamble, normal IQ) and, for a send, its power, so apps
//! with different settings can share the radio.

use akira_bridge::modules::rf::PREAMBLE_SYMBOLS;
use akira_bridge::{Errno, LoraConfig, PacketInfo, Radio};
use lora_phy::mod_params::{Bandwidth, CodingRate, ModulationParams, RadioError, SpreadingFactor};
use lora_phy::mod_traits::RadioKind;
use lora_phy::{DelayNs, LoRa, RxMode};

/// The bridge's [`Radio`] over a lora-phy [`LoRa`].
pub struct LoraPhyRadio<RK: RadioKind, DLY: DelayNs> {
    lora: LoRa<RK, DLY>,
}

impl<RK: RadioKind, DLY: DelayNs> LoraPhyRadio<RK, DLY> {
    /// Wraps a radio lora-phy has initialised ([`LoRa::new`]).
    pub fn new(lora: LoRa<RK, DLY>) -> Self {
        LoraPhyRadio { lora }
    }

    /// The lora-phy radio, for firmware code that uses it directly.
    pub fn lora_mut(&mut self) -> &mut LoRa<RK, DLY> {
        &mut self.lora
    }

    fn modulation(&mut self, c: &LoraConfig) -> Result<ModulationParams, Errno> {
        let sf = match c.spreading_factor {
            7 => SpreadingFactor::_7,
            8 => SpreadingFactor::_8,
            9 => SpreadingFactor::_9,
            10 => SpreadingFactor::_10,
            11 => SpreadingFactor::_11,
            12 => SpreadingFactor::_12,
            _ => return Err(Errno::Invalid),
        };
        let bw = match c.bandwidth_hz {
            7_810 => Bandwidth::_7KHz,
            10_420 => Bandwidth::_10KHz,
            15_630 => Bandwidth::_15KHz,
            20_830 => Bandwidth::_20KHz,
            31_250 => Bandwidth::_31KHz,
            41_670 => Bandwidth::_41KHz,
            62_500 => Bandwidth::_62KHz,
            125_000 => Bandwidth::_125KHz,
            250_000 => Bandwidth::_250KHz,
            500_000 => Bandwidth::_500KHz,
            _ => return Err(Errno::Invalid),
        };
        let cr = match c.coding_rate {
            5 => CodingRate::_4_5,
            6 => CodingRate::_4_6,
            7 => CodingRate::_4_7,
            8 => CodingRate::_4_8,
            _ => return Err(Errno::Invalid),
        };
        self.lora.create_modulation_params(sf, bw, cr, c.frequency_hz).map_err(errno)
    }
}

/// The code an app sees for a lora-phy error: settings the chip refuses
/// are `AKIRA_EINVAL`, oversized payloads `AKIRA_E2BIG`, the rest (bus,
/// pins, chip timeouts) `AKIRA_EIO`.
pub fn errno(e: RadioError) -> Errno {
    match e {
        RadioError::InvalidConfiguration
        | RadioError::UnavailableSpreadingFactor
        | RadioError::UnavailableBandwidth
        | RadioError::InvalidBandwidthForFrequency
        | RadioError::InvalidSF6ExplicitHeaderRequest
        | RadioError::InvalidOutputPowerForFrequency => Errno::Invalid,
        RadioError::PayloadSizeUnexpected(_) | RadioError::PayloadSizeMismatch(..) => Errno::TooLarge,
        _ => Errno::Io,
    }
}

impl<RK: RadioKind, DLY: DelayNs> Radio for LoraPhyRadio<RK, DLY> {
    async fn transmit(&mut self, config: &LoraConfig, data: &[u8]) -> Result<(), Errno> {
        let mp = self.modulation(config)?;
        let mut pp = self.lora.create_tx_packet_params(PREAMBLE_SYMBOLS, false, true, false, &mp).map_err(errno)?;
        self.lora.prepare_for_tx(&mp, &mut pp, config.power_dbm.into(), data).await.map_err(errno)?;
        self.lora.tx().await.map_err(errno)
    }

    async fn receive(&mut self, config: &LoraConfig, buf: &mut [u8]) -> Result<(usize, PacketInfo), Errno> {
        let mp = self.modulation(config)?;
        let max = u8::try_from(buf.len()).unwrap_or(u8::MAX);
        let pp = self.lora.create_rx_packet_params(PREAMBLE_SYMBOLS, false, max, true, false, &mp).map_err(errno)?;
        self.lora.prepare_for_rx(RxMode::Continuous, &mp, &pp).await.map_err(errno)?;
        let (len, status) = self.lora.rx(&pp, buf).await.map_err(errno)?;
        let len = usize::from(len).min(buf.len());
        Ok((len, PacketInfo { rssi_dbm: status.rssi, snr_db: status.snr }))
    }

    async fn standby(&mut self) -> Result<(), Errno> {
        self.lora.enter_standby().await.map_err(errno)
    }
}
