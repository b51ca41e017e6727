//! Identifier resolution for the SQL generator: PocketBase's `RecordFieldResolver` and its
//! runner (`core/record_field_resolver*.go`), written for correlated subqueries.
//!
//! [`Ctx`] holds what one compilation shares: the joins (keyed like PocketBase's table
//! aliases, so two comparisons walking the same path share one join), the joined collections
//! whose list rules apply for non-superusers, fresh SQL aliases (`__sqN`) and the clock.
//! A [`Scope`] says which row names resolve against: the filtered row, or a joined row
//! while its collection's list rule is compiled. Paths are walked in `resolve/path.rs`,
//! `@request.*` values and macros live in `resolve/request.rs`, functions in
//! `resolve/functions.rs`.

mod functions;
mod path;
mod request;

use chrono::{DateTime, Utc};

use crate::core::collection::Collection;
use crate::filter::sql::{Frag, Param, ResolveError, Resolver, and_all};
use crate::filter::{Expr, ExprGroup, Join, Keyword, Limits, Node, Operand, Side};
use crate::store::sql::quote;

/// Nesting bound for hand-built expression lists (the parser already caps filters at 32).
const MAX_NESTING: usize = 256;

/// How `=`/`!=` treat NULL and `''` for an operand (PocketBase's `NullFallbackPreference`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fallback {
    /// Normalize NULL and `''` (the default).
    Auto,
    /// Compare with `IS`/`IS NOT` (JSON values, functions, `:changed`).
    Disabled,
    /// Normalize, and never count the operand as known to be non-empty (`strftime`).
    Enforced,
}

/// The item list of a multi-valued operand: `SELECT <value> AS v FROM <from>`.
#[derive(Debug, Clone)]
pub(crate) struct Multi {
    pub from: Frag,
    pub value: Frag,
}

impl Multi {
    /// The subquery text.
    pub fn select(&self, column: &str) -> Frag {
        let mut out = Frag::wrap(
            "SELECT ",
            &self.value,
            &format!(" AS {} FROM ", quote(column)),
        );
        out.push(&self.from);
        out
    }
}

/// A resolved operand (PocketBase's `ResolverResult`).
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    /// The SQL expression with its binds.
    pub frag: Frag,
    /// PocketBase's `Params` of the operand: what its `''`/NULL analysis, LIKE wrapping and
    /// sort validation look at.
    pub pb_params: Vec<Param>,
    pub fallback: Fallback,
    /// Set when the operand has several values that must all match (unless `?` is used).
    pub multi: Option<Multi>,
    /// An extra condition ANDed to any comparison using the operand (public emails only).
    pub visible: Option<Frag>,
    /// The operand is a number field's column as stored (NUMERIC affinity).
    pub numeric: bool,
}

impl Resolved {
    /// An operand whose own params are the value binds of `frag`.
    pub fn new(frag: Frag, fallback: Fallback) -> Resolved {
        Resolved {
            pb_params: frag.values(),
            frag,
            fallback,
            multi: None,
            visible: None,
            numeric: false,
        }
    }

    /// SQL NULL.
    pub fn null() -> Resolved {
        Resolved::new(Frag::raw("NULL"), Fallback::Auto)
    }

    /// The same operand with PocketBase's params replaced.
    pub fn with_pb(mut self, params: &[Param]) -> Resolved {
        self.pb_params = params.to_vec();
        self
    }

    fn is_empty_identifier(&self) -> bool {
        let sql = self.frag.sql.to_ascii_lowercase();
        matches!(sql.as_str(), "" | "null" | "''" | "\"\"" | "``")
    }

    fn has_empty_param(&self) -> bool {
        self.pb_params
            .iter()
            .any(|p| matches!(p, Param::Null) || matches!(p, Param::Text(t) if t.is_empty()))
    }

    /// PocketBase's "left/right is empty" test in `resolveEqualExpr`.
    pub fn is_empty(&self) -> bool {
        self.is_empty_identifier()
            || (self.fallback == Fallback::Auto
                && self.pb_params.len() == 1
                && self.has_empty_param())
    }

