//! The evaluator: scopes, lambdas, function/method dispatch and operators.

use std::any::Any;
use std::rc::Rc;
use std::sync::Arc;

use crate::parser::{Arg, Expr, Op};
use crate::pyfmt;
use crate::stdlib;
use crate::value::{py_cmp, Map, V};
use crate::{Call, Engine, Error, ErrorKind};

pub type R<T> = Result<T, Error>;

pub fn eval_err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Evaluation, msg)
}

pub fn limit_err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Limit, msg)
}

pub fn nofunc(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::NoFunction, msg)
}

/// A variable scope (yaql context). `$` is stored under the empty name.
pub struct Scope<'e> {
    vars: Vec<(Arc<str>, V)>,
    funcs: Vec<(Arc<str>, &'e Expr, Rc<Scope<'e>>)>,
    parent: Option<Rc<Scope<'e>>>,
}

impl<'e> Scope<'e> {
    pub fn root(data: V) -> Rc<Scope<'e>> {
        Rc::new(Scope {
            vars: vec![(Arc::from(""), data)],
            funcs: vec![],
            parent: None,
        })
    }

    pub fn child(parent: &Rc<Scope<'e>>, vars: Vec<(Arc<str>, V)>) -> Rc<Scope<'e>> {
        Rc::new(Scope {
            vars,
            funcs: vec![],
            parent: Some(parent.clone()),
        })
    }

    fn get(&self, name: &str) -> Option<&V> {
        let mut s = self;
        loop {
            for (k, v) in s.vars.iter().rev() {
                if k.as_ref() == name {
                    return Some(v);
                }
            }
            match &s.parent {
                Some(p) => s = p,
                None => return None,
            }
        }
    }

    /// A `def` function visible from `this`, with the scope that defines it (so the body can
    /// call itself recursively).
    fn func(this: &Rc<Scope<'e>>, name: &str) -> Option<(&'e Expr, Rc<Scope<'e>>)> {
        let mut s = this.clone();
        loop {
            for (k, e, _) in s.funcs.iter().rev() {
                if k.as_ref() == name {
                    return Some((*e, s.clone()));
                }
            }
            let next = s.parent.clone()?;
            s = next;
        }
    }
}

/// Description of one call of a builtin.
pub struct CallInfo<'e> {
    pub name: &'e str,
    pub method: bool,
    pub recv: Option<V>,
    pub args: &'e [Arg],
}

impl CallInfo<'_> {
    pub fn nomatch(&self) -> Error {
        match &self.recv {
            Some(r) if self.method => nofunc(format!(
                "No method \"{}\" for receiver {} matches supplied arguments",
                self.name,
                pyfmt::py_str(r)
            )),
            _ => nofunc(format!(
                "No function \"{}\" matches supplied arguments",
                self.name
            )),
        }
    }
}

/// An argument slot after binding.
pub enum Slot<'e> {
    Missing,
    Val(V),
    Lazy(&'e Expr),
}

pub struct Ev<'e> {
    pub engine: &'e Engine,
    pub data: &'e serde_json::Value,
    pub user: &'e (dyn Any + Send + Sync),
    pub depth: usize,
}

impl<'e> Ev<'e> {
    pub fn eval(&mut self, sc: &Rc<Scope<'e>>, e: &'e Expr) -> R<V> {
        self.depth += 1;
        if self.depth > crate::MAX_EVAL_DEPTH {
            self.depth -= 1;
            return Err(limit_err("maximum recursion depth exceeded"));
        }
        // grow the stack on demand so deep (but within-limit) nesting never overflows a small
        // thread stack
        let r = stacker::maybe_grow(128 * 1024, 2 * 1024 * 1024, || self.eval_inner(sc, e));
        self.depth -= 1;
        r
    }

