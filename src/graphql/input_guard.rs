//! A check at the edge, behind the services' own: no string anywhere in a request's
//! arguments or variables may hold control characters other than tab and line breaks.
//! The refusal is BAD_USER_INPUT naming the field in the services' path format
//! (`child.firstName`, `episodes[2].child.lastName`, `reason`), before anything runs.
use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::parser::Positioned;
use async_graphql::{ErrorExtensions, Name, Pos, ServerResult, Variables};
use async_graphql_value::{ConstValue, Value};

use crate::domain::common::checks;

pub struct InputGuard;

impl ExtensionFactory for InputGuard {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(InputGuard)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for InputGuard {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        check(&document, variables)?;
        Ok(document)
    }
}

/// The first string a request may not carry, as a refusal naming its field.
fn check(document: &ExecutableDocument, variables: &Variables) -> ServerResult<()> {
    let mut walk = Walk::default();
    for (_, operation) in document.operations.iter() {
        for definition in &operation.node.variable_definitions {
            let name = &definition.node.name.node;
            if let Some(default) = &definition.node.default_value {
                walk.pending_defaults
                    .push((name.clone(), default.node.clone(), definition.pos));
            }
        }
        walk.directives(&operation.node.directives)?;
        walk.selection_set(&operation.node.selection_set)?;
    }
    for fragment in document.fragments.values() {
        walk.directives(&fragment.node.directives)?;
        walk.selection_set(&fragment.node.selection_set)?;
    }
    for (name, value) in variables.iter() {
        let (path, pos) = walk.variable_path(name);
        const_value(&path, value, pos)?;
    }
    for (name, value, pos) in std::mem::take(&mut walk.pending_defaults) {
        let (path, _) = walk.variable_path(&name);
        const_value(&path, &value, pos)?;
    }
    Ok(())
}

#[derive(Default)]
struct Walk {
    /// Where each variable is first used, as a field path.
    used_at: HashMap<Name, (String, Pos)>,
    pending_defaults: Vec<(Name, ConstValue, Pos)>,
}

impl Walk {
    fn variable_path(&self, name: &Name) -> (String, Pos) {
        self.used_at
            .get(name)
            .cloned()
            .unwrap_or_else(|| (name.to_string(), Pos::default()))
    }

    fn selection_set(&mut self, set: &Positioned<SelectionSet>) -> ServerResult<()> {
        for item in &set.node.items {
            match &item.node {
                Selection::Field(field) => {
                    self.arguments(&field.node.arguments)?;
                    self.directives(&field.node.directives)?;
                    self.selection_set(&field.node.selection_set)?;
                }
                Selection::FragmentSpread(spread) => self.directives(&spread.node.directives)?,
                Selection::InlineFragment(inline) => {
                    self.directives(&inline.node.directives)?;
                    self.selection_set(&inline.node.selection_set)?;
                }
            }
        }
        Ok(())
    }

    fn directives(
        &mut self,
        directives: &[Positioned<async_graphql::parser::types::Directive>],
    ) -> ServerResult<()> {
        for directive in directives {
            self.arguments(&directive.node.arguments)?;
        }
        Ok(())
    }

    fn arguments(
        &mut self,
        arguments: &[(Positioned<Name>, Positioned<Value>)],
    ) -> ServerResult<()> {
        for (name, value) in arguments {
            // Paths are relative to a mutation's `input` argument.
            let root = if name.node.as_str() == "input" {
                String::new()
            } else {
                name.node.to_string()
            };
            self.value(&root, &value.node, value.pos)?;
        }
        Ok(())
    }

    fn value(&mut self, path: &str, value: &Value, pos: Pos) -> ServerResult<()> {
        match value {
            Value::Variable(name) => {
                self.used_at
                    .entry(name.clone())
                    .or_insert_with(|| (path.to_string(), pos));
            }
            Value::String(s) => refuse_if_forbidden(path, s, pos)?,
            Value::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.value(&format!("{path}[{i}]"), item, pos)?;
                }
            }
            Value::Object(fields) => {
                for (key, item) in fields {
                    self.value(&checks::path(path, key), item, pos)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

fn const_value(path: &str, value: &ConstValue, pos: Pos) -> ServerResult<()> {
    match value {
        ConstValue::String(s) => refuse_if_forbidden(path, s, pos)?,
        ConstValue::List(items) => {
            for (i, item) in items.iter().enumerate() {
                const_value(&format!("{path}[{i}]"), item, pos)?;
            }
        }
        ConstValue::Object(fields) => {
            for (key, item) in fields {
                const_value(&checks::path(path, key), item, pos)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn refuse_if_forbidden(path: &str, value: &str, pos: Pos) -> ServerResult<()> {
    match checks::forbidden_anywhere(value) {
        None => Ok(()),
        Some(why) => {
            let field = if path.is_empty() { "input" } else { path };
            Err(async_graphql::Error::new(why)
                .extend_with(|_, ext| {
                    ext.set("code", "BAD_USER_INPUT");
                    ext.set("field", field);
                })
                .into_server_error(pos))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;
    use async_graphql::ServerError;
    use serde_json::json;

    fn field_refused(query: &str, variables: serde_json::Value) -> Option<String> {
        let document = parse_query(query).unwrap();
        let variables = Variables::from_json(variables);
        check(&document, &variables).err().map(|e: ServerError| {
            let ext = e.extensions.expect("extensions");
            match ext.get("field") {
                Some(ConstValue::String(f)) => f.clone(),
                other => panic!("no field: {other:?}"),
            }
        })
    }

    #[test]
    fn paths_follow_the_input_argument_through_variables_and_literals() {
        let q = "mutation($input: SubmitContactInput!) { submitContact(input: $input) { id } }";
        assert_eq!(
            field_refused(
                q,
                json!({ "input": { "child": { "firstName": "A\u{0}" } } })
            ),
            Some("child.firstName".into())
        );
        let q =
            "mutation($e: [MissingEpisodeInput!]!) { reportMissingEpisodes(episodes: $e) { id } }";
        assert_eq!(
            field_refused(
                q,
                json!({ "e": [{}, {}, { "child": { "lastName": "\u{7}" } }] })
            ),
            Some("episodes[2].child.lastName".into())
        );
        let q = "mutation($c: String!) { x(input: { disclosures: [{ content: $c }] }) { id } }";
        assert_eq!(
            field_refused(q, json!({ "c": "\u{1b}[2J" })),
            Some("disclosures[0].content".into())
        );
        let q = "mutation { x(requestId: \"1\", reason: \"a\\u0000b\") { id } }";
        assert_eq!(field_refused(q, json!({})), Some("reason".into()));
        let q = "query($unused: String) { me { kind } }";
        assert_eq!(
            field_refused(q, json!({ "unused": "\u{0}" })),
            Some("unused".into())
        );
    }

    #[test]
    fn tabs_line_breaks_and_other_scripts_pass() {
        let q = "mutation($input: X!) { submitContact(input: $input) { id } }";
        let prose = "Line one\r\n\tLine two — «quoted» مینا \u{200c} \u{202e}";
        assert_eq!(
            field_refused(
                q,
                json!({ "input": { "narrative": prose, "n": [1, true, null] } })
            ),
            None
        );
    }
}
