//! Credentials: password hashing, secrets and tokens, and the per-source count of failed
//! attempts to present them.
pub mod password;
pub mod source_limit;
pub mod tokens;
