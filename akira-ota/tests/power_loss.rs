//! Power-loss sweep, MCUboot-style: every operation of the store (install,
//! update, replacing a trial, confirm, rollback, uninstall, a trial's boot
//! count and its revert at boot) is cut at every write and erase it makes,
//! on each flash geometry the boards use. After each fault the store must
//! come back to the old or the new state (never a mix, never corrupt), keep
//! every image intact, never write to unerased flash, and go on working.
//!
//! Each fault point is tried as a power cut (then a reopen, as after a
//! reboot) and as a program or erase failure reported by the driver (the
//! same store goes on, then reopens); each leaves the interrupted write or
//! erase torn in one of the [`Tear`] patterns, taken in turn from one
//! point to the next (`AKIRA_POWER_SWEEP=soak` tries every pattern at
//! every point). A second cut during the recovery and the next operation
//! is tried exhaustively on a subset.
//!
//! `cargo test -p akira-ota --features std --test power_loss -- --nocapture`
//! prints how many points were tried per geometry.

#![cfg(feature = "std")]

use akira_caps::Version;
use akira_caps::manifest::AppName;
use akira_ota::store::{Allow, AppRecord, BlockingStore, Floor, Region, StoreConfig, StoreError};
use akira_ota::testing::{Fault, SimFlash, Tear};

const SLOTS: u32 = 5;

/// A flash geometry a board uses, and the store laid on it.
struct Geometry {
    name: &'static str,
    /// `(count, bytes)` runs of erase sectors.
    sectors: &'static [(usize, usize)],
}

const KIB: usize = 1024;

/// Whether to try every tear pattern and fault kind at every point.
fn soak() -> bool {
    std::env::var("AKIRA_POWER_SWEEP").is_ok_and(|v| v == "soak")
}

struct Rig<const W: usize, const E: usize> {
    geometry: Geometry,
}

type Logical = (Vec<AppRecord>, Vec<Floor>);

fn name(n: &str) -> AppName {
    AppName::try_from(n).unwrap()
}

fn v(minor: u16) -> Version {
    Version::new(1, minor, 0)
}

fn image(seed: u8, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i as u32).wrapping_mul(2_654_435_761).rotate_left(u32::from(seed)) as u8 ^ seed).collect()
}

type Store<const W: usize, const E: usize> = BlockingStore<SimFlash<W, E>>;

/// Installs `len` bytes of `app`; on an error the staged image is dropped
/// (as the protocol session does).
fn install<const W: usize, const E: usize>(
    store: &mut Store<W, E>,
    app: &str,
    version: Version,
    seed: u8,
    len: usize,
) -> Result<(), StoreError> {
    let mut s = store.begin(&name(app), version, len as u32, None, Allow::default())?;
    for chunk in image(seed, len).chunks(1000) {
        if let Err(e) = store.write(&mut s, chunk) {
            store.abort(s);
            return Err(e);
        }
    }
    store.commit(s).map(|_| ())
}

/// The part of the state a fault must leave either before or after.
fn logical<const W: usize, const E: usize>(store: &Store<W, E>) -> Logical {
    (store.state().apps.to_vec(), store.state().floors.to_vec())
}

