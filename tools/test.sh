#!/usr/bin/env bash
# ember's test command (README, .ci/run): installs ember into build/venv (tools/install.sh),
# then runs the Python tests (pytest) and the C++ tests (doctest through ctest, built against
# the installed package's CMake files). Fails if any test fails.
#   bash tools/test.sh [pytest args ...]
# With CI=true it also fuzzes for a minute, compiles the CUDA backend, and runs the C++ tests
# and a subset of the Python tests against a sanitizer build of libember (the sanitizer leg).
# Needs: python3 (3.9+) with venv, a C++20 compiler, cmake >= 3.24, ninja, doctest (Debian
# doctest-dev). Environment: EMBER_VENV, PYTHON (see install.sh), EMBER_TEST_JOBS (pytest -n),
# EMBER_TEST_SANITIZE (1: the sanitizer leg outside CI; 0: not in CI either), SANITIZE_TESTS
# (its Python test files, e.g. "test_io test_shape"), EMBER_FUZZ_SECONDS, EMBER_CI_CUDA.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${EMBER_VENV:-$ROOT/build/venv}
PY="$VENV/bin/python"
cd "$ROOT"

start=$SECONDS
bash "$ROOT/tools/install.sh" test
have_doctest() { [ -f /usr/include/doctest/doctest.h ] || [ -f /usr/local/include/doctest/doctest.h ]; }

# The sanitizer leg (CI=true, or EMBER_TEST_SANITIZE=1; EMBER_TEST_SANITIZE=0 skips it in CI):
# a second libember (and the C++ tests) in build/asan, instrumented with ASan and UBSan's
# integer checks at -O0 -g1 (all of UBSan, or -O1, doubles its build time). It is built here,
# in the background at the lowest priority, so it takes the CPU that the steps below leave
# idle (downloads, the one-process fuzzer); its tests run at the end.
SANITIZE=${EMBER_TEST_SANITIZE:-$([ "${CI:-}" = true ] && echo 1 || echo 0)}
SAN_BUILD="$ROOT/build/asan"
SAN_PID=""
if [ "$SANITIZE" = 1 ]; then
  san="address,signed-integer-overflow,shift,integer-divide-by-zero,bounds,vla-bound,unreachable,return"
  cmake -S "$ROOT" -B "$SAN_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O0 -g1" \
    -DEMBER_SANITIZE=ON -DEMBER_SANITIZERS="$san" -DEMBER_BUILD_STUBS=OFF \
    -DEMBER_BUILD_TESTS="$(have_doctest && echo ON || echo OFF)" -DPython_EXECUTABLE="$PY" \
    > "$SAN_BUILD.configure.log" 2>&1 || { cat "$SAN_BUILD.configure.log"; exit 1; }
  echo "== building the sanitizer build in the background (log: $SAN_BUILD.log)"
  nice -n 19 ninja -C "$SAN_BUILD" > "$SAN_BUILD.log" 2>&1 &
  SAN_PID=$!
  # If this script stops early, so does that build.
  trap '[ -z "$SAN_PID" ] || kill "$SAN_PID" 2>/dev/null || true' EXIT
fi
# JAX (CPU) is an optional oracle for tests/test_against_jax.py; a failed download only
# skips those tests (EMBER_TEST_JAX=0 skips the install).
if [ "${EMBER_TEST_JAX:-1}" = 1 ]; then
  "$PY" -m pip install -q --disable-pip-version-check jax ||
    echo "== jax could not be installed: tests/test_against_jax.py will be skipped"
fi
# PyTorch (CPU, 2.13.0) is the oracle of the nn layer, loss and optimizer tests; those tests
# are skipped only if it cannot be installed (EMBER_TEST_TORCH=0 skips the install).
if [ "${EMBER_TEST_TORCH:-1}" = 1 ]; then
  "$PY" -m pip install -q --disable-pip-version-check "torch==2.13.0" ||
    echo "== torch could not be installed: the tests that use it as an oracle will be skipped"
fi
# mypy checks a small typed program against the generated stubs (tests/test_stubs.py).
"$PY" -m pip install -q --disable-pip-version-check mypy ||
  echo "== mypy could not be installed: tests/test_stubs.py will be skipped"
echo "== install took $((SECONDS - start)) s"

# C++ tests first: they are quick, and a crash there explains Python failures. They need
# doctest (a header-only library): use the system's, or install Debian's doctest-dev when
# running as root with apt-get; otherwise they are skipped, and the run says so.
t=$SECONDS
CPP_BUILD="$ROOT/build/venv-cpp-tests"
if ! have_doctest && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "== installing doctest-dev for the C++ tests"
  { apt-get install -y -qq --no-install-recommends doctest-dev ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends doctest-dev; }; } \
    > "$ROOT/build/doctest-install.log" 2>&1 || true
fi
if have_doctest; then
  echo "== C++ tests"
  # In CI, the file parsers also run under ASan + UBSan (test_reliability_asan).
  cmake -S "$ROOT/tests/cpp" -B "$CPP_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DEMBER_TEST_SANITIZE_IO="$([ "${CI:-}" = true ] && echo ON || echo OFF)" \
    -Dember_DIR="$("$PY" -m ember --cmake-dir)" > "$CPP_BUILD.configure.log" 2>&1 ||
    { cat "$CPP_BUILD.configure.log"; exit 1; }
  cmake --build "$CPP_BUILD"
  ctest --test-dir "$CPP_BUILD" --output-on-failure -j2
  echo "== C++ tests took $((SECONDS - t)) s"
