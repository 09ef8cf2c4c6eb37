#!/usr/bin/env python3
"""Generate the YAQL differential corpus (deterministic).

Writes compat-tests/expressions/yaql_handwritten.jsonl (cases written per function and
operator) and yaql_generated.jsonl (systematic combinations). Run from anywhere:

    python compat-tests/expressions/gen_yaql_corpus.py
"""
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

CTX = {
    "a": 1,
    "b": 2.5,
    "s": "Hello, World",
    "u": "héllo wörld ñ 日本",
    "n": None,
    "t": True,
    "f": False,
    "z": 0,
    "e": "",
    "l": [3, 1, 2],
    "ls": ["b", "a", "c"],
    "le": [],
    "lm": [1, "a", None, 2.5, True],
    "d": {"x": 1, "y": [1, 2], "z": {"k": "v"}},
    "de": {},
    "people": [
        {"name": "ann", "age": 31, "dept": "eng"},
        {"name": "bob", "age": 25, "dept": "ops"},
        {"name": "cid", "age": 40, "dept": "eng"},
        {"name": "dee", "age": 25, "dept": "hr"},
    ],
    "nested": [[1, 2], [3, [4, 5]], [], [6]],
    "words": "the quick brown fox jumps over the lazy dog",
    "csv": "a,b,,c",
    "nums": [5, -3, 2.5, 0, 10],
    "ints": [4, 8, 15, 16, 23, 42],
    "dup": [1, 2, 2, 3, 1, 4],
    "keyed": {"b": 2, "a": 1, "c": 3},
}

HAND = []


def add(expr, ctx=None, note=None):
    case = {"expr": expr, "context": CTX if ctx is None else ctx}
    if note:
        case["note"] = note
    HAND.append(case)


def many(exprs, ctx=None, note=None):
    for e in exprs:
        add(e, ctx, note)


# ---------------------------------------------------------------- literals & lexer
many([
    "1", "0", "42", "1.5", "0.25", "10.0", "true", "false", "null",
    "'abc'", '"abc"', "`abc`", "'a\\nb'", "'a\\tb'", "'\\x41'", "'\\u00e9'", "'it\\'s'",
    '"say \\"hi\\""', "`a\\`b`", "`a\\nb`", "'\\d+'", "'\\\\'", "'\\101'",
    "foo", "ERROR", "SUCCESS", "_x", "x1", "abc_def",
    "[]", "[1, 2, 3]", "[1, 'a', null, true, 2.5]", "[[1], [2, [3]]]",
    "{}", "{a => 1}", "{a => 1, 'b' => 2}", "{1 => 2}", "{a => {b => [1, 2]}}",
    "{a => 1, a => 2}", "{true => 1}", "{null => 1}", "{1.5 => 1}",
    "$", "$.a", "$1.a", "$x", "$undefined_var", "$.d.z.k",
    "1e3", "1.", ".5", "1_000", "2**3", "a #b", "$.__x", "__x", "'unterminated",
    "1 +", "(1", "1)", "[1, 2", "{a => 1", "f(1,)", "f(a => 1, 2)", "", "   ",
    "1 2", "$.", "..", "$.a.", "=> 1", "[1,,2]", "f(,1)", "{1}", "{a}", "not",
    "1 ++ 2", "1 + + 2", "- - 1", "--1", "!1", "1 & 2", "1 | 2", "a.b.c", "'a'.'b'",
])

# ---------------------------------------------------------------- arithmetic
many([
    "1 + 2", "1 + 2 * 3", "(1 + 2) * 3", "2 + 3 * 4", "10 - 2 - 3", "2 * 3 + 4 * 5",
    "7 / 2", "-7 / 2", "7 / -2", "-7 / -2", "8 / 2", "7.0 / 2", "7 / 2.0", "1 / 3.0",
    "7 mod 3", "-7 mod 3", "7 mod -3", "-7 mod -3", "7.5 mod 2", "-7.5 mod 2", "7 mod 2.5",
    "1 / 0", "1.0 / 0", "1 / 0.0", "1 mod 0", "1.5 mod 0", "0 / 5", "0.0 / 5",
    "0.1 + 0.2", "1.1 * 3", "10 / 4.0", "2.5 * 2", "3 - 1.5", "1 + 1.0", "1.0 + 1",
    "-1", "-1.5", "+1", "+1.5", "-(-3)", "- 3", "-$.a", "-$.b", "+$.a", "-$.s", "+$.s",
    "-true", "-null", "-[1]", "2 - -2", "2 * -3", "-2 * 3", "-2.abs()", "(-2).abs()",
    "$.a + $.b", "$.a * $.b", "$.b / 0.5", "$.a - $.b", "$.a / $.a",
    "1 + true", "true + 1", "true + true", "1 + null", "null + 1", "1 + '1'", "'1' + 1",
    "'a' + 'b'", "'a' + ''", "$.s + '!'", "$.u + $.u",
    "[1] + [2]", "[1, 2] + []", "$.l + $.ls", "set(1) + [2]", "[1] + set(2)",
    "{a => 1} + {b => 2}", "{a => 1} + {a => 2}", "$.d + {x => 9}",
    "[1] + 1", "1 + [1]", "{a => 1} + [1]", "'a' + [1]",
    "'ab' * 3", "3 * 'ab'", "'ab' * 0", "'ab' * -1", "'ab' * 2.0", "2.5 * 'a'", "true * 3",
    "[1, 2] * 2", "2 * [1]", "[1] * 0", "'a' * true",
    "[1, 2] - [1]", "set(1, 2) - set(1)", "set(1) - [1]", "'a' - 'a'",
    "2 * 3 mod 4", "10 mod 3 * 2", "1 + 2 mod 2", "2 * 3 / 2", "100 / 7 / 2",
    "9223372036854775807", "9223372036854775807 + 0",
    "123456789 * 1000", "1000000 * 1000000", "1.0e", "1.5e3",
    "0.1 * 3", "1 / 3.0 * 3", "2.0 / 3", "1e-5", "0.00001", "100000000000000000.0",
    "12345678901234567.0", "0.0001", "1.0 / 7", "5 - 5.0", "-0.0", "0.0 * -1",
])

# ---------------------------------------------------------------- comparisons & logic
many([
    "1 = 1", "1 = 1.0", "1 = '1'", "'a' = 'a'", "null = null", "null = 0", "0 = false",
    "1 = true", "[1, 2] = [1, 2]", "[1, 2] = [2, 1]", "{a => 1} = {a => 1}",
    "{a => 1, b => 2} = {b => 2, a => 1}", "set(1, 2) = set(2, 1)", "[1] = set(1)",
    "1 != 2", "1 != 1", "'a' != 'b'", "null != null", "[1] != [1]",
    "1 < 2", "2 < 1", "1 < 1.5", "1.5 < 1", "'a' < 'b'", "'B' < 'a'", "'abc' < 'abd'",
    "1 <= 1", "1 >= 1", "2 > 1", "2 >= 3", "'b' > 'a'", "'a' >= 'a'",
    "1 < 'a'", "'a' < 1", "1 > 'a'", "[1] < [2]", "{a => 1} < {a => 2}", "true < 2",
    "true > false", "true < true", "1 < true",
    "null < 1", "1 < null", "null > 1", "1 > null", "null <= null", "null >= null",
    "null < null", "null > null", "null <= 1", "null >= 1", "1 >= null", "1 <= null",
    "'a' < null", "null < 'a'", "[] < null", "null < []",
    "1 = 1 and 2 = 2", "1 = 1 and 2 = 3", "1 = 2 or 2 = 2", "1 = 1 and 2 = 2 or false",
    "true and false", "true or false", "false or false", "not true", "not false",
    "not 0", "not 1", "not []", "not [0]", "not ''", "not 'a'", "not null", "not {}",
    "true and 5", "5 and true", "0 and 1", "null and 1", "1 and null", "'a' and 'b'",
    "null or 'x'", "0 or null", "'' or 'x'", "1 or 2", "[] or {}", "false or 0",
    "not true and false", "not (true and false)", "not 1 = 2", "not 1 = 1 and true",
    "1 < 2 = true", "(1 < 2) = true", "1 < 2 and 2 < 3", "1 + 1 = 2", "2 = 1 + 1",
    "1 in [1, 2]", "3 in [1, 2]", "'a' in 'abc'", "'z' in 'abc'", "'' in 'abc'",
    "1 in {a => 1}", "'a' in {a => 1}", "'a' in {a => 1}.keys()", "1 in set(1, 2)",
    "null in [null]", "[1] in [[1], [2]]", "1 in 'abc'", "'a' in ['abc']", "1 in 1",
    "1.0 in [1]", "true in [1]", "1 in $.l", "'x' in $.d.keys()", "'x' in $.d.values()",
    "not 1 in [1]", "1 in [1] and true",
    "'abc' =~ 'b'", "'abc' =~ '^b'", "'abc' !~ '^b'", "'abc' !~ 'b'", "'abc' =~ '[a-c]+$'",
    "1 =~ '1'", "'a' =~ 1", "'aBc' =~ regex('b', ignoreCase => true)",
    "'a1b2' =~ '\\d'", "'abc' =~ '('", "$.s =~ 'World'", "$.u =~ 'ö'",
    "$.a = 1 and $.s =~ 'Hello'", "$.n = null", "$.t and $.f", "$.t or $.f", "$.z or $.e",
    "not $.le", "$.de or 'empty'",
])

