//! Plain-Rust implementation of PocketBase's `$http.send` (`plugins/jsvm/binds.go`,
//! `httpClientBinds`), a blocking HTTP/1.1 client (ureq + rustls/ring) that behaves like
//! Go's `http.DefaultClient` as PocketBase uses it.
//!
//! JS: `$http.send({url, method = "GET", body, headers, timeout = 120, data})` →
//! `{statusCode, headers, cookies, json, body, raw}`.
//!
//! Mapping for the binder:
//! * `url`, `method`, `headers` (object → `(name, value)` pairs, added with Go's
//!   `Header.Add`), `timeout` (seconds; `<= 0` or missing → 120, see [`timeout_from_secs`])
//!   and `body` (string → its UTF-8 bytes) fill [`SendOptions`].
//! * deprecated `data` (object): when non-empty PocketBase sends `json.Marshal(data)`
//!   instead of `body` (and does NOT set a Content-Type): use [`legacy_data_body`].
//! * `FormData` bodies (multipart) are not handled here: the binder must encode them and
//!   set the `content-type` header itself (PocketBase overwrites any user value).
//! * result: `statusCode` = [`SendResult::status_code`], `headers` = [`SendResult::headers`]
//!   (Go `http.Header`: canonical name → array of values), `cookies` =
//!   [`SendResult::cookies`] (name → Go `http.Cookie` fields, see [`parse_set_cookie`]),
//!   `json` = [`SendResult::json`] (any JSON value, `null` when the body is empty or not
//!   JSON), `body` = raw bytes, `raw` = [`SendResult::raw`] (deprecated string form).
//!
//! Go behaviours reproduced:
//! * non-2xx statuses are results, not errors;
//! * redirects are followed like Go's default client (`CheckRedirect` fails once 10
//!   requests were sent, i.e. the 10th redirect response of a chain fails with
//!   `Get "<its Location>": stopped after 10 redirects`), 301/302/303 switch to GET (except
//!   GET/HEAD) and drop the body, 307/308 resend method and body, original headers are
//!   copied but `Authorization`, `Www-Authenticate`, `Cookie`, `Cookie2`,
//!   `Proxy-Authorization` and `Proxy-Authenticate` are dropped once the host is neither
//!   the original one nor a subdomain of it, `Referer` is set (unless https → http), a 3xx
//!   without `Location` is returned as is;
//! * `User-Agent: Go-http-client/1.1` unless set; `Accept-Encoding: gzip` is added (and a
//!   gzip response transparently decoded, dropping `Content-Encoding`/`Content-Length`)
//!   only when the caller set neither `Accept-Encoding` nor `Range` and the method is not
//!   HEAD; user `Host`, `Content-Length`, `Transfer-Encoding` and `Trailer` headers are
//!   ignored (Go computes them); `Content-Length: 0` is sent for an empty POST/PUT/PATCH;
//! * the timeout covers the whole exchange including redirects; hitting it before the
//!   response headers fails with `<Op> "<url>": context deadline exceeded`, hitting it
//!   while reading the body returns what was read (PocketBase ignores the read error);
//! * errors are Go `*url.Error` texts: `Get "http://127.0.0.1:1/": dial tcp 127.0.0.1:1:
//!   connect: connection refused`, `Get "ftp://x": unsupported protocol scheme "ftp"`.
//!
//! No state is kept between calls (no connection pool, no cookie jar, like PocketBase's
//! use of `http.DefaultClient` which has no jar).

use std::io::Read;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

/// PocketBase's default `$http.send` timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Go's `defaultUserAgent`.
pub const GO_USER_AGENT: &str = "Go-http-client/1.1";

const MAX_REDIRECTS: usize = 10;

/// Options of one `$http.send` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendOptions {
    /// Request URL (absolute `http`/`https`).
    pub url: String,
    /// HTTP method, case-insensitive (upper-cased like PocketBase); `""` means GET.
    pub method: String,
    /// Raw request body.
    pub body: Vec<u8>,
    /// Request headers in insertion order, added with Go's `Header.Add` semantics.
    pub headers: Vec<(String, String)>,
    /// Deadline for the whole exchange (redirects and body included).
    pub timeout: Duration,
}

