//! Serialisations Mistral's functions produce through Python libraries: `json.dumps(indent=4)`
//! (json_dump), PyYAML `safe_dump(default_flow_style=False)` (yaml_dump) and PyYAML
//! `safe_load` with YAML 1.1 scalar resolution (yaml_parse).

use super::pystr::float_repr;
use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

// ---------------------------------------------------------------------------------------------
// JSON (Python json module conventions)

/// `json.dumps(value)` with Python's defaults: ensure_ascii, `", "` / `": "` separators,
/// or with `indent` the `","` / `": "` separators and newline-indented items.
pub fn json_dumps(v: &Value, indent: Option<usize>, sort_keys: bool) -> String {
    let mut out = String::new();
    write_json(v, indent, sort_keys, 0, &mut out);
    out
}

fn json_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        }
    } else {
        float_repr(f)
    }
}

pub fn json_number(n: &Number) -> String {
    if n.is_f64() {
        json_float(n.as_f64().unwrap_or(f64::NAN))
    } else {
        n.to_string()
    }
}

/// A JSON string literal with every non-ASCII character escaped (`ensure_ascii=True`).
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{:04x}", unit));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn write_json(v: &Value, indent: Option<usize>, sort_keys: bool, level: usize, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&json_number(n)),
        Value::String(s) => out.push_str(&json_string(s)),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                    if indent.is_none() {
                        out.push(' ');
                    }
                }
                if let Some(n) = indent {
                    out.push('\n');
                    out.push_str(&" ".repeat(n * (level + 1)));
                }
                write_json(item, indent, sort_keys, level + 1, out);
            }
            if let Some(n) = indent {
                out.push('\n');
                out.push_str(&" ".repeat(n * level));
            }
            out.push(']');
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            if sort_keys {
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            out.push('{');
            for (i, (k, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                    if indent.is_none() {
                        out.push(' ');
                    }
                }
                if let Some(n) = indent {
                    out.push('\n');
                    out.push_str(&" ".repeat(n * (level + 1)));
                }
                out.push_str(&json_string(k));
                out.push_str(": ");
                write_json(item, indent, sort_keys, level + 1, out);
            }
            if let Some(n) = indent {
                out.push('\n');
                out.push_str(&" ".repeat(n * level));
            }
            out.push('}');
        }
    }
}

/// `json.loads(text)`; errors in Python's words with Python's positions
/// (`Expecting value: line 1 column 1 (char 0)`).
pub fn json_loads(text: &str) -> Result<Value, String> {
    serde_json::from_str::<Value>(text).map_err(|_| {
        let chars: Vec<char> = text.chars().collect();
        let (msg, pos) = match (PyJsonScanner { s: &chars }).document() {
            Err(e) => e,
            Ok(()) => ("Expecting value", 0),
        };
        let line = chars[..pos.min(chars.len())]
            .iter()
            .filter(|c| **c == '\n')
            .count()
            + 1;
        let col = match chars[..pos.min(chars.len())]
            .iter()
            .rposition(|c| *c == '\n')
        {
            Some(nl) => pos - nl,
            None => pos + 1,
        };
        format!("{msg}: line {line} column {col} (char {pos})")
    })
}

/// Finds where (and why) Python's json module would reject a document.
struct PyJsonScanner<'a> {
    s: &'a [char],
}

