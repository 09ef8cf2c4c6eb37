//! Python semantics for the Jinja operators minijinja evaluates differently (ordering
//! comparisons between unorderable types raise TypeError, booleans order as 0/1, `~` uses
//! Python's `str()`, `**` with a negative integer exponent gives a float).
//!
//! minijinja has no operator hooks, so a parsed expression whose tree contains one of these
//! operators is printed back (fully parenthesised, so the parse tree is kept exactly) with
//! those operators replaced by calls to the helper globals installed here.

use super::filters::py_order;
use super::values::py_str;
use minijinja::machinery::ast::{
    BinOpKind, CallArg, CompareOpKind, Expr, List, Spanned, Stmt, UnaryOpKind,
};
use minijinja::machinery::{tokenize, Span, Token, WhitespaceConfig};
use minijinja::value::{Rest, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind};
use std::cmp::Ordering;

const CMP: &str = "__mistral_rs_py_cmp";
const CONCAT: &str = "__mistral_rs_py_concat";
const POW: &str = "__mistral_rs_py_pow";
const TUPLE: &str = "__mistral_rs_py_tuple";
const SLICED: &str = "__mistral_rs_py_sliced";
const SAME: &str = "__mistral_rs_py_same";
const MUL: &str = "__mistral_rs_py_mul";
const NEG: &str = "__mistral_rs_py_neg";
const IN_CHECK: &str = "__mistral_rs_py_in_container";
const COND_UNDEFINED: &str = "__mistral_rs_py_cond_undefined";

fn undefined_check(v: &Value) -> Result<(), Error> {
    if v.is_undefined() {
        Err(Error::from(ErrorKind::UndefinedError))
    } else {
        Ok(())
    }
}

/// Operands Python has no arithmetic or ordering for although they look like sequences here:
/// a `range` and the Undefined of an if-expression without `else`.
fn opaque_operand_check(op: &str, a: &Value, b: &Value) -> Result<(), Error> {
    let cond_undefined = |v: &Value| {
        v.downcast_object_ref::<super::values::LenientUndefined>()
            .is_some()
    };
    if cond_undefined(a) || cond_undefined(b) {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            "the inline if-expression evaluated to false and no else section was defined.",
        ));
    }
    let range = |v: &Value| v.downcast_object_ref::<super::values::PyRange>().is_some();
    if range(a) || range(b) {
        let (ta, tb) = (
            super::values::py_type_name(a),
            super::values::py_type_name(b),
        );
        return Err(type_error(if op == "*" {
            format!("unsupported operand type(s) for *: '{ta}' and '{tb}'")
        } else {
            format!("'{op}' not supported between instances of '{ta}' and '{tb}'")
        }));
    }
    Ok(())
}

fn type_error(msg: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg)
}

/// Python's chained ordering comparison `a op1 b op2 c ...` (operands already evaluated).
fn py_compare(args: &[Value]) -> Result<Value, Error> {
    let mut left = args.first().cloned().unwrap_or(Value::UNDEFINED);
    undefined_check(&left)?;
    for pair in args[1..].chunks(2) {
        let (op, right) = match pair {
            [op, right] => (op.as_str().unwrap_or_default(), right),
            _ => return Err(type_error("malformed comparison".into())),
        };
        undefined_check(right)?;
        opaque_operand_check(op, &left, right)?;
        let ord = py_order(&left, right, op)?;
        let holds = match op {
            "<" => ord == Ordering::Less,
            "<=" => ord != Ordering::Greater,
            ">" => ord == Ordering::Greater,
            _ => ord != Ordering::Less,
        };
        if !holds {
            return Ok(Value::from(false));
        }
        left = right.clone();
    }
    Ok(Value::from(true))
}

fn int_of(v: &Value) -> Option<i128> {
    match v.kind() {
        ValueKind::Bool => Some(i128::from(v.is_true())),
        ValueKind::Number if v.is_integer() => i128::try_from(v.clone()).ok(),
        _ => None,
    }
}

/// Python's `a ** b` for numbers.
fn py_pow(a: &Value, b: &Value) -> Result<Value, Error> {
    undefined_check(a)?;
    undefined_check(b)?;
    let is_num = |v: &Value| matches!(v.kind(), ValueKind::Number | ValueKind::Bool);
    if !is_num(a) || !is_num(b) {
        return Err(type_error(format!(
            "unsupported operand type(s) for ** or pow(): '{}' and '{}'",
            super::values::py_type_name(a),
            super::values::py_type_name(b)
        )));
    }
    if let (Some(x), Some(y)) = (int_of(a), int_of(b)) {
        if y >= 0 {
            return u32::try_from(y)
                .ok()
                .and_then(|y| x.checked_pow(y))
                .map(Value::from)
                .ok_or_else(|| type_error("integer result too large".into()));
        }
        if x == 0 {
            return Err(type_error(
                "0.0 cannot be raised to a negative power".into(),
            ));
        }
        return Ok(Value::from((x as f64).powf(y as f64)));
    }
    let x = int_of(a).map_or_else(
        || f64::try_from(a.clone()).unwrap_or(f64::NAN),
        |i| i as f64,
    );
    let y = int_of(b).map_or_else(
        || f64::try_from(b.clone()).unwrap_or(f64::NAN),
        |i| i as f64,
    );
    if x == 0.0 && y < 0.0 {
        return Err(type_error(
            "0.0 cannot be raised to a negative power".into(),
        ));
    }
    if x < 0.0 && y.fract() != 0.0 {
        return Err(type_error("complex results are not supported".into()));
    }
    let r = x.powf(y);
    if r.is_infinite() && x.is_finite() && y.is_finite() {
        return Err(type_error("(34, 'Numerical result out of range')".into()));
    }
    Ok(Value::from(r))
}

