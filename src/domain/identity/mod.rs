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
use crate::domain::audit::{self, AuditEntry};
use crate::domain::common::checks::{self, Kind};
use crate::domain::common::codes::{AgencyKind, Role, SCOPES};
use crate::domain::common::page::{self, Page, PageRequest};
use crate::domain::policy::{self, Permission};
use crate::domain::RequestCtx;
use crate::error::{AppError, AppResult};
use crate::Core;
use sessions::EndReason;

async fn authorize_admin(core: &Core, ctx: &RequestCtx, action: &'static str) -> AppResult<()> {
    let result = policy::authorize(&ctx.actor, Permission::ManageIdentity);
    audit::on_refusal(&core.db, ctx, action, result).await
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

// ---------------------------------------------------------------- agencies

pub struct NewAgency {
    pub name: String,
    pub kind: AgencyKind,
    pub source_code: Option<String>,
    pub hosts_mash: bool,
}

pub async fn create_agency(
    core: &Core,
    ctx: &RequestCtx,
    input: NewAgency,
) -> AppResult<agency::Model> {
    authorize_admin(core, ctx, "agency.create").await?;
    let name = checks::required("name", &input.name, Kind::Line)?;
    let source_code = input
        .kind
        .checked_source_code(input.source_code.as_deref())?;
    if input.hosts_mash && input.kind != AgencyKind::LocalAuthority {
        return Err(AppError::bad_input(
            "hostsMash",
            "only a local authority can host the MASH",
        ));
    }
    let txn = begin_write(&core.db).await?;
    if input.hosts_mash && find_mash_host(&txn).await?.is_some() {
        return Err(AppError::conflict(
            "hostsMash",
            "another agency already hosts the MASH",
        ));
    }
    let created = agency::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name),
        kind: Set(input.kind.as_str().to_string()),
        source_code: Set(source_code),
        hosts_mash: Set(input.hosts_mash),
        active: Set(true),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await
    .map_err(|e| unique_violation(e, "name", "an agency with this name already exists"))?;
    audit::record(
        &txn,
        ctx,
        AuditEntry::success("agency.create")
            .entity("Agency", created.id)
            .detail(json!({ "kind": created.kind, "hostsMash": created.hosts_mash })),
    )
    .await?;
    txn.commit().await?;
    Ok(created)
}

pub async fn find_mash_host<C: ConnectionTrait>(conn: &C) -> AppResult<Option<agency::Model>> {
    Ok(agency::Entity::find()
        .filter(agency::Column::HostsMash.eq(true))
        .one(conn)
        .await?)
}

pub struct AgencyChanges {
    pub name: Option<String>,
    pub source_code: Option<String>,
    pub active: Option<bool>,
}

