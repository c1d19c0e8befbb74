//! Each WASI call inside and outside its part, with bad pointers and
//! lengths, through a real linker and module (the calls take a `Caller`).

use super::*;
use crate::board::AppInfo;
use crate::modules::storage::FlashKv;
use crate::state::{AppLimits, Suspend};
use crate::testing::Recorder;
use akira_abi::wasi::errno::{BADF, EXIST, ISDIR, MFILE, NOSPC, NOTDIR, SPIPE};
use akira_caps::manifest::{AppName, Version};
use akira_caps::{CapabilitySet, Grants, Guard};
use akira_ota::testing::SimFlash;
use std::collections::VecDeque;
use wasmi::{Engine, Module, Store};

struct TestBoard {
    rec: Recorder,
    kv: FlashKv<SimFlash<4, 1024>>,
    next_random: u8,
    serial: VecDeque<u8>,
    wall_us: Option<u64>,
}

crate::testing::recorder_board!(TestBoard);

impl KvStore for TestBoard {
    fn get(&mut self, app: &str, key: &[u8], buf: &mut [u8]) -> Result<Option<usize>, Errno> {
        self.kv.get(app, key, buf)
    }
    fn set(&mut self, app: &str, key: &[u8], value: &[u8], quota: u32) -> Result<(), Errno> {
        self.kv.set(app, key, value, quota)
    }
    fn remove(&mut self, app: &str, key: &[u8]) -> Result<bool, Errno> {
        self.kv.remove(app, key)
    }
    fn used(&mut self, app: &str) -> Result<u32, Errno> {
        self.kv.used(app)
    }
    fn capacity(&mut self) -> Result<u32, Errno> {
        self.kv.capacity()
    }
}

impl Rng for TestBoard {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Errno> {
        for b in buf {
            *b = self.next_random;
            self.next_random = self.next_random.wrapping_add(1);
        }
        Ok(())
    }
}

impl Uart for TestBoard {
    fn read(&mut self, port: u32, buf: &mut [u8]) -> Result<usize, Errno> {
        assert_eq!(port, 1, "stdin reads the manifest's port");
        let n = buf.len().min(self.serial.len());
        for b in &mut buf[..n] {
            *b = self.serial.pop_front().unwrap_or(0);
        }
        Ok(n)
    }
    fn write(&mut self, _: u32, _: &[u8]) -> Result<usize, Errno> {
        Ok(0)
    }
}

impl WasiHost for TestBoard {
    fn wasi_store(&mut self) -> Option<&mut dyn KvStore> {
        Some(self)
    }
    fn wasi_random(&mut self) -> Option<&mut dyn Rng> {
        Some(self)
    }
    fn wasi_serial(&mut self) -> Option<&mut dyn Uart> {
        Some(self)
    }
    fn wall_clock_us(&self) -> Option<u64> {
        self.wall_us
    }
}

/// Every import an app may use, re-exported as `call_<name>` with the
/// same signature, and its memory (one page).
fn harness() -> String {
    let (mut imports, mut funcs) = (String::new(), String::new());
    for f in SPEC.functions {
        let params: String = f.wasm_params().map(|t| format!(" {}", t.name())).collect();
        let result = if f.result.wasm().is_empty() { "" } else { " (result i32)" };
        imports +=
            &format!("(import \"wasi_snapshot_preview1\" \"{0}\" (func ${0} (param{params}){result}))\n", f.name);
        let args: String = (0..f.params.len()).map(|i| format!(" (local.get {i})")).collect();
        funcs += &format!("(func (export \"call_{0}\") (param{params}){result} (call ${0}{args}))\n", f.name);
    }
    format!("(module\n{imports}{funcs}(memory (export \"memory\") 1))")
}

struct App {
    store: Store<AppState<TestBoard>>,
    instance: wasmi::Instance,
}

fn scope(parts: &[u32]) -> WasiScope {
    let mut s = WasiScope::with_parts(parts.iter().copied().collect());
    if parts.contains(&wasi::STDIN) {
        s.stdin_port = Some(1);
    }
    s.args.extend_from_slice(b"-v\0data\0").unwrap();
    s.env.extend_from_slice(b"MODE=demo\0").unwrap();
    s
}

