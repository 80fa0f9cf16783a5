//! Parsed documents, remembered by their text.
//!
//! Clients send the same few documents over and over (a screen's query, an integration's
//! poll) with different variables, and parsing one took about a tenth of a simple read's
//! time. So a document parsed once is kept and cloned for the next request with the same
//! text. Only parsing is skipped: the size and token limits, the input guard and the
//! labeller run on every request (they wrap this extension), and so does validation
//! against the schema. Memory is bounded whoever sends what: only short documents are
//! kept, at most `ENTRIES` of them, and a full table is emptied rather than grown.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{ServerResult, Variables};

/// How many documents are kept.
const ENTRIES: usize = 256;

/// Longest document kept, in bytes (a screen's query is well under this).
const MAX_KEPT_BYTES: usize = 4096;

#[derive(Default)]
pub struct ParsedDocuments {
    documents: Arc<Mutex<HashMap<String, ExecutableDocument>>>,
}

impl ExtensionFactory for ParsedDocuments {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Remembering {
            documents: self.documents.clone(),
        })
    }
}

struct Remembering {
    documents: Arc<Mutex<HashMap<String, ExecutableDocument>>>,
}

#[async_graphql::async_trait::async_trait]
impl Extension for Remembering {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        if let Some(document) = self
            .documents
            .lock()
            .ok()
            .and_then(|d| d.get(query).cloned())
        {
            return Ok(document);
        }
        let document = next.run(ctx, query, variables).await?;
        if query.len() <= MAX_KEPT_BYTES {
            if let Ok(mut documents) = self.documents.lock() {
                if documents.len() >= ENTRIES {
                    documents.clear();
                }
                documents.insert(query.to_string(), document.clone());
            }
        }
        Ok(document)
    }
}
