//! Over-the-air commands: `akira keygen`, `pack`, `push`, `device ...`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use akira_caps::manifest::AppName;
use akira_ota::frame::{self, FrameDecoder, MAX_FRAME};
use akira_ota::package;
use akira_ota::protocol::{ErrorCode, PROTOCOL_VERSION, Request, Response};
use clap::Args;
use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};

use crate::build::prepare;
use crate::run::{load_policy, report_build};
use crate::{Failure, describe};

/// Where a device is.
#[derive(Args, Clone)]
pub struct Target {
    /// The device's TCP address (`akira sim-device`, or a board's network).
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "serial")]
    tcp: Option<String>,
    /// The device's serial port (UART or USB CDC).
    #[arg(long, value_name = "PATH")]
    serial: Option<PathBuf>,
    /// Serial baud rate.
    #[arg(long, default_value_t = 115_200)]
    baud: u32,
}

/// A byte stream to a device.
trait Link: Read + Write {}
impl<T: Read + Write> Link for T {}

/// Reads a 32-byte key written as hex.
pub fn read_key(path: &Path) -> Result<[u8; 32], Failure> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
    let mut key = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut key)
        .map(|()| key)
        .map_err(|e| Failure::Usage(format!("{}: expected 64 hex digits (a 32-byte key): {e}", path.display())))
}

/// `akira keygen`: a new Ed25519 signing key.
pub fn keygen(out: &Path) -> Result<u8, Failure> {
    let secret = out.with_extension("key");
    let public = out.with_extension("pub");
    if secret.exists() {
        return Err(Failure::Usage(format!("{} exists; not overwriting a key", secret.display())));
    }
    let key = package::generate_signing_key().map_err(|e| Failure::Usage(format!("no randomness: {e}")))?;
    let pk = key.verifying_key().to_bytes();
    let write = |path: &Path, text: String, private: bool| -> Result<(), Failure> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        #[cfg(not(unix))]
        let _ = private;
        let mut f = options.open(path).map_err(|e| Failure::Usage(format!("cannot write {}: {e}", path.display())))?;
        f.write_all(text.as_bytes()).map_err(|e| Failure::Usage(format!("cannot write {}: {e}", path.display())))
    };
    write(&secret, format!("{}\n", hex::encode(key.to_bytes())), true)?;
    write(&public, format!("{}\n", hex::encode(pk)), false)?;
    println!("key id {}", hex::encode(package::key_id(&pk)));
    println!("secret key {} (keep it private: whoever has it can sign apps your devices take)", secret.display());
    println!("public key {} (give it to devices: akira sim-device --trust-key)", public.display());
    warn_if_committable(&secret);
    Ok(0)
}

/// Warns when a secret key was written inside a git work tree that does not
/// ignore it, where `git add .` would commit it.
fn warn_if_committable(secret: &Path) {
    let dir = secret.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let Some(file) = secret.file_name() else { return };
    // Exit status 1: not ignored; 0: ignored; 128: not in a work tree (or no git).
    let status = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["check-ignore", "--quiet", "--"])
        .arg(file)
        .stderr(std::process::Stdio::null())
        .status();
    if status.is_ok_and(|s| s.code() == Some(1)) {
        eprintln!(
            "akira: warning: {} is in a git work tree that does not ignore it: `git add .` would commit \
             the secret key; add `*.key` to .gitignore, or keep keys outside the repository",
            secret.display()
        );
    }
}

/// Arguments of `akira pack`.
#[derive(Args)]
pub struct PackArgs {
    /// An app directory or a `.wasm`.
    app: PathBuf,
    /// Embed this Akira.toml into a `.wasm` app first.
    #[arg(long, value_name = "AKIRA_TOML")]
    manifest: Option<PathBuf>,
    /// Board profile for an AkiraOS app (TOML: its pins, ports and
    /// buses on this board); the simulated board's by default.
    #[arg(long, value_name = "PROFILE_TOML")]
    profile: Option<PathBuf>,
    /// Sign with this secret key (from `akira keygen`). The package is
    /// format 2: every 1 KiB chunk of wasm is authenticated by the device
    /// before it is written.
    #[arg(long, value_name = "KEY", required_unless_present = "unsigned")]
    key: Option<PathBuf>,
    /// Make an unsigned package (only devices with a development policy take it).
    #[arg(long, conflicts_with = "key")]
    unsigned: bool,
    /// Check the app against this policy (the signer's, on devices); the
    /// default allows every built-in capability.
    #[arg(long, value_name = "POLICY_TOML")]
    policy: Option<PathBuf>,
    /// Where to write the package (default: `<name>-<version>.akpkg`).
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Also compile the app ahead of time for this target (akira-aot-build:
    /// needs `wasm2c` and `clang`) and carry the native code in the wasm's
    /// `akira.aot` section, which the signature covers. A device runs it
    /// only for a signer with the `native-code` right.
    #[arg(long, value_name = "TARGET")]
    aot: Option<AotTarget>,
}

/// Targets of `akira pack --aot`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AotTarget {
    /// Cortex-M4F and M7 (Armv7E-M, Thumb-2, hard float).
    Thumbv7em,
    /// RISC-V RV32IMAC (ilp32, soft float): ESP32-C3/C6-class cores.
    Riscv32imac,
}

