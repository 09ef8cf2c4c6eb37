//! The `definition` texts upstream stores for parts of a document:
//! * multi-workflow uploads: `yaml.dump({'version': v, name: body})` (PyYAML defaults: block
//!   style, key order kept, width 80, ASCII only) — [`dump_yaml`];
//! * workbook sections: a line-based cut of the workbook text — [`cut_from_workbook`].

use serde_json::Value;

use super::pyrepr::py_float;

const BEST_WIDTH: usize = 80;

struct Emitter {
    out: String,
    column: usize,
}

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_ws(c: Option<char>) -> bool {
    match c {
        None => true,
        Some(c) => matches!(
            c,
            '\0' | ' ' | '\t' | '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}'
        ),
    }
}

struct Analysis {
    empty: bool,
    multiline: bool,
    allow_block_plain: bool,
    allow_single_quoted: bool,
}

/// PyYAML `Emitter.analyze_scalar` (allow_unicode=False), reduced to the block-context flags.
fn analyze(s: &str) -> Analysis {
    let chars: Vec<char> = s.chars().collect();
    if chars.is_empty() {
        return Analysis {
            empty: true,
            multiline: false,
            allow_block_plain: true,
            allow_single_quoted: true,
        };
    }
    let mut block_indicators = false;
    let mut line_breaks = false;
    let mut special = false;
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    if s.starts_with("---") || s.starts_with("...") {
        block_indicators = true;
    }
    let mut preceded_by_ws = true;
    let mut followed_by_ws = chars.len() == 1 || is_ws(chars.get(1).copied());
    let (mut prev_space, mut prev_break) = (false, false);
    let n = chars.len();
    for (index, &ch) in chars.iter().enumerate() {
        if index == 0 {
            if "#,[]{}&*!|>'\"%@`".contains(ch) {
                block_indicators = true;
            }
            if (ch == '?' || ch == ':') && followed_by_ws {
                block_indicators = true;
            }
            if ch == '-' && followed_by_ws {
                block_indicators = true;
            }
        } else {
            if ch == ':' && followed_by_ws {
                block_indicators = true;
            }
            if ch == '#' && preceded_by_ws {
                block_indicators = true;
            }
        }
        if is_break(ch) {
            line_breaks = true;
        }
        if !(ch == '\n' || (' '..='~').contains(&ch)) {
            special = true;
        }
        if ch == ' ' {
            if index == 0 {
                leading_space = true;
            }
            if index == n - 1 {
                trailing_space = true;
            }
            if prev_break {
                break_space = true;
            }
            prev_space = true;
            prev_break = false;
        } else if is_break(ch) {
            if index == 0 {
                leading_break = true;
            }
            if index == n - 1 {
                trailing_break = true;
            }
            if prev_space {
                space_break = true;
            }
            prev_space = false;
            prev_break = true;
        } else {
            prev_space = false;
            prev_break = false;
        }
        preceded_by_ws = is_ws(Some(ch));
        followed_by_ws = index + 2 >= n || is_ws(chars.get(index + 2).copied());
    }
    let mut allow_block_plain = true;
    let mut allow_single_quoted = true;
    if leading_space || leading_break || trailing_space || trailing_break {
        allow_block_plain = false;
    }
    if break_space {
        allow_block_plain = false;
        allow_single_quoted = false;
    }
    if space_break || special {
        allow_block_plain = false;
        allow_single_quoted = false;
    }
    if line_breaks || block_indicators {
        allow_block_plain = false;
    }
    Analysis {
        empty: false,
        multiline: line_breaks,
        allow_block_plain,
        allow_single_quoted,
    }
}

/// Would PyYAML's resolver read this plain text back as a string?
fn resolves_to_str(s: &str) -> bool {
    super::yaml::resolve_plain(s) == "str"
}

impl Emitter {
    fn write(&mut self, s: &str) {
        self.out.push_str(s);
        self.column += s.chars().count();
    }

