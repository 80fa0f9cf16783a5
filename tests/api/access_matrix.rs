//! The access policy as a table: every MASH query and mutation, tried by every role of the
//! owning agencies and of the others, and by machine clients. Allowed calls must not be
//! refused; the rest get FORBIDDEN (the role can never) or NOT_FOUND (out of scope).
//! The outcome chain, early help, missing episodes, access logs and reports are in
//! `access_matrix_outcomes`, which shares the callers, scenario and runner here.

use frontdoor_testkit::{each_backend, error_code, TestServer};
use serde_json::{json, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    Allowed,
    Forbidden,
    NotFound,
}
use Expect::*;

pub(crate) const MASH: [&str; 3] = ["mash.manager", "mash.manager2", "mash.social.worker"];
pub(crate) const MANAGERS: [&str; 2] = ["mash.manager", "mash.manager2"];
pub(crate) const CALLERS: [&str; 14] = [
    "admin",
    "mash.manager",
    "mash.manager2",
    "mash.social.worker",
    "auditor",
    "la.referrer",
    "police.mash",
    "police.referrer",
    "health.mash",
    "health.referrer",
    "school.referrer",
    "earlyhelp.mash",
    "police-case-system",
    "health-case-system",
];

fn is_client(caller: &str) -> bool {
    caller.ends_with("-case-system")
}

/// The records of the scenario every row is tried against.
pub(crate) struct Scenario {
    pub(crate) contact: String,
    pub(crate) child: String,
    pub(crate) request: String,
    pub(crate) disclosure: String,
    pub(crate) override_id: String,
    pub(crate) consent: String,
    pub(crate) health: String,
    pub(crate) early_help: String,
}

pub(crate) async fn token(server: &TestServer, caller: &str) -> String {
    match caller {
        "police-case-system" => server.client_token(caller, "police-demo-secret").await,
        "health-case-system" => server.client_token(caller, "health-demo-secret").await,
        user => server.login(user).await,
    }
}

pub(crate) async fn agency(server: &TestServer, admin: &str, name: &str) -> String {
    let body = server
        .gql(
            Some(admin),
            "{ agencies(first: 100) { edges { node { id name } } } }",
            json!({}),
        )
        .await;
    body["data"]["agencies"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["name"] == name)
        .unwrap()["node"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

pub(crate) fn data<'a>(body: &'a Value, field: &str) -> &'a Value {
    let value = &body["data"][field];
    assert!(!value.is_null(), "{field}: {body}");
    value
}

