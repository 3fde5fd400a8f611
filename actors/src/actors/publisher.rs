//! `Publisher`: owns the append side of the event log, with group commit — every event that
//! arrives while one append awaits its confirmation goes out together in the next record. No
//! added latency when idle; far fewer log records (broker messages) under load.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::Bytes;
use tokio::sync::oneshot;

use crate::event::{encode_record, Event};
use crate::latency::CreateLatency;
use crate::log::{EventLog, LogError};
use crate::supervision::{guarded, Supervisable, Supervision};

/// Requests queued in the mailbox before senders wait.
const PUBLISHER_MAILBOX_CAPACITY: usize = 4096;
/// Most events in one record, so one record stays small (≈ 100 bytes an event).
const MAX_EVENTS_PER_RECORD: usize = 1024;

/// Resolves with the moment the broker's ack reached the publisher.
type Confirmation = oneshot::Sender<Result<Instant, LogError>>;

/// An event waiting for the next record.
struct Queued {
    event: Event,
    confirmation: Confirmation,
    since: Instant,
}

/// Counters shown in `/status`: events / records is the group-commit factor.
#[derive(Debug, Default)]
pub struct PublisherStats {
    pub records: AtomicU64,
    pub events: AtomicU64,
    pub failures: AtomicU64,
}

pub struct Publisher {
    log: Arc<dyn EventLog>,
    confirm_timeout: Duration,
    queued: Vec<Queued>,
    in_flight: bool,
    stats: Arc<PublisherStats>,
    latency: Arc<CreateLatency>,
    pacing: RecordPacing,
    supervision: Supervision,
}

/// Group-commit pacing: at most one record per `min_interval`. An idle publisher flushes at
/// once (no added latency); under load, events wait at most `min_interval` and share a record,
/// which is what keeps the broker's per-message CPU small.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordPacing {
    pub min_interval: Duration,
    last_flush: Option<std::time::Instant>,
    flush_scheduled: bool,
}

impl RecordPacing {
    pub fn new(min_interval: Duration) -> Self {
        RecordPacing { min_interval, last_flush: None, flush_scheduled: false }
    }

    /// How long to wait before the next record may go out.
    fn wait(&self) -> Option<Duration> {
        let since = self.last_flush?.elapsed();
        self.min_interval.checked_sub(since).filter(|wait| !wait.is_zero())
    }
}

impl Publisher {
    pub fn new(
        log: Arc<dyn EventLog>,
        confirm_timeout: Duration,
        stats: Arc<PublisherStats>,
        latency: Arc<CreateLatency>,
        pacing: RecordPacing,
        supervision: Supervision,
    ) -> Self {
        let queued = vec![];
        Publisher { log, confirm_timeout, queued, in_flight: false, stats, latency, pacing, supervision }
    }

    /// Sends everything queued as one record, unless a record is already awaiting confirmation.
    fn flush(&mut self, ctx: &mut Context<Self>) {
        if self.in_flight || self.queued.is_empty() || self.pacing.flush_scheduled {
            return;
        }
        if let Some(wait) = self.pacing.wait() {
            self.pacing.flush_scheduled = true;
            ctx.run_later(wait, |publisher, ctx| {
                publisher.pacing.flush_scheduled = false;
                publisher.flush(ctx);
            });
            return;
        }
        let flushed = Instant::now();
        self.pacing.last_flush = Some(flushed);
        let (events, waiting) = self.take_record(flushed);
        let record = Bytes::from(encode_record(&events));
        let log = Arc::clone(&self.log);
        let timeout = self.confirm_timeout;
        self.in_flight = true;
        let confirm = async move {
            let append = tokio::time::timeout(timeout, log.append(record)).await;
            append.unwrap_or(Err(LogError::Timeout(timeout)))
        };
        ctx.spawn(confirm.into_actor(self).map(move |result, publisher, ctx| {
            let acked = Instant::now();
            publisher.count(&result, waiting.len());
            for (confirmation, is_create) in waiting {
                if is_create && result.is_ok() {
                    publisher.latency.confirm.observe(acked.duration_since(flushed));
                }
                // A requester that gave up no longer listens; that is fine.
                let _ = confirmation.send(result.clone().map(|()| acked));
            }
            publisher.in_flight = false;
            publisher.flush(ctx);
        }));
    }

    /// The events of the next record, and who waits for each (whether it is a create, whose
    /// phases are timed).
    fn take_record(&mut self, flushed: Instant) -> (Vec<Event>, Vec<(Confirmation, bool)>) {
        let take = self.queued.len().min(MAX_EVENTS_PER_RECORD);
        let mut events = Vec::with_capacity(take);
        let mut waiting = Vec::with_capacity(take);
        for queued in self.queued.drain(..take) {
            let is_create = matches!(queued.event, Event::BardCreated(_));
            if is_create {
                self.latency.queued.observe(flushed.duration_since(queued.since));
            }
            events.push(queued.event);
            waiting.push((queued.confirmation, is_create));
        }
        (events, waiting)
    }

    fn count(&self, result: &Result<(), LogError>, events: usize) {
        match result {
            Ok(_) => {
                self.stats.records.fetch_add(1, Ordering::Relaxed);
                self.stats.events.fetch_add(events as u64, Ordering::Relaxed);
            }
            Err(error) => {
                self.stats.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%error, events, "log append failed");
            }
        }
    }
}

impl Actor for Publisher {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(PUBLISHER_MAILBOX_CAPACITY);
        self.supervision.hold_back(ctx);
    }
}

impl Supervised for Publisher {
    /// Queued requests are answered "unavailable" (their confirmation senders drop); a record
    /// in flight may still land, as after any confirm timeout (SPEC: a 503 is not a promise).
    fn restarting(&mut self, _: &mut Self::Context) {
        self.queued.clear();
        self.in_flight = false;
        self.pacing.flush_scheduled = false;
    }
}

impl Supervisable for Publisher {
    fn supervision(&mut self) -> &mut Supervision {
        &mut self.supervision
    }
}

/// Append this event to the log; resolves once the log confirmed the record holding it, with
/// the moment the confirmation arrived.
#[derive(Message)]
#[rtype(result = "Result<Instant, LogError>")]
pub struct Append {
    pub event: Event,
}

impl Handler<Append> for Publisher {
    type Result = ResponseFuture<Result<Instant, LogError>>;

    fn handle(&mut self, message: Append, ctx: &mut Self::Context) -> Self::Result {
        let (confirmation, confirmed) = oneshot::channel();
        guarded(self, ctx, |publisher, ctx| {
            publisher.queued.push(Queued { event: message.event, confirmation, since: Instant::now() });
            publisher.flush(ctx);
        });
        Box::pin(async move {
            confirmed.await.unwrap_or_else(|_| Err(LogError::Unavailable("publisher stopped".into())))
        })
    }
}