    /// PocketBase's `isKnownNonEmptyIdentifier`.
    pub fn is_known_non_empty(&self) -> bool {
        if self.fallback == Fallback::Enforced {
            return false;
        }
        let sql = self.frag.sql.to_ascii_lowercase();
        matches!(sql.as_str(), "1" | "0" | "false" | "true")
            || (!self.pb_params.is_empty()
                && !self.has_empty_param()
                && !self.is_empty_identifier())
    }
}

/// Where names resolve: the row a path starts from and the rules in force there.
#[derive(Debug, Clone)]
pub(crate) struct Scope<'a> {
    pub collection: &'a Collection,
    /// SQL alias of the starting row.
    pub alias: String,
    /// PocketBase-style alias of the starting row, the prefix of join keys.
    pub key: String,
    pub allow_hidden: bool,
    /// Appended to join keys (unique per list-rule compilation, as PocketBase's suffix).
    pub suffix: String,
}

impl<'a> Scope<'a> {
    /// The filtered row of `resolver`.
    pub fn main(resolver: &Resolver<'a>, allow_hidden: bool) -> Scope<'a> {
        Scope {
            collection: resolver.collection,
            alias: resolver.main_alias.to_string(),
            key: resolver.collection.name.clone(),
            allow_hidden,
            suffix: String::new(),
        }
    }
}

#[derive(Debug)]
struct JoinSql {
    key: String,
    alias: String,
    sql: Frag,
}

/// A joined collection whose list rule constrains the rows (non-superusers only).
#[derive(Debug, Clone)]
struct RuleJoin<'a> {
    collection: &'a Collection,
    alias: String,
    key: String,
}

/// State shared by one compilation.
pub(crate) struct Ctx<'a> {
    pub r: Resolver<'a>,
    pub now: DateTime<Utc>,
    joins: Vec<JoinSql>,
    rule_joins: Vec<RuleJoin<'a>>,
    aliases: usize,
    rules_applied: usize,
}

impl<'a> Ctx<'a> {
    pub fn new(resolver: &Resolver<'a>, now: DateTime<Utc>) -> Ctx<'a> {
        Ctx {
            r: *resolver,
            now,
            joins: Vec::new(),
            rule_joins: Vec::new(),
            aliases: 0,
            rules_applied: 0,
        }
    }

    /// A fresh SQL alias (`__sq0` is the join envelope's base).
    pub fn alias(&mut self) -> String {
        self.aliases += 1;
        format!("__sq{}", self.aliases)
    }

    /// The collection named (case-insensitively) or identified by `name_or_id`, looking at
    /// `base` first as PocketBase's `loadCollection` does.
    pub fn find_collection(
        &self,
        base: &'a Collection,
        name_or_id: &str,
    ) -> Option<&'a Collection> {
        if base.name == name_or_id || base.id == name_or_id {
            return Some(base);
        }
        let all = self.r.all;
        std::iter::once(self.r.collection)
            .chain(all.iter().map(AsRef::as_ref))
            .find(|c| c.id == name_or_id)
            .or_else(|| {
                std::iter::once(self.r.collection)
                    .chain(all.iter().map(AsRef::as_ref))
                    .find(|c| c.name.eq_ignore_ascii_case(name_or_id))
            })
    }

    /// Registers a join under `key` (or reuses it) and returns its alias; `build` gets the
    /// alias and returns the ` LEFT JOIN …` text.
    pub fn join(&mut self, key: String, build: impl FnOnce(&str) -> Frag) -> String {
        if let Some(existing) = self.joins.iter().find(|j| j.key == key) {
            return existing.alias.clone();
        }
        let alias = self.alias();
        let sql = build(&alias);
        self.joins.push(JoinSql {
            key,
            alias: alias.clone(),
            sql,
        });
        alias
    }

    /// Joins a collection's table; `on` gets the alias and returns the ON condition (none
    /// for `@collection`). Without hidden access the collection must have a list rule, which
    /// is then applied (PocketBase's `registerJoin`).
    pub fn join_collection(
        &mut self,
        allow_hidden: bool,
        key: String,
        table: &'a Collection,
        on: impl FnOnce(&str) -> Option<Frag>,
    ) -> Result<String, ResolveError> {
        if !allow_hidden && table.list_rule.is_none() {
            return Err(ResolveError::RestrictedCollection(table.name.clone()));
        }
        let join_key = key.clone();
        let alias = self.join(key, |alias| {
            let mut sql = Frag::raw(format!(
                " LEFT JOIN {} {}",
                quote(&table.name),
                quote(alias)
            ));
            if let Some(on) = on(alias) {
                sql.push_str(" ON ").push(&on);
            }
            sql
        });
        if !allow_hidden && !self.rule_joins.iter().any(|j| j.alias == alias) {
            self.rule_joins.push(RuleJoin {
                collection: table,
                alias: alias.clone(),
                key: join_key,
            });
        }
        Ok(alias)
    }

