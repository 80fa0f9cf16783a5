//! What an anonymous caller can cost the server: the hashing queue, document limits,
//! per-source failure limits, metric labels, slow and idle connections, JSON-only
//! GraphQL, draining on SIGTERM, and owner-only files.

use std::future::Future;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use frontdoor::config::Config;
use frontdoor_testkit::*;
use serde_json::{json, Value};

const LOGIN: &str =
    "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }";

fn backends() -> Vec<Backend> {
    let mut backends = vec![Backend::Sqlite];
    if std::env::var("FRONTDOOR_TEST_POSTGRES").is_ok_and(|u| !u.trim().is_empty()) {
        backends.push(Backend::Postgres);
    }
    backends
}

/// Like `each_backend`, with the configuration adjusted first.
async fn each_configured<F, Fut>(adjust: fn(&mut Config), test: F)
where
    F: Fn(TestServer) -> Fut,
    Fut: Future<Output = ()>,
{
    for backend in backends() {
        test(TestServer::start_with(backend, adjust).await).await;
    }
}

async fn login_entries(s: &TestServer) -> u64 {
    let mut total = 0;
    for outcome in [
        "SUCCESS",
        "UNAUTHENTICATED",
        "RATE_LIMITED",
        "BAD_USER_INPUT",
    ] {
        total += s.audit_count("login", outcome).await;
    }
    total
}

async fn throttle_rows(s: &TestServer) -> u64 {
    s.count(entity::login_throttle::Entity).await
}

fn message(body: &Value) -> String {
    body["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

// 1. The hashing queue.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_flood_is_queued_and_the_overflow_is_told_to_retry() {
    // The hashing queue is the process's, and every test shares the process: the flood
    // runs while no other test's server is alive (see frontdoor_testkit's hash_queue).
    let _alone = hash_queue_alone().await;
    each_configured(
        |c| c.source_limit.failures = 0,
        |server| async move {
            let cores = std::thread::available_parallelism().unwrap().get();
            let n = cores * (frontdoor::auth::password::HASH_WAITERS_PER_CORE + 1) + 60;
            let before = login_entries(&server).await;
            let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(n));
            let mut tasks = Vec::new();
            for i in 0..n {
                let url = server.url("/graphql");
                let barrier = barrier.clone();
                tasks.push(tokio::spawn(async move {
                    let http = reqwest::Client::new();
                    let _ = http.get(url.replace("/graphql", "/healthz")).send().await;
                    barrier.wait().await;
                    let response = http
                        .post(url)
                        .json(&json!({ "query": LOGIN, "variables": { "u": format!("nobody.{i}"), "p": "wrong-password-1" } }))
                        .send()
                        .await
                        .unwrap();
                    response.json::<Value>().await.expect("every answer is JSON")
                }));
            }
            let (mut refused, mut busy) = (0, 0);
            for task in tasks {
                let body = task.await.unwrap();
                match error_code(&body) {
                    Some("UNAUTHENTICATED") => refused += 1,
                    Some("RATE_LIMITED") => {
                        busy += 1;
                        assert!(
                            body["errors"][0]["extensions"]["retryAfterSeconds"].as_u64() >= Some(1),
                            "{body}"
                        );
                    }
                    other => panic!("unexpected answer {other:?}: {body}"),
                }
            }
            assert!(busy > 0, "more than the queue holds were let through");
            assert!(refused >= cores, "the queue answered nobody");
            // Every attempt is on the record, whichever answer it got.
            assert_eq!(login_entries(&server).await - before, n as u64);
            assert_eq!(server.audit_count("login", "RATE_LIMITED").await, busy);

            // Once the flood has passed, a real user signs in as ever.
            let token = server.login("admin").await;
            assert!(!token.is_empty());
        },
    )
    .await;
}

