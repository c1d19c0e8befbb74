#![doc = include_str!("../README.md")]
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

extern crate alloc;

#[cfg(feature = "heap")]
pub mod heap;
#[cfg(feature = "defmt")]
pub mod log;
mod serve;

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use akira_bridge::{AppInfo, Board, Instant, OtaRequest, OtaRequests, OtaStatus};
use akira_caps::manifest::AppName;
use akira_caps::{Policy, Version};
use akira_ota::command::DeviceId;
use akira_ota::frame::{self, FrameDecoder, MAX_FRAME};
use akira_ota::package::{Accepted, KeyId, TrustPolicy, Vouched};
use akira_ota::protocol::{Detail, ErrorCode, Request, Response, detail};
use akira_ota::server::{Backoff, Outcome, Session, SessionConfig, Verifier};
use akira_ota::store::{Boot, Staging, Store, StoreError};
use akira_sandbox::{AppId, Event, LoadError, LoadedApp, RestartPolicy, Round, Runtime, Scheduler};
use embedded_storage_async::nor_flash::NorFlash;

/// How the device treats its apps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DeviceConfig {
    /// A version on trial is confirmed after running this long without a
    /// fault.
    pub confirm_after: Duration,
    /// How faulted apps are restarted; its crash-loop detection triggers
    /// the rollback of a version on trial.
    pub restart: RestartPolicy,
    /// Let packages at or below an app's anti-rollback floor in (a
    /// firmware-level choice of the device owner; a signed command can
    /// allow one downgrade at a time).
    pub allow_downgrade: bool,
    /// Boots a version on trial may run in before it must be confirmed,
    /// the one that installed it included (0 is taken as 1). At the boot
    /// after its last one, a version still on trial is reverted before
    /// anything runs: rolled back to its previous version, or uninstalled
    /// if it was the app's first (see `akira_ota::store::Store::boot`).
    /// Each boot is counted in the store before the version runs.
    pub max_trial_boots: u8,
    /// This device's id, which signed management commands name (or they
    /// name every device). Typically from the chip's unique id.
    pub device: DeviceId,
    /// How long the link waits after failed transfers.
    pub backoff: Backoff,
}

impl Default for DeviceConfig {
    /// Confirm after 10 s; the default restart policy; no downgrades; a
    /// trial reverted at the next boot (1 trial boot); device id zero; the
    /// default backoff.
    fn default() -> Self {
        DeviceConfig {
            confirm_after: Duration::from_secs(10),
            restart: RestartPolicy::default(),
            allow_downgrade: false,
            max_trial_boots: 1,
            device: [0; 8],
            backoff: Backoff::default(),
        }
    }
}

/// Whether this firmware can validate wasm (`akira-sandbox`'s `validate`,
/// through this crate's `validate` feature). Without it, the device takes
/// packages only from keys trusted to skip validation.
pub const VALIDATES: bool = cfg!(feature = "validate");

/// What the device did, for the firmware's log or display.
#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Note<'a> {
    /// An app version started.
    Started {
        /// The app.
        name: &'a AppName,
        /// Its version.
        version: Version,
        /// Whether it is on trial.
        trial: bool,
    },
    /// A package was installed.
    Installed {
        /// The app.
        name: &'a AppName,
        /// Its new version.
        version: Version,
        /// Bytes of wasm.
        bytes: u32,
        /// Whether the wasm was validated; `false` for a package from a
        /// trusted signer (trusted-signer mode).
        validated: bool,
    },
    /// A version on trial was confirmed.
    Confirmed {
        /// The app.
        name: &'a AppName,
    },
    /// An app went back to its previous version (on request, or because
    /// the version on trial crash-looped or was found corrupt).
    RolledBack {
        /// The app.
        name: &'a AppName,
        /// The version now active.
        to: Version,
    },
    /// A version on trial was still unconfirmed at the boot after its
    /// last trial boot ([`DeviceConfig::max_trial_boots`]): it is reverted
    /// before it runs again ([`Note::RolledBack`] or [`Note::Removed`]
    /// follows).
    TrialExpired {
        /// The app.
        name: &'a AppName,
        /// The version dropped.
        version: Version,
    },
    /// An app was uninstalled (on request, or its first version's trial
    /// expired).
    Removed {
        /// The app.
        name: &'a AppName,
    },
    /// An installed image no longer matches its digest (flash corruption).
    Corrupt {
        /// The app.
        name: &'a AppName,
        /// The corrupt version.
        version: Version,
    },
    /// An app's native code (its package's `akira.aot` section) runs
    /// rather than the interpreter: its signer has `Rights::NATIVE_CODE`
    /// (feature `aot`). Comes before [`Note::Started`].
    #[cfg(feature = "aot")]
    NativeCode {
        /// The app.
        name: &'a AppName,
    },
    /// An installed app could not be started.
    NotStarted {
        /// The app.
        name: &'a AppName,
        /// Why.
        error: &'a LoadError,
    },
    /// The store failed (flash error).
    Store(&'a StoreError),
    /// Something happened to a running app (started, exited, faulted, ...).
    App {
        /// The app.
        app: &'a AppInfo,
        /// What.
        event: &'a Event,
    },
}

