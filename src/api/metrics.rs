//! `GET /api/metrics` (Satchel): the engine's counters in Prometheus' text format, for
//! superusers.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::api::extract::Auth;
use crate::app::App;
use crate::error::ApiError;

pub async fn metrics(State(app): State<App>, auth: Auth) -> Result<Response, ApiError> {
    auth.require_superuser()?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.metrics().render(),
    )
        .into_response())
}
