#!/usr/bin/env bash
# Contract test: the OpenAPI document at /openapi.json must describe every answer the real
# server gives. Starts the server (dev profile) against a fresh database, then runs
# schemathesis once per demo role (tests/contract/contract.py says how the passes are split):
# phases examples, coverage, fuzzing and stateful; checks not_a_server_error,
# status_code_conformance, content_type_conformance, response_schema_conformance and
# negative_data_rejection. Any failure fails the run.
#
#   bash tests/contract/run.sh                    (CI: about 20 cases per operation, minutes)
#   MAX_EXAMPLES=500 bash tests/contract/run.sh   (the longer run)
#   SEED=<n> bash tests/contract/run.sh           (replay a run; its seed is printed)
#
# Needs python3 >= 3.11 (schemathesis) with venv or pip, cargo, and PostgreSQL as for the
# tests (DATABASE_URL names the cluster's superuser URL, default
# postgres://postgres@127.0.0.1:5432/postgres). Everything runs from a throwaway virtualenv and
# database, removed on exit with the server.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo"

SCHEMATHESIS='schemathesis==4.32.5'
export MAX_EXAMPLES="${MAX_EXAMPLES:-20}"
python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "tests/contract/run.sh needs Python 3.11 or newer (schemathesis); found: $("$python" --version 2>&1)" >&2
  exit 2
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/dealergate-contract.XXXXXX")"
database="dealergate_contract_$$"
cluster="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
cluster="${cluster%%\?*}"
cluster_root="${cluster%/*}"
server_pid=""

cleanup() {
  local status=$?
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  if command -v psql >/dev/null 2>&1; then
    psql "$cluster_root/postgres?sslmode=disable" -Atqc "DROP DATABASE IF EXISTS $database WITH (FORCE)" \
      >/dev/null 2>&1 || echo "contract: could not drop database $database" >&2
  fi
  if [[ $status -ne 0 && -f "$work/server.log" ]]; then
    echo "== last lines of the server log" >&2
    tail -n 40 "$work/server.log" >&2 || true
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== schemathesis in a throwaway virtualenv ($SCHEMATHESIS)"
venv="$work/venv"
# shellcheck source=../../.ci/venv.sh
source "$repo/.ci/venv.sh"
make_venv "$python" "$venv" "$SCHEMATHESIS"

echo "== building the server (dev profile)"
cargo build --quiet --bin dealergate
target_dir="$(cargo metadata --format-version 1 --no-deps |
  "$python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
server="$target_dir/debug/dealergate"

port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
ops_port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

# dev `serve` creates the database, migrates and seeds it. Access tokens outlive a long run.
env_vars=(
  "DATABASE_URL=$cluster_root/$database?sslmode=disable"
  "DEALERGATE_PROFILE=dev"
  "DEALERGATE_LISTEN=127.0.0.1:$port"
  "DEALERGATE_AUTH__ACCESS_TOKEN_TTL_SECS=3600"
  # the admin pass fuzzes the admin's operations, not a session confined to enrolling a second
  # factor (every bearer operation declares that 403; tests/api/mfa_policy.rs checks it)
  "DEALERGATE_AUTH__MFA__REQUIRED_ROLES=[]"
  # and signs in with the password alone: no demo app for the admin
  "DEALERGATE_SEED__DEMO_FACTORS=false"
  "DEALERGATE_LOG__LEVEL=warn"
  # the operators' listener too, off its default port (another server here may hold it)
  "DEALERGATE_HTTP__OPS_LISTEN=127.0.0.1:$ops_port"
  # no SMTP in dev: the reset mail schemathesis asks for goes to .eml files, removed on exit
  "DEALERGATE_MAIL__OUTBOX_DIR=$work/outbox"
)
echo "== starting the server at $base (database $database)"
env "${env_vars[@]}" "$server" serve >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 120); do
  if "$python" -c "import urllib.request, sys; urllib.request.urlopen('$base/healthz', timeout=2)" 2>/dev/null; then
    break
  fi
  kill -0 "$server_pid" 2>/dev/null || { echo "contract: the server exited" >&2; exit 1; }
  sleep 0.5
done
"$python" -c "import urllib.request; urllib.request.urlopen('$base/healthz', timeout=2)" 2>/dev/null ||
  { echo "contract: the server did not answer /healthz within a minute" >&2; exit 1; }

reports="${CONTRACT_REPORTS_DIR:-$work/reports}"  # set it to keep the reports
mkdir -p "$reports"
started=$SECONDS
CONTRACT_BASE_URL="$base" CONTRACT_ST="$venv/bin/st" CONTRACT_REPORTS="$reports" \
  "$venv/bin/python" "$here/contract.py"
echo "== contract run took $((SECONDS - started)) s"
