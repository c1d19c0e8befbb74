//! Each bridge module's board trait on [`SimBoard`]: what the simulated
//! peripherals answer.

use akira_bridge::modules::rf::{Job, Outcome};
use akira_bridge::{
    Adc, AppInfo, Ble, BleJob, Board, Display, Edge, Edges, Errno, Event, GattDeclaration, GattEvent, GattJob, Gpio,
    Hid, I2c, Instant, KvStore, Level, LoraConfig, Net, OtaControl, OtaRequest, OtaStatus, PacketInfo, PinMode,
    PowerHint, Pwm, Reading, Report, ResetReason, Rf, Rng, ScanReport, SensorKind, Sensors, Spi, Trace, Transport,
    Uart,
};
use embedded_hal::i2c::Operation;
use embedded_hal::spi::Operation as SpiOperation;

use crate::display::{Frame, SimFramebuffer};
use crate::i2c::{Env, Tmp102};
use crate::record::What;

use super::*;

impl Board for SimBoard {
    fn reset_reason(&self) -> ResetReason {
        ResetReason::PowerOn
    }

    fn power_hint(&mut self, app: &AppInfo, hint: PowerHint) {
        self.record(Some(app), What::Note(format!("sleep hint: {hint:?}")));
    }

    fn now(&self) -> Instant {
        match self.0.borrow().clock {
            Clock::Virtual(us) => Instant::from_micros(us),
            Clock::Real(start) => Instant::from_micros(u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX)),
        }
    }

    fn log(&mut self, app: &AppInfo, level: Level, message: &str) {
        self.record(Some(app), What::Log { level, message: message.to_string() });
    }

    fn trace(&mut self, app: &AppInfo, event: Trace<'_>) {
        let what = match event {
            Trace::Denied(d) => What::Denied(d.to_string()),
            Trace::PinConfigured { pin, output } => What::Configured { pin, output },
            Trace::PinWritten { pin, high } => What::Pin { pin, high },
            Trace::I2c { bus, addr, reg, wrote, read, result } => What::I2c {
                bus,
                addr,
                reg,
                wrote: wrote.to_vec(),
                read: if result.is_ok() { read.to_vec() } else { Vec::new() },
                result,
            },
            Trace::PwmDuty { channel, duty, max } => What::PwmDuty { channel, duty, max },
            Trace::PwmFrequency { channel, hz } => What::PwmFrequency { channel, hz },
            Trace::Adc { channel, value, millivolts } => What::Adc { channel, value, millivolts },
            Trace::Sensor { channel, kind, values } => What::Sensor { channel, kind, values: values.to_vec() },
            Trace::Random { len } => What::Random { len },
            Trace::Storage { op, key, len, result } => What::Storage { op, key: key.to_vec(), len, result },
            Trace::Uart { port, transmitted, bytes } => What::Uart { port, transmitted, bytes: bytes.to_vec() },
            Trace::Ipc { topic, published, bytes, subscribers } => {
                What::Ipc { topic, published, bytes: bytes.to_vec(), subscribers }
            }
            Trace::NetOpen { endpoint, host, port, result } => {
                What::NetOpen { endpoint, host: host.to_string(), port, result }
            }
            Trace::Net { socket, sent, bytes } => What::Net { socket, sent, bytes: bytes.to_vec() },
            Trace::Spi { device, wrote, read, result } => {
                What::Spi { device, wrote: wrote.to_vec(), read: read.to_vec(), result }
            }
            Trace::RfSent { frequency_hz, bytes, airtime_us, .. } => {
                What::RfSent { frequency_hz, bytes: bytes.to_vec(), airtime_us }
            }
            Trace::RfReceived { frequency_hz, bytes, rssi_dbm, snr_db } => {
                What::RfReceived { frequency_hz, bytes: bytes.to_vec(), rssi_dbm, snr_db }
            }
            Trace::Drawn { op, x, y, width, height } => What::Drawn { op, x, y, width, height },
            Trace::Flushed => What::Flushed { frame: self.frames() },
            Trace::HidReport { kind, bytes } => {
                let typed = if kind == akira_caps::scope::hid::KEYBOARD {
                    self.0.borrow_mut().hid.host_sees(bytes)
                } else {
                    None
                };
                What::HidReport { kind, bytes: bytes.to_vec(), typed }
            }
            Trace::BleAdvertising { interval_ms, data } => What::BleAdvertising { interval_ms, data: data.to_vec() },
            Trace::BleReport { address, rssi_dbm, data } => What::BleReport { address, rssi_dbm, data: data.to_vec() },
            Trace::GattEvent { kind, characteristic, data } => {
                What::GattEvent { kind, characteristic, data: data.to_vec() }
            }
            _ => return,
        };
        self.record(Some(app), what);
    }
}

