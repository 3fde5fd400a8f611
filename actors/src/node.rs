//! A running bardo node: the actors wired together behind a few operations (`create`, `get`,
//! `count`, `search`, `latest_snapshot`) and one typed [`NodeReport`] (`report`). The create
//! path is log-first: publish, wait for the confirmation, wait until this node applied the
//! event, answer from the outcome.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
#[cfg(feature = "machine")]
use bardo_machine::MachineConfig;
use uuid::Uuid;

pub use crate::actors::log_reader::OnLogGap;
use crate::actors::{
    Append, BeaconIdentity, CommitNow, LogProgress, LogReader, Publisher, PublisherStats, ReportShard,
    SearchCommitError, SearchIndex, Shard, ShardReport, SnapshotPolicy, SnapshotStore,
};
#[cfg(feature = "machine")]
use crate::actors::{LatestMachineSample, MachineSampler};
use crate::event::{BardCreated, Event, LogBarrier};
use crate::health::{MemoryGuard, PeerBoard};
use crate::latency::CreateLatency;
use crate::log::{BeaconAddress, EventLog, LogError, Offset};
use crate::model::{Bard, NewBard};
use crate::read_view::ReadView;
use crate::search::{SearchError, SearchReader};
use crate::snapshot::SnapshotEncoder;
use crate::state::{Outcome, StateDigest};
use crate::supervision::{RestartBoard, RestartPolicy};
use crate::waiters::OutcomeWaiters;

/// What a node is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Takes creates; misses and counts pass a log barrier.
    Api,
    /// Follows the log, answers reads from what it applied, keeps snapshots; takes no writes
    /// until promoted (`Node::promote`).
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
    /// What the `MachineSampler` samples (sysfs root, environment, region and zone overrides).
    #[cfg(feature = "machine")]
    pub machine: MachineConfig,
    /// Backoff between restarts of a failed actor.
    pub restart_policy: RestartPolicy,
    /// Beacons to the other nodes of the log, and the memory guard.
    pub health: HealthConfig,
    /// What to do when retention removed records this node never applied.
    pub on_log_gap: OnLogGap,
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
            #[cfg(feature = "machine")]
            machine: MachineConfig::from_process(),
            restart_policy: RestartPolicy::default(),
            health: HealthConfig::default(),
            on_log_gap: OnLogGap::default(),
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
    /// An actor a report or a read needs is gone (it stopped for good, or the system is
    /// shutting down).
    #[error("an actor of this node is unreachable: {0}")]
    ActorStopped(#[from] MailboxError),
}

/// A running node: handles to everything a request needs; cheap to clone. Its parts are
/// private: requests go through its operations, and everything it knows about itself comes out
/// of [`Node::report`] as one [`NodeReport`].
#[derive(Clone)]
pub struct Node {
    config: NodeConfig,
    log: Arc<dyn EventLog>,
    publisher: Addr<Publisher>,
    search_index: Addr<SearchIndex>,
    shards: Vec<Addr<Shard>>,
    view: Arc<ReadView>,
    search: SearchReader,
    waiters: Arc<OutcomeWaiters>,
    snapshots: Arc<SnapshotStore>,
    peers: Arc<PeerBoard>,
    memory_guard: Arc<MemoryGuard>,
    /// Takes creates and passes log barriers: from the start on an API, once promoted on a
    /// replica (shared by every clone of the node).
    accepts_writes: Arc<AtomicBool>,
    gauges: Gauges,
    _running: Arc<Running>,
}

/// What the actors keep up to date for the report, read without a message round trip.
#[derive(Clone)]
struct Gauges {
    started: Instant,
    progress: Arc<LogProgress>,
    publisher: Arc<PublisherStats>,
    /// The create path's phases, recorded by the publisher and by `create`.
    latency: Arc<CreateLatency>,
    restarts: Arc<RestartBoard>,
    #[cfg(feature = "machine")]
    machine: Arc<LatestMachineSample>,
}

/// Held only to keep these actors and their threads alive as long as the node.
struct Running {
    _log_reader: Addr<LogReader>,
    #[cfg(feature = "machine")]
    _machine_sampler: Addr<MachineSampler>,
    _arbiters: Vec<Arbiter>,
}

mod operations;
mod report;
mod start;
#[cfg(test)]
mod uncertain_tests;

pub use report::{
    Counts, GuardReport, LogReport, MemoryReport, NodeReport, PublisherReport, ReplicaReport, SnapshotReport,
};
pub use start::NodeStartError;
