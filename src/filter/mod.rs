//! PocketBase filter and sort expression parsing.
//!
//! This module owns the lexer and parser for PocketBase's `filter` grammar (also used by API
//! rules) and the parser for the `sort` query parameter. It turns text into an AST and
//! enforces PocketBase's size limits; it knows nothing about collections or fields.
//! Resolving identifiers and generating SQL live elsewhere.
//!
//! The grammar follows `ganigeorgiev/fexpr` v0.6.0, the library PocketBase 0.40.x uses.
//! Like fexpr, a level is a flat list where each item carries the join that precedes it
//! (the first one `&&`); only parentheses create nesting. Evaluate it the way PocketBase
//! does: it emits each level as one flat SQL list (`(a OR b AND c)`), so SQL precedence
//! applies and `a || b && c` means `a || (b && c)`, not a left-to-right fold.
//!
//! Deliberate differences from fexpr, all of which only reject input fexpr accepts:
//! - a group in place of an operand or right after an expression (`a = (b = 1)`,
//!   `(a = 1) (b = 2)`) is an error; fexpr silently drops the pending `a =` or joins the
//!   group with the previous join;
//! - a NUL character is an unexpected character; fexpr treats it as end of input;
//! - groups may nest at most [`MAX_DEPTH`] levels (fexpr has no limit; PocketBase relies on
//!   the length limit).

mod error;
pub mod eval;
mod lexer;
mod parser;
mod resolve;
pub mod sql;

use std::fmt;

pub use error::{FilterError, Side};
pub use parser::{SortDirection, SortField, parse, parse_sort, parse_with_limits};

/// Maximum filter length in bytes (PocketBase `MaxFilterLength`, compared with Go's `len`).
pub const MAX_LENGTH: usize = 3500;
/// Maximum number of comparisons in one filter (PocketBase `DefaultFilterExprLimit`).
pub const MAX_EXPRESSIONS: usize = 200;
/// Maximum parenthesis nesting depth (our own choice; PocketBase only limits the length).
pub const MAX_DEPTH: usize = 32;
/// Maximum number of sort fields (PocketBase `DefaultSortExprLimit`).
pub const MAX_SORT_FIELDS: usize = 8;
/// Maximum length in bytes of one sort field name (PocketBase `MaxSortFieldLength`).
pub const MAX_SORT_FIELD_LENGTH: usize = 255;

/// Limits applied by [`parse_with_limits`]. The default is PocketBase's `filter` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum input length in bytes.
    pub max_length: usize,
    /// Maximum number of comparisons, counted across all groups.
    pub max_expressions: usize,
    /// Maximum group nesting depth; values above 256 are treated as 256 to bound recursion.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_length: MAX_LENGTH,
            max_expressions: MAX_EXPRESSIONS,
            max_depth: MAX_DEPTH,
        }
    }
}

/// How an item is joined to the items before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Join {
    /// `&&`
    And,
    /// `||`
    Or,
}

impl Join {
    pub(crate) fn from_literal(lit: &str) -> Option<Self> {
        match lit {
            "&&" => Some(Self::And),
            "||" => Some(Self::Or),
            _ => None,
        }
    }

    /// The operator as written in a filter.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::And => "&&",
            Self::Or => "||",
        }
    }
}

/// A comparison operator. The `Any*` variants are the `?`-prefixed "match any item" forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Op {
    Eq,
    Neq,
    Like,
    NotLike,
    Lt,
    Lte,
    Gt,
    Gte,
    AnyEq,
    AnyNeq,
    AnyLike,
    AnyNotLike,
    AnyLt,
    AnyLte,
    AnyGt,
    AnyGte,
}

impl Op {
    const ALL: [(Op, &'static str); 16] = [
        (Op::Eq, "="),
        (Op::Neq, "!="),
        (Op::Like, "~"),
        (Op::NotLike, "!~"),
        (Op::Lt, "<"),
        (Op::Lte, "<="),
        (Op::Gt, ">"),
        (Op::Gte, ">="),
        (Op::AnyEq, "?="),
        (Op::AnyNeq, "?!="),
        (Op::AnyLike, "?~"),
        (Op::AnyNotLike, "?!~"),
        (Op::AnyLt, "?<"),
        (Op::AnyLte, "?<="),
        (Op::AnyGt, "?>"),
        (Op::AnyGte, "?>="),
    ];

    pub(crate) fn from_literal(lit: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, s)| *s == lit).map(|(op, _)| *op)
    }

    /// The operator as written in a filter, e.g. `?!=`.
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(op, _)| *op == self)
            .map_or("", |(_, s)| s)
    }

    /// Whether this is a `?` operator (matches if any item of a multi-valued side matches).
    pub fn is_any(self) -> bool {
        self.as_str().starts_with('?')
    }
}

