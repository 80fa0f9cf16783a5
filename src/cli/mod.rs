//! The `frontdoor` command line: serve, migrate, schema, demo, admin, audit, export. Each
//! subcommand with options of its own has a module here; the library's services do the work.
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{Config, GlobalArgs};
use crate::domain::RequestCtx;
use crate::error::AppError;
use crate::{demo, graphql, logging, Core};

mod admin;
mod audit;
mod export;
mod serve;

#[derive(Parser)]
#[command(
    name = "frontdoor",
    version,
    about = "GraphQL backend of a Multi-Agency Safeguarding Hub (MASH)"
)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Migrate the database, then serve HTTP (GraphQL, OAuth token endpoint, health, metrics).
    Serve(serve::ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL); `schema.graphql` is this output.
    Schema,
    /// Load the demo data into an empty database: agencies, users, clients and the
    /// March–November 2019 history.
    Demo,
    /// Administer agencies, users and machine clients as the local operator (audited).
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Verify, checkpoint and export the tamper-evident audit trail as the local operator (audited).
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Export child-level case data for inspection as the local operator (audited, with a
    /// required reason).
    #[command(subcommand)]
    Export(export::ExportCommand),
}

/// Parses the command line and runs it; the exit code says how it went.
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Schema = cli.command {
        print!("{}", graphql::sdl());
        return ExitCode::SUCCESS;
    }
    let mut config = match Config::from_args(&cli.global) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("frontdoor: {message}");
            return ExitCode::from(2);
        }
    };
    logging::init(config.is_production());
    match run(cli.command, &mut config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("frontdoor: {message}");
            ExitCode::FAILURE
        }
    }
}

fn os_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown-operator".into())
}

fn describe(err: AppError) -> String {
    match err {
        AppError::BadUserInput { field, message } | AppError::Conflict { field, message } => {
            format!("{field}: {message}")
        }
        AppError::Internal { detail, at } => format!("internal error at {at}: {detail}"),
        other => other.message(),
    }
}

async fn start(config: Config) -> Result<Core, String> {
    Core::start(config)
        .await
        .map_err(|e| format!("cannot open the database: {e}"))
}

async fn run(command: Command, config: &mut Config) -> Result<(), String> {
    let ctx = RequestCtx::operator(&os_user());
    match command {
        Command::Schema => unreachable!("handled before configuration"),
        Command::Serve(args) => serve::run(args, config).await,
        Command::Migrate => {
            start(config.clone()).await?;
            println!("database is up to date");
            Ok(())
        }
        Command::Demo => {
            let core = start(config.clone()).await?;
            if demo::load_if_empty(&core).await.map_err(describe)? {
                println!("{}", demo::summary());
                demo::load_history(&core).await?;
            } else {
                println!("the database already has agencies; demo data not loaded");
            }
            Ok(())
        }
        Command::Audit(command) => audit::run(command, config, &ctx).await,
        Command::Export(command) => export::run(command, config, &ctx).await,
        Command::Admin(command) => admin::run(command, config, &ctx).await,
    }
}
