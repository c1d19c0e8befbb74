//! WASI files over the app's own key-value store ([`KvStore`]).
//!
//! One flat directory per app. A file is stored as keys in the app's
//! namespace, each prefixed by a byte no UTF-8 name starts with, so they
//! never meet the app's own `akira:storage` keys:
//!
//! - `0xFD`: the directory: the names, each after a length byte, in
//!   creation order (one value, so at most [`MAX_VALUE`] bytes of names);
//! - `0xFE name`: the file's size (`u32`, little-endian): the file exists
//!   while this key does;
//! - `0xFF i name`: bytes `256 i ..` of the file (chunk `i`, up to 256
//!   bytes; a missing chunk reads as zeros).
//!
//! Writes update the chunks first and the size last, so a power cut leaves
//! the old size (and the old bytes, or the new ones, within it).

use akira_abi::wasi::errno::{BADF, EXIST, FBIG, INVAL, IO, ISDIR, MFILE, NAMETOOLONG, NOENT, NOSPC, NOTDIR, TOO_BIG};

use crate::errno::Errno;
use crate::modules::storage::{KvStore, MAX_KEY, MAX_VALUE};

/// The preopened directory's file descriptor.
pub const DIR_FD: u32 = 3;
/// The first file descriptor of an open file.
pub const FIRST_FILE_FD: u32 = 4;
/// Files an app may have open at once.
pub const MAX_OPEN: usize = 4;
/// Longest file name, in bytes (a chunk key is two bytes and the name).
pub const MAX_NAME: usize = MAX_KEY - 2;
/// Largest file: 256 chunks of [`MAX_VALUE`] bytes.
pub const MAX_FILE: u64 = 256 * MAX_VALUE as u64;

const DIR_KEY: u8 = 0xFD;
const SIZE_KEY: u8 = 0xFE;
const CHUNK_KEY: u8 = 0xFF;
const CHUNK: u64 = MAX_VALUE as u64;

/// `path_open` flags ([`oflags`]) and the fd flag WASI calls `append`.
pub mod oflags {
    /// Create the file if it does not exist.
    pub const CREAT: u32 = 1;
    /// Fail unless it is a directory.
    pub const DIRECTORY: u32 = 2;
    /// With `CREAT`: fail if it exists.
    pub const EXCL: u32 = 4;
    /// Truncate to size 0.
    pub const TRUNC: u32 = 8;
    /// `fdflags`: every write appends.
    pub const APPEND: u32 = 1;
}

/// WASI's `rights` bits the files look at.
pub const RIGHT_READ: u64 = 1 << 1;
/// Writing.
pub const RIGHT_WRITE: u64 = 1 << 6;

/// A file name: 1 to [`MAX_NAME`] bytes.
pub type Name = heapless::Vec<u8, MAX_NAME>;

/// What an open descriptor names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// The directory (opened as `.`).
    Dir,
    /// A file.
    File(Name),
}

#[derive(Clone, Debug)]
struct Open {
    node: Node,
    pos: u64,
    read: bool,
    write: bool,
    append: bool,
}

/// One app's open files: its descriptor table beyond stdio and the
/// preopened directory.
#[derive(Debug, Default)]
pub struct Files {
    open: [Option<Open>; MAX_OPEN],
}

/// The app's store, seen through its name and quota.
pub struct Store<'a> {
    /// The board's key-value store.
    pub kv: &'a mut dyn KvStore,
    /// The app's namespace.
    pub app: &'a str,
    /// The app's storage quota.
    pub quota: u32,
}

/// A WASI errno.
pub type Fail = u16;

fn kv_err(e: Errno) -> Fail {
    match e {
        Errno::NoSpace => NOSPC,
        Errno::TooLarge => TOO_BIG,
        _ => IO,
    }
}