# ---------------------------------------------------------------- member access / indexers
many([
    "$.a", "$.d.x", "$.d.y", "$.d.y[0]", "$.d.y[1]", "$.d.y[-1]", "$.d.y[2]", "$.d.y[-3]",
    "$.d.z.k", "$.missing", "$.d.missing", "$.d.z.missing", "$.n.x", "$.n?.x", "$.d?.x",
    "$.a.x", "$.s.x", "$.l.x", "$.people.name", "$.people.age", "$.people[0].name",
    "$.people[-1]", "$.people.name[1]", "$.people.missing", "[{a => 1}, {a => 2}].a",
    "[{a => 1}, {b => 2}].a", "[1, 2].x", "1.x", "null.x", "'abc'.x", "true.x",
    "$[a]", "$['a']", "$.d['x']", "$.d[x]", "$.d['missing']", "$.d['missing', 'dflt']",
    "$.d[missing, 3]", "$.d['x', 3]", "$.l[0]", "$.l[5]", "$.l[-5]", "$.l[1.5]",
    "$.l['a']", "$.l[true]", "$.l[null]", "'abc'[0]", "1[0]", "null[0]", "$.l[0, 1]",
    "[1, 2, 3][1]", "{a => 1}['a']", "{a => 1}[a]", "{1 => 'x'}[1]", "{1 => 'x'}[1.0]",
    "$.l[$.a]", "$.ls[$.a - 1]", "$.people[$.a].name", "$['__env']", "$.d.y.len()",
    "$.($.a + 1)", "$.d.($.x)", "[1, 2].($.len())", "$.d.y.($ + [3])", "5.($ * 2)",
    "$.people.select($.name)[0]", "$.nested[1][1][0]", "$.nested[1][1][5]",
    "$?.a", "$.n?.x.y", "null?.x", "null?.len()", "[]?.len()",
])

# ---------------------------------------------------------------- variables, let, def
many([
    "let(x => 5) -> $x * 2", "let(x => 5, y => 6) -> $x + $y", "let(1, 2) -> $1 + $2",
    "let(7) -> $", "let(x => $.a) -> $x", "let(x => 1) -> let(y => 2) -> $x + $y",
    "let(x => 1) -> let(x => 2) -> $x", "let(x => [1, 2]) -> $x.select($ * 10)",
    "let(x => 5) -> $.a + $x", "let(l => $.l) -> $l.where($ > $l.min())",
    "with(1, 2) -> $1 * $2", "with(5) -> $", "def(f, $ * 2) -> f(3)",
    "def(f, $1 + $2) -> f(1, 2)", "def(sq, $ * $) -> [1, 2, 3].select(sq($))",
    "def(fact, switch($ <= 1 => 1, true => $ * fact($ - 1))) -> fact(10)",
    "def(f, f($)) -> f(1)", "[1, 2].unpack(a, b) -> $a + $b", "[2, 3].unpack() -> $1 * $2",
    "[1, 2, 3].unpack(a, b) -> $a", "1 -> 2", "$x -> 1", "let(x => 1)", "let(1)",
    "$1", "$2", "$a", "$.a.select($)", "let(x => null) -> $x", "let() -> 1",
])

# ---------------------------------------------------------------- queries
many([
    "$.l.select($ * 2)", "$.l.select($ + 1).sum()", "$.le.select($)", "$.people.select($.name)",
    "$.people.select([$.name, $.age])", "$.people.select({n => $.name})", "$.l.map($ * 3)",
    "$.l.where($ > 1)", "$.l.filter($ > 1)", "$.people.where($.age > 26).name",
    "$.people.where($.dept = eng).select($.name)", "$.l.where(true)", "$.l.where(null)",
    "$.l.where($)", "$.lm.where($)", "$.l.where($ > 'a')",
    "$.nested.selectMany($)", "[[1, 2], [3]].selectMany($)", "$.l.selectMany([$, $])",
    "[1, 2].selectMany($)", "$.l.first()", "$.le.first()", "$.le.first(0)", "$.l.first(9)",
    "$.l.last()", "$.le.last()", "$.le.last('d')", "[5].single()", "$.l.single()", "$.le.single()",
    "$.l.skip(1)", "$.l.skip(0)", "$.l.skip(10)", "$.l.skip(-1)", "$.l.take(2)", "$.l.take(0)",
    "$.l.take(10)", "$.l.limit(1)", "$.l.take(-1)", "$.l.skip(1).take(1)",
    "$.ints.skipWhile($ < 15)", "$.ints.takeWhile($ < 15)", "$.ints.takeWhile(false)",
    "$.dup.distinct()", "distinct($.dup)", "$.people.distinct($.age)", "$.people.distinct($.dept).name",
    "[1, 1.0, true].distinct()", "['a', 'A'].distinct()",
    "$.l.orderBy($)", "$.ls.orderBy($)", "$.l.orderByDescending($)", "$.people.orderBy($.age).name",
    "$.people.orderBy($.age).thenBy($.name).name", "$.people.orderBy($.age).thenByDescending($.name).name",
    "$.people.orderByDescending($.age).thenBy($.name).name", "$.people.orderBy($.dept).thenBy($.age).thenBy($.name).name",
    "$.lm.orderBy($)", "[null, 1, null].orderBy($)", "[2.5, 1, 3].orderBy($)", "$.l.thenBy($)",
    "[3, 1, 2].orderBy(-$)", "$.people.orderBy($.name).select($.age)",
    "$.people.groupBy($.dept)", "$.people.groupBy($.dept, $.name)", "$.people.groupBy($.age, $.name, $.len())",
    "$.dup.groupBy($)", "$.dup.groupBy($ mod 2, $, $.sum())", "[].groupBy($)",
    "$.people.groupBy($.dept, $.age, $.sum())",
    "[1, 2, 3].join([2, 3, 4], $1 = $2, [$1, $2])", "$.people.join($.people, $1.age = $2.age and $1.name < $2.name, [$1.name, $2.name])",
    "[1, 2].zip([3, 4])", "[1, 2, 3].zip([3, 4])", "[1, 2].zip([3, 4], [5, 6])", "[1, 2].zip()",
    "[1, 2].zipLongest([3])", "[1, 2].zipLongest([3], default => 0)", "[1].zipLongest([2, 3], [4])",
    "$.l.enumerate()", "$.l.enumerate(1)", "enumerate($.ls)", "enumerate($.ls, 10)",
    "$.l.any()", "$.le.any()", "$.l.any($ > 2)", "$.l.any($ > 5)", "any($.lm)", "[0, null].any()",
    "$.l.all()", "$.le.all()", "$.l.all($ > 0)", "$.l.all($ > 1)", "all([1, 0])", "[0].all()",
    "$.l.count()", "$.le.count()", "$.people.count()", "$.d.count()", "'abc'.count()",
    "$.l.len()", "len($.l)", "$.d.len()", "len($.d)", "$.s.len()", "len($.u)", "len(1)",
    "len(null)", "set(1, 2).len()", "$.people.len()",
    "$.l.sum()", "$.le.sum()", "$.nums.sum()", "$.l.sum(10)", "$.ls.sum()", "$.ls.sum('')",
    "[[1], [2]].sum([])", "sum($.l)", "$.lm.sum()", "[0.1, 0.2].sum()",
    "$.l.min()", "$.l.max()", "$.ls.min()", "$.ls.max()", "$.le.min()", "$.le.max()",
    "$.nums.min()", "$.nums.max()", "$.lm.max()", "$.l.min(0)", "$.l.max(10)", "$.le.max(1)",
    "min(1, 2)", "max(1, 2)", "min('a', 'b')", "max(1, 2.5)", "max(1, 'a')", "min(null, 1)",
    "max(null, 1)", "min(1, 2, 3)", "max(1)",
    "$.l.aggregate($1 + $2)", "$.l.aggregate($1 + $2, 100)", "$.le.aggregate($1 + $2)",
    "$.le.aggregate($1 + $2, 0)", "$.ls.aggregate($1 + $2)", "$.l.reduce($1 * $2)",
    "$.l.accumulate($1 + $2)", "$.l.aggregate([$1, $2])", "$.people.aggregate($1 + $2.age, 0)",
    "$.l.indexOf(1)", "$.l.indexOf(9)", "$.dup.lastIndexOf(1)", "$.dup.lastIndexOf(9)",
    "$.l.indexWhere($ < 3)", "$.l.indexWhere($ > 9)", "$.dup.lastIndexWhere($ = 2)",
    "$.l.append(4)", "$.l.append(4, 5)", "append($.l, 4)", "$.le.append(null)",
    "$.l.concat([9])", "$.l.concat([9], [8])", "concat($.l, $.ls)", "concat([1], 2)",
    "$.le.defaultIfEmpty([0])", "$.l.defaultIfEmpty([0])", "$.le.defaultIfEmpty(0)",
    "$.l.reverse()", "$.le.reverse()", "$.l.memorize()", "$.l.cycle().take(7)", "[].cycle().take(3)",
    "1.repeat(3)", "'a'.repeat(0)", "null.repeat(2)", "5.repeat().take(3)", "[1].repeat(2)",
    "range(5)", "range(0)", "range(-2)", "range(1, 5)", "range(1, 10, 3)", "range(10, 1, -2)",
    "range(1, 5, 0)", "range(5, 1)", "range(1.5)", "range('a')", "range(3).select($ * $)",
    "sequence().take(3)", "sequence(5).take(3)", "sequence(1, 2).take(4)", "sequence(0, -1).take(3)",
    "sequence(1.5, 0.5).take(3)", "sequence().takeWhile($ < 4)", "sequence(1).first()",
    "generate(0, $ < 5, $ + 1)", "generate(1, $ < 100, $ * 2, $ * 10)", "generate(0, false, $ + 1)",
    "$.ints.slice(2)", "$.ints.slice(4)", "$.le.slice(2)", "$.ints.sliceWhere($ mod 2 = 0)",
    "$.ints.splitAt(2)", "$.ints.splitAt(0)", "$.ints.splitAt(10)", "$.ints.splitAt(-1)",
    "$.ints.splitWhere($ mod 2 = 1)", "[1, 2, 3].splitWhere($ = 2)",
    "isIterable($.l)", "isIterable($.s)", "isIterable($.d)", "isIterable(null)", "isIterable(set(1))",
    "$.nested.flatten()", "[1, [2, [3, [4]]]].flatten()", "[].flatten()", "$.l.flatten()",
    "$.l.select($).where($ > 1).orderBy($).first()", "$.people.where($.age > 20).orderBy($.name).select($.name).take(2)",
    "$.people.select($.age).distinct().orderBy($)", "$.people.groupBy($.dept).select($[0])",
    "$.people.toDict($.name, $.age)", "$.people.toDict($.name)", "$.l.toDict($, $ * $)",
    "[1, 2].select($ + $undefined)", "$.l.select($x)", "$.l.select()", "$.l.where()",
    "$.l.select($ * 2, 1)", "select($.l, $ * 2)", "where($.l, $ > 1)", "$.d.select($)",
    "$.s.select($)", "null.select($)", "$.l.first($ > 1)", "$.l.sum($)",
])

