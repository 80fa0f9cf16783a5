//! Log lines: readable in development, JSON in production; the request span (with its
//! request id) is on every line. Nothing here ever logs a body, a token or case data.
use tracing_subscriber::EnvFilter;

pub fn init(production: bool) {
    let filter = EnvFilter::try_from_env("FRONTDOOR_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if production {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.try_init()
    };
}
