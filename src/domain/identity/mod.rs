//! Administration of agencies, users and machine clients (ADMIN, or the CLI operator).
pub mod sessions;
pub mod throttle;
use chrono::Utc;
use entity::{agency, client, user};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set, SqlErr,
};
use serde_json::json;
use uuid::Uuid;

use crate::auth::password;
use crate::db::begin_write;
use crate::domain::audit::Action;
use crate::domain::audit::{self, AuditEntry};
use crate::domain::common::checks::{self, Kind};
use crate::domain::common::codes::{AgencyKind, Role, SourceCodes, SCOPES};
use crate::domain::common::page::{self, Page, PageRequest};
use crate::domain::policy::{self, Permission};
use crate::domain::RequestCtx;
use crate::error::{AppError, AppResult};
use crate::Core;
use sessions::EndReason;

mod agencies;
mod clients;
mod users;

pub use agencies::*;
pub use clients::*;
pub use users::*;

async fn authorize_admin(core: &Core, ctx: &RequestCtx, action: Action) -> AppResult<()> {
    let result = policy::authorize(&ctx.actor, Permission::ManageIdentity);
    audit::on_refusal(core, ctx, action, result).await
}

fn normalized_username(value: &str) -> AppResult<String> {
    let name = value.trim().to_lowercase();
    let valid = (3..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if valid {
        Ok(name)
    } else {
        Err(AppError::bad_input(
            "username",
            "must be 3–64 characters: letters, digits, '.', '_' or '-', starting with a letter or digit",
        ))
    }
}

fn unique_violation(err: DbErr, field: &str, message: &str) -> AppError {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => AppError::conflict(field, message),
        _ => AppError::from(err),
    }
}

pub async fn find_agency(core: &Core, name_or_id: &str) -> AppResult<Option<agency::Model>> {
    if let Ok(id) = Uuid::parse_str(name_or_id) {
        return Ok(agency::Entity::find_by_id(id).one(&core.db).await?);
    }
    Ok(agency::Entity::find()
        .filter(agency::Column::Name.eq(name_or_id))
        .one(&core.db)
        .await?)
}