type ScanResult = Result<usize, (&'static str, usize)>;

impl PyJsonScanner<'_> {
    fn ws(&self, mut i: usize) -> usize {
        while i < self.s.len() && matches!(self.s[i], ' ' | '\t' | '\n' | '\r') {
            i += 1;
        }
        i
    }

    fn document(&self) -> Result<(), (&'static str, usize)> {
        let i = self.ws(0);
        let end = self.value(i)?;
        let end = self.ws(end);
        if end < self.s.len() {
            return Err(("Extra data", end));
        }
        Ok(())
    }

    fn value(&self, i: usize) -> ScanResult {
        match self.s.get(i) {
            Some('"') => self.string(i),
            Some('{') => self.object(i),
            Some('[') => self.array(i),
            Some(_) => {
                for lit in ["null", "true", "false", "NaN", "Infinity", "-Infinity"] {
                    let l: Vec<char> = lit.chars().collect();
                    if self.s[i..].starts_with(&l) {
                        return Ok(i + l.len());
                    }
                }
                self.number(i)
            }
            None => Err(("Expecting value", i)),
        }
    }

    fn number(&self, i: usize) -> ScanResult {
        let mut j = i;
        if self.s.get(j) == Some(&'-') {
            j += 1;
        }
        let digits_start = j;
        while j < self.s.len() && self.s[j].is_ascii_digit() {
            j += 1;
        }
        if j == digits_start {
            return Err(("Expecting value", i));
        }
        if self.s.get(j) == Some(&'.') && self.s.get(j + 1).is_some_and(char::is_ascii_digit) {
            j += 1;
            while j < self.s.len() && self.s[j].is_ascii_digit() {
                j += 1;
            }
        }
        if matches!(self.s.get(j), Some('e' | 'E')) {
            let mut k = j + 1;
            if matches!(self.s.get(k), Some('+' | '-')) {
                k += 1;
            }
            if self.s.get(k).is_some_and(char::is_ascii_digit) {
                while k < self.s.len() && self.s[k].is_ascii_digit() {
                    k += 1;
                }
                j = k;
            }
        }
        Ok(j)
    }

    fn string(&self, i: usize) -> ScanResult {
        let mut j = i + 1;
        while j < self.s.len() {
            match self.s[j] {
                '"' => return Ok(j + 1),
                '\\' => match self.s.get(j + 1) {
                    Some('"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't') => j += 2,
                    Some('u') => {
                        let hex: String = self.s.iter().skip(j + 2).take(4).collect();
                        if hex.len() != 4 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                            return Err(("Invalid \\uXXXX escape", j + 1));
                        }
                        j += 6;
                    }
                    _ => return Err(("Invalid \\escape", j)),
                },
                c if (c as u32) < 0x20 => return Err(("Invalid control character at", j)),
                _ => j += 1,
            }
        }
        Err(("Unterminated string starting at", i))
    }

    fn array(&self, i: usize) -> ScanResult {
        let mut j = self.ws(i + 1);
        if self.s.get(j) == Some(&']') {
            return Ok(j + 1);
        }
        loop {
            j = self.value(j)?;
            j = self.ws(j);
            match self.s.get(j) {
                Some(']') => return Ok(j + 1),
                Some(',') => j = self.ws(j + 1),
                _ => return Err(("Expecting ',' delimiter", j)),
            }
        }
    }

    fn object(&self, i: usize) -> ScanResult {
        let mut j = self.ws(i + 1);
        if self.s.get(j) == Some(&'}') {
            return Ok(j + 1);
        }
        loop {
            if self.s.get(j) != Some(&'"') {
                return Err(("Expecting property name enclosed in double quotes", j));
            }
            j = self.ws(self.string(j)?);
            if self.s.get(j) != Some(&':') {
                return Err(("Expecting ':' delimiter", j));
            }
            j = self.ws(j + 1);
            j = self.ws(self.value(j)?);
            match self.s.get(j) {
                Some('}') => return Ok(j + 1),
                Some(',') => j = self.ws(j + 1),
                _ => return Err(("Expecting ',' delimiter", j)),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// YAML dump (PyYAML safe_dump, default_flow_style=False, sort_keys=True, allow_unicode=False)

/// PyYAML's `safe_dump(value, default_flow_style=False)`.
pub fn yaml_dump(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Array(a) if !a.is_empty() => dump_seq(a, 0, &mut out),
        Value::Object(m) if !m.is_empty() => dump_map(m, 0, &mut out),
        other => {
            let (text, plain) = yaml_scalar(other);
            out.push_str(&text);
            out.push('\n');
            if plain && !matches!(other, Value::Array(_) | Value::Object(_)) {
                out.push_str("...\n");
            }
        }
    }
    out
}

fn dump_map(m: &Map<String, Value>, indent: usize, out: &mut String) {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    for (i, k) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push_str(&" ".repeat(indent));
        }
        let (key_text, _) = yaml_str(k);
        out.push_str(&key_text);
        out.push(':');
        dump_value_after_key(&m[k], indent, out);
    }
}

fn dump_value_after_key(v: &Value, indent: usize, out: &mut String) {
    match v {
        Value::Object(sub) if !sub.is_empty() => {
            out.push('\n');
            out.push_str(&" ".repeat(indent + 2));
            dump_map(sub, indent + 2, out);
        }
        Value::Array(items) if !items.is_empty() => {
            // PyYAML writes block sequences inside mappings without extra indentation
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            dump_seq(items, indent, out);
        }
        other => {
            out.push(' ');
            out.push_str(&yaml_scalar(other).0);
            out.push('\n');
        }
    }
}

fn dump_seq(items: &[Value], indent: usize, out: &mut String) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str("- ");
        match item {
            Value::Object(sub) if !sub.is_empty() => dump_map(sub, indent + 2, out),
            Value::Array(sub) if !sub.is_empty() => dump_seq(sub, indent + 2, out),
            other => {
                out.push_str(&yaml_scalar(other).0);
                out.push('\n');
            }
        }
    }
}