    /// `body` as is without joins, else `EXISTS (SELECT 1 FROM (SELECT 1) LEFT JOIN … WHERE body)`.
    pub fn exists(&self, body: &Frag) -> Frag {
        if self.joins.is_empty() {
            return body.clone();
        }
        let mut out = Frag::raw("EXISTS (SELECT 1 FROM ");
        out.push(&self.join_source())
            .push_str(" WHERE ")
            .push(body)
            .push_str(")");
        out
    }

    /// A sort value: as is without joins, else the first row of
    /// `(SELECT value FROM (SELECT 1) LEFT JOIN … [WHERE rules] LIMIT 1)`.
    pub fn scalar(&self, value: &Frag, rules: &[Frag]) -> Frag {
        if self.joins.is_empty() {
            return value.clone();
        }
        let mut out = Frag::wrap("(SELECT ", value, " FROM ");
        out.push(&self.join_source());
        if !rules.is_empty() {
            out.push_str(" WHERE ").push(&and_all(rules));
        }
        out.push_str(" LIMIT 1)");
        out
    }

    fn join_source(&self) -> Frag {
        let mut out = Frag::raw("(SELECT 1) `__sq0`");
        for join in &self.joins {
            out.push(&join.sql);
        }
        out
    }

    /// The list rules of the collections joined without hidden access, each as PocketBase's
    /// `id='' || (<rule>)` against its join (empty and absent rules add nothing).
    pub fn list_rule_conditions(&mut self) -> Result<Vec<Frag>, ResolveError> {
        let pending = std::mem::take(&mut self.rule_joins);
        let mut out = Vec::new();
        for join in pending {
            let Some(rule) = join.collection.list_rule.as_deref() else {
                continue;
            };
            if rule.is_empty() {
                continue;
            }
            let wrap = |cause: ResolveError| ResolveError::ListRule {
                collection: join.collection.name.clone(),
                cause: Box::new(cause),
            };
            let limits = Limits {
                max_length: usize::MAX,
                ..Limits::default()
            };
            let text = format!("id='' || (\n{rule}\n)");
            let groups = crate::filter::parse_with_limits(&text, &limits)
                .map_err(|e| wrap(ResolveError::Parse(e)))?;
            self.rules_applied += 1;
            let scope = Scope {
                collection: join.collection,
                alias: join.alias.clone(),
                key: join.key.clone(),
                allow_hidden: true,
                suffix: format!("__rule{}", self.rules_applied),
            };
            out.push(self.build_groups(&scope, &groups, 0).map_err(wrap)?);
        }
        Ok(out)
    }

    /// One level of an expression list as `(a OR b AND c)`: SQL precedence, as PocketBase.
    pub fn build_groups(
        &mut self,
        scope: &Scope<'a>,
        groups: &[ExprGroup],
        depth: usize,
    ) -> Result<Frag, ResolveError> {
        if depth > MAX_NESTING {
            return Err(ResolveError::TooDeep);
        }
        if groups.is_empty() {
            return Err(ResolveError::Empty);
        }
        let mut out = Frag::raw("(");
        for (i, group) in groups.iter().enumerate() {
            if i > 0 {
                out.push_str(if group.join == Join::Or {
                    " OR "
                } else {
                    " AND "
                });
            }
            let item = match &group.item {
                Node::Expr(expr) => self.build_expr(scope, expr)?,
                Node::Group(inner) => self.build_groups(scope, inner, depth + 1)?,
            };
            out.push(&item);
        }
        out.push_str(")");
        Ok(out)
    }

    fn build_expr(&mut self, scope: &Scope<'a>, expr: &Expr) -> Result<Frag, ResolveError> {
        let left = self
            .operand(scope, &expr.left)
            .map_err(|cause| operand_error(Side::Left, &expr.left, cause))?;
        let right = self
            .operand(scope, &expr.right)
            .map_err(|cause| operand_error(Side::Right, &expr.right, cause))?;
        Ok(self.compare(&left, expr.op, &right))
    }

