//! A forgiving HTML tokenizer: just enough of the WHATWG rules for [`super::html_to_text`].
//!
//! It yields text (entities decoded), start tags (lower-cased names, decoded attribute values)
//! and end tags; comments, doctypes and processing instructions vanish. The content of
//! raw-text elements (`script`, `style`, `textarea`, ...) is one text token, so a `<` inside a
//! script never opens a tag. Anything malformed degrades to text or is dropped; nothing panics.

/// One token of an HTML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Token {
    Text(String),
    Start(Tag),
    /// An end tag's lower-cased name.
    End(String),
}

/// A start tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Tag {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub self_closing: bool,
}

/// Elements that never have content.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

/// Elements whose content is read verbatim up to their end tag; the second item tells whether
/// character references are decoded in it (RCDATA) or not (raw text).
const RAW_TEXT: &[(&str, bool)] = &[
    ("script", false),
    ("style", false),
    ("xmp", false),
    ("iframe", false),
    ("noembed", false),
    ("noframes", false),
    ("textarea", true),
    ("title", true),
];

impl Tag {
    /// A tag without attributes.
    pub fn named(name: &str) -> Tag {
        Tag {
            name: name.to_owned(),
            attrs: Vec::new(),
            self_closing: false,
        }
    }

    /// The value of the first attribute called `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Whether the element has no content: a void element or a `<x/>`.
    pub fn is_empty(&self) -> bool {
        self.self_closing || VOID.contains(&self.name.as_str())
    }
}

/// Splits `html` into tokens.
pub(super) fn tokens(html: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut text_start = 0;
    let mut i = 0;
    while i < html.len() {
        let Some((markup, end)) = html[i..]
            .starts_with('<')
            .then(|| markup(html, i))
            .flatten()
        else {
            i += html[i..].chars().next().map_or(1, char::len_utf8);
            continue;
        };
        push_text(&mut out, &html[text_start..i], true);
        i = end;
        if let Some(token) = markup {
            let raw = raw_text_kind(&token);
            out.push(token);
            if let Some((name, decode)) = raw {
                i = raw_text(html, i, name, decode, &mut out);
            }
        }
        text_start = i;
    }
    push_text(&mut out, &html[text_start..], true);
    out
}

fn push_text(out: &mut Vec<Token>, text: &str, decode: bool) {
    if !text.is_empty() {
        let text = if decode {
            decode_entities(text)
        } else {
            text.to_owned()
        };
        out.push(Token::Text(text));
    }
}

/// For a start tag of a raw-text element: its name and whether its text is decoded.
fn raw_text_kind(token: &Token) -> Option<(&'static str, bool)> {
    match token {
        Token::Start(tag) if !tag.self_closing => {
            RAW_TEXT.iter().find(|(name, _)| *name == tag.name).copied()
        }
        _ => None,
    }
}

/// Reads a raw-text element's content from `start` through its end tag; returns where the
/// document goes on.
fn raw_text(html: &str, start: usize, name: &str, decode: bool, out: &mut Vec<Token>) -> usize {
    let closing = format!("</{name}");
    let rest = &html.as_bytes()[start..];
    let found = rest
        .windows(closing.len())
        .position(|window| window.eq_ignore_ascii_case(closing.as_bytes()));
    let Some(offset) = found else {
        push_text(out, &html[start..], decode);
        return html.len();
    };
    let end_tag = start + offset;
    push_text(out, &html[start..end_tag], decode);
    out.push(Token::End(name.to_owned()));
    html[end_tag..]
        .find('>')
        .map_or(html.len(), |gt| end_tag + gt + 1)
}

/// Reads the markup at `html[i]` (a `<`): `Some((token or None for a comment, end))`, or `None`
/// when the `<` is just text.
fn markup(html: &str, i: usize) -> Option<(Option<Token>, usize)> {
    let rest = &html[i..];
    let bytes = rest.as_bytes();
    let skip_past = |pattern: &str, from: usize| {
        rest[from..]
            .find(pattern)
            .map_or(html.len(), |at| i + from + at + pattern.len())
    };
    match bytes.get(1).copied() {
        _ if rest.starts_with("<!--") => Some((None, skip_past("-->", 4))),
        Some(b'!' | b'?') => Some((None, skip_past(">", 1))),
        Some(b'/') => match bytes.get(2).copied() {
            Some(c) if c.is_ascii_alphabetic() => {
                let name = tag_name(&rest[2..]);
                Some((Some(Token::End(name)), skip_past(">", 2)))
            }
            // `</>` is dropped, `</ x>` is a bogus comment.
            Some(_) => Some((None, skip_past(">", 2))),
            None => None,
        },
        Some(c) if c.is_ascii_alphabetic() => {
            let (tag, len) = start_tag(&rest[1..]);
            Some((Some(Token::Start(tag)), (i + 1 + len).min(html.len())))
        }
        _ => None,
    }
}

/// The lower-cased tag name at the start of `s`.
fn tag_name(s: &str) -> String {
    let end = s
        .find(|c: char| c.is_ascii_whitespace() || c == '/' || c == '>')
        .unwrap_or(s.len());
    s[..end].to_ascii_lowercase()
}

