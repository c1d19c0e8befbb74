//! The device side of the protocol: one [`Session`] answers requests,
//! streaming packages through the [`PackageReader`] into the
//! [`Store`].
//!
//! A package is checked as it arrives: header, signer and manifest (with
//! the grant under the signer's policy) before the store erases anything;
//! size and anti-rollback by the store; the wasm goes straight to a free
//! slot; the digest and signature at the end; then the firmware's
//! [`Verifier`] (for example the sandbox's full install check) reads the
//! staged image back; only then is it committed, with one journal record.
//! Any failure drops the staged image and leaves the store as it was.
//!
//! A transfer survives a dropped link: the host sends `Begin` again with
//! the same package id and the session answers with how much it holds.

use core::fmt::{self, Write as _};

use akira_caps::manifest::AppName;
use embedded_storage_async::nor_flash::NorFlash;

use crate::frame::{self, FrameReader, IoError, MAX_FRAME};
use crate::package::{
    Accepted, Event, HEADER_LEN, MAX_MANIFEST_LEN, PackageError, PackageReader, TRAILER_LEN, TrustPolicy,
};
use crate::protocol::{AppStatus, Detail, ErrorCode, MAX_CHUNK, PROTOCOL_VERSION, Request, Response};
use crate::store::{Image, SignerId, Staging, Store, StoreError};

/// The firmware's last word on an app before it is committed.
///
/// Called once all bytes arrived and the digest and signature verified.
/// Read the image with [`Store::read_staged`] or [`Store::staged_location`]
/// and check it (on a firmware: `Runtime::load_with_policy` of
/// `akira-sandbox`, which validates the wasm and checks every import, so
/// an app that would be refused at run time is refused here).
// Single-threaded executors run these futures; no `Send` bound is needed.
#[allow(async_fn_in_trait)]
pub trait Verifier<F: NorFlash> {
    /// `Err(reason)` refuses the app; the reason goes to the host.
    async fn verify(&mut self, store: &mut Store<F>, staging: &mut Staging, app: &Accepted) -> Result<(), Detail>;
}

/// A verifier that accepts every package that verified (for tests and
/// devices without a runtime).
pub struct AcceptAll;

impl<F: NorFlash> Verifier<F> for AcceptAll {
    async fn verify(&mut self, _: &mut Store<F>, _: &mut Staging, _: &Accepted) -> Result<(), Detail> {
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

struct Transfer<'t> {
    id: [u8; 32],
    size: u32,
    received: u32,
    reader: PackageReader<'t>,
    accepted: Option<Accepted>,
    staging: Option<Staging>,
}

/// One device's protocol session.
pub struct Session<'t> {
    trust: &'t TrustPolicy<'t>,
    allow_downgrade: bool,
    transfer: Option<Transfer<'t>>,
}

/// Writes at most the detail's capacity, dropping the rest.
struct Cut(Detail);

impl fmt::Write for Cut {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for ch in s.chars() {
            if self.0.push(ch).is_err() {
                break;
            }
        }
        Ok(())
    }
}

fn error(code: ErrorCode, what: impl fmt::Display) -> Response {
    let mut cut = Cut(Detail::new());
    let _ = write!(cut, "{what}");
    Response::Error { code, detail: cut.0 }
}

fn package_code(e: &PackageError) -> ErrorCode {
    use akira_caps::GrantError;
    match e {
        PackageError::UnknownKey(_) => ErrorCode::UnknownKey,
        PackageError::UnsignedRefused => ErrorCode::Unsigned,
        PackageError::BadSignature => ErrorCode::BadSignature,
        PackageError::BadDigest => ErrorCode::BadDigest,
        PackageError::WrongAbi { .. } | PackageError::ManifestAbiMismatch => ErrorCode::WrongAbi,
        PackageError::Grant(GrantError::UnsupportedAbi { .. }) => ErrorCode::WrongAbi,
        PackageError::Grant(_) => ErrorCode::NotAllowed,
        PackageError::WasmTooLarge { .. } => ErrorCode::TooLarge,
        _ => ErrorCode::BadPackage,
    }
}

fn store_code(e: &StoreError) -> ErrorCode {
    match e {
        StoreError::Downgrade { .. } => ErrorCode::Downgrade,
        StoreError::NoSpace | StoreError::TooManyApps => ErrorCode::NoSpace,
        StoreError::TooLarge { .. } => ErrorCode::TooLarge,
        StoreError::NotFound => ErrorCode::NotFound,
        StoreError::NothingToRollBack => ErrorCode::NothingToRollBack,
        StoreError::Flash(_) => ErrorCode::Flash,
        _ => ErrorCode::Internal,
    }
}

