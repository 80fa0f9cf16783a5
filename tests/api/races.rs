//! Two people at once: every state change of the front door has exactly one winner. Each
//! race sends N calls at the same moment through real HTTP (on PostgreSQL, spread over this
//! test's server and a second server process on the same database) and checks that exactly
//! one succeeded, the rest got CONFLICT, one success entry was audited, and the record is
//! consistent.

use frontdoor_testkit::{at_once, each_backend, one_winner, Call, TestServer};
use serde_json::{json, Value};

const SUBMIT: &str = "mutation($input: SubmitContactInput!) { submitContact(input: $input) { id status child { id } } }";
const DECIDE: &str = "mutation($c: ID!, $o: ContactOutcome!) { recordDecision(input: { contactId: $c, outcome: $o, thresholdLevel: 3, rationale: \"Decided under test.\" }) { id status outcome } }";

fn contact_input(nhs: Option<&str>, consent: Value) -> Value {
    let mut child = json!({ "firstName": "Rowan", "lastName": "Racefixture", "dateOfBirth": "2015-06-01", "gender": "FEMALE" });
    if let Some(nhs) = nhs {
        child["nhsNumber"] = json!(nhs);
    }
    json!({
        "child": child,
        "concernCategories": ["21"],
        "narrative": "A concern raised under test.",
        "consent": consent,
    })
}

