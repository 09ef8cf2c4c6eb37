//! The database shell around the pure controller (ARCHITECTURE.md): every command is one
//! transaction that locks the workflow execution row, loads its state, calls the controller,
//! stores the new state and writes every message for other components (actions to run,
//! events for other executions, sub-workflows to start) into the outbox, and timers into
//! `scheduled_jobs`. The dispatcher ([`super::dispatch`]) hands outbox rows and due jobs over,
//! each in the transaction that applies it. Consumers are idempotent: a result for an action
//! execution that is no longer RUNNING is ignored, a sub-workflow that already exists is not
//! started twice.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::controller::{
    handle_in_place, start, ActionDef, Catalog, Effect, EngineError, Event, ParentLink, Runtime,
    StartRequest, WorkflowState,
};
use super::db_exprs::{with_conn, DbExprs, SharedConn};
use super::exprs::ExprAdapter;
use super::spec::{AdHocDef, WorkflowDef};
use super::state::{ActionExecution, State, TaskExecution, WorkflowExecution};
use crate::db::executions::{self as store, ActionRow, ExecutionRow, JobRow, TaskRow};
use crate::db::{definitions, format_ts, new_id, now, Caller, Db, DbConnection, DbError};
use crate::executor::system_action;

/// What `workflow_executions.engine_state` holds: the definition (its body is parsed again on
/// load) and the workflow execution. Task and action execution records are rows of
/// `engine_records`, so a command writes only the records it changed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredState {
    pub def_name: String,
    pub def_body: Value,
    pub execution: WorkflowExecution,
    /// A fresh random token on every store: the text differs after every change, even one
    /// that touched only records, which is what keeps [`StateCache`] exact across processes
    /// and rolled-back transactions (a counter could repeat after a rollback).
    #[serde(default)]
    pub rev: u64,
    /// Records inside the state text itself (states written before `engine_records`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<Arc<TaskExecution>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Arc<ActionExecution>>,
}

/// [`StoredState`] by reference, for writing.
#[derive(Serialize)]
struct StoredStateRef<'a> {
    def_name: &'a str,
    def_body: &'a Value,
    execution: &'a WorkflowExecution,
    rev: u64,
}

fn state_json(st: &WorkflowState, rev: u64) -> String {
    serde_json::to_string(&StoredStateRef {
        def_name: &st.def.name,
        def_body: &st.def.body,
        execution: &st.execution,
        rev,
    })
    .unwrap_or_default()
}

/// Decoded states of running executions, each with the exact `engine_state` text it was
/// stored as. A command whose locked row still holds that text reuses the decoded state
/// instead of loading it again; any other text (a write by another process, a rolled-back
/// transaction) is simply a miss.
#[derive(Default)]
struct StateCache {
    map: std::collections::HashMap<String, (String, WorkflowState)>,
}

/// Most executions whose state is kept decoded (the cache is emptied when full).
const STATE_CACHE_SIZE: usize = 1000;

impl StateCache {
    fn take(&mut self, row: &ExecutionRow) -> Option<WorkflowState> {
        let (text, st) = self.map.remove(&row.id)?;
        (text == row.engine_state).then_some(st)
    }

    fn put(&mut self, id: String, text: String, st: WorkflowState) {
        if self.map.len() >= STATE_CACHE_SIZE {
            self.map.clear();
        }
        self.map.insert(id, (text, st));
    }
}

fn corrupt(row: &ExecutionRow, e: impl std::fmt::Display) -> DbError {
    DbError::Internal(format!("corrupt execution state of {}: {e}", row.id))
}

/// Loads the engine state of an execution row: the state text and its records. The flag is
/// true for a state written before `engine_records` (its records are in the text and not
/// yet rows).
fn load_stored(
    conn: &mut DbConnection,
    row: &ExecutionRow,
) -> Result<(WorkflowState, bool), DbError> {
    let stored: StoredState =
        serde_json::from_str(&row.engine_state).map_err(|e| corrupt(row, e))?;
    let legacy = !stored.tasks.is_empty() || !stored.actions.is_empty();
    let (mut tasks, mut actions) = (stored.tasks, stored.actions);
    if !legacy {
        for (kind, body) in store::records_of(conn, &row.id)? {
            if kind == "task" {
                tasks.push(Arc::new(
                    serde_json::from_str(&body).map_err(|e| corrupt(row, e))?,
                ));
            } else {
                actions.push(Arc::new(
                    serde_json::from_str(&body).map_err(|e| corrupt(row, e))?,
                ));
            }
        }
    }
    let st = WorkflowState {
        def: WorkflowDef::from_body(&stored.def_name, &stored.def_body),
        execution: stored.execution,
        tasks,
        actions,
    };
    Ok((st, legacy))
}

/// Decodes the stored engine state of an execution row with its records.
pub fn load_state(conn: &mut DbConnection, row: &ExecutionRow) -> Result<WorkflowState, DbError> {
    load_stored(conn, row).map(|(st, _)| st)
}

