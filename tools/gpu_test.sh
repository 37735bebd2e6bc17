#!/usr/bin/env bash
# The GPU test run, on a machine with an NVIDIA GPU and a CUDA build of ember:
#   bash tools/gpu_test.sh [pytest args ...]
# 1. tests/test_gpu.py: each op family on mx.gpu against mx.cpu (seconds);
# 2. the whole pytest suite with the GPU as the default device (EMBER_DEVICE=gpu);
# 3. the same suite's record of primitives that ran through the host fallback.
# Install the CUDA build first (docs/build.md, "CUDA"). Environment: PYTHON (default python3),
# EMBER_TEST_JOBS (pytest -n, default 8), OUT (a folder for logs; default build/gpu-test).
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${PYTHON:-python3}
OUT=${OUT:-$ROOT/build/gpu-test}
mkdir -p "$OUT"
cd "$ROOT"
# JAX is an oracle of some tests: keep it on the CPU and off the GPU's memory.
export JAX_PLATFORMS=cpu XLA_PYTHON_CLIENT_PREALLOCATE=false
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
"$PY" -c "import ember.core as mx; print('ember', mx.__version__, 'cuda available:', mx.cuda.is_available())"

echo "== tests/test_gpu.py"
t=$SECONDS
"$PY" -m pytest -q -p no:cacheprovider -rfs tests/test_gpu.py 2>&1 | tee "$OUT/smoke.log"
smoke=${PIPESTATUS[0]}
echo "== tests/test_gpu.py took $((SECONDS - t)) s"

echo "== pytest with EMBER_DEVICE=gpu"
t=$SECONDS
EMBER_DEVICE=gpu EMBER_GPU_FALLBACK_LOG="$OUT/fallback" "$PY" -m pytest -q -n "${EMBER_TEST_JOBS:-8}" \
  -p no:cacheprovider --timeout 600 -o junit_family=xunit1 --junitxml="$OUT/junit.xml" \
  -rf "$@" tests 2>&1 | tail -c 400000 > "$OUT/pytest.log"
suite=${PIPESTATUS[0]}
tail -n 60 "$OUT/pytest.log"
echo "== pytest took $((SECONDS - t)) s"
if ls "$OUT"/fallback.* >/dev/null 2>&1; then
  echo "== primitives run through the host fallback (count):"
  cat "$OUT"/fallback.* | sort | uniq -c | sort -rn | head -40
fi
[ "$smoke" = 0 ] && [ "$suite" = 0 ]
