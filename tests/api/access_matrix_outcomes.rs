//! The access matrix, continued: the outcome chain (referral, assessment, strategy
//! discussion, section 47 enquiry, conference), early help episodes, missing episodes, the
//! access logs, Annex A exports and the performance report, each tried by every caller of
//! `access_matrix`. The scenario there is extended with a referral and its chain, a
//! step-down to early help and two police missing reports.

use frontdoor_testkit::{each_backend, TestServer};
use serde_json::{json, Value};

use crate::access_matrix::{
    data, managers_only, mash_only, run, scenario, Expect, Operation, Scenario, MANAGERS, MASH,
};
use Expect::*;

/// The records the rows below work on, beyond the shared scenario.
struct Chain {
    referral: String,
    assessment: String,
    /// A section 47 enquiry for `recordConference`.
    conference_enquiry: String,
    /// Another for `recordSection47Outcome`, so the two rows do not meet.
    outcome_enquiry: String,
    early_help_episode: String,
    /// Reported by the police desk, not yet returned (for `recordReturn`).
    missing: String,
    /// Reported by the police desk with its return, so an interview is open.
    returned: String,
    /// The child of `missing` (the MASH's record), missing at the same time as another.
    missing_child: String,
    police: String,
}

fn id(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("an id: {value}"))
        .to_string()
}

/// A police contact about a fictional child, decided `outcome` by a MASH manager.
async fn decided_contact(
    server: &TestServer,
    first_name: &str,
    dob: &str,
    outcome: &str,
    level: u8,
) -> String {
    let referrer = server.login("police.referrer").await;
    let manager = server.login("mash.manager").await;
    let body = server
        .gql(
            Some(&referrer),
            "mutation($input: SubmitContactInput!) { submitContact(input: $input) { id } }",
            json!({ "input": {
                "child": { "firstName": first_name, "lastName": "Matrixchain", "dateOfBirth": dob, "gender": "FEMALE" },
                "concernCategories": ["21"], "narrative": "Found alone late at night (fictional).",
                "consent": { "position": "REFUSED" } } }),
        )
        .await;
    let contact = id(&data(&body, "submitContact")["id"]);
    let body = server
        .gql(
            Some(&manager),
            &format!("mutation($c: ID!) {{ recordDecision(input: {{ contactId: $c, outcome: {outcome}, thresholdLevel: {level}, rationale: \"Matrix scenario.\" }}) {{ id }} }}"),
            json!({ "c": contact }),
        )
        .await;
    data(&body, "recordDecision");
    contact
}

fn missing_episode(first_name: &str, dob: &str, missing: &str, returned: Option<&str>) -> Value {
    json!({
        "child": { "firstName": first_name, "lastName": "Matrixmissing", "dateOfBirth": dob, "gender": "MALE" },
        "reportedMissingAt": missing, "riskGrade": "MEDIUM", "returnedAt": returned
    })
}

const REPORT: &str =
    "mutation($input: MissingEpisodeInput!) { reportMissingEpisode(input: $input) { id } }";
const DISCUSSION: &str = "mutation($r: ID!, $p: ID!) { recordStrategyDiscussion(input: { referralId: $r, agenciesPresent: [$p], section47Started: true }) { strategyDiscussions { section47 { id } } } }";

