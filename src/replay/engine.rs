//! The replay loop: read records in offset order, decode, apply to a fresh `State`.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use bardo_actors::event::{decode_record, Event};
use bardo_actors::log::{EventLog, LogEntry, Offset};
use bardo_actors::snapshot::SnapshotDecoder;
use bardo_actors::state::{Outcome, State};
use futures::StreamExt;

use super::progress::Progress;
use super::republish::Republisher;

/// How long the reader may go without a single record before the replay gives up: the
/// records below the end offset exist, so a silence this long means the broker is away.
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Snapshot bards applied at a time.
const SNAPSHOT_BATCH: usize = 8192;
/// Undecodable offsets kept for the report (all are counted and logged).
const UNDECODABLE_LISTED: usize = 20;

/// What a replay has read and applied so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayStats {
    pub records: u64,
    pub events: u64,
    pub created: u64,
    pub apelido_taken: u64,
    pub id_taken: u64,
    pub barriers: u64,
    pub undecodable: u64,
    /// The first few undecodable offsets, for the report.
    pub undecodable_offsets: Vec<Offset>,
    /// Offset of the first record read (above 0 when retention removed the log's head).
    pub first_offset: Option<Offset>,
    /// Bards taken from a snapshot before the log, and the offset it resumed at.
    pub snapshot: Option<(u64, Offset)>,
    pub last_offset: Option<Offset>,
}

/// A state rebuilt from the log, resumable: `read_until` again to apply a later tail.
pub struct Replay {
    state: State,
    next: Offset,
    stats: ReplayStats,
    reading: Duration,
    stall_timeout: Duration,
    progress: Option<Progress>,
    republisher: Option<Republisher>,
}

impl Default for Replay {
    fn default() -> Self {
        Replay::new()
    }
}

/// Replays `log` from offset 0 up to (not including) `end` into a fresh `State`.
pub async fn replay_log(log: &dyn EventLog, end: Offset) -> anyhow::Result<Replay> {
    let mut replay = Replay::new();
    replay.read_until(log, end).await?;
    Ok(replay)
}

impl Replay {
    /// A fresh state, positioned at offset 0.
    pub fn new() -> Replay {
        Replay {
            state: State::default(),
            next: 0,
            stats: ReplayStats::default(),
            reading: Duration::ZERO,
            stall_timeout: DEFAULT_STALL_TIMEOUT,
            progress: None,
            republisher: None,
        }
    }

    pub fn with_stall_timeout(mut self, timeout: Duration) -> Replay {
        self.stall_timeout = timeout;
        self
    }

    /// Draws a progress line on stderr while reading.
    pub fn with_progress(mut self, progress: Progress) -> Replay {
        self.progress = Some(progress);
        self
    }

