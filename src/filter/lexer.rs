//! Tokenizer for filter expressions, following the scanner of fexpr v0.6.0.
//!
//! Like fexpr, a parenthesized group is a single token holding its raw inner text (the parser
//! parses it recursively), and a function call is a single token holding its arguments.
//! After an error the lexer has consumed what fexpr would have, so scanning may continue.

use std::fmt;

use super::{FilterError, Join, Op};

/// Function calls may nest this deep, as in fexpr (`a(b(c(1)))` is the deepest accepted).
pub(crate) const MAX_FUNCTION_DEPTH: usize = 3;

/// A lexical token borrowing from the input.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token<'a> {
    Whitespace(&'a str),
    /// A `//` comment; the text is trimmed and excludes the newline.
    Comment(&'a str),
    Identifier(&'a str),
    Number(&'a str),
    /// Quoted text, unquoted and with the escaped quotes unescaped.
    Text(String),
    Sign(Op),
    Join(Join),
    /// The raw text between `(` and its matching `)`.
    Group(&'a str),
    /// A call; the arguments are identifiers, numbers, texts or functions.
    Function {
        name: &'a str,
        args: Vec<Token<'a>>,
    },
}

impl Token<'_> {
    /// The token's literal and fexpr type name, for error messages.
    pub(crate) fn describe(&self) -> (String, &'static str) {
        match self {
            Self::Whitespace(s) => (s.to_string(), "whitespace"),
            Self::Comment(s) => (s.to_string(), "comment"),
            Self::Identifier(s) => (s.to_string(), "identifier"),
            Self::Number(s) => (s.to_string(), "number"),
            Self::Text(s) => (s.clone(), "text"),
            Self::Sign(op) => (op.as_str().to_string(), "sign"),
            Self::Join(join) => (join.as_str().to_string(), "join"),
            Self::Group(s) => (s.to_string(), "group"),
            Self::Function { name, .. } => (name.to_string(), "function"),
        }
    }
}

/// Splits a filter into tokens.
pub(crate) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Self { src, pos: 0 }
    }

    /// The next token, or `None` at the end of the input.
    pub(crate) fn next_token(&mut self) -> Result<Option<Token<'a>>, FilterError> {
        let Some(c) = self.peek() else {
            return Ok(None);
        };
        let token = match c {
            c if is_whitespace(c) => Token::Whitespace(self.eat_while(is_whitespace)),
            '(' => Token::Group(self.scan_group()?),
            c if is_ident_start(c) => self.scan_identifier(MAX_FUNCTION_DEPTH)?,
            c if is_number_start(c) => Token::Number(self.scan_number()?),
            '\'' | '"' => Token::Text(unescape(self.scan_text()?, c)),
            c if is_sign_char(c) => {
                let lit = self.eat_while(is_sign_char);
                Token::Sign(
                    Op::from_literal(lit).ok_or_else(|| FilterError::InvalidSign(lit.into()))?,
                )
            }
            '&' | '|' => {
                let lit = self.eat_while(|c| matches!(c, '&' | '|'));
                Token::Join(
                    Join::from_literal(lit).ok_or_else(|| FilterError::InvalidJoin(lit.into()))?,
                )
            }
            '/' => Token::Comment(self.scan_comment()?),
            _ => {
                self.bump();
                return Err(FilterError::UnexpectedChar(c));
            }
        };
        Ok(Some(token))
    }

    fn peek(&self) -> Option<char> {
        self.src
            .get(self.pos..)
            .and_then(|rest| rest.chars().next())
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    /// The input from `start` to the current position.
    fn since(&self, start: usize) -> &'a str {
        self.src.get(start..self.pos).unwrap_or_default()
    }

    fn eat_while(&mut self, pred: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&pred) {
            self.bump();
        }
        self.since(start)
    }

    /// An identifier, or a function call when it is directly followed by `(`.
    fn scan_identifier(&mut self, depth: usize) -> Result<Token<'a>, FilterError> {
        let start = self.pos;
        self.bump(); // the start character may be `@` or `#`, which cannot follow
        self.eat_while(is_ident_char);
        let lit = self.since(start);
        if self.peek() != Some('(') {
            return if is_valid_identifier(lit) {
                Ok(Token::Identifier(lit))
            } else {
                Err(FilterError::InvalidIdentifier(lit.into()))
            };
        }
        self.bump();
        if depth == 0 {
            return Err(FilterError::FunctionTooDeep {
                max: MAX_FUNCTION_DEPTH,
            });
        }
        if !is_valid_identifier(lit) {
            return Err(FilterError::InvalidFunctionName(lit.into()));
        }
        let args = self.scan_function_args(lit, depth)?;
        Ok(Token::Function { name: lit, args })
    }

    /// Arguments up to and including the closing `)`; the `(` is already consumed.
    /// Whitespace and comments are skipped and one trailing comma is allowed.
    fn scan_function_args(
        &mut self,
        name: &str,
        depth: usize,
    ) -> Result<Vec<Token<'a>>, FilterError> {
        let mut args = Vec::new();
        let mut expect_comma = false;
        loop {
            let Some(c) = self.peek() else {
                return Err(FilterError::UnclosedFunction(name.into()));
            };
            if c == ')' {
                self.bump();
                return Ok(args);
            }
            if is_whitespace(c) {
                self.eat_while(is_whitespace);
                continue;
            }
            if c == '/' {
                self.scan_comment()?;
                continue;
            }
            let is_comma = c == ',';
            if is_comma != expect_comma {
                self.bump();
                return Err(if is_comma {
                    FilterError::UnexpectedComma(name.into())
                } else {
                    FilterError::ExpectedComma(name.into())
                });
            }
            expect_comma = !is_comma;
            if is_comma {
                self.bump();
                continue;
            }
            let arg = if is_ident_start(c) {
                self.scan_identifier(depth.saturating_sub(1))
            } else if is_number_start(c) {
                self.scan_number().map(Token::Number)
            } else if c == '\'' || c == '"' {
                self.scan_text().map(|raw| Token::Text(unescape(raw, c)))
            } else {
                self.bump();
                return Err(FilterError::UnsupportedArgument {
                    function: name.into(),
                    ch: c,
                });
            };
            args.push(arg.map_err(|source| FilterError::InvalidFunctionArgument {
                function: name.into(),
                source: Box::new(source),
            })?);
        }
    }

    /// Digits with an optional leading `-` and at most one `.`, not first or last.
    fn scan_number(&mut self) -> Result<&'a str, FilterError> {
        let start = self.pos;
        let mut had_dot = false;
        while let Some(c) = self.peek() {
            let accepted =
                c.is_ascii_digit() || (c == '-' && self.pos == start) || (c == '.' && !had_dot);
            if !accepted {
                break;
            }
            had_dot |= c == '.';
            self.bump();
        }
        let lit = self.since(start);
        if lit == "-" || lit.ends_with('.') {
            return Err(FilterError::InvalidNumber(lit.into()));
        }
        Ok(lit)
    }

    /// Quoted text; returns the raw inner text (escapes untouched). A quote preceded by a
    /// backslash never closes the text, so text cannot end with a backslash.
    fn scan_text(&mut self) -> Result<&'a str, FilterError> {
        let start = self.pos;
        let quote = self.bump();
        let mut prev = None;
        while let Some(c) = self.bump() {
            if Some(c) == quote && prev != Some('\\') {
                let end = self.pos - c.len_utf8();
                return Ok(self.src.get(start + 1..end).unwrap_or_default());
            }
            prev = Some(c);
        }
        Err(FilterError::UnterminatedText(self.since(start).into()))
    }

    /// A `//` comment up to the end of the line; consumes the newline.
    fn scan_comment(&mut self) -> Result<&'a str, FilterError> {
        // Like fexpr, both characters are consumed even when the second is not a `/`.
        let (first, second) = (self.bump(), self.bump());
        if first != Some('/') || second != Some('/') {
            return Err(FilterError::InvalidComment);
        }
        let text = self.eat_while(|c| c != '\n');
        self.bump();
        Ok(text.trim())
    }

    /// The raw text inside a group. Only parentheses and quoted texts are recognized here:
    /// a `(`, `)` or quote inside a `//` comment still counts, as in fexpr.
    fn scan_group(&mut self) -> Result<&'a str, FilterError> {
        self.bump();
        let start = self.pos;
        let mut open = 1usize;
        loop {
            let end = self.pos;
            match self.peek() {
                None => return Err(FilterError::UnclosedGroup { missing: open }),
                Some('\'' | '"') => {
                    self.scan_text()?;
                }
                Some(c) => {
                    self.bump();
                    if c == '(' {
                        open += 1;
                    } else if c == ')' {
                        open -= 1;
                        if open == 0 {
                            return Ok(self.src.get(start..end).unwrap_or_default());
                        }
                    }
                }
            }
        }
    }
}

