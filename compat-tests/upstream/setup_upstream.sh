#!/usr/bin/env bash
# Create (or reuse) a virtualenv with upstream OpenStack Mistral 23.0.0, the ground truth that
# compat-tests/upstream/run_upstream.py serves. Only developers recording expectations or
# running differential tests/benchmarks need it; scripts/test.sh never does.
#
#   compat-tests/upstream/setup_upstream.sh [VENV_DIR]     (default /work/venvs/upstream)
set -euo pipefail
VENV=${1:-${MISTRAL_UPSTREAM_VENV:-/work/venvs/upstream}}
PY=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
if "$VENV/bin/python" -c 'import importlib.metadata as m, sys; sys.exit(m.version("mistral") != "23.0.0")' 2>/dev/null; then
    echo "mistral 23.0.0 already installed in $VENV"
else
    "$VENV/bin/pip" install -q 'mistral==23.0.0'
fi
"$VENV/bin/python" - <<'PY'
import importlib.metadata as m
for p in ("mistral", "mistral-lib", "yaql", "Jinja2", "SQLAlchemy", "oslo.messaging"):
    print(f"{p}=={m.version(p)}")
PY
echo "run it with: $VENV/bin/python $(dirname "$0")/run_upstream.py --port 8989"
