//! `@request.*` names and the datetime macros.
//!
//! Request values are bound as parameters, typed as PocketBase types them (strings stay
//! text unless they name a number field, booleans bind 0/1, numbers as floats, arrays and
//! objects as JSON text). `@request.auth.<field>` beyond the six token fields, and
//! `@request.body.<relation>.<field>`, join the record(s) and walk on (`resolve/path.rs`).

use chrono::{Datelike, Months, NaiveTime, TimeDelta, Timelike};
use serde_json::{Map, Value};

use crate::core::datetime;
use crate::core::field::{Field, FieldOptions};
use crate::filter::resolve::path::{Walk, column, is_multi_valuer};
use crate::filter::resolve::{Ctx, Fallback, Multi, Resolved, Scope, split_modifier};
use crate::filter::sql::{Frag, Param, ResolveError};
use crate::filter::{Expr, ExprGroup, Join, Keyword, Node, Op, Operand};
use crate::store::sql::quote;

/// Auth fields read from the token's record instead of joining its table.
const PLAIN_AUTH_FIELDS: [&str; 6] = [
    "id",
    "collectionId",
    "collectionName",
    "email",
    "emailVisibility",
    "verified",
];

impl<'a> Ctx<'a> {
    /// `@request.<…>` (PocketBase's runner, `@request` branch).
    pub(super) fn request_field(
        &mut self,
        scope: &Scope<'a>,
        name: &str,
        props: &[&str],
    ) -> Result<Resolved, ResolveError> {
        if name.starts_with("@request.auth.") {
            return self.auth_field(scope, props);
        }
        if name.starts_with("@request.body.") && props.len() > 2 {
            let (field_name, modifier) = split_modifier(props[2])?;
            if let Some(field) = scope.collection.field(field_name) {
                if matches!(field.options, FieldOptions::Relation { .. }) && props.len() > 3 {
                    return self.body_relation(scope, field, props);
                }
                if props.len() == 3 {
                    match modifier {
                        "each" => return self.body_each(scope, field),
                        "length" => return self.body_length(field),
                        "lower" => return Ok(self.body_lower(field)),
                        "changed" => return self.body_changed(scope, field),
                        _ => {}
                    }
                }
            }
        }
        self.static_field(scope, &props[1..])
    }

    fn auth_field(&mut self, scope: &Scope<'a>, props: &[&str]) -> Result<Resolved, ResolveError> {
        let request = self.r.request;
        let Some(auth) = request.auth.as_ref() else {
            return Ok(Resolved::null());
        };
        if props.len() == 3 && PLAIN_AUTH_FIELDS.contains(&props[2]) {
            return self.static_field(scope, &props[1..]);
        }
        let collection = &auth.collection;
        let id = auth
            .record
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let key = format!("__auth_{}{}", collection.name, scope.suffix);
        let by_id = |alias: &str| {
            let mut on = Frag::raw(format!("{} = ", column(alias, "id")));
            on.push(&Frag::structural(Param::Text(id.to_string())));
            on
        };
        let alias = self.join_collection(scope.allow_hidden, key.clone(), collection, |a| {
            Some(by_id(a))
        })?;
        let mut walk = Walk::new(self, scope, true);
        walk.step(self, collection, (alias, key), |a| {
            let mut join = Frag::raw(format!(
                " LEFT JOIN {} {} ON ",
                quote(&collection.name),
                quote(a)
            ));
            join.push(&by_id(a));
            join
        });
        walk.props(self, &props[2..])
    }

    /// `@request.body.<relation>.<path>`: the submitted related records.
    fn body_relation(
        &mut self,
        scope: &Scope<'a>,
        field: &'a Field,
        props: &[&str],
    ) -> Result<Resolved, ResolveError> {
        let FieldOptions::Relation { collection_id, .. } = &field.options else {
            return Ok(Resolved::null());
        };
        let target = self
            .find_collection(scope.collection, collection_id)
            .ok_or_else(|| ResolveError::MissingRelationCollection(field.name.clone()))?;
        let ids = unique_ids(self.r.request.body.get(&field.name));
        if ids.is_empty() {
            return Ok(Resolved::null());
        }
        let key = format!("__data_{}_{}{}", target.name, field.name, scope.suffix);
        let in_ids = |alias: &str| {
            let mut on = Frag::raw(format!("{} IN (", column(alias, "id")));
            for (i, id) in ids.iter().enumerate() {
                if i > 0 {
                    on.push_str(", ");
                }
                on.push(&Frag::structural(Param::Text(id.clone())));
            }
            on.push_str(")");
            on
        };
        let alias =
            self.join_collection(scope.allow_hidden, key.clone(), target, |a| Some(in_ids(a)))?;
        let mut walk = Walk::new(self, scope, true);
        if field.is_multiple() {
            walk.set_multi();
        }
        walk.step(self, target, (alias, key), |a| {
            let mut join = Frag::raw(format!(
                " LEFT JOIN {} {} ON ",
                quote(&target.name),
                quote(a)
            ));
            join.push(&in_ids(a));
            join
        });
        walk.props(self, &props[3..])
    }

