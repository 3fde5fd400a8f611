//! CPU power from RAPL powercap counters: watts = Δenergy / Δtime between samples.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::fact::Fact;
use super::sysfs::{read_number, read_trimmed, under};

const POWERCAP_DIR: &str = "/sys/class/powercap";
const MICRO: f64 = 1_000_000.0;

#[derive(Debug, Clone, Serialize)]
pub struct PowerSnapshot {
    /// Directory the zones were read from.
    pub source: String,
    /// Sum of the top-level `package-*` zones (DRAM and psys are not added:
    /// psys already contains the packages).
    pub package_watts: Fact<f64>,
    /// Sum of the packages' `constraint_0_power_limit_uw` (long-term limit).
    pub nominal_watts: Fact<f64>,
    pub zones: Fact<Vec<PowerZone>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PowerZone {
    /// Directory name, e.g. `intel-rapl:0` or `intel-rapl:0:1`.
    pub id: String,
    /// The zone's `name`, e.g. `package-0`, `core`, `dram`.
    pub name: String,
    pub watts: Fact<f64>,
    pub power_limit_watts: Fact<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnergyReading {
    pub energy_uj: u64,
    /// Time on the sampler's clock.
    pub at: Duration,
}

pub struct PowerProbe {
    root: PathBuf,
    previous: HashMap<String, EnergyReading>,
}

impl PowerProbe {
    pub fn new(root: &Path) -> Self {
        PowerProbe { root: root.to_path_buf(), previous: HashMap::new() }
    }

    /// `now` comes from the sampler's clock, so tests control Δtime.
    pub fn sample(&mut self, now: Duration) -> PowerSnapshot {
        let dir = under(&self.root, POWERCAP_DIR);
        let source = format!("RAPL powercap {}", dir.display());
        let zones = match list_rapl_zones(&dir) {
            Ok(zones) => zones,
            Err(reason) => {
                return PowerSnapshot {
                    source,
                    package_watts: Fact::unavailable(reason.clone()),
                    nominal_watts: Fact::unavailable(reason.clone()),
                    zones: Fact::unavailable(reason),
                }
            }
        };
        let zones: Vec<PowerZone> =
            zones.into_iter().map(|(id, path)| self.read_zone(id, &path, now)).collect();
        PowerSnapshot {
            source,
            package_watts: sum_packages(&zones, |zone| &zone.watts),
            nominal_watts: sum_packages(&zones, |zone| &zone.power_limit_watts),
            zones: Fact::Value(zones),
        }
    }

    fn read_zone(&mut self, id: String, path: &Path, now: Duration) -> PowerZone {
        let name = read_trimmed(&path.join("name")).unwrap_or_else(|error| error.to_string());
        let watts = match read_number::<u64>(&path.join("energy_uj")) {
            Ok(energy_uj) => {
                let current = EnergyReading { energy_uj, at: now };
                let range =
                    read_number::<u64>(&path.join("max_energy_range_uj")).map_err(|error| error.to_string());
                let previous = self.previous.insert(id.clone(), current);
                watts_between(previous, current, range)
            }
            // energy_uj is root-only since Linux 5.10 (CVE-2020-8694).
            Err(error) => Fact::unavailable(error.to_string()),
        };
        let power_limit_watts = read_number::<u64>(&path.join("constraint_0_power_limit_uw"))
            .map(|microwatts| microwatts as f64 / MICRO);
        PowerZone {
            id,
            name,
            watts,
            power_limit_watts: Fact::from_result(power_limit_watts, "no stated power limit"),
        }
    }
}

/// Average power between two counter readings. The counter wraps at
/// `max_energy_range_uj`, so a smaller second reading means one wrap.
pub fn watts_between(
    previous: Option<EnergyReading>,
    current: EnergyReading,
    max_range_uj: Result<u64, String>,
) -> Fact<f64> {
    let Some(previous) = previous else {
        return Fact::unavailable("needs two samples");
    };
    let Some(elapsed) = current.at.checked_sub(previous.at).filter(|d| !d.is_zero()) else {
        return Fact::unavailable("no time elapsed between the two samples");
    };
    let delta_uj = if current.energy_uj >= previous.energy_uj {
        current.energy_uj - previous.energy_uj
    } else {
        match max_range_uj {
            Ok(range) if range >= previous.energy_uj => range - previous.energy_uj + current.energy_uj,
            Ok(range) => {
                return Fact::unavailable(format!(
                    "counter went down but max_energy_range_uj {range} is below the previous reading"
                ))
            }
            Err(reason) => return Fact::unavailable(format!("counter wrapped; {reason}")),
        }
    };
    Fact::finite(delta_uj as f64 / MICRO / elapsed.as_secs_f64(), "watts")
}

/// `intel-rapl:*` entries (the control-type directory `intel-rapl` has no colon).
fn list_rapl_zones(dir: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let entries = std::fs::read_dir(dir).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => {
            format!("{} does not exist (no RAPL: VM, non-x86 or powercap driver not loaded)", dir.display())
        }
        _ => format!("{}: {error}", dir.display()),
    })?;
    let mut zones: Vec<(String, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|entry| (entry.file_name().to_string_lossy().to_string(), entry.path()))
        .filter(|(name, _)| name.starts_with("intel-rapl:"))
        .collect();
    if zones.is_empty() {
        return Err(format!("no intel-rapl:* zone in {}", dir.display()));
    }
    zones.sort();
    Ok(zones)
}

