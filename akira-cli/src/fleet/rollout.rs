//! `akira fleet rollout`: waves of devices, each gated on the devices'
//! own verdict (confirmed after a healthy trial, or rolled back / refused),
//! halted when a wave's failures pass `--max-failures`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use akira_fleet::message::{Phase, State};
use akira_fleet::topic::{self, Leaf};
use akira_ota::command::DeviceId;
use clap::{Args, ValueEnum};
use sha2::{Digest, Sha256};

use super::owner::Owner;
use super::record::{Command, FORMAT, LEASE, Record, RolloutState, client_name, unix_now};
use super::{Broker, BrokerArgs, Package, control, read_states};
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
    /// Give a wave's devices this long to finish; those that did not
    /// (offline, or too slow) are reported as missed, and `--missed` says
    /// what becomes of them.
    #[arg(long, value_name = "DURATION", value_parser = crate::parse_duration, default_value = "5m")]
    wave_timeout: Duration,
    /// What becomes of a wave's missed devices: `keep` their assignment
    /// (they take the version when they come back) or `withdraw` it (they
    /// stay as they are; a later rollout brings them up to date).
    #[arg(long, value_enum, default_value_t = Missed::Keep)]
    missed: Missed,
    /// Bytes per chunk message in the broker.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u32).range(512..=4096))]
    chunk: u32,
}

/// The `--missed` policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Missed {
    /// The assignment stays retained: the device takes the version when it
    /// is back.
    Keep,
    /// The assignment is withdrawn when the wave ends.
    Withdraw,
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

/// Runs (or continues) a rollout; exit code 0 when every wave passed, 1
/// when it halted or was aborted.
pub async fn rollout(args: RolloutArgs) -> Result<u8, Failure> {
    let limit = parse_share(&args.max_failures).ok_or_else(|| {
        Failure::Usage(format!("--max-failures {}: expected a count or a share like 2%", args.max_failures))
    })?;
    let pkg = Package::read(&args.package, args.chunk)?;
    let mut broker = Broker::connect(&args.broker).await?;
    let existing = Record::read(&mut broker, &args.group).await?;
    if let Some(r) = existing.as_ref().filter(|r| r.is_held()) {
        return Err(Failure::Usage(format!(
            "group {}: rollout {} is {} (held by {}, written {} s ago); wait for it, or {} s after its owner stops",
            args.group,
            r.rollout,
            r.state,
            r.owner,
            unix_now().saturating_sub(r.heartbeat),
            LEASE.as_secs()
        )));
    }
    let resume = existing.filter(|r| r.state.is_live() && r.package == hex::encode(pkg.id));

    pkg.publish(&mut broker).await?;
    let states = read_states(&mut broker).await?;
    let mut devices: Vec<DeviceId> =
        states.iter().filter(|(_, s)| s.group.as_str() == args.group).map(|(id, _)| *id).collect();
    if devices.is_empty() {
        return Err(Failure::Usage(format!("group {}: no devices in the broker", args.group)));
    }
    rollout_order(&mut devices);
    let record = match resume.filter(|r| r.waves.iter().sum::<usize>() <= devices.len()) {
        Some(r) => {
            println!("continuing rollout {} at wave {} of {} ({})", r.rollout, r.wave + 1, r.waves.len(), r.state);
            Record { owner: client_name(), ..r }
        }
        None => Record {
            format: FORMAT,
            rollout: (unix_now() & 0xffff_ffff) as u32,
            package: hex::encode(pkg.id),
            app: pkg.app.to_string(),
            version: pkg.version.to_string(),
            waves: wave_sizes(&args.waves, devices.len())?,
            wave: 0,
            state: RolloutState::Running,
            confirmed: 0,
            failed: 0,
            missed: 0,
            owner: client_name(),
            heartbeat: 0,
        },
    };
    let (rollout, first, waves) = (record.rollout, record.wave, record.waves.clone());
    let mut owner = Owner::claim(broker, &args.group, record, states).await?;
    let payload = pkg.assignment(rollout)?;
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
        // Between waves a pause holds (the record names the wave to
        // come), and an abort ends the rollout.
        if owner.record.wave != k {
            owner.record.wave = k;
            owner.write().await?;
        }
        if owner.hold().await? {
            return owner.abort().await;
        }
        let wave = &devices[offset..offset + size];
        owner.record.state = RolloutState::Running;
        owner.write().await?;
        for id in wave {
            owner.broker.publish(topic::device(id, Leaf::Assign).as_str(), true, payload.clone()).await?;
        }
        owner.broker.flush().await?;
        let over = |failed| exceeds(limit, failed, size);
        let wave_started = Instant::now();
        let bar = indicatif::ProgressBar::new(size as u64).with_style(
            indicatif::ProgressStyle::with_template("wave {msg} [{bar:30}] {pos}/{len} done")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message(format!("{}/{}", k + 1, waves.len()));
        let deadline = wave_started + args.wave_timeout;
        let mut soak_end = None;
        // Until every device is done, the wave fails, or its time is up;
        // then through the soak (failures still count). A pause lets the
        // wave finish; an abort stops it.
        let t = loop {
            let t = tally(wave, &owner.states, rollout);
            bar.set_position((t.confirmed + t.failed) as u64);
            let finished = t.pending == 0 || Instant::now() >= deadline;
            if over(t.failed) || (finished && (args.soak.is_zero() || k + 1 == waves.len())) {
                break t;
            }
            if finished {
                let end = *soak_end.get_or_insert_with(|| Instant::now() + args.soak);
                if Instant::now() >= end {
                    break t;
                }
            }
            if owner.tick().await? == Some(Command::Abort) {
                bar.finish_and_clear();
                return owner.abort().await;
            }
        };
        bar.finish_and_clear();
        let halted = over(t.failed);
        let missed = if halted { 0 } else { t.pending };
        owner.record.confirmed += t.confirmed;
        owner.record.failed += t.failed;
        owner.record.missed += missed;
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
            control::withdraw_unfinished(&mut owner.broker, &mut owner.states, rollout).await?;
            owner.record.state = RolloutState::Halted;
            owner.write().await?;
            owner.broker.flush().await?;
            for id in wave {
                if let Some(r) = owner
                    .states
                    .get(id)
                    .and_then(|s| s.rollout)
                    .filter(|r| r.rollout == rollout && r.phase.is_failure())
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
        if missed > 0 && args.missed == Missed::Withdraw {
            let n = control::withdraw_unfinished(&mut owner.broker, &mut owner.states, rollout).await?;
            println!("  {n} missed device(s): assignment withdrawn (--missed withdraw)");
        }
        offset += size;
    }
    owner.record.state = RolloutState::Done;
    owner.write().await?;
    owner.broker.flush().await?;
    println!(
        "rollout {rollout} done in {:.1} s: {} confirmed, {} failed, {} missed",
        started.elapsed().as_secs_f64(),
        owner.record.confirmed,
        owner.record.failed,
        owner.record.missed
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
