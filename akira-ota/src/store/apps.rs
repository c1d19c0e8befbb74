//! The store's operations on apps: staging, committing, confirming,
//! rolling back, removing, reading and checking images.

use akira_caps::Version;
use akira_caps::manifest::AppName;
use embedded_storage_async::nor_flash::NorFlash;
use sha2::{Digest, Sha256};

use super::{
    Allow, AppRecord, Capacity, Image, JournalPosition, MAX_APPS, MAX_WRITE_SIZE, Op, SignerId, Staging, State, Store,
    StoreError,
};
use crate::package::Vouched;
use crate::trust::{Rights, TrustPolicy};

impl<F: NorFlash> Store<F> {
    /// The state: apps, floors, erase counts.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The installed apps.
    pub fn apps(&self) -> &[AppRecord] {
        &self.state.apps
    }

    /// The app called `name`.
    pub fn app(&self, name: &str) -> Option<&AppRecord> {
        self.state.app(name)
    }

    /// Bytes one slot holds: the largest app image.
    pub fn slot_bytes(&self) -> u32 {
        self.slot_sectors * Self::SECTOR
    }

    /// Slots, free slots, apps.
    pub fn capacity(&self) -> Capacity {
        let free = (0..self.config.slots as u8).filter(|s| !self.slot_used(*s)).count() as u32;
        Capacity {
            slots: self.config.slots,
            free_slots: free,
            slot_bytes: self.slot_bytes(),
            apps: self.state.apps.len() as u32,
            max_apps: MAX_APPS as u32,
        }
    }

    /// Erases counted per data sector and per journal sector.
    pub fn erase_counts(&self) -> (&[u32], &[u32]) {
        (&self.state.data_erases, &self.state.meta_erases)
    }

    /// Where the journal writes next, for diagnostics and tests.
    pub fn journal_position(&self) -> JournalPosition {
        JournalPosition { sector: self.cursor.sector, offset: self.cursor.at, sequence: self.cursor.seq }
    }

    /// The flash, for reads outside the store's API.
    pub fn flash_mut(&mut self) -> &mut F {
        &mut self.flash.inner
    }

    /// Gives the flash back.
    pub fn into_flash(self) -> F {
        self.flash.inner
    }

    fn slot_used(&self, slot: u8) -> bool {
        self.state.slot_used(slot) || self.staging_slot == Some(slot)
    }

    /// Offset of slot `slot` within the region.
    fn slot_offset(&self, slot: u8) -> u32 {
        (self.config.meta_sectors + u32::from(slot) * self.slot_sectors) * Self::SECTOR
    }

    /// The image's place in the flash's address space (for boards that
    /// map flash into memory and compile apps in place) and its length.
    pub fn location(&self, image: &Image) -> (u32, u32) {
        (self.flash.region.offset + self.slot_offset(image.slot), image.len)
    }

    /// Reads `buf.len()` bytes of `image` from `offset`.
    pub async fn read(&mut self, image: &Image, offset: u32, buf: &mut [u8]) -> Result<(), StoreError> {
        let end = offset.checked_add(buf.len() as u32).ok_or(StoreError::Overrun)?;
        if end > image.len {
            return Err(StoreError::Overrun);
        }
        let at = self.slot_offset(image.slot) + offset;
        Ok(self.flash.read(at, buf).await?)
    }

    /// Whether `image`'s bytes still match the digest recorded when it was
    /// installed (checks the flash for corruption before running an app).
    pub async fn verify(&mut self, image: &Image) -> Result<bool, StoreError> {
        let mut hasher = Sha256::new();
        let mut buf = [0u8; 256];
        let mut at = 0;
        while at < image.len {
            let n = (image.len - at).min(buf.len() as u32) as usize;
            self.read(image, at, &mut buf[..n]).await?;
            hasher.update(&buf[..n]);
            at += n as u32;
        }
        Ok(hasher.finalize()[..] == image.digest[..])
    }

