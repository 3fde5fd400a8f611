//! Snapshot size and bootstrap time: N bards (default 1,000,000, tournament-shaped) are
//! encoded as a snapshot (bytes per bard), then decoded while they are loaded into a fresh node
//! through the same apply path a booting instance uses, until every bard is searchable: once
//! with the bards alone (the node indexes them all), once with the source's committed index
//! shipped along (the node opens it).
//!
//! ```text
//! BARDS=1000000 cargo run --release --example snapshot_bootstrap
//! ```

#[path = "bench_data.rs"]
#[allow(dead_code)]
mod bench_data;

use std::sync::Arc;
use std::time::Instant;

use bardo_actors::log::EmbeddedLog;
use bardo_actors::model::Bard;
use bardo_actors::read_view::ReadView;
use bardo_actors::search::{create_search_index, IndexFiles};
use bardo_actors::snapshot::{SnapshotEncoder, SnapshotFeed, SnapshotMark};
use bardo_actors::{Node, NodeConfig};

fn main() {
    let count: usize = std::env::var("BARDS").ok().and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let bases = bench_data::distinct_valid_bards();
    let bards: Vec<Arc<Bard>> = bench_data::unique_bards(&bases, count)
        .map(|new| Arc::new(new.into_bard(uuid::Uuid::new_v4())))
        .collect();
    let view = Arc::new(ReadView::from_bards(NodeConfig::default().shards, &bards));
    let index = build_index(&bards);
    drop(bards);
    let mark = SnapshotMark { next_offset: 0, bards: count as u64 };
    let bare = encoded("without the index", SnapshotEncoder::new(Arc::clone(&view), mark), count);
    let shipped =
        encoded("with the index", SnapshotEncoder::new(Arc::clone(&view), mark).with_index(index), count);
    drop(view);
    for (what, bytes) in [("bards only, indexed on arrival", bare), ("bards and the shipped index", shipped)]
    {
        actix::System::new().block_on(load(what, bytes, count));
    }
}

/// The source's index: every bard, committed (as a running node's would be).
fn build_index(bards: &[Arc<Bard>]) -> IndexFiles {
    let started = Instant::now();
    let (mut writer, reader) = create_search_index().expect("index");
    for (sequence, bard) in bards.iter().enumerate() {
        writer.add(sequence as u64, bard).expect("indexed");
    }
    writer.commit().expect("committed");
    println!("source index built in {:.1} s (not part of the bootstrap)", started.elapsed().as_secs_f64());
    reader.committed_files().expect("the committed files")
}

fn encoded(what: &str, encoder: SnapshotEncoder, count: usize) -> Vec<u8> {
    let started = Instant::now();
    let bytes: Vec<u8> = encoder.flatten().collect();
    println!(
        "snapshot {what}: {} bytes ({:.1} bytes/bard), encoded in {:?}",
        bytes.len(),
        bytes.len() as f64 / count as f64,
        started.elapsed()
    );
    bytes
}

async fn load(what: &str, bytes: Vec<u8>, count: usize) {
    let started = Instant::now();
    let snapshot = SnapshotFeed::start(std::io::Cursor::new(bytes)).expect("a snapshot header");
    let node = Node::start(Arc::new(EmbeddedLog::default()), NodeConfig::default(), Some(snapshot))
        .await
        .expect("node starts");
    let applied = started.elapsed();
    node.commit_search_now().await.expect("commit");
    let searchable = started.elapsed();
    let counts = node.report().await.expect("report").counts;
    assert_eq!((counts.bards, counts.searchable), (count, count as u64));
    println!("bootstrap, {what}: readable in {applied:?}, every bard searchable in {searchable:?}");
    let (rss, peak) = bench_data::resident_memory();
    println!("  RSS after bootstrap {:.0} MiB (peak {:.0} MiB)", bench_data::mib(rss), bench_data::mib(peak));
}
