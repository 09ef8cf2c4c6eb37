//! Replays the recorded upstream conformance cases (the repository's conformance/cases) through the
//! simulator and compares states, state_info, published, results and outputs with what
//! upstream Mistral 23.0.0 produced.

use std::collections::BTreeMap;
use std::path::Path;

use regex::Regex;
use serde_json::{json, Value};

use super::controller::{ActionOutcome, EngineError, Event, WorkflowState};
use super::exprs::ExprAdapter;
use super::sim::{SimCatalog, Simulator};
use super::spec::{AdHocDef, WorkflowDef};
use super::state::State;

const CASES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/conformance/cases");
const PREFIX: &str = "cfengine0_";

/// Why a case was not compared.
#[derive(Debug)]
pub enum Outcome {
    Pass,
    Fail(String),
    Skip(String),
    /// Failed, but the case uses YAQL and the YAQL engine is not available in this build.
    Blocked(String),
}

fn yaql_available() -> bool {
    let ev = crate::expr::Evaluator::new();
    ev.evaluate_str("<% 1 %>", &json!({"a": 1}), &crate::expr::NoData)
        .is_ok()
}

fn lines(v: &Value) -> String {
    match v {
        Value::Array(items) => {
            let mut t = items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("\n");
            t.push('\n');
            t
        }
        Value::String(s) => s.clone(),
        _ => String::new(),
    }
}

fn load_catalog(case: &Value) -> Result<SimCatalog, String> {
    let mut cat = SimCatalog::default();
    for d in case
        .get("definitions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let text = lines(d.get("text").unwrap_or(&Value::Null)).replace("@P@", PREFIX);
        match d.get("kind").and_then(Value::as_str) {
            Some("workflows") => {
                for wf in crate::lang::parse_workflows(&text).map_err(|e| e.message)? {
                    cat.workflows
                        .insert(wf.name.clone(), WorkflowDef::from_lang(&wf));
                }
            }
            Some("workbook") => {
                let wb = crate::lang::parse_workbook(&text).map_err(|e| e.message)?;
                for wf in &wb.workflows {
                    cat.workflows
                        .insert(wf.name.clone(), WorkflowDef::from_lang(wf));
                }
                for a in &wb.actions {
                    cat.actions.insert(a.name.clone(), AdHocDef::from_lang(a));
                }
            }
            Some("actions") => {
                for a in crate::lang::parse_actions(&text).map_err(|e| e.message)? {
                    cat.actions.insert(a.name.clone(), AdHocDef::from_lang(&a));
                }
            }
            _ => return Err("unknown definition kind".into()),
        }
    }
    Ok(cat)
}

fn prefixed(v: &Value) -> Value {
    serde_json::from_str(
        &serde_json::to_string(v)
            .unwrap_or_default()
            .replace("@P@", PREFIX),
    )
    .unwrap_or(Value::Null)
}

