//! Errors across the JS boundary (§9.3): a thrown `ApiError` (or subclass) keeps its status,
//! message and data; a host failure maps as PocketBase's `ToApiError` (404 for "no rows",
//! else 400 generic); anything else is a 400 with the generic message, its text logged.
//! Engine errors thrown into JS become the `ApiError` subclass of their status.

use axum::http::StatusCode;
use rquickjs::{Ctx, Function, Object};
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::js::pool;

const GENERIC: &str = "Something went wrong while processing your request.";

/// The error a handler stopped by its deadline fails with.
pub fn timeout() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "The hook handler took too long to complete.",
    )
}

/// `err` (from calling into JS) as the API error it stands for.
pub fn from_js(ctx: &Ctx<'_>, err: rquickjs::Error) -> ApiError {
    if pool::interrupted() {
        return timeout();
    }
    if !matches!(err, rquickjs::Error::Exception) {
        tracing::warn!(target: "satchel::js", "hook failed: {err}");
        return ApiError::bad_request(GENERIC);
    }
    let thrown = ctx.catch();
    if let Some(exception) = thrown.as_exception()
        && exception.message().as_deref() == Some("out of memory")
    {
        pool::poison();
        tracing::error!(target: "satchel::js", "a hook ran out of memory");
        return ApiError::internal("a hook ran out of memory");
    }
    let described = (|| -> rquickjs::Result<Value> {
        let satchel: Object = ctx.globals().get("__satchel")?;
        let describe: Function = satchel.get("describeError")?;
        let info: rquickjs::Value = describe.call((thrown,))?;
        let text = ctx
            .json_stringify(info)?
            .map(|s| s.to_string())
            .transpose()?
            .unwrap_or_default();
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    })();
    let Ok(info) = described else {
        return ApiError::bad_request(GENERIC);
    };
    if let Some(log) = info.get("log").and_then(Value::as_str) {
        tracing::warn!(target: "satchel::js", "hook error: {log}");
    }
    let status = info
        .get("status")
        .and_then(Value::as_u64)
        .and_then(|s| StatusCode::from_u16(s as u16).ok())
        .unwrap_or(StatusCode::BAD_REQUEST);
    let message = info.get("message").and_then(Value::as_str).unwrap_or("");
    let data: Map<String, Value> = info
        .get("data")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    api_error(status, message).with_data(data)
}

/// PocketBase's constructors fall back to a default message per status.
fn api_error(status: StatusCode, message: &str) -> ApiError {
    if !message.trim().is_empty() {
        return ApiError::new(status, message);
    }
    let fallback = match status.as_u16() {
        400 | 500 => GENERIC,
        404 => "The requested resource wasn't found.",
        403 => "You are not allowed to perform this request.",
        401 => "Missing or invalid authentication.",
        // Other statuses fall back to their reason phrase (`I'm a teapot.`), as PocketBase's.
        _ => status.canonical_reason().unwrap_or(GENERIC),
    };
    ApiError::new(status, fallback)
}

/// Throws `err` into JS as the `ApiError` subclass of its status.
pub fn throw(ctx: &Ctx<'_>, err: &ApiError) -> rquickjs::Error {
    let made = (|| -> rquickjs::Result<rquickjs::Value<'_>> {
        let satchel: Object = ctx.globals().get("__satchel")?;
        let error_for: Function = satchel.get("errorFor")?;
        let data = ctx.json_parse(Value::Object(err.data.clone()).to_string())?;
        error_for.call((err.status.as_u16(), err.message.clone(), data))
    })();
    match made {
        Ok(value) => ctx.throw(value),
        Err(other) => other,
    }
}

/// Calls `f` with the global `$app` bound to `event.app` (PocketBase swaps it to the
/// event's app, e.g. a transaction, inside handlers), restoring it afterwards.
pub fn call_with_app<'js, R>(
    ctx: &Ctx<'js>,
    event: &Object<'js>,
    f: impl FnOnce() -> rquickjs::Result<R>,
) -> rquickjs::Result<R> {
    let globals = ctx.globals();
    let previous: rquickjs::Value = globals.get("$app")?;
    let bound: rquickjs::Value = event.get("app")?;
    globals.set("$app", bound)?;
    let result = f();
    globals.set("$app", previous)?;
    result
}
