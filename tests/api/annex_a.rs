//! Ofsted Annex A lists 1–5: a small outcome chain built through the API, exported through
//! GraphQL (MASH managers only, audited) and from the command line as CSV (with a reason).

use entity::{audit_event, audit_ref_set_member, child};
use frontdoor::domain::common::codes::Role;
use frontdoor_testkit::{demo_users_without, each_backend, error_code, error_field, TestServer};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::{json, Value};

const PERIOD: (&str, &str) = ("2026-07-01", "2026-09-30");
const ANNEX_A: &str = "query($list: Int!, $from: NaiveDate!, $to: NaiveDate!) {
    annexA(list: $list, from: $from, to: $to) { list from to headings rows } }";
const COMMON: [&str; 5] = [
    "Child Unique ID",
    "Gender",
    "Ethnicity",
    "Date of Birth",
    "Age of Child (Years)",
];
const NORTH: &str = "Assessment Team \"North\", Walsall";

fn ben(first_contact: bool) -> Value {
    // The first submission makes the MASH's child record; later ones match it by NHS number.
    if first_contact {
        json!({ "firstName": "Ben", "lastName": "Annexa", "dateOfBirth": "2015-07-10", "gender": "MALE",
                "ethnicity": "MWBC", "disability": true, "nhsNumber": "943 476 5919" })
    } else {
        json!({ "firstName": "Benjamin", "lastName": "Annexa", "gender": "NOT_STATED", "nhsNumber": "9434765919" })
    }
}

fn cara() -> Value {
    json!({ "firstName": "Cara", "lastName": "Annexa", "dateOfBirth": "2020-01-05", "gender": "FEMALE" })
}

/// Runs a mutation or query and returns its data, failing the test on any error.
async fn ok(server: &TestServer, token: &str, query: &str, variables: Value) -> Value {
    let body = server.gql(Some(token), query, variables).await;
    assert!(body["errors"].is_null(), "{query}: {body}");
    body["data"].clone()
}

async fn submit(
    server: &TestServer,
    token: &str,
    child: Value,
    source: Option<&str>,
    at: &str,
) -> String {
    let mut input = json!({ "child": child, "concernCategories": ["21"], "narrative": "A concern.",
                            "consent": { "position": "REFUSED" }, "occurredAt": at });
    if let Some(code) = source {
        input["sourceCode"] = json!(code);
    }
    let data = ok(
        server,
        token,
        "mutation($input: SubmitContactInput!) { submitContact(input: $input) { id } }",
        json!({ "input": input }),
    )
    .await;
    data["submitContact"]["id"].as_str().unwrap().to_string()
}

async fn decide(server: &TestServer, manager: &str, contact: &str, outcome: &str, at: &str) {
    ok(
        server,
        manager,
        "mutation($input: RecordDecisionInput!) { recordDecision(input: $input) { id } }",
        json!({ "input": { "contactId": contact, "outcome": outcome, "thresholdLevel": 4,
                           "rationale": "Test decision.", "occurredAt": at } }),
    )
    .await;
}

