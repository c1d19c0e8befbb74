//! The device-side agent: one MQTT connection to the broker, driving an
//! [`akira_device::Device`].
//!
//! Everything that changes the device goes through the device's own
//! protocol session ([`Device::receive`]), as it would from `akira push`
//! over a UART: frames from the `down` topic, and the packages the agent
//! fetches from the broker, which it turns into the session's `Begin` and
//! `Chunk` requests. So a package is checked exactly as akira-ota checks
//! it (signer, rights, signature, every chunk against its signed hash
//! before it is written), and management is only the signed commands.

use akira_bridge::{Board, Instant};
use akira_caps::manifest::AppName;
use akira_device::{Device, Note};
use akira_ota::frame::{self, MAX_FRAME};
use akira_ota::protocol::{ErrorCode, MAX_CHUNK, Request, Response};
use akira_sandbox::Event;
use core::num::NonZero;
use core::time::Duration;
use embassy_futures::select::{Either, select};
use embedded_storage_async::nor_flash::NorFlash;
use rust_mqtt::Bytes;
use rust_mqtt::buffer::AllocBuffer;
use rust_mqtt::client::event::Event as MqttEvent;
use rust_mqtt::client::options::{
    ConnectOptions, PublicationOptions, SubscriptionOptions, TopicReference, UnsubscriptionOptions, WillOptions,
};
use rust_mqtt::client::{Client, MqttError};
use rust_mqtt::config::KeepAlive;
use rust_mqtt::io::Transport;
use rust_mqtt::types::{MqttBinary, MqttString, TopicFilter, TopicName};

use crate::message::{self, AppReport, Assignment, Group, Health, MAX_STATE, Phase, RolloutReport, State};
use crate::topic::{self, Leaf, Topic};

/// How the agent connects and reports.
#[derive(Clone, Copy, Debug)]
pub struct AgentConfig<'a> {
    /// The group the device belongs to (rollouts pick devices by group).
    pub group: &'a str,
    /// The broker user name, if it asks for one.
    pub user: Option<&'a str>,
    /// The broker password.
    pub password: Option<&'a [u8]>,
    /// MQTT keep-alive: the broker publishes the last will (offline) after
    /// 1.5 times this without a packet.
    pub keep_alive: Duration,
    /// A download whose next chunk has not arrived for this long is given
    /// up (reported as [`Phase::Missing`]).
    pub chunk_timeout: Duration,
}

impl Default for AgentConfig<'_> {
    /// Group `default`, no credentials, 30 s keep-alive, 60 s chunk timeout.
    fn default() -> Self {
        AgentConfig {
            group: "default",
            user: None,
            password: None,
            keep_alive: Duration::from_secs(30),
            chunk_timeout: Duration::from_secs(60),
        }
    }
}

/// Why a connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum AgentError {
    /// The broker refused the connection, or the connection failed.
    Connect,
    /// The connection failed or the broker broke the protocol.
    Connection,
    /// The broker disconnected the agent.
    Disconnected,
    /// The group name is longer than [`message::MAX_GROUP`].
    GroupTooLong,
}

impl core::fmt::Display for AgentError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            AgentError::Connect => "the broker refused the connection or could not be reached",
            AgentError::Connection => "the connection to the broker failed",
            AgentError::Disconnected => "the broker disconnected the agent",
            AgentError::GroupTooLong => "group name too long",
        })
    }
}

impl core::error::Error for AgentError {}

impl<const P: usize, A> From<MqttError<'_, P, A>> for AgentError {
    fn from(e: MqttError<'_, P, A>) -> Self {
        match e {
            MqttError::Disconnect { .. } => AgentError::Disconnected,
            _ => AgentError::Connection,
        }
    }
}

/// The largest MQTT packet the agent takes (the broker drops larger ones
/// for it): a package chunk of up to 4 KiB with its topic fits.
pub const MAX_PACKET: u32 = 8 * 1024;

/// The MQTT client the agent uses: 4 subscriptions, 8 incoming and 8
/// outgoing QoS 1 messages in flight, no properties or aliases kept.
type MqttClient<'c, N> = Client<'c, 'c, N, AllocBuffer, 4, 8, 8, 0, 0, 0, 0>;

/// A transfer the agent feeds from the broker's chunks.
struct Download {
    /// Bytes the device holds.
    offset: u32,
    /// The chunk subscribed to.
    chunk: u32,
    /// When that chunk was first asked for.
    since: Instant,
    /// When it was last asked for.
    asked: Instant,
}

/// A chunk not delivered this long after subscribing is asked for again
/// (subscribing anew makes the broker send the retained chunk again).
const CHUNK_RETRY: Duration = Duration::from_secs(3);