struct Running {
    name: AppName,
    id: AppId,
    /// Since when it has run without a fault; `None` after a fault.
    healthy_since: Option<Instant>,
}

/// The policy a signer's apps are granted under.
fn policy_for<'a>(trust: &'a TrustPolicy<'a>, signer: Option<KeyId>) -> Option<&'a Policy> {
    match signer {
        Some(id) => trust.find(&id).map(|k| k.policy),
        None => trust.unsigned,
    }
}

/// The install check: the sandbox's full load of the staged image under
/// its signer's policy, without validation when a trusted signer vouched
/// for it. The loaded app is kept, so the device starts it without
/// compiling it again.
struct Check<'a, B: Board> {
    runtime: &'a Runtime<B>,
    trust: &'a TrustPolicy<'a>,
    loaded: &'a mut Option<(LoadedApp, bool)>,
}

impl<B: Board, F: NorFlash> Verifier<F> for Check<'_, B> {
    async fn verify(
        &mut self,
        store: &mut Store<F>,
        staging: &mut Staging,
        app: &Accepted,
        vouched: Option<&Vouched>,
    ) -> Result<(), Detail> {
        let policy = policy_for(self.trust, app.signer).ok_or_else(|| detail("no policy for this signer"))?;
        let mut wasm = vec![0u8; staging.len() as usize];
        store.read_staged(staging, 0, &mut wasm).await.map_err(detail)?;
        let loaded = load(
            self.runtime,
            &wasm,
            vouched,
            policy,
            #[cfg(feature = "aot")]
            app.signer.map(|_| app.rights),
        )
        .map_err(detail)?;
        if loaded.manifest() != &app.manifest {
            return Err(detail("the manifest inside the wasm differs from the package's"));
        }
        *self.loaded = Some((loaded, vouched.is_none()));
        Ok(())
    }
}

/// Loads `wasm` under `policy`, with its native code (feature `aot`) if
/// its signer's `rights` include `Rights::NATIVE_CODE` and the package has
/// any: a key without the right never gets native code run. Malformed
/// native code from a trusted signer refuses the app, and so does a
/// firmware without the interpreter an app without native code.
fn load<B: Board>(
    runtime: &Runtime<B>,
    wasm: &[u8],
    vouched: Option<&Vouched>,
    policy: &Policy,
    #[cfg(feature = "aot")] rights: Option<akira_ota::package::Rights>,
) -> Result<LoadedApp, LoadError> {
    let loaded = load_wasm(runtime, wasm, vouched, policy);
    #[cfg(feature = "aot")]
    let loaded = loaded.and_then(|app| match akira_aot::trust::blob_for_signer(rights, wasm) {
        Ok(blob) => app.with_native_code(blob.bytes()),
        Err(akira_aot::trust::TrustError::Format(e)) => Err(LoadError::Instantiate(alloc::format!("native code: {e}"))),
        // Not trusted with native code, or none: interpreted.
        Err(_) => Ok(app),
    });
    // A firmware without the interpreter runs native code only: an app
    // without any from a signer trusted with it is refused at install.
    loaded.and_then(|app| {
        if app.has_native_code() || Runtime::<B>::INTERPRETS { Ok(app) } else { Err(LoadError::NeedsNativeCode) }
    })
}

