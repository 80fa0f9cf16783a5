//! Users: accounts, roles, activation, password resets, lifting a login lock.
use super::*;
use crate::domain::audit::Action;

pub struct NewUser {
    /// None when the caller's id was not an agency id.
    pub agency_id: Option<Uuid>,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub password: String,
}

pub type UserWithAgency = (user::Model, agency::Model);

pub(super) fn dedup_roles(mut roles: Vec<Role>) -> Vec<Role> {
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
    authorize_admin(core, ctx, Action::UserCreate).await?;
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
        AuditEntry::success(Action::UserCreate)
            .entity("User", created.id)
            .detail(json!({ "agencyId": agency.id, "username": created.username, "roles": created.roles })),
    )
    .await?;
    txn.commit().await?;
    Ok((created, agency))
}

pub(super) async fn target_user(
    core: &Core,
    ctx: &RequestCtx,
    action: Action,
    id: Uuid,
) -> AppResult<UserWithAgency> {
    let found = user::Entity::find_by_id(id)
        .find_also_related(agency::Entity)
        .one(&core.db)
        .await?
        .and_then(|(u, a)| a.map(|a| (u, a)));
    audit::on_refusal(core, ctx, action, found.ok_or(AppError::NotFound)).await
}

pub async fn get_user(core: &Core, ctx: &RequestCtx, id: Uuid) -> AppResult<UserWithAgency> {
    authorize_admin(core, ctx, Action::UserRead).await?;
    target_user(core, ctx, Action::UserRead, id).await
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
    authorize_admin(core, ctx, Action::UserSetRoles).await?;
    let (existing, agency) = target_user(core, ctx, Action::UserSetRoles, id).await?;
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
        AuditEntry::success(Action::UserSetRoles)
            .entity("User", updated.id)
            .detail(json!({ "roles": updated.roles })),
    )
    .await?;
    txn.commit().await?;
    crate::domain::identity::sessions::identity_changed();
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
        Action::UserReactivate
    } else {
        Action::UserDeactivate
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
    crate::domain::identity::sessions::identity_changed();
    Ok((updated, agency))
}

pub async fn reset_password(
    core: &Core,
    ctx: &RequestCtx,
    id: Uuid,
    new_password: &str,
) -> AppResult<UserWithAgency> {
    authorize_admin(core, ctx, Action::UserResetPassword).await?;
    crate::domain::common::checks::new_password("newPassword", new_password)?;
    let (existing, agency) = target_user(core, ctx, Action::UserResetPassword, id).await?;
    let hash = password::hash(new_password.to_string()).await?;
    let txn = begin_write(&core.db).await?;
    let (updated, ended) =
        sessions::set_password(&txn, existing, hash, EndReason::PasswordReset).await?;
    throttle::clear(&txn, &throttle::key_for(&updated.username)).await?;
    audit::record(
        &txn,
        ctx,
        AuditEntry::success(Action::UserResetPassword)
            .entity("User", updated.id)
            .detail(json!({ "endedSessions": ended })),
    )
    .await?;
    txn.commit().await?;
    crate::domain::identity::sessions::identity_changed();
    Ok((updated, agency))
}

pub async fn list_users(
    core: &Core,
    ctx: &RequestCtx,
    agency_id: Option<Uuid>,
    page: PageRequest,
) -> AppResult<Page<UserWithAgency>> {
    authorize_admin(core, ctx, Action::UserList).await?;
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

pub(super) async fn with_agencies<T>(
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
    authorize_admin(core, ctx, Action::LoginLiftThrottle).await?;
    let txn = begin_write(&core.db).await?;
    throttle::clear(&txn, &throttle::key_for(username)).await?;
    audit::record(&txn, ctx, AuditEntry::success(Action::LoginLiftThrottle)).await?;
    txn.commit().await?;
    Ok(true)
}
