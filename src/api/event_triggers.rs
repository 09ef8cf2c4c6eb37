//! `/v2/event_triggers` (api.md 2.9, engine.md §17). Storage and validation only: the event
//! engine that listens on the exchanges is not part of this server yet.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use super::collection::{CollectionDef, ListRequest};
use super::error::{ApiError, ApiResult, JSON};
use super::jsonbody::{enum_attr, json_dict_attr, max_len, read_object, text_attr};
use super::params::{is_uuid_like, Query};
use super::{app_url, caller, json_response, ts_value, AppState};
use crate::db::list::Filter;
use crate::db::models::{EventTriggerRow, EVENT_TRIGGERS};
use crate::db::triggers::{self, EventTriggerChanges, NewEventTrigger};

pub const FIELDS: &[&str] = &[
    "id",
    "created_at",
    "updated_at",
    "project_id",
    "name",
    "workflow_id",
    "workflow_input",
    "workflow_params",
    "exchange",
    "topic",
    "event",
    "scope",
];

/// Upstream accepts only the list arguments; other query keys filter by equality on the
/// resource's columns here (upstream answers them with a 500).
pub const COLLECTION: CollectionDef = CollectionDef {
    name: "event_triggers",
    filters: &[],
    extra_args: &["all_projects"],
    fields: FIELDS,
    default_sort_key: "created_at",
};

const FILTERABLE: &[&str] = &[
    "id",
    "created_at",
    "updated_at",
    "project_id",
    "name",
    "workflow_id",
    "exchange",
    "topic",
    "event",
    "scope",
];

fn json_string(text: &str) -> Value {
    let v: Value = serde_json::from_str(text).unwrap_or(Value::Object(Map::new()));
    Value::String(super::pyjson::dumps(&v))
}

/// The EventTrigger resource.
pub fn to_json(row: &EventTriggerRow) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(row.id));
    m.insert("created_at".into(), ts_value(&Some(row.created_at)));
    m.insert("updated_at".into(), ts_value(&row.updated_at));
    m.insert("project_id".into(), json!(row.project_id));
    m.insert("name".into(), json!(row.name));
    m.insert("workflow_id".into(), json!(row.workflow_id));
    m.insert("workflow_input".into(), json_string(&row.workflow_input));
    m.insert("workflow_params".into(), json_string(&row.workflow_params));
    m.insert("exchange".into(), json!(row.exchange));
    m.insert("topic".into(), json!(row.topic));
    m.insert("event".into(), json!(row.event));
    m.insert("scope".into(), json!(row.scope));
    m
}

/// A UUID-typed body attribute: upstream's fault is the bare conversion message.
fn uuid_value(v: &str) -> ApiResult<()> {
    if is_uuid_like(v) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "Expected a uuid but received {v}."
        )))
    }
}

/// The UUID-typed path argument.
fn path_id(id: &str) -> ApiResult<()> {
    if is_uuid_like(id) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "Invalid input for field/attribute id. Value: '{id}'. unable to convert to uuid. Error: Expected a uuid but received {id}."
        )))
    }
}

struct Body_ {
    name: Option<String>,
    workflow_id: Option<String>,
    input: Option<Map<String, Value>>,
    params: Option<Map<String, Value>>,
    exchange: Option<String>,
    topic: Option<String>,
    event: Option<String>,
    scope: Option<String>,
}

fn parse_body(map: &Map<String, Value>) -> ApiResult<Body_> {
    for k in ["id", "created_at", "updated_at", "project_id"] {
        text_attr(map, k)?;
    }
    let name = text_attr(map, "name")?;
    let workflow_id = text_attr(map, "workflow_id")?;
    let exchange = text_attr(map, "exchange")?;
    let topic = text_attr(map, "topic")?;
    let event = text_attr(map, "event")?;
    if let Some(w) = &workflow_id {
        uuid_value(w)?;
    }
    for (k, v) in [
        ("name", &name),
        ("exchange", &exchange),
        ("topic", &topic),
        ("event", &event),
    ] {
        max_len(k, v.as_deref(), 255)?;
    }
    Ok(Body_ {
        name,
        workflow_id,
        input: json_dict_attr(map, "workflow_input", "event_trigger")?,
        params: json_dict_attr(map, "workflow_params", "event_trigger")?,
        exchange,
        topic,
        event,
        scope: enum_attr(map, "scope", &["private", "public"])?,
    })
}

