//! The event log abstraction: one totally ordered sequence of records. Standalone mode uses
//! the in-process `EmbeddedLog`; the RabbitMQ stream implements the same trait.

mod embedded;
mod rabbitmq;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;

pub use embedded::EmbeddedLog;
pub use rabbitmq::{
    redact_url, relay_beacons, BeaconAddress, BrokerUrls, BrokerUrlsError, RabbitMqLog, StreamAddress,
    StreamRetention,
};

/// Position of a record in the log, from 0.
pub type Offset = u64;

/// One record as read back, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub offset: Offset,
    pub payload: Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    /// The log cannot confirm writes right now (broker away); callers answer 503.
    #[error("event log unavailable: {0}")]
    Unavailable(String),
    /// The log did not confirm within the bounded wait.
    #[error("event log did not confirm within {0:?}")]
    Timeout(std::time::Duration),
    /// The record was sent but not confirmed (the connection dropped, or the broker nacked it:
    /// a stream whose leader just changed nacks records it may still have written): it may or
    /// may not be in the log.
    #[error("event log lost the connection before confirming: {0}")]
    Unconfirmed(String),
}

impl LogError {
    /// Whether the record may still be in the log (sent, fate unknown), as opposed to a record
    /// that was certainly not written (never sent, or refused).
    pub fn is_uncertain(&self) -> bool {
        matches!(self, LogError::Timeout(_) | LogError::Unconfirmed(_))
    }
}

/// Where records are appended (with confirmation) and read back in order.
pub trait EventLog: Send + Sync + 'static {
    /// Appends one record; resolves once the log has durably accepted it (a publisher confirm).
    fn append(&self, record: Bytes) -> BoxFuture<'_, Result<(), LogError>>;

    /// Every record from `first` on, in order, in chunks of whatever is available; the stream
    /// waits for new records at the end instead of finishing.
    fn read_from(&self, first: Offset) -> BoxStream<'static, Result<Vec<LogEntry>, LogError>>;

    /// The offset the next appended record will get (the number of records, for a log from 0).
    fn end_offset(&self) -> BoxFuture<'_, Result<Offset, LogError>>;

    /// The offset of the first record still held: above 0 once retention removed the head
    /// (the end offset when nothing is held).
    fn first_offset(&self) -> BoxFuture<'_, Result<Offset, LogError>>;

    /// A short human description for `/status` and logs.
    fn describe(&self) -> String;
}