/// Decides a contact for a referral and returns the referral's id.
async fn refer(
    server: &TestServer,
    manager: &str,
    contact: &str,
    outcome: &str,
    at: &str,
) -> String {
    decide(server, manager, contact, outcome, at).await;
    let data = ok(
        server,
        manager,
        "query($c: ID!) { referrals(contactId: $c) { edges { node { id } } } }",
        json!({ "c": contact }),
    )
    .await;
    data["referrals"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn update_referral(server: &TestServer, manager: &str, input: Value) {
    ok(
        server,
        manager,
        "mutation($input: UpdateReferralInput!) { updateReferral(input: $input) { id } }",
        json!({ "input": input }),
    )
    .await;
}

/// Starts an assessment and returns its id (the newest of the referral's).
async fn start_assessment(server: &TestServer, manager: &str, input: Value) -> String {
    let data = ok(
        server,
        manager,
        "mutation($input: StartAssessmentInput!) { startAssessment(input: $input) { assessments { id } } }",
        json!({ "input": input }),
    )
    .await;
    let list = data["startAssessment"]["assessments"].as_array().unwrap();
    list.last().unwrap()["id"].as_str().unwrap().to_string()
}

async fn update_assessment(server: &TestServer, manager: &str, input: Value) {
    ok(
        server,
        manager,
        "mutation($input: UpdateAssessmentInput!) { updateAssessment(input: $input) { id } }",
        json!({ "input": input }),
    )
    .await;
}

/// Records a strategy discussion that starts a section 47 enquiry; returns the enquiry's id.
async fn start_section47(server: &TestServer, manager: &str, input: Value) -> String {
    let data = ok(
        server,
        manager,
        "mutation($input: RecordStrategyDiscussionInput!) { recordStrategyDiscussion(input: $input) {
            strategyDiscussions { heldAt section47 { id } } } }",
        json!({ "input": input }),
    )
    .await;
    let held = input["heldAt"].as_str().unwrap();
    data["recordStrategyDiscussion"]["strategyDiscussions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["heldAt"].as_str().unwrap().starts_with(&held[..16]))
        .map(|d| d["section47"]["id"].as_str().unwrap().to_string())
        .unwrap()
}

async fn conference(server: &TestServer, manager: &str, section47: &str, at: &str, plan: bool) {
    ok(
        server,
        manager,
        "mutation($input: RecordConferenceInput!) { recordConference(input: $input) { id } }",
        json!({ "input": { "section47Id": section47, "heldAt": at, "planMade": plan } }),
    )
    .await;
}

async fn agency_id(server: &TestServer, name: &str) -> String {
    let admin = server.login("admin").await;
    let data = ok(
        server,
        &admin,
        "{ agencies(first: 100) { edges { node { id name } } } }",
        json!({}),
    )
    .await;
    data["agencies"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["name"] == name)
        .map(|e| e["node"]["id"].as_str().unwrap().to_string())
        .unwrap()
}

/// The MASH's child record ids of Ben and Cara (Annex A's Child Unique ID).
struct Children {
    ben: String,
    cara: String,
}

/// Two children, contacts from police, a school and health (one each side of the period's
/// London-time edges), referrals, assessments, strategy discussions with section 47
/// enquiries and conferences, and a step-down to an early help assessment.
async fn build_chain(server: &TestServer) -> Children {
    let police = server.login("police.referrer").await;
    let school = server.login("school.referrer").await;
    let health = server.login("health.referrer").await;
    let manager = server.login("mash.manager").await;
    let police_agency = agency_id(server, "West Midlands Police").await;
    let early_help_agency = agency_id(server, "Walsall Early Help Hub").await;
    let strategy = |referral: &str, at: &str, team: Option<&str>, worker: Option<&str>| {
        json!({ "referralId": referral, "heldAt": at, "agenciesPresent": [police_agency],
                "section47Started": true, "allocatedTeam": team, "allocatedWorker": worker })
    };

    // Ben, before the period: an A&E contact, a referral with no further action, a section
    // 47 enquiry and a conference without a plan, an early help assessment.
    let b0 = submit(
        server,
        &health,
        ben(true),
        Some("3E"),
        "2026-03-10T10:00:00Z",
    )
    .await;
    let r0 = refer(
        server,
        &manager,
        &b0,
        "REFERRAL_FOR_ASSESSMENT",
        "2026-03-10T15:00:00Z",
    )
    .await;
    update_referral(
        server,
        &manager,
        json!({ "referralId": r0, "outcome": "NO_FURTHER_ACTION" }),
    )
    .await;
    let s0 = start_section47(
        server,
        &manager,
        strategy(&r0, "2026-03-12T10:00:00Z", None, None),
    )
    .await;
    conference(server, &manager, &s0, "2026-03-20T10:00:00Z", false).await;
    let episode = ok(
        server,
        &manager,
        "mutation($input: RequestEarlyHelpInput!) { requestEarlyHelp(input: $input) { id } }",
        json!({ "input": { "contactId": b0, "agencyId": early_help_agency, "requestedAt": "2026-03-11T09:00:00Z" } }),
    )
    .await["requestEarlyHelp"]["id"]
        .clone();
    ok(
        server,
        &manager,
        "mutation($input: UpdateEarlyHelpEpisodeInput!) { updateEarlyHelpEpisode(input: $input) { id } }",
        json!({ "input": { "episodeId": episode, "assessmentStartedAt": "2026-03-15T09:00:00Z" } }),
    )
    .await;
    // Assessments of that referral either side of the period's end: 23:30 BST on 30
    // September is in it, 00:30 BST on 1 October is not.
    start_assessment(
        server,
        &manager,
        json!({ "referralId": r0, "startedAt": "2026-09-30T22:30:00Z" }),
    )
    .await;
    start_assessment(
        server,
        &manager,
        json!({ "referralId": r0, "startedAt": "2026-09-30T23:30:00Z" }),
    )
    .await;

    // Police contacts either side of the period's start: 23:30 BST on 30 June is outside,
    // 00:30 BST on 1 July is inside.
    submit(server, &police, ben(false), None, "2026-06-30T22:30:00Z").await;
    let b1 = submit(server, &police, ben(false), None, "2026-06-30T23:30:00Z").await;
    let r1 = refer(
        server,
        &manager,
        &b1,
        "REFERRAL_FOR_ASSESSMENT",
        "2026-07-01T10:00:00Z",
    )
    .await;
    update_referral(
        server,
        &manager,
        json!({ "referralId": r1, "outcome": "ASSESSMENT_REQUIRED", "allocatedTeam": NORTH, "allocatedWorker": "Alex Worker" }),
    )
    .await;
    let a1 = start_assessment(
        server,
        &manager,
        json!({ "referralId": r1, "startedAt": "2026-07-02T09:00:00Z", "allocatedTeam": "Assessment Team", "allocatedWorker": "Alex Worker" }),
    )
    .await;
    update_assessment(
        server,
        &manager,
        json!({ "assessmentId": a1, "childSeenAt": "2026-07-03T10:00:00Z", "authorisedAt": "2026-08-10T12:00:00Z", "outcome": "NO_FURTHER_ACTION" }),
    )
    .await;

    // The school's contact goes straight to a strategy discussion.
    let b2 = submit(server, &school, ben(false), None, "2026-07-15T09:00:00Z").await;
    let r2 = refer(
        server,
        &manager,
        &b2,
        "STRATEGY_DISCUSSION",
        "2026-07-15T12:00:00Z",
    )
    .await;
    let a2 = start_assessment(
        server,
        &manager,
        json!({ "referralId": r2, "startedAt": "2026-07-16T09:00:00Z" }),
    )
    .await;
    update_assessment(
        server,
        &manager,
        json!({ "assessmentId": a2, "authorisedAt": "2026-08-01T12:00:00Z", "outcome": "STRATEGY_DISCUSSION" }),
    )
    .await;
    let s1 = start_section47(
        server,
        &manager,
        strategy(
            &r2,
            "2026-07-16T10:00:00Z",
            Some("CP Team"),
            Some("Bo Worker"),
        ),
    )
    .await;
    conference(server, &manager, &s1, "2026-08-05T10:00:00Z", true).await;
    start_section47(
        server,
        &manager,
        strategy(&r2, "2026-09-01T10:00:00Z", None, None),
    )
    .await;

    // Cara: a referral exactly 12 months before the next one (not counted in its 12 months).
    let c5 = submit(server, &school, cara(), None, "2025-08-01T10:00:00Z").await;
    refer(
        server,
        &manager,
        &c5,
        "REFERRAL_FOR_ASSESSMENT",
        "2025-08-01T12:00:00Z",
    )
    .await;
    let c3 = submit(server, &health, cara(), Some("3E"), "2026-08-01T09:00:00Z").await;
    let r3 = refer(
        server,
        &manager,
        &c3,
        "REFERRAL_FOR_ASSESSMENT",
        "2026-08-01T11:00:00Z",
    )
    .await;
    update_referral(
        server,
        &manager,
        json!({ "referralId": r3, "outcome": "NO_FURTHER_ACTION" }),
    )
    .await;
    let s2 = start_section47(
        server,
        &manager,
        strategy(&r3, "2026-08-03T10:00:00Z", None, None),
    )
    .await;
    ok(
        server,
        &manager,
        "mutation($input: RecordSection47OutcomeInput!) { recordSection47Outcome(input: $input) { id } }",
        json!({ "input": { "section47Id": s2, "outcome": "NO_FURTHER_ACTION", "completedAt": "2026-08-20T10:00:00Z" } }),
    )
    .await;
    // A step-down to early help, assessed by the early help hub.
    let c4 = submit(server, &school, cara(), None, "2026-08-18T09:00:00Z").await;
    decide(
        server,
        &manager,
        &c4,
        "STEP_DOWN_TO_EARLY_HELP",
        "2026-08-18T14:00:00Z",
    )
    .await;
    let episode = ok(
        server,
        &manager,
        "mutation($input: RequestEarlyHelpInput!) { requestEarlyHelp(input: $input) { id } }",
        json!({ "input": { "contactId": c4, "agencyId": early_help_agency, "requestedAt": "2026-08-19T09:00:00Z" } }),
    )
    .await["requestEarlyHelp"]["id"]
        .clone();
    ok(
        server,
        &manager,
        "mutation($input: UpdateEarlyHelpEpisodeInput!) { updateEarlyHelpEpisode(input: $input) { id } }",
        json!({ "input": { "episodeId": episode, "screenedAt": "2026-08-21T09:00:00Z", "screeningOutcome": "EARLY_HELP_ASSESSMENT",
                           "assessmentStartedAt": "2026-08-25T09:00:00Z", "assessmentCompletedAt": "2026-09-15T09:00:00Z",
                           "organisation": "Walsall Early Help Hub" } }),
    )
    .await;

    let id_of = |first: &'static str| async move {
        child::Entity::find()
            .filter(child::Column::FirstName.eq(first))
            .filter(child::Column::LastName.eq("Annexa"))
            .all(server.db())
            .await
            .unwrap()
    };
    let bens = id_of("Ben").await;
    let caras = id_of("Cara").await;
    assert_eq!((bens.len(), caras.len()), (1, 1), "one record per child");
    Children {
        ben: bens[0].id.to_string(),
        cara: caras[0].id.to_string(),
    }
}

