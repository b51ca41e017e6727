//! Email OTP (§6) end to end through the SMTP sink and the dev outbox: every error with
//! its envelope, expiry, the attempt limit, single use, the verified upgrade, mail failure,
//! exactly-once under concurrency, and Satchel's collection options.

mod common;

use std::time::Duration;

use common::TestServer;
use common::smtp::{Mail, SmtpSink};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);

async fn setup(otp: Value) -> (TestServer, SmtpSink, String) {
    let server = TestServer::start().await;
    let sink = SmtpSink::start().await;
    let admin = server.superuser_token().await;
    server.use_smtp(&admin, sink.port).await;
    server
        .patch_collection(&admin, "users", json!({ "otp": otp }))
        .await;
    (server, sink, admin)
}

/// The `_otps` rows as (password hash, sentTo), oldest first.
async fn otp_rows(server: &TestServer) -> Vec<(String, String)> {
    sqlx::query_as("SELECT password, sentTo FROM _otps ORDER BY rowid")
        .fetch_all(&mut *server.app.store().writer.turn().await.expect("writer"))
        .await
        .expect("_otps")
}

/// Waits until every mailed OTP has its `sentTo` (set after the send completes).
async fn wait_sent(server: &TestServer) {
    for _ in 0..100 {
        if otp_rows(server)
            .await
            .iter()
            .all(|(_, sent_to)| !sent_to.is_empty())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("sentTo never set");
}

async fn request(server: &TestServer, email: &str) -> common::Response {
    server
        .post(
            "/api/collections/users/request-otp",
            None,
            &json!({"email": email}).to_string(),
        )
        .await
}

async fn login(server: &TestServer, otp_id: &str, code: &str) -> common::Response {
    server
        .post(
            "/api/collections/users/auth-with-otp",
            None,
            &json!({"otpId": otp_id, "password": code}).to_string(),
        )
        .await
}

#[tokio::test]
async fn disabled_otp_is_refused_before_the_body() {
    let server = TestServer::start().await;
    for path in ["request-otp", "auth-with-otp"] {
        let res = server
            .post(&format!("/api/collections/users/{path}"), None, "not json")
            .await;
        assert_eq!(res.status, 403);
        assert_eq!(
            res.body,
            r#"{"data":{},"message":"The collection is not configured to allow OTP authentication.","status":403}"#
        );
    }
}

#[tokio::test]
async fn request_and_login_by_code() {
    let (server, sink, admin) = setup(json!({"enabled": true})).await;
    server
        .create_user(&admin, "ann@example.com", "pass-123456", false)
        .await;

    let invalid = request(&server, "not-an-email").await;
    assert_eq!(invalid.status, 400);
    assert_eq!(
        invalid.body,
        r#"{"data":{"email":{"code":"validation_is_email","message":"Must be a valid email address."}},"message":"An error occurred while validating the submitted data.","status":400}"#
    );

    let unknown = request(&server, "nobody@example.com").await;
    assert_eq!(unknown.status, 200);
    let fake = unknown.json()["otpId"].as_str().unwrap().to_string();
    assert_eq!(fake.len(), 15);
    assert_eq!(
        login(&server, &fake, "12345678").await.json()["message"],
        "Invalid or expired OTP."
    );

    let res = request(&server, "ann@example.com").await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.json().as_object().unwrap().len(),
        1,
        "only otpId: {}",
        res.body
    );
    let otp_id = res.json()["otpId"].as_str().unwrap().to_string();
    let mail = sink.next(WAIT).await.expect("otp mail");
    assert_eq!(mail.subject, "OTP for Acme");
    assert_eq!(mail.to, vec!["ann@example.com".to_string()]);
    let code = mail.otp_code();
    assert_eq!(code.len(), 8);
    assert_eq!(sink.count(), 1, "the unknown email got no mail");

    // The stored code is a bcrypt hash at cost 8, and sentTo is set once the mail went out.
    wait_sent(&server).await;
    let rows = otp_rows(&server).await;
    assert_eq!(rows.len(), 1);
    assert!(rows[0].0.starts_with("$2a$08$"), "{rows:?}");
    assert_eq!(rows[0].1, "ann@example.com");
    // Through the API a superuser sees the row with the code's hash blanked (as PocketBase).
    let listed = server
        .get("/api/collections/_otps/records", Some(&admin))
        .await
        .json();
    assert_eq!(listed["items"][0]["password"], "");
    assert_eq!(listed["items"][0]["sentTo"], "ann@example.com");

    let wrong = login(&server, &otp_id, "00000000").await;
    assert_eq!(wrong.status, 400);
    assert_eq!(
        wrong.body,
        r#"{"data":{},"message":"Invalid or expired OTP.","status":400}"#
    );
    assert_eq!(wrong.header("x-otp-attempts-left"), Some("4"));
    assert_eq!(
        wrong.header("access-control-expose-headers"),
        Some("X-OTP-Attempts-Left")
    );

    let ok = login(&server, &otp_id, &code).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let body = ok.json();
    assert_eq!(body["record"]["email"], "ann@example.com");
    assert_eq!(
        body["record"]["verified"], true,
        "the mailed address is verified"
    );
    assert!(body["token"].is_string());
    // Single use; and the first OTP login of an unverified record replaced its password.
    assert_eq!(
        login(&server, &otp_id, &code).await.json()["message"],
        "Invalid or expired OTP."
    );
    let old = server
        .post(
            "/api/collections/users/auth-with-password",
            None,
            r#"{"identity":"ann@example.com","password":"pass-123456"}"#,
        )
        .await;
    assert_eq!(old.status, 400);

    let missing = server
        .post("/api/collections/users/auth-with-otp", None, "{}")
        .await;
    assert_eq!(missing.status, 400);
    assert_eq!(
        missing.json()["data"]["otpId"]["code"],
        "validation_required"
    );
    assert_eq!(
        missing.json()["data"]["password"]["code"],
        "validation_required"
    );
}

