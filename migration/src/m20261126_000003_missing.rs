//! Missing children: episodes reported by the police and the return home interviews that follow.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn col(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("missing_episodes"))
                    .col(col("id").uuid().not_null().primary_key())
                    .col(col("child_id").uuid().not_null())
                    .col(col("agency_id").uuid().not_null())
                    .col(col("reported_by").uuid().not_null())
                    .col(col("child_as_reported").text().not_null())
                    .col(
                        col("reported_missing_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(col("risk_grade").text().not_null())
                    .col(col("la_notified_at").timestamp_with_time_zone().null())
                    .col(col("returned_at").timestamp_with_time_zone().null())
                    .col(col("return_notified_at").timestamp_with_time_zone().null())
                    .col(col("recorded_at").timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("missing_child_time")
                    .table(Alias::new("missing_episodes"))
                    .col(Alias::new("child_id"))
                    .col(Alias::new("reported_missing_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("missing_agency")
                    .table(Alias::new("missing_episodes"))
                    .col(Alias::new("agency_id"))
                    .col(Alias::new("id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("return_home_interviews"))
                    .col(col("id").uuid().not_null().primary_key())
                    .col(col("episode_id").uuid().not_null().unique_key())
                    .col(col("child_id").uuid().not_null())
                    .col(col("due_at").timestamp_with_time_zone().not_null())
                    .col(col("offered_at").timestamp_with_time_zone().null())
                    .col(col("outcome").text().null())
                    .col(col("completed_at").timestamp_with_time_zone().null())
                    .col(col("late_reason").text().null())
                    .col(col("not_offered_reason").text().null())
                    .col(col("recorded_at").timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in ["return_home_interviews", "missing_episodes"] {
            manager
                .drop_table(Table::drop().table(Alias::new(name)).to_owned())
                .await?;
        }
        Ok(())
    }
}
