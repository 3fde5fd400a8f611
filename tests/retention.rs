//! A bounded log (issue 10): the broker removes the stream's head past `x-max-length-bytes`,
//! and nothing acknowledged is lost: a new instance needs a snapshot covering the cut and gets
//! the same state from it plus the retained tail; without one it refuses to start; a replay
//! says where the retained log starts and is complete only from a snapshot. Real RabbitMQ.

mod common;

use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use bardo::create_app;
use bardo::replay::Replay;
use bardo_actors::actors::log_reader::SEGMENT_START_OFFSETS;
use bardo_actors::log::{EventLog, StreamRetention};
use bardo_actors::snapshot::{SnapshotDecoder, SnapshotFeed};
use bardo_actors::Role;
use common::cluster::{connect_with, fresh_stream, start_instance};
use common::valid_body;
use futures::StreamExt;

/// Tiny, so that a few thousand creates roll many segments.
const RETENTION: StreamRetention =
    StreamRetention { max_bytes: Some(64 << 10), segment_bytes: Some(16 << 10) };

#[actix_web::test]
async fn retention_cuts_the_head_and_snapshots_cover_it() {
    let stream = fresh_stream("retention");
    let log = connect_with(&stream, RETENTION).await;
    let api = start_instance(&stream, "api1", Role::Api, None).await;
    let app = test::init_service(create_app(api.clone())).await;
    let started = Instant::now();
    let mut created = 0;
    while log.first_offset().await.unwrap() == 0 {
        assert!(started.elapsed() < Duration::from_secs(60), "retention never removed a segment");
        for _ in 0..100 {
            let request = TestRequest::post().uri("/bards").set_payload(valid_body(&format!("r{created}")));
            let response = test::call_service(&app, request.to_request()).await;
            let status = response.status();
            let body = test::read_body(response).await;
            assert_eq!(status, StatusCode::CREATED, "create {created}: {body:?}");
            created += 1;
        }
    }
    let first = log.first_offset().await.unwrap();
    assert!(first > 0 && api.node.count().await.unwrap() == created, "{first} {created}");

    // Without a snapshot, a new instance would miss the cut records: it refuses to start.
    let refused = bardo::serve::bootstrap_snapshot(&[], &*log).await.err().expect("refused");
    assert!(format!("{refused:#}").contains("retention"), "{refused:#}");

    // From the running instance's snapshot plus the retained tail: the same state.
    actix_web::rt::time::sleep(Duration::from_millis(700)).await; // the next snapshot mark
    let response = test::call_service(&app, TestRequest::get().uri("/internal/snapshot").to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = test::read_body(response).await.to_vec();
    let feed = SnapshotFeed::start(std::io::Cursor::new(bytes.clone())).unwrap();
    assert!(feed.header.next_offset >= first, "the snapshot covers the cut");
    let restarted = start_instance(&stream, "api2", Role::Api, Some(feed)).await;
    let digest = api.node.report().await.unwrap().digest;
    assert_eq!(restarted.node.report().await.unwrap().digest, digest);
    assert_eq!(restarted.node.count().await.unwrap(), created);
    // The shipped index answers at once for the snapshot's bards, the tail once committed.
    restarted.node.commit_search_now().await.unwrap();
    for apelido in ["r0", &format!("r{}", created - 1)] {
        let found = restarted.node.search(apelido, 50).unwrap();
        assert!(found.iter().any(|bard| bard.apelido.as_ref() == apelido), "{apelido} not found");
    }

    // A replay: from the retained log alone it holds only the tail; from the snapshot, all.
    let end = log.end_offset().await.unwrap();
    let mut partial = Replay::new();
    partial.read_until(&*log, end).await.unwrap();
    assert!(partial.stats().first_offset.unwrap() >= first, "the replay starts where the log does");
    assert!(partial.state().len() < created, "the cut records are not in the log any more");
    let mut whole = Replay::new();
    whole.load_snapshot(SnapshotDecoder::new(bytes.as_slice()).unwrap()).await.unwrap();
    whole.read_until(&*log, end).await.unwrap();
    assert_eq!(whole.state().digest(), digest);
    log.delete_stream().await.unwrap();
}

/// A stream spends one offset at each segment start on a chunk of its own (no record): the
/// reader's hole check allows exactly that, and only that.
#[actix_web::test]
async fn offsets_skip_exactly_one_at_each_segment_start() {
    let stream = fresh_stream("segments");
    let log = connect_with(&stream, StreamRetention { max_bytes: None, segment_bytes: Some(16 << 10) }).await;
    for n in 0..600usize {
        log.append(bytes::Bytes::from(vec![7u8; 100 + n % 300])).await.unwrap();
    }
    let end = log.end_offset().await.unwrap();
    let mut reader = log.read_from(0);
    let (mut last, mut records, mut skips) = (None::<u64>, 0, 0);
    while last.is_none_or(|last| last + 1 < end) {
        for entry in reader.next().await.unwrap().unwrap() {
            let expected = last.map_or(0, |last| last + 1);
            assert!(entry.offset <= expected + SEGMENT_START_OFFSETS, "{expected} -> {}", entry.offset);
            skips += usize::from(entry.offset != expected);
            (last, records) = (Some(entry.offset), records + 1);
        }
    }
    assert_eq!(records, 600);
    assert!(skips >= 5, "600 records of ~250 bytes fill several 16 KiB segments: {skips} skips");
    log.delete_stream().await.unwrap();
}

#[actix_web::test]
#[ignore]
async fn probe_first_offsets() {
    for retention in [
        StreamRetention::default(),
        RETENTION,
        StreamRetention { max_bytes: Some(128 << 20), segment_bytes: Some(8 << 20) },
    ] {
        let stream = fresh_stream("first");
        let log = connect_with(&stream, retention).await;
        println!(
            "{retention:?}: empty: first {:?} end {:?}",
            log.first_offset().await,
            log.end_offset().await
        );
        let mut follower = log.read_from(0);
        actix_web::rt::time::sleep(Duration::from_millis(500)).await;
        println!("  after a follower: first {:?} end {:?}", log.first_offset().await, log.end_offset().await);
        log.append(bytes::Bytes::from_static(b"x")).await.unwrap();
        println!("  follower got {:?}", follower.next().await.unwrap().unwrap()[0].offset);
        let first = log.read_from(0).next().await.unwrap().unwrap()[0].offset;
        println!(
            "  one record at {first}: first {:?} end {:?}",
            log.first_offset().await,
            log.end_offset().await
        );
        log.delete_stream().await.unwrap();
    }
}
