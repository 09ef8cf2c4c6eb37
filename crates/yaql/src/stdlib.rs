//! The yaql standard library (system, common, boolean, strings, math, collections, queries,
//! regex, branching, date_time) as `yaql.create_context()` provides it.

use std::rc::Rc;
use std::sync::Arc;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Timelike};

use crate::eval::{binary, compare, eval_err, limit_err, nofunc, CallInfo, Ev, Scope, Slot, R};
use crate::parser::{Arg, Expr, Op};
use crate::pyfmt;
use crate::value::{Gen, Map, Regex, Set, V};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// function only
    F,
    /// method only
    M,
    /// both
    MF,
}

pub type Builtin = for<'e> fn(&mut Ev<'e>, &Rc<Scope<'e>>, &CallInfo<'e>) -> R<V>;

pub fn lookup(name: &str) -> Option<(Builtin, Kind)> {
    use Kind::*;
    Some(match name {
        // queries
        "select" | "map" => (q_select, M),
        "where" | "filter" => (q_where, M),
        "selectMany" => (q_select_many, M),
        "first" => (q_first, M),
        "last" => (q_last, M),
        "single" => (q_single, M),
        "skip" => (q_skip, M),
        "take" | "limit" => (q_take, M),
        "skipWhile" => (q_skip_while, M),
        "takeWhile" => (q_take_while, M),
        "distinct" => (q_distinct, MF),
        "orderBy" => (q_order_by, M),
        "orderByDescending" => (q_order_by_desc, M),
        "thenBy" => (q_then_by, M),
        "thenByDescending" => (q_then_by_desc, M),
        "groupBy" => (q_group_by, M),
        "join" => (q_join, M),
        "zip" => (q_zip, M),
        "zipLongest" => (q_zip_longest, M),
        "enumerate" => (q_enumerate, MF),
        "any" => (q_any, MF),
        "all" => (q_all, MF),
        "count" => (q_count, M),
        "len" => (q_len, MF),
        "sum" => (q_sum, M),
        "min" => (q_min, MF),
        "max" => (q_max, MF),
        "aggregate" | "reduce" => (q_aggregate, M),
        "accumulate" => (q_accumulate, M),
        "indexOf" => (q_index_of, M),
        "lastIndexOf" => (q_last_index_of, M),
        "indexWhere" => (q_index_where, M),
        "lastIndexWhere" => (q_last_index_where, M),
        "append" => (q_append, MF),
        "concat" => (q_concat, MF),
        "defaultIfEmpty" => (q_default_if_empty, M),
        "reverse" => (q_reverse, M),
        "memorize" => (q_memorize, M),
        "cycle" => (q_cycle, M),
        "repeat" => (q_repeat, M),
        "range" => (q_range, F),
        "sequence" => (q_sequence, F),
        "generate" => (q_generate, F),
        "generateMany" => (q_generate_many, F),
        "slice" => (q_slice, M),
        "sliceWhere" => (q_slice_where, M),
        "splitAt" => (q_split_at, M),
        "splitWhere" => (q_split_where, M),
        "isIterable" => (q_is_iterable, F),
        "flatten" => (c_flatten, M),
        // collections
        "list" => (c_list, F),
        "dict" => (c_dict, F),
        "set" => (c_set, MF),
        "toList" => (c_to_list, M),
        "toSet" => (c_to_set, M),
        "toDict" => (c_to_dict, M),
        "isList" => (c_is_list, F),
        "isDict" => (c_is_dict, F),
        "isSet" => (c_is_set, F),
        "contains" => (c_contains, M),
        "containsKey" => (c_contains_key, M),
        "containsValue" => (c_contains_value, M),
        "get" => (c_get, M),
        "keys" => (c_keys, M),
        "values" => (c_values, M),
        "items" => (c_items, M),
        "delete" => (c_delete, M),
        "deleteAll" => (c_delete_all, M),
        "insert" => (c_insert, M),
        "insertMany" => (c_insert_many, M),
        "replace" => (s_replace, M),
        "replaceMany" => (c_replace_many, M),
        "add" => (c_add, M),
        "remove" => (c_remove, M),
        "union" => (c_union, M),
        "intersect" => (c_intersect, M),
        "difference" => (c_difference, M),
        "symmetricDifference" => (c_sym_diff, M),
        "mergeWith" => (c_merge_with, M),
        // strings
        "str" => (s_str, F),
        "isString" => (s_is_string, F),
        "toUpper" => (s_to_upper, M),
        "toLower" => (s_to_lower, M),
        "trim" => (s_trim, M),
        "trimLeft" => (s_trim_left, M),
        "trimRight" => (s_trim_right, M),
        "split" => (s_split, M),
        "rightSplit" => (s_right_split, M),
        "substring" => (s_substring, M),
        "startsWith" => (s_starts_with, M),
        "endsWith" => (s_ends_with, M),
        "toCharArray" => (s_to_char_array, M),
        "isEmpty" => (s_is_empty, MF),
        "norm" => (s_norm, MF),
        "hex" => (s_hex, F),
        "characters" => (s_characters, F),
        // math
        "abs" => (m_abs, F),
        "float" => (m_float, F),
        "int" => (m_int, F),
        "isInteger" => (m_is_integer, F),
        "isNumber" => (m_is_number, F),
        "pow" => (m_pow, F),
        "round" => (m_round, F),
        "sign" => (m_sign, F),
        "bitwiseAnd" => (m_bit_and, F),
        "bitwiseOr" => (m_bit_or, F),
        "bitwiseXor" => (m_bit_xor, F),
        "bitwiseNot" => (m_bit_not, F),
        "shiftBitsLeft" => (m_shl, F),
        "shiftBitsRight" => (m_shr, F),
        "random" => (m_random, F),
        // boolean / branching / system
        "bool" => (b_bool, F),
        "isBoolean" => (b_is_boolean, F),
        "coalesce" => (b_coalesce, F),
        "switch" => (b_switch, F),
        "selectCase" => (b_select_case, F),
        "selectAllCases" => (b_select_all_cases, F),
        "examine" => (b_examine, F),
        "switchCase" => (b_switch_case, M),
        "assert" => (b_assert, M),
        "let" | "with" | "def" => (sys_context_only, F),
        "unpack" => (sys_context_only, M),
        "call" => (sys_call, F),
        // regex
        "regex" => (r_regex, F),
        "matches" => (r_matches, M),
        "search" => (r_search, M),
        "searchAll" => (r_search_all, M),
        "replaceBy" => (r_replace_by, M),
        "escapeRegex" => (r_escape, F),
        "isRegex" => (r_is_regex, F),
        // date/time
        "now" => (d_now, F),
        "localtz" => (d_localtz, F),
        "utctz" => (d_utctz, F),
        "datetime" => (d_datetime, F),
        "timespan" => (d_timespan, F),
        "format" => (d_format, M),
        "isDatetime" => (d_is_datetime, F),
        "isTimespan" => (d_is_timespan, F),
        _ => return None,
    })
}

// ---------------------------------------------------------------- helpers

fn val(s: &Slot) -> Option<V> {
    match s {
        Slot::Val(v) => Some(v.clone()),
        _ => None,
    }
}

fn lazy<'e>(s: &Slot<'e>) -> Option<&'e Expr> {
    match s {
        Slot::Lazy(e) => Some(e),
        _ => None,
    }
}

fn need(c: &CallInfo, s: &Slot) -> R<V> {
    val(s).ok_or_else(|| c.nomatch())
}

fn need_lazy<'e>(c: &CallInfo, s: &Slot<'e>) -> R<&'e Expr> {
    lazy(s).ok_or_else(|| c.nomatch())
}

fn iterable(ev: &mut Ev, c: &CallInfo, s: &Slot) -> R<Vec<V>> {
    let v = need(c, s)?;
    if !v.is_iterable() {
        return Err(c.nomatch());
    }
    ev.items(&v)
}

fn int_arg(c: &CallInfo, s: &Slot, default: i64) -> R<i64> {
    match s {
        Slot::Missing => Ok(default),
        Slot::Val(V::Int(i)) => Ok(*i),
        Slot::Val(V::Bool(b)) => Ok(*b as i64),
        Slot::Val(V::Float(f)) => Ok(*f as i64),
        Slot::Val(V::Null) => Ok(default),
        _ => Err(c.nomatch()),
    }
}

/// yaql `Integer` parameter: ints (and bools) only, anything else is no match.
fn int_param(c: &CallInfo, s: &Slot) -> R<i64> {
    match s {
        Slot::Val(V::Int(i)) => Ok(*i),
        Slot::Val(V::Bool(b)) => Ok(*b as i64),
        _ => Err(c.nomatch()),
    }
}

fn strict_int(s: &Slot) -> R<i64> {
    match s {
        Slot::Val(V::Int(i)) => Ok(*i),
        Slot::Val(V::Bool(b)) => Ok(*b as i64),
        Slot::Val(v) => Err(eval_err(format!(
            "'{}' object cannot be interpreted as an integer",
            v.type_name()
        ))),
        _ => Err(nofunc("missing argument")),
    }
}

fn string(c: &CallInfo, s: &Slot) -> R<Arc<str>> {
    match s {
        Slot::Val(V::Str(x)) => Ok(x.clone()),
        _ => Err(c.nomatch()),
    }
}

fn opt_string(c: &CallInfo, s: &Slot) -> R<Option<Arc<str>>> {
    match s {
        Slot::Missing | Slot::Val(V::Null) => Ok(None),
        Slot::Val(V::Str(x)) => Ok(Some(x.clone())),
        _ => Err(c.nomatch()),
    }
}

fn check_items(n: usize) -> R<()> {
    if n > crate::MAX_ITEMS {
        Err(limit_err("collection exceeds the size limit"))
    } else {
        Ok(())
    }
}

fn check_str(n: usize) -> R<()> {
    if n > crate::MAX_STRING {
        Err(limit_err("string result exceeds the size limit"))
    } else {
        Ok(())
    }
}

/// Materialises a generator (bounded by `limit` items when given).
pub fn gen_take(g: &Gen, limit: Option<usize>) -> R<Vec<V>> {
    let Some(n) = limit else {
        return Err(limit_err("cannot materialise an endless generator"));
    };
    check_items(n)?;
    let mut out = Vec::with_capacity(n);
    match g {
        Gen::Sequence { start, step } => {
            let mut cur = start.clone();
            for _ in 0..n {
                out.push(cur.clone());
                cur = binary(Op::Add, cur, step.clone())?;
            }
        }
        Gen::Cycle(items) => {
            if !items.is_empty() {
                for i in 0..n {
                    out.push(items[i % items.len()].clone());
                }
            }
        }
        Gen::Repeat(v) => {
            for _ in 0..n {
                out.push(v.clone());
            }
        }
    }
    Ok(out)
}

fn sort_key_cmp(a: &V, b: &V) -> R<std::cmp::Ordering> {
    if compare(Op::Lt, a, b)? {
        Ok(std::cmp::Ordering::Less)
    } else if compare(Op::Gt, a, b)? {
        Ok(std::cmp::Ordering::Greater)
    } else {
        Ok(std::cmp::Ordering::Equal)
    }
}

fn stable_sort(items: &mut [(Vec<V>, V)], desc: &[bool]) -> R<()> {
    let mut err = None;
    items.sort_by(|a, b| {
        if err.is_some() {
            return std::cmp::Ordering::Equal;
        }
        for (i, d) in desc.iter().enumerate() {
            match sort_key_cmp(&a.0[i], &b.0[i]) {
                Ok(std::cmp::Ordering::Equal) => continue,
                Ok(o) => return if *d { o.reverse() } else { o },
                Err(e) => {
                    err = Some(e);
                    return std::cmp::Ordering::Equal;
                }
            }
        }
        std::cmp::Ordering::Equal
    });
    match err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

// ---------------------------------------------------------------- queries

fn q_select<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["collection", "&selector"])?;
    let items = iterable(ev, c, &a[0])?;
    let f = need_lazy(c, &a[1])?;
    let mut out = Vec::with_capacity(items.len());
    for x in items {
        out.push(ev.lambda(sc, f, &[x])?);
    }
    Ok(V::iter(out))
}

fn q_where<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["collection", "&predicate"])?;
    let items = iterable(ev, c, &a[0])?;
    let f = need_lazy(c, &a[1])?;
    let mut out = Vec::new();
    for x in items {
        if ev.lambda(sc, f, std::slice::from_ref(&x))?.truthy() {
            out.push(x);
        }
    }
    Ok(V::iter(out))
}

