#!/usr/bin/env python3
"""Generates the Jinja half of the differential expression corpus (deterministic).

Writes next to this file:
  jinja_handwritten.jsonl  one or more cases for every operator, filter, test and global of
                           Mistral's Jinja environment, Mistral's functions, error cases
  jinja_generated.jsonl    generated combinations (operators x operands, filter chains,
                           attribute paths) from a fixed seed
"""
import itertools
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))

C = {
    "s": "Hello World", "n": 5, "f": 2.5, "neg": -3, "big": 12345678901,
    "l": [3, 1, 2], "sl": ["b", "A", "c"], "d": {"b": 2, "a": 1},
    "users": [
        {"name": "bob", "age": 30, "active": True, "team": "x"},
        {"name": "alice", "age": 25, "active": False, "team": "y"},
        {"name": "carol", "age": 35, "active": True, "team": "x"},
    ],
    "e": "", "z": 0, "nul": None, "t": True, "fa": False, "el": [], "ed": {},
    "nested": {"x": {"y": [1, {"z": "deep"}]}},
    "html": "<b>a & b</b> 'q'", "text": "the quick brown fox jumps over the lazy dog",
    "num_s": "42", "float_s": "3.14", "mixed": [1, "a", None, True, 2.5],
    "dup": [1, 2, 2, "a", "A", "a"], "words": "a-b_c d", "uni": "h\u00e9llo \u2603",
    "__env": {"region": "eu", "limits": {"cpu": 2}},
    "__execution": {"id": "ex-1", "name": "wf"},
}

HAND = []


def case(expr, context=None, note=None, cid=None):
    HAND.append((cid, expr, C if context is None else context, note))


# --- literals and data access --------------------------------------------------------------
for e in ["1", "-1", "1.5", "1e3", "1_000", "0x1F", "0o17", "0b101", "'a'", '"b"',
          "'it''s'", "'\\n\\t'", "true", "True", "false", "False", "none", "None",
          "[1, 2]", "(1, 2)", "(1,)", "()", "{'a': 1}", "{}", "[]", "[1, [2, [3]]]",
          "{'a': {'b': [1, none]}}", "'\\u00e9'", "'x' 'y'"]:
    case(e)
for e in ["_", "_.s", "_['s']", "_.n", "_.l", "_.l[0]", "_.l[-1]", "_.l.1", "_.d", "_.d.a",
          "_['d']['b']", "_.nested.x.y[1].z", "_.nested['x'].y.0", "_.users[0].name",
          "_.missing", "_.d.missing", "_.l[10]", "_.s.foo", "_.n.foo", "_.nul.x", "missing_var",
          "_.missing.deeper", "_.e", "_.z", "_.nul", "_.t", "__env", "__execution",
          "__task_execution", "_['__env'].region", "_.users.0.age", "_.l['a']",
          "_.d[0]", "_.uni", "_.big", "_.mixed"]:
    case(e)

