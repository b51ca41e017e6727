//! `GET /api/crons` and `POST /api/crons/{id}` (§11, superusers): the registered jobs in
//! PocketBase's order, and running one now (204 without waiting for it to finish).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::api::extract::{Auth, Path};
use crate::app::App;
use crate::error::ApiError;

pub async fn list(State(app): State<App>, auth: Auth) -> Result<Json<Value>, ApiError> {
    auth.require_superuser()?;
    let jobs: Vec<Value> = app
        .crons()
        .list()
        .into_iter()
        .map(|(id, expression)| json!({"id": id, "expression": expression}))
        .collect();
    Ok(Json(Value::Array(jobs)))
}

pub async fn run(
    State(app): State<App>,
    Path(id): Path<String>,
    auth: Auth,
) -> Result<StatusCode, ApiError> {
    auth.require_superuser()?;
    if app.crons().run_detached(&id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("Missing or invalid cron job."))
    }
}
