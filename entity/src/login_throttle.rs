use sea_orm::entity::prelude::*;

/// Failed-login state per normalised username, whether or not such a user exists.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_throttles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub username_key: String,
    pub failures: i32,
    pub locked_until: Option<DateTimeUtc>,
    pub last_attempt_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
