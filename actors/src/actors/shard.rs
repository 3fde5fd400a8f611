//! `Shard`: owns one partition of the state (the bards whose apelido hashes to it): their
//! records, and the decision of apelido uniqueness for that partition, by applying events in
//! log order. Readers share the state behind its lock; only this actor writes it. Supervised:
//! a batch that fails halfway is rolled back (the records it stored are forgotten) and the
//! `LogReader` sends it again, so the decisions are those of a run without the failure.

use std::sync::Arc;

use actix::prelude::*;

use crate::event::Event;
use crate::read_view::SharedState;
use crate::state::{Applied, StateDigest, StateMark};
use crate::supervision::{guarded, RestartBoard, RestartPolicy, Supervisable, Supervision};

/// Batches in flight per shard before the `LogReader` waits.
const SHARD_MAILBOX_CAPACITY: usize = 64;

pub struct Shard {
    state: SharedState,
    number: usize,
    /// The state before the batch being applied; taken back if that batch fails.
    batch_start: Option<StateMark>,
    supervision: Supervision,
    /// Tests arm this to make the next `ApplyEvents` panic halfway through its batch.
    #[cfg(test)]
    fail_next_apply: bool,
}

impl Shard {
    /// The factory: a shard over its partition's (shared) state.
    pub fn new(state: SharedState, number: usize, board: &Arc<RestartBoard>, policy: RestartPolicy) -> Self {
        Shard {
            state,
            number,
            batch_start: None,
            supervision: Supervision::new("shard", board, policy),
            #[cfg(test)]
            fail_next_apply: false,
        }
    }
}

impl Actor for Shard {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(SHARD_MAILBOX_CAPACITY);
        self.supervision.hold_back(ctx);
    }
}

impl Supervised for Shard {
    fn restarting(&mut self, _: &mut Self::Context) {
        let Some(mark) = self.batch_start.take() else { return };
        let mut state = self.state.write();
        state.rollback(mark);
        tracing::warn!(shard = self.number, bards = state.len(), "shard rolled back the batch that failed");
    }
}

impl Supervisable for Shard {
    fn supervision(&mut self) -> &mut Supervision {
        &mut self.supervision
    }
}

/// Apply these events, all owned by this shard, in this order. `None`: the shard failed and
/// rolled back every one of them; send them again.
#[derive(Message)]
#[rtype(result = "Option<Vec<Applied>>")]
pub struct ApplyEvents {
    pub events: Vec<Event>,
}

impl Handler<ApplyEvents> for Shard {
    type Result = Option<Vec<Applied>>;

    fn handle(&mut self, message: ApplyEvents, ctx: &mut Self::Context) -> Self::Result {
        guarded(self, ctx, |shard, _| {
            let mut state = shard.state.write();
            shard.batch_start = Some(state.mark());
            let mut applied = Vec::with_capacity(message.events.len());
            for event in &message.events {
                applied.push(state.apply_at(event));
                #[cfg(test)]
                if std::mem::take(&mut shard.fail_next_apply) {
                    panic!("injected failure after the first event of a batch");
                }
            }
            shard.batch_start = None;
            applied
        })
    }
}

/// Size and digest of this shard's partition.
#[derive(Message)]
#[rtype(result = "ShardReport")]
pub struct ReportShard;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardReport {
    pub bards: usize,
    pub digest: StateDigest,
}

impl Handler<ReportShard> for Shard {
    type Result = MessageResult<ReportShard>;

    fn handle(&mut self, _: ReportShard, _: &mut Self::Context) -> Self::Result {
        let state = self.state.read();
        MessageResult(ShardReport { bards: state.len(), digest: state.digest() })
    }
}

#[cfg(test)]
mod tests;
