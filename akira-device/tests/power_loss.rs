//! Power cuts through the whole device loop: a device on the simulated
//! board (virtual time) takes an update over the protocol (install check
//! in the sandbox, start on trial, confirm after a healthy run), a
//! crash-looping update (rolled back), and an update on trial when the
//! device reboots (reverted at boot). Every flash write and erase of that
//! script is faulted in turn, as a power cut and as a driver failure, left
//! torn in the pattern whose turn it is; then the device reboots on that
//! flash and runs. It must come back with a state the script went
//! through, every image intact, and run the app's confirmed version, the
//! trial reverted, confirmed, never on trial; and take a new update. A
//! second cut during that reboot, at every write of it (a trial's revert),
//! is tried after every first cut.
//!
//! `cargo test -p akira-device --test power_loss -- --nocapture` prints how
//! many points were tried per geometry.

use std::time::Duration;

use akira_bridge::Board;
use akira_caps::manifest::AppName;
use akira_caps::scope::GpioScope;
use akira_caps::{Manifest, Policy, Version};
use akira_device::{Device, DeviceConfig};
use akira_ota::block_on;
use akira_ota::frame::{self, MAX_FRAME};
use akira_ota::package::{self, Rights, TrustPolicy, TrustedKey};
use akira_ota::protocol::{Request, Response};
use akira_ota::store::{AppRecord, BlockingFlash, Region, Store, StoreConfig};
use akira_ota::testing::{Fault, SimFlash, Tear};
use akira_sim::SimBoard;
use ed25519_dalek::SigningKey;

mod common;

use common::{BLINK, CRASH};

const KIB: usize = 1024;

fn key() -> SigningKey {
    SigningKey::from_bytes(&[5; 32])
}

fn package(wat: &str, minor: u16) -> Vec<u8> {
    let mut m = Manifest::new(AppName::try_from("led").unwrap(), Version::new(1, minor, 0));
    m.capabilities.gpio = Some(GpioScope::new(Default::default(), [2].into_iter().collect(), Default::default()));
    m.capabilities.timer = true;
    let mut wasm = wat::parse_str(wat).unwrap();
    wasm.extend(m.custom_section());
    package::build(&m, &wasm, Some(&key()))
}

fn config() -> DeviceConfig {
    DeviceConfig { confirm_after: Duration::from_secs(2), ..DeviceConfig::default() }
}

struct Rig<'t, const W: usize, const E: usize> {
    name: &'static str,
    sectors: usize,
    trust: &'t TrustPolicy<'t>,
}

type Dev<'t, const W: usize, const E: usize> = Device<'t, SimBoard, BlockingFlash<SimFlash<W, E>>>;

/// The store's apps: what a cut must leave as one of the script's states.
type Apps = Vec<AppRecord>;

impl<'t, const W: usize, const E: usize> Rig<'t, W, E> {
    fn open(
        &self,
        flash: SimFlash<W, E>,
    ) -> Result<Store<BlockingFlash<SimFlash<W, E>>>, akira_ota::store::StoreError> {
        block_on(Store::open(
            BlockingFlash(flash),
            Region { offset: 0, size: (self.sectors * E) as u32 },
            StoreConfig { meta_sectors: 2, slots: 4 },
        ))
    }

    /// Boots a device on `flash`; `None` if the store cannot be read (the
    /// power is off).
    fn boot(&self, flash: SimFlash<W, E>) -> Option<(Dev<'t, W, E>, SimBoard)> {
        let store = self.open(flash).ok()?;
        let board = SimBoard::virtual_time();
        let device = block_on(Device::new(
            store,
            akira_sim::runtime(Policy::development()),
            board.clone(),
            self.trust,
            config(),
            |_| {},
        ));
        Some((device, board))
    }

    /// Sends `pkg` as the host would; the device's last answer.
    fn push(device: &mut Dev<'t, W, E>, pkg: &[u8]) -> Option<Response> {
        let mut requests = vec![Request::Begin { size: pkg.len() as u32, id: [pkg.len() as u8; 32] }];
        for (i, chunk) in pkg.chunks(512).enumerate() {
            requests.push(Request::Chunk { offset: (i * 512) as u32, data: chunk });
        }
        let mut last = None;
        for r in &requests {
            let mut buf = [0u8; MAX_FRAME];
            let n = frame::encode(r, &mut buf).unwrap();
            let mut data = &buf[..n];
            while !data.is_empty() {
                let (used, reply) = block_on(device.receive(data, |_| {}));
                data = &data[used..];
                if let Some(mut f) = reply {
                    let len = f.len() - 1;
                    last = Some(frame::decode::<Response>(&mut f[..len]).unwrap());
                }
            }
        }
        last
    }

