//! bardo's core: the bard model, validation, versioned events, the pure state machine, the
//! event log abstraction, search, and the actors that run them.

pub mod actors;
pub mod event;
pub mod health;
pub mod log;
pub mod machine;
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

pub use node::{HealthConfig, Node, NodeConfig, NodeError, NodeStartError, Role};
