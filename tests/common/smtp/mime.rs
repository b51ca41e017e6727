//! The sink's MIME decoding: just what lettre produces (quoted-printable, base64, 7bit/8bit
//! bodies, RFC 2047 encoded words, nested multiparts). Bodies come out with `\n` line breaks.

use super::{Mail, path_of};

impl Mail {
    /// Decodes a raw RFC 5322 message (an SMTP DATA payload or an `.eml` file). The envelope
    /// fields are taken from the `From` and `To` headers; the sink overwrites them with the
    /// real envelope.
    pub fn parse(raw: &str) -> Mail {
        let entity = Entity::parse(raw);
        let mut bodies = (None, None);
        entity.collect_text(&mut bodies);
        Mail {
            // Addresses come from the raw headers: a decoded display name may hold a comma.
            from: addresses(entity.raw_header("from").unwrap_or_default())
                .into_iter()
                .next()
                .unwrap_or_default(),
            to: addresses(entity.raw_header("to").unwrap_or_default()),
            raw: raw.to_string(),
            subject: entity.header("subject").unwrap_or_default(),
            html: bodies.1.unwrap_or_default(),
            text: bodies.0.unwrap_or_default(),
            helo: String::new(),
            auth: None,
        }
    }
}

/// One MIME entity: unfolded headers and the undecoded body.
struct Entity {
    headers: Vec<(String, String)>,
    body: String,
}

impl Entity {
    fn parse(raw: &str) -> Entity {
        let raw = raw.replace("\r\n", "\n");
        let (head, body) = match raw.find("\n\n") {
            Some(at) => (&raw[..at], &raw[at + 2..]),
            None if raw.starts_with('\n') => ("", &raw[1..]),
            None => (raw.as_str(), ""),
        };
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.lines() {
            if line.starts_with([' ', '\t']) {
                if let Some((_, value)) = headers.last_mut() {
                    value.push_str(line);
                }
            } else if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
            }
        }
        Entity {
            headers,
            body: body.to_string(),
        }
    }

    /// A header's value with encoded words decoded.
    fn header(&self, name: &str) -> Option<String> {
        self.raw_header(name).map(decode_words)
    }

    fn raw_header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The media type (lower-case) and the value of its `name` parameter.
    fn content_type(&self) -> (String, impl Fn(&str) -> Option<String> + '_) {
        let value = self.raw_header("content-type").unwrap_or("text/plain");
        let media = value
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let param = move |name: &str| {
            value.split(';').skip(1).find_map(|param| {
                let (key, val) = param.split_once('=')?;
                key.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| val.trim().trim_matches('"').to_string())
            })
        };
        (media, param)
    }

    /// Fills `(text, html)` with the first text/plain and text/html parts found.
    fn collect_text(&self, found: &mut (Option<String>, Option<String>)) {
        let (media, param) = self.content_type();
        if media.starts_with("multipart/") {
            let Some(boundary) = param("boundary") else {
                return;
            };
            for part in split_multipart(&self.body, &boundary) {
                Entity::parse(&part).collect_text(found);
            }
            return;
        }
        let slot = match media.as_str() {
            "text/plain" => &mut found.0,
            "text/html" => &mut found.1,
            _ => return,
        };
        if slot.is_none() {
            *slot = Some(self.decoded_body());
        }
    }

    fn decoded_body(&self) -> String {
        let encoding = self
            .raw_header("content-transfer-encoding")
            .unwrap_or("7bit")
            .trim()
            .to_ascii_lowercase();
        match encoding.as_str() {
            "quoted-printable" => text_of(&qp_decode(&self.body)),
            "base64" => text_of(&base64_decode(&self.body)).replace("\r\n", "\n"),
            _ => self.body.clone(),
        }
    }
}

/// The parts of a multipart body (line breaks already `\n`).
fn split_multipart(body: &str, boundary: &str) -> Vec<String> {
    let delimiter = format!("\n--{boundary}");
    let body = format!("\n{body}");
    let mut parts = Vec::new();
    // The first chunk is the preamble; a chunk starting with `--` follows the close delimiter.
    for chunk in body.split(&delimiter).skip(1) {
        if chunk.starts_with("--") {
            break;
        }
        // Skip the transport padding and line break after the delimiter.
        let part = chunk.split_once('\n').map_or("", |(_, part)| part);
        parts.push(part.to_string());
    }
    parts
}

/// Decodes quoted-printable text whose line breaks are `\n`.
fn qp_decode(body: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'=' if bytes.get(i + 1) == Some(&b'\n') => i += 2,
            b'=' => match bytes.get(i + 1..i + 3).and_then(hex_byte) {
                Some(byte) => {
                    out.push(byte);
                    i += 3;
                }
                None => {
                    out.push(b'=');
                    i += 1;
                }
            },
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

fn hex_byte(pair: &[u8]) -> Option<u8> {
    let text = std::str::from_utf8(pair).ok()?;
    u8::from_str_radix(text, 16).ok()
}

/// Decodes base64, ignoring whitespace and anything outside the alphabet.
pub(super) fn base64_decode(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for byte in text.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

pub(super) fn text_of(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Decodes RFC 2047 encoded words (`=?utf-8?b?...?=`, `=?utf-8?q?...?=`); the whitespace
/// between two adjacent encoded words is dropped, as the RFC says.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut gap = String::new();
    for token in split_keeping_spaces(value) {
        if let Some(bytes) = encoded_word(token) {
            gap.clear();
            pending.extend(bytes);
        } else if token.trim().is_empty() && !pending.is_empty() {
            gap.push_str(token);
        } else {
            out.push_str(&text_of(&std::mem::take(&mut pending)));
            out.push_str(&std::mem::take(&mut gap));
            out.push_str(token);
        }
    }
    out.push_str(&text_of(&pending));
    out.push_str(&gap);
    out
}

/// `value` cut into alternating runs of whitespace and non-whitespace.
fn split_keeping_spaces(value: &str) -> Vec<&str> {
    let mut tokens = Vec::new();
    let mut start = 0;
    let mut in_space = None;
    for (at, c) in value.char_indices() {
        let space = c.is_whitespace();
        if in_space.is_some_and(|s| s != space) {
            tokens.push(&value[start..at]);
            start = at;
        }
        in_space = Some(space);
    }
    if start < value.len() {
        tokens.push(&value[start..]);
    }
    tokens
}

fn encoded_word(token: &str) -> Option<Vec<u8>> {
    let inner = token.strip_prefix("=?")?.strip_suffix("?=")?;
    let mut fields = inner.splitn(3, '?');
    let _charset = fields.next()?;
    let encoding = fields.next()?;
    let text = fields.next()?;
    if encoding.eq_ignore_ascii_case("b") {
        Some(base64_decode(text))
    } else if encoding.eq_ignore_ascii_case("q") {
        Some(qp_decode(&text.replace('_', " ")))
    } else {
        None
    }
}

/// The bare addresses in an address-list header (`"Doe, J" <a@x>, b@y`).
fn addresses(value: &str) -> Vec<String> {
    let mut items = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (at, c) in value.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                items.push(&value[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    items.push(&value[start..]);
    items
        .into_iter()
        .map(|item| path_of(&format!(":{item}")))
        .filter(|address| !address.is_empty())
        .collect()
}
