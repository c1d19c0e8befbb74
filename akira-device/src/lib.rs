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

use alloc::vec;
use alloc::vec::Vec;
use core::fmt::Write as _;
use core::time::Duration;

use akira_bridge::{AppInfo, Board, Instant, OtaRequest, OtaRequests, OtaStatus};
use akira_caps::manifest::AppName;
use akira_caps::{Policy, Version};
use akira_ota::frame::{self, FrameDecoder, MAX_FRAME};
use akira_ota::package::{Accepted, KeyId, TrustPolicy};
use akira_ota::protocol::{Detail, ErrorCode, Request, Response};
use akira_ota::server::{Outcome, Session, Verifier};
use akira_ota::store::{Staging, Store, StoreError};
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
    /// Let packages at or below an app's anti-rollback floor in (only on
    /// the device owner's request).
    pub allow_downgrade: bool,
}

impl Default for DeviceConfig {
    /// Confirm after 10 s; the default restart policy; no downgrades.
    fn default() -> Self {
        DeviceConfig {
            confirm_after: Duration::from_secs(10),
            restart: RestartPolicy::default(),
            allow_downgrade: false,
        }
    }
}

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
    /// An app was uninstalled.
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

fn detail(what: impl core::fmt::Display) -> Detail {
    struct Cut(Detail);
    impl core::fmt::Write for Cut {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            for c in s.chars() {
                if self.0.push(c).is_err() {
                    break;
                }
            }
            Ok(())
        }
    }
    let mut cut = Cut(Detail::new());
    let _ = write!(cut, "{what}");
    cut.0
}

/// The install check: the sandbox's full load of the staged image under
/// its signer's policy. The loaded app is kept, so the device starts it
/// without compiling it again.
struct Check<'a, B: Board> {
    runtime: &'a Runtime<B>,
    trust: &'a TrustPolicy<'a>,
    loaded: &'a mut Option<LoadedApp>,
}

impl<B: Board, F: NorFlash> Verifier<F> for Check<'_, B> {
    async fn verify(&mut self, store: &mut Store<F>, staging: &mut Staging, app: &Accepted) -> Result<(), Detail> {
        let policy = policy_for(self.trust, app.signer).ok_or_else(|| detail("no policy for this signer"))?;
        let mut wasm = vec![0u8; staging.len() as usize];
        store.read_staged(staging, 0, &mut wasm).await.map_err(detail)?;
        let loaded = self.runtime.load_with_policy(&wasm, policy).map_err(detail)?;
        if loaded.manifest() != &app.manifest {
            return Err(detail("the manifest inside the wasm differs from the package's"));
        }
        *self.loaded = Some(loaded);
        Ok(())
    }
}

/// A device: the OTA store, a protocol session and the apps running on a
/// scheduler. Feed it bytes from the host link with [`Device::receive`] and
/// let it run with [`Device::round`]; it starts installed apps, restarts
/// faulted ones, rolls a version on trial back when it crash-loops and
/// confirms it after a healthy run.
pub struct Device<'t, B: Board + Clone, F: NorFlash> {
    store: Store<F>,
    session: Session<'t>,
    trust: &'t TrustPolicy<'t>,
    sched: Scheduler<B>,
    board: B,
    config: DeviceConfig,
    decoder: FrameDecoder<MAX_FRAME>,
    running: Vec<Running>,
    verified: Option<LoadedApp>,
    ota: Option<&'t dyn OtaRequests>,
}

/// An encoded response frame, ready to write to the link.
pub type ReplyFrame = heapless::Vec<u8, MAX_FRAME>;

impl<'t, B: Board + Clone, F: NorFlash> Device<'t, B, F> {
    /// A device over `store`, running apps on `board` with `runtime`, taking
    /// packages signed by `trust`. Starts every installed app.
    pub async fn new(
        store: Store<F>,
        runtime: Runtime<B>,
        board: B,
        trust: &'t TrustPolicy<'t>,
        config: DeviceConfig,
        mut notes: impl FnMut(Note<'_>),
    ) -> Self {
        let mut device = Device {
            store,
            session: Session::new(trust, config.allow_downgrade),
            trust,
            sched: Scheduler::new(runtime),
            board,
            config,
            decoder: FrameDecoder::new(),
            running: Vec::new(),
            verified: None,
            ota: None,
        };
        let names: Vec<AppName> = device.store.apps().iter().map(|a| a.name.clone()).collect();
        for name in &names {
            device.start(name, &mut notes).await;
        }
        device
    }

    /// The store.
    pub fn store(&self) -> &Store<F> {
        &self.store
    }

    /// Runs an app built into the firmware (not in the store, not updated
    /// over the air), granted under `policy`, with the device's restart
    /// policy.
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
        self.store
    }

    /// The scheduler running the apps.
    pub fn scheduler(&self) -> &Scheduler<B> {
        &self.sched
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
        match self.sched.spawn(app, self.board.clone(), self.config.restart) {
            Ok(id) => {
                let now = self.board.now();
                self.running.push(Running { name: name.clone(), id, healthy_since: Some(now) });
                self.publish(name);
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
            match self.sched.runtime().load_with_policy(&wasm, policy) {
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
                notes(Note::Installed { name: &name, version: image.version, bytes: image.len });
                self.stop(&name);
                match self.verified.take() {
                    Some(app) => self.spawn(&name, app, true, notes),
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
                    self.session.handle(request, &mut self.store, &mut check).await
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
