//! The one table from errors to HTTP answers. Every error body has the SPEC's shape:
//! `{"errors":[{"field":"...","message":"..."}]}`.

use actix_web::error::PayloadError;
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use bardo_actors::search::SearchError;
use bardo_actors::validation::{FieldProblem, Rejection, RejectionKind};
use bardo_actors::NodeError;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Invalid(#[from] Rejection),
    #[error("request body larger than {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("request body could not be read: {0}")]
    BodyUnreadable(#[source] PayloadError),
    #[error("no bard with id {0:?}")]
    NotFound(String),
    #[error("query parameter t is required and must not be empty")]
    MissingSearchTerm,
    #[error(transparent)]
    Node(#[from] NodeError),
    #[error("search failed: {0}")]
    Search(#[from] SearchError),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    errors: &'a [FieldProblem],
}

impl ApiError {
    fn problems(&self) -> Vec<FieldProblem> {
        let one = |field: &str| vec![FieldProblem { field: field.into(), message: self.to_string() }];
        match self {
            ApiError::Invalid(rejection) => rejection.problems.clone(),
            ApiError::BodyTooLarge { .. } | ApiError::BodyUnreadable(_) => one("body"),
            ApiError::NotFound(_) => one("id"),
            ApiError::MissingSearchTerm => one("t"),
            ApiError::Node(NodeError::ApelidoTaken(_)) => one("apelido"),
            ApiError::Node(_) | ApiError::Search(_) => one("service"),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Invalid(Rejection { kind: RejectionKind::Malformed, .. }) => StatusCode::BAD_REQUEST,
            ApiError::Invalid(Rejection { kind: RejectionKind::Unprocessable, .. }) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BodyUnreadable(_) | ApiError::MissingSearchTerm => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Node(NodeError::ApelidoTaken(_)) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Node(NodeError::ReadOnly) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Node(
                NodeError::LogUnavailable(_) | NodeError::ApplyTimeout(_) | NodeError::MemoryFull(_),
            ) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Node(NodeError::ActorStopped(_)) | ApiError::Search(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let mut response = HttpResponse::build(status);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // Memory does not come back in a second: ask full clients to wait longer.
            let after = if matches!(self, ApiError::Node(NodeError::MemoryFull(_))) { "30" } else { "1" };
            response.insert_header((header::RETRY_AFTER, after));
        }
        if status == StatusCode::METHOD_NOT_ALLOWED {
            response.insert_header((header::ALLOW, "GET"));
        }
        if status.is_server_error() {
            tracing::warn!(error = %self, "request failed");
        }
        response.json(ErrorBody { errors: &self.problems() })
    }
}
