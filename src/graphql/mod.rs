//! The GraphQL schema: thin resolvers over the domain services, with the limits that
//! protect the server (depth, complexity, no introspection or suggestions in production).
mod annex_ops;
mod case_inputs;
mod case_ops;
pub mod case_types;
mod code_list_ops;
pub mod codes;
pub mod ids;
mod input_guard;
pub mod limits;
mod missing_ops;
mod mutation;
mod node;
mod outcome_ops;
mod parsed;
mod query;
mod report_ops;
pub mod subscription;
pub mod types;

use std::sync::{Arc, Mutex};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection,
};
use async_graphql::registry::Registry;
use async_graphql::{Context, MergedObject, Schema, SchemaBuilder, ServerResult, Variables};

/// Every query: identity and administration, and the MASH workflow.
#[derive(MergedObject, Default)]
pub struct Query(
    query::IdentityQuery,
    case_ops::CaseQuery,
    missing_ops::MissingQuery,
    outcome_ops::OutcomeQuery,
    annex_ops::AnnexQuery,
    report_ops::ReportQuery,
    code_list_ops::CodeListQuery,
);

/// Every mutation.
#[derive(MergedObject, Default)]
pub struct Mutation(
    mutation::IdentityMutation,
    case_ops::CaseMutation,
    missing_ops::MissingMutation,
    outcome_ops::OutcomeMutation,
);

use crate::domain::RequestCtx;
use crate::Core;

pub type FrontdoorSchema = Schema<Query, Mutation, subscription::Subscription>;

/// Deep enough for GraphiQL's introspection query, far short of abusive nesting.
pub const MAX_DEPTH: usize = 15;
pub const MAX_COMPLEXITY: usize = 1000;

pub fn build_schema(core: Option<Core>, production: bool) -> FrontdoorSchema {
    let mut builder = Schema::build(
        Query::default(),
        Mutation::default(),
        subscription::Subscription,
    )
    .limit_depth(MAX_DEPTH)
    .limit_complexity(MAX_COMPLEXITY)
    .limit_recursive_depth(64)
    // The guard wraps the labeller, so a refused request is still labelled.
    .extension(input_guard::InputGuard)
    .extension(limits::DocumentLimits)
    .extension(OperationLabeller)
    // Innermost: only the parse itself is skipped for a document seen before.
    .extension(parsed::ParsedDocuments::default());
    builder = describe_lists(builder);
    if let Some(core) = core {
        builder = builder.data(core);
    }
    if production {
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder.finish()
}

/// Describes each list's connection type and its edge type (as `Connection<N>` generates
/// them, a connection has no description and an edge a generic one).
macro_rules! describe_lists {
    ($builder:expr, $($node:ty => $many:literal, $one:literal;)+) => {
        $builder
        $(
            .override_output_type_description::<types::Connection<$node>>(concat!(
                "One page of ", $many, "."
            ))
            .override_output_type_description::<
                async_graphql::connection::Edge<
                    String,
                    $node,
                    async_graphql::connection::EmptyFields,
                >,
            >(concat!($one, " in a page, with its cursor."))
        )+
    };
}

fn describe_lists(
    builder: SchemaBuilder<Query, Mutation, subscription::Subscription>,
) -> SchemaBuilder<Query, Mutation, subscription::Subscription> {
    use case_types::{Contact, InformationRequest};
    use missing_ops::MissingEpisode;
    use outcome_ops::{EarlyHelpEpisode, Referral};
    use types::{Agency, AuditCheckpoint, AuditEvent, Client, User};
    describe_lists!(builder,
        Agency => "agencies", "An agency";
        User => "users", "A user";
        Client => "machine clients", "A machine client";
        AuditEvent => "audit entries", "An audit entry";
        AuditCheckpoint => "audit checkpoints", "An audit checkpoint";
        Contact => "contacts", "A contact";
        InformationRequest => "information requests", "An information request";
        MissingEpisode => "missing episodes", "A missing episode";
        Referral => "referrals", "A referral";
        EarlyHelpEpisode => "early help episodes", "An early help episode";
    )
}

/// The SDL committed as `schema.graphql`.
pub fn sdl() -> String {
    build_schema(None, false).sdl()
}

/// The services and the caller, as every resolver needs them.
pub(crate) fn env<'a>(ctx: &Context<'a>) -> (&'a Core, &'a RequestCtx) {
    (
        ctx.data_unchecked::<Core>(),
        ctx.data_unchecked::<RequestCtx>(),
    )
}

/// A bounded label for metrics and logs: operation type and root field names (never
/// aliases or the client's operation name, which are unbounded).
#[derive(Clone, Default)]
pub struct OperationLabel {
    pub operation_name: Option<String>,
    pub label: Arc<Mutex<Option<String>>>,
}

impl OperationLabel {
    pub fn get(&self) -> String {
        self.label
            .lock()
            .ok()
            .and_then(|l| l.clone())
            .unwrap_or_else(|| "invalid".into())
    }
}

struct OperationLabeller;

impl ExtensionFactory for OperationLabeller {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(OperationLabeller)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for OperationLabeller {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        if let Some(slot) = ctx.data_opt::<OperationLabel>() {
            let registry = &ctx.schema_env.registry;
            let label = label_for(&document, slot.operation_name.as_deref(), registry);
            if let Ok(mut guard) = slot.label.lock() {
                *guard = Some(label);
            }
        }
        Ok(document)
    }
}

/// A root field's name if the schema has it (or introspection's own), else `unknown`:
/// a document with made-up field names fails validation but must not mint a new label.
fn known_root_field<'a>(registry: &Registry, root_type: Option<&str>, name: &'a str) -> &'a str {
    let known = matches!(name, "__typename" | "__schema" | "__type")
        || root_type
            .and_then(|t| registry.types.get(t))
            .and_then(|t| t.field_by_name(name))
            .is_some();
    if known {
        name
    } else {
        "unknown"
    }
}

fn label_for(document: &ExecutableDocument, name: Option<&str>, registry: &Registry) -> String {
    let operation = match (&document.operations, name) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name),
        (DocumentOperations::Multiple(ops), None) => ops.values().next(),
    };
    let Some(operation) = operation else {
        return "invalid".into();
    };
    let (kind, root_type) = match operation.node.ty {
        OperationType::Query => ("query", Some(registry.query_type.as_str())),
        OperationType::Mutation => ("mutation", registry.mutation_type.as_deref()),
        OperationType::Subscription => ("subscription", registry.subscription_type.as_deref()),
    };
    let mut fields: Vec<String> = operation
        .node
        .selection_set
        .node
        .items
        .iter()
        .filter_map(|item| match &item.node {
            Selection::Field(field) => Some(
                known_root_field(registry, root_type, field.node.name.node.as_str()).to_string(),
            ),
            _ => None,
        })
        .collect();
    fields.sort();
    fields.dedup();
    fields.truncate(3);
    format!("{kind}:{}", fields.join("+"))
}
