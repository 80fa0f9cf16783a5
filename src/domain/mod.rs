//! The domain: rules, policy checks and audit writes, one transaction per operation.
//!
//! - `actor`, `policy`: who is asking, and what they may do (one policy module).
//! - `common/`: what every area uses — input checks, clocks, code lists, identifier
//!   checks, keyset pages, conditional transitions, idempotency keys.
//! - `audit/`: the one audit writer, the trail as auditors read it, and its verification.
//! - `identity/`: agencies, users, machine clients, sessions and login throttling.
//! - `case/`: contacts, children, consent, information requests and disclosures, missing
//!   episodes.
//! - `outcomes/`: what follows a contact decision — the referral chain and early help.
//! - `reporting/`: the performance report and the Annex A exports.
//! - `events`: the changes subscribers are told of, and catching up on them.
//! - `housekeeping`: the periodic sweep of expired rows.
pub mod actor;
pub mod audit;
pub mod case;
pub mod common;
pub mod events;
pub mod housekeeping;
pub mod identity;
pub mod outcomes;
pub mod policy;
pub mod reporting;

pub use actor::{Actor, ActorKind, RequestCtx};