/// A key of `kind` for `name`, with `index` for a chunk.
fn key(kind: u8, index: Option<u8>, name: &[u8]) -> heapless::Vec<u8, MAX_KEY> {
    let mut k = heapless::Vec::new();
    // Capacity: 2 + MAX_NAME = MAX_KEY.
    let _ = k.push(kind);
    if let Some(i) = index {
        let _ = k.push(i);
    }
    let _ = k.extend_from_slice(name);
    k
}

/// Resolves `path` relative to the one directory: `None` for the
/// directory itself, the file's name otherwise.
pub fn resolve(path: &[u8]) -> Result<Option<Name>, Fail> {
    let mut p = path;
    loop {
        if let Some(rest) = p.strip_prefix(b"./") {
            p = rest;
        } else if let Some(rest) = p.strip_prefix(b"/") {
            p = rest;
        } else {
            break;
        }
    }
    while let Some(rest) = p.strip_suffix(b"/") {
        p = rest;
    }
    if p.is_empty() || p == b"." {
        return Ok(None);
    }
    if p == b".." || p.contains(&b'/') || p.contains(&0) {
        // One directory: there is nothing above it or below it.
        return Err(NOENT);
    }
    Name::from_slice(p).map(Some).map_err(|_| NAMETOOLONG)
}

