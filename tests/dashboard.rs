//! The admin dashboard at `/_/`: serving over plain HTTP and the first-run installer
//! endpoint here; in headless Chromium (`dashboard/`), the whole first-run story
//! (`first_run.rs`: install, sign in, an auth collection with OTP, SMTP to the test sink, a
//! test email, settings, records with a validation error and an upload, OTP sign-in for
//! superusers, phone width) and every field type through the editors (`field_types.rs`).
//! Screenshots land in `target/test-artifacts/dashboard/`.

mod common;
#[path = "dashboard/field_types.rs"]
mod field_types;
#[path = "dashboard/first_run.rs"]
mod first_run;
#[path = "dashboard/ui.rs"]
mod ui;

use std::path::Path;

use common::{ADMIN_EMAIL, ADMIN_PASSWORD, TestServer, send};
use satchel::auth::installer;
use serde_json::json;

fn dashboard_files(dir: &Path, prefix: &str, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("dashboard dir").flatten() {
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        if entry.path().is_dir() {
            dashboard_files(&entry.path(), &format!("{name}/"), out);
        } else {
            out.push(name);
        }
    }
}

#[tokio::test]
async fn every_dashboard_file_is_served_with_its_type_and_the_shell_answers_app_paths() {
    let server = TestServer::start().await;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("dashboard");
    let mut files = Vec::new();
    dashboard_files(&root, "", &mut files);
    assert!(files.len() > 10, "{files:?}");
    for file in &files {
        let res = server.get(&format!("/_/{file}"), None).await;
        assert_eq!(
            res.status, 200,
            "{file} is embedded (add it to dashboard::ASSETS)"
        );
        let want = std::fs::read_to_string(root.join(file)).expect("read");
        assert_eq!(res.body, want, "{file}");
        let kind = match file.rsplit('.').next() {
            Some("js") => "text/javascript; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            Some("html") => "text/html; charset=utf-8",
            Some("svg") => "image/svg+xml",
            other => panic!("unexpected file type {other:?}"),
        };
        assert_eq!(res.header("content-type"), Some(kind), "{file}");
    }

    let shell = std::fs::read_to_string(root.join("index.html")).expect("shell");
    for path in ["/_/", "/_/collections/posts", "/_/settings"] {
        let res = server.get(path, None).await;
        assert_eq!(
            (res.status, res.body.as_str()),
            (200, shell.as_str()),
            "{path}"
        );
        let csp = res.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    }
    let missing = server.get("/_/js/missing.js", None).await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.json()["message"],
        "The requested resource wasn't found."
    );

    let bare = server.get("/_", None).await;
    assert_eq!((bare.status, bare.header("location")), (307, Some("/_/")));

    let first = server.get("/_/js/app.js", None).await;
    let etag = first.header("etag").expect("etag").to_string();
    let again = send(
        server.addr,
        "GET",
        "/_/js/app.js",
        &[("If-None-Match", &etag)],
        b"",
    )
    .await;
    assert_eq!((again.status, again.body.as_str()), (304, ""));
}

fn install_body(token: &str, password: &str, confirm: &str) -> String {
    json!({"token": token, "email": ADMIN_EMAIL, "password": password, "passwordConfirm": confirm})
        .to_string()
}

#[tokio::test]
async fn the_installer_creates_exactly_one_first_superuser() {
    let server = TestServer::start().await;
    // A pb_data that PocketBase started holds its placeholder: not a superuser.
    satchel::auth::superusers::upsert(
        &server.app,
        installer::PLACEHOLDER_EMAIL,
        "placeholder-pass-1",
    )
    .await
    .expect("placeholder");
    let token = installer::token_if_needed(&server.app)
        .await
        .expect("no superuser yet: a token");

    let res = server
        .post(
            "/api/installer",
            None,
            &install_body(&token, "short", "other"),
        )
        .await;
    assert_eq!(res.status, 400, "{}", res.body);
    let body = res.json();
    assert_eq!(body["message"], "Failed to create the first superuser.");
    assert_eq!(
        body["data"]["password"]["code"],
        "validation_min_text_constraint"
    );
    assert_eq!(
        body["data"]["passwordConfirm"]["code"],
        "validation_values_mismatch"
    );

    let res = server
        .post(
            "/api/installer",
            None,
            &install_body(&token, ADMIN_PASSWORD, ADMIN_PASSWORD),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let auth = res.json();
    assert_eq!(auth["record"]["email"], ADMIN_EMAIL);
    assert_eq!(auth["record"]["collectionName"], "_superusers");
    let session = auth["token"].as_str().expect("auth token");
    let settings = server.get("/api/settings", Some(session)).await;
    assert_eq!(settings.status, 200, "the answer's token is a superuser's");

    // The same (still unexpired) token, and a fresh one, are refused from now on.
    for token in [token.clone(), installer::issue(&server.app).expect("token")] {
        let res = server
            .post(
                "/api/installer",
                None,
                &install_body(&token, "another-pass-1", "another-pass-1"),
            )
            .await;
        assert_eq!(res.status, 403, "{}", res.body);
    }
    assert!(installer::token_if_needed(&server.app).await.is_none());
    let list = server
        .get("/api/collections/_superusers/records", Some(session))
        .await;
    let list = list.json();
    assert_eq!(list["totalItems"], 1, "the placeholder is gone: {list}");
    assert_eq!(list["items"][0]["email"], ADMIN_EMAIL);
}

#[tokio::test]
async fn the_installer_refuses_bad_expired_and_foreign_tokens() {
    let server = TestServer::start().await;
    let other = TestServer::start().await;
    let good = installer::issue(&server.app).expect("token");
    let mut tampered = good.clone();
    tampered.pop();
    tampered.push(if good.ends_with('A') { 'B' } else { 'A' });
    let cases = [
        ("no token", String::new()),
        ("garbage", "not-a-jwt".to_string()),
        (
            "expired",
            installer::issue_valid_for(&server.app, -5).expect("token"),
        ),
        ("tampered", tampered),
        (
            "another server's",
            installer::issue(&other.app).expect("token"),
        ),
        ("a user's auth token", {
            let superuser = server.superuser_token().await;
            server
                .create_user(&superuser, "ann@example.com", "password123", true)
                .await;
            // Back to "no superuser", so only the token's kind is under test.
            satchel::auth::superusers::delete(&server.app, ADMIN_EMAIL)
                .await
                .expect("delete");
            server.user_token("ann@example.com", "password123").await
        }),
    ];
    for (what, token) in cases {
        let res = server
            .post(
                "/api/installer",
                None,
                &install_body(&token, ADMIN_PASSWORD, ADMIN_PASSWORD),
            )
            .await;
        assert_eq!(
            (res.status, res.json()["message"].clone()),
            (401, json!("The installer link is invalid or has expired.")),
            "{what}"
        );
    }
    // Still installable with the good token.
    let res = server
        .post(
            "/api/installer",
            None,
            &install_body(&good, ADMIN_PASSWORD, ADMIN_PASSWORD),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
}
