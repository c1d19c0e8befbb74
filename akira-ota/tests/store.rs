//! The app store: installs, trials, confirm, rollback, anti-rollback,
//! capacity, wear, persistence.

#![cfg(feature = "std")]

use akira_caps::Version;
use akira_caps::manifest::AppName;
use akira_ota::store::{Allow, BlockingStore, Boot, Region, StoreConfig, StoreError};
use akira_ota::testing::SimFlash;

const SECTORS: usize = 2 + 4 * 4; // journal + 4 slots of 4 sectors (16 KiB)

fn region() -> Region {
    Region { offset: 0, size: (SECTORS * 4096) as u32 }
}

fn open(flash: SimFlash) -> BlockingStore<SimFlash> {
    BlockingStore::open(flash, region(), StoreConfig { meta_sectors: 2, slots: 4 }).unwrap()
}

fn fresh() -> BlockingStore<SimFlash> {
    open(SimFlash::new(SECTORS))
}

fn name(n: &str) -> AppName {
    AppName::try_from(n).unwrap()
}

fn v(minor: u16) -> Version {
    Version::new(1, minor, 0)
}

/// Deterministic app bytes of `len`, different per `seed`.
fn image(seed: u8, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i as u32).wrapping_mul(2_654_435_761).rotate_left(seed as u32) as u8 ^ seed).collect()
}

fn install(store: &mut BlockingStore<SimFlash>, app: &str, version: Version, bytes: &[u8]) -> Result<(), StoreError> {
    let mut s = store.begin(&name(app), version, bytes.len() as u32, None, Allow::default())?;
    // Odd chunk sizes exercise the write-size alignment.
    for chunk in bytes.chunks(333) {
        store.write(&mut s, chunk)?;
    }
    store.commit(s).map(|_| ())
}

fn read_back(store: &mut BlockingStore<SimFlash>, app: &str) -> Vec<u8> {
    let image = store.app(app).unwrap().active.clone();
    let mut buf = vec![0; image.len as usize];
    store.read(&image, 0, &mut buf).unwrap();
    assert!(store.verify(&image).unwrap(), "{app}: digest matches");
    buf
}

#[test]
fn install_confirm_update_rollback() {
    let mut store = fresh();
    let one = image(1, 5000);
    install(&mut store, "weather", v(1), &one).unwrap();
    let app = store.app("weather").unwrap();
    assert!(!app.confirmed, "a new version starts on trial");
    assert_eq!(read_back(&mut store, "weather"), one);

    store.confirm(&name("weather")).unwrap();
    let two = image(2, 9000);
    install(&mut store, "weather", v(2), &two).unwrap();
    let app = store.app("weather").unwrap().clone();
    assert_eq!(app.active.version, v(2));
    assert_eq!(app.previous.as_ref().unwrap().version, v(1), "the confirmed version is kept");
    assert_eq!(read_back(&mut store, "weather"), two);

    let back = store.rollback(&name("weather")).unwrap();
    assert_eq!(back.version, v(1));
    assert_eq!(read_back(&mut store, "weather"), one);
    assert!(store.app("weather").unwrap().confirmed);
    assert_eq!(store.rollback(&name("weather")), Err(StoreError::NothingToRollBack));

    // Anti-rollback: v2 was installed once (and rolled back); it and
    // anything older are refused, newer is fine.
    assert!(matches!(install(&mut store, "weather", v(2), &two), Err(StoreError::Downgrade { .. })));
    install(&mut store, "weather", v(3), &two).unwrap();
}

#[test]
fn a_new_trial_replaces_an_unconfirmed_one() {
    let mut store = fresh();
    install(&mut store, "a", v(1), &image(1, 100)).unwrap();
    store.confirm(&name("a")).unwrap();
    install(&mut store, "a", v(2), &image(2, 100)).unwrap();
    install(&mut store, "a", v(3), &image(3, 100)).unwrap();
    let app = store.app("a").unwrap();
    assert_eq!((app.active.version, app.previous.as_ref().unwrap().version), (v(3), v(1)));
    assert_eq!(store.capacity().free_slots, 2, "v2's slot was freed");
}

#[test]
fn state_survives_reopening() {
    let mut store = fresh();
    install(&mut store, "a", v(1), &image(1, 4096)).unwrap();
    store.confirm(&name("a")).unwrap();
    install(&mut store, "b", v(1), &image(2, 10)).unwrap();
    let before = store.state().clone();
    let mut store = open(store.into_flash());
    assert_eq!(store.state(), &before);
    assert_eq!(read_back(&mut store, "a"), image(1, 4096));
    assert_eq!(read_back(&mut store, "b"), image(2, 10));
}

