//! Starting a node: actors on their arbiters, each under `actix::Supervisor` (see
//! `crate::supervision`), the snapshot (if any) applied through the same path as the log, and
//! the reader last, so nothing is applied half-wired.

use actix::dev::ArbiterHandle;

use super::*;
use crate::actors::log_reader::{apply_batch, ApplyTargets};
use crate::actors::{HealthBeacon, HealthSources, RecordPacing, Snapshotter};
use crate::search::{create_search_index, ShippedIndex};
use crate::snapshot::{SnapshotError, SnapshotFeed};
use crate::supervision::Supervision;

impl Node {
    /// Starts every actor, after loading `bootstrap` if given. Must run inside an actix `System`.
    pub async fn start(
        log: Arc<dyn EventLog>,
        config: NodeConfig,
        bootstrap: Option<SnapshotFeed>,
    ) -> Result<Node, NodeStartError> {
        let started = Instant::now();
        let mut launcher = Launcher::new(&config);
        let apply = launcher.start_apply_side(&log, bootstrap).await?;
        let (publisher, publisher_stats, latency) = launcher.start_publisher(&log);
        #[cfg(feature = "machine")]
        let (machine, machine_sampler) = launcher.start_machine_sampler();
        let snapshots = Arc::new(SnapshotStore::default());
        if let Some(policy) = config.snapshots {
            let view = &apply.targets.view;
            launcher.start_snapshotter(
                policy,
                SnapshotSources { view, progress: &apply.progress, store: &snapshots },
            );
        }
        let (peers, memory_guard) = launcher.start_health_beacon(&apply.targets.view, &apply.progress);
        let gauges = Gauges {
            started,
            progress: apply.progress,
            publisher: publisher_stats,
            latency,
            restarts: Arc::clone(&launcher.restarts),
            #[cfg(feature = "machine")]
            machine,
        };
        let running = Running {
            _log_reader: apply.log_reader,
            #[cfg(feature = "machine")]
            _machine_sampler: machine_sampler,
            _arbiters: launcher.arbiters,
        };
        let ApplyTargets { shards, search_index, view, waiters } = apply.targets;
        let (search, _running) = (apply.search, Arc::new(running));
        Ok(Node {
            // Before `config` moves in: an API takes creates from the start, a replica once promoted.
            accepts_writes: Arc::new(AtomicBool::new(config.role == Role::Api)),
            config,
            log,
            publisher,
            search_index,
            shards,
            view,
            search,
            waiters,
            snapshots,
            peers,
            memory_guard,
            gauges,
            _running,
        })
    }
}

/// The apply side once started: what the log reader feeds (caught up with the snapshot, if
/// any), the search reader, how far the log is applied, and the reader itself.
struct ApplySide {
    targets: ApplyTargets,
    search: SearchReader,
    progress: Arc<LogProgress>,
    log_reader: Addr<LogReader>,
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

/// What the snapshotter reads (the applied bards and how far they go) and where it stores.
struct SnapshotSources<'a> {
    view: &'a Arc<ReadView>,
    progress: &'a Arc<LogProgress>,
    store: &'a Arc<SnapshotStore>,
}

/// Starts the actors: every one supervised on one restart board, the shards spread over the
/// apply threads, and an actor whose work blocks on a thread of its own.
struct Launcher<'a> {
    config: &'a NodeConfig,
    restarts: Arc<RestartBoard>,
    /// The apply threads first (`config.apply_threads`), then one per blocking actor.
    arbiters: Vec<Arbiter>,
}

impl<'a> Launcher<'a> {
    fn new(config: &'a NodeConfig) -> Self {
        let arbiters = (0..config.apply_threads.max(1)).map(|_| Arbiter::new()).collect();
        Launcher { config, restarts: Arc::default(), arbiters }
    }

    fn supervise(&self, actor: &'static str) -> Supervision {
        Supervision::new(actor, &self.restarts, self.config.restart_policy)
    }

    /// A new thread, kept as long as the node.
    fn own_arbiter(&mut self) -> ArbiterHandle {
        let arbiter = Arbiter::new();
        let handle = arbiter.handle();
        self.arbiters.push(arbiter);
        handle
    }

    /// Shards and the search index, the snapshot applied through them, then the log reader.
    async fn start_apply_side(
        &mut self,
        log: &Arc<dyn EventLog>,
        bootstrap: Option<SnapshotFeed>,
    ) -> Result<ApplySide, NodeStartError> {
        let view = Arc::new(ReadView::new(self.config.shards));
        let shards = self.start_shards(&view);
        let mut bootstrap = bootstrap;
        let shipped = bootstrap.as_mut().and_then(|feed| feed.index.take());
        let (search_index, search) = self.start_search_index(&view, shipped)?;
        let targets = ApplyTargets { shards, search_index, view, waiters: Arc::default() };
        let progress = Arc::new(LogProgress::default());
        if let Some(snapshot) = bootstrap {
            load_snapshot(&targets, &progress, snapshot).await?;
        }
        let supervision = self.supervise("log_reader");
        let on_gap = self.config.on_log_gap;
        let reader =
            LogReader::new(Arc::clone(log), targets.clone(), Arc::clone(&progress), supervision, on_gap);
        let log_reader = actix::Supervisor::start(move |_| reader);
        Ok(ApplySide { targets, search, progress, log_reader })
    }

