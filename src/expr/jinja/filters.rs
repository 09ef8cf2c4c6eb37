//! Jinja2's built-in filters, tests and globals with Python/Jinja2 semantics (return types,
//! Python `str()` conversions, case-insensitive sorting, error texts), replacing minijinja's
//! variants where those differ.

use super::methods::{bind, capitalize, pad, split_args, type_error};
use super::values::{py_repr, py_str, py_type_name, to_json, tuple, PyTuple};
use crate::expr::pyfmt::json_dumps;
use crate::expr::pystr::float_repr;
use minijinja::value::{Rest, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};
use std::cmp::Ordering;

type Args = Rest<Value>;

fn none() -> Option<Value> {
    Some(Value::from(()))
}

fn undefined_check(v: &Value) -> Result<(), Error> {
    if v.is_undefined() {
        Err(Error::from(ErrorKind::UndefinedError))
    } else {
        Ok(())
    }
}

/// The items of an iterable (characters of a string), charged to the size budget.
pub(crate) fn items_of(v: &Value) -> Result<Vec<Value>, Error> {
    undefined_check(v)?;
    match v.kind() {
        ValueKind::String => Ok(v
            .as_str()
            .unwrap_or_default()
            .chars()
            .map(|c| Value::from(c.to_string()))
            .collect()),
        ValueKind::Seq | ValueKind::Map | ValueKind::Iterable => {
            let mut out = Vec::new();
            for item in v.try_iter()? {
                super::values::charge(1, 0)?;
                out.push(item);
            }
            Ok(out)
        }
        _ => Err(type_error(format!(
            "'{}' object is not iterable",
            py_type_name(v)
        ))),
    }
}

/// Python ordering between two values (TypeError text for unorderable types).
pub fn py_cmp(a: &Value, b: &Value) -> Result<Ordering, Error> {
    py_order(a, b, "<")
}

/// Python ordering for the comparison operator `op` (named in the TypeError text).
pub fn py_order(a: &Value, b: &Value, op: &str) -> Result<Ordering, Error> {
    let num = |v: &Value| matches!(v.kind(), ValueKind::Number | ValueKind::Bool);
    if num(a) && num(b) {
        let fa = f64::try_from(a.clone()).unwrap_or(if a.is_true() { 1.0 } else { 0.0 });
        let fb = f64::try_from(b.clone()).unwrap_or(if b.is_true() { 1.0 } else { 0.0 });
        if a.is_integer() && b.is_integer() {
            let ia = i128::try_from(a.clone()).unwrap_or_default();
            let ib = i128::try_from(b.clone()).unwrap_or_default();
            return Ok(ia.cmp(&ib));
        }
        return Ok(fa.partial_cmp(&fb).unwrap_or(Ordering::Equal));
    }
    if a.kind() == ValueKind::String && b.kind() == ValueKind::String {
        return Ok(a.as_str().cmp(&b.as_str()));
    }
    let seq = |v: &Value| v.kind() == ValueKind::Seq;
    if seq(a) && seq(b) && py_type_name(a) == py_type_name(b) {
        let xa: Vec<Value> = a.try_iter()?.collect();
        let xb: Vec<Value> = b.try_iter()?.collect();
        for (x, y) in xa.iter().zip(&xb) {
            if x != y {
                return py_order(x, y, op);
            }
        }
        return Ok(xa.len().cmp(&xb.len()));
    }
    Err(type_error(format!(
        "'{op}' not supported between instances of '{}' and '{}'",
        py_type_name(a),
        py_type_name(b)
    )))
}

fn lower_if_str(v: Value, case_sensitive: bool) -> Value {
    if !case_sensitive && v.kind() == ValueKind::String {
        Value::from(v.as_str().unwrap_or_default().to_lowercase())
    } else {
        v
    }
}

/// `environment.getattr` with a dotted path (`a.b.0`): attribute, then item lookup.
pub fn attr_path(item: &Value, path: &Value) -> Result<Value, Error> {
    let parts: Vec<Value> = match path.as_str() {
        Some(p) if path.kind() == ValueKind::String => p
            .split('.')
            .map(|s| match s.parse::<i64>() {
                Ok(i) => Value::from(i),
                Err(_) => Value::from(s),
            })
            .collect(),
        _ => vec![path.clone()],
    };
    let mut cur = item.clone();
    for part in parts {
        if cur.is_undefined() {
            return Err(Error::from(ErrorKind::UndefinedError));
        }
        cur = cur.get_item(&part).unwrap_or(Value::UNDEFINED);
    }
    Ok(cur)
}

fn sort_key(item: &Value, attribute: &Value, case_sensitive: bool) -> Result<Value, Error> {
    let v = if attribute.is_none() {
        item.clone()
    } else {
        attr_path(item, attribute)?
    };
    undefined_check(&v)?;
    Ok(lower_if_str(v, case_sensitive))
}

fn sort_values(items: &mut [Value], keys: &[Value]) -> Result<Vec<usize>, Error> {
    let mut idx: Vec<usize> = (0..items.len()).collect();
    let mut err = None;
    idx.sort_by(|&a, &b| match py_cmp(&keys[a], &keys[b]) {
        Ok(o) => o,
        Err(e) => {
            err.get_or_insert(e);
            Ordering::Equal
        }
    });
    match err {
        Some(e) => Err(e),
        None => Ok(idx),
    }
}

fn to_int(v: &Value, default: &Value, base: i64) -> Result<Value, Error> {
    match v.kind() {
        ValueKind::Number if v.is_integer() => Ok(v.clone()),
        ValueKind::Number => {
            let f = f64::try_from(v.clone()).unwrap_or(0.0);
            if f.is_finite() {
                Ok(Value::from(f.trunc() as i64))
            } else {
                Ok(default.clone())
            }
        }
        ValueKind::Bool => Ok(Value::from(i64::from(v.is_true()))),
        ValueKind::String => {
            let s = v.as_str().unwrap_or_default().trim().replace('_', "");
            let (neg, digits) = match s.strip_prefix('-') {
                Some(r) => (true, r.to_string()),
                None => (false, s.strip_prefix('+').unwrap_or(&s).to_string()),
            };
            let (radix, digits) = if base == 10 {
                (10, digits)
            } else {
                let lower = digits.to_lowercase();
                let stripped = match base {
                    16 => lower.strip_prefix("0x"),
                    8 => lower.strip_prefix("0o"),
                    2 => lower.strip_prefix("0b"),
                    _ => None,
                };
                (base as u32, stripped.map(str::to_string).unwrap_or(lower))
            };
            if let Ok(i) = i128::from_str_radix(&digits, radix) {
                if !digits.is_empty() {
                    let i = if neg { -i } else { i };
                    return Ok(Value::from(i));
                }
            }
            // int(float(value))
            match v.as_str().unwrap_or_default().trim().parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(Value::from(f.trunc() as i64)),
                _ => Ok(default.clone()),
            }
        }
        _ => Ok(default.clone()),
    }
}

fn to_float(v: &Value, default: &Value) -> Value {
    match v.kind() {
        ValueKind::Number | ValueKind::Bool => {
            Value::from(f64::try_from(v.clone()).unwrap_or(if v.is_true() { 1.0 } else { 0.0 }))
        }
        ValueKind::String => {
            let s = v.as_str().unwrap_or_default().trim().to_lowercase();
            let parsed = match s.as_str() {
                "inf" | "+inf" | "infinity" => Some(f64::INFINITY),
                "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
                "nan" | "+nan" | "-nan" => Some(f64::NAN),
                other if other.contains("inf") || other.contains("nan") => None,
                other => other.replace('_', "").parse::<f64>().ok(),
            };
            parsed.map(Value::from).unwrap_or_else(|| default.clone())
        }
        _ => default.clone(),
    }
}

