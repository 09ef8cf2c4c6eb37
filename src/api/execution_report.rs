//! `GET /v2/executions/{id}/report` (api.md 2.4): the execution tree with its tasks, their
//! action executions and sub-workflows, plus task statistics. `errors_only` keeps only tasks
//! in ERROR; `max_depth` (-1: unlimited) lists deeper workflow executions without their tasks;
//! `statistics_only` returns only the statistics.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::error::{ApiError, JSON};
use super::params::{is_uuid_like, Query};
use super::{caller, json_response, ts_value, AppState};
use crate::db::executions::{self as store, ExecutionRow, TaskRow};
use crate::db::{DbConnection, DbError};

/// Previous successful runs averaged for `estimated_time` (upstream's query limit).
const ESTIMATE_SAMPLE: i64 = 20;

#[derive(Default)]
struct Stats {
    total: u64,
    running: u64,
    success: u64,
    error: u64,
    idle: u64,
    paused: u64,
}

impl Stats {
    /// Counts a task; states other than these five are not counted, not even in the total.
    fn count(&mut self, state: &str) {
        let slot = match state {
            "RUNNING" => &mut self.running,
            "SUCCESS" => &mut self.success,
            "ERROR" => &mut self.error,
            "IDLE" => &mut self.idle,
            "PAUSED" => &mut self.paused,
            _ => return,
        };
        *slot += 1;
        self.total += 1;
    }
}

struct Filters {
    errors_only: bool,
    max_depth: i64,
    /// Only count, build no entries.
    statistics_only: bool,
}

fn base_entry(
    id: &str,
    name: &str,
    row_times: [Value; 2],
    state: &str,
    info: &Option<String>,
) -> Map<String, Value> {
    let [created, updated] = row_times;
    let mut m = Map::new();
    m.insert("id".into(), json!(id));
    m.insert("name".into(), json!(name));
    m.insert("created_at".into(), created);
    m.insert("updated_at".into(), updated);
    m.insert("state".into(), json!(state));
    m.insert("state_info".into(), json!(info));
    m
}

fn workflow_entry(
    conn: &mut DbConnection,
    wf: &ExecutionRow,
    stats: &mut Stats,
    f: &Filters,
    depth: i64,
) -> Result<Value, DbError> {
    let mut entry = base_entry(
        &wf.id,
        &wf.workflow_name,
        [ts_value(&Some(wf.created_at)), ts_value(&wf.updated_at)],
        &wf.state,
        &wf.state_info,
    );
    if 0 <= f.max_depth && f.max_depth < depth {
        return Ok(Value::Object(entry));
    }
    let tasks = store::tasks_of(conn, &wf.id)?;
    let actions = store::actions_of(conn, &wf.id)?;
    let children = store::children(conn, &wf.id)?;
    let mut items = Vec::new();
    for t in &tasks {
        if f.errors_only && t.state != "ERROR" {
            continue;
        }
        stats.count(&t.state);
        let subs: Vec<&ExecutionRow> = children
            .iter()
            .filter(|c| c.task_execution_id.as_deref() == Some(t.id.as_str()))
            .collect();
        let mut sub_entries = Vec::new();
        for c in subs {
            sub_entries.push(workflow_entry(conn, c, stats, f, depth + 1)?);
        }
        if f.statistics_only {
            continue;
        }
        let action_entries: Vec<Value> = actions
            .iter()
            .filter(|a| a.task_execution_id.as_deref() == Some(t.id.as_str()))
            .map(|a| {
                let mut m = Map::new();
                m.insert("accepted".into(), json!(a.accepted));
                // Actions run in-process: the last sign of life is their start.
                m.insert("last_heartbeat".into(), ts_value(&Some(a.created_at)));
                m.extend(base_entry(
                    &a.id,
                    &a.name,
                    [ts_value(&Some(a.created_at)), ts_value(&a.updated_at)],
                    &a.state,
                    &a.state_info,
                ));
                Value::Object(m)
            })
            .collect();
        items.push(task_entry(t, action_entries, sub_entries));
    }
    entry.insert("task_executions".into(), Value::Array(items));
    Ok(Value::Object(entry))
}

fn task_entry(t: &TaskRow, actions: Vec<Value>, subs: Vec<Value>) -> Value {
    let mut m = Map::new();
    m.insert("action_executions".into(), Value::Array(actions));
    m.insert("workflow_executions".into(), Value::Array(subs));
    let retry_no = t
        .runtime_context
        .as_deref()
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
        .and_then(|rc| rc.get("retry_task_policy").map(|p| p["retry_no"].clone()));
    if let Some(n) = retry_no {
        m.insert("retry_count".into(), n);
    }
    m.extend(base_entry(
        &t.id,
        &t.name,
        [ts_value(&Some(t.created_at)), ts_value(&t.updated_at)],
        &t.state,
        &t.state_info,
    ));
    Value::Object(m)
}

/// Seconds left by the average duration of earlier successful runs of the same workflow: 0
/// unless RUNNING, -1 without history, at least 1 once overdue.
fn estimated_time(conn: &mut DbConnection, wf: &ExecutionRow) -> Result<i64, DbError> {
    if wf.state != "RUNNING" {
        return Ok(0);
    }
    let Some(wid) = &wf.workflow_id else {
        return Ok(-1);
    };
    let prev = store::executions_of_workflow(conn, wid, "SUCCESS", ESTIMATE_SAMPLE)?;
    if prev.is_empty() {
        return Ok(-1);
    }
    let total: i64 = prev
        .iter()
        .map(|e| {
            (e.updated_at.unwrap_or(e.created_at) - e.created_at)
                .num_seconds()
                .max(0)
        })
        .sum();
    let average = total as f64 / prev.len() as f64;
    let elapsed = (crate::db::now() - wf.created_at).num_seconds() as f64;
    let left = average - elapsed;
    Ok(if left < 0.0 { 1 } else { left as i64 })
}

pub async fn report(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    if !is_uuid_like(&id) {
        return Err(ApiError::bad_request(format!(
            "Invalid input for field/attribute workflow_execution_id. Value: '{id}'. unable to convert to uuid. Error: Expected a uuid but received {id}."
        )));
    }
    let q = Query::parse(raw.as_deref());
    let filters = Filters {
        errors_only: q.flag("errors_only"),
        max_depth: q.int("max_depth")?.unwrap_or(-1),
        statistics_only: q.flag("statistics_only"),
    };
    let vis = caller(&headers).visibility();
    let body = st
        .db
        .read(move |conn| {
            let root = store::get_execution(conn, vis.as_deref(), &id)?;
            let mut stats = Stats::default();
            let estimated = estimated_time(conn, &root)?;
            let tree = workflow_entry(conn, &root, &mut stats, &filters, 0)?;
            let mut out = Map::new();
            out.insert(
                "statistics".into(),
                json!({
                    "total_tasks_count": stats.total,
                    "running_tasks_count": stats.running,
                    "success_tasks_count": stats.success,
                    "error_tasks_count": stats.error,
                    "idle_tasks_count": stats.idle,
                    "paused_tasks_count": stats.paused,
                    "estimated_time": estimated,
                }),
            );
            if !filters.statistics_only {
                out.insert("root_workflow_execution".into(), tree);
            }
            Ok(Value::Object(out))
        })
        .await?;
    Ok(json_response(StatusCode::OK, &body, JSON))
}
