//! `wasi_snapshot_preview1`: WASI preview 1, as the firmware provides it.
//!
//! Every function of WASI preview 1 is here, so an app built with a WASI
//! toolchain (wasi-libc, Rust's `wasm32-wasip1`) installs whatever it
//! imports; the ones the firmware does not provide return `ENOSYS`. Each
//! function's documentation says which part of the `wasi` capability it
//! needs (`docs/abi.md` has the table).

use crate::Stability::Stable;
use crate::Type::{I32, I64, Ptr, U32};
use crate::{Cost, Function, Module, Param, Pointee, Ret};

const BUF: crate::Type = Ptr(Pointee::Void);
const IN: crate::Type = Ptr(Pointee::ConstVoid);
const PATH: crate::Type = Ptr(Pointee::ConstChar);

/// A WASI function: stable (preview 1 is frozen), returning a WASI errno.
const fn f(name: &'static str, params: &'static [Param], doc: &'static str) -> Function {
    #[cfg(not(feature = "docs"))]
    let _ = doc;
    Function {
        name,
        params,
        result: Ret::I32,
        stability: Stable,
        #[cfg(feature = "docs")]
        doc,
        #[cfg(feature = "docs")]
        c_doc: "",
        cost: Cost::CHEAP,
    }
}

/// A preview 1 function Akira does not provide: it returns `ENOSYS` and,
/// doing no work, costs nothing beyond the call.
const fn nosys(name: &'static str, params: &'static [Param]) -> Function {
    f(name, params, "`ENOSYS`.").costing(Cost::fixed(0))
}

const fn p(name: &'static str, ty: crate::Type) -> Param {
    Param::new(name, ty)
}

/// WASI errno values the firmware returns (WASI numbers them; they are
/// positive, unlike Akira's codes).
pub mod errno {
    /// Success.
    pub const SUCCESS: u16 = 0;
    /// Argument list too long / a buffer too small.
    pub const TOO_BIG: u16 = 1;
    /// Bad file descriptor.
    pub const BADF: u16 = 8;
    /// File exists.
    pub const EXIST: u16 = 20;
    /// Bad address: a pointer or length outside the app's memory.
    pub const FAULT: u16 = 21;
    /// File too large.
    pub const FBIG: u16 = 22;
    /// Invalid argument.
    pub const INVAL: u16 = 28;
    /// I/O error.
    pub const IO: u16 = 29;
    /// Is a directory.
    pub const ISDIR: u16 = 31;
    /// Too many open files.
    pub const MFILE: u16 = 33;
    /// File name too long.
    pub const NAMETOOLONG: u16 = 37;
    /// No such file or directory.
    pub const NOENT: u16 = 44;
    /// No space left (the app's storage quota, or the store).
    pub const NOSPC: u16 = 51;
    /// Function not supported by this firmware.
    pub const NOSYS: u16 = 52;
    /// Not a directory.
    pub const NOTDIR: u16 = 54;
    /// Not supported.
    pub const NOTSUP: u16 = 58;
    /// Invalid seek (on a stream).
    pub const SPIPE: u16 = 70;
    /// Timed out.
    pub const TIMEDOUT: u16 = 73;
    /// Device or resource busy.
    pub const BUSY: u16 = 10;
    /// Not granted: the app's `wasi` capability lacks the part the call
    /// needs (the guard counts the denial).
    pub const NOTCAPABLE: u16 = 76;
}

