# Shared by scripts/run-bot and scripts/test: make .venv when it is missing and (re)install
# the project when pyproject.toml changed since the last install. Sourced, not run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
EXTRAS="${1:-}"

pick_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "Steady needs Python 3.11 or newer; install it and try again." >&2
  return 1
}

if [ ! -x "$VENV/bin/python" ]; then
  PY="$(pick_python)"
  echo "Creating $VENV with $PY …" >&2
  "$PY" -m venv "$VENV"
fi

STAMP="$VENV/.steady-installed${EXTRAS:+-$EXTRAS}"
WANT="$(cat "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  echo "Installing Steady${EXTRAS:+ with [$EXTRAS]} into .venv …" >&2
  "$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
  # setuptools says "Editable installation … folders in your working directory with the same
  # name as your package …" on every editable install of this flat layout, and pip shows it as
  # a BuildBackendWarning above the one line that matters. That warning alone is filtered
  # (by its text): pip's errors, and any other warning, still show.
  "$VENV/bin/python" -W "ignore:Editable installation:UserWarning" \
    -m pip install --quiet -e "$ROOT${EXTRAS:+[$EXTRAS]}" >&2
  echo "$WANT" > "$STAMP"
fi
