//! `GET /api/health` (§11): public; superusers also see a few diagnostics.

use axum::Json;
use axum::extract::ConnectInfo;
use serde_json::{Value, json};

use crate::api::extract::Auth;

pub async fn health(
    auth: Auth,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
) -> Json<Value> {
    let data = match &auth.0 {
        Some(record) if record.is_superuser() => json!({
            "canBackup": true,
            "realIP": peer.ip().to_string(),
            "possibleProxyHeader": "",
        }),
        _ => json!({}),
    };
    Json(json!({"message": "API is healthy.", "code": 200, "data": data}))
}