type Scenario<const W: usize, const E: usize> = (&'static str, fn(&mut Store<W, E>) -> Result<(), StoreError>);

impl<const W: usize, const E: usize> Rig<W, E> {
    const SCENARIOS: [Scenario<W, E>; 8] = [
        ("install a new app", |s| install(s, "c", v(1), 4, 7000)),
        ("update a confirmed app", |s| install(s, "b", v(2), 5, 11000)),
        ("replace a version on trial", |s| install(s, "a", v(3), 6, 3000)),
        ("confirm", |s| s.confirm(&name("a"))),
        ("roll back", |s| s.rollback(&name("a")).map(|_| ())),
        ("uninstall", |s| s.remove(&name("b"))),
        ("count a trial boot", |s| s.boot(&name("a"), 2).map(|_| ())),
        ("revert a trial at boot", |s| s.boot(&name("a"), 1).map(|_| ())),
    ];

    fn flash(&self) -> SimFlash<W, E> {
        SimFlash::with_sectors(self.geometry.sectors)
    }

    fn open(&self, flash: SimFlash<W, E>) -> Result<Store<W, E>, StoreError> {
        let size = flash.bytes().len() as u32;
        BlockingStore::open(flash, Region { offset: 0, size }, StoreConfig { meta_sectors: 2, slots: SLOTS })
    }

    /// The base states: A v2 on trial over a confirmed v1, B v1 confirmed,
    /// after `filler` install-and-remove cycles, for filler levels that put
    /// the journal at its start and just before its first two sector
    /// rotations (the second also erases the old sector); the last before
    /// each rotation also padded with erase records until the smallest
    /// record no longer fits, so every scenario starts with a rotation.
    fn bases(&self, depth: usize) -> Vec<(String, SimFlash<W, E>)> {
        let complete = |mut store: Store<W, E>| {
            install(&mut store, "a", v(1), 1, 5000).unwrap();
            store.confirm(&name("a")).unwrap();
            install(&mut store, "a", v(2), 2, 9000).unwrap();
            install(&mut store, "b", v(1), 3, 4096).unwrap();
            store.confirm(&name("b")).unwrap();
            store
        };
        let mut store = self.open(self.flash()).unwrap();
        let mut bases =
            vec![("filler 0".to_string(), complete(self.open(store.flash_mut().clone()).unwrap()).into_flash())];
        // The last few levels; kept when the next cycle rotates the journal.
        let mut recent = std::collections::VecDeque::new();
        let (mut rotations, mut level) = (0, 0);
        while rotations < 2 {
            let sector = store.journal_position().sector;
            level += 1;
            install(&mut store, "filler", v(level as u16), 9, 100).unwrap();
            store.remove(&name("filler")).unwrap();
            if store.journal_position().sector != sector {
                rotations += 1;
                let last = recent.len();
                for (i, (l, f)) in recent.drain(..).enumerate() {
                    let base = complete(self.open(f).unwrap()).into_flash();
                    if i + 1 == last {
                        bases.push((format!("filler {l}, padded"), Self::pad(self.open(base.clone()).unwrap())));
                    }
                    bases.push((format!("filler {l}"), base));
                }
            }
            recent.push_back((level, store.flash_mut().clone()));
            if recent.len() > depth {
                recent.pop_front();
            }
        }
        bases
    }

    /// Appends erase records (staging and dropping a word in a free slot,
    /// which the next staging erases) until the smallest record no longer
    /// fits in the journal sector; the apps do not change.
    fn pad(mut store: Store<W, E>) -> SimFlash<W, E> {
        let smallest = 16usize.div_ceil(W) * W;
        while E - store.journal_position().offset as usize >= smallest {
            let mut s = store.begin(&name("pad"), v(1), W as u32, None, Allow::default()).unwrap();
            store.write(&mut s, &[0; W]).unwrap();
            store.abort(s);
        }
        store.into_flash()
    }

    /// Checks a recovered store: old or new state, intact images, still
    /// usable (a new app installs and survives a reopen).
    fn check(&self, mut store: Store<W, E>, old: &Logical, new: &Logical, what: &str) {
        let now = logical(&store);
        assert!(now == *old || now == *new, "{what}: recovered a state that is neither old nor new:\n{now:#?}");
        self.check_images(&mut store, what);
        install(&mut store, "probe", v(1), 7, 2000).unwrap_or_else(|e| panic!("{what}: install after recovery: {e}"));
        let state = logical(&store);
        let flash = store.into_flash();
        assert_eq!(flash.violations(), 0, "{what}: wrote to unerased flash");
        let store = self.open(flash).unwrap();
        assert_eq!(logical(&store), state, "{what}: state after recovery did not persist");
    }

    fn check_images(&self, store: &mut Store<W, E>, what: &str) {
        for app in store.apps().to_vec() {
            for image in [Some(&app.active), app.previous.as_ref()].into_iter().flatten() {
                assert!(store.verify(image).unwrap(), "{what}: {} {} corrupt", app.name, image.version);
            }
        }
    }

    /// Every single fault point of every scenario from every base.
    fn single(&self) -> Counts {
        let mut counts = Counts::default();
        let soak = soak();
        for (i, (filler, flash)) in self.bases(if soak { 6 } else { 2 }).into_iter().enumerate() {
            let old = logical(&self.open(flash.clone()).unwrap());
            for (label, scenario) in Self::SCENARIOS {
                // A run without a fault: the new state and how many operations.
                let mut store = self.open(flash.clone()).unwrap();
                let ops_before = store.flash_mut().ops();
                let sector_before = store.journal_position().sector;
                scenario(&mut store).unwrap_or_else(|e| panic!("{label}: {e}"));
                let ops = store.flash_mut().ops() - ops_before;
                counts.rotations += u64::from(store.journal_position().sector != sector_before);
                let new = logical(&store);
                assert_ne!(new, old, "{label} changes something");
                for n in 1..=ops {
                    let turn = (n as usize + i) % Tear::ALL.len();
                    let tears: &[Tear] = if soak { &Tear::ALL } else { &Tear::ALL[turn..=turn] };
                    for &tear in tears {
                        let what = format!("{label} ({filler}), op {n} of {ops}, {tear:?}");
                        self.cut(&flash, scenario, n, tear, &old, &new, &what);
                        counts.cuts += 1;
                        // A driver failure takes the next pattern in turn.
                        let tear = if soak { tear } else { Tear::ALL[(turn + 2) % Tear::ALL.len()] };
                        self.fail(&flash, scenario, n, tear, &old, &new, &what);
                        counts.failures += 1;
                    }
                }
            }
        }
        counts
    }

    /// A power cut at op `n` of `scenario`, then a reboot.
    #[allow(clippy::too_many_arguments)]
    fn cut(
        &self,
        flash: &SimFlash<W, E>,
        scenario: fn(&mut Store<W, E>) -> Result<(), StoreError>,
        n: u64,
        tear: Tear,
        old: &Logical,
        new: &Logical,
        what: &str,
    ) {
        let mut cut = flash.clone();
        cut.fault_after(n, Fault::PowerCut, tear);
        let mut store = self.open(cut).unwrap();
        // A cut after the change is in the journal (while the slots it
        // freed are erased) is not the operation's failure: it is done.
        if scenario(&mut store).is_ok() {
            assert_eq!(&logical(&store), new, "{what}: a cut after the commit point");
        }
        let mut cut = store.into_flash();
        assert!(!cut.is_powered());
        cut.power_on();
        let recovered = self.open(cut).unwrap_or_else(|e| panic!("{what}: reopen failed: {e}"));
        self.check(recovered, old, new, &format!("{what}, power cut"));
    }

    /// A driver failure at op `n` of `scenario`: the store reports it and
    /// keeps its old state (or, when it hit the erase of a slot the
    /// committed change freed, reports success with the new state), goes
    /// on working, and reopens to what it says.
    #[allow(clippy::too_many_arguments)]
    fn fail(
        &self,
        flash: &SimFlash<W, E>,
        scenario: fn(&mut Store<W, E>) -> Result<(), StoreError>,
        n: u64,
        tear: Tear,
        old: &Logical,
        new: &Logical,
        what: &str,
    ) {
        let what = format!("{what}, driver failure");
        let mut failing = flash.clone();
        failing.fault_after(n, Fault::Failure, tear);
        let mut store = self.open(failing).unwrap();
        let result = scenario(&mut store);
        if result.is_ok() {
            // The failure hit an erase of a slot the committed change
            // freed: the change is done, the slot is erased when reused.
            assert_eq!(&logical(&store), new, "{what}: a failure after the commit point");
        } else {
            assert!(matches!(result, Err(StoreError::Flash(_))), "{what}: reported: {result:?}");
            assert_eq!(&logical(&store), old, "{what}: a failed operation changes nothing");
        }
        // The same store, without a reboot: still consistent and usable.
        self.check(store, old, new, &what);
    }

    /// A cut at op `n`, then a second during the reopen and the next
    /// operation (installing a probe app), at every op `m` of it.
    fn double(&self) -> u64 {
        let mut tried = 0;
        let bases = self.bases(1);
        // The first base, and the first rotation in every scenario.
        for (filler, flash) in &bases[..2] {
            let old = logical(&self.open(flash.clone()).unwrap());
            for (label, scenario) in Self::SCENARIOS {
                let mut store = self.open(flash.clone()).unwrap();
                let before = store.flash_mut().ops();
                scenario(&mut store).unwrap();
                let ops = store.flash_mut().ops() - before;
                let new = logical(&store);
                for n in 1..=ops {
                    let mut cut = flash.clone();
                    cut.fault_after(n, Fault::PowerCut, Tear::ALL[n as usize % Tear::ALL.len()]);
                    let mut store = self.open(cut).unwrap();
                    let _ = scenario(&mut store);
                    let mut cut = store.into_flash();
                    cut.power_on();
                    // How many operations the recovery and the probe make.
                    let recovery = {
                        let mut flash = cut.clone();
                        let before = flash.ops();
                        let mut store = self.open(flash).unwrap();
                        install(&mut store, "probe", v(1), 7, 2000).unwrap();
                        flash = store.into_flash();
                        flash.ops() - before
                    };
                    for m in 1..=recovery {
                        let tear = Tear::ALL[(n + m) as usize % Tear::ALL.len()];
                        let what = format!("{label} ({filler}): cuts at {n} and {m} of {recovery}, {tear:?}");
                        let mut twice = cut.clone();
                        twice.fault_after(m, Fault::PowerCut, tear);
                        if let Ok(mut store) = self.open(twice.clone()) {
                            let _ = install(&mut store, "probe", v(1), 7, 2000);
                            twice = store.into_flash();
                        }
                        twice.power_on();
                        let mut store = self.open(twice).unwrap_or_else(|e| panic!("{what}: {e}"));
                        let mut now = logical(&store);
                        // The probe app may have been installed before the second cut.
                        now.0.retain(|a| a.name != "probe");
                        now.1.retain(|f| f.name != "probe");
                        assert!(now == old || now == new, "{what}: neither old nor new");
                        self.check_images(&mut store, &what);
                        assert_eq!(store.flash_mut().violations(), 0, "{what}");
                        tried += 1;
                    }
                }
            }
        }
        tried
    }
}

#[derive(Default)]
struct Counts {
    cuts: u64,
    failures: u64,
    rotations: u64,
}

fn run_single<const W: usize, const E: usize>(geometry: Geometry) {
    let started = std::time::Instant::now();
    let name = geometry.name;
    let c = Rig::<W, E> { geometry }.single();
    eprintln!(
        "power-loss sweep [{name}]: {} single fault points tried ({} power cuts, {} driver failures), all recovered; \
         {} scenarios crossed a journal rotation ({:.1} s)",
        c.cuts + c.failures,
        c.cuts,
        c.failures,
        c.rotations,
        started.elapsed().as_secs_f64()
    );
    assert!(c.cuts > 200, "the sweep covers every operation ({})", c.cuts);
    assert!(c.rotations > 0, "some cuts hit a journal rotation");
}

fn run_double<const W: usize, const E: usize>(geometry: Geometry) {
    let started = std::time::Instant::now();
    let name = geometry.name;
    let tried = Rig::<W, E> { geometry }.double();
    eprintln!(
        "power-loss sweep [{name}]: {tried} double cut points tried (exhaustive), all recovered ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    assert!(tried > 200, "{tried}");
}

const NRF: Geometry = Geometry { name: "4-byte words, 4 KiB sectors (nRF52, ESP32)", sectors: &[(2 + 5 * 3, 4 * KIB)] };
const UNITS_8: Geometry = Geometry { name: "8-byte units, 16 KiB sectors", sectors: &[(2 + 5, 16 * KIB)] };
const UNITS_16: Geometry = Geometry { name: "16-byte units, 64 KiB sectors", sectors: &[(2 + 5, 64 * KIB)] };
const H7: Geometry = Geometry { name: "32-byte units, 128 KiB sectors (STM32H7)", sectors: &[(2 + 5, 128 * KIB)] };
/// An STM32F4 bank: the driver erases by 128 KiB (its largest sector),
/// the first of which is four 16 KiB sectors and a 64 KiB one.
const F4: Geometry = Geometry {
    name: "4-byte words, 4x16 + 64 + 7x128 KiB sectors (STM32F4 bank)",
    sectors: &[(4, 16 * KIB), (1, 64 * KIB), (7, 128 * KIB)],
};

#[test]
fn sweep_single_faults_4k_sectors() {
    run_single::<4, 4096>(NRF);
}

#[test]
fn sweep_single_faults_16k_sectors_8_byte_units() {
    run_single::<8, { 16 * KIB }>(UNITS_8);
}

#[test]
fn sweep_single_faults_64k_sectors_16_byte_units() {
    run_single::<16, { 64 * KIB }>(UNITS_16);
}

#[test]
fn sweep_single_faults_128k_sectors_32_byte_units() {
    run_single::<32, { 128 * KIB }>(H7);
}

#[test]
fn sweep_single_faults_stm32f4_mixed_sectors() {
    run_single::<4, { 128 * KIB }>(F4);
}

#[test]
fn sweep_double_cuts_4k_sectors() {
    run_double::<4, 4096>(NRF);
}

#[test]
fn sweep_double_cuts_stm32f4_mixed_sectors() {
    run_double::<4, { 128 * KIB }>(F4);
}
