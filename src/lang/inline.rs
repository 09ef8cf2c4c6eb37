//! The "simplified" inline parameter syntax of `action:`, `workflow:`, `base:`, one-line
//! `retry:` and on-clause entries: `std.echo output="hi" delay=1`.
//!
//! Reproduces upstream's regex-based splitter including its quirks (dsl.md §4.2).

use regex::Regex;
use serde_json::{Map, Value};
use std::sync::LazyLock;

use super::{DslError, DslErrorKind};

/// Upstream's expression pattern alternatives, sorted by language name (jinja, yaql).
pub const JINJA_PATTERN: &str = r"(\{\{(.*?)\}\})";
pub const YAQL_PATTERN: &str = r"<%.*?%>";

static CMD_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"^([\w\.]+[^=\(\s"]*|<%.*?%>|\{\{.*\}\}|\{%.*%\})"#).unwrap());

static PARAMS_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r#"([-_\w]+)=("[^"]*"\s*|'[^']*'\s*|{JINJA_PATTERN}|{YAQL_PATTERN}|\[.*\]\s*|true|false|null|\d+)"#
    ))
    .unwrap()
});

/// Split `cmd param=value ...` into the command and its parameters.
///
/// Without a space the whole string is the command. Values in quotes stay strings (quotes
/// removed); other values are JSON-parsed when possible, otherwise kept as text.
pub fn parse_cmd_and_input(cmd_str: &str) -> Result<(String, Map<String, Value>), DslError> {
    if !cmd_str.contains(' ') {
        return Ok((cmd_str.to_string(), Map::new()));
    }
    let cmd = match CMD_RE.find(cmd_str) {
        Some(m) => m.as_str().to_string(),
        None => {
            return Err(DslError {
                kind: DslErrorKind::Invalid,
                message: format!("Invalid action/workflow task property: {cmd_str}"),
            })
        }
    };
    let mut params = Map::new();
    for caps in PARAMS_RE.captures_iter(cmd_str) {
        let key = caps.get(1).map(|m| m.as_str()).unwrap_or("");
        let raw = caps.get(2).map(|m| m.as_str()).unwrap_or("");
        let v = python_strip(raw);
        let value = if v.starts_with('"') || v.starts_with('\'') {
            let inner: String = {
                let chars: Vec<char> = v.chars().collect();
                if chars.len() >= 2 {
                    chars[1..chars.len() - 1].iter().collect()
                } else {
                    String::new()
                }
            };
            Value::String(inner)
        } else {
            match super::pyjson::loads(v) {
                Ok(parsed) => parsed,
                Err(_) => Value::String(v.to_string()),
            }
        };
        params.insert(key.to_string(), value);
    }
    Ok((cmd, params))
}

/// Python `str.strip()` (whitespace per `str.isspace`).
fn python_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(s: &str) -> (String, Value) {
        let (c, m) = parse_cmd_and_input(s).unwrap();
        (c, Value::Object(m))
    }

    #[test]
    fn no_space_means_whole_string_is_the_command() {
        assert_eq!(p("std.noop"), ("std.noop".into(), json!({})));
        assert_eq!(
            p("fail(msg=\"boom\")"),
            ("fail(msg=\"boom\")".into(), json!({}))
        );
    }

    #[test]
    fn quoted_values_stay_strings_and_others_are_json() {
        assert_eq!(
            p(r#"std.echo output="hi there" delay=1 a='x' b=[1, 2] c=true d=null"#),
            (
                "std.echo".into(),
                json!({"output": "hi there", "delay": 1, "a": "x", "b": [1, 2], "c": true, "d": null})
            )
        );
    }

    #[test]
    fn quirks_are_preserved() {
        assert_eq!(p("a x=1.5").1, json!({"x": 1}));
        assert_eq!(p("a x=-5 y=Hello z= \"v\"").1, json!({}));
        assert_eq!(p("a x=012").1, json!({"x": "012"}));
        assert_eq!(p("a x=<% $.a %>-<% $.b %>").1, json!({"x": "<% $.a %>"}));
        assert_eq!(p("a x=1 x=2").1, json!({"x": 2}));
        assert_eq!(
            p("a x={{ _.a }} y=[1,,2]").1,
            json!({"x": "{{ _.a }}", "y": "[1,,2]"})
        );
    }

    #[test]
    fn function_style_with_space_splits() {
        assert_eq!(p("fail(msg='a b')"), ("fail".into(), json!({"msg": "a b"})));
    }

    #[test]
    fn expression_commands() {
        assert_eq!(
            p("<% $.a %> output=<% $.p %>"),
            ("<% $.a %>".into(), json!({"output": "<% $.p %>"}))
        );
    }

    #[test]
    fn unmatched_command_is_an_error() {
        assert_eq!(
            parse_cmd_and_input("=x y").unwrap_err().message,
            "Invalid action/workflow task property: =x y"
        );
    }
}

#[cfg(test)]
mod upstream_tests {
    use super::*;

    /// `[text, command or null, params or error text]` recorded from upstream's
    /// `BaseSpec._parse_cmd_and_input`.
    #[test]
    fn inline_params_match_recorded_upstream_splits() {
        let cases: Vec<Value> =
            serde_json::from_str(include_str!("testdata/inline_cases.json")).unwrap();
        let mut bad = Vec::new();
        for c in &cases {
            let text = c[0].as_str().unwrap();
            let got = parse_cmd_and_input(text);
            let ok = match (&c[1], got) {
                (Value::String(cmd), Ok((gc, gp))) => *cmd == gc && c[2] == Value::Object(gp),
                (Value::Null, Err(e)) => c[2] == Value::String(e.message),
                _ => false,
            };
            if !ok {
                bad.push(format!(
                    "{text:?}: want {} {}, got {:?}",
                    c[1],
                    c[2],
                    parse_cmd_and_input(text)
                ));
            }
        }
        assert!(bad.is_empty(), "{}", bad.join("\n"));
    }
}