fn slice_index(v: &Value) -> Result<Option<i64>, Error> {
    match v.kind() {
        ValueKind::None => Ok(None),
        _ => int_of(v)
            .and_then(|i| i64::try_from(i).ok())
            .map(Some)
            .ok_or_else(|| {
                type_error(
                    "slice indices must be integers or None or have an __index__ method".into(),
                )
            }),
    }
}

/// Python's slice of a str, list or tuple.
fn py_slice(base: &Value, start: &Value, stop: &Value, step: &Value) -> Result<Value, Error> {
    undefined_check(base)?;
    let (start, stop) = (slice_index(start)?, slice_index(stop)?);
    let step = slice_index(step)?.unwrap_or(1);
    if step == 0 {
        return Err(type_error("slice step cannot be zero".into()));
    }
    // Python's `slice.indices(len)`: the resolved (start, stop) for this step.
    let bounds = |len: i64| -> (i64, i64) {
        let clamp = |i: i64, lo: i64, hi: i64| {
            let i = if i < 0 { i + len } else { i };
            i.clamp(lo, hi)
        };
        if step > 0 {
            (
                start.map_or(0, |i| clamp(i, 0, len)),
                stop.map_or(len, |i| clamp(i, 0, len)),
            )
        } else {
            (
                start.map_or(len - 1, |i| clamp(i, -1, len - 1)),
                stop.map_or(-1, |i| clamp(i, -1, len - 1)),
            )
        }
    };
    if let Some(r) = base.downcast_object_ref::<super::values::PyRange>() {
        let (a, b) = bounds(r.len() as i64);
        return Ok(Value::from_object(r.sliced(a, b, step)));
    }
    let pick = |len: usize| -> Vec<usize> {
        let len = len as i64;
        let clamp = |i: i64, lo: i64, hi: i64| {
            let i = if i < 0 { i + len } else { i };
            i.clamp(lo, hi)
        };
        let mut out = Vec::new();
        if step > 0 {
            let (a, b) = (
                start.map_or(0, |i| clamp(i, 0, len)),
                stop.map_or(len, |i| clamp(i, 0, len)),
            );
            let mut i = a;
            while i < b {
                out.push(i as usize);
                i += step;
            }
        } else {
            let (a, b) = (
                start.map_or(len - 1, |i| clamp(i, -1, len - 1)),
                stop.map_or(-1, |i| clamp(i, -1, len - 1)),
            );
            let mut i = a;
            while i > b {
                out.push(i as usize);
                i += step;
            }
        }
        out
    };
    if let Some(s) = base.as_str() {
        let chars: Vec<char> = s.chars().collect();
        return Ok(Value::from(
            pick(chars.len())
                .into_iter()
                .map(|i| chars[i])
                .collect::<String>(),
        ));
    }
    let is_tuple = base
        .downcast_object_ref::<super::values::PyTuple>()
        .is_some();
    if base.kind() != ValueKind::Seq {
        return Err(type_error(format!(
            "'{}' object is not subscriptable",
            super::values::py_type_name(base)
        )));
    }
    let items: Vec<Value> = base.try_iter()?.collect();
    let picked: Vec<Value> = pick(items.len())
        .into_iter()
        .map(|i| items[i].clone())
        .collect();
    Ok(if is_tuple {
        super::values::tuple(picked)
    } else {
        Value::from(picked)
    })
}

fn is_sequence(v: &Value) -> bool {
    v.kind() == ValueKind::String || v.kind() == ValueKind::Seq
}

/// Python's `a * b`: numbers, or repetition of a str/list/tuple by an int (negative = empty).
fn py_mul(a: &Value, b: &Value) -> Result<Value, Error> {
    undefined_check(a)?;
    undefined_check(b)?;
    opaque_operand_check("*", a, b)?;
    let num = |v: &Value| matches!(v.kind(), ValueKind::Number | ValueKind::Bool);
    if num(a) && num(b) {
        if let (Some(x), Some(y)) = (int_of(a), int_of(b)) {
            return x
                .checked_mul(y)
                .map(Value::from)
                .ok_or_else(|| type_error("integer result too large".into()));
        }
        let f = |v: &Value| {
            int_of(v).map_or_else(
                || f64::try_from(v.clone()).unwrap_or(f64::NAN),
                |i| i as f64,
            )
        };
        return Ok(Value::from(f(a) * f(b)));
    }
    let (seq, count) = match (is_sequence(a), is_sequence(b)) {
        (true, false) => (a, b),
        (false, true) => (b, a),
        _ => {
            return Err(type_error(format!(
                "unsupported operand type(s) for *: '{}' and '{}'",
                super::values::py_type_name(a),
                super::values::py_type_name(b)
            )))
        }
    };
    let n = match int_of(count) {
        Some(n) => usize::try_from(n.max(0)).unwrap_or(usize::MAX),
        None if num(count) => {
            return Err(type_error(format!(
                "can't multiply sequence by non-int of type '{}'",
                super::values::py_type_name(count)
            )))
        }
        None => {
            return Err(type_error(format!(
                "unsupported operand type(s) for *: '{}' and '{}'",
                super::values::py_type_name(a),
                super::values::py_type_name(b)
            )))
        }
    };
    if let Some(s) = seq.as_str() {
        super::values::charge(0, s.len().saturating_mul(n))?;
        return Ok(Value::from(s.repeat(n)));
    }
    let items: Vec<Value> = seq.try_iter()?.collect();
    super::values::charge(items.len().saturating_mul(n), 0)?;
    let mut out = Vec::with_capacity(items.len() * n);
    for _ in 0..n {
        out.extend(items.iter().cloned());
    }
    Ok(
        if seq
            .downcast_object_ref::<super::values::PyTuple>()
            .is_some()
        {
            super::values::tuple(out)
        } else {
            Value::from(out)
        },
    )
}

