"""One action per behaviour the Python action runner has to reproduce."""

import datetime
import decimal
import os
import sys
import time
import uuid

from mistral_lib import actions
from mistral_lib import exceptions
from mistral_lib import utils


class AddAction(actions.Action):
    """Adds two numbers.

    Returns x + y.
    """

    def __init__(self, x, y=2):
        self.x = x
        self.y = y

    def run(self, context):
        return self.x + self.y


class ContextAction(actions.Action):
    """Returns what the action sees of its context."""

    def __init__(self, fields=None):
        self.fields = fields

    def run(self, context):
        auth = utils.get_thread_local("MISTRAL_APP_CTX_THREAD_LOCAL")
        return {
            "is_action_context": isinstance(context, actions.context.ActionContext),
            "security": {k: getattr(context.security, k)
                         for k in ("project_id", "auth_token", "user_name", "project_name",
                                   "is_target", "insecure", "redelivered", "region_name")},
            "execution": dict(vars(context.execution)),
            "thread_local_auth": auth is not None,
            "thread_local_project_id": getattr(auth, "project_id", None),
        }


class ResultAction(actions.Action):
    """Returns a mistral-lib Result."""

    def __init__(self, data=None, error=None, cancel=False):
        self.data = data
        self.error = error
        self.cancel = cancel

    def run(self, context):
        return actions.Result(data=self.data, error=self.error, cancel=self.cancel)


class FailAction(actions.Action):
    """Raises an ActionException with the given message."""

    def __init__(self, message="sample failure"):
        self.message = message

    def run(self, context):
        raise exceptions.ActionException(self.message)

    def __str__(self):
        return "FailAction"


class SlowAction(actions.Action):
    """Sleeps, then returns the number of seconds slept."""

    def __init__(self, seconds=1.0):
        self.seconds = seconds

    def run(self, context):
        time.sleep(self.seconds)
        return self.seconds


class AsyncAction(actions.Action):
    """Starts something that reports back later through the API."""

    def __init__(self, fail=False):
        self.fail = fail

    def run(self, context):
        if self.fail:
            return actions.Result(error="could not start")
        return {"callback_url": context.execution.callback_url}

    def is_sync(self):
        return False


class Thing:
    def __init__(self):
        self.a = 1
        self._hidden = "h"


class TypesAction(actions.Action):
    """Returns values that are not JSON types."""

    def run(self, context):
        return {
            "datetime": datetime.datetime(2020, 1, 2, 3, 4, 5, 6),
            "tuple": (1, 2),
            "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
            "decimal": decimal.Decimal("1.5"),
            "object": Thing(),
            "generator": (i * i for i in range(3)),
        }


class KwargsAction(actions.Action):
    """Accepts anything."""

    def __init__(self, first, **rest):
        self.first = first
        self.rest = rest

    def run(self, context):
        return {"first": self.first, "rest": self.rest}


class LegacyAction:
    """A class that is not a mistral-lib action: run() gets None."""

    def __init__(self, value=None):
        self.value = value

    def run(self, context):
        return {"context_is_none": context is None, "value": self.value}

    def is_sync(self):
        return True


class ExitAction(actions.Action):
    """Calls sys.exit."""

    def run(self, context):
        sys.exit(3)

    def __str__(self):
        return "ExitAction"


class CrashAction(actions.Action):
    """Kills its own process the way a crashing C extension would (only safe to run where
    actions are isolated in worker processes)."""

    def run(self, context):
        os.abort()


class NotJsonAction(actions.Action):
    """Returns a float that JSON cannot carry."""

    def run(self, context):
        return float("nan")

    def __str__(self):
        return "NotJsonAction"


class BadInitAction(actions.Action):
    """Its constructor fails."""

    def __init__(self, value=None):
        raise RuntimeError("constructor failed")

    def run(self, context):
        return None


class ShadowEchoAction(actions.Action):
    """Must never be used: std.echo is native."""

    def __init__(self, output=None):
        self.output = output

    def run(self, context):
        return "shadowed"


_HELD = []


class LeakAction(actions.Action):
    """Keeps `mb` megabytes alive in its process; returns the process id."""

    def __init__(self, mb=0):
        self.mb = mb

    def run(self, context):
        if self.mb:
            _HELD.append(bytearray(self.mb * 1024 * 1024))
        return os.getpid()
