"""The Python side of mistral-rs: discovers mistral-lib actions declared by entry points and
runs them the way upstream Mistral's executor does.

The Rust server talks to this package with JSON text only, through one function,
``handle(request) -> response``: in-process through pyo3 (``[python] isolation = thread``) or
in a worker subprocess (``python -m mistral_rs_actions.worker``, ``isolation = process``).
Requests are objects with an ``op``:

* ``init``     {config}: oslo.config set-up and discovery settings, then discovery: answers
  ``{"actions": [...], "errors": [...]}`` (see ``discovery``); ``discover`` runs it again.
* ``run``      {name, input, action_ex_id, execution, security}: answers
  ``{"state": "SUCCESS"|"ERROR"|"CANCELLED"|"RUNNING", "result": ...}`` (see ``runner``).
"""

import json
import traceback


def _dispatch(req):
    # Imported here so that a missing mistral-lib is an answer ("fatal"), not a dead worker.
    from mistral_rs_actions import discovery, runner, settings

    op = req.get("op")
    if op == "init":
        settings.init(req.get("config") or {})
        return discovery.discover()
    if op == "discover":
        return discovery.discover()
    if op == "run":
        return runner.run(req)
    if op == "ping":
        return {"pong": True}
    raise ValueError("unknown request op %r" % (op,))


def handle(request):
    """One JSON request in, one JSON response out. Never raises: a failure of this package
    itself comes back as ``{"fatal": "..."}``."""
    try:
        return json.dumps(_dispatch(json.loads(request)))
    except BaseException as e:  # noqa: B036 - SystemExit from an action must not escape
        return json.dumps({"fatal": "%s: %s" % (type(e).__name__, e),
                           "traceback": traceback.format_exc()})
