//! `akira fleet rollout`: waves of devices, each gated on the devices'
//! own verdict (confirmed after a healthy trial, or rolled back / refused),
//! halted when a wave's failures pass `--max-failures`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use akira_fleet::message::{self, Assignment, Phase, State};
use akira_fleet::topic::{self, Leaf};
use akira_ota::command::DeviceId;
use clap::Args;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Broker, BrokerArgs, Package, read_states};
use crate::Failure;

/// Arguments of `akira fleet rollout`.
#[derive(Args)]
pub struct RolloutArgs {
    #[command(flatten)]
    broker: BrokerArgs,
    /// The signed `.akpkg` to roll out.
    package: PathBuf,
    /// The group of devices.
    #[arg(long, default_value = "default")]
    group: String,
    /// Cumulative wave sizes: counts (`1`) or shares of the group (`10%`).
    #[arg(long, default_value = "1,10%,50%,100%")]
    waves: String,
    /// Halt when a wave's failures (rollbacks, refusals) exceed this: a
    /// share of the wave (`2%`) or a count (`0`).
    #[arg(long, default_value = "2%")]
    max_failures: String,
    /// Wait this long after a wave succeeded before the next (devices
    /// that fail meanwhile still count).
    #[arg(long, value_name = "DURATION", value_parser = crate::parse_duration, default_value = "0s")]
    soak: Duration,
    /// Give a wave's devices this long to finish; those that did not are
    /// reported as missed (their assignment stays: they take the version
    /// when they come back).
    #[arg(long, value_name = "DURATION", value_parser = crate::parse_duration, default_value = "5m")]
    wave_timeout: Duration,
    /// Bytes per chunk message in the broker.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u32).range(512..=4096))]
    chunk: u32,
}

/// A rollout's record, retained (JSON) at `akira/v1/rollout/<group>`:
/// what `akira fleet status` shows, and what a restarted `akira fleet
/// rollout` continues from.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Record {
    /// The record's format.
    pub format: u32,
    /// The rollout's id (in the devices' assignments and reports).
    pub rollout: u32,
    /// The package's SHA-256, hex.
    pub package: String,
    /// The app and version.
    pub app: String,
    /// The version rolled out.
    pub version: String,
    /// Devices per wave.
    pub waves: Vec<usize>,
    /// The wave running (0-based).
    pub wave: usize,
    /// `running`, `halted` or `done`.
    pub state: String,
    /// Devices that confirmed the version.
    pub confirmed: usize,
    /// Devices that rolled back or refused it.
    pub failed: usize,
    /// Devices that did not finish within their wave's time.
    pub missed: usize,
    /// The client running it (the lease's holder).
    pub owner: String,
    /// When the owner last wrote the record (Unix seconds): a record left
    /// `running` for longer than [`LEASE`] is free to take over.
    pub heartbeat: u64,
}

/// How long a running rollout's owner holds it without writing its record.
pub const LEASE: Duration = Duration::from_secs(20);

fn record_topic(group: &str) -> String {
    format!("{}rollout/{group}", topic::PREFIX)
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Record {
    /// The group's record, if any.
    pub async fn read(broker: &mut Broker, group: &str) -> Result<Option<Record>, Failure> {
        broker.subscribe(&record_topic(group)).await?;
        let mut record = None;
        while let Some((t, payload)) = broker.next(Duration::from_millis(400)).await? {
            if t == record_topic(group) {
                record = serde_json::from_slice(&payload).ok();
            }
        }
        Ok(record)
    }

    async fn write(&mut self, broker: &mut Broker, group: &str) -> Result<(), Failure> {
        self.heartbeat = unix_now();
        let json = serde_json::to_vec(self).map_err(|e| Failure::Usage(e.to_string()))?;
        broker.publish(&record_topic(group), true, json).await
    }
}

/// A wave size as given: a count or a share of the group.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Share {
    Count(usize),
    Percent(f64),
}

fn parse_share(text: &str) -> Option<Share> {
    let text = text.trim();
    match text.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().ok().filter(|p| (0.0..=100.0).contains(p)).map(Share::Percent),
        None => text.parse().ok().map(Share::Count),
    }
}

/// Whether `failed` of `size` devices pass the limit: a count, or a
/// share of the wave (a failure rate strictly above it).
fn exceeds(limit: Share, failed: usize, size: usize) -> bool {
    match limit {
        Share::Count(n) => failed > n,
        Share::Percent(p) => (failed as f64) * 100.0 > p * (size as f64),
    }
}

fn resolve(share: Share, of: usize) -> usize {
    match share {
        Share::Count(n) => n.min(of),
        Share::Percent(p) => ((of as f64) * p / 100.0).ceil() as usize,
    }
}

