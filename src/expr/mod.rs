//! Mistral's expression layer: YAQL (`<% %>`, through `crates/yaql`) and Jinja2 (`{{ }}` /
//! `{% %}`, through minijinja configured like Mistral's Jinja environment), Mistral's expression
//! functions, whole-string vs. interpolated evaluation and recursive evaluation of data.
//!
//! Public API:
//! * [`Evaluator`]: `new()`, `evaluate(value, context, data)` (upstream `evaluate_recursively`),
//!   `evaluate_str(text, context, data)` (upstream `expressions.evaluate`),
//!   `evaluate_view(...)` (same, with the task data view named like upstream's ContextView in
//!   Jinja error texts), `validate(text)` (upload-time syntax check).
//! * [`contains_expression`], [`language_of`].
//! * [`ExpressionData`] (implemented by the engine over the database), [`MemoryData`], [`NoData`].

pub mod cli;
pub mod data;
pub mod functions;
pub mod jinja;
pub mod pyfmt;
pub mod pystr;

pub use data::{DataError, ExecutionFilter, ExpressionData, MemoryData, NoData, TaskFilter};

use functions::{FnError, Lang, MistralFn};
use regex::Regex;
use serde_json::Value;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, OnceLock};

/// What kind of failure an expression produced (also the batch protocol's kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExprErrorKind {
    /// Invalid expression text (`YaqlGrammarException`, `JinjaGrammarException`, Jinja
    /// `TemplateSyntaxError` at evaluation).
    Syntax,
    /// YAQL: no function/method matches (`NoFunctionRegisteredException` ...).
    NoFunction,
    /// Anything raised while evaluating.
    Evaluation,
    /// A resource limit (steps, recursion, size) was hit.
    Limit,
    /// A retryable data-source (database) failure, propagated unchanged.
    Data,
    /// The language is disabled by the operator.
    Disabled,
}

impl ExprErrorKind {
    /// The batch protocol's name of the kind.
    pub fn batch_name(self) -> &'static str {
        match self {
            ExprErrorKind::Syntax => "syntax",
            ExprErrorKind::NoFunction => "no_function",
            ExprErrorKind::Limit => "limit",
            _ => "evaluation",
        }
    }
}

/// An expression error. `message` is the complete text upstream would show
/// (`Can not evaluate YAQL expression [expression=..., error=...]`, ...); `detail` is the
/// inner error (`error=` part) alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    pub kind: ExprErrorKind,
    pub message: String,
    pub detail: String,
}

impl std::fmt::Display for ExprError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ExprError {}

/// Which expression languages are allowed (`[expressions] allowed_languages`).
#[derive(Debug, Clone)]
pub struct Options {
    pub allow_yaql: bool,
    pub allow_jinja: bool,
    pub jinja_limits: jinja::Limits,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            allow_yaql: true,
            allow_jinja: true,
            jinja_limits: jinja::Limits::default(),
        }
    }
}

struct Inner {
    jinja: jinja::Jinja,
    yaql: OnceLock<Result<yaql::Engine, String>>,
    options: Options,
}

/// Evaluates Mistral expressions. Cheap to clone and share between threads.
#[derive(Clone)]
pub struct Evaluator {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Evaluator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evaluator")
            .field("options", &self.inner.options)
            .finish()
    }
}

impl Default for Evaluator {
    fn default() -> Self {
        Self::new()
    }
}

fn jinja_expr_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\{\{(.*?)\}\}").expect("valid regex"))
}

fn jinja_block_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\{%(.*?)%\}").expect("valid regex"))
}

fn yaql_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"<%.*?%>").expect("valid regex"))
}

/// Does the string contain a Jinja expression/statement marker (single-line `{{ }}`/`{% %}`)?
pub fn is_jinja(s: &str) -> bool {
    jinja_expr_re().is_match(s) || jinja_block_re().is_match(s)
}

/// Does the string contain a single-line `<% %>` marker?
pub fn is_yaql(s: &str) -> bool {
    yaql_re().is_match(s)
}

/// Is the string an expression at all (either language)?
pub fn contains_expression(s: &str) -> bool {
    is_jinja(s) || is_yaql(s)
}

/// The language that would evaluate the string (Jinja is tried first, as upstream does).
pub fn language_of(s: &str) -> Option<&'static str> {
    if is_jinja(s) {
        Some("jinja")
    } else if is_yaql(s) {
        Some("yaql")
    } else {
        None
    }
}

