//! `akira:ota`: an app's view of its own over-the-air update.
//!
//! A version freshly installed over the air runs *on trial*: the firmware
//! (akira-device) confirms it after a healthy run, or rolls it back to the
//! previous version when it crash-loops or when the device boots again
//! before it was confirmed (after its configured trial boots, by default
//! the next boot). With this module an app takes
//! part: it asks whether it is on trial and which version a rollback
//! would return to, confirms itself once its own self-test passed (no
//! need to wait for the healthy-run timer), or asks to be rolled back
//! when it finds itself broken. An app can only ever act on its own
//! update: the module passes the running app's name.
//!
//! `ota` is a capability without a scope. Boards implement [`OtaControl`],
//! usually by forwarding to an [`OtaMailbox`] shared with the firmware's
//! device loop: the loop publishes each app's status into it
//! ([`OtaRequests::publish`]) and takes the apps' requests out of it
//! ([`OtaRequests::take_request`]) at its next round, where it writes
//! them to the OTA store. So `confirm` and `request_rollback` return at
//! once and take effect at that round.

use core::cell::RefCell;

use crate::host::{Caller, Linker};
use akira_caps::manifest::{AppName, Version};
use akira_caps::{Capability, ModuleCapability, ModuleSpec};
use critical_section::Mutex;

use crate::board::Board;
use crate::errno::Errno;
use crate::host_fn;
use crate::module::{HostModule, LinkContext, LinkError};
use crate::state::AppState;

/// An app's update state, as the firmware's OTA store has it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OtaStatus {
    /// The running version is on trial (not yet confirmed).
    pub trial: bool,
    /// The version a rollback returns to, if any.
    pub previous: Option<Version>,
}

/// What an app asks of the firmware about its own update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum OtaRequest {
    /// Confirm the version on trial.
    Confirm,
    /// Return to the previous version (the app is stopped and the
    /// previous version started).
    Rollback,
}

/// The board's side of `akira:ota`: the status of app `app` and its
/// requests. An app the firmware does not manage (built into the
/// firmware, or run without an OTA store) has the default status: not on
/// trial, no previous version.
pub trait OtaControl {
    /// App `app`'s status.
    fn status(&mut self, app: &str) -> OtaStatus;
    /// Records app `app`'s request. A confirmation of an app not on trial
    /// succeeds and does nothing; a rollback of an app without a previous
    /// version is [`Errno::NoSuchResource`].
    fn request(&mut self, app: &str, request: OtaRequest) -> Result<(), Errno>;
}

/// The firmware's side of an [`OtaMailbox`], object-safe so a device loop
/// can hold any mailbox.
pub trait OtaRequests {
    /// Publishes app `name`'s status (`None`: the app is gone).
    fn publish(&self, name: &AppName, status: Option<OtaStatus>);
    /// Takes the oldest pending request.
    fn take_request(&self) -> Option<(AppName, OtaRequest)>;
}

struct Entry {
    name: AppName,
    status: OtaStatus,
    request: Option<OtaRequest>,
    seq: u32,
}

struct Entries<const N: usize> {
    apps: heapless::Vec<Entry, N>,
    next_seq: u32,
}

/// The apps' update status and requests, shared between the board (for
/// the apps) and the device loop: a `static` on a microcontroller, for up
/// to `N` store-managed apps (more are treated as unmanaged).
pub struct OtaMailbox<const N: usize> {
    entries: Mutex<RefCell<Entries<N>>>,
}

impl<const N: usize> Default for OtaMailbox<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> OtaMailbox<N> {
    /// An empty mailbox.
    pub const fn new() -> Self {
        OtaMailbox { entries: Mutex::new(RefCell::new(Entries { apps: heapless::Vec::new(), next_seq: 0 })) }
    }

    /// App `app`'s status (see [`OtaControl::status`]).
    pub fn status(&self, app: &str) -> OtaStatus {
        critical_section::with(|cs| {
            let e = self.entries.borrow_ref(cs);
            e.apps.iter().find(|a| a.name.as_str() == app).map(|a| a.status).unwrap_or_default()
        })
    }

