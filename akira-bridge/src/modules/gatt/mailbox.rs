//! The GATT side of a [`crate::BleMailbox`]: the apps' tables, merged into
//! the one table the host stack serves, their event queues, and the jobs
//! a firmware task runs on a [`GattServer`].
//!
//! Each serving app keeps its own handles (0, 1, ... in the order it
//! declared); the merged table puts the serving apps' services and
//! characteristics one app after the other (in the order of their
//! entries), so an app's handle `h` is `h` plus the characteristics of
//! the apps before it. Jobs are mapped when the task runs them and
//! events when they arrive, so the offsets are always those of the table
//! being served. When an app starts or stops serving, the server is
//! restarted with the new merged table: a connected central is
//! disconnected (every serving app gets `Disconnected`, reason 0x16) and
//! finds the new table when it connects again (no bonding: centrals
//! discover the table at each connection).

use core::cell::RefCell;
use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::Poll;

use critical_section::Mutex;

use super::event::{GattEvent, GattServer};
use super::table::{GattDeclaration, GattJob, GattTable, MAX_SERVICES, MAX_VALUE};
use crate::errno::Errno;
use crate::mailbox::Mailbox;
use crate::modules::ble::AdvConfig;
use crate::wake::Changes;

/// Apps that may hold a GATT table at once: the merged table has room
/// for one service each at least ([`MAX_SERVICES`]).
pub const GATT_APPS: usize = MAX_SERVICES;

/// The HCI reason given to serving apps when a table change ends a
/// connection: connection terminated by the local host.
pub const TABLE_CHANGED: u8 = 0x16;

const NO_EVENT: GattEvent = GattEvent::Disconnected { reason: 0 };

/// One app's table, advertising and event queue.
#[derive(Clone, Copy)]
struct Entry<const QUEUE: usize> {
    app: Option<u16>,
    table: GattTable,
    /// Its table is in the merged one (from its `gatt_start`).
    serving: bool,
    /// Its connectable advertising (the merged server uses the first
    /// serving app's).
    adv: Option<AdvConfig>,
    events: [GattEvent; QUEUE],
    head: usize,
    len: usize,
}

impl<const QUEUE: usize> Entry<QUEUE> {
    const FREE: Entry<QUEUE> = Entry {
        app: None,
        table: GattTable::EMPTY,
        serving: false,
        adv: None,
        events: [NO_EVENT; QUEUE],
        head: 0,
        len: 0,
    };
}

/// The apps' tables and what the host stack serves.
struct Server<const QUEUE: usize> {
    entries: [Entry<QUEUE>; GATT_APPS],
    /// A task serves the GATT side ([`crate::BleMailbox::serve_gatt`]).
    served: bool,
    /// The host stack serves a merged table.
    running: bool,
    /// A central is connected.
    connected: bool,
    dropped: u32,
}

impl<const QUEUE: usize> Server<QUEUE> {
    fn find(&self, app: u16) -> Option<usize> {
        self.entries.iter().position(|e| e.app == Some(app))
    }

    /// The serving apps' tables merged, and the first one's advertising;
    /// [`Errno::NoSpace`] when they do not fit one table.
    fn merged(&self) -> Result<(GattTable, Option<AdvConfig>), Errno> {
        let mut merged = GattTable::EMPTY;
        let mut adv = None;
        for e in self.entries.iter().filter(|e| e.serving) {
            merged.append(&e.table)?;
            adv = adv.or(e.adv);
        }
        Ok((merged, adv))
    }

    /// Entry `i`'s first characteristic in the merged table.
    fn offset(&self, i: usize) -> u8 {
        self.entries[..i].iter().filter(|e| e.serving).map(|e| e.table.characteristics().len() as u8).sum()
    }

    /// Queues `event` for entry `i`, dropping the oldest when full.
    fn push(&mut self, i: usize, event: GattEvent) {
        let e = &mut self.entries[i];
        if e.len == QUEUE {
            e.head = (e.head + 1) % QUEUE;
            e.len -= 1;
            self.dropped = self.dropped.saturating_add(1);
        }
        e.events[(e.head + e.len) % QUEUE] = event;
        e.len += 1;
    }

