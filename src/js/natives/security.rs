//! Plain-Rust implementation of PocketBase's `$security` JS namespace.
//!
//! PocketBase (`plugins/jsvm/binds.go`, `securityBinds`) exposes these members,
//! backed by `tools/security/*.go`:
//!
//! | JS member                                       | Rust function here |
//! |-------------------------------------------------|--------------------|
//! | `md5(text)`                                     | [`md5`] |
//! | `sha256(text)`                                  | [`sha256`] |
//! | `sha512(text)`                                  | [`sha512`] |
//! | `hs256(text, secret)`                           | [`hs256`] |
//! | `hs512(text, secret)`                           | [`hs512`] |
//! | `equal(hash1, hash2)`                           | [`equal`] |
//! | `randomString(length)`                          | [`random_string`] |
//! | `randomStringByRegex(pattern, ...flags)`        | [`random_string_by_regex`] |
//! | `randomStringWithAlphabet(length, alphabet)`    | [`random_string_with_alphabet`] |
//! | `pseudorandomString(length)`                    | [`pseudorandom_string`] |
//! | `pseudorandomStringWithAlphabet(length, alph.)` | [`pseudorandom_string_with_alphabet`] |
//! | `parseUnverifiedJWT(token)`                     | [`parse_unverified_jwt`] |
//! | `parseJWT(token, verificationKey)`              | [`parse_jwt`] |
//! | `createJWT(payload, signingKey, secDuration)`   | [`create_jwt`] |
//! | `encrypt(data, key)`                            | [`encrypt`] |
//! | `decrypt(cipherText, key)`                      | [`decrypt`] (returns a string, as the JS binding does) |
//!
//! Behaviour notes (all mirrored from the Go source):
//! * hashes are lowercase hex (`fmt.Sprintf("%x", ...)`).
//! * `equal` is `subtle.ConstantTimeCompare(...) == 1` (different lengths → `false`).
//! * the `*WithAlphabet` variants index the alphabet **by byte** like Go
//!   (`alphabet[n]`), so a multi-byte alphabet can yield invalid UTF-8; the result is
//!   converted lossily, which is what a Go string with invalid UTF-8 looks like once it
//!   reaches JS. An empty alphabet with `length > 0` makes Go panic; here it is an `Err`
//!   with Go's panic text so the binder can throw.
//! * `randomStringByRegex` takes Go `regexp/syntax` flags as its optional variadic
//!   second argument (NOT a max-repeat count); no flags means `syntax.Perl`. Unbounded
//!   repetitions (`*`, `+`, `{n,}`) are capped at 6, and a repetition `{min,max}` yields
//!   `min + rand[0, max-min)` copies (so `x?` always yields nothing and `x{1,3}` yields 1
//!   or 2 copies): that is PocketBase's exact algorithm. `.` yields `[A-Za-z0-9]`.
//!   Anchors/word boundaries/empty patterns fail with `unsupported pattern operator N`
//!   (N = Go's `syntax.Op` number).
//! * JWTs are HS256 only; the header is `{"alg":"HS256","typ":"JWT"}` and claims are
//!   encoded like Go's `encoding/json` (sorted keys, HTML-safe escaping), so tokens are
//!   byte-identical to PocketBase's for the same claims and `exp`. Error texts follow
//!   `github.com/golang-jwt/jwt/v5` (e.g. `token has invalid claims: token is expired`).
//! * `encrypt`/`decrypt` are AES-GCM with a random 12-byte nonce, output
//!   `base64.StdEncoding(nonce || ciphertext || tag)`. Like Go's `aes.NewCipher`, the key
//!   may be 16, 24 or 32 bytes (AES-128/192/256); PocketBase documents "32 chars" but
//!   does not enforce more than Go does. Other sizes fail with
//!   `crypto/aes: invalid key size N`.

use std::time::{SystemTime, UNIX_EPOCH};

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::aes::{Aes128, Aes192, Aes256};
use aes_gcm::{AesGcm, Nonce};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use md5::Md5;
use rand::RngExt as _;
use regex_syntax::ast::{self, Ast};
use regex_syntax::hir::{self, Hir, HirKind};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256, Sha512};

/// JWT claims as seen by JS (a plain object).
pub type Claims = Map<String, Value>;

// ---------------------------------------------------------------------------
// hashes
// ---------------------------------------------------------------------------

fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 0xf) as usize] as char);
    }
    s
}

/// `$security.md5(text)`: lowercase hex MD5 digest.
pub fn md5(text: &str) -> String {
    to_hex(&Md5::digest(text.as_bytes()))
}

/// `$security.sha256(text)`: lowercase hex SHA-256 digest.
pub fn sha256(text: &str) -> String {
    to_hex(&Sha256::digest(text.as_bytes()))
}

/// `$security.sha512(text)`: lowercase hex SHA-512 digest.
pub fn sha512(text: &str) -> String {
    to_hex(&Sha512::digest(text.as_bytes()))
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// `$security.hs256(text, secret)`: lowercase hex HMAC-SHA256.
pub fn hs256(text: &str, secret: &str) -> String {
    to_hex(&hmac_sha256(secret.as_bytes(), text.as_bytes()))
}

/// `$security.hs512(text, secret)`: lowercase hex HMAC-SHA512.
pub fn hs512(text: &str, secret: &str) -> String {
    let mut mac = <Hmac<Sha512> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts any key length");
    mac.update(text.as_bytes());
    to_hex(&mac.finalize().into_bytes())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

/// `$security.equal(hash1, hash2)`: constant-time string comparison
/// (Go's `subtle.ConstantTimeCompare`; different lengths return `false` immediately).
pub fn equal(hash1: &str, hash2: &str) -> bool {
    constant_time_eq(hash1.as_bytes(), hash2.as_bytes())
}

// ---------------------------------------------------------------------------
// random strings
// ---------------------------------------------------------------------------

/// The alphabet of `randomString`/`pseudorandomString`: `[A-Za-z0-9]`.
pub const DEFAULT_RANDOM_ALPHABET: &str =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn random_bytes_from_alphabet(length: usize, alphabet: &str) -> Vec<u8> {
    let alphabet = alphabet.as_bytes();
    let mut rng = rand::rng();
    (0..length)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())])
        .collect()
}

