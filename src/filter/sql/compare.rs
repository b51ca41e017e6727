//! One comparison as SQL: PocketBase's `buildResolversExpr` (`tools/search/filter.go`),
//! including its `''`/NULL equivalence, LIKE wrapping and the "match all items" subqueries.

use crate::filter::Op;
use crate::filter::resolve::{Ctx, Fallback, Multi, Resolved};
use crate::filter::sql::{Bind, Frag, Param};
use crate::store::sql::quote;

/// Column name of a multi-match subquery's single output column.
const MULTI_VALUE: &str = "v";

impl Ctx<'_> {
    /// `left op right`, with the "every item" constraint when a side is multi-valued and the
    /// operator is not a `?` one, and the email-visibility constraints of either side.
    pub(crate) fn compare(&mut self, left: &Resolved, op: Op, right: &Resolved) -> Frag {
        let whole = |column: &Resolved, literal: &Resolved| match op {
            Op::Like | Op::AnyLike | Op::NotLike | Op::AnyNotLike => None,
            _ => whole_number(column, literal),
        };
        let (left_whole, right_whole) = (whole(right, left), whole(left, right));
        let left = left_whole.as_ref().unwrap_or(left);
        let right = right_whole.as_ref().unwrap_or(right);
        let mut expr = operator_sql(left, op, right);
        if !op.is_any() {
            let all = match (&left.multi, &right.multi) {
                (Some(l), Some(r)) => {
                    Some(self.many_vs_many((l, left.fallback), op, (r, right.fallback)))
                }
                (Some(l), None) => Some(self.many_vs_one(l, left.fallback, op, right, false)),
                (None, Some(r)) => Some(self.many_vs_one(r, right.fallback, op, left, true)),
                (None, None) => None,
            };
            if let Some(all) = all {
                expr = enclose_and(&expr, &all);
            }
        }
        for visible in [&left.visible, &right.visible].into_iter().flatten() {
            expr = enclose_and(&expr, visible);
        }
        expr
    }

    /// `NOT EXISTS (SELECT 1 FROM (<items>) sm WHERE NOT (sm.v op other))`: no item fails.
    fn many_vs_one(
        &mut self,
        multi: &Multi,
        fallback: Fallback,
        op: Op,
        other: &Resolved,
        inverse: bool,
    ) -> Frag {
        let alias = self.alias();
        let item = Resolved::new(column(&alias), fallback);
        let other = Resolved::new(other.frag.clone(), Fallback::Auto).with_pb(&other.pb_params);
        let cond = if inverse {
            operator_sql(&other, op, &item)
        } else {
            operator_sql(&item, op, &other)
        };
        let mut out = Frag::raw("NOT EXISTS (SELECT 1 FROM (");
        out.push(&multi.select(MULTI_VALUE))
            .push_str(&format!(") {} WHERE NOT (", quote(&alias)))
            .push(&cond)
            .push_str("))");
        out
    }

    /// Every pair of items of both sides satisfies the operator.
    fn many_vs_many(
        &mut self,
        left: (&Multi, Fallback),
        op: Op,
        right: (&Multi, Fallback),
    ) -> Frag {
        let (la, ra) = (self.alias(), self.alias());
        let cond = operator_sql(
            &Resolved::new(column(&la), left.1),
            op,
            &Resolved::new(column(&ra), right.1),
        );
        let mut out = Frag::raw("NOT EXISTS (SELECT 1 FROM (");
        out.push(&left.0.select(MULTI_VALUE))
            .push_str(&format!(") {} LEFT JOIN (", quote(&la)))
            .push(&right.0.select(MULTI_VALUE))
            .push_str(&format!(") {} WHERE NOT (", quote(&ra)))
            .push(&cond)
            .push_str("))");
        out
    }
}

/// `literal` bound as an INTEGER when it is a whole-number REAL compared with a number
/// field's column. The column's NUMERIC affinity converts such a REAL operand to that
/// INTEGER before every comparison anyway (SQLite's `applyAffinity`), so the result is the
/// same; binding it converted spares the conversion on every row scanned (~15% of SQLite's
/// time in a filtered count). PocketBase binds Go's float64 as the REAL.
fn whole_number(column: &Resolved, literal: &Resolved) -> Option<Resolved> {
    if !column.numeric || literal.frag.sql != "?" || literal.multi.is_some() {
        return None;
    }
    let [
        Bind {
            param: Param::Real(real),
            value: true,
        },
    ] = literal.frag.binds.as_slice()
    else {
        return None;
    };
    // The range SQLite converts (`sqlite3VdbeIntegerAffinity`): exact, strictly inside i64.
    let whole = *real as i64;
    if whole as f64 != *real || whole == i64::MIN || whole == i64::MAX {
        return None;
    }
    let mut out = Resolved::new(Frag::value(Param::Integer(whole)), literal.fallback);
    out.visible = literal.visible.clone();
    Some(out)
}

fn column(alias: &str) -> Frag {
    Frag::raw(format!("{}.{}", quote(alias), quote(MULTI_VALUE)))
}

/// `((a) AND (b))`, PocketBase's `dbx.Enclose(dbx.And(a, b))`.
fn enclose_and(a: &Frag, b: &Frag) -> Frag {
    let mut out = Frag::wrap("((", a, ") AND (");
    out.push(b).push_str("))");
    out
}

