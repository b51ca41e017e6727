//! bcrypt password hashes in PocketBase's format (`$2a$`, cost 10 unless the field sets
//! one). Hashing costs ~60 ms, so both directions run on tokio's blocking pool.

use std::sync::OnceLock;

/// PocketBase's default bcrypt cost (Go's `bcrypt.DefaultCost`).
pub const DEFAULT_COST: u32 = 10;

/// A hash computed off the async threads; `cost` 0 means the default.
pub async fn hash(password: String, cost: u32) -> Result<String, String> {
    let cost = if cost == 0 { DEFAULT_COST } else { cost };
    tokio::task::spawn_blocking(move || {
        bcrypt::hash_with_result(password.as_bytes(), cost)
            .map(|parts| parts.format_for_version(bcrypt::Version::TwoA))
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Whether `password` matches `hash`. An empty or malformed hash never matches.
pub async fn verify(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || bcrypt::verify(password.as_bytes(), &hash).unwrap_or(false))
        .await
        .unwrap_or(false)
}

/// Spends the same time as a real check, for unknown identities (so timing does not reveal
/// which accounts exist).
pub async fn dummy_verify(password: String) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let _ = tokio::task::spawn_blocking(move || {
        let hash =
            DUMMY.get_or_init(|| bcrypt::hash("satchel-dummy", DEFAULT_COST).unwrap_or_default());
        bcrypt::verify(password.as_bytes(), hash)
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_use_pocketbase_prefix() {
        let hash = hash("pass-123456".into(), 4).await.expect("hash");
        assert!(hash.starts_with("$2a$04$"));
        assert!(verify("pass-123456".into(), hash.clone()).await);
        assert!(!verify("wrong".into(), hash).await);
        assert!(!verify("x".into(), String::new()).await);
    }
}
