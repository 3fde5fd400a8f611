//! Snapshot size and bootstrap time: N bards (default 1,000,000, tournament-shaped) are
//! encoded as a snapshot (bytes per bard), then decoded while they are loaded into a fresh node
//! through the same apply path a booting instance uses; then the search index is committed.
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
use bardo_actors::snapshot::{encode_snapshot, SnapshotFeed, SnapshotMark};
use bardo_actors::{Node, NodeConfig};

fn main() {
    let count: usize = std::env::var("BARDS").ok().and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let bases = bench_data::distinct_valid_bards();
    let bards: Vec<Arc<Bard>> = bench_data::unique_bards(&bases, count)
        .map(|new| Arc::new(new.into_bard(uuid::Uuid::new_v4())))
        .collect();
    let view = Arc::new(ReadView::from_bards(NodeConfig::default().shards, &bards));
    drop(bards);
    let started = Instant::now();
    let bytes = encode_snapshot(&view, SnapshotMark { next_offset: 0, bards: count as u64 });
    let encode = started.elapsed();
    drop(view);
    println!(
        "bards {count}: snapshot {} bytes ({:.1} bytes/bard), encoded in {encode:?}",
        bytes.len(),
        bytes.len() as f64 / count as f64
    );
    actix::System::new().block_on(load(bytes, count));
}

async fn load(bytes: Vec<u8>, count: usize) {
    let started = Instant::now();
    let snapshot = SnapshotFeed::start(std::io::Cursor::new(bytes)).expect("a snapshot header");
    let node = Node::start(Arc::new(EmbeddedLog::default()), NodeConfig::default(), Some(snapshot))
        .await
        .expect("node starts");
    let applied = started.elapsed();
    node.commit_search_now().await.expect("commit");
    let searchable = started.elapsed();
    assert_eq!(node.view.len(), count);
    println!(
        "bootstrap: state applied (readable) in {applied:?}, searchable in {searchable:?} ({:.0} bards/s)",
        count as f64 / searchable.as_secs_f64()
    );
    let (rss, peak) = bench_data::resident_memory();
    println!("RSS after bootstrap {:.0} MiB (peak {:.0} MiB)", bench_data::mib(rss), bench_data::mib(peak));
}
