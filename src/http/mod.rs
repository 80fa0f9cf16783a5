//! The HTTP surface: routes, limits, request ids and tracing.
mod fhir;
mod graphiql;
mod graphql;
pub mod metrics;
mod oauth;
pub mod serve;
mod ws;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::auth::source_limit::ClientSource;
use crate::config::{canonical_ip, IpNet};
use crate::graphql::FrontdoorSchema;
use crate::Core;
use metrics::Metrics;

/// Largest request body accepted; larger ones get 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
const REQUEST_ID: &str = "x-request-id";

#[derive(Clone)]
pub struct AppState {
    pub core: Core,
    pub schema: FrontdoorSchema,
    pub metrics: Arc<Metrics>,
    /// Who each recent bearer token belongs to (two seconds at most).
    pub principals: Arc<crate::domain::identity::sessions::PrincipalCache>,
    /// Subscription connections this instance may still accept.
    pub ws_slots: Arc<tokio::sync::Semaphore>,
}

/// Subscription connections one instance holds at most; more are refused with 503.
pub const MAX_WS_CONNECTIONS: usize = 5000;

pub(crate) fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The request's source: the peer address, or — when the peer is a trusted proxy — the
/// nearest address in `X-Forwarded-For` that is not itself a trusted proxy. An entry that
/// does not parse stops the walk at the peer: a forged header never picks the bucket.
pub fn client_source(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let peer = canonical_ip(peer?);
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = canonical_ip(ip);
                if !is_trusted(client) {
                    return Some(client);
                }
            }
            Err(_) => return Some(peer),
        }
    }
    Some(client)
}

async fn mark_source(
    State(state): State<AppState>,
    mut request: axum::extract::Request,
) -> axum::extract::Request {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let source = client_source(peer, request.headers(), &state.core.config.trusted_proxies);
    request.extensions_mut().insert(ClientSource(source));
    request
}

/// Request ids are ours alone: an incoming one is dropped so callers cannot forge the id
/// that ties audit entries and log lines together.
async fn drop_incoming_request_id(mut request: axum::extract::Request) -> axum::extract::Request {
    request.headers_mut().remove(REQUEST_ID);
    request
}

/// A body refused for its size is left unread, so its connection cannot carry another
/// request: say so, or a client that keeps it alive sends its next request into the unread
/// bytes and sees the connection drop.
async fn close_after_refused_body(
    mut response: axum::response::Response,
) -> axum::response::Response {
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    response
}

/// Cross-origin calls from the configured browser origins only: GraphQL over POST (and the
/// token endpoint) with a bearer token, never cookies. With no origins configured there is
/// no CORS layer at all, so a preflight is refused as any unknown method is.
fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allowed: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(allowed))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .expose_headers([HeaderName::from_static(REQUEST_ID)])
            .max_age(Duration::from_secs(600)),
    )
}

pub fn router(state: AppState, request_timeout: Duration) -> Router {
    let request_id_header = HeaderName::from_static(REQUEST_ID);
    let layers = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(request_id_header.clone(), MakeRequestUuid))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    let id = request
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path())
                })
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::new(request_id_header))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, request_timeout));
    let router = Router::new()
        .route("/graphql", post(graphql::post).get(graphiql::page))
        .route("/graphql/ws", get(ws::upgrade))
        .route("/graphiql/{file}", get(graphiql::asset))
        .route("/oauth/token", post(oauth::token))
        .route("/fhir/AuditEvent", get(fhir::search_audit_events))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(layers)
        .layer(axum::middleware::map_request(drop_incoming_request_id))
        .layer(axum::middleware::map_response(close_after_refused_body))
        .layer(axum::middleware::map_request_with_state(
            state.clone(),
            mark_source,
        ))
        .with_state(state.clone());
    match cors(&state.core.config.cors_origins) {
        Some(cors) => router.layer(cors),
        None => router,
    }
}

async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers a statement now. Pooled connections in recent use are
/// not pinged before use, so after the database drops them (a restart, a failover) each one
/// fails one statement and is then closed by the pool: the probe tries past every connection
/// the pool may hold before it says the database is unreachable.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let attempts = state.core.config.db_max_connections + 1;
    let reachable = async {
        for _ in 0..attempts {
            if crate::db::ping(&state.core.db).await.is_ok() {
                return true;
            }
        }
        false
    };
    match tokio::time::timeout(Duration::from_secs(2), reachable).await {
        Ok(true) => (StatusCode::OK, "ready"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable"),
    }
}

async fn metrics_text(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        state.metrics.render(&state.core.db),
    )
}

/// The whole HTTP application, as `serve` runs it and as the tests drive it.
pub fn build_app(core: Core) -> Router {
    crate::auth::password::warm_up();
    let schema = crate::graphql::build_schema(Some(core.clone()), core.config.is_production());
    let timeout = core.config.request_timeout;
    let metrics = Arc::new(Metrics::new(
        core.statements.clone(),
        core.empty_polls.clone(),
    ));
    let state = AppState {
        core,
        schema,
        metrics,
        principals: Arc::default(),
        ws_slots: Arc::new(tokio::sync::Semaphore::new(MAX_WS_CONNECTIONS)),
    };
    router(state, timeout)
}
