//! JS record hooks (§9.2–9.4) through real requests: request hooks that change or refuse
//! writes, model hooks, list/view/enrich shaping, hooks nested inside `$app.save()` from a
//! route, `$app.runInTransaction`, the OTP flow's hooks with a real SMTP sink, and
//! PocketBase's documented record examples copied as they are.

mod common;

use std::time::{Duration, Instant};

use common::smtp::{Mail, SmtpSink};
use common::{Response, TestServer, expect};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);

/// A base collection with public rules and text fields `title, status, ref, seen`.
async fn collection(server: &TestServer, admin: &str, name: &str) {
    let fields: Vec<Value> = ["title", "status", "ref", "seen"]
        .iter()
        .map(|f| json!({"name": f, "type": "text"}))
        .collect();
    let body = json!({"name": name, "type": "base", "listRule": "", "viewRule": "",
        "createRule": "", "updateRule": "", "deleteRule": "", "fields": fields});
    let res = server
        .post("/api/collections", Some(admin), &body.to_string())
        .await;
    assert_eq!(res.status, 200, "create {name}: {}", res.body);
}

async fn setup(hooks: &[(&str, &str)]) -> (TestServer, String) {
    let server = TestServer::start_hooks(hooks).await;
    let admin = server.superuser_token().await;
    for name in ["posts", "notes"] {
        collection(&server, &admin, name).await;
    }
    (server, admin)
}

async fn create(server: &TestServer, collection: &str, body: Value) -> Response {
    server
        .post(
            &format!("/api/collections/{collection}/records"),
            None,
            &body.to_string(),
        )
        .await
}

