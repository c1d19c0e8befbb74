//! Boots a firmware under QEMU, pushes an app to it over the air and reads
//! the memory figures it logs (`memory after <when>: heap N B in use, stack
//! high-water M B`).

use std::fs::File;
use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::budgets::Qemu;

/// What the firmware reported about its memory.
#[derive(Debug, Default)]
pub struct Memory {
    /// The deepest stack use seen, through the install and the app's run.
    pub stack: u64,
    /// Heap in use once booted, before any app started.
    pub heap_boot: Option<u64>,
    /// Heap in use with the preinstalled blinky running.
    pub heap_blinky: Option<u64>,
}

impl Memory {
    /// The heap one idle app takes.
    pub fn heap_per_app(&self) -> Option<u64> {
        Some(self.heap_blinky?.saturating_sub(self.heap_boot?))
    }
}

/// Stops the runner's process group (QEMU and the log decoder) when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("--").arg(format!("-{}", self.0.id())).status();
        let _ = self.0.wait();
    }
}

/// Boots `elf` with `qemu.runner` in `dir`, pushes the package the
/// firmware must refuse (if any: it must be refused), then `qemu.app`
/// signed with `qemu.key` using the `akira` binary, waits for the app to
/// stop and returns the figures. The firmware's log is left in `log`.
pub fn measure(root: &Path, dir: &Path, elf: &Path, qemu: &Qemu, akira: &Path, log: &Path) -> Result<Memory, String> {
    let app_dir = root.join(&qemu.app);
    let app = app_dir.file_name().and_then(|n| n.to_str()).ok_or("the app needs a directory name")?.to_string();
    let package = log.with_extension("akpkg");
    let key = dir.join(&qemu.key);
    let pack = |key: &Path, args: &[String], out: &Path| {
        run(Command::new(akira).arg("pack").arg(&app_dir).args(args).arg("--key").arg(key).arg("-o").arg(out))
    };
    pack(&key, &qemu.pack, &package)?;

    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free TCP port: {e}"))?
        .port();
    let out = File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let child = Command::new(dir.join(&qemu.runner))
        .arg(elf)
        .current_dir(dir)
        .env("AKIRA_OTA_PORT", port.to_string())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()
        .map_err(|e| format!("{}: {e}", qemu.runner))?;
    let running = Running(child);
    wait_for(log, "waiting for packages", Duration::from_secs(60))?;
    let address = format!("127.0.0.1:{port}");
    // The refused package first: after the app, the same version would be
    // refused by anti-rollback whatever else was wrong with it.
    if let Some(refused) = &qemu.refused_key {
        let refused_package = log.with_extension("refused.akpkg");
        let args = qemu.refused_pack.as_ref().unwrap_or(&qemu.pack);
        pack(&dir.join(refused), args, &refused_package)?;
        let status = Command::new(akira)
            .arg("push")
            .arg(&refused_package)
            .arg("--tcp")
            .arg(&address)
            .status()
            .map_err(|e| format!("akira push: {e}"))?;
        if status.success() {
            return Err(format!("the firmware took a package it must refuse ({refused}, packed with {args:?})"));
        }
        eprintln!("==> the package signed by {refused}, packed with {args:?}, was refused, as it must be");
    }
    run(Command::new(akira).arg("push").arg(&package).arg("--tcp").arg(&address))?;
    wait_for(log, &format!("memory after {app} stopped"), Duration::from_secs(60))?;
    drop(running);
    let text = std::fs::read_to_string(log).map_err(|e| e.to_string())?;
    let memory = parse(&text);
    if memory.heap_boot.is_none() || memory.stack == 0 {
        return Err(format!("no memory figures in the firmware's log ({})", log.display()));
    }
    Ok(memory)
}

fn run(command: &mut Command) -> Result<(), String> {
    let status = command.status().map_err(|e| format!("{command:?}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{command:?} failed: {status}")) }
}

fn wait_for(log: &Path, text: &str, limit: Duration) -> Result<(), String> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if std::fs::read_to_string(log).is_ok_and(|t| t.contains(text)) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("the firmware never logged `{text}` within {limit:?} (log: {})", log.display()))
}

/// Reads every `memory after <when>: heap N B in use, stack high-water M B`.
pub fn parse(log: &str) -> Memory {
    let mut memory = Memory::default();
    for line in log.lines() {
        let Some(rest) = line.split("memory after ").nth(1) else { continue };
        let Some((when, figures)) = rest.split_once(": heap ") else { continue };
        let number = |s: &str| s.split_whitespace().next().and_then(|n| n.parse::<u64>().ok());
        let heap = number(figures);
        let stack = figures.split("stack high-water ").nth(1).and_then(number);
        memory.stack = memory.stack.max(stack.unwrap_or(0));
        match when {
            "boot" => memory.heap_boot = heap,
            "blinky started" => memory.heap_blinky = heap,
            _ => {}
        }
    }
    memory
}

/// The `akira` binary of this workspace (built by the caller).
pub fn akira_binary(root: &Path) -> PathBuf {
    root.join("target/debug/akira")
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn reads_the_memory_lines() {
        let log = "0.1 INFO  akira\n\
                   memory after boot: heap 26664 B in use, stack high-water 33892 B\n\
                   memory after blinky started: heap 41855 B in use, stack high-water 40656 B\n\
                   memory after countdown stopped: heap 73314 B in use, stack high-water 49668 B\n";
        let m = parse(log);
        assert_eq!((m.heap_boot, m.heap_blinky, m.stack), (Some(26664), Some(41855), 49668));
        assert_eq!(m.heap_per_app(), Some(15191));
    }
}
