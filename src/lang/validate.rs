//! Upload-time validation of v2 documents in upstream's order (schema, expression syntax,
//! spec construction, semantics), producing upstream's fault strings.

use regex::Regex;
use serde_json::{Map, Value};
use std::sync::{LazyLock, RwLock};

use super::inline::parse_cmd_and_input;
use super::model::*;
use super::pyrepr::{py_repr, py_str};
use super::{schema, schemas, DslError, DslErrorKind};

pub(crate) fn invalid(message: impl Into<String>) -> DslError {
    DslError {
        kind: DslErrorKind::Invalid,
        message: message.into(),
    }
}

thread_local! {
    static VALIDATE: std::cell::Cell<bool> = const { std::cell::Cell::new(true) };
}

/// Whether schema/semantic validation is on (upstream's `validate` flag; off for the API's
/// `skip_validation`). Structural errors raised while building specs still apply.
pub(crate) fn validating() -> bool {
    VALIDATE.with(|v| v.get())
}

/// Run `f` with validation switched on or off.
pub(crate) fn with_validation<T>(on: bool, f: impl FnOnce() -> T) -> T {
    let before = VALIDATE.with(|v| v.replace(on));
    let r = f();
    VALIDATE.with(|v| v.set(before));
    r
}

/// `jsonschema.validate` wrapped like upstream: `Invalid DSL: <str(ValidationError)>`.
pub(crate) fn schema_check(data: &Value, schema_v: &Value) -> Result<(), DslError> {
    if !validating() {
        return Ok(());
    }
    schema::validate(data, schema_v).map_err(|e| {
        if e.is_type_error() {
            invalid(e.message.clone())
        } else {
            invalid(format!("Invalid DSL: {}", e.full_text()))
        }
    })
}

// ---------------------------------------------------------------------------------------
// Expressions

/// The expression languages Mistral recognises inside strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExprLang {
    Jinja,
    Yaql,
}

/// Syntax checker for one expression body (YAQL: the text inside `<% %>`; Jinja: the whole
/// string). Returns the grammar error message on failure.
pub type SyntaxChecker = fn(ExprLang, &str) -> Result<(), String>;

static SYNTAX_CHECKER: LazyLock<RwLock<Option<SyntaxChecker>>> =
    LazyLock::new(|| RwLock::new(None));

/// Hook for the expression layer: install the YAQL/Jinja grammar check used at upload.
/// Until one is installed only expression *structure* is checked (mixing of languages).
pub fn set_expression_syntax_checker(checker: SyntaxChecker) {
    if let Ok(mut g) = SYNTAX_CHECKER.write() {
        *g = Some(checker);
    }
}

static YAQL_INLINE_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<%.*?%>").unwrap());
static JINJA_VAR_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\{\{(.*?)\}\}").unwrap());
static JINJA_BLOCK_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\{%(.*?)%\}").unwrap());

/// Upstream `expressions.validate` for one string.
pub fn validate_expression(s: &str) -> Result<(), DslError> {
    if !validating() {
        return Ok(());
    }
    let checker = SYNTAX_CHECKER.read().ok().and_then(|g| *g);
    let mut found: Option<&str> = None;
    // Evaluators in name order: jinja, then yaql.
    if JINJA_VAR_RE.is_match(s) || JINJA_BLOCK_RE.is_match(s) {
        if let Some(check) = checker {
            check(ExprLang::Jinja, s).map_err(invalid)?;
        }
        found = Some("jinja");
    }
    if YAQL_INLINE_RE.is_match(s) {
        if let Some(f) = found {
            return Err(invalid(format!(
                "The line already contains an expression of type '{f}'. Mixing expression types in a single line is not allowed."
            )));
        }
        if let Some(check) = checker {
            for m in YAQL_INLINE_RE.find_iter(s) {
                let inner = m
                    .as_str()
                    .trim_matches(|c| c == '<' || c == '%' || c == '>');
                check(ExprLang::Yaql, inner).map_err(invalid)?;
            }
        }
    }
    Ok(())
}

