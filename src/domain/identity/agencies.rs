//! Agencies: registering them, changing them, the MASH host.
use super::*;
use crate::domain::audit::Action;

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
    authorize_admin(core, ctx, Action::AgencyCreate).await?;
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
        kind: Set(input.kind),
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
        AuditEntry::success(Action::AgencyCreate)
            .entity("Agency", created.id)
            .detail(json!({ "kind": created.kind.as_str(), "hostsMash": created.hosts_mash })),
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
    authorize_admin(core, ctx, Action::AgencyUpdate).await?;
    let name = changes
        .name
        .as_deref()
        .map(|n| checks::required("name", n, Kind::Line))
        .transpose()?;
    let found = agency::Entity::find_by_id(id).one(&core.db).await?;
    let existing = audit::on_refusal(
        core,
        ctx,
        Action::AgencyUpdate,
        found.ok_or(AppError::NotFound),
    )
    .await?;
    let kind = existing.kind;
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
        AuditEntry::success(Action::AgencyUpdate)
            .entity("Agency", updated.id)
            .detail(detail),
    )
    .await?;
    txn.commit().await?;
    crate::domain::identity::sessions::identity_changed();
    Ok(updated)
}

pub async fn get_agency(core: &Core, ctx: &RequestCtx, id: Uuid) -> AppResult<agency::Model> {
    authorize_admin(core, ctx, Action::AgencyRead).await?;
    let found = agency::Entity::find_by_id(id).one(&core.db).await?;
    audit::on_refusal(
        core,
        ctx,
        Action::AgencyRead,
        found.ok_or(AppError::NotFound),
    )
    .await
}

pub async fn list_agencies(
    core: &Core,
    ctx: &RequestCtx,
    page: PageRequest,
) -> AppResult<Page<agency::Model>> {
    authorize_admin(core, ctx, Action::AgencyList).await?;
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
pub(super) async fn agency_for_input(
    core: &Core,
    field: &str,
    id: Option<Uuid>,
) -> AppResult<agency::Model> {
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