/// The operator alone, without multi-match constraints.
fn operator_sql(left: &Resolved, op: Op, right: &Resolved) -> Frag {
    let binary = |sign: &str| {
        let mut out = left.frag.clone();
        out.push_str(sign).push(&right.frag);
        out
    };
    match op {
        Op::Eq | Op::AnyEq => equal(true, left, right),
        Op::Neq | Op::AnyNeq => equal(false, left, right),
        Op::Like | Op::AnyLike => like("LIKE", left, right),
        Op::NotLike | Op::AnyNotLike => like("NOT LIKE", left, right),
        Op::Lt | Op::AnyLt => binary(" < "),
        Op::Lte | Op::AnyLte => binary(" <= "),
        Op::Gt | Op::AnyGt => binary(" > "),
        Op::Gte | Op::AnyGte => binary(" >= "),
    }
}

/// `=`/`!=` with PocketBase's `resolveEqualExpr` case analysis: `''` and NULL are equal,
/// `!=` is `IS NOT` (so NULL columns compare), JSON values compare with `IS`.
fn equal(equal: bool, left: &Resolved, right: &Resolved) -> Frag {
    let (eq, null_eq, concat, null_expr) = if equal {
        (" = ", " IS ", " OR ", " IS NULL")
    } else {
        (" IS NOT ", " IS NOT ", " AND ", " IS NOT NULL")
    };
    let joined = |l: &Frag, sign: &str, r: &Frag| {
        let mut out = l.clone();
        out.push_str(sign).push(r);
        out
    };
    if left.fallback == Fallback::Disabled || right.fallback == Fallback::Disabled {
        return joined(&left.frag, null_eq, &right.frag);
    }
    let (left_empty, right_empty) = (left.is_empty(), right.is_empty());
    let empty = Frag::raw("''");
    if left_empty && right_empty {
        return joined(&empty, eq, &empty);
    }
    if left.is_known_non_empty() || right.is_known_non_empty() {
        let l = if left_empty { &empty } else { &left.frag };
        let r = if right_empty { &empty } else { &right.frag };
        return joined(l, eq, r);
    }
    // `('' = b OR b IS NULL)` / `(a = '' OR a IS NULL)`, with IS NOT/AND for `!=`.
    let either = |first: Frag, operand: &Frag| {
        let mut out = Frag::wrap("(", &first, concat);
        out.push(operand).push_str(null_expr).push_str(")");
        out
    };
    if left_empty {
        return either(joined(&empty, eq, &right.frag), &right.frag);
    }
    if right_empty {
        return either(joined(&left.frag, eq, &empty), &left.frag);
    }
    let mut out = Frag::wrap("COALESCE(", &left.frag, ", '')");
    out.push_str(eq)
        .push(&Frag::wrap("COALESCE(", &right.frag, ", '')"));
    out
}

/// `~`/`!~`: a right side without params is a column, wrapped in `%` in SQL; otherwise each
/// of its params is wrapped unless it already has an unescaped `%`.
fn like(keyword: &str, left: &Resolved, right: &Resolved) -> Frag {
    let mut out = left.frag.clone();
    out.push_str(" ").push_str(keyword).push_str(" ");
    if right.pb_params.is_empty() {
        out.push(&Frag::wrap("('%' || ", &right.frag, " || '%')"));
    } else {
        let mut wrapped = right.frag.clone();
        for bind in wrapped.binds.iter_mut().filter(|b| b.value) {
            bind.param = Param::Text(like_pattern(&param_text(&bind.param)));
        }
        out.push(&wrapped);
    }
    out.push_str(" ESCAPE '\\'");
    out
}

/// Go's `cast.ToString` of a bound value.
pub(crate) fn param_text(param: &Param) -> String {
    match param {
        Param::Null => String::new(),
        Param::Integer(i) => i.to_string(),
        Param::Real(f) => go_float(*f),
        Param::Text(t) => t.clone(),
    }
}

/// `strconv.FormatFloat(f, 'f', -1, 64)`: shortest round-trip digits, never an exponent.
pub(crate) fn go_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{f}")
    }
}

/// PocketBase's `wrapLikeParams` for one value: `%text%` with unescaped `\`, `%` and `_`
/// escaped, or the value as given when it already holds an unescaped `%`.
pub(crate) fn like_pattern(text: &str) -> String {
    if contains_unescaped(text, '%') {
        return text.to_string();
    }
    format!("%{}%", escape_unescaped(text))
}

/// Whether `ch` occurs without a preceding escaping `\` (`\\` is an escaped backslash).
fn contains_unescaped(text: &str, ch: char) -> bool {
    let mut prev: Option<char> = None;
    for c in text.chars() {
        if c == ch && prev != Some('\\') {
            return true;
        }
        prev = if c == '\\' && prev == Some('\\') {
            None
        } else {
            Some(c)
        };
    }
    false
}

/// PocketBase's `escapeUnescapedChars(text, '\\', '%', '_')`: scanning from the end, a
/// special character gets a `\` before it unless one is already there.
fn escape_unescaped(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<char> = Vec::with_capacity(chars.len() * 2);
    let mut pending = false;
    for (i, &c) in chars.iter().enumerate().rev() {
        if pending {
            if c != '\\' {
                out.push('\\');
            }
            pending = false;
        } else {
            pending = matches!(c, '\\' | '%' | '_');
        }
        out.push(c);
        if i == 0 && pending {
            out.push('\\');
        }
    }
    out.into_iter().rev().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_follow_pocketbase() {
        let cases = [
            ("abc", "%abc%"),
            ("sure_", "%sure\\_%"),
            ("100%", "100%"),
            ("a\\%b", "%a\\%b%"),
            ("_x", "%\\_x%"),
            ("a\\b", "%a\\\\b%"),
            ("", "%%"),
            ("日本_", "%日本\\_%"),
        ];
        for (input, want) in cases {
            assert_eq!(like_pattern(input), want, "{input:?}");
        }
        assert_eq!(go_float(5.0), "5");
        assert_eq!(go_float(-0.5), "-0.5");
        assert_eq!(go_float(1e21), "1000000000000000000000");
    }
}
