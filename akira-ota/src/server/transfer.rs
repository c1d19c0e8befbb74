//! Package transfers: begin, chunks, the checks before the store writes,
//! commit, and the backoff after failures.

use akira_caps::Version;
use akira_caps::manifest::AppName;
use embedded_storage_async::nor_flash::NorFlash;

use super::{Outcome, Session, Verifier, error, package_code, store_code};
use crate::package::{Event, HEADER_LEN, MAX_MANIFEST_LEN, PackageError, PackageReader, Rights, Vouched};
use crate::protocol::{Detail, ErrorCode, MAX_CHUNK, Response};
use crate::store::{Allow, Image, SignerId, Staging, Store, StoreError};

/// A package arriving.
pub(super) struct Transfer<'t> {
    id: [u8; 32],
    pub(super) size: u32,
    pub(super) received: u32,
    reader: PackageReader<'t>,
    /// What the store is asked for, once the package is accepted.
    offer: Option<Offer>,
    pub(super) staging: Option<Staging>,
}

/// The accepted package's app, as the store sees it (the manifest itself
/// stays in the reader).
struct Offer {
    name: AppName,
    version: Version,
    len: u32,
    signer: Option<SignerId>,
    allow: Allow,
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
    pub(super) async fn begin<F: NorFlash>(
        &mut self,
        store: &mut Store<F>,
        size: u32,
        id: [u8; 32],
        now: u64,
    ) -> Response {
        if let Some(t) = &self.transfer
            && t.id == id
            && t.size == size
        {
            return Response::Resume { offset: t.received };
        }
        if now < self.blocked_until {
            let ms = (self.blocked_until - now).min(u64::from(u32::MAX)) as u32;
            return Response::RetryAfter { ms };
        }
        if self.transfer.as_ref().is_some_and(|t| t.received > 0) {
            // A transfer given up half way counts as failed.
            self.failed(now);
        }
        self.drop_transfer(store).await;
        self.start(store.slot_bytes(), size, id)
    }

    /// Starts a transfer of `size` bytes into slots of `slot_bytes`. Not
    /// async: the reader (5 KiB) is built in place, never held in a future.
    fn start(&mut self, slot_bytes: u32, size: u32, id: [u8; 32]) -> Response {
        // The largest package: a full manifest and a slot's worth of wasm
        // in the smallest chunks.
        let wasm = u64::from(slot_bytes);
        let links = wasm.div_ceil(1 << crate::package::MIN_CHUNK_LOG2) * crate::package::DIGEST_LEN as u64;
        let largest = (HEADER_LEN + MAX_MANIFEST_LEN + crate::package::SEAL_LEN) as u64 + wasm + links;
        if u64::from(size) > largest {
            return error(ErrorCode::TooLarge, format_args!("package of {size} bytes; this device takes {largest}"));
        }
        if (size as usize) < HEADER_LEN + crate::package::SEAL_LEN {
            return error(ErrorCode::BadPackage, format_args!("package of {size} bytes is too short"));
        }
        let mut reader = PackageReader::new(self.trust, slot_bytes);
        if !self.config.validator {
            reader = reader.without_validator();
        }
        self.transfer = Some(Transfer { id, size, received: 0, reader, offer: None, staging: None });
        Response::Resume { offset: 0 }
    }

    pub(super) async fn chunk<F: NorFlash, V: Verifier<F>>(
        &mut self,
        store: &mut Store<F>,
        verifier: &mut V,
        offset: u32,
        data: &[u8],
        now: u64,
    ) -> (Response, Option<Outcome>) {
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
        let allow = Allow { downgrade: self.config.allow_downgrade, take_over: false };
        let result = feed(t, store, data, allow, self.downgrade.as_ref()).await;
        let t = match result {
            Ok(()) => t,
            Err(stop) => return (self.fail(store, stop, now).await, None),
        };
        t.received += data.len() as u32;
        if t.received < t.size {
            return (Response::Ack { next: t.received }, None);
        }
        // The last byte: everything must have verified.
        match finish(t, store, verifier).await {
            Ok((name, image)) => {
                self.transfer = None;
                self.failures = 0;
                self.blocked_until = 0;
                if self.downgrade.as_ref().is_some_and(|(n, v)| *n == name && *v == image.version) {
                    self.downgrade = None;
                }
                let response = Response::Installed { name: name.clone(), version: image.version };
                (response, Some(Outcome::Installed { name, image }))
            }
            Err(stop) => (self.fail(store, stop, now).await, None),
        }
    }

