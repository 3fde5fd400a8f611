//! `POST /internal/promote`: a replica (embedded log) refuses creates until promoted, then
//! takes them like an API; promoting again changes nothing; `/status` tells which.

mod common;

use std::sync::Arc;

use actix_web::http::{header, StatusCode};
use actix_web::test::{self, TestRequest};
use actix_web::web;
use bardo::{create_app, AppState, Identity};
use bardo_actors::log::EmbeddedLog;
use bardo_actors::{Node, NodeConfig, Role};
use common::valid_body;
use serde_json::Value;

async fn start_replica() -> web::Data<AppState> {
    let config = NodeConfig { role: Role::Replica, shards: 2, ..NodeConfig::default() };
    let node = Node::start(Arc::new(EmbeddedLog::default()), config, None).await.expect("node starts");
    let identity = Identity::new("replica", Some("replica".into()), Some("site-b".into()));
    web::Data::new(AppState::new(node, identity))
}

fn create(apelido: &str) -> actix_http::Request {
    TestRequest::post()
        .uri("/bards")
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .set_payload(valid_body(apelido))
        .to_request()
}

fn promote() -> actix_http::Request {
    TestRequest::post().uri("/internal/promote").to_request()
}

#[actix_web::test]
async fn a_promoted_replica_takes_creates() {
    let state = start_replica().await;
    let app = test::init_service(create_app(state.clone())).await;
    let refused = test::call_service(&app, create("before")).await;
    assert_eq!(refused.status(), StatusCode::METHOD_NOT_ALLOWED);
    let status: Value =
        test::call_and_read_body_json(&app, TestRequest::get().uri("/status").to_request()).await;
    assert_eq!(
        (status["accepts_creates"].as_bool(), status["promoted"].as_bool()),
        (Some(false), Some(false))
    );

    let answer: Value = test::call_and_read_body_json(&app, promote()).await;
    assert_eq!(answer["promoted"], true);
    assert_eq!(answer["accepts_creates"], true);
    assert_eq!(answer["bards"], 0);
    assert!(answer["next_offset"].is_u64() && answer["digest"].is_string(), "{answer}");

    let created = test::call_service(&app, create("after")).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created.headers().get(header::LOCATION).unwrap().to_str().unwrap().to_owned();
    let fetched = test::call_service(&app, TestRequest::get().uri(&location).to_request()).await;
    assert_eq!(fetched.status(), StatusCode::OK);
    let fetched: Value = test::read_body_json(fetched).await;
    assert_eq!(fetched["apelido"], "after");
    let count = test::call_and_read_body(&app, TestRequest::get().uri("/contagem-bards").to_request()).await;
    assert_eq!(count, "1");

    let again: Value = test::call_and_read_body_json(&app, promote()).await;
    assert_eq!((again["promoted"].as_bool(), again["accepts_creates"].as_bool()), (Some(false), Some(true)));
    assert_eq!(again["bards"], 1);
    let status: Value =
        test::call_and_read_body_json(&app, TestRequest::get().uri("/status").to_request()).await;
    assert_eq!((status["accepts_creates"].as_bool(), status["promoted"].as_bool()), (Some(true), Some(true)));
    assert_eq!(status["role"], "replica", "the role it started in stays");
    assert_eq!(status["digest"], again["digest"]);
}

#[actix_web::test]
async fn promoting_an_api_is_a_no_op() {
    let state = common::start_state(2).await;
    let app = test::init_service(create_app(state.clone())).await;
    let answer: Value = test::call_and_read_body_json(&app, promote()).await;
    assert_eq!(
        (answer["promoted"].as_bool(), answer["accepts_creates"].as_bool()),
        (Some(false), Some(true))
    );
    let status: Value =
        test::call_and_read_body_json(&app, TestRequest::get().uri("/status").to_request()).await;
    assert_eq!(
        (status["accepts_creates"].as_bool(), status["promoted"].as_bool()),
        (Some(true), Some(false))
    );
}
