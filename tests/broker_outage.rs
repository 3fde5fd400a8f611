//! Promise 4 under a broker outage: while RabbitMQ is stopped, creates answer 503 quickly (no
//! hang, no 500); when it is back, the instances recover by themselves, resume from the right
//! offset, and every acknowledged bard is there on both instances, counted once.
//! Stops and starts the shared broker: it lives alone in this test binary.

mod common;

use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

use actix_web::http::{header, StatusCode};
use actix_web::test::{self, TestRequest};
use bardo::create_app;
use bardo_actors::Role;
use common::cluster::{connect, fresh_stream, start_instance, wait_until_applied};
use common::valid_body;

/// Starts the broker's application again even if the test fails half-way.
struct BrokerRestart;

impl Drop for BrokerRestart {
    fn drop(&mut self) {
        rabbitmqctl("start_app");
    }
}

fn rabbitmqctl(action: &str) {
    let status = Command::new("rabbitmqctl").args(["-q", action]).status().expect("rabbitmqctl runs");
    assert!(status.success(), "rabbitmqctl {action} failed");
}

#[derive(Default)]
struct Ledger {
    created: Vec<String>,
    statuses: HashMap<u16, usize>,
    slowest_503: Duration,
}

#[actix_web::test]
async fn broker_outage_sheds_with_503_and_loses_nothing() {
    let stream = fresh_stream("outage");
    let api1 = start_instance(&stream, "api1", Role::Api, None).await;
    let api2 = start_instance(&stream, "api2", Role::Api, None).await;
    let apps = [
        test::init_service(create_app(api1.clone())).await,
        test::init_service(create_app(api2.clone())).await,
    ];
    let _restart = BrokerRestart;
    let mut ledger = Ledger::default();
    let started = Instant::now();
    let mut stopped_at: Option<Instant> = None;
    let mut restarted_at = None;
    let mut n = 0usize;
    // Load before, during and after the outage: stop at 1 s, start 3 s after the broker is down
    // (counted from when `stop_app` returns: it took from under 1 s to 5.5 s here), end 3 s after
    // recovery.
    while restarted_at.is_none_or(|at: Instant| at.elapsed() < Duration::from_secs(3)) {
        if stopped_at.is_none() && started.elapsed() > Duration::from_secs(1) {
            actix_web::rt::task::spawn_blocking(|| rabbitmqctl("stop_app")).await.unwrap();
            stopped_at = Some(Instant::now());
        }
        let down_long_enough = stopped_at.is_some_and(|at| at.elapsed() > Duration::from_secs(3));
        if down_long_enough && restarted_at.is_none() {
            actix_web::rt::task::spawn_blocking(|| rabbitmqctl("start_app")).await.unwrap();
            restarted_at = Some(Instant::now());
        }
        create_one(&apps[n % 2], n, &mut ledger).await;
        n += 1;
        assert!(started.elapsed() < Duration::from_secs(90), "traffic did not recover");
    }
    verify(&ledger, &api1, &api2, &apps).await;
    connect(&stream).await.delete_stream().await.unwrap();
}

async fn create_one<S, B>(app: &S, n: usize, ledger: &mut Ledger)
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let request = TestRequest::post().uri("/bards").set_payload(valid_body(&format!("out{n}"))).to_request();
    let sent = Instant::now();
    let response = test::call_service(app, request).await;
    let status = response.status();
    *ledger.statuses.entry(status.as_u16()).or_default() += 1;
    match status {
        StatusCode::CREATED => {
            ledger
                .created
                .push(response.headers().get(header::LOCATION).unwrap().to_str().unwrap().to_owned());
        }
        StatusCode::SERVICE_UNAVAILABLE => {
            assert!(response.headers().contains_key(header::RETRY_AFTER));
            ledger.slowest_503 = ledger.slowest_503.max(sent.elapsed());
            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        }
        other => panic!("unexpected status {other} during the outage drill"),
    }
}

async fn verify<S, B>(
    ledger: &Ledger,
    api1: &actix_web::web::Data<bardo::AppState>,
    api2: &actix_web::web::Data<bardo::AppState>,
    apps: &[S; 2],
) where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    println!("statuses {:?}, slowest 503 {:?}", ledger.statuses, ledger.slowest_503);
    assert!(ledger.statuses.get(&503).copied().unwrap_or(0) > 0, "the outage produced no 503");
    assert!(ledger.slowest_503 <= Duration::from_millis(2500), "a 503 took {:?}", ledger.slowest_503);
    api1.node.count().await.unwrap(); // passes a log barrier: every acknowledged create is applied
    wait_until_applied(&api2.node, api1.node.next_offset()).await;
    for app in apps {
        for location in &ledger.created {
            let response = test::call_service(app, TestRequest::get().uri(location).to_request()).await;
            assert_eq!(response.status(), StatusCode::OK, "acknowledged {location} lost");
        }
        let count =
            test::call_and_read_body(app, TestRequest::get().uri("/contagem-bards").to_request()).await;
        assert_eq!(count, ledger.created.len().to_string(), "count must equal the 201s");
    }
    assert_eq!(api1.node.report().await.unwrap().digest, api2.node.report().await.unwrap().digest);
}