    /// Checks that `name` may be installed at `version` with `len` bytes
    /// from a package signed by `signer`, without touching the flash: the
    /// checks [`Store::begin`] makes first. An installed app is bound to
    /// the key that signed its running version: a package from another
    /// key is refused ([`StoreError::BoundToSigner`]) unless
    /// `allow.take_over`.
    pub fn check_install(
        &self,
        name: &str,
        version: Version,
        len: u32,
        signer: Option<SignerId>,
        allow: Allow,
    ) -> Result<(), StoreError> {
        if len > self.slot_bytes() {
            return Err(StoreError::TooLarge { len, slot_bytes: self.slot_bytes() });
        }
        if let Some(app) = self.state.app(name)
            && app.active.signer != signer
            && !allow.take_over
        {
            return Err(StoreError::BoundToSigner { bound: app.active.signer, offered: signer });
        }
        if let Some(floor) = self.state.floor(name)
            && version <= floor
            && !allow.downgrade
        {
            return Err(StoreError::Downgrade { version, floor });
        }
        if self.state.app(name).is_none() && self.state.apps.len() >= MAX_APPS {
            return Err(StoreError::TooManyApps);
        }
        if self.staging_slot.is_some() {
            return Err(StoreError::Busy);
        }
        if (0..self.config.slots as u8).all(|s| self.slot_used(s)) {
            return Err(StoreError::NoSpace);
        }
        Ok(())
    }

    /// Starts installing `len` bytes of `name` at `version`, signed by
    /// `signer`: checks the size, the app's signer binding (unless
    /// `allow.take_over`), the anti-rollback floor (unless
    /// `allow.downgrade`; only the device owner may set either) and space,
    /// picks the least-worn free slot and erases what it needs. Nothing is
    /// committed: until [`Store::commit`], a power cut, [`Store::abort`]
    /// or [`Store::discard`] leaves the store as it was.
    pub async fn begin(
        &mut self,
        name: &AppName,
        version: Version,
        len: u32,
        signer: Option<SignerId>,
        allow: Allow,
    ) -> Result<Staging, StoreError> {
        self.check_install(name, version, len, signer, allow)?;
        let needed = len.div_ceil(Self::SECTOR).max(1);
        let wear = |s: &Self, slot: u8| -> u64 {
            let first = (u32::from(slot) * s.slot_sectors) as usize;
            let counts = s.state.data_erases.get(first..first + needed as usize).unwrap_or(&[]);
            counts.iter().map(|c| u64::from(*c)).sum()
        };
        let slot = (0..self.config.slots as u8)
            .filter(|s| !self.slot_used(*s))
            .min_by_key(|s| (wear(self, *s), *s))
            .ok_or(StoreError::NoSpace)?;
        self.staging_slot = Some(slot);
        if let Err(e) = self.prepare_slot(slot, needed).await {
            self.staging_slot = None;
            return Err(e);
        }
        Ok(Staging {
            name: name.clone(),
            version,
            signer,
            slot,
            len,
            written: 0,
            hasher: Sha256::new(),
            tail: [0xFF; MAX_WRITE_SIZE],
            tail_len: 0,
        })
    }

    /// Erases the first `needed` sectors of `slot` that are not erased
    /// already, recording each run of erased sectors.
    async fn prepare_slot(&mut self, slot: u8, needed: u32) -> Result<(), StoreError> {
        let first = u32::from(slot) * self.slot_sectors;
        let mut run: Option<(u32, u32)> = None;
        for s in first..first + needed {
            let offset = (self.config.meta_sectors + s) * Self::SECTOR;
            let dirty = !self.flash.is_erased(offset, Self::SECTOR).await?;
            run = match (run, dirty) {
                (Some((start, n)), true) => Some((start, n + 1)),
                (None, true) => Some((s, 1)),
                (Some(r), false) => {
                    self.erase_run(r).await?;
                    None
                }
                (None, false) => None,
            };
        }
        if let Some(r) = run {
            self.erase_run(r).await?;
        }
        Ok(())
    }

    async fn erase_run(&mut self, (start, count): (u32, u32)) -> Result<(), StoreError> {
        self.flash.erase(self.config.meta_sectors + start, count).await?;
        self.append(Op::Erased { first: start as u16, count: count as u16 }).await
    }

