//! Shared test harness: a real node (embedded log, real actors, real tantivy) behind the real
//! `create_app()`.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use actix_web::web;
use bardo::{AppState, Identity};
use bardo_actors::log::EmbeddedLog;
use bardo_actors::{Node, NodeConfig};

/// Starts a node with `shards` shard actors; call inside an actix System (`#[actix_web::test]`).
pub async fn start_state(shards: usize) -> web::Data<AppState> {
    let config = NodeConfig { shards, ..NodeConfig::default() };
    let node = Node::start(Arc::new(EmbeddedLog::default()), config, None).await.expect("node starts");
    let identity = Identity::new("api", Some("test".into()), Some("test-site".into()));
    web::Data::new(AppState::new(node, identity))
}

/// `../shared` beside the repository (as laid out for sessions and CI), or `BARDO_SHARED_DIR`.
pub fn shared_dir() -> PathBuf {
    let dir = std::env::var_os("BARDO_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    assert!(dir.join("rinha-2023-q3").is_dir(), "tournament data not found under {}", dir.display());
    dir
}

pub fn valid_body(apelido: &str) -> String {
    format!(
        r#"{{"apelido":"{apelido}","nome":"Nome de {apelido}","nascimento":"1990-05-17","stack":["Rust","Go"]}}"#
    )
}

pub mod cluster;