    /// Also writes every record read, unchanged, into `republisher`'s (empty) target.
    pub fn with_republisher(mut self, republisher: Republisher) -> Replay {
        self.republisher = Some(republisher);
        self
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn stats(&self) -> &ReplayStats {
        &self.stats
    }

    /// The offset of the next record to apply: every record before it is applied.
    pub fn next_offset(&self) -> Offset {
        self.next
    }

    /// Time spent reading and applying (excludes waits between `read_until` calls).
    pub fn elapsed(&self) -> Duration {
        self.reading
    }

    pub fn events_per_second(&self) -> f64 {
        per_second(self.stats.events, self.reading)
    }

    pub fn republisher(&self) -> Option<&Republisher> {
        self.republisher.as_ref()
    }

    pub fn take_republisher(&mut self) -> Option<Republisher> {
        self.republisher.take()
    }
}

pub(crate) fn per_second(count: u64, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

impl Replay {
    /// Starts from a snapshot: its bards through the same `apply`, then the log at its offset.
    /// With a republisher, the bards are written into the target first.
    pub async fn load_snapshot<R: std::io::Read>(
        &mut self,
        mut snapshot: SnapshotDecoder<R>,
    ) -> anyhow::Result<()> {
        anyhow::ensure!(self.next == 0 && self.stats.records == 0, "a snapshot must come before the log");
        let header = snapshot.header();
        loop {
            let events = snapshot.next_batch(SNAPSHOT_BATCH).context("reading the snapshot")?;
            if events.is_empty() {
                break;
            }
            for event in &events {
                self.count(event);
            }
            if let Some(republisher) = &mut self.republisher {
                republisher.write_events(&events).await?;
            }
        }
        self.next = header.next_offset;
        self.stats.snapshot = Some((header.bards, header.next_offset));
        Ok(())
    }

    /// Applies one event and counts its outcome.
    fn count(&mut self, event: &Event) {
        let stats = &mut self.stats;
        stats.events += 1;
        match self.state.apply(event) {
            Outcome::Created => stats.created += 1,
            Outcome::ApelidoTaken => stats.apelido_taken += 1,
            Outcome::IdTaken => stats.id_taken += 1,
            Outcome::Barrier => stats.barriers += 1,
        }
    }

    /// Applies every record from `next_offset()` up to (not including) `end`, then returns.
    /// `log.read_from` never ends by itself, so the end offset is what makes this terminate.
    pub async fn read_until(&mut self, log: &dyn EventLog, end: Offset) -> anyhow::Result<()> {
        if self.next >= end {
            return Ok(());
        }
        let began = Instant::now();
        if let Some(progress) = &mut self.progress {
            progress.begin(self.next, end, self.stats.events);
        }
        let result = self.read_chunks(log, end).await;
        self.reading += began.elapsed();
        if let Some(progress) = &mut self.progress {
            progress.finish(&self.stats, self.next);
        }
        result
    }

    async fn read_chunks(&mut self, log: &dyn EventLog, end: Offset) -> anyhow::Result<()> {
        let mut chunks = log.read_from(self.next);
        let mut last_record = Instant::now();
        let mut last_error = None;
        while self.next < end {
            let waited = last_record.elapsed();
            let left = self.stall_timeout.saturating_sub(waited);
            match tokio::time::timeout(left, chunks.next()).await {
                Ok(Some(Ok(entries))) => {
                    self.apply_chunk(entries, end).await?;
                    last_record = Instant::now();
                }
                // The reader reconnects by itself; remember why, in case it never comes back.
                Ok(Some(Err(error))) => {
                    tracing::warn!(%error, next = self.next, "log read interrupted; reconnecting");
                    last_error = Some(error.to_string());
                }
                Ok(None) => anyhow::bail!("the log reader ended at offset {}", self.next),
                Err(_) => anyhow::bail!(
                    "no record for {:?} at offset {} of {end} (last error: {}): is the broker reachable?",
                    self.stall_timeout,
                    self.next,
                    last_error.as_deref().unwrap_or("none"),
                ),
            }
        }
        Ok(())
    }

    /// Applies the entries of one chunk below `end` that were not applied yet, in order.
    async fn apply_chunk(&mut self, entries: Vec<LogEntry>, end: Offset) -> anyhow::Result<()> {
        let fresh: Vec<LogEntry> =
            entries.into_iter().filter(|entry| entry.offset >= self.next && entry.offset < end).collect();
        for entry in &fresh {
            self.apply_entry(entry);
        }
        if let Some(republisher) = &mut self.republisher {
            republisher.write(&fresh).await.context("republishing records")?;
        }
        if let Some(progress) = &mut self.progress {
            progress.tick(&self.stats, self.next);
        }
        Ok(())
    }

    fn apply_entry(&mut self, entry: &LogEntry) {
        let stats = &mut self.stats;
        stats.records += 1;
        stats.first_offset.get_or_insert(entry.offset);
        stats.last_offset = Some(entry.offset);
        self.next = entry.offset + 1;
        let record = match decode_record(&entry.payload) {
            Ok(record) => record,
            Err(error) => {
                // A bug or a foreign writer: say where, count it, keep going.
                tracing::error!(offset = entry.offset, %error, "skipping undecodable record");
                stats.undecodable += 1;
                if stats.undecodable_offsets.len() < UNDECODABLE_LISTED {
                    stats.undecodable_offsets.push(entry.offset);
                }
                return;
            }
        };
        for event in &record.events {
            self.count(event);
        }
    }
}
