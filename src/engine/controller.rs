//! The pure workflow controller: `start` builds a new execution, `handle` applies one event to
//! an execution's state. Both mutate plain in-memory state and return the [`Effect`]s the shell
//! must carry out (run actions, start sub-workflows, notify parents, ...). No I/O, no clock, no
//! randomness: ids and the current time come from the [`Runtime`].

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::policies::{self, Policy};
use super::spec::{
    AdHocDef, ClauseKind, EngineCommand, InputDecl, Join, TaskInput, TaskSpec, WorkflowDef,
    WorkflowKind,
};
use super::state::{ActionExecution, ChildKind, State, TaskExecution, TaskType, WorkflowExecution};
use super::util::{
    deep_merge, layered_view, merge_contexts, outbound_context, py_str, py_str_list, truthy,
    VERSIONS_KEY,
};

/// Evaluates expressions for the engine (implemented over `crate::expr` by the shell; the
/// state gives `task()`, `tasks()`, `execution()`, `global()` their data).
pub trait Expressions {
    /// Recursive evaluation of `value` against the data view `view` (upstream
    /// `evaluate_recursively`). The error is the complete upstream text
    /// (`Can not evaluate YAQL expression [expression=..., error=...]`).
    fn evaluate(&self, value: &Value, view: &Value, state: &WorkflowState)
        -> Result<Value, String>;
}

/// A system (non ad-hoc) action as the engine needs to know it.
#[derive(Debug, Clone, PartialEq)]
pub struct SystemAction {
    pub name: String,
    /// Python class path used in `Invalid input [... class=...]`.
    pub class: String,
    pub params: Vec<InputDecl>,
    /// Accepts any keyword argument (`**kwargs`).
    pub open_params: bool,
    pub is_sync: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ActionDef {
    System(SystemAction),
    AdHoc(AdHocDef),
}

/// Definitions the controller looks up while running (workflows for sub-workflow input
/// splitting, actions for resolution and signature checks).
pub trait Catalog {
    fn workflow(&self, name: &str) -> Option<WorkflowDef>;
    fn action(&self, name: &str) -> Option<ActionDef>;
}

/// What the controller needs from the outside world, all deterministic.
pub struct Runtime<'a> {
    pub expr: &'a dyn Expressions,
    pub catalog: &'a dyn Catalog,
    /// New UUIDs.
    pub ids: &'a mut dyn FnMut() -> String,
    /// Current time, `YYYY-MM-DD HH:MM:SS`.
    pub now: String,
}

/// One execution's complete state.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowState {
    pub def: WorkflowDef,
    pub execution: WorkflowExecution,
    /// Task executions in creation order. Records are shared (copy on write), so a snapshot
    /// of the state is cheap and a record that did not change is the same allocation.
    pub tasks: Vec<Arc<TaskExecution>>,
    /// Action executions and child workflow records, in creation order (shared like `tasks`).
    pub actions: Vec<Arc<ActionExecution>>,
}

/// A command computed by the controller (upstream's workflow commands).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Command {
    RunTask {
        name: String,
        ctx: Map<String, Value>,
        /// `(task_execution_id, event)` of the task whose transition created this command.
        triggered_by: Option<(String, String)>,
    },
    Engine {
        command: EngineCommand,
        msg: Option<Value>,
    },
}

/// The result of an action as delivered by an executor (or the API for async actions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ActionOutcome {
    Success(Value),
    Error(Value),
    Cancelled(Value),
}

/// Delayed work the shell must schedule (scheduler jobs, engine.md §14.3) and deliver back as
/// [`Event::TimerFired`] after `delay` seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Timer {
    /// wait-before / retry delay ended: run the task's action(s) again.
    ContinueTask { task_execution_id: String },
    /// wait-after delay ended: complete the task with its remembered state.
    CompleteTask { task_execution_id: String },
    /// Start an IDLE task (deferred from a long synchronous chain).
    StartTask { task_execution_id: String },
    /// The `timeout` policy: fail the task if it is still incomplete.
    TaskTimeout {
        task_execution_id: String,
        timeout: u64,
    },
}

/// Inputs to [`handle`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    ActionCompleted {
        action_execution_id: String,
        outcome: ActionOutcome,
    },
    /// A child workflow execution (of a workflow task of this execution) completed.
    SubWorkflowCompleted {
        workflow_execution_id: String,
        state: State,
        state_info: Option<String>,
        output: Value,
    },
    /// A child workflow could not be started (not found, invalid input, ...): the task fails
    /// normally with `message`.
    SubWorkflowStartFailed {
        workflow_execution_id: String,
        message: String,
    },
    /// A child workflow of this execution was paused (`Paused`) or resumed (`Running`):
    /// its parent task follows, and a pause propagates up to this workflow.
    SubWorkflowStateChanged {
        workflow_execution_id: String,
        state: State,
    },
    /// Rerun an ERROR task (`PUT /tasks/<id> {state: RUNNING, reset, env}`); `reset: None`
    /// is refused as upstream's API does.
    RerunTask {
        task_execution_id: String,
        reset: Option<bool>,
        env: Option<Map<String, Value>>,
    },
    /// Skip an ERROR task (`PUT /tasks/<id> {state: SKIPPED, env}`).
    SkipTask {
        task_execution_id: String,
        #[serde(default)]
        env: Option<Map<String, Value>>,
    },
    /// `PUT /executions/<id> {env}` without a state change.
    UpdateEnv {
        env: Map<String, Value>,
    },
    /// A [`Timer`] scheduled by an earlier effect is due.
    TimerFired(Timer),
    Pause,
    Resume {
        env: Option<Map<String, Value>>,
    },
    Cancel {
        state_info: Option<String>,
    },
    /// `PUT /executions/<id> {state: SUCCESS|ERROR}`.
    ForceState {
        state: State,
        state_info: Option<String>,
    },
}

/// What the shell must do after an event (in order).
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    WorkflowStateChanged {
        from: State,
        to: State,
    },
    TaskCreated {
        task_execution_id: String,
    },
    TaskStateChanged {
        task_execution_id: String,
        from: State,
        to: State,
    },
    /// Send an action to an executor. `action` is the name as resolved (ad-hoc name for ad-hoc
    /// actions); `base_action`/`input` is what the executor runs.
    RunAction {
        action_execution_id: String,
        task_execution_id: String,
        action: String,
        base_action: String,
        input: Value,
        target: Option<Value>,
        safe_rerun: bool,
        is_sync: bool,
        /// The task's own `timeout` (seconds): the executor fails a synchronous action that
        /// runs longer (task-defaults do not reach the executor).
        timeout: Option<u64>,
    },
    /// Start a child workflow execution (with [`start`]); report back with
    /// [`Event::SubWorkflowCompleted`] / [`Event::SubWorkflowStartFailed`].
    StartSubWorkflow {
        workflow_execution_id: String,
        task_execution_id: String,
        workflow: String,
        input: Map<String, Value>,
        params: Map<String, Value>,
    },
    /// This execution reached a terminal state; if it has a parent task, the parent must get
    /// [`Event::SubWorkflowCompleted`].
    WorkflowCompleted {
        state: State,
        state_info: Option<String>,
        output: Value,
        parent_task_execution_id: Option<String>,
    },
    /// Schedule a [`Timer`] after `delay` seconds.
    ScheduleTimer {
        timer: Timer,
        delay: u64,
    },
    /// This sub-workflow was paused or resumed: the parent execution must get
    /// [`Event::SubWorkflowStateChanged`].
    NotifyParent {
        parent_task_execution_id: String,
        state: State,
    },
    PauseSubWorkflows {
        workflow_execution_ids: Vec<String>,
    },
    ResumeSubWorkflows {
        workflow_execution_ids: Vec<String>,
    },
    CancelSubWorkflows {
        workflow_execution_ids: Vec<String>,
        state_info: Option<String>,
    },
}

/// Errors returned to the caller (nothing of the event was applied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineError {
    /// Bad start input / env (`InputException`): upstream text.
    Input(String),
    /// Invalid workflow state change or operation (`WorkflowException`).
    Workflow(String),
    /// The operation is not allowed in the current state (`NotAllowedException`, HTTP 403).
    NotAllowed(String),
    /// An expression failed where the caller must see it (vars at start, forced SUCCESS output).
    Evaluation(String),
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineError::Input(m)
            | EngineError::Workflow(m)
            | EngineError::NotAllowed(m)
            | EngineError::Evaluation(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for EngineError {}

/// Parameters of a workflow start.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StartRequest {
    pub id: String,
    pub input: Map<String, Value>,
    /// Start params (`task_name`, `evaluate_env`, `namespace`, ...). `env` here is the raw env
    /// dict (the shell resolves a named environment first).
    pub params: Map<String, Value>,
    /// For sub-workflows: the parent task and root execution, and the root's evaluated env.
    pub parent: Option<ParentLink>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParentLink {
    pub task_execution_id: String,
    pub root_execution_id: String,
    pub root_env: Map<String, Value>,
}

/// Validates input (engine.md §4.1 step 2-3) and returns it with defaults applied.
pub fn validate_input(
    def: &WorkflowDef,
    input: &Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    let declared: Vec<&str> = def.input.iter().map(|d| d.name.as_str()).collect();
    let missing: Vec<&str> = def
        .input
        .iter()
        .filter(|d| d.default.is_none() && !input.contains_key(&d.name))
        .map(|d| d.name.as_str())
        .collect();
    let unexpected: Vec<&str> = input
        .keys()
        .map(String::as_str)
        .filter(|k| !declared.contains(k))
        .collect();
    if !missing.is_empty() || !unexpected.is_empty() {
        let mut msg = format!(
            "Invalid input [name={}, class={}",
            def.name,
            def.kind.class_name()
        );
        if !missing.is_empty() {
            msg.push_str(&format!(", missing={}", py_str_list(&missing)));
        }
        if !unexpected.is_empty() {
            msg.push_str(&format!(", unexpected={}", py_str_list(&unexpected)));
        }
        msg.push(']');
        return Err(msg);
    }
    let mut out = Map::new();
    for d in &def.input {
        match input.get(&d.name) {
            Some(v) => {
                out.insert(d.name.clone(), v.clone());
            }
            None => {
                out.insert(d.name.clone(), d.default.clone().unwrap_or(Value::Null));
            }
        }
    }
    Ok(out)
}

/// Starts a workflow execution: validates input, evaluates env and vars, sets RUNNING and
/// dispatches the start tasks (engine.md §4.1). Nothing exists on `Err`.
pub fn start(
    rt: &mut Runtime<'_>,
    def: WorkflowDef,
    req: StartRequest,
) -> Result<(WorkflowState, Vec<Effect>), EngineError> {
    let input = validate_input(&def, &req.input).map_err(EngineError::Input)?;
    let mut params = req.params.clone();
    if def.kind == WorkflowKind::Reverse {
        let tn = params
            .get("task_name")
            .and_then(Value::as_str)
            .map(String::from);
        match tn {
            Some(t) if def.task(&t).is_some() => {}
            other => {
                return Err(EngineError::Input(format!(
                    "Invalid task name [wf_spec=ReverseWorkflowSpec {}, task_name={}]",
                    py_str(&injected_spec(&def)),
                    other.unwrap_or_else(|| "None".into())
                )))
            }
        }
    }
    let mut st = WorkflowState {
        execution: WorkflowExecution {
            id: req.id.clone(),
            name: def.name.clone(),
            state: State::Idle,
            state_info: None,
            input,
            params: Map::new(),
            context: Map::new(),
            env: Map::new(),
            output: None,
            runtime_context: {
                let mut m = Map::new();
                m.insert("index".into(), json!(0));
                m
            },
            task_execution_id: req.parent.as_ref().map(|p| p.task_execution_id.clone()),
            root_execution_id: req.parent.as_ref().map(|p| p.root_execution_id.clone()),
            backlog: Vec::new(),
        },
        def,
        tasks: Vec::new(),
        actions: Vec::new(),
    };
    // Env (engine.md §3.6).
    let env = match &req.parent {
        Some(p) => {
            params.insert("env".into(), json!({}));
            p.root_env.clone()
        }
        None => {
            let raw = match params.get("env") {
                None | Some(Value::Null) => Map::new(),
                Some(Value::Object(m)) => m.clone(),
                Some(other) => {
                    return Err(EngineError::Input(format!(
                        "Unexpected value type for environment [env={}, type={}]",
                        py_str(other),
                        py_type(other)
                    )))
                }
            };
            let evaluate = params.get("evaluate_env").map(truthy).unwrap_or(true);
            let env = if evaluate && !raw.is_empty() {
                let view = json!({"__env": raw.clone()});
                match rt.expr.evaluate(&Value::Object(raw.clone()), &view, &st) {
                    Ok(Value::Object(m)) => m,
                    Ok(_) => raw,
                    Err(e) => return Err(EngineError::Evaluation(e)),
                }
            } else {
                raw
            };
            params.insert("env".into(), Value::Object(env.clone()));
            env
        }
    };
    st.execution.params = params;
    st.execution.env = env;
    st.execution
        .context
        .insert("__execution".into(), json!({"id": req.id}));
    if !st.def.vars.is_empty() {
        let view = layered_view(&[&env_layer(&st), &st.execution.context, &st.execution.input]);
        match rt
            .expr
            .evaluate(&Value::Object(st.def.vars.clone()), &view, &st)
        {
            Ok(Value::Object(vars)) => deep_merge(&mut st.execution.context, &vars),
            Ok(_) => {}
            Err(e) => return Err(EngineError::Evaluation(e)),
        }
    }
    let mut ctl = Ctl {
        rt,
        st: &mut st,
        effects: Vec::new(),
        check: false,
        item: None,
        depth: 0,
        entry: None,
    };
    ctl.set_wf_state(State::Running, None);
    let cmds = ctl.start_commands();
    ctl.dispatch(cmds);
    ctl.check_and_complete();
    let effects = ctl.effects;
    Ok((st, effects))
}

/// Upstream's rerun or skip inside a sub-workflow sets every parent workflow RUNNING again; a
/// parent that cannot (it succeeded, handling the child's failure) refuses the whole
/// operation. `parents` are `(state, workflow name, execution id)`, nearest first.
pub fn rerun_refused_by_parent<'p>(
    parents: impl IntoIterator<Item = (State, &'p str, &'p str)>,
) -> Option<String> {
    parents
        .into_iter()
        .find(|(s, _, _)| !s.can_transition_to(State::Running))
        .map(|(s, name, id)| {
            format!(
                "Can't change workflow execution state from {s} to RUNNING. [workflow={name}, execution_id={id}]"
            )
        })
}

