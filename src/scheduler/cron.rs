//! Cron trigger firing (engine.md §16). Every `[cron_trigger] execution_interval` seconds the
//! triggers due within the next 2 s are read; each is then fired in its own transaction that
//! claims the row, counts it down (deleting it after its last execution) or moves it to its
//! next tick after `max(now, previous tick)` — missed ticks are not replayed — and starts the
//! workflow execution. Claim, advance and start commit together, so with several servers on
//! one database each tick starts exactly one execution. A start that fails (e.g. the input no
//! longer fits the workflow) is logged and the tick is still consumed, as upstream does.
//! In maintenance mode (`PAUSING`/`PAUSED`) nothing is fired and triggers are not advanced:
//! they fire once maintenance ends.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::Connection;
use serde_json::{json, Map, Value};

use crate::db::models::CronTriggerRow;
use crate::db::{definitions, triggers, Caller, DbConnection, DbError};
use crate::engine::shell::{Shell, StartOptions};

/// How far ahead of now a trigger counts as due (upstream's look-ahead).
const LOOK_AHEAD: chrono::Duration = chrono::Duration::seconds(2);

/// Runs [`fire_due`] every `every`, forever.
pub fn spawn(shell: Shell, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = fire_due(&shell, chrono::Utc::now().naive_utc()).await {
                tracing::warn!("cron triggers: {e}");
            }
        }
    })
}

/// Fires every trigger due at `now` once; returns the ids of the executions started.
pub async fn fire_due(shell: &Shell, now: NaiveDateTime) -> Result<Vec<String>, DbError> {
    if super::maintenance::blocks_starts(shell).await? {
        return Ok(Vec::new());
    }
    let db = shell.db().clone();
    let due = db
        .read(move |c| triggers::due_cron_triggers(c, now + LOOK_AHEAD))
        .await?;
    let mut started = Vec::new();
    for t in due {
        let me = shell.clone();
        let (id, seen) = (t.id.clone(), t.next_execution_time);
        match db.write(move |c| fire_one(&me, c, &id, seen, now)).await {
            Ok(Some(ex)) => started.push(ex),
            Ok(None) => {}
            Err(e) => tracing::warn!("failed to process cron trigger {}: {e}", t.id),
        }
    }
    if !started.is_empty() {
        shell.wake_dispatcher();
    }
    Ok(started)
}

/// One firing inside the caller's transaction: `None` if another server already fired this
/// tick (or the trigger is gone) or the workflow could not be started.
fn fire_one(
    shell: &Shell,
    conn: &mut DbConnection,
    id: &str,
    seen_next: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<Option<String>, DbError> {
    let Some(t) = triggers::claim_cron_trigger(conn, id, seen_next)? else {
        return Ok(None);
    };
    if !triggers::advance_cron_trigger(conn, &t, now)? {
        return Ok(None);
    }
    // A savepoint: a failed start is rolled back alone, the advance above still commits.
    match conn.transaction(|c| start(shell, c, &t)) {
        Ok(ex) => {
            tracing::info!(
                "cron trigger '{}' ({}) started execution {ex} of workflow '{}'",
                t.name,
                t.id,
                t.workflow_name
            );
            Ok(Some(ex))
        }
        Err(e) => {
            tracing::warn!(
                "cron trigger '{}' ({}) failed to start workflow '{}': {e}",
                t.name,
                t.id,
                t.workflow_name
            );
            Ok(None)
        }
    }
}

fn object(text: &str, what: &str) -> Result<Map<String, Value>, DbError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(Value::Null) => Ok(Map::new()),
        _ => Err(DbError::Internal(format!(
            "stored {what} is not a JSON object"
        ))),
    }
}

