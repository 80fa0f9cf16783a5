//! Input that cannot be right, refused in one place: characters no field may hold, text
//! over its kind's cap, lists over their caps, and event times before 1900 or in the future.
//!
//! Every refusal is BAD_USER_INPUT naming the field in one path format, relative to the
//! operation's `input` argument: `child.nhsNumber`, `episodes[2].returnedAt`,
//! `disclosures[0].content`; a plain argument is named as itself (`reason`, `first`).
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

use crate::auth::password;
use crate::error::{AppError, AppResult};

/// How a text field is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A person's name: one line, no invisible direction or zero-width characters
    /// (ZWNJ, U+200C, is allowed: Persian and other scripts spell names with it).
    Name,
    /// A single-line field (an organisation's name, a team, a category, a code): as `Name`.
    Line,
    /// A short multi-line note (a reason, conditions, an authorisation, an address).
    Note,
    /// Multi-line prose (a narrative, questions, a disclosure, a rationale).
    Prose,
}

pub const MAX_NAME: usize = 100;
pub const MAX_LINE: usize = 200;
pub const MAX_NOTE: usize = 2_000;
pub const MAX_PROSE: usize = 20_000;

impl Kind {
    /// The kind's length cap, in characters.
    pub const fn cap(self) -> usize {
        match self {
            Kind::Name => MAX_NAME,
            Kind::Line => MAX_LINE,
            Kind::Note => MAX_NOTE,
            Kind::Prose => MAX_PROSE,
        }
    }

    fn single_line(self) -> bool {
        matches!(self, Kind::Name | Kind::Line)
    }
}

/// Disclosures in one response to an information request.
pub const MAX_DISCLOSURES: usize = 50;
/// Episodes in one missing-episode batch.
pub const MAX_EPISODES: usize = 500;
/// Agencies present at a strategy discussion.
pub const MAX_AGENCIES_PRESENT: usize = 50;
/// Agencies a consent covers.
pub const MAX_CONSENT_AGENCIES: usize = 100;
/// Assessment-factor codes on one contact.
pub const MAX_FACTORS: usize = 50;
/// Purposes a consent covers.
pub const MAX_PURPOSES: usize = 20;
/// Small lists of codes: audience restrictions, roles, scopes.
pub const MAX_CODES: usize = 10;

/// The earliest plausible time of anything recorded here.
pub fn floor() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(1900, 1, 1, 0, 0, 0)
        .single()
        .expect("valid floor")
}

/// How far ahead of this server's clock a caller's clock may run.
pub const MAX_CLOCK_SKEW_SECS: i64 = 60;

/// C0 and C1 control characters and DEL.
fn is_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
}

/// Control characters prose may still hold: tab and line breaks.
fn is_prose_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r')
}

/// Bidirectional embeddings, overrides, isolates and marks.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}'
    )
}

/// Zero-width characters other than ZWNJ (U+200C), which names need.
fn is_zero_width(c: char) -> bool {
    matches!(c, '\u{200b}' | '\u{200d}' | '\u{2060}' | '\u{feff}')
}

/// Unicode's line and paragraph separators: line breaks a single line cannot hold either.
fn is_unicode_line_break(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}')
}

/// Why no field may hold `value` at all, if so: control characters other than tab and
/// line breaks. The check at the GraphQL edge applies this to every string.
pub fn forbidden_anywhere(value: &str) -> Option<&'static str> {
    value
        .chars()
        .any(|c| is_control(c) && !is_prose_whitespace(c))
        .then_some("must not contain control characters")
}

/// Checks `value` as a `kind` field with the kind's cap; does not trim.
pub fn text(field: &str, value: &str, kind: Kind) -> AppResult<()> {
    text_max(field, value, kind, kind.cap())
}

/// Checks `value` as a `kind` field with a tighter cap of its own (an identifier, a code).
pub fn text_max(field: &str, value: &str, kind: Kind, max: usize) -> AppResult<()> {
    let refuse = |why: &str| Err(AppError::bad_input(field, why.to_string()));
    for c in value.chars() {
        if kind.single_line() && (matches!(c, '\n' | '\r') || is_unicode_line_break(c)) {
            return refuse("must be a single line");
        }
        if (is_control(c) && !is_prose_whitespace(c)) || (kind.single_line() && c == '\t') {
            return refuse("must not contain control characters");
        }
        if kind.single_line() && (is_bidi_control(c) || is_zero_width(c)) {
            return refuse("must not contain invisible direction or zero-width characters");
        }
    }
    let max = max.min(kind.cap());
    if value.chars().count() > max {
        return refuse(&format!("must be at most {max} characters"));
    }
    Ok(())
}

/// A required field: trimmed, not empty, checked.
pub fn required(field: &str, value: &str, kind: Kind) -> AppResult<String> {
    required_max(field, value, kind, kind.cap())
}

pub fn required_max(field: &str, value: &str, kind: Kind, max: usize) -> AppResult<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AppError::bad_input(field, "must not be empty"));
    }
    text_max(field, value, kind, max)?;
    Ok(value.to_string())
}

/// An optional field: trimmed, blank taken as absent, checked.
pub fn optional(field: &str, value: Option<&str>, kind: Kind) -> AppResult<Option<String>> {
    optional_max(field, value, kind, kind.cap())
}

pub fn optional_max(
    field: &str,
    value: Option<&str>,
    kind: Kind,
    max: usize,
) -> AppResult<Option<String>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => {
            text_max(field, v, kind, max)?;
            Ok(Some(v.to_string()))
        }
        None => Ok(None),
    }
}