/// Parses a start tag after its `<`: the tag and how many bytes it took (through the `>`).
fn start_tag(s: &str) -> (Tag, usize) {
    let mut tag = Tag::named(&tag_name(s));
    let mut i = tag.name.len();
    let bytes = s.as_bytes();
    while i < s.len() {
        match bytes[i] {
            b'>' => return (tag, i + 1),
            b'/' if bytes.get(i + 1) == Some(&b'>') => {
                tag.self_closing = true;
                return (tag, i + 2);
            }
            c if c.is_ascii_whitespace() || c == b'/' => i += 1,
            _ => {
                let (attr, len) = attribute(&s[i..]);
                tag.attrs.push(attr);
                i += len;
            }
        }
    }
    (tag, s.len())
}

/// Parses one `name[=value]` attribute; returns it and the bytes it took (at least one).
fn attribute(s: &str) -> ((String, String), usize) {
    let name_end = s
        .char_indices()
        .skip(1)
        .find(|&(_, c)| c.is_ascii_whitespace() || matches!(c, '/' | '>' | '='))
        .map_or(s.len(), |(at, _)| at);
    let name = s[..name_end].to_ascii_lowercase();
    let after_name = skip_whitespace(s, name_end);
    if !s[after_name..].starts_with('=') {
        return ((name, String::new()), name_end);
    }
    let value_start = skip_whitespace(s, after_name + 1);
    let rest = &s[value_start..];
    let (value, len) = match rest.chars().next() {
        Some(quote @ ('"' | '\'')) => match rest[1..].find(quote) {
            Some(close) => (&rest[1..=close], close + 2),
            None => (&rest[1..], rest.len()),
        },
        _ => {
            let end = rest
                .find(|c: char| c.is_ascii_whitespace() || c == '>')
                .unwrap_or(rest.len());
            (&rest[..end], end)
        }
    };
    ((name, decode_entities(value)), value_start + len)
}

fn skip_whitespace(s: &str, from: usize) -> usize {
    s[from..]
        .find(|c: char| !c.is_ascii_whitespace())
        .map_or(s.len(), |at| from + at)
}

/// Decodes character references: numeric ones and the named ones mail templates use.
/// Unknown names stay as written.
pub(super) fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        match entity(rest) {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The character of the reference at the start of `s` (which begins with `&`) and its length.
fn entity(s: &str) -> Option<(char, usize)> {
    if let Some(numeric) = s.strip_prefix("&#") {
        let (digits, radix, prefix) = match numeric.strip_prefix(['x', 'X']) {
            Some(hex) => (hex, 16, 3),
            None => (numeric, 10, 2),
        };
        let len = digits
            .find(|c: char| !c.is_digit(radix))
            .unwrap_or(digits.len());
        if len == 0 {
            return None;
        }
        // Out-of-range and invalid code points become U+FFFD, as in browsers.
        let c = u32::from_str_radix(&digits[..len], radix)
            .ok()
            .and_then(char::from_u32)
            .filter(|&c| c != '\0')
            .unwrap_or(char::REPLACEMENT_CHARACTER);
        let semicolon = usize::from(digits[len..].starts_with(';'));
        return Some((c, prefix + len + semicolon));
    }
    let name_len = s[1..]
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(s.len() - 1);
    if !s[1 + name_len..].starts_with(';') {
        return None;
    }
    named_entity(&s[1..1 + name_len]).map(|c| (c, name_len + 2))
}

fn named_entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "hellip" => '…',
        "mdash" => '—',
        "ndash" => '–',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "laquo" => '«',
        "raquo" => '»',
        "bull" => '•',
        "middot" => '·',
        "euro" => '€',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(name: &str, attrs: &[(&str, &str)]) -> Token {
        Token::Start(Tag {
            name: name.into(),
            attrs: attrs
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            self_closing: false,
        })
    }

    #[test]
    fn tokenizes_tags_attributes_and_text() {
        assert_eq!(
            tokens(r#"<A HREF="x&amp;y" data-x='1' checked v=a>t</A><!-- c -->u"#),
            vec![
                start(
                    "a",
                    &[
                        ("href", "x&y"),
                        ("data-x", "1"),
                        ("checked", ""),
                        ("v", "a")
                    ]
                ),
                Token::Text("t".into()),
                Token::End("a".into()),
                Token::Text("u".into()),
            ]
        );
    }

    #[test]
    fn raw_text_is_not_markup() {
        assert_eq!(
            tokens("<script>a<b>&amp;</SCRIPT >x"),
            vec![
                start("script", &[]),
                Token::Text("a<b>&amp;".into()),
                Token::End("script".into()),
                Token::Text("x".into()),
            ]
        );
    }

    #[test]
    fn stray_brackets_are_text() {
        assert_eq!(tokens("1 < 2 <3 é"), vec![Token::Text("1 < 2 <3 é".into())]);
    }

    #[test]
    fn decodes_references() {
        assert_eq!(
            decode_entities("&amp;&lt;&gt;&quot;&#39;&#x27;&nbsp;&bogus; & &#;&#0;"),
            "&<>\"''\u{a0}&bogus; & &#;\u{fffd}"
        );
    }
}
