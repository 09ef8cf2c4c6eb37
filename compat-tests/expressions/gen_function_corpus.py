#!/usr/bin/env python3
"""Builds mistral_functions.jsonl: whole strings (as they appear in workflows) using Mistral's
expression functions, with expected results.

Cases without database access (env, json_*, yaml_*, uuid, errors from the data context) are
recorded by running upstream Mistral 23.0.0's own evaluator (`mistral.expressions.evaluate`)
when this script is run in a virtualenv with `mistral==23.0.0` installed. Cases that read
executions/tasks (which need upstream's database) carry hand-verified expectations derived from
mistral/expressions/std_functions.py; they use the `__executions` / `__tasks` in-memory
convention of `mistral-rs eval`.

Run: python gen_function_corpus.py   (rewrites mistral_functions.jsonl)
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))

ENV_CTX = {"__env": {"region": "eu", "n": [1, 2]}, "a": 1,
           "js": "{\"k\": [1, 2.5, null]}", "ys": "a: yes\nb: [1, 2]\nc: ~\n",
           "x": {"b": [1, {"c": "d e"}], "a": "\u00e9"}}

# (id, string, context) recorded from upstream
UPSTREAM = [
    ("jinja_env", "{{ env() }}", ENV_CTX),
    ("jinja_env_key", "{{ env().region }}", ENV_CTX),
    ("jinja_env_in_text", "region={{ env().region }} n={{ env().n }}", ENV_CTX),
    ("jinja_env_missing", "{{ env() }}", {"a": 1}),
    ("jinja_env_filter_form", "{{ _ | env }}", ENV_CTX),
    ("jinja_json_parse", "{{ json_parse(_.js) }}", ENV_CTX),
    ("jinja_json_parse_bad", "{{ json_parse('{') }}", ENV_CTX),
    ("jinja_json_parse_type", "{{ json_parse(1) }}", ENV_CTX),
    ("jinja_json_dump", "{{ json_dump(_.x) }}", ENV_CTX),
    ("jinja_json_dump_args", "{{ json_dump() }}", ENV_CTX),
    ("jinja_yaml_parse", "{{ yaml_parse(_.ys) }}", ENV_CTX),
    ("jinja_yaml_dump", "{{ yaml_dump(_.x) }}", ENV_CTX),
    ("jinja_yaml_dump_scalar", "{{ yaml_dump(1) }}", ENV_CTX),
    ("jinja_uuid_len", "{{ uuid() | length }}", ENV_CTX),
    ("jinja_task_outside_task", "{{ task() }}", {"__execution": {"id": "e"}}),
    ("jinja_execution_without_execution", "{{ execution() }}", {"a": 1}),
    ("jinja_block_only", "{% if true %}x{% endif %}", {"a": 1}),
    ("jinja_mixed_text", "a {{ _.a }} <% $.a %>", {"a": 1}),
    ("yaql_env", "<% env() %>", ENV_CTX),
    ("yaql_env_key", "<% env().region %>", ENV_CTX),
    ("yaql_env_missing", "<% env() %>", {"a": 1}),
    ("yaql_json_parse", "<% json_parse($.js) %>", ENV_CTX),
    ("yaql_json_dump", "<% json_dump($.x) %>", ENV_CTX),
    ("yaql_yaml_dump", "<% yaml_dump($.x) %>", ENV_CTX),
    ("yaql_yaml_parse", "<% yaml_parse($.ys) %>", ENV_CTX),
    ("yaql_uuid_len", "<% len(uuid()) %>", ENV_CTX),
    ("yaql_task_outside_task_no_execution", "<% task() %>", {"a": 1}),
    ("yaql_json_dump_kw", "<% json_dump(data => 1) %>", ENV_CTX),
    ("yaql_tasks_snake_kw", "<% tasks(workflow_execution_id => 'x') %>", ENV_CTX),
]

DB = {
    "__execution": {"id": "ex-1", "name": "wf", "spec": {"name": "wf"}, "input": {"a": 1},
                    "params": {"env": {}}, "created_at": "2026-01-01 10:00:00",
                    "updated_at": "2026-01-01 10:00:01", "root_execution_id": None,
                    "state": "RUNNING", "context": {"g": 42}},
    "__task_execution": {"id": "t-2", "name": "second"},
    "__executions": [
        {"id": "sub-1", "name": "sub", "state": "ERROR", "created_at": "2026-01-01 10:00:05",
         "task_execution_id": "t-3", "root_execution_id": "ex-1"},
    ],
    "__tasks": [
        {"id": "t-1", "name": "first", "state": "SUCCESS", "type": "ACTION",
         "workflow_execution_id": "ex-1", "result": 1},
        {"id": "t-2", "name": "second", "state": "RUNNING", "type": "ACTION",
         "workflow_execution_id": "ex-1", "result": None},
        {"id": "t-3", "name": "call_sub", "state": "ERROR", "type": "WORKFLOW",
         "workflow_execution_id": "ex-1", "result": None},
        {"id": "t-4", "name": "inner", "state": "ERROR", "type": "ACTION",
         "workflow_execution_id": "sub-1", "result": "boom"},
    ],
}
EXECUTION = {"id": "ex-1", "name": "wf", "spec": {"name": "wf"}, "input": {"a": 1},
             "params": {"env": {}}, "created_at": "2026-01-01 10:00:00",
             "updated_at": "2026-01-01 10:00:01", "root_execution_id": None}

# (id, string, context, expected) verified by hand against std_functions.py
HAND = [
    ("jinja_execution", "{{ execution() }}", DB, {"result": EXECUTION}),
    ("yaql_execution", "<% execution() %>", DB, {"result": EXECUTION}),
    ("jinja_task_current", "{{ task().id }}", DB, {"result": "t-2"}),
    ("jinja_task_current_by_name", "{{ task('second').id }}", DB, {"result": "t-2"}),
    ("jinja_task_other", "{{ task('first').result }}", DB, {"result": 1}),
    ("yaql_task_other", "<% task(first).result %>", DB, {"result": 1}),
    ("yaql_task_kw", "<% task(taskName => 'first').state %>", DB, {"result": "SUCCESS"}),
    ("jinja_task_absent", "{{ task('nope') }}", DB, {"result": None}),
    ("jinja_tasks_of_execution", "{{ tasks('ex-1') | map(attribute='id') | list }}", DB,
     {"result": ["t-1", "t-2", "t-3"]}),
    ("jinja_tasks_recursive", "{{ tasks('ex-1', true) | map(attribute='id') | list }}", DB,
     {"result": ["t-1", "t-2", "t-3", "t-4"]}),
    ("jinja_tasks_recursive_error", "{{ tasks('ex-1', true, 'ERROR') | map(attribute='id') | list }}",
     DB, {"result": ["t-3", "t-4"]}),
    ("jinja_tasks_flat", "{{ tasks('ex-1', flat=true) | map(attribute='id') | list }}", DB,
     {"result": ["t-1", "t-2"]}),
    ("yaql_tasks_kw", "<% tasks(workflowExecutionId => 'sub-1').select($.name) %>", DB,
     {"result": ["inner"]}),
    ("jinja_executions_state", "{{ executions(state='ERROR') | map(attribute='id') | list }}", DB,
     {"result": ["sub-1"]}),
    ("jinja_global", "{{ global('g') }}", DB, {"result": 42}),
    ("yaql_global", "<% global(g) %>", DB, {"result": 42}),
    ("jinja_global_absent", "{{ global('nope') }}", DB, {"result": None}),
]


def record_upstream():
    from oslo_config import cfg
    from mistral import config  # noqa: F401 - registers options
    cfg.CONF([], project='mistral')
    from mistral import expressions as expr
    out = []
    for cid, string, ctx in UPSTREAM:
        try:
            result = expr.evaluate(string, ctx)
            if cid.endswith('uuid_len'):
                result = int(result)
            out.append({"id": cid, "string": string, "context": ctx,
                        "result": json.loads(json.dumps(result, default=list))})
        except Exception as e:  # noqa: BLE001
            out.append({"id": cid, "string": string, "context": ctx, "error": str(e)})
    return out


def main():
    cases = record_upstream()
    for cid, string, ctx, expected in HAND:
        c = {"id": cid, "string": string, "context": ctx}
        c.update(expected)
        cases.append(c)
    with open(os.path.join(HERE, 'mistral_functions.jsonl'), 'w', encoding='utf-8') as fh:
        for c in cases:
            fh.write(json.dumps(c, ensure_ascii=False) + '\n')
    print('%d cases' % len(cases))


if __name__ == '__main__':
    main()
