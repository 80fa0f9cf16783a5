//! How Annex A writes each value: headings, source and ethnicity forms, dates, ages.
use super::*;

/// The national contact / referral source codes and their Annex A form (docs/codes.md "Contact /
/// referral source"): the one table Annex A lists 1 and 3 use.
pub const SOURCE_FORMS: [(&str, &str); 22] = [
    ("1A", "a) 1A: Individual"),
    ("1B", "b) 1B: Individual"),
    ("1C", "c) 1C: Individual"),
    ("1D", "d) 1D: Individual"),
    ("2A", "e) 2A: Schools"),
    ("2B", "f) 2B: Education services"),
    ("3A", "g) 3A: Health services"),
    ("3B", "h) 3B: Health services"),
    ("3C", "i) 3C: Health services"),
    ("3D", "j) 3D: Health services"),
    ("3E", "k) 3E: Health services"),
    ("3F", "l) 3F: Health services"),
    ("4", "m) 4: Housing"),
    ("5A", "n) 5A: LA services"),
    ("5B", "o) 5B: LA services"),
    ("5C", "p) 5C: LA services"),
    ("5D", "p1) 5D: LA services"),
    ("6", "q) 6: Police"),
    ("7", "r) 7: Other legal agency"),
    ("8", "s) 8: Other"),
    ("9", "t) 9: Anonymous"),
    ("10", "u) 10: Unknown"),
];

/// The DfE ethnicity codes in Annex A's order: the letter of `a) WBRI` is the position here.
pub const ETHNICITY_ORDER: [&str; 20] = [
    "WBRI", "WIRI", "WIRT", "WOTH", "WROM", "MWBC", "MWBA", "MWAS", "MOTH", "AIND", "APKN", "ABAN",
    "AOTH", "BCRB", "BAFR", "BOTH", "CHNE", "OOTH", "REFU", "NOBT",
];

/// The columns every list starts with.
pub const COMMON_HEADINGS: [&str; 5] = [
    "Child Unique ID",
    "Gender",
    "Ethnicity",
    "Date of Birth",
    "Age of Child (Years)",
];

/// Each list's own columns, after the common ones (docs/codes.md "Ofsted ILACS Annex A lists").
pub fn list_headings(list: u8) -> &'static [&'static str] {
    match list {
        1 => &["Date of Contact", "Contact Source"],
        2 => &[
            "Assessment start date",
            "Assessment completion date",
            "Organisation completing assessment",
        ],
        3 => &[
            "Date of referral",
            "Referral Source",
            "Referral NFA?",
            "Number of Referrals in Last 12 Months",
            "Allocated Team",
            "Allocated Worker",
        ],
        4 => &[
            "Does the Child have a Disability",
            "Continuous Assessment Start Date",
            "Child Seen During Continuous Assessment",
            "Continuous Assessment Date of Authorisation",
            "Was the child assessed as requiring LA children's social care support?",
            "Allocated Team",
            "Allocated Worker",
        ],
        5 => &[
            "Does the Child have a Disability",
            "Strategy discussion initiating Section 47 Enquiry Start Date",
            "Was an Initial Child Protection Conference deemed unnecessary?",
            "Date of Initial Child Protection Conference",
            "Did the Initial Child Protection Conference Result in a Child Protection Plan",
            "Number of Section 47 Enquiries in the last 12 months",
            "Number of ICPCs in the last 12 months",
            "Allocated Team",
            "Allocated Worker",
        ],
        _ => &[],
    }
}

/// All of a list's headings, in order.
pub fn headings(list: u8) -> Vec<String> {
    COMMON_HEADINGS
        .iter()
        .chain(list_headings(list))
        .map(|h| h.to_string())
        .collect()
}

/// A source code in its Annex A form (`6` → `q) 6: Police`); an unknown code as stored.
pub fn source_form(code: &str) -> String {
    SOURCE_FORMS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, form)| form.to_string())
        .unwrap_or_else(|| code.to_string())
}

/// Gender in its Annex A form.
pub fn gender_form(gender: Option<Gender>) -> &'static str {
    match gender {
        Some(Gender::Male) => "a) Male",
        Some(Gender::Female) => "b) Female",
        Some(Gender::Neither) => "d) Neither",
        Some(Gender::NotStated) | None => "c) Not stated/recorded",
    }
}

/// Ethnicity in its Annex A form (`MWBC` → `f) MWBC`); none recorded is "information not yet
/// obtained", `t) NOBT`.
pub fn ethnicity_form(code: Option<&str>) -> String {
    let code = code.map(str::trim).unwrap_or("");
    let position = ETHNICITY_ORDER
        .iter()
        .position(|c| c.eq_ignore_ascii_case(code))
        .unwrap_or(ETHNICITY_ORDER.len() - 1);
    let letter = char::from(b'a' + position as u8);
    format!("{letter}) {}", ETHNICITY_ORDER[position])
}

/// `a) Yes` / `b) No`; blank when not known.
pub fn yes_no(value: Option<bool>) -> String {
    match value {
        Some(true) => "a) Yes".into(),
        Some(false) => "b) No".into(),
        None => String::new(),
    }
}

/// A date as Annex A writes it: dd/mm/yyyy.
pub fn date_form(day: NaiveDate) -> String {
    day.format("%d/%m/%Y").to_string()
}

pub(super) fn london_date_form(at: Option<DateTime<Utc>>) -> String {
    at.map(|at| date_form(london_date(at))).unwrap_or_default()
}

/// Whole years from the date of birth to `on`; blank without a date of birth or before it.
pub fn age_on(date_of_birth: Option<NaiveDate>, on: NaiveDate) -> String {
    date_of_birth
        .and_then(|dob| on.years_since(dob))
        .map(|years| years.to_string())
        .unwrap_or_default()
}

/// The first day of the 12 months up to and including `day`.
pub(super) fn twelve_months_back(day: NaiveDate) -> NaiveDate {
    day.checked_sub_months(Months::new(12))
        .map(|d| d + Duration::days(1))
        .unwrap_or(NaiveDate::MIN)
}

/// How many of `dates` fall in the 12 months up to and including `day`.
pub(super) fn in_last_12_months(dates: Option<&Vec<NaiveDate>>, day: NaiveDate) -> usize {
    let first = twelve_months_back(day);
    dates.map_or(0, |dates| {
        dates.iter().filter(|d| **d >= first && **d <= day).count()
    })
}

/// Midnight in London at the start of `day`, as UTC.
pub(super) fn start_of_day(day: NaiveDate) -> DateTime<Utc> {
    let local = day.and_time(NaiveTime::MIN);
    London
        .from_local_datetime(&local)
        .earliest()
        .unwrap_or_else(|| London.from_utc_datetime(&local))
        .with_timezone(&Utc)
}
