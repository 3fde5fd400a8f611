//! `MachineSampler`: samples the machine (`bardo_machine::MachineProbe`: sysfs, procfs, NVML)
//! on its own arbiter (thread) every few seconds, so HTTP workers never block on it, and leaves
//! the latest sample where `Node::report` reads it without a message round trip. It runs under
//! `actix::Supervisor` like every actor (see `crate::supervision`).

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use bardo_machine::{measure_gflops, MachineConfig, MachineProbe, MachineSnapshot};
use parking_lot::RwLock;

use crate::supervision::{guarded, Supervisable, Supervision};

/// How often the machine is sampled (one sample ≈ 0.7 ms here: ≈ 0.015% of a core).
const SAMPLE_INTERVAL: Duration = Duration::from_secs(5);
/// Length of the startup floating-point micro-benchmark.
const GFLOPS_BENCHMARK: Duration = Duration::from_millis(200);
/// The name its restarts are counted under. It predates the rename from `Supervisor`, and
/// `/status`, `/metrics` and the scripts that read them know it by it.
pub const RESTART_NAME: &str = "supervisor";

/// The latest sample; `None` until the first one is taken.
#[derive(Default)]
pub struct LatestMachineSample {
    sample: RwLock<Option<MachineSnapshot>>,
}

impl LatestMachineSample {
    pub fn get(&self) -> Option<MachineSnapshot> {
        self.sample.read().clone()
    }
}

pub struct MachineSampler {
    latest: Arc<LatestMachineSample>,
    config: MachineConfig,
    probe: Option<MachineProbe>,
    supervision: Supervision,
}

impl MachineSampler {
    pub fn new(latest: Arc<LatestMachineSample>, config: MachineConfig, supervision: Supervision) -> Self {
        MachineSampler { latest, config, probe: None, supervision }
    }

    fn sample(&mut self) {
        let config = &self.config;
        let probe = self.probe.get_or_insert_with(|| {
            let mut probe = MachineProbe::new(config.clone());
            probe.set_gflops(measure_gflops(GFLOPS_BENCHMARK));
            probe
        });
        *self.latest.sample.write() = Some(probe.sample());
    }
}

impl Actor for MachineSampler {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // First sample right after start (it also runs the GFLOPS benchmark), then periodic.
        self.supervision.hold_back(ctx);
        ctx.run_later(Duration::ZERO, |sampler, ctx| {
            guarded(sampler, ctx, |sampler, _| sampler.sample());
        });
        ctx.run_interval(SAMPLE_INTERVAL, |sampler, ctx| {
            guarded(sampler, ctx, |sampler, _| sampler.sample());
        });
    }
}

/// A probe that panicked is built afresh (and benchmarks GFLOPS again).
impl Supervised for MachineSampler {
    fn restarting(&mut self, _: &mut Self::Context) {
        self.probe = None;
    }
}

impl Supervisable for MachineSampler {
    fn supervision(&mut self) -> &mut Supervision {
        &mut self.supervision
    }
}
