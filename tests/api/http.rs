//! The HTTP surface: health, readiness, metrics, limits, GraphiQL, request ids, the schema file.

use frontdoor::config::Mode;
use frontdoor_testkit::{each_backend, error_code, Backend, TestServer};
use serde_json::{json, Value};

/// GraphiQL's own introspection query (abridged only in whitespace).
const INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}
"#;

fn deep_query(depth: usize) -> String {
    let mut query = String::from("{ __schema { types { fields { type ");
    for _ in 0..depth {
        query.push_str("{ ofType ");
    }
    query.push_str("{ name }");
    for _ in 0..depth {
        query.push_str(" }");
    }
    query.push_str(" } } } }");
    query
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics() {
    each_backend(|server| async move {
        let health = server
            .http
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 200);
        let ready = server.http.get(server.url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 200);

        let token = server.login("mash.manager").await;
        server.gql(Some(&token), "{ me { name } }", json!({})).await;
        server
            .gql(Some(&token), "{ agencies { totalCount } }", json!({}))
            .await;
        let metrics = server.metrics_text().await;
        assert!(
            metrics.contains("frontdoor_graphql_requests_total{operation=\"query:me\"} 1"),
            "{metrics}"
        );
        assert!(
            metrics.contains("frontdoor_graphql_requests_total{operation=\"mutation:login\"} 1")
        );
        assert!(metrics.contains("frontdoor_graphql_errors_total{code=\"FORBIDDEN\"} 1"));
        assert!(metrics
            .contains("frontdoor_graphql_request_duration_seconds_bucket{operation=\"query:me\""));
        assert!(metrics.contains("frontdoor_db_pool_connections{state=\"idle\"}"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_fails_while_the_database_is_unreachable() {
    // PostgreSQL only: the database is made to refuse connections and its sessions ended.
    if std::env::var("FRONTDOOR_TEST_POSTGRES")
        .map(|v| v.is_empty())
        .unwrap_or(true)
    {
        eprintln!("note: readiness-failure test needs FRONTDOOR_TEST_POSTGRES; skipped");
        return;
    }
    let server = TestServer::start(Backend::Postgres).await;
    let url = std::env::var("FRONTDOOR_TEST_POSTGRES").unwrap();
    use sea_orm::sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
    let mut admin = PgConnection::connect(&url).await.unwrap();
    let name: String = sea_orm::sqlx::query_scalar("SELECT current_database()")
        .fetch_one(server.db().get_postgres_connection_pool())
        .await
        .unwrap();
    admin
        .execute(AssertSqlSafe(format!(
            "ALTER DATABASE {name} ALLOW_CONNECTIONS false"
        )))
        .await
        .unwrap();
    admin
        .execute(AssertSqlSafe(format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        )))
        .await
        .unwrap();
    let ready = server.http.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    assert_eq!(
        server
            .http
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    admin
        .execute(AssertSqlSafe(format!(
            "ALTER DATABASE {name} ALLOW_CONNECTIONS true"
        )))
        .await
        .unwrap();
    let ready = server.http.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_oversized_bodies_and_deep_queries_are_refused() {
    each_backend(|server| async move {
        let batch = server
            .http
            .post(server.url("/graphql"))
            .json(&json!([{ "query": "{ me { name } }" }, { "query": "{ me { name } }" }]))
            .send()
            .await
            .unwrap();
        assert_eq!(batch.status(), 400);
        let body: Value = batch.json().await.unwrap();
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"));
        assert!(body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("one operation per request"));

        let padding = "x".repeat(2 * 1024 * 1024);
        let big = server
            .http
            .post(server.url("/graphql"))
            .json(&json!({ "query": "{ me { name } }", "variables": { "padding": padding } }))
            .send()
            .await
            .unwrap();
        assert_eq!(big.status(), 413);

        let token = server.login("admin").await;
        let body = server.gql(Some(&token), &deep_query(40), json!({})).await;
        assert!(body["data"].is_null(), "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("nested too deep"),
            "{body}"
        );

        // ...while GraphiQL's own introspection query still works in development.
        let body = server.gql(None, INTROSPECTION, json!({})).await;
        assert!(body["errors"].is_null(), "{body}");
        assert!(body["data"]["__schema"]["types"].as_array().unwrap().len() > 10);

        // Engine errors (unknown fields) carry a code too.
        let body = server
            .gql(Some(&token), "{ me { nonsense } }", json!({}))
            .await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"));
        let body = server.gql(Some(&token), "{ me { nam } }", json!({})).await;
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("Did you mean"),
            "suggestions on in development"
        );

        let not_json = server
            .http
            .post(server.url("/graphql"))
            .body("query=me")
            .send()
            .await
            .unwrap();
        assert_eq!(
            not_json.status(),
            415,
            "a body that is not declared JSON is never executed"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_in_development_only_and_no_introspection_in_production() {
    let dev = TestServer::start(Backend::Sqlite).await;
    let page = dev.http.get(dev.url("/graphql")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page
        .text()
        .await
        .unwrap()
        .to_lowercase()
        .contains("graphiql"));

    let prod = TestServer::start_with(Backend::Sqlite, |c| c.mode = Mode::Production).await;
    assert_eq!(
        prod.http
            .get(prod.url("/graphql"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let body = prod.gql(None, INTROSPECTION, json!({})).await;
    assert!(
        body["data"]["__schema"].is_null(),
        "introspection answered in production: {body}"
    );
    let token = prod.login("admin").await;
    let body = prod.gql(Some(&token), "{ me { nam } }", json!({})).await;
    assert!(
        !body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Did you mean"),
        "{body}"
    );
    let body = prod.gql(Some(&token), "{ me { name } }", json!({})).await;
    assert_eq!(body["data"]["me"]["name"], "admin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_has_its_own_request_id_and_callers_cannot_set_it() {
    let server = TestServer::start(Backend::Sqlite).await;
    let mut seen = Vec::new();
    for _ in 0..3 {
        let response = server
            .http
            .get(server.url("/healthz"))
            .header("x-request-id", "forged-id")
            .send()
            .await
            .unwrap();
        let id = response
            .headers()
            .get("x-request-id")
            .expect("request id header")
            .to_str()
            .unwrap()
            .to_string();
        assert_ne!(id, "forged-id");
        assert!(!seen.contains(&id));
        seen.push(id);
    }
}

#[test]
fn schema_graphql_matches_the_code() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema.graphql");
    assert!(
        committed == frontdoor::graphql::sdl(),
        "schema.graphql is out of date: run `cargo run -- schema > schema.graphql`"
    );
}

/// Fields every record has are non-null, so generated client types need no null checks.
#[test]
fn always_set_fields_are_non_null() {
    let sdl = frontdoor::graphql::sdl();
    let type_block = |name: &str| -> String {
        let start = sdl
            .find(&format!("type {name} "))
            .unwrap_or_else(|| panic!("type {name}"));
        let end = start + sdl[start..].find("\n}").unwrap();
        sdl[start..end].to_string()
    };
    for (type_name, fields) in [
        (
            "Contact",
            &[
                "status: ContactStatus!",
                "consentPosition: ConsentPosition!",
            ][..],
        ),
        (
            "ConsentOverride",
            &[
                "reason: OverrideReason!",
                "status: OverrideStatus!",
                "reviewStatus: ReviewStatus!",
            ],
        ),
        (
            "Disclosure",
            &["lawfulBasis: LawfulBasis!", "handlingCode: HandlingCode!"],
        ),
        (
            "InformationRequest",
            &["priority: Priority!", "status: RequestStatus!"],
        ),
        (
            "RequestSummary",
            &["priority: Priority!", "status: RequestStatus!"],
        ),
    ] {
        let block = type_block(type_name);
        for field in fields {
            assert!(block.contains(field), "{type_name}.{field} is not non-null");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_loads_everything_from_this_server() {
    let dev = TestServer::start(Backend::Sqlite).await;
    let page = dev
        .http
        .get(dev.url("/graphql"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // Every src= and href= is a path on this server (or an empty data: icon).
    let mut loaded = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for part in page.split(attribute).skip(1) {
            let target = &part[..part.find('"').unwrap()];
            assert!(
                target.starts_with('/') || target == "data:,",
                "the page loads {target} from elsewhere"
            );
            if target.starts_with('/') {
                loaded.push(target.to_string());
            }
        }
    }
    assert_eq!(loaded.len(), 4, "{loaded:?}");
    assert!(
        page.contains("mutation Login"),
        "opens with a working example"
    );
    assert!(page.contains("Authorization"), "hints at the header");
    for path in &loaded {
        let response = dev.http.get(dev.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        let expected = if path.ends_with(".css") {
            "text/css"
        } else {
            "text/javascript"
        };
        assert!(content_type.starts_with(expected), "{path}: {content_type}");
        let body = response.bytes().await.unwrap();
        assert!(body.len() > 5_000, "{path} is the real file");
        let text = String::from_utf8_lossy(&body);
        assert!(
            !text.contains("sourceMappingURL"),
            "{path} asks for nothing more"
        );
    }
    let missing = dev
        .http
        .get(dev.url("/graphiql/../Cargo.toml"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let missing = dev
        .http
        .get(dev.url("/graphiql/other.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    let prod = TestServer::start_with(Backend::Sqlite, |c| c.mode = Mode::Production).await;
    for path in &loaded {
        let response = prod.http.get(prod.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path} in production");
    }
}

/// Every type, field, argument, input field and enum value of the schema says what it is:
/// front-end teams build on the schema alone. Lists every one without a description.
#[tokio::test]
async fn every_part_of_the_schema_has_a_description() {
    let schema = frontdoor::graphql::build_schema(None, false);
    let query = "{ __schema { types { name kind description
        fields(includeDeprecated: true) { name description args { name description } }
        inputFields { name description }
        enumValues(includeDeprecated: true) { name description } } } }";
    let response = schema.execute(query).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let data = response.data.into_json().unwrap();
    let blank = |v: &Value| {
        v["description"]
            .as_str()
            .is_none_or(|d| d.trim().is_empty())
    };
    let mut missing = Vec::new();
    for t in data["__schema"]["types"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        // GraphQL's own introspection types and built-in scalars are described by the spec.
        if name.starts_with("__") || ["String", "Int", "Float", "Boolean", "ID"].contains(&name) {
            continue;
        }
        if blank(t) {
            missing.push(name.to_string());
        }
        for f in t["fields"].as_array().into_iter().flatten() {
            let field = format!("{name}.{}", f["name"].as_str().unwrap());
            if blank(f) {
                missing.push(field.clone());
            }
            for a in f["args"].as_array().into_iter().flatten() {
                if blank(a) {
                    missing.push(format!("{field}({})", a["name"].as_str().unwrap()));
                }
            }
        }
        for f in t["inputFields"].as_array().into_iter().flatten() {
            if blank(f) {
                missing.push(format!("{name}.{}", f["name"].as_str().unwrap()));
            }
        }
        for v in t["enumValues"].as_array().into_iter().flatten() {
            if blank(v) {
                missing.push(format!("{name}.{}", v["name"].as_str().unwrap()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "{} parts of the schema have no description:\n{}",
        missing.len(),
        missing.join("\n")
    );
}