fn bytes_to_js_string(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// `$security.randomString(length)`: cryptographically random `[A-Za-z0-9]{length}`.
pub fn random_string(length: usize) -> String {
    bytes_to_js_string(random_bytes_from_alphabet(length, DEFAULT_RANDOM_ALPHABET))
}

/// `$security.randomStringWithAlphabet(length, alphabet)`.
///
/// Picks `length` random **bytes** of `alphabet` (Go semantics). An empty alphabet with
/// `length > 0` is an error carrying Go's panic message.
pub fn random_string_with_alphabet(length: usize, alphabet: &str) -> Result<String, String> {
    if alphabet.is_empty() && length > 0 {
        return Err("crypto/rand: argument to Int is <= 0".to_string());
    }
    Ok(bytes_to_js_string(random_bytes_from_alphabet(
        length, alphabet,
    )))
}

/// `$security.pseudorandomString(length)`: random `[A-Za-z0-9]{length}` (Go uses
/// `math/rand`; we use the same thread-local generator, which is at least as strong).
pub fn pseudorandom_string(length: usize) -> String {
    random_string(length)
}

/// `$security.pseudorandomStringWithAlphabet(length, alphabet)`; see
/// [`random_string_with_alphabet`]. Empty alphabet → Go's `math/rand` panic text.
pub fn pseudorandom_string_with_alphabet(length: usize, alphabet: &str) -> Result<String, String> {
    if alphabet.is_empty() && length > 0 {
        return Err("invalid argument to Intn".to_string());
    }
    Ok(bytes_to_js_string(random_bytes_from_alphabet(
        length, alphabet,
    )))
}

// ---------------------------------------------------------------------------
// randomStringByRegex
// ---------------------------------------------------------------------------

/// Go `regexp/syntax.Flags` values accepted by [`random_string_by_regex`].
// Go's complete `syntax.Flags` table; hooks pass these values as plain numbers.
#[allow(dead_code)]
pub mod regex_flags {
    /// Case-insensitive match.
    pub const FOLD_CASE: u16 = 1;
    /// Treat the pattern as a literal string.
    pub const LITERAL: u16 = 2;
    /// Allow character classes like `[^a-z]` to match newline.
    pub const CLASS_NL: u16 = 4;
    /// Allow `.` to match newline.
    pub const DOT_NL: u16 = 8;
    /// `^`/`$` only match at text beginning/end.
    pub const ONE_LINE: u16 = 16;
    /// Repetition operators default to non-greedy.
    pub const NON_GREEDY: u16 = 32;
    /// Allow Perl extensions (`\d`, `(?:`, `(?i)`, `\A`, `\z`, `\b`, lazy ops...).
    pub const PERL_X: u16 = 64;
    /// Allow `\p{Han}`, `\pL` etc.
    pub const UNICODE_GROUPS: u16 = 128;
    /// Internal Go flag (regexp `$` was written as `$`); no effect here.
    pub const WAS_DOLLAR: u16 = 256;
    /// Internal Go flag; no effect here.
    pub const SIMPLE: u16 = 512;
    /// `CLASS_NL | DOT_NL`.
    pub const MATCH_NL: u16 = CLASS_NL | DOT_NL;
    /// Go's `syntax.Perl` (the default when no flags are passed).
    pub const PERL: u16 = CLASS_NL | ONE_LINE | PERL_X | UNICODE_GROUPS;
    /// Go's `syntax.POSIX` (= 0).
    pub const POSIX: u16 = 0;
}

const DEFAULT_MAX_REPEAT: i64 = 6;
const GO_MAX_REPEAT_COUNT: u32 = 1000;

// Go's syntax.Op numbers used in "unsupported pattern operator N" errors.
const OP_EMPTY_MATCH: u8 = 2;
const OP_BEGIN_LINE: u8 = 7;
const OP_END_LINE: u8 = 8;
const OP_BEGIN_TEXT: u8 = 9;
const OP_END_TEXT: u8 = 10;
const OP_WORD_BOUNDARY: u8 = 11;
const OP_NO_WORD_BOUNDARY: u8 = 12;

fn unsupported_op(op: u8) -> String {
    format!("unsupported pattern operator {op}")
}

fn go_regexp_error(code: &str, expr: &str) -> String {
    format!("error parsing regexp: {code}: `{expr}`")
}

/// `$security.randomStringByRegex(pattern, ...flags)`.
///
/// `flags` mirrors Go's variadic `optFlags ...syntax.Flags`: an empty slice means
/// [`regex_flags::PERL`], otherwise the values are OR-ed (so `&[0]` means POSIX).
///
/// Parse errors use Go's `error parsing regexp: <code>: `<expr>`` shape (the `<expr>`
/// fragment is best-effort); generation errors are `unsupported pattern operator N`
/// and `no runes to choose from`.
pub fn random_string_by_regex(pattern: &str, flags: &[u16]) -> Result<String, String> {
    let flags = if flags.is_empty() {
        regex_flags::PERL
    } else {
        flags.iter().fold(0, |acc, f| acc | f)
    };

    if flags & regex_flags::LITERAL != 0 {
        // Go's literalRegexp: the pattern itself (an empty pattern is an empty literal).
        return Ok(pattern.to_string());
    }

    let mut ast = ast::parse::ParserBuilder::new()
        .nest_limit(1000)
        .build()
        .parse(pattern)
        .map_err(|e| map_ast_error(pattern, &e))?;

    let opts = RegexOpts {
        perl_x: flags & regex_flags::PERL_X != 0,
        unicode_groups: flags & regex_flags::UNICODE_GROUPS != 0,
        class_nl: flags & regex_flags::CLASS_NL != 0,
    };
    rewrite_ast(&mut ast, pattern, &opts)?;
    fix_zero_repeats(&mut ast);

    let hir = hir::translate::TranslatorBuilder::new()
        .unicode(true)
        .utf8(true)
        .case_insensitive(flags & regex_flags::FOLD_CASE != 0)
        .multi_line(flags & regex_flags::ONE_LINE == 0)
        .dot_matches_new_line(flags & regex_flags::DOT_NL != 0)
        .swap_greed(flags & regex_flags::NON_GREEDY != 0)
        .build()
        .translate(pattern, &ast)
        .map_err(|e| map_hir_error(pattern, &e))?;

    let mut out = String::new();
    let mut rng = rand::rng();
    write_random_by_hir(&hir, &mut out, &mut rng)?;
    Ok(out)
}

struct RegexOpts {
    perl_x: bool,
    unicode_groups: bool,
    class_nl: bool,
}

fn span_text<'a>(pattern: &'a str, span: &ast::Span) -> &'a str {
    pattern
        .get(span.start.offset..span.end.offset)
        .unwrap_or("")
}

fn map_ast_error(pattern: &str, e: &ast::Error) -> String {
    use ast::ErrorKind as K;
    let span = e.span();
    let text = span_text(pattern, span);
    let from_start = pattern.get(span.start.offset..).unwrap_or("");
    match e.kind() {
        K::ClassUnclosed => go_regexp_error("missing closing ]", from_start),
        K::GroupUnclosed => go_regexp_error("missing closing )", pattern),
        K::GroupUnopened => go_regexp_error("unexpected )", pattern),
        K::RepetitionMissing => {
            // Go reports the operator itself (`*`, `+?`, `{2}`).
            let op = if from_start.starts_with('{') {
                from_start
                    .find('}')
                    .map_or(from_start, |i| &from_start[..=i])
            } else {
                let n = from_start.chars().next().map_or(0, char::len_utf8);
                let n = if from_start[n..].starts_with('?') {
                    n + 1
                } else {
                    n
                };
                &from_start[..n]
            };
            go_regexp_error("missing argument to repetition operator", op)
        }
        K::RepetitionCountInvalid | K::RepetitionCountUnclosed | K::RepetitionCountDecimalEmpty => {
            go_regexp_error("invalid repeat count", text)
        }
        K::ClassRangeInvalid | K::ClassRangeLiteral | K::UnicodeClassInvalid => {
            go_regexp_error("invalid character class range", text)
        }
        K::EscapeUnexpectedEof => go_regexp_error("trailing backslash at end of expression", ""),
        K::ClassEscapeInvalid
        | K::EscapeUnrecognized
        | K::EscapeHexEmpty
        | K::EscapeHexInvalid
        | K::EscapeHexInvalidDigit
        | K::DecimalEmpty
        | K::DecimalInvalid
        | K::UnsupportedBackreference => go_regexp_error("invalid escape sequence", text),
        K::GroupNameEmpty
        | K::GroupNameInvalid
        | K::GroupNameUnexpectedEof
        | K::GroupNameDuplicate { .. } => go_regexp_error("invalid named capture", text),
        K::NestLimitExceeded(_) => go_regexp_error("expression nests too deeply", pattern),
        K::CaptureLimitExceeded => go_regexp_error("expression too large", pattern),
        _ => go_regexp_error("invalid or unsupported Perl syntax", text),
    }
}

fn map_hir_error(pattern: &str, e: &hir::Error) -> String {
    let text = span_text(pattern, e.span());
    match e.kind() {
        hir::ErrorKind::UnicodePropertyNotFound
        | hir::ErrorKind::UnicodePropertyValueNotFound
        | hir::ErrorKind::UnicodePerlClassNotFound => {
            go_regexp_error("invalid character class range", text)
        }
        _ => go_regexp_error("invalid or unsupported Perl syntax", text),
    }
}

fn verbatim(span: ast::Span, c: char) -> ast::ClassSetItem {
    ast::ClassSetItem::Literal(ast::Literal {
        span,
        kind: ast::LiteralKind::Verbatim,
        c,
    })
}

/// Go's Perl classes are ASCII-only: `\d`=[0-9], `\w`=[0-9A-Za-z_], `\s`=[\t\n\f\r ].
fn perl_to_bracketed(p: &ast::ClassPerl) -> ast::ClassBracketed {
    let span = p.span;
    let item = match p.kind {
        ast::ClassPerlKind::Digit => ast::ClassSetItem::Ascii(ast::ClassAscii {
            span,
            kind: ast::ClassAsciiKind::Digit,
            negated: false,
        }),
        ast::ClassPerlKind::Word => ast::ClassSetItem::Ascii(ast::ClassAscii {
            span,
            kind: ast::ClassAsciiKind::Word,
            negated: false,
        }),
        ast::ClassPerlKind::Space => ast::ClassSetItem::Union(ast::ClassSetUnion {
            span,
            items: ['\t', '\n', '\x0C', '\r', ' ']
                .into_iter()
                .map(|c| verbatim(span, c))
                .collect(),
        }),
    };
    ast::ClassBracketed {
        span,
        negated: p.negated,
        kind: ast::ClassSet::Item(item),
    }
}

