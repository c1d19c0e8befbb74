//! The device side of the protocol: one [`Session`] answers requests,
//! streaming packages through the [`PackageReader`](crate::package::PackageReader) into the [`Store`] and
//! carrying out signed management commands.
//!
//! A package is checked as it arrives: header and signer first; then the
//! signature over header, manifest and chain root, and the grant under the
//! signer's policy; then the store's limits (size, anti-rollback, the
//! app's signer binding) without touching the flash. The store erases and
//! writes only once the first chunk of wasm matched its signed hash, and
//! each chunk after it is checked the same way before it is written. The
//! firmware's [`Verifier`] (the sandbox's full install check) reads the
//! staged image back; only then is it committed, with one journal record.
//! A refused transfer erases what it wrote, so the flash reads as before.
//!
//! Failed transfers are counted ([`Response::Hello`]'s `failed_transfers`)
//! and, after [`Backoff::free_failures`] in a row, refused for a time that
//! doubles with each further failure ([`Response::RetryAfter`]): a link
//! cannot make the device work or wear its flash at will.
//!
//! Management (remove, rollback, confirm, downgrade permission, key
//! revocation) is accepted only as a [`command`](crate::command) signed by
//! a key whose [`Rights`](crate::trust::Rights) allow it, with a counter
//! above the last accepted one, kept in the store's journal.
//!
//! A transfer survives a dropped link: the host sends `Begin` again with
//! the same package id and the session answers with how much it holds.

mod manage;
mod transfer;

use core::fmt;

use akira_caps::Version;
use akira_caps::manifest::AppName;
use embedded_storage_async::nor_flash::NorFlash;

use crate::command::DeviceId;
use crate::frame::{self, FrameReader, IoError, MAX_FRAME};
use crate::package::{Accepted, PackageError, TrustPolicy, Vouched};
use crate::protocol::{AppStatus, Detail, ErrorCode, MAX_CHUNK, PROTOCOL_VERSION, Request, Response};
use crate::store::{Image, Staging, Store, StoreError};

use transfer::Transfer;

/// The firmware's last word on an app before it is committed.
///
/// Called once all bytes arrived and verified. Read the image with
/// [`Store::read_staged`] or [`Store::staged_location`] and check it (on a
/// firmware: `Runtime::load_with_policy` of `akira-sandbox`, which
/// validates the wasm and checks every import, so an app that would be
/// refused at run time is refused here). `vouched` is `Some` when the
/// package came from a key trusted to skip validation: hand it to
/// `Runtime::load_vouched` to compile the app without validating it.
// Single-threaded executors run these futures; no `Send` bound is needed.
#[allow(async_fn_in_trait)]
pub trait Verifier<F: NorFlash> {
    /// `Err(reason)` refuses the app; the reason goes to the host.
    async fn verify(
        &mut self,
        store: &mut Store<F>,
        staging: &mut Staging,
        app: &Accepted,
        vouched: Option<&Vouched>,
    ) -> Result<(), Detail>;
}

/// A verifier that accepts every package that verified (for tests and
/// devices without a runtime).
pub struct AcceptAll;

impl<F: NorFlash> Verifier<F> for AcceptAll {
    async fn verify(
        &mut self,
        _: &mut Store<F>,
        _: &mut Staging,
        _: &Accepted,
        _: Option<&Vouched>,
    ) -> Result<(), Detail> {
        Ok(())
    }
}

/// What a request changed, for the firmware to act on (start, restart or
/// stop apps).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Outcome {
    /// A new version was installed, on trial.
    Installed {
        /// The app.
        name: AppName,
        /// Its new image.
        image: Image,
    },
    /// An app's version was confirmed.
    Confirmed {
        /// The app.
        name: AppName,
    },
    /// An app went back to its previous version.
    RolledBack {
        /// The app.
        name: AppName,
        /// The image now active.
        image: Image,
    },
    /// An app was uninstalled.
    Removed {
        /// The app.
        name: AppName,
    },
}

/// How long a link waits after failed transfers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Backoff {
    /// Failures in a row that cost nothing (a person's honest mistakes).
    pub free_failures: u32,
    /// The wait after the first failure beyond those, in milliseconds; it
    /// doubles with each further failure.
    pub first_ms: u32,
    /// The longest wait, in milliseconds.
    pub max_ms: u32,
}

impl Default for Backoff {
    /// 3 free failures, then 1 s, 2 s, 4 s, … up to 5 minutes.
    fn default() -> Self {
        Backoff { free_failures: 3, first_ms: 1_000, max_ms: 300_000 }
    }
}

