//! One child record per NHS number: the index that makes concurrent submissions about the
//! same new child link to one record (the name and date-of-birth rule stays a match).
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("children_nhs")
                    .table(Alias::new("children"))
                    .to_owned(),
            )
            .await?;
        // NHS numbers are stored normalised (ten digits), and NULLs never collide, so the
        // index covers exactly the children whose NHS number is known.
        manager
            .create_index(
                Index::create()
                    .name("children_nhs_unique")
                    .table(Alias::new("children"))
                    .col(Alias::new("nhs_number"))
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("children_nhs_unique")
                    .table(Alias::new("children"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("children_nhs")
                    .table(Alias::new("children"))
                    .col(Alias::new("nhs_number"))
                    .to_owned(),
            )
            .await
    }
}
