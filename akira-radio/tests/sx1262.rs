//! lora-phy driving an SX1262 over embedded-hal-mock: the exact SPI
//! commands (SX126x opcodes) and pin waits of a send and a receive, and,
//! end to end through the sandbox, that calls the guard refuses never
//! reach the bus.

use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use akira_bridge::{AppInfo, Board, Bridge, Errno, Instant, Level, LoraConfig, PacketInfo, Radio, RfMailbox, RfModule};
use akira_caps::scope::{Band, RfScope};
use akira_caps::{Manifest, Policy, Version, manifest::AppName};
use akira_radio::lora::LoraPhyRadio;
use akira_sandbox::{Event, RestartPolicy, Runtime, RuntimeConfig, Scheduler, Status};
use embedded_hal_mock::eh1::delay::NoopDelay;
use embedded_hal_mock::eh1::digital::{Mock as Pin, State, Transaction as PinT};
use embedded_hal_mock::eh1::spi::{Mock as Spi, Transaction as SpiT};
use lora_phy::LoRa;
use lora_phy::iv::GenericSx126xInterfaceVariant;
use lora_phy::sx126x::{self, Sx126x, Sx1262, TcxoCtrlVoltage};

/// The SPI transactions the test expects, and how many commands (each is
/// followed by a wait for BUSY low).
#[derive(Default)]
struct Script {
    spi: Vec<SpiT<u8>>,
    commands: usize,
}

impl Script {
    /// A command: opcode and parameters in one transaction.
    fn cmd(&mut self, bytes: &[u8]) -> &mut Self {
        self.spi.extend([SpiT::transaction_start(), SpiT::write_vec(bytes.to_vec()), SpiT::transaction_end()]);
        self.commands += 1;
        self
    }

    /// lora-phy waiting for the chip to be ready (BUSY low) before a mode
    /// change, with no command.
    fn ready(&mut self) -> &mut Self {
        self.commands += 1;
        self
    }

    /// A command with a data phase written after it (WriteBuffer).
    fn cmd_data(&mut self, bytes: &[u8], data: &[u8]) -> &mut Self {
        self.spi.extend([
            SpiT::transaction_start(),
            SpiT::write_vec(bytes.to_vec()),
            SpiT::write_vec(data.to_vec()),
            SpiT::transaction_end(),
        ]);
        self.commands += 1;
        self
    }

    /// A read: opcode (and address), then the chip's answer.
    fn read(&mut self, bytes: &[u8], answer: &[u8]) -> &mut Self {
        self.spi.extend([
            SpiT::transaction_start(),
            SpiT::write_vec(bytes.to_vec()),
            SpiT::read_vec(answer.to_vec()),
            SpiT::transaction_end(),
        ]);
        self.commands += 1;
        self
    }

    /// A Get* command: opcode, the status byte, then the answer.
    fn get(&mut self, opcode: u8, answer: &[u8]) -> &mut Self {
        self.spi.extend([
            SpiT::transaction_start(),
            SpiT::write_vec(vec![opcode]),
            SpiT::read_vec(vec![0x00]),
            SpiT::read_vec(answer.to_vec()),
            SpiT::transaction_end(),
        ]);
        self.commands += 1;
        self
    }