/// Why a transfer stopped.
enum Stop {
    Package(PackageError),
    Store(StoreError),
    Refused(Detail),
    Size { declared: u32, header: u64 },
}

impl Stop {
    fn response(self) -> Response {
        match self {
            Stop::Package(e) => error(package_code(&e), e),
            Stop::Store(e) => error(store_code(&e), e),
            Stop::Refused(why) => Response::Error { code: ErrorCode::Refused, detail: why },
            Stop::Size { declared, header } => error(
                ErrorCode::BadPackage,
                format_args!("transfer of {declared} bytes, but the package header says {header}"),
            ),
        }
    }
}

impl<'t> Session<'t> {
    /// A session trusting `trust`. `allow_downgrade` lets packages at or
    /// below an app's anti-rollback floor in: only for a device owner's
    /// explicit request.
    pub fn new(trust: &'t TrustPolicy<'t>, allow_downgrade: bool) -> Self {
        Session { trust, allow_downgrade, transfer: None }
    }

    /// Bytes of the transfer in progress received so far, if any.
    pub fn transfer_progress(&self) -> Option<(u32, u32)> {
        self.transfer.as_ref().map(|t| (t.received, t.size))
    }

    fn drop_transfer<F: NorFlash>(&mut self, store: &mut Store<F>) {
        if let Some(t) = self.transfer.take()
            && let Some(staging) = t.staging
        {
            store.abort(staging);
        }
    }

    /// Answers one request; an [`Outcome`] says what changed.
    pub async fn handle<F: NorFlash, V: Verifier<F>>(
        &mut self,
        request: Request<'_>,
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
                };
                (hello, None)
            }
            Request::List => {
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
                (Response::Apps(list), None)
            }
            Request::Begin { size, id } => (self.begin(store, size, id), None),
            Request::Chunk { offset, data } => self.chunk(store, verifier, offset, data).await,
            Request::Abort => {
                self.drop_transfer(store);
                (Response::Done, None)
            }
            Request::Remove { name } => match store.remove(&name).await {
                Ok(()) => (Response::Done, Some(Outcome::Removed { name })),
                Err(e) => (Stop::Store(e).response(), None),
            },
            Request::Confirm { name } => match store.confirm(&name).await {
                Ok(()) => (Response::Done, Some(Outcome::Confirmed { name })),
                Err(e) => (Stop::Store(e).response(), None),
            },
            Request::Rollback { name } => match store.rollback(&name).await {
                Ok(image) => (Response::Done, Some(Outcome::RolledBack { name, image })),
                Err(e) => (Stop::Store(e).response(), None),
            },
        }
    }

    fn begin<F: NorFlash>(&mut self, store: &mut Store<F>, size: u32, id: [u8; 32]) -> Response {
        if let Some(t) = &self.transfer
            && t.id == id
            && t.size == size
        {
            return Response::Resume { offset: t.received };
        }
        self.drop_transfer(store);
        let largest = (HEADER_LEN + MAX_MANIFEST_LEN + TRAILER_LEN) as u64 + u64::from(store.slot_bytes());
        if u64::from(size) > largest {
            return error(ErrorCode::TooLarge, format_args!("package of {size} bytes; this device takes {largest}"));
        }
        if (size as usize) < HEADER_LEN + TRAILER_LEN {
            return error(ErrorCode::BadPackage, format_args!("package of {size} bytes is too short"));
        }
        self.transfer = Some(Transfer {
            id,
            size,
            received: 0,
            reader: PackageReader::new(self.trust, store.slot_bytes()),
            accepted: None,
            staging: None,
        });
        Response::Resume { offset: 0 }
    }

    async fn chunk<F: NorFlash, V: Verifier<F>>(
        &mut self,
        store: &mut Store<F>,
        verifier: &mut V,
        offset: u32,
        data: &[u8],
    ) -> (Response, Option<Outcome>) {
        let allow_downgrade = self.allow_downgrade;
        let Some(t) = self.transfer.as_mut() else {
            return (error(ErrorCode::NoTransfer, "send Begin first"), None);
        };
        let end = u64::from(offset) + data.len() as u64;
        if data.len() > MAX_CHUNK || end > u64::from(t.size) {
            return (error(ErrorCode::TooLarge, "chunk beyond the package or longer than max_chunk"), None);
        }
        if offset != t.received {
            // A resend of bytes already held is harmless: say where to go on.
            if end <= u64::from(t.received) {
                return (Response::Ack { next: t.received }, None);
            }
            return (error(ErrorCode::BadOffset, format_args!("expected offset {}", t.received)), None);
        }
        if let Err(stop) = feed(t, store, data, allow_downgrade).await {
            self.drop_transfer(store);
            return (stop.response(), None);
        }
        t.received += data.len() as u32;
        if t.received < t.size {
            return (Response::Ack { next: t.received }, None);
        }
        // The last byte: everything must have verified.
        let result = finish(t, store, verifier).await;
        self.drop_transfer(store);
        match result {
            Ok((name, image)) => {
                let response = Response::Installed { name: name.clone(), version: image.version };
                (response, Some(Outcome::Installed { name, image }))
            }
            Err(stop) => (stop.response(), None),
        }
    }
}

