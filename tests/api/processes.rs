//! Real server processes: two writing to one PostgreSQL database at once (every audit chain
//! stays valid, with no global lock between them), and one killed in the middle of audited
//! reads (no answered read loses its entry).

use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use entity::audit_event;
use frontdoor_testkit::{Backend, TestServer};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{json, Value};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_frontdoor");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn spawn_server(database_url: &str, key: &str) -> (Child, String) {
    let port = free_port();
    let child = Command::new(BIN)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", database_url)
        .env("FRONTDOOR_SIGNING_KEY", key)
        .env("FRONTDOOR_AUDIT_CHECKPOINT_SECS", "1")
        .env("FRONTDOOR_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start frontdoor");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await {
            if r.status().is_success() {
                return (child, base);
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server process did not become ready");
}

async fn call(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    query: &str,
    variables: Value,
) -> Value {
    http.post(format!("{base}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_processes_write_one_postgresql_and_the_trail_verifies() {
    if std::env::var("FRONTDOOR_TEST_POSTGRES")
        .map(|v| v.is_empty())
        .unwrap_or(true)
    {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "note: two-process audit test needs FRONTDOOR_TEST_POSTGRES; skipped"
        );
        return;
    }
    // A fresh database with demo data; the two processes share it and the signing key.
    let server = TestServer::start(Backend::Postgres).await;
    let url = server.core.config.database_url.clone();
    let key = base64::engine::general_purpose::STANDARD.encode(&server.core.config.signing_key);
    let (mut a, base_a) = spawn_server(&url, &key).await;
    let (mut b, base_b) = spawn_server(&url, &key).await;

    let school = server.login("school.referrer").await;
    let manager = server.login("mash.manager").await;
    let before = audit_event::Entity::find()
        .count(server.db())
        .await
        .unwrap();
    let submit = "mutation($input: SubmitContactInput!) { submitContact(input: $input) { id } }";
    let mut tasks = Vec::new();
    for n in 0..120 {
        let base = if n % 2 == 0 {
            base_a.clone()
        } else {
            base_b.clone()
        };
        let (school, manager) = (school.clone(), manager.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let input = json!({ "input": {
                "child": { "firstName": format!("Proc{n}"), "lastName": "Twoprocesses", "gender": "NOT_STATED" },
                "concernCategories": ["21"], "narrative": "Concurrent submission.", "consent": { "position": "REFUSED" } } });
            let body = call(&http, &base, &school, submit, input).await;
            let id = body["data"]["submitContact"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_string();
            let read = call(&http, &base, &manager, "query($id: ID!) { contact(id: $id) { id } }", json!({ "id": id })).await;
            assert_eq!(read["data"]["contact"]["id"], id.as_str(), "{read}");
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let after = audit_event::Entity::find()
        .count(server.db())
        .await
        .unwrap();
    assert!(
        after - before >= 240,
        "every submission and read is audited ({} entries)",
        after - before
    );

    // Both processes signed checkpoints meanwhile; stop them and verify from the command line.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    a.kill().await.unwrap();
    b.kill().await.unwrap();
    verify_from_command_line(&url, &key).await;
}

/// `frontdoor audit verify` on the database, as an operator would run it; fails the test
/// unless the trail and its checkpoints verify.
async fn verify_from_command_line(url: &str, key: &str) {
    let output = Command::new(BIN)
        .args(["audit", "verify"])
        .env("DATABASE_URL", url)
        .env("FRONTDOOR_SIGNING_KEY", key)
        .env("FRONTDOOR_LOG", "warn")
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "verify failed: {} {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// kill -9 in the middle of audited reads: every read whose answer reached its client has
/// its committed audit entry (the group commit answers only after the commit), and the trail
/// still verifies. On both databases: the killed process shares the test's database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_loses_no_entry_of_an_answered_read() {
    frontdoor_testkit::each_backend(|server| async move {
        let url = server.core.config.database_url.clone();
        let key =
            base64::engine::general_purpose::STANDARD.encode(&server.core.config.signing_key);
        let school = server.login("school.referrer").await;
        let submit = "mutation($input: SubmitContactInput!) { submitContact(input: $input) { id } }";
        let input = json!({ "input": {
            "child": { "firstName": "Kit", "lastName": "Crashfixture", "gender": "NOT_STATED" },
            "concernCategories": ["21"], "narrative": "Read while the server dies.", "consent": { "position": "REFUSED" } } });
        let body = server.gql(Some(&school), submit, input).await;
        let contact = body["data"]["submitContact"]["id"].as_str().unwrap().to_string();
        let worker = server.login("mash.social.worker").await;

        let (mut process, base) = spawn_server(&url, &key).await;
        let answered = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let mut readers = Vec::new();
        for _ in 0..16 {
            let (base, worker, contact, answered) =
                (base.clone(), worker.clone(), contact.clone(), answered.clone());
            readers.push(tokio::spawn(async move {
                let http = reqwest::Client::new();
                let query = json!({ "query": "query($id: ID!) { contact(id: $id) { id child { id } } }", "variables": { "id": contact } });
                loop {
                    let Ok(response) = http
                        .post(format!("{base}/graphql"))
                        .bearer_auth(&worker)
                        .json(&query)
                        .send()
                        .await
                    else {
                        return;
                    };
                    let id = response.headers()["x-request-id"].to_str().unwrap().to_string();
                    let Ok(body) = response.json::<Value>().await else {
                        return;
                    };
                    if body["data"]["contact"]["id"] == contact.as_str() {
                        answered.lock().unwrap().push(id);
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        process.kill().await.unwrap(); // SIGKILL: no drain, no flush
        for reader in readers {
            reader.await.unwrap();
        }
        let answered = answered.lock().unwrap().clone();
        assert!(answered.len() > 50, "load reached the server ({} reads)", answered.len());
        for chunk in answered.chunks(500) {
            use sea_orm::{ColumnTrait, QueryFilter};
            let found = audit_event::Entity::find()
                .filter(audit_event::Column::RequestId.is_in(chunk.to_vec()))
                .filter(audit_event::Column::Action.eq("contact.read"))
                .count(server.db())
                .await
                .unwrap();
            assert_eq!(found, chunk.len() as u64, "every answered read has its entry");
        }
        verify_from_command_line(&url, &key).await;
    })
    .await;
}

/// Deactivation reaches every instance within seconds even though each remembers a token's
/// principal briefly: at once on the instance that made the change, within the cache's two
/// seconds on another process sharing the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivated_user_is_refused_by_every_instance_within_seconds() {
    frontdoor_testkit::each_backend(|server| async move {
        let url = server.core.config.database_url.clone();
        let key = base64::engine::general_purpose::STANDARD.encode(&server.core.config.signing_key);
        let (_other, other_base) = spawn_server(&url, &key).await;
        let http = reqwest::Client::new();
        let referrer = server.login("la.referrer").await;
        let me = "{ me { id } }";
        let body = call(&http, &other_base, &referrer, me, json!({})).await;
        let user_id = body["data"]["me"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .to_string();
        // Both instances now remember the token's principal.
        assert!(server.gql(Some(&referrer), me, json!({})).await["data"]["me"].is_object());

        let admin = server.login("admin").await;
        let body = server
            .gql(
                Some(&admin),
                "mutation($u: ID!) { deactivateUser(userId: $u) { id } }",
                json!({ "u": user_id }),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        let here = server.gql(Some(&referrer), me, json!({})).await;
        assert_eq!(
            frontdoor_testkit::error_code(&here),
            Some("UNAUTHENTICATED"),
            "{here}"
        );

        let deactivated = std::time::Instant::now();
        loop {
            let body = call(&http, &other_base, &referrer, me, json!({})).await;
            if body["data"]["me"].is_null() {
                break;
            }
            assert!(
                deactivated.elapsed() < Duration::from_secs(3),
                "the other instance still answers after {:?}",
                deactivated.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
}
