//! The beacons' wire: a fanout exchange beside the stream (`<stream>.health`). Each node
//! publishes its own beacon there and reads everyone's through a queue of its own (exclusive,
//! short-lived messages: a beacon is only worth its latest value). Not the log: nothing here is
//! durable or confirmed, and losing beacons only makes a peer look dead for a moment.

use std::sync::Arc;

use lapin::options::{BasicPublishOptions, ExchangeDeclareOptions, QueueBindOptions};
use lapin::ExchangeKind;
use tokio::sync::watch;

use super::*;
use crate::health::{Beacon, PeerBoard};

/// A beacon older than this is dropped by the broker rather than delivered.
const BEACON_TTL_MS: i32 = 5_000;
/// Reconnect backoff, doubling up to the cap.
const LINK_BACKOFF_FIRST: Duration = Duration::from_millis(500);
const LINK_BACKOFF_CAP: Duration = Duration::from_secs(5);

/// Where the beacons go: the broker's nodes, the exchange, and who this node is.
#[derive(Debug, Clone)]
pub struct BeaconAddress {
    pub urls: BrokerUrls,
    pub exchange: String,
    pub instance: String,
}

impl BeaconAddress {
    /// The beacons of the nodes that share `stream`.
    pub fn beside(stream: &StreamAddress, instance: &str) -> BeaconAddress {
        BeaconAddress {
            urls: stream.urls.clone(),
            exchange: format!("{}.health", stream.stream),
            instance: instance.into(),
        }
    }
}

/// Publishes every new value of `outbox` and records every peer's beacon, reconnecting after
/// failures, until `outbox`'s sender is gone.
pub async fn relay_beacons(
    address: BeaconAddress,
    mut outbox: watch::Receiver<Option<Beacon>>,
    board: Arc<PeerBoard>,
) {
    let mut backoff = LINK_BACKOFF_FIRST;
    let preferred = PreferredNode::default();
    loop {
        match relay_once(&address, &preferred, &mut outbox, &board, &mut backoff).await {
            Ok(()) => return,
            Err(error) => tracing::debug!(%error, retry_in = ?backoff, "health beacons: link lost"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(LINK_BACKOFF_CAP);
    }
}

/// One connection's worth of relaying; a lost link makes the next node preferred.
async fn relay_once(
    address: &BeaconAddress,
    preferred: &PreferredNode,
    outbox: &mut watch::Receiver<Option<Beacon>>,
    board: &PeerBoard,
    backoff: &mut Duration,
) -> Result<(), LogError> {
    let (node, (_connection, channel, consumer)) =
        in_turn(&address.urls, preferred, "beacons", |url| open_beacons(url, address)).await?;
    *backoff = LINK_BACKOFF_FIRST;
    let relayed = relay_on(address, &channel, consumer, outbox, board).await;
    preferred.after_session(node, &address.urls, relayed)
}

async fn relay_on(
    address: &BeaconAddress,
    channel: &Channel,
    mut consumer: Consumer,
    outbox: &mut watch::Receiver<Option<Beacon>>,
    board: &PeerBoard,
) -> Result<(), LogError> {
    loop {
        tokio::select! {
            delivery = consumer.next() => {
                let delivery = delivery.ok_or_else(|| LogError::Unavailable("beacon consumer closed".into()))?;
                let delivery = delivery.map_err(|e| unavailable("beacon delivery", e))?;
                match serde_json::from_slice::<Beacon>(&delivery.data) {
                    Ok(beacon) if beacon.instance != address.instance => board.record(beacon),
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "an unreadable health beacon"),
                }
            }
            changed = outbox.changed() => {
                if changed.is_err() {
                    return Ok(());
                }
                let Some(beacon) = outbox.borrow_and_update().clone() else { continue };
                let body = serde_json::to_vec(&beacon).expect("a beacon serializes");
                let options = BasicPublishOptions::default();
                let exchange = address.exchange.as_str();
                channel
                    .basic_publish(exchange.into(), "".into(), options, &body, BasicProperties::default())
                    .await
                    .map_err(|e| unavailable("beacon publish", e))?;
            }
        }
    }
}

async fn open_beacons(
    url: &str,
    address: &BeaconAddress,
) -> Result<(Connection, Channel, Consumer), LogError> {
    let properties = ConnectionProperties::default().with_connection_name("bardo-beacons".into());
    let connection = Connection::connect(url, properties).await.map_err(|e| unavailable("connect", e))?;
    let channel = connection.create_channel().await.map_err(|e| unavailable("channel", e))?;
    let exchange = address.exchange.as_str();
    let options = ExchangeDeclareOptions { durable: false, ..ExchangeDeclareOptions::default() };
    channel
        .exchange_declare(exchange.into(), ExchangeKind::Fanout, options, FieldTable::default())
        .await
        .map_err(|e| unavailable("declare beacon exchange", e))?;
    let queue =
        format!("{exchange}.{}.{}", address.instance, &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let mut arguments = FieldTable::default();
    arguments.insert("x-message-ttl".into(), AMQPValue::LongInt(BEACON_TTL_MS));
    let options =
        QueueDeclareOptions { exclusive: true, auto_delete: true, ..QueueDeclareOptions::default() };
    channel
        .queue_declare(queue.as_str().into(), options, arguments)
        .await
        .map_err(|e| unavailable("beacon queue", e))?;
    let bind = QueueBindOptions::default();
    channel
        .queue_bind(queue.as_str().into(), exchange.into(), "".into(), bind, FieldTable::default())
        .await
        .map_err(|e| unavailable("bind beacon queue", e))?;
    let options = BasicConsumeOptions { no_ack: true, ..BasicConsumeOptions::default() };
    let consumer = channel
        .basic_consume(queue.as_str().into(), "bardo-beacons".into(), options, FieldTable::default())
        .await
        .map_err(|e| unavailable("consume beacons", e))?;
    Ok((connection, channel, consumer))
}
