//! YAML text -> `serde_json::Value`, read the way upstream Mistral reads it: PyYAML's
//! `SafeLoader` (YAML 1.1 implicit typing) with Mistral's tweak that `&`, `*` and `@` start
//! plain scalars (anchors/aliases are not references).
//!
//! The event layer is `yaml-rust2`; scalar resolution and construction follow PyYAML's
//! resolver table. Error texts follow PyYAML's `MarkedYAMLError` layout
//! (`<context>\n  in "<unicode string>", line L, column C:\n    <snippet>\n    ^\n<problem>...`).

use regex::Regex;
use serde_json::{Map, Number, Value};
use std::sync::LazyLock;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A YAML read failure with PyYAML-like wording (without the `Definition could not be parsed`
/// prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError(pub String);

impl std::fmt::Display for YamlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy)]
struct Pos {
    /// 0-based line.
    line: usize,
    /// 0-based column (in characters).
    col: usize,
}

impl Pos {
    fn from_marker(m: &Marker) -> Pos {
        Pos {
            line: m.line().saturating_sub(1),
            col: m.col(),
        }
    }
}

#[derive(Debug)]
enum Node {
    Scalar {
        value: String,
        style: TScalarStyle,
        tag: Option<Tag>,
        pos: Pos,
    },
    Seq(Vec<Node>, Pos),
    Map(Vec<(Node, Node)>, Pos),
}

impl Node {
    fn pos(&self) -> Pos {
        match self {
            Node::Scalar { pos, .. } | Node::Seq(_, pos) | Node::Map(_, pos) => *pos,
        }
    }
}

enum Frame {
    Seq(Vec<Node>, Pos),
    Map(Vec<(Node, Node)>, Option<Node>, Pos),
}

struct Builder<'a> {
    src: &'a str,
    stack: Vec<Frame>,
    docs: Vec<(Option<Node>, Pos)>,
    doc_pos: Pos,
}

impl Builder<'_> {
    fn push_node(&mut self, node: Node) {
        match self.stack.last_mut() {
            Some(Frame::Seq(items, _)) => items.push(node),
            Some(Frame::Map(pairs, key, _)) => match key.take() {
                None => *key = Some(node),
                Some(k) => pairs.push((k, node)),
            },
            None => {
                let pos = self.doc_pos;
                self.docs.push((Some(node), pos));
            }
        }
    }

    /// Mistral's loader reads `*name` as plain text: rebuild it from the source.
    fn alias_text(&self, mark: &Marker) -> String {
        let line = self
            .src
            .lines()
            .nth(mark.line().saturating_sub(1))
            .unwrap_or("");
        let rest: String = line.chars().skip(mark.col()).collect();
        let mut out = String::new();
        for c in rest.chars() {
            if c.is_whitespace() || ",[]{}".contains(c) {
                break;
            }
            out.push(c);
        }
        out
    }
}

impl MarkedEventReceiver for Builder<'_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let pos = Pos::from_marker(&mark);
        match ev {
            Event::DocumentStart => {
                self.doc_pos = pos;
            }
            Event::DocumentEnd => {
                // A document with no content node still counts as a document.
                if self.docs.last().map(|d| d.1.line) != Some(self.doc_pos.line)
                    || self.docs.is_empty()
                {
                    let has_current = self
                        .docs
                        .last()
                        .map(|d| d.1.line == self.doc_pos.line && d.1.col == self.doc_pos.col)
                        .unwrap_or(false);
                    if !has_current {
                        self.docs.push((None, self.doc_pos));
                    }
                }
            }
            Event::Scalar(value, style, _anchor, tag) => self.push_node(Node::Scalar {
                value,
                style,
                tag,
                pos,
            }),
            Event::Alias(_) => {
                let text = self.alias_text(&mark);
                self.push_node(Node::Scalar {
                    value: text,
                    style: TScalarStyle::Plain,
                    tag: None,
                    pos,
                })
            }
            Event::SequenceStart(_, _) => self.stack.push(Frame::Seq(Vec::new(), pos)),
            Event::MappingStart(_, _) => self.stack.push(Frame::Map(Vec::new(), None, pos)),
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(frame) = self.stack.pop() {
                    let node = match frame {
                        Frame::Seq(items, p) => Node::Seq(items, p),
                        Frame::Map(pairs, _, p) => Node::Map(pairs, p),
                    };
                    self.push_node(node);
                }
            }
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
        }
    }
}

