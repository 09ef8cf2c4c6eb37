//! An in-memory simulator that drives the pure controller: it keeps every execution's state,
//! runs the simple standard actions natively (`std.noop`, `std.echo`, `std.fail`,
//! `std.test_dict`, `std.sleep` without sleeping; `std.async_noop` stays RUNNING until a result
//! is posted), starts sub-workflows, and delivers results until nothing is left to do.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde_json::{json, Map, Value};

use super::controller::{
    handle, start, ActionDef, ActionOutcome, Catalog, Effect, EngineError, Event, Expressions,
    ParentLink, Runtime, StartRequest, SystemAction, WorkflowState,
};
use super::spec::{AdHocDef, InputDecl, WorkflowDef};
use super::state::State;

/// Definitions known to the simulator, plus the natively simulated std actions.
#[derive(Debug, Clone, Default)]
pub struct SimCatalog {
    pub workflows: HashMap<String, WorkflowDef>,
    pub actions: HashMap<String, AdHocDef>,
}

fn decl(name: &str, default: Option<Value>) -> InputDecl {
    InputDecl {
        name: name.into(),
        default,
    }
}

/// Signatures of the std actions the simulator can run (dsl.md §11).
pub fn std_action(name: &str) -> Option<SystemAction> {
    let (class, params, is_sync): (&str, Vec<InputDecl>, bool) = match name {
        "std.noop" => ("mistral.actions.std_actions.NoOpAction", vec![], true),
        "std.async_noop" => ("mistral.actions.std_actions.AsyncNoOpAction", vec![], false),
        "std.echo" => (
            "mistral.actions.std_actions.EchoAction",
            vec![decl("output", None), decl("delay", Some(json!(0)))],
            true,
        ),
        "std.fail" => (
            "mistral.actions.std_actions.FailAction",
            vec![decl("error_data", Some(Value::Null))],
            true,
        ),
        "std.sleep" => (
            "mistral.actions.std_actions.SleepAction",
            vec![decl("seconds", Some(json!(1)))],
            true,
        ),
        "std.test_dict" => (
            "mistral.actions.std_actions.TestDictAction",
            vec![
                decl("size", Some(json!(0))),
                decl("key_prefix", Some(json!(""))),
                decl("val", Some(json!(""))),
            ],
            true,
        ),
        _ => return None,
    };
    Some(SystemAction {
        name: name.into(),
        class: class.into(),
        params,
        open_params: false,
        is_sync,
    })
}

impl Catalog for SimCatalog {
    fn workflow(&self, name: &str) -> Option<WorkflowDef> {
        self.workflows.get(name).cloned()
    }

    fn action(&self, name: &str) -> Option<ActionDef> {
        if let Some(a) = self.actions.get(name) {
            return Some(ActionDef::AdHoc(a.clone()));
        }
        std_action(name).map(ActionDef::System)
    }
}

/// Runs a std action natively. `None` for asynchronous actions (the result comes later).
pub fn run_std_action(name: &str, input: &Value, action_ex_id: &str) -> Option<ActionOutcome> {
    let get = |k: &str| input.get(k).cloned().unwrap_or(Value::Null);
    Some(match name {
        "std.noop" | "std.sleep" => ActionOutcome::Success(Value::Null),
        "std.async_noop" => return None,
        "std.echo" => ActionOutcome::Success(get("output")),
        "std.fail" => {
            let data = get("error_data");
            if super::util::truthy(&data) {
                ActionOutcome::Error(data)
            } else {
                ActionOutcome::Error(Value::String(format!(
                    "The action raised an exception [action=Fail action, action_ex_id={action_ex_id}, msg='Fail action expected exception.']"
                )))
            }
        }
        "std.test_dict" => {
            let size = get("size").as_u64().unwrap_or(0);
            let prefix = match get("key_prefix") {
                Value::String(s) => s,
                other => super::util::py_str(&other),
            };
            let val = get("val");
            let mut m = Map::new();
            for i in 0..size {
                m.insert(format!("{prefix}{i}"), val.clone());
            }
            ActionOutcome::Success(Value::Object(m))
        }
        other => ActionOutcome::Error(Value::String(format!(
            "The action raised an exception [action={other}, action_ex_id={action_ex_id}, msg='not available in the simulator']"
        ))),
    })
}