    fn eval_inner(&mut self, sc: &Rc<Scope<'e>>, e: &'e Expr) -> R<V> {
        match e {
            Expr::Const(v) => Ok(v.clone()),
            Expr::BigInt(t) => Err(limit_err(format!("integer literal {t} exceeds 64 bits"))),
            Expr::Keyword(k) => Ok(V::Str(k.clone())),
            Expr::Var(name) => Ok(sc.get(name).cloned().unwrap_or(V::Null)),
            Expr::Call { name, args } => self.call(sc, name, None, args),
            Expr::Method {
                recv,
                name,
                args,
                safe,
            } if !*safe && (name.as_ref() == "thenBy" || name.as_ref() == "thenByDescending") => {
                self.then_by_chain(sc, e)
            }
            Expr::Method {
                recv,
                name,
                args,
                safe,
            } => {
                let r = self.eval(sc, recv)?;
                if *safe && matches!(r, V::Null) {
                    return Ok(V::Null);
                }
                if name.as_ref() == "len" && is_ordering(recv) {
                    // orderBy() returns an OrderingIterable, which has no len()
                    return Err(nofunc("No method \"len\" for receiver <yaql.standard_library.queries.OrderingIterable object> matches supplied arguments".to_string()));
                }
                self.call(sc, name, Some(r), args)
            }
            Expr::Member { recv, name, safe } => {
                let r = self.eval(sc, recv)?;
                if *safe && matches!(r, V::Null) {
                    return Ok(V::Null);
                }
                self.member(r, name)
            }
            Expr::DotExpr { recv, safe, .. } => {
                // yaql only accepts a method call or a keyword after '.'
                let r = self.eval(sc, recv)?;
                if *safe && matches!(r, V::Null) {
                    return Ok(V::Null);
                }
                Err(nofunc(format!(
                    "No function \"{}\" matches supplied arguments",
                    if *safe { "#operator_?." } else { "#operator_." }
                )))
            }
            Expr::Index { target, args } => {
                let t = self.eval(sc, target)?;
                let mut vals = Vec::with_capacity(args.len());
                for a in args.iter() {
                    match a {
                        Arg::Pos(x) => vals.push(self.eval(sc, x)?),
                        _ => {
                            return Err(nofunc(
                                "No function \"#indexer\" matches supplied arguments",
                            ))
                        }
                    }
                }
                index(t, vals)
            }
            Expr::List(args) => {
                let mut out = Vec::with_capacity(args.len());
                for a in args.iter() {
                    match a {
                        Arg::Pos(x) => out.push(self.eval(sc, x)?),
                        Arg::Empty => {
                            return Err(eval_err(
                                "Object of type MarkerClass is not JSON serializable",
                            ))
                        }
                        Arg::Named(k, x) => {
                            let v = self.eval(sc, x)?;
                            out.push(V::list(vec![V::Str(k.clone()), v]))
                        }
                        Arg::Mapping(k, x) => {
                            let k = self.eval(sc, k)?;
                            let v = self.eval(sc, x)?;
                            out.push(V::list(vec![k, v]))
                        }
                    }
                }
                Ok(V::list(out))
            }
            Expr::Map(args) => {
                let mut m = Map::with_capacity(args.len());
                for a in args.iter() {
                    match a {
                        Arg::Named(k, x) => {
                            let v = self.eval(sc, x)?;
                            m.insert(V::Str(k.clone()), v);
                        }
                        Arg::Mapping(k, x) => {
                            let k = self.eval(sc, k)?;
                            let v = self.eval(sc, x)?;
                            check_hashable(&k)?;
                            m.insert(k, v);
                        }
                        _ => return Err(nofunc("No function \"#map\" matches supplied arguments")),
                    }
                }
                Ok(V::dict(m))
            }
            Expr::Unary(op, x) => {
                let v = self.eval(sc, x)?;
                unary(*op, v)
            }
            Expr::Binary(Op::And, a, b) => {
                let l = self.eval(sc, a)?;
                if !l.truthy() {
                    return Ok(l);
                }
                self.eval(sc, b)
            }
            Expr::Binary(Op::Or, a, b) => {
                let l = self.eval(sc, a)?;
                if l.truthy() {
                    return Ok(l);
                }
                self.eval(sc, b)
            }
            Expr::Binary(Op::Arrow, a, b) => {
                let ctx = self.context_of(sc, a)?;
                self.eval(&ctx, b)
            }
            Expr::Binary(op, a, b) => {
                // yaql rejects an overload on literal operands before evaluating anything
                if !static_operand_ok(*op, a, true) || !static_operand_ok(*op, b, false) {
                    return Err(nomatch_op(*op));
                }
                let l = self.eval(sc, a)?;
                let r = self.eval(sc, b)?;
                binary(*op, l, r)
            }
        }
    }

