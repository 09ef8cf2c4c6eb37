//! The dispatcher of the engine shell: hands outbox rows and due scheduled jobs over, each
//! inside the transaction that applies it, and looks after actions running in the in-process
//! executor.
//!
//! * Outbox rows and jobs are locked in batches (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so
//!   several engine processes share the tables), applied, and deleted in one transaction: a
//!   crash at any point either loses nothing or leaves them to be handed over again. The
//!   events of a batch for one execution are applied with one command, and the actions of a
//!   batch take their leases together. Every action, even `std.noop`, goes to the executor:
//!   the benchmarks measure the path real actions take. A batch that fails is tried again
//!   with a savepoint per execution, then row by row.
//! * A hand-over that fails is retried with exponential backoff; one that can never succeed
//!   (undecodable, or still failing after [`MAX_ATTEMPTS`]) is logged and parked. An event the
//!   target execution rejects (e.g. pausing a finished sub-workflow) is dropped: it is a
//!   legitimate race, not a failure.
//! * An action handed to the executor holds a lease in `action_leases`, written in the
//!   hand-over transaction and extended by this process's heartbeat. The result is applied
//!   in one transaction with the lease's removal. A lease that expires means its executor
//!   died mid-action: the action is re-run when that is safe (the task has `safe-rerun: true`
//!   or the action is a side-effect-free std action) and otherwise failed with upstream's
//!   lost-heartbeat error. A SQLite file belongs to one process (embedded shape), so at
//!   start-up every lease held by another owner is treated as expired at once; on PostgreSQL
//!   leases of a dead process expire after [`LEASE_TTL_SECS`].
//! * Asynchronous actions (`std.async_noop`) give their lease up once started: they stay
//!   RUNNING until their result is PUT through the API.

use std::time::Duration;

use diesel::Connection;

use serde_json::json;

use super::controller::{ActionOutcome, Event};
use super::shell::{load_state, Message, Shell};
use super::state::State;
use crate::db::executions::{self as store, LeaseRow};
use crate::db::{DbConnection, DbError};
use crate::executor::{execute_in, ActionContext};

/// Failed hand-overs of one outbox row or job before it is parked (about 20 minutes of
/// retries with the backoff of [`store::retry_backoff`]).
pub const MAX_ATTEMPTS: i32 = 12;
/// How long a lease lives without a heartbeat.
pub const LEASE_TTL_SECS: i64 = 15;
const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);
const LEASE_CHECK_EVERY: Duration = Duration::from_secs(2);
/// The error an action gets when its executor vanished (upstream's heartbeat checker).
pub const HEARTBEAT_LOST: &str = "Heartbeat wasn't received.";

/// Most outbox rows (and, besides them, most due jobs) handed over in one transaction.
const HAND_OVER_BATCH: i64 = 200;

/// A batch of messages being handed over in one transaction.
#[derive(Default)]
struct Batch {
    /// Events per target execution, in arrival order, not applied yet.
    events: std::collections::BTreeMap<String, Vec<Event>>,
    /// Actions to start if still RUNNING (their leases), with their messages.
    checks: Vec<LeaseRow>,
    check_msgs: Vec<Message>,
    /// Actions to start after commit.
    spawn: Vec<Message>,
    /// Savepoints around the events of each execution (see [`Shell::hand_over_batch`]).
    careful: bool,
}

/// std actions without side effects: running one again after its executor died is harmless.
fn rerun_is_safe(base_action: &str) -> bool {
    matches!(
        base_action,
        "std.noop"
            | "std.echo"
            | "std.fail"
            | "std.async_noop"
            | "std.sleep"
            | "std.test_dict"
            | "std.javascript"
            | "std.js"
    )
}

fn lease_expiry() -> chrono::NaiveDateTime {
    crate::db::now() + chrono::Duration::seconds(LEASE_TTL_SECS)
}

