//! The engine's hook chains with Rust handlers, through real requests: handlers observe and
//! change the OTP code, see `record` = None for unknown emails, rewrite the OTP mail, veto
//! logins, and a failing mail hook leaves no usable OTP.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::TestServer;
use common::smtp::SmtpSink;
use satchel::error::ApiError;
use satchel::hooks::{MailerRecordEvent, RecordAuthEvent, RecordOtpRequestEvent};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(10);

async fn setup() -> (TestServer, SmtpSink, String) {
    let server = TestServer::start().await;
    let sink = SmtpSink::start().await;
    let admin = server.superuser_token().await;
    server.use_smtp(&admin, sink.port).await;
    server
        .patch_collection(&admin, "users", json!({"otp": {"enabled": true}}))
        .await;
    server
        .create_user(&admin, "ann@example.com", "pass-123456", true)
        .await;
    (server, sink, admin)
}

#[tokio::test]
async fn otp_request_handlers_see_the_record_and_may_change_the_code() {
    let (server, sink, _admin) = setup().await;
    let seen: Arc<Mutex<Vec<(String, bool)>>> = Arc::default();
    let log = seen.clone();
    server.app.hooks().on_record_request_otp_request.bind(
        0,
        &["users"],
        Arc::new(move |e: &mut RecordOtpRequestEvent, next| {
            let log = log.clone();
            Box::pin(async move {
                log.lock()
                    .unwrap()
                    .push((e.password.clone(), e.record.is_some()));
                e.password = "24681357".into();
                next.run(e).await
            })
        }),
    );
    let unknown = server
        .post(
            "/api/collections/users/request-otp",
            None,
            r#"{"email":"who@example.com"}"#,
        )
        .await;
    assert_eq!(unknown.status, 200);
    let res = server
        .post(
            "/api/collections/users/request-otp",
            None,
            r#"{"email":"ann@example.com"}"#,
        )
        .await;
    let otp_id = res.json()["otpId"].as_str().unwrap().to_string();
    let mail = sink.next(WAIT).await.expect("mail");
    assert!(
        mail.html.contains("<strong>24681357</strong>"),
        "{}",
        mail.html
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert!(!seen[0].1, "an unknown email has no record");
    assert!(seen[1].1);
    assert_eq!(seen[1].0.len(), 8, "the generated code");
    let login = server
        .post(
            "/api/collections/users/auth-with-otp",
            None,
            &json!({"otpId": otp_id, "password": "24681357"}).to_string(),
        )
        .await;
    assert_eq!(login.status, 200, "{}", login.body);
}

#[tokio::test]
async fn mailer_handlers_rewrite_or_fail_the_otp_mail() {
    let (server, sink, _admin) = setup().await;
    let id = server.app.hooks().on_mailer_record_otp_send.bind(
        0,
        &[],
        Arc::new(|e: &mut MailerRecordEvent, next| {
            Box::pin(async move {
                assert!(e.meta["otpId"].is_string() && e.meta["password"].is_string());
                e.message.subject = format!("Your code {}", e.meta["password"].as_str().unwrap());
                next.run(e).await
            })
        }),
    );
    server
        .post(
            "/api/collections/users/request-otp",
            None,
            r#"{"email":"ann@example.com"}"#,
        )
        .await;
    let mail = sink.next(WAIT).await.expect("mail");
    assert!(mail.subject.starts_with("Your code "), "{}", mail.subject);

    server.app.hooks().on_mailer_record_otp_send.unbind(id);
    server.app.hooks().on_mailer_record_otp_send.bind(
        0,
        &[],
        Arc::new(|_: &mut MailerRecordEvent, _| {
            Box::pin(async { Err(ApiError::bad_request("blocked")) })
        }),
    );
    let res = server
        .post(
            "/api/collections/users/request-otp",
            None,
            r#"{"email":"ann@example.com"}"#,
        )
        .await;
    assert_eq!(res.status, 200, "the answer does not wait for the mail");
    assert!(sink.next(Duration::from_millis(500)).await.is_none());
    let rows: Vec<(String,)> = sqlx::query_as("SELECT id FROM _otps")
        .fetch_all(&server.app.store().writer)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "only the first (sent) OTP is left: {rows:?}");
}

#[tokio::test]
async fn auth_handlers_may_veto_a_login() {
    let (server, _sink, _admin) = setup().await;
    server.app.hooks().on_record_auth_request.bind(
        0,
        &["users"],
        Arc::new(|e: &mut RecordAuthEvent, next| {
            Box::pin(async move {
                if e.auth_method == "password" && e.record["email"] == "ann@example.com" {
                    return Err(ApiError::forbidden("not today"));
                }
                next.run(e).await
            })
        }),
    );
    let res = server
        .post(
            "/api/collections/users/auth-with-password",
            None,
            r#"{"identity":"ann@example.com","password":"pass-123456"}"#,
        )
        .await;
    assert_eq!(res.status, 403);
    assert_eq!(res.json()["message"], "Not today.");
    // Superusers are another collection: the tag keeps the handler away.
    server.superuser_token().await;
}
