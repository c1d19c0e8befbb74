//! The simulated LoRa air: every app on the board has its own radio on a
//! shared medium, so two apps are two devices in range of each other.
//! Radios are keyed by a [`RadioId`]: on one board, the app's id; on the
//! air of [`crate::air`], the device's number and the app's id, so apps
//! of several simulated devices share one medium.
//!
//! A packet is on the air for its time on air: the sender's `send`
//! returns when it ends, and then it reaches every other app listening
//! with the same frequency, spreading factor and bandwidth (at -60 dBm,
//! SNR 9 dB); nobody listening, it is lost, as on real air. The
//! simulation wakes at the end of each transmission
//! ([`SimAir::next_event`]).

use std::collections::{BTreeMap, VecDeque};

use akira_bridge::modules::rf::{Job, Outcome};
use akira_bridge::{Errno, Instant, LoraConfig, PacketInfo};

/// Signal quality of every simulated packet.
pub const QUALITY: PacketInfo = PacketInfo { rssi_dbm: -60, snr_db: 9 };

/// A radio on the air: `device << 16 | app` (see [`radio_id`]); on a
/// board of its own an app's radio is its app id.
pub type RadioId = u32;

/// The radio of app `app` on device `device`.
pub const fn radio_id(device: u16, app: u16) -> RadioId {
    (device as u32) << 16 | app as u32
}

/// Packets an app's radio holds before dropping.
pub const INBOX: usize = 8;

#[derive(Default)]
struct AppRadio {
    config: Option<LoraConfig>,
    /// Listening for up to this many bytes until the deadline.
    listening: Option<(usize, Instant)>,
    /// Transmitting until then.
    sending_until: Option<Instant>,
    inbox: VecDeque<Vec<u8>>,
    last: Option<PacketInfo>,
}

/// A packet on the air.
struct Flight {
    from: RadioId,
    config: LoraConfig,
    end: Instant,
    bytes: Vec<u8>,
}

/// The apps' radios and the air between them.
#[derive(Default)]
pub struct SimAir {
    radios: BTreeMap<RadioId, AppRadio>,
    flights: Vec<Flight>,
    /// Bumped when a packet reaches a listener.
    deliveries: u64,
}

fn same_channel(a: &LoraConfig, b: &LoraConfig) -> bool {
    a.frequency_hz == b.frequency_hz && a.spreading_factor == b.spreading_factor && a.bandwidth_hz == b.bandwidth_hz
}

impl SimAir {
    /// Packets delivered to listening apps so far.
    pub fn deliveries(&self) -> u64 {
        self.deliveries
    }

    /// Records app `app`'s settings.
    pub fn configure(&mut self, app: RadioId, config: &LoraConfig) {
        self.radios.entry(app).or_default().config = Some(*config);
    }

    /// App `app`'s settings.
    pub fn config(&self, app: RadioId) -> Option<LoraConfig> {
        self.radios.get(&app).and_then(|r| r.config)
    }

    /// When the next transmission ends, if one is on the air.
    pub fn next_event(&self) -> Option<Instant> {
        self.flights.iter().map(|f| f.end).min()
    }

    /// Takes radio `radio` off the air, with its packet on the air if it
    /// was sending (a device that left, an app that stopped).
    pub fn remove(&mut self, radio: RadioId) {
        self.radios.remove(&radio);
        self.flights.retain(|f| f.from != radio);
    }

    /// Delivers the packets whose transmission ended by `now` to the apps
    /// listening on their channel.
    pub fn settle(&mut self, now: Instant) {
        let (ended, flying): (Vec<Flight>, Vec<Flight>) = self.flights.drain(..).partition(|f| f.end <= now);
        self.flights = flying;
        for f in ended {
            for (id, radio) in &mut self.radios {
                let tuned = radio.config.is_some_and(|c| same_channel(&c, &f.config));
                if *id != f.from && tuned && radio.listening.is_some() && radio.inbox.len() < INBOX {
                    radio.inbox.push_back(f.bytes.clone());
                    self.deliveries += 1;
                }
            }
        }
    }

    /// Starts a job at `now`: a send goes on the air for its time on air;
    /// a receive listens.
    pub fn start(&mut self, app: RadioId, now: Instant, job: Job<'_>, deadline: Instant) -> Result<(), Errno> {
        self.settle(now);
        let radio = self.radios.get_mut(&app).ok_or(Errno::Invalid)?;
        let config = radio.config.ok_or(Errno::Invalid)?;
        match job {
            Job::Receive { max_len } => radio.listening = Some((max_len, deadline)),
            Job::Send(data) => {
                let airtime = std::time::Duration::from_micros(config.time_on_air_us(data.len()).into());
                let end = now.saturating_add(airtime);
                radio.sending_until = Some(end);
                self.flights.push(Flight { from: app, config, end, bytes: data.to_vec() });
            }
        }
        Ok(())
    }

    /// App `app`'s job at `now`.
    pub fn poll(&mut self, app: RadioId, now: Instant, buf: &mut [u8]) -> Option<Result<Outcome, Errno>> {
        self.settle(now);
        let Some(radio) = self.radios.get_mut(&app) else { return Some(Err(Errno::Invalid)) };
        if let Some(end) = radio.sending_until {
            if now < end {
                return None;
            }
            radio.sending_until = None;
            return Some(Ok(Outcome::Sent));
        }
        let (max_len, deadline) = radio.listening?;
        if let Some(packet) = radio.inbox.pop_front() {
            radio.listening = None;
            radio.last = Some(QUALITY);
            let n = packet.len().min(max_len).min(buf.len());
            buf[..n].copy_from_slice(&packet[..n]);
            return Some(Ok(Outcome::Received { len: n, packet: QUALITY }));
        }
        if now >= deadline {
            radio.listening = None;
            return Some(Err(Errno::TimedOut));
        }
        None
    }

    /// Signal quality of app `app`'s last packet.
    pub fn last_packet(&self, app: RadioId) -> Option<PacketInfo> {
        self.radios.get(&app).and_then(|r| r.last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_apps_listening_without_a_timeout_both_receive() {
        // Every simulated app has a radio of its own: listeners never wait
        // for each other (the turns of a shared radio are the bridge's
        // `RfMailbox`'s, tested there).
        let config = LoraConfig::new(868_100_000, 7, 125_000, 5, 14).unwrap();
        let mut air = SimAir::default();
        for app in 1..=3 {
            air.configure(app, &config);
        }
        for app in [1, 2] {
            air.start(app, Instant::ZERO, Job::Receive { max_len: 8 }, Instant::MAX).unwrap();
        }
        air.start(3, Instant::ZERO, Job::Send(b"hi"), Instant::MAX).unwrap();
        let end = air.next_event().unwrap();
        let mut buf = [0u8; 8];
        for app in [1, 2] {
            assert_eq!(air.poll(app, end, &mut buf), Some(Ok(Outcome::Received { len: 2, packet: QUALITY })));
        }
    }
}
