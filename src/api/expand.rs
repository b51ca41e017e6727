//! `expand` (§2.5): `expand=author,comments_via_post.author` — relation fields and
//! back-relations (`collection_via_field`), dot-nested up to 6 levels. Related records obey
//! their collection's `viewRule`; unknown or refused paths are silently skipped. One query
//! per path level, whatever the number of records.

use std::sync::Arc;

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::api::records::is_own;
use crate::api::rules::{self, Access};
use crate::app::App;
use crate::core::collection::Collection;
use crate::core::field::{Field, FieldOptions};
use crate::core::record::{self, Visibility, input::to_strings};
use crate::error::ApiError;
use crate::store;

const MAX_DEPTH: usize = 6;
/// PocketBase expands at most this many back-related records per record.
const BACK_RELATION_LIMIT: i64 = 1000;

#[derive(Debug, Default)]
struct Tree(BTreeMap<String, Tree>);

impl Tree {
    fn parse(spec: &str) -> Tree {
        let mut tree = Tree::default();
        for path in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let mut node = &mut tree;
            for segment in path.split('.').take(MAX_DEPTH) {
                node = node.0.entry(segment.to_string()).or_default();
            }
        }
        tree
    }
}

/// Expands `items` (serialized records of `collection`) in place.
pub async fn expand(
    app: &App,
    collection: &Collection,
    items: &mut [Value],
    spec: &str,
    access: &Access,
) -> Result<(), ApiError> {
    expand_level(app, collection, items, &Tree::parse(spec), access).await
}

/// What a path segment names: a relation field, or a back-relation.
enum Link<'a> {
    Forward {
        field: &'a Field,
        target: Arc<Collection>,
    },
    Back {
        source: Arc<Collection>,
        field: Field,
    },
}

fn link<'a>(app: &App, collection: &'a Collection, name: &str) -> Option<Link<'a>> {
    if let Some(field) = collection.field(name) {
        let FieldOptions::Relation { collection_id, .. } = &field.options else {
            return None;
        };
        return Some(Link::Forward {
            field,
            target: app.collection(collection_id)?,
        });
    }
    let (source_name, field_name) = name.split_once("_via_")?;
    let source = app.collection(source_name)?;
    let field = source.field(field_name)?.clone();
    let points_here = matches!(&field.options, FieldOptions::Relation { collection_id, .. } if collection_id == &collection.id);
    points_here.then_some(Link::Back { source, field })
}

fn expand_level<'a>(
    app: &'a App,
    collection: &'a Collection,
    items: &'a mut [Value],
    tree: &'a Tree,
    access: &'a Access,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), ApiError>> + Send + 'a>> {
    Box::pin(async move {
        let links: Vec<(&String, Link, &Tree)> = tree
            .0
            .iter()
            .filter_map(|(name, sub)| link(app, collection, name).map(|l| (name, l, sub)))
            .collect();
        if links.is_empty() {
            return Ok(());
        }
        for item in items.iter_mut().filter_map(Value::as_object_mut) {
            item.entry("expand").or_insert_with(|| json!({}));
        }
        for (name, link, sub) in links {
            match link {
                Link::Forward { field, target } => {
                    expand_forward(app, name, field, &target, items, sub, access).await?;
                }
                Link::Back { source, field } => {
                    expand_back(app, name, &source, &field, items, sub, access).await?;
                }
            }
        }
        Ok(())
    })
}

/// The related records a requester may see, serialized and expanded one level deeper.
async fn fetch(
    app: &App,
    target: &Collection,
    access: &Access,
    rows: impl std::future::Future<Output = Result<Vec<Map<String, Value>>, sqlx::Error>>,
    sub: &Tree,
) -> Result<Vec<Value>, ApiError> {
    let rows = rows.await?;
    let mut out: Vec<Value> = rows
        .iter()
        .map(|row| {
            let own = is_own(access.auth.as_ref(), target, row);
            let visibility = Visibility {
                hidden: access.superuser,
                email: access.superuser || own,
            };
            record::api_json(target, row, visibility)
        })
        .collect();
    if !sub.0.is_empty() {
        expand_level(app, target, &mut out, sub, access).await?;
    }
    Ok(out)
}

/// `viewRule` of the related collection as a filter; `None` = not visible (null rule).
fn view_filter(
    app: &App,
    target: &Collection,
    access: &Access,
) -> Result<Option<crate::filter::sql::SqlExpr>, ApiError> {
    match access.rule(&target.view_rule) {
        Err(_) => Ok(None),
        Ok(rule) => rules::compile(app, target, access, rule.as_deref(), None).map(Some),
    }
}

async fn expand_forward(
    app: &App,
    name: &str,
    field: &Field,
    target: &Collection,
    items: &mut [Value],
    sub: &Tree,
    access: &Access,
) -> Result<(), ApiError> {
    let Some(filter) = view_filter(app, target, access)? else {
        return Ok(());
    };
    let mut ids: Vec<String> = items
        .iter()
        .flat_map(|i| to_strings(i.get(&field.name).unwrap_or(&Value::Null)))
        .collect();
    ids.sort();
    ids.dedup();
    let reader = &app.store().reader;
    let related = fetch(
        app,
        target,
        access,
        store::records::by_ids(reader, target, &ids, &filter),
        sub,
    )
    .await?;
    let by_id: BTreeMap<&str, &Value> = related
        .iter()
        .filter_map(|r| r.get("id").and_then(Value::as_str).map(|id| (id, r)))
        .collect();
    for item in items.iter_mut() {
        let wanted = to_strings(item.get(&field.name).unwrap_or(&Value::Null));
        let found: Vec<Value> = wanted
            .iter()
            .filter_map(|id| by_id.get(id.as_str()).map(|v| (*v).clone()))
            .collect();
        let value = if field.is_multiple() {
            if found.is_empty() {
                continue;
            } else {
                Value::Array(found)
            }
        } else {
            match found.into_iter().next() {
                Some(one) => one,
                None => continue,
            }
        };
        if let Some(expand) = item.get_mut("expand").and_then(Value::as_object_mut) {
            expand.insert(name.to_string(), value);
        }
    }
    Ok(())
}

async fn expand_back(
    app: &App,
    name: &str,
    source: &Collection,
    field: &Field,
    items: &mut [Value],
    sub: &Tree,
    access: &Access,
) -> Result<(), ApiError> {
    let Some(filter) = view_filter(app, source, access)? else {
        return Ok(());
    };
    let ids: Vec<String> = items
        .iter()
        .filter_map(|i| i.get("id").and_then(Value::as_str).map(str::to_string))
        .collect();
    let reader = &app.store().reader;
    let limit = BACK_RELATION_LIMIT * ids.len().max(1) as i64;
    let rows = store::records::by_reference(reader, source, field, &ids, &filter, limit);
    let related = fetch(app, source, access, rows, sub).await?;
    for item in items.iter_mut() {
        let id = item.get("id").cloned().unwrap_or(Value::Null);
        let id_text = id.as_str().unwrap_or_default().to_string();
        let found: Vec<Value> = related
            .iter()
            .filter(|r| to_strings(r.get(&field.name).unwrap_or(&Value::Null)).contains(&id_text))
            .take(BACK_RELATION_LIMIT as usize)
            .cloned()
            .collect();
        if found.is_empty() {
            continue;
        }
        if let Some(expand) = item.get_mut("expand").and_then(Value::as_object_mut) {
            expand.insert(name.to_string(), Value::Array(found));
        }
    }
    Ok(())
}
