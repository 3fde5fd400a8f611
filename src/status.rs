//! The `/status` document.

use actix::MailboxError;
use bardo_actors::actors::log_reader::LogProgress;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;

use crate::app::AppState;

pub async fn report(state: &AppState) -> Result<Value, MailboxError> {
    let node = &state.node;
    let digest = node.digest().await?;
    let applied = node.progress.next_offset();
    let end = node.log.end_offset().await;
    let log = json!({
        "kind": node.log.describe(),
        "applied_offset": applied.checked_sub(1),
        "next_offset": applied,
        "end_offset": end.as_ref().ok(),
        "lag": end.as_ref().ok().map(|end| end.saturating_sub(applied)),
        "end_offset_error": end.as_ref().err().map(ToString::to_string),
        "events_applied": node.progress.events_applied.load(Ordering::Relaxed),
        "undecodable_records": node.progress.undecodable_records.load(Ordering::Relaxed),
        "records_published": node.publisher_stats.records.load(Ordering::Relaxed),
        "events_published": node.publisher_stats.events.load(Ordering::Relaxed),
        "publish_failures": node.publisher_stats.failures.load(Ordering::Relaxed),
    });
    Ok(json!({
        "identity": state.identity,
        "version": state.identity.version,
        "instance": state.identity.instance,
        "role": state.identity.role,
        "site": state.identity.site,
        "uptime_seconds": node.status_board.uptime().as_secs_f64(),
        "counts": counts(state, digest.count),
        "digest": digest.to_string(),
        "log": log,
        "snapshot": node.snapshots.latest().map(|snapshot| json!({
            "next_offset": snapshot.mark.next_offset,
            "bards": snapshot.mark.bards,
            "age_seconds": snapshot.taken_at.elapsed().as_secs_f64(),
        })),
        "memory": memory(node),
        "memory_guard": {
            "refusing_creates": node.memory_guard.refusal().is_some(),
            "reason": node.memory_guard.refusal(),
            "refuse_at_percent": node.memory_guard.refuse_fraction * 100.0,
        },
        "replica": replica(node),
        "peers": node.peers.reports(),
        "restarts": node.status_board.restarts.snapshot(),
        "machine": node.status_board.machine(),
    }))
}

fn counts(state: &AppState, digest_count: u64) -> Value {
    let node = &state.node;
    json!({
        "bards": node.view.len(),
        "bards_in_shards": digest_count,
        "searchable": node.search.indexed(),
        "shards": node.shards.len(),
        "pending_requests": node.waiters.len(),
        "bards_created_by_log": progress_created(&node.progress),
    })
}

fn progress_created(progress: &LogProgress) -> u64 {
    progress.bards_created.load(Ordering::Relaxed)
}

/// Where this node's memory goes: the view's parts, the index's, and the process.
fn memory(node: &bardo_actors::Node) -> Value {
    let process = bardo_actors::memory::MemoryProbe::new(None).read();
    json!({
        "process": process,
        "view": node.view.memory(),
        "index": node.search.memory().ok(),
        "stack_vocabulary": bardo_actors::store::vocabulary::read().len(),
    })
}

/// Site B seen from here: the first replica among the peers (its beacons), with its lag
/// behind this node in log records.
fn replica(node: &bardo_actors::Node) -> Value {
    let own_next = node.progress.next_offset();
    let peers = node.peers.reports();
    let Some(replica) = peers.iter().find(|peer| peer.beacon.role == "replica") else {
        return json!({"seen": false, "alive": false});
    };
    json!({
        "seen": true,
        "instance": replica.beacon.instance,
        "site": replica.beacon.site,
        "alive": replica.alive,
        "seconds_since_heard": replica.seconds_since_heard,
        "applied_offset": replica.beacon.next_offset.checked_sub(1),
        "lag_records": own_next.saturating_sub(replica.beacon.next_offset),
        "bards": replica.beacon.bards,
        "memory": replica.beacon.memory,
    })
}
