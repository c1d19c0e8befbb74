//! The CLI running a rollout: its lease on the record, what it watches
//! (the devices' states, the operators' requests, the record itself) and
//! its heartbeat.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use akira_fleet::message::State;
use akira_ota::command::DeviceId;

use super::record::{Command, HEARTBEAT, Record, RolloutState, control_topic, record_topic};
use super::{Broker, absorb, control};
use crate::Failure;

/// A rollout's owner: the one client that writes its record and its
/// devices' assignments.
pub struct Owner {
    /// The connection.
    pub broker: Broker,
    /// The group.
    pub group: String,
    /// The record, as this owner last wrote it.
    pub record: Record,
    /// The devices' states as last reported.
    pub states: BTreeMap<DeviceId, State>,
    /// The operators' last request for this rollout, and who made it.
    asked: Option<(Command, String)>,
    /// The last record seen was a live one of another client: it took the
    /// rollout (this client stalled past the lease, or claimed it at the
    /// same moment and lost).
    rival: Option<String>,
    /// This owner's claim came back from the broker.
    claimed: bool,
    beat: Instant,
}

impl Owner {
    /// Claims the rollout: writes `record` as its owner, then waits for
    /// the broker's order of claims to settle. Every client subscribed to
    /// the record sees all claims in the broker's one order and the last
    /// one is retained, so of two CLIs claiming at once exactly one goes
    /// on; the other fails here without writing anything more.
    pub async fn claim(
        mut broker: Broker,
        group: &str,
        record: Record,
        states: BTreeMap<DeviceId, State>,
    ) -> Result<Owner, Failure> {
        broker.subscribe(&record_topic(group)).await?;
        broker.subscribe(&control_topic(group)).await?;
        let mut owner = Owner {
            broker,
            group: group.into(),
            record,
            states,
            asked: None,
            rival: None,
            claimed: false,
            beat: Instant::now(),
        };
        owner.write().await?;
        owner.broker.flush().await?;
        let settled = Instant::now() + Duration::from_secs(1);
        let limit = Instant::now() + Duration::from_secs(15);
        while (Instant::now() < settled || !owner.claimed) && Instant::now() < limit {
            owner.pump(Duration::from_millis(100)).await?;
        }
        match (&owner.rival, owner.claimed) {
            (Some(rival), _) => Err(Failure::Usage(format!(
                "group {group}: {rival} claimed rollout {} at the same time and runs it",
                owner.record.rollout
            ))),
            (None, false) => Err(Failure::Usage("the broker did not return the rollout's record".into())),
            (None, true) => Ok(owner),
        }
    }

    /// Takes in one message, or waits `quiet` for one.
    async fn pump(&mut self, quiet: Duration) -> Result<(), Failure> {
        let Some((t, payload)) = self.broker.next(quiet).await? else { return Ok(()) };
        if t == record_topic(&self.group) {
            if let Ok(record) = serde_json::from_slice::<Record>(&payload) {
                if record.owner == self.record.owner {
                    self.claimed = true;
                    self.rival = None;
                } else if record.is_held() {
                    self.rival = Some(record.owner);
                }
            }
        } else if t == control_topic(&self.group) {
            self.asked = super::record::Request::decode(&payload)
                .filter(|r| r.rollout == self.record.rollout)
                .map(|r| (r.command, r.by));
        } else {
            absorb(&mut self.states, &t, &payload);
        }
        Ok(())
    }

    /// What the operators last asked of this rollout.
    pub fn asked(&self) -> Option<Command> {
        self.asked.as_ref().map(|(c, _)| *c)
    }

    /// Writes the record with a fresh heartbeat, unless another client
    /// holds the rollout now.
    pub async fn write(&mut self) -> Result<(), Failure> {
        if let Some(rival) = &self.rival {
            return Err(Failure::Usage(format!(
                "group {}: lost rollout {} to {rival} (no heartbeat written for longer than the lease); it carries on",
                self.group, self.record.rollout
            )));
        }
        self.beat = Instant::now();
        self.record.write(&mut self.broker, &self.group).await
    }

    /// Takes in what came within 250 ms, writes the heartbeat when due,
    /// and follows a pause or a resume; returns what the operators ask.
    pub async fn tick(&mut self) -> Result<Option<Command>, Failure> {
        self.pump(Duration::from_millis(250)).await?;
        let by = self.asked.as_ref().map_or(String::new(), |(_, by)| by.clone());
        match (self.asked(), self.record.state) {
            (Some(Command::Pause), RolloutState::Running) => {
                self.record.state = RolloutState::Paused;
                eprintln!(
                    "akira fleet: rollout {} paused by {by}: no new wave starts until `akira fleet resume`",
                    self.record.rollout
                );
                self.write().await?;
            }
            (Some(Command::Resume), RolloutState::Paused) => {
                self.record.state = RolloutState::Running;
                eprintln!("akira fleet: rollout {} resumed by {by}", self.record.rollout);
                self.write().await?;
            }
            _ if self.beat.elapsed() >= HEARTBEAT => self.write().await?,
            _ => {}
        }
        Ok(self.asked())
    }

    /// Holds while the rollout is paused; `true` if it is to be aborted.
    pub async fn hold(&mut self) -> Result<bool, Failure> {
        loop {
            match self.asked() {
                Some(Command::Pause) => {
                    self.tick().await?;
                }
                Some(Command::Abort) => return Ok(true),
                _ => return Ok(false),
            }
        }
    }

    /// Stops the rollout for `akira fleet abort`: withdraws every
    /// unfinished assignment and records it aborted. The devices that
    /// took the version are rolled back by `akira fleet abort` (it holds
    /// the signing key; this owner never does).
    pub async fn abort(mut self) -> Result<u8, Failure> {
        let rollout = self.record.rollout;
        let withdrawn = control::withdraw_unfinished(&mut self.broker, &mut self.states, rollout).await?;
        self.record.state = RolloutState::Aborted;
        self.write().await?;
        self.broker.flush().await?;
        let by = self.asked.map_or(String::new(), |(_, by)| by);
        eprintln!(
            "akira fleet: rollout {rollout} aborted by {by} at wave {}: {withdrawn} unfinished assignment(s) withdrawn",
            self.record.wave + 1
        );
        Ok(1)
    }
}
