//! bardo's core: the bard model, validation, versioned events, the pure state machine, the
//! event log abstraction, search, and the actors that run them. [`Node`] is the face the HTTP
//! side uses: a few operations and one typed [`NodeReport`]. With the `machine` feature the node
//! also samples its machine (the `bardo-machine` crate) into that report.

pub mod actors;
pub mod event;
pub mod health;
pub mod latency;
pub mod log;
pub mod memory;
pub mod model;
pub mod node;
pub mod read_view;
pub mod search;
pub mod snapshot;
pub mod state;
pub mod store;
pub mod supervision;
pub mod validation;
pub mod waiters;

pub use node::{
    Counts, GuardReport, HealthConfig, LogReport, MemoryReport, Node, NodeConfig, NodeError, NodeReport,
    NodeStartError, PublisherReport, ReplicaReport, Role, SnapshotReport,
};
