//! A running bardo node: the actors wired together, plus the operations HTTP needs. The create
//! path is log-first: publish, wait for the confirmation, wait until this node applied the
//! event, answer from the outcome.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use uuid::Uuid;

use crate::actors::log_reader::ApplyTargets;
use crate::actors::supervisor::StatusBoard;
use crate::actors::BeaconIdentity;
use crate::actors::{
    Append, CommitNow, LogProgress, LogReader, Publisher, PublisherStats, RecordPacing, ReportShard,
    SearchIndex, Shard, ShardReport, SnapshotPolicy, SnapshotStore, Snapshotter, Supervisor,
};
use crate::event::{BardCreated, Event, LogBarrier};
use crate::health::{MemoryGuard, PeerBoard};
use crate::log::BeaconAddress;
use crate::log::{EventLog, LogError};
use crate::machine::MachineConfig;
use crate::model::{Bard, NewBard};
use crate::read_view::ReadView;
use crate::search::{create_search_index, SearchError, SearchReader};
use crate::state::{Outcome, StateDigest};
use crate::supervision::RestartPolicy;
use crate::waiters::OutcomeWaiters;

/// What a node is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Takes creates; misses and counts pass a log barrier.
    Api,
    /// Follows the log, answers reads from what it applied, keeps snapshots; takes no writes.
    Replica,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Api => "api",
            Role::Replica => "replica",
        }
    }
}

/// Tuning knobs of a node.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub role: Role,
    /// When to snapshot (replica); `None` takes no snapshots.
    pub snapshots: Option<SnapshotPolicy>,
    pub shards: usize,
    /// Threads (arbiters) the shards are spread over.
    pub apply_threads: usize,
    pub search_commit_interval: Duration,
    /// Bounded wait for the log's confirmation; past it a create answers 503.
    pub confirm_timeout: Duration,
    /// Bounded wait for this node to apply a confirmed event.
    pub apply_timeout: Duration,
    /// Group commit: at most one log record per this interval (zero: flush whenever idle).
    pub record_interval: Duration,
    /// What the supervisor samples (sysfs root, environment, region and zone overrides).
    pub machine: MachineConfig,
    /// Backoff between restarts of a failed actor.
    pub restart_policy: RestartPolicy,
    /// Beacons to the other nodes of the log, and the memory guard.
    pub health: HealthConfig,
}

/// Who this node tells its peers it is, where the beacons go, and when creates are refused.
#[derive(Debug, Clone)]
pub struct HealthConfig {
    pub identity: BeaconIdentity,
    /// `None`: no peers to tell (the embedded log); the guard still watches this process.
    pub beacons: Option<BeaconAddress>,
    /// Refuse creates once any live node holds this share of its memory limit.
    pub refuse_fraction: f64,
    /// A memory limit to use instead of the cgroup's (`None`: the cgroup's, if any).
    pub memory_limit: Option<u64>,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            identity: BeaconIdentity::default(),
            beacons: None,
            refuse_fraction: 0.9,
            memory_limit: None,
        }
    }
}

impl Default for NodeConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        NodeConfig {
            role: Role::Api,
            snapshots: None,
            shards: cores * 4,
            apply_threads: cores,
            search_commit_interval: Duration::from_millis(100),
            confirm_timeout: Duration::from_secs(2),
            apply_timeout: Duration::from_secs(10),
            record_interval: Duration::ZERO,
            machine: MachineConfig::from_process(),
            restart_policy: RestartPolicy::default(),
            health: HealthConfig::default(),
        }
    }
}

/// Why a create or a consistent read could not be answered as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeError {
    #[error("apelido {0:?} is already taken")]
    ApelidoTaken(String),
    #[error(transparent)]
    LogUnavailable(#[from] LogError),
    #[error("the event was confirmed but not applied here within {0:?}")]
    ApplyTimeout(Duration),
    #[error("this node is a read-only replica")]
    ReadOnly,
    /// The memory guard refuses creates (the reason names the node and its figures).
    #[error("{0}")]
    MemoryFull(String),
}

/// Handles to everything a request needs; cheap to clone.
#[derive(Clone)]
pub struct Node {
    pub config: NodeConfig,
    pub log: Arc<dyn EventLog>,
    pub publisher: Addr<Publisher>,
    pub log_reader: Addr<LogReader>,
    pub search_index: Addr<SearchIndex>,
    pub shards: Vec<Addr<Shard>>,
    pub supervisor: Addr<Supervisor>,
    pub view: Arc<ReadView>,
    pub search: SearchReader,
    pub waiters: Arc<OutcomeWaiters>,
    pub progress: Arc<LogProgress>,
    pub publisher_stats: Arc<PublisherStats>,
    pub status_board: Arc<StatusBoard>,
    pub snapshots: Arc<SnapshotStore>,
    pub peers: Arc<PeerBoard>,
    pub memory_guard: Arc<MemoryGuard>,
    _arbiters: Arc<Vec<Arbiter>>,
}

mod operations;
mod start;
#[cfg(test)]
mod uncertain_tests;

pub use start::NodeStartError;