impl Store<'_> {
    /// The file's size, `None` if it does not exist.
    pub fn size(&mut self, name: &[u8]) -> Result<Option<u64>, Fail> {
        let mut buf = [0u8; 4];
        match self.kv.get(self.app, &key(SIZE_KEY, None, name), &mut buf).map_err(kv_err)? {
            Some(4) => Ok(Some(u64::from(u32::from_le_bytes(buf)))),
            Some(_) => Err(IO),
            None => Ok(None),
        }
    }

    fn set_size(&mut self, name: &[u8], size: u64) -> Result<(), Fail> {
        let size = u32::try_from(size).map_err(|_| FBIG)?;
        self.kv.set(self.app, &key(SIZE_KEY, None, name), &size.to_le_bytes(), self.quota).map_err(kv_err)
    }

    /// The directory's value and its length.
    fn dir(&mut self) -> Result<([u8; MAX_VALUE], usize), Fail> {
        let mut buf = [0u8; MAX_VALUE];
        let n = self.kv.get(self.app, &[DIR_KEY], &mut buf).map_err(kv_err)?.unwrap_or(0).min(MAX_VALUE);
        Ok((buf, n))
    }

    /// The `index`-th name of the directory.
    pub fn entry(&mut self, index: u64) -> Result<Option<Name>, Fail> {
        let (buf, n) = self.dir()?;
        Ok(names(&buf[..n]).nth(index as usize).and_then(|name| Name::from_slice(name).ok()))
    }

    fn dir_add(&mut self, name: &[u8]) -> Result<(), Fail> {
        let (mut buf, n) = self.dir()?;
        if names(&buf[..n]).any(|existing| existing == name) {
            return Ok(());
        }
        if n + 1 + name.len() > MAX_VALUE {
            return Err(NOSPC);
        }
        buf[n] = name.len() as u8;
        buf[n + 1..n + 1 + name.len()].copy_from_slice(name);
        self.kv.set(self.app, &[DIR_KEY], &buf[..n + 1 + name.len()], self.quota).map_err(kv_err)
    }

    fn dir_remove(&mut self, name: &[u8]) -> Result<(), Fail> {
        let (buf, n) = self.dir()?;
        let mut out = [0u8; MAX_VALUE];
        let mut len = 0;
        for existing in names(&buf[..n]).filter(|existing| *existing != name) {
            out[len] = existing.len() as u8;
            out[len + 1..len + 1 + existing.len()].copy_from_slice(existing);
            len += 1 + existing.len();
        }
        if len == n {
            return Ok(());
        }
        self.kv.set(self.app, &[DIR_KEY], &out[..len], self.quota).map_err(kv_err)
    }

    /// Removes chunks `from..` of a file of `size` bytes.
    fn drop_chunks(&mut self, name: &[u8], from: u64, size: u64) -> Result<(), Fail> {
        for i in from..size.div_ceil(CHUNK) {
            self.kv.remove(self.app, &key(CHUNK_KEY, Some(i as u8), name)).map_err(kv_err)?;
        }
        Ok(())
    }

    /// Creates an empty file (listed in the directory first, so a cut
    /// leaves at most a name without a file, which listing skips).
    fn create(&mut self, name: &[u8]) -> Result<(), Fail> {
        self.dir_add(name)?;
        self.set_size(name, 0)
    }

    fn truncate(&mut self, name: &[u8], size: u64) -> Result<(), Fail> {
        self.set_size(name, 0)?;
        self.drop_chunks(name, 0, size)
    }

    /// Removes a file.
    pub fn unlink(&mut self, name: &[u8]) -> Result<(), Fail> {
        let size = self.size(name)?.ok_or(NOENT)?;
        self.drop_chunks(name, 0, size)?;
        self.kv.remove(self.app, &key(SIZE_KEY, None, name)).map_err(kv_err)?;
        self.dir_remove(name)
    }

    /// Reads the file's bytes at `pos` into `buf`; returns how many (fewer
    /// at its end).
    fn read_at(&mut self, name: &[u8], pos: u64, buf: &mut [u8]) -> Result<usize, Fail> {
        let size = self.size(name)?.ok_or(NOENT)?;
        let end = size.min(pos.saturating_add(buf.len() as u64));
        let mut at = pos;
        let mut chunk = [0u8; MAX_VALUE];
        while at < end {
            let i = at / CHUNK;
            chunk.fill(0);
            self.kv.get(self.app, &key(CHUNK_KEY, Some(i as u8), name), &mut chunk).map_err(kv_err)?;
            let from = (at - i * CHUNK) as usize;
            let to = (end.min((i + 1) * CHUNK) - i * CHUNK) as usize;
            let out = (at - pos) as usize;
            buf[out..out + to - from].copy_from_slice(&chunk[from..to]);
            at += (to - from) as u64;
        }
        Ok((end.saturating_sub(pos)) as usize)
    }

    /// Writes `data` at `pos`, growing the file (a gap reads as zeros);
    /// returns the file's new size.
    fn write_at(&mut self, name: &[u8], pos: u64, data: &[u8]) -> Result<u64, Fail> {
        let size = self.size(name)?.ok_or(NOENT)?;
        let end = pos.checked_add(data.len() as u64).filter(|e| *e <= MAX_FILE).ok_or(FBIG)?;
        let new_size = size.max(end);
        let mut at = pos;
        let mut chunk = [0u8; MAX_VALUE];
        while at < end {
            let i = at / CHUNK;
            let k = key(CHUNK_KEY, Some(i as u8), name);
            chunk.fill(0);
            self.kv.get(self.app, &k, &mut chunk).map_err(kv_err)?;
            let from = (at - i * CHUNK) as usize;
            let to = (end.min((i + 1) * CHUNK) - i * CHUNK) as usize;
            let src = (at - pos) as usize;
            chunk[from..to].copy_from_slice(&data[src..src + to - from]);
            let keep = (new_size.min((i + 1) * CHUNK) - i * CHUNK) as usize;
            self.kv.set(self.app, &k, &chunk[..keep], self.quota).map_err(kv_err)?;
            at += (to - from) as u64;
        }
        if new_size != size {
            self.set_size(name, new_size)?;
        }
        Ok(new_size)
    }
}

/// The names of a directory value.
fn names(dir: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = dir;
    core::iter::from_fn(move || {
        let (&len, tail) = rest.split_first()?;
        let name = tail.get(..usize::from(len))?;
        rest = &tail[usize::from(len)..];
        Some(name)
    })
}

impl Files {
    fn slot(&mut self, fd: u32) -> Result<&mut Open, Fail> {
        let i = fd.checked_sub(FIRST_FILE_FD).ok_or(BADF)? as usize;
        self.open.get_mut(i).and_then(Option::as_mut).ok_or(BADF)
    }

