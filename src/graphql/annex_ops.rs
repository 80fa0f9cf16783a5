//! Ofsted Annex A exports for MASH managers: child-level rows, audited before they are
//! returned. Thin: parse, call the service, present.
use async_graphql::{Context, Object, Result, SimpleObject};
use chrono::NaiveDate;

use super::env;
use crate::domain::reporting::annex_a;

/// One Ofsted ILACS Annex A list for a period: headings and rows exactly as Annex A writes
/// them (coded values such as `q) 6: Police`, `a) Male`, `a) Yes`; dates dd/mm/yyyy).
#[derive(SimpleObject)]
#[graphql(name = "AnnexAExport")]
pub struct AnnexAExportOutput {
    /// The list: 1 contacts, 2 early help assessments, 3 referrals, 4 assessments, 5 section
    /// 47 enquiries and initial child protection conferences.
    list: i32,
    /// First day of the period (a Europe/London calendar date, inclusive).
    from: NaiveDate,
    /// Last day of the period (a Europe/London calendar date, inclusive).
    to: NaiveDate,
    /// The column headings, in order, spelt as Annex A spells them: Child Unique ID, Gender,
    /// Ethnicity, Date of Birth, Age of Child (Years), then the list's own columns.
    headings: Vec<String>,
    /// One row per record in the period (list 1: per child per contact; list 5: per
    /// enquiry), ordered by event date then record; each row has one value per heading,
    /// an empty string where nothing is recorded. Child Unique ID is the MASH's child record
    /// id (stable and pseudonymous).
    rows: Vec<Vec<String>>,
}

impl From<annex_a::AnnexAExport> for AnnexAExportOutput {
    fn from(export: annex_a::AnnexAExport) -> Self {
        AnnexAExportOutput {
            list: i32::from(export.list),
            from: export.from,
            to: export.to,
            headings: export.headings,
            rows: export.rows,
        }
    }
}

#[derive(Default)]
pub struct AnnexQuery;

#[Object]
impl AnnexQuery {
    /// An Ofsted ILACS Annex A list (MASH managers): child-level rows for inspection. Every
    /// export is recorded in the audit trail, naming each child in it, before it is returned.
    async fn annex_a(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "1 contacts, 2 early help assessments, 3 referrals, 4 assessments, 5 section 47 enquiries and ICPCs."
        )]
        list: i32,
        #[graphql(desc = "First day of the period (Europe/London date, inclusive).")]
        from: NaiveDate,
        #[graphql(
            desc = "Last day of the period (Europe/London date, inclusive; not before `from`)."
        )]
        to: NaiveDate,
    ) -> Result<AnnexAExportOutput> {
        let (core, request) = env(ctx);
        // Out of range for a list number is simply not a list (BAD_USER_INPUT "list").
        let list = u8::try_from(list).unwrap_or(0);
        let export = annex_a::export(core, request, list, from, to, None).await?;
        Ok(export.into())
    }
}