fn num_f64(v: &Value, fname: &str) -> Result<f64, Error> {
    match v.kind() {
        ValueKind::Number | ValueKind::Bool => {
            Ok(f64::try_from(v.clone()).unwrap_or(if v.is_true() { 1.0 } else { 0.0 }))
        }
        _ => Err(type_error(format!(
            "type {} doesn't define __{fname}__ method",
            py_type_name(v)
        ))),
    }
}

/// Python's `round(x, ndigits)`: correctly rounded decimal, ties to even.
fn py_round(x: f64, ndigits: i64) -> f64 {
    if !x.is_finite() {
        return x;
    }
    if ndigits >= 0 {
        // Rust's formatting is exact and rounds ties to even, like CPython's dtoa
        format!("{:.*}", ndigits as usize, x).parse().unwrap_or(x)
    } else {
        let m = 10f64.powi((-ndigits) as i32);
        let y = x / m;
        let r = format!("{:.0}", y).parse::<f64>().unwrap_or(y);
        r * m
    }
}

fn join_strings(items: &[Value], sep: &str) -> Result<String, Error> {
    let mut parts = Vec::with_capacity(items.len());
    for item in items {
        undefined_check(item)?;
        parts.push(py_str(item)?);
    }
    Ok(parts.join(sep))
}

/// `tojson`: `json.dumps(sort_keys=True)` made HTML-safe (`<>&'` escaped).
/// `json.dumps` refuses objects that only look like sequences here (range, Undefined).
fn check_json_serializable(v: &Value, depth: usize) -> Result<(), Error> {
    let name = if v.downcast_object_ref::<super::values::PyRange>().is_some() {
        Some("range")
    } else if v
        .downcast_object_ref::<super::values::LenientUndefined>()
        .is_some()
    {
        Some("Undefined")
    } else {
        None
    };
    if let Some(name) = name {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("Object of type {name} is not JSON serializable"),
        ));
    }
    if depth > 500 {
        return Ok(());
    }
    match v.kind() {
        ValueKind::Seq => {
            for item in v.try_iter()? {
                check_json_serializable(&item, depth + 1)?;
            }
        }
        ValueKind::Map => {
            for key in v.try_iter()? {
                check_json_serializable(&v.get_item(&key)?, depth + 1)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn tojson(v: &Value, indent: Option<usize>) -> Result<String, Error> {
    check_json_serializable(v, 0)?;
    let json = to_json(v)?;
    let text = json_dumps(&json, indent, true);
    Ok(text
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\'', "\\u0027"))
}

fn apply_test(state: &State, name: &str, item: &Value, args: &[Value]) -> Result<bool, Error> {
    let mut full = vec![item.clone()];
    full.extend_from_slice(args);
    state.perform_test(name, &full).map_err(|e| {
        if e.kind() == ErrorKind::UnknownTest {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("No test named '{name}'."),
            )
        } else {
            e
        }
    })
}

/// Jinja2's `title`: capitalise each chunk after `-`, whitespace, `(`, `{`, `[`, `<`.
fn jinja_title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        let sep = c == '-' || c.is_whitespace() || "({[<".contains(c);
        if sep {
            out.push(c);
            start = true;
        } else if start {
            out.extend(c.to_uppercase());
            start = false;
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// A copy with every dict's keys sorted (pprint's `sort_dicts=True`).
fn sorted_dicts(v: &Value) -> Result<Value, Error> {
    match v.kind() {
        ValueKind::Map => {
            let mut pairs = Vec::new();
            for k in v.try_iter()? {
                let item = v.get_item(&k)?;
                pairs.push((k, sorted_dicts(&item)?));
            }
            let keys: Vec<Value> = pairs.iter().map(|p| p.0.clone()).collect();
            let mut dummy = keys.clone();
            let idx = sort_values(&mut dummy, &keys)?;
            Ok(Value::from_iter(idx.into_iter().map(|i| pairs[i].clone())))
        }
        ValueKind::Seq if v.downcast_object_ref::<PyTuple>().is_none() => Ok(Value::from(
            v.try_iter()?
                .map(|i| sorted_dicts(&i))
                .collect::<Result<Vec<_>, _>>()?,
        )),
        _ => Ok(v.clone()),
    }
}

/// Python `urllib.parse.quote(s, safe)`, with `+` for spaces when `plus`.
fn url_quote(s: &str, safe: &str, plus: bool) -> String {
    let mut out = String::new();
    for b in s.as_bytes() {
        let c = *b as char;
        if b.is_ascii_alphanumeric() || "_.-~".contains(c) || safe.contains(c) {
            out.push(c);
        } else if plus && c == ' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{:02X}", b));
        }
    }
    out
}

fn urlize(s: &str) -> String {
    let mut out = String::new();
    for (i, word) in s.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let (head, core, tail) = {
            let core = word.trim_start_matches(['(', '<']);
            let head = &word[..word.len() - core.len()];
            let trimmed = core.trim_end_matches(['.', ',', ')', '>', '\n', ';', ':', '!', '?']);
            (head, trimmed, &core[trimmed.len()..])
        };
        let href = if core.starts_with("http://") || core.starts_with("https://") {
            Some(core.to_string())
        } else if core.starts_with("www.") {
            Some(format!("https://{core}"))
        } else if core.contains('@')
            && !core.starts_with('@')
            && !core.ends_with('@')
            && !core.contains(':')
        {
            Some(format!("mailto:{core}"))
        } else {
            None
        };
        match href {
            Some(h) => {
                let rel = if h.starts_with("mailto:") {
                    ""
                } else {
                    " rel=\"noopener\""
                };
                out.push_str(&format!(
                    "{head}<a href=\"{}\"{rel}>{}</a>{tail}",
                    html_escape(&h),
                    html_escape(core)
                ));
            }
            None => out.push_str(&html_escape(word)),
        }
    }
    out
}

fn select_like(
    state: &State,
    value: Value,
    args: Args,
    attr: bool,
    keep: bool,
) -> Result<Value, Error> {
    undefined_check(&value)?;
    if !value.is_true() {
        return Ok(Value::from(Vec::<Value>::new()));
    }
    let items = items_of(&value)?;
    let PyArgs2 { pos, .. } = split2(&args);
    let (attribute, test, test_args) = if attr {
        let attribute = pos.first().cloned().unwrap_or_default();
        let test = pos.get(1).and_then(|t| t.as_str().map(str::to_string));
        (
            Some(attribute),
            test,
            pos.iter().skip(2).cloned().collect::<Vec<_>>(),
        )
    } else {
        let test = pos.first().and_then(|t| t.as_str().map(str::to_string));
        (None, test, pos.iter().skip(1).cloned().collect::<Vec<_>>())
    };
    let mut out = Vec::new();
    for item in items {
        let subject = match &attribute {
            Some(a) => attr_path(&item, a)?,
            None => item.clone(),
        };
        let ok = match &test {
            Some(t) => apply_test(state, t, &subject, &test_args)?,
            None => {
                undefined_check(&subject)?;
                subject.is_true()
            }
        };
        if ok == keep {
            out.push(item);
        }
    }
    Ok(Value::from(out))
}

struct PyArgs2 {
    pos: Vec<Value>,
    kw: Vec<(String, Value)>,
}

