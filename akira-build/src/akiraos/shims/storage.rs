//! The storage shims: files through WASI's (part `files`), settings
//! through `akira:storage`, both over the app's own key-value store.

use wasm_encoder::{BlockType, Instruction as I, MemArg, ValType};

use super::{A1, A4, EFAULT, EINVAL, Gen, Helper, Need, Spec, spec};
use Helper::{Errno, Fits, Strlen, WasiErrno};
use Need::{Files, Storage};

/// Zephyr's `ENOENT`.
const ENOENT: i32 = 2;
/// Scratch for one directory entry: WASI's 24-byte header and a name of
/// at most 30 bytes (akira-bridge's `MAX_NAME`).
const ENTRY: i32 = 24 + 30;

/// An iovec `(buf, len)` in 12 bytes of scratch (the count after it),
/// then the WASI call on fd param 0, returning the count or `-errno`.
fn fd_io(g: &mut Gen<'_>, call: &str) {
    let s = g.alloc(16);
    g.o(I::LocalGet(s)).p(1).o(I::I32Store(A4));
    g.o(I::LocalGet(s)).p(2).o(I::I32Store(MemArg { offset: 4, ..A4 }));
    let r = g.local(ValType::I32);
    g.p(0).o(I::LocalGet(s)).c(1).o(I::LocalGet(s)).c(8).o(I::I32Add).call("wasi_snapshot_preview1", call);
    g.h(WasiErrno).o(I::LocalSet(r));
    // The count, or the error (an `if`: wasmi 2.0.0 miscompiles a
    // `select` whose condition is an `i32.eqz`).
    g.o(I::LocalGet(r)).o(I::I32Eqz).o(I::If(BlockType::Result(ValType::I32)));
    g.o(I::LocalGet(s)).o(I::I32Load(MemArg { offset: 8, ..A4 })).o(I::Else).o(I::LocalGet(r)).o(I::End);
    g.free(16);
}

const OPEN: &[(&str, &str)] = &[("wasi_snapshot_preview1", "path_open")];

/// WASI `path_open` of the path at param 0 in the one directory, with
/// the oflags (i32), rights (i32, widened here) and fdflags (i32) that
/// `flags` pushes; returns the descriptor or `-errno`.
fn open(g: &mut Gen<'_>, flags: impl FnOnce(&mut Gen<'_>)) {
    let len = g.str_len(0);
    let s = g.alloc(16);
    let [oflags, rights, fdflags, r] = [(); 4].map(|()| g.local(ValType::I32));
    flags(g);
    g.o(I::LocalSet(fdflags)).o(I::LocalSet(rights)).o(I::LocalSet(oflags));
    g.c(3).c(0).p(0).o(I::LocalGet(len)).o(I::LocalGet(oflags)).o(I::LocalGet(rights)).o(I::I64ExtendI32U);
    g.o(I::I64Const(0)).o(I::LocalGet(fdflags)).o(I::LocalGet(s));
    g.call("wasi_snapshot_preview1", "path_open").h(WasiErrno).o(I::LocalSet(r));
    g.o(I::LocalGet(r)).o(I::I32Eqz).o(I::If(BlockType::Result(ValType::I32)));
    g.o(I::LocalGet(s)).o(I::I32Load(A4)).o(I::Else).o(I::LocalGet(r)).o(I::End);
    g.free(16);
}

/// A WASI call whose last argument is where it writes a 64-bit position
/// (`args` pushes the others and names the call); returns the position
/// (its low 32 bits) or `-errno`.
fn position(g: &mut Gen<'_>, args: impl FnOnce(&mut Gen<'_>) -> &'static str) {
    let s = g.alloc(8);
    let r = g.local(ValType::I32);
    let call = args(g);
    g.o(I::LocalGet(s)).call("wasi_snapshot_preview1", call).h(WasiErrno).o(I::LocalSet(r));
    g.o(I::LocalGet(r)).o(I::I32Eqz).o(I::If(BlockType::Result(ValType::I32)));
    g.o(I::LocalGet(s)).o(I::I32Load(A4)).o(I::Else).o(I::LocalGet(r)).o(I::End);
    g.free(8);
}

