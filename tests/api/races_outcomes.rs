//! Two people at once on the outcome chain, missing children and early help: each state
//! change has exactly one winner. Each race sends N calls at the same moment through real
//! HTTP (on PostgreSQL spread over this test's server and a second server process on the same
//! database) and checks that one succeeded, the rest got CONFLICT naming the record, the audit
//! trail holds one SUCCESS and one CONFLICT per loser and nothing else, and the record read
//! back through the API is the winner's.

use entity::{audit_event, child_protection_conference, early_help_episode};
use frontdoor_testkit::{
    at_once, each_backend, error_code, error_field, one_winner, Call, TestServer,
};
use serde_json::{json, Value};

/// Concurrent callers in every race.
const N: usize = 6;

const CHAIN: &str = "id outcome assessments { id authorisedAt outcome }
    strategyDiscussions { id section47 { id outcome completedAt conference { id heldAt } } }";
const S47_OUTCOME: &str = "mutation($input: RecordSection47OutcomeInput!) { recordSection47Outcome(input: $input) { id } }";
const CONFERENCE: &str =
    "mutation($input: RecordConferenceInput!) { recordConference(input: $input) { id } }";
const UPDATE_ASSESSMENT: &str =
    "mutation($input: UpdateAssessmentInput!) { updateAssessment(input: $input) { id } }";
const UPDATE_REFERRAL: &str =
    "mutation($input: UpdateReferralInput!) { updateReferral(input: $input) { id outcome } }";
const REQUEST_EARLY_HELP: &str =
    "mutation($input: RequestEarlyHelpInput!) { requestEarlyHelp(input: $input) { id } }";
const UPDATE_EARLY_HELP: &str = "mutation($input: UpdateEarlyHelpEpisodeInput!) { updateEarlyHelpEpisode(input: $input) { id screeningOutcome } }";
const REPORT: &str =
    "mutation($input: MissingEpisodeInput!) { reportMissingEpisode(input: $input) { id } }";
const RETURN: &str = "mutation($e: ID!, $at: DateTime!) { recordReturn(episodeId: $e, returnedAt: $at) { id returnedAt } }";
const INTERVIEW: &str = "mutation($input: ReturnHomeInterviewInput!) { recordReturnHomeInterview(input: $input) { id } }";

fn ok<'a>(body: &'a Value, field: &str) -> &'a Value {
    assert!(body["errors"].is_null(), "{field}: {body}");
    &body["data"][field]
}

/// The MASH staff who race each other, signed in once.
struct Staff {
    tokens: Vec<String>,
}

impl Staff {
    async fn new(server: &TestServer) -> Staff {
        let mut tokens = Vec::new();
        for user in ["mash.manager", "mash.social.worker", "mash.manager2"] {
            tokens.push(server.login(user).await);
        }
        Staff { tokens }
    }

    fn any(&self) -> &str {
        &self.tokens[0]
    }

    /// The n-th caller's token.
    fn nth(&self, n: usize) -> &str {
        &self.tokens[n % self.tokens.len()]
    }
}

/// A police contact on 1 September 2025, decided `outcome` the same day; its id.
async fn decided_contact(server: &TestServer, staff: &Staff, outcome: &str) -> String {
    let police = server.login("police.referrer").await;
    let body = server
        .gql(
            Some(&police),
            "mutation($input: SubmitContactInput!) { submitContact(input: $input) { id } }",
            json!({ "input": {
                "child": { "firstName": "Quinn", "lastName": "Racechain", "dateOfBirth": "2013-03-01", "gender": "FEMALE" },
                "concernCategories": ["21"], "narrative": "Seen alone late at night (fictional).",
                "consent": { "position": "REFUSED" }, "occurredAt": "2025-09-01T09:00:00Z" } }),
        )
        .await;
    let contact = ok(&body, "submitContact")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = server
        .gql(
            Some(staff.any()),
            "mutation($c: ID!, $o: ContactOutcome!) { recordDecision(input: { contactId: $c, outcome: $o, thresholdLevel: 4, rationale: \"Decided under test.\", occurredAt: \"2025-09-01T12:00:00Z\" }) { id } }",
            json!({ "c": contact, "o": outcome }),
        )
        .await;
    ok(&body, "recordDecision");
    contact
}

