//! SQL generation for filters, API rules and sorts (pocketbase-surface.md §2.1, §2.4, §3).
//!
//! This module owns the public interface ([`Resolver`], [`SqlExpr`], [`Param`], …), the
//! join/EXISTS envelope and the translation of comparisons (`sql/compare.rs`); `resolve`
//! turns identifiers (fields, relations, `@request.*`, `@collection.*`, macros, functions)
//! into SQL operands. The output is SQLite.
//!
//! The shape of the SQL copies PocketBase 0.40.6 (checked against the binary's `--dev` SQL log):
//! - PocketBase LEFT JOINs every relation, back-relation, `:each` array and `@collection` a
//!   filter walks into the main query and keeps a row when *some* combination of joined
//!   rows satisfies the WHERE (then `DISTINCT`). We emit the same joins inside one correlated
//!   `EXISTS (SELECT 1 FROM (SELECT 1) LEFT JOIN … WHERE …)`, so the result refers to the
//!   filtered row only through `main_alias` and composes anywhere, with identical results.
//!   Comparisons that walk the same path share its join, as in PocketBase (so
//!   `tags:each ?= 'a' && tags:each ?= 'b'` needs one item equal to both, a PocketBase quirk).
//! - Without a `?` operator, a multi-valued side must match for every item: next to the
//!   joined comparison PocketBase adds `NOT EXISTS (SELECT 1 FROM (<items>) WHERE NOT <cmp>)`
//!   over an independent copy of the path; so do we.
//! - `=`/`!=` treat `''` and NULL alike with PocketBase's exact case analysis (`x = ''` →
//!   `(x = '' OR x IS NULL)`, column vs column → `COALESCE(x, '') = COALESCE(y, '')`, JSON
//!   values → `IS`).
//! - Values are always bound `?` parameters; identifiers are schema names (checked to exist)
//!   quoted with [`crate::store::sql::quote`]; JSON paths are bound too.

pub(crate) mod compare;
#[cfg(test)]
mod tests;

use std::sync::{Arc, OnceLock};

use std::fmt;

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::core::collection::Collection;
use crate::filter::resolve::{Ctx, Scope};
use crate::filter::{ExprGroup, FilterError, Side, SortDirection, SortField};
use crate::store::sql::{is_valid_identifier, quote};

/// A value bound to a `?` placeholder.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// SQL NULL.
    Null,
    /// An integer (booleans bind as 0/1, as Go's SQLite driver does).
    Integer(i64),
    /// A float (every number literal binds as a float, as PocketBase's `cast.ToFloat64`).
    Real(f64),
    /// Text.
    Text(String),
}

/// What a rule or filter may read about the current request (`@request.*`).
#[derive(Debug, Clone, Default)]
pub struct RequestInfo {
    /// The authenticated record, `None` for guests.
    pub auth: Option<AuthInfo>,
    /// The submitted body (create/update), as decoded JSON or form values.
    pub body: Map<String, Value>,
    /// Query parameters (string values).
    pub query: Map<String, Value>,
    /// Headers, names in lower snake_case (`x_token`), string values.
    pub headers: Headers,
    /// The HTTP method, e.g. `GET`.
    pub method: String,
    /// `default`, `oauth2`, `otp`, `password`, `realtime`, `protectedFile`, `batch` or `expand`.
    pub context: String,
}

/// `@request.headers`, built from the request's headers on first use: most rules never read
/// them, and a browser sends a dozen (three allocations each).
#[derive(Debug, Clone, Default)]
pub struct Headers {
    raw: HeaderMap,
    map: OnceLock<Map<String, Value>>,
}

impl Headers {
    pub fn new(raw: HeaderMap) -> Headers {
        Headers {
            raw,
            map: OnceLock::new(),
        }
    }

    /// Names in lower snake_case (`x_token`), string values (headers that are not text are
    /// left out).
    pub fn map(&self) -> &Map<String, Value> {
        self.map.get_or_init(|| {
            self.raw
                .iter()
                .filter_map(|(name, value)| {
                    let key = name.as_str().to_ascii_lowercase().replace('-', "_");
                    let value = value.to_str().ok()?;
                    Some((key, Value::String(value.to_string())))
                })
                .collect()
        })
    }
}

impl From<Map<String, Value>> for Headers {
    fn from(map: Map<String, Value>) -> Headers {
        Headers {
            raw: HeaderMap::new(),
            map: OnceLock::from(map),
        }
    }
}

