//! Who is calling, and the request they are calling in: what every service receives.
use entity::agency;
use uuid::Uuid;

use crate::domain::common::codes::Role;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActorKind {
    Anonymous,
    User,
    Client,
    /// The local operator at the command line: not bound by roles, always audited.
    Operator,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Anonymous => "ANONYMOUS",
            ActorKind::User => "USER",
            ActorKind::Client => "CLIENT",
            ActorKind::Operator => "OPERATOR",
        }
    }
}

/// Whoever is calling, resolved fresh from the database on every request.
#[derive(Clone, Debug)]
pub struct Actor {
    pub kind: ActorKind,
    /// The user's or client's id.
    pub id: Option<Uuid>,
    /// Username, client id or operating-system user.
    pub label: String,
    pub agency: Option<agency::Model>,
    pub roles: Vec<Role>,
    pub scopes: Vec<String>,
}

impl Actor {
    pub fn anonymous() -> Actor {
        Actor {
            kind: ActorKind::Anonymous,
            id: None,
            label: "anonymous".into(),
            agency: None,
            roles: vec![],
            scopes: vec![],
        }
    }

    pub fn operator(os_user: &str) -> Actor {
        Actor {
            kind: ActorKind::Operator,
            id: None,
            label: os_user.to_string(),
            agency: None,
            roles: vec![],
            scopes: vec![],
        }
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn agency_id(&self) -> Option<Uuid> {
        self.agency.as_ref().map(|a| a.id)
    }
}

/// The caller and the request, passed to every service call.
#[derive(Clone, Debug)]
pub struct RequestCtx {
    pub actor: Actor,
    pub request_id: Option<String>,
}

impl RequestCtx {
    pub fn operator(os_user: &str) -> RequestCtx {
        RequestCtx {
            actor: Actor::operator(os_user),
            request_id: None,
        }
    }
}
