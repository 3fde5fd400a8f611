//! `Shard`: owns one partition of the state (the bards whose apelido hashes to it) and decides
//! apelido uniqueness for that partition by applying events in log order. Supervised: after a
//! failure it rebuilds its partition from the read view (every bard created before the batch in
//! flight), and the `LogReader` sends it that batch again.

use std::sync::Arc;

use actix::prelude::*;

use crate::event::{BardCreated, Event};
use crate::read_view::ReadView;
use crate::state::{shard_for, Outcome, State, StateDigest};
use crate::supervision::{guarded, RestartBoard, RestartPolicy, Supervisable, Supervision};

/// Batches in flight per shard before the `LogReader` waits.
const SHARD_MAILBOX_CAPACITY: usize = 64;

/// Where a shard's partition can be rebuilt from: its number among `count` shards.
#[derive(Clone)]
pub struct ShardSource {
    pub view: Arc<ReadView>,
    pub number: usize,
    pub count: usize,
}

impl ShardSource {
    /// The partition's state: every created bard that hashes here, in apply order.
    pub fn rebuild(&self) -> State {
        let mut state = State::default();
        for bard in self.view.all() {
            if shard_for(&bard.apelido, self.count) == self.number {
                state.apply(&Event::BardCreated(BardCreated { bard }));
            }
        }
        state
    }
}

pub struct Shard {
    state: State,
    source: ShardSource,
    supervision: Supervision,
    /// Tests arm this to make the next `ApplyEvents` panic halfway through its batch.
    #[cfg(test)]
    fail_next_apply: bool,
}

impl Shard {
    /// The factory: a shard holding what the read view says its partition holds.
    pub fn new(source: ShardSource, board: &Arc<RestartBoard>, policy: RestartPolicy) -> Self {
        Shard {
            state: source.rebuild(),
            source,
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
        self.state = self.source.rebuild();
        tracing::warn!(
            shard = self.source.number,
            bards = self.state.len(),
            "shard rebuilt from the read view"
        );
    }
}

impl Supervisable for Shard {
    fn supervision(&mut self) -> &mut Supervision {
        &mut self.supervision
    }
}

/// Apply these events, all owned by this shard, in this order. `None`: the shard failed and
/// was rebuilt without any of them; send them again.
#[derive(Message)]
#[rtype(result = "Option<Vec<Outcome>>")]
pub struct ApplyEvents {
    pub events: Vec<Event>,
}

impl Handler<ApplyEvents> for Shard {
    type Result = Option<Vec<Outcome>>;

    fn handle(&mut self, message: ApplyEvents, ctx: &mut Self::Context) -> Self::Result {
        guarded(self, ctx, |shard, _| {
            let mut outcomes = Vec::with_capacity(message.events.len());
            for event in &message.events {
                outcomes.push(shard.state.apply(event));
                #[cfg(test)]
                if std::mem::take(&mut shard.fail_next_apply) {
                    panic!("injected failure after the first event of a batch");
                }
            }
            outcomes
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
        MessageResult(ShardReport { bards: self.state.len(), digest: self.state.digest() })
    }
}

#[cfg(test)]
mod tests;
