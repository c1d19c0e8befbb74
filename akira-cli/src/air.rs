//! `akira air`: the radio medium simulated devices share.

use std::io::Write;
use std::time::Duration;

use akira_sim::air::{Hub, HubEnd};
use clap::Args;

use crate::{Failure, parse_duration};

/// Arguments of `akira air`.
#[derive(Args)]
pub struct AirArgs {
    /// Port to listen on, on 127.0.0.1; any free one by default (printed).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Devices to wait for before time starts.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    devices: u16,
    /// Stop after this much virtual time (e.g. `30s`).
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration)]
    duration: Option<Duration>,
}

/// Runs `akira air`; returns the exit code.
pub fn air(args: AirArgs) -> Result<u8, Failure> {
    let hub = Hub::bind(("127.0.0.1", args.port))
        .map_err(|e| Failure::Usage(format!("cannot listen on 127.0.0.1:{}: {e}", args.port)))?;
    let addr = hub.local_addr().map_err(|e| Failure::Usage(format!("cannot listen: {e}")))?;
    // The address on stdout, for scripts; the rest on stderr.
    println!("{addr}");
    let _ = std::io::stdout().flush();
    eprintln!("akira: air on {addr}: waiting for {} device(s) (akira run --air {addr} ...)", args.devices);
    let end = hub
        .run(usize::from(args.devices), args.duration, |event| eprintln!("akira: air: {event}"))
        .map_err(|e| Failure::Usage(format!("the air stopped: {e}")))?;
    match end {
        HubEnd::AllLeft(at) => eprintln!("akira: air: every device left at {at}"),
        HubEnd::Stalled(at) => eprintln!("akira: air: nothing left to happen at {at}"),
        HubEnd::TimeLimit(at) => eprintln!("akira: air: time limit reached at {at}"),
    }
    Ok(0)
}
