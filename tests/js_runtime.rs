//! The hooks runtime as a whole: hot reload under load, a generation that fails to load,
//! the bounded queue, `pb_data/types.d.ts`, and JS migrations.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::TestServer;
use satchel::js::pool::Limits;

const V1: &str = r#"routerAdd("GET", "/api/version", (e) => e.json(200, { v: 1 }));"#;
const V2: &str = r#"routerAdd("GET", "/api/version", (e) => e.json(200, { v: 2 }));"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_reload_under_load_drops_nothing() {
    let server = TestServer::start_hooks(&[("version.pb.js", V1)]).await;
    let js = server.js.clone().expect("hooks loaded");
    let _watcher = satchel::watch::watch(&[server.hooks_dir()], Arc::clone(&js)).expect("watch");
    let addr = server.addr;
    let failures = Arc::new(AtomicUsize::new(0));
    let seen_v2 = Arc::new(AtomicUsize::new(0));
    let stop_at = Instant::now() + Duration::from_secs(3);
    let mut clients = Vec::new();
    for _ in 0..8 {
        let (failures, seen_v2) = (Arc::clone(&failures), Arc::clone(&seen_v2));
        clients.push(tokio::spawn(async move {
            let mut count = 0;
            while Instant::now() < stop_at {
                let res = common::send(addr, "GET", "/api/version", &[], &[]).await;
                count += 1;
                match (res.status, res.body.as_str()) {
                    (200, r#"{"v":1}"#) => {}
                    (200, r#"{"v":2}"#) => {
                        seen_v2.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            count
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    std::fs::write(server.hooks_dir().join("version.pb.js"), V2).expect("rewrite");
    let mut total = 0;
    for client in clients {
        total += client.await.expect("client");
    }
    assert!(total > 100, "only {total} requests ran");
    assert_eq!(
        failures.load(Ordering::Relaxed),
        0,
        "failed requests during reload"
    );
    assert!(
        seen_v2.load(Ordering::Relaxed) > 0,
        "the new generation never served"
    );
    let res = server.get("/api/version", None).await;
    assert_eq!(res.body, r#"{"v":2}"#);
}

#[tokio::test]
async fn a_generation_that_fails_to_load_keeps_the_old_one() {
    let server = TestServer::start_hooks(&[("version.pb.js", V1)]).await;
    let js = server.js.clone().expect("hooks loaded");
    std::fs::write(
        server.hooks_dir().join("version.pb.js"),
        "routerAdd(\"GET\", \"/api/version\", (e) => {",
    )
    .expect("rewrite");
    let err = js.reload().expect_err("a syntax error fails the load");
    assert!(err.contains("version.pb.js"), "{err}");
    let res = server.get("/api/version", None).await;
    assert_eq!((res.status, res.body.as_str()), (200, r#"{"v":1}"#));

    // A file added later is picked up by the next load.
    std::fs::write(server.hooks_dir().join("version.pb.js"), V2).expect("rewrite");
    std::fs::write(
        server.hooks_dir().join("extra.pb.js"),
        r#"routerAdd("GET", "/api/extra", (e) => e.string(200, "extra"));"#,
    )
    .expect("add");
    js.reload().expect("reload");
    assert_eq!(server.get("/api/version", None).await.body, r#"{"v":2}"#);
    assert_eq!(server.get("/api/extra", None).await.body, "extra");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_503_at_once() {
    let limits = Limits {
        workers: 1,
        queue: 1,
        timeout: Duration::from_secs(5),
        ..Limits::default()
    };
    let hook =
        r#"routerAdd("GET", "/api/slow", (e) => { sleep(300); return e.string(200, "done"); });"#;
    let server = TestServer::start_hooks_with(&[("slow.pb.js", hook)], limits).await;
    let addr = server.addr;
    let requests: Vec<_> = (0..6)
        .map(|_| {
            tokio::spawn(async move { common::send(addr, "GET", "/api/slow", &[], &[]).await })
        })
        .collect();
    let mut busy = 0;
    let mut done = 0;
    for request in requests {
        let res = request.await.expect("request");
        match res.status {
            200 => {
                assert_eq!(res.body, "done");
                done += 1;
            }
            503 => {
                assert_eq!(
                    res.json(),
                    serde_json::json!({"data": {}, "message": "The server is busy running hooks, please try again later.", "status": 503})
                );
                busy += 1;
            }
            other => panic!("unexpected {other}: {}", res.body),
        }
    }
    assert!(done >= 1 && busy >= 1, "done {done}, busy {busy}");
}

#[tokio::test]
async fn types_for_editors_are_written_to_the_data_dir() {
    let server = TestServer::start_hooks(&[("version.pb.js", V1)]).await;
    let types = std::fs::read_to_string(common::data_dir(server.dir.path()).join("types.d.ts"))
        .expect("types.d.ts");
    assert!(types.contains("declare function routerAdd("));
    assert!(types.contains("declare namespace $security"));
}

const CREATE_NOTES: &str = r#"
migrate((app) => {
  const collection = new Collection({ name: "notes", type: "base", listRule: "", viewRule: "",
    fields: [{ name: "title", type: "text" }] });
  app.save(collection);
  app.save(new Record(collection, { title: "first" }));
}, (app) => {
  app.delete(app.findCollectionByNameOrId("notes"));
})
"#;

const RULE_NOTES: &str = r#"
migrate((app) => {
  const collection = app.findCollectionByNameOrId("notes");
  collection.fields.add(new NumberField({ name: "rank" }));
  app.save(collection);
}, (app) => {
  const collection = app.findCollectionByNameOrId("notes");
  collection.fields.removeByName("rank");
  app.save(collection);
})
"#;

#[tokio::test]
async fn migrations_apply_in_order_once_and_revert() {
    let server = TestServer::start().await;
    let dir = server.dir.path().join("pb_migrations");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("1_notes.js"), CREATE_NOTES).expect("m1");
    std::fs::write(dir.join("2_rank.js"), RULE_NOTES).expect("m2");

    let applied = satchel::js::migrations::up(&server.app, &dir)
        .await
        .expect("up");
    assert_eq!(applied, ["1_notes.js", "2_rank.js"]);
    assert!(
        satchel::js::migrations::up(&server.app, &dir)
            .await
            .expect("again")
            .is_empty()
    );
    let res = server.get("/api/collections/notes/records", None).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let items = res.json()["items"].clone();
    assert_eq!(items[0]["title"], "first");
    assert_eq!(items[0]["rank"], 0);

    let reverted = satchel::js::migrations::down(&server.app, &dir, 1)
        .await
        .expect("down");
    assert_eq!(reverted, ["2_rank.js"]);
    let res = server.get("/api/collections/notes/records", None).await;
    assert!(res.json()["items"][0].get("rank").is_none(), "{}", res.body);
    satchel::js::migrations::down(&server.app, &dir, 5)
        .await
        .expect("down all");
    let res = server.get("/api/collections/notes/records", None).await;
    assert_eq!(res.status, 404);
}

#[tokio::test]
async fn a_failing_migration_is_not_recorded() {
    let server = TestServer::start().await;
    let dir = server.dir.path().join("pb_migrations");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("1_bad.js"),
        "migrate((app) => { throw new Error('nope') })",
    )
    .expect("m");
    let err = satchel::js::migrations::up(&server.app, &dir)
        .await
        .expect_err("fails");
    assert!(err.contains("1_bad.js") && err.contains("nope"), "{err}");
    let err = satchel::js::migrations::up(&server.app, &dir)
        .await
        .expect_err("still pending");
    assert!(err.contains("nope"), "{err}");
}

#[tokio::test]
async fn router_use_runs_before_every_request() {
    let hook = r#"
routerUse((e) => {
  if (e.request.header.get("x-block") === "yes") {
    throw new ForbiddenError("blocked by middleware");
  }
  return e.next();
});
routerAdd("GET", "/api/js", (e) => e.string(200, "js route"));
"#;
    let server = TestServer::start_hooks(&[("use.pb.js", hook)]).await;
    let blocked = [("x-block", "yes")];
    for path in ["/api/health", "/api/js", "/api/collections/users/records"] {
        let res = common::send(server.addr, "GET", path, &blocked, &[]).await;
        assert_eq!(res.status, 403, "{path}: {}", res.body);
        assert_eq!(
            res.json(),
            serde_json::json!({"data": {}, "message": "Blocked by middleware.", "status": 403})
        );
    }
    let res = server.get("/api/health", None).await;
    assert_eq!(
        (res.status, res.json()["message"].as_str()),
        (200, Some("API is healthy."))
    );
    assert_eq!(server.get("/api/js", None).await.body, "js route");
    let res = server
        .post("/api/collections/users/records", None, r#"{"email":"x"}"#)
        .await;
    assert_eq!(
        res.status, 400,
        "the REST route answers after the middleware: {}",
        res.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_hanging_up_mid_hook_do_not_stall_the_server() {
    // As a load test ends: many hooked writes in flight, every client gone at once.
    let hook = r#"onRecordCreateRequest((e) => e.next(), "notes");"#;
    let limits = Limits {
        workers: 4,
        ..Limits::default()
    };
    let server = TestServer::start_hooks_with(&[("create.pb.js", hook)], limits).await;
    let admin = server.superuser_token().await;
    let notes = r#"{"name":"notes","createRule":"","fields":[{"name":"title","type":"text"}]}"#;
    assert_eq!(
        server
            .post("/api/collections", Some(&admin), notes)
            .await
            .status,
        200
    );
    let addr = server.addr;
    let sent = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for c in 0..32 {
        let sent = Arc::clone(&sent);
        clients.push(tokio::spawn(async move {
            for i in 0.. {
                let body = serde_json::json!({"email": format!("u{c}x{i}@example.com"),
                    "password": "pass-123456", "passwordConfirm": "pass-123456"})
                .to_string();
                let headers = [("content-type", "application/json")];
                common::send(
                    addr,
                    "POST",
                    "/api/collections/users/records",
                    &headers,
                    body.as_bytes(),
                )
                .await;
                sent.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // Let the load run a while (however slow the machine), then hang up every client.
    for _ in 0..600 {
        if sent.load(Ordering::Relaxed) > 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for client in &clients {
        client.abort();
    }
    assert!(sent.load(Ordering::Relaxed) > 10, "the load ran");
    let health = tokio::time::timeout(Duration::from_secs(5), server.get("/api/health", None))
        .await
        .expect("the server still answers");
    assert_eq!(health.status, 200);
    let body =
        r#"{"email":"late@example.com","password":"pass-123456","passwordConfirm":"pass-123456"}"#;
    let res = tokio::time::timeout(
        Duration::from_secs(5),
        server.post("/api/collections/users/records", None, body),
    )
    .await
    .expect("a hooked write still completes");
    assert_eq!(res.status, 200, "{}", res.body);
}