/// What the agent learns from the device's notes.
#[derive(Default)]
struct Tracker {
    health: Health,
    report: Option<RolloutReport>,
    /// The app the current rollout updates.
    app: Option<AppName>,
    /// The state changed since it was last published.
    dirty: bool,
}

impl Tracker {
    fn set_phase(&mut self, phase: Phase) {
        if let Some(report) = &mut self.report
            && report.phase != phase
        {
            report.phase = phase;
            self.dirty = true;
        }
    }

    fn in_trial(&self, name: &AppName) -> bool {
        self.app.as_ref() == Some(name) && self.report.is_some_and(|r| r.phase == Phase::Trial)
    }

    fn note(&mut self, note: &Note<'_>) {
        match note {
            Note::App { event: Event::Faulted(_), .. } => {
                self.health.faults += 1;
                self.dirty = true;
            }
            Note::App { event: Event::Restarting(_), .. } => self.health.restarts += 1,
            Note::Installed { .. } | Note::Started { .. } => self.dirty = true,
            Note::Confirmed { name } => {
                self.dirty = true;
                if self.in_trial(name) {
                    self.set_phase(Phase::Confirmed);
                }
            }
            Note::RolledBack { name, .. } | Note::Removed { name } => {
                self.dirty = true;
                if matches!(note, Note::RolledBack { .. }) {
                    self.health.rollbacks += 1;
                }
                if self.in_trial(name) {
                    self.set_phase(Phase::RolledBack);
                }
            }
            _ => {}
        }
    }
}

/// The fleet agent of one device. Keep it across connections: a download
/// in progress resumes where it stopped when [`Agent::run`] is called
/// again with a new connection.
pub struct Agent {
    group: Group,
    tracker: Tracker,
    assignment: Option<Assignment>,
    download: Option<Download>,
    /// No new `Begin` before this time (the device's backoff).
    retry_at: Option<Instant>,
    started: Option<Instant>,
}

/// Sends `request` to the device's session and returns its answer.
async fn ask<B: Board + Clone, F: NorFlash>(
    device: &mut Device<'_, B, F>,
    tracker: &mut Tracker,
    notes: &mut impl FnMut(Note<'_>),
    request: &Request<'_>,
) -> Option<Response> {
    let mut buf = [0u8; MAX_FRAME];
    let len = frame::encode(request, &mut buf).ok()?;
    let mut data = &buf[..len];
    let mut reply = None;
    while !data.is_empty() {
        let (used, frame) = device
            .receive(data, |note| {
                tracker.note(&note);
                notes(note)
            })
            .await;
        data = &data[used..];
        reply = reply.or(frame);
    }
    let mut reply = reply?;
    // Without the trailing delimiter.
    let body = reply.len().checked_sub(1)?;
    frame::decode::<Response>(&mut reply[..body]).ok()
}

fn topic_name(t: &Topic) -> TopicReference<'_> {
    // Topics built by `topic` are valid names (no wildcards, not empty).
    TopicReference::Name(TopicName::new_unchecked(MqttString::from_str_unchecked(t)))
}

fn filter(t: &Topic) -> TopicFilter<'_> {
    TopicFilter::new_unchecked(MqttString::from_str_unchecked(t))
}

impl Agent {
    /// An agent for a device in `group`.
    pub fn new(group: &str) -> Result<Self, AgentError> {
        Ok(Agent {
            group: Group::try_from(group).map_err(|_| AgentError::GroupTooLong)?,
            tracker: Tracker::default(),
            assignment: None,
            download: None,
            retry_at: None,
            started: None,
        })
    }

    /// The rollout the device works on and how far it got.
    pub fn report(&self) -> Option<RolloutReport> {
        self.tracker.report
    }

    /// The device's health counters.
    pub fn health(&self) -> Health {
        self.tracker.health
    }

    /// The state the agent publishes.
    pub fn state<B: Board + Clone, F: NorFlash>(&self, device: &Device<'_, B, F>, online: bool) -> State {
        let mut apps = heapless::Vec::new();
        for app in device.store().apps() {
            let _ = apps.push(AppReport {
                name: app.name.clone(),
                version: app.active.version,
                confirmed: app.confirmed,
                previous: app.previous.as_ref().map(|p| p.version),
            });
        }
        let mut health = self.tracker.health;
        health.failed_transfers = device.failed_transfers();
        if let Some(started) = self.started {
            health.uptime_s = (device.board().now().saturating_since(started).as_secs()).min(u32::MAX.into()) as u32;
        }
        State { online, group: self.group.clone(), apps, health, rollout: self.tracker.report }
    }