fn normalize(v: Value) -> Value {
    let uuid =
        Regex::new(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
            .unwrap();
    // Python object addresses, as run.py normalises them.
    let addr = Regex::new(r"\b0x[0-9a-fA-F]{6,}\b").unwrap();
    fn walk(v: Value, uuid: &Regex, addr: &Regex) -> Value {
        match v {
            Value::String(s) => {
                let s = uuid
                    .replace_all(&s.replace(PREFIX, "@P@"), "<uuid>")
                    .into_owned();
                Value::String(addr.replace_all(&s, "0x<addr>").into_owned())
            }
            Value::Array(a) => Value::Array(a.into_iter().map(|x| walk(x, uuid, addr)).collect()),
            Value::Object(m) => Value::Object(
                m.into_iter()
                    .map(|(k, x)| (k.replace(PREFIX, "@P@"), walk(x, uuid, addr)))
                    .collect(),
            ),
            other => other,
        }
    }
    walk(v, &uuid, &addr)
}

fn observe(sim: &Simulator, st: &WorkflowState) -> Value {
    let mut tasks: Vec<Value> = st
        .tasks
        .iter()
        .map(|t| {
            json!({
                "name": t.name,
                "type": t.task_type.as_str(),
                "state": t.state.as_str(),
                "state_info": t.state_info,
                "published": t.published,
                "result": st.task_result(&t.id),
                "actions": st.children_of(&t.id).count(),
                "retry_no": t
                    .runtime_context
                    .get("retry_task_policy")
                    .and_then(|r| r.get("retry_no"))
                    .cloned()
                    .unwrap_or(json!(0)),
                "executions": st
                    .children_of(&t.id)
                    .filter(|a| a.kind == super::state::ChildKind::Workflow)
                    .filter_map(|a| sim.state(&a.id))
                    .map(|c| observe(sim, c))
                    .collect::<Vec<_>>(),
            })
        })
        .map(normalize)
        .collect();
    tasks.sort_by_key(|t| (t["name"].as_str().unwrap_or("").to_string(), t.to_string()));
    normalize(json!({
        "state": st.execution.state.as_str(),
        "state_info": st.execution.state_info,
        "input": st.execution.input,
        "output": st.execution.output.clone().unwrap_or(Value::Null),
        "params": st.execution.params,
        "tasks": tasks,
    }))
}

fn apply_ignore(v: &mut Value, path: &[&str]) {
    let Some((head, rest)) = path.split_first() else {
        return;
    };
    match v {
        Value::Object(m) => {
            if rest.is_empty() {
                if *head == "*" {
                    m.clear();
                } else {
                    m.shift_remove(*head);
                }
            } else if *head == "*" {
                for x in m.values_mut() {
                    apply_ignore(x, rest);
                }
            } else if let Some(x) = m.get_mut(*head) {
                apply_ignore(x, rest);
            }
        }
        Value::Array(a) if *head == "*" => {
            for x in a.iter_mut() {
                if rest.is_empty() {
                    *x = Value::Null;
                } else {
                    apply_ignore(x, rest);
                }
            }
        }
        _ => {}
    }
}

fn diff(path: &str, want: &Value, got: &Value, out: &mut Vec<String>) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                diff(
                    &format!("{path}.{k}"),
                    wv,
                    g.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(w), Value::Array(g)) if w.len() == g.len() => {
            for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                diff(&format!("{path}[{i}]"), wv, gv, out);
            }
        }
        _ => {
            let eq = match (want, got) {
                (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
                _ => want == got,
            };
            if !eq {
                out.push(format!("{path}: expected {want}, got {got}"));
            }
        }
    }
}

const UNSUPPORTED_FEATURES: [&str; 1] = ["http"];

