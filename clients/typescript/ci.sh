#!/usr/bin/env bash
# The typed TypeScript client against the live server: installs the client's npm packages
# (pinned by package-lock.json), starts the server (dev profile, cookie mode) on a throwaway
# database as tests/contract/run.sh does, generates the types from its /openapi.json with
# openapi-typescript, type-checks the program under tsc --strict and runs it with Node.
# The types are generated on every run, never committed: an API change that breaks what the
# program uses fails tsc here, and one that changes what the server answers fails the run.
#
#   bash clients/typescript/ci.sh                          (builds the server with cargo)
#   TS_CLIENT_SERVER=path/to/dealergate bash clients/typescript/ci.sh   (a server already built;
#   not DEALERGATE_…: the server reads every such variable as its configuration)
#
# Needs cargo (unless TS_CLIENT_SERVER), psql, and PostgreSQL as for the tests (DATABASE_URL
# names the cluster's superuser URL, default postgres://postgres@127.0.0.1:5432/postgres).
# Node and npm come from Debian's packages when missing. The server, its database and its
# work folder are removed on any exit.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$here"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "== node or npm is missing; installing Debian's"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq nodejs npm >/dev/null
fi
echo "== node $(node --version), npm $(npm --version)"

work="$(mktemp -d "${TMPDIR:-/tmp}/dealergate-ts-client.XXXXXX")"
database="${TS_CLIENT_DATABASE:-dealergate_ts_client_$$}"
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
  psql "$cluster_root/postgres?sslmode=disable" -Atqc "DROP DATABASE IF EXISTS $database WITH (FORCE)" \
    >/dev/null 2>&1 || echo "ts client: could not drop database $database" >&2
  if [[ $status -ne 0 && -f "$work/server.log" ]]; then
    echo "== last lines of the server log" >&2
    tail -n 40 "$work/server.log" >&2 || true
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== npm ci (openapi-typescript, openapi-fetch, typescript, otpauth, tough-cookie)"
npm ci --no-audit --no-fund --loglevel=error

server="${TS_CLIENT_SERVER:-}"
if [[ -z "$server" ]]; then
  echo "== building the server (dev profile)"
  (cd "$repo" && cargo build --quiet --bin dealergate)
  target_dir="$(cd "$repo" && cargo metadata --format-version 1 --no-deps |
    node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).target_directory)')"
  server="$target_dir/debug/dealergate"
fi

# Two free ports on loopback: the API and the operators' listener (another server here may
# hold the default ones).
free_port() {
  node -e 'const s = require("net").createServer();
    s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'
}
port="$(free_port)"
ops_port="$(free_port)"
base="http://127.0.0.1:$port"

# dev `serve` creates the database, migrates and seeds it (Mark without a factor, the admin
# with the demo app). Cookie mode: the refresh token travels only in the HttpOnly cookie.
env_vars=(
  "DATABASE_URL=$cluster_root/$database?sslmode=disable"
  "DEALERGATE_PROFILE=dev"
  "DEALERGATE_LISTEN=127.0.0.1:$port"
  "DEALERGATE_HTTP__OPS_LISTEN=127.0.0.1:$ops_port"
  "DEALERGATE_AUTH__COOKIE_MODE=true"
  "DEALERGATE_LOG__LEVEL=warn"
  "DEALERGATE_MAIL__OUTBOX_DIR=$work/outbox"
)
echo "== starting the server at $base (database $database)"
# from the repository's root, where it finds seed/, policies/ and templates/
(cd "$repo" && exec env "${env_vars[@]}" "$server" serve) >"$work/server.log" 2>&1 &
server_pid=$!
healthy() {
  node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' \
    "$base/healthz"
}
for _ in $(seq 1 120); do
  healthy && break
  kill -0 "$server_pid" 2>/dev/null || { echo "ts client: the server exited" >&2; exit 1; }
  sleep 0.5
done
healthy || { echo "ts client: the server did not answer /healthz within a minute" >&2; exit 1; }

echo "== generating the types from $base/openapi.json (openapi-typescript)"
API_BASE_URL="$base" npm run --silent generate
wc -l src/generated/api.ts

echo "== type-checking and compiling under tsc --strict"
npm run --silent build

echo "== running the client against the server"
started=$SECONDS
API_BASE_URL="$base" node --enable-source-maps dist/main.js
echo "== client run took $((SECONDS - started)) s"
