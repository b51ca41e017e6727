//! `auth-with-password` and tokens (§5.1–§5.3) against the real server.

mod common;

use base64::Engine;
use common::{ADMIN_EMAIL, ADMIN_PASSWORD, TestServer};
use serde_json::{Value, json};

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64");
    serde_json::from_slice(&bytes).expect("json")
}

#[tokio::test]
async fn superuser_login_returns_record_and_pocketbase_token() {
    let server = TestServer::start().await;
    let token = server.superuser_token().await;
    let body = format!(r#"{{"identity":"{ADMIN_EMAIL}","password":"{ADMIN_PASSWORD}"}}"#);
    let res = server
        .post(
            "/api/collections/_superusers/auth-with-password",
            None,
            &body,
        )
        .await;
    assert_eq!(res.status, 200);
    let json = res.json();
    let record = json["record"].as_object().expect("record");
    let keys: Vec<&str> = record.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "collectionId",
            "collectionName",
            "created",
            "email",
            "emailVisibility",
            "id",
            "updated",
            "verified"
        ]
    );
    assert_eq!(record["email"], ADMIN_EMAIL);
    assert_eq!(record["collectionId"], "pbc_3142635823");
    assert_eq!(record["verified"], true);

    let header = token.split('.').next().expect("header");
    assert_eq!(header, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9");
    let claims = claims(&token);
    let keys: Vec<&str> = claims
        .as_object()
        .expect("claims")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["collectionId", "exp", "id", "refreshable", "type"]);
    assert_eq!(claims["collectionId"], "pbc_3142635823");
    assert_eq!(claims["type"], "auth");
    assert_eq!(claims["refreshable"], true);
    assert_eq!(claims["id"], record["id"]);
    let ttl = claims["exp"].as_i64().expect("exp") - chrono::Utc::now().timestamp();
    assert!(
        (86_390..=86_400).contains(&ttl),
        "superuser tokens last a day, got {ttl}"
    );
}

/// (body, status, expected body) for failed logins.
const FAILURES: [(&str, u16, &str); 5] = [
    (
        r#"{"identity":"admin@example.com","password":"wrong-password"}"#,
        400,
        r#"{"data":{},"message":"Failed to authenticate.","status":400}"#,
    ),
    (
        r#"{"identity":"nobody@example.com","password":"pass-123456"}"#,
        400,
        r#"{"data":{},"message":"Failed to authenticate.","status":400}"#,
    ),
    (
        "{}",
        400,
        concat!(
            r#"{"data":{"identity":{"code":"validation_required","message":"Cannot be blank."},"#,
            r#""password":{"code":"validation_required","message":"Cannot be blank."}},"#,
            r#""message":"An error occurred while validating the submitted data.","status":400}"#
        ),
    ),
    (
        r#"{"identity":"admin@example.com","password":"pass-123456","identityField":"username"}"#,
        400,
        concat!(
            r#"{"data":{"identityField":{"code":"validation_in_invalid","message":"Must be a valid value."}},"#,
            r#""message":"An error occurred while validating the submitted data.","status":400}"#
        ),
    ),
    (
        "{bad",
        400,
        r#"{"data":{},"message":"An error occurred while loading the submitted data.","status":400}"#,
    ),
];

#[tokio::test]
async fn failed_logins_match_pocketbase() {
    let server = TestServer::start().await;
    server.superuser_token().await;
    for (body, status, expected) in FAILURES {
        let res = server
            .post(
                "/api/collections/_superusers/auth-with-password",
                None,
                body,
            )
            .await;
        assert_eq!(
            (res.status, res.body.as_str()),
            (status, expected),
            "{body}"
        );
    }
}

