//! WASI descriptors: stdio (console and stdin), the preopened directory
//! and files, and `random_get`.

use alloc::sync::Arc;

use akira_abi::wasi::errno::{BADF, FAULT, INVAL, ISDIR, NOSYS, NOTDIR, SPIPE, TOO_BIG};
use akira_caps::scope::wasi;
use wasmi::Linker;

use super::files::{self, DIR_FD, Files, Node};
use super::{
    AppWasi, C, Fail, MAX_TRANSFER, MAX_VECTORS, Outcome, WasiHost, iovec, part, reply, stdin_read, stdin_wait,
    write_u32, write_u64,
};
use crate::board::Level;
use crate::memory::GuestMemory;
use crate::module::LinkError;
use crate::state::{AppState, ModuleIndex, memory_and_state};

/// The functions this file defines.
pub(super) const PROVIDED: [&str; 16] = [
    "fd_write",
    "fd_read",
    "fd_close",
    "fd_sync",
    "fd_datasync",
    "fd_fdstat_get",
    "fd_filestat_get",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "fd_seek",
    "fd_tell",
    "fd_readdir",
    "path_open",
    "path_filestat_get",
    "path_unlink_file",
    "random_get",
];

const STDIN: u32 = 0;
const STDOUT: u32 = 1;
const STDERR: u32 = 2;

/// Longest console line; a longer one is cut into several.
const LINE: usize = 160;
/// Longest path a call takes.
const MAX_PATH: u32 = 255;

/// What `fd_write` counts for a byte written to a file: a byte written
/// to flash costs what `akira:storage.set` charges for one, in units of
/// `fd_write`'s own rate (32 fuel a byte at 1 fuel per 8 bytes: 256).
const FLASH_BYTE: u64 = {
    let flash = crate::charge::cost_of(akira_abi::STORAGE.functions, "set");
    let write = crate::charge::cost_of(super::SPEC.functions, "fd_write");
    (flash.fuel_per() / flash.per() * write.per() / write.fuel_per()) as u64
};

/// WASI file types.
const CHARACTER_DEVICE: u8 = 2;
const DIRECTORY: u8 = 3;
const REGULAR_FILE: u8 = 4;

/// Rights: stdio has no seek or tell (so the libc sees a terminal and
/// line-buffers it); the directory and files have everything.
const STDIO_RIGHTS: u64 = 1 << 1 | 1 << 6 | 1 << 27;
const ALL_RIGHTS: u64 = (1 << 29) - 1;

impl AppWasi {
    fn files_granted(&self) -> bool {
        self.scope.parts.contains(wasi::FILES)
    }
}

