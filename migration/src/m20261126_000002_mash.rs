//! The MASH workflow: children, contacts, consent and overrides, information requests,
//! disclosures, idempotency keys and the working-day calendar.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// England & Wales bank holidays shipped with the service; administrators add later years.
const BANK_HOLIDAYS: &[(&str, &str)] = &[
    ("2018-01-01", "New Year's Day"),
    ("2018-03-30", "Good Friday"),
    ("2018-04-02", "Easter Monday"),
    ("2018-05-07", "Early May bank holiday"),
    ("2018-05-28", "Spring bank holiday"),
    ("2018-08-27", "Summer bank holiday"),
    ("2018-12-25", "Christmas Day"),
    ("2018-12-26", "Boxing Day"),
    ("2019-01-01", "New Year's Day"),
    ("2019-04-19", "Good Friday"),
    ("2019-04-22", "Easter Monday"),
    ("2019-05-06", "Early May bank holiday"),
    ("2019-05-27", "Spring bank holiday"),
    ("2019-08-26", "Summer bank holiday"),
    ("2019-12-25", "Christmas Day"),
    ("2019-12-26", "Boxing Day"),
    ("2020-01-01", "New Year's Day"),
    ("2020-04-10", "Good Friday"),
    ("2020-04-13", "Easter Monday"),
    ("2020-05-08", "Early May bank holiday (VE day)"),
    ("2020-05-25", "Spring bank holiday"),
    ("2020-08-31", "Summer bank holiday"),
    ("2020-12-25", "Christmas Day"),
    ("2020-12-28", "Boxing Day (substitute day)"),
    ("2021-01-01", "New Year's Day"),
    ("2021-04-02", "Good Friday"),
    ("2021-04-05", "Easter Monday"),
    ("2021-05-03", "Early May bank holiday"),
    ("2021-05-31", "Spring bank holiday"),
    ("2021-08-30", "Summer bank holiday"),
    ("2021-12-27", "Christmas Day (substitute day)"),
    ("2021-12-28", "Boxing Day (substitute day)"),
    ("2022-01-03", "New Year's Day (substitute day)"),
    ("2022-04-15", "Good Friday"),
    ("2022-04-18", "Easter Monday"),
    ("2022-05-02", "Early May bank holiday"),
    ("2022-06-02", "Spring bank holiday"),
    ("2022-06-03", "Platinum Jubilee bank holiday"),
    ("2022-08-29", "Summer bank holiday"),
    ("2022-09-19", "State Funeral of Queen Elizabeth II"),
    ("2022-12-26", "Boxing Day"),
    ("2022-12-27", "Christmas Day (substitute day)"),
    ("2023-01-02", "New Year's Day (substitute day)"),
    ("2023-04-07", "Good Friday"),
    ("2023-04-10", "Easter Monday"),
    ("2023-05-01", "Early May bank holiday"),
    (
        "2023-05-08",
        "Bank holiday for the coronation of King Charles III",
    ),
    ("2023-05-29", "Spring bank holiday"),
    ("2023-08-28", "Summer bank holiday"),
    ("2023-12-25", "Christmas Day"),
    ("2023-12-26", "Boxing Day"),
    ("2024-01-01", "New Year's Day"),
    ("2024-03-29", "Good Friday"),
    ("2024-04-01", "Easter Monday"),
    ("2024-05-06", "Early May bank holiday"),
    ("2024-05-27", "Spring bank holiday"),
    ("2024-08-26", "Summer bank holiday"),
    ("2024-12-25", "Christmas Day"),
    ("2024-12-26", "Boxing Day"),
    ("2025-01-01", "New Year's Day"),
    ("2025-04-18", "Good Friday"),
    ("2025-04-21", "Easter Monday"),
    ("2025-05-05", "Early May bank holiday"),
    ("2025-05-26", "Spring bank holiday"),
    ("2025-08-25", "Summer bank holiday"),
    ("2025-12-25", "Christmas Day"),
    ("2025-12-26", "Boxing Day"),
    ("2026-01-01", "New Year's Day"),
    ("2026-04-03", "Good Friday"),
    ("2026-04-06", "Easter Monday"),
    ("2026-05-04", "Early May bank holiday"),
    ("2026-05-25", "Spring bank holiday"),
    ("2026-08-31", "Summer bank holiday"),
    ("2026-12-25", "Christmas Day"),
    ("2026-12-28", "Boxing Day (substitute day)"),
    ("2027-01-01", "New Year's Day"),
    ("2027-03-26", "Good Friday"),
    ("2027-03-29", "Easter Monday"),
    ("2027-05-03", "Early May bank holiday"),
    ("2027-05-31", "Spring bank holiday"),
    ("2027-08-30", "Summer bank holiday"),
    ("2027-12-27", "Christmas Day (substitute day)"),
    ("2027-12-28", "Boxing Day (substitute day)"),
    ("2028-01-03", "New Year's Day (substitute day)"),
    ("2028-04-14", "Good Friday"),
    ("2028-04-17", "Easter Monday"),
    ("2028-05-01", "Early May bank holiday"),
    ("2028-05-29", "Spring bank holiday"),
    ("2028-08-28", "Summer bank holiday"),
    ("2028-12-25", "Christmas Day"),
    ("2028-12-26", "Boxing Day"),
];

