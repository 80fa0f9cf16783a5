//! One code path for SQLite and PostgreSQL, chosen by the URL.
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use sea_orm::sqlx::postgres::PgSslMode;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, DbErr, Statement, TransactionOptions, TransactionTrait, Value,
};

/// The file a SQLite URL names, unless it is an in-memory database.
fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, q),
        None => (rest, ""),
    };
    let path = path.strip_prefix("//").unwrap_or(path);
    if path.is_empty() || path == ":memory:" || query.split('&').any(|kv| kv == "mode=memory") {
        return None;
    }
    Some(std::path::PathBuf::from(path))
}

/// Creates a SQLite database file readable by its owner only (it holds case data), before
/// the driver would create it with the default mode. An existing file is left as it is.
fn create_private_sqlite_file(path: &std::path::Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// SQLite's memory statistics take one process-wide lock on every allocation, and reading
/// a row allocates per value, so with one thread per connection every read queued on that
/// lock. Nothing here reads the statistics, so they are turned off. The setting only takes
/// before SQLite initialises (the first connection); later calls are refused and harmless.
fn configure_sqlite() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: sqlite3_config is documented as callable before sqlite3_initialize; once
        // SQLite is initialised it returns SQLITE_MISUSE and changes nothing.
        unsafe {
            libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS, 0);
        }
    });
}

/// How long a pooled connection may sit unused before it is checked before use.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(10);

/// How long a writer waits for its turn on SQLite before failing.
const WRITE_WAIT: Duration = Duration::from_secs(10);

/// A PostgreSQL host that is this machine: the loopback or a Unix socket directory.
fn on_this_host(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "::1" | "[::1]") || host.starts_with('/')
}

pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    if let Some(path) = sqlite_path(url) {
        create_private_sqlite_file(&path).map_err(|e| {
            DbErr::Custom(format!(
                "cannot create database file {}: {e}",
                path.display()
            ))
        })?;
    }
    let mut opt = ConnectOptions::new(url.to_string());
    opt.max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        // A connection in steady use goes straight to its statement; only one that has sat
        // idle is pinged first. Pinging on every acquire cost a round trip per statement
        // (on SQLite a hop to the connection's thread and back).
        .test_before_acquire_if_idle_for(IDLE_BEFORE_PING)
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        configure_sqlite();
        // WAL lets readers run beside the writer; FULL makes a committed disclosure
        // survive power loss; the busy timeout queues writers instead of failing them.
        opt.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(WRITE_WAIT)
                .foreign_keys(true)
                .create_if_missing(true)
        });
    }
    if url.starts_with("postgres") {
        // TLS to a server on this same machine protects nothing and costs both sides a
        // cipher per message; a URL that names its own sslmode keeps it.
        let names_sslmode = url.contains("sslmode=");
        opt.map_sqlx_postgres_opts(move |o| {
            if !names_sslmode && on_this_host(o.get_host()) {
                o.ssl_mode(PgSslMode::Disable)
            } else {
                o
            }
        });
        opt.map_sqlx_postgres_pool_opts(|pool| {
            pool.after_connect(|_, _| {
                Box::pin(async {
                    no_delay_on_tcp_sockets();
                    Ok(())
                })
            })
        });
    }
    Database::connect(opt).await
}

