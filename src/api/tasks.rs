//! `/v2/tasks` (api.md 2.5): task executions, read from the index the engine shell keeps.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::collection::{CollectionDef, ListRequest};
use super::error::{ApiError, JSON};
use super::jsonbody::{json_dict_attr, read_object, text_attr};
use super::params::Query;
use super::{app_url, caller, json_response, stored_json, ts_value, AppState};
use crate::db::executions::{self as store, TaskRow, TASKS};
use crate::engine::shell::load_state;
use crate::engine::Event;

pub const FIELDS: &[&str] = &[
    "id",
    "name",
    "type",
    "workflow_name",
    "workflow_namespace",
    "workflow_id",
    "workflow_execution_id",
    "tags",
    "state",
    "state_info",
    "project_id",
    "runtime_context",
    "result",
    "published",
    "published_global",
    "processed",
    "created_at",
    "updated_at",
    "started_at",
    "finished_at",
    "reset",
    "env",
];

pub const COLLECTION: CollectionDef = CollectionDef {
    name: "tasks",
    filters: &[
        "created_at",
        "workflow_name",
        "workflow_id",
        "tags",
        "state",
        "state_info",
        "updated_at",
        "name",
        "workflow_execution_id",
        "result",
        "published",
        "processed",
        "reset",
        "env",
    ],
    extra_args: &[],
    fields: FIELDS,
    default_sort_key: "created_at",
};

fn str_json(text: &Option<String>) -> Value {
    match stored_json(text) {
        Value::Null => Value::Null,
        v => Value::String(super::pyjson::dumps(&v)),
    }
}

/// The Task resource without `result` (lists).
pub fn to_json(t: &TaskRow) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(t.id));
    m.insert("name".into(), json!(t.name));
    m.insert("type".into(), json!(t.task_type));
    m.insert("workflow_name".into(), json!(t.workflow_name));
    m.insert("workflow_namespace".into(), json!(t.workflow_namespace));
    m.insert("workflow_id".into(), json!(t.workflow_id));
    m.insert(
        "workflow_execution_id".into(),
        json!(t.workflow_execution_id),
    );
    m.insert("tags".into(), stored_json(&t.tags));
    m.insert("state".into(), json!(t.state));
    m.insert("state_info".into(), json!(t.state_info));
    m.insert("project_id".into(), json!(t.project_id));
    m.insert("runtime_context".into(), str_json(&t.runtime_context));
    m.insert("published".into(), str_json(&t.published));
    m.insert("processed".into(), json!(t.processed));
    m.insert("created_at".into(), ts_value(&Some(t.created_at)));
    m.insert("updated_at".into(), ts_value(&t.updated_at));
    m.insert("started_at".into(), ts_value(&t.started_at));
    m.insert("finished_at".into(), ts_value(&t.finished_at));
    m
}

/// The full Task resource (single GET / PUT): with `result` from the engine state.
async fn full_json(st: &AppState, t: TaskRow) -> Result<Map<String, Value>, ApiError> {
    let wf = t.workflow_execution_id.clone();
    let s = st
        .db
        .read(move |conn| {
            let row = store::get_execution(conn, None, &wf)?;
            load_state(conn, &row)
        })
        .await?;
    let mut m = to_json(&t);
    let result = s.task_result(&t.id);
    let mut out = Map::new();
    let global = crate::engine::controller::published_global(
        &crate::engine::exprs::ExprAdapter::default(),
        &s,
        &t.id,
    );
    for (k, v) in m {
        out.insert(k.clone(), v);
        if k == "published" {
            if let Some(g) = &global {
                out.insert(
                    "published_global".into(),
                    Value::String(super::pyjson::dumps(&Value::Object(g.clone()))),
                );
            }
        }
        if k == "runtime_context" {
            out.insert(
                "result".into(),
                Value::String(super::pyjson::dumps(&result)),
            );
        }
    }
    m = out;
    Ok(m)
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
    let t = st
        .db
        .read(move |conn| store::get_task(conn, vis.as_deref(), &id))
        .await?;
    let mut m = full_json(&st, t).await?;
    if !fields.is_empty() {
        m.retain(|k, _| fields.iter().any(|f| f == k));
    }
    Ok(json_response(StatusCode::OK, &Value::Object(m), JSON))
}