impl AotTarget {
    /// The compiler's target.
    fn target(self) -> akira_aot_build::Target {
        match self {
            AotTarget::Thumbv7em => akira_aot_build::Target::Thumbv7em,
            AotTarget::Riscv32imac => akira_aot_build::Target::Riscv32imac,
        }
    }
}

/// `wasm` with its native code for `target` in an `akira.aot` section.
fn with_native_code(wasm: &[u8], target: AotTarget) -> Result<Vec<u8>, Failure> {
    let target = target.target();
    let options = akira_aot_build::Options { target, ..akira_aot_build::Options::default() };
    let compiled = akira_aot_build::compile(wasm, &options)
        .map_err(|e| Failure::Refused(format!("AOT compilation for {target}: {e}")))?;
    let r = &compiled.report;
    println!(
        "AOT {target}: {} of code, {} of data, {} relocations, stack bound {} ({})",
        describe::bytes(u64::from(r.code_len)),
        describe::bytes(u64::from(r.rodata_len + r.data_len + r.bss_len)),
        r.relocs.values().sum::<u32>(),
        describe::bytes(u64::from(compiled.stack_bound)),
        compiled.stack_bound_method,
    );
    akira_aot_build::embed(wasm, &compiled.blob).map_err(|e| Failure::Refused(format!("AOT: {e}")))
}

/// `akira pack`.
pub fn pack(args: PackArgs) -> Result<u8, Failure> {
    let prepared = prepare(&args.app, args.manifest.as_deref(), args.profile.as_deref())?;
    report_build(&prepared);
    let manifest = prepared
        .manifest
        .clone()
        .ok_or_else(|| Failure::Refused("the app has no manifest: give --manifest Akira.toml".into()))?;
    // The same checks a device makes at install: wasmi's validation, grant,
    // imports. A device that trusts this key to skip validation relies on
    // it: the signature covers exactly the validated bytes.
    let wasm = match args.aot {
        Some(target) => with_native_code(&prepared.wasm, target)?,
        None => prepared.wasm.clone(),
    };
    let policy = load_policy(args.policy.as_deref())?;
    let runtime = akira_sim::runtime(policy.clone());
    runtime
        .load_with_policy(&wasm, &policy)
        .map_err(|e| Failure::Refused(format!("a device would refuse this app: {e}")))?;
    let key = match &args.key {
        Some(path) => Some(SigningKey::from_bytes(&read_key(path)?)),
        None => None,
    };
    let pkg = package::build(&manifest, &wasm, key.as_ref());
    let out = args.out.unwrap_or_else(|| PathBuf::from(format!("{}-{}.akpkg", manifest.name, manifest.version)));
    std::fs::write(&out, &pkg).map_err(|e| Failure::Usage(format!("cannot write {}: {e}", out.display())))?;
    let signer = key.map_or("unsigned".to_string(), |k| {
        format!("signed by key {}", hex::encode(package::key_id(&k.verifying_key().to_bytes())))
    });
    println!(
        "{}: {} {} ({}, {}), capabilities: {}",
        out.display(),
        manifest.name,
        manifest.version,
        describe::bytes(pkg.len() as u64),
        signer,
        describe::capabilities_line(&manifest.capabilities)
    );
    Ok(0)
}

/// A connection to a device speaking the Akira OTA protocol.
pub struct Client {
    link: Box<dyn Link>,
    decoder: FrameDecoder<MAX_FRAME>,
    pending: Vec<u8>,
}

