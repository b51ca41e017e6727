//! JS hooks (§9, §15 item 30) through real requests, with the hook files written inline:
//! `routerAdd` routes and their responses, request info, auth and middlewares; errors as
//! PocketBase shapes them; handler isolation and `require()`; runtime limits (deadline,
//! memory); `$app.store()` and `cronAdd`; and PocketBase's own documented examples.
//! Record, transaction and OTP hooks are in `js_hooks_records.rs`.

mod common;

use std::time::{Duration, Instant};

use common::{TestServer, expect};
use satchel::js::pool::Limits;
use serde_json::{Value, json};

const GENERIC: &str = "Something went wrong while processing your request.";

/// PocketBase's error envelope, as the exact body text.
fn envelope(status: u16, message: &str) -> String {
    json!({"data": {}, "message": message, "status": status}).to_string()
}

/// A user `ann@example.com` and its token, plus the superuser token.
async fn users(server: &TestServer) -> (String, String) {
    let admin = server.superuser_token().await;
    server
        .create_user(&admin, "ann@example.com", "pass-123456", true)
        .await;
    let user = server.user_token("ann@example.com", "pass-123456").await;
    (admin, user)
}

const ROUTES: &str = r#"
routerAdd("GET", "/greet/{name}", (e) => {
    return e.json(200, { name: e.request.pathValue("name"), missing: e.request.pathValue("nope") });
});

routerAdd("POST", "/echo/{kind}", (e) => {
    const info = e.requestInfo();
    return e.json(201, {
        kind: e.request.pathValue("kind"),
        method: info.method,
        query: info.query,
        body: info.body,
        snake: info.headers["x_custom_thing"],
        raw: e.request.header.get("X-Custom-Thing"),
        absent: e.request.header.get("X-Absent"),
    });
});

routerAdd("GET", "/text", (e) => e.string(202, "plain text"));
routerAdd("GET", "/page", (e) => e.html(200, "<h1>Hi</h1>"));
routerAdd("DELETE", "/nothing", (e) => e.noContent(204));
routerAdd("GET", "/go", (e) => e.redirect(307, "/greet/there"));
routerAdd("GET", "/silent", (e) => {});
routerAdd("GET", "/files/{path...}", (e) => e.string(200, e.request.pathValue("path")));

routerAdd("GET", "/whoami", (e) => {
    return e.json(200, {
        email: e.auth ? e.auth.email() : null,
        collection: e.auth ? e.auth.collection().name : null,
        infoId: e.requestInfo().auth ? e.requestInfo().auth.id : null,
        same: e.auth ? e.auth.id === e.requestInfo().auth.id : e.requestInfo().auth === null,
        superuser: e.hasSuperuserAuth(),
    });
});
"#;

#[tokio::test]
async fn routes_answer_every_response_kind() {
    let server = TestServer::start_hooks(&[("routes.pb.js", ROUTES)]).await;

    let res = server.get("/greet/world", None).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("application/json"));
    assert_eq!(res.json(), json!({"name": "world", "missing": ""}));

    // Every writer: status, content type and body exactly.
    let cases: [(&str, &str, u16, Option<&str>, &str); 5] = [
        (
            "GET",
            "/text",
            202,
            Some("text/plain; charset=utf-8"),
            "plain text",
        ),
        (
            "GET",
            "/page",
            200,
            Some("text/html; charset=utf-8"),
            "<h1>Hi</h1>",
        ),
        ("DELETE", "/nothing", 204, None, ""),
        ("GET", "/silent", 200, None, ""),
        (
            "GET",
            "/files/a/b/c.txt",
            200,
            Some("text/plain; charset=utf-8"),
            "a/b/c.txt",
        ),
    ];
    for (method, path, status, kind, body) in cases {
        let res = server.request(method, path, None, None).await;
        expect(&res, status, body);
        assert_eq!(res.header("content-type"), kind, "{method} {path}");
    }

    let res = server.get("/go", None).await;
    expect(&res, 307, "");
    assert_eq!(res.header("location"), Some("/greet/there"));

    // Unknown paths and other methods still reach the REST API.
    let res = server.post("/greet/world", None, "{}").await;
    assert_eq!(res.status, 404, "{}", res.body);
    let res = server.get("/api/health", None).await;
    assert_eq!(res.status, 200);
}

