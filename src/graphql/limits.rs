//! Limits on the document itself, checked before anything runs: its size and token count
//! before it is parsed, then how many session fields (each an Argon2 verification) and
//! aliases it holds. Depth and complexity are limited by the schema (see `build_schema`).
use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
};
use async_graphql::{Pos, ServerError, ServerResult, Variables};

use crate::error::{AppError, AppResult};

/// Largest `query` string accepted, in bytes (the whole body is limited to 1 MiB apart).
pub const MAX_QUERY_BYTES: usize = 64 * 1024;
/// Most lexical tokens (names, punctuation, values) in one document.
pub const MAX_TOKENS: usize = 1_000;
/// Most aliased fields in one document.
pub const MAX_ALIASES: usize = 15;
/// Root fields that check a password or rotate a session: at most one per document.
pub const SESSION_FIELDS: [&str; 3] = ["login", "refreshToken", "changePassword"];
pub const MAX_SESSION_FIELDS: usize = 1;

fn refused(message: String) -> AppError {
    AppError::bad_input("query", message)
}

pub fn check_query_size(query: &str) -> AppResult<()> {
    if query.len() > MAX_QUERY_BYTES {
        return Err(refused(format!(
            "the query is too large: at most {MAX_QUERY_BYTES} bytes"
        )));
    }
    Ok(())
}

/// The document's lexical tokens, counted up to `stop_after` + 1 (enough to refuse it).
pub fn count_tokens(query: &str, stop_after: usize) -> usize {
    let bytes = query.as_bytes();
    let mut i = 0;
    let mut tokens = 0;
    while i < bytes.len() && tokens <= stop_after {
        let b = bytes[i];
        match b {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => i += 1,
            0xEF if bytes[i..].starts_with(&[0xEF, 0xBB, 0xBF]) => i += 3,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                tokens += 1;
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 3;
            }
            b'"' => {
                tokens += 1;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'.' if bytes[i..].starts_with(b"...") => {
                tokens += 1;
                i += 3;
            }
            b'_' | b'a'..=b'z' | b'A'..=b'Z' => {
                tokens += 1;
                while i < bytes.len() && (bytes[i] == b'_' || bytes[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
            }
            b'-' | b'0'..=b'9' => {
                tokens += 1;
                i += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'.' | b'+' | b'-'))
                {
                    i += 1;
                }
            }
            _ => {
                tokens += 1;
                i += 1;
            }
        }
    }
    tokens
}

pub fn check_tokens(query: &str) -> AppResult<()> {
    if count_tokens(query, MAX_TOKENS) > MAX_TOKENS {
        return Err(refused(format!(
            "the query is too long: at most {MAX_TOKENS} tokens"
        )));
    }
    Ok(())
}

#[derive(Default)]
struct Counts {
    aliases: usize,
    session_fields: usize,
}

/// Every aliased field, at any depth.
fn count_aliases(set: &SelectionSet, counts: &mut Counts) {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                if field.node.alias.is_some() {
                    counts.aliases += 1;
                }
                count_aliases(&field.node.selection_set.node, counts);
            }
            Selection::InlineFragment(fragment) => {
                count_aliases(&fragment.node.selection_set.node, counts);
            }
            Selection::FragmentSpread(_) => {}
        }
    }
}

/// Session fields at the root of a mutation (inline fragments included; named fragments
/// are counted where they are defined).
fn count_session_fields(set: &SelectionSet, counts: &mut Counts) {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                if SESSION_FIELDS.contains(&field.node.name.node.as_str()) {
                    counts.session_fields += 1;
                }
            }
            Selection::InlineFragment(fragment) => {
                count_session_fields(&fragment.node.selection_set.node, counts);
            }
            Selection::FragmentSpread(_) => {}
        }
    }
}

/// Checks a parsed document against the alias and session-field limits. Every occurrence
/// counts, in every operation and fragment of the document, used or not.
pub fn check_document(document: &ExecutableDocument, mutation_type: &str) -> AppResult<()> {
    let mut counts = Counts::default();
    let operations: Vec<_> = match &document.operations {
        DocumentOperations::Single(op) => vec![op],
        DocumentOperations::Multiple(ops) => ops.values().collect(),
    };
    for op in operations {
        count_aliases(&op.node.selection_set.node, &mut counts);
        if op.node.ty == OperationType::Mutation {
            count_session_fields(&op.node.selection_set.node, &mut counts);
        }
    }
    for fragment in document.fragments.values() {
        count_aliases(&fragment.node.selection_set.node, &mut counts);
        if fragment.node.type_condition.node.on.node.as_str() == mutation_type {
            count_session_fields(&fragment.node.selection_set.node, &mut counts);
        }
    }
    if counts.session_fields > MAX_SESSION_FIELDS {
        return Err(refused(format!(
            "at most {MAX_SESSION_FIELDS} of login, refreshToken and changePassword per request"
        )));
    }
    if counts.aliases > MAX_ALIASES {
        return Err(refused(format!(
            "too many aliases: at most {MAX_ALIASES} per request"
        )));
    }
    Ok(())
}

fn server_error(err: AppError) -> ServerError {
    async_graphql::Error::from(err).into_server_error(Pos::default())
}

/// The schema extension that applies these limits around parsing.
pub struct DocumentLimits;

impl ExtensionFactory for DocumentLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(DocumentLimits)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for DocumentLimits {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        check_query_size(query).map_err(server_error)?;
        check_tokens(query).map_err(server_error)?;
        let document = next.run(ctx, query, variables).await?;
        let mutation_type = ctx
            .schema_env
            .registry
            .mutation_type
            .as_deref()
            .unwrap_or("Mutation");
        check_document(&document, mutation_type).map_err(server_error)?;
        Ok(document)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_counted_like_the_lexer_does() {
        assert_eq!(count_tokens("{ me { name } }", 100), 6);
        assert_eq!(
            count_tokens("query Q($a: Int = -1.5e3) { x(a: $a) }", 100),
            19
        );
        assert_eq!(
            count_tokens("# comment\n{ a(s: \"x, y \\\" z\") ...F }", 100),
            10
        );
        assert_eq!(
            count_tokens("{ a(s: \"\"\"block \"\" text\"\"\") }", 100),
            8
        );
    }

    #[test]
    fn session_fields_and_aliases_are_counted_everywhere() {
        let parse = |q: &str| async_graphql::parser::parse_query(q).unwrap();
        let one = parse("mutation { login(username: \"a\", password: \"b\") { refreshToken } }");
        assert!(check_document(&one, "Mutation").is_ok());
        let two = parse("mutation { a: login(username: \"a\", password: \"b\") { accessToken } ... on Mutation { refreshToken(refreshToken: \"x\") { accessToken } } }");
        assert!(check_document(&two, "Mutation").is_err());
        let fragment = parse("mutation { login(username: \"a\", password: \"b\") { accessToken } ...F } fragment F on Mutation { changePassword(currentPassword: \"a\", newPassword: \"b\") { accessToken } }");
        assert!(check_document(&fragment, "Mutation").is_err());
        let aliases: String = (0..16).map(|i| format!("a{i}: me {{ name }} ")).collect();
        assert!(check_document(&parse(&format!("{{ {aliases} }}")), "Mutation").is_err());
    }
}