    /// `LoRa::new` on an SX1262 with a 1.7 V TCXO and the DC-DC converter.
    fn init(&mut self) -> &mut Self {
        self.ready() // after reset
            .cmd(&[0xc0, 0x00]) // GetStatus (wake up)
            .cmd(&[0x80, 0x00]) // SetStandby(STDBY_RC)
            .cmd(&[0x96, 0x01]) // SetRegulatorMode(DC-DC)
            .cmd(&[0x9d, 0x01]) // SetDIO2AsRfSwitchCtrl(on)
            .get(0x07, &[0x00, 0x00]) // GetDeviceErrors
            .cmd(&[0x97, 0x01, 0x00, 0x02, 0x80]) // SetDIO3AsTCXOCtrl(1.7 V, 10 ms)
            .cmd(&[0x89, 0x7f]) // Calibrate(all blocks)
            .cmd(&[0x8a, 0x01]) // SetPacketType(LoRa)
            .cmd(&[0x0d, 0x07, 0x40, 0x14, 0x24]) // WriteRegister(LoRa sync word 0x1424, private)
            .cmd(&[0x8f, 0x00, 0x00]) // SetBufferBaseAddress(tx 0, rx 0)
            .read(&[0x1d, 0x02, 0x9f, 0x00], &[0; 9]) // ReadRegister(retention list)
            .cmd_data(&[0x0d, 0x02, 0x9f], &[0x01, 0x08, 0xac, 0, 0, 0, 0, 0, 0]) // retain RxGain
            .read(&[0x1d, 0x02, 0x9f, 0x00], &[0; 9])
            .cmd_data(&[0x0d, 0x02, 0x9f], &[0x01, 0x08, 0x89, 0, 0, 0, 0, 0, 0]) // retain TxModulation
            .read(&[0x1d, 0x08, 0xd8, 0x00], &[0x00]) // ReadRegister(TxClampConfig)
            .cmd(&[0x0d, 0x08, 0xd8, 0x1e]) // WriteRegister(TxClampConfig, workaround 15.2)
            .cmd(&[0x95, 0x02, 0x02, 0x00, 0x01]) // SetPaConfig(duty 2, hpMax 2, SX1262, paLut 1)
            .cmd(&[0x8e, 0x08, 0x04]) // SetTxParams(+8 dBm, 200 us ramp): lora-phy's power 0
            .cmd(&[0x08, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00]) // SetDioIrqParams(all, DIO1)
    }

    /// The commands that put the app's modulation on the chip at 868.1 MHz
    /// before a send (`sf`, LDRO 0/1); the first job also calibrates the
    /// image for 863–870 MHz.
    fn modulation(&mut self, sf: u8, ldro: u8, first: bool) -> &mut Self {
        self.ready();
        if first {
            self.cmd(&[0x98, 0xd7, 0xdb]); // CalibrateImage(863–870 MHz)
        }
        self.cmd(&[0x8b, sf, 0x04, 0x01, ldro]) // SetModulationParams(SF, BW 125 kHz, CR 4/5, LDRO)
            .read(&[0x1d, 0x08, 0x89, 0x00], &[0x00]) // ReadRegister(TxModulation)
            .cmd(&[0x0d, 0x08, 0x89, 0x04]) // WriteRegister(TxModulation, workaround 15.1)
    }

    /// A send of `payload` at +14 dBm.
    fn send(&mut self, sf: u8, ldro: u8, payload: &[u8], first: bool) -> &mut Self {
        self.modulation(sf, ldro, first)
            .read(&[0x1d, 0x08, 0xd8, 0x00], &[0x00])
            .cmd(&[0x0d, 0x08, 0xd8, 0x1e]) // TxClampConfig
            .cmd(&[0x95, 0x02, 0x02, 0x00, 0x01]) // SetPaConfig for +14 dBm (datasheet table 13-21)
            .cmd(&[0x8e, 0x16, 0x02]) // SetTxParams(22 -> +14 dBm with that PA config, 40 us ramp)
            .ready()
            .cmd(&[0x8c, 0x00, 0x08, 0x00, payload.len() as u8, 0x01, 0x00]) // SetPacketParams(preamble 8, explicit, len, CRC, IQ normal)
            .read(&[0x1d, 0x07, 0x36, 0x00], &[0x00]) // ReadRegister(IqPolarity)
            .cmd(&[0x0d, 0x07, 0x36, 0x04]) // WriteRegister(IqPolarity, workaround 15.4)
            .cmd(&FREQ_868_1) // SetRfFrequency
            .cmd_data(&[0x0e, 0x00], payload) // WriteBuffer(offset 0)
            .cmd(&[0x08, 0x02, 0x01, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00]) // SetDioIrqParams(TxDone|Timeout on DIO1)
            .cmd(&[0x83, 0x00, 0x00, 0x00]) // SetTx(no timeout)
            .get(0x12, &[0x00, 0x01]) // GetIrqStatus: TxDone
            .cmd(&[0x02, 0x00, 0x01]) // ClearIrqStatus(TxDone)
    }
}