/// Loads `wasm` under `policy`. A firmware with the validator validates
/// every app, trusted signers' included; one without it loads only what a
/// trusted signer vouched for (its session refuses other packages at the
/// header), without validation.
fn load_wasm<B: Board>(
    runtime: &Runtime<B>,
    wasm: &[u8],
    vouched: Option<&Vouched>,
    policy: &Policy,
) -> Result<LoadedApp, LoadError> {
    #[cfg(feature = "validate")]
    {
        let _ = vouched;
        runtime.load_with_policy(wasm, policy)
    }
    #[cfg(not(feature = "validate"))]
    match vouched {
        Some(proof) => runtime.load_vouched(wasm, proof, policy),
        None => Err(LoadError::Instantiate(
            "this firmware has no wasm validator; the app's signer is not trusted to skip it".into(),
        )),
    }
}

/// A device: the OTA store, a protocol session and the apps running on a
/// scheduler. Feed it bytes from the host link with [`Device::receive`] and
/// let it run with [`Device::round`]; it starts installed apps, restarts
/// faulted ones, rolls a version on trial back when it crash-loops and
/// confirms it after a healthy run.
pub struct Device<'t, B: Board + Clone, F: NorFlash> {
    // The store, the session and the frame decoder hold buffers (about
    // 9 KB together): boxed, a `Device` is small enough to be returned and
    // moved without a copy of them on the stack of a 24 KB firmware.
    store: Box<Store<F>>,
    session: Box<Session<'t>>,
    trust: &'t TrustPolicy<'t>,
    sched: Scheduler<B>,
    board: B,
    config: DeviceConfig,
    decoder: Box<FrameDecoder<MAX_FRAME>>,
    running: Vec<Running>,
    /// The app the install check loaded, and whether it was validated.
    verified: Option<(LoadedApp, bool)>,
    ota: Option<&'t dyn OtaRequests>,
}

/// An encoded response frame, ready to write to the link.
pub type ReplyFrame = heapless::Vec<u8, MAX_FRAME>;

