//! Flash models for tests and simulators (feature `std`).
//!
//! [`SimFlash`] is a RAM NOR flash that enforces NOR rules (a write may only
//! program erased bytes, as MCUboot's simulator checks; writes and erases
//! are aligned), counts erases per sector, and injects the faults a real
//! part shows, at the Nth write or erase:
//!
//! - **power cuts** ([`Fault::PowerCut`]): the operation is interrupted and
//!   every later one fails until [`SimFlash::power_on`];
//! - **driver failures** ([`Fault::Failure`]): the driver reports a
//!   program or erase error and the flash stays powered;
//!
//! each leaving the cells it was changing as a [`Tear`] says: nothing,
//! half, a write unit torn (its first bytes programmed, the rest erased),
//! mixed bits (some bits of each byte programmed, or erased), or all of
//! it. Sectors may be uniform or mixed, as on STM32F4
//! ([`SimFlash::with_sectors`]).
//!
//! [`FileFlash`] is the same flash kept in a file, for `akira sim-device`.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::vec;
use std::vec::Vec;

use embedded_storage::nor_flash::{ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash};

/// Why a [`SimFlash`] operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SimError {
    /// Offset or length not aligned.
    NotAligned,
    /// Outside the flash.
    OutOfBounds,
    /// The power was cut (this operation was interrupted, or came after).
    PowerCut,
    /// A write to bytes that were not erased (real NOR would corrupt them).
    NotErased,
    /// The driver reported a program failure ([`Fault::Failure`]).
    WriteFailed,
    /// The driver reported an erase failure ([`Fault::Failure`]).
    EraseFailed,
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

/// What goes wrong at the faulty operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The power fails during it: it is left as its [`Tear`] says, and
    /// every operation after it fails until [`SimFlash::power_on`].
    PowerCut,
    /// The driver reports an error for it ([`SimError::WriteFailed`] or
    /// [`SimError::EraseFailed`]), leaving it as its [`Tear`] says; the
    /// flash stays powered and later operations work.
    Failure,
}

/// How much of an interrupted operation reached the cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tear {
    /// Nothing.
    Nothing,
    /// A write's first half of write units; an erase's first half of
    /// sectors and half of the next.
    Half,
    /// A write's units before the middle one, which is torn: its first
    /// bytes programmed, the rest still erased. An erase's first half of
    /// sectors, and the next erased from its middle on.
    TornUnit,
    /// Mixed bits. A write's units before the middle one, which has only
    /// some of the bits it clears cleared. An erase's first half of
    /// sectors, then a sector with only some of its bits set.
    Garbage,
    /// All of it (the fault came at the very end).
    Everything,
}

impl Tear {
    /// Every tear, in order.
    pub const ALL: [Tear; 5] = [Tear::Nothing, Tear::Half, Tear::TornUnit, Tear::Garbage, Tear::Everything];
}

/// A RAM NOR flash of `W`-byte writes and sectors of `E` bytes (uniform)
/// or of the sizes given to [`SimFlash::with_sectors`] (`E` is then the
/// largest, the granularity a driver of such a part advertises).
#[derive(Clone, Debug)]
pub struct SimFlash<const W: usize = 4, const E: usize = 4096> {
    data: Vec<u8>,
    /// Start of each sector, then the end of the flash.
    bounds: Vec<usize>,
    erases: Vec<u32>,
    ops: u64,
    fault: Option<(u64, Fault, Tear)>,
    powered: bool,
    violations: u32,
}

/// A small deterministic generator for mixed bits.
fn noise(seed: u64, i: usize) -> u8 {
    let mut x = seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 33;
    x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    x ^= x >> 33;
    x as u8
}

impl<const W: usize, const E: usize> SimFlash<W, E> {
    /// An erased flash of `sectors` sectors of `E` bytes.
    pub fn new(sectors: usize) -> Self {
        Self::with_sectors(&[(sectors, E)])
    }

    /// An erased flash of mixed sectors: `(count, bytes)` runs in address
    /// order, e.g. an STM32F4 bank: `&[(4, 16 << 10), (1, 64 << 10), (7,
    /// 128 << 10)]` with `E` = 128 KiB. An erase must start and end on
    /// sector boundaries and erases sector after sector (a fault hits one
    /// of them).
    pub fn with_sectors(runs: &[(usize, usize)]) -> Self {
        let mut bounds = vec![0];
        for &(count, bytes) in runs {
            for _ in 0..count {
                bounds.push(bounds[bounds.len() - 1] + bytes);
            }
        }
        let size = bounds[bounds.len() - 1];
        SimFlash {
            data: vec![0xFF; size],
            erases: vec![0; bounds.len() - 1],
            bounds,
            ops: 0,
            fault: None,
            powered: true,
            violations: 0,
        }
    }

    /// A flash holding `bytes` (whole sectors of `E`), as if powered on
    /// with them.
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
    /// next one), which lands half done ([`Tear::Half`]).
    pub fn cut_after(&mut self, n: u64) {
        self.fault_after(n, Fault::PowerCut, Tear::Half);
    }