/// A scalar's YAML text and whether it is a plain (unquoted) scalar.
fn yaml_scalar(v: &Value) -> (String, bool) {
    match v {
        Value::Null => ("null".into(), true),
        Value::Bool(b) => ((if *b { "true" } else { "false" }).into(), true),
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            let text = if f.is_nan() {
                ".nan".to_string()
            } else if f.is_infinite() {
                if f > 0.0 {
                    ".inf".into()
                } else {
                    "-.inf".into()
                }
            } else {
                let r = float_repr(f);
                if !r.contains('.') && r.contains('e') {
                    r.replacen('e', ".0e", 1)
                } else {
                    r
                }
            };
            (text, true)
        }
        Value::Number(n) => (n.to_string(), true),
        Value::String(s) => yaml_str(s),
        Value::Array(_) => ("[]".into(), false),
        Value::Object(_) => ("{}".into(), false),
    }
}

fn yaml_str(s: &str) -> (String, bool) {
    let needs_double = s.chars().any(|c| {
        let n = c as u32;
        !(n == 0x0a || (0x20..=0x7e).contains(&n))
    }) || s.contains('\n');
    if needs_double {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                '\0' => out.push_str("\\0"),
                c if (c as u32) < 0x20 || (0x7f..=0x9f).contains(&(c as u32)) => {
                    out.push_str(&format!("\\x{:02X}", c as u32))
                }
                c if (c as u32) > 0x7e && (c as u32) <= 0xff => {
                    out.push_str(&format!("\\x{:02X}", c as u32))
                }
                c if (c as u32) > 0xff && (c as u32) <= 0xffff => {
                    out.push_str(&format!("\\u{:04X}", c as u32))
                }
                c if (c as u32) > 0xffff => out.push_str(&format!("\\U{:08X}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        return (out, false);
    }
    if plain_allowed(s) {
        (s.to_string(), true)
    } else {
        (format!("'{}'", s.replace('\'', "''")), false)
    }
}

fn plain_allowed(s: &str) -> bool {
    if s.is_empty() || s.starts_with(' ') || s.ends_with(' ') {
        return false;
    }
    if !matches!(resolve_plain(s), Value::String(_)) {
        return false;
    }
    let first = s.chars().next().unwrap_or(' ');
    if "#,[]{}&*!|>'\"%@`".contains(first) {
        return false;
    }
    if matches!(first, '-' | '?' | ':') {
        let second = s.chars().nth(1);
        if second.is_none() || second == Some(' ') {
            return false;
        }
    }
    if s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return false;
    }
    true
}

// ---------------------------------------------------------------------------------------------
// YAML load (YAML 1.1 implicit types as PyYAML's SafeLoader resolves them)

/// Resolves a plain scalar the way PyYAML's SafeLoader does (bool/null/int/float; timestamps
/// are kept as text since they have no JSON form).
pub fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Value::Bool(true)
        }
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Value::Bool(false)
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::String("__inf__".into()).pipe_float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => {
            return Value::String("__inf__".into()).pipe_float(f64::NEG_INFINITY)
        }
        ".nan" | ".NaN" | ".NAN" => return Value::String("__nan__".into()).pipe_float(f64::NAN),
        _ => {}
    }
    if let Some(v) = resolve_int(s) {
        return v;
    }
    if let Some(v) = resolve_float(s) {
        return v;
    }
    Value::String(s.to_string())
}

trait PipeFloat {
    fn pipe_float(self, f: f64) -> Value;
}

impl PipeFloat for Value {
    fn pipe_float(self, f: f64) -> Value {
        Number::from_f64(f).map(Value::Number).unwrap_or(self)
    }
}

