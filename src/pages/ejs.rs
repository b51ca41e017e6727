//! EJS compiler: turns the text of an EJS template into the source text of ONE JavaScript
//! function expression, which a QuickJS worker compiles once (NON-strict, because the body
//! uses `with`) and calls per render.
//!
//! PocketPages renders templates with `pocketbase-ejs`, a fork of ejs 3.1.10, with
//! `compileDebug: true`, `_with: true`, `strict: false`, `rmWhitespace: false` and the default
//! `<` `%` `>` delimiters. This module reproduces ejs 3.1.10's compile pipeline step by step
//! (`Template.prototype.generateSource`, `parseTemplateText`, `scanLine`, `_addOutput`,
//! `stripSemi` and the `compileDebug` wrapper of `compile` in `lib/ejs.js`), preceded by the
//! `<script server>` rewrite that `pocketpages-plugin-ejs` applies to every template:
//!
//! 1. every match of `/<script\s+server>([\s\S]*?)<\/script>/g` becomes `<% $1 %>`;
//! 2. spaces/tabs before every `<%_` and after every `_%>` are deleted (textually, anywhere);
//! 3. the text is split on `(<%%|%%>|<%=|<%-|<%_|<%#|<%|%>|-%>|_%>)` (leftmost match, the
//!    alternatives tried in that order);
//! 4. each opening tag must be followed, two pieces later, by `%>`, `-%>` or `_%>`, else
//!    compilation fails with `Could not find matching close tag for "<open tag>".`;
//! 5. each piece is scanned by the same state machine as ejs's `scanLine`, emitting
//!    `    ; __append("…")`, `    ; <code>`, `    ; __append(__escape(<expr>))`,
//!    `    ; __append(<expr>)` and, after every piece containing `\n`, `    ; __line = N`.
//!
//! # The generated function
//!
//! ```text
//! (function (locals, __escape, __rethrow) {
//! var __line = 1
//!   , __lines = "<original template text>"
//!   , __filename = "<filename>";
//! try {
//!   var __output = "";
//!   function __append(s) { if (s !== undefined && s !== null) __output += s }
//!   with (locals || {}) {
//!     ; __append("<h1>")
//!     ; __append(__escape( title ))
//!     ...
//!   }
//!   return __output;
//! } catch (e) {
//!   throw __rethrow(e, __lines, __filename, __line);
//! }
//! })
//! ```
//!
//! What the host must provide / know:
//! - `locals`: every property is a bare name in template code (ejs's `with (locals || {})`),
//!   including the host's `include`, `echo`, `request`, … Assignments to undeclared names that
//!   exist on `locals` write to `locals` (same as ejs). `include` is NOT a parameter here (in
//!   ejs it is); put it in `locals` and let templates write `<%- include('x') %>`.
//! - `__escape(v)` must behave like ejs's `utils.escapeXML`: `v == undefined` (undefined or
//!   null) → `''`, else JS `String(v)` with `& < > " '` → `&amp; &lt; &gt; &#34; &#39;`.
//! - `__rethrow(err, lines, filename, lineno)` decorates the error (ejs's `rethrow` builds
//!   `file:line\n<context>\n\n<message>`). It may throw the decorated error itself or return
//!   it: the generated code does `throw __rethrow(...)`. `filename` is `undefined` when the
//!   `filename` given to [`compile`] is empty (as ejs does).
//! - The function returns `__output` (a string) unless template code executes a top-level
//!   `return value;`, in which case that value is returned as is (PocketPages relies on this).
//! - `__output`, `__append`, `__line`, `__lines`, `__filename` are in scope for template code
//!   (as in ejs; PocketPages' `echo` helper calls `__append`).
//! - Line mapping for JS syntax errors reported by QuickJS (`eval_script:L:C`): take the `N`
//!   of the last `    ; __line = N` line *before* generated line `L` (1 if none). That is the
//!   template line where the offending tag starts — the same approximation ejs uses for
//!   runtime errors (an error on the 3rd line of a multi-line `<% %>` maps to its 1st line).
//!   The header is generated lines 1–8; template statements start on generated line 9.
//!
//! Deliberate differences from ejs (none changes rendered output):
//! - `__lines` is the ORIGINAL template text (ejs passes its rewritten text, i.e. after the
//!   `<script server>` rewrite and the `<%_`/`_%>` space slurping). Line numbers are the same.
//! - Newlines inside the `\s+` of a `<script\nserver>` opening tag are kept (moved into the
//!   code), so `__line` stays aligned with the original text; PocketPages' rewrite drops them.
//! - U+2028, U+2029 and NUL in template text are written as escapes inside the generated
//!   string literals (ejs writes them raw); the strings' values are identical.
//! - No trailing `//# sourceURL=` comment (give QuickJS the file name when evaluating).

