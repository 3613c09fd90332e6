#!/usr/bin/env bash
# The container image, built and run without Docker or a registry: a Debian base made with
# debootstrap, the Dockerfile's runtime-prebuilt target built with buildah around the binary CI
# built, its configuration checked, then the binary inside it migrating a throwaway database of
# the CI cluster and serving until /readyz answers 200. `.ci/run` calls this.
#
#   bash .ci/image.sh [BINARY]      (as root, from anywhere; BINARY: target/debug/dealergate)
#
# Everything it makes lives under one directory of its own in /var/tmp (buildah's storage, the
# base, the generated keys), in the database dg_image_<pid> and the login role
# dg_image_<pid>_login, and in target/image/; all are removed on any exit.
set -euo pipefail
cd "$(dirname "$0")/.."
here="$(pwd)/.ci"

binary="${1:-target/debug/dealergate}"
pg="postgres://postgres@127.0.0.1:5432"
image="localhost/dealergate:ci"
started=$SECONDS

log() { printf '\n== %s (%d s)\n' "$*" "$((SECONDS - started))"; }
fail() { echo "image check FAILED: $*" >&2; exit 1; }
psql_admin() { psql "$pg/postgres?sslmode=disable" -X -v ON_ERROR_STOP=1 -Atqc "$1"; }

[ "$(id -u)" -eq 0 ] || fail "run as root (debootstrap and buildah's chroot isolation need it)"
[ -x "$binary" ] || fail "no binary at $binary (build it first: cargo build --bin dealergate)"

# --- tools: Debian's buildah, debootstrap, objcopy (binutils), curl, python3 and psql ----------
missing=()
for tool in buildah:buildah debootstrap:debootstrap objcopy:binutils curl:curl python3:python3 \
  psql:postgresql-client; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool#*:}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing Debian's ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
buildah --version
debootstrap --version

# --- the work directory, buildah's storage in it, and cleanup on any exit ------------------------
work="$(mktemp -d /var/tmp/dealergate-image.XXXXXX)"
database="dg_image_$$"
login="${database}_login"
server=""
# vfs copies layers instead of mounting them, so nothing needs a kernel overlay; --root keeps the
# images out of /var/lib/containers, and removing $work removes them all
bh() { buildah --root "$work/storage" --runroot "$work/run" --storage-driver vfs "$@"; }
export BUILDAH_ISOLATION=chroot

cleanup() {
  local status=$?
  set +e
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then kill -KILL -- "-$server"; fi
  bh rm --all >/dev/null 2>&1
  bh rmi --all --force >/dev/null 2>&1
  # debootstrap mounts /proc and /sys in the base while it runs: never delete through a mount
  awk -v w="$work/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
    while read -r mount; do umount -l "$mount"; done
  if awk -v w="$work/" 'index($5, w) == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
    echo "left $work in place: something is still mounted under it" >&2
  else
    rm -rf --one-file-system "$work"
  fi
  psql_admin "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" 2>/dev/null
  psql_admin "DROP ROLE IF EXISTS \"$login\"" 2>/dev/null
  rm -rf target/image
  [ "$status" -eq 0 ] || echo "image check failed after $((SECONDS - started)) s" >&2
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the base: the Dockerfile's Debian release, made with debootstrap ---------------------------
# shellcheck source=.ci/image-base.sh
source "$here/image-base.sh"
base="$(awk '$1 == "FROM" && $2 ~ /^debian:/ { print $2; exit }' Dockerfile)"
[ -n "$base" ] || fail "the Dockerfile has no FROM debian:<release>-slim"
log "the base $base from debootstrap"
make_base "$base" "docker.io/library/$base"

# --- the image: the runtime-prebuilt target around CI's binary ----------------------------------
# Only the debug info goes (objcopy --strip-debug keeps the symbols, so backtraces still name
# functions); the copy lands in target/image/, which .dockerignore lets into the build context.
log "the image: Dockerfile target runtime-prebuilt around $binary"
mkdir -p target/image
objcopy --strip-debug "$binary" target/image/dealergate
echo "binary: $(du -mL "$binary" | cut -f1) MB, $(du -m target/image/dealergate | cut -f1) MB without debug info"
# --pull=never: the FROM resolves to the base above, no registry is asked; docker format keeps
# the HEALTHCHECK (OCI image configs have none)
bh bud --isolation chroot --format docker --pull=never --target runtime-prebuilt \
  --build-arg DEALERGATE_BINARY=target/image/dealergate -f Dockerfile -t "$image" .

# --- what the image says about itself -------------------------------------------------------------
log "the image's configuration"
size="$(bh images --format '{{.Size}}' "$image")"
base_size="$(bh images --format '{{.Size}}' "docker.io/library/$base")"
bh push --quiet "$image" "oci:$work/oci:dealergate" >/dev/null
compressed="$(du -sm "$work/oci" | cut -f1)"
# buildah 1.28's --format templates have no json function: read its JSON with Python
config() {
  bh inspect --type image "$image" |
    python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["Docker"]["config"].get(sys.argv[1]), separators=(",", ":")))' "$1"
}
user="$(config User)"
entrypoint="$(config Entrypoint)"
cmd="$(config Cmd)"
healthcheck="$(config Healthcheck)"
printf '%-14s %s\n' size "$size (the base: $base_size); compressed layers: $compressed MB" \
  user "$user" entrypoint "$entrypoint" cmd "$cmd" healthcheck "$healthcheck"