# --- operators -----------------------------------------------------------------------------
for e in ["1 + 2", "1 + 2.0", "7 / 2", "6 / 3", "7 // 2", "-7 // 2", "7 % 3", "-7 % 3",
          "7.5 % 2", "2 ** 10", "2 ** -1", "2 ** 0.5", "1 - 5", "3 * 4", "'ab' * 3", "3 * 'ab'",
          "[1] * 3", "'a' + 'b'", "[1] + [2]", "'a' ~ 1", "1 ~ 2", "'a' ~ none", "'a' ~ true",
          "'x' ~ [1, 'a']", "'x' ~ {'k': 'v'}", "1.0 ~ ''", "_.l ~ ''", "_.d ~ '!'",
          "1 / 0", "1 // 0", "1 % 0", "'a' + 1", "1 + 'a'", "[1] + 'a'", "none + 1",
          "1 == 1.0", "1 == '1'", "'a' < 'b'", "[1, 2] < [1, 3]", "1 < 'a'", "none < 1",
          "1 != 2", "2 >= 2", "3 <= 2", "1 < 2 < 3", "3 > 2 > 1", "2 in [1, 2]",
          "'a' in 'cat'", "'k' in {'k': 1}", "3 not in [1]", "1 in 5", "not 0", "not 'a'",
          "true and 'x'", "0 or 'y'", "'' or none", "none and 1", "1 if true else 2",
          "1 if false", "(1 if false) is defined", "'yes' if _.l else 'no'",
          "'yes' if _.el else 'no'", "-_.n", "+_.n", "-'a'", "_.n + _.f", "_.l + _.l",
          "_.s ~ '!'", "_.n * _.f", "_.n / 2", "_.n // 2", "_.neg % 2", "_.l == [3, 1, 2]",
          "_.d == {'a': 1, 'b': 2}", "_.big * 1000", "_.big ** 3", "2 ** 100",
          "10 / 4 * 2", "2 + 3 * 4", "(2 + 3) * 4", "-2 ** 2", "not 1 == 2",
          "_.s[0]", "_.s[1:4]", "_.l[1:]", "_.l[::-1]", "_.s[::2]", "_.l[5:]", "_.s[-3:]",
          "0.1 + 0.2", "1e16", "1e-5 * 1", "3.0", "10 / 3", "1 == true", "0 == false"]:
    case(e)

# --- filters ---------------------------------------------------------------------------------
filters = [
    "_.neg | abs", "_.f | abs", "-2.5 | abs", "'a' | abs",
    "_.users | map(attribute='name') | list", "_.users[0] | attr('name')",
    "_.l | batch(2) | list", "_.l | batch(2, 0) | list", "'hello' | capitalize",
    "'hELLO wORLD' | capitalize", "'ab' | center(6)", "'ab' | center(7)", "_.l | count",
    "_.nul | default('x')", "_.missing | default('x')", "_.missing | d('y')",
    "_.e | default('x', true)", "_.e | default('x')", "_.d | dictsort",
    "_.d | dictsort(reverse=true)", "{'b': 1, 'A': 2, 'a': 3} | dictsort",
    "{'b': 1, 'A': 2, 'a': 3} | dictsort(true)", "_.d | dictsort(by='value')",
    "_.html | escape", "_.html | e", "_.html | forceescape", "1000 | filesizeformat",
    "1024 | filesizeformat(true)", "123456789 | filesizeformat", "1 | filesizeformat",
    "_.l | first", "_.s | first", "_.el | first", "_.num_s | float", "_.float_s | float",
    "'x' | float", "'x' | float(1.5)", "3 | float", "'%s-%d' | format('a', 3)",
    "'%.2f' | format(3.14159)", "'%5s|' | format('ab')", "'%s' | format(_.l)",
    "_.users | groupby('team') | list", "_.users | groupby('team') | map('first') | list",
    "'a\\nb' | indent", "'a\\nb' | indent(2, true)", "'a\\n\\nb' | indent(2, blank=true)",
    "_.num_s | int", "_.float_s | int", "'x' | int", "'x' | int(7)", "'0x1A' | int(0, 16)",
    "3.9 | int", "-3.9 | int", "true | int", "_.d | items | list", "_.l | join",
    "_.l | join(', ')", "_.sl | join('-')", "_.users | join(',', attribute='name')",
    "_.mixed | join('|')", "_.l | last", "_.s | last", "_.l | length", "_.s | length",
    "_.d | length", "_.n | length", "_.l | list", "_.s | list", "_.d | list", "'ABC' | lower",
    "_.l | map('string') | list", "_.sl | map('upper') | list",
    "_.users | map(attribute='missing', default='?') | list", "_.l | max", "_.sl | max",
    "_.sl | max(case_sensitive=true)", "_.users | max(attribute='age')", "_.l | min",
    "_.users | min(attribute='age')", "_.d | pprint", "_.l | pprint", "[1] | random",
    "_.l | reject('odd') | list", "_.users | rejectattr('active') | list",
    "_.s | replace('o', '0')", "_.s | replace('o', '0', 1)", "_.l | reverse | list",
    "_.s | reverse", "2.5 | round", "3.5 | round", "2.675 | round(2)", "2.1 | round(0, 'ceil')",
    "2.9 | round(0, 'floor')", "_.n | round", "'<b>x</b>' | safe", "_.l | select('odd') | list",
    "_.mixed | select | list", "_.l | select('>', 1) | list",
    "_.users | selectattr('active') | list", "_.users | selectattr('age', 'gt', 26) | list",
    "_.users | selectattr('name', 'equalto', 'bob') | map(attribute='age') | list",
    "_.l | slice(2) | list", "[1, 2, 3, 4, 5] | slice(3) | list", "_.l | sort",
    "_.l | sort(reverse=true)", "_.sl | sort", "_.sl | sort(case_sensitive=true)",
    "_.users | sort(attribute='age') | map(attribute='name') | list", "_.mixed | sort",
    "_.n | string", "_.l | string", "_.nul | string", "_.t | string", "_.f | string",
    "_.html | striptags", "_.l | sum", "_.users | sum(attribute='age')", "[[1], [2]] | sum(start=[])",
    "[0.1, 0.2] | sum", "_.text | title", "'hello-world foo_bar' | title",
    "_.d | tojson", "'<a&b>' | tojson", "_.l | tojson(2)", "_.uni | tojson", "_.nul | tojson",
    "'  x  ' | trim", "'xxaxx' | trim('x')", "_.text | truncate(10)",
    "_.text | truncate(10, true)", "_.text | truncate(10, end='!')", "'short' | truncate(10)",
    "_.dup | unique | list", "_.dup | unique(case_sensitive=true) | list",
    "_.users | unique(attribute='team') | map(attribute='name') | list", "'abc' | upper",
    "'a b&c' | urlencode", "{'a': 1, 'b': 'x y'} | urlencode", "_.text | wordcount",
    "_.text | wordwrap(10)", "{'class': 'x', 'id': 1} | xmlattr",
    "'see http://example.com now' | urlize", "_.s | unknownfilter", "_.l | join(1)",
    "_.l | batch(0) | list", "none | length", "_.missing | length", "_.l | map('nofilter') | list",
    "_.l | select('notest') | list", "_.s | wordcount", "_.d | attr('a')", "_.l | first | string",
    "_.users | map(attribute='age') | sum / 3", "_.users | map(attribute='name') | join(', ') | upper",
    "_.words | replace('-', ' ') | title", "_.l | sort | first", "_.l | sort | last",
]
for e in filters:
    case(e)