    /// Runs the agent over one connection to the broker (`net`: a TCP or
    /// TLS stream, any embedded-io-async `Read + Write`) until it fails or
    /// the broker closes it; the device's apps run meanwhile. `idle(wake)`
    /// is the board's wait for `wake` (`None`: no deadline), as for
    /// [`Device::serve`]; `net`'s reads must be cancel-safe. Call it again
    /// with a new connection to reconnect: the agent keeps its download.
    pub async fn run<N, B, F, I>(
        &mut self,
        device: &mut Device<'_, B, F>,
        net: N,
        config: &AgentConfig<'_>,
        mut idle: impl FnMut(Option<Instant>) -> I,
        mut notes: impl FnMut(Note<'_>),
    ) -> Result<(), AgentError>
    where
        N: Transport,
        B: Board + Clone,
        F: NorFlash,
        I: Future<Output = ()>,
    {
        let id = device.id();
        let now = device.board().now();
        self.started.get_or_insert(now);
        let state_topic = topic::device(&id, Leaf::State);
        let down = topic::device(&id, Leaf::Down);
        let up = topic::device(&id, Leaf::Up);
        let assign = topic::device(&id, Leaf::Assign);
        let client_id = topic::device_name(&id);

        let mut will = [0u8; MAX_STATE];
        let will_len = message::encode(&self.state(device, false), &mut will).map_err(|_| AgentError::Connect)?;
        let keep_alive_s = config.keep_alive.as_secs().clamp(1, u16::MAX.into()) as u16;
        let mut options = ConnectOptions::new()
            .clean_start()
            .maximum_packet_size(NonZero::<u32>::new(MAX_PACKET).unwrap_or(NonZero::<u32>::MIN))
            .keep_alive(KeepAlive::Seconds(NonZero::new(keep_alive_s).unwrap_or(NonZero::<u16>::MIN)))
            .will(
                WillOptions::new(
                    TopicName::new_unchecked(MqttString::from_str_unchecked(&state_topic)),
                    MqttBinary::from_slice(&will[..will_len]).map_err(|_| AgentError::Connect)?,
                )
                .at_least_once()
                .retain(),
            );
        if let Some(user) = config.user {
            options = options.user_name(MqttString::from_str(user).map_err(|_| AgentError::Connect)?);
        }
        if let Some(password) = config.password {
            options = options.password(MqttBinary::from_slice(password).map_err(|_| AgentError::Connect)?);
        }

        let mut buffer = AllocBuffer;
        let mut client: MqttClient<'_, N> = Client::new(&mut buffer);
        client
            .connect(net, &options, Some(MqttString::from_str_unchecked(&client_id)))
            .await
            .map_err(|_| AgentError::Connect)?;
        let qos1 = SubscriptionOptions::new().at_least_once();
        client.subscribe(filter(&down), &qos1).await?;
        client.subscribe(filter(&assign), &qos1).await?;
        if let Some(d) = &self.download
            && let Some(a) = &self.assignment
        {
            // A transfer interrupted with the connection: ask for its
            // chunk again (its retained copy comes on subscribing).
            let chunk = topic::chunk(&a.package, d.chunk);
            client.subscribe(filter(&chunk), &qos1).await?;
        }
        self.tracker.dirty = true;

        let ping_every = Duration::from_secs(u64::from(keep_alive_s).div_ceil(2));
        let mut last_sent = now;
        let mut wake: Option<Instant> = Some(now);
        loop {
            // Wake for the apps, a ping, a retry or a chunk's timeout.
            let ping_at = last_sent.saturating_add(ping_every);
            let mut until = wake.map_or(ping_at, |w| w.min(ping_at));
            if let Some(r) = self.retry_at {
                until = until.min(r);
            }
            if let Some(d) = &self.download {
                until =
                    until.min(d.since.saturating_add(config.chunk_timeout)).min(d.asked.saturating_add(CHUNK_RETRY));
            }
            if let Either::First(header) = select(client.poll_header(), idle(Some(until))).await {
                let event = client.poll_body(header?).await?;
                if let MqttEvent::Publish(publish) = event {
                    let name = publish.topic.name().map(|n| n.as_ref().as_str());
                    let payload: &[u8] = &publish.message;
                    match name {
                        Some(t) if t == down.as_str() => {
                            self.tunnel(device, &mut client, &up, payload, &mut notes).await?;
                        }
                        Some(t) if t == assign.as_str() => {
                            self.assigned(device, &mut client, payload, &mut notes).await?;
                        }
                        Some(t) => self.chunk(device, &mut client, t, payload, &mut notes).await?,
                        None => {}
                    }
                }
                last_sent = device.board().now();
            }
            let now = device.board().now();
            let round = device
                .round(now, |note| {
                    self.tracker.note(&note);
                    notes(note)
                })
                .await;
            wake = if round.busy { Some(now) } else { round.next_wake };
            if self.retry_at.is_some_and(|r| now >= r) {
                self.retry_at = None;
                self.begin(device, &mut client, &mut notes).await?;
            }
            if self.download.as_ref().is_some_and(|d| now.saturating_since(d.since) >= config.chunk_timeout) {
                self.give_up(&mut client, Phase::Missing).await?;
            }
            if let (Some(d), Some(a)) = (self.download.as_mut(), &self.assignment)
                && now.saturating_since(d.asked) >= CHUNK_RETRY
            {
                d.asked = now;
                let qos1 = SubscriptionOptions::new().at_least_once();
                client.subscribe(filter(&topic::chunk(&a.package, d.chunk)), &qos1).await?;
            }
            if self.tracker.dirty {
                let mut buf = [0u8; MAX_STATE];
                if let Ok(n) = message::encode(&self.state(device, true), &mut buf) {
                    let options = PublicationOptions::new(topic_name(&state_topic)).at_least_once().retain();
                    match client.publish(&options, Bytes::from(&buf[..n])).await {
                        Ok(_) => {
                            self.tracker.dirty = false;
                            last_sent = now;
                        }
                        // Acknowledgements pending: publish at a later turn.
                        Err(MqttError::SendQuotaExceeded | MqttError::SessionBuffer) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            if now >= ping_at {
                client.ping().await?;
                last_sent = now;
            }
        }
    }

    /// Passes frames from `down` to the device's session and publishes its
    /// replies on `up`.
    async fn tunnel<N: Transport, B: Board + Clone, F: NorFlash>(
        &mut self,
        device: &mut Device<'_, B, F>,
        client: &mut MqttClient<'_, N>,
        up: &Topic,
        mut data: &[u8],
        notes: &mut impl FnMut(Note<'_>),
    ) -> Result<(), AgentError> {
        let tracker = &mut self.tracker;
        while !data.is_empty() {
            let (used, reply) = device
                .receive(data, |note| {
                    tracker.note(&note);
                    notes(note)
                })
                .await;
            data = &data[used..];
            if let Some(frame) = reply {
                let options = PublicationOptions::new(topic_name(up)).at_least_once();
                client.publish(&options, Bytes::from(&frame[..])).await?;
            }
        }
        // Whatever arrived unfinished is not a frame: the next message
        // starts afresh.
        device.link_reset();
        Ok(())
    }

    /// Takes a rollout assignment.
    async fn assigned<N: Transport, B: Board + Clone, F: NorFlash>(
        &mut self,
        device: &mut Device<'_, B, F>,
        client: &mut MqttClient<'_, N>,
        payload: &[u8],
        notes: &mut impl FnMut(Note<'_>),
    ) -> Result<(), AgentError> {
        if payload.is_empty() {
            // The host withdrew the assignment (a halted rollout): stop
            // fetching, and drop what the device staged.
            if self.download.is_some() {
                self.give_up(client, Phase::Missing).await?;
                let _ = ask(device, &mut self.tracker, notes, &Request::Abort).await;
            }
            return Ok(());
        }
        let Ok(assignment) = message::decode::<Assignment>(payload) else { return Ok(()) };
        let same = self
            .assignment
            .as_ref()
            .is_some_and(|a| a.rollout == assignment.rollout && a.package == assignment.package);
        if same && self.tracker.report.is_some_and(|r| r.phase.is_final()) {
            return Ok(());
        }
        if let Some(old) = self.assignment.as_ref().filter(|_| self.download.is_some() && !same) {
            let chunk = topic::chunk(&old.package, self.download.as_ref().map_or(0, |d| d.chunk));
            client.unsubscribe(filter(&chunk), &UnsubscriptionOptions::new()).await?;
            self.download = None;
        }
        self.tracker.app = Some(assignment.app.clone());
        self.tracker.report =
            Some(RolloutReport { rollout: assignment.rollout, phase: Phase::Downloading { received: 0 } });
        self.tracker.dirty = true;
        // Already running this version (an earlier attempt, before a
        // reboot or a lost report): nothing to install twice.
        if let Some(app) = device.store().app(&assignment.app)
            && app.active.version == assignment.version
        {
            self.assignment = Some(assignment);
            let phase = if app.confirmed { Phase::Confirmed } else { Phase::Trial };
            self.tracker.set_phase(phase);
            return Ok(());
        }
        self.assignment = Some(assignment);
        self.begin(device, client, notes).await
    }

    /// Starts or resumes the transfer of the assigned package.
    async fn begin<N: Transport, B: Board + Clone, F: NorFlash>(
        &mut self,
        device: &mut Device<'_, B, F>,
        client: &mut MqttClient<'_, N>,
        notes: &mut impl FnMut(Note<'_>),
    ) -> Result<(), AgentError> {
        let Some(a) = self.assignment.clone() else { return Ok(()) };
        let request = Request::Begin { size: a.size, id: a.package };
        match ask(device, &mut self.tracker, notes, &request).await {
            Some(Response::Resume { offset }) if a.chunk > 0 => {
                let chunk = offset / a.chunk;
                let now = device.board().now();
                self.download = Some(Download { offset, chunk, since: now, asked: now });
                self.tracker.set_phase(Phase::Downloading { received: offset });
                let qos1 = SubscriptionOptions::new().at_least_once();
                client.subscribe(filter(&topic::chunk(&a.package, chunk)), &qos1).await?;
            }
            Some(Response::RetryAfter { ms }) => {
                self.retry_at = Some(device.board().now().saturating_add(Duration::from_millis(ms.into())));
            }
            Some(Response::Error { code, .. }) => self.tracker.set_phase(Phase::Refused { code: code.code() }),
            _ => self.tracker.set_phase(Phase::Refused { code: ErrorCode::BadRequest.code() }),
        }
        Ok(())
    }

    /// Stops a download, reporting `phase`.
    async fn give_up<N: Transport>(&mut self, client: &mut MqttClient<'_, N>, phase: Phase) -> Result<(), AgentError> {
        if let (Some(d), Some(a)) = (self.download.take(), &self.assignment) {
            let chunk = topic::chunk(&a.package, d.chunk);
            client.unsubscribe(filter(&chunk), &UnsubscriptionOptions::new()).await?;
            self.tracker.set_phase(phase);
        }
        Ok(())
    }

    /// Feeds a chunk of the package from the broker to the device's session.
    async fn chunk<N: Transport, B: Board + Clone, F: NorFlash>(
        &mut self,
        device: &mut Device<'_, B, F>,
        client: &mut MqttClient<'_, N>,
        topic_name: &str,
        payload: &[u8],
        notes: &mut impl FnMut(Note<'_>),
    ) -> Result<(), AgentError> {
        let (Some(a), Some(d)) = (self.assignment.clone(), self.download.as_mut()) else { return Ok(()) };
        if topic::parse_chunk(topic_name, &a.package) != Some(d.chunk) {
            return Ok(());
        }
        let start = d.chunk.saturating_mul(a.chunk);
        let skip = (d.offset - start) as usize;
        if payload.len() <= skip {
            // The broker holds a short or empty chunk: the package is not there.
            return self.give_up(client, Phase::Missing).await;
        }
        let mut offset = d.offset;
        let mut outcome = None;
        for piece in payload[skip..].chunks(MAX_CHUNK) {
            let request = Request::Chunk { offset, data: piece };
            match ask(device, &mut self.tracker, notes, &request).await {
                Some(Response::Ack { next }) if next == offset + piece.len() as u32 => offset = next,
                Some(Response::Installed { .. }) => {
                    outcome = Some(Phase::Trial);
                    break;
                }
                Some(Response::Error { code, .. }) => {
                    outcome = Some(Phase::Refused { code: code.code() });
                    break;
                }
                _ => {
                    outcome = Some(Phase::Refused { code: ErrorCode::BadRequest.code() });
                    break;
                }
            }
        }
        let old = topic::chunk(&a.package, d.chunk);
        client.unsubscribe(filter(&old), &UnsubscriptionOptions::new()).await?;
        if let Some(phase) = outcome {
            self.download = None;
            self.tracker.set_phase(phase);
            return Ok(());
        }
        let next = offset / a.chunk;
        let last = self.tracker.report.map_or(0, |r| match r.phase {
            Phase::Downloading { received } => received,
            _ => 0,
        });
        let now = device.board().now();
        *d = Download { offset, chunk: next, since: now, asked: now };
        // Progress in quarters: enough to watch, few messages.
        if offset.saturating_sub(last) >= a.size / 4 {
            self.tracker.set_phase(Phase::Downloading { received: offset });
        }
        let qos1 = SubscriptionOptions::new().at_least_once();
        client.subscribe(filter(&topic::chunk(&a.package, next)), &qos1).await?;
        Ok(())
    }
}
