//! `Shard`: owns one partition of the state (the bards whose apelido hashes to it) and decides
//! apelido uniqueness for that partition by applying events in log order.

use actix::prelude::*;

use crate::event::Event;
use crate::state::{Outcome, State, StateDigest};

/// Batches in flight per shard before the `LogReader` waits.
const SHARD_MAILBOX_CAPACITY: usize = 64;

pub struct Shard {
    state: State,
}

impl Shard {
    pub fn new() -> Self {
        Shard { state: State::default() }
    }
}

impl Default for Shard {
    fn default() -> Self {
        Shard::new()
    }
}

impl Actor for Shard {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(SHARD_MAILBOX_CAPACITY);
    }
}

/// Apply these events, all owned by this shard, in this order.
#[derive(Message)]
#[rtype(result = "Vec<Outcome>")]
pub struct ApplyEvents {
    pub events: Vec<Event>,
}

impl Handler<ApplyEvents> for Shard {
    type Result = MessageResult<ApplyEvents>;

    fn handle(&mut self, message: ApplyEvents, _: &mut Self::Context) -> Self::Result {
        MessageResult(message.events.iter().map(|event| self.state.apply(event)).collect())
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