// 2. Document limits.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_aliased_logins_are_refused_before_any_hash() {
    each_backend(|server| async move {
        let entries = login_entries(&server).await;
        let rows = throttle_rows(&server).await;
        let aliases: String = (0..200)
            .map(|i| format!("a{i}: login(username: \"nobody.{i}\", password: \"wrong-password-1\") {{ accessToken }} "))
            .collect();
        let started = Instant::now();
        let (status, body) = server
            .post(None, &format!("mutation {{ {aliases} }}"), json!({}))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
        assert!(body["data"].is_null(), "{body}");
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(login_entries(&server).await, entries, "no login ran");
        assert_eq!(throttle_rows(&server).await, rows, "no attempt was counted");

        // Two session fields, however spelt: an alias, an inline fragment, a named fragment.
        for query in [
            "mutation { a: login(username: \"admin\", password: \"x\") { accessToken } b: login(username: \"admin\", password: \"y\") { accessToken } }",
            "mutation { login(username: \"admin\", password: \"x\") { accessToken } ... on Mutation { refreshToken(refreshToken: \"r\") { accessToken } } }",
            "mutation { ...F login(username: \"admin\", password: \"x\") { accessToken } } fragment F on Mutation { changePassword(currentPassword: \"a\", newPassword: \"b\") { accessToken } }",
        ] {
            let body = server.gql(None, query, json!({})).await;
            assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
            assert!(message(&body).contains("at most 1 of login"), "{body}");
        }
        assert_eq!(login_entries(&server).await, entries);
        assert_eq!(throttle_rows(&server).await, rows);

        // One login still works, and asks for both tokens.
        let body = server.login_tokens("admin", PASSWORD).await;
        assert!(body["data"]["login"]["refreshToken"].is_string(), "{body}");

        let token = server.login("admin").await;
        // Sixteen aliases of a harmless field.
        let aliases: String = (0..16).map(|i| format!("a{i}: me {{ name }} ")).collect();
        let body = server.gql(Some(&token), &format!("{{ {aliases} }}"), json!({})).await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
        assert!(message(&body).contains("aliases"), "{body}");
        let aliases: String = (0..15).map(|i| format!("a{i}: me {{ name }} ")).collect();
        let body = server.gql(Some(&token), &format!("{{ {aliases} }}"), json!({})).await;
        assert!(body["errors"].is_null(), "fifteen are allowed: {body}");

        // More than 1,000 tokens.
        let fields = "name ".repeat(1_000);
        let body = server.gql(Some(&token), &format!("{{ me {{ {fields} }} }}"), json!({})).await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
        assert!(message(&body).contains("tokens"), "{body}");

        // A query string over 64 KiB, inside a body well under the 1 MiB limit.
        let comment = format!("# {}\n", "x".repeat(70 * 1024));
        let (status, body) = server
            .post(Some(&token), &format!("{comment}{{ me {{ name }} }}"), json!({}))
            .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
        assert!(message(&body).contains("too large"), "{body}");
    })
    .await;
}

