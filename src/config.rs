//! Settings from environment variables and flags (every one is in the README's table).
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use rand::RngCore;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://frontdoor.db?mode=rwc";

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Readable logs, GraphiQL, introspection; may generate its own signing key.
    Development,
    /// JSON logs, no IDE, no introspection or suggestions; requires a configured signing key.
    Production,
}

/// Flags shared by every subcommand.
#[derive(Clone, Debug, clap::Args)]
pub struct GlobalArgs {
    /// Database URL: `sqlite://PATH?mode=rwc` or `postgres://USER@HOST/DB`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,
    /// Run mode.
    #[arg(
        long,
        env = "FRONTDOOR_MODE",
        value_enum,
        default_value = "development",
        global = true
    )]
    pub mode: Mode,
    /// Token signing key, base64 (at least 32 bytes once decoded). Required in production.
    #[arg(
        long,
        env = "FRONTDOOR_SIGNING_KEY",
        hide_env_values = true,
        global = true
    )]
    pub signing_key: Option<String>,
    /// File holding the base64 signing key (alternative to FRONTDOOR_SIGNING_KEY).
    #[arg(long, env = "FRONTDOOR_SIGNING_KEY_FILE", global = true)]
    pub signing_key_file: Option<PathBuf>,
    /// Access token lifetime in seconds.
    #[arg(
        long,
        env = "FRONTDOOR_ACCESS_TOKEN_TTL",
        default_value_t = 900,
        global = true
    )]
    pub access_token_ttl: u64,
    /// Refresh token lifetime in seconds.
    #[arg(
        long,
        env = "FRONTDOOR_REFRESH_TOKEN_TTL",
        default_value_t = 1_209_600,
        global = true
    )]
    pub refresh_token_ttl: u64,
    /// Information request due times in hours, by priority.
    #[arg(
        long,
        env = "FRONTDOOR_REQUEST_DUE_HOURS",
        default_value = "RED=4,AMBER=24,GREEN=72",
        global = true
    )]
    pub request_due_hours: String,
    /// Audit checkpoint key: base64 of a 32-byte Ed25519 seed. When unset the seed is derived
    /// from the token signing key; set it to keep checkpoints verifiable across a rotation of
    /// that key. Never stored in the database.
    #[arg(
        long,
        env = "FRONTDOOR_AUDIT_KEY",
        hide_env_values = true,
        global = true
    )]
    pub audit_key: Option<String>,
    /// Largest number of pooled database connections. A few per core: more only add
    /// threads and database processes that take turns on the same cores (on 2 cores, 8 served
    /// audited reads 5–7 % faster than 16 on both databases).
    #[arg(
        long,
        env = "FRONTDOOR_DB_MAX_CONNECTIONS",
        default_value_t = 8,
        global = true
    )]
    pub db_max_connections: u32,
    /// Hours an idempotency key is honoured (a retry within them gets the first result);
    /// at least 24.
    #[arg(
        long,
        env = "FRONTDOOR_IDEMPOTENCY_WINDOW_HOURS",
        default_value_t = 48,
        global = true
    )]
    pub idempotency_window_hours: u64,
}

/// The shortest idempotency window accepted: a client retrying over a day must still be
/// recognised.
pub const MIN_IDEMPOTENCY_WINDOW_HOURS: u64 = 24;

