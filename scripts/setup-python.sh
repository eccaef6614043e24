#!/usr/bin/env bash
# Creates (or refreshes) the Python environment the HPy tests build and run extensions in.
# Idempotent: when every pinned package is already importable at the right version it changes nothing.
# The location defaults to <repo>/.venv and can be overridden with HPY_MIGRATE_VENV.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${HPY_MIGRATE_VENV:-$repo_root/.venv}"
python="$venv/bin/python"
log="$(mktemp "${TMPDIR:-/tmp}/hpy-migrate-setup.XXXXXX")"
trap 'rm -f "$log"' EXIT

fail() {
  echo "setup-python: $1 (details: see above)" >&2
  exit 1
}

# hpy 0.9.0 (2023) is the target. setuptools is pinned below 70 because the name.py stub that
# hpy.devel generates for universal/hybrid builds imports pkg_resources, and hpy.devel hooks
# distutils internals that later setuptools releases changed; >=64 is hpy's own minimum.
requirements=("setuptools>=64,<70" "hpy==0.9.0" "pytest" "wheel")

environment_is_ready() {
  [ -x "$python" ] || return 1
  "$python" - <<'EOF' >/dev/null 2>&1
import importlib.metadata as md
import hpy.devel, hpy.universal, pytest, wheel  # noqa: F401
assert md.version("hpy") == "0.9.0"
major, minor = (int(p) for p in md.version("setuptools").split(".")[:2])
assert (64, 0) <= (major, minor) < (70, 0)
EOF
}

if environment_is_ready; then
  echo "setup-python: $venv is ready (hpy 0.9.0)"
  exit 0
fi

if [ ! -x "$python" ]; then
  python3 -m venv "$venv" >"$log" 2>&1 || { cat "$log" >&2; fail "could not create a virtual environment at $venv with 'python3 -m venv'"; }
fi

"$python" -m pip install --disable-pip-version-check --quiet "${requirements[@]}" >"$log" 2>&1 \
  || { cat "$log" >&2; fail "pip could not install ${requirements[*]} into $venv (PyPI access is needed)"; }

environment_is_ready || fail "$venv still lacks hpy 0.9.0 / setuptools<70 / pytest / wheel after pip install"
echo "setup-python: installed hpy 0.9.0 into $venv"
