//! `sandbox-overhead [--engine NAME] [--slice FUEL] KERNEL.wasm`
//!
//! (`--slice` defaults to the runtime's default, which `--default-slice`
//! prints.)
//!
//! Runs a kernel once on one engine (see the library docs) and prints its
//! checksum, the slices and the fuel. `--engine all` runs every engine this
//! build has and checks that they agree. Under callgrind, count only the
//! run with `--toggle-collect=overhead_measured` (`callgrind.sh` does).

use std::process::ExitCode;

use akira_sandbox::RuntimeConfig;
use sandbox_overhead::{Engine, run};

const USAGE: &str = "usage: sandbox-overhead [--engine NAME|all] [--slice FUEL] KERNEL.wasm
       sandbox-overhead --default-slice   (prints the runtime's default slice fuel)";

fn main() -> ExitCode {
    match try_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sandbox-overhead: {e}");
            ExitCode::FAILURE
        }
    }
}

fn try_main() -> Result<(), String> {
    let mut engines = vec![Engine::Sandbox];
    let mut slice = RuntimeConfig::default().slice_fuel;
    let mut kernel = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--engine" => {
                let name = args.next().ok_or(USAGE)?;
                engines = if name == "all" {
                    Engine::ALL.into_iter().filter(|e| e.available()).collect()
                } else {
                    vec![name.parse()?]
                };
            }
            "--slice" => {
                let fuel = args.next().ok_or(USAGE)?;
                slice = fuel.parse().map_err(|_| format!("--slice: not a number of fuel: {fuel}"))?;
            }
            "--default-slice" => {
                println!("{}", RuntimeConfig::default().slice_fuel);
                return Ok(());
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            path if kernel.is_none() && !path.starts_with('-') => kernel = Some(path.to_string()),
            other => return Err(format!("unexpected argument `{other}`\n{USAGE}")),
        }
    }
    let path = kernel.ok_or(USAGE)?;
    let wasm = std::fs::read(&path).map_err(|e| format!("{path}: {e}"))?;
    let mut first = None;
    for engine in engines {
        let outcome = run(engine, &wasm, slice).map_err(|e| format!("{engine}: {e}"))?;
        println!("{engine}: result {} slices {} fuel {}", outcome.result, outcome.slices, outcome.fuel);
        match first {
            None => first = Some((engine, outcome.result)),
            Some((e, result)) if result != outcome.result => {
                return Err(format!("{engine} returned {}, {e} returned {result}", outcome.result));
            }
            Some(_) => {}
        }
    }
    Ok(())
}
