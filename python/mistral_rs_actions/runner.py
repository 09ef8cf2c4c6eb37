"""Runs one action as upstream's executor does (mistral/executors/default_executor.py and
mistral/engine/actions.py): check the input, instantiate through the descriptor, call
``run(context)`` with mistral-lib's ActionContext (``None`` for classes that are not
mistral-lib actions), with the caller's auth context in the thread-local slot mistral-extra
reads, and turn the outcome into ``{"state", "result"}``.
"""

import json

import mistral_lib
from mistral_lib import exceptions as ml_exc
from mistral_lib import utils as ml_utils
from mistral_lib.actions import context as ml_ctx
from oslo_serialization import jsonutils

from mistral_rs_actions import discovery

# The thread-local name upstream's mistral.context uses; mistral-extra reads it.
AUTH_CTX_THREAD_LOCAL = "MISTRAL_APP_CTX_THREAD_LOCAL"

SECURITY_FIELDS = ("auth_uri", "auth_cacert", "insecure", "service_catalog", "region_name",
                   "is_trust_scoped", "redelivered", "expires_at", "trust_id", "is_target",
                   "project_id", "project_name", "user_name", "auth_token")
EXECUTION_FIELDS = ("workflow_execution_id", "task_execution_id", "action_execution_id",
                    "workflow_name", "callback_url")


class AuthContext:
    """The request context an action's thread sees (upstream: mistral.context.MistralContext).
    mistral-extra reads these attributes to reach Keystone and the service catalog."""

    def __init__(self, **values):
        self.user_id = None
        self.user_name = None
        self.project_id = None
        self.project_name = None
        self.auth_token = None
        self.auth_uri = None
        self.auth_cacert = None
        self.insecure = False
        self.service_catalog = None
        self.region_name = None
        self.is_trust_scoped = False
        self.redelivered = False
        self.expires_at = None
        self.trust_id = None
        self.is_target = False
        self.is_admin = False
        self.roles = []
        self.root_execution_id = None
        for k, v in values.items():
            setattr(self, k, v)

    def to_dict(self):
        return dict(vars(self))


def _error(msg):
    return {"state": "ERROR", "result": msg}


def _wire(result):
    """The result as upstream's executor sends it to the engine (mistral-lib's
    ResultSerializer: oslo ``to_primitive(convert_instances=True)`` of data/error/cancel, so
    objects become their ``__dict__``, datetimes ISO text and generators their ``str()``)."""
    prim = jsonutils.to_primitive({"data": result.data, "error": result.error,
                                   "cancel": result.cancel}, convert_instances=True)
    # Strict JSON: what cannot be stored as JSON (NaN, Infinity) is an error here.
    prim = json.loads(json.dumps(prim, allow_nan=False))
    return mistral_lib.actions.Result(prim["data"], prim["error"], prim.get("cancel", False))


# Upstream's request context defaults (what actions see when authentication is off).
_SECURITY_DEFAULTS = {"insecure": False, "is_trust_scoped": False, "redelivered": False,
                      "is_target": False}


def _security_context(sec):
    return ml_ctx.SecurityContext(**{k: sec.get(k, _SECURITY_DEFAULTS.get(k))
                                     for k in SECURITY_FIELDS})


def _execution_context(ex):
    return ml_ctx.ExecutionContext(**{k: ex[k] for k in EXECUTION_FIELDS if ex.get(k) is not None})


def run(req):
    name = req["name"]
    action_ex_id = req.get("action_ex_id")
    params = req.get("input") or {}
    desc = discovery.DESCRIPTORS.get(name)
    if desc is None:
        return _error("Failed to find action [action_name=%s]" % name)
    try:
        desc.check_parameters(params)
    except ml_exc.ActionException as e:
        return _error(str(e))
    try:
        action = desc.instantiate(params, {})
    except Exception:
        # Never echo the input: it may hold secrets (upstream does the same).
        return _error("Failed to instantiate an action [action_desc=%s]" % desc)

    security = req.get("security") or {}
    auth_ctx = AuthContext(**security)
    ml_utils.set_thread_local(AUTH_CTX_THREAD_LOCAL, auth_ctx)
    try:
        if isinstance(action, mistral_lib.actions.Action):
            action_ctx = ml_ctx.ActionContext(_security_context(security),
                                               _execution_context(req.get("execution") or {}))
        else:
            action_ctx = None
        try:
            result = action.run(action_ctx)
        except SystemExit:
            # Upstream runs run() in a thread, where SystemExit just ends the thread: the
            # action "returns" None and succeeds.
            result = None
        if not isinstance(result, mistral_lib.actions.Result):
            result = mistral_lib.actions.Result(data=result)
        sync = action.is_sync()
    except BaseException as e:  # noqa: B036 - upstream catches SystemExit etc. too
        return _error("The action raised an exception [action=%s, action_ex_id=%s, msg='%s']"
                      % (action, action_ex_id, e))
    finally:
        ml_utils.set_thread_local(AUTH_CTX_THREAD_LOCAL, None)

    try:
        result = desc.post_process_result(_wire(result))
        if result.is_error():
            state, value = "ERROR", result.error
        elif result.is_cancel():
            state, value = "CANCELLED", result.error
        else:
            state, value = "SUCCESS", result.data
    except Exception as e:
        return _error("Failed to complete action due to a Mistral exception "
                      "[action=%s, action_ex_id=%s]\n %s: %s" % (action, action_ex_id,
                                                              type(e).__name__, e))
    # An asynchronous action reports later through PUT /v2/action_executions/<id>, unless it
    # failed already.
    if not sync and state != "ERROR":
        return {"state": "RUNNING", "result": None}
    return {"state": state, "result": value}
