//! Identifiers in PocketBase's formats (pocketbase-surface.md §1.3): 15-char record ids,
//! `pbc_<crc32>` collection ids, `<type><crc32>` field ids, and random secrets.

use rand::RngExt;

/// The alphabet of record ids and of PocketBase's `[a-z0-9]` random strings.
pub const LOWER_ALNUM: &str = "abcdefghijklmnopqrstuvwxyz0123456789";
/// The alphabet of token keys and secrets (`[a-zA-Z0-9]`).
pub const ALNUM: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// A random string over `alphabet`, from the OS-seeded CSPRNG.
pub fn random_string(len: usize, alphabet: &str) -> String {
    let chars: Vec<char> = alphabet.chars().collect();
    let mut rng = rand::rng();
    (0..len)
        .map(|_| chars[rng.random_range(0..chars.len())])
        .collect()
}

/// A new record id: 15 chars of `[a-z0-9]`.
pub fn record_id() -> String {
    random_string(15, LOWER_ALNUM)
}

/// A new token key or collection token secret: `[a-zA-Z0-9]{50}`.
pub fn secret() -> String {
    random_string(50, ALNUM)
}

/// The default id of a collection: `"pbc_" + crc32(type + name)` in decimal.
pub fn collection_id(kind: &str, name: &str) -> String {
    format!("pbc_{}", crc32(&format!("{kind}{name}")))
}

/// The default id of a field: `type + crc32(name)` in decimal (collisions are resolved by the caller).
pub fn field_id(kind: &str, name: &str) -> String {
    format!("{kind}{}", crc32(name))
}

fn crc32(text: &str) -> u32 {
    crc32fast::hash(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_match_pocketbase() {
        assert_eq!(collection_id("base", "posts"), "pbc_1125843985");
        assert_eq!(collection_id("auth", "_superusers"), "pbc_3142635823");
        assert_eq!(field_id("text", "id"), "text3208210256");
    }

    #[test]
    fn record_ids_have_the_right_shape() {
        let id = record_id();
        assert_eq!(id.len(), 15);
        assert!(id.chars().all(|c| LOWER_ALNUM.contains(c)));
        assert_ne!(record_id(), id);
    }
}