/// The database driver does not set TCP_NODELAY on its sockets. A statement bigger than its
/// 8 KiB write buffer then leaves in two writes, and Nagle's algorithm holds the second until
/// the server's delayed ACK (40 ms on Linux): every large statement — an audit entry naming
/// a page of records, a long narrative — stalled 40 ms (measured: a queue page of 50 rows in
/// 12 ms, of 60 rows in 58 ms). So after each new database connection, every TCP socket of
/// the process gets TCP_NODELAY, as PostgreSQL sets it on its own side. On sockets that are
/// not TCP the call fails and changes nothing; on our HTTP sockets it is what we want anyway.
#[cfg(target_os = "linux")]
fn no_delay_on_tcp_sockets() {
    let Ok(fds) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    for entry in fds.flatten() {
        let is_socket = std::fs::read_link(entry.path())
            .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"));
        let fd = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok());
        if let (true, Some(fd)) = (is_socket, fd) {
            let on: libc::c_int = 1;
            // SAFETY: setsockopt only reads `on` for the given length; on an fd that is not (or
            // is no longer) a TCP socket it returns an error and touches nothing.
            unsafe {
                libc::setsockopt(
                    fd,
                    libc::IPPROTO_TCP,
                    libc::TCP_NODELAY,
                    (&on as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                );
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn no_delay_on_tcp_sockets() {}

/// A transaction that writes. Use it as the transaction itself (it dereferences to one and
/// runs statements); end it with `commit` or `rollback`.
///
/// On SQLite it also holds this process's turn to write that database file. SQLite lets one
/// writer in at a time; left to its busy handler, waiting writers sleep and retry (up to
/// 100 ms a sleep), so under load some waited half a second while others went ahead. Taking
/// turns on an async lock first queues this process's writers in arrival order; the
/// `BEGIN IMMEDIATE` after it then only waits for another process, if any.
pub struct WriteTxn {
    txn: DatabaseTransaction,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
    /// What to do once the transaction has committed (never if it rolls back).
    after_commit: Mutex<Vec<Box<dyn FnOnce() + Send>>>,
}

impl std::ops::Deref for WriteTxn {
    type Target = DatabaseTransaction;
    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

impl WriteTxn {
    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await?;
        let after = std::mem::take(&mut *self.after_commit.lock().expect("not poisoned"));
        for then in after {
            then();
        }
        Ok(())
    }

    /// Runs `then` once the transaction has committed, e.g. to tell this process's
    /// subscribers of a change only when it is durable.
    pub fn after_commit(&self, then: impl FnOnce() + Send + 'static) {
        self.after_commit
            .lock()
            .expect("not poisoned")
            .push(Box::new(then));
    }

    pub async fn rollback(self) -> Result<(), DbErr> {
        self.txn.rollback().await
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for WriteTxn {
    fn get_database_backend(&self) -> DatabaseBackend {
        self.txn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<sea_orm::ExecResult, DbErr> {
        self.txn.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<sea_orm::ExecResult, DbErr> {
        self.txn.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<sea_orm::QueryResult>, DbErr> {
        self.txn.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<sea_orm::QueryResult>, DbErr> {
        self.txn.query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.txn.support_returning()
    }
}

/// This process's write turn for each SQLite database file it has open.
fn sqlite_turn(db: &DatabaseConnection) -> Arc<tokio::sync::Mutex<()>> {
    static TURNS: LazyLock<Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>> =
        LazyLock::new(Default::default);
    let file = db
        .get_sqlite_connection_pool()
        .connect_options()
        .get_filename()
        .to_path_buf();
    TURNS
        .lock()
        .expect("write turns")
        .entry(file)
        .or_default()
        .clone()
}

/// Begin a transaction that will write. On SQLite it waits for this process's turn to write
/// the file, then takes SQLite's write lock up front (`BEGIN IMMEDIATE`), so two writers never
/// deadlock trying to upgrade a read lock.
pub async fn begin_write(db: &DatabaseConnection) -> Result<WriteTxn, DbErr> {
    let turn = match db.get_database_backend() {
        // As long as SQLite's own busy timeout: a writer that cannot get in fails rather than
        // waiting for ever.
        DatabaseBackend::Sqlite => Some(
            tokio::time::timeout(WRITE_WAIT, sqlite_turn(db).lock_owned())
                .await
                .map_err(|_| DbErr::Custom("timed out waiting to write to the database".into()))?,
        ),
        _ => None,
    };
    let txn = db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await?;
    Ok(WriteTxn {
        txn,
        _turn: turn,
        after_commit: Mutex::default(),
    })
}

/// A UUID column as the text `Uuid::to_string` gives (lower-case, hyphenated): SQLite
/// stores UUIDs as 16-byte blobs, PostgreSQL as `uuid`.
pub fn uuid_text(backend: DatabaseBackend, column: &str) -> String {
    match backend {
        DatabaseBackend::Sqlite => format!(
            "lower(substr(hex({column}), 1, 8) || '-' || substr(hex({column}), 9, 4) || '-' || \
             substr(hex({column}), 13, 4) || '-' || substr(hex({column}), 17, 4) || '-' || \
             substr(hex({column}), 21))"
        ),
        _ => format!("CAST({column} AS TEXT)"),
    }
}

/// A raw statement written with PostgreSQL's `$1` placeholders; on SQLite they become the
/// equivalent numbered `?1`. Used where one portable statement does what several ORM calls
/// would do non-atomically.
pub fn statement(backend: DatabaseBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DatabaseBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_string(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::on_this_host;

    #[test]
    fn only_the_loopback_and_unix_sockets_are_this_host() {
        for host in ["localhost", "127.0.0.1", "::1", "/var/run/postgresql"] {
            assert!(on_this_host(host), "{host}");
        }
        for host in [
            "db.council.internal",
            "10.0.0.5",
            "127.0.0.2.example.org",
            "",
        ] {
            assert!(!on_this_host(host), "{host}");
        }
    }
}