#[tokio::test]
async fn request_info_shows_query_headers_and_bodies() {
    let server = TestServer::start_hooks(&[("routes.pb.js", ROUTES)]).await;
    let headers = [
        ("Content-Type", "application/json"),
        ("X-Custom-Thing", "abc"),
    ];
    let res = common::send(
        server.addr,
        "POST",
        "/echo/json?q=1&q=2&other=x%20y",
        &headers,
        br#"{"title":"hello","n":3,"tags":["a","b"]}"#,
    )
    .await;
    assert_eq!(res.status, 201, "{}", res.body);
    assert_eq!(
        res.json(),
        json!({
            "kind": "json", "method": "POST",
            "query": {"q": "1", "other": "x y"},
            "body": {"title": "hello", "n": 3, "tags": ["a", "b"]},
            "snake": "abc", "raw": "abc", "absent": "",
        })
    );

    let headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("X-Custom-Thing", "form"),
    ];
    let res = common::send(
        server.addr,
        "POST",
        "/echo/form",
        &headers,
        b"title=two+words&n=3",
    )
    .await;
    assert_eq!(res.status, 201, "{}", res.body);
    assert_eq!(
        res.json(),
        json!({
            "kind": "form", "method": "POST", "query": {},
            // Form values are inferred, as PocketBase 0.40.6 answers.
            "body": {"title": "two words", "n": 3},
            "snake": "form", "raw": "form", "absent": "",
        })
    );

    // Form fields repeat into arrays; another body type is refused (PocketBase's answers).
    let headers = [("Content-Type", "application/x-www-form-urlencoded")];
    let res = common::send(
        server.addr,
        "POST",
        "/echo/form",
        &headers,
        b"a=1&a=2&c=007&t=true",
    )
    .await;
    assert_eq!(
        res.json()["body"],
        json!({"a": [1, 2], "c": "007", "t": true})
    );
    let headers = [("Content-Type", "text/plain")];
    let res = common::send(server.addr, "POST", "/echo/form", &headers, b"hello").await;
    common::expect(
        &res,
        400,
        r#"{"data":{},"message":"Unsupported Content-Type.","status":400}"#,
    );
}

#[tokio::test]
async fn routes_see_the_request_auth() {
    let server = TestServer::start_hooks(&[("routes.pb.js", ROUTES)]).await;
    let (admin, user) = users(&server).await;
    let cases = [
        (
            None,
            json!({"email": null, "collection": null, "infoId": null, "same": true, "superuser": false}),
        ),
        (
            Some("not-a-token"),
            json!({"email": null, "collection": null, "infoId": null, "same": true, "superuser": false}),
        ),
        (
            Some(user.as_str()),
            json!({"email": "ann@example.com", "collection": "users", "same": true, "superuser": false}),
        ),
        (
            Some(admin.as_str()),
            json!({"email": common::ADMIN_EMAIL, "collection": "_superusers", "same": true, "superuser": true}),
        ),
    ];
    for (token, mut expected) in cases {
        let res = server.get("/whoami", token).await;
        assert_eq!(res.status, 200, "{}", res.body);
        let mut got = res.json();
        if token.is_some_and(|t| t != "not-a-token") {
            // The id differs per run: only check it is the auth record's.
            assert_eq!(got["infoId"].as_str().map(str::len), Some(15), "{got}");
            got["infoId"] = Value::Null;
            expected["infoId"] = Value::Null;
        }
        assert_eq!(got, expected, "token {token:?}");
    }
}

const MIDDLEWARES: &str = r#"
routerAdd("GET", "/mw/plain", (e) => e.json(200, { seen: e.get("seen") }), (e) => {
    e.set("seen", "by middleware");
    return e.next();
});

routerAdd("GET", "/mw/blocked", (e) => e.string(200, "never"), (e) => {
    throw new ForbiddenError("blocked by middleware");
});

routerAdd("GET", "/mw/auth", (e) => e.string(200, "in: " + e.auth.email()), $apis.requireAuth());
routerAdd("GET", "/mw/users-only", (e) => e.string(200, "in"), $apis.requireAuth("users"));
routerAdd("GET", "/mw/super", (e) => e.string(200, "in"), $apis.requireSuperuserAuth());
routerAdd("GET", "/mw/guest", (e) => e.string(200, "guest"), $apis.requireGuestOnly());

