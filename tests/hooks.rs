//! The engine's hook chains with Rust handlers, through real requests: handlers observe and
//! change the OTP code, see `record` = None for unknown emails, rewrite the OTP mail, veto
//! logins, and a failing mail hook leaves no usable OTP.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::TestServer;
use common::smtp::SmtpSink;
use satchel::error::ApiError;
use satchel::hooks::{
    MailerRecordEvent, RecordAuthEvent, RecordEnrichEvent, RecordEvent, RecordOtpRequestEvent,
    RecordRequestEvent, RecordsListRequestEvent,
};
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
        .fetch_all(&mut *server.app.store().writer.turn().await.expect("writer"))
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

async fn posts(server: &TestServer, admin: &str) {
    let body = json!({"name": "posts", "createRule": "", "updateRule": "", "deleteRule": "", "listRule": "",
        "viewRule": "", "fields": [{"name": "title", "type": "text"}],
        "indexes": ["CREATE UNIQUE INDEX idx_title ON posts (title)"]});
    let res = server
        .post("/api/collections", Some(admin), &body.to_string())
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
}

#[tokio::test]
async fn record_model_hooks_wrap_every_write() {
    let (server, _sink, admin) = setup().await;
    posts(&server, &admin).await;
    let hooks = server.app.hooks();
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    hooks.on_record_create.bind(
        0,
        &["posts"],
        Arc::new(|e: &mut RecordEvent, next| {
            Box::pin(async move {
                let title = e.record["title"].as_str().unwrap_or_default().to_string();
                if title == "forbidden" {
                    return Err(ApiError::bad_request("not this one"));
                }
                e.record.insert("title".into(), json!(title.to_uppercase()));
                next.run(e).await
            })
        }),
    );
    for (hook, name) in [
        (&hooks.on_record_after_create_success, "created"),
        (&hooks.on_record_update, "updating"),
        (&hooks.on_record_after_update_success, "updated"),
        (&hooks.on_record_delete, "deleting"),
        (&hooks.on_record_after_delete_success, "deleted"),
    ] {
        let log = seen.clone();
        hook.bind(
            0,
            &["posts"],
            Arc::new(move |e: &mut RecordEvent, next| {
                let log = log.clone();
                Box::pin(async move {
                    next.run(&mut *e).await?;
                    log.lock()
                        .unwrap()
                        .push(format!("{name} {}", e.record["title"]));
                    Ok(())
                })
            }),
        );
    }
    let created = server
        .post(
            "/api/collections/posts/records",
            None,
            r#"{"title":"hello"}"#,
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(
        created.json()["title"],
        "HELLO",
        "the handler's change was stored"
    );
    let id = created.json()["id"].as_str().unwrap().to_string();
    let vetoed = server
        .post(
            "/api/collections/posts/records",
            None,
            r#"{"title":"forbidden"}"#,
        )
        .await;
    assert_eq!(
        vetoed.body,
        r#"{"data":{},"message":"Not this one.","status":400}"#
    );
    // The write's own errors still come through the chain.
    let duplicate = server
        .post(
            "/api/collections/posts/records",
            None,
            r#"{"title":"hello"}"#,
        )
        .await;
    assert_eq!(
        duplicate.json()["data"]["title"]["code"],
        "validation_not_unique"
    );
    let path = format!("/api/collections/posts/records/{id}");
    assert_eq!(
        server
            .patch(&path, None, r#"{"title":"again"}"#)
            .await
            .status,
        200
    );
    assert_eq!(server.delete(&path, None).await.status, 204);
    // Users are another collection: the tagged handlers never saw the auth flows' writes.
    server
        .create_user(&admin, "bob@example.com", "pass-123456", true)
        .await;
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "created \"HELLO\"",
            "updating \"again\"",
            "updated \"again\"",
            "deleting \"again\"",
            "deleted \"again\""
        ]
    );
    let list = server
        .get("/api/collections/posts/records", None)
        .await
        .json();
    assert_eq!(list["totalItems"], 0);
}

