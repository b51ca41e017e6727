//! Walking a field path (`author.team.name`, `comments_via_post.likes`, `meta.a.0`,
//! `tags:each`) from a starting row, as PocketBase's `processActiveProps` and
//! `finalizeActivePropsProcessing` do.
//!
//! Each step joins the next table into the compilation's shared joins and, in parallel,
//! into this path's own item subquery (PocketBase's multi-match subquery), which starts
//! from the same row; that subquery is attached to the operand only once a step can yield
//! several rows (a multi relation, a back-relation without a unique index, `:each` on a
//! multi field, `@collection`).

use crate::core::collection::Collection;
use crate::core::field::{Field, FieldOptions};
use crate::filter::resolve::{Ctx, Fallback, Multi, Resolved, Scope, split_modifier};
use crate::filter::sql::{Frag, Param, ResolveError};
use crate::store::sql::quote;

/// PocketBase's `maxNestedRels`.
const MAX_RELATIONS: usize = 6;

/// `alias`.`column`.
pub(super) fn column(alias: &str, name: &str) -> String {
    format!("{}.{}", quote(alias), quote(name))
}

/// PocketBase's `dbutils.JSONEach` argument: the value as a JSON array (a scalar becomes a
/// one-item array) so `json_each` never fails on malformed text.
pub(super) fn as_json_array(column: &str) -> String {
    format!(
        "CASE WHEN iif(json_valid({column}), json_type({column})='array', FALSE) \
         THEN {column} ELSE json_array({column}) END"
    )
}

/// PocketBase's `dbutils.JSONArrayLength`: `''` and NULL count as empty.
fn json_array_length(column: &str) -> Frag {
    Frag::raw(format!(
        "json_array_length(CASE WHEN iif(json_valid({column}), json_type({column})='array', FALSE) \
         THEN {column} ELSE (CASE WHEN {column} = '' OR {column} IS NULL THEN json_array() \
         ELSE json_array({column}) END) END)"
    ))
}

/// PocketBase's `dbutils.JSONExtract`; text that is not JSON is read as a JSON string.
fn json_extract(column: &str, path: &str) -> Frag {
    let suffix = if path.is_empty() || path.starts_with('[') {
        path.to_string()
    } else {
        format!(".{path}")
    };
    let mut out = Frag::raw(format!(
        "(CASE WHEN json_valid({column}) THEN JSON_EXTRACT({column}, "
    ));
    out.push(&Frag::structural(Param::Text(format!("${suffix}"))))
        .push_str(&format!(
            ") ELSE JSON_EXTRACT(json_object('pb', {column}), "
        ))
        .push(&Frag::structural(Param::Text(format!("$.pb{suffix}"))))
        .push_str(") END)");
    out
}

/// PocketBase's `inflector.Columnify`: drops characters other than `[\w.*\-@#]`.
fn columnify(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '*' | '-' | '@' | '#'))
        .collect()
}

/// Select, relation and file fields (PocketBase's `MultiValuer`), which take `:each` and
/// `:length`.
pub(super) fn is_multi_valuer(field: &Field) -> bool {
    matches!(
        field.options,
        FieldOptions::Select { .. } | FieldOptions::Relation { .. } | FieldOptions::File { .. }
    )
}

/// The item subquery built alongside the main path.
struct ItemPath {
    on: bool,
    base: String,
    joins: Frag,
    alias: String,
}

impl ItemPath {
    fn multi(&self, value: Frag) -> Option<Multi> {
        self.on.then(|| {
            let mut from = Frag::raw(format!("(SELECT 1) {}", quote(&self.base)));
            from.push(&self.joins);
            Multi { from, value }
        })
    }
}

/// A path being walked.
pub(super) struct Walk<'a> {
    collection: &'a Collection,
    alias: String,
    key: String,
    allow_hidden: bool,
    suffix: String,
    nullify: bool,
    items: ItemPath,
}