    /// `@request.body.<multi field>:each`: one row per submitted item.
    fn body_each(&mut self, scope: &Scope<'a>, field: &Field) -> Result<Resolved, ResolveError> {
        if !is_multi_valuer(field) {
            return Err(ResolveError::NotMultiValued(field.name.clone()));
        }
        let items = Value::Array(to_slice(self.r.request.body.get(&field.name)));
        let json = go_json(&items);
        let each_sql = |alias: &str| {
            let mut join = Frag::raw(" LEFT JOIN json_each(");
            join.push(&Frag::structural(Param::Text(json.clone())))
                .push_str(&format!(") {}", quote(alias)));
            join
        };
        let key = format!("__dataEach_je_{}{}", field.name, scope.suffix);
        let alias = self.join(key, each_sql);
        let mut out = Resolved::new(Frag::raw(column(&alias, "value")), Fallback::Auto)
            .with_pb(&[Param::Text(json.clone())]);
        if field.is_multiple() {
            let (base, item) = (self.alias(), self.alias());
            let mut from = Frag::raw(format!("(SELECT 1) {}", quote(&base)));
            from.push(&each_sql(&item));
            let value = Frag::raw(column(&item, "value"));
            out.multi = Some(Multi { from, value });
        }
        Ok(out)
    }

    fn body_length(&self, field: &Field) -> Result<Resolved, ResolveError> {
        if !is_multi_valuer(field) {
            return Err(ResolveError::NotMultiValued(field.name.clone()));
        }
        let count = to_slice(self.r.request.body.get(&field.name)).len();
        Ok(Resolved::new(Frag::raw(count.to_string()), Fallback::Auto))
    }

    fn body_lower(&self, field: &Field) -> Resolved {
        let text = go_string(self.r.request.body.get(&field.name));
        Resolved::new(
            Frag::wrap("LOWER(", &Frag::value(Param::Text(text)), ")"),
            Fallback::Auto,
        )
    }

    /// `@request.body.x:changed`: PocketBase's alias for
    /// `@request.body.x:isset = true && @request.body.x != x`.
    fn body_changed(&mut self, scope: &Scope<'a>, field: &Field) -> Result<Resolved, ResolveError> {
        let body = format!("@request.body.{}", field.name);
        let expr = |left: String, op, right| ExprGroup {
            join: Join::And,
            item: Node::Expr(Expr {
                left: Operand::Identifier(left),
                op,
                right,
            }),
        };
        let truth = Operand::Keyword {
            keyword: Keyword::True,
            raw: "true".into(),
        };
        let groups = [
            expr(format!("{body}:isset"), Op::Eq, truth),
            expr(body, Op::Neq, Operand::Identifier(field.name.clone())),
        ];
        let frag = self.build_groups(scope, &groups, 0)?;
        Ok(Resolved::new(frag, Fallback::Disabled).with_pb(&[]))
    }

    /// Any other `@request.*` value (PocketBase's `resolveStaticRequestField`).
    fn static_field(&self, scope: &Scope<'a>, path: &[&str]) -> Result<Resolved, ResolveError> {
        let Some((last, parents)) = path.split_last() else {
            return Ok(Resolved::null());
        };
        let (name, modifier) = split_modifier(last)?;
        let mut keys = parents.to_vec();
        keys.push(name);
        let found = self.request_value(&keys);
        if modifier == "isset" {
            let sql = if found.is_some() { "TRUE" } else { "FALSE" };
            return Ok(Resolved::new(Frag::raw(sql), Fallback::Auto));
        }
        let number_field = scope
            .collection
            .field(name)
            .is_some_and(|f| matches!(f.options, FieldOptions::Number { .. }));
        let param = found.and_then(|v| to_param(&v, number_field));
        if !modifier.is_empty() && modifier != "lower" {
            return Err(ResolveError::InvalidModifier {
                name: name.to_string(),
                modifier: modifier.to_string(),
            });
        }
        let Some(param) = param else {
            return Ok(Resolved::null());
        };
        let mut frag = Frag::value(param);
        if modifier == "lower" {
            frag = Frag::wrap("LOWER(", &frag, ")");
        }
        Ok(Resolved::new(frag, Fallback::Auto))
    }