/// How a session treats its link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SessionConfig {
    /// This device's id, which signed commands name (or they name
    /// [`ANY_DEVICE`](crate::command::ANY_DEVICE)).
    pub device: DeviceId,
    /// Let packages at or below an app's anti-rollback floor in: a
    /// firmware-level choice of the device owner (a signed command can
    /// allow one downgrade at a time).
    pub allow_downgrade: bool,
    /// The firmware validates wasm (`akira-sandbox` with `validate`).
    /// Without a validator, only packages from keys with the
    /// skip-validation right are taken, refused at the header otherwise.
    pub validator: bool,
    /// Backoff after failed transfers.
    pub backoff: Backoff,
}

impl Default for SessionConfig {
    /// Device id zero, no downgrades, a validator, the default backoff.
    fn default() -> Self {
        SessionConfig { device: [0; 8], allow_downgrade: false, validator: true, backoff: Backoff::default() }
    }
}

/// One link's protocol session.
pub struct Session<'t> {
    trust: &'t TrustPolicy<'t>,
    config: SessionConfig,
    transfer: Option<Transfer<'t>>,
    /// A signed one-time permission: this app may be installed at this
    /// version even at or below its floor.
    downgrade: Option<(AppName, Version)>,
    /// The counter of the last signed list (kept in RAM only).
    read_counter: u64,
    /// Failed transfers in a row, and since the session started.
    failures: u32,
    failed_total: u32,
    /// No new transfer before this time (milliseconds).
    blocked_until: u64,
}

fn error(code: ErrorCode, what: impl fmt::Display) -> Response {
    Response::Error { code, detail: crate::protocol::detail(what) }
}

fn store_code(e: &StoreError) -> ErrorCode {
    match e {
        StoreError::Downgrade { .. } => ErrorCode::Downgrade,
        StoreError::NoSpace | StoreError::TooManyApps => ErrorCode::NoSpace,
        StoreError::TooLarge { .. } => ErrorCode::TooLarge,
        StoreError::NotFound => ErrorCode::NotFound,
        StoreError::NothingToRollBack => ErrorCode::NothingToRollBack,
        StoreError::BoundToSigner { .. } => ErrorCode::BoundToSigner,
        StoreError::Flash(_) => ErrorCode::Flash,
        _ => ErrorCode::Internal,
    }
}

impl<'t> Session<'t> {
    /// A session trusting `trust`, configured by `config`.
    pub fn new(trust: &'t TrustPolicy<'t>, config: SessionConfig) -> Self {
        Session {
            trust,
            config,
            transfer: None,
            downgrade: None,
            read_counter: 0,
            failures: 0,
            failed_total: 0,
            blocked_until: 0,
        }
    }

    /// Bytes of the transfer in progress received so far, if any.
    pub fn transfer_progress(&self) -> Option<(u32, u32)> {
        self.transfer.as_ref().map(|t| (t.received, t.size))
    }

    /// Transfers refused or abandoned on this link since the session
    /// started.
    pub fn failed_transfers(&self) -> u32 {
        self.failed_total
    }

    /// Answers one request received at `now_ms` (milliseconds on any
    /// monotonic clock: it times the backoff); an [`Outcome`] says what
    /// changed.
    pub async fn handle<F: NorFlash, V: Verifier<F>>(
        &mut self,
        request: Request<'_>,
        now_ms: u64,
        store: &mut Store<F>,
        verifier: &mut V,
    ) -> (Response, Option<Outcome>) {
        match request {
            Request::Hello => {
                let c = store.capacity();
                let hello = Response::Hello {
                    protocol: PROTOCOL_VERSION,
                    abi: akira_caps::ABI_VERSION,
                    max_chunk: MAX_CHUNK as u16,
                    slot_bytes: c.slot_bytes,
                    free_slots: c.free_slots as u16,
                    apps: c.apps as u16,
                    device: self.config.device,
                    counter: store.state().counter.max(self.read_counter),
                    failed_transfers: self.failed_total,
                };
                (hello, None)
            }
            Request::List if self.trust.list_needs_signature => {
                (error(ErrorCode::Unauthorized, "this device lists its apps only to a signed request"), None)
            }
            Request::List => (app_list(store), None),
            Request::Begin { size, id } => (self.begin(store, size, id, now_ms).await, None),
            Request::Chunk { offset, data } => self.chunk(store, verifier, offset, data, now_ms).await,
            Request::Abort => {
                self.drop_transfer(store).await;
                (Response::Done, None)
            }
            Request::Remove { .. } | Request::Confirm { .. } | Request::Rollback { .. } => {
                (error(ErrorCode::Unauthorized, "management commands must be signed (akira device ... --key)"), None)
            }
            Request::Command { blob } => self.command(store, blob).await,
        }
    }

    /// Drops the transfer in progress and erases what it wrote.
    async fn drop_transfer<F: NorFlash>(&mut self, store: &mut Store<F>) {
        // Only the staging (200 bytes) is kept across the erase, not the
        // transfer with its 5 KiB reader: this future sits on the stack.
        let staging = self.transfer.as_mut().and_then(|t| t.staging.take());
        self.transfer = None;
        if let Some(staging) = staging {
            // A flash error here leaves bytes in a free slot: harmless,
            // begin() erases a slot before using it.
            let _ = store.discard(staging).await;
        }
    }
}