# --- tests -----------------------------------------------------------------------------------
tests = [
    "_.n is odd", "_.n is even", "_.n is divisibleby 5", "_.n is divisibleby(2)",
    "_.n is defined", "_.missing is defined", "_.missing is undefined", "_.d.a is defined",
    "_.l is filter", "'upper' is filter", "'odd' is test", "'zzz' is test", "_.nul is none",
    "_.n is none", "_.t is boolean", "1 is boolean", "_.fa is false", "_.t is true",
    "0 is false", "_.n is integer", "_.f is integer", "_.f is float", "_.n is float",
    "_.s is lower", "'abc' is lower", "'ABC' is upper", "_.s is string", "_.n is string",
    "_.d is mapping", "_.l is mapping", "_.n is number", "_.f is number", "_.t is number",
    "_.l is sequence", "_.s is sequence", "_.d is sequence", "_.n is sequence",
    "_.l is iterable", "_.n is iterable", "_.s is iterable", "range is callable",
    "_.s is callable", "_.l is sameas _.l", "1 is sameas 1", "_.l is escaped",
    "2 is in [1, 2]", "_.n is eq 5", "_.n is equalto 5", "_.n is == 5", "_.n is ne 4",
    "_.n is != 5", "_.n is gt 4", "_.n is greaterthan 6", "_.n is > 4", "_.n is ge 5",
    "_.n is >= 6", "_.n is lt 6", "_.n is lessthan 5", "_.n is < 6", "_.n is le 5",
    "_.n is <= 4", "_.n is not odd", "_.l is not none", "_.n is unknowntest",
    "_.s is divisibleby 2",
]
for e in tests:
    case(e)

