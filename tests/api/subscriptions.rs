//! Subscriptions over `/graphql/ws`: each event checked against the policy for its
//! subscriber, audited when the subscriber reads the record, delivered across instances on
//! one PostgreSQL, and caught up on with `since:` after a reconnect.
use std::time::{Duration, Instant};

use frontdoor_testkit::{each_backend, Received, Subscription, TestServer};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{json, Value};

const SUBMIT: &str =
    "mutation($input: SubmitContactInput!) { submitContact(input: $input) { id } }";
const SEND_RED: &str = "mutation($c: ID!, $a: ID!) { sendInformationRequest(input: { contactId: $c, toAgencyId: $a, questions: \"Is the child known to you?\", priority: RED }) { id } }";
const RESPOND: &str = "mutation($r: ID!) { respondToInformationRequest(requestId: $r, disclosures: [{ content: \"Two callouts to the address (fictional).\", category: \"household\", lawfulBasis: UK_GDPR_6_1_E_PUBLIC_TASK, handlingCode: P }]) { id disclosures { ... on Disclosure { id } } } }";
const DECIDE: &str = "mutation($c: ID!) { recordDecision(input: { contactId: $c, outcome: STEP_DOWN_TO_EARLY_HELP, thresholdLevel: 2, rationale: \"Family support will help.\" }) { id } }";
const RECEIVED: &str = "subscription { informationRequestReceived { cursor requestId request { id priority child { firstName } } } }";
const OUTCOMES: &str = "subscription { contactOutcome { cursor change contactId status } }";
const ACCESSED: &str =
    "subscription { disclosureAccessed { disclosureId readerAgency readerKind at } }";

const QUICK: Duration = Duration::from_secs(1);
const QUIET: Duration = Duration::from_millis(1500);

