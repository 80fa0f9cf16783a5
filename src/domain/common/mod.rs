//! What every area of the domain uses.
pub mod bundle;
pub mod checks;
pub mod clock;
pub mod code_lists;
pub mod codes;
pub mod idempotency;
pub mod identifiers;
pub mod page;
pub mod transition;
