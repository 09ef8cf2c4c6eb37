//! Typed view of validated v2 specs, for the engine. Built from the JSON-like body after
//! validation; builders are defensive (never panic) so they can also run unvalidated.

use serde_json::{Map, Value};

use super::inline::parse_cmd_and_input;

/// Workflow type (`type:` key, default `direct`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkflowType {
    Direct,
    Reverse,
}

impl WorkflowType {
    pub fn as_str(&self) -> &'static str {
        match self {
            WorkflowType::Direct => "direct",
            WorkflowType::Reverse => "reverse",
        }
    }
}

/// The engine commands usable as transition targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineCommand {
    Noop,
    Fail,
    Succeed,
    Pause,
}

impl EngineCommand {
    pub fn from_name(name: &str) -> Option<EngineCommand> {
        match name {
            "noop" => Some(EngineCommand::Noop),
            "fail" => Some(EngineCommand::Fail),
            "succeed" => Some(EngineCommand::Succeed),
            "pause" => Some(EngineCommand::Pause),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            EngineCommand::Noop => "noop",
            EngineCommand::Fail => "fail",
            EngineCommand::Succeed => "succeed",
            EngineCommand::Pause => "pause",
        }
    }
}

/// What a transition entry points at. Engine command names always mean the command
/// (upstream 23.0.0: a task named `fail` does not shadow the `fail` command, see ERRATA).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransitionTarget {
    Task(String),
    Command(EngineCommand),
}

/// One entry of an on-clause `next` list: `(name, guard, params)` upstream.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The name as written (after splitting off inline params).
    pub name: String,
    pub target: TransitionTarget,
    /// The guard expression (`task2: <% $.x %>`); `None` when unguarded.
    pub guard: Option<String>,
    /// Inline parameters (`fail msg="boom"` -> `{"msg": "boom"}`).
    pub params: Map<String, Value>,
}

/// Advanced `publish` of an on-clause (and the branch-only form of task-level publish).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PublishSpec {
    pub branch: Option<Map<String, Value>>,
    pub global: Option<Map<String, Value>>,
    pub atomic: Option<Map<String, Value>>,
}

/// An `on-success` / `on-error` / `on-complete` / `on-skip` clause.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OnClause {
    pub next: Vec<Transition>,
    pub publish: Option<PublishSpec>,
}

/// `retry` policy (mapping or one-line form, already normalised).
#[derive(Debug, Clone, PartialEq)]
pub struct RetrySpec {
    /// Integer or expression string.
    pub count: Value,
    /// Integer or expression string.
    pub delay: Value,
    pub break_on: Option<String>,
    pub continue_on: Option<String>,
}

/// Task policies. Absent keys hold upstream's defaults (`0` / `false`).
#[derive(Debug, Clone, PartialEq)]
pub struct Policies {
    pub retry: Option<RetrySpec>,
    /// Integer or expression; default `0`.
    pub wait_before: Value,
    pub wait_after: Value,
    pub timeout: Value,
    /// Boolean or expression; default `false`.
    pub pause_before: Value,
    pub concurrency: Value,
    pub fail_on: Value,
}

impl Default for Policies {
    fn default() -> Self {
        Policies {
            retry: None,
            wait_before: Value::from(0),
            wait_after: Value::from(0),
            timeout: Value::from(0),
            pause_before: Value::Bool(false),
            concurrency: Value::from(0),
            fail_on: Value::Bool(false),
        }
    }
}

/// `join:` of a direct-workflow task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Join {
    All,
    /// `one` is `Count(1)`; `0` means no join and is not represented.
    Count(u64),
}

