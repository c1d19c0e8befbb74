//! The simulated BLE air: every app on the board has its own controller
//! in range of the others', so two apps are two devices side by side.
//!
//! An advertising app sends an advertising event at its start and then
//! every interval; each event reaches every other app scanning at that
//! moment as a report (at [`RSSI_DBM`], from the advertiser's address
//! [`address`]), followed by its scan response when the scanner scans
//! actively. Commands complete at once. Reports wait in each scanner's
//! queue of [`QUEUE`]; beyond it the oldest is dropped. The simulation
//! wakes at each advertising event while someone scans
//! ([`SimBle::next_event`]).

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use akira_bridge::modules::ble::ReportKind;
use akira_bridge::{AdvConfig, BleJob, Errno, Instant, ScanConfig, ScanReport};

use crate::rf::RadioId;

/// Signal strength of every simulated report.
pub const RSSI_DBM: i8 = -50;

/// Reports an app's queue holds before dropping the oldest.
pub const QUEUE: usize = 8;

/// The simulated address of radio `radio` ([`crate::rf::RadioId`]: on
/// its own board the app id, on the air of [`crate::air`] the device
/// number and app id): a random static address (top two bits set), least
/// significant byte first, `c0:de:` then the device number and the app
/// id (`c0:de:00:00:00:00` for app 0 of device 0).
pub fn address(radio: RadioId) -> [u8; 6] {
    let [a0, a1, d0, d1] = radio.to_le_bytes();
    [a0, a1, d0, d1, 0xde, 0xc0]
}

#[derive(Default)]
struct AppController {
    /// Advertising, and when its next event is.
    advertising: Option<(AdvConfig, Instant)>,
    scanning: Option<ScanConfig>,
    queue: VecDeque<ScanReport>,
    /// The result of the app's last job, until it collects it.
    done: Option<Result<(), Errno>>,
}

/// The apps' controllers and the air between them.
#[derive(Default)]
pub struct SimBle {
    apps: BTreeMap<RadioId, AppController>,
    /// Bumped when a report reaches a scanner or a job completes.
    deliveries: u64,
}

impl SimBle {
    /// Reports delivered to scanning apps and jobs completed so far: when
    /// it moves, a suspended app may go on.
    pub fn deliveries(&self) -> u64 {
        self.deliveries
    }

    /// The next advertising event, if some app advertises and another
    /// scans.
    pub fn next_event(&self) -> Option<Instant> {
        let scanners = self.apps.iter().filter(|(_, a)| a.scanning.is_some()).count();
        self.apps
            .values()
            .filter_map(|a| {
                let (_, next) = a.advertising?;
                let other_scans = scanners > usize::from(a.scanning.is_some());
                other_scans.then_some(next)
            })
            .min()
    }

    /// Takes radio `radio`'s controller off the air (a device that left).
    pub fn remove(&mut self, radio: RadioId) {
        self.apps.remove(&radio);
    }

    /// Delivers the advertising events due by `now`.
    pub fn settle(&mut self, now: Instant) {
        let mut events = Vec::new();
        for (id, a) in &mut self.apps {
            let Some((config, next)) = &mut a.advertising else { continue };
            let interval = Duration::from_millis(config.interval_ms.into());
            // Only the last QUEUE events can still be in a queue.
            let due = (now.as_micros().saturating_sub(next.as_micros()) / interval.as_micros() as u64) as usize;
            if *next <= now && due > QUEUE {
                *next = next.saturating_add(interval * (due - QUEUE) as u32);
            }
            while *next <= now {
                events.push((*id, *config));
                *next = next.saturating_add(interval);
            }
        }
        for (from, config) in events {
            let kind = if config.scan_response.is_some() { ReportKind::AdvScanInd } else { ReportKind::AdvNonconnInd };
            let report =
                |kind, data| ScanReport { address: address(from), address_kind: 1, rssi_dbm: RSSI_DBM, kind, data };
            for (id, a) in &mut self.apps {
                let Some(scan) = a.scanning else { continue };
                if *id == from {
                    continue;
                }
                let mut reports = vec![report(kind, config.data)];
                if let (true, Some(rsp)) = (scan.active, config.scan_response) {
                    reports.push(report(ReportKind::ScanRsp, rsp));
                }
                for r in reports {
                    if a.queue.len() == QUEUE {
                        a.queue.pop_front();
                    }
                    a.queue.push_back(r);
                    self.deliveries += 1;
                }
            }
        }
    }

