//! Runs actions. The engine hands every action to [`execute`] through its outbox; the catalog
//! of actions the engine can run natively is [`system_action`].

pub mod python;

use std::time::Duration;

use serde_json::Value;

use crate::engine::controller::{ActionOutcome, SystemAction};

pub mod catalog;
pub mod email;
pub mod http;
pub mod javascript;
pub mod ssh;

/// What an action learns about where it runs (upstream's `context.execution`).
#[derive(Debug, Clone, Default)]
pub struct ActionContext {
    pub action_execution_id: String,
    pub task_execution_id: Option<String>,
    pub workflow_execution_id: Option<String>,
    pub workflow_name: Option<String>,
    /// The task's `timeout` policy in seconds: bounds the wait for a Python action.
    pub timeout: Option<u64>,
}

impl ActionContext {
    /// An action run outside any workflow (`POST /v2/action_executions`).
    pub fn for_action(action_execution_id: &str) -> Self {
        ActionContext {
            action_execution_id: action_execution_id.to_string(),
            ..Default::default()
        }
    }
}

/// The signature of an action this executor runs natively (`None` for unknown names).
pub fn system_action(name: &str) -> Option<SystemAction> {
    catalog::std_action(name).or_else(|| python::system_action(name))
}

/// Applies the executor's settings (`[action_std_http]`).
pub fn configure(settings: &crate::config::Settings) {
    http::configure(settings);
}

/// The error text of an exception raised by an action's `run`, as upstream's executor writes
/// it; `class` is the short name of upstream's action class (its default `repr` names it).
pub(crate) fn raised(class: &str, action_ex_id: &str, msg: &str) -> ActionOutcome {
    // A stable stand-in for the object address Python prints.
    let addr = action_ex_id.bytes().fold(0x7f00_0000_0000u64, |h, b| {
        (h.wrapping_mul(31).wrapping_add(b as u64) & 0xffff_ffff_fff0) | 0x7f00_0000_0000
    });
    ActionOutcome::Error(Value::String(format!(
        "The action raised an exception [action=<mistral.actions.std_actions.{class} object at {addr:#x}>, action_ex_id={action_ex_id}, msg='{msg}']"
    )))
}

/// The in-process executor (see [`execute_in`]) for an action known only by its id.
pub async fn execute(
    base_action: &str,
    input: &Value,
    action_ex_id: &str,
) -> Option<ActionOutcome> {
    execute_in(&ActionContext::for_action(action_ex_id), base_action, input).await
}

/// The in-process executor: runs the std actions natively (std.echo's `delay` and
/// std.sleep's `seconds` really wait). `None` for asynchronous actions (the result is posted
/// through the API later).
pub async fn execute_in(
    ctx: &ActionContext,
    base_action: &str,
    input: &Value,
) -> Option<ActionOutcome> {
    let action_ex_id = ctx.action_execution_id.as_str();
    if catalog::std_action(base_action).is_none() && python::is_python_action(base_action) {
        return python::run(base_action, input, action_ex_id, ctx).await;
    }
    // The std actions that reach the outside world, each in its own module.
    match base_action {
        "std.http" => return http::run(ctx, input, false).await,
        "std.mistral_http" => return http::run(ctx, input, true).await,
        "std.javascript" | "std.js" => return Some(javascript::run(ctx, input).await),
        "std.ssh" => return Some(ssh::run(ctx, input, false).await),
        "std.ssh_proxied" => return Some(ssh::run(ctx, input, true).await),
        "std.email" => return Some(email::run(ctx, input).await),
        _ => {}
    }
    let secs = match base_action {
        "std.echo" => input.get("delay").and_then(Value::as_f64),
        "std.sleep" => Some(sleep_seconds(input.get("seconds")) as f64),
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

/// std.sleep's `int(seconds)`: numbers truncate, strings must be integers (else 0), negative
/// is 0.
fn sleep_seconds(v: Option<&Value>) -> u64 {
    let n = match v {
        None => 1,
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f.trunc() as i64))
            .unwrap_or(0),
        Some(Value::Bool(b)) => *b as i64,
        Some(Value::String(s)) => s.trim().replace('_', "").parse::<i64>().unwrap_or(0),
        Some(_) => 0,
    };
    n.max(0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sleep_seconds_is_python_int() {
        assert_eq!(sleep_seconds(None), 1);
        assert_eq!(sleep_seconds(Some(&json!(2.9))), 2);
        assert_eq!(sleep_seconds(Some(&json!("3"))), 3);
        assert_eq!(sleep_seconds(Some(&json!("1.5"))), 0);
        assert_eq!(sleep_seconds(Some(&json!(-4))), 0);
    }

    #[test]
    fn raised_names_the_class() {
        let ActionOutcome::Error(Value::String(s)) = raised("HTTPAction", "abc", "boom") else {
            panic!()
        };
        assert!(s.starts_with(
            "The action raised an exception [action=<mistral.actions.std_actions.HTTPAction object at 0x7f"
        ));
        assert!(s.ends_with(">, action_ex_id=abc, msg='boom']"));
    }
}
