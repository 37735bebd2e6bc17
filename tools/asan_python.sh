#!/usr/bin/env bash
# Runs Python tests against an AddressSanitizer + UBSan build of libember.
#
#   ASAN_BUILD=/tmp/asanb bash tools/asan_python.sh [tests/test_x.py[::node] ...] [-- pytest args]
#   bash tools/asan_python.sh --build DIR [--out DIR] [tests ...] [-- pytest args]
#
# With no tests named, it runs every tests/test_*.py but ASAN_EXCLUDE (below); docs/build.md,
# "Sanitizers", has the measured time and test count. Exit status: 0 when every test passed
# and no sanitizer report was seen, 1 otherwise, 2 when the setup is wrong.
#
# The instrumented build: a CMake build tree of this checkout configured with
# -DEMBER_SANITIZE=ON (with GCC, libember.so then links libasan and libubsan), e.g.
#   cmake -S . -B /tmp/asanb -G Ninja -DEMBER_SANITIZE=ON -DPython_EXECUTABLE=build/venv/bin/python
# (about 30 minutes from scratch on 2 cores). Only libember is instrumented: the Python
# module (ember.core's nanobind extension) is the normal one installed in the venv
# (EMBER_VENV, default build/venv, made by tools/install.sh), and CPython and numpy are not.
#
# What it does, in order:
#  1. `ninja ember` in the build tree (incremental, niced, -j$ASAN_JOBS, default 1), so the
#     library tested is the checkout's working tree. ASAN_NO_REBUILD=1 skips it.
#  2. Refuses to go on when a header installed with the package (ember/include) differs from
#     the checkout's (GPU backends' headers skipped, but the build tree's own backend's),
#     or ember/config.h from the build tree's: the installed extension and
#     the instrumented library must agree on every class layout, or the reports are about
#     the mismatch. Reinstall (bash tools/install.sh test), or ASAN_FORCE=1 after checking
#     that the difference changes no layout (a new function's declaration does not).
#  3. Copies the installed `ember` package to a private site dir ($OUT/site) and makes its
#     lib/libember.so a link to the instrumented one; the extension finds libember through
#     its RUNPATH $ORIGIN/lib (checked).
#  4. Sets up the process environment (children started by tests inherit it):
#     - LD_PRELOAD: the sanitizer runtimes libember.so links (from ldd: the exact ones it was
#       built against), libasan first, as ASan requires.
#     - ASAN_OPTIONS: detect_leaks=0 (CPython leaks at exit by design), halt_on_error=1,
#       abort_on_error=0, log_path=$OUT/asan (ASan reports go to files asan.<pid>: pytest's
#       fd capture would lose them when the process dies), allocator_may_return_null=1 and
#       max_allocation_size_mb=$ASAN_MAX_ALLOC_MB (default 2000; see the next item).
#     - UBSAN_OPTIONS: print_stacktrace=1, halt_on_error=1. UBSan's own log_path does not
#       work with GCC's separate libubsan next to a preloaded libasan (its reports still go
#       to stderr), so pytest runs with --capture=no: fd 2 stays the log file, and the
#       summary scans the logs for reports too (also those quoted in a failed test's
#       output, from a child process).
#     - ASAN_OPTIONS / UBSAN_OPTIONS given by the caller are appended (later ones win), e.g.
#       UBSAN_OPTIONS=halt_on_error=0 to collect every UBSan report of the main processes at
#       once. Then a child process that a test starts goes on after a report too, and if the
#       test passes, the report (on the child's stderr, which the test captured) is lost.
#     - PYTHONMALLOC=malloc (ASAN_PYMALLOC=1 keeps pymalloc), so ASan also sees Python's
#       small buffers (bytes objects and the like) that ember reads.
#     - sitecustomize.py in the site dir makes resource.setrlimit(RLIMIT_AS, ...) a no-op:
#       ASan reserves terabytes of address space for its shadow memory and dies ("failed to
#       allocate ... (error code: 12)") under a cap. A few tests (tests/test_io.py,
#       tests/test_reliability.py) cap it in a child so that one big allocation fails; under
#       this script the per-allocation cap max_allocation_size_mb stands in for that (a
#       larger malloc returns NULL, so ember's MemoryError path is what is tested).
#     - A suppressions file tools/asan_python.supp, if present, goes to both sanitizers.
#     - EMBER_DANGEROUS_CASES defaults to 3000 (tests/test_properties.py's child process of
#       random huge-size calls; 600 otherwise). EMBER_HYPOTHESIS_PROFILE is left as given.
#  5. Checks in that environment that `import ember` resolves to the site dir, that the
#     process mapped the instrumented libember.so (/proc/self/maps) and libasan.
#  6. Runs each target in its own `python -m pytest -v -p no:cacheprovider --capture=no`
#     process from the repo root, one worker, niced, ASAN_PARALLEL processes at once (default
#     1): a sanitizer abort ends one file only,
#     and its -v log ($OUT/<file>.log) names the test that was running. Tests whose checks
#     cannot hold under ASan are deselected (ASAN_DESELECT, below; printed).
#  7. Prints a table (target, passed, failed, errors, skipped, seconds) from each target's
#     junit XML, then every sanitizer report: the report files and the reports found in the
#     logs, each with its first lines (error kind, top ember frames). ASan files that hold
#     only "failed to allocate" warnings (max_allocation_size_mb at work) are counted apart.
#
# Environment: ASAN_BUILD, ASAN_OUT (default /tmp/ember-asan-py; emptied first), EMBER_VENV,
# ASAN_JOBS, ASAN_PARALLEL, ASAN_NO_REBUILD, ASAN_FORCE, ASAN_PYMALLOC, ASAN_MAX_ALLOC_MB,
# ASAN_DESELECT, ASAN_EXCLUDE.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${EMBER_VENV:-$ROOT/build/venv}
PY="$VENV/bin/python"
BUILD=${ASAN_BUILD:-}
OUT=${ASAN_OUT:-/tmp/ember-asan-py}