# --- globals ---------------------------------------------------------------------------------
for e in ["range(3) | list", "range(1, 10, 3) | list", "range(5, 0, -2) | list", "range(0) | list",
          "range(3)", "range(200000) | list", "range(1, 2, 0) | list", "range('a') | list",
          "dict(a=1, b=2)", "dict()", "dict(a=_.l)", "namespace(a=1).a",
          "joiner(', ')() ~ 'x'", "cycler(1, 2).next()", "lipsum(1, false, 3, 3) is string",
          "range(3) | map('string') | join"]:
    case(e)

# --- Python methods on values (sandbox allows them) ------------------------------------------
for e in ["_.s.upper()", "_.s.lower()", "_.s.split()", "_.s.split('o')", "_.s.split('o', 1)",
          "_.s.rsplit(' ', 1)", "_.s.startswith('He')", "_.s.endswith(('x', 'd'))",
          "_.s.replace('l', 'L')", "_.s.replace('l', 'L', 2)", "_.s.find('o')", "_.s.find('z')",
          "_.s.count('l')", "_.s.strip('Hd')", "'  a '.strip()", "' a '.lstrip()",
          "' a '.rstrip()", "'-'.join(_.sl)", "'-'.join(_.l)", "_.s.title()",
          "_.s.capitalize()", "'42'.isdigit()", "'ab'.isalpha()", "'5'.zfill(3)",
          "_.s.center(15, '*')", "'{} and {}'.format(1, 'b')", "'{x}!'.format(x=_.n)",
          "_.d.items() | list", "_.d.keys() | list", "_.d.values() | list", "_.d.get('a')",
          "_.d.get('zz')", "_.d.get('zz', 0)", "_.d.keys()", "_.d.items()", "_.l.index(1)",
          "_.l.count(3)", "_.l.index(99)", "_.s.nomethod()", "_.n.nomethod()", "_.s.__class__",
          "_.d.__class__", "_.s.upper", "'a b'.splitlines()", "_.s.index('W')",
          "_.s.swapcase()", "'x'.ljust(3, '.')", "'x'.rjust(3)", "_.s.isupper()",
          "[] | list", "_.nested.x.items() | list", "_.users[0].items() | list | length"]:
    case(e)

