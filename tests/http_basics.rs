//! Cross-cutting HTTP behaviour against the real server: health, the error envelope for
//! unknown routes and malformed input, security headers, CORS, and tokens.

mod common;

use common::TestServer;
use serde_json::json;

#[tokio::test]
async fn health_is_public_and_richer_for_superusers() {
    let server = TestServer::start().await;
    let res = server.get("/api/health", None).await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.body,
        r#"{"message":"API is healthy.","code":200,"data":{}}"#
    );

    let token = server.superuser_token().await;
    let res = server.get("/api/health", Some(&token)).await;
    assert_eq!(
        res.json(),
        json!({"message": "API is healthy.", "code": 200,
               "data": {"canBackup": true, "realIP": "127.0.0.1", "possibleProxyHeader": ""}})
    );
}

#[tokio::test]
async fn every_response_carries_pocketbase_security_headers() {
    let server = TestServer::start().await;
    for path in ["/api/health", "/api/nope", "/api/collections"] {
        let res = server.get(path, None).await;
        assert_eq!(
            res.header("x-xss-protection"),
            Some("1; mode=block"),
            "{path}"
        );
        assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(res.header("x-frame-options"), Some("SAMEORIGIN"));
        assert_eq!(
            res.header("cross-origin-opener-policy"),
            Some("same-origin")
        );
        assert_eq!(res.header("vary"), Some("Origin"));
        assert_eq!(res.header("content-type"), Some("application/json"));
    }
}

/// (method, path, body, status, expected body): PocketBase's answers for routes that don't exist.
const UNKNOWN_ROUTES: [(&str, &str, &str, u16, &str); 5] = [
    (
        "GET",
        "/api/nope",
        "",
        404,
        r#"{"data":{},"message":"File not found.","status":404}"#,
    ),
    (
        "GET",
        "/",
        "",
        404,
        r#"{"data":{},"message":"File not found.","status":404}"#,
    ),
    (
        "POST",
        "/api/nope",
        "{}",
        404,
        r#"{"data":{},"message":"The requested resource wasn't found.","status":404}"#,
    ),
    (
        "PUT",
        "/api/collections/users/records",
        "{}",
        404,
        r#"{"data":{},"message":"The requested resource wasn't found.","status":404}"#,
    ),
    (
        "DELETE",
        "/api/health",
        "",
        404,
        r#"{"data":{},"message":"The requested resource wasn't found.","status":404}"#,
    ),
];