/// The container of `item in container`, after Python's check that only a str is looked
/// up in a str.
fn py_in_container(item: &Value, container: Value) -> Result<Value, Error> {
    if container.kind() == ValueKind::String
        && !item.is_undefined()
        && item.kind() != ValueKind::String
    {
        return Err(type_error(format!(
            "'in <string>' requires string as left operand, not {}",
            super::values::py_type_name(item)
        )));
    }
    Ok(container)
}

/// Installs the helper globals the rewritten expressions call.
pub fn install(env: &mut Environment<'static>) {
    env.add_function(CMP, |args: Rest<Value>| py_compare(&args));
    env.add_function(CONCAT, |a: Value, b: Value| -> Result<Value, Error> {
        undefined_check(&a)?;
        undefined_check(&b)?;
        Ok(Value::from(py_str(&a)? + &py_str(&b)?))
    });
    env.add_function(POW, |a: Value, b: Value| py_pow(&a, &b));
    // An opaque identity: keeps minijinja from folding `and`/`or` over literals into booleans.
    env.add_function(SAME, |v: Value| v);
    env.add_function(MUL, |a: Value, b: Value| py_mul(&a, &b));
    env.add_function(NEG, |v: Value| -> Result<Value, Error> {
        undefined_check(&v)?;
        if let Some(i) = int_of(&v) {
            return Ok(Value::from(-i));
        }
        match v.kind() {
            ValueKind::Number => Ok(Value::from(-f64::try_from(v.clone())?)),
            _ => Err(type_error(format!(
                "bad operand type for unary -: '{}'",
                super::values::py_type_name(&v)
            ))),
        }
    });
    env.add_function(IN_CHECK, |item: Value, container: Value| {
        py_in_container(&item, container)
    });
    // What `a if b` without `else` gives when `b` is false (Jinja2: a plain Undefined).
    env.add_function(COND_UNDEFINED, || {
        Value::from_object(super::values::LenientUndefined)
    });
    env.add_function(TUPLE, |items: Rest<Value>| super::values::tuple(items.0));
    // Python's `base[start:stop:step]` (minijinja slices sequences into lazy iterators).
    env.add_function(
        SLICED,
        |base: Value, start: Value, stop: Value, step: Value| py_slice(&base, &start, &stop, &step),
    );
}

/// The expression with Python operator semantics, or `None` when it parses with nothing to
/// change (or does not parse: then the original text gives minijinja's own error).
pub fn rewrite_expression(src: &str) -> Option<String> {
    let Ok(expr) = minijinja::machinery::parse_expr(src) else {
        // minijinja has no unary `+`: Python's `+x` is `x` for numbers and a TypeError for
        // anything else, which is what `- -x` gives.
        let replaced = replace_unary_plus(src, true)?;
        return rewrite_expression(&replaced).or(Some(replaced));
    };
    if !needs_rewrite(&expr, src) {
        return None;
    }
    let mut out = String::with_capacity(src.len() + 32);
    Printer {
        src,
        strip: Default::default(),
    }
    .print(&expr, &mut out)
    .ok()?;
    Some(out)
}

/// A template with Python operator semantics in its `{{ }}` expressions, `{% if %}` /
/// `{% elif %}` conditions and `{% set name = ... %}` values, or `None` when there is nothing
/// to change (other statement expressions, such as a `{% for %}` iterable, are left to minijinja).
pub fn rewrite_template(src: &str) -> Option<String> {
    let ws = WhitespaceConfig {
        keep_trailing_newline: false,
        lstrip_blocks: true,
        trim_blocks: true,
    };
    let tree = minijinja::machinery::parse(src, "<template>", Default::default(), ws).ok()?;
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    collect_emits(std::slice::from_ref(&tree), src, &mut edits).ok()?;
    collect_statement_exprs(src, ws, &mut edits).ok()?;
    if edits.is_empty() {
        return None;
    }
    edits.sort_by_key(|e| e.0);
    let mut out = String::with_capacity(src.len() + 64);
    let mut pos = 0;
    for (start, end, text) in edits {
        if start < pos || end > src.len() {
            return None;
        }
        out.push_str(src.get(pos..start)?);
        out.push_str(&text);
        pos = end;
    }
    out.push_str(src.get(pos..)?);
    Some(out)
}