impl<'a> Walk<'a> {
    /// Starts at `scope`'s row; `nullify` turns missing names into NULL (`@request.*`).
    pub(super) fn new(ctx: &mut Ctx<'a>, scope: &Scope<'a>, nullify: bool) -> Walk<'a> {
        Walk {
            collection: scope.collection,
            alias: scope.alias.clone(),
            key: scope.key.clone(),
            allow_hidden: scope.allow_hidden,
            suffix: scope.suffix.clone(),
            nullify,
            items: ItemPath {
                on: false,
                base: ctx.alias(),
                joins: Frag::default(),
                alias: scope.alias.clone(),
            },
        }
    }

    /// Moves to a joined table: `alias` in the main joins, `item_join` (given the item-path
    /// alias) in the item subquery.
    pub(super) fn step(
        &mut self,
        ctx: &mut Ctx<'a>,
        target: &'a Collection,
        (alias, key): (String, String),
        item_join: impl FnOnce(&str) -> Frag,
    ) {
        let item_alias = ctx.alias();
        self.items.joins.push(&item_join(&item_alias));
        self.items.alias = item_alias;
        self.collection = target;
        self.alias = alias;
        self.key = key;
    }

    /// Marks the path as yielding several items.
    pub(super) fn set_multi(&mut self) {
        self.items.on = true;
    }

    /// The join key for a step named `name`.
    pub(super) fn key_for(&self, name: &str) -> String {
        format!("{}_{name}{}", self.key, self.suffix)
    }

    /// Resolves the remaining `props`, the last of which names the value.
    pub(super) fn props(
        mut self,
        ctx: &mut Ctx<'a>,
        props: &[&str],
    ) -> Result<Resolved, ResolveError> {
        let Some(last) = props.len().checked_sub(1) else {
            return Err(ResolveError::UnresolvableField(String::new()));
        };
        for (i, prop) in props.iter().enumerate() {
            if i == last {
                return self.finish(ctx, prop);
            }
            let field = self.collection.field(prop);
            if let Some(field) = field {
                if field.hidden && !self.allow_hidden {
                    return Err(ResolveError::HiddenField(prop.to_string()));
                }
                if matches!(
                    field.options,
                    FieldOptions::Json { .. } | FieldOptions::GeoPoint
                ) {
                    return Ok(self.json_path(field, &props[i + 1..]));
                }
            }
            if i >= MAX_RELATIONS {
                return Err(ResolveError::TooManyRelations(prop.to_string()));
            }
            match field {
                None => {
                    if !self.back_relation(ctx, prop)? {
                        return Ok(Resolved::null());
                    }
                }
                Some(field) if matches!(field.options, FieldOptions::Relation { .. }) => {
                    let target = relation_target(ctx, self.collection, field, prop)?;
                    // `rel.id` of a single relation is the column itself (no join).
                    if !field.is_multiple() && i + 2 == props.len() && props[i + 1] == "id" {
                        return self.finish(ctx, &field.name);
                    }
                    self.relation(ctx, field, target)?;
                }
                Some(_) => return Err(ResolveError::NotARelation(prop.to_string())),
            }
        }
        Err(ResolveError::UnresolvableField(props.join(".")))
    }

    fn relation(
        &mut self,
        ctx: &mut Ctx<'a>,
        field: &'a Field,
        target: &'a Collection,
    ) -> Result<(), ResolveError> {
        let key = self.key_for(&field.name);
        let source = column(&self.alias, &field.name);
        let multiple = field.is_multiple();
        let alias = if multiple {
            let each = ctx.join(format!("__je_{key}"), |a| {
                Frag::raw(format!(
                    " LEFT JOIN json_each({}) {}",
                    as_json_array(&source),
                    quote(a)
                ))
            });
            let value = column(&each, "value");
            ctx.join_collection(self.allow_hidden, key.clone(), target, |a| {
                Some(Frag::raw(format!("{} = {value}", column(a, "id"))))
            })?
        } else {
            ctx.join_collection(self.allow_hidden, key.clone(), target, |a| {
                Some(Frag::raw(format!("{} = {source}", column(a, "id"))))
            })?
        };
        if multiple {
            self.set_multi();
        }
        let item_source = column(&self.items.alias, &field.name);
        let each_alias = ctx.alias();
        self.step(ctx, target, (alias, key), |a| {
            let table = quote(&target.name);
            Frag::raw(if multiple {
                format!(
                    " LEFT JOIN json_each({}) {} LEFT JOIN {table} {} ON {} = {}",
                    as_json_array(&item_source),
                    quote(&each_alias),
                    quote(a),
                    column(a, "id"),
                    column(&each_alias, "value")
                )
            } else {
                format!(
                    " LEFT JOIN {table} {} ON {} = {item_source}",
                    quote(a),
                    column(a, "id")
                )
            })
        });
        Ok(())
    }

    /// The collection and relation field named by `collection_via_field`; `Ok(None)` when
    /// it does not resolve and missing names are NULL (`@request.*` paths).
    fn back_target(
        &self,
        ctx: &Ctx<'a>,
        prop: &str,
    ) -> Result<Option<(&'a Collection, &'a Field)>, ResolveError> {
        let fail = |err: ResolveError| if self.nullify { Ok(None) } else { Err(err) };
        let Some((name, field_name)) = split_via(prop) else {
            return fail(ResolveError::UnresolvableField(prop.to_string()));
        };
        let Some(back) = ctx.find_collection(self.collection, name) else {
            return fail(ResolveError::MissingBackCollection(prop.to_string()));
        };
        let Some(field) = back.field(field_name) else {
            return fail(ResolveError::MissingBackField(field_name.to_string()));
        };
        let FieldOptions::Relation { collection_id, .. } = &field.options else {
            return fail(ResolveError::InvalidBackField(field_name.to_string()));
        };
        if field.hidden && !self.allow_hidden {
            return Err(ResolveError::HiddenBackRelation(field.name.clone()));
        }
        if *collection_id != self.collection.id {
            return fail(ResolveError::InvalidBackReference(field.name.clone()));
        }
        Ok(Some((back, field)))
    }

    /// `collection_via_field`: rows of another collection whose relation points here.
    /// Returns `false` when the name resolved to NULL instead.
    fn back_relation(&mut self, ctx: &mut Ctx<'a>, prop: &str) -> Result<bool, ResolveError> {
        let Some((back, field)) = self.back_target(ctx, prop)? else {
            return Ok(false);
        };
        let key = self.key_for(prop);
        let multiple = field.is_multiple();
        let on = |row: &str, parent: &str, each: &str| {
            if multiple {
                format!(
                    "{} IN (SELECT {} FROM json_each({}) {})",
                    column(parent, "id"),
                    column(each, "value"),
                    as_json_array(&column(row, &field.name)),
                    quote(each)
                )
            } else {
                format!("{} = {}", column(row, &field.name), column(parent, "id"))
            }
        };
        let (each, parent) = (ctx.alias(), self.alias.clone());
        let alias = ctx.join_collection(self.allow_hidden, key.clone(), back, |a| {
            Some(Frag::raw(on(a, &parent, &each)))
        })?;
        // A single relation without a unique index can still point here from many rows.
        if multiple || (!self.items.on && !back.has_unique_index(&field.name)) {
            self.set_multi();
        }
        let (item_each, item_parent) = (ctx.alias(), self.items.alias.clone());
        self.step(ctx, back, (alias, key), |a| {
            let on = on(a, &item_parent, &item_each);
            Frag::raw(format!(
                " LEFT JOIN {} {} ON {on}",
                quote(&back.name),
                quote(a)
            ))
        });
        Ok(true)
    }

    /// The rest of the path as a JSON path into a json or geoPoint field.
    fn json_path(self, field: &Field, rest: &[&str]) -> Resolved {
        let mut path = String::new();
        for (j, prop) in rest.iter().enumerate() {
            if prop.parse::<i64>().is_ok() {
                path.push_str(&format!("[{}]", columnify(prop)));
            } else {
                if j > 0 {
                    path.push('.');
                }
                path.push_str(&columnify(prop));
            }
        }
        let value = json_extract(&column(&self.items.alias, &field.name), &path);
        let mut out = Resolved::new(
            json_extract(&column(&self.alias, &field.name), &path),
            Fallback::Disabled,
        );
        out.multi = self.items.multi(value);
        out
    }

    /// The last segment: a field with an optional modifier.
    fn finish(self, ctx: &mut Ctx<'a>, prop: &str) -> Result<Resolved, ResolveError> {
        let (name, modifier) = split_modifier(prop)?;
        let Some(field) = self.collection.field(name) else {
            if self.nullify {
                return Ok(Resolved::null());
            }
            return Err(ResolveError::UnknownField(name.to_string()));
        };
        if field.hidden && !self.allow_hidden {
            return Err(ResolveError::HiddenField(name.to_string()));
        }
        let source = column(&self.alias, &field.name);
        let item = column(&self.items.alias, &field.name);
        if modifier == "length" && is_multi_valuer(field) {
            let mut out = Resolved::new(json_array_length(&source), Fallback::Auto);
            out.multi = self.items.multi(json_array_length(&item));
            return Ok(out);
        }
        if modifier == "each" && is_multi_valuer(field) {
            return Ok(self.each(ctx, field, &source, &item));
        }
        let mut out = Resolved::new(Frag::raw(source.clone()), Fallback::Auto);
        out.numeric = matches!(field.options, FieldOptions::Number { .. }) && modifier.is_empty();
        let mut value = Frag::raw(item.clone());
        // Non-superusers only see the emails their owners made public (§3).
        if field.name == "email" && !self.allow_hidden && self.collection.is_auth() {
            out.visible = Some(Frag::raw(format!(
                "{} = TRUE",
                column(&self.alias, "emailVisibility")
            )));
        }
        // JSON columns are compared as JSON values (PocketBase issue #4068).
        if matches!(field.options, FieldOptions::Json { .. }) {
            out.fallback = Fallback::Disabled;
            out.frag = json_extract(&source, "");
            value = json_extract(&item, "");
        }
        if modifier == "lower" {
            out.frag = Frag::wrap("LOWER(", &out.frag, ")");
            value = Frag::wrap("LOWER(", &value, ")");
        }
        out.multi = self.items.multi(value);
        Ok(out)
    }

    /// `field:each`: one row per item, joined; "all items" unless `?` when the field holds
    /// several values.
    fn each(mut self, ctx: &mut Ctx<'a>, field: &Field, source: &str, item: &str) -> Resolved {
        let key = format!("__je_{}", self.key_for(&field.name));
        let each = ctx.join(key, |a| {
            Frag::raw(format!(
                " LEFT JOIN json_each({}) {}",
                as_json_array(source),
                quote(a)
            ))
        });
        if field.is_multiple() {
            self.set_multi();
        }
        let item_each = ctx.alias();
        self.items.joins.push_str(&format!(
            " LEFT JOIN json_each({}) {}",
            as_json_array(item),
            quote(&item_each)
        ));
        let mut out = Resolved::new(Frag::raw(column(&each, "value")), Fallback::Auto);
        out.multi = self.items.multi(Frag::raw(column(&item_each, "value")));
        out
    }
}

