//! The store over a blocking NorFlash.

use akira_caps::Version;
use akira_caps::manifest::AppName;
use embedded_storage::nor_flash::NorFlash;

use super::block_on;
use super::{
    Allow, AppRecord, BlockingFlash, Boot, Capacity, Image, Region, SignerId, Staging, State, Store, StoreConfig,
    StoreError,
};
use crate::package::Vouched;
use crate::trust::TrustPolicy;

/// [`Store`] over a blocking `embedded_storage::nor_flash::NorFlash`: the
/// same store, each call run to completion.
pub struct BlockingStore<F: NorFlash> {
    inner: Store<BlockingFlash<F>>,
}

impl<F: NorFlash> BlockingStore<F> {
    /// See [`Store::open`].
    pub fn open(flash: F, region: Region, config: StoreConfig) -> Result<Self, StoreError> {
        block_on(Store::open(BlockingFlash(flash), region, config)).map(|inner| BlockingStore { inner })
    }

    /// The async store inside.
    pub fn as_async(&mut self) -> &mut Store<BlockingFlash<F>> {
        &mut self.inner
    }

    /// See [`Store::state`].
    pub fn state(&self) -> &State {
        self.inner.state()
    }

    /// See [`Store::apps`].
    pub fn apps(&self) -> &[AppRecord] {
        self.inner.apps()
    }

    /// See [`Store::app`].
    pub fn app(&self, name: &str) -> Option<&AppRecord> {
        self.inner.app(name)
    }

    /// See [`Store::capacity`].
    pub fn capacity(&self) -> Capacity {
        self.inner.capacity()
    }

    /// See [`Store::slot_bytes`].
    pub fn slot_bytes(&self) -> u32 {
        self.inner.slot_bytes()
    }

    /// See [`Store::erase_counts`].
    pub fn erase_counts(&self) -> (&[u32], &[u32]) {
        self.inner.erase_counts()
    }

    /// See [`Store::journal_position`].
    pub fn journal_position(&self) -> super::JournalPosition {
        self.inner.journal_position()
    }

    /// See [`Store::location`].
    pub fn location(&self, image: &Image) -> (u32, u32) {
        self.inner.location(image)
    }

    /// See [`Store::read`].
    pub fn read(&mut self, image: &Image, offset: u32, buf: &mut [u8]) -> Result<(), StoreError> {
        block_on(self.inner.read(image, offset, buf))
    }

    /// See [`Store::verify`].
    pub fn verify(&mut self, image: &Image) -> Result<bool, StoreError> {
        block_on(self.inner.verify(image))
    }

    /// See [`Store::check_install`].
    pub fn check_install(
        &self,
        name: &str,
        version: Version,
        len: u32,
        signer: Option<SignerId>,
        allow: Allow,
    ) -> Result<(), StoreError> {
        self.inner.check_install(name, version, len, signer, allow)
    }

    /// See [`Store::begin`].
    pub fn begin(
        &mut self,
        name: &AppName,
        version: Version,
        len: u32,
        signer: Option<SignerId>,
        allow: Allow,
    ) -> Result<Staging, StoreError> {
        block_on(self.inner.begin(name, version, len, signer, allow))
    }

    /// See [`Store::write`].
    pub fn write(&mut self, staging: &mut Staging, data: &[u8]) -> Result<(), StoreError> {
        block_on(self.inner.write(staging, data))
    }

    /// See [`Store::read_staged`].
    pub fn read_staged(&mut self, staging: &mut Staging, offset: u32, buf: &mut [u8]) -> Result<(), StoreError> {
        block_on(self.inner.read_staged(staging, offset, buf))
    }

    /// See [`Store::commit`].
    pub fn commit(&mut self, staging: Staging) -> Result<Image, StoreError> {
        block_on(self.inner.commit(staging))
    }

    /// See [`Store::abort`].
    pub fn abort(&mut self, staging: Staging) {
        self.inner.abort(staging)
    }

    /// See [`Store::discard`].
    pub fn discard(&mut self, staging: Staging) -> Result<(), StoreError> {
        block_on(self.inner.discard(staging))
    }

    /// See [`Store::vouch`].
    pub fn vouch(&mut self, image: &Image, trust: &TrustPolicy<'_>) -> Result<Option<Vouched>, StoreError> {
        block_on(self.inner.vouch(image, trust))
    }

    /// See [`Store::record_counter`].
    pub fn record_counter(&mut self, value: u64) -> Result<(), StoreError> {
        block_on(self.inner.record_counter(value))
    }

    /// See [`Store::revoke`].
    pub fn revoke(&mut self, key: SignerId, revoked: bool) -> Result<(), StoreError> {
        block_on(self.inner.revoke(key, revoked))
    }

    /// See [`Store::confirm`].
    pub fn confirm(&mut self, name: &AppName) -> Result<(), StoreError> {
        block_on(self.inner.confirm(name))
    }

    /// See [`Store::rollback`].
    pub fn rollback(&mut self, name: &AppName) -> Result<Image, StoreError> {
        block_on(self.inner.rollback(name))
    }

    /// See [`Store::boot`].
    pub fn boot(&mut self, name: &AppName, max_trial_boots: u8) -> Result<Boot, StoreError> {
        block_on(self.inner.boot(name, max_trial_boots))
    }

    /// See [`Store::remove`].
    pub fn remove(&mut self, name: &AppName) -> Result<(), StoreError> {
        block_on(self.inner.remove(name))
    }

    /// Gives the flash back.
    pub fn into_flash(self) -> F {
        self.inner.into_flash().0
    }

    /// The flash.
    pub fn flash_mut(&mut self) -> &mut F {
        &mut self.inner.flash_mut().0
    }
}