/// Runs `data` through the package reader into the store.
async fn feed<F: NorFlash>(
    t: &mut Transfer<'_>,
    store: &mut Store<F>,
    mut data: &[u8],
    allow_downgrade: bool,
) -> Result<(), Stop> {
    while !data.is_empty() {
        let (used, event) = t.reader.next(data).map_err(Stop::Package)?;
        match event {
            Some(Event::Accepted(accepted)) => {
                if accepted.header.total_len() != u64::from(t.size) {
                    return Err(Stop::Size { declared: t.size, header: accepted.header.total_len() });
                }
                // Kept in the transfer before the store's await, so the
                // future holds a reference, not the 2 KiB manifest.
                let accepted = t.accepted.insert(accepted);
                let signer: Option<SignerId> = accepted.signer;
                let m = &accepted.manifest;
                let staging = store
                    .begin(&m.name, m.version, accepted.header.wasm_len, signer, allow_downgrade)
                    .await
                    .map_err(Stop::Store)?;
                t.staging = Some(staging);
            }
            Some(Event::Wasm(bytes)) => {
                let staging = t.staging.as_mut().ok_or(Stop::Package(PackageError::Poisoned))?;
                store.write(staging, bytes).await.map_err(Stop::Store)?;
            }
            Some(Event::Verified(_)) | None => {}
        }
        data = &data[used..];
    }
    Ok(())
}

/// Checks the finished transfer and commits it. Borrows the transfer
/// (the caller drops it) so the future does not carry a copy of it.
async fn finish<F: NorFlash, V: Verifier<F>>(
    t: &mut Transfer<'_>,
    store: &mut Store<F>,
    verifier: &mut V,
) -> Result<(AppName, Image), Stop> {
    let (Some(accepted), Some(mut staging)) = (t.accepted.as_ref(), t.staging.take()) else {
        return Err(Stop::Package(t.reader.finish().err().unwrap_or(PackageError::Poisoned)));
    };
    if let Err(e) = t.reader.finish() {
        store.abort(staging);
        return Err(Stop::Package(e));
    }
    if let Err(why) = verifier.verify(store, &mut staging, accepted).await {
        store.abort(staging);
        return Err(Stop::Refused(why));
    }
    let image = store.commit(staging).await.map_err(Stop::Store)?;
    Ok((accepted.manifest.name.clone(), image))
}

/// Serves requests from a byte stream (UART, USB CDC, TCP, a BLE serial
/// characteristic: any embedded-io `Read + Write`) until it closes,
/// calling `on_outcome` after each change. A garbled frame is answered with
/// [`ErrorCode::BadFrame`] and the loop goes on. For blocking streams and a
/// store over a blocking flash ([`BlockingFlash`](crate::store::BlockingFlash)):
/// it is [`serve_async`] run to completion.
pub fn serve<T, F, V>(
    io: &mut T,
    session: &mut Session<'_>,
    store: &mut Store<F>,
    verifier: &mut V,
    on_outcome: impl FnMut(Outcome),
) -> Result<(), IoError<T::Error>>
where
    T: embedded_io::Read + embedded_io::Write,
    F: NorFlash,
    V: Verifier<F>,
{
    crate::block_on(serve_async(&mut BlockingIo(io), session, store, verifier, on_outcome))
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
                Ok(request) => session.handle(request, store, verifier).await,
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