# ---------------------------------------------------------------- collections
many([
    "list(1, 2, 3)", "list()", "list($.l)", "list(null)", "list([1], [2])",
    "dict(a => 1, b => 2)", "dict()", "dict([[a, 1], [b, 2]])", "dict([['a', 1]])", "dict([[1, 2, 3]])",
    "dict($.people.select([$.name, $.age]))", "dict('a' => 1)", "dict(1 + 1 => 2)", "dict([1, 2])",
    "set(1, 2, 2)", "set()", "set([1, 2])", "set($.l).len()", "set(1, 2).toList()", "set('a', 'b')",
    "$.l.toList()", "$.l.toSet()", "$.dup.toSet()", "$.le.toSet()", "$.d.toList()", "'abc'.toList()",
    "isList($.l)", "isList($.d)", "isList(set(1))", "isList('a')", "isDict($.d)", "isDict($.l)",
    "isSet(set(1))", "isSet($.l)", "isSet($.d.keys())", "isList(range(3))",
    "$.l.contains(1)", "$.l.contains(9)", "$.le.contains(null)", "$.d.contains(x)",
    "$.d.containsKey(x)", "$.d.containsKey(q)", "$.d.containsValue(1)", "$.d.containsValue(9)",
    "$.l.containsKey(1)", "$.d.get(x)", "$.d.get(q)", "$.d.get(q, 5)", "$.d.get(y)", "$.l.get(0)",
    "$.d.keys()", "$.de.keys()", "$.keyed.keys()", "$.d.keys().toList()", "$.d.keys().len()",
    "$.d.values()", "$.keyed.values()", "$.d.items()", "$.keyed.items().toList()",
    "$.keyed.items().select($[0])", "$.keyed.items().orderBy($[0])", "$.d.items().len()",
    "$.d.set(w, 5)", "$.d.set(x, 5)", "$.d.set({w => 1, v => 2})", "$.d.set(w => 1, v => 2)",
    "$.de.set(a, [1])", "$.l.set(0, 1)", "$.d.set(1, 2)",
    "$.d.delete(x)", "$.d.delete(x, y)", "$.d.delete(q)", "$.d.deleteAll([x, y])", "$.d.deleteAll([])",
    "$.l.delete(0)", "$.l.delete(1, 2)", "$.l.delete(5)", "$.ints.delete(1, -1)",
    "$.l.insert(0, 9)", "$.l.insert(1, 9)", "$.l.insert(10, 9)", "$.l.insert(-1, 9)", "$.le.insert(0, 1)",
    "$.l.insertMany(1, [8, 9])", "$.l.insertMany(0, [])", "$.l.insertMany(10, [1])",
    "$.l.replace(0, 9)", "$.ints.replace(1, 0, 2)", "$.ints.replace(1, 0, -1)", "$.l.replace(5, 0)",
    "$.ints.replaceMany(1, [0, 0], 2)", "$.l.replaceMany(0, [7])",
    "set(1, 2).add(3)", "set(1).add(1, 2)", "set(1, 2).remove(1)", "set(1).remove(5)",
    "set(1, 2).union(set(2, 3))", "set(1, 2).intersect(set(2, 3))", "set(1, 2).difference(set(2, 3))",
    "set(1, 2).symmetricDifference(set(2, 3))", "set(1, 2).union([3])", "[1].union(set(2))",
    "$.d.mergeWith({x => 2, w => 3})", "{a => {b => 1}}.mergeWith({a => {c => 2}})",
    "{a => [1, 2]}.mergeWith({a => [2, 3]})", "{a => {b => 1}}.mergeWith({a => {c => 2}}, maxLevels => 1)",
    "{a => 1}.mergeWith(1)", "$.d.len() + $.l.len()", "$.keyed", "$.d", "$", "$.people",
])

# ---------------------------------------------------------------- strings
many([
    "str(1)", "str(1.5)", "str(2.0)", "str(null)", "str(true)", "str(false)", "str('a')",
    "str([1, 2])", "str([])", "str([1])", "str({a => 1})", "str($.d)", "str(set(1))", "str(set())",
    "str(['a', \"it's\"])", "str([true, null, 1.0])", "str(0.1 + 0.2)", "str(1e-5)", "str(0.00001)",
    "str(100000000000000000.0)", "str(-0.5)", "str($.u)", "str([$.u])", "str(['a\\nb'])",
    "str(regex('a'))", "str(timespan(days => 1, seconds => 5))", "str(timespan())",
    "str(datetime(2020, 1, 2, 3, 4, 5, 6))", "str(datetime(2020, 1, 2))",
    "isString('a')", "isString(1)", "isString(null)", "isString($.s)",
    "'abc'.toUpper()", "'ÄbC'.toLower()", "$.u.toUpper()", "'straße'.toUpper()", "toUpper('a')",
    "1.toUpper()", "null.toUpper()", "$.s.toLower()",
    "'  x  '.trim()", "'xxaxx'.trim(x)", "'  x  '.trimLeft()", "'  x  '.trimRight()",
    "'abcba'.trim('ab')", "'\\t\\n x \\n'.trim()", "'xyx'.trimLeft('x')", "'xyx'.trimRight('x')",
    "'a,b,,c'.split(',')", "'a b  c'.split()", "'a,b,c'.split(',', 1)", "'a,b,c'.split(',', 0)",
    "$.words.split(' ')", "$.words.split()", "''.split(',')", "''.split()", "'abc'.split('')",
    "'a,b,c'.rightSplit(',', 1)", "'a b c'.rightSplit()", "'a b c'.rightSplit(null, 1)",
    "'abc'.split(null)", "$.csv.split(',').where($)", "'a-b_c'.split(regex('[-_]'))",
    "'abcdef'.substring(1)", "'abcdef'.substring(1, 2)", "'abc'.substring(-2)", "'abc'.substring(5)",
    "'abc'.substring(0, 0)", "'abc'.substring(1, -1)", "$.u.substring(1, 4)", "'abc'.substring(-5, 2)",
    "'abc'.indexOf(c)", "'abc'.indexOf(z)", "'abcabc'.indexOf(b, 2)", "'abcabc'.indexOf(b, 2, 1)",
    "'abcabc'.lastIndexOf(b)", "'abcabc'.lastIndexOf(z)", "'abcabc'.lastIndexOf(b, 0, 3)",
    "$.u.indexOf('ö')", "'abc'.indexOf('')", "'abc'.indexOf(b, -1)",
    "'abc'.startsWith(a)", "'abc'.startsWith(b)", "'abc'.startsWith(z, a)", "'abc'.endsWith(c)",
    "'abc'.endsWith(b, bc)", "'abc'.startsWith()", "'abc'.startsWith(1)",
    "'abc'.replace(b, X)", "'aaa'.replace(a, b, 2)", "'aaa'.replace(a, b, 0)", "'abc'.replace('', '-')",
    "'abc'.replace({a => 1, b => 2})", "'aaa'.replace({a => b}, 1)", "'a.b'.replace('.', '')",
    "'abc'.toCharArray()", "''.toCharArray()", "$.u.toCharArray().len()",
    "concat(a, b, c)", "concat('a')", "concat('a', 1)", "concat()",
    "[1, 2].join(',')", "','.join([1, 2])", "','.join(['a', 'b'])", "['a', 'b'].join(', ')",
    "[].join(',')", "['a', null, true].join('-')", "$.ls.join('')", "','.join('abc')", "'-'.join($.l)",
    "[1.5, [1]].join(';')",
])
many([
    "characters(digits => true)", "characters(octdigits => true)", "characters(hexdigits => true)",
], note="unordered: characters() builds its list from a set")
many([
    "characters(asciiLowercase => true).len()", "characters(punctuation => true).len()",
    "characters().len()",
    "hex(255)", "hex(0)", "hex(-1)", "hex(1.5)", "hex('a')",
    "'a'.isEmpty()", "''.isEmpty()", "'  '.isEmpty()", "isEmpty('  ')", "isEmpty('  ', false)",
    "isEmpty(null)", "'xx'.isEmpty(chars => x)", "norm('  a  ')", "norm('   ')", "'  a b '.norm()",
    "norm(null)", "norm('xax', 'x')",
    "'abc' + 'def'", "'abc' < 'abd'", "'é' > 'e'", "len('日本語')", "'日本語'.substring(1)",
    "'%s' + str(1)", "'x' * 3 + 'y'", "'a' in $.s", "$.s.toLower().split(', ')",
    "'a b c'.split(' ').select($.toUpper()).join('')", "$.words.split().orderBy($).distinct()",
    "$.words.split().groupBy($.len(), $, $.len())", "'%s'.format(1)", "'{0}'.format(1)",
])

