//! `akira fleet pause | resume | abort`, and withdrawing assignments.
//!
//! An operator's request is retained at `akira/v1/control/<group>`. The
//! CLI running the rollout (the lease's holder) follows it and says so in
//! the record; when no CLI holds the rollout, the command changes the
//! record itself, leaving the lease free, so a CLI started again sees the
//! rollout paused, running or aborted. Abort then rolls every device that
//! took the version back with a signed rollback command (akira-ota's
//! management commands) sent on its `down` topic: the broker carries the
//! command, the device's trust policy decides.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use akira_caps::manifest::AppName;
use akira_fleet::message::{self, Assignment, State};
use akira_fleet::topic::{self, Leaf};
use akira_ota::command::{Action, Command as Signed, DeviceId};
use akira_ota::frame::{self, MAX_FRAME};
use akira_ota::protocol::{Request as Frame, Response};
use ed25519_dalek::SigningKey;

use super::record::{Command, HEARTBEAT, LEASE, Record, Request, RolloutState};
use super::{Broker, BrokerArgs, absorb, read_states};
use crate::Failure;

/// Withdraws (an empty retained message) every assignment of `rollout`
/// whose device has not finished it; returns how many. State reports that
/// come meanwhile are taken into `states`.
pub async fn withdraw_unfinished(
    broker: &mut Broker,
    states: &mut BTreeMap<DeviceId, State>,
    rollout: u32,
) -> Result<usize, Failure> {
    // The retained assignments say which devices were given this rollout,
    // whichever CLI gave them.
    let filter = format!("{}+/assign", topic::PREFIX);
    broker.subscribe(&filter).await?;
    let mut assigned = Vec::new();
    while let Some((t, payload)) = broker.next(Duration::from_millis(400)).await? {
        absorb(states, &t, &payload);
        if let Some((id, Leaf::Assign)) = topic::parse_device(&t)
            && message::decode::<Assignment>(&payload).is_ok_and(|a| a.rollout == rollout)
        {
            assigned.push(id);
        }
    }
    let finished = |id: &DeviceId| {
        states.get(id).and_then(|s| s.rollout).is_some_and(|r| r.rollout == rollout && r.phase.is_final())
    };
    let mut withdrawn = 0;
    for id in assigned.iter().filter(|id| !finished(id)) {
        broker.publish(topic::device(id, Leaf::Assign).as_str(), true, Vec::new()).await?;
        withdrawn += 1;
    }
    broker.flush().await?;
    Ok(withdrawn)
}

/// What the owner's record says once it followed `command`.
fn followed(command: Command, state: RolloutState) -> bool {
    match command {
        Command::Pause => state == RolloutState::Paused,
        Command::Resume => state != RolloutState::Paused,
        Command::Abort => !state.is_live(),
    }
}

/// `akira fleet pause | resume | abort`: asks the group's rollout to
/// follow `command`; `key` signs abort's rollback commands.
pub async fn request(
    args: &BrokerArgs,
    group: &str,
    command: Command,
    key: Option<&Path>,
    wait: Duration,
) -> Result<u8, Failure> {
    let key = key.map(|k| crate::ota::read_key(k).map(|k| SigningKey::from_bytes(&k))).transpose()?;
    let mut broker = Broker::connect(args).await?;
    let Some(mut record) = Record::read(&mut broker, group).await? else {
        return Err(Failure::Usage(format!("group {group}: no rollout recorded")));
    };
    if command != Command::Abort && !record.state.is_live() {
        return Err(Failure::Usage(format!("group {group}: rollout {} is {}", record.rollout, record.state)));
    }
    let rollout = record.rollout;
    if command != Command::Abort || record.state.is_live() {
        Request::send(&mut broker, group, rollout, command).await?;
    }
    // A CLI runs it: wait until its record says it followed (it answers
    // within a heartbeat), or until it stops holding the lease.
    let deadline = Instant::now() + LEASE + HEARTBEAT;
    while record.is_held() && !followed(command, record.state) {
        if Instant::now() >= deadline {
            return Err(Failure::Usage(format!(
                "group {group}: {} holds rollout {rollout} but did not follow the request (it stays retained)",
                record.owner
            )));
        }
        if let Some((t, payload)) = broker.next(Duration::from_millis(250)).await?
            && t == super::record::record_topic(group)
            && let Ok(r) = serde_json::from_slice::<Record>(&payload)
        {
            record = r;
        }
    }
    // Abort also ends what a finished rollout left: the assignments its
    // missed devices kept.
    let owner_did_it = match command {
        Command::Abort => record.state == RolloutState::Aborted,
        _ => followed(command, record.state),
    };
    if owner_did_it {
        if record.state.is_live() || command == Command::Abort {
            println!("rollout {rollout} of group {group}: {} (followed by {})", record.state, record.owner);
        }
    } else {
        // Nobody runs it: change the record, heartbeat untouched.
        record.state = match command {
            Command::Pause => RolloutState::Paused,
            Command::Resume => RolloutState::Running,
            Command::Abort => {
                let mut states = read_states(&mut broker).await?;
                let n = withdraw_unfinished(&mut broker, &mut states, rollout).await?;
                println!("rollout {rollout}: {n} unfinished assignment(s) withdrawn");
                RolloutState::Aborted
            }
        };
        record.store(&mut broker, group).await?;
        broker.flush().await?;
        println!("rollout {rollout} of group {group}: {}", record.state);
        if command == Command::Resume {
            println!("no CLI runs it: `akira fleet rollout PACKAGE --group {group}` carries it on");
        }
    }
    match (command, key) {
        (Command::Abort, Some(key)) => roll_back(&mut broker, group, &record, &key, wait).await,
        _ => Ok(0),
    }
}