fn q_select_many<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["collection", "&selector"])?;
    let items = iterable(ev, c, &a[0])?;
    let f = need_lazy(c, &a[1])?;
    let mut out = Vec::new();
    for x in items {
        let r = ev.lambda(sc, f, &[x])?;
        if r.is_iterable() {
            out.extend(ev.items(&r)?);
        } else {
            out.push(r);
        }
        check_items(out.len())?;
    }
    Ok(V::iter(out))
}

fn first_of(ev: &mut Ev, c: &CallInfo, a: &[Slot], last: bool) -> R<V> {
    let v = need(c, &a[0])?;
    if !v.is_iterable() {
        return Err(c.nomatch());
    }
    let items = match &v {
        V::Gen(g) if !last => gen_take(g, Some(1))?,
        _ => ev.items(&v)?,
    };
    let item = if last { items.last() } else { items.first() };
    match (item, &a[1]) {
        (Some(x), _) => Ok(x.clone()),
        (None, Slot::Val(d)) => Ok(d.clone()),
        (None, _) => Err(eval_err("")),
    }
}

fn q_first<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["collection", "default"])?;
    first_of(ev, c, &a, false)
}

fn q_last<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["collection", "default"])?;
    first_of(ev, c, &a, true)
}

fn q_single<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["collection"])?;
    let items = iterable(ev, c, &a[0])?;
    match items.len() {
        0 => Err(eval_err("")),
        1 => Ok(items[0].clone()),
        _ => Err(eval_err("Collection contains more than one item")),
    }
}

fn gen_or_items(ev: &mut Ev, c: &CallInfo, s: &Slot, n: Option<usize>) -> R<Vec<V>> {
    let v = need(c, s)?;
    match &v {
        V::Gen(g) => gen_take(g, n),
        _ if v.is_iterable() => ev.items(&v),
        _ => Err(c.nomatch()),
    }
}

fn q_skip<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["collection", "count"])?;
    let n = int_param(c, &a[1])?;
    if n < 0 {
        return Err(eval_err(
            "Indices for islice() must be None or an integer: 0 <= x <= sys.maxsize.",
        ));
    }
    if let Some(V::Gen(g)) = val(&a[0]) {
        // skip on an endless generator stays endless: materialise lazily not supported
        return Ok(V::Gen(Arc::new(match g.as_ref() {
            Gen::Repeat(v) => Gen::Repeat(v.clone()),
            Gen::Cycle(items) => {
                let k = (n as usize) % items.len().max(1);
                let mut rotated = items[k..].to_vec();
                rotated.extend(items[..k].iter().cloned());
                Gen::Cycle(Arc::new(rotated))
            }
            Gen::Sequence { start, step } => {
                let offset = binary(Op::Mul, step.clone(), V::Int(n))?;
                Gen::Sequence {
                    start: binary(Op::Add, start.clone(), offset)?,
                    step: step.clone(),
                }
            }
        })));
    }
    let items = iterable(ev, c, &a[0])?;
    let n = n.max(0) as usize;
    Ok(V::iter(items.into_iter().skip(n).collect()))
}

fn q_take<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["collection", "count"])?;
    let n = int_param(c, &a[1])?;
    if n < 0 {
        return Err(eval_err(
            "Stop argument for islice() must be None or an integer: 0 <= x <= sys.maxsize.",
        ));
    }
    let n = n as usize;
    let items = gen_or_items(ev, c, &a[0], Some(n))?;
    Ok(V::iter(items.into_iter().take(n).collect()))
}

fn q_skip_while<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["collection", "&predicate"])?;
    let items = iterable(ev, c, &a[0])?;
    let f = need_lazy(c, &a[1])?;
    let mut out = Vec::new();
    let mut skipping = true;
    for x in items {
        if skipping && ev.lambda(sc, f, std::slice::from_ref(&x))?.truthy() {
            continue;
        }
        skipping = false;
        out.push(x);
    }
    Ok(V::iter(out))
}

fn q_take_while<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["collection", "&predicate"])?;
    let f = need_lazy(c, &a[1])?;
    let v = need(c, &a[0])?;
    let mut out = Vec::new();
    if let V::Gen(g) = &v {
        let mut i = 1usize;
        loop {
            let chunk = gen_take(g, Some(i))?;
            let x = chunk[i - 1].clone();
            if !ev.lambda(sc, f, std::slice::from_ref(&x))?.truthy() {
                break;
            }
            out.push(x);
            i += 1;
            check_items(i)?;
        }
        return Ok(V::iter(out));
    }
    let items = iterable(ev, c, &a[0])?;
    for x in items {
        if !ev.lambda(sc, f, std::slice::from_ref(&x))?.truthy() {
            break;
        }
        out.push(x);
    }
    Ok(V::iter(out))
}

fn q_distinct<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["collection", "&keySelector"])?;
    let items = iterable(ev, c, &a[0])?;
    let mut seen = Set::new();
    let mut out = Vec::new();
    for x in items {
        let k = match lazy(&a[1]) {
            Some(f) => ev.lambda(sc, f, std::slice::from_ref(&x))?,
            None => x.clone(),
        };
        if seen.insert(k) {
            out.push(x);
        }
    }
    Ok(V::iter(out))
}

fn order<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>, desc: bool) -> R<V> {
    let a = ev.bind(sc, c, &["collection", "&selector"])?;
    let items = iterable(ev, c, &a[0])?;
    let f = need_lazy(c, &a[1])?;
    multi_sort(ev, sc, items, &[(f, desc)])
}

/// Sorts by several selectors (orderBy + thenBy chain), stable like Python's sort.
pub fn multi_sort<'e>(
    ev: &mut Ev<'e>,
    sc: &Rc<Scope<'e>>,
    items: Vec<V>,
    keys: &[(&'e Expr, bool)],
) -> R<V> {
    let mut keyed = Vec::with_capacity(items.len());
    for x in items {
        let mut ks = Vec::with_capacity(keys.len());
        for (f, _) in keys {
            ks.push(ev.lambda(sc, f, std::slice::from_ref(&x))?);
        }
        keyed.push((ks, x));
    }
    let desc: Vec<bool> = keys.iter().map(|k| k.1).collect();
    stable_sort(&mut keyed, &desc)?;
    let out: Vec<V> = keyed.into_iter().map(|(_, v)| v).collect();
    Ok(V::iter(out))
}

fn q_order_by<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    order(ev, sc, c, false)
}

fn q_order_by_desc<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    order(ev, sc, c, true)
}

/// `thenBy` is only valid on the result of `orderBy` (handled in the evaluator).
fn then_by<'e>(_ev: &mut Ev<'e>, _sc: &Rc<Scope<'e>>, c: &CallInfo<'e>, _desc: bool) -> R<V> {
    Err(c.nomatch())
}

fn q_then_by<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    then_by(ev, sc, c, false)
}

fn q_then_by_desc<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    then_by(ev, sc, c, true)
}

fn q_group_by<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(
        sc,
        c,
        &[
            "collection",
            "&keySelector",
            "&valueSelector",
            "&aggregator",
        ],
    )?;
    let items = iterable(ev, c, &a[0])?;
    let kf = need_lazy(c, &a[1])?;
    let mut groups: Map = Map::new();
    for x in items {
        let k = ev.lambda(sc, kf, std::slice::from_ref(&x))?;
        let v = match lazy(&a[2]) {
            Some(f) => ev.lambda(sc, f, &[x])?,
            None => x,
        };
        match groups.get_mut(&k) {
            Some(V::List(l)) => Arc::make_mut(l).push(v),
            _ => {
                groups.insert(k, V::list(vec![v]));
            }
        }
    }
    let mut out = Vec::with_capacity(groups.len());
    for (k, vs) in groups {
        let vs = match lazy(&a[3]) {
            Some(f) => ev.lambda(sc, f, &[vs])?,
            None => vs,
        };
        out.push(V::list(vec![k, vs]));
    }
    Ok(V::iter(out))
}

fn q_join<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    // string join: sequence.join(separator) / separator.join(sequence)
    if let Some(V::Str(_)) | Some(V::List(_)) | Some(V::Set(_)) | Some(V::Iter(_)) = &c.recv {
        if c.args.len() == 1 {
            let a = ev.bind(sc, c, &["a", "b"])?;
            let (x, y) = (need(c, &a[0])?, need(c, &a[1])?);
            let (sep, seq) = match (&x, &y) {
                (V::Str(s), seq) if seq.is_iterable() => (s.clone(), seq.clone()),
                (seq, V::Str(s)) if seq.is_iterable() => (s.clone(), seq.clone()),
                _ => return Err(c.nomatch()),
            };
            let items = ev.items(&seq)?;
            let parts: Vec<String> = items.iter().map(pyfmt::yaql_str).collect();
            let total: usize = parts.iter().map(|p| p.len() + sep.len()).sum();
            check_str(total)?;
            return Ok(V::string(parts.join(&sep)));
        }
    }
    let a = ev.bind(
        sc,
        c,
        &["collection1", "collection2", "&predicate", "&selector"],
    )?;
    let l1 = iterable(ev, c, &a[0])?;
    let l2 = iterable(ev, c, &a[1])?;
    let p = need_lazy(c, &a[2])?;
    let s = need_lazy(c, &a[3])?;
    let mut out = Vec::new();
    for x in &l1 {
        for y in &l2 {
            if ev.lambda(sc, p, &[x.clone(), y.clone()])?.truthy() {
                out.push(ev.lambda(sc, s, &[x.clone(), y.clone()])?);
                check_items(out.len())?;
            }
        }
    }
    Ok(V::iter(out))
}

fn collect_iterables(ev: &mut Ev, c: &CallInfo, s: &Slot) -> R<Vec<Vec<V>>> {
    let V::List(all) = need(c, s)? else {
        return Err(c.nomatch());
    };
    let mut lists = vec![];
    for x in all.iter() {
        if !x.is_iterable() {
            return Err(c.nomatch());
        }
        lists.push(ev.items(x)?);
    }
    Ok(lists)
}

fn q_zip<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["*collections"])?;
    let lists = collect_iterables(ev, c, &a[0])?;
    let n = lists.iter().map(|l| l.len()).min().unwrap_or(0);
    Ok(V::iter(
        (0..n)
            .map(|i| V::list(lists.iter().map(|l| l[i].clone()).collect()))
            .collect(),
    ))
}

fn q_zip_longest<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["*collections", "default"])?;
    let lists = collect_iterables(ev, c, &a[0])?;
    let d = val(&a[1]).unwrap_or(V::Null);
    let n = lists.iter().map(|l| l.len()).max().unwrap_or(0);
    Ok(V::iter(
        (0..n)
            .map(|i| {
                V::list(
                    lists
                        .iter()
                        .map(|l| l.get(i).cloned().unwrap_or(d.clone()))
                        .collect(),
                )
            })
            .collect(),
    ))
}

fn q_enumerate<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["collection", "start"])?;
    let items = iterable(ev, c, &a[0])?;
    let start = val(&a[1]).unwrap_or(V::Int(0));
    let mut out = Vec::with_capacity(items.len());
    let mut i = start;
    for x in items {
        out.push(V::list(vec![i.clone(), x]));
        i = binary(Op::Add, i, V::Int(1))?;
    }
    Ok(V::iter(out))
}

fn any_all<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>, all: bool) -> R<V> {
    let a = ev.bind(sc, c, &["collection", "&predicate"])?;
    let items = iterable(ev, c, &a[0])?;
    for x in items {
        let t = match lazy(&a[1]) {
            Some(f) => ev.lambda(sc, f, &[x])?.truthy(),
            None => !all || x.truthy(),
        };
        if all && !t {
            return Ok(V::Bool(false));
        }
        if !all && t {
            return Ok(V::Bool(true));
        }
    }
    Ok(V::Bool(all))
}

fn q_any<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    any_all(ev, sc, c, false)
}

fn q_all<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    any_all(ev, sc, c, true)
}

fn q_count<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["collection"])?;
    Ok(V::Int(iterable(ev, c, &a[0])?.len() as i64))
}

fn q_len<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["collection"])?;
    Ok(V::Int(match need(c, &a[0])? {
        V::Str(s) => s.chars().count(),
        V::List(l) | V::Iter(l) => l.len(),
        V::Set(s) => s.len(),
        V::Dict(d) => d.len(),
        V::Gen(_) => return Err(limit_err("cannot materialise an endless generator")),
        _ => return Err(c.nomatch()),
    } as i64))
}

fn q_sum<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["collection", "initial"])?;
    let items = iterable(ev, c, &a[0])?;
    let mut it = items.into_iter();
    let mut acc = match val(&a[1]) {
        Some(v) => v,
        None => it
            .next()
            .ok_or_else(|| eval_err("reduce() of empty iterable with no initial value"))?,
    };
    for x in it {
        acc = binary(Op::Add, acc, x)?;
    }
    Ok(acc)
}