/// Applies one event to an execution. On `Err` the state is unchanged.
pub fn handle(
    rt: &mut Runtime<'_>,
    st: &mut WorkflowState,
    event: Event,
) -> Result<Vec<Effect>, EngineError> {
    let backup = st.clone();
    let res = handle_in_place(rt, st, event);
    if res.is_err() {
        *st = backup;
    }
    res
}

/// [`handle`] without the safety copy of the state: on `Err` the state may be half-updated
/// and must be thrown away (the shell rolls its transaction back). The copy costs as much as
/// the event itself for executions with thousands of actions.
pub fn handle_in_place(
    rt: &mut Runtime<'_>,
    st: &mut WorkflowState,
    event: Event,
) -> Result<Vec<Effect>, EngineError> {
    let mut ctl = Ctl {
        rt,
        st,
        effects: Vec::new(),
        check: false,
        item: None,
        depth: 0,
        entry: None,
    };
    let res = ctl.on_event(event);
    let effects = std::mem::take(&mut ctl.effects);
    res.map(|()| effects)
}

/// The workflow spec dict as upstream holds it: the body with `name`/`version` injected, and
/// `type`/`name`/`version` injected into every task.
fn injected_spec(def: &WorkflowDef) -> Value {
    let wf_type = match def.kind {
        WorkflowKind::Direct => "direct",
        WorkflowKind::Reverse => "reverse",
    };
    let mut body = match &def.body {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    if let Some(Value::Object(tasks)) = body.get_mut("tasks") {
        for (name, t) in tasks.iter_mut() {
            if let Value::Object(tm) = t {
                tm.insert("type".into(), json!(wf_type));
                tm.insert("name".into(), json!(name));
                tm.insert("version".into(), json!("2.0"));
            }
        }
    }
    body.insert("name".into(), json!(def.name));
    body.insert("version".into(), json!("2.0"));
    Value::Object(body)
}

fn py_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<class 'NoneType'>",
        Value::Bool(_) => "<class 'bool'>",
        Value::Number(n) if n.is_f64() => "<class 'float'>",
        Value::Number(_) => "<class 'int'>",
        Value::String(_) => "<class 'str'>",
        Value::Array(_) => "<class 'list'>",
        Value::Object(_) => "<class 'dict'>",
    }
}

fn env_layer(st: &WorkflowState) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("__env".into(), Value::Object(st.execution.env.clone()));
    m
}

impl WorkflowState {
    pub fn task_by_id(&self, id: &str) -> Option<&TaskExecution> {
        self.tasks.iter().find(|t| t.id == id).map(|t| &**t)
    }

    pub fn tasks_named<'s>(
        &'s self,
        name: &'s str,
    ) -> impl Iterator<Item = &'s TaskExecution> + 's {
        self.tasks
            .iter()
            .filter(move |t| t.name == name)
            .map(|t| &**t)
    }

    pub fn children_of<'s>(
        &'s self,
        task_id: &'s str,
    ) -> impl Iterator<Item = &'s ActionExecution> + 's {
        self.actions
            .iter()
            .filter(move |a| a.task_execution_id == task_id)
            .map(|a| &**a)
    }

    /// The task's result (engine.md §5.5): accepted executions by index; one value if exactly
    /// one, else the list.
    pub fn task_result(&self, task_id: &str) -> Value {
        let mut acc: Vec<&ActionExecution> =
            self.children_of(task_id).filter(|a| a.accepted).collect();
        acc.sort_by_key(|a| a.index);
        let vals: Vec<Value> = acc
            .iter()
            .map(|a| match a.kind {
                ChildKind::Action => a
                    .output
                    .as_ref()
                    .and_then(|o| o.get("result"))
                    .cloned()
                    .unwrap_or(Value::Null),
                ChildKind::Workflow => a.output.clone().unwrap_or(Value::Null),
            })
            .collect();
        let with_items = self
            .task_by_id(task_id)
            .and_then(|t| self.def.task(&t.name))
            .is_some_and(|spec| !spec.with_items.is_empty());
        if vals.len() == 1 && !with_items {
            vals.into_iter().next().unwrap_or(Value::Null)
        } else {
            Value::Array(vals)
        }
    }

    /// `outbound(P)`: in_context updated with published (engine.md §3.2).
    pub fn outbound(&self, t: &TaskExecution) -> Map<String, Value> {
        outbound_context(&t.in_context, &t.published)
    }

    /// The final context of a direct workflow (merged outbound contexts of end tasks) or of a
    /// reverse workflow (the target task's outbound context).
    pub fn final_context(&self) -> Map<String, Value> {
        match self.def.kind {
            WorkflowKind::Direct => {
                let ends: Vec<Map<String, Value>> = self
                    .tasks
                    .iter()
                    .filter(|t| t.state.is_completed() && !t.has_next_tasks())
                    .map(|t| self.outbound(t))
                    .collect();
                merge_contexts(&ends)
            }
            WorkflowKind::Reverse => {
                let target = self
                    .execution
                    .params
                    .get("task_name")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                self.tasks_named(target)
                    .last()
                    .map(|t| self.outbound(t))
                    .unwrap_or_default()
            }
        }
    }

    /// The user model of a task execution (what `task()` returns).
    pub fn task_user_model(&self, t: &TaskExecution) -> Value {
        json!({
            "id": t.id,
            "name": t.name,
            "spec": self.def.task(&t.name).map(|s| s.body.clone()).unwrap_or(Value::Null),
            "state": t.state.as_str(),
            "state_info": t.state_info,
            "result": self.task_result(&t.id),
            "published": t.published,
            "type": t.task_type.as_str(),
            "workflow_execution_id": self.execution.id,
            "created_at": t.started_at,
            "updated_at": t.finished_at.clone().or(t.started_at.clone()),
        })
    }
}

struct Ctl<'r, 'a> {
    rt: &'r mut Runtime<'a>,
    st: &'r mut WorkflowState,
    effects: Vec<Effect>,
    /// A completion check is due at the end of the event.
    check: bool,
    /// with-items: the current item's context (the "extra" view layer) and index.
    item: Option<(Map<String, Value>, u64)>,
    /// Nesting of synchronous task starts within this event.
    depth: usize,
    /// The engine operation under way, which names a forced failure of a completing task
    /// (upstream words it after its entry point).
    entry: Option<Forced>,
}

/// How many task starts may nest inside one event before the rest is deferred.
const MAX_SYNC_DEPTH: usize = 32;

#[derive(Debug, Clone)]
enum Forced {
    RunTask,
    ActionCompletion(String),
    /// A scheduled completion: wait-after's end or the timeout.
    CompleteTask,
}

impl Ctl<'_, '_> {
    fn new_id(&mut self) -> String {
        (self.rt.ids)()
    }

    fn wf_completed(&self) -> bool {
        self.st.execution.state.is_completed()
    }

    fn on_event(&mut self, event: Event) -> Result<(), EngineError> {
        match event {
            Event::ActionCompleted {
                action_execution_id,
                outcome,
            } => {
                let name = self
                    .st
                    .actions
                    .iter()
                    .rev()
                    .find(|a| a.id == action_execution_id)
                    .map(|a| a.name.clone());
                self.entry = name.map(Forced::ActionCompletion);
                self.on_action_completed(&action_execution_id, outcome)
            }
            Event::SubWorkflowCompleted {
                workflow_execution_id,
                state,
                state_info,
                output,
            } => {
                let outcome = match state {
                    State::Success => ActionOutcome::Success(output.clone()),
                    State::Cancelled => ActionOutcome::Cancelled(Value::String(
                        state_info.clone().unwrap_or_else(|| {
                            format!("Cancelled subworkflow [execution_id={workflow_execution_id}]")
                        }),
                    )),
                    _ => ActionOutcome::Error(Value::String(state_info.clone().unwrap_or_else(
                        || format!("Failed subworkflow [execution_id={workflow_execution_id}]"),
                    ))),
                };
                let name = self
                    .st
                    .actions
                    .iter()
                    .rev()
                    .find(|a| a.id == workflow_execution_id)
                    .map(|a| a.name.clone());
                self.entry = name.map(Forced::ActionCompletion);
                self.on_child_completed(&workflow_execution_id, outcome, Some(output))
            }
            Event::SubWorkflowStartFailed {
                workflow_execution_id,
                message,
            } => {
                // The child never existed: the task fails normally, without an execution.
                let Some(pos) =
                    self.st.actions.iter().position(|a| {
                        a.id == workflow_execution_id && a.kind == ChildKind::Workflow
                    })
                else {
                    return Ok(());
                };
                let rec = self.st.actions.remove(pos);
                if self
                    .task(&rec.task_execution_id)
                    .is_some_and(|t| !t.state.is_completed())
                {
                    self.complete_task(&rec.task_execution_id, State::Error, Some(message));
                }
                Ok(())
            }
            Event::SubWorkflowStateChanged {
                workflow_execution_id,
                state,
            } => {
                self.on_child_state(&workflow_execution_id, state);
                Ok(())
            }
            Event::RerunTask {
                task_execution_id,
                reset,
                env,
            } => self.rerun(&task_execution_id, reset, env),
            Event::SkipTask {
                task_execution_id,
                env,
            } => self.skip(&task_execution_id, env),
            Event::UpdateEnv { env } => self.update_env(env),
            Event::TimerFired(timer) => {
                self.on_timer(timer);
                Ok(())
            }
            Event::Pause => self.pause(None),
            Event::Resume { env } => self.resume(env),
            Event::Cancel { state_info } => {
                self.cancel(state_info);
                Ok(())
            }
            Event::ForceState { state, state_info } => self.force_state(state, state_info),
        }?;
        if self.check {
            self.check_and_complete();
        }
        Ok(())
    }

    // ----------------------------------------------------------------- workflow state

    fn invalid_transition(&self, to: State) -> EngineError {
        EngineError::Workflow(format!(
            "Can't change workflow execution state from {} to {}. [workflow={}, execution_id={}]",
            self.st.execution.state, to, self.st.execution.name, self.st.execution.id
        ))
    }

    fn set_wf_state(&mut self, to: State, state_info: Option<String>) {
        let from = self.st.execution.state;
        self.st.execution.state = to;
        self.st.execution.state_info = state_info;
        if from != to {
            self.effects.push(Effect::WorkflowStateChanged { from, to });
            if let Some(parent) = self.st.execution.task_execution_id.clone() {
                if to == State::Paused || to == State::Running {
                    self.effects.push(Effect::NotifyParent {
                        parent_task_execution_id: parent,
                        state: to,
                    });
                }
            }
        }
    }

