//! Behaviour tests of the engine through its public API, grouped like yaql's standard library.

use std::sync::Arc;

use serde_json::json;

use crate::{Call, Engine, Error, ErrorKind, Value};

fn ev(expr: &str) -> Result<Value, Error> {
    Engine::new().evaluate(
        expr,
        &json!({"a": 1, "l": [3, 1, 2], "d": {"x": 1, "y": [1, 2]}, "s": "Hello"}),
    )
}

fn ok(expr: &str) -> Value {
    match ev(expr) {
        Ok(v) => v,
        Err(e) => panic!("{expr}: unexpected error {e:?}"),
    }
}

fn kind(expr: &str) -> ErrorKind {
    match ev(expr) {
        Ok(v) => panic!("{expr}: expected an error, got {v}"),
        Err(e) => e.kind,
    }
}

#[test]
fn integer_division_floors_and_float_division_is_true_division() {
    assert_eq!(ok("7 / 2"), json!(3));
    assert_eq!(ok("-7 / 2"), json!(-4));
    assert_eq!(ok("7.0 / 2"), json!(3.5));
    assert_eq!(ok("-7 mod 3"), json!(2));
    assert_eq!(ok("0.1 + 0.2"), json!(0.30000000000000004));
    assert_eq!(kind("1 / 0"), ErrorKind::Evaluation);
}

#[test]
fn operators_reject_mixed_types_with_no_function() {
    assert_eq!(kind("1 + '1'"), ErrorKind::NoFunction);
    assert_eq!(kind("1 < 'a'"), ErrorKind::NoFunction);
    assert_eq!(kind("true + 1"), ErrorKind::NoFunction);
    assert_eq!(ok("null < 1"), json!(true));
    assert_eq!(ok("1 = 1.0"), json!(true));
    assert_eq!(ok("'ab' * 2"), json!("abab"));
}

#[test]
fn logical_operators_return_operands() {
    assert_eq!(ok("null or 'x'"), json!("x"));
    assert_eq!(ok("true and 0"), json!(0));
    assert_eq!(ok("not []"), json!(true));
    assert_eq!(ok("1 = 1 and 2 = 2 or false"), json!(true));
}

#[test]
fn member_access_and_indexers() {
    assert_eq!(ok("$.d.y[-1]"), json!(2));
    assert_eq!(kind("$.missing"), ErrorKind::Evaluation);
    assert_eq!(ok("$.d['q', 5]"), json!(5));
    assert_eq!(kind("$.l[9]"), ErrorKind::Evaluation);
    assert_eq!(kind("'abc'[0]"), ErrorKind::NoFunction);
    assert_eq!(ok("[{a => 1}, {a => 2}].a"), json!([1, 2]));
    assert_eq!(kind("1.x"), ErrorKind::NoFunction);
    assert_eq!(ok("null?.x"), Value::Null);
    assert_eq!(ok("$undefined"), Value::Null);
    assert_eq!(ok("ERROR"), json!("ERROR"));
}

#[test]
fn query_results_are_iterators_not_lists() {
    assert_eq!(ok("$.l.select($ * 2)"), json!([6, 2, 4]));
    assert_eq!(kind("$.l.select($)[0]"), ErrorKind::NoFunction);
    assert_eq!(ok("isList($.l.select($))"), json!(false));
    assert_eq!(ok("$.l.where($ > 5) or 1"), json!([]));
    assert_eq!(ok("$.l.select($).len()"), json!(3));
}

#[test]
fn queries_group() {
    assert_eq!(ok("$.l.orderBy($)"), json!([1, 2, 3]));
    assert_eq!(
        ok("[{n => b, a => 1}, {n => a, a => 1}, {n => c, a => 0}].orderBy($.a).thenBy($.n).n"),
        json!(["c", "a", "b"])
    );
    assert_eq!(ok("$.l.groupBy($ mod 2)"), json!([[1, [3, 1]], [0, [2]]]));
    assert_eq!(ok("$.l.aggregate($1 + $2, 10)"), json!(16));
    assert_eq!(ok("$.l.accumulate($1 + $2)"), json!([3, 4, 6]));
    assert_eq!(ok("[].any()"), json!(false));
    assert_eq!(ok("[0].any()"), json!(true));
    assert_eq!(ok("sequence(1, 2).take(3)"), json!([1, 3, 5]));
    assert_eq!(ok("range(1, 10, 4)"), json!([1, 5, 9]));
    assert_eq!(kind("[].first()"), ErrorKind::Evaluation);
    assert_eq!(kind("[1, 2].single()"), ErrorKind::Evaluation);
    assert_eq!(kind("$.l.take(-1)"), ErrorKind::Evaluation);
    assert_eq!(kind("sum($.l)"), ErrorKind::NoFunction);
}

