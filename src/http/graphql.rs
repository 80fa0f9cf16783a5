//! `POST /graphql`: one operation per request (GraphiQL on `GET /graphql` is `graphiql`).
use std::time::Instant;

use async_graphql_axum::GraphQLResponse;
use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{request_id, AppState};
use crate::auth::source_limit::ClientSource;
use crate::domain::{Actor, RequestCtx};
use crate::graphql::{limits, OperationLabel};

fn error_body(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    let mut response = (status, axum::Json(body)).into_response();
    if code == "UNAUTHENTICATED" {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
    }
    response
}

/// The bearer token, if any. A malformed Authorization header counts as a bad token.
pub(super) fn bearer(headers: &HeaderMap) -> Result<Option<&str>, ()> {
    match headers.get(header::AUTHORIZATION) {
        None => Ok(None),
        Some(value) => {
            let value = value.to_str().map_err(|_| ())?;
            let (scheme, token) = value.split_once(' ').ok_or(())?;
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() {
                Ok(Some(token.trim()))
            } else {
                Err(())
            }
        }
    }
}

/// `application/json` or `application/graphql-response+json`, parameters allowed. Anything
/// else — text/plain, forms, multipart, none at all — is what a cross-site form or a
/// "simple" browser request sends, and is never executed.
fn is_json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let media = value.split(';').next().unwrap_or("").trim();
    media.eq_ignore_ascii_case("application/json")
        || media.eq_ignore_ascii_case("application/graphql-response+json")
}

pub async fn post(
    State(state): State<AppState>,
    Extension(source): Extension<ClientSource>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    if !is_json_content_type(&headers) {
        return error_body(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "BAD_USER_INPUT",
            "the body must be JSON: send Content-Type: application/json",
        );
    }
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        return error_body(
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            "batched requests are not supported: send one operation per request",
        );
    }
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(_) => {
            return error_body(
                StatusCode::BAD_REQUEST,
                "BAD_USER_INPUT",
                "the body must be a JSON object with `query` and optional `variables` and `operationName`",
            )
        }
    };

    if let Err(err) = limits::check_query_size(&request.query) {
        return error_body(StatusCode::BAD_REQUEST, err.code(), &err.message());
    }

    let actor = match bearer(&headers) {
        Ok(None) => Actor::anonymous(),
        Ok(Some(token)) => match state.principals.authenticate(&state.core, token).await {
            Ok(actor) => actor,
            Err(err) if err.code() == "UNAUTHENTICATED" => {
                state.metrics.observe(
                    "unauthenticated",
                    started.elapsed().as_secs_f64(),
                    &["UNAUTHENTICATED".into()],
                );
                return error_body(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", &err.message());
            }
            Err(err) => {
                return error_body(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    err.code(),
                    &err.message(),
                )
            }
        },
        Err(()) => {
            return error_body(
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
                "the Authorization header must be `Bearer <token>`",
            )
        }
    };

    let label = OperationLabel {
        operation_name: request.operation_name.clone(),
        ..Default::default()
    };
    let ctx = RequestCtx {
        actor,
        request_id: request_id(&headers),
    };
    let request = request.data(ctx).data(label.clone()).data(source);
    let mut response = state.schema.execute(request).await;

    // Errors raised by the GraphQL engine itself (syntax, validation, limits, input
    // coercion) carry no code: they are the caller's document at fault.
    let mut codes = Vec::with_capacity(response.errors.len());
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        let code = match extensions.get("code") {
            Some(async_graphql::Value::String(code)) => code.clone(),
            _ => {
                extensions.set("code", "BAD_USER_INPUT");
                if let Some(field) = argument_named(&error.message) {
                    extensions.set("field", field);
                }
                "BAD_USER_INPUT".to_string()
            }
        };
        codes.push(code);
    }
    let operation = label.get();
    let elapsed = started.elapsed();
    state
        .metrics
        .observe(&operation, elapsed.as_secs_f64(), &codes);
    tracing::info!(operation = %operation, errors = ?codes, elapsed_ms = elapsed.as_millis() as u64, "graphql");
    GraphQLResponse::from(response).into_response()
}

/// The field an input-coercion error names, in the services' path format: the engine's
/// `Invalid value for argument "input.child.gender", …` names `child.gender`, and
/// `"episodes.2.riskGrade"` names `episodes[2].riskGrade`.
fn argument_named(message: &str) -> Option<String> {
    let rest = message.split_once("argument \"")?.1;
    let engine_path = rest.split_once('"')?.0;
    let mut segments = engine_path.split('.').peekable();
    if segments.peek() == Some(&"input") && engine_path != "input" {
        segments.next();
    }
    let mut field = String::new();
    for segment in segments {
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            field.push_str(&format!("[{segment}]"));
        } else {
            if !field.is_empty() {
                field.push('.');
            }
            field.push_str(segment);
        }
    }
    Some(field)
}

#[cfg(test)]
mod tests {
    use super::argument_named;

    #[test]
    fn coercion_errors_name_fields_relative_to_the_input() {
        let named =
            |path: &str| argument_named(&format!("Invalid value for argument \"{path}\", x"));
        assert_eq!(named("input.child.gender").as_deref(), Some("child.gender"));
        assert_eq!(named("input.gender").as_deref(), Some("gender"));
        assert_eq!(named("input").as_deref(), Some("input"));
        assert_eq!(
            named("episodes.2.child.gender").as_deref(),
            Some("episodes[2].child.gender")
        );
        assert_eq!(named("first").as_deref(), Some("first"));
        assert_eq!(argument_named("Unknown field"), None);
    }
}
