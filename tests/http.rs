//! Every endpoint and alias of SPEC.md through `actix_web::test` on `create_app()`.

mod common;

use std::time::{Duration, Instant};

use actix_web::http::{header, StatusCode};
use actix_web::test::{self, TestRequest};
use bardo::app::{COUNT_PATHS, RESOURCE_PATHS};
use bardo::create_app;
use common::{start_state, valid_body};
use serde_json::Value;

macro_rules! app {
    ($state:expr) => {
        test::init_service(create_app($state.clone())).await
    };
}

fn post(path: &str, body: impl Into<String>) -> actix_http::Request {
    let body: String = body.into();
    TestRequest::post()
        .uri(path)
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .set_payload(body)
        .to_request()
}

fn get(path: &str) -> actix_http::Request {
    TestRequest::get().uri(path).to_request()
}

#[actix_web::test]
async fn create_then_get_on_every_alias() {
    let state = start_state(4).await;
    let app = app!(state);
    for (n, prefix) in RESOURCE_PATHS.iter().enumerate() {
        let response = test::call_service(&app, post(prefix, valid_body(&format!("bard{n}")))).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{prefix}");
        let location = response.headers().get(header::LOCATION).unwrap().to_str().unwrap().to_owned();
        assert!(location.starts_with(&format!("{prefix}/")), "{location}");
        let created: Value = test::read_body_json(response).await;
        assert_eq!(created["apelido"], format!("bard{n}"));
        assert_eq!(created["stack"], serde_json::json!(["Rust", "Go"]));
        assert_eq!(location, format!("{prefix}/{}", created["id"].as_str().unwrap()));
        for other in RESOURCE_PATHS {
            let id = created["id"].as_str().unwrap();
            let response = test::call_service(&app, get(&format!("{other}/{id}"))).await;
            assert_eq!(response.status(), StatusCode::OK);
            let fetched: Value = test::read_body_json(response).await;
            assert_eq!(fetched, created);
        }
    }
}

#[actix_web::test]
async fn unknown_and_malformed_ids_are_404() {
    let state = start_state(2).await;
    let app = app!(state);
    for prefix in RESOURCE_PATHS {
        for id in ["abc", "123", "f7379ae8-8f9b-4cd5-8221-51efe19e721b", "%20"] {
            let response = test::call_service(&app, get(&format!("{prefix}/{id}"))).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{prefix}/{id}");
        }
    }
}

