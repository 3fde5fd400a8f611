//! Snapshot size and bootstrap time: N bards (default 1,000,000, tournament-shaped) are
//! captured as a snapshot, encoded (bytes per bard), decoded, and loaded into a fresh node
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

use bardo_actors::actors::LogProgress;
use bardo_actors::log::EmbeddedLog;
use bardo_actors::model::Bard;
use bardo_actors::read_view::ReadView;
use bardo_actors::snapshot::Snapshot;
use bardo_actors::{Node, NodeConfig};

fn main() {
    let count: usize = std::env::var("BARDS").ok().and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let bases = bench_data::distinct_valid_bards();
    let bards: Vec<Arc<Bard>> = bench_data::unique_bards(&bases, count)
        .map(|new| Arc::new(new.into_bard(uuid::Uuid::new_v4())))
        .collect();
    let view = ReadView::default();
    view.publish(&bards);
    drop(bards);
    let started = Instant::now();
    let snapshot = Snapshot::capture(&view, &LogProgress::default());
    let bytes = snapshot.encode();
    let encode = started.elapsed();
    drop((snapshot, view));
    let started = Instant::now();
    let decoded = Snapshot::decode(&bytes).expect("decodes");
    let decode = started.elapsed();
    println!(
        "bards {count}: snapshot {} bytes ({:.1} bytes/bard), capture+encode {encode:?}, decode {decode:?}",
        bytes.len(),
        bytes.len() as f64 / count as f64
    );
    actix::System::new().block_on(load(decoded, count));
}

async fn load(snapshot: Snapshot, count: usize) {
    let started = Instant::now();
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
