//! The actors, one per file. Each owns its data and is reached through a bounded mailbox.

pub mod health_beacon;
pub mod log_reader;
#[cfg(feature = "machine")]
pub mod machine_sampler;
pub mod publisher;
pub mod search_index;
pub mod shard;
pub mod snapshotter;

pub use health_beacon::{BeaconIdentity, HealthBeacon, HealthSources};
pub use log_reader::{LogProgress, LogReader};
#[cfg(feature = "machine")]
pub use machine_sampler::{LatestMachineSample, MachineSampler};
pub use publisher::{Append, Publisher, PublisherStats, RecordPacing};
pub use search_index::{CommitNow, IndexBards, SearchCommitError, SearchIndex};
pub use shard::{ApplyEvents, ReportShard, Shard, ShardReport};
pub use snapshotter::{SnapshotPolicy, SnapshotStore, Snapshotter, TakenSnapshot};
