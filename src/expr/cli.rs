//! `mistral-rs eval`: evaluate one expression, or a batch file (the expression batch protocol
//! of the differential tests), against a JSON context.

use super::{Evaluator, MemoryData};
use serde_json::{json, Value};
use std::io::{BufRead, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

/// Help text for the context file (shown by `mistral-rs eval --help`).
pub const CONTEXT_HELP: &str = "\
The context file holds the data view as JSON: `$` in YAQL and `_` in Jinja. Mistral's
functions read it like upstream does:
  __env              what env() returns
  __execution        the current workflow execution ({\"id\": ...}); execution() returns the
                     record with that id from __executions (or this object itself)
  __task_execution   the current task ({\"id\", \"name\"}) for task()
  __executions       list of workflow execution records for execution(), executions(),
                     global() (its \"context\" map) and tasks(recursive/flat)
                     (\"task_execution_id\" marks sub-workflows); removed from the view
  __tasks            list of task execution records (task() user model) for task()/tasks();
                     removed from the view";

/// Splits an `eval` context document into the data view and the in-memory store.
pub fn context_and_data(mut context: Value) -> (Value, MemoryData) {
    let data = MemoryData::from_context(&mut context);
    (context, data)
}

fn read_context(path: Option<&Path>) -> Result<Value, String> {
    match path {
        None => Ok(json!({})),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            serde_json::from_str(&text).map_err(|e| format!("invalid JSON in {}: {e}", p.display()))
        }
    }
}

/// `mistral-rs eval EXPRESSION [--context FILE]`: prints the result as JSON (exit 0) or the
/// error message (exit 1).
pub fn run_eval(expression: &str, context: Option<&Path>) -> ExitCode {
    let ctx = match read_context(context) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let (view, data) = context_and_data(ctx);
    let evaluator = Evaluator::new();
    match evaluator.evaluate_str(expression, &view, &data) {
        Ok(v) => {
            println!(
                "{}",
                serde_json::to_string(&v).unwrap_or_else(|_| "null".into())
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("{}", e.message);
            ExitCode::from(1)
        }
    }
}

/// Deepest case document the batch accepts (Python's own recursion limit is near 1000).
const MAX_CASE_DEPTH: usize = 900;

fn depth(v: &Value) -> usize {
    // iterative, so a hostile document cannot overflow the stack here
    let mut max = 0;
    let mut stack = vec![(v, 1usize)];
    while let Some((v, d)) = stack.pop() {
        max = max.max(d);
        match v {
            Value::Array(items) => stack.extend(items.iter().map(|i| (i, d + 1))),
            Value::Object(map) => stack.extend(map.values().map(|i| (i, d + 1))),
            _ => {}
        }
    }
    max
}

/// One parsed batch case: its id, expression, data view and in-memory store.
pub struct BatchCase {
    id: Value,
    expr: String,
    view: Value,
    data: MemoryData,
    /// A failure found while reading the line (reported instead of evaluating).
    invalid: Option<Value>,
}

/// Parses one batch line.
pub fn parse_case(line: &str) -> BatchCase {
    let bad = |id: Value, kind: &str, msg: String| BatchCase {
        id: id.clone(),
        expr: String::new(),
        view: Value::Null,
        data: MemoryData::default(),
        invalid: Some(json!({"id": id, "error": kind, "message": msg})),
    };
    let mut de = serde_json::Deserializer::from_str(line);
    de.disable_recursion_limit();
    let case: Value = match serde::Deserialize::deserialize(&mut de) {
        Ok(v) => v,
        Err(e) => return bad(Value::Null, "evaluation", format!("bad input line: {e}")),
    };
    let id = case.get("id").cloned().unwrap_or(Value::Null);
    if depth(&case) > MAX_CASE_DEPTH {
        return bad(id, "limit", "data nested too deeply".into());
    }
    let expr = case
        .get("expr")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let context = case.get("context").cloned().unwrap_or(Value::Null);
    let (view, data) = context_and_data(context);
    BatchCase {
        id,
        expr,
        view,
        data,
        invalid: None,
    }
}

/// Evaluates a parsed case into the protocol's output object.
pub fn run_case(evaluator: &Evaluator, case: &BatchCase, lang: &str) -> Value {
    if let Some(invalid) = &case.invalid {
        return invalid.clone();
    }
    let result = if lang == "yaql" {
        // the bare expression, evaluated as `<% expr %>` is (without the delimiter scan)
        evaluator.evaluate_yaql_expression(&case.expr, &case.view, &case.data)
    } else {
        evaluator.evaluate_str(&format!("{{{{ {} }}}}", case.expr), &case.view, &case.data)
    };
    match result {
        Ok(v) => json!({"id": case.id, "result": v}),
        Err(e) => json!({"id": case.id, "error": e.kind.batch_name(), "message": e.detail}),
    }
}

/// One batch line's outcome as the protocol's JSON object.
pub fn batch_line(evaluator: &Evaluator, line: &str, lang: &str) -> Value {
    run_case(evaluator, &parse_case(line), lang)
}

/// `mistral-rs eval --batch FILE --lang yaql|jinja [--repeat N] [--time]`.
pub fn run_batch(file: &Path, lang: &str, repeat: usize, time: bool) -> ExitCode {
    if lang != "yaql" && lang != "jinja" {
        eprintln!("--lang must be yaql or jinja");
        return ExitCode::from(2);
    }
    let lines: Vec<String> = if file == Path::new("-") {
        std::io::stdin()
            .lock()
            .lines()
            .map_while(Result::ok)
            .collect()
    } else {
        match std::fs::read_to_string(file) {
            Ok(t) => t.lines().map(str::to_string).collect(),
            Err(e) => {
                eprintln!("cannot read {}: {e}", file.display());
                return ExitCode::from(2);
            }
        }
    };
    let cases: Vec<BatchCase> = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| parse_case(l))
        .collect();
    let evaluator = Evaluator::new();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let start = Instant::now();
    let repeat = repeat.max(1);
    for round in 0..repeat {
        for case in &cases {
            let result = run_case(&evaluator, case, lang);
            if round == 0 {
                let _ = writeln!(
                    out,
                    "{}",
                    serde_json::to_string(&result).unwrap_or_default()
                );
            }
        }
    }
    if time {
        let elapsed = start.elapsed();
        let n = (cases.len() * repeat).max(1);
        eprintln!(
            "{{\"evaluations\": {}, \"seconds\": {:.6}, \"us_per_eval\": {:.3}}}",
            cases.len() * repeat,
            elapsed.as_secs_f64(),
            elapsed.as_secs_f64() * 1e6 / n as f64
        );
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_line_reports_result_or_error_kind() {
        let ev = Evaluator::new();
        let ok = batch_line(
            &ev,
            r#"{"id": "a", "expr": "_.x + 1", "context": {"x": 1}}"#,
            "jinja",
        );
        assert_eq!(ok, json!({"id": "a", "result": 2}));
        let err = batch_line(&ev, r#"{"id": "b", "expr": "_.y", "context": {}}"#, "jinja");
        assert_eq!(err["error"], "evaluation");
        assert_eq!(err["message"], "'dict object' has no attribute 'y'");
        let syn = batch_line(&ev, r#"{"id": "c", "expr": "1 +", "context": {}}"#, "jinja");
        assert_eq!(syn["error"], "syntax");
    }

    #[test]
    fn context_tables_are_removed_from_the_view() {
        let (view, data) = context_and_data(json!({"a": 1, "__tasks": [{"id": "t"}]}));
        assert_eq!(view, json!({"a": 1}));
        assert_eq!(data.tasks.len(), 1);
    }
}
