//! `bardo serve` and `bardo replica`: open the log, bootstrap (snapshot + tail), wait until
//! caught up, then listen.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, HttpServer};
use anyhow::Context as _;
use bardo_actors::actors::log_reader::{OnLogGap, SEGMENT_START_OFFSETS};
use bardo_actors::actors::BeaconIdentity;
use bardo_actors::actors::SnapshotPolicy;
use bardo_actors::log::BeaconAddress;
use bardo_actors::log::{
    EmbeddedLog, EventLog, LogError, Offset, RabbitMqLog, StreamAddress, StreamRetention,
};
use bardo_actors::snapshot::SnapshotFeed;
use bardo_actors::{HealthConfig, Node, NodeConfig, Role};

use crate::app::create_app;
use crate::cli::ServeArgs;
use crate::state::{AppState, Identity};

/// The longest a starting node waits to apply the existing log before giving up.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(600);
/// Group commit pacing on RabbitMQ: measured 0.45 → 0.15 broker cores at 600 creates/s.
const BROKER_RECORD_INTERVAL_MS: u64 = 10;
/// Bounded waits for the snapshot source: to connect, and for each read of its body.
const SNAPSHOT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const SNAPSHOT_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Builds the node configuration from the command line / environment.
pub fn node_config(args: &ServeArgs, role: Role) -> NodeConfig {
    let mut config = NodeConfig { role, ..NodeConfig::default() };
    if let Some(shards) = args.shards {
        config.shards = shards.max(1);
    }
    // Every node marks snapshots (a mark copies nothing): an API can bootstrap a replica too.
    config.snapshots = Some(SnapshotPolicy {
        every_events: args.snapshot_every_events.max(1),
        every: Duration::from_secs(args.snapshot_every_seconds.max(1)),
    });
    let default_interval = if args.amqp_url.is_some() { BROKER_RECORD_INTERVAL_MS } else { 0 };
    config.record_interval = Duration::from_millis(args.record_interval_ms.unwrap_or(default_interval));
    config.search_commit_interval = Duration::from_millis(args.search_commit_ms.clamp(1, 1000));
    // A process that finds a hole in the log restarts itself from a snapshot that covers it.
    config.on_log_gap = OnLogGap::RestartProcess;
    config.machine.region = args.region.clone();
    config.machine.zone = args.zone.clone();
    config
}

/// Beacons beside the stream (none on the embedded log), and when the memory guard refuses.
pub fn health_config(args: &ServeArgs, identity: &Identity) -> HealthConfig {
    let beacons = args.amqp_url.as_ref().map(|urls| BeaconAddress {
        urls: urls.clone(),
        exchange: format!("{}.health", args.stream),
        instance: identity.instance.clone(),
    });
    HealthConfig {
        identity: BeaconIdentity {
            instance: identity.instance.clone(),
            role: identity.role.into(),
            site: identity.site.clone(),
        },
        beacons,
        refuse_fraction: f64::from(args.memory_refuse_percent.clamp(1, 100)) / 100.0,
        memory_limit: args.memory_limit_bytes,
    }
}

/// Picks the event log: the embedded one unless a broker URL is configured.
pub async fn open_log(args: &ServeArgs) -> anyhow::Result<Arc<dyn EventLog>> {
    let Some(urls) = &args.amqp_url else {
        return Ok(Arc::new(EmbeddedLog::default()));
    };
    let retention = StreamRetention {
        max_bytes: (args.stream_max_bytes > 0).then_some(args.stream_max_bytes),
        segment_bytes: (args.stream_segment_bytes > 0).then_some(args.stream_segment_bytes),
    };
    let address = StreamAddress {
        urls: urls.clone(),
        stream: args.stream.clone(),
        retention,
        initial_replicas: args.stream_initial_replicas,
    };
    let log = RabbitMqLog::connect(address).await.with_context(|| {
        format!("connecting to the event log stream {:?} at {}", args.stream, urls.redacted())
    })?;
    Ok(log)
}

/// Opens a snapshot stream: the header is read here, the bards are decoded while they arrive
/// (never the whole snapshot in memory at once).
pub async fn fetch_snapshot(url: &str) -> anyhow::Result<SnapshotFeed> {
    let url = url.to_owned();
    let feed = web::block(move || -> anyhow::Result<SnapshotFeed> {
        // A deadline per read, not for the whole body: the download goes at the pace of apply.
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(SNAPSHOT_CONNECT_TIMEOUT)
            .timeout_read(SNAPSHOT_READ_TIMEOUT)
            .build();
        let response = agent.get(&url).call()?;
        Ok(SnapshotFeed::start(response.into_reader())?)
    })
    .await??;
    Ok(feed)
}