/// The collection a relation field points to.
fn relation_target<'a>(
    ctx: &Ctx<'a>,
    from: &'a Collection,
    field: &Field,
    prop: &str,
) -> Result<&'a Collection, ResolveError> {
    let FieldOptions::Relation { collection_id, .. } = &field.options else {
        return Err(ResolveError::NotARelation(prop.to_string()));
    };
    ctx.find_collection(from, collection_id)
        .ok_or_else(|| ResolveError::MissingRelationCollection(prop.to_string()))
}

/// `^(\w+)_via_(\w+)$` with Go's greedy first group (splits at the last `_via_`).
fn split_via(prop: &str) -> Option<(&str, &str)> {
    let at = prop.rfind("_via_")?;
    let (name, field) = (&prop[..at], &prop[at + 5..]);
    let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    (word(name) && word(field)).then_some((name, field))
}

impl<'a> Ctx<'a> {
    /// A plain field path from `scope`'s row.
    pub(super) fn walk_fields(
        &mut self,
        scope: &Scope<'a>,
        props: &[&str],
    ) -> Result<Resolved, ResolveError> {
        Walk::new(self, scope, false).props(self, props)
    }

    /// `@collection.name[:alias].path`: every row of another collection.
    pub(super) fn collection_field(
        &mut self,
        scope: &Scope<'a>,
        name: &str,
        props: &[&str],
    ) -> Result<Resolved, ResolveError> {
        if props.len() < 3 {
            return Err(ResolveError::InvalidCollectionPath(name.to_string()));
        }
        let (collection, alias) = props[1].split_once(':').unwrap_or((props[1], ""));
        let target = self
            .find_collection(scope.collection, collection)
            .ok_or_else(|| ResolveError::UnknownCollection {
                name: props[1].to_string(),
                path: name.to_string(),
            })?;
        let key = if alias.is_empty() {
            format!("__collection_{}{}", target.name, scope.suffix)
        } else {
            format!("__collection_alias_{alias}{}", scope.suffix)
        };
        let mut walk = Walk::new(self, scope, false);
        walk.set_multi();
        let sql_alias = self.join_collection(scope.allow_hidden, key.clone(), target, |_| None)?;
        walk.step(self, target, (sql_alias, key), |a| {
            Frag::raw(format!(" LEFT JOIN {} {}", quote(&target.name), quote(a)))
        });
        walk.props(self, &props[2..])
    }
}
