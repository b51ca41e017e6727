//! API rules at the HTTP edge (§2.4): who bypasses them (superusers), what `null` means
//! (superusers only), compiling a rule or a client `filter`/`sort` to SQL for this request,
//! and the `manageRule` check.

use std::sync::Arc;

use axum::http::{HeaderMap, Method};
use serde_json::{Map, Value};

use crate::api::extract::{AuthRecord, Query};
use crate::app::App;
use crate::core::collection::Collection;
use crate::error::ApiError;
use chrono::Utc;

use crate::filter::sql::{AuthInfo, Headers, Part, RequestInfo, Resolver, SqlExpr};
use crate::filter::{self, ExprGroup};
use crate::store::{self, records::ROW_ALIAS};

/// The requester as rules see it.
pub struct Access {
    pub superuser: bool,
    pub auth: Option<AuthRecord>,
    pub request: RequestInfo,
}

impl Access {
    pub fn new(
        auth: Option<AuthRecord>,
        query: &Query,
        method: Method,
        headers: &HeaderMap,
    ) -> Access {
        let superuser = auth.as_ref().is_some_and(AuthRecord::is_superuser);
        let query_map: Map<String, Value> = query
            .0
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let request = RequestInfo {
            auth: auth.as_ref().map(|a| AuthInfo {
                collection: a.collection.clone(),
                record: a.record.clone(),
            }),
            body: Map::new(),
            query: query_map,
            headers: Headers::new(headers.clone()),
            method: method.as_str().to_string(),
            context: "default".to_string(),
        };
        Access {
            superuser,
            auth,
            request,
        }
    }

    /// The rule to apply: `None` for superusers (they bypass every rule); a `null` rule is
    /// superusers-only (403).
    pub fn rule(&self, rule: &Option<String>) -> Result<Option<String>, ApiError> {
        if self.superuser {
            return Ok(None);
        }
        match rule {
            None => Err(ApiError::forbidden(
                "Only superusers can perform this action.",
            )),
            Some(rule) => Ok(Some(rule.clone())),
        }
    }

    /// Non-superusers may not reference `@request.`/`@collection.` in `filter` or `sort`.
    pub fn check_client_expression(&self, text: &str) -> Result<(), ApiError> {
        if self.superuser {
            return Ok(());
        }
        for prefix in ["@request.", "@collection."] {
            if text.contains(prefix) {
                return Err(ApiError::forbidden(format!(
                    "Only superusers can filter by {prefix}"
                )));
            }
        }
        Ok(())
    }
}

/// An API rule and, for lists, the client's `filter`, as one SQL condition for this
/// request (they share joins, as in PocketBase). Rules see hidden fields even for guests;
/// a client filter only for superusers. Empty or absent = no restriction; any parse or
/// resolve failure is PocketBase's generic 400.
pub fn compile(
    app: &App,
    collection: &Collection,
    access: &Access,
    rule: Option<&str>,
    client_filter: Option<&str>,
) -> Result<SqlExpr, ApiError> {
    let parse = |text: Option<&str>| -> Result<Option<Vec<ExprGroup>>, ApiError> {
        match text.filter(|t| !t.trim().is_empty()) {
            Some(text) => filter::parse(text)
                .map(Some)
                .map_err(|_| ApiError::bad_request_default()),
            None => Ok(None),
        }
    };
    let (rule, client_filter) = (parse(rule)?, parse(client_filter)?);
    let mut parts = Vec::new();
    if let Some(groups) = &rule {
        parts.push(Part {
            groups,
            allow_hidden: true,
        });
    }
    if let Some(groups) = &client_filter {
        parts.push(Part {
            groups,
            allow_hidden: access.superuser,
        });
    }
    let all = app.collections();
    resolver(collection, &all, access)
        .where_sql_at(&parts, Utc::now())
        .map_err(|_| ApiError::bad_request_default())
}

/// The `sort` parameter as SQL (`ORDER BY` terms), empty when there is none.
pub fn order(
    app: &App,
    collection: &Collection,
    access: &Access,
    text: &str,
) -> Result<SqlExpr, ApiError> {
    if text.trim().is_empty() {
        return Ok(SqlExpr {
            sql: String::new(),
            params: Vec::new(),
        });
    }
    let sort = filter::parse_sort(text).map_err(|_| ApiError::bad_request_default())?;
    let all = app.collections();
    resolver(collection, &all, access)
        .order_sql(&sort)
        .map_err(|_| ApiError::bad_request_default())
}

fn resolver<'a>(
    collection: &'a Collection,
    all: &'a [Arc<Collection>],
    access: &'a Access,
) -> Resolver<'a> {
    Resolver {
        collection,
        all,
        request: &access.request,
        main_alias: ROW_ALIAS,
        superuser: access.superuser,
    }
}

/// Whether the (authenticated) requester satisfies the auth collection's `manageRule` for
/// the record `row`.
pub async fn is_manager(
    app: &App,
    collection: &Collection,
    access: &Access,
    row: &Map<String, Value>,
) -> Result<bool, ApiError> {
    let rule = collection
        .auth
        .as_ref()
        .and_then(|a| a.manage_rule.as_deref())
        .filter(|r| !r.trim().is_empty());
    let (Some(rule), Some(_)) = (rule, access.auth.as_ref()) else {
        return Ok(false);
    };
    let filter = compile(app, collection, access, Some(rule), None)?;
    let id = row.get("id").and_then(Value::as_str).unwrap_or_default();
    Ok(
        store::records::find_matching(store::Db::Shared(app.store()), collection, id, &filter)
            .await?
            .is_some(),
    )
}
