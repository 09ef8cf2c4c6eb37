//! A small JSON-schema validator reproducing what upstream gets from `jsonschema` 4.x
//! (`jsonschema.validate` = Draft 2020-12 + `best_match`) for the keywords Mistral's DSL
//! schemas use: type, properties, patternProperties, additionalProperties, required,
//! minProperties, maxProperties, items, minItems, uniqueItems, minLength, minimum, enum,
//! pattern, oneOf, anyOf, not.
//!
//! Keywords are evaluated in the schema's key order (as Python dicts iterate), and the
//! reported error is chosen with jsonschema's relevance heuristic, so the first line of
//! upstream's `Invalid DSL: ...` message is reproduced.

use regex::Regex;
use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::LazyLock;
use std::sync::Mutex;

use super::pyrepr::{py_repr, py_repr_str};

#[derive(Debug, Clone, PartialEq)]
pub enum PathItem {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone)]
pub struct SchemaError {
    pub message: String,
    /// The failing keyword (`required`, `type`, ...).
    pub validator: String,
    /// Instance path relative to where validation of the enclosing keyword started.
    pub path: Vec<PathItem>,
    /// Absolute instance path.
    #[allow(dead_code)]
    pub abs_path: Vec<PathItem>,
    /// Schema path (keywords and keys) to the failing keyword.
    pub schema_path: Vec<PathItem>,
    /// The schema object holding the failing keyword.
    pub schema: Value,
    /// The instance that failed.
    pub instance: Value,
    pub context: Vec<SchemaError>,
}

static QUANT_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\{\d+(,\d*)?\}").unwrap());

static REGEX_CACHE: LazyLock<Mutex<HashMap<String, Option<Regex>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

thread_local! {
    /// A Python `TypeError` raised while validating (regex search on a non-string key):
    /// it aborts validation with its own text, like upstream.
    static TYPE_ERROR: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// `re.search(pattern, key)` for a mapping key.
fn key_search(pattern: &str, key: &str) -> bool {
    if let Some((ty, _)) = super::yaml::nonstr_key(key) {
        TYPE_ERROR.with(|t| {
            let mut t = t.borrow_mut();
            if t.is_none() {
                *t = Some(format!("expected string or bytes-like object, got '{ty}'"));
            }
        });
        return false;
    }
    re_search(pattern, key)
}

/// `repr()` of a mapping key (non-string YAML keys print as Python values).
fn key_repr(key: &str) -> String {
    match super::yaml::nonstr_key(key) {
        Some((_, r)) => r.to_string(),
        None => py_repr_str(key),
    }
}

fn re_search(pattern: &str, text: &str) -> bool {
    // Rust's regex has no look-ahead: the workbook key pattern `^(?!version$)[\w-]+$`.
    if let Some(rest) = pattern.strip_prefix("^(?!version$)") {
        let is_version = text == "version" || text == "version\n";
        return !is_version && re_search(&format!("^{rest}"), text);
    }
    let mut cache = REGEX_CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(re) = cache.get(pattern) {
        return re.as_ref().map(|r| r.is_match(text)).unwrap_or(false);
    }
    let re = Regex::new(&python_regex_to_rust(pattern)).ok();
    let m = re.as_ref().map(|r| r.is_match(text)).unwrap_or(false);
    cache.insert(pattern.to_string(), re);
    m
}

/// Python's `re` accepts literal `{`/`}` where they cannot be a repetition; Rust needs them
/// escaped. Python's `$` also matches before a final newline.
fn python_regex_to_rust(p: &str) -> String {
    let chars: Vec<char> = p.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let mut in_class = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() {
            out.push(c);
            out.push(chars[i + 1]);
            i += 2;
            continue;
        }
        if in_class {
            if c == ']' {
                in_class = false;
            }
            out.push(c);
        } else if c == '[' {
            in_class = true;
            out.push(c);
        } else if c == '{' || c == '}' {
            // A quantifier looks like {n}, {n,}, {n,m}: keep those.
            if c == '{' {
                let rest: String = chars[i..].iter().collect();
                if let Some(m) = QUANT_RE.find(&rest) {
                    out.push_str(m.as_str());
                    i += m.as_str().chars().count();
                    continue;
                }
            }
            out.push('\\');
            out.push(c);
        } else if c == '$' {
            out.push_str(r"(?:\n?\z)");
        } else {
            out.push(c);
        }
        i += 1;
    }
    out
}

