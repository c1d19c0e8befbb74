//! Scans passively for `ble-beacon` and logs each new count it
//! advertises, until it has seen count 3 (or heard nothing for 5 s).
#![no_std]

use core::time::Duration;

use akira_app::ble::{self, AdvData, Scan};
use akira_app::{Error, info, warn};

fn run() -> akira_app::Result<()> {
    ble::scan(Scan::passive())?;
    let mut last = 0;
    while last < 3 {
        let report = match ble::next_report(Some(Duration::from_secs(5))) {
            Ok(r) => r,
            Err(Error::TIMED_OUT) => {
                warn!("no beacon for 5 s");
                return Err(Error::TIMED_OUT);
            }
            Err(e) => return Err(e),
        };
        if report.name() != Some("akira-beacon") {
            continue;
        }
        let Some(&[0xff, 0xff, count]) = ble::find_ad(report.data(), AdvData::MANUFACTURER) else { continue };
        if count != last {
            let a = report.address;
            info!(
                "akira-beacon {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x} count {count} ({} dBm)",
                a[0], a[1], a[2], a[3], a[4], a[5], report.rssi_dbm
            );
            last = count;
        }
    }
    ble::scan_stop()?;
    info!("saw counts 1 to 3");
    Ok(())
}

akira_app::main!(run);
