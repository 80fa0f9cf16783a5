//! The `frontdoor` command: serve, migrate, schema, admin, demo, audit, export.
use std::process::ExitCode;

/// mimalloc returns freed memory to the system; glibc's allocator keeps each thread's
/// 19 MiB Argon2 blocks in per-thread arenas, so a login flood left the process at
/// hundreds of MiB long after it ended.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};
use frontdoor::config::{Config, GlobalArgs};
use frontdoor::domain::audit::trail::{self as audit_trail, ExportedCheckpoint};
use frontdoor::domain::audit::verify as audit_verify;
use frontdoor::domain::common::codes::{AgencyKind, Role};
use frontdoor::domain::housekeeping;
use frontdoor::domain::identity::{self, NewAgency, NewClient, NewUser};
use frontdoor::domain::reporting::annex_a;
use frontdoor::domain::RequestCtx;
use frontdoor::error::AppError;
use frontdoor::http::serve::{self, ServeOptions};
use frontdoor::{auth, build_app, demo, graphql, logging, Core};

#[derive(Parser)]
#[command(
    name = "frontdoor",
    version,
    about = "GraphQL backend of a Multi-Agency Safeguarding Hub (MASH)"
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database, then serve HTTP (GraphQL, OAuth token endpoint, health, metrics).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "FRONTDOOR_BIND", default_value = "127.0.0.1:8080")]
        bind: std::net::SocketAddr,
        /// Load demo agencies, users and clients first if the database is empty, and the 2019
        /// history in the background (development only).
        #[arg(long)]
        demo: bool,
        /// With --demo: agencies, users and clients only, without the 2019 history (for
        /// benchmarks and quick tries).
        #[arg(long, requires = "demo")]
        no_history: bool,
        /// Seconds before a request is answered 408.
        #[arg(long, env = "FRONTDOOR_REQUEST_TIMEOUT", default_value_t = 30)]
        request_timeout: u64,
        /// Seconds between signed checkpoints of the audit trail (taken only when entries
        /// were written since the last one); 0 turns them off.
        #[arg(long, env = "FRONTDOOR_AUDIT_CHECKPOINT_SECS", default_value_t = 60)]
        audit_checkpoint_secs: u64,
        /// Seconds between housekeeping sweeps (expired refresh tokens and sessions, lapsed
        /// idempotency keys and login-throttle rows; never audit entries); 0 turns them off.
        #[arg(long, env = "FRONTDOOR_HOUSEKEEPING_SECS", default_value_t = 3600)]
        housekeeping_secs: u64,
        /// Seconds a connection has to send a request's complete headers.
        #[arg(long, env = "FRONTDOOR_HEADER_TIMEOUT_SECS", default_value_t = 10)]
        header_timeout_secs: u64,
        /// Seconds a connection with no request in flight stays open.
        #[arg(long, env = "FRONTDOOR_IDLE_TIMEOUT_SECS", default_value_t = 60)]
        idle_timeout_secs: u64,
        /// Failed logins and token requests allowed per source address per window; 0 turns
        /// the limit off.
        #[arg(long, env = "FRONTDOOR_SOURCE_FAILURE_LIMIT", default_value_t = 100)]
        source_failure_limit: u32,
        /// The window of FRONTDOOR_SOURCE_FAILURE_LIMIT, in seconds.
        #[arg(
            long,
            env = "FRONTDOOR_SOURCE_FAILURE_WINDOW_SECS",
            default_value_t = 300
        )]
        source_failure_window_secs: u64,
        /// Reverse proxies (comma-separated IPs or CIDR blocks) whose X-Forwarded-For names
        /// the real client; empty: the peer address is the source.
        #[arg(long, env = "FRONTDOOR_TRUSTED_PROXIES", default_value = "")]
        trusted_proxies: String,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL); `schema.graphql` is this output.
    Schema,
    /// Load the demo data into an empty database: agencies, users, clients and the
    /// March–November 2019 history.
    Demo,
    /// Administer agencies, users and machine clients as the local operator (audited).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Verify, checkpoint and export the tamper-evident audit trail as the local operator (audited).
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Export child-level case data for inspection as the local operator (audited, with a
    /// required reason).
    #[command(subcommand)]
    Export(ExportCommand),
}

