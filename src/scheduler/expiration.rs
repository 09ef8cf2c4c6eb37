//! The execution expiration policy (`[execution_expiration_policy]`): every
//! `evaluation_interval` minutes, finished root executions (SUCCESS, ERROR or CANCELLED minus
//! `ignored_states`; sub-workflow executions go with their root) are deleted when they were
//! last updated more than `older_than` minutes ago, and beyond the `max_finished_executions`
//! most recently updated ones. Deletion runs in transactions of `batch_size` executions (0: all
//! at once) until nothing is left to delete.
//!
//! Upstream crashes on every run when only `max_finished_executions` is set (it computes the
//! age cut-off from an unset `older_than`); here the age rule is simply skipped then.

use std::time::Duration;

use chrono::NaiveDateTime;

use crate::config::{ExpirationPolicySettings, TERMINAL_STATES};
use crate::db::{executions, expiration, Db, DbError};

/// Runs [`run_once`] every `evaluation_interval` minutes (the first run right away).
pub fn spawn(db: Db, policy: ExpirationPolicySettings) -> tokio::task::JoinHandle<()> {
    let minutes = policy.evaluation_interval.unwrap_or(1).max(1);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(minutes * 60));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match run_once(&db, &policy, chrono::Utc::now().naive_utc()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!("expiration policy deleted {n} executions"),
                Err(e) => tracing::warn!("execution expiration policy: {e}"),
            }
        }
    })
}

/// Applies the policy once at `now`; returns how many root executions were deleted.
pub async fn run_once(
    db: &Db,
    policy: &ExpirationPolicySettings,
    now: NaiveDateTime,
) -> Result<usize, DbError> {
    let states: Vec<&'static str> = TERMINAL_STATES
        .iter()
        .copied()
        .filter(|s| !policy.ignored_states.iter().any(|i| i == s))
        .collect();
    let batch = policy.batch_size;
    let mut deleted = 0;
    if let Some(minutes) = policy.older_than {
        let before = now - chrono::Duration::minutes(minutes as i64);
        let states = states.clone();
        deleted += delete_until_depleted(db, move |c| {
            expiration::expired_root_executions(c, before, &states, batch)
        })
        .await?;
    }
    let keep = policy.max_finished_executions;
    deleted += delete_until_depleted(db, move |c| {
        expiration::superfluous_root_executions(c, keep, &states, batch)
    })
    .await?;
    Ok(deleted)
}

