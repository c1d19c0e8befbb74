//! The shims that name another app or an IPC topic by string. AkiraOS
//! passes the name at run time; Akira grants apps and topics by index in
//! the manifest's lists, so the board profile lists the names AkiraOS
//! apps may use (`[app] names`, `[ipc] names`), `app.control` and `ipc`
//! grant them in that order, and each shim turns the string into its
//! index by comparing it with the names the app is granted (code
//! generated per name: no table in the app's memory). Any other name
//! (every name, without the grant) becomes the index past the app's
//! list, which the guard denies and counts: `-EPERM`, as for any call
//! outside the grant.

use wasm_encoder::{BlockType, Instruction as I, MemArg, ValType};

use super::{A1, EFAULT, Gen, Helper, Need, Spec, spec};
use Helper::{Errno, Fits, Strlen};

/// Zephyr's `EAGAIN`: nothing received in time.
const EAGAIN: i32 = 11;
/// Akira's timeout.
const AKIRA_ETIMEDOUT: i32 = -7;
/// AkiraOS's `APP_STATE_*` for each Akira app status (0 running or ready,
/// 1 waiting, 2 stopped, 3 exited, 4 stopped by a fault, 5 restarting):
/// RUNNING 2, STOPPED 3, FAILED 5, ERROR 4.
const APP_STATE: [i32; 6] = [2, 2, 3, 3, 5, 4];
/// The same states as `app_list` writes them, by Akira status.
const APP_STATE_WORD: [&str; 6] = ["RUNNING", "RUNNING", "STOPPED", "STOPPED", "FAILED", "ERROR"];

impl Gen<'_> {
    /// The index of the NUL-terminated name at param `i` in `names`, in a
    /// new local: `names.len()` when it is none of them; `-EFAULT`
    /// returned for a string past memory.
    fn name_index(&mut self, i: u32, names: &[String]) -> u32 {
        let len = self.str_len(i);
        let index = self.local(ValType::I32);
        self.c(names.len() as i32).o(I::LocalSet(index));
        for (n, name) in names.iter().enumerate() {
            // The lengths first: the bytes compared then lie in memory.
            self.o(I::LocalGet(len)).c(name.len() as i32).o(I::I32Eq).o(I::If(BlockType::Empty));
            self.c(1);
            for (at, byte) in name.bytes().enumerate() {
                let load = MemArg { offset: at as u64, ..A1 };
                self.p(i).o(I::I32Load8U(load)).c(i32::from(byte)).o(I::I32Eq).o(I::I32And);
            }
            self.o(I::If(BlockType::Empty)).c(n as i32).o(I::LocalSet(index)).o(I::End);
            self.o(I::End);
        }
        index
    }

    fn topic(&mut self, i: u32) -> u32 {
        let topics = self.cx.topics();
        self.name_index(i, &topics)
    }

    fn app(&mut self, i: u32) -> u32 {
        let apps = self.cx.apps();
        self.name_index(i, &apps)
    }

    /// Returns `-EPERM`, counted, when the topic at param 0 is none the
    /// app is granted (an `unsubscribe` of the index past its list, which
    /// the guard denies and which changes nothing).
    fn granted_topic(&mut self) -> &mut Self {
        let topic = self.topic(0);
        let n = self.cx.topics().len() as i32;
        self.o(I::LocalGet(topic)).c(n).o(I::I32Eq).o(I::If(BlockType::Empty));
        self.c(n).call("akira:ipc", "unsubscribe").errno().o(I::Return).o(I::End)
    }

    /// `akira:ipc.receive` into params 1 and 2 for the i64 timeout on
    /// the stack: the length received, `-EAGAIN` on a timeout.
    fn receive(&mut self) -> &mut Self {
        let [timeout, r] = [self.local(ValType::I64), self.local(ValType::I32)];
        self.o(I::LocalSet(timeout)).p(1).p(2).o(I::LocalGet(timeout)).call("akira:ipc", "receive");
        self.o(I::LocalTee(r)).c(AKIRA_ETIMEDOUT).o(I::I32Eq).o(I::If(BlockType::Empty));
        self.c(-EAGAIN).o(I::Return).o(I::End);
        self.o(I::LocalGet(r)).c(0).o(I::I32LtS).o(I::If(BlockType::Empty));
        self.o(I::LocalGet(r)).errno().o(I::Return).o(I::End);
        self.o(I::LocalGet(r)).c(0xffff).o(I::I32And)
    }
}

const RECEIVE: &[(&str, &str)] = &[("akira:ipc", "unsubscribe"), ("akira:ipc", "receive")];

fn ipc(uses: &'static [(&'static str, &'static str)], write: fn(&mut Gen<'_>)) -> Spec {
    spec(uses, &[Strlen, Errno], &[Need::Ipc], write)
}

fn app(uses: &'static [(&'static str, &'static str)], write: fn(&mut Gen<'_>)) -> Spec {
    spec(uses, &[Strlen, Errno], &[Need::App], write)
}