#[test]
fn collections_group() {
    assert_eq!(ok("dict(a => 1, b => 2)"), json!({"a": 1, "b": 2}));
    assert_eq!(ok("$.d.keys()"), json!(["x", "y"]));
    assert_eq!(ok("$.d.set(z, 3).delete(x)"), json!({"y": [1, 2], "z": 3}));
    assert_eq!(ok("$.l.insert(-1, 9)"), json!([3, 1, 9, 2]));
    assert_eq!(ok("set(1, 2).union(set(3))"), json!([1, 2, 3]));
    assert_eq!(kind("$.d.items()"), ErrorKind::Evaluation);
    assert_eq!(
        ok("{a => {b => 1}}.mergeWith({a => {c => 2}})"),
        json!({"a": {"b": 1, "c": 2}})
    );
}

#[test]
fn strings_group() {
    assert_eq!(ok("str([1, 'a'])"), json!("(1, 'a')"));
    assert_eq!(ok("str(null)"), json!("null"));
    assert_eq!(ok("'a b  c'.split()"), json!(["a", "b", "c"]));
    assert_eq!(ok("'a,b,c'.rightSplit(',', 1)"), json!(["a,b", "c"]));
    assert_eq!(ok("$.s.substring(1, 3)"), json!("ell"));
    assert_eq!(ok("[1, 2].join(', ')"), json!("1, 2"));
    assert_eq!(ok("'héllo'.toUpper()"), json!("HÉLLO"));
    assert_eq!(kind("toUpper('a')"), ErrorKind::NoFunction);
    assert_eq!(kind("'%s'.format(1)"), ErrorKind::NoFunction);
}

#[test]
fn math_group() {
    assert_eq!(ok("round(2.5)"), json!(2.0));
    assert_eq!(ok("round(3.5)"), json!(4.0));
    assert_eq!(ok("int(-2.7)"), json!(-2));
    assert_eq!(ok("pow(2, 10, 1000)"), json!(24));
    assert_eq!(ok("bitwiseXor(12, 10)"), json!(6));
    assert_eq!(kind("int('x')"), ErrorKind::Evaluation);
}

#[test]
fn branching_and_system_group() {
    assert_eq!(ok("switch($.a > 1 => big, true => small)"), json!("small"));
    assert_eq!(ok("coalesce(null, 2)"), json!(2));
    assert_eq!(ok("let(x => 5) -> $x * 2"), json!(10));
    assert_eq!(
        ok("def(f, switch($ <= 1 => 1, true => $ * f($ - 1))) -> f(5)"),
        json!(120)
    );
    assert_eq!(ok("[1, 2].unpack(p, q) -> $p + $q"), json!(3));
    assert_eq!(kind("1.assert($ < 0)"), ErrorKind::Evaluation);
    assert_eq!(ok("call(len, [[1, 2]], {})"), json!(2));
}

#[test]
fn regex_group() {
    assert_eq!(ok("'abc' =~ 'b'"), json!(true));
    assert_eq!(ok("regex('(\\d+)').search('ab12', $2.value)"), json!("12"));
    assert_eq!(
        ok("'banana'.replace(regex('(n)a'), `\\1A`)"),
        json!("banAnA")
    );
    assert_eq!(ok("regex('[,;]').split('a,b;c')"), json!(["a", "b", "c"]));
    assert_eq!(kind("regex('(')"), ErrorKind::Evaluation);
}

#[test]
fn datetime_group() {
    assert_eq!(
        ok("datetime(2020, 1, 2, 3, 4, 5)"),
        json!("2020-01-02T03:04:05.000000")
    );
    assert_eq!(
        ok("str(datetime(2020, 1, 2))"),
        json!("2020-01-02 00:00:00+00:00")
    );
    assert_eq!(
        ok("(datetime(2020, 1, 2) - datetime(2020, 1, 1)).hours"),
        json!(24.0)
    );
    assert_eq!(
        ok("datetime(2020, 1, 2).format('%Y/%m/%d')"),
        json!("2020/01/02")
    );
    assert_eq!(
        ok("str(timespan(days => 1, seconds => 5))"),
        json!("1 day, 0:00:05")
    );
    assert_eq!(kind("datetime(2020, 2, 30)"), ErrorKind::Evaluation);
}

