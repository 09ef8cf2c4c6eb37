//! `/v2/executions` (api.md 2.4) and the task views of an execution.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use super::collection::{CollectionDef, ListRequest};
use super::error::{ApiError, JSON};
use super::jsonbody::{json_dict_attr, read_object, text_attr};
use super::params::Query;
use super::{app_url, caller, json_response, json_text_response, stored_json, ts_value, AppState};
use crate::db::definitions;
use crate::db::executions::{
    self as store, execution_list_select, ExecutionListRow, ExecutionRow, EXECUTIONS,
};
use crate::engine::shell::{load_state, load_state_without_records, StartOptions};
use crate::engine::{Event, State as ExState, WorkflowState};

pub const FIELDS: &[&str] = &[
    "id",
    "workflow_id",
    "workflow_name",
    "workflow_namespace",
    "description",
    "tags",
    "params",
    "task_execution_id",
    "root_execution_id",
    "state",
    "state_info",
    "input",
    "output",
    "created_at",
    "updated_at",
    "project_id",
];

pub const COLLECTION: CollectionDef = CollectionDef {
    name: "executions",
    filters: &[
        "created_at",
        "workflow_name",
        "workflow_id",
        "tags",
        "params",
        "task_execution_id",
        "state",
        "state_info",
        "input",
        "output",
        "updated_at",
        "description",
        "project_id",
        "root_execution_id",
    ],
    extra_args: &["include_output", "nulls"],
    fields: FIELDS,
    default_sort_key: "created_at",
};

fn str_json(text: &Option<String>) -> Value {
    let v = stored_json(text);
    if v.is_null() {
        Value::Null
    } else {
        Value::String(super::pyjson::dumps(&v))
    }
}

/// The Execution resource of either row type (both have the same fields).
macro_rules! execution_json {
    ($row:expr, $with_output:expr) => {{
        let row = $row;
        let mut m = Map::new();
        m.insert("id".into(), json!(row.id));
        m.insert("workflow_id".into(), json!(row.workflow_id));
        m.insert("workflow_name".into(), json!(row.workflow_name));
        m.insert("workflow_namespace".into(), json!(row.workflow_namespace));
        m.insert("description".into(), json!(row.description));
        m.insert("tags".into(), stored_json(&row.tags));
        m.insert("params".into(), str_json(&row.params));
        m.insert("task_execution_id".into(), json!(row.task_execution_id));
        m.insert("root_execution_id".into(), json!(row.root_execution_id));
        m.insert("state".into(), json!(row.state));
        m.insert("state_info".into(), json!(row.state_info));
        m.insert("input".into(), str_json(&row.input));
        if $with_output {
            m.insert("output".into(), str_json(&row.output));
        }
        m.insert("created_at".into(), ts_value(&Some(row.created_at)));
        m.insert("updated_at".into(), ts_value(&row.updated_at));
        m.insert("project_id".into(), json!(row.project_id));
        m
    }};
}

/// The Execution resource.
pub fn to_json(row: &ExecutionRow, with_output: bool) -> Map<String, Value> {
    execution_json!(row, with_output)
}

/// The Execution resource of a list row (read with output when `with_output`).
pub fn list_item_json(row: &ExecutionListRow, with_output: bool) -> Map<String, Value> {
    execution_json!(row, with_output)
}