    /// Writes the next bytes of a staged image.
    pub async fn write(&mut self, staging: &mut Staging, mut data: &[u8]) -> Result<(), StoreError> {
        if staging.written as u64 + staging.tail_len as u64 + data.len() as u64 > u64::from(staging.len) {
            return Err(StoreError::Overrun);
        }
        staging.hasher.update(data);
        let w = F::WRITE_SIZE;
        let base = self.slot_offset(staging.slot);
        if staging.tail_len > 0 {
            let n = (w - staging.tail_len).min(data.len());
            staging.tail[staging.tail_len..staging.tail_len + n].copy_from_slice(&data[..n]);
            staging.tail_len += n;
            data = &data[n..];
            if staging.tail_len < w {
                return Ok(());
            }
            self.flash.write(base + staging.written, &staging.tail[..w]).await?;
            staging.written += w as u32;
            staging.tail_len = 0;
        }
        let whole = data.len() - data.len() % w;
        if whole > 0 {
            self.flash.write(base + staging.written, &data[..whole]).await?;
            staging.written += whole as u32;
        }
        let rest = &data[whole..];
        staging.tail[..rest.len()].copy_from_slice(rest);
        staging.tail_len = rest.len();
        Ok(())
    }

    /// Flushes the last partial word of a staged image (padded with 0xFF).
    async fn flush(&mut self, staging: &mut Staging) -> Result<(), StoreError> {
        if staging.tail_len > 0 {
            let w = F::WRITE_SIZE;
            staging.tail[staging.tail_len..w].fill(0xFF);
            let at = self.slot_offset(staging.slot) + staging.written;
            self.flash.write(at, &staging.tail[..w]).await?;
            staging.written += staging.tail_len as u32;
            staging.tail_len = 0;
        }
        Ok(())
    }

    /// Reads back bytes of a staged image (to validate it before
    /// committing). Call after all bytes were written.
    pub async fn read_staged(&mut self, staging: &mut Staging, offset: u32, buf: &mut [u8]) -> Result<(), StoreError> {
        self.flush(staging).await?;
        let end = offset.checked_add(buf.len() as u32).ok_or(StoreError::Overrun)?;
        if end > staging.written {
            return Err(StoreError::Overrun);
        }
        Ok(self.flash.read(self.slot_offset(staging.slot) + offset, buf).await?)
    }

    /// Where a staged image is in the flash's address space, and its
    /// length (flushes it first).
    pub async fn staged_location(&mut self, staging: &mut Staging) -> Result<(u32, u32), StoreError> {
        self.flush(staging).await?;
        Ok((self.flash.region.offset + self.slot_offset(staging.slot), staging.written))
    }

    /// Makes a fully written image the app's active version, on trial:
    /// one journal record. Returns the new image.
    pub async fn commit(&mut self, mut staging: Staging) -> Result<Image, StoreError> {
        if let Err(e) = self.flush(&mut staging).await {
            self.staging_slot = None;
            return Err(e);
        }
        if staging.written != staging.len {
            self.staging_slot = None;
            return Err(StoreError::Incomplete { written: staging.written, len: staging.len });
        }
        let digest: [u8; 32] = staging.hasher.finalize().into();
        let image =
            Image { slot: staging.slot, len: staging.len, version: staging.version, digest, signer: staging.signer };
        let result = self.change(Op::Installed { name: staging.name, image: image.clone() }).await;
        self.staging_slot = None;
        result.map(|()| image)
    }

    /// Drops a staged image; its slot stays free (the bytes written stay
    /// until the slot is used again).
    pub fn abort(&mut self, staging: Staging) {
        if self.staging_slot == Some(staging.slot) {
            self.staging_slot = None;
        }
    }

    /// Drops a staged image and erases what it wrote, so the slot reads as
    /// it did before [`Store::begin`] when begin found it erased: a refused
    /// transfer leaves the flash as it found it. The erases are counted at
    /// once and written to the journal with its next record (a power cut
    /// before that undercounts them, as a cut between any erase and its
    /// record does).
    pub async fn discard(&mut self, staging: Staging) -> Result<(), StoreError> {
        let (slot, written) = (staging.slot, staging.written);
        self.abort(staging);
        let first = u32::from(slot) * self.slot_sectors;
        for sector in first..first + written.div_ceil(Self::SECTOR) {
            let offset = (self.config.meta_sectors + sector) * Self::SECTOR;
            if self.flash.is_erased(offset, Self::SECTOR).await? {
                continue;
            }
            if self.unrecorded.is_full() {
                // Room for another run: write the pending ones now.
                self.append_pending().await?;
            }
            self.flash.erase(self.config.meta_sectors + sector, 1).await?;
            let erased = Op::Erased { first: sector as u16, count: 1 };
            self.state.apply(&erased);
            match self.unrecorded.last_mut() {
                Some((start, count)) if u32::from(*start) + u32::from(*count) == sector => *count += 1,
                _ => {
                    let _ = self.unrecorded.push((sector as u16, 1));
                }
            }
        }
        Ok(())
    }

