//! The database schema, owned here and applied by `frontdoor migrate` / `frontdoor serve`.
pub use sea_orm_migration::prelude::*;

mod m20261126_000001_identity;
mod m20261126_000002_mash;
mod m20261126_000003_missing;
mod m20261126_000004_outcomes;
mod m20261202_000001_child_identity;
mod m20261203_000001_sessions;
mod m20261203_000020_audit_hash_v2;
mod m20261207_000001_audit_ref_sets;
mod m20261208_000001_change_events;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_identity::Migration),
            Box::new(m20261126_000002_mash::Migration),
            Box::new(m20261126_000003_missing::Migration),
            Box::new(m20261126_000004_outcomes::Migration),
            Box::new(m20261202_000001_child_identity::Migration),
            Box::new(m20261203_000001_sessions::Migration),
            Box::new(m20261203_000020_audit_hash_v2::Migration),
            Box::new(m20261207_000001_audit_ref_sets::Migration),
            Box::new(m20261208_000001_change_events::Migration),
        ]
    }
}