fn is_package(zone: &PowerZone) -> bool {
    zone.id.matches(':').count() == 1 && zone.name.starts_with("package")
}

fn sum_packages(zones: &[PowerZone], field: impl Fn(&PowerZone) -> &Fact<f64>) -> Fact<f64> {
    let packages: Vec<&PowerZone> = zones.iter().filter(|zone| is_package(zone)).collect();
    if packages.is_empty() {
        return Fact::unavailable("no top-level package-* RAPL zone");
    }
    let mut total = 0.0;
    for zone in packages {
        match field(zone) {
            Fact::Value(value) => total += value,
            Fact::Unavailable(reason) => return Fact::unavailable(format!("{}: {reason}", zone.id)),
        }
    }
    Fact::Value(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(energy_uj: u64, seconds: u64) -> EnergyReading {
        EnergyReading { energy_uj, at: Duration::from_secs(seconds) }
    }

    #[test]
    fn first_reading_needs_two_samples() {
        let watts = watts_between(None, reading(5, 1), Ok(100));
        assert_eq!(watts.reason(), Some("needs two samples"));
    }

    #[test]
    fn watts_are_energy_delta_over_time_delta() {
        // 30 J over 2 s = 15 W.
        let watts = watts_between(Some(reading(10_000_000, 3)), reading(40_000_000, 5), Ok(0));
        assert_eq!(watts, Fact::Value(15.0));
    }

    #[test]
    fn wraparound_uses_max_energy_range() {
        // 1 J before the wrap at 100 J, 4 J after: 5 J over 1 s.
        let previous = reading(99_000_000, 10);
        let watts = watts_between(Some(previous), reading(4_000_000, 11), Ok(100_000_000));
        assert_eq!(watts, Fact::Value(5.0));
    }

    #[test]
    fn wraparound_without_range_is_unavailable() {
        let watts = watts_between(Some(reading(9, 1)), reading(1, 2), Err("unreadable".into()));
        assert_eq!(watts.reason(), Some("counter wrapped; unreadable"));
    }

    #[test]
    fn missing_powercap_says_so() {
        let snapshot = PowerProbe::new(Path::new("/nonexistent-root")).sample(Duration::ZERO);
        let reason = snapshot.package_watts.reason().expect("unavailable");
        assert!(reason.contains("/nonexistent-root/sys/class/powercap does not exist"), "{reason}");
        assert!(!snapshot.zones.is_value());
    }
}