#[tokio::test]
async fn login_needs_an_auth_collection_with_password_auth() {
    let server = TestServer::start().await;
    let token = server.superuser_token().await;
    let body = r#"{"identity":"a@b.co","password":"12345678"}"#;
    for path in [
        "/api/collections/nope/auth-with-password",
        "/api/collections/_otps/auth-with-password",
    ] {
        let res = server.post(path, None, body).await;
        assert_eq!(
            (res.status, res.body.as_str()),
            (
                404,
                r#"{"data":{},"message":"Missing or invalid auth collection context.","status":404}"#
            )
        );
    }
    let res = server
        .patch(
            "/api/collections/users",
            Some(&token),
            r#"{"passwordAuth":{"enabled":false}}"#,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let res = server
        .post("/api/collections/users/auth-with-password", None, body)
        .await;
    assert_eq!(res.status, 403);
    assert_eq!(
        res.json()["message"],
        "The collection is not configured to allow password authentication."
    );
}

#[tokio::test]
async fn users_tokens_are_not_superuser_tokens() {
    let server = TestServer::start().await;
    let users = server.app.collection("users").expect("users");
    let record = json!({"id": "user0000000001a", "email": "u@example.com", "tokenKey": "k".repeat(50),
        "password": bcrypt::hash("user-pass-1", 4).expect("hash"), "verified": false, "emailVisibility": false,
        "name": "U", "avatar": "", "created": "", "updated": ""});
    let mut conn = server.app.store().writer.turn().await.expect("conn");
    satchel::store::records::insert(&mut conn, &users, record.as_object().expect("object"))
        .await
        .expect("insert");
    drop(conn);

    let res = server
        .post(
            "/api/collections/users/auth-with-password",
            None,
            r#"{"identity":"u@example.com","password":"user-pass-1"}"#,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let json = res.json();
    assert_eq!(
        json["record"]["email"], "u@example.com",
        "auth responses always show the email"
    );
    assert!(json["record"].get("password").is_none() && json["record"].get("tokenKey").is_none());
    let token = json["token"].as_str().expect("token");
    let ttl = claims(token)["exp"].as_i64().expect("exp") - chrono::Utc::now().timestamp();
    assert!((431_990..=432_000).contains(&ttl));

    let res = server.get("/api/collections", Some(token)).await;
    assert_eq!(
        (res.status, res.body.as_str()),
        (
            403,
            r#"{"data":{},"message":"The authorized record is not allowed to perform this action.","status":403}"#
        )
    );
}

#[tokio::test]
async fn a_new_password_revokes_old_tokens() {
    let server = TestServer::start().await;
    let token = server.superuser_token().await;
    assert_eq!(
        server.get("/api/collections", Some(&token)).await.status,
        200
    );
    satchel::auth::superusers::update(&server.app, ADMIN_EMAIL, "another-pass-1")
        .await
        .expect("update");
    assert_eq!(
        server.get("/api/collections", Some(&token)).await.status,
        401
    );
}

#[tokio::test]
async fn auth_refresh_needs_a_token_of_the_same_collection() {
    let server = TestServer::start().await;
    let token = server.superuser_token().await;
    let res = server
        .post("/api/collections/_superusers/auth-refresh", None, "")
        .await;
    assert_eq!(
        res.body,
        r#"{"data":{},"message":"The request requires valid record authorization token.","status":401}"#
    );
    let res = server
        .post("/api/collections/users/auth-refresh", Some(&token), "")
        .await;
    assert_eq!(
        res.body,
        r#"{"data":{},"message":"The request requires auth record from _superusers collection.","status":403}"#
    );
    let res = server
        .post(
            "/api/collections/_superusers/auth-refresh",
            Some(&token),
            "",
        )
        .await;
    assert_eq!(res.status, 200);
    let fresh = res.json();
    assert_eq!(fresh["record"]["email"], ADMIN_EMAIL);
    let new_token = fresh["token"].as_str().expect("token");
    assert_eq!(
        server.get("/api/collections", Some(new_token)).await.status,
        200
    );
}

#[tokio::test]
async fn auth_rule_is_checked_against_the_record() {
    let server = TestServer::start().await;
    let token = server.superuser_token().await;
    let res = server
        .patch(
            "/api/collections/users",
            Some(&token),
            r#"{"authRule":"verified = true"}"#,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let body =
        r#"{"email":"u@example.com","password":"pass-123456","passwordConfirm":"pass-123456"}"#;
    assert_eq!(
        server
            .post("/api/collections/users/records", None, body)
            .await
            .status,
        200
    );
    let login = r#"{"identity":"u@example.com","password":"pass-123456"}"#;
    let res = server
        .post("/api/collections/users/auth-with-password", None, login)
        .await;
    assert_eq!(
        res.body,
        concat!(
            r#"{"data":{},"message":"The request doesn't satisfy the collection "#,
            r#"requirements to authenticate.","status":403}"#
        )
    );
    let list = server
        .get("/api/collections/users/records", Some(&token))
        .await
        .json();
    let id = list["items"][0]["id"].as_str().expect("id").to_string();
    let res = server
        .patch(
            &format!("/api/collections/users/records/{id}"),
            Some(&token),
            r#"{"verified":true}"#,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(
        server
            .post("/api/collections/users/auth-with-password", None, login)
            .await
            .status,
        200
    );
}