    fn newline(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    fn write_indent(&mut self, indent: usize) {
        if self.column > indent || (self.column > 0 && self.column == indent) {
            self.newline();
        }
        if self.column == 0 && !self.out.is_empty() && !self.out.ends_with('\n') {
            self.newline();
        }
        if self.column < indent {
            let pad = " ".repeat(indent - self.column);
            self.write(&pad);
        }
    }

    fn plain(&mut self, text: &str, indent: usize, split: bool) {
        let chars: Vec<char> = text.chars().collect();
        let mut spaces = false;
        let mut start = 0;
        let mut end = 0;
        while end <= chars.len() {
            let ch = chars.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end && self.column > BEST_WIDTH && split {
                        self.newline();
                        self.write(&" ".repeat(indent));
                    } else {
                        let d: String = chars[start..end].iter().collect();
                        self.write(&d);
                    }
                    start = end;
                }
            } else if ch.is_none() || ch == Some(' ') {
                let d: String = chars[start..end].iter().collect();
                self.write(&d);
                start = end;
            }
            if let Some(c) = ch {
                spaces = c == ' ';
            }
            end += 1;
        }
    }

    fn single_quoted(&mut self, text: &str, indent: usize, split: bool) {
        self.write("'");
        let chars: Vec<char> = text.chars().collect();
        let (mut spaces, mut breaks) = (false, false);
        let mut start = 0;
        let mut end = 0;
        while end <= chars.len() {
            let ch = chars.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end
                        && self.column > BEST_WIDTH
                        && split
                        && start != 0
                        && end != chars.len()
                    {
                        self.newline();
                        self.write(&" ".repeat(indent));
                    } else {
                        let d: String = chars[start..end].iter().collect();
                        self.write(&d);
                    }
                    start = end;
                }
            } else if breaks {
                if ch.map(|c| !is_break(c)).unwrap_or(true) {
                    if chars[start] == '\n' {
                        self.newline();
                    }
                    for br in &chars[start..end] {
                        if *br == '\n' {
                            self.newline();
                        } else {
                            self.out.push(*br);
                            self.column = 0;
                        }
                    }
                    self.write(&" ".repeat(indent));
                    start = end;
                }
            } else if (ch.is_none()
                || ch == Some(' ')
                || ch.map(is_break).unwrap_or(false)
                || ch == Some('\''))
                && start < end
            {
                let d: String = chars[start..end].iter().collect();
                self.write(&d);
                start = end;
            }
            if ch == Some('\'') {
                self.write("''");
                start = end + 1;
            }
            if let Some(c) = ch {
                spaces = c == ' ';
                breaks = is_break(c);
            }
            end += 1;
        }
        self.write("'");
    }

    /// PyYAML `write_double_quoted` (ASCII only), folding long lines with `\` escapes.
    fn double_quoted(&mut self, text: &str, indent: usize, split: bool) {
        fn escape(c: char) -> String {
            match c {
                '\0' => "\\0".into(),
                '\x07' => "\\a".into(),
                '\x08' => "\\b".into(),
                '\t' => "\\t".into(),
                '\n' => "\\n".into(),
                '\x0b' => "\\v".into(),
                '\x0c' => "\\f".into(),
                '\r' => "\\r".into(),
                '\x1b' => "\\e".into(),
                '"' => "\\\"".into(),
                '\\' => "\\\\".into(),
                '\u{85}' => "\\N".into(),
                '\u{a0}' => "\\_".into(),
                '\u{2028}' => "\\L".into(),
                '\u{2029}' => "\\P".into(),
                c => {
                    let cp = c as u32;
                    if cp <= 0xff {
                        format!("\\x{cp:02X}")
                    } else if cp <= 0xffff {
                        format!("\\u{cp:04X}")
                    } else {
                        format!("\\U{cp:08X}")
                    }
                }
            }
        }
        self.write("\"");
        let chars: Vec<char> = text.chars().collect();
        let n = chars.len();
        let mut start = 0usize;
        let mut end = 0usize;
        while end <= n {
            let ch = chars.get(end).copied();
            let needs_escape = match ch {
                None => true,
                Some(c) => {
                    matches!(
                        c,
                        '"' | '\\' | '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}'
                    ) || !(' '..='~').contains(&c)
                }
            };
            if needs_escape {
                if start < end {
                    let d: String = chars[start..end].iter().collect();
                    self.write(&d);
                    start = end;
                }
                if let Some(c) = ch {
                    self.write(&escape(c));
                    start = end + 1;
                }
            }
            if end > 0
                && end + 1 < n
                && (ch == Some(' ') || start >= end)
                && self.column + (end.saturating_sub(start)) > BEST_WIDTH
                && split
            {
                let mut d: String = chars[start.min(end)..end].iter().collect();
                d.push('\\');
                if start < end {
                    start = end;
                }
                self.write(&d);
                self.newline();
                self.write(&" ".repeat(indent));
                if chars.get(start) == Some(&' ') {
                    self.write("\\");
                }
            }
            end += 1;
        }
        self.write("\"");
    }

    /// A scalar; `simple_key` for mapping keys.
    fn scalar(&mut self, v: &Value, indent: usize, simple_key: bool) {
        match v {
            Value::Null => self.write("null"),
            Value::Bool(b) => self.write(if *b { "true" } else { "false" }),
            Value::Number(n) => {
                let t = if let Some(i) = n.as_i64() {
                    i.to_string()
                } else if let Some(u) = n.as_u64() {
                    u.to_string()
                } else {
                    let f = n.as_f64().unwrap_or(0.0);
                    // PyYAML represent_float: repr(), and `1e+16` becomes `1.0e+16`.
                    let r = py_float(f);
                    if !r.contains('.') && r.contains('e') {
                        r.replacen('e', ".0e", 1)
                    } else {
                        r
                    }
                };
                self.write(&t)
            }
            Value::String(s) => {
                let a = analyze(s);
                let implicit = resolves_to_str(s);
                if implicit && !a.empty && !(simple_key && a.multiline) && a.allow_block_plain {
                    self.plain(s, indent, !simple_key);
                } else if a.allow_single_quoted && !(simple_key && a.multiline) {
                    self.single_quoted(s, indent, !simple_key);
                } else {
                    self.double_quoted(s, indent, !simple_key);
                }
            }
            _ => {}
        }
    }

    fn node(&mut self, v: &Value, indent: usize, in_seq: bool) {
        match v {
            Value::Object(m) if !m.is_empty() => {
                // Mistral's dumper keeps the document's key order.
                for (i, k) in m.keys().enumerate() {
                    if !(in_seq && i == 0) {
                        self.write_indent(indent);
                    }
                    self.scalar(&Value::String(k.clone()), indent, true);
                    self.write(":");
                    let child = &m[k];
                    match child {
                        Value::Object(cm) if !cm.is_empty() => self.node(child, indent + 2, false),
                        // Sequences in a mapping are not indented.
                        Value::Array(a) if !a.is_empty() => self.node(child, indent, false),
                        _ => {
                            self.write(" ");
                            self.leaf(child, indent + 2);
                        }
                    }
                }
            }
            Value::Array(items) if !items.is_empty() => {
                for item in items {
                    self.write_indent(indent);
                    self.write("-");
                    match item {
                        Value::Object(cm) if !cm.is_empty() => {
                            self.write(" ");
                            self.node(item, indent + 2, true)
                        }
                        Value::Array(a) if !a.is_empty() => {
                            self.write(" ");
                            self.seq_in_seq(item, indent + 2)
                        }
                        _ => {
                            self.write(" ");
                            self.leaf(item, indent + 2);
                        }
                    }
                }
            }
            other => self.leaf(other, indent),
        }
    }

    fn seq_in_seq(&mut self, v: &Value, indent: usize) {
        if let Value::Array(items) = v {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    self.write_indent(indent);
                }
                self.write("- ");
                match item {
                    Value::Object(cm) if !cm.is_empty() => self.node(item, indent + 2, true),
                    Value::Array(a) if !a.is_empty() => self.seq_in_seq(item, indent + 2),
                    _ => self.leaf(item, indent + 2),
                }
            }
        }
    }

    fn leaf(&mut self, v: &Value, indent: usize) {
        match v {
            Value::Object(_) => self.write("{}"),
            Value::Array(_) => self.write("[]"),
            other => self.scalar(other, indent, false),
        }
    }
}

