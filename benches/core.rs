//! Core throughput: parsing + validation per body, `State::apply` per event, and the log
//! record codec. Run with `nice -n 5 cargo bench --bench core`.

use std::sync::Arc;
use std::time::Duration;

use bardo_actors::event::{decode_record, encode_record, BardCreated, Event};
use bardo_actors::state::State;
use bardo_actors::validation::parse_new_bard;
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use uuid::Uuid;

// Shared loaders; not every benchmark binary uses every helper in it.
#[allow(dead_code)]
#[path = "../examples/bench_data.rs"]
mod bench_data;

/// Lines parsed per iteration: enough of the file's mix (valid, 400, 422) to be representative.
const PARSE_LINES: usize = 1_000;
/// Lines whose valid bodies become events for `State::apply`.
const APPLY_LINES: usize = 10_000;
/// Events in one encoded log record.
const RECORD_EVENTS: usize = 100;

/// The valid bodies among the first `lines` payloads, as creation events with unique ids.
fn created_events(lines: usize) -> Vec<Event> {
    bench_data::payload_lines(lines)
        .iter()
        .filter_map(|line| parse_new_bard(line.as_bytes()).ok())
        .enumerate()
        .map(|(number, new)| {
            let bard = Arc::new(new.into_bard(Uuid::from_u128(number as u128 + 1)));
            Event::BardCreated(BardCreated { bard })
        })
        .collect()
}

fn parse_and_validate(c: &mut Criterion) {
    let bodies = bench_data::payload_lines(PARSE_LINES);
    let mut group = c.benchmark_group("parse_new_bard");
    group.throughput(Throughput::Elements(bodies.len() as u64));
    group.bench_function("first_1000_payload_lines", |b| {
        b.iter(|| {
            for body in &bodies {
                let _ = black_box(parse_new_bard(black_box(body.as_bytes())));
            }
        })
    });
    group.finish();
}

fn apply_events(c: &mut Criterion) {
    let events = created_events(APPLY_LINES);
    let mut group = c.benchmark_group("state_apply");
    group.throughput(Throughput::Elements(events.len() as u64));
    // A fresh state per iteration; the filled one is dropped outside the timing.
    group.bench_function("bard_created_from_10000_payload_lines", |b| {
        b.iter_batched(
            State::default,
            |mut state| {
                for event in &events {
                    black_box(state.apply(event));
                }
                state
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn record_codec(c: &mut Criterion) {
    let events: Vec<Event> = created_events(APPLY_LINES).into_iter().take(RECORD_EVENTS).collect();
    let encoded = encode_record(&events);
    eprintln!(
        "log record of {} events: {} bytes ({} bytes per event)",
        events.len(),
        encoded.len(),
        encoded.len() / events.len()
    );
    let mut group = c.benchmark_group("log_record_100_events");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("encode", |b| b.iter(|| black_box(encode_record(black_box(&events)))));
    group.bench_function("decode", |b| {
        b.iter(|| black_box(decode_record(black_box(&encoded)).expect("decodes")))
    });
    group.finish();
}

fn short_runs() -> Criterion {
    // Shared 2-core machine: short runs, repeated by the caller when noisy.
    Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4))
}

criterion_group! {
    name = core;
    config = short_runs();
    targets = parse_and_validate, apply_events, record_codec
}
criterion_main!(core);