    /// Injects `fault` into the `n`th write or erase from now (1 = the
    /// next one), leaving it as `tear` says. One fault at a time: this
    /// replaces any pending one.
    pub fn fault_after(&mut self, n: u64, fault: Fault, tear: Tear) {
        self.fault = Some((self.ops + n, fault, tear));
    }

    /// Whether the power is on.
    pub fn is_powered(&self) -> bool {
        self.powered
    }

    /// Restores the power (the contents stay as the cut left them).
    pub fn power_on(&mut self) {
        self.powered = true;
        self.fault = None;
    }

    /// Counts an operation; the fault to inject into it, if any.
    fn begin_op(&mut self) -> Result<Option<(Fault, Tear)>, SimError> {
        if !self.powered {
            return Err(SimError::PowerCut);
        }
        self.ops += 1;
        match self.fault {
            Some((at, fault, tear)) if at == self.ops => {
                self.fault = None;
                Ok(Some((fault, tear)))
            }
            _ => Ok(None),
        }
    }

    /// The error a fault reports (and a cut's power loss).
    fn fail(&mut self, fault: Fault, failed: SimError) -> SimError {
        match fault {
            Fault::PowerCut => {
                self.powered = false;
                SimError::PowerCut
            }
            Fault::Failure => failed,
        }
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

    /// The sectors `from..to` covers, if both are sector boundaries.
    fn sectors(&self, from: usize, to: usize) -> Result<core::ops::Range<usize>, SimError> {
        if to > self.data.len() {
            return Err(SimError::OutOfBounds);
        }
        let first = self.bounds.binary_search(&from).map_err(|_| SimError::NotAligned)?;
        let end = self.bounds.binary_search(&to).map_err(|_| SimError::NotAligned)?;
        Ok(first..end)
    }

    /// Sector `s` partly erased as `tear` says (`seed` for mixed bits).
    fn tear_sector(&mut self, s: usize, tear: Tear, seed: u64) {
        let (start, end) = (self.bounds[s], self.bounds[s + 1]);
        let mid = start + (end - start) / 2;
        match tear {
            Tear::Nothing => return,
            Tear::Half => self.data[start..mid].fill(0xFF),
            Tear::TornUnit => self.data[mid..end].fill(0xFF),
            Tear::Garbage => {
                for (i, b) in self.data[start..end].iter_mut().enumerate() {
                    *b |= noise(seed, i);
                }
            }
            Tear::Everything => self.data[start..end].fill(0xFF),
        }
        self.erases[s] += 1;
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
        let sectors = self.sectors(from as usize, to as usize)?;
        let fault = self.begin_op()?;
        let (whole, torn) = match fault {
            None | Some((_, Tear::Everything)) => (sectors.end, None),
            Some((_, Tear::Nothing)) => (sectors.start, None),
            // The first half of the sectors, then one torn.
            Some((_, tear)) => {
                let mid = sectors.start + sectors.len() / 2;
                (mid, Some((mid, tear)))
            }
        };
        for s in sectors.start..whole {
            self.data[self.bounds[s]..self.bounds[s + 1]].fill(0xFF);
            self.erases[s] += 1;
        }
        if let Some((s, tear)) = torn {
            self.tear_sector(s, tear, self.ops);
        }
        match fault {
            Some((fault, _)) => Err(self.fail(fault, SimError::EraseFailed)),
            None => Ok(()),
        }
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), SimError> {
        let start = self.check(offset, bytes.len(), W)?;
        if self.data[start..start + bytes.len()].iter().any(|b| *b != 0xFF) {
            self.violations += 1;
            return Err(SimError::NotErased);
        }
        let Some((fault, tear)) = self.begin_op()? else {
            self.data[start..start + bytes.len()].copy_from_slice(bytes);
            return Ok(());
        };
        let units = bytes.len() / W;
        // Whole units landed, then the torn unit's bytes: how many were
        // programmed, or mixed bits in all of them.
        let (whole, torn) = match tear {
            Tear::Nothing => (0, None),
            Tear::Half => (units / 2, None),
            Tear::TornUnit => (units / 2, Some(false)),
            Tear::Garbage => (units / 2, Some(true)),
            Tear::Everything => (units, None),
        };
        let n = whole * W;
        self.data[start..start + n].copy_from_slice(&bytes[..n]);
        if let Some(mixed) = torn
            && whole < units
        {
            let unit = &bytes[n..n + W];
            let cells = &mut self.data[start + n..start + n + W];
            for (i, (cell, target)) in cells.iter_mut().zip(unit).enumerate() {
                *cell = match (mixed, i < W.div_ceil(2)) {
                    // Some of the bits the target clears are cleared.
                    (true, _) => *target | noise(self.ops, i),
                    (false, true) => *target,
                    (false, false) => 0xFF,
                };
            }
        }
        Err(self.fail(fault, SimError::WriteFailed))
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