    /// Records app `app`'s request (see [`OtaControl::request`]); a newer
    /// request replaces an older one not yet taken.
    pub fn request(&self, app: &str, request: OtaRequest) -> Result<(), Errno> {
        critical_section::with(|cs| {
            let mut e = self.entries.borrow_ref_mut(cs);
            let seq = e.next_seq;
            let Some(entry) = e.apps.iter_mut().find(|a| a.name.as_str() == app) else {
                return match request {
                    OtaRequest::Rollback => Err(Errno::NoSuchResource),
                    _ => Ok(()),
                };
            };
            match request {
                OtaRequest::Confirm if !entry.status.trial => return Ok(()),
                OtaRequest::Rollback if entry.status.previous.is_none() => return Err(Errno::NoSuchResource),
                _ => {}
            }
            entry.request = Some(request);
            entry.seq = seq;
            e.next_seq = seq.wrapping_add(1);
            Ok(())
        })
    }
}

impl<const N: usize> OtaRequests for OtaMailbox<N> {
    fn publish(&self, name: &AppName, status: Option<OtaStatus>) {
        critical_section::with(|cs| {
            let mut e = self.entries.borrow_ref_mut(cs);
            let at = e.apps.iter().position(|a| &a.name == name);
            match (at, status) {
                (Some(i), Some(status)) => {
                    // A new status answers any request made under the old
                    // one.
                    e.apps[i].status = status;
                    e.apps[i].request = None;
                }
                (Some(i), None) => {
                    e.apps.swap_remove(i);
                }
                (None, Some(status)) => {
                    // Full: the app is treated as unmanaged.
                    let _ = e.apps.push(Entry { name: name.clone(), status, request: None, seq: 0 });
                }
                (None, None) => {}
            }
        })
    }

    fn take_request(&self) -> Option<(AppName, OtaRequest)> {
        critical_section::with(|cs| {
            let mut e = self.entries.borrow_ref_mut(cs);
            let entry = e.apps.iter_mut().filter(|a| a.request.is_some()).min_by_key(|a| a.seq)?;
            let request = entry.request.take()?;
            Some((entry.name.clone(), request))
        })
    }
}

impl<const N: usize> OtaControl for &'static OtaMailbox<N> {
    fn status(&mut self, app: &str) -> OtaStatus {
        OtaMailbox::status(self, app)
    }
    fn request(&mut self, app: &str, request: OtaRequest) -> Result<(), Errno> {
        OtaMailbox::request(self, app, request)
    }
}

/// The module's spec.
pub static SPEC: ModuleSpec = ModuleSpec {
    import: akira_abi::OTA.import,
    capability: ModuleCapability::Builtin(Capability::Ota),
    functions: akira_abi::OTA.functions,
};

/// The `akira:ota` module; the board must implement [`OtaControl`].
#[derive(Clone, Copy, Debug, Default)]
pub struct OtaModule;

/// `major << 32 | minor << 16 | patch`, as `akira:sys.app_version`.
fn packed(v: Version) -> i64 {
    (i64::from(v.major) << 32) | (i64::from(v.minor) << 16) | i64::from(v.patch)
}

fn status<B: Board + OtaControl>(state: &mut AppState<B>) -> OtaStatus {
    let app = state.info().name.clone();
    state.board_mut().status(&app)
}

fn request<B: Board + OtaControl>(state: &mut AppState<B>, request: OtaRequest) -> i32 {
    let app = state.info().name.clone();
    state.board_mut().request(&app, request).map_or_else(Errno::code, |()| 0)
}

fn previous_version<B: Board + OtaControl>(state: &mut AppState<B>) -> i64 {
    status(state).previous.map_or(i64::from(Errno::NoSuchResource.code()), packed)
}

