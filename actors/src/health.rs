//! Health beacons between the nodes of one log, and the memory guard they feed.
//!
//! Every node says every second who it is, how far it applied the log and how much of its
//! memory limit it holds ([`Beacon`], over a RabbitMQ fanout exchange next to the stream), and
//! keeps what the others said ([`PeerBoard`]). So site A's `/status` and `/metrics` show site
//! B's replica: alive, applied offset, lag.
//!
//! Every node applies every create, so one node running out of memory is everyone's problem:
//! the [`MemoryGuard`] of an API refuses new creates (503, with the reason) as soon as any live
//! node — itself or a peer, the replica included — holds more than its share of its limit,
//! before a kernel kills it. Nothing acknowledged is at risk: the refused create never reached
//! the log.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

use crate::log::Offset;
use crate::memory::ProcessMemory;

/// A peer not heard from for this long is reported dead.
pub const PEER_ALIVE_WITHIN: Duration = Duration::from_secs(3);

/// What a node says of itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Beacon {
    pub instance: String,
    pub role: String,
    pub site: String,
    /// The next offset it will apply: everything before it is applied.
    pub next_offset: Offset,
    pub bards: u64,
    pub memory: ProcessMemory,
}

impl Beacon {
    /// Whether this node holds more than `fraction` of its memory limit.
    fn over(&self, fraction: f64) -> bool {
        self.memory.limit.is_some() && self.memory.fraction_of_limit() >= fraction
    }

    fn memory_reason(&self, fraction: f64) -> String {
        let mib = |bytes: u64| bytes >> 20;
        format!(
            "memory: {} ({}) holds {} MiB of its {} MiB limit ({:.0} %); creates are refused from {:.0} % \
             so that no node is killed for lack of memory",
            self.instance,
            self.role,
            mib(self.memory.rss),
            mib(self.memory.limit.unwrap_or(0)),
            self.memory.fraction_of_limit() * 100.0,
            fraction * 100.0
        )
    }
}

/// What a node knows of a peer.
#[derive(Debug, Clone, Serialize)]
pub struct PeerReport {
    #[serde(flatten)]
    pub beacon: Beacon,
    pub alive: bool,
    pub seconds_since_heard: f64,
}

/// The latest beacon of every peer heard from.
#[derive(Default)]
pub struct PeerBoard {
    peers: RwLock<HashMap<String, (Beacon, Instant)>>,
}

impl PeerBoard {
    pub fn record(&self, beacon: Beacon) {
        self.peers.write().insert(beacon.instance.clone(), (beacon, Instant::now()));
    }

    /// Every peer heard from since this node started, by name.
    pub fn reports(&self) -> Vec<PeerReport> {
        let mut reports: Vec<PeerReport> = self
            .peers
            .read()
            .values()
            .map(|(beacon, heard)| PeerReport {
                beacon: beacon.clone(),
                alive: heard.elapsed() < PEER_ALIVE_WITHIN,
                seconds_since_heard: heard.elapsed().as_secs_f64(),
            })
            .collect();
        reports.sort_by(|a, b| a.beacon.instance.cmp(&b.beacon.instance));
        reports
    }
}

/// Whether creates are refused now, and why.
pub struct MemoryGuard {
    /// Refuse creates once a node holds this share of its memory limit.
    pub refuse_fraction: f64,
    refusal: RwLock<Option<String>>,
}

impl MemoryGuard {
    pub fn new(refuse_fraction: f64) -> MemoryGuard {
        MemoryGuard { refuse_fraction, refusal: RwLock::new(None) }
    }

    /// The reason creates are refused, if they are.
    pub fn refusal(&self) -> Option<String> {
        self.refusal.read().clone()
    }

    /// Decides from this node's own beacon and its live peers'.
    pub fn update(&self, own: &Beacon, peers: &PeerBoard) {
        let fraction = self.refuse_fraction;
        let live_peers = peers.reports().into_iter().filter(|peer| peer.alive).map(|peer| peer.beacon);
        let full = std::iter::once(own.clone()).chain(live_peers).find(|beacon| beacon.over(fraction));
        let refusal = full.map(|beacon| beacon.memory_reason(fraction));
        if refusal.is_some() != self.refusal.read().is_some() {
            match &refusal {
                Some(reason) => tracing::warn!(reason, "refusing creates"),
                None => tracing::info!("memory is back under the limit: taking creates again"),
            }
        }
        *self.refusal.write() = refusal;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn beacon(instance: &str, rss_mib: u64, limit_mib: Option<u64>) -> Beacon {
        Beacon {
            instance: instance.into(),
            role: "api".into(),
            site: "a".into(),
            next_offset: 7,
            bards: 3,
            memory: ProcessMemory {
                rss: rss_mib << 20,
                limit: limit_mib.map(|l| l << 20),
                cgroup_usage: None,
            },
        }
    }

    #[test]
    fn any_live_node_over_its_share_refuses_creates_everywhere() {
        let (guard, peers) = (MemoryGuard::new(0.9), PeerBoard::default());
        let own = beacon("api1", 500, Some(1100));
        guard.update(&own, &peers);
        assert_eq!(guard.refusal(), None);
        peers.record(beacon("replica", 1000, Some(1100)));
        guard.update(&own, &peers);
        let reason = guard.refusal().expect("the replica is at 91 %");
        assert!(reason.contains("replica") && reason.contains("1000 MiB of its 1100 MiB"), "{reason}");
        peers.record(beacon("replica", 600, Some(1100)));
        guard.update(&own, &peers);
        assert_eq!(guard.refusal(), None, "back under: creates again");
        guard.update(&beacon("api1", 5000, None), &peers);
        assert_eq!(guard.refusal(), None, "no limit, nothing to guard");
    }

    #[test]
    fn a_silent_peer_is_dead_and_does_not_refuse() {
        let (guard, peers) = (MemoryGuard::new(0.9), PeerBoard::default());
        peers.peers.write().insert(
            "replica".into(),
            (beacon("replica", 1090, Some(1100)), Instant::now() - PEER_ALIVE_WITHIN * 2),
        );
        guard.update(&beacon("api1", 10, Some(1100)), &peers);
        assert_eq!(guard.refusal(), None);
        assert!(!peers.reports()[0].alive);
    }
}