impl FilterError {
    /// Messages of the errors raised while tokenizing.
    pub(super) fn fmt_lexical(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnexpectedChar(c) => write!(f, "unexpected character {c:?}"),
            Self::InvalidIdentifier(s) => write!(f, "invalid identifier {s:?}"),
            Self::InvalidNumber(s) => write!(f, "invalid number {s:?}"),
            Self::UnterminatedText(s) => write!(f, "invalid quoted text {s:?}"),
            Self::InvalidSign(s) => write!(f, "invalid sign operator {s:?}"),
            Self::InvalidJoin(s) => write!(f, "invalid join operator {s:?}"),
            Self::InvalidComment => f.write_str("invalid comment"),
            Self::UnclosedGroup { missing } => {
                let what = "invalid formatted group";
                write!(f, "{what} - missing {missing} closing bracket(s)")
            }
            Self::InvalidFunctionName(s) => write!(f, "invalid function name {s:?}"),
            Self::FunctionTooDeep { max } => {
                write!(f, "max nested function arguments reached (max: {max})")
            }
            Self::UnclosedFunction(s) => {
                write!(f, "invalid or incomplete function {s:?} (expected ')')")
            }
            Self::ExpectedComma(s) => {
                write!(
                    f,
                    "expected comma after the last argument in function {s:?}"
                )
            }
            Self::UnexpectedComma(s) => write!(f, "unexpected comma in function {s:?}"),
            Self::UnsupportedArgument { function, ch } => {
                write!(
                    f,
                    "unsupported argument character {ch:?} in function {function:?}"
                )
            }
            Self::InvalidFunctionArgument { function, source } => {
                write!(f, "invalid argument in function {function:?}: {source}")
            }
            _ => Ok(()),
        }
    }
}

