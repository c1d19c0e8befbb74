//! Installing apps over the air: throughput and CPU cost per KiB, the time
//! from the last byte received to the app's first instruction, and flash
//! erases per update.
//!
//! Run with `cargo bench -p akira-ota --features std --bench install`; the
//! figures and how to read them are in `BENCHMARKS.md` at the workspace
//! root.
//!
//! Before criterion runs, the bench builds two apps of about 64 KiB and
//! 100 KiB of wasm code (many functions doing integer work: loops,
//! arithmetic, 64-bit multiplies, loads and stores, calls between them),
//! prints their sizes, and installs and confirms [`UPDATES`] updates of
//! each on a fresh simulated flash to count the erases per update (not a
//! timing).
//!
//! - `install/*`: the pieces of the install path per package: SHA-256 of
//!   64 KiB, one Ed25519 `verify_strict`, the [`PackageReader`] over a whole
//!   signed package, one Hello request (the fixed cost of a request), and
//!   the whole install through [`Session::handle`] (Begin and 512-byte
//!   Chunks) into a [`BlockingStore`] on a [`SimFlash`] whose slots were
//!   all written before (so the install erases what it needs), with
//!   [`AcceptAll`] as the verifier.
//! - `last_byte/*`: from the last Chunk's arrival to the app's first host
//!   call. Each iteration starts from a store holding every byte of the
//!   package but the last chunk (setup, not timed): the routine hands the
//!   last chunk to the session (its link in the hash chain, the sandbox verifier:
//!   read back the staged image, `Runtime::load_with_policy` with
//!   validation and eager compilation; commit), then instantiates the app
//!   and runs its first `AppInstance::step`, which logs a line (the first
//!   host call) and stops at its first sleep. `keep` reuses the
//!   `LoadedApp` the verifier compiled; `reload` does what
//!   `akira sim-device` does: check the installed image's digest, read it
//!   from the store and load it again.
//! - `pieces/*`: the parts of `last_byte/*` on their own: the last chunk
//!   with [`AcceptAll`] (the chunk's hash, commit), `load_with_policy`,
//!   and instantiate plus the first step.

use std::hint::black_box;
use std::time::Duration;

use akira_caps::manifest::AppName;
use akira_caps::{Manifest, Policy, Version};
use akira_ota::block_on;
use akira_ota::package::{self, Accepted, Event, PackageReader, TrustPolicy, TrustedKey};
use akira_ota::protocol::{Detail, Request, Response};
use akira_ota::server::{AcceptAll, Outcome, Session, SessionConfig, Verifier};
use akira_ota::store::{BlockingFlash, BlockingStore, Image, Region, Staging, Store, StoreConfig};
use akira_ota::testing::SimFlash;
use akira_sandbox::akira_bridge::WaitKind;
use akira_sandbox::{AppInstance, LoadedApp, Runtime, Step};
use akira_sim::{SimBoard, What};
use criterion::{BatchSize, Criterion, SamplingMode, Throughput};
use ed25519_dalek::{Signature, Signer, SigningKey};
use sha2::{Digest, Sha256};

type Flash = SimFlash<4, 4096>;

/// The sector size of the simulated flash.
const SECTOR: usize = 4096;

/// Journal sectors and slots: `akira sim-device`'s defaults (4 slots of
/// 128 KiB).
const META_SECTORS: u32 = 2;
const SLOTS: u32 = 4;
const SLOT_SECTORS: u32 = 32;
const SECTORS: usize = (META_SECTORS + SLOTS * SLOT_SECTORS) as usize;

/// Bytes per Chunk, as `akira push` sends them.
const CHUNK: usize = 512;

/// Updates installed and confirmed per app for the erase counts.
const UPDATES: u16 = 200;

/// The app's name in every manifest.
const NAME: &str = "bench";

/// The line the app logs first.
const HELLO: &str = "app started";

/// The signer's key.
fn key() -> SigningKey {
    SigningKey::from_bytes(&[1; 32])
}