// 3. Per-source failure limits.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_that_fails_too_often_is_refused_even_with_the_right_password() {
    each_configured(
        |c| c.source_limit.failures = 5,
        |server| async move {
            for i in 0..5 {
                let body = server
                    .gql(
                        None,
                        LOGIN,
                        json!({ "u": format!("guess.{i}"), "p": "wrong-password-1" }),
                    )
                    .await;
                assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{body}");
            }
            let limited_before = server.audit_count("login", "RATE_LIMITED").await;
            let rows = throttle_rows(&server).await;
            let body = server.login_tokens("admin", PASSWORD).await;
            assert_eq!(error_code(&body), Some("RATE_LIMITED"), "{body}");
            let retry = body["errors"][0]["extensions"]["retryAfterSeconds"]
                .as_u64()
                .unwrap();
            assert!((1..=300).contains(&retry), "{body}");
            assert_eq!(
                server.audit_count("login", "RATE_LIMITED").await,
                limited_before + 1,
                "the refusal is audited"
            );
            assert_eq!(
                throttle_rows(&server).await,
                rows,
                "refused before the account throttle"
            );

            // The token endpoint shares the source's count.
            let response = server
                .http
                .post(server.url("/oauth/token"))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", "police-case-system"),
                    ("client_secret", "police-demo-secret"),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 429);
            assert!(response.headers().get("retry-after").is_some());
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"], "rate_limited", "{body}");
            assert_eq!(server.audit_count("oauth.token", "RATE_LIMITED").await, 1);
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_token_requests_count_and_successes_do_not() {
    each_configured(
        |c| c.source_limit.failures = 3,
        |server| async move {
            let token = |secret: &'static str| {
                let http = server.http.clone();
                let url = server.url("/oauth/token");
                async move {
                    http.post(url)
                        .form(&[
                            ("grant_type", "client_credentials"),
                            ("client_id", "police-case-system"),
                            ("client_secret", secret),
                        ])
                        .send()
                        .await
                        .unwrap()
                }
            };
            // Successes are handed back: many of them never reach the limit.
            for _ in 0..6 {
                assert_eq!(token("police-demo-secret").await.status(), 200);
            }
            for _ in 0..3 {
                assert_eq!(token("wrong-secret").await.status(), 401);
            }
            let refused = token("police-demo-secret").await;
            assert_eq!(refused.status(), 429);
            let body: Value = refused.json().await.unwrap();
            assert!(body["retry_after_seconds"].as_u64() >= Some(1), "{body}");
            // A successful login is handed back too; a failed one is counted.
            let body = server
                .gql(
                    None,
                    LOGIN,
                    json!({ "u": "nobody", "p": "wrong-password-1" }),
                )
                .await;
            assert_eq!(error_code(&body), Some("RATE_LIMITED"), "{body}");
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_names_the_source_only_behind_a_trusted_proxy() {
    let fail_as = |server: &TestServer, forwarded: &'static str| {
        let http = server.http.clone();
        let url = server.url("/graphql");
        async move {
            let body: Value = http
                .post(url)
                .header("x-forwarded-for", forwarded)
                .json(&json!({ "query": LOGIN, "variables": { "u": "nobody", "p": "wrong-password-1" } }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            error_code(&body).map(str::to_string)
        }
    };
    for backend in backends() {
        let server = TestServer::start_with(backend, |c| {
            c.source_limit.failures = 2;
            c.trusted_proxies = frontdoor::config::parse_trusted_proxies("127.0.0.0/8").unwrap();
        })
        .await;
        for _ in 0..2 {
            assert_eq!(
                fail_as(&server, "203.0.113.7").await.as_deref(),
                Some("UNAUTHENTICATED")
            );
        }
        assert_eq!(
            fail_as(&server, "203.0.113.7").await.as_deref(),
            Some("RATE_LIMITED")
        );
        // Another client behind the same proxy has its own count; a spoofed leftmost hop
        // does not change whose count it is.
        assert_eq!(
            fail_as(&server, "198.51.100.1, 203.0.113.8")
                .await
                .as_deref(),
            Some("UNAUTHENTICATED")
        );
        assert_eq!(
            fail_as(&server, "203.0.113.7, 203.0.113.8")
                .await
                .as_deref(),
            Some("UNAUTHENTICATED")
        );
        assert_eq!(
            fail_as(&server, "203.0.113.8").await.as_deref(),
            Some("RATE_LIMITED")
        );

        // Without a trusted proxy the header is ignored: every attempt is the peer's.
        let direct = TestServer::start_with(backend, |c| c.source_limit.failures = 2).await;
        assert_eq!(
            fail_as(&direct, "192.0.2.1").await.as_deref(),
            Some("UNAUTHENTICATED")
        );
        assert_eq!(
            fail_as(&direct, "192.0.2.2").await.as_deref(),
            Some("UNAUTHENTICATED")
        );
        assert_eq!(
            fail_as(&direct, "192.0.2.3").await.as_deref(),
            Some("RATE_LIMITED")
        );
    }
}

// 4. Metric labels.

fn series(metrics: &str) -> Vec<String> {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' ').map(|(name, _)| name.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_field_names_do_not_mint_metric_labels() {
    each_backend(|server| async move {
        let metrics = || server.metrics_text();
        let body = server.gql(None, "{ warmUpField }", json!({})).await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"));
        let before = metrics().await;
        for i in 0..300 {
            let body = server
                .gql(None, &format!("{{ madeUp{i} }} "), json!({}))
                .await;
            assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
        }
        let after = metrics().await;
        assert_eq!(series(&before), series(&after), "no new series");
        assert!(
            after.len() <= before.len() + 64,
            "the body grew with the names: {} -> {}",
            before.len(),
            after.len()
        );
        assert!(!after.contains("madeUp"));
        assert!(after.contains("operation=\"query:unknown\""), "{after}");
        // Known root fields still name their operation.
        let token = server.login("admin").await;
        server.gql(Some(&token), "{ me { name } }", json!({})).await;
        assert!(metrics().await.contains("operation=\"query:me\""));
    })
    .await;
}

// 5. Slow and idle connections.

/// Reads until the server closes the connection or `limit` passes; true if it closed.
fn closed_within(stream: &mut std::net::TcpStream, limit: Duration) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    while started.elapsed() < limit {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return true,
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_trickling_its_headers_is_cut_off() {
    each_configured(
        |c| {
            c.header_timeout = Duration::from_secs(2);
            c.idle_timeout = Duration::from_secs(3);
        },
        |server| async move {
            let addr = server.base.trim_start_matches("http://").to_string();
            let trickle = tokio::task::spawn_blocking(move || {
                let mut stream = std::net::TcpStream::connect(&addr).unwrap();
                let started = Instant::now();
                let request = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
                for byte in request {
                    if stream.write_all(&[*byte]).is_err() {
                        break;
                    }
                    if closed_within(&mut stream, Duration::from_secs(1)) {
                        break;
                    }
                    if started.elapsed() > Duration::from_secs(12) {
                        break;
                    }
                }
                started.elapsed()
            });
            let took = trickle.await.unwrap();
            assert!(
                took < Duration::from_secs(5),
                "the connection stayed open {took:?} for a trickle of headers"
            );

            // A connection that went quiet after its answer is closed after the idle time.
            let addr = server.base.trim_start_matches("http://").to_string();
            let idle = tokio::task::spawn_blocking(move || {
                let mut stream = std::net::TcpStream::connect(&addr).unwrap();
                stream
                    .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
                    .unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(2)))
                    .unwrap();
                let mut buf = [0u8; 1024];
                let n = stream.read(&mut buf).unwrap();
                assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
                let started = Instant::now();
                let closed = closed_within(&mut stream, Duration::from_secs(8));
                (closed, started.elapsed())
            });
            let (closed, took) = idle.await.unwrap();
            assert!(closed && took < Duration::from_secs(6), "idle connection open {took:?}");
            // The server still answers.
            let r = server.http.get(server.url("/healthz")).send().await.unwrap();
            assert_eq!(r.status(), 200);
        },
    )
    .await;
}

// 6. JSON only.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_executes_only_json_bodies() {
    each_backend(|server| async move {
        let entries = login_entries(&server).await;
        let rows = throttle_rows(&server).await;
        let body =
            json!({ "query": LOGIN, "variables": { "u": "admin", "p": PASSWORD } }).to_string();
        for content_type in [
            Some("text/plain"),
            Some("text/plain;charset=UTF-8"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            None,
        ] {
            let mut request = server.http.post(server.url("/graphql")).body(body.clone());
            if let Some(ct) = content_type {
                request = request.header("content-type", ct);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 415, "{content_type:?}");
            let answer: Value = response.json().await.expect("a JSON error body");
            assert_eq!(error_code(&answer), Some("BAD_USER_INPUT"), "{answer}");
        }
        assert_eq!(
            login_entries(&server).await,
            entries,
            "nothing was executed"
        );
        assert_eq!(throttle_rows(&server).await, rows);

        for content_type in [
            "application/json; charset=utf-8",
            "application/graphql-response+json",
        ] {
            let response = server
                .http
                .post(server.url("/graphql"))
                .header("content-type", content_type)
                .body(body.clone())
                .send()
                .await
                .unwrap();
            let answer: Value = response.json().await.unwrap();
            assert!(
                answer["data"]["login"]["accessToken"].is_string(),
                "{answer}"
            );
        }
    })
    .await;
}

// 7. SIGTERM drains.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_request_in_flight_finish_and_exits_zero() {
    each_backend(|server| async move {
        let process = ServerProcess::spawn(&server).await;
        let addr = process.base.trim_start_matches("http://").to_string();
        let body = json!({ "query": LOGIN, "variables": { "u": "admin", "p": PASSWORD } }).to_string();
        let (head, tail) = body.split_at(body.len() / 2);
        let (head, tail) = (head.to_string(), tail.to_string());
        let pid = process.pid();
        // The request is under way (headers and half its body sent) when the signal comes.
        let client = tokio::task::spawn_blocking(move || {
            let mut stream = std::net::TcpStream::connect(&addr).unwrap();
            write!(
                stream,
                "POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{head}",
                body.len()
            )
            .unwrap();
            std::thread::sleep(Duration::from_millis(300));
            assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGTERM) }, 0);
            std::thread::sleep(Duration::from_millis(700));
            stream.write_all(tail.as_bytes()).unwrap();
            let mut answer = String::new();
            stream
                .set_read_timeout(Some(Duration::from_secs(20)))
                .unwrap();
            let _ = stream.read_to_string(&mut answer);
            answer
        });
        let answer = client.await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains("accessToken"), "the full answer came: {answer}");
        let status = tokio::time::timeout(Duration::from_secs(20), process.wait())
            .await
            .expect("the process exits after draining");
        assert_eq!(status.code(), Some(0), "{status:?}");
    })
    .await;
}