/// How long an idle HTTP connection stays open (see `run`).
const UPSTREAM_KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(75);

/// The snapshot to start from: the first source that answers with one covering the retained
/// log. The log is the source of truth: without a snapshot (a fresh stream's replica answers
/// 404, a source is down, a snapshot does not decode) this node applies the log from its first
/// record, which is only complete while retention has removed nothing.
pub async fn bootstrap_snapshot(urls: &[String], log: &dyn EventLog) -> anyhow::Result<Option<SnapshotFeed>> {
    let first_retained = first_offset_patiently(log).await.context("asking the log where it starts")?;
    for url in urls {
        match fetch_snapshot(url).await {
            Ok(feed) if covers(feed.header.next_offset, first_retained) => return Ok(Some(feed)),
            Ok(feed) => tracing::warn!(
                url,
                snapshot_offset = feed.header.next_offset,
                first_retained,
                "this snapshot is older than the retained log; trying the next source"
            ),
            Err(error) if is_not_found(&error) => tracing::info!(url, "no snapshot yet at this source"),
            Err(error) => tracing::warn!(url, error = format!("{error:#}"), "snapshot source unusable"),
        }
    }
    from_the_first_record(first_retained)
}

/// How long a starting node keeps asking a log that is not ready yet where it starts.
const FIRST_OFFSET_PATIENCE: Duration = Duration::from_secs(30);

/// The log's first offset, asked again while the log answers "unavailable": a stream another
/// instance declared a moment ago may still be starting its members (a consume then fails with
/// an internal error; seen when four APIs started together on three brokers).
async fn first_offset_patiently(log: &dyn EventLog) -> Result<Offset, LogError> {
    let deadline = tokio::time::Instant::now() + FIRST_OFFSET_PATIENCE;
    loop {
        match log.first_offset().await {
            Err(error @ LogError::Unavailable(_)) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(%error, "the log is not ready yet; asking again where it starts");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            other => return other,
        }
    }
}

/// Whether a log read from `next` misses nothing when it now starts at `first_retained` (a
/// segment's first offset carries no record, so one past `next` is still whole).
pub fn covers(next: Offset, first_retained: Offset) -> bool {
    first_retained <= next + SEGMENT_START_OFFSETS
}

fn from_the_first_record(first_retained: Offset) -> anyhow::Result<Option<SnapshotFeed>> {
    anyhow::ensure!(
        first_retained == 0,
        "the log now starts at offset {first_retained} (retention removed the records before it) and \
         no snapshot source answered with a snapshot at or after that offset: refusing to start \
         with an incomplete state (set BARDO_SNAPSHOT_URL to a live replica's or API's \
         /internal/snapshot)"
    );
    tracing::info!("no snapshot; applying the log from its first record");
    Ok(None)
}

fn is_not_found(error: &anyhow::Error) -> bool {
    matches!(error.downcast_ref::<ureq::Error>(), Some(ureq::Error::Status(404, _)))
}

/// Starts a node in `role` and serves HTTP once it caught up with the log.
pub async fn run(args: ServeArgs, role: Role) -> anyhow::Result<()> {
    let log = open_log(&args).await?;
    let bootstrap = bootstrap_snapshot(&args.snapshot_url, &*log).await?;
    let identity = Identity::new(role.name(), args.instance.clone(), args.site.clone());
    let mut config = node_config(&args, role);
    config.health = health_config(&args, &identity);
    let node = Node::start(Arc::clone(&log), config, bootstrap).await.context("starting the node")?;
    // A node answers nothing until it applied everything logged before it started.
    node.caught_up(CATCH_UP_TIMEOUT).await.context("catching up with the event log")?;
    let bards = node.report().await.context("reading the node's report")?.counts.bards;
    tracing::info!(listen = %args.listen, instance = %identity.instance, role = role.name(),
        log = %log.describe(), bards, "bardo serving");
    let state = web::Data::new(AppState::new(node, identity));
    let workers = args.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    HttpServer::new(move || create_app(state.clone()))
        .workers(workers.max(1))
        // Longer than nginx's upstream keepalive_timeout (30 s): nginx always closes an idle
        // kept-alive connection first. With actix's 5 s default, nginx sometimes sent a POST on
        // a connection actix was closing, and answered 502 (seen under load in the native cluster).
        .keep_alive(UPSTREAM_KEEP_ALIVE)
        .backlog(4096)
        .bind(args.listen)
        .with_context(|| format!("binding {}", args.listen))?
        .run()
        .await
        .context("HTTP server")
}