/// The authenticated record behind `@request.auth.*`.
#[derive(Debug, Clone)]
pub struct AuthInfo {
    /// Its (auth) collection.
    pub collection: Arc<Collection>,
    /// Its field values (at least `id`, `email`, `emailVisibility`, `verified`).
    pub record: Map<String, Value>,
}

/// Compiles parsed filters and sorts for rows of one collection.
#[derive(Debug, Clone, Copy)]
pub struct Resolver<'a> {
    /// The collection whose rows are filtered.
    pub collection: &'a Collection,
    /// Every collection (relations, back-relations, `@collection`).
    pub all: &'a [Arc<Collection>],
    /// The current request.
    pub request: &'a RequestInfo,
    /// SQL alias of the filtered row, e.g. `_r` (letters, digits, `_`; not starting `__sq`).
    pub main_alias: &'a str,
    /// Superusers may filter hidden fields; for everyone else hidden fields are errors, joined
    /// collections must have a list rule (which then applies) and auth emails must be public.
    pub superuser: bool,
}

/// SQL text with its parameters, in placeholder order.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlExpr {
    /// The SQL fragment.
    pub sql: String,
    /// One value per `?`, in order.
    pub params: Vec<Param>,
}

impl SqlExpr {
    /// A condition every row meets.
    pub fn always() -> SqlExpr {
        SqlExpr {
            sql: "1".to_string(),
            params: Vec::new(),
        }
    }
}

/// One condition of [`Resolver::where_sql_at`].
#[derive(Debug, Clone, Copy)]
pub struct Part<'a> {
    /// The parsed rule or filter.
    pub groups: &'a [ExprGroup],
    /// PocketBase's `allowHiddenFields` for this part: `true` for API rules (PocketBase
    /// resolves rules with hidden fields allowed, even for guests), the superuser flag for
    /// a client `filter`.
    pub allow_hidden: bool,
}

