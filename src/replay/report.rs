//! What `bardo replay` prints on stdout: aligned lines for people, one JSON object with `--json`.

use bardo_actors::log::Offset;
use serde_json::{json, Value};

use super::engine::Replay;
use super::verify::Verdict;

/// What `--republish` did.
#[derive(Debug, Clone)]
pub struct Republished {
    pub target: String,
    pub written: u64,
    pub target_end_offset: Offset,
}

pub struct Report<'a> {
    /// The source log, e.g. `RabbitMQ stream "bards.events" at amqp://bardo:***@host`.
    pub source: String,
    pub replay: &'a Replay,
    /// Where the retained log started (above 0 once retention removed the head).
    pub retained_from: Offset,
    /// The stream's end when the replay started.
    pub probed_end: Offset,
    pub verdict: Option<&'a Verdict>,
    pub republished: Option<&'a Republished>,
}

impl Report<'_> {
    /// True when the stream held nothing at all: said outright rather than left to a 0.
    pub fn stream_was_empty(&self) -> bool {
        self.probed_end == 0 && self.replay.stats().records == 0
    }

    pub fn to_json(&self) -> Value {
        let replay = self.replay;
        let stats = replay.stats();
        json!({
            "source": self.source,
            "stream_empty": self.stream_was_empty(),
            "count": replay.state().len(),
            "last_offset": stats.last_offset,
            "first_offset": stats.first_offset,
            "retained_from": self.retained_from,
            "snapshot": stats.snapshot.map(|(bards, next_offset)| json!({"bards": bards, "next_offset": next_offset})),
            "complete": self.is_complete(),
            "next_offset": replay.next_offset(),
            "end_offset_at_start": self.probed_end,
            "digest": replay.state().digest().to_string(),
            "events": stats.events,
            "records": stats.records,
            "outcomes": {
                "created": stats.created,
                "apelido_taken": stats.apelido_taken,
                "id_taken": stats.id_taken,
                "barriers": stats.barriers,
            },
            "undecodable_records": stats.undecodable,
            "undecodable_offsets": stats.undecodable_offsets,
            "elapsed_seconds": replay.elapsed().as_secs_f64(),
            "events_per_second": replay.events_per_second().round(),
            "verify": self.verdict.map(verdict_json),
            "republish": self.republished.map(|done| json!({
                "target": done.target,
                "records_written": done.written,
                "target_end_offset": done.target_end_offset,
            })),
        })
    }

    pub fn print(&self, as_json: bool) {
        if as_json {
            println!("{}", self.to_json());
            return;
        }
        for line in self.lines() {
            println!("{line}");
        }
    }

    /// The human form, one fact per line.
    pub fn lines(&self) -> Vec<String> {
        let replay = self.replay;
        let stats = replay.stats();
        let mut lines = vec![format!("source       {}", self.source)];
        if self.stream_was_empty() {
            lines.push(
                "             the stream was empty: nothing to replay (connecting declares \
                 the stream, so a mistyped name now exists, empty)"
                    .into(),
            );
        }
        let last = stats.last_offset.map_or_else(|| "none".to_string(), |offset| offset.to_string());
        lines.extend([
            format!("count        {}", replay.state().len()),
            format!("last offset  {last}"),
            format!("digest       {}", replay.state().digest()),
            format!(
                "events       {} (created {}, apelido taken {}, id taken {}, barriers {})",
                stats.events, stats.created, stats.apelido_taken, stats.id_taken, stats.barriers
            ),
            format!("records      {}", self.records_line()),
            format!("elapsed      {:.3} s", replay.elapsed().as_secs_f64()),
            format!("events/s     {:.0}", replay.events_per_second()),
        ]);
        lines.extend(self.coverage_lines());
        lines.extend(self.republished.map(republished_line));
        lines.extend(self.verdict.map(verdict_line));
        lines
    }

    /// Whether the state covers the whole log: nothing was cut, or a snapshot covers the cut.
    pub fn is_complete(&self) -> bool {
        let snapshot = self.replay.stats().snapshot;
        self.retained_from == 0
            || snapshot.is_some_and(|(_, next)| crate::serve::covers(next, self.retained_from))
    }

    fn coverage_lines(&self) -> Vec<String> {
        let mut lines = vec![];
        if let Some((bards, next)) = self.replay.stats().snapshot {
            lines.push(format!("snapshot     {bards} bards, resuming the log at offset {next}"));
        }
        if self.retained_from > 0 {
            lines.push(format!(
                "log          retained from offset {} (retention removed offsets 0..{})",
                self.retained_from, self.retained_from
            ));
        }
        if !self.is_complete() {
            lines.push(format!(
                "warning      this state is PARTIAL: the bards of offsets 0..{} are not in it; replay \
                 with --snapshot-url http://<instance>:9999/internal/snapshot (or --snapshot FILE) \
                 for the whole state",
                self.retained_from
            ));
        }
        lines
    }

    fn records_line(&self) -> String {
        let stats = self.replay.stats();
        let mut line = format!("{} (undecodable {}", stats.records, stats.undecodable);
        if !stats.undecodable_offsets.is_empty() {
            let offsets: Vec<String> = stats.undecodable_offsets.iter().map(ToString::to_string).collect();
            line.push_str(&format!(" at offsets {}", offsets.join(", ")));
        }
        line.push(')');
        let stopped_early = self.replay.next_offset() < self.probed_end;
        if stopped_early {
            line.push_str(&format!(
                "; stopped at the instance's offset {} of {}",
                self.replay.next_offset(),
                self.probed_end
            ));
        }
        line
    }
}

fn republished_line(done: &Republished) -> String {
    format!(
        "republish    {} records written into {}; its end offset is now {}",
        done.written, done.target, done.target_end_offset
    )
}

fn verdict_line(verdict: &Verdict) -> String {
    let instance = &verdict.instance;
    let next = instance.next_offset.map_or_else(|| "?".to_string(), |offset| offset.to_string());
    let word = if verdict.matched { "MATCH" } else { "MISMATCH" };
    let mut line = format!(
        "verify       {word}: {} has digest {} with {} bards at next offset {next}; \
         the replay has {} with {} at next offset {}",
        verdict.url,
        instance.digest,
        instance.bards,
        verdict.replay_digest,
        verdict.replay_count,
        verdict.replay_next_offset
    );
    if let Some(note) = &verdict.note {
        line.push_str(&format!(" ({note})"));
    }
    line
}

fn verdict_json(verdict: &Verdict) -> Value {
    json!({
        "url": verdict.url,
        "match": verdict.matched,
        "attempts": verdict.attempts,
        "instance": {
            "instance": verdict.instance.instance,
            "digest": verdict.instance.digest,
            "bards": verdict.instance.bards,
            "next_offset": verdict.instance.next_offset,
        },
        "replay": {
            "digest": verdict.replay_digest,
            "count": verdict.replay_count,
            "next_offset": verdict.replay_next_offset,
        },
        "note": verdict.note,
    })
}