fn minmax<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>, max: bool) -> R<V> {
    if c.method {
        let a = ev.bind(sc, c, &["collection", "initial"])?;
        let items = iterable(ev, c, &a[0])?;
        let mut acc: Option<V> = val(&a[1]);
        for x in items {
            acc = Some(match acc {
                None => x,
                Some(cur) => {
                    let better = if max {
                        compare(Op::Gt, &x, &cur)?
                    } else {
                        compare(Op::Lt, &x, &cur)?
                    };
                    if better {
                        x
                    } else {
                        cur
                    }
                }
            });
        }
        return acc.ok_or_else(|| {
            eval_err(format!(
                "{}() arg is an empty sequence",
                if max { "max" } else { "min" }
            ))
        });
    }
    let a = ev.bind(sc, c, &["a", "b"])?;
    let (x, y) = (need(c, &a[0])?, need(c, &a[1])?);
    if max {
        Ok(if compare(Op::Lt, &x, &y)? { y } else { x })
    } else {
        Ok(if compare(Op::Gt, &x, &y)? { y } else { x })
    }
}

fn q_min<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    minmax(ev, sc, c, false)
}

fn q_max<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    minmax(ev, sc, c, true)
}

fn q_aggregate<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["collection", "&selector", "seed"])?;
    let items = iterable(ev, c, &a[0])?;
    let f = need_lazy(c, &a[1])?;
    let mut it = items.into_iter();
    let mut acc = match val(&a[2]) {
        Some(s) => s,
        None => match it.next() {
            Some(x) => x,
            None => return Err(eval_err("reduce() of empty iterable with no initial value")),
        },
    };
    for x in it {
        acc = ev.lambda(sc, f, &[acc, x])?;
    }
    Ok(acc)
}

fn q_accumulate<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["collection", "&selector", "seed"])?;
    let items = iterable(ev, c, &a[0])?;
    let f = need_lazy(c, &a[1])?;
    let mut it = items.into_iter();
    let mut acc = match val(&a[2]) {
        Some(s) => s,
        None => it
            .next()
            .ok_or_else(|| eval_err("accumulate() of empty sequence with no initial value"))?,
    };
    let mut out = vec![acc.clone()];
    for x in it {
        acc = ev.lambda(sc, f, &[acc, x])?;
        out.push(acc.clone());
    }
    Ok(V::iter(out))
}

fn q_index_of<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    if let Some(V::Str(_)) = &c.recv {
        return s_index_of(ev, sc, c, false);
    }
    let a = ev.bind(sc, c, &["collection", "item"])?;
    let items = iterable(ev, c, &a[0])?;
    let item = need(c, &a[1])?;
    Ok(V::Int(
        items
            .iter()
            .position(|x| *x == item)
            .map(|i| i as i64)
            .unwrap_or(-1),
    ))
}

fn q_last_index_of<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    if let Some(V::Str(_)) = &c.recv {
        return s_index_of(ev, sc, c, true);
    }
    let a = ev.bind(sc, c, &["collection", "item"])?;
    let items = iterable(ev, c, &a[0])?;
    let item = need(c, &a[1])?;
    Ok(V::Int(
        items
            .iter()
            .rposition(|x| *x == item)
            .map(|i| i as i64)
            .unwrap_or(-1),
    ))
}

fn index_where<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>, last: bool) -> R<V> {
    let a = ev.bind(sc, c, &["collection", "&predicate"])?;
    let items = iterable(ev, c, &a[0])?;
    let f = need_lazy(c, &a[1])?;
    let mut found = -1i64;
    for (i, x) in items.into_iter().enumerate() {
        if ev.lambda(sc, f, &[x])?.truthy() {
            found = i as i64;
            if !last {
                break;
            }
        }
    }
    Ok(V::Int(found))
}

fn q_index_where<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    index_where(ev, sc, c, false)
}

fn q_last_index_where<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    index_where(ev, sc, c, true)
}

fn q_append<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["collection", "*args"])?;
    let mut items = iterable(ev, c, &a[0])?;
    if let Some(V::List(rest)) = val(&a[1]) {
        items.extend(rest.iter().cloned());
    }
    Ok(V::iter(items))
}

fn q_concat<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["*args"])?;
    let V::List(all) = need(c, &a[0])? else {
        return Err(c.nomatch());
    };
    if all.is_empty() && !c.method {
        return Err(eval_err("Ambiguous function \"concat\""));
    }
    if !all.is_empty() && all.iter().all(|x| matches!(x, V::Str(_))) && !c.method {
        let mut s = String::new();
        for x in all.iter() {
            if let V::Str(p) = x {
                s.push_str(p);
            }
        }
        check_str(s.len())?;
        return Ok(V::string(s));
    }
    let mut out = vec![];
    for x in all.iter() {
        if !x.is_iterable() {
            return Err(c.nomatch());
        }
        out.extend(ev.items(x)?);
        check_items(out.len())?;
    }
    Ok(V::iter(out))
}

fn q_default_if_empty<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["collection", "default"])?;
    let items = iterable(ev, c, &a[0])?;
    if items.is_empty() {
        let d = need(c, &a[1])?;
        if !d.is_iterable() {
            return Err(c.nomatch());
        }
        return Ok(V::iter(ev.items(&d)?));
    }
    Ok(V::iter(items))
}

fn q_reverse<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["collection"])?;
    let mut items = iterable(ev, c, &a[0])?;
    items.reverse();
    Ok(V::iter(items))
}

fn q_memorize<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["collection"])?;
    let v = need(c, &a[0])?;
    if !v.is_iterable() {
        return Err(c.nomatch());
    }
    Ok(v)
}

fn q_cycle<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["collection"])?;
    let items = iterable(ev, c, &a[0])?;
    if items.is_empty() {
        return Ok(V::list(vec![]));
    }
    Ok(V::Gen(Arc::new(Gen::Cycle(Arc::new(items)))))
}

fn q_repeat<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["value", "times"])?;
    let v = need(c, &a[0])?;
    let n = int_arg(c, &a[1], -1)?;
    if n < 0 {
        return Ok(V::Gen(Arc::new(Gen::Repeat(v))));
    }
    check_items(n as usize)?;
    Ok(V::iter(vec![v; n as usize]))
}

fn q_range<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["start", "stop", "step"])?;
    let (start, stop) = match (&a[0], &a[1]) {
        (Slot::Val(_), Slot::Missing) => (0, int_param(c, &a[0])?),
        (Slot::Missing, Slot::Val(_))
            if matches!(a[2], Slot::Missing) && !c.args.iter().any(|x| matches!(x, Arg::Empty)) =>
        {
            (0, int_param(c, &a[1])?)
        }
        _ => (int_param(c, &a[0])?, int_param(c, &a[1])?),
    };
    if !matches!(a[2], Slot::Missing)
        && (matches!(a[1], Slot::Missing) || matches!(a[0], Slot::Missing))
    {
        return Err(c.nomatch());
    }
    let step = match &a[2] {
        Slot::Missing => 1,
        s => int_param(c, s)?,
    };
    if step == 0 {
        return Err(eval_err("range() arg 3 must not be zero"));
    }
    let n = if step > 0 {
        if stop > start {
            ((stop as i128 - start as i128 + step as i128 - 1) / step as i128) as u128
        } else {
            0
        }
    } else if start > stop {
        ((start as i128 - stop as i128 - step as i128 - 1) / (-(step as i128))) as u128
    } else {
        0
    };
    if n > crate::MAX_ITEMS as u128 {
        return Err(limit_err("collection exceeds the size limit"));
    }
    Ok(V::iter(
        (0..n as i64).map(|i| V::Int(start + i * step)).collect(),
    ))
}

fn q_sequence<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["start", "step"])?;
    let start = V::Int(match &a[0] {
        Slot::Missing => 0,
        s => int_param(c, s)?,
    });
    let step = V::Int(match &a[1] {
        Slot::Missing => 1,
        s => int_param(c, s)?,
    });
    Ok(V::Gen(Arc::new(Gen::Sequence { start, step })))
}

fn q_generate<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(
        sc,
        c,
        &["initial", "&predicate", "&producer", "&selector", "decycle"],
    )?;
    let mut cur = need(c, &a[0])?;
    let p = need_lazy(c, &a[1])?;
    let prod = need_lazy(c, &a[2])?;
    let decycle = val(&a[4]).map(|v| v.truthy()).unwrap_or(false);
    let mut seen = Set::new();
    let mut out = vec![];
    while ev.lambda(sc, p, std::slice::from_ref(&cur))?.truthy() {
        if decycle && !seen.insert(cur.clone()) {
            break;
        }
        out.push(match lazy(&a[3]) {
            Some(s) => ev.lambda(sc, s, std::slice::from_ref(&cur))?,
            None => cur.clone(),
        });
        check_items(out.len())?;
        cur = ev.lambda(sc, prod, &[cur])?;
    }
    Ok(V::iter(out))
}

fn q_generate_many<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(
        sc,
        c,
        &["initial", "&producer", "&selector", "decycle", "depthFirst"],
    )?;
    let initial = need(c, &a[0])?;
    let prod = need_lazy(c, &a[1])?;
    let decycle = val(&a[3]).map(|v| v.truthy()).unwrap_or(false);
    let depth_first = val(&a[4]).map(|v| v.truthy()).unwrap_or(false);
    let mut seen = Set::new();
    let mut queue = std::collections::VecDeque::from([initial]);
    let mut out = vec![];
    while let Some(item) = queue.pop_front() {
        if decycle && !seen.insert(item.clone()) {
            continue;
        }
        out.push(match lazy(&a[2]) {
            Some(s) => ev.lambda(sc, s, std::slice::from_ref(&item))?,
            None => item.clone(),
        });
        check_items(out.len() + queue.len())?;
        let produced = ev.lambda(sc, prod, &[item])?;
        if !produced.is_iterable() {
            return Err(eval_err(format!(
                "'{}' object is not iterable",
                produced.type_name()
            )));
        }
        let produced = ev.items(&produced)?;
        if depth_first {
            for x in produced.into_iter().rev() {
                queue.push_front(x);
            }
        } else {
            queue.extend(produced);
        }
    }
    Ok(V::iter(out))
}

fn q_slice<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["collection", "length"])?;
    let items = iterable(ev, c, &a[0])?;
    let n = strict_int(&a[1])?;
    if n <= 0 {
        return Err(eval_err("slice length must be positive"));
    }
    Ok(V::iter(
        items
            .chunks(n as usize)
            .map(|ch| V::list(ch.to_vec()))
            .collect(),
    ))
}

fn q_slice_where<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["collection", "&predicate"])?;
    let items = iterable(ev, c, &a[0])?;
    let f = need_lazy(c, &a[1])?;
    let mut out = vec![];
    let mut cur: Vec<V> = vec![];
    let mut prev: Option<V> = None;
    for x in items {
        let k = ev.lambda(sc, f, std::slice::from_ref(&x))?;
        if let Some(p) = &prev {
            if *p != k {
                out.push(V::list(std::mem::take(&mut cur)));
            }
        }
        prev = Some(k);
        cur.push(x);
    }
    if !cur.is_empty() {
        out.push(V::list(cur));
    }
    Ok(V::iter(out))
}

fn q_split_at<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["collection", "index"])?;
    let items = iterable(ev, c, &a[0])?;
    let i = strict_int(&a[1])?;
    let n = items.len() as i64;
    let i = if i < 0 { (n + i).max(0) } else { i.min(n) } as usize;
    Ok(V::list(vec![
        V::list(items[..i].to_vec()),
        V::list(items[i..].to_vec()),
    ]))
}

fn q_split_where<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["collection", "&predicate"])?;
    let items = iterable(ev, c, &a[0])?;
    let f = need_lazy(c, &a[1])?;
    let mut out = vec![];
    let mut cur = vec![];
    for x in items {
        if ev.lambda(sc, f, std::slice::from_ref(&x))?.truthy() {
            out.push(V::list(std::mem::take(&mut cur)));
        } else {
            cur.push(x);
        }
    }
    out.push(V::list(cur));
    Ok(V::iter(out))
}

fn q_is_iterable<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["value"])?;
    Ok(V::Bool(need(c, &a[0])?.is_iterable()))
}

fn c_flatten<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["collection"])?;
    let items = iterable(ev, c, &a[0])?;
    let mut out = vec![];
    fn rec(ev: &mut Ev, x: V, out: &mut Vec<V>, depth: usize) -> R<()> {
        if depth > crate::MAX_DEPTH {
            return Err(limit_err("maximum recursion depth exceeded"));
        }
        if x.is_iterable() {
            for y in ev.items(&x)? {
                rec(ev, y, out, depth + 1)?;
            }
        } else {
            out.push(x);
            check_items(out.len())?;
        }
        Ok(())
    }
    for x in items {
        rec(ev, x, &mut out, 0)?;
    }
    Ok(V::iter(out))
}