#[derive(Subcommand)]
enum ExportCommand {
    /// An Ofsted ILACS Annex A list as CSV (headings and coded values as Annex A writes them).
    AnnexA {
        /// 1 contacts, 2 early help assessments, 3 referrals, 4 assessments, 5 section 47
        /// enquiries and initial child protection conferences.
        #[arg(long)]
        list: u8,
        /// First day of the period, YYYY-MM-DD (Europe/London date, inclusive).
        #[arg(long)]
        from: chrono::NaiveDate,
        /// Last day of the period, YYYY-MM-DD (Europe/London date, inclusive).
        #[arg(long)]
        to: chrono::NaiveDate,
        /// Why the case data is being exported; recorded in the audit trail.
        #[arg(long)]
        reason: String,
        /// Write the CSV to this file (created readable by its owner only) instead of
        /// standard output. Never through a symbolic link; not over an existing file
        /// without --force.
        #[arg(long)]
        output: Option<std::path::PathBuf>,
        /// With --output: replace the file if it exists (still never through a symbolic link).
        #[arg(long, requires = "output")]
        force: bool,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check every chain, every stored checkpoint and optionally an exported one; exits 1
    /// and prints the first failure if anything does not check out.
    Verify {
        /// A checkpoint saved earlier with `export-checkpoint`: also proves that nothing up to
        /// it was removed.
        #[arg(long)]
        checkpoint: Option<std::path::PathBuf>,
    },
    /// Sign a checkpoint of every chain's head now.
    Checkpoint,
    /// Print the newest checkpoint as JSON, to keep outside the database.
    ExportCheckpoint,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Add an agency.
    CreateAgency {
        #[arg(long)]
        name: String,
        /// LOCAL_AUTHORITY, POLICE, HEALTH, EDUCATION, EARLY_HELP, PROBATION, HOUSING, VOLUNTARY or OTHER.
        #[arg(long)]
        kind: String,
        /// National contact-source code within the kind (defaults to the kind's usual one).
        #[arg(long)]
        source_code: Option<String>,
        /// This local authority hosts the MASH (only one agency may).
        #[arg(long)]
        hosts_mash: bool,
    },
    /// Add a user. Without --password a strong one is generated and printed once.
    CreateUser {
        #[arg(long)]
        username: String,
        /// Agency name or id.
        #[arg(long)]
        agency: String,
        /// Comma-separated roles, e.g. MASH_MANAGER or REFERRER.
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
        #[arg(long)]
        display_name: String,
        /// Initial password (visible to other local users in the process list; prefer omitting it).
        #[arg(long, env = "FRONTDOOR_NEW_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Register a machine client; its secret is printed once.
    CreateClient {
        /// Agency name or id.
        #[arg(long)]
        agency: String,
        #[arg(long)]
        name: String,
        /// Comma-separated scopes: contacts:submit, requests:respond, missing:report.
        #[arg(long, value_delimiter = ',')]
        scopes: Vec<String>,
        /// The client_id to use (generated if omitted).
        #[arg(long)]
        client_id: Option<String>,
    },
    /// Set a new password (generated and printed if omitted); ends the user's sessions.
    ResetPassword {
        #[arg(long)]
        username: String,
        #[arg(long, env = "FRONTDOOR_NEW_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Deactivate a user: their tokens stop working at once.
    DeactivateUser {
        #[arg(long)]
        username: String,
    },
}

fn os_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown-operator".into())
}

/// Refuses an output path that is a symbolic link, or an existing file unless `force`:
/// checked before the export is audited, and again when the file is opened.
fn check_output_path(path: &std::path::Path, force: bool) -> Result<(), String> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(format!(
            "{} is a symbolic link: refusing to write through it",
            path.display()
        )),
        Ok(_) if !force => Err(format!(
            "{} already exists: pass --force to replace it",
            path.display()
        )),
        Ok(meta) if !meta.is_file() => Err(format!("{} is not a regular file", path.display())),
        _ => Ok(()),
    }
}

/// Creates a file only its owner can read (the export holds child-level data), never
/// through a symbolic link; an existing file is replaced only with `force`.
fn private_file(path: &std::path::Path, force: bool) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        // O_EXCL: fails on an existing file and on any symbolic link, dangling or not.
        options.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
        let file = options.open(path)?;
        // A file that already existed keeps its mode on open: narrow it too.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        Ok(file)
    }
    #[cfg(not(unix))]
    options.open(path)
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

fn main() -> ExitCode {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Password hashes run on the blocking pool; an idle blocking thread exits after a
        // second and hands its allocator heap back, so a login flood's memory returns
        // within seconds of the flood rather than after tokio's default ten.
        .thread_keep_alive(std::time::Duration::from_secs(1))
        .build()
        .expect("the async runtime starts")
        .block_on(cli_main())
}

async fn cli_main() -> ExitCode {
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

/// Ctrl-C or SIGTERM (what a service manager or container runtime sends): stop accepting,
/// answer what is in flight, exit 0.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("shutting down: finishing requests in flight");
}