/// One work function of the generated app: `(n, seed) -> i32`, a loop of
/// `n` rounds of integer work on locals and memory, then calls to two
/// earlier functions with `n / 2` and `n / 4` (so every call chain ends).
/// Function indices: 0 and 1 are the imports, 2 is `akira_main`, work
/// function `k` is `3 + k`.
fn work_function(k: usize) -> String {
    let mix = |salt: usize| (k.wrapping_mul(2_654_435_761).wrapping_add(salt * 40_503) % 1_000_003) as i64;
    let (c0, c1, c2, c3, c4, c5) = (mix(1), mix(2) | 1, mix(3), mix(4), mix(5) * 7919 + 1, mix(6));
    let rot = 1 + k % 31;
    let (off, off2) = (0x4000 * (k % 4), 0x4000 * ((k + 1) % 4));
    let calls = if k == 0 {
        String::new()
    } else {
        let other = 3 + (k * 7919) % k;
        format!(
            "(if (i32.gt_u (local.get 0) (i32.const 1)) (then
               (local.set 2 (i32.add (local.get 2)
                 (call {prev} (i32.shr_u (local.get 0) (i32.const 1)) (local.get 2))))
               (local.set 2 (i32.xor (local.get 2)
                 (call {other} (i32.shr_u (local.get 0) (i32.const 2)) (local.get 1))))))",
            prev = 3 + k - 1
        )
    };
    format!(
        "(func (param i32 i32) (result i32) (local i32 i32 i64)
          (local.set 2 (i32.xor (local.get 1) (i32.const {c0})))
          (block (loop
            (br_if 1 (i32.ge_u (local.get 3) (local.get 0)))
            (local.set 2 (i32.add (i32.mul (local.get 2) (i32.const {c1})) (i32.xor (local.get 3) (i32.const {c2}))))
            (local.set 2 (i32.rotl (local.get 2) (i32.const {rot})))
            (i32.store offset={off} (i32.and (i32.shl (local.get 3) (i32.const 2)) (i32.const 0x3ffc)) (local.get 2))
            (local.set 2 (i32.sub (local.get 2)
              (i32.load offset={off2} (i32.and (i32.add (local.get 2) (i32.const {c3})) (i32.const 0x3ffc)))))
            (local.set 4 (i64.mul (i64.extend_i32_u (local.get 2)) (i64.const {c4})))
            (local.set 2 (i32.wrap_i64 (i64.xor (local.get 4) (i64.shr_u (local.get 4) (i64.const 29)))))
            (if (i32.and (local.get 2) (i32.const 1))
              (then (local.set 2 (i32.shr_u (local.get 2) (i32.const 3))))
              (else (local.set 2 (i32.add (local.get 2) (i32.const {c5})))))
            (local.set 3 (i32.add (local.get 3) (i32.const 1)))
            (br 0)))
          {calls}
          (local.get 2))\n"
    )
}

/// An app of `functions` work functions. `akira_main` logs [`HELLO`]
/// first (its first host call), sleeps, then loops over the last work
/// functions, sleeping between rounds. No names: the module carries no
/// name section, only code.
fn app_wat(functions: usize) -> String {
    let last = 3 + functions - 1;
    let mut wat = format!(
        r#"(module
        (import "akira:log" "write" (func (param i32 i32 i32) (result i32)))
        (import "akira:timer" "sleep_us" (func (param i64) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 0) "{HELLO}")
        (func (export "akira_main") (result i32) (local i32 i32)
          (drop (call 0 (i32.const 2) (i32.const 0) (i32.const {len})))
          (drop (call 1 (i64.const 1000)))
          (loop
            (local.set 0 (i32.add (local.get 0) (call {last} (i32.const 64) (local.get 1))))
            (local.set 0 (i32.xor (local.get 0) (call {mid} (i32.const 64) (local.get 0))))
            (local.set 1 (i32.add (local.get 1) (i32.const 1)))
            (drop (call 1 (i64.const 1000)))
            (br_if 0 (i32.lt_u (local.get 1) (i32.const 1000))))
          (local.get 0))
"#,
        len = HELLO.len(),
        mid = 3 + functions / 2,
    );
    for k in 0..functions {
        wat.push_str(&work_function(k));
    }
    wat.push(')');
    wat
}