// ---------------------------------------------------------------- collections

fn c_list<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["*args"])?;
    need(c, &a[0])
}

fn c_dict<'e>(ev: &mut Ev<'e>, _sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let sc = _sc;
    let mut m = Map::new();
    let only_pos = c.args.len() == 1 && matches!(c.args[0], Arg::Pos(_));
    if only_pos {
        let Arg::Pos(x) = &c.args[0] else {
            unreachable!()
        };
        let v = ev.eval(sc, x)?;
        if !v.is_iterable() {
            return Err(c.nomatch());
        }
        for item in ev.items(&v)? {
            let pair: Vec<V> = match &item {
                V::Str(s) => s
                    .chars()
                    .take(2)
                    .map(|ch| V::string(ch.to_string()))
                    .collect(),
                V::Dict(d) => d.keys().take(2).cloned().collect(),
                x if x.is_iterable() => ev.items(x)?,
                x => {
                    return Err(eval_err(format!(
                        "'{}' object is not iterable",
                        x.type_name()
                    )))
                }
            };
            if pair.len() < 2 {
                return Err(eval_err(""));
            }
            m.insert(pair[0].clone(), pair[1].clone());
        }
        return Ok(V::dict(m));
    }
    for a in c.args.iter() {
        match a {
            Arg::Named(k, x) => {
                let v = ev.eval(sc, x)?;
                m.insert(V::Str(k.clone()), v);
            }
            Arg::Mapping(k, x) => {
                let k = ev.eval(sc, k)?;
                let v = ev.eval(sc, x)?;
                m.insert(k, v);
            }
            _ => return Err(c.nomatch()),
        }
    }
    Ok(V::dict(m))
}

fn c_set<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    if c.method {
        // dict.set(key, value) / dict.set(dict) / dict.set(k => v, ...)
        let Some(V::Dict(d)) = &c.recv else {
            return Err(c.nomatch());
        };
        let mut m = d.as_ref().clone();
        let mut pos = vec![];
        for a in c.args.iter() {
            match a {
                Arg::Pos(x) => pos.push(ev.eval(sc, x)?),
                Arg::Named(k, x) => {
                    let v = ev.eval(sc, x)?;
                    m.insert(V::Str(k.clone()), v);
                }
                Arg::Mapping(k, x) => {
                    let k = ev.eval(sc, k)?;
                    let v = ev.eval(sc, x)?;
                    m.insert(k, v);
                }
                Arg::Empty => return Err(c.nomatch()),
            }
        }
        match pos.len() {
            0 => {}
            1 => match &pos[0] {
                V::Dict(o) => {
                    for (k, v) in o.iter() {
                        m.insert(k.clone(), v.clone());
                    }
                }
                _ => return Err(c.nomatch()),
            },
            2 => {
                m.insert(pos[0].clone(), pos[1].clone());
            }
            _ => return Err(c.nomatch()),
        }
        return Ok(V::dict(m));
    }
    let a = ev.bind(sc, c, &["*args"])?;
    let V::List(items) = need(c, &a[0])? else {
        return Err(c.nomatch());
    };
    Ok(V::set(items.iter().cloned().collect()))
}

fn c_to_list<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["collection"])?;
    Ok(V::list(iterable(ev, c, &a[0])?))
}

fn c_to_set<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["collection"])?;
    Ok(V::set(iterable(ev, c, &a[0])?.into_iter().collect()))
}

fn c_to_dict<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["collection", "&keySelector", "&valueSelector"])?;
    let items = iterable(ev, c, &a[0])?;
    let kf = need_lazy(c, &a[1])?;
    let mut m = Map::new();
    for x in items {
        let k = ev.lambda(sc, kf, std::slice::from_ref(&x))?;
        let v = match lazy(&a[2]) {
            Some(f) => ev.lambda(sc, f, &[x])?,
            None => x,
        };
        m.insert(k, v);
    }
    Ok(V::dict(m))
}

fn type_check<'e>(
    ev: &mut Ev<'e>,
    sc: &Rc<Scope<'e>>,
    c: &CallInfo<'e>,
    f: fn(&V) -> bool,
) -> R<V> {
    let a = ev.bind(sc, c, &["arg"])?;
    Ok(V::Bool(f(&need(c, &a[0])?)))
}

fn c_is_list<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    type_check(ev, sc, c, |v| matches!(v, V::List(_)))
}

fn c_is_dict<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    type_check(ev, sc, c, |v| matches!(v, V::Dict(_)))
}

fn c_is_set<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    type_check(ev, sc, c, |v| matches!(v, V::Set(_)))
}

fn c_contains<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["collection", "value"])?;
    let items = iterable(ev, c, &a[0])?;
    let v = need(c, &a[1])?;
    Ok(V::Bool(items.contains(&v)))
}

fn dict_arg(c: &CallInfo, s: &Slot) -> R<Arc<Map>> {
    match s {
        Slot::Val(V::Dict(d)) => Ok(d.clone()),
        _ => Err(c.nomatch()),
    }
}

fn c_contains_key<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["dict", "key"])?;
    let d = dict_arg(c, &a[0])?;
    Ok(V::Bool(d.contains_key(&need(c, &a[1])?)))
}

fn c_contains_value<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["dict", "value"])?;
    let d = dict_arg(c, &a[0])?;
    let v = need(c, &a[1])?;
    Ok(V::Bool(d.values().any(|x| *x == v)))
}

fn c_get<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["dict", "key", "default"])?;
    let d = dict_arg(c, &a[0])?;
    let k = need(c, &a[1])?;
    Ok(d.get(&k)
        .cloned()
        .unwrap_or_else(|| val(&a[2]).unwrap_or(V::Null)))
}

fn c_keys<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["dict"])?;
    let d = dict_arg(c, &a[0])?;
    Ok(V::set(d.keys().cloned().collect()))
}

fn c_values<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["dict"])?;
    let d = dict_arg(c, &a[0])?;
    Ok(V::iter(d.values().cloned().collect()))
}

fn c_items<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["dict"])?;
    let d = dict_arg(c, &a[0])?;
    Ok(V::set(
        d.iter()
            .map(|(k, v)| V::list(vec![k.clone(), v.clone()]))
            .collect(),
    ))
}

fn c_delete<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    if let Some(V::Dict(d)) = &c.recv {
        let a = ev.bind(sc, c, &["dict", "*keys"])?;
        let V::List(keys) = need(c, &a[1])? else {
            return Err(c.nomatch());
        };
        let mut m = d.as_ref().clone();
        for k in keys.iter() {
            m.shift_remove(k);
        }
        return Ok(V::dict(m));
    }
    let a = ev.bind(sc, c, &["collection", "position", "count"])?;
    let items = iterable(ev, c, &a[0])?;
    let pos = strict_int(&a[1])?;
    let count = int_arg(c, &a[2], 1)?;
    let mut out = vec![];
    for (i, x) in items.into_iter().enumerate() {
        let i = i as i64;
        if i < pos || (count >= 0 && i >= pos + count) {
            out.push(x);
        }
    }
    Ok(V::iter(out))
}

fn c_delete_all<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["dict", "keys"])?;
    let d = dict_arg(c, &a[0])?;
    let keys = iterable(ev, c, &a[1])?;
    let mut m = d.as_ref().clone();
    for k in keys.iter() {
        m.shift_remove(k);
    }
    Ok(V::dict(m))
}

fn c_insert<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["collection", "position", "value"])?;
    let mut items = iterable(ev, c, &a[0])?;
    let pos = strict_int(&a[1])?;
    let v = need(c, &a[2])?;
    let n = items.len() as i64;
    let p = if pos < 0 {
        (pos + n).max(0)
    } else {
        pos.min(n)
    };
    items.insert(p as usize, v);
    Ok(V::list(items))
}

fn c_insert_many<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["collection", "position", "values"])?;
    let items = iterable(ev, c, &a[0])?;
    let pos = strict_int(&a[1])?.max(0) as usize;
    let vals = iterable(ev, c, &a[2])?;
    let pos = pos.min(items.len());
    let mut out = items[..pos].to_vec();
    out.extend(vals);
    out.extend(items[pos..].iter().cloned());
    Ok(V::iter(out))
}

fn c_replace_many<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["collection", "position", "values", "count"])?;
    let items = iterable(ev, c, &a[0])?;
    let pos = strict_int(&a[1])?;
    let vals = iterable(ev, c, &a[2])?;
    let count = int_arg(c, &a[3], 1)?;
    let mut out = vec![];
    let mut inserted = false;
    for (i, x) in items.into_iter().enumerate() {
        let i = i as i64;
        if i >= pos && (count < 0 || i < pos + count) {
            if !inserted {
                out.extend(vals.iter().cloned());
                inserted = true;
            }
        } else {
            out.push(x);
        }
    }
    Ok(V::iter(out))
}

fn set_arg(ev: &mut Ev, c: &CallInfo, s: &Slot) -> R<Set> {
    match need(c, s)? {
        V::Set(x) => Ok(x.as_ref().clone()),
        v if v.is_iterable() => Ok(ev.items(&v)?.into_iter().collect()),
        _ => Err(c.nomatch()),
    }
}

fn c_add<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["set", "*values"])?;
    let Some(V::Set(s)) = val(&a[0]) else {
        return Err(c.nomatch());
    };
    let mut s = s.as_ref().clone();
    if let Some(V::List(vs)) = val(&a[1]) {
        s.extend(vs.iter().cloned());
    }
    Ok(V::set(s))
}

fn c_remove<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["set", "*values"])?;
    let Some(V::Set(s)) = val(&a[0]) else {
        return Err(c.nomatch());
    };
    let mut s = s.as_ref().clone();
    if let Some(V::List(vs)) = val(&a[1]) {
        for v in vs.iter() {
            s.shift_remove(v);
        }
    }
    Ok(V::set(s))
}

fn setop<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>, op: u8) -> R<V> {
    let a = ev.bind(sc, c, &["left", "right"])?;
    let (Some(V::Set(_)), Some(V::Set(_))) = (val(&a[0]), val(&a[1])) else {
        return Err(c.nomatch());
    };
    let l = set_arg(ev, c, &a[0])?;
    let r = set_arg(ev, c, &a[1])?;
    let out: Set = match op {
        0 => l.iter().chain(r.iter()).cloned().collect(),
        1 => l.iter().filter(|x| r.contains(*x)).cloned().collect(),
        2 => l.iter().filter(|x| !r.contains(*x)).cloned().collect(),
        _ => l
            .iter()
            .filter(|x| !r.contains(*x))
            .chain(r.iter().filter(|x| !l.contains(*x)))
            .cloned()
            .collect(),
    };
    Ok(V::set(out))
}

fn c_union<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    setop(ev, sc, c, 0)
}
fn c_intersect<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    setop(ev, sc, c, 1)
}
fn c_difference<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    setop(ev, sc, c, 2)
}
fn c_sym_diff<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    setop(ev, sc, c, 3)
}

fn merge(a: &V, b: &V, depth: usize, max_levels: i64) -> R<V> {
    if depth > crate::MAX_DEPTH {
        return Err(limit_err("maximum recursion depth exceeded"));
    }
    match (a, b) {
        (V::Dict(x), V::Dict(y)) if max_levels == 0 || (depth as i64) < max_levels => {
            let mut m = x.as_ref().clone();
            for (k, v) in y.iter() {
                let nv = match m.get(k) {
                    Some(old) => merge(old, v, depth + 1, max_levels)?,
                    None => v.clone(),
                };
                m.insert(k.clone(), nv);
            }
            Ok(V::dict(m))
        }
        (V::List(x), V::List(y)) if max_levels == 0 || (depth as i64) < max_levels => {
            let mut out: Vec<V> = x.as_ref().clone();
            for v in y.iter() {
                if !out.contains(v) {
                    out.push(v.clone());
                }
            }
            Ok(V::list(out))
        }
        _ => Ok(b.clone()),
    }
}

fn c_merge_with<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(
        sc,
        c,
        &["dict", "another", "&listMerger", "&itemMerger", "maxLevels"],
    )?;
    let d = need(c, &a[0])?;
    let o = need(c, &a[1])?;
    if !matches!(d, V::Dict(_)) || !matches!(o, V::Dict(_)) {
        return Err(c.nomatch());
    }
    if lazy(&a[2]).is_some() || lazy(&a[3]).is_some() {
        return Err(eval_err("custom mergers are not supported"));
    }
    let ml = int_arg(c, &a[4], 0)?;
    merge(&d, &o, 0, ml)
}

