//! PocketBase's JSVM semantics that are easy to get subtly wrong: enrich visibility and
//! custom data, `requestInfo` shapes, returned errors, errors after a written response,
//! default messages, request hooks answering themselves, `$app.save` seeing model-hook
//! changes, reads inside `runInTransaction`, and shutdown with a JS job in flight.

mod common;

use serde_json::{Value, json};

use common::TestServer;

async fn posts(server: &TestServer, admin: &str) {
    let body = json!({"name": "posts", "type": "base", "listRule": "", "viewRule": "", "createRule": "",
        "updateRule": "", "deleteRule": "",
        "fields": [{"name": "title", "type": "text"}, {"name": "role", "type": "text"},
                   {"name": "score", "type": "number"}, {"name": "seen", "type": "text"}]});
    let res = server
        .post("/api/collections", Some(admin), &body.to_string())
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
}

async fn create(server: &TestServer, token: Option<&str>, body: Value) -> common::Response {
    server
        .post("/api/collections/posts/records", token, &body.to_string())
        .await
}

/// PocketBase's own "Hide/unhide fields" example (js-records docs), as-is.
const ENRICH_DOCS: &str = r#"
onRecordEnrich((e) => {
    // hide one or more fields
    e.record.hide("role")

    // add new custom field for registered users
    if (e.requestInfo.auth?.collection()?.name == "users") {
        e.record.withCustomData(true) // for security requires explicitly allowing it
        e.record.set("computedScore", e.record.get("score") * e.requestInfo.auth.get("base"))
    }

    e.next()
}, "posts")
"#;