# ---------------------------------------------------------------- math
many([
    "abs(-1)", "abs(1.5)", "abs(-2.5)", "abs('a')", "abs(null)", "abs(0)",
    "float(1)", "float('1.5')", "float('abc')", "float(null)", "float(true)", "float('1e3')",
    "float(' 2 ')", "float('inf')", "float([1])",
    "int(1.9)", "int(-1.9)", "int('12')", "int(' 12 ')", "int('1.5')", "int('abc')", "int(null)",
    "int(true)", "int([1])", "int(1e0)", "int(2.5e1)",
    "isInteger(1)", "isInteger(1.0)", "isInteger(true)", "isInteger('1')", "isNumber(1)",
    "isNumber(1.5)", "isNumber(true)", "isNumber(null)", "isNumber('1')",
    "pow(2, 10)", "pow(2, -1)", "pow(2.0, 3)", "pow(2, 10, 1000)", "pow(0, 0)", "pow(-8, 0.5)",
    "pow(0, -1)", "pow('a', 2)", "pow(2, 0.5)", "pow(10, 18)", "pow(3, 3, 0)",
    "round(2.5)", "round(3.5)", "round(-2.5)", "round(2.675, 2)", "round(1.234, 1)", "round(5)",
    "round(15, -1)", "round(25, -1)", "round(1234.5, -2)", "round('a')", "round(0.5)", "round(1.5)",
    "round(2.4)", "round(-0.4)", "round(7, 2)",
    "sign(-5)", "sign(0)", "sign(3.2)", "sign(-0.1)", "sign('a')",
    "bitwiseAnd(12, 10)", "bitwiseOr(12, 10)", "bitwiseXor(12, 10)", "bitwiseNot(5)",
    "shiftBitsLeft(1, 4)", "shiftBitsRight(256, 4)", "shiftBitsRight(-16, 2)", "bitwiseAnd(1.5, 1)",
    "bitwiseAnd(true, 1)", "shiftBitsLeft(1, -1)",
    "max(3, 7) - min(3, 7)", "abs(-3) + abs(3)", "int(float('2.5') * 2)", "round(10 / 3.0, 2)",
    "random() < 1", "random(1, 1)", "isInteger(random(1, 10))",
])

# ---------------------------------------------------------------- boolean / branching / system
many([
    "bool(1)", "bool(0)", "bool('')", "bool('a')", "bool([])", "bool({})", "bool(null)",
    "bool(0.0)", "bool([0])", "isBoolean(true)", "isBoolean(1)", "isBoolean(null)",
    "coalesce(null, 1, 2)", "coalesce(null, null)", "coalesce()", "coalesce($.n, $.a)",
    "coalesce(false, 1)", "coalesce($.missing, 1)",
    "switch(1 > 2 => a, true => b)", "switch(false => 1)", "switch($.a = 1 => one, $.a = 2 => two)",
    "switch(null => 1, 0 => 2, '' => 3, 'x' => 4)", "switch(a => 1)", "switch(1)",
    "switch($.a > 0 => $.a * 10, true => 0)",
    "selectCase(false, true, true)", "selectCase(false, false)", "selectCase()",
    "selectAllCases(true, false, true)", "selectAllCases()", "examine(1, 0, 'a')",
    "selectCase($.a > 1, $.a > 0).switchCase(big, small, none)", "2.switchCase(a, b)",
    "5.switchCase(a, b)", "0.switchCase(a)", "'x'.switchCase(a)",
    "$.l.assert($.len() = 3)", "$.l.assert($.len() = 2)", "$.l.assert($.len() = 2, 'bad')",
    "1.assert($ > 0)", "1.assert($ < 0, 'negative')",
    "call(len, [[1, 2]], {})", "$.d.y.len() = 2",
])

# ---------------------------------------------------------------- regex
many([
    "regex('a+').matches('caab')", "'caab'.matches('a+')", "'caab'.matches(regex('^a'))",
    "regex('^a').matches('caab')", "regex('A', ignoreCase => true).matches('a')",
    "regex('a.b', dotAll => true).matches('a\\nb')", "regex('^b', multiLine => true).matches('a\\nb')",
    "regex('(').matches('x')", "regex('a+').search('caab')", "regex('z').search('caab')",
    "regex('a(.)').search('xaybaz', $1)", "regex('(\\d+)').search('ab12cd34', $2)",
    "regex('\\d+').searchAll('a1b22c333')", "regex('(\\w)(\\d)').searchAll('a1b2', $2 + $3)",
    "regex('\\d').searchAll('abc')", "regex('a').search('xa', $.start)",
    "regex('a').search('xa', $.value)", "regex('ab').searchAll('abab', $.end)",
    "regex('a').replace('banana', 'o')", "regex('a').replace('banana', 'o', 2)",
    "'banana'.replace(regex('a'), 'o')", "'banana'.replace(regex('(n)a'), '\\1A')",
    "regex('(\\w+) (\\w+)').replace('hello world', '\\2 \\1')",
    "regex('a').replaceBy('banana', $.value.toUpper())", "'banana'.replaceBy(regex('an'), '_')",
    "regex('[,;]').split('a,b;c')", "regex(',').split('a,b,c', 1)", "'a1b2c'.split(regex('\\d'))",
    "regex('(,)').split('a,b')", "escapeRegex('a.b*c')", "escapeRegex('a b')", "escapeRegex('a_b-c')",
    "isRegex(regex('a'))", "isRegex('a')", "regex(1)", "regex('a').x",
    "'2020-01-02' =~ '^\\d{4}-\\d{2}-\\d{2}$'", "'abc' =~ regex('B', true)",
    "'aaa'.matches('^a{2}$')", "regex('(?P<y>\\d{4})').search('in 2024!')",
    "'a.b.c'.split(regex('\\.'), 1)", "regex('x*').replace('abc', '-')",
    "regex('(a)(b)?').search('ac', $3)", "'hello'.matches('l+')", "'hello' =~ 'L'",
    "$.words.replace(regex('o(\\w)'), '0\\1')", "regex('\\s+').split($.words).len()",
])