    /// Ends a transfer that failed: erases what it wrote, counts it,
    /// backs off.
    async fn fail<F: NorFlash>(&mut self, store: &mut Store<F>, stop: Stop, now: u64) -> Response {
        self.drop_transfer(store).await;
        self.failed(now);
        stop.response()
    }

    fn failed(&mut self, now: u64) {
        self.failures = self.failures.saturating_add(1);
        self.failed_total = self.failed_total.saturating_add(1);
        let backoff = self.config.backoff;
        if let Some(beyond) = self.failures.checked_sub(backoff.free_failures + 1) {
            let wait = u64::from(backoff.first_ms).checked_shl(beyond).unwrap_or(u64::MAX);
            self.blocked_until = now.saturating_add(wait.min(u64::from(backoff.max_ms)));
        }
    }
}

/// Runs `data` through the package reader into the store: the store's
/// checks once the package is accepted, the erase and the first write only
/// when the first chunk verified.
async fn feed<F: NorFlash>(
    t: &mut Transfer<'_>,
    store: &mut Store<F>,
    mut data: &[u8],
    mut allow: Allow,
    downgrade: Option<&(AppName, Version)>,
) -> Result<(), Stop> {
    while !data.is_empty() {
        let (used, event) = t.reader.next(data).map_err(Stop::Package)?;
        match event {
            Some(Event::Accepted(accepted)) => {
                if accepted.header.total_len() != u64::from(t.size) {
                    return Err(Stop::Size { declared: t.size, header: accepted.header.total_len() });
                }
                if let Some(id) = accepted.signer
                    && store.state().is_revoked(&id)
                {
                    return Err(Stop::Package(PackageError::Revoked(id)));
                }
                let m = &accepted.manifest;
                allow.take_over = accepted.rights.contains(Rights::TAKE_OVER);
                allow.downgrade |= downgrade.is_some_and(|(n, v)| *n == m.name && *v == m.version);
                let offer = Offer {
                    name: m.name.clone(),
                    version: m.version,
                    len: accepted.header.wasm_len,
                    signer: accepted.signer,
                    allow,
                };
                store.check_install(&offer.name, offer.version, offer.len, offer.signer, allow).map_err(Stop::Store)?;
                t.offer = Some(offer);
            }
            Some(Event::Wasm(bytes)) => {
                if t.staging.is_none() {
                    // The first authenticated bytes: now the store may erase.
                    let o = t.offer.as_ref().ok_or(Stop::Package(PackageError::Poisoned))?;
                    let staging =
                        store.begin(&o.name, o.version, o.len, o.signer, o.allow).await.map_err(Stop::Store)?;
                    t.staging = Some(staging);
                }
                let staging = t.staging.as_mut().ok_or(Stop::Package(PackageError::Poisoned))?;
                store.write(staging, bytes).await.map_err(Stop::Store)?;
            }
            None => {}
        }
        data = &data[used..];
    }
    Ok(())
}

/// Checks the finished transfer and commits it.
async fn finish<F: NorFlash, V: Verifier<F>>(
    t: &mut Transfer<'_>,
    store: &mut Store<F>,
    verifier: &mut V,
) -> Result<(AppName, Image), Stop> {
    let verified = t.reader.finish().map_err(Stop::Package)?;
    let (Some(accepted), Some(staging)) = (t.reader.accepted(), t.staging.as_mut()) else {
        return Err(Stop::Package(PackageError::Poisoned));
    };
    let vouched = match verified.signer {
        Some(signer) if accepted.rights.contains(Rights::SKIP_VALIDATION) => {
            Some(Vouched::new(staging.digest(), signer))
        }
        _ => None,
    };
    verifier.verify(store, staging, accepted, vouched.as_ref()).await.map_err(Stop::Refused)?;
    let staging = t.staging.take().ok_or(Stop::Package(PackageError::Poisoned))?;
    let image = store.commit(staging).await.map_err(Stop::Store)?;
    Ok((accepted.manifest.name.clone(), image))
}