fn app(parts: &[u32], quota: u32) -> App {
    let caps = CapabilitySet {
        wasi: Some(alloc::boxed::Box::new(scope(parts))),
        storage: Some(akira_caps::scope::StorageScope::with_quota(quota)),
        uart: Some([1].into_iter().collect()),
        rng: true,
        ..Default::default()
    };
    let engine = Engine::default();
    let module = Module::new(&engine, wat::parse_str(harness()).unwrap()).unwrap();
    let board = TestBoard {
        rec: Recorder { now: 5_000, events: Vec::new() },
        kv: FlashKv::new(SimFlash::new(4), 0..4096).unwrap(),
        next_random: 7,
        serial: VecDeque::new(),
        wall_us: None,
    };
    let info = AppInfo { id: 1, name: AppName::try_from("wapp").unwrap(), version: Version::new(1, 0, 0) };
    let grants = Grants::compile(&caps);
    let mut store =
        Store::new(&engine, AppState::new(info.clone(), Guard::new(grants.clone()), board, AppLimits::new(65536, 16)));
    let mut linker = Linker::new(&engine);
    let cx = LinkContext { module: ModuleIndex(0), app: &info, granted: &caps, grants: &grants };
    WasiModule.link(&mut linker, &cx).unwrap();
    let instance = linker.instantiate_and_start(&mut store, &module).unwrap();
    let memory = instance.get_memory(&store, "memory");
    store.data_mut().set_memory(memory);
    App { store, instance }
}

/// What a call ended as.
#[derive(Debug, PartialEq)]
enum Ended {
    Errno(u16),
    Suspended(Wait),
    Exit(i32),
}

impl App {
    fn call(&mut self, name: &str, args: &[Val]) -> Ended {
        let f = self.instance.get_func(&self.store, &format!("call_{name}")).unwrap();
        let mut out = [Val::I32(0)];
        let n = f.ty(&self.store).results().len();
        match f.call(&mut self.store, args, &mut out[..n]) {
            Ok(()) => match out[0] {
                Val::I32(v) => Ended::Errno(v as u16),
                _ => unreachable!(),
            },
            Err(e) if e.downcast_ref::<Suspend>().is_some() => {
                Ended::Suspended(self.store.data_mut().take_wait().unwrap())
            }
            Err(e) => Ended::Exit(e.i32_exit_status().expect("an exit")),
        }
    }

    fn errno(&mut self, name: &str, args: &[i64]) -> u16 {
        let f = SPEC.function(name).unwrap();
        let vals: Vec<Val> = f
            .wasm_params()
            .zip(args)
            .map(|(t, v)| if t == akira_abi::ValType::I64 { Val::I64(*v) } else { Val::I32(*v as i32) })
            .collect();
        match self.call(name, &vals) {
            Ended::Errno(e) => e,
            other => panic!("{name}: {other:?}"),
        }
    }

    fn mem(&mut self) -> &mut [u8] {
        let memory = self.store.data().memory().unwrap();
        memory.data_mut(&mut self.store)
    }

    fn put(&mut self, at: usize, bytes: &[u8]) {
        self.mem()[at..at + bytes.len()].copy_from_slice(bytes);
    }

    fn u32_at(&mut self, at: usize) -> u32 {
        u32::from_le_bytes(self.mem()[at..at + 4].try_into().unwrap())
    }

    fn u64_at(&mut self, at: usize) -> u64 {
        u64::from_le_bytes(self.mem()[at..at + 8].try_into().unwrap())
    }

    /// An iovec at `at` for `(ptr, len)`.
    fn iovec(&mut self, at: usize, ptr: u32, len: u32) {
        self.put(at, &ptr.to_le_bytes());
        self.put(at + 4, &len.to_le_bytes());
    }

    fn events(&self) -> &[String] {
        &self.store.data().board().rec.events
    }

    fn denials(&self) -> u32 {
        self.store.data().guard().denials(Capability::Wasi)
    }

    /// Opens `name` in the directory with `oflags` and read+write rights.
    fn open(&mut self, name: &[u8], oflags: i64) -> Result<u32, u16> {
        self.put(1000, name);
        let rights = (files::RIGHT_READ | files::RIGHT_WRITE) as i64;
        match self.errno("path_open", &[3, 0, 1000, name.len() as i64, oflags, rights, 0, 0, 1100]) {
            0 => Ok(self.u32_at(1100)),
            e => Err(e),
        }
    }

