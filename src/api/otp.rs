//! `POST /api/collections/{c}/request-otp` and `/auth-with-otp` (§6): the HTTP face of
//! `auth::otp`. A failed `auth-with-otp` also tells the client how many attempts it has
//! left (`X-OTP-Attempts-Left`, a Satchel addition; the body is PocketBase's).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::api::auth::{Login, auth_collection, read_body};
use crate::api::extract::{Body, ClientIp, Path, Query};
use crate::app::App;
use crate::auth::otp;
use crate::error::ApiError;

/// The auth collection `{c}` with OTP on; otherwise 403, before the body is read (§6).
fn otp_collection(
    app: &App,
    id_or_name: &str,
) -> Result<Arc<crate::core::collection::Collection>, ApiError> {
    let collection = auth_collection(app, id_or_name)?;
    if !collection.auth.as_ref().is_some_and(|a| a.otp.enabled) {
        return Err(ApiError::forbidden(
            "The collection is not configured to allow OTP authentication.",
        ));
    }
    Ok(collection)
}

pub async fn request_otp(
    State(app): State<App>,
    Path(collection): Path<String>,
    body: Result<Body, ApiError>,
) -> Result<Json<Value>, ApiError> {
    let collection = otp_collection(&app, &collection)?;
    let body = read_body(body)?;
    let requested = otp::request_otp(&app, &collection, &body).await?;
    let mut answer = Map::new();
    answer.insert("otpId".into(), json!(requested.otp_id));
    if let Some(phrase) = requested.phrase {
        answer.insert("phrase".into(), json!(phrase));
    }
    Ok(Json(Value::Object(answer)))
}

pub async fn auth_with_otp(
    State(app): State<App>,
    Path(collection): Path<String>,
    ClientIp(ip): ClientIp,
    query: Query,
    headers: HeaderMap,
    body: Result<Body, ApiError>,
) -> Result<Response, ApiError> {
    let collection = otp_collection(&app, &collection)?;
    let body = read_body(body)?;
    let record = match otp::auth_with_otp(&app, &collection, &body, &ip).await {
        Ok(record) => record,
        Err(failed) => {
            let mut response = failed.error.into_response();
            if let Some(left) = failed.attempts_left {
                let headers = response.headers_mut();
                headers.insert("x-otp-attempts-left", HeaderValue::from(left));
                // So that pages on other origins can read it too.
                headers.insert(
                    "access-control-expose-headers",
                    HeaderValue::from_static("X-OTP-Attempts-Left"),
                );
            }
            return Ok(response);
        }
    };
    Login::first_factor(collection, record, "otp", &query, &headers, &body, ip)
        .finish(&app)
        .await
}
