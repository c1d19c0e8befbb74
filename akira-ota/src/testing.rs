//! Flash models for tests and simulators (feature `std`).
//!
//! [`SimFlash`] is a RAM NOR flash that enforces NOR rules (a write may only
//! program erased bytes; writes and erases are aligned), counts erases per
//! sector, and can cut the power at the Nth write or erase, the way
//! MCUboot's simulator does: the interrupted operation is half done, and
//! every later operation fails until [`SimFlash::power_on`].
//! [`FileFlash`] is the same flash kept in a file, for `akira sim-device`.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::vec;
use std::vec::Vec;

use embedded_storage::nor_flash::{ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash};

/// Why a [`SimFlash`] operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimError {
    /// Offset or length not aligned.
    NotAligned,
    /// Outside the flash.
    OutOfBounds,
    /// The power was cut (this operation was interrupted, or came after).
    PowerCut,
    /// A write to bytes that were not erased (real NOR would corrupt them).
    NotErased,
    /// The backing file failed.
    Io,
}

impl NorFlashError for SimError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            SimError::NotAligned => NorFlashErrorKind::NotAligned,
            SimError::OutOfBounds => NorFlashErrorKind::OutOfBounds,
            _ => NorFlashErrorKind::Other,
        }
    }
}

/// A RAM NOR flash of `W`-byte writes and `E`-byte erase sectors.
#[derive(Clone, Debug)]
pub struct SimFlash<const W: usize = 4, const E: usize = 4096> {
    data: Vec<u8>,
    erases: Vec<u32>,
    ops: u64,
    cut_at: Option<u64>,
    powered: bool,
    violations: u32,
}

impl<const W: usize, const E: usize> SimFlash<W, E> {
    /// An erased flash of `sectors` sectors.
    pub fn new(sectors: usize) -> Self {
        SimFlash {
            data: vec![0xFF; sectors * E],
            erases: vec![0; sectors],
            ops: 0,
            cut_at: None,
            powered: true,
            violations: 0,
        }
    }

    /// A flash holding `bytes` (whole sectors), as if powered on with them.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        let sectors = bytes.len() / E;
        let mut flash = Self::new(sectors);
        flash.data[..sectors * E].copy_from_slice(&bytes[..sectors * E]);
        flash
    }

    /// The contents.
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// Erases per sector so far.
    pub fn erase_counts(&self) -> &[u32] {
        &self.erases
    }

    /// Writes and erases so far.
    pub fn ops(&self) -> u64 {
        self.ops
    }

    /// Writes to unerased bytes attempted so far (a correct store makes
    /// none).
    pub fn violations(&self) -> u32 {
        self.violations
    }

    /// Cuts the power during the `n`th write or erase from now (1 = the
    /// next one).
    pub fn cut_after(&mut self, n: u64) {
        self.cut_at = Some(self.ops + n);
    }

    /// Whether the power is on.
    pub fn is_powered(&self) -> bool {
        self.powered
    }

    /// Restores the power (the contents stay as the cut left them).
    pub fn power_on(&mut self) {
        self.powered = true;
        self.cut_at = None;
    }

    /// Counts an operation; `Ok(true)` if the power fails during it.
    fn begin_op(&mut self) -> Result<bool, SimError> {
        if !self.powered {
            return Err(SimError::PowerCut);
        }
        self.ops += 1;
        Ok(self.cut_at == Some(self.ops))
    }

    fn check(&self, offset: u32, len: usize, align: usize) -> Result<usize, SimError> {
        let start = offset as usize;
        if !start.is_multiple_of(align) || !len.is_multiple_of(align) {
            return Err(SimError::NotAligned);
        }
        if start + len > self.data.len() {
            return Err(SimError::OutOfBounds);
        }
        Ok(start)
    }
}

impl<const W: usize, const E: usize> ErrorType for SimFlash<W, E> {
    type Error = SimError;
}

