//! Missing children reported by the police, returns, and return home interviews.

use entity::{audit_event, audit_ref_set_member, missing_episode};
use frontdoor_testkit::{each_backend, error_code, error_field};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::{json, Value};

const REPORT: &str = "mutation($input: MissingEpisodeInput!) { reportMissingEpisode(input: $input) { id riskGrade notificationDelayHours returnHomeInterview { dueAt outcome } episodesInLast30Days repeatedlyMissing } }";
const BATCH: &str = "mutation($e: [MissingEpisodeInput!]!) { reportMissingEpisodes(episodes: $e) { index episode { id } error { code field } } }";
const INTERVIEW: &str = "mutation($input: ReturnHomeInterviewInput!) { recordReturnHomeInterview(input: $input) { returnHomeInterview { outcome inTimescale lateReason } } }";

/// An episode reported at `missing` (08:00 in these tests), notified to the council four hours later.
fn episode(missing: &str, returned: Option<&str>, grade: &str, key: &str) -> Value {
    let notified = missing.replace("T08:00", "T12:00");
    json!({
        "child": { "firstName": "Dee", "lastName": "Missingchild", "dateOfBirth": "2010-07-07", "gender": "FEMALE", "nhsNumber": "4010232137" },
        "reportedMissingAt": missing, "riskGrade": grade, "laNotifiedAt": notified,
        "returnedAt": returned, "idempotencyKey": key
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_opens_an_interview_due_72_hours_later() {
    each_backend(|server| async move {
        let police = server.login("police.mash").await;
        let manager = server.login("mash.manager").await;
        let body = server
            .gql(Some(&police), REPORT, json!({ "input": episode("2026-09-03T08:00:00Z", Some("2026-09-04T10:00:00Z"), "HIGH", "k1") }))
            .await;
        let reported = &body["data"]["reportMissingEpisode"];
        assert_eq!(reported["returnHomeInterview"]["dueAt"], "2026-09-07T10:00:00+00:00", "{body}");
        assert_eq!(reported["notificationDelayHours"], 4.0);
        assert!(reported["repeatedlyMissing"].is_null(), "the police do not see the MASH flag");
        let id = reported["id"].as_str().unwrap().to_string();

        let interview = |outcome: &str, completed: &str, late: Option<&str>| {
            json!({ "input": { "episodeId": id, "outcome": outcome, "completedAt": completed, "lateReason": late } })
        };
        let body = server.gql(Some(&manager), INTERVIEW, interview("COMPLETED", "2026-09-04T09:00:00Z", None)).await;
        assert_eq!((error_code(&body), error_field(&body)), (Some("BAD_USER_INPUT"), Some("completedAt")), "before the return");
        let body = server.gql(Some(&manager), INTERVIEW, interview("COMPLETED", "2026-09-08T09:00:00Z", None)).await;
        assert_eq!(error_field(&body), Some("lateReason"), "out of timescale needs a reason");
        let body = server.gql(Some(&manager), INTERVIEW, interview("COMPLETED", "2026-09-08T09:00:00Z", Some("NON_ENGAGEMENT"))).await;
        assert_eq!(
            body["data"]["recordReturnHomeInterview"]["returnHomeInterview"],
            json!({ "outcome": "COMPLETED", "inTimescale": false, "lateReason": "NON_ENGAGEMENT" }),
            "{body}"
        );
        // Only MASH staff record interviews; only the police report.
        let body = server.gql(Some(&police), INTERVIEW, interview("DECLINED", "2026-09-05T09:00:00Z", None)).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"));
        for caller in ["school.referrer", "health.mash", "police.referrer", "mash.manager"] {
            let token = server.login(caller).await;
            let body = server.gql(Some(&token), REPORT, json!({ "input": episode("2026-09-03T08:00:00Z", None, "LOW", "k9") })).await;
            assert_eq!(error_code(&body), Some("FORBIDDEN"), "{caller}");
        }
        let health_client = server.client_token("health-case-system", "health-demo-secret").await;
        let body = server.gql(Some(&health_client), REPORT, json!({ "input": episode("2026-09-03T08:00:00Z", None, "LOW", "k9") })).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"));
        let police_client = server.client_token("police-case-system", "police-demo-secret").await;
        let body = server.gql(Some(&police_client), REPORT, json!({ "input": episode("2026-09-10T08:00:00Z", None, "LOW", "k9") })).await;
        assert!(body["errors"].is_null(), "{body}");
        // Lists: the MASH sees both; the police desk sees its agency's; others are refused.
        let list = "{ missingEpisodes { totalCount } }";
        assert_eq!(server.gql(Some(&manager), list, json!({})).await["data"]["missingEpisodes"]["totalCount"], 2);
        assert_eq!(server.gql(Some(&police), list, json!({})).await["data"]["missingEpisodes"]["totalCount"], 2);
        let referrer = server.login("police.referrer").await;
        assert_eq!(error_code(&server.gql(Some(&referrer), list, json!({})).await), Some("FORBIDDEN"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_stores_good_items_once_and_names_each_bad_one() {
    each_backend(|server| async move {
        let police = server.client_token("police-case-system", "police-demo-secret").await;
        let batch = json!({ "e": [
            episode("2026-09-01T08:00:00Z", Some("2026-09-01T20:00:00Z"), "MEDIUM", "b0"),
            episode("2026-09-10T08:00:00Z", Some("2026-09-09T08:00:00Z"), "LOW", "b1"),
            episode("2026-09-12T08:00:00Z", None, "SEVERE", "b2"),
            episode("2026-09-20T08:00:00Z", None, "NO_APPARENT_RISK", "b3"),
        ] });
        let body = server.gql(Some(&police), BATCH, batch.clone()).await;
        let results = body["data"]["reportMissingEpisodes"].as_array().unwrap_or_else(|| panic!("{body}"));
        assert!(results[0]["episode"]["id"].is_string());
        assert_eq!(results[1]["error"], json!({ "code": "BAD_USER_INPUT", "field": "episodes[1].returnedAt" }));
        assert_eq!(results[2]["error"], json!({ "code": "BAD_USER_INPUT", "field": "episodes[2].riskGrade" }));
        assert!(results[3]["episode"]["id"].is_string());
        assert_eq!(missing_episode::Entity::find().count(server.db()).await.unwrap(), 2);
        // Retrying the whole batch stores nothing new and returns the same episodes.
        let again = server.gql(Some(&police), BATCH, batch).await;
        assert_eq!(again["data"]["reportMissingEpisodes"][0]["episode"]["id"], results[0]["episode"]["id"]);
        assert_eq!(missing_episode::Entity::find().count(server.db()).await.unwrap(), 2);
        // Three episodes in 30 days: the MASH sees the child flagged.
        let one = episode("2026-09-25T08:00:00Z", None, "HIGH", "b4");
        let body = server.gql(Some(&police), REPORT, json!({ "input": one })).await;
        let id = body["data"]["reportMissingEpisode"]["id"].as_str().unwrap().to_string();
        let manager = server.login("mash.manager").await;
        let list = server.gql(Some(&manager), "{ missingEpisodes(first: 10) { edges { node { id episodesInLast30Days repeatedlyMissing } } } }", json!({})).await;
        let latest = list["data"]["missingEpisodes"]["edges"].as_array().unwrap().iter().find(|e| e["node"]["id"] == id.as_str()).unwrap().clone();
        assert_eq!(latest["node"]["episodesInLast30Days"], 3, "{list}");
        assert_eq!(latest["node"]["repeatedlyMissing"], true);
        let too_many: Vec<Value> = (0..501).map(|i| episode("2026-09-01T08:00:00Z", None, "LOW", &format!("x{i}"))).collect();
        let body = server.gql(Some(&police), BATCH, json!({ "e": too_many })).await;
        assert_eq!((error_code(&body), error_field(&body)), (Some("BAD_USER_INPUT"), Some("episodes")));
    })
    .await;
}

/// A child's episode, reported by the police (each child distinct by name and date of birth).
fn child_episode(
    first_name: &str,
    dob: &str,
    missing: &str,
    returned: Option<&str>,
    key: &str,
) -> Value {
    json!({
        "child": { "firstName": first_name, "lastName": "Overlapper", "dateOfBirth": dob, "gender": "MALE" },
        "reportedMissingAt": missing, "riskGrade": "MEDIUM", "returnedAt": returned,
        "idempotencyKey": key
    })
}

/// The uuid inside an opaque `Child:<uuid>` id.
fn uuid_of(id: &Value) -> String {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(id.as_str().unwrap())
        .unwrap();
    String::from_utf8(bytes)
        .unwrap()
        .trim_start_matches("Child:")
        .to_string()
}

const OVERLAPS: &str = "query($c: ID!) { missingOverlaps(childId: $c) { childId child { firstName lastName } episode { id reportedMissingAt returnedAt } overlappedEpisode { id reportedMissingAt } overlapStartsAt overlapEndsAt overlapHours } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mash_staff_see_which_children_were_missing_at_the_same_time() {
    each_backend(|server| async move {
        let police = server.login("police.mash").await;
        let manager = server.login("mash.manager").await;
        // A: 10:00–20:00; B: 15:00–22:00 the same day (5 hours together); C: the next day.
        // A's two earlier episodes overlap nobody and give the list different 30-day counts
        // (the first is more than 30 days before the third).
        let episodes = [
            ("Alex", "2011-01-01", "2026-08-01T10:00:00Z", Some("2026-08-01T11:00:00Z"), "a0"),
            ("Alex", "2011-01-01", "2026-08-20T10:00:00Z", Some("2026-08-20T12:00:00Z"), "a1"),
            ("Alex", "2011-01-01", "2026-09-03T10:00:00Z", Some("2026-09-03T20:00:00Z"), "a2"),
            ("Blake", "2012-02-02", "2026-09-03T15:00:00Z", Some("2026-09-03T22:00:00Z"), "b"),
            ("Casey", "2013-03-03", "2026-09-04T10:00:00Z", Some("2026-09-04T18:00:00Z"), "c"),
        ];
        let mut ids = Vec::new();
        for (name, dob, missing, returned, key) in episodes {
            let body = server
                .gql(Some(&police), REPORT, json!({ "input": child_episode(name, dob, missing, returned, key) }))
                .await;
            ids.push(body["data"]["reportMissingEpisode"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_string());
        }

        // One page holds every episode, each with its own interview and 30-day count.
        let list = server
            .gql(Some(&manager), "{ missingEpisodes(first: 10) { edges { node { id childId childAsReported { firstName } returnHomeInterview { dueAt } episodesInLast30Days } } } }", json!({}))
            .await;
        let nodes: Vec<Value> = list["data"]["missingEpisodes"]["edges"].as_array().unwrap_or_else(|| panic!("{list}")).iter().map(|e| e["node"].clone()).collect();
        assert_eq!(nodes.len(), 5, "{list}");
        let node = |id: &str| nodes.iter().find(|n| n["id"] == id).unwrap().clone();
        let expected = [
            ("2026-08-04T11:00:00+00:00", 1),
            ("2026-08-23T12:00:00+00:00", 2),
            ("2026-09-06T20:00:00+00:00", 2),
            ("2026-09-06T22:00:00+00:00", 1),
            ("2026-09-07T18:00:00+00:00", 1),
        ];
        for (id, (due, count)) in ids.iter().zip(expected) {
            let n = node(id);
            assert_eq!(n["returnHomeInterview"]["dueAt"], due, "{n}");
            assert_eq!(n["episodesInLast30Days"], count, "{n}");
        }
        let child_a = node(&ids[2])["childId"].clone();
        let child_b = node(&ids[3])["childId"].clone();
        assert_ne!(child_a, child_b);

        // A overlapped B alone, by five hours.
        for caller in ["mash.manager", "mash.social.worker"] {
            let token = server.login(caller).await;
            let body = server.gql(Some(&token), OVERLAPS, json!({ "c": child_a })).await;
            assert!(body["errors"].is_null(), "{caller}: {body}");
            assert_eq!(
                body["data"]["missingOverlaps"],
                json!([{
                    "childId": child_b,
                    "child": { "firstName": "Blake", "lastName": "Overlapper" },
                    "episode": { "id": ids[3], "reportedMissingAt": "2026-09-03T15:00:00+00:00", "returnedAt": "2026-09-03T22:00:00+00:00" },
                    "overlappedEpisode": { "id": ids[2], "reportedMissingAt": "2026-09-03T10:00:00+00:00" },
                    "overlapStartsAt": "2026-09-03T15:00:00+00:00",
                    "overlapEndsAt": "2026-09-03T20:00:00+00:00",
                    "overlapHours": 5.0
                }]),
                "{caller}"
            );
        }
        // And B's view is the mirror image; C overlapped nobody.
        let body = server.gql(Some(&manager), OVERLAPS, json!({ "c": child_b })).await;
        assert_eq!(body["data"]["missingOverlaps"][0]["childId"], child_a, "{body}");
        assert_eq!(body["data"]["missingOverlaps"].as_array().unwrap().len(), 1);
        let child_c = node(&ids[4])["childId"].clone();
        let body = server.gql(Some(&manager), OVERLAPS, json!({ "c": child_c })).await;
        assert_eq!(body["data"]["missingOverlaps"], json!([]), "{body}");

        // MASH staff only: the reporting police, partners, referrers and auditors are refused.
        for caller in ["police.mash", "health.mash", "la.referrer", "auditor"] {
            let token = server.login(caller).await;
            let body = server.gql(Some(&token), OVERLAPS, json!({ "c": child_a })).await;
            assert_eq!(error_code(&body), Some("FORBIDDEN"), "{caller}: {body}");
            assert!(body["data"].is_null(), "{caller}: {body}");
        }
        let police_client = server.client_token("police-case-system", "police-demo-secret").await;
        let body = server.gql(Some(&police_client), OVERLAPS, json!({ "c": child_a })).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
        // An unknown child, or an id of another kind, is not found.
        for id in [json!("Q2hpbGQ6MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAx"), json!(ids[2])] {
            let body = server.gql(Some(&manager), OVERLAPS, json!({ "c": id })).await;
            assert_eq!(error_code(&body), Some("NOT_FOUND"), "{body}");
        }

        // Every read and refusal is audited; a read names every child it returned.
        let events = |outcome: &'static str| {
            audit_event::Entity::find()
                .filter(audit_event::Column::Action.eq("missing.overlaps"))
                .filter(audit_event::Column::Outcome.eq(outcome))
                .order_by_asc(audit_event::Column::Id)
                .all(server.db())
        };
        let reads = events("SUCCESS").await.unwrap();
        assert_eq!(reads.len(), 4);
        assert_eq!(reads[0].actor_label, "mash.manager");
        assert_eq!(reads[0].purpose.as_deref(), Some("safeguarding.missing"));
        let mut named: Vec<String> = audit_ref_set_member::Entity::find()
            .filter(audit_ref_set_member::Column::RefSet.eq(reads[0].ref_set.clone().unwrap()))
            .filter(audit_ref_set_member::Column::Kind.eq("Child"))
            .all(server.db())
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.ref_id)
            .collect();
        named.sort();
        let mut expected = vec![uuid_of(&child_a), uuid_of(&child_b)];
        expected.sort();
        assert_eq!(named, expected);
        assert_eq!(events("FORBIDDEN").await.unwrap().len(), 5);
        assert_eq!(events("NOT_FOUND").await.unwrap().len(), 2);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_still_missing_overlaps_until_now() {
    each_backend(|server| async move {
        let police = server.login("police.mash").await;
        let manager = server.login("mash.manager").await;
        // Drew and Eden are still missing. Finley was missing across Drew's first night and
        // Eden's first morning; Gray came home just as Drew went missing (no overlap).
        let episodes = [
            ("Drew", "2010-04-04", "2026-09-05T08:00:00Z", None, "d"),
            ("Eden", "2010-05-05", "2026-09-06T08:00:00Z", None, "e"),
            (
                "Finley",
                "2010-06-06",
                "2026-09-05T20:00:00Z",
                Some("2026-09-06T10:00:00Z"),
                "f",
            ),
            (
                "Gray",
                "2010-07-07",
                "2026-09-04T20:00:00Z",
                Some("2026-09-05T08:00:00Z"),
                "g",
            ),
        ];
        let mut ids = Vec::new();
        for (name, dob, missing, returned, key) in episodes {
            let body = server
                .gql(
                    Some(&police),
                    REPORT,
                    json!({ "input": child_episode(name, dob, missing, returned, key) }),
                )
                .await;
            ids.push(
                body["data"]["reportMissingEpisode"]["id"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{body}"))
                    .to_string(),
            );
        }
        let list = server
            .gql(
                Some(&manager),
                "{ missingEpisodes { edges { node { id childId } } } }",
                json!({}),
            )
            .await;
        let child_of = |episode: &str| {
            list["data"]["missingEpisodes"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["node"]["id"] == episode)
                .unwrap()["node"]["childId"]
                .clone()
        };
        let body = server
            .gql(Some(&manager), OVERLAPS, json!({ "c": child_of(&ids[0]) }))
            .await;
        let overlaps = body["data"]["missingOverlaps"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"));
        assert_eq!(overlaps.len(), 2, "{body}");
        // Ordered by the start of the overlap: Finley from 20:00, then Eden from 08:00 next day.
        assert_eq!(overlaps[0]["childId"], child_of(&ids[2]));
        assert_eq!(overlaps[0]["overlapStartsAt"], "2026-09-05T20:00:00+00:00");
        assert_eq!(overlaps[0]["overlapEndsAt"], "2026-09-06T10:00:00+00:00");
        assert_eq!(overlaps[0]["overlapHours"], 14.0);
        assert_eq!(overlaps[1]["childId"], child_of(&ids[1]));
        assert_eq!(overlaps[1]["overlapStartsAt"], "2026-09-06T08:00:00+00:00");
        assert!(
            overlaps[1]["overlapEndsAt"].is_null(),
            "both still missing: {body}"
        );
        let since: chrono::DateTime<chrono::Utc> = "2026-09-06T08:00:00Z".parse().unwrap();
        let hours = (chrono::Utc::now() - since).num_seconds() as f64 / 3600.0;
        let reported = overlaps[1]["overlapHours"].as_f64().unwrap();
        assert!(
            (reported - hours).abs() < 0.1,
            "{reported} hours, expected about {hours}"
        );
        // Gray came home at 08:00 on the 5th, the moment Drew went missing: the intervals are
        // half-open, so that is no overlap (and Finley left only at 20:00).
        let body = server
            .gql(Some(&manager), OVERLAPS, json!({ "c": child_of(&ids[3]) }))
            .await;
        assert_eq!(body["data"]["missingOverlaps"], json!([]), "{body}");
    })
    .await;
}
