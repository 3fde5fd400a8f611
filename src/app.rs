//! `create_app()`: the route table, the whole HTTP surface, shared by `serve` and the tests.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{web, App};

use crate::http_metrics::record_request;
use crate::routes;
use crate::state::AppState;

/// Canonical resource path first, then the aliases; each behaves identically.
pub const RESOURCE_PATHS: [&str; 3] = ["/bards", "/pessoas", "/BardAGI"];
/// Count paths, canonical first.
pub const COUNT_PATHS: [&str; 3] = ["/contagem-bards", "/contagem-pessoas", "/contagem-BardAGI"];

/// The route table over `state`; every request is timed and counted in `state.http_metrics`.
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
        .route("/internal/snapshot", web::get().to(routes::latest_snapshot))
        .route("/internal/promote", web::post().to(routes::promote));
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
