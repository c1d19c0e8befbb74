//! A rollout's record and the operators' requests, both retained in the
//! broker as JSON: the record at `akira/v1/rollout/<group>` (written only
//! by the CLI holding the rollout's lease), the last request (`pause`,
//! `resume`, `abort`) at `akira/v1/control/<group>` (written by any
//! operator). Two topics, so a request never races the owner's writes: the
//! owner reads the request and says in its record what it did.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use akira_fleet::topic;
use serde::{Deserialize, Serialize};

use super::Broker;
use crate::Failure;

/// The format of the record and of requests.
pub const FORMAT: u32 = 1;

/// How long a rollout's owner holds it without writing its record.
pub const LEASE: Duration = Duration::from_secs(20);

/// How often the owner writes its record (its heartbeat).
pub const HEARTBEAT: Duration = Duration::from_secs(5);

/// Where a rollout stands.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RolloutState {
    /// Waves are being rolled out.
    Running,
    /// No new wave starts until `akira fleet resume` (the running wave
    /// finishes).
    Paused,
    /// A wave failed more than `--max-failures` allows.
    Halted,
    /// Every wave was rolled out.
    Done,
    /// Stopped by `akira fleet abort`: unfinished assignments withdrawn.
    Aborted,
}

impl RolloutState {
    /// Still going (a CLI started again carries it on).
    pub fn is_live(self) -> bool {
        matches!(self, RolloutState::Running | RolloutState::Paused)
    }
}

impl std::fmt::Display for RolloutState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RolloutState::Running => "running",
            RolloutState::Paused => "paused",
            RolloutState::Halted => "halted",
            RolloutState::Done => "done",
            RolloutState::Aborted => "aborted",
        })
    }
}

/// A rollout's record: what `akira fleet status` shows, and what a
/// restarted `akira fleet rollout` continues from.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Record {
    /// The record's format ([`FORMAT`]).
    pub format: u32,
    /// The rollout's id (in the devices' assignments and reports).
    pub rollout: u32,
    /// The package's SHA-256, hex.
    pub package: String,
    /// The app.
    pub app: String,
    /// The version rolled out.
    pub version: String,
    /// Devices per wave.
    pub waves: Vec<usize>,
    /// The wave running (0-based).
    pub wave: usize,
    /// Where it stands.
    pub state: RolloutState,
    /// Devices that confirmed the version.
    pub confirmed: usize,
    /// Devices that rolled back or refused it.
    pub failed: usize,
    /// Devices that did not finish within their wave's time.
    pub missed: usize,
    /// The client running it (the lease's holder).
    pub owner: String,
    /// When the owner last wrote the record (Unix seconds): a live record
    /// not written for [`LEASE`] is free to take over.
    pub heartbeat: u64,
}

/// What an operator asks of a rollout.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Command {
    /// Start no new wave.
    Pause,
    /// Carry on after a pause.
    Resume,
    /// Stop, withdraw unfinished assignments, roll updated devices back.
    Abort,
}

/// An operator's request, retained at `akira/v1/control/<group>`.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Request {
    /// [`FORMAT`].
    pub format: u32,
    /// The rollout it is for (a request for an earlier rollout is ignored).
    pub rollout: u32,
    /// What is asked.
    pub command: Command,
    /// Who asked.
    pub by: String,
    /// When (Unix seconds).
    pub at: u64,
}

/// The record's topic.
pub fn record_topic(group: &str) -> String {
    format!("{}rollout/{group}", topic::PREFIX)
}

/// The requests' topic.
pub fn control_topic(group: &str) -> String {
    format!("{}control/{group}", topic::PREFIX)
}

/// Unix time in seconds.
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A name for this client, unique enough to tell two CLIs apart.
pub fn client_name() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("akira-cli-{}-{:08x}@{}", std::process::id(), nanos, unix_now())
}

