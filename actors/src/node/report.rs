//! [`NodeReport`]: everything a node knows about itself at one moment, built in one place
//! ([`Node::report`]). `/status` serialises it and `/metrics` formats it; neither reads the
//! node's parts. A new fact is one field here and one line in each of them. Field names of the
//! serialised parts are the `/status` names.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

#[cfg(feature = "machine")]
use bardo_machine::MachineSnapshot;
use serde::Serialize;

use super::*;
use crate::actors::TakenSnapshot;
use crate::health::PeerReport;
use crate::latency::HistogramSnapshot;
use crate::memory::{MemoryProbe, ProcessMemory};
use crate::read_view::ViewMemory;
use crate::search::IndexMemory;
use crate::supervision::RestartRecord;

#[derive(Debug, Clone)]
pub struct NodeReport {
    /// The role it started in (a promoted replica stays `Replica`).
    pub role: Role,
    /// Takes creates (and passes log barriers): an API, or a promoted replica.
    pub accepts_creates: bool,
    /// A replica promoted to take creates.
    pub promoted: bool,
    /// Since `Node::start` began.
    pub uptime: Duration,
    /// Of the whole state, combined from every shard: equal wherever the same log was applied.
    pub digest: StateDigest,
    pub counts: Counts,
    /// Bards held by each shard, in shard order.
    pub shard_bards: Vec<usize>,
    pub log: LogReport,
    pub publisher: PublisherReport,
    /// Every supervised actor kind, by name.
    pub restarts: BTreeMap<&'static str, RestartRecord>,
    /// The latest snapshot this node marked, if any.
    pub snapshot: Option<SnapshotReport>,
    /// Where this node's memory goes.
    pub memory: MemoryReport,
    pub memory_guard: GuardReport,
    /// Site B seen from here (the first replica among the peers).
    pub replica: Option<ReplicaReport>,
    /// Every node heard from through the beacons.
    pub peers: Vec<PeerReport>,
    /// Where the creates' time went, phase by phase (`crate::latency`), since the start.
    pub create_latency: Vec<(&'static str, HistogramSnapshot)>,
    /// The `MachineSampler`'s latest sample; `None` until its first.
    #[cfg(feature = "machine")]
    pub machine: Option<MachineSnapshot>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Readable here (the read view).
    pub bards: usize,
    /// Held by the shards (the digest's count).
    pub bards_in_shards: u64,
    /// Searchable here.
    pub searchable: u64,
    pub shards: usize,
    /// Creates and barriers waiting for this node to apply their event.
    pub pending_requests: usize,
    /// Creates the log reader saw succeed.
    pub bards_created_by_log: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogReport {
    /// What the log is (`EventLog::describe`).
    pub kind: String,
    /// The next record to apply: every one before it is applied.
    pub next_offset: Offset,
    /// The offset the next appended record will get, or why the log could not say.
    #[serde(skip)]
    pub end_offset: Result<Offset, LogError>,
    pub events_applied: u64,
    /// Records skipped because they did not decode.
    pub undecodable_records: u64,
}

impl LogReport {
    /// The last record applied; `None` before the first.
    pub fn applied_offset(&self) -> Option<Offset> {
        self.next_offset.checked_sub(1)
    }

    /// Records in the log not applied here yet, when the log's end is known.
    pub fn lag(&self) -> Option<u64> {
        self.end_offset.as_ref().ok().map(|end| end.saturating_sub(self.next_offset))
    }
}

/// The append side: events per record is the group-commit factor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublisherReport {
    /// Records the log confirmed.
    pub records_published: u64,
    /// Events in those records.
    pub events_published: u64,
    /// Appends that failed or timed out.
    pub publish_failures: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnapshotReport {
    /// Where a node bootstrapped from it resumes the log.
    pub next_offset: Offset,
    pub bards: u64,
    /// Since it was marked (it is encoded when asked for, streamed).
    pub age_seconds: f64,
}

impl From<&TakenSnapshot> for SnapshotReport {
    fn from(taken: &TakenSnapshot) -> Self {
        SnapshotReport {
            next_offset: taken.mark.next_offset,
            bards: taken.mark.bards,
            age_seconds: taken.taken_at.elapsed().as_secs_f64(),
        }
    }
}

/// This process, the view's parts and the index's parts, in bytes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemoryReport {
    pub process: ProcessMemory,
    pub view: ViewMemory,
    /// `None` when tantivy could not account for its segments this time.
    pub index: Option<IndexMemory>,
    /// Distinct stack element names held once for every bard.
    pub stack_vocabulary: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuardReport {
    pub refusing_creates: bool,
    /// Which node holds how much of its limit, when creates are refused.
    pub reason: Option<String>,
    pub refuse_at_percent: f64,
}

/// A replica seen from here: alive, how far it applied, how far behind this node.
#[derive(Debug, Clone, Serialize)]
pub struct ReplicaReport {
    #[serde(flatten)]
    pub peer: PeerReport,
    pub applied_offset: Option<Offset>,
    pub lag_records: u64,
}

impl Node {
    /// Everything this node knows about itself: one `ReportShard` per shard and one question
    /// to the log (its end offset; a failure there is part of the report, not an error).
    pub async fn report(&self) -> Result<NodeReport, NodeError> {
        let shards = self.shard_reports().await?;
        let digest = shards.iter().fold(StateDigest::default(), |digest, shard| digest.combine(shard.digest));
        let end_offset = self.log.end_offset().await;
        let gauges = &self.gauges;
        let accepts_creates = self.accepts_writes();
        Ok(NodeReport {
            role: self.config.role,
            accepts_creates,
            promoted: accepts_creates && self.config.role == Role::Replica,
            uptime: gauges.started.elapsed(),
            digest,
            counts: self.counts(digest.count),
            shard_bards: shards.iter().map(|shard| shard.bards).collect(),
            log: self.log_report(end_offset),
            publisher: self.publisher_report(),
            restarts: gauges.restarts.snapshot(),
            snapshot: self.snapshots.latest().as_ref().map(SnapshotReport::from),
            memory: self.memory_report(),
            memory_guard: self.guard_report(),
            replica: self.replica_report(),
            peers: self.peers.reports(),
            create_latency: gauges.latency.snapshot(),
            #[cfg(feature = "machine")]
            machine: gauges.machine.get(),
        })
    }

    /// Every shard's size and digest, in shard order.
    async fn shard_reports(&self) -> Result<Vec<ShardReport>, MailboxError> {
        let reports = futures::future::join_all(self.shards.iter().map(|s| s.send(ReportShard))).await;
        reports.into_iter().collect()
    }

    fn counts(&self, bards_in_shards: u64) -> Counts {
        Counts {
            bards: self.view.len(),
            bards_in_shards,
            searchable: self.search.indexed(),
            shards: self.shards.len(),
            pending_requests: self.waiters.len(),
            bards_created_by_log: self.gauges.progress.bards_created.load(Ordering::Relaxed),
        }
    }

    fn log_report(&self, end_offset: Result<Offset, LogError>) -> LogReport {
        let progress = &self.gauges.progress;
        LogReport {
            kind: self.log.describe(),
            next_offset: progress.next_offset(),
            end_offset,
            events_applied: progress.events_applied.load(Ordering::Relaxed),
            undecodable_records: progress.undecodable_records.load(Ordering::Relaxed),
        }
    }

    fn memory_report(&self) -> MemoryReport {
        MemoryReport {
            process: MemoryProbe::new(self.config.health.memory_limit).read(),
            view: self.view.memory(),
            index: self.search.memory().ok(),
            stack_vocabulary: crate::store::vocabulary::read().len(),
        }
    }

    fn guard_report(&self) -> GuardReport {
        let reason = self.memory_guard.refusal();
        GuardReport {
            refusing_creates: reason.is_some(),
            reason,
            refuse_at_percent: self.memory_guard.refuse_fraction * 100.0,
        }
    }

    fn replica_report(&self) -> Option<ReplicaReport> {
        let peer = self.peers.reports().into_iter().find(|peer| peer.beacon.role == Role::Replica.name())?;
        let own_next = self.gauges.progress.next_offset();
        Some(ReplicaReport {
            applied_offset: peer.beacon.next_offset.checked_sub(1),
            lag_records: own_next.saturating_sub(peer.beacon.next_offset),
            peer,
        })
    }

    fn publisher_report(&self) -> PublisherReport {
        let stats = &self.gauges.publisher;
        PublisherReport {
            records_published: stats.records.load(Ordering::Relaxed),
            events_published: stats.events.load(Ordering::Relaxed),
            publish_failures: stats.failures.load(Ordering::Relaxed),
        }
    }
}
