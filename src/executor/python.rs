//! Python actions (mistral-lib classes declared under the `mistral.actions` /
//! `mistral.generators` / `mistral.action.providers` entry points), ecosystem.md §2-3.
//!
//! All Python semantics (discovery, signatures, the action context, result conversion, error
//! texts) live in the `mistral_rs_actions` package in `python/`, embedded in this binary and
//! written to a cache directory at start. This module only moves JSON text between the engine
//! and that package's `handle(request) -> response`, through one of two runners chosen by
//! `[python] isolation`:
//!
//! * `process` (default): a pool of worker subprocesses (`python -m
//!   mistral_rs_actions.worker`). An action that segfaults, calls `os._exit`, leaks memory or
//!   hangs only costs its worker: the action fails with a message naming the cause, the worker
//!   is replaced, and a worker is recycled after `[python] worker_max_tasks` runs or when it
//!   holds more than `[python] worker_max_memory_mb`.
//! * `thread`: the package runs inside this process through pyo3 on a dedicated pool of OS
//!   threads (never a runtime thread). Faster, but a crash in a C extension takes the server
//!   with it, and a hung action keeps its thread (a replacement thread is started).
//!
//! Either way a task's `timeout` bounds the wait for the result (the worker is killed in
//! `process` mode).

#[cfg(feature = "python-embed")]
mod inproc;
mod process;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use super::ActionContext;
use crate::api::builtin_actions::BuiltinAction;
use crate::config::Settings;
use crate::engine::controller::{ActionOutcome, SystemAction};
use crate::engine::spec::InputDecl;

/// The package sources, embedded so that the binary needs no installation step.
const PACKAGE: &[(&str, &str)] = &[
    (
        "__init__.py",
        include_str!("../../python/mistral_rs_actions/__init__.py"),
    ),
    (
        "discovery.py",
        include_str!("../../python/mistral_rs_actions/discovery.py"),
    ),
    (
        "runner.py",
        include_str!("../../python/mistral_rs_actions/runner.py"),
    ),
    (
        "settings.py",
        include_str!("../../python/mistral_rs_actions/settings.py"),
    ),
    (
        "worker.py",
        include_str!("../../python/mistral_rs_actions/worker.py"),
    ),
];

/// `[python] isolation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    Process,
    Thread,
}

/// The `[python]` settings (plus the upstream options the package reads).
#[derive(Debug, Clone)]
pub struct PythonConfig {
    /// `[python] enabled` (default true).
    pub enabled: bool,
    /// The interpreter of the configured environment: `[python] venv`/bin/python, else
    /// `python3` on PATH.
    pub python: PathBuf,
    pub isolation: Isolation,
    /// `[python] workers`: concurrent Python actions (processes or threads).
    pub workers: usize,
    /// `[python] worker_max_tasks`: a worker process is replaced after this many runs (0 =
    /// never), which bounds what a leaking action can hold.
    pub worker_max_tasks: u64,
    /// `[python] worker_max_memory_mb`: a worker process whose resident memory exceeds this
    /// after an action is replaced (0 = no limit).
    pub worker_max_memory_mb: u64,
    /// The `init` request's `config` (see python/mistral_rs_actions/settings.py).
    pub init: Value,
}