routerAdd("GET", "/mw/order", (e) => {
    return e.string(200, e.get("trail") + "h");
}, (e) => {
    e.set("trail", (e.get("trail") || "") + "a");
    return e.next();
}, new Middleware((e) => {
    e.set("trail", (e.get("trail") || "") + "b");
    return e.next();
}, -5), new Middleware((e) => {
    e.set("trail", (e.get("trail") || "") + "c");
    return e.next();
}, 10));

routerAdd("GET", "/mw/after", (e) => e.string(200, "handler"), (e) => {
    e.next();
    e.response.header().set("X-After", "set after next");
});
"#;

#[tokio::test]
async fn middlewares_run_in_priority_order_and_guard_routes() {
    let server = TestServer::start_hooks(&[("mw.pb.js", MIDDLEWARES)]).await;
    let (admin, user) = users(&server).await;

    let res = server.get("/mw/plain", None).await;
    assert_eq!(res.json(), json!({"seen": "by middleware"}));
    let res = server.get("/mw/order", None).await;
    expect(&res, 200, "bach");
    let res = server.get("/mw/after", None).await;
    expect(&res, 200, "handler");
    assert_eq!(res.header("x-after"), Some("set after next"));

    let no_token = envelope(
        401,
        "The request requires valid record authorization token.",
    );
    let not_allowed = envelope(
        403,
        "The authorized record is not allowed to perform this action.",
    );
    let cases = [
        (
            "/mw/blocked",
            None,
            403,
            envelope(403, "Blocked by middleware."),
        ),
        ("/mw/auth", None, 401, no_token.clone()),
        (
            "/mw/auth",
            Some(&user),
            200,
            "in: ann@example.com".to_string(),
        ),
        (
            "/mw/auth",
            Some(&admin),
            200,
            format!("in: {}", common::ADMIN_EMAIL),
        ),
        ("/mw/users-only", Some(&user), 200, "in".to_string()),
        ("/mw/users-only", Some(&admin), 403, not_allowed.clone()),
        ("/mw/super", Some(&user), 403, not_allowed.clone()),
        ("/mw/super", Some(&admin), 200, "in".to_string()),
        ("/mw/guest", None, 200, "guest".to_string()),
        (
            "/mw/guest",
            Some(&user),
            400,
            envelope(400, "The request can be accessed only by guests."),
        ),
    ];
    for (path, token, status, body) in cases {
        let res = server.get(path, token.map(String::as_str)).await;
        expect(&res, status, &body);
    }
}

const ERRORS: &str = r#"
routerAdd("GET", "/err/{kind}", (e) => {
    switch (e.request.pathValue("kind")) {
        case "bad":
            throw new BadRequestError("custom bad", { field: new ValidationError("my_code", "my msg") });
        case "nested":
            throw new BadRequestError("nested", { outer: { inner: new ValidationError("deep", "deep one") }, plain: 1 });
        case "notfound": throw new NotFoundError("gone away");
        case "forbidden": throw new ForbiddenError("keep out");
        case "unauthorized": throw new UnauthorizedError("who are you?");
        case "toomany": throw new TooManyRequestsError("slow down");
        case "internal": throw new InternalServerError("it broke");
        case "teapot": throw new ApiError(418, "teapot");
        case "bad-default": throw new BadRequestError();
        case "notfound-default": throw new NotFoundError();
        case "forbidden-default": throw new ForbiddenError();
        case "unauthorized-default": throw new UnauthorizedError();
        case "toomany-default": throw new TooManyRequestsError("");
        case "internal-default": throw new InternalServerError();
        case "plain": throw new Error("x");
        case "type": null.boom();
        case "string": throw "just a string";
        case "missing":
            $app.findRecordById("users", "nope");
            return e.string(200, "unreachable");
        case "caught":
            try { $app.findRecordById("users", "nope"); } catch (err) { return e.string(200, "caught: " + err.message); }
        case "e-error": return e.error(409, "conflict here", {});
        case "thrown-factory": throw e.badRequestError("from factory");
    }
    return e.string(200, "no such case");
});
"#;

