//! `/v2/workbooks` (api.md 2.1).

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use super::collection::{CollectionDef, ListRequest};
use super::error::{ApiError, ApiResult, JSON, JSON_UTF8};
use super::params::Query;
use super::{
    app_url, caller, json_response, read_text, stored_tags, ts_value, upload_scope, AppState,
};
use crate::db::definitions::{self, NewWorkbook};
use crate::db::models::{WorkbookRow, WORKBOOKS};
use crate::lang;

pub const FIELDS: &[&str] = &[
    "id",
    "name",
    "namespace",
    "definition",
    "tags",
    "scope",
    "project_id",
    "created_at",
    "updated_at",
];

pub const COLLECTION: CollectionDef = CollectionDef {
    name: "workbooks",
    filters: &[
        "created_at",
        "definition",
        "name",
        "scope",
        "tags",
        "updated_at",
        "namespace",
    ],
    extra_args: &[],
    fields: FIELDS,
    default_sort_key: "created_at",
};

pub fn to_json(row: &WorkbookRow, upload: bool) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(row.id));
    m.insert("name".into(), json!(row.name));
    m.insert("namespace".into(), json!(row.namespace));
    m.insert("definition".into(), json!(row.definition));
    m.insert("tags".into(), stored_tags(&row.tags));
    m.insert("scope".into(), json!(row.scope));
    m.insert("project_id".into(), json!(row.project_id));
    m.insert("created_at".into(), ts_value(&Some(row.created_at)));
    if !(upload && row.updated_at.is_none()) {
        m.insert("updated_at".into(), ts_value(&row.updated_at));
    }
    m
}

fn parse(text: &str, validate: bool) -> ApiResult<NewWorkbook> {
    let wb = lang::parse_workbook_opts(text, validate)?;
    super::workflows::check_name(&wb.name)?;
    let workflows = wb
        .workflows
        .iter()
        .map(|s| super::workflows::new_workflow(s, false))
        .collect::<ApiResult<Vec<_>>>()?;
    let actions = wb
        .actions
        .iter()
        .map(super::actions::new_action_from_workbook)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(NewWorkbook {
        name: wb.name.clone(),
        definition: text.to_string(),
        spec: Some(
            json!({"name": wb.name, "tags": wb.tags, "description": wb.description}).to_string(),
        ),
        tags: Some(serde_json::to_string(&wb.tags).unwrap_or_else(|_| "[]".into())),
        workflows,
        actions,
    })
}

async fn write(
    st: AppState,
    headers: HeaderMap,
    raw: Option<String>,
    body: Body,
    create: bool,
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
    let wb = super::blocking(move || parse(&text, validate))
        .await
        .map_err(ApiError::text)?;
    let row = st
        .db
        .write(move |conn| {
            if create {
                definitions::create_workbook(conn, &c, &wb, &scope, &namespace)
            } else {
                definitions::update_workbook(conn, &c, &wb, &scope, &namespace)
            }
        })
        .await
        .map_err(|e| ApiError::from(e).text())?;
    let status = if create {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json_response(
        status,
        &Value::Object(to_json(&row, true)),
        JSON_UTF8,
    ))
}

pub async fn create(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    write(st, headers, raw, body, true).await
}

pub async fn update(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    write(st, headers, raw, body, false).await
}

pub async fn get_one(
    State(st): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    let q = Query::parse(raw.as_deref());
    q.only(&["namespace", "fields"])?;
    let namespace = q.text("namespace", "");
    let mut fields = q.unique_list("fields").unwrap_or_default();
    super::collection::validate_fields(&fields, FIELDS)?;
    if !fields.is_empty() && !fields.iter().any(|f| f == "id") {
        fields.insert(0, "id".into());
    }
    let vis = c.visibility();
    let row = st
        .db
        .read(move |conn| definitions::get_workbook(conn, vis.as_deref(), &name, &namespace))
        .await?;
    let mut m = to_json(&row, false);
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
    let vis = c.visibility();
    if let Some(m) = req.marker.clone() {
        // [quirk] upstream fetches the marker by *name*, so a marker never resolves.
        let v = vis.clone();
        st.db
            .read(move |conn| definitions::get_workbook(conn, v.as_deref(), &m, ""))
            .await?;
    }
    let spec = req.to_spec(vis);
    let rows: Vec<WorkbookRow> = st
        .db
        .read(move |conn| crate::db::list::list(conn, &WORKBOOKS, &spec))
        .await?;
    let items = rows
        .iter()
        .map(|r| req.project(to_json(r, false)))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &req.envelope(&app_url(&headers), &COLLECTION, items),
        JSON,
    ))
}

pub async fn delete(
    State(st): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    let q = Query::parse(raw.as_deref());
    q.only(&["namespace"])?;
    let namespace = q.text("namespace", "");
    let vis = c.visibility();
    st.db
        .write(move |conn| definitions::delete_workbook(conn, vis.as_deref(), &name, &namespace))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn validate(State(st): State<AppState>, body: Body) -> Result<Response, ApiError> {
    let text = read_text(&st, body).await?;
    Ok(super::workflows::validation_response(lang::parse_workbook(
        &text,
    )))
}