/// Replacement texts for the condition of `{% if %}` / `{% elif %}` and the value of
/// `{% set name = value %}`, found through the token stream (the statement's tokens between the
/// keyword and `%}` are exactly the expression).
fn collect_statement_exprs(
    src: &str,
    ws: WhitespaceConfig,
    edits: &mut Vec<(usize, usize, String)>,
) -> Result<(), ()> {
    let tokens: Vec<(Token, Span)> = tokenize(src, false, Default::default(), ws)
        .collect::<Result<_, _>>()
        .map_err(|_| ())?;
    let mut i = 0;
    while i < tokens.len() {
        if !matches!(tokens[i].0, Token::BlockStart) {
            i += 1;
            continue;
        }
        let Some(end) = tokens[i..]
            .iter()
            .position(|(t, _)| matches!(t, Token::BlockEnd))
            .map(|p| p + i)
        else {
            break;
        };
        let first = match (&tokens.get(i + 1), &tokens.get(i + 2), &tokens.get(i + 3)) {
            (Some((Token::Ident("if" | "elif"), _)), _, _) => Some(i + 2),
            (
                Some((Token::Ident("set"), _)),
                Some((Token::Ident(_), _)),
                Some((Token::Assign, _)),
            ) => Some(i + 4),
            _ => None,
        };
        if let Some(first) = first.filter(|f| *f < end) {
            let start = tokens[first].1.start_offset as usize;
            let stop = tokens[end - 1].1.end_offset as usize;
            let text = src.get(start..stop).ok_or(())?;
            if let Ok(expr) = minijinja::machinery::parse_expr(text) {
                if needs_rewrite(&expr, text) {
                    let mut rep = String::new();
                    Printer {
                        src: text,
                        strip: Default::default(),
                    }
                    .print(&expr, &mut rep)?;
                    edits.push((start, stop, rep));
                }
            }
        }
        i = end + 1;
    }
    Ok(())
}

/// Replacement texts for the `{{ expr` part (delimiter kept, `}}` untouched) of every
/// expression statement that needs rewriting.
fn collect_emits(
    stmts: &[Stmt],
    src: &str,
    edits: &mut Vec<(usize, usize, String)>,
) -> Result<(), ()> {
    for st in stmts {
        match st {
            Stmt::Template(t) => collect_emits(&t.children, src, edits)?,
            Stmt::EmitExpr(e) => {
                if !needs_rewrite(&e.expr, src) {
                    continue;
                }
                let span = e.span();
                let (start, end) = (span.start_offset as usize, span.end_offset as usize);
                let text = src.get(start..end).ok_or(())?;
                if !text.starts_with("{{") {
                    return Err(());
                }
                let delim_len = if text[2..].starts_with(['-', '+']) {
                    3
                } else {
                    2
                };
                let mut rep = text[..delim_len].to_string();
                rep.push(' ');
                Printer {
                    src,
                    strip: Default::default(),
                }
                .print(&e.expr, &mut rep)?;
                edits.push((start, end, rep));
            }
            Stmt::ForLoop(f) => {
                collect_emits(&f.body, src, edits)?;
                collect_emits(&f.else_body, src, edits)?;
            }
            Stmt::IfCond(i) => {
                collect_emits(&i.true_body, src, edits)?;
                collect_emits(&i.false_body, src, edits)?;
            }
            Stmt::WithBlock(w) => collect_emits(&w.body, src, edits)?,
            Stmt::SetBlock(b) => collect_emits(&b.body, src, edits)?,
            Stmt::AutoEscape(a) => collect_emits(&a.body, src, edits)?,
            Stmt::FilterBlock(f) => collect_emits(&f.body, src, edits)?,
            Stmt::Block(b) => collect_emits(&b.body, src, edits)?,
            Stmt::Macro(m) => collect_emits(&m.body, src, edits)?,
            Stmt::CallBlock(c) => collect_emits(&c.macro_decl.body, src, edits)?,
            _ => {}
        }
    }
    Ok(())
}

/// For a postfix chain (`x.a[0](1)`) whose innermost base is a unary minus: that minus.
/// minijinja binds `-` tighter than attribute/item access and calls; Jinja2 binds it looser.
fn negated_base<'e, 'a>(e: &'e Expr<'a>) -> Option<&'e Expr<'a>> {
    let mut cur = e;
    loop {
        cur = match cur {
            Expr::GetAttr(g) => &g.expr,
            Expr::GetItem(g) => &g.expr,
            Expr::Call(c) => &c.expr,
            Expr::Slice(s) => &s.expr,
            Expr::UnaryOp(u) if matches!(u.op, UnaryOpKind::Neg) && !std::ptr::eq(cur, e) => {
                return Some(cur)
            }
            _ => return None,
        };
    }
}

/// `src` with every unary `+` token written as `- -` (`None` when there is none).
fn replace_unary_plus(src: &str, in_expr: bool) -> Option<String> {
    let ws = WhitespaceConfig {
        keep_trailing_newline: false,
        lstrip_blocks: true,
        trim_blocks: true,
    };
    let mut prev: Option<Token> = None;
    let mut cuts = Vec::new();
    for tok in tokenize(src, in_expr, Default::default(), ws) {
        let (tok, span) = tok.ok()?;
        if matches!(tok, Token::Plus) {
            let unary = match &prev {
                None => true,
                Some(Token::Ident(k)) => {
                    matches!(*k, "and" | "or" | "not" | "in" | "if" | "else" | "is")
                }
                Some(
                    Token::Int(_)
                    | Token::Int128(_)
                    | Token::Float(_)
                    | Token::Str(_)
                    | Token::String(_)
                    | Token::ParenClose
                    | Token::BracketClose
                    | Token::BraceClose
                    | Token::TemplateData(_),
                ) => false,
                Some(_) => true,
            };
            if unary {
                cuts.push(span.start_offset as usize);
            }
        }
        prev = Some(tok);
    }
    if cuts.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(src.len() + cuts.len() * 3);
    let mut pos = 0;
    for c in cuts {
        out.push_str(src.get(pos..c)?);
        out.push_str("- -");
        pos = c + 1;
    }
    out.push_str(src.get(pos..)?);
    Some(out)
}

