#!/usr/bin/env bash
# One device-machine session (tools/ for the CUDA issue's runs): installs the carried CUDA wheel,
# then runs tests/test_gpu.py, with BENCH=1 bench/bench_cuda.py, and the whole suite with
# EMBER_DEVICE=gpu (bounded time). Logs go to $OUT.
set -o pipefail
export PYTHONUNBUFFERED=1 JAX_PLATFORMS=${JAX_PLATFORMS:-cpu} XLA_PYTHON_CLIENT_PREALLOCATE=false
OUT=${OUT:-build/gpu-run}; mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --target /tmp/site build/cu-wheel/*.whl .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site
CUL=$(python3 -c "import nvidia,os;print(os.path.join(list(nvidia.__path__)[0],'cu13','lib'))")
export LD_LIBRARY_PATH=$CUL:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -m pytest -q -p no:cacheprovider -rfE --timeout 60 tests/test_gpu.py 2>&1 | tee "$OUT/smoke.log" | tail -120
if [ "${BENCH:-0}" = 1 ]; then
  JAX_PLATFORMS= timeout "${BENCH_SECONDS:-200}" python3 bench/bench_cuda.py --out "$OUT/bench.md" 2>&1 | tail -40
fi
# -v: one line per test, so a run cut short by SUITE_SECONDS still says what passed and failed.
EMBER_DEVICE=gpu timeout "${SUITE_SECONDS:-240}" python3 -m pytest -v -n 14 -p no:cacheprovider \
  --timeout 60 -rf --junitxml="$OUT/junit.xml" tests 2>&1 | tail -c 6000000 > "$OUT/pytest.log"
echo "pytest rc=$?"; grep -E "passed|failed" "$OUT/pytest.log" | tail -3
echo "per-test lines: $(grep -c ' PASSED ' "$OUT/pytest.log") passed, $(grep -c ' FAILED ' "$OUT/pytest.log") failed, $(grep -c ' SKIPPED ' "$OUT/pytest.log") skipped"
grep -E " FAILED " "$OUT/pytest.log" | grep -oE "tests/[a-z_0-9]+\.py" | sort | uniq -c | sort -rn | head -30
