//! bardo's machine self-knowledge for `GET /status` and `/metrics`: cloud
//! placement, CPU, heat, power, GFLOPS, GPU, memory and network — each field a
//! measured value or an explicit `{"unavailable": "<reason>"}`.
//!
//! [`MachineProbe::sample`] is blocking (a few dozen small files, NVML): the
//! `MachineSampler` actor of `bardo-actors` calls it on its own thread.
//!
//! `MachineConfig::root` redirects the files this module reads itself (DMI,
//! `/sys/hypervisor`, thermal zones, powercap, cpufreq, `/proc/cpuinfo`);
//! sysinfo and NVML always see the real machine.

pub mod cloud;
pub mod cpu;
pub mod fact;
pub mod gflops;
pub mod gpu;
pub mod memory;
pub mod metadata;
pub mod network;
pub mod power;
pub mod sysfs;
pub mod thermal;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use sysinfo::{Pid, System};

pub use cloud::{CloudIdentity, CloudProvider};
pub use cpu::{CoreSample, CpuSnapshot};
pub use fact::Fact;
pub use gflops::measure_gflops;
pub use gpu::{GpuDevice, GpuProbe};
pub use memory::MemorySnapshot;
pub use network::InterfaceTraffic;
pub use power::{PowerSnapshot, PowerZone};
pub use thermal::HeatZone;

#[derive(Debug, Clone)]
pub struct MachineConfig {
    /// `/` in production; tests point it at a fixture tree.
    pub root: PathBuf,
    /// Environment snapshot, for cloud markers and provider region variables.
    pub env: HashMap<String, String>,
    /// `BARDO_REGION` override.
    pub region: Option<String>,
    /// `BARDO_ZONE` override.
    pub zone: Option<String>,
    /// Opt-in: may ask the link-local metadata service (300 ms budget) once,
    /// at construction, when region or zone is still unknown.
    pub metadata_lookup: bool,
}

impl MachineConfig {
    /// Root `/`, the process environment, `BARDO_REGION`/`BARDO_ZONE`, and no
    /// metadata lookup (the caller opts in by setting `metadata_lookup`).
    pub fn from_process() -> Self {
        let env: HashMap<String, String> = std::env::vars_os()
            .map(|(key, value)| (key.to_string_lossy().into_owned(), value.to_string_lossy().into_owned()))
            .collect();
        let non_empty = |key: &str| env.get(key).filter(|value| !value.is_empty()).cloned();
        MachineConfig {
            root: PathBuf::from("/"),
            region: non_empty("BARDO_REGION"),
            zone: non_empty("BARDO_ZONE"),
            env,
            metadata_lookup: false,
        }
    }

    /// A root with an empty environment and no overrides.
    pub fn for_root(root: impl Into<PathBuf>) -> Self {
        MachineConfig {
            root: root.into(),
            env: HashMap::new(),
            region: None,
            zone: None,
            metadata_lookup: false,
        }
    }
}

/// Monotonic time since an arbitrary origin; injectable so rate tests are exact.
pub trait Clock: Send + Sync {
    fn now(&self) -> Duration;
}

pub struct MonotonicClock {
    origin: Instant,
}

impl MonotonicClock {
    pub fn new() -> Self {
        MonotonicClock { origin: Instant::now() }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        MonotonicClock::new()
    }
}

impl Clock for MonotonicClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MachineSnapshot {
    pub sampled_at_unix_ms: Fact<u64>,
    /// Wall time this `sample()` call took.
    pub sample_cost_micros: u64,
    pub cloud: CloudIdentity,
    pub cpu: Fact<CpuSnapshot>,
    pub temperatures: Fact<Vec<HeatZone>>,
    pub power: PowerSnapshot,
    /// Single-thread f64 multiply-add GFLOPS measured at startup.
    pub gflops: Fact<f64>,
    /// What `gflops` measures, including whether this build was optimized.
    pub gflops_basis: &'static str,
    /// `gflops` divided by the current CPU package power.
    pub gflops_per_watt: Fact<f64>,
    pub gpus: Fact<Vec<GpuDevice>>,
    pub memory: Fact<MemorySnapshot>,
    pub network: Fact<Vec<InterfaceTraffic>>,
}

