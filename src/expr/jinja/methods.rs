//! Python methods callable on values inside Jinja expressions (`_.s.upper()`,
//! `_.d.items()`, `'a,b'.split(',')` ...), as the Jinja2 sandbox allows them.

use super::values::{object_type_repr, py_str, py_type_name, tuple, DictView, ViewKind};
use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind, State};

/// Positional and keyword arguments of a call.
pub struct PyArgs {
    pub pos: Vec<Value>,
    pub kw: Vec<(String, Value)>,
}

pub fn split_args(args: &[Value]) -> PyArgs {
    let mut pos: Vec<Value> = args.to_vec();
    let mut kw = Vec::new();
    if let Some(last) = pos.last() {
        if last.is_kwargs() {
            let last = pos.pop().unwrap_or_default();
            if let Ok(keys) = last.try_iter() {
                for k in keys {
                    let v = last.get_item(&k).unwrap_or_default();
                    kw.push((k.as_str().unwrap_or_default().to_string(), v));
                }
            }
        }
    }
    PyArgs { pos, kw }
}

pub fn type_error(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// Binds Python-style arguments to named parameters with defaults (`None` = required).
pub fn bind(
    fname: &str,
    args: &[Value],
    params: &[(&str, Option<Value>)],
) -> Result<Vec<Value>, Error> {
    let PyArgs { pos, kw } = split_args(args);
    if pos.len() > params.len() {
        return Err(type_error(format!(
            "{fname}() takes at most {} arguments ({} given)",
            params.len(),
            pos.len()
        )));
    }
    let mut out: Vec<Option<Value>> = vec![None; params.len()];
    for (i, v) in pos.into_iter().enumerate() {
        out[i] = Some(v);
    }
    for (k, v) in kw {
        match params.iter().position(|(n, _)| *n == k) {
            Some(i) if out[i].is_none() => out[i] = Some(v),
            Some(_) => {
                return Err(type_error(format!(
                    "{fname}() got multiple values for argument '{k}'"
                )))
            }
            None => {
                return Err(type_error(format!(
                    "{fname}() got an unexpected keyword argument '{k}'"
                )))
            }
        }
    }
    out.into_iter()
        .zip(params)
        .map(|(v, (name, default))| match (v, default) {
            (Some(v), _) => Ok(v),
            (None, Some(d)) => Ok(d.clone()),
            (None, None) => Err(type_error(format!(
                "{fname}() missing required argument: '{name}'"
            ))),
        })
        .collect()
}

fn expect_str<'a>(v: &'a Value, what: &str) -> Result<&'a str, Error> {
    v.as_str()
        .filter(|_| v.kind() == ValueKind::String)
        .ok_or_else(|| type_error(format!("{what} must be str, not {}", py_type_name(v))))
}

fn opt_str(v: &Value, what: &str) -> Result<Option<String>, Error> {
    if v.is_none() {
        Ok(None)
    } else {
        expect_str(v, what).map(|s| Some(s.to_string()))
    }
}

fn int_arg(v: &Value, what: &str) -> Result<i64, Error> {
    if v.is_integer() || v.kind() == ValueKind::Bool {
        Ok(v.as_i64().unwrap_or(if v.is_true() { 1 } else { 0 }))
    } else {
        Err(type_error(format!(
            "'{}' object cannot be interpreted as an integer{what}",
            py_type_name(v)
        )))
    }
}

fn no_attr(v: &Value, name: &str) -> Error {
    Error::new(
        ErrorKind::UndefinedError,
        format!("'{}' has no attribute '{}'", object_type_repr(v), name),
    )
}

/// Python whitespace split / split by separator, with maxsplit.
pub fn py_split(
    s: &str,
    sep: Option<&str>,
    maxsplit: i64,
    from_right: bool,
) -> Result<Vec<String>, Error> {
    let max = if maxsplit < 0 {
        usize::MAX
    } else {
        maxsplit as usize
    };
    match sep {
        Some("") => Err(Error::new(ErrorKind::InvalidOperation, "empty separator")),
        Some(sep) => {
            if from_right {
                let mut parts: Vec<String> = s
                    .rsplitn(max.saturating_add(1), sep)
                    .map(String::from)
                    .collect();
                parts.reverse();
                Ok(parts)
            } else {
                Ok(s.splitn(max.saturating_add(1), sep)
                    .map(String::from)
                    .collect())
            }
        }
        None => {
            let words: Vec<&str> = s.split_whitespace().collect();
            if words.len() <= max.saturating_add(1) || max == usize::MAX {
                return Ok(words.into_iter().map(String::from).collect());
            }
            if from_right {
                // keep the leading remainder intact
                let mut rest = s.trim_end();
                let mut parts = Vec::new();
                for _ in 0..max {
                    let idx = rest.rfind(char::is_whitespace).unwrap_or(0);
                    parts.push(rest[idx..].trim_start().to_string());
                    rest = rest[..idx].trim_end();
                }
                parts.push(rest.to_string());
                parts.reverse();
                Ok(parts)
            } else {
                let mut rest = s.trim_start();
                let mut parts = Vec::new();
                for _ in 0..max {
                    let idx = rest.find(char::is_whitespace).unwrap_or(rest.len());
                    parts.push(rest[..idx].to_string());
                    rest = rest[idx..].trim_start();
                }
                parts.push(rest.to_string());
                Ok(parts)
            }
        }
    }
}