fn list_setting(s: &Settings, section: &str, key: &str) -> Vec<String> {
    s.get(section, key)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

impl PythonConfig {
    pub fn from_settings(s: &Settings) -> Result<PythonConfig, String> {
        let enabled = s.get_bool("python", "enabled", true).map_err(|e| e.0)?;
        let python = match s.get("python", "venv").filter(|v| !v.trim().is_empty()) {
            Some(v) => Path::new(v.trim()).join("bin").join("python"),
            None => PathBuf::from("python3"),
        };
        let isolation = match s.get("python", "isolation").map(str::trim) {
            None | Some("") | Some("process") => Isolation::Process,
            Some("thread") => Isolation::Thread,
            Some(other) => {
                return Err(format!(
                    "invalid setting [python] isolation = '{other}': expected process or thread"
                ))
            }
        };
        let number = |key: &str, default: u64| -> Result<u64, String> {
            match s.get("python", key).map(str::trim) {
                None | Some("") => Ok(default),
                Some(v) => v.parse::<u64>().map_err(|_| {
                    format!("invalid setting [python] {key} = '{v}': expected a whole number")
                }),
            }
        };
        let workers = number("workers", 4)?.clamp(1, 256) as usize;
        let worker_max_tasks = number("worker_max_tasks", 1000)?;
        let worker_max_memory_mb = number("worker_max_memory_mb", 2048)?;
        let flag = |section: &str, key: &str, default: bool| {
            s.get_bool(section, key, default).map_err(|e| e.0)
        };
        let init = json!({
            "load_action_plugins": flag("legacy_action_provider", "load_action_plugins", true)?,
            "load_action_generators": flag("legacy_action_provider", "load_action_generators", true)?,
            "only_builtin_actions": flag("legacy_action_provider", "only_builtin_actions", false)?,
            "allowlist": list_setting(s, "legacy_action_provider", "allowlist"),
            "denylist": list_setting(s, "legacy_action_provider", "denylist"),
            "providers_allowlist": list_setting(s, "action_providers", "allowlist"),
            "providers_denylist": list_setting(s, "action_providers", "denylist"),
            "config_files": s.config_file.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "auth_enable": s.auth_enable,
            "api_host": s.api.host,
            "api_port": s.api.port,
            // Native actions keep precedence over entry points of the same name.
            "skip": crate::api::builtin_actions::all().iter().map(|b| b.name.clone()).collect::<Vec<_>>(),
        });
        Ok(PythonConfig {
            enabled,
            python,
            isolation,
            workers,
            worker_max_tasks,
            worker_max_memory_mb,
            init,
        })
    }
}

/// Why a call into Python produced no response.
#[derive(Debug)]
pub(crate) enum CallError {
    /// The result did not arrive in time.
    Timeout,
    /// The runner failed (worker died, could not start, broken pipe...).
    Failed(String),
}

enum Runner {
    Process(process::WorkerPool),
    #[cfg(feature = "python-embed")]
    Thread(inproc::ThreadPool),
}

impl Runner {
    /// Sets the package up and discovers (every worker process does this when it starts).
    async fn init(&self, request: String) -> Result<String, CallError> {
        match self {
            // Worker processes send `init` themselves when they start.
            Runner::Process(p) => {
                drop(request);
                p.warm_up().await
            }
            #[cfg(feature = "python-embed")]
            Runner::Thread(t) => t.call(request, None).await,
        }
    }

    async fn call(&self, request: String, timeout: Option<Duration>) -> Result<String, CallError> {
        match self {
            Runner::Process(p) => p.call(request, timeout).await,
            #[cfg(feature = "python-embed")]
            Runner::Thread(t) => t.call(request, timeout).await,
        }
    }
}

/// One discovered action, as `init`/`discover` describe it.
#[derive(Debug, Clone, Deserialize)]
struct Discovered {
    name: String,
    description: String,
    input: String,
    class: Option<String>,
    params: Vec<Param>,
    open_params: bool,
    is_sync: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
struct Param {
    name: String,
    required: bool,
}

#[derive(Debug, Deserialize)]
struct DiscoveryResponse {
    actions: Vec<Discovered>,
    errors: Vec<String>,
}

/// What discovery found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub actions: usize,
    pub errors: Vec<String>,
    /// Why Python actions are unavailable altogether (no interpreter, no mistral-lib...).
    pub unavailable: Option<String>,
}

struct Registry {
    runner: Option<Runner>,
    listed: Vec<BuiltinAction>,
    signatures: HashMap<String, SystemAction>,
}

static REGISTRY: OnceLock<Registry> = OnceLock::new();

/// Writes the embedded package to a per-content cache directory and returns the directory
/// to put on `sys.path`.
fn package_dir() -> Result<PathBuf, String> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    PACKAGE.hash(&mut h);
    let root = std::env::temp_dir().join(format!("mistral-rs-python-{:016x}", h.finish()));
    let pkg = root.join("mistral_rs_actions");
    if PACKAGE
        .iter()
        .all(|(f, text)| std::fs::read_to_string(pkg.join(f)).is_ok_and(|t| t == *text))
    {
        return Ok(root);
    }
    // Write into a private directory, then rename: concurrent starts never see half a package.
    let tmp = std::env::temp_dir().join(format!(
        "mistral-rs-python-tmp-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let tmp_pkg = tmp.join("mistral_rs_actions");
    let io =
        |e: std::io::Error| format!("cannot write the Python package to {}: {e}", tmp.display());
    std::fs::create_dir_all(&tmp_pkg).map_err(io)?;
    for (f, text) in PACKAGE {
        std::fs::write(tmp_pkg.join(f), text).map_err(io)?;
    }
    let _ = std::fs::remove_dir_all(&root);
    if std::fs::rename(&tmp, &root).is_err() {
        // Another process won the race; its copy has the same content.
        let _ = std::fs::remove_dir_all(&tmp);
    }
    Ok(root)
}

fn signature(d: &Discovered) -> SystemAction {
    SystemAction {
        name: d.name.clone(),
        class: d.class.clone().unwrap_or_default(),
        params: d
            .params
            .iter()
            .map(|p| InputDecl {
                name: p.name.clone(),
                // Only required-ness matters to the engine's check; the class applies its own
                // defaults (the input is passed as given).
                default: if p.required { None } else { Some(Value::Null) },
            })
            .collect(),
        open_params: d.open_params,
        is_sync: d.is_sync.unwrap_or(true),
    }
}

async fn build(cfg: &PythonConfig) -> Result<(Runner, DiscoveryResponse), String> {
    let dir = package_dir()?;
    let init = json!({"op": "init", "config": cfg.init}).to_string();
    let runner = match cfg.isolation {
        Isolation::Process => Runner::Process(process::WorkerPool::new(
            cfg.python.clone(),
            dir,
            init.clone(),
            cfg.workers,
            cfg.worker_max_tasks,
            cfg.worker_max_memory_mb,
        )),
        #[cfg(feature = "python-embed")]
        Isolation::Thread => {
            Runner::Thread(inproc::ThreadPool::start(&cfg.python, &dir, cfg.workers).await?)
        }
        #[cfg(not(feature = "python-embed"))]
        Isolation::Thread => {
            return Err(
                "[python] isolation = thread needs a build with the python-embed feature".into(),
            )
        }
    };
    let text = runner.init(init).await.map_err(|e| match e {
        CallError::Failed(m) => m,
        CallError::Timeout => "discovery timed out".into(),
    })?;
    let v: Value =
        serde_json::from_str(&text).map_err(|e| format!("bad discovery response: {e}"))?;
    if let Some(f) = v.get("fatal").and_then(Value::as_str) {
        return Err(f.to_string());
    }
    let resp: DiscoveryResponse =
        serde_json::from_value(v).map_err(|e| format!("bad discovery response: {e}"))?;
    Ok((runner, resp))
}

/// Discovers the Python actions once per process (later calls return the first report).
/// Never fails: problems are logged and reported.
pub async fn init(cfg: &PythonConfig) -> Report {
    if let Some(r) = REGISTRY.get() {
        return Report {
            actions: r.listed.len(),
            ..Report::default()
        };
    }
    let mut report = Report::default();
    let mut reg = Registry {
        runner: None,
        listed: Vec::new(),
        signatures: HashMap::new(),
    };
    if !cfg.enabled {
        report.unavailable = Some("disabled by [python] enabled = false".into());
    } else {
        match build(cfg).await {
            Ok((runner, resp)) => {
                for d in &resp.actions {
                    reg.signatures.insert(d.name.clone(), signature(d));
                    reg.listed.push(BuiltinAction {
                        name: d.name.clone(),
                        input: d.input.clone(),
                        description: d.description.clone(),
                        class: d.class.clone().unwrap_or_default(),
                    });
                }
                reg.listed.sort_by(|a, b| a.name.cmp(&b.name));
                reg.runner = Some(runner);
                report.actions = resp.actions.len();
                report.errors = resp.errors;
            }
            Err(e) => {
                report.unavailable = Some(format!(
                    "Python actions are unavailable (interpreter {}): {e}",
                    cfg.python.display()
                ))
            }
        }
    }
    for e in &report.errors {
        tracing::error!("Python action discovery: {e}");
    }
    match &report.unavailable {
        Some(why) => tracing::warn!("{why}"),
        None => tracing::info!(
            "{} Python action(s) discovered ({:?} isolation, interpreter {})",
            report.actions,
            cfg.isolation,
            cfg.python.display()
        ),
    }
    let _ = REGISTRY.set(reg);
    if let Some(Runner::Process(pool)) = REGISTRY.get().and_then(|r| r.runner.as_ref()) {
        tokio::spawn(pool.fill());
    }
    report
}

/// The signature of a discovered Python action.
pub fn system_action(name: &str) -> Option<SystemAction> {
    REGISTRY.get()?.signatures.get(name).cloned()
}

/// Whether `name` is a discovered Python action.
pub fn is_python_action(name: &str) -> bool {
    REGISTRY
        .get()
        .is_some_and(|r| r.signatures.contains_key(name))
}

/// Discovered actions for `/v2/actions`, sorted by name.
pub fn listed() -> &'static [BuiltinAction] {
    REGISTRY.get().map(|r| r.listed.as_slice()).unwrap_or(&[])
}

/// A discovered action's descriptor by name.
pub fn find_listed(name: &str) -> Option<&'static BuiltinAction> {
    listed().iter().find(|a| a.name == name)
}

