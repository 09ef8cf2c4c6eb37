//! The Mistral workflow language v2: YAML text -> validated, typed specs. No I/O.
//!
//! Read exactly as upstream Mistral 23.0.0 reads it:
//! * YAML: PyYAML `SafeLoader` semantics with Mistral's `safe_yaml` tweaks (YAML 1.1 typing,
//!   `&`/`*`/`@` start plain text, tabs rejected, PyYAML error texts) — [`yaml`];
//! * validation: the upstream JSON schemas checked with jsonschema 4.x semantics, so
//!   `Invalid DSL: ...` texts (message, schema and instance dumps) match; then upstream's
//!   spec-building and semantic checks in the same order — [`validate`];
//! * `definition` texts, `input` signatures and `interface` as the API stores them.
//!
//! Entry points: [`parse_workflows`], [`parse_actions`], [`parse_workbook`] (and the
//! `*_opts` variants taking upstream's `validate` flag for `skip_validation`). Errors are a
//! [`DslError`] whose `Display` is upstream's fault string. The engine-facing model is in
//! [`model`] (typed tasks, transitions, policies, publish merging, task-defaults rules).
//! Expression grammar checks at upload come from the expression layer through
//! [`set_expression_syntax_checker`].

use serde_json::{Map, Value};

mod dump;
pub mod inline;
pub mod model;
mod pprint;
pub mod pyjson;
pub mod pyrepr;
mod schema;
mod schemas;
pub mod validate;
pub mod yaml;

