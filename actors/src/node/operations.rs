//! What requests ask of a node.

use std::sync::atomic::Ordering;

use futures::FutureExt;

use super::*;
use crate::waiters::AppliedOutcome;

/// How long a create whose append is uncertain waits for the log to settle it (below nginx's
/// 30 s `proxy_read_timeout`; a broker restart takes ≈ 12 s here).
const UNCERTAIN_SETTLE_WITHIN: Duration = Duration::from_secs(20);
/// Between checks while settling.
const UNCERTAIN_POLL: Duration = Duration::from_millis(250);

impl Node {
    /// Log-first create: the outcome is what this node's shards decided in log order.
    pub async fn create(&self, new: NewBard) -> Result<Arc<Bard>, NodeError> {
        if !self.accepts_writes() {
            return Err(NodeError::ReadOnly);
        }
        if let Some(reason) = self.memory_guard.refusal() {
            return Err(NodeError::MemoryFull(reason));
        }
        let bard = Arc::new(new.into_bard(Uuid::new_v4()));
        let event = Event::BardCreated(BardCreated { bard: Arc::clone(&bard) });
        match self.append_and_apply(bard.id, event, self.config.apply_timeout).await? {
            Outcome::Created => Ok(bard),
            Outcome::ApelidoTaken | Outcome::IdTaken | Outcome::Barrier => {
                Err(NodeError::ApelidoTaken(bard.apelido.to_string()))
            }
        }
    }

    /// Returns once everything acknowledged (by any instance) before the call is applied here.
    /// A replica (not promoted) publishes nothing: it answers from what it applied so far.
    async fn barrier(&self) -> Result<(), NodeError> {
        if !self.accepts_writes() {
            return Ok(());
        }
        self.pass_barrier(self.config.apply_timeout).await
    }

    /// Publishes a fresh barrier and waits (up to `timeout`) until this node applied it.
    async fn pass_barrier(&self, timeout: Duration) -> Result<(), NodeError> {
        let barrier = Uuid::new_v4();
        let event = Event::LogBarrier(LogBarrier { barrier });
        self.append_and_apply(barrier, event, timeout).await.map(|_| ())
    }

    async fn append_and_apply(
        &self,
        id: Uuid,
        event: Event,
        timeout: Duration,
    ) -> Result<Outcome, NodeError> {
        let started = Instant::now();
        let is_create = matches!(event, Event::BardCreated(_));
        let applied = self.waiters.register(id);
        let appended = self.publisher.send(Append { event }).await;
        let confirmed = appended.unwrap_or_else(|_| Err(LogError::Unavailable("publisher stopped".into())));
        let acked = match confirmed {
            Ok(acked) => acked,
            Err(error) if is_create && error.is_uncertain() => {
                return self.settle_uncertain(id, applied, error).await
            }
            Err(error) => {
                self.waiters.forget(&id);
                return Err(error.into());
            }
        };
        match tokio::time::timeout(timeout, applied).await {
            Ok(Ok(applied)) => {
                if is_create {
                    self.time_create(started, acked, applied.at);
                }
                Ok(applied.outcome)
            }
            _ => {
                self.waiters.forget(&id);
                Err(NodeError::ApplyTimeout(timeout))
            }
        }
    }

    /// The HTTP side times a create's body and validation (the first phase) before the node
    /// sees it.
    pub fn time_validation(&self, took: Duration) {
        self.gauges.latency.validate.observe(took);
    }

    /// The phases after the publisher's (`crate::latency`): apply, wake and the total.
    fn time_create(&self, started: Instant, acked: Instant, applied: Instant) {
        let now = Instant::now();
        let latency = &self.gauges.latency;
        latency.apply.observe(applied.saturating_duration_since(acked));
        latency.wake.observe(now.saturating_duration_since(acked.max(applied)));
        latency.total.observe(now.duration_since(started));
    }

    /// A create whose record was sent but not confirmed may still be in the log; answering 503
    /// while it lands would break the exact count (promise 2). So: wait until this node applies
    /// it (its real outcome), or until a barrier published after the failure is applied without
    /// it (the log is ordered, so it was never written), for up to `UNCERTAIN_SETTLE_WITHIN`.
    /// Only past that (a broker away longer) does the 503 stay uncertain.
    async fn settle_uncertain(
        &self,
        id: Uuid,
        mut applied: tokio::sync::oneshot::Receiver<AppliedOutcome>,
        error: LogError,
    ) -> Result<Outcome, NodeError> {
        tracing::warn!(%id, %error, "create unconfirmed; settling it through the log");
        let deadline = tokio::time::Instant::now() + UNCERTAIN_SETTLE_WITHIN;
        while tokio::time::Instant::now() < deadline {
            if let Ok(Ok(applied)) = tokio::time::timeout(UNCERTAIN_POLL, &mut applied).await {
                return Ok(applied.outcome);
            }
            if Box::pin(self.pass_barrier(UNCERTAIN_POLL * 4)).await.is_ok() {
                // Everything before the barrier is applied: ours was either among it or never written.
                return match (&mut applied).now_or_never() {
                    Some(Ok(applied)) => Ok(applied.outcome),
                    _ => self.unsettled(id, error),
                };
            }
        }
        self.unsettled(id, error)
    }

    fn unsettled(&self, id: Uuid, error: LogError) -> Result<Outcome, NodeError> {
        self.waiters.forget(&id);
        Err(error.into())
    }

