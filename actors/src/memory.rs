//! This process's memory and the limit it runs under (its cgroup's, v1 or v2), read from
//! `/proc` and `/sys/fs/cgroup` in a few microseconds: what the memory guard decides on.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One reading.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessMemory {
    /// Resident set of this process (`VmRSS`).
    pub rss: u64,
    /// The memory limit of this process's cgroup, if it has one.
    pub limit: Option<u64>,
    /// The cgroup's own usage figure (it counts page cache too).
    pub cgroup_usage: Option<u64>,
}

impl ProcessMemory {
    /// RSS as a share of the limit (0 without a limit).
    pub fn fraction_of_limit(&self) -> f64 {
        self.limit.map_or(0.0, |limit| self.rss as f64 / limit.max(1) as f64)
    }
}

/// A cgroup "limit" above this is no limit (v1 writes 2^63 rounded to pages).
const NO_LIMIT_ABOVE: u64 = 1 << 60;

/// Where this process's memory cgroup lives, found once.
#[derive(Debug, Clone)]
pub struct MemoryProbe {
    usage: Option<PathBuf>,
    limit: Option<PathBuf>,
    /// A limit given by configuration wins over the cgroup's.
    configured_limit: Option<u64>,
}

impl MemoryProbe {
    pub fn new(configured_limit: Option<u64>) -> MemoryProbe {
        let (usage, limit) = cgroup_files(Path::new("/proc/self/cgroup"), Path::new("/sys/fs/cgroup"));
        MemoryProbe { usage, limit, configured_limit }
    }

    pub fn read(&self) -> ProcessMemory {
        let number = |path: &Option<PathBuf>| {
            path.as_ref()
                .and_then(|p| std::fs::read_to_string(p).ok())
                .and_then(|t| t.trim().parse::<u64>().ok())
        };
        let limit = self.configured_limit.or_else(|| number(&self.limit).filter(|&l| l < NO_LIMIT_ABOVE));
        ProcessMemory { rss: resident_bytes(), limit, cgroup_usage: number(&self.usage) }
    }
}

fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
    kib.unwrap_or(0) * 1024
}

/// The usage and limit files of the memory cgroup named in `proc_cgroup` (v1 `memory`
/// controller first, then the v2 unified hierarchy).
fn cgroup_files(proc_cgroup: &Path, root: &Path) -> (Option<PathBuf>, Option<PathBuf>) {
    let text = std::fs::read_to_string(proc_cgroup).unwrap_or_default();
    for line in text.lines() {
        let mut fields = line.splitn(3, ':');
        let (_, controllers, path) =
            (fields.next(), fields.next().unwrap_or(""), fields.next().unwrap_or(""));
        let path = path.trim_start_matches('/');
        if controllers.split(',').any(|c| c == "memory") {
            let dir = root.join("memory").join(path);
            return (Some(dir.join("memory.usage_in_bytes")), Some(dir.join("memory.limit_in_bytes")));
        }
        if controllers.is_empty() && root.join(path).join("memory.max").exists() {
            let dir = root.join(path);
            return (Some(dir.join("memory.current")), Some(dir.join("memory.max")));
        }
    }
    (None, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_v1_and_v2_cgroups_and_reads_this_process() {
        let dir = std::env::temp_dir().join(format!("bardo-memory-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("memory/bardo/api1")).unwrap();
        std::fs::write(dir.join("v1"), "12:cpu,cpuacct:/bardo/api1\n11:memory:/bardo/api1\n").unwrap();
        let (usage, limit) = cgroup_files(&dir.join("v1"), &dir);
        assert_eq!(limit.unwrap(), dir.join("memory/bardo/api1/memory.limit_in_bytes"));
        assert_eq!(usage.unwrap(), dir.join("memory/bardo/api1/memory.usage_in_bytes"));
        std::fs::create_dir_all(dir.join("system.slice/x")).unwrap();
        std::fs::write(dir.join("system.slice/x/memory.max"), "max\n").unwrap();
        std::fs::write(dir.join("v2"), "0::/system.slice/x\n").unwrap();
        let (_, limit) = cgroup_files(&dir.join("v2"), &dir);
        assert_eq!(limit.as_deref(), Some(dir.join("system.slice/x/memory.max").as_path()));
        let reading = MemoryProbe { usage: None, limit: limit.clone(), configured_limit: None }.read();
        assert_eq!(reading.limit, None, "'max' is no limit");
        assert!(reading.rss > 0);
        let configured = MemoryProbe { usage: None, limit, configured_limit: Some(1 << 30) }.read();
        assert_eq!(configured.limit, Some(1 << 30));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
