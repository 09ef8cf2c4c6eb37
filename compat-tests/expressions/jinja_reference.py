#!/usr/bin/env python3
"""Reference evaluator for the Jinja half of the expression batch protocol.

Real Jinja2, configured the way Mistral 23.0.0 configures it
(mistral/expressions/jinja_expression.py): a SandboxedEnvironment with StrictUndefined,
trim_blocks and lstrip_blocks, no autoescape; the data context is `_`, `__env`,
`__execution`, `__task_execution` are copied out of it, and Mistral's functions are globals
with the data context bound as their first argument. As recorded from upstream (ERRATA), they
are *not* available as filters.

Each case's expression is wrapped as `{{ expr }}` and evaluated the way
InlineJinjaEvaluator.evaluate does (whole-string match -> compile_expression + str(),
otherwise template rendering). Results are serialised like Mistral persists them
(generators, tuples, dict views -> lists; NaN/inf rejected).

Functions that read the database upstream (execution, executions, task, tasks, global) read an
in-memory model instead: `__executions` and `__tasks` lists in the case context, removed from
the data view (the same convention `mistral-rs eval` uses).

Usage: jinja_reference.py FILE|-   (JSON lines in, JSON lines out; see notes/batch.md)
"""
import json
import re
import sys
import uuid
from functools import partial

import jinja2
import yaml
from jinja2.sandbox import SandboxedEnvironment

JINJA_REGEXP = '({{(.*?)}})'

