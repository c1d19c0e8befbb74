//! The journal: a ring of sectors, each a snapshot followed by operations.
//!
//! A record is `[0xA5][kind][len: u16][seq: u32][crc32: u32][payload]`,
//! padded to the write size; the CRC covers kind, length, sequence number
//! and payload, so a torn record is never taken for a good one.

use embedded_storage_async::nor_flash::NorFlash;
use serde::Serialize;

use super::{
    Cursor, Flash, MAX_DATA_SECTORS, MAX_META_SECTORS, MAX_SLOTS, MAX_WRITE_SIZE, Op, Region, State, Store,
    StoreConfig, StoreError,
};

pub(super) const RECORD_MAGIC: u8 = 0xA5;
pub(super) const KIND_SNAPSHOT: u8 = 1;
pub(super) const KIND_OP: u8 = 2;
pub(super) const HEADER: usize = 12;
/// Largest journal record: a snapshot of a full state, plus header and
/// padding.
pub(super) const MAX_RECORD: usize = 2560;
const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

fn align_up(n: usize, to: usize) -> usize {
    n.div_ceil(to) * to
}

/// Encodes a record into `buf`, padded to `write` bytes; returns its
/// length. A free function so a snapshot of the store's state is encoded
/// without copying the state.
fn encode<T: Serialize>(
    buf: &mut [u8; MAX_RECORD],
    write: usize,
    kind: u8,
    seq: u32,
    value: &T,
) -> Result<usize, StoreError> {
    let len = postcard::to_slice(value, &mut buf[HEADER..])
        .map_err(|_| StoreError::Config("journal record too large"))?
        .len();
    let mut digest = CRC.digest();
    digest.update(&[kind]);
    digest.update(&(len as u16).to_le_bytes());
    digest.update(&seq.to_le_bytes());
    digest.update(&buf[HEADER..HEADER + len]);
    let crc = digest.finalize();
    buf[0] = RECORD_MAGIC;
    buf[1] = kind;
    buf[2..4].copy_from_slice(&(len as u16).to_le_bytes());
    buf[4..8].copy_from_slice(&seq.to_le_bytes());
    buf[8..12].copy_from_slice(&crc.to_le_bytes());
    let total = align_up(HEADER + len, write);
    buf[HEADER + len..total].fill(0);
    Ok(total)
}

struct RecordHeader {
    kind: u8,
    len: usize,
    seq: u32,
    crc: u32,
}

impl RecordHeader {
    fn parse(b: &[u8; HEADER]) -> Option<RecordHeader> {
        if b[0] != RECORD_MAGIC || !(b[1] == KIND_SNAPSHOT || b[1] == KIND_OP) {
            return None;
        }
        let len = usize::from(u16::from_le_bytes([b[2], b[3]]));
        if len == 0 || HEADER + len > MAX_RECORD {
            return None;
        }
        Some(RecordHeader {
            kind: b[1],
            len,
            seq: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            crc: u32::from_le_bytes([b[8], b[9], b[10], b[11]]),
        })
    }
}

impl<F: NorFlash> Store<F> {
    pub(super) const SECTOR: u32 = F::ERASE_SIZE as u32;

