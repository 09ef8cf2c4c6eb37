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
    too_deep: bool,
    stack: Vec<Frame>,
    docs: Vec<(Option<Node>, Pos)>,
    doc_pos: Pos,
}

/// Nesting deeper than this fails (PyYAML's recursive composer hits Python's recursion
/// limit a little above 400 levels); it also keeps our recursive passes off the stack limit.
pub const MAX_DEPTH: usize = 400;

/// Python's text for that failure.
pub const DEPTH_ERROR: &str = "maximum recursion depth exceeded";

impl Builder<'_> {
    fn note_depth(&mut self) {
        if self.stack.len() >= MAX_DEPTH {
            self.too_deep = true;
        }
    }

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
        if self.too_deep {
            // Build nothing more: the document is rejected anyway.
            return;
        }
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
            Event::SequenceStart(_, _) => {
                self.note_depth();
                self.stack.push(Frame::Seq(Vec::new(), pos))
            }
            Event::MappingStart(_, _) => {
                self.note_depth();
                self.stack.push(Frame::Map(Vec::new(), None, pos))
            }
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

/// PyYAML's name for the token starting at `pos` (for "but found ..." texts).
fn token_name(src: &str, pos: Pos) -> String {
    let line: Vec<char> = src
        .split('\n')
        .nth(pos.line)
        .unwrap_or("")
        .chars()
        .collect();
    let rest: String = line.iter().skip(pos.col).collect();
    let at_end = src.split('\n').count() <= pos.line + 1 && rest.trim().is_empty();
    if at_end {
        return "'<stream end>'".into();
    }
    let c = rest.chars().next().unwrap_or(' ');
    let next = rest.chars().nth(1);
    match c {
        '[' | ']' | '{' | '}' | ',' => format!("'{c}'"),
        '-' | '?' | ':' if next.map(|n| n == ' ' || n == '\t').unwrap_or(true) => format!("'{c}'"),
        '&' => "'<anchor>'".into(),
        '!' => "'<tag>'".into(),
        _ => {
            // A scalar that is followed by `: ` on its line starts a block mapping.
            if rest.contains(": ") || rest.trim_end().ends_with(':') {
                "'<block mapping start>'".into()
            } else {
                "'<scalar>'".into()
            }
        }
    }
}

/// If `pos` is at a `:` value indicator, the start of the key before it.
fn key_start(src: &str, pos: Pos) -> Pos {
    let line: Vec<char> = src
        .split('\n')
        .nth(pos.line)
        .unwrap_or("")
        .chars()
        .collect();
    if line.get(pos.col) != Some(&':') {
        return pos;
    }
    let mut c = pos.col;
    while c > 0 {
        let ch = line[c - 1];
        if ch == ' ' || ch == '\t' {
            break;
        }
        c -= 1;
    }
    Pos {
        line: pos.line,
        col: c,
    }
}

fn end_pos(src: &str) -> Pos {
    let lines: Vec<&str> = src.split('\n').collect();
    Pos {
        line: lines.len() - 1,
        col: lines.last().map(|l| l.chars().count()).unwrap_or(0),
    }
}