/// SetRfFrequency(868.1 MHz): the frequency in steps of 32 MHz / 2^25.
const FREQ_868_1: [u8; 5] = [0x86, 0x36, 0x41, 0x99, 0x9a];

#[test]
fn the_frequency_word_is_hz_in_pll_steps() {
    let steps = (868_100_000u64 << 25).div_ceil(32_000_000);
    assert_eq!(steps.to_be_bytes()[4..], FREQ_868_1[1..]);
}

/// The mocks of a scripted SX1262: SPI, then reset, DIO1 and BUSY pins.
struct Chip {
    spi: Spi<u8>,
    reset: Pin,
    dio1: Pin,
    busy: Pin,
}

impl Chip {
    /// Mocks expecting `script`, with DIO1 rising `irqs` times.
    fn new(script: &Script, irqs: usize) -> Chip {
        Chip {
            spi: Spi::new(&script.spi),
            reset: Pin::new(&[PinT::set(State::Low), PinT::set(State::High)]),
            dio1: Pin::new(&vec![PinT::wait_for_state(State::High); irqs]),
            busy: Pin::new(&vec![PinT::wait_for_state(State::Low); script.commands]),
        }
    }

    async fn radio(&self) -> impl Radio + use<> {
        let iv =
            GenericSx126xInterfaceVariant::new(self.reset.clone(), self.dio1.clone(), self.busy.clone(), None, None)
                .unwrap();
        let config =
            sx126x::Config { chip: Sx1262, tcxo_ctrl: Some(TcxoCtrlVoltage::Ctrl1V7), use_dcdc: true, rx_boost: false };
        let lora = LoRa::new(Sx126x::new(self.spi.clone(), iv, config), false, NoopDelay).await.ok().unwrap();
        LoraPhyRadio::new(lora)
    }

    /// Every expected transaction happened, and no other.
    fn done(mut self) {
        self.spi.done();
        self.reset.done();
        self.dio1.done();
        self.busy.done();
    }
}

/// Runs a future whose mocks answer at once.
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the radio waited on something the mocks never give"),
    }
}

const EU868: u32 = 868_100_000;

#[test]
fn send_is_the_sx1262_transmit_sequence() {
    let mut script = Script::default();
    script.init().send(0x09, 0x00, b"ping", true);
    let chip = Chip::new(&script, 1);
    let mut radio = block_on(chip.radio());
    let config = LoraConfig::new(EU868, 9, 125_000, 5, 14).unwrap();
    assert_eq!(block_on(radio.transmit(&config, b"ping")), Ok(()));
    chip.done();
}

