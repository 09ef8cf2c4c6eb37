#!/usr/bin/env bash
# Upstream Mistral 23.0.0 and mistral-rs side by side, one command (see bench/README.md):
#
#   bench/run.sh [compare.py options, e.g. --cap 100 --only upstream,sqlite,pg]
#
# Creates/reuses the upstream virtualenv (MISTRAL_UPSTREAM_VENV, default /work/venvs/upstream
# if it exists, else bench/.venv-upstream), builds the release binary, runs bench/compare.py,
# which prints the table and writes bench/results.md and the results section of
# bench/README.md. PostgreSQL: BENCH_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres;
# skipped when unreachable). Ports: BENCH_PORT..BENCH_PORT+2 (default 9160).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${MISTRAL_UPSTREAM_VENV:-}" ]; then
    if [ -x /work/venvs/upstream/bin/python ]; then
        MISTRAL_UPSTREAM_VENV=/work/venvs/upstream
    else
        MISTRAL_UPSTREAM_VENV=$PWD/bench/.venv-upstream
    fi
fi
compat-tests/upstream/setup_upstream.sh "$MISTRAL_UPSTREAM_VENV" >/dev/null
cargo build --release --bin mistral-rs
exec python3 bench/compare.py --upstream-python "$MISTRAL_UPSTREAM_VENV/bin/python" "$@"
