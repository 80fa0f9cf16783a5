//! Authentication: logins, tokens, throttling, sessions, machine clients.

use base64::Engine;
use entity::audit_event;
use frontdoor_testkit::{each_backend, error_code, TestServer, PASSWORD};
use jsonwebtoken::{encode, EncodingKey, Header};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{json, Value};

const ME: &str = "{ me { id kind name roles scopes agency { name kind hostsMash } } }";

async fn me(server: &TestServer, token: &str) -> (u16, Value) {
    server.post(Some(token), ME, json!({})).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_user_logs_in_and_me_returns_agency_and_roles() {
    each_backend(|server| async move {
        let token = server.login("mash.manager").await;
        let (status, body) = me(&server, &token).await;
        assert_eq!(status, 200, "{body}");
        let viewer = &body["data"]["me"];
        assert_eq!(viewer["kind"], "USER");
        assert_eq!(viewer["name"], "mash.manager");
        assert_eq!(viewer["roles"], json!(["MASH_MANAGER"]));
        assert_eq!(
            viewer["agency"]["name"],
            "Walsall Council Children's Services"
        );
        assert_eq!(viewer["agency"]["hostsMash"], true);

        let token = server.login("police.mash").await;
        let body = me(&server, &token).await.1;
        assert_eq!(body["data"]["me"]["roles"], json!(["PARTNER_MASH_OFFICER"]));
        assert_eq!(body["data"]["me"]["agency"]["kind"], "POLICE");

        // Without a token, `me` is refused.
        let body = server.gql(None, ME, json!({})).await;
        assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));
        assert!(body["data"].is_null());
    })
    .await;
}

fn craft(server: &TestServer, header: Header, claims: Value, key: &[u8]) -> String {
    let _ = server;
    encode(&header, &claims, &EncodingKey::from_secret(key)).unwrap()
}

fn claims_for(sub: &str, agency: &str, exp: i64) -> Value {
    json!({
        "iss": "frontdoor", "aud": "frontdoor-api", "sub": sub, "exp": exp,
        "iat": chrono::Utc::now().timestamp(), "jti": "x", "token_use": "access",
        "agency": agency, "epoch": 0
    })
}

fn access_header() -> Header {
    let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
    header.typ = Some("at+jwt".into());
    header
}

/// The `sub` and `agency` claims of a real token, to forge look-alikes.
fn real_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_expired_none_and_refresh_tokens_are_unauthenticated() {
    each_backend(|server| async move {
        let login = server.login_tokens("mash.manager", PASSWORD).await;
        let access = login["data"]["login"]["accessToken"]
            .as_str()
            .unwrap()
            .to_string();
        let refresh = login["data"]["login"]["refreshToken"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(me(&server, &access).await.0, 200);
        let real = real_claims(&access);
        let (sub, agency) = (
            real["sub"].as_str().unwrap(),
            real["agency"].as_str().unwrap(),
        );
        let key = server.core.config.signing_key.clone();
        let future = chrono::Utc::now().timestamp() + 600;
        // A user's token names its session; the look-alikes below name the real one.
        let claims_for = |sub: &str, agency: &str, exp: i64| {
            let mut claims = claims_for(sub, agency, exp);
            claims["sid"] = real["sid"].clone();
            claims
        };

        // Sanity: a token crafted here with the real key and claims is accepted,
        // so each refusal below is down to the one thing changed.
        let good = craft(
            &server,
            access_header(),
            claims_for(sub, agency, future),
            &key,
        );
        assert_eq!(me(&server, &good).await.0, 200);

        let wrong_key = craft(
            &server,
            access_header(),
            claims_for(sub, agency, future),
            b"another-key-another-key-another-key!",
        );
        let expired = craft(
            &server,
            access_header(),
            claims_for(sub, agency, chrono::Utc::now().timestamp() - 3600),
            &key,
        );
        let mut wrong_aud = claims_for(sub, agency, future);
        wrong_aud["aud"] = json!("someone-else");
        let wrong_aud = craft(&server, access_header(), wrong_aud, &key);
        let mut wrong_iss = claims_for(sub, agency, future);
        wrong_iss["iss"] = json!("evil");
        let wrong_iss = craft(&server, access_header(), wrong_iss, &key);
        let mut no_sub = claims_for(sub, agency, future);
        no_sub.as_object_mut().unwrap().remove("sub");
        let no_sub = craft(&server, access_header(), no_sub, &key);
        let mut hs512 = Header::new(jsonwebtoken::Algorithm::HS512);
        hs512.typ = Some("at+jwt".into());
        let other_alg = craft(&server, hs512, claims_for(sub, agency, future), &key);
        let mut refresh_typed = claims_for(sub, agency, future);
        refresh_typed["token_use"] = json!("refresh");
        let refresh_typed = craft(&server, access_header(), refresh_typed, &key);

        // alg: none, unsigned.
        let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let none = format!(
            "{}.{}.",
            b64(json!({"alg": "none", "typ": "at+jwt"})),
            b64(claims_for(sub, agency, future))
        );

        for (what, token) in [
            ("wrong key", wrong_key),
            ("expired", expired),
            ("wrong audience", wrong_aud),
            ("wrong issuer", wrong_iss),
            ("no subject", no_sub),
            ("another algorithm", other_alg),
            ("refresh claim in access header", refresh_typed),
            ("alg none", none),
            ("refresh token as access token", refresh.clone()),
            ("garbage", "not-a-token".to_string()),
        ] {
            let (status, body) = me(&server, &token).await;
            assert_eq!(status, 401, "{what}: {body}");
            assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{what}");
        }

        // An access token is not a refresh token either.
        let body = server
            .gql(
                None,
                "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }",
                json!({ "t": access }),
            )
            .await;
        assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));
    })
    .await;
}

