"""A minimal Keystone (identity v3 and v2.0 token APIs) for running tempest without OpenStack.

The mistral tempest plugin's WITHOUT_AUTH mode sends its API requests straight to
http://localhost:8989/v2 with no token, but tempest itself still builds credential objects for
the `admin`, `primary` and `alt` accounts of every test class and may ask the identity service
for tokens. This server answers those requests for any user name / password with a token whose
project is derived from the user name; the catalog lists the workflow service at the given URL.

Usable as a module (`FakeKeystone(...).start()`) or standalone:
    python fake_keystone.py --port 5000 --workflow-url http://localhost:8989/v2
"""

import argparse
import datetime
import hashlib
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ADMIN_USERS = {"admin", "mistral-admin"}


def _id_for(kind, name):
    return hashlib.md5(("%s:%s" % (kind, name)).encode()).hexdigest()


def _times():
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    expires = now + datetime.timedelta(days=1)
    return now, expires


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeKeystone/1.0"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep test output clean
        if self.server.verbose:
            super().log_message(fmt, *args)

    # -- helpers ---------------------------------------------------------------------------
    def _base(self):
        return "http://%s:%d" % self.server.server_address[:2]

    def _send(self, status, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _read_json(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return None

    def _catalog_v3(self):
        url = self.server.workflow_url
        endpoints = [
            {"id": _id_for("endpoint", iface), "interface": iface, "region": self.server.region,
             "region_id": self.server.region, "url": url}
            for iface in ("public", "internal", "admin")
        ]
        return [
            {"id": _id_for("service", "workflowv2"), "type": "workflowv2", "name": "mistral",
             "endpoints": endpoints},
            {"id": _id_for("service", "identity"), "type": "identity", "name": "keystone",
             "endpoints": [{"id": _id_for("endpoint", "identity-" + iface), "interface": iface,
                            "region": self.server.region, "region_id": self.server.region,
                            "url": self._base() + "/v3"}
                           for iface in ("public", "internal", "admin")]},
        ]

    def _user_and_project(self, user_name, project_name):
        user_name = user_name or "anonymous"
        project_name = project_name or user_name
        domain = {"id": "default", "name": "Default"}
        user = {"id": _id_for("user", user_name), "name": user_name, "domain": domain,
                "password_expires_at": None}
        project = {"id": _id_for("project", project_name), "name": project_name,
                   "domain": domain}
        roles = [{"id": _id_for("role", "member"), "name": "member"},
                 {"id": _id_for("role", "reader"), "name": "reader"}]
        if user_name in ADMIN_USERS or project_name in ADMIN_USERS:
            roles.append({"id": _id_for("role", "admin"), "name": "admin"})
        return user, project, roles

    def _v3_token(self, user_name, project_name):
        now, expires = _times()
        user, project, roles = self._user_and_project(user_name, project_name)
        return {"token": {
            "methods": ["password"],
            "user": user,
            "project": project,
            "roles": roles,
            "catalog": self._catalog_v3(),
            "issued_at": now.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
            "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
            "audit_ids": [uuid.uuid4().hex[:22]],
            "is_domain": False,
        }}

    # -- routes ----------------------------------------------------------------------------
    def do_GET(self):
        path = self.path.split("?", 1)[0].rstrip("/")
        base = self._base()
        v3 = {"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
              "links": [{"rel": "self", "href": base + "/v3/"}],
              "media-types": [{"base": "application/json",
                               "type": "application/vnd.openstack.identity-v3+json"}]}
        v2 = {"id": "v2.0", "status": "deprecated", "updated": "2016-08-04T00:00:00Z",
              "links": [{"rel": "self", "href": base + "/v2.0/"}],
              "media-types": [{"base": "application/json",
                               "type": "application/vnd.openstack.identity-v2.0+json"}]}
        if path == "":
            self._send(300, {"versions": {"values": [v3, v2]}})
        elif path == "/v3":
            self._send(200, {"version": v3})
        elif path == "/v2.0":
            self._send(200, {"version": v2})
        elif path == "/v3/auth/tokens":
            token = self.headers.get("X-Subject-Token", "")
            who = self.server.tokens.get(token)
            if who is None:
                self._send(404, {"error": {"code": 404, "message": "token not found",
                                           "title": "Not Found"}})
            else:
                self._send(200, self._v3_token(*who), {"X-Subject-Token": token})
        elif path == "/v3/auth/catalog":
            self._send(200, {"catalog": self._catalog_v3()})
        else:
            self._send(404, {"error": {"code": 404, "message": "not found", "title": "Not Found"}})

    def do_HEAD(self):
        self.do_GET()

    def do_POST(self):
        path = self.path.split("?", 1)[0].rstrip("/")
        body = self._read_json()
        if body is None:
            self._send(400, {"error": {"code": 400, "message": "bad json", "title": "Bad Request"}})
            return
        if path == "/v3/auth/tokens":
            auth = body.get("auth", {})
            user = (auth.get("identity", {}).get("password", {}).get("user", {}) or {})
            scope = auth.get("scope", {}) or {}
            project = (scope.get("project") or {}).get("name")
            token = "fake-" + uuid.uuid4().hex
            self.server.tokens[token] = (user.get("name"), project)
            self._send(201, self._v3_token(user.get("name"), project), {"X-Subject-Token": token})
        elif path == "/v2.0/tokens":
            auth = body.get("auth", {})
            creds = auth.get("passwordCredentials", {}) or {}
            user_name = creds.get("username")
            project_name = auth.get("tenantName")
            user, project, roles = self._user_and_project(user_name, project_name)
            now, expires = _times()
            token = "fake-" + uuid.uuid4().hex
            self.server.tokens[token] = (user_name, project_name)
            catalog = [{"type": s["type"], "name": s["name"], "endpoints_links": [],
                        "endpoints": [{"region": self.server.region,
                                       "publicURL": s["endpoints"][0]["url"],
                                       "internalURL": s["endpoints"][1]["url"],
                                       "adminURL": s["endpoints"][2]["url"]}]}
                       for s in self._catalog_v3()]
            self._send(200, {"access": {
                "token": {"id": token, "issued_at": now.isoformat(),
                          "expires": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                          "tenant": {"id": project["id"], "name": project["name"],
                                     "enabled": True}},
                "user": {"id": user["id"], "name": user["name"], "username": user["name"],
                         "roles": [{"name": r["name"]} for r in roles]},
                "serviceCatalog": catalog,
                "metadata": {"is_admin": 0, "roles": [r["id"] for r in roles]},
            }})
        else:
            self._send(404, {"error": {"code": 404, "message": "not found", "title": "Not Found"}})

    def do_DELETE(self):
        token = self.headers.get("X-Subject-Token", "")
        self.server.tokens.pop(token, None)
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()


class FakeKeystone:
    def __init__(self, host="127.0.0.1", port=0, workflow_url="http://localhost:8989/v2",
                 region="RegionOne", verbose=False):
        self.httpd = ThreadingHTTPServer((host, port), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.workflow_url = workflow_url
        self.httpd.region = region
        self.httpd.verbose = verbose
        self.httpd.tokens = {}
        self._thread = None

    @property
    def url(self):
        host, port = self.httpd.server_address[:2]
        return "http://%s:%d" % (host, port)

    def start(self):
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def main():
    p = argparse.ArgumentParser(description="minimal fake Keystone for tempest")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--workflow-url", default="http://localhost:8989/v2")
    p.add_argument("--verbose", action="store_true")
    a = p.parse_args()
    ks = FakeKeystone(a.host, a.port, a.workflow_url, verbose=a.verbose)
    print("fake keystone on %s" % ks.url, flush=True)
    try:
        ks.httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
