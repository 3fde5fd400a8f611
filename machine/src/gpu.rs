//! NVIDIA GPUs through NVML, loaded at run time: no GPU driver is a normal case.

use std::ffi::OsStr;

use nvml_wrapper::enum_wrappers::device::{Clock, TemperatureSensor};
use nvml_wrapper::{Device, Nvml};
use serde::Serialize;

use super::fact::Fact;

#[derive(Debug, Clone, Serialize)]
pub struct GpuDevice {
    pub index: u32,
    pub name: Fact<String>,
    /// CUDA cores (NVML `num_cores`).
    pub cores: Fact<u32>,
    pub temperature_celsius: Fact<u32>,
    pub power_watts: Fact<f64>,
    /// Enforced power limit: the board's stated power budget.
    pub power_limit_watts: Fact<f64>,
    pub graphics_clock_mhz: Fact<u32>,
    pub sm_clock_mhz: Fact<u32>,
    pub memory_clock_mhz: Fact<u32>,
    pub utilization_percent: Fact<u32>,
    pub memory_total_bytes: Fact<u64>,
    pub memory_used_bytes: Fact<u64>,
    pub memory_free_bytes: Fact<u64>,
}

/// Holds the NVML handle, or why it could not be loaded (tried once).
pub struct GpuProbe {
    nvml: Result<Nvml, String>,
}

impl GpuProbe {
    /// Loads `libnvidia-ml.so.1` from the default search path.
    pub fn new() -> Self {
        GpuProbe::from_init(Nvml::init())
    }

    /// Loads NVML from an explicit library path (tests use a missing one).
    pub fn with_library(path: &OsStr) -> Self {
        GpuProbe::from_init(Nvml::builder().lib_path(path).init())
    }

    fn from_init(result: Result<Nvml, nvml_wrapper::error::NvmlError>) -> Self {
        GpuProbe { nvml: result.map_err(|error| format!("NVML not available: {error}")) }
    }

    pub fn sample(&self) -> Fact<Vec<GpuDevice>> {
        let nvml = match &self.nvml {
            Ok(nvml) => nvml,
            Err(reason) => return Fact::unavailable(reason.clone()),
        };
        let count = match nvml.device_count() {
            Ok(count) => count,
            Err(error) => return Fact::unavailable(format!("NVML device_count: {error}")),
        };
        Fact::Value((0..count).map(|index| read_device(nvml, index)).collect())
    }
}

impl Default for GpuProbe {
    fn default() -> Self {
        GpuProbe::new()
    }
}

fn read_device(nvml: &Nvml, index: u32) -> GpuDevice {
    match nvml.device_by_index(index) {
        Ok(device) => describe(&device, index),
        Err(error) => unreadable_device(index, &format!("NVML device_by_index: {error}")),
    }
}

fn describe(device: &Device, index: u32) -> GpuDevice {
    let milliwatts_to_watts = |milliwatts: u32| f64::from(milliwatts) / 1000.0;
    let memory = device.memory_info().map_err(|error| error.to_string());
    let memory_field = |pick: fn(&nvml_wrapper::struct_wrappers::device::MemoryInfo) -> u64| {
        Fact::from_result(memory.as_ref().map(pick).map_err(Clone::clone), "NVML memory_info")
    };
    GpuDevice {
        index,
        name: Fact::from_result(device.name(), "NVML name"),
        cores: Fact::from_result(device.num_cores(), "NVML num_cores"),
        temperature_celsius: Fact::from_result(
            device.temperature(TemperatureSensor::Gpu),
            "NVML temperature",
        ),
        power_watts: Fact::from_result(device.power_usage().map(milliwatts_to_watts), "NVML power_usage"),
        power_limit_watts: Fact::from_result(
            device.enforced_power_limit().map(milliwatts_to_watts),
            "NVML enforced_power_limit",
        ),
        graphics_clock_mhz: Fact::from_result(device.clock_info(Clock::Graphics), "NVML clock_info"),
        sm_clock_mhz: Fact::from_result(device.clock_info(Clock::SM), "NVML clock_info"),
        memory_clock_mhz: Fact::from_result(device.clock_info(Clock::Memory), "NVML clock_info"),
        utilization_percent: Fact::from_result(
            device.utilization_rates().map(|rates| rates.gpu),
            "NVML utilization_rates",
        ),
        memory_total_bytes: memory_field(|info| info.total),
        memory_used_bytes: memory_field(|info| info.used),
        memory_free_bytes: memory_field(|info| info.free),
    }
}

fn unreadable_device(index: u32, reason: &str) -> GpuDevice {
    GpuDevice {
        index,
        name: Fact::unavailable(reason),
        cores: Fact::unavailable(reason),
        temperature_celsius: Fact::unavailable(reason),
        power_watts: Fact::unavailable(reason),
        power_limit_watts: Fact::unavailable(reason),
        graphics_clock_mhz: Fact::unavailable(reason),
        sm_clock_mhz: Fact::unavailable(reason),
        memory_clock_mhz: Fact::unavailable(reason),
        utilization_percent: Fact::unavailable(reason),
        memory_total_bytes: Fact::unavailable(reason),
        memory_used_bytes: Fact::unavailable(reason),
        memory_free_bytes: Fact::unavailable(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn missing_nvml_library_is_a_quick_documented_unavailable() {
        let started = Instant::now();
        let probe = GpuProbe::with_library(OsStr::new("/nonexistent/libnvidia-ml.so.1"));
        let gpus = probe.sample();
        let elapsed = started.elapsed();
        let reason = gpus.reason().expect("no NVML here");
        assert!(reason.starts_with("NVML not available: "), "{reason}");
        assert!(reason.contains("libnvidia-ml.so.1"), "{reason}");
        assert!(elapsed < Duration::from_millis(50), "took {elapsed:?}");
    }

    #[test]
    fn this_machine_without_a_driver_reports_nvml_unavailable() {
        // The dev VM has no libnvidia-ml; on a GPU host this test checks devices.
        match GpuProbe::new().sample() {
            Fact::Unavailable(reason) => assert!(reason.starts_with("NVML not available: ")),
            Fact::Value(devices) => assert!(devices.iter().all(|gpu| gpu.name.is_value())),
        }
    }
}
