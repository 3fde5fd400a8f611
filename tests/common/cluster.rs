//! In-process instances on a real RabbitMQ: each node has its own connections, like a process.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::web;
use bardo::{AppState, Identity};
use bardo_actors::log::{BrokerUrls, RabbitMqLog, StreamAddress, StreamRetention};
use bardo_actors::snapshot::SnapshotFeed;
use bardo_actors::{Node, NodeConfig, Role};

pub fn amqp_url() -> String {
    std::env::var("BARDO_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://bardo:bardo-local-only@127.0.0.1:5672/%2f".into())
}

/// A fresh stream name per test, so runs never see each other's events.
pub fn fresh_stream(test: &str) -> String {
    format!("test.{test}.{}", uuid::Uuid::new_v4().simple())
}

pub async fn connect(stream: &str) -> Arc<RabbitMqLog> {
    connect_with(stream, StreamRetention::default()).await
}

/// Connects, creating the stream with this retention when it does not exist yet.
pub async fn connect_with(stream: &str, retention: StreamRetention) -> Arc<RabbitMqLog> {
    let urls = BrokerUrls::parse(&amqp_url()).expect("BARDO_TEST_AMQP_URL holds AMQP URLs");
    let address = StreamAddress { urls, stream: stream.into(), retention, initial_replicas: None };
    RabbitMqLog::connect(address).await.unwrap_or_else(|error| {
        panic!("RabbitMQ must be running for these tests (bash ops/rabbitmq.sh ensure): {error}")
    })
}

/// Starts one instance (api or replica) on `stream`, caught up, optionally from a snapshot.
pub async fn start_instance(
    stream: &str,
    name: &str,
    role: Role,
    snapshot: Option<SnapshotFeed>,
) -> web::Data<AppState> {
    let mut config = NodeConfig { role, shards: 4, ..NodeConfig::default() };
    // As `serve` does: every role marks snapshots.
    config.snapshots =
        Some(bardo_actors::actors::SnapshotPolicy { every_events: 100, every: Duration::from_millis(500) });
    let node = Node::start(connect(stream).await, config, snapshot).await.expect("node starts");
    node.caught_up(Duration::from_secs(30)).await.expect("node catches up");
    let identity = Identity::new(role.name(), Some(name.into()), Some("test".into()));
    web::Data::new(AppState::new(node, identity))
}

/// Waits until `follower` applied at least as far as `leader` (bounded).
pub async fn wait_until_applied(follower: &Node, offset: u64) {
    let started = Instant::now();
    while follower.next_offset() < offset {
        assert!(started.elapsed() < Duration::from_secs(30), "follower stuck at {}", follower.next_offset());
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
}
