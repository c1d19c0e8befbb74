//! A NOR flash in RAM, for boards and emulators without a flash model.
//!
//! It keeps the rules of real NOR flash, so the store behaves as it will on
//! hardware: writes and erases must be aligned, and a write may only
//! program bytes that are erased (0xFF). Its contents are lost at reset,
//! which is the one way it differs from flash; say so wherever it is used.

use embedded_storage::nor_flash::{ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash};

/// Why a [`RamFlash`] operation was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RamFlashError {
    /// Offset or length not aligned to the write or erase size.
    NotAligned,
    /// Outside the flash.
    OutOfBounds,
    /// A write to bytes that are not erased.
    NotErased,
}

impl NorFlashError for RamFlashError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            RamFlashError::NotAligned => NorFlashErrorKind::NotAligned,
            RamFlashError::OutOfBounds => NorFlashErrorKind::OutOfBounds,
            RamFlashError::NotErased => NorFlashErrorKind::Other,
        }
    }
}

/// A NOR flash of `W`-byte writes and `E`-byte sectors over a RAM buffer.
pub struct RamFlash<'a, const W: usize = 4, const E: usize = 4096> {
    bytes: &'a mut [u8],
}

impl<'a, const W: usize, const E: usize> RamFlash<'a, W, E> {
    /// A flash over `bytes` (its length is cut to whole sectors), erased.
    pub fn new(bytes: &'a mut [u8]) -> Self {
        let whole = bytes.len() - bytes.len() % E;
        let bytes = &mut bytes[..whole];
        bytes.fill(0xFF);
        RamFlash { bytes }
    }

    fn range(&self, offset: u32, len: usize, align: usize) -> Result<core::ops::Range<usize>, RamFlashError> {
        let start = offset as usize;
        if !start.is_multiple_of(align) || !len.is_multiple_of(align) {
            return Err(RamFlashError::NotAligned);
        }
        let end = start.checked_add(len).ok_or(RamFlashError::OutOfBounds)?;
        if end > self.bytes.len() {
            return Err(RamFlashError::OutOfBounds);
        }
        Ok(start..end)
    }
}

impl<const W: usize, const E: usize> ErrorType for RamFlash<'_, W, E> {
    type Error = RamFlashError;
}

impl<const W: usize, const E: usize> ReadNorFlash for RamFlash<'_, W, E> {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), RamFlashError> {
        let r = self.range(offset, bytes.len(), 1)?;
        bytes.copy_from_slice(&self.bytes[r]);
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.bytes.len()
    }
}

impl<const W: usize, const E: usize> NorFlash for RamFlash<'_, W, E> {
    const WRITE_SIZE: usize = W;
    const ERASE_SIZE: usize = E;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), RamFlashError> {
        let len = to.checked_sub(from).ok_or(RamFlashError::OutOfBounds)? as usize;
        let r = self.range(from, len, E)?;
        self.bytes[r].fill(0xFF);
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), RamFlashError> {
        let r = self.range(offset, bytes.len(), W)?;
        let target = &mut self.bytes[r];
        if target.iter().any(|b| *b != 0xFF) {
            return Err(RamFlashError::NotErased);
        }
        target.copy_from_slice(bytes);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_nor_rules() {
        let mut backing = [0u8; 2 * 4096 + 100];
        let mut f = RamFlash::<4, 4096>::new(&mut backing);
        assert_eq!(f.capacity(), 8192, "cut to whole sectors");
        f.write(0, &[1, 2, 3, 4]).unwrap();
        assert_eq!(f.write(0, &[1, 2, 3, 4]), Err(RamFlashError::NotErased));
        assert_eq!(f.write(2, &[1, 2, 3, 4]), Err(RamFlashError::NotAligned));
        assert_eq!(f.write(8192, &[1, 2, 3, 4]), Err(RamFlashError::OutOfBounds));
        assert_eq!(f.erase(0, 100), Err(RamFlashError::NotAligned));
        f.erase(0, 4096).unwrap();
        f.write(0, &[5, 6, 7, 8]).unwrap();
        let mut out = [0; 5];
        f.read(0, &mut out).unwrap();
        assert_eq!(out, [5, 6, 7, 8, 0xFF]);
    }
}
