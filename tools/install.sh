#!/usr/bin/env bash
# Builds ember and installs it (non-editable, like a user's `pip install .`) into a virtual
# environment, with the build requirements from pyproject.toml and the extras asked for.
#   bash tools/install.sh [extra ...]       e.g. bash tools/install.sh test
# Environment: EMBER_VENV (default build/venv), PYTHON (default python3) to create it.
# EMBER_CUDA=1 builds the CUDA backend: nvcc and the CUDA libraries come from NVIDIA's PyPI
# wheels (the `cuda13` extra, installed into the venv first), unless a CUDA toolkit's nvcc is
# on PATH; EMBER_CUDA_ARCHITECTURES (e.g. 90) narrows the GPU architectures to build.
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
cmake_args=()
if [ "${EMBER_CUDA:-0}" = 1 ]; then
  # The compiler (build time) and the libraries libember loads (run time), one CUDA major.
  "$PY" -m pip install -q --disable-pip-version-check "nvidia-cuda-nvcc>=13,<14" \
    "nvidia-cuda-runtime>=13,<14" "nvidia-cublas>=13,<14" "nvidia-cuda-nvrtc>=13,<14"
  cmake_args+=(--config-settings=cmake.define.EMBER_CUDA=ON)
  if [ -n "${EMBER_CUDA_ARCHITECTURES:-}" ]; then
    cmake_args+=("--config-settings=cmake.define.EMBER_CUDA_ARCHITECTURES=$EMBER_CUDA_ARCHITECTURES")
  fi
  spec="$ROOT[$(IFS=,; echo "cuda13${*:+,$*}")]"
fi
echo "== building and installing ember ($spec)"
# pip -v shows the build; only its progress lines ([n/N] compiling ...), warnings and errors
# are printed, so a first build (a few minutes) is never silent.
set -o pipefail
"$PY" -m pip install -v --disable-pip-version-check --no-build-isolation \
  --config-settings=build-dir="$ROOT/build/venv-build" "${cmake_args[@]}" "$spec" 2>&1 |
  grep --line-buffered -E '^\s*\[[0-9]+/[0-9]+\]|error:|warning:|Error:|FAILED|Successfully installed' |
  sed -u -E 's/^\s+//; s#(Building CXX object CMakeFiles/[a-z_]+\.dir/)##'
set +o pipefail