/// Why a filter or sort could not be compiled. Messages follow PocketBase's.
#[derive(Debug, Clone, PartialEq)]
pub enum ResolveError {
    /// An operand failed: `invalid left operand "x" - <cause>`.
    Operand {
        /// Which side.
        side: Side,
        /// The operand as written.
        literal: String,
        /// Why.
        cause: Box<ResolveError>,
    },
    /// The name is not resolvable (bad shape or missing path segment).
    UnresolvableField(String),
    /// The last segment is not a field of its collection.
    UnknownField(String),
    /// A hidden field used without hidden access.
    HiddenField(String),
    /// A hidden back-relation field used without hidden access.
    HiddenBackRelation(String),
    /// A middle segment that is neither a relation, JSON nor geoPoint field.
    NotARelation(String),
    /// More than 6 nested relations.
    TooManyRelations(String),
    /// Nesting deeper than the builder allows.
    TooDeep,
    /// `@collection.x` without a field.
    InvalidCollectionPath(String),
    /// `@collection.<name>` names no collection.
    UnknownCollection {
        /// The collection part as written.
        name: String,
        /// The whole identifier.
        path: String,
    },
    /// A relation's target collection is missing.
    MissingRelationCollection(String),
    /// A back-relation's collection is missing.
    MissingBackCollection(String),
    /// A back-relation names a missing field.
    MissingBackField(String),
    /// A back-relation field that is not a relation.
    InvalidBackField(String),
    /// A back-relation field pointing to another collection.
    InvalidBackReference(String),
    /// An unknown `:modifier`.
    UnknownModifier(String),
    /// A modifier that does not apply to this value (e.g. `:each` on a query parameter).
    InvalidModifier {
        /// The name before the colon.
        name: String,
        /// The modifier.
        modifier: String,
    },
    /// `:each`/`:length` on a body field that is not select, relation or file.
    NotMultiValued(String),
    /// Non-superusers reaching into a collection whose list rule is `null`.
    RestrictedCollection(String),
    /// A joined collection's list rule failed to compile.
    ListRule {
        /// The collection.
        collection: String,
        /// Why.
        cause: Box<ResolveError>,
    },
    /// A joined collection's list rule failed to parse.
    Parse(FilterError),
    /// An unknown function name.
    UnknownFunction(String),
    /// Bad function arguments (PocketBase's `[geoDistance] …`/`[strftime] …` messages).
    FunctionArgument(String),
    /// A sort field that is unknown or not a column.
    InvalidSortField(String),
    /// `main_alias` is not a plain identifier.
    InvalidAlias(String),
    /// An empty expression list.
    Empty,
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Operand {
                side,
                literal,
                cause,
            } => {
                let side = if *side == Side::Left { "left" } else { "right" };
                write!(f, "invalid {side} operand {literal:?} - {cause}")
            }
            Self::UnresolvableField(n) => write!(f, "failed to resolve field {n:?}"),
            Self::UnknownField(n) => write!(f, "unknown field {n:?}"),
            Self::HiddenField(n) => write!(f, "non-filterable field {n:?}"),
            Self::HiddenBackRelation(n) => write!(f, "non-filterable back relation field {n:?}"),
            Self::NotARelation(n) => write!(f, "field {n:?} is not a valid relation"),
            Self::TooManyRelations(n) => write!(f, "max nested relations reached for field {n:?}"),
            Self::TooDeep => f.write_str("max nested groups depth reached"),
            Self::InvalidCollectionPath(p) => write!(f, "invalid @collection field path in {p:?}"),
            Self::UnknownCollection { name, path } => {
                write!(
                    f,
                    "failed to load collection {name:?} from field path {path:?}"
                )
            }
            Self::MissingRelationCollection(n) => {
                write!(f, "failed to load field {n:?} collection")
            }
            Self::MissingBackCollection(n) => {
                write!(f, "failed to load back relation field {n:?} collection")
            }
            Self::MissingBackField(n) => write!(f, "missing back relation field {n:?}"),
            Self::InvalidBackField(n) => write!(f, "invalid back relation field {n:?}"),
            Self::InvalidBackReference(n) => write!(
                f,
                "invalid collection reference of a back relation field {n:?}"
            ),
            Self::UnknownModifier(n) => write!(f, "unknown modifier in {n:?}"),
            Self::InvalidModifier { name, modifier } => {
                write!(f, "invalid modifier sequence {name}:{modifier}")
            }
            Self::NotMultiValued(n) => {
                write!(f, "field {n:?} doesn't support multivalue operations")
            }
            Self::RestrictedCollection(c) => write!(
                f,
                "{c:?} fields can be accessed only when allowHiddenFields is enabled or by superusers"
            ),
            Self::ListRule { collection, cause } => write!(
                f,
                "failed to build {collection:?} ListRule join subquery filter expression: {cause}"
            ),
            Self::Parse(err) => write!(f, "{err}"),
            Self::UnknownFunction(n) => write!(f, "unknown function {n:?}"),
            Self::FunctionArgument(m) => f.write_str(m),
            Self::InvalidSortField(n) => write!(f, "invalid sort field {n:?}"),
            Self::InvalidAlias(a) => write!(f, "invalid main alias {a:?}"),
            Self::Empty => f.write_str("empty filter expression"),
        }
    }
}

impl std::error::Error for ResolveError {}

/// A bound value with whether PocketBase would count it among the operand's own params
/// (`value`) rather than structural ones we bind for safety (JSON paths, join keys).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Bind {
    pub param: Param,
    pub value: bool,
}

/// A SQL fragment under construction; every emission of a fragment carries its binds, so a
/// fragment written twice binds its values twice.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Frag {
    pub sql: String,
    pub binds: Vec<Bind>,
}

impl Frag {
    /// Fixed SQL text (keywords, quoted schema identifiers) without binds.
    pub fn raw(sql: impl Into<String>) -> Frag {
        Frag {
            sql: sql.into(),
            binds: Vec::new(),
        }
    }

    /// `?` bound to a value of the operand (a literal or request value).
    pub fn value(param: Param) -> Frag {
        Frag {
            sql: "?".into(),
            binds: vec![Bind { param, value: true }],
        }
    }

    /// `?` bound to a structural value (JSON path, join key).
    pub fn structural(param: Param) -> Frag {
        Frag {
            sql: "?".into(),
            binds: vec![Bind {
                param,
                value: false,
            }],
        }
    }

    /// Appends fixed SQL text.
    pub fn push_str(&mut self, sql: &str) -> &mut Frag {
        self.sql.push_str(sql);
        self
    }

    /// Appends another fragment with its binds.
    pub fn push(&mut self, other: &Frag) -> &mut Frag {
        self.sql.push_str(&other.sql);
        self.binds.extend(other.binds.iter().cloned());
        self
    }