fn is_ordering(op: &CompareOpKind) -> bool {
    matches!(
        op,
        CompareOpKind::Lt | CompareOpKind::Lte | CompareOpKind::Gt | CompareOpKind::Gte
    )
}

/// A list literal written with tuple syntax (`(1, 2)`, `(1,)`, `()`): minijinja parses it as
/// a list whose span starts at the opening parenthesis.
fn is_tuple_literal(l: &Spanned<List>, src: &str) -> bool {
    src.get(l.span().start_offset as usize..)
        .is_some_and(|rest| rest.starts_with('('))
}

fn needs_rewrite(e: &Expr, src: &str) -> bool {
    let mut found = false;
    visit(e, &mut |e| {
        found |= match e {
            Expr::BinOp(b) if matches!(b.op, BinOpKind::ScAnd | BinOpKind::ScOr) => {
                matches!(b.left, Expr::Const(_)) || matches!(b.right, Expr::Const(_))
            }
            Expr::BinOp(b) => matches!(
                b.op,
                BinOpKind::Lt
                    | BinOpKind::Lte
                    | BinOpKind::Gt
                    | BinOpKind::Gte
                    | BinOpKind::Concat
                    | BinOpKind::Pow
                    | BinOpKind::Mul
                    | BinOpKind::In
            ),
            Expr::Compare(c) => c.ops.iter().all(|o| is_ordering(&o.op)),
            Expr::List(l) => is_tuple_literal(l, src),
            // minijinja cannot negate booleans (Python: -True == -1)
            Expr::UnaryOp(u) if matches!(u.op, UnaryOpKind::Neg) => match &u.expr {
                Expr::Const(c) => c.value.kind() != ValueKind::Number,
                _ => true,
            },
            Expr::GetAttr(_) | Expr::GetItem(_) | Expr::Call(_) | Expr::Slice(_)
                if negated_base(e).is_some() =>
            {
                true
            }
            Expr::Slice(_) => true,
            Expr::IfExpr(i) => i.false_expr.is_none(),
            _ => false,
        }
    });
    found
}

fn visit_args<'a>(args: &[CallArg<'a>], f: &mut dyn FnMut(&Expr<'a>)) {
    for a in args {
        match a {
            CallArg::Pos(e)
            | CallArg::Kwarg(_, e)
            | CallArg::PosSplat(e)
            | CallArg::KwargSplat(e) => visit(e, f),
        }
    }
}

fn visit<'a>(e: &Expr<'a>, f: &mut dyn FnMut(&Expr<'a>)) {
    f(e);
    match e {
        Expr::Var(_) | Expr::Const(_) => {}
        Expr::Slice(s) => {
            visit(&s.expr, f);
            for x in [&s.start, &s.stop, &s.step].into_iter().flatten() {
                visit(x, f);
            }
        }
        Expr::UnaryOp(u) => visit(&u.expr, f),
        Expr::BinOp(b) => {
            visit(&b.left, f);
            visit(&b.right, f);
        }
        Expr::Compare(c) => {
            visit(&c.expr, f);
            for o in &c.ops {
                visit(&o.expr, f);
            }
        }
        Expr::IfExpr(i) => {
            visit(&i.test_expr, f);
            visit(&i.true_expr, f);
            if let Some(x) = &i.false_expr {
                visit(x, f);
            }
        }
        Expr::Filter(x) => {
            if let Some(e) = &x.expr {
                visit(e, f);
            }
            visit_args(&x.args, f);
        }
        Expr::Test(t) => {
            visit(&t.expr, f);
            visit_args(&t.args, f);
        }
        Expr::GetAttr(g) => visit(&g.expr, f),
        Expr::GetItem(g) => {
            visit(&g.expr, f);
            visit(&g.subscript_expr, f);
        }
        Expr::Call(c) => {
            visit(&c.expr, f);
            visit_args(&c.args, f);
        }
        Expr::List(l) => {
            for x in &l.items {
                visit(x, f);
            }
        }
        Expr::Map(m) => {
            for x in m.keys.iter().chain(m.values.iter()) {
                visit(x, f);
            }
        }
    }
}

/// A literal in minijinja's syntax (`None` when it has none).
fn print_const(v: &Value, out: &mut String) -> Result<(), ()> {
    match v.kind() {
        ValueKind::None => out.push_str("none"),
        ValueKind::Bool => out.push_str(if v.is_true() { "true" } else { "false" }),
        ValueKind::String => {
            out.push_str(&serde_json::to_string(v.as_str().unwrap_or_default()).map_err(|_| ())?)
        }
        ValueKind::Number if v.is_integer() => {
            out.push_str(&i128::try_from(v.clone()).map_err(|_| ())?.to_string())
        }
        ValueKind::Number => {
            let f = f64::try_from(v.clone()).map_err(|_| ())?;
            if !f.is_finite() {
                return Err(());
            }
            out.push_str(&format!("{f:?}"));
        }
        _ => return Err(()),
    }
    Ok(())
}

/// One argument of a helper call, printed on demand.
type PrintPart<'a> = dyn Fn(&mut String) -> Result<(), ()> + 'a;

