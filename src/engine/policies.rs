//! Task policies (engine.md §9, dsl.md §7): which policy values apply to a task (task value if
//! it is "active", else task-defaults), and the parsed `retry` spec. The controller evaluates
//! the values and runs the hooks; delays become [`super::controller::Timer`] effects.

use serde_json::{Map, Value};

use super::spec::{parse_cmd_and_input, TaskSpec, WorkflowDef};
use super::util::truthy;

/// The policy keys, in the order their before-start hooks run.
pub const BEFORE_START: [&str; 4] = ["pause-before", "wait-before", "timeout", "concurrency"];

fn active(key: &str, v: &Value) -> bool {
    match key {
        "wait-before" | "wait-after" | "timeout" => match v {
            Value::String(_) => true,
            Value::Number(n) => n.as_f64().is_some_and(|f| f > 0.0),
            _ => false,
        },
        "retry" => !v.is_null() && truthy(v),
        _ => truthy(v),
    }
}

/// The raw (unevaluated) value of policy `key` for a task: the task's own if active, else the
/// task-defaults' if active.
pub fn policy_value(def: &WorkflowDef, task: &TaskSpec, key: &str) -> Option<Value> {
    if let Some(v) = task.body.get(key).filter(|v| active(key, v)) {
        return Some(v.clone());
    }
    def.task_defaults
        .body
        .get(key)
        .filter(|v| active(key, v))
        .cloned()
}

/// A `retry` policy as written (values may be expressions).
#[derive(Debug, Clone, PartialEq)]
pub struct RetrySpec {
    pub count: Value,
    pub delay: Value,
    pub break_on: Option<Value>,
    pub continue_on: Option<Value>,
}

/// Parses the mapping or one-line form (`count=3 delay=1 break-on=<% ... %>`).
pub fn retry_spec(v: &Value) -> Option<RetrySpec> {
    let m: Map<String, Value> = match v {
        Value::Object(m) => m.clone(),
        Value::String(s) => parse_cmd_and_input(&format!("retry {s}"))?.1,
        _ => return None,
    };
    Some(RetrySpec {
        count: m.get("count").cloned().unwrap_or(Value::from(0)),
        delay: m.get("delay").cloned().unwrap_or(Value::from(0)),
        break_on: m.get("break-on").filter(|v| !v.is_null()).cloned(),
        continue_on: m.get("continue-on").filter(|v| !v.is_null()).cloned(),
    })
}

/// A non-negative integer policy value after evaluation, or the upstream type error text.
pub fn as_delay(class: &str, v: &Value) -> Result<u64, String> {
    match v {
        Value::Number(n) if n.as_u64().is_some() => Ok(n.as_u64().unwrap_or(0)),
        other => Err(format!(
            "Invalid data type in {class}: {} is not of type 'integer'. Value(s) can be shown after YAQL evaluating. If you use YAQL here, please correct it.",
            super::util::py_repr(other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn task_policy_wins_only_when_active() {
        let def = WorkflowDef::from_body(
            "wf",
            &json!({"task-defaults": {"timeout": 5, "pause-before": true},
                    "tasks": {"t": {"timeout": 0, "wait-before": 2}}}),
        );
        let t = def.task("t").unwrap();
        assert_eq!(policy_value(&def, t, "timeout"), Some(json!(5)));
        assert_eq!(policy_value(&def, t, "wait-before"), Some(json!(2)));
        assert_eq!(policy_value(&def, t, "pause-before"), Some(json!(true)));
        assert_eq!(policy_value(&def, t, "fail-on"), None);
    }

    #[test]
    fn one_line_retry_is_parsed() {
        let r = retry_spec(&json!("count=3 delay=1")).unwrap();
        assert_eq!((r.count, r.delay), (json!(3), json!(1)));
    }
}