/// Devices per wave from cumulative targets (`1,10%,50%,100%`); empty
/// waves are dropped.
fn wave_sizes(spec: &str, devices: usize) -> Result<Vec<usize>, Failure> {
    let mut sizes = Vec::new();
    let mut done = 0;
    for part in spec.split(',') {
        let share = parse_share(part)
            .ok_or_else(|| Failure::Usage(format!("--waves {spec}: `{part}` is not a count or a share like 10%")))?;
        let target = resolve(share, devices).min(devices);
        if target > done {
            sizes.push(target - done);
            done = target;
        }
    }
    Ok(sizes)
}

/// The order devices are rolled out in: a stable hash of their id, so a
/// device's wave does not depend on which devices are online or on names.
fn rollout_order(ids: &mut [DeviceId]) {
    ids.sort_by_key(|id| {
        let h = Sha256::digest(id);
        u64::from_be_bytes(h[..8].try_into().unwrap_or_default())
    });
}

/// How a wave is doing.
#[derive(Default, Debug)]
struct Tally {
    confirmed: usize,
    failed: usize,
    pending: usize,
}

fn tally(wave: &[DeviceId], states: &BTreeMap<DeviceId, State>, rollout: u32) -> Tally {
    let mut t = Tally::default();
    for id in wave {
        match states.get(id).and_then(|s| s.rollout).filter(|r| r.rollout == rollout).map(|r| r.phase) {
            Some(Phase::Confirmed) => t.confirmed += 1,
            Some(p) if p.is_failure() => t.failed += 1,
            _ => t.pending += 1,
        }
    }
    t
}

/// Takes in a state update, if `t` is one.
fn absorb(states: &mut BTreeMap<DeviceId, State>, t: &str, payload: &[u8]) {
    if let Some((id, Leaf::State)) = topic::parse_device(t)
        && let Ok(state) = message::decode::<State>(payload)
    {
        states.insert(id, state);
    }
}