# ---------------------------------------------------------------- date/time
many([
    "datetime(2020, 1, 2)", "datetime(2020, 1, 2, 3, 4, 5)", "datetime(2020, 1, 2, 3, 4, 5, 6)",
    "datetime(2020, 2, 30)", "datetime(2020, 13, 1)", "datetime(2020, 1)", "datetime('2020-01-02')",
    "datetime('2020-01-02T03:04:05')", "datetime('2020-01-02 03:04:05+02:00')",
    "datetime('02/01/2020', '%d/%m/%Y')", "datetime('junk')", "datetime(0)", "datetime(1600000000)",
    "datetime(1600000000.5)", "datetime(2020, 1, 2).year", "datetime(2020, 1, 2).month",
    "datetime(2020, 1, 2, 3, 4, 5).hour", "datetime(2020, 1, 2, 3, 4, 5).minute",
    "datetime(2020, 1, 2, 3, 4, 5).second", "datetime(2020, 1, 2, 3, 4, 5, 6).microsecond",
    "datetime(2020, 1, 2).weekday", "datetime(2020, 1, 2).day", "datetime(2020, 1, 2).timestamp",
    "datetime(2020, 1, 2, 3, 4).date", "datetime(2020, 1, 2, 3, 4).time", "datetime(2020, 1, 2).utc",
    "datetime(2020, 1, 2).offset", "datetime(2020, 1, 2).format('%Y/%m/%d %H:%M')",
    "datetime(2020, 1, 2, 13, 5).format('%I %p %j %a %A %b %B')", "datetime(2020, 1, 2).format('%%')",
    "datetime(2020, 1, 2) + timespan(days => 1)", "datetime(2020, 1, 2) - timespan(hours => 1)",
    "datetime(2020, 1, 2) - datetime(2020, 1, 1)", "datetime(2020, 1, 1) - datetime(2020, 1, 2)",
    "datetime(2020, 1, 2) > datetime(2020, 1, 1)", "datetime(2020, 1, 2) = datetime(2020, 1, 2)",
    "datetime(2020, 1, 2) < 5", "datetime(2020, 1, 2) + 1",
    "timespan(days => 1)", "timespan(hours => 2, minutes => 30)", "timespan(seconds => 90)",
    "timespan(milliseconds => 1500)", "timespan(days => -1)", "timespan(hours => 1.5)",
    "timespan(days => 1).days", "timespan(hours => 25).days", "timespan(hours => 25).seconds",
    "timespan(hours => 1).hours", "timespan(minutes => 90).minutes", "timespan(seconds => 1).milliseconds",
    "timespan(microseconds => 5).microseconds", "timespan(days => 1) + timespan(hours => 1)",
    "timespan(days => 1) - timespan(hours => 1)", "timespan(hours => 1) * 2", "2 * timespan(hours => 1)",
    "timespan(hours => 1) / 2", "timespan(hours => 1) / timespan(minutes => 30)",
    "-timespan(hours => 1)", "timespan(hours => 1) > timespan(minutes => 59)",
    "timespan(days => 'a')", "isDatetime(datetime(2020, 1, 1))", "isDatetime('2020')",
    "isTimespan(timespan())", "isTimespan(1)", "now() > datetime(2020, 1, 1)", "isDatetime(now())",
    "utctz()", "str(utctz())", "datetime(2020, 1, 2, offset => timespan(hours => 2))",
    "datetime(2020, 1, 2, offset => timespan(hours => 2)).utc", "datetime(2020, 1, 2).replace(year => 2021)",
    "datetime(2020, 1, 31).replace(month => 2)", "str(datetime(2020, 1, 2, offset => timespan(hours => -5)))",
    "datetime(2020, 1, 2, offset => timespan(hours => 2)).format('%z')",
    "datetime(2020, 1, 1).format('%Y-%m-%dT%H:%M:%S')", "now().year >= 2024",
    "localtz() = localtz()",
])

# ---------------------------------------------------------------- errors of each kind and limits
many([
    "foo()", "foo(1)", "$.l.foo()", "$.l.nosuch(1)", "unknownFunc($.a)", "len()", "len(1, 2)",
    "$.l.select()", "'a'.toUpper(1)", "toUpper()", "$.d.keys(1)", "abs(1, 2)", "range()",
    "range(1, 2, 3, 4)", "dict(1)", "'abc'.substring()", "$.l.take('a')", "$.l.skip(null)",
    "$.missing.x", "$.d['q']", "$.l[10]", "1 / 0", "'a' * 'b'", "{} < {}", "null + null",
    "$.l.first($)", "list().first()", "int('x')", "datetime(2020, 1, 40)",
])

# ---------------------------------------------------------------- unicode & misc data
many([
    "$.u", "$.u.len()", "$.u.toUpper()", "$.u.split(' ')", "$.u.replace('ö', 'o')",
    "$.u.indexOf('日')", "$.u.substring(-2)", "$.u + '!'", "$.u.toCharArray().reverse().join('')",
    "'emoji 😀'.len()", "'😀'.toCharArray()", "'\\u00e9' = 'é'", "'ÉCOLE'.toLower()",
    "'ǅ'.toUpper()", "'ß'.toUpper()", "'İ'.toLower()", "'ﬁ'.toUpper()",
], note="unicode")

add("$.big.len()", {"big": list(range(5000))})
add("$.big.sum()", {"big": list(range(5000))})
add("$.big.where($ mod 7 = 0).count()", {"big": list(range(5000))})
add("$.big.select($ * 2).max()", {"big": list(range(5000))})
add("$.big.orderByDescending($).first()", {"big": list(range(5000))})
add("range(100000).len()", {})
add("range(20000).select($ * $).sum()", {})
add("range(1000).select(str($)).join('').len()", {})
add("$.big.distinct().len()", {"big": [i % 37 for i in range(5000)]})
add("$.big.groupBy($ mod 3, $, $.len())", {"big": list(range(3000))})
add("$.big.toSet().len()", {"big": [i % 100 for i in range(5000)]})


def nest_list(depth):
    v = 1
    for _ in range(depth):
        v = [v]
    return v


def nest_dict(depth):
    v = 1
    for _ in range(depth):
        v = {"k": v}
    return v


add("$.v.flatten()", {"v": nest_list(50)}, note="deep nesting")
add("$.v", {"v": nest_dict(60)}, note="deep nesting")
add("$.v.k.k.k.k", {"v": nest_dict(60)}, note="deep nesting")
add("$.v", {"v": nest_list(900)}, note="nesting beyond the recursion limit")
add("$.v", {"v": nest_dict(900)}, note="nesting beyond the recursion limit")
add("'(' * 3", {})
add("(((((((((((1)))))))))))", {})
add("[[[[[[[[[[1]]]]]]]]]]", {})
add("def(f, f($ + 1)) -> f(0)", {}, note="runaway recursion")
add("def(f, $ + f($)) -> f(1)", {}, note="runaway recursion")
add("$.k", {"k": "x" * 1000})
add("$.k.len()", {"k": "é" * 3000})
add("$.k.toUpper().len()", {"k": "ab" * 5000})


