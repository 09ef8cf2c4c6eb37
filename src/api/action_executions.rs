//! `/v2/action_executions` (api.md 2.6): action executions of workflow tasks (from the index
//! the engine shell keeps) and stand-alone action executions run through the API.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use super::collection::{CollectionDef, ListRequest};
use super::error::{ApiError, JSON};
use super::jsonbody::{json_dict_attr, read_object, text_attr};
use super::params::Query;
use super::{app_url, caller, json_response, stored_json, ts_value, AppState};
use crate::db::executions::{self as store, ActionRow, ACTION_EXECUTIONS};
use crate::db::{new_id, now, DbError};
use crate::engine::shell::ApiAction;
use crate::engine::{ActionOutcome, Event};
use crate::executor::system_action;

pub const FIELDS: &[&str] = &[
    "id",
    "workflow_name",
    "workflow_namespace",
    "task_execution_id",
    "task_name",
    "state",
    "state_info",
    "tags",
    "name",
    "description",
    "project_id",
    "accepted",
    "input",
    "output",
    "params",
    "created_at",
    "updated_at",
];

pub const COLLECTION: CollectionDef = CollectionDef {
    name: "action_executions",
    filters: &[
        "created_at",
        "name",
        "tags",
        "updated_at",
        "workflow_name",
        "task_name",
        "task_execution_id",
        "state",
        "state_info",
        "accepted",
        "input",
        "output",
        "params",
        "description",
    ],
    extra_args: &["include_output"],
    fields: FIELDS,
    default_sort_key: "created_at",
};

fn str_json(text: &Option<String>) -> Value {
    match stored_json(text) {
        Value::Null => Value::Null,
        v => Value::String(super::pyjson::dumps(&v)),
    }
}

/// The ActionExecution resource.
pub fn to_json(a: &ActionRow, with_output: bool) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(a.id));
    m.insert("workflow_name".into(), json!(a.workflow_name));
    m.insert("workflow_namespace".into(), json!(a.workflow_namespace));
    m.insert("task_execution_id".into(), json!(a.task_execution_id));
    m.insert("state".into(), json!(a.state));
    m.insert("state_info".into(), json!(a.state_info));
    m.insert("tags".into(), stored_json(&a.tags));
    m.insert("name".into(), json!(a.name));
    m.insert("description".into(), json!(a.description));
    m.insert("project_id".into(), json!(a.project_id));
    m.insert("accepted".into(), json!(a.accepted));
    m.insert("input".into(), str_json(&a.input));
    if with_output {
        m.insert("output".into(), str_json(&a.output));
    }
    m.insert("created_at".into(), ts_value(&Some(a.created_at)));
    m.insert("updated_at".into(), ts_value(&a.updated_at));
    m
}

pub async fn get_one(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    let fields = super::collection::single_get_fields(raw.as_deref(), FIELDS)?;
    let vis = c.visibility();
    let a = st
        .db
        .read(move |conn| store::get_action_execution(conn, vis.as_deref(), &id))
        .await?;
    let mut m = to_json(&a, true);
    if !fields.is_empty() {
        m.retain(|k, _| fields.iter().any(|f| f == k));
    }
    Ok(json_response(StatusCode::OK, &Value::Object(m), JSON))
}

async fn list_impl(
    st: AppState,
    headers: HeaderMap,
    raw: Option<String>,
    task: Option<String>,
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    let q = Query::parse(raw.as_deref());
    let mut req = ListRequest::parse(&q, &COLLECTION, st.settings.api.max_limit)?;
    q.uuid("task_execution_id")?;
    for f in ["input", "output"] {
        if let Some(f) = super::collection::json_typed_filter(&q, f)? {
            req = req.with_filter(f);
        }
    }
    let vis = c.visibility();
    if let Some(t) = task {
        let (v, tid) = (vis.clone(), t.clone());
        st.db
            .read(move |conn| store::get_task(conn, v.as_deref(), &tid))
            .await?;
        req = req.with_filter(crate::db::list::Filter::eq("task_execution_id", &t));
    }
    if let Some(m) = req.marker.clone() {
        let v = vis.clone();
        st.db
            .read(move |conn| store::get_action_execution(conn, v.as_deref(), &m))
            .await?;
    }
    let include_output = q.flag("include_output");
    let mut spec = req.to_spec(vis);
    if spec.sort.first().is_some_and(|(k, _)| k == "created_at") {
        spec.sort
            .insert(1, ("seq".into(), crate::db::list::SortDir::Asc));
    }
    let rows: Vec<ActionRow> = st
        .db
        .read(move |conn| crate::db::list::list(conn, &ACTION_EXECUTIONS, &spec))
        .await?;
    let items = rows
        .iter()
        .map(|r| req.project(to_json(r, include_output)))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &req.envelope(&app_url(&headers), &COLLECTION, items),
        JSON,
    ))
}