impl Default for SendOptions {
    fn default() -> Self {
        SendOptions {
            url: String::new(),
            method: "GET".to_string(),
            body: Vec::new(),
            headers: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

impl SendOptions {
    /// A GET of `url` with PocketBase's defaults.
    #[cfg(test)]
    pub fn new(url: impl Into<String>) -> Self {
        SendOptions {
            url: url.into(),
            ..Default::default()
        }
    }
}

/// PocketBase's `timeout` handling: seconds, `<= 0` → 120 s.
pub fn timeout_from_secs(secs: i64) -> Duration {
    if secs <= 0 {
        DEFAULT_TIMEOUT
    } else {
        Duration::from_secs(secs as u64)
    }
}

/// The request body PocketBase sends for the deprecated `data` option
/// (`json.Marshal(data)`, Go key order and escaping); `None` when `data` is empty, in
/// which case `body` is used instead.
pub fn legacy_data_body(data: &Map<String, Value>) -> Option<Vec<u8>> {
    if data.is_empty() {
        return None;
    }
    Some(super::security::go_json_marshal(&Value::Object(data.clone())).into_bytes())
}

/// The result of `$http.send`.
#[derive(Debug, Clone, PartialEq)]
pub struct SendResult {
    /// Response status code (any status; non-2xx are not errors).
    pub status_code: u16,
    /// Go `http.Header`: canonical header name → JSON array of string values.
    pub headers: Map<String, Value>,
    /// Cookie name → Go `http.Cookie` object (see [`parse_set_cookie`]); a later
    /// `Set-Cookie` with the same name wins.
    pub cookies: Map<String, Value>,
    /// Response body bytes (gzip-decoded when Go would).
    pub body: Vec<u8>,
    /// The body parsed as JSON (any JSON value) or `null` when empty/invalid.
    pub json: Value,
}

impl SendResult {
    /// The deprecated `raw` field: the body as a string (invalid UTF-8 → U+FFFD).
    pub fn raw(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

// ---------------------------------------------------------------------------
// Go helpers
// ---------------------------------------------------------------------------

fn is_token_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

/// Go's `textproto.CanonicalMIMEHeaderKey` (`content-type` → `Content-Type`); keys with
/// non-token bytes are returned unchanged.
pub fn canonical_header_key(key: &str) -> String {
    if !key.bytes().all(is_token_byte) {
        return key.to_string();
    }
    let mut upper = true;
    key.bytes()
        .map(|c| {
            let out = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == b'-';
            out as char
        })
        .collect()
}

fn url_error_op(method: &str) -> String {
    let mut chars = method.chars();
    match chars.next() {
        Some(first) => first.to_string() + &chars.as_str().to_lowercase(),
        None => String::new(),
    }
}

fn url_error(op: &str, url: &str, err: &str) -> String {
    format!("{op} {url:?}: {err}")
}

fn strip_password(u: &url::Url) -> String {
    if u.password().is_some() {
        let mut c = u.clone();
        let _ = c.set_password(Some("***"));
        c.to_string()
    } else {
        u.to_string()
    }
}

fn header_get<'a>(headers: &'a [(String, String)], canonical: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == canonical)
        .map(|(_, v)| v.as_str())
}

fn is_domain_or_subdomain(sub: &str, parent: &str) -> bool {
    if sub == parent {
        return true;
    }
    if sub.contains([':', '%']) {
        return false;
    }
    sub.len() > parent.len()
        && sub.ends_with(parent)
        && sub.as_bytes()[sub.len() - parent.len() - 1] == b'.'
}

fn host_of(u: &url::Url) -> String {
    match u.host() {
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        Some(h) => h.to_string(),
        None => String::new(),
    }
}

fn host_port(u: &url::Url) -> String {
    let port = u.port_or_known_default().unwrap_or(80);
    match u.host() {
        Some(url::Host::Ipv6(ip)) => format!("[{ip}]:{port}"),
        Some(h) => format!("{h}:{port}"),
        None => format!(":{port}"),
    }
}

fn is_loopback_host(u: &url::Url) -> bool {
    match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// `net/http` request validation + `url.Parse`; returns the parsed URL or Go's error.
fn parse_request_url(raw: &str) -> Result<Result<url::Url, String>, String> {
    // Outer Err: returned as-is (http.NewRequest errors); inner Err: wrapped by the
    // client as `<Op> "<url>": <err>`.
    if raw.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err(format!(
            "parse {raw:?}: net/url: invalid control character in URL"
        ));
    }
    let no_fragment = raw.split('#').next().unwrap_or(raw);
    match url::Url::parse(no_fragment) {
        Ok(u) => {
            if u.scheme() != "http" && u.scheme() != "https" {
                return Ok(Err(format!("unsupported protocol scheme {:?}", u.scheme())));
            }
            // WHATWG parsing turns "http:///x" into host "x"; Go sees an empty host.
            let after_scheme = &no_fragment[u.scheme().len() + 1..];
            let no_host = match after_scheme.strip_prefix("//") {
                None => true,
                Some(auth) => auth.is_empty() || auth.starts_with(['/', '?']),
            };
            if no_host {
                return Ok(Err("http: no Host in request URL".to_string()));
            }
            Ok(Ok(u))
        }
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            let scheme = match no_fragment.split_once(':') {
                Some((s, _))
                    if !s.is_empty()
                        && s.bytes().next().is_some_and(|c| c.is_ascii_alphabetic())
                        && s.bytes()
                            .all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(&c)) =>
                {
                    s.to_ascii_lowercase()
                }
                _ => String::new(),
            };
            Ok(Err(format!("unsupported protocol scheme {scheme:?}")))
        }
        Err(e) => Err(format!("parse {raw:?}: {e}")),
    }
}

/// One hop of the exchange.
struct Hop {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Go's wording for the most common TLS failures, `tls: <rustls text>` otherwise.
fn tls_error_text(e: &rustls::Error, u: &url::Url) -> String {
    use rustls::CertificateError as C;
    let verify = "tls: failed to verify certificate: x509: ";
    match e {
        rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType) => {
            "tls: first record does not look like a TLS handshake".to_string()
        }
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => format!("{verify}certificate signed by unknown authority"),
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                format!("{verify}certificate is not valid for {}", host_of(u))
            }
            C::Expired
            | C::ExpiredContext { .. }
            | C::NotValidYet
            | C::NotValidYetContext { .. } => {
                format!("{verify}certificate has expired or is not yet valid")
            }
            other => format!("{verify}{other:?}"),
        },
        other => format!("tls: {other}"),
    }
}

fn map_ureq_error(e: ureq::Error, u: &url::Url) -> String {
    use std::io::ErrorKind;
    match e {
        ureq::Error::Timeout(_) => "context deadline exceeded".to_string(),
        ureq::Error::HostNotFound => format!("dial tcp: lookup {}: no such host", host_of(u)),
        ureq::Error::Io(io)
            if io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some()) =>
        {
            let inner = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
            tls_error_text(inner.expect("checked above"), u)
        }
        ureq::Error::Io(io) => match io.kind() {
            ErrorKind::ConnectionRefused => {
                format!("dial tcp {}: connect: connection refused", host_port(u))
            }
            ErrorKind::TimedOut | ErrorKind::WouldBlock => "context deadline exceeded".to_string(),
            ErrorKind::UnexpectedEof
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted => "EOF".to_string(),
            _ => {
                let msg = io.to_string();
                if msg.contains("lookup address") || msg.contains("Name or service not known") {
                    format!("dial tcp: lookup {}: no such host", host_of(u))
                } else {
                    super::os::errno_text(&io)
                }
            }
        },
        ureq::Error::Tls(m) => format!("tls: {m}"),
        ureq::Error::Rustls(r) => tls_error_text(&r, u),
        other => other.to_string(),
    }
}