#[tokio::test]
async fn sixth_attempt_is_refused_even_with_the_right_code() {
    let (server, sink, admin) = setup(json!({"enabled": true})).await;
    server
        .create_user(&admin, "bob@example.com", "pass-123456", true)
        .await;
    let otp_id = request(&server, "bob@example.com").await.json()["otpId"]
        .as_str()
        .unwrap()
        .to_string();
    let code = sink.next(WAIT).await.expect("mail").otp_code();
    for left in (0..5).rev() {
        let res = login(&server, &otp_id, "99999999").await;
        assert_eq!(res.status, 400);
        assert_eq!(
            res.header("x-otp-attempts-left"),
            Some(left.to_string().as_str())
        );
    }
    let limited = login(&server, &otp_id, &code).await;
    assert_eq!(limited.status, 429);
    assert_eq!(
        limited.body,
        r#"{"data":{},"message":"Too many attempts, please try again later with a new OTP.","status":429}"#
    );
}

#[tokio::test]
async fn expired_codes_fail() {
    let (server, sink, admin) = setup(json!({"enabled": true, "duration": 10})).await;
    server
        .create_user(&admin, "cat@example.com", "pass-123456", true)
        .await;
    let otp_id = request(&server, "cat@example.com").await.json()["otpId"]
        .as_str()
        .unwrap()
        .to_string();
    let code = sink.next(WAIT).await.expect("mail").otp_code();
    // Age the OTP past its 10 s instead of waiting.
    sqlx::query("UPDATE _otps SET created = '2020-01-01 00:00:00.000Z'")
        .execute(&mut *server.app.store().writer.turn().await.expect("writer"))
        .await
        .unwrap();
    let res = login(&server, &otp_id, &code).await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["message"], "Invalid or expired OTP.");
    // The hourly cleanup job removes it.
    assert_eq!(
        server
            .post("/api/crons/__pbOTPCleanup__", Some(&admin), "")
            .await
            .status,
        204
    );
    for _ in 0..100 {
        if otp_rows(&server).await.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the expired OTP was not cleaned up");
}

#[tokio::test]
async fn a_failed_send_leaves_nothing_usable() {
    let server = TestServer::start().await;
    let sink = SmtpSink::start_failing().await;
    let admin = server.superuser_token().await;
    server.use_smtp(&admin, sink.port).await;
    server
        .patch_collection(&admin, "users", json!({"otp": {"enabled": true}}))
        .await;
    server
        .create_user(&admin, "dan@example.com", "pass-123456", true)
        .await;
    let res = request(&server, "dan@example.com").await;
    assert_eq!(res.status, 200);
    // The OTP row disappears once the send has failed.
    let mut remaining = 1;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        remaining = otp_rows(&server).await.len();
        if remaining == 0 {
            break;
        }
    }
    assert_eq!(remaining, 0);
    let metrics = server.get("/api/metrics", Some(&admin)).await;
    assert!(
        metrics
            .body
            .contains("satchel_otp_mail_failed_total{collection=\"users\"} 1"),
        "{}",
        metrics.body
    );
}

