//! Relay's `node` and `nodes`: any record by its global id, for anyone signed in, through
//! the same service (policy and audit entry) as the record's own query. A record that does
//! not exist and one out of the caller's scope both answer null, so the two cannot be told
//! apart.
use async_graphql::{Context, Interface, Result, ID};

use super::case_types::{
    disclosure_item, Child, Contact, Disclosure, DisclosureItem, DisclosureStub, InformationRequest,
};
use super::missing_ops::MissingEpisode;
use super::outcome_ops::{Assessment, EarlyHelpEpisode, Referral};
use super::types::{Agency, Client, User};
use super::{env, ids};
use crate::domain::case::{children, contacts, missing, requests};
use crate::domain::{identity, outcomes, ActorKind};
use crate::error::{AppError, AppResult};

/// Ids one `nodes` call may ask for.
pub const MAX_NODES: usize = 100;

/// Anything addressable by a global id.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Opaque global id."))]
pub enum Node {
    Agency(Agency),
    User(User),
    Client(Client),
    Contact(Box<Contact>),
    Child(Box<Child>),
    InformationRequest(Box<InformationRequest>),
    Disclosure(Box<Disclosure>),
    DisclosureStub(DisclosureStub),
    Referral(Box<Referral>),
    Assessment(Box<Assessment>),
    EarlyHelpEpisode(Box<EarlyHelpEpisode>),
    MissingEpisode(Box<MissingEpisode>),
}

async fn lookup(ctx: &Context<'_>, id: &ID) -> AppResult<Node> {
    let (core, request) = env(ctx);
    let (kind, uuid) = ids::decode_any(id).unwrap_or_default();
    Ok(match kind.as_str() {
        "User" => {
            let (user, agency) = identity::get_user(core, request, uuid).await?;
            Node::User(User(user, agency))
        }
        "Client" => {
            let (client, agency) = identity::get_client(core, request, uuid).await?;
            Node::Client(Client(client, agency))
        }
        "Contact" => Node::Contact(Box::new(Contact(
            contacts::get_contact(core, request, uuid).await?,
        ))),
        "Child" => Node::Child(Box::new(
            children::get_child(core, request, uuid).await?.into(),
        )),
        "InformationRequest" => Node::InformationRequest(Box::new(InformationRequest(
            requests::get_request(core, request, uuid).await?,
        ))),
        "Disclosure" => match disclosure_item(core, request, uuid).await? {
            DisclosureItem::Disclosure(d) => Node::Disclosure(d),
            DisclosureItem::DisclosureStub(s) => Node::DisclosureStub(s),
        },
        "Referral" => Node::Referral(Box::new(Referral(
            outcomes::get_referral(core, request, uuid).await?,
        ))),
        "Assessment" => Node::Assessment(Box::new(Assessment(
            outcomes::get_assessment(core, request, uuid).await?,
        ))),
        "EarlyHelpEpisode" => Node::EarlyHelpEpisode(Box::new(EarlyHelpEpisode(
            outcomes::early_help::get(core, request, uuid).await?,
        ))),
        "MissingEpisode" => Node::MissingEpisode(Box::new(MissingEpisode(
            missing::get_episode(core, request, uuid).await?,
        ))),
        // Agencies, and ids of no known kind (looked up as agencies: an audited NOT_FOUND).
        _ => Node::Agency(Agency(identity::get_agency(core, request, uuid).await?)),
    })
}

/// The record, or None where the caller may not see it or it does not exist.
pub async fn node(ctx: &Context<'_>, id: &ID) -> Result<Option<Node>> {
    let (_, request) = env(ctx);
    if request.actor.kind == ActorKind::Anonymous {
        return Err(AppError::Unauthenticated("authentication required").into());
    }
    match lookup(ctx, id).await {
        Ok(found) => Ok(Some(found)),
        Err(AppError::NotFound | AppError::Forbidden) => Ok(None),
        Err(err) => Err(err.into()),
    }
}

/// `node` for each id, in order.
pub async fn nodes(ctx: &Context<'_>, ids: &[ID]) -> Result<Vec<Option<Node>>> {
    if ids.len() > MAX_NODES {
        return Err(AppError::bad_input("ids", format!("at most {MAX_NODES} ids")).into());
    }
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        found.push(node(ctx, id).await?);
    }
    Ok(found)
}
