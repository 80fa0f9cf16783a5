//! The tamper-evident audit trail: hash chains, signed checkpoints, verification, and the
//! auditor's reads — driven over HTTP, with tampering done straight in the database as
//! someone who can write to it (but does not hold the audit key) would.

use entity::{audit_chain_head, audit_event};
use frontdoor::domain::audit::trail::refs_of;
use frontdoor::domain::audit::{self, Action, AuditEntry, GENESIS_HASH};
use frontdoor::domain::common::codes::Role;
use frontdoor::domain::RequestCtx;
use frontdoor::{build_app, db, demo, Core};
use frontdoor_testkit::{
    demo_users_without, each_backend, error_code, hash_queue_alone, TestServer,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder,
};
use serde_json::{json, Value};
use uuid::Uuid;

const VERIFY: &str = "query($c: String) { verifyAuditTrail(checkpoint: $c) { ok checkedEntries checkedCheckpoints firstFailure { reason chain seq eventId checkpointId } } }";
const CHECKPOINT: &str =
    "mutation { createAuditCheckpoint { id at chains { chain seq hash } signature publicKey exported } }";

struct Activity {
    auditor: String,
    /// The child named by the entries written straight through the audit writer.
    child: Uuid,
    /// The checkpoint taken last, as exported.
    exported: String,
}

