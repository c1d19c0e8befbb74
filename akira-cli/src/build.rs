//! Turning what the user named into an app ready to install: build an app
//! directory (a Rust one with cargo, any other with its `build.sh`), embed
//! its `Akira.toml`, shrink its memory.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use akira_build::MemoryReport;
use akira_caps::toml_source::{SourceError, manifest_from_toml, manifest_from_toml_in_package};
use akira_caps::{Manifest, Version};

use crate::Failure;

/// An app ready to load.
pub struct Prepared {
    /// The final module: manifest embedded, memory shrunk when possible.
    pub wasm: Vec<u8>,
    /// Where the final module was written (for app directories).
    pub output: Option<PathBuf>,
    /// The manifest, if the module has one.
    pub manifest: Option<Manifest>,
    /// What the memory rewrite did, when the build step ran it.
    pub memory: Option<MemoryReport>,
}

fn read_toml(path: &Path) -> Result<Manifest, Failure> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
    manifest_from_toml(&text).map_err(|e| Failure::Refused(format!("{}: {e}", path.display())))
}

/// Reads the `Akira.toml` of a Rust app: its version is the package's
/// (`Cargo.toml`), given or left out in `Akira.toml`, never another.
fn read_toml_in_package(path: &Path, cargo_toml: &Path) -> Result<Manifest, Failure> {
    let version = package_version(cargo_toml)?;
    let text =
        std::fs::read_to_string(path).map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
    manifest_from_toml_in_package(&text, version).map_err(|e| match e {
        SourceError::VersionMismatch { manifest, package } => Failure::Refused(format!(
            "{}: `app.version` is {manifest} but {} says {package}: an app has one version; \
             leave `version` out of Akira.toml to use Cargo.toml's",
            path.display(),
            cargo_toml.display()
        )),
        e => Failure::Refused(format!("{}: {e}", path.display())),
    })
}

/// The package version in `cargo_toml`, as cargo reads it (inherited from
/// a workspace, too).
fn package_version(cargo_toml: &Path) -> Result<Version, Failure> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--no-deps", "--format-version", "1", "--manifest-path"])
        .arg(cargo_toml)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| Failure::Build(format!("cannot run cargo: {e}")))?;
    if !output.status.success() {
        return Err(Failure::Build(format!("cargo cannot read {}", cargo_toml.display())));
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| Failure::Build(format!("cargo metadata: unexpected output: {e}")))?;
    let wanted = cargo_toml.canonicalize().ok();
    let package = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["manifest_path"].as_str().and_then(|m| Path::new(m).canonicalize().ok()) == wanted)
        .ok_or_else(|| Failure::Build(format!("cargo metadata does not list {}", cargo_toml.display())))?;
    let text = package["version"].as_str().unwrap_or_default();
    Version::parse(text).ok_or_else(|| {
        Failure::Refused(format!(
            "{}: version {text} is not major.minor.patch (an app's version has no pre-release or build part)",
            cargo_toml.display()
        ))
    })
}

/// Works around wasmi 2.0.0's `select` bug (see
/// [`akira_build::fix_select_conditions`]) in every module an app is
/// run or packed from; a module without the pattern is kept byte for byte.
fn fix_selects(wasm: Vec<u8>, app: &str) -> Result<Vec<u8>, Failure> {
    let (fixed_wasm, fixed) =
        akira_build::fix_select_conditions(&wasm).map_err(|e| Failure::Refused(format!("reading the module: {e}")))?;
    if fixed == 0 {
        return Ok(wasm);
    }
    eprintln!(
        "akira: {app}: {fixed} `select` conditions rewritten around a wasmi 2.0.0 bug (see akira-build's README)"
    );
    Ok(fixed_wasm)
}

/// Exports a WASI command's `_start` as `akira_main`, works around
/// wasmi 2.0.0's `select` bug, embeds `manifest` and shrinks memory to
/// what the app needs.
fn finish(wasm: &[u8], manifest: Manifest) -> Result<(Vec<u8>, MemoryReport), Failure> {
    let (wasm, _) =
        akira_build::export_wasi_entry(wasm).map_err(|e| Failure::Refused(format!("reading the module: {e}")))?;
    let wasm = fix_selects(wasm, &manifest.name)?;
    let with_manifest = akira_build::embed_manifest(&wasm, &manifest)
        .map_err(|e| Failure::Refused(format!("embedding the manifest: {e}")))?;
    akira_build::shrink_memory(&with_manifest, manifest.heap_size)
        .map_err(|e| Failure::Refused(format!("sizing memory: {e}")))
}