/// `yaml.dump(value)` with PyYAML's defaults for a mapping document.
pub fn dump_yaml(v: &Value) -> String {
    let mut e = Emitter {
        out: String::new(),
        column: 0,
    };
    match v {
        Value::Object(m) if !m.is_empty() => e.node(v, 0, false),
        Value::Array(a) if !a.is_empty() => e.node(v, 0, false),
        other => {
            e.leaf(other, 0);
            if !matches!(other, Value::Object(_) | Value::Array(_)) {
                e.out.push_str("\n...");
            }
        }
    }
    e.out.push('\n');
    e.out
}

/// Upstream `_parse_def_from_wb`: from the first `section` occurrence, find the line that
/// is exactly `<item>:` (stripped) and take it plus every following line indented deeper
/// (blank lines and comments kept), de-indented by the item's column.
pub fn cut_from_workbook(wb_def: &str, section: &str, item: &str) -> String {
    let item_name = format!("{item}:");
    let start = match wb_def.find(section) {
        Some(i) => i,
        None => return "\n".to_string(),
    };
    let rest = &wb_def[start..];
    // Lines with their terminators (Python StringIO iteration splits on '\n' only).
    let lines: Vec<&str> = rest.split_inclusive('\n').collect();
    let mut iter = lines.into_iter().skip(1);
    let mut definition: Vec<String> = Vec::new();
    let mut ident = 0usize;
    for line in iter.by_ref() {
        if py_strip(line) == item_name {
            ident = line
                .find(&item_name)
                .map(|b| line[..b].chars().count())
                .unwrap_or(0);
            definition.push(py_lstrip(line).to_string());
            break;
        }
    }
    for line in iter {
        let new_line = py_strip(line);
        if new_line.is_empty() {
            definition.push(line.to_string());
        } else if new_line.starts_with('#') {
            let hash = line
                .find('#')
                .map(|b| line[..b].chars().count())
                .unwrap_or(0);
            if ident > hash {
                definition.push(line.to_string());
            } else {
                definition.push(line.chars().skip(ident).collect());
            }
        } else {
            let lead = line.chars().count() - py_lstrip(line).chars().count();
            if ident < lead {
                definition.push(line.chars().skip(ident).collect());
            } else {
                break;
            }
        }
    }
    let joined: String = definition.concat();
    format!("{}\n", py_rstrip(&joined))
}