    /// Carries out app `app`'s job at `now`.
    pub fn start(&mut self, app: RadioId, now: Instant, job: BleJob) -> Result<(), Errno> {
        self.settle(now);
        if let BleJob::Advertise(_) = job
            && self.apps.iter().any(|(id, a)| *id != app && a.advertising.is_some())
        {
            return Err(Errno::Busy);
        }
        let a = self.apps.entry(app).or_default();
        match job {
            BleJob::Advertise(config) => a.advertising = Some((config, now)),
            BleJob::StopAdvertising => a.advertising = None,
            BleJob::Scan(config) => a.scanning = Some(config),
            BleJob::StopScanning => {
                a.scanning = None;
                a.queue.clear();
            }
        }
        a.done = Some(Ok(()));
        self.deliveries += 1;
        // An advertising event due now reaches the scanners at once.
        self.settle(now);
        Ok(())
    }

    /// App `app`'s job result.
    pub fn poll(&mut self, app: RadioId) -> Option<Result<(), Errno>> {
        Some(self.apps.get_mut(&app).and_then(|a| a.done.take()).unwrap_or(Err(Errno::Invalid)))
    }

    /// The oldest report queued for app `app` at `now`.
    pub fn next_report(&mut self, app: RadioId, now: Instant) -> Result<Option<ScanReport>, Errno> {
        self.settle(now);
        let a = self.apps.get_mut(&app).filter(|a| a.scanning.is_some()).ok_or(Errno::Invalid)?;
        Ok(a.queue.pop_front())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use akira_bridge::modules::ble::AdvData;

    fn beacon(interval_ms: u16, rsp: Option<&[u8]>) -> BleJob {
        BleJob::Advertise(AdvConfig {
            interval_ms,
            data: AdvData::new(b"\x02\x01\x06").unwrap(),
            scan_response: rsp.map(|r| AdvData::new(r).unwrap()),
        })
    }

    fn at(ms: u64) -> Instant {
        Instant::from_micros(ms * 1000)
    }

    #[test]
    fn advertisements_reach_other_scanners_each_interval() {
        let mut air = SimBle::default();
        air.start(2, at(0), BleJob::Scan(ScanConfig::new(1, 100, 100).unwrap())).unwrap();
        assert_eq!(air.next_event(), None, "nobody advertises");
        air.start(1, at(10), beacon(100, Some(b"\x02\x09x"))).unwrap();
        assert_eq!(air.poll(1), Some(Ok(())));
        // The first event at once: the advertisement and, scanning
        // actively, the scan response.
        let r = air.next_report(2, at(10)).unwrap().unwrap();
        assert_eq!((r.address, r.rssi_dbm, r.kind), (address(1), -50, ReportKind::AdvScanInd));
        assert_eq!(air.next_report(2, at(10)).unwrap().unwrap().kind, ReportKind::ScanRsp);
        assert_eq!(air.next_report(2, at(109)).unwrap(), None);
        assert_eq!(air.next_event(), Some(at(110)));
        assert!(air.next_report(2, at(110)).unwrap().is_some());
        assert_eq!(air.next_report(1, at(110)), Err(Errno::Invalid), "not scanning");
        assert_eq!(air.start(3, at(110), beacon(100, None)), Err(Errno::Busy));
        // An hour later the queue holds the newest QUEUE reports.
        air.next_report(2, at(3_600_000)).unwrap();
        let left = std::iter::from_fn(|| air.next_report(2, at(3_600_000)).unwrap()).count();
        assert_eq!(left, QUEUE - 1);
        air.start(2, at(3_600_000), BleJob::StopScanning).unwrap();
        assert_eq!(air.next_event(), None, "nobody scans");
    }
}
