//! `SearchIndex`: owns the tantivy writer on its own arbiter (thread) and commits on a short
//! timer, never per document and never on an HTTP worker.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;

use crate::model::Bard;
use crate::search::{SearchError, SearchWriter};

/// Batches queued before the `LogReader` waits (it enqueues with `try_send`): enough to ride
/// out a slow commit (merges ≈ 100 ms) at tournament rates, small enough that an overload
/// pushes back on the apply loop instead of piling up unindexed bards.
const SEARCH_MAILBOX_CAPACITY: usize = 256;

pub struct SearchIndex {
    writer: SearchWriter,
    commit_interval: Duration,
    last_commit: Instant,
}

impl SearchIndex {
    pub fn new(writer: SearchWriter, commit_interval: Duration) -> Self {
        SearchIndex { writer, commit_interval, last_commit: Instant::now() }
    }

    fn commit(&mut self) -> Result<usize, SearchError> {
        self.last_commit = Instant::now();
        let committed = self.writer.commit()?;
        if committed > 0 {
            tracing::trace!(committed, "search index committed");
        }
        Ok(committed)
    }
}

impl Actor for SearchIndex {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(SEARCH_MAILBOX_CAPACITY);
        ctx.run_interval(self.commit_interval, |index, _| {
            if let Err(error) = index.commit() {
                tracing::error!(%error, "search index commit failed; retrying at next tick");
            }
        });
    }
}

/// Index these newly created bards; `first_sequence` is the read-view number of the first.
#[derive(Message)]
#[rtype(result = "()")]
pub struct IndexBards {
    pub first_sequence: u64,
    pub bards: Vec<Arc<Bard>>,
}

impl Handler<IndexBards> for SearchIndex {
    type Result = ();

    fn handle(&mut self, message: IndexBards, _: &mut Self::Context) {
        for (offset, bard) in message.bards.iter().enumerate() {
            if let Err(error) = self.writer.add(message.first_sequence + offset as u64, bard) {
                tracing::error!(%error, id = %bard.id, "bard could not be indexed");
            }
        }
        // A mailbox that never empties would starve the timer: commit here when one is due.
        if self.last_commit.elapsed() >= self.commit_interval {
            if let Err(error) = self.commit() {
                tracing::error!(%error, "search index commit failed; retrying at next batch");
            }
        }
    }
}

/// Commit now: everything indexed so far becomes searchable when this returns.
#[derive(Message)]
#[rtype(result = "Result<usize, String>")]
pub struct CommitNow;

impl Handler<CommitNow> for SearchIndex {
    type Result = Result<usize, String>;

    fn handle(&mut self, _: CommitNow, _: &mut Self::Context) -> Self::Result {
        self.commit().map_err(|error| error.to_string())
    }
}