# ---------------------------------------------------------------- second round of corner cases
many([
    "[[1], [1]].distinct()", "set([1])", "[[1, 2]].toSet()", "{[1] => 2}", "[1, 2] in set([1, 2])",
    "$.l.toSet().add([1])", "dict([[[1], 2]])", "$.people.groupBy($.dept).toDict($[0], $[1].len())",
    "range(,5)", "range(1,,2)", "len(,)", "null.len()", "null.select($)", "$.l.select($, 1)",
    "'abc'.len(1)", "$.d.get()", "$.d.keys(x)", "dict(a => 1).a", "{a => 1}.get(a)",
    "$.l.select($1 * 2)", "$.l.select([$, $1])", "$.l.aggregate($2)", "$.l.select($2)",
    "let(x => 10) -> $.l.select($ + $x)", "$.people.select($.name).select($.toUpper())",
    "$.ls.selectMany($)", "$.ls.selectMany([$, $])", "$.people.selectMany($.name)",
    "$.lm.orderBy($)", "['b', 'a', null].orderBy($)", "['b', 'a'].max()", "[null, 1].max()",
    "[datetime(2020, 1, 1), datetime(2019, 1, 1)].max()", "[timespan(), timespan(days => 1)].min()",
    "'a1b2'.replace(regex('\\d'), '#')", "regex('(?i)A').matches('a')", "'abc' =~ '\\Aa'",
    "'abc' =~ 'c\\Z'", "'x y' =~ '\\s'", "'é' =~ '\\w'", "'٣' =~ '\\d'", "'ab' =~ '(?P<x>a)(?P=x)'",
    "'aa' =~ '(?P<x>a)(?P=x)'", "'abc' =~ 'a(?=b)'", "'abc' =~ '(?<=a)b'", "'a\\nb' =~ '^b'",
    "'a\\nb' =~ '(?m)^b'", "regex('a{2,}').searchAll('aaa a aa')", "'a.b'.split(regex('.'))",
    "'aXbXc'.split(regex('x', ignoreCase => true))", "regex('(a)|(b)').searchAll('ab', $2.value)",
    "'hello world'.replaceBy(regex('o'), '0')", "'hello'.replaceBy(regex('l'), $.value + $.value)",
    "regex('l').replaceBy('hello', str($.start))", "escapeRegex('[x]')",
    "pow(2, 62)", "abs(-9223372036854775807)", "int(1e18)", "int(9.3e18)",
    "float(9223372036854775807)", "1000000 * 1000000 * 1000000",
    "str(1e16)", "str(1.0e15)", "str(123456789.123456789)", "str(-1e-7)", "str(float('nan'))",
    "float('nan') = float('nan')", "float('inf') > 1", "str(float('-inf'))", "round(1e20)",
    "1 / 3", "-1 / 3", "1 mod 3", "-1 mod -3", "0.1 mod 0.03", "5.5 / 0.5", "2.5 * 4",
    "10 / 3 * 3", "(10 / 3) * 3.0", "7 / 7.0", "round(0.125, 2)", "round(0.375, 2)", "round(-1.5)",
    "round(2.5, 0)", "round(1.25, 1)", "round(123, -1)", "round(125, -1)", "round(135, -1)",
    "'%d'.len()", "'a' * 2 * 3", "('a' + 'b') * 2", "'x'.repeat(3)", "'ab'.toCharArray().reverse()",
    "'  a  b  '.split(' ')", "'a  b'.split(' ', 1)", "'a b c d'.split(null, 2)", "' a b '.rightSplit(null, 1)",
    "'a\\tb\\nc'.split()", "'a\\u3000b'.split()", "'\\u00a0a\\u00a0'.trim()", "'abc'.trim('')",
    "'abc'.substring(1, 0)", "'abc'.substring(1, 100)", "'abc'.indexOf('b', 5)", "'abc'.indexOf('', 3)",
    "'abcabc'.lastIndexOf('c', 3)", "'abcabc'.lastIndexOf('a', 1, 2)", "'abc'.startsWith('')",
    "'abc'.endsWith('abcd')", "'ABC'.toLower().toUpper()", "'ǈ'.toLower()", "'ﬀ'.len()",
    "str([[1, 2], {a => [3]}])", "str({a => set(1)})", "str([1.5, 2.0, -0.0])", "str('a\\\\b')",
    "str(['\\u00e9', '\\x07'])", "str(['a\\rb'])", "str([\"'\", '\"'])", "str(['\\u200b'])",
    "str(range(2).toList())", "str(1 = 1)", "str([null])", "str({})", "str([{}])",
    "isDict(dict())", "isList([])", "isList(list())", "isSet(set())", "isString(str(1))",
    "isInteger(int('5'))", "isNumber(float('1'))", "isBoolean(not 1)", "isBoolean(bool(1))",
    "$.d.containsKey(null)", "{null => 1}.containsKey(null)", "{1 => 2}.containsKey(1.0)",
    "{1 => 2}.containsKey(true)", "{true => 1, 1 => 2}", "set(1, 1.0, true).len()", "[1, 1.0, true].toSet().len()",
    "$.people.where($.age > 30).select($.name).join(', ')", "$.people.orderBy($.name).reverse().name",
    "$.people.max($.age)", "$.people.select($.age).max()", "$.people.sum($.age)",
    "$.people.where($.dept = 'eng').count()", "$.people.any($.age > 35)", "$.people.all($.age > 20)",
    "$.people.first().name", "$.people.last().get(dept)", "$.people.select($.get(missing, 'n/a'))",
    "$.people.indexWhere($.name = 'cid')", "$.people.select($.name).indexOf('bob')",
    "switch($.a = 1 => [1, 2], true => {})", "coalesce($.n, $.z, 5)", "selectCase($.a = 0, $.a = 1)",
    "$.l.zip($.ls).toDict($[1], $[0])", "dict($.l.zip($.ls))", "$.ls.enumerate().select($[1] + str($[0]))",
    "$.d.mergeWith($.d)", "$.d.mergeWith({y => [3]})", "$.d.mergeWith({z => {q => 1}})",
    "{a => [1, {b => 1}]}.mergeWith({a => [{b => 1}, 2]})", "{a => 1}.mergeWith({a => null})",
    "$.d.values().len()", "$.d.values().select(str($))", "$.keyed.keys().orderBy($)",
    "$.keyed.values().orderBy($)", "$.keyed.items().orderBy($[1]).select($[0])",
    "let(a => 1, b => 2) -> [$a, $b, $]", "let($.l) -> $1.len()", "with($.a, $.b) -> $1 + $2",
    "def(add, $1 + $2) -> def(twice, add($, $)) -> twice(21)", "def(f, $) -> [1, 2].select(f($))",
    "def(f, $x) -> let(x => 7) -> f()", "let(x => 1) -> def(f, $x) -> let(x => 2) -> f()",
    "$.l.select(let(y => $ * 2) -> $y + 1)", "[1, 2].unpack() -> $2", "[1].unpack(a, b) -> $a",
    "generate(1, $ < 50, $ * 3, str($))", "generate([1], $.len() < 4, $ + [1]).select($.len())",
    "$.l.cycle().skip(2).take(4)", "$.l.repeat(2)", "sequence(10, -3).takeWhile($ > 0)",
    "sequence(5).skip(2).take(2)", "5.repeat().skip(3).take(2)",
    "$.ints.slice(4).select($.sum())", "$.ints.splitAt(2).select($.len())", "$.ints.sliceWhere($ > 10).len()",
    "zip([1, 2], [3, 4])", "[1, 2].zip('ab')", "[1].zipLongest([2, 3], default => 'x')",
    "[3, 1, 2].orderBy($).thenBy(-$)", "[[2, 'b'], [1, 'a'], [2, 'a']].orderBy($[0]).thenBy($[1])",
    "[[2, 'b'], [1, 'a'], [2, 'a']].orderByDescending($[0]).thenByDescending($[1])",
    "[1, 2, 3].orderBy($ mod 2).thenBy($).select($ * 10)", "[].orderBy($).thenBy($)",
    "[1, 2, 3, 4].groupBy($ mod 2, $ * 10, $.sum()).orderBy($[0])", "['aa', 'b', 'cc'].groupBy($.len())",
    "$.people.groupBy($.age > 30, $.name).toDict($[0], $[1])",
    "'a,b'.split(',').toSet().len()", "[1, 2, 3].toSet().intersect(set(2, 3, 4)).toList().orderBy($)",
    "set(1, 2).remove(1, 2)", "set().add(1)", "set(1, 2) = set(2, 1) and set(1) != set(2)",
    "set(1, 2) < set(1, 2, 3)", "set(1, 2) > set(1)", "set(1) <= set(2)", "set(1) < [1]",
    "[3, 1].concat([2]).orderBy($)", "concat([1], [2], [3])", "concat('a', 'b', 'c')", "concat(['a'], 'b')",
    "[1, 2].append([3])", "[].append()", "[1, null].where($ != null)", "[1, null].where($)",
    "$.nested.select($.len())", "$.nested.where($.len() > 1).flatten()", "$.nested.flatten().sum()",
    "[[1, [2]], [[3]]].flatten()", "['ab', ['cd']].flatten()", "[{a => 1}, [{b => 2}]].flatten()",
], ctx=None)


# ---------------------------------------------------------------- keyword arguments
many([
    "$.l.select(selector => $ * 2)", "$.l.where(predicate => $ > 1)", "'a,b'.split(separator => ',')",
    "'a,b,c'.split(',', maxSplits => 1)", "'a b'.split(sep => ' ')", "range(start => 1, stop => 3)",
    "range(stop => 3)", "$.d.get(key => x)", "$.d.get(x, default => 5)", "$.d.get(q, default => 5)",
    "'abc'.substring(start => 1)", "'abc'.substring(1, length => 1)", "$.l.first(default => 0)",
    "[].first(default => 0)", "$.l.aggregate($1 + $2, seed => 10)", "$.l.take(count => 2)",
    "$.l.orderBy(selector => -$)", "$.people.groupBy(keySelector => $.dept, valueSelector => $.name)",
    "$.people.toDict(keySelector => $.name)", "round(1.55, ndigits => 1)", "round(number => 2.5)",
    "pow(a => 2, b => 3)", "regex('a', ignoreCase => true).matches('A')", "regex('a', ignore_case => true)",
    "'abc'.replace(old => 'a', new => 'b')", "'aaa'.replace('a', 'b', count => 1)", "trim('  a  ')",
    "'xax'.trim(chars => 'x')", "$.l.enumerate(start => 1)", "$.l.distinct(keySelector => $ mod 2)",
    "datetime(year => 2020, month => 1, day => 2)", "datetime(2020, 1, 2, hour => 5).hour",
    "timespan(days => 1, hours => 1)", "timespan(weeks => 1)", "now(offset => timespan(hours => 1)) > now()",
    "'a'.isEmpty(trim => false)", "isEmpty(' ', trim => false)", "$.l.zipLongest([1], default => 0)",
    "$.l.sum(initial => 10)", "$.l.max(initial => 10)", "dict(items => [[1, 2]])", "list(args => 1)",
    "let(x => 1, 2) -> $x", "let(1, x => 2) -> [$1, $x]", "switch(true => 1, true => 2)",
    "coalesce(a => 1)", "$.l.select(foo => $)", "'abc'.toUpper(x => 1)", "$.d.set(key => a, value => 1)",
    "$.l.contains(value => 1)", "$.l.indexOf(item => 2)", "$.l.skip(count => 1)",
    "$.l.mergeWith({})", "{}.mergeWith(another => {a => 1})", "$.l.repeat(times => 1)", "1.repeat(times => 2)",
])


# ---------------------------------------------------------------- Mistral-style expressions
MCTX = {
    "__env": {"region": "r1"}, "__execution": {"id": "e1"},
    "vm_names": ["vm1", "vm2", "vm3"], "count": 3, "status": "SUCCESS", "retries": 0,
    "result": {"stdout": "ok\nline2", "return_code": 0, "items": [{"id": 1, "ok": True}, {"id": 2, "ok": False}]},
    "servers": [{"name": "a", "status": "ACTIVE", "addresses": {"net": [{"addr": "10.0.0.1"}]}},
                {"name": "b", "status": "ERROR", "addresses": {}}],
    "opt": None, "flag": "true", "num_str": "42", "ts": "2024-03-01T12:30:00",
}
many([
    "$.vm_names.len()", "len($.vm_names) > 2", "$.vm_names[0]", "$.vm_names.select(concat($, '-x'))",
    "$.vm_names.select($ + '.example.com')", "$.count + 1", "$.count * 2 = 6", "$.status = SUCCESS",
    "$.status != 'ERROR' and $.retries < 3", "$.result.stdout.split('\\n')", "$.result.return_code = 0",
    "$.result.items.where($.ok).id", "$.result.items.where(not $.ok).select($.id)", "$.result.items.id.sum()",
    "$.servers.where($.status = 'ACTIVE').name", "$.servers.select($.addresses.get(net, []).len())",
    "$.servers.select($.addresses.net[0].addr)", "$.servers.first().addresses.net[0].addr",
    "$.servers.where($.status = 'ERROR').len() > 0", "$.opt = null", "$.opt or 'default'", "coalesce($.opt, 'x')",
    "$.flag = 'true'", "bool($.flag)", "int($.num_str) + 1", "float($.num_str) / 5", "str($.count) + ' vms'",
    "datetime($.ts).hour", "datetime($.ts).format('%Y%m%d')", "datetime($.ts) + timespan(days => 1)",
    "str(datetime($.ts) + timespan(hours => 12))", "$.__env", "$['__env'].region", "$.__execution",
    "$.vm_names.toSet().len() = $.vm_names.len()", "dict($.vm_names.select([$, $.len()]))",
    "$.vm_names.enumerate().select({index => $[0], name => $[1]})", "$.vm_names.join(',')",
    "$.vm_names.indexOf('vm2')", "'vm4' in $.vm_names", "$.vm_names.contains('vm1')",
    "switch($.count > 5 => big, $.count > 1 => medium, true => small)", "$.result.keys().toList().orderBy($)",
    "$.result.items.select($.id).max()", "range(0, $.count).select(str($))", "let(n => $.count) -> range($n).sum()",
    "$.result.items.toDict(str($.id), $.ok)", "$.servers.groupBy($.status, $.name)", "json_parse('{}')",
    "$.result.stdout.trim().split('\\n').len()", "$.result.stdout =~ 'line'", "regex('line(\\d)').search($.result.stdout, $2.value)",
    "$.result.items.any($.ok) and not $.result.items.all($.ok)", "$.result.set(extra, 1).keys().len()",
    "$.servers.select($.name).orderByDescending($).first()", "$.servers.selectMany($.addresses.values())",
], ctx=MCTX)


