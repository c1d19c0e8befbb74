//! Running apps on the simulated board until they stop or time runs out.

use std::collections::VecDeque;
use std::time::Duration;

use akira_bridge::{Board, Instant, Lifecycle};
use akira_sandbox::{AppId, Event, LoadError, LoadedApp, RestartPolicy, Runtime, Scheduler};

use crate::board::SimBoard;
use crate::record::What;

/// How long a scripted button press holds the pin low.
pub const PRESS: Duration = Duration::from_millis(50);

/// How far board time moves per round while sockets are open.
const NET_STEP: Duration = Duration::from_millis(1);

/// How fast the simulated CPU runs apps on virtual time: fuel (about one
/// wasm instruction, host calls charged as their cost says) per
/// microsecond. 10 is about wasmi on a 240 MHz Xtensa or RISC-V core; an
/// nRF52 at 64 MHz manages about 2 ([`Simulation::set_cpu_speed`]).
pub const CPU_FUEL_PER_US: u64 = 10;

/// Why [`Simulation::run`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// Every app exited or was stopped for good.
    AllStopped,
    /// The time limit was reached with apps still live.
    TimeLimit,
    /// Every live app waits for an input the script will never give (on a
    /// shared air: nothing is left to happen on any device nor the air).
    Stalled,
    /// The board lost the shared air it joined ([`Simulation::air_error`]
    /// says why).
    AirLost,
}

/// Something the script does to the board.
enum Input {
    /// Sets an input pin's level.
    Pin { pin: u32, high: bool },
    /// Bytes arrive on a serial port.
    Uart { port: u32, bytes: Vec<u8> },
    /// The scripted GATT central acts.
    Central(crate::ble::CentralOp),
}

/// Apps on a simulated board, with a script of input changes.
pub struct Simulation {
    scheduler: Scheduler<SimBoard>,
    board: SimBoard,
    script: VecDeque<(Instant, Input)>,
    /// Fuel per microsecond of virtual time.
    cpu_fuel_per_us: u64,
    /// Fuel used that has not yet made a whole microsecond.
    cpu_fuel_carry: u64,
}

impl Simulation {
    /// A simulation of `runtime`'s apps on `board`.
    /// Apps are spawned only if their storage quotas fit the board's store
    /// together ([`Scheduler::set_storage_capacity`]).
    pub fn new(runtime: Runtime<SimBoard>, board: SimBoard) -> Simulation {
        let mut scheduler = Scheduler::new(runtime);
        if let Ok(capacity) = akira_bridge::KvStore::capacity(&mut board.clone()) {
            scheduler.set_storage_capacity(capacity);
        }
        Simulation { scheduler, board, script: VecDeque::new(), cpu_fuel_per_us: CPU_FUEL_PER_US, cpu_fuel_carry: 0 }
    }

    /// Sets how fast the simulated CPU runs apps on virtual time, in fuel
    /// per microsecond (default [`CPU_FUEL_PER_US`]; at least 1). On
    /// virtual time, while apps keep the CPU busy (an app's slice ended,
    /// it yielded or slept zero: it could run on), the board's clock
    /// moves by the fuel they use ([`akira_sandbox::Round::busy_fuel`]),
    /// so an app that computes, loops on host calls, yields or sleeps zero
    /// takes time as it would on a device, and the other apps' timing
    /// shows what it costs them. Work that ends in a wait for an event
    /// takes no time: the clock jumps to the next event (runs of
    /// well-behaved apps keep exact times).
    pub fn set_cpu_speed(&mut self, fuel_per_us: u64) {
        self.cpu_fuel_per_us = fuel_per_us.max(1);
    }

    /// The virtual time `fuel` takes the simulated CPU, in whole
    /// microseconds (the rest is carried to the next round); zero on
    /// real time, which passes by itself.
    fn cpu_time(&mut self, fuel: u64) -> Duration {
        if !self.board.is_virtual() {
            return Duration::ZERO;
        }
        let fuel = self.cpu_fuel_carry.saturating_add(fuel);
        self.cpu_fuel_carry = fuel % self.cpu_fuel_per_us;
        Duration::from_micros(fuel / self.cpu_fuel_per_us)
    }

    /// The board.
    pub fn board(&self) -> &SimBoard {
        &self.board
    }

    /// The scheduler, for statuses and usage figures.
    pub fn scheduler(&self) -> &Scheduler<SimBoard> {
        &self.scheduler
    }

    /// Adds an app; it starts in the next round.
    pub fn spawn(&mut self, app: LoadedApp, policy: RestartPolicy) -> Result<AppId, LoadError> {
        let id = self.scheduler.spawn(app, self.board.clone(), policy)?;
        if let Some(info) = self.scheduler.info(id) {
            let info = info.clone();
            self.board.record(Some(&info), What::Started);
        }
        Ok(id)
    }

    /// Serves `akira:app`'s table (from [`crate::bridge_with_apps`]): apps
    /// granted `app` can then start and stop the others.
    pub fn serve_apps(&mut self, table: &'static dyn Lifecycle) {
        self.scheduler.set_lifecycle(table);
    }

    /// Stops and removes an app; `false` if there is none.
    pub fn remove(&mut self, id: AppId) -> bool {
        self.scheduler.remove(id)
    }

    fn schedule(&mut self, at: Duration, input: Input) {
        let at = Instant::ZERO.saturating_add(at);
        let pos = self.script.iter().position(|(t, ..)| *t > at).unwrap_or(self.script.len());
        self.script.insert(pos, (at, input));
    }

    /// Sets input `pin` to `high` at time `at` (since the board started).
    pub fn set_input_at(&mut self, pin: u32, high: bool, at: Duration) {
        self.schedule(at, Input::Pin { pin, high });
    }