fn perl_escape_text(p: &ast::ClassPerl) -> &'static str {
    match (p.kind.clone(), p.negated) {
        (ast::ClassPerlKind::Digit, false) => "\\d",
        (ast::ClassPerlKind::Digit, true) => "\\D",
        (ast::ClassPerlKind::Space, false) => "\\s",
        (ast::ClassPerlKind::Space, true) => "\\S",
        (ast::ClassPerlKind::Word, false) => "\\w",
        (ast::ClassPerlKind::Word, true) => "\\W",
    }
}

fn check_unicode_class(
    pattern: &str,
    u: &ast::ClassUnicode,
    opts: &RegexOpts,
) -> Result<(), String> {
    if opts.unicode_groups {
        return Ok(());
    }
    let text = span_text(pattern, &u.span);
    Err(go_regexp_error(
        "invalid escape sequence",
        text.get(..2).unwrap_or(text),
    ))
}

fn rewrite_set_item(
    item: &mut ast::ClassSetItem,
    pattern: &str,
    opts: &RegexOpts,
) -> Result<(), String> {
    match item {
        ast::ClassSetItem::Perl(p) => {
            if !opts.perl_x {
                return Err(go_regexp_error(
                    "invalid escape sequence",
                    perl_escape_text(p),
                ));
            }
            let replacement = ast::ClassSetItem::Bracketed(Box::new(perl_to_bracketed(p)));
            *item = replacement;
        }
        ast::ClassSetItem::Unicode(u) => check_unicode_class(pattern, u, opts)?,
        ast::ClassSetItem::Bracketed(b) => rewrite_set(&mut b.kind, pattern, opts)?,
        ast::ClassSetItem::Union(u) => {
            for it in &mut u.items {
                rewrite_set_item(it, pattern, opts)?;
            }
        }
        ast::ClassSetItem::Literal(l) => check_literal(pattern, l)?,
        ast::ClassSetItem::Range(r) => {
            check_literal(pattern, &r.start)?;
            check_literal(pattern, &r.end)?;
        }
        ast::ClassSetItem::Empty(_) | ast::ClassSetItem::Ascii(_) => {}
    }
    Ok(())
}

fn rewrite_set(set: &mut ast::ClassSet, pattern: &str, opts: &RegexOpts) -> Result<(), String> {
    match set {
        ast::ClassSet::Item(item) => rewrite_set_item(item, pattern, opts),
        ast::ClassSet::BinaryOp(op) => {
            rewrite_set(&mut op.lhs, pattern, opts)?;
            rewrite_set(&mut op.rhs, pattern, opts)
        }
    }
}

fn check_literal(pattern: &str, l: &ast::Literal) -> Result<(), String> {
    // Go has no \u / \U escapes.
    if let ast::LiteralKind::HexFixed(ast::HexLiteralKind::UnicodeShort)
    | ast::LiteralKind::HexFixed(ast::HexLiteralKind::UnicodeLong)
    | ast::LiteralKind::HexBrace(ast::HexLiteralKind::UnicodeShort)
    | ast::LiteralKind::HexBrace(ast::HexLiteralKind::UnicodeLong) = l.kind
    {
        let text = span_text(pattern, &l.span);
        return Err(go_regexp_error(
            "invalid escape sequence",
            text.get(..2).unwrap_or(text),
        ));
    }
    Ok(())
}

/// Adapts the regex-syntax AST to Go's `regexp/syntax` semantics for the given flags.
fn rewrite_ast(node: &mut Ast, pattern: &str, opts: &RegexOpts) -> Result<(), String> {
    match node {
        Ast::Empty(_) | Ast::Dot(_) => {}
        Ast::Literal(l) => check_literal(pattern, l)?,
        Ast::Flags(f) => {
            if !opts.perl_x {
                return Err(go_regexp_error(
                    "missing argument to repetition operator",
                    "?",
                ));
            }
            check_flags(pattern, &f.flags)?;
        }
        Ast::Assertion(a) => {
            if !opts.perl_x
                && matches!(
                    a.kind,
                    ast::AssertionKind::StartText
                        | ast::AssertionKind::EndText
                        | ast::AssertionKind::WordBoundary
                        | ast::AssertionKind::NotWordBoundary
                )
            {
                return Err(go_regexp_error(
                    "invalid escape sequence",
                    span_text(pattern, &a.span),
                ));
            }
        }
        Ast::ClassUnicode(u) => check_unicode_class(pattern, u, opts)?,
        Ast::ClassPerl(p) => {
            if !opts.perl_x {
                return Err(go_regexp_error(
                    "invalid escape sequence",
                    perl_escape_text(p),
                ));
            }
            let replacement = Ast::class_bracketed(perl_to_bracketed(p));
            *node = replacement;
        }
        Ast::ClassBracketed(b) => {
            rewrite_set(&mut b.kind, pattern, opts)?;
            if b.negated && !opts.class_nl {
                // Go adds \n to a negated class before negating it when ClassNL is off.
                let span = b.span;
                let old = std::mem::replace(
                    &mut b.kind,
                    ast::ClassSet::Item(ast::ClassSetItem::Empty(span)),
                );
                let inner = ast::ClassBracketed {
                    span,
                    negated: false,
                    kind: old,
                };
                b.kind = ast::ClassSet::Item(ast::ClassSetItem::Union(ast::ClassSetUnion {
                    span,
                    items: vec![
                        ast::ClassSetItem::Bracketed(Box::new(inner)),
                        verbatim(span, '\n'),
                    ],
                }));
            }
        }
        Ast::Repetition(r) => {
            // Perl mode forbids stacked repetition operators (`a**`, `x{2}{3}`).
            if opts.perl_x
                && let Ast::Repetition(inner) = &*r.ast
                && inner.op.span.end.offset == r.op.span.start.offset
            {
                let text = pattern
                    .get(inner.op.span.start.offset..r.op.span.end.offset)
                    .unwrap_or("");
                return Err(go_regexp_error("invalid nested repetition operator", text));
            }
            if !opts.perl_x && !r.greedy {
                return Err(go_regexp_error(
                    "invalid nested repetition operator",
                    span_text(pattern, &r.op.span),
                ));
            }
            if let ast::RepetitionKind::Range(range) = &r.op.kind {
                let (min, max) = range_bounds(range);
                if min > GO_MAX_REPEAT_COUNT || max.is_some_and(|m| m > GO_MAX_REPEAT_COUNT) {
                    return Err(go_regexp_error(
                        "invalid repeat count",
                        span_text(pattern, &r.op.span),
                    ));
                }
            }
            rewrite_ast(&mut r.ast, pattern, opts)?;
            if let ast::RepetitionKind::Range(range) = &r.op.kind {
                let (min, max) = range_bounds(range);
                if (min >= 2 || max.is_some_and(|m| m >= 2)) && !repeat_is_valid(node, 1000) {
                    let Ast::Repetition(r) = &*node else {
                        unreachable!()
                    };
                    return Err(go_regexp_error(
                        "invalid repeat count",
                        span_text(pattern, &r.op.span),
                    ));
                }
            }
        }
        Ast::Group(g) => {
            match &g.kind {
                ast::GroupKind::CaptureIndex(_) => {}
                ast::GroupKind::NonCapturing(flags) => {
                    if !opts.perl_x {
                        return Err(go_regexp_error(
                            "missing argument to repetition operator",
                            "?",
                        ));
                    }
                    check_flags(pattern, flags)?;
                }
                ast::GroupKind::CaptureName { .. } => {
                    if !opts.perl_x {
                        return Err(go_regexp_error(
                            "missing argument to repetition operator",
                            "?",
                        ));
                    }
                }
            }
            rewrite_ast(&mut g.ast, pattern, opts)?;
        }
        Ast::Alternation(a) => {
            for sub in &mut a.asts {
                rewrite_ast(sub, pattern, opts)?;
            }
        }
        Ast::Concat(c) => {
            for sub in &mut c.asts {
                rewrite_ast(sub, pattern, opts)?;
            }
        }
    }
    Ok(())
}

fn range_bounds(range: &ast::RepetitionRange) -> (u32, Option<u32>) {
    match *range {
        ast::RepetitionRange::Exactly(n) => (n, Some(n)),
        ast::RepetitionRange::AtLeast(n) => (n, None),
        ast::RepetitionRange::Bounded(a, b) => (a, Some(b)),
    }
}

