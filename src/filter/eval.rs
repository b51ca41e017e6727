//! Evaluating a parsed filter in memory against single-valued fields: the collections list
//! filters on `id, created, updated, name, system, type`. Record filters and API rules
//! compile to SQL instead (`filter::sql`).

use serde_json::Value;

use crate::filter::{ExprGroup, Join, Keyword, Node, Op, Operand};

/// Why an in-memory evaluation failed (answered as a 400 by the caller).
#[derive(Debug, Clone, PartialEq)]
pub enum EvalError {
    UnknownField(String),
    Unsupported(String),
}

/// Evaluates `groups` with `lookup` resolving identifiers to values. Each level has SQL
/// precedence (`&&` binds tighter than `||`), since PocketBase emits a level as one flat
/// SQL list.
pub fn eval(
    groups: &[ExprGroup],
    lookup: &dyn Fn(&str) -> Option<Value>,
) -> Result<bool, EvalError> {
    let (mut any, mut all) = (false, true);
    for (i, group) in groups.iter().enumerate() {
        let value = match &group.item {
            Node::Expr(expr) => compare(
                &resolve(&expr.left, lookup)?,
                expr.op,
                &resolve(&expr.right, lookup)?,
            ),
            Node::Group(inner) => eval(inner, lookup)?,
        };
        if i > 0 && group.join == Join::Or {
            any |= all;
            all = value;
        } else {
            all &= value;
        }
    }
    Ok(any || all)
}

fn resolve(operand: &Operand, lookup: &dyn Fn(&str) -> Option<Value>) -> Result<Value, EvalError> {
    match operand {
        Operand::Identifier(name) => {
            lookup(name).ok_or_else(|| EvalError::UnknownField(name.clone()))
        }
        Operand::Keyword {
            keyword: Keyword::Null,
            ..
        } => Ok(Value::Null),
        Operand::Keyword {
            keyword: Keyword::True,
            ..
        } => Ok(Value::Bool(true)),
        Operand::Keyword {
            keyword: Keyword::False,
            ..
        } => Ok(Value::Bool(false)),
        Operand::Number { value, .. } => Ok(serde_json::json!(value)),
        Operand::Text(text) => Ok(Value::String(text.clone())),
        Operand::Function { name, .. } => Err(EvalError::Unsupported(name.clone())),
    }
}

/// Values as SQLite would see them: booleans are 0/1, NULL equals `''` (§2.4).
fn scalar(value: &Value) -> (Option<f64>, String) {
    match value {
        Value::Null => (None, String::new()),
        Value::Bool(b) => (Some(f64::from(u8::from(*b))), u8::from(*b).to_string()),
        Value::Number(n) => (n.as_f64(), n.to_string()),
        Value::String(s) => (s.parse().ok(), s.clone()),
        other => (None, other.to_string()),
    }
}

fn compare(left: &Value, op: Op, right: &Value) -> bool {
    let ((ln, ls), (rn, rs)) = (scalar(left), scalar(right));
    let ordering = match (ln, rn) {
        (Some(a), Some(b))
            if !matches!(left, Value::String(_)) || !matches!(right, Value::String(_)) =>
        {
            a.partial_cmp(&b)
        }
        _ => Some(ls.cmp(&rs)),
    };
    let contains = || {
        let needle = rs.trim_matches('%').to_lowercase();
        ls.to_lowercase().contains(&needle)
    };
    match op {
        Op::Eq | Op::AnyEq => ordering == Some(std::cmp::Ordering::Equal),
        Op::Neq | Op::AnyNeq => ordering != Some(std::cmp::Ordering::Equal),
        Op::Gt | Op::AnyGt => ordering == Some(std::cmp::Ordering::Greater),
        Op::Gte | Op::AnyGte => ordering.is_some_and(|o| o != std::cmp::Ordering::Less),
        Op::Lt | Op::AnyLt => ordering == Some(std::cmp::Ordering::Less),
        Op::Lte | Op::AnyLte => ordering.is_some_and(|o| o != std::cmp::Ordering::Greater),
        Op::Like | Op::AnyLike => contains(),
        Op::NotLike | Op::AnyNotLike => !contains(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::parse;
    use serde_json::json;

    fn check(filter: &str) -> Result<bool, EvalError> {
        let groups = parse(filter).expect("parses");
        eval(&groups, &|name| match name {
            "name" => Some(json!("posts")),
            "system" => Some(json!(false)),
            "type" => Some(json!("base")),
            _ => None,
        })
    }

    #[test]
    fn evaluates_like_sqlite() {
        assert_eq!(check("name = 'posts'"), Ok(true));
        assert_eq!(check("system = true"), Ok(false));
        assert_eq!(check("system = false && type = 'base'"), Ok(true));
        assert_eq!(check("name ~ 'OS' || system = true"), Ok(true));
        assert_eq!(
            check("(name != 'posts' || type = 'auth') && system = false"),
            Ok(false)
        );
        assert_eq!(check("name > 'a'"), Ok(true));
        // `&&` binds tighter: true || (false && false).
        assert_eq!(
            check("type = 'base' || system = true && name = 'x'"),
            Ok(true)
        );
        assert_eq!(
            check("nope = 1"),
            Err(EvalError::UnknownField("nope".into()))
        );
    }
}