pub async fn list(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    list_impl(st, headers, raw, None).await
}

pub async fn list_of_task(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    list_impl(st, headers, raw, Some(id)).await
}

/// A posted `output` as a value: objects/lists as given, strings parsed as JSON when they are.
fn output_value(map: &Map<String, Value>) -> Option<Value> {
    match map.get("output") {
        None => None,
        Some(Value::String(s)) => Some(serde_json::from_str(s).unwrap_or(Value::String(s.clone()))),
        Some(v) => Some(v.clone()),
    }
}

/// `PUT /action_executions/{id}`: the result of an asynchronous action (or a state change).
pub async fn update(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    let vis = c.visibility();
    let map = read_object(&st, &headers, body, "action_ex", FIELDS).await?;
    let (v, i) = (vis.clone(), id.clone());
    let a = st
        .db
        .read(move |conn| store::get_action_execution(conn, v.as_deref(), &i))
        .await?;
    let state = text_attr(&map, "state")?;
    const ALLOWED: [&str; 5] = ["SUCCESS", "ERROR", "CANCELLED", "PAUSED", "RUNNING"];
    let state = match state {
        Some(s) if ALLOWED.contains(&s.as_str()) => Some(s),
        Some(s) => {
            return Err(ApiError::bad_request(format!(
                "Error. Expected one of ['SUCCESS', 'ERROR', 'CANCELLED', 'PAUSED', 'RUNNING'], actual: {s}"
            )))
        }
        None => None,
    };
    let output = output_value(&map);
    let outcome = match state.as_deref() {
        Some("SUCCESS") => Some(ActionOutcome::Success(
            output.clone().unwrap_or(Value::Null),
        )),
        Some("ERROR") => Some(ActionOutcome::Error(
            output
                .clone()
                .filter(|v| !v.is_null())
                .unwrap_or_else(|| json!("Unknown error")),
        )),
        Some("CANCELLED") => Some(ActionOutcome::Cancelled(
            output.clone().unwrap_or(Value::Null),
        )),
        _ => None,
    };
    if let Some(outcome) = outcome {
        if matches!(a.state.as_str(), "SUCCESS" | "ERROR" | "CANCELLED") {
            return Err(ApiError::internal(format!(
                "Action execution is already completed [id={id}, state={}]",
                a.state
            )));
        }
        match &a.workflow_execution_id {
            Some(wf) => {
                st.engine
                    .command(
                        wf,
                        Event::ActionCompleted {
                            action_execution_id: a.id.clone(),
                            outcome,
                        },
                    )
                    .await?;
            }
            None => {
                let mut row = a.clone();
                let (state, result) = match outcome {
                    ActionOutcome::Success(v) => ("SUCCESS", v),
                    ActionOutcome::Error(v) => ("ERROR", v),
                    ActionOutcome::Cancelled(v) => ("CANCELLED", v),
                };
                row.state = state.into();
                row.output =
                    Some(serde_json::to_string(&json!({ "result": result })).unwrap_or_default());
                row.updated_at = Some(now());
                st.db
                    .write(move |conn| store::save_action_execution(conn, &row))
                    .await?;
            }
        }
    }
    let a = st
        .db
        .read(move |conn| store::get_action_execution(conn, vis.as_deref(), &id))
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &Value::Object(to_json(&a, true)),
        JSON,
    ))
}