/// Runs (or continues) a rollout; exit code 0 when every wave passed, 1
/// when it halted.
pub async fn rollout(args: RolloutArgs) -> Result<u8, Failure> {
    let limit = parse_share(&args.max_failures).ok_or_else(|| {
        Failure::Usage(format!("--max-failures {}: expected a count or a share like 2%", args.max_failures))
    })?;
    let pkg = Package::read(&args.package, args.chunk)?;
    let mut broker = Broker::connect(&args.broker).await?;
    let me = format!("akira-cli-{}@{}", std::process::id(), unix_now());
    let existing = Record::read(&mut broker, &args.group).await?;
    if let Some(r) = &existing
        && r.state == "running"
        && unix_now().saturating_sub(r.heartbeat) < LEASE.as_secs()
    {
        return Err(Failure::Usage(format!(
            "group {}: rollout {} is running (held by {}, written {} s ago); wait for it, or {} s after its owner stops",
            args.group,
            r.rollout,
            r.owner,
            unix_now().saturating_sub(r.heartbeat),
            LEASE.as_secs()
        )));
    }
    let resume = existing.filter(|r| r.state == "running" && r.package == hex::encode(pkg.id));

    pkg.publish(&mut broker).await?;
    let mut states = read_states(&mut broker).await?;
    let mut devices: Vec<DeviceId> =
        states.iter().filter(|(_, s)| s.group.as_str() == args.group).map(|(id, _)| *id).collect();
    if devices.is_empty() {
        return Err(Failure::Usage(format!("group {}: no devices in the broker", args.group)));
    }
    rollout_order(&mut devices);
    let (waves, rollout, first) = match &resume {
        Some(r) if r.waves.iter().sum::<usize>() <= devices.len() => {
            println!("continuing rollout {} at wave {} of {}", r.rollout, r.wave + 1, r.waves.len());
            (r.waves.clone(), r.rollout, r.wave)
        }
        _ => (wave_sizes(&args.waves, devices.len())?, (unix_now() & 0xffff_ffff) as u32, 0),
    };
    let mut record = Record {
        format: 1,
        rollout,
        package: hex::encode(pkg.id),
        app: pkg.app.to_string(),
        version: pkg.version.to_string(),
        waves: waves.clone(),
        wave: first,
        state: "running".into(),
        confirmed: 0,
        failed: 0,
        missed: 0,
        owner: me,
        heartbeat: 0,
    };
    let assignment = Assignment {
        rollout,
        package: pkg.id,
        size: pkg.bytes.len() as u32,
        chunk: pkg.chunk,
        app: pkg.app.clone(),
        version: pkg.version,
    };
    let mut payload = [0u8; 128];
    let n = message::encode(&assignment, &mut payload).map_err(|e| Failure::Usage(e.to_string()))?;
    let payload = payload[..n].to_vec();
    println!(
        "rollout {rollout}: {} {} to {} device(s) of group {} in {} wave(s) {:?}",
        pkg.app,
        pkg.version,
        devices.len(),
        args.group,
        waves.len(),
        waves
    );
    let started = Instant::now();
    let mut offset: usize = waves[..first].iter().sum();
    for (k, &size) in waves.iter().enumerate().skip(first) {
        let wave = &devices[offset..offset + size];
        record.wave = k;
        record.write(&mut broker, &args.group).await?;
        for id in wave {
            broker.publish(topic::device(id, Leaf::Assign).as_str(), true, payload.clone()).await?;
        }
        broker.flush().await?;
        let over = |failed| exceeds(limit, failed, size);
        let wave_started = Instant::now();
        let bar = indicatif::ProgressBar::new(size as u64).with_style(
            indicatif::ProgressStyle::with_template("wave {msg} [{bar:30}] {pos}/{len} done")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message(format!("{}/{}", k + 1, waves.len()));
        let mut beat = Instant::now();
        let mut t;
        let deadline = wave_started + args.wave_timeout;
        // Until every device is done, the wave fails, or its time is up;
        // then through the soak (failures still count).
        loop {
            t = tally(wave, &states, rollout);
            bar.set_position((t.confirmed + t.failed) as u64);
            if over(t.failed) || Instant::now() >= deadline || t.pending == 0 {
                break;
            }
            if let Some((topic, data)) = broker.next(Duration::from_millis(250)).await? {
                absorb(&mut states, &topic, &data);
            }
            if beat.elapsed() >= LEASE / 4 {
                record.write(&mut broker, &args.group).await?;
                beat = Instant::now();
            }
        }
        if !over(t.failed) && !args.soak.is_zero() && k + 1 < waves.len() {
            let soak_end = Instant::now() + args.soak;
            while Instant::now() < soak_end && !over(t.failed) {
                if let Some((topic, data)) = broker.next(Duration::from_millis(250)).await? {
                    absorb(&mut states, &topic, &data);
                }
                t = tally(wave, &states, rollout);
            }
        }
        bar.finish_and_clear();
        let halted = over(t.failed);
        let missed = if halted { 0 } else { t.pending };
        record.confirmed += t.confirmed;
        record.failed += t.failed;
        record.missed += missed;
        println!(
            "wave {}/{}: {size} device(s): {} confirmed, {} failed, {} missed ({:.1} s)",
            k + 1,
            waves.len(),
            t.confirmed,
            t.failed,
            missed,
            wave_started.elapsed().as_secs_f64()
        );
        if halted {
            // No device beyond this wave gets the package, and this wave's
            // devices still fetching it stop.
            for id in wave {
                let done =
                    states.get(id).and_then(|s| s.rollout).is_some_and(|r| r.rollout == rollout && r.phase.is_final());
                if !done {
                    broker.publish(topic::device(id, Leaf::Assign).as_str(), true, Vec::new()).await?;
                }
            }
            record.state = "halted".into();
            record.write(&mut broker, &args.group).await?;
            broker.flush().await?;
            for id in wave {
                if let Some(r) =
                    states.get(id).and_then(|s| s.rollout).filter(|r| r.rollout == rollout && r.phase.is_failure())
                {
                    println!("  {}: {}", hex::encode(id), super::phase_text(r.phase));
                }
            }
            eprintln!(
                "akira fleet: rollout {rollout} halted at wave {}: {} failure(s) in {size} device(s), more than --max-failures {} allows; {} device(s) never got it",
                k + 1,
                t.failed,
                args.max_failures,
                devices.len() - offset - size
            );
            return Ok(1);
        }
        offset += size;
    }
    record.state = "done".into();
    record.write(&mut broker, &args.group).await?;
    broker.flush().await?;
    println!(
        "rollout {rollout} done in {:.1} s: {} confirmed, {} failed, {} missed",
        started.elapsed().as_secs_f64(),
        record.confirmed,
        record.failed,
        record.missed
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waves_are_cumulative_and_never_empty() {
        assert_eq!(wave_sizes("1,10%,50%,100%", 200).unwrap(), vec![1, 19, 80, 100]);
        assert_eq!(wave_sizes("1,10%,50%,100%", 5).unwrap(), vec![1, 2, 2]);
        assert_eq!(wave_sizes("100%", 3).unwrap(), vec![3]);
        assert_eq!(wave_sizes("50%", 10).unwrap(), vec![5], "a staged rollout may stop short");
        assert!(wave_sizes("1,ten", 10).is_err());
        assert!(wave_sizes("150%", 10).is_err());
    }

    #[test]
    fn failure_limits() {
        let two_percent = parse_share("2%").unwrap();
        assert!(exceeds(two_percent, 1, 1), "a failed canary halts");
        assert!(!exceeds(two_percent, 2, 100));
        assert!(exceeds(two_percent, 3, 100));
        assert!(!exceeds(parse_share("0").unwrap(), 0, 50));
        assert!(exceeds(parse_share("0").unwrap(), 1, 50));
    }

    #[test]
    fn order_is_stable() {
        let mut a: Vec<DeviceId> = (0..50u8).map(|i| [i; 8]).collect();
        let mut b = a.clone();
        b.reverse();
        rollout_order(&mut a);
        rollout_order(&mut b);
        assert_eq!(a, b);
    }
}
