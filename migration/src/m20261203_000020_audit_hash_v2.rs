//! Audit hash format 2: an entry's hash also covers its id, so renumbering an entry (or
//! giving a hidden one's id to another) is detected. Existing entries keep format 1 and
//! still verify; every entry written from now on is format 2, and a chain never goes back.
//! On SQLite the append goes through a new view, `audit_append_v2`, whose trigger inserts
//! the id the writer chose.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    HashVersion,
}

pub(crate) const APPEND_VIEW_V2: &str = "CREATE VIEW audit_append_v2 AS \
     SELECT id, hash_version, chain, seq, prev_hash, hash, at, actor_kind, actor_id, \
            actor_label, actor_agency_id, action, entity_type, entity_id, outcome, request_id, \
            detail, purpose, lawful_basis, consent_ref, '' AS refs \
     FROM audit_events WHERE 0";

// The writer chooses the id (it is inside the hash), so the trigger inserts it as given.
pub(crate) const APPEND_TRIGGER_V2: &str =
    "CREATE TRIGGER audit_append_v2_insert INSTEAD OF INSERT ON audit_append_v2 \
     BEGIN \
       SELECT RAISE(ABORT, 'audit chain head moved') \
       WHERE NOT EXISTS (SELECT 1 FROM audit_chain_heads h \
         WHERE h.chain = NEW.chain AND h.seq = NEW.seq - 1 AND h.hash = NEW.prev_hash); \
       SELECT RAISE(ABORT, 'audit chain head moved') \
       WHERE EXISTS (SELECT 1 FROM audit_events e WHERE e.id = NEW.id); \
       INSERT INTO audit_events (id, hash_version, chain, seq, prev_hash, hash, at, actor_kind, \
         actor_id, actor_label, actor_agency_id, action, entity_type, entity_id, outcome, \
         request_id, detail, purpose, lawful_basis, consent_ref) \
       VALUES (NEW.id, NEW.hash_version, NEW.chain, NEW.seq, NEW.prev_hash, NEW.hash, NEW.at, \
         NEW.actor_kind, NEW.actor_id, NEW.actor_label, NEW.actor_agency_id, NEW.action, \
         NEW.entity_type, NEW.entity_id, NEW.outcome, NEW.request_id, NEW.detail, \
         NEW.purpose, NEW.lawful_basis, NEW.consent_ref); \
       INSERT INTO audit_event_refs (event_id, kind, ref_id) \
         SELECT NEW.id, json_extract(r.value, '$.kind'), json_extract(r.value, '$.ref_id') \
         FROM json_each(NEW.refs) r; \
       UPDATE audit_chain_heads SET seq = NEW.seq, hash = NEW.hash \
         WHERE chain = NEW.chain; \
     END";

const APPEND_VIEW_V1: &str = "CREATE VIEW audit_append AS \
     SELECT chain, seq, prev_hash, hash, at, actor_kind, actor_id, actor_label, \
            actor_agency_id, action, entity_type, entity_id, outcome, request_id, \
            detail, purpose, lawful_basis, consent_ref, '' AS refs \
     FROM audit_events WHERE 0";

const APPEND_TRIGGER_V1: &str =
    "CREATE TRIGGER audit_append_insert INSTEAD OF INSERT ON audit_append \
     BEGIN \
       SELECT RAISE(ABORT, 'audit chain head moved') \
       WHERE NOT EXISTS (SELECT 1 FROM audit_chain_heads h \
         WHERE h.chain = NEW.chain AND h.seq = NEW.seq - 1 AND h.hash = NEW.prev_hash); \
       INSERT INTO audit_events (chain, seq, prev_hash, hash, at, actor_kind, actor_id, \
         actor_label, actor_agency_id, action, entity_type, entity_id, outcome, \
         request_id, detail, purpose, lawful_basis, consent_ref) \
       VALUES (NEW.chain, NEW.seq, NEW.prev_hash, NEW.hash, NEW.at, NEW.actor_kind, \
         NEW.actor_id, NEW.actor_label, NEW.actor_agency_id, NEW.action, \
         NEW.entity_type, NEW.entity_id, NEW.outcome, NEW.request_id, NEW.detail, \
         NEW.purpose, NEW.lawful_basis, NEW.consent_ref); \
       INSERT INTO audit_event_refs (event_id, kind, ref_id) \
         SELECT e.id, json_extract(r.value, '$.kind'), json_extract(r.value, '$.ref_id') \
         FROM audit_events e, json_each(NEW.refs) r \
         WHERE e.chain = NEW.chain AND e.seq = NEW.seq; \
       UPDATE audit_chain_heads SET seq = NEW.seq, hash = NEW.hash \
         WHERE chain = NEW.chain; \
     END";

// SQLite re-checks views and triggers on ALTER TABLE, so the append view is dropped
// before the column changes and recreated after.
async fn drop_append_view(manager: &SchemaManager<'_>, view: &str) -> Result<(), DbErr> {
    if manager.get_database_backend() != DatabaseBackend::Sqlite {
        return Ok(());
    }
    let conn = manager.get_connection();
    conn.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {view}_insert"))
        .await?;
    conn.execute_unprepared(&format!("DROP VIEW IF EXISTS {view}"))
        .await?;
    Ok(())
}

async fn create_append_view(
    manager: &SchemaManager<'_>,
    view: &str,
    trigger: &str,
) -> Result<(), DbErr> {
    if manager.get_database_backend() != DatabaseBackend::Sqlite {
        return Ok(());
    }
    let conn = manager.get_connection();
    conn.execute_unprepared(view).await?;
    conn.execute_unprepared(trigger).await?;
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_append_view(manager, "audit_append").await?;
        // Entries written before this migration are format 1.
        manager
            .alter_table(
                Table::alter()
                    .table(AuditEvents::Table)
                    .add_column(
                        ColumnDef::new(AuditEvents::HashVersion)
                            .small_integer()
                            .not_null()
                            .default(1),
                    )
                    .to_owned(),
            )
            .await?;
        create_append_view(manager, APPEND_VIEW_V2, APPEND_TRIGGER_V2).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_append_view(manager, "audit_append_v2").await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AuditEvents::Table)
                    .drop_column(AuditEvents::HashVersion)
                    .to_owned(),
            )
            .await?;
        create_append_view(manager, APPEND_VIEW_V1, APPEND_TRIGGER_V1).await
    }
}