/// Prepares the app at `path`: an app directory (with `Cargo.toml` and
/// `Akira.toml`) is built; a `.wasm` is used as is, or with `manifest`
/// (an `Akira.toml`) embedded; an AkiraOS `.wasm` (with `env` imports) is
/// translated through the board `profile` (a TOML file; the simulated
/// board's when `None`).
pub fn prepare(path: &Path, manifest: Option<&Path>, profile: Option<&Path>) -> Result<Prepared, Failure> {
    if path.is_dir() {
        if manifest.is_some() {
            return Err(Failure::Usage("--manifest is for .wasm files; an app directory has its Akira.toml".into()));
        }
        return build_dir(path);
    }
    let wasm = std::fs::read(path).map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
    if akira_build::akiraos::is_akiraos(&wasm).map_err(|e| Failure::Refused(format!("{}: {e}", path.display())))? {
        if manifest.is_some() {
            return Err(Failure::Usage(
                "--manifest is for Akira apps; an AkiraOS app's manifest is its .akira.manifest (JSON)".into(),
            ));
        }
        return translate_akiraos(path, &wasm, profile);
    }
    match manifest {
        Some(toml) => {
            let m = read_toml(toml)?;
            let (wasm, report) = finish(&wasm, m.clone())?;
            Ok(Prepared { wasm, output: None, manifest: Some(m), memory: Some(report) })
        }
        None => {
            // A prebuilt module (its manifest embedded, or none): used as
            // it is, but for the `select` work-around, which keeps the
            // embedded manifest (custom sections are copied).
            let m =
                akira_build::read_manifest(&wasm).map_err(|e| Failure::Refused(format!("{}: {e}", path.display())))?;
            let name = m.as_ref().map_or_else(|| path.display().to_string(), |m| m.name.to_string());
            let wasm = fix_selects(wasm, &name)?;
            Ok(Prepared { wasm, output: None, manifest: m, memory: None })
        }
    }
}

/// An AkiraOS app: its `env` imports turned into shims over Akira imports,
/// its JSON manifest into an Akira one, through the board profile.
fn translate_akiraos(path: &Path, wasm: &[u8], profile: Option<&Path>) -> Result<Prepared, Failure> {
    use akira_build::akiraos::{Profile, translate};
    let profile = match profile {
        None => Profile::simulator(),
        Some(p) => {
            let text =
                std::fs::read_to_string(p).map_err(|e| Failure::Usage(format!("cannot read {}: {e}", p.display())))?;
            Profile::from_toml(&text).map_err(|e| Failure::Usage(format!("{}: {e}", p.display())))?
        }
    };
    let t = translate(wasm, &profile).map_err(|e| Failure::Refused(format!("{}: {e}", path.display())))?;
    eprintln!(
        "akira: {}: an AkiraOS app: {} `env` imports translated for board `{}`",
        path.display(),
        t.shims.len(),
        profile.board.name
    );
    let wasm = akira_build::embed_manifest(&t.wasm, &t.manifest)
        .map_err(|e| Failure::Refused(format!("embedding the manifest: {e}")))?;
    Ok(Prepared { wasm, output: None, manifest: Some(t.manifest), memory: Some(t.memory) })
}

fn build_dir(dir: &Path) -> Result<Prepared, Failure> {
    let akira_toml = dir.join("Akira.toml");
    let cargo_toml = dir.join("Cargo.toml");
    let script = dir.join("build.sh");
    if !akira_toml.is_file() || !(cargo_toml.is_file() || script.is_file()) {
        return Err(Failure::Usage(format!(
            "{} is not an app directory: it needs Akira.toml, and Cargo.toml (Rust) or build.sh \
             (any other language; `akira new` makes one)",
            dir.display()
        )));
    }
    let (manifest, raw) = if cargo_toml.is_file() {
        let manifest = read_toml_in_package(&akira_toml, &cargo_toml)?;
        // A library crate is an Akira app (a cdylib); a binary crate is a
        // WASI command built with `std`.
        let kind = if dir.join("src/lib.rs").is_file() || !dir.join("src/main.rs").is_file() {
            Kind::Cdylib
        } else {
            Kind::WasiCommand
        };
        let raw = cargo_build(dir, &cargo_toml, manifest.stack_size, kind)?;
        (manifest, raw)
    } else {
        let manifest = read_toml(&akira_toml)?;
        let raw = script_build(dir, manifest.stack_size)?;
        (manifest, raw)
    };
    let wasm = std::fs::read(&raw).map_err(|e| Failure::Build(format!("cannot read {}: {e}", raw.display())))?;
    let (wasm, report) = finish(&wasm, manifest.clone())?;
    let output = raw.with_file_name(format!("{}.akira.wasm", manifest.name));
    std::fs::write(&output, &wasm).map_err(|e| Failure::Build(format!("cannot write {}: {e}", output.display())))?;
    Ok(Prepared { wasm, output: Some(output), manifest: Some(manifest), memory: Some(report) })
}