# --- Mistral functions -------------------------------------------------------------------------
MISTRAL = {
    "__env": {"region": "eu"},
    "__execution": {"id": "ex-1", "name": "wf", "spec": {"name": "wf"}, "input": {"a": 1},
                    "params": {}, "created_at": "2026-01-01 10:00:00",
                    "updated_at": "2026-01-01 10:00:01", "root_execution_id": None,
                    "state": "RUNNING", "context": {"g": 42, "lst": [1, 2]}},
    "__task_execution": {"id": "t-2", "name": "second"},
    "__executions": [
        {"id": "ex-0", "name": "old", "state": "SUCCESS", "created_at": "2025-06-01 00:00:00"},
        {"id": "sub-1", "name": "sub", "state": "ERROR", "created_at": "2026-01-01 10:00:05",
         "task_execution_id": "t-3", "root_execution_id": "ex-1"},
    ],
    "__tasks": [
        {"id": "t-1", "name": "first", "state": "SUCCESS", "type": "ACTION",
         "workflow_execution_id": "ex-1", "result": 1, "published": {"p": 1}},
        {"id": "t-2", "name": "second", "state": "RUNNING", "type": "ACTION",
         "workflow_execution_id": "ex-1", "result": None, "published": {}},
        {"id": "t-3", "name": "call_sub", "state": "ERROR", "type": "WORKFLOW",
         "workflow_execution_id": "ex-1", "result": None, "published": {}},
        {"id": "t-4", "name": "inner", "state": "ERROR", "type": "ACTION",
         "workflow_execution_id": "sub-1", "result": "boom", "published": {}},
        {"id": "t-5", "name": "first", "state": "ERROR", "type": "ACTION",
         "workflow_execution_id": "ex-1", "result": 2, "published": {}},
    ],
    "x": {"k": [1, "a", None, True, 1.5, {"z": "\u00e9"}]},
    "js": "{\"a\": [1, 2.5, null, \"x\"]}", "ys": "a: yes\nb: [1, 2]\nc: ~\nd: '1'\ne: 0x10\n",
}
for e in ["env()", "env().region", "env(1)", "execution()", "execution().input.a",
          "execution().id", "executions() | map(attribute='id') | list",
          "executions(state='ERROR') | map(attribute='id') | list",
          "executions(from_time='2026-01-01') | map(attribute='id') | list",
          "executions(to_time='2026-01-01') | map(attribute='id') | list",
          "executions(id='ex-1') | length", "executions(root_execution_id='ex-1') | length",
          "task()", "task().id", "task('first').id", "task('first').result", "task('second').id",
          "task('nope')", "task(task_name='first').state", "task('a', 'b')", "task(foo=1)",
          "tasks() | map(attribute='id') | list",
          "tasks('ex-1') | map(attribute='id') | list",
          "tasks('ex-1', true) | map(attribute='id') | list",
          "tasks('ex-1', state='ERROR') | map(attribute='id') | list",
          "tasks('ex-1', true, 'ERROR') | map(attribute='id') | list",
          "tasks('ex-1', flat=true) | map(attribute='id') | list",
          "tasks(workflow_execution_id='sub-1') | map(attribute='name') | list",
          "tasks(state='SUCCESS') | length", "global('g')", "global('lst')", "global('nope')",
          "global()", "json_parse(_.js)", "json_parse(_.js).a[1]", "json_parse('[1')",
          "json_parse(1)", "json_parse('')", "json_dump(_.x)", "json_dump([])", "json_dump({})",
          "json_dump('\u00e9')", "json_dump()", "json_dump(1, 2)", "yaml_parse(_.ys)",
          "yaml_parse('- 1\\n- two')", "yaml_parse('')", "yaml_parse(5)", "yaml_dump(_.x)",
          "yaml_dump({'b': 1, 'a': [1, {'c': 'x y'}]})", "yaml_dump('yes')", "yaml_dump(1)",
          "yaml_dump([])", "yaml_dump(none)", "uuid() | length", "uuid()[8]", "uuid(1)",
          "_ | env", "_ | task('first')", "1 | json_dump", "json_dump(yaml_parse(_.ys))",
          "yaml_parse(yaml_dump(_.x)) == _.x", "json_parse(json_dump(_.x)) == _.x"]:
    case(e, MISTRAL)
case("task()", {"__execution": {"id": "ex-1"}}, cid="task_outside_task_scope")
case("env()", {"a": 1}, cid="env_without_env_key")
case("env()", [1, 2], cid="env_with_list_context")
case("env()", 3, cid="env_with_int_context")
case("_", None, cid="none_context")
case("_ ~ ''", "str", cid="string_context")
case("_ + 1", 41, cid="int_context")
case("_[0]", [7, 8], cid="list_context")
case("__env", [1], cid="dunder_env_with_list_context")

# --- template rendering (the wrapped string `{{ a }}...{{ b }}` is not one whole expression) ---
TEMPLATE_NOTE = "template mode: the wrapped text is rendered as a template"
for e in ["1 }} and {{ 2", "_.l }} - {{ _.d", "_.nul }}|{{ _.t }}|{{ _.f", "_.s }}{{ _.e",
          "'' }}{% for x in _.l %}[{{ x }}]{% endfor %}{{ ''",
          "'' }}{% for u in _.users %}{{ loop.index }}:{{ u.name }}{% if not loop.last %},{% endif %}{% endfor %}{{ ''",
          "'' }}\n{% if _.t %}\n  yes\n{% endif %}\n{{ 'end'",
          "'' }}{% set x = _.n * 2 %}{{ x",
          "'' }}{% for k, v in _.d.items() %}{{ k }}={{ v }};{% endfor %}{{ ''",
          "'' }}{% macro m(a) %}<{{ a }}>{% endmacro %}{{ m(1) ~ m('x')",
          "_.missing }} x {{ 1", "'' }}{% if _.missing %}a{% endif %}{{ ''",
          "'' }}{% for x in _.el %}x{% else %}empty{% endfor %}{{ ''",
          "_.mixed }} / {{ _.uni", "0.1 + 0.2 }} {{ 1e16 }} {{ 1e-5 }} {{ 2.0",
          "_.users[0] }} {{ (1, 2) }} {{ (1,)", "_.d.keys() }} {{ _.d.values() }} {{ _.d.items()",
          "'' }}{% raw %}{{ not rendered }}{% endraw %}{{ ''",
          "'' }}{% filter upper %}abc{% endfilter %}{{ ''",
          "'' }}{% with a = 5 %}{{ a + 1 }}{% endwith %}{{ ''"]:
    case(e, note=TEMPLATE_NOTE)

