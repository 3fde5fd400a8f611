//! `bardo replay` against the real RabbitMQ on this machine (`bash ops/rabbitmq.sh ensure`).
//! Every test writes its own fresh stream (`test.replay.<uuid>`); an unreachable broker fails
//! the tests with a message saying so, never skips them.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bardo::cli::{Cli, Command, ReplayArgs};
use bardo::replay::{self, replay_log, InstanceStatus, Patience, Replay, Republisher, Verifier};
use bardo_actors::event::{encode_record, BardCreated, Event, LogBarrier};
use bardo_actors::log::{EventLog, LogEntry, RabbitMqLog};
use bardo_actors::model::{BirthDate, NewBard};
use bardo_actors::state::State;
use clap::Parser;
use futures::StreamExt;
use uuid::Uuid;

const TIMEOUT: Duration = Duration::from_secs(5);
const PATIENCE: Patience = Patience { connect: TIMEOUT, answer: TIMEOUT };

fn amqp_url() -> String {
    std::env::var("BARDO_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://bardo:bardo-local-only@127.0.0.1:5672/%2f".into())
}

fn fresh_stream() -> String {
    format!("test.replay.{}", Uuid::new_v4().simple())
}

/// Connects to a fresh stream; panics with the fix when the broker is not there.
async fn fresh_log() -> (Arc<RabbitMqLog>, String) {
    let stream = fresh_stream();
    let log = replay::open_log(&amqp_url(), &stream, TIMEOUT).await.unwrap_or_else(|error| {
        panic!(
            "RabbitMQ is not reachable at {}: {error:#}. These tests need the real broker: \
                 run `bash ops/rabbitmq.sh ensure` (or set BARDO_TEST_AMQP_URL)",
            replay::redact(&amqp_url())
        )
    });
    (log, stream)
}

fn bard_created(n: u64, apelido: String) -> Event {
    let new = NewBard {
        apelido: apelido.into(),
        nome: format!("Nome {n}").into(),
        nascimento: BirthDate::parse("1990-05-17").unwrap(),
        stack: (!n.is_multiple_of(3)).then(|| vec!["Rust".into(), format!("S{n}").into()].into()),
    };
    let id = Uuid::from_u128(0xb000_0000_0000_0000 + u128::from(n));
    Event::BardCreated(BardCreated { bard: Arc::new(new.into_bard(id)) })
}

/// `count` records of mixed events: fresh bards, duplicate apelidos (a later one loses),
/// a re-delivered id, and barriers.
fn records(count: u64, seed: u64) -> Vec<Vec<Event>> {
    (0..count)
        .map(|r| {
            let n = seed * 1_000_000 + r * 10;
            let mut events = vec![
                bard_created(n, format!("ap{seed}-{r}")),
                bard_created(n + 1, format!("dup{seed}-{}", r % 7)),
                Event::LogBarrier(LogBarrier { barrier: Uuid::new_v4() }),
            ];
            if r % 5 == 4 {
                events.push(bard_created(n - 40, "re-delivered id".into()));
            }
            events
        })
        .collect()
}

async fn append_all(log: &RabbitMqLog, records: &[Vec<Event>]) {
    for events in records {
        log.append(encode_record(events).into()).await.unwrap();
    }
}

fn direct_state<'a>(records: impl IntoIterator<Item = &'a Vec<Event>>) -> State {
    let mut state = State::default();
    for event in records.into_iter().flatten() {
        state.apply(event);
    }
    state
}

#[tokio::test]
async fn replay_equals_the_state_built_directly() {
    let (log, _) = fresh_log().await;
    let written = records(40, 1);
    append_all(&log, &written).await;
    let end = replay::probe_end(&*log, TIMEOUT).await.unwrap();
    assert_eq!(end, 40);
    let replay = replay_log(&*log, end).await.unwrap();
    let expected = direct_state(&written);
    assert_eq!(replay.state().len(), expected.len());
    assert_eq!(replay.state().digest(), expected.digest());
    assert_eq!(replay.stats().last_offset, Some(39));
    assert_eq!(replay.next_offset(), 40);
    assert_eq!(replay.stats().records, 40);
    let stats = replay.stats();
    let events: usize = written.iter().map(Vec::len).sum();
    assert_eq!(stats.events, events as u64);
    assert_eq!(stats.barriers, 40);
    assert_eq!(stats.created, expected.len() as u64);
    assert_eq!(stats.apelido_taken, 40 - 7);
    assert_eq!(stats.id_taken, 8);
    assert_eq!(stats.undecodable, 0);
}

