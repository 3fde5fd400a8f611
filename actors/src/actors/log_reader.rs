//! `LogReader`: one per process. Consumes the log in order, has each event applied by the shard
//! that owns its apelido, then publishes the outcome: read view, search index, waiting requests.
//! Batches are applied one at a time, so every instance sees every shard in log order.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use actix::prelude::*;
use futures::future::join_all;

use super::search_index::{IndexBards, SearchIndex};
use super::shard::{ApplyEvents, Shard};
use crate::event::{decode_record, Event};
use crate::log::{EventLog, LogEntry, LogError, Offset};
use crate::model::Bard;
use crate::read_view::{BardLocation, ReadView};
use crate::state::{shard_for, Applied, Outcome};
use crate::supervision::{guarded, Supervisable, Supervision};
use crate::waiters::OutcomeWaiters;

mod on_gap;

pub use on_gap::{OnLogGap, MAX_RESTARTS_IN_PLACE, RESTARTS_VARIABLE};

/// Offsets a stream spends at each segment start that carry no record (its tracking chunk).
pub const SEGMENT_START_OFFSETS: Offset = 1;

/// The exit code of a node that found a hole in the log (EX_TEMPFAIL): restarted, it takes a
/// fresh snapshot that covers the hole.
pub const LOG_GAP_EXIT_CODE: i32 = 75;

/// Records this node needed are no longer in the log (retention removed them while it was
/// away, or it started without a snapshot after the head was removed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the log skips from offset {expected} to {found}: records {expected}..{found} were removed by \
     retention before this node applied them; start it from a snapshot taken at or after offset \
     {found} (BARDO_SNAPSHOT_URL)"
)]
pub struct LogGap {
    pub expected: Offset,
    pub found: Offset,
}

/// How far this process has applied the log; read by `/status` and the catch-up wait.
#[derive(Debug, Default)]
pub struct LogProgress {
    /// The offset of the next record to apply (all before it are applied).
    pub next_offset: AtomicU64,
    pub events_applied: AtomicU64,
    pub bards_created: AtomicU64,
    pub undecodable_records: AtomicU64,
}

impl LogProgress {
    pub fn next_offset(&self) -> Offset {
        self.next_offset.load(Ordering::Acquire)
    }
}

/// What the reader needs to reach: the shards, the index, and the read side it publishes to.
#[derive(Clone)]
pub struct ApplyTargets {
    pub shards: Vec<Addr<Shard>>,
    pub search_index: Addr<SearchIndex>,
    pub view: Arc<ReadView>,
    pub waiters: Arc<OutcomeWaiters>,
}

pub struct LogReader {
    log: Arc<dyn EventLog>,
    targets: ApplyTargets,
    progress: Arc<LogProgress>,
    supervision: Supervision,
    on_gap: OnLogGap,
}

impl LogReader {
    pub fn new(
        log: Arc<dyn EventLog>,
        targets: ApplyTargets,
        progress: Arc<LogProgress>,
        supervision: Supervision,
        on_gap: OnLogGap,
    ) -> Self {
        LogReader { log, targets, progress, supervision, on_gap }
    }

    fn decode(&self, entries: Vec<LogEntry>) -> Result<(Vec<Event>, Option<Offset>), LogGap> {
        decode_entries(self.progress.next_offset(), entries, &self.progress.undecodable_records)
    }

    fn applied(&self, last: Offset, applied: AppliedBatch) {
        self.progress.events_applied.fetch_add(applied.events, Ordering::Relaxed);
        self.progress.bards_created.fetch_add(applied.created, Ordering::Relaxed);
        self.progress.next_offset.store(last + 1, Ordering::Release);
    }
}

impl Actor for LogReader {
    type Context = Context<Self>;

    /// Also after a restart: the log is read again from the first offset not applied.
    fn started(&mut self, ctx: &mut Self::Context) {
        self.supervision.hold_back(ctx);
        ctx.add_stream(self.log.read_from(self.progress.next_offset()));
    }
}

impl Supervised for LogReader {}

impl Supervisable for LogReader {
    fn supervision(&mut self) -> &mut Supervision {
        &mut self.supervision
    }
}

impl StreamHandler<Result<Vec<LogEntry>, LogError>> for LogReader {
    fn handle(&mut self, item: Result<Vec<LogEntry>, LogError>, ctx: &mut Self::Context) {
        let entries = match item {
            Ok(entries) => entries,
            Err(error) => return tracing::warn!(%error, "log read interrupted"),
        };
        let (events, last) = match guarded(self, ctx, |reader, _| reader.decode(entries)) {
            Some(Ok((events, Some(last)))) => (events, last),
            Some(Ok((_, None))) | None => return,
            Some(Err(gap)) => {
                tracing::error!(%gap, "this node cannot hold a complete state");
                return self.on_gap.act(&gap);
            }
        };
        let apply = apply_batch(self.targets.clone(), events);
        // `wait` holds back the next batch until this one is applied: log order is kept.
        ctx.wait(apply.into_actor(self).map(move |result, reader, _| match result {
            Ok(applied) => reader.applied(last, applied),
            Err(error) => {
                tracing::error!(%error, "a shard is gone; state can no longer follow the log");
                System::current().stop_with_code(70);
            }
        }));
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        self.supervision.fail(ctx, "the event log stream ended");
    }
}