pub async fn create(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    let map = read_object(&st, &headers, body, "event_trigger", FIELDS).await?;
    let b = parse_body(&map)?;
    let nonempty = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
    if !(nonempty(&b.workflow_id)
        && nonempty(&b.exchange)
        && nonempty(&b.topic)
        && nonempty(&b.event))
    {
        return Err(ApiError::bad_request(
            "Params {'event', 'workflow_id', 'exchange', 'topic'} must be provided for creating event trigger.",
        ));
    }
    let scope = b.scope.unwrap_or_else(|| "private".into());
    if scope == "public" && !c.is_admin {
        return Err(ApiError::forbidden());
    }
    let t = NewEventTrigger {
        name: b.name.unwrap_or_default(),
        workflow_id: b.workflow_id.unwrap_or_default(),
        workflow_input: b.input.unwrap_or_default(),
        workflow_params: b.params.unwrap_or_default(),
        exchange: b.exchange.unwrap_or_default(),
        topic: b.topic.unwrap_or_default(),
        event: b.event.unwrap_or_default(),
        scope,
    };
    let row = st
        .db
        .write(move |conn| triggers::create_event_trigger(conn, &c, &t))
        .await?;
    Ok(json_response(
        StatusCode::CREATED,
        &Value::Object(to_json(&row)),
        JSON,
    ))
}

pub async fn update(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    path_id(&id)?;
    let map = read_object(&st, &headers, body, "event_trigger", FIELDS).await?;
    let b = parse_body(&map)?;
    if b.scope.as_deref() == Some("public") && !c.is_admin {
        return Err(ApiError::forbidden());
    }
    let nonempty = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
    if nonempty(&b.exchange) || nonempty(&b.topic) || nonempty(&b.event) {
        return Err(ApiError::bad_request(
            "Can not update fields ['exchange', 'topic', 'event'] of event trigger.",
        ));
    }
    let ch = EventTriggerChanges {
        name: b.name,
        workflow_id: b.workflow_id,
        workflow_input: b.input,
        workflow_params: b.params,
        scope: b.scope,
    };
    let row = st
        .db
        .write(move |conn| triggers::update_event_trigger(conn, &c, &id, &ch))
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &Value::Object(to_json(&row)),
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
    path_id(&id)?;
    let fields = super::collection::single_get_fields(raw.as_deref(), FIELDS)?;
    let vis = c.visibility();
    let row = st
        .db
        .read(move |conn| triggers::get_event_trigger(conn, vis.as_deref(), &id))
        .await?;
    let mut m = to_json(&row);
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
    // Plain equality on resource columns, beyond upstream's list arguments.
    let extra: Vec<(String, String)> = q
        .keys()
        .filter(|k| FILTERABLE.contains(k))
        .filter_map(|k| q.get(k).map(|v| (k.to_string(), v.to_string())))
        .collect();
    let mut allowed: Vec<&str> = FILTERABLE.to_vec();
    allowed.extend([
        "marker",
        "limit",
        "sort_keys",
        "sort_dirs",
        "fields",
        "all_projects",
    ]);
    q.only(&allowed)?;
    let stripped: Vec<String> = q
        .keys()
        .filter(|k| !FILTERABLE.contains(k))
        .filter_map(|k| {
            q.get(k).map(|v| {
                format!(
                    "{}={}",
                    k,
                    percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
                )
            })
        })
        .collect();
    let base = Query::parse(Some(&stripped.join("&")));
    let mut req = ListRequest::parse(&base, &COLLECTION, st.settings.api.max_limit)?;
    for (k, v) in extra {
        req = req.with_filter(Filter::eq(&k, &v));
    }
    let all_projects = q.flag("all_projects");
    if all_projects && !c.is_admin {
        return Err(ApiError::forbidden());
    }
    let vis = if all_projects { None } else { c.visibility() };
    if let Some(m) = req.marker.clone() {
        let v = vis.clone();
        st.db
            .read(move |conn| triggers::get_event_trigger(conn, v.as_deref(), &m))
            .await?;
    }
    let spec = req.to_spec(vis);
    let rows: Vec<EventTriggerRow> = st
        .db
        .read(move |conn| crate::db::list::list(conn, &EVENT_TRIGGERS, &spec))
        .await?;
    let items = rows.iter().map(|r| req.project(to_json(r))).collect();
    Ok(json_response(
        StatusCode::OK,
        &req.envelope(&app_url(&headers), &COLLECTION, items),
        JSON,
    ))
}

pub async fn delete(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    path_id(&id)?;
    st.db
        .write(move |conn| triggers::delete_event_trigger(conn, &c, &id))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
