# make_venv PYTHON DIR PACKAGE...: a virtualenv in DIR holding PACKAGE..., also on Debian without
# python3-venv (no ensurepip): there the venv is made bare and filled by the system pip
# (pip >= 22.3 understands --python). Sourced by helm/tests/run.sh and tests/contract/run.sh.
make_venv() {
  local python="$1" venv="$2"
  shift 2
  if "$python" -m venv "$venv" >/dev/null 2>&1; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "$@"
  else
    "$python" -m venv --clear --without-pip "$venv"
    "$python" -m pip --python "$venv/bin/python" install --quiet --disable-pip-version-check \
      --no-input "$@"
  fi
}
