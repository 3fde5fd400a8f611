//! HTTP handlers: thin translations between requests and node operations.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use bardo_actors::search::MAX_RESULTS;
use bardo_actors::snapshot::SnapshotEncoder;
use bardo_actors::validation::parse_new_bard;
use futures::StreamExt;
use serde::Deserialize;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// Largest create body accepted; larger ones get 413 without being read into memory.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// `POST /bards` (and aliases): validate, create log-first, answer 201 with `Location`.
pub async fn create_bard(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let started = std::time::Instant::now();
    let body = read_body(&request, payload, MAX_BODY_BYTES).await?;
    let new = parse_new_bard(&body)?;
    state.node.time_validation(started.elapsed());
    let bard = state.node.create(new).await?;
    let location = format!("{}/{}", request.path().trim_end_matches('/'), bard.id);
    Ok(HttpResponse::Created().insert_header((header::LOCATION, location)).json(&*bard))
}

/// Reads at most `limit` bytes: a declared length over it is refused before reading, and a
/// chunked body is cut off as soon as it passes the limit.
async fn read_body(
    request: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::BytesMut, ApiError> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(ApiError::BodyTooLarge { limit });
    }
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(512).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(ApiError::BodyUnreadable)?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::BodyTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `GET /bards/{id}`: 404 for unknown and malformed ids alike.
pub async fn get_bard(id: web::Path<String>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let Ok(uuid) = Uuid::parse_str(&id) else {
        return Err(ApiError::NotFound(id.into_inner()));
    };
    match state.node.get(&uuid).await? {
        Some(bard) => Ok(HttpResponse::Ok().json(&bard)),
        None => Err(ApiError::NotFound(id.into_inner())),
    }
}

#[derive(Deserialize)]
pub struct SearchQuery {
    t: Option<String>,
}

/// `GET /bards?t=`: at most 50 bards whose apelido, nome or stack contains `t`.
pub async fn search_bards(
    request: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let query = web::Query::<SearchQuery>::from_query(request.query_string())
        .map_err(|_| ApiError::MissingSearchTerm)?;
    let term = query.into_inner().t.filter(|term| !term.is_empty()).ok_or(ApiError::MissingSearchTerm)?;
    let found = state.node.search(&term, MAX_RESULTS)?;
    Ok(HttpResponse::Ok().json(found))
}

/// `GET /contagem-bards`: the exact number of bards, as plain text.
pub async fn count_bards(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let count = state.node.count().await?;
    Ok(HttpResponse::Ok().content_type("text/plain; charset=utf-8").body(count.to_string()))
}

/// `GET /status`: who this process is, how far it applied the log, and the machine it runs on.
pub async fn status(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let report = state.node.report().await?;
    Ok(HttpResponse::Ok().json(crate::status::document(&state.identity, &report)))
}

/// `GET /metrics`: Prometheus/OpenMetrics text.
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let report = state.node.report().await?;
    let text = crate::metrics::render(&state.identity, &state.http_metrics, &report);
    Ok(HttpResponse::Ok().content_type(crate::metrics::CONTENT_TYPE).body(text))
}

/// `GET /internal/snapshot`: the latest snapshot (MessagePack, streamed) for bootstrapping a
/// new instance. Internal: nginx does not route it.
pub async fn latest_snapshot(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let encoder = state.node.latest_snapshot().ok_or_else(|| ApiError::NotFound("snapshot".into()))?;
    let mark = encoder.mark();
    Ok(HttpResponse::Ok()
        .content_type("application/x-msgpack")
        .insert_header(("x-bardo-snapshot-offset", mark.next_offset.to_string()))
        .insert_header(("x-bardo-snapshot-bards", mark.bards.to_string()))
        .streaming(encoded_off_the_workers(encoder)))
}

/// `POST /internal/promote`: a replica takes creates from now on (its site became the
/// serving one); a no-op on a node that already does. Internal: nginx does not route it.
pub async fn promote(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let promoted = state.node.promote();
    let report = state.node.report().await?;
    Ok(HttpResponse::Ok().json(crate::status::promotion(promoted, &report)))
}

/// Chunks encoded ahead of the socket.
const SNAPSHOT_CHUNKS_AHEAD: usize = 4;

/// Encodes on a thread of its own: a million-bard snapshot never holds an HTTP worker.
fn encoded_off_the_workers(
    encoder: SnapshotEncoder,
) -> impl futures::Stream<Item = Result<bytes::Bytes, std::convert::Infallible>> {
    let (sender, mut receiver) = tokio::sync::mpsc::channel(SNAPSHOT_CHUNKS_AHEAD);
    std::thread::spawn(move || {
        for chunk in encoder {
            if sender.blocking_send(bytes::Bytes::from(chunk)).is_err() {
                return; // the client went away
            }
        }
    });
    futures::stream::poll_fn(move |context| receiver.poll_recv(context).map(|chunk| chunk.map(Ok)))
}