/// Sends one request (no redirect following) and reads the whole response.
fn send_one(
    method: &str,
    u: &url::Url,
    headers: &[(String, String)],
    body: Option<&[u8]>,
    deadline: Instant,
) -> Result<Hop, String> {
    let remaining = deadline.saturating_duration_since(Instant::now());
    if remaining.is_zero() {
        return Err("context deadline exceeded".to_string());
    }
    let mut cfg = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .allow_non_standard_methods(true)
        .user_agent(ureq::config::AutoHeaderValue::None)
        .accept(ureq::config::AutoHeaderValue::None)
        .accept_encoding(ureq::config::AutoHeaderValue::None)
        .timeout_global(Some(remaining));
    if is_loopback_host(u) {
        // Go's ProxyFromEnvironment never proxies localhost/loopback.
        cfg = cfg.proxy(None);
    }
    let agent: ureq::Agent = cfg.build().into();

    let mut req = ureq::http::Request::builder()
        .method(method)
        .uri(u.as_str());
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let result = match body {
        Some(b) => req.body(b.to_vec()).map(|r| agent.run(r)),
        None => req.body(()).map(|r| agent.run(r)),
    };
    let response = match result {
        Err(e) => return Err(e.to_string()),
        Ok(Err(e)) => return Err(map_ureq_error(e, u)),
        Ok(Ok(r)) => r,
    };

    let status = response.status().as_u16();
    let mut out_headers: Vec<(String, String)> = Vec::new();
    for (name, value) in response.headers() {
        out_headers.push((
            canonical_header_key(name.as_str()),
            String::from_utf8_lossy(value.as_bytes()).into_owned(),
        ));
    }
    let mut reader = response
        .into_body()
        .into_with_config()
        .limit(u64::MAX)
        .reader();
    let mut data = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break, // PocketBase ignores body read errors (partial body)
        }
    }
    Ok(Hop {
        status,
        headers: out_headers,
        body: data,
    })
}

fn validate_method(m: &str) -> bool {
    !m.is_empty() && m.bytes().all(is_token_byte)
}

fn gunzip_lossy(data: &[u8]) -> Vec<u8> {
    let mut d = flate2::read::MultiGzDecoder::new(data);
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match d.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    out
}

const SENSITIVE_REDIRECT_HEADERS: &[&str] = &[
    "Authorization",
    "Www-Authenticate",
    "Cookie",
    "Cookie2",
    "Proxy-Authorization",
    "Proxy-Authenticate",
];

/// `$http.send(config)`.
pub fn send(opts: &SendOptions) -> Result<SendResult, String> {
    let method = if opts.method.is_empty() {
        "GET".to_string()
    } else {
        opts.method.to_uppercase()
    };
    if !validate_method(&method) {
        return Err(format!("net/http: invalid method {method:?}"));
    }
    let op = url_error_op(&method);
    let deadline = Instant::now() + opts.timeout;

    // User headers, canonicalized, minus the ones Go computes itself.
    let mut user_headers: Vec<(String, String)> = Vec::new();
    for (k, v) in &opts.headers {
        let ck = canonical_header_key(k);
        if !ck.bytes().all(is_token_byte) || ck.is_empty() {
            let shown = opts.url.clone();
            return Err(url_error(
                &op,
                &shown,
                &format!("net/http: invalid header field name {k:?}"),
            ));
        }
        if v.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            let shown = opts.url.clone();
            return Err(url_error(
                &op,
                &shown,
                &format!("net/http: invalid header field value for {ck:?}"),
            ));
        }
        if matches!(
            ck.as_str(),
            "Host" | "Content-Length" | "Transfer-Encoding" | "Trailer"
        ) {
            continue;
        }
        user_headers.push((ck, v.clone()));
    }

    let first_url = match parse_request_url(&opts.url)? {
        Ok(u) => u,
        Err(e) => return Err(url_error(&op, &opts.url, &e)),
    };

    let mut cur_url = first_url.clone();
    let mut cur_method = method.clone();
    let mut cur_body: Option<Vec<u8>> = Some(opts.body.clone());
    let mut cur_headers = user_headers.clone();
    let mut strip_sensitive = false;
    let mut shown_url = if first_url.password().is_some() {
        strip_password(&first_url)
    } else {
        opts.url.clone()
    };
    let mut hops = 0usize;

    loop {
        // per-request automatic headers
        let mut wire = cur_headers.clone();
        if header_get(&wire, "User-Agent").is_none() {
            wire.push(("User-Agent".to_string(), GO_USER_AGENT.to_string()));
        }
        let added_gzip = header_get(&wire, "Accept-Encoding").is_none()
            && header_get(&wire, "Range").is_none()
            && cur_method != "HEAD";
        if added_gzip {
            wire.push(("Accept-Encoding".to_string(), "gzip".to_string()));
        }
        let body = match &cur_body {
            Some(b) if !b.is_empty() => Some(b.as_slice()),
            _ if matches!(cur_method.as_str(), "POST" | "PUT" | "PATCH") => Some(&[][..]),
            _ => None,
        };

        let hop = send_one(&cur_method, &cur_url, &wire, body, deadline)
            .map_err(|e| url_error(&op, &shown_url, &e))?;

        let redirect = match hop.status {
            301..=303 => Some((
                if cur_method == "GET" || cur_method == "HEAD" {
                    cur_method.clone()
                } else {
                    "GET".to_string()
                },
                false,
            )),
            307 | 308 => Some((cur_method.clone(), true)),
            _ => None,
        };
        let location = header_get(&hop.headers, "Location").map(str::to_string);
        let (Some((next_method, include_body)), Some(loc)) = (redirect, location) else {
            return Ok(finish(hop, added_gzip));
        };
        if loc.is_empty() {
            return Ok(finish(hop, added_gzip));
        }

        let next_url = match cur_url.join(&loc) {
            Ok(u) => u,
            Err(e) => {
                return Err(url_error(
                    &op,
                    &strip_password(&cur_url),
                    &format!("failed to parse Location header {loc:?}: {e}"),
                ));
            }
        };

        // copy the original headers (stripping credentials for foreign hosts)
        let first_hostport =
            first_url[url::Position::BeforeHost..url::Position::AfterPort].to_string();
        let next_hostport =
            next_url[url::Position::BeforeHost..url::Position::AfterPort].to_string();
        if !strip_sensitive
            && first_hostport != next_hostport
            && !is_domain_or_subdomain(&host_of(&next_url), &host_of(&first_url))
        {
            strip_sensitive = true;
        }
        let mut next_headers: Vec<(String, String)> = user_headers
            .iter()
            .filter(|(k, _)| !(strip_sensitive && SENSITIVE_REDIRECT_HEADERS.contains(&k.as_str())))
            .cloned()
            .collect();
        if !(cur_url.scheme() == "https" && next_url.scheme() == "http") {
            let referer = match header_get(&next_headers, "Referer") {
                Some(explicit) => explicit.to_string(),
                None => {
                    let mut r = cur_url.clone();
                    let _ = r.set_username("");
                    let _ = r.set_password(None);
                    r.to_string()
                }
            };
            next_headers.retain(|(k, _)| k != "Referer");
            next_headers.push(("Referer".to_string(), referer));
        }

        // Go's defaultCheckRedirect: `len(via) >= 10` where via holds every request sent
        // so far, i.e. the 10th redirect response of a chain is an error.
        if hops + 1 >= MAX_REDIRECTS {
            return Err(url_error(&op, &loc, "stopped after 10 redirects"));
        }
        hops += 1;
        if !matches!(next_url.scheme(), "http" | "https") {
            return Err(url_error(
                &op,
                &strip_password(&next_url),
                &format!("unsupported protocol scheme {:?}", next_url.scheme()),
            ));
        }

        cur_body = if include_body {
            Some(opts.body.clone())
        } else {
            None
        };
        cur_method = next_method;
        cur_headers = next_headers;
        shown_url = strip_password(&next_url);
        cur_url = next_url;
    }
}