struct Printer<'s> {
    src: &'s str,
    /// A unary minus printed as its operand alone (hoisted above its postfix chain).
    strip: std::cell::Cell<usize>,
}

impl Printer<'_> {
    fn print_args(&self, args: &[CallArg], out: &mut String) -> Result<(), ()> {
        out.push('(');
        for (i, a) in args.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            match a {
                CallArg::Pos(e) => self.print(e, out)?,
                CallArg::Kwarg(k, e) => {
                    out.push_str(k);
                    out.push('=');
                    self.print(e, out)?;
                }
                CallArg::PosSplat(e) => {
                    out.push('*');
                    self.print(e, out)?;
                }
                CallArg::KwargSplat(e) => {
                    out.push_str("**");
                    self.print(e, out)?;
                }
            }
        }
        out.push(')');
        Ok(())
    }

    fn call(&self, name: &str, parts: &[&PrintPart], out: &mut String) -> Result<(), ()> {
        out.push_str(name);
        out.push('(');
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            p(out)?;
        }
        out.push(')');
        Ok(())
    }
}

fn binop_symbol(op: &BinOpKind) -> &'static str {
    match op {
        BinOpKind::Eq => "==",
        BinOpKind::Ne => "!=",
        BinOpKind::Lt => "<",
        BinOpKind::Lte => "<=",
        BinOpKind::Gt => ">",
        BinOpKind::Gte => ">=",
        BinOpKind::ScAnd => "and",
        BinOpKind::ScOr => "or",
        BinOpKind::Add => "+",
        BinOpKind::Sub => "-",
        BinOpKind::Mul => "*",
        BinOpKind::Div => "/",
        BinOpKind::FloorDiv => "//",
        BinOpKind::Rem => "%",
        BinOpKind::Pow => "**",
        BinOpKind::Concat => "~",
        BinOpKind::In => "in",
    }
}

fn compare_symbol(op: &CompareOpKind) -> &'static str {
    match op {
        CompareOpKind::Eq => "==",
        CompareOpKind::Ne => "!=",
        CompareOpKind::Lt => "<",
        CompareOpKind::Lte => "<=",
        CompareOpKind::Gt => ">",
        CompareOpKind::Gte => ">=",
        CompareOpKind::In => "in",
        CompareOpKind::NotIn => "not in",
    }
}

