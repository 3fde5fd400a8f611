//! `create_app()`: the whole HTTP surface, shared by `main` and the tests.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{web, App};
use bardo_actors::Node;
use serde::Serialize;

use crate::metrics::{record_request, HttpMetrics};
use crate::routes;

/// Canonical resource path first, then the aliases; each behaves identically.
pub const RESOURCE_PATHS: [&str; 3] = ["/bards", "/pessoas", "/BardAGI"];
/// Count paths, canonical first.
pub const COUNT_PATHS: [&str; 3] = ["/contagem-bards", "/contagem-pessoas", "/contagem-BardAGI"];

/// Who this process is, for `/status` and logs.
#[derive(Debug, Clone, Serialize)]
pub struct Identity {
    pub version: &'static str,
    pub git_commit: &'static str,
    pub build_profile: &'static str,
    pub instance: String,
    pub role: &'static str,
    pub site: String,
}

impl Identity {
    pub fn new(role: &'static str, instance: Option<String>, site: Option<String>) -> Self {
        Identity {
            version: env!("CARGO_PKG_VERSION"),
            git_commit: env!("BARDO_GIT_COMMIT"),
            build_profile: env!("BARDO_BUILD_PROFILE"),
            instance: instance.unwrap_or_else(host_name),
            role,
            site: site.unwrap_or_else(|| "unknown".into()),
        }
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// What every handler can reach: the node's handles, this process's identity, and the HTTP
/// metrics the middleware records.
pub struct AppState {
    pub node: Node,
    pub identity: Identity,
    pub http_metrics: HttpMetrics,
}

impl AppState {
    pub fn new(node: Node, identity: Identity) -> Self {
        AppState { node, identity, http_metrics: HttpMetrics::default() }
    }
}

pub fn create_app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let metrics = state.http_metrics.clone();
    let mut app = App::new()
        .app_data(state)
        .route("/status", web::get().to(routes::status))
        .route("/metrics", web::get().to(routes::metrics))
        .route("/internal/snapshot", web::get().to(routes::latest_snapshot));
    for path in COUNT_PATHS {
        app = app.route(path, web::get().to(routes::count_bards));
    }
    for path in RESOURCE_PATHS {
        app = app
            .service(
                web::resource([path.to_owned(), format!("{path}/")])
                    .route(web::post().to(routes::create_bard))
                    .route(web::get().to(routes::search_bards)),
            )
            .route(&format!("{path}/{{id}}"), web::get().to(routes::get_bard));
    }
    app.wrap(from_fn(move |request, next| record_request(metrics.clone(), request, next)))
}
