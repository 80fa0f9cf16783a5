//! Agencies, users, machine clients, refresh tokens, login throttling and the audit trail
//! (hash-chained entries, their refs, chain heads and signed checkpoints).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Agencies {
    Table,
    Id,
    Name,
    Kind,
    SourceCode,
    HostsMash,
    Active,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    AgencyId,
    Username,
    DisplayName,
    PasswordHash,
    Roles,
    Active,
    TokenEpoch,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    Id,
    AgencyId,
    ClientId,
    Name,
    SecretHash,
    Scopes,
    Active,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Id,
    UserId,
    FamilyId,
    TokenHash,
    ExpiresAt,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum LoginThrottles {
    Table,
    UsernameKey,
    Failures,
    LockedUntil,
    LastAttemptAt,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    At,
    ActorKind,
    ActorId,
    ActorLabel,
    ActorAgencyId,
    Action,
    EntityType,
    EntityId,
    Outcome,
    RequestId,
    Detail,
    Chain,
    Seq,
    PrevHash,
    Hash,
    Purpose,
    LawfulBasis,
    ConsentRef,
}

#[derive(DeriveIden)]
enum AuditEventRefs {
    Table,
    EventId,
    Kind,
    RefId,
}

#[derive(DeriveIden)]
enum AuditChainHeads {
    Table,
    Chain,
    Seq,
    Hash,
}

#[derive(DeriveIden)]
enum AuditCheckpoints {
    Table,
    Id,
    At,
    Heads,
    Signature,
    PublicKey,
}

/// How many hash chains the audit trail is spread over (`domain::audit::CHAINS` must match):
/// concurrent writers lock one chain head each instead of all queueing on a single one.
const AUDIT_CHAINS: i32 = 8;