/// The `wasi_snapshot_preview1` module.
pub static WASI: Module = Module {
    name: "wasi",
    import: "wasi_snapshot_preview1",
    capability: "wasi",
    scope: "parts: console, stdin, clock, random, files",
    doc: include_str!("render/wasi.md"),
    functions: &[
        f(
            "args_get",
            &[p("argv", BUF), p("argv_buf", BUF)],
            "No part needed: `argv[0]` is the app's name, then the manifest's `wasi.args`. Pays for the bytes it writes (strings and pointers).",
        )
        .costing(Cost::bytes(10, 1, 16)),
        f("args_sizes_get", &[p("argc", BUF), p("argv_buf_size", BUF)], "No part needed."),
        f(
            "environ_get",
            &[p("environ", BUF), p("environ_buf", BUF)],
            "No part needed: the manifest's `wasi.env`. Pays for the bytes it writes (strings and pointers).",
        )
        .costing(Cost::bytes(10, 1, 16)),
        f("environ_sizes_get", &[p("count", BUF), p("buf_size", BUF)], "No part needed."),
        f(
            "clock_res_get",
            &[p("id", U32), p("resolution", BUF)],
            "Part `clock`. Monotonic: 1 µs. Realtime: 1 µs where the board has a clock, else `NOTSUP`. CPU-time clocks: `NOTSUP`.",
        ),
        f(
            "clock_time_get",
            &[p("id", U32), p("precision", I64), p("time", BUF)],
            "Part `clock`. Monotonic (1): nanoseconds since the board started. Realtime (0): only where the board has a clock, else `NOTSUP`.",
        ),
        nosys("fd_advise", &[p("fd", U32), p("offset", I64), p("len", I64), p("advice", U32)]),
        nosys("fd_allocate", &[p("fd", U32), p("offset", I64), p("len", I64)]),
        f("fd_close", &[p("fd", U32)], "Part `files` for files; closing stdio is `SUCCESS` and changes nothing."),
        f("fd_datasync", &[p("fd", U32)], "Part `files`: `SUCCESS` (every write is already stored)."),
        f(
            "fd_fdstat_get",
            &[p("fd", U32), p("stat", BUF)],
            "No part needed: stdio reads as a character device (line-buffered), the preopened directory and files as what they are.",
        ),
        nosys("fd_fdstat_set_flags", &[p("fd", U32), p("flags", U32)]),
        nosys("fd_fdstat_set_rights", &[p("fd", U32), p("base", I64), p("inheriting", I64)]),
        f(
            "fd_filestat_get",
            &[p("fd", U32), p("stat", BUF)],
            "Part `files` for files and the directory (stdio: no part).",
        ),
        nosys("fd_filestat_set_size", &[p("fd", U32), p("size", I64)]),
        nosys("fd_filestat_set_times", &[p("fd", U32), p("atim", I64), p("mtim", I64), p("flags", U32)]),
        nosys("fd_pread",
            &[p("fd", U32), p("iovs", IN), p("iovs_len", U32), p("offset", I64), p("nread", BUF)]),
        f(
            "fd_prestat_get",
            &[p("fd", U32), p("prestat", BUF)],
            "No part needed: fd 3 is the preopened directory `/` when part `files` is granted; any other fd is `BADF`.",
        ),
        f("fd_prestat_dir_name", &[p("fd", U32), p("path", BUF), p("path_len", U32)], "As `fd_prestat_get`."),
        nosys("fd_pwrite",
            &[p("fd", U32), p("iovs", IN), p("iovs_len", U32), p("offset", I64), p("nwritten", BUF)]),
        f(
            "fd_read",
            &[p("fd", U32), p("iovs", IN), p("iovs_len", U32), p("nread", BUF)],
            "fd 0: part `stdin`, bytes from the manifest's UART port; waits (suspending the app) until at least one byte arrives (and then pays for the whole buffer, as `akira:uart.read`). Files: part `files`. Pays for the bytes it moves.",
        )
        .costing(Cost::bytes(50, 1, 8)),
        f(
            "fd_readdir",
            &[p("fd", U32), p("buf", BUF), p("buf_len", U32), p("cookie", I64), p("bufused", BUF)],
            "Part `files`: the app's files, in creation order. Pays for the bytes it writes.",
        )
        .costing(Cost::bytes(2000, 1, 16)),
        nosys("fd_renumber", &[p("fd", U32), p("to", U32)]),
        f(
            "fd_seek",
            &[p("fd", U32), p("offset", I64), p("whence", U32), p("newoffset", BUF)],
            "Part `files`; stdio is `SPIPE`.",
        ),
        f("fd_sync", &[p("fd", U32)], "Part `files`: `SUCCESS` (every write is already stored)."),
        f("fd_tell", &[p("fd", U32), p("offset", BUF)], "Part `files`; stdio is `SPIPE`."),
        f(
            "fd_write",
            &[p("fd", U32), p("iovs", IN), p("iovs_len", U32), p("nwritten", BUF)],
            "fd 1 and 2: part `console`, each line to the app console (stderr at level error). Files: part `files`, within the `storage` quota. Pays for the bytes it moves; a byte written to a file is a byte written to flash and pays what `akira:storage.set` charges for one (256 of this call's bytes: 32 fuel).",
        )
        .costing(Cost::bytes(50, 1, 8)),
        nosys("path_create_directory", &[p("fd", U32), p("path", PATH), p("path_len", U32)]),
        f(
            "path_filestat_get",
            &[p("fd", U32), p("flags", U32), p("path", PATH), p("path_len", U32), p("stat", BUF)],
            "Part `files`.",
        )
        .costing(Cost::fixed(2000)),
        nosys("path_filestat_set_times",
            &[
                p("fd", U32),
                p("flags", U32),
                p("path", PATH),
                p("path_len", U32),
                p("atim", I64),
                p("mtim", I64),
                p("fst_flags", U32),
            ]),
        nosys("path_link",
            &[
                p("old_fd", U32),
                p("old_flags", U32),
                p("old_path", PATH),
                p("old_path_len", U32),
                p("new_fd", U32),
                p("new_path", PATH),
                p("new_path_len", U32),
            ]),
        f(
            "path_open",
            &[
                p("fd", U32),
                p("dirflags", U32),
                p("path", PATH),
                p("path_len", U32),
                p("oflags", U32),
                p("rights_base", I64),
                p("rights_inheriting", I64),
                p("fdflags", U32),
                p("opened", BUF),
            ],
            "Part `files`: `O_CREAT`, `O_EXCL`, `O_TRUNC`, `O_DIRECTORY` and `FDFLAGS_APPEND`; names of 1–30 bytes in the one directory (`.` opens it).",
        )
        .costing(Cost::fixed(2000)),
        nosys("path_readlink",
            &[p("fd", U32), p("path", PATH), p("path_len", U32), p("buf", BUF), p("buf_len", U32), p("bufused", BUF)]),
        nosys("path_remove_directory", &[p("fd", U32), p("path", PATH), p("path_len", U32)]),
        nosys("path_rename",
            &[
                p("fd", U32),
                p("old_path", PATH),
                p("old_path_len", U32),
                p("new_fd", U32),
                p("new_path", PATH),
                p("new_path_len", U32),
            ]),
        nosys("path_symlink",
            &[p("old_path", PATH), p("old_path_len", U32), p("fd", U32), p("new_path", PATH), p("new_path_len", U32)]),
        f("path_unlink_file", &[p("fd", U32), p("path", PATH), p("path_len", U32)], "Part `files`.")
        .costing(Cost::fixed(2000)),
        f(
            "poll_oneoff",
            &[p("in", IN), p("out", BUF), p("nsubscriptions", U32), p("nevents", BUF)],
            "Part `clock`: clock subscriptions suspend the app until the earliest one is due (as `akira:timer` sleeps); an fd subscription gets an event with error `NOTSUP`.",
        ),
        Function {
            name: "proc_exit",
            params: &[p("code", I32)],
            result: Ret::Never,
            stability: Stable,
            cost: Cost::CHEAP,
            #[cfg(feature = "docs")]
            doc: "No part needed: ends the app with `code`.",
            #[cfg(feature = "docs")]
            c_doc: "",
        },
        nosys("proc_raise", &[p("signal", U32)]),
        f("sched_yield", &[], "No part needed: lets other apps run (as `akira:sys.yield_now`)."),
        f(
            "random_get",
            &[p("buf", BUF), p("buf_len", U32)],
            "Part `random` (and the `rng` capability): at most 4096 bytes a call. Pays for the bytes it fills, as `akira:rng.fill`.",
        )
        .costing(Cost::bytes(20, 1, 4)),
        nosys("sock_accept", &[p("fd", U32), p("flags", U32), p("fd_out", BUF)]),
        nosys("sock_recv",
            &[
                p("fd", U32),
                p("ri_data", IN),
                p("ri_data_len", U32),
                p("ri_flags", U32),
                p("ro_datalen", BUF),
                p("ro_flags", BUF),
            ]),
        nosys("sock_send",
            &[p("fd", U32), p("si_data", IN), p("si_data_len", U32), p("si_flags", U32), p("so_datalen", BUF)]),
        nosys("sock_shutdown", &[p("fd", U32), p("how", U32)]),
    ],
    c_items: &[],
};