    /// The request value at `keys` (`["body", "title"]`); `None` when absent.
    fn request_value(&self, keys: &[&str]) -> Option<Value> {
        let request = self.r.request;
        let (first, rest) = keys.split_first()?;
        let root = match *first {
            "context" => Value::String(request.context.clone()),
            "method" => Value::String(request.method.clone()),
            "query" => return descend_map(&request.query, rest),
            "headers" => return descend_map(request.headers.map(), rest),
            "body" => return descend_map(&request.body, rest),
            "auth" => match &request.auth {
                Some(auth) => {
                    let mut record = auth.record.clone();
                    record.insert(
                        "collectionId".into(),
                        Value::String(auth.collection.id.clone()),
                    );
                    record.insert(
                        "collectionName".into(),
                        Value::String(auth.collection.name.clone()),
                    );
                    Value::Object(record)
                }
                None => Value::Null,
            },
            _ => return None,
        };
        descend(&root, rest)
    }

    /// The datetime macros (UTC, PocketBase's format) and calendar numbers.
    pub(super) fn macro_value(&self, name: &str) -> Option<Param> {
        let now = self.now;
        let date = now.date_naive();
        let text = |at: chrono::NaiveDateTime| Some(Param::Text(datetime::format(at.and_utc())));
        let start = NaiveTime::MIN;
        let end = NaiveTime::from_hms_milli_opt(23, 59, 59, 999)?;
        let day = TimeDelta::days(1);
        let month_start = date.with_day(1)?;
        let int = |n: u32| Some(Param::Integer(i64::from(n)));
        match name {
            "@now" => text(now.naive_utc()),
            "@yesterday" => text(now.naive_utc().checked_sub_signed(day)?),
            "@tomorrow" => text(now.naive_utc().checked_add_signed(day)?),
            "@todayStart" => text(date.and_time(start)),
            "@todayEnd" => text(date.and_time(end)),
            "@monthStart" => text(month_start.and_time(start)),
            "@monthEnd" => {
                text((month_start.checked_add_months(Months::new(1))?.pred_opt()?).and_time(end))
            }
            "@yearStart" => text(date.with_ordinal(1)?.and_time(start)),
            "@yearEnd" => text(date.with_month(12)?.with_day(31)?.and_time(end)),
            "@second" => int(now.second()),
            "@minute" => int(now.minute()),
            "@hour" => int(now.hour()),
            "@day" => int(now.day()),
            "@month" => int(now.month()),
            "@weekday" => int(now.weekday().num_days_from_sunday()),
            "@year" => Some(Param::Integer(i64::from(now.year()))),
            _ => None,
        }
    }
}

fn descend_map(map: &Map<String, Value>, keys: &[&str]) -> Option<Value> {
    let (first, rest) = keys.split_first()?;
    descend(map.get(*first)?, rest)
}

/// PocketBase's `extractNestedVal`: object keys and array indexes; anything else is absent.
fn descend(value: &Value, keys: &[&str]) -> Option<Value> {
    let Some((first, rest)) = keys.split_first() else {
        return Some(value.clone());
    };
    match value {
        Value::Object(map) => descend(map.get(*first)?, rest),
        Value::Array(items) => descend(items.get(first.parse::<usize>().ok()?)?, rest),
        _ => None,
    }
}

/// A request value as PocketBase binds it; `None` for null.
fn to_param(value: &Value, number_field: bool) -> Option<Param> {
    Some(match value {
        Value::Null => return None,
        Value::String(s) => match s.parse::<f64>() {
            Ok(n) if number_field => Param::Real(n),
            _ => Param::Text(s.clone()),
        },
        Value::Bool(b) => Param::Integer(i64::from(*b)),
        Value::Number(n) => Param::Real(n.as_f64().unwrap_or_default()),
        Value::Array(_) | Value::Object(_) => Param::Text(go_json(value)),
    })
}

/// Go's `cast.ToString` of a body value (arrays and objects give `""`).
fn go_string(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => {
            crate::filter::sql::compare::go_float(n.as_f64().unwrap_or_default())
        }
        _ => String::new(),
    }
}

/// PocketBase's `toSlice`: null is empty, a scalar is one item.
fn to_slice(value: Option<&Value>) -> Vec<Value> {
    match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(other) => vec![other.clone()],
    }
}

/// `list.ToUniqueStringSlice`: ids from a string (or JSON array text) or an array, without
/// empties or duplicates.
fn unique_ids(value: Option<&Value>) -> Vec<String> {
    let items: Vec<String> = match value {
        Some(Value::String(s)) if s.contains('[') => {
            serde_json::from_str(s).unwrap_or_else(|_| vec![s.clone()])
        }
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        if !item.is_empty() && !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// Go's `json.Marshal`: object keys sorted, `<`, `>`, `&`, U+2028 and U+2029 escaped.
fn go_json(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&map[k])))
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(value)
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}