/// `app_list(buf, len)`: `name:STATE` and a newline for each app the app
/// may control that is installed, while they fit, then a NUL if it fits;
/// the number listed. Without any app granted, the guard's denial.
fn list(g: &mut Gen<'_>) {
    let apps = g.cx.apps();
    if apps.is_empty() {
        g.c(0).call("akira:app", "status").errno();
        return;
    }
    g.p(0).p(1).h(Fits).or_fail(EFAULT);
    let [out, count, status] = [(); 3].map(|()| g.local(ValType::I32));
    for (index, name) in apps.iter().enumerate() {
        g.c(index as i32).call("akira:app", "status").o(I::LocalSet(status));
        for (akira, word) in APP_STATE_WORD.iter().enumerate() {
            let entry = format!("{name}:{word}\n");
            let n = entry.len() as i32;
            g.o(I::LocalGet(status)).c(akira as i32).o(I::I32Eq);
            g.o(I::LocalGet(out)).c(n).o(I::I32Add).p(1).o(I::I32LeU).o(I::I32And).o(I::If(BlockType::Empty));
            for (at, byte) in entry.bytes().enumerate() {
                g.p(0).o(I::LocalGet(out)).o(I::I32Add).c(i32::from(byte));
                g.o(I::I32Store8(MemArg { offset: at as u64, ..A1 }));
            }
            g.o(I::LocalGet(out)).c(n).o(I::I32Add).o(I::LocalSet(out));
            g.o(I::LocalGet(count)).c(1).o(I::I32Add).o(I::LocalSet(count)).o(I::End);
        }
    }
    g.o(I::LocalGet(out)).p(1).o(I::I32LtU).o(I::If(BlockType::Empty));
    g.p(0).o(I::LocalGet(out)).o(I::I32Add).c(0).o(I::I32Store8(A1)).o(I::End);
    g.o(I::LocalGet(count));
}

/// The shim for `name`, if Akira translates it.
pub(super) fn shim(name: &str) -> Option<Spec> {
    Some(match name {
        "msg_subscribe" => ipc(&[("akira:ipc", "subscribe")], |g| {
            let topic = g.topic(0);
            g.o(I::LocalGet(topic)).call("akira:ipc", "subscribe").errno();
        }),
        "msg_unsubscribe" => ipc(&[("akira:ipc", "unsubscribe")], |g| {
            let topic = g.topic(0);
            g.o(I::LocalGet(topic)).call("akira:ipc", "unsubscribe").errno();
        }),
        "msg_publish" => ipc(&[("akira:ipc", "publish")], |g| {
            let topic = g.topic(0);
            g.o(I::LocalGet(topic)).p(1).p(2).call("akira:ipc", "publish").errno();
        }),
        // (topic, buf, len, timeout_ms): -1 waits for ever.
        "msg_recv" => ipc(RECEIVE, |g| {
            g.granted_topic();
            g.p(3).c(0).o(I::I32LtS).o(I::If(BlockType::Result(ValType::I64))).o(I::I64Const(-1)).o(I::Else);
            g.p(3).o(I::I64ExtendI32U).o(I::I64Const(1000)).o(I::I64Mul).o(I::End).receive();
        }),
        "msg_try_recv" => ipc(RECEIVE, |g| {
            g.granted_topic().o(I::I64Const(0)).receive();
        })
        .polling(),
        "msg_pending" => ipc(&[("akira:ipc", "unsubscribe"), ("akira:ipc", "pending")], |g| {
            g.granted_topic().call("akira:ipc", "pending");
        })
        .polling(),
        "app_get_status" => app(&[("akira:app", "status")], |g| {
            let [index, status] = [g.app(0), g.local(ValType::I32)];
            g.o(I::LocalGet(index)).call("akira:app", "status").o(I::LocalTee(status)).c(0).o(I::I32LtS);
            g.o(I::If(BlockType::Empty)).o(I::LocalGet(status)).errno().o(I::Return).o(I::End);
            // An unknown status reads as ERROR.
            g.c(4).o(I::LocalSet(index));
            for (akira, akiraos) in APP_STATE.iter().enumerate() {
                g.o(I::LocalGet(status)).c(akira as i32).o(I::I32Eq).o(I::If(BlockType::Empty));
                g.c(*akiraos).o(I::LocalSet(index)).o(I::End);
            }
            g.o(I::LocalGet(index));
        }),
        // `app_switch` starts the target; the caller then returns from
        // `main`, as AkiraOS asks.
        "app_start" | "app_switch" => app(&[("akira:app", "start")], |g| {
            let index = g.app(0);
            g.o(I::LocalGet(index)).call("akira:app", "start").errno();
        }),
        "app_list" => spec(&[("akira:app", "status")], &[Fits, Errno], &[Need::App], list),
        "app_stop" => app(&[("akira:app", "stop")], |g| {
            let index = g.app(0);
            g.o(I::LocalGet(index)).call("akira:app", "stop").errno();
        }),
        _ => return None,
    })
}