/// A new contact (with consent given, so requests may be sent), submitted by the school.
async fn new_contact(server: &TestServer) -> (String, String) {
    let school = server.login("school.referrer").await;
    let consent =
        json!({ "position": "GIVEN", "givenBy": "Pat Racefixture", "relationship": "mother" });
    let body = server
        .gql(
            Some(&school),
            SUBMIT,
            json!({ "input": contact_input(None, consent) }),
        )
        .await;
    let contact = &body["data"]["submitContact"];
    let id = contact["id"].as_str().unwrap_or_else(|| panic!("{body}"));
    (id.to_string(), school)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_decisions_on_one_contact_have_one_winner() {
    each_backend(|server| async move {
        let instances = server.instances().await;
        let managers = [
            server.login("mash.manager").await,
            server.login("mash.manager2").await,
        ];
        for round in 0..3 {
            let (contact, _) = new_contact(&server).await;
            let outcomes = ["NO_FURTHER_ACTION", "REFERRAL_FOR_ASSESSMENT"];
            let calls = (0..6)
                .map(|n| {
                    Call::new(
                        &managers[n % 2],
                        DECIDE,
                        json!({ "c": contact, "o": outcomes[(n / 2) % 2] }),
                    )
                })
                .collect();
            let before = server.audit_count("contact.decide", "SUCCESS").await;
            let bodies = at_once(&instances, calls).await;
            let winner = one_winner(&bodies);
            assert_eq!(
                server.audit_count("contact.decide", "SUCCESS").await,
                before + 1,
                "round {round}"
            );
            // The stored decision is the winner's, and a referral exists only if it referred.
            let manager = &managers[0];
            let read = server
                .gql(
                    Some(manager),
                    "query($id: ID!) { contact(id: $id) { outcome status } }",
                    json!({ "id": contact }),
                )
                .await;
            assert_eq!(
                read["data"]["contact"]["outcome"], winner["data"]["recordDecision"]["outcome"],
                "{read}"
            );
            let referrals = server
                .gql(
                    Some(manager),
                    "query($c: ID) { referrals(contactId: $c) { totalCount } }",
                    json!({ "c": contact }),
                )
                .await;
            let referred = referrals["data"]["referrals"]["totalCount"]
                .as_u64()
                .unwrap_or_else(|| panic!("{referrals}"));
            let expected =
                u64::from(winner["data"]["recordDecision"]["outcome"] == "REFERRAL_FOR_ASSESSMENT");
            assert_eq!(referred, expected, "round {round}: {referrals}");
        }
    })
    .await;
}

const SEND: &str = "mutation($c: ID!, $a: ID!) { sendInformationRequest(input: { contactId: $c, toAgencyId: $a, questions: \"What do you know of the child?\", priority: AMBER }) { id status } }";
const RESPOND: &str = "mutation($r: ID!, $text: String!) { respondToInformationRequest(requestId: $r, disclosures: [{ content: $text, category: \"household\", lawfulBasis: \"UK_GDPR_6_1_E_PUBLIC_TASK\", handlingCode: \"P\" }]) { id status } }";
const DECLINE: &str = "mutation($r: ID!) { declineInformationRequest(requestId: $r, reason: \"No record held.\") { id status } }";

/// A contact with consent and an open request to the police, as the police desk sees it.
async fn open_request(server: &TestServer) -> (String, String) {
    let (contact, _) = new_contact(server).await;
    let worker = server.login("mash.social.worker").await;
    let police = server.agency_id("West Midlands Police").await;
    let body = server
        .gql(Some(&worker), SEND, json!({ "c": contact, "a": police }))
        .await;
    let request = body["data"]["sendInformationRequest"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"));
    (contact, request.to_string())
}

/// The request and its disclosures as the MASH manager reads them.
async fn request_state(server: &TestServer, contact: &str) -> Value {
    let manager = server.login("mash.manager").await;
    let body = server
        .gql(
            Some(&manager),
            "query($id: ID!) { contact(id: $id) { status informationRequests { id status declineReason } disclosures { __typename } } }",
            json!({ "id": contact }),
        )
        .await;
    body["data"]["contact"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_answers_to_one_request_have_one_winner() {
    each_backend(|server| async move {
        let instances = server.instances().await;
        let officer = server.login("police.mash").await;
        let client = server
            .client_token("police-case-system", "police-demo-secret")
            .await;
        // Two responses at once, then a response against a decline.
        let (contact, request) = open_request(&server).await;
        let calls = (0..6)
            .map(|n| {
                let token = if n % 2 == 0 { &officer } else { &client };
                Call::new(
                    token,
                    RESPOND,
                    json!({ "r": request, "text": format!("Answer {n}") }),
                )
            })
            .collect();
        let before = server.audit_count("request.respond", "SUCCESS").await;
        one_winner(&at_once(&instances, calls).await);
        assert_eq!(
            server.audit_count("request.respond", "SUCCESS").await,
            before + 1
        );
        let state = request_state(&server, &contact).await;
        assert_eq!(
            state["informationRequests"][0]["status"], "RESPONDED",
            "{state}"
        );
        assert_eq!(
            state["disclosures"].as_array().unwrap().len(),
            1,
            "one answer's disclosures: {state}"
        );

        let (contact, request) = open_request(&server).await;
        let calls = (0..6)
            .map(|n| {
                if n % 2 == 0 {
                    Call::new(
                        &officer,
                        RESPOND,
                        json!({ "r": request, "text": "An answer." }),
                    )
                } else {
                    Call::new(&officer, DECLINE, json!({ "r": request }))
                }
            })
            .collect();
        let bodies = at_once(&instances, calls).await;
        let winner = one_winner(&bodies);
        let state = request_state(&server, &contact).await;
        let stored = &state["informationRequests"][0];
        if winner["data"]["declineInformationRequest"].is_object() {
            assert_eq!(stored["status"], "DECLINED", "{state}");
            assert_eq!(state["disclosures"].as_array().unwrap().len(), 0, "{state}");
        } else {
            assert_eq!(stored["status"], "RESPONDED", "{state}");
            assert!(
                stored["declineReason"].is_null(),
                "a response has no decline reason: {state}"
            );
            assert_eq!(state["disclosures"].as_array().unwrap().len(), 1, "{state}");
        }
    })
    .await;
}

const REQUEST_OVERRIDE: &str = "mutation($c: ID!) { requestConsentOverride(contactId: $c, reason: WOULD_PREJUDICE_PROTECTION, justification: \"Seeking consent would alert the alleged abuser.\") { id } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approving_and_refusing_one_override_has_one_winner() {
    each_backend(|server| async move {
        let instances = server.instances().await;
        let school = server.login("school.referrer").await;
        let requester = server.login("mash.social.worker").await;
        let managers = [
            server.login("mash.manager").await,
            server.login("mash.manager2").await,
        ];
        for round in 0..3 {
            let body = server
                .gql(
                    Some(&school),
                    SUBMIT,
                    json!({ "input": contact_input(None, json!({ "position": "REFUSED" })) }),
                )
                .await;
            let contact = body["data"]["submitContact"]["id"]
                .as_str()
                .unwrap()
                .to_string();
            let body = server
                .gql(Some(&requester), REQUEST_OVERRIDE, json!({ "c": contact }))
                .await;
            let id = body["data"]["requestConsentOverride"]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{body}"))
                .to_string();
            let calls = (0..6)
                .map(|n| {
                    let op = if n % 2 == 0 {
                        "approveConsentOverride"
                    } else {
                        "refuseConsentOverride"
                    };
                    let query =
                        format!("mutation($o: ID!) {{ {op}(overrideId: $o) {{ id status }} }}");
                    Call::new(&managers[(n / 2) % 2], &query, json!({ "o": id }))
                })
                .collect();
            let decided = server.audit_count("override.approve", "SUCCESS").await
                + server.audit_count("override.refuse", "SUCCESS").await;
            let winner = one_winner(&at_once(&instances, calls).await);
            let after = server.audit_count("override.approve", "SUCCESS").await
                + server.audit_count("override.refuse", "SUCCESS").await;
            assert_eq!(after, decided + 1, "round {round}: one decision audited");
            let won =
                winner["data"].as_object().unwrap().values().next().unwrap()["status"].clone();
            let read = server
                .gql(
                    Some(&managers[0]),
                    "query($id: ID!) { contact(id: $id) { status overrides { status } } }",
                    json!({ "id": contact }),
                )
                .await;
            assert_eq!(
                read["data"]["contact"]["overrides"][0]["status"], won,
                "round {round}: {read}"
            );
            let expected_status = if won == "APPROVED" {
                "INFORMATION_GATHERING"
            } else {
                "AWAITING_CONSENT"
            };
            assert_eq!(read["data"]["contact"]["status"], expected_status, "{read}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_never_outlives_the_consent_withdrawn_at_the_same_moment() {
    each_backend(|server| async move {
        let instances = server.instances().await;
        let worker = server.login("mash.social.worker").await;
        let manager = server.login("mash.manager").await;
        let police = server.agency_id("West Midlands Police").await;
        for round in 0..4 {
            let (contact, school) = new_contact(&server).await;
            let read = server
                .gql(
                    Some(&manager),
                    "query($id: ID!) { contact(id: $id) { consents { id } } }",
                    json!({ "id": contact }),
                )
                .await;
            let consent = read["data"]["contact"]["consents"][0]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{read}"))
                .to_string();
            let mut calls = vec![Call::new(
                &school,
                "mutation($id: ID!) { withdrawConsent(consentId: $id) { id status } }",
                json!({ "id": consent }),
            )];
            for _ in 0..3 {
                calls.push(Call::new(
                    &worker,
                    SEND,
                    json!({ "c": contact, "a": police }),
                ));
            }
            let bodies = at_once(&instances, calls).await;
            assert!(
                bodies[0]["errors"].is_null(),
                "the withdrawal succeeds: {}",
                bodies[0]
            );
            for body in &bodies[1..] {
                let code = frontdoor_testkit::error_code(body);
                assert!(
                    code.is_none() || code == Some("CONSENT_REQUIRED"),
                    "round {round}: {body}"
                );
            }
            // Requests sent before the withdrawal were withdrawn with it; none sent after.
            let state = request_state(&server, &contact).await;
            for request in state["informationRequests"].as_array().unwrap() {
                assert_eq!(request["status"], "WITHDRAWN", "round {round}: {state}");
            }
            assert_eq!(state["status"], "AWAITING_CONSENT", "{state}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_idempotency_key_with_two_payloads_makes_one_contact() {
    each_backend(|server| async move {
        let instances = server.instances().await;
        let school = server.login("school.referrer").await;
        let consent = json!({ "position": "REFUSED" });
        let calls = (0..20)
            .map(|n| {
                let mut input = contact_input(None, consent.clone());
                input["narrative"] = json!(if n % 2 == 0 { "Payload A." } else { "Payload B." });
                input["idempotencyKey"] = json!("school-retry-key-1");
                Call::new(&school, "mutation($input: SubmitContactInput!) { submitContact(input: $input) { id narrative } }", json!({ "input": input }))
            })
            .collect();
        let before = server.count(entity::contact::Entity).await;
        let bodies = at_once(&instances, calls).await;
        assert_eq!(server.count(entity::contact::Entity).await, before + 1, "one record");
        let stored: Vec<&Value> = bodies.iter().filter(|b| b["errors"].is_null()).collect();
        let id = &stored[0]["data"]["submitContact"]["id"];
        let narrative = stored[0]["data"]["submitContact"]["narrative"].as_str().unwrap();
        let winning_payload = if narrative == "Payload A." { 0 } else { 1 };
        for (n, body) in bodies.iter().enumerate() {
            if n % 2 == winning_payload {
                assert_eq!(&body["data"]["submitContact"]["id"], id, "same payload, the one record: {body}");
            } else {
                assert_eq!(frontdoor_testkit::error_code(body), Some("CONFLICT"), "a different payload: {body}");
                assert_eq!(frontdoor_testkit::error_field(body), Some("idempotencyKey"));
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submissions_about_one_new_nhs_number_make_one_child() {
    each_backend(|server| async move {
        let instances = server.instances().await;
        let referrers = [
            server.login("school.referrer").await,
            server.login("police.referrer").await,
            server.login("health.referrer").await,
        ];
        let calls = (0..20)
            .map(|n| {
                let mut input =
                    contact_input(Some("401 023 2137"), json!({ "position": "REFUSED" }));
                // Spelled differently each time: only the NHS number ties them together.
                input["child"]["firstName"] = json!(format!("Rowan{n}"));
                Call::new(
                    &referrers[n % 3],
                    "mutation($input: SubmitContactInput!) { submitContact(input: $input) { id } }",
                    json!({ "input": input }),
                )
            })
            .collect();
        let children = server.count(entity::child::Entity).await;
        let bodies = at_once(&instances, calls).await;
        for body in &bodies {
            assert!(
                body["errors"].is_null(),
                "every submission is accepted: {body}"
            );
        }
        assert_eq!(
            server.count(entity::child::Entity).await,
            children + 1,
            "one child record"
        );
        let manager = server.login("mash.manager").await;
        let found = server
            .gql(
                Some(&manager),
                "{ searchChildren(nhsNumber: \"4010232137\") { id } }",
                json!({}),
            )
            .await;
        let child = found["data"]["searchChildren"][0]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{found}"));
        let record = server
            .gql(
                Some(&manager),
                "query($id: ID!) { child(id: $id) { contactIds } }",
                json!({ "id": child }),
            )
            .await;
        let ids: Vec<&str> = bodies
            .iter()
            .map(|b| b["data"]["submitContact"]["id"].as_str().unwrap())
            .collect();
        let mut linked: Vec<&str> = record["data"]["child"]["contactIds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        linked.sort();
        let mut submitted = ids.clone();
        submitted.sort();
        assert_eq!(
            linked, submitted,
            "{:?} every contact is linked to the one child: {record}",
            server.backend
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_break_glass_review_and_an_onward_share_each_happen_once() {
    each_backend(|server| async move {
        let instances = server.instances().await;
        let manager = server.login("mash.manager").await;
        let reviewer = server.login("mash.manager2").await;
        let school = server.login("school.referrer").await;
        // Break-glass: the manager approves their own override on an immediate-risk contact.
        let mut input = contact_input(None, json!({ "position": "REFUSED" }));
        input["immediateRisk"] = json!(true);
        let body = server.gql(Some(&school), SUBMIT, json!({ "input": input })).await;
        let contact = body["data"]["submitContact"]["id"].as_str().unwrap().to_string();
        let body = server.gql(Some(&manager), REQUEST_OVERRIDE, json!({ "c": contact })).await;
        let id = body["data"]["requestConsentOverride"]["id"].as_str().unwrap().to_string();
        let body = server
            .gql(Some(&manager), "mutation($o: ID!) { approveConsentOverride(overrideId: $o) { reviewStatus } }", json!({ "o": id }))
            .await;
        assert_eq!(body["data"]["approveConsentOverride"]["reviewStatus"], "PENDING", "{body}");
        let calls = (0..6)
            .map(|n| {
                Call::new(
                    &reviewer,
                    "mutation($o: ID!, $u: Boolean!) { reviewBreakGlassOverride(overrideId: $o, uphold: $u) { reviewStatus } }",
                    json!({ "o": id, "u": n % 2 == 0 }),
                )
            })
            .collect();
        let winner = one_winner(&at_once(&instances, calls).await);
        assert_eq!(server.audit_count("override.review", "SUCCESS").await, 1);
        let read = server
            .gql(Some(&manager), "query($id: ID!) { contact(id: $id) { overrides { reviewStatus } } }", json!({ "id": contact }))
            .await;
        assert_eq!(
            read["data"]["contact"]["overrides"][0]["reviewStatus"],
            winner["data"]["reviewBreakGlassOverride"]["reviewStatus"],
            "{read}"
        );

        // A public disclosure shared onward to early help by two workers at once: one share.
        let (contact, request) = open_request(&server).await;
        let officer = server.login("police.mash").await;
        let body = server.gql(Some(&officer), RESPOND, json!({ "r": request, "text": "Known to police." })).await;
        assert!(body["errors"].is_null(), "{body}");
        let read = server
            .gql(Some(&manager), "query($id: ID!) { contact(id: $id) { disclosures { ... on Disclosure { id } } } }", json!({ "id": contact }))
            .await;
        let disclosure = read["data"]["contact"]["disclosures"][0]["id"].as_str().unwrap().to_string();
        let early_help = server.agency_id("Walsall Early Help Hub").await;
        let worker = server.login("mash.social.worker").await;
        let calls = (0..6)
            .map(|n| {
                let token = if n % 2 == 0 { &worker } else { &manager };
                Call::new(
                    token,
                    "mutation($d: ID!, $a: ID!) { shareDisclosureOnward(disclosureId: $d, toAgencyId: $a) { id } }",
                    json!({ "d": disclosure, "a": early_help }),
                )
            })
            .collect();
        one_winner(&at_once(&instances, calls).await);
        assert_eq!(server.audit_count("disclosure.share_onward", "SUCCESS").await, 1);
        let read = server
            .gql(Some(&manager), "query($id: ID!) { contact(id: $id) { disclosures { __typename } } }", json!({ "id": contact }))
            .await;
        assert_eq!(read["data"]["contact"]["disclosures"].as_array().unwrap().len(), 2, "the original and one share: {read}");
    })
    .await;
}
