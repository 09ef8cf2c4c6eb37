//! Group commit for SQLite: one writer thread applies the write closures queued by every
//! caller, several per transaction, each inside its own savepoint.
//!
//! SQLite has a single writer anyway. Serialising writes through one thread instead of a
//! mutex saves a thread hand-over per write, and committing a group of closures together
//! writes the pages they share to the WAL once instead of once per closure. Semantics stay
//! those of one transaction per closure: a closure that fails is rolled back to its savepoint
//! alone (its caller gets the error), and every caller gets its result only after the commit
//! that made its writes durable. If the commit itself fails, every closure of the group gets
//! that error.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Arc, Mutex};

use diesel::Connection;

use super::{DbConnection, DbError, Manager};
use diesel::r2d2::{Pool, PooledConnection};

/// Most closures committed together.
const MAX_GROUP: usize = 64;

/// What a queued closure leaves until the commit: a function that delivers its result,
/// told whether the group committed (and the commit error otherwise).
type Deliver = Box<dyn FnOnce(Result<(), DbError>) + Send>;
/// A queued closure, run against the group's transaction, or told why it could not run.
type Job = Box<dyn FnOnce(Result<&mut DbConnection, DbError>) -> Deliver + Send>;

/// The queue of the writer thread.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer thread; it takes a connection from `pool` when work arrives.
    /// `lock` is held while a group is written: synchronous writers (`Db::write_blocking`)
    /// take it too.
    pub fn start(pool: Pool<Manager>, lock: Arc<Mutex<()>>) -> Writer {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("db-writer".into())
            .spawn(move || run(pool, lock, rx))
            .expect("cannot start the database writer thread");
        Writer { jobs: tx }
    }

    /// Queues `f`; `reply` gets its result after the commit.
    fn submit<T, F>(&self, f: F, reply: impl FnOnce(Result<T, DbError>) + Send + 'static)
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, DbError> + Send + 'static,
    {
        let job: Job = Box::new(move |conn: Result<&mut DbConnection, DbError>| {
            // A savepoint of its own (diesel nests transactions as savepoints).
            let r = match conn {
                Ok(conn) => catch_unwind(AssertUnwindSafe(|| conn.transaction(|c| f(c))))
                    .unwrap_or_else(|_| Err(DbError::Internal("database task panicked".into()))),
                Err(e) => Err(e),
            };
            Box::new(move |commit: Result<(), DbError>| {
                reply(match commit {
                    Ok(()) => r,
                    Err(e) => Err(e),
                })
            })
        });
        if let Err(mpsc::SendError(job)) = self.jobs.send(job) {
            // The writer thread is gone (it only stops when every sender is dropped).
            drop(job);
        }
    }

    /// Runs `f` in the writer thread and waits for its committed result.
    pub async fn write<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, DbError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(f, move |r| {
            let _ = tx.send(r);
        });
        rx.await
            .unwrap_or_else(|_| Err(DbError::Internal("database writer stopped".into())))
    }
}

fn run(pool: Pool<Manager>, lock: Arc<Mutex<()>>, rx: mpsc::Receiver<Job>) {
    let mut conn: Option<PooledConnection<Manager>> = None;
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(j) => group.push(j),
                Err(_) => break,
            }
        }
        let c = match conn.take() {
            Some(c) => Ok(c),
            None => pool.get().map_err(|e| {
                DbError::Internal(format!("The service is temporarily unavailable: {e}"))
            }),
        };
        let mut c = match c {
            Ok(c) => c,
            Err(e) => {
                // Each caller is told, without its closure running.
                for job in group {
                    job(Err(e.clone()))(Ok(()));
                }
                continue;
            }
        };
        let mut delivers = Vec::with_capacity(group.len());
        let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
        let outer = c.conn.transaction(|tc| {
            for job in group.drain(..) {
                delivers.push(job(Ok(&mut *tc)));
            }
            Ok::<(), DbError>(())
        });
        drop(guard);
        for d in delivers {
            d(outer.clone());
        }
        // A connection whose transaction could not even commit is not reused.
        if outer.is_ok() {
            conn = Some(c);
        }
    }
}
