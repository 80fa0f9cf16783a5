//! The one access policy (DESIGN.md "Access policy"). Services ask it before they touch
//! anything; nothing reads or changes records around it.
use entity::agency;

use super::codes::Role;
use super::{Actor, ActorKind};
use crate::error::{AppError, AppResult};

/// Operations whose permission depends on the caller alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// Agencies, users and machine clients.
    ManageIdentity,
    /// Read one's own identity (`me`).
    ReadSelf,
    /// Change one's own password.
    ChangeOwnPassword,
    /// Read audit events and checkpoints (metadata and ids, no case content).
    ReadAuditTrail,
    /// Verify the audit trail's chains and checkpoints.
    VerifyAuditTrail,
    /// Sign a checkpoint of the audit trail on demand.
    CreateAuditCheckpoint,
}

pub fn authorize(actor: &Actor, permission: Permission) -> AppResult<()> {
    if actor.kind == ActorKind::Anonymous {
        return Err(AppError::Unauthenticated("authentication required"));
    }
    let allowed = match permission {
        Permission::ManageIdentity => {
            actor.kind == ActorKind::Operator || actor.has_role(Role::Admin)
        }
        Permission::ReadSelf => matches!(actor.kind, ActorKind::User | ActorKind::Client),
        Permission::ChangeOwnPassword => actor.kind == ActorKind::User,
        Permission::ReadAuditTrail
        | Permission::VerifyAuditTrail
        | Permission::CreateAuditCheckpoint => {
            actor.kind == ActorKind::Operator || actor.has_role(Role::Auditor)
        }
    };
    if allowed {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Which roles an agency's users may hold: MASH roles and AUDITOR (and ADMIN, who runs the
/// service for the council) only in the agency that hosts the MASH; PARTNER_MASH_OFFICER
/// only outside it; REFERRER anywhere.
pub fn role_allowed_in(role: Role, agency: &agency::Model) -> bool {
    match role {
        Role::Admin | Role::MashManager | Role::MashSocialWorker | Role::Auditor => {
            agency.hosts_mash
        }
        Role::PartnerMashOfficer => !agency.hosts_mash,
        Role::Referrer => true,
    }
}

pub fn check_roles_for_agency(roles: &[Role], agency: &agency::Model) -> AppResult<()> {
    if roles.is_empty() {
        return Err(AppError::bad_input(
            "roles",
            "at least one role is required",
        ));
    }
    if let Some(role) = roles.iter().find(|r| !role_allowed_in(**r, agency)) {
        let rule = if agency.hosts_mash {
            "is held only by users of partner agencies, not the agency that hosts the MASH"
        } else {
            "is held only by users of the agency that hosts the MASH"
        };
        return Err(AppError::bad_input(
            "roles",
            format!("{} {rule}", role.as_str()),
        ));
    }
    Ok(())
}
