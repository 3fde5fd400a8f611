//! The bardo binary's library half: CLI, HTTP app, error table, serve loop. `main.rs` only
//! parses the command line and dispatches.

pub mod app;
pub mod cli;
pub mod error;
pub mod metrics;
pub mod replay;
pub mod routes;
pub mod serve;
pub mod status;

pub use app::{create_app, AppState, Identity};
