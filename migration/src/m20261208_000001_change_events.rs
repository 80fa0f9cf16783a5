//! Change events: one row per change a subscriber may be told of (a request sent or
//! answered, a contact arriving, changing or decided), written in the same transaction as
//! the change. Rows hold ids and codes only, never case data. The id is the cursor a client
//! hands back (`since:`) to catch up on what it missed while disconnected.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ChangeEvents {
    Table,
    Id,
    Kind,
    SubjectId,
    AgencyId,
    PrincipalId,
    Status,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ChangeEvents::Table)
                    .col(big_pk_auto(ChangeEvents::Id))
                    .col(string(ChangeEvents::Kind))
                    .col(uuid(ChangeEvents::SubjectId))
                    .col(uuid_null(ChangeEvents::AgencyId))
                    .col(uuid_null(ChangeEvents::PrincipalId))
                    .col(string(ChangeEvents::Status))
                    .col(timestamp_with_time_zone(ChangeEvents::At))
                    .to_owned(),
            )
            .await?;
        // Catching up: the events of some kinds after a cursor.
        manager
            .create_index(
                Index::create()
                    .name("change_events_kind_id")
                    .table(ChangeEvents::Table)
                    .col(ChangeEvents::Kind)
                    .col(ChangeEvents::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ChangeEvents::Table).to_owned())
            .await
    }
}
