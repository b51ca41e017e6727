//! The `fields` query parameter (§2.6): `fields=id,title,expand.author.name`, `*` for every
//! key at a level, and the `:excerpt(maxLen, withEllipsis?)` modifier that turns HTML into
//! plain text and cuts it.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// A parsed `fields` spec: which keys to keep at each level.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Picker {
    all: bool,
    keys: BTreeMap<String, Node>,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    /// Keep the value, optionally cut by `:excerpt`.
    Leaf(Option<Excerpt>),
    Nested(Picker),
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Excerpt {
    max: usize,
    ellipsis: bool,
}

impl Picker {
    /// Parses `a,b.c,d:excerpt(10,true)`; `None` when the spec is empty.
    pub fn parse(spec: &str) -> Option<Picker> {
        let mut picker = Picker::default();
        for raw in split_top_level(spec) {
            let raw = raw.trim();
            if raw.is_empty() {
                continue;
            }
            let (path, excerpt) = match raw.split_once(":excerpt(") {
                Some((path, args)) => (path, parse_excerpt(args.trim_end_matches(')'))),
                None => (raw, None),
            };
            picker.insert(&path.split('.').collect::<Vec<_>>(), excerpt);
        }
        (picker.all || !picker.keys.is_empty()).then_some(picker)
    }

    fn insert(&mut self, path: &[&str], excerpt: Option<Excerpt>) {
        let Some((head, rest)) = path.split_first() else {
            return;
        };
        if rest.is_empty() {
            if *head == "*" {
                self.all = true;
            } else {
                self.keys.insert((*head).to_string(), Node::Leaf(excerpt));
            }
            return;
        }
        let entry = self
            .keys
            .entry((*head).to_string())
            .or_insert_with(|| Node::Nested(Picker::default()));
        if let Node::Leaf(_) = entry {
            *entry = Node::Nested(Picker {
                all: true,
                keys: BTreeMap::new(),
            });
        }
        if let Node::Nested(inner) = entry {
            inner.insert(rest, excerpt);
        }
    }

    /// Applies the spec to a value (arrays: to each item).
    pub fn apply(&self, value: &Value) -> Value {
        match value {
            Value::Array(items) => Value::Array(items.iter().map(|v| self.apply(v)).collect()),
            Value::Object(map) => {
                let mut out = Map::new();
                for (key, item) in map {
                    match self.keys.get(key) {
                        Some(Node::Leaf(Some(excerpt))) => {
                            out.insert(key.clone(), Value::String(excerpt.cut(item)));
                        }
                        Some(Node::Leaf(None)) => {
                            out.insert(key.clone(), item.clone());
                        }
                        Some(Node::Nested(inner)) => {
                            out.insert(key.clone(), inner.apply(item));
                        }
                        None if self.all => {
                            out.insert(key.clone(), item.clone());
                        }
                        None => {}
                    }
                }
                Value::Object(out)
            }
            other => other.clone(),
        }
    }
}

/// Splits on commas outside parentheses (`excerpt(10,true)` keeps its comma).
fn split_top_level(spec: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in spec.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&spec[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&spec[start..]);
    parts
}

fn parse_excerpt(args: &str) -> Option<Excerpt> {
    let mut parts = args.split(',').map(str::trim);
    let max = parts.next()?.parse().ok()?;
    let ellipsis = matches!(
        parts.next(),
        Some("true" | "1" | "t" | "T" | "TRUE" | "True")
    );
    Some(Excerpt { max, ellipsis })
}

impl Excerpt {
    fn cut(&self, value: &Value) -> String {
        let text = match value {
            Value::String(s) => plain_text(s),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        let count = text.chars().count();
        if count <= self.max {
            return text;
        }
        let mut cut: String = text.chars().take(self.max).collect();
        cut = cut.trim_end().to_string();
        if self.ellipsis {
            cut.push_str("...");
        }
        cut
    }
}

/// HTML to plain text: tags dropped (`script`/`style` content too), whitespace collapsed.
fn plain_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        out.push(' ');
        let after = &rest[open..];
        let lower = after.get(..7).unwrap_or(after).to_ascii_lowercase();
        let close_tag = if lower.starts_with("<script") {
            Some("</script>")
        } else if lower.starts_with("<style") {
            Some("</style>")
        } else {
            None
        };
        rest = match close_tag.and_then(|t| after.to_ascii_lowercase().find(t).map(|i| i + t.len()))
        {
            Some(end) => &after[end..],
            None => after.find('>').map_or("", |i| &after[i + 1..]),
        };
    }
    out.push_str(rest);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn picks_keys_nested_and_wildcards() {
        let record = json!({"id": "1", "title": "hello", "expand": {"author": {"id": "2", "name": "Ann", "x": 1}}});
        let picker = Picker::parse("id,expand.author.name").expect("spec");
        assert_eq!(
            picker.apply(&record),
            json!({"id": "1", "expand": {"author": {"name": "Ann"}}})
        );
        let picker = Picker::parse("*,expand.author.id").expect("spec");
        assert_eq!(
            picker.apply(&record)["expand"],
            json!({"author": {"id": "2"}})
        );
        assert_eq!(Picker::parse(" , "), None);
    }

    #[test]
    fn excerpt_matches_pocketbase() {
        let picker = Picker::parse("title:excerpt(3,true),body:excerpt(20)").expect("spec");
        let out = picker.apply(
            &json!({"title": "hello", "body": "<p>Hi <b>there</b></p><script>x()</script>"}),
        );
        assert_eq!(out, json!({"title": "hel...", "body": "Hi there"}));
    }
}
