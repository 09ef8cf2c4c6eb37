//! Storage of workflow executions (with the engine's state of each: the definition and the
//! execution in `engine_state`, one `engine_records` row per task and action execution), the
//! engine outbox and scheduled jobs (migrations/*/2026-11-27-000100_executions,
//! 2026-11-28-000400_engine_records).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::list::{col, ColKind::*, Column, Table};
use super::{DbConnection, DbError};

diesel::table! {
    workflow_executions (id) {
        id -> Text,
        workflow_name -> Text,
        workflow_id -> Nullable<Text>,
        workflow_namespace -> Text,
        description -> Text,
        tags -> Nullable<Text>,
        state -> Text,
        state_info -> Nullable<Text>,
        params -> Nullable<Text>,
        input -> Nullable<Text>,
        output -> Nullable<Text>,
        task_execution_id -> Nullable<Text>,
        root_execution_id -> Nullable<Text>,
        parent_execution_id -> Nullable<Text>,
        project_id -> Text,
        scope -> Text,
        engine_state -> Text,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    engine_outbox (seq) {
        seq -> BigInt,
        execution_id -> Text,
        message -> Text,
        sent -> Bool,
        created_at -> Timestamp,
        attempts -> Integer,
        not_before -> Nullable<Timestamp>,
        parked -> Bool,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    scheduled_jobs (id) {
        id -> Text,
        execution_id -> Text,
        message -> Text,
        run_at -> Timestamp,
        created_at -> Timestamp,
        attempts -> Integer,
        parked -> Bool,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    action_leases (action_execution_id) {
        action_execution_id -> Text,
        execution_id -> Text,
        owner -> Text,
        safe_rerun -> Bool,
        message -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    engine_records (id) {
        id -> Text,
        execution_id -> Text,
        kind -> Text,
        position -> BigInt,
        body -> Text,
    }
}

use action_leases::dsl as al;
use engine_outbox::dsl as ob;
use engine_records::dsl as er;
use scheduled_jobs::dsl as sj;
use workflow_executions::dsl as we;

#[derive(
    Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Insertable, AsChangeset,
)]
#[diesel(table_name = workflow_executions)]
#[diesel(treat_none_as_null = true)]
pub struct ExecutionRow {
    pub id: String,
    pub workflow_name: String,
    pub workflow_id: Option<String>,
    pub workflow_namespace: String,
    pub description: String,
    pub tags: Option<String>,
    pub state: String,
    pub state_info: Option<String>,
    /// JSON object text.
    pub params: Option<String>,
    pub input: Option<String>,
    pub output: Option<String>,
    pub task_execution_id: Option<String>,
    pub root_execution_id: Option<String>,
    /// The execution holding `task_execution_id` (internal, never returned).
    pub parent_execution_id: Option<String>,
    pub project_id: String,
    pub scope: String,
    /// JSON of the engine state (`crate::engine::shell::StoredState`).
    pub engine_state: String,
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
}

const EXECUTION_COLUMNS: &[Column] = &[
    col("id", Text),
    col("workflow_name", Text),
    col("workflow_id", Text),
    col("workflow_namespace", Text),
    col("description", Text),
    col("tags", Text),
    col("state", Text),
    col("state_info", Text),
    col("params", Text),
    col("input", Text),
    col("output", Text),
    col("task_execution_id", Text),
    col("root_execution_id", Text),
    col("project_id", Text),
    col("scope", Text),
    col("created_at", Timestamp),
    col("updated_at", Timestamp),
];

/// The list-query description of `workflow_executions` (`engine_state` is never filterable).
pub const EXECUTIONS: Table = Table {
    name: "workflow_executions",
    columns: EXECUTION_COLUMNS,
    scoped: true,
};

/// What the execution lists show of a row: everything but the engine state (which can be
/// large and is never part of the Execution resource).
#[derive(Debug, Clone, PartialEq, QueryableByName)]
#[diesel(table_name = workflow_executions)]
pub struct ExecutionListRow {
    pub id: String,
    pub workflow_name: String,
    pub workflow_id: Option<String>,
    pub workflow_namespace: String,
    pub description: String,
    pub tags: Option<String>,
    pub state: String,
    pub state_info: Option<String>,
    pub params: Option<String>,
    pub input: Option<String>,
    /// `None` when the list was read without output ([`execution_list_select`]).
    pub output: Option<String>,
    pub task_execution_id: Option<String>,
    pub root_execution_id: Option<String>,
    pub project_id: String,
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
}

/// The select list of [`ExecutionListRow`]; `output` is only read when it is shown.
pub fn execution_list_select(with_output: bool) -> &'static str {
    if with_output {
        "id, workflow_name, workflow_id, workflow_namespace, description, tags, state, \
         state_info, params, input, output, task_execution_id, root_execution_id, project_id, \
         created_at, updated_at"
    } else {
        "id, workflow_name, workflow_id, workflow_namespace, description, tags, state, \
         state_info, params, input, CAST(NULL AS TEXT) AS output, task_execution_id, \
         root_execution_id, project_id, created_at, updated_at"
    }
}

fn not_found(id: &str) -> DbError {
    DbError::NotFound(format!("WorkflowExecution not found [id={id}]"))
}

/// By id as seen by `vis` (`None`: every project).
pub fn find_execution(
    conn: &mut DbConnection,
    vis: Option<&str>,
    id: &str,
) -> Result<Option<ExecutionRow>, DbError> {
    let mut q = we::workflow_executions.filter(we::id.eq(id)).into_boxed();
    if let Some(p) = vis {
        q = q.filter(we::project_id.eq(p.to_string()));
    }
    Ok(q.select(ExecutionRow::as_select()).first(conn).optional()?)
}

/// [`find_execution`] or 404 `WorkflowExecution not found [id=X]`.
pub fn get_execution(
    conn: &mut DbConnection,
    vis: Option<&str>,
    id: &str,
) -> Result<ExecutionRow, DbError> {
    find_execution(conn, vis, id)?.ok_or_else(|| not_found(id))
}

/// Loads an execution for a state change, locking its row until the transaction ends
/// (PostgreSQL `SELECT … FOR UPDATE`; SQLite writes are serialised by [`super::Db`]).
pub fn lock_execution(conn: &mut DbConnection, id: &str) -> Result<Option<ExecutionRow>, DbError> {
    let rows: Vec<ExecutionRow> = if conn.is_postgres() {
        diesel::sql_query("SELECT * FROM workflow_executions WHERE id = $1 FOR UPDATE")
            .bind::<diesel::sql_types::Text, _>(id)
            .load(conn)?
    } else {
        we::workflow_executions
            .filter(we::id.eq(id))
            .select(ExecutionRow::as_select())
            .load(conn)?
    };
    Ok(rows.into_iter().next())
}

pub fn insert_execution(conn: &mut DbConnection, row: &ExecutionRow) -> Result<(), DbError> {
    diesel::insert_into(we::workflow_executions)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn update_execution(conn: &mut DbConnection, row: &ExecutionRow) -> Result<(), DbError> {
    diesel::update(we::workflow_executions.filter(we::id.eq(&row.id)))
        .set(row)
        .execute(conn)?;
    Ok(())
}

/// Executions started by tasks of `parent_id`, in creation order.
pub fn children(conn: &mut DbConnection, parent_id: &str) -> Result<Vec<ExecutionRow>, DbError> {
    Ok(we::workflow_executions
        .filter(we::parent_execution_id.eq(parent_id))
        .order(we::created_at.asc())
        .select(ExecutionRow::as_select())
        .load(conn)?)
}

/// Deletes an execution, its sub-workflow executions (recursively) and their pending jobs.
pub fn delete_execution_tree(conn: &mut DbConnection, id: &str) -> Result<(), DbError> {
    let mut stack = vec![id.to_string()];
    let mut all = Vec::new();
    while let Some(cur) = stack.pop() {
        for c in children(conn, &cur)? {
            stack.push(c.id);
        }
        all.push(cur);
    }
    diesel::delete(sj::scheduled_jobs.filter(sj::execution_id.eq_any(&all))).execute(conn)?;
    diesel::delete(er::engine_records.filter(er::execution_id.eq_any(&all))).execute(conn)?;
    diesel::delete(al::action_leases.filter(al::execution_id.eq_any(&all))).execute(conn)?;
    diesel::delete(
        task_executions::table.filter(task_executions::workflow_execution_id.eq_any(&all)),
    )
    .execute(conn)?;
    diesel::delete(
        action_executions::table.filter(action_executions::workflow_execution_id.eq_any(&all)),
    )
    .execute(conn)?;
    diesel::delete(we::workflow_executions.filter(we::id.eq_any(&all))).execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = engine_outbox)]
pub struct OutboxRow {
    pub seq: i64,
    pub execution_id: String,
    pub message: String,
    pub sent: bool,
    pub created_at: NaiveDateTime,
}

pub fn push_outbox(
    conn: &mut DbConnection,
    execution_id: &str,
    message: &str,
) -> Result<(), DbError> {
    diesel::insert_into(ob::engine_outbox)
        .values((
            ob::execution_id.eq(execution_id),
            ob::message.eq(message),
            ob::sent.eq(false),
            ob::created_at.eq(super::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Unsent, unparked outbox rows in the order they were written.
pub fn unsent_outbox(conn: &mut DbConnection, limit: i64) -> Result<Vec<OutboxRow>, DbError> {
    Ok(ob::engine_outbox
        .filter(ob::sent.eq(false).and(ob::parked.eq(false)))
        .order(ob::seq.asc())
        .limit(limit)
        .select(OutboxRow::as_select())
        .load(conn)?)
}

/// Sequence numbers of the outbox rows ready for hand-over at `now` (not parked, not waiting
/// for a retry), oldest first.
pub fn due_outbox(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Vec<i64>, DbError> {
    Ok(ob::engine_outbox
        .filter(ob::sent.eq(false).and(ob::parked.eq(false)))
        .filter(ob::not_before.is_null().or(ob::not_before.le(now)))
        .order(ob::seq.asc())
        .limit(limit)
        .select(ob::seq)
        .load(conn)?)
}

/// Locks one outbox row for hand-over until the transaction ends; `None` when it is gone,
/// parked, or (PostgreSQL) being handed over by another engine right now.
pub fn claim_outbox(conn: &mut DbConnection, seq: i64) -> Result<Option<OutboxRow>, DbError> {
    let rows: Vec<OutboxRow> = if conn.is_postgres() {
        diesel::sql_query(
            "SELECT seq, execution_id, message, sent, created_at FROM engine_outbox \
             WHERE seq = $1 AND NOT sent AND NOT parked FOR UPDATE SKIP LOCKED",
        )
        .bind::<diesel::sql_types::BigInt, _>(seq)
        .load(conn)?
    } else {
        ob::engine_outbox
            .filter(ob::seq.eq(seq))
            .filter(ob::sent.eq(false).and(ob::parked.eq(false)))
            .select(OutboxRow::as_select())
            .load(conn)?
    };
    Ok(rows.into_iter().next())
}

/// Locks up to `limit` outbox rows ready for hand-over at `now` (oldest first) until the
/// transaction ends; rows being handed over by another engine right now are skipped
/// (PostgreSQL `SKIP LOCKED`; SQLite writes are serialised).
pub fn claim_due_outbox(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Vec<OutboxRow>, DbError> {
    if conn.is_postgres() {
        Ok(diesel::sql_query(
            "SELECT seq, execution_id, message, sent, created_at FROM engine_outbox \
             WHERE NOT sent AND NOT parked AND (not_before IS NULL OR not_before <= $1) \
             ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED",
        )
        .bind::<diesel::sql_types::Timestamp, _>(now)
        .bind::<diesel::sql_types::BigInt, _>(limit)
        .load(conn)?)
    } else {
        Ok(ob::engine_outbox
            .filter(ob::sent.eq(false).and(ob::parked.eq(false)))
            .filter(ob::not_before.is_null().or(ob::not_before.le(now)))
            .order(ob::seq.asc())
            .limit(limit)
            .select(OutboxRow::as_select())
            .load(conn)?)
    }
}

/// Removes rows that were handed over (in the transaction that applied them).
pub fn delete_outbox_rows(conn: &mut DbConnection, seqs: &[i64]) -> Result<(), DbError> {
    for chunk in seqs.chunks(500) {
        diesel::delete(ob::engine_outbox.filter(ob::seq.eq_any(chunk))).execute(conn)?;
    }
    Ok(())
}

/// Removes a row that was handed over (in the transaction that applied it).
pub fn delete_outbox(conn: &mut DbConnection, seq: i64) -> Result<(), DbError> {
    diesel::delete(ob::engine_outbox.filter(ob::seq.eq(seq))).execute(conn)?;
    Ok(())
}

/// The wait before retry number `attempts` (1 s, 2 s, 4 s … capped at 5 minutes).
pub fn retry_backoff(attempts: i32) -> chrono::Duration {
    chrono::Duration::seconds(1i64 << attempts.clamp(1, 9).saturating_sub(1))
        .min(chrono::Duration::seconds(300))
}

/// Records a failed hand-over: the row waits [`retry_backoff`] before the next attempt, and is
/// parked (kept, never retried) once `max_attempts` failed. Returns whether it was parked.
pub fn outbox_failed(
    conn: &mut DbConnection,
    seq: i64,
    error: &str,
    max_attempts: i32,
) -> Result<bool, DbError> {
    let Some(attempts) = ob::engine_outbox
        .filter(ob::seq.eq(seq))
        .select(ob::attempts)
        .first::<i32>(conn)
        .optional()?
    else {
        return Ok(false);
    };
    let attempts = attempts + 1;
    let parked = attempts >= max_attempts;
    diesel::update(ob::engine_outbox.filter(ob::seq.eq(seq)))
        .set((
            ob::attempts.eq(attempts),
            ob::not_before.eq(Some(super::now() + retry_backoff(attempts))),
            ob::parked.eq(parked),
            ob::last_error.eq(Some(error)),
        ))
        .execute(conn)?;
    Ok(parked)
}

/// Parks a row that can never be handed over (kept for an operator, never retried).
pub fn park_outbox(conn: &mut DbConnection, seq: i64, error: &str) -> Result<(), DbError> {
    diesel::update(ob::engine_outbox.filter(ob::seq.eq(seq)))
        .set((ob::parked.eq(true), ob::last_error.eq(Some(error))))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = scheduled_jobs)]
pub struct JobRow {
    pub id: String,
    pub execution_id: String,
    pub message: String,
    pub run_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

pub fn insert_job(conn: &mut DbConnection, job: &JobRow) -> Result<(), DbError> {
    diesel::insert_into(sj::scheduled_jobs)
        .values(job)
        .execute(conn)?;
    Ok(())
}

/// Ids of the jobs due at `now` (earliest first, parked ones excluded).
pub fn due_jobs(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Vec<String>, DbError> {
    Ok(sj::scheduled_jobs
        .filter(sj::run_at.le(now).and(sj::parked.eq(false)))
        .order(sj::run_at.asc())
        .limit(limit)
        .select(sj::id)
        .load(conn)?)
}

/// Locks one due job until the transaction ends; `None` when it is gone, not due, parked, or
/// (PostgreSQL, `SKIP LOCKED`) being run by another engine right now. The caller deletes it in
/// the same transaction that applies its message, so a crash in between loses nothing.
pub fn claim_job(
    conn: &mut DbConnection,
    id: &str,
    now: NaiveDateTime,
) -> Result<Option<JobRow>, DbError> {
    let rows: Vec<JobRow> = if conn.is_postgres() {
        diesel::sql_query(
            "SELECT id, execution_id, message, run_at, created_at FROM scheduled_jobs \
             WHERE id = $1 AND run_at <= $2 AND NOT parked FOR UPDATE SKIP LOCKED",
        )
        .bind::<diesel::sql_types::Text, _>(id)
        .bind::<diesel::sql_types::Timestamp, _>(now)
        .load(conn)?
    } else {
        sj::scheduled_jobs
            .filter(sj::id.eq(id))
            .filter(sj::run_at.le(now).and(sj::parked.eq(false)))
            .select(JobRow::as_select())
            .load(conn)?
    };
    Ok(rows.into_iter().next())
}

/// Locks up to `limit` jobs due at `now` (earliest first) until the transaction ends,
/// skipping (PostgreSQL) those another engine is running right now.
pub fn claim_due_jobs(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Vec<JobRow>, DbError> {
    if conn.is_postgres() {
        Ok(diesel::sql_query(
            "SELECT id, execution_id, message, run_at, created_at FROM scheduled_jobs \
             WHERE run_at <= $1 AND NOT parked ORDER BY run_at LIMIT $2 FOR UPDATE SKIP LOCKED",
        )
        .bind::<diesel::sql_types::Timestamp, _>(now)
        .bind::<diesel::sql_types::BigInt, _>(limit)
        .load(conn)?)
    } else {
        Ok(sj::scheduled_jobs
            .filter(sj::run_at.le(now).and(sj::parked.eq(false)))
            .order(sj::run_at.asc())
            .limit(limit)
            .select(JobRow::as_select())
            .load(conn)?)
    }
}

/// Removes jobs that were run (in the transaction that applied them).
pub fn delete_jobs(conn: &mut DbConnection, ids: &[String]) -> Result<(), DbError> {
    for chunk in ids.chunks(500) {
        diesel::delete(sj::scheduled_jobs.filter(sj::id.eq_any(chunk))).execute(conn)?;
    }
    Ok(())
}

pub fn delete_job(conn: &mut DbConnection, id: &str) -> Result<(), DbError> {
    diesel::delete(sj::scheduled_jobs.filter(sj::id.eq(id))).execute(conn)?;
    Ok(())
}

/// Records a failed run of a job: it is due again after [`retry_backoff`], or parked once
/// `max_attempts` failed. Returns whether it was parked.
pub fn job_failed(
    conn: &mut DbConnection,
    id: &str,
    error: &str,
    max_attempts: i32,
) -> Result<bool, DbError> {
    let Some(attempts) = sj::scheduled_jobs
        .filter(sj::id.eq(id))
        .select(sj::attempts)
        .first::<i32>(conn)
        .optional()?
    else {
        return Ok(false);
    };
    let attempts = attempts + 1;
    let parked = attempts >= max_attempts;
    diesel::update(sj::scheduled_jobs.filter(sj::id.eq(id)))
        .set((
            sj::attempts.eq(attempts),
            sj::run_at.eq(super::now() + retry_backoff(attempts)),
            sj::parked.eq(parked),
            sj::last_error.eq(Some(error)),
        ))
        .execute(conn)?;
    Ok(parked)
}

pub fn park_job(conn: &mut DbConnection, id: &str, error: &str) -> Result<(), DbError> {
    diesel::update(sj::scheduled_jobs.filter(sj::id.eq(id)))
        .set((sj::parked.eq(true), sj::last_error.eq(Some(error))))
        .execute(conn)?;
    Ok(())
}

// ------------------------------------------------------------------------------------------
// Leases of actions handed to an executor

/// An action handed to the executor `owner`, alive while `expires_at` is in the future (the
/// owner's heartbeat moves it on). `message` is the hand-over message, for a re-run.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = action_leases)]
pub struct LeaseRow {
    pub action_execution_id: String,
    pub execution_id: String,
    pub owner: String,
    pub safe_rerun: bool,
    pub message: String,
    pub expires_at: NaiveDateTime,
}

/// Takes (or takes over) the lease of an action execution.
pub fn put_lease(conn: &mut DbConnection, lease: &LeaseRow) -> Result<(), DbError> {
    delete_lease(conn, &lease.action_execution_id)?;
    diesel::insert_into(al::action_leases)
        .values(lease)
        .execute(conn)?;
    Ok(())
}

/// Takes (or takes over) the leases of several action executions.
pub fn put_leases(conn: &mut DbConnection, leases: &[LeaseRow]) -> Result<(), DbError> {
    for chunk in leases.chunks(100) {
        let ids: Vec<&str> = chunk
            .iter()
            .map(|l| l.action_execution_id.as_str())
            .collect();
        diesel::delete(al::action_leases.filter(al::action_execution_id.eq_any(&ids)))
            .execute(conn)?;
        // One statement per row: diesel has no multi-row insert over both backends.
        for lease in chunk {
            diesel::insert_into(al::action_leases)
                .values(lease)
                .execute(conn)?;
        }
    }
    Ok(())
}

pub fn delete_lease(conn: &mut DbConnection, action_execution_id: &str) -> Result<(), DbError> {
    diesel::delete(al::action_leases.filter(al::action_execution_id.eq(action_execution_id)))
        .execute(conn)?;
    Ok(())
}

/// The heartbeat of an executor: extends every lease it holds.
pub fn renew_leases(
    conn: &mut DbConnection,
    owner: &str,
    expires_at: NaiveDateTime,
) -> Result<usize, DbError> {
    Ok(
        diesel::update(al::action_leases.filter(al::owner.eq(owner)))
            .set(al::expires_at.eq(expires_at))
            .execute(conn)?,
    )
}

/// Ends every lease not held by `owner` now (embedded shape: one process owns a SQLite file,
/// so at start-up every other holder is a dead predecessor).
pub fn expire_leases_of_others(conn: &mut DbConnection, owner: &str) -> Result<usize, DbError> {
    let past = chrono::DateTime::UNIX_EPOCH.naive_utc();
    Ok(
        diesel::update(al::action_leases.filter(al::owner.ne(owner)))
            .set(al::expires_at.eq(past))
            .execute(conn)?,
    )
}

/// Action execution ids whose lease expired before `now`.
pub fn expired_leases(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Vec<String>, DbError> {
    Ok(al::action_leases
        .filter(al::expires_at.lt(now))
        .order(al::expires_at.asc())
        .limit(limit)
        .select(al::action_execution_id)
        .load(conn)?)
}

/// Locks an expired lease until the transaction ends (`SKIP LOCKED`: one engine recovers it).
pub fn claim_expired_lease(
    conn: &mut DbConnection,
    action_execution_id: &str,
    now: NaiveDateTime,
) -> Result<Option<LeaseRow>, DbError> {
    let rows: Vec<LeaseRow> = if conn.is_postgres() {
        diesel::sql_query(
            "SELECT * FROM action_leases WHERE action_execution_id = $1 AND expires_at < $2 \
             FOR UPDATE SKIP LOCKED",
        )
        .bind::<diesel::sql_types::Text, _>(action_execution_id)
        .bind::<diesel::sql_types::Timestamp, _>(now)
        .load(conn)?
    } else {
        al::action_leases
            .filter(al::action_execution_id.eq(action_execution_id))
            .filter(al::expires_at.lt(now))
            .select(LeaseRow::as_select())
            .load(conn)?
    };
    Ok(rows.into_iter().next())
}

// ------------------------------------------------------------------------------------------
// Task and action execution index (copies of the engine state, rewritten with it)

diesel::table! {
    task_executions (id) {
        id -> Text,
        name -> Text,
        task_type -> Text,
        workflow_name -> Text,
        workflow_namespace -> Text,
        workflow_id -> Nullable<Text>,
        workflow_execution_id -> Text,
        tags -> Nullable<Text>,
        state -> Text,
        state_info -> Nullable<Text>,
        runtime_context -> Nullable<Text>,
        published -> Nullable<Text>,
        processed -> Bool,
        project_id -> Text,
        scope -> Text,
        seq -> BigInt,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
        started_at -> Nullable<Timestamp>,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    action_executions (id) {
        id -> Text,
        name -> Text,
        workflow_name -> Nullable<Text>,
        workflow_namespace -> Text,
        task_name -> Nullable<Text>,
        task_execution_id -> Nullable<Text>,
        workflow_execution_id -> Nullable<Text>,
        description -> Text,
        tags -> Nullable<Text>,
        state -> Text,
        state_info -> Nullable<Text>,
        accepted -> Bool,
        input -> Nullable<Text>,
        output -> Nullable<Text>,
        params -> Nullable<Text>,
        project_id -> Text,
        scope -> Text,
        seq -> BigInt,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
    }
}

use action_executions::dsl as ae;
use task_executions::dsl as te;

#[derive(
    Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Insertable, AsChangeset,
)]
#[diesel(table_name = task_executions)]
#[diesel(treat_none_as_null = true)]
pub struct TaskRow {
    pub id: String,
    pub name: String,
    pub task_type: String,
    pub workflow_name: String,
    pub workflow_namespace: String,
    pub workflow_id: Option<String>,
    pub workflow_execution_id: String,
    pub tags: Option<String>,
    pub state: String,
    pub state_info: Option<String>,
    pub runtime_context: Option<String>,
    pub published: Option<String>,
    pub processed: bool,
    pub project_id: String,
    pub scope: String,
    pub seq: i64,
    #[diesel(skip_update)]
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
    pub started_at: Option<NaiveDateTime>,
    pub finished_at: Option<NaiveDateTime>,
}

#[derive(
    Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Insertable, AsChangeset,
)]
#[diesel(table_name = action_executions)]
#[diesel(treat_none_as_null = true)]
pub struct ActionRow {
    pub id: String,
    pub name: String,
    pub workflow_name: Option<String>,
    pub workflow_namespace: String,
    pub task_name: Option<String>,
    pub task_execution_id: Option<String>,
    pub workflow_execution_id: Option<String>,
    pub description: String,
    pub tags: Option<String>,
    pub state: String,
    pub state_info: Option<String>,
    pub accepted: bool,
    pub input: Option<String>,
    pub output: Option<String>,
    pub params: Option<String>,
    pub project_id: String,
    pub scope: String,
    pub seq: i64,
    #[diesel(skip_update)]
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
}

const TASK_COLUMNS: &[Column] = &[
    col("id", Text),
    col("name", Text),
    col("task_type", Text),
    col("workflow_name", Text),
    col("workflow_namespace", Text),
    col("workflow_id", Text),
    col("workflow_execution_id", Text),
    col("tags", Text),
    col("state", Text),
    col("state_info", Text),
    col("runtime_context", Text),
    col("published", Text),
    col("processed", Bool),
    col("project_id", Text),
    col("scope", Text),
    col("created_at", Timestamp),
    col("updated_at", Timestamp),
    col("started_at", Timestamp),
    col("finished_at", Timestamp),
    col("seq", Int),
];

pub const TASKS: Table = Table {
    name: "task_executions",
    columns: TASK_COLUMNS,
    scoped: true,
};

const ACTION_EX_COLUMNS: &[Column] = &[
    col("id", Text),
    col("name", Text),
    col("workflow_name", Text),
    col("workflow_namespace", Text),
    col("task_execution_id", Text),
    col("workflow_execution_id", Text),
    col("description", Text),
    col("tags", Text),
    col("state", Text),
    col("state_info", Text),
    col("accepted", Bool),
    col("input", Text),
    col("output", Text),
    col("project_id", Text),
    col("scope", Text),
    col("created_at", Timestamp),
    col("updated_at", Timestamp),
    col("seq", Int),
];

pub const ACTION_EXECUTIONS: Table = Table {
    name: "action_executions",
    columns: ACTION_EX_COLUMNS,
    scoped: true,
};

/// Brings the index rows of one execution up to date: `tasks`/`actions` are the rows that
/// changed or are new, each with whether it is known to be new (inserted at once) or not
/// (updated in place, so `created_at` stays, or inserted if missing); `gone_*` the ids no
/// longer in the state. Unchanged rows are not touched: a with-items task over thousands of
/// items must not rewrite every row on every item.
pub fn sync_index(
    conn: &mut DbConnection,
    tasks: &[(TaskRow, bool)],
    actions: &[(ActionRow, bool)],
    gone_tasks: &[String],
    gone_actions: &[String],
) -> Result<(), DbError> {
    for (t, new) in tasks {
        let n = if *new {
            0
        } else {
            diesel::update(te::task_executions.filter(te::id.eq(&t.id)))
                .set(t)
                .execute(conn)?
        };
        if n == 0 {
            diesel::insert_into(te::task_executions)
                .values(t)
                .execute(conn)?;
        }
    }
    for (a, new) in actions {
        let n = if *new {
            0
        } else {
            diesel::update(ae::action_executions.filter(ae::id.eq(&a.id)))
                .set(a)
                .execute(conn)?
        };
        if n == 0 {
            diesel::insert_into(ae::action_executions)
                .values(a)
                .execute(conn)?;
        }
    }
    for ids in gone_tasks.chunks(500) {
        diesel::delete(te::task_executions.filter(te::id.eq_any(ids))).execute(conn)?;
    }
    for ids in gone_actions.chunks(500) {
        diesel::delete(ae::action_executions.filter(ae::id.eq_any(ids))).execute(conn)?;
    }
    Ok(())
}

pub fn get_task(conn: &mut DbConnection, vis: Option<&str>, id: &str) -> Result<TaskRow, DbError> {
    let mut q = te::task_executions.filter(te::id.eq(id)).into_boxed();
    if let Some(p) = vis {
        q = q.filter(te::project_id.eq(p.to_string()));
    }
    q.select(TaskRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| DbError::NotFound(format!("Task execution not found [id={id}]")))
}

pub fn get_action_execution(
    conn: &mut DbConnection,
    vis: Option<&str>,
    id: &str,
) -> Result<ActionRow, DbError> {
    let mut q = ae::action_executions.filter(ae::id.eq(id)).into_boxed();
    if let Some(p) = vis {
        q = q.filter(ae::project_id.eq(p.to_string()));
    }
    q.select(ActionRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| DbError::NotFound(format!("ActionExecution not found [id={id}]")))
}

/// Which of the action executions `ids` are RUNNING (index rows).
pub fn running_actions(
    conn: &mut DbConnection,
    ids: &[&str],
) -> Result<std::collections::HashSet<String>, DbError> {
    let mut out = std::collections::HashSet::new();
    for chunk in ids.chunks(500) {
        let found: Vec<String> = ae::action_executions
            .filter(ae::id.eq_any(chunk))
            .filter(ae::state.eq("RUNNING"))
            .select(ae::id)
            .load(conn)?;
        out.extend(found);
    }
    Ok(out)
}

/// Inserts or updates a stand-alone action execution (not part of a workflow).
pub fn save_action_execution(conn: &mut DbConnection, row: &ActionRow) -> Result<(), DbError> {
    let n = diesel::update(ae::action_executions.filter(ae::id.eq(&row.id)))
        .set(row)
        .execute(conn)?;
    if n == 0 {
        diesel::insert_into(ae::action_executions)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

pub fn delete_action_execution(conn: &mut DbConnection, id: &str) -> Result<(), DbError> {
    diesel::delete(ae::action_executions.filter(ae::id.eq(id))).execute(conn)?;
    Ok(())
}

/// The task execution rows of one workflow execution, in creation order.
pub fn tasks_of(conn: &mut DbConnection, execution_id: &str) -> Result<Vec<TaskRow>, DbError> {
    Ok(te::task_executions
        .filter(te::workflow_execution_id.eq(execution_id))
        .order(te::seq.asc())
        .select(TaskRow::as_select())
        .load(conn)?)
}

/// The action execution rows of one workflow execution, in creation order.
pub fn actions_of(conn: &mut DbConnection, execution_id: &str) -> Result<Vec<ActionRow>, DbError> {
    Ok(ae::action_executions
        .filter(ae::workflow_execution_id.eq(execution_id))
        .order(ae::seq.asc())
        .select(ActionRow::as_select())
        .load(conn)?)
}

/// Up to `limit` executions of workflow `workflow_id` in `state` (earliest first).
pub fn executions_of_workflow(
    conn: &mut DbConnection,
    workflow_id: &str,
    state: &str,
    limit: i64,
) -> Result<Vec<ExecutionRow>, DbError> {
    Ok(we::workflow_executions
        .filter(we::workflow_id.eq(workflow_id).and(we::state.eq(state)))
        .order(we::created_at.asc())
        .limit(limit)
        .select(ExecutionRow::as_select())
        .load(conn)?)
}

/// `executions()` of the expression language: executions visible to `vis` matching the
/// equality filters and `from <= created_at < to`, oldest first.
pub fn find_executions(
    conn: &mut DbConnection,
    vis: Option<&str>,
    id: Option<&str>,
    root_execution_id: Option<&str>,
    state: Option<&str>,
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
) -> Result<Vec<ExecutionRow>, DbError> {
    let mut q = we::workflow_executions.into_boxed();
    if let Some(p) = vis {
        q = q.filter(we::project_id.eq(p.to_string()));
    }
    if let Some(v) = id {
        q = q.filter(we::id.eq(v.to_string()));
    }
    if let Some(v) = root_execution_id {
        q = q.filter(we::root_execution_id.eq(v.to_string()));
    }
    if let Some(v) = state {
        q = q.filter(we::state.eq(v.to_string()));
    }
    if let Some(t) = from {
        q = q.filter(we::created_at.ge(t));
    }
    if let Some(t) = to {
        q = q.filter(we::created_at.lt(t));
    }
    Ok(q.order((we::created_at.asc(), we::id.asc()))
        .select(ExecutionRow::as_select())
        .load(conn)?)
}

/// One engine record (a task or action execution of the engine state) as stored.
#[derive(Debug, Clone, PartialEq, Insertable, AsChangeset)]
#[diesel(table_name = engine_records)]
pub struct RecordRow {
    pub id: String,
    pub execution_id: String,
    /// `task` or `action`.
    pub kind: String,
    /// Order inside the execution (tasks: creation number; actions: position).
    pub position: i64,
    /// The record's JSON.
    pub body: String,
}

/// Stores engine records: `new` ones are inserted, `changed` ones rewritten in place (or
/// inserted if missing).
pub fn put_records(
    conn: &mut DbConnection,
    new: &[RecordRow],
    changed: &[RecordRow],
) -> Result<(), DbError> {
    for r in new {
        diesel::insert_into(er::engine_records)
            .values(r)
            .execute(conn)?;
    }
    for r in changed {
        let n = diesel::update(er::engine_records.filter(er::id.eq(&r.id)))
            .set(r)
            .execute(conn)?;
        if n == 0 {
            diesel::insert_into(er::engine_records)
                .values(r)
                .execute(conn)?;
        }
    }
    Ok(())
}

pub fn delete_records(conn: &mut DbConnection, ids: &[String]) -> Result<(), DbError> {
    for chunk in ids.chunks(500) {
        diesel::delete(er::engine_records.filter(er::id.eq_any(chunk))).execute(conn)?;
    }
    Ok(())
}

/// The `(kind, body)` of every record of an execution, tasks and actions each in order.
pub fn records_of(
    conn: &mut DbConnection,
    execution_id: &str,
) -> Result<Vec<(String, String)>, DbError> {
    Ok(er::engine_records
        .filter(er::execution_id.eq(execution_id))
        .order((er::kind.asc(), er::position.asc()))
        .select((er::kind, er::body))
        .load(conn)?)
}
