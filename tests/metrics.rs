//! `GET /metrics` is valid Prometheus exposition (parsed with `prometheus-parse`, not matched
//! as strings) and carries per-route counts and latencies, log, shard, index and restart facts.

mod common;

use std::collections::HashMap;

use actix_web::http::{header, StatusCode};
use actix_web::test::{self, TestRequest};
use bardo::create_app;
use common::{start_state, valid_body};
use openmetrics_parser::{MetricsExposition, OpenMetricsType, OpenMetricsValue, Sample};

type Exposition = MetricsExposition<OpenMetricsType, OpenMetricsValue>;

/// Samples of `family` whose labels include every `wanted` pair.
fn find<'a>(
    exposition: &'a Exposition,
    family: &str,
    wanted: &[(&str, &str)],
) -> Vec<&'a Sample<OpenMetricsValue>> {
    let Some(family) = exposition.families.get(family) else {
        return vec![];
    };
    let matches = |sample: &&Sample<OpenMetricsValue>| {
        let labels = sample.get_labelset().expect("labels");
        wanted.iter().all(|(name, value)| labels.get_label_value(name) == Some(*value))
    };
    family.iter_samples().filter(matches).collect()
}

fn label(sample: &Sample<OpenMetricsValue>, name: &str) -> String {
    sample.get_labelset().unwrap().get_label_value(name).unwrap().to_owned()
}

fn number(sample: &Sample<OpenMetricsValue>) -> f64 {
    match &sample.value {
        OpenMetricsValue::Unknown(n) | OpenMetricsValue::Gauge(n) => n.as_f64(),
        OpenMetricsValue::Counter(counter) => counter.value.as_f64(),
        other => panic!("not a single number: {other:?}"),
    }
}

fn sum(exposition: &Exposition, family: &str, wanted: &[(&str, &str)]) -> f64 {
    find(exposition, family, wanted).iter().map(|sample| number(sample)).sum()
}

