//! `akira:app`: a privileged app (a supervisor, a launcher) queries, starts
//! and stops other apps.
//!
//! The manifest names the apps it may control (`app = ["weather"]`); the
//! app names one by its **index** in that list, checked with one bit test
//! ([`akira_caps::Guard::id`]). The names were copied from the grant when
//! the app was linked; the firmware's table looks the target up by name
//! when a request is made (a handful of compares on a rare control call,
//! never on a data path).
//!
//! The host call cannot stop or start an app itself: it runs inside the
//! scheduler's round. It posts a request to the firmware's
//! [`Lifecycle`] table ([`AppTable`] in a `static`) and suspends the
//! calling app; the scheduler applies requests at the start of its next
//! round (`akira_sandbox::Scheduler::set_lifecycle`), publishes every app's
//! status there, and the call returns 0 once its request was applied
//! (`AKIRA_ETIMEDOUT` after [`CONTROL_TIMEOUT`] if no scheduler serves the
//! table).

use core::cell::RefCell;
use core::fmt;
use core::sync::atomic::{AtomicU32, Ordering};
use core::time::Duration;

use crate::host::{Caller, Linker};
use akira_caps::manifest::AppName;
use akira_caps::scope::MAX_CONTROLLED_APPS;
use akira_caps::{Capability, ModuleCapability, ModuleSpec};
use alloc::sync::Arc;
use critical_section::Mutex;

use crate::board::Board;
use crate::errno::Errno;
use crate::host_fn;
use crate::module::{HostModule, LinkContext, LinkError};
use crate::state::{AppState, ModuleIndex, Refusal, Wait, WaitKind, reply};

/// How long `start` and `stop` wait for the scheduler to apply them.
pub const CONTROL_TIMEOUT: Duration = Duration::from_secs(1);

/// An app's state as `akira:app.status` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
#[non_exhaustive]
pub enum AppStatus {
    /// Running or ready to run.
    Running = 0,
    /// Suspended in a wait.
    Waiting = 1,
    /// Stopped by a controlling app.
    Stopped = 2,
    /// Returned or called `sys.exit`.
    Exited = 3,
    /// Stopped by a fault (not restarted, crash loop, restart failed).
    Failed = 4,
    /// Faulted; restarts after its backoff.
    Restarting = 5,
}

/// What a controlling app asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Control {
    /// Start the app afresh if it is not running (stopped, exited, failed).
    Start,
    /// Stop the app: its instance is dropped; it stays stopped until
    /// started.
    Stop,
}

/// The firmware's table of installed apps, shared by `akira:app` (which
/// reads statuses and posts requests) and the scheduler (which publishes
/// statuses and applies requests).
pub trait Lifecycle: Sync {
    /// The status of app `name`; `None` when no such app is installed.
    fn status(&self, name: &str) -> Option<AppStatus>;
    /// Posts a request for app `name`; returns its entry (for
    /// [`Lifecycle::pending`]). [`Errno::NoSuchResource`] when no such app
    /// is installed, [`Errno::Busy`] when a request for it is pending.
    fn request(&self, name: &str, control: Control) -> Result<u32, Errno>;
    /// Whether the request posted for entry `entry` is still pending.
    fn pending(&self, entry: u32) -> bool;
    /// Publishes app `name`'s status, adding it to the table if needed
    /// (the scheduler calls this). `false` when the table is full.
    fn set_status(&self, name: &str, status: AppStatus) -> bool;
    /// Takes a pending request: the app's name and what to do (the
    /// scheduler applies it, then publishes the app's new status).
    fn take_request(&self) -> Option<(AppName, Control)>;
    /// Forgets app `name` (uninstalled).
    fn remove(&self, name: &str);
    /// A counter that moves whenever a request is posted, so the
    /// scheduler's loop runs another round (to apply it) before it sleeps.
    fn changes(&self) -> u32;
}

struct Entry {
    name: AppName,
    status: AppStatus,
    request: Option<Control>,
    /// Taken by the scheduler, not yet applied.
    taken: bool,
}

/// A firmware's app table of up to `N` apps, for a `static`:
/// `static APPS: AppTable<8> = AppTable::new();`.
pub struct AppTable<const N: usize> {
    entries: Mutex<RefCell<heapless::Vec<Entry, N>>>,
    requests: AtomicU32,
}

impl<const N: usize> Default for AppTable<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> AppTable<N> {
    /// An empty table.
    pub const fn new() -> Self {
        AppTable { entries: Mutex::new(RefCell::new(heapless::Vec::new())), requests: AtomicU32::new(0) }
    }

    fn with<R>(&self, f: impl FnOnce(&mut heapless::Vec<Entry, N>) -> R) -> R {
        critical_section::with(|cs| f(&mut self.entries.borrow_ref_mut(cs)))
    }
}

impl<const N: usize> Lifecycle for AppTable<N> {
    fn status(&self, name: &str) -> Option<AppStatus> {
        self.with(|e| e.iter().find(|e| e.name == name).map(|e| e.status))
    }

