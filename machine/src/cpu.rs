//! CPU model, core counts, per-core frequency and usage.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use sysinfo::{CpuRefreshKind, System, MINIMUM_CPU_UPDATE_INTERVAL};

use super::fact::Fact;
use super::sysfs::{read_trimmed, under};

#[derive(Debug, Clone, Serialize)]
pub struct CpuSnapshot {
    pub model: Fact<String>,
    pub physical_cores: Fact<usize>,
    pub logical_cores: Fact<usize>,
    pub usage_percent: Fact<f32>,
    /// Where the per-core frequencies come from.
    pub frequency_source: String,
    pub cores: Vec<CoreSample>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CoreSample {
    pub index: usize,
    pub frequency_mhz: Fact<f64>,
    pub usage_percent: Fact<f32>,
}

/// Keeps what CPU usage needs between samples: the time of the last refresh.
pub struct CpuProbe {
    root: PathBuf,
    cpufreq_present: bool,
    last_refresh: Option<Instant>,
}

impl CpuProbe {
    pub fn new(root: &Path) -> Self {
        let cpufreq = under(root, "/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq");
        CpuProbe { root: root.to_path_buf(), cpufreq_present: cpufreq.exists(), last_refresh: None }
    }

    /// Refreshes sysinfo's CPU counters; usage is the change since the last call.
    pub fn refresh(&mut self, system: &mut System) -> Fact<()> {
        let mut kind = CpuRefreshKind::nothing().with_usage();
        // Only ask sysinfo for frequencies when cpufreq exists: otherwise it
        // re-reads /proc/cpuinfo once per core and copies cpu0's "cpu MHz" to
        // every core (sysinfo 0.40.4 linux/cpu.rs get_cpu_frequency).
        if self.cpufreq_present {
            kind = kind.with_frequency();
        }
        system.refresh_cpu_specifics(kind);
        let previous = self.last_refresh.replace(Instant::now());
        match previous.map(|at| at.elapsed()) {
            None => Fact::unavailable("CPU usage needs two samples"),
            Some(gap) if gap < MINIMUM_CPU_UPDATE_INTERVAL => Fact::unavailable(format!(
                "CPU usage needs samples at least {} ms apart (got {} ms)",
                MINIMUM_CPU_UPDATE_INTERVAL.as_millis(),
                gap.as_millis()
            )),
            Some(_) => Fact::Value(()),
        }
    }

    pub fn sample(&mut self, system: &mut System) -> CpuSnapshot {
        let usage_valid = self.refresh(system);
        let cpuinfo = CpuInfo::read(&self.root);
        let (frequency_source, frequencies) = self.frequencies(system, &cpuinfo);
        let cores = system
            .cpus()
            .iter()
            .zip(frequencies)
            .enumerate()
            .map(|(index, (cpu, frequency_mhz))| CoreSample {
                index,
                frequency_mhz,
                usage_percent: usage_valid.clone().map(|()| cpu.usage()),
            })
            .collect();
        CpuSnapshot {
            model: model(system, &cpuinfo),
            physical_cores: Fact::from_result(System::physical_core_count(), "sysinfo"),
            logical_cores: logical_cores(system),
            usage_percent: usage_valid.map(|()| system.global_cpu_usage()),
            frequency_source,
            cores,
        }
    }