pub use model::{
    effective_policies, merge_dicts, ClauseKind, EngineCommand, Join, OnClause, Policies,
    PublishSpec, PublishState, RetrySpec, TaskDefaultsSpec, TaskInput, TaskSpec, Transition,
    TransitionTarget, WorkflowType,
};
pub use validate::{set_expression_syntax_checker, validate_expression, ExprLang, SyntaxChecker};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DslErrorKind {
    /// The text is not YAML (or not a mapping): `Definition could not be parsed: <yaml error>`.
    Parse,
    /// Schema or semantic violation: `Invalid DSL: <details>`, `Task 'x' not found.`, ...
    Invalid,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DslError {
    pub kind: DslErrorKind,
    /// The complete fault string as upstream words it.
    pub message: String,
}

impl std::fmt::Display for DslError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DslError {}

/// One declared input: `name` or `{name: default}`.
#[derive(Debug, Clone, PartialEq)]
pub struct InputParam {
    pub name: String,
    /// `None` when the parameter is required (declared without a default).
    pub default: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowSpec {
    /// Fully qualified name (`wb.wf` for workbook workflows).
    pub name: String,
    /// The name inside its document (`wf` for `wb.wf`).
    pub short_name: String,
    pub tags: Vec<String>,
    pub description: Option<String>,
    pub input: Vec<InputParam>,
    /// The workflow body as upstream stores it in `spec` (JSON-like, with the injected
    /// `name`, `version` and per-task `type`/`name`/`version` keys).
    pub body: Value,
    /// The text upstream stores as this workflow's `definition`.
    pub definition: String,
    pub wf_type: WorkflowType,
    pub vars: Map<String, Value>,
    pub output: Map<String, Value>,
    pub output_on_error: Map<String, Value>,
    pub task_defaults: Option<TaskDefaultsSpec>,
    /// Tasks in document order.
    pub tasks: Vec<TaskSpec>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActionSpec {
    /// Fully qualified name (`wb.action` for workbook actions).
    pub name: String,
    pub short_name: String,
    pub tags: Vec<String>,
    pub description: Option<String>,
    pub input: Vec<InputParam>,
    /// The action body as upstream stores it in `spec` (with injected `name`/`version`).
    pub body: Value,
    /// The text upstream stores as this action's `definition`.
    pub definition: String,
    /// Base action name without inline params.
    pub base: String,
    /// `base-input` with the inline params of `base` merged in (inline params win, ERRATA).
    pub base_input: Map<String, Value>,
    /// `output` transformation (`None` when absent or null).
    pub output: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkbookSpec {
    pub name: String,
    pub tags: Vec<String>,
    pub description: Option<String>,
    pub workflows: Vec<WorkflowSpec>,
    pub actions: Vec<ActionSpec>,
    /// The workbook document as parsed.
    pub body: Value,
}

impl WorkflowSpec {
    /// The `input` string of the workflow resource: `param1, param2="2"` (Python `str()` of defaults).
    pub fn input_signature(&self) -> String {
        let mut parts = Vec::new();
        if let Some(Value::Array(items)) = self.body.get("input") {
            for item in items {
                match item {
                    Value::Object(m) => {
                        for (k, v) in m {
                            parts.push(format!("{k}=\"{}\"", pyrepr::py_str(v)));
                        }
                    }
                    other => parts.push(pyrepr::py_str(other)),
                }
            }
        }
        parts.join(", ")
    }

    /// The `interface` of the workflow resource: `{"input": [raw DSL input list], "output": [keys]}`.
    pub fn interface(&self) -> Value {
        let input = self
            .body
            .get("input")
            .cloned()
            .unwrap_or(Value::Array(Vec::new()));
        let output: Vec<Value> = match self.body.get("output") {
            Some(Value::Object(m)) => m.keys().map(|k| Value::String(k.clone())).collect(),
            _ => Vec::new(),
        };
        serde_json::json!({"input": input, "output": output})
    }

    pub fn task(&self, name: &str) -> Option<&TaskSpec> {
        self.tasks.iter().find(|t| t.name == name)
    }

    /// The effective transitions of one clause of a task: its own `next` list, or when that
    /// is empty the task-defaults' list minus entries naming the task itself.
    pub fn transitions(&self, task: &str, kind: ClauseKind) -> Vec<&Transition> {
        let Some(t) = self.task(task) else {
            return Vec::new();
        };
        let def = self.task_defaults.as_ref().map(|d| match kind {
            ClauseKind::OnSuccess => &d.on_success,
            ClauseKind::OnError => &d.on_error,
            ClauseKind::OnComplete => &d.on_complete,
            ClauseKind::OnSkip => &d.on_skip,
        });
        validate::effective_next(t.clause(kind), def, task)
    }

    /// Names of tasks with a transition (any clause, guards ignored) to `task`.
    pub fn inbound_tasks(&self, task: &str) -> Vec<&TaskSpec> {
        self.tasks
            .iter()
            .filter(|t| {
                validate::outbound_names(t, self.task_defaults.as_ref())
                    .iter()
                    .any(|n| n == task)
            })
            .collect()
    }

    /// Direct workflows: tasks without inbound transitions, in document order.
    pub fn start_tasks(&self) -> Vec<&TaskSpec> {
        self.tasks
            .iter()
            .filter(|t| self.inbound_tasks(&t.name).is_empty())
            .collect()
    }

    /// Reverse workflows: the task's `requires` united with task-defaults' (minus itself).
    pub fn task_requires(&self, task: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .task(task)
            .map(|t| t.requires.clone())
            .unwrap_or_default();
        if let Some(d) = &self.task_defaults {
            for r in &d.requires {
                if !out.contains(r) {
                    out.push(r.clone());
                }
            }
        }
        out.retain(|r| r != task);
        out
    }

    /// Policies of a task with task-defaults inheritance applied.
    pub fn task_policies(&self, task: &str) -> Policies {
        let own = self
            .task(task)
            .map(|t| t.policies.clone())
            .unwrap_or_default();
        effective_policies(&own, self.task_defaults.as_ref().map(|d| &d.policies))
    }

    /// `safe-rerun`: the task's value if set, else task-defaults', else `false`.
    pub fn task_safe_rerun(&self, task: &str) -> Value {
        self.task(task)
            .and_then(|t| t.safe_rerun.clone())
            .or_else(|| {
                self.task_defaults
                    .as_ref()
                    .and_then(|d| d.safe_rerun.clone())
            })
            .unwrap_or(Value::Bool(false))
    }
}

impl ActionSpec {
    /// The `input` string of the action resource: `x, y=1, z="a"` (JSON of defaults).
    pub fn input_signature(&self) -> String {
        let mut parts = Vec::new();
        if let Some(Value::Array(items)) = self.body.get("input") {
            for item in items {
                match item {
                    Value::Object(m) => {
                        for (k, v) in m {
                            parts.push(format!("{k}={}", pyrepr::py_json_dumps(v)));
                        }
                    }
                    other => parts.push(pyrepr::py_str(other)),
                }
            }
        }
        parts.join(", ")
    }
}

fn parse_error(e: yaml::YamlError) -> DslError {
    if e.0 == yaml::DEPTH_ERROR {
        // A RecursionError upstream, not a YAMLError: no "could not be parsed" wrapper.
        return validate::invalid(e.0);
    }
    DslError {
        kind: DslErrorKind::Parse,
        message: format!("Definition could not be parsed: {e}\n"),
    }
}

/// `parse_yaml`: `safe_yaml.load(text) or {}`. Timestamps come back marked (they fail
/// schema checks like upstream's `datetime` objects); see [`with_plain_timestamps`].
fn load_document(text: &str) -> Result<Value, DslError> {
    let v = if PLAIN_TIMESTAMPS.with(|p| p.get()) {
        yaml::load(text).map_err(parse_error)?
    } else {
        let (v, saw) = yaml::load_marked(text).map_err(parse_error)?;
        SAW_TIMESTAMPS.with(|s| s.set(saw));
        v
    };
    Ok(match v {
        None => Value::Object(Map::new()),
        Some(v) if !truthy(&v) => Value::Object(Map::new()),
        Some(v) => v,
    })
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

/// `BaseListSpec` checks shared by workflow and action lists.
fn check_list(data: &Value) -> Result<(), DslError> {
    if !validate::validating() {
        let obj = match data {
            Value::Object(o) => o,
            other => {
                return Err(validate::invalid(format!(
                    "'{}' object has no attribute 'items'",
                    validate::py_type_name(other)
                )))
            }
        };
        for (k, v) in obj {
            if k != "version" && !v.is_object() {
                return Err(validate::invalid(format!(
                    "'{}' object does not support item assignment",
                    validate::py_type_name(v)
                )));
            }
        }
        return Ok(());
    }
    validate::schema_check(data, &schemas::LIST)?;
    if data.as_object().map(|o| o.len()).unwrap_or(0) < 2 {
        return Err(validate::invalid(format!(
            "At least one item must be in the list [data={}].",
            pyrepr::py_repr(data)
        )));
    }
    Ok(())
}

/// Inject `name` and `version` into an item mapping (upstream mutates the parsed dict).
fn inject_name_version(v: &Value, name: &str) -> Value {
    let mut v = v.clone();
    if let Value::Object(m) = &mut v {
        m.insert("name".into(), Value::String(name.into()));
        m.insert("version".into(), Value::String("2.0".into()));
    }
    v
}

fn input_params(body: &Value) -> Vec<InputParam> {
    let mut out: Vec<InputParam> = Vec::new();
    if let Some(Value::Array(items)) = body.get("input") {
        for item in items {
            let pairs: Vec<(String, Option<Value>)> = match item {
                Value::Object(m) => m
                    .iter()
                    .map(|(k, v)| (k.clone(), Some(v.clone())))
                    .collect(),
                Value::String(s) => vec![(s.clone(), None)],
                other => vec![(pyrepr::py_str(other), None)],
            };
            for (name, default) in pairs {
                if let Some(p) = out.iter_mut().find(|p| p.name == name) {
                    p.default = default;
                } else {
                    out.push(InputParam { name, default });
                }
            }
        }
    }
    out
}

fn build_workflow(
    short_name: &str,
    full_name: &str,
    data: &Value,
    definition: String,
) -> Result<WorkflowSpec, DslError> {
    let parts = validate::check_workflow(short_name, data)?;
    let body = parts.body;
    Ok(WorkflowSpec {
        name: full_name.to_string(),
        short_name: short_name.to_string(),
        tags: model::string_list(body.get("tags")),
        description: body.get("description").and_then(|d| match d {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(pyrepr::py_str(other)),
        }),
        input: input_params(&body),
        wf_type: parts.wf_type,
        vars: model::opt_map(body.get("vars")).unwrap_or_default(),
        output: model::opt_map(body.get("output")).unwrap_or_default(),
        output_on_error: model::opt_map(body.get("output-on-error")).unwrap_or_default(),
        task_defaults: parts.task_defaults,
        tasks: parts.tasks,
        body,
        definition,
    })
}

fn build_action(
    short_name: &str,
    full_name: &str,
    data: &Value,
    definition: String,
) -> Result<ActionSpec, DslError> {
    validate::check_action(data)?;
    let raw_base = data.get("base").and_then(Value::as_str).unwrap_or("");
    let (base, params) = inline::parse_cmd_and_input(raw_base)?;
    // Inline params are merged into `base-input` with overwrite (they win), in place.
    let mut body = data.clone();
    let base_input = match body.get_mut("base-input") {
        Some(Value::Object(m)) => {
            model::merge_dicts(m, &params, true);
            m.clone()
        }
        _ => params,
    };
    let data = &body;
    Ok(ActionSpec {
        name: full_name.to_string(),
        short_name: short_name.to_string(),
        tags: model::string_list(data.get("tags")),
        description: model::opt_string(data.get("description")),
        input: input_params(data),
        body: data.clone(),
        definition,
        base,
        base_input,
        output: data.get("output").filter(|o| !o.is_null()).cloned(),
    })
}

/// A workbook document (`version`, `name`, `workflows`, `actions`, ...).
pub fn parse_workbook(text: &str) -> Result<WorkbookSpec, DslError> {
    with_plain_timestamps(text, parse_workbook_inner)
}

fn parse_workbook_inner(text: &str) -> Result<WorkbookSpec, DslError> {
    let data = load_document(text)?;
    if !validate::validating() {
        match &data {
            Value::Object(o) if !o.contains_key("name") => return Err(validate::invalid("'name'")),
            Value::Object(_) => {}
            Value::String(_) => {
                return Err(validate::invalid(
                    "string indices must be integers, not 'str'",
                ))
            }
            Value::Array(_) => {
                return Err(validate::invalid(
                    "list indices must be integers or slices, not str",
                ))
            }
            other => {
                return Err(validate::invalid(format!(
                    "'{}' object is not subscriptable",
                    validate::py_type_name(other)
                )))
            }
        }
    }
    if !data.is_object() {
        // `'version' in <non-dict>` then schema validation.
        validate::schema_check(&data, &schemas::WORKBOOK)?;
    }
    validate::check_spec_version(&data)?;
    validate::schema_check(&data, &schemas::WORKBOOK)?;
    let name = data
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut actions = Vec::new();
    if let Some(Value::Object(section)) = data.get("actions") {
        for (k, v) in section {
            if k == "version" {
                continue;
            }
            let item = inject_name_version(v, k);
            let full = format!("{name}.{k}");
            let def = dump::cut_from_workbook(text, "actions:", k);
            actions.push(build_action(k, &full, &item, def)?);
        }
    }
    let mut workflows = Vec::new();
    if let Some(Value::Object(section)) = data.get("workflows") {
        for (k, v) in section {
            if k == "version" {
                continue;
            }
            let item = inject_name_version(v, k);
            let full = format!("{name}.{k}");
            let def = dump::cut_from_workbook(text, "workflows:", k);
            workflows.push(build_workflow(k, &full, &item, def)?);
        }
    }
    validate::check_name_no_spaces(&name)?;
    for a in &actions {
        validate::check_name_no_spaces(&a.name)?;
    }
    for w in &workflows {
        validate::check_name_no_spaces(&w.name)?;
    }
    Ok(WorkbookSpec {
        tags: model::string_list(data.get("tags")),
        description: model::opt_string(data.get("description")),
        name,
        workflows,
        actions,
        body: data,
    })
}

/// A workflows document: `version` plus one or more workflows, in document order.
pub fn parse_workflows(text: &str) -> Result<Vec<WorkflowSpec>, DslError> {
    with_plain_timestamps(text, parse_workflows_inner)
}

fn parse_workflows_inner(text: &str) -> Result<Vec<WorkflowSpec>, DslError> {
    let data = load_document(text)?;
    check_list(&data)?;
    let obj = data.as_object().cloned().unwrap_or_default();
    let count = obj.keys().filter(|k| *k != "version").count();
    let mut out = Vec::new();
    for (k, v) in &obj {
        if k == "version" {
            continue;
        }
        let item = inject_name_version(v, k);
        let definition = if count == 1 {
            text.to_string()
        } else {
            let mut doc = Map::new();
            doc.insert(
                "version".into(),
                obj.get("version").cloned().unwrap_or(Value::Null),
            );
            doc.insert(k.clone(), v.clone());
            dump::dump_yaml(&Value::Object(doc))
        };
        out.push(build_workflow(k, k, &item, definition)?);
    }
    for w in &out {
        validate::check_name_no_spaces(&w.name)?;
    }
    Ok(out)
}

/// An ad-hoc actions document: `version` plus one or more actions, in document order.
/// Every action's `definition` is the whole uploaded text.
pub fn parse_actions(text: &str) -> Result<Vec<ActionSpec>, DslError> {
    with_plain_timestamps(text, parse_actions_inner)
}

fn parse_actions_inner(text: &str) -> Result<Vec<ActionSpec>, DslError> {
    let data = load_document(text)?;
    check_list(&data)?;
    let obj = data.as_object().cloned().unwrap_or_default();
    let mut out = Vec::new();
    for (k, v) in &obj {
        if k == "version" {
            continue;
        }
        let item = inject_name_version(v, k);
        out.push(build_action(k, k, &item, text.to_string())?);
    }
    for a in &out {
        validate::check_name_no_spaces(&a.name)?;
    }
    Ok(out)
}

/// [`parse_workbook`] with upstream's `validate` flag: `false` (the API's
/// `skip_validation`) skips schema, expression and semantic checks; YAML errors, the version
/// check and errors raised while building the spec (e.g. bad `with-items`) still apply.
pub fn parse_workbook_opts(text: &str, validate: bool) -> Result<WorkbookSpec, DslError> {
    validate::with_validation(validate, || parse_workbook(text))
}

/// [`parse_workflows`] with upstream's `validate` flag (see [`parse_workbook_opts`]).
pub fn parse_workflows_opts(text: &str, validate: bool) -> Result<Vec<WorkflowSpec>, DslError> {
    validate::with_validation(validate, || parse_workflows(text))
}

/// [`parse_actions`] with upstream's `validate` flag (see [`parse_workbook_opts`]).
pub fn parse_actions_opts(text: &str, validate: bool) -> Result<Vec<ActionSpec>, DslError> {
    validate::with_validation(validate, || parse_actions(text))
}

thread_local! {
    static PLAIN_TIMESTAMPS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static SAW_TIMESTAMPS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Validate with timestamps marked (so they are rejected where upstream rejects `datetime`
/// values); when the text has timestamps and is valid, build the specs again with them as
/// plain ISO strings, which is how they appear to the engine and API.
fn with_plain_timestamps<T>(text: &str, f: fn(&str) -> Result<T, DslError>) -> Result<T, DslError> {
    SAW_TIMESTAMPS.with(|s| s.set(false));
    let r = f(text)?;
    if !SAW_TIMESTAMPS.with(|s| s.get()) {
        return Ok(r);
    }
    PLAIN_TIMESTAMPS.with(|p| p.set(true));
    let again = f(text);
    PLAIN_TIMESTAMPS.with(|p| p.set(false));
    again
}

#[cfg(test)]
mod tests;
