#!/usr/bin/env bash
# THE test command of mistral-rs. From a fresh clone on a machine with the Rust toolchain,
# Python 3.11, PostgreSQL on 127.0.0.1:5432 (trust auth, user postgres) and RabbitMQ:
#
#   1. builds the workspace;
#   2. cargo test --workspace, with MISTRAL_RS_TEST_PG pointing at the local PostgreSQL so the
#      Rust integration tests cover both storage backends;
#   3. creates compat-tests/.venv and installs compat-tests/requirements*.txt (pinned; includes
#      mistral-lib and the sample Python action package compat-tests/pyactions);
#   4. runs the pytest suite in compat-tests/ (API tests against the built binary on SQLite and
#      PostgreSQL, plus the expression differential tests);
#   5. starts mistral-rs on a free port with a fresh database and runs every upstream tempest
#      API test module (mistral-tempest-tests 2.10.0: workbooks, workflows, actions, executions,
#      tasks, action executions, cron triggers, event triggers);
#   6. starts mistral-rs on a free port with a fresh SQLite database and replays the workflow
#      conformance cases (conformance/check.py; known failures in conformance/known_failing.txt).
#
# Exits non-zero if anything fails. Upstream Mistral is NOT needed here.
# Environment knobs: MISTRAL_RS_TEST_PG (PostgreSQL URL), MISTRAL_TEST_BACKENDS (pytest backends,
# default sqlite,postgresql), TEMPEST_MODULES (default "test_workbooks test_workflows
# test_actions test_cron_triggers test_event_triggers test_executions test_tasks
# test_action_executions"), SKIP_CARGO_TEST=1 / SKIP_PYTEST=1 / SKIP_TEMPEST=1 / SKIP_CONFORMANCE=1 to leave a stage out.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
START=$(date +%s)
FAILED=()
stage() { printf '\n===== %s (%ss) =====\n' "$*" "$(( $(date +%s) - START ))"; }