# --- syntax errors ---------------------------------------------------------------------------
for e in ["1 +", "(1", "[1, 2", "_.", "{'a' 1}", "1 2", "_ |", "_ is", "'abc", "1 === 2",
          "_.l[", "not", "a b c", "{{ 1 }}", "1 if", "_ | upper(", "lambda x: x", "x = 1",
          "{% if %}", "_.l[1:2:3:4]", "1 +* 2", "@", "$x", "_.0a", "1 and", "()()",
          "range(3) | list | join(", "'a' ~", "~ 'a'"]:
    case(e)


# --- Python operator semantics (ordering, `~`, `**`), appended with their own ids -------------
PYOPS_NOTE = "Python semantics of <, <=, >, >=, ~ and ** (rewritten operators)"
for i, e in enumerate([
        "1 < 2 < 3", "1 < 'a' < 3", "3 < 2 < 'a'", "1 < 2 > 'a'", "1 <= 1 >= 1",
        "[1, 2] < [1, 3]", "[1, 'a'] < [1, 2]", "[1] < [1, 2]", "(1, 2) < (1, 3)",
        "[1] < (1,)", "'a' < 'b'", "'B' < 'a'", "true > false", "false < 0.5", "1 < 1.5",
        "_.big > 2 ** 30", "_.missing < 1", "1 >= _.missing", "_.l | sort | first < 2",
        "not 1 < 2", "(1 < 2) ~ ''", "1 < 2 and 'a' < 1", "{'a': 1} < {'a': 2}",
        "none < none", "_.users | map(attribute='age') | max > 20", "[x for x in _.l]",
        "_.l[0] < _.l[1]", "_.d.a < 2", "1 if 1 < 2 else 'a' < 1", "(_.n < 10) == true",
        "2 ** -2", "0 ** -1", "2.0 ** -1", "-2 ** 2", "true ** 2", "'a' ** 2", "2 ** 3 ** 2",
        "10 ** 18", "_.n ** -1", "_.f ** 2", "0.0 ** -1",
        "'a' ~ (1, 2)", "[1, 'a'] ~ ''", "{'k': [1, none]} ~ ''", "'a' ~ _.missing",
        "1 ~ 2 ~ 3", "'x' ~ 1.0", "'x' ~ true ~ none", "'x' ~ _.users[0]", "range(3) ~ ''",
        "'-' ~ _.l | join(',')", "('a' ~ 'b') | upper", "'a' ~ 'b' if _.t else 'c'",
        "{'k': 'v'}.get('k') ~ '!'", "'s=' ~ _.s[:5] ~ '/' ~ _.l[1:]",
        "_.l[1:]", "_.l[::-1]", "_.s[1:3]", "_.s[::-1]", "(1, 2, 3)[1:]", "_.l[1:] ~ ''",
        "[1, 2, 3][5:]", "_.l[-2:]", "_.l[:-1]", "_.l['a':]", "_.n[1:]", "_.d[1:]",
        "_.missing[1:]", "_.l[1:2:0]", "_.l[::2] | length", "_.uni[1:]", "_.l[1:][1:][0]",
        "(1, 2)[:1] ~ ''", "_.users[1:] | map(attribute='name') | list", "_.nul[1:]",
        "0 and 1", "'' and 1", "[] and 1", "1 and none", "0 or none", "none or 0", "1 or 2",
        "0 or ''", "-_.n", "-_.l[0]", "-_.users[0].age", "-_.l[1:][0]", "-_.f | abs",
        "-(_.n)", "- _.n + 1", "-_.s.upper()", "not none and 1", "-_.d.get('a')",
        "[1] * -1", "'ab' * -1", "-2 * [1]", "true * 3", "[1] * true", "2 * 3.5", "'a' * 2.0",
        "(1, 2) * 2 ~ ''", "_.l * 2", "_.d * 2", "none * 2", "_.big * _.big", "3 * 'ab'",
        "1 in 'abc'", "'b' in 'abc'", "1 not in 'abc'", "'a' in _.l", "3 in _.l", "'a' in _.d",
        "none in 'x'", "'x' in none", "1 in [1.0]", "(1, 2) in [(1, 2)]", "'a' in _.missing",
        "_.l | batch(-1) | list", "_.l | batch(1) | list", "_.l | batch(2, 0) | list",
        "_.l | batch(0, 'x') | list", "_.el | batch(0) | list", "_.l | batch(true) | list",
        "lipsum(0, false, 3, 3)", "lipsum(1, false, 4, 3) is string",
        "lipsum(2, true, 5, 6) | length > 0",
        "+5", "+true", "+_.s", "1 + +2", "--_.n", "+2.5 * -_.l[0]", "[+1, (+2)]",
        "1 if +0 else 2", "+none", "-true", "not +1", "_.l | map('int') | first + +1",
        "'\\u0001' ~ 'a' | length", "'\\\"q\\\\' ~ 'a'", "\"it's\" ~ 1.5e300 ~ 1e-7",
        "{'a': [1, (2, 3)], 'b': none}.b ~ (_.l | map('string') | join(',') > '1')"]):
    case(e, note=PYOPS_NOTE, cid="jpy%03d" % i)
