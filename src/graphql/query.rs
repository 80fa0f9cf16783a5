use async_graphql::{Context, Object, Result, ID};

use super::node::{self, Node};
use super::types::{
    connection, Agency, AuditCheckpoint, AuditEvent, AuditVerification, Client, Connection, User,
    Viewer,
};
use super::{env, ids};
use crate::domain::audit::trail::{self as audit_trail, EventFilter};
use crate::domain::audit::verify as audit_verify;
use crate::domain::common::page::PageRequest;
use crate::domain::identity;
use crate::domain::policy::{self, Permission};
use crate::error::AppError;

#[derive(Default)]
pub struct IdentityQuery;

#[Object]
impl IdentityQuery {
    /// The caller: a person with their agency and roles, or a machine client with its scopes.
    async fn me(&self, ctx: &Context<'_>) -> Result<Viewer> {
        let (_, request) = env(ctx);
        policy::authorize(&request.actor, Permission::ReadSelf)?;
        Ok(Viewer(request.actor.clone()))
    }

    /// Any record by its global id (a contact, child, information request, disclosure,
    /// referral, agency, user or client), as its own query would answer the caller: null
    /// when it does not exist or is out of the caller's scope (the two look the same).
    /// Anyone signed in; each lookup is audited like that query.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A global id, as any `id` field gives it.")] id: ID,
    ) -> Result<Option<Node>> {
        node::node(ctx, &id).await
    }

    /// `node` for several ids at once (at most 100), in the order given.
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global ids, at most 100.")] ids: Vec<ID>,
    ) -> Result<Vec<Option<Node>>> {
        node::nodes(ctx, &ids).await
    }

    /// All agencies (ADMIN).
    async fn agencies(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size (at most 100).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge already seen.")] after: Option<String>,
    ) -> Result<Connection<Agency>> {
        let (core, request) = env(ctx);
        let page = PageRequest::parse(first, after.as_deref(), core.config.max_page_size)?;
        let page = identity::list_agencies(core, request, page).await?;
        Ok(connection(page, |a| a.id, Agency))
    }

    /// Users, optionally of one agency (ADMIN).
    async fn users(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this agency's users.")] agency_id: Option<ID>,
        #[graphql(desc = "Page size (at most 100).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge already seen.")] after: Option<String>,
    ) -> Result<Connection<User>> {
        let (core, request) = env(ctx);
        let page = PageRequest::parse(first, after.as_deref(), core.config.max_page_size)?;
        let agency_id = agency_id.map(|id| ids::target("Agency", &id));
        let page = identity::list_users(core, request, agency_id, page).await?;
        Ok(connection(page, |(u, _)| u.id, |(u, a)| User(u, a)))
    }

    /// Machine clients, optionally of one agency (ADMIN).
    async fn clients(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this agency's clients.")] agency_id: Option<ID>,
        #[graphql(desc = "Page size (at most 100).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge already seen.")] after: Option<String>,
    ) -> Result<Connection<Client>> {
        let (core, request) = env(ctx);
        let page = PageRequest::parse(first, after.as_deref(), core.config.max_page_size)?;
        let agency_id = agency_id.map(|id| ids::target("Agency", &id));
        let page = identity::list_clients(core, request, agency_id, page).await?;
        Ok(connection(page, |(c, _)| c.id, |(c, a)| Client(c, a)))
    }

    /// Audit entries in the order they were written, optionally filtered (AUDITOR). Metadata
    /// and ids only. The read is itself audited.
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size (at most 100).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge already seen.")] after: Option<String>,
        #[graphql(desc = "Only this action, e.g. `login`.")] action: Option<String>,
        #[graphql(desc = "Only entries naming this child (global id).")] child_id: Option<ID>,
        #[graphql(desc = "Only this outcome, e.g. `SUCCESS` or `FORBIDDEN`.")] outcome: Option<
            String,
        >,
    ) -> Result<Connection<AuditEvent>> {
        let (core, request) = env(ctx);
        let page = PageRequest::parse(first, after.as_deref(), core.config.max_page_size)?;
        let child_id = child_id
            .map(|id| {
                ids::decode("Child", &id)
                    .ok_or_else(|| AppError::bad_input("childId", "not a child id"))
            })
            .transpose()?;
        let filter = EventFilter {
            action,
            child_id,
            outcome,
            ..EventFilter::default()
        };
        let page = audit_trail::list_events(core, request, filter, page).await?;
        Ok(connection(page, |e| e.event.id, AuditEvent))
    }

    /// Signed checkpoints of the audit trail, oldest first (AUDITOR). Audited.
    async fn audit_checkpoints(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size (at most 100).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge already seen.")] after: Option<String>,
    ) -> Result<Connection<AuditCheckpoint>> {
        let (core, request) = env(ctx);
        let page = PageRequest::parse(first, after.as_deref(), core.config.max_page_size)?;
        let page = audit_trail::list_checkpoints(core, request, page).await?;
        Ok(connection(page, |c| c.id, AuditCheckpoint))
    }

    /// Verifies the audit trail (AUDITOR): every chain entry by entry, every stored
    /// checkpoint, and the given exported checkpoint, reporting the first failure. Audited.
    async fn verify_audit_trail(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "A checkpoint exported earlier (`AuditCheckpoint.exported` JSON), kept outside the database: also proves nothing up to it was removed."
        )]
        checkpoint: Option<String>,
    ) -> Result<AuditVerification> {
        let (core, request) = env(ctx);
        let result = audit_verify::verify(core, request, checkpoint.as_deref()).await?;
        Ok(AuditVerification(result))
    }
}