    /// Hands a central's event to its app: connections to every serving
    /// app, the rest to the owner of the merged handle, in its own
    /// handles.
    fn deliver(&mut self, event: GattEvent) {
        let merged = match event {
            GattEvent::Connected { .. } | GattEvent::Disconnected { .. } => {
                self.connected = matches!(event, GattEvent::Connected { .. });
                for i in 0..GATT_APPS {
                    if self.entries[i].serving {
                        self.push(i, event);
                    }
                }
                return;
            }
            GattEvent::Written { characteristic, .. }
            | GattEvent::Subscribed { characteristic }
            | GattEvent::Unsubscribed { characteristic } => characteristic,
        };
        let mut offset = 0;
        for i in 0..GATT_APPS {
            let e = &self.entries[i];
            if !e.serving {
                continue;
            }
            let n = e.table.characteristics().len() as u8;
            if merged < offset + n {
                let local = merged - offset;
                let event = match event {
                    GattEvent::Written { value, .. } => GattEvent::Written { characteristic: local, value },
                    GattEvent::Subscribed { .. } => GattEvent::Subscribed { characteristic: local },
                    _ => GattEvent::Unsubscribed { characteristic: local },
                };
                return self.push(i, event);
            }
            offset += n;
        }
    }
}

/// The GATT side of a [`crate::BleMailbox`]: up to [`GATT_APPS`] apps'
/// tables with an event queue of `QUEUE` each, and a job queue: each
/// app's job, and the restarts after apps that went away.
pub(crate) struct GattMailbox<const QUEUE: usize> {
    server: Mutex<RefCell<Server<QUEUE>>>,
    jobs: Mailbox<(u16, GattJob), { GATT_APPS + 2 }, MAX_VALUE>,
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
                entries: [Entry::FREE; GATT_APPS],
                served: false,
                running: false,
                connected: false,
                dropped: 0,
            })),
            jobs: Mailbox::new((0, GattJob::Stop)),
        }
    }

    /// Bumped when a job finishes or an event arrives.
    pub(crate) fn changes(&self) -> &Changes {
        self.jobs.finished()
    }

    /// Events the serving apps lost because their queue was full.
    pub(crate) fn dropped(&self) -> u32 {
        critical_section::with(|cs| self.server.borrow_ref(cs).dropped)
    }

    /// Adds to app `app`'s table ([`Errno::Busy`] while it serves, or when
    /// [`GATT_APPS`] other apps hold tables).
    pub(crate) fn declare(&self, app: u16, declaration: GattDeclaration) -> Result<u8, Errno> {
        critical_section::with(|cs| {
            let mut s = self.server.borrow_ref_mut(cs);
            if !s.served {
                return Err(Errno::Unsupported);
            }
            let i = match s.find(app) {
                Some(i) => i,
                None => s.entries.iter().position(|e| e.app.is_none()).ok_or(Errno::Busy)?,
            };
            let e = &mut s.entries[i];
            if e.serving {
                return Err(Errno::Busy);
            }
            let handle = e.table.declare(declaration)?;
            e.app = Some(app);
            Ok(handle)
        })
    }

    /// Queues app `app`'s job with `value`; `Ok(false)` when there is
    /// nothing to do (stopping a server the app does not have).
    pub(crate) fn start(&self, app: u16, job: GattJob, value: &[u8]) -> Result<bool, Errno> {
        critical_section::with(|cs| {
            let mut s = self.server.borrow_ref_mut(cs);
            if !s.served {
                return Err(Errno::Unsupported);
            }
            let Some(i) = s.find(app) else {
                return if job == GattJob::Stop { Ok(false) } else { Err(Errno::Invalid) };
            };
            s.entries[i].table.check(&job, value.len())?;
            match job {
                GattJob::Start(_) if s.entries[i].serving => return Err(Errno::Busy),
                GattJob::Start(_) => {
                    // Its table must fit beside the others'.
                    s.entries[i].serving = true;
                    let fits = s.merged().map(|_| ());
                    s.entries[i].serving = false;
                    fits?;
                }
                GattJob::SetValue(_) | GattJob::Notify(_) if !s.entries[i].serving => return Err(Errno::Invalid),
                // Declared, not served: nothing for the server to do.
                GattJob::Stop if !s.entries[i].serving => {
                    s.entries[i] = Entry::FREE;
                    return Ok(false);
                }
                _ => {}
            }
            // Checked and queued in one critical section: the state
            // cannot change in between.
            self.jobs.start(app, (app, job), [value, &[]], 0)?;
            match job {
                GattJob::Start(adv) => {
                    s.entries[i].serving = true;
                    s.entries[i].adv = Some(adv);
                }
                GattJob::Stop => s.entries[i] = Entry::FREE,
                _ => {}
            }
            Ok(true)
        })
    }

    /// App `app` stopped running: its table leaves the merged one (the
    /// server restarts without it, after its pending job) and its entry
    /// is freed.
    pub(crate) fn release(&self, app: u16) {
        self.jobs.forget(app);
        let was_serving = critical_section::with(|cs| {
            let mut s = self.server.borrow_ref_mut(cs);
            let Some(i) = s.find(app) else { return false };
            let serving = s.entries[i].serving;
            s.entries[i] = Entry::FREE;
            serving
        });
        if was_serving {
            // Every slot taken by jobs of apps that went away: the restart
            // is dropped and the old table served until the next change.
            let _ = self.jobs.start_detached(app, (app, GattJob::Stop), &[]);
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
            let e = s.find(app).map(|i| &mut s.entries[i]).filter(|e| e.serving).ok_or(Errno::Invalid)?;
            if e.len == 0 {
                return Ok(None);
            }
            let event = e.events[e.head];
            e.head = (e.head + 1) % QUEUE;
            e.len -= 1;
            Ok(Some(event))
        })
    }

    /// Queues a central's event for its app.
    fn deliver(&self, event: GattEvent) {
        critical_section::with(|cs| self.server.borrow_ref_mut(cs).deliver(event));
        self.changes().bump();
    }

    /// Serves the serving apps' merged table on `server`: stops the old
    /// one (telling the apps if a central was connected), then starts the
    /// new one, unless nobody serves any more.
    async fn restart<S: GattServer>(&self, server: &S) -> Result<(), Errno> {
        let (running, connected) = critical_section::with(|cs| {
            let s = self.server.borrow_ref(cs);
            (s.running, s.connected)
        });
        if running {
            server.stop().await?;
            critical_section::with(|cs| self.server.borrow_ref_mut(cs).running = false);
            if connected {
                self.deliver(GattEvent::Disconnected { reason: TABLE_CHANGED });
            }
        }
        let (table, adv) = critical_section::with(|cs| self.server.borrow_ref(cs).merged())?;
        let Some(adv) = adv.filter(|_| !table.services().is_empty()) else { return Ok(()) };
        server.start(&table, &adv).await?;
        critical_section::with(|cs| self.server.borrow_ref_mut(cs).running = true);
        Ok(())
    }

    /// App `app`'s handle `h` in the merged table, if it serves.
    fn merged_handle(&self, app: u16, h: u8) -> Result<u8, Errno> {
        critical_section::with(|cs| {
            let s = self.server.borrow_ref(cs);
            let i = s.find(app).filter(|i| s.entries[*i].serving).ok_or(Errno::Invalid)?;
            Ok(s.offset(i) + h)
        })
    }

    /// Runs the queued jobs on `server` and reads its events, forever.
    pub(crate) async fn serve<S: GattServer>(&self, server: S) -> ! {
        critical_section::with(|cs| self.server.borrow_ref_mut(cs).served = true);
        let server = &server;
        let jobs = self.jobs.serve(async |(app, job), value: &[u8], _read: &mut [u8]| match job {
            GattJob::Start(_) => {
                let result = self.restart(server).await;
                if result.is_err() {
                    // Served without it, as before.
                    critical_section::with(|cs| {
                        let mut s = self.server.borrow_ref_mut(cs);
                        if let Some(i) = s.find(app) {
                            s.entries[i].serving = false;
                        }
                    });
                    let _ = self.restart(server).await;
                }
                result
            }
            GattJob::Stop => self.restart(server).await,
            GattJob::SetValue(h) => server.set_value(self.merged_handle(app, h)?, value).await,
            GattJob::Notify(h) => server.notify(self.merged_handle(app, h)?, value).await,
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