async fn export(server: &TestServer, token: &str, list: i64) -> Value {
    let data = ok(
        server,
        token,
        ANNEX_A,
        json!({ "list": list, "from": PERIOD.0, "to": PERIOD.1 }),
    )
    .await;
    data["annexA"].clone()
}

fn headings(own: &[&str]) -> Value {
    json!(COMMON.iter().chain(own).collect::<Vec<_>>())
}

fn row(common: [&str; 5], own: &[&str]) -> Value {
    json!(common.iter().chain(own).collect::<Vec<_>>())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_five_lists_carry_annex_a_columns_and_codes() {
    each_backend(|server| async move {
        let children = build_chain(&server).await;
        let manager = server.login("mash.manager").await;
        let ben = |age: &'static str| -> [&str; 5] {
            [
                children.ben.as_str(),
                "a) Male",
                "f) MWBC",
                "10/07/2015",
                age,
            ]
        };
        let cara = |age: &'static str| -> [&str; 5] {
            [
                children.cara.as_str(),
                "b) Female",
                "t) NOBT",
                "05/01/2020",
                age,
            ]
        };

        // List 1: one row per child per contact, by London date; Ben turns 11 on 10 July.
        let list1 = export(&server, &manager, 1).await;
        assert_eq!(list1["list"], 1);
        assert_eq!(list1["from"], PERIOD.0);
        assert_eq!(list1["to"], PERIOD.1);
        assert_eq!(
            list1["headings"],
            headings(&["Date of Contact", "Contact Source"])
        );
        assert_eq!(
            list1["rows"],
            json!([
                row(ben("10"), &["01/07/2026", "q) 6: Police"]),
                row(ben("11"), &["15/07/2026", "e) 2A: Schools"]),
                row(cara("6"), &["01/08/2026", "k) 3E: Health services"]),
                row(cara("6"), &["18/08/2026", "e) 2A: Schools"]),
            ]),
            "{list1}"
        );

        // List 2: early help assessments started in the period.
        let list2 = export(&server, &manager, 2).await;
        assert_eq!(
            list2["headings"],
            headings(&[
                "Assessment start date",
                "Assessment completion date",
                "Organisation completing assessment"
            ])
        );
        assert_eq!(
            list2["rows"],
            json!([row(
                cara("6"),
                &["25/08/2026", "15/09/2026", "Walsall Early Help Hub"]
            )]),
            "{list2}"
        );

        // List 3: referrals, NFA, and the child's referrals in the 12 months up to each.
        let list3 = export(&server, &manager, 3).await;
        assert_eq!(
            list3["headings"],
            headings(&[
                "Date of referral",
                "Referral Source",
                "Referral NFA?",
                "Number of Referrals in Last 12 Months",
                "Allocated Team",
                "Allocated Worker",
            ])
        );
        assert_eq!(
            list3["rows"],
            json!([
                row(
                    ben("10"),
                    &[
                        "01/07/2026",
                        "q) 6: Police",
                        "b) No",
                        "2",
                        NORTH,
                        "Alex Worker"
                    ]
                ),
                row(
                    ben("11"),
                    &["15/07/2026", "e) 2A: Schools", "b) No", "3", "", ""]
                ),
                row(
                    cara("6"),
                    &[
                        "01/08/2026",
                        "k) 3E: Health services",
                        "a) Yes",
                        "1",
                        "",
                        ""
                    ]
                ),
            ]),
            "{list3}"
        );

        // List 4: assessments started in the period (the last at 23:30 BST on 30 September).
        let list4 = export(&server, &manager, 4).await;
        assert_eq!(
            list4["headings"],
            headings(&[
                "Does the Child have a Disability",
                "Continuous Assessment Start Date",
                "Child Seen During Continuous Assessment",
                "Continuous Assessment Date of Authorisation",
                "Was the child assessed as requiring LA children's social care support?",
                "Allocated Team",
                "Allocated Worker",
            ])
        );
        assert_eq!(
            list4["rows"],
            json!([
                row(
                    ben("10"),
                    &[
                        "a) Yes",
                        "02/07/2026",
                        "03/07/2026",
                        "10/08/2026",
                        "b) No",
                        "Assessment Team",
                        "Alex Worker"
                    ]
                ),
                row(
                    ben("11"),
                    &["a) Yes", "16/07/2026", "", "01/08/2026", "a) Yes", "", ""]
                ),
                row(ben("11"), &["a) Yes", "30/09/2026", "", "", "", "", ""]),
            ]),
            "{list4}"
        );

        // List 5: one row per enquiry; counts up to each enquiry's date.
        let list5 = export(&server, &manager, 5).await;
        assert_eq!(
            list5["headings"],
            headings(&[
                "Does the Child have a Disability",
                "Strategy discussion initiating Section 47 Enquiry Start Date",
                "Was an Initial Child Protection Conference deemed unnecessary?",
                "Date of Initial Child Protection Conference",
                "Did the Initial Child Protection Conference Result in a Child Protection Plan",
                "Number of Section 47 Enquiries in the last 12 months",
                "Number of ICPCs in the last 12 months",
                "Allocated Team",
                "Allocated Worker",
            ])
        );
        assert_eq!(
            list5["rows"],
            json!([
                row(
                    ben("11"),
                    &[
                        "a) Yes",
                        "16/07/2026",
                        "b) No",
                        "05/08/2026",
                        "a) Yes",
                        "2",
                        "1",
                        "CP Team",
                        "Bo Worker"
                    ]
                ),
                row(
                    cara("6"),
                    &["", "03/08/2026", "a) Yes", "", "", "1", "0", "", ""]
                ),
                row(
                    ben("11"),
                    &["a) Yes", "01/09/2026", "", "", "", "3", "2", "", ""]
                ),
            ]),
            "{list5}"
        );

        // A period with nothing in it: headings, no rows.
        let body = server
            .gql(
                Some(&manager),
                ANNEX_A,
                json!({ "list": 3, "from": "2024-01-01", "to": "2024-12-31" }),
            )
            .await;
        assert_eq!(body["data"]["annexA"]["rows"], json!([]), "{body}");
        assert_eq!(body["data"]["annexA"]["headings"], list3["headings"]);

        // Each export was audited, naming every child in its rows.
        let events = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq("export.annex_a"))
            .filter(audit_event::Column::Outcome.eq("SUCCESS"))
            .order_by_asc(audit_event::Column::Id)
            .all(server.db())
            .await
            .unwrap();
        assert_eq!(events.len(), 6);
        let list1_event = &events[0];
        assert_eq!(list1_event.actor_label, "mash.manager");
        assert_eq!(list1_event.purpose.as_deref(), Some("inspection.annex_a"));
        let detail: Value = serde_json::from_str(list1_event.detail.as_deref().unwrap()).unwrap();
        assert_eq!(
            detail,
            json!({ "list": 1, "from": PERIOD.0, "to": PERIOD.1, "rows": 4, "reason": null })
        );
        let mut named: Vec<String> = audit_ref_set_member::Entity::find()
            .filter(audit_ref_set_member::Column::RefSet.eq(list1_event.ref_set.clone().unwrap()))
            .filter(audit_ref_set_member::Column::Kind.eq("Child"))
            .all(server.db())
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.ref_id)
            .collect();
        named.sort();
        let mut expected = vec![children.ben.clone(), children.cara.clone()];
        expected.sort();
        assert_eq!(named, expected);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_mash_managers_export_and_bad_input_names_the_field() {
    each_backend(|server| async move {
        let variables = json!({ "list": 1, "from": PERIOD.0, "to": PERIOD.1 });
        let refusals_before = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq("export.annex_a"))
            .filter(audit_event::Column::Outcome.eq("FORBIDDEN"))
            .count(server.db())
            .await
            .unwrap();
        let others = demo_users_without(Role::MashManager);
        assert!(others.contains(&"mash.social.worker") && others.contains(&"auditor"));
        for username in &others {
            let token = server.login(username).await;
            let body = server.gql(Some(&token), ANNEX_A, variables.clone()).await;
            assert_eq!(error_code(&body), Some("FORBIDDEN"), "{username}: {body}");
            assert!(body["data"].is_null(), "{username}: {body}");
        }
        for (client, secret) in [
            ("police-case-system", "police-demo-secret"),
            ("health-case-system", "health-demo-secret"),
        ] {
            let token = server.client_token(client, secret).await;
            let body = server.gql(Some(&token), ANNEX_A, variables.clone()).await;
            assert_eq!(error_code(&body), Some("FORBIDDEN"), "{client}: {body}");
        }
        let body = server.gql(None, ANNEX_A, variables.clone()).await;
        assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{body}");
        // Every refusal is audited.
        let refusals = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq("export.annex_a"))
            .filter(audit_event::Column::Outcome.eq("FORBIDDEN"))
            .count(server.db())
            .await
            .unwrap();
        assert_eq!(refusals - refusals_before, others.len() as u64 + 2);

        // Both MASH managers may export.
        for username in ["mash.manager", "mash.manager2"] {
            let token = server.login(username).await;
            let body = server.gql(Some(&token), ANNEX_A, variables.clone()).await;
            assert_eq!(
                body["data"]["annexA"]["rows"],
                json!([]),
                "{username}: {body}"
            );
        }

        // Bad input names the field and writes nothing.
        let manager = server.login("mash.manager").await;
        let before = server.count(audit_event::Entity).await;
        for (vars, field) in [
            (
                json!({ "list": 0, "from": PERIOD.0, "to": PERIOD.1 }),
                "list",
            ),
            (
                json!({ "list": 6, "from": PERIOD.0, "to": PERIOD.1 }),
                "list",
            ),
            (
                json!({ "list": 300, "from": PERIOD.0, "to": PERIOD.1 }),
                "list",
            ),
            (
                json!({ "list": -1, "from": PERIOD.0, "to": PERIOD.1 }),
                "list",
            ),
            (json!({ "list": 1, "from": PERIOD.1, "to": PERIOD.0 }), "to"),
        ] {
            let body = server.gql(Some(&manager), ANNEX_A, vars.clone()).await;
            assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{vars}: {body}");
            assert_eq!(error_field(&body), Some(field), "{vars}: {body}");
        }
        assert_eq!(server.count(audit_event::Entity).await, before);
        // A single day is a period.
        let body = server
            .gql(
                Some(&manager),
                ANNEX_A,
                json!({ "list": 5, "from": PERIOD.0, "to": PERIOD.0 }),
            )
            .await;
        assert_eq!(body["data"]["annexA"]["rows"], json!([]), "{body}");
    })
    .await;
}

