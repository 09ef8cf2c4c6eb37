//! `/v2/workflows` (api.md 2.2).

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use super::collection::{CollectionDef, ListRequest};
use super::error::{ApiError, ApiResult, JSON, JSON_UTF8};
use super::params::Query;
use super::{
    app_url, caller, json_response, read_text, stored_json, stored_tags, ts_value, upload_scope,
    AppState,
};
use crate::db::definitions::{self, NewWorkflow};
use crate::db::list::Filter;
use crate::db::models::{WorkflowRow, WORKFLOWS};
use crate::lang;

pub const FIELDS: &[&str] = &[
    "id",
    "name",
    "namespace",
    "input",
    "interface",
    "definition",
    "checksum",
    "tags",
    "scope",
    "project_id",
    "created_at",
    "updated_at",
];

pub const COLLECTION: CollectionDef = CollectionDef {
    name: "workflows",
    filters: &[
        "created_at",
        "name",
        "scope",
        "tags",
        "updated_at",
        "input",
        "definition",
        "project_id",
        "namespace",
    ],
    extra_args: &["all_projects"],
    fields: FIELDS,
    default_sort_key: "created_at",
};

/// Upstream refuses names with spaces.
pub fn check_name(name: &str) -> ApiResult<()> {
    if name.contains(' ') {
        return Err(ApiError::bad_request(format!(
            "Name '{name}' must not contain spaces"
        )));
    }
    Ok(())
}

/// A parsed workflow as the values stored for it (`with_checksum`: false for workbook
/// workflows).
pub fn new_workflow(spec: &lang::WorkflowSpec, with_checksum: bool) -> ApiResult<NewWorkflow> {
    check_name(&spec.name)?;
    Ok(NewWorkflow {
        name: spec.name.clone(),
        definition: spec.definition.clone(),
        spec: serde_json::to_string(&spec.body).unwrap_or_else(|_| "{}".into()),
        input: spec.input_signature(),
        interface: super::pyjson::dumps(&spec.interface()),
        tags: Some(serde_json::to_string(&spec.tags).unwrap_or_else(|_| "[]".into())),
        with_checksum,
    })
}

/// The Workflow resource. `upload` = the POST/PUT rendering (interface as an object,
/// `updated_at` omitted while unset).
pub fn to_json(row: &WorkflowRow, upload: bool) -> Map<String, Value> {
    let interface = stored_json(&row.interface);
    let mut m = Map::new();
    m.insert("id".into(), json!(row.id));
    m.insert("name".into(), json!(row.name));
    m.insert("namespace".into(), json!(row.namespace));
    m.insert("input".into(), json!(row.input.clone().unwrap_or_default()));
    m.insert(
        "interface".into(),
        if upload {
            interface
        } else {
            Value::String(super::pyjson::dumps(&interface))
        },
    );
    m.insert("definition".into(), json!(row.definition));
    m.insert("checksum".into(), json!(row.checksum));
    m.insert("tags".into(), stored_tags(&row.tags));
    m.insert("scope".into(), json!(row.scope));
    m.insert("project_id".into(), json!(row.project_id));
    m.insert("created_at".into(), ts_value(&Some(row.created_at)));
    if !(upload && row.updated_at.is_none()) {
        m.insert("updated_at".into(), ts_value(&row.updated_at));
    }
    m
}

fn parse(text: &str, validate: bool) -> ApiResult<Vec<NewWorkflow>> {
    let specs = lang::parse_workflows_opts(text, validate).map_err(ApiError::from)?;
    specs.iter().map(|s| new_workflow(s, true)).collect()
}

pub async fn create(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    let q = Query::parse(raw.as_deref());
    let scope = upload_scope(&q, &c)?;
    let namespace = q.text("namespace", "");
    let text = read_text(&st, body).await?;
    let validate = st
        .settings
        .api
        .validation_mode
        .validate(q.has("skip_validation"));
    let items = super::blocking(move || parse(&text, validate))
        .await
        .map_err(ApiError::text)?;
    let rows = st
        .db
        .write(move |conn| definitions::create_workflows(conn, &c, &items, &scope, &namespace))
        .await
        .map_err(|e| ApiError::from(e).text())?;
    let list: Vec<Value> = rows
        .iter()
        .map(|r| Value::Object(to_json(r, true)))
        .collect();
    Ok(json_response(
        StatusCode::CREATED,
        &json!({ "workflows": list }),
        JSON_UTF8,
    ))
}

