//! Runs actions. The engine hands every action to [`execute`] through its outbox; the catalog
//! of actions the engine can run natively is [`system_action`].

pub mod python;

use std::time::Duration;

use serde_json::Value;

use crate::engine::controller::{ActionOutcome, SystemAction};

/// The signature of an action this executor runs natively (`None` for unknown names).
pub fn system_action(name: &str) -> Option<SystemAction> {
    crate::engine::sim::std_action(name).or_else(|| python::system_action(name))
}

/// Where an action runs, for actions that want to know (mistral-lib's execution context).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecContext {
    pub workflow_execution_id: Option<String>,
    pub task_execution_id: Option<String>,
    pub workflow_name: Option<String>,
    /// The task's `timeout` policy in seconds: bounds the wait for a Python action.
    pub timeout: Option<u64>,
}

/// The in-process executor: runs the std actions it knows natively (std.echo's `delay` and
/// std.sleep's `seconds` really wait). `None` for asynchronous actions (the result is posted
/// through the API later).
pub async fn execute(
    base_action: &str,
    input: &Value,
    action_ex_id: &str,
    ctx: &ExecContext,
) -> Option<ActionOutcome> {
    if crate::engine::sim::std_action(base_action).is_none()
        && python::is_python_action(base_action)
    {
        return python::run(base_action, input, action_ex_id, ctx).await;
    }
    let secs = match base_action {
        "std.echo" => input.get("delay").and_then(Value::as_f64),
        "std.sleep" => input.get("seconds").and_then(Value::as_f64),
        _ => None,
    }
    .filter(|d| d.is_finite() && *d > 0.0)
    .unwrap_or(0.0);
    if secs > 0.0 {
        tokio::time::sleep(Duration::from_secs_f64(secs.min(86_400.0))).await;
    }
    if system_action(base_action).is_none() {
        return Some(ActionOutcome::Error(Value::String(format!(
            "The action raised an exception [action={base_action}, action_ex_id={action_ex_id}, msg='action {base_action} is not supported by the mistral-rs executor']"
        ))));
    }
    crate::engine::sim::run_std_action(base_action, input, action_ex_id)
}
