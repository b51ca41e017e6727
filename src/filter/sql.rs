//! Placeholder SQL generation for simple comparisons (`field op literal`, `&&`, `||`,
//! groups), used until the full resolver lands. Same interface as the final module.

use serde_json::{Map, Value};

use crate::core::collection::Collection;
use crate::filter::{ExprGroup, Join, Keyword, Node, Op, Operand, SortDirection, SortField};
use crate::store::sql::quote;

/// A value bound to a `?` placeholder.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
}

/// What a rule or filter may read about the current request (`@request.*`).
#[derive(Debug, Clone, Default)]
pub struct RequestInfo {
    pub auth: Option<AuthInfo>,
    pub body: Map<String, Value>,
    pub query: Map<String, Value>,
    pub headers: Map<String, Value>,
    pub method: String,
    pub context: String,
}

#[derive(Debug, Clone)]
pub struct AuthInfo {
    pub collection: Collection,
    pub record: Map<String, Value>,
}

pub struct Resolver<'a> {
    pub collection: &'a Collection,
    pub all: &'a [Collection],
    pub request: &'a RequestInfo,
    pub main_alias: &'a str,
    pub superuser: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SqlExpr {
    pub sql: String,
    pub params: Vec<Param>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ResolveError {
    Unsupported(String),
}

impl Resolver<'_> {
    pub fn where_sql(&self, groups: &[ExprGroup]) -> Result<SqlExpr, ResolveError> {
        let mut sql = String::from("(");
        let mut params = Vec::new();
        for (i, group) in groups.iter().enumerate() {
            if i > 0 {
                sql.push_str(if group.join == Join::And {
                    " AND "
                } else {
                    " OR "
                });
            }
            match &group.item {
                Node::Group(inner) => {
                    let inner = self.where_sql(inner)?;
                    sql.push_str(&inner.sql);
                    params.extend(inner.params);
                }
                Node::Expr(expr) => {
                    let (left, lp) = self.operand(&expr.left)?;
                    let (right, rp) = self.operand(&expr.right)?;
                    params.extend(lp);
                    params.extend(rp);
                    let op = match expr.op {
                        Op::Eq | Op::AnyEq => "=",
                        Op::Neq | Op::AnyNeq => "!=",
                        Op::Gt | Op::AnyGt => ">",
                        Op::Gte | Op::AnyGte => ">=",
                        Op::Lt | Op::AnyLt => "<",
                        Op::Lte | Op::AnyLte => "<=",
                        _ => return Err(ResolveError::Unsupported("like".into())),
                    };
                    sql.push_str(&format!("COALESCE({left}, '') {op} COALESCE({right}, '')"));
                }
            }
        }
        sql.push(')');
        Ok(SqlExpr { sql, params })
    }

    fn operand(&self, operand: &Operand) -> Result<(String, Vec<Param>), ResolveError> {
        Ok(match operand {
            Operand::Identifier(name) if name == "@request.auth.id" => {
                let id = self
                    .request
                    .auth
                    .as_ref()
                    .and_then(|a| a.record.get("id"))
                    .and_then(Value::as_str);
                (
                    "?".into(),
                    vec![id.map_or(Param::Null, |s| Param::Text(s.into()))],
                )
            }
            Operand::Identifier(name) => {
                self.collection
                    .field(name)
                    .ok_or_else(|| ResolveError::Unsupported(name.clone()))?;
                (format!("`{}`.{}", self.main_alias, quote(name)), Vec::new())
            }
            Operand::Keyword {
                keyword: Keyword::Null,
                ..
            } => ("NULL".into(), Vec::new()),
            Operand::Keyword {
                keyword: Keyword::True,
                ..
            } => ("1".into(), Vec::new()),
            Operand::Keyword {
                keyword: Keyword::False,
                ..
            } => ("0".into(), Vec::new()),
            Operand::Number { value, .. } => ("?".into(), vec![Param::Real(*value)]),
            Operand::Text(text) => ("?".into(), vec![Param::Text(text.clone())]),
            Operand::Function { name, .. } => return Err(ResolveError::Unsupported(name.clone())),
        })
    }

    pub fn order_sql(&self, sort: &[SortField]) -> Result<SqlExpr, ResolveError> {
        let mut terms = Vec::new();
        for field in sort {
            if field.is_random() {
                terms.push("RANDOM()".to_string());
                continue;
            }
            let column = if field.is_rowid() {
                format!("`{}`.rowid", self.main_alias)
            } else {
                self.collection
                    .field(&field.name)
                    .ok_or_else(|| ResolveError::Unsupported(field.name.clone()))?;
                format!("`{}`.{}", self.main_alias, quote(&field.name))
            };
            terms.push(format!(
                "{column} {}",
                if field.direction == SortDirection::Desc {
                    "DESC"
                } else {
                    "ASC"
                }
            ));
        }
        Ok(SqlExpr {
            sql: terms.join(", "),
            params: Vec::new(),
        })
    }
}