#[tokio::test]
async fn replay_stops_at_the_end_it_was_given_and_resumes() {
    let (log, _) = fresh_log().await;
    let written = records(30, 2);
    append_all(&log, &written[..20]).await;
    let end = replay::probe_end(&*log, TIMEOUT).await.unwrap();
    // Appended after the probe: the replay must neither wait for nor apply these.
    append_all(&log, &written[20..]).await;
    let mut replay = replay_log(&*log, end).await.unwrap();
    assert_eq!(replay.next_offset(), 20);
    assert_eq!(replay.state().digest(), direct_state(&written[..20]).digest());
    replay.read_until(&*log, 30).await.unwrap();
    assert_eq!(replay.stats().last_offset, Some(29));
    assert_eq!(replay.state().digest(), direct_state(&written).digest());
}

#[tokio::test]
async fn an_empty_stream_replays_to_nothing() {
    let (log, _) = fresh_log().await;
    let end = replay::probe_end(&*log, TIMEOUT).await.unwrap();
    assert_eq!(end, 0);
    let replay = replay_log(&*log, end).await.unwrap();
    assert_eq!(replay.state().len(), 0);
    assert_eq!(replay.stats().last_offset, None);
    assert_eq!(replay.state().digest(), State::default().digest());
}

#[tokio::test]
async fn an_undecodable_record_is_reported_counted_and_skipped() {
    let (log, _) = fresh_log().await;
    let written = records(10, 3);
    append_all(&log, &written[..4]).await;
    log.append(b"\xc1 not messagepack".to_vec().into()).await.unwrap();
    append_all(&log, &written[4..]).await;
    let replay = replay_log(&*log, 11).await.unwrap();
    assert_eq!(replay.stats().undecodable, 1);
    assert_eq!(replay.stats().undecodable_offsets, vec![4]);
    assert_eq!(replay.stats().records, 11);
    assert_eq!(replay.stats().last_offset, Some(10));
    assert_eq!(replay.state().digest(), direct_state(&written).digest());
}

/// Every record of `log` below `end`, as read back.
async fn read_records(log: &dyn EventLog, end: u64) -> Vec<LogEntry> {
    let mut chunks = log.read_from(0);
    let mut entries = Vec::new();
    while entries.len() < end as usize {
        let chunk = tokio::time::timeout(TIMEOUT, chunks.next()).await.unwrap();
        entries.extend(chunk.unwrap().unwrap());
    }
    entries
}

#[tokio::test]
async fn republish_copies_records_byte_for_byte_into_an_empty_stream() {
    let (source, _) = fresh_log().await;
    let written = records(25, 4);
    append_all(&source, &written).await;
    let (target, _) = fresh_log().await;
    let republisher = Republisher::open(target.clone(), TIMEOUT).await.unwrap();
    let mut replay = Replay::new().with_republisher(republisher);
    replay.read_until(&*source, 25).await.unwrap();
    assert_eq!(replay.republisher().unwrap().written(), 25);
    assert_eq!(replay::probe_end(&*target, TIMEOUT).await.unwrap(), 25);
    let copy = replay_log(&*target, 25).await.unwrap();
    assert_eq!(copy.state().digest(), replay.state().digest());
    assert_eq!(copy.state().digest(), direct_state(&written).digest());
    assert_eq!(copy.stats().last_offset, Some(24));
    // Same boundaries, same bytes, same offsets.
    let original = read_records(&*source, 25).await;
    let copied = read_records(&*target, 25).await;
    assert_eq!(original, copied);
}

