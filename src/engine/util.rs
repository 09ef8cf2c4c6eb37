//! Small helpers: Python `str()`/`repr()` of JSON values (for upstream's texts), truthiness,
//! and data-context merging with context versions (engine.md §3.4).

use md5::{Digest, Md5};
use serde_json::{Map, Value};

/// Python truthiness of a JSON value.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().map(|f| f != 0.0).unwrap_or(true),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let a = f.abs();
    if a != 0.0 && !(1e-4..1e16).contains(&a) {
        // Python: 1e-05, 1e+16, 1.5e+20
        let s = format!("{f:e}");
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mant}e{sign}{:02}", exp.abs());
    }
    let s = format!("{f}");
    if s.contains('.') {
        s
    } else {
        format!("{s}.0")
    }
}

fn number_repr(n: &serde_json::Number) -> String {
    if n.is_f64() {
        float_repr(n.as_f64().unwrap_or(0.0))
    } else {
        n.to_string()
    }
}

/// Python `repr()` of a string.
pub fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python `repr()` of a JSON value (dicts/lists as Python literals).
pub fn py_repr(v: &Value) -> String {
    match v {
        Value::String(s) => str_repr(s),
        other => py_str(other),
    }
}

/// Python `str()` of a JSON value.
pub fn py_str(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => number_repr(n),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(py_repr).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Object(m) => {
            let inner: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}: {}", str_repr(k), py_repr(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

/// Python list repr of strings: `['a', 'b']`.
pub fn py_str_list<S: AsRef<str>>(items: &[S]) -> String {
    let inner: Vec<String> = items.iter().map(|s| str_repr(s.as_ref())).collect();
    format!("[{}]", inner.join(", "))
}

/// Deep merge: `src` into `dst`, `src` wins for non-mapping values (upstream `merge_dicts`).
pub fn deep_merge(dst: &mut Map<String, Value>, src: &Map<String, Value>) {
    for (k, v) in src {
        match (dst.get_mut(k), v) {
            (Some(Value::Object(d)), Value::Object(s)) => deep_merge(d, s),
            _ => {
                dst.insert(k.clone(), v.clone());
            }
        }
    }
}

pub const VERSIONS_KEY: &str = "__versions";

/// The version key of a published path (MD5 hex, `hash_version_keys = true`).
pub fn version_key(path: &str) -> String {
    let mut h = Md5::new();
    h.update(path.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn leaf_paths(prefix: &str, v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, sub) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaf_paths(&p, sub, out);
            }
        }
        _ => out.push(prefix.to_string()),
    }
}

