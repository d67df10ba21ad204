# Sourced by the other scripts: make .venv and install the project into it, once per change of pyproject.toml.
# Needs only Python 3.11+ (with its standard venv module); everything else comes from PyPI.
set -euo pipefail
PYTHON="${PYTHON:-python3}"
EXTRAS="${1:-}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "alertsvc needs Python 3.11 or newer as '$PYTHON' (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv || { echo "could not create a virtualenv: install your Python's venv module (Debian: apt-get install python3-venv)" >&2; exit 1; }
fi
stamp=".venv/.alertsvc-installed${EXTRAS:+-$EXTRAS}"
want="$(cat pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "==> installing alertsvc${EXTRAS:+[$EXTRAS]} into .venv"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".${EXTRAS:+[$EXTRAS]}"
  echo "$want" > "$stamp"
fi
