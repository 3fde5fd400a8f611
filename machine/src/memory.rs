//! Machine memory and this process's resident set size.

use serde::Serialize;
use sysinfo::{MemoryRefreshKind, Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use super::fact::Fact;

#[derive(Debug, Clone, Serialize)]
pub struct MemorySnapshot {
    pub total_bytes: Fact<u64>,
    pub used_bytes: Fact<u64>,
    pub available_bytes: Fact<u64>,
    /// Resident set size of this bardo process.
    pub process_rss_bytes: Fact<u64>,
}

/// sysinfo reports 0 when it could not read `/proc/meminfo`; 0 total is not a
/// real machine, so it becomes "unavailable".
fn nonzero(bytes: u64, what: &str) -> Fact<u64> {
    match bytes {
        0 => Fact::unavailable(format!("sysinfo reported 0 for {what}")),
        bytes => Fact::Value(bytes),
    }
}

pub fn sample(system: &mut System, own_pid: &Result<Pid, String>) -> MemorySnapshot {
    system.refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
    let total = system.total_memory();
    MemorySnapshot {
        total_bytes: nonzero(total, "total memory"),
        // Used and available mean nothing if /proc/meminfo was not read.
        used_bytes: nonzero(total, "total memory").map(|_| system.used_memory()),
        available_bytes: nonzero(total, "total memory").map(|_| system.available_memory()),
        process_rss_bytes: process_rss(system, own_pid),
    }
}

fn process_rss(system: &mut System, own_pid: &Result<Pid, String>) -> Fact<u64> {
    let pid = match own_pid {
        Ok(pid) => *pid,
        Err(reason) => return Fact::unavailable(reason.clone()),
    };
    system.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[pid]),
        true,
        ProcessRefreshKind::nothing().with_memory(),
    );
    match system.process(pid) {
        Some(process) => nonzero(process.memory(), "process RSS"),
        None => Fact::unavailable(format!("sysinfo could not read /proc/{pid}")),
    }
}
