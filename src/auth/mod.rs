//! Credentials: password hashing, secrets and tokens.
pub mod password;
pub mod tokens;
