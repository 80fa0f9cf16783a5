//! Sessions end when they should (logout, refresh-token reuse, password change or reset,
//! deactivation) and their tokens stop at the next request; refresh rotation and
//! deactivation have one winner; housekeeping removes exactly the lapsed rows.

use std::time::Duration;

use base64::Engine;
use chrono::Utc;
use entity::{audit_event, idempotency_key, login_throttle, refresh_token, session};
use frontdoor::db::statement;
use frontdoor::domain::audit::verify as audit_verify;
use frontdoor::domain::{housekeeping, RequestCtx};
use frontdoor_testkit::{
    at_once, each_backend, error_code, error_field, one_winner, Call, TestServer, PASSWORD,
};
use jsonwebtoken::{encode, EncodingKey, Header};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Value as Sql,
};
use serde_json::{json, Value};
use uuid::Uuid;

const ME: &str = "{ me { id name } }";
const REFRESH: &str =
    "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }";
const LOGOUT: &str = "mutation($t: String!) { logout(refreshToken: $t) }";

struct Pair {
    access: String,
    refresh: String,
}

fn pair(body: &Value, field: &str) -> Pair {
    let data = &body["data"][field];
    Pair {
        access: data["accessToken"]
            .as_str()
            .unwrap_or_else(|| panic!("{field}: {body}"))
            .to_string(),
        refresh: data["refreshToken"]
            .as_str()
            .unwrap_or_else(|| panic!("{field}: {body}"))
            .to_string(),
    }
}

async fn login(server: &TestServer, username: &str) -> Pair {
    pair(&server.login_tokens(username, PASSWORD).await, "login")
}

/// The HTTP status of `me` with `token`, after checking a 401 says UNAUTHENTICATED.
async fn me_status(server: &TestServer, token: &str) -> u16 {
    let (status, body) = server.post(Some(token), ME, json!({})).await;
    if status == 401 {
        assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{body}");
    } else {
        assert_eq!(status, 200, "{body}");
        assert!(body["errors"].is_null(), "{body}");
    }
    status
}