fn strip_chars<'a>(s: &'a str, chars: Option<&str>, left: bool, right: bool) -> &'a str {
    let pred = |c: char| match chars {
        Some(cs) => cs.contains(c),
        None => c.is_whitespace(),
    };
    let mut out = s;
    if left {
        out = out.trim_start_matches(pred);
    }
    if right {
        out = out.trim_end_matches(pred);
    }
    out
}

/// Python `str.capitalize()`.
pub fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().collect::<String>() + &chars.as_str().to_lowercase(),
        None => String::new(),
    }
}

/// Python `str.title()`.
pub fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_cased = false;
    for c in s.chars() {
        if prev_cased {
            out.extend(c.to_lowercase());
        } else {
            out.extend(c.to_uppercase());
        }
        prev_cased = c.is_alphabetic();
    }
    out
}

fn str_list(items: Vec<String>) -> Value {
    Value::from(items.into_iter().map(Value::from).collect::<Vec<_>>())
}

fn prefixes(v: &Value, method: &str) -> Result<Vec<String>, Error> {
    if v.kind() == ValueKind::String {
        return Ok(vec![v.as_str().unwrap_or_default().to_string()]);
    }
    if py_type_name(v) == "tuple" || v.kind() == ValueKind::Seq {
        return v
            .try_iter()?
            .map(|p| expect_str(&p, "tuple for startswith").map(str::to_string))
            .collect();
    }
    Err(type_error(format!(
        "{method} first arg must be str or a tuple of str, not {}",
        py_type_name(v)
    )))
}

fn python_format(state: &State, fmt: &str, args: &[Value]) -> Result<Value, Error> {
    let PyArgs { pos, kw } = split_args(args);
    let mut out = String::new();
    let mut auto = 0usize;
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut field = String::new();
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                    field.push(c);
                }
                let name = field.split([':', '!']).next().unwrap_or("").to_string();
                let value = if name.is_empty() {
                    let v = pos.get(auto).cloned();
                    auto += 1;
                    v.ok_or_else(|| {
                        Error::new(
                            ErrorKind::InvalidOperation,
                            format!(
                                "Replacement index {} out of range for positional args tuple",
                                auto - 1
                            ),
                        )
                    })?
                } else if let Ok(i) = name.parse::<usize>() {
                    pos.get(i).cloned().ok_or_else(|| {
                        Error::new(
                            ErrorKind::InvalidOperation,
                            format!("Replacement index {i} out of range for positional args tuple"),
                        )
                    })?
                } else {
                    kw.iter()
                        .find(|(k, _)| *k == name)
                        .map(|(_, v)| v.clone())
                        .ok_or_else(|| {
                            Error::new(
                                ErrorKind::InvalidOperation,
                                crate::expr::pystr::str_repr(&name),
                            )
                        })?
                };
                let _ = state;
                out.push_str(&py_str(&value)?);
            }
            c => out.push(c),
        }
    }
    Ok(Value::from(out))
}

/// Calls a Python method on a value; unknown methods fail like Jinja2's undefined attribute.
pub fn call_py_method(
    state: &State,
    v: &Value,
    name: &str,
    args: &[Value],
) -> Result<Value, Error> {
    match v.kind() {
        ValueKind::String => str_method(state, v, name, args),
        ValueKind::Map => dict_method(v, name, args),
        ValueKind::Seq => list_method(v, name, args),
        ValueKind::Undefined => Err(Error::from(ErrorKind::UndefinedError)),
        _ => Err(no_attr(v, name)),
    }
}