async fn start(config: Config) -> Result<Core, String> {
    Core::start(config)
        .await
        .map_err(|e| format!("cannot open the database: {e}"))
}

async fn agency_named(core: &Core, name: &str) -> Result<uuid::Uuid, String> {
    identity::find_agency(core, name)
        .await
        .map_err(describe)?
        .map(|a| a.id)
        .ok_or_else(|| format!("no agency named {name:?}"))
}

async fn run(command: Command, config: &mut Config) -> Result<(), String> {
    let ctx = RequestCtx::operator(&os_user());
    match command {
        Command::Schema => unreachable!("handled before configuration"),
        Command::Serve {
            bind,
            demo: with_demo,
            no_history,
            request_timeout,
            audit_checkpoint_secs,
            housekeeping_secs,
            header_timeout_secs,
            idle_timeout_secs,
            source_failure_limit,
            source_failure_window_secs,
            trusted_proxies,
        } => {
            if with_demo && config.is_production() {
                return Err("--demo loads users with a published password and is refused in production mode".into());
            }
            config.bind = bind;
            config.request_timeout = std::time::Duration::from_secs(request_timeout);
            config.audit_checkpoint_interval =
                std::time::Duration::from_secs(audit_checkpoint_secs);
            config.housekeeping_interval = std::time::Duration::from_secs(housekeeping_secs);
            config.header_timeout = std::time::Duration::from_secs(header_timeout_secs.max(1));
            config.idle_timeout = std::time::Duration::from_secs(idle_timeout_secs.max(1));
            config.source_limit.failures = source_failure_limit;
            config.source_limit.window =
                std::time::Duration::from_secs(source_failure_window_secs.max(1));
            config.trusted_proxies = frontdoor::config::parse_trusted_proxies(&trusted_proxies)?;
            let core = start(config.clone()).await?;
            if !config.housekeeping_interval.is_zero() {
                tokio::spawn(housekeeping::run_scheduled(
                    core.clone(),
                    config.housekeeping_interval,
                ));
            }
            if !config.audit_checkpoint_interval.is_zero() {
                tokio::spawn(audit_trail::run_scheduled_checkpoints(
                    core.clone(),
                    config.audit_checkpoint_interval,
                ));
            }
            if with_demo {
                let fresh = demo::load_if_empty(&core).await.map_err(describe)?;
                println!("{}", demo::summary());
                if fresh {
                    tracing::info!("demo data loaded");
                }
                if fresh && !no_history {
                    // The 2019 history loads through the API while the server already answers.
                    let core = core.clone();
                    tokio::spawn(async move {
                        if let Err(e) = demo::load_history(&core).await {
                            tracing::error!(error = %e, "demo history failed to load");
                        }
                    });
                }
            }
            let listener = tokio::net::TcpListener::bind(bind)
                .await
                .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
            tracing::info!(%bind, mode = ?config.mode, "frontdoor listening");
            println!("frontdoor listening on http://{bind}/graphql");
            let options = ServeOptions::from_config(config);
            serve::serve(listener, build_app(core), options, shutdown_signal())
                .await
                .map_err(|e| format!("server error: {e}"))?;
            tracing::info!("frontdoor stopped: requests in flight were answered");
            Ok(())
        }
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
        Command::Audit(audit) => {
            let core = start(config.clone()).await?;
            match audit {
                AuditCommand::Verify { checkpoint } => {
                    let exported = match checkpoint {
                        Some(path) => Some(std::fs::read_to_string(&path).map_err(|e| {
                            format!("cannot read checkpoint {}: {e}", path.display())
                        })?),
                        None => None,
                    };
                    let result = audit_verify::verify(&core, &ctx, exported.as_deref())
                        .await
                        .map_err(describe)?;
                    match result.first_failure {
                        None => {
                            println!(
                                "audit trail verified: {} entries, {} checkpoints",
                                result.checked_entries, result.checked_checkpoints
                            );
                            Ok(())
                        }
                        Some(failure) => Err(format!(
                            "audit trail verification FAILED at the first bad entry: {} ({} entries checked before it)",
                            failure.describe(),
                            result.checked_entries
                        )),
                    }
                }
                AuditCommand::Checkpoint => {
                    let checkpoint = audit_trail::create_checkpoint(&core, &ctx)
                        .await
                        .map_err(describe)?;
                    println!("{}", ExportedCheckpoint::from_model(&checkpoint).to_json());
                    Ok(())
                }
                AuditCommand::ExportCheckpoint => {
                    match audit_trail::export_latest_checkpoint(&core, &ctx)
                        .await
                        .map_err(describe)?
                    {
                        Some(exported) => {
                            println!("{}", exported.to_json());
                            Ok(())
                        }
                        None => Err(
                            "no checkpoint yet: sign one with `frontdoor audit checkpoint`".into(),
                        ),
                    }
                }
            }
        }
        Command::Export(ExportCommand::AnnexA {
            list,
            from,
            to,
            reason,
            output,
            force,
        }) => {
            use std::io::Write;
            if let Some(path) = &output {
                check_output_path(path, force)?;
            }
            let core = start(config.clone()).await?;
            // Audited before a byte is written; a file is only created for an export.
            let export = annex_a::export(&core, &ctx, list, from, to, Some(&reason))
                .await
                .map_err(describe)?;
            let csv = export.to_csv();
            match &output {
                Some(path) => {
                    private_file(path, force)
                        .and_then(|mut file| {
                            file.write_all(csv.as_bytes())?;
                            file.sync_all()
                        })
                        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                    println!(
                        "Annex A list {list}, {from} to {to}: {} rows written to {}",
                        export.rows.len(),
                        path.display()
                    );
                }
                None => {
                    let mut stdout = std::io::stdout().lock();
                    stdout
                        .write_all(csv.as_bytes())
                        .and_then(|()| stdout.flush())
                        .map_err(|e| format!("cannot write the export: {e}"))?;
                }
            }
            Ok(())
        }
        Command::Admin(admin) => {
            let core = start(config.clone()).await?;
            match admin {
                AdminCommand::CreateAgency {
                    name,
                    kind,
                    source_code,
                    hosts_mash,
                } => {
                    let kind = AgencyKind::parse(&kind.to_uppercase())
                        .ok_or_else(|| format!("unknown agency kind {kind:?}"))?;
                    let created = identity::create_agency(
                        &core,
                        &ctx,
                        NewAgency {
                            name,
                            kind,
                            source_code,
                            hosts_mash,
                        },
                    )
                    .await
                    .map_err(describe)?;
                    println!("created agency {} ({})", created.name, created.id);
                }
                AdminCommand::CreateUser {
                    username,
                    agency,
                    roles,
                    display_name,
                    password,
                } => {
                    let roles = roles
                        .iter()
                        .map(|r| {
                            Role::parse(&r.trim().to_uppercase())
                                .ok_or_else(|| format!("unknown role {r:?}"))
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    let agency_id = agency_named(&core, &agency).await?;
                    let generated = password.is_none();
                    let password = password.unwrap_or_else(auth::password::random_secret);
                    let (user, _) = identity::create_user(
                        &core,
                        &ctx,
                        NewUser {
                            agency_id: Some(agency_id),
                            username,
                            display_name,
                            roles,
                            password: password.clone(),
                        },
                    )
                    .await
                    .map_err(describe)?;
                    println!("created user {} ({})", user.username, user.id);
                    if generated {
                        println!("initial password (shown once): {password}");
                    }
                }
                AdminCommand::CreateClient {
                    agency,
                    name,
                    scopes,
                    client_id,
                } => {
                    let agency_id = agency_named(&core, &agency).await?;
                    let ((client, _), secret) = identity::create_client(
                        &core,
                        &ctx,
                        NewClient {
                            agency_id: Some(agency_id),
                            name,
                            scopes,
                            client_id,
                            secret: None,
                        },
                    )
                    .await
                    .map_err(describe)?;
                    println!("created client {} ({})", client.client_id, client.id);
                    println!("client secret (shown once, store it now): {secret}");
                }
                AdminCommand::ResetPassword { username, password } => {
                    let id = identity::find_user_id_by_username(&core, &username)
                        .await
                        .map_err(describe)?
                        .ok_or_else(|| format!("no user named {username:?}"))?;
                    let generated = password.is_none();
                    let password = password.unwrap_or_else(auth::password::random_secret);
                    identity::reset_password(&core, &ctx, id, &password)
                        .await
                        .map_err(describe)?;
                    println!("password reset for {username}; their sessions are ended");
                    if generated {
                        println!("new password (shown once): {password}");
                    }
                }
                AdminCommand::DeactivateUser { username } => {
                    let id = identity::find_user_id_by_username(&core, &username)
                        .await
                        .map_err(describe)?
                        .ok_or_else(|| format!("no user named {username:?}"))?;
                    identity::set_user_active(&core, &ctx, id, false)
                        .await
                        .map_err(describe)?;
                    println!("deactivated {username}");
                }
            }
            Ok(())
        }
    }
}
