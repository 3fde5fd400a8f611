//! `Snapshotter`: marks a snapshot every N events or T seconds (whichever comes first, and only
//! when something changed), and keeps the latest mark for new instances to bootstrap from. A
//! mark names a frozen prefix of the append-only state, so taking one copies nothing; it is
//! encoded (MessagePack, streamed) only when `/internal/snapshot` is asked for it.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use parking_lot::RwLock;

use super::LogProgress;
use crate::read_view::ReadView;
use crate::snapshot::SnapshotMark;
use crate::supervision::{guarded, Supervisable, Supervision};

/// How often the snapshotter checks whether a snapshot is due.
const CHECK_INTERVAL: Duration = Duration::from_millis(500);

/// When a snapshot is due.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotPolicy {
    pub every_events: u64,
    pub every: Duration,
}

/// The latest snapshot mark, and when it was taken.
#[derive(Debug, Clone, Copy)]
pub struct TakenSnapshot {
    pub mark: SnapshotMark,
    pub taken_at: Instant,
}

#[derive(Default)]
pub struct SnapshotStore {
    latest: RwLock<Option<TakenSnapshot>>,
}

impl SnapshotStore {
    pub fn latest(&self) -> Option<TakenSnapshot> {
        *self.latest.read()
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
        let mark = SnapshotMark::capture(&self.view, &self.progress);
        tracing::debug!(bards = mark.bards, next_offset = mark.next_offset, "snapshot marked");
        *self.store.latest.write() = Some(TakenSnapshot { mark, taken_at: Instant::now() });
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