/// Reads an unsigned LEB128 at `at`; returns the value and the next offset.
fn leb(bytes: &[u8], mut at: usize) -> (usize, usize) {
    let (mut value, mut shift) = (0usize, 0);
    loop {
        let b = bytes[at];
        at += 1;
        value |= usize::from(b & 0x7f) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            return (value, at);
        }
    }
}

/// The size of the module's code section (id 10), contents only.
fn code_section_len(wasm: &[u8]) -> usize {
    let mut at = 8;
    while at < wasm.len() {
        let id = wasm[at];
        let (len, body) = leb(wasm, at + 1);
        if id == 10 {
            return len;
        }
        at = body + len;
    }
    0
}

/// A generated app (without its manifest section).
struct App {
    label: &'static str,
    functions: usize,
    code: Vec<u8>,
}

impl App {
    /// The largest app of this shape whose module, with its manifest
    /// section, stays within `limit` bytes.
    fn generate(label: &'static str, limit: usize) -> App {
        let manifest_len = manifest(1).custom_section().len();
        let module = |n: usize| wat::parse_str(app_wat(n)).expect("the generated WAT parses");
        // Estimate from 64 functions, then step to the largest that fits.
        let per_function = module(64).len() / 64;
        let mut n = limit / per_function;
        let mut code = module(n);
        while code.len() + manifest_len > limit {
            n -= 1;
            code = module(n);
        }
        loop {
            let bigger = module(n + 1);
            if bigger.len() + manifest_len > limit {
                return App { label, functions: n, code };
            }
            (n, code) = (n + 1, bigger);
        }
    }

    /// The module with the manifest of version `1.minor.0` embedded.
    fn wasm(&self, minor: u16) -> Vec<u8> {
        let mut wasm = self.code.clone();
        wasm.extend_from_slice(&manifest(minor).custom_section());
        wasm
    }

    /// The signed package of version `1.minor.0`.
    fn package(&self, minor: u16) -> Package {
        let bytes = package::build(&manifest(minor), &self.wasm(minor), Some(&key()));
        let id = Sha256::digest(&bytes).into();
        Package { bytes, id }
    }
}

/// A signed package and its id: the SHA-256 of the package that `akira
/// push` computes on the host for resuming (outside the device's work).
struct Package {
    bytes: Vec<u8>,
    id: [u8; 32],
}

