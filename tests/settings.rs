//! `/api/settings` (§8) against the real server: defaults, deep-merge patch, validation with
//! nested field errors, secrets never returned, persistence across restarts.

mod common;

use common::TestServer;
use serde_json::{Value, json};

#[tokio::test]
async fn defaults_are_pocketbase_defaults() {
    let server = TestServer::start().await;
    let token = server.superuser_token().await;
    let res = server.get("/api/settings", Some(&token)).await;
    assert_eq!(res.status, 200);
    let expected = json!({
        "superuserIPs": [],
        "smtp": {"enabled": false, "port": 587, "host": "smtp.example.com", "username": "", "authMethod": "",
            "tls": false, "localName": ""},
        "backups": {"cron": "", "cronMaxKeep": 3, "s3": {"enabled": false, "bucket": "", "region": "",
            "endpoint": "", "accessKey": "", "forcePathStyle": false}},
        "s3": {"enabled": false, "bucket": "", "region": "", "endpoint": "", "accessKey": "", "forcePathStyle": false},
        "meta": {"accentColor": "#1055c9", "appName": "Acme", "appURL": "http://localhost:8090",
            "senderName": "Support", "senderAddress": "support@example.com", "hideControls": false},
        "rateLimits": {"rules": [
            {"label": "*:auth", "audience": "", "duration": 3, "maxRequests": 2},
            {"label": "*:create", "audience": "", "duration": 5, "maxRequests": 20},
            {"label": "/api/batch", "audience": "", "duration": 1, "maxRequests": 3},
            {"label": "/api/", "audience": "", "duration": 10, "maxRequests": 300}],
            "excludedIPs": [], "enabled": false},
        "trustedProxy": {"headers": [], "useLeftmostIP": false},
        "batch": {"enabled": false, "maxRequests": 50, "timeout": 3, "maxBodySize": 0},
        "logs": {"maxDataSize": 0, "maxDays": 5, "minLevel": 0, "logIP": true, "logAuthId": false}
    });
    // Compare the text too: key order is part of PocketBase's output.
    assert_eq!(res.body, expected.to_string());
}

