//! Scrape-time metrics from one `NodeReport`: the node's log, shards, index and restarts, and
//! the machine facts the `MachineSampler` sampled. An unavailable fact is not a made-up zero: it
//! is absent, and `bardo_machine_fact_unavailable{fact=...}` says so.

use std::sync::atomic::AtomicU64;

use bardo_actors::health::PeerReport;
use bardo_actors::NodeReport;
use bardo_machine::Fact;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use crate::state::Identity;

mod create_phases;
mod machine;

type Labels = Vec<(&'static str, String)>;

/// Registers one family per metric name, filled with this scrape's values.
struct Scrape<'a> {
    registry: &'a mut Registry,
    unavailable: Vec<&'static str>,
}

impl Scrape<'_> {
    fn gauges(&mut self, name: &str, help: &str, values: impl IntoIterator<Item = (Labels, f64)>) {
        let family = Family::<Labels, Gauge<f64, AtomicU64>>::default();
        for (labels, value) in values {
            family.get_or_create(&labels).set(value);
        }
        self.registry.register(name, help, family);
    }

    fn gauge(&mut self, name: &str, help: &str, value: f64) {
        self.gauges(name, help, [(vec![], value)]);
    }

    fn counters(&mut self, name: &str, help: &str, values: impl IntoIterator<Item = (Labels, u64)>) {
        let family = Family::<Labels, Counter>::default();
        for (labels, value) in values {
            family.get_or_create(&labels).inc_by(value);
        }
        self.registry.register(name, help, family);
    }

    fn counter(&mut self, name: &str, help: &str, value: u64) {
        self.counters(name, help, [(vec![], value)]);
    }

    /// A machine gauge from a fact: its value, or a note that it is unavailable.
    fn fact<T: Copy + Into<f64>>(&mut self, name: &str, help: &str, fact: &'static str, value: &Fact<T>) {
        match value.value() {
            Some(value) => self.gauge(name, help, (*value).into()),
            None => self.unavailable.push(fact),
        }
    }
}

/// Everything but the HTTP families.
pub fn register(registry: &mut Registry, identity: &Identity, report: &NodeReport) {
    let mut scrape = Scrape { registry, unavailable: vec![] };
    identity_metrics(&mut scrape, identity, report);
    log_metrics(&mut scrape, report);
    let shards = report
        .shard_bards
        .iter()
        .enumerate()
        .map(|(shard, bards)| (vec![("shard", shard.to_string())], *bards as f64));
    scrape.gauges("bardo_shard_bards", "Bards held by each shard", shards);
    health_metrics(&mut scrape, report);
    memory_metrics(&mut scrape, report);
    create_phases::create_phase_metrics(&mut scrape, &report.create_latency);
    let restarts =
        report.restarts.iter().map(|(actor, record)| (vec![("actor", (*actor).to_owned())], record.restarts));
    scrape.counters("bardo_actor_restarts", "Restarts of supervised actors after a failure", restarts);
    match &report.machine {
        Some(machine) => machine::machine_metrics(&mut scrape, machine),
        None => scrape.unavailable.push("machine (not sampled yet)"),
    }
    let unavailable = std::mem::take(&mut scrape.unavailable);
    let unavailable = unavailable.into_iter().map(|fact| (vec![("fact", fact.to_owned())], 1.0));
    scrape.gauges(
        "bardo_machine_fact_unavailable",
        "Machine facts with no measurement here (see /status)",
        unavailable,
    );
}

fn identity_metrics(scrape: &mut Scrape, identity: &Identity, report: &NodeReport) {
    let info = Info::new(vec![
        ("version", identity.version.to_owned()),
        ("git_commit", identity.git_commit.to_owned()),
        ("build_profile", identity.build_profile.to_owned()),
        ("site", identity.site.clone()),
    ]);
    scrape.registry.register("bardo_build", "Version, commit, build profile and site", info);
    scrape.gauge("bardo_uptime_seconds", "Seconds since the node started", report.uptime.as_secs_f64());
    let accepts = f64::from(u8::from(report.accepts_creates));
    scrape.gauge(
        "bardo_accepts_creates",
        "1 while this node takes creates (an API, or a promoted replica)",
        accepts,
    );
}