impl std::ops::Deref for Package {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

/// The bench app's manifest at version `1.minor.0`: logging and timers.
fn manifest(minor: u16) -> Manifest {
    let mut m = Manifest::new(AppName::try_from(NAME).unwrap(), Version::new(1, minor, 0));
    m.capabilities.log = true;
    m.capabilities.timer = true;
    m
}

fn name() -> AppName {
    AppName::try_from(NAME).unwrap()
}

fn open(flash: Flash) -> BlockingStore<Flash> {
    let config = StoreConfig { meta_sectors: META_SECTORS, slots: SLOTS };
    BlockingStore::open(flash, Region { offset: 0, size: (SECTORS * SECTOR) as u32 }, config).unwrap()
}

fn ask<V: Verifier<BlockingFlash<Flash>>>(
    session: &mut Session<'_>,
    store: &mut BlockingStore<Flash>,
    verifier: &mut V,
    request: Request<'_>,
) -> (Response, Option<Outcome>) {
    block_on(session.handle(request, 0, store.as_async(), verifier))
}

/// Sends Begin and the chunks of `pkg` up to (not including) byte `until`.
fn send(session: &mut Session<'_>, store: &mut BlockingStore<Flash>, pkg: &Package, until: usize) {
    let begin = Request::Begin { size: pkg.len() as u32, id: pkg.id };
    assert_eq!(ask(session, store, &mut AcceptAll, begin).0, Response::Resume { offset: 0 });
    for at in (0..until).step_by(CHUNK) {
        let data = &pkg[at..(at + CHUNK).min(until)];
        let (r, _) = ask(session, store, &mut AcceptAll, Request::Chunk { offset: at as u32, data });
        assert_eq!(r, Response::Ack { next: (at + data.len()) as u32 });
    }
}

/// Where the last chunk starts.
fn last_chunk(pkg: &[u8]) -> usize {
    (pkg.len() - 1) / CHUNK * CHUNK
}

/// Hands the last chunk to the session; returns the installed image.
fn finish<V: Verifier<BlockingFlash<Flash>>>(
    session: &mut Session<'_>,
    store: &mut BlockingStore<Flash>,
    verifier: &mut V,
    pkg: &[u8],
) -> Image {
    let at = last_chunk(pkg);
    match ask(session, store, verifier, Request::Chunk { offset: at as u32, data: &pkg[at..] }) {
        (Response::Installed { .. }, Some(Outcome::Installed { image, .. })) => image,
        other => panic!("install failed: {other:?}"),
    }
}

/// Installs `pkg` (Begin and every chunk) with [`AcceptAll`].
fn install(session: &mut Session<'_>, store: &mut BlockingStore<Flash>, pkg: &Package) -> Image {
    send(session, store, pkg, last_chunk(pkg));
    finish(session, store, &mut AcceptAll, pkg)
}

/// Versions installed before the benched one: after these every slot was
/// written (the first installs go to erased slots, see the erase counts),
/// so the next install erases every sector it needs: the steady state.
const WARM_UPDATES: u16 = 2 * SLOTS as u16;

/// The version the benches install.
const BENCH_MINOR: u16 = WARM_UPDATES + 1;

/// A flash whose store went through [`WARM_UPDATES`] installed and
/// confirmed versions `1.1.0..` of `app`.
fn steady_flash(app: &App, trust: &TrustPolicy<'_>) -> Flash {
    let mut store = open(Flash::new(SECTORS));
    let mut session = Session::new(trust, SessionConfig::default());
    for minor in 1..=WARM_UPDATES {
        install(&mut session, &mut store, &app.package(minor));
        store.confirm(&name()).unwrap();
    }
    let flash = store.into_flash();
    // The benched install erases every sector its image needs.
    let data_erases = |flash: &Flash| flash.erase_counts()[META_SECTORS as usize..].iter().sum::<u32>();
    let mut store = open(flash.clone());
    install(&mut Session::new(trust, SessionConfig::default()), &mut store, &app.package(BENCH_MINOR));
    let erased = data_erases(store.flash_mut()) - data_erases(&flash);
    assert_eq!(erased as usize, app.wasm(BENCH_MINOR).len().div_ceil(SECTOR));
    flash
}

/// The sandbox's install check, as `akira sim-device`'s `SandboxCheck`:
/// read the staged image back, validate, compile, grant and check imports,
/// and compare the embedded manifest with the package's. Keeps the
/// compiled app for a firmware that starts it without loading it again.
struct SandboxCheck<'r> {
    runtime: &'r Runtime<SimBoard>,
    policy: Policy,
    loaded: Option<LoadedApp>,
}

fn detail(text: impl std::fmt::Display) -> Detail {
    let mut d = Detail::new();
    for ch in text.to_string().chars() {
        if d.push(ch).is_err() {
            break;
        }
    }
    d
}