impl Gpio for SimBoard {
    fn configure(&mut self, pin: u32, mode: PinMode) -> Result<(), Errno> {
        self.0.borrow_mut().pins.configure(pin, mode)
    }
    fn read(&mut self, pin: u32) -> Result<bool, Errno> {
        self.0.borrow_mut().pins.read(pin)
    }
    fn write(&mut self, pin: u32, high: bool) -> Result<(), Errno> {
        self.0.borrow_mut().pins.write(pin, high)
    }
    fn toggle(&mut self, pin: u32) -> Result<bool, Errno> {
        self.0.borrow_mut().pins.toggle(pin)
    }
    fn take_edge(&mut self, pin: u32, edges: Edges) -> Result<Option<Edge>, Errno> {
        self.0.borrow_mut().pins.take_edge(pin, edges)
    }
}

impl I2c for SimBoard {
    fn transaction(&mut self, bus: u32, addr: u8, ops: &mut [Operation<'_>]) -> Result<(), Errno> {
        let env = Env { temperature_mc: self.temperature_mc() };
        let mut s = self.0.borrow_mut();
        if let Some(b) = s.i2c.bus_mut(bus) {
            b.set_env(env);
        }
        s.i2c.transaction(bus, addr, ops)
    }
}

impl Spi for SimBoard {
    fn transaction(&mut self, device: u32, ops: &mut [SpiOperation<'_, u8>]) -> Result<(), Errno> {
        self.0.borrow_mut().spi.transaction(device, ops)
    }
}

impl Uart for SimBoard {
    fn read(&mut self, port: u32, buf: &mut [u8]) -> Result<usize, Errno> {
        self.0.borrow_mut().uarts.read(port, buf)
    }
    fn write(&mut self, port: u32, data: &[u8]) -> Result<usize, Errno> {
        self.0.borrow_mut().uarts.write(port, data)
    }
}

impl Net for SimBoard {
    fn open(&mut self, transport: Transport, host: &str, port: u16) -> Result<u32, Errno> {
        self.0.borrow_mut().net.open(transport, host, port)
    }
    fn is_open(&mut self, socket: u32) -> Result<bool, Errno> {
        self.0.borrow_mut().net.is_open(socket)
    }
    fn send(&mut self, socket: u32, data: &[u8]) -> Result<usize, Errno> {
        self.0.borrow_mut().net.send(socket, data)
    }
    fn receive(&mut self, socket: u32, buf: &mut [u8]) -> Result<Option<usize>, Errno> {
        self.0.borrow_mut().net.receive(socket, buf)
    }
    fn close(&mut self, socket: u32) {
        self.0.borrow_mut().net.close(socket)
    }
}

impl Pwm for SimBoard {
    fn max_duty(&mut self, channel: u32) -> Result<u16, Errno> {
        self.0.borrow_mut().pwm.max_duty(channel)
    }
    fn set_duty(&mut self, channel: u32, duty: u16) -> Result<(), Errno> {
        self.0.borrow_mut().pwm.set_duty(channel, duty)
    }
    fn set_frequency(&mut self, channel: u32, hz: u32) -> Result<(), Errno> {
        crate::pwm::check_frequency(channel, hz)?;
        self.0.borrow_mut().buzzer_hz = hz;
        Ok(())
    }
}

impl Adc for SimBoard {
    fn resolution(&mut self, channel: u32) -> Result<u8, Errno> {
        self.adc_input(channel)?;
        Ok(crate::adc::BITS)
    }
    fn read_raw(&mut self, channel: u32) -> Result<u16, Errno> {
        Ok(crate::adc::code(self.adc_input(channel)?))
    }
    fn full_scale_mv(&mut self, channel: u32) -> Result<u32, Errno> {
        self.adc_input(channel)?;
        Ok(crate::adc::FULL_SCALE_MV)
    }
}

impl Sensors for SimBoard {
    fn kind(&mut self, channel: u32) -> Result<SensorKind, Errno> {
        crate::sensor::kind(channel)
    }
    fn read(&mut self, channel: u32) -> Result<Reading, Errno> {
        if channel != 0 {
            return crate::sensor::fixed(channel);
        }
        // The temperature channel is the TMP102 on bus 0, read as its
        // driver would.
        let mut raw = [0u8; 2];
        I2c::transaction(self, 0, 0x48, &mut [Operation::Write(&[0x00]), Operation::Read(&mut raw)])?;
        Reading::scalar(SensorKind::Temperature, Tmp102::decode(u16::from_be_bytes(raw))).ok_or(Errno::Io)
    }
}

impl Rng for SimBoard {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Errno> {
        self.0.borrow_mut().rng.fill(buf);
        Ok(())
    }
}

impl KvStore for SimBoard {
    fn get(&mut self, app: &str, key: &[u8], buf: &mut [u8]) -> Result<Option<usize>, Errno> {
        self.0.borrow_mut().storage.get(app, key, buf)
    }
    fn set(&mut self, app: &str, key: &[u8], value: &[u8], quota: u32) -> Result<(), Errno> {
        self.0.borrow_mut().storage.set(app, key, value, quota)
    }
    fn remove(&mut self, app: &str, key: &[u8]) -> Result<bool, Errno> {
        self.0.borrow_mut().storage.remove(app, key)
    }
    fn used(&mut self, app: &str) -> Result<u32, Errno> {
        self.0.borrow_mut().storage.used(app)
    }
    fn capacity(&mut self) -> Result<u32, Errno> {
        self.0.borrow_mut().storage.capacity()
    }
}

/// WASI's files, random numbers and stdin are the board's store, generator
/// and serial ports; its real-time clock is the host's (with virtual time,
/// 2026-01-01 00:00 UTC plus the board's time, so runs repeat).
impl akira_bridge::WasiHost for SimBoard {
    fn wasi_store(&mut self) -> Option<&mut dyn KvStore> {
        Some(self)
    }
    fn wasi_random(&mut self) -> Option<&mut dyn akira_bridge::Rng> {
        Some(self)
    }
    fn wasi_serial(&mut self) -> Option<&mut dyn akira_bridge::Uart> {
        Some(self)
    }
    fn wall_clock_us(&self) -> Option<u64> {
        const VIRTUAL_EPOCH_US: u64 = 1_767_225_600_000_000;
        match self.0.borrow().clock {
            Clock::Virtual(us) => Some(VIRTUAL_EPOCH_US + us),
            Clock::Real(_) => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()
                .and_then(|d| u64::try_from(d.as_micros()).ok()),
        }
    }
}

impl OtaControl for SimBoard {
    fn status(&mut self, app: &str) -> OtaStatus {
        self.0.borrow().ota.map(|m| m.status(app)).unwrap_or_default()
    }
    fn request(&mut self, app: &str, request: OtaRequest) -> Result<(), Errno> {
        match self.0.borrow().ota {
            Some(m) => m.request(app, request),
            None if request == OtaRequest::Rollback => Err(Errno::NoSuchResource),
            None => Ok(()),
        }
    }
}

impl Rf for SimBoard {
    fn configure(&mut self, app: u16, config: &LoraConfig) -> Result<(), Errno> {
        let mut s = self.0.borrow_mut();
        match s.link.as_mut() {
            Some(link) => link.rf_configure(app, config),
            None => {
                s.air.configure(app.into(), config);
                Ok(())
            }
        }
    }
    fn config(&self, app: u16) -> Option<LoraConfig> {
        let mut s = self.0.borrow_mut();
        match s.link.as_mut() {
            Some(link) => link.rf_config(app),
            None => s.air.config(app.into()),
        }
    }
    fn start(&mut self, app: u16, job: Job<'_>, deadline: Instant) -> Result<(), Errno> {
        let now = self.now();
        let mut s = self.0.borrow_mut();
        match s.link.as_mut() {
            Some(link) => link.rf_start(app, job, deadline),
            None => s.air.start(app.into(), now, job, deadline),
        }
    }
    fn poll(&mut self, app: u16, now: Instant, buf: &mut [u8]) -> Option<Result<Outcome, Errno>> {
        let mut s = self.0.borrow_mut();
        match s.link.as_mut() {
            Some(link) => link.rf_poll(app, buf),
            None => s.air.poll(app.into(), now, buf),
        }
    }
    fn last_packet(&self, app: u16) -> Option<PacketInfo> {
        let mut s = self.0.borrow_mut();
        match s.link.as_mut() {
            Some(link) => link.rf_last_packet(app),
            None => s.air.last_packet(app.into()),
        }
    }
    fn release(&mut self, app: u16) {
        let mut s = self.0.borrow_mut();
        match s.link.as_mut() {
            Some(link) => link.rf_release(app),
            None => s.air.remove(app.into()),
        }
    }
}

impl Display for SimBoard {
    type Target = SimFramebuffer;
    fn draw<R>(&mut self, f: impl FnOnce(&mut Self::Target) -> R) -> Result<R, Errno> {
        self.0.borrow_mut().screen.draw(f)
    }
    /// Numbers the frame and hands it to the frame sink.
    fn flush(&mut self) -> Result<(), Errno> {
        let (frame, sink) = {
            let mut s = self.0.borrow_mut();
            s.frames += 1;
            (Frame::capture(s.frames, s.screen.target()), s.frame_sink.take())
        };
        // Called with the board released, so it may use the board.
        if let Some(mut sink) = sink {
            sink(&frame);
            self.0.borrow_mut().frame_sink = Some(sink);
        }
        Ok(())
    }
}

impl Hid for SimBoard {
    fn room(&mut self, kind: u32) -> Result<usize, Errno> {
        crate::hid::SimHid::room(kind)
    }
    fn send(&mut self, _report: &Report<'_>) -> Result<(), Errno> {
        // The host takes every report at once; the bridge's trace records it.
        Ok(())
    }
    fn next_event(&mut self) -> Option<Event> {
        self.0.borrow_mut().hid.events.pop()
    }
}

impl Ble for SimBoard {
    fn start(&mut self, app: u16, job: BleJob, _deadline: Instant) -> Result<(), Errno> {
        let now = self.now();
        let mut s = self.0.borrow_mut();
        match s.link.as_mut() {
            Some(link) => link.ble_start(app, job),
            None => s.ble.start(app.into(), now, job),
        }
    }
    fn poll(&mut self, app: u16, _now: Instant) -> Option<Result<(), Errno>> {
        let mut s = self.0.borrow_mut();
        match s.link.as_mut() {
            Some(link) => link.ble_poll(app),
            None => s.ble.poll(app.into()),
        }
    }
    fn next_report(&mut self, app: u16, now: Instant) -> Result<Option<ScanReport>, Errno> {
        let mut s = self.0.borrow_mut();
        match s.link.as_mut() {
            Some(link) => link.ble_next_report(app),
            None => s.ble.next_report(app.into(), now),
        }
    }
    fn release(&mut self, app: u16) {
        if let Some(link) = self.0.borrow_mut().link.as_mut() {
            link.ble_release(app);
        }
        // GATT servers and the phone stay on the board, joined or not.
        let seen = self.0.borrow_mut().ble.forget(app.into());
        if let Some(seen) = seen {
            self.record(None, What::GattCentral(seen));
        }
    }
    fn gatt_declare(&mut self, app: u16, declaration: GattDeclaration) -> Result<u8, Errno> {
        self.0.borrow_mut().ble.gatt_declare(app.into(), declaration)
    }
    fn gatt_start(&mut self, app: u16, job: GattJob, value: &[u8], _deadline: Instant) -> Result<bool, Errno> {
        let now = self.now();
        let (queued, seen) = self.0.borrow_mut().ble.gatt_start(app.into(), now, job, value)?;
        if let Some(seen) = seen {
            self.record(None, What::GattCentral(seen));
        }
        Ok(queued)
    }
    fn gatt_poll(&mut self, app: u16, _now: Instant) -> Option<Result<(), Errno>> {
        self.0.borrow_mut().ble.gatt_poll(app.into())
    }
    fn gatt_next_event(&mut self, app: u16, _now: Instant) -> Result<Option<GattEvent>, Errno> {
        self.0.borrow_mut().ble.gatt_next_event(app.into())
    }
}