/// WASI's file type of a directory.
const DIRECTORY: i32 = 3;

/// `fs_stat(path, out)`: WASI `path_filestat_get` in the one directory,
/// written as AkiraOS's packed 16-byte `akira_stat_t` (size, type 0 file
/// or 1 directory, three pad bytes, modification time in ms: 0, unknown,
/// as the key-value store keeps none). 0 or `-errno`.
fn stat(g: &mut Gen<'_>) {
    let len = g.str_len(0);
    g.p(1).c(16).h(Fits).or_fail(EFAULT);
    let s = g.alloc(64);
    let r = g.local(ValType::I32);
    g.c(3).c(0).p(0).o(I::LocalGet(len)).o(I::LocalGet(s));
    g.call("wasi_snapshot_preview1", "path_filestat_get").h(WasiErrno).o(I::LocalTee(r));
    g.o(I::I32Eqz).o(I::If(BlockType::Empty));
    let packed = MemArg { offset: 0, align: 0, memory_index: 0 };
    g.p(1).o(I::LocalGet(s)).o(I::I32Load(MemArg { offset: 32, ..A4 })).o(I::I32Store(packed));
    g.p(1).o(I::LocalGet(s)).o(I::I32Load8U(MemArg { offset: 16, ..A1 })).c(DIRECTORY).o(I::I32Eq);
    g.o(I::I32Store(MemArg { offset: 4, ..packed }));
    g.p(1).o(I::I64Const(0)).o(I::I64Store(MemArg { offset: 8, ..packed }));
    g.o(I::End);
    g.free(64);
    g.o(I::LocalGet(r));
}