/// `pyjson::dumps(list_item_json(row, with_output))`, written directly (list responses
/// render thousands of rows).
pub fn write_list_item(out: &mut String, row: &ExecutionListRow, with_output: bool) {
    use super::pyjson::{write, write_str};
    fn opt(out: &mut String, v: &Option<String>) {
        match v {
            Some(s) => write_str(out, s),
            None => out.push_str("null"),
        }
    }
    fn as_text(out: &mut String, v: &Option<String>) {
        match stored_json(v) {
            Value::Null => out.push_str("null"),
            v => write_str(out, &super::pyjson::dumps(&v)),
        }
    }
    out.push_str("{\"id\": ");
    write_str(out, &row.id);
    out.push_str(", \"workflow_id\": ");
    opt(out, &row.workflow_id);
    out.push_str(", \"workflow_name\": ");
    write_str(out, &row.workflow_name);
    out.push_str(", \"workflow_namespace\": ");
    write_str(out, &row.workflow_namespace);
    out.push_str(", \"description\": ");
    write_str(out, &row.description);
    out.push_str(", \"tags\": ");
    write(out, &stored_json(&row.tags));
    out.push_str(", \"params\": ");
    as_text(out, &row.params);
    out.push_str(", \"task_execution_id\": ");
    opt(out, &row.task_execution_id);
    out.push_str(", \"root_execution_id\": ");
    opt(out, &row.root_execution_id);
    out.push_str(", \"state\": ");
    write_str(out, &row.state);
    out.push_str(", \"state_info\": ");
    opt(out, &row.state_info);
    out.push_str(", \"input\": ");
    as_text(out, &row.input);
    if with_output {
        out.push_str(", \"output\": ");
        as_text(out, &row.output);
    }
    out.push_str(", \"created_at\": ");
    write_str(out, &crate::db::format_ts(&row.created_at));
    out.push_str(", \"updated_at\": ");
    match &row.updated_at {
        Some(t) => write_str(out, &crate::db::format_ts(t)),
        None => out.push_str("null"),
    }
    out.push_str(", \"project_id\": ");
    write_str(out, &row.project_id);
    out.push('}');
}

/// The list response of execution rows: written directly unless `fields` selects some.
fn list_response(
    req: &ListRequest,
    headers: &HeaderMap,
    rows: &[ExecutionListRow],
    include_output: bool,
) -> Response {
    let app = app_url(headers);
    if !req.fields.is_empty() {
        let items = rows
            .iter()
            .map(|r| req.project(list_item_json(r, include_output)))
            .collect();
        return json_response(
            StatusCode::OK,
            &req.envelope(&app, &COLLECTION, items),
            JSON,
        );
    }
    let items: Vec<String> = rows
        .iter()
        .map(|r| {
            let mut s = String::with_capacity(512);
            write_list_item(&mut s, r, include_output);
            s
        })
        .collect();
    let last = rows.last().map(|r| r.id.as_str());
    json_text_response(
        StatusCode::OK,
        req.envelope_text(&app, &COLLECTION, &items, last),
        JSON,
    )
}