async fn scrape(
    app: &impl actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
    >,
) -> Exposition {
    let response = test::call_service(app, TestRequest::get().uri("/metrics").to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers().get(header::CONTENT_TYPE).unwrap().to_str().unwrap().to_owned();
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    let body = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
    openmetrics_parser::openmetrics::parse_openmetrics(&body).unwrap_or_else(|e| panic!("{e:?} in:\n{body}"))
}

#[actix_web::test]
async fn metrics_parse_and_count_each_route_with_its_pattern() {
    let state = start_state(3).await;
    let app = test::init_service(create_app(state.clone())).await;
    let created = TestRequest::post()
        .uri("/bards")
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .set_payload(valid_body("metrica"))
        .to_request();
    let response = test::call_service(&app, created).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers().get(header::LOCATION).unwrap().to_str().unwrap().to_owned();
    for path in [location.as_str(), location.as_str(), "/bards?t=metr", "/nowhere"] {
        test::call_service(&app, TestRequest::get().uri(path).to_request()).await;
    }
    let scrape = scrape(&app).await;

    let count = |wanted: &[(&str, &str)]| sum(&scrape, "bardo_http_requests", wanted);
    assert_eq!(count(&[("method", "POST"), ("route", "/bards"), ("status", "201")]), 1.0);
    assert_eq!(
        count(&[("method", "GET"), ("route", "/bards/{id}"), ("status", "200")]),
        2.0,
        "pattern, not raw path"
    );
    assert_eq!(count(&[("method", "GET"), ("route", "/bards"), ("status", "200")]), 1.0);
    assert_eq!(count(&[("route", "unmatched"), ("status", "404")]), 1.0);
    assert!(find(&scrape, "bardo_http_requests", &[("route", location.as_str())]).is_empty());

    let histograms = find(&scrape, "bardo_http_request_duration_seconds", &[("route", "/bards/{id}")]);
    let OpenMetricsValue::Histogram(histogram) =
        &histograms.first().expect("a latency histogram per route").value
    else {
        panic!("not a histogram");
    };
    assert_eq!(histogram.count, Some(2), "both GETs timed");
    assert!(histogram.buckets.len() >= 16, "{} buckets", histogram.buckets.len());
    assert!(histogram.sum.as_ref().unwrap().as_f64() > 0.0);
}

#[actix_web::test]
async fn metrics_carry_log_shard_index_restart_and_machine_facts() {
    let state = start_state(3).await;
    let app = test::init_service(create_app(state.clone())).await;
    for apelido in ["um", "dois", "tres", "quatro"] {
        let request = TestRequest::post()
            .uri("/pessoas")
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .set_payload(valid_body(apelido))
            .to_request();
        assert_eq!(test::call_service(&app, request).await.status(), StatusCode::CREATED);
    }
    let sampled = std::time::Instant::now();
    while state.node.report().await.unwrap().machine.is_none() {
        assert!(sampled.elapsed() < std::time::Duration::from_secs(10), "the machine was never sampled");
        actix::clock::sleep(std::time::Duration::from_millis(20)).await;
    }
    let scrape = scrape(&app).await;
    let value = |family: &str| sum(&scrape, family, &[]);
    assert_eq!(value("bardo_shard_bards"), 4.0, "shard sizes add up to the bards");
    assert_eq!(find(&scrape, "bardo_shard_bards", &[]).len(), 3, "one series per shard");
    assert_eq!(value("bardo_bards"), 4.0);
    assert!(value("bardo_log_next_offset") >= 4.0);
    assert_eq!(value("bardo_log_lag"), 0.0);
    assert_eq!(value("bardo_log_events_published"), 4.0);
    let restarts: HashMap<String, f64> = find(&scrape, "bardo_actor_restarts", &[])
        .iter()
        .map(|sample| (label(sample, "actor"), number(sample)))
        .collect();
    for actor in ["shard", "search_index", "log_reader", "publisher", "supervisor"] {
        assert_eq!(restarts.get(actor), Some(&0.0), "{actor} in {restarts:?}");
    }
    assert!(value("bardo_memory_total_bytes") > 0.0, "procfs is always there");
    assert!(value("bardo_process_resident_memory_bytes") > 0.0);
    assert_eq!(find(&scrape, "bardo_cloud_info", &[]).len(), 1);
    for sample in find(&scrape, "bardo_machine_fact_unavailable", &[]) {
        assert!(!label(sample, "fact").is_empty());
    }
    assert_eq!(find(&scrape, "bardo_build", &[("build_profile", env!("BARDO_BUILD_PROFILE"))]).len(), 1);
    assert_eq!(
        find(&scrape, "bardo_uptime_seconds", &[("bardo_instance", "test"), ("role", "api")]).len(),
        1
    );
}

#[actix_web::test]
async fn metrics_break_each_create_down_into_its_phases() {
    let state = start_state(3).await;
    let app = test::init_service(create_app(state.clone())).await;
    for (apelido, body) in [("fases", valid_body("fases")), ("ruim", "{\"apelido\": 1}".to_owned())] {
        let request = TestRequest::post()
            .uri("/bards")
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .set_payload(body)
            .to_request();
        let status = test::call_service(&app, request).await.status();
        assert!(status.is_success() == (apelido == "fases"), "{apelido}: {status}");
    }
    let scrape = scrape(&app).await;
    for phase in ["validate", "queued", "confirm", "apply", "wake", "total"] {
        let samples = find(&scrape, "bardo_create_phase_seconds", &[("phase", phase)]);
        let OpenMetricsValue::Histogram(histogram) = &samples.first().expect("a histogram per phase").value
        else {
            panic!("{phase}: not a histogram");
        };
        assert_eq!(histogram.count, Some(1), "{phase}: the one valid create, not the invalid one");
        assert_eq!(histogram.buckets.len(), 16, "{phase}: 15 bounds and +Inf");
    }
}
