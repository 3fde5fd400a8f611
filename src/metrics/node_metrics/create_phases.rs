//! `bardo_create_phase_seconds{phase=...}`: the create path's phase histograms
//! (`bardo_actors::latency`), exported as Prometheus histograms from the report's snapshot.

use std::sync::OnceLock;

use bardo_actors::latency::HistogramSnapshot;
use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::{MetricType, TypedMetric};

use super::{Labels, Scrape};

/// One phase's histogram as read for this scrape (set once, right after the family makes it).
#[derive(Debug, Default)]
struct PhaseHistogram(OnceLock<HistogramSnapshot>);

impl TypedMetric for PhaseHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for PhaseHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let Some(snapshot) = self.0.get() else { return Ok(()) };
        // Per-bucket counts, the last one +Inf (the encoder accumulates them).
        let bounds = bardo_actors::latency::BUCKET_BOUNDS.iter().copied().chain([f64::MAX]);
        let buckets: Vec<(f64, u64)> = bounds.zip(snapshot.bucket_counts.iter().copied()).collect();
        encoder.encode_histogram::<NoLabelSet>(snapshot.sum_seconds, snapshot.count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

pub(super) fn create_phase_metrics(scrape: &mut Scrape, phases: &[(&'static str, HistogramSnapshot)]) {
    let family = Family::<Labels, PhaseHistogram>::default();
    for (phase, snapshot) in phases {
        let labels: Labels = vec![("phase", (*phase).to_owned())];
        let _ = family.get_or_create(&labels).0.set(snapshot.clone());
    }
    let help = "Where a create's time goes on this node, by phase (validate, queued, confirm, apply, \
                wake; total is all but validate), in seconds";
    scrape.registry.register("bardo_create_phase_seconds", help, family);
}
