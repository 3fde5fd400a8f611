//! Starting a node: actors on their arbiters, reader last so nothing is applied half-wired.

use super::*;

impl Node {
    /// Starts every actor. Must run inside an actix `System`.
    pub fn start(log: Arc<dyn EventLog>, config: NodeConfig) -> Result<Node, SearchError> {
        let apply_arbiters: Vec<Arbiter> = (0..config.apply_threads.max(1))
            .map(|_| Arbiter::new())
            .collect();
        let shards: Vec<Addr<Shard>> = (0..config.shards.max(1))
            .map(|number| {
                let arbiter = &apply_arbiters[number % apply_arbiters.len()];
                Shard::start_in_arbiter(&arbiter.handle(), |_| Shard::new())
            })
            .collect();
        let (writer, search) = create_search_index()?;
        let search_arbiter = Arbiter::new();
        let commit_interval = config.search_commit_interval;
        let search_index = SearchIndex::start_in_arbiter(&search_arbiter.handle(), move |_| {
            SearchIndex::new(writer, commit_interval)
        });
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
        let supervisor_arbiter = Arbiter::new();
        let board = Arc::clone(&status_board);
        let machine = config.machine.clone();
        let supervisor = Supervisor::start_in_arbiter(&supervisor_arbiter.handle(), move |_| {
            Supervisor::new(board, machine)
        });
        let mut arbiters = apply_arbiters;
        arbiters.extend([search_arbiter, supervisor_arbiter]);
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
