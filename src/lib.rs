//! frontdoor: the GraphQL backend of a Multi-Agency Safeguarding Hub.
pub mod auth;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod graphql;
pub mod http;
pub mod logging;

use std::ops::Deref;
use std::sync::Arc;

use axum::Router;
use migration::{Migrator, MigratorTrait};
use sea_orm::{DatabaseConnection, DbErr};

use auth::tokens::TokenKeys;
use config::Config;

/// The services' shared handle: database, configuration, token keys.
#[derive(Clone)]
pub struct Core(Arc<CoreInner>);

pub struct CoreInner {
    pub db: DatabaseConnection,
    pub config: Config,
    pub keys: TokenKeys,
    /// Failed logins and token requests per source address (this instance's memory).
    pub sources: domain::source_limit::SourceLimiter,
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
        let db = db::connect(&config.database_url, config.db_max_connections).await?;
        Migrator::up(&db, None).await?;
        let keys = TokenKeys::new(&config.signing_key);
        let sources = domain::source_limit::SourceLimiter::new(config.source_limit.clone());
        Ok(Core(Arc::new(CoreInner {
            db,
            config,
            keys,
            sources,
        })))
    }
}

/// The whole HTTP application, as `serve` runs it and as the tests drive it.
pub fn build_app(core: Core) -> Router {
    auth::password::warm_up();
    let schema = graphql::build_schema(Some(core.clone()), core.config.is_production());
    let timeout = core.config.request_timeout;
    let state = http::AppState {
        core,
        schema,
        metrics: Arc::new(http::metrics::Metrics::new()),
    };
    http::router(state, timeout)
}