async fn chain(server: &TestServer, s: &Scenario) -> Chain {
    let manager = server.login("mash.manager").await;
    let worker = server.login("mash.social.worker").await;
    let desk = server.login("police.mash").await;
    let police = server.agency_id("West Midlands Police").await;

    let referred = decided_contact(server, "Di", "2013-03-03", "REFERRAL_FOR_ASSESSMENT", 4).await;
    let body = server
        .gql(
            Some(&manager),
            "query($c: ID!) { referrals(contactId: $c) { edges { node { id } } } }",
            json!({ "c": referred }),
        )
        .await;
    let referral = id(&data(&body, "referrals")["edges"][0]["node"]["id"]);
    let body = server
        .gql(Some(&worker), "mutation($r: ID!) { startAssessment(input: { referralId: $r }) { assessments { id } } }", json!({ "r": referral }))
        .await;
    let assessment = id(&data(&body, "startAssessment")["assessments"][0]["id"]);
    let mut enquiries = Vec::new();
    for _ in 0..2 {
        let body = server
            .gql(
                Some(&worker),
                DISCUSSION,
                json!({ "r": referral, "p": police }),
            )
            .await;
        let discussions = data(&body, "recordStrategyDiscussion")["strategyDiscussions"]
            .as_array()
            .unwrap();
        enquiries.push(id(&discussions.last().unwrap()["section47"]["id"]));
    }
    assert_ne!(enquiries[0], enquiries[1]);

    let stepped_down =
        decided_contact(server, "Ed", "2014-04-04", "STEP_DOWN_TO_EARLY_HELP", 2).await;
    let body = server
        .gql(
            Some(&worker),
            "mutation($c: ID!, $a: ID!) { requestEarlyHelp(input: { contactId: $c, agencyId: $a }) { id } }",
            json!({ "c": stepped_down, "a": s.early_help }),
        )
        .await;
    let early_help_episode = id(&data(&body, "requestEarlyHelp")["id"]);

    let body = server
        .gql(
            Some(&desk),
            REPORT,
            json!({ "input": missing_episode("Fen", "2010-07-07", "2026-09-03T08:00:00Z", None) }),
        )
        .await;
    let missing = id(&data(&body, "reportMissingEpisode")["id"]);
    let returned = missing_episode(
        "Gus",
        "2011-08-08",
        "2026-09-03T09:00:00Z",
        Some("2026-09-04T12:00:00Z"),
    );
    let body = server
        .gql(Some(&desk), REPORT, json!({ "input": returned }))
        .await;
    let returned = id(&data(&body, "reportMissingEpisode")["id"]);
    let body = server
        .gql(
            Some(&manager),
            "{ missingEpisodes(first: 100) { edges { node { id childId } } } }",
            json!({}),
        )
        .await;
    let missing_child = data(&body, "missingEpisodes")["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["id"] == missing.as_str())
        .map(|e| id(&e["node"]["childId"]))
        .unwrap_or_else(|| panic!("the episode listed: {body}"));

    Chain {
        referral,
        assessment,
        conference_enquiry: enquiries.remove(0),
        outcome_enquiry: enquiries.remove(0),
        early_help_episode,
        missing,
        returned,
        missing_child,
        police,
    }
}

/// MASH staff, and the early help agency's MASH desk (the episode was sent to its agency).
fn early_help(c: &str) -> Expect {
    if MASH.contains(&c) || c == "earlyhelp.mash" {
        Allowed
    } else {
        Forbidden
    }
}

/// A police agency's MASH desk and the client with `missing:report`.
fn report_missing(c: &str) -> Expect {
    if matches!(c, "police.mash" | "police-case-system") {
        Allowed
    } else {
        Forbidden
    }
}

/// MASH staff all episodes; the police desk and client those their agency reported.
fn read_missing(c: &str) -> Expect {
    if MASH.contains(&c) || matches!(c, "police.mash" | "police-case-system") {
        Allowed
    } else {
        Forbidden
    }
}

/// MASH managers and auditors any; partner desks only what their own agency disclosed.
fn disclosure_log(c: &str) -> Expect {
    match c {
        _ if MANAGERS.contains(&c) => Allowed,
        "auditor" | "police.mash" => Allowed,
        "health.mash" | "earlyhelp.mash" => NotFound,
        _ => Forbidden,
    }
}

fn managers_or_auditor(c: &str) -> Expect {
    if MANAGERS.contains(&c) || c == "auditor" {
        Allowed
    } else {
        Forbidden
    }
}

/// Reads first, then changes. Each change is made so the first allowed caller succeeds and
/// later ones at worst meet a CONFLICT (a return already recorded, a conference held).
fn operations(s: &Scenario, c: &Chain) -> Vec<Operation> {
    const ANNEX_A: &str = "query($list: Int!) { annexA(list: $list, from: \"2020-01-01\", to: \"2030-12-31\") { list rows } }";
    let probe = missing_episode("Hal", "2012-09-09", "2026-09-05T08:00:00Z", None);
    vec![
        ("referral", "query($id: ID!) { referral(id: $id) { id } }".into(), json!({ "id": c.referral }), mash_only),
        ("referrals", "{ referrals { totalCount } }".into(), json!({}), mash_only),
        ("assessment", "query($id: ID!) { assessment(id: $id) { id } }".into(), json!({ "id": c.assessment }), mash_only),
        ("earlyHelpEpisode", "query($id: ID!) { earlyHelpEpisode(id: $id) { id } }".into(), json!({ "id": c.early_help_episode }), early_help),
        ("missingEpisode", "query($id: ID!) { missingEpisode(id: $id) { id } }".into(), json!({ "id": c.missing }), read_missing),
        ("earlyHelpEpisodes", "{ earlyHelpEpisodes { totalCount } }".into(), json!({}), early_help),
        ("missingEpisodes", "{ missingEpisodes { totalCount } }".into(), json!({}), read_missing),
        ("missingOverlaps", "query($c: ID!) { missingOverlaps(childId: $c) { childId } }".into(), json!({ "c": c.missing_child }), mash_only),
        ("childAccessLog", "query($c: ID!) { childAccessLog(childId: $c) { totalCount } }".into(), json!({ "c": s.child }), managers_only),
        (
            "disclosureAccessLog",
            "query($d: ID!) { disclosureAccessLog(disclosureId: $d) { totalCount } }".into(),
            json!({ "d": s.disclosure }),
            disclosure_log,
        ),
        ("annexA list 1", ANNEX_A.into(), json!({ "list": 1 }), managers_only),
        ("annexA list 2", ANNEX_A.into(), json!({ "list": 2 }), managers_only),
        ("annexA list 3", ANNEX_A.into(), json!({ "list": 3 }), managers_only),
        ("annexA list 4", ANNEX_A.into(), json!({ "list": 4 }), managers_only),
        ("annexA list 5", ANNEX_A.into(), json!({ "list": 5 }), managers_only),
        (
            "performanceReport",
            "{ performanceReport(from: \"2026-01-01\", to: \"2026-12-31\") { total { contacts } } }".into(),
            json!({}),
            managers_or_auditor,
        ),
        (
            "updateReferral",
            "mutation($r: ID!) { updateReferral(input: { referralId: $r, allocatedTeam: \"Probe Team\" }) { id } }".into(),
            json!({ "r": c.referral }),
            mash_only,
        ),
        ("startAssessment", "mutation($r: ID!) { startAssessment(input: { referralId: $r }) { id } }".into(), json!({ "r": c.referral }), mash_only),
        (
            "updateAssessment",
            "mutation($a: ID!) { updateAssessment(input: { assessmentId: $a, allocatedWorker: \"Probe Worker\" }) { id } }".into(),
            json!({ "a": c.assessment }),
            mash_only,
        ),
        (
            "recordStrategyDiscussion",
            "mutation($r: ID!, $p: ID!) { recordStrategyDiscussion(input: { referralId: $r, agenciesPresent: [$p], section47Started: false }) { id } }".into(),
            json!({ "r": c.referral, "p": c.police }),
            mash_only,
        ),
        (
            "recordSection47Outcome",
            "mutation($e: ID!) { recordSection47Outcome(input: { section47Id: $e, outcome: OTHER_AGENCY_TO_MONITOR, correction: true }) { id } }".into(),
            json!({ "e": c.outcome_enquiry }),
            mash_only,
        ),
        (
            "recordConference",
            "mutation($e: ID!) { recordConference(input: { section47Id: $e, planMade: false }) { id } }".into(),
            json!({ "e": c.conference_enquiry }),
            mash_only,
        ),
        (
            "requestEarlyHelp",
            "mutation($c: ID!, $a: ID!) { requestEarlyHelp(input: { contactId: $c, agencyId: $a }) { id } }".into(),
            json!({ "c": s.contact, "a": s.early_help }),
            mash_only,
        ),
        (
            "updateEarlyHelpEpisode",
            "mutation($e: ID!) { updateEarlyHelpEpisode(input: { episodeId: $e, organisation: \"Probe Locality Team\" }) { id } }".into(),
            json!({ "e": c.early_help_episode }),
            early_help,
        ),
        ("reportMissingEpisode", REPORT.into(), json!({ "input": probe }), report_missing),
        (
            "reportMissingEpisodes",
            "mutation($e: [MissingEpisodeInput!]!) { reportMissingEpisodes(episodes: $e) { index } }".into(),
            json!({ "e": [probe] }),
            report_missing,
        ),
        (
            "recordReturn",
            "mutation($e: ID!) { recordReturn(episodeId: $e, returnedAt: \"2026-09-04T10:00:00Z\") { id } }".into(),
            json!({ "e": c.missing }),
            report_missing,
        ),
        (
            "recordReturnHomeInterview",
            "mutation($e: ID!) { recordReturnHomeInterview(input: { episodeId: $e, outcome: \"DECLINED\", correction: true }) { id } }".into(),
            json!({ "e": c.returned }),
            mash_only,
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_outcome_missing_and_report_operation_by_every_role() {
    each_backend(|server| async move {
        let s = scenario(&server).await;
        let c = chain(&server, &s).await;
        for (name, succeeded) in run(&server, operations(&s, &c)).await {
            assert!(
                succeeded,
                "{name}: no allowed caller's call went through, so its input proves nothing"
            );
        }
    })
    .await;
}
