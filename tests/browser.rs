//! End to end in a real browser: headless Chromium driven over the DevTools protocol (see
//! `common::browser`). Screenshots land in `target/test-artifacts/browser/`.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::TestServer;
use common::browser::Browser;
use common::smtp::SmtpSink;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(10);

fn artifact(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/test-artifacts/browser")
        .join(name)
}

/// Runs blocking browser work on the blocking pool (the server keeps its runtime to itself),
/// re-raising a panic there as this test's own.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => value,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_drives_a_static_page() {
    let public = tempfile::tempdir().expect("temp");
    std::fs::write(
        public.path().join("index.html"),
        r#"<!doctype html><title>Search</title>
<form action="/found/" method="get"><input name="q" id="q"><button id="go">Go</button></form>"#,
    )
    .expect("write");
    std::fs::create_dir(public.path().join("found")).expect("mkdir");
    std::fs::write(
        public.path().join("found/index.html"),
        r#"<!doctype html><title>Found</title><p id="out"></p>
<script>out.textContent = 'You searched for ' + new URLSearchParams(location.search).get('q');</script>"#,
    )
    .expect("write");
    let server = TestServer::start_with(Some(public.path().to_path_buf())).await;
    let home = server.url("/");

    blocking(move || {
        let browser = Browser::launch();
        let page = browser.new_page();
        page.goto(&home);
        assert_eq!(page.eval("document.title"), json!("Search"));
        assert_eq!(page.eval("Promise.resolve(6 * 7)"), json!(42));
        let thrown = page.try_eval("nope()").expect_err("throws");
        assert!(thrown.contains("nope is not defined"), "{thrown}");

        page.fill("#q", "pockets & pages");
        page.click_and_wait("#go");
        assert_eq!(
            page.eval("location.pathname + location.search"),
            json!("/found/?q=pockets+%26+pages")
        );
        assert_eq!(page.text("#out"), "You searched for pockets & pages");
        let shot = artifact("static-found.png");
        page.screenshot(&shot);
        let png = std::fs::read(&shot).expect("screenshot");
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otp_login_in_a_real_browser() {
    const EMAIL: &str = "browser@example.com";
    // The shipped example site: the repository's own pb_pages, pb_hooks and pb_migrations.
    let server = TestServer::start_example().await;
    let sink = SmtpSink::start().await;
    let su = server.superuser_token().await;
    server.use_smtp(&su, sink.port).await;
    // No account up front: requesting the code creates it (as PocketPages does).
    let start = server.url("/auth/otp");
    let runtime = tokio::runtime::Handle::current();

    blocking(move || {
        let browser = Browser::launch();
        let page = browser.new_page();
        page.goto(&start);
        page.fill("#identity", EMAIL);
        page.screenshot(&artifact("otp-1-request.png"));
        page.click_and_wait("#send");

        let mail = runtime.block_on(sink.next(WAIT)).expect("the OTP mail");
        assert_eq!(mail.to, vec![EMAIL.to_string()]);
        let code = mail.otp_code();
        assert!(!code.is_empty(), "a code in {:?}", mail.html);
        assert_eq!(
            page.eval("!!document.querySelector('#resend')"),
            json!(true)
        );
        page.fill("#otpCode", &code);
        page.screenshot(&artifact("otp-2-code.png"));
        page.click_and_wait("#verify");

        assert_eq!(page.eval("location.pathname"), json!("/"));
        assert_eq!(page.text("#whoami"), format!("Signed in as {EMAIL}"));
        let cookies = page.eval("document.cookie");
        let cookies = cookies.as_str().expect("document.cookie");
        assert!(
            !cookies.contains("pb_auth"),
            "pb_auth is HttpOnly: {cookies}"
        );
        page.screenshot(&artifact("otp-3-signed-in.png"));
    })
    .await;
}