fn log_metrics(scrape: &mut Scrape, report: &NodeReport) {
    let log = &report.log;
    scrape.gauge("bardo_log_next_offset", "Offset of the next log record to apply", log.next_offset as f64);
    if let (Ok(end), Some(lag)) = (&log.end_offset, log.lag()) {
        scrape.gauge("bardo_log_end_offset", "Offset after the last record in the log", *end as f64);
        scrape.gauge("bardo_log_lag", "Records in the log not applied here yet", lag as f64);
    }
    scrape.counter("bardo_log_events_applied", "Events applied from the log", log.events_applied);
    let undecodable = log.undecodable_records;
    scrape.counter("bardo_log_undecodable_records", "Log records skipped as undecodable", undecodable);
    let publisher = &report.publisher;
    scrape.counter(
        "bardo_log_records_published",
        "Records confirmed by the log",
        publisher.records_published,
    );
    scrape.counter("bardo_log_events_published", "Events in confirmed records", publisher.events_published);
    scrape.counter(
        "bardo_log_publish_failures",
        "Appends that failed or timed out",
        publisher.publish_failures,
    );
    let counts = &report.counts;
    scrape.gauge("bardo_bards", "Bards readable on this node", counts.bards as f64);
    scrape.gauge("bardo_search_indexed_bards", "Bards searchable on this node", counts.searchable as f64);
    let pending = counts.pending_requests as f64;
    scrape.gauge("bardo_pending_requests", "Creates waiting for their event to be applied", pending);
}

/// The peers' beacons (site B's replica among them) and the memory guard.
fn health_metrics(scrape: &mut Scrape, report: &NodeReport) {
    let own_next = report.log.next_offset;
    let labels = |peer: &PeerReport| -> Labels {
        let beacon = &peer.beacon;
        vec![
            ("instance", beacon.instance.clone()),
            ("role", beacon.role.clone()),
            ("site", beacon.site.clone()),
        ]
    };
    let peers = &report.peers;
    let up = peers.iter().map(|p| (labels(p), f64::from(u8::from(p.alive))));
    scrape.gauges("bardo_peer_up", "1 while a peer's beacons arrive (site B's replica among them)", up);
    let next = peers.iter().map(|p| (labels(p), p.beacon.next_offset as f64));
    scrape.gauges("bardo_peer_next_offset", "The next log offset a peer will apply", next);
    let lag = peers.iter().map(|p| (labels(p), own_next.saturating_sub(p.beacon.next_offset) as f64));
    scrape.gauges("bardo_peer_lag_records", "Log records this node applied and a peer not yet", lag);
    let share = peers.iter().map(|p| (labels(p), p.beacon.memory.fraction_of_limit()));
    scrape.gauges("bardo_peer_memory_fraction", "A peer's RSS as a share of its memory limit", share);
    let refusing = f64::from(u8::from(report.memory_guard.refusing_creates));
    scrape.gauge(
        "bardo_memory_refusing_creates",
        "1 while creates are refused for memory (see /status)",
        refusing,
    );
}

/// Where this node's memory goes.
fn memory_metrics(scrape: &mut Scrape, report: &NodeReport) {
    let memory = &report.memory;
    scrape.gauge("bardo_memory_rss_bytes", "Resident memory of this process", memory.process.rss as f64);
    if let Some(limit) = memory.process.limit {
        scrape.gauge("bardo_memory_limit_bytes", "Memory limit of this process (its cgroup's)", limit as f64);
    }
    let view = &memory.view;
    let mut parts = vec![
        ("records", view.records_reserved as u64),
        ("id_tables", view.id_tables as u64),
        ("apelido_tables", view.apelido_tables as u64),
        ("order", view.order as u64),
    ];
    if let Some(index) = &memory.index {
        parts.extend([
            ("index_postings", index.postings),
            ("index_term_dictionary", index.term_dictionary),
            ("index_fast_fields", index.fast_fields),
            ("index_document_store", index.document_store),
            ("index_writer_arena", index.writer_arena),
        ]);
    }
    let parts = parts.into_iter().map(|(part, bytes)| (vec![("part", part.to_owned())], bytes as f64));
    scrape.gauges("bardo_memory_part_bytes", "Bytes held by each part of the state and the index", parts);
}
