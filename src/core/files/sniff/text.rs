//! Text formats (mimetype's `text/plain` subtree): plain text with its charset, and the
//! formats recognised inside it (markup, JSON, delimited values, scripts, cards).

use serde_json::Value;

use super::{Mime, UTF8_TEXT, mime};

/// Text: no binary bytes (WHATWG's definition), then the text formats.
pub(super) fn text(b: &[u8], truncated: bool) -> Option<Mime> {
    let binary = |c: &u8| matches!(c, 0x00..=0x08 | 0x0B | 0x0E..=0x1A | 0x1C..=0x1F);
    if b.is_empty() || b.iter().any(binary) {
        return None;
    }
    let utf8 = match std::str::from_utf8(b) {
        Ok(_) => true,
        // A character cut by the read limit is still UTF-8.
        Err(e) => truncated && e.error_len().is_none(),
    };
    let b = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
    let found = text_format(b, truncated).unwrap_or(if utf8 {
        UTF8_TEXT
    } else {
        mime("text/plain; charset=iso-8859-1", ".txt")
    });
    Some(found)
}

fn text_format(b: &[u8], truncated: bool) -> Option<Mime> {
    let trimmed = b.trim_ascii_start();
    let starts = |prefix: &[u8]| trimmed.starts_with(prefix);
    if is_html(trimmed) {
        Some(mime("text/html; charset=utf-8", ".html"))
    } else if is_svg(trimmed) {
        Some(mime("image/svg+xml", ".svg"))
    } else if markup(trimmed, b"<?XML") {
        Some(xml(trimmed))
    } else if starts(b"<?php") || starts(b"<?PHP") {
        Some(mime("text/x-php", ".php"))
    } else if let Some(found) = shebang(b) {
        Some(found)
    } else if is_json(trimmed, truncated) {
        Some(mime("application/json", ".json"))
    } else if is_ndjson(b, truncated) {
        Some(mime("application/x-ndjson", ".ndjson"))
    } else if starts(b"{\\rtf") {
        Some(mime("text/rtf", ".rtf"))
    } else if separated(b, b',', truncated) {
        Some(mime("text/csv", ".csv"))
    } else if separated(b, b'\t', truncated) {
        Some(mime("text/tab-separated-values", ".tsv"))
    } else if starts(b"BEGIN:VCARD") {
        Some(mime("text/vcard", ".vcf"))
    } else if starts(b"BEGIN:VCALENDAR") {
        Some(mime("text/calendar", ".ics"))
    } else {
        None
    }
}

/// A case-insensitive tag prefix followed by a tag-terminating byte (space or `>`).
fn markup(b: &[u8], tag: &[u8]) -> bool {
    b.len() > tag.len()
        && b[..tag.len()].eq_ignore_ascii_case(tag)
        && matches!(b[tag.len()], b' ' | b'>' | b'\t' | b'\n' | b'\r')
}

fn is_html(b: &[u8]) -> bool {
    const TAGS: [&[u8]; 17] = [
        b"<!DOCTYPE HTML",
        b"<HTML",
        b"<HEAD",
        b"<SCRIPT",
        b"<IFRAME",
        b"<H1",
        b"<DIV",
        b"<FONT",
        b"<TABLE",
        b"<A",
        b"<STYLE",
        b"<TITLE",
        b"<B",
        b"<BODY",
        b"<BR",
        b"<P",
        b"<!--",
    ];
    TAGS.iter().any(|tag| markup(b, tag))
}

/// `<svg` first, after an optional XML declaration, comments and doctype.
fn is_svg(mut b: &[u8]) -> bool {
    loop {
        b = b.trim_ascii_start();
        let skip_to = |b: &[u8], end: &[u8]| {
            b.windows(end.len())
                .position(|w| w == end)
                .map(|i| i + end.len())
        };
        let next = if b.starts_with(b"<?xml") {
            skip_to(b, b"?>")
        } else if b.starts_with(b"<!--") {
            skip_to(b, b"-->")
        } else if b.starts_with(b"<!DOCTYPE") {
            skip_to(b, b">")
        } else {
            return b.starts_with(b"<svg");
        };
        match next {
            Some(i) => b = &b[i..],
            None => return false,
        }
    }
}

