//! The `indexes` entries of a collection: `CREATE [UNIQUE] INDEX name ON table (cols) [WHERE …]`
//! statements, parsed so they can be validated and re-targeted when a collection or a
//! column is renamed (as PocketBase's `dbutils.ParseIndex` does).

/// One parsed index statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Index {
    pub unique: bool,
    pub name: String,
    pub table: String,
    /// Column expressions as written, minus identifier quotes (`title`, `email COLLATE NOCASE`).
    pub columns: Vec<String>,
    pub where_clause: String,
}

impl Index {
    /// Parses an index statement; `None` when it is not one.
    pub fn parse(sql: &str) -> Option<Index> {
        let mut rest = sql.trim().trim_end_matches(';').trim();
        rest = strip_keyword(rest, "create")?;
        let unique = match strip_keyword(rest, "unique") {
            Some(after) => {
                rest = after;
                true
            }
            None => false,
        };
        rest = strip_keyword(rest, "index")?;
        if let Some(after) = strip_keyword(rest, "if").and_then(|r| strip_keyword(r, "not")) {
            rest = strip_keyword(after, "exists")?;
        }
        let (name, after_name) = take_identifier(rest)?;
        rest = strip_keyword(after_name, "on")?;
        let (table, after_table) = take_identifier(rest)?;
        let after_table = after_table.trim_start();
        let open = after_table.strip_prefix('(')?;
        let close = matching_paren(open)?;
        let columns: Vec<String> = split_columns(&open[..close]);
        let tail = open[close + 1..].trim();
        let where_clause = if tail.is_empty() {
            String::new()
        } else {
            strip_keyword(tail, "where")?.trim().to_string()
        };
        if name.is_empty()
            || table.is_empty()
            || columns.is_empty()
            || columns.iter().any(String::is_empty)
        {
            return None;
        }
        Some(Index {
            unique,
            name,
            table,
            columns,
            where_clause,
        })
    }

    /// The statement in PocketBase's normalized form.
    pub fn to_sql(&self) -> String {
        let mut sql = format!(
            "CREATE {}INDEX `{}` ON `{}` ({})",
            if self.unique { "UNIQUE " } else { "" },
            self.name,
            self.table,
            self.columns
                .iter()
                .map(|c| quote_column(c))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if !self.where_clause.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&self.where_clause);
        }
        sql
    }

    /// The bare column name of each column expression (before COLLATE/ASC/DESC).
    pub fn column_names(&self) -> impl Iterator<Item = &str> {
        self.columns
            .iter()
            .filter_map(|c| c.split_whitespace().next())
    }
}

fn quote_column(expr: &str) -> String {
    let mut parts = expr.splitn(2, char::is_whitespace);
    let name = parts.next().unwrap_or_default();
    match parts.next() {
        Some(rest) => format!("`{name}` {}", rest.trim()),
        None => format!("`{name}`"),
    }
}

fn strip_keyword<'a>(text: &'a str, keyword: &str) -> Option<&'a str> {
    let text = text.trim_start();
    let head = text.get(..keyword.len())?;
    let after = &text[keyword.len()..];
    let boundary = after
        .chars()
        .next()
        .is_none_or(|c| !c.is_alphanumeric() && c != '_');
    (head.eq_ignore_ascii_case(keyword) && boundary).then_some(after)
}

/// Takes one identifier, bare or quoted with backticks, double quotes or brackets.
fn take_identifier(text: &str) -> Option<(String, &str)> {
    let text = text.trim_start();
    let first = text.chars().next()?;
    let close = match first {
        '`' => '`',
        '"' => '"',
        '[' => ']',
        _ => {
            let end = text
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(text.len());
            return (end > 0).then(|| (text[..end].to_string(), &text[end..]));
        }
    };
    let inner = &text[1..];
    let end = inner.find(close)?;
    Some((inner[..end].to_string(), &inner[end + 1..]))
}

fn matching_paren(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return Some(i),
            ')' => depth -= 1,
            _ => {}
        }
    }
    None
}

fn split_columns(text: &str) -> Vec<String> {
    text.split(',')
        .map(|c| c.trim().replace(['`', '"', '[', ']'], ""))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pocketbase_index_forms() {
        let ix = Index::parse(
            "CREATE UNIQUE INDEX `idx_email_x` ON `users` (`email`) WHERE `email` != ''",
        )
        .expect("ok");
        assert!(ix.unique);
        assert_eq!(
            (ix.name.as_str(), ix.table.as_str()),
            ("idx_email_x", "users")
        );
        assert_eq!(ix.columns, ["email"]);
        assert_eq!(ix.where_clause, "`email` != ''");

        let ix = Index::parse("create index if not exists idx_a on posts (title, views DESC)")
            .expect("ok");
        assert!(!ix.unique);
        assert_eq!(
            ix.to_sql(),
            "CREATE INDEX `idx_a` ON `posts` (`title`, `views` DESC)"
        );
        assert_eq!(ix.column_names().collect::<Vec<_>>(), ["title", "views"]);
    }

    #[test]
    fn rejects_non_index_statements() {
        for sql in [
            "",
            "DROP TABLE x",
            "CREATE INDEX ON t (a)",
            "CREATE INDEX i ON t ()",
            "CREATE INDEX i ON t (a",
        ] {
            assert_eq!(Index::parse(sql), None, "{sql}");
        }
    }
}
