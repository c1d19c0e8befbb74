//! `valve-demo APP.wasm`: runs an app on a host board with two valves, the
//! built-in `log`, `timer` and `sys` modules, and `acme:valve` linked beside
//! them, the way a firmware would. The device policy lets apps have valves
//! 0 and 1; each app gets only what its manifest asks for.
//!
//! Exit code: the app's exit code; 4 when the app is refused at install;
//! 2 for usage errors.

use std::cell::RefCell;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use acme_valve::{NAME, ValveModule, Valves};
use akira_bridge::akira_caps::Policy;
use akira_bridge::akira_caps::scope::VendorScope;
use akira_bridge::{AppInfo, Board, Bridge, Errno, Instant, Level, Log, Sys, Timer, Trace};
use akira_sandbox::{Event, RestartPolicy, Runtime, RuntimeConfig, Scheduler};

/// The firmware's board: a clock, a console, and two valves.
#[derive(Clone)]
struct Plant {
    started: std::time::Instant,
    valves: Rc<RefCell<[bool; 2]>>,
}

impl Plant {
    fn stamp(&self) -> String {
        format!("[{:8.3}]", self.started.elapsed().as_secs_f64())
    }
}

impl Board for Plant {
    fn now(&self) -> Instant {
        Instant::from_micros(self.started.elapsed().as_micros() as u64)
    }

    fn log(&mut self, app: &AppInfo, level: Level, message: &str) {
        println!("{} {} {level}: {message}", self.stamp(), app.name.as_str());
    }

    fn trace(&mut self, app: &AppInfo, event: Trace<'_>) {
        if let Trace::Denied(denial) = event {
            println!("{} {} DENIED {denial}", self.stamp(), app.name.as_str());
        }
    }
}

impl Valves for Plant {
    fn set_valve(&mut self, valve: u32, open: bool) -> Result<(), Errno> {
        *self.valves.borrow_mut().get_mut(valve as usize).ok_or(Errno::NoSuchResource)? = open;
        println!("{} valve {valve} {}", self.stamp(), if open { "OPEN" } else { "closed" });
        Ok(())
    }

    fn valve_is_open(&mut self, valve: u32) -> Result<bool, Errno> {
        self.valves.borrow().get(valve as usize).copied().ok_or(Errno::NoSuchResource)
    }
}

/// What this device lets any app have: valves 0 and 1, the console, the
/// timer, `sys`.
fn policy() -> Policy {
    let mut policy = Policy::deny_all();
    policy.max_memory = 1024 * 1024;
    policy.max_cpu_budget = 10_000_000;
    policy.allow.log = true;
    policy.allow.timer = true;
    policy.allow.sys = true;
    let valves = VendorScope { name: NAME.try_into().expect("a vendor name"), ids: [0, 1].into_iter().collect() };
    policy.allow.vendor.push(valves).expect("one vendor capability");
    policy
}

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: valve-demo APP.wasm   (build one with `akira build examples/custom-module/app`)");
        return ExitCode::from(2);
    };
    let wasm = match std::fs::read(&path) {
        Ok(wasm) => wasm,
        Err(e) => {
            eprintln!("cannot read {}: {e}", path.to_string_lossy());
            return ExitCode::from(2);
        }
    };
    // The built-in modules this board offers, and the team's own.
    let bridge = Bridge::new().with(Log).and_then(|b| b.with(Timer)).and_then(|b| b.with(Sys));
    let bridge = match bridge.and_then(|b| b.with(ValveModule)) {
        Ok(bridge) => bridge,
        Err(e) => unreachable!("module names are distinct: {e}"),
    };
    let runtime = Runtime::new(RuntimeConfig::default(), bridge, policy());
    let app = match runtime.load(&wasm) {
        Ok(app) => app,
        Err(e) => {
            eprintln!("refused: {e}");
            return ExitCode::from(4);
        }
    };
    let plant = Plant { started: std::time::Instant::now(), valves: Rc::default() };
    let mut scheduler = Scheduler::new(runtime);
    if let Err(e) = scheduler.spawn(app, plant.clone(), RestartPolicy::never()) {
        eprintln!("refused: {e}");
        return ExitCode::from(4);
    }
    let mut status = 0;
    loop {
        let round = scheduler.poll(plant.now(), |app, event| match event {
            Event::Exited(code) => {
                println!("{} {} exited with {code}", plant.stamp(), app.name.as_str());
                status = *code;
            }
            Event::Faulted(fault) => {
                println!("{} {} FAULT {fault}", plant.stamp(), app.name.as_str());
                status = 1;
            }
            _ => {}
        });
        if round.live == 0 {
            break;
        }
        if !round.busy {
            let wait = round.next_wake.map_or(Duration::from_millis(10), |at| at.saturating_since(plant.now()));
            std::thread::sleep(wait);
        }
    }
    println!("valves at the end: {:?}", plant.valves.borrow());
    ExitCode::from(u8::try_from(status).unwrap_or(1))
}
