//! frontdoor: the GraphQL backend of a Multi-Agency Safeguarding Hub.
//!
//! Layers, each using only those below it: `http` (routes, limits, the server loop) →
//! `graphql` (schema, thin resolvers) → `domain` (rules, the policy, the audit writer) →
//! `entity` / `migration` (tables). `services::Core` is the handle they share.
pub mod audit_log;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod event_bus;
pub mod graphql;
pub mod http;
pub mod logging;
pub mod services;

pub use http::build_app;
pub use services::{Core, CoreInner};
