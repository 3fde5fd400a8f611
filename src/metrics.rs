//! `GET /metrics`: Prometheus/OpenMetrics text through `prometheus-client`. The per-route
//! request families come from the middleware's `HttpMetrics`; everything else (log offsets and
//! lag, shards, index, restarts, the machine) is formatted from one `NodeReport`, so a scrape
//! costs no actor any work but one `ReportShard` per shard.

use bardo_actors::NodeReport;
use prometheus_client::registry::Registry;

use crate::http_metrics::HttpMetrics;
use crate::state::Identity;

mod node_metrics;

/// The OpenMetrics content type `prometheus-client` writes (Prometheus scrapes it natively).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The whole exposition for one scrape.
pub fn render(identity: &Identity, http: &HttpMetrics, report: &NodeReport) -> String {
    let labels =
        [("bardo_instance".into(), identity.instance.clone().into()), ("role".into(), identity.role.into())];
    let mut registry = Registry::with_labels(labels.into_iter());
    http.register(&mut registry);
    node_metrics::register(&mut registry, identity, report);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).expect("writing to a String cannot fail");
    text
}