/// The retained message at `topic`, if any (subscribes to it).
pub async fn read_retained(broker: &mut Broker, topic: &str) -> Result<Option<Vec<u8>>, Failure> {
    broker.subscribe(topic).await?;
    let mut found = None;
    while let Some((t, payload)) = broker.next(Duration::from_millis(400)).await? {
        if t == topic && !payload.is_empty() {
            found = Some(payload);
        }
    }
    Ok(found)
}

impl Record {
    /// The group's record, if any.
    pub async fn read(broker: &mut Broker, group: &str) -> Result<Option<Record>, Failure> {
        Ok(read_retained(broker, &record_topic(group)).await?.and_then(|p| serde_json::from_slice(&p).ok()))
    }

    /// Writes the record as its owner (a fresh heartbeat).
    pub async fn write(&mut self, broker: &mut Broker, group: &str) -> Result<(), Failure> {
        self.heartbeat = unix_now();
        self.store(broker, group).await
    }

    /// Writes the record as it is (its heartbeat unchanged: an operator
    /// changing the state of a rollout nobody runs leaves the lease free).
    pub async fn store(&self, broker: &mut Broker, group: &str) -> Result<(), Failure> {
        let json = serde_json::to_vec(self).map_err(|e| Failure::Usage(e.to_string()))?;
        broker.publish(&record_topic(group), true, json).await
    }

    /// A live rollout whose owner wrote its record within the lease.
    pub fn is_held(&self) -> bool {
        self.state.is_live() && unix_now().saturating_sub(self.heartbeat) < LEASE.as_secs()
    }
}

impl Request {
    /// Retains the request for `group`'s rollout `rollout`.
    pub async fn send(broker: &mut Broker, group: &str, rollout: u32, command: Command) -> Result<(), Failure> {
        let request = Request { format: FORMAT, rollout, command, by: client_name(), at: unix_now() };
        let json = serde_json::to_vec(&request).map_err(|e| Failure::Usage(e.to_string()))?;
        broker.publish(&control_topic(group), true, json).await?;
        broker.flush().await
    }

    /// Decodes a request (`None`: not one of this format).
    pub fn decode(payload: &[u8]) -> Option<Request> {
        serde_json::from_slice::<Request>(payload).ok().filter(|r| r.format == FORMAT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_written_before_pause_existed_still_read() {
        let old = r#"{"format":1,"rollout":7,"package":"ab","app":"sensor","version":"1.0.0","waves":[1,9],
            "wave":1,"state":"running","confirmed":1,"failed":0,"missed":0,"owner":"akira-cli-1@2","heartbeat":5}"#;
        let record: Record = serde_json::from_str(old).unwrap();
        assert_eq!(record.state, RolloutState::Running);
        assert!(!record.is_held(), "a heartbeat long past frees the lease");
        let json = serde_json::to_string(&Record { state: RolloutState::Paused, ..record }).unwrap();
        assert!(json.contains(r#""state":"paused""#), "{json}");
    }

    #[test]
    fn a_live_record_written_now_is_held() {
        let record = Record {
            format: FORMAT,
            rollout: 1,
            package: String::new(),
            app: "sensor".into(),
            version: "1.0.0".into(),
            waves: vec![1],
            wave: 0,
            state: RolloutState::Paused,
            confirmed: 0,
            failed: 0,
            missed: 0,
            owner: client_name(),
            heartbeat: unix_now(),
        };
        assert!(record.is_held());
        assert!(!Record { state: RolloutState::Done, ..record }.is_held(), "a finished rollout holds nothing");
    }

    #[test]
    fn requests_of_another_format_are_ignored() {
        let pause = r#"{"format":1,"rollout":3,"command":"pause","by":"x","at":0}"#;
        assert_eq!(Request::decode(pause.as_bytes()).map(|r| r.command), Some(Command::Pause));
        assert!(Request::decode(pause.replace(r#""format":1"#, r#""format":2"#).as_bytes()).is_none());
        assert!(Request::decode(br#"{"format":1,"rollout":3,"command":"reboot","by":"x","at":0}"#).is_none());
    }
}