// 8. Owner-only files.

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_file_and_the_development_key_are_owner_only() {
    // The test rig's own SQLite database was created by the server.
    let server = TestServer::start(Backend::Sqlite).await;
    let url = &server.core.config.database_url;
    let path = std::path::PathBuf::from(
        url.trim_start_matches("sqlite://")
            .split('?')
            .next()
            .unwrap(),
    );
    assert_eq!(mode(&path), 0o600, "{}", path.display());
    for suffix in ["-wal", "-shm"] {
        let side = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        if side.exists() {
            assert_eq!(mode(&side) & 0o077, 0, "{}", side.display());
        }
    }

    // `frontdoor migrate` in development with no key: database and generated key file.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fresh.db");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_frontdoor"))
        .arg("migrate")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}?mode=rwc", db.display()),
        )
        .env_remove("FRONTDOOR_SIGNING_KEY")
        .env_remove("FRONTDOOR_SIGNING_KEY_FILE")
        .env("FRONTDOOR_LOG", "error")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(mode(&db), 0o600);
    let key = dir.path().join("fresh.db.signing-key");
    assert_eq!(mode(&key), 0o600);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_export_never_writes_through_a_link_or_over_a_file_unasked() {
    use std::os::unix::fs::PermissionsExt;
    each_backend(|server| async move {
        let key = {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(&server.core.config.signing_key)
        };
        let export = |output: &std::path::Path, force: bool| {
            let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_frontdoor"));
            command
                .args([
                    "export",
                    "annex-a",
                    "--list",
                    "1",
                    "--from",
                    "2019-01-01",
                    "--to",
                    "2019-12-31",
                ])
                .args(["--reason", "inspection dry run", "--output"])
                .arg(output)
                .env("DATABASE_URL", &server.core.config.database_url)
                .env("FRONTDOOR_SIGNING_KEY", &key)
                .env("FRONTDOOR_LOG", "error");
            if force {
                command.arg("--force");
            }
            command.output().unwrap()
        };
        let dir = tempfile::tempdir().unwrap();
        let exports_before = server.audit_count("export.annex_a", "SUCCESS").await;

        let fresh = dir.path().join("list1.csv");
        let out = export(&fresh, false);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(mode(&fresh), 0o600);

        // Over an existing file: refused without --force, and the file is untouched.
        let existing = dir.path().join("existing.csv");
        std::fs::write(&existing, "keep me").unwrap();
        std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = export(&existing, false);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
        assert_eq!(std::fs::read_to_string(&existing).unwrap(), "keep me");
        let out = export(&existing, true);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_ne!(std::fs::read_to_string(&existing).unwrap(), "keep me");
        assert_eq!(mode(&existing), 0o600, "narrowed when replaced");

        // Through a symbolic link: refused with or without --force; the target untouched.
        let target = dir.path().join("target.txt");
        std::fs::write(&target, "target").unwrap();
        let link = dir.path().join("link.csv");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let dangling = dir.path().join("dangling.csv");
        std::os::unix::fs::symlink(dir.path().join("nowhere.csv"), &dangling).unwrap();
        for (path, force) in [
            (&link, false),
            (&link, true),
            (&dangling, false),
            (&dangling, true),
        ] {
            let out = export(path, force);
            assert!(!out.status.success(), "{} force={force}", path.display());
            assert!(String::from_utf8_lossy(&out.stderr).contains("symbolic link"));
        }
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "target");
        assert!(!dir.path().join("nowhere.csv").exists());

        // Only the two exports that wrote a file were audited.
        let exported = server.audit_count("export.annex_a", "SUCCESS").await - exports_before;
        assert_eq!(exported, 2);
    })
    .await;
}