#[tokio::test]
async fn republish_into_a_non_empty_stream_is_refused() {
    let (target, _) = fresh_log().await;
    append_all(&target, &records(1, 5)).await;
    let refusal =
        Republisher::open(target.clone(), TIMEOUT).await.expect_err("a non-empty target must be refused");
    let message = format!("{refusal:#}");
    assert!(message.contains("not empty"), "{message}");
    assert_eq!(replay::probe_end(&*target, TIMEOUT).await.unwrap(), 1);
}

#[tokio::test]
async fn the_command_refuses_republish_into_a_non_empty_stream() {
    let (source, source_stream) = fresh_log().await;
    append_all(&source, &records(3, 6)).await;
    let (target, target_stream) = fresh_log().await;
    append_all(&target, &records(1, 7)).await;
    let url = amqp_url();
    let args = replay_args(&[
        "--amqp-url",
        &url,
        "--stream",
        &source_stream,
        "--republish",
        &url,
        "--republish-stream",
        &target_stream,
    ]);
    let error = replay::run(args).await.expect_err("refused");
    assert!(format!("{error:#}").contains("not empty"), "{error:#}");
    assert_eq!(replay::probe_end(&*target, TIMEOUT).await.unwrap(), 1);
}

fn replay_args(flags: &[&str]) -> ReplayArgs {
    let argv = ["bardo", "replay"].iter().chain(flags).copied();
    match Cli::try_parse_from(argv).unwrap().command {
        Some(Command::Replay(args)) => args,
        other => panic!("not a replay command: {other:?}"),
    }
}

#[tokio::test]
async fn an_unreachable_broker_is_a_quick_clear_error() {
    let started = std::time::Instant::now();
    let error = replay::open_log("amqp://bardo:x@127.0.0.1:1/%2f", "test.replay.unreachable", TIMEOUT)
        .await
        .err()
        .expect("nothing listens on port 1");
    assert!(started.elapsed() < TIMEOUT + Duration::from_secs(1));
    assert!(format!("{error:#}").contains("127.0.0.1:1"), "{error:#}");
    assert!(!format!("{error:#}").contains(":x@"), "password leaked: {error:#}");
}

#[tokio::test]
async fn a_missing_snapshot_file_is_a_clear_error() {
    let (log, stream) = fresh_log().await;
    let url = amqp_url();
    let args =
        replay_args(&["--amqp-url", &url, "--stream", &stream, "--snapshot", "/nonexistent/bards.snapshot"]);
    let error = replay::run(args).await.expect_err("no such file");
    assert!(format!("{error:#}").contains("opening the snapshot /nonexistent/bards.snapshot"), "{error:#}");
    log.delete_stream().await.unwrap();
}

/// A fake instance answering every request with the current `/status` body.
fn fake_instance(body: Arc<Mutex<String>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut request = Vec::new();
            let mut buffer = [0; 1024];
            while !request.ends_with(b"\r\n\r\n") {
                let read = stream.read(&mut buffer).unwrap();
                request.extend_from_slice(&buffer[..read]);
            }
            assert!(request.starts_with(b"GET /status HTTP/1.1\r\n"));
            let body = body.lock().unwrap().clone();
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(response.as_bytes()).unwrap();
        }
    });
    url
}

fn status_body(state: &State, next_offset: u64) -> String {
    serde_json::json!({
        "instance": "fake",
        "digest": state.digest().to_string(),
        "counts": {"bards": state.len()},
        "log": {"next_offset": next_offset},
    })
    .to_string()
}

#[tokio::test]
async fn verify_reads_up_to_the_instance_offset_and_compares() {
    let (log, _) = fresh_log().await;
    let written = records(20, 8);
    append_all(&log, &written).await;
    let body = Arc::new(Mutex::new(status_body(&direct_state(&written), 20)));
    let verifier = Verifier::new(&fake_instance(body.clone()), PATIENCE).unwrap();
    let first = verifier.fetch().await.unwrap();
    assert_eq!(first.next_offset, Some(20));
    // The replay stopped earlier (its probe came first): verify reads the tail itself.
    let mut replay = replay_log(&*log, 12).await.unwrap();
    let verdict = replay::verify(&mut replay, &*log, &verifier, first).await.unwrap();
    assert!(verdict.matched, "{verdict:?}");
    assert_eq!(verdict.replay_next_offset, 20);
    assert_eq!(verdict.attempts, 1);
}

