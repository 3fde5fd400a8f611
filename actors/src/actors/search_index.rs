//! `SearchIndex`: owns the tantivy writer on its own arbiter (thread) and commits on a short
//! timer, never per document and never on an HTTP worker. Supervised: the writer survives a
//! restart, and every bard the read view holds past the last one indexed is indexed again
//! (so a batch lost to a failure is not lost to search).

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;

use crate::model::Bard;
use crate::read_view::ReadView;
use crate::search::{SearchError, SearchWriter};
use crate::supervision::{guarded, Supervisable, Supervision};

/// Batches queued before the `LogReader` waits (it enqueues with `try_send`): enough to ride
/// out a slow commit (merges ≈ 100 ms) at tournament rates, small enough that an overload
/// pushes back on the apply loop instead of piling up unindexed bards.
const SEARCH_MAILBOX_CAPACITY: usize = 256;
/// Bards decoded from the view at a time while catching up.
const CATCH_UP_CHUNK: u64 = 4096;

pub struct SearchIndex {
    writer: SearchWriter,
    commit_interval: Duration,
    last_commit: Instant,
    view: Arc<ReadView>,
    /// The read-view sequence of the next bard to index (all before it are in the writer).
    next_sequence: u64,
    supervision: Supervision,
}

impl SearchIndex {
    /// An index over `view` whose documents `0..first_unindexed` are already in `writer`'s
    /// index (shipped with a snapshot), or none (0).
    pub fn new(
        writer: SearchWriter,
        commit_interval: Duration,
        view: Arc<ReadView>,
        first_unindexed: u64,
        supervision: Supervision,
    ) -> Self {
        let last_commit = Instant::now();
        SearchIndex {
            writer,
            commit_interval,
            last_commit,
            view,
            next_sequence: first_unindexed,
            supervision,
        }
    }

    /// Indexes `bards`, numbered from `first_sequence`; first whatever the view holds before
    /// them that was never indexed, and none that already was.
    fn index(&mut self, first_sequence: u64, bards: &[Arc<Bard>]) {
        if first_sequence > self.next_sequence {
            self.catch_up_with_view(first_sequence);
        }
        for (sequence, bard) in (first_sequence..).zip(bards) {
            if sequence >= self.next_sequence {
                self.add(sequence, bard);
            }
        }
    }

    /// Indexes the view's bards from `next_sequence` up to `end` (exclusive), a chunk at a time
    /// (a bootstrap can be a million bards: never all of them decoded at once).
    fn catch_up_with_view(&mut self, end: u64) {
        if self.next_sequence < end {
            tracing::warn!(
                from = self.next_sequence,
                bards = end - self.next_sequence,
                "indexing bards the index missed"
            );
        }
        while self.next_sequence < end {
            let chunk_end = end.min(self.next_sequence + CATCH_UP_CHUNK);
            let missing: Vec<Bard> = {
                let view = self.view.read();
                (self.next_sequence..chunk_end).map_while(|sequence| view.by_sequence(sequence)).collect()
            };
            if missing.is_empty() {
                return;
            }
            for (sequence, bard) in (self.next_sequence..).zip(missing) {
                self.add(sequence, &bard);
            }
        }
    }

    fn add(&mut self, sequence: u64, bard: &Bard) {
        if let Err(error) = self.writer.add(sequence, bard) {
            tracing::error!(%error, id = %bard.id, "bard could not be indexed");
        }
        self.next_sequence = sequence + 1;
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
        self.supervision.hold_back(ctx);
        ctx.run_interval(self.commit_interval, |index, ctx| {
            if let Some(Err(error)) = guarded(index, ctx, |index, _| index.commit()) {
                tracing::error!(%error, "search index commit failed; retrying at next tick");
            }
        });
    }
}

impl Supervised for SearchIndex {
    fn restarting(&mut self, _: &mut Self::Context) {
        let end = self.view.len() as u64;
        self.catch_up_with_view(end);
    }
}

impl Supervisable for SearchIndex {
    fn supervision(&mut self) -> &mut Supervision {
        &mut self.supervision
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

    fn handle(&mut self, message: IndexBards, ctx: &mut Self::Context) {
        guarded(self, ctx, |index, _| {
            index.index(message.first_sequence, &message.bards);
            // A mailbox that never empties would starve the timer: commit here when one is due.
            if index.last_commit.elapsed() >= index.commit_interval {
                if let Err(error) = index.commit() {
                    tracing::error!(%error, "search index commit failed; retrying at next batch");
                }
            }
        });
    }
}

/// Commit now: everything indexed so far becomes searchable when this returns.
#[derive(Message)]
#[rtype(result = "Result<usize, SearchCommitError>")]
pub struct CommitNow;

/// Why a `CommitNow` did not commit.
#[derive(Debug, thiserror::Error)]
pub enum SearchCommitError {
    #[error(transparent)]
    Search(#[from] SearchError),
    #[error("the search index failed while committing; it restarts")]
    Restarting,
    #[error("the search index is unreachable: {0}")]
    Unreachable(#[from] MailboxError),
}

impl Handler<CommitNow> for SearchIndex {
    type Result = Result<usize, SearchCommitError>;

    fn handle(&mut self, _: CommitNow, ctx: &mut Self::Context) -> Self::Result {
        let committed = guarded(self, ctx, |index, _| index.commit());
        Ok(committed.ok_or(SearchCommitError::Restarting)??)
    }
}