/// `POST /action_executions`: runs a std action directly (inline, or stored and scheduled).
pub async fn create(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    let map = read_object(&st, &headers, body, "action_ex", FIELDS).await?;
    let Some(name) = text_attr(&map, "name")?.filter(|n| !n.is_empty()) else {
        return Err(ApiError::bad_request(
            "Please provide at least action name to run action.",
        ));
    };
    let input = json_dict_attr(&map, "input", "action_ex")?.unwrap_or_default();
    let params = json_dict_attr(&map, "params", "action_ex")?.unwrap_or_default();
    let description = text_attr(&map, "description")?;
    let namespace = text_attr(&map, "workflow_namespace")?.unwrap_or_default();
    // An ad-hoc action runs its system base action with the evaluated base-input; it is
    // recorded under its own name with its own input (declared defaults applied).
    let (vis, nm, ns, inp) = (
        c.visibility(),
        name.clone(),
        namespace.clone(),
        input.clone(),
    );
    let engine = st.engine.clone();
    let found = st
        .db
        .read(move |conn| Ok(engine.api_action(conn, vis, &nm, &ns, &inp)))
        .await?;
    let mut input = input;
    let (base, mut full, transforms) = match found {
        ApiAction::NotFound => {
            return Err(ApiError::bad_request(format!(
                "Failed to find action [action_name={name}]"
            )))
        }
        ApiAction::System => (name.clone(), input.clone(), Vec::new()),
        ApiAction::AdHoc(_, Err(msg)) => return Err(ApiError::bad_request(msg)),
        ApiAction::AdHoc(ad, Ok((base, base_input, transforms, _))) => {
            for d in &ad.input {
                if !input.contains_key(&d.name) {
                    input.insert(d.name.clone(), d.default.clone().unwrap_or(Value::Null));
                }
            }
            (base, base_input, transforms)
        }
    };
    let adhoc = base != name;
    let Some(action) = system_action(&base) else {
        return Err(ApiError::bad_request(format!(
            "Failed to find action [action_name={name}]"
        )));
    };
    if !adhoc {
        // Signature check (defaults applied); the expansion checked an ad-hoc chain.
        let declared: Vec<&str> = action.params.iter().map(|p| p.name.as_str()).collect();
        let missing: Vec<String> = action
            .params
            .iter()
            .filter(|p| p.default.is_none() && !input.contains_key(&p.name))
            .map(|p| format!("'{}'", p.name))
            .collect();
        let unexpected: Vec<String> = input
            .keys()
            .filter(|k| !action.open_params && !declared.contains(&k.as_str()))
            .map(|k| format!("'{k}'"))
            .collect();
        if !missing.is_empty() || !unexpected.is_empty() {
            let mut msg = format!("Invalid input [name={name}, class={}", action.class);
            if !missing.is_empty() {
                msg.push_str(&format!(", missing=[{}]", missing.join(", ")));
            }
            if !unexpected.is_empty() {
                msg.push_str(&format!(", unexpected=[{}]", unexpected.join(", ")));
            }
            msg.push(']');
            return Err(ApiError::bad_request(msg));
        }
    }
    // A Python class applies its own defaults; it gets the input as given.
    let defaults = if crate::executor::python::is_python_action(&base) {
        &[][..]
    } else {
        &action.params[..]
    };
    for p in defaults {
        if !full.contains_key(&p.name) {
            full.insert(p.name.clone(), p.default.clone().unwrap_or(Value::Null));
        }
    }
    let flag = |k: &str| params.get(k).is_some_and(crate::engine::util::truthy);
    let run_sync = flag("run_sync");
    let save_result = flag("save_result");
    if run_sync && !action.is_sync {
        return Err(ApiError::bad_request(
            "Action does not support synchronous execution.",
        ));
    }
    let input_text = serde_json::to_string(&Value::Object(input.clone())).unwrap_or_default();
    let mut row = ActionRow {
        id: new_id(),
        name: name.clone(),
        workflow_name: None,
        workflow_namespace: namespace.clone(),
        task_name: None,
        task_execution_id: None,
        workflow_execution_id: None,
        description: description.clone().unwrap_or_default(),
        tags: None,
        state: "RUNNING".into(),
        state_info: None,
        accepted: false,
        input: Some(input_text),
        output: None,
        params: Some(serde_json::to_string(&Value::Object(params.clone())).unwrap_or_default()),
        project_id: c.project_id.clone(),
        scope: "private".into(),
        seq: 0,
        created_at: now(),
        updated_at: None,
    };
    let full_v = Value::Object(full);
    if !run_sync && (save_result || !action.is_sync) {
        let stored = row.clone();
        st.db
            .write(move |conn| store::save_action_execution(conn, &stored))
            .await?;
        let resp = to_json(&row, true);
        if action.is_sync {
            let db = st.db.clone();
            let (aid, nm) = (row.id.clone(), base.clone());
            let evaluator = st.engine.evaluator();
            tokio::spawn(async move {
                if let Some(out) = crate::executor::execute(&nm, &full_v, &aid).await {
                    // Only a stored asynchronous run gets the ad-hoc output transforms
                    // (upstream's result handling); a synchronous one returns the raw result.
                    let out = apply_transforms(&evaluator, &transforms, out, adhoc);
                    let _ = db
                        .write(move |conn| {
                            let mut r = store::get_action_execution(conn, None, &aid)?;
                            if r.state != "RUNNING" {
                                return Ok::<(), DbError>(());
                            }
                            finish(&mut r, out);
                            store::save_action_execution(conn, &r)
                        })
                        .await;
                }
            });
        }
        return Ok(json_response(
            StatusCode::CREATED,
            &Value::Object(resp),
            JSON,
        ));
    }
    // An unsaved run has no action execution: a Python action sees no id (as upstream).
    let exec_id = if save_result || !crate::executor::python::is_python_action(&base) {
        row.id.as_str()
    } else {
        ""
    };
    let out = crate::executor::execute(&base, &full_v, exec_id)
        .await
        .unwrap_or(ActionOutcome::Success(Value::Null));
    let out = apply_transforms(&st.engine.evaluator(), &[], out, adhoc);
    let out = if save_result {
        out
    } else {
        unsaved_error(out, exec_id)
    };
    finish(&mut row, out);
    if save_result {
        let stored = row.clone();
        st.db
            .write(move |conn| store::save_action_execution(conn, &stored))
            .await?;
        return Ok(json_response(
            StatusCode::CREATED,
            &Value::Object(to_json(&row, true)),
            JSON,
        ));
    }
    let mut m = to_json(&row, true);
    for k in [
        "id",
        "project_id",
        "accepted",
        "created_at",
        "updated_at",
        "workflow_name",
        "task_execution_id",
        "tags",
    ] {
        m.insert(k.into(), Value::Null);
    }
    m.insert("description".into(), json!(description));
    Ok(json_response(StatusCode::CREATED, &Value::Object(m), JSON))
}

