//! The shell's data source for expression functions: like [`super::exprs::StateData`] for the
//! execution being handled, plus what only the database knows — other executions for
//! `executions(...)` and `execution()` of any id, creation and update times — read through the
//! open transaction (upstream reads its session the same way).

use std::sync::Mutex;

use serde_json::{json, Value};

use super::controller::{Expressions, WorkflowState};
use super::exprs::StateData;
use crate::db::executions::{self as store, ExecutionRow};
use crate::db::{format_ts, DbConnection};
use crate::expr::{DataError, Evaluator, ExecutionFilter, ExpressionData, TaskFilter};

/// The open transaction, shared by the catalog and the expression data of one command.
pub type SharedConn<'r, 'c> = &'r Mutex<&'c mut DbConnection>;

/// Runs `f` on the shared connection (never re-entered: lookups do not evaluate).
pub fn with_conn<T>(conn: SharedConn<'_, '_>, f: impl FnOnce(&mut DbConnection) -> T) -> T {
    let mut guard = conn.lock().unwrap_or_else(|e| e.into_inner());
    f(&mut guard)
}

/// [`Expressions`] over the evaluator with database-backed data.
pub struct DbExprs<'r, 'c> {
    pub evaluator: &'r Evaluator,
    pub conn: SharedConn<'r, 'c>,
    /// The project whose executions `executions()` sees (`None`: all).
    pub vis: Option<String>,
}

impl Expressions for DbExprs<'_, '_> {
    fn evaluate(
        &self,
        value: &Value,
        view: &Value,
        state: &WorkflowState,
    ) -> Result<Value, String> {
        let data = DbData {
            state: StateData(state),
            conn: self.conn,
            vis: self.vis.as_deref(),
        };
        self.evaluator
            .evaluate_view(value, view, &data)
            .map_err(|e| e.message)
    }
}

struct DbData<'a, 'r, 'c> {
    state: StateData<'a>,
    conn: SharedConn<'r, 'c>,
    vis: Option<&'a str>,
}

fn db_error(e: crate::db::DbError) -> DataError {
    DataError {
        message: e.to_string(),
        retryable: true,
    }
}

fn text_json(t: &Option<String>) -> Value {
    t.as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null)
}

/// Accepts what upstream's filter would compare: `YYYY-MM-DD HH:MM:SS[.ffffff]`, with `T` too.
fn parse_time(s: &str) -> Result<chrono::NaiveDateTime, DataError> {
    let t = s.trim().replace('T', " ");
    for f in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d",
    ] {
        if let Ok(v) = chrono::NaiveDateTime::parse_from_str(&t, f) {
            return Ok(v);
        }
        if let Ok(d) = chrono::NaiveDate::parse_from_str(&t, f) {
            return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default());
        }
    }
    Err(DataError::not_found(format!("Invalid date/time: {s}")))
}

