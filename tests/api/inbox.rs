//! The partner inbox costs a fixed number of database statements per page, whatever the number
//! of rows on it: the views of a page are loaded together, not one row at a time.

use frontdoor_testkit::{each_backend, TestServer};
use serde_json::{json, Value};

const SUBMIT: &str =
    "mutation($input: SubmitContactInput!) { submitContact(input: $input) { id } }";
const SEND: &str = "mutation($c: ID!, $a: ID!) { sendInformationRequest(input: { contactId: $c, toAgencyId: $a, questions: \"What do you know of the child?\", priority: AMBER }) { id } }";
const RESPOND: &str = "mutation($r: ID!) { respondToInformationRequest(requestId: $r, disclosures: [{ content: \"Known to us.\", category: \"household\", lawfulBasis: \"UK_GDPR_6_1_E_PUBLIC_TASK\", handlingCode: \"P\" }, { content: \"One callout.\", category: \"police\", lawfulBasis: \"UK_GDPR_6_1_E_PUBLIC_TASK\", handlingCode: \"P\" }]) { id } }";
const INBOX: &str = "{ informationRequests(first: 100) { totalCount edges { node { id status child { firstName } disclosures { ... on Disclosure { id content } } } } } }";

/// Sends `n` more requests to the police, answering every other one with two disclosures.
async fn add_requests(server: &TestServer, n: usize) {
    let school = server.login("school.referrer").await;
    let worker = server.login("mash.social.worker").await;
    let desk = server.login("police.mash").await;
    let police = server.agency_id("West Midlands Police").await;
    for i in 0..n {
        let input = json!({
            "child": { "firstName": format!("Inbox{i}"), "lastName": "Pagefixture", "dateOfBirth": "2014-03-01", "gender": "MALE" },
            "concernCategories": ["21"],
            "narrative": "A concern raised under test.",
            "consent": { "position": "GIVEN", "givenBy": "Sam Pagefixture", "relationship": "mother" },
        });
        let body = server
            .gql(Some(&school), SUBMIT, json!({ "input": input }))
            .await;
        let contact = body["data"]["submitContact"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .to_string();
        let body = server
            .gql(Some(&worker), SEND, json!({ "c": contact, "a": police }))
            .await;
        let request = body["data"]["sendInformationRequest"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .to_string();
        if i % 2 == 0 {
            let body = server
                .gql(Some(&desk), RESPOND, json!({ "r": request }))
                .await;
            assert!(body["errors"].is_null(), "{body}");
        }
    }
}

/// Statements the server sent to answer one inbox poll of the police desk, and the rows seen.
/// A `me` just before makes the instance remember the desk's principal, so neither poll
/// pays for reading it (which one would otherwise depends on timing, not on the page).
async fn poll(server: &TestServer, desk: &str) -> (u64, usize, Value) {
    server.gql(Some(desk), "{ me { id } }", json!({})).await;
    let before = server.core.statements.get();
    let body = server.gql(Some(desk), INBOX, json!({})).await;
    let statements = server.core.statements.get() - before;
    let rows = body["data"]["informationRequests"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .len();
    (statements, rows, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbox_costs_the_same_statements_for_5_rows_as_for_100() {
    each_backend(|server| async move {
        let desk = server.login("police.mash").await;
        let (_, already, _) = poll(&server, &desk).await;
        add_requests(&server, 5usize.saturating_sub(already)).await;
        let (small, rows, body) = poll(&server, &desk).await;
        assert_eq!(rows, 5.max(already), "{body}");
        let answered = body["data"]["informationRequests"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| {
                e["node"]["disclosures"]
                    .as_array()
                    .is_some_and(|d| d.len() == 2)
            })
            .count();
        assert!(
            answered >= 2,
            "answered requests show their two disclosures: {body}"
        );

        add_requests(&server, 100 - rows).await;
        let (large, rows, body) = poll(&server, &desk).await;
        assert_eq!(rows, 100, "{body}");
        println!(
            "inbox statements on {:?}: {small} for 5 rows, {large} for 100 rows",
            server.backend
        );
        assert_eq!(
            large, small,
            "a 100-row page costs the same statements as a 5-row page"
        );
    })
    .await;
}

/// This instance's count of empty polls of the inbox, as `/metrics` reports it.
async fn empty_inbox_polls(server: &TestServer) -> u64 {
    let text = server.metrics_text().await;
    text.lines()
        .find(|l| l.starts_with("frontdoor_empty_polls_total{action=\"request.list\"}"))
        .and_then(|l| l.rsplit_once(' '))
        .map(|(_, n)| n.parse().unwrap())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_poll_is_counted_not_audited_and_a_page_with_children_is_audited() {
    each_backend(|server| async move {
        add_requests(&server, 1).await;
        let desk = server.login("police.mash").await;
        // A contact the police were never asked about: its requests, for the desk, are none.
        let school = server.login("school.referrer").await;
        let input = json!({
            "child": { "firstName": "Quiet", "lastName": "Pagefixture", "dateOfBirth": "2013-05-01", "gender": "FEMALE" },
            "concernCategories": ["21"],
            "narrative": "A concern raised under test.",
            "consent": { "position": "GIVEN", "givenBy": "Alex Pagefixture", "relationship": "father" },
        });
        let body = server
            .gql(Some(&school), SUBMIT, json!({ "input": input }))
            .await;
        let contact = body["data"]["submitContact"]["id"].as_str().unwrap().to_string();
        let empty = "query($c: ID) { informationRequests(contactId: $c) { totalCount edges { node { id } } } }";

        let audited = server.audit_count("request.list", "SUCCESS").await;
        let counted = empty_inbox_polls(&server).await;
        for _ in 0..3 {
            let body = server.gql(Some(&desk), empty, json!({ "c": contact })).await;
            assert_eq!(body["data"]["informationRequests"]["totalCount"], 0, "{body}");
        }
        assert_eq!(
            server.audit_count("request.list", "SUCCESS").await,
            audited,
            "an empty poll discloses nothing and writes no entry"
        );
        assert_eq!(empty_inbox_polls(&server).await, counted + 3);

        let (_, rows, _) = poll(&server, &desk).await;
        assert!(rows >= 1);
        assert_eq!(
            server.audit_count("request.list", "SUCCESS").await,
            audited + 1,
            "a page naming children is audited as before"
        );
        assert_eq!(empty_inbox_polls(&server).await, counted + 3);
    })
    .await;
}
