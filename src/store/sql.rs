//! The one audited place where dynamic SQL text is made: identifier validation and
//! quoting, and the only `AssertSqlSafe`. Values never go into SQL text; they are bound.

use sqlx::AssertSqlSafe;

/// A SQL statement built from validated, quoted identifiers and fixed keywords.
#[derive(Debug, Clone, PartialEq)]
pub struct Sql(String);

impl Sql {
    /// Wraps text built only from `quote()`d identifiers and literal SQL of this crate.
    pub fn trusted(text: String) -> Sql {
        Sql(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_query(self) -> AssertSqlSafe<String> {
        AssertSqlSafe(self.0)
    }
}

/// PocketBase's rule for table and column names: letters, digits and `_`, ≤ 255 chars.
pub fn is_valid_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Quotes an identifier with backticks (PocketBase's style), doubling inner backticks.
pub fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert!(is_valid_identifier("users_2"));
        assert!(!is_valid_identifier("bad name"));
        assert!(!is_valid_identifier("x`; DROP TABLE y; --"));
        assert_eq!(quote("a`b"), "`a``b`");
    }
}