use std::fmt;

/// A compile failure with the 1-based line of the template where it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct EjsError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for EjsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (line {})", self.message, self.line)
    }
}

impl std::error::Error for EjsError {}

/// Compiles `template` (file name `filename`, used in error text) to the source of a JS
/// function expression: `(function (locals, __escape, __rethrow) { ... return __output; })`.
pub fn compile(template: &str, filename: &str) -> Result<String, EjsError> {
    // pocketpages-plugin-ejs: `<script server>…</script>` → `<% … %>` before ejs sees it.
    let text = rewrite_script_server_blocks(template);
    // ejs generateSource: slurp spaces and tabs before `<%_` and after `_%>`.
    let text = slurp_underscore_whitespace(&text);
    let pieces = split_pieces(&text);
    let body = generate_body(&pieces)?;

    // ejs compile(): `sanitizedFilename = opts.filename ? JSON.stringify(opts.filename) : 'undefined'`.
    let filename_literal = if filename.is_empty() {
        "undefined".to_string()
    } else {
        js_string_literal(filename)
    };

    let mut src = String::with_capacity(body.len() + template.len() + 512);
    src.push_str("(function (locals, __escape, __rethrow) {\n");
    // ejs compileDebug prologue.
    src.push_str("var __line = 1\n");
    src.push_str("  , __lines = ");
    src.push_str(&js_string_literal(template));
    src.push('\n');
    src.push_str("  , __filename = ");
    src.push_str(&filename_literal);
    src.push_str(";\n");
    src.push_str("try {\n");
    // ejs compile() `prepended`.
    src.push_str("  var __output = \"\";\n");
    src.push_str("  function __append(s) { if (s !== undefined && s !== null) __output += s }\n");
    src.push_str("  with (locals || {}) {\n");
    src.push_str(&body);
    // ejs compile() `appended`.
    src.push_str("  }\n");
    src.push_str("  return __output;\n");
    src.push_str("} catch (e) {\n");
    // ejs: `rethrow(e, __lines, __filename, __line, escapeFn);` — ejs's rethrow always throws;
    // `throw` here makes a host decorator that returns the error work too.
    src.push_str("  throw __rethrow(e, __lines, __filename, __line);\n");
    src.push_str("}\n");
    src.push_str("})");
    Ok(src)
}

// ---------------------------------------------------------------------------------------------
// Pre-passes
// ---------------------------------------------------------------------------------------------

/// JS regex `\s`: WhiteSpace + LineTerminator code points (not Rust's `char::is_whitespace`,
/// which differs on U+0085 and U+FEFF).
fn is_js_space(c: char) -> bool {
    const SINGLES: [char; 14] = [
        '\t', '\n', '\u{0B}', '\u{0C}', '\r', ' ', '\u{A0}', '\u{1680}', '\u{2028}', '\u{2029}',
        '\u{202F}', '\u{205F}', '\u{3000}', '\u{FEFF}',
    ];
    matches!(c, '\u{2000}'..='\u{200A}') || SINGLES.contains(&c)
}