#[tokio::test]
async fn thrown_errors_become_pocketbase_envelopes() {
    let server = TestServer::start_hooks(&[("errors.pb.js", ERRORS)]).await;
    let cases: &[(&str, u16, &str)] = &[
        (
            "bad",
            400,
            r#"{"data":{"field":{"code":"my_code","message":"My msg."}},"message":"Custom bad.","status":400}"#,
        ),
        (
            "nested",
            400,
            r#"{"data":{"outer":{"inner":{"code":"deep","message":"Deep one."}},"plain":{"code":"validation_invalid_value","message":"Invalid value."}},"message":"Nested.","status":400}"#,
        ),
        (
            "notfound",
            404,
            r#"{"data":{},"message":"Gone away.","status":404}"#,
        ),
        (
            "forbidden",
            403,
            r#"{"data":{},"message":"Keep out.","status":403}"#,
        ),
        (
            "unauthorized",
            401,
            r#"{"data":{},"message":"Who are you?","status":401}"#,
        ),
        (
            "toomany",
            429,
            r#"{"data":{},"message":"Slow down.","status":429}"#,
        ),
        (
            "internal",
            500,
            r#"{"data":{},"message":"It broke.","status":500}"#,
        ),
        (
            "teapot",
            418,
            r#"{"data":{},"message":"Teapot.","status":418}"#,
        ),
        (
            "notfound-default",
            404,
            r#"{"data":{},"message":"The requested resource wasn't found.","status":404}"#,
        ),
        (
            "forbidden-default",
            403,
            r#"{"data":{},"message":"You are not allowed to perform this request.","status":403}"#,
        ),
        (
            "unauthorized-default",
            401,
            r#"{"data":{},"message":"Missing or invalid authentication.","status":401}"#,
        ),
        (
            "toomany-default",
            429,
            r#"{"data":{},"message":"Too Many Requests.","status":429}"#,
        ),
        (
            "missing",
            404,
            r#"{"data":{},"message":"The requested resource wasn't found.","status":404}"#,
        ),
        (
            "e-error",
            409,
            r#"{"data":{},"message":"Conflict here.","status":409}"#,
        ),
        (
            "thrown-factory",
            400,
            r#"{"data":{},"message":"From factory.","status":400}"#,
        ),
    ];
    for (kind, status, body) in cases {
        let res = server.get(&format!("/err/{kind}"), None).await;
        expect(&res, *status, body);
        assert_eq!(
            res.header("content-type"),
            Some("application/json"),
            "{kind}"
        );
    }
    // Anything that is not an ApiError: 400 with the generic message and no data.
    for kind in ["bad-default", "plain", "type", "string"] {
        let res = server.get(&format!("/err/{kind}"), None).await;
        expect(&res, 400, &envelope(400, GENERIC));
    }
    let res = server.get("/err/internal-default", None).await;
    expect(&res, 500, &envelope(500, GENERIC));
    // A caught host error is an ordinary JS error with Go's text.
    let res = server.get("/err/caught", None).await;
    expect(&res, 200, "caught: sql: no rows in result set");
}

#[tokio::test]
async fn handlers_are_isolated_from_the_file_scope() {
    let hook = r#"
const topLevel = 1;
var topVar = 2;
function topFunction() { return 3; }

routerAdd("GET", "/scope", (e) => {
    return e.json(200, {
        topLevel: typeof topLevel,
        topVar: typeof topVar,
        topFunction: typeof topFunction,
        routerAdd: typeof routerAdd,
        onRecordCreate: typeof onRecordCreate,
        cronAdd: typeof cronAdd,
        app: typeof $app,
        hooks: typeof __hooks,
    });
});

routerAdd("GET", "/undeclared", (e) => {
    undeclaredVar = 1;
    return e.string(200, "sloppy");
});
"#;
    let server = TestServer::start_hooks(&[("scope.pb.js", hook)]).await;
    let res = server.get("/scope", None).await;
    assert_eq!(
        res.json(),
        json!({
            "topLevel": "undefined", "topVar": "undefined", "topFunction": "undefined",
            "routerAdd": "undefined", "onRecordCreate": "undefined",
            "cronAdd": "function", "app": "object", "hooks": "string",
        })
    );
    // Handlers are strict programs: an undeclared assignment fails (PocketBase compiles
    // its handler wrapper in strict mode too).
    let res = server.get("/undeclared", None).await;
    expect(&res, 400, &envelope(400, GENERIC));
}

