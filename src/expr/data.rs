//! Where Mistral's expression functions get their data from (task executions, workflow
//! executions, workflow contexts). The engine implements [`ExpressionData`] over its database;
//! [`MemoryData`] is an in-memory implementation used by `mistral-rs eval` and tests.

use serde_json::{Map, Value};

/// A failure of the data source. `retryable` marks database failures that must propagate
/// unchanged (upstream re-raises `DBError` so the transaction is retried) instead of being
/// wrapped into an expression evaluation error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataError {
    pub message: String,
    pub retryable: bool,
}

impl DataError {
    /// A non-retryable failure, e.g. `Workflow execution not found [id=...]`.
    pub fn not_found(message: impl Into<String>) -> Self {
        DataError {
            message: message.into(),
            retryable: false,
        }
    }
}

impl std::fmt::Display for DataError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Equality filters for task executions (all `None` = no filter).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskFilter {
    pub workflow_execution_id: Option<String>,
    pub name: Option<String>,
    pub state: Option<String>,
}

/// Filters of `executions()`: equality on id/root_execution_id/state,
/// `created_at >= from_time`, `created_at < to_time` (timestamps as `YYYY-MM-DD HH:MM:SS`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecutionFilter {
    pub id: Option<String>,
    pub root_execution_id: Option<String>,
    pub state: Option<String>,
    pub from_time: Option<String>,
    pub to_time: Option<String>,
}

/// Read access the expression functions need. Implementations may cache per transaction
/// (upstream caches `task()`, `tasks()`, `execution()`, `executions()` per DB transaction).
///
/// Task dicts use the user model of expressions.md §3.7 (`id, name, spec, state, state_info,
/// result, published, type, workflow_execution_id, created_at, updated_at`).
pub trait ExpressionData: Send + Sync {
    /// `execution()` of the workflow execution `id`: `{id, name, spec, input, params,
    /// created_at, updated_at, root_execution_id}`; not found -> error
    /// `Workflow execution not found [id=<id>]`.
    fn workflow_execution(&self, id: &str) -> Result<Value, DataError>;
    /// Workflow executions (API records) matching the filter, in creation order.
    fn workflow_executions(&self, filter: &ExecutionFilter) -> Result<Vec<Value>, DataError>;
    /// Sub-workflow executions started by a task execution (each has at least `id`, `state`).
    fn sub_workflow_executions(&self, task_execution_id: &str) -> Result<Vec<Value>, DataError>;
    /// One task execution (user model); not found -> error `Task execution not found [id=<id>]`.
    fn task_execution(&self, id: &str) -> Result<Value, DataError>;
    /// Task executions matching the filter (user model), in upstream's order (the last element
    /// is what `task(name)` returns when a task ran several times).
    fn task_executions(&self, filter: &TaskFilter) -> Result<Vec<Value>, DataError>;
    /// The workflow execution's context (`wf_ex.context`: globals and vars) for `global()`.
    fn workflow_context(&self, execution_id: &str) -> Result<Value, DataError>;
}

/// An [`ExpressionData`] without any executions: every lookup reports "not found".
#[derive(Debug, Default, Clone)]
pub struct NoData;

impl ExpressionData for NoData {
    fn workflow_execution(&self, id: &str) -> Result<Value, DataError> {
        Err(DataError::not_found(format!(
            "Workflow execution not found [id={id}]"
        )))
    }
    fn workflow_executions(&self, _: &ExecutionFilter) -> Result<Vec<Value>, DataError> {
        Ok(vec![])
    }
    fn sub_workflow_executions(&self, _: &str) -> Result<Vec<Value>, DataError> {
        Ok(vec![])
    }
    fn task_execution(&self, id: &str) -> Result<Value, DataError> {
        Err(DataError::not_found(format!(
            "Task execution not found [id={id}]"
        )))
    }
    fn task_executions(&self, _: &TaskFilter) -> Result<Vec<Value>, DataError> {
        Ok(vec![])
    }
    fn workflow_context(&self, id: &str) -> Result<Value, DataError> {
        Err(DataError::not_found(format!(
            "Workflow execution not found [id={id}]"
        )))
    }
}

/// In-memory executions and task executions.
///
/// * `executions`: workflow execution records. Keys used: `id`, `name`, `spec`, `input`,
///   `params`, `created_at`, `updated_at`, `root_execution_id`, `state`,
///   `task_execution_id` (set on sub-workflow executions), `context` (for `global()`).
/// * `tasks`: task execution records in the user model of `task()`.
#[derive(Debug, Default, Clone)]
pub struct MemoryData {
    pub executions: Vec<Value>,
    pub tasks: Vec<Value>,
}

fn field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn eq_opt(v: &Value, key: &str, want: &Option<String>) -> bool {
    match want {
        None => true,
        Some(w) => field(v, key) == Some(w.as_str()),
    }
}

