//! Jinja2 as Mistral configures it (SandboxedEnvironment, StrictUndefined, trim_blocks,
//! lstrip_blocks, no autoescape), on top of minijinja.

pub mod filters;
pub mod methods;
pub mod pyops;
pub mod values;

use super::data::ExpressionData;
use super::functions::{FnError, Lang, MistralFn};
use minijinja::value::{Object, ObjectRepr, Rest, Value, ValueKind};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior};
use std::cell::Cell;
use std::sync::Arc;
use values::{from_json, py_str, to_json};

/// How a Jinja evaluation failed, in the batch protocol's kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JinjaErrorKind {
    Syntax,
    Evaluation,
    Limit,
    /// The result grew beyond the size budget (upstream: MemoryError).
    Memory,
    /// A retryable data-source failure (propagated unchanged).
    Data,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JinjaError {
    pub kind: JinjaErrorKind,
    /// `str(exception)` as Jinja2 would produce it.
    pub message: String,
}

/// Limits that keep a hostile expression from hanging or exhausting the process.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// minijinja instructions per evaluation.
    pub fuel: u64,
    /// nesting depth of macros/includes/recursion.
    pub recursion: usize,
    /// most list items a result (and the conversions/filters producing it) may hold.
    pub max_items: usize,
    /// most string bytes a result may hold.
    pub max_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel: 5_000_000,
            recursion: 100,
            max_items: 5_000_000,
            max_bytes: 200_000_000,
        }
    }
}