pub fn run_case(case: &Value) -> Outcome {
    let features: Vec<&str> = case
        .get("features")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if let Some(f) = features.iter().find(|f| UNSUPPORTED_FEATURES.contains(f)) {
        return Outcome::Skip(format!("feature {f} not in this round"));
    }
    let Some(exec) = case.get("execution") else {
        return Outcome::Skip("upload-only case".into());
    };
    let expected = case.get("expected").cloned().unwrap_or(Value::Null);
    if expected.get("upload_error").is_some() {
        return Outcome::Skip("upload error case".into());
    }
    let catalog = match load_catalog(case) {
        Ok(c) => c,
        Err(e) => return Outcome::Skip(format!("definitions did not load: {e}")),
    };
    let mut sim = Simulator::new(catalog, Box::new(ExprAdapter::default()));
    let wf = exec
        .get("workflow")
        .and_then(Value::as_str)
        .unwrap_or("")
        .replace("@P@", PREFIX);
    let input = prefixed(exec.get("input").unwrap_or(&json!({})))
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut params = prefixed(exec.get("params").unwrap_or(&json!({})))
        .as_object()
        .cloned()
        .unwrap_or_default();
    if let (Some(Value::String(env_name)), Some(env)) =
        (params.get("env").cloned(), case.get("environment"))
    {
        if env
            .get("name")
            .and_then(Value::as_str)
            .map(|n| n.replace("@P@", PREFIX))
            == Some(env_name.clone())
        {
            params.insert(
                "env".into(),
                prefixed(env.get("variables").unwrap_or(&json!({}))),
            );
        } else {
            params.insert("env".into(), Value::Null);
            return Outcome::Skip("named environment lookup".into());
        }
    }
    let id = match sim.start(&wf, input, params) {
        Ok(id) => id,
        Err(e) => {
            let Some(se) = expected.get("start_error") else {
                return Outcome::Fail(format!("start failed: {e}"));
            };
            let want = se.get("faultstring").and_then(Value::as_str).unwrap_or("");
            let got = normalize(Value::String(e.to_string()));
            return if got.as_str() == Some(want) {
                Outcome::Pass
            } else if let Some(m) = case.get("error_match").and_then(Value::as_str) {
                if got.as_str().unwrap_or("").contains(m) {
                    Outcome::Pass
                } else {
                    Outcome::Fail(format!("start error: expected {want:?}, got {got}"))
                }
            } else {
                Outcome::Fail(format!("start error: expected {want:?}, got {got}"))
            };
        }
    };
    if expected.get("start_error").is_some() {
        return Outcome::Fail("start succeeded but upstream refused it".into());
    }
    let mut op_results: Vec<(u16, Option<Value>)> = Vec::new();
    for step in case
        .get("steps")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let target = |sim: &Simulator| -> String {
            match step.get("workflow").and_then(Value::as_str) {
                Some(w) => {
                    let w = w.replace("@P@", PREFIX);
                    sim.order
                        .iter()
                        .find(|e| sim.state(e).is_some_and(|s| s.execution.name == w))
                        .cloned()
                        .unwrap_or_default()
                }
                None => id.clone(),
            }
        };
        let op = step.get("op").and_then(Value::as_str).unwrap_or("");
        let t = target(&sim);
        let r = match op {
            // Observations only (the simulator runs every event to quiescence).
            "wait" | "sleep" | "actions" => Ok(()),
            "pause" => sim.send(&t, Event::Pause),
            "resume" => sim.send(
                &t,
                Event::Resume {
                    env: step
                        .get("env")
                        .and_then(|e| prefixed(e).as_object().cloned()),
                },
            ),
            "cancel" => sim.send(
                &t,
                Event::Cancel {
                    state_info: step
                        .get("state_info")
                        .and_then(Value::as_str)
                        .map(String::from),
                },
            ),
            "set_state" => {
                let state = step
                    .get("state")
                    .and_then(Value::as_str)
                    .and_then(State::parse)
                    .unwrap_or(State::Running);
                let info = step
                    .get("state_info")
                    .and_then(Value::as_str)
                    .map(String::from);
                let ev = match state {
                    State::Paused => Event::Pause,
                    State::Running => Event::Resume { env: None },
                    State::Cancelled => Event::Cancel { state_info: info },
                    s => Event::ForceState {
                        state: s,
                        state_info: info,
                    },
                };
                sim.send(&t, ev)
            }
            "action_result" => {
                let task = step.get("task").and_then(Value::as_str).unwrap_or("");
                let count = step.get("count").and_then(Value::as_u64).unwrap_or(1) as usize;
                let out = prefixed(step.get("output").unwrap_or(&Value::Null));
                let out = match &out {
                    Value::String(s) => serde_json::from_str(s).unwrap_or(out.clone()),
                    _ => out,
                };
                let result = out.get("result").cloned().unwrap_or(out.clone());
                let state = step
                    .get("state")
                    .and_then(Value::as_str)
                    .unwrap_or("SUCCESS");
                let exs: Vec<String> = sim.order.clone();
                let mut ids = Vec::new();
                for e in exs {
                    ids.extend(sim.running_actions(&e, task));
                }
                for aid in ids.into_iter().take(count) {
                    let outcome = match state {
                        "ERROR" => ActionOutcome::Error(result.clone()),
                        "CANCELLED" => ActionOutcome::Cancelled(result.clone()),
                        _ => ActionOutcome::Success(result.clone()),
                    };
                    let _ = sim.complete_async(&aid, outcome);
                }
                Ok(())
            }
            "rerun" | "skip" => {
                let task = step.get("task").and_then(Value::as_str).unwrap_or("");
                let tid = sim
                    .state(&t)
                    .and_then(|st| st.tasks.iter().rev().find(|x| x.name == task))
                    .map(|x| x.id.clone())
                    .unwrap_or_default();
                // The API refuses when a parent workflow cannot run again.
                let mut parents = Vec::new();
                let mut cur = sim.state(&t);
                while let Some(ptask) = cur.and_then(|s| s.execution.task_execution_id.clone()) {
                    let parent = sim
                        .executions
                        .values()
                        .find(|p| p.task_by_id(&ptask).is_some());
                    if let Some(p) = parent {
                        parents.push((
                            p.execution.state,
                            p.execution.name.clone(),
                            p.execution.id.clone(),
                        ));
                    }
                    cur = parent;
                }
                let refused = super::controller::rerun_refused_by_parent(
                    parents.iter().map(|(s, n, i)| (*s, n.as_str(), i.as_str())),
                );
                if let Some(msg) = refused {
                    op_results.push((400, Some(normalize(Value::String(msg)))));
                    continue;
                }
                let ev = if op == "skip" {
                    Event::SkipTask {
                        task_execution_id: tid,
                        env: step
                            .get("env")
                            .and_then(|e| prefixed(e).as_object().cloned()),
                    }
                } else {
                    Event::RerunTask {
                        task_execution_id: tid,
                        reset: step.get("reset").and_then(Value::as_bool),
                        env: step
                            .get("env")
                            .and_then(|e| prefixed(e).as_object().cloned()),
                    }
                };
                sim.send(&t, ev)
            }
            "update" => match step
                .get("env")
                .and_then(|e| prefixed(e).as_object().cloned())
            {
                Some(env) => sim.send(&t, Event::UpdateEnv { env }),
                None => Ok(()),
            },
            other => return Outcome::Skip(format!("step {other} not simulated")),
        };
        op_results.push(match r {
            Ok(()) => (200u16, None),
            Err(e) => {
                let status = match e {
                    EngineError::NotAllowed(_) => 403,
                    _ => 400,
                };
                (status, Some(normalize(Value::String(e.to_string()))))
            }
        });
    }
    let Some(st) = sim.state(&id) else {
        return Outcome::Fail("execution vanished".into());
    };
    let mut got = observe(&sim, st);
    let mut want = expected.clone();
    if let Some(w) = want.as_object_mut() {
        for k in [
            "ops",
            "steps",
            "subworkflows",
            "actions",
            "params",
            "published_global",
            "retry",
        ] {
            w.shift_remove(k);
        }
    }
    if let Some(Value::Array(tasks)) = want.get_mut("tasks") {
        for t in tasks.iter_mut() {
            if let Some(m) = t.as_object_mut() {
                m.shift_remove("action_executions");
            }
        }
    }
    for ig in case
        .get("ignore")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let path: Vec<&str> = ig.split('.').collect();
        apply_ignore(&mut want, &path);
        apply_ignore(&mut got, &path);
    }
    let mut problems = Vec::new();
    // Step outcomes (status and error text) for the operations upstream answered.
    let ops = expected
        .get("ops")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (i, (op, (status, err))) in ops.iter().zip(op_results.iter()).enumerate() {
        if let Some(want) = op.get("status").and_then(Value::as_u64) {
            if want != u64::from(*status) {
                problems.push(format!("ops[{i}].status: expected {want}, got {status}"));
            }
            if let Some(we) = op.get("error") {
                if Some(we) != err.as_ref() {
                    problems.push(format!("ops[{i}].error: expected {we}, got {err:?}"));
                }
            }
        }
    }
    if want.get("tasks").and_then(Value::as_array).map(Vec::len)
        != got.get("tasks").and_then(Value::as_array).map(Vec::len)
    {
        let names = |v: &Value| -> Vec<String> {
            v.get("tasks")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|t| format!("{}:{}", t["name"], t["state"]))
                .collect()
        };
        problems.push(format!(
            "tasks: expected {:?}, got {:?}",
            names(&want),
            names(&got)
        ));
        if let Some(w) = want.as_object_mut() {
            w.shift_remove("tasks");
        }
    }
    diff("", &want, &got, &mut problems);
    if problems.is_empty() {
        Outcome::Pass
    } else {
        Outcome::Fail(problems.join("; "))
    }
}

