//! Broker failover at connect: with a dead node listed first, the log connects to the next
//! one, and appends and reads go through it. Needs the shared broker
//! (`bash ops/rabbitmq.sh ensure`, or `BARDO_TEST_AMQP_URL`).

mod common;

use std::time::Duration;

use bardo_actors::log::{BrokerUrls, EventLog, LogError, RabbitMqLog, StreamAddress};
use bytes::Bytes;
use common::cluster::{amqp_url, fresh_stream};
use futures::StreamExt;

/// Nothing listens on port 1: a node that is down.
const DEAD_NODE: &str = "amqp://bardo:bardo-local-only@127.0.0.1:1/%2f";

fn address(urls: &str, stream: &str) -> StreamAddress {
    let urls = BrokerUrls::parse(urls).expect("AMQP URLs");
    StreamAddress { urls, stream: stream.into(), retention: Default::default(), initial_replicas: None }
}

#[tokio::test]
async fn a_dead_first_node_fails_over_to_the_next() {
    let stream = fresh_stream("failover");
    let urls = format!("{DEAD_NODE}, {}", amqp_url());
    let log = RabbitMqLog::connect(address(&urls, &stream)).await.expect("the second node answers");
    log.append(Bytes::from_static(b"through the second node")).await.expect("appended");
    assert_eq!(log.end_offset().await.expect("end probed"), 1);
    assert_eq!(log.first_offset().await.expect("first probed"), 0);
    let mut reader = log.read_from(0);
    let chunk = tokio::time::timeout(Duration::from_secs(10), reader.next())
        .await
        .expect("read in time")
        .expect("a chunk")
        .expect("no error");
    assert_eq!(chunk[0].payload, Bytes::from_static(b"through the second node"));
    assert_eq!(chunk[0].offset, 0);
    log.delete_stream().await.expect("deleted");
}

#[tokio::test]
async fn every_node_down_is_unavailable_naming_how_many_were_tried() {
    let urls = format!("{DEAD_NODE},amqp://bardo:bardo-local-only@127.0.0.1:2/%2f");
    let Err(error) = RabbitMqLog::connect(address(&urls, &fresh_stream("all-down"))).await else {
        panic!("nothing listens there");
    };
    assert!(matches!(&error, LogError::Unavailable(message) if message.contains("none of the 2")), "{error}");
    assert!(!error.to_string().contains("bardo-local-only"), "no password in errors: {error}");
}