    /// `c.orderBy(f).thenBy(g)...`: one stable sort over all keys.
    fn then_by_chain(&mut self, sc: &Rc<Scope<'e>>, e: &'e Expr) -> R<V> {
        let mut keys: Vec<(&'e Expr, bool)> = vec![];
        let mut cur = e;
        loop {
            match cur {
                Expr::Method {
                    recv,
                    name,
                    args,
                    safe: false,
                } if matches!(
                    name.as_ref(),
                    "thenBy" | "thenByDescending" | "orderBy" | "orderByDescending"
                ) =>
                {
                    let sel = match &args[..] {
                        [Arg::Pos(x)] => x,
                        [Arg::Named(k, x)] if k.as_ref() == "selector" => x,
                        _ => {
                            return Err(nofunc(format!(
                                "No method \"{}\" matches supplied arguments",
                                name
                            )))
                        }
                    };
                    keys.push((sel, name.ends_with("Descending")));
                    if name.starts_with("orderBy") {
                        keys.reverse();
                        let base = self.eval(sc, recv)?;
                        if !base.is_iterable() {
                            return Err(nofunc(format!(
                                "No method \"{}\" for receiver {} matches supplied arguments",
                                name,
                                pyfmt::py_str(&base)
                            )));
                        }
                        let items = self.items(&base)?;
                        return stdlib::multi_sort(self, sc, items, &keys);
                    }
                    cur = recv;
                }
                other => {
                    let v = self.eval(sc, other)?;
                    return Err(nofunc(format!(
                        "No method \"thenBy\" for receiver {} matches supplied arguments",
                        pyfmt::py_str(&v)
                    )));
                }
            }
        }
    }

    /// The left side of `->`: `let`, `with`, `def`, `unpack` produce a new scope.
    fn context_of(&mut self, sc: &Rc<Scope<'e>>, e: &'e Expr) -> R<Rc<Scope<'e>>> {
        match e {
            Expr::Call { name, args } if name.as_ref() == "let" || name.as_ref() == "with" => {
                let mut vars: Vec<(Arc<str>, V)> = vec![];
                let mut n = 0;
                for a in args.iter() {
                    match a {
                        Arg::Pos(x) => {
                            let v = self.eval(sc, x)?;
                            n += 1;
                            vars.push((pos_name(n), v));
                        }
                        Arg::Named(k, x) if name.as_ref() == "let" => {
                            let v = self.eval(sc, x)?;
                            vars.push((k.clone(), v));
                        }
                        _ => {
                            return Err(nofunc(format!(
                                "No function \"{}\" matches supplied arguments",
                                name
                            )))
                        }
                    }
                }
                Ok(Scope::child(sc, vars))
            }
            Expr::Call { name, args } if name.as_ref() == "def" => {
                let (fname, body) = match &args[..] {
                    [Arg::Pos(n), Arg::Pos(b)] => (self.eval(sc, n)?, b),
                    _ => return Err(nofunc("No function \"def\" matches supplied arguments")),
                };
                let V::Str(fname) = fname else {
                    return Err(nofunc("No function \"def\" matches supplied arguments"));
                };
                let mut s = Scope {
                    vars: vec![],
                    funcs: vec![],
                    parent: Some(sc.clone()),
                };
                s.funcs.push((fname, body, sc.clone()));
                Ok(Rc::new(s))
            }
            Expr::Method {
                recv, name, args, ..
            } if name.as_ref() == "unpack" => {
                let seq = self.eval(sc, recv)?;
                if !seq.is_iterable() {
                    return Err(nofunc(format!(
                        "No method \"unpack\" for receiver {} matches supplied arguments",
                        pyfmt::py_str(&seq)
                    )));
                }
                let items = self.items(&seq)?;
                let mut names = vec![];
                for a in args.iter() {
                    match a {
                        Arg::Pos(x) => match self.eval(sc, x)? {
                            V::Str(s) => names.push(s),
                            _ => {
                                return Err(nofunc(
                                    "No method \"unpack\" matches supplied arguments",
                                ))
                            }
                        },
                        _ => return Err(nofunc("No method \"unpack\" matches supplied arguments")),
                    }
                }
                let mut vars = vec![];
                if names.is_empty() {
                    for (i, v) in items.into_iter().enumerate() {
                        vars.push((pos_name(i + 1), v));
                    }
                } else {
                    if names.len() != items.len() {
                        return Err(eval_err(format!(
                            "Cannot unpack {} elements into {}",
                            items.len().min(names.len() + 1),
                            names.len()
                        )));
                    }
                    for (k, v) in names.into_iter().zip(items) {
                        vars.push((k, v));
                    }
                }
                Ok(Scope::child(sc, vars))
            }
            Expr::Binary(Op::Arrow, a, b) => {
                let inner = self.context_of(sc, a)?;
                self.context_of(&inner, b)
            }
            other => {
                self.eval(sc, other)?;
                Err(nofunc(
                    "No function \"#operator_->\" matches supplied arguments",
                ))
            }
        }
    }