    /// What `fd` names, if it is an open file or directory.
    pub fn node(&mut self, fd: u32) -> Result<Node, Fail> {
        self.slot(fd).map(|o| o.node.clone())
    }

    /// `path_open`: opens (creating or truncating as `oflags` say) and
    /// returns the new descriptor.
    pub fn open(
        &mut self,
        store: &mut Store<'_>,
        path: &[u8],
        oflags: u32,
        rights: u64,
        fdflags: u32,
    ) -> Result<u32, Fail> {
        let free = self.open.iter().position(Option::is_none).ok_or(MFILE)?;
        let write = rights & RIGHT_WRITE != 0 || oflags & oflags::TRUNC != 0;
        let node = match resolve(path)? {
            None if oflags & (oflags::CREAT | oflags::EXCL) != 0 => return Err(EXIST),
            None if write => return Err(ISDIR),
            None => Node::Dir,
            Some(name) => {
                let size = store.size(&name)?;
                match size {
                    _ if oflags & oflags::DIRECTORY != 0 => return Err(if size.is_some() { NOTDIR } else { NOENT }),
                    Some(_) if oflags & oflags::CREAT != 0 && oflags & oflags::EXCL != 0 => return Err(EXIST),
                    Some(size) if oflags & oflags::TRUNC != 0 => store.truncate(&name, size)?,
                    Some(_) => {}
                    None if oflags & oflags::CREAT != 0 => store.create(&name)?,
                    None => return Err(NOENT),
                }
                Node::File(name)
            }
        };
        let read = rights & RIGHT_READ != 0;
        self.open[free] = Some(Open { node, pos: 0, read, write, append: fdflags & oflags::APPEND != 0 });
        Ok(FIRST_FILE_FD + free as u32)
    }

    /// `fd_close`.
    pub fn close(&mut self, fd: u32) -> Result<(), Fail> {
        self.slot(fd)?;
        self.open[(fd - FIRST_FILE_FD) as usize] = None;
        Ok(())
    }

    /// Reads at the descriptor's position and moves it.
    pub fn read(&mut self, store: &mut Store<'_>, fd: u32, buf: &mut [u8]) -> Result<usize, Fail> {
        let o = self.slot(fd)?;
        let Node::File(name) = &o.node else { return Err(ISDIR) };
        if !o.read {
            return Err(BADF);
        }
        let n = store.read_at(name, o.pos, buf)?;
        o.pos += n as u64;
        Ok(n)
    }

    /// Writes at the descriptor's position (its end in append mode) and
    /// moves it.
    pub fn write(&mut self, store: &mut Store<'_>, fd: u32, data: &[u8]) -> Result<usize, Fail> {
        let o = self.slot(fd)?;
        let Node::File(name) = &o.node else { return Err(ISDIR) };
        if !o.write {
            return Err(BADF);
        }
        if o.append {
            o.pos = store.size(name)?.ok_or(NOENT)?;
        }
        store.write_at(name, o.pos, data)?;
        o.pos += data.len() as u64;
        Ok(data.len())
    }

    /// `fd_seek`: `whence` 0 from the start, 1 from the position, 2 from
    /// the end; returns the new position.
    pub fn seek(&mut self, store: &mut Store<'_>, fd: u32, offset: i64, whence: u32) -> Result<u64, Fail> {
        let o = self.slot(fd)?;
        let Node::File(name) = &o.node else { return Err(ISDIR) };
        let base = match whence {
            0 => 0,
            1 => o.pos,
            2 => store.size(name)?.ok_or(NOENT)?,
            _ => return Err(INVAL),
        };
        let pos = base.checked_add_signed(offset).filter(|p| *p <= MAX_FILE).ok_or(INVAL)?;
        o.pos = pos;
        Ok(pos)
    }

    /// `fd_tell`.
    pub fn tell(&mut self, fd: u32) -> Result<u64, Fail> {
        self.slot(fd).map(|o| o.pos)
    }
}