/// A list no longer than `max`.
pub fn list<T>(field: &str, items: &[T], max: usize) -> AppResult<()> {
    if items.len() > max {
        return Err(AppError::bad_input(
            field,
            format!("give at most {max} items"),
        ));
    }
    Ok(())
}

/// `name` inside `prefix` in the path format: `child.firstName`, or `firstName` alone.
pub fn path(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// An event's time: supplied by the caller or now; never before 1900 nor in the future
/// (beyond a minute of clock skew).
pub fn event_time(field: &str, supplied: Option<DateTime<Utc>>) -> AppResult<DateTime<Utc>> {
    let now = Utc::now();
    match supplied {
        None => Ok(now),
        Some(at) if at > now + Duration::seconds(MAX_CLOCK_SKEW_SECS) => {
            Err(AppError::bad_input(field, "must not be in the future"))
        }
        Some(at) if at < floor() => {
            Err(AppError::bad_input(field, "must not be before 1900-01-01"))
        }
        Some(at) => Ok(at),
    }
}

/// An event time (as `event_time`) that may not precede `after`, the record it follows
/// (`what` names it for the message).
pub fn event_time_after(
    field: &str,
    supplied: Option<DateTime<Utc>>,
    after: DateTime<Utc>,
    what: &str,
) -> AppResult<DateTime<Utc>> {
    let at = event_time(field, supplied)?;
    if at < after {
        return Err(AppError::bad_input(
            field,
            format!("cannot be before {what}"),
        ));
    }
    Ok(at)
}

/// A calendar day: never before 1900 (future days are allowed: periods and calendars).
pub fn date(field: &str, day: NaiveDate) -> AppResult<NaiveDate> {
    if day < floor().date_naive() {
        return Err(AppError::bad_input(field, "must not be before 1900-01-01"));
    }
    Ok(day)
}

/// A new password: no control characters, 12–128 characters.
pub fn new_password(field: &str, password: &str) -> AppResult<()> {
    if forbidden_anywhere(password).is_some() {
        return Err(AppError::bad_input(
            field,
            "must not contain control characters",
        ));
    }
    let len = password.chars().count();
    if len < password::MIN_PASSWORD_LEN {
        return Err(AppError::bad_input(
            field,
            format!("must be at least {} characters", password::MIN_PASSWORD_LEN),
        ));
    }
    if len > password::MAX_PASSWORD_LEN {
        return Err(AppError::bad_input(
            field,
            format!("must be at most {} characters", password::MAX_PASSWORD_LEN),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(value: &str, kind: Kind) -> bool {
        text("f", value, kind).is_ok()
    }

    #[test]
    fn names_refuse_invisible_and_control_characters_but_keep_zwnj() {
        assert!(ok("Zoë O'Brien-Smith", Kind::Name));
        assert!(ok(
            "\u{645}\u{6cc}\u{200c}\u{62e}\u{648}\u{627}\u{647}\u{645}",
            Kind::Name
        ));
        for bad in [
            "a\u{0}b",
            "a\nb",
            "a\rb",
            "a\tb",
            "a\u{7f}",
            "a\u{85}",
            "a\u{202e}b",
            "a\u{2066}b",
            "a\u{200e}",
            "a\u{200f}",
            "a\u{61c}",
            "a\u{200b}b",
            "a\u{200d}b",
            "a\u{2060}",
            "\u{feff}a",
            "a\u{2028}b",
        ] {
            assert!(!ok(bad, Kind::Name), "{bad:?}");
            assert!(!ok(bad, Kind::Line), "{bad:?}");
        }
    }

    #[test]
    fn prose_keeps_tabs_line_breaks_and_direction_marks() {
        assert!(ok(
            "Line one\r\n\tLine two \u{200f}\u{5e9}\u{5dc}\u{5d5}\u{5dd}",
            Kind::Prose
        ));
        for bad in ["a\u{0}", "a\u{1b}[31m", "a\u{7f}", "a\u{9f}", "a\u{b}"] {
            assert!(!ok(bad, Kind::Prose), "{bad:?}");
            assert!(forbidden_anywhere(bad).is_some(), "{bad:?}");
        }
        assert!(forbidden_anywhere("tab\tand\r\nbreaks").is_none());
    }

    #[test]
    fn caps_count_characters() {
        assert!(ok(&"é".repeat(MAX_NAME), Kind::Name));
        assert!(!ok(&"é".repeat(MAX_NAME + 1), Kind::Name));
        assert!(text_max("f", "12345", Kind::Line, 4).is_err());
    }

    #[test]
    fn event_times_have_a_floor_and_no_future() {
        let at = |s: &str| Some(DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc));
        assert!(event_time("f", at("1850-01-01T00:00:00Z")).is_err());
        assert!(event_time("f", at("1899-12-31T23:59:59Z")).is_err());
        assert!(event_time("f", at("1900-01-01T00:00:00Z")).is_ok());
        assert!(event_time("f", Some(Utc::now() + Duration::seconds(30))).is_ok());
        assert!(event_time("f", Some(Utc::now() + Duration::minutes(5))).is_err());
        assert!(event_time_after(
            "f",
            at("2020-01-01T00:00:00Z"),
            at("2021-01-01T00:00:00Z").unwrap(),
            "x"
        )
        .is_err());
    }
}
