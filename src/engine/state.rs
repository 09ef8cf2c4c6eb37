//! Runtime state of one workflow execution as plain data: the workflow execution, its task
//! executions and their action executions (or child workflow executions), plus the state
//! machine of engine.md §2.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Execution states (engine.md §2). `Delayed` is upstream's RUNNING_DELAYED, exposed as `DELAYED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum State {
    Idle,
    Waiting,
    Running,
    Delayed,
    Paused,
    Success,
    Cancelled,
    Error,
    Skipped,
}

impl State {
    pub const ALL: [State; 9] = [
        State::Idle,
        State::Waiting,
        State::Running,
        State::Delayed,
        State::Paused,
        State::Success,
        State::Cancelled,
        State::Error,
        State::Skipped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Idle => "IDLE",
            State::Waiting => "WAITING",
            State::Running => "RUNNING",
            State::Delayed => "DELAYED",
            State::Paused => "PAUSED",
            State::Success => "SUCCESS",
            State::Cancelled => "CANCELLED",
            State::Error => "ERROR",
            State::Skipped => "SKIPPED",
        }
    }

    /// Parses the wire name (`RUNNING_DELAYED` is accepted as an alias of `DELAYED`).
    pub fn parse(s: &str) -> Option<State> {
        match s {
            "RUNNING_DELAYED" => Some(State::Delayed),
            _ => State::ALL.into_iter().find(|st| st.as_str() == s),
        }
    }

    /// SUCCESS, ERROR, CANCELLED, SKIPPED.
    pub fn is_completed(self) -> bool {
        matches!(
            self,
            State::Success | State::Error | State::Cancelled | State::Skipped
        )
    }

    /// RUNNING or DELAYED.
    pub fn is_running(self) -> bool {
        matches!(self, State::Running | State::Delayed)
    }

    /// IDLE, RUNNING, WAITING, DELAYED, PAUSED: states that block workflow completion.
    pub fn is_incomplete(self) -> bool {
        matches!(
            self,
            State::Idle | State::Running | State::Waiting | State::Delayed | State::Paused
        )
    }

    /// Upstream `is_valid_transition` (engine.md §2.1); same-state is always valid.
    pub fn can_transition_to(self, to: State) -> bool {
        if self == to {
            return true;
        }
        use State::*;
        match self {
            Idle => matches!(to, Running | Error | Cancelled),
            Waiting => matches!(to, Running),
            Running => matches!(to, Paused | Delayed | Success | Error | Cancelled),
            Delayed => matches!(to, Running | Error | Cancelled),
            Paused => matches!(to, Running | Error | Cancelled),
            Success => false,
            Cancelled => matches!(to, Running),
            Error => matches!(to, Running | Skipped),
            Skipped => false,
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `ACTION` or `WORKFLOW` task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TaskType {
    Action,
    Workflow,
}

impl TaskType {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskType::Action => "ACTION",
            TaskType::Workflow => "WORKFLOW",
        }
    }
}

/// A workflow execution (engine.md §1.1), without its task executions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowExecution {
    pub id: String,
    /// Definition name (`wb.wf` for workbook workflows).
    pub name: String,
    pub state: State,
    pub state_info: Option<String>,
    /// Validated input with defaults applied.
    pub input: Map<String, Value>,
    /// Start parameters (`env`, `task_name`, `namespace`, `evaluate_env`, `task_execution_id`,
    /// `root_execution_id`, `index`, ...).
    pub params: Map<String, Value>,
    /// The global context: `__execution`, evaluated `vars`, `global` publishes.
    pub context: Map<String, Value>,
    /// The root execution's (evaluated) env; what `env()` returns. Sub-workflows receive a copy
    /// of the root's env here while their `params.env` stays `{}`.
    pub env: Map<String, Value>,
    pub output: Option<Value>,
    /// `{index, backlog_commands?, ...}`.
    pub runtime_context: Map<String, Value>,
    /// The parent task execution (sub-workflows).
    pub task_execution_id: Option<String>,
    pub root_execution_id: Option<String>,
    /// Commands deferred while the workflow was PAUSED, dispatched after resume.
    pub backlog: Vec<super::controller::Command>,
}

/// A task execution (engine.md §1.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskExecution {
    pub id: String,
    pub name: String,
    pub task_type: TaskType,
    pub state: State,
    pub state_info: Option<String>,
    /// The branch data context the task started with (engine.md §3.2).
    pub in_context: Map<String, Value>,
    /// Evaluated branch-published variables.
    pub published: Map<String, Value>,
    /// `triggered_by`, policy state (`retry_task_policy`, ...), `with_items`, `concurrency`.
    pub runtime_context: Map<String, Value>,
    /// `join-task-<wf_ex_id>-<name>` for join tasks.
    pub unique_key: Option<String>,
    /// `[task_name, event]` chosen at completion (engine commands excluded).
    pub next_tasks: Vec<(String, String)>,
    pub processed: bool,
    pub error_handled: bool,
    /// Monotonic creation number inside the workflow execution (upstream orders by creation).
    pub seq: u64,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

impl TaskExecution {
    pub fn has_next_tasks(&self) -> bool {
        !self.next_tasks.is_empty()
    }
}

/// What plays the "action" role for a task: an action execution or a child workflow execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChildKind {
    Action,
    Workflow,
}

/// An action execution, or the record of a child workflow execution of a workflow task
/// (engine.md §1.3; `task_ex.executions`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionExecution {
    pub id: String,
    pub kind: ChildKind,
    pub task_execution_id: String,
    /// Action name as resolved (ad-hoc name for ad-hoc actions) or the sub-workflow name.
    pub name: String,
    pub state: State,
    pub input: Value,
    /// `{"result": ...}` for actions, the child's output dict for sub-workflows; `None` until
    /// completed (and `{}` once wiped by `keep-result: false`).
    pub output: Option<Value>,
    pub accepted: bool,
    /// Position in the task (with-items index; 0 otherwise).
    pub index: u64,
    pub is_sync: bool,
    /// Ad-hoc output transformers to apply to the base action's result, innermost first.
    pub output_transforms: Vec<Value>,
}