/// A page at `origin` asking for `me` with a bearer token, as its browser sends it.
async fn post_me_from(server: &TestServer, token: &str, origin: &str) -> reqwest::Response {
    server
        .http
        .post(server.url("/graphql"))
        .header("origin", origin)
        .bearer_auth(token)
        .json(&json!({ "query": "{ me { name } }" }))
        .send()
        .await
        .unwrap()
}

/// A browser's preflight for a GraphQL POST with a bearer token, from `origin`.
async fn preflight(server: &TestServer, origin: &str) -> reqwest::Response {
    server
        .http
        .request(reqwest::Method::OPTIONS, server.url("/graphql"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_origin_calls_come_only_from_the_configured_origins() {
    each_configured(
        |c| c.cors_origins = vec!["https://mash.example.gov.uk".into()],
        |server| async move {
            let allowed = preflight(&server, "https://mash.example.gov.uk").await;
            assert!(allowed.status().is_success(), "{}", allowed.status());
            let headers = allowed.headers();
            assert_eq!(
                headers["access-control-allow-origin"],
                "https://mash.example.gov.uk"
            );
            let allowed_headers = headers["access-control-allow-headers"]
                .to_str()
                .unwrap()
                .to_ascii_lowercase();
            assert!(
                allowed_headers.contains("authorization"),
                "{allowed_headers}"
            );

            // Another origin's preflight names no origin, so its browser refuses the call.
            let refused = preflight(&server, "https://evil.example.com").await;
            assert!(refused
                .headers()
                .get("access-control-allow-origin")
                .is_none());

            // The real call from an allowed page sees the answer and its request id.
            let token = server.login("mash.manager").await;
            let answer = post_me_from(&server, &token, "https://mash.example.gov.uk").await;
            assert_eq!(
                answer.headers()["access-control-allow-origin"],
                "https://mash.example.gov.uk"
            );
            let exposed = answer.headers()["access-control-expose-headers"]
                .to_str()
                .unwrap()
                .to_string();
            assert!(exposed.contains("x-request-id"), "{exposed}");
            let body: Value = answer.json().await.unwrap();
            assert!(body["data"]["me"]["name"].is_string(), "{body}");

            let other = post_me_from(&server, &token, "https://evil.example.com").await;
            assert!(other.headers().get("access-control-allow-origin").is_none());
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_origins_configured_no_page_elsewhere_may_call() {
    each_backend(|server| async move {
        let response = preflight(&server, "https://mash.example.gov.uk").await;
        assert!(!response.status().is_success(), "{}", response.status());
        assert!(response
            .headers()
            .get("access-control-allow-origin")
            .is_none());
    })
    .await;
}

#[test]
fn cors_origins_must_be_origins() {
    use frontdoor::config::parse_cors_origins;
    assert_eq!(
        parse_cors_origins(" https://MASH.example.gov.uk , http://localhost:5173 ").unwrap(),
        vec!["https://mash.example.gov.uk", "http://localhost:5173"]
    );
    assert_eq!(parse_cors_origins("").unwrap(), Vec::<String>::new());
    for bad in [
        "*",
        "mash.example.gov.uk",
        "https://mash.example.gov.uk/",
        "https://*.gov.uk",
    ] {
        let err = parse_cors_origins(bad).unwrap_err();
        assert!(err.contains("FRONTDOOR_CORS_ORIGINS"), "{bad}: {err}");
    }
}
