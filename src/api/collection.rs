//! The collection layer shared by every list endpoint: parsing and validating
//! marker/limit/sort_keys/sort_dirs/fields and filters, and rendering the envelope with its
//! exact `next` link.

use serde_json::{Map, Value};

use super::error::{ApiError, ApiResult};
use super::params::Query;
use crate::db::list::{Filter, ListSpec, SortDir};

/// What a collection accepts.
#[derive(Debug, Clone, Copy)]
pub struct CollectionDef {
    /// The collection name (`workflows`), used for the envelope and the `next` link.
    pub name: &'static str,
    /// Filterable attributes in upstream's order (the order of the `next` link).
    pub filters: &'static [&'static str],
    /// Other accepted arguments (`all_projects`, …).
    pub extra_args: &'static [&'static str],
    /// Attribute names of the resource (for `fields`).
    pub fields: &'static [&'static str],
    pub default_sort_key: &'static str,
}

/// A validated list request.
#[derive(Debug, Clone)]
pub struct ListRequest {
    pub marker: Option<String>,
    /// Effective limit (after clamping).
    pub limit: i64,
    pub sort_keys: Vec<String>,
    pub sort_dirs: Vec<String>,
    /// Requested fields with `id` first; empty = all.
    pub fields: Vec<String>,
    /// Active filters in the collection's filter order (including `tags`).
    pub filters: Vec<Filter>,
}

impl ListRequest {
    /// Parses the common list arguments (with upstream's order of checks).
    pub fn parse(q: &Query, def: &CollectionDef, max_limit: i64) -> ApiResult<ListRequest> {
        let mut allowed: Vec<&str> = vec!["marker", "limit", "sort_keys", "sort_dirs", "fields"];
        allowed.extend_from_slice(def.filters);
        allowed.extend_from_slice(def.extra_args);
        q.only(&allowed)?;
        let marker = q.uuid("marker")?;
        let limit = q.int("limit")?;
        let sort_keys = q
            .unique_list("sort_keys")
            .unwrap_or_else(|| vec![def.default_sort_key.to_string()]);
        let mut sort_dirs = q
            .list("sort_dirs")
            .unwrap_or_else(|| vec!["asc".to_string()]);
        let mut fields = q.unique_list("fields").unwrap_or_default();
        if !fields.is_empty() && !fields.iter().any(|f| f == "id") {
            fields.insert(0, "id".to_string());
        }
        let limit = match limit {
            None => max_limit,
            Some(l) if l > max_limit => max_limit,
            Some(l) => l,
        };
        validate_sorting(Some(limit), &sort_keys, &mut sort_dirs)?;
        validate_fields(&fields, def.fields)?;
        let mut filters = Vec::new();
        for name in def.filters {
            if let Some(v) = q.get(name) {
                filters.push(Filter::parse(name, v));
            }
        }
        Ok(ListRequest {
            marker,
            limit,
            sort_keys,
            sort_dirs,
            fields,
            filters,
        })
    }

    /// Adds an implicit filter (e.g. the parent id of a nested list).
    pub fn with_filter(mut self, f: Filter) -> Self {
        self.filters.retain(|x| x.column != f.column);
        self.filters.push(f);
        self
    }

    /// The storage query: `id asc` is appended for stable keyset pagination.
    pub fn to_spec(&mut self, visibility: Option<String>) -> ListSpec {
        if !self.sort_keys.iter().any(|k| k == "id") {
            self.sort_keys.push("id".into());
            self.sort_dirs.push("asc".into());
        }
        let mut filters = Vec::new();
        let mut tags = None;
        for f in &self.filters {
            if f.column == "tags" {
                // Only equality is honoured for tags; `a,b` = all of them.
                if f.op == crate::db::list::Op::Eq {
                    if let crate::db::list::FilterValue::One(v) = &f.value {
                        if !v.is_empty() {
                            tags = Some(v.split(',').map(str::to_string).collect());
                        }
                    }
                }
                continue;
            }
            filters.push(f.clone());
        }
        ListSpec {
            filters,
            tags,
            nulls: Vec::new(),
            sort: self
                .sort_keys
                .iter()
                .zip(self.sort_dirs.iter())
                .map(|(k, d)| {
                    (
                        k.clone(),
                        if d == "desc" {
                            SortDir::Desc
                        } else {
                            SortDir::Asc
                        },
                    )
                })
                .collect(),
            limit: Some(self.limit),
            marker_id: self.marker.clone(),
            visibility,
        }
    }

