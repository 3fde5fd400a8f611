//! Rendezvous between a request and the `LogReader`: a create or barrier registers its id
//! before it is published, and the reader hands back the outcome once this instance applied it,
//! with the moment it did (the create's latency breakdown, `crate::latency`).

use std::collections::HashMap;
use std::time::Instant;

use parking_lot::Mutex;
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::state::Outcome;

/// What a waiter receives: the outcome, and when this node applied it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppliedOutcome {
    pub outcome: Outcome,
    pub at: Instant,
}

#[derive(Default)]
pub struct OutcomeWaiters {
    pending: Mutex<HashMap<Uuid, oneshot::Sender<AppliedOutcome>>>,
}

impl OutcomeWaiters {
    /// Registers interest in the event with this id (a bard id or a barrier id).
    pub fn register(&self, id: Uuid) -> oneshot::Receiver<AppliedOutcome> {
        let (sender, receiver) = oneshot::channel();
        self.pending.lock().insert(id, sender);
        receiver
    }

    /// Hands `outcome` to whoever waits for `id`; events from other instances have no waiter.
    pub fn resolve(&self, id: Uuid, outcome: Outcome) {
        if let Some(sender) = self.pending.lock().remove(&id) {
            // The requester may have given up (timeout, client gone): nothing to do then.
            let _ = sender.send(AppliedOutcome { outcome, at: Instant::now() });
        }
    }

    /// Drops a registration whose event was never published.
    pub fn forget(&self, id: &Uuid) {
        self.pending.lock().remove(id);
    }

    pub fn len(&self) -> usize {
        self.pending.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