/// How long after the task's timeout the executor stops waiting for a Python action.
const TIMEOUT_GRACE_SECS: u64 = 5;

fn raised(action: &str, action_ex_id: &str, msg: &str) -> ActionOutcome {
    ActionOutcome::Error(Value::String(format!(
        "The action raised an exception [action={action}, action_ex_id={action_ex_id}, msg='{msg}']"
    )))
}

/// Runs a Python action. `None` while an asynchronous action waits for its result.
pub async fn run(
    name: &str,
    input: &Value,
    action_ex_id: &str,
    ctx: &ActionContext,
) -> Option<ActionOutcome> {
    let Some(runner) = REGISTRY.get().and_then(|r| r.runner.as_ref()) else {
        return Some(raised(
            name,
            action_ex_id,
            "Python actions are not available",
        ));
    };
    let mut execution = serde_json::Map::new();
    let mut put = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            execution.insert(k.into(), json!(v));
        }
    };
    put("workflow_execution_id", &ctx.workflow_execution_id);
    put("task_execution_id", &ctx.task_execution_id);
    put("workflow_name", &ctx.workflow_name);
    if !action_ex_id.is_empty() {
        execution.insert("action_execution_id".into(), json!(action_ex_id));
        execution.insert(
            "callback_url".into(),
            json!(format!("/v2/action_executions/{action_ex_id}")),
        );
    }
    let request = json!({
        "op": "run",
        "name": name,
        "input": input,
        "action_ex_id": if action_ex_id.is_empty() { Value::Null } else { json!(action_ex_id) },
        "execution": execution,
        "security": {},
    })
    .to_string();
    // The engine's own timer fails the task at `timeout` ("Task timed out ..."), as upstream;
    // the executor gives up a little later, only to get its worker back.
    let timeout = ctx
        .timeout
        .filter(|t| *t > 0)
        .map(|t| Duration::from_secs(t.saturating_add(TIMEOUT_GRACE_SECS)));
    let text = match runner.call(request, timeout).await {
        Ok(t) => t,
        Err(CallError::Timeout) => {
            return Some(raised(
                name,
                action_ex_id,
                &format!("Timeout after {} seconds", ctx.timeout.unwrap_or_default()),
            ))
        }
        Err(CallError::Failed(m)) => return Some(raised(name, action_ex_id, &m)),
    };
    outcome(name, action_ex_id, &text)
}

