//! Python `pprint.pformat(obj, width=W, sort_dicts=False)` for JSON-like values, as used by
//! jsonschema's error texts.

use regex::Regex;
use serde_json::Value;
use std::sync::LazyLock;

use super::pyrepr::{py_repr, py_repr_key, py_repr_str};

static PARTS_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\S*\s*").unwrap());

pub fn pformat(v: &Value, width: usize) -> String {
    let mut out = String::new();
    format(v, &mut out, 0, 0, 0, width);
    out
}

fn clen(s: &str) -> usize {
    s.chars().count()
}

fn format(
    v: &Value,
    out: &mut String,
    indent: usize,
    allowance: usize,
    level: usize,
    width: usize,
) {
    let rep = py_repr(v);
    let max_width = width as isize - indent as isize - allowance as isize;
    if clen(&rep) as isize > max_width {
        match v {
            Value::Object(m) => {
                out.push('{');
                if !m.is_empty() {
                    let indent = indent + 1;
                    let allowance = allowance + 1;
                    let delimnl = format!(",\n{}", " ".repeat(indent));
                    let last_index = m.len() - 1;
                    for (i, (k, ent)) in m.iter().enumerate() {
                        let last = i == last_index;
                        let krep = py_repr_key(k);
                        out.push_str(&krep);
                        out.push_str(": ");
                        format(
                            ent,
                            out,
                            indent + clen(&krep) + 2,
                            if last { allowance } else { 1 },
                            level + 1,
                            width,
                        );
                        if !last {
                            out.push_str(&delimnl);
                        }
                    }
                }
                out.push('}');
                return;
            }
            Value::Array(items) => {
                out.push('[');
                if !items.is_empty() {
                    let indent = indent + 1;
                    let allowance = allowance + 1;
                    let delimnl = format!(",\n{}", " ".repeat(indent));
                    for (i, ent) in items.iter().enumerate() {
                        let last = i == items.len() - 1;
                        if i > 0 {
                            out.push_str(&delimnl);
                        }
                        format(
                            ent,
                            out,
                            indent,
                            if last { allowance } else { 1 },
                            level + 1,
                            width,
                        );
                    }
                }
                out.push(']');
                return;
            }
            Value::String(s) => {
                pprint_str(s, out, indent, allowance, level + 1, width);
                return;
            }
            _ => {}
        }
    }
    out.push_str(&rep);
}

/// Python `str.splitlines(True)`.
fn splitlines_keep(s: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        cur.push(c);
        let is_break = matches!(
            c,
            '\n' | '\r'
                | '\x0b'
                | '\x0c'
                | '\x1c'
                | '\x1d'
                | '\x1e'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if is_break {
            if c == '\r' && i + 1 < chars.len() && chars[i + 1] == '\n' {
                cur.push('\n');
                i += 1;
            }
            lines.push(std::mem::take(&mut cur));
        }
        i += 1;
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

fn pprint_str(
    s: &str,
    out: &mut String,
    indent: usize,
    allowance: usize,
    level: usize,
    width: usize,
) {
    if s.is_empty() {
        out.push_str(&py_repr_str(s));
        return;
    }
    let mut indent = indent;
    let mut allowance = allowance;
    if level == 1 {
        indent += 1;
        allowance += 1;
    }
    let lines = splitlines_keep(s);
    let max_width = width as isize - indent as isize;
    let mut max_width1 = max_width;
    let mut chunks: Vec<String> = Vec::new();
    let mut last_rep = String::new();
    for (i, line) in lines.iter().enumerate() {
        let rep = py_repr_str(line);
        last_rep = rep.clone();
        if i == lines.len() - 1 {
            max_width1 -= allowance as isize;
        }
        if clen(&rep) as isize <= max_width1 {
            chunks.push(rep);
        } else {
            let mut parts: Vec<&str> = PARTS_RE.find_iter(line).map(|m| m.as_str()).collect();
            if parts.last() == Some(&"") {
                parts.pop();
            }
            let mut max_width2 = max_width;
            let mut current = String::new();
            for (j, part) in parts.iter().enumerate() {
                let candidate = format!("{current}{part}");
                if j == parts.len() - 1 && i == lines.len() - 1 {
                    max_width2 -= allowance as isize;
                }
                if clen(&py_repr_str(&candidate)) as isize > max_width2 {
                    if !current.is_empty() {
                        chunks.push(py_repr_str(&current));
                    }
                    current = part.to_string();
                } else {
                    current = candidate;
                }
            }
            if !current.is_empty() {
                chunks.push(py_repr_str(&current));
            }
        }
    }
    if chunks.len() == 1 {
        out.push_str(&last_rep);
        return;
    }
    if level == 1 {
        out.push('(');
    }
    for (i, c) in chunks.iter().enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(c);
    }
    if level == 1 {
        out.push(')');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_values_use_repr() {
        assert_eq!(pformat(&json!({"a": 1}), 72), "{'a': 1}");
    }

    #[test]
    fn long_dicts_break_like_python_pprint() {
        let v = json!({"type": "object", "minProperties": 1, "patternProperties": {"^\\w+$": {"anyOf": [{"type": "null"}, {"type": "array"}]}}});
        assert_eq!(
            pformat(&v, 72),
            "{'type': 'object',\n 'minProperties': 1,\n 'patternProperties': {'^\\\\w+$': {'anyOf': [{'type': 'null'},\n                                            {'type': 'array'}]}}}"
        );
    }
}
