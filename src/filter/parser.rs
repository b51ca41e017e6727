//! Parser for filter expressions (following fexpr v0.6.0's state machine) and for the
//! `sort` query parameter (following PocketBase's `ParseSortFromString`).

use std::fmt;

use super::lexer::{Lexer, Token, is_identifier};
use super::{
    ExprGroup, FilterError, Join, Keyword, Limits, MAX_SORT_FIELD_LENGTH, MAX_SORT_FIELDS, Node,
    Operand, Side,
};

/// Recursion bound for [`Limits::max_depth`], whatever the caller asks for.
const HARD_MAX_DEPTH: usize = 256;

/// Parses a filter such as `a = 1 || (b ?~ 'x' && c:lower != null)` with PocketBase's
/// default limits ([`Limits::default`]).
pub fn parse(input: &str) -> Result<Vec<ExprGroup>, FilterError> {
    parse_with_limits(input, &Limits::default())
}

/// Parses a filter with custom limits (API rules, for example, have no length limit in
/// PocketBase). The result is never empty: whitespace or comments alone give
/// [`FilterError::Empty`].
pub fn parse_with_limits(input: &str, limits: &Limits) -> Result<Vec<ExprGroup>, FilterError> {
    if input.len() > limits.max_length {
        return Err(FilterError::TooLong {
            len: input.len(),
            max: limits.max_length,
        });
    }
    let mut parser = Parser {
        max_expressions: limits.max_expressions,
        max_depth: limits.max_depth.min(HARD_MAX_DEPTH),
        expressions: 0,
    };
    parser.parse_list(input, 0)
}

/// Parses the `sort` query parameter: a comma-separated list of `-field` (descending),
/// `+field` or `field` (ascending), including `@random` and `@rowid`.
///
/// Names must be single filter identifiers. As in PocketBase, an empty parameter means no
/// sorting, but an empty item (`a,,b`, `a,`) is an invalid field rather than being skipped.
/// Whether a field exists is not checked here.
pub fn parse_sort(input: &str) -> Result<Vec<SortField>, FilterError> {
    if input.is_empty() {
        return Ok(Vec::new());
    }
    let fields: Vec<SortField> = input
        .split(',')
        .map(|item| {
            let item = item.trim();
            let (name, direction) = match item.strip_prefix('-') {
                Some(name) => (name, SortDirection::Desc),
                None => (item.strip_prefix('+').unwrap_or(item), SortDirection::Asc),
            };
            SortField {
                name: name.to_string(),
                direction,
            }
        })
        .collect();
    if fields.len() > MAX_SORT_FIELDS {
        return Err(FilterError::TooManySortFields {
            max: MAX_SORT_FIELDS,
        });
    }
    for field in &fields {
        if field.name.len() > MAX_SORT_FIELD_LENGTH {
            return Err(FilterError::SortFieldTooLong {
                max: MAX_SORT_FIELD_LENGTH,
            });
        }
        if !is_identifier(&field.name) {
            return Err(FilterError::InvalidSortField(field.name.clone()));
        }
    }
    Ok(fields)
}

/// Sort direction of a [`SortField`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortDirection {
    /// `field` or `+field`
    Asc,
    /// `-field`
    Desc,
}

/// One item of the `sort` query parameter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SortField {
    /// The field identifier without the direction prefix, e.g. `created` or `@random`.
    pub name: String,
    /// The direction (ignored by PocketBase for `@random`).
    pub direction: SortDirection,
}

impl SortField {
    /// `@random`: order by `RANDOM()`.
    pub fn is_random(&self) -> bool {
        self.name == "@random"
    }

    /// `@rowid`: order by SQLite's `_rowid_`.
    pub fn is_rowid(&self) -> bool {
        self.name == "@rowid"
    }
}

impl fmt::Display for SortField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.direction {
            SortDirection::Asc => f.write_str(&self.name),
            SortDirection::Desc => write!(f, "-{}", self.name),
        }
    }
}

