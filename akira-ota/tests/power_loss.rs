//! Power-loss sweep, MCUboot-style: every operation of the store is cut at
//! every write and erase it makes; after each cut the store must reopen to
//! the old or the new state (never a mix, never corrupt), keep every
//! image intact, make no write to unerased flash, and go on working.
//!
//! `cargo test -p akira-ota --features std --test power_loss -- --nocapture`
//! prints how many cut points were tried.

#![cfg(feature = "std")]

use akira_caps::Version;
use akira_caps::manifest::AppName;
use akira_ota::store::{Allow, AppRecord, BlockingStore, Floor, Region, StoreConfig, StoreError};
use akira_ota::testing::SimFlash;

const SLOTS: u32 = 5;
const SLOT_SECTORS: usize = 3;
const SECTORS: usize = 2 + SLOTS as usize * SLOT_SECTORS;

type Store = BlockingStore<SimFlash>;

fn open(flash: SimFlash) -> Result<Store, StoreError> {
    BlockingStore::open(
        flash,
        Region { offset: 0, size: (SECTORS * 4096) as u32 },
        StoreConfig { meta_sectors: 2, slots: SLOTS },
    )
}

fn name(n: &str) -> AppName {
    AppName::try_from(n).unwrap()
}

fn v(minor: u16) -> Version {
    Version::new(1, minor, 0)
}

fn image(seed: u8, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i as u32).wrapping_mul(2_654_435_761).rotate_left(u32::from(seed)) as u8 ^ seed).collect()
}

fn install(store: &mut Store, app: &str, version: Version, seed: u8, len: usize) -> Result<(), StoreError> {
    let mut s = store.begin(&name(app), version, len as u32, None, Allow::default())?;
    for chunk in image(seed, len).chunks(1000) {
        store.write(&mut s, chunk)?;
    }
    store.commit(s).map(|_| ())
}

/// The part of the state a cut must leave either before or after.
fn logical(store: &Store) -> (Vec<AppRecord>, Vec<Floor>) {
    (store.state().apps.to_vec(), store.state().floors.to_vec())
}

/// The base state: A v2 on trial over a confirmed v1, B v1 confirmed, and
/// `filler` install-and-remove cycles so the journal sits at a different
/// place in its sector (some scenarios then cross a sector rotation).
fn base(filler: usize) -> SimFlash {
    let mut store = open(SimFlash::new(SECTORS)).unwrap();
    for i in 0..filler {
        install(&mut store, "filler", v(i as u16 + 1), 9, 100).unwrap();
        store.remove(&name("filler")).unwrap();
    }
    install(&mut store, "a", v(1), 1, 5000).unwrap();
    store.confirm(&name("a")).unwrap();
    install(&mut store, "a", v(2), 2, 9000).unwrap();
    install(&mut store, "b", v(1), 3, 4096).unwrap();
    store.confirm(&name("b")).unwrap();
    store.into_flash()
}