    /// Evaluates a lambda argument with `$`/`$1`, `$2`, ... bound.
    pub fn lambda(&mut self, sc: &Rc<Scope<'e>>, body: &'e Expr, args: &[V]) -> R<V> {
        let mut vars = Vec::with_capacity(args.len());
        for (i, a) in args.iter().enumerate() {
            vars.push((pos_name(i + 1), a.clone()));
        }
        let child = Scope::child(sc, vars);
        self.eval(&child, body)
    }

    fn member(&mut self, r: V, name: &str) -> R<V> {
        match &r {
            V::Dict(d) => match d.get(&V::str(name)) {
                Some(v) => Ok(v.clone()),
                None => Err(eval_err(pyfmt::str_repr(name))),
            },
            V::List(_) | V::Set(_) | V::Gen(_) | V::Iter(_) => {
                let items = self.items(&r)?;
                let mut out = Vec::with_capacity(items.len());
                for it in items {
                    out.push(self.member(it, name)?);
                }
                Ok(V::iter(out))
            }
            _ => stdlib::property(&r, name),
        }
    }

    pub fn items(&mut self, v: &V) -> R<Vec<V>> {
        match v {
            V::List(l) | V::Iter(l) => Ok(l.as_ref().clone()),
            V::Set(s) => Ok(s.iter().cloned().collect()),
            V::Gen(g) => stdlib::gen_take(g, None),
            _ => Err(eval_err(format!(
                "'{}' object is not iterable",
                v.type_name()
            ))),
        }
    }