#[tokio::test]
async fn fifty_concurrent_right_answers_log_in_once() {
    let (server, sink, admin) = setup(json!({"enabled": true})).await;
    server
        .create_user(&admin, "eve@example.com", "pass-123456", true)
        .await;
    let otp_id = request(&server, "eve@example.com").await.json()["otpId"]
        .as_str()
        .unwrap()
        .to_string();
    let code = sink.next(WAIT).await.expect("mail").otp_code();
    let server = std::sync::Arc::new(server);
    let calls: Vec<_> = (0..50)
        .map(|_| {
            let (server, otp_id, code) = (server.clone(), otp_id.clone(), code.clone());
            tokio::spawn(async move { login(&server, &otp_id, &code).await.status })
        })
        .collect();
    let mut statuses = Vec::new();
    for call in calls {
        statuses.push(call.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 400, 429].contains(s)),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn ten_live_codes_then_reuse() {
    let (server, sink, admin) = setup(json!({"enabled": true})).await;
    server
        .create_user(&admin, "fay@example.com", "pass-123456", true)
        .await;
    let mut ids = Vec::new();
    for _ in 0..10 {
        ids.push(
            request(&server, "fay@example.com").await.json()["otpId"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    // Rows are stored just after each answer; let the last one land.
    for _ in 0..100 {
        if otp_rows(&server).await.len() == 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let eleventh = request(&server, "fay@example.com").await.json()["otpId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        &eleventh,
        ids.last().unwrap(),
        "the newest live OTP is reused"
    );
    for _ in 0..10 {
        sink.next(WAIT).await.expect("mail");
    }
    assert!(
        sink.next(Duration::from_millis(500)).await.is_none(),
        "no 11th mail"
    );
}

#[tokio::test]
async fn single_active_and_security_phrase() {
    let (server, sink, admin) =
        setup(json!({"enabled": true, "singleActive": true, "securityPhrase": true})).await;
    let collection = server
        .get("/api/collections/users", Some(&admin))
        .await
        .json();
    assert_eq!(collection["otp"]["singleActive"], true);
    server
        .create_user(&admin, "gus@example.com", "pass-123456", true)
        .await;
    server
        .patch_collection(
            &admin,
            "users",
            json!({"otp": {"emailTemplate": {"subject": "Code", "body": "<p><strong>{OTP}</strong> {PHRASE}</p>"}}}),
        )
        .await;
    let first = request(&server, "gus@example.com").await.json();
    let first_code = sink.next(WAIT).await.expect("mail").otp_code();
    let second = request(&server, "gus@example.com").await.json();
    let mail = sink.next(WAIT).await.expect("mail");
    let phrase = second["phrase"].as_str().expect("phrase");
    assert_eq!(phrase.split(' ').count(), 3);
    assert!(mail.html.contains(phrase), "{}", mail.html);
    let unknown = request(&server, "nobody@example.com").await.json();
    assert!(
        unknown["phrase"].is_string(),
        "an unknown email looks the same"
    );
    // The first code died when the second was issued.
    let old = login(&server, first["otpId"].as_str().unwrap(), &first_code).await;
    assert_eq!(old.status, 400);
    let ok = login(&server, second["otpId"].as_str().unwrap(), &mail.otp_code()).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
}

#[tokio::test]
async fn auto_create_signs_up_on_the_first_code() {
    let (server, sink, admin) = setup(json!({"enabled": true, "autoCreate": true})).await;
    // users' default createRule is "" (anyone may sign up).
    let res = request(&server, "new@example.com").await;
    let otp_id = res.json()["otpId"].as_str().unwrap().to_string();
    let code = sink.next(WAIT).await.expect("mail").otp_code();
    wait_sent(&server).await;
    let ok = login(&server, &otp_id, &code).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json()["record"]["verified"], true);
    // With a createRule that refuses guests, nothing is created or sent.
    server
        .patch_collection(&admin, "users", json!({"createRule": null}))
        .await;
    let res = request(&server, "other@example.com").await;
    assert_eq!(res.status, 200);
    assert!(sink.next(Duration::from_millis(500)).await.is_none());
    let users = server
        .get("/api/collections/users/records", Some(&admin))
        .await
        .json();
    assert_eq!(users["totalItems"], 1);
}

#[tokio::test]
async fn without_smtp_the_code_goes_to_the_outbox() {
    let server = TestServer::start().await;
    let admin = server.superuser_token().await;
    server
        .patch_collection(&admin, "users", json!({"otp": {"enabled": true}}))
        .await;
    server
        .create_user(&admin, "hal@example.com", "pass-123456", true)
        .await;
    let otp_id = request(&server, "hal@example.com").await.json()["otpId"]
        .as_str()
        .unwrap()
        .to_string();
    let outbox = common::data_dir(server.dir.path()).join("outbox");
    let mut eml = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Some(entry) = std::fs::read_dir(&outbox).ok().and_then(|mut d| d.next()) {
            eml = Some(std::fs::read_to_string(entry.unwrap().path()).unwrap());
            break;
        }
    }
    let eml = eml.expect("an .eml in the outbox");
    let mail = Mail::parse(&eml);
    let code = mail.otp_code();
    assert_eq!(code.len(), 8);
    let ok = login(&server, &otp_id, &code).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
}
