//! The shipped example site (`pb_pages`, `pb_hooks`, `pb_migrations`) over HTTP: the OTP
//! login of the PocketPages docs with the code read from the SMTP sink, the error messages,
//! resend, the `pb_auth` cookie, sign-out, password login, and the hot reload of pages.

mod common;

use std::time::Duration;

use common::smtp::SmtpSink;
use common::{Response, TestServer, send};

const WAIT: Duration = Duration::from_secs(10);
const FORM: &str = "application/x-www-form-urlencoded";

async fn post_form(server: &TestServer, path: &str, form: &str, cookie: Option<&str>) -> Response {
    let mut headers = vec![("Content-Type", FORM)];
    if let Some(cookie) = cookie {
        headers.push(("Cookie", cookie));
    }
    send(server.addr, "POST", path, &headers, form.as_bytes()).await
}

async fn get(server: &TestServer, path: &str, cookie: Option<&str>) -> Response {
    let headers: Vec<(&str, &str)> = cookie.map(|c| ("Cookie", c)).into_iter().collect();
    send(server.addr, "GET", path, &headers, b"").await
}

/// The text between `<main>` and `</main>`.
fn main_of(res: &Response) -> &str {
    let start = res.body.find("<main>").expect("a <main>") + "<main>".len();
    let end = res.body.find("</main>").expect("a </main>");
    &res.body[start..end]
}

