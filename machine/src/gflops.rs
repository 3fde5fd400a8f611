//! Single-thread f64 multiply-add micro-benchmark, run once at startup.

use std::hint::black_box;
use std::time::{Duration, Instant};

use super::fact::Fact;

/// Independent accumulators: enough to hide the multiply-add latency, few
/// enough (12 SSE2 registers of 2 lanes) to stay in registers on x86-64.
const LANES: usize = 24;
/// Iterations between clock reads (about 100k flops, tens of microseconds).
const ITERATIONS_PER_CHUNK: u64 = 4096;
/// One multiply and one add per lane per iteration.
const FLOPS_PER_LANE_UPDATE: u64 = 2;

/// Shown next to the number: a debug build runs this loop tens of times slower.
pub const BASIS: &str = if cfg!(debug_assertions) {
    "single-thread f64 multiply-add, measured once at startup; debug build (usually unoptimized: not representative)"
} else {
    "single-thread f64 multiply-add, measured once at startup; optimized build"
};

/// Runs `x = x * m + a` on independent lanes for about `duration` and returns
/// the achieved GFLOPS of this build (baseline x86-64 uses SSE2, not FMA).
///
/// `m` and `a` go through `black_box` and the lanes are `black_box`ed after
/// every chunk, so the optimizer can neither fold nor drop the work. The fixed
/// point of the recurrence is `a / (1 - m)` = 1.0, so values stay normal.
pub fn measure_gflops(duration: Duration) -> Fact<f64> {
    if duration.is_zero() {
        return Fact::unavailable("benchmark duration is zero");
    }
    let multiplier = black_box(0.999_999_9_f64);
    let addend = black_box(1.0e-7_f64);
    let mut lanes = [1.0_f64; LANES];
    run_chunk(&mut lanes, multiplier, addend); // warm-up: caches, frequency
    let started = Instant::now();
    let mut chunks: u64 = 0;
    while started.elapsed() < duration {
        run_chunk(&mut lanes, multiplier, addend);
        chunks += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    if lanes.iter().any(|lane| !lane.is_finite()) {
        return Fact::unavailable("benchmark lanes left the finite range");
    }
    let flops = chunks * ITERATIONS_PER_CHUNK * LANES as u64 * FLOPS_PER_LANE_UPDATE;
    Fact::finite(flops as f64 / seconds / 1.0e9, "GFLOPS")
}

#[inline(never)]
fn run_chunk(lanes: &mut [f64; LANES], multiplier: f64, addend: f64) {
    for _ in 0..ITERATIONS_PER_CHUNK {
        for lane in lanes.iter_mut() {
            *lane = *lane * multiplier + addend;
        }
    }
    black_box(lanes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_a_positive_finite_rate() {
        let gflops = measure_gflops(Duration::from_millis(50));
        let value = *gflops.value().expect("measured");
        assert!(value.is_finite() && value > 0.0, "{value}");
        // One core cannot exceed a few hundred GFLOPS even with AVX-512 FMA.
        assert!(value < 500.0, "{value}");
    }

    #[test]
    fn zero_duration_is_unavailable() {
        assert!(!measure_gflops(Duration::ZERO).is_value());
    }
}