/// `published_global`: the execution context minus internal keys and the workflow's vars.
fn published_global(st: &WorkflowState) -> Value {
    let vars = &st.def.vars;
    let m: Map<String, Value> = st
        .execution
        .context
        .iter()
        .filter(|(k, _)| !k.starts_with("__") && !vars.contains_key(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::String(super::pyjson::dumps(&Value::Object(m)))
}

pub async fn create(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    let mut fields: Vec<&str> = FIELDS.to_vec();
    fields.push("source_execution_id");
    let map = read_object(&st, &headers, body, "wf_ex", &fields).await?;
    let mut workflow_id = text_attr(&map, "workflow_id")?;
    let workflow_name = text_attr(&map, "workflow_name")?;
    let mut namespace = text_attr(&map, "workflow_namespace")?.unwrap_or_default();
    let mut description = text_attr(&map, "description")?.unwrap_or_default();
    let id = text_attr(&map, "id")?;
    let mut input = json_dict_attr(&map, "input", "wf_ex")?;
    let mut params = json_dict_attr(&map, "params", "wf_ex")?;
    if let Some(src) = text_attr(&map, "source_execution_id")? {
        // Re-run: the source execution's fields are the defaults, body keys override.
        let vis = c.visibility();
        let s = src.clone();
        let source = st
            .db
            .read(move |conn| store::get_execution(conn, vis.as_deref(), &s))
            .await?;
        if workflow_id.is_none() && workflow_name.is_none() {
            workflow_id = source.workflow_id.clone();
            namespace = source.workflow_namespace.clone();
        }
        let obj = |t: &Option<String>| match stored_json(t) {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        input.get_or_insert_with(|| obj(&source.input));
        params.get_or_insert_with(|| obj(&source.params));
        description = format!("{description} Based on the execution '{src}'")
            .trim()
            .to_string();
    }
    let input = input.unwrap_or_default();
    let params = params.unwrap_or_default();
    let identifier = match (workflow_id, workflow_name) {
        (Some(i), _) => i,
        (None, Some(n)) => n,
        (None, None) => {
            return Err(ApiError::bad_request(
                "Workflow ID or workflow name must be provided. Workflow ID is recommended.",
            ))
        }
    };
    let vis = c.visibility();
    let ns = namespace.clone();
    let wf = st
        .db
        .read(move |conn| definitions::get_workflow(conn, vis.as_deref(), &identifier, &ns))
        .await?;
    let row = st
        .engine
        .start_workflow(
            c,
            wf,
            StartOptions {
                id,
                input,
                params,
                description,
            },
        )
        .await?;
    Ok(json_response(
        StatusCode::CREATED,
        &Value::Object(to_json(&row, true)),
        JSON,
    ))
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
    let row = st
        .db
        .read(move |conn| store::get_execution(conn, vis.as_deref(), &id))
        .await?;
    let mut m = to_json(&row, true);
    if let Ok(s) = load_state_without_records(&row) {
        m.insert("published_global".into(), published_global(&s));
    }
    if !fields.is_empty() {
        m.retain(|k, _| fields.iter().any(|f| f == k));
    }
    Ok(json_response(StatusCode::OK, &Value::Object(m), JSON))
}

pub async fn list(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    let q = Query::parse(raw.as_deref());
    let mut req = ListRequest::parse(&q, &COLLECTION, st.settings.api.max_limit)?;
    for f in ["params", "input", "output"] {
        if let Some(f) = super::collection::json_typed_filter(&q, f)? {
            req = req.with_filter(f);
        }
    }
    for u in ["workflow_id", "task_execution_id", "root_execution_id"] {
        q.uuid(u)?;
    }
    let mut null_cols = Vec::new();
    if let Some(nulls) = q.list("nulls") {
        for n in nulls.iter().filter(|n| !n.is_empty()) {
            let Some(col) = EXECUTIONS.column(n) else {
                return Err(ApiError::internal(format!(
                    "'{n}' is not a valid field name."
                )));
            };
            if matches!(
                col.name,
                "id" | "workflow_name"
                    | "workflow_namespace"
                    | "state"
                    | "project_id"
                    | "created_at"
                    | "scope"
                    | "description"
            ) {
                return Err(ApiError::internal(format!(
                    "The field '{n}' can't hold None value."
                )));
            }
            null_cols.push(col.name.to_string());
        }
    }
    let include_output = q.flag("include_output");
    let vis = c.visibility();
    if let Some(m) = req.marker.clone() {
        let v = vis.clone();
        st.db
            .read(move |conn| store::get_execution(conn, v.as_deref(), &m))
            .await?;
    }
    let mut spec = req.to_spec(vis);
    spec.nulls = null_cols;
    let select = execution_list_select(include_output);
    let rows: Vec<ExecutionListRow> = st
        .db
        .read(move |conn| crate::db::list::list_select(conn, &EXECUTIONS, &spec, select))
        .await?;
    Ok(list_response(&req, &headers, &rows, include_output))
}

pub async fn update(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    let vis = c.visibility();
    let map = read_object(&st, &headers, body, "wf_ex", FIELDS).await?;
    let (v, i) = (vis.clone(), id.clone());
    st.db
        .read(move |conn| store::get_execution(conn, v.as_deref(), &i))
        .await?;
    let state = text_attr(&map, "state")?;
    let description = text_attr(&map, "description")?;
    let state_info = text_attr(&map, "state_info")?;
    let params = json_dict_attr(&map, "params", "wf_ex")?.unwrap_or_default();
    let env = match params.get("env") {
        Some(Value::Object(m)) if !m.is_empty() => Some(m.clone()),
        _ => None,
    };
    if state.is_none() && description.is_none() && env.is_none() {
        return Err(ApiError::bad_request(
            "The property state, description, or env is not provided for update.",
        ));
    }
    if description.is_some() && state.is_some() {
        return Err(ApiError::bad_request(
            "The property description must be updated separately from state.",
        ));
    }
    if env.is_some() && state.as_deref().is_some_and(|s| s != "RUNNING") {
        return Err(ApiError::bad_request(
            "The property env can only be updated when workflow execution is not running or on resume from pause.",
        ));
    }
    if let Some(d) = description {
        st.engine.set_description(vis.clone(), &id, d).await?;
    }
    match state.as_deref() {
        None => {
            if let Some(env) = env {
                st.engine.command(&id, Event::UpdateEnv { env }).await?;
            }
        }
        Some(s) => {
            let event = match ExState::parse(s) {
                Some(ExState::Paused) => Event::Pause,
                Some(ExState::Running) => Event::Resume { env },
                Some(ExState::Cancelled) => Event::Cancel { state_info },
                Some(x @ (ExState::Success | ExState::Error)) => Event::ForceState {
                    state: x,
                    state_info,
                },
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "Cannot change state to {s}. Allowed states are: 'RUNNING, PAUSED, SUCCESS, ERROR, CANCELLED"
                    )))
                }
            };
            st.engine.command(&id, event).await?;
        }
    }
    let row = st
        .db
        .read(move |conn| store::get_execution(conn, vis.as_deref(), &id))
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &Value::Object(to_json(&row, true)),
        JSON,
    ))
}

