//! The GATT side of a [`crate::BleMailbox`]: the server's owner, table
//! and event queue, and the jobs a firmware task runs on a [`GattServer`].

use core::cell::RefCell;
use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::Poll;

use critical_section::Mutex;

use super::event::{GattEvent, GattServer};
use super::table::{GattDeclaration, GattJob, GattTable, MAX_VALUE};
use crate::errno::Errno;
use crate::mailbox::Mailbox;
use crate::wake::Changes;

/// The GATT server's owner, table and event queue.
struct Server<const QUEUE: usize> {
    owner: Option<u16>,
    table: GattTable,
    serving: bool,
    /// A task serves the GATT side ([`crate::BleMailbox::serve_gatt`]).
    served: bool,
    events: [GattEvent; QUEUE],
    head: usize,
    len: usize,
    dropped: u32,
}

/// The GATT side of a [`crate::BleMailbox`]: one table and one event
/// queue of `QUEUE`, and a job queue: the owner's job, one its previous
/// owner stopped waiting for, and the stop after an owner that went away.
pub(crate) struct GattMailbox<const QUEUE: usize> {
    server: Mutex<RefCell<Server<QUEUE>>>,
    jobs: Mailbox<GattJob, 3, MAX_VALUE>,
}

/// Lets other tasks run once.
pub(crate) async fn yield_now() {
    let mut yielded = false;
    poll_fn(|cx| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await
}

impl<const QUEUE: usize> GattMailbox<QUEUE> {
    /// Nothing declared, nobody serving.
    pub(crate) const fn new() -> Self {
        GattMailbox {
            server: Mutex::new(RefCell::new(Server {
                owner: None,
                table: GattTable::EMPTY,
                serving: false,
                served: false,
                events: [GattEvent::Disconnected { reason: 0 }; QUEUE],
                head: 0,
                len: 0,
                dropped: 0,
            })),
            jobs: Mailbox::new(GattJob::Stop),
        }
    }

    /// Bumped when a job finishes or an event arrives.
    pub(crate) fn changes(&self) -> &Changes {
        self.jobs.finished()
    }

    /// Events the owner lost because its queue was full.
    pub(crate) fn dropped(&self) -> u32 {
        critical_section::with(|cs| self.server.borrow_ref(cs).dropped)
    }

    /// Adds to app `app`'s table, making it the owner.
    pub(crate) fn declare(&self, app: u16, declaration: GattDeclaration) -> Result<u8, Errno> {
        critical_section::with(|cs| {
            let mut s = self.server.borrow_ref_mut(cs);
            if !s.served {
                return Err(Errno::Unsupported);
            }
            match s.owner {
                Some(owner) if owner != app => return Err(Errno::Busy),
                _ if s.serving => return Err(Errno::Busy),
                _ => {}
            }
            let handle = s.table.declare(declaration)?;
            s.owner = Some(app);
            Ok(handle)
        })
    }

    /// Queues app `app`'s job with `value`; `Ok(false)` when there is
    /// nothing to do (stopping a server the app does not own).
    pub(crate) fn start(&self, app: u16, job: GattJob, value: &[u8]) -> Result<bool, Errno> {
        let check = critical_section::with(|cs| {
            let s = self.server.borrow_ref(cs);
            if !s.served {
                return Err(Errno::Unsupported);
            }
            match (s.owner, job) {
                (Some(owner), _) if owner == app => {}
                (_, GattJob::Stop) => return Ok(false),
                (Some(_), GattJob::Start(_)) => return Err(Errno::Busy),
                _ => return Err(Errno::Invalid),
            }
            s.table.check(&job, value.len())?;
            match job {
                GattJob::Start(_) if s.serving => Err(Errno::Busy),
                GattJob::SetValue(_) | GattJob::Notify(_) if !s.serving => Err(Errno::Invalid),
                _ => Ok(true),
            }
        })?;
        if !check {
            return Ok(false);
        }
        // Only the owner queues jobs, and only from its own host calls: the
        // state checked above cannot change before this.
        self.jobs.start(app, job, [value, &[]], 0)?;
        critical_section::with(|cs| {
            let mut s = self.server.borrow_ref_mut(cs);
            match job {
                GattJob::Start(_) => s.serving = true,
                GattJob::Stop => {
                    s.owner = None;
                    s.serving = false;
                    s.table = GattTable::EMPTY;
                    s.len = 0;
                }
                _ => {}
            }
        });
        Ok(true)
    }

    /// App `app` stopped running: if it owned the server, the server is
    /// stopped (after its pending job) and freed for other apps.
    pub(crate) fn release(&self, app: u16) {
        self.jobs.forget(app);
        let was_serving = critical_section::with(|cs| {
            let mut s = self.server.borrow_ref_mut(cs);
            if s.owner != Some(app) {
                return false;
            }
            let serving = s.serving;
            s.owner = None;
            s.serving = false;
            s.table = GattTable::EMPTY;
            s.len = 0;
            serving
        });
        if was_serving {
            // Every slot taken by jobs of apps that went away: the stop is
            // dropped and the server runs until the next owner's `gatt_stop`.
            let _ = self.jobs.start_detached(app, GattJob::Stop, &[]);
        }
    }

    /// App `app`'s job outcome: `None` while it runs.
    pub(crate) fn poll(&self, app: u16) -> Option<Result<(), Errno>> {
        self.jobs.poll(app, &mut [])
    }

    /// The oldest event for app `app`: [`Errno::Invalid`] unless it serves.
    pub(crate) fn next_event(&self, app: u16) -> Result<Option<GattEvent>, Errno> {
        critical_section::with(|cs| {
            let mut s = self.server.borrow_ref_mut(cs);
            if s.owner != Some(app) || !s.serving {
                return Err(Errno::Invalid);
            }
            if s.len == 0 {
                return Ok(None);
            }
            let e = s.events[s.head];
            s.head = (s.head + 1) % QUEUE;
            s.len -= 1;
            Ok(Some(e))
        })
    }

    /// Queues an event for the serving app, dropping the oldest when full.
    fn deliver(&self, event: GattEvent) {
        critical_section::with(|cs| {
            let mut s = self.server.borrow_ref_mut(cs);
            if !s.serving {
                return;
            }
            if s.len == QUEUE {
                s.head = (s.head + 1) % QUEUE;
                s.len -= 1;
                s.dropped = s.dropped.saturating_add(1);
            }
            let at = (s.head + s.len) % QUEUE;
            s.events[at] = event;
            s.len += 1;
        });
        self.changes().bump();
    }

    /// Runs the queued jobs on `server` and reads its events, forever.
    pub(crate) async fn serve<S: GattServer>(&self, server: S) -> ! {
        critical_section::with(|cs| self.server.borrow_ref_mut(cs).served = true);
        let server = &server;
        let jobs = self.jobs.serve(async |job, value: &[u8], _read: &mut [u8]| match job {
            GattJob::Start(adv) => {
                let table = critical_section::with(|cs| self.server.borrow_ref(cs).table);
                if table.services().is_empty() {
                    // Its app went away before the server got to it.
                    return Err(Errno::Invalid);
                }
                let result = server.start(&table, &adv).await;
                if result.is_err() {
                    critical_section::with(|cs| self.server.borrow_ref_mut(cs).serving = false);
                }
                result
            }
            GattJob::Stop => server.stop().await,
            GattJob::SetValue(h) => server.set_value(h, value).await,
            GattJob::Notify(h) => server.notify(h, value).await,
        });
        let events = async {
            loop {
                match server.next_event().await {
                    Ok(event) => self.deliver(event),
                    // A host error: let the rest of the firmware run first.
                    Err(_) => yield_now().await,
                }
            }
        };
        let mut jobs = pin!(jobs);
        let mut events = pin!(events);
        poll_fn(|cx| {
            let _ = jobs.as_mut().poll(cx);
            let _ = events.as_mut().poll(cx);
            Poll::Pending
        })
        .await
    }
}
