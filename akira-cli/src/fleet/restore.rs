//! How `akira fleet abort` returns the devices that took a version to the
//! one before, by signed commands only (akira-ota's management commands,
//! sent on each device's `down` topic: the broker carries them, the
//! device's trust policy decides):
//!
//! - a device still trying the version rolls back to the version it
//!   confirmed before (a rollback command);
//! - a device that confirmed it keeps no earlier version (confirming frees
//!   its slot), so with `--previous PACKAGE` it gets a one-time downgrade
//!   permission for that package's version (an allow-downgrade command)
//!   and then an assignment of the package, which it checks as any other.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use akira_caps::manifest::AppName;
use akira_fleet::message::State;
use akira_fleet::topic::{self, Leaf};
use akira_ota::command::{Action, Command as Signed, DeviceId};
use akira_ota::frame::{self, MAX_FRAME};
use akira_ota::protocol::{Request as Frame, Response};
use ed25519_dalek::SigningKey;

use super::record::{Record, unix_now};
use super::{Broker, Package, absorb, read_states};
use crate::Failure;

/// Returns every device of `group` running the record's version; exit
/// code 1 if one runs it still (offline, refused, no answer within
/// `wait`, or confirmed with no `previous` package given).
pub async fn return_devices(
    broker: &mut Broker,
    group: &str,
    record: &Record,
    key: &SigningKey,
    previous: Option<&Package>,
    wait: Duration,
) -> Result<u8, Failure> {
    let app = AppName::try_from(record.app.as_str())
        .map_err(|_| Failure::Usage(format!("the record's app `{}` is not an app name", record.app)))?;
    if let Some(p) = previous.filter(|p| p.app != app) {
        return Err(Failure::Usage(format!("--previous holds {}, not {app}", p.app)));
    }
    broker.subscribe(&format!("{}+/up", topic::PREFIX)).await?;
    let mut states = read_states(broker).await?;
    let (mut on_trial, mut confirmed, mut offline) = (Vec::new(), Vec::new(), 0);
    for (id, s) in &states {
        let Some(a) = s.apps.iter().find(|a| a.name == app && a.version.to_string() == record.version) else {
            continue;
        };
        if s.group.as_str() != group {
            continue;
        }
        if !s.online {
            println!("  {}: offline: not returned (abort again when it is back)", hex::encode(id));
            offline += 1;
        } else if !a.confirmed && a.previous.is_some() {
            on_trial.push(*id);
        } else {
            confirmed.push(*id);
        }
    }
    let rollback = Action::Rollback(app.clone());
    let rolled_back = command_each(broker, &mut states, &on_trial, &rollback, key, wait).await?.len();
    println!("rolled back {rolled_back} of {} device(s) on trial with {app} {}", on_trial.len(), record.version);
    let reinstalled = match previous {
        Some(p) if !confirmed.is_empty() => reinstall(broker, &mut states, &confirmed, p, key, wait).await?,
        _ => {
            for id in &confirmed {
                println!(
                    "  {}: confirmed {app} {} and keeps no earlier version: abort again with --previous PACKAGE",
                    hex::encode(id),
                    record.version
                );
            }
            0
        }
    };
    let total = on_trial.len() + confirmed.len() + offline;
    println!(
        "returned {} of {total} device(s) running {app} {}: {rolled_back} rolled back, {reinstalled} given the previous package, {offline} offline",
        rolled_back + reinstalled,
        record.version
    );
    Ok(u8::from(rolled_back + reinstalled < total))
}

