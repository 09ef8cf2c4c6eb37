"""Assertion helpers shared by the compat-tests API tests."""

import json
import re
import urllib.parse

TEXT_FAMILY_CT = "application/json;charset=utf-8"   # POST/PUT of definitions
WSME_CT = "application/json"                         # everything else

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TS_RE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


def ct(resp):
    return resp.headers.get("Content-Type", "").replace(" ", "").lower()


def faultstring(resp):
    try:
        return resp.json()["faultstring"]
    except (ValueError, KeyError, TypeError):
        return None


def _describe(resp):
    return "%s %s -> %d %s" % (resp.request.method, resp.request.url, resp.status_code,
                               resp.text[:600])


def assert_status(resp, status):
    assert resp.status_code == status, _describe(resp)


def assert_error(resp, status, text=None, *, contains=None, startswith=None, family=None):
    """Check an error response: status, the faultstring, and the body shape.

    family: "wsme" -> {"faultcode", "faultstring", "debuginfo"} with application/json,
            "text" -> {"faultstring"} only with application/json;charset=utf-8 (definitions),
            None   -> only that a faultstring is present.
    """
    assert_status(resp, status)
    fs = faultstring(resp)
    assert fs is not None, "no faultstring in " + _describe(resp)
    if text is not None:
        assert fs == text, "faultstring %r != %r" % (fs, text)
    if contains is not None:
        assert contains in fs, "%r not in faultstring %r" % (contains, fs)
    if startswith is not None:
        assert fs.startswith(startswith), "faultstring %r does not start with %r" % (
            fs, startswith)
    body = resp.json()
    if family == "wsme":
        assert ct(resp) == WSME_CT, _describe(resp)
        assert set(body) == {"faultcode", "faultstring", "debuginfo"}, body
        assert body["faultcode"] == ("Client" if status < 500 else "Server"), body
        assert body["debuginfo"] is None
    elif family == "text":
        assert ct(resp) == TEXT_FAMILY_CT, _describe(resp)
        assert set(body) == {"faultstring"}, body
    return fs


def assert_client_error(resp, server, upstream_status, ours=(400, 404)):
    """Upstream answers some user errors with 5xx (a defect we do not copy): on upstream check
    the recorded status, on mistral-rs require a 4xx from `ours`."""
    if server.is_upstream:
        assert_status(resp, upstream_status)
    else:
        assert resp.status_code in ours, _describe(resp)
        assert faultstring(resp), _describe(resp)


def parse_next(next_url):
    """Split a `next` link into (path, dict of raw, undecoded query values)."""
    path, _, query = next_url.partition("?")
    params = {}
    for part in query.split("&"):
        k, _, v = part.partition("=")
        params[k] = v
    return path, params


def jloads(text):
    return json.loads(text)


def quote(value):
    return urllib.parse.quote(value, safe="")


def wf_text(*names, task_action="std.noop", extra=""):
    """A workflow document with one workflow per name."""
    out = ["---", "version: '2.0'"]
    for n in names:
        out += ["%s:" % n]
        if extra:
            out += ["  " + line for line in extra.strip("\n").split("\n")]
        out += ["  tasks:", "    t1:", "      action: %s" % task_action]
    return "\n".join(out) + "\n"