/// The stored state without its records (definition and workflow execution only).
pub fn load_state_without_records(row: &ExecutionRow) -> Result<WorkflowState, DbError> {
    let stored: StoredState =
        serde_json::from_str(&row.engine_state).map_err(|e| corrupt(row, e))?;
    Ok(WorkflowState {
        def: WorkflowDef::from_body(&stored.def_name, &stored.def_body),
        execution: stored.execution,
        tasks: Vec::new(),
        actions: Vec::new(),
    })
}

/// The workflow execution part of a stored state (no records, no definition parsing).
pub fn load_execution(row: &ExecutionRow) -> Result<WorkflowExecution, DbError> {
    #[derive(Deserialize)]
    struct Only {
        execution: WorkflowExecution,
    }
    serde_json::from_str::<Only>(&row.engine_state)
        .map(|o| o.execution)
        .map_err(|e| corrupt(row, e))
}

/// A message in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Message {
    /// Run an action in the executor; its result comes back as `ActionCompleted`.
    RunAction {
        execution_id: String,
        action_execution_id: String,
        base_action: String,
        input: Value,
        /// The task's `safe-rerun`: the action may run again if its executor dies.
        #[serde(default)]
        safe_rerun: bool,
        /// What the action's context tells it (older outbox rows lack it).
        #[serde(default)]
        task_execution_id: Option<String>,
        #[serde(default)]
        workflow_name: Option<String>,
        /// The task's `timeout`, enforced around a synchronous action.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout: Option<u64>,
    },
    /// Deliver an event to an execution.
    Deliver { execution_id: String, event: Event },
    /// Start a sub-workflow execution of a workflow task.
    StartSubWorkflow {
        parent_execution_id: String,
        workflow_execution_id: String,
        task_execution_id: String,
        workflow: String,
        input: Map<String, Value>,
        params: Map<String, Value>,
    },
}

/// Definitions looked up through the open transaction: workflows and ad-hoc actions in the
/// execution's namespace then `""`, std actions the executor can run.
struct DbCatalog<'r, 'c> {
    conn: SharedConn<'r, 'c>,
    namespace: String,
    vis: Option<String>,
}

impl Catalog for DbCatalog<'_, '_> {
    fn workflow(&self, name: &str) -> Option<WorkflowDef> {
        let row = with_conn(self.conn, |c| {
            definitions::load_workflow(c, self.vis.as_deref(), name, &self.namespace)
        })
        .ok()
        .flatten()?;
        let body: Value = serde_json::from_str(&row.spec).ok()?;
        Some(WorkflowDef::from_body(&row.name, &body))
    }

    fn action(&self, name: &str) -> Option<ActionDef> {
        if let Some(a) = system_action(name) {
            return Some(ActionDef::System(a));
        }
        for ns in [self.namespace.as_str(), ""] {
            let found = with_conn(self.conn, |c| {
                definitions::find_action(c, self.vis.as_deref(), name, ns)
            });
            if let Ok(Some(row)) = found {
                let body: Value = serde_json::from_str(&row.spec).ok()?;
                let mut d = AdHocDef::from_body(&row.name, &body);
                d.definition = row.definition.clone();
                return Some(ActionDef::AdHoc(d));
            }
            if ns.is_empty() {
                break;
            }
        }
        None
    }
}

fn engine_error(e: EngineError) -> DbError {
    match e {
        EngineError::NotAllowed(m) => DbError::Forbidden(m),
        EngineError::Input(m) | EngineError::Workflow(m) | EngineError::Evaluation(m) => {
            DbError::Invalid(m)
        }
    }
}

/// `[engine] execution_field_size_limit_kb` (upstream default 1024 KB), measured as upstream
/// does on the Python `str()` of the value (`sys.getsizeof` adds 49 bytes for ASCII text).
const FIELD_SIZE_LIMIT_KB: usize = 1024;

fn check_field_size(class: &str, field: &str, v: &Map<String, Value>) -> Result<(), DbError> {
    let size_kb = (super::util::py_repr(&Value::Object(v.clone())).len() + 49) / 1024;
    if size_kb > FIELD_SIZE_LIMIT_KB {
        return Err(DbError::Invalid(format!(
            "Field size limit exceeded [class={class}, field={field}, size={size_kb}KB, limit={FIELD_SIZE_LIMIT_KB}KB]"
        )));
    }
    Ok(())
}

fn py_type_name(v: &Value) -> &'static str {
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

fn json_text(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// What a start needs besides the definition.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    pub id: Option<String>,
    pub input: Map<String, Value>,
    pub params: Map<String, Value>,
    pub description: String,
}

/// Events waiting for their execution, each with the channel its sender awaits.
type Inbox = std::collections::HashMap<
    String,
    Vec<(Event, tokio::sync::oneshot::Sender<Result<(), DbError>>)>,
>;

/// Most events applied in one transaction.
const MAX_BATCH: usize = 500;

/// The engine shell. Cheap to clone (shared handle).
#[derive(Clone)]
pub struct Shell {
    pub(super) db: Db,
    expr: Arc<ExprAdapter>,
    pub(super) wake: Arc<tokio::sync::Notify>,
    /// This process's executor identity: the owner of the leases of the actions it runs.
    pub(super) owner: Arc<str>,
    inbox: Arc<std::sync::Mutex<Inbox>>,
    states: Arc<std::sync::Mutex<StateCache>>,
}

impl std::fmt::Debug for Shell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Shell({:?})", self.db)
    }
}