pub(crate) fn id(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .uuid()
        .not_null()
        .primary_key()
        .take()
}
pub(crate) fn uuid(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).uuid().not_null().take()
}
pub(crate) fn uuid_null(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).uuid().null().take()
}
pub(crate) fn text(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).text().not_null().take()
}
pub(crate) fn text_null(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).text().null().take()
}
pub(crate) fn boolean(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).boolean().not_null().take()
}
pub(crate) fn boolean_null(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).boolean().null().take()
}
pub(crate) fn time(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .timestamp_with_time_zone()
        .not_null()
        .take()
}
pub(crate) fn time_null(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .timestamp_with_time_zone()
        .null()
        .take()
}
pub(crate) fn int_null(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).integer().null().take()
}

pub(crate) fn table(name: &str, columns: Vec<ColumnDef>) -> TableCreateStatement {
    let mut t = Table::create().table(Alias::new(name)).to_owned();
    for mut c in columns {
        t.col(&mut c);
    }
    t
}

pub(crate) fn index(name: &str, table: &str, columns: &[&str]) -> IndexCreateStatement {
    let mut i = Index::create()
        .name(name)
        .table(Alias::new(table))
        .to_owned();
    for c in columns {
        i.col(Alias::new(*c));
    }
    i
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(table(
                "children",
                vec![
                    id("id"),
                    text("first_name"),
                    text("last_name"),
                    ColumnDef::new(Alias::new("date_of_birth"))
                        .date()
                        .null()
                        .take(),
                    text("gender"),
                    text_null("ethnicity"),
                    boolean_null("disability"),
                    text_null("address"),
                    text_null("postcode"),
                    text_null("nhs_number"),
                    text_null("upn"),
                    text_null("police_id"),
                    text_null("local_id"),
                    time("created_at"),
                    time("updated_at"),
                ],
            ))
            .await?;
        manager
            .create_index(index("children_nhs", "children", &["nhs_number"]))
            .await?;
        // Duplicate matching compares names case-insensitively: index that expression
        // (both SQLite and PostgreSQL support expression indexes).
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX children_name_dob ON children (lower(last_name), lower(first_name), date_of_birth)",
            )
            .await?;

        manager
            .create_table(table(
                "child_links",
                vec![
                    id("id"),
                    uuid("child_id"),
                    uuid("related_child_id"),
                    text("relationship"),
                    time("created_at"),
                ],
            ))
            .await?;
        manager
            .create_index(index("child_links_child", "child_links", &["child_id"]))
            .await?;

        manager
            .create_table(table(
                "contacts",
                vec![
                    id("id"),
                    uuid("child_id"),
                    uuid("agency_id"),
                    text("submitted_by_kind"),
                    uuid("submitted_by_id"),
                    text("referrer_name"),
                    text("source_code"),
                    time("occurred_at"),
                    time("recorded_at"),
                    time("decision_due_at"),
                    text("status"),
                    text("child_as_submitted"),
                    text("concern_categories"),
                    text("narrative"),
                    boolean("immediate_risk"),
                    text("consent_position"),
                    text_null("consent_not_sought_reason"),
                    boolean("matched_existing_child"),
                    text_null("recommendation"),
                    text_null("recommendation_rationale"),
                    uuid_null("recommended_by"),
                    time_null("recommended_at"),
                    text_null("outcome"),
                    int_null("threshold_level"),
                    text_null("rationale"),
                    uuid_null("decided_by"),
                    time_null("decided_at"),
                ],
            ))
            .await?;
        manager
            .create_index(index(
                "contacts_status_due",
                "contacts",
                &["status", "decision_due_at"],
            ))
            .await?;
        manager
            .create_index(index("contacts_agency", "contacts", &["agency_id", "id"]))
            .await?;
        manager
            .create_index(index("contacts_child", "contacts", &["child_id"]))
            .await?;
        manager
            .create_index(index(
                "contacts_submitter",
                "contacts",
                &["submitted_by_id", "id"],
            ))
            .await?;

        manager
            .create_table(table(
                "consents",
                vec![
                    id("id"),
                    uuid("contact_id"),
                    text("given_by_name"),
                    text("relationship"),
                    text("scope_purposes"),
                    text("scope_agency_ids"),
                    uuid("obtained_by"),
                    uuid("obtained_by_agency"),
                    time("obtained_at"),
                    time("recorded_at"),
                    time_null("withdrawn_at"),
                    uuid_null("withdrawn_by"),
                ],
            ))
            .await?;
        manager
            .create_index(index("consents_contact", "consents", &["contact_id"]))
            .await?;

        manager
            .create_table(table(
                "consent_overrides",
                vec![
                    id("id"),
                    uuid("contact_id"),
                    uuid("requested_by"),
                    text("reason"),
                    text("justification"),
                    text("status"),
                    uuid_null("decided_by"),
                    time_null("decided_at"),
                    boolean("break_glass"),
                    text("review_status"),
                    uuid_null("reviewed_by"),
                    time_null("reviewed_at"),
                    time("requested_at"),
                ],
            ))
            .await?;
        manager
            .create_index(index(
                "overrides_contact",
                "consent_overrides",
                &["contact_id"],
            ))
            .await?;

        manager
            .create_table(table(
                "information_requests",
                vec![
                    id("id"),
                    uuid("contact_id"),
                    uuid("child_id"),
                    uuid("to_agency_id"),
                    text("questions"),
                    text("priority"),
                    uuid("sent_by"),
                    time("sent_at"),
                    time("recorded_at"),
                    time("due_at"),
                    text("status"),
                    text("consent_ref"),
                    text_null("decline_reason"),
                    uuid_null("answered_by"),
                    time_null("answered_at"),
                    time_null("withdrawn_at"),
                ],
            ))
            .await?;
        manager
            .create_index(index(
                "requests_agency",
                "information_requests",
                &["to_agency_id", "status", "id"],
            ))
            .await?;
        manager
            .create_index(index(
                "requests_contact",
                "information_requests",
                &["contact_id"],
            ))
            .await?;

        manager
            .create_table(table(
                "disclosures",
                vec![
                    id("id"),
                    uuid_null("request_id"),
                    uuid("contact_id"),
                    uuid("child_id"),
                    uuid("supplied_by_agency_id"),
                    uuid("supplied_by"),
                    uuid_null("to_agency_id"),
                    uuid_null("onward_from"),
                    text("content"),
                    text("category"),
                    text("lawful_basis"),
                    boolean("special_category"),
                    text("handling_code"),
                    text_null("handling_conditions"),
                    text("audience_restrictions"),
                    text("consent_ref"),
                    time("occurred_at"),
                    time("recorded_at"),
                ],
            ))
            .await?;
        manager
            .create_index(index("disclosures_contact", "disclosures", &["contact_id"]))
            .await?;
        manager
            .create_index(index("disclosures_request", "disclosures", &["request_id"]))
            .await?;

        manager
            .create_table(
                table(
                    "idempotency_keys",
                    vec![
                        text("principal"),
                        text("operation"),
                        text("key"),
                        text("payload_hash"),
                        text("result_id"),
                        time("created_at"),
                    ],
                )
                .primary_key(
                    Index::create()
                        .col(Alias::new("principal"))
                        .col(Alias::new("operation"))
                        .col(Alias::new("key")),
                )
                .to_owned(),
            )
            .await?;

        manager
            .create_table(table(
                "bank_holidays",
                vec![
                    ColumnDef::new(Alias::new("day"))
                        .date()
                        .not_null()
                        .primary_key()
                        .take(),
                    text("name"),
                ],
            ))
            .await?;
        let mut insert = Query::insert()
            .into_table(Alias::new("bank_holidays"))
            .columns([Alias::new("day"), Alias::new("name")])
            .to_owned();
        for (day, name) in BANK_HOLIDAYS {
            let day = chrono_day(day);
            insert.values_panic([day.into(), (*name).into()]);
        }
        manager.exec_stmt(insert).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [
            "bank_holidays",
            "idempotency_keys",
            "disclosures",
            "information_requests",
            "consent_overrides",
            "consents",
            "contacts",
            "child_links",
            "children",
        ] {
            manager
                .drop_table(Table::drop().table(Alias::new(name)).to_owned())
                .await?;
        }
        Ok(())
    }
}

fn chrono_day(text: &str) -> sea_orm_migration::sea_orm::prelude::Date {
    sea_orm_migration::sea_orm::prelude::Date::parse_from_str(text, "%Y-%m-%d").expect("valid date")
}
