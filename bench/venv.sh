#!/usr/bin/env bash
# Creates (once) the Python environment with the peer libraries the benchmarks compare against.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.build/bench-venv
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import implicit, numpy, scipy" 2>/dev/null; then
  echo "setting up $VENV (implicit 0.7.x, numpy, scipy from PyPI)" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "implicit>=0.7,<0.8" numpy scipy
fi
echo "$VENV/bin/python"
