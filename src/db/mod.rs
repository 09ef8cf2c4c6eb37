//! Storage: diesel over SQLite and PostgreSQL through one code path.
//!
//! * [`DbConnection`] is a diesel `MultiConnection` over both backends; all queries are written
//!   once against it.
//! * [`Db`] owns an r2d2 pool; [`Db::read`] / [`Db::write`] run a closure on a blocking thread
//!   (diesel is synchronous), `write` inside one transaction (all-or-nothing). On SQLite writes
//!   go through one writer thread with group commit ([`writer`]; SQLite has a single writer
//!   anyway), and synchronous writers share its lock, which also avoids `SQLITE_BUSY`
//!   upgrades of deferred transactions.
//! * Migrations for both backends are embedded and applied by [`Db::run_migrations`].
//! * [`list`] is the generic collection query (filters, visibility, keyset pagination, sorting)
//!   every resource uses; [`definitions`] holds the queries of workbooks, workflows, ad-hoc
//!   actions and environments.

pub mod definitions;
pub mod executions;
pub mod expiration;
pub mod list;
pub mod maintenance;
pub mod models;
pub mod schema;
pub mod triggers;
pub mod writer;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, Pool, PooledConnection, R2D2Connection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::config::DatabaseUrl;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// One connection to either backend. Write queries against this type.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// The diesel backend of [`DbConnection`] (for `QueryableByName`, boxed queries, …).
pub type Backend = <DbConnection as Connection>::Backend;

impl DbConnection {
    pub fn is_postgres(&self) -> bool {
        matches!(self, DbConnection::Pg(_))
    }
}

/// Errors of the storage layer. The variants carry the upstream fault string and map onto
/// HTTP statuses in the API (`NotFound` 404, `Duplicate` 409, `Invalid` 400, `Forbidden` 403,
/// `Internal` 500).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbError {
    NotFound(String),
    Duplicate(String),
    Invalid(String),
    Forbidden(String),
    Internal(String),
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbError::NotFound(m)
            | DbError::Duplicate(m)
            | DbError::Invalid(m)
            | DbError::Forbidden(m)
            | DbError::Internal(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for DbError {}

impl From<diesel::result::Error> for DbError {
    fn from(e: diesel::result::Error) -> Self {
        // PostgreSQL refuses values wider than a column or an index entry: that is the
        // request's fault (SQLite stores them), so a 400 rather than a 500.
        if let diesel::result::Error::DatabaseError(_, info) = &e {
            let m = info.message();
            if m.starts_with("value too long for type")
                || m.starts_with("index row size")
                || m.starts_with("index row requires")
            {
                return DbError::Invalid(format!("Database error: {m}"));
            }
        }
        DbError::Internal(format!("Database error: {e}"))
    }
}

/// Whether a diesel error is a unique-constraint violation.
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// A pooled connection and when it last went back to the pool healthy.
pub struct PoolConn {
    conn: DbConnection,
    returned: Instant,
}

/// A connection handed back less than this long ago is not pinged again on checkout (the
/// ping is a round trip per request on PostgreSQL); older ones are.
const TRUST_RECENTLY_USED: Duration = Duration::from_secs(1);

/// Builds connections of the configured backend (never guesses from the URL text).
#[derive(Debug, Clone)]
pub struct Manager {
    url: DatabaseUrl,
}

impl ManageConnection for Manager {
    type Connection = PoolConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<PoolConn, r2d2::Error> {
        Ok(PoolConn {
            conn: self.open()?,
            returned: Instant::now(),
        })
    }

    fn is_valid(&self, conn: &mut PoolConn) -> Result<(), r2d2::Error> {
        if conn.returned.elapsed() < TRUST_RECENTLY_USED {
            return Ok(());
        }
        conn.conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut PoolConn) -> bool {
        if std::thread::panicking() || conn.conn.is_broken() {
            return true;
        }
        conn.returned = Instant::now();
        false
    }
}

impl Manager {
    fn open(&self) -> Result<DbConnection, r2d2::Error> {
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let mut c = SqliteConnection::establish(&path.to_string_lossy())
                    .map_err(r2d2::Error::ConnectionError)?;
                c.batch_execute(
                    "PRAGMA busy_timeout = 30000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                     PRAGMA temp_store = MEMORY;",
                )
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(c))
            }
            DatabaseUrl::Postgres(url) => PgConnection::establish(url)
                .map(DbConnection::Pg)
                .map_err(r2d2::Error::ConnectionError),
        }
    }
}

/// Connections a file/server database pool keeps open even when idle.
const WARM_CONNECTIONS: u32 = 4;

/// The database handle shared by the API, the engine and the scheduler.
#[derive(Clone)]
pub struct Db {
    pool: Pool<Manager>,
    url: DatabaseUrl,
    write_lock: Arc<Mutex<()>>,
    /// SQLite files: the group-commit writer thread of [`Db::write`].
    writer: Option<writer::Writer>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Db({})", self.url)
    }
}