    /// A literal, macro, function or name (PocketBase's `resolveToken`).
    pub fn operand(
        &mut self,
        scope: &Scope<'a>,
        operand: &Operand,
    ) -> Result<Resolved, ResolveError> {
        match operand {
            Operand::Identifier(name) => match self.macro_value(name) {
                Some(value) => Ok(Resolved::new(Frag::value(value), Fallback::Auto)),
                None => self.resolve_field(scope, name),
            },
            Operand::Keyword { keyword, raw } => {
                // A same-named field wins (possible only for spellings such as `NULL`).
                if scope.collection.field(raw).is_some()
                    && let Ok(field) = self.resolve_field(scope, raw)
                {
                    return Ok(field);
                }
                let sql = match keyword {
                    Keyword::Null => "NULL",
                    Keyword::True => "1",
                    Keyword::False => "0",
                };
                Ok(Resolved::new(Frag::raw(sql), Fallback::Auto))
            }
            Operand::Number { value, .. } => Ok(Resolved::new(
                Frag::value(Param::Real(*value)),
                Fallback::Auto,
            )),
            Operand::Text(text) => Ok(Resolved::new(
                Frag::value(Param::Text(text.clone())),
                Fallback::Auto,
            )),
            Operand::Function { name, args } => self.function(scope, name, args),
        }
    }

    /// A field path, `@request.*` or `@collection.*` name (PocketBase's `Resolve`).
    pub fn resolve_field(
        &mut self,
        scope: &Scope<'a>,
        name: &str,
    ) -> Result<Resolved, ResolveError> {
        if !is_allowed_name(name) {
            return Err(ResolveError::UnresolvableField(name.to_string()));
        }
        let props: Vec<&str> = name.split('.').collect();
        match props[0] {
            "@collection" => self.collection_field(scope, name, &props),
            "@request" => self.request_field(scope, name, &props),
            _ => self.walk_fields(scope, &props),
        }
    }
}

/// `invalid left operand "x" - <cause>`, with the operand as its token literal.
fn operand_error(side: Side, operand: &Operand, cause: ResolveError) -> ResolveError {
    let literal = match operand {
        Operand::Identifier(name) => name.clone(),
        Operand::Keyword { raw, .. } => raw.clone(),
        Operand::Number { raw, .. } => raw.clone(),
        Operand::Text(text) => text.clone(),
        Operand::Function { name, .. } => name.clone(),
    };
    ResolveError::Operand {
        side,
        literal,
        cause: Box::new(cause),
    }
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `[\w.:]*\w` (non-empty, ends with a word character).
fn is_path_tail(s: &str) -> bool {
    s.chars().all(|c| is_word(c) || c == '.' || c == ':') && s.ends_with(is_word)
}

/// PocketBase's `allowedFields` patterns of the record resolver.
fn is_allowed_name(name: &str) -> bool {
    if let Some(rest) = name.strip_prefix("@request.") {
        if rest == "context" || rest == "method" {
            return true;
        }
        return ["auth.", "body.", "query.", "headers."]
            .iter()
            .any(|p| rest.strip_prefix(p).is_some_and(is_path_tail));
    }
    if let Some(rest) = name.strip_prefix("@collection.") {
        let Some((head, tail)) = rest.split_once('.') else {
            return false;
        };
        let (collection, alias) = head.split_once(':').unwrap_or((head, "w"));
        let words = |s: &str| !s.is_empty() && s.chars().all(is_word);
        return words(collection) && words(alias) && is_path_tail(tail);
    }
    name.starts_with(is_word) && name.chars().all(|c| is_word(c) || c == '.' || c == ':')
}

/// Splits `name:modifier` (PocketBase's `splitModifier`): no colon or several colons give
/// no modifier; an unknown modifier is an error.
pub(crate) fn split_modifier(prop: &str) -> Result<(&str, &str), ResolveError> {
    let parts: Vec<&str> = prop.split(':').collect();
    if parts.len() != 2 {
        return Ok((prop, ""));
    }
    match parts[1] {
        "isset" | "each" | "length" | "lower" | "changed" => Ok((parts[0], parts[1])),
        _ => Err(ResolveError::UnknownModifier(prop.to_string())),
    }
}