/// The simulator: executions by id, a queue of pending events, and pending async actions.
pub struct Simulator {
    pub catalog: SimCatalog,
    pub executions: BTreeMap<String, WorkflowState>,
    /// Creation order of executions (roots and children).
    pub order: Vec<String>,
    /// Async actions waiting for a posted result: action id -> execution id.
    pub pending_async: Vec<(String, String)>,
    expr: Box<dyn Expressions>,
    queue: VecDeque<(String, Event)>,
    /// Delayed deliveries on a virtual clock: (due time in ms, sequence, execution, event).
    timers: Vec<(u64, u64, String, Event)>,
    /// The virtual clock in milliseconds (advanced only by timers).
    pub clock_ms: u64,
    /// Events one `run` may deliver before it stops (endless workflows).
    pub max_events: usize,
    next_id: u64,
    /// Errors events returned (operations rejected by the controller).
    pub errors: Vec<EngineError>,
}

impl Simulator {
    pub fn new(catalog: SimCatalog, expr: Box<dyn Expressions>) -> Self {
        Simulator {
            catalog,
            executions: BTreeMap::new(),
            order: Vec::new(),
            pending_async: Vec::new(),
            expr,
            queue: VecDeque::new(),
            timers: Vec::new(),
            clock_ms: 0,
            max_events: 100_000,
            next_id: 0,
            errors: Vec::new(),
        }
    }

    fn gen_id(counter: &mut u64) -> String {
        *counter += 1;
        format!("00000000-0000-4000-8000-{:012x}", *counter)
    }

    /// Starts a top-level execution and runs it until nothing is left to do.
    pub fn start(
        &mut self,
        workflow: &str,
        input: Map<String, Value>,
        params: Map<String, Value>,
    ) -> Result<String, EngineError> {
        let def = self
            .catalog
            .workflows
            .get(workflow)
            .cloned()
            .ok_or_else(|| {
                EngineError::Input(format!(
                    "Workflow not found [workflow_identifier={workflow}]"
                ))
            })?;
        let id = Self::gen_id(&mut self.next_id);
        let mut params = params;
        // The definition's namespace (the shell's job upstream); the simulator has only ''.
        params
            .entry("namespace")
            .or_insert_with(|| Value::String(String::new()));
        let req = StartRequest {
            id: id.clone(),
            input,
            params,
            parent: None,
        };
        let (st, effects) = {
            let counter = &mut self.next_id;
            let mut ids = || Self::gen_id(counter);
            let mut rt = Runtime {
                expr: self.expr.as_ref(),
                catalog: &self.catalog,
                ids: &mut ids,
                now: "2026-01-01 00:00:00".into(),
            };
            start(&mut rt, def, req)?
        };
        self.executions.insert(id.clone(), st);
        self.order.push(id.clone());
        self.apply(&id, effects);
        self.run();
        Ok(id)
    }

    /// Delivers one event to an execution and runs until quiet.
    pub fn send(&mut self, execution_id: &str, event: Event) -> Result<(), EngineError> {
        let r = self.deliver(execution_id, event);
        self.run();
        r
    }

