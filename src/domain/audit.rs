//! The one audit writer. Every mutation writes its entry in the same transaction as the
//! change; every refused call writes one of its own. Entries hold metadata and ids only:
//! never a password, a token or case content.
use chrono::Utc;
use entity::audit_event;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, Set};
use serde_json::Value as Json;

use super::RequestCtx;
use crate::error::{AppError, AppResult};

#[derive(Clone, Debug)]
pub struct AuditEntry {
    pub action: &'static str,
    pub entity_type: Option<&'static str>,
    pub entity_id: Option<String>,
    pub outcome: &'static str,
    pub detail: Option<Json>,
    /// Why the data moved (derived from the operation), e.g. "safeguarding.triage".
    pub purpose: Option<&'static str>,
    /// The lawful basis code of a disclosure (codes.md), where one applies.
    pub lawful_basis: Option<String>,
    /// The consent or override that allowed it: "consent:<id>" or "override:<id>".
    pub consent_ref: Option<String>,
    /// Every child whose identity or case data the operation touched or returned.
    pub children: Vec<uuid::Uuid>,
    /// Further records touched or returned, as (type, id): e.g. each disclosure read.
    pub refs: Vec<(&'static str, String)>,
}

impl AuditEntry {
    pub fn success(action: &'static str) -> AuditEntry {
        AuditEntry {
            action,
            entity_type: None,
            entity_id: None,
            outcome: "SUCCESS",
            detail: None,
            purpose: None,
            lawful_basis: None,
            consent_ref: None,
            children: Vec::new(),
            refs: Vec::new(),
        }
    }

    pub fn refused(action: &'static str, err: &AppError) -> AuditEntry {
        AuditEntry {
            outcome: err.code(),
            ..AuditEntry::success(action)
        }
    }

    pub fn entity(mut self, entity_type: &'static str, id: impl ToString) -> AuditEntry {
        self.entity_type = Some(entity_type);
        self.entity_id = Some(id.to_string());
        self
    }

    pub fn detail(mut self, detail: Json) -> AuditEntry {
        self.detail = Some(detail);
        self
    }

    pub fn purpose(mut self, purpose: &'static str) -> AuditEntry {
        self.purpose = Some(purpose);
        self
    }

    pub fn lawful_basis(mut self, basis: impl Into<String>) -> AuditEntry {
        self.lawful_basis = Some(basis.into());
        self
    }

    pub fn consent_ref(mut self, reference: impl Into<String>) -> AuditEntry {
        self.consent_ref = Some(reference.into());
        self
    }

    pub fn children(mut self, children: impl IntoIterator<Item = uuid::Uuid>) -> AuditEntry {
        self.children.extend(children);
        self
    }

    pub fn reference(mut self, kind: &'static str, id: impl ToString) -> AuditEntry {
        self.refs.push((kind, id.to_string()));
        self
    }
}

pub async fn record<C: ConnectionTrait>(
    conn: &C,
    ctx: &RequestCtx,
    entry: AuditEntry,
) -> AppResult<()> {
    let actor = &ctx.actor;
    audit_event::ActiveModel {
        at: Set(Utc::now()),
        actor_kind: Set(actor.kind.as_str().to_string()),
        actor_id: Set(actor.id.map(|id| id.to_string())),
        actor_label: Set(actor.label.clone()),
        actor_agency_id: Set(actor.agency_id()),
        action: Set(entry.action.to_string()),
        entity_type: Set(entry.entity_type.map(str::to_string)),
        entity_id: Set(entry.entity_id),
        outcome: Set(entry.outcome.to_string()),
        request_id: Set(ctx.request_id.clone()),
        detail: Set(entry.detail.map(|d| d.to_string())),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Passes `result` through; a refusal (FORBIDDEN, NOT_FOUND, ...) is recorded first.
/// Validation failures and conflicts pass through unrecorded: bad input writes nothing.
pub async fn on_refusal<T>(
    db: &DatabaseConnection,
    ctx: &RequestCtx,
    action: &'static str,
    result: AppResult<T>,
) -> AppResult<T> {
    if let Err(err) = &result {
        if err.is_refusal() {
            record(db, ctx, AuditEntry::refused(action, err)).await?;
        }
    }
    result
}