/// `template.replaceAll(/<script\s+server>([\s\S]*?)<\/script>/g, '<% $1 %>')`
/// (pocketpages-plugin-ejs `ejs.compile` override). Case-sensitive; `<script server >` and
/// `<script server="">` do not match. The body is inserted verbatim (so a `%>` inside it ends
/// the tag early, exactly as in PocketPages). Deliberate difference: `\n`s inside the `\s+`
/// are kept, right after `<% `, so line numbers stay aligned with the original text.
fn rewrite_script_server_blocks(src: &str) -> String {
    const OPEN: &str = "<script";
    const SERVER: &str = "server>";
    const CLOSE: &str = "</script>";
    let mut out = String::with_capacity(src.len());
    let mut copied_up_to = 0; // bytes of `src` already copied to `out`
    let mut search_from = 0;
    while let Some(rel) = src[search_from..].find(OPEN) {
        let start = search_from + rel;
        let ws_start = start + OPEN.len();
        let ws_len: usize = src[ws_start..]
            .chars()
            .take_while(|&c| is_js_space(c))
            .map(char::len_utf8)
            .sum();
        let after_ws = ws_start + ws_len;
        if ws_len == 0 || !src[after_ws..].starts_with(SERVER) {
            search_from = ws_start;
            continue;
        }
        let body_start = after_ws + SERVER.len();
        let Some(body_len) = src[body_start..].find(CLOSE) else {
            // No `</script>` after this point: no later position can match either.
            break;
        };
        let body_end = body_start + body_len;
        out.push_str(&src[copied_up_to..start]);
        out.push_str("<% ");
        for _ in src[ws_start..after_ws].matches('\n') {
            out.push('\n');
        }
        out.push_str(&src[body_start..body_end]);
        out.push_str(" %>");
        copied_up_to = body_end + CLOSE.len();
        search_from = copied_up_to;
    }
    out.push_str(&src[copied_up_to..]);
    out
}

/// ejs generateSource:
/// `text.replace(/[ \t]*<%_/gm, '<%_').replace(/_%>[ \t]*/gm, '_%>')`.
/// Applies anywhere in the text (inside code and literal text too), not only at line starts.
fn slurp_underscore_whitespace(text: &str) -> String {
    // Pass 1: drop the run of spaces/tabs right before each `<%_`.
    let mut pass1 = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("<%_") {
        pass1.push_str(&rest[..pos]);
        let trimmed_len = pass1.trim_end_matches([' ', '\t']).len();
        pass1.truncate(trimmed_len);
        pass1.push_str("<%_");
        rest = &rest[pos + 3..];
    }
    pass1.push_str(rest);

    // Pass 2: drop the run of spaces/tabs right after each `_%>`.
    let mut out = String::with_capacity(pass1.len());
    let mut rest = pass1.as_str();
    while let Some(pos) = rest.find("_%>") {
        out.push_str(&rest[..pos + 3]);
        rest = rest[pos + 3..].trim_start_matches([' ', '\t']);
    }
    out.push_str(rest);
    out
}

// ---------------------------------------------------------------------------------------------
// Tokenizer (ejs parseTemplateText with _REGEX_STRING)
// ---------------------------------------------------------------------------------------------

/// The ten delimiters of ejs's `_REGEX_STRING` `(<%%|%%>|<%=|<%-|<%_|<%#|<%|%>|-%>|_%>)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delim {
    /// `<%%`
    OpenLiteral,
    /// `%%>`
    CloseLiteral,
    /// `<%=`
    OpenEscaped,
    /// `<%-`
    OpenRaw,
    /// `<%_`
    OpenSlurp,
    /// `<%#`
    OpenComment,
    /// `<%`
    Open,
    /// `%>`
    Close,
    /// `-%>`
    CloseNewline,
    /// `_%>`
    CloseSlurp,
}

