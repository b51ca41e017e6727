//! The official `pocketbase` JS SDK (tests/sdk, node's test runner) driven against the real
//! server: a client nobody here wrote. Needs `npm ci` in tests/sdk (done by `.ci/run`).

mod common;

use std::path::Path;
use std::process::Command;

use common::{ADMIN_EMAIL, ADMIN_PASSWORD, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_js_sdk_suite_passes() {
    let sdk_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk");
    assert!(
        sdk_dir.join("node_modules/pocketbase").is_dir(),
        "the SDK is not installed: run `npm ci` in tests/sdk (.ci/run does)"
    );
    let server = TestServer::start().await;
    server.superuser_token().await;
    let url = server.url("");
    // No SMTP is configured, so mail lands in the dev outbox, where the suites read it.
    let outbox = common::data_dir(server.dir.path()).join("outbox");
    let mut suites: Vec<String> = std::fs::read_dir(&sdk_dir)
        .expect("tests/sdk")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".test.mjs"))
        .collect();
    suites.sort();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .args(["--test", "--test-reporter=spec"])
            .args(&suites)
            .current_dir(&sdk_dir)
            .env("SATCHEL_URL", url)
            .env("SATCHEL_SUPERUSER_EMAIL", ADMIN_EMAIL)
            .env("SATCHEL_SUPERUSER_PASSWORD", ADMIN_PASSWORD)
            .env("SATCHEL_OUTBOX", &outbox)
            .output()
            .expect("node runs")
    })
    .await
    .expect("join");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{report}");
    assert!(output.status.success(), "the SDK suite failed:\n{report}");
}