/// A school contact with an approved override, a request to police answered with a
/// P-coded disclosure, a second pending override and a recorded consent.
pub(crate) async fn scenario(server: &TestServer) -> Scenario {
    let admin = server.login("admin").await;
    let police = agency(server, &admin, "West Midlands Police").await;
    let health = agency(server, &admin, "Walsall Healthcare NHS Trust").await;
    let early_help = agency(server, &admin, "Walsall Early Help Hub").await;
    let school = server.login("school.referrer").await;
    let manager = server.login("mash.manager").await;
    let manager2 = server.login("mash.manager2").await;
    let worker = server.login("mash.social.worker").await;
    let police_officer = server.login("police.mash").await;

    let body = server
        .gql(
            Some(&school),
            "mutation($input: SubmitContactInput!) { submitContact(input: $input) { id } }",
            json!({ "input": {
                "child": { "firstName": "Bo", "lastName": "Matrixchild", "dateOfBirth": "2015-05-05", "gender": "MALE" },
                "concernCategories": ["3A"], "narrative": "Bo arrives hungry most days.",
                "consent": { "position": "REFUSED" } } }),
        )
        .await;
    let contact = data(&body, "submitContact")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let request_override = "mutation($c: ID!) { requestConsentOverride(contactId: $c, reason: CANNOT_REASONABLY_BE_OBTAINED, justification: \"Family unreachable.\") { id } }";
    let body = server
        .gql(Some(&manager), request_override, json!({ "c": contact }))
        .await;
    let first_override = data(&body, "requestConsentOverride")["id"]
        .as_str()
        .unwrap()
        .to_string();
    server
        .gql(
            Some(&manager2),
            "mutation($o: ID!) { approveConsentOverride(overrideId: $o) { id } }",
            json!({ "o": first_override }),
        )
        .await;
    let body = server
        .gql(
            Some(&worker),
            "mutation($c: ID!, $a: ID!) { sendInformationRequest(input: { contactId: $c, toAgencyId: $a, questions: \"Known?\", priority: GREEN }) { id } }",
            json!({ "c": contact, "a": police }),
        )
        .await;
    let request = data(&body, "sendInformationRequest")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = server
        .gql(
            Some(&police_officer),
            "mutation($r: ID!) { respondToInformationRequest(requestId: $r, disclosures: [{ content: \"One missing-person report in 2025.\", category: \"missing\", lawfulBasis: UK_GDPR_6_1_E_PUBLIC_TASK, handlingCode: P }]) { disclosures { ... on Disclosure { id } } } }",
            json!({ "r": request }),
        )
        .await;
    let disclosure = data(&body, "respondToInformationRequest")["disclosures"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = server
        .gql(Some(&worker), request_override, json!({ "c": contact }))
        .await;
    let override_id = data(&body, "requestConsentOverride")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = server
        .gql(
            Some(&school),
            "mutation($c: ID!) { recordConsent(contactId: $c, input: { position: GIVEN, givenBy: \"Parent (fictional)\", relationship: \"father\" }) { consents { id } } }",
            json!({ "c": contact }),
        )
        .await;
    let consent = data(&body, "recordConsent")["consents"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = server
        .gql(
            Some(&manager),
            "query($c: ID!) { contact(id: $c) { child { id } } }",
            json!({ "c": contact }),
        )
        .await;
    let child = data(&body, "contact")["child"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    Scenario {
        contact,
        child,
        request,
        disclosure,
        override_id,
        consent,
        health,
        early_help,
    }
}

/// An operation: its name, query, variables, and what each caller should get.
pub(crate) type Operation = (&'static str, String, Value, fn(&str) -> Expect);

pub(crate) fn mash_only(c: &str) -> Expect {
    if MASH.contains(&c) {
        Allowed
    } else {
        Forbidden
    }
}

pub(crate) fn managers_only(c: &str) -> Expect {
    if MANAGERS.contains(&c) {
        Allowed
    } else {
        Forbidden
    }
}

/// Calls every operation as every caller, in order (row by row, each row by every caller in
/// `CALLERS` order), and checks each answer. Allowed calls must not be refused (a CONFLICT or
/// BAD_USER_INPUT from an earlier caller's change is fine); refusals must carry their code
/// and no data. Returns, per row, whether some caller's call succeeded without errors.
pub(crate) async fn run(
    server: &TestServer,
    operations: Vec<Operation>,
) -> Vec<(&'static str, bool)> {
    let mut tokens = Vec::new();
    for caller in CALLERS {
        tokens.push((caller, token(server, caller).await));
    }
    let mut succeeded = Vec::new();
    for (name, query, variables, expect) in operations {
        let mut any_success = false;
        for (caller, token) in &tokens {
            let body = server.gql(Some(token), &query, variables.clone()).await;
            let code = error_code(&body);
            match expect(caller) {
                Allowed => assert!(
                    !matches!(code, Some("FORBIDDEN" | "NOT_FOUND" | "UNAUTHENTICATED")),
                    "{caller} should be allowed {name}: {body}"
                ),
                Forbidden => assert_eq!(code, Some("FORBIDDEN"), "{caller} → {name}: {body}"),
                NotFound => assert_eq!(code, Some("NOT_FOUND"), "{caller} → {name}: {body}"),
            }
            if expect(caller) != Allowed {
                assert!(body["data"].is_null(), "{caller} → {name} leaked: {body}");
            }
            any_success |= body["errors"].is_null() && !body["data"].is_null();
        }
        succeeded.push((name, any_success));
    }
    succeeded
}

fn operations(s: &Scenario) -> Vec<Operation> {
    fn mash_or_auditor(c: &str) -> Expect {
        if MASH.contains(&c) || c == "auditor" {
            Allowed
        } else {
            Forbidden
        }
    }
    fn read_contact(c: &str) -> Expect {
        match c {
            _ if MASH.contains(&c) || c == "school.referrer" => Allowed,
            "admin" | "auditor" => Forbidden,
            _ => NotFound,
        }
    }
    fn list_contacts(c: &str) -> Expect {
        if matches!(c, "admin" | "auditor") {
            Forbidden
        } else {
            Allowed
        }
    }
    fn read_request(c: &str) -> Expect {
        match c {
            _ if MASH.contains(&c) || c == "police.mash" || c == "police-case-system" => Allowed,
            "health.mash" | "earlyhelp.mash" | "health-case-system" => NotFound,
            _ => Forbidden,
        }
    }
    fn list_requests(c: &str) -> Expect {
        if MASH.contains(&c) || c.ends_with(".mash") || is_client(c) {
            Allowed
        } else {
            Forbidden
        }
    }
    fn read_disclosure(c: &str) -> Expect {
        // The supplying agency reads back what it disclosed: its desk and its systems alike.
        match c {
            _ if MASH.contains(&c) || c == "police.mash" || c == "police-case-system" => Allowed,
            "health.mash" | "earlyhelp.mash" | "health-case-system" => NotFound,
            _ => Forbidden,
        }
    }
    fn answer_request(c: &str) -> Expect {
        match c {
            "police.mash" | "police-case-system" => Allowed,
            "health.mash" | "earlyhelp.mash" | "health-case-system" => NotFound,
            _ => Forbidden,
        }
    }
    fn submit(c: &str) -> Expect {
        if matches!(c, "admin" | "auditor") {
            Forbidden
        } else {
            Allowed
        }
    }
    fn consent(c: &str) -> Expect {
        match c {
            _ if MASH.contains(&c) || c == "school.referrer" => Allowed,
            "admin" | "auditor" => Forbidden,
            _ if is_client(c) => Forbidden,
            _ => NotFound,
        }
    }
    let submit_input = json!({ "input": {
        "child": { "firstName": "Cy", "lastName": "Matrixchild", "gender": "NOT_STATED" },
        "concernCategories": ["21"], "narrative": "Matrix probe.", "consent": { "position": "REFUSED" } } });
    vec![
        ("contact", "query($id: ID!) { contact(id: $id) { id } }".into(), json!({ "id": s.contact }), read_contact),
        ("contacts", "{ contacts { totalCount } }".into(), json!({}), list_contacts),
        ("child", "query($id: ID!) { child(id: $id) { id } }".into(), json!({ "id": s.child }), mash_only),
        (
            "childIdentifiers",
            "query($id: ID!) { childIdentifiers(id: $id) { id nhsNumber } }".into(),
            json!({ "id": s.child }),
            mash_or_auditor,
        ),
        ("searchChildren", "{ searchChildren(lastName: \"Matrixchild\") { id } }".into(), json!({}), mash_only),
        ("informationRequest", "query($id: ID!) { informationRequest(id: $id) { id } }".into(), json!({ "id": s.request }), read_request),
        ("informationRequests", "{ informationRequests { totalCount } }".into(), json!({}), list_requests),
        (
            "disclosure",
            "query($id: ID!) { disclosure(id: $id) { ... on Disclosure { id content } } }".into(),
            json!({ "id": s.disclosure }),
            read_disclosure,
        ),
        ("breakGlassReviewQueue", "{ breakGlassReviewQueue { id } }".into(), json!({}), managers_only),
        ("submitContact", "mutation($input: SubmitContactInput!) { submitContact(input: $input) { id } }".into(), submit_input, submit),
        (
            "recordConsent",
            "mutation($c: ID!) { recordConsent(contactId: $c, input: { position: GIVEN, givenBy: \"Carer (fictional)\", relationship: \"carer\" }) { id } }".into(),
            json!({ "c": s.contact }),
            consent,
        ),
        (
            "requestConsentOverride",
            "mutation($c: ID!) { requestConsentOverride(contactId: $c, reason: CANNOT_BE_GIVEN, justification: \"Probe.\") { id } }".into(),
            json!({ "c": s.contact }),
            mash_only,
        ),
        ("approveConsentOverride", "mutation($o: ID!) { approveConsentOverride(overrideId: $o) { id } }".into(), json!({ "o": s.override_id }), managers_only),
        ("refuseConsentOverride", "mutation($o: ID!) { refuseConsentOverride(overrideId: $o) { id } }".into(), json!({ "o": s.override_id }), managers_only),
        (
            "reviewBreakGlassOverride",
            "mutation($o: ID!) { reviewBreakGlassOverride(overrideId: $o, uphold: true) { id } }".into(),
            json!({ "o": s.override_id }),
            managers_only,
        ),
        ("setImmediateRisk", "mutation($c: ID!) { setImmediateRisk(contactId: $c, immediateRisk: true) { id } }".into(), json!({ "c": s.contact }), mash_only),
        (
            "sendInformationRequest",
            "mutation($c: ID!, $a: ID!) { sendInformationRequest(input: { contactId: $c, toAgencyId: $a, questions: \"Probe?\", priority: AMBER }) { id } }".into(),
            json!({ "c": s.contact, "a": s.health }),
            mash_only,
        ),
        (
            "respondToInformationRequest",
            "mutation($r: ID!) { respondToInformationRequest(requestId: $r, disclosures: [{ content: \"Probe.\", category: \"probe\", lawfulBasis: UK_GDPR_6_1_E_PUBLIC_TASK, handlingCode: P }]) { id } }".into(),
            json!({ "r": s.request }),
            answer_request,
        ),
        (
            "declineInformationRequest",
            "mutation($r: ID!) { declineInformationRequest(requestId: $r, reason: \"Probe.\") { id } }".into(),
            json!({ "r": s.request }),
            answer_request,
        ),
        (
            "shareDisclosureOnward",
            "mutation($d: ID!, $a: ID!) { shareDisclosureOnward(disclosureId: $d, toAgencyId: $a) { id } }".into(),
            json!({ "d": s.disclosure, "a": s.early_help }),
            mash_only,
        ),
        (
            "recordRecommendation",
            "mutation($c: ID!) { recordRecommendation(contactId: $c, outcome: STEP_DOWN_TO_EARLY_HELP, rationale: \"Probe.\") { id } }".into(),
            json!({ "c": s.contact }),
            mash_only,
        ),
        (
            "updateChild",
            "mutation($c: ID!) { updateChild(childId: $c, input: { firstName: \"Bo\", lastName: \"Matrixchild\", gender: MALE, dateOfBirth: \"2015-05-05\" }) { id } }".into(),
            json!({ "c": s.child }),
            mash_only,
        ),
        (
            "linkChildren",
            "mutation($c: ID!) { linkChildren(childId: $c, relatedChildId: $c, relationship: SIBLING) { id } }".into(),
            json!({ "c": s.child }),
            mash_only,
        ),
        ("withdrawConsent", "mutation($k: ID!) { withdrawConsent(consentId: $k) { id } }".into(), json!({ "k": s.consent }), consent),
        (
            "recordDecision",
            "mutation($c: ID!) { recordDecision(input: { contactId: $c, outcome: STEP_DOWN_TO_EARLY_HELP, thresholdLevel: 2, rationale: \"Probe.\" }) { id } }".into(),
            json!({ "c": s.contact }),
            managers_only,
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_by_every_role_of_every_agency() {
    each_backend(|server| async move {
        let s = scenario(&server).await;
        run(&server, operations(&s)).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_hold_no_foreign_rows_and_no_foreign_counts() {
    each_backend(|server| async move {
        let s = scenario(&server).await;
        let contacts = "{ contacts { totalCount edges { node { id } } } }";
        let requests = "{ informationRequests { totalCount edges { node { id } } } }";
        let expected_contacts = [
            ("mash.manager", 1),
            ("school.referrer", 1),
            ("la.referrer", 0),
            ("police.referrer", 0),
            ("police.mash", 0),
            ("health.mash", 0),
            ("earlyhelp.mash", 0),
            ("police-case-system", 0),
        ];
        for (caller, n) in expected_contacts {
            let body = server
                .gql(Some(&token(&server, caller).await), contacts, json!({}))
                .await;
            assert_eq!(
                body["data"]["contacts"]["totalCount"], n,
                "{caller}: {body}"
            );
            assert_eq!(
                body["data"]["contacts"]["edges"].as_array().unwrap().len(),
                n,
                "{caller}"
            );
        }
        let expected_requests = [
            ("mash.social.worker", 1),
            ("police.mash", 1),
            ("police-case-system", 1),
            ("health.mash", 0),
            ("earlyhelp.mash", 0),
            ("health-case-system", 0),
        ];
        for (caller, n) in expected_requests {
            let body = server
                .gql(Some(&token(&server, caller).await), requests, json!({}))
                .await;
            assert_eq!(
                body["data"]["informationRequests"]["totalCount"], n,
                "{caller}: {body}"
            );
            assert_eq!(
                body["data"]["informationRequests"]["edges"]
                    .as_array()
                    .unwrap()
                    .len(),
                n,
                "{caller}"
            );
        }
        // Filters cannot be used to probe: another agency's contacts by source agency.
        let admin = server.login("admin").await;
        let school_agency = agency(&server, &admin, "Brookhollow Primary School, Walsall").await;
        let body = server
            .gql(
                Some(&server.login("police.mash").await),
                "query($a: ID) { contacts(sourceAgencyId: $a) { totalCount } }",
                json!({ "a": school_agency }),
            )
            .await;
        assert_eq!(body["data"]["contacts"]["totalCount"], 0);
        let _ = s.contact;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn machine_clients_read_back_what_their_agency_disclosed() {
    each_backend(|server| async move {
        let s = scenario(&server).await;
        let police = token(&server, "police-case-system").await;
        let health = token(&server, "health-case-system").await;
        let body = server
            .gql(
                Some(&police),
                "query($r: ID!) { informationRequest(id: $r) { disclosures { __typename ... on Disclosure { id content } } } }",
                json!({ "r": s.request }),
            )
            .await;
        let disclosures = data(&body, "informationRequest")["disclosures"].clone();
        assert_eq!(disclosures[0]["__typename"], "Disclosure", "{body}");
        assert_eq!(disclosures[0]["content"], "One missing-person report in 2025.");
        let read = "query($d: ID!) { disclosure(id: $d) { ... on Disclosure { content } } }";
        let body = server
            .gql(Some(&police), read, json!({ "d": s.disclosure }))
            .await;
        assert_eq!(
            data(&body, "disclosure")["content"],
            "One missing-person report in 2025."
        );
        let body = server
            .gql(Some(&health), read, json!({ "d": s.disclosure }))
            .await;
        assert_eq!(error_code(&body), Some("NOT_FOUND"), "{body}");
        assert!(body["data"].is_null(), "{body}");
    })
    .await;
}