/// The referral a referring decision opened.
async fn referral(server: &TestServer, staff: &Staff) -> String {
    let contact = decided_contact(server, staff, "REFERRAL_FOR_ASSESSMENT").await;
    let body = server
        .gql(
            Some(staff.any()),
            "query($c: ID!) { referrals(contactId: $c) { edges { node { id } } } }",
            json!({ "c": contact }),
        )
        .await;
    ok(&body, "referrals")["edges"][0]["node"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string()
}

async fn read_referral(server: &TestServer, staff: &Staff, id: &str) -> Value {
    let body = server
        .gql(
            Some(staff.any()),
            &format!("query($id: ID!) {{ referral(id: $id) {{ {CHAIN} }} }}"),
            json!({ "id": id }),
        )
        .await;
    ok(&body, "referral").clone()
}

/// A referral with a section 47 enquiry opened by a strategy discussion on 3 September.
async fn section47(server: &TestServer, staff: &Staff) -> (String, String) {
    let referral = referral(server, staff).await;
    let police = server.agency_id("West Midlands Police").await;
    let body = server
        .gql(
            Some(staff.any()),
            "mutation($input: RecordStrategyDiscussionInput!) { recordStrategyDiscussion(input: $input) { strategyDiscussions { section47 { id } } } }",
            json!({ "input": { "referralId": referral, "heldAt": "2025-09-03T10:00:00Z", "agenciesPresent": [police], "section47Started": true } }),
        )
        .await;
    let id = ok(&body, "recordStrategyDiscussion")["strategyDiscussions"][0]["section47"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    (referral, id)
}

/// The audit trail's size, to show a race wrote its entries and nothing else.
async fn audit_total(server: &TestServer) -> u64 {
    server.count(audit_event::Entity).await
}

/// Runs a race of `calls` on `action` and checks its trail: one SUCCESS, a CONFLICT for
/// each loser, and nothing else. Returns every body and the winner's.
async fn race(server: &TestServer, action: &str, calls: Vec<Call>) -> (Vec<Value>, Value) {
    let instances = server.instances().await;
    let n = calls.len() as u64;
    let (success, conflict, total) = (
        server.audit_count(action, "SUCCESS").await,
        server.audit_count(action, "CONFLICT").await,
        audit_total(server).await,
    );
    let bodies = at_once(&instances, calls).await;
    let winner = one_winner(&bodies);
    assert_eq!(
        server.audit_count(action, "SUCCESS").await,
        success + 1,
        "one {action} success: {bodies:#?}"
    );
    assert_eq!(
        server.audit_count(action, "CONFLICT").await,
        conflict + n - 1,
        "each loser's refusal: {bodies:#?}"
    );
    assert_eq!(
        audit_total(server).await,
        total + n,
        "the losers wrote nothing else"
    );
    (bodies, winner)
}

/// Every loser's CONFLICT names `field`.
fn losers_name(bodies: &[Value], field: &str) {
    for body in bodies.iter().filter(|b| !b["errors"].is_null()) {
        assert_eq!(error_field(body), Some(field), "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_section47_outcomes_have_one_winner() {
    each_backend(|server| async move {
        let staff = Staff::new(&server).await;
        let (referral, s47) = section47(&server, &staff).await;
        let outcomes = ["NO_FURTHER_ACTION", "PROVISION_OF_SERVICES", "OTHER_AGENCY_TO_MONITOR"];
        let calls = (0..N)
            .map(|n| {
                let input = json!({ "section47Id": s47, "outcome": outcomes[n % 3], "completedAt": format!("2025-09-1{}T10:00:00Z", n) });
                Call::new(staff.nth(n), S47_OUTCOME, json!({ "input": input }))
            })
            .collect();
        let (bodies, _) = race(&server, "section47.outcome", calls).await;
        losers_name(&bodies, "section47Id");
        let winner = bodies.iter().position(|b| b["errors"].is_null()).unwrap();
        let read = read_referral(&server, &staff, &referral).await;
        let enquiry = &read["strategyDiscussions"][0]["section47"];
        assert_eq!(enquiry["outcome"], outcomes[winner % 3], "{read}");
        assert_eq!(enquiry["completedAt"], format!("2025-09-1{winner}T10:00:00+00:00"), "{read}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_section47_outcome_and_a_conference_have_one_winner() {
    each_backend(|server| async move {
        let staff = Staff::new(&server).await;
        for round in 0..2 {
            let (referral, s47) = section47(&server, &staff).await;
            let calls = (0..N)
                .map(|n| {
                    if n % 2 == round {
                        let input = json!({ "section47Id": s47, "outcome": "NO_FURTHER_ACTION", "completedAt": "2025-09-10T10:00:00Z" });
                        Call::new(staff.nth(n), S47_OUTCOME, json!({ "input": input }))
                    } else {
                        let input = json!({ "section47Id": s47, "heldAt": "2025-09-12T10:00:00Z", "planMade": true });
                        Call::new(staff.nth(n), CONFERENCE, json!({ "input": input }))
                    }
                })
                .collect();
            let before = server.count(child_protection_conference::Entity).await;
            let instances = server.instances().await;
            let total = audit_total(&server).await;
            let bodies = at_once(&instances, calls).await;
            let winner = one_winner(&bodies);
            losers_name(&bodies, "section47Id");
            let conference_won = !winner["data"]["recordConference"].is_null();
            let successes = server.audit_count("section47.outcome", "SUCCESS").await
                + server.audit_count("conference.record", "SUCCESS").await;
            assert_eq!(successes, round as u64 + 1, "round {round}: one success in all: {bodies:#?}");
            assert_eq!(audit_total(&server).await, total + N as u64, "round {round}: one entry per call");
            // Annex A list 5 cannot contradict itself: a conference and only its outcome, or
            // the outcome and no conference.
            let read = read_referral(&server, &staff, &referral).await;
            let enquiry = &read["strategyDiscussions"][0]["section47"];
            if conference_won {
                assert_eq!(enquiry["outcome"], "INITIAL_CHILD_PROTECTION_CONFERENCE", "{read}");
                assert_eq!(enquiry["conference"]["heldAt"], "2025-09-12T10:00:00+00:00", "{read}");
                assert_eq!(server.count(child_protection_conference::Entity).await, before + 1);
            } else {
                assert_eq!(enquiry["outcome"], "NO_FURTHER_ACTION", "{read}");
                assert!(enquiry["conference"].is_null(), "{read}");
                assert_eq!(server.count(child_protection_conference::Entity).await, before);
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_conferences_have_one_winner() {
    each_backend(|server| async move {
        let staff = Staff::new(&server).await;
        let (referral, s47) = section47(&server, &staff).await;
        let calls = (0..N)
            .map(|n| {
                let input = json!({ "section47Id": s47, "heldAt": format!("2025-09-1{n}T10:00:00Z"), "planMade": n % 2 == 0 });
                Call::new(staff.nth(n), CONFERENCE, json!({ "input": input }))
            })
            .collect();
        let (bodies, _) = race(&server, "conference.record", calls).await;
        losers_name(&bodies, "section47Id");
        let winner = bodies.iter().position(|b| b["errors"].is_null()).unwrap();
        let read = read_referral(&server, &staff, &referral).await;
        let conference = &read["strategyDiscussions"][0]["section47"]["conference"];
        assert_eq!(conference["heldAt"], format!("2025-09-1{winner}T10:00:00+00:00"), "{read}");
        assert_eq!(server.count(child_protection_conference::Entity).await, 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_assessment_authorisations_have_one_winner() {
    each_backend(|server| async move {
        let staff = Staff::new(&server).await;
        let referral = referral(&server, &staff).await;
        let body = server
            .gql(
                Some(staff.any()),
                "mutation($input: StartAssessmentInput!) { startAssessment(input: $input) { assessments { id } } }",
                json!({ "input": { "referralId": referral, "startedAt": "2025-09-02T09:00:00Z" } }),
            )
            .await;
        let assessment = ok(&body, "startAssessment")["assessments"][0]["id"].clone();
        let outcomes = ["NO_FURTHER_ACTION", "STRATEGY_DISCUSSION", "STEP_DOWN_TO_EARLY_HELP"];
        let calls = (0..N)
            .map(|n| {
                let input = json!({ "assessmentId": assessment, "authorisedAt": format!("2025-10-0{}T16:00:00Z", n + 1), "outcome": outcomes[n % 3] });
                Call::new(staff.nth(n), UPDATE_ASSESSMENT, json!({ "input": input }))
            })
            .collect();
        let (bodies, _) = race(&server, "assessment.update", calls).await;
        losers_name(&bodies, "assessmentId");
        let winner = bodies.iter().position(|b| b["errors"].is_null()).unwrap();
        let read = read_referral(&server, &staff, &referral).await;
        let a = &read["assessments"][0];
        assert_eq!(a["outcome"], outcomes[winner % 3], "{read}");
        assert_eq!(a["authorisedAt"], format!("2025-10-0{}T16:00:00+00:00", winner + 1), "{read}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_referral_outcomes_have_one_winner() {
    each_backend(|server| async move {
        let staff = Staff::new(&server).await;
        let referral = referral(&server, &staff).await;
        let outcomes = [
            "NO_FURTHER_ACTION",
            "ASSESSMENT_REQUIRED",
            "ADVICE_AND_SIGNPOSTING",
        ];
        let calls = (0..N)
            .map(|n| {
                let input = json!({ "referralId": referral, "outcome": outcomes[n % 3] });
                Call::new(staff.nth(n), UPDATE_REFERRAL, json!({ "input": input }))
            })
            .collect();
        let (bodies, winner) = race(&server, "referral.update", calls).await;
        losers_name(&bodies, "referralId");
        let read = read_referral(&server, &staff, &referral).await;
        assert_eq!(
            read["outcome"], winner["data"]["updateReferral"]["outcome"],
            "{read}"
        );
    })
    .await;
}

async fn early_help_episodes(server: &TestServer, staff: &Staff) -> Vec<Value> {
    let body = server
        .gql(
            Some(staff.any()),
            "{ earlyHelpEpisodes(first: 100) { edges { node { id contactId screenedAt screeningOutcome } } } }",
            json!({}),
        )
        .await;
    ok(&body, "earlyHelpEpisodes")["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_step_downs_of_one_contact_have_one_winner() {
    each_backend(|server| async move {
        let staff = Staff::new(&server).await;
        let hub = server.agency_id("Walsall Early Help Hub").await;
        let contact = decided_contact(&server, &staff, "STEP_DOWN_TO_EARLY_HELP").await;
        let calls = (0..N)
            .map(|n| {
                let input = json!({ "contactId": contact, "agencyId": hub, "requestedAt": format!("2025-09-0{}T09:00:00Z", n + 2) });
                Call::new(staff.nth(n), REQUEST_EARLY_HELP, json!({ "input": input }))
            })
            .collect();
        let (bodies, winner) = race(&server, "early_help.request", calls).await;
        losers_name(&bodies, "contactId");
        assert_eq!(server.count(early_help_episode::Entity).await, 1);
        let episodes = early_help_episodes(&server, &staff).await;
        assert_eq!(episodes.len(), 1, "{episodes:?}");
        assert_eq!(episodes[0]["id"], winner["data"]["requestEarlyHelp"]["id"]);
        assert_eq!(episodes[0]["contactId"], contact.as_str());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_early_help_screenings_have_one_winner() {
    each_backend(|server| async move {
        let staff = Staff::new(&server).await;
        let desk = server.login("earlyhelp.mash").await;
        let hub = server.agency_id("Walsall Early Help Hub").await;
        let contact = decided_contact(&server, &staff, "STEP_DOWN_TO_EARLY_HELP").await;
        let body = server
            .gql(
                Some(staff.any()),
                REQUEST_EARLY_HELP,
                json!({ "input": { "contactId": contact, "agencyId": hub, "requestedAt": "2025-09-02T09:00:00Z" } }),
            )
            .await;
        let episode = ok(&body, "requestEarlyHelp")["id"].as_str().unwrap().to_string();
        let outcomes = ["EARLY_HELP_ASSESSMENT", "SIGNPOSTED", "NO_FURTHER_ACTION"];
        let calls = (0..N)
            .map(|n| {
                let input = json!({ "episodeId": episode, "screenedAt": format!("2025-09-0{}T09:00:00Z", n + 3), "screeningOutcome": outcomes[n % 3] });
                // The hub's desk and the MASH both record screening.
                let token = if n % 2 == 0 { desk.as_str() } else { staff.nth(n) };
                Call::new(token, UPDATE_EARLY_HELP, json!({ "input": input }))
            })
            .collect();
        let (bodies, _) = race(&server, "early_help.update", calls).await;
        losers_name(&bodies, "episodeId");
        let winner = bodies.iter().position(|b| b["errors"].is_null()).unwrap();
        let episodes = early_help_episodes(&server, &staff).await;
        assert_eq!(episodes[0]["screeningOutcome"], outcomes[winner % 3], "{episodes:?}");
        assert_eq!(episodes[0]["screenedAt"], format!("2025-09-0{}T09:00:00+00:00", winner + 3));
    })
    .await;
}

/// A police report of a child missing on 1 September 2025, returned or not; its id.
async fn missing_episode(server: &TestServer, police: &str, returned: Option<&str>) -> String {
    let body = server
        .gql(
            Some(police),
            REPORT,
            json!({ "input": {
                "child": { "firstName": "Remy", "lastName": "Racemissing", "dateOfBirth": "2011-04-04", "gender": "MALE" },
                "reportedMissingAt": "2025-09-01T08:00:00Z", "riskGrade": "HIGH",
                "laNotifiedAt": "2025-09-01T10:00:00Z", "returnedAt": returned } }),
        )
        .await;
    ok(&body, "reportMissingEpisode")["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn read_episode(server: &TestServer, staff: &Staff, id: &str) -> Value {
    let body = server
        .gql(
            Some(staff.any()),
            "{ missingEpisodes(first: 100) { edges { node { id returnedAt returnHomeInterview { dueAt outcome completedAt notOfferedReason } } } } }",
            json!({}),
        )
        .await;
    ok(&body, "missingEpisodes")["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .find(|n| n["id"] == id)
        .unwrap_or_else(|| panic!("{body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_recorded_twice_has_one_winner() {
    each_backend(|server| async move {
        let staff = Staff::new(&server).await;
        let police = server.login("police.mash").await;
        let episode = missing_episode(&server, &police, None).await;
        let calls = (0..N)
            .map(|n| {
                let at = format!("2025-09-0{}T10:00:00Z", n + 2);
                Call::new(&police, RETURN, json!({ "e": episode, "at": at }))
            })
            .collect();
        let (bodies, _) = race(&server, "missing.return", calls).await;
        losers_name(&bodies, "episodeId");
        let winner = bodies.iter().position(|b| b["errors"].is_null()).unwrap();
        // The interview falls due 72 hours after the winner's return, and only that one.
        let read = read_episode(&server, &staff, &episode).await;
        assert_eq!(
            read["returnedAt"],
            format!("2025-09-0{}T10:00:00+00:00", winner + 2),
            "{read}"
        );
        assert_eq!(
            read["returnHomeInterview"]["dueAt"],
            format!("2025-09-{:02}T10:00:00+00:00", winner + 5),
            "{read}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_interview_outcomes_have_one_winner() {
    each_backend(|server| async move {
        let staff = Staff::new(&server).await;
        let police = server.login("police.mash").await;
        let episode = missing_episode(&server, &police, Some("2025-09-02T10:00:00Z")).await;
        let calls = (0..N)
            .map(|n| {
                let input = if n % 2 == 0 {
                    json!({ "episodeId": episode, "outcome": "COMPLETED", "completedAt": format!("2025-09-0{}T1{n}:00:00Z", 3 + n / 4) })
                } else {
                    json!({ "episodeId": episode, "outcome": "NOT_OFFERED", "notOfferedReason": "IN_CUSTODY" })
                };
                Call::new(staff.nth(n), INTERVIEW, json!({ "input": input }))
            })
            .collect();
        let (bodies, _) = race(&server, "missing.interview", calls).await;
        losers_name(&bodies, "episodeId");
        let winner = bodies.iter().position(|b| b["errors"].is_null()).unwrap();
        let interview = &read_episode(&server, &staff, &episode).await["returnHomeInterview"];
        if winner % 2 == 0 {
            assert_eq!(interview["outcome"], "COMPLETED", "{interview}");
            assert_eq!(interview["completedAt"], format!("2025-09-0{}T1{winner}:00:00+00:00", 3 + winner / 4));
            assert!(interview["notOfferedReason"].is_null(), "{interview}");
        } else {
            assert_eq!(interview["outcome"], "NOT_OFFERED", "{interview}");
            assert!(interview["completedAt"].is_null(), "{interview}");
            assert_eq!(interview["notOfferedReason"], "IN_CUSTODY");
        }
    })
    .await;
}

// Transitions that make no sense are refused (no race needed).

fn conflict_on(body: &Value, field: &str) {
    assert_eq!(
        (error_code(body), error_field(body)),
        (Some("CONFLICT"), Some(field)),
        "{body}"
    );
}

/// The detail of the newest SUCCESS entry of `action`.
async fn last_detail(server: &TestServer, action: &str) -> Value {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let entry = audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq(action))
        .filter(audit_event::Column::Outcome.eq("SUCCESS"))
        .order_by_desc(audit_event::Column::Id)
        .one(server.db())
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no {action} entry"));
    serde_json::from_str(entry.detail.as_deref().unwrap_or("null")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_section47_outcome_and_its_conference_never_contradict() {
    each_backend(|server| async move {
        let staff = Staff::new(&server).await;
        let (referral, s47) = section47(&server, &staff).await;
        let outcome = |outcome: &str, correction: bool| {
            json!({ "input": { "section47Id": s47, "outcome": outcome, "completedAt": "2025-09-10T10:00:00Z", "correction": correction } })
        };
        // After the conference its outcome stands, even as a correction.
        let conference = json!({ "input": { "section47Id": s47, "heldAt": "2025-09-12T10:00:00Z", "planMade": true } });
        ok(&server.gql(Some(staff.any()), CONFERENCE, conference).await, "recordConference");
        let refused = server.audit_count("section47.outcome", "CONFLICT").await;
        for correction in [false, true] {
            let body = server.gql(Some(staff.any()), S47_OUTCOME, outcome("NO_FURTHER_ACTION", correction)).await;
            conflict_on(&body, "section47Id");
        }
        assert_eq!(server.audit_count("section47.outcome", "CONFLICT").await, refused + 2, "each refusal audited");
        let read = read_referral(&server, &staff, &referral).await;
        assert_eq!(read["strategyDiscussions"][0]["section47"]["outcome"], "INITIAL_CHILD_PROTECTION_CONFERENCE", "{read}");

        // After another outcome: no conference; a second outcome only as a correction.
        let (referral, s47) = section47(&server, &staff).await;
        let outcome = |outcome: &str, correction: bool| {
            json!({ "input": { "section47Id": s47, "outcome": outcome, "completedAt": "2025-09-10T10:00:00Z", "correction": correction } })
        };
        ok(&server.gql(Some(staff.any()), S47_OUTCOME, outcome("NO_FURTHER_ACTION", false)).await, "recordSection47Outcome");
        assert_eq!(last_detail(&server, "section47.outcome").await, json!({ "outcome": "NO_FURTHER_ACTION", "correction": false }));
        let conference = json!({ "input": { "section47Id": s47, "heldAt": "2025-09-12T10:00:00Z", "planMade": true } });
        conflict_on(&server.gql(Some(staff.any()), CONFERENCE, conference.clone()).await, "section47Id");
        conflict_on(&server.gql(Some(staff.any()), S47_OUTCOME, outcome("PROVISION_OF_SERVICES", false)).await, "section47Id");
        ok(&server.gql(Some(staff.any()), S47_OUTCOME, outcome("PROVISION_OF_SERVICES", true)).await, "recordSection47Outcome");
        assert_eq!(
            last_detail(&server, "section47.outcome").await,
            json!({ "outcome": "PROVISION_OF_SERVICES", "correction": true, "replaced": "NO_FURTHER_ACTION" })
        );
        conflict_on(&server.gql(Some(staff.any()), CONFERENCE, conference).await, "section47Id");
        let read = read_referral(&server, &staff, &referral).await;
        let enquiry = &read["strategyDiscussions"][0]["section47"];
        assert_eq!(enquiry["outcome"], "PROVISION_OF_SERVICES", "{read}");
        assert!(enquiry["conference"].is_null(), "{read}");
        assert_eq!(server.count(child_protection_conference::Entity).await, 1, "only the first enquiry's");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authorised_assessment_is_signed_off() {
    each_backend(|server| async move {
        let staff = Staff::new(&server).await;
        let referral = referral(&server, &staff).await;
        let body = server
            .gql(
                Some(staff.any()),
                "mutation($input: StartAssessmentInput!) { startAssessment(input: $input) { assessments { id } } }",
                json!({ "input": { "referralId": referral, "startedAt": "2025-09-02T09:00:00Z" } }),
            )
            .await;
        let assessment = ok(&body, "startAssessment")["assessments"][0]["id"].clone();
        let update = |input: Value| {
            let mut input = input;
            input["assessmentId"] = assessment.clone();
            json!({ "input": input })
        };
        // A working outcome may change until the authorisation.
        ok(&server.gql(Some(staff.any()), UPDATE_ASSESSMENT, update(json!({ "outcome": "OTHER" }))).await, "updateAssessment");
        let authorise = update(json!({ "authorisedAt": "2025-10-01T16:00:00Z", "outcome": "NO_FURTHER_ACTION" }));
        ok(&server.gql(Some(staff.any()), UPDATE_ASSESSMENT, authorise.clone()).await, "updateAssessment");
        conflict_on(&server.gql(Some(staff.any()), UPDATE_ASSESSMENT, authorise).await, "assessmentId");
        let reopen = update(json!({ "outcome": "STRATEGY_DISCUSSION" }));
        conflict_on(&server.gql(Some(staff.any()), UPDATE_ASSESSMENT, reopen).await, "assessmentId");
        assert_eq!(server.audit_count("assessment.update", "CONFLICT").await, 2);
        // Who holds it, and when the child was seen, are still recorded.
        let late = update(json!({ "childSeenAt": "2025-09-05T10:00:00Z", "allocatedWorker": "Jo Example" }));
        ok(&server.gql(Some(staff.any()), UPDATE_ASSESSMENT, late).await, "updateAssessment");
        let a = &read_referral(&server, &staff, &referral).await["assessments"][0];
        assert_eq!((a["outcome"].as_str(), a["authorisedAt"].as_str()), (Some("NO_FURTHER_ACTION"), Some("2025-10-01T16:00:00+00:00")), "{a}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_referral_outcome_is_recorded_once_then_corrected() {
    each_backend(|server| async move {
        let staff = Staff::new(&server).await;
        let referral = referral(&server, &staff).await;
        let update = |input: Value| {
            let mut input = input;
            input["referralId"] = json!(referral);
            json!({ "input": input })
        };
        ok(&server.gql(Some(staff.any()), UPDATE_REFERRAL, update(json!({ "outcome": "ASSESSMENT_REQUIRED" }))).await, "updateReferral");
        conflict_on(&server.gql(Some(staff.any()), UPDATE_REFERRAL, update(json!({ "outcome": "NO_FURTHER_ACTION" }))).await, "referralId");
        ok(&server.gql(Some(staff.any()), UPDATE_REFERRAL, update(json!({ "allocatedTeam": "Initial Response" }))).await, "updateReferral");
        let body = server.gql(Some(staff.any()), UPDATE_REFERRAL, update(json!({ "outcome": "NO_FURTHER_ACTION", "correction": true }))).await;
        assert_eq!(ok(&body, "updateReferral")["outcome"], "NO_FURTHER_ACTION");
        assert_eq!(
            last_detail(&server, "referral.update").await,
            json!({ "outcome": "NO_FURTHER_ACTION", "correction": true, "replaced": "ASSESSMENT_REQUIRED" })
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_home_interview_is_recorded_once_then_corrected() {
    each_backend(|server| async move {
        let staff = Staff::new(&server).await;
        let police = server.login("police.mash").await;
        let episode = missing_episode(&server, &police, None).await;
        let record = |input: Value| {
            let mut input = input;
            input["episodeId"] = json!(episode);
            json!({ "input": input })
        };
        let completed = record(json!({ "outcome": "COMPLETED", "completedAt": "2025-09-03T10:00:00Z" }));
        conflict_on(&server.gql(Some(staff.any()), INTERVIEW, completed.clone()).await, "episodeId");
        // A second return is refused; the first stands.
        let body = server.gql(Some(&police), RETURN, json!({ "e": episode, "at": "2025-09-02T10:00:00Z" })).await;
        ok(&body, "recordReturn");
        conflict_on(&server.gql(Some(&police), RETURN, json!({ "e": episode, "at": "2025-09-02T11:00:00Z" })).await, "episodeId");

        // Carried over, the interview is still open: once.
        let carried = record(json!({ "outcome": "CARRIED_OVER" }));
        ok(&server.gql(Some(staff.any()), INTERVIEW, carried.clone()).await, "recordReturnHomeInterview");
        conflict_on(&server.gql(Some(staff.any()), INTERVIEW, carried).await, "episodeId");
        ok(&server.gql(Some(staff.any()), INTERVIEW, completed.clone()).await, "recordReturnHomeInterview");
        conflict_on(&server.gql(Some(staff.any()), INTERVIEW, completed).await, "episodeId");
        let declined = record(json!({ "outcome": "DECLINED" }));
        conflict_on(&server.gql(Some(staff.any()), INTERVIEW, declined).await, "episodeId");
        assert_eq!(server.audit_count("missing.interview", "CONFLICT").await, 4);
        assert_eq!(server.audit_count("missing.return", "CONFLICT").await, 1);

        // A correction replaces the whole outcome, and says so in the trail.
        let corrected = record(json!({ "outcome": "NOT_OFFERED", "notOfferedReason": "IN_CUSTODY", "correction": true }));
        ok(&server.gql(Some(staff.any()), INTERVIEW, corrected).await, "recordReturnHomeInterview");
        assert_eq!(last_detail(&server, "missing.interview").await["correction"], true);
        let interview = &read_episode(&server, &staff, &episode).await["returnHomeInterview"];
        assert_eq!(
            (&interview["outcome"], &interview["completedAt"], &interview["notOfferedReason"]),
            (&json!("NOT_OFFERED"), &Value::Null, &json!("IN_CUSTODY")),
            "{interview}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_is_stepped_down_once_unless_returned_to_the_mash() {
    each_backend(|server| async move {
        let staff = Staff::new(&server).await;
        let desk = server.login("earlyhelp.mash").await;
        let hub = server.agency_id("Walsall Early Help Hub").await;
        let contact = decided_contact(&server, &staff, "STEP_DOWN_TO_EARLY_HELP").await;
        let request = json!({ "input": { "contactId": contact, "agencyId": hub, "requestedAt": "2025-09-02T09:00:00Z" } });
        let body = server.gql(Some(staff.any()), REQUEST_EARLY_HELP, request.clone()).await;
        let first = ok(&body, "requestEarlyHelp")["id"].as_str().unwrap().to_string();
        conflict_on(&server.gql(Some(staff.any()), REQUEST_EARLY_HELP, request.clone()).await, "contactId");

        // Screening is recorded once; a correction may change it.
        let screen = |outcome: &str, correction: bool| {
            json!({ "input": { "episodeId": first, "screenedAt": "2025-09-03T09:00:00Z", "screeningOutcome": outcome, "correction": correction } })
        };
        ok(&server.gql(Some(&desk), UPDATE_EARLY_HELP, screen("SIGNPOSTED", false)).await, "updateEarlyHelpEpisode");
        conflict_on(&server.gql(Some(&desk), UPDATE_EARLY_HELP, screen("RETURNED_TO_MASH", false)).await, "episodeId");
        let only_date = json!({ "input": { "episodeId": first, "screenedAt": "2025-09-04T09:00:00Z" } });
        conflict_on(&server.gql(Some(&desk), UPDATE_EARLY_HELP, only_date).await, "episodeId");
        assert_eq!(server.audit_count("early_help.update", "CONFLICT").await, 2);
        let body = server.gql(Some(&desk), UPDATE_EARLY_HELP, screen("RETURNED_TO_MASH", true)).await;
        assert_eq!(ok(&body, "updateEarlyHelpEpisode")["screeningOutcome"], "RETURNED_TO_MASH");
        assert_eq!(last_detail(&server, "early_help.update").await, json!({ "screeningOutcome": "RETURNED_TO_MASH", "correction": true }));

        // Returned to the MASH, the contact may be stepped down again, once.
        let body = server.gql(Some(staff.any()), REQUEST_EARLY_HELP, request.clone()).await;
        assert_ne!(ok(&body, "requestEarlyHelp")["id"], first.as_str());
        conflict_on(&server.gql(Some(staff.any()), REQUEST_EARLY_HELP, request).await, "contactId");
        assert_eq!(server.audit_count("early_help.request", "CONFLICT").await, 2);
        assert_eq!(server.count(early_help_episode::Entity).await, 2);
    })
    .await;
}
