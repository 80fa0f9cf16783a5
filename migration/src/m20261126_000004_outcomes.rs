//! The outcome chain after a contact decision (referral, assessment, strategy discussion,
//! section 47 enquiry, initial child protection conference) and early help episodes.
use sea_orm_migration::prelude::*;

use crate::m20261126_000002_mash::{
    boolean, id, index, table, text, text_null, time, time_null, uuid, uuid_null,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Allocated team and worker: Annex A asks for both on every step.
fn allocation() -> [ColumnDef; 2] {
    [text_null("allocated_team"), text_null("allocated_worker")]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables = [
            table("referrals", {
                let mut c = vec![
                    id("id"),
                    ColumnDef::new(Alias::new("contact_id"))
                        .uuid()
                        .not_null()
                        .unique_key()
                        .take(),
                    uuid("child_id"),
                    text("source_code"),
                    time("referred_at"),
                    text_null("outcome"),
                ];
                c.extend(allocation());
                c.push(time("recorded_at"));
                c
            }),
            table("assessments", {
                let mut c = vec![
                    id("id"),
                    uuid("referral_id"),
                    uuid("child_id"),
                    time("started_at"),
                    time("due_at"),
                    time_null("child_seen_at"),
                    time_null("authorised_at"),
                    text_null("outcome"),
                ];
                c.extend(allocation());
                c.push(time("recorded_at"));
                c
            }),
            table("strategy_discussions", {
                let mut c = vec![
                    id("id"),
                    uuid("referral_id"),
                    uuid("child_id"),
                    uuid_null("assessment_id"),
                    time("held_at"),
                    text("agencies_present"),
                    boolean("section47_started"),
                ];
                c.extend(allocation());
                c.push(time("recorded_at"));
                c
            }),
            table("section47_enquiries", {
                let mut c = vec![
                    id("id"),
                    ColumnDef::new(Alias::new("strategy_discussion_id"))
                        .uuid()
                        .not_null()
                        .unique_key()
                        .take(),
                    uuid("referral_id"),
                    uuid("child_id"),
                    time("started_at"),
                    time("icpc_due_at"),
                    text_null("outcome"),
                    time_null("completed_at"),
                ];
                c.extend(allocation());
                c.push(time("recorded_at"));
                c
            }),
            table("child_protection_conferences", {
                let mut c = vec![
                    id("id"),
                    ColumnDef::new(Alias::new("section47_id"))
                        .uuid()
                        .not_null()
                        .unique_key()
                        .take(),
                    uuid("child_id"),
                    time("held_at"),
                    time("due_at"),
                    boolean("plan_made"),
                ];
                c.extend(allocation());
                c.push(time("recorded_at"));
                c
            }),
            table(
                "early_help_episodes",
                vec![
                    id("id"),
                    uuid("child_id"),
                    uuid_null("contact_id"),
                    uuid("agency_id"),
                    uuid("requested_by"),
                    time("requested_at"),
                    time_null("screened_at"),
                    text_null("screening_outcome"),
                    time_null("assessment_started_at"),
                    time_null("assessment_completed_at"),
                    text_null("organisation"),
                    time("recorded_at"),
                ],
            ),
        ];
        for t in tables {
            manager.create_table(t).await?;
        }
        // Reports and exports select each step by its event time; chains are walked by parent.
        for (name, on, columns) in [
            ("contacts_occurred", "contacts", &["occurred_at"][..]),
            ("referrals_referred", "referrals", &["referred_at"][..]),
            (
                "referrals_child",
                "referrals",
                &["child_id", "referred_at"][..],
            ),
            ("assessments_referral", "assessments", &["referral_id"][..]),
            ("assessments_started", "assessments", &["started_at"][..]),
            (
                "assessments_authorised",
                "assessments",
                &["authorised_at"][..],
            ),
            (
                "strategy_referral",
                "strategy_discussions",
                &["referral_id"][..],
            ),
            ("strategy_held", "strategy_discussions", &["held_at"][..]),
            ("s47_started", "section47_enquiries", &["started_at"][..]),
            (
                "s47_child",
                "section47_enquiries",
                &["child_id", "started_at"][..],
            ),
            (
                "icpc_held",
                "child_protection_conferences",
                &["held_at"][..],
            ),
            (
                "icpc_child",
                "child_protection_conferences",
                &["child_id", "held_at"][..],
            ),
            (
                "early_help_requested",
                "early_help_episodes",
                &["requested_at"][..],
            ),
            (
                "early_help_agency",
                "early_help_episodes",
                &["agency_id", "id"][..],
            ),
            (
                "missing_notified",
                "missing_episodes",
                &["la_notified_at"][..],
            ),
            // Overlapping episodes of other children are found by time, not by child.
            (
                "missing_reported",
                "missing_episodes",
                &["reported_missing_at"][..],
            ),
            ("requests_sent", "information_requests", &["sent_at"][..]),
        ] {
            manager.create_index(index(name, on, columns)).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [
            "early_help_episodes",
            "child_protection_conferences",
            "section47_enquiries",
            "strategy_discussions",
            "assessments",
            "referrals",
        ] {
            manager
                .drop_table(Table::drop().table(Alias::new(name)).to_owned())
                .await?;
        }
        Ok(())
    }
}