fn is_type(v: &Value, t: &str) -> bool {
    if let Value::String(s) = v {
        if s.starts_with(super::yaml::TIMESTAMP_MARK) {
            return false;
        }
    }
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "number" => v.is_number(),
        "integer" => match v {
            Value::Number(n) => {
                n.is_i64() || n.is_u64() || n.as_f64().map(|f| f.fract() == 0.0).unwrap_or(false)
            }
            _ => false,
        },
        _ => false,
    }
}

/// Python equality as jsonschema's `equal` uses it (bools are not numbers).
pub fn py_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| py_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).map(|w| py_equal(v, w)).unwrap_or(false))
        }
        _ => a == b,
    }
}

fn python_len(s: &str) -> usize {
    s.chars().count()
}

struct Ctx<'a> {
    abs: &'a [PathItem],
}

fn err(
    message: String,
    validator: &str,
    schema: &Value,
    instance: &Value,
    ctx: &Ctx,
) -> SchemaError {
    SchemaError {
        message,
        validator: validator.to_string(),
        path: Vec::new(),
        abs_path: ctx.abs.to_vec(),
        schema_path: vec![PathItem::Key(validator.to_string())],
        schema: schema.clone(),
        instance: instance.clone(),
        context: Vec::new(),
    }
}

fn descend(
    instance: &Value,
    schema: &Value,
    path: Option<PathItem>,
    schema_path: Option<PathItem>,
    ctx: &Ctx,
) -> Vec<SchemaError> {
    let mut abs = ctx.abs.to_vec();
    if let Some(p) = &path {
        abs.push(p.clone());
    }
    let sub = Ctx { abs: &abs };
    let mut errors = iter_errors(instance, schema, &sub);
    for e in errors.iter_mut() {
        if let Some(p) = &path {
            e.path.insert(0, p.clone());
        }
        if let Some(sp) = &schema_path {
            e.schema_path.insert(0, sp.clone());
        }
    }
    errors
}

fn is_valid(instance: &Value, schema: &Value) -> bool {
    valid(instance, schema)
}