async fn do_update(
    st: AppState,
    headers: HeaderMap,
    raw: Option<String>,
    body: Body,
    identifier: Option<String>,
) -> ApiResult<Vec<WorkflowRow>> {
    let c = caller(&headers);
    let q = Query::parse(raw.as_deref());
    let scope = upload_scope(&q, &c)?;
    let namespace = q.text("namespace", "");
    let text = read_text(&st, body).await?;
    let validate = st
        .settings
        .api
        .validation_mode
        .validate(q.has("skip_validation"));
    let items = super::blocking(move || parse(&text, validate))
        .await
        .map_err(ApiError::text)?;
    st.db
        .write(move |conn| {
            definitions::update_workflows(
                conn,
                &c,
                &items,
                &scope,
                identifier.as_deref(),
                &namespace,
            )
        })
        .await
        .map_err(|e| ApiError::from(e).text())
}

pub async fn update(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    let rows = do_update(st, headers, raw, body, None).await?;
    let list: Vec<Value> = rows
        .iter()
        .map(|r| Value::Object(to_json(r, true)))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "workflows": list }),
        JSON_UTF8,
    ))
}

pub async fn update_one(
    State(st): State<AppState>,
    Path(identifier): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    let rows = do_update(st, headers, raw, body, Some(identifier)).await?;
    let first = rows
        .first()
        .map(|r| Value::Object(to_json(r, true)))
        .unwrap_or(Value::Null);
    Ok(json_response(StatusCode::OK, &first, JSON_UTF8))
}

pub async fn get_one(
    State(st): State<AppState>,
    Path(identifier): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    let q = Query::parse(raw.as_deref());
    q.only(&["namespace", "fields"])?;
    let namespace = q.text("namespace", "");
    let fields = q.unique_list("fields").unwrap_or_default();
    let vis = c.visibility();
    let row = st
        .db
        .read(move |conn| definitions::get_workflow(conn, vis.as_deref(), &identifier, &namespace))
        .await?;
    let mut m = to_json(&row, false);
    if !fields.is_empty() {
        // Upstream selects the columns; `input`/`interface` are not columns and vanish.
        m.retain(|k, _| {
            k == "id" || (fields.iter().any(|f| f == k) && k != "input" && k != "interface")
        });
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
    q.uuid("project_id")?;
    let all_projects = q.flag("all_projects");
    if all_projects && !c.is_admin {
        return Err(ApiError::forbidden());
    }
    let vis = if all_projects { None } else { c.visibility() };
    if let Some(m) = req.marker.clone() {
        let v = vis.clone();
        st.db
            .read(move |conn| definitions::get_workflow_by_id(conn, v.as_deref(), &m))
            .await?;
    }
    let spec = req.to_spec(vis);
    let rows: Vec<WorkflowRow> = st
        .db
        .read(move |conn| crate::db::list::list(conn, &WORKFLOWS, &spec))
        .await?;
    // `input` and `interface` derive from the stored spec: both appear exactly when `input`
    // is requested (upstream selects the `spec` column for it).
    let mut fields = req.fields.clone();
    let wants_input = fields.iter().any(|f| f == "input");
    fields.retain(|f| f != "interface");
    if wants_input {
        fields.push("interface".into());
    }
    let items = rows
        .iter()
        .map(|r| {
            let mut m = to_json(r, false);
            if !fields.is_empty() {
                m.retain(|k, _| fields.iter().any(|f| f == k));
            }
            m
        })
        .collect();
    // [quirk] upstream swaps `input` for the `spec` column in the very list the `next` link
    // is rendered from.
    if let Some(pos) = req.fields.iter().position(|f| f == "input") {
        req.fields.remove(pos);
        req.fields.push("spec".into());
    }
    Ok(json_response(
        StatusCode::OK,
        &req.envelope(&app_url(&headers), &COLLECTION, items),
        JSON,
    ))
}

pub async fn delete(
    State(st): State<AppState>,
    Path(identifier): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    let q = Query::parse(raw.as_deref());
    q.only(&["namespace"])?;
    let namespace = q.text("namespace", "");
    if !st.db.is_sqlite() {
        // PostgreSQL: checks and a guarded DELETE in autocommit mode (two round trips fewer
        // than a transaction); the transaction below only when the row changed in between.
        let (c, i, n) = (c.clone(), identifier.clone(), namespace.clone());
        let done = st
            .db
            .read(move |conn| definitions::delete_workflow_autocommit(conn, &c, &i, &n))
            .await?;
        if done {
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
    }
    st.db
        .write(move |conn| definitions::delete_workflow(conn, &c, &identifier, &namespace))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST …/validate` for any of the three definition kinds.
pub fn validation_response<T>(result: Result<T, lang::DslError>) -> Response {
    let v = match result {
        Ok(_) => json!({"valid": true}),
        Err(e) => json!({"valid": false, "error": e.to_string()}),
    };
    json_response(StatusCode::OK, &v, JSON_UTF8)
}

pub async fn validate(State(st): State<AppState>, body: Body) -> Result<Response, ApiError> {
    let text = read_text(&st, body).await?;
    Ok(validation_response(lang::parse_workflows(&text)))
}

/// Keeps the filter type visible to other modules.
pub fn namespace_filter(ns: &str) -> Filter {
    Filter::eq("namespace", ns)
}
