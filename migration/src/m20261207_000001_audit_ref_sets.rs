//! An entry's refs (the children and records it names) stored once per distinct set rather
//! than once per entry. A desk polling the same inbox page, or staff re-reading the same
//! contact, name the same set again and again: each such entry now stores one key instead of
//! hundreds of ref rows. The set is keyed by the SHA-256 of its canonical refs, so the writer
//! knows the key without a lookup and inserts the set only the first time it is seen.
//!
//! The refs stay inside each entry's hash, so `audit verify` reads them back through the key
//! and a changed member or key shows as a hash mismatch. Refs written before this migration
//! become one set per entry, keyed `legacy:<entry id>`; the old table is dropped.
use sea_orm_migration::sea_orm::DatabaseBackend;

// Going back down restores the append view of the migration before.
use crate::m20261203_000020_audit_hash_v2::{APPEND_TRIGGER_V2, APPEND_VIEW_V2};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    RefSet,
}

#[derive(DeriveIden)]
enum AuditRefSets {
    Table,
    RefSet,
}

#[derive(DeriveIden)]
enum AuditRefSetMembers {
    Table,
    RefSet,
    Kind,
    RefId,
}

#[derive(DeriveIden)]
enum AuditEventRefs {
    Table,
    EventId,
    Kind,
    RefId,
}

const APPEND_VIEW_V3: &str = "CREATE VIEW audit_append_v3 AS \
     SELECT id, hash_version, chain, seq, prev_hash, hash, at, actor_kind, actor_id, \
            actor_label, actor_agency_id, action, entity_type, entity_id, outcome, request_id, \
            detail, purpose, lawful_basis, consent_ref, ref_set, '' AS refs \
     FROM audit_events WHERE 0";

// The members go in only the first time a set is seen (writers are one at a time on
// SQLite), before the set's own row marks it known.
const APPEND_TRIGGER_V3: &str =
    "CREATE TRIGGER audit_append_v3_insert INSTEAD OF INSERT ON audit_append_v3 \
     BEGIN \
       SELECT RAISE(ABORT, 'audit chain head moved') \
       WHERE NOT EXISTS (SELECT 1 FROM audit_chain_heads h \
         WHERE h.chain = NEW.chain AND h.seq = NEW.seq - 1 AND h.hash = NEW.prev_hash); \
       SELECT RAISE(ABORT, 'audit chain head moved') \
       WHERE EXISTS (SELECT 1 FROM audit_events e WHERE e.id = NEW.id); \
       INSERT INTO audit_events (id, hash_version, chain, seq, prev_hash, hash, at, actor_kind, \
         actor_id, actor_label, actor_agency_id, action, entity_type, entity_id, outcome, \
         request_id, detail, purpose, lawful_basis, consent_ref, ref_set) \
       VALUES (NEW.id, NEW.hash_version, NEW.chain, NEW.seq, NEW.prev_hash, NEW.hash, NEW.at, \
         NEW.actor_kind, NEW.actor_id, NEW.actor_label, NEW.actor_agency_id, NEW.action, \
         NEW.entity_type, NEW.entity_id, NEW.outcome, NEW.request_id, NEW.detail, \
         NEW.purpose, NEW.lawful_basis, NEW.consent_ref, NEW.ref_set); \
       INSERT INTO audit_ref_set_members (ref_set, kind, ref_id) \
         SELECT NEW.ref_set, json_extract(r.value, '$[0]'), json_extract(r.value, '$[1]') \
         FROM json_each(NEW.refs) r \
         WHERE NEW.ref_set IS NOT NULL \
           AND NOT EXISTS (SELECT 1 FROM audit_ref_sets s WHERE s.ref_set = NEW.ref_set); \
       INSERT OR IGNORE INTO audit_ref_sets (ref_set) \
         SELECT NEW.ref_set WHERE NEW.ref_set IS NOT NULL; \
       UPDATE audit_chain_heads SET seq = NEW.seq, hash = NEW.hash \
         WHERE chain = NEW.chain; \
     END";

async fn exec_all(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    let conn = manager.get_connection();
    for sql in statements {
        conn.execute_unprepared(sql).await?;
    }
    Ok(())
}