fn split2(args: &[Value]) -> PyArgs2 {
    let a = split_args(args);
    PyArgs2 {
        pos: a.pos,
        kw: a.kw,
    }
}

fn filesizeformat(value: f64, binary: bool) -> String {
    let base: f64 = if binary { 1024.0 } else { 1000.0 };
    let prefixes = if binary {
        ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"]
    } else {
        ["kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
    };
    if value == 1.0 {
        return "1 Byte".into();
    }
    if value < base {
        return format!("{} Bytes", value as i64);
    }
    let mut unit = base;
    for (i, prefix) in prefixes.iter().enumerate() {
        unit = base.powi(i as i32 + 2);
        if value < unit {
            return format!("{:.1} {prefix}", base * value / unit);
        }
    }
    format!(
        "{:.1} {}",
        base * value / unit,
        prefixes[prefixes.len() - 1]
    )
}

fn truncate(s: &str, length: usize, killwords: bool, end: &str, leeway: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= length + leeway {
        return s.to_string();
    }
    let cut = length.saturating_sub(end.chars().count());
    let head: String = chars[..cut.min(chars.len())].iter().collect();
    if killwords {
        return head + end;
    }
    let trimmed = match head.rfind(' ') {
        Some(i) => head[..i].to_string(),
        None => head,
    };
    trimmed + end
}

fn wordcount(s: &str) -> usize {
    let re = word_re();
    re.find_iter(s).count()
}

fn word_re() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"\w+").expect("valid regex"))
}

fn striptags(s: &str) -> String {
    static RE: std::sync::OnceLock<(regex::Regex, regex::Regex)> = std::sync::OnceLock::new();
    let (comments, tags) = RE.get_or_init(|| {
        (
            regex::Regex::new(r"(?s)<!--.*?-->").expect("valid regex"),
            regex::Regex::new(r"(?s)<.*?>").expect("valid regex"),
        )
    });
    let no_comments = comments.replace_all(s, "");
    let no_tags = tags.replace_all(&no_comments, "");
    let text = no_tags.split_whitespace().collect::<Vec<_>>().join(" ");
    html_unescape(&text)
}

fn html_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#34;", "\"")
        .replace("&amp;", "&")
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// printf-style `%` formatting for the `format` filter.
fn percent_format(fmt: &str, args: &[Value]) -> Result<String, Error> {
    let mut out = String::new();
    let mut it = fmt.chars().peekable();
    let mut idx = 0usize;
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = String::new();
        while let Some(&n) = it.peek() {
            if "-+ #0123456789.".contains(n) {
                spec.push(n);
                it.next();
            } else {
                break;
            }
        }
        let conv = it.next().ok_or_else(|| type_error("incomplete format"))?;
        if conv == '%' {
            out.push('%');
            continue;
        }
        let arg = args
            .get(idx)
            .cloned()
            .ok_or_else(|| type_error("not enough arguments for format string"))?;
        idx += 1;
        let (flags, rest): (String, String) = spec.chars().partition(|c| "-+ #0".contains(*c));
        let (width, precision) = match rest.split_once('.') {
            Some((w, p)) => (
                w.parse::<usize>().ok(),
                Some(p.parse::<usize>().unwrap_or(0)),
            ),
            None => (rest.parse::<usize>().ok(), None),
        };
        let body = match conv {
            's' => {
                let s = py_str(&arg)?;
                match precision {
                    Some(p) => s.chars().take(p).collect(),
                    None => s,
                }
            }
            'r' => py_repr(&arg)?,
            'd' | 'i' => {
                let f = num_f64(&arg, "int").map_err(|_| {
                    type_error(format!(
                        "%{conv} format: a real number is required, not {}",
                        py_type_name(&arg)
                    ))
                })?;
                let i = if arg.is_integer() {
                    i128::try_from(arg.clone()).unwrap_or(0)
                } else {
                    f.trunc() as i128
                };
                let sign = if flags.contains('+') && i >= 0 {
                    "+"
                } else {
                    ""
                };
                format!("{sign}{i}")
            }
            'f' | 'F' | 'e' | 'E' | 'g' | 'G' => {
                let f = num_f64(&arg, "float").map_err(|_| {
                    type_error(format!("must be real number, not {}", py_type_name(&arg)))
                })?;
                let p = precision.unwrap_or(6);
                let sign = if flags.contains('+') && f >= 0.0 {
                    "+"
                } else {
                    ""
                };
                match conv {
                    'f' | 'F' => format!("{sign}{f:.p$}"),
                    'e' | 'E' => {
                        let s = format!("{f:.p$e}");
                        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
                        let e: i32 = e.parse().unwrap_or(0);
                        let t =
                            format!("{sign}{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
                        if conv == 'E' {
                            t.to_uppercase()
                        } else {
                            t
                        }
                    }
                    _ => format!("{sign}{}", float_repr(f)),
                }
            }
            'x' | 'X' | 'o' => {
                let i = i128::try_from(arg.clone()).map_err(|_| {
                    type_error(format!(
                        "%{conv} format: an integer is required, not {}",
                        py_type_name(&arg)
                    ))
                })?;
                match conv {
                    'x' => format!("{i:x}"),
                    'X' => format!("{i:X}"),
                    _ => format!("{i:o}"),
                }
            }
            other => {
                return Err(type_error(format!(
                    "unsupported format character '{other}' (0x{:x}) at index {}",
                    other as u32,
                    out.len() + 1
                )))
            }
        };
        let body = match width {
            Some(w) if body.chars().count() < w => {
                let padn = w - body.chars().count();
                if flags.contains('-') {
                    format!("{body}{}", " ".repeat(padn))
                } else if flags.contains('0') && conv != 's' {
                    format!("{}{body}", "0".repeat(padn))
                } else {
                    format!("{}{body}", " ".repeat(padn))
                }
            }
            _ => body,
        };
        out.push_str(&body);
    }
    if idx < args.len() {
        return Err(type_error(
            "not all arguments converted during string formatting",
        ));
    }
    Ok(out)
}

fn minmax(value: Value, args: Args, want_max: bool) -> Result<Value, Error> {
    let fname = if want_max { "max" } else { "min" };
    let a = bind(
        fname,
        &args,
        &[
            ("case_sensitive", Some(Value::from(false))),
            ("attribute", none()),
        ],
    )?;
    let items = items_of(&value)?;
    let mut best: Option<(Value, Value)> = None;
    for item in items {
        let key = sort_key(&item, &a[1], a[0].is_true())?;
        best = match best {
            None => Some((key, item)),
            Some((bk, bi)) => {
                let ord = py_cmp(&key, &bk)?;
                if (want_max && ord == Ordering::Greater) || (!want_max && ord == Ordering::Less) {
                    Some((key, item))
                } else {
                    Some((bk, bi))
                }
            }
        };
    }
    Ok(best.map(|(_, i)| i).unwrap_or(Value::UNDEFINED))
}