impl DbData<'_, '_, '_> {
    fn row(&self, id: &str) -> Result<Option<ExecutionRow>, DataError> {
        with_conn(self.conn, |c| store::find_execution(c, self.vis, id)).map_err(db_error)
    }

    /// `execution()` of the current execution: its state, with the row's times (a start not
    /// yet stored is created and updated now).
    fn current_record(&self, row: Option<&ExecutionRow>) -> Result<Value, DataError> {
        let mut rec = self.state.workflow_execution(&self.state.0.execution.id)?;
        let now = format_ts(&crate::db::now());
        let created = row.map(|r| format_ts(&r.created_at)).unwrap_or(now.clone());
        let updated = row
            .and_then(|r| r.updated_at.as_ref().map(format_ts))
            .unwrap_or(now);
        rec["created_at"] = json!(created);
        rec["updated_at"] = json!(updated);
        Ok(rec)
    }

    /// An execution as `executions()` lists it: the API's fields, JSON texts decoded.
    fn listed(&self, r: &ExecutionRow) -> Value {
        let current = &self.state.0.execution;
        let (state, state_info) = if r.id == current.id {
            (
                current.state.as_str().to_string(),
                current.state_info.clone(),
            )
        } else {
            (r.state.clone(), r.state_info.clone())
        };
        let spec = serde_json::from_str::<Value>(&r.engine_state)
            .ok()
            .and_then(|v| v.get("def_body").cloned())
            .unwrap_or(Value::Null);
        json!({
            "id": r.id,
            "name": r.workflow_name,
            "workflow_name": r.workflow_name,
            "workflow_id": r.workflow_id,
            "workflow_namespace": r.workflow_namespace,
            "description": r.description,
            "spec": spec,
            "state": state,
            "state_info": state_info,
            "tags": text_json(&r.tags),
            "input": text_json(&r.input),
            "output": text_json(&r.output),
            "params": text_json(&r.params),
            "task_execution_id": r.task_execution_id,
            "root_execution_id": r.root_execution_id,
            "project_id": r.project_id,
            "scope": r.scope,
            "created_at": format_ts(&r.created_at),
            "updated_at": r.updated_at.as_ref().map(format_ts),
        })
    }
}

impl ExpressionData for DbData<'_, '_, '_> {
    fn workflow_execution(&self, id: &str) -> Result<Value, DataError> {
        let row = self.row(id)?;
        if id == self.state.0.execution.id {
            return self.current_record(row.as_ref());
        }
        let r = row.ok_or_else(|| {
            DataError::not_found(format!("Workflow execution not found [id={id}]"))
        })?;
        let l = self.listed(&r);
        Ok(json!({
            "id": l["id"], "name": l["name"], "spec": l["spec"], "input": l["input"],
            "params": l["params"], "created_at": l["created_at"], "updated_at": l["updated_at"],
            "root_execution_id": l["root_execution_id"],
        }))
    }

    fn workflow_executions(&self, filter: &ExecutionFilter) -> Result<Vec<Value>, DataError> {
        let from = filter.from_time.as_deref().map(parse_time).transpose()?;
        let to = filter.to_time.as_deref().map(parse_time).transpose()?;
        let rows = with_conn(self.conn, |c| {
            store::find_executions(
                c,
                self.vis,
                filter.id.as_deref(),
                filter.root_execution_id.as_deref(),
                None,
                from,
                to,
            )
        })
        .map_err(db_error)?;
        let mut out: Vec<Value> = rows.iter().map(|r| self.listed(r)).collect();
        // A start not stored yet is part of the session upstream reads.
        let cur = &self.state.0.execution;
        if !rows.iter().any(|r| r.id == cur.id) {
            let now = crate::db::now();
            let in_range = from.is_none_or(|f| now >= f) && to.is_none_or(|t| now < t);
            let matches = filter.id.as_deref().is_none_or(|i| i == cur.id)
                && filter
                    .root_execution_id
                    .as_deref()
                    .is_none_or(|r| Some(r) == cur.root_execution_id.as_deref());
            if in_range && matches {
                let mut rec = self.current_record(None)?;
                rec["state"] = json!(cur.state.as_str());
                out.push(rec);
            }
        }
        // The state filter applies to the current execution's in-memory state.
        if let Some(s) = &filter.state {
            out.retain(|e| e["state"].as_str() == Some(s.as_str()));
        }
        Ok(out)
    }

    fn sub_workflow_executions(&self, task_execution_id: &str) -> Result<Vec<Value>, DataError> {
        self.state.sub_workflow_executions(task_execution_id)
    }

    fn task_execution(&self, id: &str) -> Result<Value, DataError> {
        self.state.task_execution(id)
    }

    fn task_executions(&self, filter: &TaskFilter) -> Result<Vec<Value>, DataError> {
        self.state.task_executions(filter)
    }

    fn workflow_context(&self, execution_id: &str) -> Result<Value, DataError> {
        self.state.workflow_context(execution_id)
    }
}