    fn request(&self, name: &str, control: Control) -> Result<u32, Errno> {
        self.with(|e| {
            let i = e.iter().position(|e| e.name == name).ok_or(Errno::NoSuchResource)?;
            if e[i].request.is_some() {
                return Err(Errno::Busy);
            }
            e[i].request = Some(control);
            e[i].taken = false;
            self.requests.fetch_add(1, Ordering::Release);
            Ok(i as u32)
        })
    }

    fn pending(&self, entry: u32) -> bool {
        self.with(|e| e.get(entry as usize).is_some_and(|e| e.request.is_some()))
    }

    fn set_status(&self, name: &str, status: AppStatus) -> bool {
        self.with(|e| {
            if let Some(entry) = e.iter_mut().find(|e| e.name == name) {
                entry.status = status;
                if entry.taken {
                    // The scheduler applied the request it took.
                    entry.request = None;
                    entry.taken = false;
                }
                return true;
            }
            let Ok(name) = AppName::try_from(name) else { return false };
            e.push(Entry { name, status, request: None, taken: false }).is_ok()
        })
    }

    fn take_request(&self) -> Option<(AppName, Control)> {
        self.with(|e| {
            let entry = e.iter_mut().find(|e| e.request.is_some() && !e.taken)?;
            entry.taken = true;
            Some((entry.name.clone(), entry.request?))
        })
    }

    fn remove(&self, name: &str) {
        self.with(|e| e.retain(|e| e.name != name))
    }

    fn changes(&self) -> u32 {
        self.requests.load(Ordering::Acquire)
    }
}

/// The module's spec.
pub static SPEC: ModuleSpec = ModuleSpec {
    import: akira_abi::APP.import,
    capability: ModuleCapability::Builtin(Capability::App),
    functions: akira_abi::APP.functions,
};

/// The `akira:app` module over the firmware's [`Lifecycle`] table.
#[derive(Clone, Copy)]
pub struct AppModule {
    table: &'static dyn Lifecycle,
}

impl fmt::Debug for AppModule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppModule").finish_non_exhaustive()
    }
}

impl AppModule {
    /// The module over `table`, which the scheduler serves.
    pub const fn new(table: &'static dyn Lifecycle) -> Self {
        AppModule { table }
    }
}

/// The wait operation of `start` and `stop`.
const OP_CONTROL: u32 = 1;

/// The app's controlled apps, copied from its grant when it was linked.
type Names = heapless::Vec<AppName, MAX_CONTROLLED_APPS>;

/// The name at index `app` of the list, after the guard admitted it.
fn target<'a, B: Board>(names: &'a Names, state: &mut AppState<B>, app: u32) -> Result<&'a str, Refusal> {
    state.guarded(|g| g.id(Capability::App, app))?;
    match names.get(app as usize) {
        // A wildcard grant names no app.
        Some(name) if name != "*" => Ok(name),
        _ => Err(Errno::Invalid.into()),
    }
}

fn status<B: Board>(table: &dyn Lifecycle, names: &Names, state: &mut AppState<B>, app: u32) -> Result<i32, Refusal> {
    let name = target(names, state, app)?;
    Ok(table.status(name).ok_or(Errno::NoSuchResource)? as i32)
}

fn control<B: Board>(
    table: &dyn Lifecycle,
    names: &Names,
    module: ModuleIndex,
    state: &mut AppState<B>,
    app: u32,
    what: Control,
) -> Result<i32, Refusal> {
    let name = target(names, state, app)?;
    let entry = table.request(name, what)?;
    let until = state.board().now().saturating_add(CONTROL_TIMEOUT);
    Err(state.suspend(Wait { until, kind: WaitKind::Module { module, op: OP_CONTROL, arg: entry.into() } }))
}

impl<B: Board> HostModule<B> for AppModule {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn link(&self, linker: &mut Linker<AppState<B>>, cx: &LinkContext<'_>) -> Result<(), LinkError> {
        type C<'a, B> = Caller<'a, AppState<B>>;
        let names = Arc::new(cx.granted.app.as_ref().ok_or(LinkError::NotGranted)?.apps.clone());
        let (table, module) = (self.table, cx.module);
        let n = names.clone();
        host_fn!(linker, SPEC, "status", move |c: C<'_, B>, app: u32| reply(status(table, &n, c.data_mut(), app)))?;
        let n = names.clone();
        host_fn!(linker, SPEC, "start", move |c: C<'_, B>, app: u32| {
            reply(control(table, &n, module, c.data_mut(), app, Control::Start))
        })?;
        let n = names.clone();
        host_fn!(linker, SPEC, "stop", move |c: C<'_, B>, app: u32| {
            reply(control(table, &n, module, c.data_mut(), app, Control::Stop))
        })?;
        Ok(())
    }

    fn poll_wait(&self, _: &mut AppState<B>, op: u32, arg: u64) -> Option<i32> {
        if op != OP_CONTROL {
            return Some(Errno::Invalid.code());
        }
        (!self.table.pending(arg as u32)).then_some(0)
    }

    fn activity(&self) -> u32 {
        self.table.changes()
    }
}