/// The PyYAML mark text: `  in "<unicode string>", line L, column C:\n    <line>\n    ^`.
fn mark_text(src: &str, pos: Pos) -> String {
    let mut out = format!(
        "  in \"<unicode string>\", line {}, column {}",
        pos.line + 1,
        pos.col + 1
    );
    let line: Vec<char> = src
        .split(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'])
        .nth(pos.line)
        .unwrap_or("")
        .chars()
        .collect();
    // PyYAML's get_snippet(indent=4, max_length=75).
    let max_half = 75 / 2 - 1;
    let col = pos.col.min(line.len());
    let mut head = "";
    let mut start = col;
    while start > 0 && !"\0\r\n\u{85}\u{2028}\u{2029}".contains(line[start - 1]) {
        start -= 1;
        if col - start > max_half {
            head = " ... ";
            start += 5;
            break;
        }
    }
    let mut tail = "";
    let mut end = col;
    while end < line.len() && !"\0\r\n\u{85}\u{2028}\u{2029}".contains(line[end]) {
        end += 1;
        if end - col > max_half {
            tail = " ... ";
            end -= 5;
            break;
        }
    }
    let snippet: String = line[start..end].iter().collect();
    out.push_str(":\n    ");
    out.push_str(head);
    out.push_str(&snippet);
    out.push_str(tail);
    out.push_str("\n    ");
    out.push_str(&" ".repeat(col - start + head.chars().count()));
    out.push('^');
    out
}

fn marked(src: &str, context: Option<(&str, Pos)>, problem: &str, pos: Pos) -> YamlError {
    let mut parts = Vec::new();
    if let Some((ctx, cpos)) = context {
        parts.push(ctx.to_string());
        if cpos.line != pos.line || cpos.col != pos.col {
            parts.push(mark_text(src, cpos));
        }
    }
    parts.push(problem.to_string());
    parts.push(mark_text(src, pos));
    YamlError(parts.join("\n"))
}

/// Map yaml-rust2's scanner/parser wording to PyYAML's where they correspond.
fn scan_error(src: &str, info: &str, pos: Pos) -> YamlError {
    let (context, problem): (Option<&str>, String) = match info {
        "mapping values are not allowed in this context" => {
            (None, "mapping values are not allowed here".into())
        }
        i if i.starts_with("while parsing a flow sequence") => (
            Some("while parsing a flow sequence"),
            "expected ',' or ']', but got another token".into(),
        ),
        i if i.starts_with("while parsing a flow mapping") => (
            Some("while parsing a flow mapping"),
            "expected ',' or '}', but got another token".into(),
        ),
        "did not find expected key" => (
            Some("while parsing a block mapping"),
            "expected <block end>, but found another token".into(),
        ),
        "while parsing a block collection, did not find expected '-' indicator" => (
            Some("while parsing a block collection"),
            "expected <block end>, but found another token".into(),
        ),
        "while parsing a block mapping, did not find expected key" => (
            Some("while parsing a block mapping"),
            "expected <block end>, but found another token".into(),
        ),
        i if i.contains("found character that cannot start any token")
            || i.contains("cannot start any token") =>
        {
            (
                Some("while scanning for the next token"),
                "found character that cannot start any token".into(),
            )
        }
        i if i.contains("unexpected end of stream") || i.contains("unexpected EOF") => {
            (None, i.to_string())
        }
        other => (None, other.to_string()),
    };
    match context {
        Some(ctx) => {
            let mut s = String::from(ctx);
            s.push('\n');
            s.push_str(&problem);
            s.push('\n');
            s.push_str(&mark_text(src, pos));
            YamlError(s)
        }
        None => marked(src, None, &problem, pos),
    }
}

static FLOAT_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
    )
    .unwrap()
});
static INT_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$",
    )
    .unwrap()
});
static TIMESTAMP_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$",
    )
    .unwrap()
});

/// The implicit tag PyYAML's resolver gives a plain scalar.
fn resolve_plain(v: &str) -> &'static str {
    match v {
        "yes" | "Yes" | "YES" | "no" | "No" | "NO" | "true" | "True" | "TRUE" | "false"
        | "False" | "FALSE" | "on" | "On" | "ON" | "off" | "Off" | "OFF" => return "bool",
        "~" | "null" | "Null" | "NULL" | "" => return "null",
        "<<" => return "merge",
        "=" => return "value",
        _ => {}
    }
    let first = v.chars().next().unwrap_or(' ');
    if "-+0123456789.".contains(first) && FLOAT_RE.is_match(v) {
        return "float";
    }
    if "-+0123456789".contains(first) && INT_RE.is_match(v) {
        return "int";
    }
    if first.is_ascii_digit() && TIMESTAMP_RE.is_match(v) {
        return "timestamp";
    }
    "str"
}

