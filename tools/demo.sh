#!/usr/bin/env bash
# ember's demo command (README): installs ember with the demo extras into build/venv
# (tools/install.sh) and runs examples/python/demo.py with the given arguments.
#   bash tools/demo.sh [demo args ...]      e.g. bash tools/demo.sh --model cnn --epochs 3
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${EMBER_VENV:-$ROOT/build/venv}
bash "$ROOT/tools/install.sh" demo
if [ ! -f "$ROOT/examples/python/demo.py" ]; then
  echo "examples/python/demo.py is not written yet; ember is installed in $VENV" >&2
  exit 1
fi
exec "$VENV/bin/python" "$ROOT/examples/python/demo.py" "$@"