impl Verifier<BlockingFlash<Flash>> for SandboxCheck<'_> {
    async fn verify(
        &mut self,
        store: &mut Store<BlockingFlash<Flash>>,
        staging: &mut Staging,
        app: &Accepted,
        _: Option<&package::Vouched>,
    ) -> Result<(), Detail> {
        let mut wasm = vec![0; staging.len() as usize];
        store.read_staged(staging, 0, &mut wasm).await.map_err(detail)?;
        let loaded = self.runtime.load_with_policy(&wasm, &self.policy).map_err(detail)?;
        if loaded.manifest() != &app.manifest {
            return Err(detail("the manifest inside the wasm differs from the package's"));
        }
        self.loaded = Some(loaded);
        Ok(())
    }
}

/// Instantiates `app` on `board` and runs its first step: it logs, then
/// waits in its first sleep.
fn first_step(runtime: &Runtime<SimBoard>, app: &LoadedApp, board: SimBoard) -> AppInstance<SimBoard> {
    let mut instance = runtime.instantiate(app, 0, board).unwrap();
    match instance.step() {
        Step::Waiting(wait) if wait.kind == WaitKind::Sleep => instance,
        other => panic!("the app's first step ended with {other:?}"),
    }
}

/// What `akira sim-device` does after an install: check the image's
/// digest, read it from the store and load it.
fn reload(store: &mut BlockingStore<Flash>, image: &Image, runtime: &Runtime<SimBoard>, policy: &Policy) -> LoadedApp {
    assert!(store.verify(image).unwrap(), "the installed image matches its digest");
    let mut wasm = vec![0; image.len as usize];
    store.read(image, 0, &mut wasm).unwrap();
    runtime.load_with_policy(&wasm, policy).unwrap()
}

fn config() -> Criterion {
    Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2))
}

