//! `Core`: the one handle every service takes — the database, the configuration, the token
//! keys and this instance's per-source counters. It sits below every layer that uses it.
use std::ops::Deref;
use std::sync::Arc;

use migration::{Migrator, MigratorTrait};
use sea_orm::{DatabaseConnection, DbErr};

use crate::auth::tokens::TokenKeys;
use crate::config::Config;
use crate::db;

/// The services' shared handle: database, configuration, token keys.
#[derive(Clone)]
pub struct Core(Arc<CoreInner>);

pub struct CoreInner {
    pub db: DatabaseConnection,
    pub config: Config,
    pub keys: TokenKeys,
    /// Failed logins and token requests per source address (this instance's memory).
    pub sources: crate::auth::source_limit::SourceLimiter,
    /// Statements this instance has sent to the database (in `/metrics`; the tests use it to
    /// show a page costs the same number of queries whatever its size).
    pub statements: prometheus::IntCounter,
    /// List polls that returned nothing, by action: they disclose nothing, so they are
    /// counted here (in `/metrics`) rather than written to the audit trail.
    pub empty_polls: prometheus::IntCounterVec,
    /// The audit trail's group commit for entries that go with no other change.
    pub audit: crate::audit_log::group::GroupCommit,
    /// Change events on their way to this instance's subscribers.
    pub events: crate::event_bus::EventBus,
}

impl Deref for Core {
    type Target = CoreInner;
    fn deref(&self) -> &CoreInner {
        &self.0
    }
}

impl Core {
    /// Connects and brings the schema up to date.
    pub async fn start(config: Config) -> Result<Core, DbErr> {
        let mut db = db::connect(&config.database_url, config.db_max_connections).await?;
        let statements = prometheus::IntCounter::new(
            "frontdoor_db_statements_total",
            "Statements sent to the database",
        )
        .expect("valid metric");
        let empty_polls = prometheus::IntCounterVec::new(
            prometheus::Opts::new(
                "frontdoor_empty_polls_total",
                "List polls that returned nothing (not audit entries: they disclose nothing)",
            ),
            &["action"],
        )
        .expect("valid metric");
        let counted = statements.clone();
        db.set_metric_callback(move |_| counted.inc());
        Migrator::up(&db, None).await?;
        let keys = TokenKeys::new(&config.signing_key);
        let sources = crate::auth::source_limit::SourceLimiter::new(config.source_limit.clone());
        let audit = crate::audit_log::group::GroupCommit::start(&db);
        let events = crate::event_bus::EventBus::new(&db);
        Ok(Core(Arc::new(CoreInner {
            db,
            config,
            keys,
            sources,
            statements,
            empty_polls,
            audit,
            events,
        })))
    }
}
