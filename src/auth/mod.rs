//! Authentication: password hashing, PocketBase's JWTs, and the superuser operations.

pub mod password;
pub mod superusers;
pub mod token;