impl Db {
    /// Opens a pool. Fails (with a readable message) when the database cannot be reached.
    pub fn connect(url: &DatabaseUrl, max_pool_size: u32) -> Result<Db, DbError> {
        let size = match url {
            DatabaseUrl::Sqlite(p) if p.as_os_str() == ":memory:" => 1,
            _ => max_pool_size.max(1),
        };
        let manager = Manager { url: url.clone() };
        // Fail fast with libpq's/SQLite's own reason instead of r2d2's retry timeout.
        let first = manager.open().map_err(|e| {
            let reason = e.to_string();
            let reason = reason
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            DbError::Internal(format!("cannot connect to the database {url}: {reason}"))
        })?;
        drop(first);
        let memory = matches!(url, DatabaseUrl::Sqlite(p) if p.as_os_str() == ":memory:");
        let pool = Pool::builder()
            .max_size(size)
            // An in-memory database lives only as long as its single connection. Otherwise a
            // few connections are opened ahead (in the background) and kept, so that the
            // first requests do not pay for connection set-up (TLS + auth on PostgreSQL).
            .min_idle(Some(if memory {
                1
            } else {
                size.min(WARM_CONNECTIONS)
            }))
            .idle_timeout(if memory {
                None
            } else {
                Some(Duration::from_secs(600))
            })
            .max_lifetime(if memory {
                None
            } else {
                Some(Duration::from_secs(1800))
            })
            .connection_timeout(Duration::from_secs(30))
            .build_unchecked(manager);
        let write_lock = Arc::new(Mutex::new(()));
        // An in-memory database has one connection, which the writer thread would keep.
        let writer = (url.is_sqlite() && !memory)
            .then(|| writer::Writer::start(pool.clone(), write_lock.clone()));
        Ok(Db {
            pool,
            url: url.clone(),
            write_lock,
            writer,
        })
    }

    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    pub fn is_sqlite(&self) -> bool {
        self.url.is_sqlite()
    }

    fn conn(&self) -> Result<PooledConnection<Manager>, DbError> {
        self.pool
            .get()
            .map_err(|e| DbError::Internal(format!("The service is temporarily unavailable: {e}")))
    }

    /// Applies pending migrations; returns the names of those applied.
    pub fn run_migrations(&self) -> Result<Vec<String>, DbError> {
        let _guard = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut conn = self.conn()?;
        let applied = match &mut conn.conn {
            DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
            DbConnection::Pg(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS),
        }
        .map_err(|e| DbError::Internal(format!("database migration failed: {e}")))?;
        Ok(applied.into_iter().map(|v| v.to_string()).collect())
    }

    /// Runs `f` on a pooled connection without a transaction (reads).
    pub fn read_blocking<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let mut conn = self.conn()?;
        f(&mut conn.conn)
    }

    /// Runs `f` inside one transaction: everything it wrote commits together or not at all.
    pub fn write_blocking<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        // Synchronous callers run on their own connection; the lock keeps them and the
        // writer thread from writing at the same time.
        let _guard = if self.is_sqlite() {
            Some(self.write_lock.lock().unwrap_or_else(|e| e.into_inner()))
        } else {
            None
        };
        let mut conn = self.conn()?;
        conn.conn.transaction(|c| f(c))
    }

    /// [`Db::read_blocking`] on tokio's blocking pool.
    pub async fn read<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, DbError> + Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.read_blocking(f))
            .await
            .map_err(|e| DbError::Internal(format!("database task failed: {e}")))?
    }

    /// [`Db::write_blocking`] on tokio's blocking pool.
    pub async fn write<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, DbError> + Send + 'static,
    {
        if let Some(w) = &self.writer {
            return w.write(f).await;
        }
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.write_blocking(f))
            .await
            .map_err(|e| DbError::Internal(format!("database task failed: {e}")))?
    }
}

/// The current time at second precision (what every `created_at`/`updated_at` stores).
pub fn now() -> chrono::NaiveDateTime {
    use chrono::Timelike;
    let n = chrono::Utc::now().naive_utc();
    n.with_nanosecond(0).unwrap_or(n)
}

/// A fresh UUID4 id (dashed, lowercase).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The response format of timestamps: `2024-05-01 13:37:00`.
pub fn format_ts(ts: &chrono::NaiveDateTime) -> String {
    use chrono::{Datelike, Timelike};
    let year = ts.year();
    if !(0..=9999).contains(&year) {
        return ts.format("%Y-%m-%d %H:%M:%S").to_string();
    }
    // What the format above writes, without parsing the format string on every call (list
    // responses format thousands of timestamps).
    let mut b = *b"0000-00-00 00:00:00";
    let mut put = |at: usize, v: u32, width: usize| {
        let mut v = v;
        for i in (0..width).rev() {
            b[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, year as u32, 4);
    put(5, ts.month(), 2);
    put(8, ts.day(), 2);
    put(11, ts.hour(), 2);
    put(14, ts.minute(), 2);
    // A leap second (nanosecond >= 1e9) still prints as :60 with chrono's %S.
    put(
        17,
        ts.second() + u32::from(ts.nanosecond() >= 1_000_000_000),
        2,
    );
    String::from_utf8_lossy(&b).into_owned()
}

/// Who is asking: decides row visibility (api.md 1.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub project_id: String,
    pub is_admin: bool,
}

/// The project every row gets when authentication is disabled.
pub const DEFAULT_PROJECT: &str = "<default-project>";

impl Caller {
    /// Visibility restriction for lookups: `None` for admins (they see all projects).
    pub fn visibility(&self) -> Option<String> {
        if self.is_admin {
            None
        } else {
            Some(self.project_id.clone())
        }
    }
}

#[cfg(test)]
mod format_tests {
    use super::format_ts;
    use chrono::{NaiveDate, NaiveDateTime};

    fn ts(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, ns: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .unwrap()
            .and_hms_nano_opt(h, mi, s, ns)
            .unwrap()
    }

    #[test]
    fn format_ts_writes_what_chrono_writes() {
        for t in [
            ts(2024, 5, 1, 13, 37, 0, 0),
            ts(1, 1, 1, 0, 0, 0, 0),
            ts(9999, 12, 31, 23, 59, 59, 999_999_999),
            ts(2016, 12, 31, 23, 59, 59, 1_500_000_000),
            ts(-5, 3, 4, 5, 6, 7, 0),
            ts(12345, 3, 4, 5, 6, 7, 0),
        ] {
            assert_eq!(format_ts(&t), t.format("%Y-%m-%d %H:%M:%S").to_string());
        }
    }
}
