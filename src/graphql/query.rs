use async_graphql::{Context, Object, Result, ID};

use super::types::{connection, Agency, Client, Connection, Node, User, Viewer};
use super::{env, ids};
use crate::domain::identity;
use crate::domain::page::PageRequest;
use crate::domain::policy::{self, Permission};

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

    /// Any record by its global id, as far as the caller may see it.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Node> {
        let (core, request) = env(ctx);
        let (kind, uuid) = ids::decode_any(&id).unwrap_or_default();
        Ok(match kind.as_str() {
            "User" => {
                let (u, a) = identity::get_user(core, request, uuid).await?;
                Node::User(User(u, a))
            }
            "Client" => {
                let (c, a) = identity::get_client(core, request, uuid).await?;
                Node::Client(Client(c, a))
            }
            // Unknown kinds are looked up as agencies: a uniform NOT_FOUND, audited.
            _ => Node::Agency(Agency(identity::get_agency(core, request, uuid).await?)),
        })
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
}
