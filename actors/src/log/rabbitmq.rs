//! The event log on a RabbitMQ **stream** queue over AMQP 0.9.1 (lapin).
//!
//! - Nodes: the broker may be a cluster reached through several URLs (`BrokerUrls`); every
//!   connection goes to the node that last worked for its side and fails over to the next.
//! - Append: a confirm-mode channel; `append` resolves only on the broker's ack, within
//!   `PUBLISH_CONFIRM_WITHIN`. While no node answers, appends fail fast (`Unavailable`) so
//!   creates answer 503 instead of hanging.
//! - Read: a consumer with QoS and manual acks, attached at an explicit numeric
//!   `x-stream-offset`; after any failure it reconnects with capped backoff and re-attaches at
//!   the last offset seen + 1 itself (lapin's auto-recover would re-attach at the original
//!   offset), and the reader skips anything below its own next offset anyway.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions};
use lapin::options::{ConfirmSelectOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, Consumer};
use tokio::sync::{mpsc, Mutex};

use super::{EventLog, LogEntry, LogError, Offset};

/// Deliveries the broker may send ahead of our acks; larger than a read chunk.
const CONSUMER_PREFETCH: u16 = 2048;
/// Most records handed to the reader at once.
const MAX_CHUNK_RECORDS: usize = 1024;
/// After a failed connect, appends fail at once for this long instead of reconnecting per request.
const APPEND_RETRY_AFTER: Duration = Duration::from_millis(250);
/// An append not confirmed within this (connecting included) gives up on its node. Shorter
/// than the `Publisher`'s own deadline (`NodeConfig::confirm_timeout`, 2 s), which drops the
/// append without telling the log, so the next append would go to the same node again.
const PUBLISH_CONFIRM_WITHIN: Duration = Duration::from_millis(1500);
/// Reader reconnect backoff: doubles from the first value up to the cap.
const READ_BACKOFF_FIRST: Duration = Duration::from_millis(100);
const READ_BACKOFF_CAP: Duration = Duration::from_secs(2);

/// Where the log lives: the broker's nodes and the stream's name, and how its creator shapes it.
#[derive(Debug, Clone)]
pub struct StreamAddress {
    pub urls: BrokerUrls,
    pub stream: String,
    pub retention: StreamRetention,
    /// Nodes a new stream is created on, its leader included (`x-initial-cluster-size`);
    /// `None`: the broker's default (every node of the cluster).
    pub initial_replicas: Option<u16>,
}

impl StreamAddress {
    /// The arguments a missing stream is declared with: a stream queue, the retention, and
    /// where its replicas go. The leader goes to the node the creating client is connected
    /// to (`client-local`): the APIs' own site, whose node every append then goes through.
    fn declare_arguments(&self) -> FieldTable {
        let mut arguments = self.retention.arguments();
        arguments.insert("x-queue-leader-locator".into(), AMQPValue::LongString("client-local".into()));
        if let Some(replicas) = self.initial_replicas {
            arguments.insert("x-initial-cluster-size".into(), AMQPValue::LongInt(i32::from(replicas)));
        }
        arguments
    }
}

/// How much of the log the broker keeps (`x-max-length-bytes`): it removes whole segments
/// (`x-stream-max-segment-size-bytes`) from the head once the stream is larger. The head is
/// covered by snapshots (a node bootstraps from a snapshot plus the retained tail), so the
/// broker's memory stays flat however many bards there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamRetention {
    /// `None`: keep everything.
    pub max_bytes: Option<u64>,
    pub segment_bytes: Option<u64>,
}

impl StreamRetention {
    fn arguments(&self) -> FieldTable {
        let mut arguments = FieldTable::default();
        arguments.insert("x-queue-type".into(), AMQPValue::LongString("stream".into()));
        if let Some(bytes) = self.max_bytes {
            arguments.insert("x-max-length-bytes".into(), AMQPValue::LongLongInt(bytes as i64));
        }
        if let Some(bytes) = self.segment_bytes {
            arguments.insert("x-stream-max-segment-size-bytes".into(), AMQPValue::LongLongInt(bytes as i64));
        }
        arguments
    }
}

pub struct RabbitMqLog {
    address: StreamAddress,
    publisher: Mutex<PublishSide>,
    /// The node the end/first probes and admin calls connect to first.
    probes: PreferredNode,
}

#[derive(Default)]
struct PublishSide {
    /// The open confirm-mode channel and the index of the node it is on.
    channel: Option<(Connection, Channel, usize)>,
    preferred: PreferredNode,
    last_failure: Option<Instant>,
}

impl PublishSide {
    /// Gives up on the current node after a missing or refused confirm: the next append goes
    /// to the next node (a node cut off from the cluster's majority never confirms).
    fn fail_over(&mut self, urls: &BrokerUrls) {
        if let Some((connection, _, node)) = self.channel.take() {
            self.preferred.move_past(node, urls);
            close_in_background(connection);
        }
    }
}

