//! Akira's development tasks.
//!
//! `cargo xtask size`: the size report. It builds every firmware
//! configuration listed in `size-budgets.toml` (release, with the listed
//! features and opt-level), reads each ELF (flash and RAM by section, flash
//! by crate), boots those marked `qemu` under QEMU, pushes an app to them
//! over the air and reads the stack high-water mark and the heap per app
//! they log, then compares every figure with its budget. It exits with 1
//! when a budget is exceeded, so CI fails.

mod budgets;
mod elf;
mod qemu;
mod report;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use clap::{Parser, Subcommand};

use budgets::{Budgets, Firmware};

#[derive(Parser)]
#[command(about = "Akira's development tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Build the firmware configurations of size-budgets.toml, measure them
    /// and check their budgets.
    Size {
        /// Only these configurations (by name; repeat the flag for more).
        #[arg(long)]
        only: Vec<String>,
        /// Do not boot anything under QEMU (no stack or heap figures).
        #[arg(long)]
        no_qemu: bool,
        /// Crates to list per configuration, largest first.
        #[arg(long, default_value_t = 12)]
        top: usize,
        /// Also print the summary as a Markdown table (for BENCHMARKS.md).
        #[arg(long)]
        markdown: bool,
        /// Build the firmware in this target directory (CI shares one
        /// between the board examples) instead of each package's own.
        #[arg(long)]
        target_dir: Option<PathBuf>,
    },
}

/// One configuration's results.
pub struct Measured<'a> {
    /// The configuration.
    pub firmware: &'a Firmware,
    /// Its ELF's sizes.
    pub footprint: elf::Footprint,
    /// What it logged under QEMU, if it was booted.
    pub memory: Option<qemu::Memory>,
}

fn main() -> ExitCode {
    let Cli { task: Task::Size { only, no_qemu, top, markdown, target_dir } } = Cli::parse();
    match size(&only, no_qemu, top, markdown, target_dir.as_deref()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("xtask size: error: {e}");
            ExitCode::from(2)
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Runs the report; `Ok(false)` when a budget is exceeded.
fn size(only: &[String], no_qemu: bool, top: usize, markdown: bool, target_dir: Option<&Path>) -> Result<bool, String> {
    let root = workspace_root();
    let budgets = Budgets::read(&root.join("size-budgets.toml"))?;
    for name in only {
        if !budgets.firmware.iter().any(|f| &f.name == name) {
            return Err(format!("no configuration `{name}` in size-budgets.toml"));
        }
    }
    let selected: Vec<&Firmware> =
        budgets.firmware.iter().filter(|f| only.is_empty() || only.contains(&f.name)).collect();
    let boots = !no_qemu && selected.iter().any(|f| f.qemu.is_some());
    // The akira CLI signs and pushes the app: $AKIRA, or this workspace's.
    let akira = match std::env::var_os("AKIRA") {
        Some(path) => PathBuf::from(path),
        None => {
            if boots {
                eprintln!("==> building the akira CLI (it signs and pushes the app)");
                run(Command::new("cargo").args(["build", "-q", "-p", "akira-cli"]).current_dir(&root))?;
            }
            qemu::akira_binary(&root)
        }
    };
    let mut results = Vec::new();
    for firmware in selected {
        let started = Instant::now();
        eprintln!("==> {}: building {} in {}", firmware.name, firmware.bin, firmware.dir);
        let dir = root.join(&firmware.dir);
        let elf = build(&dir, firmware, target_dir)?;
        let footprint = elf::read(&elf, &firmware.not_in_flash)?;
        let memory = match &firmware.qemu {
            Some(q) if !no_qemu => {
                eprintln!("==> {}: booting under QEMU and pushing {}", firmware.name, q.app);
                let log = elf.with_file_name(format!("size-report-{}.log", firmware.name));
                Some(qemu::measure(&root, &dir, &elf, q, &akira, &log)?)
            }
            _ => None,
        };
        eprintln!("==> {}: done in {:.0?}", firmware.name, started.elapsed());
        results.push(Measured { firmware, footprint, memory });
    }
    Ok(report::print(&results, top, markdown))
}

/// Builds `firmware` and returns its ELF's path (from cargo's artifact
/// messages).
fn build(dir: &Path, firmware: &Firmware, target_dir: Option<&Path>) -> Result<PathBuf, String> {
    let mut command = Command::new("cargo");
    command.args(["build", "--release", "--message-format", "json-render-diagnostics", "--bin", &firmware.bin]);
    command.current_dir(dir).stderr(Stdio::inherit());
    if let Some(target_dir) = target_dir {
        command.arg("--target-dir").arg(target_dir);
    }
    if firmware.no_default_features {
        command.arg("--no-default-features");
    }
    if !firmware.features.is_empty() {
        command.arg("--features").arg(firmware.features.join(","));
    }
    if let Some(opt) = &firmware.opt_level {
        command.env("CARGO_PROFILE_RELEASE_OPT_LEVEL", opt);
    }
    let output = command.output().map_err(|e| format!("cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!("{}: the build failed", firmware.name));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == firmware.bin.as_str())
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| format!("{}: cargo built no binary `{}`", firmware.name, firmware.bin))
}

fn run(command: &mut Command) -> Result<(), String> {
    let status = command.status().map_err(|e| format!("{command:?}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{command:?} failed: {status}")) }
}