async fn refresh(server: &TestServer, token: &str) -> Value {
    server.gql(None, REFRESH, json!({ "t": token })).await
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn session_of(token: &str) -> Uuid {
    Uuid::parse_str(claims(token)["sid"].as_str().expect("a sid claim")).unwrap()
}

async fn stored_session(server: &TestServer, id: Uuid) -> Option<session::Model> {
    session::Entity::find_by_id(id)
        .one(server.db())
        .await
        .unwrap()
}

/// The GraphQL id of a demo user, as the administrator sees it.
async fn user_gid(server: &TestServer, admin: &str, username: &str) -> String {
    let body = server
        .gql(
            Some(admin),
            "{ users(first: 100) { edges { node { id username } } } }",
            json!({}),
        )
        .await;
    body["data"]["users"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["username"] == username)
        .and_then(|e| e["node"]["id"].as_str())
        .unwrap_or_else(|| panic!("no user {username}: {body}"))
        .to_string()
}

async fn client_gid(server: &TestServer, admin: &str, client_id: &str) -> String {
    let body = server
        .gql(
            Some(admin),
            "{ clients(first: 100) { edges { node { id clientId } } } }",
            json!({}),
        )
        .await;
    body["data"]["clients"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["clientId"] == client_id)
        .and_then(|e| e["node"]["id"].as_str())
        .unwrap_or_else(|| panic!("no client {client_id}: {body}"))
        .to_string()
}

async fn audit_total(server: &TestServer) -> u64 {
    audit_event::Entity::find()
        .count(server.db())
        .await
        .unwrap()
}

/// Runs SQL with bound values, written with `$1` placeholders.
async fn exec_with(server: &TestServer, sql: &str, values: Vec<Sql>) -> u64 {
    let db = server.db();
    db.execute_raw(statement(db.get_database_backend(), sql, values))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .rows_affected()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_ends_that_session_at_the_next_request_and_no_other() {
    each_backend(|server| async move {
        let first = login(&server, "mash.social.worker").await;
        let second = login(&server, "mash.social.worker").await;
        assert_ne!(session_of(&first.access), session_of(&second.access));
        assert_eq!(session_of(&first.access), session_of(&first.refresh));
        assert_eq!(me_status(&server, &first.access).await, 200);

        let out = server
            .gql(None, LOGOUT, json!({ "t": first.refresh }))
            .await;
        assert_eq!(out["data"]["logout"], true, "{out}");
        assert_eq!(
            me_status(&server, &first.access).await,
            401,
            "access token of the ended session"
        );
        assert_eq!(
            error_code(&refresh(&server, &first.refresh).await),
            Some("UNAUTHENTICATED")
        );
        assert_eq!(
            me_status(&server, &second.access).await,
            200,
            "the other session goes on"
        );

        let ended = stored_session(&server, session_of(&first.access))
            .await
            .unwrap();
        assert!(ended.ended_at.is_some());
        assert_eq!(ended.end_reason.as_deref(), Some("logout"));
        assert!(stored_session(&server, session_of(&second.access))
            .await
            .unwrap()
            .ended_at
            .is_none());
        assert_eq!(server.audit_count("logout", "SUCCESS").await, 1);

        // Logging out again ends nothing and records nothing.
        let out = server
            .gql(None, LOGOUT, json!({ "t": first.refresh }))
            .await;
        assert_eq!(out["data"]["logout"], false, "{out}");
        assert_eq!(server.audit_count("logout", "SUCCESS").await, 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_keeps_the_session_a_double_send_conflicts_and_a_later_replay_ends_it() {
    each_backend(|server| async move {
        let first = login(&server, "la.referrer").await;
        let sid = session_of(&first.access);
        let body = refresh(&server, &first.refresh).await;
        let second = pair(&body, "refreshToken");
        assert_eq!(session_of(&second.access), sid, "refresh keeps the session");
        assert_eq!(session_of(&second.refresh), sid);
        assert_eq!(
            me_status(&server, &first.access).await,
            200,
            "refresh ends nothing"
        );
        assert_eq!(me_status(&server, &second.access).await, 200);

        // The same token again at once: a client that double-fired. CONFLICT, session intact.
        let again = refresh(&server, &first.refresh).await;
        assert_eq!(error_code(&again), Some("CONFLICT"), "{again}");
        assert_eq!(error_field(&again), Some("refreshToken"));
        assert_eq!(me_status(&server, &second.access).await, 200);
        assert!(stored_session(&server, sid)
            .await
            .unwrap()
            .ended_at
            .is_none());

        // After the grace period the same token is a replay: the session ends.
        tokio::time::sleep(Duration::from_secs(6)).await;
        let replay = refresh(&server, &first.refresh).await;
        assert_eq!(error_code(&replay), Some("UNAUTHENTICATED"), "{replay}");
        assert_eq!(me_status(&server, &first.access).await, 401);
        assert_eq!(me_status(&server, &second.access).await, 401);
        assert_eq!(
            error_code(&refresh(&server, &second.refresh).await),
            Some("UNAUTHENTICATED")
        );
        let ended = stored_session(&server, sid).await.unwrap();
        assert_eq!(ended.end_reason.as_deref(), Some("refresh_token_reuse"));
        let revoked = refresh_token::Entity::find()
            .filter(refresh_token::Column::FamilyId.eq(sid))
            .filter(refresh_token::Column::RevokedAt.is_null())
            .count(server.db())
            .await
            .unwrap();
        assert_eq!(revoked, 0, "every refresh token of the session is revoked");
        let entry = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq("session.refresh"))
            .filter(audit_event::Column::Outcome.eq("UNAUTHENTICATED"))
            .filter(audit_event::Column::EntityId.eq(sid.to_string()))
            .one(server.db())
            .await
            .unwrap()
            .expect("the reuse is audited against the session");
        assert_eq!(entry.entity_type.as_deref(), Some("Session"));
        assert_eq!(server.audit_count("session.refresh", "SUCCESS").await, 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_ends_every_session_and_a_reset_ends_all() {
    each_backend(|server| async move {
        let a = login(&server, "health.referrer").await;
        let b = login(&server, "health.referrer").await;
        let change = "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { accessToken refreshToken } }";
        let body = server
            .gql(Some(&a.access), change, json!({ "c": PASSWORD, "n": "a-new-password-2026" }))
            .await;
        let fresh = pair(&body, "changePassword");
        assert_ne!(session_of(&fresh.access), session_of(&a.access), "the caller gets a new session");
        assert_eq!(me_status(&server, &fresh.access).await, 200);
        for (what, old) in [("the caller's old session", &a), ("another session", &b)] {
            assert_eq!(me_status(&server, &old.access).await, 401, "{what}");
            assert_eq!(error_code(&refresh(&server, &old.refresh).await), Some("UNAUTHENTICATED"), "{what}");
            let ended = stored_session(&server, session_of(&old.access)).await.unwrap();
            assert_eq!(ended.end_reason.as_deref(), Some("password_change"), "{what}");
        }
        assert_eq!(server.audit_count("user.change_password", "SUCCESS").await, 1);

        // An administrator's reset ends every session, the new one too.
        let admin = server.login("admin").await;
        let id = user_gid(&server, &admin, "health.referrer").await;
        let body = server
            .gql(
                Some(&admin),
                "mutation($id: ID!) { resetPassword(userId: $id, newPassword: \"reset-password-2026\") { id } }",
                json!({ "id": id }),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        assert_eq!(me_status(&server, &fresh.access).await, 401);
        let ended = stored_session(&server, session_of(&fresh.access)).await.unwrap();
        assert_eq!(ended.end_reason.as_deref(), Some("password_reset"));
        assert_eq!(server.audit_count("user.reset_password", "SUCCESS").await, 1);
    })
    .await;
}

const DEACTIVATE_USER: &str = "mutation($id: ID!) { deactivateUser(userId: $id) { active } }";
const REACTIVATE_USER: &str = "mutation($id: ID!) { reactivateUser(userId: $id) { active } }";
const DEACTIVATE_CLIENT: &str = "mutation($id: ID!) { deactivateClient(clientId: $id) { active } }";
const REACTIVATE_CLIENT: &str = "mutation($id: ID!) { reactivateClient(clientId: $id) { active } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivation_ends_the_sessions_and_reactivation_revives_no_token() {
    each_backend(|server| async move {
        let admin = server.login("admin").await;
        let old = login(&server, "school.referrer").await;
        let id = user_gid(&server, &admin, "school.referrer").await;
        assert_eq!(me_status(&server, &old.access).await, 200);

        let body = server
            .gql(Some(&admin), DEACTIVATE_USER, json!({ "id": id }))
            .await;
        assert_eq!(body["data"]["deactivateUser"]["active"], false, "{body}");
        assert_eq!(me_status(&server, &old.access).await, 401);
        let ended = stored_session(&server, session_of(&old.access))
            .await
            .unwrap();
        assert_eq!(ended.end_reason.as_deref(), Some("user_deactivated"));
        let again = server
            .gql(Some(&admin), DEACTIVATE_USER, json!({ "id": id }))
            .await;
        assert_eq!(
            (error_code(&again), error_field(&again)),
            (Some("CONFLICT"), Some("userId")),
            "{again}"
        );

        let body = server
            .gql(Some(&admin), REACTIVATE_USER, json!({ "id": id }))
            .await;
        assert_eq!(body["data"]["reactivateUser"]["active"], true, "{body}");
        assert_eq!(
            me_status(&server, &old.access).await,
            401,
            "reactivation revives no token"
        );
        assert_eq!(
            error_code(&refresh(&server, &old.refresh).await),
            Some("UNAUTHENTICATED")
        );
        let again = server
            .gql(Some(&admin), REACTIVATE_USER, json!({ "id": id }))
            .await;
        assert_eq!(
            (error_code(&again), error_field(&again)),
            (Some("CONFLICT"), Some("userId")),
            "{again}"
        );
        let new = login(&server, "school.referrer").await;
        assert_eq!(
            me_status(&server, &new.access).await,
            200,
            "a new login works"
        );
        assert_eq!(server.audit_count("user.deactivate", "SUCCESS").await, 1);
        assert_eq!(server.audit_count("user.reactivate", "SUCCESS").await, 1);

        // A machine client: deactivated, its token stops; reactivated, the old one stays refused.
        let old_token = server
            .client_token("police-case-system", "police-demo-secret")
            .await;
        assert_eq!(me_status(&server, &old_token).await, 200);
        let client = client_gid(&server, &admin, "police-case-system").await;
        let body = server
            .gql(Some(&admin), DEACTIVATE_CLIENT, json!({ "id": client }))
            .await;
        assert_eq!(body["data"]["deactivateClient"]["active"], false, "{body}");
        assert_eq!(me_status(&server, &old_token).await, 401);
        let again = server
            .gql(Some(&admin), DEACTIVATE_CLIENT, json!({ "id": client }))
            .await;
        assert_eq!(
            (error_code(&again), error_field(&again)),
            (Some("CONFLICT"), Some("clientId")),
            "{again}"
        );
        let body = server
            .gql(Some(&admin), REACTIVATE_CLIENT, json!({ "id": client }))
            .await;
        assert_eq!(body["data"]["reactivateClient"]["active"], true, "{body}");
        assert_eq!(
            me_status(&server, &old_token).await,
            401,
            "reactivation revives no client token"
        );
        let again = server
            .gql(Some(&admin), REACTIVATE_CLIENT, json!({ "id": client }))
            .await;
        assert_eq!(
            (error_code(&again), error_field(&again)),
            (Some("CONFLICT"), Some("clientId")),
            "{again}"
        );
        let new_token = server
            .client_token("police-case-system", "police-demo-secret")
            .await;
        assert_eq!(me_status(&server, &new_token).await, 200);
        assert_eq!(server.audit_count("client.deactivate", "SUCCESS").await, 1);
        assert_eq!(server.audit_count("client.reactivate", "SUCCESS").await, 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivating_an_agency_ends_its_users_sessions_for_good() {
    each_backend(|server| async move {
        let admin = server.login("admin").await;
        let police = server.agency_id("West Midlands Police").await;
        let officer = login(&server, "police.mash").await;
        let client = server.client_token("police-case-system", "police-demo-secret").await;
        let update = "mutation($id: ID!, $a: Boolean!) { updateAgency(input: { id: $id, active: $a }) { active } }";
        let body = server.gql(Some(&admin), update, json!({ "id": police, "a": false })).await;
        assert_eq!(body["data"]["updateAgency"]["active"], false, "{body}");
        let body = server.gql(Some(&admin), update, json!({ "id": police, "a": true })).await;
        assert_eq!(body["data"]["updateAgency"]["active"], true, "{body}");
        assert_eq!(me_status(&server, &officer.access).await, 401);
        assert_eq!(me_status(&server, &client).await, 401);
        let ended = stored_session(&server, session_of(&officer.access)).await.unwrap();
        assert_eq!(ended.end_reason.as_deref(), Some("agency_deactivated"));
        assert_eq!(me_status(&server, &login(&server, "police.mash").await.access).await, 200);
    })
    .await;
}

fn access_header() -> Header {
    let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
    header.typ = Some("at+jwt".into());
    header
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_not_yet_valid_is_refused() {
    each_backend(|server| async move {
        let real = login(&server, "mash.manager").await;
        let key = EncodingKey::from_secret(&server.core.config.signing_key);
        let now = Utc::now().timestamp();
        let mut base = claims(&real.access);
        base["jti"] = json!("crafted");
        base.as_object_mut().unwrap().remove("nbf");
        let token = |nbf: Option<i64>| {
            let mut c = base.clone();
            if let Some(nbf) = nbf {
                c["nbf"] = json!(nbf);
            }
            encode(&access_header(), &c, &key).unwrap()
        };
        assert_eq!(
            me_status(&server, &token(None)).await,
            200,
            "same claims without nbf"
        );
        assert_eq!(
            me_status(&server, &token(Some(now - 60))).await,
            200,
            "nbf in the past"
        );
        assert_eq!(
            me_status(&server, &token(Some(now + 600))).await,
            401,
            "nbf in the future"
        );
        // A user's token without a session is refused too.
        let mut no_sid = base.clone();
        no_sid.as_object_mut().unwrap().remove("sid");
        let no_sid = encode(&access_header(), &no_sid, &key).unwrap();
        assert_eq!(me_status(&server, &no_sid).await, 401, "no sid");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_of_one_token_have_one_winner() {
    each_backend(|server| async move {
        let instances = server.instances().await;
        let first = login(&server, "mash.manager").await;
        let calls = (0..8)
            .map(|_| Call::new(&first.access, REFRESH, json!({ "t": first.refresh })))
            .collect();
        let bodies = at_once(&instances, calls).await;
        let winner = one_winner(&bodies);
        for body in bodies.iter().filter(|b| !b["errors"].is_null()) {
            assert_eq!(error_field(body), Some("refreshToken"), "{body}");
        }
        assert_eq!(server.audit_count("session.refresh", "SUCCESS").await, 1);
        let won = pair(&winner, "refreshToken");
        assert_eq!(session_of(&won.access), session_of(&first.access));
        assert_eq!(
            me_status(&server, &won.access).await,
            200,
            "the session survives the race"
        );
        let live = refresh_token::Entity::find()
            .filter(refresh_token::Column::FamilyId.eq(session_of(&first.access)))
            .filter(refresh_token::Column::UsedAt.is_null())
            .count(server.db())
            .await
            .unwrap();
        assert_eq!(live, 1, "one new refresh token");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deactivations_have_one_winner() {
    each_backend(|server| async move {
        let instances = server.instances().await;
        let admin = server.login("admin").await;
        let user = user_gid(&server, &admin, "police.referrer").await;
        let calls = (0..6)
            .map(|_| Call::new(&admin, DEACTIVATE_USER, json!({ "id": user })))
            .collect();
        let bodies = at_once(&instances, calls).await;
        one_winner(&bodies);
        for body in bodies.iter().filter(|b| !b["errors"].is_null()) {
            assert_eq!(error_field(body), Some("userId"), "{body}");
        }
        assert_eq!(server.audit_count("user.deactivate", "SUCCESS").await, 1);

        let calls = (0..6)
            .map(|_| Call::new(&admin, REACTIVATE_USER, json!({ "id": user })))
            .collect();
        one_winner(&at_once(&instances, calls).await);
        assert_eq!(server.audit_count("user.reactivate", "SUCCESS").await, 1);

        let client = client_gid(&server, &admin, "health-case-system").await;
        let calls = (0..6)
            .map(|_| Call::new(&admin, DEACTIVATE_CLIENT, json!({ "id": client })))
            .collect();
        let bodies = at_once(&instances, calls).await;
        one_winner(&bodies);
        for body in bodies.iter().filter(|b| !b["errors"].is_null()) {
            assert_eq!(error_field(body), Some("clientId"), "{body}");
        }
        assert_eq!(server.audit_count("client.deactivate", "SUCCESS").await, 1);
        let calls = (0..6)
            .map(|_| Call::new(&admin, REACTIVATE_CLIENT, json!({ "id": client })))
            .collect();
        one_winner(&at_once(&instances, calls).await);
        assert_eq!(server.audit_count("client.reactivate", "SUCCESS").await, 1);
    })
    .await;
}

const REPORT: &str =
    "mutation($input: MissingEpisodeInput!) { reportMissingEpisode(input: $input) { id } }";

fn episode(key: &str) -> Value {
    json!({ "input": {
        "child": { "firstName": "Dee", "lastName": "Missingchild", "dateOfBirth": "2010-07-07", "gender": "FEMALE", "nhsNumber": "4010232137" },
        "reportedMissingAt": "2026-09-03T08:00:00Z", "riskGrade": "LOW", "laNotifiedAt": "2026-09-03T12:00:00Z",
        "returnedAt": "2026-09-04T10:00:00Z", "idempotencyKey": key
    } })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_key_older_than_the_window_is_not_honoured() {
    each_backend(|server| async move {
        let police = server
            .client_token("police-case-system", "police-demo-secret")
            .await;
        let first = server.gql(Some(&police), REPORT, episode("retry-1")).await;
        let id = first["data"]["reportMissingEpisode"]["id"].clone();
        assert!(id.is_string(), "{first}");
        let retry = server.gql(Some(&police), REPORT, episode("retry-1")).await;
        assert_eq!(
            retry["data"]["reportMissingEpisode"]["id"], id,
            "within the window: the first record"
        );

        let lapsed = Utc::now() - chrono::Duration::hours(49);
        let aged = exec_with(
            &server,
            "UPDATE idempotency_keys SET created_at = $1 WHERE key = $2",
            vec![lapsed.into(), "retry-1".into()],
        )
        .await;
        assert_eq!(aged, 1);
        let before = server.count(entity::missing_episode::Entity).await;
        let late = server.gql(Some(&police), REPORT, episode("retry-1")).await;
        let new_id = &late["data"]["reportMissingEpisode"]["id"];
        assert!(new_id.is_string(), "{late}");
        assert_ne!(new_id, &id, "a key past its window makes a new record");
        assert_eq!(
            server.count(entity::missing_episode::Entity).await,
            before + 1
        );
        let again = server.gql(Some(&police), REPORT, episode("retry-1")).await;
        assert_eq!(
            &again["data"]["reportMissingEpisode"]["id"], new_id,
            "and the key now names that one"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_removes_exactly_the_lapsed_rows_and_never_the_audit_trail() {
    each_backend(|server| async move {
        let old = Utc::now() - chrono::Duration::days(20);
        let expire_family = |sid: Uuid| {
            let server = &server;
            async move {
                exec_with(server, "UPDATE refresh_tokens SET expires_at = $1 WHERE family_id = $2", vec![old.into(), sid.into()]).await
            }
        };

        // Ended, every token expired: the tokens and the session go.
        let ended_expired = login(&server, "mash.social.worker").await;
        server.gql(None, LOGOUT, json!({ "t": ended_expired.refresh })).await;
        assert_eq!(expire_family(session_of(&ended_expired.access)).await, 1);
        // Ended, tokens not yet expired: stays.
        let ended_fresh = login(&server, "mash.social.worker").await;
        server.gql(None, LOGOUT, json!({ "t": ended_fresh.refresh })).await;
        // Open, rotated once; the used token expired: it goes, the session stays.
        let open = login(&server, "la.referrer").await;
        let rotated = pair(&refresh(&server, &open.refresh).await, "refreshToken");
        let hash = frontdoor::auth::password::sha256_hex(&open.refresh);
        assert_eq!(exec_with(&server, "UPDATE refresh_tokens SET expires_at = $1 WHERE token_hash = $2", vec![old.into(), hash.into()]).await, 1);
        // Open but its only refresh token expired (so have its access tokens, in life): goes.
        let idle = login(&server, "health.referrer").await;
        assert_eq!(expire_family(session_of(&idle.access)).await, 1);

        // Idempotency keys: one past the window, one inside it.
        let police = server.client_token("police-case-system", "police-demo-secret").await;
        for key in ["old-key", "new-key"] {
            let body = server.gql(Some(&police), REPORT, episode(key)).await;
            assert!(body["errors"].is_null(), "{body}");
        }
        let lapsed = Utc::now() - chrono::Duration::hours(49);
        exec_with(&server, "UPDATE idempotency_keys SET created_at = $1 WHERE key = $2", vec![lapsed.into(), "old-key".into()]).await;

        // Login throttles: idle and unlocked for two days (goes); idle but locked (stays);
        // recent (stays).
        let two_days = Utc::now() - chrono::Duration::days(2);
        let soon = Utc::now() + chrono::Duration::hours(1);
        let sql = "INSERT INTO login_throttles (username_key, failures, locked_until, last_attempt_at) VALUES ($1, $2, $3, $4)";
        exec_with(&server, sql, vec!["lapsed-key".into(), 2.into(), Option::<chrono::DateTime<Utc>>::None.into(), two_days.into()]).await;
        exec_with(&server, sql, vec!["locked-key".into(), 9.into(), Some(soon).into(), two_days.into()]).await;
        exec_with(&server, sql, vec!["recent-key".into(), 1.into(), Option::<chrono::DateTime<Utc>>::None.into(), Utc::now().into()]).await;

        let tokens_before = server.count(refresh_token::Entity).await;
        let sessions_before = server.count(session::Entity).await;
        let keys_before = server.count(idempotency_key::Entity).await;
        let throttles_before = server.count(login_throttle::Entity).await;
        let audit_before = audit_total(&server).await;
        let checkpoints_before = server.count(entity::audit_checkpoint::Entity).await;

        let swept = housekeeping::sweep(&server.core).await.expect("sweep");
        // The audit trail is untouched: same entries, same checkpoints (and it verifies, below).
        assert_eq!(audit_total(&server).await, audit_before);
        assert_eq!(server.count(entity::audit_checkpoint::Entity).await, checkpoints_before);
        assert_eq!(
            swept,
            housekeeping::Swept { refresh_tokens: 3, sessions: 2, idempotency_keys: 1, login_throttles: 1 }
        );
        assert_eq!(server.count(refresh_token::Entity).await, tokens_before - 3);
        assert_eq!(server.count(session::Entity).await, sessions_before - 2);
        assert_eq!(server.count(idempotency_key::Entity).await, keys_before - 1);
        assert_eq!(server.count(login_throttle::Entity).await, throttles_before - 1);

        assert!(stored_session(&server, session_of(&ended_expired.access)).await.is_none());
        assert!(stored_session(&server, session_of(&idle.access)).await.is_none());
        assert!(stored_session(&server, session_of(&ended_fresh.access)).await.is_some());
        assert!(stored_session(&server, session_of(&open.access)).await.is_some());
        assert_eq!(me_status(&server, &rotated.access).await, 200, "an open session is untouched");
        assert!(pair(&refresh(&server, &rotated.refresh).await, "refreshToken").access.len() > 10);
        let keys: Vec<String> = idempotency_key::Entity::find().all(server.db()).await.unwrap().into_iter().map(|k| k.key).collect();
        assert!(keys.contains(&"new-key".to_string()) && !keys.contains(&"old-key".to_string()), "{keys:?}");
        for (key, kept) in [("lapsed-key", false), ("locked-key", true), ("recent-key", true)] {
            let row = login_throttle::Entity::find_by_id(key.to_string()).one(server.db()).await.unwrap();
            assert_eq!(row.is_some(), kept, "{key}");
        }

        let verified = audit_verify::verify(&server.core, &RequestCtx::operator("test"), None)
            .await
            .expect("verify");
        assert!(verified.ok, "{:?}", verified.first_failure.map(|f| f.describe()));

        // A second sweep finds nothing more to do.
        let swept = housekeeping::sweep(&server.core).await.expect("sweep");
        assert_eq!(swept, housekeeping::Swept::default());
    })
    .await;
}

#[test]
fn an_idempotency_window_under_a_day_is_refused_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("w.db").display());
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_frontdoor"))
        .arg("migrate")
        .env("DATABASE_URL", &url)
        .env("FRONTDOOR_IDEMPOTENCY_WINDOW_HOURS", "12")
        .output()
        .expect("run frontdoor");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("FRONTDOOR_IDEMPOTENCY_WINDOW_HOURS is 12, but must be at least 24"),
        "{stderr}"
    );
    let created: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(created.is_empty(), "nothing was created: {created:?}");
}
