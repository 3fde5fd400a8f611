//! `Snapshotter`: on the replica, captures a snapshot every N events or T seconds (whichever
//! comes first, and only when something changed) on its own arbiter, and keeps the latest one
//! in memory, encoded, for new instances to bootstrap from.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::Bytes;
use parking_lot::RwLock;

use super::LogProgress;
use crate::log::Offset;
use crate::read_view::ReadView;
use crate::snapshot::Snapshot;
use crate::supervision::{guarded, Supervisable, Supervision};

/// How often the snapshotter checks whether a snapshot is due.
const CHECK_INTERVAL: Duration = Duration::from_millis(500);

/// When a snapshot is due.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotPolicy {
    pub every_events: u64,
    pub every: Duration,
}

/// The latest encoded snapshot, served by `GET /internal/snapshot`.
#[derive(Debug, Clone)]
pub struct EncodedSnapshot {
    pub next_offset: Offset,
    pub bards: usize,
    pub bytes: Bytes,
    pub took: Duration,
}

#[derive(Default)]
pub struct SnapshotStore {
    latest: RwLock<Option<Arc<EncodedSnapshot>>>,
}

impl SnapshotStore {
    pub fn latest(&self) -> Option<Arc<EncodedSnapshot>> {
        self.latest.read().clone()
    }
}

pub struct Snapshotter {
    view: Arc<ReadView>,
    progress: Arc<LogProgress>,
    store: Arc<SnapshotStore>,
    policy: SnapshotPolicy,
    last_events: u64,
    last_taken: Instant,
    supervision: Supervision,
}

impl Snapshotter {
    pub fn new(
        view: Arc<ReadView>,
        progress: Arc<LogProgress>,
        store: Arc<SnapshotStore>,
        policy: SnapshotPolicy,
        supervision: Supervision,
    ) -> Self {
        let last_taken = Instant::now();
        Snapshotter { view, progress, store, policy, last_events: 0, last_taken, supervision }
    }

    fn take_if_due(&mut self) {
        let events = self.progress.events_applied.load(Ordering::Relaxed);
        let changed = events - self.last_events;
        let due = changed >= self.policy.every_events || self.last_taken.elapsed() >= self.policy.every;
        if changed == 0 || !due {
            return;
        }
        let started = Instant::now();
        let snapshot = Snapshot::capture(&self.view, &self.progress);
        let bytes = Bytes::from(snapshot.encode());
        let encoded = EncodedSnapshot {
            next_offset: snapshot.next_offset,
            bards: snapshot.bards.len(),
            bytes,
            took: started.elapsed(),
        };
        tracing::info!(bards = encoded.bards, bytes = encoded.bytes.len(), next_offset = encoded.next_offset,
            took = ?encoded.took, "snapshot taken");
        *self.store.latest.write() = Some(Arc::new(encoded));
        self.last_events = events;
        self.last_taken = Instant::now();
    }
}

impl Actor for Snapshotter {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.supervision.hold_back(ctx);
        ctx.run_interval(CHECK_INTERVAL, |snapshotter, ctx| {
            guarded(snapshotter, ctx, |snapshotter, _| snapshotter.take_if_due());
        });
    }
}

/// Nothing to reset: the last snapshot stays served, and the next one is due at once.
impl Supervised for Snapshotter {}

impl Supervisable for Snapshotter {
    fn supervision(&mut self) -> &mut Supervision {
        &mut self.supervision
    }
}