impl Delim {
    fn as_str(self) -> &'static str {
        match self {
            Delim::OpenLiteral => "<%%",
            Delim::CloseLiteral => "%%>",
            Delim::OpenEscaped => "<%=",
            Delim::OpenRaw => "<%-",
            Delim::OpenSlurp => "<%_",
            Delim::OpenComment => "<%#",
            Delim::Open => "<%",
            Delim::Close => "%>",
            Delim::CloseNewline => "-%>",
            Delim::CloseSlurp => "_%>",
        }
    }

    fn is_close(self) -> bool {
        matches!(self, Delim::Close | Delim::CloseNewline | Delim::CloseSlurp)
    }

    /// ejs: `line.indexOf(o + d) === 0 && line.indexOf(o + d + d) !== 0` — a tag that needs
    /// a closing tag (everything starting with `<%` except the literal `<%%`).
    fn needs_close(self) -> bool {
        matches!(
            self,
            Delim::OpenEscaped
                | Delim::OpenRaw
                | Delim::OpenSlurp
                | Delim::OpenComment
                | Delim::Open
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Delim(Delim),
}

/// The delimiter starting at byte `i`, if any, with the regex's alternative order (the
/// three-character forms win over `<%` / `%>` at the same position). All delimiters are
/// ASCII, so byte positions never split a UTF-8 sequence.
fn delim_at(bytes: &[u8], i: usize) -> Option<Delim> {
    let b = |k: usize| bytes.get(i + k).copied();
    match b(0)? {
        b'<' if b(1) == Some(b'%') => Some(match b(2) {
            Some(b'%') => Delim::OpenLiteral,
            Some(b'=') => Delim::OpenEscaped,
            Some(b'-') => Delim::OpenRaw,
            Some(b'_') => Delim::OpenSlurp,
            Some(b'#') => Delim::OpenComment,
            _ => Delim::Open,
        }),
        b'%' if b(1) == Some(b'%') && b(2) == Some(b'>') => Some(Delim::CloseLiteral),
        b'%' if b(1) == Some(b'>') => Some(Delim::Close),
        b'-' if b(1) == Some(b'%') && b(2) == Some(b'>') => Some(Delim::CloseNewline),
        b'_' if b(1) == Some(b'%') && b(2) == Some(b'>') => Some(Delim::CloseSlurp),
        _ => None,
    }
}

/// ejs parseTemplateText: text between matches and the matches themselves, in order.
/// A text piece is never empty and never starts with a delimiter.
fn split_pieces(text: &str) -> Vec<Piece<'_>> {
    let bytes = text.as_bytes();
    let mut pieces = Vec::new();
    let mut text_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(d) = delim_at(bytes, i) {
            if i > text_start {
                pieces.push(Piece::Text(&text[text_start..i]));
            }
            pieces.push(Piece::Delim(d));
            i += d.as_str().len();
            text_start = i;
        } else {
            i += 1;
        }
    }
    if text_start < bytes.len() {
        pieces.push(Piece::Text(&text[text_start..]));
    }
    pieces
}

// ---------------------------------------------------------------------------------------------
// Code generation (ejs generateSource + scanLine + _addOutput)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Eval,
    Escaped,
    Raw,
    Comment,
    Literal,
}

struct Generator {
    source: String,
    mode: Option<Mode>,
    /// Set by `-%>` / `_%>`: the next text output loses one leading line break.
    truncate: bool,
    current_line: usize,
}

