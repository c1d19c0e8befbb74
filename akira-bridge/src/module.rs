//! The extension point: bridge modules and the registry that links them.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;

use crate::host::Linker;
use akira_caps::{CapabilitySet, Grants, ModuleCapability, ModuleSpec, VendorSlot};

use crate::board::{AppInfo, Board};
use crate::memory::GuestMemory;
use crate::state::{AppState, ModuleIndex, Wait, WaitKind};

/// What a module gets when it is linked for one app.
pub struct LinkContext<'a> {
    /// The module's index in the bridge, for [`WaitKind::Module`] waits.
    pub module: ModuleIndex,
    /// The app being linked (its id is the scheduler's number for it,
    /// the same across restarts), for modules that keep per-app state in
    /// a firmware object (the IPC broker's mailboxes).
    pub app: &'a AppInfo,
    /// The app's granted capabilities, with names (network endpoints, IPC
    /// topics) for modules that resolve them to indices once, here.
    pub granted: &'a CapabilitySet,
    /// The app's compiled grants.
    pub grants: &'a Grants,
}

impl LinkContext<'_> {
    /// The app's slot for vendor capability `name`; a vendor module calls
    /// this once and captures the slot in its host functions.
    pub fn vendor_slot(&self, name: &str) -> Result<VendorSlot, LinkError> {
        self.grants.vendor_slot(name).ok_or(LinkError::NotGranted)
    }
}

/// A module of host functions apps can import: the built-in ones and any a
/// product team adds are written the same way.
///
/// A module declares its [`ModuleSpec`] (import name, capability, every
/// function with its signature) and defines those functions in a wasmi
/// [`Linker`]. Host functions reach the app's guard and the board through
/// the store data, [`AppState`]. The sandbox links a module only for apps
/// granted its capability, after checking each import against the spec.
///
/// See `examples/custom-module` for a complete vendor module.
pub trait HostModule<B: Board> {
    /// What the module offers.
    fn spec(&self) -> &'static ModuleSpec;

    /// Defines the module's functions (all of `spec().functions`) for one
    /// app.
    fn link(&self, linker: &mut Linker<AppState<B>>, cx: &LinkContext<'_>) -> Result<(), LinkError>;

    /// Polls a wait this module suspended an app on: `Some(result)` when it
    /// is over (the app's host call returns `result`), `None` to keep
    /// waiting. Called by the scheduler; never blocks.
    fn poll_wait(&self, state: &mut AppState<B>, op: u32, arg: u64) -> Option<i32> {
        let _ = (state, op, arg);
        None
    }

    /// Like [`HostModule::poll_wait`], with the app's memory: for waits
    /// that end by writing into it (a UART read copies the received bytes
    /// into the app's buffer when they arrive). The app is suspended, so
    /// its memory holds still; the module re-borrows its buffer through
    /// `memory`, bounds-checked as at call time. The default ignores the
    /// memory and calls `poll_wait`.
    fn poll_wait_with_memory(
        &self,
        memory: &mut GuestMemory<'_>,
        state: &mut AppState<B>,
        op: u32,
        arg: u64,
    ) -> Option<i32> {
        let _ = memory;
        self.poll_wait(state, op, arg)
    }

    /// A counter that moves whenever something happened inside the
    /// module that may end another app's wait (a message published): a
    /// scheduler loop that sees it move runs another round before it
    /// sleeps. The default never moves (modules whose waits end by
    /// hardware events latched by the board).
    fn activity(&self) -> u32 {
        0
    }

    /// App `app` stopped running (exited, faulted, was stopped or
    /// removed; a restart comes back as a new instance): the module
    /// releases what it holds for the app in firmware objects that outlive
    /// its instance (a radio it keeps advertising or scanning). Called by
    /// the scheduler with the app's board; the default does nothing.
    fn app_stopped(&self, board: &mut B, app: u16) {
        let _ = (board, app);
    }
}

/// Why a module could not be registered or linked.
#[derive(Debug)]
#[non_exhaustive]
pub enum LinkError {
    /// Two modules use the same import name.
    DuplicateModule(&'static str),
    /// More modules than a [`ModuleIndex`] can number (255).
    TooManyModules,
    /// A module was linked for an app not granted its capability.
    NotGranted,
    /// wasmi refused a definition (a module defined a function twice).
    Linker(crate::host::LinkerError),
    /// A firmware object the module keeps per-app state in is full (the
    /// IPC broker's app slots or topic table); names the object.
    Exhausted(&'static str),
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::DuplicateModule(m) => write!(f, "two bridge modules are called `{m}`"),
            LinkError::TooManyModules => f.write_str("more than 255 bridge modules"),
            LinkError::NotGranted => f.write_str("module linked without its capability"),
            LinkError::Linker(e) => write!(f, "linker: {e}"),
            LinkError::Exhausted(what) => write!(f, "{what} is full"),
        }
    }
}

impl core::error::Error for LinkError {}

impl From<crate::host::LinkerError> for LinkError {
    fn from(e: crate::host::LinkerError) -> Self {
        LinkError::Linker(e)
    }
}

/// The firmware's set of bridge modules.
pub struct Bridge<B: Board> {
    modules: Vec<Box<dyn HostModule<B>>>,
    specs: Vec<&'static ModuleSpec>,
}

impl<B: Board> Default for Bridge<B> {
    fn default() -> Self {
        Self::new()
    }
}

impl<B: Board> Bridge<B> {
    /// A bridge with no modules.
    pub fn new() -> Self {
        Bridge { modules: Vec::new(), specs: Vec::new() }
    }

