#!/usr/bin/env bash
# The README's second command: every test of every crate. Installs what the tests need and is
# missing (Debian's pgbouncer: the PgBouncer tests start the real one and fail without it;
# Debian's chromium and chromium-driver, and axe-core from npm, for the console's browser tests;
# a virtualenv with Python's Authlib for the OpenID relying-party test),
# then runs the whole suite without stopping at the first failing test binary. `.ci/run` runs this.
set -euo pipefail
cd "$(dirname "$0")/.."

# root, or sudo without a password prompt (a prompt would hang CI); otherwise say what to run
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif sudo -n true 2>/dev/null; then sudo -n "$@"; else
    echo "tests/run.sh: run as root, or first: sudo $*" >&2
    return 1
  fi
}

if ! [ -x /usr/sbin/pgbouncer ] && ! command -v pgbouncer >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "tests/run.sh: install PgBouncer (the PgBouncer tests run the real one), then run me again" >&2
    exit 1
  fi
  echo "== pgbouncer is not installed; installing Debian's (the PgBouncer tests run the real one)"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq pgbouncer >/dev/null
fi

# The console's browser tests (tests/api/console_browser) drive Debian's Chromium through its
# chromedriver and inject axe-core (npm, pinned in tests/browser/package-lock.json); they fail,
# never skip, without them.
if ! [ -x /usr/bin/chromium ] || ! [ -x /usr/bin/chromedriver ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "tests/run.sh: install Chromium and its chromedriver (the browser tests drive them), then run me again" >&2
    exit 1
  fi
  echo "== chromium / chromium-driver are not installed; installing Debian's (the browser tests drive them)"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq chromium chromium-driver >/dev/null
fi
if ! [ -f tests/browser/node_modules/axe-core/axe.min.js ]; then
  if ! command -v npm >/dev/null 2>&1; then
    if ! command -v apt-get >/dev/null 2>&1; then
      echo "tests/run.sh: install Node.js and npm (axe-core comes from npm), then run me again" >&2
      exit 1
    fi
    echo "== npm is not installed; installing Debian's nodejs and npm (axe-core comes from npm)"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    as_root apt-get install -y -qq nodejs npm >/dev/null
  fi
  echo "== axe-core is not installed; npm ci --prefix tests/browser (the browser tests inject it)"
  npm ci --prefix tests/browser --no-audit --no-fund
fi

# The OpenID relying-party test from another ecosystem (tests/api/oidc/authlib.rs) runs
# tests/oidc/authlib_rp.py with Python's Authlib from this virtualenv (pinned; remade when the
# pins change); it fails in CI without it. The webhook tests (tests/api/webhooks*.rs) verify
# deliveries with the standardwebhooks package from the same virtualenv.
rp_venv=tests/oidc/.venv
rp_pins=(authlib==1.9.6 requests==2.34.2 standardwebhooks==1.3.0)
if ! [ -x "$rp_venv/bin/python" ] || [ "$(cat "$rp_venv/pins" 2>/dev/null)" != "${rp_pins[*]}" ]; then
  echo "== the Authlib virtualenv ($rp_venv: ${rp_pins[*]})"
  rm -rf "$rp_venv"
  # a fresh Debian may have no Python, or one that can make neither a venv nor use pip
  if ! command -v python3 >/dev/null 2>&1 \
    || ! { python3 -c 'import ensurepip' 2>/dev/null || python3 -m pip --version >/dev/null 2>&1; }; then
    if ! command -v apt-get >/dev/null 2>&1; then
      echo "tests/run.sh: install Python 3 with venv (python3-venv), then run me again" >&2
      exit 1
    fi
    echo "== Python 3 cannot make a virtualenv; installing Debian's python3-venv"
    as_root apt-get update -qq
    as_root apt-get install -y -qq python3 python3-venv >/dev/null
  fi
  # shellcheck source=../.ci/venv.sh
  source .ci/venv.sh
  make_venv python3 "$rp_venv" "${rp_pins[@]}"
  echo "${rp_pins[*]}" >"$rp_venv/pins"
fi

# Each test thread drives its own server and client in one current-thread runtime: the OpenID
# library test (openidconnect, Chromium, the provider's pages) nests deeper than the 2 MiB a
# test thread gets by default and overflowed it once issue 26 grew the request path.
export RUST_MIN_STACK="${RUST_MIN_STACK:-8388608}"
exec cargo test --workspace --no-fail-fast "$@"
