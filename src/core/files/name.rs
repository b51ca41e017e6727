//! The stored name of an upload: PocketBase's `normalizeName`
//! (`tools/filesystem/file.go`), as the 0.40.6 binary applies it (checked name by name):
//! `<snake_cased base>_<10 random [a-z0-9]><extension>`.
//!
//! - The extension is the last one, or the last two (`.tar.gz`); characters other than
//!   `[A-Za-z0-9_.*+=#-]` are dropped, then outer dots (`a..b` → `.b`, `x.tar.` → `.tar`);
//!   nothing left → the sniffed type's extension; longer than 20 → its last 20 characters.
//! - The base is snake-cased on ASCII words (`ÄbcDéf` → `bc_d_f`, `myTestDB` →
//!   `my_test_db`), cut to 100 characters, and padded with 10 random characters when shorter
//!   than 3.
//! - Only the last path segment of the client's name counts (`dir/a.txt` → `a.txt`), as Go's
//!   multipart reader does.

use crate::core::ids;

/// A fresh stored name for `original`, `sniffed_extension` filling in a missing extension.
pub fn stored_name(original: &str, sniffed_extension: &str) -> String {
    let original = original.rsplit('/').next().unwrap_or(original);
    let raw_extension = extension(original);
    let mut clean: String = raw_extension
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "_.*-+=#".contains(*c))
        .collect();
    clean = clean.trim_matches('.').to_string();
    let mut extension = if clean.is_empty() {
        sniffed_extension.to_string()
    } else {
        format!(".{clean}")
    };
    if extension.len() > 20 {
        extension = format!(".{}", &extension[extension.len() - 20..]);
    }
    let mut base = snake_case(&original[..original.len() - raw_extension.len()]);
    if base.len() < 3 {
        base.push_str(&ids::random_string(10, ids::LOWER_ALNUM));
    } else if base.len() > 100 {
        base.truncate(100);
    }
    format!(
        "{base}_{}{extension}",
        ids::random_string(10, ids::LOWER_ALNUM)
    )
}

/// The extension with its dot: the last one, or the last two (`test.a.tar.gz` → `.tar.gz`).
fn extension(name: &str) -> &str {
    let Some(primary) = name.rfind('.') else {
        return "";
    };
    match name[..primary].rfind('.') {
        Some(secondary) => &name[secondary..],
        None => &name[primary..],
    }
}

/// PocketBase's `inflector.Snakecase`: split on anything but ASCII letters and digits, an
/// underscore before an uppercase letter that follows a non-uppercase one, lowercased.
pub fn snake_case(text: &str) -> String {
    let mut out = String::new();
    for word in text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push('_');
        }
        let mut previous_upper = false;
        for (i, c) in word.chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 && !previous_upper {
                out.push('_');
            }
            previous_upper = c.is_ascii_uppercase();
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (client name, sniffed extension, stored name with `{r}` for the random part), as
    /// PocketBase 0.40.6 stored them.
    #[test]
    fn names_like_pocketbase() {
        let cases = [
            ("Hello World.txt", ".txt", "hello_world_{r}.txt"),
            ("a.png", ".png", "a{r}_{r}.png"),
            ("ÄbcDéf.TXT", ".txt", "bc_d_f_{r}.TXT"),
            ("my.file.tar.gz", "", "my_file_{r}.tar.gz"),
            ("noext", ".txt", "noext_{r}.txt"),
            (".hidden", ".txt", "{r}_{r}.hidden"),
            ("myTestDB.txt", ".txt", "my_test_db_{r}.txt"),
            ("ABc.txt", ".txt", "abc_{r}.txt"),
            ("aBC.txt", ".txt", "a_bc_{r}.txt"),
            (
                "x.verylongextensionthatiswaytoolong",
                ".txt",
                "x{r}_{r}.sionthatiswaytoolong",
            ),
            ("weird#name+x=y.t*x#t", ".txt", "weird_name_x_y_{r}.t*x#t"),
            ("a.b.c.d", ".txt", "a_b_{r}.c.d"),
            ("trailing.", ".txt", "trailing_{r}.txt"),
            ("a..b", ".txt", "a{r}_{r}.b"),
            ("abc.tar.", ".txt", "abc_{r}.tar"),
            ("abc.Ä.txt", ".txt", "abc_{r}.txt"),
            ("abc.t xt", ".txt", "abc_{r}.txt"),
            ("dir/sub/file.txt", ".txt", "file_{r}.txt"),
            ("résumé final (2).pdf", ".pdf", "r_sum_final_2_{r}.pdf"),
            ("blob", "", "blob_{r}"),
        ];
        for (original, sniffed, pattern) in cases {
            let name = stored_name(original, sniffed);
            let regex = format!(
                "^{}$",
                regex::escape(pattern).replace("\\{r\\}", "[a-z0-9]{10}")
            );
            assert!(
                regex::Regex::new(&regex).unwrap().is_match(&name),
                "{original} -> {name}, expected {pattern}"
            );
        }
        let long = format!("{}.txt", "n".repeat(120));
        assert_eq!(stored_name(&long, "").len(), 100 + 1 + 10 + 4);
    }
}