/// The installed apps, as [`Response::Apps`].
fn app_list<F: NorFlash>(store: &Store<F>) -> Response {
    let mut list = heapless::Vec::new();
    for app in store.apps() {
        let _ = list.push(AppStatus {
            name: app.name.clone(),
            version: app.active.version,
            confirmed: app.confirmed,
            previous: app.previous.as_ref().map(|p| p.version),
            bytes: app.active.len,
            signer: app.active.signer,
        });
    }
    Response::Apps(list)
}

/// Serves requests from a byte stream (UART, USB CDC, TCP, a BLE serial
/// characteristic: any embedded-io `Read + Write`) until it closes,
/// calling `on_outcome` after each change; `clock` gives milliseconds on a
/// monotonic clock (for the backoff). A garbled frame is answered with
/// [`ErrorCode::BadFrame`] and the loop goes on. For blocking streams and a
/// store over a blocking flash ([`BlockingFlash`](crate::store::BlockingFlash)):
/// it is [`serve_async`] run to completion.
pub fn serve<T, F, V>(
    io: &mut T,
    session: &mut Session<'_>,
    store: &mut Store<F>,
    verifier: &mut V,
    clock: impl FnMut() -> u64,
    on_outcome: impl FnMut(Outcome),
) -> Result<(), IoError<T::Error>>
where
    T: embedded_io::Read + embedded_io::Write,
    F: NorFlash,
    V: Verifier<F>,
{
    crate::block_on(serve_async(&mut BlockingIo(io), session, store, verifier, clock, on_outcome))
}

/// A blocking stream seen as an async one whose futures never pend.
struct BlockingIo<'a, T>(&'a mut T);

impl<T: embedded_io::ErrorType> embedded_io_async::ErrorType for BlockingIo<'_, T> {
    type Error = T::Error;
}

impl<T: embedded_io::Read> embedded_io_async::Read for BlockingIo<'_, T> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, T::Error> {
        self.0.read(buf)
    }
}

impl<T: embedded_io::Write> embedded_io_async::Write for BlockingIo<'_, T> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, T::Error> {
        self.0.write(buf)
    }

    async fn flush(&mut self) -> Result<(), T::Error> {
        self.0.flush()
    }
}

/// [`serve`] for async streams and flash: awaits instead of blocking, so a
/// firmware runs it as one executor task beside its apps.
pub async fn serve_async<T, F, V>(
    io: &mut T,
    session: &mut Session<'_>,
    store: &mut Store<F>,
    verifier: &mut V,
    mut clock: impl FnMut() -> u64,
    mut on_outcome: impl FnMut(Outcome),
) -> Result<(), IoError<T::Error>>
where
    T: embedded_io_async::Read + embedded_io_async::Write,
    F: NorFlash,
    V: Verifier<F>,
{
    let mut reader = FrameReader::<MAX_FRAME>::new();
    loop {
        let (response, outcome) = match reader.read_async(io).await {
            Ok(bytes) => match frame::decode::<Request<'_>>(bytes) {
                Ok(request) => session.handle(request, clock(), store, verifier).await,
                Err(e) => (error(ErrorCode::BadFrame, e), None),
            },
            Err(IoError::Frame(e)) => (error(ErrorCode::BadFrame, e), None),
            Err(IoError::Closed) => return Ok(()),
            Err(e) => return Err(e),
        };
        frame::write_frame_async(io, &response).await?;
        if let Some(outcome) = outcome {
            on_outcome(outcome);
        }
    }
}

/// The protocol's code for a package refusal.
fn package_code(e: &PackageError) -> ErrorCode {
    use akira_caps::GrantError;
    match e {
        PackageError::UnknownKey(_) | PackageError::MayNotInstall(_) => ErrorCode::UnknownKey,
        PackageError::UnsignedRefused => ErrorCode::Unsigned,
        PackageError::BadSignature => ErrorCode::BadSignature,
        PackageError::BadDigest => ErrorCode::BadDigest,
        PackageError::BadChunk { .. } => ErrorCode::BadChunk,
        PackageError::NeedsValidation => ErrorCode::NeedsTrustedSigner,
        PackageError::Revoked(_) => ErrorCode::Revoked,
        PackageError::WrongAbi { .. } | PackageError::ManifestAbiMismatch => ErrorCode::WrongAbi,
        PackageError::Grant(GrantError::UnsupportedAbi { .. }) => ErrorCode::WrongAbi,
        PackageError::Grant(_) => ErrorCode::NotAllowed,
        PackageError::WasmTooLarge { .. } => ErrorCode::TooLarge,
        _ => ErrorCode::BadPackage,
    }
}
