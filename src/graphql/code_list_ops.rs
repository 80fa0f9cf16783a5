//! `codeList`: the national code lists the API takes as text, with their labels, so
//! front-ends build their pick-lists from the server rather than copies of their own.
use async_graphql::{Enum, Object, SimpleObject};

use crate::domain::common::code_lists::CodeList as List;

/// A code list the API accepts codes from.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeList {
    /// Who made a contact (`SubmitContactInput.sourceCode`): the DfE children in need
    /// census referral sources.
    ContactSource,
    /// A child's ethnicity (`ChildInput.ethnicity`): the DfE four-letter codes.
    Ethnicity,
    /// The police risk grade of a missing episode (`MissingEpisodeInput.riskGrade`).
    RiskGrade,
    /// What became of a return home interview (`ReturnHomeInterviewInput.outcome`).
    ReturnInterviewOutcome,
}

impl From<CodeList> for List {
    fn from(list: CodeList) -> List {
        match list {
            CodeList::ContactSource => List::ContactSource,
            CodeList::Ethnicity => List::Ethnicity,
            CodeList::RiskGrade => List::RiskGrade,
            CodeList::ReturnInterviewOutcome => List::ReturnInterviewOutcome,
        }
    }
}

/// One code of a list.
#[derive(SimpleObject)]
pub struct Code {
    /// The code to send.
    code: &'static str,
    /// What it means, for a person choosing it.
    label: &'static str,
}

#[derive(Default)]
pub struct CodeListQuery;

#[Object]
impl CodeListQuery {
    /// Every code of a national list with its label, in the list's own order. Anyone may
    /// ask (the lists are public); input outside a list is BAD_USER_INPUT naming it.
    async fn code_list(&self, #[graphql(desc = "Which list.")] list: CodeList) -> Vec<Code> {
        List::from(list)
            .codes()
            .iter()
            .map(|&(code, label)| Code { code, label })
            .collect()
    }
}