    /// A child workflow paused or resumed (engine.md §12.1-12.2).
    fn on_child_state(&mut self, child_id: &str, state: State) {
        let Some(a) = self.st.actions.iter_mut().rev().find(|a| a.id == child_id) else {
            return;
        };
        let a = Arc::make_mut(a);
        // A failed child that runs again is a rerun or skip inside it; any other news from a
        // completed child is stale.
        let rerun = state == State::Running && matches!(a.state, State::Error | State::Cancelled);
        if a.state.is_completed() && !rerun {
            return;
        }
        a.state = state;
        let tid = a.task_execution_id.clone();
        let cur = self.task(&tid).map(|t| t.state);
        match state {
            State::Paused => {
                if cur == Some(State::Running) {
                    self.set_task_state(&tid, State::Paused, None);
                }
                if self.st.execution.state == State::Running {
                    let _ = self.pause(None);
                }
            }
            State::Running => {
                if cur == Some(State::Paused) {
                    self.set_task_state(&tid, State::Running, None);
                }
                if matches!(cur, Some(State::Error) | Some(State::Cancelled)) {
                    // A rerun inside the child: the parent task and workflow run again.
                    if let Some(a) = self.st.actions.iter_mut().rev().find(|a| a.id == child_id) {
                        let a = Arc::make_mut(a);
                        a.accepted = false;
                        a.output = None;
                    }
                    if let Some(t) = self.task_mut(&tid) {
                        t.processed = false;
                        t.error_handled = false;
                        t.next_tasks.clear();
                        t.finished_at = None;
                    }
                    self.set_task_state(&tid, State::Running, None);
                    if matches!(self.st.execution.state, State::Error | State::Cancelled) {
                        self.st.execution.output = None;
                        self.set_wf_state(State::Running, None);
                    }
                    return;
                }
                let any_paused = self.st.tasks.iter().any(|t| t.state == State::Paused);
                if self.st.execution.state == State::Paused && !any_paused {
                    let _ = self.resume(None);
                }
            }
            _ => {}
        }
    }

    fn env_update(&mut self, env: Map<String, Value>) {
        deep_merge(&mut self.st.execution.env, &env);
        if self.st.execution.task_execution_id.is_none() {
            let e = Value::Object(self.st.execution.env.clone());
            self.st.execution.params.insert("env".into(), e);
        }
    }

    fn update_env(&mut self, env: Map<String, Value>) -> Result<(), EngineError> {
        if !matches!(
            self.st.execution.state,
            State::Idle | State::Paused | State::Error
        ) {
            return Err(EngineError::NotAllowed(
                "Updating env to workflow execution is only permitted if it is in IDLE, PAUSED, or ERROR state.".into(),
            ));
        }
        // A sub-workflow reads the root's env; an update there does not reach env() (ERRATA).
        if self.st.execution.task_execution_id.is_none() {
            self.env_update(env);
        }
        Ok(())
    }

    fn check_rerunnable(&self, id: &str) -> Result<(), EngineError> {
        let Some(t) = self.task(id) else {
            return Err(EngineError::Workflow(format!(
                "Task execution not found [id={id}]"
            )));
        };
        if t.state == State::Success {
            return Err(EngineError::Workflow(
                "Rerunning succeeded tasks is not supported.".into(),
            ));
        }
        if t.state != State::Error {
            return Err(EngineError::Workflow(
                "The current task execution must be in ERROR for rerun. Only updating task to rerun is supported.".into(),
            ));
        }
        Ok(())
    }

    /// engine.md §12.4.
    fn rerun(
        &mut self,
        id: &str,
        reset: Option<bool>,
        env: Option<Map<String, Value>>,
    ) -> Result<(), EngineError> {
        let Some(reset) = reset else {
            return Err(EngineError::Input(
                "Reset field is mandatory to rerun task.".into(),
            ));
        };
        self.check_rerunnable(id)?;
        let with_items = self
            .task(id)
            .and_then(|t| self.st.def.task(&t.name))
            .is_some_and(|s| !s.with_items.is_empty());
        if !reset && !with_items {
            return Err(EngineError::Input(
                "Only with-items task has the option to not reset.".into(),
            ));
        }
        if !self.rerun_workflow(env)? {
            return Ok(());
        }
        if self.st.execution.state != State::Running {
            self.st.execution.output = None;
            self.set_wf_state(State::Running, None);
        }
        let now = self.rt.now.clone();
        if let Some(t) = self.task_mut(id) {
            t.runtime_context.clear();
            t.processed = false;
            t.error_handled = false;
            t.next_tasks.clear();
            t.finished_at = None;
            t.started_at = Some(now);
            // Before-start policies run again: the task restarts from IDLE.
            t.state = State::Idle;
            t.state_info = None;
        }
        self.effects.push(Effect::TaskStateChanged {
            task_execution_id: id.to_string(),
            from: State::Error,
            to: State::Idle,
        });
        self.start_task_with(id, reset);
        Ok(())
    }

    /// What rerun and skip do to the workflow first (upstream `rerun_workflow`): nothing
    /// while PAUSED (`Ok(false)`), then the env update (only in IDLE, PAUSED or ERROR), then
    /// the workflow must be able to run again.
    fn rerun_workflow(&mut self, env: Option<Map<String, Value>>) -> Result<bool, EngineError> {
        let cur = self.st.execution.state;
        if cur == State::Paused {
            return Ok(false);
        }
        if let Some(e) = env.filter(|e| !e.is_empty()) {
            if !matches!(cur, State::Idle | State::Error) {
                return Err(EngineError::NotAllowed(
                    "Updating env to workflow execution is only permitted if it is in IDLE, PAUSED, or ERROR state.".into(),
                ));
            }
            if self.st.execution.task_execution_id.is_none() {
                self.env_update(e);
            }
        }
        if !cur.can_transition_to(State::Running) {
            return Err(self.invalid_transition(State::Running));
        }
        Ok(true)
    }

    /// engine.md §12.5.
    fn skip(&mut self, id: &str, env: Option<Map<String, Value>>) -> Result<(), EngineError> {
        self.check_rerunnable(id)?;
        if !self.rerun_workflow(env)? {
            return Ok(());
        }
        if matches!(self.st.execution.state, State::Error) {
            self.st.execution.output = None;
            self.set_wf_state(State::Running, None);
        }
        if let Some(t) = self.task_mut(id) {
            t.processed = false;
        }
        self.set_task_state(id, State::Skipped, Some("Task was skipped.".into()));
        self.complete_task_with(id, State::Skipped, Some("Task was skipped.".into()), true);
        self.check = true;
        Ok(())
    }

    fn running_children(&self) -> Vec<String> {
        self.st
            .actions
            .iter()
            .filter(|a| a.kind == ChildKind::Workflow && a.state.is_incomplete())
            .map(|a| a.id.clone())
            .collect()
    }

    fn pause(&mut self, msg: Option<String>) -> Result<(), EngineError> {
        let cur = self.st.execution.state;
        if cur == State::Paused {
            return Ok(());
        }
        if !cur.can_transition_to(State::Paused) {
            return Err(self.invalid_transition(State::Paused));
        }
        let kids = self.running_children();
        if !kids.is_empty() {
            self.effects.push(Effect::PauseSubWorkflows {
                workflow_execution_ids: kids,
            });
        }
        self.set_wf_state(State::Paused, msg);
        Ok(())
    }

    fn resume(&mut self, env: Option<Map<String, Value>>) -> Result<(), EngineError> {
        let cur = self.st.execution.state;
        if cur != State::Paused && cur != State::Idle {
            return Ok(());
        }
        if let Some(e) = env {
            deep_merge(&mut self.st.execution.env, &e);
            if self.st.execution.task_execution_id.is_none() {
                let env = Value::Object(self.st.execution.env.clone());
                self.st.execution.params.insert("env".into(), env);
            }
        }
        let kids: Vec<String> = self
            .st
            .actions
            .iter()
            .filter(|a| a.kind == ChildKind::Workflow && a.state.is_incomplete())
            .map(|a| a.id.clone())
            .collect();
        if !kids.is_empty() {
            self.effects.push(Effect::ResumeSubWorkflows {
                workflow_execution_ids: kids,
            });
        }
        self.set_wf_state(State::Running, None);
        // Tasks paused by the workflow pause go back to RUNNING.
        let paused: Vec<String> = self
            .st
            .tasks
            .iter()
            .filter(|t| t.state == State::Paused)
            .map(|t| t.id.clone())
            .collect();
        for id in paused {
            self.set_task_state(&id, State::Running, None);
        }
        // Recompute commands (engine.md §8.4).
        let mut cmds = Vec::new();
        let idle: Vec<String> = self
            .st
            .tasks
            .iter()
            .filter(|t| t.state == State::Idle)
            .map(|t| t.id.clone())
            .collect();
        let unprocessed: Vec<String> = self
            .st
            .tasks
            .iter()
            .filter(|t| t.state.is_completed() && !t.processed)
            .map(|t| t.id.clone())
            .collect();
        for id in &unprocessed {
            let next = self.next_commands(id);
            let next = match next {
                Ok(n) => n,
                Err(e) => {
                    let msg = self.forced_msg_complete(id, &e);
                    self.forced_failure(id, msg);
                    return Ok(());
                }
            };
            cmds.extend(next.into_iter().filter(|c| {
                !matches!(
                    c,
                    Command::Engine {
                        command: EngineCommand::Pause,
                        ..
                    }
                )
            }));
        }
        for id in &unprocessed {
            if let Some(t) = self.task_mut(id) {
                t.processed = true;
            }
        }
        let backlog = std::mem::take(&mut self.st.execution.backlog);
        let had_work = !backlog.is_empty() || !cmds.is_empty() || !idle.is_empty();
        self.dispatch_all(backlog, cmds);
        for id in idle {
            self.start_task(&id);
        }
        if self.st.def.kind == WorkflowKind::Reverse {
            let more = self.reverse_commands();
            self.dispatch(more);
        }
        if !had_work || !unprocessed.is_empty() {
            self.check = true;
        }
        Ok(())
    }

    fn cancel(&mut self, msg: Option<String>) {
        if self.wf_completed() {
            return;
        }
        let kids = self.running_children();
        self.complete_workflow(State::Cancelled, msg.clone());
        if !kids.is_empty() {
            self.effects.push(Effect::CancelSubWorkflows {
                workflow_execution_ids: kids,
                state_info: msg,
            });
        }
    }

    fn force_state(&mut self, state: State, msg: Option<String>) -> Result<(), EngineError> {
        match state {
            State::Success => {
                if !self.st.execution.state.can_transition_to(State::Success) {
                    return Err(self.invalid_transition(State::Success));
                }
                let out = self.evaluate_output().map_err(EngineError::Evaluation)?;
                self.finish(State::Success, msg, out);
                Ok(())
            }
            State::Error => {
                if self.st.execution.state == State::Paused || self.wf_completed() {
                    return Ok(());
                }
                self.fail_workflow(msg);
                Ok(())
            }
            State::Cancelled => {
                self.cancel(msg);
                Ok(())
            }
            State::Paused => self.pause(msg),
            State::Running => self.resume(None),
            other => Err(self.invalid_transition(other)),
        }
    }

    /// Output of a SUCCESS workflow (engine.md §4.4).
    fn evaluate_output(&mut self) -> Result<Value, String> {
        let mut fin = self.st.final_context();
        fin.shift_remove(VERSIONS_KEY);
        match self.st.def.output.clone() {
            Some(spec) if truthy(&spec) => {
                let view = layered_view(&[
                    &fin,
                    &env_layer(self.st),
                    &self.st.execution.context,
                    &self.st.execution.input,
                ]);
                self.rt.expr.evaluate(&spec, &view, self.st)
            }
            _ => Ok(Value::Object(fin)),
        }
    }

    fn finish(&mut self, state: State, state_info: Option<String>, output: Value) {
        self.st.execution.output = Some(output.clone());
        self.set_wf_state(state, state_info.clone());
        self.effects.push(Effect::WorkflowCompleted {
            state,
            state_info,
            output,
            parent_task_execution_id: self.st.execution.task_execution_id.clone(),
        });
    }

    /// ERROR with output `{"result": msg}` merged with output-on-error (engine.md §4.4).
    fn fail_workflow(&mut self, msg: Option<String>) {
        self.fail_workflow_with_result(msg.clone(), msg.map(Value::String).unwrap_or(Value::Null));
    }