/// Why talking to a device failed.
#[derive(Debug)]
pub enum LinkError {
    /// The link failed or closed (worth reconnecting).
    Io(String),
    /// The device answered something unexpected.
    Protocol(String),
}

impl std::fmt::Display for LinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinkError::Io(m) => write!(f, "link: {m}"),
            LinkError::Protocol(m) => write!(f, "protocol: {m}"),
        }
    }
}

impl Client {
    /// Connects to `target`.
    pub fn connect(target: &Target) -> Result<Client, LinkError> {
        let link: Box<dyn Link> = match (&target.tcp, &target.serial) {
            (Some(addr), _) => {
                let stream = TcpStream::connect(addr).map_err(|e| LinkError::Io(format!("{addr}: {e}")))?;
                stream.set_read_timeout(Some(Duration::from_secs(15))).map_err(|e| LinkError::Io(e.to_string()))?;
                stream.set_nodelay(true).map_err(|e| LinkError::Io(e.to_string()))?;
                Box::new(stream)
            }
            (None, Some(path)) => {
                let port = serialport::new(path.to_string_lossy(), target.baud)
                    .timeout(Duration::from_secs(15))
                    .open()
                    .map_err(|e| LinkError::Io(format!("{}: {e}", path.display())))?;
                Box::new(port)
            }
            (None, None) => return Err(LinkError::Io("give --tcp HOST:PORT or --serial PATH".into())),
        };
        let mut client = Client { link, decoder: FrameDecoder::new(), pending: Vec::new() };
        // A lone delimiter ends any half frame the device still holds from
        // an earlier connection (an empty frame is ignored).
        client.link.write_all(&[frame::DELIMITER]).map_err(|e| LinkError::Io(e.to_string()))?;
        Ok(client)
    }

    /// Sends one request and waits for its response.
    pub fn call(&mut self, request: &Request<'_>) -> Result<Response, LinkError> {
        let mut out = [0u8; MAX_FRAME];
        let n = frame::encode(request, &mut out).map_err(|e| LinkError::Protocol(e.to_string()))?;
        self.link.write_all(&out[..n]).map_err(|e| LinkError::Io(e.to_string()))?;
        self.link.flush().map_err(|e| LinkError::Io(e.to_string()))?;
        let mut buf = [0u8; 1024];
        loop {
            while !self.pending.is_empty() {
                let (used, done) = self.decoder.push(&self.pending);
                self.pending.drain(..used);
                match done {
                    Some(Ok(_)) => {
                        return frame::decode::<Response>(self.decoder.frame())
                            .map_err(|e| LinkError::Protocol(format!("bad response: {e}")));
                    }
                    Some(Err(e)) => return Err(LinkError::Protocol(format!("bad response frame: {e}"))),
                    None => {}
                }
            }
            let n = self.link.read(&mut buf).map_err(|e| LinkError::Io(e.to_string()))?;
            if n == 0 {
                return Err(LinkError::Io("the device closed the connection".into()));
            }
            self.pending.extend_from_slice(&buf[..n]);
        }
    }

    /// Greets the device and checks it speaks this protocol.
    pub fn hello(&mut self) -> Result<Response, Failure> {
        let hello = self.call(&Request::Hello).map_err(|e| Failure::Usage(e.to_string()))?;
        match hello {
            Response::Hello { protocol, .. } if protocol == PROTOCOL_VERSION => Ok(hello),
            Response::Hello { protocol, .. } => {
                Err(Failure::Usage(format!("the device speaks protocol {protocol}, this tool {PROTOCOL_VERSION}")))
            }
            other => Err(Failure::Usage(format!("unexpected answer to hello: {other:?}"))),
        }
    }
}

/// The answer's error as a failure, or `Ok` for the expected kind.
pub fn device_error(response: Response) -> Failure {
    match response {
        Response::Error { code, detail } => {
            let hint = match code {
                ErrorCode::Downgrade => {
                    "\n  the device once had this version or a newer one (anti-rollback, kept after a \
                     rollback or `device remove`): bump the app's version (Cargo.toml) and pack it \
                     again; only a device's owner can let an older version in, once with a signed \
                     `akira device allow-downgrade APP VERSION --key OWNER.key`, or for good with \
                     DeviceConfig::allow_downgrade (akira sim-device --allow-downgrade)"
                }
                _ => "",
            };
            Failure::Refused(format!("device refused: {} ({}): {detail}{hint}", code.as_str(), code.code()))
        }
        other => Failure::Usage(format!("unexpected answer: {other:?}")),
    }
}

