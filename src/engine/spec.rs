//! The engine's typed view of a workflow definition, built from the workflow body (the
//! JSON-like mapping `lang` stores as `WorkflowSpec::body`). Builders never panic: shapes that
//! validation would have rejected give empty values.

use serde_json::{Map, Value};

use super::util::{deep_merge, truthy};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkflowKind {
    Direct,
    Reverse,
}

impl WorkflowKind {
    /// Upstream's spec class name (used in `Invalid input [... class=...]`).
    pub fn class_name(self) -> &'static str {
        match self {
            WorkflowKind::Direct => "DirectWorkflowSpec",
            WorkflowKind::Reverse => "ReverseWorkflowSpec",
        }
    }
}

/// Engine commands usable in transitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineCommand {
    Noop,
    Fail,
    Succeed,
    Pause,
}

impl EngineCommand {
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "noop" => Some(Self::Noop),
            "fail" => Some(Self::Fail),
            "succeed" => Some(Self::Succeed),
            "pause" => Some(Self::Pause),
            _ => None,
        }
    }
}

/// One `next` entry of an on-clause.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub name: String,
    /// Set when the name is an engine command (commands win over same-named tasks, ERRATA).
    pub command: Option<EngineCommand>,
    pub guard: Option<Value>,
    pub params: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PublishScopes {
    pub branch: Option<Map<String, Value>>,
    pub global: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OnClause {
    pub next: Vec<Transition>,
    pub publish: Option<PublishScopes>,
}

/// Join mode of a direct-workflow task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Join {
    All,
    Count(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub enum TaskInput {
    Map(Map<String, Value>),
    /// An expression string that must evaluate to a mapping; inline params kept aside.
    Expression(String, Map<String, Value>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskSpec {
    pub name: String,
    /// Action name (may be an expression); `std.noop` when neither action nor workflow.
    pub action: Option<String>,
    pub workflow: Option<String>,
    pub input: TaskInput,
    pub publish: Option<Map<String, Value>>,
    pub publish_on_error: Option<Map<String, Value>>,
    pub publish_on_skip: Option<Map<String, Value>>,
    pub on_success: Option<OnClause>,
    pub on_error: Option<OnClause>,
    pub on_complete: Option<OnClause>,
    pub on_skip: Option<OnClause>,
    pub join: Option<Join>,
    pub requires: Vec<String>,
    pub keep_result: bool,
    pub target: Option<Value>,
    pub safe_rerun: bool,
    /// `with-items` as `(var, collection)` pairs (collection: JSON array or expression).
    pub with_items: Vec<(String, Value)>,
    /// The raw task mapping (policies are read from here by the policy layer).
    pub body: Value,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TaskDefaults {
    pub on_success: Option<OnClause>,
    pub on_error: Option<OnClause>,
    pub on_complete: Option<OnClause>,
    pub on_skip: Option<OnClause>,
    pub requires: Vec<String>,
    pub safe_rerun: Option<bool>,
    pub body: Value,
}

/// A declared input parameter (`name` or `{name: default}`).
#[derive(Debug, Clone, PartialEq)]
pub struct InputDecl {
    pub name: String,
    pub default: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowDef {
    /// Fully qualified name (`wb.wf` in workbooks).
    pub name: String,
    pub kind: WorkflowKind,
    pub input: Vec<InputDecl>,
    pub vars: Map<String, Value>,
    pub output: Option<Value>,
    pub output_on_error: Option<Value>,
    pub task_defaults: TaskDefaults,
    /// Tasks in definition order.
    pub tasks: Vec<TaskSpec>,
    pub body: Value,
}

/// Which on-clause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClauseKind {
    OnSuccess,
    OnError,
    OnComplete,
    OnSkip,
}

impl ClauseKind {
    pub fn event(self) -> &'static str {
        match self {
            ClauseKind::OnSuccess => "on-success",
            ClauseKind::OnError => "on-error",
            ClauseKind::OnComplete => "on-complete",
            ClauseKind::OnSkip => "on-skip",
        }
    }
}

impl WorkflowDef {
    /// Builds the engine view of a workflow body. `name` is the fully qualified name.
    pub fn from_body(name: &str, body: &Value) -> WorkflowDef {
        let kind = match body.get("type").and_then(Value::as_str) {
            Some("reverse") => WorkflowKind::Reverse,
            _ => WorkflowKind::Direct,
        };
        let input = parse_input_decls(body.get("input"));
        let tasks = match body.get("tasks") {
            Some(Value::Object(m)) => m.iter().map(|(n, b)| build_task(n, b)).collect(),
            _ => Vec::new(),
        };
        let td = body.get("task-defaults").cloned().unwrap_or(Value::Null);
        let task_defaults = TaskDefaults {
            on_success: build_clause(td.get("on-success")),
            on_error: build_clause(td.get("on-error")),
            on_complete: build_clause(td.get("on-complete")),
            on_skip: build_clause(td.get("on-skip")),
            requires: string_list(td.get("requires")),
            safe_rerun: td.get("safe-rerun").filter(|v| !v.is_null()).map(truthy),
            body: td,
        };
        WorkflowDef {
            name: name.to_string(),
            kind,
            input,
            vars: match body.get("vars") {
                Some(Value::Object(m)) => m.clone(),
                _ => Map::new(),
            },
            output: body.get("output").filter(|v| !v.is_null()).cloned(),
            output_on_error: body
                .get("output-on-error")
                .filter(|v| !v.is_null())
                .cloned(),
            task_defaults,
            tasks,
            body: body.clone(),
        }
    }

    /// Builds the engine view of a `lang` workflow spec.
    pub fn from_lang(spec: &crate::lang::WorkflowSpec) -> WorkflowDef {
        WorkflowDef::from_body(&spec.name, &spec.body)
    }

    pub fn task(&self, name: &str) -> Option<&TaskSpec> {
        self.tasks.iter().find(|t| t.name == name)
    }

    /// The effective clause of a task: its own `next` list if non-empty, else the
    /// task-defaults list minus self references (dsl.md §5.6). The task's own publish is kept.
    pub fn clause(&self, task: &TaskSpec, kind: ClauseKind) -> OnClause {
        let (own, def) = match kind {
            ClauseKind::OnSuccess => (&task.on_success, &self.task_defaults.on_success),
            ClauseKind::OnError => (&task.on_error, &self.task_defaults.on_error),
            ClauseKind::OnComplete => (&task.on_complete, &self.task_defaults.on_complete),
            ClauseKind::OnSkip => (&task.on_skip, &self.task_defaults.on_skip),
        };
        let mut clause = own.clone().unwrap_or_default();
        if clause.next.is_empty() {
            if let Some(d) = def {
                clause.next = d
                    .next
                    .iter()
                    .filter(|t| t.name != task.name)
                    .cloned()
                    .collect();
            }
        }
        clause
    }

    /// Whether the task has an `on-error` clause at all (own or inherited), used by the
    /// failure message filter (engine.md §4.3).
    pub fn has_on_error(&self, task: &TaskSpec) -> bool {
        !self.clause(task, ClauseKind::OnError).next.is_empty()
    }

    /// Names of tasks with a transition (any clause, guards ignored) into `name`.
    pub fn inbound(&self, name: &str) -> Vec<String> {
        self.tasks
            .iter()
            .filter(|t| {
                [
                    ClauseKind::OnSuccess,
                    ClauseKind::OnError,
                    ClauseKind::OnComplete,
                    ClauseKind::OnSkip,
                ]
                .iter()
                .any(|k| {
                    self.clause(t, *k)
                        .next
                        .iter()
                        .any(|tr| tr.command.is_none() && tr.name == name)
                })
            })
            .map(|t| t.name.clone())
            .collect()
    }

    /// Direct workflows: tasks no transition leads to.
    pub fn start_tasks(&self) -> Vec<&TaskSpec> {
        self.tasks
            .iter()
            .filter(|t| self.inbound(&t.name).is_empty())
            .collect()
    }

    /// Reverse workflows: `requires` of a task plus task-defaults, minus itself.
    pub fn requires(&self, task: &TaskSpec) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for r in task
            .requires
            .iter()
            .chain(self.task_defaults.requires.iter())
        {
            if r != &task.name && !out.contains(r) {
                out.push(r.clone());
            }
        }
        out
    }
}

pub fn parse_input_decls(v: Option<&Value>) -> Vec<InputDecl> {
    let mut out = Vec::new();
    if let Some(Value::Array(items)) = v {
        for item in items {
            match item {
                Value::String(s) => out.push(InputDecl {
                    name: s.clone(),
                    default: None,
                }),
                Value::Object(m) => {
                    if let Some((k, d)) = m.iter().next() {
                        out.push(InputDecl {
                            name: k.clone(),
                            default: Some(d.clone()),
                        });
                    }
                }
                _ => {}
            }
        }
    }
    out
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

fn opt_map(v: Option<&Value>) -> Option<Map<String, Value>> {
    match v {
        Some(Value::Object(m)) if !m.is_empty() => Some(m.clone()),
        _ => None,
    }
}

/// Upstream's inline parameter splitter (dsl.md §4.2), from `lang`: `std.echo output="x"` ->
/// (`std.echo`, `{output: "x"}`). `None` when no command name can be found.
pub fn parse_cmd_and_input(s: &str) -> Option<(String, Map<String, Value>)> {
    crate::lang::inline::parse_cmd_and_input(s).ok()
}

fn entry(v: &Value) -> Option<(String, Option<Value>)> {
    match v {
        Value::String(s) => Some((s.clone(), None)),
        Value::Object(m) => m.iter().next().map(|(k, g)| {
            let guard = if g.is_null() { None } else { Some(g.clone()) };
            (k.clone(), guard)
        }),
        _ => None,
    }
}

fn build_next(v: Option<&Value>) -> Vec<Transition> {
    let entries: Vec<(String, Option<Value>)> = match v {
        None => Vec::new(),
        Some(Value::Array(items)) => items.iter().filter_map(entry).collect(),
        Some(other) => entry(other).into_iter().collect(),
    };
    entries
        .into_iter()
        .map(|(raw, guard)| {
            let (name, params) = parse_cmd_and_input(&raw).unwrap_or((raw.clone(), Map::new()));
            Transition {
                command: EngineCommand::from_name(&name),
                name,
                guard,
                params,
            }
        })
        .collect()
}

fn build_clause(v: Option<&Value>) -> Option<OnClause> {
    match v? {
        Value::Null => None,
        Value::Object(m) if m.contains_key("next") || m.contains_key("publish") => Some(OnClause {
            next: build_next(m.get("next")),
            publish: m.get("publish").map(|p| PublishScopes {
                branch: opt_map(p.get("branch")),
                global: opt_map(p.get("global")),
            }),
        }),
        other => Some(OnClause {
            next: build_next(Some(other)),
            publish: None,
        }),
    }
}

fn build_task(name: &str, body: &Value) -> TaskSpec {
    let mut action = body
        .get("action")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(String::from);
    let mut workflow = body
        .get("workflow")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(String::from);
    let mut inline = Map::new();
    if let Some(a) = action.clone() {
        if let Some((cmd, p)) = parse_cmd_and_input(&a) {
            action = Some(cmd);
            inline = p;
        }
    } else if let Some(w) = workflow.clone() {
        if let Some((cmd, p)) = parse_cmd_and_input(&w) {
            workflow = Some(cmd);
            inline = p;
        }
    } else {
        action = Some("std.noop".into());
    }
    let input = match body.get("input") {
        Some(Value::String(s)) => TaskInput::Expression(s.clone(), inline),
        Some(Value::Object(m)) => {
            // Recorded upstream behaviour: inline parameters win over `input`
            // (conformance case direct_input_overrides_inline; dsl.md says the opposite).
            let mut merged = m.clone();
            deep_merge(&mut merged, &inline);
            TaskInput::Map(merged)
        }
        _ => TaskInput::Map(inline),
    };
    let join = match body.get("join") {
        Some(Value::String(s)) if s == "all" => Some(Join::All),
        Some(Value::String(s)) if s == "one" => Some(Join::Count(1)),
        Some(Value::Number(n)) => n
            .as_u64()
            .filter(|n| *n > 0)
            .map(|n| Join::Count(n as usize)),
        _ => None,
    };
    TaskSpec {
        name: name.to_string(),
        action,
        workflow,
        input,
        publish: opt_map(body.get("publish")),
        publish_on_error: opt_map(body.get("publish-on-error")),
        publish_on_skip: opt_map(body.get("publish-on-skip")),
        on_success: build_clause(body.get("on-success")),
        on_error: build_clause(body.get("on-error")),
        on_complete: build_clause(body.get("on-complete")),
        on_skip: build_clause(body.get("on-skip")),
        join,
        requires: string_list(body.get("requires")),
        keep_result: body.get("keep-result").map(truthy).unwrap_or(true),
        target: body.get("target").filter(|v| !v.is_null()).cloned(),
        safe_rerun: body.get("safe-rerun").map(truthy).unwrap_or(false),
        with_items: crate::lang::model::build_task(name, body).with_items,
        body: body.clone(),
    }
}

/// Engine view of an ad-hoc action definition.
#[derive(Debug, Clone, PartialEq)]
pub struct AdHocDef {
    pub name: String,
    /// Base action name (inline params split off).
    pub base: String,
    /// `base-input` with the inline params of `base` merged in (inline params win, ERRATA).
    pub base_input: Map<String, Value>,
    pub input: Vec<InputDecl>,
    pub output: Option<Value>,
    /// The document text upstream stores as the action's `definition` (used in
    /// `Failed to instantiate an action [action_desc=AdHoc action [name=..., definition=...]]`).
    pub definition: String,
}

impl AdHocDef {
    /// Builds the engine view of a `lang` ad-hoc action spec.
    pub fn from_lang(spec: &crate::lang::ActionSpec) -> AdHocDef {
        let mut d = AdHocDef::from_body(&spec.name, &spec.body);
        d.definition = spec.definition.clone();
        d
    }

    pub fn from_body(name: &str, body: &Value) -> AdHocDef {
        let base_raw = body
            .get("base")
            .and_then(Value::as_str)
            .unwrap_or("std.noop");
        let (base, inline) =
            parse_cmd_and_input(base_raw).unwrap_or((base_raw.to_string(), Map::new()));
        let mut base_input = opt_map(body.get("base-input")).unwrap_or_default();
        for (k, v) in inline {
            base_input.insert(k, v);
        }
        AdHocDef {
            name: name.to_string(),
            base,
            base_input,
            input: parse_input_decls(body.get("input")),
            output: body.get("output").filter(|v| !v.is_null()).cloned(),
            definition: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inline_params_follow_upstream_quirks() {
        let (c, p) = parse_cmd_and_input("std.echo output=1.5").unwrap();
        assert_eq!(c, "std.echo");
        assert_eq!(p["output"], json!(1));
        let (_, p) = parse_cmd_and_input(r#"std.echo output="kept" delay=-5"#).unwrap();
        assert_eq!(p, json!({"output": "kept"}).as_object().unwrap().clone());
        let (_, p) = parse_cmd_and_input("std.echo output=012").unwrap();
        assert_eq!(p["output"], json!("012"));
        let (_, p) = parse_cmd_and_input("std.echo output=word").unwrap();
        assert!(p.is_empty());
        let (_, p) = parse_cmd_and_input(r#"std.echo output=[1, "two", {"three": 3}]"#).unwrap();
        assert_eq!(p["output"], json!([1, "two", {"three": 3}]));
        let (c, p) = parse_cmd_and_input("fail msg='a b'").unwrap();
        assert_eq!((c.as_str(), p["msg"].clone()), ("fail", json!("a b")));
    }

    #[test]
    fn task_defaults_transitions_are_inherited_without_self_loops() {
        let body = json!({
            "task-defaults": {"on-error": ["handler"]},
            "tasks": {"a": {"action": "std.noop", "on-success": "b"}, "b": {}, "handler": {}}
        });
        let wf = WorkflowDef::from_body("wf", &body);
        let handler = wf.task("handler").unwrap();
        assert!(wf.clause(handler, ClauseKind::OnError).next.is_empty());
        let a = wf.task("a").unwrap();
        assert_eq!(wf.clause(a, ClauseKind::OnError).next[0].name, "handler");
        assert_eq!(
            wf.start_tasks()
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>(),
            vec!["a"]
        );
    }
}
