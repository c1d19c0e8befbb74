//! `akira run`: apps on the simulated board.

use std::path::{Path, PathBuf};
use std::time::Duration;

use akira_caps::Policy;
use akira_caps::toml_source::policy_from_toml;
use akira_sandbox::{Restart, RestartPolicy, Runtime, RuntimeConfig, Status};
use akira_sim::air::Link;
use akira_sim::{End, INPUTS, SimBoard, Simulation};
use clap::{Args, ValueEnum};

use crate::build::{Prepared, prepare};
use crate::describe;
use crate::{Failure, parse_duration};

/// Arguments of `akira run`.
#[derive(Args)]
pub struct RunArgs {
    /// App directories (built with cargo) or `.wasm` files; several run at
    /// once on the same board.
    #[arg(required = true)]
    apps: Vec<PathBuf>,
    /// Stop after this much board time (e.g. `3s`, `500ms`).
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Virtual time: sleeps end at once and runs are repeatable.
    #[arg(long)]
    virtual_time: bool,
    /// Press a button: `PIN@TIME`, e.g. `0@500ms` (held 50 ms).
    #[arg(long, value_name = "PIN@TIME", value_parser = parse_press)]
    press: Vec<(u32, Duration)>,
    /// Send text to a serial port: `PORT@TIME:TEXT`, e.g.
    /// `1@500ms:hello\n` (escapes: `\n`, `\r`, `\t`, `\\`, `\xNN`).
    #[arg(long, value_name = "PORT@TIME:TEXT", value_parser = parse_uart_input)]
    uart_input: Vec<(u32, Duration, Vec<u8>)>,
    /// Have a simulated BLE central (a phone) act on the apps' GATT
    /// servers: `TIME:connect`, `TIME:disconnect`, `TIME:read:UUID`,
    /// `TIME:write:UUID=HEX`, `TIME:subscribe:UUID`, `TIME:unsubscribe:UUID`
    /// (UUID: `2a6e` or 128-bit), e.g. `500ms:write:2a1f=e803`.
    #[arg(long, value_name = "TIME:OP", value_parser = parse_gatt_client)]
    gatt_client: Vec<(Duration, akira_sim::ble::CentralOp)>,
    /// Save each frame apps flush to the simulated screen (240 x 135) as
    /// `DIR/frame-0001.png`, `frame-0002.png`, ...
    #[arg(long, value_name = "DIR")]
    display_out: Option<PathBuf>,
    /// Embed this Akira.toml into a `.wasm` app (one `.wasm` only).
    #[arg(long, value_name = "AKIRA_TOML")]
    manifest: Option<PathBuf>,
    /// Board profile for an AkiraOS app (TOML: its pins, ports and
    /// buses on this board); the simulated board's by default.
    #[arg(long, value_name = "PROFILE_TOML")]
    profile: Option<PathBuf>,
    /// Device policy file; the default allows every built-in capability.
    #[arg(long, value_name = "POLICY_TOML")]
    policy: Option<PathBuf>,
    /// Stop an app at its first denied call instead of returning an error.
    #[arg(long)]
    strict: bool,
    /// Restart faulted apps (with backoff and crash-loop detection).
    #[arg(long, value_enum, default_value_t = RestartArg::Never)]
    restart: RestartArg,
    /// Fuel per time slice.
    #[arg(long, value_name = "FUEL", default_value_t = RuntimeConfig::default().slice_fuel)]
    slice: u64,
    /// Keep the apps' `akira:storage` in this file (a flash image, created
    /// if missing), so stored values persist across runs. Without it the
    /// store starts empty and is forgotten at exit.
    #[arg(long, value_name = "FILE")]
    storage: Option<PathBuf>,
    /// Join the radio air of `akira air` at this address (e.g.
    /// `127.0.0.1:4400`): the board is one device on it, its apps'
    /// LoRa and BLE radios in range of the other devices' apps, time
    /// virtual and kept in step by the hub. Implies --virtual-time.
    #[arg(long, value_name = "HOST:PORT")]
    air: Option<String>,
    /// This device's number on the air (its BLE addresses are
    /// `c0:de:DD:DD:AA:AA`, device then app); the lowest free one if not
    /// given.
    #[arg(long, value_name = "N", requires = "air")]
    device: Option<u16>,
    /// Print only the summary, not every event.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum RestartArg {
    Never,
    OnFault,
    Always,
}

fn parse_press(text: &str) -> Result<(u32, Duration), String> {
    let (pin, at) = text.split_once('@').ok_or_else(|| format!("`{text}`: expected PIN@TIME, e.g. 0@500ms"))?;
    let pin: u32 = pin.parse().map_err(|_| format!("`{pin}` is not a pin number"))?;
    if pin >= INPUTS {
        return Err(format!("pin {pin} is not a button: the simulated board's buttons are pins 0..{INPUTS}"));
    }
    Ok((pin, parse_duration(at)?))
}

