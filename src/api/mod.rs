//! The REST face: PocketBase's HTTP API on axum. One file per resource; this module merges
//! their routes in reading order and wraps them in the cross-cutting layers.
//!
//! Routes (all under `/api`):
//! - `GET /health`
//! - `GET|POST /collections`, `PUT /collections/import`, `GET /collections/meta/scaffolds`,
//!   `GET|PATCH|DELETE /collections/{c}`, `DELETE /collections/{c}/truncate`
//! - `GET|POST /collections/{c}/records`, `GET|PATCH|DELETE /collections/{c}/records/{id}`
//! - `GET /collections/{c}/auth-methods`, `POST /collections/{c}/auth-with-password`,
//!   `POST /collections/{c}/auth-refresh`, `POST /collections/{c}/impersonate/{id}`
//! - `POST /collections/{c}/request-otp`, `POST /collections/{c}/auth-with-otp`
//! - `POST /collections/{c}/request-verification|confirm-verification|request-password-reset|
//!   confirm-password-reset|request-email-change|confirm-email-change`
//! - `GET|PATCH /settings`, `POST /settings/test/email`
//! - `POST /batch`
//! - `POST /files/token`, `GET /files/{c}/{recordId}/{filename}`
//! - `GET /crons`, `POST /crons/{id}`
//! - `GET /metrics` (Satchel: Prometheus text, superusers)
//! - `POST /installer` (Satchel: the first superuser, with the installer token)
//!
//! And the admin dashboard: `GET /_/…` (`dashboard`).
//!
//! Anything else: `GET` goes to `pb_public` (404 `File not found.`), other methods get 404.

pub mod auth;
pub mod auth_mail;
pub mod batch;
pub mod collections;
pub mod crons;
pub mod dashboard;
pub mod expand;
pub mod extract;
pub mod fields;
pub mod files;
pub mod health;
pub mod installer;
pub mod list;
pub mod metrics;
pub mod middleware;
pub mod otp;
pub mod public;
pub mod ratelimit;
pub mod realtime;
pub mod record_body;
pub mod records;
pub mod rules;
pub mod serve_content;
pub mod settings;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::routing::{delete, get, post, put};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;

use crate::app::App;
use crate::js::Js;

/// PocketBase's default request body limit (§1.4).
pub const BODY_LIMIT: usize = 32 << 20;

/// The `pb_public` directory (`--publicDir`) and `--indexFallback`.
#[derive(Clone, Debug)]
pub struct Public {
    /// `None` when the directory does not exist.
    pub dir: Option<PathBuf>,
    pub index_fallback: bool,
}

/// What the HTTP face needs beyond the engine.
#[derive(Clone)]
pub struct HttpConfig {
    pub public: Public,
    /// `--origins` (default `*`).
    pub origins: Vec<String>,
    /// The hooks runtime, when there are hook files or pages (`routerAdd` routes, pages).
    pub js: Option<Arc<Js>>,
}

/// The whole HTTP application.
pub fn router(app: App, http: HttpConfig) -> Router {
    realtime::bind(&app);
    let public = http.public.clone();
    let cors = middleware::Cors::new(http.origins);
    let routed = Router::new()
        .route("/api/health", get(health::health))
        .route(
            "/api/collections",
            get(collections::list).post(collections::create),
        )
        .route("/api/collections/import", put(collections::import))
        .route(
            "/api/collections/meta/scaffolds",
            get(collections::scaffolds),
        )
        .route(
            "/api/collections/{collection}",
            get(collections::view)
                .patch(collections::update)
                .delete(collections::delete),
        )
        .route(
            "/api/collections/{collection}/truncate",
            delete(collections::truncate),
        )
        .route(
            "/api/collections/{collection}/auth-methods",
            get(auth::auth_methods),
        )
        .route(
            "/api/collections/{collection}/auth-with-password",
            post(auth::auth_with_password),
        )
        .route(
            "/api/collections/{collection}/impersonate/{id}",
            post(auth::impersonate),
        )
        .route(
            "/api/collections/{collection}/request-otp",
            post(otp::request_otp),
        )
        .route(
            "/api/collections/{collection}/auth-with-otp",
            post(otp::auth_with_otp),
        )
        .route(
            "/api/collections/{collection}/request-verification",
            post(auth_mail::request_verification),
        )
        .route(
            "/api/collections/{collection}/confirm-verification",
            post(auth_mail::confirm_verification),
        )
        .route(
            "/api/collections/{collection}/request-password-reset",
            post(auth_mail::request_password_reset),
        )
        .route(
            "/api/collections/{collection}/confirm-password-reset",
            post(auth_mail::confirm_password_reset),
        )
        .route(
            "/api/collections/{collection}/request-email-change",
            post(auth_mail::request_email_change),
        )
        .route(
            "/api/collections/{collection}/confirm-email-change",
            post(auth_mail::confirm_email_change),
        )
        .route(
            "/api/collections/{collection}/records",
            get(records::list).post(records::create),
        )
        .route(
            "/api/collections/{collection}/records/{id}",
            get(records::view)
                .patch(records::update)
                .delete(records::delete),
        )
        .route(
            "/api/collections/{collection}/auth-refresh",
            post(auth::auth_refresh),
        )
        .route("/api/settings", get(settings::list).patch(settings::update))
        .route("/api/settings/test/email", post(settings::test_email))
        .route("/api/batch", post(batch::batch))
        .route("/api/files/token", post(files::token))
        .route(
            "/api/files/{collection}/{record_id}/{filename}",
            get(files::download),
        )
        .route(
            "/api/realtime",
            get(realtime::connect).post(realtime::subscribe),
        )
        .route("/api/metrics", get(metrics::metrics))
        .route("/api/crons", get(crons::list))
        .route("/api/crons/{id}", post(crons::run))
        .route("/api/installer", post(installer::install))
        .route("/_", get(dashboard::redirect))
        .route("/_/", get(dashboard::index))
        .route("/_/{*path}", get(dashboard::asset))
        .method_not_allowed_fallback(middleware::not_found)
        .fallback(move |req: Request| public::serve(public.clone(), req))
        .with_state(app.clone());
    // JS routes (`routerAdd`) are matched before the REST routes, inside every layer.
    let routed = match http.js.clone() {
        Some(js) => routed.layer(axum::middleware::from_fn_with_state(
            js,
            crate::js::routes::dispatch,
        )),
        None => routed,
    };
    // The cross-cutting layers wrap the routed app once, outermost first. (`Router::layer`
    // would wrap every route, and each layer clones its boxed inner route per request.)
    let layered = ServiceBuilder::new()
        .layer(axum::middleware::from_fn_with_state(cors, middleware::edge))
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(app, middleware::guard))
        .service(routed);
    let router = Router::new().fallback_service(layered);
    if let Some(js) = &http.js {
        js.set_router(router.clone());
    }
    router
}