/// `str.strip("<%>")`.
fn strip_delims(s: &str) -> &str {
    s.trim_matches(|c| c == '<' || c == '%' || c == '>')
}

fn yaql_kind(k: &yaql::ErrorKind) -> ExprErrorKind {
    match k {
        yaql::ErrorKind::Syntax => ExprErrorKind::Syntax,
        yaql::ErrorKind::NoFunction => ExprErrorKind::NoFunction,
        yaql::ErrorKind::Evaluation => ExprErrorKind::Evaluation,
        yaql::ErrorKind::Limit => ExprErrorKind::Limit,
    }
}

/// The user data handed to yaql host functions.
struct YaqlUser {
    data: *const (dyn ExpressionData + 'static),
}

// SAFETY: the pointer is only dereferenced during the `evaluate_with` call that receives this
// value, on the calling thread, while the referenced data is borrowed by that call.
unsafe impl Send for YaqlUser {}
unsafe impl Sync for YaqlUser {}

fn build_yaql() -> Result<yaql::Engine, String> {
    let built = std::panic::catch_unwind(|| {
        let mut engine = yaql::Engine::new();
        for f in MistralFn::ALL {
            engine.register_function(
                f.name(),
                Arc::new(move |call: &yaql::Call| -> Result<Value, yaql::Error> {
                    let no_match = || yaql::Error {
                        kind: yaql::ErrorKind::NoFunction,
                        message: format!("No function \"{}\" matches supplied arguments", f.name()),
                    };
                    let bound = f.bind_yaql(&call.args, &call.kwargs).ok_or_else(no_match)?;
                    let user = call.user.downcast_ref::<YaqlUser>();
                    let result = match user {
                        // SAFETY: see `YaqlUser`.
                        Some(u) => f.call(&bound, Lang::Yaql, call.data, unsafe { &*u.data }),
                        None => f.call(&bound, Lang::Yaql, call.data, &NoData),
                    };
                    result.map_err(|e| match e {
                        FnError::Eval(m) => yaql::Error {
                            kind: yaql::ErrorKind::Evaluation,
                            message: m,
                        },
                        FnError::NoMatch => no_match(),
                        FnError::Limit(m) => yaql::Error {
                            kind: yaql::ErrorKind::Limit,
                            message: m,
                        },
                        FnError::Data(d) => yaql::Error {
                            kind: yaql::ErrorKind::Evaluation,
                            message: format!("{DATA_ERROR_MARK}{}", d.message),
                        },
                    })
                }),
            );
        }
        engine
    });
    built.map_err(|_| "the YAQL engine is not available in this build".to_string())
}

/// Prefix marking a retryable data error passed through yaql's error type.
const DATA_ERROR_MARK: &str = "\u{1}data-error:";

impl Evaluator {
    pub fn new() -> Self {
        Self::with_options(Options::default())
    }

    pub fn with_options(options: Options) -> Self {
        Evaluator {
            inner: Arc::new(Inner {
                jinja: jinja::Jinja::new(options.jinja_limits),
                yaql: OnceLock::new(),
                options,
            }),
        }
    }

    fn yaql(&self) -> Result<&yaql::Engine, ExprError> {
        self.inner
            .yaql
            .get_or_init(build_yaql)
            .as_ref()
            .map_err(|m| ExprError {
                kind: ExprErrorKind::Evaluation,
                message: m.clone(),
                detail: m.clone(),
            })
    }

    /// Upstream `evaluate_recursively(data, context)`: a falsy context returns the data
    /// unevaluated; dict values (never keys) and list items are evaluated; one pass only.
    pub fn evaluate(
        &self,
        value: &Value,
        context: &Value,
        data: &dyn ExpressionData,
    ) -> Result<Value, ExprError> {
        if !functions::truthy(context) {
            return Ok(value.clone());
        }
        self.evaluate_rec(value, context, data, false, 0)
    }

    /// Like [`Evaluator::evaluate`] with the context presented as upstream's task data view
    /// (`ContextView`): only Jinja error texts differ.
    pub fn evaluate_view(
        &self,
        value: &Value,
        context: &Value,
        data: &dyn ExpressionData,
    ) -> Result<Value, ExprError> {
        if !functions::truthy(context) {
            return Ok(value.clone());
        }
        self.evaluate_rec(value, context, data, true, 0)
    }