impl<B: Board + OtaControl> HostModule<B> for OtaModule {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn link(&self, linker: &mut Linker<AppState<B>>, _: &LinkContext<'_>) -> Result<(), LinkError> {
        host_fn!(linker, SPEC, "version", |c: Caller<'_, AppState<B>>| packed(c.data().info().version))?;
        host_fn!(linker, SPEC, "previous_version", |c: Caller<'_, AppState<B>>| previous_version(c.data_mut()))?;
        host_fn!(linker, SPEC, "is_trial", |c: Caller<'_, AppState<B>>| i32::from(status(c.data_mut()).trial))?;
        host_fn!(linker, SPEC, "confirm", |c: Caller<'_, AppState<B>>| request(c.data_mut(), OtaRequest::Confirm))?;
        host_fn!(linker, SPEC, "request_rollback", |c: Caller<'_, AppState<B>>| {
            request(c.data_mut(), OtaRequest::Rollback)
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Recorder, recorder_board, state};
    use akira_caps::CapabilitySet;

    struct Dev {
        rec: Recorder,
        ota: &'static OtaMailbox<2>,
    }
    recorder_board!(Dev);

    impl OtaControl for Dev {
        fn status(&mut self, app: &str) -> OtaStatus {
            self.ota.status(app)
        }
        fn request(&mut self, app: &str, request: OtaRequest) -> Result<(), Errno> {
            self.ota.request(app, request)
        }
    }

    fn name(n: &str) -> AppName {
        AppName::try_from(n).unwrap()
    }

    #[test]
    fn an_app_sees_and_requests_only_its_own_update() {
        static MAILBOX: OtaMailbox<2> = OtaMailbox::new();
        let caps = CapabilitySet { ota: true, ..Default::default() };
        // The test app is called `test`, version 1.0.0.
        let mut s = state(Dev { rec: Recorder::default(), ota: &MAILBOX }, &caps);
        assert_eq!(status(&mut s), OtaStatus::default(), "unmanaged until published");
        assert_eq!(request(&mut s, OtaRequest::Confirm), 0, "nothing to confirm");
        assert_eq!(request(&mut s, OtaRequest::Rollback), Errno::NoSuchResource.code());
        assert_eq!(previous_version(&mut s), i64::from(Errno::NoSuchResource.code()));
        assert_eq!(MAILBOX.take_request(), None);

        let v0_9 = Version::new(0, 9, 1);
        MAILBOX.publish(&name("test"), Some(OtaStatus { trial: true, previous: Some(v0_9) }));
        MAILBOX.publish(&name("other"), Some(OtaStatus { trial: true, previous: None }));
        assert!(status(&mut s).trial);
        assert_eq!(previous_version(&mut s), 9 << 16 | 1);
        assert_eq!(packed(s.info().version), 1 << 32);
        assert_eq!(request(&mut s, OtaRequest::Confirm), 0);
        assert_eq!(MAILBOX.take_request(), Some((name("test"), OtaRequest::Confirm)), "for itself only");
        assert_eq!(MAILBOX.take_request(), None, "taken once");

        assert_eq!(request(&mut s, OtaRequest::Confirm), 0);
        assert_eq!(request(&mut s, OtaRequest::Rollback), 0);
        assert_eq!(MAILBOX.take_request(), Some((name("test"), OtaRequest::Rollback)), "the newer request wins");

        // Confirmed, the previous version dropped: nothing left to do.
        MAILBOX.publish(&name("test"), Some(OtaStatus { trial: false, previous: None }));
        assert_eq!(request(&mut s, OtaRequest::Confirm), 0);
        assert_eq!(request(&mut s, OtaRequest::Rollback), Errno::NoSuchResource.code());
        assert_eq!(MAILBOX.take_request(), None);

        // A full mailbox leaves a third app unmanaged; removal frees room.
        MAILBOX.publish(&name("third"), Some(OtaStatus { trial: true, previous: None }));
        assert_eq!(MAILBOX.status("third"), OtaStatus::default());
        MAILBOX.publish(&name("other"), None);
        MAILBOX.publish(&name("third"), Some(OtaStatus { trial: true, previous: None }));
        assert!(MAILBOX.status("third").trial);
    }

    #[test]
    fn a_new_status_drops_a_request_made_under_the_old_one() {
        static MAILBOX: OtaMailbox<1> = OtaMailbox::new();
        MAILBOX.publish(&name("a"), Some(OtaStatus { trial: true, previous: Some(Version::new(1, 0, 0)) }));
        MAILBOX.request("a", OtaRequest::Rollback).unwrap();
        MAILBOX.publish(&name("a"), Some(OtaStatus { trial: true, previous: Some(Version::new(1, 1, 0)) }));
        assert_eq!(MAILBOX.take_request(), None);
    }
}
