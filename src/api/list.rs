//! The list envelope and its query parameters (§2.1): `page`, `perPage` (default 30,
//! clamped to 1000), `skipTotal`.

use serde_json::{Value, json};

use crate::api::extract::Query;
use crate::error::ApiError;

pub struct ListParams {
    pub page: usize,
    pub per_page: usize,
    pub skip_total: bool,
}

impl ListParams {
    /// A non-integer page/perPage or a bad bool is a 400 with the default message.
    pub fn from_query(query: &Query) -> Result<ListParams, ApiError> {
        let int = |key: &str, default: i64| -> Result<i64, ApiError> {
            match query.get(key).filter(|v| !v.is_empty()) {
                Some(text) => text
                    .parse::<i64>()
                    .map_err(|_| ApiError::bad_request_default()),
                None => Ok(default),
            }
        };
        let page = int("page", 1)?;
        let per_page = int("perPage", 30)?;
        let skip_total = match query.get("skipTotal").filter(|v| !v.is_empty()) {
            Some(text) => parse_go_bool(text).ok_or_else(ApiError::bad_request_default)?,
            None => false,
        };
        Ok(ListParams {
            page: if page <= 0 { 1 } else { page as usize },
            per_page: if per_page <= 0 {
                30
            } else {
                per_page.min(1000) as usize
            },
            skip_total,
        })
    }
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// One page of already-filtered, already-sorted items, in the list envelope.
pub fn paginate(items: Vec<Value>, params: &ListParams) -> Value {
    let total = items.len();
    let page: Vec<Value> = items
        .into_iter()
        .skip((params.page - 1) * params.per_page)
        .take(params.per_page)
        .collect();
    let (total_items, total_pages) = if params.skip_total {
        (-1, -1)
    } else {
        (total as i64, total.div_ceil(params.per_page) as i64)
    };
    json!({"items": page, "page": params.page, "perPage": params.per_page, "totalItems": total_items,
        "totalPages": total_pages})
}
