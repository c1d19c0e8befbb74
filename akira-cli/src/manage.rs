//! `akira device ...`: the app list, and management commands signed with
//! a key the device's trust policy allows for them.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use akira_caps::Version;
use akira_caps::manifest::AppName;
use akira_ota::command::{ANY_DEVICE, Action, COMMAND_LEN, Command, DeviceId};
use akira_ota::package::{self, KeyId};
use akira_ota::protocol::{Request, Response};
use clap::{Args, Subcommand};
use ed25519_dalek::SigningKey;

use crate::ota::{Client, Target, device_error, read_key};
use crate::{Failure, describe};

/// How a management command is signed and where it goes.
#[derive(Args, Clone)]
pub struct Signing {
    /// Sign with this secret key (from `akira keygen`); the device's trust
    /// policy must give its public key the right for this command.
    #[arg(long, value_name = "KEY")]
    key: PathBuf,
    #[command(flatten)]
    target: Target,
    /// Address the command to every device (for a fleet) rather than to
    /// the one connected (or named by --device-id).
    #[arg(long, conflicts_with = "device_id")]
    any_device: bool,
    /// The device the command is for, as 16 hex digits (default: the
    /// connected device's id, from its hello).
    #[arg(long, value_name = "HEX")]
    device_id: Option<String>,
    /// The command's counter (default: the device's counter plus one, or
    /// the time in milliseconds if higher).
    #[arg(long)]
    counter: Option<u64>,
    /// Write the signed command to this file instead of sending it (to
    /// send later with `akira device send`, or through a fleet's broker).
    #[arg(long, short, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// `akira device ...`.
#[derive(Subcommand)]
pub enum DeviceCmd {
    /// List installed apps (signed with --key where the list is not open).
    List {
        #[command(flatten)]
        target: Target,
        /// Sign the request (devices whose list needs a signature).
        #[arg(long, value_name = "KEY")]
        key: Option<PathBuf>,
    },
    /// Uninstall an app (a signed command).
    Remove {
        /// The app.
        name: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Return an app to its previous version (a signed command).
    Rollback {
        /// The app.
        name: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Make an app's version on trial permanent (a signed command).
    Confirm {
        /// The app.
        name: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Let the next package of an app at exactly this version in, even
    /// below its anti-rollback floor (a signed one-time permission; push
    /// the package next).
    AllowDowngrade {
        /// The app.
        name: String,
        /// The version, like 1.2.0.
        version: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Stop trusting a key on the device (a signed policy change).
    Revoke {
        /// The key: its `.pub` file or its 16-hex-digit key id.
        key_id: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Trust a revoked key again (a signed policy change).
    Restore {
        /// The key: its `.pub` file or its 16-hex-digit key id.
        key_id: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Send a signed command written with --out.
    Send {
        /// The command file.
        file: PathBuf,
        #[command(flatten)]
        target: Target,
    },
}

fn app_name(name: &str) -> Result<AppName, Failure> {
    if akira_caps::manifest::is_app_name(name) {
        AppName::try_from(name).map_err(|_| Failure::Usage(format!("`{name}` is not an app name")))
    } else {
        Err(Failure::Usage(format!("`{name}` is not an app name (a-z, 0-9, - and _, up to 32)")))
    }
}

/// A key id from a `.pub` file or 16 hex digits.
fn key_id_arg(text: &str) -> Result<KeyId, Failure> {
    if Path::new(text).is_file() {
        return Ok(package::key_id(&read_key(Path::new(text))?));
    }
    hex::decode(text.trim())
        .ok()
        .and_then(|b| KeyId::try_from(b).ok())
        .ok_or_else(|| Failure::Usage(format!("`{text}` is neither a .pub file nor a 16-hex-digit key id")))
}

fn device_id_arg(text: &str) -> Result<DeviceId, Failure> {
    hex::decode(text.trim())
        .ok()
        .and_then(|b| DeviceId::try_from(b).ok())
        .ok_or_else(|| Failure::Usage(format!("`{text}` is not a device id (16 hex digits)")))
}

/// Unix time in milliseconds: a command counter above any a device
/// accepted before from a signer using the device's counter plus one.
pub(crate) fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// `akira device ...`.
pub fn device(cmd: DeviceCmd) -> Result<u8, Failure> {
    let (action, signing) = match cmd {
        DeviceCmd::List { target, key } => return list(&target, key.as_deref()),
        DeviceCmd::Send { file, target } => {
            let blob =
                std::fs::read(&file).map_err(|e| Failure::Usage(format!("cannot read {}: {e}", file.display())))?;
            if blob.len() != COMMAND_LEN {
                return Err(Failure::Usage(format!("{} is not a signed command", file.display())));
            }
            return send(&target, &blob);
        }
        DeviceCmd::Remove { name, signing } => (Action::Remove(app_name(&name)?), signing),
        DeviceCmd::Rollback { name, signing } => (Action::Rollback(app_name(&name)?), signing),
        DeviceCmd::Confirm { name, signing } => (Action::Confirm(app_name(&name)?), signing),
        DeviceCmd::AllowDowngrade { name, version, signing } => {
            let version = Version::parse(&version)
                .ok_or_else(|| Failure::Usage(format!("`{version}` is not a version like 1.2.0")))?;
            (Action::AllowDowngrade(app_name(&name)?, version), signing)
        }
        DeviceCmd::Revoke { key_id, signing } => (Action::Revoke(key_id_arg(&key_id)?), signing),
        DeviceCmd::Restore { key_id, signing } => (Action::Restore(key_id_arg(&key_id)?), signing),
    };
    let key = SigningKey::from_bytes(&read_key(&signing.key)?);
    if let Some(out) = &signing.out {
        // Offline: nothing to ask the device, so the caller names it.
        let device = match (&signing.device_id, signing.any_device) {
            (Some(id), _) => device_id_arg(id)?,
            (None, true) => ANY_DEVICE,
            (None, false) => return Err(Failure::Usage("with --out, give --device-id HEX or --any-device".into())),
        };
        let counter = signing.counter.unwrap_or_else(unix_ms);
        let blob = Command { action, device, counter }.sign(&key);
        std::fs::write(out, blob).map_err(|e| Failure::Usage(format!("cannot write {}: {e}", out.display())))?;
        println!("{}: signed command, counter {counter}, for {}", out.display(), device_name(&device));
        return Ok(0);
    }
    let mut client = Client::connect(&signing.target).map_err(|e| Failure::Usage(e.to_string()))?;
    let Response::Hello { device, counter, .. } = client.hello()? else { unreachable!("hello() checks") };
    let device = match (&signing.device_id, signing.any_device) {
        (Some(id), _) => device_id_arg(id)?,
        (None, true) => ANY_DEVICE,
        (None, false) => device,
    };
    let counter = signing.counter.unwrap_or_else(|| counter.saturating_add(1).max(unix_ms()));
    let blob = Command { action, device, counter }.sign(&key);
    answer(client.call(&Request::Command { blob: &blob }).map_err(|e| Failure::Usage(e.to_string()))?, None)
}

fn device_name(device: &DeviceId) -> String {
    if *device == ANY_DEVICE { "every device".into() } else { format!("device {}", hex::encode(device)) }
}

/// Sends a signed command as it is.
fn send(target: &Target, blob: &[u8]) -> Result<u8, Failure> {
    let mut client = Client::connect(target).map_err(|e| Failure::Usage(e.to_string()))?;
    client.hello()?;
    answer(client.call(&Request::Command { blob }).map_err(|e| Failure::Usage(e.to_string()))?, None)
}

/// `akira device list`, signed or not.
fn list(target: &Target, key: Option<&Path>) -> Result<u8, Failure> {
    let mut client = Client::connect(target).map_err(|e| Failure::Usage(e.to_string()))?;
    let hello = client.hello()?;
    let Response::Hello { device, counter, failed_transfers, .. } = hello else { unreachable!("hello() checks") };
    let response = match key {
        Some(path) => {
            let key = SigningKey::from_bytes(&read_key(path)?);
            let command = Command { action: Action::List, device, counter: counter.saturating_add(1).max(unix_ms()) };
            client.call(&Request::Command { blob: &command.sign(&key) })
        }
        None => client.call(&Request::List),
    };
    let response = response.map_err(|e| Failure::Usage(e.to_string()))?;
    println!("device {}; {failed_transfers} failed transfers since it started", hex::encode(device));
    answer(response, Some(hello))
}

/// Prints the device's answer.
fn answer(response: Response, hello: Option<Response>) -> Result<u8, Failure> {
    match response {
        Response::Apps(apps) => {
            if let Some(Response::Hello { slot_bytes, free_slots, .. }) = hello {
                println!("{} apps; {free_slots} free slots of {}", apps.len(), describe::bytes(slot_bytes.into()));
            }
            for app in apps {
                let state = if app.confirmed { "confirmed".to_string() } else { "on trial".to_string() };
                let previous = app.previous.map_or(String::new(), |p| format!(", previous {p}"));
                let signer = app.signer.map_or("unsigned".to_string(), |s| format!("key {}", hex::encode(s)));
                println!(
                    "{:<16} {:<10} {state}{previous}, {}, {signer}",
                    app.name.as_str(),
                    app.version.to_string(),
                    describe::bytes(app.bytes.into())
                );
            }
            Ok(0)
        }
        Response::Done => {
            println!("done");
            Ok(0)
        }
        other => Err(device_error(other)),
    }
}