ENV = SandboxedEnvironment(
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


# --- mistral.utils.safe_yaml (anchors/aliases read as plain text) --------------------------
class _SafeLoader(yaml.SafeLoader):
    def fetch_alias(self):
        return self.fetch_plain()

    def fetch_anchor(self):
        return self.fetch_plain()

    def check_plain(self):
        if self.peek() == '@':
            return True
        return super().check_plain()


class _SafeDumper(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


# --- Mistral's functions (std_functions.py), DB reads replaced by the in-memory model -------
class _Db:
    def __init__(self, executions, tasks):
        self.executions = executions
        self.tasks = tasks

    def get_workflow_execution(self, id):
        for e in self.executions:
            if e.get('id') == id:
                return e
        raise LookupError('Workflow execution not found [id=%s]' % id)

    def get_task_execution(self, id):
        for t in self.tasks:
            if t.get('id') == id:
                return t
        raise LookupError('Task execution not found [id=%s]' % id)

    def get_task_executions(self, **kw):
        return [t for t in self.tasks
                if all(t.get(k) == v for k, v in kw.items())]

    def get_workflow_executions(self, **kw):
        out = []
        for e in self.executions:
            ok = True
            for k, v in kw.items():
                if k == 'created_at__gte':
                    ok = ok and (e.get('created_at') or '') >= v
                elif k == 'created_at__lt':
                    ok = ok and (e.get('created_at') or '') < v
                else:
                    ok = ok and e.get(k) == v
            if ok:
                out.append(e)
        return out


def _functions(db):
    def env_(context):
        return context['__env']

    def execution_(context):
        wf_ex = db.get_workflow_execution(context['__execution']['id'])
        keys = ['id', 'name', 'spec', 'input', 'params', 'created_at',
                'updated_at', 'root_execution_id']
        defaults = {'spec': {}, 'input': {}, 'params': {}}
        return {k: wf_ex.get(k, defaults.get(k)) for k in keys}

    def executions_(context, id=None, root_execution_id=None, state=None,
                    from_time=None, to_time=None):
        kw = {}
        if id is not None:
            kw['id'] = id
        if root_execution_id is not None:
            kw['root_execution_id'] = root_execution_id
        if state is not None:
            kw['state'] = state
        if from_time is not None:
            kw['created_at__gte'] = from_time
        if to_time is not None:
            kw['created_at__lt'] = to_time
        return [{k: v for k, v in e.items() if k != 'context'}
                for e in db.get_workflow_executions(**kw)]

    def json_dump_(context, data):
        return json.dumps(data, indent=4)

    def yaml_dump_(context, data):
        return yaml.dump(data, Dumper=_SafeDumper, default_flow_style=False)

    def task_(context, task_name=None):
        cur_task = context['__task_execution']
        if cur_task and (not task_name or cur_task['name'] == task_name):
            return db.get_task_execution(cur_task['id'])
        task_execs = db.get_task_executions(
            workflow_execution_id=context['__execution']['id'], name=task_name)
        return task_execs[-1] if task_execs else None

    def _should_pass(t, state, flat):
        state_match = True
        flat_match = True
        if state:
            state_match = t['state'] == state
        if flat and t['type'] != 'ACTION':
            for n in db.get_workflow_executions(task_execution_id=t['id']):
                flat_match = flat_match and n['state'] != t['state']
        return state_match and flat_match

    def _get_tasks(workflow_execution_id=None, recursive=False, state=None,
                   flat=False):
        kw = {}
        if workflow_execution_id:
            kw['workflow_execution_id'] = workflow_execution_id
        if state and not (workflow_execution_id and recursive):
            kw['state'] = state
        task_execs = list(db.get_task_executions(**kw))
        nested = []
        if recursive and workflow_execution_id:
            for t in task_execs:
                if t['type'] == 'WORKFLOW':
                    for n in db.get_workflow_executions(task_execution_id=t['id']):
                        nested.extend(_get_tasks(n['id'], recursive, state, flat))
        if state or flat:
            task_execs = [t for t in task_execs if _should_pass(t, state, flat)]
        task_execs.extend(nested)
        return task_execs

    def tasks_(context, workflow_execution_id=None, recursive=False,
               state=None, flat=False):
        return _get_tasks(workflow_execution_id, recursive, state, flat)

    def uuid_(context=None):
        return str(uuid.uuid4())

    def global_(context, var_name):
        wf_ex = db.get_workflow_execution(context['__execution']['id'])
        return (wf_ex.get('context') or {}).get(var_name)

    def json_parse_(context, data):
        return json.loads(data)

    def yaml_parse_(context, data):
        return yaml.load(data, _SafeLoader)

    return {
        'env': env_, 'execution': execution_, 'executions': executions_,
        'global': global_, 'json_dump': json_dump_, 'json_parse': json_parse_,
        'task': task_, 'tasks': tasks_, 'uuid': uuid_, 'yaml_dump': yaml_dump_,
        'yaml_parse': yaml_parse_,
    }


def jinja_context(data_context, db):
    ctx = {'_': data_context}
    for name, fn in _functions(db).items():
        ctx[name] = partial(fn, data_context)
    if isinstance(data_context, dict):
        ctx['__env'] = data_context.get('__env')
        ctx['__execution'] = data_context.get('__execution')
        ctx['__task_execution'] = data_context.get('__task_execution')
    return ctx


def evaluate(expression, data_context, db):
    """InlineJinjaEvaluator.evaluate without the exception wrapping."""
    patterns = re.findall(JINJA_REGEXP, expression)
    ctx = jinja_context(data_context, db)
    if patterns[0][0] == expression:
        result = ENV.compile_expression(patterns[0][1], undefined_to_none=False)(**ctx)
        str(result)
        return result
    return ENV.from_string(expression).render(**ctx)


def _fallback(value):
    if isinstance(value, jinja2.Undefined):
        str(value)  # raises the StrictUndefined error
    if hasattr(value, '__iter__') and not isinstance(value, (str, bytes, dict)):
        return list(value)
    raise TypeError('Object of type %s is not JSON serializable'
                    % type(value).__name__)


def to_json_text(result):
    return json.dumps(result, default=_fallback, allow_nan=False)


def kind_of(exc):
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return 'syntax'
    if isinstance(exc, (MemoryError, RecursionError)):
        return 'limit'
    return 'evaluation'


def run_case(case):
    context = case.get('context')
    executions, tasks = [], []
    if isinstance(context, dict):
        context = dict(context)
        executions = context.pop('__executions', None) or []
        tasks = context.pop('__tasks', None) or []
        cur = context.get('__execution')
        if isinstance(cur, dict) and 'id' in cur and not any(
                e.get('id') == cur['id'] for e in executions):
            executions = executions + [cur]
    db = _Db(executions, tasks)
    out = {'id': case.get('id')}
    try:
        result = evaluate('{{ %s }}' % case['expr'], context, db)
        text = to_json_text(result)
        out['result'] = json.loads(text)
    except Exception as e:  # noqa: BLE001 - every failure is reported
        out['error'] = kind_of(e)
        out['message'] = str(e)
    return out


def main(argv):
    path = argv[1] if len(argv) > 1 else '-'
    stream = sys.stdin if path == '-' else open(path, encoding='utf-8')
    with stream:
        for line in stream:
            if not line.strip():
                continue
            case = json.loads(line)
            sys.stdout.write(json.dumps(run_case(case)) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