fn finish(hop: Hop, added_gzip: bool) -> SendResult {
    let Hop {
        status,
        headers,
        mut body,
    } = hop;

    let chunked = headers
        .iter()
        .any(|(k, v)| k == "Transfer-Encoding" && v.to_ascii_lowercase().contains("chunked"));
    let gzipped = added_gzip
        && header_get(&headers, "Content-Encoding").is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    if gzipped {
        body = gunzip_lossy(&body);
    }

    let mut header_map = Map::new();
    for (k, v) in &headers {
        let drop = k == "Transfer-Encoding"
            || (chunked && (k == "Content-Length" || k == "Trailer"))
            || (gzipped && (k == "Content-Encoding" || k == "Content-Length"));
        if drop {
            continue;
        }
        match header_map.get_mut(k) {
            Some(Value::Array(arr)) => arr.push(Value::String(v.clone())),
            _ => {
                header_map.insert(k.clone(), json!([v]));
            }
        }
    }

    let mut cookies = Map::new();
    for (k, v) in &headers {
        if k == "Set-Cookie"
            && let Some(c) = parse_set_cookie(v)
        {
            let name = c["name"].as_str().unwrap_or_default().to_string();
            cookies.insert(name, c);
        }
    }

    let json = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null)
    };

    SendResult {
        status_code: status,
        headers: header_map,
        cookies,
        body,
        json,
    }
}

// ---------------------------------------------------------------------------
// Set-Cookie parsing (net/http.ParseSetCookie, Go 1.23+)
// ---------------------------------------------------------------------------

const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn trim_go(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\n', '\r'])
}

fn valid_cookie_value_byte(b: u8) -> bool {
    (0x20..0x7f).contains(&b) && b != b'"' && b != b';' && b != b'\\'
}

fn parse_cookie_value(raw: &str, allow_double_quote: bool) -> Option<(String, bool)> {
    let mut raw = raw;
    let mut quoted = false;
    if allow_double_quote && raw.len() > 1 && raw.starts_with('"') && raw.ends_with('"') {
        raw = &raw[1..raw.len() - 1];
        quoted = true;
    }
    raw.bytes()
        .all(valid_cookie_value_byte)
        .then(|| (raw.to_string(), quoted))
}