/// A task's `input`: a mapping (with inline params merged in) or an expression string.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskInput {
    Map(Map<String, Value>),
    Expression(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskSpec {
    pub name: String,
    pub description: Option<String>,
    pub tags: Vec<String>,
    /// Action name without inline params; `std.noop` when neither action nor workflow.
    /// May be an expression. `None` for workflow tasks.
    pub action: Option<String>,
    /// Sub-workflow name without inline params (may be an expression).
    pub workflow: Option<String>,
    pub input: TaskInput,
    /// `with-items` as `(var, collection)`; collection is a JSON array or an expression.
    pub with_items: Vec<(String, Value)>,
    pub publish: Option<Map<String, Value>>,
    pub publish_on_error: Option<Map<String, Value>>,
    pub publish_on_skip: Option<Map<String, Value>>,
    /// Only the policies written on the task itself.
    pub policies: Policies,
    pub target: Option<String>,
    /// Boolean or expression (expressions are truthy), default `true`.
    pub keep_result: Value,
    /// Boolean or expression; `None` when not given on the task.
    pub safe_rerun: Option<Value>,
    pub join: Option<Join>,
    pub on_success: Option<OnClause>,
    pub on_error: Option<OnClause>,
    pub on_complete: Option<OnClause>,
    pub on_skip: Option<OnClause>,
    /// Reverse workflows: names of required tasks.
    pub requires: Vec<String>,
    /// The raw task mapping (with upstream's injected `name`, `version`, `type`).
    pub body: Value,
}

impl TaskSpec {
    /// `"WORKFLOW"` when `workflow` is set, else `"ACTION"`.
    pub fn task_type(&self) -> &'static str {
        if self.workflow.is_some() {
            "WORKFLOW"
        } else {
            "ACTION"
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TaskDefaultsSpec {
    pub policies: Policies,
    pub on_success: Option<OnClause>,
    pub on_error: Option<OnClause>,
    pub on_complete: Option<OnClause>,
    pub on_skip: Option<OnClause>,
    pub safe_rerun: Option<Value>,
    pub requires: Vec<String>,
}

// ---------------------------------------------------------------------------------------
// Builders (defensive: unexpected shapes give empty/default values).

pub(crate) fn opt_map(v: Option<&Value>) -> Option<Map<String, Value>> {
    match v {
        Some(Value::Object(m)) if !m.is_empty() => Some(m.clone()),
        _ => None,
    }
}

pub(crate) fn opt_string(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_string)
}

pub(crate) fn string_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
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

/// Upstream `_as_tuple` + `_parse_cmd_and_input` for each `next` entry.
pub(crate) fn build_next(v: Option<&Value>) -> Vec<Transition> {
    let entries: Vec<(String, Option<String>)> = match v {
        None => Vec::new(),
        Some(x) if !truthy(x) => Vec::new(),
        Some(Value::String(s)) => vec![(s.clone(), None)],
        Some(Value::Array(items)) => items.iter().filter_map(entry_tuple).collect(),
        // A mapping is iterated like a list upstream: its keys, without guards.
        Some(Value::Object(m)) => m.keys().map(|k| (k.clone(), None)).collect(),
        Some(_) => Vec::new(),
    };
    entries
        .into_iter()
        .map(|(raw, guard)| {
            let (name, params) = parse_cmd_and_input(&raw).unwrap_or((raw.clone(), Map::new()));
            let target = match EngineCommand::from_name(&name) {
                Some(cmd) => TransitionTarget::Command(cmd),
                None => TransitionTarget::Task(name.clone()),
            };
            Transition {
                name,
                target,
                guard,
                params,
            }
        })
        .collect()
}

fn entry_tuple(v: &Value) -> Option<(String, Option<String>)> {
    match v {
        Value::String(s) => Some((s.clone(), None)),
        Value::Object(m) => m.iter().next().map(|(k, g)| {
            let guard = match g {
                Value::String(s) if !s.is_empty() => Some(s.clone()),
                _ => None,
            };
            (k.clone(), guard)
        }),
        _ => None,
    }
}

pub(crate) fn build_publish(v: &Value) -> PublishSpec {
    PublishSpec {
        branch: opt_map(v.get("branch")),
        global: opt_map(v.get("global")),
        atomic: opt_map(v.get("atomic")),
    }
}

pub(crate) fn build_on_clause(v: Option<&Value>) -> Option<OnClause> {
    let v = v?;
    if v.is_null() {
        return None;
    }
    match v {
        // Upstream treats every mapping as the advanced form: a single guarded task written
        // as a mapping (`on-success: {t2: <% $.x %>}`) therefore has no `next` at all.
        Value::Object(m) => Some(OnClause {
            next: build_next(m.get("next")),
            publish: m
                .get("publish")
                .filter(|p| p.is_object())
                .map(build_publish),
        }),
        other => Some(OnClause {
            next: build_next(Some(other)),
            publish: None,
        }),
    }
}

pub(crate) fn build_retry(v: Option<&Value>) -> Option<RetrySpec> {
    let v = v?;
    let data: Map<String, Value> = match v {
        Value::String(s) => parse_cmd_and_input(s).map(|(_, p)| p).unwrap_or_default(),
        Value::Object(m) => m.clone(),
        _ => return None,
    };
    if !truthy(v) {
        return None;
    }
    Some(RetrySpec {
        count: data.get("count").cloned().unwrap_or(Value::Null),
        delay: data.get("delay").cloned().unwrap_or(Value::Null),
        break_on: opt_string(data.get("break-on")),
        continue_on: opt_string(data.get("continue-on")),
    })
}

/// Upstream `_group_spec`: only truthy policy values are taken.
pub(crate) fn build_policies(body: &Value) -> Policies {
    let mut p = Policies::default();
    let get = |k: &str| body.get(k).filter(|v| truthy(v)).cloned();
    p.retry = build_retry(body.get("retry").filter(|v| truthy(v)));
    if let Some(v) = get("wait-before") {
        p.wait_before = v;
    }
    if let Some(v) = get("wait-after") {
        p.wait_after = v;
    }
    if let Some(v) = get("timeout") {
        p.timeout = v;
    }
    if let Some(v) = get("pause-before") {
        p.pause_before = v;
    }
    if let Some(v) = get("concurrency") {
        p.concurrency = v;
    }
    if let Some(v) = get("fail-on") {
        p.fail_on = v;
    }
    p
}

pub(crate) fn build_task_defaults(v: &Value) -> TaskDefaultsSpec {
    TaskDefaultsSpec {
        policies: build_policies(v),
        on_success: build_on_clause(v.get("on-success")),
        on_error: build_on_clause(v.get("on-error")),
        on_complete: build_on_clause(v.get("on-complete")),
        on_skip: build_on_clause(v.get("on-skip")),
        safe_rerun: v.get("safe-rerun").filter(|x| !x.is_null()).cloned(),
        requires: string_list(v.get("requires")),
    }
}

pub(crate) fn build_task(name: &str, body: &Value) -> TaskSpec {
    let mut action = opt_string(body.get("action")).filter(|s| !s.is_empty());
    let mut workflow = opt_string(body.get("workflow")).filter(|s| !s.is_empty());
    let mut params = Map::new();
    if let Some(a) = &action {
        if let Ok((cmd, p)) = parse_cmd_and_input(a) {
            action = Some(cmd);
            params = p;
        }
    } else if let Some(w) = &workflow {
        if let Ok((cmd, p)) = parse_cmd_and_input(w) {
            workflow = Some(cmd);
            params = p;
        }
    } else {
        action = Some("std.noop".to_string());
    }
    // Upstream merges the inline params into the very `input` mapping of the spec
    // (`merge_dicts(input, params)`, overwrite on): inline params win, and the stored
    // body shows the merged mapping.
    let mut body = body.clone();
    let input = match body.get_mut("input") {
        Some(Value::String(s)) => TaskInput::Expression(s.clone()),
        Some(Value::Object(m)) => {
            merge_dicts(m, &params, true);
            TaskInput::Map(m.clone())
        }
        _ => TaskInput::Map(params),
    };
    let body = &body;
    let with_items = super::validate::with_items_pairs(body).unwrap_or_default();
    let join = match body.get("join") {
        Some(Value::String(s)) if s == "all" => Some(Join::All),
        Some(Value::String(s)) if s == "one" => Some(Join::Count(1)),
        Some(Value::Number(n)) => n.as_u64().filter(|n| *n > 0).map(Join::Count),
        _ => None,
    };
    TaskSpec {
        name: name.to_string(),
        description: opt_string(body.get("description")),
        tags: string_list(body.get("tags")),
        action,
        workflow,
        input,
        with_items,
        publish: opt_map(body.get("publish")),
        publish_on_error: opt_map(body.get("publish-on-error")),
        publish_on_skip: opt_map(body.get("publish-on-skip")),
        policies: build_policies(body),
        target: opt_string(body.get("target")),
        keep_result: body
            .get("keep-result")
            .cloned()
            .unwrap_or(Value::Bool(true)),
        safe_rerun: body.get("safe-rerun").filter(|x| !x.is_null()).cloned(),
        join,
        on_success: build_on_clause(body.get("on-success")),
        on_error: build_on_clause(body.get("on-error")),
        on_complete: build_on_clause(body.get("on-complete")),
        on_skip: build_on_clause(body.get("on-skip")),
        requires: string_list(body.get("requires")),
        body: body.clone(),
    }
}

/// The four transition clauses of a direct-workflow task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClauseKind {
    OnSuccess,
    OnError,
    OnComplete,
    OnSkip,
}

/// Task completion states that have a publish source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishState {
    Success,
    Error,
    Skipped,
}