/// A task's outbound context: `in_context` updated with `published` (top-level replace) and
/// the versions of every published leaf path incremented (engine.md §3.2, §3.4).
pub fn outbound_context(
    in_context: &Map<String, Value>,
    published: &Map<String, Value>,
) -> Map<String, Value> {
    let mut out = in_context.clone();
    if published.is_empty() {
        return out;
    }
    let mut versions = match out.get(VERSIONS_KEY) {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    for (k, v) in published {
        out.insert(k.clone(), v.clone());
        let mut paths = Vec::new();
        leaf_paths(k, v, &mut paths);
        for p in paths {
            let key = version_key(&p);
            let n = versions.get(&key).and_then(Value::as_u64).unwrap_or(0);
            versions.insert(key, Value::from(n + 1));
        }
    }
    out.insert(VERSIONS_KEY.into(), Value::Object(versions));
    out
}

fn version_of(versions: &Map<String, Value>, path: &str) -> u64 {
    versions
        .get(&version_key(path))
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

fn merge_versioned(
    base: &mut Map<String, Value>,
    base_versions: &Map<String, Value>,
    other: &Map<String, Value>,
    other_versions: &Map<String, Value>,
    prefix: &str,
) {
    for (k, v) in other {
        if prefix.is_empty() && k == VERSIONS_KEY {
            continue;
        }
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match base.get_mut(k) {
            None => {
                base.insert(k.clone(), v.clone());
            }
            Some(Value::Object(b)) if v.is_object() => {
                if let Value::Object(o) = v {
                    merge_versioned(b, base_versions, o, other_versions, &path);
                }
            }
            Some(slot) => {
                if version_of(other_versions, &path) > version_of(base_versions, &path) {
                    *slot = v.clone();
                }
            }
        }
    }
}

fn versions_of(ctx: &Map<String, Value>) -> Map<String, Value> {
    match ctx.get(VERSIONS_KEY) {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    }
}

/// Merges several data contexts by version (engine.md §3.4): the last one is the base; a value
/// from another context replaces the base's only when its version is strictly greater.
pub fn merge_contexts(contexts: &[Map<String, Value>]) -> Map<String, Value> {
    let Some((last, rest)) = contexts.split_last() else {
        return Map::new();
    };
    let mut base = last.clone();
    for other in rest {
        merge_into(&mut base, other);
    }
    base
}

/// Merges `other` into `base` by version rules, then merges the version maps with `max`.
pub fn merge_into(base: &mut Map<String, Value>, other: &Map<String, Value>) {
    let bv = versions_of(base);
    let ov = versions_of(other);
    merge_versioned(base, &bv, other, &ov, "");
    if bv.is_empty() && ov.is_empty() {
        return;
    }
    let mut merged = bv;
    for (k, v) in ov {
        let n = v.as_u64().unwrap_or(0);
        let cur = merged.get(&k).and_then(Value::as_u64).unwrap_or(0);
        if n > cur || !merged.contains_key(&k) {
            merged.insert(k, Value::from(n.max(cur)));
        }
    }
    base.insert(VERSIONS_KEY.into(), Value::Object(merged));
}

/// A view over layers, highest priority first: the first layer holding a key wins.
pub fn layered_view(layers: &[&Map<String, Value>]) -> Value {
    let mut out = Map::new();
    for layer in layers.iter().rev() {
        for (k, v) in layer.iter() {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn py_str_matches_python_conventions() {
        assert_eq!(
            py_str(&json!({"status": 404, "ok": false, "x": null})),
            "{'status': 404, 'ok': False, 'x': None}"
        );
        assert_eq!(py_str(&json!(["it's", "a"])), "[\"it's\", 'a']");
        assert_eq!(py_str(&json!(2.0)), "2.0");
        assert_eq!(py_str(&json!(1e-5)), "1e-05");
        assert_eq!(py_str(&json!("plain")), "plain");
    }

    #[test]
    fn outbound_context_counts_versions_per_leaf_path() {
        let ctx = outbound_context(&Map::new(), &m(json!({"a": 1, "d": {"x": 1, "y": 2}})));
        let v = ctx[VERSIONS_KEY].as_object().unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[&version_key("d.x")], json!(1));
        let again = outbound_context(&ctx, &m(json!({"a": 2})));
        assert_eq!(again[VERSIONS_KEY][version_key("a")], json!(2));
    }

    #[test]
    fn merge_keeps_base_on_equal_versions_and_takes_newer_values() {
        let a = outbound_context(&Map::new(), &m(json!({"x": "a"})));
        let b = outbound_context(&Map::new(), &m(json!({"x": "b", "y": 1})));
        let merged = merge_contexts(&[a.clone(), b.clone()]);
        assert_eq!(merged["x"], json!("b"));
        assert_eq!(merged["y"], json!(1));
        let a2 = outbound_context(&a, &m(json!({"x": "a2"})));
        let merged = merge_contexts(&[a2, b]);
        assert_eq!(merged["x"], json!("a2"));
    }

    #[test]
    fn layered_view_prefers_earlier_layers() {
        let hi = m(json!({"a": 1}));
        let lo = m(json!({"a": 2, "b": 3}));
        assert_eq!(layered_view(&[&hi, &lo]), json!({"a": 1, "b": 3}));
    }
}
