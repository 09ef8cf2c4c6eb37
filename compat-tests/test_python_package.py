"""Unit tests of the Python side of Python actions (python/mistral_rs_actions), without a
server: discovery of entry points that fail, generators, allow/deny lists, run() edge cases."""

import json
import os
import sys

import pytest

pytest.importorskip("mistral_lib")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "python"))

from mistral_lib import actions  # noqa: E402

from mistral_rs_actions import discovery, handle, settings  # noqa: E402


class Good(actions.Action):
    """Good action."""

    def __init__(self, a, b="x"):
        self.a, self.b = a, b

    def run(self, context):
        return [self.a, self.b]


class BrokenSignature(actions.Action):
    __init__ = 5

    def run(self, context):
        return None


class Base(actions.Action):
    client_method_name = None

    def __init__(self, **kw):
        self.kw = kw

    def run(self, context):
        return {"method": self.client_method_name, "kw": self.kw}


class Generator:
    base_action_class = Base

    @classmethod
    def create_actions(cls):
        gen = type("servers_list", (Base,), {"client_method_name": "servers.list"})
        return [{"name": "fake.servers_list", "class": gen, "description": "List servers.",
                 "arg_list": "detailed=true, limit=null"}]


def _ep(group, name, value, obj):
    # A stand-in with what discovery reads of an importlib.metadata.EntryPoint.
    return type("FakeEntryPoint", (), {"name": name, "value": value, "group": group,
                                       "load": staticmethod(lambda: obj)})()


def _boom():
    raise ImportError("No module named 'nowhere'")


@pytest.fixture
def entry_points(monkeypatch):
    eps = {"mistral.actions": [], "mistral.generators": [], "mistral.action.providers": []}

    def fake(group):
        return sorted(eps[group], key=lambda e: e.name)

    monkeypatch.setattr(discovery, "_entry_points", fake)
    monkeypatch.setattr(settings, "_settings", dict(settings._settings))
    return eps


def call(req):
    return json.loads(handle(json.dumps(req)))


def test_failures_are_reported_per_entry_point(entry_points):
    broken_import = type("E", (), {"name": "x.broken", "value": "nowhere:X",
                                   "group": "mistral.actions", "load": staticmethod(_boom)})()
    entry_points["mistral.actions"] += [
        _ep("mistral.actions", "x.good", "m:Good", Good),
        _ep("mistral.actions", "x.sig", "m:BrokenSignature", BrokenSignature),
        broken_import,
    ]
    out = call({"op": "init", "config": {}})
    names = [a["name"] for a in out["actions"]]
    assert names == ["x.good"]
    good = out["actions"][0]
    assert good["input"] == 'a, b="x"' and good["description"] == "Good action."
    assert good["params"] == [{"name": "a", "required": True}, {"name": "b", "required": False}]
    errors = "\n".join(out["errors"])
    assert "'x.broken' (nowhere:X): ImportError: No module named 'nowhere'" in errors
    assert "'x.sig' (m:BrokenSignature): TypeError" in errors


def test_generated_actions_use_the_generator_signature(entry_points):
    entry_points["mistral.generators"].append(
        _ep("mistral.generators", "gens", "m:all", lambda: [Generator]))
    out = call({"op": "init", "config": {}})
    [a] = out["actions"]
    assert (a["name"], a["input"], a["description"]) == (
        "fake.servers_list", "detailed=true, limit=null", "List servers.")
    r = call({"op": "run", "name": "fake.servers_list", "input": {"limit": 2},
              "action_ex_id": "1"})
    assert r == {"state": "SUCCESS", "result": {"method": "servers.list", "kw": {"limit": 2}}}


def test_allow_and_deny_lists(entry_points):
    for n in ("a.one", "a.two", "b.one"):
        entry_points["mistral.actions"].append(_ep("mistral.actions", n, "m:Good", Good))
    out = call({"op": "init", "config": {"allowlist": ["a.*"], "denylist": ["a.one"]}})
    assert [a["name"] for a in out["actions"]] == ["a.one", "a.two"]  # the allowlist wins
    out = call({"op": "init", "config": {"allowlist": [], "denylist": ["a.*"]}})
    assert [a["name"] for a in out["actions"]] == ["b.one"]


def test_native_names_are_skipped(entry_points):
    entry_points["mistral.actions"].append(_ep("mistral.actions", "std.echo", "m:Good", Good))
    out = call({"op": "init", "config": {"skip": ["std.echo"]}})
    assert out["actions"] == []


def test_run_edge_cases(entry_points):
    entry_points["mistral.actions"].append(_ep("mistral.actions", "x.good", "m:Good", Good))
    call({"op": "init", "config": {}})
    assert call({"op": "run", "name": "x.good", "input": {"c": 1}, "action_ex_id": "1"}) == {
        "state": "ERROR",
        "result": "Invalid input [name=x.good, class=%s.Good, missing=['a'], unexpected=['c']]"
                  % __name__}
    assert call({"op": "run", "name": "x.nope", "input": {}})["result"] == (
        "Failed to find action [action_name=x.nope]")
    assert call({"op": "run", "name": "x.good", "input": {"a": 1}}) == {
        "state": "SUCCESS", "result": [1, "x"]}
    assert "fatal" in call({"op": "bogus"})


class Provider(actions.ActionProvider):
    """A third-party action provider (entry point mistral.action.providers)."""

    def __init__(self, name):
        super().__init__(name)
        self._descs = [actions.PythonActionDescriptor("prov.good", Good)]

    def find(self, action_name, namespace=None):
        return next((d for d in self._descs if d.name == action_name), None)

    def find_all(self, namespace=None, limit=None, sort_fields=None, sort_dirs=None, **kw):
        return self._descs


def test_third_party_providers_but_not_upstreams_own(entry_points):
    entry_points["mistral.action.providers"] += [
        _ep("mistral.action.providers", "mine", "m:Provider", Provider),
        # Upstream's own providers (legacy/adhoc/dynamic) are what mistral-rs does natively.
        _ep("mistral.action.providers", "legacy", "mistral.actions.legacy:LegacyActionProvider",
            _boom),
    ]
    out = call({"op": "init", "config": {}})
    assert [a["name"] for a in out["actions"]] == ["prov.good"]
    assert out["errors"] == []
    assert call({"op": "run", "name": "prov.good", "input": {"a": 2}}) == {
        "state": "SUCCESS", "result": [2, "x"]}
    out = call({"op": "init", "config": {"providers_denylist": ["mine"]}})
    assert out["actions"] == []
