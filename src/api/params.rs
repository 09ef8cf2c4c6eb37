//! Query-string arguments the way WSME/pecan read them: last occurrence wins, unknown
//! arguments are 400, typed conversions give WSME's fault strings, booleans are quirky.

use std::collections::HashMap;

use super::error::{ApiError, ApiResult};

/// Parsed query arguments, in first-appearance order, last value winning.
#[derive(Debug, Clone, Default)]
pub struct Query {
    order: Vec<String>,
    values: HashMap<String, String>,
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        let mut q = Query::default();
        if let Some(raw) = raw {
            for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
                let k = k.into_owned();
                if !q.values.contains_key(&k) {
                    q.order.push(k.clone());
                }
                q.values.insert(k, v.into_owned());
            }
        }
        q
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    pub fn has(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.order.iter().map(String::as_str)
    }

    /// 400 `Unknown argument: "<name>"` for the first argument not in `allowed`.
    pub fn only(&self, allowed: &[&str]) -> ApiResult<()> {
        for k in self.keys() {
            if !allowed.contains(&k) {
                return Err(ApiError::bad_request(format!("Unknown argument: \"{k}\"")));
            }
        }
        Ok(())
    }

    /// A text argument with a default (`namespace=''`).
    pub fn text(&self, key: &str, default: &str) -> String {
        self.get(key).unwrap_or(default).to_string()
    }

    /// WSME `int`.
    pub fn int(&self, key: &str) -> ApiResult<Option<i64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => parse_py_int(v).map(Some).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "Invalid input for field/attribute {key}. Value: '{v}'. unable to convert to int. Error: invalid literal for int() with base 10: '{v}'"
                ))
            }),
        }
    }

    /// WSME `bool` from a query string: any non-empty value is true **[quirk]**.
    pub fn flag(&self, key: &str) -> bool {
        self.get(key).is_some_and(|v| !v.is_empty())
    }

    /// Mistral's `uuid` type (accepts an `op:` prefix, returns the value).
    pub fn uuid(&self, key: &str) -> ApiResult<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => {
                let f = crate::db::list::Filter::parse(key, v);
                let data = match f.value {
                    crate::db::list::FilterValue::One(s) => s,
                    crate::db::list::FilterValue::Many(items) => items.join(","),
                };
                if is_uuid_like(&data) {
                    Ok(Some(data))
                } else {
                    Err(ApiError::bad_request(format!(
                        "Invalid input for field/attribute {key}. Value: '{v}'. unable to convert to uuid. Error: Expected a uuid but received {data}."
                    )))
                }
            }
        }
    }

    /// Mistral's `list` type: comma list, trimmed, lower-cased, empties dropped.
    pub fn list(&self, key: &str) -> Option<Vec<String>> {
        self.get(key).map(split_list)
    }

    /// Mistral's `uniquelist`: [`Query::list`] without duplicates.
    pub fn unique_list(&self, key: &str) -> Option<Vec<String>> {
        self.get(key).map(|v| {
            let mut seen = std::collections::HashSet::new();
            split_list(v)
                .into_iter()
                .filter(|x| seen.insert(x.clone()))
                .collect()
        })
    }
}

pub fn split_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Python `int(str)`: optional sign, digits, surrounding whitespace, `_` separators.
pub fn parse_py_int(v: &str) -> Option<i64> {
    let t = v.trim();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    if !clean.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let n: i64 = clean.parse().ok()?;
    Some(if neg { -n } else { n })
}

/// oslo `is_uuid_like`.
pub fn is_uuid_like(v: &str) -> bool {
    uuid::Uuid::parse_str(v).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_repeated_argument_wins_and_unknown_ones_are_named() {
        let q = Query::parse(Some("name=in:a,b&name=a&x=1"));
        assert_eq!(q.get("name"), Some("a"));
        assert_eq!(
            q.only(&["name"]).unwrap_err().message,
            "Unknown argument: \"x\""
        );
    }

    #[test]
    fn wsme_conversions_word_their_errors_like_upstream() {
        let q = Query::parse(Some("limit=abc&marker=abc&all_projects=false&force="));
        assert_eq!(
            q.int("limit").unwrap_err().message,
            "Invalid input for field/attribute limit. Value: 'abc'. unable to convert to int. Error: invalid literal for int() with base 10: 'abc'"
        );
        assert_eq!(
            q.uuid("marker").unwrap_err().message,
            "Invalid input for field/attribute marker. Value: 'abc'. unable to convert to uuid. Error: Expected a uuid but received abc."
        );
        assert!(q.flag("all_projects"));
        assert!(!q.flag("force"));
        assert_eq!(parse_py_int(" 12 "), Some(12));
        assert_eq!(parse_py_int("1_000"), Some(1000));
    }

    #[test]
    fn list_types_trim_lowercase_and_dedupe() {
        let q = Query::parse(Some("sort_keys=Name,%20id,id&sort_dirs=ASC,asc"));
        assert_eq!(q.unique_list("sort_keys").unwrap(), vec!["name", "id"]);
        assert_eq!(q.list("sort_dirs").unwrap(), vec!["asc", "asc"]);
    }
}
