//! `FilterError`: every way filter or sort parsing can fail, with fexpr's and PocketBase's
//! wording, and `Side`, the operand an error is about.

use std::fmt;

/// Which operand a parser error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Side {
    Left,
    Right,
}

/// Every way filter or sort parsing can fail. Messages follow fexpr's and PocketBase's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterError {
    /// The filter is longer than the limit (bytes).
    TooLong { len: usize, max: usize },
    /// More comparisons than the limit.
    TooManyExpressions { max: usize },
    /// Parentheses nested deeper than the limit.
    TooDeep { max: usize },
    /// A character that cannot start any token (including NUL and `\r`).
    UnexpectedChar(char),
    /// A malformed identifier such as `a.` or `@`.
    InvalidIdentifier(String),
    /// A malformed number such as `-` or `1.`.
    InvalidNumber(String),
    /// Quoted text without its closing quote (the literal includes the opening quote).
    UnterminatedText(String),
    /// A run of operator characters that is not an operator, e.g. `=!`.
    InvalidSign(String),
    /// A run of `&`/`|` that is not `&&` or `||`.
    InvalidJoin(String),
    /// A single `/` not followed by another `/`.
    InvalidComment,
    /// A `(` group without enough closing `)`.
    UnclosedGroup { missing: usize },
    /// A function name that is not a valid identifier, e.g. `a.(`.
    InvalidFunctionName(String),
    /// Functions nested deeper than fexpr allows.
    FunctionTooDeep { max: usize },
    /// A function call without its closing `)`.
    UnclosedFunction(String),
    /// Two arguments not separated by a comma.
    ExpectedComma(String),
    /// A comma with no argument before it.
    UnexpectedComma(String),
    /// A character that cannot start a function argument.
    UnsupportedArgument { function: String, ch: char },
    /// An argument of `function` failed to lex.
    InvalidFunctionArgument {
        function: String,
        source: Box<FilterError>,
    },
    /// A token where an operand was expected: `found` is its literal, `kind` its type.
    ExpectedOperand {
        side: Side,
        found: String,
        kind: &'static str,
    },
    /// A token where a comparison operator was expected.
    ExpectedSign { found: String, kind: &'static str },
    /// A token where `&&` or `||` was expected.
    ExpectedJoin { found: String, kind: &'static str },
    /// Nothing but whitespace and comments.
    Empty,
    /// The input ends in the middle of an expression.
    Incomplete,
    /// More sort fields than the limit.
    TooManySortFields { max: usize },
    /// A sort field name longer than the limit.
    SortFieldTooLong { max: usize },
    /// A sort field that is empty or not an identifier.
    InvalidSortField(String),
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong { len, max } => {
                write!(f, "max filter length limit reached ({len} > {max} bytes)")
            }
            Self::TooManyExpressions { max } => {
                write!(f, "max filter expressions limit reached (max: {max})")
            }
            Self::TooDeep { max } => write!(f, "max nested groups depth reached (max: {max})"),
            Self::ExpectedOperand { side, found, kind } => {
                let side = if *side == Side::Left { "left" } else { "right" };
                let expected = "(identifier, function, text or number)";
                write!(
                    f,
                    "expected {side} operand {expected}, got {found:?} ({kind})"
                )
            }
            Self::ExpectedSign { found, kind } => {
                write!(f, "expected a sign operator, got {found:?} ({kind})")
            }
            Self::ExpectedJoin { found, kind } => {
                write!(f, "expected && or ||, got {found:?} ({kind})")
            }
            Self::Empty => f.write_str("empty filter expression"),
            Self::Incomplete => f.write_str("invalid or incomplete filter expression"),
            Self::TooManySortFields { max } => {
                write!(f, "max sort expressions limit reached (max: {max})")
            }
            Self::SortFieldTooLong { max } => {
                write!(f, "max sort field length limit reached (max: {max})")
            }
            Self::InvalidSortField(s) => write!(f, "invalid sort field {s:?}"),
            _ => self.fmt_lexical(f),
        }
    }
}

impl std::error::Error for FilterError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidFunctionArgument { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}
