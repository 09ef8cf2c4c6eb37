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

/// Upstream's executor runs a synchronous action with the task's `timeout`: when the action
/// takes longer, it still waits for it and then reports this error instead of its result.
pub fn timed_out(base_action: &str, action_ex_id: &str, timeout: u64) -> ActionOutcome {
    ActionOutcome::Error(Value::String(format!(
        "The action raised an exception [action={}, action_ex_id={action_ex_id}, msg='Timeout after {timeout} seconds']",
        action_object(base_action)
    )))
}

/// `str()` of upstream's action object, as its error messages show it.
fn action_object(base_action: &str) -> String {
    let class = match base_action {
        "std.fail" => return "Fail action".into(),
        "std.echo" => "EchoAction",
        "std.sleep" => "SleepAction",
        "std.noop" => "NoOpAction",
        "std.async_noop" => "AsyncNoOpAction",
        "std.test_dict" => "TestDictAction",
        "std.http" => "HTTPAction",
        "std.mistral_http" => "MistralHTTPAction",
        "std.email" => "SendEmailAction",
        "std.ssh" => "SSHAction",
        "std.ssh_proxied" => "SSHProxiedAction",
        "std.javascript" | "std.js" => "JavaScriptAction",
        other => return other.to_string(),
    };
    // The address is an arbitrary (but well-formed) stand-in for Python's id().
    format!("<mistral.actions.std_actions.{class} object at 0x7f0000000000>")
}