    /// Binds call arguments to parameter names. `spec` entries: plain name = eager value,
    /// `&name` = lambda (lazy), `*name` = rest of positionals (eager, collected into a list).
    pub fn bind(
        &mut self,
        sc: &Rc<Scope<'e>>,
        c: &CallInfo<'e>,
        spec: &[&str],
    ) -> R<Vec<Slot<'e>>> {
        let mut out: Vec<Slot<'e>> = spec.iter().map(|_| Slot::Missing).collect();
        let mut pi = 0;
        let mut rest: Option<Vec<V>> = None;
        if let Some(r) = &c.recv {
            if spec.is_empty() {
                return Err(c.nomatch());
            }
            if spec[0].starts_with('*') {
                rest = Some(vec![r.clone()]);
            } else {
                out[0] = Slot::Val(r.clone());
                pi = 1;
            }
        }
        for a in c.args.iter() {
            match a {
                Arg::Pos(_) | Arg::Empty if pi < spec.len() => {
                    let p = spec[pi];
                    if let Some(_r) = p.strip_prefix('*') {
                        let v = match a {
                            Arg::Pos(x) => self.eval(sc, x)?,
                            _ => V::Null,
                        };
                        rest.get_or_insert_with(Vec::new).push(v);
                        continue;
                    }
                    let Arg::Pos(x) = a else {
                        pi += 1;
                        continue;
                    };
                    out[pi] = if p.starts_with('&') {
                        Slot::Lazy(x)
                    } else {
                        Slot::Val(self.eval(sc, x)?)
                    };
                    pi += 1;
                }
                Arg::Pos(_) | Arg::Empty => return Err(c.nomatch()),
                Arg::Named(k, x) => {
                    let idx = spec.iter().position(|p| {
                        let p = p.trim_start_matches(['&', '*']);
                        p == k.as_ref()
                    });
                    match idx {
                        Some(i) if !spec[i].starts_with('*') && matches!(out[i], Slot::Missing) => {
                            out[i] = if spec[i].starts_with('&') {
                                Slot::Lazy(x)
                            } else {
                                Slot::Val(self.eval(sc, x)?)
                            };
                        }
                        _ => return Err(c.nomatch()),
                    }
                }
                Arg::Mapping(..) => return Err(c.nomatch()),
            }
        }
        if let Some(i) = spec.iter().position(|p| p.starts_with('*')) {
            out[i] = Slot::Val(V::list(rest.unwrap_or_default()));
        }
        Ok(out)
    }

    pub fn call(
        &mut self,
        sc: &Rc<Scope<'e>>,
        name: &'e str,
        recv: Option<V>,
        args: &'e [Arg],
    ) -> R<V> {
        // user functions from def()
        if recv.is_none() {
            if let Some((body, dsc)) = Scope::func(sc, name) {
                let mut vals = vec![];
                for a in args.iter() {
                    match a {
                        Arg::Pos(x) => vals.push(self.eval(sc, x)?),
                        _ => {
                            return Err(nofunc(format!(
                                "No function \"{}\" matches supplied arguments",
                                name
                            )))
                        }
                    }
                }
                return self.lambda(&dsc, body, &vals);
            }
        }
        if let Some(h) = self.engine.host.get(name) {
            let h = h.clone();
            let mut pos = vec![];
            if let Some(r) = &recv {
                pos.push(r.to_json(0)?);
            }
            let mut kwargs = vec![];
            for a in args.iter() {
                match a {
                    Arg::Pos(x) => pos.push(self.eval(sc, x)?.to_json(0)?),
                    Arg::Empty => pos.push(serde_json::Value::Null),
                    Arg::Named(k, x) => kwargs.push((k.to_string(), self.eval(sc, x)?.to_json(0)?)),
                    Arg::Mapping(k, x) => {
                        let k = self.eval(sc, k)?;
                        let V::Str(k) = k else {
                            return Err(nofunc(format!(
                                "No function \"{}\" matches supplied arguments",
                                name
                            )));
                        };
                        kwargs.push((k.to_string(), self.eval(sc, x)?.to_json(0)?))
                    }
                }
            }
            let call = Call {
                args: pos,
                kwargs,
                data: self.data,
                user: self.user,
            };
            let out = h(&call)?;
            return V::from_json(&out, 0);
        }
        let method = recv.is_some();
        match stdlib::lookup(name) {
            Some((f, kind)) => {
                let ok = if method {
                    kind != stdlib::Kind::F
                } else {
                    kind != stdlib::Kind::M
                };
                if !ok {
                    return Err(unknown(name, recv.as_ref()));
                }
                let c = CallInfo {
                    name,
                    method,
                    recv,
                    args,
                };
                f(self, sc, &c)
            }
            None => Err(unknown(name, recv.as_ref())),
        }
    }
}

fn is_ordering(e: &Expr) -> bool {
    matches!(e, Expr::Method { name, .. }
        if matches!(name.as_ref(), "orderBy" | "orderByDescending" | "thenBy" | "thenByDescending" | "values"))
}

fn unknown(name: &str, recv: Option<&V>) -> Error {
    match recv {
        Some(r) => nofunc(format!(
            "Unknown method \"{}\" for receiver {}",
            name,
            pyfmt::py_str(r)
        )),
        None => nofunc(format!("Unknown function \"{}\"", name)),
    }
}

pub fn pos_name(i: usize) -> Arc<str> {
    match i {
        1 => Arc::from(""),
        _ => Arc::from(i.to_string().as_str()),
    }
}

pub fn check_hashable(v: &V) -> R<()> {
    match v {
        V::List(l) => {
            for x in l.iter() {
                check_hashable(x)?;
            }
            Ok(())
        }
        V::Dict(_) | V::Set(_) | V::Gen(_) => Ok(()),
        _ => Ok(()),
    }
}