    fn write(&mut self, fd: u32, data: &[u8]) -> u16 {
        self.put(2000, data);
        self.iovec(1200, 2000, data.len() as u32);
        self.errno("fd_write", &[fd.into(), 1200, 1, 1300])
    }

    fn read(&mut self, fd: u32, len: u32) -> Result<Vec<u8>, u16> {
        self.iovec(1200, 3000, len);
        match self.errno("fd_read", &[fd.into(), 1200, 1, 1300]) {
            0 => {
                let n = self.u32_at(1300) as usize;
                Ok(self.mem()[3000..3000 + n].to_vec())
            }
            e => Err(e),
        }
    }
}

const ALL: [u32; 5] = [wasi::CONSOLE, wasi::STDIN, wasi::CLOCK, wasi::RANDOM, wasi::FILES];

#[test]
fn console_lines_go_to_the_log() {
    let mut a = app(&[wasi::CONSOLE], 0);
    a.put(100, b"hello\nwor");
    a.put(200, b"ld\n\xffok");
    a.iovec(300, 100, 9);
    a.iovec(308, 200, 6);
    assert_eq!(a.errno("fd_write", &[1, 300, 2, 400]), SUCCESS);
    assert_eq!(a.u32_at(400), 15, "every byte taken");
    assert_eq!(a.events(), ["info: hello", "info: world"], "`?ok` waits for its newline");
    assert_eq!(a.errno("fd_write", &[2, 308, 1, 400]), SUCCESS);
    a.iovec(300, 200, 3);
    assert_eq!(a.errno("fd_write", &[1, 300, 1, 400]), SUCCESS);
    assert_eq!(a.events()[2..], ["error: ld", "info: ?okld"], "a line in pieces is one message");
    // An unfinished line is printed when the app exits.
    a.iovec(300, 203, 3);
    assert_eq!(a.errno("fd_write", &[2, 300, 1, 400]), SUCCESS);
    assert_eq!(a.call("proc_exit", &[Val::I32(0)]), Ended::Exit(0));
    assert_eq!(a.events()[4..], ["error: ?ok?ok"]);
}

#[test]
fn console_outside_the_grant_and_bad_pointers() {
    let mut a = app(&[wasi::CLOCK], 0);
    a.put(100, b"secret\n");
    a.iovec(300, 100, 7);
    assert_eq!(a.errno("fd_write", &[1, 300, 1, 400]), NOTCAPABLE);
    assert_eq!(a.denials(), 1, "counted");
    assert!(a.events().iter().all(|e| !e.contains("secret")));

    let mut a = app(&[wasi::CONSOLE], 0);
    a.iovec(300, 65530, 7);
    assert_eq!(a.errno("fd_write", &[1, 300, 1, 400]), FAULT, "buffer past the memory");
    assert_eq!(a.errno("fd_write", &[1, 65532, 1, 400]), FAULT, "iovec past the memory");
    a.iovec(300, 100, 7);
    assert_eq!(a.errno("fd_write", &[1, 300, 1, 65533]), FAULT, "result past the memory");
    assert_eq!(a.errno("fd_write", &[1, 300, 100_000, 400]), INVAL, "too many iovecs");
    assert_eq!(a.errno("fd_write", &[0, 300, 1, 400]), BADF, "stdin is not writable");
    assert_eq!(a.errno("fd_write", &[9, 300, 1, 400]), NOTCAPABLE, "a file without part files");
    assert!(a.events().iter().all(|e| e.starts_with("Denied")), "nothing printed: {:?}", a.events());
    assert_eq!(a.denials(), 1);
}

