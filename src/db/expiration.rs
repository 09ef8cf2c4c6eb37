//! Queries of the execution expiration policy (`[execution_expiration_policy]`): which
//! finished root executions are old or superfluous enough to delete.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::executions::workflow_executions::dsl as we;
use super::{DbConnection, DbError};

/// Ids of finished root executions (no parent task, state in `states`) not updated since
/// `before`, oldest first, at most `limit` (0 = all).
pub fn expired_root_executions(
    conn: &mut DbConnection,
    before: NaiveDateTime,
    states: &[&str],
    limit: u64,
) -> Result<Vec<String>, DbError> {
    let mut q = we::workflow_executions
        .filter(we::task_execution_id.is_null())
        .filter(we::state.eq_any(states.iter().map(|s| s.to_string())))
        .filter(we::updated_at.lt(before))
        .order((we::updated_at.asc(), we::id.asc()))
        .select(we::id)
        .into_boxed();
    if limit > 0 {
        q = q.limit(limit as i64);
    }
    Ok(q.load(conn)?)
}

/// Ids of finished root executions beyond the `keep` most recently updated ones, at most
/// `limit` (0 = all). `keep == 0` means no limit on the number kept: nothing is returned.
pub fn superfluous_root_executions(
    conn: &mut DbConnection,
    keep: u64,
    states: &[&str],
    limit: u64,
) -> Result<Vec<String>, DbError> {
    if keep == 0 {
        return Ok(Vec::new());
    }
    let mut q = we::workflow_executions
        .filter(we::task_execution_id.is_null())
        .filter(we::state.eq_any(states.iter().map(|s| s.to_string())))
        .order((we::updated_at.desc(), we::id.desc()))
        .select(we::id)
        .offset(keep as i64)
        .into_boxed();
    // SQLite accepts OFFSET only after a LIMIT; -1 there means "no limit" but PostgreSQL
    // refuses negative limits, so use the largest value both take.
    q = q.limit(if limit > 0 { limit as i64 } else { i64::MAX });
    Ok(q.load(conn)?)
}
