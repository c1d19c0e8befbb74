#![doc = include_str!("../README.md")]
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

extern crate alloc;

#[cfg(feature = "heap")]
pub mod heap;
mod install;
#[cfg(feature = "defmt")]
pub mod log;
mod note;
mod serve;

pub use note::Note;

use install::{Check, load, policy_for};

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use akira_bridge::{Board, Instant, OtaRequest, OtaRequests, OtaStatus};
use akira_caps::manifest::AppName;
use akira_ota::command::DeviceId;
use akira_ota::frame::{self, FrameDecoder, MAX_FRAME};
use akira_ota::package::TrustPolicy;
use akira_ota::protocol::{ErrorCode, Request, Response};
use akira_ota::server::{Backoff, Outcome, Session, SessionConfig};
use akira_ota::store::{Boot, Store};
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

struct Running {
    name: AppName,
    id: AppId,
    /// Since when it has run without a fault; `None` after a fault.
    healthy_since: Option<Instant>,
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
    pub fn run_builtin(&mut self, wasm: &[u8], policy: &akira_caps::Policy) -> Result<AppId, LoadError> {
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