/// Map yaml-rust2's scanner/parser errors to PyYAML's wording: `context` is the innermost
/// open collection (kind, start) when the error happened.
fn scan_error(src: &str, info: &str, pos: Pos, context: Option<(bool, Pos)>) -> YamlError {
    // Marks past the end of the text are PyYAML's end-of-stream mark.
    let end = end_pos(src);
    let pos = if (pos.line, pos.col) > (end.line, end.col) {
        end
    } else {
        pos
    };
    // yaml-rust2 points after a block entry's `- `; PyYAML at the `-`.
    let pos = {
        let line: Vec<char> = src
            .split('\n')
            .nth(pos.line)
            .unwrap_or("")
            .chars()
            .collect();
        let before: String = line.iter().take(pos.col).collect();
        if !before.trim().is_empty() && before.trim().chars().all(|c| c == '-' || c == ' ') {
            Pos {
                line: pos.line,
                col: before.chars().take_while(|c| *c == ' ').count(),
            }
        } else {
            pos
        }
    };
    let ctx_name = |is_map: bool, flow: bool| -> &'static str {
        match (is_map, flow) {
            (true, false) => "while parsing a block mapping",
            (false, false) => "while parsing a block collection",
            (true, true) => "while parsing a flow mapping",
            (false, true) => "while parsing a flow sequence",
        }
    };
    let is_flow = |p: Pos| -> bool {
        let line: Vec<char> = src.split('\n').nth(p.line).unwrap_or("").chars().collect();
        matches!(line.get(p.col), Some('[') | Some('{'))
    };
    match info {
        "mapping values are not allowed in this context" => {
            marked(src, None, "mapping values are not allowed here", pos)
        }
        i if i.starts_with("while parsing a flow sequence") => {
            let cpos = context.map(|c| c.1).unwrap_or(pos);
            marked(
                src,
                Some(("while parsing a flow sequence", cpos)),
                &format!("expected ',' or ']', but got {}", token_name(src, pos)),
                pos,
            )
        }
        i if i.starts_with("while parsing a flow mapping") => {
            let cpos = context.map(|c| c.1).unwrap_or(pos);
            marked(
                src,
                Some(("while parsing a flow mapping", cpos)),
                &format!("expected ',' or '}}', but got {}", token_name(src, pos)),
                pos,
            )
        }
        "did not find expected <document start>" | "did not find expected <document-start>" => {
            marked(
                src,
                None,
                &format!(
                    "expected '<document start>', but found {}",
                    token_name(src, pos)
                ),
                pos,
            )
        }
        i if i.starts_with("while parsing a quoted scalar, did not find expected hexadecimal") => {
            // PyYAML: the scalar's start as context, the first non-hex character as problem.
            let line: Vec<char> = src
                .split('\n')
                .nth(pos.line)
                .unwrap_or("")
                .chars()
                .collect();
            let mut k = pos.col + 1;
            let mut found = None;
            while k + 1 < line.len() {
                if line[k] == '\\' {
                    let want = match line[k + 1] {
                        'x' => 2,
                        'u' => 4,
                        'U' => 8,
                        _ => {
                            k += 2;
                            continue;
                        }
                    };
                    for d in 0..want {
                        let c = line.get(k + 2 + d).copied().unwrap_or('\0');
                        if !c.is_ascii_hexdigit() {
                            // PyYAML marks the start of the digits.
                            found = Some((want, c, k + 2));
                            break;
                        }
                    }
                    if found.is_some() {
                        break;
                    }
                    k += 2 + want;
                    continue;
                }
                k += 1;
            }
            match found {
                Some((want, c, col)) => marked(
                    src,
                    Some(("while scanning a double-quoted scalar", pos)),
                    &format!(
                        "expected escape sequence of {want} hexadecimal numbers, but found {}",
                        super::pyrepr::py_repr_str(&c.to_string())
                    ),
                    Pos {
                        line: pos.line,
                        col,
                    },
                ),
                None => marked(src, None, info, pos),
            }
        }
        "did not find expected key"
        | "invalid trailing content after double-quoted scalar"
        | "while parsing a block mapping, did not find expected key"
        | "while parsing a block collection, did not find expected '-' indicator"
        | "invalid indentation" => {
            let (is_map, mut cpos) = context.unwrap_or((!info.contains("collection"), pos));
            // yaml-rust2 marks a block mapping and a failing key at their ':'; PyYAML marks
            // the start of the key.
            if is_map && !is_flow(cpos) {
                cpos = key_start(src, cpos);
            }
            let pos = key_start(src, pos);
            let mut found = token_name(src, pos);
            // A key at the same indentation as the open collection is a KEY token.
            if found == "'<block mapping start>'" && pos.col <= cpos.col {
                found = "'?'".into();
            }
            marked(
                src,
                Some((ctx_name(is_map, is_flow(cpos)), cpos)),
                &format!("expected <block end>, but found {found}"),
                pos,
            )
        }
        i if i.starts_with("tabs disallowed") || i.starts_with("tab cannot be used") => {
            // PyYAML points at the tab itself.
            let line: Vec<char> = src
                .split('\n')
                .nth(pos.line)
                .unwrap_or("")
                .chars()
                .collect();
            let tab_col = line.iter().position(|c| *c == '\t').unwrap_or(pos.col);
            let tpos = Pos {
                line: pos.line,
                col: tab_col,
            };
            YamlError(format!(
                "while scanning for the next token\nfound character '\\t' that cannot start any token\n{}",
                mark_text(src, tpos)
            ))
        }
        i if i.starts_with("while scanning a quoted scalar, found unexpected end of stream") => {
            marked(
                src,
                Some(("while scanning a quoted scalar", pos)),
                "found unexpected end of stream",
                end_pos(src),
            )
        }
        "while parsing a quoted scalar, found unknown escape character" => {
            let line: Vec<char> = src
                .split('\n')
                .nth(pos.line)
                .unwrap_or("")
                .chars()
                .collect();
            let mut esc = pos.col;
            let mut i = pos.col + 1;
            while i + 1 < line.len() {
                if line[i] == '\\' {
                    if "0abt\tnvfre \"/\\N_LPxuU\n".contains(line[i + 1]) {
                        i += 2;
                        continue;
                    }
                    esc = i + 1;
                    break;
                }
                i += 1;
            }
            let bad = line.get(esc).copied().unwrap_or(' ');
            marked(
                src,
                Some(("while scanning a double-quoted scalar", pos)),
                &format!(
                    "found unknown escape character {}",
                    super::pyrepr::py_repr_str(&bad.to_string())
                ),
                Pos {
                    line: pos.line,
                    col: esc,
                },
            )
        }
        "simple key expect ':'" | "simple key expected" => {
            // The key starts at the first non-blank character of the last non-empty line
            // before the error.
            let lines: Vec<&str> = src.split('\n').collect();
            let mut kline = pos.line.min(lines.len().saturating_sub(1));
            while kline > 0 && lines[kline].trim().is_empty() {
                kline -= 1;
            }
            let kcol = lines
                .get(kline)
                .map(|l| l.chars().take_while(|c| *c == ' ').count())
                .unwrap_or(0);
            marked(
                src,
                Some((
                    "while scanning a simple key",
                    Pos {
                        line: kline,
                        col: kcol,
                    },
                )),
                "could not find expected ':'",
                pos,
            )
        }
        "while parsing a node, did not find expected node content" => {
            // PyYAML names the node by its context and the token it found instead.
            let kind = match context {
                Some((_, cpos)) if is_flow(cpos) => "flow",
                _ => "block",
            };
            // The end of a text without a final newline is on its last line.
            let pos = if pos.line >= src.split('\n').count() {
                end_pos(src)
            } else {
                pos
            };
            marked(
                src,
                Some((&format!("while parsing a {kind} node"), pos)),
                &format!(
                    "expected the node content, but found {}",
                    token_name(src, pos)
                ),
                pos,
            )
        }
        i if i.starts_with("while ") && i.contains(", ") => {
            let (ctx, problem) = i.split_once(", ").unwrap_or((i, ""));
            marked(src, Some((ctx, pos)), problem, pos)
        }
        other => marked(src, None, other, pos),
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
pub(crate) fn resolve_plain(v: &str) -> &'static str {
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

/// Prefix marking a string that PyYAML would have made a `date`/`datetime`. Such values
/// are not JSON types: schema checks reject them as upstream does (see [`load_marked`]).
pub const TIMESTAMP_MARK: char = '\u{F8F0}';

thread_local! {
    static MARK_TIMESTAMPS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static SAW_TIMESTAMP: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn construct_timestamp(v: &str) -> Value {
    SAW_TIMESTAMP.with(|s| s.set(true));
    if MARK_TIMESTAMPS.with(|m| m.get()) {
        Value::String(format!("{TIMESTAMP_MARK}{v}"))
    } else {
        Value::String(v.to_string())
    }
}

/// Python `repr()` of a timestamp scalar (`datetime.date(2001, 12, 14)`, ...).
pub fn timestamp_repr(text: &str) -> String {
    let nums: Vec<u64> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().unwrap_or(0))
        .collect();
    if nums.len() == 3 {
        return format!("datetime.date({}, {}, {})", nums[0], nums[1], nums[2]);
    }
    let mut parts: Vec<String> = nums.iter().take(6).map(|n| n.to_string()).collect();
    if let Some(frac) = text
        .split_once(':')
        .and_then(|(_, rest)| rest.split_once('.'))
        .map(|(_, f)| {
            f.chars()
                .take_while(|c| c.is_ascii_digit())
                .collect::<String>()
        })
    {
        let mut micro = frac.clone();
        micro.truncate(6);
        while micro.len() < 6 {
            micro.push('0');
        }
        let m: u64 = micro.parse().unwrap_or(0);
        if m != 0 {
            parts.push(m.to_string());
        }
    }
    format!("datetime.datetime({})", parts.join(", "))
}

/// Python `str()` of a mapping key, used because JSON object keys must be strings.
/// Prefix of a mapping key that was not a string in YAML (marked mode only):
/// `NONSTR_MARK + <python type name> + NONSTR_SEP + str(key)`.
pub const NONSTR_MARK: char = '\u{F8F4}';
pub const NONSTR_SEP: char = '\u{F8F5}';

/// For a marked non-string key: (python type name, `repr()` of the key).
pub fn nonstr_key(k: &str) -> Option<(&str, &str)> {
    k.strip_prefix(NONSTR_MARK)?.split_once(NONSTR_SEP)
}

fn key_string(v: &Value) -> String {
    if MARK_TIMESTAMPS.with(|m| m.get()) {
        let ty = match v {
            Value::Null => Some("NoneType"),
            Value::Bool(_) => Some("bool"),
            Value::Number(n) if n.is_f64() => Some("float"),
            Value::Number(_) => Some("int"),
            Value::String(s) if s.starts_with(TIMESTAMP_MARK) => Some("datetime.date"),
            _ => None,
        };
        if let Some(ty) = ty {
            SAW_TIMESTAMP.with(|s| s.set(true));
            let text = match v {
                Value::String(s) => super::pyrepr::py_repr(&Value::String(s.clone())),
                other => plain_key_string(other),
            };
            return format!("{NONSTR_MARK}{ty}{NONSTR_SEP}{text}");
        }
    }
    plain_key_string(v)
}

fn plain_key_string(v: &Value) -> String {
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

/// Placeholders for the characters Mistral's loader lets start plain scalars (`&`, `*`,
/// `@`): swapped in before scanning and back out of every string afterwards.
const PLAIN_SUBST: [(char, char); 3] = [('&', '\u{F8F1}'), ('*', '\u{F8F2}'), ('@', '\u{F8F3}')];

/// Replace `&`, `*`, `@` where they would start a token with placeholders.
fn protect_plain_starts(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let chars: Vec<char> = line.chars().collect();
        let mut prev_sig: Option<char> = None;
        let mut spaces_since = true;
        let mut quote: Option<char> = None;
        for (i, &c) in chars.iter().enumerate() {
            if let Some(q) = quote {
                if c == q {
                    quote = None;
                }
                out.push(c);
                prev_sig = Some(c);
                spaces_since = false;
                continue;
            }
            if c == '#' && (i == 0 || chars[i - 1] == ' ' || chars[i - 1] == '\t') {
                out.extend(&chars[i..]);
                break;
            }
            let at_token_start = match prev_sig {
                None => true,
                Some('-') | Some(':') | Some('?') => spaces_since,
                Some('[') | Some('{') | Some(',') => true,
                _ => false,
            };
            if at_token_start {
                if let Some((_, sub)) = PLAIN_SUBST.iter().find(|(from, _)| *from == c) {
                    out.push(*sub);
                    prev_sig = Some(c);
                    spaces_since = false;
                    continue;
                }
                if c == '"' || c == '\'' {
                    quote = Some(c);
                }
            }
            out.push(c);
            if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
                spaces_since = true;
            } else {
                prev_sig = Some(c);
                spaces_since = false;
            }
        }
    }
    out
}

