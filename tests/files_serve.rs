//! Serving record files over HTTP (§11): downloads with PocketBase's headers, ranges and
//! conditional requests, thumbs, protected files and file tokens. Every expectation was
//! checked against PocketBase 0.40.6.

mod common;

use serde_json::{Value, json};

use common::files::{Form, HELLO, NOT_FOUND, files_under, names, png, setup, storage};
use common::{Response, expect};

#[tokio::test]
async fn downloads_with_pocketbase_headers() {
    let (server, _, _) = setup().await;
    let res = Form::new()
        .file("many", "pic.png", &png())
        .file("many", "notes.txt", HELLO)
        .send(&server, "POST", "/api/collections/docs/records")
        .await;
    let record = res.json();
    let id = record["id"].as_str().unwrap();
    let [pic, notes] = &names(&record["many"])[..] else {
        panic!("two files");
    };
    let url = |name: &str, query: &str| format!("/api/files/docs/{id}/{name}{query}");

    let res = server.get(&url(pic, ""), None).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.bytes, png());
    for (header, value) in [
        ("content-type", "image/png"),
        (
            "content-disposition",
            &format!("inline; filename=\"{pic}\""),
        ),
        ("accept-ranges", "bytes"),
        (
            "cache-control",
            "max-age=2592000, stale-while-revalidate=86400",
        ),
        (
            "content-security-policy",
            "default-src 'none'; media-src 'self'; style-src 'unsafe-inline'; sandbox",
        ),
    ] {
        assert_eq!(res.header(header), Some(value), "{header}");
    }
    assert_eq!(res.header("x-frame-options"), None);
    assert!(res.header("last-modified").is_some());

    let cases: &[(&str, &str, &str)] = &[
        (notes, "", "attachment"),
        (pic, "?download=1", "attachment"),
        (pic, "?download=true", "attachment"),
        (pic, "?download=0", "inline"),
        (pic, "?download=yes", "inline"),
    ];
    for (name, query, disposition) in cases {
        let res = server.get(&url(name, query), None).await;
        let expected = format!("{disposition}; filename=\"{name}\"");
        assert_eq!(res.header("content-disposition"), Some(expected.as_str()));
    }
    let text = server.get(&url(notes, ""), None).await;
    assert_eq!(
        text.header("content-type"),
        Some("text/plain; charset=utf-8")
    );

    let ranged = common::send(
        server.addr,
        "GET",
        &url(notes, ""),
        &[("Range", "bytes=0-3")],
        b"",
    )
    .await;
    assert_eq!((ranged.status, ranged.body.as_str()), (206, "hell"));
    assert_eq!(ranged.header("content-range"), Some("bytes 0-3/12"));
    let past = common::send(
        server.addr,
        "GET",
        &url(notes, ""),
        &[("Range", "bytes=50-")],
        b"",
    )
    .await;
    assert_eq!(
        (past.status, past.body.as_str()),
        (416, "invalid range: failed to overlap\n")
    );
    assert_eq!(past.header("cache-control"), None);
    let modified = res_header(&server.get(&url(pic, ""), None).await, "last-modified");
    let cached = common::send(
        server.addr,
        "GET",
        &url(pic, ""),
        &[("If-Modified-Since", &modified)],
        b"",
    )
    .await;
    assert_eq!((cached.status, cached.header("content-type")), (304, None));
    let head = common::send(server.addr, "HEAD", &url(pic, ""), &[], b"").await;
    assert_eq!(
        head.header("content-length"),
        Some(png().len().to_string().as_str())
    );

    expect(
        &server.get(&url("nope.png", ""), None).await,
        404,
        NOT_FOUND,
    );
    expect(
        &server
            .get(&format!("/api/files/docs/nope/{pic}"), None)
            .await,
        404,
        NOT_FOUND,
    );
    expect(
        &server
            .get(&format!("/api/files/nope/{id}/{pic}"), None)
            .await,
        404,
        r#"{"data":{},"message":"Missing or invalid collection context.","status":404}"#,
    );
}

fn res_header(res: &Response, name: &str) -> String {
    res.header(name).expect("header").to_string()
}