/// Turns a `run` response into the engine's outcome.
fn outcome(name: &str, action_ex_id: &str, text: &str) -> Option<ActionOutcome> {
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            return Some(raised(
                name,
                action_ex_id,
                &format!("unreadable result from the Python runner: {e}"),
            ))
        }
    };
    if let Some(f) = v.get("fatal").and_then(Value::as_str) {
        return Some(raised(name, action_ex_id, f));
    }
    let result = v.get("result").cloned().unwrap_or(Value::Null);
    match v.get("state").and_then(Value::as_str) {
        Some("SUCCESS") => Some(ActionOutcome::Success(result)),
        Some("ERROR") => Some(ActionOutcome::Error(result)),
        Some("CANCELLED") => Some(ActionOutcome::Cancelled(result)),
        Some("RUNNING") => None,
        other => Some(raised(
            name,
            action_ex_id,
            &format!("unexpected state {other:?} from the Python runner"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_responses_map_to_outcomes() {
        assert_eq!(
            outcome("a", "x", r#"{"state": "SUCCESS", "result": 3}"#),
            Some(ActionOutcome::Success(json!(3)))
        );
        assert_eq!(
            outcome("a", "x", r#"{"state": "CANCELLED", "result": null}"#),
            Some(ActionOutcome::Cancelled(Value::Null))
        );
        assert_eq!(
            outcome("a", "x", r#"{"state": "RUNNING", "result": null}"#),
            None
        );
        assert_eq!(
            outcome("a", "x", r#"{"fatal": "ValueError: bad"}"#),
            Some(ActionOutcome::Error(json!(
                "The action raised an exception [action=a, action_ex_id=x, msg='ValueError: bad']"
            )))
        );
    }

    #[test]
    fn required_parameters_have_no_default() {
        let d = Discovered {
            name: "p.a".into(),
            description: String::new(),
            input: "x, y=2".into(),
            class: Some("m.A".into()),
            params: vec![
                Param {
                    name: "x".into(),
                    required: true,
                },
                Param {
                    name: "y".into(),
                    required: false,
                },
            ],
            open_params: false,
            is_sync: None,
        };
        let s = signature(&d);
        assert!(s.params[0].default.is_none());
        assert!(s.params[1].default.is_some());
        assert!(s.is_sync);
        assert_eq!(s.class, "m.A");
    }
}