fn generate_body(pieces: &[Piece<'_>]) -> Result<String, EjsError> {
    let mut g = Generator {
        source: String::new(),
        mode: None,
        truncate: false,
        current_line: 1,
    };
    for (index, piece) in pieces.iter().enumerate() {
        if let Piece::Delim(d) = piece {
            // ejs checks `matches[index + 2]` only: "<%" CODE "%>". An opening tag directly
            // followed by a closing one (`<%=%>`) therefore fails unless yet another closing
            // tag follows, and a comment cannot contain `<%`. The error names the opening tag.
            if d.needs_close() {
                let closed = matches!(pieces.get(index + 2), Some(Piece::Delim(c)) if c.is_close());
                if !closed {
                    return Err(EjsError {
                        line: g.current_line,
                        message: format!(
                            "Could not find matching close tag for \"{}\".",
                            d.as_str()
                        ),
                    });
                }
            }
        }
        g.scan_piece(*piece);
    }
    Ok(g.source)
}

impl Generator {
    /// ejs scanLine.
    fn scan_piece(&mut self, piece: Piece<'_>) {
        let newline_count = match piece {
            Piece::Text(t) => t.matches('\n').count(),
            Piece::Delim(_) => 0,
        };
        match piece {
            Piece::Delim(Delim::Open | Delim::OpenSlurp) => self.mode = Some(Mode::Eval),
            Piece::Delim(Delim::OpenEscaped) => self.mode = Some(Mode::Escaped),
            Piece::Delim(Delim::OpenRaw) => self.mode = Some(Mode::Raw),
            Piece::Delim(Delim::OpenComment) => self.mode = Some(Mode::Comment),
            // `<%%` / `%%>` append `<%` / `%>` directly (not through _addOutput, so a pending
            // `-%>` truncation is neither applied nor cleared) and enter literal mode.
            Piece::Delim(Delim::OpenLiteral) => {
                self.mode = Some(Mode::Literal);
                self.source.push_str("    ; __append(\"<%\")\n");
            }
            Piece::Delim(Delim::CloseLiteral) => {
                self.mode = Some(Mode::Literal);
                self.source.push_str("    ; __append(\"%>\")\n");
            }
            Piece::Delim(d @ (Delim::Close | Delim::CloseNewline | Delim::CloseSlurp)) => {
                // In literal mode (after `<%%` or `%%>`) the closing tag is output verbatim,
                // and `-%>` / `_%>` still arm the newline truncation.
                if self.mode == Some(Mode::Literal) {
                    self.add_output(d.as_str());
                }
                self.mode = None;
                self.truncate = matches!(d, Delim::CloseNewline | Delim::CloseSlurp);
            }
            Piece::Text(line) => match self.mode {
                None | Some(Mode::Literal) => self.add_output(line),
                Some(Mode::Comment) => {}
                Some(mode @ (Mode::Eval | Mode::Escaped | Mode::Raw)) => {
                    // ejs: "If '//' is found without a line break, add a line break", so a
                    // trailing line comment does not swallow the generated `)` / next line.
                    let mut code = line.to_string();
                    let last_comment = line.rfind("//").map_or(-1, |p| p as isize);
                    let last_newline = line.rfind('\n').map_or(-1, |p| p as isize);
                    if last_comment > last_newline {
                        code.push('\n');
                    }
                    match mode {
                        Mode::Eval => {
                            self.source.push_str("    ; ");
                            self.source.push_str(&code);
                            self.source.push('\n');
                        }
                        Mode::Escaped => {
                            self.source.push_str("    ; __append(__escape(");
                            self.source.push_str(&strip_semi(&code));
                            self.source.push_str("))\n");
                        }
                        _ => {
                            self.source.push_str("    ; __append(");
                            self.source.push_str(&strip_semi(&code));
                            self.source.push_str(")\n");
                        }
                    }
                }
            },
        }
        // ejs compileDebug: after every piece containing newlines, record the new line.
        if newline_count > 0 {
            self.current_line += newline_count;
            self.source.push_str("    ; __line = ");
            self.source.push_str(&self.current_line.to_string());
            self.source.push('\n');
        }
    }

    /// ejs _addOutput: template text → `__append("…")`.
    fn add_output(&mut self, line: &str) {
        let mut line = line;
        if self.truncate {
            // Only the single line break right after `-%>` / `_%>` (\r\n, \r or \n).
            line = line
                .strip_prefix("\r\n")
                .or_else(|| line.strip_prefix('\r'))
                .or_else(|| line.strip_prefix('\n'))
                .unwrap_or(line);
            self.truncate = false;
        }
        if line.is_empty() {
            return;
        }
        self.source.push_str("    ; __append(\"");
        for c in line.chars() {
            match c {
                '\\' => self.source.push_str("\\\\"),
                '\n' => self.source.push_str("\\n"),
                '\r' => self.source.push_str("\\r"),
                '"' => self.source.push_str("\\\""),
                // Not escaped by ejs; escaped here so the literal is valid in every engine
                // and survives C-string handling. Same string value.
                '\u{2028}' => self.source.push_str("\\u2028"),
                '\u{2029}' => self.source.push_str("\\u2029"),
                '\0' => self.source.push_str("\\u0000"),
                c => self.source.push(c),
            }
        }
        self.source.push_str("\")\n");
    }
}

/// ejs stripSemi: `str.replace(/;(\s*$)/, '$1')` — drop a `;` that is followed only by
/// whitespace up to the end, keeping that whitespace.
fn strip_semi(code: &str) -> std::borrow::Cow<'_, str> {
    let trimmed = code.trim_end_matches(is_js_space);
    match trimmed.strip_suffix(';') {
        Some(before) => {
            let mut s = String::with_capacity(code.len());
            s.push_str(before);
            s.push_str(&code[trimmed.len()..]);
            std::borrow::Cow::Owned(s)
        }
        None => std::borrow::Cow::Borrowed(code),
    }
}