impl Shell {
    /// Applies one message inside the caller's transaction; an action to run is returned, to
    /// be started after commit.
    fn apply_message(
        &self,
        conn: &mut DbConnection,
        msg: Message,
        raw: &str,
    ) -> Result<Option<Message>, DbError> {
        match msg {
            Message::Deliver {
                execution_id,
                event,
            } => {
                // A savepoint: a rejected event leaves the transaction usable for the
                // deletion of the message.
                match conn.transaction(|c| self.command_in(c, &execution_id, vec![event])) {
                    Err(DbError::Invalid(m)) | Err(DbError::Forbidden(m)) => {
                        tracing::debug!("event for {execution_id} rejected: {m}");
                        Ok(None)
                    }
                    r => r.map(|_| None),
                }
            }
            Message::StartSubWorkflow {
                parent_execution_id,
                workflow_execution_id,
                task_execution_id,
                workflow,
                input,
                params,
            } => self
                .start_child_in(
                    conn,
                    &parent_execution_id,
                    workflow_execution_id,
                    task_execution_id,
                    &workflow,
                    input,
                    params,
                )
                .map(|_| None),
            Message::RunAction {
                ref execution_id,
                ref action_execution_id,
                safe_rerun,
                ..
            } => {
                // The index row says whether it is still wanted (a cancelled execution's
                // actions are not started), without decoding the whole state.
                let running = store::get_action_execution(conn, None, action_execution_id)
                    .is_ok_and(|a| a.state == State::Running.as_str());
                if !running {
                    return Ok(None);
                }
                store::put_lease(
                    conn,
                    &LeaseRow {
                        action_execution_id: action_execution_id.clone(),
                        execution_id: execution_id.clone(),
                        owner: self.owner.to_string(),
                        safe_rerun,
                        message: raw.to_string(),
                        expires_at: lease_expiry(),
                    },
                )?;
                Ok(Some(msg))
            }
        }
    }

    /// Hands one outbox row over; false when there was nothing to do (gone, or claimed by
    /// another engine).
    async fn hand_over_outbox(&self, seq: i64) -> Result<bool, DbError> {
        let me = self.clone();
        let r = self
            .db
            .write(move |conn| {
                let Some(row) = store::claim_outbox(conn, seq)? else {
                    return Ok(None);
                };
                let run = match serde_json::from_str::<Message>(&row.message) {
                    Ok(msg) => me.apply_message(conn, msg, &row.message)?,
                    Err(e) => {
                        tracing::error!("outbox message {seq} parked: undecodable: {e}");
                        store::park_outbox(conn, seq, &format!("undecodable message: {e}"))?;
                        return Ok(Some(None));
                    }
                };
                store::delete_outbox(conn, seq)?;
                Ok(Some(run))
            })
            .await;
        match r {
            Ok(None) => Ok(false),
            Ok(Some(run)) => {
                if let Some(run) = run {
                    self.spawn_action(run);
                }
                Ok(true)
            }
            Err(e) => {
                let err = e.to_string();
                let parked = self
                    .db
                    .write(move |c| store::outbox_failed(c, seq, &err, MAX_ATTEMPTS))
                    .await?;
                if parked {
                    tracing::error!(
                        "outbox message {seq} parked after {MAX_ATTEMPTS} attempts: {e}"
                    );
                } else {
                    tracing::warn!("outbox message {seq} failed, will retry: {e}");
                }
                Ok(true)
            }
        }
    }

    /// Runs one due job; false when there was nothing to do.
    async fn run_job(&self, id: String) -> Result<bool, DbError> {
        let me = self.clone();
        let jid = id.clone();
        let r = self
            .db
            .write(move |conn| {
                let Some(job) = store::claim_job(conn, &jid, chrono::Utc::now().naive_utc())?
                else {
                    return Ok(None);
                };
                let run = match serde_json::from_str::<Message>(&job.message) {
                    Ok(msg) => me.apply_message(conn, msg, &job.message)?,
                    Err(e) => {
                        tracing::error!("scheduled job {jid} parked: undecodable: {e}");
                        store::park_job(conn, &jid, &format!("undecodable message: {e}"))?;
                        return Ok(Some(None));
                    }
                };
                store::delete_job(conn, &jid)?;
                Ok(Some(run))
            })
            .await;
        match r {
            Ok(None) => Ok(false),
            Ok(Some(run)) => {
                if let Some(run) = run {
                    self.spawn_action(run);
                }
                Ok(true)
            }
            Err(e) => {
                let err = e.to_string();
                let jid = id.clone();
                let parked = self
                    .db
                    .write(move |c| store::job_failed(c, &jid, &err, MAX_ATTEMPTS))
                    .await?;
                if parked {
                    tracing::error!("scheduled job {id} parked after {MAX_ATTEMPTS} attempts: {e}");
                } else {
                    tracing::warn!("scheduled job {id} failed, will retry: {e}");
                }
                Ok(true)
            }
        }
    }