/// Go's `repeatIsValid`: nested `{n,m}` repetitions may not multiply past 1000 copies.
fn repeat_is_valid(node: &Ast, mut n: u32) -> bool {
    match node {
        Ast::Repetition(r) => {
            if let ast::RepetitionKind::Range(range) = &r.op.kind {
                let (min, max) = range_bounds(range);
                let m = match max {
                    Some(0) => return true,
                    Some(m) => m,
                    None => min,
                };
                if m > n {
                    return false;
                }
                n = n.checked_div(m).unwrap_or(n);
            }
            repeat_is_valid(&r.ast, n)
        }
        Ast::Group(g) => repeat_is_valid(&g.ast, n),
        Ast::Alternation(a) => a.asts.iter().all(|x| repeat_is_valid(x, n)),
        Ast::Concat(c) => c.asts.iter().all(|x| repeat_is_valid(x, n)),
        _ => true,
    }
}

/// `x{0}` must generate "" (Go keeps it as OpRepeat) but regex-syntax would turn it into
/// an empty-match node; `{0,1}` generates "" too under PocketBase's
/// `min + rand[0, max-min)` rule. Runs after validation.
fn fix_zero_repeats(node: &mut Ast) {
    match node {
        Ast::Repetition(r) => {
            if let ast::RepetitionKind::Range(range) = &mut r.op.kind
                && range_bounds(range).1 == Some(0)
            {
                *range = ast::RepetitionRange::Bounded(0, 1);
            }
            fix_zero_repeats(&mut r.ast);
        }
        Ast::Group(g) => fix_zero_repeats(&mut g.ast),
        Ast::Alternation(a) => a.asts.iter_mut().for_each(fix_zero_repeats),
        Ast::Concat(c) => c.asts.iter_mut().for_each(fix_zero_repeats),
        _ => {}
    }
}

/// Go only knows the `i`, `m`, `s` and `U` flags.
fn check_flags(pattern: &str, flags: &ast::Flags) -> Result<(), String> {
    for item in &flags.items {
        if let ast::FlagsItemKind::Flag(
            ast::Flag::IgnoreWhitespace | ast::Flag::CRLF | ast::Flag::Unicode,
        ) = item.kind
        {
            let end = item.span.end.offset;
            let start = flags.span.start.offset.saturating_sub(2);
            let text = pattern.get(start..end).unwrap_or("");
            return Err(go_regexp_error("invalid or unsupported Perl syntax", text));
        }
    }
    Ok(())
}

fn is_any_char_class(c: &hir::ClassUnicode) -> bool {
    let r: Vec<(char, char)> = c.ranges().iter().map(|r| (r.start(), r.end())).collect();
    r == [('\0', '\u{10FFFF}')] || r == [('\0', '\t'), ('\u{0B}', '\u{10FFFF}')]
}

/// Picks a rune uniformly over all the runes of the ranges (PocketBase's
/// `randomRuneFromPairs`); a pick inside the surrogate gap becomes U+FFFD exactly like
/// Go's `strings.Builder.WriteRune`.
fn random_rune_from_ranges(
    ranges: &[(u32, u32)],
    rng: &mut impl rand::Rng,
) -> Result<char, String> {
    let total: u64 = ranges.iter().map(|(a, b)| u64::from(b - a) + 1).sum();
    if total == 0 {
        return Err("no runes to choose from".to_string());
    }
    let mut n = rng.random_range(0..total);
    for (a, b) in ranges {
        let size = u64::from(b - a) + 1;
        if n < size {
            let v = a + n as u32;
            return Ok(char::from_u32(v).unwrap_or('\u{FFFD}'));
        }
        n -= size;
    }
    unreachable!("n < total")
}

fn write_random_by_hir(h: &Hir, out: &mut String, rng: &mut impl rand::Rng) -> Result<(), String> {
    match h.kind() {
        HirKind::Empty => Err(unsupported_op(OP_EMPTY_MATCH)),
        HirKind::Literal(lit) => {
            out.push_str(&String::from_utf8_lossy(&lit.0));
            Ok(())
        }
        HirKind::Class(hir::Class::Unicode(c)) => {
            let ranges: Vec<(u32, u32)> = if is_any_char_class(c) {
                vec![
                    ('A' as u32, 'Z' as u32),
                    ('a' as u32, 'z' as u32),
                    ('0' as u32, '9' as u32),
                ]
            } else {
                c.ranges()
                    .iter()
                    .map(|r| (r.start() as u32, r.end() as u32))
                    .collect()
            };
            out.push(random_rune_from_ranges(&ranges, rng)?);
            Ok(())
        }
        HirKind::Class(hir::Class::Bytes(c)) => {
            // Only reachable for the empty class (`Hir::fail()`); the Unicode/UTF-8
            // translator never yields non-ASCII byte classes.
            let ranges: Vec<(u32, u32)> = c
                .ranges()
                .iter()
                .map(|r| (u32::from(r.start()), u32::from(r.end())))
                .collect();
            out.push(random_rune_from_ranges(&ranges, rng)?);
            Ok(())
        }
        HirKind::Look(look) => Err(unsupported_op(match look {
            hir::Look::Start => OP_BEGIN_TEXT,
            hir::Look::End => OP_END_TEXT,
            hir::Look::StartLF | hir::Look::StartCRLF => OP_BEGIN_LINE,
            hir::Look::EndLF | hir::Look::EndCRLF => OP_END_LINE,
            hir::Look::WordAsciiNegate | hir::Look::WordUnicodeNegate => OP_NO_WORD_BOUNDARY,
            _ => OP_WORD_BOUNDARY,
        })),
        HirKind::Repetition(rep) => {
            let min = i64::from(rep.min);
            let mut max = rep.max.map_or(-1, i64::from);
            if max < 0 {
                max = DEFAULT_MAX_REPEAT;
            }
            if max < min {
                max = min;
            }
            let mut n = min;
            if max != min {
                n += rng.random_range(0..(max - min));
            }
            for _ in 0..n {
                write_random_by_hir(&rep.sub, out, rng)?;
            }
            Ok(())
        }
        HirKind::Capture(cap) => write_random_by_hir(&cap.sub, out, rng),
        HirKind::Concat(subs) => {
            for sub in subs {
                write_random_by_hir(sub, out, rng)?;
            }
            Ok(())
        }
        HirKind::Alternation(subs) => {
            let idx = rng.random_range(0..subs.len());
            write_random_by_hir(&subs[idx], out, rng)
        }
    }
}

// ---------------------------------------------------------------------------
// Go-compatible JSON encoding (encoding/json.Marshal of map[string]any values)
// ---------------------------------------------------------------------------

/// Encodes a JSON value exactly like Go's `json.Marshal` does for the equivalent
/// `map[string]any`/`[]any` value: object keys sorted (byte order), `<`, `>`, `&`,
/// U+2028 and U+2029 escaped as `\u003c`-style sequences, `\b`/`\f` short escapes and
/// Go's float formatting (`1e+21`, `1e-7`).
pub fn go_json_marshal(value: &Value) -> String {
    let mut out = String::new();
    write_go_json(value, &mut out);
    out
}

fn write_go_json(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.push_str(&i.to_string());
            } else if let Some(u) = n.as_u64() {
                out.push_str(&u.to_string());
            } else if let Some(f) = n.as_f64() {
                out.push_str(&go_format_float(f));
            } else {
                out.push_str(&n.to_string());
            }
        }
        Value::String(s) => write_go_json_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json_string(k, out);
                out.push(':');
                write_go_json(&map[k], out);
            }
            out.push('}');
        }
    }
}

fn go_format_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Go: strconv 'e' format with a signed, at-least-2-digit exponent, then
        // "e-07" cleaned up to "e-7".
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        if exp < 0 {
            format!("{mantissa}e-{}", -exp)
        } else {
            format!("{mantissa}e+{exp:02}")
        }
    } else {
        format!("{f}")
    }
}

fn write_go_json_string(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0C}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{00}'..='\u{1F}' => {
                let b = c as u32 as u8;
                out.push_str("\\u00");
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 0xf) as usize] as char);
            }
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            _ => out.push(c),
        }
    }
    out.push('"');
}

// ---------------------------------------------------------------------------
// Go-compatible base64 decoding (encoding/base64, non-strict)
// ---------------------------------------------------------------------------

fn b64_value(c: u8, url: bool) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' if !url => Some(62),
        b'/' if !url => Some(63),
        b'-' if url => Some(62),
        b'_' if url => Some(63),
        _ => None,
    }
}

fn corrupt_input(pos: usize) -> String {
    format!("illegal base64 data at input byte {pos}")
}

