//! Power-loss sweep of the apps' key-value store ([`FlashKv`] over
//! sequential-storage), on the flash geometries the boards use: every
//! write and erase of an update, a new key and a removal (from a nearly
//! empty store, and just before the update that wraps the region and makes
//! the store erase and migrate a page) is faulted in turn, as a power cut
//! (then a reopen) and as a driver failure (the same store goes on), the
//! write or erase left torn in the pattern whose turn it is
//! (`AKIRA_POWER_SWEEP=soak`: every pattern at every point). After each,
//! the key holds its old or its new value, the other keys are intact, the
//! usage is recounted right, the store keeps working and nothing was
//! written over programmed flash.
//!
//! `cargo test -p akira-bridge --test kv_power_loss -- --nocapture` prints
//! how many points were tried per geometry.

use akira_bridge::{FlashKv, KvStore};
use akira_ota::testing::{Fault, SimFlash, Tear};

const KIB: usize = 1024;
const QUOTA: u32 = u32::MAX;
/// Values written by the updates: large, so the region fills in few items.
const BIG: usize = 250;

type Kv<const W: usize, const E: usize> = FlashKv<SimFlash<W, E>>;

fn soak() -> bool {
    std::env::var("AKIRA_POWER_SWEEP").is_ok_and(|v| v == "soak")
}

/// `(app, key, value)` of every key a base holds besides `a/k`.
const FIXED: [(&str, &[u8], &[u8]); 2] = [("a", b"other", b"stays"), ("b", b"gone", &[7; 10])];

/// An app's name and a key.
type AppKey = (&'static str, &'static [u8]);

#[derive(Clone, Copy)]
enum Scenario {
    Update,
    NewKey,
    Remove,
}

impl Scenario {
    const ALL: [Scenario; 3] = [Scenario::Update, Scenario::NewKey, Scenario::Remove];

    /// The key it changes, and its value before and after.
    fn key(self, k_before: &[u8]) -> (AppKey, Option<Vec<u8>>, Option<Vec<u8>>) {
        match self {
            Scenario::Update => (("a", b"k"), Some(k_before.to_vec()), Some(vec![0xEE; BIG])),
            Scenario::NewKey => (("c", b"fresh"), None, Some(vec![0x5A; 40])),
            Scenario::Remove => (("b", b"gone"), Some(vec![7; 10]), None),
        }
    }

    fn run<F: embedded_storage::nor_flash::NorFlash>(self, kv: &mut FlashKv<F>) -> Result<(), akira_bridge::Errno> {
        match self {
            Scenario::Update => kv.set("a", b"k", &[0xEE; BIG], QUOTA),
            Scenario::NewKey => kv.set("c", b"fresh", &[0x5A; 40], QUOTA),
            Scenario::Remove => kv.remove("b", b"gone").map(|_| ()),
        }
    }
}

fn value<const W: usize, const E: usize>(kv: &mut Kv<W, E>, app: &str, key: &[u8]) -> Option<Vec<u8>> {
    let mut buf = [0u8; 256];
    kv.get(app, key, &mut buf).unwrap().map(|n| buf[..n].to_vec())
}

struct Rig<const W: usize, const E: usize> {
    name: &'static str,
    sectors: &'static [(usize, usize)],
}

impl<const W: usize, const E: usize> Rig<W, E> {
    fn open(&self, flash: SimFlash<W, E>) -> Kv<W, E> {
        let end = flash.bytes().len() as u32;
        FlashKv::new(flash, 0..end).unwrap()
    }

