//! The domain: rules, policy checks and audit writes, one transaction per operation.
pub mod actor;
pub mod annex_a;
pub mod audit;
pub mod audit_trail;
pub mod audit_verify;
pub mod checks;
pub mod children;
pub mod clock;
pub mod codes;
pub mod consent;
pub mod contacts;
pub mod early_help;
pub mod housekeeping;
pub mod idempotency;
pub mod identifiers;
pub mod identity;
pub mod missing;
pub mod outcomes;
pub mod page;
pub mod policy;
pub mod report;
pub mod requests;
pub mod sessions;
pub mod throttle;
pub mod transition;

pub use actor::{Actor, ActorKind, RequestCtx};
