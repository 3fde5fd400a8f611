//! The event log on a RabbitMQ **stream** queue over AMQP 0.9.1 (lapin).
//!
//! - Append: a confirm-mode channel; `append` resolves only on the broker's ack. While the broker
//!   is away, appends fail fast (`Unavailable`) so creates answer 503 instead of hanging.
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
/// Reader reconnect backoff: doubles from the first value up to the cap.
const READ_BACKOFF_FIRST: Duration = Duration::from_millis(100);
const READ_BACKOFF_CAP: Duration = Duration::from_secs(2);

/// Where the log lives: broker URL and stream name, and the retention its creator sets.
#[derive(Debug, Clone)]
pub struct StreamAddress {
    pub url: String,
    pub stream: String,
    pub retention: StreamRetention,
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
}

#[derive(Default)]
struct PublishSide {
    channel: Option<(Connection, Channel)>,
    last_failure: Option<Instant>,
}

fn unavailable(what: &str, error: impl std::fmt::Display) -> LogError {
    LogError::Unavailable(format!("{what}: {error}"))
}

/// Connects and makes sure the stream exists. An existing stream is only checked (a passive
/// declare): whoever created it set its retention, and a tool or an older instance with other
/// settings must not be refused for asking differently. A missing one is created with ours.
async fn open_channel(address: &StreamAddress, name: &str) -> Result<(Connection, Channel), LogError> {
    let properties = ConnectionProperties::default().with_connection_name(name.into());
    let connection =
        Connection::connect(&address.url, properties).await.map_err(|e| unavailable("connect", e))?;
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
        .queue_declare(stream.into(), options, address.retention.arguments())
        .await
        .map_err(|e| unavailable("declare stream", e))?;
    Ok((connection, channel))
}

impl RabbitMqLog {
    /// Connects once to check the address and declare the stream.
    pub async fn connect(address: StreamAddress) -> Result<Arc<RabbitMqLog>, LogError> {
        let (connection, channel) = open_channel(&address, "bardo-publisher").await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| unavailable("confirm", e))?;
        let side = PublishSide { channel: Some((connection, channel)), last_failure: None };
        Ok(Arc::new(RabbitMqLog { address, publisher: Mutex::new(side) }))
    }

    /// Deletes the stream and everything in it (tests and disaster drills only).
    pub async fn delete_stream(&self) -> Result<(), LogError> {
        let (connection, channel) = open_channel(&self.address, "bardo-admin").await?;
        let options = lapin::options::QueueDeleteOptions::default();
        channel
            .queue_delete(self.address.stream.as_str().into(), options)
            .await
            .map_err(|e| unavailable("delete stream", e))?;
        let _ = connection.close(200, "deleted".into()).await;
        Ok(())
    }

    async fn publish(&self, record: Bytes) -> Result<(), LogError> {
        let mut side = self.publisher.lock().await;
        let channel = match &side.channel {
            Some((_, channel)) if channel.status().connected() => channel.clone(),
            _ => {
                if side.last_failure.is_some_and(|at| at.elapsed() < APPEND_RETRY_AFTER) {
                    return Err(LogError::Unavailable("broker unreachable; retrying shortly".into()));
                }
                match self.reopen().await {
                    Ok(opened) => side.channel.insert(opened).1.clone(),
                    Err(error) => {
                        side.channel = None;
                        side.last_failure = Some(Instant::now());
                        return Err(error);
                    }
                }
            }
        };
        let result = confirm(&channel, &self.address.stream, &record).await;
        if result.is_err() {
            side.channel = None;
            side.last_failure = Some(Instant::now());
        }
        result
    }

    async fn reopen(&self) -> Result<(Connection, Channel), LogError> {
        let (connection, channel) = open_channel(&self.address, "bardo-publisher").await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| unavailable("confirm", e))?;
        tracing::info!(stream = %self.address.stream, "publisher reconnected to the broker");
        Ok((connection, channel))
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
        Err(LogError::Unavailable("the broker refused the record (nack)".into()))
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
        follow::probe_end_offset(&self.address).boxed()
    }

    fn first_offset(&self) -> BoxFuture<'_, Result<Offset, LogError>> {
        follow::probe_first_offset(&self.address).boxed()
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
pub use beacons::{relay_beacons, BeaconAddress};
use follow::follow_stream;

/// How long the first-offset probe waits for a delivery, and how often it tries.
const FIRST_PROBE_WAIT: Duration = Duration::from_millis(500);
const FIRST_PROBE_ATTEMPTS: usize = 3;
/// How long the end probe waits for the last chunk before calling the stream empty.
const END_PROBE_IDLE: Duration = Duration::from_millis(300);