/// All errors of `instance` against `schema`, in jsonschema's iteration order.
fn iter_errors(instance: &Value, schema: &Value, ctx: &Ctx) -> Vec<SchemaError> {
    let mut out = Vec::new();
    let obj = match schema {
        Value::Object(o) => o,
        Value::Bool(false) => {
            out.push(err(
                format!("False schema does not allow {}", py_repr(instance)),
                "false",
                schema,
                instance,
                ctx,
            ));
            return out;
        }
        _ => return out,
    };
    for (kw, kv) in obj {
        let mut new: Vec<SchemaError> = Vec::new();
        match kw.as_str() {
            "type" => {
                let types: Vec<&str> = match kv {
                    Value::String(s) => vec![s.as_str()],
                    Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                    _ => vec![],
                };
                if !types.iter().any(|t| is_type(instance, t)) {
                    let reprs: Vec<String> = types.iter().map(|t| py_repr_str(t)).collect();
                    new.push(err(
                        format!("{} is not of type {}", py_repr(instance), reprs.join(", ")),
                        kw,
                        schema,
                        instance,
                        ctx,
                    ));
                }
            }
            "properties" => {
                if let (Value::Object(inst), Value::Object(props)) = (instance, kv) {
                    for (p, sub) in props {
                        if let Some(v) = inst.get(p) {
                            let mut es = descend(
                                v,
                                sub,
                                Some(PathItem::Key(p.clone())),
                                Some(PathItem::Key(p.clone())),
                                ctx,
                            );
                            for e in es.iter_mut() {
                                e.schema_path.insert(0, PathItem::Key(kw.clone()));
                            }
                            new.extend(es);
                        }
                    }
                }
            }
            "patternProperties" => {
                if let (Value::Object(inst), Value::Object(pats)) = (instance, kv) {
                    for (pat, sub) in pats {
                        for (k, v) in inst {
                            if key_search(pat, k) {
                                let mut es = descend(
                                    v,
                                    sub,
                                    Some(PathItem::Key(k.clone())),
                                    Some(PathItem::Key(pat.clone())),
                                    ctx,
                                );
                                for e in es.iter_mut() {
                                    e.schema_path.insert(0, PathItem::Key(kw.clone()));
                                }
                                new.extend(es);
                            }
                        }
                    }
                }
            }
            "additionalProperties" => {
                if let Value::Object(inst) = instance {
                    let props = obj.get("properties").and_then(Value::as_object);
                    let pats = obj.get("patternProperties").and_then(Value::as_object);
                    let extras: Vec<&String> = inst
                        .keys()
                        .filter(|k| {
                            !props.map(|p| p.contains_key(*k)).unwrap_or(false)
                                && !pats
                                    .map(|p| p.keys().any(|pat| key_search(pat, k)))
                                    .unwrap_or(false)
                        })
                        .collect();
                    if kv.is_object() {
                        for extra in &extras {
                            let mut es = descend(
                                &inst[*extra],
                                kv,
                                Some(PathItem::Key((*extra).clone())),
                                None,
                                ctx,
                            );
                            for e in es.iter_mut() {
                                e.schema_path.insert(0, PathItem::Key(kw.clone()));
                            }
                            new.extend(es);
                        }
                    } else if kv == &Value::Bool(false) && !extras.is_empty() {
                        let mut sorted: Vec<&String> = extras.clone();
                        sorted.sort();
                        if let Some(p) = pats {
                            let verb = if sorted.len() == 1 { "does" } else { "do" };
                            let joined: Vec<String> = sorted.iter().map(|e| key_repr(e)).collect();
                            let mut pk: Vec<&String> = p.keys().collect();
                            pk.sort();
                            let patterns: Vec<String> = pk.iter().map(|e| py_repr_str(e)).collect();
                            new.push(err(
                                format!(
                                    "{} {verb} not match any of the regexes: {}",
                                    joined.join(", "),
                                    patterns.join(", ")
                                ),
                                kw,
                                schema,
                                instance,
                                ctx,
                            ));
                        } else {
                            let verb = if sorted.len() == 1 { "was" } else { "were" };
                            let joined: Vec<String> = sorted.iter().map(|e| key_repr(e)).collect();
                            new.push(err(
                                format!(
                                    "Additional properties are not allowed ({} {verb} unexpected)",
                                    joined.join(", ")
                                ),
                                kw,
                                schema,
                                instance,
                                ctx,
                            ));
                        }
                    }
                }
            }
            "required" => {
                if let (Value::Object(inst), Value::Array(req)) = (instance, kv) {
                    for r in req.iter().filter_map(Value::as_str) {
                        if !inst.contains_key(r) {
                            new.push(err(
                                format!("{} is a required property", py_repr_str(r)),
                                kw,
                                schema,
                                instance,
                                ctx,
                            ));
                        }
                    }
                }
            }
            "minProperties" => {
                if let Value::Object(inst) = instance {
                    let m = kv.as_u64().unwrap_or(0) as usize;
                    if inst.len() < m {
                        let msg = if m == 1 {
                            "should be non-empty"
                        } else {
                            "does not have enough properties"
                        };
                        new.push(err(
                            format!("{} {msg}", py_repr(instance)),
                            kw,
                            schema,
                            instance,
                            ctx,
                        ));
                    }
                }
            }
            "maxProperties" => {
                if let Value::Object(inst) = instance {
                    let m = kv.as_u64().unwrap_or(0) as usize;
                    if inst.len() > m {
                        let msg = if m == 0 {
                            "is expected to be empty"
                        } else {
                            "has too many properties"
                        };
                        new.push(err(
                            format!("{} {msg}", py_repr(instance)),
                            kw,
                            schema,
                            instance,
                            ctx,
                        ));
                    }
                }
            }
            "items" => {
                if let Value::Array(items) = instance {
                    for (i, item) in items.iter().enumerate() {
                        let mut es = descend(item, kv, Some(PathItem::Index(i)), None, ctx);
                        for e in es.iter_mut() {
                            e.schema_path.insert(0, PathItem::Key(kw.clone()));
                        }
                        new.extend(es);
                    }
                }
            }
            "minItems" => {
                if let Value::Array(items) = instance {
                    let m = kv.as_u64().unwrap_or(0) as usize;
                    if items.len() < m {
                        let msg = if m == 1 {
                            "should be non-empty"
                        } else {
                            "is too short"
                        };
                        new.push(err(
                            format!("{} {msg}", py_repr(instance)),
                            kw,
                            schema,
                            instance,
                            ctx,
                        ));
                    }
                }
            }
            "uniqueItems" => {
                if let (Value::Array(items), Value::Bool(true)) = (instance, kv) {
                    let mut dup = false;
                    'outer: for i in 0..items.len() {
                        for j in (i + 1)..items.len() {
                            if py_equal(&items[i], &items[j]) {
                                dup = true;
                                break 'outer;
                            }
                        }
                    }
                    if dup {
                        new.push(err(
                            format!("{} has non-unique elements", py_repr(instance)),
                            kw,
                            schema,
                            instance,
                            ctx,
                        ));
                    }
                }
            }
            "minLength" => {
                if let Value::String(s) = instance {
                    let m = kv.as_u64().unwrap_or(0) as usize;
                    if python_len(s) < m {
                        let msg = if m == 1 {
                            "should be non-empty"
                        } else {
                            "is too short"
                        };
                        new.push(err(
                            format!("{} {msg}", py_repr(instance)),
                            kw,
                            schema,
                            instance,
                            ctx,
                        ));
                    }
                }
            }
            "minimum" => {
                if let (Value::Number(n), Value::Number(m)) = (instance, kv) {
                    if n.as_f64().unwrap_or(0.0) < m.as_f64().unwrap_or(0.0) {
                        new.push(err(
                            format!(
                                "{} is less than the minimum of {}",
                                py_repr(instance),
                                py_repr(kv)
                            ),
                            kw,
                            schema,
                            instance,
                            ctx,
                        ));
                    }
                }
            }
            "enum" => {
                if let Value::Array(options) = kv {
                    if !options.iter().any(|o| enum_equal(o, instance)) {
                        new.push(err(
                            format!("{} is not one of {}", py_repr(instance), py_repr(kv)),
                            kw,
                            schema,
                            instance,
                            ctx,
                        ));
                    }
                }
            }
            "pattern" => {
                if let (Value::String(s), Value::String(p)) = (instance, kv) {
                    if !re_search(p, s) {
                        new.push(err(
                            format!("{} does not match {}", py_repr(instance), py_repr_str(p)),
                            kw,
                            schema,
                            instance,
                            ctx,
                        ));
                    }
                }
            }
            "anyOf" | "oneOf" => {
                if let Value::Array(subs) = kv {
                    let mut all = Vec::new();
                    let mut first_valid: Option<usize> = None;
                    for (i, sub) in subs.iter().enumerate() {
                        let es = descend(instance, sub, None, Some(PathItem::Index(i)), ctx);
                        if es.is_empty() {
                            first_valid = Some(i);
                            break;
                        }
                        all.extend(es);
                    }
                    match first_valid {
                        None => {
                            let mut e = err(
                                format!(
                                    "{} is not valid under any of the given schemas",
                                    py_repr(instance)
                                ),
                                kw,
                                schema,
                                instance,
                                ctx,
                            );
                            e.context = all;
                            new.push(e);
                        }
                        Some(i) if kw == "oneOf" => {
                            let mut more: Vec<&Value> = subs[i + 1..]
                                .iter()
                                .filter(|s| is_valid(instance, s))
                                .collect();
                            if !more.is_empty() {
                                more.push(&subs[i]);
                                let reprs: Vec<String> = more.iter().map(|s| py_repr(s)).collect();
                                new.push(err(
                                    format!(
                                        "{} is valid under each of {}",
                                        py_repr(instance),
                                        reprs.join(", ")
                                    ),
                                    kw,
                                    schema,
                                    instance,
                                    ctx,
                                ));
                            }
                        }
                        Some(_) => {}
                    }
                }
            }
            "not" if is_valid(instance, kv) => {
                new.push(err(
                    format!(
                        "{} should not be valid under {}",
                        py_repr(instance),
                        py_repr(kv)
                    ),
                    kw,
                    schema,
                    instance,
                    ctx,
                ));
            }
            _ => {}
        }
        out.extend(new);
    }
    out
}