    /// Adds a module; its import name must be unused.
    pub fn register(&mut self, module: impl HostModule<B> + 'static) -> Result<(), LinkError> {
        let spec = module.spec();
        if self.specs.iter().any(|s| s.import == spec.import) {
            return Err(LinkError::DuplicateModule(spec.import));
        }
        if self.modules.len() >= usize::from(u8::MAX) {
            return Err(LinkError::TooManyModules);
        }
        self.modules.push(Box::new(module));
        self.specs.push(spec);
        Ok(())
    }

    /// Builder form of [`Bridge::register`].
    pub fn with(mut self, module: impl HostModule<B> + 'static) -> Result<Self, LinkError> {
        self.register(module)?;
        Ok(self)
    }

    /// The specs of every registered module, for the install-time check.
    pub fn specs(&self) -> &[&'static ModuleSpec] {
        &self.specs
    }

    /// Links, for one app, exactly the modules whose capability it was
    /// granted. Modules it was not granted are never defined, so the app
    /// cannot reach them even through a linker bug.
    pub fn link(
        &self,
        linker: &mut Linker<AppState<B>>,
        app: &AppInfo,
        granted: &CapabilitySet,
        grants: &Grants,
    ) -> Result<(), LinkError> {
        for (i, (module, spec)) in self.modules.iter().zip(&self.specs).enumerate() {
            let allowed = match spec.capability {
                ModuleCapability::Builtin(c) => grants.modules().contains(c),
                ModuleCapability::Vendor(name) => grants.vendor_slot(name).is_some(),
            };
            if allowed {
                let cx = LinkContext { module: ModuleIndex(i as u8), app, granted, grants };
                module.link(linker, &cx)?;
            }
        }
        Ok(())
    }

    /// The sum of every module's [`HostModule::activity`] counter: when it
    /// moved during a scheduler round, a wait may have ended, so run
    /// another round before sleeping.
    pub fn activity(&self) -> u32 {
        self.modules.iter().fold(0u32, |sum, m| sum.wrapping_add(m.activity()))
    }

    /// Tells every module that app `app` stopped running
    /// ([`HostModule::app_stopped`]): the scheduler calls it when an app
    /// exits, faults, is stopped or is removed.
    pub fn app_stopped(&self, board: &mut B, app: u16) {
        for module in &self.modules {
            module.app_stopped(board, app);
        }
    }

    /// Polls a suspended app's wait at time `now`: `Some(result)` when it is
    /// over. Sleeps end at their deadline; yields at once; module waits when
    /// the module says so ([`HostModule::poll_wait_with_memory`], which may
    /// write the app's `memory`), or with `TimedOut` at their deadline.
    pub fn poll_wait(
        &self,
        memory: &mut GuestMemory<'_>,
        state: &mut AppState<B>,
        wait: &Wait,
        now: crate::time::Instant,
    ) -> Option<i32> {
        match wait.kind {
            WaitKind::Yield => Some(0),
            WaitKind::Sleep => (now >= wait.until).then_some(0),
            WaitKind::Module { module, op, arg } => {
                let done = self
                    .modules
                    .get(usize::from(module.0))
                    .and_then(|m| m.poll_wait_with_memory(memory, state, op, arg));
                done.or_else(|| (now >= wait.until).then_some(crate::errno::Errno::TimedOut.code()))
            }
        }
    }
}