#[tokio::test]
async fn batch_after_success_hooks_wait_for_the_commit() {
    let (server, _sink, admin) = setup().await;
    posts(&server, &admin).await;
    let body = r#"{"batch":{"enabled":true}}"#;
    assert_eq!(
        server
            .patch("/api/settings", Some(&admin), body)
            .await
            .status,
        200
    );
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = seen.clone();
    server.app.hooks().on_record_after_create_success.bind(
        0,
        &["posts"],
        Arc::new(move |e: &mut RecordEvent, next| {
            let log = log.clone();
            Box::pin(async move {
                // By now the row is committed and visible to every reader.
                let rows: Vec<(String,)> = sqlx::query_as("SELECT title FROM posts WHERE id = ?")
                    .bind(e.record["id"].as_str().unwrap())
                    .fetch_all(&e.app.store().reader)
                    .await
                    .unwrap();
                log.lock()
                    .unwrap()
                    .push(format!("{} {}", e.record["title"], rows.len()));
                next.run(e).await
            })
        }),
    );
    let item = |title: &str| json!({"method": "POST", "url": "/api/collections/posts/records", "body": {"title": title}});
    let failed = server
        .post(
            "/api/batch",
            None,
            &json!({"requests": [item("a"), item("a")]}).to_string(),
        )
        .await;
    assert_eq!(failed.status, 400, "{}", failed.body);
    assert!(
        seen.lock().unwrap().is_empty(),
        "nothing committed, nothing announced"
    );
    let ok = server
        .post(
            "/api/batch",
            None,
            &json!({"requests": [item("b"), item("c")]}).to_string(),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(*seen.lock().unwrap(), ["\"b\" 1", "\"c\" 1"]);
}

#[tokio::test]
async fn record_request_hooks_see_the_request_and_may_stop_it() {
    let (server, _sink, admin) = setup().await;
    posts(&server, &admin).await;
    let hooks = server.app.hooks();
    hooks.on_record_create_request.bind(
        0,
        &["posts"],
        Arc::new(|e: &mut RecordRequestEvent, next| {
            Box::pin(async move {
                assert!(e.request.auth.is_none(), "a guest");
                let title = e.request.body["title"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                if title == "skip" {
                    return Ok(()); // no next: nothing is written
                }
                e.record.insert("title".into(), json!(format!("{title}!")));
                next.run(e).await
            })
        }),
    );
    hooks.on_record_view_request.bind(
        0,
        &["posts"],
        Arc::new(|e: &mut RecordRequestEvent, next| {
            Box::pin(async move {
                e.record.insert("title".into(), json!("shown differently"));
                next.run(e).await
            })
        }),
    );
    hooks.on_record_delete_request.bind(
        0,
        &["posts"],
        Arc::new(|_: &mut RecordRequestEvent, _| {
            Box::pin(async { Err(ApiError::forbidden("posts are forever")) })
        }),
    );
    let created = server
        .post("/api/collections/posts/records", None, r#"{"title":"hi"}"#)
        .await;
    assert_eq!(created.json()["title"], "hi!");
    let id = created.json()["id"].as_str().unwrap().to_string();
    let skipped = server
        .post(
            "/api/collections/posts/records",
            None,
            r#"{"title":"skip"}"#,
        )
        .await;
    assert_eq!((skipped.status, skipped.body.as_str()), (200, ""));
    let path = format!("/api/collections/posts/records/{id}");
    assert_eq!(
        server.get(&path, None).await.json()["title"],
        "shown differently"
    );
    let refused = server.delete(&path, None).await;
    assert_eq!(
        refused.body,
        r#"{"data":{},"message":"Posts are forever.","status":403}"#
    );
    let list = server
        .get("/api/collections/posts/records", None)
        .await
        .json();
    assert_eq!(list["totalItems"], 1, "one stored, none skipped or deleted");
    assert_eq!(
        list["items"][0]["title"], "hi!",
        "the view hook changed only its answer"
    );
}

#[tokio::test]
async fn list_and_enrich_hooks_shape_the_answers() {
    let (server, _sink, admin) = setup().await;
    posts(&server, &admin).await;
    for title in ["keep", "drop"] {
        let body = json!({"title": title}).to_string();
        assert_eq!(
            server
                .post("/api/collections/posts/records", None, &body)
                .await
                .status,
            200
        );
    }
    let hooks = server.app.hooks();
    hooks.on_records_list_request.bind(
        0,
        &["posts"],
        Arc::new(|e: &mut RecordsListRequestEvent, next| {
            Box::pin(async move {
                e.records.retain(|r| r["title"] != "drop");
                next.run(e).await
            })
        }),
    );
    hooks.on_record_enrich.bind(
        0,
        &["posts"],
        Arc::new(|e: &mut RecordEnrichEvent, next| {
            Box::pin(async move {
                let title = e.record["title"]
                    .as_str()
                    .unwrap_or_default()
                    .to_uppercase();
                e.record.insert("title".into(), json!(title));
                next.run(e).await
            })
        }),
    );
    let list = server
        .get("/api/collections/posts/records", None)
        .await
        .json();
    let titles: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["KEEP"]);
    let created = server
        .post("/api/collections/posts/records", None, r#"{"title":"new"}"#)
        .await;
    assert_eq!(created.json()["title"], "NEW", "enrich shapes every answer");
    let users = server
        .get("/api/collections/users/records", Some(&admin))
        .await
        .json();
    assert_eq!(users["totalItems"], 1, "other collections are untouched");
}
