//! Sessions: one row per login, named by the `sid` claim of its access and refresh tokens and
//! checked on every request, so ending one stops its tokens at their next use. Refresh tokens
//! record when they were rotated (`used_at`), apart from when they were revoked; machine
//! clients get a token epoch, so reactivating one does not revive its old tokens.
use sea_orm_migration::prelude::*;

use crate::m20261126_000002_mash::{index, table, text_null, time, time_null, uuid};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                table(
                    "sessions",
                    vec![
                        crate::m20261126_000002_mash::id("id"),
                        uuid("user_id"),
                        time("created_at"),
                        time_null("ended_at"),
                        text_null("end_reason"),
                    ],
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Alias::new("sessions"), Alias::new("user_id"))
                        .to(Alias::new("users"), Alias::new("id")),
                )
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index("sessions_user", "sessions", &["user_id"]))
            .await?;

        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("refresh_tokens"))
                    .add_column(time_null("used_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "refresh_tokens_expires",
                "refresh_tokens",
                &["expires_at"],
            ))
            .await?;
        manager
            .create_index(index(
                "idempotency_keys_created",
                "idempotency_keys",
                &["created_at"],
            ))
            .await?;

        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("clients"))
                    .add_column(
                        ColumnDef::new(Alias::new("token_epoch"))
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;

        // Every refresh-token family already issued is a session: its tokens keep working,
        // and one whose tokens are all revoked is an ended session.
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO sessions (id, user_id, created_at, ended_at, end_reason) \
                 SELECT family_id, user_id, MIN(created_at), \
                 CASE WHEN COUNT(revoked_at) = COUNT(*) THEN MAX(revoked_at) END, \
                 CASE WHEN COUNT(revoked_at) = COUNT(*) THEN 'revoked' END \
                 FROM refresh_tokens GROUP BY family_id, user_id",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("clients"))
                    .drop_column(Alias::new("token_epoch"))
                    .to_owned(),
            )
            .await?;
        for (name, table) in [
            ("idempotency_keys_created", "idempotency_keys"),
            ("refresh_tokens_expires", "refresh_tokens"),
        ] {
            manager
                .drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("refresh_tokens"))
                    .drop_column(Alias::new("used_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Alias::new("sessions")).to_owned())
            .await
    }
}