#[test]
fn clocks_and_their_resolution() {
    let mut a = app(&[wasi::CLOCK], 0);
    assert_eq!(a.errno("clock_time_get", &[1, 0, 100]), SUCCESS);
    assert_eq!(a.u64_at(100), 5_000_000, "the board's 5 ms in nanoseconds");
    assert_eq!(a.errno("clock_res_get", &[1, 100]), SUCCESS);
    assert_eq!(a.u64_at(100), 1000);
    assert_eq!(a.errno("clock_time_get", &[0, 0, 100]), NOTSUP, "no real-time clock on this board");
    a.store.data_mut().board_mut().wall_us = Some(1_700_000_000_000_000);
    assert_eq!(a.errno("clock_time_get", &[0, 0, 100]), SUCCESS);
    assert_eq!(a.u64_at(100), 1_700_000_000_000_000_000);
    assert_eq!(a.errno("clock_time_get", &[2, 0, 100]), NOTSUP, "CPU time");
    assert_eq!(a.errno("clock_time_get", &[9, 0, 100]), INVAL);
    assert_eq!(a.errno("clock_time_get", &[1, 0, 65530]), FAULT);
    let mut a = app(&[wasi::CONSOLE], 0);
    assert_eq!(a.errno("clock_time_get", &[1, 0, 100]), NOTCAPABLE);
    assert_eq!(a.errno("clock_res_get", &[1, 100]), NOTCAPABLE);
    assert_eq!(a.denials(), 2);
}

/// A clock subscription at `at`: relative `timeout_ns` on the monotonic
/// clock, or absolute.
fn clock_sub(a: &mut App, at: usize, userdata: u64, timeout_ns: u64, absolute: bool) {
    a.put(at, &[0; 48]);
    a.put(at, &userdata.to_le_bytes());
    a.put(at + 16, &1u32.to_le_bytes());
    a.put(at + 24, &timeout_ns.to_le_bytes());
    a.put(at + 40, &[absolute as u8]);
}

#[test]
fn poll_oneoff_sleeps_until_the_earliest_clock() {
    let mut a = app(&[wasi::CLOCK], 0);
    clock_sub(&mut a, 100, 11, 30_000_000, false);
    clock_sub(&mut a, 148, 22, 20_000_000, false);
    let ended = a.call("poll_oneoff", &[Val::I32(100), Val::I32(400), Val::I32(2), Val::I32(600)]);
    let until = Instant::from_micros(5_000 + 20_000);
    assert_eq!(ended, Ended::Suspended(Wait { until, kind: WaitKind::Sleep }), "as timer.sleep_us");
    assert_eq!((a.u64_at(400), a.u32_at(600)), (22, 1), "the earliest subscription's event");
    // A deadline that passed returns at once.
    clock_sub(&mut a, 100, 33, 1_000_000, true);
    assert_eq!(a.errno("poll_oneoff", &[100, 400, 1, 600]), SUCCESS);
    assert_eq!(a.u64_at(400), 33);
    // An fd subscription is not provided.
    a.put(100 + 8, &[1]);
    assert_eq!(a.errno("poll_oneoff", &[100, 400, 1, 600]), SUCCESS);
    assert_eq!((a.u32_at(600), u16::from_le_bytes([a.mem()[408], a.mem()[409]])), (1, NOTSUP));
    // Bad input.
    assert_eq!(a.errno("poll_oneoff", &[100, 400, 0, 600]), INVAL, "no subscription");
    assert_eq!(a.errno("poll_oneoff", &[65500, 400, 1, 600]), FAULT);
    assert_eq!(a.errno("poll_oneoff", &[100, 65520, 1, 600]), FAULT);
    let mut a = app(&[wasi::CONSOLE], 0);
    clock_sub(&mut a, 100, 1, 1, false);
    assert_eq!(a.errno("poll_oneoff", &[100, 400, 1, 600]), NOTCAPABLE);
}

#[test]
fn arguments_and_environment_from_the_manifest() {
    let mut a = app(&[], 0);
    assert_eq!(a.errno("args_sizes_get", &[100, 104]), SUCCESS);
    assert_eq!((a.u32_at(100), a.u32_at(104)), (3, 13), "wapp, -v, data");
    assert_eq!(a.errno("args_get", &[200, 300]), SUCCESS);
    assert_eq!(&a.mem()[300..313], b"wapp\0-v\0data\0");
    assert_eq!((a.u32_at(200), a.u32_at(204), a.u32_at(208)), (300, 305, 308));
    assert_eq!(a.errno("environ_sizes_get", &[100, 104]), SUCCESS);
    assert_eq!((a.u32_at(100), a.u32_at(104)), (1, 10));
    assert_eq!(a.errno("environ_get", &[200, 300]), SUCCESS);
    assert_eq!(&a.mem()[300..310], b"MODE=demo\0");
    assert_eq!(a.errno("args_get", &[200, 65530]), FAULT, "strings past the memory");
    assert_eq!(a.errno("args_get", &[65534, 300]), FAULT, "pointers past the memory");
    assert_eq!(a.errno("environ_sizes_get", &[100, 65534]), FAULT);
    assert_eq!(a.denials(), 0, "the app's own strings need no part");
}