/// Upstream `BaseSpec.validate_expr`: a string, or the top-level strings of a list/mapping.
fn validate_expr(v: Option<&Value>) -> Result<(), DslError> {
    match v {
        Some(Value::String(s)) => validate_expression(s),
        Some(Value::Array(items)) => {
            for i in items {
                if let Value::String(s) = i {
                    validate_expression(s)?;
                }
            }
            Ok(())
        }
        Some(Value::Object(m)) => {
            for i in m.values() {
                if let Value::String(s) = i {
                    validate_expression(s)?;
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn validate_expr_map(m: &Map<String, Value>) -> Result<(), DslError> {
    for v in m.values() {
        if let Value::String(s) = v {
            validate_expression(s)?;
        }
    }
    Ok(())
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().map(|f| f != 0.0).unwrap_or(true),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

// ---------------------------------------------------------------------------------------
// with-items

static WITH_ITEMS_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*([\w\d_\-]+)\s*in\s*(\[.+\]|(\{\{(.*?)\}\})|<%.*?%>)").unwrap()
});

/// Upstream `_get_with_items_as_dict`, as ordered `(var, collection)` pairs.
pub(crate) fn with_items_pairs(data: &Value) -> Result<Vec<(String, Value)>, DslError> {
    let raw: Vec<&Value> = match data.get("with-items") {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(v @ Value::String(_)) => vec![v],
        // Mappings iterate their keys upstream; other values yield nothing.
        Some(Value::Object(m)) => {
            return with_items_list(data, m.keys().map(|k| Value::String(k.clone())).collect())
        }
        Some(_) => return Ok(Vec::new()),
    };
    with_items_list(data, raw.into_iter().cloned().collect())
}

fn with_items_list(data: &Value, raw: Vec<Value>) -> Result<Vec<(String, Value)>, DslError> {
    let mut out: Vec<(String, Value)> = Vec::new();
    for item in raw {
        let s = match item {
            Value::String(s) => s,
            _ => {
                return Err(invalid(format!(
                    "'with-items' elements should be strings: {}",
                    py_repr(data)
                )))
            }
        };
        let caps = match WITH_ITEMS_RE.captures(&s) {
            Some(c) => c,
            None => {
                return Err(invalid(format!(
                    "Wrong format of 'with-items' property. Please use format 'var in {{[some, list] | <% $.array %> }}: {}",
                    py_repr(data)
                )))
            }
        };
        let var = caps.get(1).map(|m| m.as_str()).unwrap_or("").to_string();
        let array = caps.get(2).map(|m| m.as_str()).unwrap_or("").to_string();
        validate_expression(&array)?;
        let value = if array.starts_with('[') {
            match super::pyjson::loads(&array) {
                Ok(v) => v,
                Err(e) => {
                    return Err(invalid(format!(
                        "Invalid array in 'with-items' clause: {array}, error: {e}"
                    )))
                }
            }
        } else {
            Value::String(array)
        };
        if let Some(slot) = out.iter_mut().find(|(k, _)| *k == var) {
            slot.1 = value;
        } else {
            out.push((var, value));
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Sub-specs

/// `RetrySpec`: one-line strings are turned into a mapping, then validated.
fn check_retry(v: &Value) -> Result<(), DslError> {
    let data = match v {
        Value::String(s) => Value::Object(parse_cmd_and_input(s)?.1),
        other => other.clone(),
    };
    schema_check(&data, &schemas::RETRY)?;
    for k in ["count", "delay", "break-on", "continue-on"] {
        validate_expr(data.get(k))?;
    }
    Ok(())
}

/// `PoliciesSpec` built from the truthy policy keys of a task / task-defaults.
fn check_policies(body: &Value) -> Result<(), DslError> {
    let mut group = Map::new();
    for k in [
        "retry",
        "wait-before",
        "wait-after",
        "timeout",
        "pause-before",
        "concurrency",
        "fail-on",
    ] {
        if let Some(v) = body.get(k) {
            if truthy(v) {
                group.insert(k.to_string(), v.clone());
            }
        }
    }
    let group = Value::Object(group);
    schema_check(&group, &schemas::POLICIES)?;
    for k in [
        "wait-before",
        "wait-after",
        "timeout",
        "pause-before",
        "concurrency",
        "fail-on",
    ] {
        validate_expr(group.get(k))?;
    }
    if let Some(r) = group.get("retry") {
        check_retry(r)?;
    }
    Ok(())
}

fn check_publish(v: &Value) -> Result<(), DslError> {
    schema_check(v, &schemas::PUBLISH)?;
    let b = v.get("branch").filter(|x| truthy(x));
    let g = v.get("global").filter(|x| truthy(x));
    let a = v.get("atomic").filter(|x| truthy(x));
    if validating() && b.is_none() && g.is_none() && a.is_none() {
        // Upstream's format string has no placeholder: the data is not printed.
        return Err(invalid(
            "Either 'branch', 'global' or 'atomic' must be specified: ",
        ));
    }
    validate_expr(b)?;
    validate_expr(g)?;
    validate_expr(a)?;
    Ok(())
}

/// `OnClauseSpec`: schema, nested publish, and the inline-param split of every entry.
fn check_on_clause(v: &Value) -> Result<OnClause, DslError> {
    schema_check(v, &schemas::ON_CLAUSE)?;
    if let Value::Object(m) = v {
        if let Some(p) = m.get("publish") {
            if !p.is_null() {
                check_publish(p)?;
            }
        }
    }
    let next_src = match v {
        Value::Object(m) => m.get("next"),
        other => Some(other),
    };
    // Surface "Invalid action/workflow task property" errors from entry parsing.
    if let Some(n) = next_src {
        let entries: Vec<String> = match n {
            Value::String(s) => vec![s.clone()],
            Value::Array(items) => items
                .iter()
                .filter_map(|i| match i {
                    Value::String(s) => Some(s.clone()),
                    Value::Object(o) => o.keys().next().cloned(),
                    _ => None,
                })
                .collect(),
            Value::Object(o) => o.keys().next().cloned().into_iter().collect(),
            _ => vec![],
        };
        for e in entries {
            parse_cmd_and_input(&e)?;
        }
    }
    Ok(build_on_clause(Some(v)).unwrap_or_default())
}

/// Guards and names of transitions are expression-checked (`_validate_transitions`).
fn check_transition_exprs(clause: &Option<OnClause>) -> Result<(), DslError> {
    if let Some(c) = clause {
        for t in &c.next {
            validate_expression(&t.name)?;
            if let Some(g) = &t.guard {
                validate_expression(g)?;
            }
        }
    }
    Ok(())
}

fn check_task_defaults(v: &Value) -> Result<TaskDefaultsSpec, DslError> {
    schema_check(v, &schemas::TASK_DEFAULTS)?;
    validate_expr(v.get("safe-rerun"))?;
    check_policies(v)?;
    let mut clauses = Vec::new();
    for k in ["on-complete", "on-success", "on-error", "on-skip"] {
        clauses.push(match v.get(k) {
            Some(c) if !c.is_null() => Some(check_on_clause(c)?),
            _ => None,
        });
    }
    for c in &clauses {
        check_transition_exprs(c)?;
    }
    Ok(build_task_defaults(v))
}

const MAX_LENGTH_TASK_NAME: usize = 255;
const MAX_LENGTH_JOIN_TASK_NAME: usize = MAX_LENGTH_TASK_NAME - 47;

fn check_task(name: &str, body: &Value, wf_type: WorkflowType) -> Result<TaskSpec, DslError> {
    let direct = wf_type == WorkflowType::Direct;
    schema_check(
        body,
        if direct {
            &schemas::DIRECT_TASK
        } else {
            &schemas::REVERSE_TASK
        },
    )?;
    if validating() && name.chars().count() > MAX_LENGTH_TASK_NAME {
        return Err(invalid(format!(
            "The length of a '{name}' task name must not exceed {MAX_LENGTH_TASK_NAME} symbols"
        )));
    }
    let action = body
        .get("action")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let workflow = body
        .get("workflow")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    if let Some(cmd) = action.or(workflow) {
        let (_, params) = parse_cmd_and_input(cmd)?;
        validate_expr_map(&params)?;
    }
    for k in [
        "input",
        "publish",
        "publish-on-error",
        "publish-on-skip",
        "keep-result",
        "safe-rerun",
    ] {
        validate_expr(body.get(k))?;
    }
    with_items_pairs(body)?;
    check_policies(body)?;
    if let Some(cmd) = action.or(workflow) {
        let (_, params) = parse_cmd_and_input(cmd)?;
        if !params.is_empty() {
            if let Some(Value::String(_)) = body.get("input") {
                return Err(invalid("'str' object does not support item assignment"));
            }
        }
    }
    let mut clauses = Vec::new();
    if direct {
        for k in ["on-complete", "on-success", "on-error", "on-skip"] {
            clauses.push(match body.get(k) {
                Some(c) if !c.is_null() => Some(check_on_clause(c)?),
                _ => None,
            });
        }
        for c in &clauses {
            check_transition_exprs(c)?;
        }
        if validating()
            && body.get("join").map(truthy).unwrap_or(false)
            && name.chars().count() > MAX_LENGTH_JOIN_TASK_NAME
        {
            return Err(invalid(format!(
                "The length of a '{name}' join task name must not exceed {MAX_LENGTH_JOIN_TASK_NAME} symbols"
            )));
        }
    }
    Ok(build_task(name, body))
}

// ---------------------------------------------------------------------------------------
// Workflows and actions

const WF_SPEC_CLS: &str = "<class 'mistral.lang.v2.workflows.WorkflowSpec'>";

/// Parts of a validated workflow, before the public [`super::WorkflowSpec`] is assembled.
pub(crate) struct WorkflowParts {
    pub wf_type: WorkflowType,
    pub task_defaults: Option<TaskDefaultsSpec>,
    pub tasks: Vec<TaskSpec>,
    /// The body with upstream's injected keys (name/version, and `type` in every task).
    pub body: Value,
}

fn is_uuid_like(s: &str) -> bool {
    // oslo `is_uuid_like`: uuid.UUID(val) accepts 32 hex digits with optional hyphens,
    // braces and `urn:uuid:` prefix; the check then compares the canonical hex.
    let t = s.replace("urn:", "").replace("uuid:", "");
    let t = t.trim_matches(|c| c == '{' || c == '}');
    let hex: String = t.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return false;
    }
    // _format_uuid_string: lowercase, strip urn/uuid/braces/hyphens.
    let formatted = s
        .replace("urn:", "")
        .replace("uuid:", "")
        .trim_matches(|c| c == '{' || c == '}')
        .replace('-', "")
        .to_lowercase();
    formatted == hex.to_lowercase()
}

/// Validate one workflow mapping (already carrying the injected `name`/`version`).
pub(crate) fn check_workflow(name: &str, data: &Value) -> Result<WorkflowParts, DslError> {
    let obj = match data {
        Value::Object(o) => o,
        other => {
            return Err(invalid(format!(
                "A specification with polymorphic key must be backed by a dictionary [spec_cls={WF_SPEC_CLS}, data={}]",
                py_repr(other)
            )))
        }
    };
    let wf_type = match obj.get("type") {
        None => WorkflowType::Direct,
        Some(Value::String(s)) if s == "direct" => WorkflowType::Direct,
        Some(Value::String(s)) if s == "reverse" => WorkflowType::Reverse,
        // Upstream uses the value as a cache key: lists and dicts are unhashable.
        Some(v @ (Value::Array(_) | Value::Object(_))) => {
            return Err(invalid(format!("unhashable type: '{}'", py_type_name(v))))
        }
        Some(_) => {
            return Err(invalid(format!(
            "Failed to find a specification class to instantiate [spec_cls={WF_SPEC_CLS}, data={}]",
            py_repr(data)
        )))
        }
    };
    schema_check(data, &schemas::WORKFLOW)?;
    if !validating() {
        match obj.get("tasks") {
            Some(Value::Object(_)) => {}
            other => {
                return Err(invalid(format!(
                    "'{}' object has no attribute 'values'",
                    py_type_name(other.unwrap_or(&Value::Null))
                )))
            }
        }
    }
    if validating() && !obj.get("tasks").map(truthy).unwrap_or(false) {
        return Err(invalid(format!(
            "Workflow doesn't have any tasks [data={}]",
            py_repr(data)
        )));
    }
    validate_expr(obj.get("output").or(Some(&Value::Object(Map::new()))))?;
    validate_expr(obj.get("vars"))?;

    let task_defaults = match obj.get("task-defaults") {
        Some(v) if !v.is_null() => Some(check_task_defaults(v)?),
        _ => None,
    };

    // Inject `type` into every task, then `name` and `version` (TaskSpecList).
    let mut body = data.clone();
    let mut tasks = Vec::new();
    if let Some(Value::Object(task_map)) = body.get_mut("tasks") {
        for (_, t) in task_map.iter_mut() {
            if let Value::Object(tm) = t {
                tm.insert("type".into(), Value::String(wf_type.as_str().into()));
            }
        }
        for (tname, t) in task_map.iter_mut() {
            if let Value::Object(tm) = t {
                tm.insert("name".into(), Value::String(tname.clone()));
                tm.insert("version".into(), Value::String("2.0".into()));
            } else {
                return Err(invalid(format!(
                    "'{}' object does not support item assignment",
                    py_type_name(t)
                )));
            }
            tasks.push(check_task(tname, t, wf_type)?);
        }
    }

    // Semantics.
    if !validating() {
        return Ok(WorkflowParts {
            wf_type,
            task_defaults,
            tasks,
            body,
        });
    }
    if is_uuid_like(name) {
        return Err(invalid("Workflow name cannot be in the format of UUID."));
    }
    match wf_type {
        WorkflowType::Direct => check_direct_semantics(name, &tasks, task_defaults.as_ref())?,
        WorkflowType::Reverse => check_reverse_semantics(&tasks, task_defaults.as_ref())?,
    }
    Ok(WorkflowParts {
        wf_type,
        task_defaults,
        tasks,
        body,
    })
}

pub(crate) fn py_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) => {
            if n.is_f64() {
                "float"
            } else {
                "int"
            }
        }
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// The effective `next` names of one clause kind for a task (task's own, else defaults
/// minus the task itself), as upstream's `get_on_*_clause`.
pub(crate) fn effective_next<'a>(
    own: &'a Option<OnClause>,
    default: Option<&'a Option<OnClause>>,
    task_name: &str,
) -> Vec<&'a Transition> {
    let mine: Vec<&Transition> = own
        .as_ref()
        .map(|c| c.next.iter().collect())
        .unwrap_or_default();
    if !mine.is_empty() {
        return mine;
    }
    match default {
        Some(Some(d)) => d.next.iter().filter(|t| t.name != task_name).collect(),
        _ => Vec::new(),
    }
}

/// All outbound names of a task (union over the four clauses).
pub(crate) fn outbound_names(t: &TaskSpec, d: Option<&TaskDefaultsSpec>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let clauses = [
        (&t.on_error, d.map(|d| &d.on_error)),
        (&t.on_success, d.map(|d| &d.on_success)),
        (&t.on_complete, d.map(|d| &d.on_complete)),
        (&t.on_skip, d.map(|d| &d.on_skip)),
    ];
    for (own, def) in clauses {
        for tr in effective_next(own, def, &t.name) {
            if !names.contains(&tr.name) {
                names.push(tr.name.clone());
            }
        }
    }
    names
}

fn check_direct_semantics(
    wf_name: &str,
    tasks: &[TaskSpec],
    defaults: Option<&TaskDefaultsSpec>,
) -> Result<(), DslError> {
    let outbound: Vec<Vec<String>> = tasks.iter().map(|t| outbound_names(t, defaults)).collect();
    let inbound_count = |name: &str| {
        outbound
            .iter()
            .filter(|o| o.iter().any(|n| n == name))
            .count()
    };
    if !tasks.iter().any(|t| inbound_count(&t.name) == 0) {
        return Err(invalid(format!(
            "Failed to find start tasks in direct workflow. There must be at least one task without inbound transition.[workflow_name={wf_name}]"
        )));
    }
    let exists = |n: &str| tasks.iter().any(|t| t.name == n);
    for names in &outbound {
        for n in names {
            if !exists(n) && EngineCommand::from_name(n).is_none() {
                return Err(invalid(format!("Task '{n}' not found.")));
            }
        }
    }
    let mut errs = Vec::new();
    for t in tasks {
        let join = match t.body.get("join") {
            Some(j) if truthy(j) => j,
            _ => continue,
        };
        let in_count = inbound_count(&t.name);
        if join == "all" {
            if in_count == 0 {
                errs.push(format!(
                    "No inbound tasks for task with 'join: all' [task_name={}]",
                    t.name
                ));
            }
            continue;
        }
        let n = if join == "one" {
            1
        } else {
            join.as_u64().unwrap_or(0)
        };
        if (in_count as u64) < n {
            errs.push(format!(
                "Not enough inbound tasks for task with 'join' [task_name={}, join={}, inbound_tasks={}]",
                t.name, n, in_count
            ));
        }
    }
    if !errs.is_empty() {
        return Err(invalid(errs.join("\n")));
    }
    Ok(())
}

fn check_reverse_semantics(
    tasks: &[TaskSpec],
    defaults: Option<&TaskDefaultsSpec>,
) -> Result<(), DslError> {
    for t in tasks {
        let mut reqs: Vec<String> = t.requires.clone();
        if let Some(d) = defaults {
            for r in &d.requires {
                if !reqs.contains(r) {
                    reqs.push(r.clone());
                }
            }
        }
        for r in reqs.iter().filter(|r| **r != t.name) {
            if !tasks.iter().any(|x| x.name == *r) {
                return Err(invalid(format!("Task '{r}' not found.")));
            }
        }
    }
    Ok(())
}

/// Validate one ad-hoc action mapping (with injected `name`/`version`).
pub(crate) fn check_action(data: &Value) -> Result<(), DslError> {
    schema_check(data, &schemas::ACTION)?;
    let base = data.get("base").and_then(Value::as_str).unwrap_or("");
    let (_, params) = parse_cmd_and_input(base)?;
    validate_expr_map(&params)?;
    validate_expr(data.get("base-input"))?;
    if let Some(Value::String(s)) = data.get("output") {
        validate_expression(s)?;
    }
    Ok(())
}

/// Upstream `_get_spec_version` (workbooks): `Unsupported DSL version: <v>`.
pub(crate) fn check_spec_version(data: &Value) -> Result<(), DslError> {
    let ver = match data.get("version") {
        Some(v) => v.clone(),
        None => Value::String("2.0".into()),
    };
    let bad = || invalid(format!("Unsupported DSL version: {}", py_str(&ver)));
    let f: Option<f64> = match &ver {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        Value::String(s) => python_float(s),
        _ => None,
    };
    match f {
        Some(f) if truthy(&ver) && super::pyrepr::py_float(f) == "2.0" => {
            // Only the string '2.0' makes upstream build a spec; other accepted spellings
            // (2, 2.0, "2") leave it with None and the service fails on it.
            if ver == Value::String("2.0".into()) {
                Ok(())
            } else {
                Err(invalid("'NoneType' object has no attribute 'get_name'"))
            }
        }
        _ => Err(bad()),
    }
}

/// Python `float(str)`.
fn python_float(s: &str) -> Option<f64> {
    let t = s.trim();
    let t = t.replace('_', "");
    if t.is_empty() {
        return None;
    }
    let lower = t.to_lowercase();
    let lower = lower.trim_start_matches(['+', '-']);
    if lower == "inf" || lower == "infinity" || lower == "nan" {
        return t.parse::<f64>().ok().or(Some(f64::INFINITY));
    }
    if !t
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
    {
        return None;
    }
    t.parse::<f64>().ok()
}

/// DB-level name check: `Name '<name>' must not contain spaces`.
pub(crate) fn check_name_no_spaces(name: &str) -> Result<(), DslError> {
    if name.contains(' ') {
        return Err(invalid(format!("Name '{name}' must not contain spaces")));
    }
    Ok(())
}
