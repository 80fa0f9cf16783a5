//! Missing children reported by the police, returns, and return home interviews.
mod common;

use common::{each_backend, error_code, error_field};
use entity::missing_episode;
use sea_orm::{EntityTrait, PaginatorTrait};
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