fn resolve_int(s: &str) -> Option<Value> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() {
        return None;
    }
    let clean: String = body.chars().filter(|c| *c != '_').collect();
    let parsed: Option<i128> = if let Some(b) = clean.strip_prefix("0b") {
        if !b.chars().all(|c| c == '0' || c == '1') || b.is_empty() {
            return None;
        }
        i128::from_str_radix(b, 2).ok()
    } else if let Some(h) = clean.strip_prefix("0x") {
        if h.is_empty() || !h.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        i128::from_str_radix(h, 16).ok()
    } else if clean.len() > 1 && clean.starts_with('0') {
        if !clean.chars().all(|c| ('0'..='7').contains(&c)) {
            return None;
        }
        i128::from_str_radix(&clean, 8).ok()
    } else if body.contains(':') {
        // base 60
        let mut total: i128 = 0;
        for part in clean.split(':') {
            if part.is_empty() || !part.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            total = total * 60 + part.parse::<i128>().ok()?;
        }
        Some(total)
    } else {
        if !body.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        if !clean.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        clean.parse::<i128>().ok()
    };
    let n = parsed?;
    let n = if neg { -n } else { n };
    if let Ok(i) = i64::try_from(n) {
        Some(Value::Number(i.into()))
    } else if let Ok(u) = u64::try_from(n) {
        Some(Value::Number(u.into()))
    } else {
        Number::from_f64(n as f64).map(Value::Number)
    }
}

fn resolve_float(s: &str) -> Option<Value> {
    // [-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+][0-9]+)?  (YAML 1.1: a dot is required)
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int_part, frac) = mantissa.split_once('.')?;
    if !int_part.is_empty() && !int_part.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    if !int_part.chars().all(|c| c.is_ascii_digit() || c == '_')
        || !frac.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return None;
    }
    if int_part.is_empty() && frac.is_empty() {
        return None;
    }
    if let Some(e) = exp {
        let digits = e.strip_prefix(['-', '+'])?;
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
    }
    let text: String = s.chars().filter(|c| *c != '_').collect();
    let text = if text.ends_with('.') {
        format!("{text}0")
    } else {
        text
    };
    let f: f64 = text.parse().ok()?;
    Number::from_f64(f).map(Value::Number)
}

enum Frame {
    Seq(Vec<Value>),
    Map(Map<String, Value>, Option<String>),
}

struct Builder {
    stack: Vec<Frame>,
    anchors: std::collections::HashMap<usize, Value>,
    anchor_stack: Vec<usize>,
    docs: Vec<Value>,
    error: Option<String>,
}

impl Builder {
    fn push_value(&mut self, v: Value) {
        match self.stack.last_mut() {
            None => self.docs.push(v),
            Some(Frame::Seq(items)) => items.push(v),
            Some(Frame::Map(map, key)) => match key.take() {
                None => {
                    let k = match v {
                        Value::String(s) => s,
                        Value::Null => "None".to_string(),
                        Value::Bool(b) => if b { "True" } else { "False" }.to_string(),
                        Value::Number(n) => n.to_string(),
                        _ => {
                            self.error.get_or_insert_with(|| {
                                "found unhashable key while constructing a mapping".into()
                            });
                            String::new()
                        }
                    };
                    *key = Some(k);
                }
                Some(k) => {
                    map.insert(k, v);
                }
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, _mark: Marker) {
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let v = if let Some(tag) = tag {
                    match tag.suffix.as_str() {
                        "str" => Value::String(text),
                        "int" => resolve_int(&text).unwrap_or(Value::String(text)),
                        "float" => resolve_float(&text)
                            .or_else(|| resolve_int(&text))
                            .unwrap_or(Value::String(text)),
                        "bool" => resolve_plain(&text),
                        "null" => Value::Null,
                        _ => Value::String(text),
                    }
                } else if style == TScalarStyle::Plain {
                    resolve_plain(&text)
                } else {
                    Value::String(text)
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, v.clone());
                }
                self.push_value(v);
            }
            Event::Alias(id) => {
                let v = self.anchors.get(&id).cloned().unwrap_or(Value::Null);
                self.push_value(v);
            }
            Event::SequenceStart(anchor, _) => {
                self.anchor_stack.push(anchor);
                self.stack.push(Frame::Seq(Vec::new()));
            }
            Event::MappingStart(anchor, _) => {
                self.anchor_stack.push(anchor);
                self.stack.push(Frame::Map(Map::new(), None));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let v = match self.stack.pop() {
                    Some(Frame::Seq(items)) => Value::Array(items),
                    Some(Frame::Map(map, _)) => Value::Object(map),
                    None => Value::Null,
                };
                if let Some(anchor) = self.anchor_stack.pop() {
                    if anchor > 0 {
                        self.anchors.insert(anchor, v.clone());
                    }
                }
                self.push_value(v);
            }
            _ => {}
        }
    }
}

