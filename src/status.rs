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