    /// Opens the store in `region` of `flash`, recovering the last
    /// committed state after any power cut, or formats an empty store if
    /// the region holds none.
    pub async fn open(flash: F, region: Region, config: StoreConfig) -> Result<Self, StoreError> {
        let sector = F::ERASE_SIZE as u32;
        if F::WRITE_SIZE > MAX_WRITE_SIZE || F::READ_SIZE > MAX_WRITE_SIZE || F::ERASE_SIZE % F::WRITE_SIZE != 0 {
            return Err(StoreError::Config("write size must divide the erase size and be at most 32 bytes"));
        }
        if F::ERASE_SIZE < MAX_RECORD + 256 {
            return Err(StoreError::Config("erase size must be at least 2816 bytes (4 KiB is typical)"));
        }
        if !region.offset.is_multiple_of(sector) || !region.size.is_multiple_of(sector) {
            return Err(StoreError::Config("region must start and end on erase-sector boundaries"));
        }
        if !(2..=MAX_META_SECTORS as u32).contains(&config.meta_sectors) {
            return Err(StoreError::Config("meta_sectors must be 2 to 8"));
        }
        if !(1..=MAX_SLOTS as u32).contains(&config.slots) {
            return Err(StoreError::Config("slots must be 1 to 16"));
        }
        let sectors = region.size / sector;
        let data_sectors = sectors.saturating_sub(config.meta_sectors);
        let slot_sectors = data_sectors / config.slots;
        if slot_sectors == 0 {
            return Err(StoreError::Config("region too small for the journal and one sector per slot"));
        }
        if (slot_sectors * config.slots) as usize > MAX_DATA_SECTORS {
            return Err(StoreError::Config("more than 128 data sectors: use fewer slots or a smaller region"));
        }
        let mut store = Store {
            flash: Flash { inner: flash, region },
            config,
            slot_sectors,
            state: State::fresh((slot_sectors * config.slots) as usize, config.meta_sectors as usize),
            cursor: Cursor { sector: 0, at: 0, seq: 0, dirty: true },
            staging_slot: None,
            unrecorded: heapless::Vec::new(),
            buf: [0; MAX_RECORD],
        };
        store.recover().await?;
        Ok(store)
    }

    async fn read_header(&mut self, sector: u32, at: u32) -> Result<Option<RecordHeader>, StoreError> {
        if at as usize + HEADER > F::ERASE_SIZE {
            return Ok(None);
        }
        let mut h = [0u8; HEADER];
        self.flash.read(sector * Self::SECTOR + at, &mut h).await?;
        Ok(RecordHeader::parse(&h))
    }

    /// Reads the record at `at` in `sector` into `buf[..len]` and checks
    /// its CRC; returns the payload length.
    async fn read_record(&mut self, sector: u32, at: u32, h: &RecordHeader) -> Result<bool, StoreError> {
        if at as usize + HEADER + h.len > F::ERASE_SIZE {
            return Ok(false);
        }
        let mut payload = [0u8; MAX_RECORD];
        self.flash.read(sector * Self::SECTOR + at + HEADER as u32, &mut payload[..h.len]).await?;
        let mut digest = CRC.digest();
        digest.update(&[h.kind]);
        digest.update(&(h.len as u16).to_le_bytes());
        digest.update(&h.seq.to_le_bytes());
        digest.update(&payload[..h.len]);
        if digest.finalize() != h.crc {
            return Ok(false);
        }
        self.buf[..h.len].copy_from_slice(&payload[..h.len]);
        Ok(true)
    }

    async fn recover(&mut self) -> Result<(), StoreError> {
        // The newest valid snapshot, by sequence number.
        let mut best: Option<(u32, u32)> = None;
        for sector in 0..self.config.meta_sectors {
            let Some(h) = self.read_header(sector, 0).await? else { continue };
            if h.kind != KIND_SNAPSHOT || !self.read_record(sector, 0, &h).await? {
                continue;
            }
            if best.is_none_or(|(seq, _)| h.seq > seq) {
                best = Some((h.seq, sector));
            }
        }
        let Some((seq, sector)) = best else {
            // No store here yet (or never completed formatting): start one.
            self.cursor = Cursor { sector: self.config.meta_sectors - 1, at: 0, seq: 0, dirty: true };
            return self.rotate().await;
        };
        let Some(h) = self.read_header(sector, 0).await? else { return Err(StoreError::Config("journal vanished")) };
        self.read_record(sector, 0, &h).await?;
        let snapshot: State = postcard::from_bytes(&self.buf[..h.len]).map_err(|_| {
            // A snapshot with a valid CRC that does not decode was written by
            // an incompatible firmware.
            StoreError::Config("journal snapshot from an incompatible firmware")
        })?;
        self.adopt(snapshot);
        let mut at = align_up(HEADER + h.len, F::WRITE_SIZE) as u32;
        let mut last = seq;
        let mut dirty = false;
        loop {
            if at as usize + HEADER > F::ERASE_SIZE {
                break;
            }
            let Some(h) = self.read_header(sector, at).await? else {
                dirty = !self.flash.is_erased(sector * Self::SECTOR + at, Self::SECTOR - at).await?;
                break;
            };
            if h.kind != KIND_OP || h.seq != last.wrapping_add(1) || !self.read_record(sector, at, &h).await? {
                dirty = true;
                break;
            }
            let Ok(op) = postcard::from_bytes::<Op>(&self.buf[..h.len]) else {
                dirty = true;
                break;
            };
            self.state.apply(&op);
            last = h.seq;
            at += align_up(HEADER + h.len, F::WRITE_SIZE) as u32;
        }
        self.cursor = Cursor { sector, at, seq: last, dirty };
        Ok(())
    }

