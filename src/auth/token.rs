//! PocketBase's JWTs (§5.3): HS256 only, signing key = record `tokenKey` + the collection's
//! secret for that token kind, claims without `iat`. Verifying reads the unverified claims
//! first to find the record whose key signs it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// Signs `claims` with `key`.
pub fn sign(claims: &Value, key: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(HEADER);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{header}.{payload}");
    format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(mac(key, &signing_input))
    )
}

/// The claims of a token without checking its signature (only to find the signing record).
pub fn unverified_claims(token: &str) -> Option<Map<String, Value>> {
    let mut parts = token.split('.');
    let (header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    if header.get("alg").and_then(Value::as_str) != Some("HS256") {
        return None;
    }
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

/// The claims, if the signature matches `key` and the token has not expired.
pub fn verify(token: &str, key: &str) -> Option<Map<String, Value>> {
    let claims = unverified_claims(token)?;
    let (signing_input, signature) = token.rsplit_once('.')?;
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    let mut check = HmacSha256::new_from_slice(key.as_bytes()).ok()?;
    check.update(signing_input.as_bytes());
    check.verify_slice(&signature).ok()?;
    let exp = claims.get("exp").and_then(Value::as_i64)?;
    (exp > chrono::Utc::now().timestamp()).then_some(claims)
}

fn mac(key: &str, input: &str) -> Vec<u8> {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    match HmacSha256::new_from_slice(key.as_bytes()) {
        Ok(mut m) => {
            m.update(input.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(ttl: i64) -> Value {
        serde_json::json!({"collectionId": "pbc_3142635823", "exp": chrono::Utc::now().timestamp() + ttl,
            "id": "abc", "refreshable": true, "type": "auth"})
    }

    #[test]
    fn signs_and_verifies() {
        let claims = claims(60);
        let token = sign(&claims, "key1secret");
        assert_eq!(verify(&token, "key1secret").expect("valid")["id"], "abc");
        assert!(verify(&token, "other").is_none());
        assert_eq!(unverified_claims(&token).expect("claims")["type"], "auth");
    }

    #[test]
    fn rejects_expired_and_garbage() {
        let token = sign(&claims(-5), "k");
        assert!(verify(&token, "k").is_none());
        for bad in ["", "a.b", "a.b.c.d", "!!.??.**"] {
            assert!(unverified_claims(bad).is_none());
        }
    }
}