    /// Bases: the fixed keys and `a/k` after one write, and after as
    /// many as make the next update the first to erase (the region wraps
    /// and a page's live items move on), and the one before that.
    fn bases(&self) -> Vec<(String, SimFlash<W, E>, Vec<u8>)> {
        let mut kv = self.open(SimFlash::with_sectors(self.sectors));
        for (app, key, value) in FIXED {
            kv.set(app, key, value, QUOTA).unwrap();
        }
        let val = |i: u32| -> Vec<u8> { (0..BIG).map(|j| (i as usize + j) as u8).collect() };
        let mut bases = Vec::new();
        // The flash before the previous write, and `a/k`'s value then.
        let mut last: Option<(SimFlash<W, E>, Vec<u8>)> = None;
        for i in 0u32.. {
            let erases: u32 = kv.flash().erase_counts().iter().sum();
            let before = kv.flash().clone();
            kv.set("a", b"k", &val(i), QUOTA).unwrap();
            if i == 0 {
                bases.push(("one write".into(), kv.flash().clone(), val(0)));
            } else if kv.flash().erase_counts().iter().sum::<u32>() > erases {
                if let Some((flash, value)) = last.take() {
                    bases.push((format!("{} writes, two before the first erase", i - 1), flash, value));
                }
                bases.push((format!("{i} writes, the next erases"), before, val(i - 1)));
                break;
            } else {
                last = Some((before, val(i - 1)));
            }
        }
        bases
    }

    /// Checks a store after a fault: old or new value for the scenario's
    /// key, every other key intact, usage right, still working.
    fn check(&self, mut kv: Kv<W, E>, scenario: Scenario, k_before: &[u8], what: &str) -> Kv<W, E> {
        let ((app, key), old, new) = scenario.key(k_before);
        let got = value(&mut kv, app, key);
        assert!(got == old || got == new, "{what}: {app}/{key:?} is neither old nor new: {got:?}");
        for (a, k, v) in FIXED {
            if (a, k) != (app, key) {
                assert_eq!(value(&mut kv, a, k).as_deref(), Some(v), "{what}: {a}/{k:?} lost");
            }
        }
        if !matches!(scenario, Scenario::Update) {
            assert_eq!(value(&mut kv, "a", b"k").as_deref(), Some(k_before), "{what}: a/k lost");
        }
        let k_now = value(&mut kv, "a", b"k").unwrap();
        assert_eq!(kv.used("a").unwrap(), (5 + 5 + 1 + k_now.len()) as u32, "{what}: a's usage");
        kv.set("a", b"after", &[1, 2, 3], QUOTA).unwrap_or_else(|e| panic!("{what}: set after the fault: {e:?}"));
        let flash = kv.into_flash();
        assert_eq!(flash.violations(), 0, "{what}: wrote over programmed flash");
        let mut kv = self.open(flash);
        assert_eq!(value(&mut kv, "a", b"after"), Some(vec![1, 2, 3]), "{what}: the write after persisted");
        kv
    }

    /// Every fault point, each with the faults `pick(point, base)` gives.
    fn sweep(&self, pick: impl Fn(usize, usize) -> Vec<(Fault, Tear)>) -> (u64, u64) {
        let (mut cuts, mut failures) = (0, 0);
        for (i, (label, base, k_before)) in self.bases().into_iter().enumerate() {
            for scenario in Scenario::ALL {
                let mut kv = self.open(base.clone());
                let before = kv.flash().ops();
                scenario.run(&mut kv).unwrap();
                let ops = kv.flash().ops() - before;
                for n in 1..=ops {
                    for (fault, tear) in pick(n as usize, i) {
                        let what =
                            format!("{} ({label}), op {n} of {ops}, {fault:?}, {tear:?}", scenario_name(scenario));
                        let mut flash = base.clone();
                        flash.fault_after(n, fault, tear);
                        let mut kv = self.open(flash);
                        assert!(scenario.run(&mut kv).is_err(), "{what}: the fault was reported");
                        if fault == Fault::PowerCut {
                            // A reboot.
                            let mut flash = kv.into_flash();
                            flash.power_on();
                            kv = self.open(flash);
                            cuts += 1;
                        } else {
                            failures += 1;
                        }
                        self.check(kv, scenario, &k_before, &what);
                    }
                }
            }
        }
        (cuts, failures)
    }