struct Parser {
    max_expressions: usize,
    max_depth: usize,
    expressions: usize,
}

/// What the parser expects next.
enum Step {
    Left,
    Sign(Operand),
    Right(Operand, super::Op),
    Join,
}

impl Parser {
    /// Parses one level of the list; groups recurse with `depth + 1`.
    fn parse_list(&mut self, src: &str, depth: usize) -> Result<Vec<ExprGroup>, FilterError> {
        let mut lexer = Lexer::new(src);
        let mut groups = Vec::new();
        let mut join = Join::And;
        let mut step = Step::Left;
        while let Some(token) = lexer.next_token()? {
            step = match (step, token) {
                (step, Token::Whitespace(_) | Token::Comment(_)) => step,
                (Step::Left, Token::Group(inner)) => {
                    if depth >= self.max_depth {
                        return Err(FilterError::TooDeep {
                            max: self.max_depth,
                        });
                    }
                    let item = Node::Group(self.parse_list(inner, depth + 1)?);
                    groups.push(ExprGroup { join, item });
                    Step::Join
                }
                (Step::Left, token) => Step::Sign(operand(token, Side::Left)?),
                (Step::Sign(left), Token::Sign(op)) => Step::Right(left, op),
                (Step::Sign(_), token) => {
                    let (found, kind) = token.describe();
                    return Err(FilterError::ExpectedSign { found, kind });
                }
                (Step::Right(left, op), token) => {
                    let right = operand(token, Side::Right)?;
                    self.count_expression()?;
                    let item = Node::Expr(super::Expr { left, op, right });
                    groups.push(ExprGroup { join, item });
                    Step::Join
                }
                (Step::Join, Token::Join(next)) => {
                    join = next;
                    Step::Left
                }
                (Step::Join, token) => {
                    let (found, kind) = token.describe();
                    return Err(FilterError::ExpectedJoin { found, kind });
                }
            };
        }
        match step {
            Step::Join => Ok(groups),
            Step::Left if groups.is_empty() => Err(FilterError::Empty),
            _ => Err(FilterError::Incomplete),
        }
    }

    fn count_expression(&mut self) -> Result<(), FilterError> {
        self.expressions += 1;
        if self.expressions > self.max_expressions {
            return Err(FilterError::TooManyExpressions {
                max: self.max_expressions,
            });
        }
        Ok(())
    }
}

/// Converts an operand token, or reports what was found instead.
fn operand(token: Token, side: Side) -> Result<Operand, FilterError> {
    let (found, kind) = token.describe();
    to_operand(token).ok_or(FilterError::ExpectedOperand { side, found, kind })
}

