//! The progress line on stderr: redrawn in place on a terminal, one line per second otherwise
//! (so a log file or CI output gets a readable history rather than a wall of `\r`).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use bardo_actors::log::Offset;

use super::engine::{per_second, ReplayStats};

const TERMINAL_INTERVAL: Duration = Duration::from_millis(200);
const PLAIN_INTERVAL: Duration = Duration::from_secs(1);

pub struct Progress {
    label: String,
    terminal: bool,
    interval: Duration,
    began: Instant,
    last_draw: Instant,
    first: Offset,
    end: Offset,
    events_at_begin: u64,
    /// The offset the last drawn line showed: the final line is not repeated.
    drawn_at: Option<Offset>,
}

impl Progress {
    /// `label` starts every line (e.g. `replay` or `republish`).
    pub fn new(label: impl Into<String>) -> Progress {
        let terminal = std::io::stderr().is_terminal();
        let now = Instant::now();
        Progress {
            label: label.into(),
            terminal,
            interval: if terminal { TERMINAL_INTERVAL } else { PLAIN_INTERVAL },
            began: now,
            last_draw: now,
            first: 0,
            end: 0,
            events_at_begin: 0,
            drawn_at: None,
        }
    }

    /// A new pass over `first..end` starts.
    pub(crate) fn begin(&mut self, first: Offset, end: Offset, events_so_far: u64) {
        self.began = Instant::now();
        self.last_draw = self.began;
        self.first = first;
        self.end = end;
        self.events_at_begin = events_so_far;
        self.drawn_at = None;
    }

    /// Redraws when the interval has passed; cheap otherwise.
    pub(crate) fn tick(&mut self, stats: &ReplayStats, next: Offset) {
        if self.last_draw.elapsed() >= self.interval {
            self.draw(stats, next);
        }
    }

    /// The final state of this pass; ends the in-place line on a terminal.
    pub(crate) fn finish(&mut self, stats: &ReplayStats, next: Offset) {
        if self.drawn_at != Some(next) {
            self.draw(stats, next);
        }
        if self.terminal {
            eprintln!();
        }
    }

    fn draw(&mut self, stats: &ReplayStats, next: Offset) {
        self.last_draw = Instant::now();
        self.drawn_at = Some(next);
        let line = self.line(stats, next);
        let mut stderr = std::io::stderr().lock();
        // A failed write to stderr is not worth failing the replay for.
        let _ = if self.terminal { write!(stderr, "\r{line}\x1b[K") } else { writeln!(stderr, "{line}") };
        let _ = stderr.flush();
    }

    fn line(&self, stats: &ReplayStats, next: Offset) -> String {
        let elapsed = self.began.elapsed();
        let total = self.end.saturating_sub(self.first);
        let done = next.saturating_sub(self.first).min(total);
        let percent = if total == 0 { 100.0 } else { done as f64 * 100.0 / total as f64 };
        let record_rate = per_second(done, elapsed);
        // Connecting takes a moment: an ETA from the first record alone would be nonsense.
        let settled = elapsed >= Duration::from_secs(1) || done * 100 >= total;
        let eta = if settled && record_rate > 0.0 {
            format!("{:.1}s", (total - done) as f64 / record_rate)
        } else {
            "?".to_string()
        };
        format!(
            "{}: {} records, {} events applied ({percent:.1}% of offsets {}..{}), {:.0} events/s, ETA {eta}",
            self.label,
            stats.records,
            stats.events,
            self.first,
            self.end,
            per_second(stats.events.saturating_sub(self.events_at_begin), elapsed),
        )
    }
}