/// Installs Jinja2's filters, tests and globals (replacing minijinja's non-Jinja2 ones).
pub fn install(env: &mut Environment<'static>) {
    // minijinja-only filters/tests that Jinja2 does not have
    for name in ["split", "lines", "chain", "zip", "bool"] {
        env.remove_filter(name);
    }
    for name in ["startingwith", "endingwith", "safe"] {
        env.remove_test(name);
    }
    env.remove_global("debug");

    env.add_filter("string", |v: Value| -> Result<Value, Error> {
        undefined_check(&v)?;
        Ok(Value::from(py_str(&v)?))
    });
    env.add_filter("join", |v: Value, args: Args| -> Result<Value, Error> {
        let a = bind(
            "join",
            &args,
            &[("d", Some(Value::from(""))), ("attribute", none())],
        )?;
        let mut items = items_of(&v)?;
        if !a[1].is_none() {
            items = items
                .iter()
                .map(|i| attr_path(i, &a[1]))
                .collect::<Result<_, _>>()?;
        }
        Ok(Value::from(join_strings(&items, &py_str(&a[0])?)?))
    });
    env.add_filter("tojson", |v: Value, args: Args| -> Result<Value, Error> {
        let a = bind("tojson", &args, &[("indent", none())])?;
        let indent = a[0].as_i64().map(|i| i.max(0) as usize);
        Ok(Value::from_safe_string(tojson(&v, indent)?))
    });
    let default = |v: Value, args: Args| -> Result<Value, Error> {
        let a = bind(
            "default",
            &args,
            &[
                ("default_value", Some(Value::from(""))),
                ("boolean", Some(Value::from(false))),
            ],
        )?;
        if super::values::is_any_undefined(&v) || (a[1].is_true() && !v.is_true()) {
            Ok(a[0].clone())
        } else {
            Ok(v)
        }
    };
    env.add_filter("default", default);
    env.add_filter("d", default);
    env.add_filter("int", |v: Value, args: Args| -> Result<Value, Error> {
        if super::values::is_any_undefined(&v) {
            return Err(Error::from(ErrorKind::UndefinedError));
        }
        let a = bind(
            "int",
            &args,
            &[
                ("default", Some(Value::from(0))),
                ("base", Some(Value::from(10))),
            ],
        )?;
        to_int(&v, &a[0], a[1].as_i64().unwrap_or(10))
    });
    env.add_filter("float", |v: Value, args: Args| -> Result<Value, Error> {
        if super::values::is_any_undefined(&v) {
            return Err(Error::from(ErrorKind::UndefinedError));
        }
        let a = bind("float", &args, &[("default", Some(Value::from(0.0)))])?;
        Ok(to_float(&v, &a[0]))
    });
    env.add_filter("round", |v: Value, args: Args| -> Result<Value, Error> {
        undefined_check(&v)?;
        let a = bind(
            "round",
            &args,
            &[
                ("precision", Some(Value::from(0))),
                ("method", Some(Value::from("common"))),
            ],
        )?;
        let x = num_f64(&v, "round")?;
        let p = a[0].as_i64().unwrap_or(0);
        if (v.is_integer() || v.kind() == ValueKind::Bool)
            && a[1].as_str() == Some("common")
            && p >= 0
        {
            // round(int, n) keeps the int
            return Ok(Value::from(
                i128::try_from(v.clone()).unwrap_or(i128::from(v.is_true())),
            ));
        }
        let m = 10f64.powi(p as i32);
        let r = match a[1].as_str().unwrap_or("") {
            "common" => py_round(x, p),
            "ceil" => (x * m).ceil() / m,
            "floor" => (x * m).floor() / m,
            _ => return Err(type_error("method must be common, ceil or floor")),
        };
        Ok(Value::from(r))
    });
    env.add_filter("abs", |v: Value| -> Result<Value, Error> {
        undefined_check(&v)?;
        if v.is_integer() || v.kind() == ValueKind::Bool {
            Ok(Value::from(
                i128::try_from(v.clone())
                    .unwrap_or(i128::from(v.is_true()))
                    .abs(),
            ))
        } else if v.kind() == ValueKind::Number {
            Ok(Value::from(f64::try_from(v).unwrap_or(0.0).abs()))
        } else {
            Err(type_error(format!(
                "bad operand type for abs(): '{}'",
                py_type_name(&v)
            )))
        }
    });
    env.add_filter("list", |v: Value| -> Result<Value, Error> {
        Ok(Value::from(items_of(&v)?))
    });
    env.add_filter("items", |v: Value| -> Result<Value, Error> {
        undefined_check(&v)?;
        if v.kind() != ValueKind::Map {
            return Err(type_error(format!(
                "Can only get item pairs from a mapping, not {}",
                py_type_name(&v)
            )));
        }
        let mut out = Vec::new();
        for k in v.try_iter()? {
            let item = v.get_item(&k)?;
            out.push(tuple(vec![k, item]));
        }
        Ok(Value::from(out))
    });
    env.add_filter("dictsort", |v: Value, args: Args| -> Result<Value, Error> {
        undefined_check(&v)?;
        let a = bind(
            "dictsort",
            &args,
            &[
                ("case_sensitive", Some(Value::from(false))),
                ("by", Some(Value::from("key"))),
                ("reverse", Some(Value::from(false))),
            ],
        )?;
        if v.kind() != ValueKind::Map {
            return Err(type_error(format!(
                "'{}' object has no attribute 'items'",
                py_type_name(&v)
            )));
        }
        let pos = match a[1].as_str() {
            Some("key") => 0,
            Some("value") => 1,
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    "You can only sort by either \"key\" or \"value\"",
                ))
            }
        };
        let mut pairs = Vec::new();
        for k in v.try_iter()? {
            let item = v.get_item(&k)?;
            pairs.push((k, item));
        }
        let keys: Vec<Value> = pairs
            .iter()
            .map(|p| {
                lower_if_str(
                    if pos == 0 { p.0.clone() } else { p.1.clone() },
                    a[0].is_true(),
                )
            })
            .collect();
        let mut vals: Vec<Value> = pairs
            .iter()
            .map(|(k, v)| tuple(vec![k.clone(), v.clone()]))
            .collect();
        let mut idx = sort_values(&mut vals, &keys)?;
        if a[2].is_true() {
            idx = stable_reverse(idx, &keys)?;
        }
        Ok(Value::from(
            idx.into_iter().map(|i| vals[i].clone()).collect::<Vec<_>>(),
        ))
    });
    env.add_filter("sort", |v: Value, args: Args| -> Result<Value, Error> {
        let a = bind(
            "sort",
            &args,
            &[
                ("reverse", Some(Value::from(false))),
                ("case_sensitive", Some(Value::from(false))),
                ("attribute", none()),
            ],
        )?;
        let mut items = items_of(&v)?;
        let keys: Vec<Value> = items
            .iter()
            .map(|i| sort_key(i, &a[2], a[1].is_true()))
            .collect::<Result<_, _>>()?;
        let mut idx = sort_values(&mut items, &keys)?;
        if a[0].is_true() {
            idx = stable_reverse(idx, &keys)?;
        }
        Ok(Value::from(
            idx.into_iter()
                .map(|i| items[i].clone())
                .collect::<Vec<_>>(),
        ))
    });
    env.add_filter("unique", |v: Value, args: Args| -> Result<Value, Error> {
        let a = bind(
            "unique",
            &args,
            &[
                ("case_sensitive", Some(Value::from(false))),
                ("attribute", none()),
            ],
        )?;
        let mut seen: Vec<Value> = Vec::new();
        let mut out = Vec::new();
        for item in items_of(&v)? {
            let key = sort_key(&item, &a[1], a[0].is_true())?;
            if !seen.contains(&key) {
                seen.push(key);
                out.push(item);
            }
        }
        Ok(Value::from(out))
    });
    env.add_filter("min", |v: Value, args: Args| minmax(v, args, false));
    env.add_filter("max", |v: Value, args: Args| minmax(v, args, true));
    env.add_filter("sum", |v: Value, args: Args| -> Result<Value, Error> {
        let a = bind(
            "sum",
            &args,
            &[("attribute", none()), ("start", Some(Value::from(0)))],
        )?;
        let mut total = a[1].clone();
        for item in items_of(&v)? {
            let x = if a[0].is_none() {
                item
            } else {
                attr_path(&item, &a[0])?
            };
            undefined_check(&x)?;
            total = add(&total, &x)?;
        }
        Ok(total)
    });
    env.add_filter("first", |v: Value| -> Result<Value, Error> {
        Ok(items_of(&v)?.into_iter().next().unwrap_or(Value::UNDEFINED))
    });
    env.add_filter("last", |v: Value| -> Result<Value, Error> {
        undefined_check(&v)?;
        if v.kind() == ValueKind::Iterable {
            return Err(type_error(format!(
                "'{}' object is not reversible",
                py_type_name(&v)
            )));
        }
        Ok(items_of(&v)?.into_iter().last().unwrap_or(Value::UNDEFINED))
    });
    env.add_filter("reverse", |v: Value| -> Result<Value, Error> {
        undefined_check(&v)?;
        if v.kind() == ValueKind::String {
            return Ok(Value::from(
                v.as_str()
                    .unwrap_or_default()
                    .chars()
                    .rev()
                    .collect::<String>(),
            ));
        }
        let mut items = items_of(&v)?;
        items.reverse();
        Ok(Value::from(items))
    });
    let length = |v: Value| -> Result<Value, Error> {
        undefined_check(&v)?;
        match v.kind() {
            ValueKind::String => Ok(Value::from(v.as_str().unwrap_or_default().chars().count())),
            ValueKind::Seq | ValueKind::Map | ValueKind::Iterable => {
                Ok(Value::from(v.len().unwrap_or_else(|| {
                    v.try_iter().map(|i| i.count()).unwrap_or(0)
                })))
            }
            _ => Err(type_error(format!(
                "object of type '{}' has no len()",
                py_type_name(&v)
            ))),
        }
    };
    env.add_filter("length", length);
    env.add_filter("count", length);
    let str_filter = |f: fn(&str) -> String| {
        move |v: Value| -> Result<Value, Error> {
            undefined_check(&v)?;
            Ok(Value::from(f(&py_str(&v)?)))
        }
    };
    env.add_filter("upper", str_filter(|s| s.to_uppercase()));
    env.add_filter("lower", str_filter(|s| s.to_lowercase()));
    env.add_filter("capitalize", str_filter(capitalize));
    env.add_filter("title", str_filter(jinja_title));
    env.add_filter("trim", |v: Value, args: Args| -> Result<Value, Error> {
        undefined_check(&v)?;
        let a = bind("trim", &args, &[("chars", none())])?;
        let s = py_str(&v)?;
        Ok(Value::from(match a[0].as_str() {
            Some(cs) => s.trim_matches(|c| cs.contains(c)).to_string(),
            None => s.trim().to_string(),
        }))
    });
    env.add_filter("replace", |v: Value, args: Args| -> Result<Value, Error> {
        undefined_check(&v)?;
        let a = bind(
            "replace",
            &args,
            &[("old", None), ("new", None), ("count", none())],
        )?;
        let s = py_str(&v)?;
        let (old, new) = (py_str(&a[0])?, py_str(&a[1])?);
        Ok(Value::from(match a[2].as_i64() {
            Some(n) if n >= 0 => s.replacen(&old, &new, n as usize),
            _ => s.replace(&old, &new),
        }))
    });
    env.add_filter("center", |v: Value, args: Args| -> Result<Value, Error> {
        undefined_check(&v)?;
        let a = bind("center", &args, &[("width", Some(Value::from(80)))])?;
        Ok(Value::from(pad(
            &py_str(&v)?,
            a[0].as_i64().unwrap_or(80).max(0) as usize,
            " ",
            "center",
        )))
    });
    env.add_filter("truncate", |v: Value, args: Args| -> Result<Value, Error> {
        undefined_check(&v)?;
        let a = bind(
            "truncate",
            &args,
            &[
                ("length", Some(Value::from(255))),
                ("killwords", Some(Value::from(false))),
                ("end", Some(Value::from("..."))),
                ("leeway", none()),
            ],
        )?;
        let leeway = a[3].as_i64().unwrap_or(5).max(0) as usize;
        let length = a[0].as_i64().unwrap_or(255);
        let end = py_str(&a[2])?;
        if length < end.chars().count() as i64 {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                "expected length >= len(end)",
            ));
        }
        Ok(Value::from(truncate(
            &py_str(&v)?,
            length as usize,
            a[1].is_true(),
            &end,
            leeway,
        )))
    });
    env.add_filter("wordcount", |v: Value| -> Result<Value, Error> {
        undefined_check(&v)?;
        Ok(Value::from(wordcount(&py_str(&v)?)))
    });
    env.add_filter("striptags", |v: Value| -> Result<Value, Error> {
        undefined_check(&v)?;
        Ok(Value::from(striptags(&py_str(&v)?)))
    });
    let escape = |v: Value| -> Result<Value, Error> {
        undefined_check(&v)?;
        if v.is_safe() {
            return Ok(v);
        }
        Ok(Value::from_safe_string(html_escape(&py_str(&v)?)))
    };
    env.add_filter("escape", escape);
    env.add_filter("e", escape);
    env.add_filter("forceescape", |v: Value| -> Result<Value, Error> {
        undefined_check(&v)?;
        Ok(Value::from_safe_string(html_escape(&py_str(&v)?)))
    });
    env.add_filter("safe", |v: Value| -> Result<Value, Error> {
        undefined_check(&v)?;
        Ok(Value::from_safe_string(py_str(&v)?))
    });
    env.add_filter(
        "filesizeformat",
        |v: Value, args: Args| -> Result<Value, Error> {
            undefined_check(&v)?;
            let a = bind(
                "filesizeformat",
                &args,
                &[("binary", Some(Value::from(false)))],
            )?;
            let f = match v.kind() {
                ValueKind::String => v
                    .as_str()
                    .unwrap_or_default()
                    .trim()
                    .parse::<f64>()
                    .map_err(|_| {
                        type_error(format!(
                            "could not convert string to float: {}",
                            py_repr(&v).unwrap_or_default()
                        ))
                    })?,
                _ => num_f64(&v, "float")?,
            };
            Ok(Value::from(filesizeformat(f, a[0].is_true())))
        },
    );
    env.add_filter("format", |v: Value, args: Args| -> Result<Value, Error> {
        undefined_check(&v)?;
        let PyArgs2 { pos, kw } = split2(&args);
        if !pos.is_empty() && !kw.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                "can't handle positional and keyword arguments at the same time",
            ));
        }
        Ok(Value::from(percent_format(&py_str(&v)?, &pos)?))
    });
    env.add_filter("batch", |v: Value, args: Args| -> Result<Value, Error> {
        let a = bind(
            "batch",
            &args,
            &[("linecount", None), ("fill_with", none())],
        )?;
        // Jinja2's loop, literally: a batch is cut when it holds exactly `linecount` items
        // (so 0 yields one leading empty batch and a negative count never cuts).
        let line = &a[0];
        let full = |len: usize| -> bool {
            if let Some(n) = line.as_i64() {
                i64::try_from(len).is_ok_and(|l| l == n)
            } else if line.kind() == ValueKind::Bool {
                len == usize::from(line.is_true())
            } else if let Ok(f) = f64::try_from(line.clone()) {
                line.kind() == ValueKind::Number && len as f64 == f
            } else {
                false
            }
        };
        let items = items_of(&v)?;
        let mut out = Vec::new();
        let mut tmp: Vec<Value> = Vec::new();
        for item in items {
            if full(tmp.len()) {
                out.push(Value::from(std::mem::take(&mut tmp)));
            }
            tmp.push(item);
        }
        if !tmp.is_empty() {
            if !a[1].is_none() {
                if let Some(n) = line.as_i64().and_then(|n| usize::try_from(n).ok()) {
                    if tmp.len() < n {
                        tmp.resize(n, a[1].clone());
                    }
                }
            }
            out.push(Value::from(tmp));
        }
        Ok(Value::from(out))
    });
    env.add_filter("slice", |v: Value, args: Args| -> Result<Value, Error> {
        let a = bind("slice", &args, &[("slices", None), ("fill_with", none())])?;
        let slices = a[0].as_i64().unwrap_or(1).max(1) as usize;
        let seq = items_of(&v)?;
        let per = seq.len() / slices;
        let extra = seq.len() % slices;
        let mut offset = 0;
        let mut out = Vec::new();
        for i in 0..slices {
            let start = offset + i * per;
            if i < extra {
                offset += 1;
            }
            let end = offset + (i + 1) * per;
            let mut tmp: Vec<Value> = seq[start.min(seq.len())..end.min(seq.len())].to_vec();
            if !a[1].is_none() && i >= extra {
                tmp.push(a[1].clone());
            }
            out.push(Value::from(tmp));
        }
        Ok(Value::from(out))
    });
    env.add_filter(
        "map",
        |state: &State, v: Value, args: Args| -> Result<Value, Error> {
            let items = items_of(&v)?;
            let PyArgs2 { pos, kw } = split2(&args);
            if let Some((_, attribute)) = kw.iter().find(|(k, _)| k == "attribute") {
                let default = kw
                    .iter()
                    .find(|(k, _)| k == "default")
                    .map(|(_, v)| v.clone());
                let mut out = Vec::new();
                for item in items {
                    let mut x = attr_path(&item, attribute)?;
                    if x.is_undefined() {
                        if let Some(d) = &default {
                            x = d.clone();
                        }
                    }
                    out.push(x);
                }
                return Ok(Value::from(out));
            }
            let Some(name) = pos.first().and_then(|n| n.as_str().map(str::to_string)) else {
                return Ok(Value::from(items));
            };
            let rest: Vec<Value> = pos[1..].to_vec();
            let mut out = Vec::new();
            for item in items {
                let mut full = vec![item];
                full.extend(rest.iter().cloned());
                out.push(state.apply_filter(&name, &full).map_err(|e| {
                    if e.kind() == ErrorKind::UnknownFilter {
                        Error::new(
                            ErrorKind::InvalidOperation,
                            format!("No filter named '{name}'."),
                        )
                    } else {
                        e
                    }
                })?);
            }
            Ok(Value::from(out))
        },
    );
    env.add_filter("select", |s: &State, v: Value, a: Args| {
        select_like(s, v, a, false, true)
    });
    env.add_filter("reject", |s: &State, v: Value, a: Args| {
        select_like(s, v, a, false, false)
    });
    env.add_filter("selectattr", |s: &State, v: Value, a: Args| {
        select_like(s, v, a, true, true)
    });
    env.add_filter("rejectattr", |s: &State, v: Value, a: Args| {
        select_like(s, v, a, true, false)
    });
    env.add_filter("attr", |v: Value, name: Value| -> Result<Value, Error> {
        undefined_check(&v)?;
        if v.kind() == ValueKind::Map {
            // getattr on a dict does not see its keys
            return Ok(Value::UNDEFINED);
        }
        Ok(v.get_item(&name).unwrap_or(Value::UNDEFINED))
    });
    env.add_filter("groupby", |v: Value, args: Args| -> Result<Value, Error> {
        let a = bind(
            "groupby",
            &args,
            &[
                ("attribute", None),
                ("default", none()),
                ("case_sensitive", Some(Value::from(false))),
            ],
        )?;
        let items = items_of(&v)?;
        let mut keyed = Vec::new();
        for item in items {
            let mut k = attr_path(&item, &a[0])?;
            if k.is_undefined() && !a[1].is_none() {
                k = a[1].clone();
            }
            undefined_check(&k)?;
            keyed.push((lower_if_str(k.clone(), a[2].is_true()), k, item));
        }
        let keys: Vec<Value> = keyed.iter().map(|k| k.0.clone()).collect();
        let mut dummy: Vec<Value> = keyed.iter().map(|k| k.2.clone()).collect();
        let idx = sort_values(&mut dummy, &keys)?;
        let mut groups: Vec<(Value, Value, Vec<Value>)> = Vec::new();
        for i in idx {
            let (ck, k, item) = &keyed[i];
            match groups.last_mut() {
                Some((gk, _, list)) if gk == ck => list.push(item.clone()),
                _ => groups.push((ck.clone(), k.clone(), vec![item.clone()])),
            }
        }
        Ok(Value::from(
            groups
                .into_iter()
                .map(|(_, k, list)| tuple(vec![k, Value::from(list)]))
                .collect::<Vec<_>>(),
        ))
    });
    env.add_filter("indent", |v: Value, args: Args| -> Result<Value, Error> {
        undefined_check(&v)?;
        let a = bind(
            "indent",
            &args,
            &[
                ("width", Some(Value::from(4))),
                ("first", Some(Value::from(false))),
                ("blank", Some(Value::from(false))),
            ],
        )?;
        let pad = match a[0].kind() {
            ValueKind::String => a[0].as_str().unwrap_or_default().to_string(),
            _ => " ".repeat(a[0].as_i64().unwrap_or(4).max(0) as usize),
        };
        let s = py_str(&v)?;
        let s = format!("{s}\n");
        let mut lines: Vec<&str> = s.split('\n').collect();
        lines.pop();
        let mut out = String::new();
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let indent_this = if i == 0 {
                a[1].is_true()
            } else {
                a[2].is_true() || !line.is_empty()
            };
            if indent_this && (i > 0 || !line.is_empty() || a[2].is_true()) {
                out.push_str(&pad);
            }
            out.push_str(line);
        }
        Ok(Value::from(out))
    });
    env.add_filter("pprint", |v: Value| -> Result<Value, Error> {
        undefined_check(&v)?;
        Ok(Value::from(py_repr(&sorted_dicts(&v)?)?))
    });
    env.add_filter("wordwrap", |v: Value, args: Args| -> Result<Value, Error> {
        undefined_check(&v)?;
        let a = bind(
            "wordwrap",
            &args,
            &[
                ("width", Some(Value::from(79))),
                ("break_long_words", Some(Value::from(true))),
                ("wrapstring", none()),
                ("break_on_hyphens", Some(Value::from(true))),
            ],
        )?;
        let width = a[0].as_i64().unwrap_or(79).max(1) as usize;
        let sep = if a[2].is_none() {
            "\n".to_string()
        } else {
            py_str(&a[2])?
        };
        let s = py_str(&v)?;
        let mut out_lines = Vec::new();
        for para in s.split('\n') {
            let mut line = String::new();
            for word in para.split_whitespace() {
                if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                    out_lines.push(std::mem::take(&mut line));
                }
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(word);
            }
            out_lines.push(line);
        }
        Ok(Value::from(out_lines.join(&sep)))
    });
    env.add_filter("xmlattr", |v: Value, args: Args| -> Result<Value, Error> {
        undefined_check(&v)?;
        let a = bind("xmlattr", &args, &[("autospace", Some(Value::from(true)))])?;
        let mut parts = Vec::new();
        for k in v.try_iter()? {
            let item = v.get_item(&k)?;
            if item.is_none() || item.is_undefined() {
                continue;
            }
            parts.push(format!(
                "{}=\"{}\"",
                html_escape(&py_str(&k)?),
                html_escape(&py_str(&item)?)
            ));
        }
        let mut s = parts.join(" ");
        if a[0].is_true() && !s.is_empty() {
            s.insert(0, ' ');
        }
        Ok(Value::from_safe_string(s))
    });
    env.add_filter("urlencode", |v: Value| -> Result<Value, Error> {
        undefined_check(&v)?;
        match v.kind() {
            ValueKind::String => Ok(Value::from(url_quote(
                v.as_str().unwrap_or_default(),
                "/",
                false,
            ))),
            ValueKind::Map | ValueKind::Seq | ValueKind::Iterable => {
                let mut parts = Vec::new();
                if v.kind() == ValueKind::Map {
                    for k in v.try_iter()? {
                        let item = v.get_item(&k)?;
                        parts.push(format!(
                            "{}={}",
                            url_quote(&py_str(&k)?, "", true),
                            url_quote(&py_str(&item)?, "", true)
                        ));
                    }
                } else {
                    for pair in v.try_iter()? {
                        let kv: Vec<Value> = pair.try_iter()?.collect();
                        if kv.len() != 2 {
                            return Err(type_error("too many values to unpack (expected 2)"));
                        }
                        parts.push(format!(
                            "{}={}",
                            url_quote(&py_str(&kv[0])?, "", true),
                            url_quote(&py_str(&kv[1])?, "", true)
                        ));
                    }
                }
                Ok(Value::from(parts.join("&")))
            }
            _ => Ok(Value::from(url_quote(&py_str(&v)?, "/", false))),
        }
    });
    env.add_filter("urlize", |v: Value| -> Result<Value, Error> {
        undefined_check(&v)?;
        Ok(Value::from_safe_string(urlize(&py_str(&v)?)))
    });
    env.add_filter("random", |v: Value| -> Result<Value, Error> {
        let items = items_of(&v)?;
        if items.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                "No random item, sequence was empty.",
            ));
        }
        let pick = (uuid::Uuid::new_v4().as_u128() % items.len() as u128) as usize;
        Ok(items[pick].clone())
    });

    install_tests(env);
    install_globals(env);
}

