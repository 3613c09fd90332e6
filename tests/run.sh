#!/usr/bin/env bash
# The README's second command: every test of every crate. Installs what the tests need and is
# missing (Debian's pgbouncer: the PgBouncer tests start the real one and fail without it), then
# runs the whole suite without stopping at the first failing test binary. `.ci/run` runs this.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    echo "tests/run.sh: $* needs root (no sudo here)" >&2
    return 1
  fi
}

if ! [ -x /usr/sbin/pgbouncer ] && ! command -v pgbouncer >/dev/null 2>&1; then
  echo "== pgbouncer is not installed; installing Debian's (the PgBouncer tests run the real one)"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq pgbouncer >/dev/null
fi

exec cargo test --workspace --no-fail-fast "$@"