export MISTRAL_RS_TEST_PG=${MISTRAL_RS_TEST_PG:-postgresql://postgres@127.0.0.1:5432/postgres}
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
BIN="$ROOT/target/debug/mistral-rs"
VENV="$ROOT/compat-tests/.venv"
PY=${PYTHON:-python3}

# ---------------------------------------------------------------------------------------------
stage "services"
if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "PostgreSQL is not answering; trying to start it"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
if ! psql -X -q -h 127.0.0.1 -U postgres -d postgres -c 'select 1' >/dev/null; then
    echo "PostgreSQL on 127.0.0.1:5432 (user postgres) is required"; exit 1
fi
if command -v rabbitmqctl >/dev/null && ! rabbitmqctl -q status >/dev/null 2>&1; then
    echo "RabbitMQ is not running; trying to start it"
    rabbitmq-server -detached || true
fi

# The std.ssh tests run a throwaway OpenSSH server on 127.0.0.1 and the std.email STARTTLS
# test makes a certificate with the openssl tool; install them when missing (Debian).
if [ ! -x /usr/sbin/sshd ] || ! command -v openssl >/dev/null || ! command -v ssh-keygen >/dev/null; then
    echo "installing openssh-server and openssl for the std.ssh / std.email tests"
    if command -v apt-get >/dev/null; then
        apt-get update -qq >/dev/null 2>&1
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            openssh-server openssh-client openssl >/dev/null \
            || echo "WARNING: could not install openssh-server/openssl: the std.ssh/std.email tests will skip parts"
    else
        echo "WARNING: no apt-get: the std.ssh/std.email tests will skip parts"
    fi
fi

# ---------------------------------------------------------------------------------------------
stage "cargo build --workspace"
if ! cargo build --workspace --all-targets; then
    echo "build failed"; exit 1
fi

if [ -z "${SKIP_CARGO_TEST:-}" ]; then
    stage "cargo test --workspace (MISTRAL_RS_TEST_PG=$MISTRAL_RS_TEST_PG)"
    cargo test --workspace --no-fail-fast || FAILED+=("cargo test")
fi

# ---------------------------------------------------------------------------------------------
stage "python environment ($VENV)"
if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV" || { echo "cannot create $VENV"; exit 1; }
fi
REQS=()
for f in compat-tests/requirements*.txt; do [ -f "$f" ] && REQS+=(-r "$f"); done
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "${REQS[@]}" \
    || { echo "pip install failed"; exit 1; }

# ---------------------------------------------------------------------------------------------
if [ -z "${SKIP_PYTEST:-}" ]; then
    stage "pytest compat-tests"
    # MISTRAL_URL would point the suite at some other server: this run tests our binary.
    env -u MISTRAL_URL MISTRAL_RS_BIN="$BIN" \
        "$VENV/bin/python" -m pytest compat-tests -p no:cacheprovider -q -ra
    rc=$?
    # 5 = no test collected: that is a failure of this script too
    [ $rc -eq 0 ] || FAILED+=("pytest (exit $rc)")
fi

# ---------------------------------------------------------------------------------------------
if [ -z "${SKIP_TEMPEST:-}" ]; then
    stage "tempest API tests against mistral-rs"
    # The plugin's WITHOUT_AUTH mode targets :8989; run_tempest.py --target redirects it, so
    # a server already on :8989 does not get in the way.
    WORK=$(mktemp -d /tmp/mistral-rs-tempest.XXXXXX)
    PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    NO_COLOR=1 MISTRAL_DATABASE_CONNECTION="sqlite:///$WORK/mistral.sqlite" \
        MISTRAL_API_ALLOW_ACTION_EXECUTION_DELETION=true \
        "$BIN" serve --host 127.0.0.1 --port "$PORT" >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    trap 'kill $SERVER_PID 2>/dev/null' EXIT
    # shellcheck disable=SC2086
    "$VENV/bin/python" compat-tests/tempest/run_tempest.py --wait 90 \
        --target "http://127.0.0.1:$PORT" \
        --known compat-tests/tempest/upstream_failures.txt \
        --known compat-tests/tempest/mistral_rs_gaps.txt \
        ${TEMPEST_MODULES:-test_workbooks test_workflows test_actions test_cron_triggers test_event_triggers test_executions test_tasks test_action_executions}
    rc=$?
    [ $rc -eq 0 ] || { FAILED+=("tempest (exit $rc)"); tail -30 "$WORK/server.log"; }
    kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null
    trap - EXIT
    rm -rf "$WORK"
fi

# ---------------------------------------------------------------------------------------------
if [ -z "${SKIP_CONFORMANCE:-}" ]; then
    stage "workflow conformance cases against mistral-rs"
    WORK=$(mktemp -d /tmp/mistral-rs-conformance.XXXXXX)
    PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    # The runner's HTTP peer is on loopback: let std.http reach it (link-local stays denied),
    # as upstream is configured when the cases are recorded.
    NO_COLOR=1 MISTRAL_DATABASE_CONNECTION="sqlite:///$WORK/mistral.sqlite" \
        MISTRAL_ACTION_STD_HTTP_DENIED_CIDRS=169.254.0.0/16,fe80::/10 \
        "$BIN" serve --host 127.0.0.1 --port "$PORT" >"$WORK/server.log" 2>&1 &
    CONF_PID=$!
    trap 'kill $CONF_PID 2>/dev/null' EXIT
    for _ in $(seq 60); do
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
        sleep 0.5
    done
    "$PY" conformance/check.py "http://127.0.0.1:$PORT" --jobs 2
    rc=$?
    [ $rc -eq 0 ] || { FAILED+=("conformance (exit $rc)"); tail -30 "$WORK/server.log"; }
    kill "$CONF_PID" 2>/dev/null; wait "$CONF_PID" 2>/dev/null
    trap - EXIT
    rm -rf "$WORK"
fi

# ---------------------------------------------------------------------------------------------
stage "done"
if [ ${#FAILED[@]} -gt 0 ]; then
    printf 'FAILED: %s\n' "${FAILED[@]}"
    exit 1
fi
echo "all test stages passed in $(( $(date +%s) - START ))s"