// ---------------------------------------------------------------- strings

fn s_str<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["value"])?;
    Ok(V::string(pyfmt::yaql_str(&need(c, &a[0])?)))
}

fn s_is_string<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    type_check(ev, sc, c, |v| matches!(v, V::Str(_)))
}

fn s_to_upper<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["string"])?;
    Ok(V::string(string(c, &a[0])?.to_uppercase()))
}

fn s_to_lower<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["string"])?;
    Ok(V::string(string(c, &a[0])?.to_lowercase()))
}

fn is_py_space(ch: char) -> bool {
    ch.is_whitespace() || matches!(ch, '\x1c'..='\x1f')
}

fn trim_impl<'e>(
    ev: &mut Ev<'e>,
    sc: &Rc<Scope<'e>>,
    c: &CallInfo<'e>,
    left: bool,
    right: bool,
) -> R<V> {
    let a = ev.bind(sc, c, &["string", "chars"])?;
    let s = string(c, &a[0])?;
    let chars = opt_string(c, &a[1])?;
    let pred = |ch: char| match &chars {
        Some(cs) => cs.contains(ch),
        None => is_py_space(ch),
    };
    let mut r: &str = &s;
    if left {
        r = r.trim_start_matches(pred);
    }
    if right {
        r = r.trim_end_matches(pred);
    }
    Ok(V::str(r))
}

fn s_trim<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    trim_impl(ev, sc, c, true, true)
}
fn s_trim_left<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    trim_impl(ev, sc, c, true, false)
}
fn s_trim_right<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    trim_impl(ev, sc, c, false, true)
}

fn py_split(s: &str, sep: Option<&str>, max: i64) -> R<Vec<V>> {
    let mut out = vec![];
    match sep {
        Some("") => return Err(eval_err("empty separator")),
        Some(sep) => {
            if max < 0 {
                out.extend(s.split(sep).map(V::str));
            } else {
                out.extend(s.splitn(max as usize + 1, sep).map(V::str));
            }
        }
        None => {
            let mut rest = s.trim_start_matches(is_py_space);
            let mut n = 0;
            while !rest.is_empty() {
                if max >= 0 && n >= max {
                    out.push(V::str(rest));
                    break;
                }
                let end = rest.find(is_py_space).unwrap_or(rest.len());
                out.push(V::str(&rest[..end]));
                n += 1;
                rest = rest[end..].trim_start_matches(is_py_space);
            }
        }
    }
    Ok(out)
}

fn py_rsplit(s: &str, sep: Option<&str>, max: i64) -> R<Vec<V>> {
    match sep {
        Some("") => Err(eval_err("empty separator")),
        Some(sep) => {
            let mut v: Vec<V> = if max < 0 {
                s.rsplit(sep).map(V::str).collect()
            } else {
                s.rsplitn(max as usize + 1, sep).map(V::str).collect()
            };
            v.reverse();
            Ok(v)
        }
        None => {
            let mut out = vec![];
            let mut rest = s.trim_end_matches(is_py_space);
            let mut n = 0;
            while !rest.is_empty() {
                if max >= 0 && n >= max {
                    out.push(V::str(rest));
                    break;
                }
                let start = rest
                    .rfind(is_py_space)
                    .map(|i| i + rest[i..].chars().next().map(|c| c.len_utf8()).unwrap_or(1))
                    .unwrap_or(0);
                out.push(V::str(&rest[start..]));
                n += 1;
                rest = rest[..start].trim_end_matches(is_py_space);
            }
            out.reverse();
            Ok(out)
        }
    }
}

fn s_split<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    // regex receiver: re.split(string, maxSplit)
    if let Some(V::Regex(_)) = &c.recv {
        let a = ev.bind(sc, c, &["regexp", "string", "maxSplit"])?;
        let Some(V::Regex(re)) = val(&a[0]) else {
            return Err(c.nomatch());
        };
        let s = string(c, &a[1])?;
        let max = int_arg(c, &a[2], 0)?;
        return regex_split(&re, &s, max);
    }
    let a = ev.bind(sc, c, &["string", "separator", "maxSplits"])?;
    let s = string(c, &a[0])?;
    if let Slot::Val(V::Regex(re)) = &a[1] {
        let max = int_arg(c, &a[2], 0)?;
        return regex_split(re, &s, max);
    }
    let sep = opt_string(c, &a[1])?;
    let max = int_arg(c, &a[2], -1)?;
    Ok(V::list(py_split(&s, sep.as_deref(), max)?))
}

fn s_right_split<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["string", "separator", "maxSplits"])?;
    let s = string(c, &a[0])?;
    let sep = opt_string(c, &a[1])?;
    let max = int_arg(c, &a[2], -1)?;
    Ok(V::list(py_rsplit(&s, sep.as_deref(), max)?))
}

fn char_slice(s: &str, start: i64, end: Option<i64>) -> String {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len() as i64;
    let norm = |i: i64| if i < 0 { (n + i).max(0) } else { i.min(n) };
    let a = norm(start);
    let b = end.map(norm).unwrap_or(n);
    if a >= b {
        return String::new();
    }
    chars[a as usize..b as usize].iter().collect()
}

fn s_substring<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["string", "start", "length"])?;
    let s = string(c, &a[0])?;
    let start = strict_int(&a[1])?;
    let length = int_arg(c, &a[2], -1)?;
    let n = s.chars().count() as i64;
    let start = if start < 0 { start + n } else { start };
    let end = if length < 0 {
        None
    } else {
        Some(start + length)
    };
    Ok(V::string(char_slice(&s, start, end)))
}

fn s_index_of<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>, last: bool) -> R<V> {
    let a = ev.bind(sc, c, &["string", "sub", "start", "length"])?;
    let s = string(c, &a[0])?;
    let sub = string(c, &a[1])?;
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len() as i64;
    let start = int_arg(c, &a[2], 0)?;
    let start = if start < 0 {
        (start + n).max(0)
    } else {
        start.min(n)
    };
    let end = match &a[3] {
        Slot::Missing => n,
        sl => {
            let l = int_arg(c, sl, -1)?;
            if l < 0 {
                n
            } else {
                (start + l).min(n)
            }
        }
    };
    if start > end {
        return Ok(V::Int(-1));
    }
    let hay: String = chars[start as usize..end as usize].iter().collect();
    let found = if last {
        hay.rfind(sub.as_ref())
    } else {
        hay.find(sub.as_ref())
    };
    Ok(V::Int(match found {
        Some(b) => hay[..b].chars().count() as i64 + start,
        None => -1,
    }))
}

fn affix<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>, starts: bool) -> R<V> {
    let a = ev.bind(sc, c, &["string", "*prefixes"])?;
    let s = string(c, &a[0])?;
    let V::List(ps) = need(c, &a[1])? else {
        return Err(c.nomatch());
    };
    for p in ps.iter() {
        let V::Str(p) = p else {
            return Err(c.nomatch());
        };
        if (starts && s.starts_with(p.as_ref())) || (!starts && s.ends_with(p.as_ref())) {
            return Ok(V::Bool(true));
        }
    }
    Ok(V::Bool(false))
}

fn s_starts_with<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    affix(ev, sc, c, true)
}
fn s_ends_with<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    affix(ev, sc, c, false)
}

fn s_to_char_array<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["string"])?;
    let s = string(c, &a[0])?;
    Ok(V::list(
        s.chars().map(|ch| V::string(ch.to_string())).collect(),
    ))
}

fn s_is_empty<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["string", "trim", "chars"])?;
    let s = match val(&a[0]) {
        Some(V::Null) => return Ok(V::Bool(true)),
        Some(V::Str(s)) => s,
        _ => return Err(c.nomatch()),
    };
    let trim = val(&a[1]).map(|v| v.truthy()).unwrap_or(true);
    let chars = opt_string(c, &a[2])?;
    let r: &str = if trim {
        match &chars {
            Some(cs) => s.trim_matches(|ch| cs.contains(ch)),
            None => s.trim_matches(is_py_space),
        }
    } else {
        &s
    };
    Ok(V::Bool(r.is_empty()))
}

fn s_norm<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["string", "chars"])?;
    let s = match val(&a[0]) {
        Some(V::Null) => return Ok(V::Null),
        Some(V::Str(s)) => s,
        _ => return Err(c.nomatch()),
    };
    let chars = opt_string(c, &a[1])?;
    let r: &str = match &chars {
        Some(cs) => s.trim_matches(|ch| cs.contains(ch)),
        None => s.trim_matches(is_py_space),
    };
    Ok(if r.is_empty() { V::Null } else { V::str(r) })
}

fn s_hex<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["num"])?;
    match need(c, &a[0])? {
        V::Int(i) => Ok(V::string(if i < 0 {
            format!("-0x{:x}", -(i as i128))
        } else {
            format!("0x{:x}", i)
        })),
        V::Float(_) => Err(eval_err(
            "'float' object cannot be interpreted as an integer",
        )),
        V::Null => Err(eval_err(
            "'NoneType' object cannot be interpreted as an integer",
        )),
        _ => Err(c.nomatch()),
    }
}

fn s_characters<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let names = [
        "digits",
        "hexdigits",
        "asciiLowercase",
        "asciiUppercase",
        "asciiLetters",
        "letters",
        "octdigits",
        "punctuation",
        "printable",
        "lowercase",
        "uppercase",
        "whitespace",
    ];
    let a = ev.bind(sc, c, &names)?;
    let lower = "abcdefghijklmnopqrstuvwxyz";
    let upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let punct = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
    let ws = " \t\n\r\x0b\x0c";
    let mut out = Set::new();
    for (i, n) in names.iter().enumerate() {
        if !val(&a[i]).map(|v| v.truthy()).unwrap_or(false) {
            continue;
        }
        let s: String = match *n {
            "digits" => "0123456789".into(),
            "hexdigits" => "0123456789abcdefABCDEF".into(),
            "asciiLowercase" | "lowercase" => lower.into(),
            "asciiUppercase" | "uppercase" => upper.into(),
            "asciiLetters" | "letters" => format!("{lower}{upper}"),
            "octdigits" => "01234567".into(),
            "punctuation" => punct.into(),
            "printable" => format!("0123456789{lower}{upper}{punct}{ws}"),
            _ => ws.into(),
        };
        for ch in s.chars() {
            out.insert(V::string(ch.to_string()));
        }
    }
    Ok(V::set(out))
}

fn s_replace<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    match &c.recv {
        Some(V::Regex(_)) => {
            let a = ev.bind(sc, c, &["regexp", "string", "repl", "count"])?;
            let Some(V::Regex(re)) = val(&a[0]) else {
                return Err(c.nomatch());
            };
            let s = string(c, &a[1])?;
            let repl = string(c, &a[2])?;
            let count = int_arg(c, &a[3], 0)?;
            regex_replace(&re, &s, &repl, count)
        }
        Some(V::Str(_)) => {
            let a = ev.bind(sc, c, &["string", "old", "new", "count"])?;
            let s = string(c, &a[0])?;
            match val(&a[1]) {
                Some(V::Regex(re)) => {
                    let repl = string(c, &a[2])?;
                    let count = int_arg(c, &a[3], 0)?;
                    regex_replace(&re, &s, &repl, count)
                }
                Some(V::Dict(d)) => {
                    // replacements dict, count is the second positional
                    let count = match &a[2] {
                        Slot::Missing => -1,
                        sl => int_arg(c, sl, -1)?,
                    };
                    let mut r = s.to_string();
                    for (k, v) in d.iter() {
                        let k = pyfmt::yaql_str(k);
                        let v = pyfmt::yaql_str(v);
                        r = py_replace(&r, &k, &v, count)?;
                    }
                    Ok(V::string(r))
                }
                Some(V::Str(old)) => {
                    let new = string(c, &a[2])?;
                    let count = int_arg(c, &a[3], -1)?;
                    Ok(V::string(py_replace(&s, &old, &new, count)?))
                }
                _ => Err(c.nomatch()),
            }
        }
        Some(v) if v.is_iterable() => {
            let a = ev.bind(sc, c, &["collection", "position", "value", "count"])?;
            let items = iterable(ev, c, &a[0])?;
            let pos = strict_int(&a[1])?;
            let v = need(c, &a[2])?;
            let count = int_arg(c, &a[3], 1)?;
            let mut out = vec![];
            let mut done = false;
            for (i, x) in items.into_iter().enumerate() {
                let i = i as i64;
                if i >= pos && (count < 0 || i < pos + count) {
                    if !done {
                        out.push(v.clone());
                        done = true;
                    }
                } else {
                    out.push(x);
                }
            }
            Ok(V::list(out))
        }
        Some(V::DateTime(_)) => d_replace(ev, sc, c),
        _ => Err(c.nomatch()),
    }
}

