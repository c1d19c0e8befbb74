//! Flash access for the store: error mapping, alignment, and running the
//! async store over a blocking `NorFlash`.

use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

use embedded_storage::nor_flash::{NorFlashError, NorFlashErrorKind};
use embedded_storage_async::nor_flash::NorFlash;

/// A flash failure, as the store reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FlashFault {
    /// The driver refused an unaligned access (a store bug or a driver
    /// with stricter rules than it advertises).
    NotAligned,
    /// Outside the flash.
    OutOfBounds,
    /// Any other driver error (including a power cut in tests).
    Other,
}

impl FlashFault {
    pub(crate) fn from<E: NorFlashError>(e: E) -> FlashFault {
        match e.kind() {
            NorFlashErrorKind::NotAligned => FlashFault::NotAligned,
            NorFlashErrorKind::OutOfBounds => FlashFault::OutOfBounds,
            _ => FlashFault::Other,
        }
    }
}

/// Largest write granularity the store supports, in bytes.
pub const MAX_WRITE_SIZE: usize = 32;

/// A region of a flash: `size` bytes from `offset`, both multiples of the
/// erase size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Region {
    /// First byte, in the flash's address space.
    pub offset: u32,
    /// Bytes.
    pub size: u32,
}

pub(crate) struct Flash<F> {
    pub(crate) inner: F,
    pub(crate) region: Region,
}

impl<F: NorFlash> Flash<F> {
    pub(crate) const ERASE: u32 = F::ERASE_SIZE as u32;

    /// Reads any range (relative to the region), whatever the driver's
    /// read granularity.
    pub(crate) async fn read(&mut self, offset: u32, buf: &mut [u8]) -> Result<(), FlashFault> {
        let read = F::READ_SIZE.max(1) as u32;
        let start = self.region.offset + offset;
        if read == 1 {
            return self.inner.read(start, buf).await.map_err(FlashFault::from);
        }
        // Bounce through a small aligned buffer.
        let mut bounce = [0u8; MAX_WRITE_SIZE];
        let mut done = 0usize;
        while done < buf.len() {
            let at = start + done as u32;
            let base = at - at % read;
            let skip = (at - base) as usize;
            let chunk = read as usize;
            self.inner.read(base, &mut bounce[..chunk]).await.map_err(FlashFault::from)?;
            let n = (chunk - skip).min(buf.len() - done);
            buf[done..done + n].copy_from_slice(&bounce[skip..skip + n]);
            done += n;
        }
        Ok(())
    }

    /// Writes `data` at `offset` (relative), both multiples of the write
    /// size.
    pub(crate) async fn write(&mut self, offset: u32, data: &[u8]) -> Result<(), FlashFault> {
        self.inner.write(self.region.offset + offset, data).await.map_err(FlashFault::from)
    }

    /// Erases the sectors `first..first + count` of the region.
    pub(crate) async fn erase(&mut self, first: u32, count: u32) -> Result<(), FlashFault> {
        let from = self.region.offset + first * Self::ERASE;
        self.inner.erase(from, from + count * Self::ERASE).await.map_err(FlashFault::from)
    }

    /// Whether `len` bytes at `offset` all read as erased (0xFF).
    pub(crate) async fn is_erased(&mut self, offset: u32, len: u32) -> Result<bool, FlashFault> {
        let mut buf = [0u8; 64];
        let mut at = 0;
        while at < len {
            let n = (len - at).min(buf.len() as u32) as usize;
            self.read(offset + at, &mut buf[..n]).await?;
            if buf[..n].iter().any(|b| *b != 0xFF) {
                return Ok(false);
            }
            at += n as u32;
        }
        Ok(true)
    }
}

/// Adapts a blocking `embedded_storage::nor_flash::NorFlash` to the async
/// trait; its futures complete on first poll.
pub struct BlockingFlash<F>(pub F);

impl<F: embedded_storage::nor_flash::ErrorType> embedded_storage_async::nor_flash::ErrorType for BlockingFlash<F> {
    type Error = F::Error;
}

impl<F: embedded_storage::nor_flash::ReadNorFlash> embedded_storage_async::nor_flash::ReadNorFlash
    for BlockingFlash<F>
{
    const READ_SIZE: usize = F::READ_SIZE;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        self.0.read(offset, bytes)
    }

    fn capacity(&self) -> usize {
        self.0.capacity()
    }
}

impl<F: embedded_storage::nor_flash::NorFlash> NorFlash for BlockingFlash<F> {
    const WRITE_SIZE: usize = F::WRITE_SIZE;
    const ERASE_SIZE: usize = F::ERASE_SIZE;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        self.0.erase(from, to)
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        self.0.write(offset, bytes)
    }
}

/// Runs a future whose leaf operations never pend to completion: the
/// store and the protocol session over a [`BlockingFlash`] (and blocking
/// verifiers). With futures that do pend, this spins.
pub fn block_on<T>(future: impl Future<Output = T>) -> T {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}