#[test]
fn random_needs_its_part() {
    let mut a = app(&[wasi::RANDOM], 0);
    assert_eq!(a.errno("random_get", &[100, 4]), SUCCESS);
    assert_eq!(&a.mem()[100..104], [7, 8, 9, 10]);
    assert_eq!(a.errno("random_get", &[65534, 4]), FAULT);
    assert_eq!(a.errno("random_get", &[0, 5000]), TOO_BIG);
    let mut a = app(&[wasi::CONSOLE], 0);
    assert_eq!(a.errno("random_get", &[100, 4]), NOTCAPABLE);
    assert_eq!(&a.mem()[100..104], [0; 4], "nothing drawn");
}

#[test]
fn stdin_reads_the_port_and_waits_for_bytes() {
    let mut a = app(&[wasi::STDIN], 0);
    a.iovec(100, 200, 0);
    a.iovec(108, 300, 16);
    a.store.data_mut().board_mut().serial.extend(b"hi");
    assert_eq!(a.errno("fd_read", &[0, 100, 2, 400]), SUCCESS);
    assert_eq!((a.u32_at(400), &a.mem()[300..302]), (2, &b"hi"[..]));
    // Nothing received: the app waits, and the wait ends with the bytes.
    let ended = a.call("fd_read", &[Val::I32(0), Val::I32(100), Val::I32(2), Val::I32(400)]);
    let Ended::Suspended(Wait { kind: WaitKind::Module { op, arg, .. }, until }) = ended else { panic!("{ended:?}") };
    assert_eq!(until, Instant::MAX);
    let memory = a.store.data().memory().unwrap();
    let (bytes, state) = memory.data_and_store_mut(&mut a.store);
    let mut mem = GuestMemory::new(bytes);
    assert_eq!(WasiModule.poll_wait_with_memory(&mut mem, state, op, arg), None, "still nothing");
    state.board_mut().serial.extend(b"ok\n");
    assert_eq!(WasiModule.poll_wait_with_memory(&mut mem, state, op, arg), Some(0));
    assert_eq!((a.u32_at(400), &a.mem()[300..303]), (3, &b"ok\n"[..]));
    // Bad input, and outside the grant.
    a.iovec(108, 65530, 16);
    assert_eq!(a.errno("fd_read", &[0, 100, 2, 400]), FAULT);
    a.iovec(108, 300, 16);
    assert_eq!(a.errno("fd_read", &[1, 100, 2, 400]), BADF, "stdout is not readable");
    let mut a = app(&[wasi::CONSOLE], 0);
    a.iovec(100, 200, 4);
    assert_eq!(a.errno("fd_read", &[0, 100, 1, 400]), NOTCAPABLE);
    assert_eq!(a.denials(), 1);
}

#[test]
fn exit_yield_and_unsupported_calls() {
    let mut a = app(&[], 0);
    assert_eq!(a.call("proc_exit", &[Val::I32(3)]), Ended::Exit(3));
    assert!(matches!(a.call("sched_yield", &[]), Ended::Suspended(Wait { kind: WaitKind::Yield, .. })));
    assert_eq!(a.errno("sock_accept", &[0, 0, 0]), NOSYS);
    assert_eq!(a.errno("path_rename", &[3, 0, 0, 3, 0, 0]), NOSYS);
    assert_eq!(a.errno("fd_pwrite", &[3, 0, 0, 0, 0]), NOSYS);
    assert_eq!(a.denials(), 0, "unsupported is not denied");
    // stdio looks like a terminal; the directory is there only with files.
    assert_eq!(a.errno("fd_fdstat_get", &[1, 100]), SUCCESS);
    assert_eq!(a.mem()[100], 2, "character device");
    assert_eq!(a.u64_at(108) & (1 << 2 | 1 << 5), 0, "no seek or tell: a tty");
    assert_eq!(a.errno("fd_prestat_get", &[3, 100]), BADF);
    assert_eq!(a.errno("fd_seek", &[1, 0, 0, 100]), SPIPE);
}