    /// Sends `bytes` to serial port `port` at time `at`: a suspended
    /// `uart.read` on that port completes.
    pub fn uart_input_at(&mut self, port: u32, bytes: &[u8], at: Duration) {
        self.schedule(at, Input::Uart { port, bytes: bytes.to_vec() });
    }

    /// Has the simulated GATT central ("the phone") do `op` at time `at`
    /// (see [`crate::ble`]).
    pub fn gatt_client_at(&mut self, op: crate::ble::CentralOp, at: Duration) {
        self.schedule(at, Input::Central(op));
    }

    /// Presses the button on `pin` at `at` for [`PRESS`].
    pub fn press(&mut self, pin: u32, at: Duration) {
        self.set_input_at(pin, false, at);
        self.set_input_at(pin, true, at + PRESS);
    }

    /// Why the board lost the shared air it joined, after
    /// [`End::AirLost`].
    pub fn air_error(&self) -> Option<crate::air::AirError> {
        self.board.air_error()
    }

    /// Runs until every app stopped, the script and the apps have nothing
    /// left to do, or `limit` (board time) passes.
    ///
    /// On a shared air ([`SimBoard::join_air`]) time moves as its hub says
    /// (see [`crate::air`]): at each instant the board runs when its turn
    /// comes, and then tells the hub its next event; the board leaves the
    /// air when this returns.
    pub fn run(&mut self, limit: Option<Duration>) -> End {
        let end = self.run_rounds(limit);
        self.board.with_link(crate::air::Link::leave);
        end
    }

    fn run_rounds(&mut self, limit: Option<Duration>) -> End {
        let limit = limit.map(|l| Instant::ZERO.saturating_add(l));
        let on_air = self.board.on_air();
        // On a shared air, each instant starts with the hub's turn.
        let mut wait_turn = on_air;
        loop {
            if wait_turn {
                wait_turn = false;
                match self.board.with_link(crate::air::Link::turn) {
                    Some(Ok(crate::air::Turn::Run(t))) => self.board.advance_to(t),
                    Some(Ok(crate::air::Turn::Stalled)) => return End::Stalled,
                    Some(Ok(crate::air::Turn::TimeLimit)) => return End::TimeLimit,
                    Some(Err(_)) | None => return End::AirLost,
                }
            }
            let now = self.board.now();
            while self.script.front().is_some_and(|(at, _)| *at <= now) {
                let Some((_, input)) = self.script.pop_front() else { break };
                // Script pins and ports were checked when the script was
                // made; a bad one is reported, not fatal.
                match input {
                    Input::Pin { pin, high } => {
                        if let Err(e) = self.board.set_input(pin, high) {
                            self.board.record(None, What::Note(format!("script: gpio {pin}: {e}")));
                        }
                    }
                    Input::Uart { port, bytes } => {
                        if let Err(e) = self.board.uart_input(port, &bytes) {
                            self.board.record(None, What::Note(format!("script: uart {port}: {e}")));
                        }
                    }
                    Input::Central(op) => self.board.gatt_central(&op),
                }
            }
            if limit.is_some_and(|l| now >= l) {
                return End::TimeLimit;
            }
            let board = self.board.clone();
            let arrivals = board.arrivals();
            let activity = self.scheduler.runtime().bridge().activity();
            let round = self.scheduler.poll(now, |info, event| {
                let what = match event {
                    Event::Started => What::Started,
                    Event::Stopped => What::Stopped,
                    Event::Exited(code) => What::Exited(*code),
                    Event::Faulted(fault) => What::Faulted(fault.to_string()),
                    Event::Restarting(at) => What::Restarting(*at),
                    Event::CrashLoop { faults } => What::CrashLoop(*faults),
                    Event::RestartFailed(e) => What::Faulted(format!("restart failed: {e}")),
                    _ => return,
                };
                board.record(Some(info), what);
            });
            if round.live == 0 {
                return End::AllStopped;
            }
            if on_air && self.board.air_error().is_some() {
                return End::AirLost;
            }
            // Bytes that arrived during the round (a loopback) or messages
            // published by an app may complete a wait: run another round
            // before time moves. While apps keep the CPU busy (their slice
            // ended, they yielded or slept zero), time moves by the fuel
            // they use (off the air at once; on the air the hub moves time,
            // so the turn ends once the CPU spent a microsecond); the rest
            // takes no time, and the clock jumps to the next event.
            let busy = round.busy
                || self.board.arrivals() != arrivals
                || self.scheduler.runtime().bridge().activity() != activity;
            let spent = self.cpu_time(round.busy_fuel);
            if busy && !on_air {
                self.board.advance_to(now.saturating_add(spent));
            }
            if busy && (!on_air || spent.is_zero()) {
                continue;
            }
            let air = self.board.next_air_event();
            let mut next = if busy {
                Some(now.saturating_add(spent))
            } else {
                [round.next_wake, self.script.front().map(|(t, ..)| *t), air, limit].into_iter().flatten().min()
            };
            if self.board.open_sockets() > 0 {
                // The network runs on real time: let 1 ms of it pass for
                // the host's sockets, and no more than that of board time.
                std::thread::sleep(NET_STEP);
                let step = now.saturating_add(NET_STEP);
                next = Some(next.map_or(step, |t| t.min(step)));
            }
            if on_air {
                // The hub moves time: to this board's next event at the
                // latest, earlier if something happens on the air.
                if self.board.with_link(|l| l.done(next)).is_none_or(|r| r.is_err()) {
                    return End::AirLost;
                }
                wait_turn = true;
                continue;
            }
            match next {
                Some(t) => self.board.advance_to(t),
                None => return End::Stalled,
            }
        }
    }
}