# The default: every tests/test_*.py but these three, which are not about libember's code
# (the installed package's files and a C++ program built against it; mypy over the stubs)
# or need a GPU. ASAN_EXCLUDE replaces the list.
ASAN_EXCLUDE=${ASAN_EXCLUDE-"test_package.py test_stubs.py test_gpu.py"}
DEFAULT_TESTS=()
for f in "$ROOT"/tests/test_*.py; do
  case " $ASAN_EXCLUDE " in *" $(basename "$f") "*) continue ;; esac
  DEFAULT_TESTS+=("tests/$(basename "$f")")
done
# Checks that cannot hold under ASan: RSS must stay flat over 10,000 steps, but ASan's
# quarantine keeps up to 256 MB of freed blocks, so RSS grows by that much. (The loops run in
# the other tests of that file.) Space-separated node ids; ASAN_DESELECT="" runs them all.
_soak=tests/test_memory_soak.py
ASAN_DESELECT=${ASAN_DESELECT-"$_soak::test_training_loop_memory_is_flat_over_10000_steps
  $_soak::test_compiled_training_step_memory_is_flat_over_10000_steps"}

targets=()
pytest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) BUILD=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --) shift; pytest_args=("$@"); break ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${DEFAULT_TESTS[@]}")
for d in $ASAN_DESELECT; do pytest_args+=(--deselect "$d"); done
die() { echo "asan_python.sh: $*" >&2; exit 2; }
[ -n "$BUILD" ] || die "name the instrumented build tree: --build DIR or ASAN_BUILD=DIR"
BUILD=$(cd "$BUILD" && pwd)
[ -x "$PY" ] || die "$PY not found: install ember first (bash tools/install.sh test)"
[ -f "$BUILD/build.ninja" ] || die "$BUILD is not a Ninja build tree"
grep -q '^EMBER_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" ||
  die "$BUILD was not configured with -DEMBER_SANITIZE=ON"

# 1. the library, up to date with the checkout
if [ "${ASAN_NO_REBUILD:-0}" != 1 ]; then
  echo "== nice ninja -C $BUILD -j${ASAN_JOBS:-1} ember"
  nice -n 10 ninja -C "$BUILD" -j"${ASAN_JOBS:-1}" ember
fi
LIB="$BUILD/libember.so"
[ -f "$LIB" ] || die "$LIB not found (this script needs BUILD_SHARED_LIBS=ON)"

# 2. the installed package must match the build tree, layout for layout
PKG=$(cd / && env -u PYTHONPATH -u LD_PRELOAD "$PY" -c \
  'import ember, os; print(os.path.dirname(ember.__file__))') || die "import ember failed in $PY"