/// Removes the backslash of escaped `quote` characters; other backslashes stay.
fn unescape(raw: &str, quote: char) -> String {
    let escaped = if quote == '"' { "\\\"" } else { "\\'" };
    raw.replace(escaped, if quote == '"' { "\"" } else { "'" })
}

/// Only space, tab and newline, as in fexpr (a `\r` is an unexpected character).
fn is_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n')
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || matches!(c, '@' | '_' | '#')
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':')
}

fn is_number_start(c: char) -> bool {
    c == '-' || c.is_ascii_digit()
}

fn is_sign_char(c: char) -> bool {
    matches!(c, '=' | '?' | '!' | '>' | '<' | '~')
}

/// fexpr's check on a scanned identifier: it must not end with `.` or `:` and must not be
/// a lone `@`, `_` or `#`.
fn is_valid_identifier(lit: &str) -> bool {
    !lit.is_empty() && !lit.ends_with(['.', ':']) && !matches!(lit, "@" | "_" | "#")
}

/// Whether `s` is exactly one identifier token (used for sort fields).
pub(crate) fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(is_ident_start) && chars.all(is_ident_char) && is_valid_identifier(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Prints a token like fexpr's `fmt.Sprintf("%v", token)`.
    fn go(token: &Token) -> String {
        if let Token::Function { name, args } = token {
            let args: Vec<String> = args.iter().map(go).collect();
            return format!("{{[{}] function {name}}}", args.join(" "));
        }
        let (lit, kind) = token.describe();
        format!("{{<nil> {kind} {lit}}}")
    }

    /// Scans `input` the way fexpr's scanner tests do: one expectation per `Scan` call
    /// ("ERR" for an error), then the input must be exhausted.
    fn check(input: &str, expected: &[&str]) {
        let mut lexer = Lexer::new(input);
        for (i, want) in expected.iter().enumerate() {
            let got = match lexer.next_token() {
                Ok(Some(token)) => go(&token),
                Ok(None) => "EOF".into(),
                Err(_) => "ERR".into(),
            };
            assert_eq!(&got, want, "input {input:?}, token {i}");
        }
        assert_eq!(
            lexer.next_token(),
            Ok(None),
            "input {input:?} should be exhausted"
        );
    }

    const E: &str = "ERR";
    const AB: &str = "{[{<nil> identifier a} {<nil> identifier b}] function test}";

    /// fexpr's scanner table (signs are checked separately).
    #[rustfmt::skip]
    const FEXPR_SCAN: &[(&str, &[&str])] = &[
        ("   ", &["{<nil> whitespace    }"]),
        ("test 123", &["{<nil> identifier test}", "{<nil> whitespace  }", "{<nil> number 123}"]),
        ("test", &["{<nil> identifier test}"]), ("@", &[E]), ("test:", &[E]), ("test.", &[E]),
        ("@test.123:c", &["{<nil> identifier @test.123:c}"]),
        ("_test_a.123", &["{<nil> identifier _test_a.123}"]),
        ("#test.123:456", &["{<nil> identifier #test.123:456}"]),
        (".test.123", &[E, "{<nil> identifier test.123}"]),
        (":test.123", &[E, "{<nil> identifier test.123}"]),
        ("test#@", &["{<nil> identifier test}", E, E]),
        ("test'", &["{<nil> identifier test}", E]), ("test\"d", &["{<nil> identifier test}", E]),
        ("123", &["{<nil> number 123}"]), ("-123", &["{<nil> number -123}"]),
        ("-123.456", &["{<nil> number -123.456}"]), ("123.456", &["{<nil> number 123.456}"]),
        ("12.34.56", &["{<nil> number 12.34}", E, "{<nil> number 56}"]),
        (".123", &[E, "{<nil> number 123}"]),
        ("- 123", &[E, "{<nil> whitespace  }", "{<nil> number 123}"]),
        ("12-3", &["{<nil> number 12}", "{<nil> number -3}"]),
        ("123.abc", &[E, "{<nil> identifier abc}"]),
        (r#""""#, &["{<nil> text }"]), ("''", &["{<nil> text }"]), ("'test'", &["{<nil> text test}"]),
        (r"'te\'st'", &["{<nil> text te'st}"]), (r#""te\"st""#, &[r#"{<nil> text te"st}"#]),
        (r#""tes@#,;!@#%^'\"t""#, &[r#"{<nil> text tes@#,;!@#%^'"t}"#]),
        (r#"'tes@#,;!@#%^\'"t'"#, &[r#"{<nil> text tes@#,;!@#%^'"t}"#]),
        ("\"test", &[E]), ("'test", &[E]), ("'АБЦ", &[E]),
        ("&&||", &[E]), ("&& ||", &["{<nil> join &&}", "{<nil> whitespace  }", "{<nil> join ||}"]),
        ("'||test&&'&&123", &["{<nil> text ||test&&}", "{<nil> join &&}", "{<nil> number 123}"]),
        ("=!=", &[E]),
        ("/ test", &[E, "{<nil> identifier test}"]), ("/ / test", &[E, E, "{<nil> identifier test}"]),
        ("//", &["{<nil> comment }"]), ("//test", &["{<nil> comment test}"]),
        ("// test", &["{<nil> comment test}"]), ("///test", &["{<nil> comment /test}"]),
        ("//   test1 //test2  ", &["{<nil> comment test1 //test2}"]),
        ("test()", &["{[] function test}"]), ("test(a, b", &[E]),
        ("@test:abc()", &["{[] function @test:abc}"]),
        ("test(  a  )", &["{[{<nil> identifier a}] function test}"]),
        ("test(a, b)", &[AB]), ("test(a, b,  )", &[AB]), ("test(a,,)", &[E, E]),
        ("test(a,,,b)", &[E, E, "{<nil> identifier b}", E]),
        (r#"test(   @test.a.b:test  , 123, "ab)c", 'd,ce', false)"#, &["{[{<nil> identifier @test.a.b:test} {<nil> number 123} {<nil> text ab)c} {<nil> text d,ce} {<nil> identifier false}] function test}"]),
        ("test(a //test)", &[E]), ("test(a //test\n)", &["{[{<nil> identifier a}] function test}"]),
        ("test(a, //test\n, b)", &[E, "{<nil> whitespace  }", "{<nil> identifier b}", E]),
        ("test(a, //test\n b)", &[AB]),
        ("test(a, test(test(b), c), d)", &["{[{<nil> identifier a} {[{[{<nil> identifier b}] function test} {<nil> identifier c}] function test} {<nil> identifier d}] function test}"]),
        ("a(b(c(1)))", &["{[{[{[{<nil> number 1}] function c}] function b}] function a}"]),
        ("a(b(c(d(1))))", &[E, "{<nil> number 1}", E, E, E, E]),
        ("a)", &["{<nil> identifier a}", E]), ("(a b c", &[E]), ("(a b c)", &["{<nil> group a b c}"]),
        ("((a b c))", &["{<nil> group (a b c)}"]), ("((a )b c))", &["{<nil> group (a )b c}", E]),
        (r#"("ab)("c)"#, &[r#"{<nil> group "ab)("c}"#]), (r#"("ab)(c)"#, &[E]),
        ("( func(1, 2, 3, func(4)) a b c )", &["{<nil> group  func(1, 2, 3, func(4)) a b c }"]),
    ];

    /// Our own cases: fexpr quirks we keep, and non-ASCII input.
    #[rustfmt::skip]
    const QUIRKS: &[(&str, &[&str])] = &[
        // A backslash before the closing quote escapes it, so the text continues.
        (r"'a\\'", &[E]), (r"'a\\' b'", &[r"{<nil> text a\' b}"]),
        // Only the matching quote is unescaped.
        (r#""te\'st""#, &[r"{<nil> text te\'st}"]),
        ("\r", &[E]), ("\0", &[E]), ("é", &[E]), ("f(é)", &[E, E]), ("a.(", &[E]), ("?", &[E]),
        ("'日本 🙂'", &["{<nil> text 日本 🙂}"]),
        ("// ünïcode\na", &["{<nil> comment ünïcode}", "{<nil> identifier a}"]),
        ("-.5", &["{<nil> number -.5}"]), ("--1", &[E, "{<nil> number -1}"]),
    ];

    #[test]
    fn fexpr_scanner_table() {
        for (input, expected) in FEXPR_SCAN.iter().chain(QUIRKS) {
            check(input, expected);
        }
    }

    #[test]
    fn fexpr_scanner_signs() {
        let all = "= != ~ !~ > >= < <= ?= ?!= ?~ ?!~ ?> ?>= ?< ?<=";
        let mut want = Vec::new();
        for (i, op) in all.split(' ').enumerate() {
            if i > 0 {
                want.push("{<nil> whitespace  }".to_string());
            }
            want.push(format!("{{<nil> sign {op}}}"));
        }
        check(all, &want.iter().map(String::as_str).collect::<Vec<_>>());
    }

    #[test]
    fn identifier_check_for_sort_fields() {
        for ok in [
            "a",
            "@random",
            "@rowid",
            "rel.field:lower",
            "_a",
            "a1",
            "#x",
        ] {
            assert!(is_identifier(ok), "{ok}");
        }
        for bad in [
            "", "@", "_", "1a", "a.", "a:", "a-b", "a b", "a(", "é", "a@",
        ] {
            assert!(!is_identifier(bad), "{bad}");
        }
    }
}
