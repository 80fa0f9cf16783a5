//! The national code lists the API takes as text, with their labels (docs/codes.md): what
//! `codeList` gives front-ends to build pick-lists from, and what input is checked against.
//! A refused code names its field and the list to look in.
use crate::error::{AppError, AppResult};

/// A list the API accepts codes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeList {
    /// Who made a contact (DfE children in need census `ReferralSource`).
    ContactSource,
    /// A child's ethnicity (DfE four-letter codes).
    Ethnicity,
    /// The police risk grade of a missing episode.
    RiskGrade,
    /// What became of a return home interview.
    ReturnInterviewOutcome,
}

impl CodeList {
    /// The name front-ends pass to `codeList` (the GraphQL enum value).
    pub const fn name(self) -> &'static str {
        match self {
            CodeList::ContactSource => "CONTACT_SOURCE",
            CodeList::Ethnicity => "ETHNICITY",
            CodeList::RiskGrade => "RISK_GRADE",
            CodeList::ReturnInterviewOutcome => "RETURN_INTERVIEW_OUTCOME",
        }
    }

    /// Every (code, label), in the list's own order.
    pub const fn codes(self) -> &'static [(&'static str, &'static str)] {
        match self {
            CodeList::ContactSource => &[
                ("1A", "Individual: family member, relative or carer"),
                ("1B", "Individual: acquaintance (neighbour, childminder)"),
                ("1C", "Individual: the child themself"),
                ("1D", "Individual: anyone else (a stranger, an MP)"),
                ("2A", "Schools"),
                ("2B", "Education services"),
                ("3A", "Health: general practitioner"),
                ("3B", "Health: health visitor"),
                ("3C", "Health: school nurse"),
                ("3D", "Health: other primary health services"),
                ("3E", "Health: accident and emergency"),
                ("3F", "Health: other (a hospice, for example)"),
                ("4", "Housing (council or housing association)"),
                ("5A", "Local authority: social care"),
                ("5B", "Local authority: other internal services"),
                ("5C", "Local authority: another authority"),
                ("5D", "Local authority: early help"),
                ("6", "Police"),
                (
                    "7",
                    "Other legal agency (courts, probation, immigration, Cafcass, prison)",
                ),
                (
                    "8",
                    "Other (children's centres, independent or voluntary organisations)",
                ),
                ("9", "Anonymous"),
                ("10", "Not known"),
            ],
            CodeList::Ethnicity => &[
                ("WBRI", "White British"),
                ("WIRI", "White Irish"),
                ("WIRT", "Traveller of Irish heritage"),
                ("WOTH", "Any other White background"),
                ("WROM", "Gypsy or Roma"),
                ("MWBC", "White and Black Caribbean"),
                ("MWBA", "White and Black African"),
                ("MWAS", "White and Asian"),
                ("MOTH", "Any other mixed background"),
                ("AIND", "Indian"),
                ("APKN", "Pakistani"),
                ("ABAN", "Bangladeshi"),
                ("AOTH", "Any other Asian background"),
                ("BCRB", "Black Caribbean"),
                ("BAFR", "Black African"),
                ("BOTH", "Any other Black background"),
                ("CHNE", "Chinese"),
                ("OOTH", "Any other ethnic group"),
                ("REFU", "Refused"),
                ("NOBT", "Information not yet obtained"),
            ],
            CodeList::RiskGrade => &[
                ("HIGH", "High risk"),
                ("MEDIUM", "Medium risk"),
                ("LOW", "Low risk"),
                ("NO_APPARENT_RISK", "No apparent risk"),
            ],
            CodeList::ReturnInterviewOutcome => &[
                ("COMPLETED", "Completed"),
                ("DECLINED", "Declined by the child"),
                ("NOT_OFFERED", "Not offered"),
                ("CARRIED_OVER", "Carried over (still to be held)"),
            ],
        }
    }

    pub fn contains(self, code: &str) -> bool {
        self.codes().iter().any(|(c, _)| *c == code)
    }

    /// `code` if it is on the list; otherwise BAD_USER_INPUT on `field`, naming the list.
    pub fn check<'a>(self, field: &str, code: &'a str) -> AppResult<&'a str> {
        if self.contains(code) {
            Ok(code)
        } else {
            Err(self.refusal(field, ""))
        }
    }

    /// BAD_USER_INPUT on `field`, naming the list (and `why`, if it is narrower).
    pub fn refusal(self, field: &str, why: &str) -> AppError {
        let why = if why.is_empty() {
            String::new()
        } else {
            format!("{why}; ")
        };
        AppError::bad_input(
            field,
            format!(
                "{why}not a code of the {} list: see codeList(list: {})",
                self.name(),
                self.name()
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::CodeList;
    use entity::codes::{InterviewOutcome, RiskGrade};

    /// The lists stored as vocabularies hold exactly the stored codes.
    #[test]
    fn lists_match_the_stored_vocabularies() {
        let codes = |list: CodeList| list.codes().iter().map(|(c, _)| *c).collect::<Vec<_>>();
        assert_eq!(codes(CodeList::RiskGrade).join(","), RiskGrade::codes(","));
        assert_eq!(
            codes(CodeList::ReturnInterviewOutcome).join(","),
            InterviewOutcome::codes(",")
        );
        assert_eq!(
            codes(CodeList::Ethnicity),
            crate::domain::reporting::annex_a::ETHNICITY_ORDER
        );
    }
}