for i, e in enumerate([
        "1 }} {{ 1 < 'a'", "'' }}{% for x in _.l %}{{ x ~ (x, 1) }};{% endfor %}{{ ''",
        "(1, 2) }}-{{- (3,) -}} x {{ 2 ** -1",
        "'' }}{% macro m(a) %}{{ a ~ [a] }}{% endmacro %}{{ m(1)", "_.l[1:] }} {{ _.s[::-1]",
        "'' }}{% if _.t %}{{ 'a' < 'b' }}{% endif %}{{ ''", "_.n > 3 }}/{{ _.n < 'x'",
        "'' }}{% if 1 < 'a' %}x{% endif %}{{ ''",
        "'' }}{% set x = 1 < 'a' %}{{ x", "'' }}{% set t = (1, 2) %}{{ t",
        "'' }}{% if _.n > 3 %}big{% elif _.n < 'x' %}small{% endif %}{{ ''",
        "'' }}{% if _.n < 3 %}big{% elif _.n < 'x' %}small{% endif %}{{ ''",
        "'' }}{%- if none and 1 -%} a {%- else -%} b {%- endif -%}{{ ''",
        "'' }}{% for x in _.l %}{% if x > 1 %}{{ x ~ (x,) }}{% endif %}{% endfor %}{{ ''",
        "'' }}{% set y = -_.n %}{{ y ** -1"]):
    case(e, note=TEMPLATE_NOTE + "; " + PYOPS_NOTE, cid="jpt%03d" % i)

RANGE_NOTE = "range() is a Python range object: prints as range(...), indexes, slices, has a length"
for i, e in enumerate([
        "range(3)", "range(1, 10, 3) | string", "range(5)[1:3] ~ ''", "range(10)[::-1] ~ ''",
        "range(10)[1:8:3] | list", "range(0) ~ range(2, 2)", "range(5, 0, -2)[-1]",
        "range(4) | length", "range(0) == range(3, 3)", "range(3)[3]", "2 in range(3)",
        "range(2) | tojson", "range(2) < range(3)", "range(2) * 2", "[range(2)]",
        "range(4) | reject('odd') | list", "range(3) if range(0) else 'empty'",
        "range(100001)", "'' }}{% for i in range(3) %}{{ i }}{% endfor %}{{ range(2)"]):
    case(e, note=RANGE_NOTE, cid="jrg%03d" % i)