#[test]
fn files_round_trip_through_the_store() {
    let mut a = app(&ALL, 4096);
    assert_eq!(a.errno("fd_prestat_get", &[3, 100]), SUCCESS);
    assert_eq!((a.mem()[100], a.u32_at(104)), (0, 1));
    assert_eq!(a.errno("fd_prestat_dir_name", &[3, 200, 1]), SUCCESS);
    assert_eq!(a.mem()[200], b'/');
    assert_eq!(a.open(b"note.txt", 0), Err(NOENT), "not created yet");
    let fd = a.open(b"note.txt", i64::from(files::oflags::CREAT)).unwrap();
    assert_eq!(fd, 4);
    let text: Vec<u8> = (0..600u32).map(|i| b'a' + (i % 26) as u8).collect();
    assert_eq!(a.write(fd, &text), SUCCESS);
    assert_eq!(a.u32_at(1300), 600, "across three chunks");
    assert_eq!(a.errno("fd_seek", &[fd.into(), 250, 0, 100]), SUCCESS);
    assert_eq!(a.read(fd, 10).unwrap(), &text[250..260], "across a chunk boundary");
    assert_eq!(a.errno("fd_tell", &[fd.into(), 100]), SUCCESS);
    assert_eq!(a.u64_at(100), 260);
    assert_eq!(a.errno("fd_seek", &[fd.into(), -5, 2, 100]), SUCCESS);
    assert_eq!(a.read(fd, 100).unwrap(), &text[595..], "short read at the end");
    assert_eq!(a.read(fd, 100).unwrap(), b"", "end of file");
    assert_eq!(a.errno("fd_filestat_get", &[fd.into(), 100]), SUCCESS);
    assert_eq!((a.mem()[116], a.u64_at(132)), (4, 600), "a regular file of 600 bytes");
    assert_eq!(a.errno("fd_close", &[fd.into()]), SUCCESS);
    assert_eq!(a.errno("fd_close", &[fd.into()]), BADF, "closed");
    // Kept in the store: reopened, truncated, appended.
    let fd = a.open(b"./note.txt", 0).unwrap();
    assert_eq!(a.read(fd, 4).unwrap(), b"abcd");
    let fd2 = a.open(b"/note.txt", i64::from(files::oflags::TRUNC)).unwrap();
    assert_eq!(a.write(fd2, b"xy"), SUCCESS);
    assert_eq!(a.errno("fd_seek", &[fd.into(), 0, 0, 100]), SUCCESS);
    assert_eq!(a.read(fd, 10).unwrap(), b"xy");
    assert_eq!(a.open(b"note.txt", i64::from(files::oflags::CREAT | files::oflags::EXCL)), Err(EXIST));
    assert_eq!(a.denials(), 0);
}

#[test]
fn directory_listing_stat_and_unlink() {
    let mut a = app(&ALL, 4096);
    for name in [&b"a.txt"[..], b"b.bin"] {
        let fd = a.open(name, i64::from(files::oflags::CREAT)).unwrap();
        assert_eq!(a.write(fd, b"12345"), SUCCESS);
        assert_eq!(a.errno("fd_close", &[fd.into()]), SUCCESS);
    }
    assert_eq!(a.errno("fd_readdir", &[3, 500, 200, 0, 100]), SUCCESS);
    let used = a.u32_at(100) as usize;
    assert_eq!(used, 2 * (24 + 5));
    assert_eq!((a.u64_at(500), a.u32_at(516), &a.mem()[524..529]), (1, 5, &b"a.txt"[..]));
    assert_eq!(&a.mem()[553..558], b"b.bin");
    // From cookie 1, and into a buffer too small for the whole entry.
    assert_eq!(a.errno("fd_readdir", &[3, 500, 10, 1, 100]), SUCCESS);
    assert_eq!(a.u32_at(100), 10, "cut: the libc retries with a larger buffer");
    a.put(700, b"b.bin");
    assert_eq!(a.errno("path_filestat_get", &[3, 0, 700, 5, 800]), SUCCESS);
    assert_eq!(a.u64_at(832), 5);
    assert_eq!(a.errno("path_unlink_file", &[3, 700, 5]), SUCCESS);
    assert_eq!(a.errno("path_filestat_get", &[3, 0, 700, 5, 800]), NOENT);
    assert_eq!(a.errno("path_unlink_file", &[3, 700, 5]), NOENT);
    assert_eq!(a.errno("fd_readdir", &[3, 500, 200, 0, 100]), SUCCESS);
    assert_eq!(a.u32_at(100), 29, "one file left");
    // `.` opens the directory; it cannot be written.
    let dir = a.open(b".", 0);
    assert_eq!(dir, Err(ISDIR), "opened with write rights");
    a.put(1000, b".");
    assert_eq!(a.errno("path_open", &[3, 0, 1000, 1, 0, files::RIGHT_READ as i64, 0, 0, 1100]), SUCCESS);
    let dir = a.u32_at(1100);
    assert_eq!(a.errno("fd_readdir", &[dir.into(), 500, 200, 0, 100]), SUCCESS);
    assert_eq!(a.u32_at(100), 29);
}