impl Printer<'_> {
    /// Prints the tree back, every compound node parenthesised.
    fn print(&self, e: &Expr, out: &mut String) -> Result<(), ()> {
        if matches!(
            e,
            Expr::GetAttr(_) | Expr::GetItem(_) | Expr::Call(_) | Expr::Slice(_)
        ) && self.strip.get() == 0
        {
            if let Some(neg) = negated_base(e) {
                // `--x.y` is `-(-(x.y))`: hoist every minus stacked on the base.
                let mut depth = 0;
                let mut cur = neg;
                while let Expr::UnaryOp(u) = cur {
                    if !matches!(u.op, UnaryOpKind::Neg) {
                        break;
                    }
                    depth += 1;
                    cur = &u.expr;
                }
                self.strip.set(neg as *const Expr as usize);
                out.push('(');
                for _ in 0..depth {
                    out.push_str(NEG);
                    out.push('(');
                }
                let r = self.print(e, out);
                self.strip.set(0);
                r?;
                for _ in 0..depth {
                    out.push(')');
                }
                out.push(')');
                return Ok(());
            }
        }
        match e {
            Expr::UnaryOp(u) if self.strip.get() == e as *const Expr as usize => {
                self.strip.set(0);
                let mut inner = &u.expr;
                while let Expr::UnaryOp(n) = inner {
                    if !matches!(n.op, UnaryOpKind::Neg) {
                        break;
                    }
                    inner = &n.expr;
                }
                self.print(inner, out)?;
            }
            Expr::Var(v) => out.push_str(v.id),
            Expr::Const(c) => print_const(&c.value, out)?,
            Expr::Slice(s) => {
                out.push_str(SLICED);
                out.push('(');
                self.print(&s.expr, out)?;
                for x in [&s.start, &s.stop, &s.step] {
                    out.push_str(", ");
                    match x {
                        Some(x) => self.print(x, out)?,
                        None => out.push_str("none"),
                    }
                }
                out.push(')');
            }
            Expr::UnaryOp(u) => match u.op {
                UnaryOpKind::Not => {
                    out.push_str("(not ");
                    self.print(&u.expr, out)?;
                    out.push(')');
                }
                UnaryOpKind::Neg if matches!(&u.expr, Expr::Const(c) if c.value.kind() == ValueKind::Number) =>
                {
                    out.push_str("(-");
                    self.print(&u.expr, out)?;
                    out.push(')');
                }
                UnaryOpKind::Neg => {
                    self.call(NEG, &[&|o: &mut String| self.print(&u.expr, o)], out)?;
                }
            },
            Expr::BinOp(b) => {
                let name = match b.op {
                    BinOpKind::Lt | BinOpKind::Lte | BinOpKind::Gt | BinOpKind::Gte => {
                        let sym = binop_symbol(&b.op);
                        return self.call(
                            CMP,
                            &[
                                &|o: &mut String| self.print(&b.left, o),
                                &|o: &mut String| {
                                    o.push_str(&format!("{sym:?}"));
                                    Ok(())
                                },
                                &|o: &mut String| self.print(&b.right, o),
                            ],
                            out,
                        );
                    }
                    BinOpKind::Concat => Some(CONCAT),
                    BinOpKind::Pow => Some(POW),
                    BinOpKind::Mul => Some(MUL),
                    BinOpKind::In => {
                        out.push('(');
                        self.print(&b.left, out)?;
                        out.push_str(" in ");
                        self.call(
                            IN_CHECK,
                            &[
                                &|o: &mut String| self.print(&b.left, o),
                                &|o: &mut String| self.print(&b.right, o),
                            ],
                            out,
                        )?;
                        out.push(')');
                        return Ok(());
                    }
                    _ => None,
                };
                match name {
                    Some(n) => self.call(
                        n,
                        &[
                            &|o: &mut String| self.print(&b.left, o),
                            &|o: &mut String| self.print(&b.right, o),
                        ],
                        out,
                    )?,
                    None => {
                        let logical = matches!(b.op, BinOpKind::ScAnd | BinOpKind::ScOr);
                        let operand = |x: &Expr, out: &mut String| -> Result<(), ()> {
                            if logical && matches!(x, Expr::Const(_)) {
                                self.call(SAME, &[&|o: &mut String| self.print(x, o)], out)
                            } else {
                                self.print(x, out)
                            }
                        };
                        out.push('(');
                        operand(&b.left, out)?;
                        out.push(' ');
                        out.push_str(binop_symbol(&b.op));
                        out.push(' ');
                        operand(&b.right, out)?;
                        out.push(')');
                    }
                }
            }
            Expr::Compare(c) => {
                if c.ops.iter().all(|o| is_ordering(&o.op)) {
                    out.push_str(CMP);
                    out.push('(');
                    self.print(&c.expr, out)?;
                    for o in &c.ops {
                        out.push_str(&format!(", {:?}, ", compare_symbol(&o.op)));
                        self.print(&o.expr, out)?;
                    }
                    out.push(')');
                } else {
                    out.push('(');
                    self.print(&c.expr, out)?;
                    for o in &c.ops {
                        out.push(' ');
                        out.push_str(compare_symbol(&o.op));
                        out.push(' ');
                        self.print(&o.expr, out)?;
                    }
                    out.push(')');
                }
            }
            Expr::IfExpr(i) => {
                out.push('(');
                self.print(&i.true_expr, out)?;
                out.push_str(" if ");
                self.print(&i.test_expr, out)?;
                out.push_str(" else ");
                match &i.false_expr {
                    Some(x) => self.print(x, out)?,
                    None => {
                        out.push_str(COND_UNDEFINED);
                        out.push_str("()");
                    }
                }
                out.push(')');
            }
            Expr::Filter(x) => {
                out.push('(');
                self.print(x.expr.as_ref().ok_or(())?, out)?;
                out.push('|');
                out.push_str(x.name);
                if !x.args.is_empty() {
                    self.print_args(&x.args, out)?;
                }
                out.push(')');
            }
            Expr::Test(t) => {
                out.push('(');
                self.print(&t.expr, out)?;
                out.push_str(" is ");
                out.push_str(t.name);
                if !t.args.is_empty() {
                    self.print_args(&t.args, out)?;
                }
                out.push(')');
            }
            Expr::GetAttr(g) => {
                self.print(&g.expr, out)?;
                out.push('.');
                out.push_str(g.name);
            }
            Expr::GetItem(g) => {
                self.print(&g.expr, out)?;
                out.push('[');
                self.print(&g.subscript_expr, out)?;
                out.push(']');
            }
            Expr::Call(c) => {
                self.print(&c.expr, out)?;
                self.print_args(&c.args, out)?;
            }
            Expr::List(l) if is_tuple_literal(l, self.src) => {
                out.push_str(TUPLE);
                out.push('(');
                for (i, x) in l.items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.print(x, out)?;
                }
                out.push(')');
            }
            Expr::List(l) => {
                out.push('[');
                for (i, x) in l.items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.print(x, out)?;
                }
                out.push(']');
            }
            Expr::Map(m) => {
                out.push('{');
                for (i, (k, v)) in m.keys.iter().zip(m.values.iter()).enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.print(k, out)?;
                    out.push_str(": ");
                    self.print(v, out)?;
                }
                out.push('}');
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::rewrite_expression;
    use crate::expr::{Evaluator, NoData};
    use serde_json::{json, Value};

    fn eval(expr: &str) -> Result<Value, String> {
        let ctx = json!({"l": [3, 1, 2], "s": "abc", "n": 5, "t": [1, 2]});
        Evaluator::new()
            .evaluate_str(&format!("{{{{ {expr} }}}}"), &ctx, &NoData)
            .map_err(|e| e.detail)
    }

    #[test]
    fn expressions_without_python_specific_operators_are_not_rewritten() {
        assert_eq!(rewrite_expression("_.l | map('string') | list"), None);
        assert_eq!(rewrite_expression("1 +"), None);
    }

    #[test]
    fn rewrite_keeps_the_parse_tree_of_everything_else() {
        let r =
            rewrite_expression("-2 ** 2 if x is divisibleby(3) else f(a, k=1, *b, **c)|d").unwrap();
        assert_eq!(
            r,
            "(__mistral_rs_py_pow((-2), 2) if (x is divisibleby(3)) else (f(a, k=1, *b, **c)|d))"
        );
        assert_eq!(
            rewrite_expression("not a < b < c").unwrap(),
            "(not __mistral_rs_py_cmp(a, \"<\", b, \"<\", c))"
        );
    }

    #[test]
    fn ordering_between_unorderable_types_raises_pythons_type_error() {
        assert_eq!(
            eval("1 >= 'a'"),
            Err("'>=' not supported between instances of 'int' and 'str'".into())
        );
        assert_eq!(
            eval("none < 1"),
            Err("'<' not supported between instances of 'NoneType' and 'int'".into())
        );
        assert_eq!(eval("true > 0.5"), Ok(json!(true)));
        assert_eq!(eval("-3 < true"), Ok(json!(true)));
        assert_eq!(eval("[1, 2] < [1, 3]"), Ok(json!(true)));
        assert_eq!(eval("3 < 2 < 'a'"), Ok(json!(false)));
    }

    #[test]
    fn tuple_literals_stay_tuples_and_slices_are_lists() {
        assert_eq!(eval("'a' ~ (1, 2)"), Ok(json!("a(1, 2)")));
        assert_eq!(eval("(1,) ~ ''"), Ok(json!("(1,)")));
        assert_eq!(eval("_.l[1:] ~ ''"), Ok(json!("[1, 2]")));
        assert_eq!(eval("_.s[::-1]"), Ok(json!("cba")));
        assert_eq!(eval("_.l[1:2:0]"), Err("slice step cannot be zero".into()));
    }

    #[test]
    fn and_or_over_literals_return_the_deciding_operand() {
        assert_eq!(eval("none and 1"), Ok(json!(null)));
        assert_eq!(eval("0 and 1"), Ok(json!(0)));
        assert_eq!(eval("'' or []"), Ok(json!([])));
        assert_eq!(eval("1 and 'x'"), Ok(json!("x")));
    }

    #[test]
    fn unary_minus_binds_looser_than_attribute_access_and_calls() {
        assert_eq!(eval("-_.n"), Ok(json!(-5)));
        assert_eq!(eval("-_.l[0] + 1"), Ok(json!(-2)));
        assert_eq!(eval("-_.n | abs"), Ok(json!(5)));
        assert_eq!(eval("--_.n"), Ok(json!(5)));
        assert_eq!(eval("-true"), Ok(json!(-1)));
        assert_eq!(eval("+true"), Ok(json!(1)));
        assert_eq!(eval("1 + +2"), Ok(json!(3)));
        assert!(eval("+_.s").is_err());
        assert_eq!(
            rewrite_expression("-x.y(1)[0]").unwrap(),
            "(__mistral_rs_py_neg(x.y(1)[0]))"
        );
    }

    #[test]
    fn repetition_and_membership_follow_python() {
        assert_eq!(eval("[1] * -1"), Ok(json!([])));
        assert_eq!(eval("-1 * 'ab'"), Ok(json!("")));
        assert_eq!(eval("(1,) * 2 ~ ''"), Ok(json!("(1, 1)")));
        assert_eq!(
            eval("'a' * 2.0"),
            Err("can't multiply sequence by non-int of type 'float'".into())
        );
        assert_eq!(eval("2 * 3.5"), Ok(json!(7.0)));
        assert_eq!(
            eval("1 not in 'abc'"),
            Err("'in <string>' requires string as left operand, not int".into())
        );
        assert_eq!(eval("'b' in 'abc'"), Ok(json!(true)));
        assert_eq!(eval("3 in _.l"), Ok(json!(true)));
    }

    #[test]
    fn concat_and_pow_follow_python() {
        assert_eq!(eval("'x' ~ [1, 'a']"), Ok(json!("x[1, 'a']")));
        assert_eq!(eval("'x' ~ {'k': none}"), Ok(json!("x{'k': None}")));
        assert_eq!(eval("2 ** -1"), Ok(json!(0.5)));
        assert_eq!(eval("2 ** 10"), Ok(json!(1024)));
        assert_eq!(
            eval("0 ** -1"),
            Err("0.0 cannot be raised to a negative power".into())
        );
    }
}