#[actix_web::test]
async fn validation_statuses_and_error_body() {
    let state = start_state(2).await;
    let app = app!(state);
    let cases = [
        (r#"{"apelido":"a","nome":1,"nascimento":"2000-01-01","stack":null}"#, 400, "nome"),
        (r#"{"apelido":"a","nome":"A","nascimento":"2000-01-01","stack":[1,"PHP"]}"#, 400, "stack"),
        (r#"{"apelido":null,"nome":"A","nascimento":"2000-01-01"}"#, 422, "apelido"),
        (r#"{"apelido":"a","nome":"A","nascimento":"2001-02-29"}"#, 400, "nascimento"),
        (r#"{"apelido":"a","nome":"A","nascimento":"12-12-2000"}"#, 400, "nascimento"),
        ("not json", 400, "body"),
        ("[]", 400, "body"),
    ];
    for prefix in RESOURCE_PATHS {
        for (body, status, field) in cases {
            let response = test::call_service(&app, post(prefix, body)).await;
            assert_eq!(response.status().as_u16(), status, "{prefix} {body}");
            assert_eq!(response.headers().get(header::CONTENT_TYPE).unwrap(), "application/json");
            let errors: Value = test::read_body_json(response).await;
            assert_eq!(errors["errors"][0]["field"], field, "{body}");
            assert!(errors["errors"][0]["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
    }
    let count = test::call_and_read_body(&app, get("/contagem-bards")).await;
    assert_eq!(count, "0", "rejected requests leave no trace");
}

#[actix_web::test]
async fn duplicate_apelido_is_422_and_stored_once() {
    let state = start_state(4).await;
    let app = app!(state);
    let first = test::call_service(&app, post("/bards", valid_body("dup"))).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    for prefix in RESOURCE_PATHS {
        let again = test::call_service(&app, post(prefix, valid_body("dup"))).await;
        assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let errors: Value = test::read_body_json(again).await;
        assert_eq!(errors["errors"][0]["field"], "apelido");
    }
    assert_eq!(test::call_and_read_body(&app, get("/contagem-pessoas")).await, "1");
}

#[actix_web::test]
async fn concurrent_creates_of_one_apelido_give_exactly_one_201() {
    let state = start_state(8).await;
    let app = app!(state);
    let requests = (0..40).map(|n| test::call_service(&app, post(RESOURCE_PATHS[n % 3], valid_body("same"))));
    let statuses: Vec<u16> =
        futures::future::join_all(requests).await.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 422).count(), 39);
}

#[actix_web::test]
async fn bodies_over_64_kib_are_413() {
    let state = start_state(2).await;
    let app = app!(state);
    let padding = "x".repeat(70 * 1024);
    let body = format!(r#"{{"apelido":"big","nome":"Big","nascimento":"2000-01-01","pad":"{padding}"}}"#);
    let response = test::call_service(&app, post("/bards", body)).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let response = test::call_service(&app, post("/bards", valid_body("small"))).await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[actix_web::test]
async fn count_is_plain_text_and_equal_on_every_alias() {
    let state = start_state(4).await;
    let app = app!(state);
    for n in 0..25 {
        let response = test::call_service(&app, post("/pessoas", valid_body(&format!("c{n}")))).await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    for path in COUNT_PATHS {
        let response = test::call_service(&app, get(path)).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response
            .headers()
            .get(header::CONTENT_TYPE)
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/plain"));
        assert_eq!(test::read_body(response).await, "25", "{path}");
    }
}

#[actix_web::test]
async fn search_on_every_alias_short_terms_accents_and_spaces() {
    let state = start_state(4).await;
    let app = app!(state);
    let body = r#"{"apelido":"josé","nome":"José Roberto","nascimento":"2000-10-01","stack":["C#","Node","Oracle"]}"#;
    assert_eq!(test::call_service(&app, post("/bards", body)).await.status(), StatusCode::CREATED);
    assert_eq!(
        test::call_service(&app, post("/bards", valid_body("ana"))).await.status(),
        StatusCode::CREATED
    );
    state.node.commit_search_now().await.unwrap();
    for prefix in RESOURCE_PATHS {
        for (term, expected) in [
            ("node", 1),
            ("berto", 1),
            ("jo", 1),
            ("c%23", 1),
            ("%C3%A9", 1),
            ("jos%C3%A9%20r", 1),
            ("jos%C3%A9+r", 1),
            ("NOME", 1),
            ("o", 2),
            ("python", 0),
        ] {
            let found: Value = test::call_and_read_body_json(&app, get(&format!("{prefix}?t={term}"))).await;
            assert_eq!(found.as_array().unwrap().len(), expected, "{prefix}?t={term}");
        }
        for query in ["", "?t=", "?q=node"] {
            let response = test::call_service(&app, get(&format!("{prefix}{query}"))).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{prefix}{query}");
        }
    }
}

#[actix_web::test]
async fn search_returns_at_most_50() {
    let state = start_state(4).await;
    let app = app!(state);
    for n in 0..60 {
        test::call_service(&app, post("/bards", valid_body(&format!("many{n}")))).await;
    }
    state.node.commit_search_now().await.unwrap();
    let found: Value = test::call_and_read_body_json(&app, get("/bards?t=many")).await;
    assert_eq!(found.as_array().unwrap().len(), 50);
}

#[actix_web::test]
async fn a_new_bard_is_searchable_within_one_second() {
    let state = start_state(4).await;
    let app = app!(state);
    let response = test::call_service(&app, post("/bards", valid_body("visivel"))).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let acknowledged = Instant::now();
    loop {
        let found: Value = test::call_and_read_body_json(&app, get("/bards?t=visivel")).await;
        if found.as_array().unwrap().len() == 1 {
            break;
        }
        assert!(acknowledged.elapsed() < Duration::from_secs(1), "not searchable after 1 s");
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
    println!("searchable {:?} after the 201", acknowledged.elapsed());
}

#[actix_web::test]
async fn status_reports_identity_log_and_machine() {
    let state = start_state(3).await;
    let app = app!(state);
    test::call_service(&app, post("/bards", valid_body("st"))).await;
    let status: Value = test::call_and_read_body_json(&app, get("/status")).await;
    assert_eq!(status["role"], "api");
    assert_eq!(status["instance"], "test");
    assert_eq!(status["site"], "test-site");
    assert_eq!(status["counts"]["bards"], 1);
    assert_eq!(status["counts"]["shards"], 3);
    assert_eq!(status["log"]["lag"], 0);
    assert!(status["digest"].as_str().unwrap().starts_with("1-"));
    assert!(status["version"].is_string() && status["machine"].is_object() || status["machine"].is_null());
}

/// Keys of a JSON object, sorted.
fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value.as_object().expect("an object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

/// `/status` field names are read by `ops/`, the drills and `replay --verify`: they stay put.
#[actix_web::test]
async fn status_field_names_are_stable() {
    let state = start_state(2).await;
    let app = app!(state);
    let status: Value = test::call_and_read_body_json(&app, get("/status")).await;
    let top = [
        "accepts_creates",
        "counts",
        "digest",
        "identity",
        "instance",
        "log",
        "machine",
        "memory",
        "memory_guard",
        "peers",
        "promoted",
        "replica",
        "restarts",
        "role",
        "site",
        "snapshot",
        "uptime_seconds",
        "version",
    ];
    assert_eq!(keys(&status), top);
    let counts =
        ["bards", "bards_created_by_log", "bards_in_shards", "pending_requests", "searchable", "shards"];
    assert_eq!(keys(&status["counts"]), counts);
    let log = [
        "applied_offset",
        "end_offset",
        "end_offset_error",
        "events_applied",
        "events_published",
        "kind",
        "lag",
        "next_offset",
        "publish_failures",
        "records_published",
        "undecodable_records",
    ];
    assert_eq!(keys(&status["log"]), log);
    assert_eq!(
        keys(&status["identity"]),
        ["build_profile", "git_commit", "instance", "role", "site", "version"]
    );
    let restart = ["last_failure", "last_restart_unix", "restarts"];
    for actor in ["log_reader", "publisher", "search_index", "shard", "supervisor"] {
        assert_eq!(keys(&status["restarts"][actor]), restart, "{actor}");
    }
    assert!(status["snapshot"].is_null(), "an api node takes no snapshots");
}