pub fn index(t: V, vals: Vec<V>) -> R<V> {
    let nm = || nofunc("No function \"#indexer\" matches supplied arguments");
    match (&t, vals.len()) {
        (V::List(l), 1) => match &vals[0] {
            V::Int(i) => {
                let n = l.len() as i64;
                let j = if *i < 0 { i + n } else { *i };
                if j < 0 || j >= n {
                    Err(eval_err("tuple index out of range"))
                } else {
                    Ok(l[j as usize].clone())
                }
            }
            V::Bool(b) => {
                let j = *b as usize;
                l.get(j)
                    .cloned()
                    .ok_or_else(|| eval_err("tuple index out of range"))
            }
            _ => Err(nm()),
        },
        (V::Dict(d), 1) => d
            .get(&vals[0])
            .cloned()
            .ok_or_else(|| eval_err(pyfmt::py_repr(&vals[0]))),
        (V::Dict(d), 2) => Ok(d.get(&vals[0]).cloned().unwrap_or_else(|| vals[1].clone())),
        _ => Err(nm()),
    }
}

/// Whether a literal operand (number, string, keyword, true/false/null) can match some overload
/// of the operator: yaql rejects the call on literals before evaluating anything. Other
/// operands are checked after evaluation.
fn static_operand_ok(op: Op, e: &Expr, left: bool) -> bool {
    let (is_str, is_num) = match e {
        Expr::Keyword(_) => (true, false),
        Expr::Const(v) => (matches!(v, V::Str(_)), matches!(v, V::Int(_) | V::Float(_))),
        _ => return true,
    };
    match op {
        Op::Add => is_num || is_str,
        Op::Sub | Op::Div | Op::Mod => is_num,
        Op::Match | Op::NotMatch => is_str || !left && !is_num && !matches!(e, Expr::Const(_)),
        _ => true,
    }
}

fn nomatch_op(op: Op) -> Error {
    nofunc(format!(
        "No function \"{}\" matches supplied arguments",
        op.name()
    ))
}

fn int_overflow() -> Error {
    limit_err("integer result out of the supported range")
}

pub fn unary(op: Op, v: V) -> R<V> {
    match (op, &v) {
        (Op::Not, _) => Ok(V::Bool(!v.truthy())),
        (Op::Neg, V::Int(i)) => i.checked_neg().map(V::Int).ok_or_else(int_overflow),
        (Op::Neg, V::Float(f)) => Ok(V::Float(-f)),
        (Op::Neg, V::TimeSpan(t)) => Ok(V::TimeSpan(-t)),
        (Op::Pos, V::Int(_) | V::Float(_) | V::TimeSpan(_)) => Ok(v),
        _ => Err(nomatch_op(op)),
    }
}

pub fn floordiv(a: i64, b: i64) -> R<i64> {
    if b == 0 {
        return Err(eval_err("integer division or modulo by zero"));
    }
    let q = a.checked_div(b).ok_or_else(int_overflow)?;
    Ok(if (a % b != 0) && ((a < 0) != (b < 0)) {
        q - 1
    } else {
        q
    })
}

pub fn py_fmod(a: f64, b: f64) -> R<f64> {
    if b == 0.0 {
        return Err(eval_err("float modulo"));
    }
    let m = a % b;
    Ok(if m != 0.0 && ((m < 0.0) != (b < 0.0)) {
        m + b
    } else {
        m
    })
}

fn repeat_str(s: &str, n: i64) -> R<V> {
    if n <= 0 {
        return Ok(V::str(""));
    }
    let total = (s.len() as u128) * (n as u128);
    if total > crate::MAX_STRING as u128 {
        return Err(limit_err("string result exceeds the size limit"));
    }
    Ok(V::string(s.repeat(n as usize)))
}

fn repeat_list(l: &[V], n: i64) -> R<V> {
    if n <= 0 {
        return Ok(V::list(vec![]));
    }
    let total = (l.len() as u128) * (n as u128);
    if total > crate::MAX_ITEMS as u128 {
        return Err(limit_err("collection exceeds the size limit"));
    }
    let mut out = Vec::with_capacity(total as usize);
    for _ in 0..n {
        out.extend(l.iter().cloned());
    }
    Ok(V::list(out))
}