    /// Shards spread round-robin over the apply arbiters, each over its partition of the view.
    fn start_shards(&self, view: &Arc<ReadView>) -> Vec<Addr<Shard>> {
        let apply_threads = self.config.apply_threads.max(1);
        (0..view.shard_count())
            .map(|number| {
                let arbiter = &self.arbiters[number % apply_threads];
                let state = view.shard_state(number);
                let (restarts, policy) = (Arc::clone(&self.restarts), self.config.restart_policy);
                actix::Supervisor::start_in_arbiter(&arbiter.handle(), move |_| {
                    Shard::new(state, number, &restarts, policy)
                })
            })
            .collect()
    }

    /// The index writer gets an arbiter of its own: commits block for milliseconds. A snapshot's
    /// shipped index is opened as is; indexing goes on from its last document.
    fn start_search_index(
        &mut self,
        view: &Arc<ReadView>,
        shipped: Option<ShippedIndex>,
    ) -> Result<(Addr<SearchIndex>, SearchReader), SearchError> {
        let documents = shipped.as_ref().map_or(0, |shipped| shipped.documents);
        let opened = shipped.map(ShippedIndex::open).transpose().unwrap_or_else(|error| {
            tracing::warn!(%error, "the snapshot's index does not open here: indexing every bard");
            None
        });
        let first_unindexed = if opened.is_some() { documents } else { 0 };
        let (writer, search) = match opened {
            Some(halves) => halves,
            None => create_search_index()?,
        };
        let supervision = self.supervise("search_index");
        let interval = self.config.search_commit_interval;
        let index = SearchIndex::new(writer, interval, Arc::clone(view), first_unindexed, supervision);
        let index = actix::Supervisor::start_in_arbiter(&self.own_arbiter(), move |_| index);
        Ok((index, search))
    }

    /// The append side, on the system arbiter (its work is awaiting the log).
    /// With it, the create path's phase histograms the publisher records into.
    fn start_publisher(
        &self,
        log: &Arc<dyn EventLog>,
    ) -> (Addr<Publisher>, Arc<PublisherStats>, Arc<CreateLatency>) {
        let pacing = RecordPacing::new(self.config.record_interval);
        let (stats, latency) = (Arc::new(PublisherStats::default()), Arc::new(CreateLatency::default()));
        let supervision = self.supervise("publisher");
        let timeout = self.config.confirm_timeout;
        let (log, counters) = (Arc::clone(log), Arc::clone(&stats));
        let publisher = Publisher::new(log, timeout, counters, Arc::clone(&latency), pacing, supervision);
        (actix::Supervisor::start(move |_| publisher), stats, latency)
    }

    /// The sampler reads sysfs and NVML: its own arbiter, away from HTTP and apply.
    #[cfg(feature = "machine")]
    fn start_machine_sampler(&mut self) -> (Arc<LatestMachineSample>, Addr<MachineSampler>) {
        use crate::actors::machine_sampler::RESTART_NAME;
        let latest: Arc<LatestMachineSample> = Arc::default();
        let sampler = MachineSampler::new(
            Arc::clone(&latest),
            self.config.machine.clone(),
            self.supervise(RESTART_NAME),
        );
        let sampler = actix::Supervisor::start_in_arbiter(&self.own_arbiter(), move |_| sampler);
        (latest, sampler)
    }

    /// A snapshot mark copies nothing (encoding happens when one is asked for): no thread of
    /// its own.
    fn start_snapshotter(&mut self, policy: SnapshotPolicy, sources: SnapshotSources) {
        let (view, progress, store) =
            (Arc::clone(sources.view), Arc::clone(sources.progress), Arc::clone(sources.store));
        let snapshotter = Snapshotter::new(view, progress, store, policy, self.supervise("snapshotter"));
        actix::Supervisor::start(move |_| snapshotter);
    }

    /// The beacon on the system arbiter (a tick reads two small files), and the relay that
    /// carries beacons to and from the broker beside it.
    fn start_health_beacon(
        &self,
        view: &Arc<ReadView>,
        progress: &Arc<LogProgress>,
    ) -> (Arc<PeerBoard>, Arc<MemoryGuard>) {
        let health = &self.config.health;
        let sources = HealthSources {
            progress: Arc::clone(progress),
            view: Arc::clone(view),
            board: Arc::default(),
            guard: Arc::new(MemoryGuard::new(health.refuse_fraction)),
        };
        let handles = (Arc::clone(&sources.board), Arc::clone(&sources.guard));
        let (outbox, receiver) = tokio::sync::watch::channel(None);
        if let Some(address) = health.beacons.clone() {
            actix::spawn(crate::log::relay_beacons(address, receiver, Arc::clone(&sources.board)));
        }
        let probe = crate::memory::MemoryProbe::new(health.memory_limit);
        let supervision = self.supervise("health_beacon");
        let beacon = HealthBeacon::new(health.identity.clone(), probe, sources, outbox, supervision);
        actix::Supervisor::start(move |_| beacon);
        handles
    }
}