/// Arguments of `akira push`.
#[derive(Args)]
pub struct PushArgs {
    /// The package (`akira pack`).
    package: PathBuf,
    #[command(flatten)]
    target: Target,
    /// Give up after this many reconnections.
    #[arg(long, default_value_t = 5)]
    retries: u32,
}

enum Attempt {
    Installed(AppName, akira_caps::Version),
    Refused(Box<Response>),
    /// The device backs off after failed transfers on its link.
    RetryAfter(Duration),
}

fn attempt(target: &Target, pkg: &[u8], id: [u8; 32], bar: &indicatif::ProgressBar) -> Result<Attempt, LinkError> {
    let mut client = Client::connect(target)?;
    let max_chunk = match client.call(&Request::Hello)? {
        Response::Hello { max_chunk, .. } => usize::from(max_chunk).clamp(16, akira_ota::protocol::MAX_CHUNK),
        other => return Ok(Attempt::Refused(Box::new(other))),
    };
    let mut at = match client.call(&Request::Begin { size: pkg.len() as u32, id })? {
        Response::Resume { offset } => offset as usize,
        Response::RetryAfter { ms } => return Ok(Attempt::RetryAfter(Duration::from_millis(ms.into()))),
        other => return Ok(Attempt::Refused(Box::new(other))),
    };
    if at > 0 {
        // Not `bar.println`: that is dropped when stderr is not a terminal.
        bar.suspend(|| eprintln!("akira: resuming at byte {at} of {}", pkg.len()));
    }
    loop {
        bar.set_position(at as u64);
        let end = (at + max_chunk).min(pkg.len());
        match client.call(&Request::Chunk { offset: at as u32, data: &pkg[at..end] })? {
            Response::Ack { next } => at = next as usize,
            Response::Installed { name, version } => {
                bar.set_position(pkg.len() as u64);
                return Ok(Attempt::Installed(name, version));
            }
            other => return Ok(Attempt::Refused(Box::new(other))),
        }
    }
}

/// `akira push`: sends a package, reconnecting and resuming if the link
/// drops.
pub fn push(args: PushArgs) -> Result<u8, Failure> {
    let pkg = std::fs::read(&args.package)
        .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", args.package.display())))?;
    let header: [u8; package::HEADER_LEN] = pkg
        .get(..package::HEADER_LEN)
        .and_then(|h| h.try_into().ok())
        .ok_or_else(|| Failure::Usage(format!("{} is not a package", args.package.display())))?;
    package::Header::parse(&header).map_err(|e| Failure::Usage(format!("{}: {e}", args.package.display())))?;
    let id: [u8; 32] = Sha256::digest(&pkg).into();
    let bar = indicatif::ProgressBar::new(pkg.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message("pushing");
    let mut failures = 0;
    loop {
        match attempt(&args.target, &pkg, id, &bar) {
            Ok(Attempt::Installed(name, version)) => {
                bar.finish_and_clear();
                println!("installed {name} {version} (on trial until confirmed)");
                return Ok(0);
            }
            Ok(Attempt::Refused(response)) => {
                bar.abandon();
                return Err(device_error(*response));
            }
            Ok(Attempt::RetryAfter(wait)) if failures < args.retries => {
                failures += 1;
                bar.suspend(|| {
                    eprintln!(
                        "akira: the device refuses transfers for {:.1} s after failed ones; waiting ({failures}/{})",
                        wait.as_secs_f64(),
                        args.retries
                    )
                });
                std::thread::sleep(wait);
            }
            Ok(Attempt::RetryAfter(wait)) => {
                bar.abandon();
                return Err(Failure::Refused(format!(
                    "the device still refuses transfers after failed ones (retry in {:.1} s)",
                    wait.as_secs_f64()
                )));
            }
            Err(LinkError::Io(why)) if failures < args.retries => {
                failures += 1;
                bar.suspend(|| eprintln!("akira: link lost ({why}); reconnecting ({failures}/{})", args.retries));
                std::thread::sleep(Duration::from_millis(200 * u64::from(failures)));
            }
            Err(e) => {
                bar.abandon();
                return Err(Failure::Usage(format!("push failed: {e}")));
            }
        }
    }
}
