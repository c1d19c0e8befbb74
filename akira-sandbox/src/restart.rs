//! Restart policy: what happens after an app faults.
//!
//! A faulted app is restarted after a backoff that doubles with each
//! consecutive fault; an app that faults too often within a window is in a
//! crash loop and is not restarted again (the OTA store uses this to roll
//! back to the previous version). An app that ran long enough without
//! faulting is healthy again: its backoff and fault count reset.

use core::time::Duration;

use akira_bridge::Instant;

/// When to restart an app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Restart {
    /// Never: a fault or exit ends the app.
    Never,
    /// After a fault, not after a normal exit.
    OnFault,
    /// After a fault or an exit (a service that must keep running).
    Always,
}

/// How and how often a faulted app is restarted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RestartPolicy {
    /// When to restart.
    pub restart: Restart,
    /// Delay before the first restart; doubles per consecutive fault.
    pub initial_backoff: Duration,
    /// Longest delay between restarts.
    pub max_backoff: Duration,
    /// This many faults within `crash_loop_window` is a crash loop.
    pub crash_loop_faults: u32,
    /// The window for counting faults.
    pub crash_loop_window: Duration,
    /// An app that runs this long without faulting is healthy again.
    pub healthy_after: Duration,
}

impl Default for RestartPolicy {
    /// Restart on fault after 100 ms, doubling up to 10 s; 5 faults within
    /// 60 s is a crash loop; 30 s without a fault resets.
    fn default() -> Self {
        RestartPolicy {
            restart: Restart::OnFault,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            crash_loop_faults: 5,
            crash_loop_window: Duration::from_secs(60),
            healthy_after: Duration::from_secs(30),
        }
    }
}

impl RestartPolicy {
    /// A policy that never restarts.
    pub const fn never() -> Self {
        RestartPolicy {
            restart: Restart::Never,
            initial_backoff: Duration::ZERO,
            max_backoff: Duration::ZERO,
            crash_loop_faults: u32::MAX,
            crash_loop_window: Duration::ZERO,
            healthy_after: Duration::ZERO,
        }
    }
}

/// What to do with an app that stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Decision {
    /// Restart it at this time.
    RestartAt(Instant),
    /// Leave it stopped.
    Stop,
    /// It is in a crash loop: leave it stopped and tell the firmware (the
    /// OTA store rolls back on this).
    CrashLoop {
        /// Faults counted in the window.
        faults: u32,
    },
}

/// Applies a [`RestartPolicy`] to one app's history.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Supervisor {
    policy: RestartPolicy,
    started: Instant,
    window_start: Instant,
    faults_in_window: u32,
    backoff: Duration,
}

impl Supervisor {
    /// A supervisor for an app started at `now`.
    pub fn new(policy: RestartPolicy, now: Instant) -> Self {
        Supervisor { policy, started: now, window_start: now, faults_in_window: 0, backoff: policy.initial_backoff }
    }

    /// The policy.
    pub fn policy(&self) -> &RestartPolicy {
        &self.policy
    }

    /// Records a (re)start at `now`.
    pub fn started(&mut self, now: Instant) {
        self.started = now;
    }

    /// Faults counted in the current window.
    pub fn faults(&self) -> u32 {
        self.faults_in_window
    }

    /// Records a fault at `now` and decides what happens next.
    pub fn fault(&mut self, now: Instant) -> Decision {
        let p = self.policy;
        if now.saturating_since(self.started) >= p.healthy_after {
            // It ran long enough to count as healthy: forget the past.
            self.backoff = p.initial_backoff;
            self.faults_in_window = 0;
            self.window_start = now;
        }
        if now.saturating_since(self.window_start) > p.crash_loop_window {
            self.faults_in_window = 0;
            self.window_start = now;
        }
        self.faults_in_window = self.faults_in_window.saturating_add(1);
        if p.restart == Restart::Never {
            return Decision::Stop;
        }
        if self.faults_in_window >= p.crash_loop_faults {
            return Decision::CrashLoop { faults: self.faults_in_window };
        }
        let at = now.saturating_add(self.backoff);
        self.backoff = (self.backoff * 2).min(p.max_backoff);
        Decision::RestartAt(at)
    }

    /// Decides what happens after a normal exit at `now`.
    pub fn exited(&mut self, now: Instant) -> Decision {
        match self.policy.restart {
            Restart::Always => Decision::RestartAt(now.saturating_add(self.policy.initial_backoff)),
            Restart::Never | Restart::OnFault => Decision::Stop,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Instant {
        Instant::from_micros(ms * 1000)
    }

    #[test]
    fn backoff_doubles_then_crash_loop() {
        let mut s = Supervisor::new(RestartPolicy::default(), at(0));
        assert_eq!(s.fault(at(10)), Decision::RestartAt(at(110)));
        s.started(at(110));
        assert_eq!(s.fault(at(120)), Decision::RestartAt(at(320)));
        s.started(at(320));
        assert_eq!(s.fault(at(330)), Decision::RestartAt(at(730)));
        s.started(at(730));
        assert_eq!(s.fault(at(740)), Decision::RestartAt(at(1540)));
        s.started(at(1540));
        assert_eq!(s.fault(at(1550)), Decision::CrashLoop { faults: 5 });
    }

    #[test]
    fn backoff_is_capped() {
        let policy = RestartPolicy { crash_loop_faults: 100, ..Default::default() };
        let mut s = Supervisor::new(policy, at(0));
        let mut last = Duration::ZERO;
        for i in 0..20 {
            let now = at(i);
            match s.fault(now) {
                Decision::RestartAt(t) => last = t.saturating_since(now),
                d => panic!("{d:?}"),
            }
        }
        assert_eq!(last, Duration::from_secs(10));
    }

    #[test]
    fn healthy_run_resets_history() {
        let mut s = Supervisor::new(RestartPolicy::default(), at(0));
        for i in 0..4 {
            assert!(matches!(s.fault(at(i)), Decision::RestartAt(_)));
        }
        s.started(at(10));
        // 30 s of healthy running: the fifth fault is not a crash loop and
        // the backoff is back to 100 ms.
        assert_eq!(s.fault(at(30_010)), Decision::RestartAt(at(30_110)));
        assert_eq!(s.faults(), 1);
    }

    #[test]
    fn faults_outside_the_window_do_not_count() {
        let policy = RestartPolicy { healthy_after: Duration::MAX, ..Default::default() };
        let mut s = Supervisor::new(policy, at(0));
        for i in 0..4 {
            s.fault(at(i));
        }
        assert!(matches!(s.fault(at(61_000)), Decision::RestartAt(_)));
        assert_eq!(s.faults(), 1);
    }

    #[test]
    fn never_and_always() {
        let mut s = Supervisor::new(RestartPolicy::never(), at(0));
        assert_eq!(s.fault(at(1)), Decision::Stop);
        assert_eq!(s.exited(at(1)), Decision::Stop);
        let policy = RestartPolicy { restart: Restart::Always, ..Default::default() };
        let mut s = Supervisor::new(policy, at(0));
        assert_eq!(s.exited(at(1)), Decision::RestartAt(at(101)));
    }
}