pub async fn delete(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    let q = Query::parse(raw.as_deref());
    let force = q.flag("force");
    let vis = c.visibility();
    st.db
        .write(move |conn| {
            let row = store::get_execution(conn, vis.as_deref(), &id)?;
            let done = matches!(row.state.as_str(), "SUCCESS" | "ERROR" | "CANCELLED");
            if !force && !done {
                return Err(crate::db::DbError::Forbidden(format!(
                    "Only completed executions can be deleted. Use --force to override this. Execution {id} is in {} state",
                    row.state
                )));
            }
            store::delete_execution_tree(conn, &id)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Depth-first sub-execution tree below `row` (api.md 2.4): each execution's tasks in creation
/// order, then their child workflow executions; `max_depth < 0` is unlimited.
fn collect_tree(
    conn: &mut crate::db::DbConnection,
    row: &ExecutionRow,
    depth: i64,
    max_depth: i64,
    errors_only: bool,
    out: &mut Vec<ExecutionRow>,
) -> Result<(), crate::db::DbError> {
    if max_depth >= 0 && depth > max_depth {
        return Ok(());
    }
    out.push(row.clone());
    let children = store::children(conn, &row.id)?;
    if children.is_empty() {
        return Ok(());
    }
    let s = load_state(conn, row)?;
    for t in &s.tasks {
        if errors_only && t.state != ExState::Error {
            continue;
        }
        for c in children
            .iter()
            .filter(|c| c.task_execution_id.as_deref() == Some(t.id.as_str()))
        {
            collect_tree(conn, c, depth + 1, max_depth, errors_only, out)?;
        }
    }
    Ok(())
}

/// `GET /executions/{id}/executions?errors_only&max_depth&include_output`.
pub async fn sub_executions(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    let q = Query::parse(raw.as_deref());
    let errors_only = q.flag("errors_only");
    let include_output = q.flag("include_output");
    let max_depth = q.int("max_depth")?.unwrap_or(-1);
    let vis = c.visibility();
    let rows = st
        .db
        .read(move |conn| {
            let root = store::get_execution(conn, vis.as_deref(), &id)?;
            let mut out = Vec::new();
            collect_tree(conn, &root, 0, max_depth, errors_only, &mut out)?;
            Ok(out)
        })
        .await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|r| Value::Object(to_json(r, include_output)))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "executions": items }),
        JSON,
    ))
}