/// The stored records of a collection (as a superuser sees them), in insertion order.
async fn stored(server: &TestServer, admin: &str, collection: &str) -> Vec<Value> {
    let res = server
        .get(
            &format!("/api/collections/{collection}/records?perPage=100"),
            Some(admin),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.json()["items"].as_array().unwrap().clone()
}

fn titles(records: &[Value]) -> Vec<&str> {
    records
        .iter()
        .map(|r| r["title"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn create_request_hooks_change_or_refuse_writes_per_collection() {
    let hook = r#"
onRecordCreateRequest((e) => {
    e.record.set("title", e.record.get("title") + " (checked)");
    e.record.set("seen", e.collection.name + "/" + (e.auth ? "user" : "guest"));
    e.next();
}, "posts");

onRecordCreateRequest((e) => {
    const title = e.record.get("title");
    if (title === "boom") {
        throw new BadRequestError("no booms", { title: new ValidationError("no_boom", "booms are not allowed") });
    }
    if (title === "plain error") throw new Error("something internal");
    if (title === "spin") while (true) {}
    e.next();
});
"#;
    let (server, admin) = setup(&[("records.pb.js", hook)]).await;

    let res = create(&server, "posts", json!({"title": "hello"})).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json()["title"], "hello (checked)");
    assert_eq!(res.json()["seen"], "posts/guest");
    // The untagged handler runs after the tagged one (same priority, registration order).
    let res = create(&server, "posts", json!({"title": "boom"})).await;
    assert_eq!(res.json()["title"], "boom (checked)");
    let res = create(&server, "notes", json!({"title": "hello"})).await;
    assert_eq!(
        (res.status, &res.json()["title"], &res.json()["seen"]),
        (200, &json!("hello"), &json!("")),
        "another collection is untouched"
    );

    let refused: [(&str, u16, &str); 3] = [
        (
            "boom",
            400,
            r#"{"data":{"title":{"code":"no_boom","message":"Booms are not allowed."}},"message":"No booms.","status":400}"#,
        ),
        (
            "plain error",
            400,
            r#"{"data":{},"message":"Something went wrong while processing your request.","status":400}"#,
        ),
        (
            "spin",
            503,
            r#"{"data":{},"message":"The hook handler took too long to complete.","status":503}"#,
        ),
    ];
    for (title, status, body) in refused {
        let res = create(&server, "notes", json!({"title": title})).await;
        expect(&res, status, body);
    }
    assert_eq!(
        titles(&stored(&server, &admin, "posts").await),
        ["hello (checked)", "boom (checked)"]
    );
    assert_eq!(
        titles(&stored(&server, &admin, "notes").await),
        ["hello"],
        "nothing refused was written"
    );
}

#[tokio::test]
async fn model_hooks_wrap_the_write_and_after_success_sees_it_stored() {
    let hook = r#"
onRecordCreate((e) => {
    if (e.record.get("title") === "veto") throw new ForbiddenError("vetoed by the model hook");
    e.record.set("status", "set by onRecordCreate");
    e.next();
    $app.store().set("created:" + e.record.get("title"), e.record.id);
}, "posts");

onRecordAfterCreateSuccess((e) => {
    const found = $app.findRecordById("posts", e.record.id);
    $app.store().set("after:" + found.get("title"), found.get("status"));
    e.next();
}, "posts");

onRecordUpdate((e) => {
    e.record.set("seen", "updated to " + e.record.get("title"));
    e.next();
}, "posts");

onRecordAfterDeleteSuccess((e) => {
    $app.store().set("deleted", e.record.id);
    e.next();
}, "posts");

routerAdd("GET", "/seen", (e) => e.json(200, $app.store().getAll()));
"#;
    let (server, admin) = setup(&[("records.pb.js", hook)]).await;
    let res = create(&server, "posts", json!({"title": "one", "status": "draft"})).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json()["status"], "set by onRecordCreate");
    let id = res.json()["id"].as_str().unwrap().to_string();

    let res = create(&server, "posts", json!({"title": "veto"})).await;
    expect(
        &res,
        403,
        r#"{"data":{},"message":"Vetoed by the model hook.","status":403}"#,
    );
    assert_eq!(titles(&stored(&server, &admin, "posts").await), ["one"]);

    let path = format!("/api/collections/posts/records/{id}");
    let res = server.patch(&path, None, r#"{"title":"two"}"#).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json()["seen"], "updated to two");
    expect(&server.delete(&path, None).await, 204, "");

    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let seen = server.get("/seen", None).await.json();
        if seen.get("deleted").is_some() {
            assert_eq!(
                seen,
                json!({"created:one": id, "after:one": "set by onRecordCreate", "deleted": id})
            );
            break;
        }
        assert!(Instant::now() < deadline, "{seen}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn update_and_delete_requests_may_be_refused() {
    let hook = r#"
onRecordUpdateRequest((e) => {
    if (e.record.get("status") === "locked") throw new ForbiddenError("locked posts stay as they are");
    e.record.set("seen", e.requestInfo().body.title + " by " + (e.auth ? e.auth.collection().name : "guest"));
    e.next();
}, "posts");

onRecordDeleteRequest((e) => {
    if (e.record.get("status") !== "deletable") throw new BadRequestError("not deletable");
    e.next();
}, "posts");
"#;
    let (server, admin) = setup(&[("records.pb.js", hook)]).await;
    let res = create(&server, "posts", json!({"title": "a"})).await;
    let id = res.json()["id"].as_str().unwrap().to_string();
    let path = format!("/api/collections/posts/records/{id}");

    let res = server
        .patch(&path, Some(&admin), r#"{"title":"b","status":"locked"}"#)
        .await;
    expect(
        &res,
        403,
        r#"{"data":{},"message":"Locked posts stay as they are.","status":403}"#,
    );
    let res = server.patch(&path, Some(&admin), r#"{"title":"b"}"#).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json()["seen"], "b by _superusers");

    let res = server.delete(&path, None).await;
    expect(
        &res,
        400,
        r#"{"data":{},"message":"Not deletable.","status":400}"#,
    );
    let kept = stored(&server, &admin, "posts").await;
    assert_eq!((titles(&kept), &kept[0]["status"]), (vec!["b"], &json!("")));
    let res = server.patch(&path, None, r#"{"status":"deletable"}"#).await;
    assert_eq!(res.status, 200, "{}", res.body);
    expect(&server.delete(&path, None).await, 204, "");
    assert!(stored(&server, &admin, "posts").await.is_empty());
}

#[tokio::test]
async fn list_view_and_enrich_hooks_shape_the_answers_only() {
    let hook = r#"
onRecordsListRequest((e) => {
    for (const r of e.records) r.set("title", r.get("title").toUpperCase());
    e.next();
}, "posts");

onRecordViewRequest((e) => {
    if (e.record.get("status") === "secret") throw new NotFoundError();
    e.record.set("title", "viewed: " + e.record.get("title"));
    e.next();
}, "posts");

onRecordEnrich((e) => {
    e.record.set("title", e.record.get("title") + "!");
    e.record.set("status", e.requestInfo.auth ? "for a user" : "for a guest");
    e.next();
}, "notes");

routerAdd("GET", "/raw/{collection}/{id}", (e) => {
    const r = $app.findRecordById(e.request.pathValue("collection"), e.request.pathValue("id"));
    return e.json(200, { title: r.get("title"), status: r.get("status") });
});
"#;
    let (server, admin) = setup(&[("records.pb.js", hook)]).await;
    let mut ids = Vec::new();
    for (title, status) in [("first", "open"), ("second", "secret")] {
        let res = create(&server, "posts", json!({"title": title, "status": status})).await;
        assert_eq!(res.json()["title"], title, "create is not a list or view");
        ids.push(res.json()["id"].as_str().unwrap().to_string());
    }
    let list = server
        .get("/api/collections/posts/records", None)
        .await
        .json();
    assert_eq!(
        titles(list["items"].as_array().unwrap()),
        ["FIRST", "SECOND"]
    );
    assert_eq!(list["totalItems"], 2);
    let view = server
        .get(&format!("/api/collections/posts/records/{}", ids[0]), None)
        .await;
    assert_eq!(view.json()["title"], "viewed: first");
    let hidden = server
        .get(&format!("/api/collections/posts/records/{}", ids[1]), None)
        .await;
    expect(
        &hidden,
        404,
        r#"{"data":{},"message":"The requested resource wasn't found.","status":404}"#,
    );
    let raw = server.get(&format!("/raw/posts/{}", ids[0]), None).await;
    assert_eq!(raw.json(), json!({"title": "first", "status": "open"}));

    // Enrich: every record answer of `notes` (create, view, list), never the stored data.
    let res = create(&server, "notes", json!({"title": "n", "status": "private"})).await;
    let created = res.json();
    assert_eq!(
        (&created["title"], &created["status"]),
        (&json!("n!"), &json!("for a guest"))
    );
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/collections/notes/records/{id}");
    let view = server.get(&path, None).await.json();
    assert_eq!(
        (&view["title"], &view["status"]),
        (&json!("n!"), &json!("for a guest"))
    );
    let list = server
        .get("/api/collections/notes/records", Some(&admin))
        .await
        .json();
    assert_eq!(
        (&list["items"][0]["title"], &list["items"][0]["status"]),
        (&json!("n!"), &json!("for a user"))
    );
    let raw = server.get(&format!("/raw/notes/{id}"), None).await;
    assert_eq!(raw.json(), json!({"title": "n", "status": "private"}));
}

#[tokio::test]
async fn hooks_nest_inside_a_route_save() {
    let hook = r#"
routerAdd("POST", "/nested", (e) => {
    const body = e.requestInfo().body;
    const note = new Record($app.findCollectionByNameOrId("notes"));
    note.set("title", body.title);
    note.set("ref", body.ref);
    $app.save(note);
    return e.json(200, { id: note.id, title: note.get("title"), seen: note.get("seen") });
});

onRecordCreate((e) => {
    const post = $app.findRecordById("posts", e.record.get("ref"));
    const count = $app.countRecords("posts");
    e.record.set("seen", post.get("title") + " / " + count);
    e.next();
}, "notes");
"#;
    let (server, admin) = setup(&[("nested.pb.js", hook)]).await;
    for title in ["first post", "second post"] {
        create(&server, "posts", json!({"title": title})).await;
    }
    let post = stored(&server, &admin, "posts").await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = server
        .post(
            "/nested",
            None,
            &json!({"title": "a note", "ref": post}).to_string(),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let answer = res.json();
    assert_eq!(answer["title"], "a note");
    let notes = stored(&server, &admin, "notes").await;
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["id"], answer["id"]);
    assert_eq!(notes[0]["seen"], "first post / 2", "the nested hook ran");

    // The nested hook's error fails the route (a missing post: 404 from findRecordById).
    let res = server
        .post(
            "/nested",
            None,
            &json!({"title": "orphan", "ref": "nope"}).to_string(),
        )
        .await;
    expect(
        &res,
        404,
        r#"{"data":{},"message":"The requested resource wasn't found.","status":404}"#,
    );
    assert_eq!(stored(&server, &admin, "notes").await.len(), 1);
}

#[tokio::test]
async fn transactions_commit_or_roll_back() {
    let hook = r#"
routerAdd("POST", "/tx/{mode}", (e) => {
    const mode = e.request.pathValue("mode");
    const posts = $app.findCollectionByNameOrId("posts");
    let savedId = "";
    $app.runInTransaction((txApp) => {
        for (const title of [mode + "-1", mode + "-2"]) {
            const r = new Record(posts);
            r.set("title", title);
            txApp.save(r);
            savedId = r.id;
        }
        const again = txApp.findRecordById("posts", savedId);
        if (mode === "fail") throw new BadRequestError("rolled back after " + again.get("title"));
    });
    return e.json(200, { count: $app.countRecords("posts") });
});
"#;
    let (server, admin) = setup(&[("tx.pb.js", hook)]).await;
    create(&server, "posts", json!({"title": "before"})).await;

    let res = server.post("/tx/fail", None, "").await;
    expect(
        &res,
        400,
        r#"{"data":{},"message":"Rolled back after fail-2.","status":400}"#,
    );
    assert_eq!(titles(&stored(&server, &admin, "posts").await), ["before"]);

    let res = server.post("/tx/ok", None, "").await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json(), json!({"count": 3}));
    assert_eq!(
        titles(&stored(&server, &admin, "posts").await),
        ["before", "ok-1", "ok-2"]
    );
}

// ---- OTP hooks ---------------------------------------------------------------------------

const OTP_HOOKS: &str = r#"
onRecordRequestOTPRequest((e) => {
    const email = e.requestInfo().body.email;
    if (email === "blocked@example.com") throw new BadRequestError("blocked email");
    $app.store().set("request:" + email, {
        isNull: e.record === null,
        email: e.record ? e.record.email() : null,
        collection: e.collection.name,
        codeLength: e.password.length,
    });
    e.next();
}, "users");

onMailerRecordOTPSend((e) => {
    e.message.subject = "Your code for " + e.record.email() + " is " + e.meta.password;
    e.next();
});

onRecordAuthWithOTPRequest((e) => {
    $app.store().set("login", { otpId: e.otp.id, email: e.record.email() });
    e.next();
});

onRecordAuthRequest((e) => {
    $app.store().set("authMethod", e.authMethod);
    e.next();
}, "users");

routerAdd("GET", "/otp-seen", (e) => e.json(200, $app.store().getAll()));
"#;

async fn otp_request(server: &TestServer, email: &str) -> Response {
    server
        .post(
            "/api/collections/users/request-otp",
            None,
            &json!({"email": email}).to_string(),
        )
        .await
}

#[tokio::test]
async fn otp_hooks_see_and_steer_the_flow() {
    let server = TestServer::start_hooks(&[("otp.pb.js", OTP_HOOKS)]).await;
    let sink = SmtpSink::start().await;
    let admin = server.superuser_token().await;
    server.use_smtp(&admin, sink.port).await;
    server
        .patch_collection(&admin, "users", json!({"otp": {"enabled": true}}))
        .await;
    server
        .create_user(&admin, "ann@example.com", "pass-123456", true)
        .await;

    let unknown = otp_request(&server, "who@example.com").await;
    assert_eq!(unknown.status, 200, "{}", unknown.body);
    let blocked = otp_request(&server, "blocked@example.com").await;
    expect(
        &blocked,
        400,
        r#"{"data":{},"message":"Blocked email.","status":400}"#,
    );
    let res = otp_request(&server, "ann@example.com").await;
    assert_eq!(res.status, 200, "{}", res.body);
    let otp_id = res.json()["otpId"].as_str().unwrap().to_string();

    let mail: Mail = sink.next(WAIT).await.expect("otp mail");
    let prefix = "Your code for ann@example.com is ";
    assert!(mail.subject.starts_with(prefix), "{}", mail.subject);
    let code = mail.subject[prefix.len()..].to_string();
    assert_eq!(code.len(), 8, "{}", mail.subject);
    assert!(
        mail.html.contains(&format!("<strong>{code}</strong>")),
        "{}",
        mail.html
    );
    assert!(
        sink.next(Duration::from_millis(300)).await.is_none(),
        "only the known email got a mail"
    );

    let login = server
        .post(
            "/api/collections/users/auth-with-otp",
            None,
            &json!({"otpId": otp_id, "password": code}).to_string(),
        )
        .await;
    assert_eq!(login.status, 200, "{}", login.body);
    let seen = server.get("/otp-seen", None).await.json();
    assert_eq!(
        seen,
        json!({
            "request:who@example.com": {"isNull": true, "email": null, "collection": "users", "codeLength": 8},
            "request:ann@example.com": {"isNull": false, "email": "ann@example.com", "collection": "users", "codeLength": 8},
            "login": {"otpId": otp_id, "email": "ann@example.com"},
            "authMethod": "otp",
        })
    );
}

// ---- PocketBase's documented examples, copied as they are --------------------------------

/// An `articles` collection for the docs examples, and a `role` field on `users`.
async fn articles(server: &TestServer, admin: &str) {
    let fields: Vec<Value> = ["title", "status", "someStaffOnlyField"]
        .iter()
        .map(|f| json!({"name": f, "type": "text"}))
        .collect();
    let body = json!({"name": "articles", "type": "base", "listRule": "", "viewRule": "",
        "createRule": "", "updateRule": "", "deleteRule": "", "fields": fields});
    let res = server
        .post("/api/collections", Some(admin), &body.to_string())
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let users = server
        .get("/api/collections/users", Some(admin))
        .await
        .json();
    let mut fields = users["fields"].as_array().unwrap().clone();
    fields.push(json!({"name": "role", "type": "text"}));
    server
        .patch_collection(admin, "users", json!({ "fields": fields }))
        .await;
}

/// A user with `role`, logged in.
async fn user_with_role(server: &TestServer, admin: &str, email: &str, role: &str) -> String {
    let id = server.create_user(admin, email, "pass-123456", true).await;
    let res = server
        .patch(
            &format!("/api/collections/users/records/{id}"),
            Some(admin),
            &json!({ "role": role }).to_string(),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    server.user_token(email, "pass-123456").await
}

/// pocketbase.io/docs/js-records, "Intercept create request".
const DOCS_CREATE_REQUEST: &str = r#"
onRecordCreateRequest((e) => {
    // ignore for superusers
    if (e.hasSuperuserAuth()) {
        return e.next()
    }

    // overwrite the submitted "status" field value
    e.record.set("status", "pending")

    // or you can also prevent the create event by returning an error
    let status = e.record.get("status")
    if (
        status != "pending" &&
        // guest or not an editor
        (!e.auth || e.auth.get("role") != "editor")
    ) {
        throw new BadRequestError("Only editors can set a status different from pending")
    }

    e.next()
}, "articles")
"#;

#[tokio::test]
async fn docs_intercept_create_request_example() {
    let server = TestServer::start_hooks(&[("main.pb.js", DOCS_CREATE_REQUEST)]).await;
    let admin = server.superuser_token().await;
    articles(&server, &admin).await;
    let editor = user_with_role(&server, &admin, "ed@example.com", "editor").await;
    let body = json!({"title": "t", "status": "published"}).to_string();
    for (token, status) in [
        (None, "pending"),
        (Some(editor.as_str()), "pending"),
        (Some(admin.as_str()), "published"),
    ] {
        let res = server
            .post("/api/collections/articles/records", token, &body)
            .await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(res.json()["status"], status, "token {token:?}");
    }
}

/// pocketbase.io/docs/js-records, "Transaction" (top-level code in PocketBase's docs; the
/// database is only reachable from handlers, so it runs in a route here).
const DOCS_TRANSACTION: &str = r#"
routerAdd("POST", "/docs-transaction", (e) => {
        let titles = ["title1", "title2", "title3"]

        let collection = $app.findCollectionByNameOrId("articles")

        $app.runInTransaction((txApp) => {
            // create new record for each title
            for (let title of titles) {
                let record = new Record(collection)

                record.set("title", title)

                txApp.save(record)
            }
        })
    return e.noContent(204)
})
"#;

#[tokio::test]
async fn docs_transaction_example() {
    let server = TestServer::start_hooks(&[("main.pb.js", DOCS_TRANSACTION)]).await;
    let admin = server.superuser_token().await;
    articles(&server, &admin).await;
    expect(&server.post("/docs-transaction", None, "").await, 204, "");
    assert_eq!(
        titles(&stored(&server, &admin, "articles").await),
        ["title1", "title2", "title3"]
    );
}

/// pocketbase.io/docs/js-sending-emails, "Send custom email".
const DOCS_CUSTOM_EMAIL: &str = r#"
onRecordCreateRequest((e) => {
    e.next()

    const message = new MailerMessage({
        from: {
            address: e.app.settings().meta.senderAddress,
            name:    e.app.settings().meta.senderName,
        },
        to:      [{address: e.record.email()}],
        subject: "YOUR_SUBJECT...",
        html:    "YOUR_HTML_BODY...",
        // bcc, cc and custom headers are also supported...
    })

    e.app.newMailClient().send(message)
}, "users")
"#;

#[tokio::test]
async fn docs_custom_email_example() {
    let server = TestServer::start_hooks(&[("main.pb.js", DOCS_CUSTOM_EMAIL)]).await;
    let sink = SmtpSink::start().await;
    let admin = server.superuser_token().await;
    server.use_smtp(&admin, sink.port).await;
    let body = json!({"email": "new@example.com", "password": "pass-123456",
        "passwordConfirm": "pass-123456"})
    .to_string();
    let res = server
        .post("/api/collections/users/records", None, &body)
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let mail = sink.next(WAIT).await.expect("custom mail");
    assert_eq!(mail.subject, "YOUR_SUBJECT...");
    assert_eq!(mail.to, ["new@example.com"]);
    assert!(mail.from.contains("support@example.com"), "{}", mail.from);
    assert!(mail.html.contains("YOUR_HTML_BODY..."), "{}", mail.html);
}

/// pocketbase.io/docs/js-sending-emails, "Overwrite system emails".
const DOCS_MAILER_HOOK: &str = r#"
onMailerRecordPasswordResetSend((e) => {
    // modify the subject
    e.message.subject += (" " + e.record.get("name"))

    e.next()
})
"#;

/// Tells when the mail chain is over, so the test does not end while the worker still
/// talks to the SMTP sink (see `docs_mailer_hook_example`).
const MAIL_SENT: &str = r#"
onMailerRecordPasswordResetSend((e) => {
    e.next();
    $app.store().set("sent", true);
});
routerAdd("GET", "/sent", (e) => e.json(200, { sent: $app.store().get("sent") }));
"#;

#[tokio::test]
async fn docs_mailer_hook_example() {
    let server = TestServer::start_hooks(&[
        ("main.pb.js", DOCS_MAILER_HOOK),
        ("zz_sent.pb.js", MAIL_SENT),
    ])
    .await;
    let sink = SmtpSink::start().await;
    let admin = server.superuser_token().await;
    server.use_smtp(&admin, sink.port).await;
    let id = server
        .create_user(&admin, "ann@example.com", "pass-123456", true)
        .await;
    let res = server
        .patch(
            &format!("/api/collections/users/records/{id}"),
            Some(&admin),
            r#"{"name":"Ann"}"#,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let res = server
        .post(
            "/api/collections/users/request-password-reset",
            None,
            r#"{"email":"ann@example.com"}"#,
        )
        .await;
    expect(&res, 204, "");
    let mail = sink.next(WAIT).await.expect("reset mail");
    assert_eq!(mail.subject, "Reset your Acme password Ann");
    // The mail goes out after the 204, on a JS worker driving the SMTP client on this
    // test's runtime: wait for the chain to end before the runtime is dropped, or the
    // drop blocks on the worker while the worker waits for the runtime's I/O.
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.get("/sent", None).await.json()["sent"] != true {
        assert!(Instant::now() < deadline, "the mail chain never ended");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
