//! The std actions as the engine sees them: upstream's signatures (from
//! `api/std_actions.json`) and the checks upstream's action constructors make, which fail a
//! task with `Failed to instantiate an action [...]` before any action execution exists.

use serde_json::{Map, Value};

use crate::api::builtin_actions;
use crate::engine::controller::SystemAction;
use crate::engine::spec::InputDecl;

/// The signature of a std action (`None` for unknown names).
pub fn std_action(name: &str) -> Option<SystemAction> {
    let b = builtin_actions::find(name)?;
    Some(SystemAction {
        name: b.name.clone(),
        class: b.class.clone(),
        params: parse_signature(&b.input),
        open_params: false,
        is_sync: !matches!(name, "std.async_noop" | "std.mistral_http"),
    })
}

/// `url, method="GET", params=null` -> declarations (defaults are JSON literals).
fn parse_signature(sig: &str) -> Vec<InputDecl> {
    sig.split(", ")
        .filter(|p| !p.trim().is_empty())
        .map(|p| match p.split_once('=') {
            Some((name, default)) => InputDecl {
                name: name.trim().into(),
                default: Some(serde_json::from_str(default.trim()).unwrap_or(Value::Null)),
            },
            None => InputDecl {
                name: p.trim().into(),
                default: None,
            },
        })
        .collect()
}

/// Python truthiness.
fn truthy(v: Option<&Value>) -> bool {
    v.is_some_and(crate::engine::util::truthy)
}

/// Whether upstream's constructor of this std action accepts `input` (the parameter names
/// were already checked). `Err` carries the reason for the log; the task error names only
/// the action, never the input (it may hold secrets).
pub fn instantiate(name: &str, input: &Map<String, Value>) -> Result<(), String> {
    match name {
        // float(delay) / int(seconds): a non-number, non-string value is a TypeError
        // (a malformed string is a ValueError the constructor turns into 0).
        "std.echo" => numeric_or_string(input.get("delay"), "float"),
        "std.sleep" => numeric_or_string(input.get("seconds"), "int"),
        "std.http" | "std.mistral_http" => {
            let auth = input.get("auth");
            if truthy(auth) && !matches!(auth, Some(Value::String(_))) {
                return Err("'auth' must be a string 'user:password'".into());
            }
            if truthy(input.get("body")) && truthy(input.get("json")) {
                return Err("Only one of the parameters 'json' and 'body' can be passed".into());
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn numeric_or_string(v: Option<&Value>, conv: &str) -> Result<(), String> {
    match v {
        None | Some(Value::Number(_)) | Some(Value::Bool(_)) | Some(Value::String(_)) => Ok(()),
        Some(other) => Err(format!(
            "{conv}() argument must be a string or a number, not {}",
            crate::engine::util::py_repr(other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn all_thirteen_are_known_with_upstream_signatures() {
        for b in builtin_actions::all() {
            let a = std_action(&b.name).expect(&b.name);
            assert_eq!(a.class, b.class);
        }
        let http = std_action("std.http").unwrap();
        assert_eq!(http.params[0].name, "url");
        assert!(http.params[0].default.is_none());
        assert_eq!(http.params[1].default, Some(json!("GET")));
        assert_eq!(http.params.len(), 12);
        assert!(!std_action("std.mistral_http").unwrap().is_sync);
        let ssh = std_action("std.ssh").unwrap();
        assert_eq!(ssh.params.last().unwrap().default, Some(Value::Bool(false)));
        assert!(std_action("std.nope").is_none());
    }

    #[test]
    fn constructor_checks_follow_upstream() {
        let m = |v: Value| v.as_object().unwrap().clone();
        assert!(instantiate(
            "std.http",
            &m(json!({"url": "x", "body": "a", "json": {"a": 1}}))
        )
        .is_err());
        assert!(instantiate(
            "std.http",
            &m(json!({"url": "x", "body": "", "json": {"a": 1}}))
        )
        .is_ok());
        assert!(instantiate("std.http", &m(json!({"url": "x", "auth": ["u", "p"]}))).is_err());
        assert!(instantiate("std.http", &m(json!({"url": "x", "auth": "u:p"}))).is_ok());
        assert!(instantiate("std.sleep", &m(json!({"seconds": null}))).is_err());
        assert!(instantiate("std.sleep", &m(json!({"seconds": "x"}))).is_ok());
    }
}