    /// Keeps only the requested fields of an item (all when none were requested).
    pub fn project(&self, item: Map<String, Value>) -> Map<String, Value> {
        if self.fields.is_empty() {
            return item;
        }
        // WSME renders attributes in the resource's order, whatever the request's order.
        let mut item = item;
        item.retain(|k, _| self.fields.iter().any(|f| f == k));
        item
    }

    /// `{"<collection>": [...]}` plus `next` when the page is full.
    pub fn envelope(
        &self,
        app_url: &str,
        def: &CollectionDef,
        items: Vec<Map<String, Value>>,
    ) -> Value {
        let next = if !items.is_empty() && items.len() as i64 == self.limit {
            items
                .last()
                .and_then(|i| i.get("id"))
                .and_then(Value::as_str)
                .map(|id| self.next_link(app_url, def.name, id))
        } else {
            None
        };
        let mut m = Map::new();
        m.insert(
            def.name.to_string(),
            Value::Array(items.into_iter().map(Value::Object).collect()),
        );
        if let Some(n) = next {
            m.insert("next".into(), Value::String(n));
        }
        Value::Object(m)
    }

    /// [`ListRequest::envelope`] as JSON text, from items already written as JSON text
    /// (`last_id`: the id of the last item).
    pub fn envelope_text(
        &self,
        app_url: &str,
        def: &CollectionDef,
        items: &[String],
        last_id: Option<&str>,
    ) -> String {
        let len: usize = items.iter().map(|i| i.len() + 2).sum();
        let mut out = String::with_capacity(len + def.name.len() + 256);
        out.push('{');
        super::pyjson::write_str(&mut out, def.name);
        out.push_str(": [");
        for (i, it) in items.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(it);
        }
        out.push(']');
        if !items.is_empty() && items.len() as i64 == self.limit {
            if let Some(id) = last_id {
                out.push_str(", \"next\": ");
                super::pyjson::write_str(&mut out, &self.next_link(app_url, def.name, id));
            }
        }
        out.push('}');
        out
    }

    /// The exact upstream `next` link.
    pub fn next_link(&self, app_url: &str, collection: &str, marker: &str) -> String {
        let mut s = format!(
            "{app_url}/v2/{collection}?sort_keys={}&sort_dirs={}&",
            self.sort_keys.join(","),
            self.sort_dirs.join(",")
        );
        for f in &self.filters {
            s.push_str(&f.render());
            s.push('&');
        }
        s.push_str(&format!("limit={}&marker={marker}", self.limit));
        if !self.fields.is_empty() {
            s.push_str(&format!("&fields={}", self.fields.join(",")));
        }
        s
    }
}

/// A filter on a JSON-typed argument (`variables`, `input`, `output`, `params`, …): WSME
/// decodes the whole query value as JSON first (so `has:x` is a 400), then it is compared for
/// equality with the stored JSON text.
pub fn json_typed_filter(q: &Query, name: &str) -> ApiResult<Option<Filter>> {
    let Some(raw) = q.get(name) else {
        return Ok(None);
    };
    let parsed: Value = serde_json::from_str(raw).map_err(|e| {
        ApiError::bad_request(format!(
            "Invalid input for field/attribute {name}. Value: '{raw}'. unable to convert to json. Error: {}",
            super::jsonbody::python_json_error(raw, &e)
        ))
    })?;
    Ok(Some(Filter::eq(name, &super::pyjson::dumps(&parsed))))
}

/// `validate_query_params`: limit positive, dirs not longer than keys (then padded), known
/// directions.
pub fn validate_sorting(
    limit: Option<i64>,
    sort_keys: &[String],
    sort_dirs: &mut Vec<String>,
) -> ApiResult<()> {
    if let Some(l) = limit {
        if l <= 0 {
            return Err(ApiError::bad_request("Limit must be positive."));
        }
    }
    if sort_keys.len() < sort_dirs.len() {
        return Err(ApiError::bad_request(
            "Length of sort_keys must be equal or greater than sort_dirs.",
        ));
    }
    while sort_dirs.len() < sort_keys.len() {
        sort_dirs.push("asc".into());
    }
    if sort_dirs.iter().any(|d| d != "asc" && d != "desc") {
        return Err(ApiError::bad_request(
            "Unknown sort direction, must be 'desc' or 'asc'.",
        ));
    }
    Ok(())
}

