//! Authentication: password hashing, PocketBase's JWTs, and the superuser operations.

pub mod installer;
pub mod mails;
pub mod otp;
pub mod password;
pub mod record_tokens;
pub mod superusers;
pub mod token;
