//! Command line: one binary, three roles. Every option is also a `BARDO_*` variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use bardo_actors::log::BrokerUrls;
use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "bardo", version, about = "Event-sourced, in-RAM registry of bards")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// An API instance (the default): standalone on an embedded log unless BARDO_AMQP_URL is set.
    Serve(ServeArgs),
    /// The replica site: follows the log, serves reads only.
    Replica(ServeArgs),
    /// Rebuilds state from the event log and prints count, last offset and digest.
    Replay(ReplayArgs),
    /// Makes a running replica take creates (`POST /internal/promote`) and waits until its
    /// /status says so; prints its bards, next offset and digest.
    Promote(PromoteArgs),
}

/// Where and how an instance runs (SPEC's configuration table).
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// HTTP address to listen on.
    #[arg(long = "listen", alias = "bardo-listen", env = "BARDO_LISTEN", default_value = "0.0.0.0:9999")]
    pub listen: SocketAddr,
    /// RabbitMQ URL, or the URLs of one cluster's nodes separated by commas, the local site's
    /// first (the others are failed over to); unset means the embedded in-process log.
    #[arg(long = "amqp-url", alias = "bardo-amqp-url", env = "BARDO_AMQP_URL", value_parser = BrokerUrls::parse)]
    pub amqp_url: Option<BrokerUrls>,
    /// Stream name of the event log.
    #[arg(long = "stream", alias = "bardo-stream", env = "BARDO_STREAM", default_value = "bards.events")]
    pub stream: String,
    /// Instance name shown in /status and logs (default: the host name).
    #[arg(long = "instance", alias = "bardo-instance", env = "BARDO_INSTANCE")]
    pub instance: Option<String>,
    /// Site name (default: unknown).
    #[arg(long = "site", alias = "bardo-site", env = "BARDO_SITE")]
    pub site: Option<String>,
    /// Region (default: detected or unknown).
    #[arg(long = "region", alias = "bardo-region", env = "BARDO_REGION")]
    pub region: Option<String>,
    /// Zone (default: detected or unknown).
    #[arg(long = "zone", alias = "bardo-zone", env = "BARDO_ZONE")]
    pub zone: Option<String>,
    /// Number of shard actors (default: cores × 4).
    #[arg(long = "shards", alias = "bardo-shards", env = "BARDO_SHARDS")]
    pub shards: Option<usize>,
    /// HTTP worker threads (default: cores).
    #[arg(long = "workers", alias = "bardo-workers", env = "BARDO_WORKERS")]
    pub workers: Option<usize>,
    /// Group commit: at most one log record per this many milliseconds (0: whenever idle).
    /// Default: 10 on RabbitMQ (the broker's CPU is per message), 0 on the embedded log.
    #[arg(long = "record-interval-ms", env = "BARDO_RECORD_INTERVAL_MS")]
    pub record_interval_ms: Option<u64>,
    /// Search index commit interval in milliseconds: new bards become searchable at the next
    /// commit (SPEC: within 1 s). Each commit makes a segment that tantivy later merges.
    #[arg(long = "search-commit-ms", env = "BARDO_SEARCH_COMMIT_MS", default_value_t = 100)]
    pub search_commit_ms: u64,
    /// Bootstrap from a snapshot plus the log's tail: `/internal/snapshot` URLs, comma
    /// separated, tried in order (the first that answers and covers the retained log wins).
    #[arg(
        long = "snapshot-url",
        alias = "bardo-snapshot-url",
        env = "BARDO_SNAPSHOT_URL",
        value_delimiter = ','
    )]
    pub snapshot_url: Vec<String>,
    /// Log retention: the broker keeps at most this many bytes of the stream it creates
    /// (`x-max-length-bytes`; older segments go, snapshots cover them). 0 keeps everything.
    #[arg(long = "stream-max-bytes", env = "BARDO_STREAM_MAX_BYTES", default_value_t = 128 << 20)]
    pub stream_max_bytes: u64,
    /// Size of the stream's segments, the unit retention removes (`x-stream-max-segment-size-bytes`).
    #[arg(long = "stream-segment-bytes", env = "BARDO_STREAM_SEGMENT_BYTES", default_value_t = 8 << 20)]
    pub stream_segment_bytes: u64,
    /// Nodes of the RabbitMQ cluster a stream this node creates is replicated on, its leader
    /// included (`x-initial-cluster-size`). Unset: the broker's default (every node).
    #[arg(long = "stream-initial-replicas", env = "BARDO_STREAM_INITIAL_REPLICAS")]
    pub stream_initial_replicas: Option<u16>,
    /// Refuse creates (503) once any live node holds this percentage of its memory limit.
    #[arg(long = "memory-refuse-percent", env = "BARDO_MEMORY_REFUSE_PERCENT", default_value_t = 90)]
    pub memory_refuse_percent: u32,
    /// This node's memory limit in bytes, instead of its cgroup's (default: the cgroup's).
    #[arg(long = "memory-limit-bytes", env = "BARDO_MEMORY_LIMIT_BYTES")]
    pub memory_limit_bytes: Option<u64>,
    /// Replica: snapshot after this many applied events...
    #[arg(long = "snapshot-every-events", env = "BARDO_SNAPSHOT_EVERY_EVENTS", default_value_t = 50_000)]
    pub snapshot_every_events: u64,
    /// ...or after this many seconds, whichever comes first (only when something changed).
    #[arg(long = "snapshot-every-seconds", env = "BARDO_SNAPSHOT_EVERY_SECONDS", default_value_t = 30)]
    pub snapshot_every_seconds: u64,
}

#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// RabbitMQ URL of the log to replay, or several nodes' URLs separated by commas.
    #[arg(long = "amqp-url", env = "BARDO_AMQP_URL")]
    pub amqp_url: Option<String>,
    /// Stream name of the event log.
    #[arg(long = "stream", env = "BARDO_STREAM", default_value = "bards.events")]
    pub stream: String,
    /// Compare count and digest with a running instance's /status.
    #[arg(long)]
    pub verify: Option<String>,
    /// Write the events into an empty broker (disaster recovery).
    #[arg(long)]
    pub republish: Option<String>,
    /// Start from a snapshot file (a saved `/internal/snapshot`) instead of the first event:
    /// needed once retention has removed the log's head.
    #[arg(long, conflicts_with = "snapshot_url")]
    pub snapshot: Option<PathBuf>,
    /// Start from a running instance's snapshot (`http://host:9999/internal/snapshot`).
    #[arg(long = "snapshot-url")]
    pub snapshot_url: Option<String>,
    /// Stream name at the --republish broker (default: the same as --stream).
    #[arg(long = "republish-stream", requires = "republish")]
    pub republish_stream: Option<String>,
    /// Print the result as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Seconds to wait for the broker or the --verify instance before giving up.
    #[arg(long = "connect-timeout", default_value_t = 5)]
    pub connect_timeout: u64,
    /// Seconds without progress (no record read, no answer to an end probe or /status)
    /// before giving up.
    #[arg(long = "stall-timeout", default_value_t = 30)]
    pub stall_timeout: u64,
}

#[derive(Debug, Clone, Args)]
pub struct PromoteArgs {
    /// The node to promote: its base URL (`http://host:9999`).
    #[arg(long = "node", env = "BARDO_PROMOTE_NODE")]
    pub node: String,
    /// Seconds to wait for the node to answer and to report that it accepts creates.
    #[arg(long = "timeout", env = "BARDO_PROMOTE_TIMEOUT", default_value_t = 30)]
    pub timeout: u64,
    /// Print the summary as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}