/// A contact about a fictional child, with consent to ask partners; returns its id.
async fn submit(server: &TestServer, base: &str, referrer: &str, first_name: &str) -> String {
    let token = server.login(referrer).await;
    let input = json!({
        "child": { "firstName": first_name, "lastName": "Eventfixture", "dateOfBirth": "2016-05-01", "gender": "FEMALE" },
        "concernCategories": ["21"],
        "narrative": "A concern raised under test.",
        "consent": { "position": "GIVEN", "givenBy": "Alex Eventfixture", "relationship": "mother" },
    });
    let body = frontdoor_testkit::Client::new(base)
        .gql(Some(&token), SUBMIT, json!({ "input": input }))
        .await;
    body["data"]["submitContact"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string()
}

/// Sends a RED request about `contact` to the police through the instance at `base`.
async fn send_red(server: &TestServer, base: &str, contact: &str) -> String {
    let worker = server.login("mash.social.worker").await;
    let police = server.agency_id("West Midlands Police").await;
    let body = frontdoor_testkit::Client::new(base)
        .gql(
            Some(&worker),
            SEND_RED,
            json!({ "c": contact, "a": police }),
        )
        .await;
    body["data"]["sendInformationRequest"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string()
}

fn next_data(received: Received) -> Value {
    match received {
        Received::Next(data) => data,
        other => panic!("expected an event, got {other:?}"),
    }
}

#[tokio::test]
async fn a_police_client_hears_of_a_red_request_sent_through_another_instance_and_the_health_desk_does_not(
) {
    each_backend(|server| async move {
        let instances = server.instances().await;
        let other = instances.bases.last().unwrap().clone();
        let police = server
            .client()
            .demo_client_token("police-case-system")
            .await;
        let health = server.login("health.mash").await;
        let mut police_feed = Subscription::start(&server.base, &police, RECEIVED).await;
        let mut health_feed = Subscription::start(&server.base, &health, RECEIVED).await;

        let contact = submit(&server, &other, "school.referrer", "Rowan").await;
        let sent = Instant::now();
        let request = send_red(&server, &other, &contact).await;
        let event = next_data(police_feed.next(QUICK).await);
        let elapsed = sent.elapsed();
        assert!(elapsed < QUICK, "delivered after {elapsed:?}");
        let event = &event["informationRequestReceived"];
        assert_eq!(event["requestId"], request);
        assert_eq!(event["request"]["priority"], "RED");
        assert_eq!(event["request"]["child"]["firstName"], "Rowan");
        assert!(event["cursor"].as_str().is_some_and(|c| !c.is_empty()));
        assert_eq!(health_feed.next(QUIET).await, Received::Nothing);

        // The client read the child's identity with the event: that read is in the trail.
        let reads = entity::audit_event::Entity::find()
            .filter(entity::audit_event::Column::Action.eq("request.read"))
            .filter(entity::audit_event::Column::ActorLabel.eq("police-case-system"))
            .count(server.db())
            .await
            .unwrap();
        assert_eq!(reads, 1, "the delivered event's read is audited once");
    })
    .await;
}

#[tokio::test]
async fn a_subscriber_without_a_valid_token_or_the_role_is_refused() {
    each_backend(|server| async move {
        let refused = Subscription::connect(&server.base, json!({})).await;
        assert!(
            matches!(refused, Err(Received::Closed(4403, _))),
            "{:?}",
            refused.err()
        );
        let refused =
            Subscription::connect(&server.base, json!({ "Authorization": "Bearer forged" })).await;
        assert!(
            matches!(refused, Err(Received::Closed(4403, _))),
            "{:?}",
            refused.err()
        );

        // A referrer is not a partner desk: the subscription itself is FORBIDDEN.
        let referrer = server.login("school.referrer").await;
        let mut feed = Subscription::start(&server.base, &referrer, RECEIVED).await;
        match feed.next(QUICK).await {
            Received::Error(errors) => {
                assert_eq!(errors[0]["extensions"]["code"], "FORBIDDEN", "{errors}")
            }
            other => panic!("expected FORBIDDEN, got {other:?}"),
        }
        // MASH staff may not listen to partners' inboxes either.
        let worker = server.login("mash.social.worker").await;
        let mut feed = Subscription::start(&server.base, &worker, ACCESSED).await;
        assert!(matches!(feed.next(QUICK).await, Received::Error(_)));
    })
    .await;
}

#[tokio::test]
async fn a_deactivated_subscriber_is_disconnected_within_seconds() {
    each_backend(|server| async move {
        let desk = server.login("police.mash").await;
        let mut feed = Subscription::start(&server.base, &desk, RECEIVED).await;
        let admin = server.login("admin").await;
        let me = server.gql(Some(&desk), "{ me { id } }", json!({})).await;
        let body = server
            .gql(
                Some(&admin),
                "mutation($u: ID!) { deactivateUser(userId: $u) { active } }",
                json!({ "u": me["data"]["me"]["id"] }),
            )
            .await;
        assert_eq!(body["data"]["deactivateUser"]["active"], false, "{body}");
        let deactivated = Instant::now();
        match feed.next(Duration::from_secs(5)).await {
            Received::Closed(code, reason) => {
                assert_eq!(code, 4401, "{reason}");
                assert!(reason.contains("sign in again"), "{reason}");
            }
            other => panic!("still connected after 5 s: {other:?}"),
        }
        assert!(deactivated.elapsed() < Duration::from_secs(5));
    })
    .await;
}

#[tokio::test]
async fn a_referrer_hears_the_outcome_of_its_own_contacts_and_never_another_agencys() {
    each_backend(|server| async move {
        let school = server.login("school.referrer").await;
        let police = server.login("police.referrer").await;
        let mut school_feed = Subscription::start(&server.base, &school, OUTCOMES).await;
        let mut police_feed = Subscription::start(&server.base, &police, OUTCOMES).await;
        let ours = submit(&server, &server.base, "school.referrer", "Ash").await;
        let theirs = submit(&server, &server.base, "police.referrer", "Birch").await;
        let manager = server.login("mash.manager").await;
        for contact in [&theirs, &ours] {
            let body = server
                .gql(Some(&manager), DECIDE, json!({ "c": contact }))
                .await;
            assert!(body["errors"].is_null(), "{body}");
        }
        let event = next_data(school_feed.next(QUICK).await);
        assert_eq!(event["contactOutcome"]["contactId"], ours.as_str());
        assert_eq!(event["contactOutcome"]["change"], "DECIDED");
        assert_eq!(event["contactOutcome"]["status"], "DECIDED");
        assert_eq!(school_feed.next(QUIET).await, Received::Nothing);
        let event = next_data(police_feed.next(QUICK).await);
        assert_eq!(event["contactOutcome"]["contactId"], theirs.as_str());
        assert_eq!(police_feed.next(QUIET).await, Received::Nothing);
    })
    .await;
}

#[tokio::test]
async fn the_police_desk_hears_when_the_mash_reads_a_police_disclosure() {
    each_backend(|server| async move {
        let desk = server.login("police.mash").await;
        let health = server.login("health.mash").await;
        let contact = submit(&server, &server.base, "school.referrer", "Cedar").await;
        let request = send_red(&server, &server.base, &contact).await;
        let body = server.gql(Some(&desk), RESPOND, json!({ "r": request })).await;
        let disclosure = body["data"]["respondToInformationRequest"]["disclosures"][0]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .to_string();
        let mut desk_feed = Subscription::start(&server.base, &desk, ACCESSED).await;
        let mut health_feed = Subscription::start(&server.base, &health, ACCESSED).await;

        // The desk reading its own disclosure is not news to it.
        server
            .gql(Some(&desk), "query($r: ID!) { informationRequest(id: $r) { disclosures { ... on Disclosure { content } } } }", json!({ "r": request }))
            .await;
        assert_eq!(desk_feed.next(QUIET).await, Received::Nothing);

        let worker = server.login("mash.social.worker").await;
        let body = server
            .gql(Some(&worker), "query($c: ID!) { contact(id: $c) { disclosures { ... on Disclosure { content } } } }", json!({ "c": contact }))
            .await;
        assert!(body["errors"].is_null(), "{body}");
        let event = next_data(desk_feed.next(QUICK).await);
        let event = &event["disclosureAccessed"];
        assert_eq!(event["disclosureId"], disclosure.as_str());
        assert_eq!(event["readerKind"], "USER");
        assert!(event["readerAgency"].as_str().is_some_and(|a| !a.is_empty()));
        assert_eq!(health_feed.next(QUIET).await, Received::Nothing);
    })
    .await;
}

#[tokio::test]
async fn reconnecting_with_since_returns_exactly_the_requests_missed() {
    each_backend(|server| async move {
        let desk = server.login("police.mash").await;
        let mut feed = Subscription::start(&server.base, &desk, RECEIVED).await;
        let first = submit(&server, &server.base, "school.referrer", "Elm").await;
        send_red(&server, &server.base, &first).await;
        let event = next_data(feed.next(QUICK).await);
        let cursor = event["informationRequestReceived"]["cursor"]
            .as_str()
            .unwrap()
            .to_string();
        feed.close().await;

        // While the desk is away: two requests to the police, one decision elsewhere.
        let mut missed = Vec::new();
        for name in ["Fir", "Hazel"] {
            let contact = submit(&server, &server.base, "school.referrer", name).await;
            missed.push(send_red(&server, &server.base, &contact).await);
        }
        let body = server
            .gql(
                Some(&desk),
                "query($s: String!) { informationRequests(since: $s) { totalCount edges { node { id } } } }",
                json!({ "s": cursor }),
            )
            .await;
        let mut caught_up: Vec<String> = body["data"]["informationRequests"]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|e| e["node"]["id"].as_str().unwrap().to_string())
            .collect();
        caught_up.sort();
        missed.sort();
        assert_eq!(caught_up, missed);

        let body = server
            .gql(
                Some(&desk),
                "{ informationRequests(since: \"not-a-cursor\") { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        assert_eq!(body["errors"][0]["extensions"]["field"], "since");
    })
    .await;
}

#[tokio::test]
async fn mash_staff_hear_of_answers_and_of_the_queue_and_catch_up_on_the_queue() {
    each_backend(|server| async move {
        let worker = server.login("mash.social.worker").await;
        let mut answers = Subscription::start(
            &server.base,
            &worker,
            "subscription { informationRequestAnswered { requestId request { status } } }",
        )
        .await;
        let mut queue = Subscription::start(
            &server.base,
            &worker,
            "subscription { contactQueueChanged { cursor change contactId status } }",
        )
        .await;
        let contact = submit(&server, &server.base, "school.referrer", "Juniper").await;
        let arrived = next_data(queue.next(QUICK).await);
        let arrived = &arrived["contactQueueChanged"];
        assert_eq!(arrived["contactId"], contact.as_str());
        assert_eq!(arrived["change"], "ARRIVED");
        let cursor = arrived["cursor"].as_str().unwrap().to_string();

        let request = send_red(&server, &server.base, &contact).await;
        let desk = server.login("police.mash").await;
        let body = server
            .gql(Some(&desk), RESPOND, json!({ "r": request }))
            .await;
        assert!(body["errors"].is_null(), "{body}");
        let answered = next_data(answers.next(QUICK).await);
        assert_eq!(
            answered["informationRequestAnswered"]["requestId"],
            request.as_str()
        );
        assert_eq!(
            answered["informationRequestAnswered"]["request"]["status"],
            "RESPONDED"
        );

        let manager = server.login("mash.manager").await;
        let body = server
            .gql(Some(&manager), DECIDE, json!({ "c": contact }))
            .await;
        assert!(body["errors"].is_null(), "{body}");
        let decided = next_data(queue.next(QUICK).await);
        assert_eq!(decided["contactQueueChanged"]["change"], "DECIDED");
        assert_eq!(decided["contactQueueChanged"]["status"], "DECIDED");

        // Since the first event: the decided contact and one that arrived later, once each.
        let later = submit(&server, &server.base, "police.referrer", "Larch").await;
        let body = server
            .gql(
                Some(&worker),
                "query($s: String!) { contacts(since: $s) { totalCount edges { node { id } } } }",
                json!({ "s": cursor }),
            )
            .await;
        let mut caught_up: Vec<&str> = body["data"]["contacts"]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|e| e["node"]["id"].as_str().unwrap())
            .collect();
        caught_up.sort();
        let mut expected = vec![contact.as_str(), later.as_str()];
        expected.sort();
        assert_eq!(caught_up, expected);
        assert_eq!(body["data"]["contacts"]["totalCount"], 2);
    })
    .await;
}
