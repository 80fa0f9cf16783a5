//! What frontdoor's integration tests (`tests/api/`) and the load driver (`bench/`) share to
//! drive the service over real HTTP:
//!
//! - [`FreshDatabase`]: a PostgreSQL database created for one run from an admin URL and
//!   dropped afterwards;
//! - [`Client`]: a small GraphQL-over-HTTP client (a query with variables and an optional
//!   bearer token; logging in as a demo user; a machine client's token);
//! - the demo principals' password and lookups ([`PASSWORD`], [`demo_users_without`]);
//! - [`TestServer`]: the service in-process on a random port over a fresh SQLite file or a
//!   fresh PostgreSQL database, and [`each_backend`], which runs a test on SQLite and then,
//!   when `FRONTDOOR_TEST_POSTGRES` is set, on PostgreSQL;
//! - for races: a second server process on the test's database ([`ServerProcess`],
//!   [`Instances`]) and calls released at the same moment ([`at_once`], [`one_winner`]).
mod client;
mod database;
mod hash_queue;
mod races;
mod server;
mod subscription;

pub use client::{demo_client_secret, demo_users_without, Client, PASSWORD};
pub use database::{with_database, FreshDatabase};
pub use hash_queue::{hash_queue_alone, HashQueueHold};
pub use races::{at_once, frontdoor_bin, one_winner, Call, Instances, ServerProcess};
pub use server::{
    each_backend, error_code, error_field, postgres_url, Backend, HttpApi, TestServer,
};
pub use subscription::{ws_url, Received, Subscription};