fn stable_reverse(idx: Vec<usize>, keys: &[Value]) -> Result<Vec<usize>, Error> {
    // Python's sort(reverse=True) keeps equal elements in original order
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for i in idx {
        match groups.last_mut() {
            Some(g) if py_cmp(&keys[g[0]], &keys[i])? == Ordering::Equal => g.push(i),
            _ => groups.push(vec![i]),
        }
    }
    groups.reverse();
    Ok(groups.into_iter().flatten().collect())
}

/// Python `a + b` for the `sum` filter.
fn add(a: &Value, b: &Value) -> Result<Value, Error> {
    let num = |v: &Value| matches!(v.kind(), ValueKind::Number | ValueKind::Bool);
    if num(a) && num(b) {
        if (a.is_integer() || a.kind() == ValueKind::Bool)
            && (b.is_integer() || b.kind() == ValueKind::Bool)
        {
            let x = i128::try_from(a.clone()).unwrap_or(i128::from(a.is_true()));
            let y = i128::try_from(b.clone()).unwrap_or(i128::from(b.is_true()));
            return Ok(Value::from(x + y));
        }
        let x = f64::try_from(a.clone()).unwrap_or(0.0);
        let y = f64::try_from(b.clone()).unwrap_or(0.0);
        return Ok(Value::from(x + y));
    }
    if a.kind() == ValueKind::Seq
        && b.kind() == ValueKind::Seq
        && py_type_name(a) == py_type_name(b)
    {
        let mut items: Vec<Value> = a.try_iter()?.collect();
        items.extend(b.try_iter()?);
        return Ok(if a.downcast_object_ref::<PyTuple>().is_some() {
            tuple(items)
        } else {
            Value::from(items)
        });
    }
    Err(type_error(format!(
        "unsupported operand type(s) for +: '{}' and '{}'",
        py_type_name(a),
        py_type_name(b)
    )))
}