/// The `fields` of a single-object GET (the only query argument it takes): validated against
/// `known`, with `id` put first when any field is asked for.
pub fn single_get_fields(raw: Option<&str>, known: &[&str]) -> ApiResult<Vec<String>> {
    let q = Query::parse(raw);
    q.only(&["fields"])?;
    let mut fields = q.unique_list("fields").unwrap_or_default();
    validate_fields(&fields, known)?;
    if !fields.is_empty() && !fields.iter().any(|f| f == "id") {
        fields.insert(0, "id".into());
    }
    Ok(fields)
}

pub fn validate_fields(fields: &[String], known: &[&str]) -> ApiResult<()> {
    let invalid: Vec<&str> = fields
        .iter()
        .map(String::as_str)
        .filter(|f| !known.contains(f))
        .collect();
    if invalid.is_empty() {
        return Ok(());
    }
    Err(ApiError::bad_request(format!(
        "Some fields do not exist  [{}], please choose from [{}]",
        invalid.join(", "),
        known.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEF: CollectionDef = CollectionDef {
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
        fields: &["id", "name", "namespace", "input"],
        default_sort_key: "created_at",
    };

    fn req(q: &str) -> ApiResult<ListRequest> {
        ListRequest::parse(&Query::parse(Some(q)), &DEF, 1000)
    }

    #[test]
    fn next_link_carries_sorting_filters_limit_marker_and_fields() {
        let mut r =
            req("limit=1&sort_keys=name&sort_dirs=desc&namespace=&name=in:wfa,wfb&fields=name")
                .unwrap();
        let _ = r.to_spec(None);
        assert_eq!(
            r.next_link("http://h:8989", "workflows", "M"),
            "http://h:8989/v2/workflows?sort_keys=name,id&sort_dirs=desc,asc&name=in:['wfa', 'wfb']&namespace=eq:&limit=1&marker=M&fields=id,name"
        );
    }

    #[test]
    fn limit_is_clamped_and_must_be_positive() {
        assert_eq!(req("").unwrap().limit, 1000);
        assert_eq!(req("limit=5000").unwrap().limit, 1000);
        assert_eq!(
            req("limit=0").unwrap_err().message,
            "Limit must be positive."
        );
        assert_eq!(
            req("limit=-1").unwrap_err().message,
            "Limit must be positive."
        );
    }

    #[test]
    fn sort_validation_messages_match_upstream() {
        assert_eq!(
            req("sort_keys=id,id&sort_dirs=asc,asc")
                .unwrap_err()
                .message,
            "Length of sort_keys must be equal or greater than sort_dirs."
        );
        assert_eq!(
            req("sort_dirs=up").unwrap_err().message,
            "Unknown sort direction, must be 'desc' or 'asc'."
        );
        assert_eq!(
            req("sort_keys=name,created_at").unwrap().sort_dirs,
            vec!["asc", "asc"]
        );
    }

    #[test]
    fn unknown_fields_and_arguments_are_rejected() {
        assert_eq!(
            req("fields=bogus").unwrap_err().message,
            "Some fields do not exist  [bogus], please choose from [id, name, namespace, input]"
        );
        assert_eq!(
            req("created_at>1").unwrap_err().message,
            "Unknown argument: \"created_at>1\""
        );
    }

    #[test]
    fn envelope_has_next_only_for_full_pages() {
        let mut r = req("limit=1").unwrap();
        let _ = r.to_spec(None);
        let mut item = Map::new();
        item.insert("id".into(), Value::String("abc".into()));
        let v = r.envelope("http://h", &DEF, vec![item]);
        assert_eq!(
            v["next"],
            "http://h/v2/workflows?sort_keys=created_at,id&sort_dirs=asc,asc&limit=1&marker=abc"
        );
        let v = r.envelope("http://h", &DEF, vec![]);
        assert!(v.get("next").is_none());
    }

    #[test]
    fn tags_filter_means_all_of_the_listed_tags() {
        let mut r = req("tags=a,b").unwrap();
        let spec = r.to_spec(None);
        assert_eq!(spec.tags, Some(vec!["a".to_string(), "b".to_string()]));
        assert!(spec.filters.is_empty());
    }
}