/// The data the current evaluation runs against, reachable from Mistral's global functions.
struct Scope {
    context: *const serde_json::Value,
    data: *const (dyn ExpressionData + 'static),
}

thread_local! {
    static SCOPE: Cell<Option<(*const serde_json::Value, *const (dyn ExpressionData + 'static))>> =
        const { Cell::new(None) };
    static DATA_ERROR: std::cell::RefCell<Option<super::data::DataError>> =
        const { std::cell::RefCell::new(None) };
}

/// Sets the scope for the duration of one evaluation on this thread (restored on drop, so
/// nested evaluations work).
struct ScopeGuard {
    previous: Option<(
        *const serde_json::Value,
        *const (dyn ExpressionData + 'static),
    )>,
}

impl ScopeGuard {
    fn enter(context: &serde_json::Value, data: &dyn ExpressionData) -> ScopeGuard {
        let data_ptr: *const (dyn ExpressionData + '_) = data;
        // SAFETY: only the pointer's lifetime bound is erased; the pointer is dereferenced
        // exclusively by `with_scope` while this guard is alive, i.e. while `data` and
        // `context` are borrowed by the evaluation running on this thread.
        let data_ptr: *const (dyn ExpressionData + 'static) =
            unsafe { std::mem::transmute(data_ptr) };
        let scope = Scope {
            context,
            data: data_ptr,
        };
        let previous = SCOPE.with(|s| s.replace(Some((scope.context, scope.data))));
        ScopeGuard { previous }
    }
}

impl Drop for ScopeGuard {
    fn drop(&mut self) {
        SCOPE.with(|s| s.set(self.previous));
    }
}

fn with_scope<R>(f: impl FnOnce(&serde_json::Value, &dyn ExpressionData) -> R) -> Option<R> {
    let (ctx, data) = SCOPE.with(|s| s.get())?;
    // SAFETY: see `ScopeGuard::enter`: both pointers are valid while the guard lives, and the
    // guard outlives every template/expression evaluation that can call this.
    unsafe { Some(f(&*ctx, &*data)) }
}

fn mistral_global(
    f: MistralFn,
) -> impl Fn(Rest<Value>) -> Result<Value, Error> + Send + Sync + 'static {
    move |args: Rest<Value>| {
        let split = methods::split_args(&args);
        let mut pos = Vec::with_capacity(split.pos.len());
        for v in &split.pos {
            pos.push(to_json(v)?);
        }
        let mut kw = Vec::with_capacity(split.kw.len());
        for (k, v) in &split.kw {
            kw.push((k.clone(), to_json(v)?));
        }
        let bound = f
            .bind_python(&pos, &kw)
            .map_err(|m| Error::new(ErrorKind::InvalidOperation, m))?;
        let result =
            with_scope(|ctx, data| f.call(&bound, Lang::Jinja, ctx, data)).unwrap_or_else(|| {
                f.call(
                    &bound,
                    Lang::Jinja,
                    &serde_json::Value::Null,
                    &super::data::NoData,
                )
            });
        match result {
            Ok(v) => Ok(from_json(&v)),
            Err(FnError::Eval(m)) => Err(Error::new(ErrorKind::InvalidOperation, m)),
            Err(FnError::NoMatch) => Err(Error::new(
                ErrorKind::InvalidOperation,
                "no matching function",
            )),
            Err(FnError::Limit(m)) => Err(Error::new(ErrorKind::OutOfFuel, m)),
            Err(FnError::Data(e)) => {
                let msg = e.message.clone();
                DATA_ERROR.with(|d| *d.borrow_mut() = Some(e));
                Err(Error::new(ErrorKind::InvalidOperation, msg))
            }
        }
    }
}

/// The root variables of an evaluation: `_`, `__env`, `__execution`, `__task_execution`.
#[derive(Debug)]
struct Root {
    view: Value,
    env: Option<Value>,
    execution: Option<Value>,
    task_execution: Option<Value>,
    globals: &'static [&'static str],
}

impl Object for Root {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let name = key.as_str()?;
        let found = match name {
            "_" => Some(self.view.clone()),
            "__env" => self.env.clone(),
            "__execution" => self.execution.clone(),
            "__task_execution" => self.task_execution.clone(),
            _ => None,
        };
        if found.is_none() && !self.globals.contains(&name) {
            values::record_miss(format!("'{name}' is undefined"));
        }
        found
    }

    fn enumerate(self: &Arc<Self>) -> minijinja::value::Enumerator {
        minijinja::value::Enumerator::Str(&["_", "__env", "__execution", "__task_execution"])
    }
}

const GLOBAL_NAMES: &[&str] = &[
    "range",
    "dict",
    "lipsum",
    "cycler",
    "joiner",
    "namespace",
    "env",
    "execution",
    "executions",
    "global",
    "json_dump",
    "json_parse",
    "task",
    "tasks",
    "uuid",
    "yaml_dump",
    "yaml_parse",
    "true",
    "false",
    "none",
    "True",
    "False",
    "None",
    "loop",
    "self",
    "caller",
    "varargs",
    "kwargs",
];

/// The configured Jinja environment.
pub struct Jinja {
    env: Environment<'static>,
    limits: Limits,
}

impl std::fmt::Debug for Jinja {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jinja")
            .field("limits", &self.limits)
            .finish()
    }
}

impl Jinja {
    pub fn new(limits: Limits) -> Jinja {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_keep_trailing_newline(false);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_fuel(Some(limits.fuel));
        env.set_recursion_limit(limits.recursion);
        env.set_formatter(|out, _state, value| {
            if value.is_undefined() {
                return Err(Error::from(ErrorKind::UndefinedError));
            }
            let s = py_str(value)?;
            out.write_str(&s)
                .map_err(|_| Error::new(ErrorKind::WriteFailure, "write failed"))
        });
        env.set_unknown_method_callback(|state, value, name, args| {
            methods::call_py_method(state, value, name, args)
        });
        filters::install(&mut env);
        pyops::install(&mut env);
        for f in MistralFn::ALL {
            env.add_function(f.name(), mistral_global(f));
        }
        Jinja { env, limits }
    }

    /// The root object; must be called inside a [`values::BorrowScope`] while `context`
    /// stays borrowed.
    fn root(context: &serde_json::Value, view: bool) -> Value {
        let type_name = if view {
            "mistral.workflow.data_flow.ContextView"
        } else {
            "dict"
        };
        let field = |k: &str, map: &serde_json::Map<String, serde_json::Value>| {
            Some(
                map.get(k)
                    .map(|v| values::borrow_json(v, "dict"))
                    .unwrap_or(Value::from(())),
            )
        };
        let (env, execution, task_execution) = match context {
            serde_json::Value::Object(map) => (
                field("__env", map),
                field("__execution", map),
                field("__task_execution", map),
            ),
            _ => (None, None, None),
        };
        Value::from_object(Root {
            view: values::borrow_json(context, type_name),
            env,
            execution,
            task_execution,
            globals: GLOBAL_NAMES,
        })
    }

    /// Parses a template (upstream `validate`: `env.parse(text)`); returns Jinja2's message.
    pub fn check_template(&self, text: &str) -> Result<(), JinjaError> {
        self.env
            .template_from_str(text)
            .map(|_| ())
            .map_err(|e| self.map_error(e))
    }

    /// Parses a bare expression.
    pub fn check_expression(&self, text: &str) -> Result<(), JinjaError> {
        self.env
            .compile_expression(text)
            .map(|_| ())
            .map_err(|e| self.map_error(e))
    }

    /// Evaluates a bare expression (`compile_expression`), returning the native value as JSON.
    pub fn eval_expression(
        &self,
        expr: &str,
        context: &serde_json::Value,
        data: &dyn ExpressionData,
        view: bool,
    ) -> Result<serde_json::Value, JinjaError> {
        values::clear_miss();
        values::reset_budget(self.limits.max_items, self.limits.max_bytes);
        DATA_ERROR.with(|d| d.borrow_mut().take());
        let _guard = ScopeGuard::enter(context, data);
        let _borrow = values::BorrowScope::enter();
        let rewritten = pyops::rewrite_expression(expr);
        let compiled = match rewritten
            .as_deref()
            .and_then(|r| self.env.compile_expression(r).ok())
        {
            Some(c) => c,
            None => self
                .env
                .compile_expression(expr)
                .map_err(|e| self.map_error(e))?,
        };
        let value = compiled
            .eval(Self::root(context, view))
            .map_err(|e| self.map_error(e))?;
        // upstream calls str(result) to surface StrictUndefined errors
        py_str(&value).map_err(|e| self.map_error(e))?;
        to_json(&value).map_err(|e| self.map_error(e))
    }

    /// Renders a template to a string.
    pub fn render(
        &self,
        template: &str,
        context: &serde_json::Value,
        data: &dyn ExpressionData,
        view: bool,
    ) -> Result<String, JinjaError> {
        values::clear_miss();
        values::reset_budget(self.limits.max_items, self.limits.max_bytes);
        DATA_ERROR.with(|d| d.borrow_mut().take());
        let _guard = ScopeGuard::enter(context, data);
        let _borrow = values::BorrowScope::enter();
        let rewritten = pyops::rewrite_template(template);
        let tmpl = match rewritten
            .as_deref()
            .and_then(|r| self.env.template_from_str(r).ok())
        {
            Some(t) => t,
            None => self
                .env
                .template_from_str(template)
                .map_err(|e| self.map_error(e))?,
        };
        tmpl.render(Self::root(context, view))
            .map_err(|e| self.map_error(e))
    }

    fn map_error(&self, e: Error) -> JinjaError {
        if let Some(d) = DATA_ERROR.with(|d| d.borrow_mut().take()) {
            return JinjaError {
                kind: JinjaErrorKind::Data,
                message: d.message,
            };
        }
        if values::budget_exhausted() {
            return JinjaError {
                kind: JinjaErrorKind::Memory,
                message: "result too large".into(),
            };
        }
        let detail = e.detail().map(str::to_string);
        let (kind, message) = match e.kind() {
            ErrorKind::SyntaxError | ErrorKind::BadEscape => (
                JinjaErrorKind::Syntax,
                detail
                    .map(|d| jinja2_syntax_message(&d))
                    .unwrap_or_else(|| "syntax error".into()),
            ),
            ErrorKind::UnknownFilter => (
                JinjaErrorKind::Syntax,
                format!("No filter named '{}'.", unknown_name(detail.as_deref())),
            ),
            ErrorKind::UnknownTest => (
                JinjaErrorKind::Syntax,
                format!("No test named '{}'.", unknown_name(detail.as_deref())),
            ),
            ErrorKind::UnknownFunction => {
                let name = unknown_name(detail.as_deref());
                (JinjaErrorKind::Evaluation, format!("'{name}' is undefined"))
            }
            ErrorKind::UndefinedError => (
                JinjaErrorKind::Evaluation,
                detail
                    .or_else(values::take_miss)
                    .unwrap_or_else(|| "undefined value".into()),
            ),
            ErrorKind::OutOfFuel => (
                JinjaErrorKind::Limit,
                detail.unwrap_or_else(|| format!("evaluation exceeded {} steps", self.limits.fuel)),
            ),
            ErrorKind::InvalidOperation
                if detail.as_deref() == Some("recursion limit exceeded") =>
            {
                (
                    JinjaErrorKind::Limit,
                    "maximum recursion depth exceeded".into(),
                )
            }
            _ => (
                JinjaErrorKind::Evaluation,
                detail.unwrap_or_else(|| e.kind().to_string()),
            ),
        };
        JinjaError { kind, message }
    }
}

fn unknown_name(detail: Option<&str>) -> String {
    let d = detail.unwrap_or_default();
    // minijinja details look like "filter foo is unknown" / "foo is unknown"
    let d = d.trim_end_matches(" is unknown");
    let d = d
        .trim_start_matches("filter ")
        .trim_start_matches("test ")
        .trim_start_matches("function ");
    d.trim_matches('"').trim_matches('\'').to_string()
}

/// Python truthiness of a minijinja value.
pub fn is_true(v: &Value) -> bool {
    match v.kind() {
        ValueKind::Undefined => false,
        _ => v.is_true(),
    }
}

/// Jinja2's wording for minijinja's "unexpected <token>" (a token where an expression was
/// expected): Jinja2 says `unexpected '<token description>'` with its own token names
/// (`end of print statement` for `}}`, `end of statement block` for `%}`, the operator itself).
fn jinja2_syntax_message(detail: &str) -> String {
    let Some(token) = detail.strip_prefix("unexpected ") else {
        return detail.to_string();
    };
    if token.contains(", expected") {
        return detail.to_string();
    }
    let described = match token {
        "end of variable block" => "end of print statement",
        "end of block" => "end of statement block",
        "end of input" => "end of template",
        t if t.len() > 2 && t.starts_with('`') && t.ends_with('`') => &t[1..t.len() - 1],
        _ => return detail.to_string(),
    };
    format!("unexpected '{described}'")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::data::NoData;
    use serde_json::json;

    fn jinja() -> Jinja {
        Jinja::new(Limits::default())
    }

    fn eval(expr: &str, ctx: serde_json::Value) -> Result<serde_json::Value, JinjaError> {
        jinja().eval_expression(expr, &ctx, &NoData, false)
    }

    #[test]
    fn expression_keeps_native_types() {
        assert_eq!(eval("_.l", json!({"l": [1, 2]})).unwrap(), json!([1, 2]));
        assert_eq!(eval("7 / 2", json!({})).unwrap(), json!(3.5));
        assert_eq!(eval("7 // 2", json!({})).unwrap(), json!(3));
        assert_eq!(eval("_.n", json!({"n": null})).unwrap(), json!(null));
    }

    #[test]
    fn missing_key_reports_strict_undefined_text() {
        let e = eval("_.x", json!({})).unwrap_err();
        assert_eq!(e.kind, JinjaErrorKind::Evaluation);
        assert_eq!(e.message, "'dict object' has no attribute 'x'");
        let e = jinja()
            .eval_expression("_.x", &json!({}), &NoData, true)
            .unwrap_err();
        assert_eq!(
            e.message,
            "'mistral.workflow.data_flow.ContextView object' has no attribute 'x'"
        );
        let e = eval("foo", json!({})).unwrap_err();
        assert_eq!(e.message, "'foo' is undefined");
        let e = eval("_.l[5]", json!({"l": [1]})).unwrap_err();
        assert_eq!(e.message, "list object has no element 5");
    }

    #[test]
    fn render_uses_python_str() {
        let out = jinja()
            .render(
                "a {{ _.l }} {{ _.n }} {{ _.t }} b",
                &json!({"l": [1, "x", null], "n": null, "t": true}),
                &NoData,
                false,
            )
            .unwrap();
        assert_eq!(out, "a [1, 'x', None] None True b");
    }

    #[test]
    fn mistral_functions_are_globals_not_filters() {
        assert_eq!(
            eval("env()", json!({"__env": {"a": 1}})).unwrap(),
            json!({"a": 1})
        );
        let e = eval("_ | env", json!({"__env": {}})).unwrap_err();
        assert_eq!(e.kind, JinjaErrorKind::Syntax);
        assert_eq!(e.message, "No filter named 'env'.");
        assert_eq!(
            eval("json_dump([1])", json!({})).unwrap(),
            json!("[\n    1\n]")
        );
    }

    #[test]
    fn runaway_loops_hit_the_fuel_limit() {
        let j = Jinja::new(Limits {
            fuel: 10_000,
            ..Limits::default()
        });
        let e = j
            .render(
                "{% for i in range(100000) %}{% for k in range(100000) %}{% endfor %}{% endfor %}",
                &json!({}),
                &NoData,
                false,
            )
            .unwrap_err();
        assert_eq!(e.kind, JinjaErrorKind::Limit);
        let e = eval("range(1000000)", json!({})).unwrap_err();
        assert!(e.message.contains("MAX_RANGE"), "{}", e.message);
    }

    #[test]
    fn huge_results_hit_the_size_budget() {
        let j = Jinja::new(Limits {
            max_items: 100_000,
            ..Limits::default()
        });
        let e = j
            .eval_expression("([0] * 2000000000) | list", &json!({}), &NoData, false)
            .unwrap_err();
        assert_eq!(e.kind, JinjaErrorKind::Memory);
        let e = j
            .eval_expression("[0] * 2000000000", &json!({}), &NoData, false)
            .unwrap_err();
        assert_eq!(e.kind, JinjaErrorKind::Memory);
        assert!(j
            .eval_expression("([0] * 10) | list", &json!({}), &NoData, false)
            .is_ok());
    }

    #[test]
    fn python_methods_work_on_values() {
        assert_eq!(
            eval("_.s.upper()", json!({"s": "ab"})).unwrap(),
            json!("AB")
        );
        assert_eq!(
            eval("_.d.items() | list", json!({"d": {"a": 1}})).unwrap(),
            json!([["a", 1]])
        );
        assert_eq!(
            eval("'a,b'.split(',')", json!({})).unwrap(),
            json!(["a", "b"])
        );
        assert_eq!(
            eval("_.d.get('z', 3)", json!({"d": {"a": 1}})).unwrap(),
            json!(3)
        );
    }
    #[test]
    fn range_is_a_python_range_object() {
        assert_eq!(
            eval("range(3) ~ ''", json!({})).unwrap(),
            json!("range(0, 3)")
        );
        assert_eq!(
            eval("range(1, 10, 3) | string", json!({})).unwrap(),
            json!("range(1, 10, 3)")
        );
        assert_eq!(eval("range(3)", json!({})).unwrap(), json!([0, 1, 2]));
        assert_eq!(
            eval("range(3) | list", json!({})).unwrap(),
            json!([0, 1, 2])
        );
        assert_eq!(eval("range(5, 0, -2)[-1]", json!({})).unwrap(), json!(1));
        assert_eq!(eval("range(4) | length", json!({})).unwrap(), json!(4));
        assert_eq!(
            eval("range(0) == range(3, 3)", json!({})).unwrap(),
            json!(true)
        );
        assert_eq!(
            eval("range(10)[1:8:3] ~ ''", json!({})).unwrap(),
            json!("range(1, 8, 3)")
        );
        assert_eq!(
            eval("range(3)[3]", json!({})).unwrap_err().message,
            "range object has no element 3"
        );
        assert!(eval("range(2) | tojson", json!({})).is_err());
        assert!(eval("range(2) < range(3)", json!({})).is_err());
        assert!(eval("range(2) * 2", json!({})).is_err());
        let out = jinja()
            .render(
                "{% for i in range(3) %}{{ i }}{% endfor %}",
                &json!({}),
                &NoData,
                false,
            )
            .unwrap();
        assert_eq!(out, "012");
    }

    #[test]
    fn if_expression_without_else_gives_a_lenient_undefined() {
        assert_eq!(eval("1 if false", json!({})).unwrap(), json!([]));
        assert_eq!(eval("1 if true", json!({})).unwrap(), json!(1));
        assert_eq!(
            eval("'a' ~ (1 if false) ~ 'b'", json!({})).unwrap(),
            json!("ab")
        );
        assert_eq!(
            eval("(1 if false) is defined", json!({})).unwrap(),
            json!(false)
        );
        assert_eq!(
            eval("(1 if false) | default(5)", json!({})).unwrap(),
            json!(5)
        );
        assert_eq!(eval("(1 if false) | length", json!({})).unwrap(), json!(0));
        assert_eq!(eval("[1 if false]", json!({})).unwrap(), json!([[]]));
        assert!(eval("(1 if false) + 1", json!({})).is_err());
        assert!(eval("(1 if false) | int", json!({})).is_err());
        assert!(eval("(1 if false) | tojson", json!({})).is_err());
        let out = jinja()
            .render(
                "a{{ 1 if false }}b{{ 2 if true }}",
                &json!({}),
                &NoData,
                false,
            )
            .unwrap();
        assert_eq!(out, "ab2");
    }
}
