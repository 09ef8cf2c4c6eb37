#!/usr/bin/env python3
"""Evaluate a YAQL corpus file with the real yaql package, configured exactly as
Mistral 23.0.0 configures it (mistral/expressions/yaql_expression.py with the default
[yaql] options), and print one batch-protocol result line per case.

Usage: python yaql_reference.py FILE   (or cases on stdin)

Output conversion follows what Mistral does with a whole-expression result:
``_sanitize_yaql_result`` and then persistence through oslo ``to_primitive``
(sets -> lists, datetimes -> '%Y-%m-%dT%H:%M:%S.%f'); timedeltas are rendered with str().
"""
import collections.abc  # noqa: F401  (yaql 3.2.0 needs collections.abc imported first)
import datetime
import inspect
import json
import sys

import yaql
from yaql.language import exceptions as yaql_exc
from yaql.language import factory
from yaql.language import utils as yaql_utils

ENGINE_OPTIONS = {
    "yaql.limitIterators": -1,
    "yaql.memoryQuota": -1,
    "yaql.convertTuplesToLists": True,
    "yaql.convertSetsToLists": False,
    "yaql.iterableDicts": False,
    "yaql.convertOutputData": True,
}

ENGINE = factory.YaqlFactory(keyword_operator="=>", allow_delegates=False).create(
    options=ENGINE_OPTIONS)
ROOT_CONTEXT = yaql.create_context()

SYNTAX = (yaql_exc.YaqlGrammarException, yaql_exc.YaqlLexicalException)
NO_FUNCTION = (
    yaql_exc.NoFunctionRegisteredException,
    yaql_exc.NoMatchingFunctionException,
    yaql_exc.NoMatchingMethodException,
    yaql_exc.NoMethodRegisteredException,
)


def _context(data):
    ctx = ROOT_CONTEXT.create_child_context()
    ctx["$"] = yaql_utils.convert_input_data(data)
    if isinstance(data, dict):
        ctx["__env"] = data.get("__env")
        ctx["__execution"] = data.get("__execution")
        ctx["__task_execution"] = data.get("__task_execution")
    return ctx


def _sanitize(result):
    if isinstance(result, yaql_utils.FrozenDict):
        return result._d
    if inspect.isgenerator(result) or isinstance(result, collections.abc.Iterator):
        return list(result)
    return result


_SAW_SET = [False]


def _primitive(value, depth=0):
    if depth > 2000:
        raise RecursionError("maximum recursion depth exceeded")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f")
    if isinstance(value, datetime.timedelta):
        return str(value)
    if isinstance(value, (dict, yaql_utils.FrozenDict)):
        return {_key(k): _primitive(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        _SAW_SET[0] = True
    if isinstance(value, (list, tuple, set, frozenset)) or inspect.isgenerator(value):
        return [_primitive(v, depth + 1) for v in value]
    raise TypeError("Object of type %s is not JSON serializable" % type(value).__name__)


def _key(k):
    if isinstance(k, (str, int, float, bool)) or k is None:
        return k
    raise TypeError("keys must be str, int, float, bool or None, not %s" % type(k).__name__)


def evaluate(expr, data):
    """Returns ('result', value) or ('error', kind, message)."""
    try:
        parsed = ENGINE(expr)
    except SYNTAX as e:
        return ("error", "syntax", str(e))
    except Exception as e:  # noqa: BLE001 - any parse failure is a syntax error
        return ("error", "syntax", str(e))
    _SAW_SET[0] = False
    try:
        result = _primitive(_sanitize(parsed.evaluate(context=_context(data))))
        json.dumps(result, allow_nan=False)
        return ("result", result)
    except NO_FUNCTION as e:
        return ("error", "no_function", str(e))
    except RecursionError as e:
        return ("error", "evaluation", "maximum recursion depth exceeded: %s" % e)
    except Exception as e:  # noqa: BLE001 - everything else is an evaluation error
        return ("error", "evaluation", str(e))


def main(argv):
    stream = open(argv[1], encoding="utf-8") if len(argv) > 1 else sys.stdin
    out = sys.stdout
    for line in stream:
        line = line.strip()
        if not line:
            continue
        case = json.loads(line)
        r = evaluate(case["expr"], case.get("context"))
        if r[0] == "result":
            rec = {"id": case["id"], "result": r[1]}
            if _SAW_SET[0]:
                # the result holds a Python set: its element order is arbitrary
                rec["unordered"] = True
        else:
            rec = {"id": case["id"], "error": r[1], "message": r[2]}
        out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    out.flush()


if __name__ == "__main__":
    main(sys.argv)