const UTIL: &str = r#"
let loads = 0;
loads++;
let calls = 0;
const helper = require("./helper.js");
module.exports = {
    double: (n) => helper.twice(n),
    loads: () => loads,
    call: () => ++calls,
    file: __filename.split("/").slice(-2).join("/"),
};
"#;

const HELPER: &str = r#"
exports.twice = function (n) { return n * 2; };
"#;

#[tokio::test]
async fn require_loads_commonjs_modules_once_per_worker() {
    let hook = r#"
routerAdd("GET", "/require", (e) => {
    const a = require(`${__hooks}/lib/util.js`);
    const b = require("./lib/util.js");
    const c = require(__hooks + "/lib/util");
    return e.json(200, {
        same: a === b && b === c,
        double: a.double(21),
        loads: a.loads(),
        call: a.call(),
        file: a.file,
    });
});

routerAdd("GET", "/require/missing", (e) => {
    require(`${__hooks}/lib/nope.js`);
    return e.string(200, "unreachable");
});
"#;
    let server = TestServer::start_hooks(&[
        ("main.pb.js", hook),
        ("lib/util.js", UTIL),
        ("lib/helper.js", HELPER),
    ])
    .await;
    let mut calls = Vec::new();
    for _ in 0..6 {
        let res = server.get("/require", None).await;
        assert_eq!(res.status, 200, "{}", res.body);
        let body = res.json();
        assert_eq!(body["same"], true, "{body}");
        assert_eq!(body["double"], 42);
        assert_eq!(body["file"], "lib/util.js");
        // The module's top level ran once on this worker: the cache keeps it.
        assert_eq!(body["loads"], 1, "{body}");
        calls.push(body["call"].as_u64().unwrap());
    }
    // Two workers, each with its own module registry counting its own calls.
    calls.sort_unstable();
    assert!(
        calls.iter().filter(|&&c| c == 1).count() <= 2 && calls[5] >= 3,
        "per-worker counters: {calls:?}"
    );
    let res = server.get("/require/missing", None).await;
    expect(&res, 400, &envelope(400, GENERIC));
}

const LIMITS: &str = r#"
routerAdd("GET", "/spin", (e) => { while (true) {} });
routerAdd("GET", "/spin-caught", (e) => {
    try { while (true) {} } catch (err) {}
    try { while (true) {} } finally { return e.string(200, "swallowed"); }
});
routerAdd("GET", "/hog", (e) => {
    let a = [];
    while (true) a.push(new Array(1e6).fill(1));
});
routerAdd("GET", "/ok", (e) => e.string(200, "ok"));
"#;

fn timeout_body() -> String {
    envelope(503, "The hook handler took too long to complete.")
}

#[tokio::test]
async fn an_endless_loop_is_stopped_at_the_deadline() {
    let server = TestServer::start_hooks(&[("limits.pb.js", LIMITS)]).await;
    for path in ["/spin", "/spin-caught"] {
        let started = Instant::now();
        let res = server.get(path, None).await;
        let took = started.elapsed();
        expect(&res, 503, &timeout_body());
        assert!(
            took >= Duration::from_millis(1900) && took < Duration::from_secs(6),
            "{path} took {took:?}"
        );
        // Both workers still serve.
        for _ in 0..4 {
            expect(&server.get("/ok", None).await, 200, "ok");
        }
    }
}

#[tokio::test]
async fn a_slow_request_does_not_block_the_other_worker() {
    let server = TestServer::start_hooks(&[("limits.pb.js", LIMITS)]).await;
    let spinning = server.get("/spin", None);
    let quick = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let started = Instant::now();
        let res = server.get("/ok", None).await;
        (res, started.elapsed())
    };
    let (spun, (ok, took)) = tokio::join!(spinning, quick);
    expect(&spun, 503, &timeout_body());
    expect(&ok, 200, "ok");
    assert!(took < Duration::from_secs(1), "waited {took:?}");
}