[ "$user" = '"10001:10001"' ] || fail "the image runs as $user, not 10001:10001"
[ "$entrypoint" = '["dealergate"]' ] || fail "entrypoint $entrypoint"
[ "$cmd" = '["serve"]' ] || fail "cmd $cmd"
case "$healthcheck" in
  *'"Test":["CMD","dealergate","healthcheck"]'*) ;;
  *) fail "healthcheck $healthcheck" ;;
esac

# --- what it holds: the binary's libraries, no toolchain, the packages added to the base ---------
log "what the image holds"
ctr="$(bh from --pull=never --name "dg-image-$$" "$image")"
run() { bh run --isolation chroot --network host "$@"; }
uid="$(run "$ctr" -- id -u)"
echo "runs as uid $uid"
[ "$uid" = 10001 ] || fail "buildah run ran as uid $uid"
libraries="$(run "$ctr" -- ldd /usr/local/bin/dealergate)"
echo "$libraries"
if grep -q 'not found' <<<"$libraries"; then fail "a shared library of the binary is missing"; fi
# shellcheck disable=SC2016  # $t expands in the image's shell
toolchain="$(run "$ctr" -- sh -c 'for t in cargo rustc cc gcc c++ ld as make; do command -v $t; done; true')"
[ -z "$toolchain" ] || fail "the image holds a toolchain: $toolchain"
echo "no cargo, rustc, cc, gcc, c++, ld, as or make"
# shellcheck disable=SC2016  # a dpkg-query format, not a shell variable
added="$(comm -13 "$work/base-packages" <(run "$ctr" -- dpkg-query -W -f '${Package}\n' | sort) | xargs)"
echo "Debian packages added to the base: ${added:-none}"
echo "/usr/local/bin: $(run "$ctr" -- ls /usr/local/bin | xargs)"
echo "/etc/dealergate/policies: $(run "$ctr" -- ls /etc/dealergate/policies | xargs)"

# --- the binary inside it: migrate a throwaway database, serve, /readyz ---------------------------
log "the binary inside the image: migrate, serve, /readyz"
# what prod refuses to serve without, generated for this run: the image's own `keys generate`
# writes the keys as its user into a directory mounted in, beside a config file with the secrets
secrets="$work/secrets"
mkdir -m 700 "$secrets"
chown 10001:10001 "$secrets"
run -v "$secrets:/run/dealergate" "$ctr" -- dealergate keys generate --out /run/dealergate | sed -n 1p
run -v "$secrets:/run/dealergate" "$ctr" -- dealergate keys generate --alg ES256 --out /run/dealergate |
  sed -n 1p
