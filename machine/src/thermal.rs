//! Temperatures per heat zone: sysinfo hwmon components plus the kernel's
//! `thermal_zone*` directories.

use std::path::{Path, PathBuf};

use serde::Serialize;
use sysinfo::Components;

use super::fact::Fact;
use super::sysfs::{read_number, read_trimmed, under};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HeatZone {
    /// "thermal_zone" (kernel thermal framework) or "hwmon" (sysinfo).
    pub source: &'static str,
    /// `thermal_zone0`, or the hwmon sensor id.
    pub zone: String,
    /// The zone's `type` (e.g. `x86_pkg_temp`, `acpitz`) or the hwmon label.
    pub kind: String,
    pub celsius: Fact<f64>,
}

const THERMAL_DIR: &str = "/sys/class/thermal";

pub struct ThermalProbe {
    root: PathBuf,
    /// sysinfo always reads the real `/sys`, so it is only used when the root is `/`.
    components: Option<Components>,
}

impl ThermalProbe {
    pub fn new(root: &Path) -> Self {
        let components =
            if root == Path::new("/") { Components::new_with_refreshed_list().ok() } else { None };
        ThermalProbe { root: root.to_path_buf(), components }
    }

    pub fn sample(&mut self) -> Fact<Vec<HeatZone>> {
        let mut zones = self.hwmon_zones();
        let thermal = read_thermal_zones(&self.root);
        let thermal_reason = match thermal {
            Ok(found) => {
                zones.extend(found);
                None
            }
            Err(reason) => Some(reason),
        };
        if !zones.is_empty() {
            return Fact::Value(zones);
        }
        let hwmon = match self.components {
            Some(_) => "sysinfo found no hwmon temperature sensor",
            None => "hwmon via sysinfo not read (root is not /)",
        };
        let thermal = thermal_reason.unwrap_or_else(|| "no thermal_zone* entries".to_string());
        Fact::unavailable(format!("{hwmon}; {thermal}"))
    }

    fn hwmon_zones(&mut self) -> Vec<HeatZone> {
        let Some(components) = self.components.as_mut() else {
            return Vec::new();
        };
        components.refresh(true);
        components
            .iter()
            .map(|component| HeatZone {
                source: "hwmon",
                zone: component.id().unwrap_or(component.label()).to_string(),
                kind: component.label().to_string(),
                celsius: match component.temperature() {
                    Some(celsius) => Fact::finite(f64::from(celsius), "hwmon temperature"),
                    None => Fact::unavailable("sysinfo could not read this sensor"),
                },
            })
            .collect()
    }
}

/// Reads `<root>/sys/class/thermal/thermal_zone*/{type,temp}`; `temp` is in
/// millidegrees Celsius. Err when the directory itself cannot be listed.
pub fn read_thermal_zones(root: &Path) -> Result<Vec<HeatZone>, String> {
    let dir = under(root, THERMAL_DIR);
    let entries = std::fs::read_dir(&dir).map_err(|error| format!("{}: {error}", dir.display()))?;
    let mut zone_dirs: Vec<(u32, String, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().to_string();
            let number = name.strip_prefix("thermal_zone")?.parse::<u32>().ok()?;
            Some((number, name, entry.path()))
        })
        .collect();
    zone_dirs.sort_by_key(|(number, _, _)| *number);
    Ok(zone_dirs.into_iter().map(|(_, name, path)| read_zone(name, &path)).collect())
}

fn read_zone(zone: String, path: &Path) -> HeatZone {
    let kind = read_trimmed(&path.join("type")).unwrap_or_else(|error| error.to_string());
    // A zone whose sensor is off answers EINVAL/ENODATA: that becomes the reason.
    let celsius = match read_number::<i64>(&path.join("temp")) {
        Ok(millidegrees) => Fact::Value(millidegrees as f64 / 1000.0),
        Err(error) => Fact::unavailable(error.to_string()),
    };
    HeatZone { source: "thermal_zone", zone, kind, celsius }
}