impl<'t, B: Board + Clone, F: NorFlash> Device<'t, B, F> {
    /// A device over `store`, running apps on `board` with `runtime`, taking
    /// packages signed by `trust`. Boots every installed app: a version on
    /// trial has this boot counted in the store before it starts, or is
    /// reverted if it already ran [`DeviceConfig::max_trial_boots`] boots.
    pub async fn new(
        store: Store<F>,
        runtime: Runtime<B>,
        board: B,
        trust: &'t TrustPolicy<'t>,
        config: DeviceConfig,
        mut notes: impl FnMut(Note<'_>),
    ) -> Self {
        let mut device = Device {
            store: Box::new(store),
            session: Box::new(Session::new(
                trust,
                SessionConfig {
                    device: config.device,
                    allow_downgrade: config.allow_downgrade,
                    validator: VALIDATES,
                    backoff: config.backoff,
                },
            )),
            trust,
            sched: Scheduler::new(runtime),
            board,
            config,
            decoder: Box::new(FrameDecoder::new()),
            running: Vec::new(),
            verified: None,
            ota: None,
        };
        let names: Vec<AppName> = device.store.apps().iter().map(|a| a.name.clone()).collect();
        for name in &names {
            device.boot(name, &mut notes).await;
        }
        device
    }

    /// Starts `name` at boot, after the store's trial step (see
    /// [`DeviceConfig::max_trial_boots`]). If the boot cannot be counted,
    /// nothing of the app runs.
    async fn boot(&mut self, name: &AppName, notes: &mut impl FnMut(Note<'_>)) {
        match self.store.boot(name, self.config.max_trial_boots).await {
            Err(e) => return notes(Note::Store(&e)),
            Ok(Boot::Removed { version }) => {
                notes(Note::TrialExpired { name, version });
                return notes(Note::Removed { name });
            }
            Ok(Boot::RolledBack { from, to }) => {
                notes(Note::TrialExpired { name, version: from });
                notes(Note::RolledBack { name, to: to.version });
            }
            Ok(_) => {}
        }
        self.start(name, notes).await;
    }

    /// This device's id ([`DeviceConfig::device`]), which signed commands name.
    pub fn id(&self) -> DeviceId {
        self.config.device
    }

    /// The board the apps run on; its clock times [`Device::round`].
    pub fn board(&self) -> &B {
        &self.board
    }

    /// The store.
    pub fn store(&self) -> &Store<F> {
        &self.store
    }

    /// Runs an app built into the firmware (not in the store, not updated
    /// over the air), granted under `policy`, with the device's restart
    /// policy. (Needs the `validate` feature; a firmware without it loads
    /// its built-in apps with `Runtime::load_unchecked` and spawns them on
    /// [`Device::scheduler_mut`].)
    #[cfg(feature = "validate")]
    pub fn run_builtin(&mut self, wasm: &[u8], policy: &Policy) -> Result<AppId, LoadError> {
        let app = self.sched.runtime().load_with_policy(wasm, policy)?;
        self.sched.spawn(app, self.board.clone(), self.config.restart)
    }

    /// Serves the apps' `akira:ota` calls: from now on the device
    /// publishes each store-managed app's update status into `requests`
    /// (the [`akira_bridge::OtaMailbox`] the board answers `akira:ota`
    /// from) and carries out the apps' requests at each
    /// [`Device::round`]: an app that confirms itself is confirmed at
    /// once, without waiting for [`DeviceConfig::confirm_after`]; one that
    /// asks for a rollback is stopped, rolled back and its previous
    /// version started.
    pub fn serve_app_requests(&mut self, requests: &'t dyn OtaRequests) {
        self.ota = Some(requests);
        let names: Vec<AppName> = self.running.iter().map(|r| r.name.clone()).collect();
        for name in &names {
            self.publish(name);
        }
    }

    /// Publishes `name`'s update status (or its absence) to the apps.
    fn publish(&self, name: &AppName) {
        if let Some(ota) = self.ota {
            let status = self
                .store
                .app(name)
                .map(|a| OtaStatus { trial: !a.confirmed, previous: a.previous.as_ref().map(|p| p.version) });
            ota.publish(name, status);
        }
    }

    /// Confirms `name` if it is on trial.
    async fn confirm(&mut self, name: &AppName, notes: &mut impl FnMut(Note<'_>)) {
        if self.store.app(name).is_none_or(|a| a.confirmed) {
            return;
        }
        match self.store.confirm(name).await {
            Ok(()) => notes(Note::Confirmed { name }),
            Err(e) => notes(Note::Store(&e)),
        }
        self.publish(name);
    }

    /// Carries out the requests apps made through `akira:ota`.
    async fn serve_requests(&mut self, notes: &mut impl FnMut(Note<'_>)) {
        let Some(ota) = self.ota else { return };
        while let Some((name, request)) = ota.take_request() {
            match request {
                OtaRequest::Confirm => self.confirm(&name, notes).await,
                OtaRequest::Rollback
                    if self.store.app(&name).is_some_and(|a| a.previous.is_some())
                        && self.rollback(&name, notes).await =>
                {
                    self.start(&name, notes).await;
                }
                _ => {}
            }
        }
    }

    /// Stops the apps and gives the store back.
    pub fn into_store(self) -> Store<F> {
        *self.store
    }

    /// The scheduler running the apps.
    pub fn scheduler(&self) -> &Scheduler<B> {
        &self.sched
    }

    /// The scheduler, to spawn apps the device does not manage.
    pub fn scheduler_mut(&mut self) -> &mut Scheduler<B> {
        &mut self.sched
    }

    /// Transfers refused or abandoned on the host link since the device
    /// started (each one also delays the next, see [`DeviceConfig::backoff`]).
    pub fn failed_transfers(&self) -> u32 {
        self.session.failed_transfers()
    }

    /// Forgets a half-received frame: call it when a connection-oriented
    /// link (TCP, USB) reconnects. The transfer in progress is kept, so
    /// the host can resume it. (On a UART the host sends a lone `0x00`
    /// first, which does the same.)
    pub fn link_reset(&mut self) {
        self.decoder.reset();
    }

    /// Bytes of a transfer in progress: `(received, total)`.
    pub fn transfer_progress(&self) -> Option<(u32, u32)> {
        self.session.transfer_progress()
    }

    fn stop(&mut self, name: &AppName) {
        if let Some(i) = self.running.iter().position(|r| &r.name == name) {
            let r = self.running.remove(i);
            self.sched.remove(r.id);
        }
    }

    fn spawn(&mut self, name: &AppName, app: LoadedApp, trial: bool, notes: &mut impl FnMut(Note<'_>)) {
        let version = app.manifest().version;
        #[cfg(feature = "aot")]
        let native = app.has_native_code();
        match self.sched.spawn(app, self.board.clone(), self.config.restart) {
            Ok(id) => {
                let now = self.board.now();
                self.running.push(Running { name: name.clone(), id, healthy_since: Some(now) });
                self.publish(name);
                #[cfg(feature = "aot")]
                if native {
                    notes(Note::NativeCode { name });
                }
                notes(Note::Started { name, version, trial });
            }
            Err(error) => notes(Note::NotStarted { name, error: &error }),
        }
    }

    /// Starts `name`'s active version (checking its digest first; a
    /// corrupt version on trial is rolled back).
    async fn start(&mut self, name: &AppName, notes: &mut impl FnMut(Note<'_>)) {
        self.stop(name);
        // At most two tries: the active version, then the previous one if
        // the active one is corrupt.
        for _ in 0..2 {
            let Some(app) = self.store.app(name).cloned() else { return };
            match self.store.verify(&app.active).await {
                Ok(true) => {}
                Ok(false) => {
                    notes(Note::Corrupt { name, version: app.active.version });
                    if app.previous.is_some() && self.rollback(name, notes).await {
                        continue;
                    }
                    return;
                }
                Err(e) => return notes(Note::Store(&e)),
            }
            let mut wasm = vec![0u8; app.active.len as usize];
            if let Err(e) = self.store.read(&app.active, 0, &mut wasm).await {
                return notes(Note::Store(&e));
            }
            let Some(policy) = policy_for(self.trust, app.active.signer) else {
                let error = LoadError::Instantiate("the signer of this app is no longer trusted".into());
                return notes(Note::NotStarted { name, error: &error });
            };
            let vouched = match self.store.vouch(&app.active, self.trust).await {
                Ok(v) => v,
                Err(e) => return notes(Note::Store(&e)),
            };
            let loaded = load(
                self.sched.runtime(),
                &wasm,
                vouched.as_ref(),
                policy,
                #[cfg(feature = "aot")]
                app.active.signer.and_then(|id| self.trust.find(&id)).map(|k| k.rights),
            );
            match loaded {
                Ok(loaded) => self.spawn(name, loaded, !app.confirmed, notes),
                Err(error) => notes(Note::NotStarted { name, error: &error }),
            }
            return;
        }
    }

    /// Rolls `name` back in the store; `true` on success.
    async fn rollback(&mut self, name: &AppName, notes: &mut impl FnMut(Note<'_>)) -> bool {
        match self.store.rollback(name).await {
            Ok(image) => {
                self.publish(name);
                notes(Note::RolledBack { name, to: image.version });
                true
            }
            Err(e) => {
                notes(Note::Store(&e));
                false
            }
        }
    }

    async fn apply(&mut self, outcome: Outcome, notes: &mut impl FnMut(Note<'_>)) {
        match outcome {
            Outcome::Installed { name, image } => {
                let validated = self.verified.as_ref().is_none_or(|(_, validated)| *validated);
                notes(Note::Installed { name: &name, version: image.version, bytes: image.len, validated });
                self.stop(&name);
                match self.verified.take() {
                    Some((app, _)) => self.spawn(&name, app, true, notes),
                    None => self.start(&name, notes).await,
                }
            }
            Outcome::RolledBack { name, image } => {
                notes(Note::RolledBack { name: &name, to: image.version });
                self.start(&name, notes).await;
            }
            Outcome::Removed { name } => {
                self.stop(&name);
                self.publish(&name);
                notes(Note::Removed { name: &name });
            }
            Outcome::Confirmed { name } => {
                self.publish(&name);
                notes(Note::Confirmed { name: &name })
            }
        }
    }

    /// Takes bytes from the host link. Consumes a prefix of `data` and
    /// returns how much, and the response frame to write back if a request
    /// was complete; call again with the rest.
    pub async fn receive(&mut self, data: &[u8], mut notes: impl FnMut(Note<'_>)) -> (usize, Option<ReplyFrame>) {
        self.receive_with(data, &mut notes).await
    }

    /// [`Device::receive`] with borrowed notes: [`Device::serve`] calls it
    /// so that the firmware's notes function is compiled in once.
    async fn receive_with(&mut self, data: &[u8], notes: &mut impl FnMut(Note<'_>)) -> (usize, Option<ReplyFrame>) {
        let (used, done) = self.decoder.push(data);
        let response = match done {
            None => return (used, None),
            Some(Err(e)) => (Response::error(ErrorCode::BadFrame, e.as_str()), None),
            Some(Ok(_)) => match frame::decode::<Request<'_>>(self.decoder.frame()) {
                Err(e) => (Response::error(ErrorCode::BadFrame, e.as_str()), None),
                Ok(request) => {
                    let mut check =
                        Check { runtime: self.sched.runtime(), trust: self.trust, loaded: &mut self.verified };
                    let now_ms = self.board.now().as_micros() / 1000;
                    self.session.handle(request, now_ms, &mut self.store, &mut check).await
                }
            },
        };
        let mut buf = [0u8; MAX_FRAME];
        let reply = frame::encode(&response.0, &mut buf).ok().and_then(|n| ReplyFrame::from_slice(&buf[..n]).ok());
        if let Some(outcome) = response.1 {
            self.apply(outcome, notes).await;
        }
        self.verified = None;
        (used, reply)
    }

    /// Runs one scheduler round at `now` and supervises: a version on
    /// trial that crash-loops is rolled back and its previous version
    /// started; one that ran `confirm_after` without a fault is confirmed;
    /// the apps' own confirmations and rollback requests are carried out
    /// (see [`Device::serve_app_requests`]).
    pub async fn round(&mut self, now: Instant, mut notes: impl FnMut(Note<'_>)) -> Round {
        self.round_with(now, &mut notes).await
    }

    /// [`Device::round`] with borrowed notes (see [`Device::receive_with`]).
    async fn round_with(&mut self, now: Instant, notes: &mut impl FnMut(Note<'_>)) -> Round {
        let mut events: Vec<(AppId, Event)> = Vec::new();
        let round = self.sched.poll(now, |info, event| {
            notes(Note::App { app: info, event });
            events.push((AppId(info.id), event.clone()));
        });
        for (id, event) in events {
            let Some(r) = self.running.iter_mut().find(|r| r.id == id) else { continue };
            match event {
                Event::Faulted(_) => r.healthy_since = None,
                Event::Started => r.healthy_since = Some(now),
                Event::CrashLoop { .. } => {
                    let name = r.name.clone();
                    let trial = self.store.app(&name).is_some_and(|a| !a.confirmed && a.previous.is_some());
                    if trial && self.rollback(&name, notes).await {
                        self.start(&name, notes).await;
                    }
                }
                _ => {}
            }
        }
        self.serve_requests(notes).await;
        let due: Vec<AppName> = self
            .running
            .iter()
            .filter(|r| r.healthy_since.is_some_and(|t| now.saturating_since(t) >= self.config.confirm_after))
            .filter(|r| self.store.app(&r.name).is_some_and(|a| !a.confirmed))
            .map(|r| r.name.clone())
            .collect();
        for name in due {
            self.confirm(&name, notes).await;
        }
        round
    }
}
