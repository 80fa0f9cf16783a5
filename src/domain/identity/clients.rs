//! Machine clients: partner systems that call the API with client credentials.
use super::*;
use crate::domain::audit::Action;

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
    authorize_admin(core, ctx, Action::ClientCreate).await?;
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
        AuditEntry::success(Action::ClientCreate)
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
        Action::ClientReactivate
    } else {
        Action::ClientDeactivate
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
    crate::domain::identity::sessions::identity_changed();
    Ok((updated, agency))
}

pub(super) async fn target_client(
    core: &Core,
    ctx: &RequestCtx,
    action: Action,
    id: Uuid,
) -> AppResult<ClientWithAgency> {
    let found = client::Entity::find_by_id(id)
        .find_also_related(agency::Entity)
        .one(&core.db)
        .await?
        .and_then(|(c, a)| a.map(|a| (c, a)));
    audit::on_refusal(core, ctx, action, found.ok_or(AppError::NotFound)).await
}

pub async fn get_client(core: &Core, ctx: &RequestCtx, id: Uuid) -> AppResult<ClientWithAgency> {
    authorize_admin(core, ctx, Action::ClientRead).await?;
    target_client(core, ctx, Action::ClientRead, id).await
}

pub async fn list_clients(
    core: &Core,
    ctx: &RequestCtx,
    agency_id: Option<Uuid>,
    page: PageRequest,
) -> AppResult<Page<ClientWithAgency>> {
    authorize_admin(core, ctx, Action::ClientList).await?;
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