/// Output transforms (innermost first) of an ad-hoc run; an error of its base action names
/// upstream's `AdHocAction` object, as upstream's executor wraps the base action.
fn apply_transforms(
    evaluator: &crate::expr::Evaluator,
    transforms: &[Value],
    out: ActionOutcome,
    adhoc: bool,
) -> ActionOutcome {
    match out {
        ActionOutcome::Success(mut data) => {
            for tr in transforms {
                match evaluator.evaluate_view(tr, &data, &crate::expr::NoData) {
                    Ok(v) => data = v,
                    Err(e) => return ActionOutcome::Error(Value::String(e.message)),
                }
            }
            ActionOutcome::Success(data)
        }
        ActionOutcome::Error(Value::String(msg)) if adhoc => {
            ActionOutcome::Error(Value::String(adhoc_object(&msg)))
        }
        other => other,
    }
}

/// Upstream's executor wraps an ad-hoc action's base in an `AdHocAction`, whose default
/// `repr` its error text shows in place of the base action's.
fn adhoc_object(msg: &str) -> String {
    const FROM: &str = "[action=";
    const TO: &str = ", action_ex_id=";
    let (Some(i), Some(j)) = (msg.find(FROM), msg.find(TO)) else {
        return msg.to_string();
    };
    if j < i {
        return msg.to_string();
    }
    // A stable stand-in for the object address Python prints.
    let addr = msg.bytes().fold(0x7f00_0000_0000u64, |h, b| {
        (h.wrapping_mul(31).wrapping_add(b as u64) & 0xffff_ffff_fff0) | 0x7f00_0000_0000
    });
    format!(
        "{}<mistral.actions.adhoc.AdHocAction object at {addr:#x}>{}",
        &msg[..i + FROM.len()],
        &msg[j..]
    )
}

/// An unsaved run has no action execution: its error text says `action_ex_id=None`.
fn unsaved_error(out: ActionOutcome, exec_id: &str) -> ActionOutcome {
    match out {
        ActionOutcome::Error(Value::String(msg)) => ActionOutcome::Error(Value::String(
            msg.replacen(&format!("action_ex_id={exec_id},"), "action_ex_id=None,", 1),
        )),
        other => other,
    }
}

fn finish(row: &mut ActionRow, out: ActionOutcome) {
    let (state, result) = match out {
        ActionOutcome::Success(v) => ("SUCCESS", v),
        ActionOutcome::Error(v) => ("ERROR", v),
        ActionOutcome::Cancelled(v) => ("CANCELLED", v),
    };
    row.state = state.into();
    row.accepted = true;
    row.output = Some(serde_json::to_string(&json!({ "result": result })).unwrap_or_default());
    row.updated_at = Some(now());
}

/// `DELETE /action_executions/{id}` (needs `[api] allow_action_execution_deletion`).
pub async fn delete(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    if !st.settings.api.allow_action_execution_deletion {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "Action execution deletion is not allowed.",
        ));
    }
    let vis = c.visibility();
    st.db
        .write(move |conn| {
            let a = store::get_action_execution(conn, vis.as_deref(), &id)?;
            if a.task_execution_id.is_some() {
                return Err(DbError::Forbidden(
                    "Only ad-hoc action execution can be deleted.".into(),
                ));
            }
            if !matches!(a.state.as_str(), "SUCCESS" | "ERROR" | "CANCELLED") {
                return Err(DbError::Forbidden(
                    "Only completed action execution can be deleted.".into(),
                ));
            }
            store::delete_action_execution(conn, &id)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
