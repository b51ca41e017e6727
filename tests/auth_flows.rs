//! The mailed-token auth flows (§5.2) end to end: real mail through the SMTP sink, the
//! token read out of it, every confirm error, token rotation; impersonation; MFA; crons.

mod common;

use std::time::Duration;

use common::TestServer;
use common::smtp::{Mail, SmtpSink};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);

/// The token in a mailed link `…/<route>/<token>`.
fn link_token(mail: &Mail, route: &str) -> String {
    let marker = format!("/{route}/");
    let start = mail
        .html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {route} link in {}", mail.html))
        + marker.len();
    mail.html[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect()
}

async fn setup() -> (TestServer, SmtpSink, String) {
    let server = TestServer::start().await;
    let sink = SmtpSink::start().await;
    let admin = server.superuser_token().await;
    server.use_smtp(&admin, sink.port).await;
    (server, sink, admin)
}

fn field_code(body: &Value, field: &str) -> String {
    body["data"][field]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn auth_methods_has_pocketbases_shape() {
    let (server, _sink, admin) = setup().await;
    let res = server
        .get("/api/collections/users/auth-methods", None)
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.body,
        r#"{"password":{"identityFields":["email"],"enabled":true},"oauth2":{"providers":[],"enabled":false},"mfa":{"enabled":false,"duration":0},"otp":{"enabled":false,"duration":0},"authProviders":[],"usernamePassword":false,"emailPassword":true}"#
    );
    server
        .patch_collection(
            &admin,
            "users",
            json!({"otp": {"enabled": true}, "mfa": {"enabled": true}}),
        )
        .await;
    let res = server
        .get("/api/collections/users/auth-methods", None)
        .await;
    assert_eq!(res.json()["otp"], json!({"enabled": true, "duration": 180}));
    assert_eq!(res.json()["mfa"], json!({"enabled": true, "duration": 600}));
    let res = server
        .get("/api/collections/posts/auth-methods", None)
        .await;
    assert_eq!(res.status, 404);
    assert_eq!(
        res.json()["message"],
        "Missing or invalid auth collection context."
    );
}

#[tokio::test]
async fn verification_by_mail() {
    let (server, sink, admin) = setup().await;
    server
        .create_user(&admin, "ann@example.com", "pass-123456", false)
        .await;

    let bad = server
        .post(
            "/api/collections/users/request-verification",
            None,
            r#"{"email":"nope"}"#,
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(field_code(&bad.json(), "email"), "validation_is_email");
    let unknown = server
        .post(
            "/api/collections/users/request-verification",
            None,
            r#"{"email":"who@example.com"}"#,
        )
        .await;
    assert_eq!(unknown.status, 204);

    let res = server
        .post(
            "/api/collections/users/request-verification",
            None,
            r#"{"email":"ann@example.com"}"#,
        )
        .await;
    assert_eq!(res.status, 204);
    let mail = sink.next(WAIT).await.expect("verification mail");
    assert_eq!(mail.to, vec!["ann@example.com".to_string()]);
    assert_eq!(mail.subject, "Verify your Acme email");
    assert!(mail.text.contains("Verify"), "{}", mail.text);
    let token = link_token(&mail, "confirm-verification");

    // Re-requests inside 2 minutes answer 204 and send nothing.
    let again = server
        .post(
            "/api/collections/users/request-verification",
            None,
            r#"{"email":"ann@example.com"}"#,
        )
        .await;
    assert_eq!(again.status, 204);

    let empty = server
        .post("/api/collections/users/confirm-verification", None, "{}")
        .await;
    assert_eq!(empty.status, 400);
    assert_eq!(field_code(&empty.json(), "token"), "validation_required");
    let garbage = server
        .post(
            "/api/collections/users/confirm-verification",
            None,
            r#"{"token":"a.b.c"}"#,
        )
        .await;
    assert_eq!(
        field_code(&garbage.json(), "token"),
        "validation_invalid_token_claims"
    );
    let other = server
        .post(
            "/api/collections/_superusers/confirm-verification",
            None,
            &json!({"token": token}).to_string(),
        )
        .await;
    assert_eq!(
        other.json()["message"],
        "All superusers are verified by default."
    );

    let ok = server
        .post(
            "/api/collections/users/confirm-verification",
            None,
            &json!({"token": token}).to_string(),
        )
        .await;
    assert_eq!(ok.status, 204, "{}", ok.body);
    let list = server
        .get("/api/collections/users/records", Some(&admin))
        .await;
    assert_eq!(list.json()["items"][0]["verified"], true);
    // Already verified: still 204.
    let twice = server
        .post(
            "/api/collections/users/confirm-verification",
            None,
            &json!({"token": token}).to_string(),
        )
        .await;
    assert_eq!(twice.status, 204);
    assert!(
        sink.next(Duration::from_millis(300)).await.is_none(),
        "no second mail"
    );
}

#[tokio::test]
async fn password_reset_by_mail_rotates_the_token_key() {
    let (server, sink, admin) = setup().await;
    server
        .create_user(&admin, "bob@example.com", "pass-123456", false)
        .await;
    let old_token = server.user_token("bob@example.com", "pass-123456").await;

    let res = server
        .post(
            "/api/collections/users/request-password-reset",
            None,
            r#"{"email":"bob@example.com"}"#,
        )
        .await;
    assert_eq!(res.status, 204);
    let mail = sink.next(WAIT).await.expect("reset mail");
    assert_eq!(mail.subject, "Reset your Acme password");
    let token = link_token(&mail, "confirm-password-reset");

    let mismatch = server
        .post(
            "/api/collections/users/confirm-password-reset",
            None,
            &json!({"token": token, "password": "new-pass-1", "passwordConfirm": "other"})
                .to_string(),
        )
        .await;
    assert_eq!(mismatch.status, 400);
    assert_eq!(
        field_code(&mismatch.json(), "passwordConfirm"),
        "validation_values_mismatch"
    );
    let short = server
        .post(
            "/api/collections/users/confirm-password-reset",
            None,
            &json!({"token": token, "password": "x", "passwordConfirm": "x"}).to_string(),
        )
        .await;
    assert_eq!(
        field_code(&short.json(), "password"),
        "validation_length_out_of_range"
    );

    let ok = server
        .post(
            "/api/collections/users/confirm-password-reset",
            None,
            &json!({"token": token, "password": "new-pass-1", "passwordConfirm": "new-pass-1"})
                .to_string(),
        )
        .await;
    assert_eq!(ok.status, 204, "{}", ok.body);
    server.user_token("bob@example.com", "new-pass-1").await;
    // Single use, and every earlier token is revoked.
    let reuse = server
        .post(
            "/api/collections/users/confirm-password-reset",
            None,
            &json!({"token": token, "password": "new-pass-2", "passwordConfirm": "new-pass-2"})
                .to_string(),
        )
        .await;
    assert_eq!(
        field_code(&reuse.json(), "token"),
        "validation_invalid_token"
    );
    let refresh = server
        .post("/api/collections/users/auth-refresh", Some(&old_token), "")
        .await;
    assert_eq!(refresh.status, 401);
    // The reset mail went to the record's own address, so it is verified now.
    let list = server
        .get("/api/collections/users/records", Some(&admin))
        .await;
    assert_eq!(list.json()["items"][0]["verified"], true);
}

#[tokio::test]
async fn email_change_by_mail() {
    let (server, sink, admin) = setup().await;
    server
        .create_user(&admin, "cat@example.com", "pass-123456", true)
        .await;
    server
        .create_user(&admin, "taken@example.com", "pass-123456", true)
        .await;
    let token = server.user_token("cat@example.com", "pass-123456").await;

    let guest = server
        .post(
            "/api/collections/users/request-email-change",
            None,
            r#"{"newEmail":"x@example.com"}"#,
        )
        .await;
    assert_eq!(guest.status, 401);
    let same = server
        .post(
            "/api/collections/users/request-email-change",
            Some(&token),
            r#"{"newEmail":"cat@example.com"}"#,
        )
        .await;
    assert_eq!(
        field_code(&same.json(), "newEmail"),
        "validation_not_in_invalid"
    );
    let taken = server
        .post(
            "/api/collections/users/request-email-change",
            Some(&token),
            r#"{"newEmail":"taken@example.com"}"#,
        )
        .await;
    assert_eq!(
        field_code(&taken.json(), "newEmail"),
        "validation_invalid_new_email"
    );

    let res = server
        .post(
            "/api/collections/users/request-email-change",
            Some(&token),
            r#"{"newEmail":"kit@example.com"}"#,
        )
        .await;
    assert_eq!(res.status, 204, "{}", res.body);
    let mail = sink.next(WAIT).await.expect("email change mail");
    assert_eq!(mail.to, vec!["kit@example.com".to_string()]);
    let change = link_token(&mail, "confirm-email-change");

    let wrong = server
        .post(
            "/api/collections/users/confirm-email-change",
            None,
            &json!({"token": change, "password": "nope"}).to_string(),
        )
        .await;
    assert_eq!(wrong.status, 400);
    assert_eq!(
        field_code(&wrong.json(), "password"),
        "validation_invalid_password"
    );
    let ok = server
        .post(
            "/api/collections/users/confirm-email-change",
            None,
            &json!({"token": change, "password": "pass-123456"}).to_string(),
        )
        .await;
    assert_eq!(ok.status, 204, "{}", ok.body);
    server.user_token("kit@example.com", "pass-123456").await;
    let old = server
        .post("/api/collections/users/auth-refresh", Some(&token), "")
        .await;
    assert_eq!(old.status, 401, "the email change revoked old tokens");
}

#[tokio::test]
async fn impersonation_is_for_superusers() {
    let (server, _sink, admin) = setup().await;
    let id = server
        .create_user(&admin, "dan@example.com", "pass-123456", true)
        .await;
    let user = server.user_token("dan@example.com", "pass-123456").await;
    let path = format!("/api/collections/users/impersonate/{id}");
    assert_eq!(server.post(&path, None, "{}").await.status, 401);
    let forbidden = server.post(&path, Some(&user), "{}").await;
    assert_eq!(forbidden.status, 403);
    assert_eq!(
        forbidden.json()["message"],
        "The authorized record is not allowed to perform this action."
    );
    assert_eq!(
        server
            .post(
                "/api/collections/users/impersonate/missing",
                Some(&admin),
                "{}"
            )
            .await
            .status,
        404
    );
    let res = server.post(&path, Some(&admin), r#"{"duration":60}"#).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let token = res.json()["token"].as_str().unwrap().to_string();
    let payload = token.split('.').nth(1).unwrap();
    use base64::Engine;
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["refreshable"], false);
    let ttl = claims["exp"].as_i64().unwrap() - chrono::Utc::now().timestamp();
    assert!((55..=60).contains(&ttl), "{ttl}");
    // A non-refreshable token is echoed by auth-refresh.
    let refreshed = server
        .post("/api/collections/users/auth-refresh", Some(&token), "")
        .await;
    assert_eq!(refreshed.status, 200);
    let negative = server.post(&path, Some(&admin), r#"{"duration":-1}"#).await;
    assert_eq!(negative.status, 400);
}

#[tokio::test]
async fn mfa_needs_two_different_methods() {
    let (server, sink, admin) = setup().await;
    server
        .create_user(&admin, "eve@example.com", "pass-123456", true)
        .await;
    server
        .patch_collection(
            &admin,
            "users",
            json!({"mfa": {"enabled": true}, "otp": {"enabled": true}}),
        )
        .await;
    let login = json!({"identity": "eve@example.com", "password": "pass-123456"}).to_string();
    let first = server
        .post("/api/collections/users/auth-with-password", None, &login)
        .await;
    assert_eq!(first.status, 401);
    let mfa_id = first.json()["mfaId"].as_str().expect("mfaId").to_string();
    assert_eq!(first.json().as_object().unwrap().len(), 1, "{}", first.body);

    let same = server
        .post(
            &format!("/api/collections/users/auth-with-password?mfaId={mfa_id}"),
            None,
            &login,
        )
        .await;
    assert_eq!(same.status, 400);
    assert_eq!(
        same.json()["message"],
        "A different authentication method is required."
    );
    let unknown = server
        .post(
            "/api/collections/users/auth-with-password?mfaId=nope",
            None,
            &login,
        )
        .await;
    assert_eq!(unknown.json()["message"], "Invalid or expired MFA session.");

    let requested = server
        .post(
            "/api/collections/users/request-otp",
            None,
            r#"{"email":"eve@example.com"}"#,
        )
        .await;
    let otp_id = requested.json()["otpId"].as_str().unwrap().to_string();
    let code = sink.next(WAIT).await.expect("otp mail").otp_code();
    let second = server
        .post(
            "/api/collections/users/auth-with-otp",
            None,
            &json!({"otpId": otp_id, "password": code, "mfaId": mfa_id}).to_string(),
        )
        .await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert!(second.json()["token"].is_string());
    // The MFA session is gone.
    let replay = server
        .post(
            &format!("/api/collections/users/auth-with-password?mfaId={mfa_id}"),
            None,
            &login,
        )
        .await;
    assert_eq!(replay.json()["message"], "Invalid or expired MFA session.");
}

/// The 8-digit code in an OTP mail.

#[tokio::test]
async fn crons_are_listed_and_run() {
    let (server, _sink, admin) = setup().await;
    let res = server.get("/api/crons", Some(&admin)).await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.body,
        r#"[{"id":"__pbDBOptimize__","expression":"0 0 * * *"},{"id":"__pbMFACleanup__","expression":"0 * * * *"},{"id":"__pbOTPCleanup__","expression":"0 * * * *"}]"#
    );
    assert_eq!(
        server
            .post("/api/crons/__pbOTPCleanup__", Some(&admin), "")
            .await
            .status,
        204
    );
    let missing = server.post("/api/crons/nope", Some(&admin), "").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["message"], "Missing or invalid cron job.");
    assert_eq!(server.get("/api/crons", None).await.status, 401);
}

#[tokio::test]
async fn mfa_works_with_otp_first_too() {
    let (server, sink, admin) = setup().await;
    server
        .create_user(&admin, "fay@example.com", "pass-123456", true)
        .await;
    server
        .patch_collection(
            &admin,
            "users",
            json!({"mfa": {"enabled": true}, "otp": {"enabled": true}}),
        )
        .await;
    let requested = server
        .post(
            "/api/collections/users/request-otp",
            None,
            r#"{"email":"fay@example.com"}"#,
        )
        .await;
    let otp_id = requested.json()["otpId"].as_str().unwrap().to_string();
    let code = sink.next(WAIT).await.expect("otp mail").otp_code();
    let first = server
        .post(
            "/api/collections/users/auth-with-otp",
            None,
            &json!({"otpId": otp_id, "password": code}).to_string(),
        )
        .await;
    assert_eq!(first.status, 401, "{}", first.body);
    let mfa_id = first.json()["mfaId"].as_str().unwrap().to_string();
    let second = server
        .post(
            "/api/collections/users/auth-with-password",
            None,
            &json!({"identity": "fay@example.com", "password": "pass-123456", "mfaId": mfa_id})
                .to_string(),
        )
        .await;
    assert_eq!(second.status, 200, "{}", second.body);
    // A rule that does not match the record skips MFA.
    server
        .patch_collection(
            &admin,
            "users",
            json!({"mfa": {"enabled": true, "rule": "email = 'nobody@example.com'"}}),
        )
        .await;
    server.user_token("fay@example.com", "pass-123456").await;
}

#[tokio::test]
async fn a_login_from_a_new_location_is_mailed() {
    let (server, sink, admin) = setup().await;
    server
        .create_user(&admin, "gil@example.com", "pass-123456", true)
        .await;
    let login = |agent: &'static str| {
        let addr = server.addr;
        async move {
            common::send(
                addr,
                "POST",
                "/api/collections/users/auth-with-password",
                &[("Content-Type", "application/json"), ("User-Agent", agent)],
                br#"{"identity":"gil@example.com","password":"pass-123456"}"#,
            )
            .await
        }
    };
    assert_eq!(login("first-browser").await.status, 200);
    assert_eq!(login("first-browser").await.status, 200);
    assert!(
        sink.next(Duration::from_millis(400)).await.is_none(),
        "no alert for the first location"
    );
    assert_eq!(login("second-browser").await.status, 200);
    let mail = sink.next(WAIT).await.expect("alert");
    assert_eq!(mail.subject, "Login from a new location");
    assert!(mail.html.contains("second-browser"), "{}", mail.html);
    let origins: Vec<(String,)> = sqlx::query_as("SELECT fingerprint FROM _authOrigins WHERE collectionRef = (SELECT id FROM _collections WHERE name = 'users')")
        .fetch_all(&mut *server.app.store().writer.turn().await.expect("writer"))
        .await
        .unwrap();
    assert_eq!(origins.len(), 2);
    assert_eq!(origins[0].0.len(), 32, "an MD5 hex fingerprint");
}

