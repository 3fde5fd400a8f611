//! `bardo serve`: start a node, wait until it caught up with the log, then listen.

use std::sync::Arc;

use actix_web::{web, HttpServer};
use anyhow::Context as _;
use bardo_actors::log::{EmbeddedLog, EventLog, RabbitMqLog, StreamAddress};
use bardo_actors::{Node, NodeConfig};

use crate::app::{create_app, AppState, Identity};
use crate::cli::ServeArgs;

/// The longest a starting node waits to apply the existing log before giving up.
const CATCH_UP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

/// Builds the node configuration from the command line / environment.
pub fn node_config(args: &ServeArgs) -> NodeConfig {
    let mut config = NodeConfig::default();
    if let Some(shards) = args.shards {
        config.shards = shards.max(1);
    }
    config.machine.region = args.region.clone();
    config.machine.zone = args.zone.clone();
    config
}

/// Picks the event log: the embedded one unless a broker URL is configured.
pub async fn open_log(args: &ServeArgs) -> anyhow::Result<Arc<dyn EventLog>> {
    let Some(url) = &args.amqp_url else {
        return Ok(Arc::new(EmbeddedLog::default()));
    };
    let address = StreamAddress {
        url: url.clone(),
        stream: args.stream.clone(),
    };
    let log = RabbitMqLog::connect(address)
        .await
        .with_context(|| format!("connecting to the event log stream {:?}", args.stream))?;
    Ok(log)
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let log = open_log(&args).await?;
    let node = Node::start(Arc::clone(&log), node_config(&args)).context("starting the node")?;
    // A node answers nothing until it applied everything logged before it started.
    node.caught_up(CATCH_UP_TIMEOUT)
        .await
        .context("catching up with the event log")?;
    let identity = Identity::new("api", args.instance.clone(), args.site.clone());
    tracing::info!(listen = %args.listen, instance = %identity.instance, log = %log.describe(), "bardo serving");
    let state = web::Data::new(AppState { node, identity });
    let workers = args
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    HttpServer::new(move || create_app(state.clone()))
        .workers(workers.max(1))
        .backlog(4096)
        .bind(args.listen)
        .with_context(|| format!("binding {}", args.listen))?
        .run()
        .await
        .context("HTTP server")
}