else
  echo "== C++ tests SKIPPED: doctest is not installed (Debian: apt-get install doctest-dev)" \
       "and could not be installed here; the Python tests still run"
fi

# Python tests against the installed package (the repo root holds no `ember` package, so
# `import ember` finds the one in the venv).
t=$SECONDS
echo "== Python tests"
"$PY" -m pytest -q -n "${EMBER_TEST_JOBS:-2}" -p no:cacheprovider "$@" tests
echo "== Python tests took $((SECONDS - t)) s"

# CI only: bounded fuzzing (tools/fuzz.py; atheris from PyPI, skipped when it cannot be
# installed). A finding fails the run; its input is left in build/fuzz/crash-* (add it to
# tests/fuzz/corpus/ with the fix). EMBER_FUZZ_SECONDS sets the budget.
if [ "${CI:-}" = true ] && [ "${EMBER_FUZZ_SECONDS:-60}" != 0 ]; then
  t=$SECONDS
  if "$PY" -m pip install -q --disable-pip-version-check atheris; then
    mkdir -p "$ROOT/build/fuzz"
    (cd "$ROOT/build/fuzz" &&
      "$PY" "$ROOT/tools/fuzz.py" -max_total_time="${EMBER_FUZZ_SECONDS:-60}" -rss_limit_mb=0)
  else
    echo "== atheris could not be installed: fuzzing skipped"
  fi
  echo "== fuzzing took $((SECONDS - t)) s"
fi
# CI only: compile the CUDA backend (csrc/ember/backend/cuda) with nvcc from NVIDIA's PyPI
# wheels for one architecture (PTX), so that a change breaking the CUDA build fails here too
# (no GPU test can run on this machine; those run through tools/gpu_test.sh on a GPU).
# EMBER_CI_CUDA=0 skips it.
if [ "${CI:-}" = true ] && [ "${EMBER_CI_CUDA:-1}" = 1 ]; then
  t=$SECONDS
  echo "== compiling the CUDA backend (nvcc from PyPI, compute_90 PTX)"
  CUDA_PY="$ROOT/build/venv-cuda/bin/python"
  [ -x "$CUDA_PY" ] || "${PYTHON:-python3}" -m venv "$ROOT/build/venv-cuda"
  "$CUDA_PY" -m pip install -q --disable-pip-version-check "nvidia-cuda-nvcc==13.0.88" \
    "nvidia-nvvm==13.0.88" "nvidia-cuda-crt==13.0.88" "nvidia-cuda-cccl==13.0.85" \
    "nvidia-cuda-runtime==13.0.96" "nvidia-cublas==13.0.2.14"
  # No build type: host code at -O0 (nothing runs it; check_launches.py needs every launch
  # wrapper kept). Device code as PTX for compute_90 only: the device pass runs in full, only
  # ptxas (machine code, nearly half the time) is skipped.
  cmake -S "$ROOT/tests/cuda_compile" -B "$ROOT/build/cuda-compile" -G Ninja \
    -DPython_EXECUTABLE="$CUDA_PY" -DEMBER_CUDA_ARCHITECTURES=90-virtual \
    > "$ROOT/build/cuda-compile.log" 2>&1 ||
    { cat "$ROOT/build/cuda-compile.log"; exit 1; }
  cmake --build "$ROOT/build/cuda-compile"
  find "$ROOT/build/cuda-compile" -name '*.cu.o' -print0 |
    xargs -0 "$PY" "$ROOT/tests/cuda_compile/check_launches.py"
  echo "== CUDA compile check took $((SECONDS - t)) s"
fi
# The sanitizer leg's tests: the C++ tests (all of them), then the Python tests of
# SANITIZE_TESTS against the instrumented libember (tools/asan_python.sh: the installed
# package with that library in its place, two test files at a time). The default subset is
# the one that reaches most of libember per second: every op on every dtype
# (test_op_values), the property tests and what they feed (huge sizes, bad dtypes, files,
# indexing), threads, the distributed transport (its launched processes inherit the
# instrumented library). Any sanitizer report fails the run.
if [ "$SANITIZE" = 1 ]; then
  t=$SECONDS
  echo "== waiting for the sanitizer build"
  wait "$SAN_PID" || { tail -n 40 "$SAN_BUILD.log"; echo "== the sanitizer build failed"; exit 1; }
  SAN_PID=""
  echo "== sanitizer build ready $((SECONDS - t)) s after the tests above"
  if have_doctest; then
    echo "== C++ tests under ASan + UBSan"
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      ctest --test-dir "$SAN_BUILD" --output-on-failure -j2
  fi
  default_tests="test_op_values test_properties test_reliability test_threads test_kernels
    test_io test_indexing test_index_ops test_shape test_errors test_dtype test_array
    test_fuzz_regressions test_distributed"
  san_tests=()
  for f in ${SANITIZE_TESTS:-$default_tests}; do san_tests+=("tests/$f.py"); done
  echo "== Python tests under ASan + UBSan"
  ASAN_BUILD="$SAN_BUILD" ASAN_NO_REBUILD=1 ASAN_PARALLEL=2 ASAN_OUT="$ROOT/build/asan-python" \
    bash "$ROOT/tools/asan_python.sh" "${san_tests[@]}"
  echo "== sanitizer tests took $((SECONDS - t)) s"
fi
echo "== all done in $((SECONDS - start)) s"
