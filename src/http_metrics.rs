//! Per-route request counts and latency histograms, recorded by a middleware on every request
//! and exposed by `GET /metrics` (`crate::metrics`). A leaf: it knows nothing of the app.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: &'static str,
    /// The matched route pattern (`/bards/{id}`), never the raw path: bounded cardinality.
    pub route: String,
    pub status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: &'static str,
    pub route: String,
}

/// Latency buckets: 50 µs doubling to ≈ 1.6 s (16 buckets), then +Inf.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
}

/// Request counters and latency histograms, shared by every HTTP worker.
#[derive(Clone)]
pub struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        HttpMetrics {
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
        }
    }
}

impl HttpMetrics {
    fn observe(&self, method: &'static str, route: String, status: u16, seconds: f64) {
        self.requests.get_or_create(&RequestLabels { method, route: route.clone(), status }).inc();
        self.latency.get_or_create(&RouteLabels { method, route }).observe(seconds);
    }

    /// Adds both families to this scrape's registry.
    pub fn register(&self, registry: &mut Registry) {
        registry.register("bardo_http_requests", "HTTP requests answered", self.requests.clone());
        let help = "HTTP request latency until the response head, in seconds";
        registry.register("bardo_http_request_duration_seconds", help, self.latency.clone());
    }
}

/// Known methods by name; anything else is "other" (bounded cardinality).
fn method_label(method: &actix_web::http::Method) -> &'static str {
    const KNOWN: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"];
    KNOWN.into_iter().find(|known| *known == method.as_str()).unwrap_or("other")
}

/// The middleware: times every request and counts it under its route pattern.
pub async fn record_request(
    metrics: HttpMetrics,
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = method_label(request.method());
    let response = next.call(request).await?;
    let route = response.request().match_pattern().unwrap_or_else(|| "unmatched".into());
    let seconds = started.elapsed().as_secs_f64();
    metrics.observe(method, route, response.status().as_u16(), seconds);
    Ok(response)
}
