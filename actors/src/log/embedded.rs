//! In-process log for standalone mode: records live in a vector, readers wait on a watch.

use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt};
use parking_lot::RwLock;
use tokio::sync::watch;

use super::{EventLog, LogEntry, LogError, Offset};

/// Largest chunk handed to a reader at once, so one reader cannot hog the apply loop.
const MAX_CHUNK_RECORDS: usize = 1024;

#[derive(Clone)]
pub struct EmbeddedLog {
    inner: Arc<Inner>,
}

struct Inner {
    records: RwLock<Vec<Bytes>>,
    length: watch::Sender<u64>,
}

impl Default for EmbeddedLog {
    fn default() -> Self {
        let (length, _) = watch::channel(0);
        EmbeddedLog { inner: Arc::new(Inner { records: RwLock::new(vec![]), length }) }
    }
}

impl EmbeddedLog {
    fn append_now(&self, record: Bytes) {
        let mut records = self.inner.records.write();
        records.push(record);
        let length = records.len() as u64;
        // Notify while holding the lock so readers never see the length run backwards.
        self.inner.length.send_replace(length);
    }

    fn chunk(&self, first: Offset, end: Offset) -> Vec<LogEntry> {
        let records = self.inner.records.read();
        let last = end.min(first + MAX_CHUNK_RECORDS as u64);
        (first..last).map(|offset| LogEntry { offset, payload: records[offset as usize].clone() }).collect()
    }
}

impl EventLog for EmbeddedLog {
    fn append(&self, record: Bytes) -> BoxFuture<'_, Result<(), LogError>> {
        self.append_now(record);
        Box::pin(async move { Ok(()) })
    }

    fn read_from(&self, first: Offset) -> BoxStream<'static, Result<Vec<LogEntry>, LogError>> {
        let log = self.clone();
        let watcher = self.inner.length.subscribe();
        stream::unfold((log, watcher, first), |(log, mut watcher, next)| async move {
            loop {
                let end = *watcher.borrow_and_update();
                if next < end {
                    let chunk = log.chunk(next, end);
                    let after = next + chunk.len() as u64;
                    return Some((Ok(chunk), (log, watcher, after)));
                }
                // The sender lives as long as `log`, which this stream owns: never closed.
                watcher.changed().await.ok()?;
            }
        })
        .boxed()
    }

    fn end_offset(&self) -> BoxFuture<'_, Result<Offset, LogError>> {
        let end = self.inner.records.read().len() as u64;
        Box::pin(async move { Ok(end) })
    }

    /// The embedded log keeps every record.
    fn first_offset(&self) -> BoxFuture<'_, Result<Offset, LogError>> {
        Box::pin(async move { Ok(0) })
    }

    fn describe(&self) -> String {
        "embedded in-process log (standalone)".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn readers_see_every_record_in_order_including_later_ones() {
        let log = EmbeddedLog::default();
        for n in 0..3u8 {
            log.append(Bytes::from(vec![n])).await.unwrap();
        }
        assert_eq!(log.end_offset().await.unwrap(), 3);
        let mut reader = log.read_from(1);
        let first = reader.next().await.unwrap().unwrap();
        assert_eq!(first.iter().map(|e| e.offset).collect::<Vec<_>>(), [1, 2]);
        let pending = tokio::spawn(async move { reader.next().await.unwrap().unwrap() });
        log.append(Bytes::from_static(b"late")).await.unwrap();
        let late = pending.await.unwrap();
        assert_eq!(late, vec![LogEntry { offset: 3, payload: Bytes::from_static(b"late") }]);
        assert_eq!(log.end_offset().await.unwrap(), 4);
    }
}