/// Runs `f` on the app's open files and its store, after checking part
/// `files`. The table is taken out of its lock for the call, so no flash
/// write runs inside a critical section (an app's calls never overlap).
fn with_files<B: WasiHost, R>(
    s: &mut AppState<B>,
    app: &AppWasi,
    f: impl FnOnce(&mut Files, &mut files::Store<'_>) -> Result<R, files::Fail>,
) -> Result<R, Fail> {
    part(s, wasi::FILES)?;
    let name = s.info().name.clone();
    let quota = s.guard().grants().storage_quota();
    let kv = s.board_mut().wasi_store().ok_or(Fail::Errno(NOSYS))?;
    let mut store = files::Store { kv, app: &name, quota };
    let mut table = app.files(core::mem::take);
    let result = f(&mut table, &mut store);
    app.files(|slot| *slot = table);
    result.map_err(Fail::Errno)
}

/// Checks `n` iovecs and returns how many bytes they hold, up to
/// [`MAX_TRANSFER`].
fn check_iovecs(mem: &GuestMemory<'_>, iovs: u32, n: u32) -> Result<u32, Fail> {
    if n > MAX_VECTORS {
        return Err(INVAL.into());
    }
    let mut total = 0u32;
    for i in 0..n {
        let (ptr, len) = iovec(mem, iovs, i)?;
        mem.bytes(ptr, len.min(MAX_TRANSFER - total))?;
        total = total.saturating_add(len).min(MAX_TRANSFER);
    }
    Ok(total)
}

/// A console line being assembled.
pub(super) type Line = heapless::Vec<u8, LINE>;

/// Prints `line` (invalid UTF-8 shown as `?`) and empties it.
fn emit<B: WasiHost>(s: &mut AppState<B>, level: Level, line: &mut Line) {
    let mut text = heapless::String::<LINE>::new();
    for chunk in line.utf8_chunks() {
        let _ = text.push_str(chunk.valid());
        if !chunk.invalid().is_empty() {
            let _ = text.push('?');
        }
    }
    let info = s.info().clone();
    s.board_mut().log(&info, level, &text);
    line.clear();
}

const LEVELS: [Level; 2] = [Level::Info, Level::Error];

/// Writes the iovecs to the console stream (0 stdout, 1 stderr), one
/// message per line, keeping an unfinished last line for the next write;
/// returns the bytes taken.
fn console<B: WasiHost>(
    mem: &GuestMemory<'_>,
    s: &mut AppState<B>,
    app: &AppWasi,
    stream: usize,
    (iovs, n): (u32, u32),
) -> Result<u32, Fail> {
    let total = check_iovecs(mem, iovs, n)?;
    let level = LEVELS[stream];
    let mut line = critical_section::with(|cs| core::mem::take(&mut app.pending.borrow_ref_mut(cs)[stream]));
    let mut left = total;
    for i in 0..n {
        let (ptr, len) = iovec(mem, iovs, i)?;
        let take = len.min(left);
        for &b in mem.bytes(ptr, take)? {
            if b == b'\n' {
                emit(s, level, &mut line);
            } else if line.push(b).is_err() {
                emit(s, level, &mut line);
                let _ = line.push(b);
            }
        }
        left -= take;
    }
    critical_section::with(|cs| app.pending.borrow_ref_mut(cs)[stream] = line);
    Ok(total)
}

/// Prints what is left of unfinished console lines (the app is exiting).
pub(super) fn flush_console<B: WasiHost>(s: &mut AppState<B>, app: &AppWasi) {
    for (stream, level) in LEVELS.into_iter().enumerate() {
        let mut line = critical_section::with(|cs| core::mem::take(&mut app.pending.borrow_ref_mut(cs)[stream]));
        if !line.is_empty() {
            emit(s, level, &mut line);
        }
    }
}

fn fd_write<B: WasiHost>(c: &mut C<'_, B>, app: &AppWasi, fd: u32, iovs: u32, n: u32, out: u32) -> Outcome {
    let (mut mem, s) = memory_and_state(c)?;
    mem.bytes_mut(out, 4)?;
    let written = match fd {
        STDOUT | STDERR => {
            part(s, wasi::CONSOLE)?;
            let taken = console(&mem, s, app, (fd - STDOUT) as usize, (iovs, n))?;
            s.work(taken.into());
            taken
        }
        STDIN | DIR_FD => return Err(BADF.into()),
        _ => {
            check_iovecs(&mem, iovs, n)?;
            let mem = &mem;
            let written = with_files(s, app, |files, store| {
                files.node(fd)?;
                let mut left = MAX_TRANSFER;
                let mut total = 0u32;
                for i in 0..n {
                    let (ptr, len) = iovec(mem, iovs, i).map_err(|_| FAULT)?;
                    let data = mem.bytes(ptr, len.min(left)).map_err(|_| FAULT)?;
                    total += files.write(store, fd, data)? as u32;
                    left -= data.len() as u32;
                }
                Ok(total)
            })?;
            s.work(u64::from(written) * FLASH_BYTE);
            written
        }
    };
    write_u32(&mut mem, out, written)
}

fn fd_read<B: WasiHost>(
    c: &mut C<'_, B>,
    app: &AppWasi,
    module: ModuleIndex,
    fd: u32,
    iovs: u32,
    n: u32,
    out: u32,
) -> Outcome {
    let (mut mem, s) = memory_and_state(c)?;
    mem.bytes_mut(out, 4)?;
    check_iovecs(&mem, iovs, n)?;
    let read = match fd {
        STDIN => {
            part(s, wasi::STDIN)?;
            let port = u32::from(app.scope.stdin_port.ok_or(Fail::Errno(BADF))?);
            // The first non-empty buffer takes what arrived.
            let first = (0..n).map(|i| iovec(&mem, iovs, i)).find(|v| !matches!(v, Ok((_, 0))));
            let Some(first) = first else { return write_u32(&mut mem, out, 0) };
            let (ptr, len) = first?;
            let len = len.min(MAX_TRANSFER);
            match stdin_read(s, port, mem.bytes_mut(ptr, len)?)? {
                Some(got) => got as u32,
                None => {
                    // The wait moves the bytes: the buffer is paid now.
                    s.work(len.into());
                    return Err(stdin_wait(s, module, port, (ptr, len), out));
                }
            }
        }
        STDOUT | STDERR | DIR_FD => return Err(BADF.into()),
        _ => {
            let mem = &mut mem;
            with_files(s, app, |files, store| {
                files.node(fd)?;
                let mut left = MAX_TRANSFER;
                let mut total = 0u32;
                for i in 0..n {
                    let (ptr, len) = iovec(mem, iovs, i).map_err(|_| FAULT)?;
                    let want = len.min(left);
                    let buf = mem.bytes_mut(ptr, want).map_err(|_| FAULT)?;
                    let got = files.read(store, fd, buf)? as u32;
                    total += got;
                    left -= got;
                    if got < want || left == 0 {
                        break;
                    }
                }
                Ok(total)
            })?
        }
    };
    s.work(read.into());
    write_u32(&mut mem, out, read)
}

/// The 64-byte `filestat` of a node: file type and size.
fn filestat(mem: &mut GuestMemory<'_>, out: u32, kind: u8, size: u64, ino: u64) -> Outcome {
    mem.bytes_mut(out, 64)?.fill(0);
    write_u64(mem, out + 8, ino)?;
    mem.write(out + 16, &[kind])?;
    write_u64(mem, out + 24, 1)?;
    write_u64(mem, out + 32, size)
}

/// A path argument: at most [`MAX_PATH`] bytes of the app's memory.
fn path<'m>(mem: &'m GuestMemory<'_>, ptr: u32, len: u32) -> Result<&'m [u8], Fail> {
    if len > MAX_PATH {
        return Err(akira_abi::wasi::errno::NAMETOOLONG.into());
    }
    Ok(mem.bytes(ptr, len)?)
}

/// A descriptor that names the directory: the preopen, or `.` opened.
fn is_dir(s: &mut AppState<impl WasiHost>, app: &AppWasi, fd: u32) -> Result<bool, Fail> {
    if fd == DIR_FD {
        return Ok(app.files_granted());
    }
    with_files(s, app, |files, _| Ok(files.node(fd).ok() == Some(Node::Dir)))
}

fn fdstat<B: WasiHost>(c: &mut C<'_, B>, app: &AppWasi, fd: u32, out: u32) -> Outcome {
    let (mut mem, s) = memory_and_state(c)?;
    mem.bytes_mut(out, 24)?;
    let (kind, rights) = match fd {
        STDIN | STDOUT | STDERR => (CHARACTER_DEVICE, STDIO_RIGHTS),
        DIR_FD if app.files_granted() => (DIRECTORY, ALL_RIGHTS),
        DIR_FD => return Err(BADF.into()),
        _ => match with_files(s, app, |files, _| files.node(fd))? {
            Node::Dir => (DIRECTORY, ALL_RIGHTS),
            Node::File(_) => (REGULAR_FILE, ALL_RIGHTS),
        },
    };
    mem.bytes_mut(out, 24)?.fill(0);
    mem.write(out, &[kind])?;
    write_u64(&mut mem, out + 8, rights)?;
    write_u64(&mut mem, out + 16, if kind == CHARACTER_DEVICE { 0 } else { ALL_RIGHTS })
}

fn fd_filestat<B: WasiHost>(c: &mut C<'_, B>, app: &AppWasi, fd: u32, out: u32) -> Outcome {
    let (mut mem, s) = memory_and_state(c)?;
    mem.bytes_mut(out, 64)?;
    match fd {
        STDIN | STDOUT | STDERR => filestat(&mut mem, out, CHARACTER_DEVICE, 0, 0),
        DIR_FD => {
            part(s, wasi::FILES)?;
            filestat(&mut mem, out, DIRECTORY, 0, 0)
        }
        _ => {
            let (kind, size) = with_files(s, app, |files, store| match files.node(fd)? {
                Node::Dir => Ok((DIRECTORY, 0)),
                Node::File(name) => Ok((REGULAR_FILE, store.size(&name)?.ok_or(akira_abi::wasi::errno::NOENT)?)),
            })?;
            filestat(&mut mem, out, kind, size, u64::from(fd))
        }
    }
}

fn path_filestat<B: WasiHost>(c: &mut C<'_, B>, app: &AppWasi, fd: u32, (ptr, len): (u32, u32), out: u32) -> Outcome {
    let (mut mem, s) = memory_and_state(c)?;
    mem.bytes_mut(out, 64)?;
    let p = path(&mem, ptr, len)?;
    if !is_dir(s, app, fd)? {
        part(s, wasi::FILES)?;
        return Err(NOTDIR.into());
    }
    let name = files::resolve(p)?;
    let stat = with_files(s, app, |_, store| match &name {
        None => Ok((DIRECTORY, 0)),
        Some(name) => Ok((REGULAR_FILE, store.size(name)?.ok_or(akira_abi::wasi::errno::NOENT)?)),
    })?;
    filestat(&mut mem, out, stat.0, stat.1, 0)
}

#[allow(clippy::too_many_arguments)]
fn path_open<B: WasiHost>(
    c: &mut C<'_, B>,
    app: &AppWasi,
    fd: u32,
    (ptr, len): (u32, u32),
    oflags: u32,
    rights: u64,
    fdflags: u32,
    out: u32,
) -> Outcome {
    let (mut mem, s) = memory_and_state(c)?;
    mem.bytes_mut(out, 4)?;
    let p = path(&mem, ptr, len)?;
    if !is_dir(s, app, fd)? {
        part(s, wasi::FILES)?;
        return Err(NOTDIR.into());
    }
    let opened = with_files(s, app, |files, store| files.open(store, p, oflags, rights, fdflags))?;
    write_u32(&mut mem, out, opened)
}

fn unlink<B: WasiHost>(c: &mut C<'_, B>, app: &AppWasi, fd: u32, (ptr, len): (u32, u32)) -> Outcome {
    let (mem, s) = memory_and_state(c)?;
    let p = path(&mem, ptr, len)?;
    if !is_dir(s, app, fd)? {
        part(s, wasi::FILES)?;
        return Err(NOTDIR.into());
    }
    let name = files::resolve(p)?.ok_or(Fail::Errno(ISDIR))?;
    with_files(s, app, |_, store| store.unlink(&name))
}

/// `fd_readdir`: entries from `cookie` on, the last one cut if the buffer
/// ends inside it (WASI's way of saying "call again with a larger
/// buffer").
fn readdir<B: WasiHost>(
    c: &mut C<'_, B>,
    app: &AppWasi,
    fd: u32,
    (buf, len): (u32, u32),
    cookie: u64,
    out: u32,
) -> Outcome {
    let (mut mem, s) = memory_and_state(c)?;
    mem.bytes_mut(out, 4)?;
    mem.bytes_mut(buf, len)?;
    if !is_dir(s, app, fd)? {
        part(s, wasi::FILES)?;
        return Err(NOTDIR.into());
    }
    let mem = &mut mem;
    let used = with_files(s, app, |_, store| {
        let mut used = 0u32;
        let mut index = cookie;
        while used < len {
            let Some(name) = store.entry(index)? else { break };
            index += 1;
            if store.size(&name)?.is_none() {
                // A name whose creation a power cut interrupted.
                continue;
            }
            let mut entry = [0u8; 24 + files::MAX_NAME];
            entry[..8].copy_from_slice(&index.to_le_bytes());
            entry[8..16].copy_from_slice(&index.to_le_bytes());
            entry[16..20].copy_from_slice(&(name.len() as u32).to_le_bytes());
            entry[20] = REGULAR_FILE;
            entry[24..24 + name.len()].copy_from_slice(&name);
            let n = (24 + name.len() as u32).min(len - used);
            mem.write(buf + used, &entry[..n as usize]).map_err(|_| FAULT)?;
            used += n;
        }
        Ok(used)
    })?;
    s.work(used.into());
    write_u32(mem, out, used)
}

fn random<B: WasiHost>(c: &mut C<'_, B>, buf: u32, len: u32) -> Outcome {
    let (mut mem, s) = memory_and_state(c)?;
    part(s, wasi::RANDOM)?;
    if len > MAX_TRANSFER {
        return Err(TOO_BIG.into());
    }
    let out = mem.bytes_mut(buf, len)?;
    let rng = s.board_mut().wasi_random().ok_or(Fail::Errno(NOSYS))?;
    rng.fill(out)?;
    s.work(len.into());
    Ok(())
}

/// The descriptor calls that move a position or sync: stdio has none.
fn position<B: WasiHost>(
    c: &mut C<'_, B>,
    app: &AppWasi,
    fd: u32,
    out: Option<u32>,
    f: impl FnOnce(&mut Files, &mut files::Store<'_>) -> Result<u64, files::Fail>,
) -> Outcome {
    let (mut mem, s) = memory_and_state(c)?;
    if let Some(out) = out {
        mem.bytes_mut(out, 8)?;
    }
    match fd {
        STDIN | STDOUT | STDERR => return Err(SPIPE.into()),
        DIR_FD if !app.files_granted() => return Err(BADF.into()),
        _ => {}
    }
    let at = with_files(s, app, f)?;
    match out {
        Some(out) => write_u64(&mut mem, out, at),
        None => Ok(()),
    }
}

pub(super) fn link<B: WasiHost>(
    linker: &mut Linker<AppState<B>>,
    app: &Arc<AppWasi>,
    module: ModuleIndex,
) -> Result<(), LinkError> {
    let a = app.clone();
    crate::host_fn!(linker, super::SPEC, "fd_write", move |c: C<'_, B>, fd: u32, iovs: u32, n: u32, out: u32| {
        reply(fd_write(&mut c, &a, fd, iovs, n, out))
    })?;
    let a = app.clone();
    crate::host_fn!(linker, super::SPEC, "fd_read", move |c: C<'_, B>, fd: u32, iovs: u32, n: u32, out: u32| {
        reply(fd_read(&mut c, &a, module, fd, iovs, n, out))
    })?;
    let a = app.clone();
    crate::host_fn!(linker, super::SPEC, "fd_close", move |c: C<'_, B>, fd: u32| {
        reply(match fd {
            STDIN | STDOUT | STDERR | DIR_FD => Ok(()),
            _ => with_files(c.data_mut(), &a, |files, _| files.close(fd)),
        })
    })?;
    // Every write is already durable: syncing checks the descriptor only.
    let a = app.clone();
    crate::host_fn!(linker, super::SPEC, "fd_sync", move |c: C<'_, B>, fd: u32| {
        reply(position(&mut c, &a, fd, None, |files, _| files.tell(fd)))
    })?;
    let a = app.clone();
    crate::host_fn!(linker, super::SPEC, "fd_datasync", move |c: C<'_, B>, fd: u32| {
        reply(position(&mut c, &a, fd, None, |files, _| files.tell(fd)))
    })?;
    let a = app.clone();
    crate::host_fn!(linker, super::SPEC, "fd_fdstat_get", move |c: C<'_, B>, fd: u32, out: u32| reply(fdstat(
        &mut c, &a, fd, out
    )))?;
    let a = app.clone();
    crate::host_fn!(linker, super::SPEC, "fd_filestat_get", move |c: C<'_, B>, fd: u32, out: u32| {
        reply(fd_filestat(&mut c, &a, fd, out))
    })?;
    let a = app.clone();
    crate::host_fn!(linker, super::SPEC, "fd_prestat_get", move |c: C<'_, B>, fd: u32, out: u32| {
        reply(memory_and_state(&mut c).map_err(Fail::from).and_then(|(mut mem, _)| {
            if fd != DIR_FD || !a.files_granted() {
                return Err(BADF.into());
            }
            mem.bytes_mut(out, 8)?.fill(0);
            write_u32(&mut mem, out + 4, 1)
        }))
    })?;
    let a = app.clone();
    crate::host_fn!(linker, super::SPEC, "fd_prestat_dir_name", move |c: C<'_, B>, fd: u32, ptr: u32, len: u32| {
        reply(memory_and_state(&mut c).map_err(Fail::from).and_then(|(mut mem, _)| {
            if fd != DIR_FD || !a.files_granted() {
                return Err(BADF.into());
            }
            if len < 1 {
                return Err(akira_abi::wasi::errno::NAMETOOLONG.into());
            }
            Ok(mem.write(ptr, b"/")?)
        }))
    })?;
    let a = app.clone();
    crate::host_fn!(
        linker,
        super::SPEC,
        "fd_seek",
        move |c: C<'_, B>, fd: u32, offset: i64, whence: u32, out: u32| {
            reply(position(&mut c, &a, fd, Some(out), |files, store| files.seek(store, fd, offset, whence)))
        }
    )?;
    let a = app.clone();
    crate::host_fn!(linker, super::SPEC, "fd_tell", move |c: C<'_, B>, fd: u32, out: u32| {
        reply(position(&mut c, &a, fd, Some(out), |files, _| files.tell(fd)))
    })?;
    let a = app.clone();
    crate::host_fn!(
        linker,
        super::SPEC,
        "fd_readdir",
        move |c: C<'_, B>, fd: u32, buf: u32, len: u32, cookie: i64, out: u32| {
            reply(readdir(&mut c, &a, fd, (buf, len), cookie as u64, out))
        }
    )?;
    let a = app.clone();
    crate::host_fn!(
        linker,
        super::SPEC,
        "path_open",
        move |c: C<'_, B>,
              fd: u32,
              _dirflags: u32,
              ptr: u32,
              len: u32,
              oflags: u32,
              rights: i64,
              _inheriting: i64,
              fdflags: u32,
              out: u32| { reply(path_open(&mut c, &a, fd, (ptr, len), oflags, rights as u64, fdflags, out)) },
    )?;
    let a = app.clone();
    crate::host_fn!(
        linker,
        super::SPEC,
        "path_filestat_get",
        move |c: C<'_, B>, fd: u32, _flags: u32, ptr: u32, len: u32, out: u32| {
            reply(path_filestat(&mut c, &a, fd, (ptr, len), out))
        },
    )?;
    let a = app.clone();
    crate::host_fn!(linker, super::SPEC, "path_unlink_file", move |c: C<'_, B>, fd: u32, ptr: u32, len: u32| {
        reply(unlink(&mut c, &a, fd, (ptr, len)))
    })?;
    crate::host_fn!(linker, super::SPEC, "random_get", |c: C<'_, B>, buf: u32, len: u32| reply(random(
        &mut c, buf, len
    )))?;
    Ok(())
}