impl TaskSpec {
    pub fn clause(&self, kind: ClauseKind) -> &Option<OnClause> {
        match kind {
            ClauseKind::OnSuccess => &self.on_success,
            ClauseKind::OnError => &self.on_error,
            ClauseKind::OnComplete => &self.on_complete,
            ClauseKind::OnSkip => &self.on_skip,
        }
    }

    /// Upstream `get_publish(state)`: the task-level publish (branch only), merged with
    /// on-complete's publish (on-complete wins; its global/atomic are dropped when a
    /// task-level publish exists), then merged into the state's own clause publish (the
    /// earlier result wins; scopes missing in the clause publish stay missing).
    pub fn publish_for(&self, state: PublishState) -> Option<PublishSpec> {
        let own = match state {
            PublishState::Success => &self.publish,
            PublishState::Error => &self.publish_on_error,
            PublishState::Skipped => &self.publish_on_skip,
        };
        let mut spec: Option<PublishSpec> = own.as_ref().map(|b| PublishSpec {
            branch: Some(b.clone()),
            global: None,
            atomic: None,
        });
        if let Some(oc) = self.on_complete.as_ref().and_then(|c| c.publish.as_ref()) {
            spec = Some(match spec {
                Some(mut s) => {
                    merge_scope(&mut s.branch, &oc.branch, true);
                    merge_scope(&mut s.global, &oc.global, true);
                    merge_scope(&mut s.atomic, &oc.atomic, true);
                    s
                }
                None => oc.clone(),
            });
        }
        let clause = match state {
            PublishState::Success => &self.on_success,
            PublishState::Error => &self.on_error,
            PublishState::Skipped => &self.on_skip,
        };
        if let Some(cp) = clause.as_ref().and_then(|c| c.publish.as_ref()) {
            let mut result = cp.clone();
            if let Some(base) = &spec {
                merge_scope(&mut result.branch, &base.branch, true);
                merge_scope(&mut result.global, &base.global, true);
                merge_scope(&mut result.atomic, &base.atomic, true);
            }
            return Some(result);
        }
        spec
    }
}