    /// Runs an action (a [`Message::RunAction`] just handed over) in the in-process executor
    /// and applies its result.
    fn spawn_action(&self, msg: Message) {
        let Message::RunAction {
            execution_id,
            action_execution_id: aid,
            base_action,
            input,
            task_execution_id,
            workflow_name,
            timeout,
            ..
        } = msg
        else {
            return;
        };
        let ctx = ActionContext {
            action_execution_id: aid.clone(),
            workflow_execution_id: Some(execution_id.clone()),
            task_execution_id,
            workflow_name,
            timeout,
        };
        let me = self.clone();
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            // Upstream waits for a synchronous action that overruns the task's timeout and
            // then reports the timeout instead of its result.
            let outcome = execute_in(&ctx, &base_action, &input)
                .await
                .map(|o| match ctx.timeout {
                    Some(t) if started.elapsed().as_secs_f64() > t as f64 => {
                        crate::executor::timed_out(&base_action, &aid, t)
                    }
                    _ => o,
                });
            match outcome {
                Some(outcome) => me.apply_result(&execution_id, &aid, outcome).await,
                None => {
                    // Asynchronous: the result comes through the API, whenever.
                    if let Err(e) = me.db.write(move |c| store::delete_lease(c, &aid)).await {
                        tracing::warn!("lease of an async action not released: {e}");
                    }
                }
            }
        });
    }

    /// Applies an action result (the lease goes in the same transaction); transient failures
    /// are retried with backoff, so a busy database does not strand the action.
    async fn apply_result(&self, execution_id: &str, aid: &str, outcome: ActionOutcome) {
        let mut wait = Duration::from_millis(100);
        for attempt in 1.. {
            let ev = Event::ActionCompleted {
                action_execution_id: aid.to_string(),
                outcome: outcome.clone(),
            };
            match self.command(execution_id, ev).await {
                Ok(()) => return,
                Err(DbError::Internal(e)) if attempt < 30 => {
                    tracing::warn!("action result for {execution_id} not applied yet: {e}");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
                Err(e) => {
                    tracing::error!("action result for {execution_id} dropped: {e}");
                    let aid = aid.to_string();
                    let _ = self.db.write(move |c| store::delete_lease(c, &aid)).await;
                    return;
                }
            }
        }
    }

    /// Hands over every due outbox row and every due job; returns how many were handled.
    ///
    /// They are handed over in batches, each in one transaction ([`Shell::hand_over_batch`]);
    /// when a batch fails, its rows are handed over one by one, so a row that cannot be
    /// applied gets its own retry (and eventually parking) without holding the others back.
    pub async fn pump(&self) -> Result<usize, DbError> {
        let mut n = 0;
        loop {
            let k = match self.hand_over_batch(false).await {
                Ok(k) => k,
                Err(e) => {
                    tracing::debug!("batched hand-over failed, again with savepoints: {e}");
                    match self.hand_over_batch(true).await {
                        Ok(k) => k,
                        Err(e) => {
                            tracing::debug!("batched hand-over failed, one by one: {e}");
                            self.pump_one_by_one().await?
                        }
                    }
                }
            };
            if k == 0 {
                return Ok(n);
            }
            n += k;
        }
    }

    /// One pass over the due outbox rows and jobs, each in its own transaction; returns how
    /// many were handled.
    async fn pump_one_by_one(&self) -> Result<usize, DbError> {
        let now = chrono::Utc::now().naive_utc();
        let rows = self
            .db
            .read(move |conn| store::due_outbox(conn, now, HAND_OVER_BATCH))
            .await?;
        let jobs = self
            .db
            .read(move |conn| store::due_jobs(conn, now, HAND_OVER_BATCH))
            .await?;
        let mut n = 0;
        for seq in rows {
            if self.hand_over_outbox(seq).await? {
                n += 1;
            }
        }
        for id in jobs {
            if self.run_job(id).await? {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Claims up to [`HAND_OVER_BATCH`] due outbox rows and as many due jobs, applies them in
    /// one transaction and deletes them in it; starts the actions handed over after commit.
    /// Returns how many rows and jobs were handled (0: nothing was due).
    ///
    /// Without `careful`, any failure (even a rejected event) fails the whole batch: no
    /// savepoint per execution, the common case. With it, the events of each execution are
    /// applied under a savepoint, and a rejected event is dropped.
    async fn hand_over_batch(&self, careful: bool) -> Result<usize, DbError> {
        let me = self.clone();
        let now = chrono::Utc::now().naive_utc();
        let (n, spawn) = self
            .db
            .write(move |conn| {
                let rows = store::claim_due_outbox(conn, now, HAND_OVER_BATCH)?;
                let jobs = store::claim_due_jobs(conn, now, HAND_OVER_BATCH)?;
                let n = rows.len() + jobs.len();
                if n == 0 {
                    return Ok((0, Vec::new()));
                }
                let mut batch = Batch {
                    careful,
                    ..Batch::default()
                };
                let mut done_rows = Vec::with_capacity(rows.len());
                for row in rows {
                    match serde_json::from_str::<Message>(&row.message) {
                        Ok(msg) => {
                            me.batch_message(conn, &mut batch, msg, row.message)?;
                            done_rows.push(row.seq);
                        }
                        Err(e) => {
                            tracing::error!("outbox message {} parked: undecodable: {e}", row.seq);
                            store::park_outbox(
                                conn,
                                row.seq,
                                &format!("undecodable message: {e}"),
                            )?;
                        }
                    }
                }
                let mut done_jobs = Vec::with_capacity(jobs.len());
                for job in jobs {
                    match serde_json::from_str::<Message>(&job.message) {
                        Ok(msg) => {
                            me.batch_message(conn, &mut batch, msg, job.message)?;
                            done_jobs.push(job.id);
                        }
                        Err(e) => {
                            tracing::error!("scheduled job {} parked: undecodable: {e}", job.id);
                            store::park_job(conn, &job.id, &format!("undecodable message: {e}"))?;
                        }
                    }
                }
                me.flush_checks(conn, &mut batch)?;
                me.flush_events(conn, &mut batch)?;
                store::delete_outbox_rows(conn, &done_rows)?;
                store::delete_jobs(conn, &done_jobs)?;
                Ok((n, batch.spawn))
            })
            .await?;
        for msg in spawn {
            self.spawn_action(msg);
        }
        Ok(n)
    }

    /// Adds one message of a batch, applying first whatever of the batch it must follow.
    /// Events for one execution are gathered and applied together; so are the checks of
    /// actions to start. Order per execution is kept: an event is applied after the start
    /// check of an earlier action of its execution, and an action is checked after the
    /// earlier events of its execution.
    fn batch_message(
        &self,
        conn: &mut DbConnection,
        batch: &mut Batch,
        msg: Message,
        raw: String,
    ) -> Result<(), DbError> {
        match msg {
            Message::Deliver {
                execution_id,
                event,
            } => {
                if batch.checks.iter().any(|c| c.execution_id == execution_id) {
                    self.flush_checks(conn, batch)?;
                }
                batch.events.entry(execution_id).or_default().push(event);
            }
            Message::RunAction {
                execution_id,
                action_execution_id,
                base_action,
                input,
                safe_rerun,
                task_execution_id,
                workflow_name,
                timeout,
            } => {
                if batch.events.contains_key(&execution_id) {
                    self.flush_events(conn, batch)?;
                }
                batch.checks.push(LeaseRow {
                    action_execution_id: action_execution_id.clone(),
                    execution_id: execution_id.clone(),
                    owner: self.owner.to_string(),
                    safe_rerun,
                    message: raw,
                    expires_at: lease_expiry(),
                });
                batch.check_msgs.push(Message::RunAction {
                    execution_id,
                    action_execution_id,
                    base_action,
                    input,
                    safe_rerun,
                    task_execution_id,
                    workflow_name,
                    timeout,
                });
            }
            Message::StartSubWorkflow { .. } => {
                self.flush_checks(conn, batch)?;
                self.flush_events(conn, batch)?;
                self.apply_message(conn, msg, &raw)?;
            }
        }
        Ok(())
    }

    /// Takes the leases of the batch's actions still RUNNING (a cancelled execution's actions
    /// are not started); they start after commit.
    fn flush_checks(&self, conn: &mut DbConnection, batch: &mut Batch) -> Result<(), DbError> {
        if batch.checks.is_empty() {
            return Ok(());
        }
        let checks = std::mem::take(&mut batch.checks);
        let msgs = std::mem::take(&mut batch.check_msgs);
        let ids: Vec<&str> = checks
            .iter()
            .map(|c| c.action_execution_id.as_str())
            .collect();
        let running = store::running_actions(conn, &ids)?;
        let (leases, msgs): (Vec<LeaseRow>, Vec<Message>) = checks
            .into_iter()
            .zip(msgs)
            .filter(|(l, _)| running.contains(&l.action_execution_id))
            .unzip();
        store::put_leases(conn, &leases)?;
        batch.spawn.extend(msgs);
        Ok(())
    }

    /// Applies the gathered events, one command per execution (in id order, so two engines
    /// lock executions in the same order). In a careful batch, the events of an execution
    /// with a rejected event are applied again event by event: a rejected event is dropped (a
    /// legitimate race, e.g. pausing a finished sub-workflow), the others are applied.
    fn flush_events(&self, conn: &mut DbConnection, batch: &mut Batch) -> Result<(), DbError> {
        for (execution_id, events) in std::mem::take(&mut batch.events) {
            if !batch.careful {
                self.command_in(conn, &execution_id, events)?;
                continue;
            }
            if events.len() > 1 {
                // A savepoint: a rejected event leaves the transaction usable.
                match conn.transaction(|c| self.command_in(c, &execution_id, events.clone())) {
                    Err(DbError::Invalid(_)) | Err(DbError::Forbidden(_)) => {}
                    r => {
                        r?;
                        continue;
                    }
                }
            }
            for event in events {
                match conn.transaction(|c| self.command_in(c, &execution_id, vec![event])) {
                    Err(DbError::Invalid(m)) | Err(DbError::Forbidden(m)) => {
                        tracing::debug!("event for {execution_id} rejected: {m}");
                    }
                    r => r?,
                }
            }
        }
        Ok(())
    }

    /// Recovers the actions whose lease expired (their executor is gone); returns how many.
    pub async fn recover_orphaned_actions(&self) -> Result<usize, DbError> {
        let now = chrono::Utc::now().naive_utc();
        let ids = self
            .db
            .read(move |conn| store::expired_leases(conn, now, 100))
            .await?;
        let mut n = 0;
        for aid in ids {
            let me = self.clone();
            let r = self
                .db
                .write(move |conn| me.recover_in(conn, &aid, now))
                .await;
            match r {
                Ok(true) => n += 1,
                Ok(false) => {}
                Err(e) => tracing::warn!("orphaned action not recovered yet: {e}"),
            }
        }
        if n > 0 {
            self.wake.notify_one();
        }
        Ok(n)
    }

    fn recover_in(
        &self,
        conn: &mut DbConnection,
        aid: &str,
        now: chrono::NaiveDateTime,
    ) -> Result<bool, DbError> {
        let Some(lease) = store::claim_expired_lease(conn, aid, now)? else {
            return Ok(false);
        };
        store::delete_lease(conn, aid)?;
        let Some(row) = store::find_execution(conn, None, &lease.execution_id)? else {
            return Ok(false);
        };
        let st = load_state(conn, &row)?;
        if !st
            .actions
            .iter()
            .any(|a| a.id == aid && a.state == State::Running)
        {
            return Ok(false);
        }
        let base = match serde_json::from_str::<Message>(&lease.message) {
            Ok(Message::RunAction { base_action, .. }) => base_action,
            _ => String::new(),
        };
        if lease.safe_rerun || rerun_is_safe(&base) {
            tracing::info!("action execution {aid} ({base}) lost its executor: running it again");
            store::push_outbox(conn, &lease.execution_id, &lease.message)?;
        } else {
            tracing::warn!("action execution {aid} ({base}) lost its executor: failing it");
            let ev = Event::ActionCompleted {
                action_execution_id: aid.to_string(),
                outcome: ActionOutcome::Error(json!(HEARTBEAT_LOST)),
            };
            match conn.transaction(|c| self.command_in(c, &lease.execution_id, vec![ev])) {
                Err(DbError::Invalid(m)) | Err(DbError::Forbidden(m)) => {
                    tracing::warn!("lost-heartbeat failure of {aid} rejected: {m}");
                }
                r => r?,
            }
        }
        Ok(true)
    }

    /// Runs the dispatcher forever (woken after every commit, polling jobs every 100 ms),
    /// and beside it, so a busy dispatcher cannot starve them, the lease check (every 2 s)
    /// and this executor's heartbeat.
    pub fn spawn_dispatcher(&self) -> tokio::task::JoinHandle<()> {
        let beat = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(HEARTBEAT_EVERY).await;
                let owner = beat.owner.to_string();
                let r = beat
                    .db
                    .write(move |c| store::renew_leases(c, &owner, lease_expiry()))
                    .await;
                if let Err(e) = r {
                    tracing::warn!("executor heartbeat: {e}");
                }
            }
        });
        let checker = self.clone();
        tokio::spawn(async move {
            if checker.db.is_sqlite() {
                let owner = checker.owner.to_string();
                match checker
                    .db
                    .write(move |c| store::expire_leases_of_others(c, &owner))
                    .await
                {
                    Ok(n) if n > 0 => {
                        tracing::info!("{n} action(s) were running when the server stopped")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!("start-up lease check: {e}"),
                }
            }
            loop {
                if let Err(e) = checker.recover_orphaned_actions().await {
                    tracing::warn!("engine lease check: {e}");
                }
                tokio::time::sleep(LEASE_CHECK_EVERY).await;
            }
        });
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = me.pump().await {
                    tracing::warn!("engine dispatcher: {e}");
                }
                let _ = tokio::time::timeout(Duration::from_millis(100), me.wake.notified()).await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DatabaseUrl;
    use crate::db::executions::ExecutionRow;
    use crate::db::{new_id, now, Caller, Db};
    use crate::engine::shell::StartOptions;
    use serde_json::Value;

    fn fresh_db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite(dir.path().join("t.sqlite"));
        let db = Db::connect(&url, 2).unwrap();
        db.run_migrations().unwrap();
        (dir, db)
    }

    fn caller() -> Caller {
        Caller {
            project_id: crate::db::DEFAULT_PROJECT.into(),
            is_admin: false,
        }
    }

    fn workflow(name: &str, body: Value) -> crate::db::models::WorkflowRow {
        crate::db::models::WorkflowRow {
            id: new_id(),
            name: name.into(),
            namespace: String::new(),
            project_id: crate::db::DEFAULT_PROJECT.into(),
            scope: "private".into(),
            is_system: false,
            definition: String::new(),
            spec: body.to_string(),
            input: None,
            interface: None,
            checksum: None,
            tags: None,
            created_at: now(),
            updated_at: None,
        }
    }

    async fn reload(db: &Db, id: &str) -> ExecutionRow {
        let id = id.to_string();
        db.read(move |c| store::get_execution(c, None, &id))
            .await
            .unwrap()
    }

    async fn state_of(db: &Db, row: &ExecutionRow) -> crate::engine::controller::WorkflowState {
        let row = row.clone();
        db.read(move |c| load_state(c, &row)).await.unwrap()
    }

    /// Starts a one-task workflow, then plays "handed to an executor of a process that died":
    /// the RunAction row is gone and an expired lease of another owner remains.
    async fn orphan(db: &Db, task: Value, base_action: &str) -> (Shell, ExecutionRow) {
        let first = Shell::new(db.clone());
        let row = first
            .start_workflow(
                caller(),
                workflow("wf", json!({"tasks": {"a": task}})),
                StartOptions::default(),
            )
            .await
            .unwrap();
        let pending = db.read(|c| store::unsent_outbox(c, 10)).await.unwrap();
        assert_eq!(pending.len(), 1);
        let msg: Message = serde_json::from_str(&pending[0].message).unwrap();
        let Message::RunAction {
            action_execution_id,
            safe_rerun,
            ..
        } = msg.clone()
        else {
            panic!("{msg:?}")
        };
        let mut raw: Value = serde_json::from_str(&pending[0].message).unwrap();
        raw["base_action"] = json!(base_action);
        let lease = LeaseRow {
            action_execution_id,
            execution_id: row.id.clone(),
            owner: "dead-process".into(),
            safe_rerun,
            message: raw.to_string(),
            expires_at: now() + chrono::Duration::seconds(60),
        };
        let seq = pending[0].seq;
        db.write(move |c| {
            store::delete_outbox(c, seq)?;
            store::put_lease(c, &lease)
        })
        .await
        .unwrap();
        let second = Shell::new(db.clone());
        // A live lease is left alone …
        assert_eq!(second.recover_orphaned_actions().await.unwrap(), 0);
        // … until its owner is known dead (SQLite start-up) or it expires.
        let owner = second.owner.to_string();
        db.write(move |c| store::expire_leases_of_others(c, &owner))
            .await
            .unwrap();
        (second, row)
    }

    async fn settle(shell: &Shell, id: &str) -> ExecutionRow {
        for _ in 0..200 {
            shell.pump().await.unwrap();
            let row = reload(&shell.db, id).await;
            if row.state != "RUNNING" {
                return row;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        reload(&shell.db, id).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_orphaned_action_with_side_effects_fails_like_a_lost_heartbeat() {
        let (_d, db) = fresh_db();
        let (shell, row) = orphan(&db, json!({"action": "std.echo output=1"}), "std.ssh").await;
        assert_eq!(shell.recover_orphaned_actions().await.unwrap(), 1);
        let after = settle(&shell, &row.id).await;
        assert_eq!(after.state, "ERROR");
        let st = state_of(&db, &after).await;
        assert_eq!(st.actions.len(), 1, "not run again");
        assert_eq!(st.actions[0].state, State::Error);
        assert_eq!(
            st.actions[0].output,
            Some(json!({"result": HEARTBEAT_LOST}))
        );
        let leases = db
            .read(|c| store::expired_leases(c, now() + chrono::Duration::days(1), 10))
            .await
            .unwrap();
        assert!(leases.is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_orphaned_side_effect_free_or_safe_rerun_action_runs_again() {
        let (_d, db) = fresh_db();
        let (shell, row) = orphan(&db, json!({"action": "std.echo output=1"}), "std.echo").await;
        assert_eq!(shell.recover_orphaned_actions().await.unwrap(), 1);
        let after = settle(&shell, &row.id).await;
        assert_eq!(after.state, "SUCCESS");
        let st = state_of(&db, &after).await;
        assert_eq!(
            st.actions.len(),
            1,
            "the same action execution, not a second one"
        );

        let (_d, db) = fresh_db();
        let task = json!({"action": "std.echo output=2", "safe-rerun": true});
        let (shell, row) = orphan(&db, task, "std.ssh").await;
        assert_eq!(shell.recover_orphaned_actions().await.unwrap(), 1);
        // The "std.ssh" message now runs in the in-process executor, which does not know it:
        // the point is that it was handed over again rather than failed as lost.
        let after = settle(&shell, &row.id).await;
        let st = state_of(&db, &after).await;
        assert_eq!(st.actions.len(), 1);
        assert_ne!(
            st.actions[0].output,
            Some(json!({"result": HEARTBEAT_LOST}))
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_undecodable_outbox_row_is_parked_and_a_failing_job_waits_for_a_retry() {
        let (_d, db) = fresh_db();
        db.write(|c| store::push_outbox(c, "x", "{not json"))
            .await
            .unwrap();
        let shell = Shell::new(db.clone());
        assert_eq!(shell.pump().await.unwrap(), 1);
        assert_eq!(
            shell.pump().await.unwrap(),
            0,
            "parked rows are not retried"
        );
        assert!(db
            .read(|c| store::unsent_outbox(c, 10))
            .await
            .unwrap()
            .is_empty());

        // A job whose event cannot be applied (corrupt target state) stays, with a backoff.
        db.write(|c| {
            let row = ExecutionRow {
                id: "broken".into(),
                workflow_name: "wf".into(),
                workflow_id: None,
                workflow_namespace: String::new(),
                description: String::new(),
                tags: None,
                state: "RUNNING".into(),
                state_info: None,
                params: None,
                input: None,
                output: None,
                task_execution_id: None,
                root_execution_id: None,
                parent_execution_id: None,
                project_id: crate::db::DEFAULT_PROJECT.into(),
                scope: "private".into(),
                engine_state: "{corrupt".into(),
                created_at: now(),
                updated_at: None,
            };
            store::insert_execution(c, &row)?;
            let msg = Message::Deliver {
                execution_id: "broken".into(),
                event: Event::Pause,
            };
            store::insert_job(
                c,
                &store::JobRow {
                    id: "j1".into(),
                    execution_id: "broken".into(),
                    message: serde_json::to_string(&msg).unwrap(),
                    run_at: now() - chrono::Duration::seconds(1),
                    created_at: now(),
                },
            )
        })
        .await
        .unwrap();
        assert_eq!(shell.pump().await.unwrap(), 1);
        let due_now = db
            .read(|c| store::due_jobs(c, chrono::Utc::now().naive_utc(), 10))
            .await
            .unwrap();
        assert!(due_now.is_empty(), "backing off");
        let later = db
            .read(|c| store::due_jobs(c, now() + chrono::Duration::seconds(5), 10))
            .await
            .unwrap();
        assert_eq!(later, vec!["j1".to_string()], "kept for the retry");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_drops_rejected_events_and_retries_only_a_failing_row() {
        let (_d, db) = fresh_db();
        let shell = Shell::new(db.clone());
        let start = |name: &str, action: &str| {
            let wf = workflow(name, json!({"tasks": {"a": {"action": action}}}));
            shell.start_workflow(caller(), wf, StartOptions::default())
        };
        let waiting = start("w", "std.async_noop").await.unwrap();
        let done = start("d", "std.noop").await.unwrap();
        assert_eq!(settle(&shell, &done.id).await.state, "SUCCESS");
        assert_eq!(reload(&db, &waiting.id).await.state, "RUNNING");
        let mut broken = reload(&db, &done.id).await;
        broken.id = "broken".into();
        broken.state = "RUNNING".into();
        broken.engine_state = "{corrupt".into();
        let msgs: Vec<(String, String)> = [&done.id, &broken.id, &waiting.id, &waiting.id]
            .into_iter()
            .map(|to| {
                let m = Message::Deliver {
                    execution_id: to.clone(),
                    event: Event::Pause,
                };
                (to.clone(), serde_json::to_string(&m).unwrap())
            })
            .collect();
        db.write(move |c| {
            store::insert_execution(c, &broken)?;
            for (to, m) in &msgs {
                store::push_outbox(c, to, m)?;
            }
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(shell.pump().await.unwrap(), 4);
        assert_eq!(reload(&db, &waiting.id).await.state, "PAUSED");
        assert_eq!(reload(&db, &done.id).await.state, "SUCCESS");
        let left = db.read(|c| store::unsent_outbox(c, 10)).await.unwrap();
        assert_eq!(left.len(), 1, "only the failing row stays, for a retry");
        assert_eq!(left[0].execution_id, "broken");
        assert_eq!(shell.pump().await.unwrap(), 0, "backing off");
    }
}