#[tokio::test]
async fn thumbs_for_listed_sizes_of_images() {
    let (server, _, collection_id) = setup().await;
    let res = Form::new()
        .file("many", "pic.png", &png())
        .file("many", "notes.txt", HELLO)
        .send(&server, "POST", "/api/collections/docs/records")
        .await;
    let record = res.json();
    let id = record["id"].as_str().unwrap();
    let [pic, notes] = &names(&record["many"])[..] else {
        panic!("two files");
    };
    // (size asked, served dimensions): the default 100x100 and the field's sizes; any
    // other size is the original.
    let cases = [
        ("100x100", (100, 100)),
        ("50x50", (50, 50)),
        ("20x0", (20, 10)),
        ("30x30", (80, 40)),
    ];
    for (size, dims) in cases {
        let res = server
            .get(&format!("/api/files/docs/{id}/{pic}?thumb={size}"), None)
            .await;
        assert_eq!(res.status, 200, "{size}");
        let img = image::load_from_memory(&res.bytes).expect("an image");
        assert_eq!((img.width(), img.height()), dims, "{size}");
        let served = if dims == (80, 40) {
            pic.to_string()
        } else {
            format!("{size}_{pic}")
        };
        let disposition = format!("inline; filename=\"{served}\"");
        assert_eq!(
            res.header("content-disposition"),
            Some(disposition.as_str())
        );
    }
    let res = server
        .get(&format!("/api/files/docs/{id}/{notes}?thumb=100x100"), None)
        .await;
    assert_eq!(res.bytes, HELLO);
    let thumbs = storage(&server)
        .join(collection_id)
        .join(id)
        .join(format!("thumbs_{pic}"));
    let mut expected: Vec<String> = ["100x100", "20x0", "50x50"]
        .iter()
        .flat_map(|s| [format!("{s}_{pic}"), format!("{s}_{pic}.attrs")])
        .collect();
    expected.sort();
    assert_eq!(files_under(&thumbs), expected);
}

#[tokio::test]
async fn protected_files_need_a_file_token_passing_the_view_rule() {
    let (server, su, _) = setup().await;
    server
        .create_user(&su, "u1@example.com", "pass-123456", true)
        .await;
    let user = server.user_token("u1@example.com", "pass-123456").await;
    server
        .patch_collection(&su, "docs", json!({"viewRule": "@request.auth.id != ''"}))
        .await;
    let res = Form::new()
        .file("secret", "s.png", &png())
        .send(&server, "POST", "/api/collections/docs/records")
        .await;
    let record = res.json();
    let url = format!(
        "/api/files/docs/{}/{}",
        record["id"].as_str().unwrap(),
        record["secret"].as_str().unwrap()
    );
    expect(
        &server.post("/api/files/token", None, "").await,
        401,
        r#"{"data":{},"message":"The request requires valid record authorization token.","status":401}"#,
    );
    let file_token = |token: String| {
        let server = &server;
        async move {
            let res = server.post("/api/files/token", Some(&token), "").await;
            assert_eq!(res.status, 200, "{}", res.body);
            res.json()["token"].as_str().unwrap().to_string()
        }
    };
    let user_file = file_token(user.clone()).await;
    let claims = jwt_claims(&user_file);
    assert_eq!(claims["type"], "file");
    assert_eq!(claims["collectionId"], "_pb_users_auth_");

    // (token query, Authorization header, status)
    let cases: Vec<(String, Option<&str>, u16)> = vec![
        (String::new(), None, 404),
        (String::new(), Some(&user), 404),
        (format!("?token={user}"), None, 404),
        (format!("?token={user_file}"), None, 200),
        (format!("?token={user_file}&thumb=100x100"), None, 200),
    ];
    for (query, header, status) in cases {
        let res = server.get(&format!("{url}{query}"), header).await;
        assert_eq!(res.status, status, "{query} {header:?}");
        if status == 404 {
            expect(&res, 404, NOT_FOUND);
        }
    }
    // A superusers-only view rule: a superuser's file token, not a user's.
    server
        .patch_collection(&su, "docs", json!({"viewRule": null}))
        .await;
    let su_file = file_token(su.clone()).await;
    let cases = [(&user_file, 404), (&su_file, 200)];
    for (token, status) in cases {
        let res = server.get(&format!("{url}?token={token}"), None).await;
        assert_eq!(res.status, status);
    }
}

fn jwt_claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("payload");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64");
    serde_json::from_slice(&raw).expect("claims")
}