/// Decodes like Go's `base64.StdEncoding`/`RawURLEncoding.DecodeString`: ignores `\r`
/// and `\n`, accepts non-zero trailing bits and reports errors as
/// `illegal base64 data at input byte N` with Go's positions.
fn go_base64_decode(input: &str, url: bool, padded: bool) -> Result<Vec<u8>, String> {
    let src = input.as_bytes();
    let skip_newlines = |mut si: usize| {
        while si < src.len() && (src[si] == b'\n' || src[si] == b'\r') {
            si += 1;
        }
        si
    };
    let mut out = Vec::with_capacity(src.len() / 4 * 3 + 3);
    let mut si = 0;
    while si < src.len() {
        let mut dbuf = [0u8; 4];
        let mut dlen = 4;
        let mut j = 0;
        let mut trailing_err = None;
        while j < 4 {
            if si == src.len() {
                if j == 0 {
                    return Ok(out);
                }
                if j == 1 || padded {
                    return Err(corrupt_input(si - j));
                }
                dlen = j;
                break;
            }
            let c = src[si];
            si += 1;
            if let Some(v) = b64_value(c, url) {
                dbuf[j] = v;
                j += 1;
                continue;
            }
            if c == b'\n' || c == b'\r' {
                continue;
            }
            if !padded || c != b'=' {
                return Err(corrupt_input(si - 1));
            }
            match j {
                0 | 1 => return Err(corrupt_input(si - 1)),
                2 => {
                    si = skip_newlines(si);
                    if si == src.len() {
                        return Err(corrupt_input(src.len()));
                    }
                    if src[si] != b'=' {
                        return Err(corrupt_input(si - 1));
                    }
                    si += 1;
                }
                _ => {}
            }
            si = skip_newlines(si);
            if si < src.len() {
                trailing_err = Some(si);
            }
            dlen = j;
            break;
        }
        let val = u32::from(dbuf[0]) << 18
            | u32::from(dbuf[1]) << 12
            | u32::from(dbuf[2]) << 6
            | u32::from(dbuf[3]);
        let bytes = [(val >> 16) as u8, (val >> 8) as u8, val as u8];
        match dlen {
            4 => out.extend_from_slice(&bytes),
            3 => out.extend_from_slice(&bytes[..2]),
            2 => out.extend_from_slice(&bytes[..1]),
            _ => {}
        }
        if let Some(pos) = trailing_err {
            return Err(corrupt_input(pos));
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// JWT (HS256, golang-jwt/jwt/v5 semantics)
// ---------------------------------------------------------------------------

const KNOWN_JWT_ALGS: &[&str] = &[
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256",
    "PS384", "PS512", "EdDSA", "none",
];

fn jwt_err(base: &str, message: &str, more: Option<&str>) -> String {
    let mut s = base.to_string();
    if !message.is_empty() {
        s.push_str(": ");
        s.push_str(message);
    }
    if let Some(m) = more {
        s.push_str(": ");
        s.push_str(m);
    }
    s
}

const ERR_TOKEN_MALFORMED: &str = "token is malformed";
const ERR_TOKEN_UNVERIFIABLE: &str = "token is unverifiable";
const ERR_TOKEN_SIGNATURE_INVALID: &str = "token signature is invalid";
const ERR_TOKEN_INVALID_CLAIMS: &str = "token has invalid claims";

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Decodes a JSON object like `json.Unmarshal(data, &map)` (JSON `null` → empty map).
fn decode_json_object(bytes: &[u8], go_type: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(Value::Null) => Ok(Map::new()),
        Ok(other) => Err(format!(
            "json: cannot unmarshal {} into Go value of type {go_type}",
            json_kind(&other)
        )),
        Err(e) => Err(e.to_string()),
    }
}

struct ParsedJwt<'a> {
    claims: Claims,
    alg: String,
    signing_input: &'a str,
    signature_segment: &'a str,
}

/// jwt.Parser.ParseUnverified
fn jwt_parse_unverified(token: &str) -> Result<ParsedJwt<'_>, String> {
    let mut parts = token.splitn(3, '.');
    let (Some(h), Some(c), Some(s)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(jwt_err(
            ERR_TOKEN_MALFORMED,
            "token contains an invalid number of segments",
            None,
        ));
    };
    if s.contains('.') {
        return Err(jwt_err(
            ERR_TOKEN_MALFORMED,
            "token contains an invalid number of segments",
            None,
        ));
    }

    let header_bytes = go_base64_decode(h, true, false).map_err(|e| {
        jwt_err(
            ERR_TOKEN_MALFORMED,
            "could not base64 decode header",
            Some(&e),
        )
    })?;
    let header = decode_json_object(&header_bytes, "map[string]interface {}").map_err(|e| {
        jwt_err(
            ERR_TOKEN_MALFORMED,
            "could not JSON decode header",
            Some(&e),
        )
    })?;

    let claim_bytes = go_base64_decode(c, true, false).map_err(|e| {
        jwt_err(
            ERR_TOKEN_MALFORMED,
            "could not base64 decode claim",
            Some(&e),
        )
    })?;
    let claims = decode_json_object(&claim_bytes, "jwt.MapClaims")
        .map_err(|e| jwt_err(ERR_TOKEN_MALFORMED, "could not JSON decode claim", Some(&e)))?;

    let alg = match header.get("alg") {
        Some(Value::String(alg)) => {
            if !KNOWN_JWT_ALGS.contains(&alg.as_str()) {
                return Err(jwt_err(
                    ERR_TOKEN_UNVERIFIABLE,
                    "signing method (alg) is unavailable",
                    None,
                ));
            }
            alg.clone()
        }
        _ => {
            return Err(jwt_err(
                ERR_TOKEN_UNVERIFIABLE,
                "signing method (alg) is unspecified",
                None,
            ));
        }
    };

    Ok(ParsedJwt {
        claims,
        alg,
        signing_input: &token[..h.len() + 1 + c.len()],
        signature_segment: s,
    })
}

/// `MapClaims.parseNumericDate`: `Ok(None)` when absent or 0, seconds (floored like
/// `NumericDate`'s 1s precision truncation) otherwise.
fn numeric_date(claims: &Claims, key: &str) -> Result<Option<i64>, String> {
    match claims.get(key) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            let f = n.as_f64().unwrap_or(0.0);
            if f == 0.0 {
                Ok(None)
            } else {
                Ok(Some(f.floor() as i64))
            }
        }
        Some(_) => Err(format!("invalid type for claim: {key} is invalid")),
    }
}

/// jwt.Validator.Validate (leeway 0, exp optional), optionally checking `iat`.
fn jwt_validate(claims: &Claims, check_iat: bool) -> Result<(), String> {
    // now.Before(t) for a whole-second t is equivalent to now_secs < t.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let mut errs: Vec<String> = Vec::new();

    match numeric_date(claims, "exp") {
        Err(e) => errs.push(e),
        Ok(Some(exp)) if now >= exp => errs.push("token is expired".to_string()),
        Ok(_) => {}
    }
    match numeric_date(claims, "nbf") {
        Err(e) => errs.push(e),
        Ok(Some(nbf)) if now < nbf => errs.push("token is not valid yet".to_string()),
        Ok(_) => {}
    }
    if check_iat {
        match numeric_date(claims, "iat") {
            Err(e) => errs.push(e),
            Ok(Some(iat)) if now < iat => errs.push("token used before issued".to_string()),
            Ok(_) => {}
        }
    }

    if errs.is_empty() {
        Ok(())
    } else {
        // errors.Join
        Err(errs.join("\n"))
    }
}

/// `$security.parseUnverifiedJWT(token)`: decodes the claims WITHOUT verifying the
/// signature, but still validates `exp`, `nbf` and `iat` (as PocketBase does).
pub fn parse_unverified_jwt(token: &str) -> Result<Claims, String> {
    let parsed = jwt_parse_unverified(token)?;
    jwt_validate(&parsed.claims, true)?;
    Ok(parsed.claims)
}

/// `$security.parseJWT(token, verificationKey)`: verifies an HS256 signature and the
/// `exp`/`nbf` claims, then returns the claims.
pub fn parse_jwt(token: &str, verification_key: &str) -> Result<Claims, String> {
    let parsed = jwt_parse_unverified(token)?;
    if parsed.alg != "HS256" {
        return Err(jwt_err(
            ERR_TOKEN_SIGNATURE_INVALID,
            &format!("signing method {} is invalid", parsed.alg),
            None,
        ));
    }
    let signature = go_base64_decode(parsed.signature_segment, true, false).map_err(|e| {
        jwt_err(
            ERR_TOKEN_MALFORMED,
            "could not base64 decode signature",
            Some(&e),
        )
    })?;
    let expected = hmac_sha256(verification_key.as_bytes(), parsed.signing_input.as_bytes());
    if !constant_time_eq(&signature, &expected) {
        return Err(jwt_err(
            ERR_TOKEN_SIGNATURE_INVALID,
            "",
            Some("signature is invalid"),
        ));
    }
    jwt_validate(&parsed.claims, false)
        .map_err(|e| jwt_err(ERR_TOKEN_INVALID_CLAIMS, "", Some(&e)))?;
    Ok(parsed.claims)
}