/// The literal keywords. fexpr lexes them as identifiers; the parser classifies them
/// (case-insensitively) so later stages don't have to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Keyword {
    Null,
    True,
    False,
}

impl Keyword {
    pub(crate) fn from_identifier(ident: &str) -> Option<Self> {
        [
            (Self::Null, "null"),
            (Self::True, "true"),
            (Self::False, "false"),
        ]
        .into_iter()
        .find(|(_, s)| ident.eq_ignore_ascii_case(s))
        .map(|(k, _)| k)
    }

    /// The normalized (lowercase) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::True => "true",
            Self::False => "false",
        }
    }
}

/// One side of a comparison, or a function argument.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A field path, macro or request value, modifiers included (`tags:each`,
    /// `@request.body.x:isset`, `@collection.users:u.name`). Splitting is the resolver's job.
    Identifier(String),
    /// `null`, `true` or `false` in any letter case. `raw` keeps the spelling: PocketBase
    /// resolves a same-named field first, which is possible only for spellings such as `NULL`
    /// because the lowercase names are reserved field names.
    Keyword { keyword: Keyword, raw: String },
    /// A number literal (`12`, `-1.5`). `value` is Go's `cast.ToFloat64`: 0 if out of range.
    Number { raw: String, value: f64 },
    /// Quoted text with the escaped quotes already unescaped.
    Text(String),
    /// A function call such as `geoDistance(a, b, 1, 2)`.
    Function { name: String, args: Vec<Operand> },
}

/// A single comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// The left operand.
    pub left: Operand,
    /// The comparison operator.
    pub op: Op,
    /// The right operand.
    pub right: Operand,
}

/// Either a comparison or a parenthesized group.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A comparison.
    Expr(Expr),
    /// A parenthesized group; never empty.
    Group(Vec<ExprGroup>),
}

/// An item of an expression list with the join that precedes it. `&&` binds tighter than
/// `||` across a list, as in the SQL PocketBase generates from it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExprGroup {
    /// The join with the previous items (`And` for the first item).
    pub join: Join,
    /// The comparison or group.
    pub item: Node,
}

/// Displays a parsed expression list in normalized form (`a = 1 && (b != 'x' || c ?~ 2)`).
#[derive(Debug, Clone, Copy)]
pub struct Groups<'a>(pub &'a [ExprGroup]);

impl fmt::Display for Join {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Identifier(name) => f.write_str(name),
            Self::Keyword { keyword, .. } => f.write_str(keyword.as_str()),
            Self::Number { raw, .. } => f.write_str(raw),
            // Only `\'` is an escape sequence; every other backslash is literal.
            Self::Text(text) => write!(f, "'{}'", text.replace('\'', "\\'")),
            Self::Function { name, args } => {
                write!(f, "{name}(")?;
                for (i, arg) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{arg}")?;
                }
                f.write_str(")")
            }
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.left, self.op, self.right)
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Expr(expr) => write!(f, "{expr}"),
            Self::Group(items) => write!(f, "({})", Groups(items)),
        }
    }
}

impl fmt::Display for ExprGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.join, self.item)
    }
}

impl fmt::Display for Groups<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, group) in self.0.iter().enumerate() {
            if i == 0 {
                write!(f, "{}", group.item)?;
            } else {
                write!(f, " {group}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic xorshift generator (no external crates).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            usize::try_from(self.0 % 1_000_003).unwrap_or(0)
        }
    }

    const PIECES: &[&str] = &[
        "a", "_", "@", "#", "1", "-", ".", ":", "'", "\"", "\\", "(", ")", ",", "=", "!", "?", "<",
        ">", "~", "&", "|", "/", " ", "\n", "\t", "\r", "é", "日本", "🙂", "\0", "%", "null",
        "TRUE", " && ", " || ", "//", "f(", "x.y:each", "'t\\'x'", "\"q\"", "12.5", "(a=1)", "+",
    ];

    #[rustfmt::skip]
    const OPERANDS: &[&str] = &[
        "a", "@request.auth.id", "tags:each", "NULL", "true", "-1.5", "7", "'x'", r#""y\"z""#,
        r"'it\'s'", "f()", "geo(a, 1, 'b',)", "x(y(z(1)))", "'日本 🙂'", r"'a\\b'", "'('",
    ];