#[test]
fn files_keep_to_the_quota_names_and_limits() {
    let mut a = app(&ALL, 64);
    let fd = a.open(b"f", i64::from(files::oflags::CREAT)).unwrap();
    assert_eq!(a.write(fd, &[1; 40]), SUCCESS);
    assert_eq!(a.write(fd, &[2; 40]), NOSPC, "past the storage quota");
    let long = [b'n'; 31];
    assert_eq!(a.open(&long, i64::from(files::oflags::CREAT)), Err(akira_abi::wasi::errno::NAMETOOLONG));
    assert_eq!(a.open(b"sub/x", i64::from(files::oflags::CREAT)), Err(NOENT), "one directory");
    assert_eq!(a.open(b"../x", i64::from(files::oflags::CREAT)), Err(NOENT), "nothing above it");
    let mut a = app(&ALL, 4096);
    for i in 0..4 {
        a.open(&[b'a' + i], i64::from(files::oflags::CREAT)).unwrap();
    }
    assert_eq!(a.open(b"e", i64::from(files::oflags::CREAT)), Err(MFILE), "four open at once");
    // Bad pointers and lengths.
    assert_eq!(a.errno("path_open", &[3, 0, 65530, 10, 1, 0, 0, 0, 1100]), FAULT);
    assert_eq!(a.errno("path_open", &[3, 0, 1000, 300, 1, 0, 0, 0, 1100]), akira_abi::wasi::errno::NAMETOOLONG);
    assert_eq!(a.errno("path_open", &[3, 0, 1000, 1, 1, 0, 0, 0, 65534]), FAULT);
    assert_eq!(a.errno("path_open", &[1, 0, 1000, 1, 1, 0, 0, 0, 1100]), NOTDIR, "stdout is no directory");
    assert_eq!(a.errno("fd_readdir", &[3, 65500, 200, 0, 100]), FAULT);
    a.iovec(1200, 65530, 100);
    assert_eq!(a.errno("fd_write", &[4, 1200, 1, 1300]), FAULT);
    assert_eq!(a.errno("fd_read", &[4, 1200, 1, 1300]), FAULT);
    assert_eq!(a.errno("fd_seek", &[4, -1, 0, 100]), INVAL);
    assert_eq!(a.errno("fd_seek", &[4, 0, 7, 100]), INVAL);
    assert_eq!(a.errno("fd_read", &[9, 1200, 0, 1300]), BADF);
}

#[test]
fn files_outside_the_grant_are_denied_and_counted() {
    let mut a = app(&[wasi::CONSOLE], 4096);
    assert_eq!(a.errno("fd_prestat_get", &[3, 100]), BADF, "no directory is preopened");
    assert_eq!(a.open(b"x", i64::from(files::oflags::CREAT)), Err(NOTCAPABLE));
    a.put(700, b"x");
    assert_eq!(a.errno("path_unlink_file", &[3, 700, 1]), NOTCAPABLE);
    assert_eq!(a.errno("path_filestat_get", &[3, 0, 700, 1, 800]), NOTCAPABLE);
    assert_eq!(a.errno("fd_readdir", &[3, 500, 200, 0, 100]), NOTCAPABLE);
    assert_eq!(a.errno("fd_filestat_get", &[3, 100]), NOTCAPABLE);
    assert_eq!(a.errno("fd_seek", &[4, 0, 0, 100]), NOTCAPABLE);
    assert_eq!(a.denials(), 6);
    assert_eq!(a.store.data_mut().board_mut().kv.used("wapp").unwrap(), 0, "nothing stored");
}