fn construct_int(v: &str) -> Value {
    let mut s: String = v.chars().filter(|c| *c != '_').collect();
    let mut sign: i128 = 1;
    if s.starts_with('-') {
        sign = -1;
        s.remove(0);
    } else if s.starts_with('+') {
        s.remove(0);
    }
    let parsed: Option<i128> = if s == "0" {
        Some(0)
    } else if let Some(b) = s.strip_prefix("0b") {
        i128::from_str_radix(b, 2).ok()
    } else if let Some(h) = s.strip_prefix("0x") {
        i128::from_str_radix(h, 16).ok()
    } else if s.starts_with('0') {
        i128::from_str_radix(&s, 8).ok()
    } else if s.contains(':') {
        let mut total: i128 = 0;
        for part in s.split(':') {
            total = total * 60 + part.parse::<i128>().unwrap_or(0);
        }
        Some(total)
    } else {
        s.parse::<i128>().ok()
    };
    match parsed.map(|n| n * sign) {
        Some(n) => {
            if let Ok(i) = i64::try_from(n) {
                Value::Number(i.into())
            } else if let Ok(u) = u64::try_from(n) {
                Value::Number(u.into())
            } else {
                Number::from_f64(n as f64)
                    .map(Value::Number)
                    .unwrap_or(Value::Null)
            }
        }
        // Beyond i128: keep the digits as a float like a JSON round trip would.
        None => s
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(|n| {
                if sign < 0 {
                    Value::Number(Number::from_f64(-n.as_f64().unwrap_or(0.0)).unwrap_or(n))
                } else {
                    Value::Number(n)
                }
            })
            .unwrap_or(Value::String(v.to_string())),
    }
}

fn construct_float(v: &str) -> Value {
    let mut s: String = v
        .chars()
        .filter(|c| *c != '_')
        .collect::<String>()
        .to_lowercase();
    let mut sign = 1.0;
    if s.starts_with('-') {
        sign = -1.0;
        s.remove(0);
    } else if s.starts_with('+') {
        s.remove(0);
    }
    let f = if s == ".inf" || s == ".nan" {
        // JSON has no infinities/NaN: keep PyYAML's spelling as text.
        return Value::String(v.to_string());
    } else if s.contains(':') {
        let mut total = 0.0;
        for part in s.split(':') {
            total = total * 60.0 + part.parse::<f64>().unwrap_or(0.0);
        }
        total
    } else {
        s.parse::<f64>().unwrap_or(0.0)
    };
    Number::from_f64(sign * f)
        .map(Value::Number)
        .unwrap_or_else(|| Value::String(v.to_string()))
}

/// Timestamps (Python `date`/`datetime` in PyYAML) are kept as text: a JSON document cannot
/// carry them and upstream cannot serialise them either.
fn construct_timestamp(v: &str) -> Value {
    Value::String(v.to_string())
}

/// Python `str()` of a mapping key, used because JSON object keys must be strings.
fn key_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => super::pyrepr::py_number(n),
        other => super::pyrepr::py_str(other),
    }
}

struct Constructor<'a> {
    src: &'a str,
}

