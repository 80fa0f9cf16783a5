//! Database entities (sea-orm). The schema itself is owned by the `migration` crate.
pub mod agency;
pub mod audit_event;
pub mod bank_holiday;
pub mod child;
pub mod child_link;
pub mod client;
pub mod consent;
pub mod consent_override;
pub mod contact;
pub mod disclosure;
pub mod idempotency_key;
pub mod information_request;
pub mod login_throttle;
pub mod refresh_token;
pub mod user;