    fn evaluate_rec(
        &self,
        value: &Value,
        context: &Value,
        data: &dyn ExpressionData,
        view: bool,
        depth: usize,
    ) -> Result<Value, ExprError> {
        if depth > 1000 {
            return Err(ExprError {
                kind: ExprErrorKind::Limit,
                message: "maximum recursion depth exceeded".into(),
                detail: "maximum recursion depth exceeded".into(),
            });
        }
        match value {
            Value::String(s) => self.evaluate_string(s, context, data, view),
            Value::Array(items) => items
                .iter()
                .map(|v| self.evaluate_rec(v, context, data, view, depth + 1))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            Value::Object(map) => {
                let mut out = serde_json::Map::with_capacity(map.len());
                for (k, v) in map {
                    out.insert(
                        k.clone(),
                        self.evaluate_rec(v, context, data, view, depth + 1)?,
                    );
                }
                Ok(Value::Object(out))
            }
            other => Ok(other.clone()),
        }
    }

    /// Upstream `expressions.evaluate(text, context)` for one string.
    pub fn evaluate_str(
        &self,
        text: &str,
        context: &Value,
        data: &dyn ExpressionData,
    ) -> Result<Value, ExprError> {
        self.evaluate_string(text, context, data, false)
    }

    /// [`Evaluator::evaluate_str`] with the ContextView naming of the root data.
    pub fn evaluate_str_view(
        &self,
        text: &str,
        context: &Value,
        data: &dyn ExpressionData,
    ) -> Result<Value, ExprError> {
        self.evaluate_string(text, context, data, true)
    }

    fn disabled(lang: &str) -> ExprError {
        let m = format!("The '{lang}' expression language is disabled by the operator.");
        ExprError {
            kind: ExprErrorKind::Disabled,
            message: m.clone(),
            detail: m,
        }
    }

    fn evaluate_string(
        &self,
        text: &str,
        context: &Value,
        data: &dyn ExpressionData,
        view: bool,
    ) -> Result<Value, ExprError> {
        if is_jinja(text) {
            if !self.inner.options.allow_jinja {
                return Err(Self::disabled("jinja"));
            }
            return self.evaluate_jinja(text, context, data, view);
        }
        if is_yaql(text) {
            if !self.inner.options.allow_yaql {
                return Err(Self::disabled("yaql"));
            }
            return self.evaluate_yaql(text, context, data);
        }
        Ok(Value::String(text.to_string()))
    }

    fn jinja_failure(text: &str, inner: &str, e: jinja::JinjaError) -> ExprError {
        if e.kind == jinja::JinjaErrorKind::Memory {
            let m =
                format!("Expression evaluation exceeded the available memory [expression={inner}]");
            return ExprError {
                kind: ExprErrorKind::Limit,
                message: m,
                detail: e.message,
            };
        }
        let kind = match e.kind {
            jinja::JinjaErrorKind::Syntax => ExprErrorKind::Syntax,
            jinja::JinjaErrorKind::Evaluation => ExprErrorKind::Evaluation,
            jinja::JinjaErrorKind::Limit | jinja::JinjaErrorKind::Memory => ExprErrorKind::Limit,
            jinja::JinjaErrorKind::Data => {
                return ExprError {
                    kind: ExprErrorKind::Data,
                    message: e.message.clone(),
                    detail: e.message,
                }
            }
        };
        ExprError {
            kind,
            message: format!(
                "Can not evaluate Jinja expression [expression={text}, error={}]",
                e.message
            ),
            detail: e.message,
        }
    }

    fn evaluate_jinja(
        &self,
        text: &str,
        context: &Value,
        data: &dyn ExpressionData,
        view: bool,
    ) -> Result<Value, ExprError> {
        let first = jinja_expr_re().captures(text);
        let inner = first
            .as_ref()
            .and_then(|c| c.get(1))
            .map(|m| m.as_str().to_string())
            .unwrap_or_else(|| text.to_string());
        let result = match first {
            None => Err(jinja::JinjaError {
                kind: jinja::JinjaErrorKind::Evaluation,
                message: "list index out of range".into(),
            }),
            Some(caps) if caps.get(0).map(|m| m.as_str()) == Some(text) => {
                let inner = caps.get(1).map(|m| m.as_str()).unwrap_or_default();
                self.guard(|| self.inner.jinja.eval_expression(inner, context, data, view))
            }
            Some(_) => self
                .guard(|| self.inner.jinja.render(text, context, data, view))
                .map(Value::String),
        };
        result.map_err(|e| Self::jinja_failure(text, &inner, e))
    }

