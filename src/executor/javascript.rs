//! `std.javascript` / `std.js`: the script runs as the body of a function in an embedded
//! QuickJS engine with `$` bound to the action's `context` input, and the function's return
//! value (converted through JSON) is the result. A thrown error fails the action with
//! `JavaScriptAction failed: <error>`.
//!
//! Upstream evaluates `$ = <context as JSON>; function f() { <script> } f()`; with no
//! context that text is `$ = None` (a ReferenceError in every engine upstream supports), so
//! here a missing context binds `$` to `null` instead.

use serde_json::Value;

use super::{raised, ActionContext};
use crate::engine::controller::ActionOutcome;

/// Memory a script may use (QuickJS heap).
const MEMORY_LIMIT: usize = 256 * 1024 * 1024;

pub async fn run(ctx: &ActionContext, input: &Value) -> ActionOutcome {
    let script = match input.get("script") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => crate::engine::util::py_str(other),
        None => String::new(),
    };
    let context = input.get("context").cloned().unwrap_or(Value::Null);
    // QuickJS blocks the thread it runs on.
    let res = tokio::task::spawn_blocking(move || evaluate(&script, &context))
        .await
        .unwrap_or_else(|e| Err(format!("the JavaScript engine stopped: {e}")));
    match res {
        Ok(v) => ActionOutcome::Success(v),
        Err(e) => raised(
            "JavaScriptAction",
            &ctx.action_execution_id,
            &format!("JavaScriptAction failed: {e}"),
        ),
    }
}

/// Evaluates `script` as a function body with `$` = `context`.
pub fn evaluate(script: &str, context: &Value) -> Result<Value, String> {
    let rt = rquickjs::Runtime::new().map_err(|e| e.to_string())?;
    rt.set_memory_limit(MEMORY_LIMIT);
    let js = rquickjs::Context::full(&rt).map_err(|e| e.to_string())?;
    let ctx_json = serde_json::to_string(context).unwrap_or_else(|_| "null".into());
    // The result goes out as JSON text (`undefined` and functions become null).
    let code = format!(
        "var $ = {ctx_json};\n(function () {{ var __r = (function f() {{\n{script}\n}})(); \
         var __s = __r === undefined ? undefined : JSON.stringify(__r); \
         return __s === undefined ? 'null' : __s; }})()"
    );
    js.with(|c| match c.eval::<String, _>(code) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| e.to_string()),
        Err(rquickjs::Error::Exception) => Err(describe(&c.catch())),
        Err(e) => Err(e.to_string()),
    })
}

/// `Name: message` of a thrown error; other thrown values as their string form.
fn describe(v: &rquickjs::Value<'_>) -> String {
    if let Some(obj) = v.as_object() {
        let name: Option<String> = obj.get("name").ok();
        let message: Option<String> = obj.get("message").ok();
        if let Some(m) = message {
            return match name {
                Some(n) if !n.is_empty() => format!("{n}: {m}"),
                _ => m,
            };
        }
    }
    if let Some(s) = v.as_string() {
        return s.to_string().unwrap_or_default();
    }
    v.ctx()
        .json_stringify(v.clone())
        .ok()
        .flatten()
        .and_then(|s| s.to_string().ok())
        .unwrap_or_else(|| "uncaught exception".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn returns_the_function_value_with_dollar_context() {
        assert_eq!(
            evaluate("return $.a + $.b.length;", &json!({"a": 1, "b": [1, 2]})).unwrap(),
            json!(3)
        );
        assert_eq!(
            evaluate("return {x: [1, 'y', null], z: true};", &Value::Null).unwrap(),
            json!({"x": [1, "y", null], "z": true})
        );
        assert_eq!(evaluate("var a = 1;", &Value::Null).unwrap(), Value::Null);
        assert_eq!(evaluate("return $;", &Value::Null).unwrap(), Value::Null);
        assert_eq!(
            evaluate("return 'é' + $;", &json!("ü")).unwrap(),
            json!("éü")
        );
    }

    #[test]
    fn errors_name_the_exception() {
        assert_eq!(
            evaluate("return nope + 1;", &Value::Null).unwrap_err(),
            "ReferenceError: nope is not defined"
        );
        assert_eq!(
            evaluate("throw new TypeError('bad');", &Value::Null).unwrap_err(),
            "TypeError: bad"
        );
        assert_eq!(
            evaluate("throw 'plain';", &Value::Null).unwrap_err(),
            "plain"
        );
        assert!(evaluate("return (", &Value::Null)
            .unwrap_err()
            .starts_with("SyntaxError"));
    }

    #[tokio::test]
    async fn action_error_text() {
        let ctx = ActionContext::for_action("a1");
        let ActionOutcome::Error(Value::String(s)) =
            run(&ctx, &json!({"script": "return x;", "context": null})).await
        else {
            panic!("expected an error")
        };
        assert!(s.contains("JavaScriptAction object at 0x"), "{s}");
        assert!(s.ends_with("msg='JavaScriptAction failed: ReferenceError: x is not defined']"));
    }
}