fn dict_method(v: &Value, name: &str, args: &[Value]) -> Result<Value, Error> {
    let entries = || -> Result<Vec<(Value, Value)>, Error> {
        v.try_iter()?
            .map(|k| {
                let item = v.get_item(&k)?;
                Ok((k, item))
            })
            .collect()
    };
    match name {
        "items" => {
            bind("items", args, &[])?;
            let items = entries()?
                .into_iter()
                .map(|(k, v)| tuple(vec![k, v]))
                .collect();
            Ok(Value::from_object(DictView {
                kind: ViewKind::Items,
                items,
            }))
        }
        "keys" => {
            bind("keys", args, &[])?;
            let items = entries()?.into_iter().map(|(k, _)| k).collect();
            Ok(Value::from_object(DictView {
                kind: ViewKind::Keys,
                items,
            }))
        }
        "values" => {
            bind("values", args, &[])?;
            let items = entries()?.into_iter().map(|(_, v)| v).collect();
            Ok(Value::from_object(DictView {
                kind: ViewKind::Values,
                items,
            }))
        }
        "get" => {
            let a = bind(
                "get",
                args,
                &[("key", None), ("default", Some(Value::from(())))],
            )?;
            for (k, item) in entries()? {
                if k == a[0] {
                    return Ok(item);
                }
            }
            Ok(a[1].clone())
        }
        "copy" => {
            bind("copy", args, &[])?;
            Ok(Value::from_iter(entries()?))
        }
        _ => Err(no_attr(v, name)),
    }
}

fn list_method(v: &Value, name: &str, args: &[Value]) -> Result<Value, Error> {
    let items: Vec<Value> = super::filters::items_of(v)?;
    match name {
        "index" => {
            let a = bind("index", args, &[("value", None)])?;
            items
                .iter()
                .position(|x| *x == a[0])
                .map(Value::from)
                .ok_or_else(|| {
                    type_error(format!(
                        "{} is not in list",
                        super::values::py_repr(&a[0]).unwrap_or_default()
                    ))
                })
        }
        "count" => {
            let a = bind("count", args, &[("value", None)])?;
            Ok(Value::from(items.iter().filter(|x| **x == a[0]).count()))
        }
        "copy" => {
            bind("copy", args, &[])?;
            Ok(Value::from(items))
        }
        _ => Err(no_attr(v, name)),
    }
}

fn str_method(state: &State, v: &Value, name: &str, args: &[Value]) -> Result<Value, Error> {
    let s = v.as_str().unwrap_or_default();
    let none = || Some(Value::from(()));
    match name {
        "upper" => {
            bind(name, args, &[])?;
            Ok(Value::from(s.to_uppercase()))
        }
        "lower" | "casefold" => {
            bind(name, args, &[])?;
            Ok(Value::from(s.to_lowercase()))
        }
        "capitalize" => {
            bind(name, args, &[])?;
            Ok(Value::from(capitalize(s)))
        }
        "title" => {
            bind(name, args, &[])?;
            Ok(Value::from(title(s)))
        }
        "swapcase" => {
            bind(name, args, &[])?;
            Ok(Value::from(
                s.chars()
                    .flat_map(|c| {
                        if c.is_uppercase() {
                            c.to_lowercase().collect::<Vec<_>>()
                        } else {
                            c.to_uppercase().collect::<Vec<_>>()
                        }
                    })
                    .collect::<String>(),
            ))
        }
        "strip" | "lstrip" | "rstrip" => {
            let a = bind(name, args, &[("chars", none())])?;
            let chars = opt_str(&a[0], "strip arg")?;
            let (l, r) = match name {
                "strip" => (true, true),
                "lstrip" => (true, false),
                _ => (false, true),
            };
            Ok(Value::from(strip_chars(s, chars.as_deref(), l, r)))
        }
        "split" | "rsplit" => {
            let a = bind(
                name,
                args,
                &[("sep", none()), ("maxsplit", Some(Value::from(-1)))],
            )?;
            let sep = opt_str(&a[0], "must be str or None, not")?;
            let max = int_arg(&a[1], "")?;
            Ok(str_list(py_split(
                s,
                sep.as_deref(),
                max,
                name == "rsplit",
            )?))
        }
        "splitlines" => {
            bind(name, args, &[])?;
            Ok(str_list(s.lines().map(String::from).collect()))
        }
        "replace" => {
            let a = bind(
                name,
                args,
                &[
                    ("old", None),
                    ("new", None),
                    ("count", Some(Value::from(-1))),
                ],
            )?;
            let old = expect_str(&a[0], "replace() argument 1")?;
            let new = expect_str(&a[1], "replace() argument 2")?;
            let count = int_arg(&a[2], "")?;
            Ok(Value::from(if count < 0 {
                s.replace(old, new)
            } else {
                s.replacen(old, new, count as usize)
            }))
        }
        "startswith" | "endswith" => {
            let a = bind(name, args, &[("prefix", None)])?;
            let ps = prefixes(&a[0], name)?;
            Ok(Value::from(ps.iter().any(|p| {
                if name == "startswith" {
                    s.starts_with(p.as_str())
                } else {
                    s.ends_with(p.as_str())
                }
            })))
        }
        "find" | "rfind" | "index" | "rindex" => {
            let a = bind(name, args, &[("sub", None)])?;
            let sub = expect_str(&a[0], "must be str, not")?;
            let found = if name.starts_with('r') {
                s.rfind(sub)
            } else {
                s.find(sub)
            };
            match found {
                Some(byte) => Ok(Value::from(s[..byte].chars().count())),
                None if name.ends_with("find") => Ok(Value::from(-1)),
                None => Err(type_error("substring not found")),
            }
        }
        "count" => {
            let a = bind(name, args, &[("sub", None)])?;
            let sub = expect_str(&a[0], "must be str, not")?;
            Ok(Value::from(if sub.is_empty() {
                s.chars().count() + 1
            } else {
                s.matches(sub).count()
            }))
        }
        "join" => {
            let a = bind(name, args, &[("iterable", None)])?;
            let mut parts = Vec::new();
            for (i, item) in a[0].try_iter()?.enumerate() {
                if item.kind() != ValueKind::String {
                    return Err(type_error(format!(
                        "sequence item {i}: expected str instance, {} found",
                        py_type_name(&item)
                    )));
                }
                parts.push(item.as_str().unwrap_or_default().to_string());
            }
            Ok(Value::from(parts.join(s)))
        }
        "isdigit" | "isnumeric" | "isdecimal" => {
            bind(name, args, &[])?;
            Ok(Value::from(
                !s.is_empty() && s.chars().all(|c| c.is_numeric()),
            ))
        }
        "isalpha" => {
            bind(name, args, &[])?;
            Ok(Value::from(
                !s.is_empty() && s.chars().all(char::is_alphabetic),
            ))
        }
        "isalnum" => {
            bind(name, args, &[])?;
            Ok(Value::from(
                !s.is_empty() && s.chars().all(char::is_alphanumeric),
            ))
        }
        "isspace" => {
            bind(name, args, &[])?;
            Ok(Value::from(
                !s.is_empty() && s.chars().all(char::is_whitespace),
            ))
        }
        "isupper" | "islower" => {
            bind(name, args, &[])?;
            let cased: Vec<char> = s
                .chars()
                .filter(|c| c.is_uppercase() || c.is_lowercase())
                .collect();
            let ok = !cased.is_empty()
                && cased.iter().all(|c| {
                    if name == "isupper" {
                        c.is_uppercase()
                    } else {
                        c.is_lowercase()
                    }
                });
            Ok(Value::from(ok))
        }
        "zfill" => {
            let a = bind(name, args, &[("width", None)])?;
            let width = int_arg(&a[0], "")?.max(0) as usize;
            let len = s.chars().count();
            if len >= width {
                return Ok(Value::from(s));
            }
            let (sign, rest) = match s.chars().next() {
                Some(c @ ('+' | '-')) => (c.to_string(), &s[1..]),
                _ => (String::new(), s),
            };
            Ok(Value::from(format!(
                "{sign}{}{rest}",
                "0".repeat(width - len)
            )))
        }
        "center" | "ljust" | "rjust" => {
            let a = bind(
                name,
                args,
                &[("width", None), ("fillchar", Some(Value::from(" ")))],
            )?;
            let width = int_arg(&a[0], "")?.max(0) as usize;
            let fill = expect_str(&a[1], "fillchar")?;
            Ok(Value::from(pad(s, width, fill, name)))
        }
        "format" => python_format(state, s, args),
        _ => Err(no_attr(v, name)),
    }
}