    /// Runs a Jinja evaluation, turning an unexpected panic into an evaluation error.
    fn guard<T>(
        &self,
        f: impl FnOnce() -> Result<T, jinja::JinjaError>,
    ) -> Result<T, jinja::JinjaError> {
        std::panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
            Err(jinja::JinjaError {
                kind: jinja::JinjaErrorKind::Evaluation,
                message: "internal error while evaluating the expression".into(),
            })
        })
    }

    /// Evaluates one bare YAQL expression (already stripped of `<% %>`).
    pub fn evaluate_yaql_expression(
        &self,
        expr: &str,
        context: &Value,
        data: &dyn ExpressionData,
    ) -> Result<Value, ExprError> {
        self.run_yaql(expr, context, data, false)
    }

    /// Runs yaql; with `as_text` the result is Python `str()` of the value as yaql holds it
    /// (sets as `{1, 2}`, datetimes as `2020-01-02 00:00:00+00:00`), for interpolation.
    fn run_yaql(
        &self,
        expr: &str,
        context: &Value,
        data: &dyn ExpressionData,
        as_text: bool,
    ) -> Result<Value, ExprError> {
        let expr = expr.trim();
        let wrap = |kind: ExprErrorKind, detail: String| ExprError {
            kind,
            message: format!(
                "Can not evaluate YAQL expression [expression={expr}, error={detail}]"
            ),
            detail,
        };
        let engine = self.yaql()?;
        let data_ptr: *const (dyn ExpressionData + '_) = data;
        // SAFETY: lifetime erasure only; see `YaqlUser`.
        let data_ptr: *const (dyn ExpressionData + 'static) =
            unsafe { std::mem::transmute(data_ptr) };
        let user = YaqlUser { data: data_ptr };
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
            if as_text {
                engine
                    .evaluate_to_python_str(expr, context, &user)
                    .map(Value::String)
            } else {
                engine.evaluate_with(expr, context, &user)
            }
        }));
        match result {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                if let Some(m) = e.message.strip_prefix(DATA_ERROR_MARK) {
                    return Err(ExprError {
                        kind: ExprErrorKind::Data,
                        message: m.to_string(),
                        detail: m.to_string(),
                    });
                }
                Err(wrap(yaql_kind(&e.kind), e.message))
            }
            Err(_) => Err(wrap(
                ExprErrorKind::Evaluation,
                "internal error while evaluating the expression".into(),
            )),
        }
    }

    fn evaluate_yaql(
        &self,
        text: &str,
        context: &Value,
        data: &dyn ExpressionData,
    ) -> Result<Value, ExprError> {
        let mut result = Value::String(text.to_string());
        for m in yaql_re().find_iter(text) {
            let whole = m.as_str();
            if whole.len() == text.len() {
                result = self.run_yaql(strip_delims(whole), context, data, false)?;
            } else {
                let rendered = self.run_yaql(strip_delims(whole), context, data, true)?;
                if let (Value::String(s), Value::String(r)) = (&result, &rendered) {
                    result = Value::String(s.replace(whole, r));
                }
            }
        }
        Ok(result)
    }

    /// Upload-time validation of one string (upstream `expressions.validate`).
    pub fn validate(&self, text: &str) -> Result<(), ExprError> {
        let mut found: Option<&str> = None;
        for (lang, matches) in [("jinja", is_jinja(text)), ("yaql", is_yaql(text))] {
            if !matches {
                continue;
            }
            let allowed = if lang == "jinja" {
                self.inner.options.allow_jinja
            } else {
                self.inner.options.allow_yaql
            };
            if !allowed {
                return Err(Self::disabled(lang));
            }
            if let Some(prev) = found {
                let m = format!(
                    "The line already contains an expression of type '{prev}'. Mixing expression types in a single line is not allowed."
                );
                return Err(ExprError {
                    kind: ExprErrorKind::Syntax,
                    message: m.clone(),
                    detail: m,
                });
            }
            if lang == "jinja" {
                self.inner.jinja.check_template(text).map_err(|e| {
                    let m = format!("Syntax error '{}'.", e.message);
                    ExprError {
                        kind: ExprErrorKind::Syntax,
                        message: m,
                        detail: e.message,
                    }
                })?;
            } else {
                for m in yaql_re().find_iter(text) {
                    self.check_yaql_syntax(strip_delims(m.as_str()))?;
                }
            }
            found = Some(lang);
        }
        Ok(())
    }

    /// Parses one bare YAQL expression (YaqlGrammarException text on failure).
    pub fn check_yaql_syntax(&self, expr: &str) -> Result<(), ExprError> {
        let engine = self.yaql()?;
        match std::panic::catch_unwind(AssertUnwindSafe(|| engine.check_syntax(expr))) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(ExprError {
                kind: ExprErrorKind::Syntax,
                message: e.message.clone(),
                detail: e.message,
            }),
            Err(_) => Err(ExprError {
                kind: ExprErrorKind::Evaluation,
                message: "internal error while parsing the expression".into(),
                detail: "internal error while parsing the expression".into(),
            }),
        }
    }

    /// Parses one bare Jinja expression (the `{{ }}` content).
    pub fn check_jinja_expression(&self, expr: &str) -> Result<(), ExprError> {
        self.inner.jinja.check_expression(expr).map_err(|e| {
            let m = format!("Syntax error '{}'.", e.message);
            ExprError {
                kind: ExprErrorKind::Syntax,
                message: m,
                detail: e.message,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev() -> Evaluator {
        Evaluator::new()
    }

    #[test]
    fn whole_jinja_expression_keeps_type_and_partial_renders_text() {
        let ctx = json!({"l": [1, 2, 3], "d": {"x": 1}, "n": null, "t": true});
        assert_eq!(
            ev().evaluate_str("{{ _.l }}", &ctx, &NoData).unwrap(),
            json!([1, 2, 3])
        );
        assert_eq!(
            ev().evaluate_str("v={{ _.l }}", &ctx, &NoData).unwrap(),
            json!("v=[1, 2, 3]")
        );
        assert_eq!(
            ev().evaluate_str("v={{ _.d }}", &ctx, &NoData).unwrap(),
            json!("v={'x': 1}")
        );
        assert_eq!(
            ev().evaluate_str("v={{ _.n }}", &ctx, &NoData).unwrap(),
            json!("v=None")
        );
        assert_eq!(
            ev().evaluate_str(" {{ 1 }}", &ctx, &NoData).unwrap(),
            json!(" 1")
        );
        assert_eq!(
            ev().evaluate_str("{{ _.t }}{{ _.t }}", &ctx, &NoData)
                .unwrap(),
            json!("TrueTrue")
        );
        assert_eq!(
            ev().evaluate_str("x={{ 0.1 + 0.2 }}", &ctx, &NoData)
                .unwrap(),
            json!("x=0.30000000000000004")
        );
    }

    #[test]
    fn block_only_jinja_string_fails_like_upstream() {
        let e = ev()
            .evaluate_str("{% if true %}x{% endif %}", &json!({"a": 1}), &NoData)
            .unwrap_err();
        assert_eq!(
            e.message,
            "Can not evaluate Jinja expression [expression={% if true %}x{% endif %}, error=list index out of range]"
        );
    }

    #[test]
    fn jinja_errors_are_wrapped_with_the_whole_string() {
        let e = ev()
            .evaluate_str("a {{ _.x }}", &json!({"a": 1}), &NoData)
            .unwrap_err();
        assert_eq!(e.kind, ExprErrorKind::Evaluation);
        assert_eq!(e.message, "Can not evaluate Jinja expression [expression=a {{ _.x }}, error='dict object' has no attribute 'x']");
        let e = ev()
            .evaluate_str_view("{{ _.undefined_var }}", &json!({"a": 1}), &NoData)
            .unwrap_err();
        assert_eq!(
            e.message,
            "Can not evaluate Jinja expression [expression={{ _.undefined_var }}, error='mistral.workflow.data_flow.ContextView object' has no attribute 'undefined_var']"
        );
    }

    #[test]
    fn multiline_delimiters_are_not_expressions() {
        assert!(!contains_expression("{{ a\n }}"));
        assert!(!contains_expression("<% a\n %>"));
        assert!(contains_expression("x <% 1 %>"));
        assert_eq!(
            ev().evaluate_str("{{ a\n }}", &json!({}), &NoData).unwrap(),
            json!("{{ a\n }}")
        );
    }

    #[test]
    fn recursive_evaluation_skips_keys_and_empty_context() {
        let data = json!({"{{ _.k }}": "{{ _.k }}", "l": ["{{ 1 + 1 }}", 3]});
        let got = ev().evaluate(&data, &json!({"k": "v"}), &NoData).unwrap();
        assert_eq!(got, json!({"{{ _.k }}": "v", "l": [2, 3]}));
        assert_eq!(ev().evaluate(&data, &json!({}), &NoData).unwrap(), data);
    }

    #[test]
    fn validate_rejects_mixed_languages_and_bad_jinja() {
        let e = ev().validate("{{ 1 }} <% 2 %>").unwrap_err();
        assert_eq!(
            e.message,
            "The line already contains an expression of type 'jinja'. Mixing expression types in a single line is not allowed."
        );
        let e = ev().validate("{{ 1 + }}").unwrap_err();
        assert_eq!(e.kind, ExprErrorKind::Syntax);
        assert!(e.message.starts_with("Syntax error '"), "{}", e.message);
        assert!(ev().validate("{{ _ | env }}").is_ok());
        assert!(ev().validate("no expression").is_ok());
    }

    #[test]
    fn disabled_language_is_reported() {
        let e = Evaluator::with_options(Options {
            allow_jinja: false,
            ..Options::default()
        });
        let err = e.evaluate_str("{{ 1 }}", &json!({}), &NoData).unwrap_err();
        assert_eq!(
            err.message,
            "The 'jinja' expression language is disabled by the operator."
        );
    }

    #[test]
    fn yaql_whole_string_keeps_type_and_interpolation_uses_python_str() {
        let ctx = json!({"l": [1, 2, 3], "d": {"x": 1}, "n": null, "t": true});
        assert_eq!(
            ev().evaluate_str("<% $.l %>", &ctx, &NoData).unwrap(),
            json!([1, 2, 3])
        );
        assert_eq!(
            ev().evaluate_str("v=<% $.d %>", &ctx, &NoData).unwrap(),
            json!("v={'x': 1}")
        );
        assert_eq!(
            ev().evaluate_str("v=<% $.n %> <% $.t %>", &ctx, &NoData)
                .unwrap(),
            json!("v=None True")
        );
        assert_eq!(
            ev().evaluate_str(" <% 1 %>", &ctx, &NoData).unwrap(),
            json!(" 1")
        );
    }

    #[test]
    fn yaql_errors_are_wrapped_like_upstream() {
        let e = ev()
            .evaluate_str("<% $.missing %>", &json!({"a": 1}), &NoData)
            .unwrap_err();
        assert_eq!(
            e.message,
            "Can not evaluate YAQL expression [expression=$.missing, error='missing']"
        );
        let e = ev()
            .evaluate_str("<% $.a->%>", &json!({"a": 1}), &NoData)
            .unwrap_err();
        assert!(
            e.message
                .starts_with("Can not evaluate YAQL expression [expression=$.a-, error="),
            "{}",
            e.message
        );
        let e = ev().validate("<% $.a + %>").unwrap_err();
        assert_eq!(e.kind, ExprErrorKind::Syntax);
        assert!(ev().validate("<% unknown_function() %>").is_ok());
    }

    #[test]
    fn yaql_mistral_functions_use_camel_case_keywords() {
        let data = MemoryData {
            executions: vec![],
            tasks: vec![
                json!({"id": "t1", "name": "a", "state": "SUCCESS", "workflow_execution_id": "e1"}),
            ],
        };
        let ctx = json!({"__execution": {"id": "e1"}, "__env": {"k": "v"}});
        assert_eq!(
            ev().evaluate_str("<% env().k %>", &ctx, &data).unwrap(),
            json!("v")
        );
        assert_eq!(
            ev().evaluate_str(
                "<% tasks(workflowExecutionId => 'e1').len() %>",
                &ctx,
                &data
            )
            .unwrap(),
            json!(1)
        );
        let e = ev()
            .evaluate_str("<% tasks(workflow_execution_id => 'e1') %>", &ctx, &data)
            .unwrap_err();
        assert_eq!(e.kind, ExprErrorKind::NoFunction);
        assert_eq!(
            ev().evaluate_str("<% task(a).state %>", &ctx, &data)
                .unwrap(),
            json!("SUCCESS")
        );
    }

    #[test]
    fn evaluator_is_send_sync_and_cheap_to_clone() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<Evaluator>();
    }
}