impl MemoryData {
    /// Builds the store from an `eval` context document: `__executions` and `__tasks` lists
    /// are taken out (they are the "database", not part of the data view). The current
    /// execution (`__execution`) is added to the executions if no record has its id.
    pub fn from_context(context: &mut Value) -> MemoryData {
        let mut data = MemoryData::default();
        if let Value::Object(map) = context {
            if let Some(Value::Array(list)) = map.shift_remove("__executions") {
                data.executions = list;
            }
            if let Some(Value::Array(list)) = map.shift_remove("__tasks") {
                data.tasks = list;
            }
            if let Some(cur) = map.get("__execution") {
                if let Some(id) = field(cur, "id") {
                    if !data.executions.iter().any(|e| field(e, "id") == Some(id)) {
                        data.executions.push(cur.clone());
                    }
                }
            }
        }
        data
    }
}

const EXECUTION_KEYS: [&str; 8] = [
    "id",
    "name",
    "spec",
    "input",
    "params",
    "created_at",
    "updated_at",
    "root_execution_id",
];

impl ExpressionData for MemoryData {
    fn workflow_execution(&self, id: &str) -> Result<Value, DataError> {
        let ex = self
            .executions
            .iter()
            .find(|e| field(e, "id") == Some(id))
            .ok_or_else(|| {
                DataError::not_found(format!("Workflow execution not found [id={id}]"))
            })?;
        let mut out = Map::new();
        for key in EXECUTION_KEYS {
            let default = match key {
                "spec" | "input" | "params" => Value::Object(Map::new()),
                _ => Value::Null,
            };
            out.insert(key.to_string(), ex.get(key).cloned().unwrap_or(default));
        }
        Ok(Value::Object(out))
    }

    fn workflow_executions(&self, f: &ExecutionFilter) -> Result<Vec<Value>, DataError> {
        Ok(self
            .executions
            .iter()
            .filter(|e| {
                eq_opt(e, "id", &f.id)
                    && eq_opt(e, "root_execution_id", &f.root_execution_id)
                    && eq_opt(e, "state", &f.state)
                    && f.from_time
                        .as_deref()
                        .is_none_or(|t| field(e, "created_at").is_some_and(|c| c >= t))
                    && f.to_time
                        .as_deref()
                        .is_none_or(|t| field(e, "created_at").is_some_and(|c| c < t))
            })
            .map(|e| {
                let mut e = e.clone();
                if let Value::Object(m) = &mut e {
                    m.shift_remove("context");
                }
                e
            })
            .collect())
    }

    fn sub_workflow_executions(&self, task_execution_id: &str) -> Result<Vec<Value>, DataError> {
        Ok(self
            .executions
            .iter()
            .filter(|e| field(e, "task_execution_id") == Some(task_execution_id))
            .cloned()
            .collect())
    }

    fn task_execution(&self, id: &str) -> Result<Value, DataError> {
        self.tasks
            .iter()
            .find(|t| field(t, "id") == Some(id))
            .cloned()
            .ok_or_else(|| DataError::not_found(format!("Task execution not found [id={id}]")))
    }

    fn task_executions(&self, f: &TaskFilter) -> Result<Vec<Value>, DataError> {
        Ok(self
            .tasks
            .iter()
            .filter(|t| {
                eq_opt(t, "workflow_execution_id", &f.workflow_execution_id)
                    && eq_opt(t, "name", &f.name)
                    && eq_opt(t, "state", &f.state)
            })
            .cloned()
            .collect())
    }

    fn workflow_context(&self, execution_id: &str) -> Result<Value, DataError> {
        let ex = self
            .executions
            .iter()
            .find(|e| field(e, "id") == Some(execution_id))
            .ok_or_else(|| {
                DataError::not_found(format!("Workflow execution not found [id={execution_id}]"))
            })?;
        Ok(ex
            .get("context")
            .cloned()
            .unwrap_or(Value::Object(Map::new())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn memory_data_takes_tables_out_of_the_context() {
        let mut ctx = json!({
            "a": 1,
            "__execution": {"id": "e1", "name": "wf"},
            "__tasks": [{"id": "t1", "name": "t", "workflow_execution_id": "e1"}],
        });
        let data = MemoryData::from_context(&mut ctx);
        assert_eq!(
            ctx,
            json!({"a": 1, "__execution": {"id": "e1", "name": "wf"}})
        );
        assert_eq!(data.tasks.len(), 1);
        let ex = data.workflow_execution("e1").unwrap();
        assert_eq!(ex["name"], "wf");
        assert_eq!(ex["input"], json!({}));
        assert!(data
            .workflow_execution("zz")
            .unwrap_err()
            .message
            .contains("[id=zz]"));
    }

    #[test]
    fn memory_data_filters_executions_by_time_window() {
        let data = MemoryData {
            executions: vec![
                json!({"id": "a", "created_at": "2020-01-01 00:00:00", "state": "SUCCESS"}),
                json!({"id": "b", "created_at": "2021-01-01 00:00:00", "state": "ERROR"}),
            ],
            tasks: vec![],
        };
        let f = ExecutionFilter {
            from_time: Some("2020-06-01".into()),
            ..Default::default()
        };
        let got = data.workflow_executions(&f).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0]["id"], "b");
        let f = ExecutionFilter {
            to_time: Some("2020-06-01".into()),
            ..Default::default()
        };
        assert_eq!(data.workflow_executions(&f).unwrap()[0]["id"], "a");
    }
}
