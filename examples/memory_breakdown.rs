//! Memory per bard, part by part: N tournament-shaped bards (default 1,000,000) applied into
//! a view the way the shards store them, then indexed the way the `SearchIndex` does (a commit
//! every `COMMIT_EVERY` bards, merges by `BoundedMerges`). Prints each part's exact bytes (what
//! the structures hold) beside the RSS they cost; the difference is allocator slack and
//! whatever the parts do not count.
//!
//! ```text
//! nice -n 5 cargo run --release --example memory_breakdown -- 1000000
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use bardo_actors::read_view::ReadView;
use bardo_actors::search::create_search_index;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[allow(dead_code)]
#[path = "bench_data.rs"]
mod bench_data;

/// Bards made, applied and indexed at a time (the inputs never all exist at once).
const CHUNK: usize = 10_000;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

fn per_bard(bytes: u64, bards: usize) -> f64 {
    bytes as f64 / bards.max(1) as f64
}

fn line(part: &str, bytes: u64, bards: usize) {
    println!("  {part:<34} {:>12} bytes  {:>7.1} bytes/bard", bytes, per_bard(bytes, bards));
}

fn main() {
    let count = std::env::args().nth(1).and_then(|a| a.replace('_', "").parse().ok()).unwrap_or(1_000_000);
    let shards = env_number("SHARDS", 4);
    let commit_every = env_number("COMMIT_EVERY", 2_000);
    let bases = bench_data::distinct_valid_bards();
    let (baseline, _) = bench_data::resident_memory();
    let view = ReadView::new(shards);
    let (mut writer, reader) = create_search_index().expect("index");
    let started = Instant::now();
    let mut made = bench_data::unique_bards(&bases, count).enumerate().peekable();
    let mut uncommitted = 0;
    while made.peek().is_some() {
        for (number, new) in made.by_ref().take(CHUNK) {
            let bard = Arc::new(new.into_bard(uuid::Uuid::from_u128(number as u128 + 1)));
            let sequence = view.apply_directly(&bard).expect("unique bards");
            writer.add(sequence, &bard).expect("indexed");
            uncommitted += 1;
            if uncommitted >= commit_every {
                writer.commit().expect("commit");
                uncommitted = 0;
            }
        }
    }
    writer.commit().expect("commit");
    println!(
        "{count} bards, {shards} shards, a commit every {commit_every}: loaded in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // Let the last merges end and the reader see them.
    std::thread::sleep(Duration::from_secs(env_number("SETTLE_SECONDS", 10) as u64));
    writer.commit().expect("commit");
    report(&view, &reader, count, baseline);
}

fn report(view: &ReadView, reader: &bardo_actors::search::SearchReader, count: usize, baseline: u64) {
    let memory = view.memory();
    let index = reader.memory().expect("space usage");
    let (rss, peak) = bench_data::resident_memory();
    let records_slack = (memory.records_reserved - memory.records) as u64;
    let accounted = (memory.records_reserved + memory.id_tables + memory.apelido_tables + memory.order)
        as u64
        + index.total();
    println!("parts (exact sizes of what the structures hold):");
    line("records (arena bytes used)", memory.records as u64, count);
    line("records' unused chunk tails", records_slack, count);
    line("id tables (shards)", memory.id_tables as u64, count);
    line("apelido tables (shards)", memory.apelido_tables as u64, count);
    line("apply order", memory.order as u64, count);
    line("index postings", index.postings, count);
    line("index term dictionary", index.term_dictionary, count);
    line("index fast field (sequence)", index.fast_fields, count);
    line("index document store", index.document_store, count);
    line("index writer arena (fixed)", index.writer_arena, count);
    line("sum of the parts", accounted, count);
    println!("process ({} index segments):", index.segments);
    line("RSS above the inputs' baseline", rss.saturating_sub(baseline), count);
    line(
        "RSS - parts (allocator slack, other)",
        rss.saturating_sub(baseline).saturating_sub(accounted),
        count,
    );
    line("peak RSS", peak, count);
}
