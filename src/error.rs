//! The one error type of the domain, and how it appears to API callers.
//!
//! `AppError` deliberately does not implement `Display`: that keeps async-graphql's blanket
//! `From<impl Display>` from turning one into a code-less error, so every error a resolver
//! returns carries `extensions.code` and never a database's or library's own text.
use std::panic::Location;

use async_graphql::ErrorExtensions;
use sea_orm::DbErr;

#[derive(Debug)]
pub enum AppError {
    Unauthenticated(&'static str),
    Forbidden,
    NotFound,
    BadUserInput {
        field: String,
        message: String,
    },
    Conflict {
        field: String,
        message: String,
    },
    ConsentRequired,
    RateLimited {
        retry_after_secs: u64,
    },
    /// Logged with its detail and where it arose (with the request id of the span it is
    /// in); the caller sees only "internal error". Made with `AppError::internal` or from a
    /// database error by `?`, which both record the call site.
    Internal {
        detail: String,
        at: &'static Location<'static>,
    },
}

impl AppError {
    /// An internal fault, logged here with `detail` and the caller's file and line.
    #[track_caller]
    pub fn internal(detail: impl Into<String>) -> Self {
        let detail = detail.into();
        let at = Location::caller();
        tracing::error!(error = %detail, at = %at, "internal error");
        AppError::Internal { detail, at }
    }

    pub fn bad_input(field: &str, message: impl Into<String>) -> Self {
        AppError::BadUserInput {
            field: field.to_string(),
            message: message.into(),
        }
    }

    pub fn conflict(field: &str, message: impl Into<String>) -> Self {
        AppError::Conflict {
            field: field.to_string(),
            message: message.into(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated(_) => "UNAUTHENTICATED",
            AppError::Forbidden => "FORBIDDEN",
            AppError::NotFound => "NOT_FOUND",
            AppError::BadUserInput { .. } => "BAD_USER_INPUT",
            AppError::Conflict { .. } => "CONFLICT",
            AppError::ConsentRequired => "CONSENT_REQUIRED",
            AppError::RateLimited { .. } => "RATE_LIMITED",
            AppError::Internal { .. } => "INTERNAL",
        }
    }

    pub fn message(&self) -> String {
        match self {
            AppError::Unauthenticated(m) => (*m).to_string(),
            AppError::Forbidden => "you are not allowed to do this".into(),
            AppError::NotFound => "not found".into(),
            AppError::BadUserInput { message, .. } | AppError::Conflict { message, .. } => {
                message.clone()
            }
            AppError::ConsentRequired => {
                "consent, or an authorised override, is required first".into()
            }
            AppError::RateLimited { .. } => "too many attempts; try again later".into(),
            AppError::Internal { .. } => "internal error".into(),
        }
    }

    /// Refusals are audited; validation failures write nothing.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            AppError::Unauthenticated(_)
                | AppError::Forbidden
                | AppError::NotFound
                | AppError::ConsentRequired
                | AppError::RateLimited { .. }
        )
    }
}

impl From<DbErr> for AppError {
    /// `?` on a database error lands here; the location logged is the `?`'s.
    #[track_caller]
    fn from(err: DbErr) -> Self {
        // A unique index refusing a row means another writer got there first: a lost race,
        // not a fault (services check state first; this is the backstop).
        if let Some(sea_orm::SqlErr::UniqueConstraintViolation(detail)) = err.sql_err() {
            tracing::warn!(error = %detail, "unique constraint: concurrent write");
            return AppError::conflict("input", "another change to this record came first");
        }
        AppError::internal(format!("database error: {err}"))
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        async_graphql::Error::new(err.message()).extend_with(|_, ext| {
            ext.set("code", err.code());
            match &err {
                AppError::BadUserInput { field, .. } | AppError::Conflict { field, .. } => {
                    ext.set("field", field.as_str())
                }
                AppError::RateLimited { retry_after_secs } => {
                    ext.set("retryAfterSeconds", *retry_after_secs)
                }
                _ => {}
            }
        })
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    fn site(err: AppError) -> (&'static str, u32) {
        match err {
            AppError::Internal { at, .. } => (at.file(), at.line()),
            other => panic!("expected INTERNAL, got {}", other.code()),
        }
    }

    #[test]
    fn internal_errors_remember_where_they_arose_and_tell_the_caller_nothing() {
        let line = line!() + 1;
        let err = AppError::internal("a fault with detail");
        assert_eq!(err.message(), "internal error");
        assert_eq!(site(err), (file!(), line));

        fn query() -> Result<(), DbErr> {
            Err(DbErr::Custom("connection reset".into()))
        }
        fn service() -> AppResult<()> {
            query()?;
            Ok(())
        }
        let question_mark = line!() - 3;
        assert_eq!(site(service().unwrap_err()), (file!(), question_mark));
    }
}