# ---------------------------------------------------------------- datetime parsing and arithmetic corners
many([
    "datetime('2020-01-02T03:04:05Z')", "datetime('2020-01-02T03:04:05.123456')", "datetime('2020-01-02 03:04')",
    "datetime('2020-01-02T03:04:05+05:30')", "datetime('2020-01-02T03:04:05-0800')", "datetime('20200102')",
    "datetime('2020/01/02')", "datetime('Jan 2 2020')", "datetime('2 January 2020')", "datetime('')",
    "datetime('2020-01-02', '%Y-%m-%d')", "datetime('2020-01-02', '%d')", "datetime('10:30', '%H:%M')",
    "datetime('2020-13-01')", "datetime(2020, 1, 2, 24)", "datetime(2020, 1, 2, 0, 60)", "datetime(0, 1, 1)",
    "datetime(10000, 1, 1)", "datetime(2020, 1, 2) + timespan(days => 3650000)", "datetime(2020, 2, 29).year",
    "datetime(2021, 2, 29)", "datetime(-1)", "datetime(1e10)", "datetime(2020, 1, 2, 3, 4, 5, 1000000)",
"datetime(2020, 1, 1).timestamp",
    "datetime(1600000000).timestamp", "datetime(1600000000, offset => timespan(hours => 3)).hour",
    "datetime(2020, 1, 1, 12, offset => timespan(hours => 3)) = datetime(2020, 1, 1, 9)",
    "datetime(2020, 1, 1, 12, offset => timespan(hours => 3)) < datetime(2020, 1, 1, 10)",
    "str(datetime(2020, 1, 1, 12, offset => timespan(hours => 3)).utc)", "datetime(2020, 3, 4).date",
    "str(datetime(2020, 3, 4, 5, 6, 7).time)", "datetime(2020, 3, 4).format('%w %U %W %y %m')",
    "datetime(2020, 3, 4, 5, 6, 7, 8).format('%f %S %M %H')", "datetime(2020, 3, 4).format('%c')",
    "datetime(2020, 3, 4).format('%x %X')", "datetime(2020, 3, 4).format('%Z %z')", "datetime(2020, 3, 4).format(1)",
    "timespan(days => 1, hours => -25)", "str(timespan(days => -1, seconds => 1))", "str(timespan(microseconds => 1))",
    "str(timespan(milliseconds => 1))", "timespan(days => 2).hours", "timespan(seconds => 90).minutes",
    "timespan(hours => 1) * 1.5", "timespan(hours => 1) / 4", "timespan(hours => 1) / 0", "timespan(hours => 1) * 'a'",
    "timespan(hours => 1) + 1", "timespan() = timespan(seconds => 0)", "+timespan(hours => 1)",
    "datetime(2020, 1, 1) - timespan(days => 1) > datetime(2019, 12, 30)", "datetime(2020, 1, 1) - 1",
    "datetime(2020, 1, 1).replace(day => 31, month => 3)", "datetime(2020, 1, 1).replace(offset => timespan(hours => 1))",
    "datetime(2020, 1, 1).replace(hour => 25)", "datetime(2020, 1, 1).month.toString()",
    "[datetime(2020, 1, 2), datetime(2020, 1, 1)].orderBy($).select($.day)",
    "datetime(2020, 1, 1) in [datetime(2020, 1, 1)]", "set(datetime(2020, 1, 1), datetime(2020, 1, 1)).len()",
    "{a => datetime(2020, 1, 1)}", "[timespan(hours => 1)]", "str([datetime(2020, 1, 1)])", "str({a => timespan()})",
])


# ---------------------------------------------------------------- generateMany and more collection corners
TREE = {"tree": {"n": 1, "c": [{"n": 2, "c": [{"n": 4, "c": []}]}, {"n": 3, "c": []}]}}
many([
    "generateMany($.tree, $.c).select($.n)", "generateMany($.tree, $.c, $.n)",
    "generateMany($.tree, $.c, $.n, depthFirst => true)", "generateMany(1, switch($ < 4 => [$ + 1, $ + 2], true => []))",
    "generateMany(1, [$ mod 3 + 1], decycle => true)", "generateMany(1, $)", "generateMany($.tree, $.c).len()",
], ctx=TREE)
many([
    "'a\\u2003b'.split()", "'a\\x1cb'.split()", "'  '.split(' ')", "'a,b,'.split(',')", "',a'.rightSplit(',')",
    "'aaa'.split('a')", "'abc'.replace('b', '')", "'aaaa'.replace('aa', 'b')", "'abc'.replace('x', 'y', 5)",
    "'Hello'.toCharArray().select($.toUpper()).join('')", "'abc'.substring(1).substring(1)",
    "'x' + str(1) + str(1.5) + str(null)", "'A' < 'a' and 'a' < 'b'", "'10' < '9'", "'abc' >= 'abc'",
    "'' < 'a'", "'b' in ['a', 'b']", "'ab' in ['a', 'b']", "'' = ''", "'a' * 0 = ''",
    "[1, [2]] = [1, [2]]", "[1, {a => [1]}] = [1, {a => [1]}]", "{a => {b => 1}} != {a => {b => 2}}",
    "$.l + $.l", "$.l * 0", "($.l + $.ls).len()", "[null] + [null]", "[] + []", "{} + {}",
    "$.d.delete(x).keys()", "$.d.set(x, null).x", "$.d.get(z).k", "$.d.values().select($)",
    "$.people.select($.set(age, $.age + 1)).age", "$.people.select($.delete(age)).first()",
    "$.people.toDict($.name, $).bob.age", "$.people.select([$.name, $.age]).toDict($[0], $[1])",
    "dict($.people.select([$.name, $])).cid.dept", "$.people.where($.age = 25).select($.name).toSet().len()",
])


# ---------------------------------------------------------------- method vs function forms
many([
    "append([1], 2)", "concat([1], [2])", "[1].concat([2], [3])", "any([0])", "all([])", "enumerate([5])",
    "distinct([1, 1])", "isEmpty('')", "''.isEmpty()", "norm(' x ')", "' x '.norm()", "len([1])", "[1].len()",
    "{a => 1}.len()", "'ab'.len()", "max([1, 2])", "[1, 2].max()", "min([1, 2])", "first([1])", "[1].first()",
    "select([1], $)", "orderBy([2, 1], $)", "flatten([[1]])", "toList([1])", "keys({a => 1})", "values({a => 1})",
    "items({a => 1})", "get({a => 1}, a)", "set([1]).add(2)", "add(set(1), 2)", "1.bool()", "bool(1)",
    "1.str()", "'1'.int()", "int('1')", "'a'.isString()", "isString('a')", "1.abs()", "abs(1)",
    "'a'.regex()", "regex('a')", "datetime(2020, 1, 1).isDatetime()", "now().year.isInteger()",
    "'x'.switchCase()", "0.switchCase()", "range(3).toList()", "3.range()", "'a,b'.split(',').len()",
    "split('a,b', ',')", "'a'.concat('b')", "[1, 2].sum()", "[1, 2].count()", "count([1, 2])",
    "'abc'.matches('b')", "matches('abc', 'b')", "'a'.escapeRegex()", "coalesce(null).len()",
])