/// Some of everything: logins, failed logins, admin changes, refusals, entries naming a
/// child and a disclosure; then the auditor signs a checkpoint.
async fn generate_activity(server: &TestServer) -> Activity {
    let admin = server.login("admin").await;
    let auditor = server.login("auditor").await;
    let manager = server.login("mash.manager").await;
    server.login_tokens("mash.manager", "wrong-password").await;
    server.login_tokens("nobody.at.all", "wrong-password").await;
    for name in ["Walsall Housing Group", "Walsall Youth Service"] {
        let body = server
            .gql(
                Some(&admin),
                "mutation($n: String!) { createAgency(input: { name: $n, kind: HOUSING }) { id } }",
                json!({ "n": name }),
            )
            .await;
        let id = body["data"]["createAgency"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .to_string();
        let body = server
            .gql(
                Some(&admin),
                "mutation($id: ID!) { updateAgency(input: { id: $id, active: false }) { id } }",
                json!({ "id": id }),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
    }
    for _ in 0..2 {
        let body = server
            .gql(Some(&manager), "{ agencies { totalCount } }", json!({}))
            .await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"));
    }
    // What a disclosure read will write: a child and a disclosure, purpose, basis, consent.
    let child = Uuid::now_v7();
    for i in 0..4 {
        let ctx = RequestCtx {
            request_id: Some(Uuid::new_v4().to_string()),
            ..RequestCtx::operator("test")
        };
        let txn = db::begin_write(server.db()).await.unwrap();
        audit::record(
            &txn,
            &ctx,
            AuditEntry::success(Action::DisclosureRead)
                .entity("Disclosure", i)
                .purpose("safeguarding.triage")
                .lawful_basis("DPA2018-S8")
                .consent_ref(format!("consent:{i}"))
                .children([child, child])
                .reference("Disclosure", i)
                .detail(json!({ "n": i })),
        )
        .await
        .unwrap();
        txn.commit().await.unwrap();
    }
    let body = server.gql(Some(&auditor), CHECKPOINT, json!({})).await;
    let exported = body["data"]["createAuditCheckpoint"]["exported"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string();
    Activity {
        auditor,
        child,
        exported,
    }
}

async fn verify(server: &TestServer, token: &str, checkpoint: Option<&str>) -> Value {
    let body = server
        .gql(Some(token), VERIFY, json!({ "c": checkpoint }))
        .await;
    let result = body["data"]["verifyAuditTrail"].clone();
    assert!(result.is_object(), "{body}");
    result
}

fn assert_failure(result: &Value, reason: &str, chain: i32, seq: i64) {
    assert_eq!(result["ok"], false, "{result}");
    let failure = &result["firstFailure"];
    assert_eq!(failure["reason"], reason, "{result}");
    assert_eq!(failure["chain"], chain, "{result}");
    assert_eq!(failure["seq"], seq, "{result}");
}

/// The entries of one chain, in order.
async fn chain_entries(server: &TestServer, chain: i32) -> Vec<audit_event::Model> {
    audit_event::Entity::find()
        .filter(audit_event::Column::Chain.eq(chain))
        .order_by_asc(audit_event::Column::Seq)
        .all(server.db())
        .await
        .unwrap()
}

/// The chain with the most entries, and its entries.
async fn longest_chain(server: &TestServer) -> (i32, Vec<audit_event::Model>) {
    let mut best = (0, Vec::new());
    for chain in 1..=audit::CHAINS {
        let entries = chain_entries(server, chain).await;
        if entries.len() > best.1.len() {
            best = (chain, entries);
        }
    }
    assert!(best.1.len() >= 3, "activity should fill some chain");
    best
}

/// The seq a checkpoint (exported JSON) recorded for a chain.
fn checkpointed_seq(exported: &str, chain: i32) -> i64 {
    let parsed: Value = serde_json::from_str(exported).unwrap();
    parsed["chains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["chain"] == chain)
        .and_then(|h| h["seq"].as_i64())
        .unwrap()
}

async fn audit_count(server: &TestServer) -> u64 {
    server.count(audit_event::Entity).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untouched_trail_verifies_and_the_auditor_reads_it() {
    each_backend(|server| async move {
        let activity = generate_activity(&server).await;
        let total = audit_count(&server).await;
        let result = verify(&server, &activity.auditor, None).await;
        assert_eq!(result["ok"], true, "{result}");
        assert!(result["firstFailure"].is_null());
        assert_eq!(result["checkedEntries"], total);
        assert_eq!(result["checkedCheckpoints"], 1);
        // The exported checkpoint checks out too.
        let result = verify(&server, &activity.auditor, Some(&activity.exported)).await;
        assert_eq!(result["ok"], true, "{result}");
        assert_eq!(result["checkedCheckpoints"], 2);

        // Every head names its chain's last entry, and the seqs add up to the entries.
        let heads = audit_chain_head::Entity::find().all(server.db()).await.unwrap();
        assert_eq!(heads.len(), audit::CHAINS as usize);
        let total = audit_count(&server).await;
        assert_eq!(heads.iter().map(|h| h.seq as u64).sum::<u64>(), total);

        // A child's entries, found through the refs, with their metadata.
        let child_id = frontdoor::graphql::ids::encode("Child", activity.child);
        let query = "query($c: ID, $first: Int, $after: String) { auditEvents(childId: $c, first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id chain seq action outcome purpose lawfulBasis consentRef children refs { kind id } actorKind actorLabel prevHash hash } } } }";
        let body = server
            .gql(
                Some(&activity.auditor),
                query,
                json!({ "c": child_id, "first": 3 }),
            )
            .await;
        let events = &body["data"]["auditEvents"];
        assert_eq!(events["totalCount"], 4, "{body}");
        assert_eq!(events["pageInfo"]["hasNextPage"], true);
        let node = &events["edges"][0]["node"];
        assert_eq!(node["action"], "disclosure.read");
        assert_eq!(node["purpose"], "safeguarding.triage");
        assert_eq!(node["lawfulBasis"], "DPA2018-S8");
        assert_eq!(node["children"], json!([child_id]));
        assert_eq!(node["refs"], json!([{ "kind": "Disclosure", "id": "0" }]));
        assert_eq!(node["actorKind"], "OPERATOR");
        assert_eq!(node["hash"].as_str().unwrap().len(), 64);
        let cursor = events["pageInfo"]["endCursor"].as_str().unwrap();
        let body = server
            .gql(
                Some(&activity.auditor),
                query,
                json!({ "c": child_id, "first": 3, "after": cursor }),
            )
            .await;
        // The first read names the child, so it is in the child's entries now.
        let next = &body["data"]["auditEvents"];
        assert_eq!(next["totalCount"], 5, "{body}");
        assert_eq!(next["edges"].as_array().unwrap().len(), 2, "{body}");
        assert_eq!(next["edges"][1]["node"]["action"], "audit.event.list");

        // Filters by outcome and action.
        let body = server
            .gql(
                Some(&activity.auditor),
                "{ auditEvents(outcome: \"FORBIDDEN\", action: \"agency.list\") { totalCount edges { node { actorLabel } } } }",
                json!({}),
            )
            .await;
        assert_eq!(body["data"]["auditEvents"]["totalCount"], 2, "{body}");
        assert_eq!(
            body["data"]["auditEvents"]["edges"][0]["node"]["actorLabel"],
            "mash.manager"
        );

        // The auditor's own reads are on record.
        for action in [
            "audit.verify",
            "audit.event.list",
            "audit.checkpoint.create",
        ] {
            let n = audit_event::Entity::find()
                .filter(audit_event::Column::Action.eq(action))
                .filter(audit_event::Column::ActorLabel.eq("auditor"))
                .count(server.db())
                .await
                .unwrap();
            assert!(n >= 1, "{action} not audited");
        }

        // Checkpoints are listed, newest last.
        let body = server
            .gql(
                Some(&activity.auditor),
                "{ auditCheckpoints(first: 10) { totalCount edges { node { id chains { chain seq } signature publicKey } } } }",
                json!({}),
            )
            .await;
        assert_eq!(body["data"]["auditCheckpoints"]["totalCount"], 1, "{body}");
        let chains = body["data"]["auditCheckpoints"]["edges"][0]["node"]["chains"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(chains, audit::CHAINS as usize);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_trail_is_for_auditors_only() {
    each_backend(|server| async move {
        let operations = [
            ("auditEvents", "{ auditEvents { totalCount } }"),
            ("auditCheckpoints", "{ auditCheckpoints { totalCount } }"),
            ("verifyAuditTrail", "{ verifyAuditTrail { ok } }"),
            (
                "createAuditCheckpoint",
                "mutation { createAuditCheckpoint { id } }",
            ),
        ];
        let mut callers = Vec::new();
        for username in demo_users_without(Role::Auditor) {
            callers.push((username.to_string(), server.login(username).await));
        }
        callers.push((
            "police-case-system".into(),
            server
                .client_token("police-case-system", "police-demo-secret")
                .await,
        ));
        let refused_before = audit_event::Entity::find()
            .filter(audit_event::Column::Outcome.eq("FORBIDDEN"))
            .count(server.db())
            .await
            .unwrap();
        for (caller, token) in &callers {
            for (name, query) in operations {
                let body = server.gql(Some(token), query, json!({})).await;
                assert_eq!(
                    error_code(&body),
                    Some("FORBIDDEN"),
                    "{caller} → {name}: {body}"
                );
                assert!(body["data"].is_null(), "{caller} → {name}: {body}");
            }
        }
        for (name, query) in operations {
            let body = server.gql(None, query, json!({})).await;
            assert_eq!(
                error_code(&body),
                Some("UNAUTHENTICATED"),
                "anonymous → {name}"
            );
        }
        let refused_after = audit_event::Entity::find()
            .filter(audit_event::Column::Outcome.eq("FORBIDDEN"))
            .count(server.db())
            .await
            .unwrap();
        assert_eq!(
            refused_after - refused_before,
            (callers.len() * operations.len()) as u64,
            "every refusal is audited"
        );
        assert_eq!(
            server.count(entity::audit_checkpoint::Entity).await,
            0,
            "a refused caller signed a checkpoint"
        );
        let auditor = server.login("auditor").await;
        for (name, query) in operations {
            let body = server.gql(Some(&auditor), query, json!({})).await;
            assert!(body["errors"].is_null(), "auditor → {name}: {body}");
        }
        // And the refusals themselves do not break the chains.
        assert_eq!(verify(&server, &auditor, None).await["ok"], true);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_entry_or_ref_is_named() {
    each_backend(|server| async move {
        let activity = generate_activity(&server).await;
        let (chain, entries) = longest_chain(&server).await;
        let target = &entries[1];
        server
            .exec(&format!(
                "UPDATE audit_events SET actor_label = 'someone-else' WHERE id = {}",
                target.id
            ))
            .await;
        // Counted before verifying: the verification's own audit entry may land on a lower chain.
        let before = count_before(&server, chain).await;
        let result = verify(&server, &activity.auditor, None).await;
        assert_failure(&result, "HASH_MISMATCH", chain, target.seq);
        assert_eq!(result["firstFailure"]["eventId"], target.id.to_string());
        assert_eq!(result["checkedEntries"], target.seq - 1 + before);

        // Put it back: the trail verifies again.
        server
            .exec(&format!(
                "UPDATE audit_events SET actor_label = '{}' WHERE id = {}",
                target.actor_label, target.id
            ))
            .await;
        assert_eq!(verify(&server, &activity.auditor, None).await["ok"], true);

        // A child's ref moved to another child is an edit of its entry too.
        let named = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq("disclosure.read"))
            .order_by_asc(audit_event::Column::Id)
            .one(server.db())
            .await
            .unwrap()
            .unwrap();
        // (Its refs live in a set other entries may share: the entry is given a copy of its
        // set with the child swapped, as an attacker editing only this entry would.)
        let forged = format!("forged-{}", named.id);
        let set = named.ref_set.clone().unwrap();
        server
            .exec(&format!(
                "INSERT INTO audit_ref_set_members (ref_set, kind, ref_id) \
                 SELECT '{forged}', kind, CASE WHEN kind = 'Child' THEN '{}' ELSE ref_id END \
                 FROM audit_ref_set_members WHERE ref_set = '{set}'",
                Uuid::now_v7(),
            ))
            .await;
        server
            .exec(&format!(
                "UPDATE audit_events SET ref_set = '{forged}' WHERE id = {}",
                named.id
            ))
            .await;
        let result = verify(&server, &activity.auditor, None).await;
        assert_failure(&result, "HASH_MISMATCH", named.chain, named.seq);
        assert_eq!(result["firstFailure"]["eventId"], named.id.to_string());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renumbered_entry_or_a_format_downgrade_is_caught() {
    each_backend(|server| async move {
        let activity = generate_activity(&server).await;
        let (chain, entries) = longest_chain(&server).await;
        // An entry without refs, so the renumbering is only of the entry itself.
        let mut target = None;
        for entry in &entries[1..] {
            let refs = refs_of(server.db(), std::slice::from_ref(entry))
                .await
                .unwrap();
            if refs.get(&entry.id).is_none_or(|r| r.is_empty()) {
                target = Some(entry.clone());
                break;
            }
        }
        let target = target.expect("some entry of the chain names no record");
        assert_eq!(target.hash_version, audit::HASH_VERSION);
        let new_id = target.id + 1_000_000;
        server
            .exec(&format!(
                "UPDATE audit_events SET id = {new_id} WHERE id = {}",
                target.id
            ))
            .await;
        let result = verify(&server, &activity.auditor, None).await;
        assert_failure(&result, "HASH_MISMATCH", chain, target.seq);
        assert_eq!(result["firstFailure"]["eventId"], new_id.to_string());
        server
            .exec(&format!(
                "UPDATE audit_events SET id = {} WHERE id = {new_id}",
                target.id
            ))
            .await;
        assert_eq!(verify(&server, &activity.auditor, None).await["ok"], true);

        // Relabelling an entry as the older format (which leaves the id out) is refused
        // before its hash is even compared.
        server
            .exec(&format!(
                "UPDATE audit_events SET hash_version = 1 WHERE id = {}",
                target.id
            ))
            .await;
        let result = verify(&server, &activity.auditor, None).await;
        assert_failure(&result, "FORMAT_DOWNGRADE", chain, target.seq);
    })
    .await;
}

/// Entries in the chains walked before `chain` (the walk goes chain by chain).
async fn count_before(server: &TestServer, chain: i32) -> i64 {
    audit_event::Entity::find()
        .filter(audit_event::Column::Chain.lt(chain))
        .count(server.db())
        .await
        .unwrap() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_entry_is_named_as_a_gap() {
    each_backend(|server| async move {
        let activity = generate_activity(&server).await;
        let (chain, entries) = longest_chain(&server).await;
        let target = &entries[1];
        server
            .exec(&format!(
                "DELETE FROM audit_events WHERE id = {}",
                target.id
            ))
            .await;
        let result = verify(&server, &activity.auditor, None).await;
        assert_failure(&result, "MISSING_ENTRY", chain, target.seq);
        assert!(result["firstFailure"]["eventId"].is_null());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapped_entries_are_named_at_the_first() {
    each_backend(|server| async move {
        let activity = generate_activity(&server).await;
        let (chain, entries) = longest_chain(&server).await;
        let (first, second) = (&entries[0], &entries[2]);
        // Each row takes the other's content (hashes included), keeping its id and place.
        for (row, content) in [(first, second), (second, first)] {
            let mut swapped = content.clone();
            swapped.id = row.id;
            swapped.chain = row.chain;
            swapped.seq = row.seq;
            swapped
                .into_active_model()
                .reset_all()
                .update(server.db())
                .await
                .unwrap();
        }
        let result = verify(&server, &activity.auditor, None).await;
        assert_eq!(result["ok"], false, "{result}");
        let failure = &result["firstFailure"];
        assert!(
            ["HASH_MISMATCH", "BROKEN_LINK"].contains(&failure["reason"].as_str().unwrap()),
            "{result}"
        );
        assert_eq!(failure["chain"], chain);
        assert_eq!(failure["seq"], first.seq);
        assert_eq!(failure["eventId"], first.id.to_string());

        // Put them back; then swap their places (seq) instead: caught at the first place.
        for row in [first, second] {
            row.clone()
                .into_active_model()
                .reset_all()
                .update(server.db())
                .await
                .unwrap();
        }
        assert_eq!(verify(&server, &activity.auditor, None).await["ok"], true);
        let (a, b) = (&entries[1], &entries[2]);
        server
            .exec(&format!(
                "UPDATE audit_events SET seq = -1 WHERE id = {}",
                a.id
            ))
            .await;
        server
            .exec(&format!(
                "UPDATE audit_events SET seq = {} WHERE id = {}",
                a.seq, b.id
            ))
            .await;
        server
            .exec(&format!(
                "UPDATE audit_events SET seq = {} WHERE id = {}",
                b.seq, a.id
            ))
            .await;
        let result = verify(&server, &activity.auditor, None).await;
        assert_eq!(result["ok"], false, "{result}");
        assert_eq!(result["firstFailure"]["chain"], chain, "{result}");
        assert_eq!(result["firstFailure"]["seq"], a.seq, "{result}");
        assert_eq!(
            result["firstFailure"]["eventId"],
            b.id.to_string(),
            "{result}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_newest_entries_is_caught_by_an_exported_checkpoint() {
    each_backend(|server| async move {
        let activity = generate_activity(&server).await;
        let (chain, entries) = longest_chain(&server).await;
        let pinned = checkpointed_seq(&activity.exported, chain);
        assert_eq!(pinned, entries.last().unwrap().seq);
        // Remove the newest two entries and wind the head back to match: internally the
        // chain is consistent again. The stored checkpoints go too.
        let keep = &entries[entries.len() - 3];
        for gone in &entries[entries.len() - 2..] {
            server
                .exec(&format!("DELETE FROM audit_events WHERE id = {}", gone.id))
                .await;
        }
        server
            .exec(&format!(
                "UPDATE audit_chain_heads SET seq = {}, hash = '{}' WHERE chain = {chain}",
                keep.seq, keep.hash
            ))
            .await;
        server.exec("DELETE FROM audit_checkpoints").await;

        let result = verify(&server, &activity.auditor, Some(&activity.exported)).await;
        assert_failure(&result, "TRUNCATED", chain, pinned);
        // Without the auditor's copy the deletion cannot be seen (docs/design.md "The audit trail":
        // only up to the newest checkpoint the auditor holds).
        let result = verify(&server, &activity.auditor, None).await;
        assert_eq!(result["ok"], true, "{result}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_newest_entries_without_fixing_the_head_is_named() {
    each_backend(|server| async move {
        let activity = generate_activity(&server).await;
        let (chain, entries) = longest_chain(&server).await;
        let last = entries.last().unwrap();
        server
            .exec(&format!("DELETE FROM audit_events WHERE id = {}", last.id))
            .await;
        let result = verify(&server, &activity.auditor, None).await;
        assert_failure(&result, "MISSING_ENTRY", chain, last.seq);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consistently_rehashed_chain_is_caught_by_the_checkpoints() {
    each_backend(|server| async move {
        let activity = generate_activity(&server).await;
        let (chain, entries) = longest_chain(&server).await;
        let pinned = checkpointed_seq(&activity.exported, chain);
        // Edit the first entry, then recompute every hash after it and the head, as an
        // attacker who knows the algorithm (but not the key) would.
        let mut refs = refs_of(server.db(), &entries).await.unwrap();
        let mut prev = GENESIS_HASH.to_string();
        for (i, entry) in entries.iter().enumerate() {
            let mut forged = entry.clone();
            if i == 0 {
                forged.action = "nothing.to.see".into();
            }
            forged.prev_hash = prev.clone();
            forged.hash =
                audit::entry_hash(&forged, &refs.remove(&entry.id).unwrap_or_default()).unwrap();
            prev = forged.hash.clone();
            forged
                .into_active_model()
                .reset_all()
                .update(server.db())
                .await
                .unwrap();
        }
        let last = entries.last().unwrap();
        server
            .exec(&format!(
                "UPDATE audit_chain_heads SET hash = '{prev}' WHERE chain = {chain} AND seq = {}",
                last.seq
            ))
            .await;

        // The chain is internally consistent; the stored checkpoint disagrees.
        let result = verify(&server, &activity.auditor, None).await;
        assert_failure(&result, "CHECKPOINT_MISMATCH", chain, pinned);
        assert!(
            result["firstFailure"]["checkpointId"].is_string(),
            "{result}"
        );

        // Deleting the stored checkpoints does not help: the exported one disagrees too.
        server.exec("DELETE FROM audit_checkpoints").await;
        let result = verify(&server, &activity.auditor, Some(&activity.exported)).await;
        assert_failure(&result, "CHECKPOINT_MISMATCH", chain, pinned);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_checkpoints_fail_their_signature() {
    each_backend(|server| async move {
        let activity = generate_activity(&server).await;
        // An exported checkpoint edited to claim less (so truncation would pass).
        let mut edited: Value = serde_json::from_str(&activity.exported).unwrap();
        edited["chains"][0]["seq"] = json!(0);
        let result = verify(&server, &activity.auditor, Some(&edited.to_string())).await;
        assert_eq!(result["ok"], false);
        assert_eq!(
            result["firstFailure"]["reason"], "CHECKPOINT_SIGNATURE_INVALID",
            "{result}"
        );
        // Not JSON at all: bad input, and nothing is verified or recorded.
        let body = server
            .gql(
                Some(&activity.auditor),
                VERIFY,
                json!({ "c": "not a checkpoint" }),
            )
            .await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");

        // A stored checkpoint edited the same way.
        let stored = entity::audit_checkpoint::Entity::find()
            .one(server.db())
            .await
            .unwrap()
            .unwrap();
        let mut heads: Value = serde_json::from_str(&stored.heads).unwrap();
        heads[0]["seq"] = json!(0);
        server
            .exec(&format!(
                "UPDATE audit_checkpoints SET heads = '{}' WHERE id = {}",
                heads, stored.id
            ))
            .await;
        let result = verify(&server, &activity.auditor, None).await;
        assert_eq!(
            result["firstFailure"]["reason"], "CHECKPOINT_SIGNATURE_INVALID",
            "{result}"
        );
        assert_eq!(
            result["firstFailure"]["checkpointId"],
            stored.id.to_string()
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_processes_writing_at_once_keep_every_chain_valid() {
    // Fifty-two logins at once, none of which may be refused: the password hashing queue is
    // the process's, so this runs while no other test's server can use it.
    let _alone = hash_queue_alone().await;
    each_backend(|server| async move {
        // A second process on the same database: its own pool, its own HTTP server.
        let second = Core::start(server.core.config.clone()).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let second_base = format!("http://{}", listener.local_addr().unwrap());
        let app = build_app(second.clone());
        let second_server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        let bases = [server.base.clone(), second_base];

        let admin = server.login("admin").await;
        let refused = server.login("mash.social.worker").await;
        let auditor = server.login("auditor").await;
        let agencies = server
            .gql(Some(&admin), "{ agencies { edges { node { id name } } } }", json!({}))
            .await;
        let police = agencies["data"]["agencies"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["node"]["name"] == "West Midlands Police")
            .map(|e| e["node"]["id"].as_str().unwrap().to_string())
            .unwrap();
        let before = audit_count(&server).await;

        let mut requests: Vec<(String, Option<String>, String, Value)> = Vec::new();
        // One login per demo user, and failed logins (recorded without a transaction) under
        // names of their own: parallel logins of one account would race its throttle row.
        let login = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }";
        for user in demo::USERS.iter() {
            requests.push((
                String::new(),
                None,
                login.into(),
                json!({ "u": user.username, "p": demo::DEMO_PASSWORD }),
            ));
        }
        for i in 0..40 {
            requests.push((
                String::new(),
                None,
                login.into(),
                json!({ "u": format!("nobody.{i}"), "p": "wrong-password" }),
            ));
        }
        for _ in 0..120 {
            requests.push((String::new(), Some(refused.clone()), "{ agencies { totalCount } }".into(), json!({})));
        }
        for _ in 0..60 {
            requests.push((
                String::new(),
                Some(admin.clone()),
                "mutation($id: ID!) { updateAgency(input: { id: $id, sourceCode: \"6\" }) { id } }".into(),
                json!({ "id": police }),
            ));
        }
        let http = reqwest::Client::new();
        let mut tasks = Vec::new();
        for (i, (_, token, query, variables)) in requests.iter().cloned().enumerate() {
            let http = http.clone();
            let url = format!("{}/graphql", bases[i % 2]);
            tasks.push(tokio::spawn(async move {
                let mut request = http
                    .post(url)
                    .json(&json!({ "query": query, "variables": variables }));
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                let body: Value = request.send().await.unwrap().json().await.unwrap();
                body
            }));
        }
        // Entries straight through the writer of the second process, in transactions and
        // on its bare pool (the retrying path), naming a child.
        let child = Uuid::now_v7();
        for i in 0..40 {
            let core = second.clone();
            tasks.push(tokio::spawn(async move {
                let ctx = RequestCtx {
                    request_id: Some(Uuid::new_v4().to_string()),
                    ..RequestCtx::operator("load")
                };
                let entry = AuditEntry::success(Action::AuditVerify).children([child]);
                if i % 2 == 0 {
                    let txn = db::begin_write(&core.db).await.unwrap();
                    audit::record(&txn, &ctx, entry).await.unwrap();
                    txn.commit().await.unwrap();
                } else {
                    audit::record(&core.db, &ctx, entry).await.unwrap();
                }
                json!({ "data": "direct" })
            }));
        }
        let expected = tasks.len() as u64;
        for task in tasks {
            let body = task.await.unwrap();
            let code = error_code(&body);
            assert!(
                matches!(code, None | Some("FORBIDDEN") | Some("UNAUTHENTICATED")),
                "unexpected answer under load: {body}"
            );
        }
        let after = audit_count(&server).await;
        assert_eq!(after - before, expected, "every call wrote exactly one entry");
        let heads = audit_chain_head::Entity::find().all(server.db()).await.unwrap();
        assert_eq!(heads.iter().map(|h| h.seq as u64).sum::<u64>(), after);
        let used = heads.iter().filter(|h| h.seq > 0).count();
        assert!(used > 1, "writes were not spread over the chains");
        let result = verify(&server, &auditor, None).await;
        assert_eq!(result["ok"], true, "{result}");
        assert_eq!(result["checkedEntries"], after);
        second_server.abort();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_commands_checkpoint_export_and_verify() {
    each_backend(|server| async move {
        generate_activity(&server).await;
        let dir = tempfile::tempdir().unwrap();
        let key = {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(&server.core.config.signing_key)
        };
        let run = |args: &[&str]| {
            std::process::Command::new(env!("CARGO_BIN_EXE_frontdoor"))
                .args(args)
                .env("DATABASE_URL", &server.core.config.database_url)
                .env("FRONTDOOR_SIGNING_KEY", &key)
                .env_remove("FRONTDOOR_AUDIT_KEY")
                .env("FRONTDOOR_LOG", "error")
                .output()
                .unwrap()
        };
        let out = run(&["audit", "checkpoint"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = run(&["audit", "export-checkpoint"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let file = dir.path().join("checkpoint.json");
        std::fs::write(&file, &out.stdout).unwrap();
        let out = run(&["audit", "verify", "--checkpoint", file.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The operator's runs are audited.
        let by_operator = audit_event::Entity::find()
            .filter(audit_event::Column::ActorKind.eq("OPERATOR"))
            .filter(audit_event::Column::Action.starts_with("audit."))
            .count(server.db())
            .await
            .unwrap();
        assert_eq!(by_operator, 3);

        let (chain, entries) = longest_chain(&server).await;
        server
            .exec(&format!(
                "UPDATE audit_events SET outcome = 'SUCCESS', action = 'edited' WHERE id = {}",
                entries[0].id
            ))
            .await;
        let out = run(&["audit", "verify", "--checkpoint", file.to_str().unwrap()]);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!(
                "HASH_MISMATCH, chain {chain}, seq 1, event {}",
                entries[0].id
            )),
            "{stderr}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_naming_the_same_records_share_one_stored_set() {
    each_backend(|server| async move {
        let activity = generate_activity(&server).await;
        // Each of the four disclosure reads names the child and its own disclosure: four
        // sets. Writing the first one again adds an entry but no set.
        let sets_before = ref_set_count(&server).await;
        let ctx = RequestCtx {
            request_id: Some(Uuid::new_v4().to_string()),
            ..RequestCtx::operator("test")
        };
        let txn = db::begin_write(server.db()).await.unwrap();
        audit::record(
            &txn,
            &ctx,
            AuditEntry::success(Action::DisclosureRead)
                .entity("Disclosure", 0)
                .children([activity.child])
                .reference("Disclosure", 0),
        )
        .await
        .unwrap();
        txn.commit().await.unwrap();
        assert_eq!(ref_set_count(&server).await, sets_before);
        let reads = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq("disclosure.read"))
            .filter(audit_event::Column::EntityId.eq("0"))
            .all(server.db())
            .await
            .unwrap();
        assert_eq!(reads.len(), 2);
        assert_eq!(reads[0].ref_set, reads[1].ref_set);
        assert!(reads[0].ref_set.is_some());
        let result = verify(&server, &activity.auditor, None).await;
        assert_eq!(result["ok"], true, "{result}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trail_written_before_ref_sets_still_verifies_and_answers_after_the_upgrade() {
    use migration::MigratorTrait;
    each_backend(|server| async move {
        let activity = generate_activity(&server).await;
        let child_id = frontdoor::graphql::ids::encode("Child", activity.child);
        let query = "query($c: ID) { auditEvents(childId: $c, action: \"disclosure.read\") { totalCount edges { node { seq refs { kind id } children } } } }";
        let before = server
            .gql(Some(&activity.auditor), query, json!({ "c": child_id }))
            .await;
        assert_eq!(before["data"]["auditEvents"]["totalCount"], 4, "{before}");
        // Back to one ref row per entry (as written before sets), then up again: the old
        // rows become one set per entry.
        // (Every migration from the ref-set one on is undone, however many follow it.)
        let names: Vec<String> = migration::Migrator::migrations()
            .iter()
            .map(|m| m.name().to_string())
            .collect();
        let ref_sets = names
            .iter()
            .position(|n| n == "m20261207_000001_audit_ref_sets")
            .expect("the ref-set migration");
        let steps = (names.len() - ref_sets) as u32;
        migration::Migrator::down(server.db(), Some(steps)).await.unwrap();
        migration::Migrator::up(server.db(), None).await.unwrap();
        let legacy = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq("disclosure.read"))
            .all(server.db())
            .await
            .unwrap();
        assert_eq!(legacy.len(), 4);
        for entry in &legacy {
            assert_eq!(entry.ref_set, Some(format!("legacy:{}", entry.id)));
        }
        let result = verify(&server, &activity.auditor, None).await;
        assert_eq!(result["ok"], true, "{result}");
        let after = server
            .gql(Some(&activity.auditor), query, json!({ "c": child_id }))
            .await;
        assert_eq!(
            after["data"]["auditEvents"], before["data"]["auditEvents"],
            "{after}"
        );
        // New entries are written as sets beside the legacy ones, and still verify.
        server.login("mash.manager").await;
        let result = verify(&server, &activity.auditor, None).await;
        assert_eq!(result["ok"], true, "{result}");
    })
    .await;
}

async fn ref_set_count(server: &TestServer) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let row = server
        .db()
        .query_one_raw(Statement::from_string(
            server.db().get_database_backend(),
            "SELECT COUNT(*) AS n FROM audit_ref_sets",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "n").unwrap()
}