type Scenario = (&'static str, fn(&mut Store) -> Result<(), StoreError>);

const SCENARIOS: [Scenario; 6] = [
    ("install a new app", |s| install(s, "c", v(1), 4, 7000)),
    ("update a confirmed app", |s| install(s, "b", v(2), 5, 11000)),
    ("replace a version on trial", |s| install(s, "a", v(3), 6, 3000)),
    ("confirm", |s| s.confirm(&name("a"))),
    ("roll back", |s| s.rollback(&name("a")).map(|_| ())),
    ("uninstall", |s| s.remove(&name("b"))),
];

/// Checks a recovered store: old or new state, intact images, still
/// usable. Returns the flash.
fn check(
    mut store: Store,
    old: &(Vec<AppRecord>, Vec<Floor>),
    new: &(Vec<AppRecord>, Vec<Floor>),
    what: &str,
) -> SimFlash {
    let now = logical(&store);
    assert!(now == *old || now == *new, "{what}: recovered a state that is neither old nor new:\n{now:#?}");
    for app in store.apps().to_vec() {
        for image in [Some(&app.active), app.previous.as_ref()].into_iter().flatten() {
            assert!(store.verify(image).unwrap(), "{what}: {} {} corrupt", app.name, image.version);
        }
    }
    assert!(store.apps().iter().any(|a| a.name == "b" && a.confirmed) || new.0.iter().all(|a| a.name != "b"));
    // Still usable: a new app installs, and survives a reopen.
    install(&mut store, "probe", v(1), 7, 2000).unwrap_or_else(|e| panic!("{what}: install after recovery: {e}"));
    let state = logical(&store);
    let flash = store.into_flash();
    assert_eq!(flash.violations(), 0, "{what}: wrote to unerased flash");
    let store = open(flash).unwrap();
    assert_eq!(logical(&store), state, "{what}: state after recovery did not persist");
    store.into_flash()
}

#[test]
fn every_single_power_cut_recovers_to_the_old_or_the_new_state() {
    let mut tried = 0u64;
    let mut rotations = 0;
    // Every filler level near the end of the first and second journal
    // sectors, so the scenarios' records straddle a rotation at every
    // offset (the second rotation also erases the old sector).
    for filler in [0, 8, 16, 24, 32].into_iter().chain(36..=44).chain(78..=88) {
        let flash = base(filler);
        let old = logical(&open(flash.clone()).unwrap());
        for (label, scenario) in SCENARIOS {
            // A run without a cut: the new state and how many operations.
            let mut store = open(flash.clone()).unwrap();
            let ops_before = store.flash_mut().ops();
            let sector_before = store.journal_position().sector;
            scenario(&mut store).unwrap();
            let ops = store.flash_mut().ops() - ops_before;
            if store.journal_position().sector != sector_before {
                rotations += 1;
            }
            let new = logical(&store);
            assert_ne!(new, old, "{label} changes something");
            for n in 1..=ops {
                let mut cut = flash.clone();
                cut.cut_after(n);
                let mut store = open(cut).unwrap();
                let result = scenario(&mut store);
                assert!(result.is_err(), "{label}: the cut at op {n} of {ops} was noticed");
                let mut cut = store.into_flash();
                assert!(!cut.is_powered());
                cut.power_on();
                let recovered = open(cut).unwrap_or_else(|e| panic!("{label}, cut at op {n}: reopen failed: {e}"));
                check(recovered, &old, &new, &format!("{label} (filler {filler}), cut at op {n} of {ops}"));
                tried += 1;
            }
        }
    }
    eprintln!(
        "power-loss sweep: {tried} single cut points tried, all recovered; {rotations} scenarios crossed a journal rotation"
    );
    assert!(tried > 400, "the sweep covers every operation ({tried})");
    assert!(rotations > 0, "some cuts hit a journal rotation");
}

#[test]
fn a_second_cut_during_recovery_and_the_next_operation_also_recovers() {
    let mut tried = 0u64;
    for filler in [0, 40, 41] {
        let flash = base(filler);
        let old = logical(&open(flash.clone()).unwrap());
        for (label, scenario) in SCENARIOS {
            let mut store = open(flash.clone()).unwrap();
            let before = store.flash_mut().ops();
            scenario(&mut store).unwrap();
            let ops = store.flash_mut().ops() - before;
            let new = logical(&store);
            for n in (1..=ops).step_by(3) {
                for m in 1..=8 {
                    let mut cut = flash.clone();
                    cut.cut_after(n);
                    let mut store = open(cut).unwrap();
                    let _ = scenario(&mut store);
                    let mut cut = store.into_flash();
                    cut.power_on();
                    // Second cut: during reopening or the first operation after it
                    // (installing a probe app, which may or may not land).
                    cut.cut_after(m);
                    if let Ok(mut store) = open(cut.clone()) {
                        let _ = install(&mut store, "probe", v(1), 7, 2000);
                        cut = store.into_flash();
                    }
                    cut.power_on();
                    let store = open(cut).unwrap_or_else(|e| panic!("{label}: cuts at {n} and {m}: {e}"));
                    let mut now = logical(&store);
                    // The probe app may have been installed before the second cut.
                    now.0.retain(|a| a.name != "probe");
                    now.1.retain(|f| f.name != "probe");
                    assert!(now == old || now == new, "{label}: cuts at {n} and {m}: neither old nor new");
                    let mut store = store;
                    for app in store.apps().to_vec() {
                        assert!(store.verify(&app.active).unwrap(), "{label}: cuts at {n} and {m}: image corrupt");
                    }
                    assert_eq!(store.flash_mut().violations(), 0);
                    tried += 1;
                }
            }
        }
    }
    eprintln!("power-loss sweep: {tried} double cut points tried, all recovered");
    assert!(tried > 200, "{tried}");
}