    fn frequencies(&self, system: &System, cpuinfo: &CpuInfo) -> (String, Vec<Fact<f64>>) {
        let count = system.cpus().len();
        if self.cpufreq_present {
            let values = system
                .cpus()
                .iter()
                .map(|cpu| match cpu.frequency() {
                    0 => Fact::unavailable("sysinfo reported 0 MHz"),
                    mhz => Fact::Value(mhz as f64),
                })
                .collect();
            return ("sysinfo (cpufreq scaling_cur_freq)".to_string(), values);
        }
        let values = (0..count).map(|index| cpuinfo.frequency(index)).collect();
        (format!("{} \"cpu MHz\"", cpuinfo.path.display()), values)
    }
}

fn model(system: &System, cpuinfo: &CpuInfo) -> Fact<String> {
    let brand = system.cpus().first().map(|cpu| cpu.brand().trim());
    match brand.filter(|brand| !brand.is_empty()) {
        Some(brand) => Fact::Value(brand.to_string()),
        None => cpuinfo.model.clone(),
    }
}

fn logical_cores(system: &System) -> Fact<usize> {
    match system.cpus().len() {
        0 => Fact::unavailable("sysinfo listed no CPUs"),
        count => Fact::Value(count),
    }
}

/// What `/proc/cpuinfo` under the root says, per processor.
struct CpuInfo {
    path: PathBuf,
    megahertz: Result<HashMap<usize, f64>, String>,
    model: Fact<String>,
}

impl CpuInfo {
    fn read(root: &Path) -> Self {
        let path = under(root, "/proc/cpuinfo");
        match read_trimmed(&path) {
            Ok(text) => CpuInfo {
                megahertz: Ok(parse_cpuinfo_mhz(&text)),
                model: parse_cpuinfo_model(&text, &path),
                path,
            },
            Err(error) => CpuInfo {
                megahertz: Err(error.to_string()),
                model: Fact::unavailable(error.to_string()),
                path,
            },
        }
    }

    fn frequency(&self, index: usize) -> Fact<f64> {
        match &self.megahertz {
            Err(reason) => Fact::unavailable(reason.clone()),
            Ok(table) => match table.get(&index) {
                Some(mhz) => Fact::Value(*mhz),
                None => Fact::unavailable(format!(
                    "no cpufreq and no \"cpu MHz\" for processor {index} in {}",
                    self.path.display()
                )),
            },
        }
    }
}

/// Maps each `processor : N` block to its `cpu MHz` line.
pub fn parse_cpuinfo_mhz(text: &str) -> HashMap<usize, f64> {
    let mut table = HashMap::new();
    let mut processor = None;
    for (key, value) in text.lines().filter_map(|line| line.split_once(':')) {
        match key.trim() {
            "processor" => processor = value.trim().parse::<usize>().ok(),
            "cpu MHz" => {
                if let (Some(index), Ok(mhz)) = (processor, value.trim().parse::<f64>()) {
                    table.insert(index, mhz);
                }
            }
            _ => {}
        }
    }
    table
}

fn parse_cpuinfo_model(text: &str, path: &Path) -> Fact<String> {
    let model = text
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(key, _)| key.trim() == "model name")
        .map(|(_, value)| value.trim().to_string());
    match model {
        Some(model) if !model.is_empty() => Fact::Value(model),
        _ => Fact::unavailable(format!("no \"model name\" in {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_PROCESSORS: &str = "processor\t: 0\nmodel name\t: AMD EPYC\ncpu MHz\t\t: 2245.780\n\n\
                                  processor\t: 1\nmodel name\t: AMD EPYC\ncpu MHz\t\t: 1800.5\n";

    #[test]
    fn cpuinfo_frequencies_are_read_per_processor() {
        let table = parse_cpuinfo_mhz(TWO_PROCESSORS);
        assert_eq!(table.get(&0), Some(&2245.78));
        assert_eq!(table.get(&1), Some(&1800.5));
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn cpuinfo_model_name_is_found() {
        let model = parse_cpuinfo_model(TWO_PROCESSORS, Path::new("/proc/cpuinfo"));
        assert_eq!(model, Fact::Value("AMD EPYC".to_string()));
    }

    #[test]
    fn first_sample_says_usage_needs_two_samples() {
        let mut system = System::new().expect("sysinfo System");
        let mut probe = CpuProbe::new(Path::new("/"));
        let snapshot = probe.sample(&mut system);
        assert_eq!(snapshot.usage_percent.reason(), Some("CPU usage needs two samples"));
        assert!(snapshot.logical_cores.value().is_some_and(|n| *n >= 1));
        assert_eq!(snapshot.cores.len(), *snapshot.logical_cores.value().unwrap());
    }
}
