//! The bardo binary's library half: CLI, HTTP app, error table, serve loop. `main.rs` only
//! parses the command line and dispatches.
//!
//! The HTTP modules depend on each other in one direction only (`tests/module_graph.rs`
//! checks it): `serve` → `app` (route table) → `routes` (handlers) → `status`, `metrics`,
//! `error` → `state` (`AppState`, `Identity`) → `http_metrics` (the request recorder).
//! `promote` (the `bardo promote` client) reads `status`'s answer type and `cli`.
//! `status` and `metrics` format a `NodeReport`; they never see the app.

pub mod app;
pub mod cli;
pub mod error;
pub mod http_metrics;
pub mod metrics;
pub mod promote;
pub mod replay;
pub mod routes;
pub mod serve;
pub mod state;
pub mod status;

pub use app::create_app;
pub use state::{AppState, Identity};