#[tokio::test]
async fn verify_reports_a_mismatch() {
    let (log, _) = fresh_log().await;
    let written = records(6, 9);
    append_all(&log, &written).await;
    let wrong = direct_state(&written[..5]);
    let body = Arc::new(Mutex::new(status_body(&wrong, 6)));
    let verifier = Verifier::new(&fake_instance(body), PATIENCE).unwrap();
    let first = verifier.fetch().await.unwrap();
    let mut replay = replay_log(&*log, 6).await.unwrap();
    let verdict = replay::verify(&mut replay, &*log, &verifier, first).await.unwrap();
    assert!(!verdict.matched);
    assert_eq!(verdict.instance.digest, wrong.digest().to_string());
    assert_eq!(verdict.replay_digest, direct_state(&written).digest().to_string());
}

#[tokio::test]
async fn the_command_fails_on_a_mismatch_and_on_an_instance_beyond_the_stream() {
    let (log, stream) = fresh_log().await;
    let written = records(4, 10);
    append_all(&log, &written).await;
    let body = Arc::new(Mutex::new(status_body(&State::default(), 4)));
    let instance = fake_instance(body.clone());
    let url = amqp_url();
    let flags = ["--amqp-url", &url, "--stream", &stream, "--verify", &instance];
    let error = replay::run(replay_args(&flags)).await.expect_err("mismatch");
    assert!(format!("{error}").contains("MISMATCH"), "{error}");
    *body.lock().unwrap() = status_body(&direct_state(&written), 4);
    replay::run(replay_args(&flags)).await.expect("a match");
    *body.lock().unwrap() = status_body(&direct_state(&written), 9);
    let error = replay::run(replay_args(&flags)).await.expect_err("beyond");
    assert!(format!("{error}").contains("another stream"), "{error}");
}

#[test]
fn status_documents_are_parsed() {
    let parsed = InstanceStatus::from_json(&serde_json::json!({
        "digest": "2-00000000000000000000000000000003",
        "counts": {"bards": 2},
        "log": {"next_offset": 7},
    }))
    .unwrap();
    assert_eq!(parsed.bards, 2);
    assert_eq!(parsed.next_offset, Some(7));
    assert!(InstanceStatus::from_json(&serde_json::json!({"digest": 1})).is_err());
}

/// Loads a stream for measuring `bardo replay` (not a check): 200,000 events in records of
/// 100 by default, a few duplicate apelidos and barriers mixed in.
/// `BARDO_REPLAY_LOAD_STREAM=bench.replay.x cargo test --release --test replay -- --ignored
/// load_a_stream_for_measuring --nocapture`, then `bardo replay --stream bench.replay.x`.
#[tokio::test]
#[ignore = "a load generator for measurements, run by hand"]
async fn load_a_stream_for_measuring() {
    let stream = std::env::var("BARDO_REPLAY_LOAD_STREAM").unwrap_or_else(|_| fresh_stream());
    let events: u64 = std::env::var("BARDO_REPLAY_LOAD_EVENTS").map_or(200_000, |n| n.parse().unwrap());
    let per_record = 100;
    let log = replay::open_log(&amqp_url(), &stream, TIMEOUT).await.unwrap();
    let started = std::time::Instant::now();
    let appends = (0..events.div_ceil(per_record)).map(|r| {
        let record: Vec<Event> = (r * per_record..((r + 1) * per_record).min(events))
            .map(|n| match n % 50 {
                49 => Event::LogBarrier(LogBarrier { barrier: Uuid::new_v4() }),
                48 => bard_created(n, format!("bardo-{}", n - 1)),
                _ => bard_created(n, format!("bardo-{n}")),
            })
            .collect();
        log.append(encode_record(&record).into())
    });
    // Several in flight; the log handle keeps them in order.
    let results: Vec<_> = futures::stream::iter(appends).buffered(16).collect().await;
    assert!(results.iter().all(Result::is_ok));
    let end = replay::probe_end(&*log, TIMEOUT).await.unwrap();
    println!("stream {stream}: {events} events, end offset {end}, written in {:?}", started.elapsed());
}
