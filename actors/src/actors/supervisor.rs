//! `Supervisor`: samples the machine on its own arbiter (thread) for `/status`, so HTTP
//! workers never block on sysfs or NVML, and holds the restart board every supervised actor
//! reports to (see `crate::supervision`: each actor runs under `actix::Supervisor`, restarts
//! from its factory with capped exponential backoff). It is supervised the same way.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use parking_lot::RwLock;

use crate::machine::{measure_gflops, MachineConfig, MachineSampler, MachineSnapshot};
use crate::supervision::{guarded, RestartBoard, Supervisable, Supervision};

/// How often the machine is sampled (one sample ≈ 0.7 ms here: ≈ 0.015% of a core).
const SAMPLE_INTERVAL: Duration = Duration::from_secs(5);
/// Length of the startup floating-point micro-benchmark.
const GFLOPS_BENCHMARK: Duration = Duration::from_millis(200);

/// The latest facts, read by `/status` without a message round trip.
#[derive(Default)]
pub struct StatusBoard {
    machine: RwLock<Option<MachineSnapshot>>,
    started: RwLock<Option<Instant>>,
    /// Restart counts of every supervised actor of this node.
    pub restarts: Arc<RestartBoard>,
}

impl StatusBoard {
    pub fn machine(&self) -> Option<MachineSnapshot> {
        self.machine.read().clone()
    }

    pub fn uptime(&self) -> Duration {
        self.started.read().map_or(Duration::ZERO, |started| started.elapsed())
    }
}

pub struct Supervisor {
    board: Arc<StatusBoard>,
    config: MachineConfig,
    sampler: Option<MachineSampler>,
    supervision: Supervision,
}

impl Supervisor {
    pub fn new(board: Arc<StatusBoard>, config: MachineConfig, supervision: Supervision) -> Self {
        board.started.write().get_or_insert_with(Instant::now);
        Supervisor { board, config, sampler: None, supervision }
    }

    fn sample(&mut self) {
        let config = &self.config;
        let sampler = self.sampler.get_or_insert_with(|| {
            let mut sampler = MachineSampler::new(config.clone());
            sampler.set_gflops(measure_gflops(GFLOPS_BENCHMARK));
            sampler
        });
        *self.board.machine.write() = Some(sampler.sample());
    }
}

impl Actor for Supervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // First sample right after start (it also runs the GFLOPS benchmark), then periodic.
        self.supervision.hold_back(ctx);
        ctx.run_later(Duration::ZERO, |supervisor, ctx| {
            guarded(supervisor, ctx, |supervisor, _| supervisor.sample());
        });
        ctx.run_interval(SAMPLE_INTERVAL, |supervisor, ctx| {
            guarded(supervisor, ctx, |supervisor, _| supervisor.sample());
        });
    }
}

/// A sampler that panicked is built afresh (and benchmarks GFLOPS again).
impl Supervised for Supervisor {
    fn restarting(&mut self, _: &mut Self::Context) {
        self.sampler = None;
    }
}

impl Supervisable for Supervisor {
    fn supervision(&mut self) -> &mut Supervision {
        &mut self.supervision
    }
}