/// Python's `str.center/ljust/rjust`.
pub fn pad(s: &str, width: usize, fill: &str, how: &str) -> String {
    let len = s.chars().count();
    if len >= width {
        return s.to_string();
    }
    let total = width - len;
    let (left, right) = match how {
        "ljust" => (0, total),
        "rjust" => (total, 0),
        _ => {
            // CPython: left = total/2 + (total & width & 1)
            let left = total / 2 + (total & width & 1);
            (left, total - left)
        }
    };
    format!("{}{}{}", fill.repeat(left), s, fill.repeat(right))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_follows_python_rules() {
        assert_eq!(
            py_split("  a b  c ", None, -1, false).unwrap(),
            vec!["a", "b", "c"]
        );
        assert_eq!(py_split("a b c", None, 1, false).unwrap(), vec!["a", "b c"]);
        assert_eq!(py_split("a b c", None, 1, true).unwrap(), vec!["a b", "c"]);
        assert_eq!(
            py_split("a,b,,c", Some(","), -1, false).unwrap(),
            vec!["a", "b", "", "c"]
        );
        assert_eq!(
            py_split("a,b,c", Some(","), 1, true).unwrap(),
            vec!["a,b", "c"]
        );
        assert!(py_split("a", Some(""), -1, false).is_err());
    }

    #[test]
    fn case_helpers_match_python() {
        assert_eq!(capitalize("hELLO world"), "Hello world");
        assert_eq!(title("hello wORLD-x y2z"), "Hello World-X Y2Z");
        assert_eq!(pad("ab", 7, "*", "center"), "***ab**");
        assert_eq!(pad("abc", 6, " ", "center"), " abc  ");
    }
}