fn unavailable(what: &str, error: impl std::fmt::Display) -> LogError {
    LogError::Unavailable(format!("{what}: {error}"))
}

/// Connects to the first node that answers (from `preferred`) and makes sure the stream
/// exists there; the node's index with the connection.
async fn open_channel(
    address: &StreamAddress,
    preferred: &PreferredNode,
    name: &str,
) -> Result<(usize, (Connection, Channel)), LogError> {
    in_turn(&address.urls, preferred, name, |url| open_channel_at(url, address, name)).await
}

/// Connects to one node and makes sure the stream exists. An existing stream is only checked
/// (a passive declare): whoever created it set its retention, and a tool or an older instance
/// with other settings must not be refused for asking differently. A missing one is created
/// with ours.
async fn open_channel_at(
    url: &str,
    address: &StreamAddress,
    name: &str,
) -> Result<(Connection, Channel), LogError> {
    let properties = ConnectionProperties::default().with_connection_name(name.into());
    let connection = Connection::connect(url, properties).await.map_err(|e| unavailable("connect", e))?;
    let channel = connection.create_channel().await.map_err(|e| unavailable("channel", e))?;
    let stream = address.stream.as_str();
    let passive = QueueDeclareOptions { passive: true, durable: true, ..QueueDeclareOptions::default() };
    if channel.queue_declare(stream.into(), passive, FieldTable::default()).await.is_ok() {
        return Ok((connection, channel));
    }
    // The failed passive declare closed that channel (404): declare on a fresh one.
    let channel = connection.create_channel().await.map_err(|e| unavailable("channel", e))?;
    let options = QueueDeclareOptions { durable: true, ..QueueDeclareOptions::default() };
    channel
        .queue_declare(stream.into(), options, address.declare_arguments())
        .await
        .map_err(|e| unavailable("declare stream", e))?;
    Ok((connection, channel))
}

/// A confirm-mode channel on the first node that answers: the publisher's.
async fn open_confirm_channel(
    address: &StreamAddress,
    preferred: &PreferredNode,
) -> Result<(Connection, Channel, usize), LogError> {
    let (node, (connection, channel)) = in_turn(&address.urls, preferred, "publisher", |url| async move {
        let (connection, channel) = open_channel_at(url, address, "bardo-publisher").await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| unavailable("confirm", e))?;
        Ok((connection, channel))
    })
    .await?;
    Ok((connection, channel, node))
}

impl RabbitMqLog {
    /// Connects once to check the address and declare the stream.
    pub async fn connect(address: StreamAddress) -> Result<Arc<RabbitMqLog>, LogError> {
        let preferred = PreferredNode::default();
        let opened = open_confirm_channel(&address, &preferred).await?;
        let side = PublishSide { channel: Some(opened), preferred, last_failure: None };
        Ok(Arc::new(RabbitMqLog { address, publisher: Mutex::new(side), probes: PreferredNode::default() }))
    }

    /// Deletes the stream and everything in it (tests and disaster drills only).
    pub async fn delete_stream(&self) -> Result<(), LogError> {
        let (_, (connection, channel)) = open_channel(&self.address, &self.probes, "bardo-admin").await?;
        let options = lapin::options::QueueDeleteOptions::default();
        channel
            .queue_delete(self.address.stream.as_str().into(), options)
            .await
            .map_err(|e| unavailable("delete stream", e))?;
        let _ = connection.close(200, "deleted".into()).await;
        Ok(())
    }

    /// Appends within `PUBLISH_CONFIRM_WITHIN` (connecting included). A missing confirm or a
    /// nack gives up on the node; the record may still land (an uncertain error).
    async fn publish(&self, record: Bytes) -> Result<(), LogError> {
        let deadline = tokio::time::Instant::now() + PUBLISH_CONFIRM_WITHIN;
        let mut side = self.publisher.lock().await;
        let channel = self.ready_channel(&mut side, deadline).await?;
        let confirmed =
            tokio::time::timeout_at(deadline, confirm(&channel, &self.address.stream, &record)).await;
        let result = confirmed.unwrap_or(Err(LogError::Timeout(PUBLISH_CONFIRM_WITHIN)));
        if let Err(error) = &result {
            // The publisher actor logs the failure itself; this says where the next append goes.
            tracing::info!(%error, nodes = self.address.urls.len(), "giving up on this broker node's channel");
            side.fail_over(&self.address.urls);
        }
        result
    }

