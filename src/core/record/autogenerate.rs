//! Random values for `autogeneratePattern` (PocketBase's `security.RandomStringByRegex`),
//! for the pattern shapes PocketBase uses and users write: literals, `[…]` classes with
//! ranges, `\d`/`\w`, each optionally followed by `{n}`, `{n,m}`, `?`, `+` or `*`.

use rand::RngExt;

/// A random string matching `pattern`. Unsupported syntax is taken literally.
pub fn generate(pattern: &str) -> String {
    let chars: Vec<char> = pattern
        .trim_start_matches('^')
        .trim_end_matches('$')
        .chars()
        .collect();
    let mut rng = rand::rng();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let (alphabet, next) = atom(&chars, i);
        let (min, max, after) = quantifier(&chars, next);
        let count = if max > min {
            rng.random_range(min..=max)
        } else {
            min
        };
        for _ in 0..count {
            if !alphabet.is_empty() {
                out.push(alphabet[rng.random_range(0..alphabet.len())]);
            }
        }
        i = after;
    }
    out
}

/// The characters one atom may produce, and where the atom ends.
fn atom(chars: &[char], start: usize) -> (Vec<char>, usize) {
    match chars[start] {
        '[' => {
            let end = chars[start..]
                .iter()
                .position(|c| *c == ']')
                .map_or(chars.len(), |p| start + p);
            (class(&chars[start + 1..end.min(chars.len())]), end + 1)
        }
        '\\' if start + 1 < chars.len() => {
            let set = match chars[start + 1] {
                'd' => ('0'..='9').collect(),
                'w' => ('a'..='z')
                    .chain('A'..='Z')
                    .chain('0'..='9')
                    .chain(['_'])
                    .collect(),
                other => vec![other],
            };
            (set, start + 2)
        }
        literal => (vec![literal], start + 1),
    }
}

fn class(body: &[char]) -> Vec<char> {
    let mut set = Vec::new();
    let mut i = 0;
    while i < body.len() {
        if i + 2 < body.len() && body[i + 1] == '-' {
            set.extend(body[i]..=body[i + 2]);
            i += 3;
        } else {
            set.push(body[i]);
            i += 1;
        }
    }
    set
}

/// `(min, max, end)` of the quantifier at `start` (1..1 when there is none).
fn quantifier(chars: &[char], start: usize) -> (usize, usize, usize) {
    match chars.get(start) {
        Some('?') => (0, 1, start + 1),
        Some('+') => (1, 8, start + 1),
        Some('*') => (0, 8, start + 1),
        Some('{') => {
            let Some(len) = chars[start..].iter().position(|c| *c == '}') else {
                return (1, 1, start);
            };
            let inner: String = chars[start + 1..start + len].iter().collect();
            let mut parts = inner.split(',').map(|p| p.trim().parse::<usize>().ok());
            let min = parts.next().flatten().unwrap_or(1);
            let max = parts.next().map_or(min, |m| m.unwrap_or(min + 8));
            (min, max.max(min), start + len + 1)
        }
        _ => (1, 1, start),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_pocketbase_default_patterns() {
        let id = generate("[a-z0-9]{15}");
        assert_eq!(id.len(), 15);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
        let key = generate("[a-zA-Z0-9]{50}");
        assert_eq!(key.len(), 50);
        assert!(generate("INV-\\d{4}").starts_with("INV-"));
        assert_eq!(generate("INV-\\d{4}").len(), 8);
    }
}