    fn pick<'a>(rng: &mut Rng, items: &[&'a str]) -> &'a str {
        items[rng.next() % items.len()]
    }

    /// Random pieces glued together: mostly invalid.
    fn random_garbage(rng: &mut Rng) -> String {
        let len = rng.next() % 40;
        (0..len).map(|_| pick(rng, PIECES)).collect()
    }

    /// A random valid filter, then sometimes one random piece inserted somewhere.
    fn random_filter(rng: &mut Rng, depth: usize) -> String {
        let mut out = String::new();
        for i in 0..=rng.next() % 3 {
            if i > 0 {
                out += pick(rng, &[" && ", "||", " ||\n"]);
            }
            if depth < 3 && rng.next().is_multiple_of(4) {
                out += &format!("({})", random_filter(rng, depth + 1));
            } else {
                let op = Op::ALL[rng.next() % Op::ALL.len()].1;
                out += &format!("{} {op} {}", pick(rng, OPERANDS), pick(rng, OPERANDS));
            }
        }
        if depth == 0 && rng.next().is_multiple_of(3) {
            let at = (0..=out.len())
                .filter(|&i| out.is_char_boundary(i))
                .nth(rng.next() % 8);
            out.insert_str(at.unwrap_or(0), pick(rng, PIECES));
        }
        out
    }

    #[test]
    fn garbage_never_panics_and_output_round_trips() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut parsed = 0;
        for i in 0..3000 {
            let input = if i % 2 == 0 {
                random_garbage(&mut rng)
            } else {
                random_filter(&mut rng, 0)
            };
            let _ = parse_sort(&input);
            let Ok(groups) = parse(&input) else { continue };
            parsed += 1;
            let shown = Groups(&groups).to_string();
            let again = parse(&shown).unwrap_or_else(|e| panic!("{input:?} -> {shown:?}: {e}"));
            assert_eq!(shown, Groups(&again).to_string(), "input {input:?}");
        }
        assert!(parsed > 1000, "only {parsed} inputs parsed");
    }

    #[test]
    fn pathological_inputs_fail_cleanly() {
        let deep = format!("{}a=1{}", "(".repeat(1000), ")".repeat(1000));
        assert_eq!(parse(&deep), Err(FilterError::TooDeep { max: MAX_DEPTH }));
        let huge = Limits {
            max_length: usize::MAX,
            max_expressions: usize::MAX,
            max_depth: 1 << 40,
        };
        let deeper = format!("{}a=1{}", "(".repeat(5000), ")".repeat(5000));
        assert_eq!(
            parse_with_limits(&deeper, &huge),
            Err(FilterError::TooDeep { max: 256 })
        );
        assert!(parse(&"(".repeat(3000)).is_err());
        assert!(parse(&"'".repeat(3001)).is_err());
        assert!(parse("\u{feff}a=1").is_err());
    }

    #[test]
    fn operators_round_trip() {
        for (op, lit) in Op::ALL {
            assert_eq!(Op::from_literal(lit), Some(op));
            assert_eq!(op.to_string(), lit);
            assert_eq!(op.is_any(), lit.starts_with('?'));
        }
        assert_eq!(Op::from_literal("=="), None);
    }

    #[rustfmt::skip]
    const MESSAGES: &[(&str, &str)] = &[
        ("a > %", "unexpected character '%'"),
        ("a = 'x", "invalid quoted text \"'x\""),
        ("a =! 1", "invalid sign operator \"=!\""),
        ("a = 1 & b = 2", "invalid join operator \"&\""),
        ("(a = 1", "invalid formatted group - missing 1 closing bracket(s)"),
        ("a = 1 b", "expected && or ||, got \"b\" (identifier)"),
        ("a 1", "expected a sign operator, got \"1\" (number)"),
        ("= 1", "expected left operand (identifier, function, text or number), got \"=\" (sign)"),
        ("", "empty filter expression"),
        ("a =", "invalid or incomplete filter expression"),
        ("f(a b) = 1", "expected comma after the last argument in function \"f\""),
        ("f(a.) = 1", "invalid argument in function \"f\": invalid identifier \"a.\""),
    ];

    #[test]
    fn error_messages_follow_fexpr() {
        for (input, message) in MESSAGES {
            let err = parse(input).expect_err(input);
            assert_eq!(&err.to_string(), message, "input {input:?}");
        }
        let nested = parse("f(g(x.)) = 1").expect_err("nested");
        let source = std::error::Error::source(&nested).map(ToString::to_string);
        let want = "invalid argument in function \"g\": invalid identifier \"x.\"";
        assert_eq!(source.as_deref(), Some(want));
    }
}
