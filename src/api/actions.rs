//! `/v2/actions` (api.md 2.3): built-in `std.*` descriptors plus ad-hoc actions, listed with
//! upstream's in-memory algorithm.

use std::cmp::Ordering;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use super::builtin_actions::{self, BuiltinAction};
use super::collection::validate_sorting;
use super::error::{ApiError, ApiResult, JSON, JSON_UTF8};
use super::params::Query;
use super::{
    app_url, caller, json_response, read_text, stored_tags, ts_value, upload_scope, AppState,
};
use crate::db::definitions::{self, NewAction};
use crate::db::list::{parse_timestamp, Filter, FilterValue, Op};
use crate::db::models::ActionRow;
use crate::lang;

pub const FILTERS: &[&str] = &[
    "created_at",
    "name",
    "scope",
    "tags",
    "updated_at",
    "description",
    "definition",
    "is_system",
    "input",
    "namespace",
];

fn new_action(spec: &lang::ActionSpec, definition: &str) -> ApiResult<NewAction> {
    super::workflows::check_name(&spec.name)?;
    let input = spec.input_signature();
    Ok(NewAction {
        name: spec.name.clone(),
        definition: definition.to_string(),
        spec: serde_json::to_string(&spec.body).unwrap_or_else(|_| "{}".into()),
        description: spec.description.clone(),
        input: if input.is_empty() { None } else { Some(input) },
        tags: Some(serde_json::to_string(&spec.tags).unwrap_or_else(|_| "[]".into())),
    })
}

/// A workbook's action: its `definition` is the section lang extracted.
pub fn new_action_from_workbook(spec: &lang::ActionSpec) -> ApiResult<NewAction> {
    new_action(spec, &spec.definition)
}

/// Parses an ad-hoc actions document into stored values (each keeps the whole text).
pub fn parse_actions(text: &str) -> ApiResult<Vec<NewAction>> {
    let specs = lang::parse_actions(text)?;
    specs.iter().map(|s| new_action(s, text)).collect()
}

/// One action as the list/get sees it.
#[derive(Debug, Clone)]
enum Descriptor {
    Builtin(&'static BuiltinAction),
    AdHoc(Box<ActionRow>),
}

impl Descriptor {
    fn name(&self) -> &str {
        match self {
            Descriptor::Builtin(b) => &b.name,
            Descriptor::AdHoc(r) => &r.name,
        }
    }

    /// Attribute values for filtering/sorting; `None` = the descriptor lacks the attribute.
    fn attr(&self, key: &str) -> Option<Value> {
        match self {
            Descriptor::Builtin(b) => match key {
                "name" => Some(json!(b.name)),
                "description" => Some(json!(b.description)),
                "namespace" => Some(json!("")),
                "input" => Some(json!(b.input)),
                _ => None,
            },
            Descriptor::AdHoc(r) => match key {
                "id" => Some(json!(r.id)),
                "name" => Some(json!(r.name)),
                "description" => Some(
                    r.description
                        .clone()
                        .map(Value::String)
                        .unwrap_or(Value::Null),
                ),
                "namespace" => Some(json!(r.namespace)),
                "input" => Some(r.input.clone().map(Value::String).unwrap_or(Value::Null)),
                "scope" => Some(json!(r.scope)),
                "project_id" => Some(json!(r.project_id)),
                "definition" => Some(json!(r.definition)),
                "is_system" => Some(json!(r.is_system)),
                "tags" => Some(stored_tags(&r.tags)),
                "created_at" => Some(ts_value(&Some(r.created_at))),
                "updated_at" => Some(ts_value(&r.updated_at)),
                _ => None,
            },
        }
    }