/// The value of the hidden input `name` in the page.
fn hidden(res: &Response, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = res.body.find(&marker).expect("the hidden input") + marker.len();
    res.body[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// `name=value` of the first `Set-Cookie` for `name`.
fn cookie_pair(res: &Response, name: &str) -> String {
    res.header_all("set-cookie")
        .into_iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .expect("the cookie is set")
        .to_string()
}

async fn example_with_smtp() -> (TestServer, SmtpSink) {
    let server = TestServer::start_example().await;
    let sink = SmtpSink::start().await;
    let admin = server.superuser_token().await;
    server.use_smtp(&admin, sink.port).await;
    (server, sink)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otp_login_through_the_shipped_page() {
    let (server, sink) = example_with_smtp().await;

    let home = get(&server, "/", None).await;
    assert_eq!(home.status, 200);
    assert_eq!(
        home.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(main_of(&home).contains("<h1>Hello, stranger!</h1>"));

    let step1 = get(&server, "/auth/otp", None).await;
    assert_eq!(step1.status, 200);
    assert!(main_of(&step1).contains("<!-- Step 1: Request OTP -->"));
    assert!(
        main_of(&step1).contains(r#"<input type="email" name="identity" id="identity" value="""#)
    );

    // A bad address: step 1 again, with PocketBase's message.
    let bad = post_form(
        &server,
        "/auth/otp",
        "mode=otp-request&identity=not-an-email",
        None,
    )
    .await;
    assert_eq!(bad.status, 200);
    assert!(main_of(&bad).starts_with(
        r#"<p class="error" role="alert">An error occurred while validating the submitted data.</p>"#
    ));
    assert!(main_of(&bad).contains("<!-- Step 1: Request OTP -->"));

    // The request creates the user (as PocketPages does) and mails the code.
    let step2 = post_form(
        &server,
        "/auth/otp",
        "mode=otp-request&identity=carol%40example.com",
        None,
    )
    .await;
    assert_eq!(step2.status, 200);
    assert!(main_of(&step2).starts_with("<!-- Step 2: Verify OTP -->"));
    let first_id = hidden(&step2, "otpId");
    assert_eq!(first_id.len(), 15);
    sink.next(WAIT).await.expect("the first OTP mail");

    // Resend: a new OTP and a new mail.
    let resent = post_form(
        &server,
        "/auth/otp",
        "mode=otp-request&identity=carol%40example.com",
        None,
    )
    .await;
    let otp_id = hidden(&resent, "otpId");
    assert_ne!(otp_id, first_id);
    let mail = sink.next(WAIT).await.expect("the second OTP mail");
    assert_eq!(mail.to, vec!["carol@example.com".to_string()]);
    let code = mail.otp_code();
    assert_eq!(code.len(), 8);

    // A wrong code: the message, step 2 again, and the OTP still usable.
    let wrong_code = if code == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    let wrong = post_form(
        &server,
        "/auth/otp",
        &format!(
            "mode=otp-confirm&identity=carol%40example.com&otpId={otp_id}&otpCode={wrong_code}"
        ),
        None,
    )
    .await;
    assert_eq!(wrong.status, 200);
    assert!(
        main_of(&wrong).starts_with(r#"<p class="error" role="alert">Invalid or expired OTP.</p>"#)
    );
    assert!(main_of(&wrong).contains("<!-- Step 2: Verify OTP -->"));
    assert_eq!(hidden(&wrong, "otpId"), otp_id);

    // The right code: 302 home with the flash, and the pb_auth cookie.
    let signed = post_form(
        &server,
        "/auth/otp",
        &format!("mode=otp-confirm&identity=carol%40example.com&otpId={otp_id}&otpCode={code}"),
        None,
    )
    .await;
    assert_eq!(signed.status, 302);
    assert_eq!(signed.header("location"), Some("/?__flash=Signed%20in"));
    let set = signed.header_all("set-cookie");
    assert_eq!(set.len(), 1, "{set:?}");
    assert!(
        set[0].starts_with("pb_auth=%7B%22token%22%3A%22"),
        "{}",
        set[0]
    );
    assert!(
        set[0].ends_with("; Path=/; HttpOnly; SameSite=Lax"),
        "{}",
        set[0]
    );
    let cookie = cookie_pair(&signed, "pb_auth");

    // The next request is signed in by the cookie.
    let home = get(&server, "/?__flash=Signed%20in", Some(&cookie)).await;
    assert_eq!(home.status, 200);
    assert!(
        home.body
            .contains(r#"<p class="flash" role="status">Signed in</p>"#)
    );
    assert!(main_of(&home).contains(r#"<p id="whoami">Signed in as carol@example.com</p>"#));
    assert!(home.body.contains(r#"<a href="/auth/logout">Sign out</a>"#));
    assert!(home.header("set-cookie").is_none());

    // Signing in by code verified the address (PocketBase does, §6.3).
    let admin = server.superuser_token().await;
    let users = server
        .get(
            "/api/collections/users/records?filter=email%3D%22carol%40example.com%22",
            Some(&admin),
        )
        .await;
    assert_eq!(users.json()["items"][0]["verified"], true);

    // Sign-out clears the cookie and redirects with the flash.
    let out = get(&server, "/auth/logout", Some(&cookie)).await;
    assert_eq!(out.status, 302);
    assert_eq!(out.header("location"), Some("/?__flash=Signed%20out"));
    assert_eq!(
        out.header_all("set-cookie"),
        vec!["pb_auth=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_login_and_bad_cookies() {
    let server = TestServer::start_example().await;
    let admin = server.superuser_token().await;
    server
        .create_user(&admin, "dave@example.com", "pass-123456", true)
        .await;

    let wrong = post_form(
        &server,
        "/auth/login",
        "identity=dave%40example.com&password=nope-nope",
        None,
    )
    .await;
    assert_eq!(wrong.status, 200);
    assert!(
        main_of(&wrong).contains(r#"<p class="error" role="alert">Failed to authenticate.</p>"#)
    );

    let right = post_form(
        &server,
        "/auth/login",
        "identity=dave%40example.com&password=pass-123456",
        None,
    )
    .await;
    assert_eq!(right.status, 302);
    let cookie = cookie_pair(&right, "pb_auth");
    let home = get(&server, "/", Some(&cookie)).await;
    assert!(main_of(&home).contains("Signed in as dave@example.com"));

    // A cookie that is not JSON, or whose token is invalid, is cleared; the page is anonymous.
    for bad in ["pb_auth=garbage", "pb_auth=%7B%22token%22%3A%22nope%22%7D"] {
        let res = get(&server, "/", Some(bad)).await;
        assert_eq!(res.status, 200);
        assert!(main_of(&res).contains("Hello, stranger!"), "{bad}");
        assert_eq!(
            res.header_all("set-cookie"),
            vec!["pb_auth=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"],
            "{bad}"
        );
    }

    // An Authorization header wins over the cookie.
    let token = server.user_token("dave@example.com", "pass-123456").await;
    let res = send(
        server.addr,
        "GET",
        "/",
        &[("Authorization", &token), ("Cookie", "pb_auth=garbage")],
        b"",
    )
    .await;
    assert!(main_of(&res).contains("Signed in as dave@example.com"));
    assert!(res.header("set-cookie").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_and_hooks_still_answer_beside_the_pages() {
    let server = TestServer::start_example().await;
    let health = server.get("/api/health", None).await;
    assert_eq!(health.status, 200);
    let hello = server.get("/api/hello/pages", None).await;
    assert_eq!(hello.status, 200);
    assert_eq!(hello.json()["message"], "Hello pages!");
    // Unknown paths fall through to PocketBase's 404.
    let missing = server.get("/no/such/page", None).await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.body,
        r#"{"data":{},"message":"File not found.","status":404}"#
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_changes_are_picked_up_without_a_restart() {
    let server = TestServer::start_example().await;
    let js = server.js.clone().expect("the pages runtime");
    let _watcher = satchel::watch::watch(&[server.pages_dir()], js).expect("watch");
    let fresh = server.pages_dir().join("fresh.ejs");
    std::fs::write(&fresh, "<p>fresh <%= 1 + 1 %></p>").expect("write");
    let mut served = None;
    for _ in 0..100 {
        let res = get(&server, "/fresh", None).await;
        if res.status == 200 {
            served = Some(res);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let served = served.expect("the new page is served");
    assert!(main_of(&served).contains("<p>fresh 2</p>"));
    std::fs::remove_file(&fresh).expect("remove");
    let mut gone = false;
    for _ in 0..100 {
        if get(&server, "/fresh", None).await.status == 404 {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(gone, "a removed page is no longer served");
}