/// `GET /tasks` and `GET /executions/{id}/tasks` (with `execution` set).
async fn list_impl(
    st: AppState,
    headers: HeaderMap,
    raw: Option<String>,
    execution: Option<String>,
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    let q = Query::parse(raw.as_deref());
    let mut req = ListRequest::parse(&q, &COLLECTION, st.settings.api.max_limit)?;
    for u in ["workflow_id", "workflow_execution_id"] {
        q.uuid(u)?;
    }
    if let Some(f) = super::collection::json_typed_filter(&q, "published")? {
        req = req.with_filter(f);
    }
    let vis = c.visibility();
    if let Some(ex) = execution {
        if !super::params::is_uuid_like(&ex) {
            return Err(ApiError::bad_request(format!(
                "Invalid input for field/attribute workflow_execution_id. Value: '{ex}'. Value should be UUID format"
            )));
        }
        let (v, e) = (vis.clone(), ex.clone());
        st.db
            .read(move |conn| store::get_execution(conn, v.as_deref(), &e))
            .await?;
        req = req.with_filter(crate::db::list::Filter::eq("workflow_execution_id", &ex));
        if !q.has("sort_keys") {
            req.sort_keys = vec!["created_at".into(), "id".into()];
            req.sort_dirs = vec!["asc".into(), "asc".into()];
        }
    }
    if let Some(m) = req.marker.clone() {
        let v = vis.clone();
        st.db
            .read(move |conn| store::get_task(conn, v.as_deref(), &m))
            .await?;
    }
    let mut spec = req.to_spec(vis);
    if spec.sort.first().is_some_and(|(k, _)| k == "created_at") {
        // Tasks created in the same second keep their creation order.
        spec.sort
            .insert(1, ("seq".into(), crate::db::list::SortDir::Asc));
    }
    let rows: Vec<TaskRow> = st
        .db
        .read(move |conn| crate::db::list::list(conn, &TASKS, &spec))
        .await?;
    let items = rows.iter().map(|r| req.project(to_json(r))).collect();
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

pub async fn list_of_execution(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    list_impl(st, headers, raw, Some(id)).await
}

/// The first ancestor of execution `id` that cannot go back to RUNNING, as upstream's
/// invalid-transition message.
fn parent_refusing_rerun(
    conn: &mut crate::db::DbConnection,
    id: &str,
) -> Result<Option<String>, crate::db::DbError> {
    let mut parents = Vec::new();
    let mut next = store::get_execution(conn, None, id)?.parent_execution_id;
    while let Some(pid) = next.filter(|_| parents.len() < 64) {
        let p = store::get_execution(conn, None, &pid)?;
        next = p.parent_execution_id.clone();
        if let Some(s) = crate::engine::State::parse(&p.state) {
            parents.push((s, p.workflow_name, p.id));
        }
    }
    Ok(crate::engine::controller::rerun_refused_by_parent(
        parents.iter().map(|(s, n, i)| (*s, n.as_str(), i.as_str())),
    ))
}

/// `PUT /tasks/{id}`: rerun (`state: RUNNING`) or skip (`state: SKIPPED`) an ERROR task.
pub async fn update(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    let vis = c.visibility();
    let map = read_object(&st, &headers, body, "task", FIELDS).await?;
    let (v, i) = (vis.clone(), id.clone());
    let t = st
        .db
        .read(move |conn| store::get_task(conn, v.as_deref(), &i))
        .await?;
    let state = text_attr(&map, "state")?;
    let env = json_dict_attr(&map, "env", "task")?;
    if let Some(n) = text_attr(&map, "name")? {
        if n != t.name {
            return Err(ApiError::bad_request("Task name does not match."));
        }
    }
    if let Some(n) = text_attr(&map, "workflow_name")? {
        if n != t.workflow_name {
            return Err(ApiError::bad_request("Workflow name does not match."));
        }
    }
    let event = match state.as_deref() {
        Some("RUNNING") | Some("SKIPPED") if t.state != "ERROR" => {
            return Err(ApiError::bad_request(
                "The current task execution must be in ERROR for rerun. Only updating task to rerun is supported.",
            ))
        }
        Some("RUNNING") => {
            let reset = match map.get("reset") {
                None | Some(Value::Null) => {
                    return Err(ApiError::bad_request("Reset field is mandatory to rerun task."))
                }
                Some(Value::Bool(b)) => *b,
                Some(Value::String(s)) => !matches!(s.to_ascii_lowercase().as_str(), "false" | "0" | "f" | "no" | "off" | "n"),
                Some(other) => super::pyjson::dumps(other) != "0",
            };
            Event::RerunTask {
                task_execution_id: t.id.clone(),
                reset: Some(reset),
                env: env.filter(|e| !e.is_empty()),
            }
        }
        Some("SKIPPED") => Event::SkipTask {
            task_execution_id: t.id.clone(),
            env: env.filter(|e| !e.is_empty()),
        },
        _ => {
            return Err(ApiError::bad_request(
                "Invalid task state. Only updating task to RUNNING or SKIPPED is supported.",
            ))
        }
    };
    // Upstream's rerun sets every parent workflow RUNNING again: a parent that already
    // succeeded (it handled the sub-workflow's failure) refuses, and nothing changes.
    let parent = t.workflow_execution_id.clone();
    if let Some(msg) = st
        .db
        .read(move |conn| parent_refusing_rerun(conn, &parent))
        .await?
    {
        return Err(ApiError::bad_request(msg));
    }
    st.engine.command(&t.workflow_execution_id, event).await?;
    let t = st
        .db
        .read(move |conn| store::get_task(conn, vis.as_deref(), &id))
        .await?;
    let m = full_json(&st, t).await?;
    Ok(json_response(StatusCode::OK, &Value::Object(m), JSON))
}