fn parse_uart_input(text: &str) -> Result<(u32, Duration, Vec<u8>), String> {
    let usage = || format!("`{text}`: expected PORT@TIME:TEXT, e.g. 1@500ms:hello\\n");
    let (port, rest) = text.split_once('@').ok_or_else(usage)?;
    let (at, data) = rest.split_once(':').ok_or_else(usage)?;
    let port: u32 = port.parse().map_err(|_| format!("`{port}` is not a port number"))?;
    if port as usize >= akira_sim::uart::PORTS {
        return Err(format!("the simulated board's serial ports are 0..{}", akira_sim::uart::PORTS));
    }
    Ok((port, parse_duration(at)?, unescape(data)?))
}

fn parse_gatt_client(text: &str) -> Result<(Duration, akira_sim::ble::CentralOp), String> {
    let (at, op) = text.split_once(':').ok_or_else(|| format!("`{text}`: expected TIME:OP, e.g. 500ms:connect"))?;
    Ok((parse_duration(at)?, op.parse()?))
}

/// `\n`, `\r`, `\t`, `\\` and `\xNN` escapes.
fn unescape(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'n') => out.push(b'\n'),
            Some(b'r') => out.push(b'\r'),
            Some(b't') => out.push(b'\t'),
            Some(b'\\') => out.push(b'\\'),
            Some(b'x') => {
                let hex: Vec<u8> = bytes.by_ref().take(2).collect();
                let byte = std::str::from_utf8(&hex).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                out.push(byte.ok_or_else(|| format!("`{text}`: \\x needs two hex digits"))?);
            }
            other => {
                let c = other.map_or(String::from("end of text"), |c| format!("`\\{}`", c as char));
                return Err(format!("`{text}`: unknown escape {c}"));
            }
        }
    }
    Ok(out)
}

/// Prints what the build step did.
pub fn report_build(p: &Prepared) {
    let name = p.manifest.as_ref().map_or("(no manifest)".to_string(), |m| format!("{} {}", m.name, m.version));
    eprintln!("akira: {name}: {} of wasm", describe::bytes(p.wasm.len() as u64));
    if let Some(r) = &p.memory {
        if r.rewritten {
            eprintln!(
                "akira: {name}: memory {} -> {} (static data and stack {}, heap {}; custom page size 1 byte)",
                describe::bytes(r.before_bytes),
                describe::bytes(r.after_bytes),
                describe::bytes(r.static_bytes),
                describe::bytes(r.heap_bytes.into()),
            );
        } else {
            eprintln!(
                "akira: {name}: memory {} kept: {}",
                describe::bytes(r.before_bytes),
                r.reason.as_deref().unwrap_or("not rewritten")
            );
        }
    }
}

pub fn load_policy(path: Option<&Path>) -> Result<Policy, Failure> {
    match path {
        None => Ok(Policy::development()),
        Some(p) => {
            let text =
                std::fs::read_to_string(p).map_err(|e| Failure::Usage(format!("cannot read {}: {e}", p.display())))?;
            policy_from_toml(&text).map_err(|e| Failure::Usage(format!("{}: {e}", p.display())))
        }
    }
}

/// Saves every flushed frame of `board` as a PNG in `dir` (created if
/// missing).
fn save_frames(board: &SimBoard, dir: &Path) -> Result<(), Failure> {
    std::fs::create_dir_all(dir).map_err(|e| Failure::Usage(format!("cannot create {}: {e}", dir.display())))?;
    let dir = dir.to_path_buf();
    board.set_frame_sink(move |frame| {
        let path = dir.join(format!("frame-{:04}.png", frame.number));
        let written = frame
            .to_png()
            .map_err(|e| e.to_string())
            .and_then(|png| std::fs::write(&path, png).map_err(|e| e.to_string()));
        if let Err(e) = written {
            eprintln!("akira: cannot save {}: {e}", path.display());
        }
    });
    Ok(())
}