pub async fn update_agency(
    core: &Core,
    ctx: &RequestCtx,
    id: Uuid,
    changes: AgencyChanges,
) -> AppResult<agency::Model> {
    authorize_admin(core, ctx, "agency.update").await?;
    let name = changes
        .name
        .as_deref()
        .map(|n| checks::required("name", n, Kind::Line))
        .transpose()?;
    let found = agency::Entity::find_by_id(id).one(&core.db).await?;
    let existing = audit::on_refusal(
        &core.db,
        ctx,
        "agency.update",
        found.ok_or(AppError::NotFound),
    )
    .await?;
    let kind = AgencyKind::parse(&existing.kind).unwrap_or(AgencyKind::Other);
    let deactivating = existing.active && changes.active == Some(false);
    let source_code = changes
        .source_code
        .as_deref()
        .map(|c| kind.checked_source_code(Some(c)))
        .transpose()?;
    let txn = begin_write(&core.db).await?;
    let mut active: agency::ActiveModel = existing.into();
    if let Some(name) = name {
        active.name = Set(name);
    }
    if let Some(code) = source_code {
        active.source_code = Set(code);
    }
    if let Some(flag) = changes.active {
        active.active = Set(flag);
    }
    let updated = active
        .update(&txn)
        .await
        .map_err(|e| unique_violation(e, "name", "an agency with this name already exists"))?;
    // Deactivating an agency ends its users' sessions and its clients' tokens, so that
    // reactivating it later revives none of them.
    let mut ended = 0;
    if deactivating {
        ended =
            sessions::end_agency_sessions(&txn, updated.id, EndReason::AgencyDeactivated).await?;
        client::Entity::update_many()
            .col_expr(
                client::Column::TokenEpoch,
                Expr::col(client::Column::TokenEpoch).add(1),
            )
            .filter(client::Column::AgencyId.eq(updated.id))
            .exec(&txn)
            .await?;
    }
    let mut detail = json!({ "active": updated.active, "sourceCode": updated.source_code });
    if deactivating {
        detail["endedSessions"] = json!(ended);
    }
    audit::record(
        &txn,
        ctx,
        AuditEntry::success("agency.update")
            .entity("Agency", updated.id)
            .detail(detail),
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

pub async fn get_agency(core: &Core, ctx: &RequestCtx, id: Uuid) -> AppResult<agency::Model> {
    authorize_admin(core, ctx, "agency.read").await?;
    let found = agency::Entity::find_by_id(id).one(&core.db).await?;
    audit::on_refusal(
        &core.db,
        ctx,
        "agency.read",
        found.ok_or(AppError::NotFound),
    )
    .await
}

pub async fn list_agencies(
    core: &Core,
    ctx: &RequestCtx,
    page: PageRequest,
) -> AppResult<Page<agency::Model>> {
    authorize_admin(core, ctx, "agency.list").await?;
    page::by_id(
        &core.db,
        agency::Entity::find(),
        agency::Column::Id,
        page::Order::OldestFirst,
        &page,
    )
    .await
}

/// An agency named by an id inside an input: unknown is BAD_USER_INPUT on that field.
async fn agency_for_input(core: &Core, field: &str, id: Option<Uuid>) -> AppResult<agency::Model> {
    let id = id.ok_or_else(|| AppError::bad_input(field, "not an agency id"))?;
    let agency = agency::Entity::find_by_id(id)
        .one(&core.db)
        .await?
        .ok_or_else(|| AppError::bad_input(field, "no such agency"))?;
    if !agency.active {
        return Err(AppError::bad_input(field, "the agency is deactivated"));
    }
    Ok(agency)
}

// ---------------------------------------------------------------- users

pub struct NewUser {
    /// None when the caller's id was not an agency id.
    pub agency_id: Option<Uuid>,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub password: String,
}

pub type UserWithAgency = (user::Model, agency::Model);

fn dedup_roles(mut roles: Vec<Role>) -> Vec<Role> {
    let mut seen = Vec::new();
    roles.retain(|r| {
        let fresh = !seen.contains(r);
        seen.push(*r);
        fresh
    });
    roles
}

pub async fn create_user(
    core: &Core,
    ctx: &RequestCtx,
    input: NewUser,
) -> AppResult<UserWithAgency> {
    authorize_admin(core, ctx, "user.create").await?;
    let username = normalized_username(&input.username)?;
    let display_name = checks::required("displayName", &input.display_name, Kind::Name)?;
    crate::domain::common::checks::new_password("password", &input.password)?;
    checks::list("roles", &input.roles, checks::MAX_CODES)?;
    let roles = dedup_roles(input.roles);
    let agency = agency_for_input(core, "agencyId", input.agency_id).await?;
    policy::check_roles_for_agency(&roles, &agency)?;
    if user::Entity::find()
        .filter(user::Column::Username.eq(&username))
        .one(&core.db)
        .await?
        .is_some()
    {
        return Err(AppError::conflict("username", "this username is taken"));
    }
    let hash = password::hash(input.password).await?;
    let now = Utc::now();
    let txn = begin_write(&core.db).await?;
    let created = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        agency_id: Set(agency.id),
        username: Set(username),
        display_name: Set(display_name),
        password_hash: Set(hash),
        roles: Set(Role::join(&roles)),
        active: Set(true),
        token_epoch: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|e| unique_violation(e, "username", "this username is taken"))?;
    audit::record(
        &txn,
        ctx,
        AuditEntry::success("user.create")
            .entity("User", created.id)
            .detail(json!({ "agencyId": agency.id, "username": created.username, "roles": created.roles })),
    )
    .await?;
    txn.commit().await?;
    Ok((created, agency))
}

async fn target_user(
    core: &Core,
    ctx: &RequestCtx,
    action: &'static str,
    id: Uuid,
) -> AppResult<UserWithAgency> {
    let found = user::Entity::find_by_id(id)
        .find_also_related(agency::Entity)
        .one(&core.db)
        .await?
        .and_then(|(u, a)| a.map(|a| (u, a)));
    audit::on_refusal(&core.db, ctx, action, found.ok_or(AppError::NotFound)).await
}

pub async fn get_user(core: &Core, ctx: &RequestCtx, id: Uuid) -> AppResult<UserWithAgency> {
    authorize_admin(core, ctx, "user.read").await?;
    target_user(core, ctx, "user.read", id).await
}

pub async fn find_user_id_by_username(core: &Core, username: &str) -> AppResult<Option<Uuid>> {
    Ok(user::Entity::find()
        .filter(user::Column::Username.eq(username.trim().to_lowercase()))
        .one(&core.db)
        .await?
        .map(|u| u.id))
}

pub async fn set_user_roles(
    core: &Core,
    ctx: &RequestCtx,
    id: Uuid,
    roles: Vec<Role>,
) -> AppResult<UserWithAgency> {
    authorize_admin(core, ctx, "user.set_roles").await?;
    let (existing, agency) = target_user(core, ctx, "user.set_roles", id).await?;
    checks::list("roles", &roles, checks::MAX_CODES)?;
    let roles = dedup_roles(roles);
    policy::check_roles_for_agency(&roles, &agency)?;
    let txn = begin_write(&core.db).await?;
    let mut active: user::ActiveModel = existing.into();
    active.roles = Set(Role::join(&roles));
    active.updated_at = Set(Utc::now());
    let updated = active.update(&txn).await?;
    audit::record(
        &txn,
        ctx,
        AuditEntry::success("user.set_roles")
            .entity("User", updated.id)
            .detail(json!({ "roles": updated.roles })),
    )
    .await?;
    txn.commit().await?;
    Ok((updated, agency))
}

/// Deactivation ends every session of the user: their tokens stop at their next request,
/// and reactivation does not revive them. Conditional on the current state inside the write
/// transaction: deactivating an inactive user (or reactivating an active one) is CONFLICT
/// on `userId`, so of concurrent identical calls exactly one succeeds.
pub async fn set_user_active(
    core: &Core,
    ctx: &RequestCtx,
    id: Uuid,
    active_flag: bool,
) -> AppResult<UserWithAgency> {
    let action = if active_flag {
        "user.reactivate"
    } else {
        "user.deactivate"
    };
    authorize_admin(core, ctx, action).await?;
    let (_, agency) = target_user(core, ctx, action, id).await?;
    let txn = begin_write(&core.db).await?;
    let changed = user::Entity::update_many()
        .col_expr(user::Column::Active, Expr::value(active_flag))
        .col_expr(user::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(user::Column::Id.eq(id))
        .filter(user::Column::Active.eq(!active_flag))
        .exec(&txn)
        .await?;
    if changed.rows_affected != 1 {
        return Err(AppError::conflict(
            "userId",
            if active_flag {
                "the user is already active"
            } else {
                "the user is already deactivated"
            },
        ));
    }
    let ended = if active_flag {
        0
    } else {
        sessions::end_user_sessions(&txn, id, EndReason::UserDeactivated).await?
    };
    let updated = user::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut entry = AuditEntry::success(action).entity("User", updated.id);
    if !active_flag {
        entry = entry.detail(json!({ "endedSessions": ended }));
    }
    audit::record(&txn, ctx, entry).await?;
    txn.commit().await?;
    Ok((updated, agency))
}

pub async fn reset_password(
    core: &Core,
    ctx: &RequestCtx,
    id: Uuid,
    new_password: &str,
) -> AppResult<UserWithAgency> {
    authorize_admin(core, ctx, "user.reset_password").await?;
    crate::domain::common::checks::new_password("newPassword", new_password)?;
    let (existing, agency) = target_user(core, ctx, "user.reset_password", id).await?;
    let hash = password::hash(new_password.to_string()).await?;
    let txn = begin_write(&core.db).await?;
    let (updated, ended) =
        sessions::set_password(&txn, existing, hash, EndReason::PasswordReset).await?;
    throttle::clear(&txn, &throttle::key_for(&updated.username)).await?;
    audit::record(
        &txn,
        ctx,
        AuditEntry::success("user.reset_password")
            .entity("User", updated.id)
            .detail(json!({ "endedSessions": ended })),
    )
    .await?;
    txn.commit().await?;
    Ok((updated, agency))
}

pub async fn list_users(
    core: &Core,
    ctx: &RequestCtx,
    agency_id: Option<Uuid>,
    page: PageRequest,
) -> AppResult<Page<UserWithAgency>> {
    authorize_admin(core, ctx, "user.list").await?;
    let mut query = user::Entity::find();
    if let Some(agency_id) = agency_id {
        query = query.filter(user::Column::AgencyId.eq(agency_id));
    }
    let page = page::by_id(
        &core.db,
        query,
        user::Column::Id,
        page::Order::OldestFirst,
        &page,
    )
    .await?;
    with_agencies(core, page, |u| u.agency_id).await
}

async fn with_agencies<T>(
    core: &Core,
    page: Page<T>,
    agency_of: impl Fn(&T) -> Uuid,
) -> AppResult<Page<(T, agency::Model)>> {
    let ids: Vec<Uuid> = page.items.iter().map(&agency_of).collect();
    let agencies = agency::Entity::find()
        .filter(agency::Column::Id.is_in(ids))
        .all(&core.db)
        .await?;
    let items = page
        .items
        .into_iter()
        .filter_map(|item| {
            let id = agency_of(&item);
            agencies
                .iter()
                .find(|a| a.id == id)
                .cloned()
                .map(|a| (item, a))
        })
        .collect();
    Ok(Page {
        items,
        has_next_page: page.has_next_page,
        total_count: page.total_count,
    })
}

/// Lifts a login lock early (ADMIN). Works for any username, existing or not.
pub async fn lift_login_throttle(core: &Core, ctx: &RequestCtx, username: &str) -> AppResult<bool> {
    authorize_admin(core, ctx, "login.lift_throttle").await?;
    let txn = begin_write(&core.db).await?;
    throttle::clear(&txn, &throttle::key_for(username)).await?;
    audit::record(&txn, ctx, AuditEntry::success("login.lift_throttle")).await?;
    txn.commit().await?;
    Ok(true)
}

// ---------------------------------------------------------------- machine clients

pub struct NewClient {
    /// None when the caller's id was not an agency id.
    pub agency_id: Option<Uuid>,
    pub name: String,
    pub scopes: Vec<String>,
    /// Chosen by the operator (CLI, demo); generated otherwise.
    pub client_id: Option<String>,
    /// Only the demo loader supplies one; everyone else gets a generated secret.
    pub secret: Option<String>,
}

pub type ClientWithAgency = (client::Model, agency::Model);

/// Creates a client. The secret is returned this once and only its hash is kept.
pub async fn create_client(
    core: &Core,
    ctx: &RequestCtx,
    input: NewClient,
) -> AppResult<(ClientWithAgency, String)> {
    authorize_admin(core, ctx, "client.create").await?;
    let name = checks::required("name", &input.name, Kind::Line)?;
    checks::list("scopes", &input.scopes, checks::MAX_CODES)?;
    if input.scopes.is_empty() {
        return Err(AppError::bad_input(
            "scopes",
            "at least one scope is required",
        ));
    }
    if let Some(bad) = input.scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
        return Err(AppError::bad_input(
            "scopes",
            format!("unknown scope {bad:?}; known: {}", SCOPES.join(", ")),
        ));
    }
    let client_id = match input.client_id {
        Some(id) => normalized_username(&id).map_err(|_| {
            AppError::bad_input(
                "clientId",
                "must be 3–64 characters: letters, digits, '.', '_' or '-'",
            )
        })?,
        None => format!("fd-{}", Uuid::new_v4().simple()),
    };
    let agency = agency_for_input(core, "agencyId", input.agency_id).await?;
    let secret = input.secret.unwrap_or_else(password::random_secret);
    let mut scopes = input.scopes;
    scopes.sort();
    scopes.dedup();
    let txn = begin_write(&core.db).await?;
    let created = client::ActiveModel {
        id: Set(Uuid::now_v7()),
        agency_id: Set(agency.id),
        client_id: Set(client_id),
        name: Set(name),
        secret_hash: Set(password::sha256_hex(&secret)),
        scopes: Set(scopes.join(" ")),
        active: Set(true),
        token_epoch: Set(0),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await
    .map_err(|e| unique_violation(e, "clientId", "this client id is taken"))?;
    audit::record(
        &txn,
        ctx,
        AuditEntry::success("client.create")
            .entity("Client", created.id)
            .detail(json!({ "agencyId": agency.id, "clientId": created.client_id, "scopes": created.scopes })),
    )
    .await?;
    txn.commit().await?;
    Ok(((created, agency), secret))
}

/// Deactivation bumps the client's token epoch: its tokens stop at their next request and
/// reactivation does not revive them. Conditional on the current state inside the write
/// transaction, like `set_user_active` (CONFLICT on `clientId`).
pub async fn set_client_active(
    core: &Core,
    ctx: &RequestCtx,
    id: Uuid,
    active_flag: bool,
) -> AppResult<ClientWithAgency> {
    let action = if active_flag {
        "client.reactivate"
    } else {
        "client.deactivate"
    };
    authorize_admin(core, ctx, action).await?;
    let (_, agency) = target_client(core, ctx, action, id).await?;
    let txn = begin_write(&core.db).await?;
    let mut update = client::Entity::update_many()
        .col_expr(client::Column::Active, Expr::value(active_flag))
        .filter(client::Column::Id.eq(id))
        .filter(client::Column::Active.eq(!active_flag));
    if !active_flag {
        update = update.col_expr(
            client::Column::TokenEpoch,
            Expr::col(client::Column::TokenEpoch).add(1),
        );
    }
    if update.exec(&txn).await?.rows_affected != 1 {
        return Err(AppError::conflict(
            "clientId",
            if active_flag {
                "the client is already active"
            } else {
                "the client is already deactivated"
            },
        ));
    }
    let updated = client::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    audit::record(
        &txn,
        ctx,
        AuditEntry::success(action).entity("Client", updated.id),
    )
    .await?;
    txn.commit().await?;
    Ok((updated, agency))
}

async fn target_client(
    core: &Core,
    ctx: &RequestCtx,
    action: &'static str,
    id: Uuid,
) -> AppResult<ClientWithAgency> {
    let found = client::Entity::find_by_id(id)
        .find_also_related(agency::Entity)
        .one(&core.db)
        .await?
        .and_then(|(c, a)| a.map(|a| (c, a)));
    audit::on_refusal(&core.db, ctx, action, found.ok_or(AppError::NotFound)).await
}

pub async fn get_client(core: &Core, ctx: &RequestCtx, id: Uuid) -> AppResult<ClientWithAgency> {
    authorize_admin(core, ctx, "client.read").await?;
    target_client(core, ctx, "client.read", id).await
}

pub async fn list_clients(
    core: &Core,
    ctx: &RequestCtx,
    agency_id: Option<Uuid>,
    page: PageRequest,
) -> AppResult<Page<ClientWithAgency>> {
    authorize_admin(core, ctx, "client.list").await?;
    let mut query = client::Entity::find();
    if let Some(agency_id) = agency_id {
        query = query.filter(client::Column::AgencyId.eq(agency_id));
    }
    let page = page::by_id(
        &core.db,
        query,
        client::Column::Id,
        page::Order::OldestFirst,
        &page,
    )
    .await?;
    with_agencies(core, page, |c| c.agency_id).await
}

pub async fn find_client_id(core: &Core, client_id: &str) -> AppResult<Option<Uuid>> {
    Ok(client::Entity::find()
        .filter(client::Column::ClientId.eq(client_id))
        .one(&core.db)
        .await?
        .map(|c| c.id))
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