fn xml(b: &[u8]) -> Mime {
    let window = &b[..b.len().min(1024)];
    let contains = |needle: &[u8]| window.windows(needle.len()).any(|w| w == needle);
    if contains(b"<rss") {
        Mime {
            aliases: &["text/rss"],
            ..mime("application/rss+xml", ".rss")
        }
    } else if contains(b"<feed") {
        mime("application/atom+xml", ".atom")
    } else {
        mime("text/xml; charset=utf-8", ".xml")
    }
}

fn shebang(b: &[u8]) -> Option<Mime> {
    let line = b.strip_prefix(b"#!")?;
    let line = &line[..line.iter().position(|&c| c == b'\n').unwrap_or(line.len())];
    let line = String::from_utf8_lossy(line);
    let mut words = line.split_whitespace();
    let program = words.next()?;
    let program = match program.rsplit('/').next()? {
        "env" => words.next()?,
        name => name,
    };
    let found = match program.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.') {
        "node" | "nodejs" | "deno" | "bun" => mime("text/javascript", ".js"),
        "python" => mime("text/x-python", ".py"),
        "perl" => mime("text/x-perl", ".pl"),
        "lua" => mime("text/x-lua", ".lua"),
        "sh" | "bash" | "zsh" | "dash" | "ksh" => mime("text/x-shellscript", ".sh"),
        "tclsh" | "wish" => mime("text/x-tcl", ".tcl"),
        _ => return None,
    };
    Some(found)
}

/// A JSON object or array: valid when whole, valid so far when cut by the read limit.
fn is_json(b: &[u8], truncated: bool) -> bool {
    if !matches!(b.first(), Some(b'{' | b'[')) {
        return false;
    }
    match serde_json::from_slice::<Value>(b) {
        Ok(_) => true,
        Err(e) => truncated && e.is_eof(),
    }
}

/// Several lines that are each a JSON value, at least one an object.
fn is_ndjson(b: &[u8], truncated: bool) -> bool {
    let text = drop_last_line(b, truncated);
    let lines: Vec<&[u8]> = text
        .split(|&c| c == b'\n')
        .map(<[u8]>::trim_ascii)
        .filter(|l| !l.is_empty())
        .collect();
    lines.len() > 1
        && lines
            .iter()
            .all(|l| serde_json::from_slice::<Value>(l).is_ok())
        && lines.iter().any(|l| l.starts_with(b"{"))
}

/// Go's `encoding/csv` with `LazyQuotes` and `#` comments: at least two records, all with
/// the same number of fields, more than one.
fn separated(b: &[u8], comma: u8, truncated: bool) -> bool {
    let text = drop_last_line(b, truncated);
    let mut counts = Vec::new();
    let (mut fields, mut quoted, mut field_start, mut any) = (1, false, true, false);
    let mut i = 0;
    while i < text.len() {
        let c = text[i];
        if quoted {
            if c == b'"' {
                if text.get(i + 1) == Some(&b'"') {
                    i += 1;
                } else {
                    quoted = false;
                }
            }
        } else if c == b'"' && field_start {
            quoted = true;
        } else if c == b'#' && field_start && fields == 1 && !any {
            // A comment line.
            i += text[i..]
                .iter()
                .position(|&c| c == b'\n')
                .unwrap_or(text.len() - i);
            continue;
        } else if c == comma {
            fields += 1;
            field_start = true;
            any = true;
            i += 1;
            continue;
        } else if c == b'\n' {
            if any {
                counts.push(fields);
            }
            (fields, field_start, any) = (1, true, false);
            i += 1;
            continue;
        } else if c != b'\r' {
            any = true;
        }
        field_start = false;
        i += 1;
    }
    if any {
        counts.push(fields);
    }
    counts.len() > 1 && counts[0] > 1 && counts.iter().all(|&n| n == counts[0])
}

/// The text without its last (possibly cut) line when the sample was truncated.
fn drop_last_line(b: &[u8], truncated: bool) -> &[u8] {
    if !truncated {
        return b;
    }
    match b.iter().rposition(|&c| c == b'\n') {
        Some(end) => &b[..end],
        None => b,
    }
}
