//! frontdoor's integration tests: one test binary, one module per area. Every test drives
//! the real HTTP server over a fresh database — a temporary SQLite file, and a fresh
//! PostgreSQL database too when FRONTDOOR_TEST_POSTGRES is set — through the rig in the
//! `frontdoor-testkit` crate (testkit/).
//!
//! All the tests share this one process. What is the process's rather than a server's is
//! made safe for that in the kit: the password hashing queue (the flood in `hardening`
//! runs while no other test's server is alive). Nothing here sets environment variables or
//! installs a global tracing subscriber.
mod access_matrix;
mod access_matrix_outcomes;
mod annex_a;
mod audit;
mod auth;
mod fhir;
mod hardening;
mod http;
mod identity;
mod inbox;
mod input;
mod missing;
mod nodes;
mod outcomes;
mod processes;
mod races;
mod races_outcomes;
mod report;
mod rules;
mod seed_report;
mod sessions;
mod subscriptions;
mod workflow;