    fn run_for(device: &mut Dev<'t, W, E>, board: &SimBoard, d: Duration, states: &mut Vec<Apps>) {
        let end = board.now().saturating_add(d);
        while board.now() < end {
            let round = block_on(device.round(board.now(), |_| {}));
            note(states, device);
            if !round.busy {
                board.advance_to(round.next_wake.map_or(end, |w| w.min(end)));
            }
        }
    }

    /// The base: 1.1.0 installed and confirmed.
    fn base(&self) -> SimFlash<W, E> {
        let (mut device, board) = self.boot(SimFlash::new(self.sectors)).unwrap();
        Self::push(&mut device, &package(BLINK, 1));
        Self::run_for(&mut device, &board, Duration::from_secs(3), &mut Vec::new());
        assert!(device.store().app("led").unwrap().confirmed);
        device.into_store().into_flash().0
    }

    /// The script from the base; the store states it went through. Goes
    /// on after a fault (the device logs the store's errors) unless the
    /// reboot cannot read the store.
    fn script(&self, flash: SimFlash<W, E>) -> (SimFlash<W, E>, Vec<Apps>) {
        let mut states = Vec::new();
        let (mut device, board) = self.boot(flash).unwrap();
        note(&mut states, &device);
        // An update confirmed after its healthy run.
        Self::push(&mut device, &package(BLINK, 2));
        note(&mut states, &device);
        Self::run_for(&mut device, &board, Duration::from_secs(3), &mut states);
        // A crash-looping update, rolled back.
        Self::push(&mut device, &package(CRASH, 3));
        note(&mut states, &device);
        Self::run_for(&mut device, &board, Duration::from_secs(5), &mut states);
        // An update still on trial when the device reboots: reverted.
        Self::push(&mut device, &package(BLINK, 4));
        note(&mut states, &device);
        Self::run_for(&mut device, &board, Duration::from_millis(500), &mut states);
        let flash = device.into_store().into_flash().0;
        match self.boot(flash.clone()) {
            Some((mut device, board)) => {
                note(&mut states, &device);
                Self::run_for(&mut device, &board, Duration::from_millis(500), &mut states);
                (device.into_store().into_flash().0, states)
            }
            None => (flash, states),
        }
    }

    /// Reboots on a faulted flash and checks the device; returns whether
    /// the recovered store had a trial to revert.
    fn recover(&self, mut flash: SimFlash<W, E>, states: &[Apps], what: &str) -> bool {
        flash.power_on();
        let mut store = self.open(flash.clone()).unwrap_or_else(|e| panic!("{what}: reopen: {e}"));
        let recovered = store.apps().to_vec();
        assert!(states.contains(&recovered), "{what}: a state the script never went through:\n{recovered:#?}");
        for app in &recovered {
            for image in [Some(&app.active), app.previous.as_ref()].into_iter().flatten() {
                assert!(block_on(store.verify(image)).unwrap(), "{what}: {} corrupt", image.version);
            }
        }
        let led = recovered.iter().find(|a| a.name == "led").expect("the app is never lost");
        let expected = if led.confirmed { led.active.version } else { led.previous.as_ref().unwrap().version };
        let (mut device, board) = self.boot(flash).unwrap();
        Self::run_for(&mut device, &board, Duration::from_secs(3), &mut Vec::new());
        let app = device.store().app("led").unwrap();
        assert_eq!((app.active.version, app.confirmed), (expected, true), "{what}: runs the confirmed version");
        let running = device.scheduler().ids().filter(|id| device.scheduler().status(*id).is_some_and(|s| s.is_live()));
        assert_eq!(running.count(), 1, "{what}: the app runs");
        // Still takes updates.
        let r = Self::push(&mut device, &package(BLINK, 9));
        assert!(matches!(r, Some(Response::Installed { .. })), "{what}: update after recovery: {r:?}");
        let mut flash = device.into_store().into_flash().0;
        assert_eq!(flash.violations(), 0, "{what}: wrote over programmed flash");
        flash.power_on();
        !led.confirmed
    }

