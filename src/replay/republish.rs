//! Disaster recovery: copy every record, byte for byte and with the same boundaries, into an
//! empty stream. Only into an empty one: offsets then match the source's one to one, and a
//! half-filled target can never end up holding a log twice.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use bardo_actors::event::{encode_record, Event};
use bardo_actors::log::{EventLog, LogEntry, Offset};
use bytes::Bytes;

/// Snapshot bards per republished record (about 100 KiB).
const EVENTS_PER_RECORD: usize = 1024;

pub struct Republisher {
    target: Arc<dyn EventLog>,
    written: u64,
}

impl std::fmt::Debug for Republisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Republisher")
            .field("target", &self.target.describe())
            .field("written", &self.written)
            .finish()
    }
}

impl Republisher {
    /// Checks that `target` is empty (end offset 0); refuses otherwise.
    pub async fn open(target: Arc<dyn EventLog>, timeout: Duration) -> anyhow::Result<Self> {
        let end = tokio::time::timeout(timeout, target.end_offset())
            .await
            .map_err(|_| anyhow::anyhow!("probing the republish target timed out after {timeout:?}"))?
            .with_context(|| format!("probing the republish target {}", target.describe()))?;
        anyhow::ensure!(
            end == 0,
            "refusing to republish: the target {} is not empty (end offset {end}); \
             republish only into an empty stream (a fresh name, or delete it first)",
            target.describe()
        );
        Ok(Republisher { target, written: 0 })
    }

    /// Appends the records in order, each awaiting its confirm, so order and boundaries hold.
    /// No retry: an append whose confirm was lost may still have landed, and a retry would
    /// then duplicate it; stopping leaves the operator an exact count instead.
    pub async fn write(&mut self, entries: &[LogEntry]) -> anyhow::Result<()> {
        for entry in entries {
            self.target.append(entry.payload.clone()).await.with_context(|| {
                format!(
                    "appending source offset {} to {} after {} records confirmed",
                    entry.offset,
                    self.target.describe(),
                    self.written
                )
            })?;
            self.written += 1;
        }
        Ok(())
    }

    /// Appends events as new records (a snapshot's bards, `EVENTS_PER_RECORD` a record): the
    /// target's offsets then no longer match the source's, which the report says.
    pub async fn write_events(&mut self, events: &[Event]) -> anyhow::Result<()> {
        for chunk in events.chunks(EVENTS_PER_RECORD) {
            let record = Bytes::from(encode_record(chunk));
            self.target.append(record).await.with_context(|| {
                format!(
                    "appending snapshot bards to {} after {} records",
                    self.target.describe(),
                    self.written
                )
            })?;
            self.written += 1;
        }
        Ok(())
    }

    /// Records confirmed by the target so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The target's end offset now (probed), to show that it holds what was written.
    pub async fn target_end(&self, timeout: Duration) -> anyhow::Result<Offset> {
        tokio::time::timeout(timeout, self.target.end_offset())
            .await
            .map_err(|_| anyhow::anyhow!("probing the republish target timed out after {timeout:?}"))?
            .context("probing the republish target's end offset")
    }

    pub fn describe(&self) -> String {
        self.target.describe()
    }
}