/// Runs `akira run`; returns the exit code.
pub fn run(args: RunArgs) -> Result<u8, Failure> {
    if args.manifest.is_some() && args.apps.len() != 1 {
        return Err(Failure::Usage("--manifest goes with exactly one .wasm app".into()));
    }
    let policy = load_policy(args.policy.as_deref())?;
    let config = RuntimeConfig { strict_denials: args.strict, slice_fuel: args.slice.max(1), ..akira_sim::config() };
    let (bridge, apps) = akira_sim::bridge_with_apps();
    let runtime: Runtime<SimBoard> = Runtime::new(config, bridge, policy);

    let mut loaded = Vec::new();
    let mut refused = false;
    for path in &args.apps {
        let prepared = match prepare(path, args.manifest.as_deref(), args.profile.as_deref()) {
            Ok(p) => p,
            // A malformed app among several is refused alone: the others
            // run (exit code 4 says one was refused).
            Err(Failure::Refused(why)) if args.apps.len() > 1 => {
                eprintln!("akira: REFUSED at install: {why}");
                refused = true;
                continue;
            }
            Err(e) => return Err(e),
        };
        report_build(&prepared);
        match runtime.load(&prepared.wasm) {
            Ok(app) => {
                eprintln!(
                    "akira: {}: granted {}",
                    app.manifest().name,
                    describe::capabilities_line(&app.manifest().capabilities)
                );
                loaded.push(app);
            }
            Err(e) => {
                eprintln!("akira: {}: REFUSED at install: {e}", path.display());
                refused = true;
            }
        }
    }

    let on_air = args.air.is_some();
    let board = if args.virtual_time || on_air { SimBoard::virtual_time() } else { SimBoard::real_time() };
    if let Some(addr) = &args.air {
        let link = Link::connect(addr, args.device).map_err(Failure::Air)?;
        eprintln!("akira: on the air at {addr} as device {}", link.device());
        board.join_air(link);
    }
    if let Some(path) = &args.storage {
        board.use_storage_file(path).map_err(|e| Failure::Usage(format!("storage file {}: {e}", path.display())))?;
    }
    if !args.quiet {
        board.set_sink(|record| println!("{record}"));
    }
    if let Some(dir) = &args.display_out {
        save_frames(&board, dir)?;
    }
    let mut sim = Simulation::new(runtime, board);
    sim.serve_apps(apps);
    let restart = match args.restart {
        RestartArg::Never => RestartPolicy::never(),
        RestartArg::OnFault => RestartPolicy::default(),
        RestartArg::Always => RestartPolicy { restart: Restart::Always, ..RestartPolicy::default() },
    };
    let mut ids = Vec::new();
    for app in loaded {
        let name = app.manifest().name.clone();
        match sim.spawn(app, restart) {
            Ok(id) => ids.push(id),
            Err(e) => {
                eprintln!("akira: {name}: REFUSED at instantiation: {e}");
                refused = true;
            }
        }
    }
    for (pin, at) in &args.press {
        sim.press(*pin, *at);
    }
    for (port, at, bytes) in &args.uart_input {
        sim.uart_input_at(*port, bytes, *at);
    }
    for (at, op) in &args.gatt_client {
        sim.gatt_client_at(op.clone(), *at);
    }

    let end = sim.run(args.duration);
    let now = akira_bridge::Board::now(sim.board());
    match end {
        End::AllStopped => eprintln!("akira: all apps stopped at {now}"),
        End::TimeLimit => eprintln!("akira: time limit reached at {now}"),
        End::Stalled if on_air => {
            eprintln!("akira: stopped at {now}: every app waits, and nothing is left to happen on the air")
        }
        End::Stalled => eprintln!("akira: stopped at {now}: every app waits for input no one will give"),
        End::AirLost => {
            let why = sim.air_error().map_or_else(|| "the air hub is gone".to_string(), |e| e.to_string());
            eprintln!("akira: error at {now}: {why}");
        }
    }

    if let Some(dir) = &args.display_out {
        eprintln!("akira: {} display frame(s) saved in {}", sim.board().frames(), dir.display());
    }

    let mut code = 0u8;
    eprintln!("akira: {:<12} {:<28} {:>10} {:>8} {:>10}", "app", "status", "fuel", "denials", "memory");
    for id in ids {
        let sched = sim.scheduler();
        let name = sched.info(id).map(|i| i.name.to_string()).unwrap_or_default();
        let status = sched.status(id).cloned().unwrap_or(Status::RestartFailed);
        let (fuel, denials, memory) = sched.instance(id).map_or((0, 0, 0), |i| {
            (i.usage().fuel, i.state().guard().total_denials(), i.state().limits().memory_peak())
        });
        let text = match &status {
            Status::Running => "running".to_string(),
            Status::Waiting => "waiting".to_string(),
            Status::BackingOff(at) => format!("restarting at {at}"),
            Status::Exited(c) => format!("exited ({c})"),
            Status::Failed(f) => match f {
                akira_sandbox::Fault::CpuBudget { .. } => "stopped: cpu budget".to_string(),
                akira_sandbox::Fault::Trap(t) => format!("stopped: {}", t.describe()),
                akira_sandbox::Fault::Denied(_) => "stopped: denied (strict)".to_string(),
                other => format!("stopped: {other}"),
            },
            Status::CrashLoop => "crash loop".to_string(),
            Status::RestartFailed => "restart failed".to_string(),
            Status::Stopped => "stopped".to_string(),
        };
        eprintln!("akira: {name:<12} {text:<28} {fuel:>10} {denials:>8} {:>10}", describe::bytes(memory as u64));
        let app_code = match status {
            Status::Exited(0) | Status::Running | Status::Waiting | Status::BackingOff(_) | Status::Stopped => 0,
            Status::Exited(_) => 1,
            Status::Failed(_) | Status::CrashLoop | Status::RestartFailed => 3,
        };
        code = code.max(app_code);
    }
    if refused {
        code = code.max(4);
    }
    if end == End::AirLost {
        code = code.max(6);
    }
    Ok(code)
}
