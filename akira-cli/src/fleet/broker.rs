//! The host's connection to the broker (rumqttc, MQTT 3.1.1: every broker
//! speaks it).

use std::time::Duration;

use clap::Args;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::sync::mpsc;

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
}

/// What the event loop's task passes on.
enum Incoming {
    Publish(String, Vec<u8>),
    /// Every publication sent so far was acknowledged (QoS 1).
    Acked(u64),
    Failed(String),
}

/// A connection to the broker.
pub struct Broker {
    client: AsyncClient,
    rx: mpsc::UnboundedReceiver<Incoming>,
    sent: u64,
    acked: u64,
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
        let (client, mut events) = AsyncClient::new(options, 1024);
        let (tx, rx) = mpsc::unbounded_channel();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let mut ready = Some(ready_tx);
        let broker = args.mqtt.clone();
        tokio::spawn(async move {
            let mut acked = 0;
            loop {
                match events.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        if let Some(r) = ready.take() {
                            let _ = r.send(Ok(()));
                        }
                    }
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
            Ok(Ok(Ok(()))) => Ok(Broker { client, rx, sent: 0, acked: 0 }),
            Ok(Ok(Err(e))) => Err(Failure::Usage(e)),
            _ => Err(Failure::Usage(format!("broker {}: no answer", args.mqtt))),
        }
    }

    /// Subscribes to `filter` at QoS 1.
    pub async fn subscribe(&mut self, filter: &str) -> Result<(), Failure> {
        self.client.subscribe(filter, QoS::AtLeastOnce).await.map_err(|e| Failure::Usage(format!("subscribe: {e}")))
    }

    /// Publishes at QoS 1.
    pub async fn publish(&mut self, topic: &str, retain: bool, payload: Vec<u8>) -> Result<(), Failure> {
        self.sent += 1;
        self.client
            .publish(topic, QoS::AtLeastOnce, retain, payload)
            .await
            .map_err(|e| Failure::Usage(format!("publish: {e}")))
    }

    /// Waits until the broker acknowledged every publication (incoming
    /// publications meanwhile are dropped: flush before subscribing).
    pub async fn flush(&mut self) -> Result<(), Failure> {
        while self.acked < self.sent {
            match tokio::time::timeout(Duration::from_secs(30), self.rx.recv()).await {
                Ok(Some(Incoming::Acked(n))) => self.acked = n,
                Ok(Some(Incoming::Failed(e))) => eprintln!("akira fleet: {e}; retrying"),
                Ok(Some(Incoming::Publish(..))) => {}
                _ => return Err(Failure::Usage("the broker stopped acknowledging publications".into())),
            }
        }
        Ok(())
    }

    /// The next publication, or `None` after `quiet` without one.
    pub async fn next(&mut self, quiet: Duration) -> Result<Option<(String, Vec<u8>)>, Failure> {
        loop {
            match tokio::time::timeout(quiet, self.rx.recv()).await {
                Err(_) => return Ok(None),
                Ok(None) => return Err(Failure::Usage("lost the broker".into())),
                Ok(Some(Incoming::Publish(t, p))) => return Ok(Some((t, p))),
                Ok(Some(Incoming::Acked(n))) => self.acked = n,
                Ok(Some(Incoming::Failed(e))) => eprintln!("akira fleet: {e}; retrying"),
            }
        }
    }
}
