//! Helpers of the file tests: a `multipart/form-data` body builder, a test image, and the
//! `docs` collection with file fields (the same one the reference was checked with).

use std::io::Cursor;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::{Response, TestServer};

pub const NOT_FOUND: &str =
    r#"{"data":{},"message":"The requested resource wasn't found.","status":404}"#;
pub const BAD_REQUEST: &str =
    r#"{"data":{},"message":"Something went wrong while processing your request.","status":400}"#;
pub const HELLO: &[u8] = b"hello world\n";

/// A server with the `docs` collection (open rules); returns it, a superuser token and the
/// collection id.
pub async fn setup() -> (TestServer, String, String) {
    setup_on(TestServer::start().await).await
}

pub async fn setup_on(server: TestServer) -> (TestServer, String, String) {
    let su = server.superuser_token().await;
    let body = json!({
        "name": "docs", "type": "base",
        "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
        "fields": [
            {"name": "title", "type": "text"},
            {"name": "one", "type": "file", "maxSize": 100},
            {"name": "many", "type": "file", "maxSelect": 3,
             "mimeTypes": ["image/png", "text/plain"], "thumbs": ["50x50", "20x0"]},
            {"name": "secret", "type": "file", "protected": true},
            {"name": "tags", "type": "json"},
        ],
    });
    let res = server
        .post("/api/collections", Some(&su), &body.to_string())
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let id = res.json()["id"].as_str().expect("id").to_string();
    (server, su, id)
}

pub fn storage(server: &TestServer) -> PathBuf {
    super::data_dir(server.dir.path()).join("storage")
}

/// Every stored file (sidecars and thumbs included) under `dir`, relative to it, sorted.
pub fn files_under(dir: &Path) -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, root, out);
            } else {
                let relative = path.strip_prefix(root).expect("relative");
                out.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

pub fn names(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().map(|v| v.as_str().unwrap().into()).collect(),
        Value::String(s) if !s.is_empty() => vec![s.clone()],
        _ => vec![],
    }
}

pub fn assert_stored_name(name: &str, pattern: &str) {
    let regex = regex::Regex::new(pattern).unwrap();
    assert!(regex.is_match(name), "{name} !~ {pattern}");
}

/// A `multipart/form-data` body, built part by part.
#[derive(Default)]
pub struct Form {
    parts: Vec<u8>,
}

pub const BOUNDARY: &str = "satchel-test-boundary";

impl Form {
    pub fn new() -> Form {
        Form::default()
    }

    pub fn text(mut self, name: &str, value: &str) -> Form {
        self.parts.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
        self
    }

    pub fn file(mut self, name: &str, filename: &str, data: &[u8]) -> Form {
        self.parts.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; \
                 filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        self.parts.extend_from_slice(data);
        self.parts.extend_from_slice(b"\r\n");
        self
    }

    pub fn body(mut self) -> Vec<u8> {
        self.parts
            .extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        self.parts
    }

    pub async fn send(self, server: &TestServer, method: &str, path: &str) -> Response {
        let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
        let headers = [("Content-Type", content_type.as_str())];
        super::send(server.addr, method, path, &headers, &self.body()).await
    }
}

/// An 80x40 PNG (a gradient, so thumbs have something to scale).
pub fn png() -> Vec<u8> {
    let img = image::RgbImage::from_fn(80, 40, |x, y| image::Rgb([x as u8 * 3, y as u8 * 6, 128]));
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("png");
    out.into_inner()
}