#[tokio::test]
async fn tokens_of_another_collection_or_kind_are_refused() {
    let (server, sink, admin) = setup().await;
    let members = json!({"name": "members", "type": "auth", "fields": []});
    assert_eq!(
        server
            .post("/api/collections", Some(&admin), &members.to_string())
            .await
            .status,
        200
    );
    server
        .create_user(&admin, "hal@example.com", "pass-123456", false)
        .await;
    server
        .post(
            "/api/collections/users/request-verification",
            None,
            r#"{"email":"hal@example.com"}"#,
        )
        .await;
    let token = link_token(
        &sink.next(WAIT).await.expect("mail"),
        "confirm-verification",
    );
    let body = json!({"token": token}).to_string();
    let other = server
        .post("/api/collections/members/confirm-verification", None, &body)
        .await;
    assert_eq!(other.status, 400);
    assert_eq!(
        field_code(&other.json(), "token"),
        "validation_token_collection_mismatch"
    );
    // A verification token is not a password-reset token, nor an auth token.
    let reset = server
        .post(
            "/api/collections/users/confirm-password-reset",
            None,
            &json!({"token": token, "password": "new-pass-1", "passwordConfirm": "new-pass-1"})
                .to_string(),
        )
        .await;
    assert_eq!(
        field_code(&reset.json(), "token"),
        "validation_invalid_token"
    );
    assert_eq!(
        server
            .post("/api/collections/users/auth-refresh", Some(&token), "")
            .await
            .status,
        401
    );
    // Nothing changed.
    let list = server
        .get("/api/collections/users/records", Some(&admin))
        .await;
    assert_eq!(list.json()["items"][0]["verified"], false);
}
