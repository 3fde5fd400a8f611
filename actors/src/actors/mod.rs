//! The actors, one per file. Each owns its data and is reached through a bounded mailbox.

pub mod health_beacon;
pub mod log_reader;
pub mod publisher;
pub mod search_index;
pub mod shard;
pub mod snapshotter;
pub mod supervisor;

pub use health_beacon::{BeaconIdentity, HealthBeacon, HealthSources};
pub use log_reader::{LogProgress, LogReader};
pub use publisher::{Append, Publisher, PublisherStats, RecordPacing};
pub use search_index::{CommitNow, IndexBards, SearchIndex};
pub use shard::{ApplyEvents, ReportShard, Shard, ShardReport};
pub use snapshotter::{SnapshotPolicy, SnapshotStore, Snapshotter, TakenSnapshot};
pub use supervisor::Supervisor;