# ---------------------------------------------------------------- lexer and scoping corners
many([
    "$.a\n+\t1", "\n$.a\n", "$.ключ", "$['ключ']", "$.日本", "$.a_b", "$.a1", "$._x", "$.x-y", "$['x-y']",
    "$.ключ.len()", "$ключ", "$.2", "$[2]", "$.true", "$.null", "$.and", "$.in", "$.mod", "$.not",
    "$['and']", "$.ERROR", "$.Error", "$ .a", "$. a", "$.a .len()", "$.a. len()", "len ($.l)", "len( $.l )",
    "[ 1 , 2 ]", "{ a => 1 }", "{a=>1}", "f (1)", "$ [0]", "$.l [0]", "'a''b'", "'a' 'b'", "\"a\\\"b\"",
    "`a'b\"c`", "'\\z'", "'\\''", "'\\\\n'", "'\\u00'", "'\\x4'",
    "$.l.select($.select($))", "$.nested.select($.select($ * 2))", "$.nested.where($.len() > 0).select($[0])",
    "$.l.select([1, 2].select($ * 10))", "$.l.select(let(outer => $) -> [1, 2].select($ + $outer))",
    "let(x => 1) -> $.l.select($x)", "$.l.where($ > $.l.len())", "$.people.select($.name).where($.len() = 3)",
    "$.l.select($1)", "$.l.aggregate($1)", "$.l.select($0)", "$0", "$10", "$$", "$.$",
], ctx=dict(CTX, **{"ключ": "значение", "日本": 1, "a_b": 2, "a1": 3, "_x": 4, "x-y": 5, "2": "two",
                    "true": "T", "null": "N", "and": "A", "in": "I", "mod": "M", "not": "X", "ERROR": "E"}))

# Known differences (kept in the corpus, reported apart by compare.py):
KNOWN = "known difference: "
for e in ["pow(2, 63)", "pow(2, 100)", "9223372036854775807 + 1", "-9223372036854775807 - 2",
          "2 * 4611686018427387904", "123456789012 * 1000000000"]:
    add(e, {}, note=KNOWN + "integers are 64-bit; Python yaql has arbitrary precision (ours: limit error)")
for e in ["sequence().select($ * 2).take(3)", "sequence().where($ > 2).first()",
          "$.l.cycle().select($).take(2)"]:
    add(e, note=KNOWN + "endless generators are lazy only through take/skip/first/takeWhile; other "
                        "query functions on them stop with a limit error")
for e in ["range(3).repeat(2).take(4)", "let(x => $.l.select($)) -> [$x.len(), $x.len()]"]:
    add(e, note=KNOWN + "Python iterators are single-use (a second pass sees nothing); ours are re-iterable")

add("datetime(2020, 1, 1, offset => timespan(hours => 25))", {},
    note=KNOWN + "UTC offsets must lie within +-24h (dateutil accepts larger ones)")

add("'\\N{LATIN SMALL LETTER E WITH ACUTE}'", {},
    note=KNOWN + "\\N{name} escapes need the Unicode name table; ours keep the text as written")

# dict ordering cases (order matters)
many([
    "$.keyed", "$.keyed.set(d, 4)", "$.keyed.delete(b)", "{z => 1, a => 2}", "dict(z => 1, a => 2)",
    "$.keyed + {a => 9}", "$.keyed.values()", "$.people[0]", "$.keyed.mergeWith({z => 0})",
    "$.people.toDict($.name, $.age)", "$.keyed.items().toList()",
], note="order matters")


# ---------------------------------------------------------------- generated combinations
def generated():
    rnd = random.Random(20260101)
    out = []
    scalars = ["0", "1", "2", "-3", "7", "2.5", "-0.5", "10.0", "'a'", "'bc'", "''", "null", "true",
               "false", "[1, 2]", "[]", "{a => 1}", "$.a", "$.b", "$.s", "$.n", "$.l", "$.d"]
    binops = ["+", "-", "*", "/", "mod", "=", "!=", "<", ">", "<=", ">=", "and", "or", "in"]
    # every operator on pairs of scalars
    for op in binops:
        for x in scalars:
            for y in rnd.sample(scalars, 8):
                out.append({"expr": "%s %s %s" % (x, op, y), "context": CTX})
    # precedence combinations
    ops2 = ["+", "-", "*", "/", "mod", "=", "<", "and", "or"]
    nums = ["1", "2", "3", "4", "5", "0", "2.0", "true", "false"]
    for _ in range(260):
        a, b, c, d = (rnd.choice(nums) for _ in range(4))
        o1, o2, o3 = (rnd.choice(ops2) for _ in range(3))
        e = "%s %s %s %s %s %s %s" % (a, o1, b, o2, c, o3, d)
        if rnd.random() < 0.3:
            e = "not " + e
        if rnd.random() < 0.3:
            e = "-" + e
        out.append({"expr": e, "context": {}})
    # query pipelines over generated data
    sources = ["$.l", "$.ints", "$.nums", "$.dup", "range(10)", "$.people.select($.age)", "[]"]
    stages = [".select($ * 2)", ".where($ > 2)", ".where($ mod 2 = 0)", ".orderBy($)",
              ".orderByDescending($)", ".distinct()", ".skip(1)", ".take(3)", ".reverse()",
              ".select($ + 1)", ".where($ != 4)", ".select(-$)", ".takeWhile($ < 20)",
              ".skipWhile($ < 3)", ".append(99)", ".select([$, $])", ".flatten()"]
    enders = ["", ".sum()", ".count()", ".first(null)", ".last(null)", ".max(null)", ".min(null)",
              ".len()", ".any()", ".all()", ".toList()", ".aggregate($1 + $2, 0)", ".join(',')",
              ".select(str($)).join('-')", ".enumerate()", ".indexOf(4)", ".toSet().len()"]
    for _ in range(320):
        e = rnd.choice(sources)
        for _ in range(rnd.randint(1, 3)):
            e += rnd.choice(stages)
        e += rnd.choice(enders)
        out.append({"expr": e, "context": CTX})
    # string method grid
    strs = ["'Hello World'", "'  pad  '", "''", "'a,b,c'", "$.u", "$.words", "'x'"]
    smeth = [".toUpper()", ".toLower()", ".trim()", ".len()", ".split(',')", ".split()",
             ".substring(1)", ".substring(1, 3)", ".indexOf('o')", ".lastIndexOf('o')",
             ".startsWith('H')", ".endsWith('d')", ".replace('o', '0')", ".toCharArray()",
             ".isEmpty()", ".norm()", ".trimLeft()", ".trimRight()", ".rightSplit(' ', 1)",
             ".matches('o')", ".replace(regex('[aeiou]'), '*')"]
    for s in strs:
        for m in smeth:
            out.append({"expr": s + m, "context": CTX})
    # type predicates over all value kinds
    preds = ["isString", "isList", "isDict", "isSet", "isInteger", "isNumber", "isBoolean",
             "isIterable", "isDatetime", "isTimespan", "isRegex", "bool", "str"]
    vals = ["1", "1.5", "'a'", "null", "true", "[1]", "{a => 1}", "set(1)", "$.l", "$.d",
            "datetime(2020, 1, 1)", "timespan()", "regex('a')"]
    for p in preds:
        for v in vals:
            out.append({"expr": "%s(%s)" % (p, v), "context": CTX})
    # conversions grid
    conv = ["int", "float", "abs", "round", "sign", "len", "hex"]
    cvals = ["1", "-1", "1.5", "-2.5", "'3'", "'x'", "null", "true", "[1]", "{a => 1}", "'4.5'"]
    for f in conv:
        for v in cvals:
            out.append({"expr": "%s(%s)" % (f, v), "context": CTX})
    # mixed-type comparisons grid
    mixed = ["1", "1.0", "'1'", "null", "true", "[1]", "{a => 1}", "set(1)", "datetime(2020, 1, 1)"]
    for op in ["<", "=", ">="]:
        for x in mixed:
            for y in mixed:
                out.append({"expr": "%s %s %s" % (x, op, y), "context": {}})
    return out


def fuzz():
    """Random token soup: pins the lexer/parser (mostly syntax errors) and error kinds."""
    rnd = random.Random(7)
    toks = ["$", "$.a", "$.l", "$.d", ".", "?.", "(", ")", "[", "]", "{", "}", ",", "=>", "1", "2.5",
            "-", "+", "*", "/", "mod", "=", "!=", "<", ">", "and", "or", "not", "in", "'s'", "`v`",
            "null", "true", "x", "select(", "where(", "len(", "let(", "->", "$x", "=~", "'\\d'",
            "range(", "dict(", "switch(", "def(", "f(", "sequence(", "cycle(", "repeat(", "join(",
            "orderBy(", "thenBy(", "regex(", "datetime(", "timespan(", "str(", "int(", "#", "__",
            "$1", "$2", "0", "-1"]
    out = []
    for _ in range(3000):
        e = " ".join(rnd.choice(toks) for _ in range(rnd.randint(1, 12)))
        out.append({"expr": e, "context": {"a": 1, "l": [1, 2], "d": {"k": "v"}}})
    return out


def write(path, cases, prefix):
    with open(path, "w", encoding="utf-8") as f:
        for i, c in enumerate(cases):
            rec = {"id": "%s-%04d" % (prefix, i), "expr": c["expr"], "context": c["context"]}
            if c.get("note"):
                rec["note"] = c["note"]
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")


def main():
    sys.setrecursionlimit(10000)
    write(os.path.join(HERE, "yaql_handwritten.jsonl"), HAND, "hand")
    gen = generated()
    write(os.path.join(HERE, "yaql_generated.jsonl"), gen, "gen")
    fz = fuzz()
    write(os.path.join(HERE, "yaql_fuzz.jsonl"), fz, "fuzz")
    print("handwritten: %d cases, generated: %d cases, fuzz: %d cases" % (len(HAND), len(gen), len(fz)))


if __name__ == "__main__":
    main()
