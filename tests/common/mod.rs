//! Test helpers: start the real server on `127.0.0.1:0` with a temp data dir, and a tiny
//! HTTP/1.1 client (no extra dependencies) that returns status, headers and body.

#![allow(dead_code)]

pub mod browser;
pub mod files;
pub mod smtp;

use std::path::{Path, PathBuf};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use satchel::api::{HttpConfig, Public};
use satchel::app::{App, Config};
use satchel::js::pool::Limits;
use satchel::js::{Js, JsConfig};

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "pass-123456";

/// A running server; dropping it stops the server (the shutdown sender goes away).
pub struct TestServer {
    pub addr: std::net::SocketAddr,
    pub app: App,
    /// The hooks runtime, when started with hooks.
    pub js: Option<std::sync::Arc<Js>>,
    pub dir: tempfile::TempDir,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(None).await
    }

    /// Starts with `pb_public` set to `public` (if given).
    pub async fn start_with(public: Option<PathBuf>) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::start_in(dir, public).await
    }

    /// Starts on an existing temp dir (its `pb_data` is reused).
    pub async fn start_in(dir: tempfile::TempDir, public: Option<PathBuf>) -> TestServer {
        Self::start_full(dir, public, None).await
    }

    /// Starts with `files` (name, source) written to `<dir>/pb_hooks` and loaded, with two
    /// workers and a 2 s hook deadline.
    pub async fn start_hooks(files: &[(&str, &str)]) -> TestServer {
        Self::start_hooks_with(files, test_limits()).await
    }

    pub async fn start_hooks_with(files: &[(&str, &str)], limits: Limits) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let hooks = dir.path().join("pb_hooks");
        std::fs::create_dir_all(&hooks).expect("hooks dir");
        for (name, source) in files {
            let path = hooks.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).expect("hook subdir");
            }
            std::fs::write(path, source).expect("hook file");
        }
        Self::start_full(dir, None, Some(limits)).await
    }

    /// Starts with `files` (path, text) written to `<dir>/pb_pages` (and hooks, if a path
    /// starts with `pb_hooks/`), with two workers and a 2 s deadline.
    pub async fn start_pages(files: &[(&str, &str)]) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, text) in files {
            let path = if name.starts_with("pb_hooks/") {
                dir.path().join(name)
            } else {
                dir.path().join("pb_pages").join(name)
            };
            std::fs::create_dir_all(path.parent().expect("parent")).expect("pages dir");
            std::fs::write(path, text).expect("page file");
        }
        std::fs::create_dir_all(dir.path().join("pb_hooks")).expect("hooks dir");
        Self::start_full(dir, None, Some(test_limits())).await
    }

    /// Starts on a copy of the repository's own `pb_pages`, `pb_hooks` and `pb_migrations`
    /// (the shipped example site), with no SMTP: mail goes to the dev outbox.
    pub async fn start_example() -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        for name in ["pb_pages", "pb_hooks", "pb_migrations"] {
            copy_dir(&repo.join(name), &dir.path().join(name));
        }
        Self::start_full(dir, None, Some(test_limits())).await
    }

    /// The pages dir of a server started with pages.
    pub fn pages_dir(&self) -> PathBuf {
        self.dir.path().join("pb_pages")
    }

    /// The hooks dir of a server started with hooks.
    pub fn hooks_dir(&self) -> PathBuf {
        self.dir.path().join("pb_hooks")
    }

    /// Starts on `dir`; with `hooks`, `<dir>/pb_hooks` is loaded with those limits.
    pub async fn start_full(
        dir: tempfile::TempDir,
        public: Option<PathBuf>,
        hooks: Option<Limits>,
    ) -> TestServer {
        let app = App::open(Config {
            data_dir: data_dir(dir.path()),
            dev: false,
        })
        .await
        .expect("app opens");
        let migrations = dir.path().join("pb_migrations");
        if migrations.is_dir() {
            satchel::js::migrations::up(&app, &migrations)
                .await
                .expect("migrations apply");
        }
        let js = hooks.map(|limits| {
            let hooks_dir = dir.path().join("pb_hooks");
            let pages_dir = satchel::pages::root(&dir.path().join("pb_pages"), &hooks_dir);
            let config = JsConfig {
                hooks_dir,
                pages_dir,
                limits,
            };
            Js::start(&app, config).expect("hooks load")
        });
        satchel::server::bootstrap(&app).await.expect("bootstrap");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let http = HttpConfig {
            public: Public {
                dir: public,
                index_fallback: true,
            },
            origins: vec!["*".into()],
            js: js.clone(),
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(satchel::server::run(listener, app.clone(), http, async {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            app,
            js,
            dir,
            stop,
            task,
        }
    }

    /// Stops the server (in-flight requests finish) and closes the database; returns the
    /// temp dir so a test can reopen it.
    pub async fn stop(self) -> tempfile::TempDir {
        let TestServer {
            app,
            dir,
            stop,
            task,
            ..
        } = self;
        let _ = stop.send(());
        task.await.expect("server task").expect("server ran");
        satchel::server::terminate(&app).await;
        app.close().await;
        dir
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Creates the test superuser (once) and returns a fresh auth token for it.
    pub async fn superuser_token(&self) -> String {
        satchel::auth::superusers::upsert(&self.app, ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .expect("superuser");
        let body = format!(r#"{{"identity":"{ADMIN_EMAIL}","password":"{ADMIN_PASSWORD}"}}"#);
        let res = self
            .post(
                "/api/collections/_superusers/auth-with-password",
                None,
                &body,
            )
            .await;
        assert_eq!(res.status, 200, "superuser login: {}", res.body);
        res.json()["token"].as_str().expect("token").to_string()
    }

    /// Points `settings.smtp` at a sink on `port`.
    pub async fn use_smtp(&self, superuser: &str, port: u16) {
        let body = format!(
            r#"{{"smtp":{{"enabled":true,"host":"127.0.0.1","port":{port},"tls":false}}}}"#
        );
        let res = self.patch("/api/settings", Some(superuser), &body).await;
        assert_eq!(res.status, 200, "smtp settings: {}", res.body);
    }

    /// Creates a `users` record (as a superuser); returns its id.
    pub async fn create_user(
        &self,
        superuser: &str,
        email: &str,
        password: &str,
        verified: bool,
    ) -> String {
        let body =
            serde_json::json!({"email": email, "password": password, "passwordConfirm": password,
            "verified": verified})
            .to_string();
        let res = self
            .post("/api/collections/users/records", Some(superuser), &body)
            .await;
        assert_eq!(res.status, 200, "create user: {}", res.body);
        res.json()["id"].as_str().expect("id").to_string()
    }

    /// Logs a `users` record in by password; returns the token.
    pub async fn user_token(&self, email: &str, password: &str) -> String {
        let body = serde_json::json!({"identity": email, "password": password}).to_string();
        let res = self
            .post("/api/collections/users/auth-with-password", None, &body)
            .await;
        assert_eq!(res.status, 200, "user login: {}", res.body);
        res.json()["token"].as_str().expect("token").to_string()
    }

    /// PATCHes a collection (as a superuser) and asserts it worked.
    pub async fn patch_collection(&self, superuser: &str, name: &str, body: Value) {
        let res = self
            .patch(
                &format!("/api/collections/{name}"),
                Some(superuser),
                &body.to_string(),
            )
            .await;
        assert_eq!(res.status, 200, "patch collection: {}", res.body);
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.request("GET", path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &str) -> Response {
        self.request("POST", path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: &str) -> Response {
        self.request("PATCH", path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: &str) -> Response {
        self.request("PUT", path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Response {
        self.request("DELETE", path, token, None).await
    }

    pub async fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Response {
        let mut headers = vec![];
        if let Some(token) = token {
            headers.push(("Authorization", token.to_string()));
        }
        if body.is_some() {
            headers.push(("Content-Type", "application/json".to_string()));
        }
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        send(
            self.addr,
            method,
            path,
            &headers,
            body.unwrap_or_default().as_bytes(),
        )
        .await
    }
}

/// The `pb_data` dir inside a temp dir.
/// Asserts a response's exact status and body text.
#[track_caller]
fn test_limits() -> Limits {
    Limits {
        workers: 2,
        timeout: std::time::Duration::from_secs(2),
        ..Limits::default()
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("copy dir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy file");
        }
    }
}

pub fn expect(res: &Response, status: u16, body: &str) {
    assert_eq!(
        (res.status, res.body.as_str()),
        (status, body),
        "full response: {res:?}"
    );
}

pub fn data_dir(root: &Path) -> PathBuf {
    root.join("pb_data")
}

/// One HTTP response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The body as received (`body` is its lossy UTF-8 text).
    pub bytes: Vec<u8>,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    /// The first value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header, in order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Sends one request with `Connection: close` and reads the whole response.
///
/// The body is written while the response is read: a server may answer (413, 400) before
/// reading a large body and close, and then the rest of the write fails (broken pipe) and
/// the connection is reset after the answer, which is still the answer.
pub async fn send(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    writer.write_all(head.as_bytes()).await.expect("write head");
    let body = body.to_vec();
    // The task hands the write half back, so it is not shut down (a FIN, which the server
    // may take for the client leaving) until the answer has been read.
    let writing = tokio::spawn(async move {
        let _ = writer.write_all(&body).await;
        writer
    });
    let mut raw = Vec::new();
    let mut chunk = vec![0; 64 << 10];
    loop {
        match reader.read(&mut chunk).await {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
            Err(err) if raw.is_empty() => panic!("read: {err}"),
            Err(_) => break,
        }
    }
    drop(writing);
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Response {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .expect("status")
        .parse()
        .expect("status code");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Response {
        status,
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
        bytes: body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[end + 2 + size + 2..];
    }
}