    fn deliver(&mut self, execution_id: &str, event: Event) -> Result<(), EngineError> {
        let Some(mut st) = self.executions.remove(execution_id) else {
            return Ok(());
        };
        let res = {
            let counter = &mut self.next_id;
            let mut ids = || Self::gen_id(counter);
            let mut rt = Runtime {
                expr: self.expr.as_ref(),
                catalog: &self.catalog,
                ids: &mut ids,
                now: "2026-01-01 00:00:00".into(),
            };
            handle(&mut rt, &mut st, event)
        };
        self.executions.insert(execution_id.to_string(), st);
        match res {
            Ok(effects) => {
                self.apply(execution_id, effects);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Processes queued events, then due timers in time order (advancing the virtual clock),
    /// until nothing is left.
    pub fn run(&mut self) {
        let mut guard = 0;
        loop {
            while let Some((ex, ev)) = self.queue.pop_front() {
                guard += 1;
                if guard > self.max_events {
                    return;
                }
                if let Err(e) = self.deliver(&ex, ev) {
                    self.errors.push(e);
                }
            }
            let Some(pos) = self
                .timers
                .iter()
                .enumerate()
                .min_by_key(|(_, (due, seq, _, _))| (*due, *seq))
                .map(|(i, _)| i)
            else {
                return;
            };
            let (due, _, ex, ev) = self.timers.remove(pos);
            self.clock_ms = self.clock_ms.max(due);
            self.queue.push_back((ex, ev));
        }
    }

    fn later(&mut self, delay_ms: u64, ex: &str, ev: Event) {
        let seq = self.timers.len() as u64 + self.next_id;
        self.timers
            .push((self.clock_ms + delay_ms, seq, ex.to_string(), ev));
    }

    /// Posts the result of a pending async action.
    pub fn complete_async(
        &mut self,
        action_id: &str,
        outcome: ActionOutcome,
    ) -> Result<(), EngineError> {
        let Some(pos) = self.pending_async.iter().position(|(a, _)| a == action_id) else {
            return Ok(());
        };
        let (aid, ex) = self.pending_async.remove(pos);
        self.send(
            &ex,
            Event::ActionCompleted {
                action_execution_id: aid,
                outcome,
            },
        )
    }

    fn parent_of(&self, task_execution_id: &str) -> Option<String> {
        self.executions
            .iter()
            .find(|(_, st)| st.task_by_id(task_execution_id).is_some())
            .map(|(id, _)| id.clone())
    }

    fn apply(&mut self, ex_id: &str, effects: Vec<Effect>) {
        for eff in effects {
            match eff {
                Effect::RunAction {
                    action_execution_id,
                    base_action,
                    input,
                    timeout,
                    ..
                } => {
                    // std.echo `delay` / std.sleep `seconds` take virtual time.
                    let secs = match base_action.as_str() {
                        "std.echo" => input.get("delay").and_then(Value::as_f64),
                        "std.sleep" => input.get("seconds").and_then(Value::as_f64),
                        _ => None,
                    }
                    .filter(|d| *d > 0.0)
                    .unwrap_or(0.0);
                    let outcome =
                        run_std_action(&base_action, &input, &action_execution_id).map(|o| {
                            match timeout {
                                Some(t) if secs > t as f64 => crate::executor::timed_out(
                                    &base_action,
                                    &action_execution_id,
                                    t,
                                ),
                                _ => o,
                            }
                        });
                    match outcome {
                        Some(outcome) => {
                            let ev = Event::ActionCompleted {
                                action_execution_id,
                                outcome,
                            };
                            if secs > 0.0 {
                                self.later((secs * 1000.0) as u64, ex_id, ev);
                            } else {
                                self.queue.push_back((ex_id.to_string(), ev));
                            }
                        }
                        None => self
                            .pending_async
                            .push((action_execution_id, ex_id.to_string())),
                    }
                }
                Effect::StartSubWorkflow {
                    workflow_execution_id,
                    task_execution_id,
                    workflow,
                    input,
                    params,
                } => {
                    self.start_child(
                        ex_id,
                        workflow_execution_id,
                        task_execution_id,
                        &workflow,
                        input,
                        params,
                    );
                }
                Effect::WorkflowCompleted {
                    state,
                    state_info,
                    output,
                    parent_task_execution_id: Some(ptask),
                } => {
                    if let Some(parent) = self.parent_of(&ptask) {
                        self.queue.push_back((
                            parent,
                            Event::SubWorkflowCompleted {
                                workflow_execution_id: ex_id.to_string(),
                                state,
                                state_info,
                                output,
                            },
                        ));
                    }
                }
                Effect::ScheduleTimer { timer, delay } => {
                    self.later(delay * 1000, ex_id, Event::TimerFired(timer));
                }
                Effect::NotifyParent {
                    parent_task_execution_id,
                    state,
                } => {
                    if let Some(parent) = self.parent_of(&parent_task_execution_id) {
                        self.queue.push_back((
                            parent,
                            Event::SubWorkflowStateChanged {
                                workflow_execution_id: ex_id.to_string(),
                                state,
                            },
                        ));
                    }
                }
                Effect::PauseSubWorkflows {
                    workflow_execution_ids,
                } => {
                    for id in workflow_execution_ids {
                        self.queue.push_back((id, Event::Pause));
                    }
                }
                Effect::ResumeSubWorkflows {
                    workflow_execution_ids,
                } => {
                    for id in workflow_execution_ids {
                        self.queue.push_back((id, Event::Resume { env: None }));
                    }
                }
                Effect::CancelSubWorkflows {
                    workflow_execution_ids,
                    state_info,
                } => {
                    for id in workflow_execution_ids {
                        self.queue.push_back((
                            id,
                            Event::Cancel {
                                state_info: state_info.clone(),
                            },
                        ));
                    }
                }
                _ => {}
            }
        }
    }

    fn start_child(
        &mut self,
        parent_id: &str,
        child_id: String,
        task_execution_id: String,
        workflow: &str,
        input: Map<String, Value>,
        params: Map<String, Value>,
    ) {
        let Some(def) = self.catalog.workflows.get(workflow).cloned() else {
            self.queue.push_back((
                parent_id.to_string(),
                Event::SubWorkflowStartFailed {
                    workflow_execution_id: child_id,
                    message: format!("Failed to find workflow [name={workflow}] [namespace=]"),
                },
            ));
            return;
        };
        let (root_id, root_env) = match self.executions.get(parent_id) {
            Some(p) => (
                p.execution
                    .root_execution_id
                    .clone()
                    .unwrap_or_else(|| p.execution.id.clone()),
                p.execution.env.clone(),
            ),
            None => (parent_id.to_string(), Map::new()),
        };
        let req = StartRequest {
            id: child_id.clone(),
            input,
            params,
            parent: Some(ParentLink {
                task_execution_id,
                root_execution_id: root_id,
                root_env,
            }),
        };
        let res = {
            let counter = &mut self.next_id;
            let mut ids = || Self::gen_id(counter);
            let mut rt = Runtime {
                expr: self.expr.as_ref(),
                catalog: &self.catalog,
                ids: &mut ids,
                now: "2026-01-01 00:00:00".into(),
            };
            start(&mut rt, def, req)
        };
        match res {
            Ok((st, effects)) => {
                self.executions.insert(child_id.clone(), st);
                self.order.push(child_id.clone());
                self.apply(&child_id, effects);
            }
            Err(e) => self.queue.push_back((
                parent_id.to_string(),
                Event::SubWorkflowStartFailed {
                    workflow_execution_id: child_id,
                    message: e.to_string(),
                },
            )),
        }
    }

    /// The state of an execution.
    pub fn state(&self, id: &str) -> Option<&WorkflowState> {
        self.executions.get(id)
    }

    /// Child executions of a workflow execution (via its tasks).
    pub fn children(&self, id: &str) -> Vec<&WorkflowState> {
        let Some(st) = self.executions.get(id) else {
            return vec![];
        };
        self.order
            .iter()
            .filter_map(|c| self.executions.get(c))
            .filter(|c| {
                c.execution
                    .task_execution_id
                    .as_deref()
                    .is_some_and(|t| st.task_by_id(t).is_some())
            })
            .collect()
    }

    /// RUNNING action ids of a task (by task name) in an execution.
    pub fn running_actions(&self, ex_id: &str, task: &str) -> Vec<String> {
        let Some(st) = self.executions.get(ex_id) else {
            return vec![];
        };
        st.tasks
            .iter()
            .filter(|t| t.name == task)
            .flat_map(|t| st.children_of(&t.id))
            .filter(|a| a.state == State::Running)
            .map(|a| a.id.clone())
            .collect()
    }
}