#[test]
fn receive_reads_the_packet_and_its_signal_quality_then_standby() {
    let mut script = Script::default();
    script
        .init()
        .modulation(0x09, 0x00, true)
        .cmd(&[0x8c, 0x00, 0x08, 0x00, 0x10, 0x01, 0x00]) // SetPacketParams(preamble 8, explicit, max 16, CRC, IQ normal)
        .read(&[0x1d, 0x07, 0x36, 0x00], &[0x00])
        .cmd(&[0x0d, 0x07, 0x36, 0x04]) // IqPolarity workaround
        .cmd(&FREQ_868_1)
        .cmd(&[0x08, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00]) // SetDioIrqParams
        .cmd(&[0x9f, 0x01]) // StopTimerOnPreamble(on)
        .cmd(&[0xa0, 0x00]) // SetLoRaSymbNumTimeout(0)
        .cmd(&[0x0d, 0x08, 0xac, 0x94]) // WriteRegister(RxGain, power saving)
        .cmd(&[0x82, 0xff, 0xff, 0xff]) // SetRx(continuous)
        .get(0x12, &[0x00, 0x02]) // GetIrqStatus: RxDone
        .cmd(&[0x02, 0x00, 0x02]) // ClearIrqStatus(RxDone)
        .get(0x13, &[0x04, 0x80]) // GetRxBufferStatus: 4 bytes at 0x80
        .read(&[0x1e, 0x80, 0x00], b"pong") // ReadBuffer(0x80)
        .get(0x14, &[0xb0, 0x24, 0xb4]) // GetPacketStatus: RSSI -176/2 dBm, SNR 36/4 dB
        .cmd(&[0x80, 0x00]); // SetStandby(STDBY_RC)
    let chip = Chip::new(&script, 1);
    let mut radio = block_on(chip.radio());
    let config = LoraConfig::new(EU868, 9, 125_000, 5, 14).unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(block_on(radio.receive(&config, &mut buf)), Ok((4, PacketInfo { rssi_dbm: -88, snr_db: 9 })));
    assert_eq!(&buf[..4], b"pong");
    assert_eq!(block_on(radio.standby()), Ok(()));
    chip.done();
}

#[test]
fn time_on_air_agrees_with_lora_modulation() {
    use lora_modulation::{Bandwidth, BaseBandModulationParams, CodingRate, SpreadingFactor};
    let sfs = [
        (7, SpreadingFactor::_7),
        (8, SpreadingFactor::_8),
        (9, SpreadingFactor::_9),
        (10, SpreadingFactor::_10),
        (11, SpreadingFactor::_11),
        (12, SpreadingFactor::_12),
    ];
    let bws = [(125_000, Bandwidth::_125KHz), (250_000, Bandwidth::_250KHz), (500_000, Bandwidth::_500KHz)];
    for (sf, lsf) in sfs {
        for (bw, lbw) in bws {
            for len in [0usize, 1, 13, 51, 222, 255] {
                if 8 * len as i32 - 4 * sf as i32 + 44 <= 0 {
                    // No payload block: lora-modulation counts one (its
                    // ceiling is (x - 1) / n + 1, 1 for -n < x <= 0).
                    continue;
                }
                let ours = LoraConfig::new(EU868, sf, bw, 5, 14).unwrap().time_on_air_us(len);
                let theirs =
                    BaseBandModulationParams::new(lsf, lbw, CodingRate::_4_5).time_on_air_us(Some(8), true, len as u8);
                // lora-modulation rounds the symbol time down to whole
                // microseconds; ours is exact (rounded up at the end).
                let diff = i64::from(ours) - i64::from(theirs);
                assert!((0..=400).contains(&diff), "SF{sf} {bw} Hz {len} B: {ours} vs {theirs}");
            }
        }
    }
}

static RADIO: RfMailbox<2, 255> = RfMailbox::new();

#[derive(Clone)]
struct RadioBoard {
    now: Rc<Cell<u64>>,
}

impl Board for RadioBoard {
    fn now(&self) -> Instant {
        Instant::from_micros(self.now.get())
    }
    fn log(&mut self, _: &AppInfo, _: Level, _: &str) {}
}

impl akira_bridge::Rf for RadioBoard {
    fn configure(&mut self, app: u16, config: &LoraConfig) -> Result<(), Errno> {
        (&RADIO).configure(app, config)
    }
    fn config(&self, app: u16) -> Option<LoraConfig> {
        (&RADIO).config(app)
    }
    fn start(&mut self, app: u16, job: akira_bridge::modules::rf::Job<'_>, deadline: Instant) -> Result<(), Errno> {
        (&RADIO).start(app, job, deadline)
    }
    fn poll(
        &mut self,
        app: u16,
        now: Instant,
        buf: &mut [u8],
    ) -> Option<Result<akira_bridge::modules::rf::Outcome, Errno>> {
        (&RADIO).poll(app, now, buf)
    }
    fn last_packet(&self, app: u16) -> Option<PacketInfo> {
        (&RADIO).last_packet(app)
    }
}

