//! Search latency percentiles (criterion prints means only) at a given number of bards:
//!
//! ```text
//! nice -n 5 cargo run --release --example search_latency -- 100000 1000000
//! ```
//!
//! Builds a `ReadView` and the tantivy index the way the node does (publish, `add` with the
//! published sequence, a commit every `COMMIT_EVERY` bards like the node's 100 ms timer),
//! then runs the 5,000 tournament terms through `SearchReader::search(view, term, 50)`.
//! Environment: `SEARCH_PASSES` (measured passes over the terms, default 3),
//! `COMMIT_EVERY` (bards per commit while indexing, default 10000).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bardo_actors::model::Bard;
use bardo_actors::read_view::ReadView;
use bardo_actors::search::{create_search_index, SearchReader, MAX_RESULTS};
use uuid::Uuid;

// Same allocator as `bardo serve`, so RSS figures are comparable.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

// Shared loaders; not every benchmark binary uses every helper in it.
#[allow(dead_code)]
#[path = "bench_data.rs"]
mod bench_data;

const DEFAULT_SIZES: [usize; 2] = [100_000, 1_000_000];
/// Bards published (and handed to the index) together, like one applied log batch.
const PUBLISH_BATCH: usize = 1_024;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

/// One search's latency and how many bards it returned.
struct Sample {
    latency: Duration,
    found: usize,
    term_chars: usize,
}

fn main() {
    let sizes: Vec<usize> =
        std::env::args().skip(1).filter_map(|arg| arg.replace('_', "").parse().ok()).collect();
    let sizes = if sizes.is_empty() { DEFAULT_SIZES.to_vec() } else { sizes };
    let bases = bench_data::distinct_valid_bards();
    let terms = bench_data::search_terms();
    println!("{} distinct valid payloads as bases, {} terms", bases.len(), terms.len());
    for size in sizes {
        measure_size(&bases, &terms, size);
    }
}

fn measure_size(bases: &[bardo_actors::model::NewBard], terms: &[String], size: usize) {
    println!("== {size} bards");
    let rss_start = print_rss_step("inputs loaded", 0);
    let bards: Vec<Arc<Bard>> = bench_data::unique_bards(bases, size)
        .enumerate()
        .map(|(number, new)| Arc::new(new.into_bard(Uuid::from_u128(number as u128 + 1))))
        .collect();
    let rss_bards = print_rss_step("the bards themselves (Arc<Bard> + a Vec)", rss_start);
    let view = ReadView::from_bards(4, &bards);
    let rss_view = print_rss_step("the ReadView (4 shards' records and tables, the order)", rss_bards);
    let reader = build_index(&bards);
    print_rss_step("the tantivy index", rss_view);
    let passes = env_number("SEARCH_PASSES", 3);
    run_terms(&view, &reader, terms); // warm-up pass
    let mut samples = vec![];
    for _ in 0..passes {
        samples.extend(run_terms(&view, &reader, terms));
    }
    report(size, &samples);
}

/// Prints how much RSS grew since `before`; returns the RSS now.
fn print_rss_step(what: &str, before: u64) -> u64 {
    let (rss, peak) = bench_data::resident_memory();
    println!(
        "RSS +{:.0} MiB for {what} (now {:.0} MiB, peak {:.0} MiB)",
        bench_data::mib(rss.saturating_sub(before)),
        bench_data::mib(rss),
        bench_data::mib(peak),
    );
    rss
}

/// Indexes every bard under its sequence in the view (all unique: the same order); prints the rate.
fn build_index(bards: &[Arc<Bard>]) -> SearchReader {
    let (mut writer, reader) = create_search_index().expect("in-RAM index");
    let commit_every = env_number("COMMIT_EVERY", 10_000).max(1);
    let started = Instant::now();
    let mut since_commit = 0;
    let mut commits = 0;
    for (number, batch) in bards.chunks(PUBLISH_BATCH).enumerate() {
        let first = (number * PUBLISH_BATCH) as u64;
        for (offset, bard) in batch.iter().enumerate() {
            writer.add(first + offset as u64, bard).expect("indexed");
        }
        since_commit += batch.len();
        if since_commit >= commit_every {
            writer.commit().expect("committed");
            since_commit = 0;
            commits += 1;
        }
    }
    writer.commit().expect("committed");
    let elapsed = started.elapsed();
    println!(
        "indexed {} bards in {:.1} s: {:.0} bards/s ({} commits); searchable: {}",
        bards.len(),
        elapsed.as_secs_f64(),
        bards.len() as f64 / elapsed.as_secs_f64(),
        commits + 1,
        reader.indexed(),
    );
    reader
}

fn run_terms(view: &ReadView, reader: &SearchReader, terms: &[String]) -> Vec<Sample> {
    terms
        .iter()
        .map(|term| {
            let started = Instant::now();
            let found = reader.search(view, term, MAX_RESULTS).expect("search");
            Sample { latency: started.elapsed(), found: found.len(), term_chars: term.chars().count() }
        })
        .collect()
}

fn report(size: usize, samples: &[Sample]) {
    let line = |label: &str, selected: Vec<&Sample>| {
        if selected.is_empty() {
            return;
        }
        let mut micros: Vec<u128> = selected.iter().map(|s| s.latency.as_micros()).collect();
        micros.sort_unstable();
        let with_hits = selected.iter().filter(|s| s.found > 0).count();
        println!(
            "{size} bards, {label}: n={} p50={} µs p90={} µs p99={} µs max={} µs; {:.1}% found something",
            micros.len(),
            bench_data::percentile(&micros, 0.50),
            bench_data::percentile(&micros, 0.90),
            bench_data::percentile(&micros, 0.99),
            micros[micros.len() - 1],
            100.0 * with_hits as f64 / micros.len() as f64,
        );
    };
    line("all terms", samples.iter().collect());
    line("terms < 3 chars", samples.iter().filter(|s| s.term_chars < 3).collect());
    line("terms >= 3 chars", samples.iter().filter(|s| s.term_chars >= 3).collect());
    line("terms with 50 results", samples.iter().filter(|s| s.found == MAX_RESULTS).collect());
}