#[derive(Clone, Debug)]
pub struct LoginThrottlePolicy {
    /// Failed attempts allowed before the first lock.
    pub free_failures: i32,
    /// Lock after the first locking failure; doubles with each further failure.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for LoginThrottlePolicy {
    fn default() -> Self {
        Self {
            free_failures: 5,
            base_backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: String,
    pub mode: Mode,
    pub bind: SocketAddr,
    pub signing_key: Vec<u8>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub request_timeout: Duration,
    pub db_max_connections: u32,
    pub login_throttle: LoginThrottlePolicy,
    /// Largest `first` a connection accepts.
    pub max_page_size: u64,
    /// Information request due times in hours for RED, AMBER, GREEN.
    pub request_due_hours: [i64; 3],
    /// The Ed25519 seed that signs audit checkpoints, if configured (`FRONTDOOR_AUDIT_KEY`);
    /// otherwise it is derived from `signing_key` (see `domain::audit::trail::signing_key`).
    pub audit_key: Option<[u8; 32]>,
    /// How often `serve` signs a checkpoint of the audit trail; zero turns it off.
    pub audit_checkpoint_interval: Duration,
    /// How long an idempotency key is honoured; older keys are ignored and swept.
    pub idempotency_window: Duration,
    /// How often `serve` sweeps lapsed rows (`domain::housekeeping`); zero turns it off.
    pub housekeeping_interval: Duration,
    /// A connection must send a request's complete headers within this time.
    pub header_timeout: Duration,
    /// A connection with no request in flight for this long is closed.
    pub idle_timeout: Duration,
    /// Failed logins and token requests allowed per source address per window.
    pub source_limit: SourceLimitPolicy,
    /// Peers whose `X-Forwarded-For` names the real client (reverse proxies).
    pub trusted_proxies: Vec<IpNet>,
    /// Browser origins allowed to call the API cross-origin (`FRONTDOOR_CORS_ORIGINS`);
    /// none by default, so a page served from elsewhere cannot call it.
    pub cors_origins: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct SourceLimitPolicy {
    /// Failures allowed per source in one window; 0 turns the limit off.
    pub failures: u32,
    pub window: Duration,
    /// Sources remembered at once; the oldest is forgotten first.
    pub max_sources: usize,
}

impl Default for SourceLimitPolicy {
    fn default() -> Self {
        Self {
            failures: 100,
            window: Duration::from_secs(300),
            max_sources: 10_000,
        }
    }
}

/// An address or a CIDR block: `10.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl IpNet {
    pub fn parse(text: &str) -> Result<IpNet, String> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or CIDR block"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?} has a bad prefix length"))?,
        };
        Ok(IpNet { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical_ip(ip);
        match (canonical_ip(self.addr), ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// An IPv4 address seen through an IPv6 socket (`::ffff:a.b.c.d`) as plain IPv4.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// `FRONTDOOR_TRUSTED_PROXIES`: comma-separated addresses and CIDR blocks.
pub fn parse_trusted_proxies(text: &str) -> Result<Vec<IpNet>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| IpNet::parse(p).map_err(|e| format!("FRONTDOOR_TRUSTED_PROXIES: {e}")))
        .collect()
}

/// `FRONTDOOR_CORS_ORIGINS`: comma-separated origins, each exactly `scheme://host[:port]`
/// (what a browser sends in `Origin`). A wildcard is refused: the list is explicit.
pub fn parse_cors_origins(text: &str) -> Result<Vec<String>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|origin| {
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            match rest {
                Some(host)
                    if !host.is_empty()
                        && host.chars().all(|c| {
                            c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')
                        }) =>
                {
                    Ok(origin.to_ascii_lowercase())
                }
                _ => Err(format!(
                    "FRONTDOOR_CORS_ORIGINS: {origin:?} is not an origin like \
                     https://mash.example.gov.uk (scheme and host, optional port, no path; \
                     no wildcard)"
                )),
            }
        })
        .collect()
}

impl Config {
    pub fn is_production(&self) -> bool {
        self.mode == Mode::Production
    }

    /// Everything but the bind address and timeout, from the shared flags.
    pub fn from_args(args: &GlobalArgs) -> Result<Config, String> {
        let idempotency_window = idempotency_window(args.idempotency_window_hours)?;
        let signing_key = resolve_signing_key(args)?;
        let audit_key = args
            .audit_key
            .as_deref()
            .map(decode_audit_key)
            .transpose()?;
        Ok(Config {
            database_url: args.database_url.clone(),
            mode: args.mode,
            bind: ([127, 0, 0, 1], 8080).into(),
            signing_key,
            access_token_ttl: Duration::from_secs(args.access_token_ttl),
            refresh_token_ttl: Duration::from_secs(args.refresh_token_ttl),
            request_timeout: Duration::from_secs(30),
            db_max_connections: args.db_max_connections,
            login_throttle: LoginThrottlePolicy::default(),
            max_page_size: 100,
            request_due_hours: parse_due_hours(&args.request_due_hours)?,
            audit_key,
            audit_checkpoint_interval: Duration::from_secs(60),
            idempotency_window,
            housekeeping_interval: Duration::from_secs(3600),
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            source_limit: SourceLimitPolicy::default(),
            trusted_proxies: Vec::new(),
            cors_origins: Vec::new(),
        })
    }