fn install_tests(env: &mut Environment<'static>) {
    env.add_test("defined", |v: Value| !super::values::is_any_undefined(&v));
    env.add_test("undefined", |v: Value| super::values::is_any_undefined(&v));
    env.add_test("callable", |v: Value| v.kind() == ValueKind::Plain);
    env.add_test("sameas", |a: Value, b: Value| {
        super::values::same_as(&a, &b)
    });
    env.add_test("number", |v: Value| {
        v.kind() == ValueKind::Number || v.kind() == ValueKind::Bool
    });
    env.add_test("integer", |v: Value| {
        v.is_integer() || v.kind() == ValueKind::Bool
    });
    env.add_test("float", |v: Value| {
        v.kind() == ValueKind::Number && !v.is_integer()
    });
    env.add_test("sequence", |v: Value| {
        matches!(
            v.kind(),
            ValueKind::Seq | ValueKind::Map | ValueKind::String
        )
    });
    env.add_test("iterable", |v: Value| {
        matches!(
            v.kind(),
            ValueKind::Seq | ValueKind::Map | ValueKind::String | ValueKind::Iterable
        )
    });
    env.add_test("lower", |v: Value| -> Result<bool, Error> {
        undefined_check(&v)?;
        let s = py_str(&v)?;
        Ok(s.chars().any(char::is_lowercase) && !s.chars().any(char::is_uppercase))
    });
    env.add_test("upper", |v: Value| -> Result<bool, Error> {
        undefined_check(&v)?;
        let s = py_str(&v)?;
        Ok(s.chars().any(char::is_uppercase) && !s.chars().any(char::is_lowercase))
    });
    env.add_test("divisibleby", |v: Value, n: Value| -> Result<bool, Error> {
        undefined_check(&v)?;
        let x = num_f64(&v, "mod")?;
        let y = num_f64(&n, "mod")?;
        if y == 0.0 {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                "integer division or modulo by zero",
            ));
        }
        Ok(x.rem_euclid(y) == 0.0)
    });
    env.add_test("odd", |v: Value| -> Result<bool, Error> {
        undefined_check(&v)?;
        let x = num_f64(&v, "mod")?;
        Ok(x.rem_euclid(2.0) == 1.0)
    });
    env.add_test("even", |v: Value| -> Result<bool, Error> {
        undefined_check(&v)?;
        let x = num_f64(&v, "mod")?;
        Ok(x.rem_euclid(2.0) == 0.0)
    });
}