impl Constructor<'_> {
    fn scalar(
        &self,
        value: &str,
        style: TScalarStyle,
        tag: &Option<Tag>,
        pos: Pos,
    ) -> Result<Value, YamlError> {
        let tag_name: String = match tag {
            Some(t) => {
                if t.handle == "!!" || t.handle == "tag:yaml.org,2002:" {
                    format!("tag:yaml.org,2002:{}", t.suffix)
                } else {
                    format!("{}{}", t.handle, t.suffix)
                }
            }
            None => {
                if style == TScalarStyle::Plain {
                    format!("tag:yaml.org,2002:{}", resolve_plain(value))
                } else {
                    "tag:yaml.org,2002:str".into()
                }
            }
        };
        let short = tag_name.strip_prefix("tag:yaml.org,2002:").unwrap_or("");
        let bad = |what: &str| -> YamlError {
            // The mark is the node start, i.e. the tag itself.
            let line: Vec<char> = self
                .src
                .split('\n')
                .nth(pos.line)
                .unwrap_or("")
                .chars()
                .collect();
            let upto = pos.col.min(line.len());
            let col = line[..upto]
                .iter()
                .rposition(|c| *c == '!')
                .unwrap_or(pos.col);
            let tag_pos = if tag.is_some() {
                Pos {
                    line: pos.line,
                    col,
                }
            } else {
                pos
            };
            marked(
                self.src,
                None,
                &format!("could not determine a constructor for the tag '{what}'"),
                tag_pos,
            )
        };
        match short {
            "str" => Ok(Value::String(value.to_string())),
            "null" => Ok(Value::Null),
            "bool" => Ok(Value::Bool(matches!(
                value.to_lowercase().as_str(),
                "yes" | "true" | "on"
            ))),
            "int" => Ok(construct_int(value)),
            "float" => Ok(construct_float(value)),
            "timestamp" => Ok(construct_timestamp(value)),
            "binary" => Ok(Value::String(value.to_string())),
            _ => Err(bad(&tag_name)),
        }
    }

    fn node(&self, node: &Node) -> Result<Value, YamlError> {
        match node {
            Node::Scalar {
                value,
                style,
                tag,
                pos,
            } => self.scalar(value, *style, tag, *pos),
            Node::Seq(items, _) => Ok(Value::Array(
                items
                    .iter()
                    .map(|n| self.node(n))
                    .collect::<Result<_, _>>()?,
            )),
            Node::Map(pairs, pos) => {
                let mut out = Map::new();
                self.mapping_into(pairs, *pos, &mut out)?;
                Ok(Value::Object(out))
            }
        }
    }

    fn is_merge_key(k: &Node) -> bool {
        matches!(k, Node::Scalar { value, style: TScalarStyle::Plain, tag: None, .. } if value == "<<")
    }

    /// PyYAML `flatten_mapping` + `construct_mapping`: merged entries come first, explicit
    /// ones override them; a repeated key keeps its first position and takes the last value.
    fn mapping_into(
        &self,
        pairs: &[(Node, Node)],
        pos: Pos,
        out: &mut Map<String, Value>,
    ) -> Result<(), YamlError> {
        let merge_err = |sub: &Node| -> YamlError {
            marked(
                self.src,
                Some(("while constructing a mapping", pos)),
                &format!(
                    "expected a mapping or list of mappings for merging, but found {}",
                    match sub {
                        Node::Scalar { .. } => "scalar",
                        Node::Seq(..) => "sequence",
                        Node::Map(..) => "mapping",
                    }
                ),
                sub.pos(),
            )
        };
        let mut merged: Vec<&(Node, Node)> = Vec::new();
        let mut merge_sources: Vec<&Vec<(Node, Node)>> = Vec::new();
        for pair in pairs {
            if Self::is_merge_key(&pair.0) {
                match &pair.1 {
                    Node::Map(sub, _) => merge_sources.push(sub),
                    Node::Seq(items, _) => {
                        let mut subs = Vec::new();
                        for item in items {
                            match item {
                                Node::Map(sub, _) => subs.push(sub),
                                other => {
                                    return Err(marked(
                                        self.src,
                                        Some(("while constructing a mapping", pos)),
                                        &format!(
                                            "expected a mapping for merging, but found {}",
                                            match other {
                                                Node::Scalar { .. } => "scalar",
                                                _ => "sequence",
                                            }
                                        ),
                                        other.pos(),
                                    ))
                                }
                            }
                        }
                        // Later mappings in the list have lower priority.
                        for sub in subs.into_iter().rev() {
                            merge_sources.push(sub);
                        }
                    }
                    other => return Err(merge_err(other)),
                }
            } else {
                merged.push(pair);
            }
        }
        for sub in merge_sources {
            let mut tmp = Map::new();
            self.mapping_into(sub, pos, &mut tmp)?;
            for (k, v) in tmp {
                out.insert(k, v);
            }
        }
        for (k, v) in merged {
            if !matches!(k, Node::Scalar { .. }) {
                return Err(marked(
                    self.src,
                    Some(("while constructing a mapping", pos)),
                    "found unhashable key",
                    k.pos(),
                ));
            }
            let key = key_string(&self.node(k)?);
            let value = self.node(v)?;
            out.insert(key, value);
        }
        Ok(())
    }
}

