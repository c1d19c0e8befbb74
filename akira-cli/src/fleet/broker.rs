//! The host's connection to the broker (rumqttc, MQTT 3.1.1: every broker
//! speaks it).

use std::collections::VecDeque;
use std::time::Duration;

use clap::Args;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS, TlsConfiguration, Transport};
use tokio::sync::mpsc;

use super::TlsArgs;
use crate::Failure;

/// Where the broker is.
#[derive(Args, Clone)]
pub struct BrokerArgs {
    /// The MQTT broker.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:1883")]
    pub mqtt: String,
    /// The broker's user name.
    #[arg(long)]
    pub mqtt_user: Option<String>,
    /// The broker's password.
    #[arg(long, requires = "mqtt_user")]
    pub mqtt_password: Option<String>,
    /// TLS to the broker.
    #[command(flatten)]
    pub tls: TlsArgs,
}

/// What the event loop's task passes on.
enum Incoming {
    Publish(String, Vec<u8>),
    /// Every publication sent so far was acknowledged (QoS 1).
    Acked(u64),
    /// Connected again after a lost connection (the session is new: the
    /// subscriptions are gone).
    Reconnected,
    Failed(String),
}

/// A connection to the broker.
pub struct Broker {
    client: AsyncClient,
    rx: mpsc::UnboundedReceiver<Incoming>,
    sent: u64,
    acked: u64,
    /// Publications that came while waiting for acknowledgements, in
    /// order: [`Broker::next`] returns them first.
    held: VecDeque<(String, Vec<u8>)>,
    /// The filters subscribed to, subscribed again after a reconnection.
    filters: Vec<String>,
}

impl Broker {
    /// Connects; fails when the broker cannot be reached.
    pub async fn connect(args: &BrokerArgs) -> Result<Broker, Failure> {
        let (host, port) = args
            .mqtt
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
            .ok_or_else(|| Failure::Usage(format!("--mqtt {}: expected HOST:PORT", args.mqtt)))?;
        let mut options = MqttOptions::new(format!("akira-cli-{}", std::process::id()), host, port);
        options.set_keep_alive(Duration::from_secs(30));
        options.set_max_packet_size(64 * 1024, 64 * 1024);
        if let Some(user) = &args.mqtt_user {
            options.set_credentials(user, args.mqtt_password.clone().unwrap_or_default());
        }
        if let Some(config) = args.tls.client_config()? {
            options.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(config)));
        }
        let (client, mut events) = AsyncClient::new(options, 1024);
        let (tx, rx) = mpsc::unbounded_channel();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let mut ready = Some(ready_tx);
        let broker = args.mqtt.clone();
        tokio::spawn(async move {
            let mut acked = 0;
            loop {
                match events.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => match ready.take() {
                        Some(r) => {
                            let _ = r.send(Ok(()));
                        }
                        None => {
                            let _ = tx.send(Incoming::Reconnected);
                        }
                    },
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let _ = tx.send(Incoming::Publish(p.topic, p.payload.to_vec()));
                    }
                    Ok(Event::Incoming(Packet::PubAck(_))) => {
                        acked += 1;
                        let _ = tx.send(Incoming::Acked(acked));
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let text = format!("broker {broker}: {e}");
                        match ready.take() {
                            Some(r) => {
                                let _ = r.send(Err(text));
                                return;
                            }
                            // Connected before: rumqttc reconnects at the next poll.
                            None => {
                                let _ = tx.send(Incoming::Failed(text));
                                tokio::time::sleep(Duration::from_secs(1)).await;
                            }
                        }
                    }
                }
            }
        });
        match tokio::time::timeout(Duration::from_secs(10), ready_rx).await {
            Ok(Ok(Ok(()))) => Ok(Broker { client, rx, sent: 0, acked: 0, held: VecDeque::new(), filters: Vec::new() }),
            Ok(Ok(Err(e))) => Err(Failure::Usage(e)),
            _ => Err(Failure::Usage(format!("broker {}: no answer", args.mqtt))),
        }
    }

    /// Subscribes to `filter` at QoS 1 (again after a reconnection).
    pub async fn subscribe(&mut self, filter: &str) -> Result<(), Failure> {
        if !self.filters.iter().any(|f| f == filter) {
            self.filters.push(filter.to_string());
        }
        self.client.subscribe(filter, QoS::AtLeastOnce).await.map_err(|e| Failure::Usage(format!("subscribe: {e}")))
    }

    /// Takes in what the connection's task passed on; a publication is
    /// returned.
    async fn take(&mut self, incoming: Incoming) -> Result<Option<(String, Vec<u8>)>, Failure> {
        match incoming {
            Incoming::Publish(t, p) => return Ok(Some((t, p))),
            Incoming::Acked(n) => self.acked = n,
            Incoming::Failed(e) => eprintln!("akira fleet: {e}; retrying"),
            Incoming::Reconnected => {
                eprintln!("akira fleet: connected to the broker again");
                // A clean session: subscribe again (retained messages
                // come again, so nothing published meanwhile is missed).
                for filter in self.filters.clone() {
                    self.client
                        .subscribe(filter, QoS::AtLeastOnce)
                        .await
                        .map_err(|e| Failure::Usage(format!("subscribe: {e}")))?;
                }
            }
        }
        Ok(None)
    }

    /// Publishes at QoS 1.
    pub async fn publish(&mut self, topic: &str, retain: bool, payload: Vec<u8>) -> Result<(), Failure> {
        self.sent += 1;
        self.client
            .publish(topic, QoS::AtLeastOnce, retain, payload)
            .await
            .map_err(|e| Failure::Usage(format!("publish: {e}")))
    }

    /// Waits until the broker acknowledged every publication. Publications
    /// that come meanwhile are kept for [`Broker::next`]: devices answer
    /// an assignment within milliseconds, often before its acknowledgement
    /// is read, and a state report lost here is a device reported missed.
    pub async fn flush(&mut self) -> Result<(), Failure> {
        while self.acked < self.sent {
            match tokio::time::timeout(Duration::from_secs(30), self.rx.recv()).await {
                Ok(Some(incoming)) => {
                    if let Some(publication) = self.take(incoming).await? {
                        self.held.push_back(publication);
                    }
                }
                _ => return Err(Failure::Usage("the broker stopped acknowledging publications".into())),
            }
        }
        Ok(())
    }

    /// The next publication, or `None` after `quiet` without one.
    pub async fn next(&mut self, quiet: Duration) -> Result<Option<(String, Vec<u8>)>, Failure> {
        if let Some(publication) = self.held.pop_front() {
            return Ok(Some(publication));
        }
        loop {
            match tokio::time::timeout(quiet, self.rx.recv()).await {
                Err(_) => return Ok(None),
                Ok(None) => return Err(Failure::Usage("lost the broker".into())),
                Ok(Some(incoming)) => {
                    if let Some(publication) = self.take(incoming).await? {
                        return Ok(Some(publication));
                    }
                }
            }
        }
    }
}