    /// A development configuration for tests and tools: the given database, a random key.
    pub fn for_tests(database_url: &str) -> Config {
        let mut key = vec![0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        Config {
            database_url: database_url.to_string(),
            mode: Mode::Development,
            bind: ([127, 0, 0, 1], 0).into(),
            signing_key: key,
            access_token_ttl: Duration::from_secs(900),
            refresh_token_ttl: Duration::from_secs(1_209_600),
            request_timeout: Duration::from_secs(30),
            db_max_connections: 8,
            login_throttle: LoginThrottlePolicy::default(),
            max_page_size: 100,
            request_due_hours: [4, 24, 72],
            audit_key: None,
            audit_checkpoint_interval: Duration::from_secs(60),
            idempotency_window: Duration::from_secs(48 * 3600),
            housekeeping_interval: Duration::from_secs(3600),
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            source_limit: SourceLimitPolicy::default(),
            trusted_proxies: Vec::new(),
            cors_origins: Vec::new(),
        }
    }
}

fn idempotency_window(hours: u64) -> Result<Duration, String> {
    if hours < MIN_IDEMPOTENCY_WINDOW_HOURS {
        return Err(format!(
            "FRONTDOOR_IDEMPOTENCY_WINDOW_HOURS is {hours}, but must be at least {MIN_IDEMPOTENCY_WINDOW_HOURS}: \
             a client retrying a submission within a day must get the first result, not a duplicate"
        ));
    }
    hours
        .checked_mul(3600)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("FRONTDOOR_IDEMPOTENCY_WINDOW_HOURS {hours} is too large"))
}

/// `RED=4,AMBER=24,GREEN=72` → [4, 24, 72].
fn parse_due_hours(text: &str) -> Result<[i64; 3], String> {
    let mut hours = [4, 24, 72];
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = part.split_once('=').ok_or_else(|| {
            format!("FRONTDOOR_REQUEST_DUE_HOURS: expected PRIORITY=HOURS, got {part:?}")
        })?;
        let value: i64 = value
            .trim()
            .parse()
            .ok()
            .filter(|v| *v > 0)
            .ok_or_else(|| {
                format!("FRONTDOOR_REQUEST_DUE_HOURS: {part:?} needs a positive number of hours")
            })?;
        match name.trim() {
            "RED" => hours[0] = value,
            "AMBER" => hours[1] = value,
            "GREEN" => hours[2] = value,
            other => {
                return Err(format!(
                    "FRONTDOOR_REQUEST_DUE_HOURS: unknown priority {other:?}"
                ))
            }
        }
    }
    Ok(hours)
}

fn decode_audit_key(text: &str) -> Result<[u8; 32], String> {
    let text = text.trim();
    let key = base64::engine::general_purpose::STANDARD
        .decode(text)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text))
        .map_err(|_| "FRONTDOOR_AUDIT_KEY is not valid base64".to_string())?;
    key.try_into().map_err(|key: Vec<u8>| {
        format!(
            "FRONTDOOR_AUDIT_KEY must decode to exactly 32 bytes (it has {}); generate one with `openssl rand -base64 32`",
            key.len()
        )
    })
}

fn decode_key(text: &str, origin: &str) -> Result<Vec<u8>, String> {
    let text = text.trim();
    let key = base64::engine::general_purpose::STANDARD
        .decode(text)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text))
        .map_err(|_| format!("{origin} is not valid base64"))?;
    if key.len() < 32 {
        return Err(format!(
            "{origin} must decode to at least 32 bytes (it has {}); generate one with `openssl rand -base64 32`",
            key.len()
        ));
    }
    Ok(key)
}

fn resolve_signing_key(args: &GlobalArgs) -> Result<Vec<u8>, String> {
    if let Some(text) = &args.signing_key {
        return decode_key(text, "FRONTDOOR_SIGNING_KEY");
    }
    if let Some(path) = &args.signing_key_file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "cannot read FRONTDOOR_SIGNING_KEY_FILE {}: {e}",
                path.display()
            )
        })?;
        return decode_key(&text, "FRONTDOOR_SIGNING_KEY_FILE");
    }
    if args.mode == Mode::Production {
        return Err("production mode needs a signing key: set FRONTDOOR_SIGNING_KEY (base64, at least 32 bytes) or FRONTDOOR_SIGNING_KEY_FILE; frontdoor will not generate one in production".into());
    }
    // Development: generate one and keep it beside the database so restarts keep sessions.
    let path = development_key_path(&args.database_url);
    if let Ok(text) = std::fs::read_to_string(&path) {
        return decode_key(&text, &format!("development key file {}", path.display()));
    }
    let mut key = vec![0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    write_private_file(
        &path,
        &base64::engine::general_purpose::STANDARD.encode(&key),
    )
    .map_err(|e| {
        format!(
            "cannot write development signing key {}: {e}",
            path.display()
        )
    })?;
    Ok(key)
}

/// `frontdoor.db` → `frontdoor.db.signing-key`; for PostgreSQL, a file in the working directory.
fn development_key_path(database_url: &str) -> PathBuf {
    if let Some(rest) = database_url.strip_prefix("sqlite:") {
        let path = rest.trim_start_matches("//");
        let path = path.split('?').next().unwrap_or(path);
        if !path.is_empty() && path != ":memory:" {
            return PathBuf::from(format!("{path}.signing-key"));
        }
    }
    PathBuf::from("frontdoor.signing-key")
}

fn write_private_file(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())
}
