//! Task policies (engine.md §9, dsl.md §7): which policy values apply to a task (task value if
//! it is "active", else task-defaults), and the parsed `retry` spec. The controller evaluates
//! the values and runs the hooks; delays become [`super::controller::Timer`] effects.

use serde_json::{Map, Value};

use super::spec::{parse_cmd_and_input, TaskSpec, WorkflowDef};
use super::util::{py_repr, truthy};

/// The task policies upstream builds, in the order their hooks run (engine.md §9): every
/// hook of every applicable policy runs, before start and again after completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    PauseBefore,
    WaitBefore,
    WaitAfter,
    FailOn,
    Retry,
    Timeout,
    Concurrency,
}

impl Policy {
    pub const ALL: [Policy; 7] = [
        Policy::PauseBefore,
        Policy::WaitBefore,
        Policy::WaitAfter,
        Policy::FailOn,
        Policy::Retry,
        Policy::Timeout,
        Policy::Concurrency,
    ];

    /// The DSL key.
    pub fn key(self) -> &'static str {
        match self {
            Policy::PauseBefore => "pause-before",
            Policy::WaitBefore => "wait-before",
            Policy::WaitAfter => "wait-after",
            Policy::FailOn => "fail-on",
            Policy::Retry => "retry",
            Policy::Timeout => "timeout",
            Policy::Concurrency => "concurrency",
        }
    }

    /// Upstream's class name, as error messages show it.
    pub fn class(self) -> &'static str {
        match self {
            Policy::PauseBefore => "PauseBeforePolicy",
            Policy::WaitBefore => "WaitBeforePolicy",
            Policy::WaitAfter => "WaitAfterPolicy",
            Policy::FailOn => "FailOnPolicy",
            Policy::Retry => "RetryPolicy",
            Policy::Timeout => "TimeoutPolicy",
            Policy::Concurrency => "ConcurrencyPolicy",
        }
    }

    /// The evaluated field checked as a non-negative integer (`delay` for the timers).
    pub fn int_field(self) -> Option<&'static str> {
        match self {
            Policy::WaitBefore | Policy::WaitAfter | Policy::Timeout => Some("delay"),
            Policy::Concurrency => Some("concurrency"),
            _ => None,
        }
    }
}

/// The policies that apply to a task with their raw values, in hook order.
pub fn task_policies(def: &WorkflowDef, task: &TaskSpec) -> Vec<(Policy, Value)> {
    Policy::ALL
        .into_iter()
        .filter_map(|p| policy_value(def, task, p.key()).map(|v| (p, v)))
        .collect()
}

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

/// Checks an evaluated integer field as the policy's JSON schema (`{'type': 'integer',
/// 'minimum': 0}`) does; the error is upstream's `Invalid data type ...` message.
pub fn non_negative_int(class: &str, field: &str, v: &Value) -> Result<u64, String> {
    let schema = "{'type': 'integer', 'minimum': 0}";
    let integral = match v {
        Value::Number(n) => n.as_i64().map(|i| i as f64).or_else(|| {
            // jsonschema counts floats without a fraction (2.0) as integers.
            n.as_f64().filter(|f| f.fract() == 0.0)
        }),
        _ => None,
    };
    match integral {
        None => Err(invalid(
            class,
            field,
            v,
            "type",
            "is not of type 'integer'",
            schema,
        )),
        Some(f) if f < 0.0 => Err(invalid(
            class,
            field,
            v,
            "minimum",
            "is less than the minimum of 0",
            schema,
        )),
        Some(f) => Ok(f as u64),
    }
}

/// Checks an evaluated boolean field (`{'type': 'boolean'}`).
pub fn boolean(class: &str, field: &str, v: &Value) -> Result<bool, String> {
    match v {
        Value::Bool(b) => Ok(*b),
        other => Err(invalid(
            class,
            field,
            other,
            "type",
            "is not of type 'boolean'",
            "{'type': 'boolean'}",
        )),
    }
}

/// `Invalid data type in <Class>: <str(jsonschema.ValidationError)>. Value(s) ...`.
fn invalid(class: &str, field: &str, v: &Value, check: &str, what: &str, schema: &str) -> String {
    let shown = py_repr(v);
    format!(
        "Invalid data type in {class}: {shown} {what}\n\nFailed validating '{check}' in schema['properties']['{field}']:\n    {schema}\n\nOn instance['{field}']:\n    {shown}. Value(s) can be shown after YAQL evaluating. If you use YAQL here, please correct it."
    )
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
    fn bad_values_get_the_jsonschema_text() {
        assert_eq!(non_negative_int("TimeoutPolicy", "delay", &json!(3)), Ok(3));
        assert_eq!(
            non_negative_int("TimeoutPolicy", "delay", &json!(2.0)),
            Ok(2)
        );
        let neg = non_negative_int("RetryPolicy", "count", &json!(-1)).unwrap_err();
        assert!(neg.starts_with(
            "Invalid data type in RetryPolicy: -1 is less than the minimum of 0\n\nFailed validating 'minimum' in schema['properties']['count']:"
        ));
        let s = non_negative_int("ConcurrencyPolicy", "concurrency", &json!("x")).unwrap_err();
        assert!(s.contains("'x' is not of type 'integer'"), "{s}");
        assert!(s.ends_with("On instance['concurrency']:\n    'x'. Value(s) can be shown after YAQL evaluating. If you use YAQL here, please correct it."));
        let f = non_negative_int("WaitBeforePolicy", "delay", &json!(0.5)).unwrap_err();
        assert!(f.contains("0.5 is not of type 'integer'"), "{f}");
        assert!(non_negative_int("WaitBeforePolicy", "delay", &json!(true)).is_err());
        assert!(boolean("PauseBeforePolicy", "expr", &json!("yes"))
            .unwrap_err()
            .contains("'yes' is not of type 'boolean'"));
    }

    #[test]
    fn policies_keep_upstream_hook_order() {
        let def = WorkflowDef::from_body(
            "wf",
            &json!({"task-defaults": {"timeout": 5},
                    "tasks": {"t": {"concurrency": 2, "pause-before": true, "retry": {"count": 1, "delay": 0}}}}),
        );
        let keys: Vec<&str> = task_policies(&def, def.task("t").unwrap())
            .into_iter()
            .map(|(p, _)| p.key())
            .collect();
        assert_eq!(keys, ["pause-before", "retry", "timeout", "concurrency"]);
    }

    #[test]
    fn one_line_retry_is_parsed() {
        let r = retry_spec(&json!("count=3 delay=1")).unwrap();
        assert_eq!((r.count, r.delay), (json!(3), json!(1)));
    }
}