fn install_globals(env: &mut Environment<'static>) {
    env.add_function("range", |args: Args| -> Result<Value, Error> {
        let PyArgs2 { pos, kw } = split2(&args);
        if !kw.is_empty() {
            return Err(type_error("range() takes no keyword arguments"));
        }
        let ints: Vec<i64> = pos
            .iter()
            .map(|v| {
                if v.is_integer() || v.kind() == ValueKind::Bool {
                    Ok(v.as_i64().unwrap_or(i64::from(v.is_true())))
                } else {
                    Err(type_error(format!(
                        "'{}' object cannot be interpreted as an integer",
                        py_type_name(v)
                    )))
                }
            })
            .collect::<Result<_, _>>()?;
        let (start, stop, step) = match ints.as_slice() {
            [stop] => (0, *stop, 1),
            [start, stop] => (*start, *stop, 1),
            [start, stop, step] => (*start, *stop, *step),
            [] => return Err(type_error("range expected at least 1 argument, got 0")),
            _ => {
                return Err(type_error(format!(
                    "range expected at most 3 arguments, got {}",
                    ints.len()
                )))
            }
        };
        if step == 0 {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                "range() arg 3 must not be zero",
            ));
        }
        let range = super::values::PyRange { start, stop, step };
        if range.len() > 100_000 {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).",
            ));
        }
        Ok(Value::from_object(range))
    });
    env.add_function("joiner", |args: Args| -> Result<Value, Error> {
        let a = bind("joiner", &args, &[("sep", Some(Value::from(", ")))])?;
        let sep = py_str(&a[0])?;
        let used = std::sync::atomic::AtomicBool::new(false);
        Ok(Value::from_function(
            move |_: Args| -> Result<Value, Error> {
                if used.swap(true, std::sync::atomic::Ordering::SeqCst) {
                    Ok(Value::from(sep.clone()))
                } else {
                    Ok(Value::from(""))
                }
            },
        ))
    });
    env.add_function("cycler", |args: Args| -> Result<Value, Error> {
        let items = split2(&args).pos;
        if items.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                "at least one item has to be provided",
            ));
        }
        Ok(Value::from_object(Cycler {
            items,
            pos: std::sync::atomic::AtomicUsize::new(0),
        }))
    });
    env.add_function("lipsum", |args: Args| -> Result<Value, Error> {
        let a = bind(
            "lipsum",
            &args,
            &[
                ("n", Some(Value::from(5))),
                ("html", Some(Value::from(true))),
                ("min", Some(Value::from(20))),
                ("max", Some(Value::from(100))),
            ],
        )?;
        let n = a[0].as_i64().unwrap_or(5).clamp(0, 1000) as usize;
        // Jinja2 draws each paragraph's length with randrange(min, max): an empty range raises.
        if let (Some(lo), Some(hi)) = (a[2].as_i64(), a[3].as_i64()) {
            if n > 0 && lo >= hi {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("empty range for randrange() ({lo}, {hi}, {})", hi - lo),
                ));
            }
        }
        let min = a[2].as_i64().unwrap_or(20).clamp(1, 10_000) as usize;
        let words = [
            "lorem",
            "ipsum",
            "dolor",
            "sit",
            "amet",
            "consectetur",
            "adipiscing",
            "elit",
        ];
        let mut paras = Vec::new();
        for _ in 0..n {
            let mut p: Vec<&str> = (0..min).map(|i| words[i % words.len()]).collect();
            if let Some(first) = p.first_mut() {
                *first = "Lorem";
            }
            paras.push(format!("{}.", p.join(" ")));
        }
        if a[1].is_true() {
            Ok(Value::from_safe_string(
                paras
                    .iter()
                    .map(|p| format!("<p>{p}</p>"))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ))
        } else {
            Ok(Value::from(paras.join("\n\n")))
        }
    });
    env.add_function("dict", |args: Args| -> Result<Value, Error> {
        let PyArgs2 { pos, kw } = split2(&args);
        if !pos.is_empty() {
            return Err(type_error(
                "dict() takes no positional arguments in templates",
            ));
        }
        Ok(Value::from_iter(
            kw.into_iter().map(|(k, v)| (Value::from(k), v)),
        ))
    });
}