    /// Records that a signed management command with counter `value` was
    /// accepted (before it is carried out, so a power cut in between loses
    /// the command rather than letting it be replayed).
    pub async fn record_counter(&mut self, value: u64) -> Result<(), StoreError> {
        self.append(Op::Counter { value }).await
    }

    /// Revokes (`true`) or restores (`false`) the key `key` on this device.
    pub async fn revoke(&mut self, key: SignerId, revoked: bool) -> Result<(), StoreError> {
        if revoked == self.state.is_revoked(&key) {
            return Ok(());
        }
        if revoked && self.state.revoked.is_full() {
            return Err(StoreError::TooManyRevoked);
        }
        self.append(Op::Revoked { key, revoked }).await
    }

    /// A proof that `image` may be loaded without validation: its bytes
    /// still hash to the digest recorded at install, and its signer is a
    /// key `trust` lets skip validation (and not revoked). `None` when
    /// either does not hold. Only images the protocol session committed
    /// (from packages that verified) should be in a store: a firmware that
    /// commits other bytes under a trusted-signer key id breaks this proof.
    pub async fn vouch(&mut self, image: &Image, trust: &TrustPolicy<'_>) -> Result<Option<Vouched>, StoreError> {
        let Some(signer) = image.signer else { return Ok(None) };
        if !trust.rights(Some(&signer)).contains(Rights::SKIP_VALIDATION) || self.state.is_revoked(&signer) {
            return Ok(None);
        }
        if !self.verify(image).await? {
            return Ok(None);
        }
        Ok(Some(Vouched::new(image.digest, signer)))
    }

    /// Confirms `name`'s active version (after a healthy run or on
    /// request): its previous version's slot becomes free. Confirming a
    /// confirmed app does nothing.
    pub async fn confirm(&mut self, name: &AppName) -> Result<(), StoreError> {
        match self.state.app(name) {
            None => Err(StoreError::NotFound),
            Some(app) if app.confirmed => Ok(()),
            Some(_) => self.change(Op::Confirmed { name: name.clone() }).await,
        }
    }

    /// Returns `name` to its previous (confirmed) version, dropping the
    /// version on trial.
    pub async fn rollback(&mut self, name: &AppName) -> Result<Image, StoreError> {
        let app = self.state.app(name).ok_or(StoreError::NotFound)?;
        let previous = app.previous.clone().ok_or(StoreError::NothingToRollBack)?;
        self.change(Op::RolledBack { name: name.clone() }).await?;
        Ok(previous)
    }

    /// Uninstalls `name`; its anti-rollback floor is kept.
    pub async fn remove(&mut self, name: &AppName) -> Result<(), StoreError> {
        if self.state.app(name).is_none() {
            return Err(StoreError::NotFound);
        }
        self.change(Op::Removed { name: name.clone() }).await
    }

    /// Appends `op`, then erases the slots it freed, so free slots read
    /// erased: a later transfer that is refused then leaves the flash
    /// exactly as it found it (it erases only what it wrote). An error
    /// means the change did not happen; once `op` is in the journal the
    /// change has happened, so a flash error while erasing a freed slot is
    /// not returned: that slot stays unerased until [`Store::begin`] erases
    /// it for the transfer that uses it.
    async fn change(&mut self, op: Op) -> Result<(), StoreError> {
        let used = |s: &Self| (0..s.config.slots as u8).filter(|&i| s.state.slot_used(i)).fold(0u16, |m, i| m | 1 << i);
        let before = used(self);
        self.append(op).await?;
        let freed = before & !used(self);
        for slot in (0..self.config.slots as u8).filter(|i| freed & 1 << i != 0) {
            if self.prepare_slot(slot, self.slot_sectors).await.is_err() {
                break;
            }
        }
        Ok(())
    }
}