#[test]
fn remove_keeps_the_floor() {
    let mut store = fresh();
    install(&mut store, "a", v(5), &image(1, 10)).unwrap();
    store.remove(&name("a")).unwrap();
    assert!(store.app("a").is_none());
    assert_eq!(store.remove(&name("a")), Err(StoreError::NotFound));
    let e = install(&mut store, "a", v(4), &image(1, 10)).unwrap_err();
    assert_eq!(e, StoreError::Downgrade { version: v(4), floor: v(5) });
    // The device owner may allow a downgrade.
    let mut s = store.begin(&name("a"), v(4), 10, None, Allow { downgrade: true, take_over: false }).unwrap();
    store.write(&mut s, &image(1, 10)).unwrap();
    store.commit(s).unwrap();
}

#[test]
fn limits_are_typed_errors_that_change_nothing() {
    let mut store = fresh();
    let slot = store.slot_bytes();
    assert_eq!(slot, 4 * 4096);
    let e = store.begin(&name("big"), v(1), slot + 1, None, Allow::default()).unwrap_err();
    assert_eq!(e, StoreError::TooLarge { len: slot + 1, slot_bytes: slot });
    for (i, app) in ["a", "b", "c", "d"].iter().enumerate() {
        install(&mut store, app, v(1), &image(i as u8, 10)).unwrap();
    }
    assert_eq!(store.capacity().free_slots, 0);
    let before = store.state().clone();
    assert_eq!(store.begin(&name("e"), v(1), 10, None, Allow::default()).unwrap_err(), StoreError::NoSpace);
    // Staging twice at once is refused; a wrong length is caught.
    store.remove(&name("d")).unwrap();
    let mut s = store.begin(&name("e"), v(1), 10, None, Allow::default()).unwrap();
    assert_eq!(store.begin(&name("f"), v(1), 10, None, Allow::default()).unwrap_err(), StoreError::Busy);
    assert_eq!(store.write(&mut s, &[0; 11]), Err(StoreError::Overrun));
    store.write(&mut s, &[0; 4]).unwrap();
    assert_eq!(store.commit(s), Err(StoreError::Incomplete { written: 4, len: 10 }));
    assert_eq!(store.apps().len(), 3);
    assert!(before.apps.len() == 4);
}

#[test]
fn updates_spread_erases_over_the_slots_and_the_journal() {
    let mut store = fresh();
    for version in 1..=120u16 {
        install(&mut store, "a", v(version), &image(version as u8, 3 * 4096)).unwrap();
        store.confirm(&name("a")).unwrap();
    }
    let (data, meta) = store.erase_counts();
    let data = data.to_vec();
    let meta = meta.to_vec();
    // Each update erases 3 sectors of one of the free slots.
    let used: Vec<u32> = data.chunks(4).map(|slot| slot[..3].iter().sum::<u32>() / 3).collect();
    let (min, max) = (used.iter().min().unwrap(), used.iter().max().unwrap());
    assert!(max - min <= 1, "slots evenly worn: {used:?}");
    assert!(data.chunks(4).all(|slot| slot[3] == 0), "the unused 4th sector of each slot is never erased");
    assert!(meta.iter().sum::<u32>() >= 1, "the journal rotated: {meta:?}");
    assert!(meta.iter().max().unwrap() - meta.iter().min().unwrap() <= 1, "journal sectors evenly worn: {meta:?}");
    // The store's counts agree with the flash's own.
    let flash_counts = store.flash_mut().erase_counts().to_vec();
    assert_eq!(&flash_counts[..2], &meta[..]);
    assert_eq!(&flash_counts[2..], &data[..]);
    assert_eq!(read_back(&mut store, "a"), image(120, 3 * 4096));
}

#[test]
fn the_journal_recovers_after_many_rotations() {
    let mut store = fresh();
    for version in 1..=60u16 {
        install(&mut store, "a", v(version), &image(1, 8)).unwrap();
        store.confirm(&name("a")).unwrap();
    }
    let before = store.state().clone();
    let store = open(store.into_flash());
    assert_eq!(store.state(), &before);
}

#[test]
fn configuration_errors() {
    let flash = SimFlash::<4, 4096>::new(4);
    let e = BlockingStore::open(
        flash.clone(),
        Region { offset: 0, size: 4 * 4096 },
        StoreConfig { meta_sectors: 1, slots: 1 },
    );
    assert!(matches!(e, Err(StoreError::Config(_))));
    let e = BlockingStore::open(flash.clone(), Region { offset: 100, size: 4096 }, StoreConfig::default());
    assert!(matches!(e, Err(StoreError::Config(_))));
    let e = BlockingStore::open(flash, Region { offset: 0, size: 4 * 4096 }, StoreConfig { meta_sectors: 2, slots: 4 });
    assert!(matches!(e, Err(StoreError::Config(_))), "two data sectors cannot make four slots");
}