/// Runs the app's own `build.sh` (C, or any language that compiles to
/// wasm32) with `AKIRA_STACK_SIZE` set to the manifest's stack size; its
/// last line of output names the `.wasm` it built, relative to `dir`.
fn script_build(dir: &Path, stack: u32) -> Result<PathBuf, Failure> {
    eprintln!("akira: building {} (build.sh)", dir.display());
    let output = Command::new("sh")
        .arg("build.sh")
        .current_dir(dir)
        .env("AKIRA_STACK_SIZE", stack.to_string())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| Failure::Build(format!("cannot run sh: {e}")))?;
    let script = dir.join("build.sh");
    if !output.status.success() {
        return Err(Failure::Build(format!("{} failed", script.display())));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().map(str::trim).rfind(|l| !l.is_empty()).unwrap_or_default();
    let wasm = dir.join(last);
    if last.ends_with(".wasm") && wasm.is_file() {
        Ok(wasm)
    } else {
        Err(Failure::Build(format!(
            "{} must print the path of the .wasm it built on its last line; it printed {last:?}",
            script.display()
        )))
    }
}

/// What cargo builds for an app directory.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A `cdylib` for `wasm32-unknown-unknown`: an app of the Akira ABI.
    Cdylib,
    /// A binary for `wasm32-wasip1`: a WASI command with `std`.
    WasiCommand,
}

/// Builds the app for wasm32 in release mode, linked with the manifest's
/// stack size, and returns the `.wasm` cargo produced.
fn cargo_build(dir: &Path, cargo_toml: &Path, stack: u32, kind: Kind) -> Result<PathBuf, Failure> {
    let (target, what, artifact) = match kind {
        Kind::Cdylib => ("wasm32-unknown-unknown", "--lib", "cdylib"),
        Kind::WasiCommand => ("wasm32-wasip1", "--bins", "bin"),
    };
    eprintln!("akira: building {} (cargo, {target}, release)", dir.display());
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // The app's own target directory: never the caller's, whose build lock
    // may be held (for example by `cargo test`).
    let target_dir = std::env::var_os("AKIRA_TARGET_DIR").map_or_else(|| dir.join("target"), PathBuf::from);
    let output = Command::new(cargo)
        .args(["rustc", "--release", what, "--target", target])
        .arg("--manifest-path")
        .arg(cargo_toml)
        .arg("--target-dir")
        .arg(&target_dir)
        .args(["--message-format", "json-render-diagnostics", "--"])
        .arg(format!("-Clink-arg=-zstack-size={stack}"))
        // rustc exports it from a cdylib but not from a binary; the build
        // step needs it to size memory (static data ends there).
        .arg("-Clink-arg=--export=__heap_base")
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| Failure::Build(format!("cannot run cargo: {e}")))?;
    if !output.status.success() {
        return Err(Failure::Build(format!(
            "cargo build failed (is the target installed? `rustup target add {target}`)"
        )));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut wasm = None;
    for line in stdout.lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        let is_app = msg["target"]["kind"].as_array().is_some_and(|k| k.iter().any(|v| v == artifact));
        if !is_app {
            continue;
        }
        if let Some(files) = msg["filenames"].as_array() {
            wasm = files.iter().filter_map(|f| f.as_str()).find(|f| f.ends_with(".wasm")).map(PathBuf::from);
        }
    }
    wasm.ok_or_else(|| {
        Failure::Build(match kind {
            Kind::Cdylib => format!(
                "cargo built no .wasm: {} must have `crate-type = [\"cdylib\"]` under [lib]",
                cargo_toml.display()
            ),
            Kind::WasiCommand => format!("cargo built no .wasm binary for {}", cargo_toml.display()),
        })
    })
}