/// `$security.createJWT(payload, signingKey, secDuration)`: HS256 token whose claims are
/// `{"exp": now + duration_secs}` overridden by `payload` (a payload `exp` wins).
pub fn create_jwt(
    payload: Claims,
    signing_key: &str,
    duration_secs: i64,
) -> Result<String, String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let mut claims = Map::new();
    claims.insert(
        "exp".to_string(),
        Value::from(now.saturating_add(duration_secs)),
    );
    for (k, v) in payload {
        claims.insert(k, v);
    }
    Ok(sign_hs256_jwt(&claims, signing_key))
}

fn sign_hs256_jwt(claims: &Claims, signing_key: &str) -> String {
    let engine = &base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = engine.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = engine.encode(go_json_marshal(&Value::Object(claims.clone())));
    let signing_input = format!("{header}.{payload}");
    let sig = hmac_sha256(signing_key.as_bytes(), signing_input.as_bytes());
    format!("{signing_input}.{}", engine.encode(sig))
}

// ---------------------------------------------------------------------------
// AES-GCM encrypt / decrypt
// ---------------------------------------------------------------------------

const GCM_NONCE_SIZE: usize = 12;

enum GcmCipher {
    A128(Box<AesGcm<Aes128, U12>>),
    A192(Box<AesGcm<Aes192, U12>>),
    A256(Box<AesGcm<Aes256, U12>>),
}

impl GcmCipher {
    fn new(key: &str) -> Result<Self, String> {
        let k = key.as_bytes();
        let bad = || format!("crypto/aes: invalid key size {}", k.len());
        Ok(match k.len() {
            16 => Self::A128(Box::new(AesGcm::new_from_slice(k).map_err(|_| bad())?)),
            24 => Self::A192(Box::new(AesGcm::new_from_slice(k).map_err(|_| bad())?)),
            32 => Self::A256(Box::new(AesGcm::new_from_slice(k).map_err(|_| bad())?)),
            _ => return Err(bad()),
        })
    }

    fn seal(&self, nonce: &[u8; GCM_NONCE_SIZE], data: &[u8]) -> Vec<u8> {
        let nonce = Nonce::<U12>::from(*nonce);
        let res = match self {
            Self::A128(c) => c.encrypt(&nonce, data),
            Self::A192(c) => c.encrypt(&nonce, data),
            Self::A256(c) => c.encrypt(&nonce, data),
        };
        res.expect("AES-GCM encryption of an in-memory buffer cannot fail")
    }

    fn open(&self, nonce: &[u8], data: &[u8]) -> Result<Vec<u8>, String> {
        let nonce = Nonce::<U12>::try_from(nonce).map_err(|_| "invalid nonce".to_string())?;
        let res = match self {
            Self::A128(c) => c.decrypt(&nonce, data),
            Self::A192(c) => c.decrypt(&nonce, data),
            Self::A256(c) => c.decrypt(&nonce, data),
        };
        res.map_err(|_| "cipher: message authentication failed".to_string())
    }
}

/// `$security.encrypt(data, key)`: AES-GCM encrypts `data` (a JS string's UTF-8 bytes)
/// and returns `base64.StdEncoding(nonce || sealed)`. `key` must be 16, 24 or 32 bytes.
pub fn encrypt(data: impl AsRef<[u8]>, key: &str) -> Result<String, String> {
    let cipher = GcmCipher::new(key)?;
    let mut nonce = [0u8; GCM_NONCE_SIZE];
    rand::rng().fill(&mut nonce[..]);
    let mut out = nonce.to_vec();
    out.extend_from_slice(&cipher.seal(&nonce, data.as_ref()));
    Ok(base64::engine::general_purpose::STANDARD.encode(out))
}

/// Raw bytes behind [`decrypt`] (Go's `security.Decrypt`).
pub fn decrypt_bytes(cipher_text: &str, key: &str) -> Result<Vec<u8>, String> {
    let cipher = GcmCipher::new(key)?;
    let raw = go_base64_decode(cipher_text, false, true)?;
    if raw.len() < GCM_NONCE_SIZE {
        // Go slices cipherByte[:nonceSize] and panics; surface the panic text as an error.
        return Err(format!(
            "runtime error: slice bounds out of range [:{GCM_NONCE_SIZE}] with capacity {}",
            raw.len()
        ));
    }
    let (nonce, sealed) = raw.split_at(GCM_NONCE_SIZE);
    cipher.open(nonce, sealed)
}

/// `$security.decrypt(cipherText, key)`: the JS binding returns `string(result)`, so the
/// plaintext is returned as a string (invalid UTF-8 replaced by U+FFFD, which is what a
/// Go string with invalid UTF-8 becomes in JS).
pub fn decrypt(cipher_text: &str, key: &str) -> Result<String, String> {
    decrypt_bytes(cipher_text, key).map(bytes_to_js_string)
}

