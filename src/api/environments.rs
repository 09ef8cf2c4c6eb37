//! `/v2/environments` (api.md 2.8).

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use super::collection::{CollectionDef, ListRequest};
use super::error::{ApiError, JSON};
use super::jsonbody::{enum_attr, json_dict_attr, read_object, text_attr};
use super::params::Query;
use super::{app_url, caller, json_response, stored_json, ts_value, AppState};
use crate::db::definitions::{self, EnvironmentChanges, NewEnvironment};
use crate::db::models::{EnvironmentRow, ENVIRONMENTS};

pub const FIELDS: &[&str] = &[
    "id",
    "name",
    "description",
    "variables",
    "scope",
    "project_id",
    "created_at",
    "updated_at",
];

pub const COLLECTION: CollectionDef = CollectionDef {
    name: "environments",
    filters: &[
        "created_at",
        "name",
        "updated_at",
        "description",
        "variables",
        "scope",
    ],
    extra_args: &[],
    fields: FIELDS,
    default_sort_key: "created_at",
};

/// The Environment resource; `omit_nulls` for POST/PUT responses.
pub fn to_json(row: &EnvironmentRow, omit_nulls: bool) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(row.id));
    m.insert("name".into(), json!(row.name));
    m.insert(
        "description".into(),
        row.description
            .clone()
            .map(Value::String)
            .unwrap_or(Value::Null),
    );
    let vars = stored_json(&row.variables);
    m.insert(
        "variables".into(),
        if vars.is_null() {
            Value::Null
        } else {
            Value::String(super::pyjson::dumps(&vars))
        },
    );
    m.insert("scope".into(), json!(row.scope));
    m.insert("project_id".into(), json!(row.project_id));
    m.insert("created_at".into(), ts_value(&Some(row.created_at)));
    m.insert("updated_at".into(), ts_value(&row.updated_at));
    if omit_nulls {
        m.retain(|_, v| !v.is_null());
    }
    m
}

fn legal_keys(map: &Map<String, Value>, legal: &[&str]) -> Result<(), ApiError> {
    if map.keys().any(|k| !legal.contains(&k.as_str())) {
        let list: Vec<String> = legal.iter().map(|k| format!("'{k}'")).collect();
        return Err(ApiError::bad_request(format!(
            "Please, check your environment definition. Only: [{}] are allowed as definition keys.",
            list.join(", ")
        )));
    }
    Ok(())
}

pub async fn create(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    let map = read_object(&st, &headers, body, "env", FIELDS).await?;
    let name = text_attr(&map, "name")?;
    let description = text_attr(&map, "description")?;
    let scope = enum_attr(&map, "scope", &["private", "public"])?;
    text_attr(&map, "id")?;
    let variables = json_dict_attr(&map, "variables", "env")?;
    legal_keys(&map, &["name", "description", "variables", "scope"])?;
    let scope = scope.unwrap_or_else(|| "private".into());
    if scope == "public" && !c.is_admin {
        return Err(ApiError::forbidden());
    }
    let Some(name) = name else {
        return Err(ApiError::bad_request(
            "Name of the environment is not provided.",
        ));
    };
    let e = NewEnvironment {
        name,
        description,
        variables: variables.map(|v| super::pyjson::dumps(&Value::Object(v))),
        scope,
    };
    let row = st
        .db
        .write(move |conn| definitions::create_environment(conn, &c, &e))
        .await?;
    Ok(json_response(
        StatusCode::CREATED,
        &Value::Object(to_json(&row, true)),
        JSON,
    ))
}

pub async fn update(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    let mut map = read_object(&st, &headers, body, "env", FIELDS).await?;
    let name = text_attr(&map, "name")?;
    let description = text_attr(&map, "description")?;
    let scope = enum_attr(&map, "scope", &["private", "public"])?;
    let variables = json_dict_attr(&map, "variables", "env")?;
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        return Err(ApiError::bad_request(
            "Name of the environment is not provided.",
        ));
    };
    map.remove("name");
    legal_keys(&map, &["description", "variables", "scope"])?;
    if scope.as_deref() == Some("public") && !c.is_admin {
        return Err(ApiError::forbidden());
    }
    let ch = EnvironmentChanges {
        description: map.contains_key("description").then_some(description),
        variables: variables.map(|v| Some(super::pyjson::dumps(&Value::Object(v)))),
        scope,
    };
    let vis = c.visibility();
    let row = st
        .db
        .write(move |conn| definitions::update_environment(conn, vis.as_deref(), &name, &ch))
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &Value::Object(to_json(&row, false)),
        JSON,
    ))
}

pub async fn get_one(
    State(st): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    let fields = super::collection::single_get_fields(raw.as_deref(), FIELDS)?;
    let vis = c.visibility();
    let row = st
        .db
        .read(move |conn| definitions::get_environment(conn, vis.as_deref(), &name))
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
    if let Some(f) = super::collection::json_typed_filter(&q, "variables")? {
        req = req.with_filter(f);
    }
    let vis = c.visibility();
    if let Some(m) = req.marker.clone() {
        // [quirk] the marker is looked up by name, so it never resolves.
        let v = vis.clone();
        st.db
            .read(move |conn| definitions::get_environment(conn, v.as_deref(), &m))
            .await?;
    }
    let spec = req.to_spec(vis);
    let rows: Vec<EnvironmentRow> = st
        .db
        .read(move |conn| crate::db::list::list(conn, &ENVIRONMENTS, &spec))
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
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    let vis = c.visibility();
    st.db
        .write(move |conn| definitions::delete_environment(conn, vis.as_deref(), &name))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