#[test]
fn an_app_out_of_band_over_power_or_out_of_airtime_never_reaches_the_bus() {
    // Configure out of band, then over power (both denied), then SF12 at
    // 868.1 MHz, +14 dBm; send "ping" (827 ms on air), then 255 bytes
    // (9 s: beyond the 3.6 s an hour of a 0.1 % duty cycle). Exit code:
    // the five results, each + 16, in 4-bit fields.
    let wat = r#"(module
        (import "akira:rf" "configure" (func $configure (param i32 i32 i32 i32 i32) (result i32)))
        (import "akira:rf" "send" (func $send (param i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 16) "ping")
        (func $f (param i32 i32) (result i32)
            (i32.or (i32.shl (local.get 0) (i32.const 5)) (i32.add (local.get 1) (i32.const 16))))
        (func (export "akira_main") (result i32)
            (local $r i32)
            (local.set $r (i32.add (i32.const 16)
                (call $configure (i32.const 915000000) (i32.const 12) (i32.const 125000) (i32.const 5) (i32.const 14))))
            (local.set $r (call $f (local.get $r)
                (call $configure (i32.const 868100000) (i32.const 12) (i32.const 125000) (i32.const 5) (i32.const 20))))
            (local.set $r (call $f (local.get $r)
                (call $configure (i32.const 868100000) (i32.const 12) (i32.const 125000) (i32.const 5) (i32.const 14))))
            (local.set $r (call $f (local.get $r) (call $send (i32.const 16) (i32.const 4))))
            (call $f (local.get $r) (call $send (i32.const 0) (i32.const 255)))))"#;
    let mut manifest = Manifest::new(AppName::try_from("lora").unwrap(), Version::new(1, 0, 0));
    let mut bands = heapless::Vec::new();
    bands.push(Band { from_hz: 863_000_000, to_hz: 870_000_000 }).unwrap();
    manifest.capabilities.rf = Some(RfScope { bands, max_power_dbm: 14, duty_cycle_permille: 1 });
    let mut wasm = wat::parse_str(wat).unwrap();
    wasm.extend(manifest.custom_section());

    let bridge: Bridge<RadioBoard> = Bridge::new().with(RfModule).unwrap();
    let runtime = Runtime::new(RuntimeConfig::default(), bridge, Policy::development());
    let app = runtime.load(&wasm).unwrap();
    let board = RadioBoard { now: Rc::new(Cell::new(0)) };
    let mut scheduler = Scheduler::new(runtime);
    let id = scheduler.spawn(app, board.clone(), RestartPolicy::never()).unwrap();
    let mut exited = None;
    let mut on_event = |_: &AppInfo, e: &Event| {
        if let Event::Exited(code) = e {
            exited = Some(*code);
        }
    };

    // Only "ping" reaches the chip.
    let mut script = Script::default();
    script.init().send(0x0c, 0x01, b"ping", true);
    let chip = Chip::new(&script, 1);
    let radio = block_on(chip.radio());
    // The job is a send: no listening window to time.
    let mut task = Box::pin(RADIO.serve(radio, NoopDelay));

    scheduler.poll(Instant::ZERO, &mut on_event);
    assert_eq!(scheduler.status(id), Some(&Status::Waiting), "suspended in send");
    assert!(task.as_mut().poll(&mut Context::from_waker(Waker::noop())).is_pending());
    board.now.set(830_000);
    scheduler.poll(Instant::from_micros(830_000), &mut on_event);
    let field = |e: i32| (e + 16) as u32;
    let d = field(Errno::Denied.code());
    let expected = [d, d, field(0), field(0), field(Errno::NoSpace.code())].iter().fold(0, |acc, f| acc << 5 | f);
    assert_eq!(exited, Some(expected as i32));
    drop(task);
    chip.done();
}