    /// `prefix other suffix` as a new fragment.
    pub fn wrap(prefix: &str, other: &Frag, suffix: &str) -> Frag {
        let mut out = Frag::raw(prefix);
        out.push(other).push_str(suffix);
        out
    }

    /// The operand's own params (PocketBase's `ResolverResult.Params`).
    pub fn values(&self) -> Vec<Param> {
        self.binds
            .iter()
            .filter(|b| b.value)
            .map(|b| b.param.clone())
            .collect()
    }

    fn into_expr(self) -> SqlExpr {
        SqlExpr {
            sql: self.sql,
            params: self.binds.into_iter().map(|b| b.param).collect(),
        }
    }
}

/// Parts joined with `AND`, each parenthesized.
pub(crate) fn and_all(parts: &[Frag]) -> Frag {
    let mut out = Frag::default();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push_str(" AND ");
        }
        out.push(&Frag::wrap("(", part, ")"));
    }
    out
}

impl Resolver<'_> {
    /// A boolean SQL expression for `groups`, referring to the filtered row only through
    /// `main_alias` (so the caller can use it in `SELECT … FROM "posts" AS "_r" WHERE <sql>`,
    /// or against a would-be record: `SELECT 1 FROM (SELECT ? AS "id", ? AS "title") AS "_r" WHERE <sql>`).
    ///
    /// Hidden-field access follows [`Resolver::superuser`]; use [`Resolver::where_sql_at`]
    /// for API rules (PocketBase resolves them with hidden fields allowed) or to combine a
    /// rule and a filter so they share joins as in PocketBase.
    pub fn where_sql(&self, groups: &[ExprGroup]) -> Result<SqlExpr, ResolveError> {
        let part = Part {
            groups,
            allow_hidden: self.superuser,
        };
        self.where_sql_at(&[part], Utc::now())
    }

    /// All `parts` ANDed into one expression with shared joins (PocketBase builds a list
    /// rule and the client filter into one query), with `now` for the datetime macros.
    /// No parts means always true.
    pub fn where_sql_at(
        &self,
        parts: &[Part<'_>],
        now: DateTime<Utc>,
    ) -> Result<SqlExpr, ResolveError> {
        self.check_alias()?;
        if parts.is_empty() {
            return Ok(Frag::raw("1=1").into_expr());
        }
        let mut ctx = Ctx::new(self, now);
        let mut conditions = Vec::with_capacity(parts.len());
        for part in parts {
            let scope = Scope::main(self, part.allow_hidden);
            conditions.push(ctx.build_groups(&scope, part.groups, 0)?);
        }
        conditions.extend(ctx.list_rule_conditions()?);
        Ok(ctx.exists(&and_all(&conditions)).into_expr())
    }

    /// `ORDER BY` terms (without the keywords) for a parsed sort; `@random` → RANDOM(),
    /// `@rowid` → the main rowid. A path through relations sorts by its first item (what
    /// PocketBase's `DISTINCT` over the joined rows yields).
    pub fn order_sql(&self, sort: &[SortField]) -> Result<SqlExpr, ResolveError> {
        self.check_alias()?;
        let mut out = Frag::default();
        for (i, field) in sort.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let direction = match field.direction {
                SortDirection::Asc => " ASC",
                SortDirection::Desc => " DESC",
            };
            if field.is_random() {
                out.push_str("RANDOM()");
            } else if field.is_rowid() {
                out.push_str(&format!("{}.`_rowid_`{direction}", quote(self.main_alias)));
            } else {
                out.push(&self.sort_term(&field.name)?).push_str(direction);
            }
        }
        Ok(out.into_expr())
    }

    fn sort_term(&self, name: &str) -> Result<Frag, ResolveError> {
        let invalid = || ResolveError::InvalidSortField(name.to_string());
        let mut ctx = Ctx::new(self, Utc::now());
        let scope = Scope::main(self, self.superuser);
        let resolved = ctx.resolve_field(&scope, name).map_err(|_| invalid())?;
        if !resolved.pb_params.is_empty() || resolved.frag.sql.eq_ignore_ascii_case("null") {
            return Err(invalid());
        }
        let rules = ctx.list_rule_conditions()?;
        Ok(ctx.scalar(&resolved.frag, &rules))
    }

    fn check_alias(&self) -> Result<(), ResolveError> {
        if is_valid_identifier(self.main_alias) && !self.main_alias.starts_with("__sq") {
            Ok(())
        } else {
            Err(ResolveError::InvalidAlias(self.main_alias.to_string()))
        }
    }
}