#[test]
fn syntax_errors_are_reported_as_syntax() {
    for e in ["1 +", "(1", "1e3", "$.__x", "a #b", "f(1,)", "", "2**3"] {
        assert_eq!(kind(e), ErrorKind::Syntax, "{e}");
        assert_eq!(
            Engine::new().check_syntax(e).map_err(|x| x.kind),
            Err(ErrorKind::Syntax)
        );
    }
    assert!(Engine::new().check_syntax("foo($.a)").is_ok());
    let e = Engine::new().check_syntax(" * ").unwrap_err();
    assert_eq!(
        e.message,
        "Parse error: unexpected '*' at position 1 of expression ' * '"
    );
}

#[test]
fn limits_stop_runaway_work_without_crashing() {
    assert_eq!(kind("def(f, f($)) -> f(1)"), ErrorKind::Limit);
    assert_eq!(kind("range(1000000000)"), ErrorKind::Limit);
    assert_eq!(kind("'x' * 1000000000"), ErrorKind::Limit);
    assert_eq!(kind("sequence().len()"), ErrorKind::Limit);
    assert_eq!(kind("sequence().select($)"), ErrorKind::Limit);
    let mut deep = json!(1);
    for _ in 0..1000 {
        deep = json!([deep]);
    }
    let r = Engine::new().evaluate("$", &deep);
    assert_eq!(r.map_err(|e| e.kind), Err(ErrorKind::Limit));
    let nested = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
    assert_eq!(
        Engine::new().check_syntax(&nested).map_err(|e| e.kind),
        Err(ErrorKind::Limit)
    );
    assert_eq!(kind("1000000000000 * 1000000000000"), ErrorKind::Limit);
}

#[test]
fn host_functions_receive_values_and_user_data() {
    let mut e = Engine::new();
    e.register_function(
        "env",
        Arc::new(|c: &Call| {
            let tag = c.user.downcast_ref::<String>().cloned().unwrap_or_default();
            Ok(json!({"tag": tag, "args": c.args, "kw": c.kwargs.len(), "root": c.data}))
        }),
    );
    let v = e
        .evaluate_with("env(1, k => 2)", &json!({"r": 1}), &String::from("u"))
        .unwrap();
    assert_eq!(
        v,
        json!({"tag": "u", "args": [1], "kw": 1, "root": {"r": 1}})
    );
    let v = e.evaluate_with("5.env().args", &json!({}), &()).unwrap();
    assert_eq!(v, json!([5]));
    assert_eq!(e.evaluate("env().tag", &json!({})).unwrap(), json!(""));
}

#[test]
fn engine_is_shareable_across_threads_and_caches_parses() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Engine>();
    let e = Arc::new(Engine::new());
    let hs: Vec<_> = (0..4)
        .map(|i| {
            let e = e.clone();
            std::thread::spawn(move || e.evaluate("$.a + 1", &json!({"a": i})).unwrap())
        })
        .collect();
    let got: Vec<Value> = hs.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(got, vec![json!(1), json!(2), json!(3), json!(4)]);
    assert_eq!(e.cache.read().len(), 1);
    for i in 0..(crate::PARSE_CACHE_SIZE + 10) {
        e.check_syntax(&format!("{i} + 1")).unwrap();
    }
    assert!(e.cache.read().len() <= crate::PARSE_CACHE_SIZE);
}

#[test]
fn python_str_renders_interpolation_text() {
    assert_eq!(Engine::python_str(&json!(null)), "None");
    assert_eq!(
        Engine::python_str(&json!({"x": [1, true]})),
        "{'x': [1, True]}"
    );
    assert_eq!(Engine::python_str(&json!(2.0)), "2.0");
    assert_eq!(Engine::python_str(&json!("s")), "s");
}

#[test]
fn interpolation_rendering_follows_python_str() {
    let e = Engine::new();
    let d = json!({"l": [1, 2], "d": {"x": 1}, "n": null, "t": true});
    let s = |x: &str| e.evaluate_to_python_str(x, &d, &()).unwrap();
    assert_eq!(s("$.l"), "[1, 2]");
    assert_eq!(s("$.d"), "{'x': 1}");
    assert_eq!(s("$.n"), "None");
    assert_eq!(s("$.t"), "True");
    assert_eq!(s("0.1 + 0.2"), "0.30000000000000004");
    assert_eq!(s("datetime(2020, 1, 2)"), "2020-01-02 00:00:00+00:00");
    assert_eq!(s("set(1, 2)"), "{1, 2}");
    assert_eq!(s("set()"), "set()");
    assert_eq!(s("$.l.select($ * 2)"), "[2, 4]");
    assert!(e.evaluate_to_python_str("$.d.items()", &d, &()).is_err());
}
