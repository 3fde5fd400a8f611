//! Consistency promises 1–5 of SPEC.md across two api instances and a replica on a real
//! RabbitMQ stream (in-process instances, each with its own broker connections).

mod common;

use std::collections::HashSet;
use std::time::Duration;

use actix_web::http::{header, StatusCode};
use actix_web::test::{self, TestRequest};
use bardo::create_app;
use bardo_actors::event::decode_record;
use bardo_actors::log::EventLog;
use bardo_actors::snapshot::{SnapshotFeed, SnapshotMark};
use bardo_actors::state::State;
use bardo_actors::Role;
use common::cluster::{connect, fresh_stream, start_instance, wait_until_applied};
use common::valid_body;
use futures::StreamExt;

fn post(path: &str, body: String) -> actix_http::Request {
    TestRequest::post().uri(path).set_payload(body).to_request()
}

fn get(path: &str) -> actix_http::Request {
    TestRequest::get().uri(path).to_request()
}

/// Promise 3: of concurrent creates of one apelido on different instances, exactly one wins.
#[actix_web::test]
async fn concurrent_creates_of_20_apelidos_on_two_instances_give_exactly_20_created() {
    let stream = fresh_stream("unique");
    let (api1, api2) = (
        start_instance(&stream, "api1", Role::Api, None).await,
        start_instance(&stream, "api2", Role::Api, None).await,
    );
    let (app1, app2) = (
        test::init_service(create_app(api1.clone())).await,
        test::init_service(create_app(api2.clone())).await,
    );
    let requests = (0..200).map(|n| {
        let body = valid_body(&format!("unique{}", n % 20));
        let (app1, app2) = (&app1, &app2);
        async move {
            let response = if n % 2 == 0 {
                test::call_service(app1, post("/bards", body)).await
            } else {
                test::call_service(app2, post("/bards", body)).await
            };
            response.status().as_u16()
        }
    });
    let statuses: Vec<u16> = futures::future::join_all(requests).await;
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 20, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 422).count(), 180, "{statuses:?}");
    for app in [&app1, &app2] {
        assert_eq!(test::call_and_read_body(app, get("/contagem-bards")).await, "20");
    }
    connect(&stream).await.delete_stream().await.unwrap();
}

/// Promises 1 and 2: GET Location on the other instance right after a 201 never misses, and
/// the count on both equals the number of 201s.
#[actix_web::test]
async fn read_your_writes_across_instances_for_5000_creates() {
    let stream = fresh_stream("ryw");
    let (api1, api2) = (
        start_instance(&stream, "api1", Role::Api, None).await,
        start_instance(&stream, "api2", Role::Api, None).await,
    );
    let apps = [
        test::init_service(create_app(api1.clone())).await,
        test::init_service(create_app(api2.clone())).await,
    ];
    let apps = &apps;
    let results = futures::stream::iter(0..5000usize)
        .map(|n| async move {
            let (writer, reader) = (&apps[n % 2], &apps[(n + 1) % 2]);
            let created = test::call_service(writer, post("/pessoas", valid_body(&format!("ryw{n}")))).await;
            assert_eq!(created.status(), StatusCode::CREATED);
            let location = created.headers().get(header::LOCATION).unwrap().to_str().unwrap().to_owned();
            test::call_service(reader, get(&location)).await.status()
        })
        .buffer_unordered(16)
        .collect::<Vec<StatusCode>>()
        .await;
    let misses = results.iter().filter(|status| **status != StatusCode::OK).count();
    assert_eq!(misses, 0, "GET Location on the other instance missed {misses} times");
    for app in apps {
        assert_eq!(test::call_and_read_body(app, get("/contagem-pessoas")).await, "5000");
    }
    connect(&stream).await.delete_stream().await.unwrap();
}