#[cfg(test)]
mod template_tests {
    use super::rewrite_template;
    use crate::expr::{Evaluator, NoData};
    use serde_json::json;

    #[test]
    fn template_expressions_get_python_operators_and_keep_whitespace_control() {
        assert_eq!(
            rewrite_template("a {{ b }} c {% if x %}{{ y }}{% endif %}"),
            None
        );
        assert_eq!(
            rewrite_template("a {{- (1, 2) -}} b").unwrap(),
            "a {{- __mistral_rs_py_tuple(1, 2) -}} b"
        );
        let ev = Evaluator::new();
        let ctx = json!({"l": [1, 2]});
        assert_eq!(
            ev.evaluate_str(
                "{% for x in _.l %}{{ x ~ (x,) }};{% endfor %} {{ 2 ** -1 }}",
                &ctx,
                &NoData
            )
            .unwrap(),
            json!("1(1,);2(2,); 0.5")
        );
        assert!(ev.evaluate_str("x {{ 1 < 'a' }}", &ctx, &NoData).is_err());
        assert!(ev
            .evaluate_str("{% if 1 < 'a' %}x{% endif %}", &ctx, &NoData)
            .is_err());
        assert_eq!(
            ev.evaluate_str(
                "{% set t = (1, 2) %}{% if none and 1 %}a{% elif t < (1, 3) %}{{ t }}{% endif %}",
                &ctx,
                &NoData
            )
            .unwrap(),
            json!("(1, 2)")
        );
    }
}