/// Starts the trigger's workflow as its project, with its input and params.
fn start(shell: &Shell, conn: &mut DbConnection, t: &CronTriggerRow) -> Result<String, DbError> {
    let wf = definitions::get_workflow_by_id(conn, None, &t.workflow_id)?;
    let mut params = object(&t.workflow_params, "workflow_params")?;
    // Upstream starts by the definition's name and namespace; a namespace overrides params.
    if !wf.namespace.is_empty() {
        params.insert("namespace".into(), json!(wf.namespace));
    }
    let description = json!({
        "description": format!("Workflow execution created by cron trigger '({})'.", t.id),
        "triggered_by": {"type": "cron_trigger", "id": t.id},
    });
    let caller = Caller {
        project_id: t.project_id.clone(),
        is_admin: false,
    };
    let opts = StartOptions {
        id: None,
        input: object(&t.workflow_input, "workflow_input")?,
        params,
        description: crate::api::pyjson::dumps(&description),
    };
    Ok(shell.start_workflow_in(conn, &caller, wf, opts)?.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DatabaseUrl;
    use crate::db::models::WorkflowRow;
    use crate::db::{new_id, Db};
    use diesel::RunQueryDsl;

    fn ts(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    /// A workflow and `n` every-minute triggers of it, all due at 2030-01-01 10:00:00.
    fn setup(db: &Db, n: usize) {
        let caller = Caller {
            project_id: "p".into(),
            is_admin: false,
        };
        let wf = WorkflowRow {
            id: new_id(),
            name: "wf".into(),
            namespace: String::new(),
            project_id: "p".into(),
            scope: "private".into(),
            is_system: false,
            definition: String::new(),
            spec: json!({"name": "wf", "input": ["x"],
                         "tasks": {"a": {"action": "std.noop"}}})
            .to_string(),
            input: None,
            interface: None,
            checksum: None,
            tags: None,
            created_at: ts("2030-01-01 00:00:00"),
            updated_at: None,
        };
        db.write_blocking(move |c| {
            diesel::insert_into(crate::db::schema::workflow_definitions::table)
                .values(&wf)
                .execute(c)?;
            for i in 0..n {
                let mut input = Map::new();
                input.insert("x".into(), json!(i));
                triggers::create_cron_trigger(
                    c,
                    &caller,
                    &triggers::NewCronTrigger {
                        name: format!("t{i}"),
                        workflow_identifier: wf.id.clone(),
                        workflow_input: input,
                        workflow_params: Map::new(),
                        pattern: Some("* * * * *".into()),
                        first_execution_time: None,
                        next_execution_time: ts("2030-01-01 10:00:00"),
                        remaining_executions: None,
                        scope: "private".into(),
                    },
                )?;
            }
            Ok(())
        })
        .unwrap();
    }

    fn count_executions(db: &Db) -> i64 {
        use crate::db::executions::workflow_executions::dsl as we;
        use diesel::QueryDsl;
        db.read_blocking(|c| Ok(we::workflow_executions.count().get_result::<i64>(c)?))
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_tick_fires_each_due_trigger_once_and_moves_it_on() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&DatabaseUrl::Sqlite(dir.path().join("t.sqlite")), 2).unwrap();
        db.run_migrations().unwrap();
        setup(&db, 3);
        let shell = Shell::new(db.clone());
        let now = ts("2030-01-01 10:00:01");
        assert_eq!(fire_due(&shell, now).await.unwrap().len(), 3);
        // Same instant again: every trigger already moved to 10:01.
        assert!(fire_due(&shell, now).await.unwrap().is_empty());
        assert_eq!(count_executions(&db), 3);
        let t = db
            .read_blocking(|c| triggers::get_cron_trigger(c, None, "t0"))
            .unwrap();
        assert_eq!(t.next_execution_time, ts("2030-01-01 10:01:00"));
        // A claim with the stale tick finds nothing.
        let claimed = db
            .write_blocking(|c| triggers::claim_cron_trigger(c, &t.id, ts("2030-01-01 10:00:00")))
            .unwrap();
        assert!(claimed.is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nothing_fires_or_advances_in_maintenance_mode() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&DatabaseUrl::Sqlite(dir.path().join("t.sqlite")), 2).unwrap();
        db.run_migrations().unwrap();
        setup(&db, 1);
        let shell = Shell::new(db.clone());
        let now = ts("2030-01-01 10:00:01");
        for status in [
            crate::db::maintenance::PAUSING,
            crate::db::maintenance::PAUSED,
        ] {
            db.write_blocking(|c| crate::db::maintenance::set_status(c, status, None))
                .unwrap();
            assert!(fire_due(&shell, now).await.unwrap().is_empty());
        }
        let t = db
            .read_blocking(|c| triggers::get_cron_trigger(c, None, "t0"))
            .unwrap();
        assert_eq!(t.next_execution_time, ts("2030-01-01 10:00:00"));
        // Once maintenance ends, the held tick fires.
        db.write_blocking(|c| {
            crate::db::maintenance::set_status(c, crate::db::maintenance::RUNNING, None)
        })
        .unwrap();
        assert_eq!(fire_due(&shell, now).await.unwrap().len(), 1);
    }

    /// Two schedulers (own connection pools, as two servers have) fire the same due triggers
    /// at the same moment on PostgreSQL: every trigger starts exactly one execution.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn racing_schedulers_on_postgresql_start_each_firing_once() {
        let Ok(admin) = std::env::var("MISTRAL_RS_TEST_PG") else {
            return;
        };
        use diesel::Connection;
        let name = format!("mistral_rs_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = diesel::PgConnection::establish(&admin).unwrap();
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .unwrap();
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&format!("/{name}"));
        let url = DatabaseUrl::Postgres(url.to_string());
        {
            let db1 = Db::connect(&url, 4).unwrap();
            db1.run_migrations().unwrap();
            let db2 = Db::connect(&url, 4).unwrap();
            setup(&db1, 40);
            let (s1, s2) = (Shell::new(db1.clone()), Shell::new(db2));
            let now = ts("2030-01-01 10:00:01");
            let (a, b) = tokio::join!(fire_due(&s1, now), fire_due(&s2, now));
            let (a, b) = (a.unwrap(), b.unwrap());
            assert_eq!(a.len() + b.len(), 40, "{} + {}", a.len(), b.len());
            assert_eq!(count_executions(&db1), 40);
        }
        let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn);
    }
}