/// `merge_dicts(left, right, overwrite)` applied to an optional scope: a missing left
/// scope stays missing (upstream merges into `None` without assigning the result).
fn merge_scope(
    left: &mut Option<Map<String, Value>>,
    right: &Option<Map<String, Value>>,
    overwrite: bool,
) {
    if let (Some(l), Some(r)) = (left.as_mut(), right) {
        merge_dicts(l, r, overwrite);
    }
}

/// Upstream `merge_dicts`: recursive for nested mappings; other conflicts follow `overwrite`.
pub fn merge_dicts(left: &mut Map<String, Value>, right: &Map<String, Value>, overwrite: bool) {
    for (k, v) in right {
        match left.get_mut(k) {
            None => {
                left.insert(k.clone(), v.clone());
            }
            Some(Value::Object(l)) if v.is_object() => {
                if let Value::Object(r) = v {
                    merge_dicts(l, r, overwrite);
                }
            }
            Some(slot) => {
                if overwrite {
                    *slot = v.clone();
                }
            }
        }
    }
}

fn policy_active(key: &str, v: &Value) -> bool {
    match key {
        "wait-before" | "wait-after" | "timeout" => match v {
            Value::String(_) => true,
            Value::Number(n) => n.as_f64().map(|f| f > 0.0).unwrap_or(false),
            _ => false,
        },
        _ => truthy(v),
    }
}

/// Per-policy inheritance from task-defaults (engine.md / dsl.md §6): the task's own value
/// when it makes the policy active, otherwise the default's.
pub fn effective_policies(task: &Policies, defaults: Option<&Policies>) -> Policies {
    let d = match defaults {
        None => return task.clone(),
        Some(d) => d,
    };
    let pick = |key: &str, own: &Value, def: &Value| -> Value {
        if policy_active(key, own) {
            own.clone()
        } else {
            def.clone()
        }
    };
    Policies {
        retry: task.retry.clone().or_else(|| d.retry.clone()),
        wait_before: pick("wait-before", &task.wait_before, &d.wait_before),
        wait_after: pick("wait-after", &task.wait_after, &d.wait_after),
        timeout: pick("timeout", &task.timeout, &d.timeout),
        pause_before: pick("pause-before", &task.pause_before, &d.pause_before),
        concurrency: pick("concurrency", &task.concurrency, &d.concurrency),
        fail_on: pick("fail-on", &task.fail_on, &d.fail_on),
    }
}
