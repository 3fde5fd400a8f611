//! Supervision: every long-lived actor runs under `actix::Supervisor`, so its address (and
//! mailbox) outlives a failure. A handler body runs inside [`guarded`]: a panic is caught,
//! counted on the shared [`RestartBoard`], and stops the actor; actix then calls
//! `Supervised::restarting`, where the actor rebuilds itself from its factory, and `started`
//! holds the mailbox back for a capped exponential backoff before the next message.

use std::any::Any;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix::prelude::*;
use parking_lot::RwLock;
use serde::Serialize;

/// Capped exponential backoff between restarts of one actor.
#[derive(Debug, Clone, Copy)]
pub struct RestartPolicy {
    pub initial: Duration,
    pub max: Duration,
    /// A failure this long after the previous one starts the backoff over.
    pub stable_after: Duration,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        RestartPolicy {
            initial: Duration::from_millis(50),
            max: Duration::from_secs(5),
            stable_after: Duration::from_secs(60),
        }
    }
}

impl RestartPolicy {
    /// The wait before the `consecutive`-th restart in a row (1-based): initial × 2^(n-1), capped.
    pub fn delay(&self, consecutive: u32) -> Duration {
        let doublings = consecutive.saturating_sub(1).min(20);
        self.initial.saturating_mul(1 << doublings).min(self.max)
    }
}

/// What `/status` and `/metrics` show for one supervised actor kind.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct RestartRecord {
    pub restarts: u64,
    pub last_failure: Option<String>,
    /// Seconds since the Unix epoch.
    pub last_restart_unix: Option<u64>,
}

/// Restart counts of every supervised actor kind in this process.
#[derive(Debug, Default)]
pub struct RestartBoard {
    records: RwLock<BTreeMap<&'static str, RestartRecord>>,
}

impl RestartBoard {
    /// Makes the kind visible with zero restarts.
    pub fn register(&self, actor: &'static str) {
        self.records.write().entry(actor).or_default();
    }

    fn record(&self, actor: &'static str, failure: String) {
        let mut records = self.records.write();
        let record = records.entry(actor).or_default();
        record.restarts += 1;
        record.last_failure = Some(failure);
        record.last_restart_unix = SystemTime::now().duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs());
    }

    pub fn snapshot(&self) -> BTreeMap<&'static str, RestartRecord> {
        self.records.read().clone()
    }

    pub fn restarts(&self, actor: &str) -> u64 {
        self.records.read().get(actor).map_or(0, |record| record.restarts)
    }

    pub fn total(&self) -> u64 {
        self.records.read().values().map(|record| record.restarts).sum()
    }
}

/// The supervision state an actor carries across its restarts.
#[derive(Debug)]
pub struct Supervision {
    actor: &'static str,
    board: Arc<RestartBoard>,
    policy: RestartPolicy,
    consecutive: u32,
    last_failure: Option<Instant>,
    pending_backoff: Option<Duration>,
}

impl Supervision {
    pub fn new(actor: &'static str, board: &Arc<RestartBoard>, policy: RestartPolicy) -> Self {
        board.register(actor);
        let board = Arc::clone(board);
        Supervision { actor, board, policy, consecutive: 0, last_failure: None, pending_backoff: None }
    }

    fn failed(&mut self, failure: String) {
        let stable = self.last_failure.is_none_or(|at| at.elapsed() >= self.policy.stable_after);
        self.consecutive = if stable { 1 } else { self.consecutive.saturating_add(1) };
        self.last_failure = Some(Instant::now());
        let delay = self.policy.delay(self.consecutive);
        self.pending_backoff = Some(delay);
        tracing::error!(actor = self.actor, %failure, restart_in = ?delay, "actor failed; restarting");
        self.board.record(self.actor, failure);
    }

    /// A failure that is not a panic (a stream that ended): counted, and the actor restarts.
    pub fn fail<A>(&mut self, ctx: &mut Context<A>, failure: impl Into<String>)
    where
        A: Actor<Context = Context<A>>,
    {
        self.failed(failure.into());
        ctx.stop();
    }

    /// Call from `started`: after a failure, the mailbox waits out the backoff first.
    pub fn hold_back<A>(&mut self, ctx: &mut Context<A>)
    where
        A: Actor<Context = Context<A>>,
    {
        if let Some(delay) = self.pending_backoff.take() {
            ctx.wait(actix::fut::wrap_future::<_, A>(actix::clock::sleep(delay)));
        }
    }
}

/// An actor that runs its handlers through [`guarded`].
pub trait Supervisable: Actor<Context = Context<Self>> + Supervised {
    fn supervision(&mut self) -> &mut Supervision;
}

/// Runs a handler body; a panic is recorded, the actor stops (and is restarted by its
/// `actix::Supervisor`), and the caller gets `None`.
pub fn guarded<A, R>(
    actor: &mut A,
    ctx: &mut Context<A>,
    body: impl FnOnce(&mut A, &mut Context<A>) -> R,
) -> Option<R>
where
    A: Supervisable,
{
    match catch_unwind(AssertUnwindSafe(|| body(actor, ctx))) {
        Ok(result) => Some(result),
        Err(payload) => {
            actor.supervision().failed(panic_message(payload.as_ref()));
            ctx.stop();
            None
        }
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    let text =
        payload.downcast_ref::<&str>().copied().or(payload.downcast_ref::<String>().map(String::as_str));
    format!("panicked: {}", text.unwrap_or("(non-string panic payload)"))
}

#[cfg(test)]
mod tests;