/// Figure 1: the install path per KiB.
fn install_path(c: &mut Criterion, app: &App, trust: &TrustPolicy<'_>) {
    let mut g = c.benchmark_group("install");

    let buf: Vec<u8> = (0..64 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    g.throughput(Throughput::Bytes(buf.len() as u64));
    g.bench_function("sha256_64k", |b| b.iter(|| Sha256::digest(black_box(&buf))));

    let digest: [u8; 32] = Sha256::digest(&buf).into();
    let message = package::signed_message(&digest);
    let signature: Signature = key().sign(&message);
    let public = key().verifying_key();
    public.verify_strict(&message, &signature).unwrap();
    g.throughput(Throughput::Elements(1));
    g.bench_function("ed25519_verify_strict", |b| {
        b.iter(|| black_box(&public).verify_strict(black_box(&message), black_box(&signature)))
    });

    let minor = BENCH_MINOR;
    let pkg = app.package(minor);
    let slot_bytes = SLOT_SECTORS * SECTOR as u32;
    let read = |pkg: &[u8]| {
        let mut reader = PackageReader::new(trust, slot_bytes);
        let mut wasm = 0;
        for mut chunk in pkg.chunks(CHUNK) {
            while !chunk.is_empty() {
                let (used, event) = reader.next(chunk).unwrap();
                if let Some(Event::Wasm(bytes)) = event {
                    wasm += bytes.len();
                }
                chunk = &chunk[used..];
            }
        }
        reader.finish().is_ok() && wasm > 0
    };
    assert!(read(&pkg));
    g.throughput(Throughput::Bytes(pkg.len() as u64));
    g.bench_function(format!("package_reader_{}", app.label), |b| b.iter(|| read(black_box(&pkg))));

    // The fixed cost of one request: a Hello through the same
    // `block_on(Session::handle(..))` every Chunk goes through.
    let mut store = open(Flash::new(SECTORS));
    let mut session = Session::new(trust, SessionConfig::default());
    g.throughput(Throughput::Elements(1));
    g.bench_function("session_hello", |b| {
        b.iter(|| ask(&mut session, &mut store, &mut AcceptAll, black_box(Request::Hello)).0)
    });

    let steady = steady_flash(app, trust);
    g.throughput(Throughput::Bytes(pkg.len() as u64));
    g.sample_size(20);
    g.bench_function(format!("session_{}", app.label), |b| {
        b.iter_batched(
            || (open(steady.clone()), Session::new(trust, SessionConfig::default())),
            |(mut store, mut session)| {
                let image = install(&mut session, &mut store, &pkg);
                assert_eq!(image.version, Version::new(1, minor, 0));
                store
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// Figure 2: from the last byte to the first instruction, and its pieces.
fn last_byte(c: &mut Criterion, apps: &[App], trust: &TrustPolicy<'_>) {
    let policy = Policy::development();
    let runtime = akira_sim::runtime(policy.clone());
    let minor = BENCH_MINOR;
    for app in apps {
        let pkg = app.package(minor);
        let wasm = app.wasm(minor);
        let steady = steady_flash(app, trust);
        // Everything but the last chunk delivered.
        let staged = || {
            let mut store = open(steady.clone());
            let mut session = Session::new(trust, SessionConfig::default());
            send(&mut session, &mut store, &pkg, last_chunk(&pkg));
            (store, session)
        };
        let mut check = SandboxCheck { runtime: &runtime, policy: policy.clone(), loaded: None };

        // Once outside the timing: the app logs its line, the versions match.
        let (mut store, mut session) = staged();
        finish(&mut session, &mut store, &mut check, &pkg);
        let board = SimBoard::virtual_time();
        let loaded = check.loaded.take().unwrap();
        assert_eq!(loaded.manifest().version, Version::new(1, minor, 0));
        first_step(&runtime, &loaded, board.clone());
        assert!(
            board.records().iter().any(|r| matches!(&r.what, What::Log { message, .. } if message == HELLO)),
            "the first host call logged"
        );

        let mut g = c.benchmark_group("last_byte");
        g.sampling_mode(SamplingMode::Flat).sample_size(20);
        g.bench_function(format!("{}_keep", app.label), |b| {
            b.iter_batched(
                || (staged(), SimBoard::virtual_time()),
                |((mut store, mut session), board)| {
                    finish(&mut session, &mut store, &mut check, &pkg);
                    let loaded = check.loaded.take().unwrap();
                    let instance = first_step(&runtime, &loaded, board);
                    (store, loaded, instance)
                },
                BatchSize::PerIteration,
            )
        });
        g.bench_function(format!("{}_reload", app.label), |b| {
            b.iter_batched(
                || (staged(), SimBoard::virtual_time()),
                |((mut store, mut session), board)| {
                    let image = finish(&mut session, &mut store, &mut check, &pkg);
                    let checked = check.loaded.take();
                    let loaded = reload(&mut store, &image, &runtime, &policy);
                    let instance = first_step(&runtime, &loaded, board);
                    (store, checked, loaded, instance)
                },
                BatchSize::PerIteration,
            )
        });
        g.finish();

        let mut g = c.benchmark_group("pieces");
        g.sampling_mode(SamplingMode::Flat).sample_size(20);
        g.bench_function(format!("{}_last_chunk_accept_all", app.label), |b| {
            b.iter_batched(
                staged,
                |(mut store, mut session)| {
                    finish(&mut session, &mut store, &mut AcceptAll, &pkg);
                    store
                },
                BatchSize::PerIteration,
            )
        });
        g.bench_function(format!("{}_load", app.label), |b| {
            b.iter_batched(|| (), |()| runtime.load_with_policy(&wasm, &policy).unwrap(), BatchSize::PerIteration)
        });
        g.bench_function(format!("{}_instantiate_step", app.label), |b| {
            b.iter_batched(
                SimBoard::virtual_time,
                |board| first_step(&runtime, &loaded, board),
                BatchSize::PerIteration,
            )
        });
        g.finish();
    }
}

/// Figure 3: installs and confirms [`UPDATES`] updates of `app` on a fresh
/// flash and prints the erases per update.
fn erase_counts(app: &App, trust: &TrustPolicy<'_>) {
    let mut store = open(Flash::new(SECTORS));
    let mut session = Session::new(trust, SessionConfig::default());
    let meta = META_SECTORS as usize;
    let total = |counts: &[u32]| counts.iter().map(|c| u64::from(*c)).sum::<u64>();
    let mut per_update = Vec::new();
    let mut journal_erased_at = Vec::new();
    let mut before = 0;
    for minor in 1..=UPDATES {
        install(&mut session, &mut store, &app.package(minor));
        let (r, _) = ask(&mut session, &mut store, &mut AcceptAll, Request::Confirm { name: name() });
        assert_eq!(r, Response::Done);
        let now = total(&store.flash_mut().erase_counts()[meta..]);
        per_update.push(now - before);
        before = now;
        if total(&store.flash_mut().erase_counts()[..meta]) > journal_erased_at.len() as u64 {
            journal_erased_at.push(minor);
        }
    }
    let (data, journal) = store.erase_counts();
    let (data, journal) = (data.to_vec(), journal.to_vec());
    let flash = store.flash_mut();
    let physical = flash.erase_counts().to_vec();
    assert_eq!(flash.violations(), 0, "no write to unerased bytes");
    assert_eq!(&physical[..meta], &journal[..], "journal erases: the store's counts are the flash's");
    assert_eq!(&physical[meta..], &data[..], "data erases: the store's counts are the flash's");

    let n = f64::from(UPDATES);
    let needed = app.wasm(1).len().div_ceil(SECTOR);
    let used: Vec<u32> = data.chunks(SLOT_SECTORS as usize).flat_map(|slot| slot[..needed].iter().copied()).collect();
    let first: Vec<u64> = per_update.iter().take(WARM_UPDATES as usize).copied().collect();
    let steady = &per_update[WARM_UPDATES as usize..];
    println!(
        "erase counts, {} app ({} bytes, {needed} sectors of 4 KiB), {UPDATES} updates installed and confirmed on \
         {SLOTS} slots of {SLOT_SECTORS} sectors and {META_SECTORS} journal sectors:",
        app.label,
        app.wasm(1).len()
    );
    println!(
        "  data-sector erases: {} in all, {:.2} per update; steady state {}..{} per update; first {} updates: {:?}",
        total(&data),
        total(&data) as f64 / n,
        steady.iter().min().unwrap(),
        steady.iter().max().unwrap(),
        first.len(),
        first
    );
    println!(
        "  journal erases: {} in all ({:?} per sector), {:.3} per update (one every {:.1} updates), during updates \
         {:?}",
        total(&journal),
        journal,
        total(&journal) as f64 / n,
        n / total(&journal) as f64,
        journal_erased_at
    );
    println!(
        "  per data sector after {UPDATES} updates: the {} sectors an image uses: min {} max {}; all {} data \
         sectors: min {} max {}",
        used.len(),
        used.iter().min().unwrap(),
        used.iter().max().unwrap(),
        data.len(),
        data.iter().min().unwrap(),
        data.iter().max().unwrap()
    );
}

fn main() {
    let signer = Policy::development();
    let keys = [TrustedKey {
        name: "release",
        public_key: key().verifying_key().to_bytes(),
        policy: &signer,
        rights: package::Rights::OWNER,
    }];
    let trust = TrustPolicy { keys: &keys, ..TrustPolicy::default() };

    let apps = [App::generate("64k", 64 * 1024), App::generate("100k", 100 * 1024)];
    for app in &apps {
        let wasm = app.wasm(1);
        println!(
            "{} app: {} work functions; module {} bytes ({:.1} KiB) with its manifest, code section {} bytes \
             ({:.1} KiB); package {} bytes",
            app.label,
            app.functions,
            wasm.len(),
            wasm.len() as f64 / 1024.0,
            code_section_len(&wasm),
            code_section_len(&wasm) as f64 / 1024.0,
            app.package(1).len()
        );
    }
    for app in &apps {
        erase_counts(app, &trust);
    }

    let mut c = config().configure_from_args();
    install_path(&mut c, &apps[0], &trust);
    last_byte(&mut c, &apps, &trust);
    c.final_summary();
}