    fn sweep(&self) {
        let started = std::time::Instant::now();
        let base = self.base();
        let (done, states) = self.script(base.clone());
        let ops = done.ops() - base.ops();
        let (mut single, mut double, mut trials) = (0u64, 0u64, 0u64);
        for n in 1..=ops {
            let tear = Tear::ALL[n as usize % Tear::ALL.len()];
            for fault in [Fault::PowerCut, Fault::Failure] {
                let what = format!("{}: op {n} of {ops}, {fault:?}, {tear:?}", self.name);
                let mut flash = base.clone();
                flash.fault_after(n, fault, tear);
                let (flash, _) = self.script(flash);
                trials += u64::from(self.recover(flash.clone(), &states, &what));
                single += 1;
                if fault == Fault::PowerCut {
                    // A second cut at every write of the reboot (the trial's
                    // revert or boot count, if there is one).
                    let mut first = flash.clone();
                    first.power_on();
                    let reboot = {
                        let before = first.ops();
                        let (mut device, board) = self.boot(first.clone()).unwrap();
                        Self::run_for(&mut device, &board, Duration::from_secs(3), &mut Vec::new());
                        device.into_store().into_flash().0.ops() - before
                    };
                    for m in 1..=reboot {
                        let mut twice = first.clone();
                        twice.fault_after(m, Fault::PowerCut, Tear::ALL[(n + m) as usize % Tear::ALL.len()]);
                        if let Some((mut device, board)) = self.boot(twice.clone()) {
                            Self::run_for(&mut device, &board, Duration::from_secs(3), &mut Vec::new());
                            twice = device.into_store().into_flash().0;
                        }
                        let mut seen = states.to_vec();
                        seen.extend(reverted(&states));
                        self.recover(twice, &seen, &format!("{what}, then at reboot op {m} of {reboot}"));
                        double += 1;
                    }
                }
            }
        }
        eprintln!(
            "device-loop power-loss sweep [{}]: {single} single fault points ({ops} ops x power cut and driver \
             failure; {trials} left a trial to revert) and {double} double cut points tried, all recovered ({:.1} s)",
            self.name,
            started.elapsed().as_secs_f64()
        );
        assert!(ops > 10 && double > 0 && trials > 0, "{ops} {double} {trials}");
    }
}

/// Records the store's apps if they changed.
fn note<const W: usize, const E: usize>(states: &mut Vec<Apps>, device: &Dev<'_, W, E>) {
    let apps = device.store().apps().to_vec();
    if states.last() != Some(&apps) {
        states.push(apps);
    }
}

/// The states a boot reaches from the script's states: every trial
/// counted once more, or reverted.
fn reverted(states: &[Apps]) -> Vec<Apps> {
    let mut out = Vec::new();
    for apps in states {
        let mut counted = apps.clone();
        let mut rolled = apps.clone();
        for (c, r) in counted.iter_mut().zip(rolled.iter_mut()) {
            if !c.confirmed {
                c.trial_boots = c.trial_boots.saturating_add(1);
                if let Some(p) = r.previous.take() {
                    r.active = p;
                    r.confirmed = true;
                    r.trial_boots = 0;
                }
            }
        }
        out.push(counted);
        out.push(rolled);
    }
    out
}

fn trust_with<R>(f: impl FnOnce(&TrustPolicy<'_>) -> R) -> R {
    let policy = Policy::development();
    let keys = [TrustedKey {
        name: "k",
        public_key: key().verifying_key().to_bytes(),
        policy: &policy,
        rights: Rights::OWNER,
    }];
    f(&TrustPolicy { keys: &keys, ..TrustPolicy::default() })
}

#[test]
fn sweep_device_loop_4k_sectors() {
    trust_with(|trust| {
        Rig::<4, { 4 * KIB }> { name: "4-byte words, 4 KiB sectors", sectors: 2 + 4 * 4, trust }.sweep()
    });
}

#[test]
fn sweep_device_loop_128k_sectors() {
    trust_with(|trust| {
        Rig::<32, { 128 * KIB }> { name: "32-byte units, 128 KiB sectors", sectors: 2 + 4, trust }.sweep()
    });
}