/// jsonschema's `equal` for enum: bools only equal bools; numbers compare numerically.
fn enum_equal(a: &Value, b: &Value) -> bool {
    py_equal(a, b)
}

fn matches_type(e: &SchemaError) -> bool {
    match e.schema.get("type") {
        Some(Value::String(t)) => is_type(&e.instance, t),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .any(|t| is_type(&e.instance, t)),
        _ => false,
    }
}

fn cmp_path(a: &[PathItem], b: &[PathItem]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let o = match (x, y) {
            (PathItem::Key(p), PathItem::Key(q)) => p.cmp(q),
            (PathItem::Index(p), PathItem::Index(q)) => p.cmp(q),
            (PathItem::Index(_), PathItem::Key(_)) => Ordering::Less,
            (PathItem::Key(_), PathItem::Index(_)) => Ordering::Greater,
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

/// jsonschema's `relevance` key, compared as a Python tuple.
fn cmp_relevance(a: &SchemaError, b: &SchemaError) -> Ordering {
    let weak = |e: &SchemaError| e.validator == "anyOf" || e.validator == "oneOf";
    (b.path.len())
        .cmp(&a.path.len())
        .then_with(|| cmp_path(&a.path, &b.path))
        .then_with(|| (!weak(a)).cmp(&!weak(b)))
        .then_with(|| (!matches_type(a)).cmp(&!matches_type(b)))
}

/// jsonschema `best_match`.
fn best_match(errors: Vec<SchemaError>) -> Option<SchemaError> {
    let mut best: Option<SchemaError> = None;
    for e in errors {
        best = match best {
            None => Some(e),
            // Python's max keeps the first of equal elements.
            Some(b) => {
                if cmp_relevance(&e, &b) == Ordering::Greater {
                    Some(e)
                } else {
                    Some(b)
                }
            }
        };
    }
    let mut best = best?;
    while !best.context.is_empty() {
        let mut ctx = std::mem::take(&mut best.context);
        // heapq.nsmallest(2) is stable: first minimal element wins.
        let mut idx: Vec<usize> = (0..ctx.len()).collect();
        idx.sort_by(|&i, &j| cmp_relevance(&ctx[i], &ctx[j]).then(i.cmp(&j)));
        if idx.len() >= 2 && cmp_relevance(&ctx[idx[0]], &ctx[idx[1]]) == Ordering::Equal {
            best.context = ctx;
            return Some(best);
        }
        best = ctx.swap_remove(idx[0]);
    }
    Some(best)
}

/// Allocation-free validity check with the same keyword semantics as [`iter_errors`].
fn valid(instance: &Value, schema: &Value) -> bool {
    let obj = match schema {
        Value::Object(o) => o,
        Value::Bool(b) => return *b,
        _ => return true,
    };
    for (kw, kv) in obj {
        let ok = match kw.as_str() {
            "type" => match kv {
                Value::String(t) => is_type(instance, t),
                Value::Array(ts) => ts
                    .iter()
                    .filter_map(Value::as_str)
                    .any(|t| is_type(instance, t)),
                _ => true,
            },
            "properties" => match (instance, kv) {
                (Value::Object(inst), Value::Object(props)) => props
                    .iter()
                    .all(|(p, sub)| inst.get(p).map(|v| valid(v, sub)).unwrap_or(true)),
                _ => true,
            },
            "patternProperties" => match (instance, kv) {
                (Value::Object(inst), Value::Object(pats)) => pats.iter().all(|(pat, sub)| {
                    inst.iter()
                        .all(|(k, v)| !key_search(pat, k) || valid(v, sub))
                }),
                _ => true,
            },
            "additionalProperties" => match instance {
                Value::Object(inst) => {
                    let props = obj.get("properties").and_then(Value::as_object);
                    let pats = obj.get("patternProperties").and_then(Value::as_object);
                    inst.iter().all(|(k, v)| {
                        let extra = !props.map(|p| p.contains_key(k)).unwrap_or(false)
                            && !pats
                                .map(|p| p.keys().any(|pat| key_search(pat, k)))
                                .unwrap_or(false);
                        !extra
                            || match kv {
                                Value::Bool(b) => *b,
                                Value::Object(_) => valid(v, kv),
                                _ => true,
                            }
                    })
                }
                _ => true,
            },
            "required" => match (instance, kv) {
                (Value::Object(inst), Value::Array(req)) => req
                    .iter()
                    .filter_map(Value::as_str)
                    .all(|r| inst.contains_key(r)),
                _ => true,
            },
            "minProperties" => match instance {
                Value::Object(inst) => inst.len() >= kv.as_u64().unwrap_or(0) as usize,
                _ => true,
            },
            "maxProperties" => match instance {
                Value::Object(inst) => inst.len() <= kv.as_u64().unwrap_or(u64::MAX) as usize,
                _ => true,
            },
            "items" => match instance {
                Value::Array(items) => items.iter().all(|i| valid(i, kv)),
                _ => true,
            },
            "minItems" => match instance {
                Value::Array(items) => items.len() >= kv.as_u64().unwrap_or(0) as usize,
                _ => true,
            },
            "uniqueItems" => match (instance, kv) {
                (Value::Array(items), Value::Bool(true)) => !(0..items.len())
                    .any(|i| ((i + 1)..items.len()).any(|j| py_equal(&items[i], &items[j]))),
                _ => true,
            },
            "minLength" => match instance {
                Value::String(st) => python_len(st) >= kv.as_u64().unwrap_or(0) as usize,
                _ => true,
            },
            "minimum" => match (instance, kv) {
                (Value::Number(n), Value::Number(m)) => {
                    n.as_f64().unwrap_or(0.0) >= m.as_f64().unwrap_or(0.0)
                }
                _ => true,
            },
            "enum" => match kv {
                Value::Array(options) => options.iter().any(|o| enum_equal(o, instance)),
                _ => true,
            },
            "pattern" => match (instance, kv) {
                (Value::String(st), Value::String(p)) => re_search(p, st),
                _ => true,
            },
            "anyOf" => match kv {
                Value::Array(subs) => subs.iter().any(|sub| valid(instance, sub)),
                _ => true,
            },
            "oneOf" => match kv {
                Value::Array(subs) => subs.iter().filter(|sub| valid(instance, sub)).count() == 1,
                _ => true,
            },
            "not" => !valid(instance, kv),
            _ => true,
        };
        if !ok {
            return false;
        }
    }
    true
}

/// Validate and return the best-matching error, like `jsonschema.validate`.
pub fn validate(instance: &Value, schema: &Value) -> Result<(), Box<SchemaError>> {
    TYPE_ERROR.with(|t| *t.borrow_mut() = None);
    let ok = valid(instance, schema);
    let type_error = || TYPE_ERROR.with(|t| t.borrow_mut().take());
    if let Some(msg) = type_error() {
        return Err(Box::new(SchemaError::type_error(msg)));
    }
    if ok {
        return Ok(());
    }
    let errors = iter_errors(instance, schema, &Ctx { abs: &[] });
    if let Some(msg) = type_error() {
        return Err(Box::new(SchemaError::type_error(msg)));
    }
    match best_match(errors) {
        None => Ok(()),
        Some(e) => Err(Box::new(e)),
    }
}

fn path_text(p: &[PathItem]) -> String {
    p.iter()
        .map(|i| match i {
            PathItem::Key(k) => format!("[{}]", py_repr_str(k)),
            PathItem::Index(n) => format!("[{n}]"),
        })
        .collect()
}

impl SchemaError {
    fn type_error(message: String) -> SchemaError {
        SchemaError {
            message,
            validator: String::new(),
            path: Vec::new(),
            abs_path: Vec::new(),
            schema_path: Vec::new(),
            schema: Value::Null,
            instance: Value::Null,
            context: Vec::new(),
        }
    }

    /// A Python `TypeError` rather than a validation error (no `Invalid DSL:` prefix).
    pub fn is_type_error(&self) -> bool {
        self.validator.is_empty()
    }

    /// `str(ValidationError)`: the message, the failing keyword with its schema (pretty
    /// printed like Python's `pprint`) and the instance.
    pub fn full_text(&self) -> String {
        let schema_path: Vec<PathItem> = self
            .schema_path
            .iter()
            .take(self.schema_path.len().saturating_sub(1))
            .cloned()
            .collect();
        format!(
            "{}\n\nFailed validating {} in schema{}:\n{}\n\nOn instance{}:\n{}",
            self.message,
            py_repr_str(&self.validator),
            path_text(&schema_path),
            indent4(&super::pprint::pformat(&self.schema, 72)),
            path_text(&self.path),
            indent4(&super::pprint::pformat(&self.instance, 72)),
        )
    }
}

fn indent4(s: &str) -> String {
    s.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Build a JSON object keeping the given key order.
pub fn obj(pairs: Vec<(&str, Value)>) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        m.insert(k.to_string(), v);
    }
    Value::Object(m)
}
