"""Start run_upstream.py from other Python code (differential tests, benchmarks).

    from upstream import running_upstream          # sys.path: compat-tests/upstream
    with running_upstream(port=18989) as url:      # url = "http://127.0.0.1:18989"
        ...

The upstream virtualenv is taken from `python=` or $MISTRAL_UPSTREAM_PYTHON, else
/work/venvs/upstream/bin/python (create it with setup_upstream.sh). Standard library only.
"""

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PYTHON = os.environ.get("MISTRAL_UPSTREAM_PYTHON", "/work/venvs/upstream/bin/python")


@contextlib.contextmanager
def running_upstream(port=8989, host="127.0.0.1", python=None, extra_args=(), timeout=180):
    """Run upstream Mistral 23.0.0 on host:port for the duration of the block."""
    python = python or DEFAULT_PYTHON
    if not os.path.exists(python):
        raise RuntimeError("no upstream Python at %s; run compat-tests/upstream/"
                           "setup_upstream.sh first" % python)
    out = tempfile.NamedTemporaryFile(prefix="run_upstream-", suffix=".out", delete=False)
    proc = subprocess.Popen([python, os.path.join(HERE, "run_upstream.py"), "--host", host,
                             "--port", str(port), *extra_args],
                            stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            with open(out.name, errors="replace") as f:
                text = f.read()
            if "READY " in text:
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("upstream Mistral did not start:\n" + text[-4000:])
            time.sleep(0.3)
        yield "http://%s:%d" % (host, port)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        out.close()
        os.unlink(out.name)


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 18989
    with running_upstream(port=port) as url:
        import urllib.request
        print(urllib.request.urlopen(url + "/v2/actions/std.noop").read()[:80])