    fn fail_workflow_with_result(&mut self, msg: Option<String>, result: Value) {
        let mut output = Map::new();
        output.insert("result".into(), result);
        let mut state_info = msg;
        let spec = self.st.def.output_on_error.clone().filter(truthy);
        if spec.is_none() {
            // Upstream evaluates an empty output-on-error as "the whole final context".
            let mut fin = self.st.final_context();
            fin.shift_remove(VERSIONS_KEY);
            for (k, v) in fin {
                output.insert(k, v);
            }
        }
        if let Some(spec) = spec {
            let mut fin = self.st.final_context();
            fin.shift_remove(VERSIONS_KEY);
            let view = layered_view(&[
                &fin,
                &env_layer(self.st),
                &self.st.execution.context,
                &self.st.execution.input,
            ]);
            match self.rt.expr.evaluate(&spec, &view, self.st) {
                Ok(Value::Object(m)) => {
                    for (k, v) in m {
                        output.insert(k, v);
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    output = Map::new();
                    state_info = Some(format!(
                        "Failed to evaluate expression in output-on-error! (output-on-error: '{}', exception: '{}' Cause: '{}'",
                        py_str(&spec),
                        e,
                        state_info.unwrap_or_else(|| "None".into())
                    ));
                }
            }
        }
        self.finish(State::Error, state_info, Value::Object(output));
    }

    fn complete_workflow(&mut self, state: State, msg: Option<String>) {
        match state {
            State::Success => match self.evaluate_output() {
                Ok(out) => self.finish(State::Success, msg, out),
                Err(e) => {
                    let m = format!(
                        "Failed to check and complete [wf_ex_id={}, wf_name={}]: {}",
                        self.st.execution.id, self.st.execution.name, e
                    );
                    self.fail_workflow(Some(m));
                }
            },
            State::Error => self.fail_workflow(msg),
            _ => {
                let out = json!({"result": msg});
                self.finish(state, msg, out);
            }
        }
    }

    /// `check_and_complete` (engine.md §4.2).
    fn check_and_complete(&mut self) {
        let s = self.st.execution.state;
        if s == State::Paused || s.is_completed() {
            return;
        }
        if self.st.tasks.iter().any(|t| t.state.is_incomplete()) {
            return;
        }
        if self
            .st
            .tasks
            .iter()
            .any(|t| t.state.is_completed() && !t.processed)
        {
            return;
        }
        let mut cancelled: Vec<&str> = self
            .st
            .tasks
            .iter()
            .filter(|t| t.state == State::Cancelled)
            .map(|t| t.name.as_str())
            .collect();
        if !cancelled.is_empty() {
            cancelled.sort();
            cancelled.dedup();
            let msg = format!("Cancelled tasks: {}", cancelled.join(", "));
            self.complete_workflow(State::Cancelled, Some(msg));
            return;
        }
        let reverse = self.st.def.kind == WorkflowKind::Reverse;
        let ok = self
            .st
            .tasks
            .iter()
            .filter(|t| t.state == State::Error)
            .all(|t| !reverse && t.error_handled);
        if ok {
            self.complete_workflow(State::Success, None);
        } else {
            let msg = self.failure_message();
            self.complete_workflow(State::Error, Some(msg));
        }
    }

    /// engine.md §4.3.
    fn failure_message(&self) -> String {
        let reverse = self.st.def.kind == WorkflowKind::Reverse;
        let mut failed: Vec<&TaskExecution> = self
            .st
            .tasks
            .iter()
            .filter(|t| t.state == State::Error)
            .map(|t| &**t)
            .filter(|t| {
                reverse
                    || self
                        .st
                        .def
                        .task(&t.name)
                        .map(|s| !self.st.def.has_on_error(s))
                        .unwrap_or(true)
            })
            .collect();
        failed.sort_by(|a, b| a.name.cmp(&b.name));
        let names: Vec<&str> = failed.iter().map(|t| t.name.as_str()).collect();
        let mut msg = format!("Failure caused by error in tasks: {}\n", names.join(", "));
        for t in failed {
            msg.push_str(&format!(
                "\n  {} [task_ex_id={}] -> {}\n",
                t.name,
                t.id,
                t.state_info.clone().unwrap_or_else(|| "None".into())
            ));
            for (idx, a) in self.st.children_of(&t.id).enumerate() {
                if a.state != State::Error {
                    continue;
                }
                let res = a
                    .output
                    .as_ref()
                    .and_then(|o| o.get("result"))
                    .map(py_str)
                    .unwrap_or_else(|| "Unknown".into());
                let kind = match a.kind {
                    ChildKind::Action => "action_ex_id",
                    ChildKind::Workflow => "wf_ex_id",
                };
                msg.push_str(&format!("    [{kind}={}, idx={idx}]: {res}\n", a.id));
            }
        }
        msg
    }

    // ----------------------------------------------------------------- commands

    fn start_commands(&mut self) -> Vec<Command> {
        match self.st.def.kind {
            WorkflowKind::Direct => self
                .st
                .def
                .start_tasks()
                .iter()
                .map(|t| Command::RunTask {
                    name: t.name.clone(),
                    ctx: Map::new(),
                    triggered_by: None,
                })
                .collect(),
            WorkflowKind::Reverse => self.reverse_commands(),
        }
    }

    /// Reverse workflows (engine.md §13).
    fn reverse_commands(&self) -> Vec<Command> {
        let def = &self.st.def;
        let target = self
            .st
            .execution
            .params
            .get("task_name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let mut order = Vec::new();
        let mut seen = Vec::new();
        fn dfs(def: &WorkflowDef, name: &str, seen: &mut Vec<String>, order: &mut Vec<String>) {
            if seen.iter().any(|s| s == name) {
                return;
            }
            seen.push(name.to_string());
            if let Some(t) = def.task(name) {
                for r in def.requires(t) {
                    dfs(def, &r, seen, order);
                }
            }
            order.push(name.to_string());
        }
        dfs(def, &target, &mut seen, &mut order);
        let mut cmds = Vec::new();
        for name in order {
            let Some(spec) = def.task(&name) else {
                continue;
            };
            if self.st.tasks_named(&name).next().is_some() {
                continue;
            }
            let reqs = def.requires(spec);
            let done: Vec<&TaskExecution> = reqs
                .iter()
                .filter_map(|r| self.st.tasks_named(r).find(|t| t.state == State::Success))
                .collect();
            if done.len() == reqs.len() {
                let ctxs: Vec<Map<String, Value>> =
                    done.iter().map(|t| self.st.outbound(t)).collect();
                cmds.push(Command::RunTask {
                    name,
                    ctx: merge_contexts(&ctxs),
                    triggered_by: None,
                });
            }
        }
        cmds
    }

    /// engine.md §8.3 selection, then dispatch.
    fn dispatch(&mut self, cmds: Vec<Command>) {
        let backlog = std::mem::take(&mut self.st.execution.backlog);
        self.dispatch_all(backlog, cmds);
    }

    fn dispatch_all(&mut self, backlog: Vec<Command>, cmds: Vec<Command>) {
        let cmds: Vec<Command> = cmds
            .into_iter()
            .filter(|c| {
                !matches!(
                    c,
                    Command::Engine {
                        command: EngineCommand::Noop,
                        ..
                    }
                )
            })
            .collect();
        let stop = cmds
            .iter()
            .position(|c| matches!(c, Command::Engine { .. }));
        let selected: Vec<Command> = match stop {
            None => cmds,
            Some(0)
                if !matches!(
                    cmds[0],
                    Command::Engine {
                        command: EngineCommand::Pause,
                        ..
                    }
                ) =>
            {
                vec![cmds[0].clone()]
            }
            Some(i) => {
                let is_pause = matches!(
                    cmds[i],
                    Command::Engine {
                        command: EngineCommand::Pause,
                        ..
                    }
                );
                if is_pause {
                    cmds
                } else {
                    cmds[..=i].to_vec()
                }
            }
        };
        // Task executions are created in dispatch order and started afterwards (upstream
        // starts them from the post-transaction queue, so all exist before any runs).
        let mut to_start = Vec::new();
        let mut joins = Vec::new();
        for cmd in backlog.into_iter().chain(selected) {
            if self.wf_completed() {
                break;
            }
            if self.st.execution.state == State::Paused {
                self.st.execution.backlog.push(cmd);
                continue;
            }
            match cmd {
                Command::RunTask {
                    name,
                    ctx,
                    triggered_by,
                } => match self.run_task_command(&name, ctx, triggered_by) {
                    Some(Created::Task(id)) => to_start.push(id),
                    Some(Created::Join(id)) => joins.push(id),
                    None => {}
                },
                Command::Engine { command, msg } => self.engine_command(command, msg),
            }
        }
        for id in to_start {
            if self.depth >= MAX_SYNC_DEPTH {
                // Long synchronous chains (tasks failing at start inside a loop, ...) continue
                // in a later event instead of recursing: upstream starts tasks from the
                // post-transaction queue anyway.
                self.effects.push(Effect::ScheduleTimer {
                    timer: Timer::StartTask {
                        task_execution_id: id,
                    },
                    delay: 0,
                });
                continue;
            }
            self.depth += 1;
            self.start_task(&id);
            self.depth -= 1;
        }
        for id in joins {
            self.refresh_join(&id);
        }
    }

    fn engine_command(&mut self, command: EngineCommand, msg: Option<Value>) {
        let info = msg.as_ref().and_then(|m| match m {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(serde_json::to_string(other).unwrap_or_default()),
        });
        match command {
            EngineCommand::Noop => {}
            EngineCommand::Fail => {
                let result = match &msg {
                    None | Some(Value::Null) => Value::Null,
                    Some(Value::String(s)) => Value::String(s.clone()),
                    Some(other) => Value::String(py_str(other)),
                };
                self.fail_workflow_with_result(info, result);
            }
            EngineCommand::Succeed => self.complete_workflow(State::Success, info),
            EngineCommand::Pause => {
                let _ = self.pause(info);
            }
        }
    }

    fn run_task_command(
        &mut self,
        name: &str,
        ctx: Map<String, Value>,
        triggered_by: Option<(String, String)>,
    ) -> Option<Created> {
        let Some(spec) = self.st.def.task(name).cloned() else {
            let msg = format!("Task '{name}' not found.");
            self.fail_workflow(Some(msg));
            return None;
        };
        if spec.join.is_none() {
            return Some(Created::Task(self.create_task(
                &spec,
                State::Idle,
                ctx,
                triggered_by,
            )));
        }
        let key = format!("join-task-{}-{}", self.st.execution.id, name);
        if let Some(t) = self
            .st
            .tasks
            .iter()
            .rev()
            .find(|t| t.unique_key.as_deref() == Some(key.as_str()))
        {
            if t.state == State::Waiting {
                return Some(Created::Join(t.id.clone()));
            }
            // A join failed by its inbound tasks (it never ran) waits again when one of them
            // completes anew, i.e. after a rerun.
            if t.state == State::Error && self.st.children_of(&t.id).next().is_none() {
                let jid = t.id.clone();
                if let Some(tm) = self.task_mut(&jid) {
                    tm.processed = false;
                    tm.error_handled = false;
                    tm.next_tasks.clear();
                    tm.finished_at = None;
                }
                self.set_task_state(&jid, State::Waiting, Some("Task is waiting.".into()));
                return Some(Created::Join(jid));
            }
            // A join that already fired: a late inbound task that existed before the join
            // execution changes nothing (a partial join fires once; upstream's double run of
            // the action is a bug the corpus does not ask for). Only a new round of a cycle,
            // whose inbound execution is newer than the join execution, starts a new one.
            let join_seq = t.seq;
            let trig_seq = triggered_by
                .as_ref()
                .and_then(|(id, _)| self.task(id))
                .map(|p| p.seq)
                .unwrap_or(0);
            if trig_seq < join_seq {
                return None;
            }
        }
        let id = self.create_task(&spec, State::Waiting, ctx, triggered_by);
        if let Some(t) = self.task_mut(&id) {
            t.unique_key = Some(key);
            t.state_info = Some("Task is waiting.".into());
        }
        Some(Created::Join(id))
    }

    fn create_task(
        &mut self,
        spec: &TaskSpec,
        state: State,
        ctx: Map<String, Value>,
        triggered_by: Option<(String, String)>,
    ) -> String {
        let id = self.new_id();
        let seq = self.st.tasks.len() as u64;
        let mut rc = Map::new();
        if let Some((tid, ev)) = &triggered_by {
            rc.insert(
                "triggered_by".into(),
                json!([{"task_id": tid, "event": ev}]),
            );
        }
        self.st.tasks.push(Arc::new(TaskExecution {
            id: id.clone(),
            name: spec.name.clone(),
            task_type: if spec.workflow.is_some() {
                TaskType::Workflow
            } else {
                TaskType::Action
            },
            state,
            state_info: None,
            in_context: ctx,
            published: Map::new(),
            runtime_context: rc,
            unique_key: None,
            next_tasks: Vec::new(),
            processed: false,
            error_handled: false,
            seq,
            started_at: None,
            finished_at: None,
        }));
        self.effects.push(Effect::TaskCreated {
            task_execution_id: id.clone(),
        });
        id
    }

    fn task_mut(&mut self, id: &str) -> Option<&mut TaskExecution> {
        self.st
            .tasks
            .iter_mut()
            .find(|t| t.id == id)
            .map(Arc::make_mut)
    }

    fn task(&self, id: &str) -> Option<&TaskExecution> {
        self.st.task_by_id(id)
    }

    fn set_task_state(&mut self, id: &str, to: State, info: Option<String>) {
        let now = self.rt.now.clone();
        let Some(t) = self.task_mut(id) else { return };
        let from = t.state;
        t.state = to;
        t.state_info = info;
        if to == State::Running && t.started_at.is_none() {
            t.started_at = Some(now.clone());
        }
        if to.is_completed() {
            t.finished_at = Some(now);
        }
        if from != to {
            self.effects.push(Effect::TaskStateChanged {
                task_execution_id: id.to_string(),
                from,
                to,
            });
        }
    }

    // ----------------------------------------------------------------- views

    fn view_task(&self, t: &TaskExecution) -> Value {
        let te = json!({"__task_execution": {"id": t.id, "name": t.name}});
        let te = te.as_object().cloned().unwrap_or_default();
        let empty = Map::new();
        let extra = self.item.as_ref().map(|(m, _)| m).unwrap_or(&empty);
        layered_view(&[
            &te,
            &env_layer(self.st),
            extra,
            &t.in_context,
            &self.st.execution.context,
            &self.st.execution.input,
        ])
    }

    fn view_publish(&self, t: &TaskExecution) -> Value {
        publish_view(self.st, t)
    }

    fn view_transitions(&self, t: &TaskExecution) -> Value {
        let te = json!({"__task_execution": {"id": t.id, "name": t.name}});
        let te = te.as_object().cloned().unwrap_or_default();
        let mut branch = t.in_context.clone();
        for (k, v) in &t.published {
            branch.insert(k.clone(), v.clone());
        }
        layered_view(&[
            &te,
            &branch,
            &env_layer(self.st),
            &self.st.execution.context,
            &self.st.execution.input,
        ])
    }

    fn eval(&self, value: &Value, view: &Value) -> Result<Value, String> {
        self.rt.expr.evaluate(value, view, self.st)
    }

    // ----------------------------------------------------------------- running tasks

    /// IDLE -> RUNNING, before-start policies, schedule the action(s). A task that
    /// pause-before stopped already ran its policies: after the resume it only runs (upstream
    /// runs it as an existing task).
    fn start_task(&mut self, id: &str) {
        self.start_task_with(id, false);
    }

    /// `reset` (a rerun's) drops every earlier result of the task when it runs now; a task
    /// that a policy delays or pauses first keeps its successful results (upstream applies
    /// the reset only on the spot).
    fn start_task_with(&mut self, id: &str, reset: bool) {
        let Some(t) = self.task(id) else { return };
        if t.state != State::Idle {
            return;
        }
        let resumed = t.runtime_context.contains_key("pause_before_done");
        self.set_task_state(id, State::Running, None);
        if !resumed {
            if let Err(e) = self.before_start(id) {
                let msg = self.forced_msg(id, Forced::RunTask, &e);
                self.forced_failure(id, msg);
                return;
            }
        }
        if self.task(id).map(|t| t.state) != Some(State::Running) {
            return;
        }
        // A resumed task runs as an existing task, which resets by default.
        self.reset_actions(id, reset || resumed);
        self.schedule_action(id);
    }

    /// Before a task runs (again): earlier results stop counting, all of them with `all`,
    /// else only failed or cancelled ones (`_reset_actions`).
    fn reset_actions(&mut self, id: &str, all: bool) {
        for a in self
            .st
            .actions
            .iter_mut()
            .filter(|a| a.task_execution_id == id)
        {
            if a.accepted && (all || matches!(a.state, State::Error | State::Cancelled)) {
                Arc::make_mut(a).accepted = false;
            }
        }
    }

    /// Evaluates a policy value (or one of its fields) in the task's expression context.
    fn eval_policy_value(&self, id: &str, raw: &Value) -> Result<Value, String> {
        let Some(t) = self.task(id) else {
            return Ok(Value::Null);
        };
        self.eval(raw, &self.view_task(t))
    }

    fn task_policies(&self, id: &str) -> Vec<(Policy, Value)> {
        self.task(id)
            .and_then(|t| self.st.def.task(&t.name))
            .map(|spec| policies::task_policies(&self.st.def, spec))
            .unwrap_or_default()
    }

    /// The evaluated and checked `(count, delay)` of a retry policy (schema order: delay
    /// is checked first).
    fn retry_numbers(&self, id: &str, retry: &policies::RetrySpec) -> Result<(u64, u64), String> {
        let count = self.eval_policy_value(id, &retry.count)?;
        let delay = self.eval_policy_value(id, &retry.delay)?;
        let delay = policies::non_negative_int("RetryPolicy", "delay", &delay)?;
        let count = policies::non_negative_int("RetryPolicy", "count", &count)?;
        Ok((count, delay))
    }

    /// Evaluates and checks the fields every policy hook evaluates (`TaskPolicy.
    /// before_task_start` / `after_task_complete` of upstream's base class).
    fn check_policy(&self, id: &str, p: Policy, raw: &Value) -> Result<Value, String> {
        match p {
            Policy::Retry => {
                let Some(r) = policies::retry_spec(raw) else {
                    return Ok(Value::Null);
                };
                let (count, delay) = self.retry_numbers(id, &r)?;
                Ok(json!({"count": count, "delay": delay}))
            }
            Policy::PauseBefore => {
                let v = self.eval_policy_value(id, raw)?;
                policies::boolean(p.class(), "expr", &v).map(Value::Bool)
            }
            // FailOnPolicy's schema names `fail-on` but its field is `fail_on`: never checked.
            Policy::FailOn => self.eval_policy_value(id, raw),
            _ => {
                let v = self.eval_policy_value(id, raw)?;
                let field = p.int_field().unwrap_or("delay");
                policies::non_negative_int(p.class(), field, &v).map(Value::from)
            }
        }
    }

    /// Before-start hooks of all policies, in upstream's order (engine.md §9.2): pause-before
    /// (IDLE + workflow pause), wait-before (DELAYED unless paused), timeout (the timer starts
    /// now, so it covers the wait and all retries), concurrency. Every policy's values are
    /// evaluated and checked; a bad one fails the task.
    fn before_start(&mut self, id: &str) -> Result<(), String> {
        for (p, raw) in self.task_policies(id) {
            if p == Policy::FailOn {
                continue;
            }
            let v = self.check_policy(id, p, &raw)?;
            match p {
                Policy::PauseBefore if v == Value::Bool(true) => {
                    if let Some(t) = self.task_mut(id) {
                        t.runtime_context
                            .insert("pause_before_done".into(), json!(true));
                    }
                    self.set_task_state(
                        id,
                        State::Idle,
                        Some("Set by 'pause-before' policy".into()),
                    );
                    let _ = self.pause(None);
                }
                Policy::WaitBefore => {
                    let delay = v.as_u64().unwrap_or(0);
                    if delay > 0 && self.task(id).map(|t| t.state) != Some(State::Idle) {
                        self.set_task_state(
                            id,
                            State::Delayed,
                            Some(format!("Delayed by 'wait-before' policy [delay={delay}]")),
                        );
                        self.effects.push(Effect::ScheduleTimer {
                            timer: Timer::ContinueTask {
                                task_execution_id: id.to_string(),
                            },
                            delay,
                        });
                    }
                }
                Policy::Timeout => {
                    let timeout = v.as_u64().unwrap_or(0);
                    if timeout > 0 {
                        if let Some(t) = self.task_mut(id) {
                            t.runtime_context.insert("timeout".into(), json!(timeout));
                        }
                        self.effects.push(Effect::ScheduleTimer {
                            timer: Timer::TaskTimeout {
                                task_execution_id: id.to_string(),
                                timeout,
                            },
                            delay: timeout,
                        });
                    }
                }
                Policy::Concurrency => {
                    let c = v.as_u64().unwrap_or(0);
                    if c > 0 {
                        if let Some(t) = self.task_mut(id) {
                            t.runtime_context.insert("concurrency".into(), json!(c));
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn on_timer(&mut self, timer: Timer) {
        match timer {
            Timer::ContinueTask {
                task_execution_id: id,
            } => {
                // DELAYED by wait-before or retry; WAITING for a join task's retry.
                if !matches!(
                    self.task(&id).map(|t| t.state),
                    Some(State::Delayed) | Some(State::Waiting)
                ) {
                    return;
                }
                if self.st.execution.state.is_completed() {
                    return;
                }
                // A retried task starts from its (recomputed) inbound context again.
                self.set_task_state(&id, State::Running, None);
                self.reset_actions(&id, false);
                self.schedule_action(&id);
            }
            Timer::StartTask {
                task_execution_id: id,
            } => {
                if self.st.execution.state == State::Running {
                    self.start_task(&id);
                }
            }
            Timer::CompleteTask {
                task_execution_id: id,
            } => {
                let Some(t) = self.task(&id).cloned() else {
                    return;
                };
                if t.state != State::Delayed {
                    return;
                }
                let wa = t
                    .runtime_context
                    .get("wait_after_policy")
                    .cloned()
                    .unwrap_or(Value::Null);
                let state = wa
                    .get("state")
                    .and_then(Value::as_str)
                    .and_then(State::parse)
                    .unwrap_or(State::Success);
                let info = wa
                    .get("state_info")
                    .and_then(Value::as_str)
                    .map(String::from);
                self.entry = Some(Forced::CompleteTask);
                self.complete_task(&id, state, info);
            }
            Timer::TaskTimeout {
                task_execution_id: id,
                timeout,
            } => {
                let Some(t) = self.task(&id) else { return };
                if t.state.is_completed() {
                    return;
                }
                self.entry = Some(Forced::CompleteTask);
                self.complete_task(
                    &id,
                    State::Error,
                    Some(format!("Task timed out [timeout(s)={timeout}].")),
                );
            }
        }
    }

    /// After-complete hooks of all policies, in upstream's order (engine.md §9.3): each
    /// policy's values are evaluated and checked again; wait-after (once) delays the outcome,
    /// fail-on turns SUCCESS into ERROR, retry schedules the next attempt. Returns `Ok(true)`
    /// when the task was delayed (its outcome is processed later).
    fn after_complete_policies(&mut self, id: &str) -> Result<bool, String> {
        for (p, raw) in self.task_policies(id) {
            let v = self.check_policy(id, p, &raw)?;
            let Some(t) = self.task(id).cloned() else {
                return Ok(false);
            };
            match p {
                Policy::WaitAfter => {
                    let delay = v.as_u64().unwrap_or(0);
                    let seen = t
                        .runtime_context
                        .get("wait_after_policy")
                        .and_then(|w| w.get("skip"))
                        .is_some_and(truthy);
                    if delay == 0 || seen {
                        continue;
                    }
                    if let Some(tm) = self.task_mut(id) {
                        tm.runtime_context.insert(
                            "wait_after_policy".into(),
                            json!({"skip": true, "state": t.state.as_str(), "state_info": t.state_info}),
                        );
                    }
                    self.set_task_state(
                        id,
                        State::Delayed,
                        Some(format!("Delayed by 'wait-after' policy [delay={delay}]")),
                    );
                    self.effects.push(Effect::ScheduleTimer {
                        timer: Timer::CompleteTask {
                            task_execution_id: id.to_string(),
                        },
                        delay,
                    });
                }
                Policy::FailOn if t.state == State::Success && truthy(&v) => {
                    let now = self.rt.now.clone();
                    if let Some(tm) = self.task_mut(id) {
                        tm.state = State::Error;
                        tm.state_info = Some("Failed by 'fail-on' policy".into());
                        tm.finished_at = Some(now);
                    }
                    self.effects.push(Effect::TaskStateChanged {
                        task_execution_id: id.to_string(),
                        from: State::Success,
                        to: State::Error,
                    });
                }
                Policy::Retry => self.retry(id, &raw, &v)?,
                _ => {}
            }
        }
        Ok(matches!(
            self.task(id).map(|t| t.state),
            Some(State::Delayed) | Some(State::Waiting)
        ))
    }

    /// The retry policy's after-complete hook; `numbers` is the checked `{count, delay}`.
    fn retry(&mut self, id: &str, raw: &Value, numbers: &Value) -> Result<(), String> {
        let Some(retry) = policies::retry_spec(raw) else {
            return Ok(());
        };
        let count = numbers.get("count").and_then(Value::as_u64).unwrap_or(0);
        let delay = numbers.get("delay").and_then(Value::as_u64).unwrap_or(0);
        if count == 0 {
            return Ok(());
        }
        let Some(t) = self.task(id).cloned() else {
            return Ok(());
        };
        // Both clauses are evaluated (over the outbound context) whatever the state is.
        let tview = self.view_transitions(&t);
        let continue_on = match &retry.continue_on {
            Some(e) => Some(truthy(&self.eval(e, &tview)?)),
            None => None,
        };
        let break_on = match &retry.break_on {
            Some(e) => truthy(&self.eval(e, &tview)?),
            None => false,
        };
        if !t.state.is_completed() || t.state == State::Cancelled {
            return Ok(());
        }
        let retry_no = t
            .runtime_context
            .get("retry_task_policy")
            .and_then(|r| r.get("retry_no"))
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let stop = retry_no >= count
            || (t.state == State::Error && break_on)
            || (t.state == State::Success && continue_on.is_none())
            || continue_on == Some(false);
        if stop {
            return Ok(());
        }
        for a in self
            .st
            .actions
            .iter_mut()
            .filter(|a| a.task_execution_id == id && a.accepted)
        {
            Arc::make_mut(a).accepted = false;
        }
        if let Some(tm) = self.task_mut(id) {
            tm.runtime_context.insert(
                "retry_task_policy".into(),
                json!({"retry_no": retry_no + 1}),
            );
        }
        let msg = format!("Delayed by 'retry' policy [delay={delay}]");
        // A join task cannot start again from DELAYED: it waits (upstream refreshes it).
        let join = self.st.def.task(&t.name).is_some_and(|s| s.join.is_some());
        let state = if join { State::Waiting } else { State::Delayed };
        self.set_task_state(id, state, Some(msg));
        self.effects.push(Effect::ScheduleTimer {
            timer: Timer::ContinueTask {
                task_execution_id: id.to_string(),
            },
            delay,
        });
        Ok(())
    }

    fn schedule_action(&mut self, id: &str) {
        let outer = self.entry.replace(Forced::RunTask);
        self.schedule_action_now(id);
        self.entry = outer;
    }

    fn schedule_action_now(&mut self, id: &str) {
        match self.prepare_action(id) {
            Ok(()) => {}
            Err(StartFailure::Forced(e)) => {
                let msg = self.forced_msg(id, Forced::RunTask, &e);
                self.forced_failure(id, msg);
            }
            Err(StartFailure::Normal(msg)) => {
                self.complete_task(id, State::Error, Some(msg));
            }
        }
    }

    fn forced_msg(&self, id: &str, kind: Forced, e: &str) -> String {
        let task = self.task(id).map(|t| t.name.clone()).unwrap_or_default();
        let wf = &self.st.execution.name;
        match kind {
            Forced::RunTask => format!("Failed to run task [error={e}, wf={wf}, task={task}]:"),
            Forced::ActionCompletion(action) => {
                format!("Failed to handle action completion [error={e}, wf={wf}, task={task}, action={action}]:")
            }
            Forced::CompleteTask => {
                format!("Failed to complete task [error={e}, wf={wf}, task={task}]:")
            }
        }
    }

    /// The forced-failure message for an error while a task completes (publish, policies,
    /// transitions), worded after the operation under way.
    fn completion_failure_msg(&self, id: &str, e: &str) -> String {
        let kind = self.entry.clone().unwrap_or_else(|| {
            Forced::ActionCompletion(
                self.st
                    .children_of(id)
                    .last()
                    .map(|a| a.name.clone())
                    .unwrap_or_else(|| "None".into()),
            )
        });
        self.forced_msg(id, kind, e)
    }

    fn forced_msg_complete(&self, id: &str, e: &str) -> String {
        let task = self.task(id).map(|t| t.name.clone()).unwrap_or_default();
        format!(
            "Failed to complete task [error={e}, wf={}, task={task}]:",
            self.st.execution.name
        )
    }

    /// engine.md §11.2: task ERROR with `msg`, no publish/transitions, workflow ERROR.
    fn forced_failure(&mut self, id: &str, msg: String) {
        self.set_task_state(id, State::Error, Some(msg.clone()));
        if let Some(t) = self.task_mut(id) {
            t.processed = true;
        }
        let s = self.st.execution.state;
        if s == State::Error {
            // Recorded upstream behaviour: a later forced failure of another task overwrites
            // the message of an already failed workflow (direct_inline_param_quirks).
            self.st.execution.state_info = Some(msg.clone());
            if let Some(Value::Object(out)) = self.st.execution.output.as_mut() {
                out.insert("result".into(), Value::String(msg));
            }
            return;
        }
        if s == State::Paused || s.is_completed() {
            return;
        }
        self.fail_workflow(Some(msg));
    }

    fn evaluate_input(
        &self,
        t: &TaskExecution,
        spec: &TaskSpec,
    ) -> Result<Map<String, Value>, StartFailure> {
        let view = self.view_task(t);
        match &spec.input {
            TaskInput::Map(m) => match self
                .eval(&Value::Object(m.clone()), &view)
                .map_err(StartFailure::Forced)?
            {
                Value::Object(m) => Ok(m),
                _ => Ok(Map::new()),
            },
            TaskInput::Expression(e, inline) => {
                let v = self
                    .eval(&Value::String(e.clone()), &view)
                    .map_err(StartFailure::Forced)?;
                match v {
                    Value::Object(mut m) => {
                        if let Value::Object(extra) = self.eval(&Value::Object(inline.clone()), &view).map_err(StartFailure::Forced)? {
                            for (k, v) in extra {
                                m.entry(k).or_insert(v);
                            }
                        }
                        Ok(m)
                    }
                    other => Err(StartFailure::Forced(format!(
                        "Wrong dynamic input for task: {}. Dict type is expected. Actual type: {}. Actual value: {}",
                        spec.name,
                        py_type(&other),
                        py_str(&other)
                    ))),
                }
            }
        }
    }

    fn prepare_action(&mut self, id: &str) -> Result<(), StartFailure> {
        let t = self
            .task(id)
            .cloned()
            .ok_or_else(|| StartFailure::Forced("task not found".into()))?;
        let spec = self
            .st
            .def
            .task(&t.name)
            .cloned()
            .ok_or_else(|| StartFailure::Forced(format!("Task '{}' not found.", t.name)))?;
        if !spec.with_items.is_empty() {
            return self.prepare_with_items(id, &t, &spec);
        }
        self.prepare_single(&t, &spec)
    }

    /// with-items (engine.md §6): evaluate the collections, then schedule items up to the
    /// concurrency capacity. Later items are scheduled as earlier ones complete.
    fn prepare_with_items(
        &mut self,
        id: &str,
        t: &TaskExecution,
        spec: &TaskSpec,
    ) -> Result<(), StartFailure> {
        let view = self.view_task(t);
        let mut lists: Map<String, Value> = Map::new();
        for (var, coll) in &spec.with_items {
            let v = self.eval(coll, &view).map_err(StartFailure::Forced)?;
            let items: Vec<Value> = match v {
                Value::Array(a) => a,
                Value::String(s) => s.chars().map(|c| Value::String(c.to_string())).collect(),
                Value::Object(m) => m.keys().map(|k| Value::String(k.clone())).collect(),
                _ => {
                    return Err(StartFailure::Forced(format!(
                        "Wrong input format for: {}. Iterable type is expected for each value.",
                        py_str(&Value::Object(lists))
                    )))
                }
            };
            lists.insert(var.clone(), Value::Array(items));
        }
        let lens: Vec<usize> = lists
            .values()
            .map(|v| v.as_array().map(Vec::len).unwrap_or(0))
            .collect();
        if lens.windows(2).any(|w| w[0] != w[1]) {
            return Err(StartFailure::Forced(format!(
                "Wrong input format for: {}. All arrays must have the same length.",
                py_str(&Value::Object(lists))
            )));
        }
        let count = lens.first().copied().unwrap_or(0);
        let concurrency = t
            .runtime_context
            .get("concurrency")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        // Only the item variables are kept; the task's in_context is merged in when an item
        // is scheduled (it does not change while the task runs), so a large context is not
        // copied once per item.
        let mut items = Vec::with_capacity(count);
        for i in 0..count {
            let mut m = Map::new();
            for (k, v) in &lists {
                m.insert(k.clone(), v.get(i).cloned().unwrap_or(Value::Null));
            }
            items.push(Value::Object(m));
        }
        if let Some(tm) = self.task_mut(id) {
            tm.runtime_context.insert(
                "with_items".into(),
                json!({"count": count, "capacity": concurrency}),
            );
            tm.runtime_context
                .insert("with_items_contexts".into(), Value::Array(items));
        }
        if count == 0 {
            self.complete_task(id, State::Success, None);
            return Ok(());
        }
        self.schedule_items(id)
    }

    /// Schedules unscheduled items of a with-items task while capacity allows.
    fn schedule_items(&mut self, id: &str) -> Result<(), StartFailure> {
        // The item contexts stay in the task; everything below is linear in the number of
        // items (a with-items task over 10,000 items calls this once per finished item).
        let Some(t) = self.task(id).map(task_without_item_contexts) else {
            return Ok(());
        };
        let Some(spec) = self.st.def.task(&t.name).cloned() else {
            return Ok(());
        };
        let count = self
            .task(id)
            .and_then(|t| t.runtime_context.get("with_items_contexts"))
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        let concurrency = t
            .runtime_context
            .get("with_items")
            .and_then(|w| w.get("capacity"))
            .and_then(Value::as_u64)
            .unwrap_or(0) as usize;
        let mut taken = vec![false; count];
        let mut running = 0;
        for a in self
            .st
            .children_of(id)
            .filter(|a| a.accepted || a.state.is_incomplete())
        {
            if let Some(slot) = taken.get_mut(a.index as usize) {
                *slot = true;
            }
            if a.state.is_incomplete() {
                running += 1;
            }
        }
        let mut capacity = if concurrency == 0 {
            usize::MAX
        } else {
            concurrency.saturating_sub(running)
        };
        for (i, taken) in taken.into_iter().enumerate() {
            if capacity == 0 {
                break;
            }
            if taken {
                continue;
            }
            let mut ctx = self
                .task(id)
                .and_then(|t| t.runtime_context.get("with_items_contexts"))
                .and_then(|v| v.get(i))
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            // The task's in_context wins over item variables (engine.md §6.2).
            deep_merge(&mut ctx, &t.in_context);
            self.item = Some((ctx, i as u64));
            let r = self.prepare_single(&t, &spec);
            self.item = None;
            r?;
            capacity -= 1;
        }
        Ok(())
    }

    /// A child of a with-items task completed: schedule more items or complete the task.
    fn with_items_progress(&mut self, id: &str) {
        let Some(t) = self.task(id).map(task_without_item_contexts) else {
            return;
        };
        if t.state.is_completed() {
            return;
        }
        let count = t
            .runtime_context
            .get("with_items")
            .and_then(|w| w.get("count"))
            .and_then(Value::as_u64)
            .unwrap_or(0) as usize;
        let current: Vec<State> = self
            .st
            .children_of(id)
            .filter(|a| a.accepted || a.state.is_incomplete())
            .map(|a| a.state)
            .collect();
        if current.contains(&State::Cancelled) {
            self.complete_task(
                id,
                State::Cancelled,
                Some("One or more actions was cancelled.".into()),
            );
            return;
        }
        let done = current.iter().filter(|s| s.is_completed()).count();
        if done >= count {
            if current.contains(&State::Error) {
                self.complete_task(
                    id,
                    State::Error,
                    Some("One or more actions had failed.".into()),
                );
            } else {
                self.complete_task(id, State::Success, None);
            }
            return;
        }
        if let Err(e) = self.schedule_items(id) {
            match e {
                StartFailure::Forced(e) => {
                    let msg = self.forced_msg(id, Forced::RunTask, &e);
                    self.forced_failure(id, msg);
                }
                StartFailure::Normal(m) => self.complete_task(id, State::Error, Some(m)),
            }
        }
    }

    /// One action execution (or sub-workflow) for the task; with-items items set `self.item`.
    fn prepare_single(&mut self, t: &TaskExecution, spec: &TaskSpec) -> Result<(), StartFailure> {
        let id = t.id.as_str();
        let index = self.item.as_ref().map(|(_, i)| *i).unwrap_or(0);
        let mut input = self.evaluate_input(t, spec)?;
        let view = self.view_task(t);
        // Building the action of a with-items item (its name, target, definition) fails the
        // task normally; for a single action it is a forced failure (upstream catches it only
        // around the with-items loop).
        let build_err = |e: String| {
            if self.item.is_some() {
                StartFailure::Normal(e)
            } else {
                StartFailure::Forced(e)
            }
        };
        if let Some(wf_name) = &spec.workflow {
            let name = match self
                .eval(&Value::String(wf_name.clone()), &view)
                .map_err(build_err)?
            {
                Value::String(s) => s,
                other => py_str(&other),
            };
            // Inside a workbook, a workflow of the same workbook is found by its short name.
            let sibling = self
                .st
                .def
                .name
                .rsplit_once('.')
                .and_then(|(wb, _)| self.rt.catalog.workflow(&format!("{wb}.{name}")));
            let Some(child) = sibling.or_else(|| self.rt.catalog.workflow(&name)) else {
                return Err(StartFailure::Normal(format!(
                    "Failed to find workflow [name={name}] [namespace=]"
                )));
            };
            let name = child.name.clone();
            let declared: Vec<&str> = child.input.iter().map(|d| d.name.as_str()).collect();
            let mut params = Map::new();
            let keys: Vec<String> = input.keys().cloned().collect();
            for k in keys {
                if !declared.contains(&k.as_str()) {
                    if let Some(v) = input.shift_remove(&k) {
                        params.insert(k, v);
                    }
                }
            }
            params.insert("index".into(), json!(index));
            if let Err(e) = validate_input(&child, &input) {
                return Err(StartFailure::Normal(e));
            }
            let child_id = self.new_id();
            self.st.actions.push(Arc::new(ActionExecution {
                id: child_id.clone(),
                kind: ChildKind::Workflow,
                task_execution_id: id.to_string(),
                name: name.clone(),
                state: State::Running,
                input: Value::Object(input.clone()),
                output: None,
                accepted: false,
                index,
                is_sync: false,
                output_transforms: Vec::new(),
            }));
            self.effects.push(Effect::StartSubWorkflow {
                workflow_execution_id: child_id,
                task_execution_id: id.to_string(),
                workflow: name,
                input,
                params,
            });
            return Ok(());
        }
        let raw_action = spec.action.clone().unwrap_or_else(|| "std.noop".into());
        let action_name = match self
            .eval(&Value::String(raw_action), &view)
            .map_err(build_err)?
        {
            v if !truthy(&v) => "std.noop".to_string(),
            Value::String(s) => s,
            other => py_str(&other),
        };
        // env.__actions defaults (missing keys only).
        if let Some(Value::Object(defaults)) = self
            .st
            .execution
            .env
            .get("__actions")
            .and_then(|a| a.get(&action_name))
        {
            for (k, v) in defaults {
                input.entry(k.clone()).or_insert(v.clone());
            }
        }
        let target = match &spec.target {
            Some(tv) => {
                let iv = Value::Object(input.clone());
                let mut tv_view = iv.as_object().cloned().unwrap_or_default();
                if let Value::Object(v) = &view {
                    for (k, val) in v {
                        tv_view.entry(k.clone()).or_insert(val.clone());
                    }
                }
                Some(self.eval(tv, &Value::Object(tv_view)).map_err(build_err)?)
            }
            None => None,
        };
        let resolved = self.resolve_action(&action_name).map_err(|e| match e {
            StartFailure::Forced(m) => build_err(m),
            other => other,
        })?;
        // Ad-hoc base-input view: level input · task ctx · {__env} · wf_ex.context.
        let adhoc_view = {
            let te = json!({"__task_execution": {"id": t.id, "name": t.name}});
            let te = te.as_object().cloned().unwrap_or_default();
            layered_view(&[
                &te,
                &t.in_context,
                &env_layer(self.st),
                &self.st.execution.context,
            ])
        };
        // Workbook ad-hoc actions are recorded under their full name (`wb.action`).
        let recorded_name = match &resolved {
            ActionDef::AdHoc(a) => a.name.clone(),
            ActionDef::System(_) => action_name.clone(),
        };
        let (base, base_input, transforms, is_sync) =
            self.expand_action(&action_name, resolved, input.clone(), &adhoc_view)?;
        let aid = self.new_id();
        self.st.actions.push(Arc::new(ActionExecution {
            id: aid.clone(),
            kind: ChildKind::Action,
            task_execution_id: id.to_string(),
            name: recorded_name,
            state: State::Running,
            input: Value::Object(input),
            output: None,
            accepted: false,
            index,
            is_sync,
            output_transforms: transforms,
        }));
        let safe_rerun = spec.safe_rerun || self.st.def.task_defaults.safe_rerun.unwrap_or(false);
        let timeout = spec
            .body
            .get("timeout")
            .and_then(|raw| self.eval(raw, &view).ok())
            .and_then(|v| v.as_u64())
            .filter(|t| *t > 0);
        self.effects.push(Effect::RunAction {
            action_execution_id: aid,
            task_execution_id: id.to_string(),
            action: action_name,
            base_action: base,
            input: Value::Object(base_input),
            target,
            safe_rerun,
            is_sync,
            timeout,
        });
        Ok(())
    }

    fn resolve_action(&self, name: &str) -> Result<ActionDef, StartFailure> {
        if let Some((wb, _)) = self.st.def.name.rsplit_once('.') {
            if let Some(a) = self.rt.catalog.action(&format!("{wb}.{name}")) {
                return Ok(a);
            }
        }
        self.rt.catalog.action(name).ok_or_else(|| {
            StartFailure::Forced(format!(
                "Failed to find action [action_name={name}, namespace=]"
            ))
        })
    }

    /// Checks the input against the action signature and walks an ad-hoc chain down to the
    /// system action (see [`expand_action`]).
    fn expand_action(
        &self,
        name: &str,
        def: ActionDef,
        input: Map<String, Value>,
        view: &Value,
    ) -> Result<Expanded, StartFailure> {
        expand_action(
            &|n: &str| self.resolve_action(n),
            &|v: &Value, ctx: &Value| self.eval(v, ctx),
            name,
            def,
            input,
            view,
        )
    }

    // ----------------------------------------------------------------- completion

    fn on_action_completed(
        &mut self,
        action_id: &str,
        outcome: ActionOutcome,
    ) -> Result<(), EngineError> {
        let Some(a) = self
            .st
            .actions
            .iter()
            .rev()
            .find(|a| a.id == action_id && a.kind == ChildKind::Action)
            .cloned()
        else {
            return Ok(());
        };
        if a.state != State::Running && a.state != State::Paused {
            return Ok(());
        }
        let mut outcome = outcome;
        if let ActionOutcome::Success(data) = &outcome {
            let mut data = data.clone();
            for tr in &a.output_transforms {
                if !truthy(&data) {
                    data = tr.clone();
                    continue;
                }
                match self.rt.expr.evaluate(tr, &data, self.st) {
                    Ok(v) => data = v,
                    Err(e) => {
                        let task = self
                            .task(&a.task_execution_id)
                            .map(|t| t.name.clone())
                            .unwrap_or_default();
                        let msg = format!(
                            "Failed to complete action [error={e}, action={}, task={task}]:",
                            a.name
                        );
                        self.set_child(action_id, State::Error, json!({"result": msg.clone()}));
                        self.forced_failure(&a.task_execution_id, msg);
                        return Ok(());
                    }
                }
            }
            outcome = ActionOutcome::Success(data);
        }
        self.on_child_completed(action_id, outcome, None)
    }

    fn set_child(&mut self, id: &str, state: State, output: Value) {
        if let Some(a) = self.st.actions.iter_mut().rev().find(|a| a.id == id) {
            let a = Arc::make_mut(a);
            a.state = state;
            a.output = Some(output);
            a.accepted = true;
        }
    }

    fn on_child_completed(
        &mut self,
        child_id: &str,
        outcome: ActionOutcome,
        wf_output: Option<Value>,
    ) -> Result<(), EngineError> {
        let Some(a) = self
            .st
            .actions
            .iter()
            .rev()
            .find(|a| a.id == child_id)
            .cloned()
        else {
            return Ok(());
        };
        if a.state.is_completed() {
            return Ok(());
        }
        let (state, result) = match &outcome {
            ActionOutcome::Success(v) => (State::Success, v.clone()),
            ActionOutcome::Error(v) => (State::Error, v.clone()),
            ActionOutcome::Cancelled(v) => (State::Cancelled, v.clone()),
        };
        let stored = match (a.kind, &wf_output) {
            (ChildKind::Workflow, Some(o)) => o.clone(),
            _ => json!({"result": result}),
        };
        self.set_child(child_id, state, stored.clone());
        let info = match state {
            State::Success => None,
            _ => {
                let r = match a.kind {
                    ChildKind::Workflow => stored.get("result").cloned().unwrap_or(result),
                    ChildKind::Action => result,
                };
                if truthy(&r) {
                    Some(py_str(&r))
                } else {
                    None
                }
            }
        };
        let tid = a.task_execution_id.clone();
        let is_with_items = self
            .task(&tid)
            .and_then(|t| self.st.def.task(&t.name))
            .is_some_and(|spec| !spec.with_items.is_empty());
        if is_with_items {
            self.with_items_progress(&tid);
            return Ok(());
        }
        if self
            .task(&tid)
            .map(|t| t.state.is_completed())
            .unwrap_or(true)
        {
            return Ok(());
        }
        self.complete_task(&tid, state, info);
        Ok(())
    }

    /// Task completion (engine.md §5.3).
    fn complete_task(&mut self, id: &str, state: State, info: Option<String>) {
        self.complete_task_with(id, state, info, false);
    }

    /// `skipped`: the API skip of an ERROR task (publish-on-skip and transitions, no
    /// after-complete policies).
    fn complete_task_with(&mut self, id: &str, state: State, info: Option<String>, skipped: bool) {
        let Some(t) = self.task(id).cloned() else {
            return;
        };
        if t.state.is_completed() && !skipped {
            return;
        }
        self.set_task_state(id, state, info);
        let Some(spec) = self.st.def.task(&t.name).cloned() else {
            return;
        };
        // Publish.
        if matches!(state, State::Success | State::Error | State::Skipped) {
            let (branch, global) = publish_spec(&spec, state);
            let t_now = self.task(id).cloned().unwrap_or(t.clone());
            let view = self.view_publish(&t_now);
            if let Some(b) = branch {
                match self.eval(&Value::Object(b), &view) {
                    Ok(Value::Object(m)) => {
                        if let Some(tm) = self.task_mut(id) {
                            tm.published = m;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let msg = self.completion_failure_msg(id, &e);
                        self.forced_failure(id, msg);
                        return;
                    }
                }
            }
            if let Some(g) = global {
                match self.eval(&Value::Object(g), &view) {
                    Ok(Value::Object(m)) => deep_merge(&mut self.st.execution.context, &m),
                    Ok(_) => {}
                    Err(e) => {
                        let msg = self.completion_failure_msg(id, &e);
                        self.forced_failure(id, msg);
                        return;
                    }
                }
            }
        }
        if !spec.keep_result {
            // Only action results are dropped; sub-workflow outputs stay.
            for a in self
                .st
                .actions
                .iter_mut()
                .filter(|a| a.task_execution_id == id && a.kind == ChildKind::Action)
            {
                Arc::make_mut(a).output = Some(json!({}));
            }
        }
        let policies = if skipped {
            Ok(false)
        } else {
            self.after_complete_policies(id)
        };
        match policies {
            Ok(true) => return,
            Ok(false) => {}
            Err(e) => {
                let msg = self.completion_failure_msg(id, &e);
                self.forced_failure(id, msg);
                return;
            }
        }
        self.after_completion(id);
    }

    /// Transitions, `processed`, dispatch and the completion check for a completed task.
    fn after_completion(&mut self, id: &str) {
        let cmds = match self.next_commands(id) {
            Ok(c) => c,
            Err(e) => {
                let msg = self.completion_failure_msg(id, &e);
                self.forced_failure(id, msg);
                return;
            }
        };
        if self.st.execution.state == State::Paused {
            self.refresh_joins();
            return;
        }
        if let Some(t) = self.task_mut(id) {
            t.processed = true;
        }
        if self.st.def.kind == WorkflowKind::Reverse {
            let more = self.reverse_commands();
            self.dispatch(more);
        } else {
            self.dispatch(cmds);
        }
        // Always check, even when transitions were chosen: they may create nothing (a late
        // branch reaching a partial join that already fired), leaving this task the last one.
        self.check = true;
        self.refresh_joins();
    }

    /// `_find_next_tasks` (engine.md §8.1-8.2); stores `next_tasks` and `error_handled`.
    fn next_commands(&mut self, id: &str) -> Result<Vec<Command>, String> {
        if self.st.def.kind == WorkflowKind::Reverse {
            return Ok(Vec::new());
        }
        let Some(t) = self.task(id).cloned() else {
            return Ok(Vec::new());
        };
        let Some(spec) = self.st.def.task(&t.name).cloned() else {
            return Ok(Vec::new());
        };
        let view = self.view_transitions(&t);
        let outbound = self.st.outbound(&t);
        let mut chosen: Vec<(ClauseKind, super::spec::Transition, Map<String, Value>)> = Vec::new();
        let take = |this: &Self, kind: ClauseKind, chosen: &mut Vec<_>| -> Result<usize, String> {
            let clause = this.st.def.clause(&spec, kind);
            let mut n = 0;
            for tr in clause.next {
                let ok = match &tr.guard {
                    None => true,
                    Some(g) => truthy(&this.eval(g, &view)?),
                };
                if ok {
                    let params = match this.eval(&Value::Object(tr.params.clone()), &view)? {
                        Value::Object(m) => m,
                        _ => Map::new(),
                    };
                    chosen.push((kind, tr, params));
                    n += 1;
                }
            }
            Ok(n)
        };
        match t.state {
            State::Error => {
                take(self, ClauseKind::OnError, &mut chosen)?;
            }
            State::Skipped => {
                let fired = take(self, ClauseKind::OnSkip, &mut chosen)?;
                if fired == 0 {
                    take(self, ClauseKind::OnSuccess, &mut chosen)?;
                }
            }
            State::Success => {
                take(self, ClauseKind::OnSuccess, &mut chosen)?;
            }
            _ => {}
        }
        if matches!(t.state, State::Success | State::Error) {
            take(self, ClauseKind::OnComplete, &mut chosen)?;
        }
        let mut cmds = Vec::new();
        let mut next_tasks = Vec::new();
        let mut error_handled = false;
        for (kind, tr, params) in chosen {
            if kind == ClauseKind::OnError {
                error_handled = true;
            }
            match tr.command {
                Some(c) => cmds.push(Command::Engine {
                    command: c,
                    msg: params.get("msg").cloned(),
                }),
                None => {
                    next_tasks.push((tr.name.clone(), kind.event().to_string()));
                    cmds.push(Command::RunTask {
                        name: tr.name.clone(),
                        ctx: outbound.clone(),
                        triggered_by: Some((t.id.clone(), kind.event().to_string())),
                    });
                }
            }
        }
        if let Some(tm) = self.task_mut(id) {
            tm.next_tasks = next_tasks;
            if tm.state == State::Error {
                tm.error_handled = error_handled;
            }
        }
        Ok(cmds)
    }

    // ----------------------------------------------------------------- joins

    fn refresh_joins(&mut self) {
        let waiting: Vec<String> = self
            .st
            .tasks
            .iter()
            .filter(|t| t.state == State::Waiting && t.unique_key.is_some())
            .map(|t| t.id.clone())
            .collect();
        for id in waiting {
            if self.wf_completed() {
                return;
            }
            self.refresh_join(&id);
        }
    }

    fn route_possible(&self, name: &str, visited: &mut Vec<String>) -> bool {
        if visited.iter().any(|v| v == name) {
            return false;
        }
        visited.push(name.to_string());
        let inbound = self.st.def.inbound(name);
        if inbound.is_empty() {
            return true;
        }
        for p in inbound {
            let exs: Vec<&TaskExecution> = self.st.tasks_named(&p).collect();
            if exs.is_empty() {
                if self.route_possible(&p, visited) {
                    return true;
                }
                continue;
            }
            if exs
                .iter()
                .any(|e| !e.state.is_completed() || e.next_tasks.iter().any(|(n, _)| n == name))
            {
                return true;
            }
        }
        false
    }

    /// engine.md §7.2.
    fn refresh_join(&mut self, id: &str) {
        let Some(t) = self.task(id).cloned() else {
            return;
        };
        if t.state != State::Waiting || self.st.execution.state != State::Running {
            return;
        }
        let Some(spec) = self.st.def.task(&t.name).cloned() else {
            return;
        };
        let Some(join) = spec.join else { return };
        let inbound = self.st.def.inbound(&t.name);
        let mut running: Vec<&TaskExecution> = Vec::new();
        let mut errors: Vec<String> = Vec::new();
        for i in &inbound {
            let exs: Vec<&TaskExecution> = self.st.tasks_named(i).collect();
            if let Some(trig) = exs
                .iter()
                .find(|e| e.state.is_completed() && e.next_tasks.iter().any(|(n, _)| n == &t.name))
            {
                running.push(trig);
            } else if exs.is_empty() {
                let mut visited = vec![t.name.clone()];
                if !self.route_possible(i, &mut visited) {
                    errors.push(i.clone());
                }
            } else if exs.iter().all(|e| e.state.is_completed()) {
                errors.push(i.clone());
            }
        }
        let total = inbound.len();
        let need = match join {
            Join::All => total,
            Join::Count(n) => n,
        };
        let fire = running.len() >= need;
        let fail = match join {
            Join::All => !errors.is_empty(),
            Join::Count(n) => errors.len() > total.saturating_sub(n),
        };
        if fire {
            let ctxs: Vec<Map<String, Value>> =
                running.iter().map(|e| self.st.outbound(e)).collect();
            let trig: Vec<Value> = running
                .iter()
                .map(|e| {
                    let ev = e
                        .next_tasks
                        .iter()
                        .find(|(n, _)| n == &t.name)
                        .map(|(_, ev)| ev.clone())
                        .unwrap_or_default();
                    json!({"task_id": e.id, "event": ev})
                })
                .collect();
            let ctx = merge_contexts(&ctxs);
            if let Some(tm) = self.task_mut(id) {
                tm.in_context = ctx;
                tm.runtime_context
                    .insert("triggered_by".into(), Value::Array(trig));
                tm.state = State::Idle;
            }
            // WAITING -> RUNNING (join tasks skip before-start policies).
            if let Some(tm) = self.task_mut(id) {
                tm.state = State::Waiting;
            }
            self.set_task_state(id, State::Running, None);
            self.schedule_action(id);
        } else if fail {
            let msg = format!("Failed by tasks: {}", py_str_list(&errors));
            self.complete_task(id, State::Error, Some(msg));
        }
    }
}

/// `(branch, global)` publish specs.
type PublishPair = (Option<Map<String, Value>>, Option<Map<String, Value>>);

/// What publish expressions of task `t` see: the task, its inbound context, env, the
/// workflow context and input.
fn publish_view(st: &WorkflowState, t: &TaskExecution) -> Value {
    let te = json!({"__task_execution": {"id": t.id, "name": t.name}});
    let te = te.as_object().cloned().unwrap_or_default();
    layered_view(&[
        &te,
        &t.in_context,
        &env_layer(st),
        &st.execution.context,
        &st.execution.input,
    ])
}

/// The clauses a task in `state` publishes: (branch, global) (dsl.md §5.3).
fn publish_spec(spec: &TaskSpec, state: State) -> PublishPair {
    // dsl.md §5.3.
    let task_level = match state {
        State::Success => spec.publish.clone(),
        State::Error => spec.publish_on_error.clone(),
        State::Skipped => spec.publish_on_skip.clone(),
        _ => None,
    };
    let mut base: Option<PublishPair> = task_level.map(|b| (Some(b), None));
    if let Some(p) = spec.on_complete.as_ref().and_then(|c| c.publish.clone()) {
        match &mut base {
            Some((branch, global)) => {
                if let Some(ob) = &p.branch {
                    let b = branch.get_or_insert_with(Map::new);
                    deep_merge(b, ob);
                }
                if let (Some(g), Some(og)) = (global.as_mut(), &p.global) {
                    deep_merge(g, og);
                }
            }
            None => base = Some((p.branch.clone(), p.global.clone())),
        }
    }
    let clause = match state {
        State::Success => &spec.on_success,
        State::Error => &spec.on_error,
        State::Skipped => &spec.on_skip,
        _ => &None,
    };
    if let Some(cp) = clause.as_ref().and_then(|c| c.publish.clone()) {
        let mut branch = cp.branch.clone();
        let mut global = cp.global.clone();
        if let Some((bb, bg)) = &base {
            if let (Some(b), Some(src)) = (branch.as_mut(), bb) {
                deep_merge(b, src);
            }
            if let (Some(g), Some(src)) = (global.as_mut(), bg) {
                deep_merge(g, src);
            }
        }
        return (branch, global);
    }
    base.unwrap_or((None, None))
}

/// `published_global` of a task as the API shows it: upstream re-evaluates the `global` part
/// of the publish clause of a SUCCESS/ERROR task against its publish view. `None` when there
/// is nothing (or the evaluation fails).
pub fn published_global(
    expr: &dyn Expressions,
    st: &WorkflowState,
    task_id: &str,
) -> Option<Map<String, Value>> {
    let t = st.task_by_id(task_id)?;
    if !matches!(t.state, State::Success | State::Error) {
        return None;
    }
    let (_, global) = publish_spec(st.def.task(&t.name)?, t.state);
    match expr.evaluate(&Value::Object(global?), &publish_view(st, t), st) {
        Ok(Value::Object(m)) if !m.is_empty() => Some(m),
        _ => None,
    }
}

/// Checks the input against the action signature and walks an ad-hoc chain down to the
/// system action: `(base name, base input, output transforms innermost first, is_sync)`.
/// Shared by task starts and `POST /v2/action_executions`; `resolve` finds a definition by
/// name and `eval` evaluates base-input over a data view.
pub(crate) fn expand_action(
    resolve: &dyn Fn(&str) -> Result<ActionDef, StartFailure>,
    eval: &dyn Fn(&Value, &Value) -> Result<Value, String>,
    name: &str,
    def: ActionDef,
    input: Map<String, Value>,
    view: &Value,
) -> Result<Expanded, StartFailure> {
    let mut def = def;
    let mut input = input;
    let mut transforms = Vec::new();
    let mut chain: Vec<String> = vec![name.to_string()];
    let mut first = true;
    let mut top: Option<AdHocDef> = None;
    loop {
        match def {
            ActionDef::System(sys) => {
                check_params(&sys.name, &sys.class, &sys.params, sys.open_params, &input).map_err(
                    |e| {
                        if first {
                            StartFailure::Forced(e)
                        } else {
                            StartFailure::Normal(format!(
                                "Failed to instantiate an action [action_desc={e}]"
                            ))
                        }
                    },
                )?;
                // The checks upstream's action constructor makes.
                if let Err(why) = crate::executor::catalog::instantiate(&sys.name, &input) {
                    tracing::debug!("{} not instantiated: {why}", sys.name);
                    let desc = match &top {
                        Some(t) => format!(
                            "AdHoc action [name={}, definition={}]",
                            t.name, t.definition
                        ),
                        None => format!(
                            "Python action [name={}, cls=<class '{}'>]",
                            sys.name, sys.class
                        ),
                    };
                    return Err(StartFailure::Normal(format!(
                        "Failed to instantiate an action [action_desc={desc}]"
                    )));
                }
                transforms.reverse();
                return Ok((sys.name, input, transforms, sys.is_sync));
            }
            ActionDef::AdHoc(ad) => {
                check_params(
                    &ad.name,
                    "mistral.actions.adhoc.AdHocAction",
                    &ad.input,
                    false,
                    &input,
                )
                .map_err(StartFailure::Forced)?;
                for d in &ad.input {
                    if !input.contains_key(&d.name) {
                        input.insert(d.name.clone(), d.default.clone().unwrap_or(Value::Null));
                    }
                }
                let mut level_view = input.clone();
                if let Value::Object(v) = view {
                    for (k, val) in v {
                        level_view.entry(k.clone()).or_insert(val.clone());
                    }
                }
                let next_input = match eval(
                    &Value::Object(ad.base_input.clone()),
                    &Value::Object(level_view),
                )
                .map_err(StartFailure::Forced)?
                {
                    Value::Object(m) => m,
                    _ => Map::new(),
                };
                if let Some(o) = &ad.output {
                    transforms.push(o.clone());
                }
                if chain.contains(&ad.base) {
                    let (top_name, top_def) = match &top {
                        Some(t) => (t.name.clone(), t.definition.clone()),
                        None => (ad.name.clone(), ad.definition.clone()),
                    };
                    return Err(StartFailure::Normal(format!(
                        "Failed to instantiate an action [action_desc=AdHoc action [name={top_name}, definition={top_def}]]"
                    )));
                }
                if top.is_none() {
                    top = Some(ad.clone());
                }
                chain.push(ad.base.clone());
                let base = resolve(&ad.base)?;
                def = base;
                input = next_input;
                first = false;
            }
        }
    }
}

/// An expanded action: `(base name, base input, output transforms innermost first, is_sync)`.
pub(crate) type Expanded = (String, Map<String, Value>, Vec<Value>, bool);

enum Created {
    Task(String),
    Join(String),
}

pub(crate) enum StartFailure {
    /// Forced failure of task and workflow (engine.md §11.2).
    Forced(String),
    /// The task fails normally with this message (transitions apply).
    Normal(String),
}

fn check_params(
    name: &str,
    class: &str,
    params: &[InputDecl],
    open: bool,
    input: &Map<String, Value>,
) -> Result<(), String> {
    let missing: Vec<&str> = params
        .iter()
        .filter(|p| p.default.is_none() && !input.contains_key(&p.name))
        .map(|p| p.name.as_str())
        .collect();
    let unexpected: Vec<&str> = if open {
        Vec::new()
    } else {
        input
            .keys()
            .map(String::as_str)
            .filter(|k| !params.iter().any(|p| p.name == *k))
            .collect()
    };
    if missing.is_empty() && unexpected.is_empty() {
        return Ok(());
    }
    let mut msg = format!("Invalid input [name={name}, class={class}");
    if !missing.is_empty() {
        msg.push_str(&format!(", missing={}", py_str_list(&missing)));
    }
    if !unexpected.is_empty() {
        msg.push_str(&format!(", unexpected={}", py_str_list(&unexpected)));
    }
    msg.push(']');
    Err(msg)
}

/// A copy of a task without its with-items item contexts (which can hold thousands of
/// entries and are only read by index).
fn task_without_item_contexts(t: &TaskExecution) -> TaskExecution {
    TaskExecution {
        id: t.id.clone(),
        name: t.name.clone(),
        task_type: t.task_type,
        state: t.state,
        state_info: t.state_info.clone(),
        in_context: t.in_context.clone(),
        published: t.published.clone(),
        runtime_context: t
            .runtime_context
            .iter()
            .filter(|(k, _)| k.as_str() != "with_items_contexts")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        unique_key: t.unique_key.clone(),
        next_tasks: t.next_tasks.clone(),
        processed: t.processed,
        error_handled: t.error_handled,
        seq: t.seq,
        started_at: t.started_at.clone(),
        finished_at: t.finished_at.clone(),
    }
}