/// Jinja2's `cycler(...)`: `next()`, `current`, `reset()`.
#[derive(Debug)]
struct Cycler {
    items: Vec<Value>,
    pos: std::sync::atomic::AtomicUsize,
}

impl minijinja::value::Object for Cycler {
    fn repr(self: &std::sync::Arc<Self>) -> minijinja::value::ObjectRepr {
        minijinja::value::ObjectRepr::Plain
    }

    fn get_value(self: &std::sync::Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "current" => Some(
                self.items[self.pos.load(std::sync::atomic::Ordering::SeqCst) % self.items.len()]
                    .clone(),
            ),
            _ => None,
        }
    }

    fn call_method(
        self: &std::sync::Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        _args: &[Value],
    ) -> Result<Value, Error> {
        use std::sync::atomic::Ordering::SeqCst;
        match method {
            "next" => {
                let i = self.pos.fetch_add(1, SeqCst);
                Ok(self.items[i % self.items.len()].clone())
            }
            "reset" => {
                self.pos.store(0, SeqCst);
                Ok(Value::from(()))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_and_lipsum_follow_jinja2_loops() {
        let ev = crate::expr::Evaluator::new();
        let ctx = serde_json::json!({"l": [3, 1, 2]});
        let eval = |e: &str| {
            ev.evaluate_str(&format!("{{{{ {e} }}}}"), &ctx, &crate::expr::NoData)
                .map_err(|e| e.detail)
        };
        assert_eq!(
            eval("_.l | batch(0) | list"),
            Ok(serde_json::json!([[], [3, 1, 2]]))
        );
        assert_eq!(
            eval("_.l | batch(-1) | list"),
            Ok(serde_json::json!([[3, 1, 2]]))
        );
        assert_eq!(
            eval("_.l | batch(2, 0) | list"),
            Ok(serde_json::json!([[3, 1], [2, 0]]))
        );
        assert_eq!(
            eval("lipsum(1, false, 3, 3)"),
            Err("empty range for randrange() (3, 3, 0)".into())
        );
        assert_eq!(eval("lipsum(0, false, 3, 3)"), Ok(serde_json::json!("")));
    }

    #[test]
    fn jinja_title_and_quote_match_python() {
        assert_eq!(jinja_title("hello-world foo_bar"), "Hello-World Foo_bar");
        assert_eq!(url_quote("a b/c", "/", false), "a%20b/c");
        assert_eq!(url_quote("x y", "", true), "x+y");
    }

    #[test]
    fn percent_format_matches_python() {
        let args = vec![Value::from("a"), Value::from(3), Value::from(2.5)];
        assert_eq!(percent_format("%s-%d-%.2f", &args).unwrap(), "a-3-2.50");
        assert_eq!(
            percent_format("%5s|%-3d|", &[Value::from("x"), Value::from(7)]).unwrap(),
            "    x|7  |"
        );
        assert!(percent_format("%s %s", &[Value::from(1)]).is_err());
    }

    #[test]
    fn banker_rounding_like_python() {
        assert_eq!(py_round(2.5, 0), 2.0);
        assert_eq!(py_round(3.5, 0), 4.0);
        assert_eq!(py_round(2.675, 2), 2.67);
        assert_eq!(py_round(1.25, 1), 1.2);
        assert_eq!(py_round(0.5, 0), 0.0);
        assert_eq!(py_round(1.5, 0), 2.0);
    }

    #[test]
    fn filesize_and_truncate_match_jinja() {
        assert_eq!(filesizeformat(1.0, false), "1 Byte");
        assert_eq!(filesizeformat(1500.0, false), "1.5 kB");
        assert_eq!(filesizeformat(2048.0, true), "2.0 KiB");
        assert_eq!(truncate("foo bar baz qux", 9, false, "...", 0), "foo...");
        assert_eq!(truncate("foo bar baz qux", 9, true, "...", 0), "foo ba...");
    }
}
