# Shared by scripts/demo and scripts/test: create .venv once and install the project into it.
# Re-installs only when pyproject.toml changed, so repeated runs start fast.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${KFM_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "kfm-promote needs Python >= 3.11 (found: $("$PY" --version 2>&1))" >&2
  exit 2
fi
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.kfm-installed-$1"
# An install with the test extras is a superset of the demo's: reuse it.
if [ "$1" = "demo" ] && [ -f "$VENV/.kfm-installed-test" ] \
   && ! [ "$ROOT/pyproject.toml" -nt "$VENV/.kfm-installed-test" ]; then
  STAMP="$VENV/.kfm-installed-test"
fi
if [ ! -f "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip 2>/dev/null || true
  if [ "$1" = "test" ]; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT[test]"
  else
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT"
  fi
  touch "$STAMP"
fi