    /// A bard by id; a miss goes through the log barrier before it is believed.
    pub async fn get(&self, id: &Uuid) -> Result<Option<Bard>, NodeError> {
        if let Some(bard) = self.view.get(id) {
            return Ok(Some(bard));
        }
        self.barrier().await?;
        Ok(self.view.get(id))
    }

    /// The exact number of bards created so far, across all instances.
    pub async fn count(&self) -> Result<usize, NodeError> {
        self.barrier().await?;
        Ok(self.view.len())
    }

    /// Up to `limit` bards matching `term` (case-insensitive substring).
    pub fn search(&self, term: &str, limit: usize) -> Result<Vec<Bard>, SearchError> {
        self.search.search(&self.view, term, limit)
    }

    /// The latest snapshot mark, ready to be encoded (streamed) for bootstrapping a new
    /// instance; `None` before the first one (and always on a node that takes none).
    /// With it goes the search index as last committed (a receiver indexes only the rest).
    pub fn latest_snapshot(&self) -> Option<SnapshotEncoder> {
        let taken = self.snapshots.latest()?;
        let encoder = SnapshotEncoder::new(Arc::clone(&self.view), taken.mark);
        match self.search.committed_files() {
            Ok(index) => Some(encoder.with_index(index)),
            Err(error) => {
                tracing::warn!(%error, "a snapshot without its index: the receiver will index every bard");
                Some(encoder)
            }
        }
    }

    /// The offset of the next log record this node will apply (every one before it is
    /// applied). Cheap, unlike [`Node::report`], which also asks the log for its end.
    pub fn next_offset(&self) -> Offset {
        self.gauges.progress.next_offset()
    }

    /// Makes everything applied so far searchable now (tests and benchmarks); the number of
    /// documents the commit made searchable.
    pub async fn commit_search_now(&self) -> Result<usize, SearchCommitError> {
        self.search_index.send(CommitNow).await?
    }

    /// Waits until this node applied every record appended before the call: a barrier, so it
    /// needs no way to ask the log for its end.
    /// A log that is briefly unavailable (a stream still being created) is retried until then.
    pub async fn caught_up(&self, timeout: Duration) -> Result<(), NodeError> {
        if !self.accepts_writes() {
            return self.caught_up_to_end(timeout).await;
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.pass_barrier(left).await {
                Err(NodeError::LogUnavailable(error)) if !left.is_zero() => {
                    tracing::warn!(%error, "log not ready yet; retrying the catch-up barrier");
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                other => return other,
            }
        }
    }
}

impl Node {
    /// Whether this node takes creates and passes log barriers (an API, or a promoted replica).
    pub fn accepts_writes(&self) -> bool {
        self.accepts_writes.load(Ordering::Acquire)
    }

    /// Makes a replica take creates and pass log barriers like an API, from now on (its
    /// snapshots go on); whether this call changed anything (false on an API, or again).
    /// Creates stay log-first, so one taken before this node applied the whole log is still
    /// decided in log order.
    pub fn promote(&self) -> bool {
        let changed = !self.accepts_writes.swap(true, Ordering::AcqRel);
        if changed {
            tracing::warn!(role = self.config.role.name(), "promoted: this node now takes creates");
        }
        changed
    }

    /// Catch-up without writing: wait until the applied offset reaches the probed end.
    async fn caught_up_to_end(&self, timeout: Duration) -> Result<(), NodeError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let end = loop {
            match self.log.end_offset().await {
                Ok(end) => break end,
                Err(error) if tokio::time::Instant::now() < deadline => {
                    tracing::warn!(%error, "log end not known yet; retrying");
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(error) => return Err(error.into()),
            }
        };
        while self.next_offset() < end {
            if tokio::time::Instant::now() >= deadline {
                return Err(NodeError::ApplyTimeout(timeout));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::EmbeddedLog;
    use crate::model::BirthDate;

    fn new_bard(apelido: &str) -> NewBard {
        let nascimento = BirthDate::parse("1990-01-01").unwrap();
        NewBard { apelido: apelido.into(), nome: "Nome".into(), nascimento, stack: None }
    }

    async fn start(role: Role) -> Node {
        let config = NodeConfig { role, shards: 2, ..NodeConfig::default() };
        Node::start(Arc::new(EmbeddedLog::default()), config, None).await.unwrap()
    }

    #[actix::test]
    async fn a_promoted_replica_takes_creates_once() {
        let replica = start(Role::Replica).await;
        assert!(!replica.accepts_writes());
        assert_eq!(replica.create(new_bard("ana")).await.unwrap_err(), NodeError::ReadOnly);
        assert!(replica.clone().promote(), "the first promote changes the node (and every clone)");
        assert!(!replica.promote(), "a second one changes nothing");
        let created = replica.create(new_bard("ana")).await.expect("a promoted replica creates");
        assert_eq!(replica.get(&created.id).await.unwrap().map(|bard| bard.id), Some(created.id));
        assert_eq!(replica.count().await.unwrap(), 1);
        let report = replica.report().await.unwrap();
        assert!(report.accepts_creates && report.promoted);
    }

    #[actix::test]
    async fn promoting_an_api_changes_nothing() {
        let api = start(Role::Api).await;
        assert!(api.accepts_writes());
        assert!(!api.promote());
        let report = api.report().await.unwrap();
        assert!(report.accepts_creates && !report.promoted);
    }
}