    fn run(self) {
        let started = std::time::Instant::now();
        let soak = soak();
        let (cuts, failures) = self.sweep(|n, base| {
            let faults = [Fault::PowerCut, Fault::Failure];
            if soak {
                return faults.iter().flat_map(|f| SURVIVED.iter().map(|t| (*f, *t))).collect();
            }
            // In turn: a cut and a failure, each with the next pattern.
            let turn = n + base;
            faults.iter().enumerate().map(|(k, f)| (*f, SURVIVED[(turn + k) % SURVIVED.len()])).collect()
        });
        eprintln!(
            "key-value power-loss sweep [{}]: {} fault points tried ({cuts} power cuts, {failures} driver failures), \
             all recovered ({:.1} s)",
            self.name,
            cuts + failures,
            started.elapsed().as_secs_f64()
        );
        assert!(cuts >= 15, "{cuts}");
    }
}

fn scenario_name(s: Scenario) -> &'static str {
    match s {
        Scenario::Update => "update a/k",
        Scenario::NewKey => "new key c/fresh",
        Scenario::Remove => "remove b/gone",
    }
}

/// The tears sequential-storage recovers from.
const SURVIVED: [Tear; 3] = [Tear::Nothing, Tear::Half, Tear::Everything];

/// Found by this sweep: sequential-storage 8 does not recover from a write
/// unit torn midway or cells left with mixed bits (by a write or an
/// erase), as a power cut or a failing driver leaves them. The updated key
/// comes back empty or with an older value. Run it with `--ignored` to see
/// the failing point; `FlashKv` needs a fix (or sequential-storage one)
/// before these patterns join the sweep.
#[test]
#[ignore = "known failure: sequential-storage 8 loses or revives a key after a torn unit or mixed bits"]
fn torn_units_and_mixed_bits() {
    let rig = Rig::<4, { 4 * KIB }> { name: "4 KiB", sectors: &[(3, 4 * KIB)] };
    rig.sweep(|n, _| vec![(Fault::PowerCut, [Tear::TornUnit, Tear::Garbage][n % 2])]);
}

#[test]
fn sweep_kv_4_byte_words_1k_pages() {
    Rig::<4, KIB> { name: "4-byte words, 1 KiB pages", sectors: &[(4, KIB)] }.run();
}

#[test]
fn sweep_kv_4_byte_words_4k_sectors() {
    Rig::<4, { 4 * KIB }> { name: "4-byte words, 4 KiB sectors (nRF52, ESP32)", sectors: &[(3, 4 * KIB)] }.run();
}

#[test]
fn sweep_kv_8_byte_units_4k_sectors() {
    Rig::<8, { 4 * KIB }> { name: "8-byte units, 4 KiB sectors", sectors: &[(3, 4 * KIB)] }.run();
}

#[test]
fn sweep_kv_32_byte_units_16k_sectors() {
    Rig::<32, { 16 * KIB }> { name: "32-byte units, 16 KiB sectors (STM32F4 bank 2)", sectors: &[(3, 16 * KIB)] }.run();
}

/// Pages of 16 to 128 KiB take hundreds to thousands of writes to wrap (minutes
/// unoptimised): only in a soak (`AKIRA_POWER_SWEEP=soak`).
#[test]
fn sweep_kv_large_pages_in_a_soak() {
    if !soak() {
        return;
    }
    Rig::<8, { 16 * KIB }> { name: "8-byte units, 16 KiB sectors", sectors: &[(3, 16 * KIB)] }.run();
    Rig::<16, { 64 * KIB }> { name: "16-byte units, 64 KiB sectors", sectors: &[(3, 64 * KIB)] }.run();
    Rig::<32, { 128 * KIB }> { name: "32-byte units, 128 KiB sectors (STM32H7)", sectors: &[(3, 128 * KIB)] }.run();
    Rig::<4, { 128 * KIB }> {
        name: "4-byte words, 4x16 + 64 + 2x128 KiB sectors (STM32F4)",
        sectors: &[(4, 16 * KIB), (1, 64 * KIB), (2, 128 * KIB)],
    }
    .run();
}