#[tokio::test]
async fn running_out_of_memory_fails_only_that_request() {
    let limits = Limits {
        workers: 2,
        timeout: Duration::from_secs(10),
        memory: 32 << 20,
        ..Limits::default()
    };
    let server = TestServer::start_hooks_with(&[("limits.pb.js", LIMITS)], limits).await;
    for _ in 0..2 {
        let res = server.get("/hog", None).await;
        expect(&res, 500, &envelope(500, GENERIC));
        for _ in 0..4 {
            expect(&server.get("/ok", None).await, 200, "ok");
        }
    }
}

/// Polls `path` until `done` accepts its JSON (5 s at most).
async fn poll(server: &TestServer, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let body = server.get(path, None).await.json();
        if done(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "{path} never got there: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_store_is_shared_between_requests_and_workers() {
    let hook = r#"
routerAdd("POST", "/store/{key}", (e) => {
    $app.store().set(e.request.pathValue("key"), e.requestInfo().body);
    return e.noContent(204);
});
routerAdd("GET", "/store/{key}", (e) => {
    const key = e.request.pathValue("key");
    return e.json(200, { has: $app.store().has(key), value: $app.store().get(key) });
});
routerAdd("DELETE", "/store/{key}", (e) => {
    $app.store().remove(e.request.pathValue("key"));
    return e.noContent(204);
});
"#;
    let server = TestServer::start_hooks(&[("store.pb.js", hook)]).await;
    expect(
        &server
            .post("/store/color", None, r#"{"name":"teal","n":[1,2]}"#)
            .await,
        204,
        "",
    );
    // Several reads, so both workers answer at least once in all likelihood.
    for _ in 0..4 {
        let res = server.get("/store/color", None).await;
        assert_eq!(
            res.json(),
            json!({"has": true, "value": {"name": "teal", "n": [1, 2]}})
        );
    }
    assert_eq!(
        server.get("/store/other", None).await.json(),
        json!({"has": false, "value": null})
    );
    expect(&server.delete("/store/color", None).await, 204, "");
    assert_eq!(
        server.get("/store/color", None).await.json(),
        json!({"has": false, "value": null})
    );
}

#[tokio::test]
async fn crons_added_by_hooks_are_listed_and_run_on_demand() {
    let hook = r#"
cronAdd("jsTick", "0 0 1 1 *", () => {
    $app.store().set("ticks", ($app.store().get("ticks") || 0) + 1);
});

routerAdd("GET", "/ticks", (e) => e.json(200, { ticks: $app.store().get("ticks"), late: $app.store().get("late") }));

routerAdd("POST", "/late-cron", (e) => {
    cronAdd("jsLate", "*/5 * * * *", () => { $app.store().set("late", "ran"); });
    return e.noContent(204);
});
"#;
    let server = TestServer::start_hooks(&[("cron.pb.js", hook)]).await;
    let admin = server.superuser_token().await;
    let res = server.get("/api/crons", Some(&admin)).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let jobs = res.json();
    let listed: Vec<&Value> = jobs
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| !j["id"].as_str().unwrap().starts_with("__pb"))
        .collect();
    assert_eq!(
        listed,
        [&json!({"id": "jsTick", "expression": "0 0 1 1 *"})]
    );
    // PocketBase lists its own `__pb*` jobs after the app's.
    assert_eq!(jobs[0]["id"], "jsTick", "{jobs}");

    assert_eq!(
        server.get("/ticks", None).await.json()["ticks"],
        Value::Null
    );
    expect(
        &server.post("/api/crons/jsTick", Some(&admin), "").await,
        204,
        "",
    );
    poll(&server, "/ticks", |b| b["ticks"] == 1).await;
    expect(
        &server.post("/api/crons/jsTick", Some(&admin), "").await,
        204,
        "",
    );
    poll(&server, "/ticks", |b| b["ticks"] == 2).await;

    // A cron added from inside a handler.
    expect(&server.post("/late-cron", None, "").await, 204, "");
    let jobs = server.get("/api/crons", Some(&admin)).await.json();
    assert!(
        jobs.as_array()
            .unwrap()
            .contains(&json!({"id": "jsLate", "expression": "*/5 * * * *"})),
        "{jobs}"
    );
    expect(
        &server.post("/api/crons/jsLate", Some(&admin), "").await,
        204,
        "",
    );
    poll(&server, "/ticks", |b| b["late"] == "ran").await;
}

// ---- PocketBase's documented examples, copied as they are --------------------------------

/// pocketbase.io/docs/js-routing, "Registering new routes".
const DOCS_ROUTES: &str = r#"
// register "GET /hello/{name}" route (allowed for everyone)
routerAdd("GET", "/hello/{name}", (e) => {
    let name = e.request.pathValue("name")

    return e.json(200, { "message": "Hello " + name })
})

// register "POST /api/myapp/settings" route (allowed only for authenticated users)
routerAdd("POST", "/api/myapp/settings", (e) => {
    // do something ...
    return e.json(200, {"success": true})
}, $apis.requireAuth())
"#;

#[tokio::test]
async fn docs_routing_example() {
    let server = TestServer::start_hooks(&[("main.pb.js", DOCS_ROUTES)]).await;
    let (_admin, user) = users(&server).await;
    let res = server.get("/hello/world", None).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json(), json!({"message": "Hello world"}));
    let res = server.post("/api/myapp/settings", None, "{}").await;
    expect(
        &res,
        401,
        &envelope(
            401,
            "The request requires valid record authorization token.",
        ),
    );
    let res = server.post("/api/myapp/settings", Some(&user), "{}").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json(), json!({"success": true}));
}

