//! The `/status` document: this process's `Identity` and one `NodeReport`, serialised. The
//! field names are a contract (`ops/`, the drills, `replay --verify` and `check_promises.py`
//! read them): `tests/http.rs` pins them.

use bardo_actors::health::PeerReport;
use bardo_actors::log::Offset;
use bardo_actors::supervision::RestartRecord;
use bardo_actors::{
    Counts, GuardReport, LogReport, MemoryReport, NodeReport, PublisherReport, ReplicaReport, SnapshotReport,
};
use bardo_machine::MachineSnapshot;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::state::Identity;

#[derive(Serialize)]
pub struct StatusDocument<'a> {
    identity: &'a Identity,
    version: &'a str,
    instance: &'a str,
    role: &'a str,
    /// Takes creates: an API, or a replica since `POST /internal/promote`.
    accepts_creates: bool,
    /// A replica promoted to take creates.
    promoted: bool,
    site: &'a str,
    uptime_seconds: f64,
    counts: &'a Counts,
    digest: String,
    log: LogDocument<'a>,
    snapshot: Option<&'a SnapshotReport>,
    memory: &'a MemoryReport,
    memory_guard: &'a GuardReport,
    /// Site B's replica as this node hears it; `{"seen": false}` until its first beacon.
    replica: ReplicaDocument<'a>,
    peers: &'a [PeerReport],
    restarts: &'a BTreeMap<&'static str, RestartRecord>,
    machine: Option<&'a MachineSnapshot>,
}

#[derive(Serialize)]
struct ReplicaDocument<'a> {
    seen: bool,
    #[serde(flatten)]
    replica: Option<&'a ReplicaReport>,
}

/// The log as it is read here, with the publisher's side of it.
#[derive(Serialize)]
struct LogDocument<'a> {
    #[serde(flatten)]
    log: &'a LogReport,
    applied_offset: Option<Offset>,
    end_offset: Option<Offset>,
    lag: Option<u64>,
    end_offset_error: Option<String>,
    #[serde(flatten)]
    publisher: &'a PublisherReport,
}

pub fn document<'a>(identity: &'a Identity, report: &'a NodeReport) -> StatusDocument<'a> {
    let log = &report.log;
    StatusDocument {
        identity,
        version: identity.version,
        instance: &identity.instance,
        role: identity.role,
        accepts_creates: report.accepts_creates,
        promoted: report.promoted,
        site: &identity.site,
        uptime_seconds: report.uptime.as_secs_f64(),
        counts: &report.counts,
        digest: report.digest.to_string(),
        log: LogDocument {
            log,
            applied_offset: log.applied_offset(),
            end_offset: log.end_offset.as_ref().ok().copied(),
            lag: log.lag(),
            end_offset_error: log.end_offset.as_ref().err().map(ToString::to_string),
            publisher: &report.publisher,
        },
        snapshot: report.snapshot.as_ref(),
        memory: &report.memory,
        memory_guard: &report.memory_guard,
        replica: ReplicaDocument { seen: report.replica.is_some(), replica: report.replica.as_ref() },
        peers: &report.peers,
        restarts: &report.restarts,
        machine: report.machine.as_ref(),
    }
}

/// The answer to `POST /internal/promote` (read back by `bardo promote`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromotionAnswer {
    /// Whether this request changed the node (false on an API, or when already promoted).
    pub promoted: bool,
    pub accepts_creates: bool,
    pub bards: usize,
    pub next_offset: Offset,
    pub digest: String,
}

pub fn promotion(promoted: bool, report: &NodeReport) -> PromotionAnswer {
    PromotionAnswer {
        promoted,
        accepts_creates: report.accepts_creates,
        bards: report.counts.bards,
        next_offset: report.log.next_offset,
        digest: report.digest.to_string(),
    }
}