/// Promise 5: the replica and a replay of the log reach the digest of both instances, and an
/// instance bootstrapped from the replica's snapshot plus the tail reaches it too.
#[actix_web::test]
async fn replica_replay_and_snapshot_bootstrap_reach_the_same_digest() {
    let stream = fresh_stream("converge");
    let api1 = start_instance(&stream, "api1", Role::Api, None).await;
    let api2 = start_instance(&stream, "api2", Role::Api, None).await;
    let replica = start_instance(&stream, "replica", Role::Replica, None).await;
    let apps = [
        test::init_service(create_app(api1.clone())).await,
        test::init_service(create_app(api2.clone())).await,
    ];
    for n in 0..600usize {
        let status =
            test::call_service(&apps[n % 2], post("/bards", valid_body(&format!("conv{}", n % 500))))
                .await
                .status();
        assert!(status == StatusCode::CREATED || status == StatusCode::UNPROCESSABLE_ENTITY);
    }
    api1.node.count().await.unwrap(); // passes a log barrier: every create above is applied
    let end = api1.node.next_offset();
    wait_until_applied(&api2.node, end).await;
    wait_until_applied(&replica.node, end).await;
    let digest = api1.node.report().await.unwrap().digest;
    assert_eq!(digest.count, 500);
    assert_eq!(api2.node.report().await.unwrap().digest, digest);
    assert_eq!(replica.node.report().await.unwrap().digest, digest);
    assert_eq!(replay_digest(&stream, end).await, digest, "replay of the log");

    let snapshot = wait_for_snapshot(&replica).await;
    let replica_app = test::init_service(create_app(replica.clone())).await;
    let response = test::call_service(&replica_app, get("/internal/snapshot")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let served = test::read_body(response).await;
    let snapshot_over_http = SnapshotFeed::start(std::io::Cursor::new(served.to_vec())).unwrap();
    assert!(snapshot_over_http.header.next_offset >= snapshot.next_offset);
    assert_eq!(snapshot_over_http.header.bards, 500);
    let status: serde_json::Value = test::call_and_read_body_json(&replica_app, get("/status")).await;
    let mut fields: Vec<_> = status["snapshot"].as_object().expect("a snapshot in /status").keys().collect();
    fields.sort_unstable();
    assert_eq!(fields, ["age_seconds", "bards", "next_offset"], "/status snapshot field names");
    for n in 0..50usize {
        test::call_service(&apps[0], post("/bards", valid_body(&format!("tail{n}")))).await;
    }
    let restarted = start_instance(&stream, "api1-restarted", Role::Api, Some(snapshot_over_http)).await;
    let restarted_report = restarted.node.report().await.unwrap();
    assert_eq!(restarted_report.digest, api1.node.report().await.unwrap().digest);
    assert_eq!(restarted_report.counts.bards, 550);
    let replica_post = test::call_service(&replica_app, post("/bards", valid_body("nope"))).await;
    assert_eq!(replica_post.status(), StatusCode::METHOD_NOT_ALLOWED);
    connect(&stream).await.delete_stream().await.unwrap();
}

/// The replica's first snapshot that holds every bard it has applied.
async fn wait_for_snapshot(replica: &actix_web::web::Data<bardo::AppState>) -> SnapshotMark {
    for _ in 0..100 {
        let bards = replica.node.report().await.unwrap().counts.bards as u64;
        if let Some(mark) = replica.node.latest_snapshot().map(|s| s.mark()).filter(|m| m.bards == bards) {
            return mark;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no snapshot within 10 s");
}

/// Reads the log from the first record to `end` into a fresh `State` (what `bardo replay` does).
async fn replay_digest(stream: &str, end: u64) -> bardo_actors::state::StateDigest {
    let log = connect(stream).await;
    let mut reader = log.read_from(0);
    let mut state = State::default();
    let mut seen = HashSet::new();
    while seen.len() < end as usize {
        for entry in reader.next().await.unwrap().unwrap() {
            assert!(seen.insert(entry.offset), "offset {} delivered twice", entry.offset);
            for event in decode_record(&entry.payload).unwrap().events {
                state.apply(&event);
            }
        }
    }
    state.digest()
}