// ---------------------------------------------------------------------------
// tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hashes_match_pocketbase_tests() {
        assert_eq!(md5(""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5("123"), "202cb962ac59075b964b07152d234b70");
        assert_eq!(
            sha256(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256("123"),
            "a665a45920422f9d417e4867efdc4fb8a04a1f3fff1fa07e998e86f7f7a27ae3"
        );
        assert_eq!(
            sha512("123"),
            "3c9909afec25354d551dae21590bb26e38d53f2173b8d3dc3eee4c047e7ab1c1eb8b85103e3be7ba613b31bb5c9c36214dc9f14a42fd7a2fdb84856bca5c44c2"
        );
        assert_eq!(
            hs256(" ", "test"),
            "9fb4e4a12d50728683a222b4fc466a69ee977332cfcdd6b9ebb44c7121dbd99f"
        );
        assert_eq!(
            hs256("hello", "test2"),
            "16436e8dcbf3d7b5b0455573b27e6372699beb5bfe94e6a2a371b14b4ae068f4"
        );
        assert_eq!(
            hs512("hello", "test"),
            "44f280e11103e295c26cd61dd1cdd8178b531b860466867c13b1c37a26b6389f8af110efbe0bb0717b9d9c87f6fe1c97b3b1690936578890e5669abf279fe7fd"
        );
    }

    #[test]
    fn equal_is_exact() {
        assert!(equal("", ""));
        assert!(equal("abc", "abc"));
        assert!(!equal("abc", "abd"));
        assert!(!equal("abc", "abcd"));
    }

    #[test]
    fn random_strings() {
        let s = random_string(32);
        assert_eq!(s.len(), 32);
        assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(random_string(32), s);
        assert_eq!(random_string(0), "");
        assert_eq!(pseudorandom_string(10).len(), 10);

        let s = random_string_with_alphabet(50, "ab").unwrap();
        assert!(s.bytes().all(|b| b == b'a' || b == b'b'));
        assert_eq!(pseudorandom_string_with_alphabet(5, "x").unwrap(), "xxxxx");
        assert_eq!(random_string_with_alphabet(0, "").unwrap(), "");
        assert!(random_string_with_alphabet(1, "").is_err());
        assert!(pseudorandom_string_with_alphabet(1, "").is_err());
        // byte-indexed like Go: a multibyte alphabet can produce replacement chars
        let s = random_string_with_alphabet(40, "é").unwrap();
        assert!(s.chars().all(|c| c == 'é' || c == '\u{FFFD}'));
    }

    #[test]
    fn random_by_regex_pocketbase_scenarios() {
        // (pattern, flags, expect error) from tools/security/random_by_regex_test.go
        assert!(random_string_by_regex("", &[]).is_err());
        assert_eq!(random_string_by_regex("test", &[]).unwrap(), "test");
        assert!(random_string_by_regex(r"\d+", &[regex_flags::POSIX]).is_err());

        for _ in 0..50 {
            let s = random_string_by_regex(r"\d+", &[]).unwrap();
            assert!(
                (1..=5).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()),
                "{s}"
            );

            let s = random_string_by_regex(r"\d*", &[]).unwrap();
            assert!(s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit()));

            let s = random_string_by_regex(r"\d{1,10}", &[]).unwrap();
            assert!((1..=9).contains(&s.len()));

            let s = random_string_by_regex(r"\d{3}", &[]).unwrap();
            assert_eq!(s.len(), 3);

            let s = random_string_by_regex(r"\d{0,}-abc", &[]).unwrap();
            assert!(s.ends_with("-abc") && s.len() <= 5 + 4);

            let s = random_string_by_regex(r"[a-zA-Z_]*", &[]).unwrap();
            assert!(s.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_'));

            let s = random_string_by_regex(r"[^a-zA-Z]{5,30}", &[]).unwrap();
            let n = s.chars().count();
            assert!((5..30).contains(&n));
            assert!(s.chars().all(|c| !c.is_ascii_alphabetic()));

            let s = random_string_by_regex(r"\w+_abc", &[]).unwrap();
            assert!(s.ends_with("_abc"));
            assert!(s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));

            let s = random_string_by_regex(r"[2-9]{5}-\w+", &[]).unwrap();
            assert!(s.as_bytes()[..5].iter().all(|b| (b'2'..=b'9').contains(b)));
            assert_eq!(s.as_bytes()[5], b'-');

            let s = random_string_by_regex(r"(a|b|c)", &[]).unwrap();
            assert!(["a", "b", "c"].contains(&s.as_str()));

            let s = random_string_by_regex(r"\s", &[]).unwrap();
            assert!(["\t", "\n", "\x0C", "\r", " "].contains(&s.as_str()));

            let s = random_string_by_regex(r".{4}", &[]).unwrap();
            assert!(s.len() == 4 && s.bytes().all(|b| b.is_ascii_alphanumeric()));
        }
    }

    #[test]
    fn random_by_regex_go_quirks() {
        // OpQuest repeats min + rand[0, 1) = 0 times
        for _ in 0..20 {
            assert_eq!(random_string_by_regex("ab?c", &[]).unwrap(), "ac");
            assert_eq!(random_string_by_regex("a{0}b", &[]).unwrap(), "b");
        }
        assert_eq!(random_string_by_regex("a{0}", &[]).unwrap(), "");
        // {n,} with n > 6 → exactly n
        assert_eq!(random_string_by_regex("a{8,}", &[]).unwrap(), "aaaaaaaa");
        // anchors are unsupported ops (Go op numbers)
        assert_eq!(
            random_string_by_regex("^abc$", &[]).unwrap_err(),
            "unsupported pattern operator 9"
        );
        assert_eq!(
            random_string_by_regex("abc$", &[]).unwrap_err(),
            "unsupported pattern operator 10"
        );
        assert_eq!(
            random_string_by_regex("(?m)^a", &[]).unwrap_err(),
            "unsupported pattern operator 7"
        );
        assert_eq!(
            random_string_by_regex(r"a\b", &[]).unwrap_err(),
            "unsupported pattern operator 11"
        );
        assert_eq!(
            random_string_by_regex("", &[]).unwrap_err(),
            "unsupported pattern operator 2"
        );
        assert_eq!(
            random_string_by_regex("()", &[]).unwrap_err(),
            "unsupported pattern operator 2"
        );
        // no runes
        assert_eq!(
            random_string_by_regex(r"[^\x00-\x{10FFFF}]", &[]).unwrap_err(),
            "no runes to choose from"
        );
        // literal flag
        assert_eq!(
            random_string_by_regex("a+[b", &[regex_flags::LITERAL]).unwrap(),
            "a+[b"
        );
        // POSIX: ^ is a line anchor (op 7)
        assert_eq!(
            random_string_by_regex("^a", &[0]).unwrap_err(),
            "unsupported pattern operator 7"
        );
        // fold case produces either case
        for _ in 0..10 {
            let s = random_string_by_regex("(?i)abc", &[]).unwrap();
            assert_eq!(s.to_lowercase(), "abc");
        }
        // unicode classes
        let s = random_string_by_regex(r"\p{Greek}{3}", &[]).unwrap();
        assert_eq!(s.chars().count(), 3);
        assert!(random_string_by_regex(r"\pL", &[regex_flags::PERL_X]).is_err());
        // \d is ASCII-only like Go
        for _ in 0..50 {
            let s = random_string_by_regex(r"[\d]{5}", &[]).unwrap();
            assert!(s.bytes().all(|b| b.is_ascii_digit()));
            let s = random_string_by_regex(r"\D", &[]).unwrap();
            assert!(!s.chars().any(|c| c.is_ascii_digit()));
        }
    }

    #[test]
    fn random_by_regex_output_matches_pattern() {
        let patterns = [
            r"[a-z0-9]{30}",
            r"\w{3,8}@[a-z]{2,5}\.(com|org|net)",
            r"(foo|bar)+-\d{2}",
            r"[^\s]{4}",
            r"(?i)hello[A-F]{2}",
            r"x(?:ab|cd)*y",
            r"(?P<name>[[:upper:]]{3})\x41\t",
            r"\p{Han}{2}\PL",
            r"[\-\]a]{5}",
            r"(?s).{3}",
            r"a{2}b{0,3}c?d*e+",
        ];
        for p in patterns {
            let re = regex::Regex::new(&format!("^(?:{p})$")).unwrap();
            for _ in 0..30 {
                let s = random_string_by_regex(p, &[]).unwrap();
                assert!(re.is_match(&s), "{s:?} does not match {p}");
            }
        }
    }

    #[test]
    fn random_by_regex_parse_errors() {
        assert_eq!(
            random_string_by_regex("*", &[]).unwrap_err(),
            "error parsing regexp: missing argument to repetition operator: `*`"
        );
        assert_eq!(
            random_string_by_regex("[a-z", &[]).unwrap_err(),
            "error parsing regexp: missing closing ]: `[a-z`"
        );
        assert_eq!(
            random_string_by_regex("(abc", &[]).unwrap_err(),
            "error parsing regexp: missing closing ): `(abc`"
        );
        assert_eq!(
            random_string_by_regex("abc)", &[]).unwrap_err(),
            "error parsing regexp: unexpected ): `abc)`"
        );
        assert_eq!(
            random_string_by_regex("a{1001}", &[]).unwrap_err(),
            "error parsing regexp: invalid repeat count: `{1001}`"
        );
        assert_eq!(
            random_string_by_regex(r"\d", &[0]).unwrap_err(),
            "error parsing regexp: invalid escape sequence: `\\d`"
        );
        assert_eq!(
            random_string_by_regex("abc\\", &[]).unwrap_err(),
            "error parsing regexp: trailing backslash at end of expression: ``"
        );
        assert!(
            random_string_by_regex("[z-a]", &[])
                .unwrap_err()
                .contains("invalid character class range")
        );
        assert_eq!(
            random_string_by_regex("a**", &[]).unwrap_err(),
            "error parsing regexp: invalid nested repetition operator: `**`"
        );
        assert_eq!(
            random_string_by_regex("x{2}{3}", &[]).unwrap_err(),
            "error parsing regexp: invalid nested repetition operator: `{2}{3}`"
        );
        assert_eq!(
            random_string_by_regex("a|+?", &[]).unwrap_err(),
            "error parsing regexp: missing argument to repetition operator: `+?`"
        );
        assert_eq!(
            random_string_by_regex("(?x)a", &[]).unwrap_err(),
            "error parsing regexp: invalid or unsupported Perl syntax: `(?x`"
        );
        assert_eq!(
            random_string_by_regex("(a{100}){20}", &[]).unwrap_err(),
            "error parsing regexp: invalid repeat count: `{20}`"
        );
        assert_eq!(
            random_string_by_regex("(a{100}){10}", &[]).unwrap().len(),
            1000
        );
        assert_eq!(
            random_string_by_regex("((a{2000}){0}){2}", &[]).unwrap_err(),
            "error parsing regexp: invalid repeat count: `{2000}`"
        );
        assert_eq!(random_string_by_regex("((a{500}){0}){3}", &[]).unwrap(), "");
        // POSIX mode allows stacked repetitions
        assert_eq!(random_string_by_regex("a{2}{2}", &[0]).unwrap(), "aaaa");
    }

    #[test]
    fn go_json_encoding() {
        let v = json!({"b": 1, "a": "<x>&\u{2028}\n\u{08}\u{01}", "c": [true, null, 1.5], "d": {"z": 1e21, "y": 1e-7}});
        assert_eq!(
            go_json_marshal(&v),
            r#"{"a":"\u003cx\u003e\u0026\u2028\n\b\u0001","b":1,"c":[true,null,1.5],"d":{"y":1e-7,"z":1e+21}}"#
        );
        assert_eq!(go_json_marshal(&json!(2524604461.0)), "2524604461");
        assert_eq!(go_json_marshal(&json!(0.000001)), "0.000001");
        assert_eq!(go_json_marshal(&json!(-1.5e-10)), "-1.5e-10");
    }

    #[test]
    fn go_base64() {
        assert_eq!(go_base64_decode("aGVsbG8=", false, true).unwrap(), b"hello");
        assert_eq!(
            go_base64_decode("aGVs\nbG8=", false, true).unwrap(),
            b"hello"
        );
        assert_eq!(go_base64_decode("aGVsbG8", true, false).unwrap(), b"hello");
        assert_eq!(
            go_base64_decode("aGVsbG8", false, true).unwrap_err(),
            "illegal base64 data at input byte 4"
        );
        assert_eq!(
            go_base64_decode("aGVsbG8=", true, false).unwrap_err(),
            "illegal base64 data at input byte 7"
        );
        assert_eq!(
            go_base64_decode("aGVsbG8=x", false, true).unwrap_err(),
            "illegal base64 data at input byte 8"
        );
        assert_eq!(
            go_base64_decode("a", true, false).unwrap_err(),
            "illegal base64 data at input byte 0"
        );
        assert_eq!(go_base64_decode("", false, true).unwrap(), b"");
        // non-zero trailing bits are accepted (non-strict)
        assert_eq!(go_base64_decode("aGVsbG9=", false, true).unwrap(), b"hello");
    }

    #[test]
    fn jwt_pocketbase_scenarios() {
        // tools/security/jwt_test.go
        let malformed = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJuYW1lIjoidGVzdCJ9";
        let expired = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJuYW1lIjoidGVzdCIsImV4cCI6MTUxNjIzOTAyMn0.xYHirwESfSEW3Cq2BL47CEASvD_p_ps3QCA54XtNktU";
        let no_exp = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJuYW1lIjoidGVzdCJ9.ml0QsTms3K9wMygTu41ZhKlTyjmW9zHQtoS8FUsCCjU";
        let valid = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJuYW1lIjoidGVzdCIsImV4cCI6MjUyNDYwNDQ2MX0.VIEO73GP5QRQOSfHgQhaqeuYqcx59vL3xlxmFP-fytQ";

        assert_eq!(
            parse_unverified_jwt(malformed).unwrap_err(),
            "token is malformed: token contains an invalid number of segments"
        );
        assert_eq!(
            parse_unverified_jwt(expired).unwrap_err(),
            "token is expired"
        );
        assert_eq!(parse_unverified_jwt(no_exp).unwrap()["name"], "test");
        let c = parse_unverified_jwt(valid).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c["name"], "test");

        assert!(parse_jwt(malformed, "test").is_err());
        assert_eq!(
            parse_jwt(expired, "invalid").unwrap_err(),
            "token signature is invalid: signature is invalid"
        );
        assert_eq!(
            parse_jwt(expired, "test").unwrap_err(),
            "token has invalid claims: token is expired"
        );
        assert!(parse_jwt(valid, "invalid").is_err());
        let c = parse_jwt(valid, "test").unwrap();
        assert_eq!(c["exp"].as_f64(), Some(2524604461.0));
        assert_eq!(parse_jwt(no_exp, "test").unwrap().len(), 1);
    }

    #[test]
    fn jwt_create_roundtrip() {
        // "empty, zero duration" → already expired
        let t = create_jwt(Map::new(), "", 0).unwrap();
        assert_eq!(
            parse_jwt(&t, "").unwrap_err(),
            "token has invalid claims: token is expired"
        );

        let t = create_jwt(Map::new(), "", 10).unwrap();
        let c = parse_jwt(&t, "").unwrap();
        assert_eq!(c.len(), 1);
        assert!(c.contains_key("exp"));

        let mut payload = Map::new();
        payload.insert("name".into(), json!("test"));
        let t = create_jwt(payload, "test", 10).unwrap();
        let c = parse_jwt(&t, "test").unwrap();
        assert_eq!(c["name"], "test");

        // header is exactly {"alg":"HS256","typ":"JWT"}
        assert!(t.starts_with("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."));

        // byte-identical to what Go's jwt.NewWithClaims(...).SignedString produces
        let mut payload = Map::new();
        payload.insert("name".into(), json!("test"));
        payload.insert("exp".into(), json!(1516239022));
        let t = create_jwt(payload, "test", 100).unwrap();
        let input =
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjE1MTYyMzkwMjIsIm5hbWUiOiJ0ZXN0In0";
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(hmac_sha256(b"test", input.as_bytes()));
        assert_eq!(t, format!("{input}.{sig}"));
    }

    #[test]
    fn jwt_error_texts() {
        let enc = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let tok = |h: &str, c: &str| format!("{}.{}.sig", enc(h), enc(c));
        assert_eq!(
            parse_jwt(&tok(r#"{"alg":"HS512"}"#, "{}"), "x").unwrap_err(),
            "token signature is invalid: signing method HS512 is invalid"
        );
        assert_eq!(
            parse_jwt(&tok(r#"{"alg":"foo"}"#, "{}"), "x").unwrap_err(),
            "token is unverifiable: signing method (alg) is unavailable"
        );
        assert_eq!(
            parse_jwt(&tok(r#"{"typ":"JWT"}"#, "{}"), "x").unwrap_err(),
            "token is unverifiable: signing method (alg) is unspecified"
        );
        assert_eq!(
            parse_unverified_jwt(&tok(r#"{"alg":"HS256"}"#, "[1]")).unwrap_err(),
            "token is malformed: could not JSON decode claim: json: cannot unmarshal array into Go value of type jwt.MapClaims"
        );
        assert_eq!(
            parse_unverified_jwt("a=.b.c").unwrap_err(),
            "token is malformed: could not base64 decode header: illegal base64 data at input byte 1"
        );
        assert_eq!(
            parse_unverified_jwt(&tok(r#"{"alg":"HS256"}"#, r#"{"exp":"soon"}"#)).unwrap_err(),
            "invalid type for claim: exp is invalid"
        );
        assert_eq!(
            parse_unverified_jwt(&tok(r#"{"alg":"HS256"}"#, r#"{"exp":1,"nbf":99999999999}"#))
                .unwrap_err(),
            "token is expired\ntoken is not valid yet"
        );
        assert_eq!(
            parse_unverified_jwt(&tok(r#"{"alg":"HS256"}"#, r#"{"iat":99999999999}"#)).unwrap_err(),
            "token used before issued"
        );
        // exp 0 is treated as absent
        assert!(parse_unverified_jwt(&tok(r#"{"alg":"HS256"}"#, r#"{"exp":0}"#)).is_ok());
    }

    #[test]
    fn encrypt_decrypt() {
        // tools/security/encrypt_test.go
        assert_eq!(
            encrypt("", "").unwrap_err(),
            "crypto/aes: invalid key size 0"
        );
        assert_eq!(
            encrypt("123", "test").unwrap_err(),
            "crypto/aes: invalid key size 4"
        );
        let key = "abcdabcdabcdabcdabcdabcdabcdabcd";
        let c = encrypt("123", key).unwrap();
        assert_eq!(decrypt(&c, key).unwrap(), "123");
        assert_ne!(encrypt("123", key).unwrap(), c);

        assert!(decrypt("", "").is_err());
        assert!(decrypt("123", "test").is_err());
        assert_eq!(
            decrypt("8kcEqilvvYKYcfnSr0aSC54gmnQCsB02SaB8ATlnA==", key).unwrap_err(),
            "illegal base64 data at input byte 41"
        );
        assert_eq!(
            decrypt("8kcEqilvv+YKYcfnSr0aSC54gmnQCsB02SaB8ATlnA==", key).unwrap(),
            "123"
        );
        assert_eq!(
            decrypt("AAAA", key).unwrap_err(),
            "runtime error: slice bounds out of range [:12] with capacity 3"
        );
        assert_eq!(
            decrypt(
                &encrypt("x", key).unwrap(),
                "bbcdabcdabcdabcdabcdabcdabcdabcd"
            )
            .unwrap_err(),
            "cipher: message authentication failed"
        );
        // AES-128/192 keys work like Go's aes.NewCipher
        for k in ["0123456789abcdef", "0123456789abcdef01234567"] {
            assert_eq!(decrypt(&encrypt("hi", k).unwrap(), k).unwrap(), "hi");
        }
        // binary plaintext is returned lossily as a string
        assert_eq!(
            decrypt_bytes(&encrypt([0xffu8, 0x41], key).unwrap(), key).unwrap(),
            vec![0xff, 0x41]
        );
        assert_eq!(
            decrypt(&encrypt([0xffu8, 0x41], key).unwrap(), key).unwrap(),
            "\u{FFFD}A"
        );
    }
}
