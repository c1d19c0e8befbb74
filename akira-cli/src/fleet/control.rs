//! `akira fleet pause | resume | abort`, and withdrawing assignments.
//!
//! An operator's request is retained at `akira/v1/control/<group>`. The
//! CLI running the rollout (the lease's holder) follows it and says so in
//! the record; when no CLI holds the rollout, the command changes the
//! record itself, leaving the lease free, so a CLI started again sees the
//! rollout paused, running or aborted. Abort then rolls every device that
//! took the version back by signed commands only (`restore`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use akira_fleet::message::{self, Assignment, State};
use akira_fleet::topic::{self, Leaf};
use akira_ota::command::DeviceId;
use ed25519_dalek::SigningKey;

use super::record::{Command, HEARTBEAT, LEASE, Record, Request, RolloutState};
use super::{Broker, BrokerArgs, Package, absorb, read_states};
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
/// follow `command`; `key` signs abort's commands, `previous` is the
/// package abort reinstalls on devices that confirmed the version.
pub async fn request(
    args: &BrokerArgs,
    group: &str,
    command: Command,
    key: Option<&Path>,
    previous: Option<&Path>,
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
        (Command::Abort, Some(key)) => {
            let previous = previous.map(|p| Package::read(p, 4096)).transpose()?;
            super::restore::return_devices(&mut broker, group, &record, &key, previous.as_ref(), wait).await
        }
        _ => Ok(0),
    }
}
