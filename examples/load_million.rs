//! Memory and load rate of one process holding N bards (default 1,000,000) through the real
//! node on the embedded log, 256 creates in flight:
//!
//! ```text
//! nice -n 5 cargo run --release --example load_million -- 1000000
//! ```
//!
//! Prints RSS / peak RSS after loading and after the index commit, bytes per bard, the load
//! rate, create latency percentiles, the embedded log's encoded bytes, and search latency over
//! the tournament terms through `Node::search` at that size, right after the load and again
//! once the index's merges settled.
//! Environment: `IN_FLIGHT` (concurrent creates, default 256), `SEARCH_COMMIT_MS` (the
//! node's search commit interval, default 100).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bardo_actors::log::{EmbeddedLog, EventLog};
use bardo_actors::model::NewBard;
use bardo_actors::search::MAX_RESULTS;
use bardo_actors::{Node, NodeConfig};
use futures::stream::{self, StreamExt};

// Same allocator as `bardo serve`, so RSS figures are what the server would show.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

// Shared loaders; not every benchmark binary uses every helper in it.
#[allow(dead_code)]
#[path = "bench_data.rs"]
mod bench_data;

const DEFAULT_BARDS: usize = 1_000_000;
const TARGET_RSS_BYTES: u64 = 1_200_000_000;
/// Long enough for the index's background merges to finish after a million adds.
const SETTLE_PAUSE: Duration = Duration::from_secs(10);

/// What loading produced: per-create latencies and how many were refused.
struct LoadRun {
    elapsed: Duration,
    latencies_micros: Vec<u128>,
    refused: usize,
}

fn main() {
    let count =
        std::env::args().nth(1).and_then(|arg| arg.replace('_', "").parse().ok()).unwrap_or(DEFAULT_BARDS);
    let in_flight = std::env::var("IN_FLIGHT").ok().and_then(|value| value.parse().ok()).unwrap_or(256);
    let bases = bench_data::distinct_valid_bards();
    let terms = bench_data::search_terms();
    print_memory("inputs loaded (baseline)");
    let (baseline, _) = bench_data::resident_memory();
    actix::System::new().block_on(async move {
        let log = Arc::new(EmbeddedLog::default());
        let node = Node::start(log.clone(), node_config(), None).await.expect("node starts");
        let run = load(&node, &bases, count, in_flight).await;
        report_load(&run, count, in_flight);
        print_memory("loaded, before the explicit commit");
        let committed = node.commit_search_now().await.expect("commit");
        let counts = node.report().await.expect("report").counts;
        println!(
            "explicit commit made {committed} more bards searchable; index now holds {}",
            counts.searchable
        );
        let (rss, peak) = print_memory("after commit");
        report_footprint(counts.bards, rss, peak, baseline);
        report_log_bytes(&log, count).await;
        report_search(&node, &terms, "right after the load");
        settle_search_index(&node, &bases[0]).await;
        report_search(&node, &terms, "after merges settled");
    });
}

/// The default configuration, with the search commit interval overridable to measure what
/// the periodic commit costs the create path.
fn node_config() -> NodeConfig {
    let mut config = NodeConfig::default();
    if let Some(millis) = std::env::var("SEARCH_COMMIT_MS").ok().and_then(|value| value.parse().ok()) {
        config.search_commit_interval = Duration::from_millis(millis);
    }
    println!(
        "node: {} shards on {} apply threads, search commit every {:?}",
        config.shards, config.apply_threads, config.search_commit_interval
    );
    config
}

async fn load(node: &Node, bases: &[NewBard], count: usize, in_flight: usize) -> LoadRun {
    let started = Instant::now();
    let creates = stream::iter(bench_data::unique_bards(bases, count)).map(|new| async move {
        let sent = Instant::now();
        let created = node.create(new).await;
        (sent.elapsed().as_micros(), created.is_ok())
    });
    let results: Vec<(u128, bool)> = creates.buffer_unordered(in_flight).collect().await;
    let elapsed = started.elapsed();
    let refused = results.iter().filter(|(_, ok)| !ok).count();
    let mut latencies_micros: Vec<u128> = results.into_iter().map(|(micros, _)| micros).collect();
    latencies_micros.sort_unstable();
    LoadRun { elapsed, latencies_micros, refused }
}