fn py_ws(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

fn py_strip(s: &str) -> &str {
    s.trim_matches(py_ws)
}

fn py_lstrip(s: &str) -> &str {
    s.trim_start_matches(py_ws)
}

fn py_rstrip(s: &str) -> &str {
    s.trim_end_matches(py_ws)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dumps_like_upstream_block_style_in_document_order() {
        let v = json!({"version": "2.0", "wfa": {"tasks": {"t1": {"action": "std.noop"}}}});
        assert_eq!(
            dump_yaml(&v),
            "version: '2.0'\nwfa:\n  tasks:\n    t1:\n      action: std.noop\n"
        );
    }

    #[test]
    fn dump_sequences_are_not_indented_under_keys() {
        let v = json!({"b": [1, {"x": "y", "a": true}], "a": [], "c": {}, "d": null, "e": ""});
        assert_eq!(
            dump_yaml(&v),
            "b:\n- 1\n- x: y\n  a: true\na: []\nc: {}\nd: null\ne: ''\n"
        );
    }

    #[test]
    fn dump_quotes_special_strings() {
        let v = json!({"a": "yes", "b": "<% $.x %>", "c": "it's", "d": "- x", "e": "a\tb", "f": "héllo"});
        assert_eq!(
            dump_yaml(&v),
            "a: 'yes'\nb: <% $.x %>\nc: it's\nd: '- x'\ne: \"a\\tb\"\nf: \"h\\xE9llo\"\n"
        );
    }

    #[test]
    fn workbook_cut_takes_the_indented_block() {
        let wb = "version: '2.0'\nname: wb\nworkflows:\n  wf1:\n    tasks:\n      t1:\n        action: std.noop\n\n  wf2:\n    tasks:\n      t2: {}\n";
        assert_eq!(
            cut_from_workbook(wb, "workflows:", "wf1"),
            "wf1:\n  tasks:\n    t1:\n      action: std.noop\n"
        );
        assert_eq!(
            cut_from_workbook(wb, "workflows:", "wf2"),
            "wf2:\n  tasks:\n    t2: {}\n"
        );
    }
}