fn py_replace(s: &str, old: &str, new: &str, count: i64) -> R<String> {
    let r = if count < 0 {
        if old.is_empty() {
            let mut out = String::from(new);
            for ch in s.chars() {
                out.push(ch);
                out.push_str(new);
            }
            out
        } else {
            s.replace(old, new)
        }
    } else {
        s.replacen(old, new, count as usize)
    };
    check_str(r.len())?;
    Ok(r)
}

// ---------------------------------------------------------------- math

fn num1<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["value"])?;
    need(c, &a[0])
}

fn m_abs<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    match num1(ev, sc, c)? {
        V::Int(i) => i
            .checked_abs()
            .map(V::Int)
            .ok_or_else(|| limit_err("integer overflow")),
        V::Float(f) => Ok(V::Float(f.abs())),
        _ => Err(c.nomatch()),
    }
}

fn parse_py_float(s: &str) -> Option<f64> {
    let t = s.trim().replace('_', "");
    match t.to_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => return Some(f64::INFINITY),
        "-inf" | "-infinity" => return Some(f64::NEG_INFINITY),
        "nan" | "+nan" | "-nan" => return Some(f64::NAN),
        _ => {}
    }
    if t.chars()
        .any(|ch| ch.is_alphabetic() && ch != 'e' && ch != 'E')
    {
        return None;
    }
    t.parse::<f64>().ok()
}

fn m_float<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    match num1(ev, sc, c)? {
        V::Int(i) => Ok(V::Float(i as f64)),
        V::Bool(b) => Ok(V::Float(b as i64 as f64)),
        V::Null => Ok(V::Float(0.0)),
        V::Float(f) => Ok(V::Float(f)),
        V::Str(s) => parse_py_float(&s).map(V::Float).ok_or_else(|| {
            eval_err(format!(
                "could not convert string to float: {}",
                pyfmt::str_repr(&s)
            ))
        }),
        v => Err(eval_err(format!(
            "float() argument must be a string or a real number, not '{}'",
            v.type_name()
        ))),
    }
}

fn m_int<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    match num1(ev, sc, c)? {
        V::Null => Ok(V::Int(0)),
        V::Int(i) => Ok(V::Int(i)),
        V::Bool(b) => Ok(V::Int(b as i64)),
        V::Float(f) => {
            if f.is_nan() {
                return Err(eval_err("cannot convert float NaN to integer"));
            }
            if f.is_infinite() {
                return Err(eval_err("cannot convert float infinity to integer"));
            }
            if f.abs() >= 9.2e18 {
                return Err(limit_err("integer result out of the supported range"));
            }
            Ok(V::Int(f.trunc() as i64))
        }
        V::Str(s) => {
            let t = s.trim().replace('_', "");
            t.parse::<i64>().map(V::Int).map_err(|_| {
                eval_err(format!(
                    "invalid literal for int() with base 10: {}",
                    pyfmt::str_repr(&s)
                ))
            })
        }
        v => Err(eval_err(format!(
            "int() argument must be a string, a bytes-like object or a real number, not '{}'",
            v.type_name()
        ))),
    }
}

fn m_is_integer<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    type_check(ev, sc, c, |v| matches!(v, V::Int(_)))
}

fn m_is_number<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    type_check(ev, sc, c, |v| matches!(v, V::Int(_) | V::Float(_)))
}

fn m_pow<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["a", "b", "c"])?;
    let (x, y) = (need(c, &a[0])?, need(c, &a[1])?);
    if !x.is_number() || !y.is_number() {
        return Err(c.nomatch());
    }
    let m = val(&a[2]).unwrap_or(V::Null);
    match (&x, &y, &m) {
        (V::Int(b), V::Int(e), V::Null) if *e >= 0 => {
            let e32 = u32::try_from(*e)
                .map_err(|_| limit_err("integer result out of the supported range"))?;
            b.checked_pow(e32)
                .map(V::Int)
                .ok_or_else(|| limit_err("integer result out of the supported range"))
        }
        (V::Int(b), V::Int(e), V::Int(md)) if *e >= 0 => {
            if *md == 0 {
                return Err(eval_err("pow() 3rd argument cannot be 0"));
            }
            let mut result: i128 = 1;
            let mut base = (*b as i128).rem_euclid(*md as i128);
            let mut e = *e;
            let mdi = *md as i128;
            while e > 0 {
                if e & 1 == 1 {
                    result = (result * base).rem_euclid(mdi);
                }
                base = (base * base).rem_euclid(mdi);
                e >>= 1;
            }
            let r = result.rem_euclid(mdi);
            Ok(V::Int(if r != 0 && mdi < 0 {
                (r + mdi) as i64
            } else {
                r as i64
            }))
        }
        (_, _, V::Null) => {
            let (b, e) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            if b == 0.0 && e < 0.0 {
                return Err(eval_err("0.0 cannot be raised to a negative power"));
            }
            let r = b.powf(e);
            if r.is_nan() && !b.is_nan() && !e.is_nan() {
                return Err(eval_err("math domain error"));
            }
            Ok(V::Float(r))
        }
        _ => Err(eval_err(
            "pow() 3rd argument not allowed unless all arguments are integers",
        )),
    }
}

fn round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 {
        2.0 * (x / 2.0).round()
    } else {
        r
    }
}

fn m_round<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["number", "ndigits"])?;
    let x = need(c, &a[0])?;
    let nd = int_arg(c, &a[1], 0)?;
    match x {
        V::Int(i) => {
            if nd >= 0 {
                return Ok(V::Int(i));
            }
            let p = 10i64.checked_pow((-nd) as u32).unwrap_or(i64::MAX);
            let q = i.div_euclid(p);
            let r = i.rem_euclid(p);
            let twice = r.saturating_mul(2);
            let q = if twice > p || (twice == p && q % 2 != 0) {
                q + 1
            } else {
                q
            };
            Ok(V::Int(q.saturating_mul(p)))
        }
        V::Float(f) => {
            if !f.is_finite() {
                return Ok(V::Float(f));
            }
            if nd == 0 {
                return Ok(V::Float(round_half_even(f)));
            }
            // Python rounds the exact decimal value: format with enough digits then parse.
            if nd > 0 {
                let s = format!("{:.*}", nd.min(300) as usize, f);
                Ok(V::Float(s.parse().unwrap_or(f)))
            } else {
                let p = 10f64.powi((-nd) as i32);
                Ok(V::Float(round_half_even(f / p) * p))
            }
        }
        _ => Err(c.nomatch()),
    }
}

fn m_sign<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    match num1(ev, sc, c)? {
        V::Int(i) => Ok(V::Int(i.signum())),
        V::Float(f) => Ok(V::Int(if f > 0.0 {
            1
        } else if f < 0.0 {
            -1
        } else {
            0
        })),
        _ => Err(c.nomatch()),
    }
}

fn ints2<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<(i64, i64)> {
    let a = ev.bind(sc, c, &["left", "right"])?;
    let f = |s: &Slot| match s {
        Slot::Val(V::Int(i)) => Ok(*i),
        Slot::Val(V::Bool(b)) => Ok(*b as i64),
        _ => Err(c.nomatch()),
    };
    Ok((f(&a[0])?, f(&a[1])?))
}

fn m_bit_and<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let (a, b) = ints2(ev, sc, c)?;
    Ok(V::Int(a & b))
}
fn m_bit_or<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let (a, b) = ints2(ev, sc, c)?;
    Ok(V::Int(a | b))
}
fn m_bit_xor<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let (a, b) = ints2(ev, sc, c)?;
    Ok(V::Int(a ^ b))
}
fn m_bit_not<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    match num1(ev, sc, c)? {
        V::Int(i) => Ok(V::Int(!i)),
        V::Bool(b) => Ok(V::Int(!(b as i64))),
        _ => Err(c.nomatch()),
    }
}
fn m_shl<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let (a, b) = ints2(ev, sc, c)?;
    if b < 0 {
        return Err(eval_err("negative shift count"));
    }
    if b >= 63 || (a != 0 && (a.unsigned_abs().leading_zeros() as i64) <= b) {
        if a == 0 {
            return Ok(V::Int(0));
        }
        return Err(limit_err("integer result out of the supported range"));
    }
    Ok(V::Int(a << b))
}
fn m_shr<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let (a, b) = ints2(ev, sc, c)?;
    if b < 0 {
        return Err(eval_err("negative shift count"));
    }
    Ok(V::Int(if b >= 64 {
        if a < 0 {
            -1
        } else {
            0
        }
    } else {
        a >> b
    }))
}

fn m_random<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["from", "to"])?;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0x9e3779b97f4a7c15);
    let mut x = seed ^ 0x2545F4914F6CDD1D;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    match (&a[0], &a[1]) {
        (Slot::Missing, Slot::Missing) => Ok(V::Float((x >> 11) as f64 / (1u64 << 53) as f64)),
        _ => {
            let lo = strict_int(&a[0])?;
            let hi = strict_int(&a[1])?;
            if hi < lo {
                return Err(eval_err("empty range for randrange()"));
            }
            let span = (hi - lo) as u64 + 1;
            Ok(V::Int(lo + (x % span) as i64))
        }
    }
}

// ---------------------------------------------------------------- boolean / branching

fn b_bool<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    Ok(V::Bool(num1(ev, sc, c)?.truthy()))
}

fn b_is_boolean<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    type_check(ev, sc, c, |v| matches!(v, V::Bool(_)))
}

fn b_coalesce<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    for a in c.args.iter() {
        match a {
            Arg::Pos(x) => {
                let v = ev.eval(sc, x)?;
                if !matches!(v, V::Null) {
                    return Ok(v);
                }
            }
            _ => return Err(c.nomatch()),
        }
    }
    Ok(V::Null)
}

fn b_switch<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    for a in c.args.iter() {
        match a {
            Arg::Mapping(k, v) => {
                if ev.eval(sc, k)?.truthy() {
                    return ev.eval(sc, v);
                }
            }
            Arg::Named(_, v) => {
                // a bare keyword condition is a non-empty string: truthy
                return ev.eval(sc, v);
            }
            _ => return Err(c.nomatch()),
        }
    }
    Ok(V::Null)
}

fn b_select_case<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let mut i = 0;
    for a in c.args.iter() {
        let Arg::Pos(x) = a else {
            return Err(c.nomatch());
        };
        if ev.eval(sc, x)?.truthy() {
            return Ok(V::Int(i));
        }
        i += 1;
    }
    Ok(V::Int(i))
}

fn b_select_all_cases<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let mut out = vec![];
    for (i, a) in c.args.iter().enumerate() {
        let Arg::Pos(x) = a else {
            return Err(c.nomatch());
        };
        if ev.eval(sc, x)?.truthy() {
            out.push(V::Int(i as i64));
        }
    }
    Ok(V::list(out))
}

fn b_examine<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let mut out = vec![];
    for a in c.args.iter() {
        let Arg::Pos(x) = a else {
            return Err(c.nomatch());
        };
        out.push(V::Bool(ev.eval(sc, x)?.truthy()));
    }
    Ok(V::list(out))
}

fn b_switch_case<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let case = c.recv.clone().ok_or_else(|| c.nomatch())?;
    let i = match case {
        V::Int(i) => i,
        V::Bool(b) => b as i64,
        _ => return Err(c.nomatch()),
    };
    let pos: Vec<&Expr> = c
        .args
        .iter()
        .filter_map(|a| if let Arg::Pos(x) = a { Some(x) } else { None })
        .collect();
    if pos.len() != c.args.len() {
        return Err(c.nomatch());
    }
    if pos.is_empty() {
        return Ok(V::Null);
    }
    if i < 0 || i as usize >= pos.len() {
        return ev.eval(sc, pos[pos.len() - 1]);
    }
    ev.eval(sc, pos[i as usize])
}

fn b_assert<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["obj", "&condition", "message"])?;
    let obj = need(c, &a[0])?;
    let cond = need_lazy(c, &a[1])?;
    let msg = match &a[2] {
        Slot::Missing => Arc::from("Assertion failed"),
        s => string(c, s)?,
    };
    if !ev.lambda(sc, cond, std::slice::from_ref(&obj))?.truthy() {
        return Err(eval_err(msg.to_string()));
    }
    Ok(obj)
}

fn sys_context_only<'e>(_ev: &mut Ev<'e>, _sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    Err(eval_err(format!(
        "{}() produces a context object; use it on the left of '->'",
        c.name
    )))
}