/// Sends `action`, signed for each device, and waits up to `wait` for the
/// answers; returns the devices that carried it out.
async fn command_each(
    broker: &mut Broker,
    states: &mut BTreeMap<DeviceId, State>,
    devices: &[DeviceId],
    action: &Action,
    key: &SigningKey,
    wait: Duration,
) -> Result<Vec<DeviceId>, Failure> {
    let what = match action {
        Action::Rollback(_) => "the rollback",
        Action::AllowDowngrade(..) => "the downgrade permission",
        _ => "the command",
    };
    for id in devices {
        let counter = crate::manage::unix_ms();
        let blob = Signed { action: action.clone(), device: *id, counter }.sign(key);
        let mut buf = [0u8; MAX_FRAME];
        let n = frame::encode(&Frame::Command { blob: &blob }, &mut buf).map_err(|e| Failure::Usage(e.to_string()))?;
        broker.publish(topic::device(id, Leaf::Down).as_str(), false, buf[..n].to_vec()).await?;
    }
    broker.flush().await?;
    let mut waiting = devices.to_vec();
    let mut done = Vec::new();
    let deadline = Instant::now() + wait;
    while !waiting.is_empty() && Instant::now() < deadline {
        let Some((t, mut payload)) = broker.next(Duration::from_millis(250)).await? else { continue };
        absorb(states, &t, &payload);
        let Some((id, Leaf::Up)) = topic::parse_device(&t) else { continue };
        let Some(at) = waiting.iter().position(|w| *w == id) else { continue };
        let body = payload.len().saturating_sub(1);
        match frame::decode::<Response>(&mut payload[..body]) {
            Ok(Response::Done) => done.push(id),
            Ok(Response::Error { code, .. }) => println!("  {}: refused {what}: {code}", hex::encode(id)),
            _ => continue,
        }
        waiting.swap_remove(at);
    }
    for id in &waiting {
        println!("  {}: no answer to {what} within {} s", hex::encode(id), wait.as_secs());
    }
    Ok(done)
}

/// Gives `devices` a one-time permission for `previous`'s version, then
/// assigns them the package; returns how many run it within `wait`.
async fn reinstall(
    broker: &mut Broker,
    states: &mut BTreeMap<DeviceId, State>,
    devices: &[DeviceId],
    previous: &Package,
    key: &SigningKey,
    wait: Duration,
) -> Result<usize, Failure> {
    let allow = Action::AllowDowngrade(previous.app.clone(), previous.version);
    let allowed = command_each(broker, states, devices, &allow, key, wait).await?;
    if allowed.is_empty() {
        return Ok(0);
    }
    previous.publish(broker).await?;
    let rollout = (unix_now() & 0xffff_ffff) as u32;
    let payload = previous.assignment(rollout)?;
    for id in &allowed {
        broker.publish(topic::device(id, Leaf::Assign).as_str(), true, payload.clone()).await?;
    }
    broker.flush().await?;
    // Installed (on trial or confirmed), or refused: each device reports.
    let runs_it = |s: &State| s.apps.iter().any(|a| a.name == previous.app && a.version == previous.version);
    let failed = |s: &State| s.rollout.is_some_and(|r| r.rollout == rollout && r.phase.is_failure());
    let deadline = Instant::now() + wait;
    let pending = |states: &BTreeMap<DeviceId, State>| {
        allowed.iter().filter(|id| states.get(*id).is_none_or(|s| !runs_it(s) && !failed(s))).count()
    };
    while pending(states) > 0 && Instant::now() < deadline {
        if let Some((t, payload)) = broker.next(Duration::from_millis(250)).await? {
            absorb(states, &t, &payload);
        }
    }
    let mut installed = 0;
    for id in &allowed {
        match states.get(id) {
            Some(s) if runs_it(s) => installed += 1,
            Some(s) if failed(s) => {
                let phase = s.rollout.map(|r| super::phase_text(r.phase)).unwrap_or_default();
                println!("  {}: {} {}: {phase}", hex::encode(id), previous.app, previous.version);
            }
            _ => println!(
                "  {}: did not install {} {} within {} s",
                hex::encode(id),
                previous.app,
                previous.version,
                wait.as_secs()
            ),
        }
    }
    println!(
        "reinstalled {} {} on {installed} of {} device(s) that had confirmed the version",
        previous.app,
        previous.version,
        devices.len()
    );
    Ok(installed)
}
