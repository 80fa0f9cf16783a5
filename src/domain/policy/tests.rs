//! The policy as a table: each principal × each operation → allowed or not. Pure functions,
//! no database: this runs in milliseconds and fails on any change to who may do what.
use super::*;
use chrono::Utc;

fn agency(kind: &str, hosts_mash: bool) -> agency::Model {
    agency::Model {
        id: Uuid::new_v4(),
        name: format!("A fictional {kind} agency"),
        kind: AgencyKind::parse(kind).expect("an agency kind"),
        source_code: "1".into(),
        hosts_mash,
        active: true,
        created_at: Utc::now(),
    }
}

fn user(kind: &str, hosts_mash: bool, roles: &[Role]) -> Actor {
    Actor {
        kind: ActorKind::User,
        id: Some(Uuid::new_v4()),
        label: "someone".into(),
        agency: Some(agency(kind, hosts_mash)),
        roles: roles.to_vec(),
        scopes: vec![],
    }
}

fn client(kind: &str, scopes: &[&str]) -> Actor {
    Actor {
        kind: ActorKind::Client,
        id: Some(Uuid::new_v4()),
        label: "a-client".into(),
        agency: Some(agency(kind, false)),
        roles: vec![],
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
    }
}

/// The principals of the table, in its column order.
fn principals() -> Vec<(&'static str, Actor)> {
    vec![
        ("anonymous", Actor::anonymous()),
        ("operator", Actor::operator("root")),
        ("admin", user("LOCAL_AUTHORITY", true, &[Role::Admin])),
        (
            "mash manager",
            user("LOCAL_AUTHORITY", true, &[Role::MashManager]),
        ),
        (
            "mash social worker",
            user("LOCAL_AUTHORITY", true, &[Role::MashSocialWorker]),
        ),
        ("auditor", user("LOCAL_AUTHORITY", true, &[Role::Auditor])),
        (
            "police desk",
            user("POLICE", false, &[Role::PartnerMashOfficer]),
        ),
        (
            "health desk",
            user("HEALTH", false, &[Role::PartnerMashOfficer]),
        ),
        (
            "early help desk",
            user("EARLY_HELP", false, &[Role::PartnerMashOfficer]),
        ),
        (
            "school referrer",
            user("EDUCATION", false, &[Role::Referrer]),
        ),
        (
            "police client",
            client(
                "POLICE",
                &["contacts:submit", "missing:report", "requests:respond"],
            ),
        ),
        ("client without scopes", client("HEALTH", &[])),
        // A MASH role held outside the MASH's agency grants nothing.
        (
            "manager elsewhere",
            user("HEALTH", false, &[Role::MashManager]),
        ),
    ]
}

fn outcome(result: AppResult<()>) -> char {
    match result {
        Ok(()) => 'Y',
        Err(AppError::Forbidden) => '.',
        Err(AppError::Unauthenticated(_)) => 'U',
        Err(other) => panic!("unexpected {}", other.code()),
    }
}