fn sys_call<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["name", "args", "kwargs"])?;
    let name = string(c, &a[0])?;
    let Some(V::List(args)) = val(&a[1]) else {
        return Err(c.nomatch());
    };
    let Some(V::Dict(kwargs)) = val(&a[2]) else {
        return Err(c.nomatch());
    };
    let mut owned: Vec<Arg> = args
        .iter()
        .map(|v| Arg::Pos(Expr::Const(v.clone())))
        .collect();
    for (k, v) in kwargs.iter() {
        let V::Str(k) = k else {
            return Err(c.nomatch());
        };
        owned.push(Arg::Named(k.clone(), Expr::Const(v.clone())));
    }
    let mut inner = Ev {
        engine: ev.engine,
        data: ev.data,
        user: ev.user,
        depth: ev.depth,
    };
    let scope: Rc<Scope<'_>> = sc.clone();
    inner.call(&scope, &name, None, &owned)
}

// ---------------------------------------------------------------- regex

pub fn compile_regex(p: &str, flags: u8) -> R<Arc<Regex>> {
    let mut pat = String::new();
    if flags != 0 {
        pat.push_str("(?");
        if flags & 1 != 0 {
            pat.push('i');
        }
        if flags & 2 != 0 {
            pat.push('m');
        }
        if flags & 4 != 0 {
            pat.push('s');
        }
        pat.push(')');
    }
    pat.push_str(&translate_py_regex(p));
    let re = fancy_regex::RegexBuilder::new(&pat)
        .backtrack_limit(1_000_000)
        .build()
        .map_err(|e| eval_err(e.to_string()))?;
    Ok(Arc::new(Regex {
        pattern: p.to_string(),
        flags,
        re,
    }))
}

/// Python `re` syntax differences: `(?P=name)` backreferences, `\Z`.
fn translate_py_regex(p: &str) -> String {
    let mut out = p.replace("(?P=", "\\k<");
    if out.contains("\\k<") {
        // close named backreference: (?P=name) -> \k<name>
        let mut fixed = String::new();
        let mut rest = out.as_str();
        while let Some(i) = rest.find("\\k<") {
            fixed.push_str(&rest[..i + 3]);
            rest = &rest[i + 3..];
            if let Some(j) = rest.find(')') {
                fixed.push_str(&rest[..j]);
                fixed.push('>');
                rest = &rest[j + 1..];
            }
        }
        fixed.push_str(rest);
        out = fixed;
    }
    out.replace("\\Z", "\\z")
}

fn regex_of(c: &CallInfo, v: &V) -> R<Arc<Regex>> {
    match v {
        V::Regex(r) => Ok(r.clone()),
        V::Str(s) => compile_regex(s, 0),
        _ => Err(c.nomatch()),
    }
}

fn r_regex<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["pattern", "ignoreCase", "multiLine", "dotAll"])?;
    let p = string(c, &a[0])?;
    let t = |s: &Slot| val(s).map(|v| v.truthy()).unwrap_or(false);
    let flags = (t(&a[1]) as u8) | ((t(&a[2]) as u8) << 1) | ((t(&a[3]) as u8) << 2);
    Ok(V::Regex(compile_regex(&p, flags)?))
}

fn r_matches<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["a", "b"])?;
    let (x, y) = (need(c, &a[0])?, need(c, &a[1])?);
    let (re, s) = match (&x, &y) {
        (V::Regex(r), V::Str(s)) => (r.clone(), s.clone()),
        (V::Str(s), V::Str(p)) => (compile_regex(p, 0)?, s.clone()),
        _ => return Err(c.nomatch()),
    };
    Ok(V::Bool(
        re.re.is_match(&s).map_err(|e| eval_err(e.to_string()))?,
    ))
}

fn group_dict(caps: &fancy_regex::Captures, s: &str, i: usize) -> V {
    let mut m = Map::new();
    let g = caps.get(i);
    m.insert(
        V::str("value"),
        g.map(|x| V::str(x.as_str())).unwrap_or(V::Null),
    );
    m.insert(
        V::str("start"),
        V::Int(
            g.map(|x| s[..x.start()].chars().count() as i64)
                .unwrap_or(-1),
        ),
    );
    m.insert(
        V::str("end"),
        V::Int(g.map(|x| s[..x.end()].chars().count() as i64).unwrap_or(-1)),
    );
    V::dict(m)
}

/// The lambda arguments yaql publishes for a match: `$1` (= `$`) the whole match, `$2`...
/// each group, all as `{value, start, end}`.
fn match_args(caps: &fancy_regex::Captures, s: &str) -> Vec<V> {
    (0..caps.len()).map(|i| group_dict(caps, s, i)).collect()
}

fn search_impl<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>, all: bool) -> R<V> {
    let a = ev.bind(sc, c, &["regexp", "string", "&selector"])?;
    let re = regex_of(c, &need(c, &a[0])?)?;
    let s = string(c, &a[1])?;
    let mut out = vec![];
    for caps in re.re.captures_iter(&s) {
        let caps = caps.map_err(|e| eval_err(e.to_string()))?;
        let v = match lazy(&a[2]) {
            None => caps.get(0).map(|m| V::str(m.as_str())).unwrap_or(V::Null),
            Some(f) => {
                let groups = match_args(&caps, &s);
                ev.lambda(sc, f, &groups)?
            }
        };
        if !all {
            return Ok(v);
        }
        out.push(v);
    }
    if !all {
        return Ok(V::Null);
    }
    Ok(V::iter(out))
}

fn r_search<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    search_impl(ev, sc, c, false)
}

fn r_search_all<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    search_impl(ev, sc, c, true)
}

fn expand_py_repl(repl: &str, caps: &fancy_regex::Captures) -> R<String> {
    let chars: Vec<char> = repl.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        if ch != '\\' || i + 1 >= chars.len() {
            out.push(ch);
            i += 1;
            continue;
        }
        let n = chars[i + 1];
        if n.is_ascii_digit() {
            let mut j = i + 1;
            let mut num = 0usize;
            while j < chars.len() && j < i + 3 && chars[j].is_ascii_digit() {
                num = num * 10 + chars[j].to_digit(10).unwrap_or(0) as usize;
                j += 1;
            }
            if num >= caps.len() {
                return Err(eval_err(format!("invalid group reference {}", num)));
            }
            out.push_str(caps.get(num).map(|m| m.as_str()).unwrap_or(""));
            i = j;
            continue;
        }
        if n == 'g' && i + 2 < chars.len() && chars[i + 2] == '<' {
            if let Some(end) = chars[i + 3..].iter().position(|c| *c == '>') {
                let name: String = chars[i + 3..i + 3 + end].iter().collect();
                let m = if let Ok(k) = name.parse::<usize>() {
                    caps.get(k)
                } else {
                    caps.name(&name)
                };
                out.push_str(m.map(|m| m.as_str()).unwrap_or(""));
                i = i + 4 + end;
                continue;
            }
        }
        match n {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            '\\' => out.push('\\'),
            _ => {
                out.push('\\');
                out.push(n);
            }
        }
        i += 2;
    }
    Ok(out)
}

fn regex_replace(re: &Regex, s: &str, repl: &str, count: i64) -> R<V> {
    let mut out = String::new();
    let mut last = 0;
    let mut n = 0;
    for caps in re.re.captures_iter(s) {
        let caps = caps.map_err(|e| eval_err(e.to_string()))?;
        if count > 0 && n >= count {
            break;
        }
        let Some(m) = caps.get(0) else { continue };
        out.push_str(&s[last..m.start()]);
        out.push_str(&expand_py_repl(repl, &caps)?);
        last = m.end();
        n += 1;
        check_str(out.len())?;
    }
    out.push_str(&s[last..]);
    Ok(V::string(out))
}

fn r_replace_by<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["a", "b", "&repl", "count"])?;
    let (x, y) = (need(c, &a[0])?, need(c, &a[1])?);
    let (re, s) = match (&x, &y) {
        (V::Regex(r), V::Str(s)) => (r.clone(), s.clone()),
        (V::Str(s), V::Regex(r)) => (r.clone(), s.clone()),
        (V::Str(s), V::Str(p)) => (compile_regex(p, 0)?, s.clone()),
        _ => return Err(c.nomatch()),
    };
    let f = need_lazy(c, &a[2])?;
    let count = int_arg(c, &a[3], 0)?;
    let mut out = String::new();
    let mut last = 0;
    let mut n = 0;
    let all: Vec<_> = re.re.captures_iter(&s).collect();
    for caps in all {
        let caps = caps.map_err(|e| eval_err(e.to_string()))?;
        if count > 0 && n >= count {
            break;
        }
        let Some(m) = caps.get(0) else { continue };
        out.push_str(&s[last..m.start()]);
        let groups = match_args(&caps, &s);
        let r = ev.lambda(sc, f, &groups)?;
        let V::Str(r) = r else {
            return Err(eval_err("expected str instance"));
        };
        out.push_str(&r);
        last = m.end();
        n += 1;
    }
    out.push_str(&s[last..]);
    Ok(V::string(out))
}

fn regex_split(re: &Regex, s: &str, max: i64) -> R<V> {
    let mut out = vec![];
    let mut last = 0;
    let mut n = 0;
    for caps in re.re.captures_iter(s) {
        let caps = caps.map_err(|e| eval_err(e.to_string()))?;
        if max > 0 && n >= max {
            break;
        }
        let Some(m) = caps.get(0) else { continue };
        out.push(V::str(&s[last..m.start()]));
        for i in 1..caps.len() {
            out.push(caps.get(i).map(|g| V::str(g.as_str())).unwrap_or(V::Null));
        }
        last = m.end();
        n += 1;
    }
    out.push(V::str(&s[last..]));
    Ok(V::list(out))
}

fn r_escape<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["string"])?;
    let s = string(c, &a[0])?;
    let mut out = String::new();
    for ch in s.chars() {
        if "()[]{}?*+-|^$\\.&~# \t\n\r\x0b\x0c".contains(ch) {
            out.push('\\');
        }
        out.push(ch);
    }
    Ok(V::string(out))
}

fn r_is_regex<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    type_check(ev, sc, c, |v| matches!(v, V::Regex(_)))
}

// ---------------------------------------------------------------- date/time

const US_PER_SEC: i64 = 1_000_000;

pub fn dt_add(d: &DateTime<FixedOffset>, us: i64) -> R<DateTime<FixedOffset>> {
    d.checked_add_signed(chrono::Duration::microseconds(us))
        .filter(|x| x.year() >= 1 && x.year() <= 9999)
        .ok_or_else(|| eval_err("date value out of range"))
}

fn utc() -> FixedOffset {
    FixedOffset::east_opt(0).unwrap_or_else(|| unreachable!())
}

fn offset_of(v: Option<V>) -> R<FixedOffset> {
    match v {
        None | Some(V::Null) => Ok(utc()),
        Some(V::TimeSpan(us)) => FixedOffset::east_opt((us / US_PER_SEC) as i32)
            .ok_or_else(|| eval_err("offset must be a timedelta strictly between -timedelta(hours=24) and timedelta(hours=24)")),
        Some(_) => Err(eval_err("offset must be a timespan")),
    }
}

fn d_now<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["offset"])?;
    let off = offset_of(val(&a[0]))?;
    Ok(V::DateTime(chrono::Utc::now().with_timezone(&off)))
}

fn d_localtz<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    ev.bind(sc, c, &[])?;
    let off = chrono::Local::now().offset().local_minus_utc();
    Ok(V::TimeSpan(off as i64 * US_PER_SEC))
}

fn d_utctz<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    ev.bind(sc, c, &[])?;
    Ok(V::TimeSpan(0))
}

