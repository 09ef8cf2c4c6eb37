//! The engine's expression adapter: evaluates through `crate::expr` with the execution state as
//! the data source of `task()`, `tasks()`, `execution()`, `global()`.

use serde_json::{json, Value};

use super::controller::{Expressions, WorkflowState};
use super::state::ChildKind;
use crate::expr::{DataError, ExecutionFilter, ExpressionData, TaskFilter};

/// [`Expressions`] over `crate::expr::Evaluator`.
#[derive(Debug, Clone, Default)]
pub struct ExprAdapter {
    pub evaluator: crate::expr::Evaluator,
}

impl Expressions for ExprAdapter {
    fn evaluate(
        &self,
        value: &Value,
        view: &Value,
        state: &WorkflowState,
    ) -> Result<Value, String> {
        let data = StateData(state);
        self.evaluator
            .evaluate_view(value, view, &data)
            .map_err(|e| e.message)
    }
}

/// One execution's state seen as the expression functions' data source.
pub struct StateData<'a>(pub &'a WorkflowState);

impl StateData<'_> {
    fn execution_record(&self) -> Value {
        let ex = &self.0.execution;
        json!({
            "id": ex.id,
            "name": ex.name,
            "spec": self.0.def.body,
            "input": ex.input,
            "params": ex.params,
            "created_at": null,
            "updated_at": null,
            "root_execution_id": ex.root_execution_id,
        })
    }
}

impl ExpressionData for StateData<'_> {
    fn workflow_execution(&self, id: &str) -> Result<Value, DataError> {
        if id == self.0.execution.id {
            Ok(self.execution_record())
        } else {
            Err(DataError::not_found(format!(
                "Workflow execution not found [id={id}]"
            )))
        }
    }

    fn workflow_executions(&self, filter: &ExecutionFilter) -> Result<Vec<Value>, DataError> {
        let ex = &self.0.execution;
        let ok = filter.id.as_deref().is_none_or(|i| i == ex.id)
            && filter
                .state
                .as_deref()
                .is_none_or(|s| s == ex.state.as_str())
            && filter
                .root_execution_id
                .as_deref()
                .is_none_or(|r| Some(r) == ex.root_execution_id.as_deref());
        Ok(if ok {
            vec![self.execution_record()]
        } else {
            vec![]
        })
    }

    fn sub_workflow_executions(&self, task_execution_id: &str) -> Result<Vec<Value>, DataError> {
        Ok(self
            .0
            .children_of(task_execution_id)
            .filter(|a| a.kind == ChildKind::Workflow)
            .map(|a| json!({"id": a.id, "state": a.state.as_str(), "output": a.output}))
            .collect())
    }

    fn task_execution(&self, id: &str) -> Result<Value, DataError> {
        self.0
            .task_by_id(id)
            .map(|t| self.0.task_user_model(t))
            .ok_or_else(|| DataError::not_found(format!("Task execution not found [id={id}]")))
    }

    fn task_executions(&self, filter: &TaskFilter) -> Result<Vec<Value>, DataError> {
        if filter
            .workflow_execution_id
            .as_deref()
            .is_some_and(|w| w != self.0.execution.id)
        {
            return Ok(vec![]);
        }
        Ok(self
            .0
            .tasks
            .iter()
            .filter(|t| filter.name.as_deref().is_none_or(|n| n == t.name))
            .filter(|t| {
                filter
                    .state
                    .as_deref()
                    .is_none_or(|s| s == t.state.as_str())
            })
            .map(|t| self.0.task_user_model(t))
            .collect())
    }

    fn workflow_context(&self, execution_id: &str) -> Result<Value, DataError> {
        if execution_id == self.0.execution.id {
            Ok(Value::Object(self.0.execution.context.clone()))
        } else {
            Err(DataError::not_found(format!(
                "Workflow execution not found [id={execution_id}]"
            )))
        }
    }
}
