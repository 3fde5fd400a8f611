//! Starting a node: actors on their arbiters, the snapshot (if any) applied through the same
//! path as the log, and the reader last, so nothing is applied half-wired.

use super::*;
use crate::actors::log_reader::apply_batch;

/// Events per batch when loading a snapshot.
const BOOTSTRAP_BATCH_EVENTS: usize = 8192;

impl Node {
    /// Starts every actor, after loading `bootstrap` if given. Must run inside an actix `System`.
    pub async fn start(
        log: Arc<dyn EventLog>,
        config: NodeConfig,
        bootstrap: Option<Snapshot>,
    ) -> Result<Node, NodeStartError> {
        let mut arbiters: Vec<Arbiter> = (0..config.apply_threads.max(1)).map(|_| Arbiter::new()).collect();
        let shards = start_shards(config.shards, &arbiters);
        let (search_index, search) = start_search_index(config.search_commit_interval, &mut arbiters)?;
        let targets = ApplyTargets {
            shards: shards.clone(),
            search_index: search_index.clone(),
            view: Arc::default(),
            waiters: Arc::default(),
        };
        let (view, waiters) = (Arc::clone(&targets.view), Arc::clone(&targets.waiters));
        let progress = Arc::new(LogProgress::default());
        if let Some(snapshot) = bootstrap {
            load_snapshot(&targets, &progress, snapshot).await?;
        }
        let log_reader = LogReader::new(Arc::clone(&log), targets, Arc::clone(&progress)).start();
        let publisher_stats = Arc::new(PublisherStats::default());
        let pacing = RecordPacing::new(config.record_interval);
        let publisher =
            Publisher::new(Arc::clone(&log), config.confirm_timeout, Arc::clone(&publisher_stats), pacing);
        let publisher = publisher.start();
        let status_board = Arc::new(StatusBoard::default());
        let supervisor = start_supervisor(&status_board, &config, &mut arbiters);
        let snapshots = Arc::new(SnapshotStore::default());
        if let Some(policy) = config.snapshots {
            start_snapshotter(policy, (&view, &progress, &snapshots), &mut arbiters);
        }
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
}

/// Applies the snapshot's bards in order, then resumes the log at its offset.
async fn load_snapshot(
    targets: &ApplyTargets,
    progress: &LogProgress,
    snapshot: Snapshot,
) -> Result<(), MailboxError> {
    let started = std::time::Instant::now();
    let events: Vec<Event> = snapshot.events().collect();
    for batch in events.chunks(BOOTSTRAP_BATCH_EVENTS) {
        apply_batch(targets.clone(), batch.to_vec()).await?;
    }
    progress.next_offset.store(snapshot.next_offset, std::sync::atomic::Ordering::Release);
    tracing::info!(bards = snapshot.bards.len(), next_offset = snapshot.next_offset, took = ?started.elapsed(),
        "snapshot loaded");
    Ok(())
}

/// Shards spread round-robin over the apply arbiters.
fn start_shards(count: usize, arbiters: &[Arbiter]) -> Vec<Addr<Shard>> {
    (0..count.max(1))
        .map(|number| {
            let arbiter = &arbiters[number % arbiters.len()];
            Shard::start_in_arbiter(&arbiter.handle(), |_| Shard::new())
        })
        .collect()
}

/// The index writer gets an arbiter of its own: commits block for milliseconds.
fn start_search_index(
    commit_interval: Duration,
    arbiters: &mut Vec<Arbiter>,
) -> Result<(Addr<SearchIndex>, SearchReader), SearchError> {
    let (writer, search) = create_search_index()?;
    let arbiter = Arbiter::new();
    let index =
        SearchIndex::start_in_arbiter(&arbiter.handle(), move |_| SearchIndex::new(writer, commit_interval));
    arbiters.push(arbiter);
    Ok((index, search))
}

/// The supervisor samples sysfs and NVML: its own arbiter, away from HTTP and apply.
fn start_supervisor(
    board: &Arc<StatusBoard>,
    config: &NodeConfig,
    arbiters: &mut Vec<Arbiter>,
) -> Addr<Supervisor> {
    let arbiter = Arbiter::new();
    let board = Arc::clone(board);
    let machine = config.machine.clone();
    let supervisor =
        Supervisor::start_in_arbiter(&arbiter.handle(), move |_| Supervisor::new(board, machine));
    arbiters.push(arbiter);
    supervisor
}

/// Encoding a million-bard snapshot takes a while: its own arbiter.
fn start_snapshotter(
    policy: SnapshotPolicy,
    (view, progress, store): (&Arc<ReadView>, &Arc<LogProgress>, &Arc<SnapshotStore>),
    arbiters: &mut Vec<Arbiter>,
) {
    let arbiter = Arbiter::new();
    let (view, progress, store) = (Arc::clone(view), Arc::clone(progress), Arc::clone(store));
    Snapshotter::start_in_arbiter(&arbiter.handle(), move |_| {
        Snapshotter::new(view, progress, store, policy)
    });
    arbiters.push(arbiter);
}