    fn to_json(&self, upload: bool) -> Map<String, Value> {
        let mut m = Map::new();
        match self {
            Descriptor::Builtin(b) => {
                m.insert("id".into(), json!(b.name));
                m.insert("name".into(), json!(b.name));
                m.insert("is_system".into(), json!(false));
                m.insert("input".into(), json!(b.input));
                m.insert("description".into(), json!(b.description));
                m.insert("tags".into(), Value::Null);
                m.insert("definition".into(), json!(""));
                m.insert("scope".into(), Value::Null);
                m.insert("project_id".into(), Value::Null);
                m.insert("created_at".into(), json!(""));
                m.insert("updated_at".into(), json!(""));
                m.insert("namespace".into(), json!(""));
            }
            Descriptor::AdHoc(r) => {
                m.insert("id".into(), json!(r.id));
                m.insert("name".into(), json!(r.name));
                m.insert("is_system".into(), json!(false));
                let input = match (&r.input, upload) {
                    (Some(i), _) => json!(i),
                    (None, true) => Value::Null,
                    (None, false) => json!(""),
                };
                m.insert("input".into(), input);
                m.insert(
                    "description".into(),
                    r.description
                        .clone()
                        .map(Value::String)
                        .unwrap_or(Value::Null),
                );
                m.insert("tags".into(), stored_tags(&r.tags));
                m.insert("definition".into(), json!(r.definition));
                m.insert("scope".into(), json!(r.scope));
                m.insert("project_id".into(), json!(r.project_id));
                m.insert("created_at".into(), ts_value(&Some(r.created_at)));
                if !(upload && r.updated_at.is_none()) {
                    m.insert("updated_at".into(), ts_value(&r.updated_at));
                }
                m.insert("namespace".into(), json!(r.namespace));
            }
        }
        m
    }
}

fn upload_response(status: StatusCode, rows: &[ActionRow]) -> Response {
    let list: Vec<Value> = rows
        .iter()
        .map(|r| Value::Object(Descriptor::AdHoc(Box::new(r.clone())).to_json(true)))
        .collect();
    json_response(status, &json!({ "actions": list }), JSON_UTF8)
}

pub async fn create(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    let q = Query::parse(raw.as_deref());
    let namespace = q.text("namespace", "");
    let text = read_text(&st, body).await?;
    let scope = upload_scope(&q, &c)?;
    let items = super::blocking(move || parse_actions(&text))
        .await
        .map_err(ApiError::text)?;
    let rows = st
        .db
        .write(move |conn| definitions::create_actions(conn, &c, &items, &scope, &namespace))
        .await
        .map_err(|e| ApiError::from(e).text())?;
    Ok(upload_response(StatusCode::CREATED, &rows))
}

async fn do_update(
    st: AppState,
    headers: HeaderMap,
    raw: Option<String>,
    body: Body,
    identifier: Option<String>,
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    let q = Query::parse(raw.as_deref());
    let namespace = q.text("namespace", "");
    let text = read_text(&st, body).await?;
    let scope = upload_scope(&q, &c)?;
    let items = super::blocking(move || parse_actions(&text))
        .await
        .map_err(ApiError::text)?;
    let rows = st
        .db
        .write(move |conn| {
            definitions::update_actions(conn, &c, &items, &scope, identifier.as_deref(), &namespace)
        })
        .await
        .map_err(|e| ApiError::from(e).text())?;
    Ok(upload_response(StatusCode::OK, &rows))
}

pub async fn update(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    do_update(st, headers, raw, body, None).await
}

pub async fn update_one(
    State(st): State<AppState>,
    Path(identifier): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    do_update(st, headers, raw, body, Some(identifier)).await
}

async fn get_impl(
    st: AppState,
    headers: HeaderMap,
    identifier: String,
    path_ns: Option<String>,
    raw: Option<String>,
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    let q = Query::parse(raw.as_deref());
    q.only(&["namespace"])?;
    let namespace = path_ns.unwrap_or_else(|| q.text("namespace", ""));
    if let Some(b) = builtin_actions::find(&identifier)
        .or_else(|| crate::executor::python::find_listed(&identifier))
    {
        return Ok(json_response(
            StatusCode::OK,
            &Value::Object(Descriptor::Builtin(b).to_json(false)),
            JSON,
        ));
    }
    let vis = c.visibility();
    let (id2, ns2) = (identifier.clone(), namespace.clone());
    let row = st
        .db
        .read(move |conn| definitions::find_action(conn, vis.as_deref(), &id2, &ns2))
        .await?;
    match row {
        Some(r) => Ok(json_response(
            StatusCode::OK,
            &Value::Object(Descriptor::AdHoc(Box::new(r)).to_json(false)),
            JSON,
        )),
        None => Err(ApiError::not_found(format!(
            "Action not found [name={identifier}, namespace={namespace}]"
        ))),
    }
}

pub async fn get_one(
    State(st): State<AppState>,
    Path(identifier): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    get_impl(st, headers, identifier, None, raw).await
}

pub async fn get_one_ns(
    State(st): State<AppState>,
    Path((identifier, ns)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    get_impl(st, headers, identifier, Some(ns), raw).await
}

async fn delete_impl(
    st: AppState,
    headers: HeaderMap,
    identifier: String,
    path_ns: Option<String>,
    raw: Option<String>,
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    let q = Query::parse(raw.as_deref());
    q.only(&["namespace"])?;
    let namespace = path_ns.unwrap_or_else(|| q.text("namespace", ""));
    st.db
        .write(move |conn| definitions::delete_action(conn, &c, &identifier, &namespace))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn delete(
    State(st): State<AppState>,
    Path(identifier): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    delete_impl(st, headers, identifier, None, raw).await
}

pub async fn delete_ns(
    State(st): State<AppState>,
    Path((identifier, ns)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    delete_impl(st, headers, identifier, Some(ns), raw).await
}

pub async fn validate(State(st): State<AppState>, body: Body) -> Result<Response, ApiError> {
    let text = read_text(&st, body).await?;
    Ok(super::workflows::validation_response(lang::parse_actions(
        &text,
    )))
}

/// Python comparison of two attribute values (`None` only equals `None`).
fn py_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        _ => None,
    }
}

fn filter_value(attr: &Value, raw: &str) -> Value {
    match attr {
        Value::Bool(_) => match raw.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Value::Bool(true),
            "false" | "0" | "no" | "off" => Value::Bool(false),
            _ => Value::String(raw.to_string()),
        },
        Value::String(s) if parse_timestamp(s).is_some() && s.len() >= 10 => {
            // Timestamps compare as instants.
            parse_timestamp(raw)
                .map(|t| json!(crate::db::format_ts(&t)))
                .unwrap_or(Value::String(raw.to_string()))
        }
        _ => Value::String(raw.to_string()),
    }
}

/// `match_filter`: attributes a descriptor lacks never exclude it.
fn matches(d: &Descriptor, f: &Filter) -> bool {
    let Some(attr) = d.attr(&f.column) else {
        return true;
    };
    match (&f.value, f.op) {
        (FilterValue::Many(items), Op::In) => items.iter().any(|i| filter_value(&attr, i) == attr),
        (FilterValue::Many(items), Op::Nin) => {
            !items.iter().any(|i| filter_value(&attr, i) == attr)
        }
        (FilterValue::Many(items), _) => items.iter().any(|i| filter_value(&attr, i) == attr),
        (FilterValue::One(v), op) => {
            let val = filter_value(&attr, v);
            match op {
                Op::Eq | Op::In => attr == val,
                Op::Neq | Op::Nin => attr != val,
                Op::Has => match &attr {
                    Value::String(s) => s.contains(v.as_str()),
                    Value::Array(items) => items.iter().any(|i| i.as_str() == Some(v.as_str())),
                    _ => false,
                },
                Op::Gt => py_cmp(&attr, &val) == Some(Ordering::Greater),
                Op::Gte => matches!(
                    py_cmp(&attr, &val),
                    Some(Ordering::Greater | Ordering::Equal)
                ),
                Op::Lt => py_cmp(&attr, &val) == Some(Ordering::Less),
                Op::Lte => matches!(py_cmp(&attr, &val), Some(Ordering::Less | Ordering::Equal)),
            }
        }
    }
}

pub async fn list(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    let q = Query::parse(raw.as_deref());
    let mut allowed = vec!["marker", "limit", "sort_keys", "sort_dirs", "fields"];
    allowed.extend_from_slice(FILTERS);
    q.only(&allowed)?;
    let marker = q.get("marker").map(str::to_string);
    let limit = q.int("limit")?;
    let mut sort_keys = q
        .unique_list("sort_keys")
        .unwrap_or_else(|| vec!["name".into()]);
    let mut sort_dirs = q.list("sort_dirs").unwrap_or_else(|| vec!["asc".into()]);
    validate_sorting(limit, &sort_keys, &mut sort_dirs)?;
    let mut filters = Vec::new();
    for name in FILTERS {
        match q.get(name) {
            Some(v) => filters.push(Filter::parse(name, v)),
            None if *name == "namespace" => filters.push(Filter::eq("namespace", "")),
            None => {}
        }
    }
    // The ad-hoc provider queries the database with a limit, which appends `id` to the keys.
    if limit.is_some() && !sort_keys.iter().any(|k| k == "id") {
        sort_keys.push("id".into());
        sort_dirs.push("asc".into());
    }
    let vis = c.visibility();
    let rows = st
        .db
        .read(move |conn| definitions::all_actions(conn, vis.as_deref()))
        .await?;
    // Python actions discovered from entry points list like the built-in ones.
    let mut all: Vec<Descriptor> = builtin_actions::all()
        .iter()
        .chain(crate::executor::python::listed())
        .map(Descriptor::Builtin)
        .collect();
    all.extend(rows.into_iter().map(|r| Descriptor::AdHoc(Box::new(r))));
    all.retain(|d| {
        filters.iter().all(|f| {
            if f.column == "tags" {
                // Tags: "contains all of a,b" for descriptors that have tags.
                return match (d.attr("tags"), &f.value) {
                    (None, _) => true,
                    (Some(Value::Array(have)), FilterValue::One(v)) if f.op == Op::Eq => v
                        .split(',')
                        .all(|t| have.iter().any(|h| h.as_str() == Some(t))),
                    (Some(_), _) => matches(d, f),
                };
            }
            matches(d, f)
        })
    });
    // [quirk] only the first sort key takes effect (upstream's comparator rebinds its operands).
    let key = sort_keys.first().cloned().unwrap_or_else(|| "name".into());
    let desc = sort_dirs.first().is_some_and(|d| d == "desc");
    all.sort_by(|a, b| {
        let (x, y) = (
            a.attr(&key).unwrap_or(Value::Null),
            b.attr(&key).unwrap_or(Value::Null),
        );
        let ord = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            _ => py_cmp(&x, &y).unwrap_or(Ordering::Greater),
        };
        if desc {
            ord.reverse()
        } else {
            ord
        }
    });
    let start = marker
        .as_ref()
        .and_then(|m| all.iter().position(|d| d.name() == m))
        .unwrap_or(0);
    let page: Vec<Descriptor> = match limit {
        Some(l) if l > 0 => all.into_iter().skip(start).take(l as usize).collect(),
        _ => all,
    };
    let items: Vec<Value> = page
        .iter()
        .map(|d| Value::Object(d.to_json(false)))
        .collect();
    let mut out = Map::new();
    let full = limit.is_some_and(|l| !items.is_empty() && items.len() as i64 == l);
    let last_id = items
        .last()
        .and_then(|i| i.get("id"))
        .and_then(Value::as_str)
        .map(str::to_string);
    out.insert("actions".into(), Value::Array(items));
    if let (true, Some(id), Some(l)) = (full, last_id, limit) {
        let mut s = format!(
            "{}/v2/actions?sort_keys={}&sort_dirs={}&",
            app_url(&headers),
            sort_keys.join(","),
            sort_dirs.join(",")
        );
        for f in &filters {
            s.push_str(&f.render());
            s.push('&');
        }
        s.push_str(&format!("limit={l}&marker={id}"));
        out.insert("next".into(), Value::String(s));
    }
    Ok(json_response(StatusCode::OK, &Value::Object(out), JSON))
}
