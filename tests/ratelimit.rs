//! The rate limiter (§7) through HTTP: each label kind, audiences, superusers exempt,
//! counters reset when the settings are saved, PocketBase's 429 envelope.

mod common;

use common::TestServer;
use serde_json::json;

const LIMITED: &str = r#"{"data":{},"message":"Too Many Requests.","status":429}"#;

async fn limits(server: &TestServer, admin: &str, rules: serde_json::Value) {
    let body = json!({"rateLimits": {"enabled": true, "rules": rules}}).to_string();
    let res = server.patch("/api/settings", Some(admin), &body).await;
    assert_eq!(res.status, 200, "{}", res.body);
}

#[tokio::test]
async fn tag_rules_limit_otp_requests_but_not_superusers() {
    let server = TestServer::start().await;
    let admin = server.superuser_token().await;
    server
        .patch_collection(&admin, "users", json!({"otp": {"enabled": true}}))
        .await;
    limits(
        &server,
        &admin,
        json!([{"label": "*:requestOTP", "maxRequests": 2, "duration": 60}]),
    )
    .await;
    let body = r#"{"email":"x@example.com"}"#;
    for _ in 0..2 {
        assert_eq!(
            server
                .post("/api/collections/users/request-otp", None, body)
                .await
                .status,
            200
        );
    }
    let third = server
        .post("/api/collections/users/request-otp", None, body)
        .await;
    assert_eq!(third.status, 429);
    assert_eq!(third.body, LIMITED);
    // Other routes are not covered by that rule; superusers are never limited.
    assert_eq!(
        server
            .get("/api/collections/users/auth-methods", None)
            .await
            .status,
        200
    );
    assert_eq!(
        server
            .post("/api/collections/users/request-otp", Some(&admin), body)
            .await
            .status,
        200
    );
    let metrics = server.get("/api/metrics", Some(&admin)).await;
    assert!(
        metrics
            .body
            .contains("satchel_otp_rate_limited_total{collection=\"users\"} 1"),
        "{}",
        metrics.body
    );
    // Saving the settings resets every counter.
    limits(
        &server,
        &admin,
        json!([{"label": "*:requestOTP", "maxRequests": 2, "duration": 60}]),
    )
    .await;
    assert_eq!(
        server
            .post("/api/collections/users/request-otp", None, body)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn collection_tag_beats_wildcard_and_paths() {
    let server = TestServer::start().await;
    let admin = server.superuser_token().await;
    limits(
        &server,
        &admin,
        json!([
            {"label": "users:listAuthMethods", "maxRequests": 1, "duration": 60},
            {"label": "*:listAuthMethods", "maxRequests": 3, "duration": 60},
            {"label": "/api/health", "maxRequests": 2, "duration": 60},
            {"label": "GET /api/collections/", "maxRequests": 100, "duration": 60}
        ]),
    )
    .await;
    assert_eq!(
        server
            .get("/api/collections/users/auth-methods", None)
            .await
            .status,
        200
    );
    assert_eq!(
        server
            .get("/api/collections/users/auth-methods", None)
            .await
            .status,
        429
    );
    for _ in 0..3 {
        assert_eq!(
            server
                .get("/api/collections/_superusers/auth-methods", None)
                .await
                .status,
            200
        );
    }
    assert_eq!(
        server
            .get("/api/collections/_superusers/auth-methods", None)
            .await
            .status,
        429
    );
    assert_eq!(server.get("/api/health", None).await.status, 200);
    assert_eq!(server.get("/api/health", None).await.status, 200);
    assert_eq!(server.get("/api/health", None).await.body, LIMITED);
}

#[tokio::test]
async fn audiences_pick_who_a_rule_covers() {
    let server = TestServer::start().await;
    let admin = server.superuser_token().await;
    server
        .create_user(&admin, "ann@example.com", "pass-123456", true)
        .await;
    let user = server.user_token("ann@example.com", "pass-123456").await;
    limits(
        &server,
        &admin,
        json!([
            {"label": "*:list", "audience": "@guest", "maxRequests": 1, "duration": 60},
            {"label": "*:list", "audience": "@auth", "maxRequests": 2, "duration": 60}
        ]),
    )
    .await;
    let path = "/api/collections/users/records";
    assert_eq!(server.get(path, None).await.status, 200);
    assert_eq!(server.get(path, None).await.status, 429);
    assert_eq!(server.get(path, Some(&user)).await.status, 200);
    assert_eq!(server.get(path, Some(&user)).await.status, 200);
    assert_eq!(server.get(path, Some(&user)).await.status, 429);
}

#[tokio::test]
async fn disabled_limits_and_excluded_ips_are_not_counted() {
    let server = TestServer::start().await;
    let admin = server.superuser_token().await;
    let rule = json!([{"label": "/api/health", "maxRequests": 1, "duration": 60}]);
    let body = json!({"rateLimits": {"enabled": false, "rules": rule}}).to_string();
    assert_eq!(
        server
            .patch("/api/settings", Some(&admin), &body)
            .await
            .status,
        200
    );
    for _ in 0..3 {
        assert_eq!(server.get("/api/health", None).await.status, 200);
    }
    let body =
        json!({"rateLimits": {"enabled": true, "excludedIPs": ["127.0.0.0/8"], "rules": rule}})
            .to_string();
    assert_eq!(
        server
            .patch("/api/settings", Some(&admin), &body)
            .await
            .status,
        200
    );
    for _ in 0..3 {
        assert_eq!(server.get("/api/health", None).await.status, 200);
    }
}
