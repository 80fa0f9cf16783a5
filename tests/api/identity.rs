//! Administration of agencies, users and clients: ADMIN only, validated, audited.

use entity::{agency, audit_event, client, user};
use frontdoor::domain::common::codes::Role;
use frontdoor_testkit::{demo_users_without, each_backend, error_code, error_field, TestServer};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{json, Value};

async fn agency_id(server: &TestServer, admin: &str, name: &str) -> String {
    let body = server
        .gql(
            Some(admin),
            "{ agencies(first: 100) { edges { node { id name } } } }",
            json!({}),
        )
        .await;
    body["data"]["agencies"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .find(|e| e["node"]["name"] == name)
        .map(|e| e["node"]["id"].as_str().unwrap().to_string())
        .unwrap()
}

const CREATE_USER: &str = "mutation($input: CreateUserInput!) { createUser(input: $input) { id username roles agency { name } } }";

/// Every administration operation, with valid arguments.
fn admin_operations(
    police: &str,
    some_user: &str,
    some_client: &str,
) -> Vec<(&'static str, String, Value)> {
    vec![
        ("agencies", "{ agencies { totalCount edges { node { id } } } }".into(), json!({})),
        ("users", "{ users { totalCount edges { node { id } } } }".into(), json!({})),
        ("clients", "{ clients { totalCount edges { node { id } } } }".into(), json!({})),
        (
            "createAgency",
            "mutation { createAgency(input: { name: \"Walsall Housing Group\", kind: HOUSING }) { id } }".into(),
            json!({}),
        ),
        (
            "updateAgency",
            "mutation($id: ID!) { updateAgency(input: { id: $id, sourceCode: \"6\" }) { id } }".into(),
            json!({ "id": police }),
        ),
        (
            "createUser",
            CREATE_USER.into(),
            json!({ "input": { "agencyId": police, "username": "new.officer", "displayName": "New Officer (fictional)", "roles": ["REFERRER"], "password": "a-long-password-1" } }),
        ),
        ("setUserRoles", "mutation($id: ID!) { setUserRoles(userId: $id, roles: [REFERRER]) { id } }".into(), json!({ "id": some_user })),
        ("deactivateUser", "mutation($id: ID!) { deactivateUser(userId: $id) { id } }".into(), json!({ "id": some_user })),
        ("reactivateUser", "mutation($id: ID!) { reactivateUser(userId: $id) { id } }".into(), json!({ "id": some_user })),
        (
            "resetPassword",
            "mutation($id: ID!) { resetPassword(userId: $id, newPassword: \"another-password-9\") { id } }".into(),
            json!({ "id": some_user }),
        ),
        ("liftLoginThrottle", "mutation { liftLoginThrottle(username: \"police.mash\") }".into(), json!({})),
        (
            "createClient",
            "mutation($a: ID!) { createClient(input: { agencyId: $a, name: \"Another system\", scopes: [\"contacts:submit\"] }) { clientSecret } }".into(),
            json!({ "a": police }),
        ),
        ("deactivateClient", "mutation($id: ID!) { deactivateClient(clientId: $id) { id } }".into(), json!({ "id": some_client })),
        ("reactivateClient", "mutation($id: ID!) { reactivateClient(clientId: $id) { id } }".into(), json!({ "id": some_client })),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administration_is_refused_to_every_other_role_and_to_clients() {
    each_backend(|server| async move {
        let admin = server.login("admin").await;
        let police = agency_id(&server, &admin, "West Midlands Police").await;
        let users = server
            .gql(
                Some(&admin),
                "{ users(first: 100) { edges { node { id username } } } }",
                json!({}),
            )
            .await;
        let some_user = users["data"]["users"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["node"]["username"] == "police.referrer")
            .unwrap()["node"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let clients = server
            .gql(
                Some(&admin),
                "{ clients { edges { node { id } } } }",
                json!({}),
            )
            .await;
        let some_client = clients["data"]["clients"]["edges"][0]["node"]["id"]
            .as_str()
            .unwrap()
            .to_string();

        let mut callers = Vec::new();
        for username in demo_users_without(Role::Admin) {
            callers.push((username.to_string(), server.login(username).await));
        }
        callers.push((
            "police-case-system".into(),
            server
                .client_token("police-case-system", "police-demo-secret")
                .await,
        ));
        callers.push((
            "health-case-system".into(),
            server
                .client_token("health-case-system", "health-demo-secret")
                .await,
        ));

        let before = (
            server.count(agency::Entity).await,
            server.count(user::Entity).await,
            server.count(client::Entity).await,
        );
        let refused_before = audit_event::Entity::find()
            .filter(audit_event::Column::Outcome.eq("FORBIDDEN"))
            .count(server.db())
            .await
            .unwrap();
        let operations = admin_operations(&police, &some_user, &some_client);
        for (caller, token) in &callers {
            for (name, query, variables) in &operations {
                let body = server.gql(Some(token), query, variables.clone()).await;
                assert_eq!(
                    error_code(&body),
                    Some("FORBIDDEN"),
                    "{caller} → {name}: {body}"
                );
                assert!(
                    body["data"].is_null(),
                    "{caller} → {name} leaked data: {body}"
                );
            }
        }
        // Anonymous callers are asked to authenticate.
        for (name, query, variables) in &operations {
            let body = server.gql(None, query, variables.clone()).await;
            assert_eq!(
                error_code(&body),
                Some("UNAUTHENTICATED"),
                "anonymous → {name}: {body}"
            );
        }
        let after = (
            server.count(agency::Entity).await,
            server.count(user::Entity).await,
            server.count(client::Entity).await,
        );
        assert_eq!(before, after, "a refused call changed something");
        // Nothing changed: the police referrer can still log in, the client still get tokens.
        server.login("police.referrer").await;
        server
            .client_token("police-case-system", "police-demo-secret")
            .await;
        // Every refusal is in the audit trail.
        let refused_after = audit_event::Entity::find()
            .filter(audit_event::Column::Outcome.eq("FORBIDDEN"))
            .count(server.db())
            .await
            .unwrap();
        assert_eq!(
            refused_after - refused_before,
            (callers.len() * operations.len()) as u64
        );

        // The ADMIN may do each of them.
        for (name, query, variables) in &operations {
            let body = server.gql(Some(&admin), query, variables.clone()).await;
            assert!(body["errors"].is_null(), "admin → {name}: {body}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_creates_an_agency_a_user_who_can_log_in_and_a_client() {
    each_backend(|server| async move {
        let admin = server.login("admin").await;
        let body = server
            .gql(
                Some(&admin),
                "mutation { createAgency(input: { name: \"Walsall Manor Hospital A&E\", kind: HEALTH, sourceCode: \"3E\" }) { id name kind sourceCode hostsMash active } }",
                json!({}),
            )
            .await;
        let created = &body["data"]["createAgency"];
        assert_eq!(created["sourceCode"], "3E", "{body}");
        assert_eq!(created["hostsMash"], false);
        let new_agency = created["id"].as_str().unwrap().to_string();

        let body = server
            .gql(
                Some(&admin),
                CREATE_USER,
                json!({ "input": { "agencyId": new_agency, "username": "AE.Nurse", "displayName": "A&E Nurse (fictional)", "roles": ["PARTNER_MASH_OFFICER", "REFERRER"], "password": "an-initial-password" } }),
            )
            .await;
        assert_eq!(body["data"]["createUser"]["username"], "ae.nurse", "{body}");
        assert_eq!(body["data"]["createUser"]["roles"], json!(["PARTNER_MASH_OFFICER", "REFERRER"]));
        let login = server.login_tokens("ae.nurse", "an-initial-password").await;
        let token = login["data"]["login"]["accessToken"].as_str().expect("new user logs in");
        let me = server.gql(Some(token), "{ me { agency { name } roles } }", json!({})).await;
        assert_eq!(me["data"]["me"]["agency"]["name"], "Walsall Manor Hospital A&E");

        let body = server
            .gql(
                Some(&admin),
                "mutation($a: ID!) { createClient(input: { agencyId: $a, name: \"ED system\", scopes: [\"contacts:submit\"], clientId: \"ed-system\" }) { clientSecret client { clientId scopes agency { name } } } }",
                json!({ "a": new_agency }),
            )
            .await;
        let secret = body["data"]["createClient"]["clientSecret"].as_str().expect("secret shown once");
        assert!(secret.len() >= 40);
        let stored = client::Entity::find().filter(client::Column::ClientId.eq("ed-system")).one(server.db()).await.unwrap().unwrap();
        assert_ne!(stored.secret_hash, secret, "the secret is stored hashed");
        let token = server.client_token("ed-system", secret).await;
        let me = server.gql(Some(&token), "{ me { kind agency { name } scopes } }", json!({})).await;
        assert_eq!(me["data"]["me"]["agency"]["name"], "Walsall Manor Hospital A&E");
        assert_eq!(me["data"]["me"]["scopes"], json!(["contacts:submit"]));

        // Listing pages with a total; `first` is capped.
        let page = server.gql(Some(&admin), "{ agencies(first: 2) { totalCount pageInfo { hasNextPage endCursor } edges { node { name } } } }", json!({})).await;
        assert_eq!(page["data"]["agencies"]["totalCount"], 6);
        assert_eq!(page["data"]["agencies"]["edges"].as_array().unwrap().len(), 2);
        let cursor = page["data"]["agencies"]["pageInfo"]["endCursor"].as_str().unwrap();
        let rest = server
            .gql(Some(&admin), "query($c: String) { agencies(first: 10, after: $c) { pageInfo { hasNextPage } edges { node { name } } } }", json!({ "c": cursor }))
            .await;
        assert_eq!(rest["data"]["agencies"]["edges"].as_array().unwrap().len(), 4);
        assert_eq!(rest["data"]["agencies"]["pageInfo"]["hasNextPage"], false);
        let too_many = server.gql(Some(&admin), "{ users(first: 1000) { totalCount } }", json!({})).await;
        assert_eq!((error_code(&too_many), error_field(&too_many)), (Some("BAD_USER_INPUT"), Some("first")));

        let police = agency_id(&server, &admin, "West Midlands Police").await;
        let police_users = server.gql(Some(&admin), "query($a: ID) { users(agencyId: $a) { totalCount edges { node { username } } } }", json!({ "a": police })).await;
        assert_eq!(police_users["data"]["users"]["totalCount"], 2, "{police_users}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_naming_the_field_and_writes_nothing() {
    each_backend(|server| async move {
        let admin = server.login("admin").await;
        let police = agency_id(&server, &admin, "West Midlands Police").await;
        let council = agency_id(&server, &admin, "Walsall Council Children's Services").await;
        let user_input = |agency: &str, username: &str, roles: Value, password: &str| {
            json!({ "input": { "agencyId": agency, "username": username, "displayName": "Someone (fictional)", "roles": roles, "password": password } })
        };
        let counts = |s: &TestServer| {
            let db = s.db().clone();
            async move {
                (
                    agency::Entity::find().count(&db).await.unwrap(),
                    user::Entity::find().count(&db).await.unwrap(),
                    client::Entity::find().count(&db).await.unwrap(),
                    audit_event::Entity::find().count(&db).await.unwrap(),
                )
            }
        };
        let before = counts(&server).await;

        let cases: Vec<(&str, String, Value, &str, &str)> = vec![
            ("empty agency name", "mutation { createAgency(input: { name: \"   \", kind: POLICE }) { id } }".into(), json!({}), "BAD_USER_INPUT", "name"),
            ("source code outside the kind", "mutation { createAgency(input: { name: \"X Police\", kind: POLICE, sourceCode: \"3A\" }) { id } }".into(), json!({}), "BAD_USER_INPUT", "sourceCode"),
            ("duplicate agency name", "mutation { createAgency(input: { name: \"West Midlands Police\", kind: POLICE }) { id } }".into(), json!({}), "CONFLICT", "name"),
            ("a second MASH host", "mutation { createAgency(input: { name: \"Another Council\", kind: LOCAL_AUTHORITY, hostsMash: true }) { id } }".into(), json!({}), "CONFLICT", "hostsMash"),
            ("a MASH hosted outside a local authority", "mutation { createAgency(input: { name: \"Police MASH\", kind: POLICE, hostsMash: true }) { id } }".into(), json!({}), "BAD_USER_INPUT", "hostsMash"),
            ("unknown agency id", CREATE_USER.into(), user_input("QWdlbmN5OjAxOTAwMDAwLTAwMDAtNzAwMC04MDAwLTAwMDAwMDAwMDAwMA", "some.one", json!(["REFERRER"]), "long-enough-password"), "BAD_USER_INPUT", "agencyId"),
            ("malformed agency id", CREATE_USER.into(), user_input("not-an-id", "some.one", json!(["REFERRER"]), "long-enough-password"), "BAD_USER_INPUT", "agencyId"),
            ("duplicate username", CREATE_USER.into(), user_input(&police, "Police.MASH", json!(["REFERRER"]), "long-enough-password"), "CONFLICT", "username"),
            ("MASH role outside the MASH host", CREATE_USER.into(), user_input(&police, "some.one", json!(["MASH_MANAGER"]), "long-enough-password"), "BAD_USER_INPUT", "roles"),
            ("AUDITOR outside the MASH host", CREATE_USER.into(), user_input(&police, "some.one", json!(["AUDITOR"]), "long-enough-password"), "BAD_USER_INPUT", "roles"),
            ("partner role inside the MASH host", CREATE_USER.into(), user_input(&council, "some.one", json!(["PARTNER_MASH_OFFICER"]), "long-enough-password"), "BAD_USER_INPUT", "roles"),
            ("no roles", CREATE_USER.into(), user_input(&police, "some.one", json!([]), "long-enough-password"), "BAD_USER_INPUT", "roles"),
            ("empty username", CREATE_USER.into(), user_input(&police, "", json!(["REFERRER"]), "long-enough-password"), "BAD_USER_INPUT", "username"),
            ("short password", CREATE_USER.into(), user_input(&police, "some.one", json!(["REFERRER"]), "short"), "BAD_USER_INPUT", "password"),
            ("unknown scope", "mutation($a: ID!) { createClient(input: { agencyId: $a, name: \"S\", scopes: [\"everything\"] }) { clientSecret } }".into(), json!({ "a": police }), "BAD_USER_INPUT", "scopes"),
            ("empty client name", "mutation($a: ID!) { createClient(input: { agencyId: $a, name: \"\", scopes: [\"contacts:submit\"] }) { clientSecret } }".into(), json!({ "a": police }), "BAD_USER_INPUT", "name"),
        ];
        for (what, query, variables, code, field) in cases {
            let body = server.gql(Some(&admin), &query, variables).await;
            assert_eq!(error_code(&body), Some(code), "{what}: {body}");
            assert_eq!(error_field(&body), Some(field), "{what}: {body}");
            assert!(body["data"].is_null(), "{what}");
        }
        assert_eq!(counts(&server).await, before, "bad input wrote something");

        // A target record that does not exist: NOT_FOUND (and that refusal is audited).
        let body = server
            .gql(Some(&admin), "mutation { deactivateUser(userId: \"VXNlcjowMTkwMDAwMC0wMDAwLTcwMDAtODAwMC0wMDAwMDAwMDAwMDA\") { id } }", json!({}))
            .await;
        assert_eq!(error_code(&body), Some("NOT_FOUND"));
    })
    .await;
}
