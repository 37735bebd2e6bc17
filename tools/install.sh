#!/usr/bin/env bash
# Builds ember and installs it (non-editable, like a user's `pip install .`) into a virtual
# environment, with the build requirements from pyproject.toml and the extras asked for.
#   bash tools/install.sh [extra ...]       e.g. bash tools/install.sh test
# Environment: EMBER_VENV (default build/venv), PYTHON (default python3) to create it.
# Rerunning is incremental: the CMake build tree (build/venv-build) is kept.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${EMBER_VENV:-$ROOT/build/venv}
PY="$VENV/bin/python"

if [ ! -x "$PY" ]; then
  echo "== creating $VENV"
  "${PYTHON:-python3}" -m venv "$VENV"
fi

# The build requirements, read from pyproject.toml so they are listed in one place. The build
# runs without isolation, in this venv, so that reruns reuse the build tree.
mapfile -t BUILD_REQS < <("$PY" - "$ROOT/pyproject.toml" <<'PYEOF'
import ast, re, sys
text = open(sys.argv[1]).read()
try:
    import tomllib
    reqs = tomllib.loads(text)["build-system"]["requires"]
except ImportError:  # Python < 3.11: the list is one line in pyproject.toml
    reqs = ast.literal_eval(re.search(r"^requires\s*=\s*(\[.*\])", text, re.M).group(1))
print("\n".join(reqs))
PYEOF
)
[ ${#BUILD_REQS[@]} -gt 0 ] || { echo "install.sh: no build requirements read" >&2; exit 1; }
echo "== installing build requirements: ${BUILD_REQS[*]}"
"$PY" -m pip install -q --disable-pip-version-check "${BUILD_REQS[@]}"

spec="$ROOT"
if [ $# -gt 0 ]; then
  spec="$ROOT[$(IFS=,; echo "$*")]"
fi
echo "== building and installing ember ($spec)"
# pip -v shows the build; only its progress lines ([n/N] compiling ...), warnings and errors
# are printed, so a first build (a few minutes) is never silent.
set -o pipefail
"$PY" -m pip install -v --disable-pip-version-check --no-build-isolation \
  --config-settings=build-dir="$ROOT/build/venv-build" "$spec" 2>&1 |
  grep --line-buffered -E '^\s*\[[0-9]+/[0-9]+\]|error:|warning:|Error:|FAILED|Successfully installed' |
  sed -u -E 's/^\s+//; s#(Building CXX object CMakeFiles/[a-z_]+\.dir/)##'
set +o pipefail