fn is_sqlite(manager: &SchemaManager<'_>) -> bool {
    manager.get_database_backend() == DatabaseBackend::Sqlite
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if is_sqlite(manager) {
            exec_all(
                manager,
                &[
                    "DROP TRIGGER IF EXISTS audit_append_v2_insert",
                    "DROP VIEW IF EXISTS audit_append_v2",
                ],
            )
            .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(AuditRefSets::Table)
                    .col(string(AuditRefSets::RefSet).primary_key())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditRefSetMembers::Table)
                    .col(string(AuditRefSetMembers::RefSet))
                    .col(string(AuditRefSetMembers::Kind))
                    .col(string(AuditRefSetMembers::RefId))
                    .primary_key(
                        Index::create()
                            .col(AuditRefSetMembers::RefSet)
                            .col(AuditRefSetMembers::Kind)
                            .col(AuditRefSetMembers::RefId),
                    )
                    .to_owned(),
            )
            .await?;
        // A child's or a disclosure's access log: the sets naming it, then their entries.
        manager
            .create_index(
                Index::create()
                    .name("audit_ref_set_members_kind_ref")
                    .table(AuditRefSetMembers::Table)
                    .col(AuditRefSetMembers::Kind)
                    .col(AuditRefSetMembers::RefId)
                    .col(AuditRefSetMembers::RefSet)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AuditEvents::Table)
                    .add_column(ColumnDef::new(AuditEvents::RefSet).string().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("audit_events_ref_set")
                    .table(AuditEvents::Table)
                    .col(AuditEvents::RefSet)
                    .to_owned(),
            )
            .await?;
        // Refs written so far: one set per entry (their keys are not content hashes, so no
        // new entry ever shares them).
        exec_all(
            manager,
            &[
                "INSERT INTO audit_ref_sets (ref_set) \
                 SELECT DISTINCT 'legacy:' || event_id FROM audit_event_refs",
                "INSERT INTO audit_ref_set_members (ref_set, kind, ref_id) \
                 SELECT 'legacy:' || event_id, kind, ref_id FROM audit_event_refs",
                "UPDATE audit_events SET ref_set = 'legacy:' || id \
                 WHERE id IN (SELECT event_id FROM audit_event_refs)",
            ],
        )
        .await?;
        manager
            .drop_table(Table::drop().table(AuditEventRefs::Table).to_owned())
            .await?;
        if is_sqlite(manager) {
            exec_all(manager, &[APPEND_VIEW_V3, APPEND_TRIGGER_V3]).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if is_sqlite(manager) {
            exec_all(
                manager,
                &[
                    "DROP TRIGGER IF EXISTS audit_append_v3_insert",
                    "DROP VIEW IF EXISTS audit_append_v3",
                ],
            )
            .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(AuditEventRefs::Table)
                    .col(big_integer(AuditEventRefs::EventId))
                    .col(string(AuditEventRefs::Kind))
                    .col(string(AuditEventRefs::RefId))
                    .primary_key(
                        Index::create()
                            .col(AuditEventRefs::EventId)
                            .col(AuditEventRefs::Kind)
                            .col(AuditEventRefs::RefId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("audit_event_refs_kind_ref")
                    .table(AuditEventRefs::Table)
                    .col(AuditEventRefs::Kind)
                    .col(AuditEventRefs::RefId)
                    .col(AuditEventRefs::EventId)
                    .to_owned(),
            )
            .await?;
        exec_all(
            manager,
            &["INSERT INTO audit_event_refs (event_id, kind, ref_id) \
               SELECT e.id, m.kind, m.ref_id FROM audit_events e \
               JOIN audit_ref_set_members m ON m.ref_set = e.ref_set"],
        )
        .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("audit_events_ref_set")
                    .table(AuditEvents::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AuditEvents::Table)
                    .drop_column(AuditEvents::RefSet)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(AuditRefSetMembers::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(AuditRefSets::Table).to_owned())
            .await?;
        if is_sqlite(manager) {
            exec_all(manager, &[APPEND_VIEW_V2, APPEND_TRIGGER_V2]).await?;
        }
        Ok(())
    }
}