#[test]
fn who_may_do_what() {
    use CaseOperation::*;
    // Columns: anonymous, operator, admin, manager, social worker, auditor, police desk,
    // health desk, early help desk, referrer, police client, bare client, manager elsewhere.
    let case_table: &[(CaseOperation, &str)] = &[
        (SubmitContact, "U..YY.YYYYY.."),
        (ReadContacts, "U..YY.YYYYY.."),
        (MashWork, "U..YY........"),
        (RecordConsent, "U..YY.YYYY..."),
        (DecideContact, "U..Y........."),
        (DecideOverride, "U..Y........."),
        (RespondToRequests, "U.....YYY.Y.."),
        (ReadRequests, "U..YY.YYY.Y.."),
        (ChildAccessLog, "U..Y........."),
        (DisclosureAccessLog, "U..Y.YYYY...."),
        (ReadChildIdentifiers, "U..YYY......."),
        (ReportMissing, "U.....Y...Y.."),
        (ReadMissing, "U..YY.Y...Y.."),
        (EarlyHelp, "U..YY...Y...."),
        (AnnexAExport, "UY.Y........."),
        (PerformanceReport, "U..Y.Y......."),
    ];
    let principals = principals();
    for (operation, expected) in case_table {
        let got: String = principals
            .iter()
            .map(|(_, actor)| outcome(authorize_case(actor, *operation)))
            .collect();
        assert_eq!(&got, expected, "{operation:?}");
    }

    use Permission::*;
    let permission_table: &[(Permission, &str)] = &[
        (ManageIdentity, "UYY.........."),
        (ReadSelf, "U.YYYYYYYYYYY"),
        (ChangeOwnPassword, "U.YYYYYYYY..Y"),
        (ManageCalendar, "UYY.........."),
        (ReadCalendar, "UYYYYYYYYYYYY"),
        (ReadAuditTrail, "UY...Y......."),
        (VerifyAuditTrail, "UY...Y......."),
        (CreateAuditCheckpoint, "UY...Y......."),
    ];
    for (permission, expected) in permission_table {
        let got: String = principals
            .iter()
            .map(|(_, actor)| outcome(authorize(actor, *permission)))
            .collect();
        assert_eq!(&got, expected, "{permission:?}");
    }
}

#[test]
fn mash_roles_are_only_for_the_mash_agency_and_partner_roles_only_outside_it() {
    let mash = agency("LOCAL_AUTHORITY", true);
    let police = agency("POLICE", false);
    assert!(role_allowed_in(Role::MashManager, &mash));
    assert!(!role_allowed_in(Role::MashManager, &police));
    assert!(!role_allowed_in(Role::PartnerMashOfficer, &mash));
    assert!(role_allowed_in(Role::PartnerMashOfficer, &police));
    assert!(role_allowed_in(Role::Referrer, &police));
    assert!(role_allowed_in(Role::Referrer, &mash));
}

#[test]
fn a_disclosure_is_read_back_by_its_agencys_desk_and_systems_and_hidden_from_others() {
    let police = agency("POLICE", false);
    let in_police = |mut actor: Actor| {
        actor.agency = Some(police.clone());
        actor
    };
    let disclosed = disclosure::Model {
        id: Uuid::new_v4(),
        request_id: Some(Uuid::new_v4()),
        contact_id: Uuid::new_v4(),
        child_id: Uuid::new_v4(),
        supplied_by_agency_id: police.id,
        supplied_by: Uuid::new_v4(),
        to_agency_id: None,
        onward_from: None,
        content: "A fictional disclosure.".into(),
        category: "household".into(),
        lawful_basis: entity::codes::LawfulBasis::parse("UK_GDPR_6_1_E_PUBLIC_TASK")
            .expect("a lawful basis"),
        special_category: false,
        handling_code: HandlingCode::P,
        handling_conditions: None,
        audience_restrictions: String::new(),
        consent_ref: "consent:fixture".into(),
        occurred_at: Utc::now(),
        recorded_at: Utc::now(),
    };
    use DisclosureVisibility::*;
    let cases = [
        (
            "police desk",
            in_police(user("POLICE", false, &[Role::PartnerMashOfficer])),
            Full,
        ),
        (
            "police client",
            in_police(client("POLICE", &["requests:respond"])),
            Full,
        ),
        (
            "police client, submit only",
            in_police(client("POLICE", &["contacts:submit"])),
            Hidden,
        ),
        (
            "police referrer",
            in_police(user("POLICE", false, &[Role::Referrer])),
            Hidden,
        ),
        (
            "health desk",
            user("HEALTH", false, &[Role::PartnerMashOfficer]),
            Hidden,
        ),
        (
            "health client",
            client("HEALTH", &["requests:respond"]),
            Hidden,
        ),
        (
            "mash social worker",
            user("LOCAL_AUTHORITY", true, &[Role::MashSocialWorker]),
            Full,
        ),
        (
            "auditor",
            user("LOCAL_AUTHORITY", true, &[Role::Auditor]),
            Hidden,
        ),
    ];
    for (who, actor, expected) in cases {
        assert_eq!(disclosure_visibility(&actor, &disclosed), expected, "{who}");
    }
}
