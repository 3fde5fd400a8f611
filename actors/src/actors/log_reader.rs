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
}

impl LogReader {
    pub fn new(
        log: Arc<dyn EventLog>,
        targets: ApplyTargets,
        progress: Arc<LogProgress>,
        supervision: Supervision,
    ) -> Self {
        LogReader { log, targets, progress, supervision }
    }

    /// Decodes the entries not applied yet (a re-delivery after reconnect is skipped by offset).
    fn decode(&self, entries: Vec<LogEntry>) -> (Vec<Event>, Option<Offset>) {
        let next = self.progress.next_offset();
        let mut events = vec![];
        let mut last = None;
        for entry in entries.into_iter().filter(|entry| entry.offset >= next) {
            match decode_record(&entry.payload) {
                Ok(record) => events.extend(record.events),
                Err(error) => {
                    self.progress.undecodable_records.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(offset = entry.offset, %error, "skipping undecodable record");
                }
            }
            last = Some(entry.offset);
        }
        (events, last)
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
        let Some((events, Some(last))) = guarded(self, ctx, |reader, _| reader.decode(entries)) else {
            return;
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