#[tokio::test]
async fn enrich_hides_fields_and_adds_custom_data_as_documented() {
    let server = TestServer::start_hooks(&[("enrich.pb.js", ENRICH_DOCS)]).await;
    let admin = server.superuser_token().await;
    posts(&server, &admin).await;
    let patch = json!({"fields": [{"name": "base", "type": "number"}]});
    let users = server
        .get("/api/collections/users", Some(&admin))
        .await
        .json();
    let mut fields = users["fields"].as_array().cloned().unwrap_or_default();
    fields.extend(patch["fields"].as_array().cloned().unwrap_or_default());
    server
        .patch_collection(&admin, "users", json!({"fields": fields}))
        .await;
    let user_id = server
        .create_user(&admin, "u@example.com", "pass-123456", true)
        .await;
    let res = server
        .patch(
            &format!("/api/collections/users/records/{user_id}"),
            Some(&admin),
            r#"{"base": 10}"#,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let user = server.user_token("u@example.com", "pass-123456").await;

    let guest = create(
        &server,
        None,
        json!({"title": "t", "role": "admin", "score": 4}),
    )
    .await;
    assert_eq!(guest.status, 200, "{}", guest.body);
    let body = guest.json();
    assert!(body.get("role").is_none(), "{body}");
    assert!(body.get("computedScore").is_none(), "{body}");
    assert_eq!(body["title"], "t");

    let id = body["id"].as_str().unwrap().to_string();
    let viewed = server
        .get(&format!("/api/collections/posts/records/{id}"), Some(&user))
        .await
        .json();
    assert!(viewed.get("role").is_none(), "{viewed}");
    assert_eq!(viewed["computedScore"], 40);
}

#[tokio::test]
async fn request_info_exposes_has_superuser_auth() {
    let hook = r#"
routerAdd("GET", "/api/info", (e) => e.json(200, {
  route: typeof e.requestInfo().hasSuperuserAuth,
  value: e.requestInfo().hasSuperuserAuth(),
}));
onRecordCreateRequest((e) => {
  e.record.set("seen", String(e.requestInfo().hasSuperuserAuth()));
  return e.next();
}, "posts");
"#;
    let server = TestServer::start_hooks(&[("info.pb.js", hook)]).await;
    let admin = server.superuser_token().await;
    posts(&server, &admin).await;
    let res = server.get("/api/info", Some(&admin)).await;
    assert_eq!(res.json(), json!({"route": "function", "value": true}));
    let res = create(&server, Some(&admin), json!({"title": "a"})).await;
    assert_eq!(res.json()["seen"], "true");
    let res = create(&server, None, json!({"title": "a"})).await;
    assert_eq!(res.json()["seen"], "false");
}

#[tokio::test]
async fn errors_returned_written_late_or_without_message_answer_as_pocketbase() {
    let hook = r#"
routerAdd("GET", "/api/returned", (e) => e.badRequestError("returned"));
routerAdd("GET", "/api/returned-class", (e) => { return new NotFoundError("gone"); });
routerAdd("GET", "/api/late", (e) => { e.json(200, { written: true }); throw new BadRequestError("too late"); });
routerAdd("GET", "/api/teapot", (e) => { throw new ApiError(418); });
routerAdd("GET", "/api/unavailable", (e) => { throw new ApiError(503, ""); });
routerAdd("GET", "/api/super", (e) => e.string(200, "ok"), $apis.requireSuperuserAuth());
"#;
    let server = TestServer::start_hooks(&[("errors.pb.js", hook)]).await;
    let cases: [(&str, u16, Value); 6] = [
        (
            "/api/returned",
            400,
            json!({"data": {}, "message": "Returned.", "status": 400}),
        ),
        (
            "/api/returned-class",
            404,
            json!({"data": {}, "message": "Gone.", "status": 404}),
        ),
        ("/api/late", 200, json!({"written": true})),
        (
            "/api/teapot",
            418,
            json!({"data": {}, "message": "I'm a teapot.", "status": 418}),
        ),
        (
            "/api/unavailable",
            503,
            json!({"data": {}, "message": "Service Unavailable.", "status": 503}),
        ),
        (
            "/api/super",
            401,
            json!({"data": {}, "message": "The request requires valid record authorization token.", "status": 401}),
        ),
    ];
    for (path, status, body) in cases {
        let res = server.get(path, None).await;
        assert_eq!((res.status, res.json()), (status, body), "{path}");
    }
}

#[tokio::test]
async fn request_hooks_may_answer_themselves_or_answer_nothing() {
    let hook = r#"
onRecordCreateRequest((e) => {
  const title = e.record.get("title");
  if (title === "teapot") return e.json(418, { short: "and stout" });
  if (title === "silent") return;
  return e.next();
}, "posts");
onRecordsListRequest((e) => {
  if (e.requestInfo().query.plain === "1") return e.string(200, "plain list");
  return e.next();
}, "posts");
"#;
    let server = TestServer::start_hooks(&[("answer.pb.js", hook)]).await;
    let admin = server.superuser_token().await;
    posts(&server, &admin).await;
    let res = create(&server, None, json!({"title": "teapot"})).await;
    assert_eq!(
        (res.status, res.json()),
        (418, json!({"short": "and stout"}))
    );
    let res = create(&server, None, json!({"title": "silent"})).await;
    assert_eq!((res.status, res.body.as_str()), (200, ""));
    let res = create(&server, None, json!({"title": "stored"})).await;
    assert_eq!(res.json()["title"], "stored");
    let list = server
        .get("/api/collections/posts/records", None)
        .await
        .json();
    assert_eq!(
        list["totalItems"], 1,
        "only the one that reached the default action"
    );
    let res = server
        .get("/api/collections/posts/records?plain=1", None)
        .await;
    assert_eq!((res.status, res.body.as_str()), (200, "plain list"));
    assert_eq!(
        res.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
}

#[tokio::test]
async fn app_save_sees_model_hook_changes_and_transactions_see_their_writes() {
    let hook = r#"
onRecordCreate((e) => { e.record.set("seen", "by hook"); e.next(); }, "posts");
routerAdd("POST", "/api/save", (e) => {
  const r = new Record($app.findCollectionByNameOrId("posts"), { title: "from route" });
  $app.save(r);
  return e.json(200, { seen: r.get("seen"), id: r.id !== "" });
});
routerAdd("POST", "/api/tx", (e) => {
  let seen = {};
  $app.runInTransaction((txApp) => {
    const r = new Record(txApp.findCollectionByNameOrId("posts"), { title: "in tx" });
    txApp.save(r);
    seen = {
      count: txApp.countRecords("posts"),
      filter: txApp.findRecordsByFilter("posts", "title = {:t}", "", 10, 0, { t: "in tx" }).length,
      first: txApp.findFirstRecordByFilter("posts", "title = 'in tx'").get("title"),
      data: txApp.findFirstRecordByData("posts", "title", "in tx").id === r.id,
      ids: txApp.findRecordsByIds("posts", [r.id]).length,
      outside: $app.countRecords("posts"),
    };
  });
  return e.json(200, seen);
});
"#;
    let server = TestServer::start_hooks(&[("save.pb.js", hook)]).await;
    let admin = server.superuser_token().await;
    posts(&server, &admin).await;
    let res = server.post("/api/save", None, "{}").await;
    assert_eq!(res.json(), json!({"seen": "by hook", "id": true}));
    let started = std::time::Instant::now();
    let res = server.post("/api/tx", None, "{}").await;
    assert_eq!(
        res.json(),
        json!({"count": 2, "filter": 1, "first": "in tx", "data": true, "ids": 1, "outside": 1}),
        "{}",
        res.body
    );
    assert!(
        started.elapsed().as_secs() < 2,
        "no read waits for the writer"
    );
    assert_eq!(
        server
            .get("/api/collections/posts/records", None)
            .await
            .json()["totalItems"],
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_with_a_mailer_hook_in_flight_does_not_hang() {
    let hook = r#"
onMailerRecordPasswordResetSend((e) => { sleep(200); e.next(); });
"#;
    let server = TestServer::start_hooks(&[("mail.pb.js", hook)]).await;
    let admin = server.superuser_token().await;
    server
        .create_user(&admin, "r@example.com", "pass-123456", true)
        .await;
    let res = server
        .post(
            "/api/collections/users/request-password-reset",
            None,
            r#"{"email":"r@example.com"}"#,
        )
        .await;
    assert_eq!(res.status, 204);
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(20), server.stop()).await;
    assert!(stopped.is_ok(), "the server stopped");
}

#[tokio::test]
async fn collection_hooks_wrap_collection_changes() {
    let hook = r#"
onCollectionCreate((e) => {
  if (e.collection.name === "forbidden") throw new BadRequestError("no such name");
  e.collection.listRule = "";
  e.next();
  $app.store().set("created", e.collection.id !== "");
});
onCollectionAfterUpdateSuccess((e) => {
  $app.store().set("renamed", e.collection.original().name + " -> " + e.collection.name);
});
onCollectionDelete((e) => { $app.store().set("deleted", e.collection.name); e.next(); }, "renamed");
routerAdd("GET", "/api/seen", (e) => e.json(200, $app.store().getAll()));
"#;
    let server = TestServer::start_hooks(&[("collections.pb.js", hook)]).await;
    let admin = server.superuser_token().await;
    let res = server
        .post(
            "/api/collections",
            Some(&admin),
            r#"{"name":"forbidden","type":"base"}"#,
        )
        .await;
    assert_eq!(
        (res.status, res.json()),
        (
            400,
            json!({"data": {}, "message": "No such name.", "status": 400})
        )
    );
    let res = server
        .post(
            "/api/collections",
            Some(&admin),
            r#"{"name":"things","type":"base"}"#,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(
        res.json()["listRule"],
        "",
        "the handler's change was stored"
    );
    let res = server
        .patch(
            "/api/collections/things",
            Some(&admin),
            r#"{"name":"renamed"}"#,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let res = server
        .delete("/api/collections/renamed", Some(&admin))
        .await;
    assert_eq!(res.status, 204, "{}", res.body);
    let seen = server.get("/api/seen", None).await.json();
    assert_eq!(
        seen,
        json!({"created": true, "renamed": "things -> renamed", "deleted": "renamed"})
    );
}

#[tokio::test]
async fn mails_namespace_sends_the_collection_templates_through_mailer_hooks() {
    let hook = r#"
onMailerRecordVerificationSend((e) => { e.message.subject = "[hooked] " + e.message.subject; e.next(); });
routerAdd("POST", "/api/verify/{id}", (e) => {
  const user = $app.findRecordById("users", e.request.pathValue("id"));
  $mails.sendRecordVerification($app, user);
  return e.noContent(204);
});
"#;
    let server = TestServer::start_hooks(&[("mails.pb.js", hook)]).await;
    let admin = server.superuser_token().await;
    let sink = common::smtp::SmtpSink::start().await;
    server.use_smtp(&admin, sink.port).await;
    let id = server
        .create_user(&admin, "v@example.com", "pass-123456", false)
        .await;
    let res = server.post(&format!("/api/verify/{id}"), None, "").await;
    assert_eq!(res.status, 204, "{}", res.body);
    let mail = sink
        .next(std::time::Duration::from_secs(5))
        .await
        .expect("verification mail");
    assert_eq!(mail.subject, "[hooked] Verify your Acme email");
    assert_eq!(mail.to, ["v@example.com"]);
}

#[tokio::test]
async fn update_hooks_see_the_stored_version_as_original() {
    let hook = r#"
onRecordUpdateRequest((e) => { e.record.set("seen", e.record.original().get("title")); return e.next(); }, "posts");
onRecordUpdate((e) => { e.record.set("role", e.record.original().get("seen") + "/" + e.record.original().get("title")); e.next(); }, "posts");
"#;
    let server = TestServer::start_hooks(&[("original.pb.js", hook)]).await;
    let admin = server.superuser_token().await;
    posts(&server, &admin).await;
    let id = create(&server, None, json!({"title": "a"})).await.json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = server
        .patch(
            &format!("/api/collections/posts/records/{id}"),
            None,
            r#"{"title":"b"}"#,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let body = res.json();
    assert_eq!(
        (&body["title"], &body["seen"], &body["role"]),
        (&json!("b"), &json!("a"), &json!("/a"))
    );
}

#[tokio::test]
async fn template_renders_files_with_layouts_and_escaping() {
    let layout = r#"<html><body>{{block "content" .}}default{{end}}</body></html>"#;
    let page = r#"{{define "content"}}<p>Hello {{.name}}!</p>{{range .items}}<i>{{.}}</i>{{end}}{{raw .html}}{{end}}"#;
    let hook = r#"
routerAdd("GET", "/api/page", (e) => {
  const html = $template.loadFiles(`${__hooks}/views/layout.html`, `${__hooks}/views/page.html`)
    .render({ name: "<World>", items: ["a", "b"], html: "<b>raw</b>" });
  return e.html(200, html);
});
routerAdd("GET", "/api/inline", (e) => e.string(200, $template.loadString("{{if .ok}}yes{{else}}no{{end}} {{len .list}}").render({ ok: true, list: [1, 2, 3] })));
routerAdd("GET", "/api/broken", (e) => e.string(200, $template.loadString("{{nope}}").render({})));
"#;
    let server = TestServer::start_hooks(&[
        ("template.pb.js", hook),
        ("views/layout.html", layout),
        ("views/page.html", page),
    ])
    .await;
    let res = server.get("/api/page", None).await;
    assert_eq!(
        res.body,
        "<html><body><p>Hello &lt;World&gt;!</p><i>a</i><i>b</i><b>raw</b></body></html>"
    );
    assert_eq!(server.get("/api/inline", None).await.body, "yes 3");
    let res = server.get("/api/broken", None).await;
    assert_eq!(res.status, 400, "{}", res.body);
}

#[tokio::test]
async fn auth_flow_request_hooks_see_and_gate_the_flows() {
    let hook = r#"
onRecordAuthWithPasswordRequest((e) => {
  if (e.identity === "blocked@example.com") throw new ForbiddenError("blocked");
  $app.store().set("seen", { identity: e.identity, known: e.record !== null, field: e.identityField });
  return e.next();
}, "users");
onRecordRequestPasswordResetRequest((e) => {
  $app.store().set("reset", e.record.email());
  // not calling e.next(): no mail, an empty 200
}, "users");
onRecordAuthRefreshRequest((e) => { $app.store().set("refreshed", e.record.id); return e.next(); });
routerAdd("GET", "/api/seen", (e) => e.json(200, $app.store().getAll()));
"#;
    let server = TestServer::start_hooks(&[("flows.pb.js", hook)]).await;
    let admin = server.superuser_token().await;
    let id = server
        .create_user(&admin, "a@example.com", "pass-123456", true)
        .await;
    server
        .create_user(&admin, "blocked@example.com", "pass-123456", true)
        .await;
    let token = server.user_token("a@example.com", "pass-123456").await;
    let res = server
        .post(
            "/api/collections/users/auth-with-password",
            None,
            r#"{"identity":"blocked@example.com","password":"pass-123456"}"#,
        )
        .await;
    assert_eq!(
        (res.status, res.json()["message"].as_str()),
        (403, Some("Blocked."))
    );
    let res = server
        .post(
            "/api/collections/users/request-password-reset",
            None,
            r#"{"email":"a@example.com"}"#,
        )
        .await;
    assert_eq!((res.status, res.body.as_str()), (200, ""));
    let res = server
        .post("/api/collections/users/auth-refresh", Some(&token), "")
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let seen = server.get("/api/seen", None).await.json();
    assert_eq!(
        seen,
        json!({"seen": {"identity": "a@example.com", "known": true, "field": ""},
               "reset": "a@example.com", "refreshed": id})
    );
}

#[tokio::test]
async fn after_error_hooks_see_failed_writes() {
    let hook = r#"
onRecordCreate((e) => { if (e.record.get("title") === "bad") throw new BadRequestError("refused"); e.next(); }, "posts");
onRecordAfterCreateError((e) => { $app.store().set("failed", e.record.get("title") + ": " + e.error.message); }, "posts");
routerAdd("GET", "/api/seen", (e) => e.json(200, $app.store().getAll()));
"#;
    let server = TestServer::start_hooks(&[("errors.pb.js", hook)]).await;
    let admin = server.superuser_token().await;
    posts(&server, &admin).await;
    let res = create(&server, None, json!({"title": "bad"})).await;
    assert_eq!(res.status, 400, "{}", res.body);
    assert_eq!(
        server.get("/api/seen", None).await.json(),
        json!({"failed": "bad: Refused."})
    );
}

#[tokio::test]
async fn record_validate_hooks_add_checks_or_skip_validation() {
    let hook = r#"
onRecordValidate((e) => {
  const title = e.record.get("title");
  if (title === "forbidden") throw new BadRequestError("Failed to create record.", { title: new ValidationError("custom", "not this one") });
  if (title === "") return; // skips the field checks, as PocketBase does when next() is not called
  e.next();
}, "posts");
"#;
    let server = TestServer::start_hooks(&[("validate.pb.js", hook)]).await;
    let admin = server.superuser_token().await;
    posts(&server, &admin).await;
    let required = json!({"fields": [{"name": "title", "type": "text", "required": true},
        {"name": "score", "type": "number", "max": 10}]});
    server.patch_collection(&admin, "posts", required).await;
    let res = create(&server, None, json!({"title": "forbidden"})).await;
    assert_eq!(
        (res.status, res.json()),
        (
            400,
            json!({"data": {"title": {"code": "custom", "message": "Not this one."}},
                     "message": "Failed to create record.", "status": 400})
        )
    );
    let res = create(&server, None, json!({"title": "ok", "score": 11})).await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json()["data"]["score"]["code"],
        "validation_max_number_constraint"
    );
    let res = create(&server, None, json!({"title": "", "score": 1})).await;
    assert_eq!(res.status, 200, "validation skipped: {}", res.body);
}

#[tokio::test]
async fn record_query_with_dbx_expressions() {
    let hook = r#"
routerAdd("GET", "/api/query", (e) => {
  const records = arrayOf(new Record);
  $app.recordQuery("posts")
    .andWhere($dbx.hashExp({ role: "staff" }))
    .andWhere($dbx.exp("[[score]] >= {:min}", { min: 2 }))
    .orderBy("score DESC")
    .limit(2)
    .all(records);
  const one = new Record($app.findCollectionByNameOrId("posts"));
  $app.recordQuery("posts").where($dbx.like("title", "50%")).one(one);
  const none = $app.recordQuery("posts").where($dbx.in("title")).all();
  const either = $app.recordQuery("posts").where($dbx.or($dbx.hashExp({ title: "a" }), $dbx.hashExp({ title: "b" }))).all();
  return e.json(200, {
    titles: records.map((r) => r.get("title")),
    one: one.get("title"),
    none: none.length,
    either: either.length,
  });
});
routerAdd("GET", "/api/query-miss", (e) => {
  $app.recordQuery("posts").where($dbx.hashExp({ title: "nope" })).one(new Record($app.findCollectionByNameOrId("posts")));
});
"#;
    let server = TestServer::start_hooks(&[("query.pb.js", hook)]).await;
    let admin = server.superuser_token().await;
    posts(&server, &admin).await;
    for (title, role, score) in [
        ("a", "staff", 1),
        ("b", "staff", 5),
        ("c", "guest", 9),
        ("d", "staff", 3),
        ("50% off", "guest", 0),
    ] {
        let res = create(
            &server,
            None,
            json!({"title": title, "role": role, "score": score}),
        )
        .await;
        assert_eq!(res.status, 200, "{}", res.body);
    }
    let res = server.get("/api/query", None).await;
    assert_eq!(
        res.json(),
        json!({"titles": ["b", "d"], "one": "50% off", "none": 0, "either": 2}),
        "{}",
        res.body
    );
    let res = server.get("/api/query-miss", None).await;
    assert_eq!(res.status, 404, "{}", res.body);
}
