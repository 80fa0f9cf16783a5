//! Database entities (sea-orm). The schema itself is owned by the `migration` crate.
pub mod agency;
pub mod audit_event;
pub mod client;
pub mod login_throttle;
pub mod refresh_token;
pub mod user;