/// RFC 4180 records (quoted fields with doubled quotes, CRLF line ends).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        field.is_empty() && record.is_empty(),
        "the last line ends with CRLF"
    );
    records
}

fn as_records(export: &Value) -> Vec<Vec<String>> {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    std::iter::once(strings(&export["headings"]))
        .chain(export["rows"].as_array().unwrap().iter().map(strings))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_export_command_writes_the_same_rows_as_csv() {
    each_backend(|server| async move {
        build_chain(&server).await;
        let manager = server.login("mash.manager").await;
        let dir = tempfile::tempdir().unwrap();
        let key = {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(&server.core.config.signing_key)
        };
        let run = |args: &[&str]| {
            std::process::Command::new(env!("CARGO_BIN_EXE_frontdoor"))
                .args(args)
                .env("DATABASE_URL", &server.core.config.database_url)
                .env("FRONTDOOR_SIGNING_KEY", &key)
                .env_remove("FRONTDOOR_AUDIT_KEY")
                .env("FRONTDOOR_LOG", "error")
                .env("USER", "inspection-operator")
                .output()
                .unwrap()
        };
        let reason = "Ofsted ILACS inspection: Annex A data request";

        // List 1 to a file.
        let file = dir.path().join("list1.csv");
        let out = run(&[
            "export", "annex-a", "--list", "1", "--from", PERIOD.0, "--to", PERIOD.1,
            "--reason", reason, "--output", file.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let written = std::fs::read_to_string(&file).unwrap();
        assert!(written.starts_with("Child Unique ID,Gender,Ethnicity,Date of Birth,Age of Child (Years),Date of Contact,Contact Source\r\n"), "{written}");
        assert_eq!(parse_csv(&written), as_records(&export(&server, &manager, 1).await));
        assert_eq!(parse_csv(&written).len(), 5);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "only its owner may read the export");
        }

        // List 3 to standard output: a team name with a comma and quotes survives.
        let out = run(&[
            "export", "annex-a", "--list", "3", "--from", PERIOD.0, "--to", PERIOD.1, "--reason", reason,
        ]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let printed = String::from_utf8(out.stdout).unwrap();
        assert!(printed.contains("\"Assessment Team \"\"North\"\", Walsall\""), "{printed}");
        assert_eq!(parse_csv(&printed), as_records(&export(&server, &manager, 3).await));

        // The operator's exports are audited with the reason, as the operating-system user.
        let by_operator = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq("export.annex_a"))
            .filter(audit_event::Column::ActorKind.eq("OPERATOR"))
            .order_by_asc(audit_event::Column::Id)
            .all(server.db())
            .await
            .unwrap();
        assert_eq!(by_operator.len(), 2);
        assert_eq!(by_operator[0].actor_label, "inspection-operator");
        let detail: Value = serde_json::from_str(by_operator[0].detail.as_deref().unwrap()).unwrap();
        assert_eq!(detail["reason"], reason);
        assert_eq!(detail["list"], 1);
        assert_eq!(detail["rows"], 4);

        // Without a reason, or with a blank one, nothing is exported or read.
        let before = server.count(audit_event::Entity).await;
        let file = dir.path().join("refused.csv");
        let out = run(&[
            "export", "annex-a", "--list", "1", "--from", PERIOD.0, "--to", PERIOD.1,
            "--output", file.to_str().unwrap(),
        ]);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("--reason"));
        assert!(!file.exists());
        let out = run(&[
            "export", "annex-a", "--list", "1", "--from", PERIOD.0, "--to", PERIOD.1,
            "--reason", "  ", "--output", file.to_str().unwrap(),
        ]);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("reason"), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(!file.exists(), "a refused export leaves no file");
        assert!(out.stdout.is_empty());
        // A bad list is refused the same way.
        let out = run(&[
            "export", "annex-a", "--list", "7", "--from", PERIOD.0, "--to", PERIOD.1, "--reason", reason,
        ]);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("list"));
        assert_eq!(server.count(audit_event::Entity).await, before);
    })
    .await;
}
