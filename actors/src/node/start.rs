//! Starting a node: actors on their arbiters, each under `actix::Supervisor` (see
//! `crate::supervision`), the snapshot (if any) applied through the same path as the log, and
//! the reader last, so nothing is applied half-wired.

use super::*;
use crate::actors::log_reader::apply_batch;
use crate::actors::{HealthBeacon, HealthSources};
use crate::snapshot::{SnapshotError, SnapshotFeed};
use crate::supervision::{RestartBoard, Supervision};

impl Node {
    /// Starts every actor, after loading `bootstrap` if given. Must run inside an actix `System`.
    pub async fn start(
        log: Arc<dyn EventLog>,
        config: NodeConfig,
        bootstrap: Option<SnapshotFeed>,
    ) -> Result<Node, NodeStartError> {
        let mut arbiters: Vec<Arbiter> = (0..config.apply_threads.max(1)).map(|_| Arbiter::new()).collect();
        let status_board = Arc::new(StatusBoard::default());
        let supervise = |actor| Supervision::new(actor, &status_board.restarts, config.restart_policy);
        let view = Arc::new(ReadView::new(config.shards));
        let shards = start_shards(&view, &arbiters, (&status_board.restarts, &config));
        let index_supervision = supervise("search_index");
        let (search_index, search) =
            start_search_index(config.search_commit_interval, (&view, index_supervision), &mut arbiters)?;
        let targets = ApplyTargets {
            shards: shards.clone(),
            search_index: search_index.clone(),
            view,
            waiters: Arc::default(),
        };
        let (view, waiters) = (Arc::clone(&targets.view), Arc::clone(&targets.waiters));
        let progress = Arc::new(LogProgress::default());
        if let Some(snapshot) = bootstrap {
            load_snapshot(&targets, &progress, snapshot).await?;
        }
        let reader =
            LogReader::new(Arc::clone(&log), targets, Arc::clone(&progress), supervise("log_reader"));
        let log_reader = actix::Supervisor::start(move |_| reader);
        let publisher_stats = Arc::new(PublisherStats::default());
        let publisher = start_publisher(&log, &config, &publisher_stats, supervise("publisher"));
        let supervisor = start_supervisor(&status_board, &config, supervise("supervisor"), &mut arbiters);
        let snapshots = Arc::new(SnapshotStore::default());
        if let Some(policy) = config.snapshots {
            let sources = (&view, &progress, &snapshots);
            start_snapshotter(policy, sources, supervise("snapshotter"), &mut arbiters);
        }
        let (peers, memory_guard) =
            start_health_beacon(&config.health, &view, &progress, supervise("health_beacon"));
        Ok(Node {
            config,
            log,
            publisher,
            log_reader,
            search_index,
            shards,
            supervisor,
            view,
            search,
            waiters,
            progress,
            publisher_stats,
            status_board,
            snapshots,
            peers,
            memory_guard,
            _arbiters: Arc::new(arbiters),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NodeStartError {
    #[error(transparent)]
    Search(#[from] SearchError),
    #[error("loading the snapshot: an actor stopped ({0})")]
    Bootstrap(#[from] MailboxError),
    #[error("loading the snapshot: {0}")]
    Snapshot(#[from] SnapshotError),
}

/// Applies the snapshot's bards in order, then resumes the log at its offset.
async fn load_snapshot(
    targets: &ApplyTargets,
    progress: &LogProgress,
    mut feed: SnapshotFeed,
) -> Result<(), NodeStartError> {
    let started = std::time::Instant::now();
    let mut loaded = 0u64;
    while let Some(batch) = feed.next_batch().await {
        let batch = batch?;
        if batch.is_empty() {
            break;
        }
        loaded += batch.len() as u64;
        apply_batch(targets.clone(), batch).await?;
    }
    if loaded != feed.header.bards {
        return Err(SnapshotError::Truncated { read: loaded, promised: feed.header.bards }.into());
    }
    progress.next_offset.store(feed.header.next_offset, std::sync::atomic::Ordering::Release);
    tracing::info!(bards = loaded, next_offset = feed.header.next_offset, took = ?started.elapsed(),
        "snapshot loaded");
    Ok(())
}

/// The append side, on the system arbiter (its work is awaiting the log).
fn start_publisher(
    log: &Arc<dyn EventLog>,
    config: &NodeConfig,
    stats: &Arc<PublisherStats>,
    supervision: Supervision,
) -> Addr<Publisher> {
    let pacing = RecordPacing::new(config.record_interval);
    let (log, stats) = (Arc::clone(log), Arc::clone(stats));
    let publisher = Publisher::new(log, config.confirm_timeout, stats, pacing, supervision);
    actix::Supervisor::start(move |_| publisher)
}

/// Shards spread round-robin over the apply arbiters, each over its partition of the view.
fn start_shards(
    view: &Arc<ReadView>,
    arbiters: &[Arbiter],
    (restarts, config): (&Arc<RestartBoard>, &NodeConfig),
) -> Vec<Addr<Shard>> {
    (0..view.shard_count())
        .map(|number| {
            let arbiter = &arbiters[number % arbiters.len()];
            let state = view.shard_state(number);
            let (restarts, policy) = (Arc::clone(restarts), config.restart_policy);
            actix::Supervisor::start_in_arbiter(&arbiter.handle(), move |_| {
                Shard::new(state, number, &restarts, policy)
            })
        })
        .collect()
}

/// The index writer gets an arbiter of its own: commits block for milliseconds.
fn start_search_index(
    commit_interval: Duration,
    (view, supervision): (&Arc<ReadView>, Supervision),
    arbiters: &mut Vec<Arbiter>,
) -> Result<(Addr<SearchIndex>, SearchReader), SearchError> {
    let (writer, search) = create_search_index()?;
    let arbiter = Arbiter::new();
    let index = SearchIndex::new(writer, commit_interval, Arc::clone(view), supervision);
    let index = actix::Supervisor::start_in_arbiter(&arbiter.handle(), move |_| index);
    arbiters.push(arbiter);
    Ok((index, search))
}

/// The supervisor samples sysfs and NVML: its own arbiter, away from HTTP and apply.
fn start_supervisor(
    board: &Arc<StatusBoard>,
    config: &NodeConfig,
    supervision: Supervision,
    arbiters: &mut Vec<Arbiter>,
) -> Addr<Supervisor> {
    let arbiter = Arbiter::new();
    let supervisor = Supervisor::new(Arc::clone(board), config.machine.clone(), supervision);
    let supervisor = actix::Supervisor::start_in_arbiter(&arbiter.handle(), move |_| supervisor);
    arbiters.push(arbiter);
    supervisor
}

/// Encoding a million-bard snapshot takes a while: its own arbiter.
fn start_snapshotter(
    policy: SnapshotPolicy,
    (view, progress, store): (&Arc<ReadView>, &Arc<LogProgress>, &Arc<SnapshotStore>),
    supervision: Supervision,
    arbiters: &mut Vec<Arbiter>,
) {
    let arbiter = Arbiter::new();
    let (view, progress, store) = (Arc::clone(view), Arc::clone(progress), Arc::clone(store));
    let snapshotter = Snapshotter::new(view, progress, store, policy, supervision);
    actix::Supervisor::start_in_arbiter(&arbiter.handle(), move |_| snapshotter);
    arbiters.push(arbiter);
}

/// The beacon on the system arbiter (a tick reads two small files), and the relay that carries
/// beacons to and from the broker beside it.
fn start_health_beacon(
    config: &HealthConfig,
    view: &Arc<ReadView>,
    progress: &Arc<LogProgress>,
    supervision: Supervision,
) -> (Arc<PeerBoard>, Arc<MemoryGuard>) {
    let sources = HealthSources {
        progress: Arc::clone(progress),
        view: Arc::clone(view),
        board: Arc::default(),
        guard: Arc::new(MemoryGuard::new(config.refuse_fraction)),
    };
    let handles = (Arc::clone(&sources.board), Arc::clone(&sources.guard));
    let (outbox, receiver) = tokio::sync::watch::channel(None);
    if let Some(address) = config.beacons.clone() {
        actix::spawn(crate::log::relay_beacons(address, receiver, Arc::clone(&sources.board)));
    }
    let probe = crate::memory::MemoryProbe::new(config.memory_limit);
    let beacon = HealthBeacon::new(config.identity.clone(), probe, sources, outbox, supervision);
    actix::Supervisor::start(move |_| beacon);
    handles
}