/// The storage shim for `name`, if Akira translates it.
pub(super) fn shim(name: &str) -> Option<Spec> {
    Some(match name {
        "storage_open" => Spec {
            scratch: true,
            ..spec(OPEN, &[Strlen, WasiErrno], &[Files], |g| {
                // STORAGE_O_READ 0, WRITE 1 (create, truncate), APPEND 2
                // (create), RDWR 3 (create, truncate).
                let mode = g.local(ValType::I32);
                g.p(1).c(3).o(I::I32And).o(I::LocalSet(mode));
                open(g, |g| {
                    // oflags: CREAT (1) unless read-only; TRUNC (8) for
                    // WRITE and RDWR.
                    g.o(I::LocalGet(mode)).c(0).o(I::I32Ne);
                    g.o(I::LocalGet(mode)).c(1).o(I::I32And).c(8).o(I::I32Mul).o(I::I32Or);
                    // rights: read (2) unless write-only, write (64) unless
                    // read-only.
                    g.o(I::LocalGet(mode)).c(1).o(I::I32Ne).c(2).o(I::I32Mul);
                    g.o(I::LocalGet(mode)).c(0).o(I::I32Ne).c(64).o(I::I32Mul).o(I::I32Or);
                    // fdflags: APPEND for APPEND.
                    g.o(I::LocalGet(mode)).c(2).o(I::I32Eq);
                });
            })
        },
        "fs_open" => Spec {
            scratch: true,
            ..spec(OPEN, &[Strlen, WasiErrno], &[Files], |g| {
                // AKIRA_FS_O_READ 0, WRITE 1 (must exist), APPEND 2, RDWR
                // 4, CREATE 8, TRUNC 16.
                open(g, |g| {
                    g.p(1).c(8).o(I::I32And).c(3).o(I::I32ShrU);
                    g.p(1).c(16).o(I::I32And).c(1).o(I::I32ShrU).o(I::I32Or);
                    // Read unless WRITE or APPEND alone; write with any of
                    // WRITE, APPEND, RDWR.
                    g.p(1).c(3).o(I::I32And).o(I::I32Eqz).p(1).c(4).o(I::I32And).o(I::I32Or).c(0).o(I::I32Ne);
                    g.c(2).o(I::I32Mul);
                    g.p(1).c(7).o(I::I32And).c(0).o(I::I32Ne).c(64).o(I::I32Mul).o(I::I32Or);
                    g.p(1).c(2).o(I::I32And).c(1).o(I::I32ShrU);
                });
            })
        },
        "fs_close" => spec(&[("wasi_snapshot_preview1", "fd_close")], &[WasiErrno], &[Files], |g| {
            g.p(0).call("wasi_snapshot_preview1", "fd_close").h(WasiErrno);
        }),
        "fs_seek" => Spec {
            scratch: true,
            ..spec(&[("wasi_snapshot_preview1", "fd_seek")], &[WasiErrno], &[Files], |g| {
                // (fd, offset, whence): the new position.
                position(g, |g| {
                    g.p(0).p(1).o(I::I64ExtendI32S).p(2);
                    "fd_seek"
                });
            })
        },
        "fs_tell" => Spec {
            scratch: true,
            ..spec(&[("wasi_snapshot_preview1", "fd_tell")], &[WasiErrno], &[Files], |g| {
                position(g, |g| {
                    g.p(0);
                    "fd_tell"
                });
            })
        },
        "fs_stat" => Spec {
            scratch: true,
            ..spec(&[("wasi_snapshot_preview1", "path_filestat_get")], &[Strlen, Fits, WasiErrno], &[Files], stat)
        },
        "storage_read" | "fs_read" => Spec {
            scratch: true,
            ..spec(&[("wasi_snapshot_preview1", "fd_read")], &[WasiErrno], &[Files], |g| fd_io(g, "fd_read"))
        },
        "storage_write" | "fs_write" => Spec {
            scratch: true,
            ..spec(&[("wasi_snapshot_preview1", "fd_write")], &[WasiErrno], &[Files], |g| fd_io(g, "fd_write"))
        },
        "storage_close" => spec(&[("wasi_snapshot_preview1", "fd_close")], &[], &[Files], |g| {
            g.p(0).call("wasi_snapshot_preview1", "fd_close").o(I::Drop);
        }),
        "storage_delete" | "fs_unlink" => {
            spec(&[("wasi_snapshot_preview1", "path_unlink_file")], &[Strlen, WasiErrno], &[Files], |g| {
                let len = g.str_len(0);
                g.c(3).p(0).o(I::LocalGet(len)).call("wasi_snapshot_preview1", "path_unlink_file").h(WasiErrno);
            })
        }
        "settings_get" => spec(&[("akira:storage", "get")], &[Strlen, Errno], &[Storage], |g| {
            // The value, NUL-terminated (cut to fit); 0 or -errno.
            let len = g.str_len(0);
            let r = g.local(ValType::I32);
            g.p(2).c(1).o(I::I32GeS).or_fail(EINVAL);
            g.p(0).o(I::LocalGet(len)).p(1).p(2).c(1).o(I::I32Sub).call("akira:storage", "get").o(I::LocalTee(r));
            g.c(0).o(I::I32LtS).o(I::If(BlockType::Empty)).o(I::LocalGet(r)).errno().o(I::Return).o(I::End);
            g.p(1).o(I::LocalGet(r)).p(2).c(1).o(I::I32Sub).o(I::LocalGet(r)).p(2).c(1).o(I::I32Sub);
            g.o(I::I32LtS).o(I::Select).o(I::I32Add).c(0).o(I::I32Store8(A1)).c(0);
        }),
        "settings_set" => spec(&[("akira:storage", "set")], &[Strlen, Errno], &[Storage], |g| {
            let key = g.str_len(0);
            let value = g.str_len(1);
            g.p(0).o(I::LocalGet(key)).p(1).o(I::LocalGet(value)).call("akira:storage", "set").errno();
        }),
        "settings_delete" => spec(&[("akira:storage", "remove")], &[Strlen, Errno], &[Storage], |g| {
            let key = g.str_len(0);
            g.p(0).o(I::LocalGet(key)).call("akira:storage", "remove").errno();
        }),
        "storage_list" | "fs_readdir" => Spec {
            scratch: true,
            ..spec(&[("wasi_snapshot_preview1", "fd_readdir")], &[Strlen, Fits, WasiErrno], &[Files], |g| {
                // (path, buf, len): the names in the app's one directory
                // (path "" or "."), each followed by a newline, then a
                // NUL; names that do not fit are left out. Returns the
                // bytes written with the NUL. One `fd_readdir` per name,
                // into scratch room for one entry (24 bytes and a name).
                let path = g.str_len(0);
                g.p(2).c(1).o(I::I32GeS).or_fail(EINVAL);
                g.p(1).p(2).h(Fits).or_fail(EFAULT);
                g.o(I::LocalGet(path)).o(I::If(BlockType::Empty));
                g.o(I::LocalGet(path)).c(1).o(I::I32Ne).p(0).o(I::I32Load8U(A1)).c(46).o(I::I32Ne).o(I::I32Or);
                g.o(I::If(BlockType::Empty)).c(-ENOENT).o(I::Return).o(I::End).o(I::End);
                let s = g.alloc(ENTRY + 8);
                let cookie = g.local(ValType::I64);
                let [out, n, i, r] = [(); 4].map(|()| g.local(ValType::I32));
                g.o(I::Block(BlockType::Empty)).o(I::Loop(BlockType::Empty));
                g.c(3).o(I::LocalGet(s)).c(ENTRY).o(I::LocalGet(cookie)).o(I::LocalGet(s)).c(ENTRY).o(I::I32Add);
                g.call("wasi_snapshot_preview1", "fd_readdir").h(WasiErrno).o(I::LocalTee(r));
                g.o(I::If(BlockType::Empty)).o(I::LocalGet(r)).o(I::Return).o(I::End);
                // Done when no whole entry header came back.
                g.o(I::LocalGet(s))
                    .o(I::I32Load(MemArg { offset: ENTRY as u64, ..A4 }))
                    .c(24)
                    .o(I::I32LtU)
                    .o(I::BrIf(1));
                g.o(I::LocalGet(s))
                    .o(I::I64Load(MemArg { offset: 0, align: 3, memory_index: 0 }))
                    .o(I::LocalSet(cookie));
                g.o(I::LocalGet(s)).o(I::I32Load(MemArg { offset: 16, ..A4 })).o(I::LocalSet(n));
                // Room for the name, its newline and the final NUL.
                g.o(I::LocalGet(out)).o(I::LocalGet(n)).o(I::I32Add).c(2).o(I::I32Add).p(2).o(I::I32GtU).o(I::BrIf(1));
                g.c(0).o(I::LocalSet(i)).o(I::Block(BlockType::Empty)).o(I::Loop(BlockType::Empty));
                g.o(I::LocalGet(i)).o(I::LocalGet(n)).o(I::I32GeU).o(I::BrIf(1));
                g.p(1).o(I::LocalGet(out)).o(I::I32Add).o(I::LocalGet(i)).o(I::I32Add);
                g.o(I::LocalGet(s)).o(I::LocalGet(i)).o(I::I32Add).o(I::I32Load8U(MemArg { offset: 24, ..A1 }));
                g.o(I::I32Store8(A1)).o(I::LocalGet(i)).c(1).o(I::I32Add).o(I::LocalSet(i)).o(I::Br(0));
                g.o(I::End).o(I::End);
                g.p(1).o(I::LocalGet(out)).o(I::I32Add).o(I::LocalGet(n)).o(I::I32Add).c(10).o(I::I32Store8(A1));
                g.o(I::LocalGet(out)).o(I::LocalGet(n)).o(I::I32Add).c(1).o(I::I32Add).o(I::LocalSet(out));
                g.o(I::Br(0)).o(I::End).o(I::End);
                g.p(1).o(I::LocalGet(out)).o(I::I32Add).c(0).o(I::I32Store8(A1));
                g.free(ENTRY + 8);
                g.o(I::LocalGet(out)).c(1).o(I::I32Add);
            })
        },
        _ => return None,
    })
}