#[tokio::test]
async fn patch_deep_merges_hides_secrets_and_persists() {
    let server = TestServer::start().await;
    let token = server.superuser_token().await;
    let res = server
        .patch(
            "/api/settings",
            Some(&token),
            r#"{"meta":{"appName":"Satchel"},"smtp":{"password":"s3cret","username":"mailer"}}"#,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let json = res.json();
    assert_eq!(json["meta"]["appName"], "Satchel");
    assert_eq!(json["meta"]["senderName"], "Support", "untouched keys stay");
    assert_eq!(json["smtp"]["username"], "mailer");
    assert!(json["smtp"].get("password").is_none());
    assert!(!res.body.contains("s3cret"));
    assert_eq!(server.get("/api/settings", Some(&token)).await.json(), json);

    let dir = server.stop().await;
    let server = TestServer::start_in(dir, None).await;
    let token = server.superuser_token().await;
    assert_eq!(server.get("/api/settings", Some(&token)).await.json(), json);
    let stored = satchel::store::params::get(&server.app.store().reader, "settings")
        .await
        .expect("read")
        .expect("row");
    assert_eq!(
        stored["smtp"]["password"], "s3cret",
        "the secret is stored, just never returned"
    );
}

/// (patch, expected field errors): PocketBase 0.40.6's answers.
fn invalid_patches() -> Vec<(Value, Value)> {
    let code = |code: &str, message: &str| json!({"code": code, "message": message});
    let blank = code("validation_required", "Cannot be blank.");
    vec![
        (
            json!({"meta": {"appName": ""}}),
            json!({"meta": {"appName": blank}}),
        ),
        (
            json!({"meta": {"senderAddress": "bad"}}),
            json!({"meta": {"senderAddress": code("validation_is_email", "Must be a valid email address.")}}),
        ),
        (
            json!({"meta": {"appURL": "not a url"}}),
            json!({"meta": {"appURL": code("validation_is_url", "Must be a valid URL.")}}),
        ),
        (
            json!({"smtp": {"enabled": true, "host": ""}}),
            json!({"smtp": {"host": blank}}),
        ),
        (
            json!({"rateLimits": {"rules": [{"label": "bad label!!", "maxRequests": 0, "duration": 0}]}}),
            json!({"rateLimits": {"rules": {"0": {"duration": blank, "label":
                code("validation_match_invalid", "Must be in a valid format."), "maxRequests": blank}}}}),
        ),
        (
            json!({"batch": {"enabled": true, "maxRequests": 0, "timeout": 0}, "logs": {"maxDays": -1},
            "s3": {"enabled": true}, "backups": {"cron": "bad cron"}}),
            json!({
                "backups": {"cron": code("validation_invalid_cron",
                    "Invalid cron expression - must be a valid macro or to have exactly 5 space separated segments.")},
                "batch": {"maxRequests": blank, "timeout": blank},
                "logs": {"maxDays": {"code": "validation_min_greater_equal_than_required",
                    "message": "Must be no less than 0.", "params": {"threshold": 0}}},
                "s3": {"accessKey": blank, "bucket": blank, "endpoint": blank, "region": blank, "secret": blank}}),
        ),
    ]
}

#[tokio::test]
async fn invalid_patches_are_refused_and_change_nothing() {
    let server = TestServer::start().await;
    let token = server.superuser_token().await;
    let before = server.get("/api/settings", Some(&token)).await.body;
    for (patch, data) in invalid_patches() {
        let res = server
            .patch("/api/settings", Some(&token), &patch.to_string())
            .await;
        let expected = json!({"data": data, "message": "An error occurred while saving the new settings.", "status": 400});
        assert_eq!(res.body, expected.to_string(), "{patch}");
    }
    assert_eq!(server.get("/api/settings", Some(&token)).await.body, before);
}

#[tokio::test]
async fn settings_are_superuser_only() {
    let server = TestServer::start().await;
    for (method, path) in [
        ("GET", "/api/settings"),
        ("PATCH", "/api/settings"),
        ("POST", "/api/settings/test/email"),
    ] {
        let res = server.request(method, path, None, Some("{}")).await;
        assert_eq!(res.status, 401, "{method} {path}");
    }
}

#[tokio::test]
async fn test_email_validates_then_sends_every_template() {
    let server = TestServer::start().await;
    let token = server.superuser_token().await;
    let res = server
        .post(
            "/api/settings/test/email",
            Some(&token),
            r#"{"email":"bad","template":"nope","collection":"posts"}"#,
        )
        .await;
    assert_eq!(
        res.body,
        json!({"data": {
        "collection": {"code": "validation_invalid_auth_collection", "message": "Must be a valid auth collection id or name."},
        "email": {"code": "validation_is_email", "message": "Must be a valid email address."},
        "template": {"code": "validation_in_invalid", "message": "Must be a valid value."}},
        "message": "Failed to send the test email.", "status": 400})
        .to_string()
    );
    let sink = common::smtp::SmtpSink::start().await;
    server.use_smtp(&token, sink.port).await;
    let wait = std::time::Duration::from_secs(10);
    for (template, subject) in [
        ("verification", "Verify your Acme email"),
        ("password-reset", "Reset your Acme password"),
        ("email-change", "Confirm your Acme new email address"),
        ("otp", "OTP for Acme"),
        ("login-alert", "Login from a new location"),
    ] {
        let body =
            json!({"email": "test@example.com", "template": template, "collection": "users"});
        let res = server
            .post("/api/settings/test/email", Some(&token), &body.to_string())
            .await;
        assert_eq!(res.status, 204, "{template}: {}", res.body);
        let mail = sink.next(wait).await.expect("test mail");
        assert_eq!(mail.subject, subject);
        assert_eq!(mail.to, vec!["test@example.com".to_string()]);
        if template == "otp" {
            assert!(mail.html.contains("123456"), "{}", mail.html);
        }
    }
    // An unreachable SMTP server is reported, with the reason.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    server.use_smtp(&token, closed).await;
    let res = server
        .post(
            "/api/settings/test/email",
            Some(&token),
            r#"{"email":"a@b.co","template":"otp"}"#,
        )
        .await;
    assert_eq!(res.status, 400);
    assert!(
        res.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("Failed to send the test email. Raw error:")
    );
}

#[tokio::test]
async fn superuser_ips_lock_superusers_to_listed_addresses() {
    let server = TestServer::start().await;
    let token = server.superuser_token().await;
    let forbidden =
        r#"{"data":{},"message":"You are not allowed to perform this request.","status":403}"#;
    let res = server
        .patch(
            "/api/settings",
            Some(&token),
            r#"{"superuserIPs":["10.0.0.1","192.168.0.0/16"]}"#,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    for path in ["/api/collections", "/api/health", "/api/settings"] {
        assert_eq!(
            server.get(path, Some(&token)).await.body,
            forbidden,
            "{path}"
        );
    }
    let login = format!(
        r#"{{"identity":"{}","password":"{}"}}"#,
        common::ADMIN_EMAIL,
        common::ADMIN_PASSWORD
    );
    let res = server
        .post(
            "/api/collections/_superusers/auth-with-password",
            None,
            &login,
        )
        .await;
    assert_eq!(res.body, forbidden);
    assert_eq!(
        server.get("/api/health", None).await.status,
        200,
        "guests are not affected"
    );

    let res = server
        .patch(
            "/api/settings",
            Some(&token),
            r#"{"superuserIPs":["127.0.0.0/8"]}"#,
        )
        .await;
    assert_eq!(
        res.status, 403,
        "still locked out until an allowed address is listed"
    );
    let settings = server
        .app
        .settings()
        .merged(&json!({"superuserIPs": ["127.0.0.0/8"]}));
    server.app.save_settings(settings).await.expect("save");
    assert_eq!(
        server.get("/api/collections", Some(&token)).await.status,
        200
    );
}

#[tokio::test]
async fn superuser_ips_see_the_real_ip_behind_a_trusted_proxy() {
    let server = TestServer::start().await;
    let token = server.superuser_token().await;
    let body =
        r#"{"trustedProxy":{"headers":["X-Real-IP"]},"superuserIPs":["127.0.0.1","10.0.0.1"]}"#;
    assert_eq!(
        server
            .patch("/api/settings", Some(&token), body)
            .await
            .status,
        200
    );
    let get = |real_ip: &'static str| {
        let (addr, token) = (server.addr, token.clone());
        async move {
            common::send(
                addr,
                "GET",
                "/api/settings",
                &[("Authorization", &token), ("X-Real-IP", real_ip)],
                b"",
            )
            .await
            .status
        }
    };
    assert_eq!(get("10.0.0.1").await, 200);
    assert_eq!(
        get("10.9.9.9").await,
        403,
        "the proxied client is not listed"
    );
}
