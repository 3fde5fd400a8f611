//! The tournament's own payloads (first 54,640 lines, what a full run consumes) through the
//! real app, concurrently; the statuses and the final count must equal what an independent
//! implementation of the SPEC rules (`ops/bench/payload_ceiling.py`) computes from the file.

mod common;

use std::collections::HashMap;
use std::process::Command;

use actix_web::test::{self, TestRequest};
use bardo::create_app;
use common::{shared_dir, start_state};
use futures::StreamExt;
use serde_json::Value;

const LINES: usize = 54_640;
const IN_FLIGHT: usize = 64;

fn independent_expectation() -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/ops/bench/payload_ceiling.py");
    let payloads = shared_dir().join("rinha-2023-q3/pessoas-payloads.tsv");
    let output = Command::new("python3")
        .args([script, payloads.to_str().unwrap(), "--lines", &LINES.to_string()])
        .output()
        .expect("python3 runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("the script prints JSON")
}

#[actix_web::test]
async fn tournament_payloads_give_the_independently_computed_counts() {
    let text = std::fs::read_to_string(shared_dir().join("rinha-2023-q3/pessoas-payloads.tsv")).unwrap();
    let bodies: Vec<String> = text.lines().skip(1).take(LINES).map(str::to_owned).collect();
    assert_eq!(bodies.len(), LINES);
    let state = start_state(8).await;
    let app = test::init_service(create_app(state.clone())).await;
    let app = &app;
    let statuses = futures::stream::iter(bodies)
        .map(|body| async move {
            let request = TestRequest::post().uri("/pessoas").set_payload(body).to_request();
            test::call_service(app, request).await.status().as_u16()
        })
        .buffer_unordered(IN_FLIGHT)
        .collect::<Vec<u16>>()
        .await;
    let mut counted: HashMap<u16, u64> = HashMap::new();
    for status in statuses {
        *counted.entry(status).or_default() += 1;
    }
    let count = test::call_and_read_body(app, TestRequest::get().uri("/contagem-pessoas").to_request()).await;
    let expected = independent_expectation();
    println!("statuses {counted:?}, count {count:?}, independent {expected}");
    assert_eq!(counted.get(&201).copied().unwrap_or(0), expected["created"].as_u64().unwrap());
    assert_eq!(counted.get(&422).copied().unwrap_or(0), expected["unprocessable_422"].as_u64().unwrap());
    assert_eq!(counted.get(&400).copied().unwrap_or(0), expected["bad_request_400"].as_u64().unwrap());
    assert_eq!(counted.len(), 3, "only 201, 422 and 400 are expected: {counted:?}");
    assert_eq!(String::from_utf8(count.to_vec()).unwrap(), expected["created"].to_string());
}