password="$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
psql_admin "CREATE DATABASE \"$database\""
cat >"$secrets/dealergate.toml" <<EOF
[database]
url = "postgres://$login:$password@127.0.0.1:5432/$database?sslmode=disable"
[auth]
signing_key_file = "/run/dealergate/signing.pem"
refresh_token_secret = "$(head -c 48 /dev/urandom | base64 -w0)"
[auth.mfa]
encryption_key = "$(head -c 32 /dev/urandom | base64 -w0)"
[oidc]
es256_key_file = "/run/dealergate/id-es256.pem"
[mail]
# nothing is mailed in this check; prod only requires a server to be named
smtp_url = "smtp://127.0.0.1:25"
public_base_url = "https://dealergate.example.com"
EOF
chown 10001:10001 "$secrets/dealergate.toml"
chmod 600 "$secrets/dealergate.toml"

# the schema owner migrates (here the cluster's superuser, as .ci/run's tests do) ...
run -e DATABASE_URL="$pg/$database?sslmode=disable" "$ctr" -- dealergate migrate up >"$work/migrate.log" 2>&1 ||
  { tail -n 20 "$work/migrate.log" >&2; fail "migrate up"; }
echo "migrate up: $(grep -c 'has been applied' "$work/migrate.log") migrations applied to $database"
# ... and the server connects as production does: a NOINHERIT login role of the runtime roles
psql_admin "CREATE ROLE \"$login\" LOGIN NOINHERIT PASSWORD '$password' IN ROLE dealergate_app, dealergate_platform"

# host network (chroot isolation has no network of its own): free ports instead of 8000/9090
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
ops="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
serve_env=(-e DEALERGATE_CONFIG=/run/dealergate/dealergate.toml
  -e "DEALERGATE_LISTEN=127.0.0.1:$port" -e "DEALERGATE_HTTP__OPS_LISTEN=127.0.0.1:$ops")
# a session of its own, so cleanup can end buildah and the server together
setsid buildah --root "$work/storage" --runroot "$work/run" --storage-driver vfs run \
  --isolation chroot --network host -v "$secrets:/run/dealergate" "${serve_env[@]}" "$ctr" \
  -- dealergate serve >"$work/serve.log" 2>&1 &
server=$!

status=000
for _ in $(seq 1 60); do
  status="$(curl -s -o "$work/readyz" -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/readyz" || true)"
  [ "$status" = 200 ] && break
  kill -0 "$server" 2>/dev/null || { tail -n 20 "$work/serve.log" >&2; fail "serve exited"; }
  sleep 1
done
if [ "$status" != 200 ]; then tail -n 20 "$work/serve.log" >&2; fail "/readyz answered $status for 60 s"; fi
echo "GET /readyz: $status $(cat "$work/readyz")"
echo "GET /readyz on the operators' port: $(curl -s --max-time 2 "http://127.0.0.1:$ops/readyz")"
echo "the image's HEALTHCHECK command: $(run -v "$secrets:/run/dealergate" "${serve_env[@]}" "$ctr" -- dealergate healthcheck)"
echo "serve logged $(wc -l <"$work/serve.log") lines; its warnings and errors:"
grep -E '"level":"(WARN|ERROR)"' "$work/serve.log" || echo "  none"

# SIGTERM to the server alone: a graceful shutdown ends buildah run with status 0
kill -TERM "$(pgrep -g "$server" -x dealergate)"
for _ in $(seq 1 30); do kill -0 "$server" 2>/dev/null || break; sleep 1; done
kill -0 "$server" 2>/dev/null && fail "serve still runs 30 s after SIGTERM"
if wait "$server"; then echo "serve stopped on SIGTERM (exit 0)"; else fail "serve did not stop cleanly"; fi
server=""

log "image check passed: $image, $size, user $user, /readyz 200"
