use sea_orm::entity::prelude::*;

/// One login of a user: its access and refresh tokens carry its id (`sid`), and every
/// request checks it has not ended. Its refresh tokens are the family with the same id.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub created_at: DateTimeUtc,
    pub ended_at: Option<DateTimeUtc>,
    /// Why it ended: logout, refresh_token_reuse, password_change, password_reset,
    /// user_deactivated, agency_deactivated.
    pub end_reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id"
    )]
    User,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
