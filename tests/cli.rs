//! The `satchel` binary as a user runs it: `--version`, the `superuser` commands (worded and
//! exiting as PocketBase's), and `serve` with its banner and graceful shutdown on SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_satchel");

fn satchel(args: &[&str], dir: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--dir")
        .arg(dir)
        .output()
        .expect("runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// stderr without PocketBase's `YYYY/MM/DD HH:MM:SS ` log prefix.
fn stderr(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stderr).trim().to_string();
    text.get(20..).unwrap_or_default().to_string()
}

#[test]
fn version() {
    let out = Command::new(BIN).arg("--version").output().expect("runs");
    assert!(out.status.success());
    assert_eq!(
        stdout(&out),
        format!("satchel version {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn superuser_commands_match_pocketbase() {
    let tmp = tempfile::tempdir().expect("temp");
    let dir = tmp.path().join("pb_data");
    // (args, success, stdout or stderr message)
    let cases: [(&[&str], bool, &str); 11] = [
        (
            &["superuser", "create", "x@y.co", "pass-123456"],
            true,
            r#"Successfully created new superuser "x@y.co"!"#,
        ),
        (
            &["superuser", "create", "x@y.co", "pass-123456"],
            false,
            "failed to create new superuser account: email: Value must be unique.",
        ),
        (
            &["superuser", "create", "not-an-email", "pass-123456"],
            false,
            "missing or invalid email address",
        ),
        (
            &["superuser", "create", "z@y.co", "1234567"],
            false,
            "failed to create new superuser account: password: Must be at least 8 character(s).",
        ),
        (
            &["superuser", "create", "onlyemail@y.co"],
            false,
            "missing email and password arguments",
        ),
        (
            &["superuser", "update", "unknown@y.co", "pass-123456"],
            false,
            r#"superuser with email "unknown@y.co" doesn't exist"#,
        ),
        (
            &["superuser", "update", "x@y.co", "newpass-123456"],
            true,
            r#"Successfully changed superuser "x@y.co" password!"#,
        ),
        (
            &["superuser", "upsert", "x@y.co", "pass-654321"],
            true,
            r#"Successfully saved superuser "x@y.co"!"#,
        ),
        (
            &["superuser", "upsert", "new@y.co", "pass-654321"],
            true,
            r#"Successfully saved superuser "new@y.co"!"#,
        ),
        (
            &["superuser", "delete", "unknown@y.co"],
            true,
            r#"superuser "unknown@y.co" is missing or already deleted"#,
        ),
        (
            &["superuser", "delete", "new@y.co"],
            true,
            r#"Successfully deleted superuser "new@y.co"!"#,
        ),
    ];
    for (args, success, message) in cases {
        let out = satchel(args, &dir);
        assert_eq!(
            out.status.success(),
            success,
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = if success { stdout(&out) } else { stderr(&out) };
        assert_eq!(text, message, "{args:?}");
    }
    assert!(
        dir.join("data.db").is_file(),
        "the data dir is created before the first serve"
    );
}

#[test]
fn serve_prints_the_banner_answers_and_shuts_down_cleanly_on_sigterm() {
    let tmp = tempfile::tempdir().expect("temp");
    let dir = tmp.path().join("pb_data");
    let mut child = Command::new(BIN)
        .args(["serve", "--http", "127.0.0.1:0", "--dir"])
        .arg(&dir)
        .arg("--publicDir")
        .arg(tmp.path().join("no_public"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next().expect("banner").expect("line");
    let base = first
        .split("Server started at ")
        .nth(1)
        .expect("banner line")
        .to_string();
    assert_eq!(
        lines.next().expect("line").expect("line"),
        format!("├─ REST API:  {base}/api/")
    );
    assert_eq!(
        lines.next().expect("line").expect("line"),
        format!("└─ Dashboard: {base}/_/")
    );
    assert_eq!(lines.next().expect("line").expect("line"), "");
    let mut next = || lines.next().expect("line").expect("line");
    assert!(next().contains("create your first superuser account"));
    let link = next();
    assert!(
        link.starts_with(&format!("{base}/_/#/pbinstall/")),
        "{link}"
    );
    assert!(next().contains("satchel superuser upsert EMAIL PASS"));

    let addr = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    use std::io::{Read, Write};
    // A records list opens a synchronous reader connection: it must not keep the WAL alive.
    let request =
        b"GET /api/collections/users/records HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    stream.write_all(request).expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response.ends_with(r#"{"items":[],"page":1,"perPage":30,"totalItems":0,"totalPages":0}"#),
        "{response}"
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = child.wait().expect("wait");
    assert!(
        status.success(),
        "graceful shutdown exits 0, got {status:?}"
    );
    assert!(
        !dir.join("data.db-wal").exists(),
        "the WAL is checkpointed and removed on a clean close"
    );
}

#[test]
fn serve_reports_a_bad_address() {
    let tmp = tempfile::tempdir().expect("temp");
    let out = satchel(
        &["serve", "--http", "not-an-address"],
        &tmp.path().join("pb_data"),
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).starts_with("failed to listen on not-an-address"),
        "{}",
        stderr(&out)
    );
}
