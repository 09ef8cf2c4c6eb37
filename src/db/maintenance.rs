//! The maintenance mode of the whole deployment (one row shared by every server): `RUNNING`,
//! `PAUSING` (running executions are being paused) or `PAUSED`.

use diesel::prelude::*;

use super::executions::workflow_executions::dsl as we;
use super::{DbConnection, DbError};

diesel::table! {
    maintenance (id) {
        id -> Integer,
        status -> Text,
    }
}

pub const RUNNING: &str = "RUNNING";
pub const PAUSING: &str = "PAUSING";
pub const PAUSED: &str = "PAUSED";
/// In upstream's order (its error texts list them so).
pub const ALL: [&str; 3] = [PAUSING, PAUSED, RUNNING];

pub fn status(conn: &mut DbConnection) -> Result<String, DbError> {
    Ok(maintenance::table
        .filter(maintenance::id.eq(1))
        .select(maintenance::status)
        .first::<String>(conn)
        .optional()?
        .unwrap_or_else(|| RUNNING.to_string()))
}

/// Sets the status; with `only_from`, only while the current status is that one (so a
/// concurrent change wins over a stale one). Returns whether the row changed.
pub fn set_status(
    conn: &mut DbConnection,
    new: &str,
    only_from: Option<&str>,
) -> Result<bool, DbError> {
    let mut q = diesel::update(maintenance::table)
        .filter(maintenance::id.eq(1))
        .into_boxed();
    if let Some(from) = only_from {
        q = q.filter(maintenance::status.eq(from.to_string()));
    }
    Ok(q.set(maintenance::status.eq(new)).execute(conn)? > 0)
}

/// Ids of executions in `state`; `roots_only` leaves out sub-workflow executions.
pub fn executions_in_state(
    conn: &mut DbConnection,
    state: &str,
    roots_only: bool,
) -> Result<Vec<String>, DbError> {
    let mut q = we::workflow_executions
        .filter(we::state.eq(state.to_string()))
        .select(we::id)
        .order(we::created_at.asc())
        .into_boxed();
    if roots_only {
        q = q.filter(we::task_execution_id.is_null());
    }
    Ok(q.load(conn)?)
}

/// Whether any task execution is still RUNNING (pausing waits for them to finish).
pub fn any_running_task(conn: &mut DbConnection) -> Result<bool, DbError> {
    use super::executions::task_executions::dsl as te;
    Ok(te::task_executions
        .filter(te::state.eq("RUNNING"))
        .select(te::id)
        .first::<String>(conn)
        .optional()?
        .is_some())
}