async fn attempt(server: &TestServer, username: &str, password: &str) -> Value {
    server.login_tokens(username, password).await
}

async fn failed_logins(server: &TestServer) -> u64 {
    audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq("login"))
        .filter(audit_event::Column::Outcome.eq("UNAUTHENTICATED"))
        .count(server.db())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_user_and_wrong_password_look_the_same_and_are_recorded() {
    each_backend(|server| async move {
        let unknown = attempt(&server, "nobody.here", "whatever-password").await;
        let wrong = attempt(&server, "mash.manager", "not-the-password").await;
        assert_eq!(error_code(&unknown), Some("UNAUTHENTICATED"));
        assert_eq!(
            unknown["errors"][0]["message"],
            wrong["errors"][0]["message"]
        );
        assert_eq!(
            unknown["errors"][0]["extensions"],
            wrong["errors"][0]["extensions"]
        );
        assert_eq!(failed_logins(&server).await, 2);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_lock_the_account_even_for_the_right_password() {
    each_backend(|server| async move {
        for _ in 0..5 {
            let body = attempt(&server, "school.referrer", "wrong-password-1").await;
            assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));
        }
        let body = attempt(&server, "school.referrer", PASSWORD).await;
        assert_eq!(error_code(&body), Some("RATE_LIMITED"), "{body}");
        assert!(
            body["errors"][0]["extensions"]["retryAfterSeconds"]
                .as_u64()
                .unwrap()
                > 0
        );
        assert!(body["data"].is_null());

        // Unknown usernames are throttled the same way.
        for _ in 0..5 {
            assert_eq!(
                error_code(&attempt(&server, "ghost.user", "wrong-password-1").await),
                Some("UNAUTHENTICATED")
            );
        }
        assert_eq!(
            error_code(&attempt(&server, "ghost.user", "wrong-password-1").await),
            Some("RATE_LIMITED")
        );

        // An ADMIN lifts the lock; the right password then works.
        let admin = server.login("admin").await;
        let lifted = server
            .gql(
                Some(&admin),
                "mutation { liftLoginThrottle(username: \"school.referrer\") }",
                json!({}),
            )
            .await;
        assert_eq!(lifted["data"]["liftLoginThrottle"], true, "{lifted}");
        server.login("school.referrer").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aliases_in_one_document_cannot_get_past_the_throttle() {
    each_backend(|server| async move {
        // Several logins in one document are refused before any is attempted.
        let aliases: String = (0..8)
            .map(|i| format!("a{i}: login(username: \"health.mash\", password: \"wrong-password-{i}\") {{ accessToken }} "))
            .collect();
        let body = server.gql(None, &format!("mutation {{ {aliases} }}"), json!({})).await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
        assert!(body["data"].is_null(), "{body}");
        assert_eq!(server.audit_count("login", "UNAUTHENTICATED").await, 0, "no attempt ran");
        server.login("health.mash").await;

        // Concurrent separate requests: still at most the allowance gets a password check.
        let mut tasks = Vec::new();
        for i in 0..12 {
            let http = server.http.clone();
            let url = server.url("/graphql");
            tasks.push(tokio::spawn(async move {
                let query = format!("mutation {{ login(username: \"police.referrer\", password: \"wrong-{i}-password\") {{ accessToken }} }}");
                let body: Value = http.post(url).json(&json!({ "query": query })).send().await.unwrap().json().await.unwrap();
                body["errors"][0]["extensions"]["code"].as_str().unwrap().to_string()
            }));
        }
        let mut unauthenticated = 0;
        for task in tasks {
            if task.await.unwrap() == "UNAUTHENTICATED" {
                unauthenticated += 1;
            }
        }
        assert_eq!(unauthenticated, 5, "only the allowance of attempts reached the password check");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivated_user_is_locked_out_at_once() {
    each_backend(|server| async move {
        let login = server.login_tokens("la.referrer", PASSWORD).await;
        let access = login["data"]["login"]["accessToken"]
            .as_str()
            .unwrap()
            .to_string();
        let refresh = login["data"]["login"]["refreshToken"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(me(&server, &access).await.0, 200);

        let admin = server.login("admin").await;
        let id = me(&server, &access).await.1["data"]["me"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let body = server
            .gql(
                Some(&admin),
                "mutation($id: ID!) { deactivateUser(userId: $id) { active } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(body["data"]["deactivateUser"]["active"], false, "{body}");

        assert_eq!(me(&server, &access).await.0, 401);
        assert_eq!(
            error_code(&attempt(&server, "la.referrer", PASSWORD).await),
            Some("UNAUTHENTICATED")
        );
        let body = server
            .gql(
                None,
                "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }",
                json!({ "t": refresh }),
            )
            .await;
        assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));

        // Reactivated, the old access token stays refused: deactivation ended the session.
        server
            .gql(
                Some(&admin),
                "mutation($id: ID!) { reactivateUser(userId: $id) { active } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(me(&server, &access).await.0, 401);
    })
    .await;
}

const REFRESH: &str =
    "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_tokens_rotate_and_a_replay_ends_the_session() {
    each_backend(|server| async move {
        let first = server.login_tokens("mash.social.worker", PASSWORD).await["data"]["login"]
            ["refreshToken"]
            .as_str()
            .unwrap()
            .to_string();
        let rotated = server.gql(None, REFRESH, json!({ "t": first })).await;
        let second = rotated["data"]["refreshToken"]["refreshToken"]
            .as_str()
            .expect("rotated")
            .to_string();
        let access = rotated["data"]["refreshToken"]["accessToken"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(me(&server, &access).await.0, 200);

        // Sent again at once, the first token is a double-fired request: CONFLICT, and the
        // session goes on.
        let again = server.gql(None, REFRESH, json!({ "t": first })).await;
        assert_eq!(error_code(&again), Some("CONFLICT"), "{again}");
        assert_eq!(me(&server, &access).await.0, 200);

        // Past the grace period (moved back here rather than waited for), replaying the first
        // token fails and revokes the whole family, second included.
        let past = chrono::Utc::now() - chrono::Duration::minutes(1);
        entity::refresh_token::Entity::update_many()
            .col_expr(
                entity::refresh_token::Column::UsedAt,
                sea_orm::sea_query::Expr::value(past),
            )
            .filter(entity::refresh_token::Column::UsedAt.is_not_null())
            .exec(server.db())
            .await
            .unwrap();
        assert_eq!(
            error_code(&server.gql(None, REFRESH, json!({ "t": first })).await),
            Some("UNAUTHENTICATED")
        );
        assert_eq!(
            error_code(&server.gql(None, REFRESH, json!({ "t": second })).await),
            Some("UNAUTHENTICATED")
        );
        assert_eq!(me(&server, &access).await.0, 401, "the session has ended");

        // Logout ends a session.
        let third = server.login_tokens("mash.social.worker", PASSWORD).await["data"]["login"]
            ["refreshToken"]
            .as_str()
            .unwrap()
            .to_string();
        let out = server
            .gql(
                None,
                "mutation($t: String!) { logout(refreshToken: $t) }",
                json!({ "t": third }),
            )
            .await;
        assert_eq!(out["data"]["logout"], true);
        assert_eq!(
            error_code(&server.gql(None, REFRESH, json!({ "t": third })).await),
            Some("UNAUTHENTICATED")
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_a_password_ends_other_sessions() {
    each_backend(|server| async move {
        let old = server.login("health.referrer").await;
        let change = "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { accessToken } }";
        let body = server.gql(Some(&old), change, json!({ "c": "wrong-current-pw", "n": "a-new-password-2026" })).await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"));
        let body = server.gql(Some(&old), change, json!({ "c": PASSWORD, "n": "short" })).await;
        assert_eq!(body["errors"][0]["extensions"]["field"], "newPassword");

        let body = server.gql(Some(&old), change, json!({ "c": PASSWORD, "n": "a-new-password-2026" })).await;
        let fresh = body["data"]["changePassword"]["accessToken"].as_str().expect("changed").to_string();
        assert_eq!(me(&server, &old).await.0, 401);
        assert_eq!(me(&server, &fresh).await.0, 200);
        assert_eq!(error_code(&attempt(&server, "health.referrer", PASSWORD).await), Some("UNAUTHENTICATED"));
        assert!(attempt(&server, "health.referrer", "a-new-password-2026").await["data"]["login"]["accessToken"].is_string());

        // A client cannot change a password.
        let client = server.client_token("health-case-system", "health-demo-secret").await;
        let body = server.gql(Some(&client), change, json!({ "c": "x", "n": "another-password-1" })).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"));
    })
    .await;
}

async fn token_request(
    server: &TestServer,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> (u16, Value) {
    let mut request = server.http.post(server.url("/oauth/token")).form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    assert_eq!(
        response
            .headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap()),
        Some("no-store")
    );
    (status, response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_tokens_carry_the_clients_agency_and_scopes() {
    each_backend(|server| async move {
        // client_secret_basic
        let (status, body) = token_request(
            &server,
            &[("grant_type", "client_credentials")],
            Some(("police-case-system", "police-demo-secret")),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(
            body["scope"],
            "contacts:submit missing:report requests:respond"
        );
        let token = body["access_token"].as_str().unwrap();
        let me_body = me(&server, token).await.1;
        assert_eq!(me_body["data"]["me"]["kind"], "CLIENT");
        assert_eq!(me_body["data"]["me"]["name"], "police-case-system");
        assert_eq!(
            me_body["data"]["me"]["agency"]["name"],
            "West Midlands Police"
        );
        assert_eq!(me_body["data"]["me"]["roles"], json!([]));

        // client_secret_post with a narrower scope.
        let (status, body) = token_request(
            &server,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "police-case-system"),
                ("client_secret", "police-demo-secret"),
                ("scope", "missing:report"),
            ],
            None,
        )
        .await;
        assert_eq!(status, 200);
        let me_body = me(&server, body["access_token"].as_str().unwrap()).await.1;
        assert_eq!(me_body["data"]["me"]["scopes"], json!(["missing:report"]));

        let (status, body) = token_request(
            &server,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "health-case-system"),
                ("client_secret", "health-demo-secret"),
                ("scope", "missing:report"),
            ],
            None,
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_scope"))
        );

        let (status, body) = token_request(
            &server,
            &[("grant_type", "client_credentials")],
            Some(("police-case-system", "wrong")),
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client"))
        );
        let (status, body) = token_request(
            &server,
            &[("grant_type", "client_credentials")],
            Some(("no-such-client", "x")),
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client"))
        );
        let (status, body) = token_request(
            &server,
            &[("grant_type", "password")],
            Some(("police-case-system", "police-demo-secret")),
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("unsupported_grant_type"))
        );

        // A deactivated client's token stops working at once.
        let admin = server.login("admin").await;
        let id = me(&server, token).await.1["data"]["me"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let body = server
            .gql(
                Some(&admin),
                "mutation($id: ID!) { deactivateClient(clientId: $id) { active } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(body["data"]["deactivateClient"]["active"], false, "{body}");
        assert_eq!(me(&server, token).await.0, 401);
        let (status, _) = token_request(
            &server,
            &[("grant_type", "client_credentials")],
            Some(("police-case-system", "police-demo-secret")),
        )
        .await;
        assert_eq!(status, 401);
    })
    .await;
}