/// pocketbase.io/docs/js-routing, "Error response" (the first statement, in a route).
const DOCS_ERROR: &str = r#"
routerAdd("GET", "/docs-error", (e) => {
        // construct ApiError with custom status code and validation data error
        throw new ApiError(500, "something went wrong", {
            "title": new ValidationError("invalid_title", "Invalid or missing title"),
        })
})
"#;

#[tokio::test]
async fn docs_error_response_example() {
    let server = TestServer::start_hooks(&[("main.pb.js", DOCS_ERROR)]).await;
    let res = server.get("/docs-error", None).await;
    expect(
        &res,
        500,
        r#"{"data":{"title":{"code":"invalid_title","message":"Invalid or missing title."}},"message":"Something went wrong.","status":500}"#,
    );
}

/// pocketbase.io/docs/js-routing, "Registering middlewares" (global middleware), with a
/// JS route to guard.
const DOCS_MIDDLEWARE: &str = r#"
// register a global middleware
routerUse((e) => {
    if (e.request.header.get("Something") == "") {
        throw new BadRequestError("Something header value is missing!")
    }

    return e.next()
})

routerAdd("GET", "/hello/{name}", (e) => {
    let name = e.request.pathValue("name")

    return e.json(200, { "message": "Hello " + name })
})
"#;

#[tokio::test]
async fn docs_global_middleware_example() {
    let server = TestServer::start_hooks(&[("main.pb.js", DOCS_MIDDLEWARE)]).await;
    let res = server.get("/hello/you", None).await;
    expect(
        &res,
        400,
        r#"{"data":{},"message":"Something header value is missing!","status":400}"#,
    );
    let res = common::send(server.addr, "GET", "/hello/you", &[("Something", "1")], b"").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json(), json!({"message": "Hello you"}));
    // A global middleware wraps PocketBase's own routes too.
    let res = server.get("/api/health", None).await;
    expect(
        &res,
        400,
        r#"{"data":{},"message":"Something header value is missing!","status":400}"#,
    );
    let res = common::send(
        server.addr,
        "GET",
        "/api/health",
        &[("Something", "1")],
        b"",
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.body);
}

/// pocketbase.io/docs/js-jobs-scheduling.
const DOCS_CRON: &str = r#"
// prints "Hello!" every 2 minutes
cronAdd("hello", "*/2 * * * *", () => {
    console.log("Hello!")
})
"#;

#[tokio::test]
async fn docs_cron_example() {
    let server = TestServer::start_hooks(&[("main.pb.js", DOCS_CRON)]).await;
    let admin = server.superuser_token().await;
    let jobs = server.get("/api/crons", Some(&admin)).await.json();
    assert!(
        jobs.as_array()
            .unwrap()
            .contains(&json!({"id": "hello", "expression": "*/2 * * * *"})),
        "{jobs}"
    );
    expect(
        &server.post("/api/crons/hello", Some(&admin), "").await,
        204,
        "",
    );
    let res = server.post("/api/crons/nope", Some(&admin), "").await;
    expect(&res, 404, &envelope(404, "Missing or invalid cron job."));
}