/// A double-quoted JS string literal with the same escapes as `JSON.stringify`, plus
/// U+2028/U+2029 (line terminators in pre-ES2019 string literals).
fn js_string_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0C}' => out.push_str("\\f"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    /// The statements emitted for the template body (between `with (…) {` and its `}`).
    fn body(template: &str) -> String {
        let src = compile(template, "t.ejs").expect("compiles");
        let start = src.find("  with (locals || {}) {\n").expect("with") + 24;
        let end = src.rfind("  }\n  return __output;").expect("end");
        src[start..end].to_string()
    }

    fn err(template: &str) -> EjsError {
        compile(template, "t.ejs").expect_err("should fail")
    }

    #[test]
    fn whole_function_shape() {
        let src = compile("Hi <%= name %>!\n", "pages/index.ejs").unwrap();
        let expected = concat!(
            "(function (locals, __escape, __rethrow) {\n",
            "var __line = 1\n",
            "  , __lines = \"Hi <%= name %>!\\n\"\n",
            "  , __filename = \"pages/index.ejs\";\n",
            "try {\n",
            "  var __output = \"\";\n",
            "  function __append(s) { if (s !== undefined && s !== null) __output += s }\n",
            "  with (locals || {}) {\n",
            "    ; __append(\"Hi \")\n",
            "    ; __append(__escape( name ))\n",
            "    ; __append(\"!\\n\")\n",
            "    ; __line = 2\n",
            "  }\n",
            "  return __output;\n",
            "} catch (e) {\n",
            "  throw __rethrow(e, __lines, __filename, __line);\n",
            "}\n",
            "})",
        );
        assert_eq!(src, expected);
    }

    #[test]
    fn empty_filename_is_undefined() {
        let src = compile("x", "").unwrap();
        assert!(src.contains("  , __filename = undefined;\n"));
    }

    #[test]
    fn empty_template() {
        assert_eq!(body(""), "");
    }

    #[test]
    fn escaped_and_raw_strip_one_trailing_semicolon() {
        assert_eq!(body("<%= a; %>"), "    ; __append(__escape( a ))\n");
        assert_eq!(body("<%- a;\t%>"), "    ; __append( a\t)\n");
        assert_eq!(body("<%- a;; %>"), "    ; __append( a; )\n");
        assert_eq!(
            body("<%= f(';') %>"),
            "    ; __append(__escape( f(';') ))\n"
        );
    }

    #[test]
    fn scriptlet_is_inlined() {
        assert_eq!(
            body("<% if (a) { %>y<% } %>"),
            "    ;  if (a) { \n    ; __append(\"y\")\n    ;  } \n"
        );
    }

    #[test]
    fn comment_outputs_nothing() {
        assert_eq!(
            body("a<%# hidden %>b"),
            "    ; __append(\"a\")\n    ; __append(\"b\")\n"
        );
        // A multi-line comment still advances the line counter.
        assert_eq!(
            body("<%# a\nb %>c"),
            "    ; __line = 2\n    ; __append(\"c\")\n"
        );
    }

    #[test]
    fn literal_delimiters() {
        assert_eq!(
            body("<%% x %%>"),
            "    ; __append(\"<%\")\n    ; __append(\" x \")\n    ; __append(\"%>\")\n"
        );
        // After `<%%` a plain `%>` is literal text too (ejs LITERAL mode).
        assert_eq!(
            body("<%% x %>"),
            "    ; __append(\"<%\")\n    ; __append(\" x \")\n    ; __append(\"%>\")\n"
        );
        // Outside literal mode a stray `%>` disappears.
        assert_eq!(
            body("a %> b"),
            "    ; __append(\"a \")\n    ; __append(\" b\")\n"
        );
    }

    #[test]
    fn newline_slurp() {
        assert_eq!(
            body("<% x -%>\nA\n"),
            "    ;  x \n    ; __append(\"A\\n\")\n    ; __line = 3\n"
        );
        // Only one line break (\r\n counts as one).
        assert_eq!(
            body("<% x -%>\r\n\r\nA"),
            "    ;  x \n    ; __append(\"\\r\\nA\")\n    ; __line = 3\n"
        );
    }

    #[test]
    fn underscore_slurp() {
        assert_eq!(
            body("a\n  \t<%_ x _%>  \nb"),
            concat!(
                "    ; __append(\"a\\n\")\n",
                "    ; __line = 2\n",
                "    ;  x \n",
                "    ; __append(\"b\")\n",
                "    ; __line = 3\n",
            )
        );
    }

    #[test]
    fn line_comment_in_tag_gets_a_newline() {
        assert_eq!(
            body("<%= a // c %>"),
            "    ; __append(__escape( a // c \n))\n"
        );
        assert_eq!(body("<% a // c %>"), "    ;  a // c \n\n");
        // `//` before the last newline: nothing added.
        assert_eq!(
            body("<% a // c\n b %>"),
            "    ;  a // c\n b \n    ; __line = 2\n"
        );
    }

    #[test]
    fn text_escaping_in_string_literals() {
        assert_eq!(
            body("\"q\" \\ \r\n\u{2028}\u{2029}\0é"),
            "    ; __append(\"\\\"q\\\" \\\\ \\r\\n\\u2028\\u2029\\u0000é\")\n    ; __line = 2\n"
        );
        let src = compile("\"\\\n\t\u{1b}\u{2028}", "a\"b").unwrap();
        assert!(src.contains("  , __lines = \"\\\"\\\\\\n\\t\\u001b\\u2028\"\n"));
        assert!(src.contains("  , __filename = \"a\\\"b\";\n"));
    }

    #[test]
    fn script_server_block_becomes_code() {
        assert_eq!(
            body("<script server>const x = \"S1\"</script><%= x %>"),
            "    ;  const x = \"S1\" \n    ; __append(__escape( x ))\n"
        );
        // `\s+` may be any whitespace, several blocks allowed.
        assert_eq!(
            body("<script \t server>a</script>-<script server>b</script>"),
            "    ;  a \n    ; __append(\"-\")\n    ;  b \n"
        );
        // Newlines in the opening tag are kept so later lines stay aligned.
        assert_eq!(
            body("<script\nserver>a</script>x"),
            "    ;  \na \n    ; __line = 2\n    ; __append(\"x\")\n"
        );
    }

    #[test]
    fn script_server_near_misses_stay_text() {
        for t in [
            "<script server >a</script>",
            "<script server=\"\">a</script>",
            "<scriptserver>a</script>",
            "<SCRIPT SERVER>a</SCRIPT>",
            "<script server>no close",
        ] {
            assert_eq!(
                body(t),
                format!("    ; __append({})\n", js_string_literal(t)),
                "{t}"
            );
        }
    }

    #[test]
    fn script_server_multiline_body_counts_lines() {
        let b = body("<script server>\nconst a = 1\nconst b = 2\n</script>\n<%= a + b %>");
        assert_eq!(
            b,
            concat!(
                "    ;  \nconst a = 1\nconst b = 2\n \n",
                "    ; __line = 4\n",
                "    ; __append(\"\\n\")\n",
                "    ; __line = 5\n",
                "    ; __append(__escape( a + b ))\n",
            )
        );
    }

    #[test]
    fn multiline_scriptlet_line_tracking() {
        let b = body("a\n<% if (x) {\n  y()\n} %>\nb<%= z %>");
        assert_eq!(
            b,
            concat!(
                "    ; __append(\"a\\n\")\n",
                "    ; __line = 2\n",
                "    ;  if (x) {\n  y()\n} \n",
                "    ; __line = 4\n",
                "    ; __append(\"\\nb\")\n",
                "    ; __line = 5\n",
                "    ; __append(__escape( z ))\n",
            )
        );
    }

    #[test]
    fn unclosed_tag_errors_name_the_open_tag_and_line() {
        let e = err("a\nb\n<% x");
        assert_eq!(
            e,
            EjsError {
                line: 3,
                message: "Could not find matching close tag for \"<%\".".into()
            }
        );
        assert_eq!(
            e.to_string(),
            "Could not find matching close tag for \"<%\". (line 3)"
        );
        assert_eq!(
            err("<%= x").message,
            "Could not find matching close tag for \"<%=\"."
        );
        assert_eq!(
            err("\n<%- x").message,
            "Could not find matching close tag for \"<%-\"."
        );
        assert_eq!(
            err("<%_ x").message,
            "Could not find matching close tag for \"<%_\"."
        );
        assert_eq!(
            err("<%# x").message,
            "Could not find matching close tag for \"<%#\"."
        );
        // Nested opening tag.
        assert_eq!(err("<% a <% b %>").line, 1);
        // Empty tag: ejs looks two pieces ahead.
        assert_eq!(err("x\n<%=%>").line, 2);
        assert_eq!(
            err("<%"),
            EjsError {
                line: 1,
                message: "Could not find matching close tag for \"<%\".".into()
            }
        );
    }

    #[test]
    fn runtime_error_line_is_tracked() {
        // The statement that throws (`boom()`) runs while `__line = 3`.
        let b = body("one\ntwo\n<%= boom() %>\n");
        let throw_at = b.find("boom()").unwrap();
        let last_line_update = b[..throw_at].rfind("__line = ").unwrap();
        assert_eq!(&b[last_line_update..last_line_update + 10], "__line = 3");
        let src = compile("x", "f.ejs").unwrap();
        assert!(src.contains("throw __rethrow(e, __lines, __filename, __line);"));
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        let long = "x".repeat(200_000);
        let long_tag = format!("<%= '{}' %>", "é".repeat(50_000));
        let inputs: Vec<String> = vec![
            String::new(),
            "<%".into(),
            "%>".into(),
            "-%>".into(),
            "_%>".into(),
            "<%%".into(),
            "%%>".into(),
            "<%_".into(),
            "<".into(),
            "%".into(),
            "<%=%>".into(),
            "<%-%>%>".into(),
            "<% <% %> %>".into(),
            "%> <% ".into(),
            "<%# <%= %>".into(),
            "héllo <%= 'wörld' %> 日本語 🎉 <%# ü %>".into(),
            "\u{2028}<%\u{2029}%>\u{feff}".into(),
            "<script server>".into(),
            "<script server></script>".into(),
            "<script\u{3000}server>x</script>".into(),
            "<script server><%</script>".into(),
            "_%>_%>  <%_<%_ _%>".into(),
            "\r\r\n\n<%_ _%>\r".into(),
            long.clone(),
            long_tag,
            format!("{long}\n<%"),
        ];
        for input in &inputs {
            let _ = compile(input, "odd.ejs");
        }
        assert!(compile("<%-%>%>", "x").is_ok());
        assert!(compile(&long, "x").is_ok());
        assert_eq!(err(&format!("{long}\n<%")).line, 2);
    }

    #[test]
    fn strip_semi_matches_ejs_regex() {
        assert_eq!(strip_semi(" a; "), " a ");
        assert_eq!(strip_semi(" a;\u{a0}\n"), " a\u{a0}\n");
        assert_eq!(strip_semi(" a ; b "), " a ; b ");
        assert_eq!(strip_semi(";"), "");
        assert_eq!(strip_semi(""), "");
    }

    #[test]
    fn tokenizer_alternative_order() {
        use Delim::*;
        let p = split_pieces("a<%%b%%>c<%=<%-<%_<%#<%%>-%>_%>-%%>");
        assert_eq!(
            p,
            vec![
                Piece::Text("a"),
                Piece::Delim(OpenLiteral),
                Piece::Text("b"),
                Piece::Delim(CloseLiteral),
                Piece::Text("c"),
                Piece::Delim(OpenEscaped),
                Piece::Delim(OpenRaw),
                Piece::Delim(OpenSlurp),
                Piece::Delim(OpenComment),
                Piece::Delim(OpenLiteral),
                Piece::Text(">"),
                Piece::Delim(CloseNewline),
                Piece::Delim(CloseSlurp),
                Piece::Text("-"),
                Piece::Delim(CloseLiteral),
            ]
        );
    }
}