impl<const W: usize, const E: usize> ReadNorFlash for SimFlash<W, E> {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), SimError> {
        if !self.powered {
            return Err(SimError::PowerCut);
        }
        let start = self.check(offset, bytes.len(), 1)?;
        bytes.copy_from_slice(&self.data[start..start + bytes.len()]);
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.data.len()
    }
}

impl<const W: usize, const E: usize> NorFlash for SimFlash<W, E> {
    const WRITE_SIZE: usize = W;
    const ERASE_SIZE: usize = E;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), SimError> {
        if to < from {
            return Err(SimError::OutOfBounds);
        }
        let start = self.check(from, (to - from) as usize, E)?;
        let end = to as usize;
        let cut = self.begin_op()?;
        if cut {
            // Half of the first sector is erased, the rest untouched.
            self.data[start..start + E / 2].fill(0xFF);
            self.erases[start / E] += 1;
            self.powered = false;
            return Err(SimError::PowerCut);
        }
        self.data[start..end].fill(0xFF);
        for s in start / E..end / E {
            self.erases[s] += 1;
        }
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), SimError> {
        let start = self.check(offset, bytes.len(), W)?;
        if self.data[start..start + bytes.len()].iter().any(|b| *b != 0xFF) {
            self.violations += 1;
            return Err(SimError::NotErased);
        }
        let cut = self.begin_op()?;
        if cut {
            // The first half of the words are programmed.
            let n = (bytes.len() / W / 2) * W;
            self.data[start..start + n].copy_from_slice(&bytes[..n]);
            self.powered = false;
            return Err(SimError::PowerCut);
        }
        self.data[start..start + bytes.len()].copy_from_slice(bytes);
        Ok(())
    }
}

/// A [`SimFlash`] persisted in a file: every write and erase is written
/// through, so a killed process leaves the file as a power cut leaves flash.
pub struct FileFlash<const W: usize = 4, const E: usize = 4096> {
    file: File,
    sim: SimFlash<W, E>,
}

impl<const W: usize, const E: usize> FileFlash<W, E> {
    /// Opens `path`, creating an erased flash of `sectors` sectors if it
    /// does not exist; an existing file must have that size.
    pub fn open(path: &Path, sectors: usize) -> std::io::Result<Self> {
        let exists = path.exists();
        let mut file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
        let mut sim = SimFlash::new(sectors);
        if exists {
            let mut data = Vec::new();
            file.read_to_end(&mut data)?;
            if data.len() != sectors * E {
                return Err(std::io::Error::other(format!(
                    "{} holds {} bytes, expected a flash of {} bytes",
                    path.display(),
                    data.len(),
                    sectors * E
                )));
            }
            sim.data = data;
        } else {
            file.write_all(&sim.data)?;
            file.sync_all()?;
        }
        Ok(FileFlash { file, sim })
    }

    /// Erases per sector since this process opened the file.
    pub fn erase_counts(&self) -> &[u32] {
        self.sim.erase_counts()
    }

    fn persist(&mut self, start: usize, len: usize) -> Result<(), SimError> {
        self.file.seek(SeekFrom::Start(start as u64)).map_err(|_| SimError::Io)?;
        self.file.write_all(&self.sim.data[start..start + len]).map_err(|_| SimError::Io)?;
        self.file.flush().map_err(|_| SimError::Io)
    }
}

impl<const W: usize, const E: usize> ErrorType for FileFlash<W, E> {
    type Error = SimError;
}

impl<const W: usize, const E: usize> ReadNorFlash for FileFlash<W, E> {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), SimError> {
        self.sim.read(offset, bytes)
    }

    fn capacity(&self) -> usize {
        self.sim.capacity()
    }
}

impl<const W: usize, const E: usize> NorFlash for FileFlash<W, E> {
    const WRITE_SIZE: usize = W;
    const ERASE_SIZE: usize = E;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), SimError> {
        self.sim.erase(from, to)?;
        self.persist(from as usize, (to - from) as usize)
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), SimError> {
        self.sim.write(offset, bytes)?;
        self.persist(offset as usize, bytes.len())
    }
}
