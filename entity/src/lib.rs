//! Database entities (sea-orm). The schema itself is owned by the `migration` crate.
pub mod agency;
pub mod audit_chain_head;
pub mod audit_checkpoint;
pub mod audit_event;
pub mod audit_event_ref;
pub mod client;
pub mod login_throttle;
pub mod refresh_token;
pub mod user;