COND_NOTE = "an if-expression without else yields Jinja2's plain (non-strict) Undefined"
for i, e in enumerate([
        "'a' ~ (1 if false) ~ 'b'", "(1 if false) is defined", "(1 if false) | default(5)",
        "(1 if false) | length", "[1 if false]", "{'k': 1 if false}", "_.missing if false",
        "1 if true", "(1 if false) + 1", "(1 if false) | int", "(1 if false) | tojson",
        "not (1 if false)", "(1 if false) is none", "(1 if false).x",
        "'' }}a{{ 1 if false }}b{{ _.n if _.t }}{{ ''"]):
    case(e, note=COND_NOTE, cid="jcu%03d" % i)

# --- generated combinations ------------------------------------------------------------------
def generated():
    rng = random.Random(20260101)
    out = []
    operands = ["_.n", "_.f", "_.neg", "_.z", "_.s", "_.e", "_.l", "_.el", "_.d", "_.nul",
                "_.t", "_.fa", "2", "0.5", "'x'", "[1]", "none", "true", "_.big"]
    binops = ["+", "-", "*", "/", "//", "%", "**", "~", "==", "!=", "<", ">", "<=", ">=",
              "and", "or", "in"]
    pairs = list(itertools.product(operands, binops, operands))
    rng.shuffle(pairs)
    for a, op, b in pairs[:260]:
        out.append((None, "%s %s %s" % (a, op, b), C, None))
    chain_filters = ["list", "length", "first", "last", "sort", "unique | list", "reverse | list",
                     "string", "upper", "lower", "int", "float", "abs", "join('-')", "tojson",
                     "sum", "min", "max", "default('D')", "trim", "capitalize", "title",
                     "count", "batch(2) | list", "dictsort", "items | list", "round",
                     "select | list", "reject | list", "map('string') | list", "wordcount",
                     "pprint", "e"]
    subjects = ["_.s", "_.l", "_.sl", "_.d", "_.n", "_.f", "_.e", "_.el", "_.mixed", "_.dup",
                "_.users | map(attribute='age') | list", "_.text", "_.uni", "_.nul", "_.missing",
                "_.float_s", "_.num_s"]
    for _ in range(200):
        subject = rng.choice(subjects)
        chain = " | ".join(rng.choice(chain_filters) for _ in range(rng.randint(1, 2)))
        out.append((None, "%s | %s" % (subject, chain), C, None))
    paths = ["_.users[%d].%s", "_.users[%d]['%s']"]
    for i in range(4):
        for key in ["name", "age", "active", "missing"]:
            for p in paths:
                out.append((None, p % (i, key), C, None))
    tests = ["odd", "even", "defined", "none", "number", "string", "sequence", "mapping",
             "iterable", "integer", "float", "lower", "upper", "boolean", "true", "false"]
    for subject in ["_.n", "_.f", "_.s", "_.l", "_.d", "_.nul", "_.t", "_.e", "'ABC'", "_.z"]:
        for t in rng.sample(tests, 6):
            out.append((None, "%s is %s" % (subject, t), C, None))
    return out


def write(name, cases, prefix):
    path = os.path.join(HERE, name)
    with open(path, "w", encoding="utf-8") as fh:
        for i, (cid, expr, ctx, note) in enumerate(cases):
            obj = {"id": cid or "%s%04d" % (prefix, i), "expr": expr, "context": ctx}
            if note:
                obj["note"] = note
            fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
    return len(cases)


if __name__ == "__main__":
    n1 = write("jinja_handwritten.jsonl", HAND, "jh")
    n2 = write("jinja_generated.jsonl", generated(), "jg")
    print("jinja_handwritten.jsonl: %d cases, jinja_generated.jsonl: %d cases" % (n1, n2))