fn restore_text(s: &str) -> String {
    if !s
        .chars()
        .any(|c| PLAIN_SUBST.iter().any(|(_, sub)| *sub == c))
    {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            PLAIN_SUBST
                .iter()
                .find(|(_, sub)| *sub == c)
                .map(|(from, _)| *from)
                .unwrap_or(c)
        })
        .collect()
}

fn restore_value(v: Value) -> Value {
    match v {
        Value::String(s) => Value::String(restore_text(&s)),
        Value::Array(a) => Value::Array(a.into_iter().map(restore_value).collect()),
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (restore_text(&k), restore_value(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Like [`load`], but timestamps come out as [`TIMESTAMP_MARK`]-prefixed strings; the flag
/// tells whether any timestamp was seen.
pub fn load_marked(text: &str) -> Result<(Option<Value>, bool), YamlError> {
    MARK_TIMESTAMPS.with(|m| m.set(true));
    SAW_TIMESTAMP.with(|s| s.set(false));
    let r = load(text);
    MARK_TIMESTAMPS.with(|m| m.set(false));
    let saw = SAW_TIMESTAMP.with(|s| s.get());
    r.map(|v| (v, saw))
}

/// `yaml.load(text, SafeLoader)` of Mistral's `safe_yaml`: `None` for an empty stream.
pub fn load(text: &str) -> Result<Option<Value>, YamlError> {
    let protected = protect_plain_starts(text);
    match load_protected(&protected) {
        Ok(v) => Ok(v.map(restore_value)),
        Err(e) => Err(YamlError(restore_text(&e.0))),
    }
}

/// PyYAML never skips tabs between tokens (and ends plain scalars at them): the first tab
/// outside quoted scalars, comments and block-scalar content is an error there.
fn first_bad_tab(text: &str) -> Option<Pos> {
    let mut quote: Option<char> = None;
    // Indentation of the line that opened a block scalar, while inside one.
    let mut block_parent: Option<usize> = None;
    for (ln, line) in text.split('\n').enumerate() {
        let chars: Vec<char> = line.chars().collect();
        let indent = chars.iter().take_while(|c| **c == ' ').count();
        if let Some(parent) = block_parent {
            let blank = chars.iter().all(|c| *c == ' ' || *c == '\r');
            if blank {
                continue;
            }
            if indent > parent {
                continue;
            }
            block_parent = None;
        }
        let mut i = 0;
        let mut last_sig: Option<char> = None;
        while i < chars.len() {
            let c = chars[i];
            if let Some(q) = quote {
                if q == '"' && c == '\\' {
                    i += 2;
                    continue;
                }
                if c == q {
                    if q == '\'' && chars.get(i + 1) == Some(&'\'') {
                        i += 2;
                        continue;
                    }
                    quote = None;
                }
                i += 1;
                continue;
            }
            match c {
                '\t' => return Some(Pos { line: ln, col: i }),
                '#' if i == 0 || chars[i - 1] == ' ' => break,
                '"' | '\''
                    if matches!(
                        last_sig,
                        None | Some(':')
                            | Some('-')
                            | Some('[')
                            | Some('{')
                            | Some(',')
                            | Some('?')
                    ) =>
                {
                    quote = Some(c)
                }
                _ => {}
            }
            if c != ' ' {
                last_sig = Some(c);
            }
            i += 1;
        }
        if quote.is_none() {
            // `key: |`, `- >-`, ... open a block scalar.
            let code: String = {
                let mut out = String::new();
                let mut prev = ' ';
                for c in line.chars() {
                    if c == '#' && prev == ' ' {
                        break;
                    }
                    out.push(c);
                    prev = c;
                }
                out
            };
            let t = code.trim_end();
            let head = t.trim_end_matches(|c: char| c == '-' || c == '+' || c.is_ascii_digit());
            if (head.ends_with(" |") || head.ends_with(" >") || head == "|" || head == ">")
                && !t.is_empty()
            {
                block_parent = Some(indent);
            }
        }
    }
    None
}

fn tab_error(src: &str, pos: Pos) -> YamlError {
    YamlError(format!(
        "while scanning for the next token\nfound character '\\t' that cannot start any token\n{}",
        mark_text(src, pos)
    ))
}

fn load_protected(text: &str) -> Result<Option<Value>, YamlError> {
    let bad_tab = if text.contains('\t') {
        first_bad_tab(text)
    } else {
        None
    };
    let r = load_events(text);
    match (bad_tab, r) {
        (None, r) => r,
        (Some(t), Ok(_)) => Err(tab_error(text, t)),
        (Some(t), Err(e)) => {
            // Whichever PyYAML would meet first: compare with the error's last mark.
            let last = e.0.rfind(", line ").and_then(|i| {
                let rest = &e.0[i + 7..];
                let (l, rest) = rest.split_once(", column ")?;
                let c: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
                Some((l.parse::<usize>().ok()? - 1, c.parse::<usize>().ok()? - 1))
            });
            match last {
                Some((l, c)) if (l, c) < (t.line, t.col) => Err(e),
                _ => Err(tab_error(text, t)),
            }
        }
    }
}

fn load_events(text: &str) -> Result<Option<Value>, YamlError> {
    let mut builder = Builder {
        src: text,
        too_deep: false,
        stack: Vec::new(),
        docs: Vec::new(),
        doc_pos: Pos { line: 0, col: 0 },
    };
    let mut parser = Parser::new_from_str(text);
    // Drive the parser's state machine directly (`Parser::load` recurses per nesting level).
    let mut result: Result<(), yaml_rust2::ScanError> = Ok(());
    loop {
        match parser.next_token() {
            Ok((ev, mark)) => {
                let end = ev == Event::StreamEnd;
                builder.on_event(ev, mark);
                if end || builder.too_deep {
                    break;
                }
            }
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    if let Err(e) = result {
        let context = builder.stack.last().map(|f| match f {
            Frame::Seq(_, p) => (false, *p),
            Frame::Map(_, _, p) => (true, *p),
        });
        return Err(scan_error(
            text,
            e.info(),
            Pos::from_marker(e.marker()),
            context,
        ));
    }
    if builder.too_deep {
        return Err(YamlError(DEPTH_ERROR.into()));
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
    fn anchors_aliases_and_at_signs_are_plain_text_like_mistral_safe_yaml() {
        assert_eq!(
            v("a: *x\nb: &y foo\nc: @z\nd: [*p, &q r]\ne: '*s'"),
            json!({"a": "*x", "b": "&y foo", "c": "@z", "d": ["*p", "&q r"], "e": "*s"})
        );
    }

    #[test]
    fn timestamps_are_marked_when_requested() {
        let (d, saw) = load_marked("a: 2001-12-14\nb: x").unwrap();
        assert!(saw);
        assert_eq!(
            d.unwrap()["a"],
            json!(format!("{TIMESTAMP_MARK}2001-12-14"))
        );
        assert_eq!(timestamp_repr("2001-12-14"), "datetime.date(2001, 12, 14)");
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

#[cfg(test)]
mod upstream_tests {
    use super::*;

    fn date_free(v: Value, text: &str) -> Value {
        // Timestamps are kept as their text here; upstream's recording has "DATE".
        match v {
            Value::String(s) if TIMESTAMP_RE.is_match(&s) && text.contains(&s) => "DATE".into(),
            Value::Array(a) => Value::Array(a.into_iter().map(|x| date_free(x, text)).collect()),
            Value::Object(m) => Value::Object(
                m.into_iter()
                    .map(|(k, x)| (k, date_free(x, text)))
                    .collect(),
            ),
            other => other,
        }
    }

    fn check(cases: &[Value]) -> Vec<String> {
        let mut bad = Vec::new();
        for c in cases {
            let text = c["text"].as_str().unwrap();
            let got = load(text);
            match (c["ok"].as_bool().unwrap(), got) {
                (true, Ok(v)) => {
                    let v = date_free(v.unwrap_or(Value::Null), text);
                    if v != c["value"] {
                        bad.push(format!("{text:?}\n want {}\n got  {v}", c["value"]));
                    }
                }
                (false, Err(e)) => {
                    if e.0 != c["message"].as_str().unwrap() {
                        bad.push(format!(
                            "{text:?}\n want {:?}\n got  {:?}",
                            c["message"], e.0
                        ));
                    }
                }
                (ok, got) => bad.push(format!("{text:?}: upstream ok={ok}, we {got:?}")),
            }
        }
        bad
    }

    #[test]
    fn values_and_errors_match_recorded_pyyaml_loads() {
        let cases: Vec<Value> =
            serde_json::from_str(include_str!("testdata/yaml_cases.json")).unwrap();
        let bad = check(&cases);
        assert!(bad.is_empty(), "{}", bad.join("\n"));
    }

    #[test]
    #[ignore = "diagnostic: compares against $YAML_CASES"]
    fn compare_with_fresh_yaml_cases() {
        let path = std::env::var("YAML_CASES").unwrap();
        let cases: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for b in check(&cases) {
            println!("{b}\n");
        }
    }
}