pub fn compare(op: Op, l: &V, r: &V) -> R<bool> {
    // null handling: null is lower than anything
    match (l, r) {
        (V::Null, V::Null) => return Ok(matches!(op, Op::Le | Op::Ge)),
        (V::Null, _) => return Ok(matches!(op, Op::Lt | Op::Le)),
        (_, V::Null) => return Ok(matches!(op, Op::Gt | Op::Ge)),
        _ => {}
    }
    if let (V::Set(a), V::Set(b)) = (l, r) {
        let sub = a.iter().all(|x| b.contains(x));
        let sup = b.iter().all(|x| a.contains(x));
        return Ok(match op {
            Op::Lt => sub && a.len() < b.len(),
            Op::Le => sub,
            Op::Gt => sup && a.len() > b.len(),
            Op::Ge => sup,
            _ => false,
        });
    }
    let ok_types = matches!(
        (l, r),
        (V::Int(_) | V::Float(_), V::Int(_) | V::Float(_))
            | (V::Str(_), V::Str(_))
            | (V::DateTime(_), V::DateTime(_))
            | (V::TimeSpan(_), V::TimeSpan(_))
    );
    if !ok_types {
        return Err(nomatch_op(op));
    }
    let Some(o) = py_cmp(l, r) else {
        return Ok(false); // NaN
    };
    use std::cmp::Ordering::*;
    Ok(match op {
        Op::Lt => o == Less,
        Op::Le => o != Greater,
        Op::Gt => o == Greater,
        Op::Ge => o != Less,
        _ => false,
    })
}

