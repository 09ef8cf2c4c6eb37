//! Batch evaluator for the expression corpus protocol (see compat-tests/expressions).
//!
//! `yaql-batch [--repeat N] [--time] [FILE]` reads one JSON case per line
//! (`{"id", "expr", "context"}`) from FILE or stdin and prints one result line per case.

use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn main() {
    let mut repeat = 1usize;
    let mut time = false;
    let mut file: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--repeat" => repeat = args.next().and_then(|n| n.parse().ok()).unwrap_or(1).max(1),
            "--time" => time = true,
            _ => file = Some(a),
        }
    }
    let text = match &file {
        Some(f) => match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("cannot read {f}: {e}");
                std::process::exit(2);
            }
        },
        None => {
            let mut s = String::new();
            for line in std::io::stdin().lock().lines() {
                match line {
                    Ok(l) => {
                        s.push_str(&l);
                        s.push('\n');
                    }
                    Err(_) => break,
                }
            }
            s
        }
    };
    let cases: Vec<(Value, String, Value)> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut de = serde_json::Deserializer::from_str(l);
            de.disable_recursion_limit();
            let v: Value = serde::Deserialize::deserialize(&mut de).unwrap_or(Value::Null);
            let id = v.get("id").cloned().unwrap_or(Value::Null);
            let expr = v
                .get("expr")
                .and_then(|e| e.as_str())
                .unwrap_or("")
                .to_string();
            let ctx = v.get("context").cloned().unwrap_or(Value::Null);
            (id, expr, ctx)
        })
        .collect();
    let engine = yaql::Engine::new();
    let mut total = Duration::ZERO;
    let mut evals = 0usize;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (id, expr, ctx) in &cases {
        let mut result = None;
        for _ in 0..repeat {
            let t0 = Instant::now();
            let r = engine.evaluate(expr, ctx);
            total += t0.elapsed();
            evals += 1;
            result = Some(r);
        }
        let line = match result {
            Some(Ok(v)) => json!({"id": id, "result": v}),
            Some(Err(e)) => json!({"id": id, "error": e.kind_name(), "message": e.message}),
            None => json!({"id": id, "error": "evaluation", "message": "not evaluated"}),
        };
        let _ = writeln!(out, "{}", line);
    }
    let _ = out.flush();
    if time {
        let per = if evals > 0 {
            total.as_secs_f64() / evals as f64
        } else {
            0.0
        };
        eprintln!(
            "evaluations: {evals}, total: {:.6} s, per evaluation: {:.3} us",
            total.as_secs_f64(),
            per * 1e6
        );
    }
}