    /// The open channel, or a new one on the first node that answers before `deadline`.
    async fn ready_channel(
        &self,
        side: &mut PublishSide,
        deadline: tokio::time::Instant,
    ) -> Result<Channel, LogError> {
        match &side.channel {
            Some((_, channel, _)) if channel.status().connected() => return Ok(channel.clone()),
            Some(_) => side.fail_over(&self.address.urls),
            None => {}
        }
        if side.last_failure.is_some_and(|at| at.elapsed() < APPEND_RETRY_AFTER) {
            return Err(LogError::Unavailable("broker unreachable; retrying shortly".into()));
        }
        let opened = tokio::time::timeout_at(deadline, open_confirm_channel(&self.address, &side.preferred))
            .await
            .unwrap_or_else(|_| Err(LogError::Unavailable("no broker node answered in time".into())));
        match opened {
            Ok(opened) => {
                tracing::info!(stream = %self.address.stream, "publisher reconnected to the broker");
                side.last_failure = None;
                Ok(side.channel.insert(opened).1.clone())
            }
            Err(error) => {
                side.last_failure = Some(Instant::now());
                Err(error)
            }
        }
    }
}

/// Publishes one record and waits for the broker's ack.
async fn confirm(channel: &Channel, stream: &str, record: &[u8]) -> Result<(), LogError> {
    let properties = BasicProperties::default().with_delivery_mode(2);
    let pending = channel
        .basic_publish("".into(), stream.into(), BasicPublishOptions::default(), record, properties)
        .await
        .map_err(|e| LogError::Unconfirmed(format!("publish: {e}")))?;
    let confirmation = pending.await.map_err(|e| LogError::Unconfirmed(format!("confirm: {e}")))?;
    if confirmation.is_ack() {
        Ok(())
    } else {
        // A stream whose leader just died nacks, yet the record may have been written.
        Err(LogError::Unconfirmed("the broker refused the record (nack)".into()))
    }
}

impl EventLog for RabbitMqLog {
    fn append(&self, record: Bytes) -> BoxFuture<'_, Result<(), LogError>> {
        self.publish(record).boxed()
    }

    fn read_from(&self, first: Offset) -> BoxStream<'static, Result<Vec<LogEntry>, LogError>> {
        let (sender, receiver) = mpsc::channel(16);
        tokio::spawn(follow_stream(self.address.clone(), first, sender));
        tokio_stream_from(receiver)
    }

    fn end_offset(&self) -> BoxFuture<'_, Result<Offset, LogError>> {
        follow::probe_end_offset(&self.address, &self.probes).boxed()
    }

    fn first_offset(&self) -> BoxFuture<'_, Result<Offset, LogError>> {
        follow::probe_first_offset(&self.address, &self.probes).boxed()
    }

    fn describe(&self) -> String {
        format!("RabbitMQ stream {:?}", self.address.stream)
    }
}

fn tokio_stream_from(
    mut receiver: mpsc::Receiver<Result<Vec<LogEntry>, LogError>>,
) -> BoxStream<'static, Result<Vec<LogEntry>, LogError>> {
    futures::stream::poll_fn(move |context| receiver.poll_recv(context)).boxed()
}

mod beacons;
mod follow;
mod nodes;
pub use beacons::{relay_beacons, BeaconAddress};
use follow::follow_stream;
use nodes::{close_in_background, in_turn, PreferredNode};
pub use nodes::{redact_url, BrokerUrls, BrokerUrlsError};

/// How long the first-offset probe waits for a delivery, and how often it tries. A node of a
/// three-broker cluster under its CPU quota took > 500 ms to deliver from `first`; an empty
/// stream pays this wait once, at startup.
const FIRST_PROBE_WAIT: Duration = Duration::from_secs(2);
const FIRST_PROBE_ATTEMPTS: usize = 3;
/// How long the end probe waits for the last chunk before calling the stream empty. Short:
/// `/status` probes the end, and on an empty stream every probe waits this long in full.
const END_PROBE_IDLE: Duration = Duration::from_millis(300);

#[cfg(test)]
mod tests {
    use super::*;

    fn address(initial_replicas: Option<u16>) -> StreamAddress {
        let urls = BrokerUrls::parse("amqp://a,amqp://b,amqp://c").expect("three URLs");
        StreamAddress {
            urls,
            stream: "bards.events".into(),
            retention: StreamRetention::default(),
            initial_replicas,
        }
    }

    #[test]
    fn new_streams_lead_from_the_creating_clients_node() {
        let arguments = address(None).declare_arguments();
        let leader = arguments.inner().get("x-queue-leader-locator");
        assert_eq!(leader, Some(&AMQPValue::LongString("client-local".into())));
        assert_eq!(arguments.inner().get("x-queue-type"), Some(&AMQPValue::LongString("stream".into())));
        assert!(arguments.inner().get("x-initial-cluster-size").is_none(), "the broker's default");
    }

    #[test]
    fn initial_replicas_set_the_initial_cluster_size() {
        let arguments = address(Some(3)).declare_arguments();
        assert_eq!(arguments.inner().get("x-initial-cluster-size"), Some(&AMQPValue::LongInt(3)));
    }
}