/// `GET /tasks/{id}/workflow_executions`: the sub-workflow executions started by a task.
pub async fn of_task(
    State(st): State<AppState>,
    Path(task_id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    let q = Query::parse(raw.as_deref());
    let mut req = ListRequest::parse(&q, &COLLECTION, st.settings.api.max_limit)?;
    let vis = c.visibility();
    let (v, t) = (vis.clone(), task_id.clone());
    st.db
        .read(move |conn| store::get_task(conn, v.as_deref(), &t))
        .await?;
    req = req.with_filter(crate::db::list::Filter::eq("task_execution_id", &task_id));
    let include_output = q.flag("include_output");
    let spec = req.to_spec(vis);
    let select = execution_list_select(include_output);
    let rows: Vec<ExecutionListRow> = st
        .db
        .read(move |conn| crate::db::list::list_select(conn, &EXECUTIONS, &spec, select))
        .await?;
    Ok(list_response(&req, &headers, &rows, include_output))
}

/// `GET /tasks/{id}/executions`: the sub-execution trees of a task's child workflows.
pub async fn task_sub_executions(
    State(st): State<AppState>,
    Path(task_id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    let q = Query::parse(raw.as_deref());
    let errors_only = q.flag("errors_only");
    let include_output = q.flag("include_output");
    let max_depth = q.int("max_depth")?.unwrap_or(-1);
    let vis = c.visibility();
    let rows = st
        .db
        .read(move |conn| {
            let t = store::get_task(conn, vis.as_deref(), &task_id)?;
            let mut out = Vec::new();
            for child in store::children(conn, &t.workflow_execution_id)?
                .into_iter()
                .filter(|c| c.task_execution_id.as_deref() == Some(t.id.as_str()))
            {
                collect_tree(conn, &child, 1, max_depth, errors_only, &mut out)?;
            }
            Ok(out)
        })
        .await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|r| Value::Object(to_json(r, include_output)))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "executions": items }),
        JSON,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(n: usize) -> ExecutionListRow {
        let even = n.is_multiple_of(2);
        let ts = |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        ExecutionListRow {
            id: format!("00000000-0000-4000-a000-00000000000{n}"),
            workflow_name: "wf \"q\" é\n".into(),
            workflow_id: if even { Some("w-1".into()) } else { None },
            workflow_namespace: String::new(),
            description: "d\\x\u{1F600}".into(),
            tags: if even {
                Some("[\"a\", \"é\"]".into())
            } else {
                None
            },
            state: "SUCCESS".into(),
            state_info: if even { None } else { Some("boom\t".into()) },
            params: Some("{\"namespace\":\"\",\"env\":{},\"f\":1.0,\"u\":\"ü\"}".into()),
            input: if even {
                Some("{}".into())
            } else {
                Some("not json".into())
            },
            output: if even {
                Some("{\"r\":[1,2,{\"x\":null}]}".into())
            } else {
                None
            },
            task_execution_id: None,
            root_execution_id: Some("r".into()),
            project_id: "<default-project>".into(),
            created_at: ts("2024-05-01 13:37:00"),
            updated_at: if even {
                Some(ts("2024-05-01 13:38:09"))
            } else {
                None
            },
        }
    }

    #[test]
    fn direct_list_rendering_is_byte_identical_to_the_generic_one() {
        for with_output in [false, true] {
            for limit in [2, 3, 5] {
                let q = Query::parse(Some(&format!("limit={limit}&state=SUCCESS")));
                let mut req = ListRequest::parse(&q, &COLLECTION, 1000).unwrap();
                let _ = req.to_spec(None);
                let rows: Vec<ExecutionListRow> = (0..3).map(row).collect();
                let generic = super::super::pyjson::dumps(
                    &req.envelope(
                        "http://h:8989",
                        &COLLECTION,
                        rows.iter()
                            .map(|r| list_item_json(r, with_output))
                            .collect(),
                    ),
                );
                let items: Vec<String> = rows
                    .iter()
                    .map(|r| {
                        let mut s = String::new();
                        write_list_item(&mut s, r, with_output);
                        s
                    })
                    .collect();
                let direct = req.envelope_text(
                    "http://h:8989",
                    &COLLECTION,
                    &items,
                    rows.last().map(|r| r.id.as_str()),
                );
                assert_eq!(direct, generic);
                let empty = req.envelope_text("http://h:8989", &COLLECTION, &[], None);
                assert_eq!(
                    empty,
                    super::super::pyjson::dumps(&req.envelope(
                        "http://h:8989",
                        &COLLECTION,
                        vec![]
                    ))
                );
            }
        }
    }
}
