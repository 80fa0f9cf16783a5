//! The council's 2020 scrutiny report, reproduced: records equivalent to its figures are
//! loaded through the API (with their `occurredAt`), and `performanceReport` must return
//! exactly the report's numbers. The expected figures below are copied from the report
//! (docs/figures.md), not computed from the loaded plan.

use std::sync::Arc;

use frontdoor::demo::history;
use frontdoor_testkit::{each_backend, HttpApi};
use serde_json::{json, Value};

const REPORT: &str = "query($from: NaiveDate!, $to: NaiveDate!) { performanceReport(from: $from, to: $to) {
    months { label contacts referrals assessmentsCompleted assessmentsNfaPercent strategyDiscussions section47Enquiries
      missingNotifications missingChildren
      rhi { completed inTimescale inTimescalePercent outOfTimescale outOfTimescaleByReason { reason count }
            notOffered notOfferedByReason { reason count } declined carriedOver open } }
    total { contacts referrals assessmentsCompleted assessmentsNfaPercent strategyDiscussions section47Enquiries section47ToConferencePercent }
    previous { from to assessmentsCompleted assessmentsNfaPercent strategyDiscussions section47Enquiries section47ToConferencePercent }
    change { strategyDiscussions section47Enquiries } } }";

fn reasons(list: &Value) -> Vec<(String, i64)> {
    list.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["count"].as_i64().unwrap() > 0)
        .map(|r| {
            (
                r["reason"].as_str().unwrap().to_string(),
                r["count"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn month<'a>(report: &'a Value, label: &str) -> &'a Value {
    report["months"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["label"] == label)
        .unwrap_or_else(|| panic!("no month {label} in {report}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_performance_report_reproduces_the_seed_report() {
    each_backend(|server| async move {
        let api = HttpApi::new(&server).await;
        history::load(
            api,
            history::seed_plan(),
            8,
            Arc::new(history::Progress::default()),
        )
        .await
        .expect("load the seed records through the API");
        let manager = server.login("mash.manager").await;

        // 2.5: contacts and progression to referral, July–November 2019.
        let body = server
            .gql(
                Some(&manager),
                REPORT,
                json!({ "from": "2019-07-01", "to": "2019-11-30" }),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        let report = &body["data"]["performanceReport"];
        for (label, contacts, referrals) in [
            ("2019-07", 1801, 960),
            ("2019-08", 1271, 535),
            ("2019-09", 1505, 507),
            ("2019-10", 1632, 530),
            ("2019-11", 1440, 502),
        ] {
            let m = month(report, label);
            assert_eq!(m["contacts"], contacts, "{label} contacts");
            assert_eq!(m["referrals"], referrals, "{label} referrals");
        }

        // 3.3.4–3.3.6: missing notifications and return home interviews.
        let sep = month(report, "2019-09");
        assert_eq!(sep["missingNotifications"], 98);
        assert_eq!(sep["missingChildren"], 62);
        let rhi = &sep["rhi"];
        assert_eq!(rhi["completed"], 49);
        assert_eq!(rhi["inTimescale"], 22);
        assert_eq!(rhi["inTimescalePercent"], 45);
        assert_eq!(rhi["outOfTimescale"], 27);
        assert_eq!(
            reasons(&rhi["outOfTimescaleByReason"]),
            [
                ("POLICE_NOTIFICATION_DELAY".into(), 8),
                ("EARLIEST_CONVENIENCE".into(), 12),
                ("NON_ENGAGEMENT".into(), 7)
            ]
        );
        assert_eq!(rhi["notOffered"], 11);
        assert_eq!(
            reasons(&rhi["notOfferedByReason"]),
            [
                ("MISSING_AGAIN_WITHIN_72_HOURS".into(), 8),
                ("TRIAGED_NO_APPARENT_RISK".into(), 3)
            ]
        );
        assert_eq!(rhi["declined"], 33);

        let oct = month(report, "2019-10");
        assert_eq!(oct["missingNotifications"], 79);
        assert_eq!(oct["missingChildren"], 56);
        let rhi = &oct["rhi"];
        assert_eq!(rhi["completed"], 50);
        assert_eq!(rhi["inTimescale"], 24);
        assert_eq!(rhi["inTimescalePercent"], 48);
        assert_eq!(rhi["outOfTimescale"], 26);
        assert_eq!(
            reasons(&rhi["outOfTimescaleByReason"]),
            [
                ("POLICE_NOTIFICATION_DELAY".into(), 12),
                ("EARLIEST_CONVENIENCE".into(), 13),
                ("MISSING_AGAIN".into(), 1)
            ]
        );
        assert_eq!(rhi["notOffered"], 0);
        assert_eq!(rhi["declined"], 21);
        assert_eq!(rhi["carriedOver"], 1, "still missing at the end of October");

        let nov = month(report, "2019-11");
        assert_eq!(nov["missingNotifications"], 106);
        assert_eq!(nov["missingChildren"], 58);
        let rhi = &nov["rhi"];
        assert_eq!(rhi["completed"], 50);
        assert_eq!(rhi["inTimescale"], 42);
        assert_eq!(rhi["inTimescalePercent"], 84);
        assert_eq!(rhi["outOfTimescale"], 8);
        assert_eq!(
            reasons(&rhi["outOfTimescaleByReason"]),
            [
                ("POLICE_NOTIFICATION_DELAY".into(), 4),
                ("EARLIEST_CONVENIENCE".into(), 4)
            ]
        );
        assert_eq!(rhi["notOffered"], 28);
        assert_eq!(
            reasons(&rhi["notOfferedByReason"]),
            [
                ("MISSING_AGAIN_WITHIN_72_HOURS".into(), 25),
                ("TRIAGED_NO_APPARENT_RISK".into(), 1),
                ("IN_CUSTODY".into(), 1),
                ("WHEREABOUTS_UNKNOWN".into(), 1),
            ]
        );
        assert_eq!(rhi["carriedOver"], 3);
        assert_eq!(rhi["declined"], 24);
        // "56 were not completed": the report classifies 55 of them; one stays open.
        assert_eq!(rhi["open"], 1);

        // 2.6 and 2.7: August–November against April–July.
        let body = server
            .gql(
                Some(&manager),
                REPORT,
                json!({ "from": "2019-08-01", "to": "2019-11-30" }),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        let report = &body["data"]["performanceReport"];
        assert_eq!(report["previous"]["from"], "2019-04-01");
        assert_eq!(report["previous"]["to"], "2019-07-31");
        assert_eq!(
            report["previous"]["assessmentsNfaPercent"], 66,
            "NFA April–July"
        );
        assert_eq!(
            report["total"]["assessmentsNfaPercent"], 50,
            "NFA August–November"
        );
        assert_eq!(report["change"]["strategyDiscussions"], -51);
        assert_eq!(report["change"]["section47Enquiries"], -60);
        let before = report["previous"]["section47ToConferencePercent"]
            .as_i64()
            .unwrap();
        let after = report["total"]["section47ToConferencePercent"]
            .as_i64()
            .unwrap();
        assert!(
            after > before,
            "the proportion of s47 leading to an ICPC increased ({before}% → {after}%)"
        );
    })
    .await;
}