/// `yaml.load(text, SafeLoader)` of Mistral's `safe_yaml`: `None` for an empty stream.
pub fn load(text: &str) -> Result<Option<Value>, YamlError> {
    let mut builder = Builder {
        src: text,
        stack: Vec::new(),
        docs: Vec::new(),
        doc_pos: Pos { line: 0, col: 0 },
    };
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut builder, true) {
        return Err(scan_error(text, e.info(), Pos::from_marker(e.marker())));
    }
    let docs: Vec<(Option<Node>, Pos)> = builder.docs;
    if docs.len() > 1 {
        let first = match &docs[0].0 {
            Some(n) => Pos {
                line: n.pos().line,
                col: 0,
            },
            None => docs[0].1,
        };
        let second = docs[1].1;
        return Err(marked(
            text,
            Some(("expected a single document in the stream", first)),
            "but found another document",
            second,
        ));
    }
    match docs.into_iter().next() {
        Some((Some(node), _)) => Ok(Some(Constructor { src: text }.node(&node)?)),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn v(text: &str) -> Value {
        load(text).unwrap().unwrap()
    }

    #[test]
    fn yaml11_booleans_follow_pyyaml_resolver() {
        assert_eq!(
            v("a: yes\nb: No\nc: on\nd: OFF\ne: y\nf: n\ng: True\nh: 'yes'"),
            json!({"a": true, "b": false, "c": true, "d": false, "e": "y", "f": "n", "g": true, "h": "yes"})
        );
    }

    #[test]
    fn boolean_keys_become_python_str() {
        assert_eq!(
            v("on: x\n1: y\n~: z"),
            json!({"True": "x", "1": "y", "None": "z"})
        );
    }

    #[test]
    fn ints_follow_pyyaml_including_octal_hex_binary_sexagesimal() {
        assert_eq!(
            v("a: 017\nb: 0x1F\nc: 1:30\nd: 1_000\ne: 0b101\nf: +12\ng: 0o17\nh: -0"),
            json!({"a": 15, "b": 31, "c": 90, "d": 1000, "e": 5, "f": 12, "g": "0o17", "h": 0})
        );
    }

    #[test]
    fn floats_follow_pyyaml_regex() {
        let d = v("a: 1e5\nb: -.5\nc: 1.0e+5\nd: 1.\ne: 1_0.5\nf: 0.1:2\ng: 2.0\nh: .5");
        assert_eq!(d["a"], json!("1e5"));
        assert_eq!(d["b"], json!("-.5"));
        assert_eq!(d["c"], json!(100000.0));
        assert_eq!(d["d"], json!(1.0));
        assert_eq!(d["e"], json!(10.5));
        assert_eq!(d["f"], json!("0.1:2"));
        assert_eq!(d["g"], json!(2.0));
        assert_eq!(d["h"], json!(0.5));
    }

    #[test]
    fn nulls_and_empty_values() {
        assert_eq!(
            v("a: ~\nb: null\nc:\nd: 'null'"),
            json!({"a": null, "b": null, "c": null, "d": "null"})
        );
        assert_eq!(load("").unwrap(), None);
        assert_eq!(load("# only a comment\n").unwrap(), None);
    }

    #[test]
    fn merge_keys_with_inline_mappings() {
        assert_eq!(
            v("a:\n  <<: {x: 1, y: 2}\n  y: 3"),
            json!({"a": {"x": 1, "y": 3}})
        );
    }

    #[test]
    fn duplicate_keys_last_wins_first_position() {
        let d = v("a: 1\nb: 2\na: 3");
        assert_eq!(d, json!({"a": 3, "b": 2}));
        assert_eq!(
            d.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["a", "b"]
        );
    }

    #[test]
    fn timestamps_kept_as_text() {
        assert_eq!(v("a: 2001-12-14"), json!({"a": "2001-12-14"}));
    }

    #[test]
    fn mapping_values_error_matches_pyyaml() {
        assert_eq!(
            load("a: b: c").unwrap_err().0,
            "mapping values are not allowed here\n  in \"<unicode string>\", line 1, column 5:\n    a: b: c\n        ^"
        );
    }

    #[test]
    fn second_document_error_matches_pyyaml() {
        assert_eq!(
            load("a: 1\n---\nb: 2").unwrap_err().0,
            "expected a single document in the stream\n  in \"<unicode string>\", line 1, column 1:\n    a: 1\n    ^\nbut found another document\n  in \"<unicode string>\", line 2, column 1:\n    ---\n    ^"
        );
    }

    #[test]
    fn unknown_tag_error_matches_pyyaml() {
        assert_eq!(
            load("a: !foo x").unwrap_err().0,
            "could not determine a constructor for the tag '!foo'\n  in \"<unicode string>\", line 1, column 4:\n    a: !foo x\n       ^"
        );
        assert_eq!(
            load("a: =").unwrap_err().0,
            "could not determine a constructor for the tag 'tag:yaml.org,2002:value'\n  in \"<unicode string>\", line 1, column 4:\n    a: =\n       ^"
        );
    }
}
