//! Where a create's time goes: one lock-free histogram per phase, recorded on the create path
//! and exported by `GET /metrics` (`bardo_create_phase_seconds`), so that a tail under load can
//! be attributed to a phase instead of guessed.
//!
//! The phases, in the order a create passes them:
//! - `validate`: reading and validating the body (the HTTP side records it);
//! - `queued`: waiting in the publisher for the next group-commit record;
//! - `confirm`: from that record's publish to the broker's ack;
//! - `apply`: from the ack reaching the request to this node applying the event (zero when the
//!   log reader applied it before the ack arrived);
//! - `wake`: from the later of ack and apply until the request's task runs again;
//! - `total`: the whole create inside the node (everything but `validate`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

/// Upper bounds of the buckets, in seconds (then +Inf): 100 µs to 2.5 s.
pub const BUCKET_BOUNDS: [f64; 15] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5];

/// One phase's histogram: counts per bucket (the last is +Inf) and the sum, all atomics, so
/// that recording costs a few relaxed adds and never a lock.
#[derive(Debug, Default)]
pub struct LatencyHistogram {
    buckets: [AtomicU64; BUCKET_BOUNDS.len() + 1],
    sum_nanos: AtomicU64,
}

impl LatencyHistogram {
    pub fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let bucket = BUCKET_BOUNDS.iter().position(|bound| seconds <= *bound).unwrap_or(BUCKET_BOUNDS.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> HistogramSnapshot {
        let counts: Vec<u64> = self.buckets.iter().map(|bucket| bucket.load(Ordering::Relaxed)).collect();
        HistogramSnapshot {
            count: counts.iter().sum(),
            sum_seconds: self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
            bucket_counts: counts,
        }
    }
}

/// A histogram as read at one moment: per-bucket (not cumulative) counts, bounds in
/// [`BUCKET_BOUNDS`] and a last +Inf bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistogramSnapshot {
    pub count: u64,
    pub sum_seconds: f64,
    pub bucket_counts: Vec<u64>,
}

/// The phases of a create, one histogram each (see the module's text).
#[derive(Debug, Default)]
pub struct CreateLatency {
    pub validate: LatencyHistogram,
    pub queued: LatencyHistogram,
    pub confirm: LatencyHistogram,
    pub apply: LatencyHistogram,
    pub wake: LatencyHistogram,
    pub total: LatencyHistogram,
}

impl CreateLatency {
    /// Every phase by name, in path order.
    pub fn snapshot(&self) -> Vec<(&'static str, HistogramSnapshot)> {
        [
            ("validate", &self.validate),
            ("queued", &self.queued),
            ("confirm", &self.confirm),
            ("apply", &self.apply),
            ("wake", &self.wake),
            ("total", &self.total),
        ]
        .into_iter()
        .map(|(phase, histogram)| (phase, histogram.snapshot()))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_the_bucket_of_their_bound() {
        let histogram = LatencyHistogram::default();
        histogram.observe(Duration::from_micros(50));
        histogram.observe(Duration::from_micros(100));
        histogram.observe(Duration::from_millis(15));
        histogram.observe(Duration::from_secs(9));
        let snapshot = histogram.snapshot();
        assert_eq!(snapshot.count, 4);
        assert_eq!(snapshot.bucket_counts[0], 2, "50 µs and exactly 100 µs are in the first bucket");
        assert_eq!(snapshot.bucket_counts[7], 1, "15 ms is in the 20 ms bucket");
        assert_eq!(snapshot.bucket_counts[BUCKET_BOUNDS.len()], 1, "9 s is past every bound");
        assert!((snapshot.sum_seconds - 9.015_15).abs() < 1e-9);
    }
}