# The installed headers (the extension was compiled against them), but those of GPU backends
# that the build tree does not build (no code of the extension or libember includes them).
gpu=$(sed -n 's/^#define EMBER_GPU_BACKEND "\(.*\)"/\1/p' "$BUILD/include/ember/config.h")
mismatch=()
while IFS= read -r h; do
  case "$h" in ember/backend/cuda/*|ember/backend/metal/*)  # only the built backend's
    [ -n "$gpu" ] && [ "$h" != "${h#ember/backend/$gpu/}" ] || continue ;;
  esac
  cmp -s "$ROOT/csrc/$h" "$PKG/include/$h" || mismatch+=("$h")
done < <(cd "$PKG/include" && find ember -name '*.h' ! -path ember/config.h | sort)
cmp -s "$BUILD/include/ember/config.h" "$PKG/include/ember/config.h" || mismatch+=("ember/config.h")
if [ ${#mismatch[@]} -gt 0 ]; then
  echo "asan_python.sh: the installed ember ($PKG) was built from other headers than the" \
       "checkout's / $BUILD's: ${mismatch[*]}" >&2
  [ "${ASAN_FORCE:-0}" = 1 ] || die "reinstall it (bash tools/install.sh test), or ASAN_FORCE=1"
  echo "asan_python.sh: going on (ASAN_FORCE=1)" >&2
fi

# 3. a private copy of the package, with the instrumented library
EXT=$(ls "$PKG"/core.*.so 2>/dev/null | head -n1)
[ -n "$EXT" ] || die "no compiled extension core.*.so in $PKG"
readelf -d "$EXT" | grep -Eq '(RUNPATH|RPATH).*\$ORIGIN/lib' ||
  die "$EXT does not find libember through \$ORIGIN/lib; this script assumes it does"
# OUT is emptied: only a dir this script made (it holds .asan_python) or an empty one.
if [ -e "$OUT" ]; then
  [ -d "$OUT" ] && { [ -e "$OUT/.asan_python" ] || [ -z "$(ls -A "$OUT")" ]; } ||
    die "$OUT exists and is not an output dir of this script; name another (--out)"
  rm -rf "$OUT"
fi
mkdir -p "$OUT/site"
touch "$OUT/.asan_python"
OUT=$(cd "$OUT" && pwd)
SITE="$OUT/site"
cp -a "$PKG" "$SITE/ember"
ln -sf "$LIB" "$SITE/ember/lib/libember.so"
cat > "$SITE/sitecustomize.py" <<'PYEOF'
# Written by tools/asan_python.sh: ASan cannot run under an address-space cap (its shadow
# memory is reserved up front), so RLIMIT_AS requests are dropped; ASAN_OPTIONS'
# max_allocation_size_mb caps single allocations instead. Other limits are set as asked.
import resource

_setrlimit = resource.setrlimit


def _setrlimit_under_asan(which, limits):
    if which == resource.RLIMIT_AS:
        return
    _setrlimit(which, limits)


resource.setrlimit = _setrlimit_under_asan
PYEOF

# 4. the sanitizer runtimes libember was linked with, and their options
mapfile -t RUNTIMES < <(ldd "$LIB" | awk '/lib(asan|ubsan)\.so/ {print $3}' | sort)
printf '%s\n' "${RUNTIMES[@]}" | grep -q libasan ||
  die "$LIB links no libasan.so (clang's static runtime is not handled here)"
PRELOAD=$(printf '%s\n' "${RUNTIMES[@]}" | grep libasan)
for r in "${RUNTIMES[@]}"; do case "$r" in *libasan*) ;; *) PRELOAD="$PRELOAD $r" ;; esac; done
export LD_PRELOAD="$PRELOAD"
supp=""
[ -f "$ROOT/tools/asan_python.supp" ] && supp=":suppressions=$ROOT/tools/asan_python.supp"
asan="detect_leaks=0:halt_on_error=1:abort_on_error=0:allocator_may_return_null=1"
asan="$asan:max_allocation_size_mb=${ASAN_MAX_ALLOC_MB:-2000}:log_path=$OUT/asan$supp"
export ASAN_OPTIONS="$asan${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1$supp${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
[ "${ASAN_PYMALLOC:-0}" = 1 ] || export PYTHONMALLOC=malloc
export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
# tests/test_properties.py's child process of random huge-size calls: 5x its default.
export EMBER_DANGEROUS_CASES=${EMBER_DANGEROUS_CASES:-3000}
echo "== LD_PRELOAD=$LD_PRELOAD"
echo "== ASAN_OPTIONS=$ASAN_OPTIONS"
echo "== UBSAN_OPTIONS=$UBSAN_OPTIONS"
[ -n "$ASAN_DESELECT" ] && echo "== deselected under ASan:" $ASAN_DESELECT

# 5. the instrumented library is the one loaded
cd "$ROOT"
"$PY" - "$SITE" "$(readlink -f "$LIB")" <<'PYEOF' || die "the check of the environment failed"
import os, sys
site, lib = sys.argv[1], sys.argv[2]
import ember, ember.core as mx
assert os.path.dirname(ember.__file__) == os.path.join(site, "ember"), ember.__file__
maps = [l.split()[-1] for l in open("/proc/self/maps") if "/" in l]
embers = {os.path.realpath(m) for m in maps if os.path.basename(m).startswith("libember")}
assert embers == {lib}, f"libember mapped from {embers}, wanted {lib}"
assert any("libasan" in m for m in maps), "libasan is not mapped"
assert int(mx.sum(mx.arange(10)).item()) == 45
print(f"== ember from {os.path.dirname(ember.__file__)}, libember {lib}")
PYEOF

# 6. one pytest process per target, ASAN_PARALLEL of them at a time (default 1)
run_target() {
  local t=$1 name t0 rc summary
  name=$(echo "$t" | sed 's#^tests/##; s#[^A-Za-z0-9_.-]#_#g')
  t0=$SECONDS
  set +e
  nice -n 10 "$PY" -m pytest -v -p no:cacheprovider --capture=no \
    --junitxml="$OUT/junit-$name.xml" "$t" "${pytest_args[@]}" > "$OUT/$name.log" 2>&1
  rc=$?
  set -e
  printf '%s\t%s\t%s\n' "$t" "$rc" "$((SECONDS - t0))" >> "$OUT/times.tsv"
  summary=$(grep -E '^=+ .* in [0-9.]+s' "$OUT/$name.log" | tail -n 1 || true)
  echo "== $t: rc $rc in $((SECONDS - t0)) s: ${summary:-no pytest summary (the process died)}"
}
start=$SECONDS
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "${ASAN_PARALLEL:-1}" ]; do wait -n || true; done
  run_target "$t" &
done
wait
total=$((SECONDS - start))

# 7. the summary
"$PY" - "$OUT" "$total" "${targets[@]}" <<'PYEOF'
import glob, os, re, sys
import xml.etree.ElementTree as ET
out, total, targets = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
secs = {}
for line in open(os.path.join(out, "times.tsv")):
    t, rc, s = line.rstrip("\n").split("\t")
    secs[t] = int(s)
bad = False
print(f"\n{'target':<44} {'pass':>5} {'fail':>5} {'err':>4} {'skip':>5} {'s':>6}")
sums = [0, 0, 0, 0]
logs = {}
for t in targets:
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", re.sub(r"^tests/", "", t))
    logs[t] = os.path.join(out, f"{name}.log")
    xml = os.path.join(out, f"junit-{name}.xml")
    if not os.path.exists(xml):
        log = open(logs[t], errors="replace").read().splitlines()
        running = [m.group(0) for m in map(re.compile(r"^\S+\.py::\S+").match, log) if m]
        print(f"{t:<44} ABORTED after {secs.get(t, '?')} s (no junit XML), in "
              f"{running[-1] if running else '?'}")
        bad = True
        continue
    s = ET.parse(xml).getroot()
    s = s.find("testsuite") if s.tag == "testsuites" else s
    n, f, e, k = (int(s.get(a, 0)) for a in ("tests", "failures", "errors", "skipped"))
    row = [n - f - e - k, f, e, k]
    sums = [a + b for a, b in zip(sums, row)]
    bad |= bool(f or e)
    print(f"{t:<44} {row[0]:>5} {f:>5} {e:>4} {k:>5} {secs.get(t, 0):>6}")
print(f"{'total':<44} {sums[0]:>5} {sums[1]:>5} {sums[2]:>4} {sums[3]:>5}   in {total} s")

ERR = re.compile(r"ERROR: (AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer)|"
                 r"runtime error: |SUMMARY: (Address|UndefinedBehavior)Sanitizer")
def show(lines):
    errs = [l.strip() for l in lines if ERR.search(l)]
    frames = [l.strip() for l in lines if re.match(r"\s*(E\s+)?#\d+ 0x", l)]
    for l in errs[:2]:
        print("   ", l[:240])
    mine = [l for l in frames if "libember" in l or "/csrc/" in l]
    for l in (mine or frames)[:5]:
        print("   ", re.sub(r"^E\s+", "", l)[:240])
files, warned = [], []
for r in sorted(glob.glob(os.path.join(out, "asan.*"))):
    lines = open(r, errors="replace").read().splitlines()
    only_alloc = all("WARNING: AddressSanitizer failed to allocate" in l for l in lines if l)
    (warned if only_alloc else files).append((r, lines))
print(f"\n{len(files)} ASan report file(s) in {out}; {len(warned)} more with only "
      f"'failed to allocate' warnings (allocations over max_allocation_size_mb, as tests ask)")
for r, lines in files:
    bad = True
    print(f"--- {r}")
    show(lines)
# UBSan reports (always on stderr) and reports quoted in failed tests' output, from the logs.
seen = set()
for t, path in logs.items():
    lines = open(path, errors="replace").read().splitlines()
    for i, l in enumerate(lines):
        m = ERR.search(l)
        if not m or m.group(0).startswith("SUMMARY"):
            continue
        key = re.sub(r"0x[0-9a-f]+|==\d+==", "", l.strip())
        if key in seen:
            continue
        seen.add(key)
        bad = True
        print(f"--- {path}:{i + 1}")
        show(lines[i:i + 40])
print(f"{len(seen)} distinct report(s) in the pytest logs")
sys.exit(1 if bad else 0)
PYEOF