fn report_load(run: &LoadRun, count: usize, in_flight: usize) {
    let micros = &run.latencies_micros;
    println!(
        "created {} of {count} bards ({} refused) in {:.1} s: {:.0} creates/s, {in_flight} in flight",
        count - run.refused,
        run.refused,
        run.elapsed.as_secs_f64(),
        count as f64 / run.elapsed.as_secs_f64(),
    );
    println!(
        "create latency: p50={} µs p90={} µs p99={} µs max={} µs",
        bench_data::percentile(micros, 0.50),
        bench_data::percentile(micros, 0.90),
        bench_data::percentile(micros, 0.99),
        micros[micros.len() - 1],
    );
}

fn print_memory(label: &str) -> (u64, u64) {
    let (rss, peak) = bench_data::resident_memory();
    println!(
        "RSS {label}: {:.0} MiB ({rss} bytes), peak {:.0} MiB",
        bench_data::mib(rss),
        bench_data::mib(peak),
    );
    (rss, peak)
}

fn report_footprint(bards: usize, rss: u64, peak: u64, baseline: u64) {
    let bards = bards.max(1) as u64;
    let verdict = if rss <= TARGET_RSS_BYTES { "met" } else { "missed" };
    println!(
        "{bards} bards: RSS {rss} bytes = {} bytes/bard ({} bytes/bard above the inputs' baseline); \
         peak {peak}; target 1.2 GB: {verdict}",
        rss / bards,
        rss.saturating_sub(baseline) / bards,
    );
}

/// Sum of the embedded log's record sizes, read back through the public log API.
async fn report_log_bytes(log: &EmbeddedLog, count: usize) {
    let end = log.end_offset().await.expect("embedded log");
    let mut records = log.read_from(0);
    let (mut bytes, mut seen) = (0u64, 0u64);
    while seen < end {
        let Some(Ok(chunk)) = records.next().await else {
            break;
        };
        seen += chunk.len() as u64;
        bytes += chunk.iter().map(|e| e.payload.len() as u64).sum::<u64>();
    }
    println!(
        "embedded log: {seen} records, {bytes} encoded bytes ({:.0} MiB, {} bytes/event, {:.1} events/record)",
        bench_data::mib(bytes),
        bytes / count.max(1) as u64,
        count as f64 / seen.max(1) as f64,
    );
}

/// Background merges finish after the load, but a manually reloaded reader only sees them at
/// the next commit that has something new: wait, then create one bard and commit.
async fn settle_search_index(node: &Node, template: &NewBard) {
    tokio::time::sleep(SETTLE_PAUSE).await;
    let mut extra = template.clone();
    // A hyphen never occurs in the generated apelidos: this one is unique.
    extra.apelido = "settle-search-index".into();
    node.create(extra).await.expect("one more create");
    node.commit_search_now().await.expect("commit");
}

fn report_search(node: &Node, terms: &[String], when: &str) {
    let mut micros: Vec<u128> = terms
        .iter()
        .chain(terms)
        .map(|term| {
            let started = Instant::now();
            let _ = node.search(term, MAX_RESULTS).expect("search");
            started.elapsed().as_micros()
        })
        .skip(terms.len()) // the first pass warms up
        .collect();
    micros.sort_unstable();
    println!(
        "Node::search {when}, {} terms: p50={} µs p90={} µs p99={} µs max={} µs",
        micros.len(),
        bench_data::percentile(&micros, 0.50),
        bench_data::percentile(&micros, 0.90),
        bench_data::percentile(&micros, 0.99),
        micros[micros.len() - 1],
    );
}