/// Reopens the store as a reboot does and runs its boot step for `app`.
fn reboot(store: BlockingStore<SimFlash>, app: &str, max_trial_boots: u8) -> (BlockingStore<SimFlash>, Boot) {
    let mut store = open(store.into_flash());
    let boot = store.boot(&name(app), max_trial_boots).unwrap();
    (store, boot)
}

#[test]
fn a_reboot_during_a_trial_reverts_it() {
    let mut store = fresh();
    install(&mut store, "a", v(1), &image(1, 3000)).unwrap();
    store.confirm(&name("a")).unwrap();
    install(&mut store, "a", v(2), &image(2, 5000)).unwrap();
    assert_eq!(store.app("a").unwrap().trial_boots, 1, "the install's own run is the first boot");
    // The default policy: a trial lasts the boot that installed it.
    let (mut store, boot) = reboot(store, "a", 1);
    let Boot::RolledBack { from, to } = boot else { panic!("{boot:?}") };
    assert_eq!((from, to.version), (v(2), v(1)));
    let app = store.app("a").unwrap();
    assert!(app.confirmed && app.previous.is_none() && app.trial_boots == 0);
    assert_eq!(read_back(&mut store, "a"), image(1, 3000));
    assert_eq!(store.capacity().free_slots, 3, "v2's slot is free again");
    // The revert is in the journal: the next boot runs v1, confirmed.
    let (store, boot) = reboot(store, "a", 1);
    assert_eq!(boot, Boot::Confirmed);
    // v2 stays refused (anti-rollback), v3 installs.
    let mut store = store;
    assert!(matches!(install(&mut store, "a", v(2), &image(2, 10)), Err(StoreError::Downgrade { .. })));
    install(&mut store, "a", v(3), &image(3, 10)).unwrap();
}

#[test]
fn a_trial_runs_as_many_boots_as_the_policy_allows() {
    let mut store = fresh();
    install(&mut store, "a", v(1), &image(1, 100)).unwrap();
    store.confirm(&name("a")).unwrap();
    install(&mut store, "a", v(2), &image(2, 100)).unwrap();
    let (store, boot) = reboot(store, "a", 3);
    assert_eq!(boot, Boot::Trial { boots: 2 });
    let (store, boot) = reboot(store, "a", 3);
    assert_eq!(boot, Boot::Trial { boots: 3 });
    assert_eq!(store.app("a").unwrap().active.version, v(2));
    let (store, boot) = reboot(store, "a", 3);
    assert!(matches!(boot, Boot::RolledBack { .. }), "{boot:?}");
    assert_eq!(store.app("a").unwrap().active.version, v(1));
    // 0 is taken as 1.
    let mut store = store;
    install(&mut store, "a", v(3), &image(3, 100)).unwrap();
    let (store, boot) = reboot(store, "a", 0);
    assert!(matches!(boot, Boot::RolledBack { .. }), "{boot:?}");
    assert_eq!(store.app("a").unwrap().active.version, v(1));
}

#[test]
fn a_first_install_that_is_never_confirmed_is_uninstalled_at_reboot() {
    let mut store = fresh();
    install(&mut store, "a", v(4), &image(1, 100)).unwrap();
    let (store, boot) = reboot(store, "a", 1);
    assert_eq!(boot, Boot::Removed { version: v(4) });
    assert!(store.app("a").is_none());
    assert_eq!(store.state().floor("a"), Some(v(4)), "its floor stays");
    assert_eq!(store.capacity().free_slots, 4);
}

#[test]
fn a_confirmed_version_survives_reboots() {
    let mut store = fresh();
    install(&mut store, "a", v(1), &image(1, 100)).unwrap();
    store.confirm(&name("a")).unwrap();
    install(&mut store, "a", v(2), &image(2, 6000)).unwrap();
    let (mut store, boot) = reboot(store, "a", 2);
    assert_eq!(boot, Boot::Trial { boots: 2 });
    // Confirmed during its second boot: every later boot keeps it.
    store.confirm(&name("a")).unwrap();
    let mut store = store;
    for _ in 0..5 {
        let (s, boot) = reboot(store, "a", 1);
        assert_eq!(boot, Boot::Confirmed);
        store = s;
    }
    let app = store.app("a").unwrap();
    assert_eq!((app.active.version, app.confirmed, app.trial_boots), (v(2), true, 0));
    assert_eq!(read_back(&mut store, "a"), image(2, 6000));
    assert_eq!(store.boot(&name("nope"), 1), Err(StoreError::NotFound));
}