fn parse_ts(s: &Option<String>) -> Option<chrono::NaiveDateTime> {
    s.as_deref()
        .and_then(|t| chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").ok())
}

fn task_row(row: &ExecutionRow, t: &TaskExecution, ts: chrono::NaiveDateTime) -> TaskRow {
    let started = parse_ts(&t.started_at);
    let finished = parse_ts(&t.finished_at);
    TaskRow {
        id: t.id.clone(),
        name: t.name.clone(),
        task_type: t.task_type.as_str().to_string(),
        workflow_name: row.workflow_name.clone(),
        workflow_namespace: row.workflow_namespace.clone(),
        workflow_id: row.workflow_id.clone(),
        workflow_execution_id: row.id.clone(),
        tags: None,
        state: t.state.as_str().to_string(),
        state_info: t.state_info.clone(),
        // The item contexts of a with-items task are the engine's own (upstream keeps only
        // `with_items: {count, capacity}` there).
        runtime_context: Some(json_text(&Value::Object(
            t.runtime_context
                .iter()
                .filter(|(k, _)| k.as_str() != "with_items_contexts")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ))),
        published: Some(json_text(&Value::Object(t.published.clone()))),
        processed: t.processed,
        project_id: row.project_id.clone(),
        scope: row.scope.clone(),
        seq: t.seq as i64,
        created_at: started.unwrap_or(ts),
        updated_at: finished.or(started).or(Some(ts)),
        started_at: started,
        finished_at: finished,
    }
}

fn action_row(
    row: &ExecutionRow,
    st: &WorkflowState,
    i: usize,
    a: &ActionExecution,
    ts: chrono::NaiveDateTime,
) -> ActionRow {
    ActionRow {
        id: a.id.clone(),
        name: a.name.clone(),
        workflow_name: Some(row.workflow_name.clone()),
        workflow_namespace: row.workflow_namespace.clone(),
        task_name: st.task_by_id(&a.task_execution_id).map(|t| t.name.clone()),
        task_execution_id: Some(a.task_execution_id.clone()),
        workflow_execution_id: Some(row.id.clone()),
        description: String::new(),
        tags: None,
        state: a.state.as_str().to_string(),
        state_info: None,
        accepted: a.accepted,
        input: Some(json_text(&a.input)),
        output: a.output.as_ref().map(json_text),
        params: None,
        project_id: row.project_id.clone(),
        scope: row.scope.clone(),
        seq: i as i64,
        created_at: ts,
        updated_at: Some(ts),
    }
}

fn record_row<T: Serialize>(
    row: &ExecutionRow,
    kind: &str,
    id: &str,
    pos: u64,
    rec: &T,
) -> store::RecordRow {
    store::RecordRow {
        id: id.to_string(),
        execution_id: row.id.clone(),
        kind: kind.to_string(),
        position: pos as i64,
        body: serde_json::to_string(rec).unwrap_or_default(),
    }
}

/// Whether a shared record is unchanged: the same allocation (never written since the
/// snapshot), or equal.
fn same<T: PartialEq>(a: Option<&Arc<T>>, b: &Arc<T>) -> bool {
    a.is_some_and(|a| Arc::ptr_eq(a, b) || **a == **b)
}

/// Ids in `before` that are no longer in `now`.
fn gone<'a, T: 'a>(before: &'a [Arc<T>], now: &[Arc<T>], id: impl Fn(&T) -> &str) -> Vec<String> {
    let moved = before.len() > now.len() || before.iter().zip(now).any(|(a, b)| id(a) != id(b));
    if !moved {
        return Vec::new();
    }
    let now_ids: std::collections::HashSet<&str> = now.iter().map(|r| id(r)).collect();
    before
        .iter()
        .filter(|r| !now_ids.contains(id(r)))
        .map(|r| id(r).to_string())
        .collect()
}

/// Stores the records of an execution that changed between `before` (the records as loaded,
/// none for a new execution; `None` when the stored rows are not known, as for a state
/// written before `engine_records`) and `st`, and the
/// index rows (the API's task and action executions) that go with them, in the state's
/// transaction. A record not written since `before` is recognised by its allocation, so a
/// with-items task over 10,000 items costs only the items that moved.
/// The task and action records of a state.
type Records<'a> = (&'a [Arc<TaskExecution>], &'a [Arc<ActionExecution>]);

fn store_records(
    conn: &mut DbConnection,
    row: &ExecutionRow,
    before: Option<Records>,
    st: &WorkflowState,
) -> Result<(), DbError> {
    let ts = now();
    // Without a `before`, rows of an older state may exist: nothing is known to be new.
    let known = before.is_some();
    let (before_tasks, before_actions) = before.unwrap_or((&[], &[]));
    // Tasks are kept in creation order, so the same position usually holds the same record;
    // fall back to a lookup by id when it does not.
    let old_task = |i: usize, id: &str| match before_tasks.get(i) {
        Some(t) if t.id == id => Some(t),
        _ => before_tasks.iter().find(|t| t.id == id),
    };
    let (mut new_recs, mut changed_recs, mut task_rows) = (Vec::new(), Vec::new(), Vec::new());
    for (i, t) in st.tasks.iter().enumerate() {
        let old = old_task(i, &t.id);
        if same(old, t) {
            continue;
        }
        let rec = record_row(row, "task", &t.id, t.seq, &**t);
        let new = old.is_none() && known;
        if new {
            new_recs.push(rec);
        } else {
            changed_recs.push(rec);
        }
        task_rows.push((task_row(row, t, ts), new));
    }
    // An action's position is its order (and the index row's seq), so a record that moved
    // is rewritten too. Actions are only appended, unless some were removed: then a record
    // past the old end may be one that moved, and is written as changed.
    let moved = before_actions.len() > st.actions.len()
        || before_actions
            .iter()
            .zip(&st.actions)
            .any(|(a, b)| !Arc::ptr_eq(a, b) && a.id != b.id);
    let mut action_rows = Vec::new();
    for (i, a) in st.actions.iter().enumerate() {
        let old = before_actions.get(i);
        if same(old, a) {
            continue;
        }
        let rec = record_row(row, "action", &a.id, i as u64, &**a);
        let new = old.is_none() && !moved && known;
        if new {
            new_recs.push(rec);
        } else {
            changed_recs.push(rec);
        }
        if a.kind == super::state::ChildKind::Action {
            action_rows.push((action_row(row, st, i, a, ts), new));
        }
    }
    let gone_tasks = gone(before_tasks, &st.tasks, |t| t.id.as_str());
    let gone_actions = gone(before_actions, &st.actions, |a| a.id.as_str());
    store::put_records(conn, &new_recs, &changed_recs)?;
    store::delete_records(conn, &gone_tasks)?;
    store::delete_records(conn, &gone_actions)?;
    store::sync_index(conn, &task_rows, &action_rows, &gone_tasks, &gone_actions)
}

/// Refreshes the row's columns from the state.
fn fill_row(row: &mut ExecutionRow, st: &WorkflowState) {
    let ex = &st.execution;
    let rev = uuid::Uuid::new_v4().as_u64_pair().0;
    row.state = ex.state.as_str().to_string();
    row.state_info = ex.state_info.clone();
    row.params = Some(json_text(&Value::Object(ex.params.clone())));
    row.input = Some(json_text(&Value::Object(ex.input.clone())));
    row.output = Some(json_text(ex.output.as_ref().unwrap_or(&json!({}))));
    row.engine_state = state_json(st, rev);
    row.updated_at = Some(now());
}

impl Shell {
    pub fn new(db: Db) -> Shell {
        Shell {
            db,
            expr: Arc::new(ExprAdapter::default()),
            wake: Arc::new(tokio::sync::Notify::new()),
            owner: Arc::from(new_id()),
            inbox: Arc::default(),
            states: Arc::default(),
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Starts a top-level execution of the workflow `wf` (a visible definition row); returns the
    /// stored execution. A client-chosen `id` that already exists returns that execution.
    pub async fn start_workflow(
        &self,
        caller: Caller,
        wf: crate::db::models::WorkflowRow,
        opts: StartOptions,
    ) -> Result<ExecutionRow, DbError> {
        let me = self.clone();
        let row = self
            .db
            .write(move |conn| me.start_in(conn, &caller, wf, opts))
            .await?;
        self.wake.notify_one();
        Ok(row)
    }

    /// [`Shell::start_workflow`] inside the caller's open transaction, so the caller's own
    /// writes (the cron scheduler's trigger advance) commit together with the execution. Call
    /// [`Shell::wake_dispatcher`] after the commit.
    pub fn start_workflow_in(
        &self,
        conn: &mut DbConnection,
        caller: &Caller,
        wf: crate::db::models::WorkflowRow,
        opts: StartOptions,
    ) -> Result<ExecutionRow, DbError> {
        self.start_in(conn, caller, wf, opts)
    }

    /// Tells the dispatcher that new outbox rows were committed.
    pub fn wake_dispatcher(&self) {
        self.wake.notify_one();
    }

    fn start_in(
        &self,
        conn: &mut DbConnection,
        caller: &Caller,
        wf: crate::db::models::WorkflowRow,
        opts: StartOptions,
    ) -> Result<ExecutionRow, DbError> {
        if let Some(id) = &opts.id {
            if let Some(existing) = store::find_execution(conn, caller.visibility().as_deref(), id)?
            {
                return Ok(existing);
            }
        }
        let body: Value = serde_json::from_str(&wf.spec)
            .map_err(|e| DbError::Internal(format!("corrupt workflow spec: {e}")))?;
        let def = WorkflowDef::from_body(&wf.name, &body);
        let mut params = opts.params;
        if !params.contains_key("namespace") {
            params.insert("namespace".into(), json!(wf.namespace));
        }
        let namespace = params
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        match params.get("env").cloned() {
            Some(Value::String(name)) => {
                let env =
                    definitions::find_environment(conn, caller.visibility().as_deref(), &name)?
                        .ok_or_else(|| {
                            DbError::Invalid(format!("Environment is not found: {name}"))
                        })?;
                let vars = env
                    .variables
                    .as_deref()
                    .and_then(|t| serde_json::from_str::<Value>(t).ok())
                    .filter(Value::is_object)
                    .unwrap_or_else(|| json!({}));
                params.insert("env".into(), vars);
            }
            None | Some(Value::Null) => {
                params.insert("env".into(), json!({}));
            }
            Some(Value::Object(_)) => {}
            Some(other) => {
                return Err(DbError::Invalid(format!(
                    "Unexpected value type for environment [env={}, type={}]",
                    super::util::py_str(&other),
                    py_type_name(&other)
                )))
            }
        }
        for (field, v) in [("input", &opts.input), ("params", &params)] {
            check_field_size("WorkflowExecution", field, v)?;
        }
        let id = opts.id.clone().unwrap_or_else(new_id);
        let req = StartRequest {
            id: id.clone(),
            input: opts.input,
            params,
            parent: None,
        };
        let vis = caller.visibility();
        let (st, effects) = self.run_start(conn, &namespace, vis, def, req)?;
        let mut row = ExecutionRow {
            id: id.clone(),
            workflow_name: wf.name.clone(),
            workflow_id: Some(wf.id.clone()),
            workflow_namespace: wf.namespace.clone(),
            description: opts.description,
            tags: wf.tags.clone(),
            state: String::new(),
            state_info: None,
            params: None,
            input: None,
            output: None,
            task_execution_id: None,
            root_execution_id: None,
            parent_execution_id: None,
            project_id: caller.project_id.clone(),
            scope: "private".into(),
            engine_state: String::new(),
            created_at: now(),
            updated_at: None,
        };
        fill_row(&mut row, &st);
        store::insert_execution(conn, &row)?;
        store_records(conn, &row, Some((&[], &[])), &st)?;
        self.apply_effects(conn, &row, effects)?;
        if !st.execution.state.is_completed() {
            self.states.lock().unwrap_or_else(|e| e.into_inner()).put(
                row.id.clone(),
                row.engine_state.clone(),
                st,
            );
        }
        Ok(row)
    }

    fn run_start(
        &self,
        conn: &mut DbConnection,
        namespace: &str,
        vis: Option<String>,
        def: WorkflowDef,
        req: StartRequest,
    ) -> Result<(WorkflowState, Vec<Effect>), DbError> {
        let conn = Mutex::new(conn);
        let exprs = DbExprs {
            evaluator: &self.expr.evaluator,
            conn: &conn,
            vis: vis.clone(),
        };
        let catalog = DbCatalog {
            conn: &conn,
            namespace: namespace.to_string(),
            vis,
        };
        let mut ids = new_id;
        let mut rt = Runtime {
            expr: &exprs,
            catalog: &catalog,
            ids: &mut ids,
            now: format_ts(&now()),
        };
        start(&mut rt, def, req).map_err(engine_error)
    }

    /// Applies one event to an execution. Events for executions that no longer exist and
    /// results for action executions no longer RUNNING are ignored.
    ///
    /// Events for the same execution that arrive while one is being applied are queued and
    /// then applied together in one transaction (one state load and store for the lot): the
    /// results of 50 concurrent with-items actions cost one write, not 50. If any event of
    /// such a batch fails, the batch is rolled back and its events are applied one by one,
    /// so each sender gets exactly the outcome it would have had alone.
    pub async fn command(&self, execution_id: &str, event: Event) -> Result<(), DbError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let first = {
            let mut inbox = self.inbox.lock().unwrap_or_else(|e| e.into_inner());
            match inbox.get_mut(execution_id) {
                Some(q) => {
                    q.push((event, tx));
                    false
                }
                None => {
                    inbox.insert(execution_id.to_string(), vec![(event, tx)]);
                    true
                }
            }
        };
        if first {
            // A task of its own, so a dropped caller cannot strand the queue.
            let me = self.clone();
            let id = execution_id.to_string();
            tokio::spawn(async move { me.drain(id).await });
        }
        rx.await
            .unwrap_or_else(|_| Err(DbError::Internal("engine command was dropped".into())))
    }

    /// Applies queued events of one execution until its queue is empty.
    async fn drain(&self, id: String) {
        loop {
            let batch = {
                let mut inbox = self.inbox.lock().unwrap_or_else(|e| e.into_inner());
                let Some(q) = inbox.get_mut(&id) else { return };
                if q.is_empty() {
                    inbox.remove(&id);
                    return;
                }
                let n = q.len().min(MAX_BATCH);
                q.drain(..n).collect::<Vec<_>>()
            };
            let (events, senders): (Vec<Event>, Vec<_>) = batch.into_iter().unzip();
            let results = if events.len() == 1 {
                vec![self.write_events(&id, events).await]
            } else {
                match self.write_events(&id, events.clone()).await {
                    Ok(()) => events.iter().map(|_| Ok(())).collect(),
                    Err(_) => {
                        let mut rs = Vec::with_capacity(events.len());
                        for ev in events {
                            rs.push(self.write_events(&id, vec![ev]).await);
                        }
                        rs
                    }
                }
            };
            self.wake.notify_one();
            for (tx, r) in senders.into_iter().zip(results) {
                let _ = tx.send(r);
            }
        }
    }

    async fn write_events(&self, id: &str, events: Vec<Event>) -> Result<(), DbError> {
        let me = self.clone();
        let id = id.to_string();
        self.db
            .write(move |conn| me.command_in(conn, &id, events))
            .await
    }

    pub(super) fn command_in(
        &self,
        conn: &mut DbConnection,
        execution_id: &str,
        events: Vec<Event>,
    ) -> Result<(), DbError> {
        let Some(mut row) = store::lock_execution(conn, execution_id)? else {
            return Ok(());
        };
        let cached = self
            .states
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take(&row);
        let (mut st, legacy) = match cached {
            Some(st) => (st, false),
            None => load_stored(conn, &row)?,
        };
        // A snapshot of the records only: they are shared, so this copies pointers (the
        // definition and the execution are not needed to tell what changed).
        let (before_tasks, before_actions) = (st.tasks.clone(), st.actions.clone());
        let namespace = st
            .execution
            .params
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let mut effects = Vec::new();
        let mut changed = false;
        for event in events {
            if let Event::ActionCompleted {
                action_execution_id,
                ..
            } = &event
            {
                // The executor is done with it (or the API delivered the result): no lease
                // needed.
                store::delete_lease(conn, action_execution_id)?;
                let running = st
                    .actions
                    .iter()
                    .rev()
                    .any(|a| &a.id == action_execution_id && a.state == State::Running);
                if !running {
                    continue;
                }
            }
            let conn = Mutex::new(&mut *conn);
            let exprs = DbExprs {
                evaluator: &self.expr.evaluator,
                conn: &conn,
                vis: Some(row.project_id.clone()),
            };
            let catalog = DbCatalog {
                conn: &conn,
                namespace: namespace.clone(),
                vis: Some(row.project_id.clone()),
            };
            let mut ids = new_id;
            let mut rt = Runtime {
                expr: &exprs,
                catalog: &catalog,
                ids: &mut ids,
                now: format_ts(&now()),
            };
            // On Err the whole transaction is rolled back, so the half-updated state is
            // never stored.
            effects.extend(handle_in_place(&mut rt, &mut st, event).map_err(engine_error)?);
            changed = true;
        }
        if !changed {
            let text = std::mem::take(&mut row.engine_state);
            self.states
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .put(row.id, text, st);
            return Ok(());
        }
        fill_row(&mut row, &st);
        store::update_execution(conn, &row)?;
        let before = (!legacy).then_some((&before_tasks[..], &before_actions[..]));
        store_records(conn, &row, before, &st)?;
        self.apply_effects(conn, &row, effects)?;
        if !st.execution.state.is_completed() {
            let text = std::mem::take(&mut row.engine_state);
            self.states
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .put(row.id, text, st);
        }
        Ok(())
    }

    /// Updates only the description of an execution.
    pub async fn set_description(
        &self,
        vis: Option<String>,
        id: &str,
        description: String,
    ) -> Result<ExecutionRow, DbError> {
        let id = id.to_string();
        self.db
            .write(move |conn| {
                store::get_execution(conn, vis.as_deref(), &id)?;
                let mut row = store::lock_execution(conn, &id)?.ok_or_else(|| {
                    DbError::NotFound(format!("WorkflowExecution not found [id={id}]"))
                })?;
                row.description = description;
                row.updated_at = Some(now());
                store::update_execution(conn, &row)?;
                Ok(row)
            })
            .await
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn start_child_in(
        &self,
        conn: &mut DbConnection,
        parent_execution_id: &str,
        child_id: String,
        task_execution_id: String,
        workflow: &str,
        input: Map<String, Value>,
        params: Map<String, Value>,
    ) -> Result<(), DbError> {
        if store::find_execution(conn, None, &child_id)?.is_some() {
            return Ok(());
        }
        let Some(parent) = store::find_execution(conn, None, parent_execution_id)? else {
            return Ok(());
        };
        let pex = load_execution(&parent)?;
        let namespace = params
            .get("namespace")
            .and_then(Value::as_str)
            .or_else(|| pex.params.get("namespace").and_then(Value::as_str))
            .unwrap_or("")
            .to_string();
        let fail = |conn: &mut DbConnection, message: String| {
            let msg = Message::Deliver {
                execution_id: parent_execution_id.to_string(),
                event: Event::SubWorkflowStartFailed {
                    workflow_execution_id: child_id.clone(),
                    message,
                },
            };
            store::push_outbox(
                conn,
                parent_execution_id,
                &serde_json::to_string(&msg).unwrap_or_default(),
            )
        };
        let vis = Some(parent.project_id.clone());
        let Some(wf) = definitions::load_workflow(conn, vis.as_deref(), workflow, &namespace)?
        else {
            return fail(
                conn,
                format!("Failed to find workflow [name={workflow}] [namespace={namespace}]"),
            );
        };
        let body: Value = serde_json::from_str(&wf.spec).unwrap_or(Value::Null);
        let def = WorkflowDef::from_body(&wf.name, &body);
        let root_id = pex
            .root_execution_id
            .clone()
            .unwrap_or_else(|| pex.id.clone());
        let mut params = params;
        if !params.contains_key("namespace") {
            params.insert("namespace".into(), json!(namespace));
        }
        let req = StartRequest {
            id: child_id.clone(),
            input,
            params,
            parent: Some(ParentLink {
                task_execution_id: task_execution_id.clone(),
                root_execution_id: root_id.clone(),
                root_env: pex.env.clone(),
            }),
        };
        let (st, effects) = match self.run_start(conn, &namespace, vis, def, req) {
            Ok(r) => r,
            Err(e) => return fail(conn, e.to_string()),
        };
        let mut row = ExecutionRow {
            id: child_id.clone(),
            workflow_name: wf.name.clone(),
            workflow_id: Some(wf.id.clone()),
            workflow_namespace: wf.namespace.clone(),
            description: String::new(),
            tags: wf.tags.clone(),
            state: String::new(),
            state_info: None,
            params: None,
            input: None,
            output: None,
            task_execution_id: Some(task_execution_id),
            root_execution_id: Some(root_id),
            parent_execution_id: Some(parent_execution_id.to_string()),
            project_id: parent.project_id.clone(),
            scope: "private".into(),
            engine_state: String::new(),
            created_at: now(),
            updated_at: None,
        };
        fill_row(&mut row, &st);
        store::insert_execution(conn, &row)?;
        store_records(conn, &row, Some((&[], &[])), &st)?;
        self.apply_effects(conn, &row, effects)
    }

    /// Turns effects into outbox rows and scheduled jobs (same transaction as the state).
    fn apply_effects(
        &self,
        conn: &mut DbConnection,
        row: &ExecutionRow,
        effects: Vec<Effect>,
    ) -> Result<(), DbError> {
        let me = row.id.as_str();
        let push = |conn: &mut DbConnection, m: Message| {
            store::push_outbox(conn, me, &serde_json::to_string(&m).unwrap_or_default())
        };
        let deliver = |to: &str, event: Event| Message::Deliver {
            execution_id: to.to_string(),
            event,
        };
        for eff in effects {
            match eff {
                Effect::RunAction {
                    action_execution_id,
                    task_execution_id,
                    base_action,
                    input,
                    safe_rerun,
                    timeout,
                    ..
                } => push(
                    conn,
                    Message::RunAction {
                        execution_id: me.to_string(),
                        action_execution_id,
                        base_action,
                        input,
                        safe_rerun,
                        task_execution_id: Some(task_execution_id),
                        workflow_name: Some(row.workflow_name.clone()),
                        timeout,
                    },
                )?,
                Effect::StartSubWorkflow {
                    workflow_execution_id,
                    task_execution_id,
                    workflow,
                    input,
                    params,
                } => push(
                    conn,
                    Message::StartSubWorkflow {
                        parent_execution_id: me.to_string(),
                        workflow_execution_id,
                        task_execution_id,
                        workflow,
                        input,
                        params,
                    },
                )?,
                Effect::WorkflowCompleted {
                    state,
                    state_info,
                    output,
                    parent_task_execution_id: Some(_),
                } => {
                    if let Some(p) = &row.parent_execution_id {
                        push(
                            conn,
                            deliver(
                                p,
                                Event::SubWorkflowCompleted {
                                    workflow_execution_id: me.to_string(),
                                    state,
                                    state_info,
                                    output,
                                },
                            ),
                        )?;
                    }
                }
                Effect::NotifyParent { state, .. } => {
                    if let Some(p) = &row.parent_execution_id {
                        push(
                            conn,
                            deliver(
                                p,
                                Event::SubWorkflowStateChanged {
                                    workflow_execution_id: me.to_string(),
                                    state,
                                },
                            ),
                        )?;
                    }
                }
                Effect::ScheduleTimer { timer, delay } => {
                    let at = chrono::Utc::now().naive_utc()
                        + chrono::Duration::seconds(delay.min(i64::MAX as u64 / 2000) as i64);
                    let msg = deliver(me, Event::TimerFired(timer));
                    store::insert_job(
                        conn,
                        &JobRow {
                            id: new_id(),
                            execution_id: me.to_string(),
                            message: serde_json::to_string(&msg).unwrap_or_default(),
                            run_at: at,
                            created_at: now(),
                        },
                    )?;
                }
                Effect::PauseSubWorkflows {
                    workflow_execution_ids,
                } => {
                    for id in workflow_execution_ids {
                        push(conn, deliver(&id, Event::Pause))?;
                    }
                }
                Effect::ResumeSubWorkflows {
                    workflow_execution_ids,
                } => {
                    for id in workflow_execution_ids {
                        push(conn, deliver(&id, Event::Resume { env: None }))?;
                    }
                }
                Effect::CancelSubWorkflows {
                    workflow_execution_ids,
                    state_info,
                } => {
                    for id in workflow_execution_ids {
                        push(
                            conn,
                            deliver(
                                &id,
                                Event::Cancel {
                                    state_info: state_info.clone(),
                                },
                            ),
                        )?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// What `POST /v2/action_executions` runs for an action name.
pub(crate) enum ApiAction {
    System,
    /// An ad-hoc action: its definition and its expansion down to the system action (or the
    /// message why that failed).
    AdHoc(Box<AdHocDef>, Result<super::controller::Expanded, String>),
    NotFound,
}

impl Shell {
    /// Resolves an action run through the API in `namespace` (then `""`) and expands an
    /// ad-hoc one the way a task does, base-input evaluated over the given input alone.
    pub(crate) fn api_action(
        &self,
        conn: &mut DbConnection,
        vis: Option<String>,
        name: &str,
        namespace: &str,
        input: &Map<String, Value>,
    ) -> ApiAction {
        let conn = Mutex::new(conn);
        let catalog = DbCatalog {
            conn: &conn,
            namespace: namespace.to_string(),
            vis,
        };
        let ad = match catalog.action(name) {
            None => return ApiAction::NotFound,
            Some(ActionDef::System(_)) => return ApiAction::System,
            Some(ActionDef::AdHoc(ad)) => ad,
        };
        let resolve = |n: &str| {
            catalog.action(n).ok_or_else(|| {
                super::controller::StartFailure::Forced(format!(
                    "Failed to find action [action_name={n}]"
                ))
            })
        };
        let data = crate::expr::NoData;
        let eval = |v: &Value, ctx: &Value| {
            self.expr
                .evaluator
                .evaluate_view(v, ctx, &data)
                .map_err(|e| e.message)
        };
        let expanded = super::controller::expand_action(
            &resolve,
            &eval,
            name,
            ActionDef::AdHoc(ad.clone()),
            input.clone(),
            &Value::Object(Map::new()),
        )
        .map_err(|e| match e {
            super::controller::StartFailure::Forced(m)
            | super::controller::StartFailure::Normal(m) => m,
        });
        ApiAction::AdHoc(Box::new(ad), expanded)
    }

    /// The expression evaluator (ad-hoc output transforms of API-run actions).
    pub(crate) fn evaluator(&self) -> crate::expr::Evaluator {
        self.expr.evaluator.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DatabaseUrl;
    use crate::engine::controller::ActionOutcome;
    use std::time::Duration;

    fn workflow_row(name: &str, body: Value) -> crate::db::models::WorkflowRow {
        crate::db::models::WorkflowRow {
            id: new_id(),
            name: name.into(),
            namespace: String::new(),
            project_id: crate::db::DEFAULT_PROJECT.into(),
            scope: "private".into(),
            is_system: false,
            definition: String::new(),
            spec: body.to_string(),
            input: None,
            interface: None,
            checksum: None,
            tags: None,
            created_at: now(),
            updated_at: None,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn unsent_outbox_rows_are_dispatched_by_a_new_shell_after_restart() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite(dir.path().join("t.sqlite"));
        let db = Db::connect(&url, 2).unwrap();
        db.run_migrations().unwrap();
        let caller = Caller {
            project_id: crate::db::DEFAULT_PROJECT.into(),
            is_admin: false,
        };
        let wf = workflow_row(
            "wf",
            json!({"tasks": {"a": {"action": "std.echo output=1", "on-success": ["b"]},
                             "b": {"action": "std.noop"}}}),
        );
        // The first shell commits the start (and its outbox rows) but never dispatches.
        let first = Shell::new(db.clone());
        let row = first
            .start_workflow(caller, wf, StartOptions::default())
            .await
            .unwrap();
        assert_eq!(row.state, "RUNNING");
        let pending = db.read(|c| store::unsent_outbox(c, 100)).await.unwrap();
        assert_eq!(pending.len(), 1, "one RunAction for task a");
        drop(first);

        // "Restart": a new shell over the same database hands the unsent row over.
        let second = Shell::new(db.clone());
        let id = row.id.clone();
        let mut state = String::new();
        for _ in 0..200 {
            second.pump().await.unwrap();
            let i = id.clone();
            state = db
                .read(move |c| store::get_execution(c, None, &i))
                .await
                .unwrap()
                .state;
            if state == "SUCCESS" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(state, "SUCCESS");
        let left = db.read(|c| store::unsent_outbox(c, 100)).await.unwrap();
        assert!(left.is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_result_for_an_action_no_longer_running_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite(dir.path().join("t.sqlite"));
        let db = Db::connect(&url, 2).unwrap();
        db.run_migrations().unwrap();
        let caller = Caller {
            project_id: crate::db::DEFAULT_PROJECT.into(),
            is_admin: false,
        };
        let wf = workflow_row("wf", json!({"tasks": {"a": {"action": "std.async_noop"}}}));
        let shell = Shell::new(db.clone());
        let row = shell
            .start_workflow(caller, wf, StartOptions::default())
            .await
            .unwrap();
        let rid = row.id.clone();
        let st = db
            .read(move |c| {
                let row = store::get_execution(c, None, &rid)?;
                load_state(c, &row)
            })
            .await
            .unwrap();
        let aid = st.actions[0].id.clone();
        let done = |v: Value| Event::ActionCompleted {
            action_execution_id: aid.clone(),
            outcome: ActionOutcome::Success(v),
        };
        shell.command(&row.id, done(json!(1))).await.unwrap();
        // A duplicate delivery (e.g. re-dispatched after a crash) changes nothing.
        shell.command(&row.id, done(json!(2))).await.unwrap();
        let id = row.id.clone();
        let (after, st) = db
            .read(move |c| {
                let row = store::get_execution(c, None, &id)?;
                let st = load_state(c, &row)?;
                Ok((row, st))
            })
            .await
            .unwrap();
        assert_eq!(after.state, "SUCCESS");
        assert_eq!(st.actions[0].output, Some(json!({"result": 1})));
    }
}