/// Runs every case; returns (name, features, outcome).
pub fn run_all(dir: &Path) -> Vec<(String, Vec<String>, Outcome)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    let only = std::env::var("ENGINE_CASES").ok();
    let yaql = yaql_available();
    let mut out = Vec::new();
    for f in files {
        if f.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        let Ok(case) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let name = case
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        if let Some(o) = &only {
            if !o.split(',').any(|x| x == name) {
                continue;
            }
        }
        let features = case
            .get("features")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(String::from))
            .collect();
        let outcome =
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_case(&case))) {
                Ok(o) => o,
                Err(_) => Outcome::Fail("panicked".into()),
            };
        let outcome = match outcome {
            Outcome::Fail(why) if !yaql && text.contains("<%") => Outcome::Blocked(why),
            other => other,
        };
        out.push((name, features, outcome));
    }
    out
}

/// Summary lines: totals and per-feature counts.
pub fn summary(results: &[(String, Vec<String>, Outcome)]) -> (usize, usize, usize, String) {
    let (mut p, mut f, mut s, mut b) = (0, 0, 0, 0);
    let mut by: BTreeMap<String, (usize, usize, usize, usize)> = BTreeMap::new();
    let mut text = String::new();
    for (name, feats, o) in results {
        let slot = match o {
            Outcome::Pass => {
                p += 1;
                0
            }
            Outcome::Fail(why) => {
                f += 1;
                text.push_str(&format!("FAIL {name}: {why}\n"));
                1
            }
            Outcome::Blocked(why) => {
                b += 1;
                if std::env::var("ENGINE_CASES_VERBOSE").is_ok() {
                    text.push_str(&format!("BLOCKED {name}: {why}\n"));
                }
                3
            }
            Outcome::Skip(why) => {
                s += 1;
                if std::env::var("ENGINE_CASES_VERBOSE").is_ok() {
                    text.push_str(&format!("SKIP {name}: {why}\n"));
                }
                2
            }
        };
        for ft in feats {
            let e = by.entry(ft.clone()).or_default();
            match slot {
                0 => e.0 += 1,
                1 => e.1 += 1,
                2 => e.2 += 1,
                _ => e.3 += 1,
            }
        }
    }
    for (ft, (pa, fa, sk, bl)) in &by {
        text.push_str(&format!(
            "{ft:16} pass {pa:3} fail {fa:3} skip {sk:3} blocked-on-yaql {bl:3}\n"
        ));
    }
    text.push_str(&format!(
        "conformance: {p} passed, {f} failed, {s} skipped, {b} blocked on the YAQL engine\n"
    ));
    (p, f, s, text)
}

#[test]
fn conformance_cases_replay_through_the_simulator() {
    let dir = Path::new(CASES);
    if !dir.is_dir() {
        eprintln!("conformance cases not found at {CASES}; skipped");
        return;
    }
    let results = run_all(dir);
    let (passed, _failed, _skipped, text) = summary(&results);
    eprintln!("{text}");
    let floor: usize = std::env::var("ENGINE_CONFORMANCE_FLOOR")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(MIN_PASSING);
    assert!(
        passed >= floor,
        "only {passed} conformance cases pass (floor {floor})"
    );
}

/// Cases known to pass; raise it as the engine grows so regressions fail the test.
const MIN_PASSING: usize = 295;