/// Decodes the entries from `next` on (a re-delivery after reconnect is skipped by offset).
/// Offsets follow each other, but for one at each segment start (the broker's own chunk,
/// measured: `tests/retention.rs`): a larger hole means records this node never saw are gone.
fn decode_entries(
    next: Offset,
    entries: Vec<LogEntry>,
    undecodable: &AtomicU64,
) -> Result<(Vec<Event>, Option<Offset>), LogGap> {
    let mut events = vec![];
    let mut last = None;
    for entry in entries.into_iter().filter(|entry| entry.offset >= next) {
        let expected = last.map_or(next, |last| last + 1);
        if entry.offset > expected + SEGMENT_START_OFFSETS {
            return Err(LogGap { expected, found: entry.offset });
        }
        match decode_record(&entry.payload) {
            Ok(record) => events.extend(record.events),
            Err(error) => {
                undecodable.fetch_add(1, Ordering::Relaxed);
                tracing::error!(offset = entry.offset, %error, "skipping undecodable record");
            }
        }
        last = Some(entry.offset);
    }
    Ok((events, last))
}

#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct AppliedBatch {
    events: u64,
    created: u64,
}

/// Applies one batch: shards decide in parallel (each in order), then results are published.
pub(crate) async fn apply_batch(
    targets: ApplyTargets,
    events: Vec<Event>,
) -> Result<AppliedBatch, MailboxError> {
    let shard_count = targets.shards.len();
    let mut per_shard: Vec<Vec<Event>> = vec![vec![]; shard_count];
    for event in &events {
        if let Event::BardCreated(created) = event {
            per_shard[shard_for(&created.bard.apelido, shard_count)].push(event.clone());
        }
    }
    let sends = targets.shards.iter().zip(per_shard).map(|(shard, events)| apply_on_shard(shard, events));
    let mut decisions = Vec::with_capacity(shard_count);
    for applied in join_all(sends).await {
        decisions.push(applied?.into_iter());
    }
    let mut decided = Vec::with_capacity(events.len());
    for event in events {
        let (applied, shard) = match &event {
            Event::BardCreated(created) => {
                let shard = shard_for(&created.bard.apelido, shard_count);
                (decisions[shard].next().expect("one decision per event sent"), shard)
            }
            Event::LogBarrier(_) => (Applied { outcome: Outcome::Barrier, position: None }, 0),
        };
        decided.push(Decided { event, applied, shard: shard as u32 });
    }
    publish_outcomes(&targets, decided).await
}

/// One event with its shard's decision.
struct Decided {
    event: Event,
    applied: Applied,
    shard: u32,
}

/// One shard's part of a batch. A shard that fails rolls back what it applied of the batch,
/// which is not published yet (that happens below, after every shard decided): sending the same
/// events again gives the decisions the failed attempt would have given. The shard's own
/// restart backoff paces the retries.
async fn apply_on_shard(shard: &Addr<Shard>, events: Vec<Event>) -> Result<Vec<Applied>, MailboxError> {
    if events.is_empty() {
        return Ok(vec![]);
    }
    loop {
        if let Some(applied) = shard.send(ApplyEvents { events: events.clone() }).await? {
            return Ok(applied);
        }
        tracing::warn!(events = events.len(), "a shard failed mid-batch; sending the batch again");
    }
}

/// Makes created bards readable and searchable, then wakes the requests waiting for them.
async fn publish_outcomes(
    targets: &ApplyTargets,
    decided: Vec<Decided>,
) -> Result<AppliedBatch, MailboxError> {
    let mut locations = vec![];
    let mut created: Vec<Arc<Bard>> = vec![];
    for Decided { event, applied, shard } in &decided {
        if let (Event::BardCreated(c), Some(position)) = (event, applied.position) {
            locations.push(BardLocation { shard: *shard, position });
            created.push(Arc::clone(&c.bard));
        }
    }
    let applied = AppliedBatch { events: decided.len() as u64, created: created.len() as u64 };
    if !created.is_empty() {
        let first_sequence = targets.view.publish(&locations);
        // Enqueue without waiting for the index to take the documents (`send` resolves only
        // after the handler ran: every create would wait on tantivy). Wait only when full.
        match targets.search_index.try_send(IndexBards { first_sequence, bards: created }) {
            Ok(()) => {}
            Err(SendError::Full(batch)) => targets.search_index.send(batch).await?,
            Err(SendError::Closed(_)) => return Err(MailboxError::Closed),
        }
    }
    for Decided { event, applied: decision, .. } in decided {
        match event {
            Event::BardCreated(created) => targets.waiters.resolve(created.bard.id, decision.outcome),
            Event::LogBarrier(barrier) => targets.waiters.resolve(barrier.barrier, decision.outcome),
        }
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{encode_record, LogBarrier};

    fn entries(offsets: &[Offset]) -> Vec<LogEntry> {
        let record = encode_record(&[Event::LogBarrier(LogBarrier { barrier: uuid::Uuid::nil() })]);
        offsets.iter().map(|&offset| LogEntry { offset, payload: record.clone().into() }).collect()
    }

    #[test]
    fn a_segment_start_is_no_hole_but_a_larger_skip_is() {
        let undecodable = AtomicU64::new(0);
        let (events, last) = decode_entries(5, entries(&[3, 4, 5, 6, 8, 9]), &undecodable).unwrap();
        assert_eq!((events.len(), last), (4, Some(9)), "re-deliveries skipped, one offset skipped at 7");
        let gap = decode_entries(5, entries(&[5, 6, 9]), &undecodable).unwrap_err();
        assert_eq!(gap, LogGap { expected: 7, found: 9 });
        let gap = decode_entries(0, entries(&[2, 3]), &undecodable).unwrap_err();
        assert_eq!(gap, LogGap { expected: 0, found: 2 }, "a node from offset 0 on a cut log");
        assert_eq!(undecodable.load(Ordering::Relaxed), 0);
    }
}