fn d_datetime<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(
        sc,
        c,
        &[
            "year",
            "month",
            "day",
            "hour",
            "minute",
            "second",
            "microsecond",
            "offset",
            "timestamp",
            "string",
            "format",
        ],
    )?;
    // datetime(string, format=null)
    if let Some(V::Str(s)) = val(&a[0]) {
        let fmt = match &a[1] {
            Slot::Missing | Slot::Val(V::Null) => None,
            Slot::Val(V::Str(f)) => Some(f.clone()),
            _ => return Err(c.nomatch()),
        };
        return parse_datetime(&s, fmt.as_deref()).map(V::DateTime);
    }
    if let Some(V::Str(s)) = val(&a[9]) {
        let fmt = match val(&a[10]) {
            Some(V::Str(f)) => Some(f),
            _ => None,
        };
        return parse_datetime(&s, fmt.as_deref()).map(V::DateTime);
    }
    // datetime(timestamp, offset)
    let ts = match (&a[8], &a[1]) {
        (Slot::Val(t), _) => Some(t.clone()),
        (Slot::Missing, Slot::Missing)
            if matches!(a[0], Slot::Val(_)) && matches!(a[2], Slot::Missing) =>
        {
            val(&a[0])
        }
        _ => None,
    };
    if let Some(t) = ts {
        let secs = t
            .as_f64()
            .filter(|_| t.is_number())
            .ok_or_else(|| c.nomatch())?;
        let off = offset_of(val(&a[7]))?;
        let us = (secs * 1e6).round() as i64;
        let d = chrono::DateTime::from_timestamp_micros(us)
            .ok_or_else(|| eval_err("year is out of range"))?;
        return Ok(V::DateTime(d.with_timezone(&off)));
    }
    let gi = |s: &Slot, d: i64| -> R<i64> {
        match s {
            Slot::Missing => Ok(d),
            Slot::Val(V::Int(i)) => Ok(*i),
            Slot::Val(V::Bool(b)) => Ok(*b as i64),
            Slot::Val(v) => Err(eval_err(format!(
                "'{}' object cannot be interpreted as an integer",
                v.type_name()
            ))),
            _ => Ok(d),
        }
    };
    if matches!(a[0], Slot::Missing)
        || matches!(a[1], Slot::Missing)
        || matches!(a[2], Slot::Missing)
    {
        return Err(c.nomatch());
    }
    let (y, mo, d) = (gi(&a[0], 0)?, gi(&a[1], 0)?, gi(&a[2], 0)?);
    let (h, mi, s, us) = (gi(&a[3], 0)?, gi(&a[4], 0)?, gi(&a[5], 0)?, gi(&a[6], 0)?);
    let off = offset_of(val(&a[7]))?;
    if !(1..=9999).contains(&y) {
        return Err(eval_err(format!("year {} is out of range", y)));
    }
    if !(1..=12).contains(&mo) {
        return Err(eval_err("month must be in 1..12"));
    }
    let date = NaiveDate::from_ymd_opt(y as i32, mo as u32, d.clamp(0, 40) as u32)
        .ok_or_else(|| eval_err("day is out of range for month"))?;
    if !(0..24).contains(&h) {
        return Err(eval_err("hour must be in 0..23"));
    }
    if !(0..60).contains(&mi) {
        return Err(eval_err("minute must be in 0..59"));
    }
    if !(0..60).contains(&s) {
        return Err(eval_err("second must be in 0..59"));
    }
    if !(0..1_000_000).contains(&us) {
        return Err(eval_err("microsecond must be in 0..999999"));
    }
    let naive = date
        .and_hms_micro_opt(h as u32, mi as u32, s as u32, us as u32)
        .ok_or_else(|| eval_err("invalid time"))?;
    off.from_local_datetime(&naive)
        .single()
        .map(V::DateTime)
        .ok_or_else(|| eval_err("invalid datetime"))
}

fn parse_datetime(s: &str, fmt: Option<&str>) -> R<DateTime<FixedOffset>> {
    if let Some(f) = fmt {
        if let Ok(d) = DateTime::parse_from_str(s, f) {
            return Ok(d);
        }
        return chrono::NaiveDateTime::parse_from_str(s, f)
            .or_else(|_| {
                chrono::NaiveDate::parse_from_str(s, f)
                    .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
            })
            .or_else(|_| {
                // strptime with only time fields: the date defaults to 1900-01-01
                chrono::NaiveTime::parse_from_str(s, f).map(|t| {
                    NaiveDate::from_ymd_opt(1900, 1, 1)
                        .unwrap_or_default()
                        .and_time(t)
                })
            })
            .map(|n| utc().from_utc_datetime(&n))
            .map_err(|_| {
                eval_err(format!(
                    "time data {} does not match format {}",
                    pyfmt::str_repr(s),
                    pyfmt::str_repr(f)
                ))
            });
    }
    // dateutil-like parsing of common ISO forms
    let t = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d);
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M:%S%:z",
        "%Y-%m-%d %H:%M:%S%:z",
        "%Y-%m-%d %H:%M:%S%z",
        "%Y-%m-%dT%H:%M:%S%z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(t, f) {
            return Ok(d);
        }
    }
    let t2 = t.trim_end_matches('Z');
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(n) = chrono::NaiveDateTime::parse_from_str(t2, f) {
            return Ok(utc().from_utc_datetime(&n));
        }
    }
    for f in [
        "%Y-%m-%d",
        "%Y%m%d",
        "%Y/%m/%d",
        "%b %d %Y",
        "%B %d %Y",
        "%d %b %Y",
        "%d %B %Y",
        "%b %d, %Y",
        "%B %d, %Y",
        "%d-%b-%Y",
        "%m/%d/%Y",
    ] {
        if let Ok(d) = chrono::NaiveDate::parse_from_str(t2, f) {
            return Ok(utc().from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default()));
        }
    }
    Err(eval_err(format!("Unknown string format: {}", s)))
}

fn d_timespan<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(
        sc,
        c,
        &[
            "days",
            "hours",
            "minutes",
            "seconds",
            "milliseconds",
            "microseconds",
        ],
    )?;
    let mult = [86_400e6, 3_600e6, 60e6, 1e6, 1e3, 1.0];
    let mut total = 0f64;
    for (i, m) in mult.iter().enumerate() {
        match val(&a[i]) {
            None => {}
            Some(V::Int(_) | V::Bool(_)) => {
                total += val(&a[i]).and_then(|v| v.as_f64()).unwrap_or(0.0) * m
            }
            Some(_) => return Err(c.nomatch()),
        }
    }
    if total.abs() > 8.64e19 {
        return Err(eval_err("days out of range"));
    }
    Ok(V::TimeSpan(total.round() as i64))
}

fn strftime(d: &DateTime<FixedOffset>, f: &str) -> R<String> {
    let mut out = String::new();
    let mut it = f.chars().peekable();
    while let Some(ch) = it.next() {
        if ch != '%' {
            out.push(ch);
            continue;
        }
        let Some(n) = it.next() else {
            out.push('%');
            break;
        };
        let s = match n {
            'Y' => format!("{:04}", d.year()),
            'y' => format!("{:02}", d.year() % 100),
            'm' => format!("{:02}", d.month()),
            'd' => format!("{:02}", d.day()),
            'H' => format!("{:02}", d.hour()),
            'I' => format!(
                "{:02}",
                if d.hour().is_multiple_of(12) {
                    12
                } else {
                    d.hour() % 12
                }
            ),
            'M' => format!("{:02}", d.minute()),
            'S' => format!("{:02}", d.second()),
            'f' => format!("{:06}", d.nanosecond() / 1000),
            'p' => if d.hour() < 12 { "AM" } else { "PM" }.into(),
            'j' => format!("{:03}", d.ordinal()),
            'a' => d.format("%a").to_string(),
            'A' => d.format("%A").to_string(),
            'b' | 'h' => d.format("%b").to_string(),
            'B' => d.format("%B").to_string(),
            'w' => d.weekday().num_days_from_sunday().to_string(),
            'U' => d.format("%U").to_string(),
            'W' => d.format("%W").to_string(),
            'z' => {
                let o = d.offset().local_minus_utc();
                let sign = if o < 0 { '-' } else { '+' };
                let a = o.abs();
                if a % 60 != 0 {
                    format!("{sign}{:02}{:02}{:02}", a / 3600, (a % 3600) / 60, a % 60)
                } else {
                    format!("{sign}{:02}{:02}", a / 3600, (a % 3600) / 60)
                }
            }
            'Z' => "UTC".into(),
            'c' => d.format("%a %b %e %H:%M:%S %Y").to_string(),
            'x' => d.format("%m/%d/%y").to_string(),
            'X' => d.format("%H:%M:%S").to_string(),
            'G' => d.format("%G").to_string(),
            'V' => d.format("%V").to_string(),
            'u' => d.weekday().number_from_monday().to_string(),
            'e' => d.format("%e").to_string(),
            'C' => format!("{:02}", d.year() / 100),
            'D' => d.format("%m/%d/%y").to_string(),
            'F' => d.format("%Y-%m-%d").to_string(),
            'T' => d.format("%H:%M:%S").to_string(),
            'R' => d.format("%H:%M").to_string(),
            'n' => "\n".into(),
            't' => "\t".into(),
            '%' => "%".into(),
            other => format!("%{other}"),
        };
        out.push_str(&s);
    }
    Ok(out)
}

fn d_format<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(sc, c, &["dt", "format"])?;
    let Some(V::DateTime(d)) = val(&a[0]) else {
        return Err(c.nomatch());
    };
    let f = string(c, &a[1])?;
    Ok(V::string(strftime(&d, &f)?))
}

fn d_replace<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    let a = ev.bind(
        sc,
        c,
        &[
            "dt",
            "year",
            "month",
            "day",
            "hour",
            "minute",
            "second",
            "microsecond",
            "offset",
        ],
    )?;
    let Some(V::DateTime(d)) = val(&a[0]) else {
        return Err(c.nomatch());
    };
    let g = |i: usize, cur: i64| -> R<i64> {
        match val(&a[i]) {
            None | Some(V::Null) => Ok(cur),
            Some(V::Int(x)) => Ok(x),
            Some(_) => Err(c.nomatch()),
        }
    };
    let y = g(1, d.year() as i64)?;
    let mo = g(2, d.month() as i64)?;
    let day = g(3, d.day() as i64)?;
    let h = g(4, d.hour() as i64)?;
    let mi = g(5, d.minute() as i64)?;
    let s = g(6, d.second() as i64)?;
    let us = g(7, (d.nanosecond() / 1000) as i64)?;
    let off = match val(&a[8]) {
        None | Some(V::Null) => *d.offset(),
        v => offset_of(v)?,
    };
    let date = NaiveDate::from_ymd_opt(y as i32, mo.clamp(0, 13) as u32, day.clamp(0, 40) as u32)
        .ok_or_else(|| eval_err("day is out of range for month"))?;
    let naive = date
        .and_hms_micro_opt(
            h.clamp(0, 99) as u32,
            mi.clamp(0, 99) as u32,
            s.clamp(0, 99) as u32,
            us.clamp(0, 9_999_999) as u32,
        )
        .ok_or_else(|| eval_err("invalid time"))?;
    off.from_local_datetime(&naive)
        .single()
        .map(V::DateTime)
        .ok_or_else(|| eval_err("invalid datetime"))
}

fn d_is_datetime<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    type_check(ev, sc, c, |v| matches!(v, V::DateTime(_)))
}

fn d_is_timespan<'e>(ev: &mut Ev<'e>, sc: &Rc<Scope<'e>>, c: &CallInfo<'e>) -> R<V> {
    type_check(ev, sc, c, |v| matches!(v, V::TimeSpan(_)))
}

/// `obj.name` on a non-dict, non-collection value: datetime/timespan properties.
pub fn property(v: &V, name: &str) -> R<V> {
    let unknown = || nofunc(format!("Unknown function \"#property#{}\"", name));
    match v {
        V::DateTime(d) => Ok(match name {
            "year" => V::Int(d.year() as i64),
            "month" => V::Int(d.month() as i64),
            "day" => V::Int(d.day() as i64),
            "hour" => V::Int(d.hour() as i64),
            "minute" => V::Int(d.minute() as i64),
            "second" => V::Int(d.second() as i64),
            "microsecond" => V::Int((d.nanosecond() / 1000) as i64),
            "weekday" => V::Int(d.weekday().num_days_from_monday() as i64),
            "offset" => V::TimeSpan(d.offset().local_minus_utc() as i64 * US_PER_SEC),
            "timestamp" => V::Float(d.timestamp_micros() as f64 / 1e6),
            "date" => {
                let n = d.date_naive().and_hms_opt(0, 0, 0).unwrap_or_default();
                V::DateTime(
                    d.offset()
                        .from_local_datetime(&n)
                        .single()
                        .ok_or_else(unknown)?,
                )
            }
            "time" => V::TimeSpan(
                (d.num_seconds_from_midnight() as i64) * US_PER_SEC
                    + (d.nanosecond() / 1000) as i64,
            ),
            // yaql subtracts the offset but keeps the tzinfo
            "utc" => V::DateTime(dt_add(
                d,
                -(d.offset().local_minus_utc() as i64) * US_PER_SEC,
            )?),
            _ => return Err(unknown()),
        }),
        V::TimeSpan(t) => Ok(match name {
            "days" => V::Float(*t as f64 / 8.64e10),
            "seconds" => V::Float(*t as f64 / 1e6),
            "microseconds" => V::Int(*t),
            "hours" => V::Float(*t as f64 / 3.6e9),
            "minutes" => V::Float(*t as f64 / 6e7),
            "milliseconds" => V::Float(*t as f64 / 1e3),
            _ => return Err(unknown()),
        }),
        _ => Err(unknown()),
    }
}