/// `yaml.safe_load(text)`: the first document, `None` for an empty stream.
pub fn yaml_load(text: &str) -> Result<Value, String> {
    let mut builder = Builder {
        stack: Vec::new(),
        anchors: Default::default(),
        anchor_stack: Vec::new(),
        docs: Vec::new(),
        error: None,
    };
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, true).map_err(|e| e.to_string())?;
    if let Some(e) = builder.error {
        return Err(e);
    }
    if builder.docs.len() > 1 {
        return Err("expected a single document in the stream\n  in \"<unicode string>\"".into());
    }
    Ok(builder.docs.pop().unwrap_or(Value::Null))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_dumps_indent_matches_python() {
        let v = json!({"b": [1, 2.5, {"x": null}], "a": "é", "e": {}, "l": []});
        assert_eq!(
            json_dumps(&v, Some(4), false),
            "{\n    \"b\": [\n        1,\n        2.5,\n        {\n            \"x\": null\n        }\n    ],\n    \"a\": \"\\u00e9\",\n    \"e\": {},\n    \"l\": []\n}"
        );
        assert_eq!(
            json_dumps(&json!([1, {"a": true}]), None, false),
            "[1, {\"a\": true}]"
        );
        assert_eq!(
            json_dumps(&json!({"b": 1, "a": 2}), None, true),
            "{\"a\": 2, \"b\": 1}"
        );
    }

    #[test]
    fn json_loads_reports_python_positions() {
        assert_eq!(
            json_loads("").unwrap_err(),
            "Expecting value: line 1 column 1 (char 0)"
        );
        assert_eq!(json_loads("[1, 2]").unwrap(), json!([1, 2]));
        assert_eq!(
            json_loads("{").unwrap_err(),
            "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"
        );
        assert_eq!(
            json_loads("[1,\n 2").unwrap_err(),
            "Expecting ',' delimiter: line 2 column 3 (char 6)"
        );
        assert_eq!(
            json_loads("1 2").unwrap_err(),
            "Extra data: line 1 column 3 (char 2)"
        );
        assert_eq!(
            json_loads("\"ab").unwrap_err(),
            "Unterminated string starting at: line 1 column 1 (char 0)"
        );
    }

    #[test]
    fn yaml_dump_matches_pyyaml_block_style() {
        let v =
            json!({"b": [1, "x y", {"k": "v", "a": true}], "a": {"n": null, "f": 1.5}, "s": "yes"});
        assert_eq!(
            yaml_dump(&v),
            "a:\n  f: 1.5\n  n: null\nb:\n- 1\n- x y\n- a: true\n  k: v\ns: 'yes'\n"
        );
        assert_eq!(yaml_dump(&json!(1)), "1\n...\n");
        assert_eq!(yaml_dump(&json!("a: b")), "'a: b'\n");
        assert_eq!(yaml_dump(&json!([[1, 2], []])), "- - 1\n  - 2\n- []\n");
        assert_eq!(yaml_dump(&json!("é")), "\"\\xE9\"\n");
    }

    #[test]
    fn yaml_load_resolves_yaml11_scalars() {
        let v =
            yaml_load("a: yes\nb: off\nc: 0x1f\nd: 1_000\ne: 1.5\nf: '1'\ng: ~\nh: 010\ni: 1:30\n")
                .unwrap();
        assert_eq!(
            v,
            json!({"a": true, "b": false, "c": 31, "d": 1000, "e": 1.5, "f": "1", "g": null, "h": 8, "i": 90})
        );
        assert_eq!(yaml_load("").unwrap(), Value::Null);
        assert_eq!(
            yaml_load("- 1e3\n- 1.0e+3\n").unwrap(),
            json!(["1e3", 1000.0])
        );
        assert!(yaml_load("a: [1").is_err());
    }
}
