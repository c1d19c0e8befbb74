//! `akira`: build, inspect and run Akira apps on a simulated board.

mod air;
mod build;
mod describe;
mod fleet;
mod inspect;
mod manage;
mod new;
mod ota;
mod run;
mod sim_device;
mod sim_fleet;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

/// Why a command failed; each kind has its own exit code.
#[derive(Debug)]
pub enum Failure {
    /// Bad arguments or unreadable input (exit 2).
    Usage(String),
    /// An app was refused: manifest, grant, imports, wasm (exit 4).
    Refused(String),
    /// Building an app failed (exit 5).
    Build(String),
    /// The shared radio air could not be joined or was lost (exit 6).
    Air(akira_sim::air::AirError),
}

impl Failure {
    fn code(&self) -> u8 {
        match self {
            Failure::Usage(_) => 2,
            Failure::Refused(_) => 4,
            Failure::Build(_) => 5,
            Failure::Air(_) => 6,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Usage(m) | Failure::Refused(m) | Failure::Build(m) => f.write_str(m),
            Failure::Air(e) => write!(f, "{e}"),
        }
    }
}

/// Build, inspect and run Akira WebAssembly apps.
#[derive(Parser)]
#[command(name = "akira", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Make a new app directory that `akira run <PATH>` builds and runs at
    /// once: Rust (Cargo.toml, Akira.toml, src/lib.rs) or C (Akira.toml,
    /// src/main.c, build.sh, include/akira.h).
    New(new::NewArgs),
    /// Run apps on the simulated board (see `akira-sim` for its pins).
    ///
    /// Exit code: 0 when every app exited with 0 or was still running at
    /// the time limit; 1 when an app exited with another code; 3 when an
    /// app faulted (trap, CPU budget, strict denial, crash loop); 4 when an
    /// app was refused at install; 5 when a build failed; 6 when the
    /// radio air (`--air`) could not be joined or was lost.
    Run(run::RunArgs),
    /// Run a radio air that simulated devices (`akira run --air`) share:
    /// their LoRa and BLE radios in range of each other, their virtual
    /// clocks in step.
    Air(air::AirArgs),
    /// Show an app's manifest, imports and install verdict.
    Inspect(inspect::InspectArgs),
    /// Build an app directory into a `.wasm` with its manifest embedded.
    Build {
        /// The app directory (Akira.toml with Cargo.toml, or with build.sh).
        app: PathBuf,
    },
    /// Make an Ed25519 signing key: `<OUT>.key` (secret) and `<OUT>.pub`.
    Keygen {
        /// Path without extension.
        #[arg(long, short, default_value = "akira")]
        out: PathBuf,
    },
    /// Pack an app into a signed `.akpkg` (validated and import-checked first).
    Pack(ota::PackArgs),
    /// Send a package to a device, with a progress bar; resumes if the link drops.
    Push(ota::PushArgs),
    /// Manage a device's apps: list, and signed remove, rollback, confirm,
    /// downgrade permission, key revocation.
    Device {
        #[command(subcommand)]
        cmd: manage::DeviceCmd,
    },
    /// Run a simulated device: file-backed flash, OTA over TCP, apps on the
    /// simulated board; or, with `--mqtt`, `--count` fleet devices on a broker.
    SimDevice(sim_device::SimDeviceArgs),
    /// Fleets on an MQTT broker: devices, packages, rollouts in waves
    /// gated on the devices' health (docs/fleet.md).
    ///
    /// Exit code of `rollout`: 0 when every wave passed, 1 when it halted.
    Fleet {
        #[command(subcommand)]
        cmd: fleet::FleetCmd,
    },
}

/// Parses a duration as humantime writes it (`3s`, `500ms`, `2m`, `250us`,
/// `1m 30s`), or plain seconds (`3`, `1.5`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).map_err(|_| format!("`{text}` is out of range"));
    }
    humantime::parse_duration(text).map_err(|e| format!("`{text}` is not a duration like 3s or 500ms: {e}"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::New(args) => new::new(args),
        Cmd::Run(args) => run::run(args),
        Cmd::Air(args) => air::air(args),
        Cmd::Inspect(args) => inspect::inspect(args),
        Cmd::Build { app } => build_only(&app),
        Cmd::Keygen { out } => ota::keygen(&out),
        Cmd::Pack(args) => ota::pack(args),
        Cmd::Push(args) => ota::push(args),
        Cmd::Device { cmd } => manage::device(cmd),
        Cmd::SimDevice(args) => sim_device::sim_device(args),
        Cmd::Fleet { cmd } => fleet::fleet(cmd),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            eprintln!("akira: error: {failure}");
            ExitCode::from(failure.code())
        }
    }
}

fn build_only(app: &std::path::Path) -> Result<u8, Failure> {
    if !app.is_dir() {
        return Err(Failure::Usage(format!("{} is not an app directory", app.display())));
    }
    let prepared = build::prepare(app, None, None)?;
    run::report_build(&prepared);
    if let Some(out) = &prepared.output {
        println!("{}", out.display());
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("3s"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1m 30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("3 parsecs").is_err());
        assert!(parse_duration("s").is_err());
    }
}