#[tokio::test]
async fn unknown_routes_get_the_envelope() {
    let server = TestServer::start().await;
    for (method, path, body, status, expected) in UNKNOWN_ROUTES {
        let res = server
            .request(method, path, None, (!body.is_empty()).then_some(body))
            .await;
        assert_eq!(
            (res.status, res.body.as_str()),
            (status, expected),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn malformed_bodies_and_queries_get_400_envelopes() {
    let server = TestServer::start().await;
    let token = server.superuser_token().await;
    let cases = [
        (
            "POST",
            "/api/collections/_superusers/auth-with-password",
            "{bad",
            r#"{"data":{},"message":"An error occurred while loading the submitted data.","status":400}"#,
        ),
        (
            "POST",
            "/api/collections",
            "[1,2]",
            r#"{"data":{},"message":"Failed to load the collection type data due to invalid formatting.","status":400}"#,
        ),
        (
            "PATCH",
            "/api/settings",
            "{\"meta\":",
            r#"{"data":{},"message":"An error occurred while loading the submitted data.","status":400}"#,
        ),
    ];
    for (method, path, body, expected) in cases {
        let res = server.request(method, path, Some(&token), Some(body)).await;
        assert_eq!(
            (res.status, res.body.as_str()),
            (400, expected),
            "{method} {path}"
        );
    }
    for query in [
        "page=abc",
        "perPage=1.5",
        "skipTotal=maybe",
        "sort=nope",
        "filter=bad(((",
        "filter=nope%3D1",
    ] {
        let res = server
            .get(&format!("/api/collections?{query}"), Some(&token))
            .await;
        assert_eq!(
            (res.status, res.body.as_str()),
            (
                400,
                r#"{"data":{},"message":"Something went wrong while processing your request.","status":400}"#
            ),
            "{query}"
        );
    }
}

#[tokio::test]
async fn cors_preflight_and_simple_requests() {
    let server = TestServer::start().await;
    let preflight = common::send(
        server.addr,
        "OPTIONS",
        "/api/collections",
        &[
            ("Origin", "http://x.test"),
            ("Access-Control-Request-Method", "POST"),
            (
                "Access-Control-Request-Headers",
                "content-type,authorization",
            ),
        ],
        b"",
    )
    .await;
    assert_eq!(preflight.status, 204);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        preflight.header("access-control-allow-methods"),
        Some("GET,HEAD,PUT,PATCH,POST,DELETE")
    );
    assert_eq!(
        preflight.header("access-control-allow-headers"),
        Some("content-type,authorization")
    );
    assert_eq!(
        preflight.header_all("vary"),
        [
            "Origin",
            "Access-Control-Request-Method",
            "Access-Control-Request-Headers"
        ]
    );
    assert_eq!(preflight.body, "");

    let bare = common::send(server.addr, "OPTIONS", "/api/collections", &[], b"").await;
    assert_eq!(bare.status, 204);
    assert_eq!(bare.header("access-control-allow-origin"), None);

    let simple = common::send(
        server.addr,
        "GET",
        "/api/collections",
        &[("Origin", "http://x.test")],
        b"",
    )
    .await;
    assert_eq!(simple.status, 401);
    assert_eq!(simple.header("access-control-allow-origin"), Some("*"));
}

#[tokio::test]
async fn bad_tokens_mean_guest_never_an_error() {
    let server = TestServer::start().await;
    let token = server.superuser_token().await;
    let tampered = format!("{}x", &token[..token.len() - 1]);
    for header in [
        "garbage",
        "Bearer garbage",
        "Bearer ",
        tampered.as_str(),
        "a.b.c",
    ] {
        let res = server.get("/api/health", Some(header)).await;
        assert_eq!(res.status, 200, "{header}");
        assert_eq!(res.json()["data"], json!({}), "{header}");
        let res = server.get("/api/collections", Some(header)).await;
        assert_eq!(res.status, 401, "{header}");
    }
    let res = server
        .get("/api/collections", Some(&format!("bEaReR {token}")))
        .await;
    assert_eq!(res.status, 200);
}

#[tokio::test]
async fn pb_public_serves_files_directories_and_the_spa_fallback() {
    let public = tempfile::tempdir().expect("temp");
    std::fs::write(public.path().join("index.html"), "<h1>home</h1>").expect("write");
    std::fs::create_dir(public.path().join("docs")).expect("mkdir");
    std::fs::write(public.path().join("docs/index.html"), "<h1>docs</h1>").expect("write");
    std::fs::write(public.path().join("app.js"), "console.log(1)").expect("write");
    let server = TestServer::start_with(Some(public.path().to_path_buf())).await;

    let res = server.get("/app.js", None).await;
    assert_eq!((res.status, res.body.as_str()), (200, "console.log(1)"));
    assert_eq!(
        res.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(server.get("/docs/", None).await.body, "<h1>docs</h1>");
    let res = server.get("/docs", None).await;
    assert_eq!((res.status, res.header("location")), (301, Some("/docs/")));
    let res = server.get("/docs/index.html", None).await;
    assert_eq!((res.status, res.header("location")), (301, Some("/docs/")));
    // Missing paths (even under /api/) fall back to index.html, as in PocketBase.
    for path in ["/missing/page", "/api/nope"] {
        let res = server.get(path, None).await;
        assert_eq!(
            (res.status, res.body.as_str()),
            (200, "<h1>home</h1>"),
            "{path}"
        );
    }
    let res = server.get("/../../etc/passwd", None).await;
    assert_ne!(
        res.body,
        std::fs::read_to_string("/etc/passwd").unwrap_or_default()
    );
    assert_eq!(
        server.get("/api/health", None).await.status,
        200,
        "API routes win over static files"
    );
}

#[tokio::test]
async fn malformed_paths_get_the_envelope() {
    let server = TestServer::start().await;
    let token = server.superuser_token().await;
    // PocketBase: `%FF` is a 404 envelope; `%ZZ` is Go's plain-text 400, an envelope here.
    for path in [
        "/api/collections/%FF",
        "/api/collections/%ZZ",
        "/api/collections/users/records/%FF",
    ] {
        let res = server.get(path, Some(&token)).await;
        assert_eq!(
            (res.status, res.body.as_str()),
            (
                404,
                r#"{"data":{},"message":"The requested resource wasn't found.","status":404}"#
            ),
            "{path}"
        );
    }
}