/// Samples the machine; owned by one thread (the `MachineSampler` actor), called every few seconds.
pub struct MachineProbe {
    clock: Box<dyn Clock>,
    cloud: CloudIdentity,
    system: Result<System, String>,
    own_pid: Result<Pid, String>,
    cpu: cpu::CpuProbe,
    thermal: thermal::ThermalProbe,
    power: power::PowerProbe,
    gpu: GpuProbe,
    network: network::NetworkProbe,
    gflops: Fact<f64>,
}

impl MachineProbe {
    /// Detects the cloud once (markers do not change while running), loads
    /// NVML once, and takes the CPU baseline that usage is measured against.
    pub fn new(config: MachineConfig) -> Self {
        MachineProbe::with_parts(config, Box::new(MonotonicClock::new()), GpuProbe::new())
    }

    /// `new` with an injected clock and GPU probe (for deterministic tests).
    pub fn with_parts(config: MachineConfig, clock: Box<dyn Clock>, gpu: GpuProbe) -> Self {
        let mut system = System::new().map_err(|error| format!("sysinfo System: {error}"));
        let mut cpu = cpu::CpuProbe::new(&config.root);
        if let Ok(system) = system.as_mut() {
            // The baseline sample: its usage result is meaningless by design.
            let _baseline = cpu.refresh(system);
        }
        let cloud = cloud::identify(&config);
        tracing::info!(provider = cloud.provider.label(), evidence = %cloud.evidence, "cloud detected");
        MachineProbe {
            clock,
            cloud,
            system,
            own_pid: sysinfo::get_current_pid().map_err(|error| format!("own pid: {error}")),
            cpu,
            thermal: thermal::ThermalProbe::new(&config.root),
            power: power::PowerProbe::new(&config.root),
            gpu,
            network: network::NetworkProbe::new(),
            gflops: Fact::unavailable(
                "not measured: call measure_gflops at startup and pass it to set_gflops",
            ),
        }
    }

    /// Stores the startup benchmark result reported in every snapshot.
    pub fn set_gflops(&mut self, gflops: Fact<f64>) {
        self.gflops = gflops;
    }

    pub fn cloud(&self) -> &CloudIdentity {
        &self.cloud
    }

    /// Blocking; reads a few dozen small files. Call it off the HTTP threads.
    pub fn sample(&mut self) -> MachineSnapshot {
        let started = Instant::now();
        let now = self.clock.now();
        let (cpu, memory) = match self.system.as_mut() {
            Ok(system) => {
                (Fact::Value(self.cpu.sample(system)), Fact::Value(memory::sample(system, &self.own_pid)))
            }
            Err(reason) => (Fact::unavailable(reason.clone()), Fact::unavailable(reason.clone())),
        };
        let power = self.power.sample(now);
        let mut snapshot = MachineSnapshot {
            sampled_at_unix_ms: unix_millis(),
            sample_cost_micros: 0,
            cloud: self.cloud.clone(),
            cpu,
            temperatures: self.thermal.sample(),
            gflops_per_watt: gflops_per_watt(&self.gflops, &power.package_watts),
            power,
            gflops: self.gflops.clone(),
            gflops_basis: gflops::BASIS,
            gpus: self.gpu.sample(),
            memory,
            network: self.network.sample(now),
        };
        snapshot.sample_cost_micros = started.elapsed().as_micros() as u64;
        snapshot
    }
}

fn gflops_per_watt(gflops: &Fact<f64>, watts: &Fact<f64>) -> Fact<f64> {
    match (gflops, watts) {
        (Fact::Value(gflops), Fact::Value(watts)) if *watts > 0.0 => {
            Fact::finite(gflops / watts, "GFLOPS per watt")
        }
        (Fact::Value(_), Fact::Value(watts)) => Fact::unavailable(format!("package power reads {watts} W")),
        (Fact::Unavailable(reason), _) => Fact::unavailable(format!("GFLOPS: {reason}")),
        (_, Fact::Unavailable(reason)) => Fact::unavailable(format!("power: {reason}")),
    }
}

fn unix_millis() -> Fact<u64> {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(since_epoch) => Fact::Value(since_epoch.as_millis() as u64),
        Err(error) => Fact::unavailable(format!("system clock before 1970: {error}")),
    }
}

/// The `MachineSampler` actor moves the probe onto its own thread.
const _: fn() = || {
    fn assert_send<T: Send>() {}
    assert_send::<MachineProbe>();
};

#[cfg(test)]
mod tests;