/// The `prev_hash` of a chain's first entry, and the hash of an empty chain's head.
const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Agencies::Table)
                    .col(pk_uuid(Agencies::Id))
                    .col(string_uniq(Agencies::Name))
                    .col(string(Agencies::Kind))
                    .col(string(Agencies::SourceCode))
                    .col(boolean(Agencies::HostsMash))
                    .col(boolean(Agencies::Active))
                    .col(timestamp_with_time_zone(Agencies::CreatedAt))
                    .to_owned(),
            )
            .await?;
        // Exactly one agency hosts the MASH: the database refuses a second one.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX agencies_one_mash_host ON agencies (hosts_mash) WHERE hosts_mash",
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(pk_uuid(Users::Id))
                    .col(uuid(Users::AgencyId))
                    .col(string_uniq(Users::Username))
                    .col(string(Users::DisplayName))
                    .col(string(Users::PasswordHash))
                    .col(string(Users::Roles))
                    .col(boolean(Users::Active))
                    .col(integer(Users::TokenEpoch))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .col(timestamp_with_time_zone(Users::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Users::Table, Users::AgencyId)
                            .to(Agencies::Table, Agencies::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("users_agency")
                    .table(Users::Table)
                    .col(Users::AgencyId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Clients::Table)
                    .col(pk_uuid(Clients::Id))
                    .col(uuid(Clients::AgencyId))
                    .col(string_uniq(Clients::ClientId))
                    .col(string(Clients::Name))
                    .col(string(Clients::SecretHash))
                    .col(string(Clients::Scopes))
                    .col(boolean(Clients::Active))
                    .col(timestamp_with_time_zone(Clients::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Clients::Table, Clients::AgencyId)
                            .to(Agencies::Table, Agencies::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    .col(pk_uuid(RefreshTokens::Id))
                    .col(uuid(RefreshTokens::UserId))
                    .col(uuid(RefreshTokens::FamilyId))
                    .col(string_uniq(RefreshTokens::TokenHash))
                    .col(timestamp_with_time_zone(RefreshTokens::ExpiresAt))
                    .col(timestamp_with_time_zone(RefreshTokens::CreatedAt))
                    .col(timestamp_with_time_zone_null(RefreshTokens::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RefreshTokens::Table, RefreshTokens::UserId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("refresh_tokens_family")
                    .table(RefreshTokens::Table)
                    .col(RefreshTokens::FamilyId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("refresh_tokens_user")
                    .table(RefreshTokens::Table)
                    .col(RefreshTokens::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LoginThrottles::Table)
                    .col(string(LoginThrottles::UsernameKey).primary_key())
                    .col(integer(LoginThrottles::Failures))
                    .col(timestamp_with_time_zone_null(LoginThrottles::LockedUntil))
                    .col(timestamp_with_time_zone(LoginThrottles::LastAttemptAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(big_pk_auto(AuditEvents::Id))
                    .col(timestamp_with_time_zone(AuditEvents::At))
                    .col(string(AuditEvents::ActorKind))
                    .col(string_null(AuditEvents::ActorId))
                    .col(string(AuditEvents::ActorLabel))
                    .col(uuid_null(AuditEvents::ActorAgencyId))
                    .col(string(AuditEvents::Action))
                    .col(string_null(AuditEvents::EntityType))
                    .col(string_null(AuditEvents::EntityId))
                    .col(string(AuditEvents::Outcome))
                    .col(string_null(AuditEvents::RequestId))
                    .col(text_null(AuditEvents::Detail))
                    .col(integer(AuditEvents::Chain))
                    .col(big_integer(AuditEvents::Seq))
                    .col(string(AuditEvents::PrevHash))
                    .col(string(AuditEvents::Hash))
                    .col(string_null(AuditEvents::Purpose))
                    .col(string_null(AuditEvents::LawfulBasis))
                    .col(string_null(AuditEvents::ConsentRef))
                    .to_owned(),
            )
            .await?;
        // An entry's place in the trail is (chain, seq): one entry per place, found by it.
        manager
            .create_index(
                Index::create()
                    .name("audit_events_chain_seq")
                    .table(AuditEvents::Table)
                    .col(AuditEvents::Chain)
                    .col(AuditEvents::Seq)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("audit_events_action_at")
                    .table(AuditEvents::Table)
                    .col(AuditEvents::Action)
                    .col(AuditEvents::At)
                    .to_owned(),
            )
            .await?;

        // The children and records an entry names: what a child's or a disclosure's access
        // log is read from.
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
                    .foreign_key(
                        ForeignKey::create()
                            .from(AuditEventRefs::Table, AuditEventRefs::EventId)
                            .to(AuditEvents::Table, AuditEvents::Id),
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

        // Each chain's newest (seq, hash): the row a writer locks to append to that chain.
        manager
            .create_table(
                Table::create()
                    .table(AuditChainHeads::Table)
                    .col(integer(AuditChainHeads::Chain).primary_key())
                    .col(big_integer(AuditChainHeads::Seq))
                    .col(string(AuditChainHeads::Hash))
                    .to_owned(),
            )
            .await?;
        for chain in 1..=AUDIT_CHAINS {
            manager
                .exec_stmt(
                    Query::insert()
                        .into_table(AuditChainHeads::Table)
                        .columns([
                            AuditChainHeads::Chain,
                            AuditChainHeads::Seq,
                            AuditChainHeads::Hash,
                        ])
                        .values_panic([chain.into(), 0i64.into(), GENESIS_HASH.into()])
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(AuditCheckpoints::Table)
                    .col(big_pk_auto(AuditCheckpoints::Id))
                    .col(timestamp_with_time_zone(AuditCheckpoints::At))
                    .col(text(AuditCheckpoints::Heads))
                    .col(text(AuditCheckpoints::Signature))
                    .col(text(AuditCheckpoints::PublicKey))
                    .to_owned(),
            )
            .await?;

        if manager.get_database_backend() == sea_orm_migration::sea_orm::DatabaseBackend::Sqlite {
            // SQLite has no data-modifying WITH clause, so appending to a chain in ONE
            // statement (atomic even when the caller holds no transaction) goes through this
            // view: its trigger checks the head is still the one the hash was computed from,
            // then inserts the entry and its refs and moves the head. PostgreSQL does the
            // same with a data-modifying WITH (see `domain::audit`).
            let conn = manager.get_connection();
            conn.execute_unprepared(
                "CREATE VIEW audit_append AS \
                 SELECT chain, seq, prev_hash, hash, at, actor_kind, actor_id, actor_label, \
                        actor_agency_id, action, entity_type, entity_id, outcome, request_id, \
                        detail, purpose, lawful_basis, consent_ref, '' AS refs \
                 FROM audit_events WHERE 0",
            )
            .await?;
            conn.execute_unprepared(
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
                 END",
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == sea_orm_migration::sea_orm::DatabaseBackend::Sqlite {
            manager
                .get_connection()
                .execute_unprepared("DROP VIEW IF EXISTS audit_append")
                .await?;
        }
        for table in [
            AuditCheckpoints::Table.into_iden(),
            AuditChainHeads::Table.into_iden(),
            AuditEventRefs::Table.into_iden(),
            AuditEvents::Table.into_iden(),
            LoginThrottles::Table.into_iden(),
            RefreshTokens::Table.into_iden(),
            Clients::Table.into_iden(),
            Users::Table.into_iden(),
            Agencies::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