    /// Takes a snapshot's state, fitted to this store's geometry.
    fn adopt(&mut self, snapshot: State) {
        let mut state = snapshot;
        let data = (self.slot_sectors * self.config.slots) as usize;
        state.data_erases.truncate(data);
        while state.data_erases.len() < data {
            let _ = state.data_erases.push(0);
        }
        let meta = self.config.meta_sectors as usize;
        state.meta_erases.truncate(meta);
        while state.meta_erases.len() < meta {
            let _ = state.meta_erases.push(0);
        }
        self.state = state;
    }

    /// Starts the next journal sector with a snapshot of the state.
    pub(super) async fn rotate(&mut self) -> Result<(), StoreError> {
        let next = (self.cursor.sector + 1) % self.config.meta_sectors;
        let base = next * Self::SECTOR;
        // A failed erase or write may have left anything in `next`: keep
        // the cursor dirty so the next append starts it again.
        self.cursor.dirty = true;
        let erased = self.flash.is_erased(base, Self::SECTOR).await?;
        if !erased {
            self.flash.erase(next, 1).await?;
            if let Some(c) = self.state.meta_erases.get_mut(next as usize) {
                *c = c.saturating_add(1);
            }
        }
        let seq = self.cursor.seq.wrapping_add(1);
        let total = encode(&mut self.buf, F::WRITE_SIZE, KIND_SNAPSHOT, seq, &self.state)?;
        self.flash.write(base, &self.buf[..total]).await?;
        self.cursor = Cursor { sector: next, at: total as u32, seq, dirty: false };
        // The snapshot holds every erase counted so far.
        self.unrecorded.clear();
        Ok(())
    }

    /// Writes `op` to the journal, then applies it. Erases counted but not
    /// yet recorded go first.
    pub(super) async fn append(&mut self, op: Op) -> Result<(), StoreError> {
        self.append_pending().await?;
        self.write_op(&op).await?;
        self.state.apply(&op);
        Ok(())
    }

    /// Writes the erases counted but not yet recorded.
    pub(super) async fn append_pending(&mut self) -> Result<(), StoreError> {
        while let Some(&(first, count)) = self.unrecorded.last() {
            // Already applied to the state: written, not applied again. A
            // rotation on the way writes them in its snapshot instead.
            self.write_op(&Op::Erased { first, count }).await?;
            self.unrecorded.pop();
        }
        Ok(())
    }

    /// Writes `op` to the journal without applying it.
    async fn write_op(&mut self, op: &Op) -> Result<(), StoreError> {
        let mut total = encode(&mut self.buf, F::WRITE_SIZE, KIND_OP, self.cursor.seq.wrapping_add(1), op)?;
        if self.cursor.dirty || self.cursor.at as usize + total > F::ERASE_SIZE {
            // A fresh sector holds a full snapshot and at least one op.
            let pending = !self.unrecorded.is_empty() && matches!(op, Op::Erased { .. });
            self.rotate().await?;
            if pending {
                // The snapshot counted it.
                return Ok(());
            }
            total = encode(&mut self.buf, F::WRITE_SIZE, KIND_OP, self.cursor.seq.wrapping_add(1), op)?;
        }
        let at = self.cursor.sector * Self::SECTOR + self.cursor.at;
        if let Err(e) = self.flash.write(at, &self.buf[..total]).await {
            // Part of the record (or all of it, if the driver failed after
            // programming) may be in flash: never write over it; the next
            // append starts a new sector whose snapshot supersedes it.
            self.cursor.dirty = true;
            return Err(e.into());
        }
        self.cursor.at += total as u32;
        self.cursor.seq = self.cursor.seq.wrapping_add(1);
        Ok(())
    }
}