/// Repeats select-and-delete transactions until the selection comes back empty.
async fn delete_until_depleted<F>(db: &Db, select: F) -> Result<usize, DbError>
where
    F: Fn(&mut crate::db::DbConnection) -> Result<Vec<String>, DbError>
        + Send
        + Sync
        + Clone
        + 'static,
{
    let mut total = 0;
    loop {
        let select = select.clone();
        let n = db
            .write(move |c| {
                let ids = select(c)?;
                for id in &ids {
                    tracing::debug!("deleting execution {id} according to the expiration policy");
                    executions::delete_execution_tree(c, id)?;
                }
                Ok(ids.len())
            })
            .await?;
        if n == 0 {
            return Ok(total);
        }
        total += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DatabaseUrl;
    use crate::db::executions::ExecutionRow;

    fn ts(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    fn execution(id: &str, state: &str, updated: &str, parent: Option<&str>) -> ExecutionRow {
        ExecutionRow {
            id: id.into(),
            workflow_name: "wf".into(),
            workflow_id: None,
            workflow_namespace: String::new(),
            description: String::new(),
            tags: None,
            state: state.into(),
            state_info: None,
            params: None,
            input: None,
            output: None,
            task_execution_id: parent.map(|_| format!("task-of-{id}")),
            root_execution_id: parent.map(str::to_string),
            parent_execution_id: parent.map(str::to_string),
            project_id: "p".into(),
            scope: "private".into(),
            engine_state: "{}".into(),
            created_at: ts(updated),
            updated_at: Some(ts(updated)),
        }
    }

    /// A database dropped at the end of the test (PostgreSQL) or a temporary SQLite file.
    enum Scratch {
        Sqlite(#[allow(dead_code)] tempfile::TempDir),
        Pg(String, String),
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            if let Scratch::Pg(admin, name) = self {
                use diesel::{Connection, RunQueryDsl};
                if let Ok(mut c) = diesel::PgConnection::establish(admin) {
                    let _ =
                        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut c);
                }
            }
        }
    }

    /// SQLite, and PostgreSQL when `MISTRAL_RS_TEST_PG` is set.
    fn backends() -> Vec<(Scratch, DatabaseUrl)> {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite(dir.path().join("t.sqlite"));
        let mut v = vec![(Scratch::Sqlite(dir), url)];
        if let Ok(admin) = std::env::var("MISTRAL_RS_TEST_PG") {
            use diesel::{Connection, RunQueryDsl};
            let name = format!("mistral_rs_test_{}", uuid::Uuid::new_v4().simple());
            let mut c = diesel::PgConnection::establish(&admin).unwrap();
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut c)
                .unwrap();
            let mut url = url::Url::parse(&admin).unwrap();
            url.set_path(&format!("/{name}"));
            v.push((
                Scratch::Pg(admin, name),
                DatabaseUrl::Postgres(url.to_string()),
            ));
        }
        v
    }

    /// Finished roots of several ages and states, a running root and a sub-workflow
    /// execution of the oldest root.
    fn db_with_executions(url: &DatabaseUrl) -> Db {
        let db = Db::connect(url, 2).unwrap();
        db.run_migrations().unwrap();
        db.write_blocking(|c| {
            for row in [
                execution("ok-old", "SUCCESS", "2030-01-01 08:00:00", None),
                execution(
                    "sub-of-ok-old",
                    "SUCCESS",
                    "2030-01-01 07:00:00",
                    Some("ok-old"),
                ),
                execution("err-old", "ERROR", "2030-01-01 08:30:00", None),
                execution("cancel-old", "CANCELLED", "2030-01-01 08:45:00", None),
                execution("running-old", "RUNNING", "2030-01-01 08:00:00", None),
                execution("ok-new", "SUCCESS", "2030-01-01 09:59:00", None),
                execution("ok-newer", "SUCCESS", "2030-01-01 09:59:30", None),
            ] {
                executions::insert_execution(c, &row)?;
            }
            Ok(())
        })
        .unwrap();
        db
    }

    fn left(db: &Db) -> Vec<String> {
        use crate::db::executions::workflow_executions::dsl as we;
        use diesel::prelude::*;
        db.read_blocking(|c| {
            Ok(we::workflow_executions
                .select(we::id)
                .order(we::id.asc())
                .load::<String>(c)?)
        })
        .unwrap()
    }

    const NOW: &str = "2030-01-01 10:00:00";

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn old_finished_roots_go_with_their_sub_workflows_ignored_states_stay() {
        for (_scratch, url) in backends() {
            let db = db_with_executions(&url);
            let policy = ExpirationPolicySettings {
                evaluation_interval: Some(1),
                older_than: Some(60),
                ignored_states: vec!["ERROR".into()],
                batch_size: 1,
                ..Default::default()
            };
            assert_eq!(run_once(&db, &policy, ts(NOW)).await.unwrap(), 2);
            assert_eq!(left(&db), ["err-old", "ok-new", "ok-newer", "running-old"]);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn only_the_newest_finished_roots_are_kept() {
        for (_scratch, url) in backends() {
            let db = db_with_executions(&url);
            let policy = ExpirationPolicySettings {
                evaluation_interval: Some(1),
                max_finished_executions: 2,
                ..Default::default()
            };
            // Five finished roots, two kept; the sub-workflow is not counted and goes with
            // its root; the running one is never touched.
            assert_eq!(run_once(&db, &policy, ts(NOW)).await.unwrap(), 3);
            assert_eq!(left(&db), ["ok-new", "ok-newer", "running-old"]);
            // Nothing more to do on the next run.
            assert_eq!(run_once(&db, &policy, ts(NOW)).await.unwrap(), 0);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn both_rules_apply_in_batches() {
        for (_scratch, url) in backends() {
            let db = db_with_executions(&url);
            let policy = ExpirationPolicySettings {
                evaluation_interval: Some(1),
                older_than: Some(30),
                max_finished_executions: 1,
                batch_size: 2,
                ..Default::default()
            };
            assert_eq!(run_once(&db, &policy, ts(NOW)).await.unwrap(), 4);
            assert_eq!(left(&db), ["ok-newer", "running-old"]);
        }
    }
}