pub fn binary(op: Op, l: V, r: V) -> R<V> {
    use V::*;
    match op {
        Op::Eq => Ok(Bool(l == r)),
        Op::Ne => Ok(Bool(l != r)),
        Op::Lt | Op::Le | Op::Gt | Op::Ge => Ok(Bool(compare(op, &l, &r)?)),
        Op::Add => match (&l, &r) {
            (Int(a), Int(b)) => a.checked_add(*b).map(Int).ok_or_else(int_overflow),
            (Int(_) | Float(_), Int(_) | Float(_)) => {
                Ok(Float(l.as_f64().unwrap_or(0.0) + r.as_f64().unwrap_or(0.0)))
            }
            (Str(a), Str(b)) => {
                if a.len() + b.len() > crate::MAX_STRING {
                    return Err(limit_err("string result exceeds the size limit"));
                }
                let mut s = String::with_capacity(a.len() + b.len());
                s.push_str(a);
                s.push_str(b);
                Ok(V::string(s))
            }
            (Dict(a), Dict(b)) => {
                let mut m = a.as_ref().clone();
                for (k, v) in b.iter() {
                    m.insert(k.clone(), v.clone());
                }
                Ok(V::dict(m))
            }
            (List(_) | Set(_) | Iter(_), List(_) | Set(_) | Iter(_)) => {
                let both_lists = matches!((&l, &r), (List(_), List(_)));
                let mut out = match &l {
                    List(a) | Iter(a) => a.as_ref().clone(),
                    Set(a) => a.iter().cloned().collect(),
                    _ => vec![],
                };
                match &r {
                    List(b) | Iter(b) => out.extend(b.iter().cloned()),
                    Set(b) => out.extend(b.iter().cloned()),
                    _ => {}
                }
                if out.len() > crate::MAX_ITEMS {
                    return Err(limit_err("collection exceeds the size limit"));
                }
                Ok(if both_lists {
                    V::list(out)
                } else {
                    V::iter(out)
                })
            }
            (DateTime(d), TimeSpan(t)) | (TimeSpan(t), DateTime(d)) => {
                stdlib::dt_add(d, *t).map(DateTime)
            }
            (TimeSpan(a), TimeSpan(b)) => a.checked_add(*b).map(TimeSpan).ok_or_else(int_overflow),
            _ => Err(nomatch_op(op)),
        },
        Op::Sub => match (&l, &r) {
            (Int(a), Int(b)) => a.checked_sub(*b).map(Int).ok_or_else(int_overflow),
            (Int(_) | Float(_), Int(_) | Float(_)) => {
                Ok(Float(l.as_f64().unwrap_or(0.0) - r.as_f64().unwrap_or(0.0)))
            }
            (Set(a), Set(b)) => Ok(V::set(
                a.iter()
                    .filter(|x| !b.contains(*x))
                    .cloned()
                    .collect::<crate::value::Set>(),
            )),
            (DateTime(a), DateTime(b)) => Ok(TimeSpan(
                a.signed_duration_since(*b).num_microseconds().unwrap_or(0),
            )),
            (DateTime(d), TimeSpan(t)) => stdlib::dt_add(d, -t).map(DateTime),
            (TimeSpan(a), TimeSpan(b)) => a.checked_sub(*b).map(TimeSpan).ok_or_else(int_overflow),
            _ => Err(nomatch_op(op)),
        },
        Op::Mul => match (&l, &r) {
            (Int(a), Int(b)) => a.checked_mul(*b).map(Int).ok_or_else(int_overflow),
            (Int(_) | Float(_), Int(_) | Float(_)) => {
                Ok(Float(l.as_f64().unwrap_or(0.0) * r.as_f64().unwrap_or(0.0)))
            }
            (Str(s), Int(n)) | (Int(n), Str(s)) => repeat_str(s, *n),
            (Str(s), Bool(b)) | (Bool(b), Str(s)) => repeat_str(s, *b as i64),
            (List(s), Int(n)) | (Int(n), List(s)) => repeat_list(s, *n),
            (List(s), Bool(b)) | (Bool(b), List(s)) => repeat_list(s, *b as i64),
            (TimeSpan(t), Int(_) | Float(_)) | (Int(_) | Float(_), TimeSpan(t)) => {
                let n = if let TimeSpan(_) = l {
                    r.as_f64()
                } else {
                    l.as_f64()
                }
                .unwrap_or(0.0);
                Ok(TimeSpan(((*t as f64) * n).round() as i64))
            }
            _ => Err(nomatch_op(op)),
        },
        Op::Div => match (&l, &r) {
            (Int(a), Int(b)) => floordiv(*a, *b).map(Int),
            (Int(_) | Float(_), Int(_) | Float(_)) => {
                let d = r.as_f64().unwrap_or(0.0);
                if d == 0.0 {
                    return Err(eval_err("float division by zero"));
                }
                Ok(Float(l.as_f64().unwrap_or(0.0) / d))
            }
            (TimeSpan(a), TimeSpan(b)) => {
                if *b == 0 {
                    return Err(eval_err("division by zero"));
                }
                Ok(Float(*a as f64 / *b as f64))
            }
            (TimeSpan(a), Int(_) | Float(_)) => {
                let d = r.as_f64().unwrap_or(0.0);
                if d == 0.0 {
                    return Err(eval_err("division by zero"));
                }
                Ok(TimeSpan(((*a as f64) / d).round() as i64))
            }
            _ => Err(nomatch_op(op)),
        },
        Op::Mod => match (&l, &r) {
            (Int(a), Int(b)) => {
                if *b == 0 {
                    return Err(eval_err("integer modulo by zero"));
                }
                Ok(Int(a
                    .checked_rem_euclid(*b)
                    .map(|m| if m != 0 && *b < 0 { m + b } else { m })
                    .ok_or_else(int_overflow)?))
            }
            (Int(_) | Float(_), Int(_) | Float(_)) => {
                py_fmod(l.as_f64().unwrap_or(0.0), r.as_f64().unwrap_or(0.0)).map(Float)
            }
            _ => Err(nomatch_op(op)),
        },
        Op::In => match (&l, &r) {
            (Str(a), Str(b)) => Ok(Bool(b.contains(a.as_ref()))),
            (_, List(b) | Iter(b)) => Ok(Bool(b.contains(&l))),
            (_, Set(b)) => Ok(Bool(b.contains(&l))),
            _ => Err(nomatch_op(op)),
        },
        Op::Match | Op::NotMatch => {
            let Str(s) = &l else {
                return Err(nomatch_op(op));
            };
            let re = match &r {
                Str(p) => stdlib::compile_regex(p, 0)?,
                V::Regex(re) => re.clone(),
                _ => return Err(nomatch_op(op)),
            };
            let m = re.re.is_match(s).map_err(|e| eval_err(e.to_string()))?;
            Ok(Bool(if op == Op::Match { m } else { !m }))
        }
        _ => Err(nomatch_op(op)),
    }
}