/// Rolls every online device of `group` trying the record's version back
/// to the version it confirmed before, with a signed rollback command;
/// exit code 1 if a device runs the version still (it confirmed it
/// already, was offline, refused, or did not answer within `wait`).
async fn roll_back(
    broker: &mut Broker,
    group: &str,
    record: &Record,
    key: &SigningKey,
    wait: Duration,
) -> Result<u8, Failure> {
    let app = AppName::try_from(record.app.as_str())
        .map_err(|_| Failure::Usage(format!("the record's app `{}` is not an app name", record.app)))?;
    broker.subscribe(&format!("{}+/up", topic::PREFIX)).await?;
    let mut states = read_states(broker).await?;
    let running = |s: &State| {
        let app = s.apps.iter().find(|a| a.name == app && a.version.to_string() == record.version);
        app.filter(|_| s.group.as_str() == group).map(|a| (a.confirmed, a.previous.is_some()))
    };
    let mut updated = Vec::new();
    let mut kept = 0;
    for (id, state) in &states {
        match running(state) {
            Some((false, true)) => updated.push(*id),
            // A confirmed version freed the one before it (so did a first
            // install): there is nothing on the device to return to.
            Some(_) => {
                println!(
                    "  {}: confirmed {} {} and keeps no earlier version: roll the previous package out again (after a signed `akira device allow-downgrade`)",
                    hex::encode(id),
                    record.app,
                    record.version
                );
                kept += 1;
            }
            None => {}
        }
    }
    let mut waiting = Vec::new();
    for id in &updated {
        if !states[id].online {
            println!("  {}: offline: not rolled back (abort again when it is back)", hex::encode(id));
            continue;
        }
        let counter = crate::manage::unix_ms();
        let blob = Signed { action: Action::Rollback(app.clone()), device: *id, counter }.sign(key);
        let mut buf = [0u8; MAX_FRAME];
        let n = frame::encode(&Frame::Command { blob: &blob }, &mut buf).map_err(|e| Failure::Usage(e.to_string()))?;
        broker.publish(topic::device(id, Leaf::Down).as_str(), false, buf[..n].to_vec()).await?;
        waiting.push(*id);
    }
    broker.flush().await?;
    let (sent, mut rolled_back, mut refused) = (waiting.len(), 0, 0);
    let deadline = Instant::now() + wait;
    while !waiting.is_empty() && Instant::now() < deadline {
        let Some((t, mut payload)) = broker.next(Duration::from_millis(250)).await? else { continue };
        absorb(&mut states, &t, &payload);
        let Some((id, Leaf::Up)) = topic::parse_device(&t) else { continue };
        let Some(at) = waiting.iter().position(|w| *w == id) else { continue };
        let body = payload.len().saturating_sub(1);
        match frame::decode::<Response>(&mut payload[..body]) {
            Ok(Response::Done) => rolled_back += 1,
            Ok(Response::Error { code, .. }) => {
                println!("  {}: refused the rollback: {code}", hex::encode(id));
                refused += 1;
            }
            _ => continue,
        }
        waiting.swap_remove(at);
    }
    for id in &waiting {
        println!("  {}: no answer within {} s", hex::encode(id), wait.as_secs());
    }
    println!(
        "rolled back {rolled_back} of {} device(s) on trial with {} {}; {refused} refused, {} offline, {} did not answer; {kept} confirmed it",
        updated.len(),
        record.app,
        record.version,
        updated.len() - sent,
        waiting.len()
    );
    Ok(u8::from(rolled_back < updated.len() || kept > 0))
}
