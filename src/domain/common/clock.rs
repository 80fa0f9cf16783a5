//! Statutory clocks (docs/design.md "Clocks"): working days on the England & Wales calendar,
//! with bank holidays held as data in `bank_holidays`, and days in Europe/London.
use std::collections::HashSet;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Europe::London;
use entity::bank_holiday;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::json;

use crate::db::begin_write;
use crate::domain::audit::Action;
use crate::domain::audit::{self, AuditEntry};
use crate::domain::common::checks::{self, Kind};
use crate::domain::policy::{self, Permission};
use crate::domain::RequestCtx;
use crate::error::{AppError, AppResult};
use crate::Core;

/// The calendar day in England of an instant.
pub fn london_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&London).date_naive()
}

/// 23:59:59 Europe/London on `day`, as UTC.
pub fn end_of_day(day: NaiveDate) -> DateTime<Utc> {
    let local = day.and_time(NaiveTime::from_hms_opt(23, 59, 59).expect("valid time"));
    London
        .from_local_datetime(&local)
        .earliest()
        .unwrap_or_else(|| London.from_utc_datetime(&local))
        .with_timezone(&Utc)
}

pub fn is_working_day(day: NaiveDate, holidays: &HashSet<NaiveDate>) -> bool {
    !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) && !holidays.contains(&day)
}

/// The `n`th working day after `day` (n ≥ 1).
pub fn nth_working_day_after(day: NaiveDate, n: u32, holidays: &HashSet<NaiveDate>) -> NaiveDate {
    let mut current = day;
    let mut counted = 0;
    while counted < n {
        current += Duration::days(1);
        if is_working_day(current, holidays) {
            counted += 1;
        }
    }
    current
}

async fn holidays_from<C: ConnectionTrait>(
    conn: &C,
    from: NaiveDate,
    working_days: u32,
) -> AppResult<HashSet<NaiveDate>> {
    // Enough calendar days to hold `working_days` working days and any holidays among them.
    let until = from + Duration::days(i64::from(working_days) * 2 + 21);
    Ok(bank_holiday::Entity::find()
        .filter(bank_holiday::Column::Day.gte(from))
        .filter(bank_holiday::Column::Day.lte(until))
        .all(conn)
        .await?
        .into_iter()
        .map(|h| h.day)
        .collect())
}

/// End of the `n`th working day after the (London) day of `from`.
pub async fn working_days_after<C: ConnectionTrait>(
    conn: &C,
    from: DateTime<Utc>,
    n: u32,
) -> AppResult<DateTime<Utc>> {
    let day = london_date(from);
    let holidays = holidays_from(conn, day, n).await?;
    Ok(end_of_day(nth_working_day_after(day, n, &holidays)))
}

/// A contact's decision is due at the end of the first working day after the day of receipt.
pub async fn decision_due<C: ConnectionTrait>(
    conn: &C,
    received: DateTime<Utc>,
) -> AppResult<DateTime<Utc>> {
    working_days_after(conn, received, 1).await
}

/// Adds a bank holiday (ADMIN): the calendar ships as data an administrator extends.
pub async fn add_bank_holiday(
    core: &Core,
    ctx: &RequestCtx,
    day: NaiveDate,
    name: &str,
) -> AppResult<bank_holiday::Model> {
    const ACTION: Action = Action::CalendarAddBankHoliday;
    audit::on_refusal(
        core,
        ctx,
        ACTION,
        policy::authorize(&ctx.actor, Permission::ManageCalendar),
    )
    .await?;
    let name = checks::required("name", name, Kind::Line)?;
    checks::date("date", day)?;
    if matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
        return Err(AppError::bad_input(
            "date",
            "a weekend day is never a working day already",
        ));
    }
    let txn = begin_write(&core.db).await?;
    if bank_holiday::Entity::find_by_id(day)
        .one(&txn)
        .await?
        .is_some()
    {
        return Err(AppError::conflict(
            "date",
            "that day is already a bank holiday",
        ));
    }
    let created = bank_holiday::ActiveModel {
        day: Set(day),
        name: Set(name),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        ctx,
        AuditEntry::success(ACTION)
            .entity("BankHoliday", day)
            .detail(json!({ "name": created.name })),
    )
    .await?;
    txn.commit().await?;
    Ok(created)
}

/// The bank holidays of one year.
pub async fn bank_holidays(
    core: &Core,
    ctx: &RequestCtx,
    year: i32,
) -> AppResult<Vec<bank_holiday::Model>> {
    policy::authorize(&ctx.actor, Permission::ReadCalendar)?;
    if year < 1900 {
        return Err(AppError::bad_input("year", "must not be before 1900"));
    }
    let (from, to) = (
        NaiveDate::from_ymd_opt(year, 1, 1)
            .ok_or_else(|| AppError::bad_input("year", "not a year"))?,
        NaiveDate::from_ymd_opt(year, 12, 31)
            .ok_or_else(|| AppError::bad_input("year", "not a year"))?,
    );
    Ok(bank_holiday::Entity::find()
        .filter(bank_holiday::Column::Day.gte(from))
        .filter(bank_holiday::Column::Day.lte(to))
        .order_by_asc(bank_holiday::Column::Day)
        .all(&core.db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn christmas_and_easter_are_skipped() {
        let holidays: HashSet<NaiveDate> = [
            d(2019, 12, 25),
            d(2019, 12, 26),
            d(2020, 4, 10),
            d(2020, 4, 13),
        ]
        .into();
        // Tuesday 24 December 2019 → Friday 27 December.
        assert_eq!(
            nth_working_day_after(d(2019, 12, 24), 1, &holidays),
            d(2019, 12, 27)
        );
        // Friday 3 April 2020 → Monday 6 April.
        assert_eq!(
            nth_working_day_after(d(2020, 4, 3), 1, &holidays),
            d(2020, 4, 6)
        );
        // Thursday 9 April 2020 → Tuesday 14 April (Good Friday, weekend, Easter Monday).
        assert_eq!(
            nth_working_day_after(d(2020, 4, 9), 1, &holidays),
            d(2020, 4, 14)
        );
    }

    #[test]
    fn end_of_day_is_london_time() {
        // Winter: GMT; summer: BST (one hour ahead of UTC).
        assert_eq!(
            end_of_day(d(2019, 12, 27)).to_rfc3339(),
            "2019-12-27T23:59:59+00:00"
        );
        assert_eq!(
            end_of_day(d(2020, 4, 6)).to_rfc3339(),
            "2020-04-06T22:59:59+00:00"
        );
        // 23:30 UTC on 31 May is already 1 June in London.
        let late = Utc.with_ymd_and_hms(2020, 5, 31, 23, 30, 0).unwrap();
        assert_eq!(london_date(late), d(2020, 6, 1));
    }
}
