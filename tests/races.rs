//! Two people at once: every state change of the front door has exactly one winner. Each
//! race sends N calls at the same moment through real HTTP (on PostgreSQL, spread over this
//! test's server and a second server process on the same database) and checks that exactly
//! one succeeded, the rest got CONFLICT, one success entry was audited, and the record is
//! consistent.
mod common;

use common::{at_once, each_backend, one_winner, Call, TestServer};
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
    let consent = json!({ "position": "GIVEN", "givenBy": "Pat Racefixture", "relationship": "mother" });
    let body = server
        .gql(Some(&school), SUBMIT, json!({ "input": contact_input(None, consent) }))
        .await;
    let contact = &body["data"]["submitContact"];
    let id = contact["id"].as_str().unwrap_or_else(|| panic!("{body}"));
    (id.to_string(), school)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_decisions_on_one_contact_have_one_winner() {
    each_backend(|server| async move {
        let instances = server.instances().await;
        let managers = [server.login("mash.manager").await, server.login("mash.manager2").await];
        for round in 0..3 {
            let (contact, _) = new_contact(&server).await;
            let outcomes = ["NO_FURTHER_ACTION", "REFERRAL_FOR_ASSESSMENT"];
            let calls = (0..6)
                .map(|n| Call::new(&managers[n % 2], DECIDE, json!({ "c": contact, "o": outcomes[(n / 2) % 2] })))
                .collect();
            let before = server.audit_count("contact.decide", "SUCCESS").await;
            let bodies = at_once(&instances, calls).await;
            let winner = one_winner(&bodies);
            assert_eq!(server.audit_count("contact.decide", "SUCCESS").await, before + 1, "round {round}");
            // The stored decision is the winner's, and a referral exists only if it referred.
            let manager = &managers[0];
            let read = server
                .gql(Some(manager), "query($id: ID!) { contact(id: $id) { outcome status } }", json!({ "id": contact }))
                .await;
            assert_eq!(read["data"]["contact"]["outcome"], winner["data"]["recordDecision"]["outcome"], "{read}");
            let referrals = server
                .gql(Some(manager), "{ referrals(first: 100) { edges { node { contact { id } } } } }", json!({}))
                .await;
            let referred = referrals["data"]["referrals"]["edges"]
                .as_array()
                .unwrap_or_else(|| panic!("{referrals}"))
                .iter()
                .filter(|e| e["node"]["contact"]["id"] == contact.as_str())
                .count();
            let expected = usize::from(winner["data"]["recordDecision"]["outcome"] == "REFERRAL_FOR_ASSESSMENT");
            assert_eq!(referred, expected, "round {round}: {referrals}");
        }
    })
    .await;
}
