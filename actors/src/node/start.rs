//! Starting a node: actors on their arbiters, reader last so nothing is applied half-wired.

use super::*;

impl Node {
    /// Starts every actor. Must run inside an actix `System`.
    pub fn start(log: Arc<dyn EventLog>, config: NodeConfig) -> Result<Node, SearchError> {
        let mut arbiters: Vec<Arbiter> = (0..config.apply_threads.max(1))
            .map(|_| Arbiter::new())
            .collect();
        let shards = start_shards(config.shards, &arbiters);
        let (search_index, search) =
            start_search_index(config.search_commit_interval, &mut arbiters)?;
        let view = Arc::new(ReadView::default());
        let waiters = Arc::new(OutcomeWaiters::default());
        let progress = Arc::new(LogProgress::default());
        let targets = ApplyTargets {
            shards: shards.clone(),
            search_index: search_index.clone(),
            view: Arc::clone(&view),
            waiters: Arc::clone(&waiters),
        };
        let log_reader = LogReader::new(Arc::clone(&log), targets, Arc::clone(&progress)).start();
        let publisher_stats = Arc::new(PublisherStats::default());
        let publisher = Publisher::new(
            Arc::clone(&log),
            config.confirm_timeout,
            Arc::clone(&publisher_stats),
        )
        .start();
        let status_board = Arc::new(StatusBoard::default());
        let supervisor = start_supervisor(&status_board, &config, &mut arbiters);
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
            _arbiters: Arc::new(arbiters),
        })
    }
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
    let index = SearchIndex::start_in_arbiter(&arbiter.handle(), move |_| {
        SearchIndex::new(writer, commit_interval)
    });
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