fn to_operand(token: Token) -> Option<Operand> {
    Some(match token {
        Token::Identifier(raw) => match Keyword::from_identifier(raw) {
            Some(keyword) => Operand::Keyword {
                keyword,
                raw: raw.to_string(),
            },
            None => Operand::Identifier(raw.to_string()),
        },
        // Go's cast.ToFloat64 yields 0 when ParseFloat fails (out of range).
        Token::Number(raw) => Operand::Number {
            raw: raw.to_string(),
            value: raw
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .unwrap_or(0.0),
        },
        Token::Text(text) => Operand::Text(text),
        Token::Function { name, args } => Operand::Function {
            name: name.to_string(),
            args: args
                .into_iter()
                .map(to_operand)
                .collect::<Option<Vec<_>>>()?,
        },
        Token::Whitespace(_)
        | Token::Comment(_)
        | Token::Sign(_)
        | Token::Join(_)
        | Token::Group(_) => {
            return None;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::{Expr, Groups, MAX_DEPTH, MAX_EXPRESSIONS, MAX_LENGTH, Op};
    use super::*;

    fn go_operand(operand: &Operand) -> String {
        match operand {
            Operand::Identifier(raw) | Operand::Keyword { raw, .. } => {
                format!("{{<nil> identifier {raw}}}")
            }
            Operand::Number { raw, .. } => format!("{{<nil> number {raw}}}"),
            Operand::Text(text) => format!("{{<nil> text {text}}}"),
            Operand::Function { name, args } => {
                let args: Vec<String> = args.iter().map(go_operand).collect();
                format!("{{[{}] function {name}}}", args.join(" "))
            }
        }
    }

    /// Prints groups like fexpr's `fmt.Sprintf("%v", result)`.
    fn go(groups: &[ExprGroup]) -> String {
        let items: Vec<String> = groups
            .iter()
            .map(|group| {
                let item = match &group.item {
                    Node::Expr(e) => format!(
                        "{{{} {} {}}}",
                        go_operand(&e.left),
                        e.op,
                        go_operand(&e.right)
                    ),
                    Node::Group(inner) => go(inner),
                };
                format!("{{{item} {}}}", group.join)
            })
            .collect();
        format!("[{}]", items.join(" "))
    }

    /// fexpr's parser table: (input, expected print); `None` means an error is expected.
    #[rustfmt::skip]
    const FEXPR_PARSE: &[(&str, Option<&str>)] = &[
        ("> 1", None), ("a >", None), ("a > >", None), ("a > %", None), ("a ! 1", None),
        ("a - 1", None), ("a + 1", None), ("1 - 1", None), ("1 + 1", None), ("> a 1", None),
        ("a || 1", None), ("a && 1", None), ("test > 1 &&", None), ("|| test = 1", None),
        ("test = 1 && ||", None), ("test = 1 && a", None), ("test = 1 && \"a\"", None),
        ("test = 1 a", None), ("test = 1 \"a\"", None), ("test = 1@test", None),
        ("test = .@test", None), ("test = \"demo'", None), ("test = 'demo\"", None),
        ("test = 'demo'\"", None), ("test = 'demo''", None), ("test = \"demo\"'", None),
        ("test = \"demo\"\"", None), ("test = \"\"demo\"\"", None), ("test = ''demo''", None),
        ("test = `demo`", None), ("test = / demo", None), ("test = // demo", None),
        ("// demo", None),
        ("test = 123 // demo", Some("[{{{<nil> identifier test} = {<nil> number 123}} &&}]")),
        ("test = // demo\n123", Some("[{{{<nil> identifier test} = {<nil> number 123}} &&}]")),
        ("\n\t\t\ta = 123 &&\n\t\t\t// demo\n\t\t\tb = 456\n\t\t", Some("[{{{<nil> identifier a} = {<nil> number 123}} &&} {{{<nil> identifier b} = {<nil> number 456}} &&}]")),
        ("test() = 12", Some("[{{{[] function test} = {<nil> number 12}} &&}]")),
        ("(a.b.c(1) = d.e.f(2)) || 1=2", Some("[{[{{{[{<nil> number 1}] function a.b.c} = {[{<nil> number 2}] function d.e.f}} &&}] &&} {{{<nil> number 1} = {<nil> number 2}} ||}]")),
        ("1=12", Some("[{{{<nil> number 1} = {<nil> number 12}} &&}]")),
        ("   1    =    12    ", Some("[{{{<nil> number 1} = {<nil> number 12}} &&}]")),
        ("\"demo\" != test", Some("[{{{<nil> text demo} != {<nil> identifier test}} &&}]")),
        ("a~1", Some("[{{{<nil> identifier a} ~ {<nil> number 1}} &&}]")),
        ("a !~ 1", Some("[{{{<nil> identifier a} !~ {<nil> number 1}} &&}]")),
        ("test>12", Some("[{{{<nil> identifier test} > {<nil> number 12}} &&}]")),
        ("test > 12", Some("[{{{<nil> identifier test} > {<nil> number 12}} &&}]")),
        ("test >=\"test\"", Some("[{{{<nil> identifier test} >= {<nil> text test}} &&}]")),
        ("test<@demo.test2", Some("[{{{<nil> identifier test} < {<nil> identifier @demo.test2}} &&}]")),
        ("1<=\"test\"", Some("[{{{<nil> number 1} <= {<nil> text test}} &&}]")),
        ("1<=\"te'st\"", Some("[{{{<nil> number 1} <= {<nil> text te'st}} &&}]")),
        (r"demo='te\'st'", Some("[{{{<nil> identifier demo} = {<nil> text te'st}} &&}]")),
        (r#"demo="te\'st""#, Some(r"[{{{<nil> identifier demo} = {<nil> text te\'st}} &&}]")),
        (r#"demo="te\"st""#, Some(r#"[{{{<nil> identifier demo} = {<nil> text te"st}} &&}]"#)),
        ("(a=1", None), ("a=1)", None), ("((a=1)", None), ("{a=1}", None), ("[a=1]", None),
        ("((a=1 || a=2) && c=1))", None), ("()", None),
        ("(a=1)", Some("[{[{{{<nil> identifier a} = {<nil> number 1}} &&}] &&}]")),
        ("(a=\"test(\")", Some("[{[{{{<nil> identifier a} = {<nil> text test(}} &&}] &&}]")),
        ("(a=\"test)\")", Some("[{[{{{<nil> identifier a} = {<nil> text test)}} &&}] &&}]")),
        ("((a=1))", Some("[{[{[{{{<nil> identifier a} = {<nil> number 1}} &&}] &&}] &&}]")),
        ("a=1 || 2!=3", Some("[{{{<nil> identifier a} = {<nil> number 1}} &&} {{{<nil> number 2} != {<nil> number 3}} ||}]")),
        ("a=1 && 2!=3", Some("[{{{<nil> identifier a} = {<nil> number 1}} &&} {{{<nil> number 2} != {<nil> number 3}} &&}]")),
        ("a=1 && 2!=3 || \"b\"=a", Some("[{{{<nil> identifier a} = {<nil> number 1}} &&} {{{<nil> number 2} != {<nil> number 3}} &&} {{{<nil> text b} = {<nil> identifier a}} ||}]")),
        ("(a=1 && 2!=3) || \"b\"=a", Some("[{[{{{<nil> identifier a} = {<nil> number 1}} &&} {{{<nil> number 2} != {<nil> number 3}} &&}] &&} {{{<nil> text b} = {<nil> identifier a}} ||}]")),
        ("((a=1 || a=2) && (c=1))", Some("[{[{[{{{<nil> identifier a} = {<nil> number 1}} &&} {{{<nil> identifier a} = {<nil> number 2}} ||}] &&} {[{{{<nil> identifier c} = {<nil> number 1}} &&}] &&}] &&}]")),
        ("(a='\"')", Some("[{[{{{<nil> identifier a} = {<nil> text \"}} &&}] &&}]")),
        (r"(a='\'')", Some("[{[{{{<nil> identifier a} = {<nil> text '}} &&}] &&}]")),
        ("(a=\"'\")", Some("[{[{{{<nil> identifier a} = {<nil> text '}} &&}] &&}]")),
        (r#"(a="\"")"#, Some("[{[{{{<nil> identifier a} = {<nil> text \"}} &&}] &&}]")),
    ];

    #[test]
    fn fexpr_parser_table() {
        for (input, expected) in FEXPR_PARSE {
            match (parse(input), expected) {
                (Ok(groups), Some(want)) => assert_eq!(&go(&groups), want, "input {input:?}"),
                (Err(_), None) => {}
                (got, _) => panic!("input {input:?}: expected {expected:?}, got {got:?}"),
            }
        }
    }

    fn normalized(input: &str) -> String {
        parse(input)
            .map(|g| Groups(&g).to_string())
            .unwrap_or_else(|e| format!("ERR {e}"))
    }

    #[rustfmt::skip]
    const NORMALIZED: &[(&str, &str)] = &[
        ("a=1&&(b!='x'||c?~\"y\\\"z\")", "a = 1 && (b != 'x' || c ?~ 'y\"z')"),
        ("f( 1 , 'it\\'s' ,g(x),) ?>= -2.5", "f(1, 'it\\'s', g(x)) ?>= -2.5"),
        ("a = 1 || b = 2 && c = 3", "a = 1 || b = 2 && c = 3"),
        ("(a = NULL) && true != False", "(a = null) && true != false"),
        ("x = 'back\\\\slash'", "x = 'back\\\\slash'"),
    ];

    #[test]
    fn normalized_display() {
        for (input, want) in NORMALIZED {
            assert_eq!(&normalized(input), want, "input {input:?}");
            assert_eq!(&normalized(want), want, "normalizing twice");
        }
    }

    /// The first item of `input`, which must be a comparison.
    fn first_expr(input: &str) -> Expr {
        let first = parse(input)
            .ok()
            .and_then(|groups| groups.into_iter().next());
        match first.map(|group| group.item) {
            Some(Node::Expr(expr)) => expr,
            other => panic!("{input:?}: {other:?}"),
        }
    }

    fn ident(name: &str) -> Operand {
        Operand::Identifier(name.into())
    }

    fn keyword(keyword: Keyword, raw: &str) -> Operand {
        Operand::Keyword {
            keyword,
            raw: raw.into(),
        }
    }

    #[test]
    fn ast_shape_and_keywords() {
        let groups = parse("a = 1 || b = 2 && (c = 3)").unwrap_or_default();
        let joins: Vec<Join> = groups.iter().map(|g| g.join).collect();
        assert_eq!(joins, [Join::And, Join::Or, Join::And]);
        assert!(
            matches!(groups.last().map(|g| &g.item), Some(Node::Group(items)) if items.len() == 1)
        );
        let expr = first_expr("@request.body.x:isset = TRUE");
        assert_eq!(expr.left, ident("@request.body.x:isset"));
        assert_eq!(
            (expr.op, expr.right),
            (Op::Eq, keyword(Keyword::True, "TRUE"))
        );
        let expr = first_expr("tags:each ?!~ 'b'");
        assert_eq!((expr.left, expr.op), (ident("tags:each"), Op::AnyNotLike));
        assert_eq!(expr.right, Operand::Text("b".into()));
        // Only whole identifiers are keywords.
        for name in ["nullable", "null.x", "true:lower", "_false"] {
            assert_eq!(first_expr(&format!("{name} = 1")).left, ident(name));
        }
        let call = first_expr("geo(a, NULL, 'x', f()) < 1").left;
        let empty = Operand::Function {
            name: "f".into(),
            args: vec![],
        };
        let args = vec![
            ident("a"),
            keyword(Keyword::Null, "NULL"),
            Operand::Text("x".into()),
            empty,
        ];
        assert_eq!(
            call,
            Operand::Function {
                name: "geo".into(),
                args
            }
        );
        assert!(
            parse("a < 1e").is_err(),
            "`1e` is a number then an identifier"
        );
    }

    #[test]
    fn number_values() {
        let value = |input: &str| match first_expr(&format!("a = {input}")).right {
            Operand::Number { value, .. } => value,
            other => panic!("{input}: {other:?}"),
        };
        assert_eq!(value("10.5"), 10.5);
        assert_eq!(value("-14"), -14.0);
        assert_eq!(value("-.5"), -0.5);
        assert_eq!(value("007"), 7.0);
        assert_eq!(value(&"9".repeat(400)), 0.0);
    }

    #[test]
    fn deliberate_divergences_are_errors() {
        let inputs = [
            "a = (b = 1)",
            "(a = 1) (b = 2)",
            "a = 1 (b = 2)",
            "a (b = 1)",
            "a=1\0x",
        ];
        for input in inputs {
            assert!(parse(input).is_err(), "{input:?}");
        }
    }

    #[test]
    fn fexpr_quirks_kept() {
        // `)` inside a comment still closes a group (the group scanner ignores comments).
        assert_eq!(normalized("(a = 1 // note)"), "(a = 1)");
        assert!(parse("(a = 1 // it's\n)").is_err());
        assert!(parse("a = 1 // it's").is_ok());
        assert!(parse("a = 1\r\n").is_err());
        assert_eq!(parse("  // only a comment\n"), Err(FilterError::Empty));
        assert_eq!(parse("a = 1 &&"), Err(FilterError::Incomplete));
        assert_eq!(parse("()"), Err(FilterError::Empty));
    }

    #[test]
    fn limits() {
        let filler = format!("a=1{}", " ".repeat(MAX_LENGTH - 3));
        assert!(parse(&filler).is_ok());
        let too_long = FilterError::TooLong {
            len: MAX_LENGTH + 1,
            max: MAX_LENGTH,
        };
        assert_eq!(parse(&format!("{filler} ")), Err(too_long));
        let many = |n: usize| vec!["(a=1)"; n].join("||");
        assert!(parse(&many(MAX_EXPRESSIONS)).is_ok());
        let too_many = FilterError::TooManyExpressions {
            max: MAX_EXPRESSIONS,
        };
        assert_eq!(parse(&many(MAX_EXPRESSIONS + 1)), Err(too_many));
        let nest = |n: usize| format!("{}a=1{}", "(".repeat(n), ")".repeat(n));
        assert!(parse(&nest(MAX_DEPTH)).is_ok());
        assert_eq!(
            parse(&nest(MAX_DEPTH + 1)),
            Err(FilterError::TooDeep { max: MAX_DEPTH })
        );
        let rules = Limits {
            max_length: usize::MAX,
            ..Limits::default()
        };
        assert!(parse_with_limits(&format!("{filler}  "), &rules).is_ok());
    }

    /// `parse_sort` output in display form (`a,-b`), or the error message.
    fn sort(input: &str) -> String {
        match parse_sort(input) {
            Ok(fields) => fields
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
            Err(e) => e.to_string(),
        }
    }

    #[rustfmt::skip]
    const SORTS: &[(&str, &str)] = &[
        ("", ""), ("test", "test"), ("+test", "test"), ("-test", "-test"),
        (" test1 , -test2,+test3 ", "test1,-test2,test3"), ("@random,-test", "@random,-test"),
        ("-@rowid,rel.name:lower", "-@rowid,rel.name:lower"),
        (" ", "invalid sort field \"\""), ("a,,b", "invalid sort field \"\""),
        ("a,", "invalid sort field \"\""), ("-", "invalid sort field \"\""),
        ("--a", "invalid sort field \"-a\""), ("- a", "invalid sort field \" a\""),
        ("a b", "invalid sort field \"a b\""), ("'a'", "invalid sort field \"'a'\""),
        ("a.", "invalid sort field \"a.\""), ("f(x)", "invalid sort field \"f(x)\""),
        ("1a", "invalid sort field \"1a\""),
    ];

    #[test]
    fn sort_fields() {
        for (input, want) in SORTS {
            assert_eq!(&sort(input), want, "input {input:?}");
        }
        let fields = parse_sort("-@rowid,@random").unwrap_or_default();
        assert!(fields[0].is_rowid() && fields[0].direction == SortDirection::Desc);
        assert!(fields[1].is_random() && fields[1].direction == SortDirection::Asc);
        assert!(parse_sort(&["a"; MAX_SORT_FIELDS].join(",")).is_ok());
        let nine = ["a"; MAX_SORT_FIELDS + 1].join(",");
        let too_many = FilterError::TooManySortFields {
            max: MAX_SORT_FIELDS,
        };
        assert_eq!(parse_sort(&nine), Err(too_many));
        assert!(parse_sort(&"a".repeat(MAX_SORT_FIELD_LENGTH)).is_ok());
        let long = format!("-{}", "a".repeat(MAX_SORT_FIELD_LENGTH + 1));
        let too_long = FilterError::SortFieldTooLong {
            max: MAX_SORT_FIELD_LENGTH,
        };
        assert_eq!(parse_sort(&long), Err(too_long));
    }
}