fn parse_cookie_expires(val: &str) -> Option<String> {
    // time.RFC1123 "Mon, 02 Jan 2006 15:04:05 MST" or "Mon, 02-Jan-2006 15:04:05 MST"
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (wd, rest) = val.split_once(", ")?;
    if !DAYS.contains(&wd) {
        return None;
    }
    let parts: Vec<&str> = rest.split(' ').collect();
    let (day, mon, year, clock, zone) = match parts.as_slice() {
        [d, m, y, t, z] => (*d, *m, *y, *t, *z),
        [dmy, t, z] => {
            let v: Vec<&str> = dmy.split('-').collect();
            let [d, m, y] = v.as_slice() else { return None };
            (*d, *m, *y, *t, *z)
        }
        _ => return None,
    };
    let digits = |s: &str, n: std::ops::RangeInclusive<usize>| {
        n.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    if !digits(day, 2..=2) || !digits(year, 4..=4) {
        return None;
    }
    let month = MONTHS.iter().position(|m| *m == mon)? as u32 + 1;
    let t: Vec<&str> = clock.split(':').collect();
    let [h, mi, s] = t.as_slice() else {
        return None;
    };
    if !digits(h, 1..=2) || !digits(mi, 2..=2) || !digits(s, 2..=2) {
        return None;
    }
    if !(3..=5).contains(&zone.len()) || !zone.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let date = chrono::NaiveDate::from_ymd_opt(year.parse().ok()?, month, day.parse().ok()?)?;
    let dt = date.and_hms_opt(h.parse().ok()?, mi.parse().ok()?, s.parse().ok()?)?;
    Some(dt.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// Go's `http.ParseSetCookie`: a `Set-Cookie` header value as the JSON object JS sees for
/// a Go `*http.Cookie`: `{name, value, quoted, path, domain, expires, rawExpires, maxAge,
/// secure, httpOnly, sameSite, partitioned, raw, unparsed}` where `expires` is RFC 3339
/// UTC (`"0001-01-01T00:00:00Z"` when unset/invalid), `sameSite` is Go's number (0 unset,
/// 1 default, 2 lax, 3 strict, 4 none), `maxAge` is 0 when absent and -1 for `Max-Age<=0`,
/// and `unparsed` is `null` or the list of unrecognized attributes. `None` for lines Go
/// rejects (they are skipped by `Response.Cookies()`).
pub fn parse_set_cookie(line: &str) -> Option<Value> {
    let trimmed = trim_go(line);
    let parts: Vec<&str> = trimmed.split(';').collect();
    if parts.len() == 1 && parts[0].is_empty() {
        return None;
    }
    let first = trim_go(parts[0]);
    let (name, value) = first.split_once('=')?;
    let name = trim_go(name);
    if name.is_empty() || !name.bytes().all(is_token_byte) {
        return None;
    }
    let (value, quoted) = parse_cookie_value(value, true)?;

    let mut path = String::new();
    let mut domain = String::new();
    let mut expires = ZERO_TIME.to_string();
    let mut raw_expires = String::new();
    let mut max_age: i64 = 0;
    let mut secure = false;
    let mut http_only = false;
    let mut same_site = 0;
    let mut partitioned = false;
    let mut unparsed: Vec<Value> = Vec::new();

    for part in &parts[1..] {
        let part = trim_go(part);
        if part.is_empty() {
            continue;
        }
        let (attr, val) = part.split_once('=').unwrap_or((part, ""));
        if !attr.bytes().all(|b| (b' '..=b'~').contains(&b)) {
            continue;
        }
        let lower_attr = attr.to_ascii_lowercase();
        let Some((val, _)) = parse_cookie_value(val, false) else {
            unparsed.push(Value::String(part.to_string()));
            continue;
        };
        match lower_attr.as_str() {
            "samesite" => {
                same_site = if !val.bytes().all(|b| (b' '..=b'~').contains(&b)) {
                    1
                } else {
                    match val.to_ascii_lowercase().as_str() {
                        "lax" => 2,
                        "strict" => 3,
                        "none" => 4,
                        _ => 1,
                    }
                };
                continue;
            }
            "secure" => {
                secure = true;
                continue;
            }
            "httponly" => {
                http_only = true;
                continue;
            }
            "domain" => {
                domain = val;
                continue;
            }
            "max-age" => {
                // strconv.Atoi; leading zeros are invalid unless the value is 0
                if let Ok(secs) = val.parse::<i64>()
                    && !(secs != 0 && val.starts_with('0'))
                {
                    max_age = if secs <= 0 { -1 } else { secs };
                    continue;
                }
            }
            "expires" => {
                raw_expires = val.clone();
                match parse_cookie_expires(&val) {
                    Some(t) => {
                        expires = t;
                        continue;
                    }
                    None => expires = ZERO_TIME.to_string(),
                }
            }
            "path" => {
                path = val;
                continue;
            }
            "partitioned" => {
                partitioned = true;
                continue;
            }
            _ => {}
        }
        unparsed.push(Value::String(part.to_string()));
    }

    Some(json!({
        "name": name,
        "value": value,
        "quoted": quoted,
        "path": path,
        "domain": domain,
        "expires": expires,
        "rawExpires": raw_expires,
        "maxAge": max_age,
        "secure": secure,
        "httpOnly": http_only,
        "sameSite": same_site,
        "partitioned": partitioned,
        "raw": line,
        "unparsed": if unparsed.is_empty() { Value::Null } else { Value::Array(unparsed) },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};
    use std::sync::{Arc, Mutex};

    /// A tiny HTTP/1.1 test server on 127.0.0.1:0; records every raw request.
    struct TestServer {
        base: String,
        requests: Arc<Mutex<Vec<String>>>,
    }

    fn read_request(stream: &mut TcpStream) -> Option<(String, String, Vec<u8>)> {
        let mut data = Vec::new();
        let mut buf = [0u8; 4096];
        let head_end = loop {
            if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = stream.read(&mut buf).ok()?;
            if n == 0 {
                return None;
            }
            data.extend_from_slice(&buf[..n]);
        };
        let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
        let len = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        let mut body = data[head_end..].to_vec();
        while body.len() < len {
            let n = stream.read(&mut buf).ok()?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&buf[..n]);
        }
        let path = head.split(' ').nth(1).unwrap_or("/").to_string();
        Some((head, path, body))
    }

    fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, &str)], body: &[u8]) {
        let mut out = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
        let mut has_len = false;
        for (k, v) in headers {
            if k.eq_ignore_ascii_case("content-length")
                || k.eq_ignore_ascii_case("transfer-encoding")
            {
                has_len = true;
            }
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        if !has_len {
            out.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        out.push_str("\r\n");
        let _ = stream.write_all(out.as_bytes());
        let _ = stream.write_all(body);
        let _ = stream.flush();
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn handle(mut stream: TcpStream, requests: Arc<Mutex<Vec<String>>>) {
        let Some((head, path, body)) = read_request(&mut stream) else {
            return;
        };
        let mut raw = head.clone();
        raw.push_str(&String::from_utf8_lossy(&body));
        requests.lock().unwrap().push(raw.clone());
        let p = path.as_str();
        if p == "/json" {
            respond(
                &mut stream,
                "200 OK",
                &[
                    ("Content-Type", "application/json"),
                    ("x-custom", "one"),
                    ("X-CUSTOM", "two"),
                    (
                        "Set-Cookie",
                        "session=abc123; Path=/; HttpOnly; Max-Age=3600; SameSite=Lax",
                    ),
                    (
                        "Set-Cookie",
                        "theme=\"dark mode\"; Expires=Wed, 21 Oct 2015 07:28:00 GMT; Secure; Foo=bar",
                    ),
                    ("Set-Cookie", "bad cookie name=1"),
                ],
                br#"{"hello":"world","n":[1,2]}"#,
            );
        } else if p == "/echo" {
            respond(
                &mut stream,
                "200 OK",
                &[("Content-Type", "text/plain")],
                raw.as_bytes(),
            );
        } else if p == "/array" {
            respond(&mut stream, "200 OK", &[], b"[1,\"a\"]");
        } else if p == "/number" {
            respond(&mut stream, "200 OK", &[], b"42");
        } else if p == "/text" {
            respond(&mut stream, "200 OK", &[], b"not json");
        } else if p == "/empty" {
            respond(&mut stream, "204 No Content", &[], b"");
        } else if let Some(code) = p.strip_prefix("/status/") {
            let status = format!("{code} Whatever");
            respond(&mut stream, &status, &[], b"{\"message\":\"nope\"}");
        } else if p == "/slow" {
            std::thread::sleep(Duration::from_millis(3000));
            respond(&mut stream, "200 OK", &[], b"late");
        } else if p == "/slowbody" {
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
            let _ = stream.flush();
            std::thread::sleep(Duration::from_millis(3000));
        } else if let Some(n) = p.strip_prefix("/redirect/") {
            let n: u32 = n.parse().unwrap_or(0);
            if n == 0 {
                respond(&mut stream, "200 OK", &[], raw.as_bytes());
            } else {
                let loc = format!("/redirect/{}", n - 1);
                respond(&mut stream, "302 Found", &[("Location", &loc)], b"");
            }
        } else if p == "/r307" {
            respond(
                &mut stream,
                "307 Temporary Redirect",
                &[("Location", "/echo")],
                b"",
            );
        } else if p == "/r303" {
            respond(&mut stream, "303 See Other", &[("Location", "echo")], b"");
        } else if let Some(port) = p.strip_prefix("/tolocalhost/") {
            let loc = format!("http://localhost:{port}/echo");
            respond(&mut stream, "302 Found", &[("Location", &loc)], b"");
        } else if p == "/nolocation" {
            respond(&mut stream, "302 Found", &[], b"stay");
        } else if p == "/gzip" {
            let body = gzip(b"{\"zipped\":true}");
            respond(
                &mut stream,
                "200 OK",
                &[("Content-Encoding", "gzip")],
                &body,
            );
        } else if p == "/chunked" {
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
            );
        } else {
            respond(&mut stream, "404 Not Found", &[], b"404 page not found\n");
        }
    }

    fn server() -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let reqs = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { break };
                let reqs = reqs.clone();
                std::thread::spawn(move || handle(stream, reqs));
            }
        });
        TestServer { base, requests }
    }

    fn get(url: &str) -> Result<SendResult, String> {
        send(&SendOptions::new(url))
    }

    #[test]
    fn json_headers_and_cookies() {
        let s = server();
        let r = get(&format!("{}/json", s.base)).unwrap();
        assert_eq!(r.status_code, 200);
        assert_eq!(r.json, json!({"hello": "world", "n": [1, 2]}));
        assert_eq!(r.raw(), r#"{"hello":"world","n":[1,2]}"#);
        assert_eq!(r.headers["Content-Type"], json!(["application/json"]));
        assert_eq!(r.headers["X-Custom"], json!(["one", "two"]));
        assert_eq!(r.headers["Content-Length"], json!(["27"]));
        assert_eq!(r.headers["Connection"], json!(["close"]));
        assert_eq!(r.headers["Set-Cookie"].as_array().unwrap().len(), 3);

        assert_eq!(r.cookies.len(), 2);
        let session = &r.cookies["session"];
        assert_eq!(session["value"], "abc123");
        assert_eq!(session["path"], "/");
        assert_eq!(session["httpOnly"], true);
        assert_eq!(session["maxAge"], 3600);
        assert_eq!(session["sameSite"], 2);
        assert_eq!(session["secure"], false);
        assert_eq!(session["expires"], ZERO_TIME);
        assert_eq!(session["unparsed"], Value::Null);
        let theme = &r.cookies["theme"];
        assert_eq!(theme["value"], "dark mode");
        assert_eq!(theme["quoted"], true);
        assert_eq!(theme["secure"], true);
        assert_eq!(theme["expires"], "2015-10-21T07:28:00Z");
        assert_eq!(theme["rawExpires"], "Wed, 21 Oct 2015 07:28:00 GMT");
        assert_eq!(theme["unparsed"], json!(["Foo=bar"]));

        // what we sent: Go's default headers
        let sent = s.requests.lock().unwrap()[0].to_ascii_lowercase();
        assert!(sent.starts_with("get /json http/1.1\r\n"), "{sent}");
        assert!(
            sent.contains("user-agent: go-http-client/1.1\r\n"),
            "{sent}"
        );
        assert!(sent.contains("accept-encoding: gzip\r\n"), "{sent}");
        assert!(!sent.contains("content-length"), "{sent}");
        assert!(!sent.contains("\r\naccept:"), "{sent}");
    }

    #[test]
    fn request_method_body_and_headers() {
        let s = server();
        let mut o = SendOptions::new(format!("{}/echo", s.base));
        o.method = "post".into();
        o.body = b"a=1&b=2".to_vec();
        o.headers = vec![
            (
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ),
            ("x-token".into(), "t1".into()),
            ("X-TOKEN".into(), "t2".into()),
            ("User-Agent".into(), "custom/1.0".into()),
            ("Host".into(), "ignored.example".into()),
            ("Content-Length".into(), "999".into()),
        ];
        let r = send(&o).unwrap();
        assert_eq!(r.status_code, 200);
        assert_eq!(r.json, Value::Null);
        let sent = r.raw();
        let lower = sent.to_ascii_lowercase();
        assert!(sent.starts_with("POST /echo HTTP/1.1\r\n"), "{sent}");
        assert!(lower.contains("content-type: application/x-www-form-urlencoded\r\n"));
        assert!(
            lower.contains("x-token: t1\r\n") && lower.contains("x-token: t2\r\n"),
            "{sent}"
        );
        assert!(lower.contains("user-agent: custom/1.0\r\n"));
        assert!(!lower.contains("go-http-client"));
        assert!(!lower.contains("ignored.example"));
        assert!(lower.contains("content-length: 7\r\n"), "{sent}");
        assert!(sent.ends_with("\r\n\r\na=1&b=2"), "{sent}");

        // empty POST sends Content-Length: 0, empty GET sends none, GET with a body sends it
        let mut o = SendOptions::new(format!("{}/echo", s.base));
        o.method = "POST".into();
        let lower = send(&o).unwrap().raw().to_ascii_lowercase();
        assert!(lower.contains("content-length: 0\r\n"), "{lower}");
        o.method = "DELETE".into();
        let lower = send(&o).unwrap().raw().to_ascii_lowercase();
        assert!(
            lower.starts_with("delete ") && !lower.contains("content-length"),
            "{lower}"
        );
        o.method = "GET".into();
        o.body = b"xyz".to_vec();
        let raw = send(&o).unwrap().raw();
        assert!(raw.to_ascii_lowercase().contains("content-length: 3\r\n") && raw.ends_with("xyz"));

        // explicit Accept-Encoding: no automatic gzip
        let mut o = SendOptions::new(format!("{}/echo", s.base));
        o.headers = vec![("Accept-Encoding".into(), "identity".into())];
        let lower = send(&o).unwrap().raw().to_ascii_lowercase();
        assert!(lower.contains("accept-encoding: identity\r\n") && !lower.contains("gzip"));

        // legacy data body
        let mut data = Map::new();
        data.insert("b".into(), json!("<x>"));
        data.insert("a".into(), json!(1));
        assert_eq!(
            legacy_data_body(&data).unwrap(),
            br#"{"a":1,"b":"\u003cx\u003e"}"#.to_vec()
        );
        assert_eq!(legacy_data_body(&Map::new()), None);
    }

    #[test]
    fn non_2xx_and_body_kinds() {
        let s = server();
        for code in [400u16, 404, 500] {
            let r = get(&format!("{}/status/{code}", s.base)).unwrap();
            assert_eq!(r.status_code, code);
            assert_eq!(r.json, json!({"message": "nope"}));
        }
        let r = get(&format!("{}/missing", s.base)).unwrap();
        assert_eq!(r.status_code, 404);
        assert_eq!(r.json, Value::Null);
        assert_eq!(
            get(&format!("{}/array", s.base)).unwrap().json,
            json!([1, "a"])
        );
        assert_eq!(get(&format!("{}/number", s.base)).unwrap().json, json!(42));
        assert_eq!(get(&format!("{}/text", s.base)).unwrap().json, Value::Null);
        let r = get(&format!("{}/empty", s.base)).unwrap();
        assert_eq!(
            (r.status_code, r.body.len(), r.json.clone()),
            (204, 0, Value::Null)
        );

        // gzip transparently decoded like Go's transport
        let r = get(&format!("{}/gzip", s.base)).unwrap();
        assert_eq!(r.json, json!({"zipped": true}));
        assert!(!r.headers.contains_key("Content-Encoding"));
        assert!(!r.headers.contains_key("Content-Length"));
        // ...but not when the caller asked for it explicitly
        let mut o = SendOptions::new(format!("{}/gzip", s.base));
        o.headers = vec![("Accept-Encoding".into(), "gzip".into())];
        let r = send(&o).unwrap();
        assert_eq!(r.json, Value::Null);
        assert_eq!(r.headers["Content-Encoding"], json!(["gzip"]));
        assert!(r.body.starts_with(&[0x1f, 0x8b]));

        // chunked: decoded body, no Transfer-Encoding header
        let r = get(&format!("{}/chunked", s.base)).unwrap();
        assert_eq!(r.body, b"hello world");
        assert!(!r.headers.contains_key("Transfer-Encoding"));
    }

    #[test]
    fn redirects_like_go() {
        let s = server();
        let r = get(&format!("{}/redirect/3", s.base)).unwrap();
        assert_eq!(r.status_code, 200);
        let last = r.raw();
        assert!(last.starts_with("GET /redirect/0 HTTP/1.1"), "{last}");
        assert!(
            last.to_ascii_lowercase()
                .contains(&format!("referer: {}/redirect/1\r\n", s.base)),
            "{last}"
        );

        // Go: 9 hops are fine, the 10th redirect response is an error naming its Location
        // (net/http TestClientRedirects expects `Get "/?n=10": stopped after 10 redirects`)
        assert_eq!(
            get(&format!("{}/redirect/9", s.base)).unwrap().status_code,
            200
        );
        assert_eq!(
            get(&format!("{}/redirect/10", s.base)).unwrap_err(),
            format!("Get \"/redirect/0\": stopped after 10 redirects")
        );

        // 307 keeps method and body
        let mut o = SendOptions::new(format!("{}/r307", s.base));
        o.method = "PUT".into();
        o.body = b"payload".to_vec();
        o.headers = vec![("Authorization".into(), "Bearer x".into())];
        let raw = send(&o).unwrap().raw();
        assert!(raw.starts_with("PUT /echo HTTP/1.1"), "{raw}");
        assert!(raw.ends_with("payload"));
        // same host: credentials kept
        assert!(
            raw.to_ascii_lowercase()
                .contains("authorization: bearer x\r\n")
        );

        // 303 switches POST to GET and drops the body (relative Location resolved)
        let mut o = SendOptions::new(format!("{}/r303", s.base));
        o.method = "POST".into();
        o.body = b"payload".to_vec();
        let raw = send(&o).unwrap().raw();
        assert!(raw.starts_with("GET /echo HTTP/1.1"), "{raw}");
        assert!(!raw.contains("payload"));

        // another host (localhost is not a subdomain of 127.0.0.1): credentials dropped,
        // other headers and the Referer kept
        let port = s.base.rsplit(':').next().unwrap();
        let mut o = SendOptions::new(format!("{}/tolocalhost/{port}", s.base));
        o.headers = vec![
            ("Authorization".into(), "Bearer x".into()),
            ("Cookie".into(), "a=b".into()),
            ("X-Keep".into(), "1".into()),
        ];
        let lower = send(&o).unwrap().raw().to_ascii_lowercase();
        assert!(
            lower.contains(&format!("host: localhost:{port}\r\n")),
            "{lower}"
        );
        assert!(
            !lower.contains("authorization") && !lower.contains("cookie"),
            "{lower}"
        );
        assert!(lower.contains("x-keep: 1\r\n"), "{lower}");
        assert!(
            lower.contains(&format!("referer: {}/tolocalhost/{port}\r\n", s.base)),
            "{lower}"
        );

        // 3xx without Location is returned as is
        let r = get(&format!("{}/nolocation", s.base)).unwrap();
        assert_eq!((r.status_code, r.raw()), (302, "stay".to_string()));

        let n = s.requests.lock().unwrap().len();
        assert_eq!(n, 4 + 10 + 10 + 2 + 2 + 2 + 1);
    }

    #[test]
    fn timeouts() {
        let s = server();
        let mut o = SendOptions::new(format!("{}/slow", s.base));
        o.timeout = Duration::from_millis(300);
        let start = Instant::now();
        let err = send(&o).unwrap_err();
        assert_eq!(
            err,
            format!("Get \"{}/slow\": context deadline exceeded", s.base)
        );
        assert!(
            start.elapsed() < Duration::from_millis(2500),
            "{:?}",
            start.elapsed()
        );

        // deadline during the body: partial body, no error (PocketBase ignores it)
        let mut o = SendOptions::new(format!("{}/slowbody", s.base));
        o.timeout = Duration::from_millis(500);
        let r = send(&o).unwrap();
        assert_eq!(r.status_code, 200);
        assert_eq!(r.body, b"partial");
        assert_eq!(r.json, Value::Null);

        assert_eq!(timeout_from_secs(0), DEFAULT_TIMEOUT);
        assert_eq!(timeout_from_secs(-5), Duration::from_secs(120));
        assert_eq!(timeout_from_secs(3), Duration::from_secs(3));
    }

    #[test]
    fn transport_and_url_errors() {
        // a port that was just free
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/x");
        assert_eq!(
            get(&url).unwrap_err(),
            format!("Get \"{url}\": dial tcp 127.0.0.1:{port}: connect: connection refused")
        );
        let mut o = SendOptions::new(url.clone());
        o.method = "post".into();
        assert!(
            send(&o)
                .unwrap_err()
                .starts_with(&format!("Post \"{url}\": "))
        );

        assert_eq!(
            get("ftp://example.com/x").unwrap_err(),
            "Get \"ftp://example.com/x\": unsupported protocol scheme \"ftp\""
        );
        assert_eq!(
            get("example.com/x").unwrap_err(),
            "Get \"example.com/x\": unsupported protocol scheme \"\""
        );
        assert_eq!(
            get("").unwrap_err(),
            "Get \"\": unsupported protocol scheme \"\""
        );
        assert_eq!(
            get("http:///x").unwrap_err(),
            "Get \"http:///x\": http: no Host in request URL"
        );
        assert_eq!(
            get("http://a\nb/").unwrap_err(),
            "parse \"http://a\\nb/\": net/url: invalid control character in URL"
        );
        let mut o = SendOptions::new("http://127.0.0.1/");
        o.method = "BAD METHOD".into();
        assert_eq!(
            send(&o).unwrap_err(),
            "net/http: invalid method \"BAD METHOD\""
        );
        let mut o = SendOptions::new("http://127.0.0.1/");
        o.headers = vec![("bad name".into(), "x".into())];
        assert_eq!(
            send(&o).unwrap_err(),
            "Get \"http://127.0.0.1/\": net/http: invalid header field name \"bad name\""
        );
    }

    #[test]
    fn tls_and_dns_errors() {
        // a plain-HTTP listener answering an https request
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { break };
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
            }
        });
        let url = format!("https://127.0.0.1:{port}/x");
        let mut o = SendOptions::new(url.clone());
        o.timeout = Duration::from_secs(10);
        assert_eq!(
            send(&o).unwrap_err(),
            format!("Get \"{url}\": tls: first record does not look like a TLS handshake")
        );

        // unresolvable host (text depends on the resolver answering in time)
        let mut o = SendOptions::new("http://nonexistent-host.invalid/x");
        o.timeout = Duration::from_secs(10);
        let err = send(&o).unwrap_err();
        assert!(
            err == "Get \"http://nonexistent-host.invalid/x\": dial tcp: lookup nonexistent-host.invalid: no such host"
                || err.ends_with("context deadline exceeded"),
            "{err}"
        );
    }

    #[test]
    fn helpers() {
        assert_eq!(canonical_header_key("content-type"), "Content-Type");
        assert_eq!(canonical_header_key("X-CUSTOM-header"), "X-Custom-Header");
        assert_eq!(canonical_header_key("www-authenticate"), "Www-Authenticate");
        assert_eq!(canonical_header_key("bad key"), "bad key");
        assert_eq!(url_error_op("DELETE"), "Delete");
        assert!(is_domain_or_subdomain("sub.foo.com", "foo.com"));
        assert!(!is_domain_or_subdomain("barfoo.com", "foo.com"));
        assert!(is_domain_or_subdomain("foo.com", "foo.com"));

        let c = parse_set_cookie("a=b; Max-Age=0; SameSite=Strict; Partitioned; Domain=.x.com")
            .unwrap();
        assert_eq!(c["maxAge"], -1);
        assert_eq!(c["sameSite"], 3);
        assert_eq!(c["partitioned"], true);
        assert_eq!(c["domain"], ".x.com");
        let c = parse_set_cookie("a=b; Max-Age=05; Expires=garbage; SameSite").unwrap();
        assert_eq!(c["maxAge"], 0);
        assert_eq!(c["sameSite"], 1);
        assert_eq!(c["rawExpires"], "garbage");
        assert_eq!(c["unparsed"], json!(["Max-Age=05", "Expires=garbage"]));
        let c = parse_set_cookie("a=b; expires=Sun, 06-Nov-1994 08:49:37 GMT").unwrap();
        assert_eq!(c["expires"], "1994-11-06T08:49:37Z");
        assert!(parse_set_cookie("").is_none());
        assert!(parse_set_cookie("novalue").is_none());
        assert!(parse_set_cookie("a=b\"c").is_none());
        assert_eq!(parse_set_cookie("  k = v ").unwrap()["value"], " v");
    }
}
